"""A hedge plan as the rows a journal run records (hedgecore.hedging.HedgePlan -> RunRecord)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from hedgecore.journal.store import Document, RunRecord, UnderlyingRecord

if TYPE_CHECKING:
    from hedgecore.hedging import HedgePlan


def underlying_records(plan: HedgePlan, delta_usd_measure: Mapping[str, float] | None = None
                       ) -> list[UnderlyingRecord]:
    """One record per decision. delta_usd_measure: the summed dV_usd/dS per underlying when
    known (a coin-measured decision carries only the coin measure)."""
    records = []
    for decision in plan.decisions:
        usd = decision.delta_before if decision.measure == "usd" else None
        if delta_usd_measure is not None and decision.underlying in delta_usd_measure:
            usd = delta_usd_measure[decision.underlying]
        trade = decision.trade
        trades = [trade.as_dict()] if trade is not None and decision.action == "hedge" else []
        records.append(UnderlyingRecord(
            underlying=decision.underlying, measure=decision.measure, spot=decision.spot,
            net_delta=decision.delta_before, delta_usd_measure=usd, delta_coin_measure=decision.delta_total,
            gamma_usd_1pct=decision.gamma_usd_1pct, vega_usd=decision.vega_usd,
            band_lower=decision.band.lower, band_upper=decision.band.upper, band_method=decision.band.method,
            band_detail=decision.band.detail, action=decision.action, reason=decision.reason,
            trades=trades, breaches=[breach.as_dict() for breach in decision.breaches]))
    return records


def plan_run(plan: HedgePlan, *, command: str, exit_code: int, documents: Mapping[str, Document],
             delta_usd_measure: Mapping[str, float] | None = None, at: datetime | None = None) -> RunRecord:
    """The run a `check` or `hedge` that produced `plan` records."""
    return RunRecord(as_of=plan.as_of, command=command, status=plan.status, exit_code=exit_code,
                     documents=dict(documents), underlyings=underlying_records(plan, delta_usd_measure),
                     book_breaches=[breach.as_dict() for breach in plan.book_breaches], at=at)
