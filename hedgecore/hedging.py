"""The hedge decision: per underlying the net delta, the band, the action and the cheapest
trade that brings the book back into its band, plus the risk-limit breaches.

How a decision is made, per underlying:
1. net delta: the sum of the positions' USD deltas dV_usd/dS (measure "usd"; coin equity,
   option premiums in coin and spot holdings count) or of their coin-measured deltas
   (measure "coin", Deribit's DeltaTotal convention: hedge to 0): dV_usd/dS less the value
   the position holds in coin (V_usd/S for coin-settled options and coin held; USD-settled
   options and futures have the same delta in both measures);
2. the band around the target (REFERENCE section 2; formulas in hedgecore.bands) from the
   book's net gamma in the same measure, the cheapest allowed instrument's one-way cost, and for Zakamouline
   the |gamma|-weighted vol and time to expiry of the book's options;
3. outside the band, and not within `min_interval` of the last hedge: trade back to the edge
   (or the target; for the nested band, to the inner band) with the allowed instrument whose
   estimated cost (fees + half-spread + fixed cost + expected funding over the horizon) is
   lowest, in its own contracts rounded to the lot size, skipped below the minimum order.
   Within min_interval the book trades anyway when it is urgent: a breach of the
   underlying's max_abs_delta or max_abs_delta_usd (unless `breach_overrides_interval:
   false`), or |net delta - target| above `urgent_abs_delta`.

A `last_hedge_at` later than the valuation time is refused, except up to CLOCK_SKEW ahead
(taken as "just now"). A dated future the policy allows that has expired at the valuation
time is skipped with a warning (HedgePlan.warnings) while other instruments remain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hedgecore.errors import ConfigError, NumericalError
from hedgecore.market import Market, UnderlyingMarket, year_fraction
from hedgecore.option_hedge import OptionHedge, hedge_underlying
from hedgecore.policy import HedgeInstrument, Limits, Policy, UnderlyingPolicy
from hedgecore.portfolio import Portfolio
from hedgecore.valuation import INVERSE_OPTION, LINEAR_OPTION, BookGreeks

HOURS_PER_FUNDING_PERIOD = 8.0
_EDGE_TOLERANCE = 1e-12
# A last_hedge_at at most this far after the valuation time is clock skew between the machine
# that hedged and the one that checks: it counts as "just now". Later is refused.
CLOCK_SKEW = timedelta(seconds=60)


def format_elapsed(interval: timedelta) -> str:
    """A non-negative interval as people read it: "45s", "12m 30s", "3h 05m", "2d 4h"."""
    seconds = max(int(interval.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"


@dataclass(frozen=True, slots=True)
class Band:
    """Where the net delta may sit (units of the underlying) and where a trade returns to."""

    method: str
    lower: float
    upper: float
    center: float
    inner_lower: float
    inner_upper: float
    detail: str

    def contains(self, delta: float) -> bool:
        slack = _EDGE_TOLERANCE * max(1.0, abs(delta))
        return self.lower - slack <= delta <= self.upper + slack

    def destination(self, delta: float) -> float:
        """The nearest point of the inner band on the side the delta left from."""
        return self.inner_upper if delta > self.upper else self.inner_lower


@dataclass(frozen=True, slots=True)
class Trade:
    """A recommended trade. quantity is in the instrument's contracts (> 0), side buy/sell;
    delta_change in units of the underlying; costs in USD (funding signed: negative when
    the position is paid funding)."""

    underlying: str
    instrument: str
    side: str
    quantity: float
    delta_change: float
    notional_usd: float
    fee_usd: float
    spread_usd: float
    fixed_cost_usd: float
    funding_usd: float

    @property
    def est_cost_usd(self) -> float:
        return self.fee_usd + self.spread_usd + self.fixed_cost_usd + self.funding_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "underlying": self.underlying,
            "instrument": self.instrument,
            "side": self.side,
            "quantity": self.quantity,
            "delta_change": self.delta_change,
            "est_cost_usd": self.est_cost_usd,
            "notional_usd": self.notional_usd,
            "fee_usd": self.fee_usd,
            "spread_usd": self.spread_usd,
            "fixed_cost_usd": self.fixed_cost_usd,
            "funding_usd": self.funding_usd,
        }


@dataclass(frozen=True, slots=True)
class Breach:
    scope: str
    limit: str
    value: float
    limit_value: float

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "limit": self.limit, "value": self.value, "limit_value": self.limit_value}

    def describe(self) -> str:
        return f"|{self.limit.removeprefix('max_abs_')}| {abs(self.value):,.4g} > {self.limit_value:,.4g}"


@dataclass(frozen=True)
class Decision:
    """What to do about one underlying. action: "none" (inside the band), "hedge" (trade
    due), "wait" (outside the band but within min_interval of the last hedge) or "hold"
    (outside the band but every trade rounds below the minimum order).

    With an option hedge (the policy's option_hedge section), delta_before is the book's
    delta before any trade, while the band, in_band, the action and the trade are decided
    on the delta after the option trades (delta_after_options); delta_after follows both.
    """

    underlying: str
    spot: float
    measure: str
    target: float
    delta_before: float
    delta_total: float          # Deribit's DeltaTotal convention (the coin measure), either way
    gamma_usd_1pct: float
    vega_usd: float
    band: Band
    in_band: bool
    action: str
    reason: str
    trade: Trade | None
    delta_after: float
    breaches: list[Breach] = field(default_factory=list)
    alternatives: list[Trade] = field(default_factory=list)
    option_hedge: OptionHedge | None = None

    @property
    def delta_after_options(self) -> float:
        if self.option_hedge is None:
            return self.delta_before
        return self.delta_before + sum(t.delta_change for t in self.option_hedge.trades)

    def option_dict(self) -> dict[str, Any]:
        """The option hedge's keys of the JSON document (empty without an option_hedge)."""
        hedge = self.option_hedge
        if hedge is None:
            return {}
        return {
            "option_trades": [t.as_dict() for t in hedge.trades],
            "greeks_before": {"delta": self.delta_before, "gamma_usd_1pct": hedge.before.gamma_usd_1pct,
                              "vega_usd": hedge.before.vega_usd},
            # After the option trades and the delta trade (perpetuals and futures add no
            # gamma or vega).
            "greeks_after": {"delta": self.delta_after, "gamma_usd_1pct": hedge.after.gamma_usd_1pct,
                             "vega_usd": hedge.after.vega_usd},
            "option_hedge": {
                "status": hedge.status, "reason": hedge.reason(), "binding": list(hedge.binding),
                "est_cost_usd": hedge.cost_usd, "optimality_gap_usd": hedge.optimality_gap_usd,
                "delta_after_options": self.delta_after_options, "candidates": hedge.candidates,
                "skipped": dict(hedge.skipped),
                "bands": [{"name": row.name, "lower": row.band.lower, "upper": row.band.upper,
                           "before": row.before, "after": after.before}
                          for row, after in zip(hedge.bands_before, hedge.bands_after, strict=True)],
            },
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "underlying": self.underlying,
            "spot": self.spot,
            "measure": self.measure,
            "target_delta": self.target,
            "delta_before": self.delta_before,
            "delta_after": self.delta_after,
            "delta_total": self.delta_total,
            "band_lower": self.band.lower,
            "band_upper": self.band.upper,
            "band_method": self.band.method,
            "band_detail": self.band.detail,
            "rebalance_lower": self.band.inner_lower,
            "rebalance_upper": self.band.inner_upper,
            "in_band": self.in_band,
            "action": self.action,
            "reason": self.reason,
            "gamma_usd_1pct": self.gamma_usd_1pct,
            "vega_usd": self.vega_usd,
            "breaches": [b.as_dict() for b in self.breaches],
            "alternatives": [t.as_dict() for t in self.alternatives],
            **self.option_dict(),
        }


@dataclass(frozen=True)
class HedgePlan:
    """warnings: one line each for an expired instrument settled in the book or skipped
    among the policy's hedge instruments (the CLI prints them on stderr)."""

    as_of: datetime
    decisions: list[Decision]
    book_breaches: list[Breach]
    warnings: list[str] = field(default_factory=list)

    @property
    def trades(self) -> list[Trade]:
        return [d.trade for d in self.decisions if d.trade is not None and d.action == "hedge"]

    @property
    def status(self) -> str:
        """"action" when a hedge is due, a limit is breached or gamma or vega sits outside an
        option_hedge band, else "ok"."""
        due = any(d.action == "hedge" or (d.option_hedge is not None and not d.option_hedge.inside_before)
                  for d in self.decisions)
        breached = self.book_breaches or any(d.breaches for d in self.decisions)
        return "action" if due or breached else "ok"


def _limit_breaches(scope: str, limits: Limits, book_figures: dict[str, float]) -> list[Breach]:
    breaches = []
    for name in ("max_abs_delta", "max_abs_delta_usd", "max_abs_gamma_usd_1pct", "max_abs_vega_usd"):
        limit = getattr(limits, name)
        value = book_figures.get(name.removeprefix("max_abs_"))
        if limit is not None and value is not None and abs(value) > limit:
            breaches.append(Breach(scope, name, value, limit))
    return breaches


def _option_profile(book: BookGreeks, k: int, measure: str) -> tuple[float, float, float]:
    """|gamma|-weighted vol and tau of an underlying's options, and the sum over them of
    vanna x vol, vanna being d(delta)/dvol in the book's measure (the coin-measured delta of
    a coin-settled option, dV/dS - V/S, has vanna d(delta_bs)/dvol - (dV/dvol)/S)."""
    import numpy as np

    inputs = book.inputs
    mask = (inputs.underlying_index == k) & np.isin(inputs.kind, (LINEAR_OPTION, INVERSE_OPTION))
    mask &= inputs.tau > 0.0
    weights = np.abs(book.gamma[mask])
    vanna = book.vanna_bs[mask]
    if measure == "coin":   # only coin-settled premiums leave the coin-measured delta
        in_coin = inputs.kind[mask] == INVERSE_OPTION
        vanna = vanna - np.where(in_coin, book.vega_usd[mask] * 100.0 / inputs.spot[mask], 0.0)
    vanna_vol = float(np.sum(vanna * inputs.vol[mask]))
    if not mask.any() or weights.sum() <= 0.0:
        return math.nan, math.nan, vanna_vol
    return (float(np.average(inputs.vol[mask], weights=weights)),
            float(np.average(inputs.tau[mask], weights=weights)), vanna_vol)


def compute_band(underlying_policy: UnderlyingPolicy, *, gamma: float, spot: float, rate: float, vol: float,
                 tau: float, vanna_vol: float, cheapest: HedgeInstrument) -> Band:
    """The band of one underlying (units of the underlying) from its policy and the book."""
    spec = underlying_policy.band
    cost = cheapest.proportional_cost
    center = underlying_policy.target_delta
    inner: float | None = None
    has_gamma = gamma != 0.0 and math.isfinite(vol) and math.isfinite(tau)
    if spec.method == "fixed":
        half = float(spec.half_width or 0.0)
        detail = f"fixed +/-{half:g}"
    elif spec.method == "whalley_wilmott":
        from hedgecore.bands import whalley_wilmott_half_width

        assert spec.risk_aversion is not None
        half = float(whalley_wilmott_half_width(gamma, spot, cost, spec.risk_aversion,
                                                rate=rate, tau=tau if has_gamma else 0.0, threads=1))
        detail = (f"Whalley-Wilmott: gamma {gamma:.4g}/USD, cost {cost * 1e4:.3g} bp, "
                  f"risk aversion {spec.risk_aversion:g}/USD")
    elif spec.method == "zakamouline":
        assert spec.risk_aversion is not None
        if has_gamma:
            from hedgecore.bands import zakamouline_band

            band = zakamouline_band(gamma, spot, vol, tau, cost, spec.risk_aversion, rate=rate, threads=1)
            half = float(band.half_width)
            modified = float(band.modified_vol)
            # Hedge to the delta at the modified vol: D(vol_m) - D(vol) ~ sum vanna_i vol_i (m - 1).
            center -= vanna_vol * (modified / vol - 1.0)
            detail = (f"Zakamouline: vol {vol:.3g} -> {modified:.3g}, tau {tau:.3g}y, "
                      f"cost {cost * 1e4:.3g} bp, risk aversion {spec.risk_aversion:g}/USD")
        else:
            half = 0.0
            detail = "Zakamouline: no option gamma, band at the minimum width"
    else:  # nested
        if spec.outer_half_width is not None and spec.inner_half_width is not None:
            half, inner = spec.outer_half_width, spec.inner_half_width
            detail = f"nested fixed: outer +/-{half:g}, inner +/-{inner:g}"
        else:
            from hedgecore.bands import nested_band

            assert spec.risk_aversion is not None
            fixed_cost = spec.fixed_cost_usd if spec.fixed_cost_usd is not None else cheapest.fixed_cost_usd
            band_n = nested_band(gamma, spot, cost, fixed_cost, spec.risk_aversion, threads=1)
            half, inner = float(band_n.outer), float(band_n.inner)
            detail = (f"nested: gamma {gamma:.4g}/USD, cost {cost * 1e4:.3g} bp, fixed {fixed_cost:g} USD, "
                      f"risk aversion {spec.risk_aversion:g}/USD")
    clamped = max(half, spec.min_half_width)
    if spec.max_half_width is not None:
        clamped = min(clamped, spec.max_half_width)
    if clamped != half:
        detail += f"; width {half:.4g} clamped to {clamped:.4g}"
    half = clamped
    if inner is None:
        inner = half if underlying_policy.rebalance_to == "edge" else 0.0
    inner = min(inner, half)
    if not (math.isfinite(half) and math.isfinite(center)):
        raise NumericalError(f"{underlying_policy.underlying}: the {spec.method} band is not finite ({detail})")
    return Band(spec.method, center - half, center + half, center, center - inner, center + inner, detail)


def _delta_per_contract(hedge: HedgeInstrument, spot: float, price: float, tau: float) -> float:
    """Units of the underlying one contract adds (long), in the book's delta measure."""
    inst = hedge.instrument
    if inst.kind == "spot":
        return inst.contract_size
    if inst.is_inverse:
        return inst.contract_size / price          # N USD of an inverse contract is N/P coin
    if inst.kind == "future" and tau > 0.0:
        return inst.contract_size * price / spot   # dF/dS = F/S
    return inst.contract_size


def _whole_lots(change: float, per_lot: float, before: float, band: Band) -> int:
    """Lots (signed) whose delta change best reaches `before + change`, preferring a result
    inside the band: rounding the last lot outward could leave the book just outside its
    band, and the next check would trade again for a fraction of a lot."""
    exact = change / per_lot
    candidates = sorted({math.floor(exact), math.ceil(exact)}, key=lambda lots: abs(lots - exact))
    for lots in candidates:
        if band.contains(before + lots * per_lot):
            return int(lots)
    return int(candidates[0])


def _trade(underlying: str, hedge: HedgeInstrument, change: float, *, before: float, band: Band,
           spot: float, price: float, tau: float, funding_rate_8h: float,
           horizon_hours: float) -> Trade | None:
    """The trade in `hedge` closest to a delta change, or None below the minimum order."""
    per_contract = _delta_per_contract(hedge, spot, price, tau)
    lots = _whole_lots(change, per_contract * hedge.lot_size, before, band)
    quantity = lots * hedge.lot_size
    if quantity == 0.0 or abs(quantity) < hedge.min_order * (1.0 - 1e-12):
        return None
    inst = hedge.instrument
    if inst.is_inverse:
        notional = abs(quantity) * inst.contract_size
    else:
        notional = abs(quantity) * inst.contract_size * price
    delta_change = quantity * per_contract
    funding = delta_change * spot * funding_rate_8h * horizon_hours / HOURS_PER_FUNDING_PERIOD
    return Trade(underlying, inst.name, "buy" if quantity > 0 else "sell", abs(quantity), delta_change,
                 notional, notional * hedge.fee, notional * hedge.half_spread, hedge.fixed_cost_usd, funding)


@dataclass(frozen=True, slots=True)
class _Quote:
    """What a hedge instrument trades at now: its price, years to expiry, funding per 8 h."""

    hedge: HedgeInstrument
    price: float
    tau: float
    funding_rate_8h: float


def _quotes(underlying_policy: UnderlyingPolicy, underlying_market: UnderlyingMarket, as_of: datetime,
            warnings: list[str]) -> list[_Quote]:
    """Quotes of the policy's hedge instruments that can trade at `as_of`; an expired
    future is skipped with a warning, and refused only when nothing else remains."""
    quotes = []
    for hedge in underlying_policy.instruments:
        inst = hedge.instrument
        tau, funding = 0.0, 0.0
        if inst.kind == "perpetual":
            quote = underlying_market.perpetual(inst.name)
            price, funding = quote.price, quote.funding_rate_8h
        elif inst.kind == "future":
            assert inst.expiry is not None
            tau = year_fraction(as_of, inst.expiry)
            if tau <= 0.0:
                warnings.append(f"policy {hedge.path}: hedge instrument {inst.name} expired at "
                                f"{inst.expiry:%Y-%m-%d %H:%M} UTC; skipped")
                continue
            price = underlying_market.forward(inst.expiry, as_of)
        else:
            price = underlying_market.spot
        if hedge.funding_rate_8h is not None:
            funding = hedge.funding_rate_8h
        quotes.append(_Quote(hedge, price, tau, funding))
    if not quotes:
        raise ConfigError(f"{underlying_policy.path}.instruments",
                          "every hedge instrument has expired at the valuation time "
                          f"{as_of:%Y-%m-%d %H:%M} UTC; list a perpetual, spot or a later future",
                          document="policy")
    return quotes


def _elapsed_since_hedge(underlying_policy: UnderlyingPolicy, as_of: datetime,
                         last_fill: datetime | None = None) -> timedelta | None:
    """Time since the last hedge: the later of the policy's last_hedge_at and the last
    recorded fill (0 within CLOCK_SKEW ahead); ConfigError when last_hedge_at is later.
    A recorded fill later than the valuation time counts as just now (the journal has
    already said so): waiting is the safe reading of a fill the market does not show yet."""
    if underlying_policy.last_hedge_at is not None:
        ahead = underlying_policy.last_hedge_at - as_of
        if ahead > CLOCK_SKEW:
            raise ConfigError(f"{underlying_policy.path}.last_hedge_at",
                              f"{underlying_policy.last_hedge_at:%Y-%m-%d %H:%M:%S} UTC is {format_elapsed(ahead)} "
                              f"after the valuation time {as_of:%Y-%m-%d %H:%M:%S} UTC (up to "
                              f"{format_elapsed(CLOCK_SKEW)} ahead is taken as clock skew)", document="policy")
    moments = [moment for moment in (underlying_policy.last_hedge_at, last_fill) if moment is not None]
    if not moments:
        return None
    return max(as_of - max(moments), timedelta(0))


def _urgency(underlying_policy: UnderlyingPolicy, net_delta: float, breaches: list[Breach]) -> str | None:
    """Why the book must trade through min_interval, or None."""
    if underlying_policy.breach_overrides_interval:
        for breach in breaches:
            if breach.limit in ("max_abs_delta", "max_abs_delta_usd"):
                return f"limit breached: {breach.describe()}"
    urgent_abs_delta = underlying_policy.urgent_abs_delta
    if urgent_abs_delta is not None and abs(net_delta - underlying_policy.target_delta) > urgent_abs_delta:
        return (f"|net delta - target| {abs(net_delta - underlying_policy.target_delta):,.4g} > urgent_abs_delta "
                f"{urgent_abs_delta:,.4g}")
    return None


def _act(underlying_policy: UnderlyingPolicy, band: Band, net_delta: float, quotes: list[_Quote], spot: float,
         as_of: datetime, breaches: list[Breach], last_fill: datetime | None) -> tuple[str, str, list[Trade]]:
    """The action outside the band and the candidate trades, cheapest first."""
    elapsed = _elapsed_since_hedge(underlying_policy, as_of, last_fill)
    through = ""
    if elapsed is not None and elapsed < underlying_policy.min_interval:
        urgent = _urgency(underlying_policy, net_delta, breaches)
        ago = "just now" if elapsed == timedelta(0) else f"{format_elapsed(elapsed)} ago"
        if urgent is None:
            return "wait", (f"outside the band, but the last hedge was {ago} "
                            f"(min interval {format_elapsed(underlying_policy.min_interval)})"), []
        through = (f"; trading through the min interval {format_elapsed(underlying_policy.min_interval)} "
                   f"(last hedge {ago}): {urgent}")
    destination = band.destination(net_delta)
    hours = underlying_policy.funding_horizon.total_seconds() / 3600.0
    candidates = [_trade(underlying_policy.underlying, q.hedge, destination - net_delta, before=net_delta, band=band,
                         spot=spot, price=q.price, tau=q.tau, funding_rate_8h=q.funding_rate_8h, horizon_hours=hours)
                  for q in quotes]
    trades = sorted((t for t in candidates if t is not None), key=lambda t: t.est_cost_usd)
    if not trades:
        return "hold", "outside the band, but every trade rounds below the minimum order" + through, []
    return "hedge", f"outside the band: trade to {destination:.6g} with the cheapest instrument" + through, trades


def _decide(name: str, underlying_policy: UnderlyingPolicy, underlying_market: UnderlyingMarket,
            book_figures: dict[str, float], profile: tuple[float, float, float], as_of: datetime, warnings: list[str],
            option_hedge: OptionHedge | None = None, last_fill: datetime | None = None) -> Decision:
    """The decision for one underlying from its summed figures and option profile; with an
    option hedge, the delta trade starts from the figures after the option trades."""
    now = book_figures
    if option_hedge is not None:
        changes = option_hedge.figure_changes()
        book_figures = {key: value + changes.get(key, 0.0) for key, value in book_figures.items()}
    net_delta_now = now["delta_bs"] if underlying_policy.measure == "usd" else now["delta_coin"]
    spot = underlying_market.spot
    delta_total = book_figures["delta_coin"]      # the coin measure (DeltaTotal)
    net_delta = book_figures["delta_bs"] if underlying_policy.measure == "usd" else delta_total
    # The band follows the drift of the measured delta. A position holding c(S) coin has the
    # coin-measured delta c'(S) S, whose derivative is gamma - (that delta)/S (REFERENCE: coin
    # gamma Gamma_BS - NTD/F; an inverse perpetual's N/P drifts at -N/P^2); USD-settled
    # positions keep their gamma.
    band_gamma = book_figures["gamma"]
    if underlying_policy.measure != "usd":
        band_gamma -= book_figures["delta_coin_held"] / spot
    vol, tau, vanna_vol = profile
    quotes = _quotes(underlying_policy, underlying_market, as_of, warnings)
    cheapest = min((q.hedge for q in quotes), key=lambda h: h.proportional_cost)
    band = compute_band(underlying_policy, gamma=band_gamma, spot=spot, rate=underlying_market.rate, vol=vol, tau=tau,
                        vanna_vol=vanna_vol, cheapest=cheapest)
    limit_figures = {"delta": net_delta_now, "delta_usd": net_delta_now * spot, "gamma_usd_1pct": now["gamma_usd_1pct"],
                     "vega_usd": now["vega_usd"]}
    breaches = _limit_breaches(name, underlying_policy.limits, limit_figures)
    in_band = band.contains(net_delta)
    action, reason = "none", "inside the band"
    trades: list[Trade] = []
    if not in_band:
        action, reason, trades = _act(underlying_policy, band, net_delta, quotes, spot, as_of, breaches, last_fill)
    elif underlying_policy.last_hedge_at is not None:
        _elapsed_since_hedge(underlying_policy, as_of)      # refuse a last hedge in the future either way
    trade = trades[0] if action == "hedge" else None
    delta_after = net_delta + (trade.delta_change if trade is not None else 0.0)
    if trade is not None and not all(math.isfinite(x) for x in (trade.quantity, trade.delta_change,
                                                                 trade.est_cost_usd, delta_after)):
        raise NumericalError(f"{name}: the recommended trade is not finite; refusing to print it")
    return Decision(
        underlying=name, spot=spot, measure=underlying_policy.measure, target=underlying_policy.target_delta,
        delta_before=net_delta_now,
        delta_total=now["delta_coin"], gamma_usd_1pct=now["gamma_usd_1pct"], vega_usd=now["vega_usd"],
        band=band, in_band=in_band, action=action, reason=reason, trade=trade, delta_after=delta_after,
        breaches=breaches, alternatives=trades, option_hedge=option_hedge,
    )


def plan_hedges(portfolio: Portfolio, market: Market, policy: Policy, book: BookGreeks, *,
                last_fills: Mapping[str, datetime] | None = None) -> HedgePlan:
    """Decide, per underlying of the portfolio and the policy, whether and how to hedge.

    last_fills: the last recorded hedge fill per underlying (the journal's); min_interval
    counts from the later of it and the policy's last_hedge_at."""
    totals = book.totals_by_underlying()
    for name in totals:
        if name not in policy.underlyings:
            first = next(p for p in portfolio.positions if p.instrument.underlying == name)
            known = ", ".join(policy.underlyings)
            raise ConfigError("underlyings", f"no policy for {name}, which the portfolio holds at "
                              f"{first.path} (the policy covers {known})", document="policy")
    empty = dict.fromkeys(("delta", "delta_bs", "delta_coin", "delta_coin_held", "value_coin", "gamma",
                           "gamma_usd_1pct", "vega_usd"), 0.0)
    warnings = list(book.inputs.warnings)
    decisions: list[Decision] = []
    for name, underlying_policy in policy.underlyings.items():
        underlying_market = market.get(name)
        if underlying_market is None:
            raise ConfigError(underlying_policy.path, f"unknown underlying {name}: the market file has no data for it",
                              document="policy")
        if name in totals:
            profile = _option_profile(book, book.inputs.underlyings.index(name), underlying_policy.measure)
        else:
            profile = (math.nan, math.nan, 0.0)   # the policy covers a coin the book does not hold
        option_hedge = None
        if underlying_policy.option_hedge is not None:   # gamma and vega first, then the delta they leave
            option_hedge = hedge_underlying(portfolio, market, book, name, underlying_policy.option_hedge,
                                            measure=underlying_policy.measure)
        decisions.append(_decide(name, underlying_policy, underlying_market, totals.get(name, empty), profile,
                                 market.as_of, warnings, option_hedge, (last_fills or {}).get(name)))
    if not all(math.isfinite(d.delta_before) and math.isfinite(d.band.lower) for d in decisions):
        raise NumericalError("a net delta or band came out non-finite; refusing to recommend trades")
    # Book limits apply to the sum over underlyings of the absolute per-underlying figures.
    book_figures = {
        "delta_usd": sum(abs(d.delta_before * d.spot) for d in decisions),
        "gamma_usd_1pct": sum(abs(d.gamma_usd_1pct) for d in decisions),
        "vega_usd": sum(abs(d.vega_usd) for d in decisions),
    }
    return HedgePlan(market.as_of, decisions, _limit_breaches("book", policy.book_limits, book_figures), warnings)

