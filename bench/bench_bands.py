"""Benchmark of the hedge-band formulas against their obvious peers, measured in one run.

- Whalley-Wilmott and Zakamouline on 1,000,000 book states: hedgecore.bands (compiled,
  threads=1 and all) against the same formulas written in vectorised numpy;
- the nested band: hedgecore's exact first-order-condition solve against a direct 2-D
  scipy.optimize minimisation of the loss (what one would write without the reduction),
  per band.
No bar is set for these in the task; the ratios are printed for the record. The machine may
be shared: take best-of-N timings and rerun on a quiet machine for published numbers.

    python bench/bench_bands.py [--n 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tree, not an installed copy

from _timing import best_of

from hedgecore._runtime import max_threads
from hedgecore.bands import nested_band, whalley_wilmott_half_width, zakamouline_band


def numpy_ww(gamma, spot, cost, a, rate, tau):
    return np.cbrt(1.5 * np.exp(-rate * tau) * cost * spot * gamma * gamma / a)


def numpy_zakamouline(gamma, spot, vol, tau, cost, a, rate):
    vol_factor = (np.exp(-rate * tau) / vol) ** 0.25
    abs_gamma = np.abs(gamma)
    h_zero = cost / (a * spot * vol * vol * tau)
    h_w = 1.12 * cost**0.31 * tau**0.05 * vol_factor * np.sqrt(abs_gamma / a)
    k = -4.76 * cost**0.78 * tau**-0.02 * vol_factor * (a * spot * spot * abs_gamma) ** 0.15
    scale = np.where(gamma < 0, 1.0 - k, 1.0 + k)
    return h_zero + h_w, vol * np.sqrt(np.maximum(scale, 0.0))


def scipy_nested(gamma, spot, cost, fixed_cost, a):
    from scipy import optimize

    scale = (12.0 * fixed_cost * gamma**2 / a) ** 0.25

    def loss(x):
        d, h = scale * math.exp(x[0]), scale * math.exp(x[1])
        outer = h + d
        value = gamma**2 * (fixed_cost + cost * spot * d) / (outer**2 - h**2) + a * (outer**2 + h**2) / 12.0
        return value / (a * scale**2)

    result = optimize.minimize(loss, [0.0, -1.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    d, h = scale * math.exp(result.x[0]), scale * math.exp(result.x[1])
    return h + d, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="book states for the closed forms")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nested", type=int, default=200, help="bands for the scipy comparison")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    n = args.n
    gamma = rng.normal(0.0, 5e-4, n)
    spot = rng.uniform(60_000, 120_000, n)
    vol = rng.uniform(0.3, 1.0, n)
    tau = rng.uniform(1 / 365, 0.5, n)
    cost = rng.uniform(1e-4, 1e-3, n)
    fixed = rng.uniform(0.5, 20.0, n)
    a = 1e-4
    threads = max(1, max_threads())
    print(f"hedgecore band formulas, {n:,} states, best of {args.repeat}; OpenMP threads available: {threads}")

    rows = []
    t_numpy = best_of(lambda: numpy_ww(gamma, spot, cost, a, 0.0, tau), args.repeat)[0]
    for t in sorted({1, threads}):
        t_ours = best_of(lambda t=t: whalley_wilmott_half_width(gamma, spot, cost, a, tau=tau, threads=t),
                         args.repeat)[0]
        rows.append(("whalley_wilmott_half_width", t, t_ours, "numpy", t_numpy))
    t_numpy = best_of(lambda: numpy_zakamouline(gamma, spot, vol, tau, cost, a, 0.0), args.repeat)[0]
    for t in sorted({1, threads}):
        t_ours = best_of(lambda t=t: zakamouline_band(gamma, spot, vol, tau, cost, a, threads=t), args.repeat)[0]
        rows.append(("zakamouline_band", t, t_ours, "numpy", t_numpy))
    for t in sorted({1, threads}):
        t_ours = best_of(lambda t=t: nested_band(gamma, spot, cost, fixed, a, threads=t), args.repeat)[0]
        rows.append(("nested_band (per 1M)", t, t_ours, "", math.nan))
    for name, t, ours, peer, theirs in rows:
        ratio = f"{theirs / ours:6.1f}x {peer}" if math.isfinite(theirs) else ""
        print(f"  {name:28s} threads={t}: {ours * 1e3:8.2f} ms  ({n / ours / 1e6:7.1f} M/s)  {ratio}")

    m = args.nested
    idx = np.arange(m)
    start = time.perf_counter()
    reference = [scipy_nested(gamma[i], spot[i], cost[i], fixed[i], a) for i in idx]
    t_scipy = (time.perf_counter() - start) / m
    t_ours = best_of(lambda: nested_band(gamma, spot, cost, fixed, a, threads=1), args.repeat)[0] / n
    ours = nested_band(gamma[:m], spot[:m], cost[:m], fixed[:m], a)
    worst = max(abs(float(ours.outer[i]) / reference[i][0] - 1) for i in idx)
    print(f"  nested band per band: hedgecore {t_ours * 1e9:.0f} ns, scipy Nelder-Mead {t_scipy * 1e6:.0f} us "
          f"-> {t_scipy / t_ours:,.0f}x; largest relative difference of the outer edge {worst:.1e}")


if __name__ == "__main__":
    main()
