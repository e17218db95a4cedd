"""`hedgecore hedge`: per underlying the net delta, the band, the action and the trades."""


import typer

from hedgecore.cli._errors import Sources, guarded
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
from hedgecore.cli._render import render


def hedge(
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
    """Net delta, band, action and the cheapest recommended trade per underlying.

    The run is recorded in the journal (--journal, $HEDGECORE_JOURNAL, else the per-user data
    directory; --no-journal skips it), and min_interval counts from the last recorded fill.
    Exit 5 after the plan when the journal cannot be used."""
    sources = Sources()
    run_journal = RunJournal(journal, enabled=not no_journal, command="hedge",
                             files={"portfolio": portfolio, "market": market, "policy": policy},
                             timeout_seconds=timeout)
    with guarded(debug, sources):
        plan = compute_plan(portfolio, market, policy, sources, as_of=as_of, allow_expired=allow_expired,
                            threads=threads, venue=venue, timeout_seconds=timeout,
                            on_inputs=run_journal.remember_inputs, last_fills=run_journal.before_plan)
        run_journal.record(plan, 0)
        report = build_report(plan, include_status=False)
        if run_journal.failure is not None:
            report.document["journal_error"] = run_journal.failure
        render(report, format, output)
    code = run_journal.finish(0)
    if code:
        raise typer.Exit(code)
