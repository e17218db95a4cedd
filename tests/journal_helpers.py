"""Shared by the journal tests: record a run of real input files through the library."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hedgecore.cli._yaml import load_yaml
from hedgecore.hedging import plan_hedges
from hedgecore.journal.record import plan_run
from hedgecore.journal.store import Document, Journal
from hedgecore.market import parse_market
from hedgecore.policy import parse_policy
from hedgecore.portfolio import parse_portfolio
from hedgecore.valuation import value_book


def file_documents(portfolio: Path, market: Path, policy: Path) -> dict[str, Document]:
    """The input files' bytes (as the CLI's reader reads them) as journal documents, by kind."""
    return {kind: Document(kind, load_yaml(path)[1].data, path=str(path))
            for kind, path in (("portfolio", portfolio), ("market", market), ("policy", policy))}


def record_files(journal: Journal, portfolio: Path, market: Path, policy: Path, *, command: str = "check",
                 at: datetime | None = None) -> int:
    """Value the book of three files, plan its hedges and record the run; the run's id."""
    book_portfolio = parse_portfolio(load_yaml(portfolio)[0])
    market_data = parse_market(load_yaml(market)[0])
    hedge_policy = parse_policy(load_yaml(policy)[0])
    book = value_book(book_portfolio, market_data)
    plan = plan_hedges(book_portfolio, market_data, hedge_policy, book)
    exit_code = 1 if plan.status == "action" else 0
    return journal.record_run(plan_run(plan, command=command, exit_code=exit_code,
                                       documents=file_documents(portfolio, market, policy), at=at))
