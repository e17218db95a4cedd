"""The unit of work sent to a worker: a range of path blocks of one simulation."""

from __future__ import annotations

from hedgecore.simulation import BlockResults, SimulationSpec, simulate_block_range

# OpenMP threads of one task: a Dask worker runs one task per thread it has, so a task
# takes one core.
TASK_THREADS = 1
# Tasks per worker thread for one run: a few, so that a worker lost late costs little and
# the last tasks of a run finish close together.
TASKS_PER_THREAD = 4


def run_blocks(spec: SimulationSpec, first_block: int, last_block: int, paths: int, steps: int,
               seed: int) -> BlockResults:
    """Blocks [first_block, last_block) of simulate(spec, paths=, steps=, seed=): a pure
    function of its arguments, so a task rerun after a lost worker gives the same arrays."""
    return simulate_block_range(spec, first_block, last_block, paths=paths, steps=steps, seed=seed,
                                threads=TASK_THREADS)


def split_blocks(n_blocks: int, n_tasks: int) -> list[tuple[int, int]]:
    """[first, last) ranges cutting n_blocks into at most n_tasks contiguous pieces, in order."""
    n_tasks = max(1, min(n_tasks, n_blocks))
    bounds = [n_blocks * k // n_tasks for k in range(n_tasks + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(n_tasks)]
