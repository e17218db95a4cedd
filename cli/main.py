"""The `hedgecore` application: commands assembled from one module each.

`run()` is the console script. It imports nothing heavy: numpy and the compiled core are
imported inside the commands, so `hedgecore --help` stays fast.
"""

import gc
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

try:
    import typer
    import typer.main
except ImportError:  # pragma: no cover - exercised by run() below
    typer = None  # type: ignore[assignment]


def _version(value: bool) -> None:
    if value:
        from hedgecore._version import __version__

        print(f"hedgecore {__version__}")
        raise typer.Exit()


# Every command, in --help order, registered the same way: (module, attribute). A function
# becomes a command; a Typer app (market, positions) becomes a group of subcommands. A module
# is imported when the application is built, and imports nothing heavy itself (numpy, the
# compiled core, sqlite3 and the venue layer load inside the command that needs them).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("hedgecore.cli.exposures", "exposures"),
    ("hedgecore.cli.scenarios", "scenarios"),
    ("hedgecore.cli.hedge", "hedge"),
    ("hedgecore.cli.check", "check"),
    # the journal
    ("hedgecore.cli.fill", "fill"),
    ("hedgecore.cli.history", "history"),
    ("hedgecore.cli.explain", "explain"),
    ("hedgecore.cli.prune", "prune"),
    # venue snapshots
    ("hedgecore.cli.market", "market_app"),
    ("hedgecore.cli.positions", "positions_app"),
    # simulation, optimisation and market making
    ("hedgecore.cli.simulate", "simulate"),
    ("hedgecore.cli.optimize", "optimize"),
    ("hedgecore.cli.sweep", "sweep"),
    ("hedgecore.cli.quote", "quote"),
    ("hedgecore.cli.mmsim", "mmsim"),
)


def _build_app() -> "typer.Typer":
    application = typer.Typer(
        name="hedgecore",
        help="Greeks, hedge bands and hedge recommendations for crypto options books "
             "(linear and coin-settled). Exit codes: 0 ok, 1 hedge due or limit breached (check), "
             "2 bad input or usage, 3 internal error, "
             "4 market data or positions unavailable from a venue, "
             "5 the journal cannot be used, "
             "130/143 stopped by SIGINT/SIGTERM.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain help: typer 0.29's rich panels print "<bool>" after every flag (--debug,
        # even --help), as if it took a value; the plain layout shows flags as flags.
        rich_markup_mode=None,
        context_settings={"max_content_width": 100},
    )

    @application.callback()
    def main(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="Print hedgecore's version and exit."),
    ) -> None:
        """hedgecore: risk-officer commands over portfolio, market and policy YAML files."""

    for module_name, attribute in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue  # a build without some command modules still serves the others
        command = getattr(module, attribute)
        if isinstance(command, typer.Typer):
            application.add_typer(command)
        else:
            application.command()(command)
    return application


def _missing_dependencies() -> list[str]:
    """The CLI's third-party packages that are not installed (by their PyPI names)."""
    names = {"typer": "typer", "rich": "rich", "yaml": "PyYAML"}
    return [pypi for module, pypi in names.items() if importlib.util.find_spec(module) is None]


app: "typer.Typer | None"
try:
    app = _build_app()
except ImportError:
    if not _missing_dependencies():
        raise
    app = None  # run() explains what to install


def run() -> None:
    """Console-script entry point; a missing CLI dependency gives a one-line install hint."""
    missing = _missing_dependencies()
    if missing:
        sys.stderr.write(f"hedgecore: error: the command line needs {', '.join(missing)}; "
                         f"install it with: python -m pip install {' '.join(missing)}\n")
        sys.exit(2)
    assert app is not None
    # A command runs for well under a second and allocates a large, acyclic object graph
    # (the YAML node tree of a big book): cyclic GC passes over it would cost more than
    # all the pricing. Reference counting still frees everything.
    gc.disable()
    sys.exit(invoke(sys.argv[1:]))


def invoke(args: list[str]) -> int:
    """Run one command line and return its exit code.

    Every failure ends as one `hedgecore: error: <message>` line on stderr: usage errors
    (exit 2) included, which click would draw as a usage box. `check --format json` also
    prints {"status": "error", "exit_code": ..., "error": ...} on stdout for them. SIGINT
    and SIGTERM stop any command within a second (exit 130 and 143). A numpy overflow
    warning is an error (exit 2), never a line of noise on stderr.
    """
    import warnings

    from hedgecore.cli._errors import EXIT_BAD_INPUT, Interrupted, one_line, report_error

    assert app is not None
    command = typer.main.get_command(app)
    json_errors = _check_wants_json(args)

    def fail(code: int, message: str, raw: bool = False) -> int:
        message = one_line(message)
        document = json.dumps({"status": "error", "exit_code": code, "error": message}, indent=2) + "\n"
        if raw:
            # from the signal watcher: plain writes, no lock the main thread may hold
            if json_errors:
                os.write(1, document.encode())
            os.write(2, f"hedgecore: error: {message}\n".encode())
            return code
        if json_errors:
            sys.stdout.write(document)
            sys.stdout.flush()
        report_error(message)
        return code

    with _stop_on_signals(fail) as stopped:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                outcome = command.main(args=args, prog_name="hedgecore", standalone_mode=False)
            return outcome if isinstance(outcome, int) else 0
        except Interrupted as interruption:
            if not stopped.acquire(blocking=False):
                threading.Event().wait(SIGNAL_GRACE_SECONDS * 4)  # the watcher reports and exits
            return fail(interruption.exit_code, interruption.message)
        except typer.Abort:
            return fail(1, "aborted")
        except typer.TyperException as error:  # click's usage errors (the vendored click's base)
            context = getattr(error, "ctx", None)
            if not args and context is not None:
                # bare `hedgecore`: the help, as before (exit 2)
                sys.stdout.write(context.get_help() + "\n")
                return EXIT_BAD_INPUT
            code = int(getattr(error, "exit_code", EXIT_BAD_INPUT))
            message = error.format_message()
            if context is not None and code == EXIT_BAD_INPUT:
                message += f" (see '{context.command_path} --help')"
            return fail(code, message)


def _check_wants_json(args: list[str]) -> bool:
    """Whether the command line is `check` asking for JSON (-f json, --format=json, ...),
    read from the raw arguments so that it holds for a line click refuses."""
    if "check" not in args:
        return False
    chosen = None
    rest = args[args.index("check") + 1:]
    for position, argument in enumerate(rest):
        if argument == "--":
            break
        if argument in ("--format", "-f"):
            chosen = rest[position + 1] if position + 1 < len(rest) else None
        elif argument.startswith("--format="):
            chosen = argument.split("=", 1)[1]
        elif argument.startswith("-f") and not argument.startswith("--"):
            chosen = argument[2:].lstrip("=")
    return chosen is not None and chosen.strip().lower() == "json"


# How long the main thread gets to unwind after a signal before the process stops from the
# signal-watching thread (the main thread may be inside a compiled loop that holds no GIL).
SIGNAL_GRACE_SECONDS = 0.5


@contextmanager
def _stop_on_signals(fail: Callable[[int, str, bool], int]) -> Iterator[threading.Lock]:
    """SIGINT and SIGTERM raise Interrupted in the main thread (temporary output files are
    removed as it unwinds; outputs are only ever renamed into place once complete). A
    watcher thread reads the signal numbers Python's C handler writes to a pipe: if the
    main thread has not finished SIGNAL_GRACE_SECONDS later (a long compiled call), the
    watcher prints the same one line and ends the process with 128 + the signal number.
    Whoever reports first holds the yielded lock (the main thread takes it to report)."""
    from hedgecore.cli._errors import EXIT_SIGINT, EXIT_SIGTERM, Interrupted

    stopped = threading.Lock()
    if threading.current_thread() is not threading.main_thread():
        yield stopped  # signal handlers belong to the main thread
        return
    codes = {signal.SIGINT: ("SIGINT", EXIT_SIGINT), signal.SIGTERM: ("SIGTERM", EXIT_SIGTERM)}

    def handler(number: int, frame: FrameType | None) -> None:
        name, code = codes[signal.Signals(number)]
        raise Interrupted(name, code)

    previous = {number: signal.signal(number, handler) for number in codes}
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            try:
                received = os.read(read_end, 1)
            except OSError:
                return
            if not received:
                return  # the command finished: the write end is closed
            try:
                name, code = codes[signal.Signals(received[0])]
            except (KeyError, ValueError):
                continue
            if finished.wait(SIGNAL_GRACE_SECONDS) or not stopped.acquire(blocking=False):
                return  # the command ended, or the main thread is reporting the signal
            fail(code, Interrupted(name, code).message, True)
            os._exit(code)

    finished = threading.Event()
    watcher = threading.Thread(target=watch, name="hedgecore-signals", daemon=True)
    watcher.start()
    try:
        yield stopped
    finally:
        finished.set()
        signal.set_wakeup_fd(previous_wakeup)
        for number, old in previous.items():
            signal.signal(number, old)
        os.close(write_end)
        watcher.join(timeout=1.0)
        os.close(read_end)


if __name__ == "__main__":  # pragma: no cover
    run()
