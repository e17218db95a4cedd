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
- Coin rate: coin-settled options are priced at r = 0, so their rho is 0.
- Two delta measures. The USD measure is dV_usd/dS (`delta_bs`). The coin measure (Deribit's
  DeltaTotal, `delta_coin`) takes out the value a position holds *in coin*:
  dV_usd/dS - V_coin_denominated/S, where only coin-settled option premiums, coin held (spot)
  and inverse futures (value 0 at the mark) are coin-denominated. A USD-settled (linear)
  option or future has the same delta in both measures.
- Expired instruments are valued as what their settlement leaves, at the market file's
  delivery price of the expiry (else the index, with a warning): an inverse option pays
  (S_T - K)^+ / S_T coin per contract (put (K - S_T)^+ / S_T), which is then coin held (kind
  SPOT); a linear option pays USD (kind CASH: value, no delta); a dated future settles into
  its variation margin (value 0 at the mark, no delta). No gamma, vega, theta or rho.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hedgecore.errors import ConfigError, NumericalError
from hedgecore.instruments import Instrument, expiry_code
from hedgecore.market import Market, UnderlyingMarket, year_fraction
from hedgecore.portfolio import Portfolio
from hedgecore.units import DAYS_PER_YEAR

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

# Position kinds as the vectorized code sees them. CASH is USD a settlement left (an expired
# linear option or future): value `units` USD, no delta.
LINEAR_OPTION, INVERSE_OPTION, LINEAR_FUTURE, INVERSE_FUTURE, SPOT, CASH = range(6)
# Kinds whose value is held in coin (the coin measure takes that value out of the delta).
COIN_DENOMINATED = (INVERSE_OPTION, INVERSE_FUTURE, SPOT)

FIGURES = ("value_usd", "delta", "delta_bs", "delta_usd", "gamma_usd_1pct", "vega_usd",
           "theta_usd", "rho_usd")


@dataclass(frozen=True)
class BookInputs:
    """Per-position pricing inputs as flat arrays (one element per position).

    units : underlying units per contract for options, linear futures and spot; USD per
        contract for inverse futures (quantity x contract size); USD for CASH.
    forward : the same-expiry future for options and dated futures, the perpetual's mark
        for perpetuals, the index for spot; the settlement price for settled instruments.
    settled : True for an instrument that expired at or before the valuation time and is
        valued as what its settlement left.
    warnings : one line per expired instrument (and what it was settled at), for stderr.
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
    settled: NDArray[np.bool_] | None = None
    warnings: tuple[str, ...] = ()


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
    delta_coin: FloatArray       # coin measure (DeltaTotal): delta_bs - coin-denominated value / S

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
        sums["delta_coin"] = np.bincount(index, weights=self.delta_coin, minlength=n)
        # Value held in coin (coin-settled premiums, coin held), in coin: what separates the
        # two delta measures. USD-settled positions are not in it.
        in_coin = np.isin(self.inputs.kind, COIN_DENOMINATED)
        sums["delta_coin_held"] = np.bincount(index, weights=np.where(in_coin, self.delta_coin, 0.0), minlength=n)
        sums["value_coin"] = np.bincount(index, weights=np.where(in_coin, self.value_usd / self.inputs.spot, 0.0),
                                         minlength=n)
        return {name: {key: float(values[k]) for key, values in sums.items()}
                for k, name in enumerate(self.inputs.underlyings)}


def book_inputs(portfolio: Portfolio, market: Market, *, allow_expired: bool = True) -> BookInputs:
    """Gather every position's pricing inputs; refuse what cannot be valued.

    Raises ConfigError (document "portfolio") for a position whose underlying has no market
    data and an unexpired option without an implied vol. An instrument that expired at or
    before the valuation time is settled (see the module docstring) and named in
    `warnings`. allow_expired is accepted for compatibility and changes nothing: a book
    written yesterday keeps valuing on expiry morning without phantom delta.
    """
    import numpy as np

    del allow_expired   # expired instruments are always settled (README "Expiry day")
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
    settled = np.zeros(n, dtype=np.bool_)
    warnings: dict[str, str] = {}
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
        if inst.expiry is not None and year_fraction(as_of, inst.expiry) <= 0.0:
            settled[k] = True
            kind[k], units[k], forward[k], message = _settle(inst, units[k], data, as_of)
            warnings.setdefault(inst.name, message)
            continue
        if inst.expiry is not None:
            tau[k] = year_fraction(as_of, inst.expiry)
        if inst.kind == "option":
            assert inst.expiry is not None
            assert inst.strike is not None
            forward[k] = data.forward(inst.expiry, as_of)
            strike[k] = inst.strike
            is_call[k] = inst.is_call
            option_vol = data.vol(inst, position.id, as_of)
            if option_vol is None:
                raise ConfigError(where, f"no implied vol for {inst.name} in the market file (add it "
                                  f"under underlyings.{inst.underlying}.vols or a smile for its expiry)",
                                  document="portfolio")
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
                      is_call, rate, settled, tuple(warnings.values()))


def _settle(inst: Instrument, units: float, data: UnderlyingMarket, as_of: datetime
            ) -> tuple[int, float, float, str]:
    """(kind, units, settlement price, warning) of an expired option or future: what its
    cash settlement left. units is contracts x contract size as in BookInputs."""
    assert inst.expiry is not None
    code = expiry_code(inst.expiry)
    delivery = data.delivery_price(inst.expiry)
    if delivery is not None:
        price, source = delivery, f"the delivery price {delivery:,.10g}"
    else:
        price = data.spot
        source = (f"the index {price:,.10g} (the market file gives no delivery price: add "
                  f"underlyings.{inst.underlying}.delivery_prices.{code})")
    head = f"{inst.name} expired at {inst.expiry:%Y-%m-%d %H:%M} UTC (valuation time {as_of:%Y-%m-%d %H:%M} UTC)"
    if inst.kind != "option":
        return CASH, 0.0, price, f"{head}: settled at {source}; no delta left"
    assert inst.strike is not None
    payoff_usd = max(price - inst.strike, 0.0) if inst.is_call else max(inst.strike - price, 0.0)
    if payoff_usd == 0.0:
        return CASH, 0.0, price, f"{head}: settled worthless at {source}"
    if inst.is_inverse:
        coin = payoff_usd / price
        return SPOT, units * coin, data.spot, (f"{head}: settled at {source}, {coin:.8g} {inst.underlying} "
                                           "per contract, now counted as coin held")
    return CASH, units * payoff_usd, price, (f"{head}: settled at {source}, {payoff_usd:,.10g} USD "
                                             "per contract, no delta left")


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
        # rho stays 0: coin-settled options are priced at r = 0, their value ignores the rate.
        vanna[inverse] = q * (g.vanna + g.vega)
    linear_futures = np.flatnonzero(kind == LINEAR_FUTURE)
    delta[linear_futures] = units[linear_futures] * np.where(
        inputs.tau[linear_futures] > 0.0, fwd[linear_futures] / spot[linear_futures], 1.0)
    inverse_futures = np.flatnonzero(kind == INVERSE_FUTURE)
    delta[inverse_futures] = units[inverse_futures] / fwd[inverse_futures]
    spots = np.flatnonzero(kind == SPOT)
    value[spots] = units[spots] * spot[spots]
    delta[spots] = units[spots]
    cash = np.flatnonzero(kind == CASH)
    value[cash] = units[cash]
    not_options = np.concatenate([linear_futures, inverse_futures, spots, cash])
    delta_bs[not_options] = delta[not_options]
    in_coin = np.isin(kind, COIN_DENOMINATED)
    delta_coin = np.where(in_coin, delta_bs - value / spot, delta_bs)

    result = BookGreeks(
        inputs=inputs,
        value_usd=value,
        delta=delta,
        delta_bs=delta_bs,
        delta_usd=delta * spot,
        gamma_usd_1pct=gamma * spot * spot / 100.0,
        vega_usd=vega / 100.0,
        theta_usd=theta / DAYS_PER_YEAR,
        rho_usd=rho / 100.0,
        gamma=gamma,
        vanna_bs=vanna,
        delta_coin=delta_coin,
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


def value_book(portfolio: Portfolio, market: Market, *, allow_expired: bool = True,
               threads: int | None = None) -> BookGreeks:
    """Validate, price and check a book: the one entry point the commands use.

    Expired instruments are settled (book.inputs.warnings names them); allow_expired is
    accepted for compatibility and changes nothing.
    """
    del allow_expired
    import numpy as np

    inputs = book_inputs(portfolio, market)
    with np.errstate(all="ignore"):   # overflow is reported below, naming the position
        book = evaluate(inputs, threads=threads)
    check_finite(book, [p.id for p in portfolio.positions])
    return book
