"""Gamma and vega hedging with listed options at minimum cost (README "Option hedging").

Per underlying with an `option_hedge` policy section:
1. candidates: the market file's quoted options on the underlying (`underlyings.<COIN>.quotes`)
   with a two-sided quote, an expiry between min_days and max_days, a relative spread
   (ask - bid) / mid within max_relative_spread and |delta| within max_abs_delta. Their vol
   comes from the market as a position's does (quoted by name, else the smile), and their
   per-contract desk-unit Greeks from the book's own valuation code (hedgecore.valuation),
   in one vectorised call for the whole chain;
2. costs per contract in USD, constant per instrument so that the problem stays linear: the
   half-spread from the mid (ask - mid to buy, mid - bid to sell) plus the fee
   min(rate_of_underlying x underlying, cap_of_price x option price), both in the option's
   own currency (coin for coin-settled, USD for USDC-settled) converted at the index;
3. a mixed-integer programme (scipy.optimize.milp, HiGHS): whole lots bought and sold as
   separate variables (crossing the spread either way costs), each within the displayed size
   and max_contracts, minimising spread + fees subject to the gamma, total vega and
   per-expiry vega bands (vega optionally weighted per expiry by (30/DTE)^p as venue
   portfolio margin shocks it: p = 0.30 under 30 days, 0.13 from 30 days);
4. when no choice of quoted lots meets every band, a penalised programme: slack on each band,
   first the least total slack (each band's miss as a fraction of its size), then the cheapest
   trades that achieve it. The result names every band that still binds; it is never a
   silent partial answer. A book already inside its bands trades nothing.

scipy is imported only when a programme is solved, never at `import hedgecore`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hedgecore.errors import ConfigError, NumericalError
from hedgecore.instruments import Instrument, expiry_code, parse_instrument_name
from hedgecore.market import Market, UnderlyingMarket, year_fraction
from hedgecore.portfolio import Portfolio, Position
from hedgecore.reading import Fields, finite_number, join_path
from hedgecore.units import DAYS_PER_YEAR
from hedgecore.valuation import INVERSE_OPTION, LINEAR_OPTION, BookGreeks, book_inputs, evaluate

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

DOCUMENT = "policy"
OPTION_HEDGE_KEYS = ("gamma_usd_1pct", "vega_usd", "vega_usd_per_expiry", "vega_weighting", "candidates",
                     "lot_size", "max_contracts", "fees")
CANDIDATE_KEYS = ("min_days", "max_days", "max_abs_delta", "max_relative_spread")
FEE_KEYS = ("rate_of_underlying", "cap_of_price")
VEGA_WEIGHTINGS = ("none", "margin")
# The venues' option fee when the policy gives none (REFERENCE section 8): Deribit's BTC/ETH
# coin-settled options 0.0003 coin per contract, USDC options 0.0005 x index (taker), both
# capped at 12.5% of the option's price.
DEFAULT_FEES = {"inverse": (0.0003, 0.125), "linear": (0.0005, 0.125)}
# Portfolio-margin vega weights (30/DTE)^p; DTE floored at one day so that an option expiring
# within the hour does not weigh without bound.
MARGIN_VEGA_DAYS, MARGIN_VEGA_P_SHORT, MARGIN_VEGA_P_LONG, MIN_WEIGHT_DAYS = 30.0, 0.30, 0.13, 1.0
MAX_CONTRACTS = 1e7            # per instrument and side: beyond any listed size
MAX_LOTS = 10_000_000          # integer lots per variable, so that HiGHS stays exact
SOLVER_TIME_LIMIT_SECONDS = 30.0
# Proving the last cent optimal among hundreds of near-substitute options (a call and a put
# of one strike have nearly the same gamma and vega) takes HiGHS seconds; a programme over
# more than EXACT_COLUMNS lot variables stops within MIP_REL_GAP of the proven bound and the
# answer reports what is left (OptionHedge.optimality_gap_usd). Smaller ones are exact.
EXACT_COLUMNS = 16
MIP_REL_GAP = 1e-3
ROUNDING_MAX = 12              # fractional LP lots whose roundings are all tried
FIRST_COLUMNS_PER_BAND = 2     # the incumbent's programme: this many lot variables per band
# Figures of a trade that move the delta recommender's inputs (hedgecore.hedging sums these).
SHIFT_FIGURES = ("delta", "delta_bs", "delta_coin", "delta_coin_held", "value_coin", "gamma",
                 "gamma_usd_1pct", "vega_usd")


# -- policy ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GreekBand:
    """Where a figure must end after the option trades: [lower, upper] in its own units."""

    lower: float
    upper: float

    def contains(self, value: float) -> bool:
        slack = 1e-9 * max(1.0, abs(self.lower), abs(self.upper))
        return self.lower - slack <= value <= self.upper + slack

    @property
    def scale(self) -> float:
        """The size a miss is measured against (the penalised programme compares bands)."""
        return max(abs(self.lower), abs(self.upper), self.upper - self.lower, 1.0)


@dataclass(frozen=True, slots=True)
class OptionHedgePolicy:
    """One underlying's `option_hedge` section. Bands in desk units (gamma USD per 1% move,
    vega USD per vol point); lot_size and max_contracts in contracts; fees None = the
    venue's rule per settlement (DEFAULT_FEES)."""

    path: str
    gamma_usd_1pct: GreekBand | None
    vega_usd: GreekBand | None
    vega_usd_per_expiry: GreekBand | None
    vega_weighting: str = "none"
    min_days: float = 1.0
    max_days: float = 400.0
    max_abs_delta: float = 1.0
    max_relative_spread: float = 0.5
    lot_size: float = 0.1
    max_contracts: float = 1000.0
    fee_rate_of_underlying: float | None = None
    fee_cap_of_price: float | None = None

    def fee_rule(self, settlement: str) -> tuple[float, float]:
        rate, cap = DEFAULT_FEES[settlement]
        return (rate if self.fee_rate_of_underlying is None else self.fee_rate_of_underlying,
                cap if self.fee_cap_of_price is None else self.fee_cap_of_price)


def _band(fields: Fields, key: str) -> GreekBand | None:
    if not fields.has(key):
        return None
    value = fields.data[key]
    where = fields.sub(key)
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        fields.fail(key, "must be a band [lower, upper], e.g. [-20000, 20000]")
    lower = finite_number(value[0], join_path(where, 0), DOCUMENT)
    upper = finite_number(value[1], join_path(where, 1), DOCUMENT)
    if lower > upper:
        fields.fail(key, f"lower {lower:g} is above upper {upper:g}")
    return GreekBand(lower, upper)


def option_fee_terms(fees: Fields) -> tuple[float | None, float | None]:
    """(rate_of_underlying, cap_of_price) of an option fee mapping, each None when left
    out: the fee per contract is min(rate x underlying price, cap x option price)
    (REFERENCE.md sections 5 and 8). A rate above 1% of the underlying or a cap above the whole
    price is a typo and is refused. Read the same way in a policy's `option_hedge.fees`
    and a simulation's `overlay_fees`."""
    rate = fees.optional_non_negative("rate_of_underlying")
    cap = fees.optional_non_negative("cap_of_price")
    if rate is not None and rate > 0.01:
        fees.fail("rate_of_underlying", f"must be a fraction of the underlying per contract at most 0.01 "
                  f"(0.0003 = 3 bp), got {rate:g}")
    if cap is not None and cap > 1.0:
        fees.fail("cap_of_price", f"must be a fraction of the option price at most 1 (0.125 = 12.5%), got {cap:g}")
    return rate, cap


def parse_option_hedge(data: Any, path: str) -> OptionHedgePolicy:
    """The `option_hedge` section of one underlying; ConfigError naming the field."""
    fields = Fields(data, path, DOCUMENT, allowed=OPTION_HEDGE_KEYS)
    bands = {key: _band(fields, key) for key in ("gamma_usd_1pct", "vega_usd", "vega_usd_per_expiry")}
    if all(band is None for band in bands.values()):
        fields.fail_at(path, "needs at least one band: gamma_usd_1pct, vega_usd or vega_usd_per_expiry")
    candidates = Fields(fields.mapping("candidates"), fields.sub("candidates"), DOCUMENT, allowed=CANDIDATE_KEYS)
    min_days = candidates.non_negative("min_days", 1.0)
    max_days = candidates.positive("max_days", 400.0)
    if max_days < min_days:
        candidates.fail("max_days", f"{max_days:g} is below min_days {min_days:g}")
    if max_days > 3650:
        candidates.fail("max_days", f"must be at most 3650 days, got {max_days:g}")
    max_abs_delta = candidates.positive("max_abs_delta", 1.0)
    max_relative_spread = candidates.positive("max_relative_spread", 0.5)
    if max_relative_spread > 2.0:
        candidates.fail("max_relative_spread", "must be at most 2 ((ask - bid) / mid; 0.2 = 20% of the mid), "
                        f"got {max_relative_spread:g}")
    lot_size = fields.positive("lot_size", 0.1)
    max_contracts = fields.positive("max_contracts", 1000.0)
    if max_contracts > MAX_CONTRACTS:
        fields.fail("max_contracts", f"must be at most {MAX_CONTRACTS:g} contracts, got {max_contracts:g}")
    if max_contracts / lot_size > MAX_LOTS:
        fields.fail("lot_size", f"max_contracts / lot_size is {max_contracts / lot_size:.3g} lots, above "
                    f"{MAX_LOTS:,}; raise lot_size or lower max_contracts")
    if lot_size > max_contracts:
        fields.fail("lot_size", f"{lot_size:g} is above max_contracts {max_contracts:g}")
    rate, cap = option_fee_terms(Fields(fields.mapping("fees"), fields.sub("fees"), DOCUMENT, allowed=FEE_KEYS))
    return OptionHedgePolicy(
        path=path, gamma_usd_1pct=bands["gamma_usd_1pct"], vega_usd=bands["vega_usd"],
        vega_usd_per_expiry=bands["vega_usd_per_expiry"],
        vega_weighting=fields.choice("vega_weighting", VEGA_WEIGHTINGS, "none"),
        min_days=min_days, max_days=max_days, max_abs_delta=max_abs_delta,
        max_relative_spread=max_relative_spread, lot_size=lot_size, max_contracts=max_contracts,
        fee_rate_of_underlying=rate, fee_cap_of_price=cap,
    )


def margin_vega_weight(days: Any) -> Any:
    """(30/DTE)^p, p = 0.30 under 30 days and 0.13 from 30 days (REFERENCE section 8)."""
    import numpy as np

    days = np.maximum(np.asarray(days, dtype=float), MIN_WEIGHT_DAYS)
    power = np.where(days < MARGIN_VEGA_DAYS, MARGIN_VEGA_P_SHORT, MARGIN_VEGA_P_LONG)
    return (MARGIN_VEGA_DAYS / days) ** power


# -- the chain ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Chain:
    """The candidate options of one underlying, per contract, costs in USD.

    price figures (bid, ask, mid) are in each option's own currency per unit of the
    underlying; to_usd converts them (the index for coin-settled options, 1 for USDC ones).
    The Greek arrays hold one contract's desk-unit figures (hedgecore.valuation). buy_lots /
    sell_lots: whole lots the displayed size and max_contracts allow on each side.
    skipped: why quoted options were left out, with counts.
    """

    underlying: str
    instruments: list[Instrument]
    expiry: list[datetime]
    days: FloatArray
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    to_usd: FloatArray
    buy_fee_usd: FloatArray
    sell_fee_usd: FloatArray
    half_spread_buy_usd: FloatArray
    half_spread_sell_usd: FloatArray
    buy_lots: NDArray[np.int64]
    sell_lots: NDArray[np.int64]
    per_contract: dict[str, FloatArray]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.instruments)

    @property
    def buy_cost_usd(self) -> FloatArray:
        return self.half_spread_buy_usd + self.buy_fee_usd

    @property
    def sell_cost_usd(self) -> FloatArray:
        return self.half_spread_sell_usd + self.sell_fee_usd


def _skip(skipped: dict[str, int], reason: str) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1


def build_chain(market: Market, underlying: str, rule: OptionHedgePolicy, *, threads: int | None = None) -> Chain:
    """The candidates of `underlying` from the market file's quotes, with their Greeks."""
    import numpy as np

    data = market.get(underlying)
    if data is None:
        raise ConfigError(rule.path, f"unknown underlying {underlying}: the market file has no data for it",
                          document=DOCUMENT)
    skipped: dict[str, int] = {}
    chosen: list[tuple[Instrument, float, float, float | None, float | None]] = []
    for name, quote in data.quotes.items():
        inst = parse_instrument_name(name)
        if inst is None or inst.kind != "option" or inst.underlying != underlying:
            _skip(skipped, "not an option on " + underlying)
            continue
        assert inst.expiry is not None
        days = year_fraction(market.as_of, inst.expiry) * DAYS_PER_YEAR
        if not (days > 0.0 and rule.min_days <= days <= rule.max_days):
            _skip(skipped, f"expiry outside {rule.min_days:g}-{rule.max_days:g} days")
            continue
        if quote.bid is None or quote.ask is None:
            _skip(skipped, "one-sided quote (no mid to measure the spread from)")
            continue
        mid = 0.5 * (quote.bid + quote.ask)
        if not mid > 0.0 or (quote.ask - quote.bid) / mid > rule.max_relative_spread * (1.0 + 1e-12):
            _skip(skipped, f"spread above {rule.max_relative_spread:g} of the mid")
            continue
        if data.vol(inst, inst.name, market.as_of) is None:
            _skip(skipped, "no implied vol (neither quoted nor on a smile)")
            continue
        chosen.append((inst, quote.bid, quote.ask, quote.bid_size, quote.ask_size))
    per_contract = _chain_greeks(market, [c[0] for c in chosen], threads=threads)
    delta_per_unit = per_contract["delta_bs"] / np.array([c[0].contract_size for c in chosen], dtype=float)
    finite = np.ones(len(chosen), dtype=bool)
    for values in per_contract.values():
        finite &= np.isfinite(values)
    keep = finite & (np.abs(delta_per_unit) <= rule.max_abs_delta * (1.0 + 1e-12))
    for k in np.flatnonzero(~keep):
        _skip(skipped, f"|delta| above {rule.max_abs_delta:g}" if finite[k] else "non-finite Greeks")
    chosen = [c for c, ok in zip(chosen, keep, strict=True) if ok]
    per_contract = {name: values[keep] for name, values in per_contract.items()}
    return _priced_chain(data, market.as_of, rule, chosen, per_contract, skipped)


def _chain_greeks(market: Market, instruments: list[Instrument], *, threads: int | None) -> dict[str, FloatArray]:
    """One contract's figures per candidate: the book's valuation code on a book of one
    contract of each (one vectorised Greeks call per pricing model)."""
    import numpy as np

    positions = tuple(Position(inst.name, inst, 1.0, "option-hedge", "default", k)
                      for k, inst in enumerate(instruments))
    if not positions:
        return {name: np.zeros(0) for name in (*SHIFT_FIGURES, "value_usd")}
    inputs = book_inputs(Portfolio("option hedge candidates", positions), market)
    with np.errstate(all="ignore"):
        greeks = evaluate(inputs, threads=threads)
    return figures_per_position(greeks)


def figures_per_position(book: BookGreeks) -> dict[str, FloatArray]:
    """Per-position figures in the names the delta recommender sums (SHIFT_FIGURES)."""
    import numpy as np

    in_coin = np.isin(book.inputs.kind, (INVERSE_OPTION,))
    return {
        "delta": book.delta, "delta_bs": book.delta_bs, "delta_coin": book.delta_coin,
        "delta_coin_held": np.where(in_coin, book.delta_coin, 0.0),
        "value_coin": np.where(in_coin, book.value_usd / book.inputs.spot, 0.0),
        "gamma": book.gamma, "gamma_usd_1pct": book.gamma_usd_1pct, "vega_usd": book.vega_usd,
        "value_usd": book.value_usd,
    }


def _priced_chain(data: UnderlyingMarket, as_of: datetime, rule: OptionHedgePolicy,
                  chosen: list[tuple[Instrument, float, float, float | None, float | None]],
                  per_contract: dict[str, FloatArray], skipped: dict[str, int]) -> Chain:
    import numpy as np

    instruments = [c[0] for c in chosen]
    bid = np.array([c[1] for c in chosen], dtype=float)
    ask = np.array([c[2] for c in chosen], dtype=float)
    size = np.array([inst.contract_size for inst in instruments], dtype=float)
    inverse = np.array([inst.is_inverse for inst in instruments], dtype=bool)
    to_usd = np.where(inverse, data.spot, 1.0)
    rules = [rule.fee_rule(inst.settlement) for inst in instruments]
    rate = np.array([r for r, _ in rules], dtype=float)
    cap = np.array([c for _, c in rules], dtype=float)
    mid = 0.5 * (bid + ask)
    # Fee per contract: rate x underlying (in USD: rate x index x contract size) capped at
    # cap x the option's price, converted at the index for coin-settled options.
    underlying_fee = rate * data.spot * size
    buy_fee = np.minimum(underlying_fee, cap * ask * size * to_usd)
    sell_fee = np.minimum(underlying_fee, cap * bid * size * to_usd)
    lot = rule.lot_size
    cap_lots = math.floor(rule.max_contracts / lot * (1.0 + 1e-12))

    def lots(prices: FloatArray, sizes: list[float | None]) -> NDArray[np.int64]:
        shown = np.array([cap_lots if s is None else math.floor(s / lot * (1.0 + 1e-12)) for s in sizes],
                         dtype=np.int64)
        return np.where(prices > 0.0, np.minimum(shown, cap_lots), 0).astype(np.int64)

    expiries = [inst.expiry for inst in instruments if inst.expiry is not None]
    days = np.array([year_fraction(as_of, expiry) * DAYS_PER_YEAR for expiry in expiries], dtype=np.float64)
    return Chain(
        underlying=data.underlying, instruments=instruments,
        expiry=expiries,
        days=days, bid=bid, ask=ask, mid=mid, to_usd=to_usd, buy_fee_usd=buy_fee, sell_fee_usd=sell_fee,
        half_spread_buy_usd=(ask - mid) * size * to_usd, half_spread_sell_usd=(mid - bid) * size * to_usd,
        buy_lots=lots(ask, [c[4] for c in chosen]), sell_lots=lots(bid, [c[3] for c in chosen]),
        per_contract=per_contract, skipped=skipped,
    )


# -- the book's figures ------------------------------------------------------------------

@dataclass(frozen=True)
class OptionGreeks:
    """An underlying's delta (the policy's measure), gamma (USD per 1%), vega (USD per vol
    point, plain and margin-weighted) and vega per expiry (plain and weighted)."""

    delta: float
    gamma_usd_1pct: float
    vega_usd: float
    vega_usd_weighted: float
    vega_by_expiry: dict[datetime, float]
    vega_by_expiry_weighted: dict[datetime, float]

    def as_dict(self) -> dict[str, float]:
        return {"delta": self.delta, "gamma_usd_1pct": self.gamma_usd_1pct, "vega_usd": self.vega_usd}


def book_option_greeks(portfolio: Portfolio, book: BookGreeks, underlying: str, measure: str,
                       as_of: datetime) -> OptionGreeks:
    """The underlying's figures from a valued book, vega split by option expiry."""
    import numpy as np

    inputs = book.inputs
    if underlying not in inputs.underlyings:
        return OptionGreeks(0.0, 0.0, 0.0, 0.0, {}, {})
    mask = inputs.underlying_index == inputs.underlyings.index(underlying)
    delta_figure = book.delta_bs if measure == "usd" else book.delta_coin
    by_expiry: dict[datetime, float] = {}
    options = np.flatnonzero(mask & np.isin(inputs.kind, (LINEAR_OPTION, INVERSE_OPTION)))
    for k in options:
        expiry = portfolio.positions[k].instrument.expiry
        assert expiry is not None
        by_expiry[expiry] = by_expiry.get(expiry, 0.0) + float(book.vega_usd[k])
    weighted = {e: v * float(margin_vega_weight(year_fraction(as_of, e) * DAYS_PER_YEAR)) for e, v in by_expiry.items()}
    return OptionGreeks(float(delta_figure[mask].sum()), float(book.gamma_usd_1pct[mask].sum()),
                        float(book.vega_usd[mask].sum()), sum(weighted.values()), by_expiry, weighted)


# -- the programme -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OptionTrade:
    """A recommended option trade: quantity in contracts (> 0), price in the option's own
    currency (`currency`: the coin or USDC) at the side taken, costs in USD, Greek changes in
    desk units (delta in the policy's measure). `changes` holds every figure the delta
    recommender sums (SHIFT_FIGURES)."""

    underlying: str
    instrument: str
    side: str
    quantity: float
    price: float
    currency: str
    fee_usd: float
    spread_usd: float
    delta_change: float
    gamma_usd_1pct_change: float
    vega_usd_change: float
    expiry: datetime
    changes: Mapping[str, float]

    @property
    def est_cost_usd(self) -> float:
        return self.fee_usd + self.spread_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument, "side": self.side, "quantity": self.quantity, "price": self.price,
            "currency": self.currency, "fee_usd": self.fee_usd, "spread_usd": self.spread_usd,
            "est_cost_usd": self.est_cost_usd, "delta_change": self.delta_change,
            "gamma_usd_1pct_change": self.gamma_usd_1pct_change, "vega_usd_change": self.vega_usd_change,
        }


@dataclass(frozen=True, slots=True)
class BandRow:
    """One band of the programme: its name, the figure before and the band."""

    name: str
    before: float
    band: GreekBand


@dataclass(frozen=True)
class OptionHedge:
    """The option hedge of one underlying.

    status: "inside" (every band met before trading: no trades), "hedged" (the cheapest
    trades that meet every band) or "closest" (no quoted lots meet every band: the trades
    that come closest, cheapest among those; `binding` names the bands still missed).
    before / after: the figures before and after the option trades (the linear prediction,
    exact for a revaluation at the same market). bands_after: each band's figure after.
    """

    underlying: str
    status: str
    trades: list[OptionTrade]
    before: OptionGreeks
    after: OptionGreeks
    bands_before: list[BandRow]
    bands_after: list[BandRow]
    binding: list[str]
    candidates: int
    skipped: dict[str, int]
    measure: str
    optimality_gap_usd: float = 0.0   # how much cheaper a choice could still be (0: proven optimal)

    @property
    def inside_before(self) -> bool:
        return all(row.band.contains(row.before) for row in self.bands_before)

    @property
    def outside_before(self) -> list[BandRow]:
        return [row for row in self.bands_before if not row.band.contains(row.before)]

    @property
    def cost_usd(self) -> float:
        return sum(t.est_cost_usd for t in self.trades)

    def figure_changes(self) -> dict[str, float]:
        """The option trades' sum of every figure the delta recommender reads."""
        return {name: sum(t.changes[name] for t in self.trades) for name in SHIFT_FIGURES}

    def reason(self) -> str:
        if self.status == "inside":
            return "gamma and vega inside their bands: no option trades"
        outside = ", ".join(_describe_miss(row) for row in self.outside_before)
        if self.status == "hedged":
            return (f"{outside}: {len(self.trades)} option trade(s) at {self.cost_usd:,.2f} USD bring every "
                    "band back")
        return (f"{outside}: the quoted options cannot meet every band; the closest trades leave "
                + "; ".join(self.binding))


def _describe_miss(row: BandRow, value: float | None = None) -> str:
    figure = row.before if value is None else value
    side = f"above {row.band.upper:,.6g}" if figure > row.band.upper else f"below {row.band.lower:,.6g}"
    return f"{row.name} {figure:,.6g} {side}"


def _expiry_name(expiry: datetime) -> str:
    return expiry_code(expiry)


def _rows(rule: OptionHedgePolicy, chain: Chain, before: OptionGreeks
          ) -> tuple[list[BandRow], FloatArray]:
    """The programme's bands and each one's change per lot of every candidate (rows x n)."""
    import numpy as np

    lot = rule.lot_size
    per = chain.per_contract
    weighted = rule.vega_weighting == "margin"
    weight = margin_vega_weight(chain.days) if weighted else np.ones(chain.size)
    rows: list[BandRow] = []
    coefficients: list[FloatArray] = []
    if rule.gamma_usd_1pct is not None:
        rows.append(BandRow("gamma_usd_1pct", before.gamma_usd_1pct, rule.gamma_usd_1pct))
        coefficients.append(per["gamma_usd_1pct"] * lot)
    if rule.vega_usd is not None:
        name = "vega_usd (margin-weighted)" if weighted else "vega_usd"
        rows.append(BandRow(name, before.vega_usd_weighted if weighted else before.vega_usd, rule.vega_usd))
        coefficients.append(per["vega_usd"] * weight * lot)
    if rule.vega_usd_per_expiry is not None:
        book_vega = before.vega_by_expiry_weighted if weighted else before.vega_by_expiry
        expiries = sorted(set(book_vega) | set(chain.expiry))
        expiry_of = np.array([e.timestamp() for e in chain.expiry])
        for expiry in expiries:
            suffix = " (margin-weighted)" if weighted else ""
            rows.append(BandRow(f"vega_usd {_expiry_name(expiry)}{suffix}", book_vega.get(expiry, 0.0),
                                rule.vega_usd_per_expiry))
            in_expiry = expiry_of == expiry.timestamp() if chain.size else np.zeros(0, dtype=bool)
            coefficients.append(np.where(in_expiry, per["vega_usd"] * weight * lot, 0.0))
    matrix = np.vstack(coefficients) if coefficients else np.zeros((0, chain.size))
    return rows, matrix


def _require_scipy(rule: OptionHedgePolicy) -> None:
    """scipy is the `options` extra, not a dependency of every install: say so where the
    policy asks for it instead of failing on an import deep inside the solver."""
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise ConfigError(rule.path, "option hedging needs scipy (its HiGHS solver), which is not installed: "
                          "pip install 'hedgecore[options]'", document="policy")


def _milp(cost: FloatArray, matrix: FloatArray, lower: FloatArray, upper: FloatArray,
          var_upper: FloatArray, integral: NDArray[np.int64]) -> Any:
    from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]

    constraints = [LinearConstraint(matrix, lower, upper)] if matrix.shape[0] else []
    integers = int(integral.sum())
    gap = 1e-9 if integers <= EXACT_COLUMNS else MIP_REL_GAP
    return milp(cost, integrality=integral, bounds=Bounds(0.0, var_upper), constraints=constraints,
                options={"time_limit": SOLVER_TIME_LIMIT_SECONDS, "mip_rel_gap": gap})


def solve_option_hedge(chain: Chain, rule: OptionHedgePolicy, before: OptionGreeks, *,
                       measure: str = "usd") -> OptionHedge:
    """The cheapest whole-lot option trades that bring every band back (module docstring)."""
    import numpy as np

    rows, per_lot = _rows(rule, chain, before)
    current = np.array([row.before for row in rows], dtype=float)
    band_lower = np.array([row.band.lower for row in rows], dtype=float)
    band_upper = np.array([row.band.upper for row in rows], dtype=float)
    n = chain.size
    if all(row.band.contains(row.before) for row in rows):
        return _result(chain, rule, before, rows, per_lot, np.zeros(n), np.zeros(n), "inside", measure)
    _require_scipy(rule)
    # Variables: lots bought then lots sold per candidate; a band row sees bought - sold.
    matrix = np.hstack([per_lot, -per_lot])
    cost = np.concatenate([chain.buy_cost_usd, chain.sell_cost_usd]) * rule.lot_size
    var_upper = np.concatenate([chain.buy_lots, chain.sell_lots]).astype(float)
    lower, upper = band_lower - current, band_upper - current
    status = "hedged"
    cheapest = _cheapest(cost, matrix, lower, upper, var_upper) if n else None
    gap_usd = 0.0
    if cheapest is None:    # no choice of quoted lots meets every band: the penalised programme
        status = "closest"
        lots = _closest(cost, matrix, lower, upper, var_upper, rows)
    else:
        lots, gap_usd = cheapest
        if gap_usd <= 1e-7 * max(1.0, float(cost @ lots)):   # HiGHS's rounding, not a gap
            gap_usd = 0.0
    bought, sold = lots[:n], lots[n:]
    return _result(chain, rule, before, rows, per_lot, bought, sold, status, measure, gap_usd)


def _cheapest(cost: FloatArray, matrix: FloatArray, lower: FloatArray, upper: FloatArray,
              var_upper: FloatArray) -> tuple[FloatArray, float] | None:
    """The cheapest lots meeting every band and the proven bound on how much cheaper any
    other choice could be (USD, 0 when proven optimal); None when no choice meets them.

    The LP relaxation's reduced costs d_j bound every feasible choice from below:
    cost(x) >= LP + sum_j d_j x_j over the variables at 0 in the LP. Any incumbent z (the LP
    solution rounded) then caps each variable at (z - LP) / d_j lots and drops the variables
    whose first lot already costs more, so the integer programme runs on the few options
    that can be in a cheaper choice. Programmes over at most EXACT_COLUMNS variables are
    solved to optimality; larger ones within MIP_REL_GAP, and the answer carries the gap.
    """
    import numpy as np
    from scipy.optimize import linprog

    k = cost.size
    relaxed = linprog(cost, A_ub=np.vstack([matrix, -matrix]), b_ub=np.concatenate([upper, -lower]),
                      bounds=np.column_stack([np.zeros(k), var_upper]), method="highs")
    if relaxed.status == 2:
        return None
    if relaxed.status != 0:
        raise NumericalError(f"the option hedge relaxation failed: {relaxed.message}")
    relaxed_x = np.clip(np.asarray(relaxed.x), 0.0, var_upper)
    floor_cost = float(relaxed.fun)
    reduced = np.asarray(relaxed.lower.marginals) + np.asarray(relaxed.upper.marginals)
    at_zero = relaxed_x <= 1e-9
    penalty = np.where(at_zero, np.maximum(reduced, 0.0), 0.0)
    # An incumbent from the options whose first lot costs least over the LP (and the LP's
    # own), else the LP rounded, else the whole problem.
    order = np.argsort(penalty, kind="stable")
    few = np.zeros(k, dtype=bool)
    few[order[:min(k, FIRST_COLUMNS_PER_BAND * matrix.shape[0])]] = True
    found = _restricted(cost, matrix, lower, upper, var_upper, few | ~at_zero)
    incumbent = found[0] if found is not None else _rounded(relaxed_x, cost, matrix, lower, upper)
    if incumbent is None:
        found = _restricted(cost, matrix, lower, upper, var_upper, np.ones(k, dtype=bool))
        if found is None:
            return None
        incumbent = found[0]
    best = float(cost @ incumbent)
    room = best - floor_cost + 1e-9 * max(1.0, abs(best))
    capped = var_upper.copy()
    priced = at_zero & (penalty > 0.0)
    capped[priced] = np.minimum(var_upper[priced], np.floor(room / penalty[priced] + 1e-9))
    found = _restricted(cost, matrix, lower, upper, capped, capped > 0)
    if found is None:
        return incumbent, max(best - floor_cost, 0.0)
    lots, bound = found
    # Every choice cheaper than the incumbent lies in this programme: its bound holds for all.
    if float(cost @ lots) > best:
        lots = incumbent
    return lots, max(float(cost @ lots) - max(bound, floor_cost), 0.0)


def _rounded(relaxed_x: FloatArray, cost: FloatArray, matrix: FloatArray, lower: FloatArray,
             upper: FloatArray) -> FloatArray | None:
    """The cheapest floor/ceiling rounding of the LP's fractional lots that meets the bands
    (every combination when at most ROUNDING_MAX of them are fractional), or None."""
    import numpy as np

    base = np.floor(relaxed_x + 1e-9)
    fractional = np.flatnonzero(relaxed_x - base > 1e-9)
    if fractional.size > ROUNDING_MAX:
        return None
    ups = ((np.arange(2 ** fractional.size)[:, None] >> np.arange(fractional.size)) & 1).astype(float)
    changes = (base @ matrix.T)[None, :] + ups @ matrix[:, fractional].T
    slack = 1e-9 * np.maximum(1.0, np.maximum(np.abs(lower), np.abs(upper)))
    feasible = np.all((changes >= lower - slack) & (changes <= upper + slack), axis=1)
    if not feasible.any():
        return None
    costs = np.where(feasible, ups @ cost[fractional], np.inf)
    lots: FloatArray = base.copy()
    lots[fractional] += ups[int(np.argmin(costs))]
    return lots


def _restricted(cost: FloatArray, matrix: FloatArray, lower: FloatArray, upper: FloatArray,
                var_upper: FloatArray, allowed: NDArray[np.bool_]) -> tuple[FloatArray, float] | None:
    """The integer programme over the `allowed` variables (the others held at 0): the lots
    and HiGHS's proven lower bound on the cost, or None when it finds no solution."""
    import numpy as np

    columns = np.flatnonzero(allowed)
    if columns.size == 0:
        feasible = bool(np.all((lower <= 0.0) & (upper >= 0.0)))
        return (np.zeros(cost.size), 0.0) if feasible else None
    outcome = _milp(cost[columns], matrix[:, columns], lower, upper, var_upper[columns],
                    np.ones(columns.size, dtype=np.int64))
    if outcome.x is None:
        if outcome.status not in (1, 2):
            raise NumericalError(f"the option hedge programme stopped without a solution ({outcome.message})")
        return None
    lots = np.zeros(cost.size)
    lots[columns] = np.round(outcome.x)
    bound = outcome.mip_dual_bound if outcome.mip_dual_bound is not None else -math.inf
    return lots, float(bound)


def _closest(cost: FloatArray, matrix: FloatArray, lower: FloatArray, upper: FloatArray,
             var_upper: FloatArray, rows: list[BandRow]) -> FloatArray:
    """Lots that miss the bands least (total miss, each band's measured against its scale),
    then cheapest among those: two programmes with slack variables below and above each band."""
    import numpy as np

    m, k = matrix.shape[0], matrix.shape[1]
    scale = np.array([row.band.scale for row in rows], dtype=float)
    # row: change + below - above in [lower, upper]; below, above >= 0 and continuous.
    slack = np.hstack([matrix, np.eye(m), -np.eye(m)])
    var_upper_all = np.concatenate([var_upper, np.full(2 * m, np.inf)])
    integral = np.concatenate([np.ones(k, dtype=np.int64), np.zeros(2 * m, dtype=np.int64)])
    miss_weights = np.concatenate([np.zeros(k), 1.0 / scale, 1.0 / scale])
    first = _milp(miss_weights, slack, lower, upper, var_upper_all, integral)
    if first.x is None:
        raise NumericalError(f"the penalised option hedge programme found no solution ({first.message})")
    least_miss = float(first.fun)
    # Second: the cheapest lots whose total miss is the least (a tolerance for HiGHS's).
    cheapest = np.concatenate([cost, np.zeros(2 * m)])
    limited = np.vstack([slack, miss_weights])
    tolerance = 1e-7 * max(1.0, least_miss)
    second = _milp(cheapest, limited, np.append(lower, -np.inf), np.append(upper, least_miss + tolerance),
                   var_upper_all, integral)
    chosen = second.x if second.x is not None else first.x
    return np.round(np.asarray(chosen)[:k])


def _result(chain: Chain, rule: OptionHedgePolicy, before: OptionGreeks, rows: list[BandRow],
            per_lot: FloatArray, bought: FloatArray, sold: FloatArray, status: str, measure: str,
            gap_usd: float = 0.0) -> OptionHedge:
    import numpy as np

    lot = rule.lot_size
    per = chain.per_contract
    delta_name = "delta_bs" if measure == "usd" else "delta_coin"
    trades: list[OptionTrade] = []
    for k in np.flatnonzero((bought > 0) | (sold > 0)):
        for lots, side in ((bought[k], "buy"), (sold[k], "sell")):
            if lots <= 0:
                continue
            quantity = round(float(lots) * lot, 12)   # 117 x 0.1 is 11.7, not 11.700000000000001
            signed = quantity if side == "buy" else -quantity
            inst = chain.instruments[k]
            price = float(chain.ask[k] if side == "buy" else chain.bid[k])
            fee = float(chain.buy_fee_usd[k] if side == "buy" else chain.sell_fee_usd[k]) * quantity
            spread = float(chain.half_spread_buy_usd[k] if side == "buy" else chain.half_spread_sell_usd[k])
            changes = {name: float(per[name][k]) * signed for name in SHIFT_FIGURES}
            changes["vega_usd_weighted"] = changes["vega_usd"] * float(margin_vega_weight(chain.days[k]))
            trades.append(OptionTrade(
                underlying=chain.underlying, instrument=inst.name, side=side, quantity=quantity, price=price,
                currency=inst.underlying if inst.is_inverse else "USDC", fee_usd=fee, spread_usd=spread * quantity,
                delta_change=changes[delta_name], gamma_usd_1pct_change=changes["gamma_usd_1pct"],
                vega_usd_change=changes["vega_usd"], expiry=chain.expiry[k], changes=changes))
    net_lots = bought - sold
    after_rows = per_lot @ net_lots if rows else np.zeros(0)
    bands_after = [BandRow(row.name, row.before + float(change), row.band) for row, change in zip(rows, after_rows,
                                                                                                  strict=True)]
    after = _after(before, trades)
    binding = [_describe_miss(row) for row in bands_after if not row.band.contains(row.before)]
    if status == "closest" and not binding:
        status = "hedged"   # the penalised programme met every band within the solver's tolerance
    for trade in trades:
        if not all(math.isfinite(x) for x in (trade.quantity, trade.est_cost_usd, trade.delta_change,
                                              trade.gamma_usd_1pct_change, trade.vega_usd_change)):
            raise NumericalError(f"{chain.underlying}: option trade {trade.instrument} is not finite; refusing it")
    return OptionHedge(chain.underlying, status, trades, before, after, rows, bands_after, binding,
                       chain.size, dict(chain.skipped), measure, gap_usd)


def _after(before: OptionGreeks, trades: list[OptionTrade]) -> OptionGreeks:
    """The linear prediction of the figures after the trades (exact: Greeks add)."""
    by_expiry = dict(before.vega_by_expiry)
    weighted = dict(before.vega_by_expiry_weighted)
    for trade in trades:
        by_expiry[trade.expiry] = by_expiry.get(trade.expiry, 0.0) + trade.vega_usd_change
        weighted[trade.expiry] = weighted.get(trade.expiry, 0.0) + trade.changes["vega_usd_weighted"]
    return OptionGreeks(
        delta=before.delta + sum(t.delta_change for t in trades),
        gamma_usd_1pct=before.gamma_usd_1pct + sum(t.gamma_usd_1pct_change for t in trades),
        vega_usd=before.vega_usd + sum(t.vega_usd_change for t in trades),
        vega_usd_weighted=before.vega_usd_weighted + sum(t.changes["vega_usd_weighted"] for t in trades),
        vega_by_expiry=by_expiry, vega_by_expiry_weighted=weighted,
    )


def hedge_underlying(portfolio: Portfolio, market: Market, book: BookGreeks, underlying: str,
                     rule: OptionHedgePolicy, *, measure: str = "usd", threads: int | None = None) -> OptionHedge:
    """Build the chain, measure the book and solve: the one entry point the commands use."""
    chain = build_chain(market, underlying, rule, threads=threads)
    before = book_option_greeks(portfolio, book, underlying, measure, market.as_of)
    return solve_option_hedge(chain, rule, before, measure=measure)
