"""The market file's `quotes` key (issue 13's input, filled by the venue snapshots)."""

from __future__ import annotations

import pytest

from hedgecore.errors import ConfigError
from hedgecore.market import OptionQuote, parse_market


def market(quotes: object) -> dict:
    return {"as_of": "2026-11-21T08:00:00Z", "underlyings": {"BTC": {"spot": 96500, "quotes": quotes}}}


def test_quotes_parse_with_optional_sides():
    parsed = parse_market(market({"btc-25dec26-100000-c": {"bid": 0.0195, "ask": 0.0205, "bid_size": 25,
                                                             "ask_size": 30},
                                  "BTC-25DEC26-120000-C": {"ask": 0.0095}}))
    quotes = parsed.underlyings["BTC"].quotes
    assert quotes["BTC-25DEC26-100000-C"] == OptionQuote(0.0195, 0.0205, 25.0, 30.0)
    assert quotes["BTC-25DEC26-120000-C"] == OptionQuote(None, 0.0095, None, None)


def test_a_market_without_quotes_has_none():
    assert parse_market({"as_of": "2026-11-21T08:00:00Z", "underlyings": {"BTC": {"spot": 96500}}}
                        ).underlyings["BTC"].quotes == {}


@pytest.mark.parametrize(("quote", "path", "message"), [
    ({"bid": 0.03, "ask": 0.02}, "underlyings.BTC.quotes.X.bid", "crossed quote: bid 0.03 is above ask 0.02"),
    ({"bid": -0.01}, "underlyings.BTC.quotes.X.bid", "must be >= 0, got -0.01"),
    ({"ask_size": -1}, "underlyings.BTC.quotes.X.ask_size", "must be >= 0, got -1"),
    ({"bid_px": 1}, "underlyings.BTC.quotes.X.bid_px", "unknown key"),
])
def test_bad_quotes_name_the_field(quote, path, message):
    with pytest.raises(ConfigError) as caught:
        parse_market(market({"X": quote}))
    assert caught.value.path == path
    assert message in caught.value.message
