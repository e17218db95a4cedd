"""`hedgecore check`: the hedge computation for cron; the exit code says what to do.

Exit 0 when every underlying is inside its band (or waiting for its minimum interval) and
within limits; 1 when a hedge is due or a limit is breached; 2 on bad input or usage; 4 when
the market data is unavailable or stale: older than the policy's `max_market_age`, the age
being the valuation time (--as-of, else the wall clock) minus the market file's as_of. With
--format json the document carries "status": "ok" | "action" | "error" | "stale" (an error
or stale document goes to stdout too, so a pipeline always gets JSON). Plain text when
stdout is not a terminal.
"""

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hedgecore.cli._errors import EXIT_ACTION, EXIT_OK, EXIT_UNAVAILABLE, Sources, guarded
from hedgecore.cli._hedge_report import build_report
from hedgecore.cli._journal import JournalOpt, NoJournalOpt, RunJournal
from hedgecore.cli._load import compute_plan
from hedgecore.cli._options import (
    DEFAULT_TIMEOUT_SECONDS,
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
    TimeoutOpt,
    VenueOpt,
)
from hedgecore.cli._render import Report, printable, render, write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable

    from hedgecore.hedging import Decision, HedgePlan
    from hedgecore.market import Market
    from hedgecore.policy import Policy

# Market data unavailable or stale: do not hedge against it (README "Exit codes").
EXIT_MARKET_DATA = EXIT_UNAVAILABLE


class StaleMarket(Exception):
    """The market file is older than the policy's max_market_age (exit 4, status "stale")."""

    def __init__(self, message: str, document: dict[str, object]) -> None:
        super().__init__(message)
        self.message = message
        self.document = document


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def market_age_check(market_path: Path | str, as_of: str | None) -> "Callable[[Market, Policy], None]":
    """The test compute_plan runs before valuation: raise StaleMarket when the market is
    older than max_market_age at the valuation time (--as-of, else the wall clock now)."""

    def refuse_stale(market: "Market", policy: "Policy") -> None:
        limit = policy.max_market_age
        if limit is None:
            return
        from hedgecore.hedging import format_elapsed

        now = market.as_of if as_of is not None else datetime.now(timezone.utc)
        age = market.age(now)
        if age <= limit:
            return
        message = (f"{market_path}: market data is stale: as_of {market.quote_time:%Y-%m-%d %H:%M:%S} UTC is "
                   f"{format_elapsed(age)} old at {now:%Y-%m-%d %H:%M:%S} UTC, older than the policy's "
                   f"max_market_age {format_elapsed(limit)}; not hedging against it")
        raise StaleMarket(message, {
            "status": "stale", "exit_code": EXIT_MARKET_DATA, "error": message, "as_of": _iso(now),
            "market_as_of": _iso(market.quote_time), "market_age_seconds": age.total_seconds(),
            "max_market_age_seconds": limit.total_seconds(),
        })

    return refuse_stale


def plain_lines(plan: "HedgePlan") -> list[str]:
    """The check result as plain lines for cron mail and logs."""
    lines = []
    for d in plan.decisions:
        lines += _option_lines(d)
        band = f"[{d.band.lower:.6g}, {d.band.upper:.6g}]"
        state = "inside" if d.in_band else "OUTSIDE"
        line = f"{d.underlying}: {d.action.upper()} net delta {d.delta_before:.6g} {state} band {band}"
        if d.option_hedge is not None and d.option_hedge.trades:
            line += f" ({d.delta_after_options:.6g} after the option trades)"
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


def _option_lines(decision: "Decision") -> list[str]:
    """The option hedge's lines: gamma and vega against their bands, then each option trade."""
    hedge = decision.option_hedge
    if hedge is None:
        return []
    name = decision.underlying
    if hedge.inside_before:
        return [f"{name}: gamma and vega inside their option_hedge bands"]
    lines = [f"{name}: OPTIONS {hedge.reason()}"]
    for t in hedge.trades:
        lines.append(f"{name}: OPTION {t.side} {t.quantity:.10g} {t.instrument} at {t.price:.6g} {t.currency} "
                     f"(gamma {t.gamma_usd_1pct_change:+,.6g}, vega {t.vega_usd_change:+,.6g}, "
                     f"delta {t.delta_change:+.6g}, est cost {t.est_cost_usd:.2f} USD)")
    return lines


def check(
    portfolio: PortfolioArg = None,
    market: MarketOpt = None,
    *,
    policy: PolicyOpt,
    format: FormatOpt = OutputFormat.table,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    allow_expired: AllowExpiredOpt = False,
    threads: ThreadsOpt = None,
    venue: VenueOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    journal: JournalOpt = None,
    no_journal: NoJournalOpt = False,
    debug: DebugOpt = False,
) -> None:
    """For cron: exit 0 all in band and within limits, 1 hedge due or limit breached, 2 bad input,
    4 market data or positions unavailable from --venue, or stale (older than the policy's max_market_age),
    5 the journal cannot be used (the plan is still printed)."""
    sources = Sources()
    run_journal = RunJournal(journal, enabled=not no_journal, command="check",
                             files={"portfolio": portfolio, "market": market, "policy": policy},
                             timeout_seconds=timeout)

    def emit_document(document: dict[str, object]) -> None:
        if format is OutputFormat.json:
            text = json.dumps(document, indent=2) + "\n"
            if output is None:
                sys.stdout.write(text)
            else:
                try:
                    write_atomically(output, text)
                except OSError:
                    pass

    def emit_error(code: int, message: str) -> None:
        emit_document({"status": "error", "exit_code": code, "error": message})

    stale: StaleMarket | None = None
    with guarded(debug, sources, on_error=emit_error):
        try:
            market_name = market if market is not None else f"{venue} market"
            plan = compute_plan(portfolio, market, policy, sources, as_of=as_of, allow_expired=allow_expired,
                                threads=threads, inspect=market_age_check(market_name, as_of), venue=venue,
                                timeout_seconds=timeout, on_inputs=run_journal.remember_inputs,
                                last_fills=run_journal.before_plan)
        except StaleMarket as error:
            stale = error
    if stale is not None:
        sys.stderr.write(f"hedgecore: stale: {stale.message}\n")
        valued_at = datetime.fromisoformat(str(stale.document["as_of"]).replace("Z", "+00:00"))
        run_journal.record_outcome("stale", EXIT_MARKET_DATA, valued_at)
        if run_journal.failure is not None:
            stale.document["journal_error"] = run_journal.failure
        emit_document(stale.document)
        raise typer.Exit(run_journal.finish(EXIT_MARKET_DATA))
    exit_code = EXIT_ACTION if plan.status == "action" else EXIT_OK
    with guarded(debug, sources, on_error=emit_error):
        run_journal.record(plan, exit_code)
        report = build_report(plan, include_status=True)
        if run_journal.failure is not None:
            report.document["journal_error"] = run_journal.failure
        if format is OutputFormat.table and output is None and not sys.stdout.isatty():
            sys.stdout.write("\n".join(printable(line) for line in plain_lines(plan)) + "\n")
        else:
            if format is OutputFormat.table:
                report = Report(report.document, report.tables, [*report.notes, f"status: {plan.status}"])
            render(report, format, output)
    raise typer.Exit(run_journal.finish(exit_code))
