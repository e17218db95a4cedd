"""The market-making simulator: the kernel against numpy references, thread-count
independence, and what the policies are for (inventory control, the CARA objective)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.quoting.mmsim import (
    PATHS_PER_BLOCK,
    MarketMakingSpec,
    MMPolicy,
    parse_mm_config,
    policy_tables,
    simulate_market_making,
)
from hedgecore.quoting.mmsim import kernel_arguments as mmsim_kernel_arguments
from tests.mm_reference import simulate_vectorised, walk_paths_scalar


def spec(**overrides):
    values = {
        "mid_model": "gbm", "spot": 96500.0, "vol": 0.5, "drift": 0.0, "horizon_years": 2.0 / 24 / 365, "steps": 120,
        "paths": 2048, "seed": 11, "order_size": 0.1, "intensity_a_per_hour": 30.0, "intensity_k_per_usd": 0.05,
        "inventory_limit": 8, "maker_fee_rate": 0.0001,
        "policies": (MMPolicy("sym", "symmetric", half_spread=20.0),
                  MMPolicy("as", "avellaneda_stoikov", gamma=0.002),
                  MMPolicy("glft", "glft_exact", gamma=0.002),
                  MMPolicy("glft_cf", "glft_closed_form", gamma=0.002)),
        "objective_gamma": 0.002}
    values.update(overrides)
    return MarketMakingSpec(**values)


def kernel_arguments(s, policy):
    return mmsim_kernel_arguments(s, policy_tables(s, policy), s.steps)


@pytest.mark.parametrize("method", ["symmetric", "avellaneda_stoikov", "glft_exact"])
@pytest.mark.parametrize("mid_model", ["gbm", "arithmetic"])
def test_kernel_equals_scalar_reference_on_the_same_stream(method, mid_model):
    from hedgecore._mm import simulate_blocks

    s = spec(mid_model=mid_model, steps=60, intensity_a_per_hour=200.0)
    policy = next(p for p in s.policies if p.method == method)
    arguments = kernel_arguments(s, policy)
    n = 40
    out = np.empty((n, 12))
    simulate_blocks(**arguments, bit_generators=[np.random.SFC64(5)], first_block=0, paths_per_block=n,
                    n_paths=n, out=out, n_threads=1)
    expected = walk_paths_scalar(np.random.SFC64(5), n, **arguments)
    assert out[:, 1].sum() > 100     # fills happened: the test exercises the fill branches
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-9)


def test_kernel_agrees_in_distribution_with_vectorised_numpy():
    from hedgecore._mm import simulate_blocks

    s = spec(steps=100)
    policy = s.policies[2]
    arguments = kernel_arguments(s, policy)
    n = 20_000
    out = np.empty((n, 12))
    streams = [np.random.SFC64(c) for c in np.random.SeedSequence(3).spawn(-(-n // PATHS_PER_BLOCK))]
    simulate_blocks(**arguments, bit_generators=streams, first_block=0, paths_per_block=PATHS_PER_BLOCK,
                    n_paths=n, out=out, n_threads=2)
    numpy_out = simulate_vectorised(np.random.default_rng(4), n, **arguments)
    for column in (0, 1, 2, 4):       # PnL, fills, spread captured, final inventory
        a, b = out[:, column], numpy_out[:, column]
        standard_error = math.sqrt(a.var() / n + b.var() / n)
        assert abs(a.mean() - b.mean()) < 4.0 * standard_error, column


def test_same_seed_same_numbers_on_one_and_two_threads():
    s = spec(paths=3 * PATHS_PER_BLOCK + 17)
    one = simulate_market_making(s, threads=1)
    two = simulate_market_making(s, threads=2)
    for a, b in zip(one.policies, two.policies, strict=True):
        np.testing.assert_array_equal(a.pnl, b.pnl)
        assert a.as_dict() == b.as_dict()
    other = simulate_market_making(s, threads=1, seed=12)
    assert not np.array_equal(other.policies[0].pnl, one.policies[0].pnl)


def test_skewed_quotes_hold_less_inventory_than_symmetric_at_comparable_pnl():
    # the symmetric half spread is the GLFT closed form's at q = 0: the same edge per fill when flat
    from hedgecore.quoting.glft import glft_closed_form

    gamma = 0.0005
    base = spec(steps=240, paths=8192, horizon_years=4.0 / 24 / 365, inventory_limit=20)
    bid, ask = glft_closed_form(base.intensity_a_per_hour * 8760, base.intensity_k_per_usd,
                                gamma * base.order_size, base.vol * base.spot, 0.0)
    assert float(bid) == pytest.approx(float(ask))
    s = spec(steps=240, paths=8192, horizon_years=4.0 / 24 / 365, inventory_limit=20,
             policies=(MMPolicy("sym", "symmetric", half_spread=float(bid)),
                       MMPolicy("glft_cf", "glft_closed_form", gamma=gamma)))
    result = simulate_market_making(s, threads=2)
    sym, skew = result.policy("sym"), result.policy("glft_cf")
    assert skew.inventory_std < 0.7 * sym.inventory_std
    # comparable mean PnL: within 15% of each other
    assert abs(skew.mean_pnl - sym.mean_pnl) < 0.15 * abs(sym.mean_pnl)


def test_avellaneda_stoikov_beats_symmetric_on_its_cara_objective():
    gamma = 0.001
    s = spec(steps=240, paths=8192, horizon_years=4.0 / 24 / 365, inventory_limit=50, objective_gamma=gamma,
             policies=(MMPolicy("sym", "symmetric", half_spread=20.0),
                       MMPolicy("sym_tight", "symmetric", half_spread=10.0),
                       MMPolicy("as", "avellaneda_stoikov", gamma=gamma)))
    result = simulate_market_making(s, threads=2)
    ce = {p.name: p.certainty_equivalent for p in result.policies}
    assert ce["as"] > ce["sym"]
    assert ce["as"] > ce["sym_tight"]


def test_limits_are_never_passed_and_counted():
    s = spec(inventory_limit=2, intensity_a_per_hour=400.0,
             policies=(MMPolicy("sym", "symmetric", half_spread=2.0),))
    result = simulate_market_making(s, threads=2)
    policy = result.policy("sym")
    assert policy.time_at_limits > 0.0
    assert policy.final_inventory_std <= 2 * s.order_size


CONFIG = """
mid: {model: gbm, spot: 96500, vol: 0.5}
horizon_hours: 2
steps: 120
paths: 2048
seed: 7
order_size: 0.1
intensity: {A: 30, k: 0.05}
inventory_limit: 8
policies:
  - {name: symmetric, method: symmetric, half_spread: 20}
  - {name: glft, method: glft_closed_form, gamma: 0.001}
"""


def test_mmsim_command_json_and_thread_independence(tmp_path):
    path = tmp_path / "mm.yaml"
    path.write_text(CONFIG)
    runner = CliRunner()
    outputs = []
    for threads in ("1", "2"):
        result = runner.invoke(app, ["mmsim", str(path), "--format", "json", "--threads", threads])
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout))
    assert outputs[0]["policies"] == outputs[1]["policies"]
    assert [p["name"] for p in outputs[0]["policies"]] == ["symmetric", "glft"]
    assert outputs[0]["paths"] == 2048
    assert outputs[0]["seed"] == 7


def test_mmsim_refuses_absurd_work_and_bad_fields_in_one_line(tmp_path):
    path = tmp_path / "mm.yaml"
    path.write_text(CONFIG)
    runner = CliRunner()
    result = runner.invoke(app, ["mmsim", str(path), "--paths", "1000000000", "--steps", "1000000"])
    assert result.exit_code == 2, result.output
    assert "path-steps" in result.output
    assert "Traceback" not in result.output
    path.write_text(CONFIG.replace("k: 0.05", "k: -1"))
    result = runner.invoke(app, ["mmsim", str(path)])
    assert result.exit_code == 2, result.output
    assert "mm.yaml:8: intensity.k: must be > 0" in result.output


def test_parse_refuses_unknown_method():
    with pytest.raises(ValueError, match=r"policies\[0\]\.method"):
        parse_mm_config({"mid": {"spot": 1, "vol": 0.5}, "horizon_hours": 1, "order_size": 1,
                         "intensity": {"A": 1, "k": 1}, "policies": [{"method": "glf"}]})
