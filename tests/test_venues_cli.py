"""`hedgecore market snapshot` and `hedgecore positions snapshot` against the local Deribit
stand-in: the files read back with hedgecore's own parsers and value a book to the same
numbers as the in-memory snapshot; a venue failure exits 4 with one line; no secret is ever
printed, even with --debug."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, deribit_account_routes, deribit_market_routes, fixture

from hedgecore.cli._yaml import load_yaml
from hedgecore.cli.main import app
from hedgecore.market import parse_market
from hedgecore.portfolio import parse_portfolio
from hedgecore.valuation import value_book
from hedgecore.venues import deribit

SECRET = "s3cr3t-W0H6FJW4IRPZ1MOQ8FP6"


@pytest.fixture
def server(monkeypatch):
    venue = VenueServer().start()
    deribit_market_routes(venue)
    deribit_account_routes(venue)
    monkeypatch.setenv("HEDGECORE_DERIBIT_URL", venue.url)
    monkeypatch.setenv("HEDGECORE_DERIBIT_CLIENT_ID", "fo7WAPRm4P")
    monkeypatch.setenv("HEDGECORE_DERIBIT_CLIENT_SECRET", SECRET)
    yield venue
    venue.stop()


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_market_snapshot_file_values_a_book_like_the_in_memory_market(server, tmp_path):
    path = tmp_path / "market.yaml"
    result = run("market", "snapshot", "--venue", "deribit", "--underlying", "BTC", "-o", path)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# hedgecore market snapshot from deribit\n# left out (2):\n")
    assert "#   BTC-25DEC26-200000-C: no mark IV" in text
    data, _ = load_yaml(path)
    from_file = parse_market(data)
    in_memory = parse_market(deribit.fetch_market(["BTC"], 5.0, url=server.url).document)
    assert from_file == in_memory
    positions = deribit.fetch_positions(5.0, url=server.url).document
    book = parse_portfolio(positions)
    a = value_book(book, from_file)
    b = value_book(book, in_memory)
    for figure in ("value_usd", "delta", "delta_usd", "gamma_usd_1pct", "vega_usd", "theta_usd"):
        np.testing.assert_array_equal(getattr(a, figure), getattr(b, figure), err_msg=figure)
    assert from_file.underlyings["BTC"].quotes["BTC-25DEC26-100000-C"].ask == 0.0405


def test_market_snapshot_to_stdout_and_stderr_note(server):
    result = run("market", "snapshot", "--venue", "deribit", "-u", "btc")
    assert result.exit_code == 0, result.output
    assert "as_of: '2026-11-21T08:00:00.123456Z'" in result.stdout
    assert "hedgecore: note: deribit: 2 left out: BTC-25DEC26-200000-C (no mark IV)" in result.stderr


def test_positions_snapshot_file_parses(server, tmp_path):
    path = tmp_path / "book.yaml"
    result = run("positions", "snapshot", "--venue", "deribit", "-o", path)
    assert result.exit_code == 0, result.output
    data, _ = load_yaml(path)
    portfolio = parse_portfolio(data)
    assert {(p.account, p.instrument.name, p.quantity) for p in portfolio.positions} >= {
        ("desk", "BTC-PERPETUAL", -50000.0), ("desk_mm", "BTC-25DEC26-80000-P", 10.5)}
    assert SECRET not in path.read_text()


def test_venue_failure_exits_4_with_one_line(server, tmp_path):
    server.route("/api/v2/public/get_book_summary_by_currency?kind=option",
                 Reply(fixture("deribit", "error_invalid_params.json"), status=400))
    path = tmp_path / "market.yaml"
    result = run("market", "snapshot", "--venue", "deribit", "-u", "BTC", "-o", path)
    assert result.exit_code == 4, result.output
    assert result.stderr == ("hedgecore: error: deribit public/get_book_summary_by_currency: error -32602 "
                             "Invalid params (wrong format) (HTTP 400)\n")
    assert not path.exists()


def test_timeout_option_bounds_the_fetch(server):
    server.route("/api/v2/public/get_index_price", Reply(fixture("deribit", "get_index_price_btc.json"),
                                                         delay_seconds=2.0))
    result = run("market", "snapshot", "--venue", "deribit", "-u", "BTC", "--timeout", "0.3")
    assert result.exit_code == 4, result.output
    assert "timed out: the fetch took longer than its 0.3 s budget" in result.stderr


def test_unknown_venue_is_bad_usage(server):
    result = run("market", "snapshot", "--venue", "nowhere", "-u", "BTC")
    assert result.exit_code == 2, result.output
    assert "unknown venue 'nowhere' (known: deribit, bybit)" in result.stderr


def test_debug_traceback_after_auth_holds_no_secret(server):
    token = fixture("deribit", "auth.json")["result"]["access_token"]
    echo = {"jsonrpc": "2.0", "error": {"code": 13009, "message": f"unauthorized {SECRET} {token}"},
            "usIn": 1, "usOut": 2, "usDiff": 1, "testnet": False}
    server.route("/api/v2/private/get_positions", Reply(echo, status=400))
    result = run("positions", "snapshot", "--venue", "deribit", "--debug")
    assert result.exit_code == 4, result.output
    assert "Traceback" in result.stderr
    assert "error 13009 unauthorized *** ***" in result.stderr
    assert SECRET not in result.output
    assert token not in result.output


def test_missing_credentials_exit_4_naming_the_variables(server, monkeypatch, tmp_path):
    monkeypatch.delenv("HEDGECORE_DERIBIT_CLIENT_ID")
    monkeypatch.delenv("HEDGECORE_DERIBIT_CLIENT_SECRET")
    monkeypatch.setenv("HEDGECORE_DERIBIT_CREDENTIALS", str(tmp_path / "absent"))
    result = run("positions", "snapshot", "--venue", "deribit")
    assert result.exit_code == 4, result.output
    assert "no credentials: set HEDGECORE_DERIBIT_CLIENT_ID and HEDGECORE_DERIBIT_CLIENT_SECRET" in result.stderr
    assert server.seen == []
