"""`hedgecore simulate CONFIG`: Monte Carlo of a hedged book under each policy of a config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hedgecore.cli._cluster import ClusterOpt, check_cluster_address, cluster_simulator
from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._load import load_simulation
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
    SimulationConfigArg,
    StepsOpt,
    ThreadsOpt,
    check_plot_available,
    work_bounds,
)
from hedgecore.cli._render import Column, Report, Table, progress_bar, render

if TYPE_CHECKING:
    from hedgecore.overlay import VariantsResult
    from hedgecore.simconfig import SimulationConfig
    from hedgecore.simulation import SimulationResult


def build_report(result: SimulationResult, config_name: str) -> Report:
    document = result.as_dict()
    document["config"] = config_name
    columns = [
        Column("policy", "name", str, numeric=False),
        Column("method", "method", str, numeric=False),
        Column("mean PnL", "mean_pnl"),
        Column("std PnL", "std_pnl"),
        Column("VaR 95", "var_95"),
        Column("CVaR 95", "cvar_95"),
        Column("CVaR 99", "cvar_99"),
        Column("mean cost", "mean_cost"),
        Column("trading", "mean_trading_cost"),
        Column("funding", "mean_funding"),
        Column("trades", "mean_trades"),
    ]
    rows = [policy.as_dict() for policy in result.policies]
    csv_keys = [
        "name",
        "method",
        "mean_pnl",
        "std_pnl",
        "stderr_pnl",
        "var_95",
        "var_99",
        "cvar_95",
        "cvar_99",
        "mean_cost",
        "mean_trading_cost",
        "mean_funding",
        "mean_trades",
    ]
    quantile_keys = list(rows[0]["quantiles"]) if rows else []
    for row in rows:
        for key in quantile_keys:
            row[f"pnl_{key}"] = row["quantiles"][key]
    table = Table(
        f"Hedged PnL of the book ({config_name})",
        columns,
        rows,
        csv_keys=csv_keys + [f"pnl_{key}" for key in quantile_keys],
    )
    notes = [
        f"Option value at the start {result.option_value:,.2f} (quote currency, whole book); "
        f"{result.paths:,} paths x {result.steps} steps, seed {result.seed}, all policies on the same paths.",
        "PnL and costs per path in the quote currency; VaR and CVaR are positive numbers for losses. "
        "mean cost = trading (fees, spread, fixed, impact) + funding (perpetual funding paid; "
        "negative = received), as in `hedgecore optimize`.",
    ]
    return Report(document, [table], notes)


def build_variants_report(result: VariantsResult, config_name: str) -> Report:
    """The `variants:` comparison: one row per model and variant, overlay cost in the PnL."""
    document = result.as_dict()
    document["config"] = config_name
    columns = [
        Column("model", "model", str, numeric=False),
        Column("variant", "variant", str, numeric=False),
        Column("policy", "policy", str, numeric=False),
        Column("overlay cost", "overlay_cost"),
        Column("mean PnL", "mean_pnl"),
        Column("std PnL", "std_pnl"),
        Column("VaR 95", "var_95"),
        Column("CVaR 95", "cvar_95"),
        Column("CVaR 99", "cvar_99"),
        Column("hedge cost", "mean_cost"),
        Column("trades", "mean_trades"),
    ]
    rows = document["variants"]
    csv_keys = ["model", "variant", "policy", "overlay", "book_value", "overlay_cost", "mean_pnl", "std_pnl",
                "stderr_pnl", "var_95", "var_99", "cvar_95", "cvar_99", "mean_cost", "mean_trading_cost",
                "mean_funding", "mean_trades"]
    table = Table(f"Variants of the book ({config_name})", columns, [dict(row) for row in rows], csv_keys=csv_keys)
    overlay_rows = [{"model": model, **line} for model, lines in document["overlay"].items() for line in lines]
    tables = [table]
    if overlay_rows:
        tables.append(Table("Overlay bought at t0 (USD; cost = spread over model value + fees)", [
            Column("model", "model", str, numeric=False),
            Column("instrument", "instrument", str, numeric=False),
            Column("quantity", "quantity"),
            Column("price", "price_usd"),
            Column("model value", "model_value_usd"),
            Column("spread", "spread_usd"),
            Column("fee", "fee_usd"),
            Column("cost", "cost_usd"),
        ], overlay_rows))
    notes = [
        f"{result.paths:,} paths x {result.steps} steps, seed {result.seed}; the variants of a model run on the "
        "same paths (common random numbers).",
        "PnL per path in the quote currency, the overlay's t0 cost (financed at the rate) included; VaR and CVaR "
        "are positive numbers for losses; hedge cost = trading + funding of the delta hedge.",
    ]
    return Report(document, tables, notes)


def run_variants(loaded: SimulationConfig, config: Path, *, paths: int | None, steps: int | None,
                 seed: int | None, threads: int | None, format: OutputFormat, output: Path | None,
                 plot: Path | None, work_limit: float | None, memory_limit: float | None,
                 cluster: str | None = None) -> None:
    """`variants:` in the config: every variant under every model, one table (on the
    cluster at `cluster` when given, each of its simulations as block-range tasks)."""
    from hedgecore.overlay import estimate_study, simulate_variants

    assert loaded.study is not None
    estimate_study(loaded.spec, loaded.study, paths=paths, steps=steps).check(
        work_limit, memory_limit, WORK_BOUND_HINT)
    with progress_bar("simulating variants", enabled=format is not OutputFormat.json) as progress:
        if cluster is not None:
            from hedgecore.cluster.variants import simulate_variants_on_cluster

            with cluster_simulator(cluster, progress) as on_cluster:
                result = simulate_variants_on_cluster(on_cluster, loaded.spec, loaded.study, paths=paths, steps=steps,
                                                      seed=seed, max_work=work_limit, max_memory_bytes=memory_limit)
        else:
            result = simulate_variants(loaded.spec, loaded.study, paths=paths, steps=steps, seed=seed,
                                       threads=threads, progress=progress, max_work=work_limit,
                                       max_memory_bytes=memory_limit)
    render(build_variants_report(result, config.name), format, output)
    if plot is not None:
        from hedgecore.cli.plot import plot_simulation

        for model_result in result.per_model():
            model = model_result.policies[0].name.split(":")[0]
            target = plot if len(result.overlay) == 1 else plot.with_name(f"{plot.stem}-{model}{plot.suffix}")
            plot_simulation(model_result, target, title=f"{config.name} ({model}): PnL by variant")


def simulate(
    config: SimulationConfigArg,
    paths: PathsOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    threads: ThreadsOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    plot: PlotOpt = None,
    max_work: MaxWorkOpt = None,
    max_memory_gib: MaxMemoryOpt = None,
    cluster: ClusterOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Simulate the hedged PnL of a book under each policy of CONFIG, on common paths.

    Prints per policy the mean and std of the PnL, VaR/CVaR (positive = loss), mean cost
    (trading + funding, each also in its own column) and trades. A run beyond the work
    bounds is refused before it starts. --cluster runs it on a Dask cluster (a `variants:`
    config too). Exit codes: 0 ok, 2 bad config or option, 3 internal error,
    4 the cluster's scheduler unreachable, 130/143 stopped by SIGINT/SIGTERM.
    """
    sources = Sources()
    check_plot_available(plot)
    check_cluster_address(cluster)
    with guarded(debug, sources):
        from hedgecore.simulation import estimate_work
        from hedgecore.simulation import simulate as run_simulation

        loaded = load_simulation(config, sources)
        work_limit, memory_limit = work_bounds(max_work, max_memory_gib)
        if loaded.study is not None:
            run_variants(loaded, config, paths=paths, steps=steps, seed=seed, threads=threads, format=format,
                         output=output, plot=plot, work_limit=work_limit, memory_limit=memory_limit,
                         cluster=cluster)
            return
        estimate_work(loaded.spec, paths=paths, steps=steps).check(work_limit, memory_limit, WORK_BOUND_HINT)
        with progress_bar("simulating", enabled=format is not OutputFormat.json) as progress:
            if cluster is not None:
                with cluster_simulator(cluster, progress) as on_cluster:
                    result = on_cluster(loaded.spec, paths=paths, steps=steps, seed=seed,
                                        max_work=work_limit, max_memory_bytes=memory_limit)
            else:
                result = run_simulation(
                    loaded.spec, paths=paths, steps=steps, seed=seed, threads=threads, progress=progress,
                    max_work=work_limit, max_memory_bytes=memory_limit,
                )
        render(build_report(result, config.name), format, output)
        if plot is not None:
            from hedgecore.cli.plot import plot_simulation

            plot_simulation(result, plot, title=f"{config.name}: hedged PnL by policy")
