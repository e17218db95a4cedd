"""Benchmark `hedgecore check` on a 5,000-position book from a cold process, and the cost of
`hedgecore --help`.

Bars (the CLI task): check on 5,000 positions finishes in under 1 s from a cold process;
`hedgecore --help` does not import numpy. Also measured in the same run, for context: a bare
`python -c pass` start-up, and the in-process valuation with ONE vectorized greeks call per
model against the same book priced with one greeks call per position (the peer design the
library avoids).

    python bench/bench_check.py [--positions 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BAR_SECONDS = 1.0

MARKET = """\
as_of: 2026-11-21T08:00:00Z
rate: 0.04
underlyings:
  BTC:
    spot: 96500
    futures: {27NOV26: 96610, 25DEC26: 97150, 29JAN27: 97900, 26MAR27: 99100, 25JUN27: 101050}
    perpetuals:
      BTC-PERPETUAL: {price: 96530, funding_rate_8h: 0.0001}
    smiles:
      27NOV26: {70000: 0.70, 85000: 0.58, 95000: 0.49, 105000: 0.52, 130000: 0.62}
      25DEC26: {60000: 0.68, 80000: 0.60, 100000: 0.50, 120000: 0.53, 140000: 0.58}
      29JAN27: {60000: 0.66, 80000: 0.59, 100000: 0.51, 120000: 0.53, 140000: 0.57}
      26MAR27: {60000: 0.64, 80000: 0.58, 100000: 0.52, 120000: 0.53, 140000: 0.55}
      25JUN27: {60000: 0.63, 80000: 0.57, 100000: 0.53, 120000: 0.54, 140000: 0.55}
  ETH:
    spot: 3420
    basis: 0.08
    perpetuals:
      ETH_USDC-PERPETUAL: {price: 3421.5, funding_rate_8h: 0.0001}
    smiles:
      25DEC26: {2000: 0.80, 3000: 0.68, 3500: 0.63, 4000: 0.62, 5000: 0.66}
      26MAR27: {2000: 0.76, 3000: 0.66, 3500: 0.63, 4000: 0.62, 5000: 0.64}
"""

POLICY = """\
underlyings:
  BTC:
    band: {method: whalley_wilmott, risk_aversion: 1.0e-4, min_half_width: 0.5}
    funding_horizon: 24h
    instruments:
      - {name: BTC-PERPETUAL, taker_fee: 0.0005, half_spread: 0.00003, lot_size: 1}
      - {name: BTC-26MAR27, taker_fee: 0.0005, half_spread: 0.0001, lot_size: 1}
    limits: {max_abs_delta: 500}
  ETH:
    band: {method: zakamouline, risk_aversion: 1.0e-3, min_half_width: 5}
    instruments:
      - {name: ETH_USDC-PERPETUAL, taker_fee: 0.0005, half_spread: 0.00005, lot_size: 0.01}
      - {name: spot, taker_fee: 0.001, lot_size: 0.0001}
book:
  limits: {max_abs_delta_usd: 50000000}
"""


def make_book(n_positions: int, seed: int = 20261121) -> str:
    """A realistic mixed book: coin-settled BTC options, USDC-settled ETH options, perps, spot."""
    rng = random.Random(seed)
    btc_expiries = ["27NOV26", "25DEC26", "29JAN27", "26MAR27", "25JUN27"]
    eth_expiries = ["25DEC26", "26MAR27"]
    lines = ["name: generated benchmark book", "positions:"]
    for k in range(n_positions):
        roll = rng.random()
        book = rng.choice(["vol", "gamma", "rv", "client"])
        if roll < 0.6:
            strike = rng.randrange(60000, 140001, 1000)
            name = f"BTC-{rng.choice(btc_expiries)}-{strike}-{rng.choice('CP')}"
            quantity = round(rng.uniform(-25, 25), 1)
        elif roll < 0.95:
            strike = rng.randrange(2000, 5001, 50)
            name = f"ETH_USDC-{rng.choice(eth_expiries)}-{strike}-{rng.choice('CP')}"
            quantity = round(rng.uniform(-200, 200), 1)
        elif roll < 0.98:
            name = rng.choice(["BTC-PERPETUAL", "ETH_USDC-PERPETUAL"])
            quantity = rng.randrange(-50000, 50001, 10)
        else:
            lines.append(f"  - {{id: p{k}, type: spot, underlying: {rng.choice(['BTC', 'ETH'])}, "
                         f"quantity: {round(rng.uniform(0, 10), 3)}, book: treasury}}")
            continue
        lines.append(f"  - {{id: p{k}, instrument: {name}, quantity: {quantity}, book: {book}}}")
    return "\n".join(lines) + "\n"


CPU_SECONDS: list[float] = []   # user + system CPU of each cold run, in order


def cold_run(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, exit code and stderr of one subprocess; its CPU time goes to CPU_SECONDS.

    On a shared machine the wall time includes waiting for a core; the CPU time does not,
    and is what a quiet machine's wall time approaches.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, result.returncode, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("HEDGECORE_DEBUG", None)

    with tempfile.TemporaryDirectory(prefix="hedgecore-bench-") as tmp:
        directory = Path(tmp)
        (directory / "book.yaml").write_text(make_book(options.positions))
        (directory / "market.yaml").write_text(MARKET)
        (directory / "policy.yaml").write_text(POLICY)
        size_kib = (directory / "book.yaml").stat().st_size / 1024
        check = [sys.executable, "-m", "hedgecore", "check", str(directory / "book.yaml"),
                 "--market", str(directory / "market.yaml"), "--policy", str(directory / "policy.yaml"),
                 "--format", "json"]

        print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
        print(f"book: {options.positions} positions ({size_kib:.0f} KiB YAML), 2 underlyings, "
              f"{options.runs} cold runs each\n")

        baseline = [cold_run([sys.executable, "-c", "pass"], env)[0] for _ in range(options.runs)]
        baseline_cpu = CPU_SECONDS[-options.runs:]
        cold_run(check, env)  # warm the OS file cache (not the interpreter)
        timings = []
        for _ in range(options.runs):
            seconds, code, stderr = cold_run(check, env)
            if code not in (0, 1):
                sys.exit(f"check failed (exit {code}): {stderr}")
            timings.append(seconds)
        check_cpu = CPU_SECONDS[-options.runs:]
        helps = [cold_run([sys.executable, "-m", "hedgecore", "--help"], env)[0] for _ in range(options.runs)]
        help_cpu = CPU_SECONDS[-options.runs:]

        best, median = min(timings), statistics.median(timings)
        print(f"{'':<36} {'wall best':>10} {'median':>8} {'CPU best':>10} {'median':>8}")
        for label, runs, cpu in (("python -c pass (start-up)", baseline, baseline_cpu),
                                 ("hedgecore --help", helps, help_cpu),
                                 (f"hedgecore check, {options.positions} positions", timings, check_cpu)):
            print(f"{label:<36} {min(runs):9.3f}s {statistics.median(runs):7.3f}s "
                  f"{min(cpu):9.3f}s {statistics.median(cpu):7.3f}s")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(wall time above the CPU time is time spent waiting for a core)")
        print(f"  bar {BAR_SECONDS:.1f} s: best/bar = {best / BAR_SECONDS:.2f}, "
              f"median/bar = {median / BAR_SECONDS:.2f} -> {'PASS' if median < BAR_SECONDS else 'FAIL'}; "
              f"CPU median/bar = {statistics.median(check_cpu) / BAR_SECONDS:.2f}")

        # --help must not import numpy: ask the interpreter after running the command's --help.
        probe = ("import runpy, sys; sys.argv = ['hedgecore', '--help']\n"
                 "try:\n    runpy.run_module('hedgecore', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                 "sys.stderr.write(str('numpy' in sys.modules))")
        numpy_loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                                      env=env, check=False).stderr.strip().splitlines()[-1]
        package_only = subprocess.run([sys.executable, "-c", "import sys, hedgecore; print('numpy' in sys.modules)"],
                                      capture_output=True, text=True, cwd=REPO, env=env, check=False).stdout.strip()
        print(f"\nnumpy imported by `hedgecore --help`: {numpy_loaded} "
              f"({'PASS' if numpy_loaded == 'False' else 'FAIL'}); "
              f"by a bare `import hedgecore`: {package_only}")
        importtime = subprocess.run([sys.executable, "-X", "importtime", "-m", "hedgecore", "--help"],
                                    capture_output=True, text=True, cwd=REPO, env=env, check=False).stderr
        heaviest = sorted((line for line in importtime.splitlines() if line.startswith("import time:")
                           and "|" in line and line.split("|")[1].strip().isdigit()),
                          key=lambda line: -int(line.split("|")[1]))[:5]
        print("heaviest imports of --help (cumulative us):")
        for line in heaviest:
            print("   ", line.split("|", 1)[1].strip())

        # In-process: one vectorized greeks call per model vs one call per position.
        sys.path.insert(0, str(REPO))
        from cli._yaml import load_yaml
        from hedgecore.market import parse_market
        from hedgecore.portfolio import parse_portfolio
        from hedgecore.pricing import greeks
        from hedgecore.valuation import book_inputs, evaluate

        portfolio = parse_portfolio(load_yaml(directory / "book.yaml")[0])
        market = parse_market(load_yaml(directory / "market.yaml")[0])
        inputs = book_inputs(portfolio, market)
        vectorized = min(_timed(lambda: evaluate(inputs, threads=1)) for _ in range(5))

        def per_position() -> None:
            for k in range(inputs.kind.size):
                if inputs.kind[k] in (0, 1):
                    greeks(inputs.forward[k], inputs.strike[k], inputs.tau[k], inputs.vol[k],
                           is_call=bool(inputs.is_call[k]), model="black76" if inputs.kind[k] == 0 else "inverse",
                           threads=1)

        looped = min(_timed(per_position) for _ in range(2))
        print(f"\nbook Greeks in process ({options.positions} positions, 1 thread): "
              f"vectorized {vectorized * 1e3:.2f} ms, one greeks call per position {looped * 1e3:.1f} ms "
              f"-> {looped / vectorized:.0f}x")


def _timed(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
