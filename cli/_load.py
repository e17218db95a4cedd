"""Turning the command's file arguments into library objects, remembering line maps."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime, timezone
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


def valuation_time(as_of: str) -> datetime:
    """The moment --as-of names: "now" (any case) is the wall clock, else an ISO-8601 time."""
    from hedgecore.errors import parse_timestamp

    if as_of.strip().lower() == "now":
        return datetime.now(timezone.utc)
    return parse_timestamp(as_of, "--as-of", "cli")


def load_market(path: Path, sources: Sources, as_of: str | None) -> Market:
    from hedgecore.market import parse_market

    data, lines = load_yaml(path)
    sources.maps["market"] = lines
    market = parse_market(data)
    if as_of is not None:
        market = market.with_as_of(valuation_time(as_of))
    return market


def report_warnings(warnings: Iterable[str]) -> None:
    """One line per warning on stderr (never stdout: JSON output stays clean)."""
    for warning in warnings:
        sys.stderr.write(f"hedgecore: warning: {warning}\n")


def load_policy(path: Path, sources: Sources) -> Policy:
    from hedgecore.policy import parse_policy

    data, lines = load_yaml(path)
    sources.maps["policy"] = lines
    return parse_policy(data)
