"""What the journal commands share: the --journal option, times, and documents read back.

The journal location: --journal PATH, else $HEDGECORE_JOURNAL, else the platform's per-user
data directory (hedgecore.journal.store.default_journal_path). sqlite3 and the journal
package are imported only when a command runs.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hedgecore.journal.store import Journal
    from hedgecore.market import Market
    from hedgecore.portfolio import Portfolio

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
    from hedgecore.errors import ConfigError, parse_timestamp

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


def file_documents(portfolio: Path, market: Path, policy: Path) -> dict[str, Any]:
    """The input files' bytes as journal documents, by kind. A FIFO or device (read once
    already) is named with no document; its run keeps the path only."""
    from hedgecore.journal.store import Document

    documents: dict[str, Any] = {}
    for kind, path in (("portfolio", portfolio), ("market", market), ("policy", policy)):
        if path.is_file():
            documents[kind] = Document(kind, path.read_bytes(), path=str(path))
    return documents
