"""Fill intensity from the journal's recorded fills (hedgecore.journal).

The journal records each fill (at, underlying, instrument, side, quantity, price) but not
the mid at the time of the fill. The distance of a fill from the mid is therefore taken
against the mark of its instrument in the market document of the latest run recorded at
or before the fill (by the run's valuation time, `as_of`), no older than `max_age_seconds`
(default an hour): options at the market's smile (model price), perpetuals at their mark,
dated futures at the forward, each in its native price unit (coin for coin-settled
options), the unit the journal's price is in (the venue's quote, as `hedgecore fill
--price` takes it). Fills without such a run are left out; fewer than three fills with a
mid are refused with one line naming the journal. The marks are those of the run's
valuation time, not of the fill: the closer the desk's runs follow its fills, the better.

Then as for a CSV (hedgecore.quoting.intensity): per instrument and side, the wait between
consecutive fills at the distance of the second, maximum likelihood with intervals.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

from hedgecore.errors import ConfigError, InputError
from hedgecore.quoting.intensity import Fill, IntensityEstimate, estimate_intensity, exposures

DEFAULT_MAX_AGE_SECONDS = 3600.0


def _seconds(iso: str) -> float:
    """Epoch seconds of the journal's ISO-8601 UTC times."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)).timestamp()


def _marks(market: Any, underlying: str, names: set[str]) -> dict[str, float]:
    """Native-unit marks of the named instruments of one underlying in a market."""
    from hedgecore.instruments import parse_instrument_name
    from hedgecore.market import year_fraction
    from hedgecore.portfolio import Portfolio, Position
    from hedgecore.valuation import book_inputs, evaluate

    data = market.get(underlying)
    if data is None:
        return {}
    marks: dict[str, float] = {}
    options = []
    for name in sorted(names):
        inst = parse_instrument_name(name)
        if inst is None or (inst.expiry is not None and year_fraction(market.as_of, inst.expiry) <= 0.0):
            continue
        try:
            if inst.kind == "option":
                options.append(inst)
            elif inst.kind == "perpetual":
                marks[name] = float(data.perpetual(inst.name).price)
            elif inst.expiry is not None:
                marks[name] = float(data.forward(inst.expiry, market.as_of))
        except (ConfigError, ValueError, KeyError):
            continue
    if options:
        unit_book = Portfolio("intensity", tuple(
            Position(inst.name, inst, 1.0 / inst.contract_size, "quote", "quote", j)
            for j, inst in enumerate(options)))
        try:
            values = evaluate(book_inputs(unit_book, market), threads=1).value_usd
        except (ConfigError, ValueError):
            return marks
        for inst, value in zip(options, values, strict=True):
            marks[inst.name.upper()] = float(value) / data.spot if inst.is_inverse else float(value)
    return marks


def fills_from_journal(path: str | Path, *, underlying: str, kind: str,
                       max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> tuple[list[Fill], int]:
    """The journal's fills of `kind` on `underlying`, each with the mark of the latest run at
    most `max_age_seconds` before it as its mid; and how many fills had no such run."""
    import yaml

    from hedgecore.instruments import parse_instrument_name
    from hedgecore.journal.store import Journal
    from hedgecore.market import parse_market

    with Journal(path, create=False) as journal:
        recorded = [f for f in journal.fills(underlying=underlying)
                    if (inst := parse_instrument_name(str(f["instrument"]))) is not None and inst.kind == kind]
        if not recorded:
            return [], 0
        runs = journal.history(underlying=underlying)["runs"]
        times = [_seconds(run["as_of"]) for run in runs]
        names = {str(f["instrument"]).upper() for f in recorded}
        cache: dict[int, dict[str, float]] = {}
        fills: list[Fill] = []
        missing = 0
        for record in recorded:
            at = _seconds(record["at"])
            index = bisect.bisect_right(times, at) - 1
            mid = None
            while index >= 0 and at - times[index] <= max_age_seconds and mid is None:
                run_id = int(runs[index]["id"])
                if run_id not in cache:
                    cache[run_id] = {}
                    digest = journal.run(run_id).market_hash
                    if digest is not None:
                        try:
                            market = parse_market(yaml.safe_load(journal.document(digest)))
                            cache[run_id] = _marks(market, underlying, names)
                        except (ConfigError, InputError, ValueError, yaml.YAMLError):
                            pass
                mid = cache[run_id].get(str(record["instrument"]).upper())
                index -= 1
            if mid is None or not mid > 0.0:
                missing += 1
                continue
            fills.append(Fill(at, str(record["instrument"]), str(record["side"]), float(record["price"]), mid))
    return fills, missing


def estimate_from_journal(path: str | Path, *, underlying: str, kind: str, level: float = 0.95,
                          max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> IntensityEstimate:
    """fills_from_journal, then the maximum-likelihood fit; InputError (one line naming the
    journal) when too few fills have a mid or the fit is impossible."""
    fills, missing = fills_from_journal(path, underlying=underlying, kind=kind, max_age_seconds=max_age_seconds)
    if len(fills) < 3:
        minutes = max_age_seconds / 60.0
        raise InputError(str(path), None, (
            f"cannot estimate the {underlying} {kind} fill intensity: {len(fills)} of {len(fills) + missing} "
            f"journal fills have a mid (the journal holds no mid at fill time: the mark of the latest run "
            f"within {minutes:g} minutes before the fill is used; record runs with check or hedge near the fills)"))
    delta, tau = exposures(fills)
    try:
        return estimate_intensity(delta, tau, level=level)
    except ValueError as error:
        raise InputError(str(path), None, f"cannot estimate the {underlying} {kind} fill intensity from the "
                         f"journal: {error}") from None


__all__ = ["DEFAULT_MAX_AGE_SECONDS", "estimate_from_journal", "fills_from_journal"]
