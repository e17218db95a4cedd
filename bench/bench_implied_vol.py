"""Benchmark: implied volatility of 2,000,000 European options.

Measures in one run, on the same random book of BTC-style options priced by
hedgecore.greeks:
- hedgecore.implied_vol (bsm, black76, inverse; threads=1 and threads=2), options per second;
- vollib's per-option loop (vollib.black_scholes_merton.implied_volatility, pure-Python
  Let's Be Rational) on a subset, extrapolated per option;
- QuantLib's blackFormulaImpliedStdDev per-option loop (returns sigma sqrt(tau); given the
  forward and the discount factor) on a subset, extrapolated, for information.

Prints the bars: >= 3 million options/s with threads=2, and > 100x vollib per option.
Run: python bench/bench_implied_vol.py [--n 2000000] [--peer-n 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

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


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def vollib_seconds_per_option(book: Book, price: NDArray[np.float64], n: int) -> tuple[float, float]:
    """Seconds per option of vollib's bsm loop, and its worst gap to hedgecore's vols."""
    from vollib.black_scholes_merton.implied_volatility import implied_volatility

    flags = np.where(book["is_call"][:n], "c", "p")
    theirs = np.empty(n)
    start = time.perf_counter()
    for i in range(n):
        try:
            theirs[i] = implied_volatility(float(price[i]), float(book["underlying"][i]), float(book["strike"][i]),
                                           float(book["tau"][i]), float(book["rate"][i]),
                                           float(book["carry"][i]), str(flags[i]))
        except Exception:  # noqa: BLE001 - vollib raises for a price rounded below intrinsic
            theirs[i] = math.nan
    elapsed = time.perf_counter() - start
    ours = hedgecore.implied_vol(price[:n], book["underlying"][:n], book["strike"][:n], book["tau"][:n],
                                 is_call=book["is_call"][:n], rate=book["rate"][:n], carry=book["carry"][:n])
    return elapsed / n, float(np.nanmax(np.abs(ours - theirs)))


def quantlib_seconds_per_option(book: Book, price: NDArray[np.float64], n: int) -> tuple[float, float]:
    """Seconds per option of QuantLib's blackFormulaImpliedStdDev loop (bsm prices through
    the forward and the discount factor), and its worst gap to hedgecore's vols."""
    import QuantLib as ql

    theirs = np.empty(n)
    start = time.perf_counter()
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
    elapsed = time.perf_counter() - start
    ours = hedgecore.implied_vol(price[:n], book["underlying"][:n], book["strike"][:n], book["tau"][:n],
                                 is_call=book["is_call"][:n], rate=book["rate"][:n], carry=book["carry"][:n])
    return elapsed / n, float(np.nanmax(np.abs(ours - theirs)))


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
          f"{max_threads()}, cpus {os.cpu_count()}; {args.n:,} options, best of {args.repeat}")

    timings: dict[tuple[str, int], float] = {}
    prices: dict[str, NDArray[np.float64]] = {}
    for model in MODELS:
        carry = q if model == "bsm" else 0.0
        price = hedgecore.greeks(s, k, t, v, is_call=calls, rate=r, carry=carry, model=model).price
        prices[model] = price
        result = hedgecore.solve_implied_vol(price, s, k, t, is_call=calls, rate=r, carry=carry, model=model)
        posed = well_posed(book, model)
        worst = float(np.max(np.abs(result.vol - v)[posed]))
        statuses = {status.name: count for status, count in result.counts().items()}
        print(f"  {model:<8} statuses {statuses}; well posed {posed.mean():.1%}, "
              f"max |implied - true vol| there {worst:.1e}")
        for threads in (1, 2):
            timings[model, threads] = best_of(
                lambda price=price, carry=carry, model=model, threads=threads: hedgecore.implied_vol(
                    price, s, k, t, is_call=calls, rate=r, carry=carry, model=model, threads=threads),
                args.repeat)

    vollib_per_option, vollib_gap = vollib_seconds_per_option(book, prices["bsm"], args.peer_n)
    ql_per_option, ql_gap = quantlib_seconds_per_option(book, prices["bsm"], args.peer_n)

    print(f"\n{'implementation':<44}{'time':>10}{'ns/option':>12}{'options/s':>14}")
    for (model, threads), seconds in timings.items():
        label = f"hedgecore {model}, threads={threads}"
        print(f"{label:<44}{seconds * 1e3:>8.1f}ms{seconds / args.n * 1e9:>12.1f}{args.n / seconds:>14,.0f}")
    for label, per_option, gap in (
        ("vollib loop (bsm), extrapolated", vollib_per_option, vollib_gap),
        ("QuantLib blackFormulaImpliedStdDev loop", ql_per_option, ql_gap),
    ):
        print(f"{label:<44}{per_option * args.n:>9.1f}s{per_option * 1e9:>12.0f}{1 / per_option:>14,.0f}"
              f"   ({args.peer_n:,} options timed; max |vol gap| to hedgecore {gap:.1e})")

    bsm2 = timings["bsm", 2]
    rate2 = args.n / bsm2
    vs_vollib = vollib_per_option * args.n / bsm2
    vs_ql = ql_per_option * args.n / bsm2
    print()
    print(f"hedgecore bsm threads=2:              {rate2 / 1e6:6.2f}M options/s  (bar >= 3M/s)  "
          f"{'PASS' if rate2 >= 3e6 else 'BELOW'}")
    print(f"hedgecore bsm threads=2 vs vollib:    {vs_vollib:8.0f}x  (bar > 100x; vollib per-option time "
          f"measured on {args.peer_n:,} options and extrapolated)  {'PASS' if vs_vollib > 100 else 'BELOW'}")
    print(f"hedgecore bsm threads=2 vs QuantLib:  {vs_ql:8.0f}x  (for information; extrapolated likewise)")
    print(f"thread scaling bsm 1 -> 2 threads:    {timings['bsm', 1] / bsm2:6.2f}x")


if __name__ == "__main__":
    main()
