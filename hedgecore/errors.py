"""Errors raised by hedgecore's book, market and policy library, and the checked readers
that produce them.

The library builds its objects from plain dicts and lists (what a YAML or JSON file decodes
to) and never imports a file format. When a value is wrong it raises `ConfigError` with the
*field path* of the value (``positions[3].strike``) and the document it came from
(``"portfolio"``, ``"market"`` or ``"policy"``); the CLI turns the path into a file and a
line number. The small readers below (`Fields`, `check_keys`, ...) are the one place where
a dict becomes validated numbers, so every message reads the same way.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn


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
        """`path: message (did you mean 'x'?)` without the file name."""
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


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


def join_path(parent: str, key: str | int) -> str:
    """``join_path("positions", 3) == "positions[3]"``, ``join_path("a", "b") == "a.b"``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def suggest(key: str, allowed: Iterable[str]) -> str | None:
    """The closest allowed key to a misspelt one, or None."""
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
        return str(value)

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str:
        options = list(choices)
        value = self.text(key, default).strip().lower()
        if value not in options:
            known = ", ".join(options)
            self.fail_at(self.sub(key), f"must be one of {known}, got '{value}'", suggest(value, options))
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
    """A finite float from a YAML number (NaN, infinities, text and booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                parsed = float(value.replace("_", ""))
            except ValueError:
                parsed = None
            if parsed is not None and math.isfinite(parsed):
                return parsed
        raise ConfigError(path, f"must be a number, got {_describe(value)}", document=document)
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(path, f"must be a finite number, got {_fmt(number)}", document=document)
    return number


def parse_timestamp(value: Any, path: str, document: str) -> datetime:
    """An aware UTC datetime from an ISO-8601 string, a date or a datetime (UTC if no zone).

    A bare date means 08:00 UTC, the daily expiry and settlement time of Deribit, Bybit,
    OKX and Binance options.
    """
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
            raise ConfigError(path, f"must be an ISO-8601 time such as 2026-12-27T08:00:00Z, got '{value}'",
                              document=document) from None
    else:
        raise ConfigError(path, f"must be an ISO-8601 time, got {_describe(value)}", document=document)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: Any, path: str, document: str) -> timedelta:
    """A duration from text such as ``30m``, ``8h``, ``1d`` or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = text.lstrip("0123456789.").strip()
        amount = text[: len(text) - len(unit)].strip() if unit else text
        try:
            seconds = float(amount) * _DURATION_UNITS[unit or "s"]
        except (KeyError, ValueError):
            raise ConfigError(path, f"must be a duration such as 30m, 8h or 1d, got '{value}'",
                              document=document) from None
    else:
        raise ConfigError(path, f"must be a duration such as 30m, 8h or 1d, got {_describe(value)}",
                          document=document)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(path, f"must be a non-negative duration, got '{value}'", document=document)
    return timedelta(seconds=seconds)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, (int, str)):
        return repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
