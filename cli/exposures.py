"""`hedgecore exposures`: value and desk-unit Greeks per position, per underlying, per book."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._load import load_inputs, report_warnings
from hedgecore.cli._options import (
    DEFAULT_TIMEOUT_SECONDS,
    AllowExpiredOpt,
    AsOfOpt,
    DebugOpt,
    FormatOpt,
    GroupBy,
    MarketOpt,
    OutputFormat,
    OutputOpt,
    PortfolioArg,
    ThreadsOpt,
    TimeoutOpt,
    VenueOpt,
)
from hedgecore.cli._render import Column, Report, Table, render

if TYPE_CHECKING:
    from hedgecore.market import Market
    from hedgecore.portfolio import Portfolio
    from hedgecore.valuation import BookGreeks

FIGURES = ("value_usd", "delta", "delta_bs", "delta_usd", "gamma_usd_1pct", "vega_usd", "theta_usd", "rho_usd")
# "PA delta $" (premium-adjusted delta x spot, per position) is named apart from the policy
# limit max_abs_delta_usd, which applies to the net delta in the policy's measure x spot.
HEADERS = ("value $", "PA delta", "BS delta", "PA delta $", "gamma $/1%", "vega $", "theta $/d", "rho $/1%")

# CSV columns: the table's (label, quantity, FIGURES) in their original order, then the
# identifying columns and the clearer aliases added after them.
CSV_KEYS = ["label", "quantity", *FIGURES, "row", "id", "instrument", "underlying", "book", "account", "kind",
            "settlement", "expiry", "strike", "premium_adjusted_delta_usd", "bs_delta_usd"]


def _with_aliases(figures: dict[str, Any], spot: float) -> dict[str, Any]:
    """Clearer names beside delta_usd (kept): premium_adjusted_delta_usd is the same figure,
    bs_delta_usd the plain Black-Scholes delta x spot (what a USD-measured policy nets)."""
    return {**figures, "premium_adjusted_delta_usd": figures["delta_usd"],
            "bs_delta_usd": figures["delta_bs"] * spot}


def _sum_rows(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {name: float(sum(row[name] for row in rows)) for name in FIGURES}


def build_report(portfolio: "Portfolio", market: "Market", book: "BookGreeks", by: GroupBy | None) -> Report:
    """The exposures JSON document and table from a valued book."""
    inputs = book.inputs
    figures = {name: getattr(book, name).tolist() for name in FIGURES}
    positions: list[dict[str, Any]] = []
    for k, position in enumerate(portfolio.positions):
        inst = position.instrument
        row: dict[str, Any] = {
            "id": position.id,
            "instrument": inst.name,
            "underlying": inst.underlying,
            "kind": inst.kind,
            "settlement": inst.settlement,
            "book": position.book,
            "account": position.account,
            "quantity": position.quantity,
            "strike": inst.strike,
            "expiry": inst.expiry.isoformat().replace("+00:00", "Z") if inst.expiry else None,
            "forward": float(inputs.forward[k]),
            "vol": float(inputs.vol[k]) if inst.kind == "option" else None,
            "tau_years": float(inputs.tau[k]) if inst.expiry else None,
        }
        for name in FIGURES:
            row[name] = figures[name][k]
        positions.append(_with_aliases(row, float(market.underlyings[inst.underlying].spot)))
    underlyings: list[dict[str, Any]] = []
    for name in portfolio.underlyings:
        members = [row for row in positions if row["underlying"] == name]
        spot = market.underlyings[name].spot
        underlyings.append({"underlying": name, "spot": spot, **_with_aliases(_sum_rows(members), spot)})
    usd_keys = ("value_usd", "delta_usd", "gamma_usd_1pct", "vega_usd", "theta_usd", "rho_usd",
                "premium_adjusted_delta_usd", "bs_delta_usd")
    totals = {key: float(sum(u[key] for u in underlyings)) for key in usd_keys}
    document: dict[str, Any] = {
        "as_of": market.as_of.isoformat().replace("+00:00", "Z"),
        "portfolio": portfolio.name,
        "positions": positions,
        "underlyings": underlyings,
        "totals": totals,
        "warnings": list(book.inputs.warnings),
    }
    groups: list[dict[str, Any]] = []
    if by is not None:
        key = by.value
        for name in portfolio.underlyings:
            for group in dict.fromkeys(row[key] for row in positions if row["underlying"] == name):
                members = [row for row in positions if row["underlying"] == name and row[key] == group]
                spot = market.underlyings[name].spot
                groups.append({key: group, "underlying": name, **_with_aliases(_sum_rows(members), spot)})
        document[f"{key}s"] = groups

    columns = [Column("position", "label", str, numeric=False), Column("qty", "quantity")]
    columns += [Column(header, name) for header, name in zip(HEADERS, FIGURES, strict=True)]
    rows: list[dict[str, Any]] = [{"label": row["id"], "row": "position", **row} for row in positions]
    row_styles: dict[int, str] = {}
    aliases = ("premium_adjusted_delta_usd", "bs_delta_usd")
    for group in groups:
        assert by is not None
        row_styles[len(rows)] = "cyan"
        rows.append({"label": f"{by.value} {group[by.value]} {group['underlying']}", "quantity": None,
                     "row": by.value, "underlying": group["underlying"], by.value: group[by.value],
                     **{n: group[n] for n in (*FIGURES, *aliases)}})
    for entry in underlyings:
        row_styles[len(rows)] = "bold"
        rows.append({"label": f"TOTAL {entry['underlying']}", "quantity": None, "row": "total",
                     "underlying": entry["underlying"], **{n: entry[n] for n in (*FIGURES, *aliases)}})
    if len(underlyings) > 1:
        row_styles[len(rows)] = "bold"
        rows.append({"label": "TOTAL USD", "quantity": None, "row": "total", **totals})
    title = f"Exposures of {portfolio.name} at {document['as_of']}"
    notes = ["PA delta: units of the underlying vs the index, premium-adjusted for coin-settled options "
             "(BS delta: plain Black-Scholes dV/dS); PA delta $ = PA delta x spot, per position. A policy's "
             "max_abs_delta_usd limits another figure: the net delta in the policy's measure x spot "
             "(hedge and check: net delta $). gamma $ per 1% move; vega $ per vol point; theta $ per day; "
             "rho $ per 1% of rate."]
    return Report(document, [Table(title, columns, rows, row_styles, csv_keys=CSV_KEYS)], notes)


def exposures(
    portfolio: PortfolioArg = None,
    market: MarketOpt = None,
    by: Annotated[GroupBy | None, typer.Option("--by", help="Also total per book or per account.")] = None,
    format: FormatOpt = OutputFormat.table,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    allow_expired: AllowExpiredOpt = False,
    threads: ThreadsOpt = None,
    venue: VenueOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugOpt = False,
) -> None:
    """Value, delta (coin and USD), gamma, vega, theta and rho per position and per underlying."""
    sources = Sources()
    with guarded(debug, sources):
        from hedgecore.valuation import value_book

        loaded = load_inputs(portfolio, market, sources, as_of=as_of, venue=venue, timeout_seconds=timeout)
        book_portfolio, market_data = loaded.portfolio, loaded.market
        book = value_book(book_portfolio, market_data, allow_expired=allow_expired, threads=threads)
        report_warnings(book.inputs.warnings)
        render(build_report(book_portfolio, market_data, book, by), format, output)
