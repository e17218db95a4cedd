"""Benchmark of the market-making simulator and of `quote`, measured in one run.

Bars (issue 14):
- the compiled simulator (hedgecore._mm) >= 50 million path-steps per second on two
  cores for one instrument, and >= 10x a vectorised numpy implementation of the same
  simulation (tests/mm_reference.simulate_vectorised: numpy over paths, a loop over steps)
  timed in the same run;
- `quote` for 2,000 instruments under 0.1 s beyond start-up (parse of the quoting document,
  valuation of the book and of a unit of every instrument, the quotes and the JSON).

The machine may be shared: timings are best-of-N, and the CPU time of a one-thread run is
the figure to trust on a busy machine.

    python bench/bench_mm.py [--paths 50000] [--steps 3600] [--hours 1] [--repeat 3] [--numpy-paths 20000]

The default problem requotes every second for an hour (BTC-PERPETUAL, A = 30 fills an hour
at the mid, k = 0.05 per USD, GLFT depths about 20 USD: a fill every ~5 minutes a side).
With coarse steps (--hours 24 --steps 1000) a quarter of the steps fill and the per-fill
work (the mid's normal and exponential) dominates both implementations.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _timing import best_of  # noqa: E402

from hedgecore._mm import simulate_blocks  # noqa: E402
from hedgecore.quoting.mmsim import PATHS_PER_BLOCK, MarketMakingSpec, MMPolicy, policy_tables  # noqa: E402
from tests.mm_reference import simulate_vectorised  # noqa: E402


def kernel_problem(steps: int, hours: float) -> dict[str, object]:
    spec = MarketMakingSpec(
        mid_model="gbm", spot=96500.0, vol=0.5, drift=0.0, horizon_years=hours / 8760.0, steps=steps, paths=1,
        seed=1, order_size=0.1, intensity_a_per_hour=30.0, intensity_k_per_usd=0.05, inventory_limit=10,
        maker_fee_rate=0.0, policies=(MMPolicy("glft", "glft_exact", gamma=0.001),))
    tables = policy_tables(spec, spec.policies[0])
    dt = spec.horizon_years / steps
    return {"mid_kind": 1, "spot0": spec.spot, "drift": -0.5 * spec.vol**2 * dt, "vol": spec.vol * math.sqrt(dt),
                "steps": steps, "q_max": spec.inventory_limit, "size": spec.order_size, "fee_rate": 0.0,
                "time_varying": tables.time_varying, "thr_bid": tables.thr_bid, "thr_ask": tables.thr_ask,
                "depth_bid": tables.depth_bid, "depth_ask": tables.depth_ask}


def run_kernel(problem: dict[str, object], paths: int, threads: int) -> None:
    blocks = -(-paths // PATHS_PER_BLOCK)
    streams = [np.random.SFC64(child) for child in np.random.SeedSequence(1).spawn(blocks)]
    out = np.empty((paths, 8))
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
    parser.add_argument("--numpy-paths", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instruments", type=int, default=2000)
    args = parser.parse_args()

    problem = kernel_problem(args.steps, args.hours)
    work = args.paths * args.steps
    print(f"market-making simulator: GLFT exact policy, GBM mid, {args.paths:,} paths x {args.steps:,} steps "
          f"over {args.hours:g} h")
    rates = {}
    for threads in (1, 2):
        wall, cpu = best_of(lambda t=threads: run_kernel(problem, args.paths, t), args.repeat)
        rates[threads] = work / wall
        print(f"  compiled, {threads} thread(s): {wall:.3f} s wall ({cpu:.3f} s CPU), "
              f"{work / wall / 1e6:,.1f} M path-steps/s "
              f"({work / cpu / 1e6 * threads:,.1f} M/s per CPU-second x threads)")
    numpy_work = args.numpy_paths * args.steps
    wall, cpu = best_of(lambda: simulate_vectorised(np.random.default_rng(1), args.numpy_paths, **problem),
                        max(1, args.repeat - 1))
    numpy_rate = numpy_work / wall
    print(f"  numpy vectorised ({args.numpy_paths:,} paths): {wall:.3f} s wall, {numpy_rate / 1e6:,.2f} M path-steps/s")
    best = max(rates.values())
    print(f"  bar >= 50 M path-steps/s: {'PASS' if best >= 50e6 else 'FAIL'} ({best / 1e6:,.1f} M)")
    print(f"  bar >= 10x numpy: {'PASS' if best >= 10 * numpy_rate else 'FAIL'} ({best / numpy_rate:,.1f}x)")

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
