"""Deribit's USDC-settled (linear) chain, instrument terms and the settlement boundary, through
the local stand-in serving the documented payloads (tests/fixtures/deribit): USDC options join
their coin's section with the payload's vols and USDC quotes, the coin-settled chain's forward
wins for an expiry both chains price, get_instruments gives each future's fees and sizes, and a
row still listed just after its 08:00 UTC expiry is left out with a note (an error beyond the
grace window)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, deribit_market_routes, fixture

from hedgecore.cli.main import app
from hedgecore.errors import VenueError
from hedgecore.instruments import parse_instrument_name
from hedgecore.market import parse_market
from hedgecore.venues import deribit

SUMMARY = "/api/v2/public/get_book_summary_by_currency"
USDC_OPTIONS = SUMMARY + "?currency=USDC&kind=option"
USDC_FUTURES = SUMMARY + "?currency=USDC&kind=future"
US_AT_0800 = 1795248000000000   # 2026-11-21T08:00:00Z in microseconds, the fixtures' settlement hour


@pytest.fixture
def server():
    venue = VenueServer().start()
    deribit_market_routes(venue)
    yield venue
    venue.stop()


def fetch(server: VenueServer):
    return deribit.fetch_market(["BTC"], 5.0, url=server.url)


def usdc_rows() -> dict[str, dict]:
    return {row["instrument_name"]: row for row in fixture("deribit", "get_book_summary_usdc_option.json")["result"]}


def test_usdc_options_join_their_coin_with_the_payloads_vols_and_usdc_quotes(server):
    snapshot = fetch(server)
    btc = snapshot.document["underlyings"]["BTC"]
    for name, row in usdc_rows().items():
        if not name.startswith("BTC_USDC-"):
            assert name not in btc["vols"]
            assert name not in btc["quotes"]
            continue
        assert btc["vols"][name] == pytest.approx(row["mark_iv"] / 100.0, rel=1e-12, abs=0)
        assert btc["quotes"][name] == {"bid": row["bid_price"], "ask": row["ask_price"]}   # USDC, as quoted
    assert list(snapshot.document["underlyings"]) == ["BTC"]
    # a perpetual of the USDC chain, with its funding per 8 h; ETH's is not BTC's
    perpetual = next(r for r in fixture("deribit", "get_book_summary_usdc_future.json")["result"]
                     if r["instrument_name"] == "BTC_USDC-PERPETUAL")
    assert btc["perpetuals"]["BTC_USDC-PERPETUAL"] == {"price": perpetual["mark_price"],
                                                       "funding_rate_8h": perpetual["funding_8h"]}
    assert "ETH_USDC-PERPETUAL" not in btc["perpetuals"]


def test_coin_settled_forward_and_smile_win_where_both_chains_price_an_expiry(server):
    btc = fetch(server).document["underlyings"]["BTC"]
    coin = next(r for r in fixture("deribit", "get_book_summary_btc_option.json")["result"]
                if r["instrument_name"] == "BTC-25DEC26-100000-C")
    linear = usdc_rows()
    assert linear["BTC_USDC-25DEC26-100000-C"]["underlying_price"] != coin["underlying_price"]
    assert btc["futures"]["25DEC26"] == coin["underlying_price"]           # both chains: coin-settled wins
    assert btc["futures"]["29JAN27"] == linear["BTC_USDC-29JAN27-100000-C"]["underlying_price"]  # USDC only
    assert btc["smiles"]["25DEC26"][100000] == coin["mark_iv"] / 100.0      # the coin-settled call's vol
    assert btc["smiles"]["25DEC26"][90000] == linear["BTC_USDC-25DEC26-90000-P"]["mark_iv"] / 100.0  # filled
    assert btc["smiles"]["29JAN27"] == {100000: 0.515}                      # OTM call at K >= F


def test_usdc_option_values_from_the_parsed_snapshot(server):
    market = parse_market(fetch(server).document)
    btc = market.underlyings["BTC"]
    option = parse_instrument_name("BTC_USDC-29JAN27-100000-C")
    assert option.settlement == "linear"
    assert btc.forward(option.expiry, market.as_of) == 97880.0
    assert btc.vol(option, option.name, market.as_of) == pytest.approx(0.515, rel=1e-12)
    assert btc.quotes["BTC_USDC-29JAN27-100000-C"].ask == 5610.0


def test_linear_dated_future_fills_only_expiries_no_coin_chain_prices(server):
    payload = copy.deepcopy(fixture("deribit", "get_book_summary_usdc_future.json"))
    template = payload["result"][0]
    for name, mark in (("BTC_USDC-25DEC26", 97400.0), ("BTC_USDC-30APR27", 99800.0)):
        row = dict(template, instrument_name=name, mark_price=mark)
        del row["funding_8h"], row["current_funding"]
        payload["result"].append(row)
    server.route(USDC_FUTURES, Reply(payload))
    btc = fetch(server).document["underlyings"]["BTC"]
    assert btc["futures"]["25DEC26"] == 97150.0   # the coin chain's options' forward, not 97400
    assert btc["futures"]["30APR27"] == 99800.0


def test_usdc_option_without_mark_iv_is_named(server):
    payload = copy.deepcopy(fixture("deribit", "get_book_summary_usdc_option.json"))
    payload["result"][2]["mark_iv"] = None
    server.route(USDC_OPTIONS, Reply(payload))
    snapshot = fetch(server)
    assert ("BTC_USDC-29JAN27-100000-C", "no mark IV") in snapshot.excluded
    assert "BTC_USDC-29JAN27-100000-C" not in snapshot.document["underlyings"]["BTC"]["vols"]


def test_usdc_chain_failure_is_venue_unavailable(server):
    server.route(USDC_OPTIONS, Reply(fixture("deribit", "error_invalid_params.json"), status=400))
    with pytest.raises(VenueError) as caught:
        fetch(server)
    assert caught.value.endpoint == "public/get_book_summary_by_currency"


# --- instrument terms --------------------------------------------------------------------------

def test_instrument_terms_equal_get_instruments(server):
    btc = fetch(server).document["underlyings"]["BTC"]
    rows = (fixture("deribit", "get_instruments_btc.json")["result"]
            + fixture("deribit", "get_instruments_usdc.json")["result"])
    futures = [row for row in rows if row["kind"] == "future"]
    assert sorted(btc["instruments"]) == sorted(row["instrument_name"] for row in futures)
    for row in futures:
        assert btc["instruments"][row["instrument_name"]] == {
            "maker_fee": row["maker_commission"], "taker_fee": row["taker_commission"],
            "min_trade_amount": row["min_trade_amount"], "tick_size": row["tick_size"],
            "contract_size": row["contract_size"]}
    calls = server.calls("/api/v2/public/get_instruments")
    assert {(c.query["currency"], c.query["kind"], c.query["expired"]) for c in calls} == {
        ("BTC", "future", "false"), ("USDC", "future", "false")}
    spec = parse_market(fetch(server).document).underlyings["BTC"].instruments["BTC_USDC-PERPETUAL"]
    assert (spec.taker_fee, spec.min_trade_amount, spec.contract_size) == (0.0005, 0.0001, 0.001)


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("taker_commission", "0.0005", "taker_commission must be a number, got the text '0.0005'"),
    ("min_trade_amount", 0, "min_trade_amount must be > 0"),
    ("maker_commission", 0.2, "maker_commission must be a fraction of notional in [-0.01, 0.05)"),
])
def test_malformed_instrument_row_names_instrument_and_field(server, field, value, problem):
    payload = copy.deepcopy(fixture("deribit", "get_instruments_btc.json"))
    payload["result"][0][field] = value
    server.route("/api/v2/public/get_instruments?currency=BTC", Reply(payload))
    with pytest.raises(VenueError) as caught:
        fetch(server)
    assert caught.value.endpoint == "public/get_instruments"
    assert f"BTC-PERPETUAL: {problem}" in str(caught.value)


# --- the settlement boundary ---------------------------------------------------------------------

def chain_with_todays_expiry(server: VenueServer, us_out: int) -> None:
    """The fixtures' chain plus an option and a future expiring today at 08:00 UTC, every
    answer sent at `us_out`."""
    def at(name: str) -> dict:
        payload = copy.deepcopy(fixture("deribit", name))
        payload["usOut"] = us_out
        return payload

    options = at("get_book_summary_btc_option.json")
    options["result"].append(dict(options["result"][0], instrument_name="BTC-21NOV26-96000-C"))
    futures = at("get_book_summary_btc_future.json")
    futures["result"].append(dict(futures["result"][1], instrument_name="BTC-21NOV26"))
    server.route(SUMMARY + "?kind=option", Reply(options))
    server.route(SUMMARY + "?kind=future", Reply(futures))
    for path, name in (("/api/v2/public/get_index_price", "get_index_price_btc.json"),
                       (USDC_OPTIONS, "get_book_summary_usdc_option.json"),
                       (USDC_FUTURES, "get_book_summary_usdc_future.json"),
                       ("/api/v2/public/get_instruments?currency=BTC", "get_instruments_btc.json"),
                       ("/api/v2/public/get_instruments?currency=USDC", "get_instruments_usdc.json")):
        server.route(path, Reply(at(name)))


def test_rows_listed_within_the_grace_after_expiry_are_left_out_with_a_note(server):
    chain_with_todays_expiry(server, US_AT_0800 + 59 * 60 * 1_000_000)   # 08:59 UTC
    snapshot = fetch(server)
    btc = snapshot.document["underlyings"]["BTC"]
    notes = dict(snapshot.excluded)
    for name in ("BTC-21NOV26-96000-C", "BTC-21NOV26"):
        assert notes[name] == ("expired at 2026-11-21T08:00:00Z, still listed at the venue's time "
                               "2026-11-21T08:59:00Z (settlement under way)")
    assert "BTC-21NOV26-96000-C" not in btc["vols"]
    assert "BTC-21NOV26-96000-C" not in btc["quotes"]
    assert "21NOV26" not in btc["futures"]
    assert "21NOV26" not in btc["smiles"]
    parse_market(snapshot.document)


def test_rows_expired_beyond_the_grace_are_an_error(server):
    chain_with_todays_expiry(server, US_AT_0800 + 61 * 60 * 1_000_000)   # 09:01 UTC
    with pytest.raises(VenueError, match=r"BTC-21NOV26-96000-C: instrument_name expiry 2026-11-21T08:00:00Z is "
                                         r"not after the venue's time 2026-11-21T09:01:00Z, by more than the 1 h "
                                         r"settlement grace"):
        fetch(server)


def test_market_snapshot_at_settlement_names_the_rows_it_left_out(server, monkeypatch):
    chain_with_todays_expiry(server, US_AT_0800 + 5 * 1_000_000)          # 08:00:05 UTC
    monkeypatch.setenv("HEDGECORE_DERIBIT_URL", server.url)
    result = CliRunner().invoke(app, ["market", "snapshot", "--venue", "deribit", "-u", "BTC"])
    assert result.exit_code == 0, result.output
    assert "BTC-21NOV26-96000-C (expired at 2026-11-21T08:00:00Z" in result.stderr
    assert "#   BTC-21NOV26: expired at 2026-11-21T08:00:00Z" in result.stdout
    assert "BTC-21NOV26-96000-C:" not in result.stdout.split("vols:", 1)[1]
