"""Fill intensity from the journal's recorded fills: a real SQLite journal written through
the journal API (runs with their market documents, fills), fills simulated with known A and
k; the mid of each fill is the mark of the latest run before it."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hedgecore.errors import InputError
from hedgecore.journal.store import Document, Fill, Journal, RunRecord, UnderlyingRecord
from hedgecore.quoting.journal_fills import estimate_from_journal, fills_from_journal

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
A_PER_HOUR, K_PER_USD = 30.0, 0.05
RUN_MINUTES = 10


def market_text(as_of: datetime, mid: float) -> bytes:
    return (f"as_of: {as_of.isoformat().replace('+00:00', 'Z')}\n"
            "underlyings:\n  BTC:\n    spot: 96500\n"
            f"    perpetuals:\n      BTC-PERPETUAL: {{price: {mid:.2f}}}\n"
            "    smiles:\n      25DEC26: {90000: 0.5, 110000: 0.5}\n").encode()


def record_run(journal: Journal, as_of: datetime, mid: float) -> None:
    underlying = UnderlyingRecord("BTC", "coin", 96500.0, 0.0, None, 0.0, 0.0, 0.0, -1.0, 1.0, "fixed", "", "hold", "")
    journal.record_run(RunRecord(as_of, "check", "ok", 0, {"market": Document("market", market_text(as_of, mid),
                                                                             path="market.yaml")},
                                 [underlying], at=as_of))


def simulated_journal(path: Path, hours: float, seed: int = 4) -> dict[str, float]:
    """Runs every RUN_MINUTES with a random-walk perpetual mark; per side, a quote at a fresh
    uniform distance after each fill, filled after an exponential wait of rate A exp(-k d)."""
    rng = np.random.default_rng(seed)
    n_runs = int(hours * 60 / RUN_MINUTES)
    mids = 96530.0 + np.cumsum(rng.normal(0.0, 40.0, n_runs))
    with Journal(path) as journal:
        for i, mid in enumerate(mids):
            record_run(journal, START + timedelta(minutes=RUN_MINUTES * i), float(mid))
        for side in ("buy", "sell"):
            t = 0.0
            while True:
                distance = rng.uniform(0.0, 60.0)
                t += rng.exponential(1.0 / (A_PER_HOUR * math.exp(-K_PER_USD * distance)))
                if t >= n_runs * RUN_MINUTES / 60.0:
                    break
                mid = float(mids[int(t * 60 // RUN_MINUTES)])
                price = mid - distance if side == "buy" else mid + distance
                journal.record_fill(Fill(START + timedelta(hours=t), "BTC", "BTC-PERPETUAL", side, 1000.0, price))
    return {"hours": hours}


def test_recovers_known_a_and_k_within_the_interval(tmp_path):
    path = tmp_path / "journal.sqlite"
    simulated_journal(path, hours=60)
    fills, missing = fills_from_journal(path, underlying="BTC", kind="perpetual")
    assert missing == 0
    assert len(fills) > 500
    fit = estimate_from_journal(path, underlying="BTC", kind="perpetual")
    assert fit.k_interval[0] <= K_PER_USD <= fit.k_interval[1], fit
    assert fit.a_interval[0] <= A_PER_HOUR <= fit.a_interval[1], fit
    assert fit.k_interval[1] - fit.k_interval[0] < 0.5 * K_PER_USD        # informative, not vacuous


def test_the_mid_is_the_mark_of_the_latest_run_before_the_fill(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        record_run(journal, START, 96000.0)
        record_run(journal, START + timedelta(minutes=30), 97000.0)
        journal.record_fill(Fill(START + timedelta(minutes=29), "BTC", "BTC-PERPETUAL", "buy", 10.0, 95990.0))
        journal.record_fill(Fill(START + timedelta(minutes=31), "BTC", "BTC-PERPETUAL", "sell", 10.0, 97020.0))
        journal.record_fill(Fill(START + timedelta(minutes=200), "BTC", "BTC-PERPETUAL", "sell", 10.0, 97020.0))
        journal.record_fill(Fill(START - timedelta(minutes=1), "BTC", "BTC-PERPETUAL", "sell", 10.0, 97020.0))
    fills, missing = fills_from_journal(path, underlying="BTC", kind="perpetual")
    assert [f.mid for f in fills] == [96000.0, 97000.0]
    assert missing == 2                 # one run older than an hour, one fill before any run
    with pytest.raises(InputError, match=r"2 of 4 journal fills have a mid"):
        estimate_from_journal(path, underlying="BTC", kind="perpetual")


def test_quote_command_reads_the_journal(tmp_path):
    from hedgecore.cli.main import app

    journal = tmp_path / "journal.sqlite"
    simulated_journal(journal, hours=30)
    quoting = tmp_path / "quoting.yaml"
    quoting.write_text("underlyings:\n  BTC:\n    instruments: {names: [BTC-PERPETUAL]}\n"
                       "    order_size: 1000\n"
                       "    intensity:\n      perpetual: {from_journal: journal.sqlite, max_mid_age_minutes: 20}\n")
    root = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(app, ["quote", str(root / "configs/btc_book.yaml"), "-m",
                                      str(root / "configs/btc_market.yaml"), "-q", str(quoting), "-f", "json"])
    assert result.exit_code == 0, result.output
    intensity = json.loads(result.stdout)["intensity"]["BTC"]["perpetual"]
    assert intensity["source"] == f"journal {journal}"
    low, high = intensity["k_interval"]
    assert low <= K_PER_USD <= high
    # a journal with no runs near the fills is refused with one line, exit 2
    empty = tmp_path / "other.sqlite"
    with Journal(empty) as store:
        store.record_fill(Fill(START, "BTC", "BTC-PERPETUAL", "buy", 10.0, 95990.0))
    quoting.write_text(quoting.read_text().replace("journal.sqlite", "other.sqlite"))
    result = CliRunner().invoke(app, ["quote", str(root / "configs/btc_book.yaml"), "-m",
                                      str(root / "configs/btc_market.yaml"), "-q", str(quoting)])
    assert result.exit_code == 2, result.output
    assert "0 of 1 journal fills have a mid" in result.output


def test_from_journal_true_is_the_default_journal(tmp_path, monkeypatch):
    from hedgecore.quoting.config import Intensity, parse_quoting

    monkeypatch.setenv("HEDGECORE_JOURNAL", str(tmp_path / "default.sqlite"))
    seen = []

    def estimate_journal(path, kind, underlying, max_age):
        seen.append((path, kind, underlying, max_age))
        return Intensity(1.0, 1.0, f"journal {path}")

    document = {"underlyings": {"BTC": {"instruments": {"names": ["BTC-PERPETUAL"]},
                                        "intensity": {"perpetual": {"from_journal": True}}}}}
    parse_quoting(document, estimate_journal=estimate_journal)
    assert seen == [(tmp_path / "default.sqlite", "perpetual", "BTC", 3600.0)]
    document["underlyings"]["BTC"]["intensity"]["perpetual"]["A"] = 3
    with pytest.raises(ValueError, match="one of them"):
        parse_quoting(document, estimate_journal=estimate_journal)
