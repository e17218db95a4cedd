"""The checked readers: where a decoded YAML document (plain dicts and lists) becomes
validated numbers, texts, times and durations, and where an input file's bytes are read.

`Fields` gives checked access to one mapping of a document; `check_keys`, `finite_number`,
`parse_timestamp`, `parse_duration` and `check_text` check single values. Every failure is
a `ConfigError` with the field path of the value and the document it came from, so every
message reads the same way and the CLI can turn the path into a file and a line number.
`read_input_file` and `decode_input_text` read the bytes of an input file with bounded
memory and time (the CLI's YAML reader and the historical price CSV reader both use them)
and raise `InputError` naming the file.
"""

from __future__ import annotations

import difflib
import math
import os
import select
import stat
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn

from hedgecore.errors import (
    _UNPRINTABLE,  # the characters check_text refuses are those escape_text escapes
    MAX_SHOWN_CHARS,
    ConfigError,
    InputError,
    _escape_char,
    show_text,
)

# Bounds on what a document may hold, documented in the README ("Input limits").
MAX_TEXT_CHARS = 1000           # characters of a text field (names, ids, books, paths)
MIN_YEAR, MAX_YEAR = 1970, 2200  # valuation times, expiries, last hedge times
MAX_DURATION = timedelta(days=36525)   # 100 years of 365.25 days


def join_path(parent: str, key: str | int) -> str:
    """``join_path("positions", 3) == "positions[3]"``, ``join_path("a", "b") == "a.b"``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def suggest(key: str, allowed: Iterable[str]) -> str | None:
    """The closest allowed key to a misspelt one, or None."""
    if len(str(key)) > 4 * MAX_SHOWN_CHARS:
        return None
    matches = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    return matches[0] if matches else None


class Fields:
    """Checked access to one mapping of a document.

    >>> f = Fields({"strike": -5}, "positions[3]", "portfolio", allowed={"strike"})
    >>> f.positive("strike")
    Traceback (most recent call last):
    ...
    hedgecore.errors.ConfigError: positions[3].strike: must be > 0, got -5
    """

    def __init__(self, data: Any, path: str, document: str, *,
                 allowed: Iterable[str] | None = None) -> None:
        self.path = path
        self.document = document
        if not isinstance(data, Mapping):
            self.fail_at(path, f"must be a mapping of keys to values, got {_describe(data)}")
        self.data: Mapping[str, Any] = data
        if allowed is not None:
            check_keys(data, allowed, path, document)

    # -- failures -------------------------------------------------------------------------
    def fail_at(self, path: str, message: str, suggestion: str | None = None) -> NoReturn:
        raise ConfigError(path, message, document=self.document, suggestion=suggestion)

    def fail(self, key: str, message: str) -> NoReturn:
        self.fail_at(join_path(self.path, key), message)

    def sub(self, key: str) -> str:
        return join_path(self.path, key)

    # -- presence -------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    def required(self, key: str) -> Any:
        if not self.has(key):
            self.fail_at(self.path, f"missing required key '{key}'")
        return self.data[key]

    # -- typed readers --------------------------------------------------------------------
    def number(self, key: str, default: float | None = None) -> float:
        if not self.has(key):
            if default is None:
                self.required(key)
            return float(default)  # type: ignore[arg-type]
        return finite_number(self.data[key], self.sub(key), self.document)

    def positive(self, key: str, default: float | None = None) -> float:
        value = self.number(key, default)
        if not value > 0.0:
            self.fail(key, f"must be > 0, got {_fmt(value)}")
        return value

    def non_negative(self, key: str, default: float | None = None) -> float:
        value = self.number(key, default)
        if value < 0.0:
            self.fail(key, f"must be >= 0, got {_fmt(value)}")
        return value

    def optional_number(self, key: str) -> float | None:
        return self.number(key) if self.has(key) else None

    def optional_non_negative(self, key: str) -> float | None:
        return self.non_negative(key) if self.has(key) else None

    def text(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            if default is None:
                self.required(key)
            return default  # type: ignore[return-value]
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, f"must be text, got {_describe(value)}")
        if isinstance(value, str):
            check_text(value, self.sub(key), self.document)
        return str(value)

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str:
        options = list(choices)
        value = self.text(key, default).strip().lower()
        if value not in options:
            known = ", ".join(options)
            self.fail_at(self.sub(key), f"must be one of {known}, got {show_text(value)}", suggest(value, options))
        return value

    def boolean(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {_describe(value)}")
        return value

    def timestamp(self, key: str, default: datetime | None = None) -> datetime:
        if not self.has(key):
            if default is None:
                self.required(key)
            return default  # type: ignore[return-value]
        return parse_timestamp(self.data[key], self.sub(key), self.document)

    def duration(self, key: str, default: timedelta) -> timedelta:
        if not self.has(key):
            return default
        return parse_duration(self.data[key], self.sub(key), self.document)

    def mapping(self, key: str, *, required: bool = False) -> Mapping[str, Any]:
        if not self.has(key):
            if required:
                self.required(key)
            return {}
        value = self.data[key]
        if not isinstance(value, Mapping):
            self.fail(key, f"must be a mapping, got {_describe(value)}")
        return value

    def sequence(self, key: str, *, required: bool = False) -> list[Any]:
        if not self.has(key):
            if required:
                self.required(key)
            return []
        value = self.data[key]
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {_describe(value)}")
        return value


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str, document: str) -> None:
    """Refuse keys that are not in `allowed`, suggesting the closest allowed one."""
    known = allowed if isinstance(allowed, (frozenset, set, tuple)) else tuple(allowed)
    if len(data) <= len(known) and all(key in known for key in data):
        return
    known = tuple(known)
    for key in data:
        if key not in known:
            where = join_path(path, str(key))
            raise ConfigError(where, "unknown key", document=document, suggestion=suggest(str(key), known))


def finite_number(value: Any, path: str, document: str) -> float:
    """A finite float from a YAML number (NaN, infinities, text and booleans refused).

    Text that reads as a finite number (``"96500"``, ``"1_000"``) is accepted; ``"nan"``,
    ``"inf"``, ``"1e400"`` (infinite as a float) and ``"0x10"`` are not. Integers too large
    for a float (``10**400``) are refused instead of raising OverflowError.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and len(value) <= 100:
            try:
                parsed = float(value.replace("_", ""))
            except ValueError:
                parsed = None
            if parsed is not None and math.isfinite(parsed):
                return parsed
            if parsed is not None:
                raise ConfigError(path, f"must be a finite number, got {show_text(value)}", document=document)
        raise ConfigError(path, f"must be a number, got {_describe(value)}", document=document)
    try:
        number = float(value)
    except OverflowError:
        raise ConfigError(path, f"must be a finite number, got {_describe(value)}", document=document) from None
    if not math.isfinite(number):
        raise ConfigError(path, f"must be a finite number, got {_fmt(number)}", document=document)
    return number


def parse_timestamp(value: Any, path: str, document: str) -> datetime:
    """An aware UTC datetime from an ISO-8601 string, a date or a datetime (UTC if no zone).

    A bare date means 08:00 UTC, the daily expiry and settlement time of Deribit, Bybit,
    OKX and Binance options. Times must fall in the years MIN_YEAR to MAX_YEAR in UTC (a
    desk's valuation times and expiries do; the bound keeps every sum of a time and a
    duration inside Python's calendar).
    """
    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, 8, 0)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day, 8, 0)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ConfigError(path, f"must be an ISO-8601 time such as 2026-12-27T08:00:00Z, got {show_text(value)}",
                              document=document) from None
    else:
        raise ConfigError(path, f"must be an ISO-8601 time, got {_describe(value)}", document=document)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    else:
        try:
            moment = moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):   # 9999-12-31T23:00-05:00 is past year 9999 in UTC
            moment = None
    if moment is None or not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ConfigError(path, f"must be a time between the years {MIN_YEAR} and {MAX_YEAR} (UTC), got "
                          f"{_describe(value)}", document=document)
    return moment


# Epoch seconds of the bounds of MIN_YEAR..MAX_YEAR, for times read from CSV rows.
_FIRST_SECOND = datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc).timestamp()
_END_SECOND = datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc).timestamp()


def csv_timestamp(text: str, filename: str, line: int, column: str = "timestamp") -> float:
    """Epoch seconds of one CSV cell: epoch seconds (milliseconds when above 1e11, as
    exchanges export them) or ISO 8601 (UTC when no zone is given), in the years MIN_YEAR
    to MAX_YEAR. Raises InputError naming the file, line and column otherwise (never a
    NaN or infinite time)."""
    cell = text.strip()
    try:
        value = float(cell)
    except ValueError:
        try:
            moment = datetime.fromisoformat(cell.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(filename, line, f"{column} {show_text(cell)} is neither a number nor ISO 8601"
                             ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = moment.timestamp()
    else:
        if not math.isfinite(value):
            raise InputError(filename, line, f"{column} {show_text(cell)} must be a finite number")
        if value > 1e11:
            value /= 1000.0
    if not _FIRST_SECOND <= value < _END_SECOND:
        raise InputError(filename, line, f"{column} {show_text(cell)} is not a time between the years "
                         f"{MIN_YEAR} and {MAX_YEAR} (UTC)")
    return value


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: Any, path: str, document: str) -> timedelta:
    """A duration from text such as ``30m``, ``8h``, ``1d`` or a number of seconds; at most
    MAX_DURATION (100 years: longer is a typo, and would overflow Python's timedelta)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = text.lstrip("0123456789.").strip()
        amount = text[: len(text) - len(unit)].strip() if unit else text
        try:
            seconds = float(amount) * _DURATION_UNITS[unit or "s"]
        except (KeyError, ValueError):
            raise ConfigError(path, f"must be a duration such as 30m, 8h or 1d, got {show_text(value)}",
                              document=document) from None
    else:
        raise ConfigError(path, f"must be a duration such as 30m, 8h or 1d, got {_describe(value)}",
                          document=document)
    if math.isnan(seconds) or seconds < 0:
        raise ConfigError(path, f"must be a non-negative duration, got {_describe(value)}", document=document)
    if seconds > MAX_DURATION.total_seconds():
        raise ConfigError(path, f"must be at most 100 years, got {_describe(value)}", document=document)
    return timedelta(seconds=seconds)


def check_text(value: str, path: str, document: str, *, limit: int = MAX_TEXT_CHARS) -> None:
    """Refuse text with control characters (a newline in a name, a terminal escape) or
    longer than `limit` characters: such a name would break every table and log line."""
    if len(value) > limit:
        raise ConfigError(path, f"must be at most {limit:,} characters, got {show_text(value)}", document=document)
    match = _UNPRINTABLE.search(value)
    if match is not None:
        raise ConfigError(path, f"must not contain control characters ({_escape_char(match)}), got "
                          f"{show_text(value)}", document=document)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"


def _describe(value: Any) -> str:
    """A value as a message shows it: bounded (at most MAX_SHOWN_CHARS of text, huge
    integers by their number of digits) and escaped."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, int):
        if abs(value) < 10**15:
            return str(value)
        digits = int(math.log10(abs(value))) + 1
        return f"an integer of {digits:,} digits"
    if isinstance(value, str):
        return show_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    return type(value).__name__


MAX_INPUT_BYTES = 5 * 1024 * 1024     # a YAML document
STREAM_TIMEOUT_SECONDS = 10.0         # a pipe, FIFO or device must deliver all its data within


def read_input_file(path: str | os.PathLike[str], filename: str, *, max_bytes: int = MAX_INPUT_BYTES,
                    timeout_seconds: float = STREAM_TIMEOUT_SECONDS) -> bytes:
    """The bytes of an input file, read with bounded memory and time.

    A regular file larger than `max_bytes` is refused unread. Anything else (a pipe from
    ``<(...)``, a FIFO, a device) is read without blocking: at most `max_bytes` + 1 bytes
    (``/dev/zero`` is refused at the limit) and for at most `timeout_seconds` until its
    writer closes it (a FIFO nobody writes to is refused when the time is up). A
    directory is refused. Raises InputError naming `filename`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(filename, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(filename, None, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(filename, None, f"cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise InputError(filename, None, "is a directory, not a file")
        if stat.S_ISREG(status.st_mode):
            if status.st_size > max_bytes:
                raise _too_large(filename, status.st_size, max_bytes)
            data = _read_regular(descriptor, max_bytes)
        else:
            data = _read_stream(descriptor, filename, max_bytes, timeout_seconds)
    except OSError as exc:
        raise InputError(filename, None, f"cannot read: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:                       # grew while being read, or a /proc file
        raise _too_large(filename, None, max_bytes)
    return data


def _too_large(filename: str, size: int | None, max_bytes: int) -> InputError:
    limit = f"{max_bytes / 1048576:g} MiB"
    if size is None:
        return InputError(filename, None, f"more than {limit}, the limit for input files")
    return InputError(filename, None, f"file is {size / 1048576:.1f} MiB, over the {limit} limit for input files")


def _read_regular(descriptor: int, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while received <= max_bytes:
        chunk = os.read(descriptor, max_bytes + 1 - received)
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _read_stream(descriptor: int, filename: str, max_bytes: int, timeout_seconds: float) -> bytes:
    deadline = time.monotonic() + timeout_seconds
    received = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0.0:
            raise InputError(filename, None, f"no end of data within {timeout_seconds:g} s (a FIFO or "
                             "device nobody writes to?); input files must be complete")
        readable, _, _ = select.select([descriptor], [], [], remaining)
        if not readable:
            continue
        try:
            chunk = os.read(descriptor, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            return bytes(received)
        received += chunk
        if len(received) > max_bytes:
            raise _too_large(filename, None, max_bytes)


def decode_input_text(data: bytes, filename: str) -> str:
    """`data` as UTF-8 text (a leading byte-order mark dropped); a binary file (a NUL
    byte), UTF-16 or bytes that are not UTF-8 are refused with the line they are on."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(filename, None, "not UTF-8 text (UTF-16?): save the file as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(filename, data.count(b"\n", 0, nul) + 1, "binary file (a NUL byte), not UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(filename, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")
