"""Hedging policy: per underlying the target, the band, the allowed hedge instruments with
their costs, the timer and the risk limits; built from a plain dict.

Schema (README "Policy file"): `underlyings.<COIN>` with `measure` (usd | coin), `target_delta`,
`band` (method fixed | whalley_wilmott | zakamouline | nested and its parameters),
`rebalance_to` (edge | target), `min_interval`, `last_hedge_at`, `funding_horizon`,
`instruments` (name, maker_fee, taker_fee, execution, half_spread, fixed_cost_usd,
funding_rate_8h, lot_size, min_order) and `limits` (plus `breach_overrides_interval` and
`urgent_abs_delta`), `option_hedge` (gamma and vega bands met with listed options, parsed in
hedgecore.option_hedge); `book.limits` across underlyings; and `max_market_age`, the oldest
market file `check` accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hedgecore.errors import ConfigError, show_text
from hedgecore.instruments import Instrument, parse_instrument_name
from hedgecore.option_hedge import OptionHedgePolicy, parse_option_hedge
from hedgecore.reading import Fields, join_path

if TYPE_CHECKING:
    from hedgecore.market import Market

DOCUMENT = "policy"
BAND_METHODS = ("fixed", "whalley_wilmott", "zakamouline", "nested")
MEASURES = ("usd", "coin")
POLICY_KEYS = ("underlyings", "book", "description", "max_market_age")
UNDERLYING_KEYS = ("measure", "target_delta", "band", "rebalance_to", "min_interval", "last_hedge_at",
                   "funding_horizon", "instruments", "limits", "option_hedge")
BAND_KEYS = ("method", "half_width", "risk_aversion", "fixed_cost_usd", "min_half_width",
             "max_half_width", "outer_half_width", "inner_half_width")
INSTRUMENT_KEYS = ("name", "maker_fee", "taker_fee", "execution", "half_spread", "fixed_cost_usd",
                   "funding_rate_8h", "lot_size", "min_order", "contract_size")
LIMIT_KEYS = ("max_abs_delta", "max_abs_delta_usd", "max_abs_gamma_usd_1pct", "max_abs_vega_usd")
# Per-underlying limits also say whether a breach trades through min_interval.
UNDERLYING_LIMIT_KEYS = (*LIMIT_KEYS, "breach_overrides_interval", "urgent_abs_delta")
# Lot sizes and minimum orders in contracts: outside these no venue lists the instrument, and
# 1e-320 lots overflow the contract count.
MIN_LOT_SIZE, MAX_LOT_SIZE = 1e-8, 1e9
MAX_MIN_ORDER = 1e12
# Band methods that take the one-way proportional cost (fee + half-spread), which must be >= 0.
COST_BANDS = ("whalley_wilmott", "zakamouline", "nested")
# What a market's `instruments` (the venue's terms) supplies when a hedge instrument leaves it out.
VENUE_DEFAULT_KEYS = ("maker_fee", "taker_fee", "lot_size", "min_order")
BOOK_KEYS = ("limits",)


@dataclass(frozen=True, slots=True)
class HedgeInstrument:
    """An instrument the policy allows for hedging, with its costs.

    Fees and half_spread are fractions of the traded notional (0.0005 = 5 bp); lot_size and
    min_order are in the instrument's contracts; funding_rate_8h overrides the market's
    (None: use the market's quote for a perpetual, 0 otherwise).
    """

    instrument: Instrument
    fee: float
    half_spread: float
    fixed_cost_usd: float
    funding_rate_8h: float | None
    lot_size: float
    min_order: float
    path: str
    execution: str = "taker"
    # VENUE_DEFAULT_KEYS the policy left out: with_venue_terms fills them from the market.
    left_out: frozenset[str] = frozenset()

    @property
    def proportional_cost(self) -> float:
        """One-way proportional cost: fee plus half-spread, as a fraction of notional."""
        return self.fee + self.half_spread


@dataclass(frozen=True, slots=True)
class BandSpec:
    method: str
    half_width: float | None = None
    risk_aversion: float | None = None
    fixed_cost_usd: float | None = None
    min_half_width: float = 0.0
    max_half_width: float | None = None
    outer_half_width: float | None = None
    inner_half_width: float | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_abs_delta: float | None = None
    max_abs_delta_usd: float | None = None
    max_abs_gamma_usd_1pct: float | None = None
    max_abs_vega_usd: float | None = None


@dataclass(frozen=True, slots=True)
class UnderlyingPolicy:
    underlying: str
    measure: str
    target_delta: float
    band: BandSpec
    rebalance_to: str
    min_interval: timedelta
    last_hedge_at: datetime | None
    funding_horizon: timedelta
    instruments: tuple[HedgeInstrument, ...]
    limits: Limits
    path: str
    breach_overrides_interval: bool = True
    urgent_abs_delta: float | None = None
    option_hedge: OptionHedgePolicy | None = None   # gamma/vega bands met with listed options


@dataclass(frozen=True, slots=True)
class Policy:
    underlyings: Mapping[str, UnderlyingPolicy]
    book_limits: Limits
    max_market_age: timedelta | None = None


def hedge_instrument_name(name: str, underlying: str, contract_size: float | None = None) -> Instrument | None:
    """A hedge instrument from its name; ``spot`` or ``BTC-SPOT`` is the coin itself."""
    text = name.strip().upper()
    if text in ("SPOT", f"{underlying}-SPOT", f"{underlying}_SPOT"):
        return Instrument(f"{underlying}-SPOT", "spot", underlying, "linear", contract_size=contract_size or 1.0)
    return parse_instrument_name(text, contract_size=contract_size)


def _limits(fields: Fields) -> Limits:
    return Limits(*(fields.positive(key) if fields.has(key) else None for key in LIMIT_KEYS))


def _band(fields: Fields) -> BandSpec:
    method = fields.choice("method", BAND_METHODS)
    spec = BandSpec(
        method=method,
        half_width=fields.optional_non_negative("half_width"),
        risk_aversion=fields.positive("risk_aversion") if fields.has("risk_aversion") else None,
        fixed_cost_usd=fields.optional_non_negative("fixed_cost_usd"),
        min_half_width=fields.non_negative("min_half_width", 0.0),
        max_half_width=fields.positive("max_half_width") if fields.has("max_half_width") else None,
        outer_half_width=fields.optional_non_negative("outer_half_width"),
        inner_half_width=fields.optional_non_negative("inner_half_width"),
    )
    if method == "fixed" and spec.half_width is None:
        fields.required("half_width")
    if method in ("whalley_wilmott", "zakamouline") and spec.risk_aversion is None:
        fields.required("risk_aversion")
    if method == "nested":
        explicit = spec.outer_half_width is not None and spec.inner_half_width is not None
        if not explicit and spec.risk_aversion is None:
            fields.fail_at(fields.path, "nested band needs 'risk_aversion' (or both 'outer_half_width' "
                           "and 'inner_half_width')")
        if explicit and spec.inner_half_width > spec.outer_half_width:  # type: ignore[operator]
            fields.fail("inner_half_width", "must not exceed outer_half_width")
    if spec.max_half_width is not None and spec.max_half_width < spec.min_half_width:
        fields.fail("max_half_width", "must not be below min_half_width")
    return spec


def _instrument(data: Any, path: str, underlying: str, band_method: str) -> HedgeInstrument:
    fields = Fields(data, path, DOCUMENT, allowed=INSTRUMENT_KEYS)
    name = fields.text("name")
    size = fields.positive("contract_size") if fields.has("contract_size") else None
    instrument = hedge_instrument_name(name, underlying, size)
    if instrument is None and size is None and hedge_instrument_name(name, underlying, 1.0) is not None:
        fields.fail_at(fields.path, f"missing required key 'contract_size' (USD per contract of {show_text(name)}; "
                       "hedgecore knows it only for BTC and ETH)")
    if instrument is None:
        fields.fail("name", f"not an instrument name hedgecore understands: {show_text(name)} "
                    "(e.g. BTC-PERPETUAL, ETH_USDC-PERPETUAL, BTC-27DEC26, spot)")
    if instrument.kind == "option":
        fields.fail("name", f"{name} is an option; hedge with spot, perpetuals or futures")
    if instrument.underlying != underlying:
        fields.fail("name", f"{name} is on {instrument.underlying}, not {underlying}")
    execution = fields.choice("execution", ("taker", "maker"), "taker")
    maker_fee = fields.number("maker_fee", 0.0)
    taker_fee = fields.number("taker_fee", 0.0)
    for key, value in (("maker_fee", maker_fee), ("taker_fee", taker_fee)):
        if not -0.01 <= value < 0.05:
            fields.fail(key, f"must be a fraction of notional in [-0.01, 0.05) (0.0005 = 5 bp), got {value:g}")
    lot_size = fields.positive("lot_size", 1.0)
    if not MIN_LOT_SIZE <= lot_size <= MAX_LOT_SIZE:
        fields.fail("lot_size", f"must be in [{MIN_LOT_SIZE:g}, {MAX_LOT_SIZE:g}] contracts, got {lot_size:g}")
    min_order = fields.non_negative("min_order", lot_size)
    if min_order > MAX_MIN_ORDER:
        fields.fail("min_order", f"must be at most {MAX_MIN_ORDER:g} contracts, got {min_order:g}")
    fee = taker_fee if execution == "taker" else maker_fee
    half_spread = fields.non_negative("half_spread", 0.0)
    if band_method in COST_BANDS and fee + half_spread < 0.0:
        fee_key = f"{execution}_fee"
        fields.fail(fee_key, f"{fee_key} {fee:g} + half_spread {half_spread:g} is a negative one-way cost; "
                    f"the {band_method} band needs fee + half_spread >= 0 (a rebate no larger than the "
                    "half-spread)")
    return HedgeInstrument(
        instrument=instrument,
        fee=fee,
        half_spread=half_spread,
        fixed_cost_usd=fields.non_negative("fixed_cost_usd", 0.0),
        funding_rate_8h=fields.optional_number("funding_rate_8h"),
        lot_size=lot_size,
        min_order=min_order,
        path=path,
        execution=execution,
        left_out=frozenset(key for key in VENUE_DEFAULT_KEYS if not fields.has(key)),
    )


def _underlying(name: str, data: Any, path: str) -> UnderlyingPolicy:
    fields = Fields(data, path, DOCUMENT, allowed=UNDERLYING_KEYS)
    band = _band(Fields(fields.mapping("band", required=True), fields.sub("band"), DOCUMENT,
                        allowed=BAND_KEYS))
    items = fields.sequence("instruments", required=True)
    if not items:
        fields.fail("instruments", "must list at least one hedge instrument")
    # The nested band with both widths written needs no cost; computed widths do.
    needs_cost = band.method if not (band.method == "nested" and band.outer_half_width is not None
                                     and band.inner_half_width is not None) else "fixed"
    instruments = tuple(_instrument(item, join_path(fields.sub("instruments"), k), name, needs_cost)
                        for k, item in enumerate(items))
    limits = Fields(fields.mapping("limits"), fields.sub("limits"), DOCUMENT, allowed=UNDERLYING_LIMIT_KEYS)
    return UnderlyingPolicy(
        underlying=name,
        measure=fields.choice("measure", MEASURES, "usd"),
        target_delta=fields.number("target_delta", 0.0),
        band=band,
        rebalance_to=fields.choice("rebalance_to", ("edge", "target"), "edge"),
        min_interval=fields.duration("min_interval", timedelta(0)),
        last_hedge_at=fields.timestamp("last_hedge_at") if fields.has("last_hedge_at") else None,
        funding_horizon=fields.duration("funding_horizon", timedelta(hours=8)),
        instruments=instruments,
        limits=_limits(limits),
        path=path,
        breach_overrides_interval=limits.boolean("breach_overrides_interval", True),
        urgent_abs_delta=limits.positive("urgent_abs_delta") if limits.has("urgent_abs_delta") else None,
        option_hedge=(parse_option_hedge(fields.data["option_hedge"], fields.sub("option_hedge"))
                      if fields.has("option_hedge") else None),
    )


def parse_policy(data: Any) -> Policy:
    """Build a Policy from a decoded document; raise ConfigError naming the field."""
    top = Fields(data, "", DOCUMENT, allowed=POLICY_KEYS)
    underlyings: dict[str, UnderlyingPolicy] = {}
    for key, value in top.mapping("underlyings", required=True).items():
        name = str(key).strip().upper()
        underlyings[name] = _underlying(name, value, join_path("underlyings", str(key)))
    if not underlyings:
        raise ConfigError("underlyings", "must list at least one underlying", document=DOCUMENT)
    book = Fields(top.mapping("book"), "book", DOCUMENT, allowed=BOOK_KEYS)
    limits = _limits(Fields(book.mapping("limits"), "book.limits", DOCUMENT, allowed=LIMIT_KEYS))
    max_age = top.duration("max_market_age", timedelta(0)) if top.has("max_market_age") else None
    if max_age is not None and max_age <= timedelta(0):
        top.fail("max_market_age", "must be a positive duration such as 5m or 1h")
    return Policy(underlyings, limits, max_age)


def _with_terms(hedge: HedgeInstrument, market: Market, band_method: str) -> HedgeInstrument:
    """One hedge instrument with the venue's fees and sizes where the policy left them out."""
    data = market.get(hedge.instrument.underlying)
    spec = data.instruments.get(hedge.instrument.name.upper()) if data is not None else None
    if spec is None or not hedge.left_out:
        return hedge
    where = f"{hedge.path} (market underlyings.{hedge.instrument.underlying}.instruments.{hedge.instrument.name})"
    changes: dict[str, Any] = {}
    venue_fee = spec.taker_fee if hedge.execution == "taker" else spec.maker_fee
    if f"{hedge.execution}_fee" in hedge.left_out and venue_fee is not None:
        changes["fee"] = venue_fee
        if band_method in COST_BANDS and venue_fee + hedge.half_spread < 0.0:
            raise ConfigError(where, f"the venue's {hedge.execution}_fee {venue_fee:g} + half_spread "
                              f"{hedge.half_spread:g} is a negative one-way cost; the {band_method} band needs "
                              f"fee + half_spread >= 0: give {hedge.execution}_fee in the policy", document=DOCUMENT)
    # Deribit's order amounts are whole multiples of min_trade_amount, in the units of
    # hedgecore's contract_size (USD for inverse futures and perpetuals, coin for linear):
    # one lot and the smallest order are min_trade_amount / contract_size contracts.
    lot_size = hedge.lot_size
    if spec.min_trade_amount is not None:
        venue_lot = spec.min_trade_amount / hedge.instrument.contract_size
        if "lot_size" in hedge.left_out:
            if not MIN_LOT_SIZE <= venue_lot <= MAX_LOT_SIZE:
                raise ConfigError(where, f"the venue's min_trade_amount {spec.min_trade_amount:g} is "
                                  f"{venue_lot:g} contracts of {hedge.instrument.contract_size:g}, outside "
                                  f"[{MIN_LOT_SIZE:g}, {MAX_LOT_SIZE:g}]: give lot_size in the policy",
                                  document=DOCUMENT)
            lot_size = changes["lot_size"] = venue_lot
        if "min_order" in hedge.left_out:
            changes["min_order"] = max(venue_lot, lot_size)
    elif "min_order" in hedge.left_out:
        changes["min_order"] = lot_size
    return replace(hedge, **changes) if changes else hedge


def with_venue_terms(policy: Policy, market: Market) -> Policy:
    """The policy with the market's per-instrument terms (underlyings.<COIN>.instruments, as a
    venue snapshot writes them) filling the maker_fee, taker_fee, lot_size and min_order
    each hedge instrument leaves out. A value the policy gives always wins; with neither,
    the policy's defaults stand (fees 0, lot_size 1, min_order one lot)."""
    underlyings: dict[str, UnderlyingPolicy] = {}
    for name, rule in policy.underlyings.items():
        band = rule.band
        needs_cost = band.method if not (band.method == "nested" and band.outer_half_width is not None
                                         and band.inner_half_width is not None) else "fixed"
        instruments = tuple(_with_terms(hedge, market, needs_cost) for hedge in rule.instruments)
        changed = any(new is not old for new, old in zip(instruments, rule.instruments, strict=True))
        underlyings[name] = replace(rule, instruments=instruments) if changed else rule
    return replace(policy, underlyings=underlyings)
