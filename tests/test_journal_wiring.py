"""How `check` and `hedge` use the journal: every run recorded by default, `--no-journal`
records nothing, min_interval counts from the later of the last recorded fill and the
policy's last_hedge_at, and a journal that cannot be used never stops the plan but is never
silent (the plan is printed, then one line and exit 5; JSON carries `journal_error`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

def _run(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def _files(policy: Path | str = CONFIGS / "btc_policy.yaml") -> list[str]:
    return [str(CONFIGS / "btc_book.yaml"), "--market", str(CONFIGS / "btc_market.yaml"), "--policy", str(policy)]


def _runs(journal: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(journal) as connection:
        return list(connection.execute("SELECT command, status, exit_code FROM runs ORDER BY id"))


def test_check_and_hedge_record_every_run_and_no_journal_records_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    checked = _run("check", *_files(), "--journal", journal, "-f", "json")
    assert checked.exit_code == 1, checked.output           # the shipped BTC book is out of its band
    hedged = _run("hedge", *_files(), "--journal", journal, "-f", "json")
    assert hedged.exit_code == 0, hedged.output
    skipped = _run("check", *_files(), "--journal", journal, "--no-journal", "-f", "json")
    assert skipped.exit_code == 1, skipped.output
    assert _runs(journal) == [("check", "action", 1), ("hedge", "action", 0)]
    assert "journal_error" not in json.loads(checked.stdout)


def _policy_with_last_hedge(tmp_path: Path, last_hedge_at: str | None) -> Path:
    text = (CONFIGS / "btc_policy.yaml").read_text()
    if last_hedge_at is not None:
        text = text.replace("    min_interval: 30m\n", f"    min_interval: 30m\n    last_hedge_at: {last_hedge_at}\n")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


# The market is valued at 08:00 with a 30m min_interval; the book is out of its band.
@pytest.mark.parametrize(("fill_at", "last_hedge_at", "action", "action_without_journal"), [
    ("2026-11-21T07:50:00Z", None, "wait", "hedge"),                      # 10 minutes after the fill
    ("2026-11-21T07:20:00Z", None, "hedge", "hedge"),                     # 40 minutes: past min_interval
    ("2026-11-21T07:20:00Z", "2026-11-21T07:45:00Z", "wait", "wait"),     # the later of the two counts
    ("2026-11-21T07:45:00Z", "2026-11-21T07:00:00Z", "wait", "hedge"),
    ("2026-11-21T07:30:00Z", None, "hedge", "hedge"),                     # exactly min_interval: trades
])
def test_min_interval_counts_from_the_later_of_the_last_fill_and_last_hedge_at(
        tmp_path: Path, fill_at: str, last_hedge_at: str | None, action: str, action_without_journal: str) -> None:
    journal = tmp_path / "j.sqlite"
    filled = _run("fill", "--underlying", "BTC", "--instrument", "BTC-PERPETUAL", "--side", "sell",
                  "--quantity", 1000, "--price", 96530, "--at", fill_at, "--journal", journal)
    assert filled.exit_code == 0, filled.output
    policy = _policy_with_last_hedge(tmp_path, last_hedge_at)
    result = _run("check", *_files(policy), "--journal", journal, "-f", "json")
    (decision,) = json.loads(result.stdout)["underlyings"]
    assert decision["action"] == action, decision["reason"]
    # with --no-journal the fill is not read: only the policy's last_hedge_at counts
    ignored = _run("check", *_files(policy), "--no-journal", "-f", "json")
    (alone,) = json.loads(ignored.stdout)["underlyings"]
    assert alone["action"] == action_without_journal, alone["reason"]


def test_an_unusable_journal_prints_the_plan_then_exits_5(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-journal.sqlite"
    broken.write_bytes(b"this is not an SQLite file\n" * 100)
    result = _run("check", *_files(), "--journal", broken, "-f", "json")
    assert result.exit_code == 5, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "action"                    # the due hedge is still shown
    assert document["trades"], document
    assert str(broken) in document["journal_error"]
    assert "min_interval was measured without the recorded fills" in document["journal_error"]
    lines = [line for line in result.stderr.splitlines() if line.startswith("hedgecore: error:")]
    assert len(lines) == 1, result.stderr
    assert str(broken) in lines[0], result.stderr
    assert broken.read_bytes() == b"this is not an SQLite file\n" * 100   # never altered

    hedged = _run("hedge", *_files(), "--journal", broken)
    assert hedged.exit_code == 5, hedged.output
    assert "BTC-PERPETUAL" in hedged.stdout                  # the plan is printed first


def test_a_stale_market_is_recorded_with_its_status(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    text = (CONFIGS / "btc_policy.yaml").read_text()
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_market_age: 5m\n" + text)
    result = _run("check", *_files(policy), "--as-of", "2026-11-21T09:00:00Z", "--journal", journal, "-f", "json")
    assert result.exit_code == 4, result.output
    assert json.loads(result.stdout)["status"] == "stale"
    assert _runs(journal) == [("check", "stale", 4)]
