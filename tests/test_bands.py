"""Hedge-band formulas against plain numpy references, limits, scaling laws and scipy.

The references below are written from REFERENCE.md section 2 (and the cited papers), not
from the compiled code: Whalley-Wilmott (pfhedge's form at r = 0), Zakamouline's fitted
band, Leland's vol in both its one-way and round-trip forms, and the nested band checked
against a direct 2-D minimisation of the quasi-stationary loss with scipy.optimize.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from hedgecore.bands import (
    NestedBand,
    ZakamoulineBand,
    hedge_after_band,
    leland_vol,
    nested_band,
    whalley_wilmott_half_width,
    zakamouline_band,
)

FAST = settings(max_examples=60, deadline=None)

gammas = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False).filter(lambda g: abs(g) > 1e-6)
spots = st.floats(min_value=0.5, max_value=2e5)
costs = st.floats(min_value=1e-6, max_value=0.02)
aversions = st.floats(min_value=1e-7, max_value=10.0)
fixed_costs = st.floats(min_value=1e-4, max_value=1e4)


# ---- numpy references ---------------------------------------------------------------------


def ww_reference(gamma, spot, cost, a, rate=0.0, tau=0.0):
    return (3.0 * np.exp(-rate * tau) * cost * spot * np.square(gamma) / (2.0 * a)) ** (1.0 / 3.0)


def zakamouline_reference(gamma, spot, vol, tau, cost, a, rate=0.0):
    discount_over_vol = (math.exp(-rate * tau) / vol) ** 0.25
    h_zero = cost / (a * spot * vol**2 * tau)
    h_w = 1.12 * cost**0.31 * tau**0.05 * discount_over_vol * math.sqrt(abs(gamma) / a)
    k = -4.76 * cost**0.78 * tau**-0.02 * discount_over_vol * (a * spot**2 * abs(gamma)) ** 0.15
    variance_scale = 1.0 - k if gamma < 0 else 1.0 + k
    return h_zero + h_w, vol * math.sqrt(max(variance_scale, 0.0))


def nested_loss(outer, inner, gamma, spot, cost, fixed_cost, a):
    """REFERENCE.md: L(H, h) = Gamma^2 (K_f + lambda S (H - h)) / (H^2 - h^2) + a (H^2 + h^2) / 12."""
    return (
        gamma**2 * (fixed_cost + cost * spot * (outer - inner)) / (outer**2 - inner**2)
        + a * (outer**2 + inner**2) / 12.0
    )


def nested_scipy(gamma, spot, cost, fixed_cost, a):
    """Direct 2-D minimisation of the loss in log coordinates d = H - h > 0, h > 0."""
    scale = (12.0 * fixed_cost * gamma**2 / a) ** 0.25  # the fixed-cost-only width

    def objective(x):
        d, h = scale * math.exp(x[0]), scale * math.exp(x[1])
        return nested_loss(h + d, h, gamma, spot, cost, fixed_cost, a) / (a * scale**2)

    best = None
    for start in ([0.0, -1.0], [-2.0, -0.5], [-0.5, -3.0]):
        result = optimize.minimize(
            objective, start, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000}
        )
        if best is None or result.fun < best.fun:
            best = result
    d, h = scale * math.exp(best.x[0]), scale * math.exp(best.x[1])
    return h + d, h


# ---- Whalley-Wilmott ---------------------------------------------------------------------


@FAST
@given(gammas, spots, costs, aversions, st.floats(-0.1, 0.3), st.floats(0.0, 3.0))
def test_whalley_wilmott_matches_reference(gamma, spot, cost, a, rate, tau):
    width = whalley_wilmott_half_width(gamma, spot, cost, a, rate=rate, tau=tau)
    assert width.shape == ()
    np.testing.assert_allclose(width, ww_reference(gamma, spot, cost, a, rate, tau), rtol=1e-13)


def test_whalley_wilmott_pfhedge_form_and_scaling():
    # pfhedge.nn.functional.ww_width: (3 c Gamma^2 S / (2 a))^(1/3) at r = 0.
    gamma, spot, cost, a = 0.04, 1.0, 1e-3, 1.0
    assert float(whalley_wilmott_half_width(gamma, spot, cost, a)) == pytest.approx(
        (3 * cost * gamma**2 * spot / (2 * a)) ** (1 / 3), rel=1e-14
    )
    cost_grid = np.array([1e-5, 1e-4, 1e-3, 1e-2])
    widths = whalley_wilmott_half_width(-5000.0, 50.0, cost_grid, 0.5)
    slopes = np.diff(np.log(widths)) / np.diff(np.log(cost_grid))
    np.testing.assert_allclose(slopes, 1 / 3, rtol=1e-12)
    # risk aversion^(-1/3), |gamma|^(2/3), symmetric in the sign of gamma
    assert float(whalley_wilmott_half_width(-5000.0, 50.0, 1e-3, 8.0)) == pytest.approx(
        float(whalley_wilmott_half_width(-5000.0, 50.0, 1e-3, 1.0)) / 2.0, rel=1e-13
    )
    assert float(whalley_wilmott_half_width(8 * 5000.0, 50.0, 1e-3, 1.0)) == pytest.approx(
        4.0 * float(whalley_wilmott_half_width(-5000.0, 50.0, 1e-3, 1.0)), rel=1e-13
    )
    # discounting: e^{-r tau} enters under the cube root
    assert float(whalley_wilmott_half_width(-5000.0, 50.0, 1e-3, 1.0, rate=0.3, tau=1.0)) == pytest.approx(
        math.exp(-0.1) * float(whalley_wilmott_half_width(-5000.0, 50.0, 1e-3, 1.0)), rel=1e-13
    )
    assert float(whalley_wilmott_half_width(0.0, 50.0, 1e-3, 1.0)) == 0.0
    assert float(whalley_wilmott_half_width(-5000.0, 50.0, 0.0, 1.0)) == 0.0


def test_whalley_wilmott_broadcasts_like_a_ufunc():
    gamma = np.linspace(-1000, 1000, 6).reshape(2, 3)
    spot = np.array([40.0, 50.0, 60.0])
    width = whalley_wilmott_half_width(gamma, spot, 1e-3, np.array([[1.0], [2.0]]))
    assert width.shape == (2, 3)
    np.testing.assert_allclose(width, ww_reference(gamma, spot, 1e-3, np.array([[1.0], [2.0]])), rtol=1e-13)
    with pytest.raises(ValueError, match="do not broadcast"):
        whalley_wilmott_half_width(np.ones(3), np.ones(4) * 50, 1e-3, 1.0)


# ---- Zakamouline -------------------------------------------------------------------------


@FAST
@given(gammas, spots, st.floats(0.05, 2.0), st.floats(1e-3, 3.0), costs, aversions, st.floats(-0.05, 0.2))
def test_zakamouline_matches_reference(gamma, spot, vol, tau, cost, a, rate):
    band = zakamouline_band(gamma, spot, vol, tau, cost, a, rate=rate)
    assert isinstance(band, ZakamoulineBand)
    half_width, modified_vol = zakamouline_reference(gamma, spot, vol, tau, cost, a, rate)
    np.testing.assert_allclose(band.half_width, half_width, rtol=1e-12)
    np.testing.assert_allclose(band.modified_vol, modified_vol, rtol=1e-12, atol=1e-300)


def test_zakamouline_short_hedges_at_higher_vol_long_at_lower():
    short = zakamouline_band(-6550.0, 49.0, 0.2, 0.3846, 1e-3, 1e-3)
    long = zakamouline_band(6550.0, 49.0, 0.2, 0.3846, 1e-3, 1e-3)
    assert float(short.modified_vol) > 0.2 > float(long.modified_vol) > 0.0
    # sigma_m^2 = sigma^2 (1 -/+ K): the two adjustments are symmetric in variance
    assert float(short.modified_vol) ** 2 + float(long.modified_vol) ** 2 == pytest.approx(2 * 0.2**2, rel=1e-13)
    assert float(short.half_width) == float(long.half_width)
    free = zakamouline_band(-6550.0, 49.0, 0.2, 0.3846, 0.0, 1e-3)
    assert float(free.half_width) == 0.0
    assert float(free.modified_vol) == 0.2


def test_zakamouline_long_vol_floors_at_zero():
    # huge costs against a long gamma: 1 + K < 0, the modified vol is floored at 0
    band = zakamouline_band(1e6, 100.0, 0.2, 1.0, 0.5, 10.0)
    k = 1.0 - (float(zakamouline_band(-1e6, 100.0, 0.2, 1.0, 0.5, 10.0).modified_vol) / 0.2) ** 2
    assert 1.0 + k < 0.0
    assert float(band.modified_vol) == 0.0


def test_zakamouline_rejects_expiry():
    with pytest.raises(ValueError, match=r"^tau must be finite and > 0, got 0.0"):
        zakamouline_band(-1.0, 49.0, 0.2, 0.0, 1e-3, 1.0)


# ---- Leland ------------------------------------------------------------------------------


@FAST
@given(st.floats(0.05, 2.0), st.floats(0.0, 0.01), st.floats(1 / 8760, 0.25))
def test_leland_matches_one_way_and_round_trip_forms(vol, cost, dt):
    short = float(leland_vol(vol, cost, dt))
    one_way = vol * math.sqrt(1 + math.sqrt(8 / math.pi) * cost / (vol * math.sqrt(dt)))
    round_trip_cost = 2 * cost  # Leland's k: sqrt(2/pi) k / (sigma sqrt(dt))
    round_trip = vol * math.sqrt(1 + math.sqrt(2 / math.pi) * round_trip_cost / (vol * math.sqrt(dt)))
    assert short == pytest.approx(one_way, rel=1e-14)
    assert short == pytest.approx(round_trip, rel=1e-14)
    long = float(leland_vol(vol, cost, dt, short=False))
    leland_number = math.sqrt(8 / math.pi) * cost / (vol * math.sqrt(dt))
    assert long == pytest.approx(vol * math.sqrt(max(1 - leland_number, 0.0)), rel=1e-13, abs=1e-300)


def test_leland_long_guard_and_array_short():
    # Le = sqrt(8/pi) * 0.01 / (0.2 * sqrt(1/365)) ~ 1.52 > 1: no Leland hedge for a long
    assert float(leland_vol(0.2, 0.01, 1 / 365, short=False)) == 0.0
    both = leland_vol(0.2, 1e-3, 1 / 52, short=np.array([True, False]))
    assert both.shape == (2,)
    assert both[0] > 0.2 > both[1]
    assert float(leland_vol(0.3, 0.0, 0.01)) == 0.3
    with pytest.raises(ValueError, match=r"^short must be a bool"):
        leland_vol(0.2, 1e-3, 0.01, short=np.array([0.5]))
    with pytest.raises(ValueError, match=r"^dt must be finite and > 0"):
        leland_vol(0.2, 1e-3, 0.0)


# ---- nested band -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gamma", "spot", "cost", "fixed_cost", "a"),
    [
        (-6550.0, 49.0, 1e-3, 10.0, 1e-3),  # Hull's book, both costs comparable
        (-6550.0, 49.0, 1e-3, 0.01, 1e-3),  # proportional dominated
        (-6550.0, 49.0, 1e-5, 500.0, 1e-3),  # fixed dominated
        (3.5e-4, 60000.0, 5e-4, 2.0, 1e-5),  # a BTC book: gamma in BTC per USD
        (120.0, 1.0, 1e-2, 1e-3, 1.0),  # normalised spot
    ],
)
def test_nested_band_is_the_scipy_minimum(gamma, spot, cost, fixed_cost, a):
    band = nested_band(gamma, spot, cost, fixed_cost, a)
    assert isinstance(band, NestedBand)
    outer, inner = float(band.outer), float(band.inner)
    assert 0.0 < inner < outer
    scipy_outer, scipy_inner = nested_scipy(gamma, spot, cost, fixed_cost, a)
    ours = nested_loss(outer, inner, gamma, spot, cost, fixed_cost, a)
    theirs = nested_loss(scipy_outer, scipy_inner, gamma, spot, cost, fixed_cost, a)
    assert ours <= theirs * (1 + 1e-12)
    np.testing.assert_allclose([outer, inner], [scipy_outer, scipy_inner], rtol=1e-5)


@FAST
@given(gammas, spots, costs, fixed_costs, aversions)
def test_nested_band_satisfies_first_order_conditions(gamma, spot, cost, fixed_cost, a):
    band = nested_band(gamma, spot, cost, fixed_cost, a)
    outer, inner = float(band.outer), float(band.inner)
    assert 0.0 <= inner <= outer
    # the loss does not fall when either edge moves by a small relative step; evaluating it
    # loses digits in H - h and H^2 - h^2 when the band is thin, hence the tolerance
    base = nested_loss(outer, inner, gamma, spot, cost, fixed_cost, a)
    tolerance = 1e-12 + 64 * np.finfo(float).eps * outer / (outer - inner)
    if outer - inner > 1e-6 * outer and inner > 1e-9 * outer:
        for d_outer, d_inner in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)):
            step = 1e-4 * (outer - inner)
            moved = nested_loss(outer + d_outer * step, inner + d_inner * step, gamma, spot, cost, fixed_cost, a)
            assert moved >= base * (1 - tolerance)
    # the two first-order conditions, each relative to its own scale
    d = outer - inner
    lhs = 12 * gamma**2 * (fixed_cost + cost * spot * d)
    assert lhs == pytest.approx(a * d * (outer + inner) ** 3, rel=1e-9)
    assert 4 * fixed_cost * outer * inner == pytest.approx(cost * spot * d**3, rel=1e-9)


def test_nested_band_limits_and_fixed_cost_scaling():
    gamma, spot, cost, a = -6550.0, 49.0, 1e-3, 1e-3
    # no fixed cost: both edges at the Whalley-Wilmott width (r = 0), and continuity
    ww = float(whalley_wilmott_half_width(gamma, spot, cost, a))
    exact = nested_band(gamma, spot, cost, 0.0, a)
    assert float(exact.outer) == pytest.approx(ww, rel=1e-14)
    assert float(exact.inner) == pytest.approx(ww, rel=1e-14)
    near = nested_band(gamma, spot, cost, 1e-9, a)
    assert float(near.outer) == pytest.approx(ww, rel=1e-3)
    assert float(near.inner) == pytest.approx(ww, rel=1e-3)
    # no proportional cost: inner = 0, outer = (12 K_f Gamma^2 / a)^(1/4), slope 1/4 in K_f
    fixed = np.array([0.1, 1.0, 10.0, 100.0])
    band = nested_band(gamma, spot, 0.0, fixed, a)
    np.testing.assert_allclose(band.outer, (12 * fixed * gamma**2 / a) ** 0.25, rtol=1e-14)
    assert np.all(band.inner == 0.0)
    slopes = np.diff(np.log(band.outer)) / np.diff(np.log(fixed))
    np.testing.assert_allclose(slopes, 0.25, rtol=1e-12)
    # a tiny proportional cost: the inner band opens continuously from 0
    tiny = nested_band(gamma, spot, 1e-12, 10.0, a)
    assert 0.0 < float(tiny.inner) < 1e-6 * float(tiny.outer)
    assert float(tiny.outer) == pytest.approx((12 * 10.0 * gamma**2 / a) ** 0.25, rel=1e-6)
    # more fixed cost: wider trigger, trade further back towards the target
    grid = nested_band(gamma, spot, cost, np.array([1.0, 10.0, 100.0]), a)
    assert np.all(np.diff(grid.outer) > 0)
    assert np.all(np.diff(grid.inner) < 0)
    # no gamma or no costs at all: no band
    assert float(nested_band(0.0, spot, cost, 10.0, a).outer) == 0.0
    assert float(nested_band(gamma, spot, 0.0, 0.0, a).outer) == 0.0


def test_nested_band_extreme_ratios_stay_finite():
    # lambda S / K_f from 1e-20 to 1e+20: no overflow in the Newton iteration
    fixed = np.logspace(-16, 12, 15)
    band = nested_band(-6550.0, 49.0, 1e-3, fixed, 1e-3)
    assert np.all(np.isfinite(band.outer))
    assert np.all(np.isfinite(band.inner))
    assert np.all(band.inner <= band.outer)
    assert np.all(band.inner >= 0)


# ---- applying a band ---------------------------------------------------------------------


def test_hedge_after_band_matches_reference():
    rng = np.random.default_rng(3)
    hedge = rng.normal(size=200) * 3
    target = rng.normal(size=200)
    outer = rng.uniform(0, 2, size=200)
    inner = outer * rng.uniform(0, 1, size=200)
    deviation = hedge - target
    expected = np.where(deviation > outer, target + inner, np.where(deviation < -outer, target - inner, hedge))
    np.testing.assert_array_equal(hedge_after_band(hedge, target, outer, inner), expected)
    edge = hedge_after_band(hedge, target, outer)
    np.testing.assert_array_equal(edge, np.clip(hedge, target - outer, target + outer))
    with pytest.raises(ValueError, match="inner must be <= outer"):
        hedge_after_band(0.0, 0.0, 1.0, 2.0)


# ---- the facade's contract ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: whalley_wilmott_half_width(1.0, 0.0, 1e-3, 1.0), r"^spot must be finite and > 0"),
        (lambda: whalley_wilmott_half_width(1.0, 50.0, -1e-3, 1.0), r"^cost must be finite and >= 0"),
        (lambda: whalley_wilmott_half_width(1.0, 50.0, 1e-3, 0.0), r"^risk_aversion must be finite and > 0"),
        (lambda: whalley_wilmott_half_width(np.inf, 50.0, 1e-3, 1.0), r"^gamma must be finite"),
        (lambda: whalley_wilmott_half_width(1.0, 50.0, 1e-3, 1.0, tau=-1.0), r"^tau must be finite and >= 0"),
        (lambda: whalley_wilmott_half_width(1.0, 50.0, 1e-3, 1.0, rate=np.nan), r"^rate must be finite"),
        (lambda: zakamouline_band(1.0, 50.0, 0.0, 1.0, 1e-3, 1.0), r"^vol must be finite and > 0"),
        (lambda: nested_band(1.0, 50.0, 1e-3, -1.0, 1.0), r"^fixed_cost must be finite and >= 0"),
        (lambda: nested_band("x", 50.0, 1e-3, 1.0, 1.0), r"^gamma must be a number"),
        (lambda: nested_band(1.0, 50.0, 1e-3, 1.0, 1.0, threads=0), r"^threads must be >= 1"),
    ],
)
def test_invalid_arguments_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_results_do_not_depend_on_threads():
    rng = np.random.default_rng(11)
    gamma = rng.normal(size=10_001) * 1000
    fixed = rng.uniform(0, 50, size=10_001)
    one = nested_band(gamma, 49.0, 1e-3, fixed, 1e-3, threads=1)
    two = nested_band(gamma, 49.0, 1e-3, fixed, 1e-3, threads=2)
    np.testing.assert_array_equal(one.outer, two.outer)
    np.testing.assert_array_equal(one.inner, two.inner)
    z1 = zakamouline_band(gamma, 49.0, 0.2, 0.3, 1e-3, 1e-3, threads=1)
    z2 = zakamouline_band(gamma, 49.0, 0.2, 0.3, 1e-3, 1e-3, threads=2)
    np.testing.assert_array_equal(z1.half_width, z2.half_width)
    np.testing.assert_array_equal(z1.modified_vol, z2.modified_vol)
