"""Opening the journal and reading and writing its rows.

Concurrency: the file is in WAL mode (readers never wait for the writer), every connection
waits up to `timeout_seconds` for a lock (SQLite's busy handler), and every write is one
short `BEGIN IMMEDIATE` transaction, so twenty `check` processes started at the same moment
queue for the write lock for a few milliseconds each and all record their run. Every
sqlite3 or file-system failure becomes one JournalError naming the file: locked past the
timeout, corrupt or not a hedgecore journal, the disk full, written by a newer hedgecore.

Nothing private is stored: runs keep the documents' bytes (portfolio, market, policy: the
files the user passed, or what a venue returned for positions and market data; never a
credential, a header or an environment variable) and the plan's figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hedgecore.errors import JournalError
from hedgecore.journal.schema import APPLICATION_ID, SCHEMA_VERSION, from_text, migrate, to_iso, to_text

ENVIRONMENT_VARIABLE = "HEDGECORE_JOURNAL"
BUSY_TIMEOUT_SECONDS = 10.0
DOCUMENT_KINDS = ("portfolio", "market", "policy")
SIDES = ("buy", "sell")


def default_journal_path(environ: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """Where the journal lives without --journal: HEDGECORE_JOURNAL, else the platform's
    per-user data directory: $XDG_DATA_HOME (or ~/.local/share)/hedgecore/journal.sqlite on
    Linux and other Unix, ~/Library/Application Support/hedgecore/journal.sqlite on macOS,
    %LOCALAPPDATA%\\hedgecore\\journal.sqlite on Windows."""
    environ = dict(os.environ) if environ is None else environ
    platform = sys.platform if platform is None else platform
    chosen = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        local = environ.get("LOCALAPPDATA", "").strip()
        base = Path(local) if local else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "hedgecore" / "journal.sqlite"


@dataclass(frozen=True)
class Document:
    """An input document as the run saw it: its bytes and where they came from (a file
    path, or a venue's name for positions and market data read from a venue)."""

    kind: str
    data: bytes
    path: str | None = None
    venue: str | None = None

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> dict[str, str]:
        origin = {"path": self.path} if self.path is not None else {"venue": self.venue or "unknown"}
        return {**origin, "hash": self.hash}


@dataclass(frozen=True)
class UnderlyingRecord:
    """One underlying of a run: net delta (units of the underlying, the policy's measure;
    both measures beside it), gamma (USD per 1%), vega (USD per vol point), the band and how
    it was computed, the action, the recommended trades with their costs, the breaches."""

    underlying: str
    measure: str
    spot: float
    net_delta: float
    delta_usd_measure: float | None
    delta_coin_measure: float
    gamma_usd_1pct: float
    vega_usd: float
    band_lower: float
    band_upper: float
    band_method: str
    band_detail: str
    action: str
    reason: str
    trades: list[dict[str, Any]] = field(default_factory=list)
    breaches: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RunRecord:
    """A `check` or `hedge` run. at: wall clock (None: now); as_of: valuation time."""

    as_of: datetime
    command: str
    status: str
    exit_code: int
    documents: dict[str, Document]
    underlyings: list[UnderlyingRecord] = field(default_factory=list)
    book_breaches: list[dict[str, Any]] = field(default_factory=list)
    at: datetime | None = None


@dataclass(frozen=True)
class Fill:
    """An executed hedge: quantity in the instrument's contracts (> 0), price in the
    instrument's quote (USD per unit), fee in USD; source "manual" or a venue's name."""

    at: datetime
    underlying: str
    instrument: str
    side: str
    quantity: float
    price: float
    fee_usd: float = 0.0
    source: str = "manual"
    venue_trade_id: str | None = None


@dataclass(frozen=True)
class StoredRun:
    """A run read back with what it needs to revalue its book."""

    id: int
    at: datetime
    as_of: datetime
    command: str
    status: str
    inputs: dict[str, dict[str, str]]
    portfolio_hash: str | None
    market_hash: str | None
    policy_hash: str | None


def _describe_sqlite(error: BaseException, timeout_seconds: float) -> str:
    code = getattr(error, "sqlite_errorname", "") or ""
    text = str(error)
    lowered = text.lower()
    if code.startswith("SQLITE_BUSY") or code.startswith("SQLITE_LOCKED") or "locked" in lowered:
        return (f"locked by another process for more than {timeout_seconds:g} s ({text}); "
                "retry, or find the process holding it")
    if code.startswith("SQLITE_FULL") or "disk is full" in lowered:
        return f"the disk is full ({text}); free space or move the journal with --journal"
    if code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in lowered or "not a database" in lowered:
        return (f"corrupt or not a SQLite file ({text}); move it aside (a new journal starts) or "
                "restore a copy")
    if code.startswith("SQLITE_READONLY") or "readonly" in lowered:
        return f"read-only ({text})"
    if code.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        return f"cannot be opened ({text}); check the directory exists and is writable"
    if code.startswith("SQLITE_IOERR") or "disk i/o" in lowered:
        return f"input/output error ({text})"
    return f"{type(error).__name__}: {text}"


class Journal:
    """A connection to one journal file. Use as a context manager, or close()."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 timeout_seconds: float | None = None) -> None:
        self.path = Path(path)
        self.timeout_seconds = timeout_seconds = BUSY_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
        self._connection: sqlite3.Connection | None = None
        if not create and not self.path.exists():
            raise JournalError(str(self.path), "no journal here yet (check and hedge create it on their first "
                               "run; or pass --journal PATH)")
        with self._guard():
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite answers "database is locked" at once, without waiting in the busy handler,
            # where waiting could deadlock: switching a new file to WAL or creating its schema
            # while other processes open it too. Opening is retried until the busy timeout, so
            # twenty cron runs that create the journal at the same second all get in.
            deadline = time.monotonic() + timeout_seconds
            while True:
                try:
                    self._open_once(timeout_seconds)
                    break
                except sqlite3.OperationalError as error:
                    self.close()
                    if "locked" not in str(error).lower() or time.monotonic() >= deadline:
                        raise
                    time.sleep(random.uniform(0.005, 0.05))

    def _open_once(self, timeout_seconds: float) -> None:
        connection = sqlite3.connect(self.path, timeout=timeout_seconds, isolation_level=None,
                                     check_same_thread=False)
        self._connection = connection
        connection.execute(f"PRAGMA busy_timeout = {int(timeout_seconds * 1000)}")
        fresh = connection.execute("PRAGMA page_count").fetchone()[0] == 0
        if fresh:
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")   # lets prune give space back
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")   # WAL: durable at checkpoints, never corrupt
        self._open_schema(connection)

    def _open_schema(self, connection: sqlite3.Connection) -> None:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            self._check_application(connection, version)
            return
        if version > SCHEMA_VERSION:
            raise JournalError(str(self.path), f"written by a newer hedgecore (schema version {version}; this "
                               f"hedgecore reads up to {SCHEMA_VERSION}): upgrade hedgecore to read it")
        with self._write() as cursor:
            version = cursor.execute("PRAGMA user_version").fetchone()[0]   # another process may have migrated
            if version > SCHEMA_VERSION:
                raise JournalError(str(self.path), f"written by a newer hedgecore (schema version {version})")
            if version == 0:
                tables = cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise JournalError(str(self.path), "a SQLite file that is not a hedgecore journal "
                                       "(it has tables but no journal version); pass another --journal")
            else:
                self._check_application(connection, version)
            if version < SCHEMA_VERSION:
                migrate(connection, version)

    def _check_application(self, connection: sqlite3.Connection, version: int) -> None:
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        if application != APPLICATION_ID:
            raise JournalError(str(self.path), f"a SQLite file that is not a hedgecore journal (application id "
                               f"{application:#x}, version {version}); pass another --journal")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except JournalError:
            raise
        except sqlite3.Error as error:
            raise JournalError(str(self.path), _describe_sqlite(error, self.timeout_seconds)) from error
        except OSError as error:
            raise JournalError(str(self.path), f"{error.strerror or error}") from error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One short write transaction: the write lock is taken up front (BEGIN IMMEDIATE), so
        waiting happens in the busy handler, never as a failed upgrade from a read."""
        connection = self._connected()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            if connection.in_transaction:
                connection.rollback()
            raise
        cursor.execute("COMMIT")

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            raise JournalError(str(self.path), "closed")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> int:
        """Store a run (and each document it used that is not stored yet); its id."""
        from hedgecore._version import __version__

        at = run.at if run.at is not None else datetime.now(timezone.utc)
        inputs = {kind: document.describe() for kind, document in run.documents.items()}
        hashes = {kind: document.hash for kind, document in run.documents.items()}
        rows = [(u.underlying, u.measure, u.spot, u.net_delta, u.delta_usd_measure, u.delta_coin_measure,
                 u.gamma_usd_1pct, u.vega_usd, u.band_lower, u.band_upper, u.band_method, u.band_detail,
                 u.action, u.reason, _json(u.trades), _json(u.breaches)) for u in run.underlyings]
        with self._guard(), self._write() as cursor:
            for kind, document in run.documents.items():
                digest = hashes[kind]
                if cursor.execute("SELECT 1 FROM documents WHERE hash = ?", (digest,)).fetchone() is None:
                    cursor.execute("INSERT INTO documents (hash, kind, size, body) VALUES (?, ?, ?, ?)",
                                   (digest, kind, len(document.data), zlib.compress(document.data, 6)))
            cursor.execute(
                "INSERT INTO runs (at, as_of, command, status, exit_code, inputs, portfolio_hash, market_hash, "
                "policy_hash, book_breaches, hedgecore_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (to_text(at), to_text(run.as_of), run.command, run.status, run.exit_code, _json(inputs),
                 hashes.get("portfolio"), hashes.get("market"), hashes.get("policy"), _json(run.book_breaches),
                 __version__))
            run_id = int(cursor.lastrowid or 0)
            cursor.executemany(
                "INSERT INTO run_underlyings (run_id, underlying, measure, spot, net_delta, delta_usd_measure, "
                "delta_coin_measure, gamma_usd_1pct, vega_usd, band_lower, band_upper, band_method, band_detail, "
                "action, reason, trades, breaches) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *row) for row in rows])
        return run_id

    def record_fill(self, fill: Fill) -> int:
        """Store an executed hedge; its id. A venue fill already stored (same source and
        venue_trade_id) is not stored twice: the existing id is returned."""
        if fill.side not in SIDES:
            raise ValueError(f"side must be buy or sell, got {fill.side!r}")
        with self._guard(), self._write() as cursor:
            if fill.venue_trade_id is not None:
                existing = cursor.execute("SELECT id FROM fills WHERE source = ? AND venue_trade_id = ?",
                                          (fill.source, fill.venue_trade_id)).fetchone()
                if existing is not None:
                    return int(existing[0])
            cursor.execute(
                "INSERT INTO fills (at, underlying, instrument, side, quantity, price, fee_usd, source, "
                "venue_trade_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (to_text(fill.at), fill.underlying, fill.instrument, fill.side, fill.quantity, fill.price,
                 fill.fee_usd, fill.source, fill.venue_trade_id, to_text(datetime.now(timezone.utc))))
            return int(cursor.lastrowid or 0)

    def prune(self, before: datetime, *, fills: bool = False) -> dict[str, int]:
        """Delete runs valued before `before` (and fills executed before it when `fills`),
        then the documents no run uses any more, and give the pages back to the file system."""
        cutoff = to_text(before)
        with self._guard():
            with self._write() as cursor:
                cursor.execute("DELETE FROM run_underlyings WHERE run_id IN (SELECT id FROM runs WHERE as_of < ?)",
                               (cutoff,))
                runs = cursor.execute("DELETE FROM runs WHERE as_of < ?", (cutoff,)).rowcount
                removed_fills = cursor.execute("DELETE FROM fills WHERE at < ?", (cutoff,)).rowcount if fills else 0
                documents = cursor.execute(
                    "DELETE FROM documents WHERE hash NOT IN (SELECT portfolio_hash FROM runs WHERE portfolio_hash "
                    "IS NOT NULL UNION SELECT market_hash FROM runs WHERE market_hash IS NOT NULL UNION "
                    "SELECT policy_hash FROM runs WHERE policy_hash IS NOT NULL)").rowcount
            connection = self._connected()
            connection.execute("PRAGMA incremental_vacuum")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"runs": runs, "fills": removed_fills, "documents": documents}

    # --- reading -----------------------------------------------------------------------

    def last_fill_times(self, underlyings: Sequence[str], not_after: datetime | None = None
                        ) -> dict[str, datetime]:
        """Per underlying, the time of its latest fill (at or before `not_after` when given)."""
        limit = to_text(not_after) if not_after is not None else "~"
        found: dict[str, datetime] = {}
        with self._guard():
            connection = self._connected()
            for name in underlyings:
                row = connection.execute("SELECT max(at) FROM fills WHERE underlying = ? AND at <= ?",
                                         (name, limit)).fetchone()
                if row is not None and row[0] is not None:
                    found[name] = from_text(row[0])
        return found

    def latest_fill_of(self, source: str) -> datetime | None:
        """When the latest fill from `source` ("manual", "deribit", ...) was executed."""
        with self._guard():
            row = self._connected().execute("SELECT max(at) FROM fills WHERE source = ?", (source,)).fetchone()
        return from_text(row[0]) if row is not None and row[0] is not None else None

    def history(self, *, since: datetime | None = None, until: datetime | None = None,
                underlying: str | None = None, limit: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """Runs (by valuation time) and fills (by execution time) in [since, until], oldest
        first, as `hedgecore history` prints them; `limit` keeps the latest runs and fills."""
        low = to_text(since) if since is not None else ""
        high = to_text(until) if until is not None else "~"
        runs: dict[int, dict[str, Any]] = {}
        columns = ("SELECT r.id, r.at, r.as_of, r.command, r.status, r.exit_code, u.underlying, u.net_delta, "
                   "u.band_lower, u.band_upper, u.action, u.trades FROM runs r ")
        if underlying is None:
            joined = "LEFT JOIN run_underlyings u ON u.run_id = r.id "
            parameters: list[Any] = []
        else:
            # CROSS JOIN keeps runs (by the as_of index) as the outer loop: the planner would
            # otherwise walk every row of the underlying, whatever the time window
            joined = "CROSS JOIN run_underlyings u ON u.run_id = r.id AND u.underlying = ? "
            parameters = [underlying]
        where = "WHERE r.as_of >= ? AND r.as_of <= ?"
        parameters += [low, high]
        if limit is not None:
            # the latest `limit` runs (of that underlying: one row per run), then in time order
            inner = "" if underlying is None else joined
            where += (f" AND r.id IN (SELECT r.id FROM runs r {inner}WHERE r.as_of >= ? AND r.as_of <= ? "
                      f"ORDER BY r.as_of DESC, r.id DESC LIMIT {int(limit)})")
            parameters += parameters[:]
        with self._guard():
            rows = self._connected().execute(f"{columns}{joined}{where} ORDER BY r.as_of, r.id, u.underlying",
                                             parameters)
            for (run_id, at, as_of, command, status, exit_code, name, net_delta, band_lower, band_upper, action,
                 trades) in rows:
                run = runs.get(run_id)
                if run is None:
                    run = runs[run_id] = {"id": run_id, "at": to_iso(at), "as_of": to_iso(as_of), "command": command,
                                          "status": status, "exit_code": exit_code, "underlyings": []}
                if name is None:
                    continue
                run["underlyings"].append({"underlying": name, "net_delta": net_delta, "band_lower": band_lower,
                                           "band_upper": band_upper, "action": action,
                                           "trades": json.loads(trades) if trades != "[]" else []})
            fills = self.fills(since=since, until=until, underlying=underlying, limit=limit)
        return {"runs": list(runs.values()), "fills": fills}

    def fills(self, *, since: datetime | None = None, until: datetime | None = None,
              underlying: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Fills executed in [since, until], oldest first (history's JSON keys)."""
        query = ("SELECT id, at, underlying, instrument, side, quantity, price, fee_usd, source FROM fills "
                 "WHERE at >= ? AND at <= ?")
        parameters: list[Any] = [to_text(since) if since is not None else "", to_text(until) if until else "~"]
        if underlying is not None:
            query += " AND underlying = ?"
            parameters.append(underlying)
        query += " ORDER BY at DESC, id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._guard():
            rows = self._connected().execute(query, parameters).fetchall()
        keys = ("id", "at", "underlying", "instrument", "side", "quantity", "price", "fee_usd", "source")
        fills = [dict(zip(keys, row, strict=True)) for row in reversed(rows)]
        for fill in fills:
            fill["at"] = to_iso(fill["at"])
        return fills

    def run(self, run_id: int) -> StoredRun:
        """A recorded run; JournalError when there is none with that id."""
        with self._guard():
            row = self._connected().execute(
                "SELECT id, at, as_of, command, status, inputs, portfolio_hash, market_hash, policy_hash FROM runs "
                "WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise JournalError(str(self.path), f"no run {run_id} (hedgecore history lists the runs)")
        return StoredRun(row[0], from_text(row[1]), from_text(row[2]), row[3], row[4], json.loads(row[5]),
                         row[6], row[7], row[8])

    def document(self, digest: str) -> bytes:
        """The bytes of a stored document."""
        with self._guard():
            row = self._connected().execute("SELECT body FROM documents WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            raise JournalError(str(self.path), f"document {digest[:12]} is missing (pruned?)")
        try:
            return zlib.decompress(row[0])
        except zlib.error as error:
            raise JournalError(str(self.path), f"document {digest[:12]} is corrupt ({error})") from None

    def fills_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Fills executed after `start` and at or before `end` (what happened in an interval)."""
        return [f for f in self.fills(since=start, until=end) if f["at"] != to_iso(to_text(start))]

    def integrity(self) -> str:
        """PRAGMA integrity_check's verdict ("ok" when the file is sound)."""
        with self._guard():
            return str(self._connected().execute("PRAGMA integrity_check").fetchone()[0])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=True)

