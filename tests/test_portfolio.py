"""Books, markets and valuation: instrument names, schemas, and a tiny book checked by hand.

The hand-checked book holds one USDC-settled call, one coin-settled call, an inverse
perpetual and spot coin. Its expected figures are computed here from the closed forms
(REFERENCE section 1), not from hedgecore, and the coin-settled USD delta and gamma are
also checked by finite differences of the USD value with F/S held fixed.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest

from hedgecore.errors import ConfigError
from hedgecore.instruments import parse_instrument_name
from hedgecore.market import parse_market
from hedgecore.portfolio import parse_portfolio
from hedgecore.valuation import value_book

AS_OF = "2026-11-21T08:00:00Z"
EXPIRY = datetime(2026, 12, 25, 8, 0, tzinfo=timezone.utc)
TAU = (EXPIRY - datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)).total_seconds() / (365 * 86400)


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# -- instrument names ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind", "underlying", "settlement", "strike", "is_call", "size"), [
    ("BTC-27DEC26-100000-C", "option", "BTC", "inverse", 100000.0, True, 1.0),
    ("eth-27dec26-3000-p", "option", "ETH", "inverse", 3000.0, False, 1.0),
    ("ETH_USDC-27DEC26-3000-P", "option", "ETH", "linear", 3000.0, False, 1.0),
    ("ETH-27DEC26-3000-C-USDC", "option", "ETH", "linear", 3000.0, True, 1.0),
    ("XRP_USDC-27DEC26-0d625-C", "option", "XRP", "linear", 0.625, True, 1.0),
    ("BTC-PERPETUAL", "perpetual", "BTC", "inverse", None, False, 10.0),
    ("ETH-PERPETUAL", "perpetual", "ETH", "inverse", None, False, 1.0),
    ("ETH_USDC-PERPETUAL", "perpetual", "ETH", "linear", None, False, 1.0),
    ("SOLUSDT", "perpetual", "SOL", "linear", None, False, 1.0),
    ("BTC-27DEC26", "future", "BTC", "inverse", None, False, 10.0),
    ("BTC_USDC-27DEC26", "future", "BTC", "linear", None, False, 1.0),
])
def test_exchange_names_parse(name: str, kind: str, underlying: str, settlement: str,
                              strike: float | None, is_call: bool, size: float) -> None:
    inst = parse_instrument_name(name)
    assert inst is not None
    assert (inst.kind, inst.underlying, inst.settlement, inst.strike, inst.is_call, inst.contract_size) == (
        kind, underlying, settlement, strike, is_call, size)
    if kind in ("option", "future"):
        assert inst.expiry == datetime(2026, 12, 27, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("name", ["BTC-31FEB26-1000-C", "BTC-27XYZ26-1000-C", "BTC-27DEC26-abc-C",
                                  "BTC-27DEC26-100000-X", "SOL-PERPETUAL", "hello", "BTC_EUR-PERPETUAL"])
def test_unknown_names_are_refused(name: str) -> None:
    assert parse_instrument_name(name) is None


# -- schema errors (library level: path and message) -------------------------------------------

def error_of(parse: Any, data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value


def test_portfolio_errors_name_the_field() -> None:
    err = error_of(parse_portfolio, {"positions": [
        {"instrument": "BTC-PERPETUAL", "quantity": 1},
        {"type": "option", "underlying": "BTC", "strike": -5, "expiry": "2026-12-25",
         "option_type": "call", "quantity": 1}]})
    assert (err.path, err.message, err.document) == ("positions[1].strike", "must be > 0, got -5", "portfolio")

    err = error_of(parse_portfolio, {"positions": [{"instrument": "BTC-PERPETUAL", "quantitty": 1}]})
    assert (err.path, err.message, err.suggestion) == ("positions[0].quantitty", "unknown key", "quantity")

    err = error_of(parse_portfolio, {"positions": [{"instrument": "BTC-PERPETUAL", "quantity": math.inf}]})
    assert err.describe() == "positions[0].quantity: must be a finite number, got inf"

    err = error_of(parse_portfolio, {"positions": [{"id": "a", "instrument": "BTC-PERPETUAL", "quantity": 1},
                                                   {"id": "a", "instrument": "ETH-PERPETUAL", "quantity": 1}]})
    assert err.path == "positions[1].id"
    assert "duplicate id 'a'" in err.message


def test_same_instrument_twice_needs_distinct_ids() -> None:
    err = error_of(parse_portfolio, {"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1},
                                                   {"instrument": "BTC-PERPETUAL", "quantity": 2}]})
    assert err.path == "positions[1]"
    # ... but different books make distinct default ids
    book = parse_portfolio({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1, "book": "a"},
                                          {"instrument": "BTC-PERPETUAL", "quantity": 2, "book": "b"}]})
    assert [p.id for p in book.positions] == ["a:BTC-PERPETUAL", "b:BTC-PERPETUAL"]


def test_market_errors_name_the_field() -> None:
    err = error_of(parse_market, {"as_of": AS_OF, "underlyings": {"BTC": {"spot": 0}}})
    assert err.describe() == "underlyings.BTC.spot: must be > 0, got 0"
    err = error_of(parse_market, {"as_of": AS_OF, "underlyings": {"BTC": {"spot": 1, "smiles": {
        "25DEC26": {90000: float("nan")}}}}})
    assert err.path == "underlyings.BTC.smiles.25DEC26.90000"
    err = error_of(parse_market, {"as_of": AS_OF, "underlyings": {"BTC": {"spot": 1, "spott": 2}}})
    assert err.suggestion == "spot"


# -- smiles ------------------------------------------------------------------------------------

def test_smile_interpolates_total_variance_and_is_flat_outside() -> None:
    market = parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": 100000, "smiles": {
        "25DEC26": {80000: 0.60, 100000: 0.50, 120000: 0.55},
        "26MAR27": {80000: 0.70, 100000: 0.60, 120000: 0.65}}}}})
    data = market.underlyings["BTC"]

    def vol_of(name: str) -> float:
        inst = parse_instrument_name(name)
        assert inst is not None
        vol = data.vol(inst, name, market.as_of)
        assert vol is not None
        return vol

    assert vol_of("BTC-25DEC26-100000-C") == pytest.approx(0.50, abs=1e-15)
    assert vol_of("BTC-25DEC26-50000-C") == pytest.approx(0.60, abs=1e-15)    # flat below
    assert vol_of("BTC-25DEC26-500000-C") == pytest.approx(0.55, abs=1e-15)   # flat above
    weight = (math.log(90000) - math.log(80000)) / (math.log(100000) - math.log(80000))
    expected = math.sqrt((1 - weight) * 0.60**2 + weight * 0.50**2)
    assert vol_of("BTC-25DEC26-90000-P") == pytest.approx(expected, rel=1e-14)
    # Between expiries: total variance linear in time at the strike.
    t1 = (datetime(2026, 12, 25, 8, tzinfo=timezone.utc) - market.as_of).total_seconds() / (365 * 86400)
    t2 = (datetime(2027, 3, 26, 8, tzinfo=timezone.utc) - market.as_of).total_seconds() / (365 * 86400)
    t = (datetime(2027, 1, 29, 8, tzinfo=timezone.utc) - market.as_of).total_seconds() / (365 * 86400)
    w = 0.25 * t1 + (0.36 * t2 - 0.25 * t1) * (t - t1) / (t2 - t1)
    assert vol_of("BTC-29JAN27-100000-C") == pytest.approx(math.sqrt(w / t), rel=1e-14)
    # Beyond the last expiry there is no market data.
    inst = parse_instrument_name("BTC-25JUN27-100000-C")
    assert inst is not None
    assert data.vol(inst, "x", market.as_of) is None


def test_forward_from_futures_basis_and_default() -> None:
    market = parse_market({"as_of": AS_OF, "underlyings": {
        "BTC": {"spot": 100000, "futures": {"25DEC26": 101000}},
        "ETH": {"spot": 3000, "basis": 0.1},
        "SOL": {"spot": 200}}})
    assert market.underlyings["BTC"].forward(EXPIRY, market.as_of) == 101000
    assert market.underlyings["ETH"].forward(EXPIRY, market.as_of) == pytest.approx(3000 * math.exp(0.1 * TAU))
    assert market.underlyings["SOL"].forward(EXPIRY, market.as_of) == 200
    # Another expiry on the BTC curve: the annualised basis of the one future, flat.
    later = datetime(2027, 3, 26, 8, tzinfo=timezone.utc)
    tau_later = (later - market.as_of).total_seconds() / (365 * 86400)
    basis = math.log(1.01) / TAU
    assert market.underlyings["BTC"].forward(later, market.as_of) == pytest.approx(
        100000 * math.exp(basis * tau_later), rel=1e-13)


# -- the tiny book checked by hand ---------------------------------------------------------------

S, F, K_LIN, K_INV, R = 100000.0, 101000.0, 105000.0, 95000.0, 0.04
VOL_LIN, VOL_INV = 0.55, 0.60
Q_LIN, Q_INV, PERP_CONTRACTS, PERP_PRICE, SPOT_QTY = -3.0, 2.0, 5000.0, 100050.0, 1.5

TINY_BOOK = {"positions": [
    {"id": "linear-call", "instrument": "BTC_USDC-25DEC26-105000-C", "quantity": Q_LIN},
    {"id": "coin-call", "instrument": "BTC-25DEC26-95000-C", "quantity": Q_INV},
    {"id": "perp", "instrument": "BTC-PERPETUAL", "quantity": PERP_CONTRACTS},
    {"id": "coin", "type": "spot", "underlying": "BTC", "quantity": SPOT_QTY},
]}
TINY_MARKET = {"as_of": AS_OF, "rate": R, "underlyings": {"BTC": {
    "spot": S, "futures": {"25DEC26": F},
    "perpetuals": {"BTC-PERPETUAL": {"price": PERP_PRICE, "funding_rate_8h": 0.0001}},
    "vols": {"BTC_USDC-25DEC26-105000-C": VOL_LIN, "BTC-25DEC26-95000-C": VOL_INV}}}}


def coin_call_usd_value(spot: float, fwd: float) -> float:
    """Q_INV coin-settled calls valued in USD: Black-76 (r = 0) / F coin x S USD."""
    sd = VOL_INV * math.sqrt(TAU)
    d1 = math.log(fwd / K_INV) / sd + sd / 2
    return Q_INV * (norm_cdf(d1) - K_INV / fwd * norm_cdf(d1 - sd)) * spot


def test_tiny_book_exposures_by_hand() -> None:
    book = value_book(parse_portfolio(TINY_BOOK), parse_market(TINY_MARKET))
    sqrt_tau = math.sqrt(TAU)

    # USDC-settled call: Black-76 on F with the USD rate; delta vs the index scales by F/S.
    df = math.exp(-R * TAU)
    sd = VOL_LIN * sqrt_tau
    d1 = math.log(F / K_LIN) / sd + sd / 2
    d2 = d1 - sd
    price = df * (F * norm_cdf(d1) - K_LIN * norm_cdf(d2))
    lin = {
        "value_usd": Q_LIN * price,
        "delta": Q_LIN * df * norm_cdf(d1) * F / S,
        "delta_bs": Q_LIN * df * norm_cdf(d1) * F / S,
        "gamma_usd_1pct": Q_LIN * df * norm_pdf(d1) / (F * sd) * (F / S) ** 2 * S**2 / 100,
        "vega_usd": Q_LIN * df * F * norm_pdf(d1) * sqrt_tau / 100,
        "theta_usd": Q_LIN * (R * price - df * F * norm_pdf(d1) * VOL_LIN / (2 * sqrt_tau)) / 365,
        "rho_usd": Q_LIN * (-TAU * price) / 100,
    }
    # Coin-settled call (r = 0): premium-adjusted delta (K/F) N(d2), plain delta N(d1).
    sd = VOL_INV * sqrt_tau
    d1 = math.log(F / K_INV) / sd + sd / 2
    d2 = d1 - sd
    coin_price = norm_cdf(d1) - K_INV / F * norm_cdf(d2)
    inv = {
        "value_usd": Q_INV * coin_price * S,
        "delta": Q_INV * K_INV / F * norm_cdf(d2),
        "delta_bs": Q_INV * norm_cdf(d1),
        "gamma_usd_1pct": Q_INV * norm_pdf(d1) / (F * sd) * (F / S) * S**2 / 100,
        "vega_usd": Q_INV * S * norm_pdf(d1) * sqrt_tau / 100,
        "theta_usd": Q_INV * S * (-norm_pdf(d1) * VOL_INV / (2 * sqrt_tau)) / 365,
        "rho_usd": 0.0,      # priced at r = 0: the value ignores the rate
    }
    perp_delta = PERP_CONTRACTS * 10.0 / PERP_PRICE     # inverse: N USD is N/P coin
    zero = dict.fromkeys(("value_usd", "gamma_usd_1pct", "vega_usd", "theta_usd", "rho_usd"), 0.0)
    perp = {**zero, "delta": perp_delta, "delta_bs": perp_delta}
    spot = {**zero, "value_usd": SPOT_QTY * S, "delta": SPOT_QTY, "delta_bs": SPOT_QTY}

    for k, expected in enumerate((lin, inv, perp, spot)):
        for name, value in expected.items():
            assert getattr(book, name)[k] == pytest.approx(value, rel=1e-12, abs=1e-9), (k, name)
        assert book.delta_usd[k] == pytest.approx(expected["delta"] * S, rel=1e-12)

    totals = book.totals_by_underlying()["BTC"]
    for name in ("value_usd", "delta", "delta_bs", "gamma_usd_1pct", "vega_usd", "theta_usd", "rho_usd"):
        assert totals[name] == pytest.approx(sum(e[name] for e in (lin, inv, perp, spot)), rel=1e-12)


def test_coin_settled_usd_delta_and_gamma_by_finite_differences() -> None:
    """dV_usd/dS and d2V_usd/dS2 of the coin-settled call, moving S and F together."""
    book = value_book(parse_portfolio(TINY_BOOK), parse_market(TINY_MARKET))
    h = 1e-5 * S   # central differences: O(h^2) truncation, ~1e-10 relative here
    up, mid, down = (coin_call_usd_value(S + e, F * (S + e) / S) for e in (h, 0.0, -h))
    assert book.delta_bs[1] == pytest.approx((up - down) / (2 * h), rel=1e-8)
    h = 1e-3 * S
    up, mid, down = (coin_call_usd_value(S + e, F * (S + e) / S) for e in (h, 0.0, -h))
    assert book.gamma_usd_1pct[1] == pytest.approx((up - 2 * mid + down) / h**2 * S**2 / 100, rel=1e-5)
    # The premium-adjusted delta is the plain delta less the premium in coin.
    assert book.delta[1] == pytest.approx(book.delta_bs[1] - mid / S, rel=1e-12)


def test_missing_market_data_names_the_position() -> None:
    book = parse_portfolio({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1},
                                          {"instrument": "SOL_USDC-25DEC26-100-C", "quantity": 1}]})
    with pytest.raises(ConfigError) as info:
        value_book(book, parse_market(TINY_MARKET))
    assert info.value.path == "positions[1].instrument"
    assert "no market data for underlying 'SOL'" in info.value.message

    book = parse_portfolio({"positions": [{"instrument": "BTC-25DEC26-120000-C", "quantity": 1}]})
    with pytest.raises(ConfigError) as info:
        value_book(book, parse_market(TINY_MARKET))
    assert info.value.path == "positions[0].instrument"
    assert info.value.message.startswith("no implied vol for BTC-25DEC26-120000-C")


def test_expired_is_settled_at_the_index_with_a_warning() -> None:
    market = parse_market({**TINY_MARKET, "as_of": "2027-01-01T00:00:00Z"})
    book = parse_portfolio({"positions": [{"instrument": "BTC-25DEC26-95000-C", "quantity": 2}]})
    valued = value_book(book, market)
    # Settled at the index (no delivery price): (S - K)/S coin a contract, held as coin.
    assert valued.value_usd[0] == pytest.approx(2 * (S - K_INV) / S * S, rel=1e-14)
    assert valued.delta[0] == pytest.approx(2 * (S - K_INV) / S, rel=1e-14)
    assert "settled at the index" in valued.inputs.warnings[0]


def test_one_greeks_call_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valuation and full-revaluation scenarios call the vectorized core once per model,
    whatever the number of positions (never once per position)."""
    import hedgecore.pricing
    from hedgecore.scenarios import scenario_grids
    from hedgecore.valuation import book_inputs

    calls: list[tuple[str, int]] = []
    real = hedgecore.pricing.greeks

    def counting(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append((kwargs["model"], result.price.size))
        return result

    monkeypatch.setattr(hedgecore.pricing, "greeks", counting)
    positions = [{**p, "id": f"{p['id']}-{k}"} for k in range(50) for p in TINY_BOOK["positions"]]
    book = parse_portfolio({"positions": positions})
    market = parse_market(TINY_MARKET)
    value_book(book, market)
    assert sorted(calls) == [("black76", 50), ("inverse", 50)]
    calls.clear()
    scenario_grids(book_inputs(book, market), steps=9)
    # 3 vol scenarios x (9 spot steps + the base case) per option
    assert sorted(calls) == [("black76", 50 * 3 * 10), ("inverse", 50 * 3 * 10)]


def test_scenarios_reprice_coin_settled_options_by_hand() -> None:
    """Unchanged-vol row of the coin call: Q (C(F') S' - C(F) S) with S' = S(1+x), F' = F(1+x)."""
    from hedgecore.scenarios import scenario_grids, vol_multipliers
    from hedgecore.valuation import book_inputs

    book = parse_portfolio({"positions": [TINY_BOOK["positions"][1]]})
    grid = scenario_grids(book_inputs(book, parse_market(TINY_MARKET)), steps=5, spot_range=0.2)[0]
    base = coin_call_usd_value(S, F)
    for shock, pnl in zip(grid.spot_shocks, grid.pnl_usd[1], strict=True):
        assert pnl == pytest.approx(coin_call_usd_value(S * (1 + shock), F * (1 + shock)) - base,
                                    rel=1e-12, abs=1e-8)
    # Vol up and down: the same repricing at the shocked vol (DTE 34 days: p = 0.13).
    dte = TAU * 365
    scale = (30 / dte) ** 0.13
    assert dte > 30
    factors = vol_multipliers(np.array([TAU]), 0.5, 0.25)[:, 0]
    assert factors == pytest.approx([1 - 0.25 * scale, 1.0, 1 + 0.5 * scale], rel=1e-15)
    sd_up = VOL_INV * (1 + 0.5 * scale) * math.sqrt(TAU)
    d1 = math.log(F / K_INV) / sd_up + sd_up / 2
    up_value = Q_INV * (norm_cdf(d1) - K_INV / F * norm_cdf(d1 - sd_up)) * S
    assert grid.pnl_usd[2][2] == pytest.approx(up_value - base, rel=1e-12)


def test_vol_shock_power_switches_at_30_days() -> None:
    from hedgecore.scenarios import vol_multipliers

    taus = np.array([0.5 / 365, 10 / 365, 29.9 / 365, 30 / 365, 90 / 365])
    up = vol_multipliers(taus, 0.5, 0.25)[2]
    dte = np.maximum(taus * 365, 1.0)
    expected = 1 + 0.5 * (30 / dte) ** np.where(dte < 30, 0.3, 0.13)
    assert up == pytest.approx(expected, rel=1e-15)
    assert up[0] == pytest.approx(1 + 0.5 * 30**0.3)      # DTE floored at one day
