"""Errors to one-line messages and exit codes, in a single table of exception types.

Exit codes (README "Exit codes"): 0 ok; 1 a hedge is due or a limit is breached (check);
2 bad input or usage (a file, a field, an option); 3 an unexpected internal error (a bug:
please report it with the --debug traceback). A message goes to stderr: a red panel when
stderr is a terminal, a plain line otherwise; --debug or HEDGECORE_DEBUG=1 adds the
traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer

from hedgecore.cli._yaml import InputFileError, LineMap
from hedgecore.cluster.client import ClusterUnavailable
from hedgecore.errors import ConfigError, InputError, JournalError, NumericalError, VenueError

EXIT_OK = 0
EXIT_ACTION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
# market data or positions unavailable from a venue, or the --cluster scheduler unreachable
EXIT_UNAVAILABLE = 4
# Stopped by a signal: 128 + the signal number, as a shell reports a process it killed.
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

# The longest message printed, in characters: whatever an input echoes, an error stays a line.
MAX_MESSAGE_CHARS = 1000


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwind (temporary files are removed on the way) and exit
    with 128 + the signal number. A BaseException, so that no `except Exception` keeps it."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code

    @property
    def message(self) -> str:
        return f"interrupted by {self.signal_name}: stopped, no output written"


def one_line(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`message` as one printable line of at most `limit` characters.

    Line breaks, terminal escapes, NUL and every other non-printable character (lone
    surrogates from undecodable bytes, bidirectional overrides, U+2028) are written as
    Python escapes (\\n, \\x1b, \\u2028); a longer message is cut with a note of how much.
    """
    parts: list[str] = []  # one piece per character of the message, escaped
    size = 0
    for character in message:
        piece = character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
        if size + len(piece) > limit:
            note = ""
            while parts and (not note or size + len(note) > limit):
                size -= len(parts.pop())
                note = f"... ({len(message) - len(parts):,} more characters)"
            parts.append(note)
            break
        parts.append(piece)
        size += len(piece)
    return "".join(parts)


@dataclass
class Sources:
    """Which file each document came from, with its line map (filled as files load)."""

    maps: dict[str, LineMap] = field(default_factory=dict)

    def locate(self, error: ConfigError) -> str:
        line_map = self.maps.get(error.document)
        if line_map is None:
            return error.describe()
        line = line_map.line_of(error.path)
        where = f"{line_map.filename}:{line}" if line is not None else line_map.filename
        return f"{where}: {error.describe()}"


def _config(error: BaseException, sources: Sources) -> str:
    assert isinstance(error, ConfigError)
    return sources.locate(error)


def _plain(error: BaseException, sources: Sources) -> str:
    return str(error)


def _numerical(error: BaseException, sources: Sources) -> str:
    return f"cannot compute: {error}"


def _value(error: BaseException, sources: Sources) -> str:
    return f"bad input: {error}"


def _warning(error: BaseException, sources: Sources) -> str:
    return (f"cannot compute: the numbers overflowed ({error}); an input is out of any plausible "
            "range (a vol, drift, horizon, price or size far too large or too small)")


def _overflow(error: BaseException, sources: Sources) -> str:
    return f"bad input: a number is too large ({error})"


def _os_error(error: BaseException, sources: Sources) -> str:
    assert isinstance(error, OSError)
    name = f" {error.filename}" if error.filename else ""
    return f"cannot write{name}: {error.strerror or error}"


# The single table: exception type -> (exit code, one-line message). First match wins.
ERROR_TABLE: list[tuple[type[BaseException], int, Callable[[BaseException, Sources], str]]] = [
    (InputFileError, EXIT_BAD_INPUT, _plain),
    (InputError, EXIT_BAD_INPUT, _plain),
    (VenueError, EXIT_UNAVAILABLE, _plain),
    (ClusterUnavailable, EXIT_UNAVAILABLE, _plain),  # the --cluster scheduler unreachable
    (JournalError, JournalError.EXIT_CODE, _plain),  # the journal unusable (exit 5)
    (ConfigError, EXIT_BAD_INPUT, _config),
    (NumericalError, EXIT_BAD_INPUT, _numerical),
    (OSError, EXIT_BAD_INPUT, _os_error),
    (ValueError, EXIT_BAD_INPUT, _value),
    # numpy's overflow warnings, turned into errors by the command line (cli/main.py): the
    # last guard behind the range checks of the readers
    (RuntimeWarning, EXIT_BAD_INPUT, _warning),
    (OverflowError, EXIT_BAD_INPUT, _overflow),
]


def debug_enabled(flag: bool) -> bool:
    return flag or os.environ.get("HEDGECORE_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def classify(error: BaseException, sources: Sources) -> tuple[int, str]:
    for kind, code, describe in ERROR_TABLE:
        if isinstance(error, kind):
            return code, describe(error, sources)
    return EXIT_INTERNAL, (f"internal error: {type(error).__name__}: {error} "
                           "(a bug in hedgecore: rerun with --debug and report the traceback)")


def report_error(message: str) -> None:
    """One line on stderr (control characters escaped, length bounded); a red panel when
    stderr is a terminal."""
    message = one_line(message)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.panel import Panel

        Console(stderr=True).print(Panel(message, title="hedgecore: error", border_style="red",
                                         title_align="left"), markup=False)
    else:
        sys.stderr.write(f"hedgecore: error: {message}\n")


@contextmanager
def guarded(debug: bool, sources: Sources,
            on_error: Callable[[int, str], object] | None = None) -> Iterator[None]:
    """Run a command body; turn any error into its message and exit code (typer.Exit)."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - the table above decides what each means
        code, message = classify(error, sources)
        message = one_line(message)
        if debug_enabled(debug):
            import traceback

            traceback.print_exc(file=sys.stderr)
        report_error(message)
        if on_error is not None:
            on_error(code, message)
        raise typer.Exit(code) from None
