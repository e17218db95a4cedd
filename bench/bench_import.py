"""Benchmark: how long `import hedgecore` takes (bar: under 150 ms).

Runs `python -X importtime -c "import hedgecore"` in fresh interpreters, takes the
cumulative time of the top-level `hedgecore` entry, keeps the best of several runs and
prints the modules that cost the most in that run.
Run: python bench/bench_import.py [--runs 7] [--top 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAR_MS = 150.0


def one_run() -> tuple[float, list[tuple[float, float, str]]]:
    """Cumulative microseconds of `hedgecore`, and (self us, cumulative us, module) rows."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import hedgecore"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    rows = []
    total = None
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        module = name.rstrip()
        rows.append((float(self_us), float(cumulative_us), module.strip()))
        if module.strip() == "hedgecore" and module == " hedgecore":
            total = float(cumulative_us)
    if total is None:
        raise RuntimeError("no top-level hedgecore entry in -X importtime output:\n" + proc.stderr)
    return total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    runs = [one_run() for _ in range(args.runs)]
    totals = sorted(total for total, _ in runs)
    best_total, best_rows = min(runs, key=lambda run: run[0])
    print(f"import hedgecore, cumulative: best {best_total / 1e3:.1f} ms, median "
          f"{totals[len(totals) // 2] / 1e3:.1f} ms over {args.runs} fresh interpreters "
          f"(bar < {BAR_MS:.0f} ms): {'PASS' if best_total / 1e3 < BAR_MS else 'ABOVE'}")
    print(f"\ntop {args.top} modules by self time in the best run:")
    print(f"{'self ms':>9}{'cumulative ms':>15}  module")
    for self_us, cumulative_us, module in sorted(best_rows, reverse=True)[: args.top]:
        print(f"{self_us / 1e3:>9.2f}{cumulative_us / 1e3:>15.2f}  {module}")
    hedgecore_rows = [row for row in best_rows if row[2].startswith("hedgecore")]
    print("\nhedgecore's own modules:")
    for self_us, cumulative_us, module in hedgecore_rows:
        print(f"{self_us / 1e3:>9.2f}{cumulative_us / 1e3:>15.2f}  {module}")


if __name__ == "__main__":
    main()
