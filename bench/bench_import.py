"""Benchmark: how long `import hedgecore` takes (bar: under 150 ms).

Runs `python -X importtime -c "import hedgecore"` in fresh interpreters, takes the
cumulative time of everything the statement imported, keeps the best of several runs and
prints the modules that cost the most in that run. hedgecore loads its public names on
first use, so the same is measured for `import hedgecore; hedgecore.greeks` (numpy, the
facade and the compiled core): what a script pays before its first Greeks.
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


STATEMENTS = {
    "import hedgecore": "import hedgecore",
    "import hedgecore; hedgecore.greeks": "import hedgecore; hedgecore.greeks",
}


def one_run(statement: str) -> tuple[float, list[tuple[float, float, str]]]:
    """Microseconds the statement took in a fresh interpreter, and the (self us,
    cumulative us, module) rows -X importtime prints for what it imports.

    The total is timed inside the child around the statement: -X importtime does not
    time a module loaded through importlib.import_module (as hedgecore's lazy names
    are), only what that module imports in turn.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    timed = ("import time as _t; _start = _t.perf_counter(); " + statement
             + "; print((_t.perf_counter() - _start) * 1e6)")
    # The total from a plain interpreter (-X importtime's own bookkeeping slows imports),
    # the per-module rows from a second, instrumented one.
    plain = subprocess.run([sys.executable, "-c", timed], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True)
    total = float(plain.stdout.strip().splitlines()[-1])
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    rows = []
    after_site = False
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        module = name.rstrip()
        if after_site:
            rows.append((float(self_us), float(cumulative_us), module.strip()))
        if module == " site":
            after_site = True
    if not any(module == "hedgecore" for _, _, module in rows):
        raise RuntimeError("no hedgecore entry in -X importtime output:\n" + proc.stderr)
    return total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    for label, statement in STATEMENTS.items():
        report(label, [one_run(statement) for _ in range(args.runs)], args.top)


def report(label: str, runs: list[tuple[float, list[tuple[float, float, str]]]], top: int) -> None:
    totals = sorted(total for total, _ in runs)
    best_total, best_rows = min(runs, key=lambda run: run[0])
    print(f"\n`{label}`: best {best_total / 1e3:.1f} ms, median "
          f"{totals[len(totals) // 2] / 1e3:.1f} ms over {len(runs)} fresh "
          f"interpreters (bar < {BAR_MS:.0f} ms): {'PASS' if best_total / 1e3 < BAR_MS else 'ABOVE'}")
    print(f"top {top} modules by self time in the best run:")
    print(f"{'self ms':>9}{'cumulative ms':>15}  module")
    for self_us, cumulative_us, module in sorted(best_rows, reverse=True)[:top]:
        print(f"{self_us / 1e3:>9.2f}{cumulative_us / 1e3:>15.2f}  {module}")
    hedgecore_rows = [row for row in best_rows if row[2].startswith("hedgecore")]
    print("hedgecore's own modules:")
    for self_us, cumulative_us, module in hedgecore_rows:
        print(f"{self_us / 1e3:>9.2f}{cumulative_us / 1e3:>15.2f}  {module}")


if __name__ == "__main__":
    main()
