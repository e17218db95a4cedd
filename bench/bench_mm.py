"""Benchmark of the market-making simulator and of `quote`, measured in one run.

Bars (issue 14):
- the compiled simulator (hedgecore._mm) >= 50 million path-steps per second on two
  cores for one instrument, and >= 10x a vectorised numpy implementation of the same
  simulation timed in the same run on the same paths x steps. Two numpy versions are timed:
  tests/mm_reference.simulate_vectorised_per_step (the textbook one: a loop over steps, a
  uniform per path per side per step) and tests/mm_reference.simulate_vectorised (the
  kernel's own event-driven algorithm, waiting times to the next fill, vectorised over
  paths); the ratio is printed against each;
- `quote` for 2,000 instruments under 0.1 s beyond start-up (parse of the quoting document,
  valuation of the book and of a unit of every instrument, the quotes and the JSON).

The machine may be shared: timings are best-of-N, and the CPU time of a one-thread run is
the figure to trust on a busy machine.

    python bench/bench_mm.py [--paths 50000] [--steps 3600] [--hours 1] [--repeat 3]

The default problem requotes every second for an hour (BTC-PERPETUAL, A = 30 fills an hour
at the mid, k = 0.05 per USD, GLFT depths about 20 USD: a fill every ~5 minutes a side).
The kernel's work is per fill, not per step (a quiet stretch costs nothing), so its rate in
path-steps per second grows with the steps per fill; with coarse steps (--hours 24 --steps
1000) a quarter of the steps fill and the per-fill work dominates every implementation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _timing import best_of  # noqa: E402

from hedgecore._mm import simulate_blocks  # noqa: E402
from hedgecore.quoting.mmsim import (  # noqa: E402
    N_OUT,
    PATHS_PER_BLOCK,
    MarketMakingSpec,
    MMPolicy,
    kernel_arguments,
    policy_tables,
)
from tests.mm_reference import simulate_vectorised, simulate_vectorised_per_step  # noqa: E402


def kernel_problem(steps: int, hours: float) -> dict[str, object]:
    spec = MarketMakingSpec(
        mid_model="gbm", spot=96500.0, vol=0.5, drift=0.0, horizon_years=hours / 8760.0, steps=steps, paths=1,
        seed=1, order_size=0.1, intensity_a_per_hour=30.0, intensity_k_per_usd=0.05, inventory_limit=10,
        maker_fee_rate=0.0, policies=(MMPolicy("glft", "glft_exact", gamma=0.001),))
    return kernel_arguments(spec, policy_tables(spec, spec.policies[0]), steps)


def run_kernel(problem: dict[str, object], paths: int, threads: int) -> None:
    blocks = -(-paths // PATHS_PER_BLOCK)
    streams = [np.random.SFC64(child) for child in np.random.SeedSequence(1).spawn(blocks)]
    out = np.empty((paths, N_OUT))
    simulate_blocks(**problem, bit_generators=streams, first_block=0,  # type: ignore[arg-type]
                    paths_per_block=PATHS_PER_BLOCK, n_paths=paths, out=out, n_threads=threads)


def quote_problem(n_instruments: int) -> tuple[object, object, dict[str, object]]:
    import yaml

    from hedgecore.market import parse_market
    from hedgecore.portfolio import parse_portfolio

    configs = HERE.parent / "configs"
    portfolio = parse_portfolio(yaml.safe_load((configs / "btc_book.yaml").read_text()))
    market = parse_market(yaml.safe_load((configs / "btc_market.yaml").read_text()))
    expiries = ["25DEC26", "26MAR27", "25JUN27", "27NOV26"]
    per_expiry = n_instruments // (2 * len(expiries))
    quoting = {"underlyings": {"BTC": {
        "instruments": {"names": ["BTC-PERPETUAL"],
                        "filter": {"expiries": expiries,
                                   "strikes": {"min": 50000, "max": 50000 + 250 * (per_expiry - 1), "step": 250}}},
        "order_size": {"option": 5, "perpetual": 20000},
        "risk_aversion": {"delta": 0.5, "vega": {"25DEC26": 0.0004, "default": 0.0002}, "gamma": 0.0001},
        "intensity": {"option": {"A": 2.0, "k": 2000}, "perpetual": {"A": 60, "k": 0.2}},
        "limits": {"delta": 100, "vega_usd": 50000, "position": {"option": 200}},
        "fees": {"option_maker": 0.0003},
    }}}
    return portfolio, market, quoting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=3600)
    parser.add_argument("--hours", type=float, default=1.0, help="horizon; default: an hour requoted every second")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instruments", type=int, default=2000)
    args = parser.parse_args()

    problem = kernel_problem(args.steps, args.hours)
    work = args.paths * args.steps
    load = os.getloadavg()
    print(f"market-making simulator: GLFT exact policy, GBM mid, {args.paths:,} paths x {args.steps:,} steps "
          f"over {args.hours:g} h; machine load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    rates = {}
    for threads in (1, 2):
        wall, cpu = best_of(lambda t=threads: run_kernel(problem, args.paths, t), args.repeat)
        rates[threads] = work / wall
        print(f"  compiled, {threads} thread(s): {wall:.3f} s wall ({cpu:.3f} s CPU), "
              f"{work / wall / 1e6:,.1f} M path-steps/s "
              f"({work / cpu / 1e6 * threads:,.1f} M/s per CPU-second x threads)")
    numpy_rates = {}
    for label, simulate in (("numpy vectorised, per step", simulate_vectorised_per_step),
                            ("numpy vectorised, event-driven", simulate_vectorised)):
        wall, cpu = best_of(lambda s=simulate: s(np.random.default_rng(1), args.paths, **problem),  # type: ignore[misc]
                            max(1, args.repeat - 1))
        numpy_rates[label] = work / wall
        print(f"  {label}: {wall:.3f} s wall ({cpu:.3f} s CPU), {work / wall / 1e6:,.1f} M path-steps/s")
    two = rates[2]
    print(f"  bar >= 50 M path-steps/s on 2 threads: {'PASS' if two >= 50e6 else 'FAIL'} ({two / 1e6:,.1f} M)")
    for label, numpy_rate in numpy_rates.items():
        print(f"  bar >= 10x {label}: {'PASS' if two >= 10 * numpy_rate else 'FAIL'} "
              f"(2 threads {two / numpy_rate:,.1f}x, 1 thread {rates[1] / numpy_rate:,.1f}x)")
    load = os.getloadavg()
    print(f"  machine load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    from hedgecore.quoting.config import parse_quoting
    from hedgecore.quoting.options import quote_book

    portfolio, market, quoting = quote_problem(args.instruments)

    def quote_once() -> int:
        import json

        sheet = quote_book(portfolio, market, parse_quoting(quoting), threads=2)  # type: ignore[arg-type]
        json.dumps([q.as_dict() for q in sheet.quotes])
        return len(sheet.quotes)

    count = quote_once()
    started = time.perf_counter()
    wall, cpu = best_of(quote_once, args.repeat)
    print(f"quote: {count:,} instruments in {wall * 1000:.1f} ms wall ({cpu * 1000:.1f} ms CPU) beyond start-up; "
          f"bar < 100 ms: {'PASS' if wall < 0.1 else 'FAIL'}")
    del started


if __name__ == "__main__":
    main()
