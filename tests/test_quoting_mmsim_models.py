"""The market-making simulator's mid models (Heston, Merton), its delta hedge and its
event-driven fill sampling: the kernel against the scalar numpy reference on the same
stream, the terminal mid against closed forms, the fill law against per-step draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hedgecore._mm import simulate_blocks
from hedgecore.quoting.mmsim import (
    N_OUT,
    PATHS_PER_BLOCK,
    MarketMakingSpec,
    MMPolicy,
    kernel_arguments,
    parse_mm_config,
    policy_tables,
    simulate_market_making,
)
from tests.mm_reference import simulate_vectorised, simulate_vectorised_per_step, walk_paths_scalar

HESTON = {"heston_v0": 0.25, "heston_kappa": 2.0, "heston_theta": 0.36, "heston_vol_of_vol": 0.6, "heston_rho": -0.5}
MERTON = {"jump_intensity": 10.0, "jump_mean": -0.03, "jump_std": 0.05}


def spec(**overrides):
    values = {
        "mid_model": "gbm", "spot": 96500.0, "vol": 0.5, "drift": 0.0, "horizon_years": 2.0 / 24 / 365, "steps": 120,
        "paths": 2048, "seed": 11, "order_size": 0.1, "intensity_a_per_hour": 30.0, "intensity_k_per_usd": 0.05,
        "inventory_limit": 8, "maker_fee_rate": 0.0001,
        "policies": (MMPolicy("sym", "symmetric", half_spread=20.0),
                     MMPolicy("as", "avellaneda_stoikov", gamma=0.002),
                     MMPolicy("glft", "glft_exact", gamma=0.002),
                     MMPolicy("glft_cf", "glft_closed_form", gamma=0.002))}
    values.update(overrides)
    return MarketMakingSpec(**values)


def run_kernel(s, policy, streams, n, threads=1, paths_per_block=None):
    out = np.empty((n, N_OUT))
    simulate_blocks(**kernel_arguments(s, policy_tables(s, policy), s.steps), bit_generators=streams,
                    first_block=0, paths_per_block=paths_per_block or n, n_paths=n, out=out, n_threads=threads)
    return out


@pytest.mark.parametrize("method", ["symmetric", "avellaneda_stoikov", "glft_exact", "glft_closed_form"])
@pytest.mark.parametrize("model", ["heston", "merton", "gbm_hedged", "arithmetic_hedged"])
def test_kernel_equals_scalar_reference_for_every_model_and_the_hedge(method, model):
    overrides = {"steps": 80, "intensity_a_per_hour": 60.0}
    if model == "heston":
        overrides |= {"mid_model": "heston", **HESTON}
    elif model == "merton":
        overrides |= {"mid_model": "merton", "jump_intensity": 2000.0, "jump_mean": -0.01, "jump_std": 0.02}
    else:
        overrides |= {"mid_model": model.split("_")[0], "hedge_band_units": 0.25, "hedge_cost_rate": 0.0005}
    s = spec(**overrides)
    policy = next(p for p in s.policies if p.method == method)
    n = 30
    out = run_kernel(s, policy, [np.random.SFC64(5)], n)
    expected = walk_paths_scalar(np.random.SFC64(5), n, **kernel_arguments(s, policy_tables(s, policy), s.steps))
    assert out[:, 1].sum() > 100     # fills happened
    if model == "merton":
        assert out[:, 9].sum() > 0   # and jumps
    if model.endswith("hedged"):
        assert out[:, 11].sum() > 0  # and hedge trades
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("method", ["avellaneda_stoikov", "glft_closed_form"])
def test_fill_waiting_times_have_the_law_of_per_step_draws(method):
    # the kernel samples the step of the next fill from the cumulative hazard; a per-step
    # uniform draw per side (the textbook simulation) must give the same fill statistics
    s = spec(steps=200, horizon_years=4.0 / 24 / 365)
    policy = next(p for p in s.policies if p.method == method)
    n = 20_000
    streams = [np.random.SFC64(c) for c in np.random.SeedSequence(3).spawn(-(-n // PATHS_PER_BLOCK))]
    out = run_kernel(s, policy, streams, n, threads=2, paths_per_block=PATHS_PER_BLOCK)
    arguments = kernel_arguments(s, policy_tables(s, policy), s.steps)
    for reference in (simulate_vectorised_per_step(np.random.default_rng(4), n, **arguments),
                      simulate_vectorised(np.random.default_rng(5), n, **arguments)):
        for column in (0, 1, 2, 4, 5, 6):   # PnL, fills, captured, final inventory, inventory moments
            a, b = out[:, column], reference[:, column]
            standard_error = math.sqrt(a.var() / n + b.var() / n)
            assert abs(a.mean() - b.mean()) < 4.5 * standard_error, column
    assert out[:, 1].mean() > 10


def terminal(s, threads=2):
    return simulate_market_making(s, threads=threads).policies[0]


def assert_mean(sample, expected, sigmas=4.5):
    standard_error = sample.std(ddof=1) / math.sqrt(sample.size)
    assert abs(sample.mean() - expected) < sigmas * standard_error, (sample.mean(), expected, standard_error)


def test_gbm_terminal_mid_mean_and_variance():
    t, mu, vol = 0.5, 0.1, 0.6
    s = spec(horizon_years=t, steps=100, paths=40_000, drift=mu, vol=vol, policies=(MMPolicy("sym", "symmetric",
             half_spread=20.0),))
    mid = terminal(s).mid_end
    assert_mean(mid, s.spot * math.exp(mu * t))
    log_return = np.log(mid / s.spot)
    assert_mean(log_return, (mu - 0.5 * vol**2) * t)
    assert log_return.var() == pytest.approx(vol**2 * t, rel=0.03)


def test_merton_jump_counts_are_poisson_and_the_mid_matches_its_moments():
    t, mu, vol = 0.5, 0.05, 0.4
    lam, m, d = MERTON["jump_intensity"], MERTON["jump_mean"], MERTON["jump_std"]
    s = spec(mid_model="merton", horizon_years=t, steps=100, paths=40_000, drift=mu, vol=vol, **MERTON,
             policies=(MMPolicy("glft_cf", "glft_closed_form", gamma=0.002),))
    result = terminal(s)
    jumps = result.jumps
    assert_mean(jumps, lam * t)
    assert jumps.var() == pytest.approx(lam * t, rel=0.04)                      # Poisson: variance = mean
    assert np.mean(jumps == 0) == pytest.approx(math.exp(-lam * t), abs=4 * math.sqrt(math.exp(-lam * t) / 40_000))
    mid = result.mid_end
    assert_mean(mid, s.spot * math.exp(mu * t))                                  # compensated drift
    log_return = np.log(mid / s.spot)
    kappa = math.expm1(m + 0.5 * d * d)
    assert_mean(log_return, (mu - 0.5 * vol**2 - lam * kappa) * t + lam * t * m)
    assert log_return.var() == pytest.approx(vol**2 * t + lam * t * (m * m + d * d), rel=0.03)


def test_heston_terminal_mid_mean_and_mean_log_return():
    t, mu = 0.5, 0.05
    s = spec(mid_model="heston", horizon_years=t, steps=250, paths=40_000, drift=mu, vol=0.5, **HESTON,
             policies=(MMPolicy("sym", "symmetric", half_spread=20.0),))
    mid = terminal(s).mid_end
    assert_mean(mid, s.spot * math.exp(mu * t))
    v0, kappa, theta = HESTON["heston_v0"], HESTON["heston_kappa"], HESTON["heston_theta"]
    integrated_variance = theta * t + (v0 - theta) * (1.0 - math.exp(-kappa * t)) / kappa
    log_return = np.log(mid / s.spot)
    assert_mean(log_return, mu * t - 0.5 * integrated_variance)
    # vol of vol fattens the tails: excess kurtosis of the log return above GBM's 0
    centred = log_return - log_return.mean()
    assert np.mean(centred**4) / np.mean(centred**2) ** 2 > 3.1


def test_delta_hedging_cuts_the_pnl_std_at_the_cost_of_fees():
    base = {"steps": 240, "paths": 8192, "horizon_years": 8.0 / 24 / 365, "inventory_limit": 20, "vol": 0.8,
            "policies": (MMPolicy("sym", "symmetric", half_spread=20.0),)}
    unhedged = terminal(spec(**base))
    hedged = terminal(spec(**base, hedge_band_units=0.2, hedge_cost_rate=0.0005))
    assert hedged.std_pnl < 0.6 * unhedged.std_pnl
    assert hedged.mean_hedging_cost > 0.0
    assert hedged.mean_hedge_trades > 1.0
    assert unhedged.mean_hedging_cost == 0.0
    # the same fills (common random numbers; hedging does not touch the draws): the mean PnL
    # falls by the hedging cost, within the noise of the hedged inventory's mark-to-market
    assert hedged.mean_fills == unhedged.mean_fills
    difference = unhedged.pnl - hedged.pnl
    assert_mean(difference, hedged.mean_hedging_cost)


def test_results_do_not_depend_on_the_thread_count_for_heston_merton_and_hedging():
    for overrides in ({"mid_model": "heston", **HESTON}, {"mid_model": "merton", **MERTON},
                      {"hedge_band_units": 0.1, "hedge_cost_rate": 0.0002}):
        s = spec(paths=2 * PATHS_PER_BLOCK + 5, **overrides)
        one, two = terminal(s, threads=1), terminal(s, threads=2)
        np.testing.assert_array_equal(one.pnl, two.pnl)
        assert one.as_dict() == two.as_dict()


BASE = {"horizon_hours": 2, "steps": 50, "paths": 100, "order_size": 0.1, "intensity": {"A": 30, "k": 0.05},
        "policies": [{"method": "symmetric", "half_spread": 20}]}


def test_parse_mid_models_and_hedge():
    heston = parse_mm_config({**BASE, "mid": {"model": "heston", "spot": 100, "v0": 0.04, "kappa": 2, "theta": 0.09,
                                              "vol_of_vol": 0.5, "rho": -0.7},
                              "hedge": {"method": "fixed", "width": 0.3, "proportional": 0.0004}})
    assert (heston.mid_model, heston.heston_theta, heston.heston_rho, heston.vol) == ("heston", 0.09, -0.7, 0.2)
    assert (heston.hedge_band_units, heston.hedge_cost_rate) == (0.3, 0.0004)
    merton = parse_mm_config({**BASE, "mid": {"model": "merton", "spot": 100, "vol": 0.4, "jump_intensity": 5,
                                              "jump_mean": -0.02, "jump_std": 0.04}})
    assert (merton.jump_intensity, merton.jump_mean, merton.jump_std) == (5.0, -0.02, 0.04)
    assert merton.hedge_band_units is None
    with pytest.raises(ValueError, match=r"mid\.rho"):
        parse_mm_config({**BASE, "mid": {"model": "heston", "spot": 100, "v0": 0.04, "kappa": 2, "theta": 0.09,
                                         "vol_of_vol": 0.5, "rho": -1.5}})
    with pytest.raises(ValueError, match=r"mid.*jump_intensity"):
        parse_mm_config({**BASE, "mid": {"model": "gbm", "spot": 100, "vol": 0.4, "jump_intensity": 5}})
    with pytest.raises(ValueError, match=r"hedge\.width"):
        parse_mm_config({**BASE, "mid": {"spot": 100, "vol": 0.4}, "hedge": {"width": -1}})


def test_mmsim_command_reports_hedging_cost(tmp_path):
    import json

    from typer.testing import CliRunner

    from hedgecore.cli.main import app

    path = tmp_path / "mm.yaml"
    path.write_text("""
mid: {model: merton, spot: 96500, vol: 0.5, jump_intensity: 50, jump_mean: 0.0, jump_std: 0.03}
horizon_hours: 8
steps: 240
paths: 2048
seed: 7
order_size: 0.1
intensity: {A: 30, k: 0.05}
inventory_limit: 20
hedge: {method: fixed, width: 0.2, proportional: 0.0005}
policies:
  - {name: symmetric, method: symmetric, half_spread: 20}
""")
    result = CliRunner().invoke(app, ["mmsim", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    policy = json.loads(result.stdout)["policies"][0]
    assert policy["mean_hedging_cost"] > 0.0
    assert policy["mean_hedge_trades"] > 1.0
    table = CliRunner().invoke(app, ["mmsim", str(path), "--format", "table"])
    assert table.exit_code == 0, table.output
    assert "hedge cost" in table.output
