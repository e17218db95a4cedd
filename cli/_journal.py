"""What the journal commands share: the --journal option, times, and documents read back.

The journal location: --journal PATH, else $HEDGECORE_JOURNAL, else the platform's per-user
data directory (hedgecore.journal.store.default_journal_path). sqlite3 and the journal
package are imported only when a command runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hedgecore.cli._load import Inputs
    from hedgecore.hedging import HedgePlan
    from hedgecore.journal.store import Document, Journal, RunRecord
    from hedgecore.market import Market
    from hedgecore.policy import Policy
    from hedgecore.portfolio import Portfolio
    from hedgecore.valuation import BookGreeks

JournalOpt = Annotated[Path | None, typer.Option(
    "--journal", help="The journal file (SQLite). Default: $HEDGECORE_JOURNAL, else hedgecore/journal.sqlite in "
    "the per-user data directory (~/.local/share on Linux).", metavar="PATH", show_default=False,
    dir_okay=False)]
NoJournalOpt = Annotated[bool, typer.Option(
    "--no-journal", help="Do not record this run in the journal nor read the last fills from it.")]


def journal_path(option: Path | None) -> Path:
    from hedgecore.journal.store import default_journal_path

    return option if option is not None else default_journal_path()


def open_journal(option: Path | None, *, create: bool = True) -> Journal:
    from hedgecore.journal.store import Journal

    return Journal(journal_path(option), create=create)


def parse_time(value: str | None, option: str) -> datetime | None:
    """An option's time: None, 'now' or ISO-8601 (UTC if no zone); BadParameter otherwise."""
    if value is None:
        return None
    from datetime import timezone

    if value.strip().lower() == "now":
        return datetime.now(timezone.utc)
    from hedgecore.errors import ConfigError
    from hedgecore.reading import parse_timestamp

    try:
        return parse_timestamp(value, option, "cli")
    except ConfigError:
        raise typer.BadParameter(f"must be 'now' or an ISO-8601 time such as 2026-11-21T08:00:00Z, "
                                 f"got '{value}'", param_hint=option) from None


def load_documents(journal: Journal, portfolio_hash: str | None, market_hash: str | None,
                   label: str) -> tuple[Portfolio, Market]:
    """The portfolio and market a run stored, parsed as when they were read from files."""
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.errors import JournalError
    from hedgecore.market import parse_market
    from hedgecore.portfolio import parse_portfolio

    if portfolio_hash is None or market_hash is None:
        raise JournalError(str(journal.path), f"{label} stored no portfolio or market to revalue")
    with tempfile.TemporaryDirectory(prefix="hedgecore-journal-") as folder:
        parsed = []
        for kind, digest in (("portfolio", portfolio_hash), ("market", market_hash)):
            path = Path(folder) / f"{kind}.yaml"
            path.write_bytes(journal.document(digest))
            data, _ = load_yaml(path, f"{label} {kind} {digest[:12]}")
            parsed.append(data)
    return parse_portfolio(parsed[0]), parse_market(parsed[1])


class RunJournal:
    """How `check` and `hedge` use the journal: each underlying's last recorded fill before
    the plan (min_interval counts from it), the run after it.

    A journal failure never stops the command and is never silent: the plan is computed
    without the recorded fills (the policy's last_hedge_at alone) and printed as usual, the
    failure is kept in `error`, and `finish` then prints it as one line on stderr and
    returns exit code 5 (JournalError.EXIT_CODE) instead of 0 or 1, so that cron reports it
    and nothing that trades on exit 1 trades on a plan whose interval could not be checked.
    """

    def __init__(self, option: Path | None, *, enabled: bool, command: str,
                 files: dict[str, Path | None], timeout_seconds: float = 10.0) -> None:
        self.path = journal_path(option) if enabled else None
        self.command = command
        self.files = files
        self.timeout_seconds = timeout_seconds
        self.error: str | None = None
        self.venue_error: str | None = None     # the venue's trade history unavailable (exit 4)
        self.delta_usd: dict[str, float] = {}
        self.run_id: int | None = None
        self._inputs: Inputs | None = None
        self._store: Journal | None = None

    def _open(self) -> Journal:
        from hedgecore.journal.store import Journal

        if self._store is None:
            assert self.path is not None
            self._store = Journal(self.path)
        return self._store

    def remember_inputs(self, inputs: Inputs) -> None:
        """What the command loaded (cli._load.Inputs): the venue's documents, if any, are
        recorded from it."""
        self._inputs = inputs

    def before_plan(self, book: BookGreeks, policy: Policy, valuation_time: datetime) -> dict[str, datetime]:
        """Keep the book's USD-measured net delta per underlying for the record, import the
        venue's fills of the policy's hedge instruments when the positions came from the
        venue, and return the latest recorded fill per underlying of the policy. A fill later
        than the valuation time (a market file older than the last hedge) counts as just now,
        with a warning: waiting is the safe reading of a fill the market does not show yet."""
        from hedgecore.cli._load import report_warnings
        from hedgecore.errors import JournalError

        if self.path is None:
            return {}
        self.delta_usd = {name: figures["delta_bs"] for name, figures in book.totals_by_underlying().items()}
        try:
            self._import_venue_fills(policy)
            found = self._open().last_fill_times(list(policy.underlyings))
        except JournalError as error:
            self.error = (f"{error}; min_interval was measured without the recorded fills (the policy's "
                          "last_hedge_at only)")
            self.close()
            return {}
        for name, moment in list(found.items()):
            if moment > valuation_time:
                report_warnings([f"{name}: the last recorded fill at {moment:%Y-%m-%d %H:%M:%S} UTC is later than "
                                 f"the valuation time {valuation_time:%Y-%m-%d %H:%M:%S} UTC; counted as just now"])
                found[name] = valuation_time
        return found

    def _import_venue_fills(self, policy: Policy) -> None:
        """Positions from Deribit: record the account's trades of the hedge instruments since
        the last fill read from it (a day back the first time); each trade is stored once."""
        from datetime import timedelta, timezone

        from hedgecore.errors import VenueError

        inputs = self._inputs
        if inputs is None or inputs.venue != "deribit" or "portfolio" not in inputs.live:
            return
        from hedgecore.journal.venue_fills import deribit_fills

        names = [hedge.instrument.name for rule in policy.underlyings.values() for hedge in rule.instruments]
        store = self._open()
        now = datetime.now(timezone.utc)
        since = store.latest_fill_of("deribit") or now - timedelta(days=1)
        try:
            fills = deribit_fills(names, since, now, self.timeout_seconds, session=inputs.session)
        except VenueError as error:
            self.venue_error = (f"{error}; fills not read from the venue: min_interval was measured from the "
                                "fills already recorded")
            return
        for fill in fills:
            store.record_fill(fill)

    def documents(self) -> dict[str, Document]:
        """The run's documents: the bytes each input file was parsed from (not read again: a
        file rewritten meanwhile is recorded as the run used it), or the venue's snapshot as
        YAML."""
        from hedgecore.journal.store import Document

        documents: dict[str, Document] = {}
        inputs = self._inputs
        if inputs is None:
            return documents
        for kind, path in self.files.items():
            if path is not None and kind in inputs.file_bytes:
                documents[kind] = Document(kind, inputs.file_bytes[kind], path=str(path))
            elif kind in inputs.live:
                documents[kind] = Document(kind, inputs.live_yaml(kind).encode("utf-8"), venue=str(inputs.venue))
        return documents

    def record(self, plan: HedgePlan, exit_code: int) -> None:
        """Record the run of `plan` (nothing with --no-journal); a failure is kept in `error`."""
        from hedgecore.journal.record import plan_run

        self._record(lambda: plan_run(plan, command=self.command, exit_code=exit_code, documents=self.documents(),
                                      delta_usd_measure=self.delta_usd))

    def record_outcome(self, status: str, exit_code: int, as_of: datetime) -> None:
        """Record a run that ended without a plan (a stale market: status "stale", exit 4)."""
        from hedgecore.journal.store import RunRecord

        self._record(lambda: RunRecord(as_of=as_of, command=self.command, status=status, exit_code=exit_code,
                                       documents=self.documents()))

    def _record(self, build: Callable[[], RunRecord]) -> None:
        from hedgecore.errors import JournalError

        if self.path is None or (self.error is not None and self._store is None):
            return       # --no-journal, or the journal already failed: reported once by finish
        try:
            self.run_id = self._open().record_run(build())
        except JournalError as error:
            self.error = f"{error}; this run was not recorded"
        except OSError as error:   # an input file gone between reading and recording
            self.error = f"journal {self.path}: {error.strerror or error}; this run was not recorded"
        finally:
            self.close()

    def finish(self, exit_code: int) -> int:
        """The command's exit code: `exit_code`; or, after one line on stderr, 5 when the journal
        failed, 4 when the venue's trade history could not be read."""
        from hedgecore.cli._errors import EXIT_UNAVAILABLE, report_error
        from hedgecore.errors import JournalError

        self.close()
        if self.error is not None:
            report_error(self.error)
            return JournalError.EXIT_CODE
        if self.venue_error is not None:
            report_error(self.venue_error)
            return EXIT_UNAVAILABLE
        return exit_code

    @property
    def failure(self) -> str | None:
        """The journal's (or the venue's trade history's) failure line, if any."""
        return self.error or self.venue_error

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
