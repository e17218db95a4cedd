"""`--venue` on exposures, scenarios, hedge and check against the local Deribit stand-in:
what no file gives comes live from the venue, with the same numbers as the snapshot files;
positions from the account; exit 4 (and check's JSON) when the venue fails; no secret in any
output; two cron runs at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, deribit_account_routes, deribit_market_routes, fixture

from hedgecore.cli.main import app

SECRET = "s3cr3t-LIVE-9QX2M4TZK7"
CLIENT_ID = "fo7WAPRm4P"
REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "configs" / "btc_policy.yaml"
VENUE_TIME = "2026-11-21T08:00:00.123456Z"  # the latest usOut of the fixtures
BOOK = """\
name: live test book
positions:
  - instrument: BTC-25DEC26-100000-C
    quantity: -25
  - instrument: BTC-27NOV26-90000-P
    quantity: 10
  - instrument: BTC-PERPETUAL
    quantity: 20000
"""


@pytest.fixture
def server(monkeypatch, tmp_path):
    venue = VenueServer().start()
    deribit_market_routes(venue)
    deribit_account_routes(venue)
    monkeypatch.setenv("HEDGECORE_DERIBIT_URL", venue.url)
    monkeypatch.setenv("HEDGECORE_DERIBIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("HEDGECORE_DERIBIT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("HEDGECORE_JOURNAL", str(tmp_path / "journal.sqlite"))
    yield venue
    venue.stop()


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(BOOK)
    return path


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def snapshot_market(tmp_path: Path) -> Path:
    path = tmp_path / "market.yaml"
    result = run("market", "snapshot", "--venue", "deribit", "-u", "BTC", "-o", path)
    assert result.exit_code == 0, result.output
    return path


def test_exposures_from_the_venue_equal_exposures_from_the_snapshot_file(server, book, tmp_path):
    market = snapshot_market(tmp_path)
    from_file = run("exposures", book, "--market", market, "-f", "json")
    live = run("exposures", book, "--venue", "deribit", "-f", "json")
    assert from_file.exit_code == 0, from_file.output
    assert live.exit_code == 0, live.output
    assert json.loads(live.stdout) == json.loads(from_file.stdout)
    assert json.loads(live.stdout)["as_of"] == VENUE_TIME
    # the market taken live is only the book's underlying, never the account's positions
    assert server.calls("/api/v2/public/auth") == []
    # (USDC: the linear chain, shared by every coin, of which only BTC_USDC-... rows are kept)
    assert {c.query["currency"] for c in server.calls("/api/v2/public/get_book_summary_by_currency")} == {"BTC",
                                                                                                      "USDC"}


def test_scenarios_and_hedge_from_the_venue_equal_the_snapshot_file(server, book, tmp_path):
    market = snapshot_market(tmp_path)
    for command in (("scenarios",), ("hedge", "--policy", POLICY)):
        from_file = run(*command, book, "--market", market, "-f", "json")
        live = run(*command, book, "--venue", "deribit", "-f", "json")
        assert from_file.exit_code == 0, from_file.output
        assert live.exit_code == 0, live.output
        assert json.loads(live.stdout) == json.loads(from_file.stdout), command


def test_check_without_portfolio_takes_the_accounts_positions(server, tmp_path):
    market = snapshot_market(tmp_path)
    positions = tmp_path / "positions.yaml"
    result = run("positions", "snapshot", "--venue", "deribit", "-o", positions)
    assert result.exit_code == 0, result.output

    live = run("exposures", "--venue", "deribit", "-f", "json")
    assert live.exit_code == 0, live.output
    quantities = {(p["account"], p["instrument"]): p["quantity"] for p in json.loads(live.stdout)["positions"]}
    # Deribit's sizes: BTC-PERPETUAL -500,000 USD (10 USD contracts), the option 10.5 BTC,
    # BTC_USDC-PERPETUAL 0.25 BTC (0.001 BTC contracts)
    assert quantities[("desk", "BTC-PERPETUAL")] == -500000 / 10
    assert quantities[("desk_mm", "BTC-25DEC26-80000-P")] == 10.5
    assert quantities[("desk_mm", "BTC_USDC-PERPETUAL")] == pytest.approx(0.25 / 0.001)

    checked = run("check", "--venue", "deribit", "--policy", POLICY, "-f", "json")
    replayed = run("check", positions, "--market", market, "--policy", POLICY, "-f", "json")
    assert checked.exit_code == replayed.exit_code, checked.output
    assert checked.exit_code in (0, 1), checked.output
    assert json.loads(checked.stdout) == json.loads(replayed.stdout)
    # positions snapshot, exposures, check: one sign-in each; check reads the trade history
    # (the journal's fills) with the token it signed in with for the positions
    assert len(server.calls("/api/v2/public/auth")) == 3
    trades = server.calls("/api/v2/private/get_user_trades_by_currency_and_time")
    assert len(trades) >= 1
    token = fixture("deribit", "auth.json")["result"]["access_token"]
    assert {call.headers.get("authorization") for call in trades} == {f"Bearer {token}"}


def test_as_of_moves_the_valuation_time_of_a_live_market(server, book):
    result = run("exposures", book, "--venue", "deribit", "--as-of", "2026-11-22T08:00:00Z", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2026-11-22T08:00:00Z"


@pytest.mark.parametrize(("arguments", "message"), [
    (("check", "--policy", POLICY), "PORTFOLIO: missing: give a portfolio file, or --venue NAME"),
    (("check", "BOOK", "--policy", POLICY), "--market: missing: give a market file, or --venue NAME"),
    (("exposures", "BOOK", "--market", "BOOK", "--venue", "deribit"),
     "--venue: deribit would give nothing: PORTFOLIO and --market are both files"),
    (("exposures", "--venue", "bybit"), "PORTFOLIO: missing: bybit gives no positions here"),
    (("scenarios", "BOOK", "--venue", "nowhere"), "unknown venue 'nowhere' (known: deribit, bybit)"),
])
def test_usage_errors_exit_2_with_one_line(server, book, arguments, message):
    result = run(*[book if a == "BOOK" else a for a in arguments])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert server.seen == []


def test_check_json_without_portfolio_or_venue_is_an_error_document(server):
    result = run("check", "--policy", POLICY, "-f", "json")
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "error"
    assert document["exit_code"] == 2
    assert "PORTFOLIO: missing" in document["error"]


def test_check_json_reports_exit_4_when_the_venue_answers_502(server, book):
    server.route("/api/v2/public/get_book_summary_by_currency?kind=option", Reply({"oops": 1}, status=502))
    result = run("check", book, "--venue", "deribit", "--policy", POLICY, "-f", "json")
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    expected = "deribit public/get_book_summary_by_currency: HTTP 502 after 4 attempts"
    assert document == {"status": "error", "exit_code": 4, "error": expected}
    assert result.stderr == f"hedgecore: error: {expected}\n"
    assert len(server.calls("/api/v2/public/get_book_summary_by_currency")) == 4


def test_check_json_reports_exit_4_on_timeout(server, book):
    server.route("/api/v2/public/get_index_price", Reply(fixture("deribit", "get_index_price_btc.json"),
                                                         delay_seconds=2.0))
    result = run("check", book, "--venue", "deribit", "--policy", POLICY, "-f", "json", "--timeout", "0.3")
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "error"
    assert document["exit_code"] == 4
    assert document["error"].startswith("deribit public/get_index_price: timed out: the fetch took longer than "
                                        "its 0.3 s budget")


def test_timeout_bounds_positions_and_market_together(server):
    # positions take about 0.5 s of a 0.7 s budget: the market fetch gets what is left
    server.route("/api/v2/private/get_subaccounts", Reply(fixture("deribit", "get_subaccounts.json"),
                                                          delay_seconds=0.5))
    server.route("/api/v2/public/get_book_summary_by_currency?kind=option",
                 Reply(fixture("deribit", "get_book_summary_btc_option.json"), delay_seconds=0.4))
    result = run("check", "--venue", "deribit", "--policy", POLICY, "-f", "json", "--timeout", "0.7")
    assert result.exit_code == 4, result.output
    assert "budget" in json.loads(result.stdout)["error"]
    ok = run("check", "--venue", "deribit", "--policy", POLICY, "-f", "json", "--timeout", "5")
    assert ok.exit_code in (0, 1), ok.output


def test_no_secret_in_any_output_when_a_private_call_fails_after_auth(server, tmp_path):
    token = fixture("deribit", "auth.json")["result"]["access_token"]
    refresh = fixture("deribit", "auth.json")["result"]["refresh_token"]
    echo = {"jsonrpc": "2.0", "error": {"code": 13009, "message": f"unauthorized {SECRET} {token} {refresh}"},
            "usIn": 1, "usOut": 2, "usDiff": 1, "testnet": False}
    server.route("/api/v2/private/get_positions", Reply(echo, status=400))
    output = tmp_path / "check.json"
    result = run("check", "--venue", "deribit", "--policy", POLICY, "-f", "json", "-o", output, "--debug")
    assert result.exit_code == 4, result.output
    assert "Traceback" in result.stderr
    assert "deribit private/get_positions: error 13009 unauthorized *** *** ***" in result.stderr
    written = [result.stdout, result.stderr, output.read_text() if output.exists() else ""]
    journal = tmp_path / "journal.sqlite"
    if journal.exists():
        written.append(journal.read_bytes().decode("latin-1"))
    for text in written:
        for secret in (SECRET, token, refresh):
            assert secret not in text
    assert json.loads(output.read_text())["exit_code"] == 4
    auth = server.calls("/api/v2/public/auth")
    assert len(auth) == 1
    assert auth[0].query == {}


def test_two_cron_runs_at_once_both_succeed(server, tmp_path):
    output = tmp_path / "check.json"
    environment = dict(os.environ)
    arguments = [sys.executable, "-m", "hedgecore", "check", "--venue", "deribit", "--policy", str(POLICY),
                 "-f", "json", "-o", str(output)]
    runs = [subprocess.Popen(arguments, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(process.wait(timeout=60), *process.communicate()) for process in runs]
    for code, _stdout, stderr in results:
        assert code in (0, 1), stderr
        assert "error" not in stderr
    assert results[0][0] == results[1][0]
    document = json.loads(output.read_text())
    assert document["status"] in ("ok", "action")
    assert document["as_of"] == VENUE_TIME
    assert len(server.calls("/api/v2/public/auth")) == 2   # each run signs in once (positions and trades)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    journal = tmp_path / "journal.sqlite"
    if journal.exists():
        import sqlite3

        with sqlite3.connect(journal) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_snapshot_yaml_is_the_text_of_pyyamls_python_emitter(server):
    import yaml

    from hedgecore.cli._venue import snapshot_yaml
    from hedgecore.venues import deribit

    taken = deribit.fetch_market(["BTC"], 5.0, url=server.url)
    body = yaml.dump(taken.document, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=None, width=120,
                     allow_unicode=True)
    text = snapshot_yaml(taken, "market", "deribit")
    header = [line for line in text.splitlines(keepends=True) if line.startswith("#")]
    assert len(header) == 4  # the title, "left out (2):" and the two instruments
    assert text == "".join(header) + body


def test_market_file_with_positions_from_the_account(server, tmp_path):
    market = snapshot_market(tmp_path)
    calls_before = len(server.calls("/api/v2/public/get_book_summary_by_currency"))
    result = run("exposures", "--market", market, "--venue", "deribit", "--by", "account", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {row["account"] for row in document["accounts"]} == {"desk", "desk_mm"}
    # the market came from the file: no chain fetched for this command
    assert len(server.calls("/api/v2/public/get_book_summary_by_currency")) == calls_before
