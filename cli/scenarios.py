"""`hedgecore scenarios`: full-revaluation PnL on a spot x vol grid, worst cell marked."""

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
    from hedgecore.scenarios import ScenarioGrid


def build_report(grids: "list[ScenarioGrid]", as_of: str) -> tuple[Report, Table]:
    """The grids as tables (for people) and the long one-row-per-scenario table (for CSV)."""
    document: dict[str, Any] = {"as_of": as_of, "underlyings": []}
    tables = []
    csv_rows: list[dict[str, Any]] = []
    for grid in grids:
        worst_vol, worst_spot, worst_pnl = grid.worst
        document["underlyings"].append({
            "underlying": grid.underlying,
            "spot": grid.spot,
            "spot_shocks": grid.spot_shocks,
            "vol_scenarios": list(grid.vol_scenarios),
            "pnl_usd": grid.pnl_usd,
            "worst": {"spot_shock": grid.spot_shocks[worst_spot], "vol_scenario": grid.vol_scenarios[worst_vol],
                      "pnl_usd": worst_pnl},
        })
        keys = [f"s{k}" for k in range(len(grid.spot_shocks))]
        columns = [Column("vol \\ spot", "vol", str, numeric=False)]
        columns += [Column(f"{shock * 100:+.4g}%", key) for shock, key in zip(grid.spot_shocks, keys, strict=True)]
        rows = [{"vol": name, **dict(zip(keys, grid.pnl_usd[v], strict=True))}
                for v, name in enumerate(grid.vol_scenarios)]
        cells = {(worst_vol, keys[worst_spot]): "bold red reverse"}
        tables.append(Table(f"{grid.underlying} scenario PnL (USD), spot {grid.spot:,.6g}", columns, rows,
                            cell_styles=cells))
        for v, name in enumerate(grid.vol_scenarios):
            for s, shock in enumerate(grid.spot_shocks):
                csv_rows.append({"underlying": grid.underlying, "spot_shock": shock, "vol_scenario": name,
                                 "pnl_usd": grid.pnl_usd[v][s],
                                 "worst": v == worst_vol and s == worst_spot, "as_of": as_of})
    notes = [f"{g.underlying}: worst {g.worst[2]:,.0f} USD at spot {g.spot_shocks[g.worst[1]]:+.1%}, "
             f"vol {g.vol_scenarios[g.worst[0]]}" for g in grids]
    long_table = Table("scenarios", [Column(k, k) for k in ("underlying", "spot_shock", "vol_scenario",
                                                              "pnl_usd", "worst", "as_of")], csv_rows)
    # CSV gets the long form (one row per scenario) instead of the grids.
    return Report(document, tables, notes), long_table


def scenarios(
    portfolio: PortfolioArg = None,
    market: MarketOpt = None,
    spot_range: Annotated[float | None, typer.Option(
        "--spot-range", min=0.001, max=0.99,
        help="Largest spot move as a fraction (default: venue PM, 0.16 BTC, 0.18 ETH, 0.16 others).")] = None,
    steps: Annotated[int, typer.Option("--steps", min=2, max=101, help="Spot steps (odd includes 0).")] = 9,
    vol_up: Annotated[float, typer.Option(
        "--vol-up", min=0.0, help="Vol up shock scale u: vol x (1 + u (30/DTE)^p).")] = 0.5,
    vol_down: Annotated[float, typer.Option(
        "--vol-down", min=0.0, max=0.99, help="Vol down shock scale d: vol x (1 - d (30/DTE)^p).")] = 0.25,
    format: FormatOpt = OutputFormat.table,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    allow_expired: AllowExpiredOpt = False,
    threads: ThreadsOpt = None,
    venue: VenueOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugOpt = False,
) -> None:
    """Full-revaluation PnL on a spot x vol grid (venue portfolio-margin style), worst cell marked."""
    sources = Sources()
    with guarded(debug, sources):
        from hedgecore.scenarios import scenario_grids
        from hedgecore.valuation import book_inputs

        loaded = load_inputs(portfolio, market, sources, as_of=as_of, venue=venue, timeout_seconds=timeout)
        book_portfolio, market_data = loaded.portfolio, loaded.market
        inputs = book_inputs(book_portfolio, market_data, allow_expired=allow_expired)
        report_warnings(inputs.warnings)
        grids = scenario_grids(inputs, spot_range=spot_range, steps=steps, vol_up=vol_up, vol_down=vol_down,
                               threads=threads)
        report, long_table = build_report(grids, market_data.as_of.isoformat().replace("+00:00", "Z"))
        if format is OutputFormat.csv:
            report = Report(report.document, [long_table], report.notes)
        render(report, format, output)
