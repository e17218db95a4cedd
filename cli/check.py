"""`hedgecore check`: the hedge computation for cron; the exit code says what to do.

Exit 0 when every underlying is inside its band (or waiting for its minimum interval) and
within limits; 1 when a hedge is due or a limit is breached; 2 on bad input or usage. With
--format json the document carries "status": "ok" | "action" | "error" (an error document
goes to stdout too, so a pipeline always gets JSON). Plain text when stdout is not a
terminal.
"""

import json
import sys
from typing import TYPE_CHECKING

import typer

from hedgecore.cli._errors import EXIT_ACTION, EXIT_OK, Sources, guarded
from hedgecore.cli._options import (
    AllowExpiredOpt,
    AsOfOpt,
    DebugOpt,
    FormatOpt,
    MarketOpt,
    OutputFormat,
    OutputOpt,
    PolicyOpt,
    PortfolioArg,
    ThreadsOpt,
)
from hedgecore.cli._render import Report, render, write_atomically
from hedgecore.cli.hedge import build_report, compute_plan

if TYPE_CHECKING:
    from hedgecore.hedging import HedgePlan


def plain_lines(plan: "HedgePlan") -> list[str]:
    """The check result as plain lines for cron mail and logs."""
    lines = []
    for d in plan.decisions:
        band = f"[{d.band.lower:.6g}, {d.band.upper:.6g}]"
        state = "inside" if d.in_band else "OUTSIDE"
        line = f"{d.underlying}: {d.action.upper()} net delta {d.delta_before:.6g} {state} band {band}"
        if d.trade is not None:
            t = d.trade
            line += (f"; {t.side} {t.quantity:.10g} {t.instrument} (delta {t.delta_change:+.6g}, "
                     f"est cost {t.est_cost_usd:.2f} USD) -> delta {d.delta_after:.6g}")
        elif d.action in ("wait", "hold"):
            line += f"; {d.reason}"
        for breach in d.breaches:
            line += f"; LIMIT {breach.describe()}"
        lines.append(line)
    for breach in plan.book_breaches:
        lines.append(f"book: LIMIT {breach.describe()}")
    lines.append(f"status: {plan.status}")
    return lines


def check(
    portfolio: PortfolioArg,
    market: MarketOpt,
    policy: PolicyOpt,
    format: FormatOpt = OutputFormat.table,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    allow_expired: AllowExpiredOpt = False,
    threads: ThreadsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """For cron: exit 0 all in band and within limits, 1 hedge due or limit breached, 2 bad input."""
    sources = Sources()

    def emit_error(code: int, message: str) -> None:
        if format is OutputFormat.json:
            text = json.dumps({"status": "error", "exit_code": code, "error": message}, indent=2) + "\n"
            if output is None:
                sys.stdout.write(text)
            else:
                try:
                    write_atomically(output, text)
                except OSError:
                    pass

    with guarded(debug, sources, on_error=emit_error):
        plan = compute_plan(portfolio, market, policy, sources, as_of=as_of, allow_expired=allow_expired,
                            threads=threads)
        report = build_report(plan, include_status=True)
        if format is OutputFormat.table and output is None and not sys.stdout.isatty():
            sys.stdout.write("\n".join(plain_lines(plan)) + "\n")
        else:
            if format is OutputFormat.table:
                report = Report(report.document, report.tables, [*report.notes, f"status: {plan.status}"])
            render(report, format, output)
    raise typer.Exit(EXIT_ACTION if plan.status == "action" else EXIT_OK)
