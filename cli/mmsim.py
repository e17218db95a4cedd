"""`hedgecore mmsim CONFIG`: Monte Carlo of market making under each quoting policy, on common paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._options import (
    WORK_BOUND_HINT,
    DebugOpt,
    FormatOpt,
    MaxMemoryOpt,
    MaxWorkOpt,
    OutputFormat,
    OutputOpt,
    PathsOpt,
    PlotOpt,
    SeedOpt,
    StepsOpt,
    ThreadsOpt,
    check_plot_available,
    work_bounds,
)
from hedgecore.cli._render import Column, Report, Table, progress_bar, render

if TYPE_CHECKING:
    from hedgecore.quoting.mmsim import MarketMakingSpec, MMResult

ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="Market-making YAML: mid, horizon_hours, steps, paths, seed, order_size, intensity, "
        "inventory_limit, fees, policies.",
        show_default=False,
        dir_okay=False,
    ),
]

CSV_KEYS = ["name", "method", "mean_pnl", "std_pnl", "stderr_pnl", "var_95", "cvar_95", "var_99", "cvar_99",
            "certainty_equivalent", "mean_fills", "mean_spread_captured", "mean_fees", "inventory_std",
            "final_inventory_std", "time_at_limits", "mean_hedging_cost", "mean_hedge_trades"]


def load_mm_config(path: Path, sources: Sources) -> MarketMakingSpec:
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.quoting.mmsim import DOCUMENT, parse_mm_config

    data, lines = load_yaml(path)
    sources.maps[DOCUMENT] = lines
    return parse_mm_config(data)


def build_report(result: MMResult, config_name: str) -> Report:
    document = result.as_dict()
    document["config"] = config_name
    columns = [
        Column("policy", "name", str, numeric=False),
        Column("mean PnL", "mean_pnl"),
        Column("std PnL", "std_pnl"),
        Column("VaR 95", "var_95"),
        Column("CVaR 95", "cvar_95"),
        Column("CARA CE", "certainty_equivalent"),
        Column("fills", "mean_fills"),
        Column("spread", "mean_spread_captured"),
        Column("inv std", "inventory_std"),
        Column("at limit", "time_at_limits"),
        Column("hedge cost", "mean_hedging_cost"),
    ]
    rows: list[dict[str, Any]] = [policy.as_dict() for policy in result.policies]
    gamma = "n/a" if result.objective_gamma is None else f"{result.objective_gamma:g}"
    notes = [
        f"{result.paths:,} paths x {result.steps:,} steps, seed {result.seed}, "
        "all policies on the same random numbers.",
        "PnL = cash + inventory at the final mid, USD per path (fees included); VaR/CVaR positive = loss; "
        f"CARA CE = -(1/gamma) ln E[exp(-gamma PnL)] with gamma {gamma} per USD; spread = USD captured "
        "against the mid; inv std = standard deviation of the inventory over all steps (units); "
        "at limit = share of steps at the inventory limit; hedge cost = USD paid per path to keep the "
        "inventory's delta within the hedge band (0 without a hedge section).",
    ]
    return Report(document, [Table(f"Market making ({config_name})", columns, rows, csv_keys=CSV_KEYS)], notes)


def mmsim(
    config: ConfigArg,
    paths: PathsOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    threads: ThreadsOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    plot: PlotOpt = None,
    max_work: MaxWorkOpt = None,
    max_memory_gib: MaxMemoryOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Simulate a market maker quoting under each policy of CONFIG (symmetric, Avellaneda-Stoikov,
    GLFT exact and closed form), on common paths.

    Prints per policy the mean and std of the PnL, VaR/CVaR, the CARA certainty equivalent,
    fills, spread captured, inventory std and time at the limits. The same seed gives the
    same numbers on any thread count. Exit codes: 0 ok, 2 bad config or option, 3 internal
    error, 130/143 stopped by SIGINT/SIGTERM.
    """
    sources = Sources()
    check_plot_available(plot)
    with guarded(debug, sources):
        from hedgecore.quoting.mmsim import estimate_work, simulate_market_making

        spec = load_mm_config(config, sources)
        work_limit, memory_limit = work_bounds(max_work, max_memory_gib)
        estimate_work(spec, paths=paths, steps=steps).check(work_limit, memory_limit, WORK_BOUND_HINT)
        with progress_bar("simulating", enabled=format is not OutputFormat.json) as progress:
            result = simulate_market_making(spec, paths=paths, steps=steps, seed=seed, threads=threads,
                                            progress=progress, max_work=work_limit, max_memory_bytes=memory_limit)
        render(build_report(result, config.name), format, output)
        if plot is not None:
            _plot(result, plot, f"{config.name}: market-making PnL by policy")


def _plot(result: MMResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for policy in result.policies:
        axis.hist(policy.pnl, bins=80, histtype="step", label=policy.name, density=True)
    axis.set_xlabel("PnL per path (USD)")
    axis.set_ylabel("density")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
