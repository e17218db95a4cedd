"""Market data for valuing a book: index prices, futures curves, vols, rates, funding.

Schema (README "Market file"): `as_of` (the valuation time), an optional `rate` (USD
continuously compounded, discounts USD-settled options) and per underlying under
`underlyings.<COIN>`: `spot` (the index), `futures` (price per expiry, the same-expiry
future or forward each option is priced on), `basis` (annualised log basis for expiries
without a future), `rate`, `perpetuals` (mark `price` and `funding_rate_8h` per perpetual),
`vols` (implied vol per instrument name) and `smiles` (strike -> vol per expiry,
interpolated in total variance, flat beyond the outer strikes, and linearly in total
variance between listed expiries), and `delivery_prices` (the settlement price per expiry,
used to settle instruments that have expired at the valuation time), and `instruments`
(a venue's fees and amount sizes per future or perpetual: maker_fee, taker_fee,
min_trade_amount, tick_size, contract_size; the hedge decision takes them where the policy
leaves them out).

Plausibility bounds (refused when the file is read, naming the field): a future's or
forward's annualised log basis |ln(F/S)| / tau may not exceed MAX_ANNUAL_LOG_BASIS (300% a
year; crypto basis has peaked near 100% in the 2021 mania) unless |ln(F/S)| itself is at
most MAX_ABS_LOG_BASIS (5%: very short-dated futures annualise small gaps into large
numbers); `basis` is bounded by the same 300%; a perpetual's mark may not be more than
MAX_PERP_DEVIATION (50%) from the index; rates lie in [-1, 1]; vols in (0, 10); a delivery
price within a factor MAX_DELIVERY_RATIO (2) of the index.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hedgecore.errors import ConfigError, show_text
from hedgecore.instruments import Instrument, parse_expiry_code
from hedgecore.reading import Fields, finite_number, join_path, parse_timestamp
from hedgecore.units import SECONDS_PER_YEAR  # ACT/365: crypto trades every calendar day

DOCUMENT = "market"
MARKET_KEYS = ("as_of", "rate", "underlyings", "description")
UNDERLYING_KEYS = ("spot", "futures", "basis", "rate", "perpetuals", "vols", "smiles", "delivery_prices", "quotes",
                   "instruments")
INSTRUMENT_SPEC_KEYS = ("maker_fee", "taker_fee", "min_trade_amount", "tick_size", "contract_size")
QUOTE_KEYS = ("bid", "ask", "bid_size", "ask_size")
MAX_ANNUAL_LOG_BASIS = 3.0     # |ln(F/S)| / tau, per year
MAX_ABS_LOG_BASIS = 0.05       # |ln(F/S)| always allowed up to this, whatever tau
MAX_PERP_DEVIATION = 0.5       # |mark / index - 1|
MAX_ABS_RATE = 1.0             # continuously compounded, per year
MAX_DELIVERY_RATIO = 2.0       # delivery price within [S / 2, 2 S]
PERPETUAL_KEYS = ("price", "funding_rate_8h")


def year_fraction(start: datetime, end: datetime) -> float:
    """ACT/365 years from start to end (negative when end is earlier)."""
    return (end - start).total_seconds() / SECONDS_PER_YEAR


@dataclass(frozen=True, slots=True)
class PerpetualQuote:
    price: float
    funding_rate_8h: float


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """A listed option's best bid and ask in its native units (coin for coin-settled, USD
    for USDC-settled) and their sizes in contracts; None where the venue shows no quote."""

    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """A venue's terms for one future or perpetual (None where not given). Fees are fractions
    of the traded notional (negative: a rebate); min_trade_amount and contract_size are in
    the venue's amount units, which are hedgecore's contract_size units (USD for inverse
    futures and perpetuals, coin for linear ones); tick_size in the price's units."""

    maker_fee: float | None = None
    taker_fee: float | None = None
    min_trade_amount: float | None = None
    tick_size: float | None = None
    contract_size: float | None = None


@dataclass(frozen=True, slots=True)
class Smile:
    """Implied vols of one expiry by strike; interpolated in total variance."""

    expiry: datetime
    strikes: tuple[float, ...]
    vols: tuple[float, ...]

    def variance_rate(self, strike: float) -> float:
        """sigma^2 at `strike`: linear in log strike, flat beyond the outer strikes.

        With one expiry tau is common to every strike, so interpolating total variance
        sigma^2 tau is interpolating sigma^2.
        """
        strikes, vols = self.strikes, self.vols
        if strike <= strikes[0]:
            return vols[0] ** 2
        if strike >= strikes[-1]:
            return vols[-1] ** 2
        upper = bisect.bisect_right(strikes, strike)
        k0, k1 = math.log(strikes[upper - 1]), math.log(strikes[upper])
        weight = (math.log(strike) - k0) / (k1 - k0)
        return (1.0 - weight) * vols[upper - 1] ** 2 + weight * vols[upper] ** 2


@dataclass(frozen=True, slots=True)
class UnderlyingMarket:
    """Market data of one underlying."""

    underlying: str
    spot: float
    rate: float
    futures: tuple[tuple[datetime, float], ...] = ()
    basis: float | None = None
    perpetuals: Mapping[str, PerpetualQuote] = field(default_factory=dict)
    vols: Mapping[str, float] = field(default_factory=dict)
    smiles: tuple[Smile, ...] = ()
    delivery_prices: Mapping[datetime, float] = field(default_factory=dict)
    quotes: Mapping[str, OptionQuote] = field(default_factory=dict)
    instruments: Mapping[str, InstrumentSpec] = field(default_factory=dict)

    def delivery_price(self, expiry: datetime) -> float | None:
        """The settlement price of an expiry, if the market file gives it."""
        return self.delivery_prices.get(expiry)

    def forward(self, expiry: datetime, as_of: datetime) -> float:
        """The same-expiry future/forward: a listed future, else the basis, else the curve.

        Without futures or basis the forward is the spot (zero basis).
        """
        for moment, price in self.futures:
            if moment == expiry:
                return price
        tau = max(year_fraction(as_of, expiry), 0.0)
        if self.basis is not None:
            return self.spot * math.exp(self.basis * tau)
        if not self.futures:
            return self.spot
        # Interpolate the annualised log basis between listed futures, flat beyond them.
        points = sorted((year_fraction(as_of, m), math.log(p / self.spot)) for m, p in self.futures)
        points = [(t, lb / t if t > 0 else 0.0) for t, lb in points]
        if tau <= points[0][0]:
            rate = points[0][1]
        elif tau >= points[-1][0]:
            rate = points[-1][1]
        else:
            upper = bisect.bisect_right([t for t, _ in points], tau)
            (t0, b0), (t1, b1) = points[upper - 1], points[upper]
            rate = b0 + (b1 - b0) * (tau - t0) / (t1 - t0)
        return self.spot * math.exp(rate * tau)

    def perpetual(self, name: str) -> PerpetualQuote:
        """Mark price and funding of a perpetual; the index and zero funding if unlisted."""
        quote = self.perpetuals.get(name.upper())
        return quote if quote is not None else PerpetualQuote(self.spot, 0.0)

    def vol(self, instrument: Instrument, position_id: str, as_of: datetime) -> float | None:
        """Implied vol of an option: quoted by name or id, else from the smiles; None if absent."""
        for key in (instrument.name.upper(), position_id.upper()):
            if key in self.vols:
                return self.vols[key]
        if not self.smiles or instrument.strike is None or instrument.expiry is None:
            return None
        strike, expiry = instrument.strike, instrument.expiry
        for smile in self.smiles:
            if smile.expiry == expiry:
                return math.sqrt(smile.variance_rate(strike))
        # Between two listed expiries: total variance linear in time at this strike.
        tau = year_fraction(as_of, expiry)
        taus = [year_fraction(as_of, s.expiry) for s in self.smiles]
        upper = bisect.bisect_right(taus, tau)
        if upper == 0 or upper == len(taus) or tau <= 0.0:
            return None
        t0, t1 = taus[upper - 1], taus[upper]
        if t0 <= 0.0:
            return None
        w0 = self.smiles[upper - 1].variance_rate(strike) * t0
        w1 = self.smiles[upper].variance_rate(strike) * t1
        total_variance = w0 + (w1 - w0) * (tau - t0) / (t1 - t0)
        return math.sqrt(max(total_variance, 0.0) / tau)


@dataclass(frozen=True, slots=True)
class Market:
    """as_of is the valuation time; quoted_at the time the prices were taken (the file's
    as_of, which --as-of does not move), from which the market's age is measured."""

    as_of: datetime
    underlyings: Mapping[str, UnderlyingMarket]
    quoted_at: datetime | None = None

    @property
    def quote_time(self) -> datetime:
        return self.quoted_at if self.quoted_at is not None else self.as_of

    def with_as_of(self, as_of: datetime) -> Market:
        """The same market valued at another time (the CLI's --as-of)."""
        return replace(self, as_of=as_of, quoted_at=self.quote_time)

    def age(self, now: datetime) -> timedelta:
        """How old the prices are at `now` (negative when quoted after it)."""
        return now - self.quote_time

    def get(self, underlying: str) -> UnderlyingMarket | None:
        return self.underlyings.get(underlying)


def _expiry_key(key: Any, path: str) -> datetime:
    if isinstance(key, str):
        code = parse_expiry_code(key)
        if code is not None:
            return code
    try:
        return parse_timestamp(key, path, DOCUMENT)
    except ConfigError:
        raise ConfigError(path, f"must be an expiry such as 27DEC26 or 2026-12-27, got {show_text(str(key))}",
                          document=DOCUMENT) from None


def _parse_smile(data: Any, path: str, expiry: datetime) -> Smile:
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(path, "must be a mapping of strike to implied vol", document=DOCUMENT)
    points: list[tuple[float, float]] = []
    for strike_key, vol_value in data.items():
        where = join_path(path, str(strike_key))
        strike = finite_number(strike_key, where, DOCUMENT)
        if strike <= 0:
            raise ConfigError(where, f"strike must be > 0, got {strike:g}", document=DOCUMENT)
        vol = finite_number(vol_value, where, DOCUMENT)
        if not 0.0 < vol < 10.0:
            raise ConfigError(where, f"implied vol must be in (0, 10) (0.55 for 55%), got {vol:g}",
                              document=DOCUMENT)
        points.append((strike, vol))
    points.sort()
    return Smile(expiry, tuple(k for k, _ in points), tuple(v for _, v in points))


def _check_rate(value: float, path: str) -> float:
    if not -MAX_ABS_RATE <= value <= MAX_ABS_RATE:
        raise ConfigError(path, f"must be a continuously compounded rate in [-1, 1] (0.04 for 4%), "
                          f"got {value:g}", document=DOCUMENT)
    return value


def _check_basis(price: float, spot: float, tau: float, path: str) -> None:
    """Refuse a future/forward whose basis over the index no real market shows."""
    log_basis = math.log(price) - math.log(spot)     # not log(price / spot): that can under/overflow
    if abs(log_basis) <= MAX_ABS_LOG_BASIS:
        return
    if tau <= 0.0 or abs(log_basis) / tau > MAX_ANNUAL_LOG_BASIS:
        annual = f"{abs(log_basis) / tau:.4g} a year" if tau > 0.0 else "at or after expiry"
        raise ConfigError(path, f"{price:,.10g} is implausible against the index {spot:,.10g}: annualised log "
                          f"basis {annual}, beyond the bound of {MAX_ANNUAL_LOG_BASIS:g} "
                          f"(|ln(F/S)| up to {MAX_ABS_LOG_BASIS:g} is always accepted)", document=DOCUMENT)


def _parse_quotes(fields: Fields) -> dict[str, OptionQuote]:
    """`quotes: {NAME: {bid, ask, bid_size, ask_size}}`, each optional, none negative, bid <= ask."""
    quotes: dict[str, OptionQuote] = {}
    for option_name, quote in fields.mapping("quotes").items():
        quote_fields = Fields(quote, join_path(fields.sub("quotes"), str(option_name)), DOCUMENT, allowed=QUOTE_KEYS)
        values = [quote_fields.optional_number(key) for key in QUOTE_KEYS]
        for key, value in zip(QUOTE_KEYS, values, strict=True):
            if value is not None and value < 0:
                quote_fields.fail(key, f"must be >= 0, got {value:g}")
        bid, ask = values[0], values[1]
        if bid is not None and ask is not None and bid > ask:
            quote_fields.fail("bid", f"crossed quote: bid {bid:g} is above ask {ask:g}")
        quotes[str(option_name).upper()] = OptionQuote(*values)
    return quotes


def _parse_instrument_specs(fields: Fields) -> dict[str, InstrumentSpec]:
    """`instruments: {NAME: {maker_fee, taker_fee, min_trade_amount, tick_size, contract_size}}`."""
    specs: dict[str, InstrumentSpec] = {}
    for instrument_name, spec in fields.mapping("instruments").items():
        spec_fields = Fields(spec, join_path(fields.sub("instruments"), str(instrument_name)), DOCUMENT,
                             allowed=INSTRUMENT_SPEC_KEYS)
        fees = [spec_fields.optional_number(key) for key in ("maker_fee", "taker_fee")]
        for key, fee in zip(("maker_fee", "taker_fee"), fees, strict=True):
            if fee is not None and not -0.01 <= fee < 0.05:
                spec_fields.fail(key, f"must be a fraction of notional in [-0.01, 0.05) (0.0005 = 5 bp), got {fee:g}")
        sizes = [spec_fields.positive(key) if spec_fields.has(key) else None
                 for key in ("min_trade_amount", "tick_size", "contract_size")]
        specs[str(instrument_name).upper()] = InstrumentSpec(*fees, *sizes)
    return specs


def _parse_underlying(name: str, data: Any, path: str, default_rate: float, as_of: datetime) -> UnderlyingMarket:
    fields = Fields(data, path, DOCUMENT, allowed=UNDERLYING_KEYS)
    spot = fields.positive("spot")
    rate = _check_rate(fields.number("rate", default_rate), fields.sub("rate"))
    futures: list[tuple[datetime, float]] = []
    for key, value in fields.mapping("futures").items():
        where = join_path(fields.sub("futures"), str(key))
        price = finite_number(value, where, DOCUMENT)
        if price <= 0:
            raise ConfigError(where, f"must be > 0, got {price:g}", document=DOCUMENT)
        expiry = _expiry_key(key, where)
        _check_basis(price, spot, year_fraction(as_of, expiry), where)
        futures.append((expiry, price))
    basis = fields.optional_number("basis")
    if basis is not None and abs(basis) > MAX_ANNUAL_LOG_BASIS:
        fields.fail("basis", f"annualised log basis must be within +/-{MAX_ANNUAL_LOG_BASIS:g} "
                    f"(0.1 for 10% a year), got {basis:g}")
    perpetuals: dict[str, PerpetualQuote] = {}
    for perp_name, quote in fields.mapping("perpetuals").items():
        where = join_path(fields.sub("perpetuals"), str(perp_name))
        perp_fields = Fields(quote, where, DOCUMENT, allowed=PERPETUAL_KEYS)
        mark = perp_fields.positive("price", spot)
        if abs(mark / spot - 1.0) > MAX_PERP_DEVIATION:
            perp_fields.fail("price", f"{mark:,.10g} is implausible: more than {MAX_PERP_DEVIATION:.0%} "
                             f"from the index {spot:,.10g}")
        funding = perp_fields.number("funding_rate_8h", 0.0)
        if abs(funding) > 0.05:
            perp_fields.fail("funding_rate_8h", f"must be a fraction per 8 hours within +/-0.05 "
                             f"(0.0001 = 0.01%), got {funding:g}")
        perpetuals[str(perp_name).upper()] = PerpetualQuote(mark, funding)
    vols: dict[str, float] = {}
    for option_name, vol_value in fields.mapping("vols").items():
        where = join_path(fields.sub("vols"), str(option_name))
        vol = finite_number(vol_value, where, DOCUMENT)
        if not 0.0 < vol < 10.0:
            raise ConfigError(where, f"implied vol must be in (0, 10) (0.55 for 55%), got {vol:g}",
                              document=DOCUMENT)
        vols[str(option_name).upper()] = vol
    smiles = [
        _parse_smile(value, join_path(fields.sub("smiles"), str(key)),
                     _expiry_key(key, join_path(fields.sub("smiles"), str(key))))
        for key, value in fields.mapping("smiles").items()
    ]
    smiles.sort(key=lambda s: s.expiry)
    delivery: dict[datetime, float] = {}
    for key, value in fields.mapping("delivery_prices").items():
        where = join_path(fields.sub("delivery_prices"), str(key))
        price = finite_number(value, where, DOCUMENT)
        if not spot / MAX_DELIVERY_RATIO <= price <= spot * MAX_DELIVERY_RATIO:
            raise ConfigError(where, f"delivery price {price:g} is implausible against the index {spot:,.10g} "
                              f"(must be within a factor {MAX_DELIVERY_RATIO:g} of it)", document=DOCUMENT)
        delivery[_expiry_key(key, where)] = price
    return UnderlyingMarket(name, spot, rate, tuple(futures), basis, perpetuals, vols, tuple(smiles), delivery,
                            _parse_quotes(fields), _parse_instrument_specs(fields))


def parse_market(data: Any) -> Market:
    """Build a Market from a decoded document; raise ConfigError naming the field."""
    top = Fields(data, "", DOCUMENT, allowed=MARKET_KEYS)
    as_of = top.timestamp("as_of")
    rate = _check_rate(top.number("rate", 0.0), "rate")
    underlyings: dict[str, UnderlyingMarket] = {}
    for key, value in top.mapping("underlyings", required=True).items():
        name = str(key).strip().upper()
        underlyings[name] = _parse_underlying(name, value, join_path("underlyings", str(key)), rate, as_of)
    if not underlyings:
        raise ConfigError("underlyings", "must list at least one underlying", document=DOCUMENT)
    return Market(as_of, underlyings)
