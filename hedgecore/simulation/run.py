"""Running a simulation: work bounds, the `simulate` facade, and the block ranges that
hedgecore.cluster sends to workers.

`simulate` validates the spec, seeds independent SFC64 streams per fixed-size block of paths
and hands everything to the compiled kernel (hedgecore._sim), which walks every path once
and runs all policies along it (common random numbers). Memory is O(paths): no price path
is ever stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hedgecore._inputs import resolve_threads
from hedgecore.simulation.blocks import (
    PATHS_PER_BLOCK,
    ProgressCallback,
    block_count,
    block_lane_seeds,
    block_streams,
    paths_before,
    resolve_seed,
    run_in_chunks,
)
from hedgecore.simulation.plan import _MODEL_KINDS, _jump_terms, _plan, _positive_int
from hedgecore.simulation.results import (
    PathTrace,
    SimulationResult,
    _non_finite_message,
    _refuse_non_finite,
    _summarise,
)
from hedgecore.simulation.spec import SimulationSpec

# Work bounds (README "Work bounds"): a run is refused before it starts when it needs more
# than MAX_WORK path-steps x policies (about two hours at 1.5e7 a second, the rate of two
# cores on the BTC example) or more than MAX_MEMORY_BYTES (the per-path results of every
# policy are kept: about 56 bytes a path and policy, plus the per-step tables of the book).
# Both bounds can be raised per call (max_work=, max_memory_bytes=; the CLI's --max-work and
# --max-memory-gib) or lifted with None.
MAX_WORK = 100_000_000_000
MAX_MEMORY_BYTES = 8 * 2**30
# Hard limits whatever the bounds: the kernel counts steps in a C int, and a path count
# beyond 2^53 is not even an exact float.
MAX_STEPS = 2**31 - 2
MAX_PATHS = 2**53


class WorkLimitError(ValueError):
    """A run beyond the work or memory bound (README "Work bounds"), refused before it starts."""

    def __init__(self, estimate: WorkEstimate, max_work: float | None, max_memory_bytes: float | None,
                 how: str = "use fewer paths, steps or policies, or raise the bound "
                             "(max_work=, max_memory_bytes=; None lifts it)") -> None:
        self.estimate = estimate
        limits = []
        if max_work is not None and estimate.work > max_work:
            limits.append(f"the bound of {max_work:.3g} path-steps x policies")
        if max_memory_bytes is not None and estimate.memory_bytes > max_memory_bytes:
            limits.append(f"the memory bound of {_bytes_text(max_memory_bytes)}")
        super().__init__(f"the run needs about {estimate.describe()}, beyond {' and '.join(limits)}: {how}")


@dataclass(frozen=True, slots=True)
class WorkEstimate:
    """What a run will cost before it starts.

    work: path-steps x policies (the kernel's time is proportional to it); memory_bytes:
    the peak memory of the arrays the run allocates, per-path results of every policy and
    the per-step tables of the book (an estimate, within a factor of about two).
    """

    paths: int
    steps: int
    policies: int
    work: float
    memory_bytes: float

    def describe(self) -> str:
        return (f"{self.work:.3g} path-steps x policies ({self.paths:,} paths x {self.steps:,} steps x "
                f"{self.policies:,} policies) and {_bytes_text(self.memory_bytes)} of memory")

    def check(self, max_work: float | None = MAX_WORK, max_memory_bytes: float | None = MAX_MEMORY_BYTES,
              how: str | None = None) -> None:
        """Raise WorkLimitError when the run is beyond a bound (None: no bound)."""
        if ((max_work is not None and self.work > max_work)
                or (max_memory_bytes is not None and self.memory_bytes > max_memory_bytes)):
            if how is None:
                raise WorkLimitError(self, max_work, max_memory_bytes)
            raise WorkLimitError(self, max_work, max_memory_bytes, how)


# Bytes per path and policy: the four per-path result arrays plus the summary's temporaries.
_BYTES_PER_PATH_POLICY = 56
# Bytes per path block: its seed words, SeedSequence and bit generator objects.
_BYTES_PER_BLOCK = 2048


def estimate_work(spec: SimulationSpec, *, paths: int | None = None, steps: int | None = None,
                  policies: int | None = None) -> WorkEstimate:
    """The work and memory of `simulate(spec, paths=, steps=)` (policies: count instead of
    the spec's, as `optimize` runs its candidates). Raises ValueError for a path or step
    count that is not a positive integer within the hard limits (MAX_PATHS, MAX_STEPS)."""
    n_paths = _positive_int("paths", spec.paths if paths is None else paths, MAX_PATHS)
    n_steps = _positive_int("steps", spec.steps if steps is None else steps, MAX_STEPS)
    n_policies = max(1, len(spec.policies) if policies is None else int(policies))
    n_options = max(1, len(spec.options))
    n_sets = 1 + sum(1 for policy in spec.policies if policy.method == "leland")
    try:
        longest = max(float(option.expiry_years) for option in spec.options) if spec.options else 0.0
        n_terms = _jump_terms(spec, longest)[3] if math.isfinite(longest) else 1
    except (TypeError, ValueError, OverflowError):
        n_terms = 1  # the validation that follows names the field
    per_step = 16.0 * n_options * n_terms * (2 * n_sets + 6) + 32.0 * n_policies
    memory = (float(n_paths) * n_policies * _BYTES_PER_PATH_POLICY
              + block_count(n_paths) * _BYTES_PER_BLOCK + (n_steps + 1) * per_step)
    return WorkEstimate(paths=n_paths, steps=n_steps, policies=n_policies,
                        work=float(n_paths) * n_steps * n_policies, memory_bytes=memory)


def _bytes_text(size: float) -> str:
    for unit, scale in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20)):
        if size >= scale:
            return f"{size / scale:,.3g} {unit}"
    return f"{size / 2.0**10:,.3g} KiB"


def simulate(
    spec: SimulationSpec,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    max_work: float | None = MAX_WORK,
    max_memory_bytes: float | None = MAX_MEMORY_BYTES,
) -> SimulationResult:
    """Simulate every policy of `spec` on the same paths and summarise the hedged PnL.

    paths, steps, seed override the spec's values when given. threads: OpenMP threads
    (None: all); results do not depend on it. progress(done_paths, total_paths) is called
    with the GIL held between chunks of path blocks; the compiled loop returns to Python
    about every blocks.CHUNK_SECONDS whether or not there is a progress callback, so that signal
    handlers run. max_work, max_memory_bytes: the work bounds (see estimate_work; None
    lifts one); beyond them WorkLimitError (a ValueError) is raised before any work.
    A summary figure that comes out non-finite (an overflow from extreme inputs) raises
    ValueError naming the policy and the figure.

    The premium is the model price at the start at the hedging vol (HedgeSpec.vol):
    Black-Scholes for GBM, Heston (a BS price at the hedging vol, sqrt(theta) by default:
    no closed form is used) and historical replay; the Merton series price for Merton,
    whose hedger also uses the Merton delta. The premium is financed/invested at `rate`.
    """
    if not isinstance(spec, SimulationSpec):
        raise ValueError(f"spec must be a SimulationSpec, got {type(spec).__name__}")
    estimate = estimate_work(spec, paths=paths, steps=steps)
    estimate.check(max_work, max_memory_bytes)
    n_paths, n_steps = estimate.paths, estimate.steps
    seed_value = spec.seed if seed is None else seed
    n_threads = resolve_threads(threads)
    if progress is not None and not callable(progress):
        raise ValueError("progress must be a callable progress(done, total) or None")

    plan = _plan(spec, n_steps)
    option_value = float(plan.pop("_option_value"))
    used_seed = resolve_seed(seed_value)
    blocks = _run_blocks(spec, plan, used_seed, 0, block_count(n_paths), n_paths, n_threads, progress)
    return merge_blocks(spec, [blocks], option_value=option_value, paths=n_paths, steps=n_steps,
                        seed=used_seed, threads=n_threads)


@dataclass(frozen=True, slots=True)
class BlockResults:
    """The raw per-path results of the path blocks [first_block, last_block): arrays of shape
    (policies, paths of those blocks), path j of the run in column j - first_block *
    PATHS_PER_BLOCK. trace: the path-0 trace (policies, 4, steps + 1), only when
    first_block is 0. What `simulate_block_range` returns and `merge_blocks` summarises."""

    first_block: int
    last_block: int
    pnl: NDArray[np.float64]
    cost: NDArray[np.float64]
    funding: NDArray[np.float64]
    trades: NDArray[np.float64]
    trace: NDArray[np.float64] | None = None


def simulate_block_range(spec: SimulationSpec, first_block: int, last_block: int, *, paths: int, steps: int,
                         seed: int, threads: int | None = None) -> BlockResults:
    """Run the path blocks [first_block, last_block) of `simulate(spec, paths=, steps=, seed=)`
    and return their raw per-path results: the same numbers, bit for bit, as those blocks
    give in the whole run (block b draws from SeedSequence(seed).spawn(n_blocks)[b] only).
    `seed` is the run's resolved seed (SimulationResult.seed). A pure function of its
    arguments: the unit of work that hedgecore.cluster sends to a worker."""
    n_paths = _positive_int("paths", paths, MAX_PATHS)
    n_steps = _positive_int("steps", steps, MAX_STEPS)
    if not 0 <= first_block < last_block <= block_count(n_paths):
        raise ValueError(f"blocks [{first_block}, {last_block}) are outside the {block_count(n_paths)} blocks "
                         f"of {n_paths} paths")
    plan = _plan(spec, n_steps)
    plan.pop("_option_value")
    return _run_blocks(spec, plan, seed, first_block, last_block, n_paths, resolve_threads(threads), None)


def _run_blocks(spec: SimulationSpec, plan: dict[str, Any], seed: int, first_block: int, last_block: int,
                n_paths: int, n_threads: int, progress: ProgressCallback | None) -> BlockResults:
    """The compiled kernel over the blocks [first_block, last_block), in chunks."""
    from hedgecore._sim import LANE_STREAMS, bitgen_addresses, simulate_blocks

    # GBM steps LANE_STREAMS SFC64 streams per block in SIMD lanes (lane 0 is numpy's
    # SFC64 of the block's seed itself); the other models draw through numpy's
    # distributions from one SFC64 per block.
    n_blocks = last_block - first_block
    gbm = plan["model_kind"] == _MODEL_KINDS["gbm"]
    lane_seeds = (block_lane_seeds(seed, first_block, last_block, LANE_STREAMS) if gbm
                  else np.zeros((n_blocks, 3 * LANE_STREAMS), dtype=np.uint64))
    # `addresses` points into the streams: they live until the kernel's last call.
    streams = [] if gbm else block_streams(seed, first_block, last_block)
    addresses = bitgen_addresses(streams) if streams else np.zeros(n_blocks, dtype=np.uintp)

    # The kernel writes path j of its arrays from the j-th path of the blocks it is given, so
    # the arrays hold this range's paths only; path 0 (and its trace) is in range 0 alone.
    range_paths = paths_before(last_block, n_paths) - paths_before(first_block, n_paths)
    n_policies = len(spec.policies)
    pnl = np.empty((n_policies, range_paths))
    cost = np.empty((n_policies, range_paths))
    funding = np.empty((n_policies, range_paths))
    trades = np.empty((n_policies, range_paths))
    trace = np.full((n_policies, 4, plan["steps"] + 1), np.nan)

    def run_chunk(first: int, last: int) -> None:
        simulate_blocks(
            **plan,
            bitgens=addresses[first:last],
            lane_seeds=lane_seeds[first:last],
            first_block=first,
            paths_per_block=PATHS_PER_BLOCK,
            pnl=pnl, cost=cost, funding=funding, trades=trades, trace=trace,
            n_threads=n_threads,
        )

    def chunk_done(last: int) -> None:
        if progress is not None:
            progress(paths_before(first_block + last, n_paths), n_paths)

    run_in_chunks(run_chunk, n_blocks, n_threads, chunk_done)
    return BlockResults(first_block=first_block, last_block=last_block, pnl=pnl, cost=cost, funding=funding,
                        trades=trades, trace=trace if first_block == 0 else None)


def merge_blocks(spec: SimulationSpec, blocks: list[BlockResults], *, option_value: float, paths: int, steps: int,
                 seed: int, threads: int) -> SimulationResult:
    """The SimulationResult of a run from the results of its block ranges, in any order:
    they are put in block order, must cover every block once, and are summarised by the
    same code whatever the split (so the numbers, exact quantiles included, are those of
    one in-process run)."""
    ordered = sorted(blocks, key=lambda part: part.first_block)
    expected = 0
    for part in ordered:
        if part.first_block != expected:
            raise ValueError(f"block results do not cover the run: expected block {expected}, got {part.first_block}")
        expected = part.last_block
    if expected != block_count(paths):
        raise ValueError(f"block results end at block {expected}, the run has {block_count(paths)}")
    if len(ordered) == 1:
        pnl, cost, funding, trades = ordered[0].pnl, ordered[0].cost, ordered[0].funding, ordered[0].trades
    else:
        pnl, cost, funding, trades = (np.concatenate([getattr(part, name) for part in ordered], axis=1)
                                      for name in ("pnl", "cost", "funding", "trades"))
    trace = ordered[0].trace
    assert trace is not None  # block 0's range carries it
    for p, policy in enumerate(spec.policies):
        for figure, values in (("PnL", pnl[p]), ("cost", cost[p]), ("funding", funding[p])):
            if not np.isfinite(values).all():
                raise ValueError(_non_finite_message(policy.name, f"the per-path {figure}"))
    results = tuple(
        _summarise(policy, pnl[p], cost[p], funding[p], trades[p])
        for p, policy in enumerate(spec.policies)
    )
    _refuse_non_finite(results, option_value)
    traces = tuple(PathTrace(spot=trace[p, 0], target=trace[p, 1], half_width=trace[p, 2], hedge=trace[p, 3])
                   for p in range(len(spec.policies)))
    return SimulationResult(
        option_value=option_value,
        paths=paths, steps=steps, seed=seed, threads=threads,
        policies=results, traces=traces,
    )


def start_value(spec: SimulationSpec, steps: int) -> float:
    """The book's model value at the start (SimulationResult.option_value) for `steps`."""
    return float(_plan(spec, _positive_int("steps", steps, MAX_STEPS))["_option_value"])
