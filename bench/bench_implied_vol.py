"""Benchmark: implied volatility of 2,000,000 European options.

Measures in one run, on the same random book of BTC-style options priced by
hedgecore.greeks:
- hedgecore.implied_vol (bsm, black76, inverse; threads=1 and threads=2), options per second;
- vollib's per-option loop (vollib.black_scholes_merton.implied_volatility, pure-Python
  Let's Be Rational) on a subset, extrapolated per option;
- QuantLib's blackFormulaImpliedStdDev per-option loop (returns sigma sqrt(tau); given the
  forward and the discount factor) on a subset, extrapolated, for information.

Prints the bars: >= 3 million options/s with threads=2, and > 100x vollib per option (both
wall clock), then one-thread CPU times, which other processes on a shared machine do not
inflate, as a load-independent cross-check.
Run: python bench/bench_implied_vol.py [--n 2000000] [--peer-n 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from _timing import best_of

import hedgecore

Book = dict[str, NDArray[Any]]
MODELS = ("bsm", "black76", "inverse")


def make_book(n: int, seed: int = 2026) -> Book:
    """A realistic mix: BTC around 60k, listed-style strikes 0.5..2 x spot rounded to 1,000,
    1 day..1 year, a vol smile between 30% and 200%, calls and puts, rates 0..5%."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(55_000.0, 65_000.0, n)
    strike = np.round(spot * np.exp(rng.normal(0.0, 0.25, n)).clip(0.5, 2.0), -3)
    tau = rng.integers(1, 366, n) / 365.0
    log_moneyness = np.log(strike / spot)
    vol = (rng.uniform(0.45, 0.9, n) + 0.8 * log_moneyness**2 - 0.1 * log_moneyness).clip(0.3, 2.0)
    return {
        "underlying": spot,
        "strike": strike,
        "tau": tau,
        "vol": vol,
        "is_call": rng.random(n) < 0.5,
        "rate": rng.uniform(0.0, 0.05, n),
        "carry": rng.uniform(0.0, 0.02, n),
    }


def vollib_loop(book: Book, price: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """vollib's bsm implied vol, one option at a time (NaN where it raises)."""
    from vollib.black_scholes_merton.implied_volatility import implied_volatility

    flags = np.where(book["is_call"][:n], "c", "p")
    theirs = np.empty(n)
    for i in range(n):
        try:
            theirs[i] = implied_volatility(float(price[i]), float(book["underlying"][i]), float(book["strike"][i]),
                                           float(book["tau"][i]), float(book["rate"][i]),
                                           float(book["carry"][i]), str(flags[i]))
        except Exception:  # noqa: BLE001 - vollib raises for a price rounded below intrinsic
            theirs[i] = math.nan
    return theirs


def quantlib_loop(book: Book, price: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """QuantLib's blackFormulaImpliedStdDev (bsm prices through the forward and the discount
    factor), one option at a time, as a vol (NaN where it raises)."""
    import QuantLib as ql

    theirs = np.empty(n)
    for i in range(n):
        tau = float(book["tau"][i])
        rate = float(book["rate"][i])
        forward = float(book["underlying"][i]) * math.exp((rate - float(book["carry"][i])) * tau)
        option_type = ql.Option.Call if book["is_call"][i] else ql.Option.Put
        try:
            std_dev = ql.blackFormulaImpliedStdDev(option_type, float(book["strike"][i]), forward, float(price[i]),
                                                   math.exp(-rate * tau), 0.0, ql.nullDouble(), 1e-12, 100)
        except RuntimeError:  # a price rounded below intrinsic ("no solution exists")
            std_dev = math.nan
        theirs[i] = std_dev / math.sqrt(tau)
    return theirs


def well_posed(book: Book, model: str) -> NDArray[np.bool_]:
    """Where the price's rounding moves the vol by at most 1e-10 (tests/test_implied_vol.py):
    vega * 1e-9 >= 10 * eps * e^{-r tau} (F N(theta d1) + K N(theta d2))."""
    carry = book["carry"] if model == "bsm" else 0.0
    g = hedgecore.greeks(book["underlying"], book["strike"], book["tau"], book["vol"], is_call=book["is_call"],
                         rate=book["rate"], carry=carry, model=model)
    fwd = book["underlying"] * (np.exp((book["rate"] - carry) * book["tau"]) if model == "bsm" else 1.0)
    theta = np.where(book["is_call"], 1.0, -1.0)
    sdt = book["vol"] * np.sqrt(book["tau"])
    d1 = np.log(fwd / book["strike"]) / sdt + 0.5 * sdt
    terms = np.exp(-book["rate"] * book["tau"]) * (fwd * ndtr(theta * d1) + book["strike"] * ndtr(theta * (d1 - sdt)))
    if model == "inverse":
        terms = terms / fwd
    return np.asarray(g.vega * 1e-9 >= 10.0 * np.finfo(np.float64).eps * terms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--peer-n", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from hedgecore._runtime import max_threads, openmp_enabled

    book = make_book(args.n)
    s, k, t, v = book["underlying"], book["strike"], book["tau"], book["vol"]
    calls, r, q = book["is_call"], book["rate"], book["carry"]
    print(f"hedgecore {hedgecore.__version__}: OpenMP {openmp_enabled()}, max threads "
          f"{max_threads()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; "
          f"{args.n:,} options, best of {args.repeat}")

    timings: dict[tuple[str, int], tuple[float, float]] = {}
    prices: dict[str, NDArray[np.float64]] = {}
    ours: dict[str, NDArray[np.float64]] = {}
    posed: dict[str, NDArray[np.bool_]] = {}
    for model in MODELS:
        carry = q if model == "bsm" else 0.0
        price = hedgecore.greeks(s, k, t, v, is_call=calls, rate=r, carry=carry, model=model).price
        result = hedgecore.solve_implied_vol(price, s, k, t, is_call=calls, rate=r, carry=carry, model=model)
        prices[model], ours[model], posed[model] = price, result.vol, well_posed(book, model)
        worst = float(np.max(np.abs(result.vol - v)[posed[model]]))
        statuses = {status.name: count for status, count in result.counts().items()}
        print(f"  {model:<8} statuses {statuses}; well posed {posed[model].mean():.1%}, "
              f"max |implied - true vol| there {worst:.1e}")
        for threads in (1, 2):

            def solve(price: NDArray[np.float64] = price, carry: Any = carry, model: str = model,
                      threads: int = threads) -> None:
                hedgecore.implied_vol(price, s, k, t, is_call=calls, rate=r, carry=carry, model=model,
                                      threads=threads)

            timings[model, threads] = best_of(solve, args.repeat)

    n_peer = args.peer_n
    peers: dict[str, tuple[float, float, float, int]] = {}
    for label, loop in (("vollib (bsm)", vollib_loop), ("QuantLib blackFormulaImpliedStdDev", quantlib_loop)):
        loop(book, prices["bsm"], 10)   # warm up: QuantLib's first call initialises for ~0.1 s
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        theirs = loop(book, prices["bsm"], n_peer)
        peer_wall, peer_cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
        gaps = np.abs(theirs - ours["bsm"][:n_peer])[posed["bsm"][:n_peer]]
        peers[label] = (peer_wall / n_peer, peer_cpu / n_peer, float(np.nanmax(gaps)), int(np.isnan(theirs).sum()))

    print(f"\n{'implementation':<52}{'wall':>10}{'ns/option':>11}{'options/s':>13}{'cpu ns/option':>15}")
    for (model, threads), (wall, cpu) in timings.items():
        label = f"hedgecore {model}, threads={threads}"
        cpu_text = f"{cpu / args.n * 1e9:>15.1f}" if threads == 1 else f"{'':>15}"
        print(f"{label:<52}{wall * 1e3:>8.1f}ms{wall / args.n * 1e9:>11.1f}{args.n / wall:>13,.0f}{cpu_text}")
    for label, (wall_per, cpu_per, gap, failures) in peers.items():
        name = f"{label} loop, extrapolated"
        print(f"{name:<52}{wall_per * args.n:>9.1f}s{wall_per * 1e9:>11.0f}{1 / wall_per:>13,.0f}{cpu_per * 1e9:>15.0f}"
              f"\n{'':<8}({n_peer:,} options timed; {failures} raised; max |vol gap| to hedgecore where well "
              f"posed {gap:.1e})")

    bsm1_wall, bsm1_cpu = timings["bsm", 1]
    bsm2_wall = timings["bsm", 2][0]
    rate2 = args.n / bsm2_wall
    vollib_wall, vollib_cpu = peers["vollib (bsm)"][:2]   # per option
    vs_vollib = vollib_wall * args.n / bsm2_wall
    print()
    print(f"hedgecore bsm threads=2:             {rate2 / 1e6:8.2f}M options/s  (bar >= 3M/s)  "
          f"{'PASS' if rate2 >= 3e6 else 'BELOW'}")
    print(f"hedgecore bsm threads=2 vs vollib:   {vs_vollib:8.0f}x  (bar > 100x; vollib timed on {n_peer:,} "
          f"options and extrapolated)  {'PASS' if vs_vollib > 100 else 'BELOW'}")
    vs_quantlib = peers["QuantLib blackFormulaImpliedStdDev"][0] * args.n / bsm2_wall
    print(f"hedgecore bsm threads=2 vs QuantLib: {vs_quantlib:8.0f}x  (for information; extrapolated likewise)")
    print(f"thread scaling bsm 1 -> 2 threads:   {bsm1_wall / bsm2_wall:8.2f}x")
    print(f"load-independent check, CPU time on one thread: hedgecore {bsm1_cpu / args.n * 1e9:.0f} ns/option "
          f"({args.n / bsm1_cpu / 1e6:.2f}M/s), vollib {vollib_cpu * 1e9:.0f} ns/option: "
          f"{vollib_cpu / (bsm1_cpu / args.n):.0f}x on one thread")


if __name__ == "__main__":
    main()
