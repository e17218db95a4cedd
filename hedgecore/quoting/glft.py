"""Gueant, Lehalle & Fernandez-Tapia (2013), "Dealing with the inventory risk", and the
closed forms of Gueant (2017), "Optimal market making".

Model: mid dS = sigma dW (sigma in price units per sqrt(year)), fills of one lot at distance
delta from the mid at intensity A exp(-k delta) (A per year, k per price unit), CARA risk
aversion gamma, inventory q in lots bounded by [-Q, Q]. With alpha = k gamma sigma^2 / 2,
eta = A (1 + gamma/k)^-(1 + k/gamma) and M the (2Q+1) tridiagonal matrix with alpha q^2 on
the diagonal and -eta beside it, v(t) = exp(-M (T - t)) 1 and
  bid depth (1/k) ln(v_q / v_{q+1}) + (1/gamma) ln(1 + gamma/k)   (no bid at q = Q)
  ask depth (1/k) ln(v_q / v_{q-1}) + (1/gamma) ln(1 + gamma/k)   (no ask at q = -Q).
The asymptotic (T - t -> infinity) closed forms, Gueant (2017) with xi = gamma, Delta = 1:
  bid depth ~ (1/gamma) ln(1 + gamma/k) + (2q + 1)/2 omega
  ask depth ~ (1/gamma) ln(1 + gamma/k) - (2q - 1)/2 omega
  omega = sqrt(sigma^2 gamma / (2 k A) (1 + gamma/k)^(1 + k/gamma)).
With a lot of `size` units and sigma, k per unit, pass gamma * size as gamma (see
avellaneda.py). numpy only: `hedgecore quote` stays light (no scipy import).

The matrix exponential: -M is a Metzler matrix, so exp(-M h) has no negative entry. It is
computed for a short h from the symmetric eigen-decomposition (tiny negative round-off
clipped to 0) and then applied step by step (or squared), normalising by the largest entry:
products of non-negative matrices with a positive vector never cancel, so the ratios
v_q / v_{q+1} keep their relative precision even where v underflows as a number.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def _check(A: float, k: float, gamma: float, sigma: float, q_max: int) -> None:
    given: tuple[tuple[str, object], ...] = (("A", A), ("k", k), ("gamma", gamma), ("sigma", sigma))
    for name, value in given:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    count: object = q_max
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
        raise ValueError(f"q_max must be an integer in [1, 10000], got {q_max!r}")


def _generator(A: float, k: float, gamma: float, sigma: float, q_max: int) -> NDArray[np.float64]:
    import numpy as np

    alpha = 0.5 * k * gamma * sigma * sigma
    eta = A * (1.0 + gamma / k) ** -(1.0 + k / gamma)
    q = np.arange(-q_max, q_max + 1, dtype=np.float64)
    m = np.diag(alpha * q * q)
    off = np.full(2 * q_max, -eta)
    m += np.diag(off, 1) + np.diag(off, -1)
    return m


def _propagator(m: NDArray[np.float64], h: float) -> NDArray[np.float64]:
    """exp(-M h), entries >= 0 (symmetric eigen-decomposition, round-off clipped)."""
    import numpy as np

    eigenvalues, vectors = np.linalg.eigh(m)
    shifted = np.exp(-(eigenvalues - eigenvalues.min()) * h)   # common factor dropped: ratios only
    out: NDArray[np.float64] = (vectors * shifted) @ vectors.T
    np.clip(out, 0.0, None, out=out)
    return out


def _depths(v: NDArray[np.float64], k: float, gamma: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    import numpy as np

    base = math.log1p(gamma / k) / gamma
    with np.errstate(divide="ignore"):
        log_v = np.log(v)
    bid = np.full(v.shape, np.nan)
    ask = np.full(v.shape, np.nan)
    bid[..., :-1] = (log_v[..., :-1] - log_v[..., 1:]) / k + base
    ask[..., 1:] = (log_v[..., 1:] - log_v[..., :-1]) / k + base
    return bid, ask


def glft_exact(A: float, k: float, gamma: float, sigma: float, q_max: int,
               tau: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact GLFT depths (bid, ask), each of length 2 q_max + 1 for q = -q_max .. q_max, at
    time to horizon `tau` (years). NaN where the side is not quoted (bid at q_max, ask at
    -q_max)."""
    import numpy as np

    _check(A, k, gamma, sigma, q_max)
    if not (math.isfinite(tau) and tau >= 0.0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    m = _generator(A, k, gamma, sigma, q_max)
    spread_of_rates = float(np.abs(np.linalg.eigvalsh(m)).max()) * tau
    squarings = max(0, math.ceil(math.log2(spread_of_rates))) if spread_of_rates > 1.0 else 0
    e = _propagator(m, tau / 2.0**squarings)
    for _ in range(squarings):
        e = e @ e
        e /= e.max()
    v = e.sum(axis=1)
    return _depths(v, k, gamma)


def glft_exact_table(A: float, k: float, gamma: float, sigma: float, q_max: int, horizon: float,
                     steps: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact GLFT depths at the start of every step of [0, horizon] in `steps` steps: two
    arrays (steps, 2 q_max + 1), row n at time to horizon horizon - n dt."""
    import numpy as np

    _check(A, k, gamma, sigma, q_max)
    dt = horizon / steps
    m = _generator(A, k, gamma, sigma, q_max)
    e = _propagator(m, dt)
    v = np.empty((steps, 2 * q_max + 1))
    current = np.ones(2 * q_max + 1)
    for n in range(steps - 1, -1, -1):      # row n: tau = (steps - n) dt
        current = e @ current
        current /= current.max()
        v[n] = current
    return _depths(v, k, gamma)


def glft_closed_form(A: float, k: float, gamma: float, sigma: float,
                     q: NDArray[np.float64] | float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gueant (2017) asymptotic depths (bid, ask) at inventory q (lots), independent of time."""
    import numpy as np

    for name, value in (("A", A), ("k", k), ("gamma", gamma), ("sigma", sigma)):
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    q_arr = np.asarray(q, dtype=np.float64)
    base = math.log1p(gamma / k) / gamma
    omega = glft_skew_per_lot(A, k, gamma, sigma)
    return base + (2.0 * q_arr + 1.0) * 0.5 * omega, base - (2.0 * q_arr - 1.0) * 0.5 * omega


def glft_skew_per_lot(A: float, k: float, gamma: float, sigma: float) -> float:
    """omega = sqrt(sigma^2 gamma / (2 k A) (1 + gamma/k)^(1 + k/gamma)): the closed form's
    shift of both quotes per lot of inventory (price units)."""
    return math.sqrt(sigma * sigma * gamma / (2.0 * k * A) * (1.0 + gamma / k) ** (1.0 + k / gamma))
