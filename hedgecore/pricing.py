"""Greeks of European options: the public facade over the compiled kernels.

`greeks` broadcasts its arguments like a numpy ufunc, calls the compiled loop once and
returns raw-unit Greeks (derivatives per 1.00 of each input, theta and charm per year of
calendar time). Desk units (USD delta, gamma per 1% move, vega per vol point, theta per
day, rho per 1%) are derived for whole books in hedgecore.valuation and shown by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hedgecore._inputs import (
    broadcast_inputs,
    model_code,
    reject_carry,
    resolve_threads,
    threads_for_size,
)

GREEK_NAMES: tuple[str, ...] = (
    "price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm",
)


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and raw Greeks of European options, each an array of the broadcast shape.

    Units (raw, as QuantLib's analytic engines): price in the quote currency (coin for the
    `inverse` model); delta dV/dS (premium-adjusted delta for `inverse`); gamma d(delta)/dS;
    vega dV/dvol per 1.00 of vol; theta dV/dt per year; rho dV/dr per 1.00 of rate;
    vanna d(delta)/dvol; volga d2V/dvol2; charm d(delta)/dt per year.

    For `inverse` (coin-settled, price C_coin = Black76 / F): delta is the premium-adjusted
    delta F dC_coin/dF = N(d1) - C_coin = (K/F) N(d2) e^{-r tau} for a call (Deribit's
    DeltaTotal convention, bounded and not monotone in F); gamma, vanna and charm are the
    derivatives of that delta in F, vol and time (gamma = Gamma_BS - delta/F, negative deep
    in the money); vega, theta, rho and volga are derivatives of the coin price.
    """

    price: NDArray[np.float64]
    delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega: NDArray[np.float64]
    theta: NDArray[np.float64]
    rho: NDArray[np.float64]
    vanna: NDArray[np.float64]
    volga: NDArray[np.float64]
    charm: NDArray[np.float64]

    def as_dict(self) -> dict[str, NDArray[np.float64]]:
        """The nine arrays by name."""
        return {name: getattr(self, name) for name in GREEK_NAMES}


def greeks(
    underlying: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    vol: ArrayLike,
    *,
    is_call: ArrayLike = True,
    rate: ArrayLike = 0.0,
    carry: ArrayLike = 0.0,
    model: str = "bsm",
    threads: int | None = None,
) -> Greeks:
    """Price and Greeks of European options.

    Parameters
    ----------
    underlying : spot S for ``model="bsm"``, forward or futures price F for ``"black76"``
        and ``"inverse"`` (the same-expiry future for coin-settled options).
    strike : strike K, same currency as the underlying.
    tau : time to expiry in years (ACT/365). tau == 0 gives intrinsic value.
    vol : Black-Scholes volatility per 1.00 (0.6 for 60%).
    is_call : True for calls, False for puts; a bool array broadcasts.
    rate : continuously compounded rate r (discounting; for "bsm" also the drift).
    carry : continuous yield q, "bsm" only.
    model : "bsm", "black76" or "inverse" (coin-settled, price in coin).
    threads : at most this many OpenMP threads; None uses all. Small inputs (under about
        a thousand options a thread) run on fewer threads. Results do not depend on it.

    Returns a `Greeks` of arrays of the broadcast shape (0-d arrays for scalar inputs), in
    raw units; see `Greeks`.

    Edge cases, element by element: at tau == 0 the price is the intrinsic value, delta
    its limit (+-1/2 exactly at the money; for "inverse" +-1/2 too, times K/F = 1), the
    other Greeks 0. At vol == 0 with tau > 0 the price is the discounted intrinsic value
    of the forward, delta a step (1/2 exactly at the forward), gamma, vega, vanna and
    volga 0, theta, rho and charm their carry/discounting parts. Invalid elements
    (non-finite inputs, underlying or strike <= 0, tau < 0, vol < 0) give NaN in every
    output without raising. Bad arguments as a whole (unknown model, threads < 1, carry
    with a forward model, a non-boolean is_call, shapes that do not broadcast) raise
    ValueError naming the argument.
    """
    code = model_code(model)
    n_threads = resolve_threads(threads)
    shape, flat, calls = broadcast_inputs(
        {"underlying": underlying, "strike": strike, "tau": tau, "vol": vol, "rate": rate, "carry": carry},
        is_call,
    )
    spot, strike_f, tau_f, vol_f, rate_f, carry_f = flat
    reject_carry(model, carry_f)
    from hedgecore._greeks import greeks_into

    out = np.empty((len(GREEK_NAMES), spot.size), dtype=np.float64)
    n_threads = threads_for_size(n_threads, spot.size)
    greeks_into(code, spot, strike_f, tau_f, vol_f, calls, rate_f, carry_f, out, n_threads)
    arrays: dict[str, Any] = {name: out[k].reshape(shape) for k, name in enumerate(GREEK_NAMES)}
    return Greeks(**arrays)
