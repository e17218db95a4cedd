"""Blocks of paths (hedgecore.simulation.blocks): the seeding that both simulators and the
cluster's block ranges share, and the chunked loop that walks the blocks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hedgecore.quoting.mmsim import MarketMakingSpec, MMPolicy, simulate_market_making
from hedgecore.simulation import GBMModel, HedgeSpec, OptionSpec, PolicySpec, SimulationSpec, simulate
from hedgecore.simulation.blocks import (
    PATHS_PER_BLOCK,
    block_count,
    block_lane_seeds,
    block_seeds,
    block_streams,
    paths_before,
    resolve_seed,
    run_in_chunks,
)


def test_block_streams_are_the_spawned_children_for_any_range() -> None:
    # The contract of every run: block b draws from SeedSequence(seed).spawn(n_blocks)[b],
    # whichever range of blocks is seeded and whatever n_blocks is.
    for first, last in ((0, 9), (3, 7), (8, 9)):
        spawned = [np.random.SFC64(child) for child in np.random.SeedSequence(2026).spawn(9)]
        streams = block_streams(2026, first, last)
        assert len(streams) == last - first
        for offset, stream in enumerate(streams):
            assert stream.random_raw(4).tolist() == spawned[first + offset].random_raw(4).tolist()
    # fresh streams at every call: drawing from one set leaves the next call's unmoved
    first_set = block_streams(7, 0, 2)
    first_set[0].random_raw(100)
    expected = np.random.SFC64(np.random.SeedSequence(7).spawn(2)[0]).random_raw(4)
    np.testing.assert_array_equal(block_streams(7, 0, 2)[0].random_raw(4), expected)


def test_lane_seeds_are_the_block_seeds_words() -> None:
    words = block_lane_seeds(11, 2, 5, lanes=4)
    assert words.shape == (3, 12)
    assert words.dtype == np.uint64
    for row, child in enumerate(np.random.SeedSequence(11).spawn(5)[2:5]):
        np.testing.assert_array_equal(words[row], child.generate_state(12, np.uint64))
    assert [seq.spawn_key for seq in block_seeds(11, 2, 5)] == [(2,), (3,), (4,)]


def test_block_count_and_paths_before() -> None:
    assert block_count(1) == 1
    assert block_count(PATHS_PER_BLOCK) == 1
    assert block_count(PATHS_PER_BLOCK + 1) == 2
    paths = 3 * PATHS_PER_BLOCK + 17
    assert [paths_before(block, paths) for block in range(5)] == [
        0, PATHS_PER_BLOCK, 2 * PATHS_PER_BLOCK, 3 * PATHS_PER_BLOCK, paths]
    # the sizes of any split of the blocks add up to the paths
    bounds = (0, 1, 3, block_count(paths))
    assert sum(paths_before(b, paths) - paths_before(a, paths) for a, b in itertools.pairwise(bounds)) == paths


@pytest.mark.parametrize(("n_blocks", "n_threads"), [(1, 1), (37, 3), (200, 1), (5, 8)])
def test_run_in_chunks_covers_every_block_once_in_order(n_blocks: int, n_threads: int) -> None:
    chunks: list[tuple[int, int]] = []
    reported: list[int] = []
    run_in_chunks(lambda first, last: chunks.append((first, last)), n_blocks, n_threads, reported.append)
    assert chunks[0][0] == 0
    assert chunks[-1][1] == n_blocks
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert all(first < last for first, last in chunks)
    # every chunk but the last is a whole number of blocks per thread
    assert all((last - first) % n_threads == 0 for first, last in chunks[:-1])
    assert reported == [last for _, last in chunks]


def test_run_in_chunks_without_a_report_and_without_blocks() -> None:
    calls: list[tuple[int, int]] = []
    run_in_chunks(lambda first, last: calls.append((first, last)), 0, 2)
    assert calls == []
    run_in_chunks(lambda first, last: calls.append((first, last)), 3, 2)
    assert calls[-1][1] == 3


def test_resolve_seed() -> None:
    assert resolve_seed(42) == 42
    drawn = {resolve_seed(None) for _ in range(3)}
    assert len(drawn) == 3
    assert all(isinstance(seed, int) and 0 <= seed < 2**128 for seed in drawn)
    with pytest.raises(ValueError, match="non-negative"):
        resolve_seed(-1)


def _sim_spec(seed: int | None) -> SimulationSpec:
    return SimulationSpec(
        model=GBMModel(spot=100.0, drift=0.0, vol=0.5), rate=0.0, horizon_years=0.05, steps=20,
        paths=PATHS_PER_BLOCK + 300, seed=seed,
        options=(OptionSpec(type="call", strike=100.0, expiry_years=0.05, quantity=-1.0),),
        hedge=HedgeSpec(vol=0.5), policies=(PolicySpec(name="each-step", method="time", every=1),))


def test_an_unseeded_run_reports_the_seed_that_gives_its_numbers_again() -> None:
    first = simulate(_sim_spec(None), threads=2)
    again = simulate(_sim_spec(first.seed), threads=1)
    np.testing.assert_array_equal(first.policies[0].pnl, again.policies[0].pnl)

    mm = MarketMakingSpec(
        mid_model="gbm", spot=96500.0, vol=0.5, drift=0.0, horizon_years=1.0 / 24 / 365, steps=30,
        paths=PATHS_PER_BLOCK + 5, seed=None, order_size=0.1, intensity_a_per_hour=30.0,
        intensity_k_per_usd=0.05, inventory_limit=5, maker_fee_rate=0.0,
        policies=(MMPolicy("sym", "symmetric", half_spread=20.0),))
    run = simulate_market_making(mm, threads=2)
    rerun = simulate_market_making(mm, seed=run.seed, threads=1)
    assert rerun.seed == run.seed
    np.testing.assert_array_equal(run.policies[0].pnl, rerun.policies[0].pnl)


def test_an_unseeded_optimisation_reports_the_seed_that_gives_its_choice_again() -> None:
    from hedgecore.optimize import Objective, optimize

    spec = _sim_spec(None)
    base = PolicySpec(name="band", method="fixed", width=0.1)
    objective = Objective("mean_variance", risk_weight=1e-3)
    first = optimize(spec, base, {"width": (0.05, 0.2)}, objective, threads=2)
    assert 0 <= first.seed < 2**128
    again = optimize(spec, base, {"width": (0.05, 0.2)}, objective, seed=first.seed, threads=1)
    assert [c.objective for c in again.candidates] == [c.objective for c in first.candidates]
    assert again.chosen.parameters == first.chosen.parameters


def test_progress_of_both_simulators_reaches_the_total() -> None:
    seen: list[tuple[int, int]] = []
    simulate(_sim_spec(3), threads=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (PATHS_PER_BLOCK + 300, PATHS_PER_BLOCK + 300)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    mm_seen: list[tuple[int, int]] = []
    mm = MarketMakingSpec(
        mid_model="arithmetic", spot=96500.0, vol=0.5, drift=0.0, horizon_years=1.0 / 24 / 365, steps=10,
        paths=2 * PATHS_PER_BLOCK + 1, seed=4, order_size=0.1, intensity_a_per_hour=30.0,
        intensity_k_per_usd=0.05, inventory_limit=5, maker_fee_rate=0.0,
        policies=(MMPolicy("narrow", "symmetric", half_spread=10.0), MMPolicy("wide", "symmetric", half_spread=40.0)))
    simulate_market_making(mm, threads=1, progress=lambda done, total: mm_seen.append((done, total)))
    total = 2 * (2 * PATHS_PER_BLOCK + 1)       # path x policy units
    assert mm_seen[-1] == (total, total)
    assert [done for done, _ in mm_seen] == sorted(done for done, _ in mm_seen)
