"""The journal file: schema, migrations, concurrency, errors, retention, privacy."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from journal_helpers import record_files

from hedgecore.errors import JournalError
from hedgecore.journal.schema import APPLICATION_ID, SCHEMA_VERSION
from hedgecore.journal.store import Fill, Journal, default_journal_path

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
FIXTURE_V1 = Path(__file__).resolve().parent / "fixtures" / "journal" / "journal_v1.sqlite"
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)


def _btc(journal: Journal, **kwargs: object) -> int:
    return record_files(journal, CONFIGS / "btc_book.yaml", CONFIGS / "btc_market.yaml",
                        CONFIGS / "btc_policy.yaml", **kwargs)  # type: ignore[arg-type]


def test_default_location_per_platform():
    env = {"HOME": "/home/desk"}
    assert default_journal_path(env, "linux") == Path("/home/desk/.local/share/hedgecore/journal.sqlite")
    assert default_journal_path({**env, "XDG_DATA_HOME": "/data"}, "linux") == Path("/data/hedgecore/journal.sqlite")
    # a relative XDG_DATA_HOME is invalid per the specification: ignored
    assert default_journal_path({**env, "XDG_DATA_HOME": "rel"}, "linux").parent.parent == Path(
        "/home/desk/.local/share")
    assert default_journal_path(env, "darwin") == Path(
        "/home/desk/Library/Application Support/hedgecore/journal.sqlite")
    assert default_journal_path({**env, "LOCALAPPDATA": "C:/Users/d/AppData/Local"}, "win32") == Path(
        "C:/Users/d/AppData/Local/hedgecore/journal.sqlite")
    assert default_journal_path({**env, "HEDGECORE_JOURNAL": "/srv/j.sqlite"}, "linux") == Path("/srv/j.sqlite")


def test_new_journal_is_versioned_wal_and_records_a_run(tmp_path):
    path = tmp_path / "sub" / "journal.sqlite"
    with Journal(path) as journal:
        run_id = _btc(journal, at=T0)
        assert journal.integrity() == "ok"
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row = connection.execute("SELECT command, status, exit_code, as_of, inputs FROM runs WHERE id = ?",
                             (run_id,)).fetchone()
    assert row[:4] == ("check", "action", 1, "2026-11-21T08:00:00.000000Z")
    assert "btc_book.yaml" in row[4]
    (underlying, net_delta, coin, band_detail, action, trades) = connection.execute(
        "SELECT underlying, net_delta, delta_coin_measure, band_detail, action, trades FROM run_underlyings").fetchone()
    assert underlying == "BTC"
    assert action == "hedge"
    assert "Whalley-Wilmott" in band_detail
    assert "est_cost_usd" in trades
    assert net_delta != coin


def test_documents_are_stored_once_by_hash(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        for minute in range(5):
            _btc(journal, at=T0 + timedelta(minutes=minute))
    connection = sqlite3.connect(tmp_path / "j.sqlite")
    assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 5
    assert connection.execute("SELECT count(*) FROM documents").fetchone()[0] == 3
    hashes = {row[0] for row in connection.execute("SELECT market_hash FROM runs")}
    assert len(hashes) == 1


def test_last_fill_times_per_underlying_and_not_after(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.record_fill(Fill(T0, "BTC", "BTC-PERPETUAL", "sell", 100, 96500.0))
        journal.record_fill(Fill(T0 + timedelta(hours=1), "BTC", "BTC-PERPETUAL", "buy", 50, 96600.0))
        journal.record_fill(Fill(T0 + timedelta(minutes=5), "ETH", "ETH-PERPETUAL", "buy", 50, 3300.0))
        found = journal.last_fill_times(["BTC", "ETH", "SOL"], T0 + timedelta(minutes=30))
        assert found == {"BTC": T0, "ETH": T0 + timedelta(minutes=5)}
        assert journal.last_fill_times(["BTC"], T0 + timedelta(hours=2)) == {"BTC": T0 + timedelta(hours=1)}


def test_a_venue_fill_read_twice_is_stored_once(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        fill = Fill(T0, "BTC", "BTC-PERPETUAL", "sell", 100, 96500.0, 0.5, "deribit", "trade-1")
        assert journal.record_fill(fill) == journal.record_fill(fill)
        assert len(journal.fills()) == 1


def test_history_filters_by_time_and_underlying(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        ids = []
        for _ in range(4):
            ids.append(record_files(journal, CONFIGS / "multi_book.yaml", CONFIGS / "multi_market.yaml",
                                    CONFIGS / "multi_policy.yaml"))
        # the four runs share the market's as_of; move them apart in valuation time
        connection = sqlite3.connect(journal.path)
        for hour, run_id in enumerate(ids):
            stamp = (T0 + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            connection.execute("UPDATE runs SET as_of = ? WHERE id = ?", (stamp, run_id))
        connection.commit()
        journal.record_fill(Fill(T0 + timedelta(minutes=90), "BTC", "BTC-PERPETUAL", "sell", 10, 96500.0))
        journal.record_fill(Fill(T0 + timedelta(minutes=95), "ETH", "ETH-PERPETUAL", "buy", 10, 3300.0))
        window = journal.history(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
        assert [run["id"] for run in window["runs"]] == ids[1:3]
        assert {u["underlying"] for u in window["runs"][0]["underlyings"]} == {"BTC", "ETH"}
        assert [f["underlying"] for f in window["fills"]] == ["BTC", "ETH"]
        eth = journal.history(underlying="ETH")
        assert len(eth["runs"]) == 4
        assert all([u["underlying"] for u in run["underlyings"]] == ["ETH"] for run in eth["runs"])
        assert [f["underlying"] for f in eth["fills"]] == ["ETH"]
        latest = journal.history(limit=2)
        assert [run["id"] for run in latest["runs"]] == ids[2:]
        assert journal.history(since=T0 + timedelta(days=1)) == {"runs": [], "fills": []}


def test_prune_keeps_fills_and_documents_in_use(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        first = _btc(journal)
        connection = sqlite3.connect(journal.path)
        connection.execute("UPDATE runs SET as_of = '2026-01-01T00:00:00.000000Z' WHERE id = ?", (first,))
        connection.commit()
        record_files(journal, CONFIGS / "eth_book.yaml", CONFIGS / "eth_market.yaml", CONFIGS / "eth_policy.yaml")
        journal.record_fill(Fill(datetime(2026, 1, 1, tzinfo=timezone.utc), "BTC", "BTC-PERPETUAL", "sell", 1, 9e4))
        removed = journal.prune(datetime(2026, 6, 1, tzinfo=timezone.utc))
        assert removed == {"runs": 1, "fills": 0, "documents": 3}
        assert len(journal.fills()) == 1
        assert journal.integrity() == "ok"
        assert journal.prune(datetime(2026, 6, 1, tzinfo=timezone.utc), fills=True)["fills"] == 1


WRITER = """
import sys, time
sys.path.insert(0, {tests!r})
from journal_helpers import record_files
from hedgecore.journal.store import Journal, Fill
from datetime import datetime, timezone
from pathlib import Path
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
with Journal(sys.argv[1]) as journal:
    configs = Path({configs!r})
    record_files(journal, configs / "btc_book.yaml", configs / "btc_market.yaml", configs / "btc_policy.yaml")
    journal.record_fill(Fill(datetime.now(timezone.utc), "BTC", "BTC-PERPETUAL", "sell", 1, 96500.0))
"""


def test_twenty_processes_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    code = WRITER.format(tests=str(Path(__file__).resolve().parent), configs=str(CONFIGS))
    start = time.time() + 2.0       # every process imports first, then all write at this moment
    processes = [subprocess.Popen([sys.executable, "-c", code, str(path), repr(start)], stderr=subprocess.PIPE,
                                  text=True) for _ in range(20)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 20, errors
    with Journal(path) as journal:
        assert journal.integrity() == "ok"
        assert len(journal.history()["runs"]) == 20
        assert len(journal.fills()) == 20


def test_locked_past_the_timeout_is_one_clear_error(tmp_path):
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Journal(path, timeout_seconds=0.2) as journal, pytest.raises(JournalError) as caught:
            journal.record_fill(Fill(T0, "BTC", "BTC-PERPETUAL", "sell", 1, 9e4))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(caught.value)
    assert message.startswith(f"journal {path}: locked by another process for more than 0.2 s")
    assert "\n" not in message


def test_corrupt_file_is_one_clear_error(tmp_path):
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database, just text" * 200)
    with pytest.raises(JournalError) as caught:
        Journal(path)
    assert str(caught.value).startswith(f"journal {path}: corrupt or not a SQLite file")


def test_damaged_pages_are_one_clear_error(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        for _ in range(30):
            _btc(journal)
    data = bytearray(path.read_bytes())
    data[4096 * 2:] = b"\xff" * (len(data) - 4096 * 2)     # every page after the schema's
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as caught, Journal(path) as journal:
        journal.history()
    assert str(caught.value).startswith(f"journal {path}: corrupt or not a SQLite file")


def test_a_journal_from_a_newer_hedgecore_is_refused_untouched(tmp_path):
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    before = path.read_bytes()
    with pytest.raises(JournalError) as caught:
        Journal(path)
    assert "written by a newer hedgecore (schema version 2" in str(caught.value)
    assert path.read_bytes() == before


def test_another_sqlite_file_is_not_taken_for_a_journal(tmp_path):
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE accounts (secret TEXT)")
    connection.commit()
    connection.close()
    with pytest.raises(JournalError, match="not a hedgecore journal"):
        Journal(path)


def test_missing_journal_for_reading_names_the_file(tmp_path):
    with pytest.raises(JournalError, match="no journal here yet"):
        Journal(tmp_path / "absent.sqlite", create=False)


def test_the_version_1_fixture_opens_through_the_migration_path(tmp_path):
    copy = tmp_path / "journal_v1.sqlite"
    shutil.copyfile(FIXTURE_V1, copy)
    with Journal(copy) as journal:
        assert journal.integrity() == "ok"
        history = journal.history()
        assert [run["id"] for run in history["runs"]] == [1, 2]
        assert history["runs"][0]["underlyings"][0]["underlying"] == "BTC"
        assert [fill["instrument"] for fill in history["fills"]] == ["BTC-PERPETUAL"]
        assert journal.last_fill_times(["BTC"], datetime(2027, 1, 1, tzinfo=timezone.utc))
        run = journal.run(2)
        assert run.market_hash is not None
        assert journal.document(run.market_hash).startswith(b"#")
        journal.record_fill(Fill(T0, "BTC", "BTC-PERPETUAL", "buy", 1, 9e4))   # still writable
    connection = sqlite3.connect(copy)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_empty_file_is_migrated_from_version_0(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    with Journal(path) as journal:
        assert journal.history() == {"runs": [], "fills": []}


def test_nothing_private_is_stored(tmp_path, monkeypatch):
    secret = "s3cr3t-client-secret-0123456789"
    monkeypatch.setenv("DERIBIT_CLIENT_SECRET", secret)
    monkeypatch.setenv("DERIBIT_CLIENT_ID", "client-id-abcdef")
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        _btc(journal)
        journal.record_fill(Fill(T0, "BTC", "BTC-PERPETUAL", "sell", 1, 9e4))
    for name in os.listdir(tmp_path):
        data = (tmp_path / name).read_bytes()
        assert secret.encode() not in data
        assert b"client-id-abcdef" not in data


def build_fixture(path: Path) -> None:
    """Regenerate the version-1 fixture (only ever for version 1: later versions must read this file)."""
    if path.exists():
        path.unlink()
    with Journal(path) as journal:
        _btc(journal, at=T0)
        record_files(journal, CONFIGS / "btc_book.yaml", FIXTURE_V1.parent / "btc_market_later.yaml",
                     CONFIGS / "btc_policy.yaml", at=T0 + timedelta(hours=4))
        journal.record_fill(Fill(T0 + timedelta(hours=1), "BTC", "BTC-PERPETUAL", "sell", 42969, 96530.0, 21.5))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = DELETE")   # one self-contained file
    connection.execute("VACUUM")
    connection.close()


if __name__ == "__main__":
    build_fixture(FIXTURE_V1)
