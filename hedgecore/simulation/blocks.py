"""Blocks of paths: how the Monte Carlo runs (the hedging simulator, the market-making
simulator, their block ranges on a cluster) seed their random streams and walk them.

Paths are cut into fixed blocks of PATHS_PER_BLOCK; block b draws from
SeedSequence(seed).spawn(n_blocks)[b] alone, so a seed gives the same numbers on 1 or 16
threads, for any split of the blocks into chunks or cluster tasks, and path i keeps its
numbers when the path count grows. A compiled kernel runs a chunk of blocks at a time;
`run_in_chunks` sizes the chunks to return to Python about every CHUNK_SECONDS, so that a
progress bar moves and Ctrl-C (SIGINT) and SIGTERM stop a run promptly (Python runs signal
handlers only between the kernel's calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

# Paths per random stream. Fixed, so a seed gives the same paths on any thread count; the
# block of a path never changes when `paths` grows (path i always draws from stream i // 1024).
PATHS_PER_BLOCK = 1024
# The compiled loop runs in chunks of path blocks sized to return to Python about this
# often, so that a progress bar moves and Ctrl-C (SIGINT) and SIGTERM stop a run promptly.
CHUNK_SECONDS = 0.15

ProgressCallback = Callable[[int, int], None]


def block_count(paths: int) -> int:
    """How many path blocks (of PATHS_PER_BLOCK paths, the last one partial) `paths` fill."""
    return -(-paths // PATHS_PER_BLOCK)


def paths_before(block: int, paths: int) -> int:
    """How many of a run's `paths` lie in the blocks before `block` (all of them past the end)."""
    return min(block * PATHS_PER_BLOCK, paths)


def resolve_seed(seed: int | None) -> int:
    """The seed a run uses: `seed` (numpy's SeedSequence refuses what is not a seed), or
    fresh entropy from the OS drawn once (the run reports it, so that the same numbers can
    be had again)."""
    sequence = np.random.SeedSequence(seed)
    return seed if seed is not None else int(sequence.entropy)  # type: ignore[arg-type]


def block_seeds(seed: int, first_block: int, last_block: int) -> list[np.random.SeedSequence]:
    """The seed sequences of the blocks [first_block, last_block) of a run seeded with `seed`.

    Block b's is SeedSequence(seed).spawn(n_blocks)[b], which is SeedSequence(seed,
    spawn_key=(b,)) whatever n_blocks: a range of blocks is seeded without the others."""
    entropy = np.random.SeedSequence(seed).entropy
    return [np.random.SeedSequence(entropy, spawn_key=(block,)) for block in range(first_block, last_block)]


def block_streams(seed: int, first_block: int, last_block: int) -> list[np.random.SFC64]:
    """One SFC64 stream per block of [first_block, last_block), each seeded by its block's
    seed sequence; fresh streams at every call, so runs on common paths start alike."""
    return [np.random.SFC64(child) for child in block_seeds(seed, first_block, last_block)]


def block_lane_seeds(seed: int, first_block: int, last_block: int, lanes: int) -> NDArray[np.uint64]:
    """Seed words of `lanes` SFC64 streams per block (a kernel stepping them in SIMD lanes):
    row b - first_block holds consecutive triples of the block's generate_state words, so
    lane 0 is the stream SFC64(block seed) itself."""
    children = block_seeds(seed, first_block, last_block)
    words = np.zeros((len(children), 3 * lanes), dtype=np.uint64)
    for row, child in enumerate(children):
        words[row] = child.generate_state(3 * lanes, np.uint64)
    return words


def run_in_chunks(run_chunk: Callable[[int, int], None], n_blocks: int, n_threads: int,
                  chunk_done: Callable[[int], None] | None = None) -> None:
    """Call run_chunk(first, last) over the blocks [0, n_blocks) in consecutive chunks, then
    chunk_done(last) after each (with the GIL held: report progress there).

    Chunks start at one block per thread and grow (or shrink) to take about CHUNK_SECONDS
    each, a multiple of n_threads blocks; a block's numbers do not depend on its chunk."""
    chunk = n_threads
    first = 0
    while first < n_blocks:
        last = min(first + chunk, n_blocks)
        started = time.perf_counter()
        run_chunk(first, last)
        elapsed = time.perf_counter() - started
        growth = min(4.0, max(0.25, CHUNK_SECONDS / elapsed)) if elapsed > 0.0 else 4.0
        chunk = max(n_threads, int(chunk * growth) // n_threads * n_threads)
        first = last
        if chunk_done is not None:
            chunk_done(last)


__all__ = [
    "CHUNK_SECONDS",
    "PATHS_PER_BLOCK",
    "ProgressCallback",
    "block_count",
    "block_lane_seeds",
    "block_seeds",
    "block_streams",
    "paths_before",
    "resolve_seed",
    "run_in_chunks",
]
