"""Runs on the cluster and their results: submit a simulation as block-range tasks, gather
them, merge in block order and summarise with the in-process code (merge_blocks).

ClusterSimulator has the signature of hedgecore.simulation.simulate, so `optimize` takes it
as its `simulator`; `prefetch` submits runs before they are asked for (an optimisation's
grid batches, a sweep's configs), so that the whole cluster works on all of them at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hedgecore.cluster.client import ClusterUnavailable, worker_threads
from hedgecore.cluster.tasks import TASKS_PER_THREAD, run_blocks, split_blocks
from hedgecore.simulation import (
    MAX_MEMORY_BYTES,
    MAX_WORK,
    BlockResults,
    ProgressCallback,
    SimulationResult,
    SimulationSpec,
    block_count,
    estimate_work,
    merge_blocks,
    start_value,
)
from hedgecore.simulation.blocks import paths_before, resolve_seed

if TYPE_CHECKING:
    from distributed import Client, Future

# How often the progress bar is updated and a Ctrl-C is noticed while tasks run (seconds).
POLL_SECONDS = 0.05


@dataclass(eq=False)
class PendingRun:
    """A simulation submitted to the cluster: its tasks (in block order) and what merges them."""

    spec: SimulationSpec
    paths: int
    steps: int
    seed: int
    option_value: float
    futures: list[Future[BlockResults]]
    paths_per_task: list[int]
    policies: int
    done: set[int] = field(default_factory=set)


RunKey = tuple[SimulationSpec, int, int, int]


class ClusterSimulator:
    """simulate() on a Dask cluster: same arguments, same SimulationResult, bit for bit.

    progress(done, total), if given, counts path x policy units over every run this object
    has submitted (the bar over the whole cluster); the per-call progress is ignored."""

    def __init__(self, client: Client, progress: ProgressCallback | None = None,
                 tasks_per_run: int | None = None) -> None:
        self.client = client
        self.progress = progress
        self.tasks_per_run = tasks_per_run or TASKS_PER_THREAD * worker_threads(client)
        self._pending: dict[RunKey, list[PendingRun]] = {}
        self._runs: list[PendingRun] = []

    # ------------------------------------------------------------------ submitting
    def prefetch(self, spec: SimulationSpec, *, paths: int | None = None, steps: int | None = None,
                 seed: int | None = None, max_work: float | None = MAX_WORK,
                 max_memory_bytes: float | None = MAX_MEMORY_BYTES) -> PendingRun:
        """Validate the run here (the errors of simulate, before any task) and submit its
        tasks; `result(run)`, or a later call with the same arguments, gathers them. Every
        call submits its own tasks: two identical runs both run."""
        estimate = estimate_work(spec, paths=paths, steps=steps)
        estimate.check(max_work, max_memory_bytes)
        n_paths, n_steps = estimate.paths, estimate.steps
        seed_value = resolve_seed(spec.seed if seed is None else seed)
        key: RunKey = (spec, n_paths, n_steps, int(seed_value))
        option_value = start_value(spec, n_steps)  # validates the spec as simulate does
        ranges = split_blocks(block_count(n_paths), self.tasks_per_run)
        # pure=False: two identical runs (two books alike in a sweep) are two sets of tasks,
        # never one result shared by Dask's deduplication of identical-looking calls.
        futures = [self.client.submit(run_blocks, spec, first, last, n_paths, n_steps, int(seed_value), pure=False)
                   for first, last in ranges]
        sizes = [paths_before(last, n_paths) - paths_before(first, n_paths) for first, last in ranges]
        run = PendingRun(spec, n_paths, n_steps, int(seed_value), option_value, futures, sizes,
                         max(1, len(spec.policies)))
        self._pending.setdefault(key, []).append(run)
        self._runs.append(run)
        return run

    def __call__(self, spec: SimulationSpec, *, paths: int | None = None, steps: int | None = None,
                 seed: int | None = None, threads: int | None = None, progress: ProgressCallback | None = None,
                 max_work: float | None = MAX_WORK,
                 max_memory_bytes: float | None = MAX_MEMORY_BYTES) -> SimulationResult:
        estimate = estimate_work(spec, paths=paths, steps=steps)
        seed_value = spec.seed if seed is None else seed
        waiting = self._pending.get((spec, estimate.paths, estimate.steps, int(seed_value))) \
            if seed_value is not None else None
        if waiting:
            return self.result(waiting[0])
        return self.result(self.prefetch(spec, paths=paths, steps=steps, seed=seed, max_work=max_work,
                                         max_memory_bytes=max_memory_bytes))

    # ------------------------------------------------------------------ gathering
    def result(self, run: PendingRun) -> SimulationResult:
        """Wait for a submitted run (reporting progress over every run), gather its block
        results and merge them in block order. Ctrl-C (or any error) cancels every task."""
        waiting = self._pending.get((run.spec, run.paths, run.steps, run.seed), [])
        if run in waiting:
            waiting.remove(run)
        try:
            while not all(future.done() for future in run.futures):
                self._report()
                time.sleep(POLL_SECONDS)
            self._report()
            parts = self._gather(run.futures)
        except BaseException:
            self.cancel()
            raise
        return merge_blocks(run.spec, parts, option_value=run.option_value, paths=run.paths, steps=run.steps,
                            seed=run.seed, threads=1)

    def cancel(self) -> None:
        """Cancel every task still on the cluster."""
        futures = [future for run in self._runs for future in run.futures if not future.done()]
        if futures:
            try:
                self.client.cancel(futures)
            except Exception:  # noqa: BLE001 - a cluster already gone has nothing left to cancel
                pass

    def _gather(self, futures: list[Future[BlockResults]]) -> list[BlockResults]:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        try:
            parts: list[BlockResults] = self.client.gather(futures)
        except KilledWorker as error:
            raise ClusterUnavailable(f"the cluster lost the workers running a task too many times ({error})") from None
        except (CommClosedError, OSError, TimeoutError) as error:
            raise ClusterUnavailable(f"the cluster was lost: {str(error) or type(error).__name__}") from None
        return parts

    def _report(self) -> None:
        if self.progress is None:
            return
        done = total = 0
        for run in self._runs:
            for index, future in enumerate(run.futures):
                units = run.paths_per_task[index] * run.policies
                total += units
                if index in run.done or future.done():
                    run.done.add(index)
                    done += units
        self.progress(done, total)


def cluster_info(client: Client) -> dict[str, Any]:
    """Workers and threads of the cluster (for notes and the benchmark)."""
    info = client.scheduler_info()
    return {"workers": len(info.get("workers", {})), "threads": worker_threads(client)}
