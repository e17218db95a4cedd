"""Market data for valuing a book: index prices, futures curves, vols, rates, funding.

Schema (README "Market file"): `as_of` (the valuation time), an optional `rate` (USD
continuously compounded, discounts USD-settled options) and per underlying under
`underlyings.<COIN>`: `spot` (the index), `futures` (price per expiry, the same-expiry
future or forward each option is priced on), `basis` (annualised log basis for expiries
without a future), `rate`, `perpetuals` (mark `price` and `funding_rate_8h` per perpetual),
`vols` (implied vol per instrument name) and `smiles` (strike -> vol per expiry,
interpolated in total variance, flat beyond the outer strikes, and linearly in total
variance between listed expiries).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hedgecore.errors import ConfigError, Fields, finite_number, join_path, parse_timestamp
from hedgecore.instruments import Instrument, parse_expiry_code

DOCUMENT = "market"
SECONDS_PER_YEAR = 365.0 * 86400.0  # ACT/365: crypto trades every calendar day
MARKET_KEYS = ("as_of", "rate", "underlyings", "description")
UNDERLYING_KEYS = ("spot", "futures", "basis", "rate", "perpetuals", "vols", "smiles")
PERPETUAL_KEYS = ("price", "funding_rate_8h")


def year_fraction(start: datetime, end: datetime) -> float:
    """ACT/365 years from start to end (negative when end is earlier)."""
    return (end - start).total_seconds() / SECONDS_PER_YEAR


@dataclass(frozen=True, slots=True)
class PerpetualQuote:
    price: float
    funding_rate_8h: float


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
    as_of: datetime
    underlyings: Mapping[str, UnderlyingMarket]

    def with_as_of(self, as_of: datetime) -> Market:
        """The same market valued at another time (the CLI's --as-of)."""
        return replace(self, as_of=as_of)

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
        raise ConfigError(path, f"must be an expiry such as 27DEC26 or 2026-12-27, got {key!r}",
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


def _parse_underlying(name: str, data: Any, path: str, default_rate: float) -> UnderlyingMarket:
    fields = Fields(data, path, DOCUMENT, allowed=UNDERLYING_KEYS)
    spot = fields.positive("spot")
    rate = fields.number("rate", default_rate)
    futures: list[tuple[datetime, float]] = []
    for key, value in fields.mapping("futures").items():
        where = join_path(fields.sub("futures"), str(key))
        price = finite_number(value, where, DOCUMENT)
        if price <= 0:
            raise ConfigError(where, f"must be > 0, got {price:g}", document=DOCUMENT)
        futures.append((_expiry_key(key, where), price))
    basis = fields.optional_number("basis")
    perpetuals: dict[str, PerpetualQuote] = {}
    for perp_name, quote in fields.mapping("perpetuals").items():
        where = join_path(fields.sub("perpetuals"), str(perp_name))
        perp_fields = Fields(quote, where, DOCUMENT, allowed=PERPETUAL_KEYS)
        perpetuals[str(perp_name).upper()] = PerpetualQuote(
            perp_fields.positive("price", spot), perp_fields.number("funding_rate_8h", 0.0))
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
    return UnderlyingMarket(name, spot, rate, tuple(futures), basis, perpetuals, vols, tuple(smiles))


def parse_market(data: Any) -> Market:
    """Build a Market from a decoded document; raise ConfigError naming the field."""
    top = Fields(data, "", DOCUMENT, allowed=MARKET_KEYS)
    as_of = top.timestamp("as_of")
    rate = top.number("rate", 0.0)
    underlyings: dict[str, UnderlyingMarket] = {}
    for key, value in top.mapping("underlyings", required=True).items():
        name = str(key).strip().upper()
        underlyings[name] = _parse_underlying(name, value, join_path("underlyings", str(key)), rate)
    if not underlyings:
        raise ConfigError("underlyings", "must list at least one underlying", document=DOCUMENT)
    return Market(as_of, underlyings)
