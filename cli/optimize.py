"""`hedgecore optimize CONFIG`: search a policy's parameters, print the frontier, write the
chosen policy as a policy YAML that `hedgecore hedge --policy` reads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    check_output_directory,
    check_plot_available,
    work_bounds,
)
from hedgecore.cli._render import Column, Report, Table, progress_bar, render, write_atomically

if TYPE_CHECKING:
    from hedgecore.optimize import OptimizeResult

WritePolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--write-policy",
        help="Write the chosen policy as a policy YAML for `hedgecore hedge --policy` "
        "(needs optimize.output.underlying, or a portfolio config). An existing policy file is "
        "updated: the underlying's band, rebalance_to and min_interval change, everything else "
        "stays (its comments are not kept).",
        show_default=False,
        dir_okay=False,
    ),
]


def build_report(result: OptimizeResult, policy: dict[str, Any] | None, config_name: str) -> Report:
    document = result.as_dict()
    document["config"] = config_name
    if policy is not None:
        document["policy"] = policy
    parameter_columns = [Column(name, name) for name in result.parameter_names]
    risk_header = result.objective.risk_name.replace("_", " ")
    columns = [
        *parameter_columns,
        Column("mean cost", "mean_cost"),
        Column("funding", "mean_funding"),
        Column(risk_header, "risk"),
        Column("mean PnL", "mean_pnl"),
        Column("trades", "mean_trades"),
        Column("objective", "objective"),
        Column("", "mark", str, numeric=False),
    ]
    rows: list[dict[str, Any]] = []
    row_styles: dict[int, str] = {}
    for index, candidate in enumerate(result.candidates):
        row = candidate.as_dict()
        row["risk"] = candidate.risk
        marks = []
        if candidate is result.chosen:
            marks.append("chosen")
            row_styles[index] = "bold green"
        if candidate.efficient:
            marks.append("frontier")
        if not candidate.feasible:
            marks.append("over max_std")
            row_styles.setdefault(index, "dim")
        row["mark"] = ", ".join(marks)
        rows.append(row)
    csv_keys = [
        *result.parameter_names,
        "mean_cost",
        "mean_trading_cost",
        "mean_funding",
        "std_pnl",
        "cvar",
        "mean_pnl",
        "stderr_pnl",
        "mean_trades",
        "objective",
        "feasible",
        "efficient",
    ]
    table = Table(
        f"{result.base.method} candidates ({config_name}): {result.objective.describe()}",
        columns,
        rows,
        row_styles,
        csv_keys=csv_keys,
    )
    chosen = ", ".join(f"{k}={v:.6g}" for k, v in result.chosen.parameters.items())
    notes = [
        f"Chosen: {chosen} (mean cost {result.chosen.mean_cost:,.2f}, std {result.chosen.std_pnl:,.2f}, "
        f"objective {result.chosen.objective:,.6g}).",
        f"{len(result.candidates)} candidates on the same {result.paths:,} paths x {result.steps} steps "
        f"(seed {result.seed}); cost = trading costs + funding per path, quote currency.",
        *(f"Note: {note}" for note in result.edge_notes()),
    ]
    return Report(document, [table], notes)


def optimize(
    config: SimulationConfigArg,
    paths: PathsOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    threads: ThreadsOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    plot: PlotOpt = None,
    write_policy: WritePolicyOpt = None,
    max_work: MaxWorkOpt = None,
    max_memory_gib: MaxMemoryOpt = None,
    cluster: ClusterOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Search a policy's parameters (CONFIG's `optimize` section) on common random numbers.

    Prints every candidate's cost and risk, marks the efficient frontier and the choice;
    --write-policy writes the choice as a policy file for `hedgecore hedge` (into an existing
    policy file: only that underlying's band and timer change). A chosen value at the edge of
    the search is said in a note (JSON: on_grid_edge). A search beyond the work bounds is
    refused before it starts. Exit codes: 0 ok, 2 bad config or option (or no candidate within
    max_std), 3 internal error, 4 the --cluster scheduler unreachable, 130/143 stopped by
    SIGINT/SIGTERM. --cluster runs the candidates on a Dask cluster, same numbers.
    """
    sources = Sources()
    check_plot_available(plot)
    check_output_directory(write_policy, "--write-policy")
    check_cluster_address(cluster)
    with guarded(debug, sources):
        from hedgecore.errors import ConfigError
        from hedgecore.optimize import optimize as run_optimize
        from hedgecore.optimize import optimize_work, parse_optimize_section, policy_document
        from hedgecore.simconfig import DOCUMENT

        loaded = load_simulation(config, sources)
        if loaded.optimize is None:
            raise ConfigError(
                "",
                "the config has no 'optimize' section: add one (policy, search, objective) or use `hedgecore simulate`",
                document=DOCUMENT,
            )
        setup = parse_optimize_section(loaded.optimize)
        underlying = setup.underlying or loaded.underlying
        if write_policy is not None and underlying is None:
            raise ConfigError(
                "optimize.output", "needs 'underlying' (e.g. BTC) to write a policy file", document=DOCUMENT
            )
        work_limit, memory_limit = work_bounds(max_work, max_memory_gib)
        optimize_work(loaded.spec, setup.search, paths=paths, steps=steps, refine=setup.refine,
                      refine_points=setup.refine_points).check(work_limit, memory_limit, WORK_BOUND_HINT)
        with progress_bar("optimising", enabled=format is not OutputFormat.json) as progress:
            if cluster is not None:
                from hedgecore.cluster.optimize import optimize_on_cluster

                with cluster_simulator(cluster, progress) as on_cluster:
                    result = optimize_on_cluster(on_cluster, loaded.spec, setup, paths=paths, steps=steps, seed=seed,
                                                 max_work=work_limit, max_memory_bytes=memory_limit)
            else:
                result = run_optimize(
                    loaded.spec,
                    setup.policy,
                    setup.search,
                    setup.objective,
                    paths=paths,
                    steps=steps,
                    seed=seed,
                    threads=threads,
                    progress=progress,
                    batch_size=setup.batch_size,
                    refine=setup.refine,
                    refine_points=setup.refine_points,
                    max_work=work_limit,
                    max_memory_bytes=memory_limit,
                )
        policy = None
        if underlying is not None and result.chosen.policy.method != "leland":
            policy = policy_document(result, loaded.spec, underlying=underlying, instrument=setup.instrument)
        if write_policy is not None:
            if policy is None:
                raise ConfigError(
                    "optimize.policy.method", "a leland policy has no band form for a policy file", document=DOCUMENT
                )
            _write_policy_yaml(write_policy, policy)
        render(build_report(result, policy, config.name), format, output)
        if plot is not None:
            from hedgecore.cli.plot import plot_optimization

            plot_optimization(result, plot, title=f"{config.name}: {result.base.method} parameter search")


def _write_policy_yaml(path: Path, policy: dict[str, Any]) -> None:
    """Check the document with the policy reader `hedgecore hedge` uses, then write it.

    An existing policy file is updated in place (atomically): the chosen underlying's band,
    rebalance_to and min_interval change and everything else stays, but its comments and
    layout are not kept (a note on stderr says so). An existing file that is not a policy
    is refused, never replaced."""
    import yaml

    from hedgecore.cli._errors import one_line
    from hedgecore.cli._yaml import InputFileError, load_yaml
    from hedgecore.errors import ConfigError
    from hedgecore.optimize import merge_policy_document
    from hedgecore.policy import parse_policy

    header = "# Written by `hedgecore optimize`; read by `hedgecore hedge --policy`.\n"
    document = policy
    if path.exists():
        try:
            existing, _ = load_yaml(path)
            parse_policy(existing)
        except (InputFileError, ConfigError) as error:
            raise InputFileError(str(path), None, f"--write-policy: the file exists and is not a policy file "
                                 f"({error}); give a new path or a policy file to update") from None
        document, added = merge_policy_document(existing, policy)
        underlying = next(iter(policy["underlyings"]))
        header = (f"# Updated by `hedgecore optimize` ({underlying}: band, rebalance_to, min_interval); "
                  "read by `hedgecore hedge --policy`.\n")
        what = "added" if added else "band, rebalance_to and min_interval updated"
        sys.stderr.write(one_line(f"hedgecore: note: {path}: {underlying} {what}; its other underlyings, limits "
                                  "and instruments kept, its comments not") + "\n")
    parse_policy(document)
    write_atomically(path, header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False))
