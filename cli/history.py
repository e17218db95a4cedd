"""`hedgecore history`: the recorded runs and fills, and a chart of net delta against its band.

Runs are selected by their valuation time (as_of), fills by their execution time (at), both
in [--since, --until]. JSON: {"runs": [{"id", "at", "as_of", "command", "status",
"exit_code", "underlyings": [{"underlying", "net_delta", "band_lower", "band_upper",
"action", "trades": [...]}]}], "fills": [{"id", "at", "underlying", "instrument", "side",
"quantity", "price", "fee_usd", "source"}]}. The table and CSV put runs (one row per run
and underlying) and fills in one time-ordered list with a `kind` column.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._errors import EXIT_BAD_INPUT, Sources, guarded, report_error
from hedgecore.cli._journal import JournalOpt, open_journal, parse_time
from hedgecore.cli._options import DebugOpt, FormatOpt, OutputFormat, OutputOpt
from hedgecore.cli._render import Column, Report, Table, fmt_number, render

if TYPE_CHECKING:
    from datetime import datetime

SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="From this time (ISO-8601, UTC if no zone; 'now').", metavar="TIME", show_default=False)]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Up to this time, inclusive.", metavar="TIME", show_default=False)]
UnderlyingOpt = Annotated[str | None, typer.Option(
    "--underlying", "-u", help="Only this underlying's runs and fills.", show_default=False)]
PlotOpt = Annotated[Path | None, typer.Option(
    "--plot", help="Also draw net delta against its band over time, fills marked, to this PNG "
    "(needs hedgecore[plot]).", metavar="FILE.png", dir_okay=False, show_default=False)]
LimitOpt = Annotated[int | None, typer.Option(
    "--limit", min=1, help="Only the latest N runs and the latest N fills.", show_default=False)]

CSV_KEYS = ["kind", "id", "time", "at", "command", "status", "exit_code", "underlying", "net_delta", "band_lower",
            "band_upper", "action", "instrument", "side", "quantity", "price", "fee_usd", "est_cost_usd", "source"]


def _rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for run in document["runs"]:
        shared = {"kind": "run", "id": run["id"], "time": run["as_of"], "at": run["at"], "command": run["command"],
                  "status": run["status"], "exit_code": run["exit_code"]}
        if not run["underlyings"]:
            rows.append({**shared, "underlying": "", "action": "", "trade": ""})
        for entry in run["underlyings"]:
            trade = entry["trades"][0] if entry["trades"] else None
            rows.append({
                **shared, "underlying": entry["underlying"], "net_delta": entry["net_delta"],
                "band_lower": entry["band_lower"], "band_upper": entry["band_upper"],
                "band": f"[{fmt_number(entry['band_lower'])}, {fmt_number(entry['band_upper'])}]",
                "action": entry["action"],
                "trade": f"{trade['side']} {trade['quantity']:,.10g} {trade['instrument']}" if trade else "",
                "instrument": trade["instrument"] if trade else "", "side": trade["side"] if trade else "",
                "quantity": trade["quantity"] if trade else None,
                "est_cost_usd": trade["est_cost_usd"] if trade else None,
            })
    for fill in document["fills"]:
        rows.append({
            "kind": "fill", "id": fill["id"], "time": fill["at"], "at": fill["at"], "underlying": fill["underlying"],
            "action": "fill", "trade": f"{fill['side']} {fill['quantity']:,.10g} {fill['instrument']} "
                                       f"@ {fill['price']:,.10g}",
            "instrument": fill["instrument"], "side": fill["side"], "quantity": fill["quantity"],
            "price": fill["price"], "fee_usd": fill["fee_usd"], "source": fill["source"],
        })
    rows.sort(key=lambda row: (row["time"], row["kind"] == "fill"))
    return rows


def build_report(document: dict[str, Any], journal: Path) -> Report:
    columns = [
        Column("time", "time", str, numeric=False),
        Column("id", "id", str),
        Column("status", "status", lambda value: value or "", numeric=False),
        Column("underlying", "underlying", str, numeric=False),
        Column("net delta", "net_delta"),
        Column("band", "band", lambda value: value or ""),
        Column("action", "action", str, numeric=False),
        Column("trade or fill", "trade", str, numeric=False),
        Column("fee $", "fee_usd"),
    ]
    rows = _rows(document)
    styles = {index: "yellow" for index, row in enumerate(rows) if row.get("action") in ("hedge", "wait", "hold")}
    styles.update({index: "cyan" for index, row in enumerate(rows) if row["kind"] == "fill"})
    table = Table(f"Journal {journal}", columns, rows, styles, csv_keys=CSV_KEYS)
    notes = [f"{len(document['runs'])} runs (by valuation time), {len(document['fills'])} fills (by execution "
             "time); net delta in units of the underlying, in the policy's measure."]
    return Report(document, [table], notes)


def plot_history(document: dict[str, Any], path: Path) -> None:
    """Per underlying: net delta and its band over valuation time, fills marked (buys up,
    sells down) at the net delta of the run before them."""
    from datetime import datetime

    from hedgecore.cli.plot import require_matplotlib

    plt = require_matplotlib()
    series: dict[str, list[tuple[datetime, float, float, float]]] = {}
    for run in document["runs"]:
        moment = datetime.fromisoformat(run["as_of"].replace("Z", "+00:00"))
        for entry in run["underlyings"]:
            series.setdefault(entry["underlying"], []).append(
                (moment, entry["net_delta"], entry["band_lower"], entry["band_upper"]))
    for fill in document["fills"]:
        series.setdefault(fill["underlying"], [])
    names = sorted(series) or ["(no runs)"]
    figure, axes = plt.subplots(len(names), 1, figsize=(11, 3.6 * len(names)), squeeze=False,
                                layout="constrained")
    for axis, name in zip(axes[:, 0], names, strict=True):
        points = series.get(name, [])
        if points:
            times = [p[0] for p in points]
            axis.fill_between(times, [p[2] for p in points], [p[3] for p in points], step="post",
                              color="tab:blue", alpha=0.15, label="band")
            axis.step(times, [p[1] for p in points], where="post", color="tab:blue", linewidth=1.3,
                      label="net delta")
        for side, marker, colour in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
            marks = [(datetime.fromisoformat(f["at"].replace("Z", "+00:00")), f) for f in document["fills"]
                     if f["underlying"] == name and f["side"] == side]
            if not marks:
                continue
            ys = [_delta_before(points, moment) for moment, _ in marks]
            axis.scatter([moment for moment, _ in marks], ys, marker=marker, s=70, color=colour, zorder=3,
                         label=f"{side} fills")
        axis.axhline(0.0, color="grey", linewidth=0.6)
        axis.set_title(f"{name}: net delta against its band")
        axis.set_ylabel(f"net delta ({name})")
        axis.legend(fontsize="small", loc="best")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _delta_before(points: list[tuple[datetime, float, float, float]], moment: datetime) -> float:
    before = [p for p in points if p[0] <= moment]
    return float(before[-1][1]) if before else 0.0


def history(
    journal: JournalOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    underlying: UnderlyingOpt = None,
    format: FormatOpt = OutputFormat.table,
    plot: PlotOpt = None,
    limit: LimitOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """The journal's runs and fills; --plot draws net delta against its band over time."""
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start is not None and end is not None and start > end:
        raise typer.BadParameter("--since is after --until", param_hint="--since")
    if plot is not None:
        from hedgecore.cli.plot import PlotUnavailable, require_matplotlib

        try:
            require_matplotlib()
        except PlotUnavailable as missing:
            report_error(str(missing))
            raise typer.Exit(EXIT_BAD_INPUT) from None
    with guarded(debug, Sources()):
        with open_journal(journal, create=False) as store:
            document = store.history(since=start, until=end, limit=limit,
                                     underlying=underlying.strip().upper() if underlying else None)
            path = store.path
        render(build_report(document, path), format, output)
        if plot is not None:
            plot_history(document, plot)
