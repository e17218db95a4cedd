"""The journal's tables, their version and the migrations between versions.

The version lives in SQLite's `PRAGMA user_version`; `PRAGMA application_id` marks the file
as a hedgecore journal. MIGRATIONS[v] takes a journal from version v - 1 to v (version 0 is
an empty file), so a journal written by any earlier hedgecore opens in a later one: each
step runs once, in a write transaction, and the version moves with it. A journal whose
version is above SCHEMA_VERSION was written by a newer hedgecore and is refused, never
altered.

Times are stored as fixed-width UTC text, `2026-11-21T08:00:00.000000Z`, which sorts in time
order and stays readable from the sqlite3 shell. Documents (portfolio, market, policy
files) are stored once each, zlib-compressed, keyed by the SHA-256 of their bytes.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

APPLICATION_ID = 0x48444743     # "HDGC"
SCHEMA_VERSION = 1

_VERSION_1 = """
CREATE TABLE documents (
    hash TEXT PRIMARY KEY,          -- SHA-256 (hex) of the file's bytes
    kind TEXT NOT NULL,             -- portfolio | market | policy
    size INTEGER NOT NULL,          -- bytes before compression
    body BLOB NOT NULL              -- zlib-compressed bytes (YAML, or JSON from a venue)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,               -- wall clock when the run was recorded (UTC)
    as_of TEXT NOT NULL,            -- valuation time (UTC)
    command TEXT NOT NULL,          -- check | hedge
    status TEXT NOT NULL,           -- ok | action | error | stale
    exit_code INTEGER NOT NULL,
    inputs TEXT NOT NULL,           -- JSON {portfolio|market|policy: {"path", "hash"} or {"venue"}}
    portfolio_hash TEXT REFERENCES documents(hash),
    market_hash TEXT REFERENCES documents(hash),
    policy_hash TEXT REFERENCES documents(hash),
    book_breaches TEXT NOT NULL DEFAULT '[]',   -- JSON list
    hedgecore_version TEXT NOT NULL
);
CREATE INDEX runs_by_as_of ON runs(as_of);
CREATE TABLE run_underlyings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    underlying TEXT NOT NULL,
    measure TEXT NOT NULL,          -- usd | coin: the policy's measure of net_delta
    spot REAL NOT NULL,
    net_delta REAL NOT NULL,        -- units of the underlying, in the policy's measure
    delta_usd_measure REAL,         -- dV_usd/dS summed (NULL when not computed)
    delta_coin_measure REAL NOT NULL, -- Deribit's DeltaTotal convention
    gamma_usd_1pct REAL NOT NULL,
    vega_usd REAL NOT NULL,         -- per vol point
    band_lower REAL NOT NULL,
    band_upper REAL NOT NULL,
    band_method TEXT NOT NULL,
    band_detail TEXT NOT NULL,      -- how the band was computed
    action TEXT NOT NULL,           -- none | hedge | wait | hold
    reason TEXT NOT NULL,
    trades TEXT NOT NULL,           -- JSON list of the recommended trades with their costs
    breaches TEXT NOT NULL,         -- JSON list of limit breaches
    PRIMARY KEY (run_id, underlying)
) WITHOUT ROWID;
CREATE INDEX run_underlyings_by_underlying ON run_underlyings(underlying, run_id);
CREATE TABLE fills (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,               -- execution time (UTC)
    underlying TEXT NOT NULL,
    instrument TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity REAL NOT NULL CHECK (quantity > 0),   -- the instrument's contracts
    price REAL NOT NULL CHECK (price > 0),
    fee_usd REAL NOT NULL DEFAULT 0,
    source TEXT NOT NULL,           -- manual | a venue's name
    venue_trade_id TEXT,            -- the venue's trade id (a fill read twice is stored once)
    recorded_at TEXT NOT NULL,
    UNIQUE (source, venue_trade_id)
);
CREATE INDEX fills_by_underlying ON fills(underlying, at);
CREATE INDEX fills_by_at ON fills(at);
"""

# MIGRATIONS[v]: the statements that take a journal from version v - 1 to v.
MIGRATIONS: dict[int, str] = {1: _VERSION_1}


def migrate(connection: sqlite3.Connection, current: int) -> int:
    """Bring the schema from version `current` to SCHEMA_VERSION; the caller holds a write
    transaction. Returns the new version."""
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {version}")
    if current == 0:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return SCHEMA_VERSION


def to_text(moment: datetime) -> str:
    """A time as the journal stores it: fixed-width UTC text that sorts in time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def to_iso(text: str) -> str:
    """A stored time as output shows it: ISO-8601 with Z, microseconds only when not zero."""
    return text.replace(".000000Z", "Z")
