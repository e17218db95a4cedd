"""Hedge decisions: bands, actions, trades in contracts, costs and limits.

Expected numbers are worked out here from the policy's definitions and REFERENCE section 2
(the band formulas written out again, not taken from hedgecore.bands), on small books whose
net delta is known in closed form (perpetuals and spot only) or taken from the valuation
tested in test_portfolio.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from hedgecore.errors import ConfigError
from hedgecore.hedging import HedgePlan, plan_hedges
from hedgecore.market import parse_market
from hedgecore.policy import parse_policy
from hedgecore.portfolio import parse_portfolio
from hedgecore.valuation import value_book

AS_OF = "2026-11-21T08:00:00Z"
S, PERP_PRICE, FUNDING_8H = 100000.0, 100050.0, 0.0001
MARKET = {"as_of": AS_OF, "underlyings": {
    "BTC": {"spot": S, "futures": {"25DEC26": 101000},
            "perpetuals": {"BTC-PERPETUAL": {"price": PERP_PRICE, "funding_rate_8h": FUNDING_8H}},
            "smiles": {"25DEC26": {80000: 0.6, 100000: 0.5, 120000: 0.55}}},
    "ETH": {"spot": 3000.0}}}
PERP = {"name": "BTC-PERPETUAL", "taker_fee": 0.0005, "half_spread": 0.0001, "lot_size": 1, "min_order": 1}


def plan(positions: list[dict[str, Any]], underlying_policy: dict[str, Any], *,
         market: dict[str, Any] | None = None, book_limits: dict[str, Any] | None = None) -> HedgePlan:
    portfolio = parse_portfolio({"positions": positions})
    market_data = parse_market(market or MARKET)
    policy_doc: dict[str, Any] = {"underlyings": {"BTC": underlying_policy}}
    if book_limits:
        policy_doc["book"] = {"limits": book_limits}
    policy = parse_policy(policy_doc)
    return plan_hedges(portfolio, market_data, policy, value_book(portfolio, market_data))


def spot_book(btc: float) -> list[dict[str, Any]]:
    return [{"type": "spot", "underlying": "BTC", "quantity": btc}]


def fixed(half_width: float, **extra: Any) -> dict[str, Any]:
    return {"band": {"method": "fixed", "half_width": half_width}, "instruments": [PERP], **extra}


def test_inside_the_band_does_nothing() -> None:
    result = plan(spot_book(0.8), fixed(1.0))
    decision = result.decisions[0]
    assert (decision.band.lower, decision.band.upper) == (-1.0, 1.0)
    assert decision.in_band
    assert decision.action == "none"
    assert result.trades == []
    assert result.status == "ok"
    assert decision.delta_after == decision.delta_before == 0.8


def test_fixed_band_trades_to_the_edge_in_rounded_contracts() -> None:
    result = plan(spot_book(5.0), fixed(1.0, funding_horizon="24h"))
    decision = result.decisions[0]
    assert not decision.in_band
    assert decision.action == "hedge"
    trade = result.trades[0]
    per_contract = 10.0 / PERP_PRICE                 # an inverse contract of 10 USD is 10/P BTC
    contracts = round((1.0 - 5.0) / per_contract)    # to the upper edge, nearest whole lot
    assert (trade.instrument, trade.side, trade.quantity) == ("BTC-PERPETUAL", "sell", abs(contracts))
    assert trade.delta_change == pytest.approx(contracts * per_contract, rel=1e-14)
    assert decision.delta_after == pytest.approx(5.0 + contracts * per_contract, rel=1e-14)
    assert abs(decision.delta_after - 1.0) <= per_contract / 2
    notional = abs(contracts) * 10.0
    funding = contracts * per_contract * S * FUNDING_8H * 24 / 8   # q S f_8h H / 8h, q signed
    assert funding < 0          # a short perp receives positive funding
    assert trade.est_cost_usd == pytest.approx(notional * (0.0005 + 0.0001) + funding, rel=1e-12)
    assert result.status == "action"


def test_rebalance_to_target() -> None:
    result = plan(spot_book(-5.0), fixed(1.0, rebalance_to="target"))
    trade = result.trades[0]
    assert trade.side == "buy"
    assert result.decisions[0].delta_after == pytest.approx(0.0, abs=10.0 / PERP_PRICE)


def test_target_delta_moves_the_band() -> None:
    result = plan(spot_book(5.0), fixed(1.0, target_delta=4.5))
    decision = result.decisions[0]
    assert (decision.band.lower, decision.band.upper) == (3.5, 5.5)
    assert decision.action == "none"


def test_cheapest_instrument_wins_and_lot_size_and_min_order_apply() -> None:
    spot_hedge = {"name": "spot", "taker_fee": 0.0001, "lot_size": 0.01, "min_order": 0.01}
    result = plan(spot_book(3.0), {"band": {"method": "fixed", "half_width": 1.0},
                                   "instruments": [PERP, spot_hedge]})
    trade = result.trades[0]
    assert trade.instrument == "BTC-SPOT"                  # 1 bp beats 6 bp + funding received
    assert trade.quantity == pytest.approx(2.0)
    assert len(result.decisions[0].alternatives) == 2
    costs = [t.est_cost_usd for t in result.decisions[0].alternatives]
    assert costs == sorted(costs)

    # 0.3 BTC outside the band with 1 BTC lots: the nearest whole lot (0) stays outside, so one
    # lot is sold, which lands inside the band rather than a fraction of a lot outside it.
    big_lots = {"name": "spot", "taker_fee": 0.0001, "lot_size": 1, "min_order": 1}
    result = plan(spot_book(1.3), {"band": {"method": "fixed", "half_width": 1.0}, "instruments": [big_lots]})
    assert (result.trades[0].side, result.trades[0].quantity) == ("sell", 1.0)
    assert result.decisions[0].delta_after == pytest.approx(0.3)

    # With a 5 BTC minimum order no allowed trade is possible: hold.
    big_minimum = {**big_lots, "min_order": 5}
    result = plan(spot_book(1.3), {"band": {"method": "fixed", "half_width": 1.0}, "instruments": [big_minimum]})
    assert result.decisions[0].action == "hold"
    assert result.trades == []
    assert result.status == "ok"


def test_rounding_lands_inside_the_band() -> None:
    """Trading to the edge, the last lot is rounded inward: never a hair outside the band."""
    lot = {"name": "spot", "lot_size": 0.3}
    for delta in (1.05, 1.4, 2.0, 3.33, -1.01, -2.72):
        result = plan(spot_book(delta), {"band": {"method": "fixed", "half_width": 1.0}, "instruments": [lot]})
        after = result.decisions[0].delta_after
        assert -1.0 <= after <= 1.0, (delta, after)
        assert abs(after) > 1.0 - 0.3, (delta, after)     # still within one lot of the edge


def test_min_interval_waits() -> None:
    policy = fixed(1.0, min_interval="1h", last_hedge_at="2026-11-21T07:30:00Z")
    result = plan(spot_book(5.0), policy)
    assert result.decisions[0].action == "wait"
    assert result.trades == []
    policy["last_hedge_at"] = "2026-11-21T06:30:00Z"
    assert plan(spot_book(5.0), policy).decisions[0].action == "hedge"


def test_nested_band_with_explicit_widths_returns_to_the_inner_band() -> None:
    policy = {"band": {"method": "nested", "outer_half_width": 2.0, "inner_half_width": 0.5},
              "instruments": [{"name": "spot", "lot_size": 0.0001}]}
    result = plan(spot_book(-2.4), policy)
    decision = result.decisions[0]
    assert (decision.band.lower, decision.band.upper) == (-2.0, 2.0)
    assert decision.delta_after == pytest.approx(-0.5, abs=1e-4)
    assert plan(spot_book(1.9), policy).decisions[0].action == "none"


def option_book() -> list[dict[str, Any]]:
    return [{"instrument": "BTC-25DEC26-100000-C", "quantity": -50},
            {"instrument": "BTC-PERPETUAL", "quantity": 150000}]


def test_whalley_wilmott_width_matches_the_formula() -> None:
    risk_aversion = 1e-4
    policy = {"band": {"method": "whalley_wilmott", "risk_aversion": risk_aversion}, "instruments": [PERP]}
    result = plan(option_book(), policy)
    portfolio = parse_portfolio({"positions": option_book()})
    book = value_book(portfolio, parse_market(MARKET))
    gamma = float(book.gamma.sum())            # units of BTC per USD
    assert gamma < 0
    cost = 0.0005 + 0.0001
    # rate 0: the discount factor is 1 whatever tau
    half = (3 * cost * S * gamma**2 / (2 * risk_aversion)) ** (1 / 3)
    decision = result.decisions[0]
    assert decision.band.upper - decision.band.center == pytest.approx(half, rel=1e-12)
    assert decision.band.center == 0.0


def test_zakamouline_width_matches_the_formula() -> None:
    risk_aversion = 1e-4
    policy = {"band": {"method": "zakamouline", "risk_aversion": risk_aversion}, "instruments": [PERP]}
    decision = plan(option_book(), policy).decisions[0]
    portfolio = parse_portfolio({"positions": option_book()})
    book = value_book(portfolio, parse_market(MARKET))
    gamma = abs(float(book.gamma.sum()))
    vol, tau = float(book.inputs.vol[0]), float(book.inputs.tau[0])   # one option: its own vol and tau
    lam = 0.0006
    h0 = lam / (risk_aversion * S * vol**2 * tau)
    hw = 1.12 * lam**0.31 * tau**0.05 * (1 / vol) ** 0.25 * (gamma / risk_aversion) ** 0.5
    assert decision.band.upper - decision.band.center == pytest.approx(h0 + hw, rel=1e-12)
    # A short option book hedges at a higher vol (K < 0): the centre moves by vanna x dvol.
    k = -4.76 * lam**0.78 * tau**-0.02 * (1 / vol) ** 0.25 * (risk_aversion * S**2 * gamma) ** 0.15
    modified = vol * math.sqrt(1 - k)
    assert modified > vol
    shift = -float(book.vanna_bs[0]) * (modified - vol)
    assert decision.band.center == pytest.approx(shift, rel=1e-10)


def test_band_width_clamps() -> None:
    policy = {"band": {"method": "whalley_wilmott", "risk_aversion": 1e-4, "min_half_width": 7.0},
              "instruments": [PERP]}
    decision = plan(option_book(), policy).decisions[0]
    assert decision.band.upper - decision.band.center == 7.0
    assert "clamped" in decision.band.detail


def test_measures_usd_and_coin() -> None:
    """USD measure: spot coin and option premiums count; coin measure (DeltaTotal): they do not."""
    positions = [*option_book(), {"type": "spot", "underlying": "BTC", "quantity": 12.0}]
    portfolio = parse_portfolio({"positions": positions})
    book = value_book(portfolio, parse_market(MARKET))
    usd = plan(positions, fixed(100.0, measure="usd")).decisions[0]
    coin = plan(positions, fixed(100.0, measure="coin")).decisions[0]
    assert usd.delta_before == pytest.approx(float(book.delta_bs.sum()), rel=1e-14)
    deribit_delta_total = float(book.delta[0] + book.delta[1])      # option NTD + perp N/P
    assert coin.delta_before == pytest.approx(deribit_delta_total, rel=1e-12)
    assert usd.delta_total == coin.delta_total == coin.delta_before   # reported whatever the measure
    # The two differ by the coin equity: spot held plus the option's coin premium.
    premium_coin = float(book.value_usd[0]) / S
    assert usd.delta_before - coin.delta_before == pytest.approx(12.0 + premium_coin, rel=1e-12)


def test_limits_breach() -> None:
    policy = fixed(100.0, limits={"max_abs_delta": 4.0, "max_abs_vega_usd": 1e9})
    result = plan(spot_book(5.0), policy, book_limits={"max_abs_delta_usd": 400000.0})
    decision = result.decisions[0]
    assert decision.action == "none"
    assert [(b.limit, b.value, b.limit_value) for b in decision.breaches] == [("max_abs_delta", 5.0, 4.0)]
    assert [(b.limit, b.value) for b in result.book_breaches] == [("max_abs_delta_usd", 500000.0)]
    assert result.status == "action"


def test_policy_errors() -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy({"underlyings": {"BTC": {"band": {"method": "whaley_wilmott"}, "instruments": [PERP]}}})
    assert info.value.path == "underlyings.BTC.band.method"
    assert info.value.suggestion == "whalley_wilmott"
    with pytest.raises(ConfigError) as info:
        parse_policy({"underlyings": {"BTC": {"band": {"method": "zakamouline"}, "instruments": [PERP]}}})
    assert info.value.describe() == "underlyings.BTC.band: missing required key 'risk_aversion'"
    with pytest.raises(ConfigError) as info:
        parse_policy({"underlyings": {"BTC": {"band": {"method": "fixed", "half_width": 1},
                                              "instruments": [{"name": "ETH-PERPETUAL"}]}}})
    assert info.value.describe() == "underlyings.BTC.instruments[0].name: ETH-PERPETUAL is on ETH, not BTC"


def test_portfolio_underlying_without_policy_is_refused() -> None:
    positions = [{"type": "spot", "underlying": "ETH", "quantity": 1.0}]
    with pytest.raises(ConfigError) as info:
        plan(positions, fixed(1.0))
    assert info.value.document == "policy"
    assert "no policy for ETH" in info.value.message


def test_coin_measured_band_uses_the_coin_gamma() -> None:
    """An inverse perpetual has no USD gamma, but its coin exposure N/P drifts at -N/P^2."""
    positions = [{"instrument": "BTC-PERPETUAL", "quantity": 150000}]
    policy = {"band": {"method": "whalley_wilmott", "risk_aversion": 1e-4}, "instruments": [PERP]}
    usd = plan(positions, {**policy, "measure": "usd"}).decisions[0]
    assert usd.band.upper == usd.band.lower == 0.0
    coin = plan(positions, {**policy, "measure": "coin"}).decisions[0]
    exposure = 150000 * 10.0 / PERP_PRICE
    coin_gamma = -exposure / S           # d(N/P)/dS with P moving with S: -(N/P)/S
    half = (3 * 0.0006 * S * coin_gamma**2 / (2 * 1e-4)) ** (1 / 3)
    assert coin.band.upper == pytest.approx(half, rel=1e-12)


def test_contract_size_override_sizes_the_trade() -> None:
    """A 100 USD inverse contract: a quarter as many contracts as with 25 USD ones."""
    small = plan(spot_book(5.0), fixed(1.0, instruments=[{**PERP, "contract_size": 25}]))
    large = plan(spot_book(5.0), fixed(1.0, instruments=[{**PERP, "contract_size": 100}]))
    assert small.trades[0].quantity == pytest.approx(4 * large.trades[0].quantity, rel=1e-3)
    assert large.trades[0].delta_change == pytest.approx(-large.trades[0].quantity * 100 / PERP_PRICE)
