"""The venue layer's common parts: the error type, the HTTP client and payload readers.

A venue module (deribit.py, bybit.py) turns a venue's public answers into a plain market
document in the schema of hedgecore.market (and private answers into a portfolio document),
so that a snapshot can be written to YAML, read back by the ordinary parsers and valued the
same way. This module holds what every venue shares:

- `VenueError` (defined in hedgecore.errors): market data or positions unavailable (the
  CLI's exit code 4), naming the venue, the endpoint and the reason. Its text never holds
  a credential: the client redacts every secret it was given from reasons and keeps query
  strings (which may carry them) out.
- `HttpClient`: the standard library's http.client over one connection reused for every
  call. The standard library keeps `import hedgecore` and `check` light (requests or httpx
  would add 30-100 ms and a dependency for a handful of GETs). Connect and read timeouts,
  retries with exponential backoff and full jitter on timeouts, dropped connections, 429 and
  5xx (a Retry-After is honoured), never on other 4xx answers, and the whole fetch bounded by
  a deadline: no socket wait ever outlasts the time left.
- `PayloadReader`: checked access to a payload's rows, raising VenueError naming the
  instrument and the field (missing, a string for a number, NaN, a negative price).
"""

from __future__ import annotations

import http.client
import json
import math
import random
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hedgecore.errors import VenueError as VenueError  # re-exported: the venue modules raise it

MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0
USER_AGENT = "hedgecore (risk snapshot)"


class _Retryable(Exception):
    """One attempt failed in a way a later attempt may not (timeout, 429, 5xx, reset)."""

    def __init__(self, reason: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


@dataclass
class Deadline:
    """The time left for a whole fetch (monotonic clock)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; an HTTP date is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class HttpClient:
    """GET and POST JSON over one reused HTTP(S) connection, bounded by a deadline.

    base_url : "https://www.deribit.com" or a test server's "http://127.0.0.1:PORT".
    timeout_seconds : bound on the whole fetch, every call and retry included.
    started : time.monotonic() when that bound began (default now): a command that fetches
        positions and then the market gives both clients the same start, one budget.
    """

    def __init__(self, venue: str, base_url: str, timeout_seconds: float, *,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                 read_timeout: float = READ_TIMEOUT_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS,
                 backoff_base: float = BACKOFF_BASE_SECONDS, started: float | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise VenueError(venue, "-", f"base URL must be http(s)://host[:port], got '{base_url}'")
        if not (timeout_seconds > 0 and math.isfinite(timeout_seconds)):
            raise VenueError(venue, "-", f"timeout must be > 0 seconds, got {timeout_seconds}")
        self.venue = venue
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self.deadline = Deadline(timeout_seconds) if started is None else Deadline(timeout_seconds, started)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._connection: http.client.HTTPConnection | None = None
        self._secrets: list[str] = []
        self.connections_opened = 0
        self.requests_sent = 0

    # -- secrets -----------------------------------------------------------------------------
    def add_secret(self, secret: str) -> None:
        """A value (a client secret, a token) that no error text may ever contain."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, endpoint: str, reason: str) -> VenueError:
        return VenueError(self.venue, endpoint, self.redact(reason))

    # -- connection --------------------------------------------------------------------------
    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._scheme == "https":
                self._connection = http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
            else:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._connection.connect()
            self.connections_opened += 1
        return self._connection

    def _time_left(self, endpoint: str, attempts: int, last_reason: str) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            after = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
            detail = f" ({last_reason})" if last_reason else ""
            raise self.error(endpoint, f"timed out: the fetch took longer than its "
                             f"{self.deadline.seconds:g} s budget{after}{detail}")
        return remaining

    def _attempt(self, method: str, target: str, body: bytes | None,
                 headers: Mapping[str, str], endpoint: str) -> Response:
        remaining = self._time_left(endpoint, 0, "")
        try:
            connection = self._connect(min(self.connect_timeout, remaining))
            assert connection.sock is not None
            connection.sock.settimeout(min(self.read_timeout, self._time_left(endpoint, 0, "")))
            all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
            if body is not None:
                all_headers["Content-Type"] = "application/json"
            self.requests_sent += 1
            connection.request(method, target, body=body, headers=all_headers)
            answer = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                # Each read waits at most the time left: a server that drips bytes cannot
                # stretch the fetch beyond its deadline.
                if connection.sock is not None:
                    connection.sock.settimeout(min(self.read_timeout, self._time_left(endpoint, 0, "")))
                chunk = answer.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    self.close()
                    raise self.error(endpoint, f"answer larger than {MAX_RESPONSE_BYTES // 2**20} MB")
                chunks.append(chunk)
            declared = answer.getheader("Content-Length")
            if declared is not None and declared.strip().isdigit() and size < int(declared):
                # http.client's read(amt) returns what came before the peer closed, silently.
                self.close()
                raise _Retryable("connection dropped mid-answer")
            if answer.will_close:
                self.close()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, b"".join(chunks))
        except TimeoutError:
            self.close()
            raise _Retryable("no answer within the read timeout") from None
        except http.client.IncompleteRead:
            self.close()
            raise _Retryable("connection dropped mid-answer") from None
        except (ConnectionError, http.client.HTTPException, OSError) as failure:
            self.close()
            raise _Retryable(f"connection failed ({type(failure).__name__})") from None

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None,
                endpoint: str | None = None) -> Response:
        """One call with retries; a Response whose status is 2xx or a non-retryable 4xx."""
        name = endpoint or path
        target = self._prefix + path
        if params:
            target += "?" + urllib.parse.urlencode(params)
        body = None if json_body is None else json.dumps(json_body).encode("utf-8")
        last_reason = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._attempt(method, target, body, headers or {}, name)
            except _Retryable as failure:
                last_reason, retry_after = failure.reason, failure.retry_after_seconds
            else:
                if response.status == 429 or response.status >= 500:
                    last_reason = f"HTTP {response.status}"
                    retry_after = _retry_after(response.headers.get("retry-after"))
                    if response.status == 429:
                        last_reason = "rate limited (HTTP 429)"
                else:
                    return response
            if attempt == self.max_attempts:
                break
            self._sleep_before_retry(attempt, retry_after, name, last_reason)
        raise self.error(name, f"{last_reason} after {self.max_attempts} attempts")

    def _sleep_before_retry(self, attempt: int, retry_after: float | None, endpoint: str, reason: str) -> None:
        # Full jitter (AWS architecture blog, "Exponential backoff and jitter"): spreads the
        # retries of many cron jobs started at the same second.
        wait = random.uniform(0.0, min(BACKOFF_CAP_SECONDS, self.backoff_base * 2 ** (attempt - 1)))
        if retry_after is not None:
            wait = max(wait, retry_after)
        remaining = self._time_left(endpoint, attempt, reason)
        if wait >= remaining:
            raise self.error(endpoint, f"{reason}; the next attempt (in {wait:g} s) would pass the "
                             f"{self.deadline.seconds:g} s budget")
        time.sleep(wait)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 headers: Mapping[str, str] | None = None, endpoint: str | None = None) -> tuple[int, Any]:
        response = self.request("GET", path, params=params, headers=headers, endpoint=endpoint)
        return response.status, self.decode(response, endpoint or path)

    def post_json(self, path: str, body: Any, *, endpoint: str | None = None) -> tuple[int, Any]:
        response = self.request("POST", path, json_body=body, endpoint=endpoint)
        return response.status, self.decode(response, endpoint or path)

    def decode(self, response: Response, endpoint: str) -> Any:
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            snippet = response.body[:60].decode("utf-8", "replace")
            raise self.error(endpoint, f"malformed JSON in the answer (HTTP {response.status}, "
                             f"{len(response.body)} bytes, starting {snippet!r})") from None


class PayloadReader:
    """Checked reads of one venue row, naming the instrument and field in every error."""

    def __init__(self, client_venue: str, endpoint: str) -> None:
        self.venue = client_venue
        self.endpoint = endpoint

    def fail(self, instrument: str, field_name: str, problem: str) -> VenueError:
        return VenueError(self.venue, self.endpoint, f"{instrument}: {field_name} {problem}")

    def number(self, row: Mapping[str, Any], instrument: str, key: str, *,
               optional: bool = False, minimum: float | None = None, decimal_text: bool = False) -> float | None:
        """A finite number (None if optional and absent/null); `decimal_text` accepts "1.5"."""
        value = row.get(key)
        if value is None:
            if optional:
                return None
            raise self.fail(instrument, key, "is missing")
        if decimal_text and isinstance(value, str):
            if value.strip() == "" and optional:
                return None
            try:
                value = float(value)
            except ValueError:
                raise self.fail(instrument, key, f"must be a number, got the text {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "text" if isinstance(value, str) else type(value).__name__
            raise self.fail(instrument, key, f"must be a number, got the {kind} {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(instrument, key, f"must be finite, got {number}")
        if minimum is not None and number < minimum:
            raise self.fail(instrument, key, f"must be >= {minimum:g}, got {number:g}")
        return number

    def required(self, row: Mapping[str, Any], instrument: str, key: str, *,
                 minimum: float | None = None, decimal_text: bool = False) -> float:
        value = self.number(row, instrument, key, minimum=minimum, decimal_text=decimal_text)
        assert value is not None
        return value

    def text(self, row: Mapping[str, Any], instrument: str, key: str) -> str:
        value = row.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(instrument, key, "is missing" if value is None else f"must be text, got {value!r}")
        return value

    def rows(self, result: Any, key: str | None = None) -> list[Mapping[str, Any]]:
        """The list of row mappings of a result (or of result[key])."""
        listing = result.get(key) if key is not None and isinstance(result, Mapping) else result
        if not isinstance(listing, list):
            where = f"result.{key}" if key else "result"
            raise VenueError(self.venue, self.endpoint, f"{where} must be a list of instruments")
        for position, row in enumerate(listing):
            if not isinstance(row, Mapping):
                raise VenueError(self.venue, self.endpoint, f"result row {position} must be an object")
        return listing


@dataclass
class Snapshot:
    """A venue snapshot: the document (market or portfolio schema) and what was left out.

    excluded : (instrument, reason) for rows the venue listed but hedgecore did not use, e.g.
        an option with no mark IV or a crossed quote; reported, never dropped silently.
    """

    document: dict[str, Any]
    excluded: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Session:
    """One command's signed-in state at a venue: an access token obtained once and reused by
    the command's later calls (the positions, then the trade history the journal reads),
    until `expires_at` (time.monotonic() seconds). Held in memory only: never written,
    logged or shown, and every client that sends it registers it as a secret first."""

    token: str | None = None
    refresh_token: str | None = None
    expires_at: float = 0.0

    def valid_token(self, margin_seconds: float = 60.0) -> str | None:
        """The token if it stays valid for `margin_seconds` more, else None."""
        import time

        if self.token is not None and time.monotonic() + margin_seconds < self.expires_at:
            return self.token
        return None
