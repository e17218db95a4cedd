"""PnL explain against independent closed forms and revaluation.

A book of one option and one perpetual, with known moves of spot, vol and time: each Taylor
term has a closed form (delta dS, gamma dS^2/2, vega dsigma, theta dt) computed here from
Black-76 written out with math.erf, and the full PnL is the closed-form price difference.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from hedgecore.journal.explain import PARTS, closing_residual, explain_pnl
from hedgecore.market import parse_market
from hedgecore.portfolio import parse_portfolio

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
EXPIRY = datetime(2026, 12, 25, 8, 0, tzinfo=timezone.utc)
STRIKE = 100_000.0


def _n(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black76(forward: float, strike: float, tau: float, vol: float, rate: float) -> dict[str, float]:
    """Call price and raw Greeks (per 1.00 of vol, theta per year of calendar time)."""
    sd = vol * math.sqrt(tau)
    d1 = math.log(forward / strike) / sd + 0.5 * sd
    d2 = d1 - sd
    df = math.exp(-rate * tau)
    price = df * (forward * _cdf(d1) - strike * _cdf(d2))
    return {
        "price": price,
        "delta": df * _cdf(d1),
        "gamma": df * _n(d1) / (forward * sd),
        "vega": df * forward * _n(d1) * math.sqrt(tau),
        "theta": rate * price - df * forward * _n(d1) * vol / (2.0 * math.sqrt(tau)),
    }


def _market(as_of: datetime, spot: float, vol: float, *, rate: float, funding: float, option: str,
            perpetual: str) -> object:
    return parse_market({"as_of": as_of.isoformat(), "rate": rate, "underlyings": {"BTC": {
        "spot": spot, "perpetuals": {perpetual: {"price": spot, "funding_rate_8h": funding}},
        "vols": {option: vol}}}})


def _tau(moment: datetime) -> float:
    return (EXPIRY - moment).total_seconds() / (365.0 * 86400.0)


@pytest.mark.parametrize(("ds", "dvol", "hours"), [(1500.0, -0.02, 6.0), (-4000.0, 0.05, 30.0), (0.0, 0.0, 1.0)])
def test_linear_option_and_perp_against_closed_forms(ds, dvol, hours):
    option, perpetual = "BTC_USDC-25DEC26-100000-C", "BTC_USDC-PERPETUAL"
    quantity, perp_quantity, rate, funding = 10.0, -4.0, 0.04, 0.0002
    s0, vol0 = 96_500.0, 0.55
    s1, vol1, t1 = s0 + ds, vol0 + dvol, T0 + timedelta(hours=hours)
    portfolio = parse_portfolio({"positions": [{"instrument": option, "quantity": quantity},
                                               {"instrument": perpetual, "quantity": perp_quantity}]})
    before = _market(T0, s0, vol0, rate=rate, funding=funding, option=option, perpetual=perpetual)
    after = _market(t1, s1, vol1, rate=rate, funding=funding, option=option, perpetual=perpetual)
    explained = explain_pnl(portfolio, before, after)  # type: ignore[arg-type]
    (btc,) = explained["underlyings"]

    g = black76(s0, STRIKE, _tau(T0), vol0, rate)    # no basis: the forward is the index
    dt_years = hours / (24.0 * 365.0)
    funding_usd = -perp_quantity * s0 * funding * hours / 8.0
    option_pnl = quantity * (black76(s1, STRIKE, _tau(t1), vol1, rate)["price"] - g["price"])
    pnl = option_pnl + perp_quantity * ds + funding_usd
    assert btc["pnl_usd"] == pytest.approx(pnl, rel=1e-9, abs=1e-6)
    assert btc["delta_pnl_usd"] == pytest.approx((quantity * g["delta"] + perp_quantity) * ds, rel=1e-9, abs=1e-9)
    assert btc["gamma_pnl_usd"] == pytest.approx(0.5 * quantity * g["gamma"] * ds * ds, rel=1e-9, abs=1e-9)
    assert btc["vega_pnl_usd"] == pytest.approx(quantity * g["vega"] * dvol, rel=1e-9, abs=1e-9)
    assert btc["theta_pnl_usd"] == pytest.approx(quantity * g["theta"] * dt_years, rel=1e-9)
    assert btc["funding_pnl_usd"] == pytest.approx(funding_usd, rel=1e-12)
    # the parts add up to pnl_usd exactly, in the documented order
    total = 0.0
    for key in (*PARTS, "unexplained_usd"):
        total += btc[key]
    assert total == btc["pnl_usd"]
    # revaluation: the market move at the old date and the decay on the old market
    market_move = quantity * (black76(s1, STRIKE, _tau(T0), vol1, rate)["price"] - g["price"]) + perp_quantity * ds
    time_decay = quantity * (black76(s0, STRIKE, _tau(t1), vol0, rate)["price"] - g["price"])
    check = btc["revaluation"]
    assert check["market_move_usd"] == pytest.approx(market_move, rel=1e-9, abs=1e-6)
    assert check["time_decay_usd"] == pytest.approx(time_decay, rel=1e-9, abs=1e-6)
    # unexplained: what the closed-form terms leave (vanna dS dsigma, volga, third order, ...)
    taylor = ((quantity * g["delta"] + perp_quantity) * ds + 0.5 * quantity * g["gamma"] * ds * ds
              + quantity * g["vega"] * dvol + quantity * g["theta"] * dt_years + funding_usd)
    assert btc["unexplained_usd"] == pytest.approx(pnl - taylor, abs=1e-6)
    assert "coin" not in btc       # a USD-settled book explains in USD only
    assert explained["total"]["pnl_usd"] == btc["pnl_usd"]


def test_coin_settled_book_explains_in_coin_too():
    option, perpetual = "BTC-25DEC26-100000-C", "BTC-PERPETUAL"
    quantity, perp_contracts = -20.0, 50_000.0          # 50,000 x 10 USD of inverse perpetual
    s0, s1, vol0, vol1, hours = 96_500.0, 98_000.0, 0.55, 0.53, 12.0
    portfolio = parse_portfolio({"positions": [{"instrument": option, "quantity": quantity},
                                               {"instrument": perpetual, "quantity": perp_contracts}]})
    before = _market(T0, s0, vol0, rate=0.04, funding=0.0001, option=option, perpetual=perpetual)
    after = _market(T0 + timedelta(hours=hours), s1, vol1, rate=0.04, funding=0.0001, option=option,
                    perpetual=perpetual)
    (btc,) = explain_pnl(portfolio, before, after)["underlyings"]  # type: ignore[arg-type]

    # independent: coin-settled call priced Black-76 at r = 0 on F = S, in coin C/F; USD value C
    def option_usd(spot: float, vol: float, moment: datetime) -> float:
        return quantity * black76(spot, STRIKE, _tau(moment), vol, 0.0)["price"]

    notional = perp_contracts * 10.0
    perp_usd = notional * (1.0 / s0 - 1.0 / s1) * s1
    funding_usd = -notional * 0.0001 * hours / 8.0
    v0 = option_usd(s0, vol0, T0)
    v1 = option_usd(s1, vol1, T0 + timedelta(hours=hours)) + perp_usd
    assert btc["pnl_usd"] == pytest.approx(v1 - v0 + funding_usd, rel=1e-9)
    coin = btc["coin"]
    assert coin["pnl_coin"] == pytest.approx(v1 / s1 - v0 / s0 + funding_usd / s1, rel=1e-9)
    # d(V/S)/dS = (dV/dS - V/S) / S with dV/dS the option's N(d1) and the perp's N/S
    g = black76(s0, STRIKE, _tau(T0), vol0, 0.0)
    usd_delta = quantity * g["delta"] + notional / s0
    assert coin["delta_pnl_coin"] == pytest.approx((usd_delta - v0 / s0) / s0 * (s1 - s0), rel=1e-9)
    total = 0.0
    for key in ("delta_pnl_coin", "gamma_pnl_coin", "vega_pnl_coin", "theta_pnl_coin", "funding_pnl_coin",
                "unexplained_coin"):
        total += coin[key]
    assert total == coin["pnl_coin"]
    assert abs(coin["unexplained_coin"]) < 0.05 * abs(coin["pnl_coin"])


def test_closing_residual_makes_the_sum_exact():
    parts = [0.1, 0.2, 0.3, 1e16, -1e16]
    residual = closing_residual(0.7, parts)
    total = 0.0
    for part in [*parts, residual]:
        total += part
    assert total == 0.7
