"""Turning the command's file arguments into library objects, remembering line maps; and,
with --venue, taking what no file gives live from the venue (load_inputs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hedgecore.cli._errors import Sources
from hedgecore.cli._options import DEFAULT_TIMEOUT_SECONDS
from hedgecore.cli._yaml import load_yaml

if TYPE_CHECKING:
    from hedgecore.hedging import HedgePlan
    from hedgecore.market import Market
    from hedgecore.policy import Policy
    from hedgecore.portfolio import Portfolio
    from hedgecore.simconfig import SimulationConfig
    from hedgecore.valuation import BookGreeks
    from hedgecore.venues.base import Session, Snapshot

    # the last recorded fill per underlying, from the book, the policy and the valuation time
    LastFills = Callable[[BookGreeks, Policy, datetime], Mapping[str, datetime]]


def load_portfolio(path: Path, sources: Sources) -> Portfolio:
    from hedgecore.portfolio import parse_portfolio

    data, lines = load_yaml(path)
    sources.maps["portfolio"] = lines
    return parse_portfolio(data)


def valuation_time(as_of: str) -> datetime:
    """The moment --as-of names: "now" (any case) is the wall clock, else an ISO-8601 time."""
    from hedgecore.reading import parse_timestamp

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


@dataclass
class Inputs:
    """What a command values: the book, the market and (hedge, check) the policy.

    live : kind ("portfolio", "market") -> the venue's snapshot of it, for a record of the
        run (live_yaml: the text `market snapshot -o` / `positions snapshot -o` would write).
    venue : the venue's name when anything came from it, else None.
    file_bytes : kind -> the bytes of the file it was parsed from (what the journal records:
        the file as read, even if it changes on disk before the run is recorded).
    session : the venue session the positions were read in (its access token serves the
        command's later calls: the journal's trade history), else None.
    """

    portfolio: Portfolio
    market: Market
    policy: Policy | None = None
    live: dict[str, Snapshot] = field(default_factory=dict)
    venue: str | None = None
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    session: Session | None = None

    def live_yaml(self, kind: str) -> str:
        """The YAML of what came from the venue (computed on demand: a full chain takes a while)."""
        from hedgecore.cli._venue import snapshot_yaml

        assert self.venue is not None
        return snapshot_yaml(self.live[kind], "positions" if kind == "portfolio" else kind, self.venue)


Parsed = TypeVar("Parsed")


def _missing(what: str, message: str) -> Exception:
    from hedgecore.errors import ConfigError

    return ConfigError(what, message, document="cli")


def _parse_live(snapshot: Snapshot, kind: str, venue: str, endpoint: str, parse: Callable[[Any], Parsed]) -> Parsed:
    """A venue document through hedgecore's own parser; a field it refuses is the venue's
    malformed payload (exit 4), named by the field path."""
    from hedgecore.errors import ConfigError, VenueError

    try:
        return parse(snapshot.document)
    except ConfigError as error:
        raise VenueError(venue, endpoint, f"{kind} from the venue refused: {error.describe()}") from None


def _venue_terms(policy: Policy | None, market: Market) -> Policy | None:
    """The policy with the market's instrument terms (fees, lot sizes) where it gives none."""
    if policy is None:
        return None
    from hedgecore.policy import with_venue_terms

    return with_venue_terms(policy, market)


def load_inputs(portfolio: Path | None, market: Path | None, sources: Sources, *, as_of: str | None,
                venue: str | None, timeout_seconds: float, policy: Path | None = None) -> Inputs:
    """The portfolio, market (and policy) of a command: from the files given, the rest from --venue.

    Without --venue, PORTFOLIO and --market are required (a usage error names the one
    missing). With --venue, a PORTFOLIO left out is the account's positions and a --market
    left out is the venue's live market of the book's underlyings (and the policy's, when the
    positions come from the account); a file given always wins. --venue with both files
    given takes nothing and is refused, so that nobody believes a replay was live. The live
    market is valued at the venue's own time unless --as-of says otherwise (as a file's
    as_of); --timeout bounds both fetches together.
    """
    if venue is None:
        if portfolio is None:
            raise _missing("PORTFOLIO", "missing: give a portfolio file, or --venue NAME to take the positions "
                           "from the account")
        if market is None:
            raise _missing("--market", "missing: give a market file, or --venue NAME to take the market live")
        book = load_portfolio(portfolio, sources)
        market_data = load_market(market, sources, as_of)
        return Inputs(book, market_data, _venue_terms(load_policy(policy, sources) if policy is not None else None,
                                                      market_data), file_bytes=_file_bytes(sources))
    if portfolio is not None and market is not None:
        raise _missing("--venue", f"{venue} would give nothing: PORTFOLIO and --market are both files "
                       "(leave out --market to take the market live, or PORTFOLIO to take the account's positions)")

    from hedgecore.cli._venue import fetch_snapshot, note_excluded
    from hedgecore.portfolio import parse_portfolio
    from hedgecore.venues import venue_module
    from hedgecore.venues.base import Session

    name = venue.strip().lower()
    module = venue_module(venue)  # an unknown venue is a usage error (exit 2)
    started = time.monotonic()
    live: dict[str, Snapshot] = {}
    session: Session | None = None
    if portfolio is not None:
        book = load_portfolio(portfolio, sources)
    else:
        if "positions" not in getattr(module, "PROVIDES", ()):
            raise _missing("PORTFOLIO", f"missing: {name} gives no positions here (market data only); give a "
                           "portfolio file")
        session = Session()
        taken = fetch_snapshot(name, "positions", timeout_seconds=timeout_seconds, started=started,
                               session=session)
        note_excluded(taken, name)
        if not taken.document["positions"]:
            raise _missing("PORTFOLIO", f"the {name} account holds no options, futures or perpetuals: nothing "
                           "to value")
        book = _parse_live(taken, "positions", name, "private/get_positions", parse_portfolio)
        live["portfolio"] = taken
    hedge_policy = load_policy(policy, sources) if policy is not None else None
    if market is not None:
        market_data = load_market(market, sources, as_of)
    else:
        from hedgecore.market import parse_market

        underlyings = list(book.underlyings)
        if portfolio is None and hedge_policy is not None:
            underlyings += [coin for coin in hedge_policy.underlyings if coin not in underlyings]
        # the same start: --timeout bounds the positions and the market together
        taken = fetch_snapshot(name, "market", underlyings=underlyings, timeout_seconds=timeout_seconds,
                               started=started)
        note_excluded(taken, name)
        market_data = _parse_live(taken, "market", name, "public/get_book_summary_by_currency", parse_market)
        if as_of is not None:
            market_data = market_data.with_as_of(valuation_time(as_of))
        live["market"] = taken
    return Inputs(book, market_data, _venue_terms(hedge_policy, market_data), live, name, _file_bytes(sources),
                  session)


def _file_bytes(sources: Sources) -> dict[str, bytes]:
    """The bytes of the book, market and policy files read so far (for the journal)."""
    return {kind: sources.maps[kind].data for kind in ("portfolio", "market", "policy") if kind in sources.maps}


def load_simulation(path: Path, sources: Sources) -> SimulationConfig:
    """Read a simulation YAML safely (line numbers kept for errors) into a SimulationConfig;
    a `portfolio:` file is read the same way and its lines registered too."""
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.simconfig import DOCUMENT, parse_simulation

    data, lines = load_yaml(path)
    sources.maps[DOCUMENT] = lines

    def read_document(file: Path) -> Any:
        document, document_lines = load_yaml(file)
        sources.maps["portfolio"] = document_lines
        return document

    return parse_simulation(data, base_dir=path.parent, read_document=read_document)


def compute_plan(portfolio: Path | None, market: Path | None, policy: Path, sources: Sources, *,
                 as_of: str | None, allow_expired: bool, threads: int | None,
                 inspect: Callable[[Market, Policy], None] | None = None, venue: str | None = None,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 on_inputs: Callable[[Inputs], None] | None = None,
                 last_fills: LastFills | None = None) -> HedgePlan:
    """Load the three files (what is not a file from --venue), value the book and decide the
    hedges (shared with `check`).

    inspect(market, policy) runs before valuation (check's market age test); on_inputs(inputs)
    sees what was loaded (and what came from the venue); last_fills(book, policy, as_of) gives
    the last recorded fill per underlying (the journal's), which min_interval counts from.
    Warnings (expired instruments settled or skipped) go to stderr, one line each.
    """
    from hedgecore.hedging import plan_hedges
    from hedgecore.valuation import value_book

    loaded = load_inputs(portfolio, market, sources, as_of=as_of, venue=venue, timeout_seconds=timeout_seconds,
                         policy=policy)
    if on_inputs is not None:
        on_inputs(loaded)
    book_portfolio, market_data, hedge_policy = loaded.portfolio, loaded.market, loaded.policy
    assert hedge_policy is not None
    if inspect is not None:
        inspect(market_data, hedge_policy)
    book = value_book(book_portfolio, market_data, allow_expired=allow_expired, threads=threads)
    fills = last_fills(book, hedge_policy, market_data.as_of) if last_fills is not None else None
    plan = plan_hedges(book_portfolio, market_data, hedge_policy, book, last_fills=fills)
    report_warnings(plan.warnings)
    return plan
