"""Fills read from Deribit's trade history (a local server with the documented payloads):
contracts from amounts, fees in USD, only the hedge instruments, pages followed, each trade
stored once, no secret in a URL or in the journal."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, deribit_account_routes, fixture

from hedgecore.errors import VenueError
from hedgecore.journal.store import Journal
from hedgecore.journal.venue_fills import TRADES_METHOD, deribit_fills

SECRET = "s3cr3t-W0H6FJW4IRPZ1MOQ8FP6"
CREDENTIALS = {"HEDGECORE_DERIBIT_CLIENT_ID": "fo7WAPRm4P", "HEDGECORE_DERIBIT_CLIENT_SECRET": SECRET}
TRADES = f"/api/v2/{TRADES_METHOD}"
SINCE = datetime(2026, 11, 21, 7, 0, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def server():
    venue = VenueServer().start()
    deribit_account_routes(venue)
    venue.route(TRADES, Reply(fixture("deribit", "get_user_trades_btc_page1.json")),
                Reply(fixture("deribit", "get_user_trades_btc_page2.json")))
    yield venue
    venue.stop()


def test_trades_of_the_hedge_instruments_become_fills(server, tmp_path):
    fills = deribit_fills(["BTC-PERPETUAL", "BTC-25DEC26"], SINCE, UNTIL, 5.0, url=server.url, environ=CREDENTIALS)
    assert [fill.venue_trade_id for fill in fills] == ["BTC-1001", "BTC-1002"]   # BTC-26MAR27 is not hedged with
    perpetual, future = fills
    assert perpetual.at == datetime(2026, 11, 21, 8, 0, 30, tzinfo=timezone.utc)
    assert (perpetual.underlying, perpetual.instrument, perpetual.side) == ("BTC", "BTC-PERPETUAL", "sell")
    assert perpetual.quantity == 429690 / 10        # USD amount over 10 USD a contract
    assert perpetual.price == 96530.0
    assert perpetual.fee_usd == pytest.approx(0.000223 * 96500.0, rel=1e-12)   # coin fee at the index
    assert perpetual.source == "deribit"
    assert future.quantity == 100000 / 10
    calls = server.calls(TRADES)
    assert len(calls) == 2                          # has_more: the second page was asked for
    assert calls[0].query["kind"] == "future"
    assert calls[0].query["start_timestamp"] == str(int(SINCE.timestamp() * 1000))
    assert calls[1].query["start_timestamp"] == str(1795248000000 + 95_000)
    assert all(SECRET not in call.path and SECRET not in str(call.query) for call in server.seen)
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        for _ in range(2):                          # read twice: stored once
            for fill in fills:
                journal.record_fill(fill)
        assert [fill["source"] for fill in journal.fills()] == ["deribit", "deribit"]
        assert journal.latest_fill_of("deribit") == datetime(2026, 11, 21, 8, 1, 35, tzinfo=timezone.utc)
    assert SECRET.encode() not in path.read_bytes()


def test_a_malformed_trade_names_the_field(server):
    page = fixture("deribit", "get_user_trades_btc_page1.json")
    page["result"]["trades"][0]["amount"] = "lots"
    server.route(TRADES, Reply(page))
    with pytest.raises(VenueError, match="BTC-PERPETUAL: amount must be a number"):
        deribit_fills(["BTC-PERPETUAL"], SINCE, UNTIL, 5.0, url=server.url, environ=CREDENTIALS)


def test_a_session_signs_in_once_and_again_when_its_token_expires(server):
    from hedgecore.venues.base import Session

    session = Session()
    token = fixture("deribit", "auth.json")["result"]["access_token"]
    for _ in range(2):
        server.route(TRADES, Reply(fixture("deribit", "get_user_trades_btc_page2.json")))
        deribit_fills(["BTC-PERPETUAL"], SINCE, UNTIL, 5.0, url=server.url, environ=CREDENTIALS, session=session)
    assert len(server.calls("/api/v2/public/auth")) == 1          # the second read reused the token
    assert session.token == token
    assert session.valid_token() == token
    assert {call.headers.get("authorization") for call in server.calls(TRADES)} == {f"Bearer {token}"}
    session.expires_at = 0.0                                      # expired (or within a minute of it)
    server.route(TRADES, Reply(fixture("deribit", "get_user_trades_btc_page2.json")))
    deribit_fills(["BTC-PERPETUAL"], SINCE, UNTIL, 5.0, url=server.url, environ=CREDENTIALS, session=session)
    assert len(server.calls("/api/v2/public/auth")) == 2
