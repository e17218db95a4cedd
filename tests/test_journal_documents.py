"""The journal records each input file as the run read it: the bytes the YAML reader parsed,
not the file read a second time (a FIFO can be read once; a file rewritten by another job
between the reading and the recording would be recorded wrong)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.journal.store import Journal

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _feed(fifo: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(fifo, "wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_book_read_from_a_pipe_is_recorded_with_its_bytes(tmp_path: Path) -> None:
    book = (CONFIGS / "btc_book.yaml").read_bytes()
    fifo = tmp_path / "book.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, book)
    journal = tmp_path / "j.sqlite"
    result = CliRunner().invoke(app, ["check", str(fifo), "--market", str(CONFIGS / "btc_market.yaml"),
                                      "--policy", str(CONFIGS / "btc_policy.yaml"), "--journal", str(journal),
                                      "-f", "json"])
    writer.join(timeout=10)
    assert result.exit_code == 1, result.output     # the shipped BTC book is out of its band
    with sqlite3.connect(journal) as connection:
        (run_id,) = connection.execute("SELECT id FROM runs").fetchone()
    store = Journal(journal)
    run = store.run(run_id)
    assert run.portfolio_hash is not None
    assert store.document(run.portfolio_hash) == book
    assert store.document(run.market_hash) == (CONFIGS / "btc_market.yaml").read_bytes()
    assert store.document(run.policy_hash) == (CONFIGS / "btc_policy.yaml").read_bytes()
    assert run.inputs["portfolio"]["path"] == str(fifo)
