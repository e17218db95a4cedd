"""Benchmark of the Monte Carlo hedging simulator against pfhedge, measured in one run.

Bars (task "sim"):
- Black-Scholes delta hedging of one option with proportional costs: >= 100 million
  path-steps per second with threads=2, and >= 20x pfhedge's Hedger(BlackScholes) on the
  same problem (same paths x steps, same cost, rebalancing every step);
- Whalley-Wilmott band hedging: >= 60 million path-steps per second;
- --big: 1,000,000 paths x 8,760 hourly steps within 1 GiB of peak RSS (measured in a
  subprocess with resource.getrusage; this run takes minutes).

pfhedge needs numpy < 2 and torch, so the bench builds its own venv (bench/.venv-pfhedge,
git-ignored) on first use and runs pfhedge there in a subprocess that prints its timing.
If the venv cannot be built, the bench says so and still prints hedgecore's numbers.
The machine may be shared: timings are best-of-N, and published numbers should come from
a quiet machine.

    python bench/bench_sim.py [--paths 200000] [--steps 250] [--repeat 3] [--pfhedge-small 50000]
                              [--big] [--no-pfhedge] [--vector-paths]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # the tree, not an installed copy

import numpy as np  # noqa: E402

from hedgecore._runtime import max_threads  # noqa: E402
from hedgecore._sim import simd_enabled  # noqa: E402
from hedgecore.simulation import (  # noqa: E402
    CostSpec,
    GBMModel,
    OptionSpec,
    PolicySpec,
    SimulationSpec,
    simulate,
)

VENV = HERE / ".venv-pfhedge"
TORCH_WHEEL = "/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
COST = 1e-3          # one-way proportional cost, as pfhedge's BrownianStock(cost=...)
VOL = 0.2
MATURITY = 1.0

PFHEDGE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import torch
    from pfhedge.instruments import BrownianStock, EuropeanOption
    from pfhedge.nn import BlackScholes, Hedger, WhalleyWilmott

    paths, steps, repeat, threads, cost, vol = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                                int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    for name in ("black_scholes", "whalley_wilmott"):
        stock = BrownianStock(sigma=vol, cost=cost, dt=1.0 / steps)
        option = EuropeanOption(stock, maturity=1.0, strike=1.0)
        model = BlackScholes(option) if name == "black_scholes" else WhalleyWilmott(option, a=1.0)
        hedger = Hedger(model, inputs=model.inputs())
        best = float("inf")
        with torch.no_grad():
            for _ in range(repeat):
                start = time.perf_counter()
                pnl = hedger.compute_pnl(option, n_paths=paths)
                best = min(best, time.perf_counter() - start)
        out[name] = {"seconds": best, "std_pnl": float(pnl.std()), "mean_pnl": float(pnl.mean()),
                     "steps": int(stock.spot.shape[-1])}
    print(json.dumps(out))
    """
)


def ensure_pfhedge_venv() -> Path | None:
    """The venv's python, building the venv on first use; None (with a note) on failure."""
    python = VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import pfhedge, torch"], capture_output=True)
        if check.returncode == 0:
            return python
    print(f"bench: building {VENV.relative_to(ROOT)} for pfhedge (torch + numpy<2), once ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        wheel = TORCH_WHEEL if Path(TORCH_WHEEL).exists() else "torch"
        subprocess.run([str(python), "-m", "pip", "install", "-q", wheel, "numpy<2", "pfhedge"],
                       check=True)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"bench: pfhedge venv could not be built ({error}); hedgecore numbers only", file=sys.stderr)
        return None
    return python


def run_pfhedge(paths: int, steps: int, repeat: int, threads: int) -> dict[str, Any] | None:
    python = ensure_pfhedge_venv()
    if python is None:
        return None
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [str(python), "-c", PFHEDGE_SCRIPT, str(paths), str(steps), str(repeat), str(threads), str(COST),
         str(VOL)],
        capture_output=True, text=True, env=env, cwd=str(HERE),
    )
    if done.returncode != 0:
        print(f"bench: pfhedge run failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def problem(policy: PolicySpec, paths: int, steps: int) -> SimulationSpec:
    """pfhedge's default problem: a European call on a Brownian stock, S0 = K (here 100),
    r = 0, drift 0, hedged at every step, one-way proportional cost COST; the option is sold."""
    return SimulationSpec(
        model=GBMModel(spot=100.0, drift=0.0, vol=VOL),
        options=(OptionSpec("call", 100.0, MATURITY, -1.0),),
        policies=(policy,), horizon_years=MATURITY, steps=steps, paths=paths, seed=1,
        costs=CostSpec(proportional=COST),
    )


def time_ours(spec: SimulationSpec, threads: int, repeat: int) -> tuple[float, float]:
    simulate(spec, paths=min(spec.paths, 4096), threads=threads)       # warm-up
    best, std = math.inf, math.nan
    for _ in range(repeat):
        start = time.perf_counter()
        result = simulate(spec, threads=threads)
        best = min(best, time.perf_counter() - start)
        std = result.policies[0].std_pnl
    return best, std


def big_run(threads: int) -> None:
    """1,000,000 paths x 8,760 hourly steps (a year), WW and time policies, in a subprocess."""
    code = textwrap.dedent(
        f"""
        import resource, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from hedgecore.simulation import *
        spec = SimulationSpec(
            model=GBMModel(spot=60000.0, drift=0.0, vol=0.6),
            options=(OptionSpec("call", 60000.0, 1.0, -10.0),),
            policies=(PolicySpec("ww", "whalley_wilmott", risk_aversion=1e-3),),
            horizon_years=1.0, steps=8760, paths=1_000_000, seed=3,
            costs=CostSpec(proportional=0.0005),
        )
        start = time.perf_counter()
        result = simulate(spec, threads={threads})
        seconds = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(seconds, peak_kib, result.policies[0].std_pnl, result.policies[0].mean_trades)
        """
    )
    print("\n--big: 1,000,000 paths x 8,760 hourly steps, Whalley-Wilmott (takes minutes) ...", flush=True)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  failed:\n{done.stderr[-2000:]}")
        return
    seconds, peak_kib, std, trades = (float(x) for x in done.stdout.split())
    peak_mib = peak_kib / 1024.0
    rate = 1_000_000 * 8760 / seconds / 1e6
    verdict = "PASS" if peak_mib <= 1024.0 else "FAIL"
    print(f"  {seconds:8.1f} s   {rate:6.1f} M path-steps/s   peak RSS {peak_mib:7.1f} MiB "
          f"(bar 1024 MiB: {verdict})   std {std:.1f}  mean trades {trades:.0f}")


# Environment switches that force each vector path of the kernel (read at import).
VECTOR_PATHS = (
    {},
    {"HEDGECORE_NO_AVX512": "1"},
    {"HEDGECORE_NO_LIBMVEC": "1"},
    {"HEDGECORE_NO_LIBMVEC": "1", "HEDGECORE_NO_AVX512": "1"},
    {"HEDGECORE_NO_LIBMVEC": "1", "HEDGECORE_NO_AVX2": "1"},
)


def vector_paths_table(paths: int, steps: int, repeat: int, threads: int) -> None:
    """BS and WW speed on every vector path this machine has, each in a fresh interpreter
    with its environment switches (the README's table of paths)."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        import bench_sim
        from hedgecore._sim import vector_isa
        cells = []
        for policy in (bench_sim.PolicySpec("bs", "time", every=1),
                       bench_sim.PolicySpec("ww", "whalley_wilmott", risk_aversion=0.01)):
            spec = bench_sim.problem(policy, {paths}, {steps})
            for n_threads in (1, {threads}):
                seconds, _ = bench_sim.time_ours(spec, n_threads, {repeat})
                cells.append({paths * steps} / seconds / 1e6)
        print(vector_isa(), *cells)
        """
    )
    print(f"\nvector paths (M path-steps/s, threads=1 / threads={threads}), {paths:,} paths x {steps} steps:")
    print(f"  {'path':16s} {'Black-Scholes':>17s} {'Whalley-Wilmott':>17s}")
    seen = set()
    for switches in VECTOR_PATHS:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, **switches})
        if done.returncode != 0:
            print(f"  {switches}: failed\n{done.stderr[-1000:]}")
            continue
        isa, *cells = done.stdout.split()
        if isa in seen:     # a switch this machine does not need (e.g. no AVX-512)
            continue
        seen.add(isa)
        bs1, bs2, ww1, ww2 = (float(cell) for cell in cells)
        print(f"  {isa:16s} {bs1:7.1f} / {bs2:7.1f} {ww1:7.1f} / {ww2:7.1f}   "
              f"({' '.join(f'{k}=1' for k in switches) or 'default'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pfhedge-small", type=int, default=50_000,
                        help="pfhedge also runs this many paths, a batch size it handles faster per "
                             "path-step (it stores whole paths): context, not the bar, which is "
                             "measured on the same problem (--paths)")
    parser.add_argument("--big", action="store_true", help="also run 1M paths x 8,760 steps for peak memory")
    parser.add_argument("--no-pfhedge", action="store_true")
    parser.add_argument("--vector-paths", action="store_true",
                        help="also time every vector path of the kernel (libmvec, portable AVX-512/AVX2, baseline)")
    args = parser.parse_args()

    threads = 2
    path_steps = args.paths * args.steps
    print(f"hedgecore simulator: {args.paths:,} paths x {args.steps} steps = {path_steps / 1e6:.0f}M path-steps, "
          f"one short ATM call, cost {COST:g}, OpenMP max threads {max_threads()}, libmvec {simd_enabled()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    rows = []
    for label, policy, bar in (
        ("black_scholes", PolicySpec("bs", "time", every=1), 100.0),
        # pfhedge's WhalleyWilmott(a=1) on S0 = 1 is the same band (in units of the
        # underlying) as a = 1/100 on S0 = 100: H^3 ~ S Gamma^2 / a and Gamma ~ 1/S
        ("whalley_wilmott", PolicySpec("ww", "whalley_wilmott", risk_aversion=0.01), 60.0),
    ):
        spec = problem(policy, args.paths, args.steps)
        for n_threads in (1, threads):
            seconds, std = time_ours(spec, n_threads, args.repeat)
            rate = path_steps / seconds / 1e6
            rows.append((label, n_threads, seconds, rate, std))
            verdict = "" if n_threads != threads else f"  (bar {bar:.0f}: {'PASS' if rate >= bar else 'FAIL'})"
            print(f"  {label:16s} threads={n_threads}  {seconds:7.3f} s  {rate:7.1f} M path-steps/s  "
                  f"std/S0 {std / 100.0:.5f}{verdict}")

    if not args.no_pfhedge:
        for pf_paths, role in ((args.paths, "the same problem: the bar"),
                               (args.pfhedge_small, "pfhedge's faster batch size: context")):
            print(f"pfhedge 0.23 Hedger (torch, {threads} threads, no_grad): {pf_paths:,} paths x "
                  f"{args.steps} steps, S0 = K = 1 ({role})", flush=True)
            peer = run_pfhedge(pf_paths, args.steps, args.repeat, threads)
            if peer is None:
                print("  pfhedge unavailable: no ratio")
                break
            for label in ("black_scholes", "whalley_wilmott"):
                theirs = peer[label]
                their_rate = pf_paths * theirs["steps"] / theirs["seconds"] / 1e6
                ours = next(r for r in rows if r[0] == label and r[1] == threads)
                ratio = ours[3] / their_rate
                bar = ""
                if label == "black_scholes" and pf_paths == args.paths:
                    bar = "  (bar 20x: " + ("PASS" if ratio >= 20 else "FAIL") + ")"
                print(f"  {label:16s} {theirs['seconds']:7.3f} s  {their_rate:7.2f} M path-steps/s  "
                      f"std {theirs['std_pnl']:.5f}   hedgecore/pfhedge = {ratio:6.1f}x{bar}")
    if args.vector_paths:
        vector_paths_table(args.paths, args.steps, args.repeat, threads)
    if args.big:
        big_run(threads)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
