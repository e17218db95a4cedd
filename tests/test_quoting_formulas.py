"""Avellaneda-Stoikov and GLFT quotes against their formulas and against each other."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hedgecore.quoting.avellaneda import (
    avellaneda_stoikov_depths,
    avellaneda_stoikov_quotes,
    optimal_spread,
    reservation_price,
)
from hedgecore.quoting.glft import glft_closed_form, glft_exact, glft_exact_table, glft_skew_per_lot


def test_avellaneda_stoikov_reservation_and_spread_formulas():
    s, q, gamma, sigma, tau, k = 100.0, 3.0, 0.1, 2.0, 0.5, 1.5
    assert reservation_price(s, q, gamma, sigma, tau) == pytest.approx(100.0 - 3 * 0.1 * 4.0 * 0.5)
    assert optimal_spread(gamma, sigma, tau, k) == pytest.approx(0.1 * 4.0 * 0.5 + 20.0 * math.log(1 + 0.1 / 1.5))
    bid, ask = avellaneda_stoikov_quotes(s, q, gamma, sigma, tau, k)
    assert ask - bid == pytest.approx(optimal_spread(gamma, sigma, tau, k))
    assert 0.5 * (bid + ask) == pytest.approx(reservation_price(s, q, gamma, sigma, tau))
    bid_depth, ask_depth = avellaneda_stoikov_depths(q, gamma, sigma, tau, k)
    assert s - bid_depth == pytest.approx(bid)
    assert s + ask_depth == pytest.approx(ask)
    # gamma -> 0: the spread tends to 2/k, the reservation price to the mid
    assert optimal_spread(1e-9, sigma, tau, k) == pytest.approx(2.0 / k, rel=1e-6)


def _expm_reference(A, k, gamma, sigma, q_max, tau):
    """v = expm(-M tau) 1 by scipy (independent of glft.py's eigen/squaring route)."""
    from scipy.linalg import expm

    alpha = 0.5 * k * gamma * sigma**2
    eta = A * (1 + gamma / k) ** -(1 + k / gamma)
    q = np.arange(-q_max, q_max + 1)
    m = np.diag(alpha * q * q) - eta * (np.eye(q.size, k=1) + np.eye(q.size, k=-1))
    v = expm(-m * tau) @ np.ones(q.size)
    base = math.log1p(gamma / k) / gamma
    bid = np.log(v[:-1] / v[1:]) / k + base
    ask = np.log(v[1:] / v[:-1]) / k + base
    return bid, ask


@pytest.mark.parametrize("tau", [0.001, 0.05, 1.0])
def test_glft_exact_against_scipy_expm(tau):
    A, k, gamma, sigma, q_max = 140.0, 1.5, 0.1, 0.3, 6
    bid, ask = glft_exact(A, k, gamma, sigma, q_max, tau)
    ref_bid, ref_ask = _expm_reference(A, k, gamma, sigma, q_max, tau)
    np.testing.assert_allclose(bid[:-1], ref_bid, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ask[1:], ref_ask, rtol=1e-9, atol=1e-10)
    assert math.isnan(bid[-1])
    assert math.isnan(ask[0])


def test_glft_exact_table_rows_are_the_exact_quotes_at_each_time():
    A, k, gamma, sigma, q_max, horizon, steps = 140.0, 1.5, 0.1, 0.3, 5, 2.0, 40
    bid, ask = glft_exact_table(A, k, gamma, sigma, q_max, horizon, steps)
    for row in (0, 17, steps - 1):
        tau = horizon - row * horizon / steps
        b, a = glft_exact(A, k, gamma, sigma, q_max, tau)
        np.testing.assert_allclose(bid[row], b, rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(ask[row], a, rtol=1e-9, equal_nan=True)


def test_glft_exact_tends_to_the_closed_forms_far_from_the_horizon_with_small_gamma():
    # Gueant's regime: T - t large, gamma small against k, and the closed forms ignore the
    # inventory bounds, so these lie far beyond the ground state's width (eta/alpha)^(1/4),
    # about 16 lots here (with q_max = 30 the bounds alone move the quotes by 0.4 omega)
    A, k, gamma, sigma, q_max = 140.0, 1.5, 0.01, 0.3, 100
    bid, ask = glft_exact(A, k, gamma, sigma, q_max, 2000.0)
    q = np.arange(-q_max, q_max + 1)
    cf_bid, cf_ask = glft_closed_form(A, k, gamma, sigma, q)
    omega = glft_skew_per_lot(A, k, gamma, sigma)
    inner = np.abs(q) <= 3
    # within a hundredth of the closed form's skew per lot near q = 0 ...
    np.testing.assert_allclose(bid[inner], cf_bid[inner], atol=0.01 * omega)
    np.testing.assert_allclose(ask[inner], cf_ask[inner], atol=0.01 * omega)
    # ... the same slope in q and a symmetric book at q = 0
    slope = np.diff(bid[inner])
    np.testing.assert_allclose(slope, omega, rtol=0.01)
    assert bid[q_max] == pytest.approx(ask[q_max], rel=1e-12)
    # and the exact quotes stop depending on time far from the horizon
    bid_later, _ = glft_exact(A, k, gamma, sigma, q_max, 4000.0)
    np.testing.assert_allclose(bid_later[:-1], bid[:-1], rtol=1e-9)


def test_glft_at_the_horizon_quotes_the_myopic_depth():
    A, k, gamma, sigma, q_max = 140.0, 1.5, 0.1, 0.3, 4
    bid, ask = glft_exact(A, k, gamma, sigma, q_max, 0.0)
    np.testing.assert_allclose(bid[:-1], math.log1p(gamma / k) / gamma)
    np.testing.assert_allclose(ask[1:], math.log1p(gamma / k) / gamma)


def test_glft_refuses_bad_parameters():
    with pytest.raises(ValueError, match="gamma"):
        glft_exact(1.0, 1.0, -1.0, 1.0, 3, 1.0)
    with pytest.raises(ValueError, match="q_max"):
        glft_exact(1.0, 1.0, 1.0, 1.0, 0, 1.0)
