"""Implied volatility of European options: the public facade over the compiled solver.

`implied_vol` inverts hedgecore.greeks' price for any of its models ("bsm", "black76",
"inverse") with Jaeckel's "Let's Be Rational" (machine precision in two iterations, no vol
cap). It broadcasts like a numpy ufunc and never raises for one bad element: a price that
has no implied volatility gives NaN. `solve_implied_vol` returns the same vols together with
an `IVStatus` code per element that says why a vol is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hedgecore._inputs import broadcast_inputs, model_code, reject_carry, resolve_threads

__all__ = ["IVStatus", "ImpliedVolResult", "implied_vol", "solve_implied_vol"]


class IVStatus(IntEnum):
    """Why an implied volatility is, or is not, there (codes shared with hedgecore._iv).

    The bounds are those of a European option on the forward F (F = S e^{(r-q) tau} for
    "bsm"), in the price's currency: e^{-r tau} max(F - K, 0) <= call <= e^{-r tau} F and
    e^{-r tau} max(K - F, 0) <= put <= e^{-r tau} K, each divided by F for "inverse".
    Where several apply, the first in this order wins: INVALID_INPUT, EXPIRED,
    ABOVE_UPPER_BOUND, BELOW_INTRINSIC, PRICE_UNDERFLOW.
    """

    OK = 0
    """A finite implied volatility (0 for a price equal to intrinsic within rounding)."""
    BELOW_INTRINSIC = 1
    """The price is below the discounted intrinsic value of the forward."""
    ABOVE_UPPER_BOUND = 2
    """The price is at or above the upper bound (forward for a call, strike for a put)."""
    EXPIRED = 3
    """tau <= 0: an expired option has no volatility."""
    INVALID_INPUT = 4
    """A non-finite input, underlying or strike <= 0, a negative price, or a forward or
    discount factor that over- or underflows."""
    PRICE_UNDERFLOW = 5
    """The normalised time value, (undiscounted price - intrinsic) / sqrt(F K), is below the
    smallest normal double (2.2e-308): a subnormal carries too few digits to give a vol."""
    NOT_CONVERGED = 6
    """The solver produced no finite volatility (not seen in tests; kept so that a NaN can
    never come with status OK)."""

    def describe(self) -> str:
        """One line for a person: what the code means."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[IVStatus, str] = {
    IVStatus.OK: "implied volatility found",
    IVStatus.BELOW_INTRINSIC: "price below the discounted intrinsic value of the forward",
    IVStatus.ABOVE_UPPER_BOUND: "price at or above the no-arbitrage upper bound (forward for calls, strike for puts)",
    IVStatus.EXPIRED: "option expired (tau <= 0)",
    IVStatus.INVALID_INPUT: "invalid input (non-finite, underlying or strike <= 0, price < 0, e^(r tau) out of range)",
    IVStatus.PRICE_UNDERFLOW: "time value too small to resolve (below 2.2e-308 of sqrt(F K))",
    IVStatus.NOT_CONVERGED: "solver did not converge to a finite volatility",
}


@dataclass(frozen=True, slots=True)
class ImpliedVolResult:
    """Implied vols and, per element, the IVStatus code that explains each NaN.

    vol: implied volatility per 1.00 (0.6 for 60%), NaN wherever status != IVStatus.OK.
    status: int8 array of IVStatus codes, the same shape as vol.
    """

    vol: NDArray[np.float64]
    status: NDArray[np.int8]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where a finite implied volatility was found."""
        return np.asarray(self.status == IVStatus.OK)

    def counts(self) -> dict[IVStatus, int]:
        """How many elements have each status (statuses that occur only)."""
        codes, counts = np.unique(self.status, return_counts=True)
        return {IVStatus(int(code)): int(count) for code, count in zip(codes, counts, strict=True)}


def solve_implied_vol(
    price: ArrayLike,
    underlying: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = True,
    rate: ArrayLike = 0.0,
    carry: ArrayLike = 0.0,
    model: str = "bsm",
    threads: int | None = None,
) -> ImpliedVolResult:
    """Implied volatilities with a status code per element.

    Takes the arguments of `implied_vol`; returns ImpliedVolResult(vol, status), where
    status holds IVStatus codes (see IVStatus for the bounds used). Raises ValueError only
    for arguments that are wrong as a whole (unknown model, shapes that do not broadcast,
    carry with a forward-based model, bad threads), never for one element.
    """
    code = model_code(model)
    n_threads = resolve_threads(threads)
    shape, flat, calls = broadcast_inputs(
        {
            "price": price,
            "underlying": underlying,
            "strike": strike,
            "tau": tau,
            "rate": rate,
            "carry": carry,
        },
        is_call,
    )
    price_f, underlying_f, strike_f, tau_f, rate_f, carry_f = flat
    reject_carry(model, carry_f)
    from hedgecore._iv import implied_vol_into

    vol = np.empty(price_f.size, dtype=np.float64)
    status = np.empty(price_f.size, dtype=np.int8)
    implied_vol_into(code, price_f, underlying_f, strike_f, tau_f, calls, rate_f, carry_f, vol, status, n_threads)
    return ImpliedVolResult(vol=vol.reshape(shape), status=status.reshape(shape))


def implied_vol(
    price: ArrayLike,
    underlying: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = True,
    rate: ArrayLike = 0.0,
    carry: ArrayLike = 0.0,
    model: str = "bsm",
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Black-Scholes implied volatility of European options, broadcasting like a ufunc.

    Parameters
    ----------
    price : option price in the quote currency (USD for "bsm" and "black76"), in coin for
        ``model="inverse"`` (Deribit's mark price).
    underlying : spot S for ``"bsm"``, forward or futures price F for ``"black76"`` and
        ``"inverse"`` (the same-expiry future for coin-settled options).
    strike : strike K, same currency as the underlying.
    tau : time to expiry in years (ACT/365).
    is_call : True for calls, False for puts; a bool array broadcasts.
    rate : continuously compounded rate r (discounting; for "bsm" also the drift).
    carry : continuous yield q, "bsm" only.
    model : "bsm", "black76" or "inverse", as in hedgecore.greeks.
    threads : OpenMP threads; None uses all. Results do not depend on it.

    Returns
    -------
    Volatility per 1.00 (0.6 for 60%), an array of the broadcast shape (0-d for scalars).
    NaN where the price has no implied volatility (outside the no-arbitrage bounds,
    expired, invalid input); `solve_implied_vol` says why for each element. A price equal
    to the intrinsic value (within a few ulps of max(F, K)) gives 0. There is no cap on the
    volatility (QuantLib's solver stops at 4.0).
    """
    return solve_implied_vol(
        price, underlying, strike, tau, is_call=is_call, rate=rate, carry=carry, model=model, threads=threads
    ).vol
