"""Hedge bands: how far a hedge may drift from its target before trading, and where to.

Public facade over the compiled formulas (hedgecore._bands). Every function broadcasts its
array arguments like a numpy ufunc, validates them (ValueError naming the argument) and
returns float64 arrays, 0-d for scalar inputs.

Units (the same in every function):
- gamma: position gamma, units of the underlying per 1 USD move of the price (sum of
  quantity x option gamma over the book; negative for a net short option position);
- spot: USD per unit of the underlying;
- cost: one-way proportional cost as a fraction of notional (fee + half-spread; 0.0005 for
  5 bp);
- risk_aversion: absolute risk aversion per USD (exponential utility -exp(-a x));
- fixed_cost: USD per trade;
- tau, dt: years; rate: continuously compounded, per year;
- band widths come back in units of the underlying, vols per 1.00.

Formulas and sources: REFERENCE.md section 2 (Whalley & Wilmott 1997, Zakamouline 2006,
Leland 1985, and a quasi-stationary loss for nested fixed + proportional cost bands).
Zakamouline's fitted constants (1.12, 0.31, 0.05; -4.76, 0.78, -0.02, 0.15) are those of
his "Optimal Hedging of Options with Transaction Costs" (EFMA 2005 working paper, the
fitted approximation also published in Quantitative Finance 6(5), 2006).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hedgecore._inputs import bool_array, resolve_threads

__all__ = [
    "NestedBand",
    "ZakamoulineBand",
    "hedge_after_band",
    "leland_vol",
    "nested_band",
    "whalley_wilmott_half_width",
    "zakamouline_band",
]

Rule = Literal["finite", "positive", "nonnegative"]

_RULE_TEXT: dict[Rule, str] = {
    "finite": "finite",
    "positive": "finite and > 0",
    "nonnegative": "finite and >= 0",
}


@dataclass(frozen=True, slots=True)
class ZakamoulineBand:
    """Zakamouline's band: keep the hedge within delta(modified_vol) +/- half_width.

    half_width: units of the underlying (H_0 + H_w); modified_vol: the vol per 1.00 at
    which the band centre, the Black-Scholes delta, is computed.
    """

    half_width: NDArray[np.float64]
    modified_vol: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NestedBand:
    """A band for fixed plus proportional costs: trade when |hedge - delta| > outer, and
    trade back to |hedge - delta| = inner (0 <= inner <= outer), units of the underlying.
    """

    outer: NDArray[np.float64]
    inner: NDArray[np.float64]


def _validated(name: str, value: ArrayLike, rule: Rule) -> NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if array.size == 0:
        return array
    # Two reductions decide (NaN propagates through min and max and fails every test);
    # the element-wise mask is built only to name the offending element.
    low, high = array.min(), array.max()
    if rule == "finite":
        valid = low > -np.inf and high < np.inf
    elif rule == "positive":
        valid = low > 0.0 and high < np.inf
    else:
        valid = low >= 0.0 and high < np.inf
    if not valid:
        bad = ~np.isfinite(array)
        if rule == "positive":
            bad |= ~(array > 0.0)
        elif rule == "nonnegative":
            bad |= ~(array >= 0.0)
        offending = array[bad].flat[0] if array.ndim else array
        where = "" if array.ndim == 0 else f" (element {np.argwhere(bad)[0].tolist()})"
        raise ValueError(f"{name} must be {_RULE_TEXT[rule]}, got {float(offending)!r}{where}")
    return array


def _broadcast(arrays: dict[str, NDArray[np.float64]]) -> tuple[tuple[int, ...], list[NDArray[np.float64]]]:
    """The broadcast shape and each argument flat for the loop drivers: length 1 for a
    single value (the drivers read it at every element), the full length otherwise (a
    copy only when the argument is neither full-shape contiguous nor a single value)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name}{a.shape}" for name, a in arrays.items())
        raise ValueError(f"arguments do not broadcast together: {shapes}") from None
    flat = []
    for array in arrays.values():
        if array.size == 1:
            flat.append(np.ascontiguousarray(array, dtype=np.float64).reshape(1))
        else:
            flat.append(np.ascontiguousarray(np.broadcast_to(array, shape), dtype=np.float64).reshape(-1))
    return shape, flat


def whalley_wilmott_half_width(
    gamma: ArrayLike,
    spot: ArrayLike,
    cost: ArrayLike,
    risk_aversion: ArrayLike,
    *,
    rate: ArrayLike = 0.0,
    tau: ArrayLike = 0.0,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Whalley-Wilmott half width H = (3 e^{-r tau} cost spot gamma^2 / (2 risk_aversion))^(1/3).

    Keep the hedge within delta +/- H and, when it leaves, trade only to the nearest edge.
    The width is in units of the underlying and scales as cost^(1/3), |gamma|^(2/3) and
    risk_aversion^(-1/3). ``rate`` and ``tau`` (years to expiry) enter through the discount
    factor only; the defaults give pfhedge's r = 0 form.
    """
    arrays = {
        "gamma": _validated("gamma", gamma, "finite"),
        "spot": _validated("spot", spot, "positive"),
        "cost": _validated("cost", cost, "nonnegative"),
        "risk_aversion": _validated("risk_aversion", risk_aversion, "positive"),
        "rate": _validated("rate", rate, "finite"),
        "tau": _validated("tau", tau, "nonnegative"),
    }
    n_threads = resolve_threads(threads)
    shape, flat = _broadcast(arrays)
    from hedgecore._bands import whalley_wilmott_into

    gamma_f, spot_f, cost_f, aversion_f, rate_f, tau_f = flat
    out = np.empty(math.prod(shape), dtype=np.float64)
    whalley_wilmott_into(gamma_f, spot_f, cost_f, aversion_f, rate_f, tau_f, out, n_threads)
    return out.reshape(shape)


def zakamouline_band(
    gamma: ArrayLike,
    spot: ArrayLike,
    vol: ArrayLike,
    tau: ArrayLike,
    cost: ArrayLike,
    risk_aversion: ArrayLike,
    *,
    rate: ArrayLike = 0.0,
    threads: int | None = None,
) -> ZakamoulineBand:
    """Zakamouline's (2006) band: half width H_0 + H_w around the delta at a modified vol.

    H_0 = cost / (a S vol^2 tau),
    H_w = 1.12 cost^0.31 tau^0.05 (e^{-r tau} / vol)^0.25 (|gamma| / a)^0.5,
    K = -4.76 cost^0.78 tau^-0.02 (e^{-r tau} / vol)^0.25 (a S^2 |gamma|)^0.15,
    modified_vol = vol sqrt(1 - K) for a short option position (gamma < 0) and
    vol sqrt(1 + K) for a long one (gamma >= 0). Since K <= 0 a short book hedges at a
    higher vol and a long book at a lower one; when 1 + K <= 0 (a long book whose costs
    dwarf its gamma) modified_vol is 0: hedge at the intrinsic (zero-vol) delta.

    The constants were fitted for one option; for a book, gamma is the position gamma.
    tau must be > 0 (H_0 diverges at expiry).
    """
    arrays = {
        "gamma": _validated("gamma", gamma, "finite"),
        "spot": _validated("spot", spot, "positive"),
        "vol": _validated("vol", vol, "positive"),
        "tau": _validated("tau", tau, "positive"),
        "cost": _validated("cost", cost, "nonnegative"),
        "risk_aversion": _validated("risk_aversion", risk_aversion, "positive"),
        "rate": _validated("rate", rate, "finite"),
    }
    n_threads = resolve_threads(threads)
    shape, flat = _broadcast(arrays)
    from hedgecore._bands import zakamouline_into

    gamma_f, spot_f, vol_f, tau_f, cost_f, aversion_f, rate_f = flat
    half_width = np.empty(math.prod(shape), dtype=np.float64)
    modified_vol = np.empty(math.prod(shape), dtype=np.float64)
    zakamouline_into(gamma_f, spot_f, vol_f, tau_f, cost_f, aversion_f, rate_f, half_width, modified_vol, n_threads)
    return ZakamoulineBand(half_width.reshape(shape), modified_vol.reshape(shape))


def leland_vol(
    vol: ArrayLike,
    cost: ArrayLike,
    dt: ArrayLike,
    *,
    short: ArrayLike = True,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Leland's (1985) volatility: vol sqrt(1 +/- sqrt(8/pi) cost / (vol sqrt(dt))).

    ``cost`` is the one-way proportional cost (Leland's round-trip cost k is 2 x cost, which
    turns sqrt(8/pi) into his sqrt(2/pi)); ``dt`` the rebalancing interval in years. The
    sign is + for a short option position (``short=True``) and - for a long one. For a long
    position with Leland number sqrt(8/pi) cost / (vol sqrt(dt)) >= 1 the adjusted variance
    is not positive (rebalancing that often costs more than the gamma earns) and the result
    is 0: hedge at the zero-vol delta, or rebalance less often.
    """
    arrays = {
        "vol": _validated("vol", vol, "positive"),
        "cost": _validated("cost", cost, "nonnegative"),
        "dt": _validated("dt", dt, "positive"),
        "short": bool_array("short", short).astype(np.float64),
    }
    n_threads = resolve_threads(threads)
    shape, flat = _broadcast(arrays)
    vol_f, cost_f, dt_f, short_f = flat
    from hedgecore._bands import leland_into

    out = np.empty(math.prod(shape), dtype=np.float64)
    leland_into(vol_f, cost_f, dt_f, short_f.astype(np.uint8), out, n_threads)
    return out.reshape(shape)


def nested_band(
    gamma: ArrayLike,
    spot: ArrayLike,
    cost: ArrayLike,
    fixed_cost: ArrayLike,
    risk_aversion: ArrayLike,
    *,
    threads: int | None = None,
) -> NestedBand:
    """Outer and inner band for fixed plus proportional costs.

    Minimises the quasi-stationary loss per unit of vol^2 S^2
    L(H, h) = gamma^2 (fixed_cost + cost S (H - h)) / (H^2 - h^2) + a (H^2 + h^2) / 12
    over 0 <= h < H (exactly, through its first-order conditions). Trade when the hedge is
    further than ``outer`` from delta, back to ``inner`` from it. With fixed_cost = 0 both
    equal the Whalley-Wilmott width at r = 0; with cost = 0, inner = 0 and
    outer = (12 fixed_cost gamma^2 / a)^(1/4).
    """
    arrays = {
        "gamma": _validated("gamma", gamma, "finite"),
        "spot": _validated("spot", spot, "positive"),
        "cost": _validated("cost", cost, "nonnegative"),
        "fixed_cost": _validated("fixed_cost", fixed_cost, "nonnegative"),
        "risk_aversion": _validated("risk_aversion", risk_aversion, "positive"),
    }
    n_threads = resolve_threads(threads)
    shape, flat = _broadcast(arrays)
    from hedgecore._bands import nested_into

    gamma_f, spot_f, cost_f, fixed_f, aversion_f = flat
    outer = np.empty(math.prod(shape), dtype=np.float64)
    inner = np.empty(math.prod(shape), dtype=np.float64)
    nested_into(gamma_f, spot_f, cost_f, fixed_f, aversion_f, outer, inner, n_threads)
    return NestedBand(outer.reshape(shape), inner.reshape(shape))


def hedge_after_band(
    hedge: ArrayLike,
    target: ArrayLike,
    outer: ArrayLike,
    inner: ArrayLike | None = None,
    *,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """The hedge position after applying a band: unchanged within target +/- outer,
    otherwise moved to target +/- inner on the side it left from.

    ``inner=None`` means inner = outer (trade to the edge, Whalley-Wilmott style); inner = 0
    trades back to the target. Units are those of the hedge (units of the underlying).
    """
    outer_array = _validated("outer", outer, "nonnegative")
    inner_array = outer_array if inner is None else _validated("inner", inner, "nonnegative")
    arrays = {
        "hedge": _validated("hedge", hedge, "finite"),
        "target": _validated("target", target, "finite"),
        "outer": outer_array,
        "inner": inner_array,
    }
    n_threads = resolve_threads(threads)
    shape, flat = _broadcast(arrays)
    hedge_f, target_f, outer_f, inner_f = flat
    if np.any(inner_f > outer_f):
        raise ValueError("inner must be <= outer (the trade returns inside the band)")
    from hedgecore._bands import hedge_after_band_into

    out = np.empty(math.prod(shape), dtype=np.float64)
    hedge_after_band_into(hedge_f, target_f, outer_f, inner_f, out, n_threads)
    return out.reshape(shape)
