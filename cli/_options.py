"""Options shared by the commands, declared once as Annotated aliases."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(str, Enum):
    """How a command draws its result: a rich table for people, JSON or CSV for pipelines."""

    table = "table"
    json = "json"
    csv = "csv"


class GroupBy(str, Enum):
    """Extra totals for `exposures --by`."""

    book = "book"
    account = "account"


def _parse_as_of(value: str | None) -> str | None:
    """Check --as-of early (usage error); "now" (any case) is the wall clock, resolved when
    the market loads (cli._load.load_market)."""
    if value is None:
        return None
    if value.strip().lower() == "now":
        return "now"
    from hedgecore.errors import ConfigError
    from hedgecore.reading import parse_timestamp

    try:
        parse_timestamp(value, "--as-of", "cli")
    except ConfigError as error:
        raise typer.BadParameter(f"must be 'now' or {error.message.removeprefix('must be ')}") from None
    return value


# PORTFOLIO and --market may be left out when --venue gives them (cli._load.load_inputs
# says which is missing when it does not): None stands for "from the venue".
PortfolioArg = Annotated[Path | None, typer.Argument(
    help="Portfolio YAML: positions with instrument, quantity, optional id/book/account. Required unless "
    "--venue takes the positions from the account.",
    metavar="PORTFOLIO", show_default=False, dir_okay=False)]
MarketOpt = Annotated[Path | None, typer.Option(
    "--market", "-m", help="Market YAML: valuation time, spot, futures, vols, rates, funding. Required "
    "unless --venue takes the market live.",
    show_default=False, dir_okay=False)]
# Live inputs (issue 11): only the venue's name is read here; the venue layer is imported
# when a command runs (hedgecore --help stays free of it).
VenueOpt = Annotated[str | None, typer.Option(
    "--venue", help="Take what no file gives live from this venue: the market when --market is left out, "
    "the account's positions when PORTFOLIO is (deribit: market and positions; bybit: market).",
    metavar="NAME", show_default=False)]
DEFAULT_TIMEOUT_SECONDS = 30.0
TimeoutOpt = Annotated[float, typer.Option(
    "--timeout", min=0.001, help="Bound on the whole fetch from --venue in seconds, retries included.",
    metavar="SECONDS")]
PolicyOpt = Annotated[Path, typer.Option(
    "--policy", "-p", help="Policy YAML: targets, bands, hedge instruments and costs, limits.",
    show_default=False, dir_okay=False)]
FormatOpt = Annotated[OutputFormat, typer.Option(
    "--format", "-f", help="Output format (json: nothing else on stdout).", case_sensitive=False)]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Valuation time overriding the market file's: 'now' (the wall clock) or ISO-8601 "
    "(UTC if no zone).",
    metavar="TIME", callback=_parse_as_of, show_default=False)]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the result to FILE instead of stdout: a regular file atomically (a link's "
    "target; mode kept, new files follow the umask), a device or FIFO written through, a read-only file refused.",
    show_default=False, dir_okay=False)]
# max: hedgecore._inputs.MAX_THREADS (not imported here: it would import numpy for --help)
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, max=1024, help="Threads for the compiled core (default: all; at most 1024).",
    show_default=False)]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", envvar="HEDGECORE_DEBUG", help="Show the traceback of an error (or HEDGECORE_DEBUG=1).")]
AllowExpiredOpt = Annotated[bool, typer.Option(
    "--allow-expired", help="Accepted for compatibility; no effect: instruments expired at the valuation time "
    "are always settled (valued as what settlement leaves), with a warning.")]


# --- the simulation commands (simulate, optimize, sweep, mmsim) ---------------------------------
SimulationConfigArg = Annotated[
    Path,
    typer.Argument(
        help="Simulation YAML: model, rate, horizon_years, steps, paths, seed, options (or portfolio), "
        "hedge, costs, policies.",
        show_default=False,
        dir_okay=False,
    ),
]
PathsOpt = Annotated[
    int | None, typer.Option("--paths", min=1, help="Simulated paths (overrides the config).", show_default=False)
]
StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps", min=1, help="Rebalancing steps over the horizon (overrides the config).", show_default=False
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        help="Random seed (overrides the config); the same seed gives the same numbers on any thread count.",
        show_default=False,
    ),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Also draw the PnL histograms to this PNG (needs hedgecore[plot]).",
        show_default=False,
        dir_okay=False,
    ),
]

MaxWorkOpt = Annotated[
    float | None,
    typer.Option(
        "--max-work",
        envvar="HEDGECORE_MAX_WORK",
        min=1.0,
        help="Refuse a run needing more than this many path-steps x policies (default 1e11, "
        "about two hours on two cores); 'inf' lifts the bound.",
        show_default=False,
    ),
]
MaxMemoryOpt = Annotated[
    float | None,
    typer.Option(
        "--max-memory-gib",
        envvar="HEDGECORE_MAX_MEMORY_GIB",
        min=0.001,
        help="Refuse a run whose arrays need more than this many GiB (default 8); 'inf' lifts the bound.",
        show_default=False,
    ),
]

WORK_BOUND_HINT = (
    "use fewer paths (--paths), steps (--steps) or policies, or raise the bound with --max-work N "
    "or --max-memory-gib N (or HEDGECORE_MAX_WORK, HEDGECORE_MAX_MEMORY_GIB)"
)


def work_bounds(max_work: float | None, max_memory_gib: float | None) -> tuple[float | None, float | None]:
    """The library's bounds (path-steps x policies, bytes) from the options; inf lifts one."""
    from hedgecore.simulation import MAX_MEMORY_BYTES, MAX_WORK

    work = MAX_WORK if max_work is None else max_work
    memory = MAX_MEMORY_BYTES if max_memory_gib is None else max_memory_gib * 2.0**30
    return (None if work == float("inf") else work), (None if memory == float("inf") else memory)


def check_output_directory(path: Path | None, option: str) -> None:
    """Fail before a long run when an output file's directory does not exist."""
    from hedgecore.cli._errors import EXIT_BAD_INPUT, report_error

    if path is not None and not path.resolve().parent.is_dir():
        report_error(f"{option} {path}: no such directory {path.resolve().parent}")
        raise typer.Exit(EXIT_BAD_INPUT)


def check_plot_available(plot: Path | None) -> None:
    """Fail before a long run when --plot is asked for without matplotlib (one line naming
    the extra) or into a directory that does not exist: exit 2."""
    if plot is None:
        return
    check_output_directory(plot, "--plot")
    from hedgecore.cli._errors import EXIT_BAD_INPUT, report_error
    from hedgecore.cli.plot import PlotUnavailable, require_matplotlib

    try:
        require_matplotlib()
    except PlotUnavailable as missing:
        report_error(str(missing))
        raise typer.Exit(EXIT_BAD_INPUT) from None

