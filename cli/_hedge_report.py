"""The hedge plan as a report: the table, JSON and CSV that `hedge` and `check` print."""

from typing import TYPE_CHECKING, Any

from hedgecore.cli._render import Column, Report, Table, fmt_number

if TYPE_CHECKING:  # the library (and numpy) load only when a command runs
    from hedgecore.hedging import Decision, HedgePlan, Trade


def _trade_text(trade: "Trade | None") -> str:
    if trade is None:
        return ""
    return f"{trade.side} {trade.quantity:,.10g} {trade.instrument}"


def plan_document(plan: "HedgePlan") -> dict[str, Any]:
    underlyings = []
    for decision in plan.decisions:
        entry = decision.as_dict()
        # The figure a policy's max_abs_delta_usd limits: the net delta in the policy's
        # measure x spot (not exposures' delta_usd, which is premium-adjusted per position).
        entry.setdefault("net_delta_usd", decision.delta_before * decision.spot)
        underlyings.append(entry)
    return {
        "as_of": plan.as_of.isoformat().replace("+00:00", "Z"),
        "status": plan.status,
        "underlyings": underlyings,
        "trades": [t.as_dict() for t in plan.trades],
        "book": {"breaches": [b.as_dict() for b in plan.book_breaches]},
        "warnings": list(plan.warnings),
    }


# CSV columns: the first twelve are the original ones, in their order; the rest were added
# after them (as_of and status on every row so that appended daily files stay self-describing).
CSV_KEYS = ["underlying", "delta_before", "band_lower", "band_upper", "in_band", "action", "instrument", "side",
            "quantity", "est_cost_usd", "delta_after", "breaches", "as_of", "status", "reason", "measure",
            "spot", "net_delta_usd", "target_delta", "delta_change"]


def build_report(plan: "HedgePlan", *, include_status: bool) -> Report:
    document = plan_document(plan)
    if not include_status:
        document.pop("status")
    columns = [
        Column("underlying", "underlying", str, numeric=False),
        Column("net delta", "delta_before"),
        Column("net delta $", "net_delta_usd"),
        Column("band", "band", str),
        Column("action", "action", str, numeric=False),
        Column("trade", "trade", str, numeric=False),
        Column("cost $", "est_cost_usd"),
        Column("delta after", "delta_after"),
        Column("breaches", "breaches", str, numeric=False),
    ]
    shared = {"as_of": document["as_of"], "status": plan.status if include_status else None}
    rows: list[dict[str, Any]] = []
    row_styles: dict[int, str] = {}
    cell_styles: dict[tuple[int, str], str] = {}
    for decision in plan.decisions:
        rows.extend(_option_rows(decision, shared))    # option trades first: the delta trade follows them
        index = len(rows)
        trade = decision.trade
        # After option trades the delta trade starts from the delta they leave.
        start = decision.delta_after_options
        rows.append({
            "underlying": decision.underlying,
            "delta_before": start,
            "net_delta_usd": start * decision.spot,
            "band": f"[{fmt_number(decision.band.lower)}, {fmt_number(decision.band.upper)}]",
            "band_lower": decision.band.lower,
            "band_upper": decision.band.upper,
            "in_band": decision.in_band,
            "action": decision.action,
            "trade": _trade_text(trade),
            "instrument": trade.instrument if trade else "",
            "side": trade.side if trade else "",
            "quantity": trade.quantity if trade else None,
            "est_cost_usd": trade.est_cost_usd if trade else None,
            "delta_after": decision.delta_after,
            "breaches": "; ".join(b.describe() for b in decision.breaches),
            "reason": decision.reason,
            "measure": decision.measure,
            "spot": decision.spot,
            "target_delta": decision.target,
            "delta_change": trade.delta_change if trade else None,
            **shared,
        })
        if not decision.in_band:
            cell_styles[(index, "delta_before")] = "yellow"
            cell_styles[(index, "action")] = "bold yellow" if decision.action == "hedge" else "yellow"
        if decision.breaches:
            row_styles[index] = "red"
    if plan.book_breaches:
        # Book limits (summed over underlyings) get their own row, so that CSV keeps them.
        row_styles[len(rows)] = "red"
        rows.append({"underlying": "book", "action": "", "trade": "", "instrument": "", "side": "",
                     "breaches": "; ".join(b.describe() for b in plan.book_breaches),
                     "reason": "book limit breached", **shared})
    measures = ", ".join(f"{d.underlying} {d.measure}" for d in plan.decisions)
    notes = [f"net delta: units of the underlying in the policy's measure ({measures}); net delta $ = net "
             "delta x spot, the figure max_abs_delta_usd limits (not exposures' PA delta $)."]
    notes += [f"{d.underlying}: band {d.band.detail}; {d.reason}." for d in plan.decisions]
    notes += [f"book limit breached: {b.describe()}" for b in plan.book_breaches]
    notes += [f"{d.underlying} option hedge: {d.option_hedge.reason()} Option rows come first; the delta row "
              "starts from the delta they leave." for d in plan.decisions if d.option_hedge is not None]
    keys = CSV_KEYS if include_status else [key for key in CSV_KEYS if key != "status"]
    table = Table(f"Hedge plan at {document['as_of']}", columns, rows, row_styles, cell_styles, csv_keys=keys)
    greeks = _greeks_table(plan)
    return Report(document, [table] if greeks is None else [table, greeks], notes)


def _option_rows(decision: "Decision", shared: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per option trade of an underlying (action "option"), delta cumulative."""
    if decision.option_hedge is None:
        return []
    rows = []
    delta = decision.delta_before
    for trade in decision.option_hedge.trades:
        rows.append({
            "underlying": decision.underlying, "delta_before": delta, "band": "", "action": "option",
            "trade": f"{trade.side} {trade.quantity:,.10g} {trade.instrument}", "instrument": trade.instrument,
            "side": trade.side, "quantity": trade.quantity, "est_cost_usd": trade.est_cost_usd,
            "delta_after": delta + trade.delta_change, "delta_change": trade.delta_change, "breaches": "",
            "reason": f"option hedge ({decision.option_hedge.status})", "measure": decision.measure,
            "spot": decision.spot, "target_delta": decision.target, **shared,
        })
        delta += trade.delta_change
    return rows


def _greeks_table(plan: "HedgePlan") -> Table | None:
    """Gamma, vega (total and per expiry) and delta before and after the trades, with bands."""
    rows: list[dict[str, Any]] = []
    cell_styles: dict[tuple[int, str], str] = {}
    for decision in plan.decisions:
        hedge = decision.option_hedge
        if hedge is None:
            continue
        rows.append({"underlying": decision.underlying, "figure": f"delta ({decision.measure})",
                     "band": f"[{fmt_number(decision.band.lower)}, {fmt_number(decision.band.upper)}]",
                     "before": decision.delta_before, "after": decision.delta_after})
        for before, after in zip(hedge.bands_before, hedge.bands_after, strict=True):
            if not before.band.contains(before.before):
                cell_styles[(len(rows), "before")] = "yellow"
            if not after.band.contains(after.before):
                cell_styles[(len(rows), "after")] = "red"
            rows.append({"underlying": decision.underlying, "figure": before.name,
                         "band": f"[{fmt_number(before.band.lower)}, {fmt_number(before.band.upper)}]",
                         "before": before.before, "after": after.before})
    if not rows:
        return None
    columns = [Column("underlying", "underlying", str, numeric=False), Column("figure", "figure", str, numeric=False),
               Column("band", "band", str), Column("before", "before"), Column("after trades", "after")]
    return Table("Greeks before and after the option and delta trades", columns, rows, cell_styles=cell_styles)
