"""Quotes for a desk's listed instruments, skewed by the marginal effect of a fill on the
book's Greeks (Stoikov & Saglam 2009; Baldacci, Bergault & Gueant 2021).

The book's inventory risk is the penalty (USD)
    P = 0.5 (gamma_delta D^2 + sum_b gamma_vega_b V_b^2 + gamma_gamma G^2)
with D the book delta (coin, premium-adjusted for coin-settled options, as `exposures`), V_b
the vega of expiry bucket b (USD per vol point) and G the gamma (USD per 1% move). Buying n
units of instrument i moves (D, V_b(i), G) by n (delta_i, vega_i, gamma_i), so the
reservation price of one unit is its mark minus the marginal penalty:
    skew_i = -(gamma_delta D delta_i + gamma_vega_b(i) V_b(i) vega_i + gamma_gamma G gamma_i)   (USD)
    reservation_i = mark_i + skew_i        (native units: / S for coin-settled options)
A book long vega thus lowers both quotes of every positive-vega option, a book short delta
raises the perpetual's. The half spread around the reservation price is
    h_i = base_i + 0.5 size_i (gamma_delta delta_i^2 + gamma_vega_b vega_i^2 + gamma_gamma gamma_i^2)
with base_i = (1/cara) ln(1 + cara/k_i) (Avellaneda-Stoikov; 1/k_i without cara) from the
fill intensity, the second term the risk of the fill itself; never below the maker fee per
unit (so that every fill covers its fee: ask - bid >= 2 fee). A side whose fill would take
the book beyond a limit (delta, vega, gamma, position), further from zero than it is, is not
quoted (price and size null).

Per unit: an option's price is per unit of the underlying (one Deribit contract); a
perpetual's or future's per coin (delta 1). Sizes are in contracts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hedgecore.errors import ConfigError
from hedgecore.instruments import Instrument, expiry_code, parse_instrument_name
from hedgecore.market import Market, year_fraction
from hedgecore.portfolio import Portfolio, Position
from hedgecore.quoting.config import DOCUMENT, QuotingConfig, UnderlyingQuoting

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Quote:
    instrument: str
    underlying: str
    kind: str
    price_unit: str               # "coin" (coin-settled options) or "USD"
    mark: float
    reservation: float
    bid: float | None
    ask: float | None
    bid_size: float | None
    ask_size: float | None
    skew: float                   # reservation - mark, native units
    half_spread: float
    fee: float                    # maker fee per unit, native units
    delta: float                  # per unit (coin)
    vega_usd: float               # per unit, USD per vol point
    gamma_usd_1pct: float         # per unit

    def as_dict(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "mark": self.mark, "reservation": self.reservation,
                "bid": self.bid, "ask": self.ask, "bid_size": self.bid_size, "ask_size": self.ask_size,
                "skew": self.skew, "underlying": self.underlying, "price_unit": self.price_unit,
                "half_spread": self.half_spread, "fee": self.fee}


@dataclass(frozen=True)
class Inventory:
    """The book's Greeks per underlying that the skew came from."""

    underlying: str
    spot: float
    delta: float
    gamma_usd_1pct: float
    vega_usd: float
    vega_usd_by_expiry: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"spot": self.spot, "delta": self.delta, "gamma_usd_1pct": self.gamma_usd_1pct,
                "vega_usd": self.vega_usd, "vega_usd_by_expiry": dict(self.vega_usd_by_expiry)}


@dataclass(frozen=True)
class QuoteSheet:
    as_of: datetime
    quotes: tuple[Quote, ...]
    inventory: dict[str, Inventory]
    warnings: tuple[str, ...] = ()     # instruments of the book settled at expiry


def _option_name(underlying: str, code: str, strike: float, is_call: bool, settlement: str) -> str:
    head = underlying if settlement == "inverse" else f"{underlying}_USDC"
    strike_text = f"{strike:.0f}" if float(strike).is_integer() else f"{strike:g}".replace(".", "d")
    return f"{head}-{code}-{strike_text}-{'C' if is_call else 'P'}"


def candidate_instruments(setup: UnderlyingQuoting, market: Market, portfolio: Portfolio) -> list[Instrument]:
    """The instruments named, then those the filter generates (before its delta range)."""
    seen: dict[str, Instrument] = {}
    for index, name in enumerate(setup.names):
        inst = parse_instrument_name(name)
        if inst is None or inst.kind == "spot":
            raise ConfigError(f"{setup.path}.instruments.names[{index}]",
                              f"not an option, future or perpetual name: '{name[:60]}'", document=DOCUMENT)
        if inst.underlying != setup.underlying:
            raise ConfigError(f"{setup.path}.instruments.names[{index}]",
                              f"is on {inst.underlying}, not {setup.underlying}", document=DOCUMENT)
        seen.setdefault(inst.name.upper(), inst)
    flt = setup.filter
    data = market.get(setup.underlying)
    if flt is not None and data is not None:
        codes = list(flt.expiries) if flt.expiries is not None else [expiry_code(s.expiry) for s in data.smiles]
        for code in codes:
            if flt.strikes is None:
                smile = next((s for s in data.smiles if expiry_code(s.expiry) == code), None)
                strikes: list[float] = list(getattr(smile, "strikes", ())) if smile is not None else []
                strikes += [p.instrument.strike for p in portfolio.positions
                            if p.instrument.underlying == setup.underlying and p.instrument.kind == "option"
                            and p.instrument.expiry is not None and expiry_code(p.instrument.expiry) == code
                            and p.instrument.strike is not None]
            elif isinstance(flt.strikes, tuple):
                strikes = list(flt.strikes)
            else:
                count = math.floor((flt.strikes.high - flt.strikes.low) / flt.strikes.step + 1e-9) + 1
                strikes = [flt.strikes.low + j * flt.strikes.step for j in range(count)]
            for strike in sorted(set(strikes)):
                for kind in flt.types:
                    name = _option_name(setup.underlying, code, strike, kind == "call", flt.settlement)
                    inst = parse_instrument_name(name)
                    if inst is not None:
                        seen.setdefault(name.upper(), inst)
    return list(seen.values())


def quote_book(portfolio: Portfolio, market: Market, config: QuotingConfig, *,
               threads: int | None = None) -> QuoteSheet:
    """Quotes of every configured instrument against the book's inventory."""
    import numpy as np

    from hedgecore.valuation import book_inputs, evaluate

    as_of = market.as_of
    book = evaluate(book_inputs(portfolio, market), threads=threads) if portfolio.positions else None
    warnings = book.inputs.warnings if book is not None else ()
    quotes: list[Quote] = []
    inventory: dict[str, Inventory] = {}
    for underlying, setup in config.underlyings.items():
        data = market.get(underlying)
        if data is None:
            raise ConfigError(setup.path, f"no market data for underlying '{underlying}' (the market file has "
                              f"{', '.join(sorted(market.underlyings))})", document=DOCUMENT)
        spot = data.spot
        # the book's inventory Greeks on this underlying
        by_expiry: dict[str, float] = {}
        delta_book = gamma_book = 0.0
        held: dict[str, float] = {}
        if book is not None:
            for k, position in enumerate(portfolio.positions):
                inst = position.instrument
                if inst.underlying != underlying:
                    continue
                delta_book += float(book.delta[k])
                gamma_book += float(book.gamma_usd_1pct[k])
                if inst.kind == "option" and inst.expiry is not None and float(book.vega_usd[k]) != 0.0:
                    code = expiry_code(inst.expiry)
                    by_expiry[code] = by_expiry.get(code, 0.0) + float(book.vega_usd[k])
                held[inst.name.upper()] = held.get(inst.name.upper(), 0.0) + position.quantity
        inventory[underlying] = Inventory(underlying, spot, delta_book, gamma_book, sum(by_expiry.values()),
                                          dict(sorted(by_expiry.items())))

        instruments = [inst for inst in candidate_instruments(setup, market, portfolio)
                       if inst.expiry is None or year_fraction(as_of, inst.expiry) > 0.0]
        options = [inst for inst in instruments if inst.kind == "option"]
        linear = [inst for inst in instruments if inst.kind != "option"]
        n_opt = len(options)
        # per-unit Greeks of the options: one vectorised valuation of a unit position each
        if n_opt:
            unit_book = Portfolio("quoting", tuple(
                Position(inst.name, inst, 1.0 / inst.contract_size, "quote", "quote", j)
                for j, inst in enumerate(options)))
            try:
                g = evaluate(book_inputs(unit_book, market), threads=threads)
            except ConfigError as error:
                raise ConfigError(setup.path + ".instruments", f"cannot price {error.describe()}",
                                  document=DOCUMENT) from None
            opt_delta, opt_vega, opt_gamma = g.delta, g.vega_usd, g.gamma_usd_1pct
            inverse = np.array([inst.is_inverse for inst in options])
            mark = np.where(inverse, g.value_usd / spot, g.value_usd)
            keep = np.ones(n_opt, dtype=bool)
            if setup.filter is not None:
                named = np.array([inst.name.upper() in {n.upper() for n in setup.names} for inst in options])
                abs_delta = np.abs(opt_delta)
                keep = named | ((abs_delta >= setup.filter.delta_min) & (abs_delta <= setup.filter.delta_max))
        arrays: dict[str, list[Any]] = {key: [] for key in (
            "inst", "delta", "vega", "gamma", "mark", "to_native", "kind", "bucket")}
        for j, inst in enumerate(options):
            if not keep[j]:
                continue
            assert inst.expiry is not None
            arrays["inst"].append(inst)
            arrays["delta"].append(float(opt_delta[j]))
            arrays["vega"].append(float(opt_vega[j]))
            arrays["gamma"].append(float(opt_gamma[j]))
            arrays["mark"].append(float(mark[j]))
            arrays["to_native"].append(1.0 / spot if inst.is_inverse else 1.0)
            arrays["kind"].append("option")
            arrays["bucket"].append(expiry_code(inst.expiry))
        for inst in linear:
            price = (data.perpetual(inst.name).price if inst.kind == "perpetual"
                     else data.forward(inst.expiry, as_of) if inst.expiry is not None else spot)
            arrays["inst"].append(inst)
            arrays["delta"].append(1.0)
            arrays["vega"].append(0.0)
            arrays["gamma"].append(0.0)
            arrays["mark"].append(price)
            arrays["to_native"].append(1.0)
            arrays["kind"].append(inst.kind)
            arrays["bucket"].append("")
        quotes.extend(_quote_arrays(setup, arrays, inventory[underlying], held))
    return QuoteSheet(as_of, tuple(quotes), inventory, warnings)


def _quote_arrays(setup: UnderlyingQuoting, arrays: dict[str, list[Any]], inv: Inventory,
                  held: dict[str, float]) -> list[Quote]:
    import numpy as np

    insts: list[Instrument] = arrays["inst"]
    if not insts:
        return []
    spot = inv.spot
    delta = np.array(arrays["delta"])
    vega = np.array(arrays["vega"])
    gamma = np.array(arrays["gamma"])
    mark = np.array(arrays["mark"])
    to_native = np.array(arrays["to_native"])
    kinds = arrays["kind"]
    buckets = arrays["bucket"]
    vega_ra = np.array([setup.vega_ra_of(b) if b else 0.0 for b in buckets])
    bucket_vega = np.array([inv.vega_usd_by_expiry.get(b, 0.0) if b else 0.0 for b in buckets])
    is_option = np.array([k == "option" for k in kinds])

    # contracts per quote and units of the underlying per contract
    contracts = np.array([setup.order_size[k] for k in kinds])
    units_per_contract = np.array([
        inst.contract_size if k == "option" or not inst.is_inverse else inst.contract_size / m
        for inst, k, m in zip(insts, kinds, mark, strict=True)])
    size_units = contracts * units_per_contract

    skew_usd = -(setup.delta_ra * inv.delta * delta + vega_ra * bucket_vega * vega
                 + setup.gamma_ra * inv.gamma_usd_1pct * gamma)
    own_risk_usd = 0.5 * size_units * (setup.delta_ra * delta**2 + vega_ra * vega**2 + setup.gamma_ra * gamma**2)

    base = np.empty(len(insts))
    for kind in set(kinds):
        rows = np.array([k == kind for k in kinds])
        intensity = setup.intensity.get(kind)
        if intensity is None:
            raise ConfigError(f"{setup.path}.intensity", f"missing the intensity of {kind}s "
                              f"(quoted: {next(i.name for i, k in zip(insts, kinds, strict=True) if k == kind)})",
                              document=DOCUMENT)
        base[rows] = (math.log1p(setup.cara / intensity.k) / setup.cara if setup.cara is not None
                      else 1.0 / intensity.k)
    fee = np.where(is_option,
                   np.minimum(setup.fees.option_maker * np.where(to_native < 1.0, 1.0, spot),
                              setup.fees.option_cap * mark),
                   setup.fees.perpetual_maker * mark)
    fee = np.maximum(fee, 0.0)
    skew = skew_usd * to_native
    reservation = mark + skew
    half = np.maximum(base + own_risk_usd * to_native, fee)
    bid = reservation - half
    ask = reservation + half

    # limits: a side is not quoted when its fill takes a figure beyond its limit, away from 0
    lim = setup.limits
    position = np.array([held.get(inst.name.upper(), 0.0) for inst in insts])
    bucket_limit_vega = inv.vega_usd
    position_limit = np.array([lim.position.get(k, math.inf) for k in kinds])

    def breaches(sign: float) -> NDArray[np.bool_]:
        out = np.zeros(len(insts), dtype=bool)
        for now, per_unit, scale, limit in (
                (inv.delta, delta, size_units, lim.delta),
                (bucket_limit_vega, vega, size_units, lim.vega_usd),
                (inv.gamma_usd_1pct, gamma, size_units, lim.gamma_usd_1pct),
                (position, np.ones(len(insts)), contracts, position_limit)):
            after = now + sign * per_unit * scale
            out |= (np.abs(after) > limit) & (np.abs(after) > np.abs(now))
        return out

    no_bid = breaches(+1.0) | ~(bid > 0.0)      # an option bid at or below 0 is no bid
    no_ask = breaches(-1.0)
    quotes = []
    for j, inst in enumerate(insts):
        quotes.append(Quote(
            instrument=inst.name, underlying=setup.underlying, kind=kinds[j],
            price_unit="coin" if to_native[j] < 1.0 else "USD",
            mark=float(mark[j]), reservation=float(reservation[j]),
            bid=None if no_bid[j] else float(bid[j]), ask=None if no_ask[j] else float(ask[j]),
            bid_size=None if no_bid[j] else float(contracts[j]), ask_size=None if no_ask[j] else float(contracts[j]),
            skew=float(skew[j]), half_spread=float(half[j]), fee=float(fee[j]), delta=float(delta[j]),
            vega_usd=float(vega[j]), gamma_usd_1pct=float(gamma[j])))
    return quotes


__all__ = ["Inventory", "Quote", "QuoteSheet", "candidate_instruments", "quote_book"]
