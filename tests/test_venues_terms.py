"""A venue's instrument terms (market `underlyings.<COIN>.instruments`) filling the fees and lot
sizes a hedge policy leaves out: the market file's key, the conversion of Deribit's
min_trade_amount into hedgecore contracts, the policy's own values winning, and `check` against
the local Deribit stand-in using the venue's taker fee and lot size."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import VenueServer, deribit_market_routes

from hedgecore.cli.main import app
from hedgecore.errors import ConfigError
from hedgecore.market import InstrumentSpec, parse_market
from hedgecore.policy import parse_policy, with_venue_terms

BOOK = """\
name: short calls
positions:
  - instrument: BTC-25DEC26-100000-C
    quantity: -25
  - instrument: BTC-27NOV26-90000-P
    quantity: 10
"""


def market_with(instruments: dict) -> dict:
    return {"as_of": "2026-11-21T08:00:00Z",
            "underlyings": {"BTC": {"spot": 96500.0, "perpetuals": {"BTC-PERPETUAL": {"price": 96530.0}},
                                    "instruments": instruments}}}


def policy_with(instrument: dict, band: dict | None = None) -> dict:
    return {"underlyings": {"BTC": {"band": band or {"method": "fixed", "half_width": 0.1},
                                    "instruments": [instrument]}}}


def test_market_file_instruments_key_is_parsed():
    market = parse_market(market_with({"btc-perpetual": {"maker_fee": -0.0001, "taker_fee": 0.0005,
                                                         "min_trade_amount": 10, "tick_size": 0.5,
                                                         "contract_size": 10}}))
    assert market.underlyings["BTC"].instruments["BTC-PERPETUAL"] == InstrumentSpec(-0.0001, 0.0005, 10, 0.5, 10)
    assert parse_market(market_with({"BTC-PERPETUAL": {"taker_fee": 0.0005}})).underlyings["BTC"].instruments[
        "BTC-PERPETUAL"] == InstrumentSpec(taker_fee=0.0005)


@pytest.mark.parametrize(("spec", "path", "problem"), [
    ({"taker_fee": 0.5}, "taker_fee", "must be a fraction of notional in [-0.01, 0.05)"),
    ({"min_trade_amount": 0}, "min_trade_amount", "must be > 0"),
    ({"lot": 1}, "lot", "unknown key"),
])
def test_market_file_instruments_key_refuses_bad_values(spec, path, problem):
    with pytest.raises(ConfigError) as caught:
        parse_market(market_with({"BTC-PERPETUAL": spec}))
    assert caught.value.path == f"underlyings.BTC.instruments.BTC-PERPETUAL.{path}"
    assert problem in str(caught.value)


def terms(instrument: dict, spec: dict, band: dict | None = None):
    policy = with_venue_terms(parse_policy(policy_with(instrument, band)), parse_market(market_with(spec)))
    return policy.underlyings["BTC"].instruments[0]


def test_inverse_min_trade_amount_in_usd_becomes_contracts_of_ten_usd():
    hedge = terms({"name": "BTC-PERPETUAL"}, {"BTC-PERPETUAL": {"taker_fee": 0.0005, "maker_fee": -0.0001,
                                                                "min_trade_amount": 100, "contract_size": 10}})
    assert (hedge.fee, hedge.lot_size, hedge.min_order) == (0.0005, 10.0, 10.0)   # 100 USD = 10 contracts


def test_linear_min_trade_amount_in_coin_becomes_contracts_of_the_policys_size():
    hedge = terms({"name": "BTC_USDC-PERPETUAL", "contract_size": 0.01},
                  {"BTC_USDC-PERPETUAL": {"taker_fee": 0.0005, "min_trade_amount": 0.001}})
    assert hedge.lot_size == pytest.approx(0.1, rel=1e-15)    # 0.001 BTC in contracts of 0.01 BTC
    assert hedge.min_order == hedge.lot_size


def test_policy_values_always_win_and_maker_execution_takes_the_maker_fee():
    spec = {"BTC-PERPETUAL": {"taker_fee": 0.0005, "maker_fee": -0.0001, "min_trade_amount": 100}}
    explicit = terms({"name": "BTC-PERPETUAL", "taker_fee": 0.0002, "lot_size": 2, "min_order": 3}, spec)
    assert (explicit.fee, explicit.lot_size, explicit.min_order) == (0.0002, 2.0, 3.0)
    explicit_zero = terms({"name": "BTC-PERPETUAL", "taker_fee": 0.0}, spec)
    assert explicit_zero.fee == 0.0
    assert explicit_zero.lot_size == 10.0
    maker = terms({"name": "BTC-PERPETUAL", "execution": "maker", "half_spread": 0.0002}, spec)
    assert maker.fee == -0.0001
    lot_only = terms({"name": "BTC-PERPETUAL", "lot_size": 20}, spec)
    assert (lot_only.lot_size, lot_only.min_order) == (20.0, 20.0)   # never below one of the policy's lots


def test_no_terms_in_the_market_keeps_the_policys_defaults():
    hedge = terms({"name": "BTC-PERPETUAL"}, {"BTC-25DEC26": {"taker_fee": 0.0005}})
    assert (hedge.fee, hedge.lot_size, hedge.min_order) == (0.0, 1.0, 1.0)


def test_a_venue_rebate_below_the_half_spread_is_refused_for_a_cost_band():
    with pytest.raises(ConfigError) as caught:
        terms({"name": "BTC-PERPETUAL", "execution": "maker"}, {"BTC-PERPETUAL": {"maker_fee": -0.0001}},
              band={"method": "whalley_wilmott", "risk_aversion": 1e-4})
    assert caught.value.path.startswith("underlyings.BTC.instruments[0]")
    assert "give maker_fee in the policy" in str(caught.value)


# --- check against the local stand-in ------------------------------------------------------------

@pytest.fixture
def server(monkeypatch, tmp_path):
    venue = VenueServer().start()
    deribit_market_routes(venue)
    monkeypatch.setenv("HEDGECORE_DERIBIT_URL", venue.url)
    monkeypatch.setenv("HEDGECORE_JOURNAL", str(tmp_path / "journal.sqlite"))
    yield venue
    venue.stop()


def check(tmp_path: Path, instrument: dict, *market: str) -> dict:
    book, policy = tmp_path / "book.yaml", tmp_path / "policy.yaml"
    book.write_text(BOOK)
    policy.write_text(json.dumps({"underlyings": {"BTC": {"band": {"method": "fixed", "half_width": 0.1},
                                                          "rebalance_to": "target", "instruments": [instrument]}}}))
    args = ["check", str(book), *(market or ("--venue", "deribit")), "--policy", str(policy), "-f", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output   # outside the band: action
    return json.loads(result.stdout)


def test_check_without_fees_in_the_policy_uses_the_venues_taker_fee_and_lot_size(server, tmp_path):
    report = check(tmp_path, {"name": "BTC_USDC-PERPETUAL"})
    [trade] = report["trades"]
    # get_instruments_usdc.json: taker_commission 0.0005, min_trade_amount 0.0001 BTC (contracts of 1 BTC)
    assert trade["fee_usd"] == pytest.approx(0.0005 * trade["notional_usd"], rel=1e-12)
    lots = trade["quantity"] / 0.0001
    assert abs(lots - round(lots)) < 1e-6
    assert trade["quantity"] != round(trade["quantity"])
    delta_before = report["underlyings"][0]["delta_before"]
    assert abs(trade["quantity"] - abs(delta_before)) <= 0.5e-4 + 1e-12     # to target within half a lot


def test_check_with_explicit_policy_values_ignores_the_venues(server, tmp_path):
    report = check(tmp_path, {"name": "BTC_USDC-PERPETUAL", "taker_fee": 0.001, "lot_size": 1})
    [trade] = report["trades"]
    assert trade["fee_usd"] == pytest.approx(0.001 * trade["notional_usd"], rel=1e-12)
    assert trade["quantity"] == round(trade["quantity"]) == round(abs(report["underlyings"][0]["delta_before"]))


def test_check_on_the_snapshot_file_uses_its_terms_like_venue(server, tmp_path):
    market = tmp_path / "market.yaml"
    taken = CliRunner().invoke(app, ["market", "snapshot", "--venue", "deribit", "-u", "BTC", "-o", str(market)])
    assert taken.exit_code == 0, taken.output
    live = check(tmp_path, {"name": "BTC_USDC-PERPETUAL"})
    replay = check(tmp_path, {"name": "BTC_USDC-PERPETUAL"}, "--market", str(market))
    assert replay["trades"] == live["trades"]
    assert not math.isclose(live["trades"][0]["quantity"], round(live["trades"][0]["quantity"]))
