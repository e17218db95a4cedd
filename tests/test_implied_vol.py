"""Tests of hedgecore.implied_vol / solve_implied_vol against independent references.

References: hedgecore.greeks prices (themselves verified against QuantLib and mpmath in
test_greeks.py), Black prices in mpmath at 40 digits (tests/reference.py), the normalised
Black function in mpmath, QuantLib's blackFormulaImpliedStdDev and vollib's Let's Be
Rational, plus the mathematics: no-arbitrage bounds, the coin/USD relation of the inverse
model, put-call symmetry.

Well-posedness criterion (the accuracy bar applies where it holds). A price computed by
Black's formula e^{-r tau} theta (F N(theta d1) - K N(theta d2)) carries a rounding error of
about

    delta_price = eps * e^{-r tau} (F N(theta d1) + K N(theta d2))   [/ F for "inverse"]
                  + DBL_MIN                                          (no digits below it)

(eps = 2.2e-16), which moves the implied vol by delta_price / vega. We call the problem well
posed when that is at most 1e-10, a tenth of the bar: vega * 1e-9 >= 10 * delta_price. There
the implied vol must be within 1e-9 (absolute) of the vol that made the price. Everywhere
else a finite vol must still reprice the price to within its rounding.
"""

from __future__ import annotations

import math
import pathlib
import re
from typing import Any

import mpmath
import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from reference import mp_price
from scipy.special import ndtr

import hedgecore
from hedgecore import ImpliedVolResult, IVStatus, greeks, implied_vol, solve_implied_vol
from hedgecore._iv import normalised_black_into

MODELS = ("bsm", "black76", "inverse")
EPS = float(np.finfo(np.float64).eps)
TINY = float(np.finfo(np.float64).tiny)
HOUR = 1.0 / 8760.0
VOL_TOL = 1e-9          # the accuracy bar, absolute in vol
WELL_POSED_MARGIN = 10.0  # vega * VOL_TOL >= margin * price rounding

# Domain of the accuracy contract.
MONEYNESS = (0.25, 4.0)  # strike / forward
TAU = (HOUR, 5.0)
VOL = (0.05, 5.0)
RATE = (-0.01, 0.08)
CARRY = (-0.02, 0.05)    # bsm only


# ---------------------------------------------------------------------------------------
# helpers (plain numpy, independent of the kernel)
# ---------------------------------------------------------------------------------------

def forward_of(model: str, underlying: Any, tau: Any, rate: Any, carry: Any) -> NDArray[np.float64]:
    u = np.asarray(underlying, dtype=float)
    if model == "bsm":
        return np.asarray(u * np.exp((np.asarray(rate) - np.asarray(carry)) * np.asarray(tau)))
    return u


def price_rounding_and_vega(model: str, underlying: Any, strike: Any, tau: Any, vol: Any,
                            is_call: Any, rate: Any, carry: Any
                            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """delta_price of the module docstring and the vega dV/dvol, in the price's currency."""
    fwd = forward_of(model, underlying, tau, rate, carry)
    k, t, v, r = (np.asarray(a, dtype=float) for a in (strike, tau, vol, rate))
    theta = np.where(is_call, 1.0, -1.0)
    sdt = v * np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(fwd / k) / sdt + 0.5 * sdt
    d2 = d1 - sdt
    df = np.exp(-r * t)
    per = 1.0 / fwd if model == "inverse" else 1.0
    rounding = EPS * df * (fwd * ndtr(theta * d1) + k * ndtr(theta * d2)) * per + TINY
    vega = df * fwd * np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * np.sqrt(t) * per
    return np.asarray(rounding), np.asarray(vega)


def well_posed(model: str, *args: Any) -> NDArray[np.bool_]:
    rounding, vega = price_rounding_and_vega(model, *args)
    return np.asarray(vega * VOL_TOL >= WELL_POSED_MARGIN * rounding)


def random_book(model: str, n: int, seed: int, vol: tuple[float, float] = VOL) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    underlying = np.exp(rng.uniform(math.log(50.0), math.log(100_000.0), n))
    rate = rng.uniform(*RATE, n)
    tau = np.exp(rng.uniform(math.log(TAU[0]), math.log(TAU[1]), n))
    carry = rng.uniform(*CARRY, n) if model == "bsm" else np.zeros(n)
    fwd = forward_of(model, underlying, tau, rate, carry)
    return {
        "underlying": underlying,
        "strike": fwd * np.exp(rng.uniform(math.log(MONEYNESS[0]), math.log(MONEYNESS[1]), n)),
        "tau": tau,
        "vol": rng.uniform(*vol, n),
        "is_call": rng.random(n) < 0.5,
        "rate": rate,
        "carry": carry,
    }


def solve(model: str, price: Any, book: dict[str, Any], threads: int | None = None) -> ImpliedVolResult:
    return solve_implied_vol(price, book["underlying"], book["strike"], book["tau"],
                             is_call=book["is_call"], rate=book["rate"], carry=book["carry"],
                             model=model, threads=threads)


def price_of(model: str, book: dict[str, Any], vol: Any = None) -> NDArray[np.float64]:
    return greeks(book["underlying"], book["strike"], book["tau"], book["vol"] if vol is None else vol,
                  is_call=book["is_call"], rate=book["rate"], carry=book["carry"], model=model).price


def assert_status_consistent(result: ImpliedVolResult) -> None:
    """NaN exactly where the status is not OK: never NaN with OK, never a vol with a code."""
    assert result.vol.shape == result.status.shape
    assert result.status.dtype == np.int8
    ok = result.status == IVStatus.OK
    assert np.array_equal(np.isfinite(result.vol), ok)
    assert np.all(np.isnan(result.vol[~ok]))
    assert np.all(result.vol[ok] >= 0.0)


# ---------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    is_call=st.booleans(),
    log_moneyness=st.floats(math.log(MONEYNESS[0]), math.log(MONEYNESS[1])),
    log_tau=st.floats(math.log(TAU[0]), math.log(TAU[1])),
    vol=st.floats(*VOL),
    rate=st.floats(*RATE),
    carry=st.floats(*CARRY),
    underlying=st.floats(1.0, 200_000.0),
)
def test_round_trip_hypothesis(model: str, is_call: bool, log_moneyness: float, log_tau: float,
                               vol: float, rate: float, carry: float, underlying: float) -> None:
    if model != "bsm":
        carry = 0.0
    tau = math.exp(log_tau)
    strike = float(forward_of(model, underlying, tau, rate, carry)) * math.exp(log_moneyness)
    price = float(greeks(underlying, strike, tau, vol, is_call=is_call, rate=rate, carry=carry,
                         model=model).price)
    result = solve_implied_vol(price, underlying, strike, tau, is_call=is_call, rate=rate,
                               carry=carry, model=model)
    assert result.vol.shape == ()
    assert_status_consistent(result)
    rounding, _ = price_rounding_and_vega(model, underlying, strike, tau, vol, is_call, rate, carry)
    if rounding > TINY * 2.0 and price > 1e-300:
        assert result.status == IVStatus.OK, (result, price)
    if well_posed(model, underlying, strike, tau, vol, is_call, rate, carry):
        assert abs(float(result.vol) - vol) <= VOL_TOL, (float(result.vol), vol, price)


@pytest.mark.parametrize("model", MODELS)
def test_round_trip_dense(model: str) -> None:
    """100,000 random options per model over the whole contract domain."""
    book = random_book(model, 100_000, seed=hash(model) % 2**32)
    price = price_of(model, book)
    result = solve(model, price, book)
    assert_status_consistent(result)
    args = (book["underlying"], book["strike"], book["tau"], book["vol"], book["is_call"],
            book["rate"], book["carry"])
    good = well_posed(model, *args)
    assert good.mean() > 0.7   # the criterion must leave most of the domain in play
    assert np.all(result.status[good] == IVStatus.OK)
    err = np.abs(result.vol - book["vol"])
    assert np.max(err[good]) <= VOL_TOL, np.max(err[good])


@pytest.mark.parametrize("model", MODELS)
def test_every_finite_vol_reprices(model: str) -> None:
    """Ill-posed or not, a finite vol reproduces the price within its rounding: nothing
    finite is wrong. (Snapping to intrinsic allows 32 eps of max(F, K); see IVStatus.OK.)"""
    book = random_book(model, 50_000, seed=7 + len(model), vol=(0.0, 5.0))
    price = price_of(model, book)
    result = solve(model, price, book)
    assert_status_consistent(result)
    ok = result.status == IVStatus.OK
    # only prices without a single significant digit, or negative (denormal) ones, lack a vol
    assert np.all(price[~ok] < 1e-300)
    repriced = price_of(model, book, np.where(ok, result.vol, 0.0))
    fwd = forward_of(model, book["underlying"], book["tau"], book["rate"], book["carry"])
    scale = np.exp(-book["rate"] * book["tau"]) * np.maximum(fwd, book["strike"])
    if model == "inverse":
        scale = scale / fwd
    assert np.all(np.abs(repriced - price)[ok] <= 40.0 * EPS * scale[ok])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("vol", [3.5, 4.0, 4.5, 5.0])
def test_vols_above_quantlib_cap(model: str, vol: float) -> None:
    """QuantLib's solver stops at 4.0; hedgecore has no cap."""
    rng = np.random.default_rng(int(vol * 10))
    n = 2_000
    book = random_book(model, n, seed=int(vol * 100))
    book["vol"] = np.full(n, vol)
    book["tau"] = np.exp(rng.uniform(math.log(HOUR), math.log(1.0), n))
    price = price_of(model, book)
    result = solve(model, price, book)
    args = (book["underlying"], book["strike"], book["tau"], book["vol"], book["is_call"],
            book["rate"], book["carry"])
    good = well_posed(model, *args)
    assert good.sum() > n // 4
    assert np.max(np.abs(result.vol - vol)[good]) <= VOL_TOL


@pytest.mark.parametrize("model", MODELS)
def test_round_trip_of_mpmath_prices(model: str) -> None:
    """Prices exact to 40 digits, rounded once: the solver alone is tested, not greeks."""
    book = random_book(model, 40, seed=99 + len(model))
    for i in range(40):
        u, k, t, v, r, q = (float(book[name][i]) for name in ("underlying", "strike", "tau", "vol", "rate", "carry"))
        call = bool(book["is_call"][i])
        with mpmath.workdps(40):
            price = float(mp_price(model, mpmath.mpf(u), mpmath.mpf(k), mpmath.mpf(t), mpmath.mpf(v), call,
                                   mpmath.mpf(r), mpmath.mpf(q)))
        got = float(implied_vol(price, u, k, t, is_call=call, rate=r, carry=q, model=model))
        if well_posed(model, u, k, t, v, call, r, q):
            assert abs(got - v) <= VOL_TOL, (model, u, k, t, v, call, r, q, got)


def test_normalised_black_against_mpmath() -> None:
    """b(x, s) = theta (e^{x/2} N(theta(x/s + s/2)) - e^{-x/2} N(theta(x/s - s/2))) over all four
    of Jaeckel's regions, relative error within the conditioning of exp(-(h^2 + t^2)/2)."""
    rng = np.random.default_rng(1)
    n = 600
    x = rng.uniform(-40.0, 40.0, n)
    s = np.exp(rng.uniform(math.log(1e-3), math.log(30.0), n))
    # make sure each region is hit: asymptotic, small t, N-dominated, erfcx
    x[:4] = [-30.0, -1.0, -0.1, -2.0]
    s[:4] = [1.0, 0.1, 2.0, 1.0]
    theta = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    got = np.empty(n)
    normalised_black_into(x, s, theta, got)
    ref = np.empty(n)
    with mpmath.workdps(50):
        for i in range(n):
            xm, sm, th = mpmath.mpf(float(x[i])), mpmath.mpf(float(s[i])), int(theta[i])
            ref[i] = float(th * (mpmath.exp(xm / 2) * mpmath.ncdf(th * (xm / sm + sm / 2))
                                 - mpmath.exp(-xm / 2) * mpmath.ncdf(th * (xm / sm - sm / 2))))
    keep = ref > 1e-300   # below, b itself has no relative precision
    h, t = x / s, s / 2
    bound = 8.0 * EPS * (1.0 + 0.5 * (h * h + t * t))
    rel = np.abs(got - ref)[keep] / ref[keep]
    assert np.all(rel <= bound[keep]), np.max(rel / bound[keep])


# ---------------------------------------------------------------------------------------
# independent solvers
# ---------------------------------------------------------------------------------------

def test_against_quantlib_black_formula_implied_stddev() -> None:
    """QuantLib solves for sigma sqrt(tau) with a bracketing Newton solver, vol < 4 only.

    Its accuracy is absolute in the price, so it returns 0 for the tiny prices of far
    out-of-the-money options that it cannot resolve: compared where price >= 1e-8 F."""
    model = "black76"
    book = random_book(model, 300, seed=5, vol=(0.05, 3.9))
    price = price_of(model, book)
    ours = implied_vol(price, book["underlying"], book["strike"], book["tau"], is_call=book["is_call"],
                       rate=book["rate"], model=model)
    args = (book["underlying"], book["strike"], book["tau"], book["vol"], book["is_call"],
            book["rate"], book["carry"])
    checked = 0
    covered = well_posed(model, *args) & (price >= 1e-8 * book["underlying"])
    for i in np.flatnonzero(covered):
        option_type = ql.Option.Call if book["is_call"][i] else ql.Option.Put
        discount = math.exp(-book["rate"][i] * book["tau"][i])
        std_dev = ql.blackFormulaImpliedStdDev(option_type, float(book["strike"][i]), float(book["underlying"][i]),
                                               float(price[i]), discount, 0.0, ql.nullDouble(), 1e-14, 1000)
        assert abs(std_dev / math.sqrt(book["tau"][i]) - ours[i]) <= VOL_TOL
        checked += 1
    assert checked > 150


def test_against_vollib() -> None:
    """vollib's pure-Python Let's Be Rational, per option, bsm (vollib is in the test extra)."""
    vollib_bsm = pytest.importorskip("vollib.black_scholes_merton.implied_volatility")
    vollib_iv = vollib_bsm.implied_volatility

    model = "bsm"
    book = random_book(model, 300, seed=6, vol=(0.05, 3.9))
    price = price_of(model, book)
    result = solve(model, price, book)
    args = (book["underlying"], book["strike"], book["tau"], book["vol"], book["is_call"],
            book["rate"], book["carry"])
    checked = 0
    for i in np.flatnonzero(well_posed(model, *args)):
        theirs = vollib_iv(float(price[i]), float(book["underlying"][i]), float(book["strike"][i]),
                           float(book["tau"][i]), float(book["rate"][i]), float(book["carry"][i]),
                           "c" if book["is_call"][i] else "p")
        assert abs(theirs - result.vol[i]) <= VOL_TOL
        checked += 1
    assert checked > 200


# ---------------------------------------------------------------------------------------
# mathematics of the models
# ---------------------------------------------------------------------------------------

def test_inverse_is_black76_on_the_usd_price() -> None:
    """A coin price c at forward F is the Black-76 USD price c F."""
    rng = np.random.default_rng(3)
    fwd = rng.uniform(20_000.0, 90_000.0, 500)
    strike = fwd * np.exp(rng.uniform(-0.5, 0.5, 500))
    tau = rng.uniform(1.0 / 365.0, 1.0, 500)
    coin_price = greeks(fwd, strike, tau, 0.7, is_call=True, rate=0.01, model="inverse").price
    via_coin = implied_vol(coin_price, fwd, strike, tau, rate=0.01, model="inverse")
    via_usd = implied_vol(coin_price * fwd, fwd, strike, tau, rate=0.01, model="black76")
    np.testing.assert_allclose(via_coin, via_usd, rtol=0, atol=1e-12)


def test_put_call_parity() -> None:
    """Call and put prices linked by parity have one implied vol (bsm with carry)."""
    spot, strike, tau, rate, carry = 100.0, np.array([60.0, 95.0, 100.0, 130.0, 250.0]), 0.4, 0.03, 0.01
    call = greeks(spot, strike, tau, 0.55, is_call=True, rate=rate, carry=carry).price
    put = call - spot * math.exp(-carry * tau) + strike * math.exp(-rate * tau)
    vol_call = implied_vol(call, spot, strike, tau, rate=rate, carry=carry)
    vol_put = implied_vol(put, spot, strike, tau, is_call=False, rate=rate, carry=carry)
    np.testing.assert_allclose(vol_call, 0.55, atol=1e-12)
    np.testing.assert_allclose(vol_put, 0.55, atol=1e-10)


def test_deribit_style_quote() -> None:
    """A BTC call marked at 0.0520 BTC: the vol reprices the mark to machine precision."""
    fwd, strike, tau = 61_250.0, 65_000.0, 30.0 / 365.0
    vol = float(implied_vol(0.0520, fwd, strike, tau, model="inverse"))
    assert 0.5 < vol < 1.5
    repriced = float(greeks(fwd, strike, tau, vol, model="inverse").price)
    assert abs(repriced - 0.0520) <= 4 * EPS * 0.0520


# ---------------------------------------------------------------------------------------
# bounds and status codes
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("is_call", [True, False])
def test_bounds(model: str, is_call: bool) -> None:
    spot, tau, rate, carry = 100.0, 0.5, 0.04, (0.01 if model == "bsm" else 0.0)
    fwd = float(forward_of(model, spot, tau, rate, carry))
    df = math.exp(-rate * tau)
    per = 1.0 / fwd if model == "inverse" else 1.0
    itm_strike = fwd * (0.8 if is_call else 1.25)
    intrinsic = df * abs(fwd - itm_strike) * per
    upper = df * (fwd if is_call else itm_strike) * per

    def status_and_vol(price: float, strike: float) -> tuple[int, float]:
        result = solve_implied_vol(price, spot, strike, tau, is_call=is_call, rate=rate, carry=carry,
                                   model=model)
        assert_status_consistent(result)
        return int(result.status), float(result.vol)

    assert status_and_vol(intrinsic * (1 - 1e-9), itm_strike)[0] == IVStatus.BELOW_INTRINSIC
    assert status_and_vol(intrinsic * (1 - 1e-12), itm_strike)[0] == IVStatus.BELOW_INTRINSIC
    assert status_and_vol(upper, itm_strike)[0] == IVStatus.ABOVE_UPPER_BOUND
    assert status_and_vol(upper * (1 - 8 * EPS), itm_strike)[0] == IVStatus.ABOVE_UPPER_BOUND
    assert status_and_vol(upper * 1.01, itm_strike)[0] == IVStatus.ABOVE_UPPER_BOUND
    assert status_and_vol(upper * 1e6, itm_strike)[0] == IVStatus.ABOVE_UPPER_BOUND
    # the intrinsic value itself, and within a few ulps, is vol 0
    for price in (intrinsic, intrinsic * (1 - 4 * EPS), intrinsic * (1 + 4 * EPS)):
        assert status_and_vol(price, itm_strike) == (IVStatus.OK, 0.0)
    # just inside the upper bound: a finite, large vol
    status, vol = status_and_vol(upper * (1 - 1e-6), itm_strike)
    assert status == IVStatus.OK
    assert vol > 1.0
    # zero price of an out-of-the-money option: vol 0
    otm_strike = fwd * (1.25 if is_call else 0.8)
    assert status_and_vol(0.0, otm_strike) == (IVStatus.OK, 0.0)


def test_vol_zero_prices_give_zero() -> None:
    """greeks at vol 0 is the discounted intrinsic value; back comes 0 (or a vol that
    reprices within rounding: see test_every_finite_vol_reprices)."""
    strike = np.array([50.0, 80.0, 99.0, 101.0, 120.0, 300.0])
    for call in (True, False):
        price = greeks(100.0, strike, 0.5, 0.0, is_call=call, rate=0.03, carry=0.01).price
        vol = implied_vol(price, 100.0, strike, 0.5, is_call=call, rate=0.03, carry=0.01)
        np.testing.assert_array_equal(vol, 0.0)


def test_every_status_code() -> None:
    nan, inf = math.nan, math.inf
    cases: list[tuple[dict[str, Any], IVStatus]] = [
        ({"price": 5.0}, IVStatus.OK),
        ({"price": 1.0, "strike": 50.0}, IVStatus.BELOW_INTRINSIC),
        ({"price": 120.0}, IVStatus.ABOVE_UPPER_BOUND),
        ({"price": 100.0, "is_call": False}, IVStatus.ABOVE_UPPER_BOUND),
        ({"price": 5.0, "tau": 0.0}, IVStatus.EXPIRED),
        ({"price": 5.0, "tau": -0.1}, IVStatus.EXPIRED),
        ({"price": nan}, IVStatus.INVALID_INPUT),
        ({"price": -1.0}, IVStatus.INVALID_INPUT),
        ({"price": inf}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "underlying": 0.0}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "underlying": -100.0}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "underlying": inf}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "strike": 0.0}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "strike": nan}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "tau": nan}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "tau": inf}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "rate": nan}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "carry": inf}, IVStatus.INVALID_INPUT),
        ({"price": 5.0, "rate": 1e3, "tau": 10.0}, IVStatus.INVALID_INPUT),  # e^{r tau} overflows
        ({"price": 1e-320, "strike": 150.0}, IVStatus.PRICE_UNDERFLOW),
    ]
    base = {"price": 5.0, "underlying": 100.0, "strike": 100.0, "tau": 0.5, "is_call": True,
            "rate": 0.02, "carry": 0.0}
    rows = [{**base, **overrides} for overrides, _ in cases]
    columns = {name: np.array([row[name] for row in rows]) for name in base}
    result = solve_implied_vol(columns["price"], columns["underlying"], columns["strike"], columns["tau"],
                               is_call=columns["is_call"], rate=columns["rate"], carry=columns["carry"])
    assert_status_consistent(result)
    expected = np.array([code for _, code in cases], dtype=np.int8)
    np.testing.assert_array_equal(result.status, expected)
    # every code but the one that no input reaches is exercised above
    assert set(IVStatus) - {IVStatus(c) for c in expected} == {IVStatus.NOT_CONVERGED}
    counts = result.counts()
    assert sum(counts.values()) == len(cases)
    assert counts[IVStatus.INVALID_INPUT] == sum(code == IVStatus.INVALID_INPUT for _, code in cases)
    np.testing.assert_array_equal(result.ok, expected == IVStatus.OK)


def test_status_codes_match_the_compiled_core() -> None:
    """IVStatus mirrors the IV_* enum of _iv.pxd, and every code explains itself.
    (The .pxd is a source file: wheels do not ship it, so that half runs in the tree.)"""
    descriptions = [status.describe() for status in IVStatus]
    assert all(descriptions)
    assert len(set(descriptions)) == len(descriptions)
    pxd = pathlib.Path(hedgecore.__file__).parent / "_iv.pxd"
    if not pxd.exists():
        pytest.skip("hedgecore/_iv.pxd is not installed with a wheel")
    compiled = {name: int(value) for name, value in re.findall(r"IV_(\w+) = (\d+)", pxd.read_text())}
    assert compiled == {status.name: int(status) for status in IVStatus}


def test_garbage_never_raises() -> None:
    rng = np.random.default_rng(12)
    n = 20_000
    pool = np.array([-1.0, 0.0, 1e-320, 1e-300, 1e-9, 0.5, 1.0, 50.0, 1e6, 1e308, np.nan, np.inf, -np.inf])

    def draw() -> NDArray[np.float64]:
        with np.errstate(over="ignore"):
            return np.asarray(rng.choice(pool, n) * rng.uniform(0.5, 2.0, n))
    for model in MODELS:
        result = solve_implied_vol(draw(), draw(), draw(), draw(), is_call=rng.random(n) < 0.5,
                                   rate=rng.choice([-0.5, 0.0, 0.05, 5.0, np.nan], n), model=model)
        assert_status_consistent(result)


# ---------------------------------------------------------------------------------------
# the facade: broadcasting, threads, validation
# ---------------------------------------------------------------------------------------

def test_broadcasting_with_bool_array_is_call() -> None:
    strike = np.array([80.0, 100.0, 125.0])
    is_call = np.array([[True], [False]])
    tau = 0.25
    price = greeks(100.0, strike, tau, 0.6, is_call=is_call, rate=0.01).price
    assert price.shape == (2, 3)
    vol = implied_vol(price, 100.0, strike, tau, is_call=is_call, rate=0.01)
    assert vol.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            single = implied_vol(float(price[i, j]), 100.0, float(strike[j]), tau, is_call=bool(is_call[i, 0]),
                                 rate=0.01)
            assert single.shape == ()
            assert single == vol[i, j]
    np.testing.assert_allclose(vol, 0.6, atol=1e-13)
    # plain lists and 0/1 integers broadcast too
    assert implied_vol([price[0, 0]], [100.0], 80.0, tau, is_call=[1], rate=0.01).shape == (1,)


def test_scalar_gives_0d_array() -> None:
    vol = implied_vol(5.0, 100.0, 100.0, 0.5)
    assert isinstance(vol, np.ndarray)
    assert vol.shape == ()
    assert vol.dtype == np.float64
    result = solve_implied_vol(5.0, 100.0, 100.0, 0.5)
    assert result.status.shape == ()
    assert result.status.dtype == np.int8


def test_implied_vol_is_solve_vol() -> None:
    book = random_book("bsm", 1_000, seed=4)
    price = price_of("bsm", book)
    kwargs = {"is_call": book["is_call"], "rate": book["rate"], "carry": book["carry"]}
    np.testing.assert_array_equal(
        implied_vol(price, book["underlying"], book["strike"], book["tau"], **kwargs),
        solve_implied_vol(price, book["underlying"], book["strike"], book["tau"], **kwargs).vol,
    )


@pytest.mark.parametrize("model", MODELS)
def test_results_do_not_depend_on_threads(model: str) -> None:
    book = random_book(model, 50_001, seed=8)
    price = price_of(model, book) * np.random.default_rng(0).uniform(0.98, 1.02, 50_001)
    one = solve(model, price, book, threads=1)
    for threads in (2, 3, 7):
        other = solve(model, price, book, threads=threads)
        np.testing.assert_array_equal(other.vol, one.vol)
        np.testing.assert_array_equal(other.status, one.status)


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="model"):
        implied_vol(5.0, 100.0, 100.0, 0.5, model="heston")
    with pytest.raises(ValueError, match="carry"):
        implied_vol(5.0, 100.0, 100.0, 0.5, carry=0.01, model="black76")
    with pytest.raises(ValueError, match="threads"):
        implied_vol(5.0, 100.0, 100.0, 0.5, threads=0)
    with pytest.raises(ValueError, match="broadcast"):
        implied_vol([5.0, 6.0], 100.0, [100.0, 110.0, 120.0], 0.5)
    with pytest.raises(ValueError, match="is_call"):
        implied_vol(5.0, 100.0, 100.0, 0.5, is_call="call")
    with pytest.raises(ValueError, match="price"):
        implied_vol("five", 100.0, 100.0, 0.5)
