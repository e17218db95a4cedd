"""Book valuation: USD value and desk-unit Greeks of every position, in one vectorized
Greeks call per pricing model (never one call per position).

Conventions (REFERENCE section 1; the README's "Units"):
- USD-settled (linear) options are priced with Black-76 on their same-expiry future F and
  the market's USD rate; coin-settled (inverse) options with the `inverse` model on F at a
  zero rate, as Deribit marks them (price in coin, valued in USD at the index S).
- `delta` is in units of the underlying, measured against the index: linear options scale
  the futures delta by dF/dS = F/S; coin-settled options carry the premium-adjusted delta
  (net transaction delta, what Deribit's DeltaTotal sums) and `delta_bs` beside it is the
  plain Black-Scholes delta dV_usd/dS = premium-adjusted delta + the coin premium.
- gamma_usd_1pct = Gamma S^2 / 100 (change of the USD delta for a 1% move), vega in USD per
  vol point, theta in USD per calendar day, rho in USD per 1% of rate.
- Futures and perpetuals are marked to market: value 0 (no entry price), delta q F/S for a
  linear future, q for a linear perpetual, N/F (N/P) coin for an inverse one of N USD; their
  USD gamma is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hedgecore.errors import ConfigError, NumericalError
from hedgecore.market import Market, year_fraction
from hedgecore.portfolio import Portfolio

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

# Position kinds as the vectorized code sees them.
LINEAR_OPTION, INVERSE_OPTION, LINEAR_FUTURE, INVERSE_FUTURE, SPOT = range(5)

FIGURES = ("value_usd", "delta", "delta_bs", "delta_usd", "gamma_usd_1pct", "vega_usd",
           "theta_usd", "rho_usd")


@dataclass(frozen=True)
class BookInputs:
    """Per-position pricing inputs as flat arrays (one element per position).

    units : underlying units per contract for options, linear futures and spot; USD per
        contract for inverse futures (quantity x contract size).
    forward : the same-expiry future for options and dated futures, the perpetual's mark
        for perpetuals, the index for spot.
    """

    underlyings: list[str]
    underlying_index: NDArray[np.intp]
    kind: NDArray[np.intp]
    units: FloatArray
    spot: FloatArray
    forward: FloatArray
    strike: FloatArray
    tau: FloatArray
    vol: FloatArray
    is_call: NDArray[np.bool_]
    rate: FloatArray


@dataclass(frozen=True)
class BookGreeks:
    """Desk-unit figures per position (arrays aligned with the portfolio's positions)."""

    inputs: BookInputs
    value_usd: FloatArray
    delta: FloatArray            # premium-adjusted for coin-settled options, units of underlying
    delta_bs: FloatArray         # plain Black-Scholes delta dV_usd/dS, units of underlying
    delta_usd: FloatArray        # delta * S
    gamma_usd_1pct: FloatArray   # Gamma S^2 / 100
    vega_usd: FloatArray         # per vol point
    theta_usd: FloatArray        # per calendar day
    rho_usd: FloatArray          # per 1% of rate
    gamma: FloatArray            # d(delta_bs)/dS, units of underlying per USD
    vanna_bs: FloatArray         # d(delta_bs)/dvol, units of underlying per 1.00 of vol

    def figures(self) -> dict[str, FloatArray]:
        return {name: getattr(self, name) for name in FIGURES}

    def totals_by_underlying(self) -> dict[str, dict[str, float]]:
        """Sums of every figure per underlying (exposures net across books and accounts)."""
        import numpy as np

        index = self.inputs.underlying_index
        n = len(self.inputs.underlyings)
        sums = {name: np.bincount(index, weights=values, minlength=n)
                for name, values in self.figures().items()}
        sums["gamma"] = np.bincount(index, weights=self.gamma, minlength=n)
        sums["vanna_bs"] = np.bincount(index, weights=self.vanna_bs, minlength=n)
        sums["value_coin"] = np.bincount(index, weights=self.value_usd / self.inputs.spot, minlength=n)
        return {name: {key: float(values[k]) for key, values in sums.items()}
                for k, name in enumerate(self.inputs.underlyings)}


def book_inputs(portfolio: Portfolio, market: Market, *, allow_expired: bool = False) -> BookInputs:
    """Gather every position's pricing inputs; refuse what cannot be valued.

    Raises ConfigError (document "portfolio") for a position whose underlying has no market
    data, an option without an implied vol, and (unless allow_expired) an instrument that
    expired at or before the valuation time; allowed expired instruments are valued at
    expiry (tau = 0, intrinsic value).
    """
    import numpy as np

    as_of = market.as_of
    underlyings = portfolio.underlyings
    n = len(portfolio.positions)
    underlying_index = np.empty(n, dtype=np.intp)
    kind = np.empty(n, dtype=np.intp)
    units = np.empty(n)
    spot = np.empty(n)
    forward = np.empty(n)
    strike = np.ones(n)
    tau = np.zeros(n)
    vol = np.zeros(n)
    is_call = np.zeros(n, dtype=np.bool_)
    rate = np.zeros(n)
    position_of = {name: k for k, name in enumerate(underlyings)}
    for k, position in enumerate(portfolio.positions):
        inst = position.instrument
        data = market.get(inst.underlying)
        where = f"{position.path}.instrument"
        if data is None:
            known = ", ".join(sorted(market.underlyings))
            raise ConfigError(where, f"no market data for underlying '{inst.underlying}' "
                              f"(the market file has {known})", document="portfolio")
        underlying_index[k] = position_of[inst.underlying]
        units[k] = position.quantity * inst.contract_size
        spot[k] = data.spot
        if inst.expiry is not None:
            years = year_fraction(as_of, inst.expiry)
            if years <= 0.0 and not allow_expired:
                raise ConfigError(where, f"{inst.name} expired at {inst.expiry:%Y-%m-%d %H:%M} UTC, not after "
                                  f"the valuation time {as_of:%Y-%m-%d %H:%M} UTC "
                                  "(remove it, or pass --allow-expired to value it at expiry)",
                                  document="portfolio")
            tau[k] = max(years, 0.0)
        if inst.kind == "option":
            assert inst.expiry is not None
            assert inst.strike is not None
            forward[k] = data.forward(inst.expiry, as_of)
            strike[k] = inst.strike
            is_call[k] = inst.is_call
            option_vol = data.vol(inst, position.id, as_of)
            if option_vol is None:
                if tau[k] > 0.0:
                    raise ConfigError(where, f"no implied vol for {inst.name} in the market file (add it "
                                      f"under underlyings.{inst.underlying}.vols or a smile for its expiry)",
                                      document="portfolio")
                option_vol = 0.0
            vol[k] = option_vol
            if inst.is_inverse:
                kind[k] = INVERSE_OPTION
            else:
                kind[k] = LINEAR_OPTION
                rate[k] = data.rate
        elif inst.kind == "spot":
            kind[k] = SPOT
            forward[k] = data.spot
        else:
            if inst.kind == "perpetual":
                forward[k] = data.perpetual(inst.name).price
            else:
                assert inst.expiry is not None
                forward[k] = data.forward(inst.expiry, as_of)
            kind[k] = INVERSE_FUTURE if inst.is_inverse else LINEAR_FUTURE
    return BookInputs(underlyings, underlying_index, kind, units, spot, forward, strike, tau, vol,
                      is_call, rate)


def evaluate(inputs: BookInputs, *, threads: int | None = None) -> BookGreeks:
    """Value and desk-unit Greeks of every position: one `greeks` call per option model."""
    import numpy as np

    from hedgecore.pricing import greeks

    kind, units, spot, fwd = inputs.kind, inputs.units, inputs.spot, inputs.forward
    n = kind.size
    value = np.zeros(n)
    delta = np.zeros(n)
    delta_bs = np.zeros(n)
    gamma = np.zeros(n)
    vega = np.zeros(n)
    theta = np.zeros(n)
    rho = np.zeros(n)
    vanna = np.zeros(n)

    linear = np.flatnonzero(kind == LINEAR_OPTION)
    if linear.size:
        g = greeks(fwd[linear], inputs.strike[linear], inputs.tau[linear], inputs.vol[linear],
                   is_call=inputs.is_call[linear], rate=inputs.rate[linear], model="black76",
                   threads=threads)
        q, basis = units[linear], fwd[linear] / spot[linear]
        value[linear] = q * g.price
        delta[linear] = delta_bs[linear] = q * g.delta * basis
        gamma[linear] = q * g.gamma * basis * basis
        vega[linear] = q * g.vega
        theta[linear] = q * g.theta
        rho[linear] = q * g.rho
        vanna[linear] = q * g.vanna * basis
    inverse = np.flatnonzero(kind == INVERSE_OPTION)
    if inverse.size:
        g = greeks(fwd[inverse], inputs.strike[inverse], inputs.tau[inverse], inputs.vol[inverse],
                   is_call=inputs.is_call[inverse], rate=0.0, model="inverse", threads=threads)
        q, s, f = units[inverse], spot[inverse], fwd[inverse]
        value[inverse] = q * g.price * s
        delta[inverse] = q * g.delta                   # premium-adjusted (net transaction) delta
        delta_bs[inverse] = q * (g.delta + g.price)    # d(C_coin S)/dS with F/S fixed
        gamma[inverse] = q * (g.gamma + g.delta / f) * f / s
        vega[inverse] = q * g.vega * s
        theta[inverse] = q * g.theta * s
        rho[inverse] = q * g.rho * s
        vanna[inverse] = q * (g.vanna + g.vega)
    linear_futures = np.flatnonzero(kind == LINEAR_FUTURE)
    delta[linear_futures] = units[linear_futures] * np.where(
        inputs.tau[linear_futures] > 0.0, fwd[linear_futures] / spot[linear_futures], 1.0)
    inverse_futures = np.flatnonzero(kind == INVERSE_FUTURE)
    delta[inverse_futures] = units[inverse_futures] / fwd[inverse_futures]
    spots = np.flatnonzero(kind == SPOT)
    value[spots] = units[spots] * spot[spots]
    delta[spots] = units[spots]
    not_options = np.concatenate([linear_futures, inverse_futures, spots])
    delta_bs[not_options] = delta[not_options]

    result = BookGreeks(
        inputs=inputs,
        value_usd=value,
        delta=delta,
        delta_bs=delta_bs,
        delta_usd=delta * spot,
        gamma_usd_1pct=gamma * spot * spot / 100.0,
        vega_usd=vega / 100.0,
        theta_usd=theta / 365.0,
        rho_usd=rho / 100.0,
        gamma=gamma,
        vanna_bs=vanna,
    )
    return result


def check_finite(book: BookGreeks, position_ids: list[str]) -> None:
    """Raise NumericalError naming the first position with a NaN or infinite figure."""
    import numpy as np

    bad = np.zeros(book.value_usd.size, dtype=bool)
    for values in (*book.figures().values(), book.gamma):
        bad |= ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise NumericalError(f"position '{position_ids[first]}' (positions[{first}]) has non-finite "
                             f"figures; check its quantity, strike, vol and market prices")


def value_book(portfolio: Portfolio, market: Market, *, allow_expired: bool = False,
               threads: int | None = None) -> BookGreeks:
    """Validate, price and check a book: the one entry point the commands use."""
    import numpy as np

    inputs = book_inputs(portfolio, market, allow_expired=allow_expired)
    with np.errstate(all="ignore"):   # overflow is reported below, naming the position
        book = evaluate(inputs, threads=threads)
    check_finite(book, [p.id for p in portfolio.positions])
    return book
