"""`hedgecore quote PORTFOLIO --market MARKET --quoting QUOTING.yaml`: bid/ask per instrument,
skewed against the book's inventory (hedgecore.quoting.options)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._load import load_inputs, report_warnings
from hedgecore.cli._options import (
    DEFAULT_TIMEOUT_SECONDS,
    AsOfOpt,
    DebugOpt,
    FormatOpt,
    MarketOpt,
    OutputFormat,
    OutputOpt,
    PortfolioArg,
    ThreadsOpt,
    TimeoutOpt,
    VenueOpt,
)
from hedgecore.cli._render import Column, Report, Table, fmt_number, render

if TYPE_CHECKING:
    from hedgecore.quoting.config import Intensity, QuotingConfig
    from hedgecore.quoting.options import QuoteSheet

QuotingOpt = Annotated[Path, typer.Option(
    "--quoting", "-q", help="Quoting YAML: per underlying the instruments, order size, risk aversions, "
    "fill intensity, limits and fees.", show_default=False, dir_okay=False)]

CSV_KEYS = ["instrument", "mark", "reservation", "bid", "ask", "bid_size", "ask_size", "skew", "underlying",
            "price_unit", "half_spread", "fee", "as_of"]


def _price(value: float | None) -> str:
    """Prices to 6 significant figures (a coin price of 0.0123 needs more than the 4 of fmt_number)."""
    if value is None:
        return "-"
    number = float(value)
    return f"{number:,.2f}" if abs(number) >= 1000 else f"{number:.6g}"


def load_quoting(path: Path, sources: Sources) -> QuotingConfig:
    """Read the quoting YAML (line numbers kept for errors); fills CSVs named by `fills_csv`
    are estimated here (hedgecore.quoting.intensity)."""
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.instruments import parse_instrument_name
    from hedgecore.quoting.config import DOCUMENT, Intensity, parse_quoting
    from hedgecore.quoting.intensity import estimate_from_csv

    data, lines = load_yaml(path)
    sources.maps[DOCUMENT] = lines

    def estimate(csv_path: Path, kind: str, underlying: str) -> Intensity:
        def wanted(name: str) -> bool:
            inst = parse_instrument_name(name)
            return inst is not None and inst.kind == kind and inst.underlying == underlying

        fitted = estimate_from_csv(csv_path, instruments=wanted)
        return Intensity(fitted.a_per_hour, fitted.k, str(csv_path), fitted.a_interval, fitted.k_interval)

    def estimate_journal(journal: Path, kind: str, underlying: str, max_age_seconds: float) -> Intensity:
        from hedgecore.quoting.journal_fills import estimate_from_journal

        fitted = estimate_from_journal(journal, underlying=underlying, kind=kind, max_age_seconds=max_age_seconds)
        return Intensity(fitted.a_per_hour, fitted.k, f"journal {journal}", fitted.a_interval, fitted.k_interval)

    return parse_quoting(data, base_dir=path.parent, estimate=estimate, estimate_journal=estimate_journal)


def build_report(sheet: QuoteSheet, config: QuotingConfig) -> Report:
    as_of = sheet.as_of.isoformat().replace("+00:00", "Z")
    intensity: dict[str, Any] = {}
    for underlying, setup in config.underlyings.items():
        intensity[underlying] = {kind: {"A_per_hour": value.a_per_hour, "k": value.k, "source": value.source,
                                        "A_interval": list(value.a_interval) if value.a_interval else None,
                                        "k_interval": list(value.k_interval) if value.k_interval else None}
                                 for kind, value in setup.intensity.items()}
    document = {
        "as_of": as_of,
        "quotes": [quote.as_dict() for quote in sheet.quotes],
        "inventory": {name: inv.as_dict() for name, inv in sheet.inventory.items()},
        "intensity": intensity,
    }
    rows = [{**quote.as_dict(), "as_of": as_of} for quote in sheet.quotes]
    columns = [
        Column("instrument", "instrument", str, numeric=False),
        Column("unit", "price_unit", str, numeric=False),
        Column("mark", "mark", _price),
        Column("bid", "bid", _price),
        Column("ask", "ask", _price),
        Column("reservation", "reservation", _price),
        Column("skew", "skew", _price),
        Column("bid size", "bid_size", fmt_number),
        Column("ask size", "ask_size", fmt_number),
    ]
    notes = []
    for name, inv in sheet.inventory.items():
        buckets = ", ".join(f"{code} {fmt_number(v)}" for code, v in inv.vega_usd_by_expiry.items()) or "none"
        notes.append(f"{name} inventory: delta {fmt_number(inv.delta)} coin, gamma {fmt_number(inv.gamma_usd_1pct)} "
                     f"$/1%, vega {fmt_number(inv.vega_usd)} $/vol pt (by expiry: {buckets}); "
                     f"spot {fmt_number(inv.spot)}.")
        for kind, values in intensity.get(name, {}).items():
            if values["source"] != "config":
                a_low, a_high = values["A_interval"]
                k_low, k_high = values["k_interval"]
                notes.append(f"{name} {kind} intensity from {values['source']}: A {fmt_number(values['A_per_hour'])}/h "
                             f"(95% {fmt_number(a_low)}-{fmt_number(a_high)}), k {fmt_number(values['k'])} "
                             f"(95% {fmt_number(k_low)}-{fmt_number(k_high)}).")
    notes.append("Prices in each instrument's native unit (coin for coin-settled options, USD per coin otherwise); "
                 "skew = reservation - mark; '-' = side not quoted (a limit would be breached).")
    return Report(document, [Table(f"Quotes at {as_of}", columns, rows, csv_keys=CSV_KEYS)], notes)


def quote(
    quoting: QuotingOpt,
    portfolio: PortfolioArg = None,
    market: MarketOpt = None,
    format: FormatOpt = OutputFormat.table,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    threads: ThreadsOpt = None,
    venue: VenueOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugOpt = False,
) -> None:
    """Bid and ask per instrument, skewed against the book's delta, vega by expiry and gamma.

    A flat book quotes symmetrically about the mark; the spread never falls below the maker
    fee; a side whose fill would breach a limit is not quoted. Exit codes: 0 ok, 2 bad input,
    3 internal error, 4 market data or positions unavailable from a venue.
    """
    sources = Sources()
    with guarded(debug, sources):
        from hedgecore.quoting.options import quote_book

        loaded = load_inputs(portfolio, market, sources, as_of=as_of, venue=venue, timeout_seconds=timeout)
        config = load_quoting(quoting, sources)
        sheet = quote_book(loaded.portfolio, loaded.market, config, threads=threads)
        report_warnings(sheet.warnings)
        render(build_report(sheet, config), format, output)

