"""`check` with the journal, beyond tests/test_journal_wiring.py: what a run records (both
delta measures, input hashes, documents once), a fill later than the valuation time, a
locked journal, and twenty checks started at once on one journal."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.journal.store import Journal

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
BTC = [CONFIGS / "btc_book.yaml", "--market", CONFIGS / "btc_market.yaml", "--policy", CONFIGS / "btc_policy.yaml"]


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_run_records_both_measures_input_hashes_and_documents_once(tmp_path):
    journal = tmp_path / "j.sqlite"
    assert invoke("check", *BTC, "--journal", journal).exit_code == 1
    assert invoke("hedge", *BTC, "--journal", journal, "-f", "json").exit_code == 0
    history = json.loads(invoke("history", "--journal", journal, "-f", "json").stdout)
    assert [(run["command"], run["status"], run["exit_code"]) for run in history["runs"]] == [
        ("check", "action", 1), ("hedge", "action", 0)]
    connection = sqlite3.connect(journal)
    inputs = json.loads(connection.execute("SELECT inputs FROM runs WHERE id = 1").fetchone()[0])
    assert set(inputs) == {"portfolio", "market", "policy"}
    assert inputs["market"]["path"].endswith("btc_market.yaml")
    assert len(inputs["market"]["hash"]) == 64
    usd, coin, net, detail = connection.execute(
        "SELECT delta_usd_measure, delta_coin_measure, net_delta, band_detail FROM run_underlyings "
        "WHERE run_id = 1").fetchone()
    assert usd == net                  # a USD-measured policy
    assert coin != net                 # the coin measure recorded beside it
    assert detail.startswith("Whalley-Wilmott")
    assert connection.execute("SELECT count(*) FROM documents").fetchone()[0] == 3   # two runs, three files


def test_a_fill_after_the_valuation_time_counts_as_just_now(tmp_path):
    journal = tmp_path / "j.sqlite"
    filled = invoke("fill", "-u", "BTC", "-i", "BTC-PERPETUAL", "--side", "sell", "-q", 100, "--price", 96500,
                    "--at", "2026-11-21T09:00:00Z", "--journal", journal)     # the market file is from 08:00
    assert filled.exit_code == 0, filled.output
    result = invoke("check", *BTC, "--journal", journal, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["underlyings"][0]["action"] == "wait"
    assert "later than the valuation time" in result.stderr


def test_a_locked_journal_is_not_silent(tmp_path, monkeypatch):
    journal = tmp_path / "j.sqlite"
    Journal(journal).close()
    monkeypatch.setattr("hedgecore.journal.store.BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(journal, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = invoke("check", *BTC, "--journal", journal, "--format", "json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 5, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "action"
    assert "locked by another process for more than 0.2 s" in document["journal_error"]


def test_twenty_checks_at_once_all_record_their_run(tmp_path):
    journal = tmp_path / "shared.sqlite"
    env = dict(os.environ, HEDGECORE_JOURNAL=str(journal))
    command = [sys.executable, "-m", "hedgecore", "check", *[str(a) for a in BTC], "--format", "json"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(20)]
    outcomes = [process.communicate(timeout=180) for process in processes]
    assert [process.returncode for process in processes] == [1] * 20, [err for _, err in outcomes]
    with Journal(journal) as store:
        assert store.integrity() == "ok"
        runs = store.history()["runs"]
    assert len(runs) == 20
    assert {run["exit_code"] for run in runs} == {1}
