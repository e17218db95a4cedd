"""Tests of hedgecore.greeks against independent references.

References (tests/reference.py): closed forms in mpmath at 40 digits, the same Greeks by
mpmath.diff of the mpmath price, a plain numpy implementation, and QuantLib.

Accuracy criterion used throughout (`assert_close`): for each output with natural scale U
(the price currency for price, vega, theta, rho, volga; 1 for delta, vanna, charm; 1/S for
gamma; see reference.value_scales)

    |hedgecore - reference| <= 1e-9 * max(|reference|, 1e-6 * U)

i.e. 1e-9 relative, except where the value is below a millionth of its scale, where the
error must stay below 1e-15 U (a few ulps of the underlying). Far out-of-the-money prices
are additionally checked with a purely relative criterion (test_far_otm_relative_accuracy).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import (
    mp_by_differentiation,
    mp_closed_form,
    mp_price,
    numpy_greeks,
    value_scales,
)

import hedgecore
from hedgecore import GREEK_NAMES, greeks

MODELS = ("bsm", "black76", "inverse")
RTOL = 1e-9
TINY = 1e-6
HOUR = 1.0 / 8760.0
SPOT = 100.0

# Domain of the accuracy contract.
MONEYNESS = (0.25, 4.0)   # strike / underlying
TAU = (HOUR, 5.0)          # years
VOL = (0.05, 3.0)
RATE = (-0.01, 0.08)
CARRY = (0.0, 0.05)


def _point_greeks(model: str, s: float, k: float, t: float, v: float, call: bool,
                  r: float, q: float) -> dict[str, float]:
    g = greeks(s, k, t, v, is_call=call, rate=r, carry=q, model=model)
    return {name: float(value) for name, value in g.as_dict().items()}


def assert_close(model: str, s: float, got: dict[str, float], ref: dict[str, Any],
                 rtol: float = RTOL, tiny: float = TINY, where: str = "") -> None:
    scales = value_scales(model, s)
    for name in GREEK_NAMES:
        ref_value = ref[name]
        err = abs(mpmath.mpf(got[name]) - ref_value)
        tol = rtol * max(abs(ref_value), tiny * scales[name])
        assert err <= tol, (
            f"{name} {where}: got {got[name]!r}, reference {mpmath.nstr(ref_value, 17)}, "
            f"error {mpmath.nstr(err, 3)} > {mpmath.nstr(tol, 3)}"
        )


def _grid() -> list[tuple[str, float, float, float, float, bool, float, float]]:
    """Corners of the contract domain plus interior points, for every model and side."""
    points = []
    for model in MODELS:
        carries = CARRY if model == "bsm" else (0.0,)
        for m, t, v, r, call in itertools.product(MONEYNESS, TAU, VOL, RATE, (True, False)):
            q = carries[(int(call) + int(r > 0)) % len(carries)]
            points.append((model, SPOT, SPOT * m, t, v, call, r, q))
        for m, t, v, call in itertools.product((0.9, 1.0, 1.1), (1.0 / 365.0, 0.25, 2.0),
                                               (0.3, 1.0), (True, False)):
            q = carries[-1]
            points.append((model, SPOT, SPOT * m, t, v, call, 0.03, q))
    return points


GRID = _grid()


def test_grid_against_mpmath_closed_form() -> None:
    for point in GRID:
        got = _point_greeks(*point)
        assert_close(point[0], point[1], got, mp_closed_form(*point), where=str(point))


def test_closed_forms_are_the_derivatives_of_the_price() -> None:
    # Checks the formulas themselves: closed forms against mpmath.diff of the mpmath price.
    for point in GRID[::7]:
        closed = mp_closed_form(*point)
        numeric = mp_by_differentiation(*point)
        for name in GREEK_NAMES:
            scale = value_scales(point[0], point[1])[name]
            err = abs(closed[name] - numeric[name])
            assert err <= mpmath.mpf(10) ** -25 * max(abs(closed[name]), mpmath.mpf(scale) * 1e-6), (
                name, point)


domain = st.tuples(
    st.sampled_from(MODELS),
    st.floats(math.log(MONEYNESS[0]), math.log(MONEYNESS[1])),
    st.floats(math.log(TAU[0]), math.log(TAU[1])),
    st.floats(math.log(VOL[0]), math.log(VOL[1])),
    st.booleans(),
    st.floats(*RATE),
    st.floats(*CARRY),
    st.floats(0.01, 1e5),
)


def _unpack(sample: tuple[str, float, float, float, bool, float, float, float]
            ) -> tuple[str, float, float, float, float, bool, float, float]:
    model, log_m, log_t, log_v, call, r, q, s = sample
    return (model, s, s * math.exp(log_m), math.exp(log_t), math.exp(log_v), call, r,
            q if model == "bsm" else 0.0)


@settings(max_examples=80, deadline=None)
@given(domain)
def test_sample_against_mpmath_differentiation(sample: Any) -> None:
    point = _unpack(sample)
    got = _point_greeks(*point)
    assert_close(point[0], point[1], got, mp_by_differentiation(*point), where=str(point))


def test_plain_numpy_reference() -> None:
    rng = np.random.default_rng(20261121)
    n = 20_000
    s = rng.uniform(0.01, 1e5, n)
    k = s * np.exp(rng.uniform(math.log(0.25), math.log(4.0), n))
    t = np.exp(rng.uniform(math.log(HOUR), math.log(5.0), n))
    v = np.exp(rng.uniform(math.log(0.05), math.log(3.0), n))
    call = rng.random(n) < 0.5
    r = rng.uniform(*RATE, n)
    for model in MODELS:
        q = rng.uniform(*CARRY, n) if model == "bsm" else np.zeros(n)
        got = greeks(s, k, t, v, is_call=call, rate=r, carry=q, model=model).as_dict()
        ref = numpy_greeks(model, s, k, t, v, call, r, q)
        money = np.ones(n) if model == "inverse" else s
        scales = {"price": money, "delta": 1.0, "gamma": 1.0 / s, "vega": money,
                  "theta": money, "rho": money, "vanna": 1.0, "volga": money, "charm": 1.0}
        for name in GREEK_NAMES:
            # Both are float64 evaluations of the same formulas: the same criterion applies.
            tol = RTOL * np.maximum(np.abs(ref[name]), TINY * scales[name])
            bad = np.abs(got[name] - ref[name]) > tol
            assert not bad.any(), (model, name, got[name][bad][:3], ref[name][bad][:3])


# ----------------------------------------------------------------------------- QuantLib

ql = pytest.importorskip("QuantLib")


def _ql_bsm(s: float, k: float, days: int, v: float, call: bool, r: float, q: float
            ) -> dict[str, float]:
    today = ql.Date(21, 11, 2026)
    settings = ql.Settings.instance()
    previous = settings.evaluationDate
    settings.evaluationDate = today
    try:
        dc = ql.Actual365Fixed()
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(s)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), v, dc)),
        )
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, k),
            ql.EuropeanExercise(today + days),
        )
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        return {"price": option.NPV(), "delta": option.delta(), "gamma": option.gamma(),
                "vega": option.vega(), "theta": option.theta(), "rho": option.rho()}
    finally:
        settings.evaluationDate = previous  # other tests' QuantLib state stays theirs


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("days", [1, 30, 365, 1825])
@pytest.mark.parametrize("moneyness", [0.25, 0.9, 1.0, 1.2, 4.0])
def test_bsm_against_quantlib(call: bool, days: int, moneyness: float) -> None:
    s, v, r, q = 100.0, 0.8, 0.05, 0.02
    k = s * moneyness
    ref = _ql_bsm(s, k, days, v, call, r, q)
    got = _point_greeks("bsm", s, k, days / 365.0, v, call, r, q)
    scales = value_scales("bsm", s)
    for name, expected in ref.items():
        # QuantLib evaluates S N(d1) - K N(d2) as written, so its far out-of-the-money
        # values carry absolute errors of a few ulps of S: 1e-11 relative, floor 1e-3 of scale.
        assert abs(got[name] - expected) <= 1e-11 * max(abs(expected), 1e-3 * scales[name]), (
            name, got[name], expected)


@pytest.mark.parametrize("model", ["black76", "inverse"])
@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("tau", [HOUR, 0.1, 2.0])
@pytest.mark.parametrize("moneyness", [0.25, 0.95, 1.0, 1.5, 4.0])
def test_forward_models_against_quantlib_black_calculator(model: str, call: bool, tau: float,
                                                          moneyness: float) -> None:
    f, v, r = 30_000.0, 0.65, 0.04
    k = f * moneyness
    df = math.exp(-r * tau)
    calc = ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, k),
                              f, v * math.sqrt(tau), df)
    got = _point_greeks(model, f, k, tau, v, call, r, 0.0)
    # QuantLib's BlackCalculator::volga is vega d1 d2 / stdDev, the derivative of vega in
    # the standard deviation sigma sqrt(tau); d2V/dsigma2 is that times sqrt(tau).
    black = {"price": calc.value(), "delta": calc.deltaForward(), "gamma": calc.gammaForward(),
             "vega": calc.vega(tau), "theta": calc.theta(f, tau), "vanna": calc.vanna(f, tau),
             "volga": calc.volga(tau) * math.sqrt(tau)}
    if model == "black76":
        expected = black
    else:
        price_coin = black["price"] / f
        delta_pa = black["delta"] - price_coin
        expected = {"price": price_coin, "delta": delta_pa,
                    "gamma": black["gamma"] - delta_pa / f,
                    "vega": black["vega"] / f, "theta": black["theta"] / f,
                    "vanna": black["vanna"] - black["vega"] / f,
                    "volga": black["volga"] / f}
    scales = value_scales(model, f)
    for name, value in expected.items():
        assert abs(got[name] - value) <= 1e-10 * max(abs(value), TINY * scales[name]), (
            name, got[name], value)


# ------------------------------------------------------------------ the mathematics

@settings(max_examples=150, deadline=None)
@given(domain)
def test_put_call_parity(sample: Any) -> None:
    model, s, k, t, v, _, r, q = _unpack(sample)
    call = greeks(s, k, t, v, is_call=True, rate=r, carry=q, model=model)
    put = greeks(s, k, t, v, is_call=False, rate=r, carry=q, model=model)
    df = math.exp(-r * t)
    if model == "bsm":
        parity, delta_gap, scale = s * math.exp(-q * t) - k * df, math.exp(-q * t), s + k
    elif model == "black76":
        parity, delta_gap, scale = df * (s - k), df, s + k
    else:
        # Coin-settled: C - P = (1 - K/F) df coin; premium-adjusted deltas differ by df K/F.
        parity, delta_gap, scale = df * (1.0 - k / s), df * k / s, 1.0 + k / s
    assert float(call.price - put.price) == pytest.approx(parity, rel=1e-12, abs=1e-13 * scale)
    assert float(call.delta - put.delta) == pytest.approx(delta_gap, rel=1e-12, abs=1e-14)
    for name in ("vega", "volga"):
        assert float(getattr(call, name)) == pytest.approx(float(getattr(put, name)), rel=1e-9, abs=1e-13 * scale)


def _bumped(model: str, s: float, k: float, t: float, v: float, call: bool, r: float,
            q: float, name: str) -> float:
    """Central finite difference of the price (or of delta) matching Greek `name`."""
    def price(**kw: float) -> float:
        args = {"s": s, "t": t, "v": v, "r": r} | kw
        return float(greeks(args["s"], k, args["t"], args["v"], is_call=call, rate=args["r"],
                            carry=q, model=model).price)

    def delta(**kw: float) -> float:
        args = {"s": s, "t": t, "v": v, "r": r} | kw
        return float(greeks(args["s"], k, args["t"], args["v"], is_call=call, rate=args["r"],
                            carry=q, model=model).delta)

    hs, ht, hv, hr = 1e-4 * s, 1e-4 * t, 1e-4 * v, 1e-4
    if name == "delta":
        fd = (price(s=s + hs) - price(s=s - hs)) / (2 * hs)
        return s * fd if model == "inverse" else fd
    if name == "gamma":
        return (delta(s=s + hs) - delta(s=s - hs)) / (2 * hs)
    if name == "vega":
        return (price(v=v + hv) - price(v=v - hv)) / (2 * hv)
    if name == "theta":
        return -(price(t=t + ht) - price(t=t - ht)) / (2 * ht)
    if name == "rho":
        return (price(r=r + hr) - price(r=r - hr)) / (2 * hr)
    if name == "vanna":
        return (delta(v=v + hv) - delta(v=v - hv)) / (2 * hv)
    if name == "volga":
        return (price(v=v + hv) - 2 * price() + price(v=v - hv)) / (hv * hv)
    if name == "charm":
        return -(delta(t=t + ht) - delta(t=t - ht)) / (2 * ht)
    raise AssertionError(name)


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.sampled_from(MODELS), st.floats(math.log(0.7), math.log(1.4)),
                 st.floats(math.log(1.0 / 52), math.log(3.0)), st.floats(math.log(0.2), math.log(1.5)),
                 st.booleans(), st.floats(*RATE), st.floats(*CARRY), st.floats(1.0, 1e5)))
def test_greeks_match_central_differences(sample: Any) -> None:
    model, s, k, t, v, call, r, q = _unpack(sample)
    got = _point_greeks(model, s, k, t, v, call, r, q)
    scales = value_scales(model, s)
    for name in GREEK_NAMES[1:]:
        fd = _bumped(model, s, k, t, v, call, r, q, name)
        # Central differences with h = 1e-4 relative: truncation ~1e-8, rounding ~1e-12/h^2
        # for the second difference of volga.
        assert fd == pytest.approx(got[name], rel=2e-5, abs=2e-6 * scales[name] * (1 + v * v)), (
            name, (model, s, k, t, v, call, r, q))


@settings(max_examples=100, deadline=None)
@given(domain)
def test_monotonicity_and_delta_bounds(sample: Any) -> None:
    model, s, k, t, v, _, r, q = _unpack(sample)
    strikes = k * np.array([0.98, 1.0, 1.02])
    vols = v * np.array([0.98, 1.0, 1.02])
    by_strike = greeks(s, strikes, t, v, rate=r, carry=q, model=model)
    by_vol = greeks(s, k, t, vols, rate=r, carry=q, model=model)
    # Monotone up to rounding: deep in the money the price is flat to a few ulps.
    slack = 4 * np.finfo(float).eps * float(np.max(np.abs(by_strike.price)))
    assert np.all(np.diff(by_strike.price) <= slack)
    assert np.all(np.diff(by_vol.price) >= -slack)
    # Also for the coin price of a coin-settled call: dC_coin/dF = delta / F > 0 (it is the
    # premium-adjusted delta that is not monotone in F).
    by_spot = greeks(s * np.array([0.98, 1.0, 1.02]), k, t, v, rate=r, carry=q, model=model)
    assert np.all(np.diff(by_spot.price) >= -slack)
    for call in (True, False):
        g = greeks(s, k, t, v, is_call=call, rate=r, carry=q, model=model)
        bound = {"bsm": math.exp(-q * t), "black76": math.exp(-r * t),
                 "inverse": math.exp(-r * t) * k / s}[model]
        delta = float(g.delta)
        if call:
            assert 0.0 <= delta <= bound * (1 + 1e-15)
        else:
            assert -bound * (1 + 1e-15) <= delta <= 0.0
        assert float(g.gamma) >= 0.0 or model == "inverse"
        assert float(g.vega) >= 0.0


def test_inverse_gamma_is_negative_deep_in_the_money() -> None:
    # d(K/F N(d2))/dF < 0 where the N(d2) term has saturated.
    g = greeks(60_000.0, 30_000.0, 0.1, 0.5, model="inverse")
    assert float(g.gamma) < 0.0
    # Hence the premium-adjusted delta (K/F) N(d2) rises, peaks and falls as F grows.
    forwards = np.linspace(10_000.0, 120_000.0, 200)
    delta = greeks(forwards, 30_000.0, 0.1, 0.5, model="inverse").delta
    peak = int(np.argmax(delta))
    assert 0 < peak < forwards.size - 1
    assert np.all(delta <= 30_000.0 / forwards)


# ------------------------------------------------------------------------- edge cases

def test_far_otm_relative_accuracy() -> None:
    """Deep out-of-the-money prices keep their relative precision (no cancellation)."""
    checked = 0
    for model in MODELS:
        for call, m in ((True, 4.0), (True, 2.0), (True, 1.6), (False, 0.25), (False, 0.6)):
            for t in (HOUR, 1 / 365, 0.02, 0.1, 1.0, 5.0):
                for v in (0.05, 0.08, 0.15, 0.3, 1.0, 3.0):
                    point = (model, SPOT, SPOT * m, t, v, call, 0.03, 0.01 if model == "bsm" else 0.0)
                    ref = mp_closed_form(*point)["price"]
                    if not 1e-290 < ref / SPOT < 1e-4:
                        continue
                    got = float(greeks(SPOT, SPOT * m, t, v, is_call=call, rate=0.03,
                                       carry=point[7], model=model).price)
                    assert abs(got - ref) <= 1e-9 * ref, (point, got, mpmath.nstr(ref, 17))
                    checked += 1
    assert checked > 60


def test_extreme_tails_underflow_to_zero_without_nan() -> None:
    g = greeks(100.0, [1e-8, 1e8], HOUR, 0.05, is_call=[False, True])
    for name in GREEK_NAMES:
        values = getattr(g, name)
        assert np.all(np.isfinite(values)), name
    np.testing.assert_array_equal(g.price, [0.0, 0.0])
    ditm = greeks(100.0, [1e-8, 1e8], 5.0, 0.3, is_call=[True, False], rate=0.08)
    np.testing.assert_allclose(ditm.price, [100.0 - 1e-8 * math.exp(-0.4), 1e8 * math.exp(-0.4) - 100.0],
                               rtol=1e-14)
    np.testing.assert_allclose(ditm.delta, [1.0, -1.0], rtol=1e-14)


@pytest.mark.parametrize("model", MODELS)
def test_expiry_gives_intrinsic_value(model: str) -> None:
    f = np.array([80.0, 100.0, 120.0])
    for call in (True, False):
        g = greeks(f, 100.0, 0.0, 0.6, is_call=call, rate=0.05, model=model)
        intrinsic = np.maximum((1 if call else -1) * (f - 100.0), 0.0)
        sign = 1.0 if call else -1.0
        if model == "inverse":
            np.testing.assert_array_equal(g.price, intrinsic / f)
            in_money = np.array([0.0, 0.5, 1.0]) if call else np.array([1.0, 0.5, 0.0])
            np.testing.assert_allclose(g.delta, sign * in_money * 100.0 / f, rtol=1e-15)
        else:
            np.testing.assert_array_equal(g.price, intrinsic)
            expected = np.array([0.0, 0.5, 1.0]) if call else np.array([1.0, 0.5, 0.0])
            np.testing.assert_array_equal(g.delta, sign * expected)
        for name in GREEK_NAMES[2:]:
            np.testing.assert_array_equal(getattr(g, name), 0.0)


@pytest.mark.parametrize("model", MODELS)
def test_zero_vol_is_discounted_forward_intrinsic(model: str) -> None:
    s, t, r = 100.0, 0.5, 0.06
    q = 0.02 if model == "bsm" else 0.0
    fwd = s * math.exp((r - q) * t) if model == "bsm" else s
    df = math.exp(-r * t)
    for k in (80.0, 120.0):
        for call in (True, False):
            g = greeks(s, k, t, 0.0, is_call=call, rate=r, carry=q, model=model)
            value = df * max((1 if call else -1) * (fwd - k), 0.0)
            if model == "inverse":
                value /= s
            assert float(g.price) == pytest.approx(value, rel=1e-14, abs=1e-15)
            # The vol -> 0 limit of the kernel's formulas, and continuity from a tiny vol.
            near = greeks(s, k, t, 1e-6, is_call=call, rate=r, carry=q, model=model)
            for name in GREEK_NAMES:
                assert float(getattr(g, name)) == pytest.approx(float(getattr(near, name)),
                                                                rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("model", MODELS)
def test_vanishing_vol_and_tau_stay_finite(model: str) -> None:
    """Subnormal vol or tau (or both tiny) give the vol -> 0 / tau -> 0 limits, never NaN."""
    strikes = np.array([90.0, 100.0, 110.0])
    for vol, tau in ((1e-310, 1.0), (5e-301, 1.0), (1e-200, 1e-200), (0.5, 1e-310)):
        g = greeks(100.0, strikes, tau, vol, rate=0.01, model=model)
        for name in GREEK_NAMES:
            assert np.all(np.isfinite(getattr(g, name))), (vol, tau, name)
        if tau == 1.0:
            limit = greeks(100.0, strikes, tau, 0.0, rate=0.01, model=model)
            for name in GREEK_NAMES:
                np.testing.assert_allclose(getattr(g, name), getattr(limit, name),
                                           rtol=1e-15, atol=1e-290, err_msg=name)


@pytest.mark.parametrize("model", MODELS)
def test_invalid_inputs_give_nan(model: str) -> None:
    bad = [
        {"underlying": 0.0}, {"underlying": -1.0}, {"strike": 0.0}, {"strike": -5.0},
        {"tau": -1e-9}, {"vol": -0.1}, {"underlying": math.nan}, {"strike": math.inf},
        {"tau": math.inf}, {"vol": math.nan}, {"rate": math.nan}, {"rate": -math.inf},
    ]
    if model == "bsm":
        bad.append({"carry": math.nan})
    for override in bad:
        args: dict[str, Any] = {"underlying": 100.0, "strike": 100.0, "tau": 0.5, "vol": 0.6, "rate": 0.01} | override
        g = greeks(args.pop("underlying"), args.pop("strike"), args.pop("tau"), args.pop("vol"),
                   model=model, **args)
        for name in GREEK_NAMES:
            assert math.isnan(float(getattr(g, name))), (override, name)


# ------------------------------------------------------------------------ the facade

def test_threads_do_not_change_results() -> None:
    rng = np.random.default_rng(7)
    n = 100_003
    args = (rng.uniform(50, 150, n), rng.uniform(50, 150, n), rng.uniform(0, 2, n),
            rng.uniform(0, 2, n))
    for model in MODELS:
        calls = rng.random(n) < 0.5
        one = greeks(*args, is_call=calls, rate=0.02, model=model, threads=1)
        two = greeks(*args, is_call=calls, rate=0.02, model=model, threads=2)
        for name in GREEK_NAMES:
            np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_broadcasting_and_shapes() -> None:
    scalar = greeks(100.0, 100.0, 0.5, 0.6)
    for name in GREEK_NAMES:
        value = getattr(scalar, name)
        assert isinstance(value, np.ndarray)
        assert value.shape == ()
        assert value.dtype == np.float64
    strikes = np.array([[90.0], [100.0], [110.0]])
    calls = np.array([True, False])
    g = greeks(100.0, strikes, 0.5, 0.6, is_call=calls, rate=0.01)
    assert g.price.shape == (3, 2)
    for i, k in enumerate(strikes[:, 0]):
        for j, call in enumerate(calls):
            single = greeks(100.0, k, 0.5, 0.6, is_call=bool(call), rate=0.01)
            for name in GREEK_NAMES:
                assert getattr(g, name)[i, j] == float(getattr(single, name))
    assert greeks([100.0, 110.0], 100.0, 0.5, 0.6, is_call=np.array([1, 0])).price.shape == (2,)
    assert set(g.as_dict()) == set(GREEK_NAMES)


def test_non_contiguous_and_integer_inputs() -> None:
    strikes = np.linspace(50.0, 150.0, 40).reshape(5, 8)
    spots = np.asfortranarray(np.full((5, 4), 100.0))
    calls = np.arange(40).reshape(5, 8) % 2
    g = greeks(spots, strikes[:, ::2], 1, 0.6, is_call=calls[:, ::2], rate=0.01)
    expected = greeks(100.0, np.ascontiguousarray(strikes[:, ::2]), 1.0, 0.6,
                      is_call=np.ascontiguousarray(calls[:, ::2]).astype(bool), rate=0.01)
    assert g.price.shape == (5, 4)
    for name in GREEK_NAMES:
        np.testing.assert_array_equal(getattr(g, name), getattr(expected, name))


def test_small_inputs_use_fewer_threads() -> None:
    from hedgecore._inputs import threads_for_size

    assert threads_for_size(2, 1) == 1
    assert threads_for_size(2, 2047) == 1
    assert threads_for_size(2, 2048) == 2
    assert threads_for_size(8, 10**6) == 8
    assert threads_for_size(1, 0) == 1


def test_hedgecore_exports() -> None:
    assert hedgecore.greeks is greeks
    assert hedgecore.GREEK_NAMES == GREEK_NAMES


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"model": "black-scholes"}, "model"),
        ({"model": None}, "model"),
        ({"threads": 0}, "threads"),
        ({"threads": 1.5}, "threads"),
        ({"threads": True}, "threads"),
        ({"model": "black76", "carry": 0.01}, "carry"),
        ({"model": "inverse", "carry": [0.0, 0.02]}, "carry"),
        ({"is_call": np.array([0.5])}, "is_call"),
        ({"is_call": "yes"}, "is_call"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        greeks(100.0, 100.0, 0.5, 0.6, **kwargs)


def test_non_numeric_and_mismatched_shapes_raise() -> None:
    with pytest.raises(ValueError, match="strike"):
        greeks(100.0, "abc", 0.5, 0.6)
    with pytest.raises(ValueError, match="broadcast"):
        greeks([100.0, 101.0], [1.0, 2.0, 3.0], 0.5, 0.6)


def test_mp_price_is_the_black_formula() -> None:
    # Guard on the reference itself: the mpmath price at a textbook point (Hull, 10th ed.,
    # example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5 -> call 4.76, put 0.81).
    with mpmath.workdps(30):
        call = mp_price("bsm", mpmath.mpf(42), 40, mpmath.mpf("0.5"), mpmath.mpf("0.2"), True,
                        mpmath.mpf("0.1"), 0)
        put = mp_price("bsm", mpmath.mpf(42), 40, mpmath.mpf("0.5"), mpmath.mpf("0.2"), False,
                       mpmath.mpf("0.1"), 0)
    assert float(call) == pytest.approx(4.76, abs=0.005)
    assert float(put) == pytest.approx(0.81, abs=0.005)
