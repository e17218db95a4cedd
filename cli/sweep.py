"""`hedgecore sweep DIR_OR_FILES...`: many simulation or optimisation configs (all the books of
a fund) in one run, one result per config plus a summary table, spread over a cluster.

A config with an `optimize:` section is optimised, any other simulated (a `variants:` study
too, each of its simulations on the cluster). A config that cannot be read or run is reported
by name, its error in the JSON, and the others still return: the exit code is then 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._cluster import ClusterOpt, check_cluster_address, cluster_simulator
from hedgecore.cli._errors import EXIT_BAD_INPUT, Sources, classify, guarded, one_line, report_error
from hedgecore.cli._options import DebugOpt, FormatOpt, OutputFormat, OutputOpt, PathsOpt, StepsOpt
from hedgecore.cli._render import Column, Report, Table, progress_bar, render

if TYPE_CHECKING:
    from hedgecore.cluster.merge import ClusterSimulator, PendingRun
    from hedgecore.optimize import OptimizeSetup, Simulator
    from hedgecore.simconfig import SimulationConfig
    from hedgecore.simulation import ProgressCallback

InputsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Simulation or optimisation YAML files, or directories whose *.yaml and *.yml files are swept "
        "(in name order).",
        metavar="DIR_OR_FILES...",
        show_default=False,
    ),
]

CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass
class Entry:
    """One config of the sweep: what it is, what it gave or why it failed."""

    path: Path
    sources: Sources = field(default_factory=Sources)
    kind: str = "simulate"
    loaded: SimulationConfig | None = None
    setup: OptimizeSetup | None = None
    pending: PendingRun | None = None    # a simulation submitted to the cluster
    seed: int | None = None              # an optimisation's or a study's seed, resolved before submitting
    document: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    exit_code: int = 0

    def fail(self, error: BaseException) -> None:
        code, message = classify(error, self.sources)
        self.exit_code = code
        self.error = one_line(message if message.startswith(str(self.path)) else f"{self.path}: {message}")
        report_error(self.error)


def collect(inputs: list[Path]) -> list[Path]:
    """The config files: each directory's *.yaml / *.yml in name order, files as given."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            files.extend(sorted(p for p in item.iterdir() if p.suffix.lower() in CONFIG_SUFFIXES and p.is_file()))
        else:
            files.append(item)
    return files


def sweep(
    inputs: InputsArg,
    paths: PathsOpt = None,
    steps: StepsOpt = None,
    cluster: ClusterOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Simulate or optimise many configs in one run (a config with an `optimize:` section is
    optimised), on a Dask cluster with --cluster. Prints one summary row per config; the JSON
    holds each config's full result, the document `simulate` or `optimize` prints, or its
    error. A bad config is reported by name and the others still run. Exit codes: 0 every
    config ran, 2 a config failed (or a bad option), 3 internal error, 4 the cluster's
    scheduler unreachable, 130/143 stopped by SIGINT/SIGTERM.
    """
    check_cluster_address(cluster)
    files = collect(inputs)
    if not files:
        report_error("sweep: no config files (*.yaml, *.yml) in " + ", ".join(str(p) for p in inputs))
        raise typer.Exit(EXIT_BAD_INPUT)
    entries = [Entry(path) for path in files]
    with guarded(debug, Sources()):
        for entry in entries:
            _load(entry)
        with progress_bar(f"sweeping {len(entries)} configs", enabled=format is not OutputFormat.json) as progress:
            if cluster is not None:
                with cluster_simulator(cluster, progress) as simulator:
                    for entry in entries:
                        _submit(entry, simulator, paths, steps)
                    for entry in entries:
                        _finish(entry, simulator, paths, steps, None)
            else:
                from hedgecore.simulation import simulate

                for entry in entries:
                    _finish(entry, simulate, paths, steps, progress)
        render(build_report(entries), format, output)
    if any(entry.error is not None for entry in entries):
        raise typer.Exit(EXIT_BAD_INPUT)


def _load(entry: Entry) -> None:
    from hedgecore.cli._load import load_simulation
    from hedgecore.optimize import parse_optimize_section

    try:
        if not entry.path.is_file():
            raise FileNotFoundError(2, "no such file", str(entry.path))
        entry.loaded = load_simulation(entry.path, entry.sources)
        if entry.loaded.optimize is not None:
            entry.kind = "optimize"
            entry.setup = parse_optimize_section(entry.loaded.optimize)
        elif entry.loaded.study is not None:
            entry.kind = "variants"
    except Exception as error:  # noqa: BLE001 - one config's error, reported by name; the others run
        entry.fail(error)


def _submit(entry: Entry, simulator: ClusterSimulator, paths: int | None, steps: int | None) -> None:
    """Send a config's work to the cluster before any result is awaited."""
    if entry.error is not None:
        return
    assert entry.loaded is not None  # loaded without error
    try:
        if entry.kind == "optimize":
            from hedgecore.cluster.optimize import prefetch_grid, resolve_seed
            from hedgecore.optimize import optimize_work

            setup = entry.setup
            assert setup is not None
            optimize_work(entry.loaded.spec, setup.search, paths=paths, steps=steps, refine=setup.refine,
                          refine_points=setup.refine_points).check()
            entry.seed = resolve_seed(entry.loaded.spec, None)
            prefetch_grid(simulator, entry.loaded.spec, setup, paths=paths, steps=steps, seed=entry.seed)
        elif entry.kind == "variants":
            from hedgecore.cluster.variants import submit_study

            assert entry.loaded.study is not None  # a variants config
            entry.seed = submit_study(simulator, entry.loaded.spec, entry.loaded.study, paths=paths, steps=steps)
        else:
            entry.pending = simulator.prefetch(entry.loaded.spec, paths=paths, steps=steps)
    except Exception as error:  # noqa: BLE001 - one config's error, reported by name; the others run
        entry.fail(error)


def _finish(entry: Entry, simulator: ClusterSimulator | Simulator, paths: int | None, steps: int | None,
            progress: ProgressCallback | None) -> None:
    """Wait for (or, in process, run) a config and keep its document and summary row."""
    if entry.error is not None:
        return
    assert entry.loaded is not None  # loaded without error
    from hedgecore.cluster.client import ClusterUnavailable

    name = entry.path.name
    try:
        if entry.kind == "optimize":
            entry.document, entry.summary = _optimized(entry, simulator, paths, steps, progress)
        elif entry.kind == "variants":
            from hedgecore.cli.simulate import build_variants_report
            from hedgecore.overlay import simulate_variants

            assert entry.loaded.study is not None
            variants = simulate_variants(entry.loaded.spec, entry.loaded.study, paths=paths, steps=steps,
                                         seed=entry.seed, progress=progress, simulator=simulator)
            entry.document = build_variants_report(variants, name).document
            entry.summary = {"runs": len(entry.document["variants"])}
        else:
            from hedgecore.cli.simulate import build_report

            if entry.pending is not None:
                from hedgecore.cluster.merge import ClusterSimulator

                assert isinstance(simulator, ClusterSimulator)  # runs are pending on a cluster only
                result = simulator.result(entry.pending)
            else:
                result = simulator(entry.loaded.spec, paths=paths, steps=steps, progress=progress)
            entry.document = build_report(result, name).document
            best = min(result.policies, key=lambda policy: policy.std_pnl)
            entry.summary = {"runs": len(result.policies), "best": best.name, "mean_pnl": best.mean_pnl,
                             "std_pnl": best.std_pnl, "mean_cost": best.mean_cost}
    except ClusterUnavailable:
        raise  # the cluster is gone: the sweep as a whole fails (exit 4)
    except Exception as error:  # noqa: BLE001 - one config's error, reported by name; the others run
        entry.fail(error)


def _optimized(entry: Entry, simulator: Simulator, paths: int | None, steps: int | None,
               progress: ProgressCallback | None) -> tuple[dict[str, Any], dict[str, Any]]:
    from hedgecore.cli.optimize import build_report
    from hedgecore.optimize import optimize, policy_document

    setup, loaded = entry.setup, entry.loaded
    assert setup is not None  # an optimize config
    assert loaded is not None  # loaded without error
    spec = loaded.spec
    result = optimize(spec, setup.policy, setup.search, setup.objective, paths=paths, steps=steps, seed=entry.seed,
                      progress=progress, batch_size=setup.batch_size, refine=setup.refine,
                      refine_points=setup.refine_points, simulator=simulator)
    underlying = setup.underlying or loaded.underlying
    policy = None
    if underlying is not None and result.chosen.policy.method != "leland":
        policy = policy_document(result, spec, underlying=underlying, instrument=setup.instrument)
    chosen = result.chosen
    best = ", ".join(f"{k}={v:.6g}" for k, v in chosen.parameters.items())
    summary = {"runs": len(result.candidates), "best": best, "mean_pnl": chosen.mean_pnl, "std_pnl": chosen.std_pnl,
               "mean_cost": chosen.mean_cost}
    return build_report(result, policy, entry.path.name).document, summary


def build_report(entries: list[Entry]) -> Report:
    configs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    row_styles: dict[int, str] = {}
    for index, entry in enumerate(entries):
        item: dict[str, Any] = {"config": entry.path.name, "path": str(entry.path), "kind": entry.kind}
        if entry.error is not None:
            item.update(status="error", exit_code=entry.exit_code, error=entry.error)
            row_styles[index] = "red"
        else:
            item.update(status="ok", result=entry.document)
        configs.append(item)
        rows.append({"config": entry.path.name, "kind": entry.kind, "status": item["status"],
                     "runs": entry.summary.get("runs"), "best": entry.summary.get("best", ""),
                     "mean_pnl": entry.summary.get("mean_pnl"), "std_pnl": entry.summary.get("std_pnl"),
                     "mean_cost": entry.summary.get("mean_cost"), "error": entry.error or ""})
    failed = sum(1 for entry in entries if entry.error is not None)
    document = {"configs": configs,
                "summary": {"configs": len(entries), "ok": len(entries) - failed, "failed": failed}}
    columns = [
        Column("config", "config", str, numeric=False),
        Column("kind", "kind", str, numeric=False),
        Column("status", "status", str, numeric=False),
        Column("policies", "runs"),
        Column("lowest std / chosen", "best", str, numeric=False),
        Column("mean PnL", "mean_pnl"),
        Column("std PnL", "std_pnl"),
        Column("mean cost", "mean_cost"),
    ]
    table = Table(f"Sweep of {len(entries)} configs", columns, rows, row_styles,
                  csv_keys=["config", "kind", "status", "runs", "best", "mean_pnl", "std_pnl", "mean_cost", "error"])
    notes = ["simulate rows: the policy with the lowest PnL std; optimize rows: the chosen parameters. "
             "Each config's full result is in the JSON (-f json)."]
    notes += [f"Failed: {entry.error}" for entry in entries if entry.error is not None]
    return Report(document, [table], notes)
