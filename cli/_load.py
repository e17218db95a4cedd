"""Turning the command's file arguments into library objects, remembering line maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hedgecore.cli._errors import Sources
from hedgecore.cli._yaml import load_yaml

if TYPE_CHECKING:
    from hedgecore.market import Market
    from hedgecore.policy import Policy
    from hedgecore.portfolio import Portfolio


def load_portfolio(path: Path, sources: Sources) -> Portfolio:
    from hedgecore.portfolio import parse_portfolio

    data, lines = load_yaml(path)
    sources.maps["portfolio"] = lines
    return parse_portfolio(data)


def load_market(path: Path, sources: Sources, as_of: str | None) -> Market:
    from hedgecore.errors import parse_timestamp
    from hedgecore.market import parse_market

    data, lines = load_yaml(path)
    sources.maps["market"] = lines
    market = parse_market(data)
    if as_of is not None:
        market = market.with_as_of(parse_timestamp(as_of, "--as-of", "cli"))
    return market


def load_policy(path: Path, sources: Sources) -> Policy:
    from hedgecore.policy import parse_policy

    data, lines = load_yaml(path)
    sources.maps["policy"] = lines
    return parse_policy(data)
