"""A variants study (hedgecore.overlay) on a cluster: every simulator call of the study (per
model, the book alone and with the overlay) is submitted at once as block-range tasks, then
`simulate_variants` runs as in process with the cluster simulator (the same calls, seed and
summaries, so the same numbers bit for bit)."""

from __future__ import annotations

from hedgecore.cluster.merge import ClusterSimulator, PendingRun
from hedgecore.overlay import VariantsResult, VariantStudy, estimate_study, simulate_variants, study_run_specs
from hedgecore.simulation import MAX_MEMORY_BYTES, MAX_WORK, SimulationSpec
from hedgecore.simulation.blocks import resolve_seed


def prefetch_study(simulator: ClusterSimulator, spec: SimulationSpec, study: VariantStudy, *, paths: int | None,
                   steps: int | None, seed: int) -> list[PendingRun]:
    """Submit every call of the study (as `simulate_variants` will ask for them) to the
    cluster; `seed` is the study's resolved seed, common to all of its calls."""
    return [simulator.prefetch(run_spec, paths=paths, steps=steps, seed=seed, max_work=None, max_memory_bytes=None)
            for _named, _overlaid, run_spec in study_run_specs(spec, study)]


def submit_study(simulator: ClusterSimulator, spec: SimulationSpec, study: VariantStudy, *,
                 paths: int | None = None, steps: int | None = None, seed: int | None = None,
                 max_work: float | None = MAX_WORK, max_memory_bytes: float | None = MAX_MEMORY_BYTES) -> int:
    """Check the study as `simulate_variants` does (its policies, then the work bounds of
    every call together), resolve its seed and submit every call; returns the seed, which
    `simulate_variants(..., seed=, simulator=)` then gathers the calls with."""
    study_run_specs(spec, study)  # a variant naming no policy: the in-process error, first
    estimate_study(spec, study, paths=paths, steps=steps).check(max_work, max_memory_bytes)
    study_seed = resolve_seed(spec.seed if seed is None else seed)
    prefetch_study(simulator, spec, study, paths=paths, steps=steps, seed=study_seed)
    return study_seed


def simulate_variants_on_cluster(simulator: ClusterSimulator, spec: SimulationSpec, study: VariantStudy, *,
                                 paths: int | None = None, steps: int | None = None, seed: int | None = None,
                                 max_work: float | None = MAX_WORK,
                                 max_memory_bytes: float | None = MAX_MEMORY_BYTES) -> VariantsResult:
    """hedgecore.overlay.simulate_variants(spec, study, ...) with its simulations on the
    cluster, all submitted before the first is awaited; progress is the simulator's, over
    the whole cluster."""
    study_seed = submit_study(simulator, spec, study, paths=paths, steps=steps, seed=seed, max_work=max_work,
                              max_memory_bytes=max_memory_bytes)
    return simulate_variants(spec, study, paths=paths, steps=steps, seed=study_seed, simulator=simulator,
                             max_work=max_work, max_memory_bytes=max_memory_bytes)
