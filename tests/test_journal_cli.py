"""The journal commands: fill, history, explain, prune; one-line errors with exit 5."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from journal_helpers import record_files
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.journal.explain import PARTS
from hedgecore.journal.store import Journal

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "journal"
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
RUN_KEYS = {"id", "at", "as_of", "command", "status", "exit_code", "underlyings"}
UNDERLYING_KEYS = {"underlying", "net_delta", "band_lower", "band_upper", "action", "trades"}
FILL_KEYS = {"id", "at", "underlying", "instrument", "side", "quantity", "price", "fee_usd", "source"}


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error(result: Any, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hedgecore: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0].removeprefix("hedgecore: error: ")


def test_fill_records_and_history_lists_it_with_the_issue_keys(tmp_path):
    journal = tmp_path / "j.sqlite"
    result = invoke("fill", "--underlying", "BTC", "--instrument", "BTC-PERPETUAL", "--side", "sell",
                    "--quantity", 42969, "--price", 96530, "--fee-usd", 21.5, "--at", "2026-11-21T08:05:00Z",
                    "--journal", journal)
    assert result.exit_code == 0, result.output
    assert "fill 1: BTC sell 42,969 BTC-PERPETUAL at 96,530" in result.stdout
    with Journal(journal) as store:
        record_files(store, CONFIGS / "btc_book.yaml", CONFIGS / "btc_market.yaml", CONFIGS / "btc_policy.yaml")
    result = invoke("history", "--journal", journal, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"runs", "fills"}
    (run,) = document["runs"]
    assert set(run) == RUN_KEYS
    assert run["as_of"] == "2026-11-21T08:00:00Z"
    assert run["command"] == "check"
    assert run["status"] == "action"
    (btc,) = run["underlyings"]
    assert set(btc) == UNDERLYING_KEYS
    assert btc["action"] == "hedge"
    assert btc["trades"][0]["instrument"] == "BTC-PERPETUAL"
    (fill,) = document["fills"]
    assert set(fill) == FILL_KEYS
    assert fill == {"id": 1, "at": "2026-11-21T08:05:00Z", "underlying": "BTC", "instrument": "BTC-PERPETUAL",
                    "side": "sell", "quantity": 42969.0, "price": 96530.0, "fee_usd": 21.5, "source": "manual"}
    table = invoke("history", "--journal", journal)
    assert table.exit_code == 0
    assert "BTC-PERPETUAL" in table.stdout
    csv = invoke("history", "--journal", journal, "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("kind,id,time")
    assert [line.split(",")[0] for line in csv[1:]] == ["run", "fill"]


def test_history_filters_on_the_command_line(tmp_path):
    journal = tmp_path / "j.sqlite"
    for minute, underlying in ((0, "BTC"), (10, "ETH"), (20, "BTC")):
        result = invoke("fill", "-u", underlying, "-i", f"{underlying}-PERPETUAL", "--side", "buy", "-q", 1,
                        "--price", 100, "--at", (T0 + timedelta(minutes=minute)).isoformat(), "--journal", journal)
        assert result.exit_code == 0, result.output
    fills = json.loads(invoke("history", "--journal", journal, "-f", "json", "--since", "2026-11-21T08:05:00Z",
                              "-u", "btc").stdout)["fills"]
    assert [fill["at"] for fill in fills] == ["2026-11-21T08:20:00Z"]
    fills = json.loads(invoke("history", "--journal", journal, "-f", "json", "--until", "2026-11-21T08:10:00",
                              ).stdout)["fills"]
    assert [fill["underlying"] for fill in fills] == ["BTC", "ETH"]


def test_fill_refuses_an_instrument_of_another_underlying(tmp_path):
    result = invoke("fill", "-u", "ETH", "-i", "BTC-PERPETUAL", "--side", "buy", "-q", 1, "--price", 1,
                    "--journal", tmp_path / "j.sqlite")
    assert "BTC-PERPETUAL is on BTC, not --underlying ETH" in one_error(result, 2)
    result = invoke("fill", "-u", "BTC", "-i", "BTC-PERPETUAL", "--side", "buy", "-q", -3, "--price", 1,
                    "--journal", tmp_path / "j.sqlite")
    assert result.exit_code == 2
    assert "must be a number > 0" in result.output


def test_explain_between_two_runs_of_the_fixture_journal(tmp_path):
    journal = tmp_path / "j.sqlite"
    shutil.copyfile(FIXTURES / "journal_v1.sqlite", journal)
    result = invoke("explain", "--from", 1, "--to", 2, "--journal", journal, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["from"] == {"run": 1, "as_of": "2026-11-21T08:00:00Z"}
    assert document["to"] == {"run": 2, "as_of": "2026-11-21T12:00:00Z"}
    (btc,) = document["underlyings"]
    for entry in (btc, document["total"]):
        total = 0.0
        for key in (*PARTS, "unexplained_usd"):
            total += entry[key]
        assert total == entry["pnl_usd"]
    assert btc["spot_to"] == 97800.0
    assert btc["delta_pnl_usd"] != 0.0
    assert btc["vega_pnl_usd"] != 0.0
    assert "coin" in btc        # a Deribit book: coin-settled options, inverse perpetual and coin held
    assert [fill["fee_usd"] for fill in btc["fills"]] == [21.5]
    assert document["total"]["fees_usd"] == 21.5
    table = invoke("explain", "--from", 1, "--to", 2, "--journal", journal)
    assert table.exit_code == 0
    assert "unexplained" in table.stdout


def test_explain_refuses_unknown_or_reversed_runs(tmp_path):
    journal = tmp_path / "j.sqlite"
    shutil.copyfile(FIXTURES / "journal_v1.sqlite", journal)
    assert "no run 9" in one_error(invoke("explain", "--from", 1, "--to", 9, "--journal", journal), 5)
    assert "swap --from and --to" in one_error(invoke("explain", "--from", 2, "--to", 1, "--journal", journal), 2)


def test_prune_command(tmp_path):
    journal = tmp_path / "j.sqlite"
    shutil.copyfile(FIXTURES / "journal_v1.sqlite", journal)
    result = invoke("prune", "--before", "2026-11-21T10:00:00Z", "--journal", journal, "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted"] == {"runs": 1, "fills": 0, "documents": 1}
    history = json.loads(invoke("history", "--journal", journal, "-f", "json").stdout)
    assert [run["id"] for run in history["runs"]] == [2]
    assert len(history["fills"]) == 1


@pytest.mark.parametrize("command", [["history"], ["explain", "--from", "1", "--to", "2"],
                                     ["fill", "-u", "BTC", "-i", "BTC-PERPETUAL", "--side", "buy", "-q", "1",
                                      "--price", "1"]])
def test_a_corrupt_journal_is_one_line_exit_5(tmp_path, command):
    journal = tmp_path / "j.sqlite"
    journal.write_bytes(b"garbage " * 1000)
    message = one_error(invoke(*command, "--journal", journal), 5)
    assert message.startswith(f"journal {journal}: corrupt or not a SQLite file")


def test_a_newer_journal_is_one_line_exit_5(tmp_path):
    journal = tmp_path / "j.sqlite"
    shutil.copyfile(FIXTURES / "journal_v1.sqlite", journal)
    connection = sqlite3.connect(journal)
    connection.execute("PRAGMA user_version = 7")
    connection.commit()
    connection.close()
    assert "written by a newer hedgecore (schema version 7" in one_error(
        invoke("history", "--journal", journal), 5)


def test_history_of_a_missing_journal_names_it(tmp_path):
    message = one_error(invoke("history", "--journal", tmp_path / "none.sqlite"), 5)
    assert "none.sqlite: no journal here yet" in message


def test_history_plot_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    journal = tmp_path / "j.sqlite"
    shutil.copyfile(FIXTURES / "journal_v1.sqlite", journal)
    plot = tmp_path / "history.png"
    result = invoke("history", "--journal", journal, "--plot", plot, "-f", "json")
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_journal_stays_out_of_import_and_help():
    probe = ("import sys\nimport hedgecore\nfrom hedgecore.cli.main import app\nsys.argv = ['hedgecore', '--help']\n"
             "try:\n    app()\nexcept SystemExit:\n    pass\n"
             "print('LOADED:' + ','.join(sorted(m for m in sys.modules if m.startswith('hedgecore.journal') "
             "or m in ('sqlite3', 'numpy'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.rsplit("LOADED:", 1)[1].strip() == ""
