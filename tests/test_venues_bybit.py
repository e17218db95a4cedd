"""Bybit's public option tickers through the local server: the venue interface is not a
Deribit special case. Units normalised: decimal strings to numbers, IV already a fraction,
USDC-settled options renamed to hedgecore's linear names, quotes with their sizes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, fixture

from hedgecore.errors import VenueError
from hedgecore.market import parse_market
from hedgecore.venues import bybit, venue_module


@pytest.fixture
def server():
    venue = VenueServer().start()
    venue.route("/v5/market/tickers?category=option", Reply(fixture("bybit", "tickers_option_btc.json")))
    venue.route("/v5/market/tickers?category=linear", Reply(fixture("bybit", "tickers_linear_btcusdt.json")))
    yield venue
    venue.stop()


def test_bybit_snapshot_figures_equal_the_payload(server):
    snapshot = venue_module("bybit").fetch_market(["BTC"], 5.0, url=server.url)
    btc = snapshot.document["underlyings"]["BTC"]
    assert snapshot.document["as_of"] == "2026-11-21T08:00:00.456000Z"
    assert btc["spot"] == 96501.5
    assert btc["futures"] == {"27NOV26": 96611.0, "25DEC26": 97150.5}
    assert btc["vols"]["BTC_USDC-25DEC26-100000-C"] == 0.5041      # a fraction already, no /100
    assert btc["vols"]["BTC_USDT-27NOV26-95000-C"] == 0.4902
    assert btc["quotes"]["BTC_USDC-25DEC26-100000-C"] == {"bid": 3850.0, "ask": 3950.0, "bid_size": 1.5,
                                                          "ask_size": 2.25}
    assert btc["quotes"]["BTC_USDC-25DEC26-90000-P"] == {"ask": 2500.0, "ask_size": 3.0}  # "0" bid: no bid
    assert btc["perpetuals"] == {"BTCUSDT": {"price": 96538.2, "funding_rate_8h": 0.0001}}
    assert ("BTC-27NOV26-110000-C", "no mark IV") in snapshot.excluded
    market = parse_market(snapshot.document)
    option = market.underlyings["BTC"]
    from hedgecore.instruments import parse_instrument_name

    linear = parse_instrument_name("BTC_USDC-25DEC26-100000-C")
    assert linear.settlement == "linear"
    assert option.vol(linear, linear.name, market.as_of) == 0.5041


def test_bybit_error_code_is_a_venue_error(server):
    server.route("/v5/market/tickers?category=option", Reply(fixture("bybit", "error_params.json")))
    with pytest.raises(VenueError, match=r"bybit /v5/market/tickers\?category=option: retCode 10001 params error"):
        bybit.fetch_market(["BTC"], 5.0, url=server.url)


def test_bybit_text_that_is_not_a_number(server):
    payload = fixture("bybit", "tickers_option_btc.json")
    payload["result"]["list"][0]["markIv"] = "n/a"
    server.route("/v5/market/tickers?category=option", Reply(payload))
    with pytest.raises(VenueError, match=r"BTC-25DEC26-100000-C: markIv must be a number, got the text 'n/a'"):
        bybit.fetch_market(["BTC"], 5.0, url=server.url)


def test_bybit_has_no_positions():
    with pytest.raises(VenueError, match="positions are available from deribit only"):
        bybit.fetch_positions(1.0)
