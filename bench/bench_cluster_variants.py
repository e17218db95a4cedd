"""Benchmark of a variants study (configs/sim_btc_overlay.yaml: three models x four variants,
six simulator calls) on a Dask cluster (hedgecore[cluster]) against in process.

In process runs the six calls one after the other, each on --threads OpenMP threads; on the
cluster every call is submitted at once as block-range tasks. Each cluster is started once
(its start-up reported apart), every timing is the best of --repeat runs, and each cluster
run is checked to give the in-process numbers.

    python bench/bench_cluster_variants.py [--config configs/sim_btc_overlay.yaml] [--paths 40000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_config = Path(__file__).resolve().parents[1] / "configs" / "sim_btc_overlay.yaml"
    parser.add_argument("--config", type=Path, default=default_config)
    parser.add_argument("--paths", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local cluster sizes to time")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from hedgecore.cli._errors import Sources
    from hedgecore.cli._load import load_simulation
    from hedgecore.cluster.merge import ClusterSimulator
    from hedgecore.cluster.variants import simulate_variants_on_cluster
    from hedgecore.overlay import estimate_study, simulate_variants

    loaded = load_simulation(args.config, Sources())
    spec, study = loaded.spec, loaded.study
    if study is None:
        raise SystemExit(f"{args.config}: no variants: section")

    def in_process(threads: int) -> object:
        return simulate_variants(spec, study, paths=args.paths, threads=threads)

    estimate = estimate_study(spec, study, paths=args.paths)
    print(f"{args.config.name}: {len(study.models)} models x {len(study.variants)} variants, "
          f"{args.paths:,} paths x {spec.steps} steps, {estimate.work:.3g} path-steps x policies; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    reference = in_process(2)
    timings: dict[str, tuple[float, float]] = {}
    for threads in sorted({min(w, 2) for w in args.workers}):
        timings[f"in-process threads={threads}"] = best_of(lambda threads=threads: in_process(threads), args.repeat)
    for workers in args.workers:
        started = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          scheduler_kwargs={"dashboard_address": ":0"}) as cluster, Client(cluster) as client:
            client.wait_for_workers(workers)
            startup = time.perf_counter() - started
            outcome: dict[str, object] = {}

            def on_cluster(client: Client = client, outcome: dict[str, object] = outcome) -> None:
                outcome["result"] = simulate_variants_on_cluster(ClusterSimulator(client), spec, study,
                                                                 paths=args.paths)

            timings[f"cluster local:{workers}"] = best_of(on_cluster, args.repeat)
            same = outcome["result"].as_dict() == reference.as_dict()  # type: ignore[attr-defined]
            print(f"  local:{workers} cluster start-up {startup:.2f} s; same numbers as in process: {same}")
            if not same:
                raise SystemExit("the cluster run differs from the in-process run")
    for name, (wall, cpu) in timings.items():
        print(f"  {name:<24} {wall:8.2f} s wall  {cpu:8.2f} s CPU of this process")
    for workers in args.workers:
        here = timings[f"in-process threads={min(workers, 2)}"][0]
        there = timings[f"cluster local:{workers}"][0]
        print(f"  local:{workers} vs in process at {min(workers, 2)} thread(s): {there / here - 1.0:+.1%}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
