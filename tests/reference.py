"""Independent references for hedgecore's Greeks kernel (tests only).

Three references, each written from the formulas in REFERENCE.md and not from the kernel:

- `mp_closed_form`: the closed-form price and nine Greeks of bsm, black76 and inverse
  options evaluated in mpmath at 40 significant digits;
- `mp_by_differentiation`: the same nine numbers obtained by differentiating the mpmath
  price with `mpmath.diff`, so the analytic formulas themselves are checked, not only their
  floating-point evaluation;
- `numpy_greeks`: a plain numpy implementation of the kernel (STYLE.md rule 8), with the
  normal CDF from `math.erfc`, for vectorised comparisons over many points.

Units are hedgecore's raw units: per 1.00 of each input, theta and charm per year of calendar
time passing (= -d/dtau). For `inverse` the price is in coin, delta the premium-adjusted
delta F dV_coin/dF, gamma/vanna/charm the derivatives of that delta in F, vol and time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
from numpy.typing import NDArray

GREEK_NAMES: tuple[str, ...] = (
    "price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm",
)

MP_DPS = 40


def _mp(value: float) -> mpmath.mpf:
    # Exact conversion of the double the kernel sees.
    return mpmath.mpf(float(value))


def mp_price(model: str, underlying: Any, strike: Any, tau: Any, vol: Any, is_call: bool,
             rate: Any, carry: Any) -> mpmath.mpf:
    """European option price in mpmath (tau > 0, vol > 0). Arguments may be mpf."""
    omega = 1 if is_call else -1
    sdt = vol * mpmath.sqrt(tau)
    df = mpmath.exp(-rate * tau)
    if model == "bsm":
        fwd = underlying * mpmath.exp((rate - carry) * tau)
    else:
        fwd = underlying
    d1 = mpmath.log(fwd / strike) / sdt + sdt / 2
    d2 = d1 - sdt
    black = df * omega * (fwd * mpmath.ncdf(omega * d1) - strike * mpmath.ncdf(omega * d2))
    if model == "inverse":
        return black / underlying
    return black


def mp_closed_form(model: str, underlying: float, strike: float, tau: float, vol: float,
                   is_call: bool, rate: float = 0.0, carry: float = 0.0) -> dict[str, mpmath.mpf]:
    """Price and nine Greeks from the textbook closed forms, in mpmath (tau > 0, vol > 0)."""
    with mpmath.workdps(MP_DPS):
        s, k, t, v, r = (_mp(x) for x in (underlying, strike, tau, vol, rate))
        q = _mp(carry) if model == "bsm" else mpmath.mpf(0)
        w = 1 if is_call else -1
        sqrt_t = mpmath.sqrt(t)
        sdt = v * sqrt_t
        df = mpmath.exp(-r * t)
        qf = mpmath.exp(-q * t) if model == "bsm" else df
        fwd = s * mpmath.exp((r - q) * t) if model == "bsm" else s
        d1 = mpmath.log(fwd / k) / sdt + sdt / 2
        d2 = d1 - sdt
        n1 = mpmath.npdf(d1)
        cdf1 = mpmath.ncdf(w * d1)
        cdf2 = mpmath.ncdf(w * d2)
        out: dict[str, mpmath.mpf] = {}
        if model == "bsm":
            # Haug, "The Complete Guide to Option Pricing Formulas", generalised BSM, b = r - q.
            b = r - q
            out["price"] = w * (s * qf * cdf1 - k * df * cdf2)
            out["delta"] = w * qf * cdf1
            out["gamma"] = qf * n1 / (s * sdt)
            out["vega"] = s * qf * n1 * sqrt_t
            out["theta"] = (-s * qf * n1 * v / (2 * sqrt_t) + w * q * s * qf * cdf1
                            - w * r * k * df * cdf2)
            out["rho"] = w * k * t * df * cdf2
            out["vanna"] = -qf * n1 * d2 / v
            out["volga"] = out["vega"] * d1 * d2 / v
            out["charm"] = q * out["delta"] - qf * n1 * (2 * b * t - d2 * sdt) / (2 * t * sdt)
        elif model == "black76":
            price = df * w * (s * cdf1 - k * cdf2)
            out["price"] = price
            out["delta"] = w * df * cdf1
            out["gamma"] = df * n1 / (s * sdt)
            out["vega"] = df * s * n1 * sqrt_t
            out["theta"] = r * price - df * s * n1 * v / (2 * sqrt_t)
            out["rho"] = -t * price
            out["vanna"] = -df * n1 * d2 / v
            out["volga"] = out["vega"] * d1 * d2 / v
            out["charm"] = r * out["delta"] + df * n1 * d2 / (2 * t)
        elif model == "inverse":
            # Coin price Black76 / F; premium-adjusted delta N(d1) - C_coin = (K/F) N(d2)
            # (with the discount factor), its F-derivative Gamma_BS - delta / F.
            price = df * w * (cdf1 - (k / s) * cdf2)
            out["price"] = price
            out["delta"] = w * df * (k / s) * cdf2
            out["gamma"] = df * n1 / (s * sdt) - out["delta"] / s
            out["vega"] = df * n1 * sqrt_t
            out["theta"] = r * price - df * n1 * v / (2 * sqrt_t)
            out["rho"] = -t * price
            out["vanna"] = -df * n1 * d1 / v
            out["volga"] = out["vega"] * d1 * d2 / v
            out["charm"] = r * out["delta"] + df * n1 * d1 / (2 * t)
        else:
            raise ValueError(f"unknown model {model!r}")
        return out


def mp_by_differentiation(model: str, underlying: float, strike: float, tau: float,
                          vol: float, is_call: bool, rate: float = 0.0,
                          carry: float = 0.0) -> dict[str, mpmath.mpf]:
    """Price and nine Greeks as numerical derivatives (mpmath.diff) of the mpmath price."""
    with mpmath.workdps(MP_DPS):
        s, k, t, v, r = (_mp(x) for x in (underlying, strike, tau, vol, rate))
        q = _mp(carry)

        def price(s_: Any, t_: Any, v_: Any, r_: Any) -> mpmath.mpf:
            return mp_price(model, s_, k, t_, v_, is_call, r_, q)

        point = (s, t, v, r)

        def d(orders: tuple[int, int, int, int]) -> mpmath.mpf:
            return mpmath.diff(price, point, orders)

        out: dict[str, mpmath.mpf] = {"price": price(*point)}
        dv_ds = d((1, 0, 0, 0))
        if model == "inverse":
            # delta_pa = F dV/dF, and gamma, vanna, charm are its derivatives.
            out["delta"] = s * dv_ds
            out["gamma"] = dv_ds + s * d((2, 0, 0, 0))
            out["vanna"] = s * d((1, 0, 1, 0))
            out["charm"] = -s * d((1, 1, 0, 0))
        else:
            out["delta"] = dv_ds
            out["gamma"] = d((2, 0, 0, 0))
            out["vanna"] = d((1, 0, 1, 0))
            out["charm"] = -d((1, 1, 0, 0))
        out["vega"] = d((0, 0, 1, 0))
        out["theta"] = -d((0, 1, 0, 0))
        out["rho"] = d((0, 0, 0, 1))
        out["volga"] = d((0, 0, 2, 0))
        return out


def value_scales(model: str, underlying: float) -> dict[str, float]:
    """Natural size of each output, used for the absolute part of the tolerances.

    Prices, vega, theta, rho and volga are in the currency of the price (the underlying's
    currency for linear models, coin for inverse); delta, vanna and charm are dimensionless
    (per year for charm); gamma is per unit of underlying.
    """
    money = 1.0 if model == "inverse" else float(underlying)
    return {
        "price": money, "delta": 1.0, "gamma": 1.0 / float(underlying), "vega": money,
        "theta": money, "rho": money, "vanna": 1.0, "volga": money, "charm": 1.0,
    }


_erfc: Callable[[Any], NDArray[np.float64]] = np.vectorize(math.erfc, otypes=[np.float64])


def _ncdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * _erfc(-x / math.sqrt(2.0))


def numpy_greeks(model: str, underlying: Any, strike: Any, tau: Any, vol: Any,
                 is_call: Any = True, rate: Any = 0.0, carry: Any = 0.0) -> dict[str, NDArray[np.float64]]:
    """Plain numpy price and Greeks for tau > 0, vol > 0 (float64, broadcasting)."""
    s, k, t, v, r, q = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                            for x in (underlying, strike, tau, vol, rate, carry)))
    w = np.where(np.broadcast_to(np.asarray(is_call, dtype=bool), s.shape), 1.0, -1.0)
    if model != "bsm":
        q = np.zeros_like(s)
    sqrt_t = np.sqrt(t)
    sdt = v * sqrt_t
    df = np.exp(-r * t)
    if model == "bsm":
        qf = np.exp(-q * t)
        d1 = (np.log(s / k) + (r - q) * t) / sdt + 0.5 * sdt
    else:
        qf = df
        d1 = np.log(s / k) / sdt + 0.5 * sdt
    d2 = d1 - sdt
    n1 = np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    cdf1 = _ncdf(w * d1)
    cdf2 = _ncdf(w * d2)
    out: dict[str, NDArray[np.float64]] = {}
    if model == "bsm":
        out["price"] = w * (s * qf * cdf1 - k * df * cdf2)
        out["delta"] = w * qf * cdf1
        out["gamma"] = qf * n1 / (s * sdt)
        out["vega"] = s * qf * n1 * sqrt_t
        out["theta"] = -0.5 * s * qf * n1 * v / sqrt_t + w * q * s * qf * cdf1 - w * r * k * df * cdf2
        out["rho"] = w * k * t * df * cdf2
        out["vanna"] = -qf * n1 * d2 / v
        out["volga"] = out["vega"] * d1 * d2 / v
        out["charm"] = q * out["delta"] - qf * n1 * ((r - q) / sdt - d2 / (2.0 * t))
    elif model == "black76":
        out["price"] = df * w * (s * cdf1 - k * cdf2)
        out["delta"] = w * df * cdf1
        out["gamma"] = df * n1 / (s * sdt)
        out["vega"] = df * s * n1 * sqrt_t
        out["theta"] = r * out["price"] - 0.5 * df * s * n1 * v / sqrt_t
        out["rho"] = -t * out["price"]
        out["vanna"] = -df * n1 * d2 / v
        out["volga"] = out["vega"] * d1 * d2 / v
        out["charm"] = r * out["delta"] + df * n1 * d2 / (2.0 * t)
    else:
        out["price"] = df * w * (cdf1 - (k / s) * cdf2)
        out["delta"] = w * df * (k / s) * cdf2
        out["gamma"] = df * n1 / (s * sdt) - out["delta"] / s
        out["vega"] = df * n1 * sqrt_t
        out["theta"] = r * out["price"] - 0.5 * df * n1 * v / sqrt_t
        out["rho"] = -t * out["price"]
        out["vanna"] = -df * n1 * d1 / v
        out["volga"] = out["vega"] * d1 * d2 / v
        out["charm"] = r * out["delta"] + df * n1 * d1 / (2.0 * t)
    return out
