"""Benchmark of simulate/optimize on a Dask cluster (hedgecore[cluster]) against in process.

Bars (issue "Beyond one machine"), on the 2-core bench machine:
- scaling: a large `optimize` on two local workers at least 1.7x faster than on one;
- overhead: the cluster path within 10% of the in-process run at the same core count
  (local:1 vs threads=1, local:2 vs threads=2), for runs over a few seconds;
and the inputs of the README's paper estimate of a nightly 200-book sweep on 64 cores: one
book's optimize time, the cluster's start-up and per-task costs.

The clusters are started once (their start-up is reported apart) and every timing is the
best of --repeat runs; each cluster run is checked to give the in-process numbers.

    python bench/bench_cluster.py [--config configs/optimize_btc.yaml] [--paths 40000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_config = Path(__file__).resolve().parents[1] / "configs" / "optimize_btc.yaml"
    parser.add_argument("--config", type=Path, default=default_config)
    parser.add_argument("--paths", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from hedgecore.cli._errors import Sources
    from hedgecore.cli.simulate import load_simulation
    from hedgecore.cluster.merge import ClusterSimulator
    from hedgecore.cluster.optimize import optimize_on_cluster
    from hedgecore.optimize import optimize, parse_optimize_section

    loaded = load_simulation(args.config, Sources())
    setup = parse_optimize_section(loaded.optimize)
    spec = loaded.spec

    def in_process(threads: int) -> object:
        return optimize(spec, setup.policy, setup.search, setup.objective, paths=args.paths, threads=threads,
                        batch_size=setup.batch_size, refine=setup.refine, refine_points=setup.refine_points)

    reference = in_process(2)
    print(f"{args.config.name}: optimize, {args.paths:,} paths x {spec.steps} steps, "
          f"{len(reference.candidates)} candidates (grid + refinement), batch {setup.batch_size}")
    timings: dict[str, float] = {}
    for threads in (1, 2):
        wall, _ = best_of(lambda threads=threads: in_process(threads), args.repeat)
        timings[f"in-process threads={threads}"] = wall
    for workers in (1, 2):
        started = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          scheduler_kwargs={"dashboard_address": ":0"}) as cluster, Client(cluster) as client:
            client.wait_for_workers(workers)
            startup = time.perf_counter() - started
            outcome: dict[str, object] = {}

            def on_cluster(client: Client = client, outcome: dict[str, object] = outcome) -> None:
                outcome["result"] = optimize_on_cluster(ClusterSimulator(client), spec, setup, paths=args.paths)

            wall, _ = best_of(on_cluster, args.repeat)
            same = outcome["result"].as_dict() == reference.as_dict()  # type: ignore[attr-defined]
            timings[f"cluster local:{workers}"] = wall
            print(f"  local:{workers} cluster start-up {startup:.2f} s; same numbers as in process: {same}")
            if not same:
                raise SystemExit("the cluster run differs from the in-process run")
    for name, wall in timings.items():
        print(f"  {name:<24} {wall:8.2f} s")
    scaling = timings["cluster local:1"] / timings["cluster local:2"]
    overhead1 = timings["cluster local:1"] / timings["in-process threads=1"] - 1.0
    overhead2 = timings["cluster local:2"] / timings["in-process threads=2"] - 1.0
    print(f"  scaling local:1 -> local:2: {scaling:.2f}x (bar >= 1.7x)")
    print(f"  cluster overhead at 1 core: {overhead1:+.1%}, at 2 cores: {overhead2:+.1%} (bar < 10%)")
    print(f"  one book's optimize on one core: {timings['in-process threads=1']:.2f} s")


if __name__ == "__main__":
    main()
