"""Errors raised by hedgecore's book, market and policy library, and how a message shows
a value.

The library builds its objects from plain dicts and lists (what a YAML or JSON file decodes
to) and never imports a file format. When a value is wrong it raises `ConfigError` with the
*field path* of the value (``positions[3].strike``) and the document it came from
(``"portfolio"``, ``"market"`` or ``"policy"``); the CLI turns the path into a file and a
line number. The checked readers that raise them (`Fields`, `check_keys`, ...) are in
hedgecore.reading, the one place where a dict becomes validated numbers; they are
re-exported here for code that imports them from this module.

Every value a message echoes goes through `show_text` / `escape_text`: at most
MAX_SHOWN_CHARS characters, control characters escaped, so that a hostile file cannot make
an error line long or drive the terminal. `InputError` names an input file and line that
cannot be read (hedgecore.reading.read_input_file and the price CSV reader raise it).
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hedgecore.reading import (
        MAX_DURATION,
        MAX_INPUT_BYTES,
        MAX_TEXT_CHARS,
        MAX_YEAR,
        MIN_YEAR,
        STREAM_TIMEOUT_SECONDS,
        Fields,
        check_keys,
        check_text,
        decode_input_text,
        finite_number,
        join_path,
        parse_duration,
        parse_timestamp,
        read_input_file,
        suggest,
    )

# Bounds on what a document may hold, documented in the README ("Input limits").
MAX_SHOWN_CHARS = 60            # characters of a value echoed in a message


class HedgecoreError(Exception):
    """Base class of the errors hedgecore raises on purpose."""


class ConfigError(HedgecoreError, ValueError):
    """A value in a portfolio, market or policy document is missing or wrong.

    path : field path inside the document, e.g. ``positions[3].strike`` ("" for the whole
        document).
    message : what is wrong, e.g. ``must be > 0, got -5``.
    document : which input the path refers to: "portfolio", "market" or "policy".
    suggestion : a likely intended key for a misspelt one, or None.
    """

    def __init__(self, path: str, message: str, *, document: str = "",
                 suggestion: str | None = None) -> None:
        self.path = path
        self.message = message
        self.document = document
        self.suggestion = suggestion
        super().__init__(self.describe())

    def describe(self) -> str:
        """`path: message (did you mean 'x'?)` without the file name.

        The path may hold a key the user wrote (an unknown key of 100,000 characters, a key
        with a newline): it is shown bounded and escaped, like every echoed value.
        """
        path = escape_text(self.path, 3 * MAX_SHOWN_CHARS)
        message = escape_text(self.message, len(self.message))
        text = f"{path}: {message}" if self.path else message
        if self.suggestion:
            text += f" (did you mean {show_text(self.suggestion)}?)"
        return text


class InputError(HedgecoreError, ValueError):
    """An input file (a price CSV, a YAML document) cannot be read: its name, the 1-based
    line (None for the whole file) and what is wrong, read as ``prices.csv:17: message``.

    A ValueError, like ConfigError: a reader that finds the file through a key of another
    document (a simulation's ``model.csv``) reports both, ``sim.yaml:3: model.csv:
    prices.csv:17: price 'abc' is not a number``.
    """

    def __init__(self, filename: str, line: int | None, message: str) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        where = f"{filename}:{line}" if line is not None else filename
        super().__init__(f"{where}: {message}")


class NumericalError(HedgecoreError):
    """A computed figure came out NaN or infinite from inputs that passed validation.

    hedgecore never prints a trade computed from a NaN: it raises this instead, naming the
    position or underlying whose figures are not finite.
    """


class VenueError(HedgecoreError):
    """Market data or positions unavailable from a venue (the CLI's exit code 4): a network
    error, a timeout, HTTP 5xx, a rate limit still hit after retries, an error payload, a
    malformed or incomplete payload. Defined here, not in hedgecore.venues, so that the
    command line maps it to its exit code without importing the venue layer.

    venue : "deribit", "bybit", ...
    endpoint : the API method, e.g. "public/get_book_summary_by_currency" (never its query,
        which may carry a credential).
    reason : what went wrong, e.g. "HTTP 503 after 4 attempts" or
        "BTC-27DEC26-100000-C: mark_price must be >= 0, got -0.01".
    """

    def __init__(self, venue: str, endpoint: str, reason: str) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.reason = reason
        super().__init__(f"{venue} {endpoint}: {reason}")


class JournalError(HedgecoreError):
    """The journal (hedgecore.journal) cannot be opened, read or written: locked by another
    process past the busy timeout, corrupt, on a full disk, not a hedgecore journal, or
    written by a newer hedgecore. Here, not in hedgecore.journal, so that the command line
    maps it (exit code EXIT_CODE) without importing sqlite3 for --help.
    """

    EXIT_CODE = 5

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"journal {path}: {reason}")



# -- values in messages -----------------------------------------------------------------------
# Characters never echoed raw: C0 and C1 controls (a terminal acts on ESC sequences), line
# and paragraph separators, bidirectional overrides and the byte-order mark.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape_char(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]      # '\n', '\x1b', '\u202e'


def _bounded(text: str, limit: int) -> tuple[str, bool]:
    """At most `limit` characters of `text` with control characters escaped (an escape is
    never cut), and whether anything was left out."""
    head = text[:limit]
    if not _UNPRINTABLE.search(head):
        return head, len(text) > limit
    pieces: list[str] = []
    used = 0
    for char in head:
        piece = repr(char)[1:-1] if _UNPRINTABLE.match(char) else char
        if used + len(piece) > limit:
            return "".join(pieces), True
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces), len(text) > limit


def escape_text(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` for a one-line message: control characters escaped as Python writes them
    (``\\n``, ``\\x1b``), at most `limit` characters of it, and when some were left out
    ``...`` and the full length."""
    shown, cut = _bounded(text, limit)
    return f"{shown}... ({len(text):,} characters)" if cut else shown


def show_text(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` quoted for a message, bounded and escaped: ``'BTC-25DEC26\\n-C'``,
    ``'xxxx...' (100,000 characters)``."""
    shown, cut = _bounded(text, limit)
    return f"'{shown}...' ({len(text):,} characters)" if cut else f"'{shown}'"


def has_control_characters(text: str) -> bool:
    """True when `text` holds a character that escape_text would escape."""
    return _UNPRINTABLE.search(text) is not None



# The readers moved to hedgecore.reading, which imports the error types from here; they load
# on first use (PEP 562) so that neither module needs the other half-initialised.
_READERS = (
    "MAX_DURATION", "MAX_INPUT_BYTES", "MAX_TEXT_CHARS", "MAX_YEAR", "MIN_YEAR", "STREAM_TIMEOUT_SECONDS",
    "Fields", "check_keys", "check_text", "decode_input_text", "finite_number", "join_path",
    "parse_duration", "parse_timestamp", "read_input_file", "suggest",
)


def __getattr__(name: str) -> Any:
    if name in _READERS:
        return getattr(importlib.import_module("hedgecore.reading"), name)
    raise AttributeError(f"module 'hedgecore.errors' has no attribute {name!r}")


__all__ = [
    "MAX_DURATION",
    "MAX_INPUT_BYTES",
    "MAX_SHOWN_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_YEAR",
    "MIN_YEAR",
    "STREAM_TIMEOUT_SECONDS",
    "ConfigError",
    "Fields",
    "HedgecoreError",
    "InputError",
    "JournalError",
    "NumericalError",
    "VenueError",
    "check_keys",
    "check_text",
    "decode_input_text",
    "escape_text",
    "finite_number",
    "has_control_characters",
    "join_path",
    "parse_duration",
    "parse_timestamp",
    "read_input_file",
    "show_text",
    "suggest",
]
