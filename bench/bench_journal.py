"""Benchmark the journal: what recording adds to `check`, `history` over 100,000 runs, and
`explain` between two runs of a 5,000-position book.

Bars (issue 12): recording adds under 20 ms to a check of the shipped books; history over a
journal of 100,000 runs answers in under 0.2 s; explain over two runs of a 5,000-position
book in under 1 s. Everything is measured in one warm process (best of several calls, wall
and CPU), the command-line paths through hedgecore.cli.main.invoke with stdout captured.

    python bench/bench_journal.py [--runs 100000] [--positions 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _timing import best_of  # noqa: E402
from bench_check import MARKET, POLICY, make_book  # noqa: E402

CONFIGS = REPO / "configs"
SHIPPED = [("btc", "btc_book.yaml", "btc_market.yaml", "btc_policy.yaml"),
           ("eth", "eth_book.yaml", "eth_market.yaml", "eth_policy.yaml"),
           ("multi", "multi_book.yaml", "multi_market.yaml", "multi_policy.yaml")]
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def quiet_invoke(args: list[str]) -> int:
    from hedgecore.cli.main import invoke

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return invoke(args)


def bench_recording(directory: Path, repeat: int) -> None:
    """The journal's share of a check: open, read the last fills, record the run, close."""
    from hedgecore.cli._journal import file_documents
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.hedging import plan_hedges
    from hedgecore.journal.record import plan_run
    from hedgecore.journal.store import Journal
    from hedgecore.market import parse_market
    from hedgecore.policy import parse_policy
    from hedgecore.portfolio import parse_portfolio
    from hedgecore.valuation import value_book

    print(f"{'recording a check run':<44} {'wall best':>10} {'CPU best':>10}   bar 20 ms")
    journal_path = directory / "recording.sqlite"
    for label, book, market, policy in SHIPPED:
        paths = [CONFIGS / book, CONFIGS / market, CONFIGS / policy]
        portfolio = parse_portfolio(load_yaml(paths[0])[0])
        market_data = parse_market(load_yaml(paths[1])[0])
        plan = plan_hedges(portfolio, market_data, parse_policy(load_yaml(paths[2])[0]),
                           value_book(portfolio, market_data))

        def record(paths: list[Path] = paths, plan: Any = plan) -> None:
            documents = file_documents(*paths)
            with Journal(journal_path) as journal:
                journal.last_fill_times([d.underlying for d in plan.decisions], plan.as_of)
                journal.record_run(plan_run(plan, command="check", exit_code=0, documents=documents))

        wall, cpu = best_of(record, repeat)
        verdict = "PASS" if wall < 0.020 else "FAIL"
        print(f"  {label + ' (library: open, last fills, record)':<42} {wall * 1e3:8.2f}ms {cpu * 1e3:8.2f}ms   "
              f"{verdict}")
        args = ["check", str(paths[0]), "--market", str(paths[1]), "--policy", str(paths[2]), "--format", "json"]
        if quiet_invoke([*args, "--no-journal"]) not in (0, 1):
            continue      # a check without the journal options
        with_journal = best_of(lambda args=args: quiet_invoke([*args, "--journal", str(journal_path)]), repeat)
        without = best_of(lambda args=args: quiet_invoke([*args, "--no-journal"]), repeat)
        added = with_journal[0] - without[0]
        print(f"  {label + ' (check --journal minus --no-journal)':<42} {added * 1e3:8.2f}ms "
              f"{(with_journal[1] - without[1]) * 1e3:8.2f}ms   {'PASS' if added < 0.020 else 'FAIL'}"
              f"   (check alone {without[0] * 1e3:.1f} ms)")


def build_big_journal(path: Path, runs: int) -> None:
    """`runs` five-minute runs of two underlyings (BTC, ETH) and a fill an hour, written
    through the journal's own schema in bulk (one transaction)."""
    from hedgecore.journal.schema import to_text
    from hedgecore.journal.store import Journal

    Journal(path).close()
    connection = sqlite3.connect(path)
    market = zlib.compress(b"as_of: 2026-01-01T00:00:00Z\n" * 20)
    connection.execute("BEGIN")
    connection.execute("INSERT INTO documents VALUES ('m', 'market', 560, ?)", (market,))
    trade = ('[{"underlying":"BTC","instrument":"BTC-PERPETUAL","side":"sell","quantity":4300,"delta_change":-4.4,'
             '"est_cost_usd":27.3,"notional_usd":43000,"fee_usd":21.5,"spread_usd":1.3,"fixed_cost_usd":0,'
             '"funding_usd":4.5}]')
    run_rows, underlying_rows, fill_rows = [], [], []
    for k in range(runs):
        moment = to_text(T0 + timedelta(minutes=5 * k))
        action = "hedge" if k % 12 == 0 else "none"
        run_rows.append((k + 1, moment, moment, "check", "action" if action == "hedge" else "ok",
                         1 if action == "hedge" else 0, '{"market":{"path":"m.yaml","hash":"m"}}', None, "m", None,
                         "[]", "bench"))
        for name, delta in (("BTC", 0.4 + (k % 7) * 0.3), ("ETH", -2.0 + (k % 5))):
            underlying_rows.append((k + 1, name, "usd", 96500.0, delta, delta, delta - 0.1, 1200.0, 3000.0, -0.5,
                                    0.5, "whalley_wilmott", "Whalley-Wilmott: gamma ...", action, "inside the band",
                                    trade if action == "hedge" and name == "BTC" else "[]", "[]"))
        if k % 12 == 1:
            fill_rows.append((moment, "BTC", "BTC-PERPETUAL", "sell", 4300.0, 96500.0, 21.5, "manual", None, moment))
    connection.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_rows)
    connection.executemany("INSERT INTO run_underlyings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           underlying_rows)
    connection.executemany("INSERT INTO fills (at, underlying, instrument, side, quantity, price, fee_usd, source, "
                           "venue_trade_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fill_rows)
    connection.commit()
    connection.close()


def bench_history(directory: Path, runs: int, repeat: int) -> None:
    path = directory / "big.sqlite"
    start = time.perf_counter()
    build_big_journal(path, runs)
    size_mib = path.stat().st_size / 2**20
    print(f"\nhistory over a journal of {runs:,} runs ({size_mib:.1f} MiB, built in "
          f"{time.perf_counter() - start:.1f} s)")
    last_day = T0 + timedelta(minutes=5 * (runs - 288))
    cases = [
        ("last day (288 runs), JSON", ["--since", last_day.isoformat(), "--format", "json"]),
        ("last day, BTC only, JSON", ["--since", last_day.isoformat(), "--underlying", "BTC", "--format", "json"]),
        ("one week in the middle, CSV", ["--since", (T0 + timedelta(days=100)).isoformat(),
                                         "--until", (T0 + timedelta(days=107)).isoformat(), "--format", "csv"]),
        ("latest 500 runs, table", ["--limit", "500"]),
        (f"everything ({runs:,} runs), JSON", ["--format", "json"]),
    ]
    print(f"{'':<44} {'wall best':>10} {'CPU best':>10}   bar 0.2 s")
    for label, extra in cases:
        wall, cpu = best_of(lambda extra=extra: quiet_invoke(["history", "--journal", str(path), *extra]), repeat)
        print(f"  {label:<42} {wall * 1e3:8.1f}ms {cpu * 1e3:8.1f}ms   {'PASS' if wall < 0.2 else 'over'}")


def bench_explain(directory: Path, positions: int, repeat: int) -> None:
    from hedgecore.cli._journal import file_documents
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.hedging import plan_hedges
    from hedgecore.journal.record import plan_run
    from hedgecore.journal.store import Journal
    from hedgecore.market import parse_market
    from hedgecore.policy import parse_policy
    from hedgecore.portfolio import parse_portfolio
    from hedgecore.valuation import value_book

    book, market, later, policy = (directory / name for name in ("book.yaml", "market.yaml", "later.yaml",
                                                                 "policy.yaml"))
    book.write_text(make_book(positions))
    market.write_text(MARKET)
    later.write_text(MARKET.replace("2026-11-21T08:00:00Z", "2026-11-21T14:00:00Z").replace("96500", "97400")
                     .replace("3420", "3390"))
    policy.write_text(POLICY)
    path = directory / "explain.sqlite"
    portfolio = parse_portfolio(load_yaml(book)[0])
    hedge_policy = parse_policy(load_yaml(policy)[0])
    with Journal(path) as journal:
        for market_file in (market, later):
            market_data = parse_market(load_yaml(market_file)[0])
            plan = plan_hedges(portfolio, market_data, hedge_policy, value_book(portfolio, market_data))
            journal.record_run(plan_run(plan, command="check", exit_code=1,
                                        documents=file_documents(book, market_file, policy)))
    args = ["explain", "--from", "1", "--to", "2", "--journal", str(path), "--format", "json"]
    assert quiet_invoke(args) == 0
    wall, cpu = best_of(lambda: quiet_invoke(args), repeat)
    print(f"\nexplain between two runs of a {positions:,}-position book "
          f"({book.stat().st_size / 1024:.0f} KiB YAML): {wall * 1e3:.0f} ms wall, {cpu * 1e3:.0f} ms CPU "
          f"(bar 1 s: {'PASS' if wall < 1.0 else 'FAIL'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}\n")
    with tempfile.TemporaryDirectory(prefix="hedgecore-bench-journal-") as tmp:
        directory = Path(tmp)
        bench_recording(directory, options.repeat)
        bench_history(directory, options.runs, options.repeat)
        bench_explain(directory, options.positions, options.repeat)


if __name__ == "__main__":
    main()
