"""`optimize` on a cluster: every batch of the grid is submitted at once, then `optimize`
runs as in-process with the cluster simulator (the same batches, seed and choice)."""

from __future__ import annotations

from dataclasses import replace

from hedgecore.cluster.merge import ClusterSimulator
from hedgecore.optimize import OptimizeResult, OptimizeSetup, candidate_policies, optimize, optimize_work
from hedgecore.simulation import MAX_MEMORY_BYTES, MAX_WORK, SimulationSpec
from hedgecore.simulation.blocks import resolve_seed as run_seed_of


def resolve_seed(spec: SimulationSpec, seed: int | None) -> int:
    """The seed `optimize` would run with: the option's, the spec's, or one drawn once
    (the simulators' rule, hedgecore.simulation.blocks.resolve_seed)."""
    return run_seed_of(seed if seed is not None else spec.seed)


def prefetch_grid(simulator: ClusterSimulator, spec: SimulationSpec, setup: OptimizeSetup, *, paths: int | None,
                  steps: int | None, seed: int) -> None:
    """Submit every batch of the grid (as `optimize` will ask for them) to the cluster."""
    grid = candidate_policies(setup.policy, setup.search)
    run_paths = paths if paths is not None else spec.paths
    for start in range(0, len(grid), setup.batch_size):
        batch = grid[start : start + setup.batch_size]
        simulator.prefetch(replace(spec, policies=tuple(candidate for _, candidate in batch)),
                           paths=run_paths, steps=steps, seed=seed, max_work=None, max_memory_bytes=None)


def optimize_on_cluster(simulator: ClusterSimulator, spec: SimulationSpec, setup: OptimizeSetup, *,
                        paths: int | None = None, steps: int | None = None, seed: int | None = None,
                        max_work: float | None = MAX_WORK,
                        max_memory_bytes: float | None = MAX_MEMORY_BYTES) -> OptimizeResult:
    """hedgecore.optimize.optimize(spec, setup...) with its simulations on the cluster.

    setup: an OptimizeSetup (policy, search, objective, batch_size, refine, refine_points).
    The refinement rounds depend on the grid's choice and are submitted as they come."""
    optimize_work(spec, setup.search, paths=paths, steps=steps, refine=setup.refine,
                  refine_points=setup.refine_points).check(max_work, max_memory_bytes)
    run_seed = resolve_seed(spec, seed)
    prefetch_grid(simulator, spec, setup, paths=paths, steps=steps, seed=run_seed)
    return optimize(spec, setup.policy, setup.search, setup.objective, paths=paths, steps=steps, seed=run_seed,
                    batch_size=setup.batch_size, refine=setup.refine, refine_points=setup.refine_points,
                    simulator=simulator, max_work=max_work, max_memory_bytes=max_memory_bytes)
