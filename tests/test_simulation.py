"""Tests of the Monte Carlo hedging simulator against theory and hand computations.

References used (none of them is the code under test):
- Black-Scholes prices, deltas and gammas written here with scipy.special.ndtr;
- QuantLib's Merton jump-diffusion engine for the Merton premium;
- Derman-Kamal: std of the hedging error ~ sqrt(pi/4) vega sigma / sqrt(N);
- Leland (1985): hedging at sigma_L costs about the Leland price;
- hand-rolled numpy replays of short price series.
Statistical checks compare within a few standard errors, so they hold for any seed.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from hedgecore.simulation import (
    CostSpec,
    GBMModel,
    HedgeSpec,
    HestonModel,
    HistoricalModel,
    MertonModel,
    OptionSpec,
    PolicySpec,
    SimulationSpec,
    simulate,
)

HOURS_PER_YEAR = 365.0 * 24.0


def bs_d1(spot, strike, tau, vol, rate):
    return (np.log(spot / strike) + (rate + 0.5 * vol * vol) * tau) / (vol * np.sqrt(tau))


def bs_price(spot, strike, tau, vol, rate, is_call=True):
    d1 = bs_d1(spot, strike, tau, vol, rate)
    d2 = d1 - vol * np.sqrt(tau)
    if is_call:
        return spot * ndtr(d1) - strike * np.exp(-rate * tau) * ndtr(d2)
    return strike * np.exp(-rate * tau) * ndtr(-d2) - spot * ndtr(-d1)


def bs_delta(spot, strike, tau, vol, rate, is_call=True):
    d1 = bs_d1(spot, strike, tau, vol, rate)
    return ndtr(d1) if is_call else ndtr(d1) - 1.0


def bs_gamma(spot, strike, tau, vol, rate):
    d1 = bs_d1(spot, strike, tau, vol, rate)
    return np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) / (spot * vol * np.sqrt(tau))


def bs_vega(spot, strike, tau, vol, rate):
    d1 = bs_d1(spot, strike, tau, vol, rate)
    return spot * np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * math.sqrt(tau)


NO_COSTS = CostSpec()
SPOT_HEDGE = HedgeSpec()


def one_option_spec(policies, *, steps=50, paths=4000, seed=11, drift=0.0, rate=0.0, vol=0.2,
                    costs=NO_COSTS, quantity=-1.0, hedge=SPOT_HEDGE, settlement="linear"):
    return SimulationSpec(
        model=GBMModel(spot=100.0, drift=drift, vol=vol),
        options=(OptionSpec("call", 100.0, 1.0, quantity, settlement),),
        policies=tuple(policies),
        horizon_years=1.0, steps=steps, paths=paths, seed=seed, rate=rate, hedge=hedge, costs=costs,
    )


# ----------------------------------------------------------------------- discrete hedging
def test_derman_kamal_slope_and_constant():
    """Zero costs: std of the hedged PnL ~ sqrt(pi/4) vega sigma / sqrt(N)."""
    counts = np.array([16, 64, 256])
    stds = []
    for n in counts:
        result = simulate(one_option_spec([PolicySpec("t", "time")], steps=int(n), paths=8000, seed=5))
        stds.append(result.policies[0].std_pnl)
    stds = np.array(stds)
    slope = np.polyfit(np.log(counts), np.log(stds), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.05)
    vega = bs_vega(100.0, 100.0, 1.0, 0.2, 0.0)
    predicted = math.sqrt(math.pi / 4.0) * vega * 0.2 / np.sqrt(counts)
    # The std of a sample std is ~ std / sqrt(2 n); the asymptotic formula is within a few % at
    # N >= 64 (the N = 16 point carries an O(1/N) correction).
    np.testing.assert_allclose(stds[1:], predicted[1:], rtol=0.05)


@pytest.mark.parametrize("seed", [1, 2])
def test_mean_pnl_zero_when_drift_equals_rate(seed):
    spec = one_option_spec([PolicySpec("t", "time"), PolicySpec("naked", "none")],
                           drift=0.05, rate=0.05, steps=40, paths=8000, seed=seed)
    for result in simulate(spec).policies:
        assert abs(result.mean_pnl) < 4.0 * result.stderr_pnl


def test_hull_example():
    """Hull's 100,000-call example: premium ~ $240,000; std of the hedged cost falls as
    rebalancing gets more frequent (close to sqrt(4/20)... ratios of 1/sqrt(N))."""
    policies = [PolicySpec(f"every{k}", "time", every=k) for k in (1, 2, 4)]
    spec = SimulationSpec(
        model=GBMModel(spot=49.0, drift=0.13, vol=0.20),
        options=(OptionSpec("call", 50.0, 0.3846, -100_000),),
        policies=tuple(policies), horizon_years=0.3846, steps=20, paths=20000, seed=7, rate=0.05,
    )
    result = simulate(spec)
    expected_value = -100_000 * bs_price(49.0, 50.0, 0.3846, 0.2, 0.05)
    assert result.option_value == pytest.approx(expected_value, rel=1e-12)
    assert result.option_value == pytest.approx(-240_000, rel=0.01)
    stds = [p.std_pnl for p in result.policies]
    assert stds[0] < stds[1] < stds[2]
    # Hull's table: performance measure (std / premium) about 0.21 for weekly hedging
    assert stds[0] / -result.option_value == pytest.approx(0.2, abs=0.03)


def test_naked_short_call_pnl_is_premium_minus_payoff():
    """Policy none: PnL = premium grown at the rate - payoff, mean = e^{rT} V0 - E[payoff]."""
    spec = one_option_spec([PolicySpec("naked", "none")], drift=0.05, rate=0.05, steps=10,
                           paths=20000, seed=3)
    result = simulate(spec).policies[0]
    assert result.mean_trades == 0.0
    assert abs(result.mean_pnl) < 4.0 * result.stderr_pnl
    # the best case is keeping the whole premium
    premium = bs_price(100.0, 100.0, 1.0, 0.2, 0.05) * math.exp(0.05)
    assert np.max(result.pnl) == pytest.approx(premium, rel=1e-12)


# ----------------------------------------------------------------------- price models
def _forward_spec(model, *, steps=24, paths=20000, seed=9, rate=0.03):
    """A long, tiny-strike call: its payoff is S_T - K, so the naked PnL tests E[S_T]."""
    return SimulationSpec(
        model=model, options=(OptionSpec("call", 1e-6, 1.0, 1.0),),
        policies=(PolicySpec("naked", "none"),), horizon_years=1.0, steps=steps, paths=paths,
        seed=seed, rate=rate, hedge=HedgeSpec(vol=0.5),
    )


@pytest.mark.parametrize(
    "model",
    [
        GBMModel(spot=100.0, drift=0.03, vol=0.6),
        MertonModel(spot=100.0, drift=0.03, vol=0.3, jump_intensity=3.0, jump_mean=-0.1, jump_std=0.15),
        HestonModel(spot=100.0, drift=0.03, v0=0.25, kappa=2.0, theta=0.3, vol_of_vol=0.9, rho=-0.6),
        HestonModel(spot=100.0, drift=0.03, v0=0.25, kappa=2.0, theta=0.3, vol_of_vol=0.9, rho=-0.6,
                    scheme="euler"),
    ],
    ids=["gbm", "merton", "heston_qe", "heston_euler"],
)
def test_models_are_martingales_at_the_drift(model):
    """E[S_T] = S_0 e^{drift T}: mean naked PnL of the forward-like call is ~0."""
    result = simulate(_forward_spec(model)).policies[0]
    assert abs(result.mean_pnl) < 4.0 * result.stderr_pnl


def test_gbm_terminal_price_is_lognormal():
    """The whole GBM path (SFC64 lane streams, Box-Muller, the log step, exp) against the
    exact law: log(S_T / S_0) ~ N((mu - vol^2/2) T, vol^2 T), by scipy's Kolmogorov-Smirnov
    test and the first four moments (a fixed seed: deterministic)."""
    from scipy import stats

    drift, vol, paths = 0.03, 0.6, 200_000
    spec = _forward_spec(GBMModel(spot=100.0, drift=drift, vol=vol), steps=50, paths=paths, seed=21, rate=0.0)
    result = simulate(spec)
    # naked long call with a 1e-6 strike: PnL = S_T - K - premium
    terminal = result.policies[0].pnl + 1e-6 + result.option_value
    log_return = np.log(terminal / 100.0)
    mean, std = (drift - 0.5 * vol * vol), vol
    assert stats.kstest(log_return, "norm", args=(mean, std)).pvalue > 1e-3
    z = (log_return - mean) / std
    assert abs(np.mean(z)) < 4.0 / math.sqrt(paths)
    assert abs(np.var(z) - 1.0) < 4.0 * math.sqrt(2.0 / paths)
    assert abs(stats.skew(z)) < 4.0 * math.sqrt(6.0 / paths)
    assert abs(stats.kurtosis(z)) < 4.0 * math.sqrt(24.0 / paths)


def test_merton_premium_matches_quantlib():
    """QuantLib's Bates engine with a vanishing vol of vol is Merton's model."""
    ql = pytest.importorskip("QuantLib")
    spot, strike, rate, vol = 100.0, 95.0, 0.02, 0.25
    intensity, jump_mean, jump_std = 1.5, -0.08, 0.2
    today = ql.Date(1, 1, 2026)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    tau = 182 / 365.0
    spec = SimulationSpec(
        model=MertonModel(spot, rate, vol, intensity, jump_mean, jump_std),
        options=(OptionSpec("call", strike, tau, 1.0),), policies=(PolicySpec("n", "none"),),
        horizon_years=tau, steps=4, paths=64, seed=0, rate=rate,
    )
    ours = simulate(spec).option_value

    process = ql.BatesProcess(
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, day_count)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, day_count)),
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        vol ** 2, 5.0, vol ** 2, 1e-4, 0.0,             # v0, kappa, theta, vol of vol, rho
        intensity, jump_mean, jump_std,                 # lambda, mean and std of the log jump
    )
    option = ql.EuropeanOption(ql.PlainVanillaPayoff(ql.Option.Call, strike),
                               ql.EuropeanExercise(today + 182))
    option.setPricingEngine(ql.BatesEngine(ql.BatesModel(process), 192))
    assert ours == pytest.approx(option.NPV(), rel=1e-7)


def test_merton_hedged_with_merton_delta_beats_naked():
    spec = SimulationSpec(
        model=MertonModel(100.0, 0.0, 0.2, 1.0, -0.05, 0.1),
        options=(OptionSpec("call", 100.0, 0.5, -1.0),),
        policies=(PolicySpec("t", "time"), PolicySpec("n", "none")),
        horizon_years=0.5, steps=50, paths=8000, seed=4,
    )
    hedged, naked = simulate(spec).policies
    assert hedged.std_pnl < 0.5 * naked.std_pnl
    assert abs(hedged.mean_pnl) < 4.0 * hedged.stderr_pnl


# ----------------------------------------------------------------------- historical replay
def test_historical_replay_matches_hand_hedge():
    prices = np.array([100.0, 103.0, 99.5, 101.0, 104.0])
    rate, vol, cost, horizon = 0.04, 0.5, 0.001, 4.0 / 365.0
    strike, quantity, steps = 101.0, -3.0, 4
    spec = SimulationSpec(
        model=HistoricalModel(prices=tuple(prices)),
        options=(OptionSpec("call", strike, horizon, quantity),),
        policies=(PolicySpec("daily", "time", every=1),),
        horizon_years=horizon, steps=steps, paths=1, seed=0, rate=rate,
        hedge=HedgeSpec(vol=vol), costs=CostSpec(proportional=cost),
    )
    result = simulate(spec)

    dt = horizon / steps
    taus = horizon - dt * np.arange(steps)
    hedges = -quantity * bs_delta(prices[:steps], strike, taus, vol, rate)
    premium = -quantity * bs_price(prices[0], strike, horizon, vol, rate)
    cash, held, total_cost = premium, 0.0, 0.0
    for k in range(steps):
        if k > 0:
            cash *= math.exp(rate * dt)
        trade = hedges[k] - held
        fee = cost * prices[k] * abs(trade)
        cash -= trade * prices[k] + fee
        total_cost += fee
        held = hedges[k]
    cash *= math.exp(rate * dt)
    expected = cash + held * prices[-1] + quantity * max(prices[-1] - strike, 0.0)

    policy = result.policies[0]
    assert policy.pnl[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert policy.cost[0] == pytest.approx(total_cost, rel=1e-12)
    assert policy.trades[0] == steps
    trace = result.traces[0]
    np.testing.assert_allclose(trace.spot, prices, rtol=1e-14)
    np.testing.assert_allclose(trace.hedge[:steps], hedges, rtol=1e-12)
    assert result.option_value == pytest.approx(-premium, rel=1e-12)


def test_historical_block_bootstrap_uses_blocks_of_the_series():
    rng = np.random.default_rng(0)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 60)))
    returns = np.diff(np.log(prices))
    spec = SimulationSpec(
        model=HistoricalModel(prices=tuple(prices), block_size=5),
        options=(OptionSpec("put", 100.0, 0.1, -1.0),), policies=(PolicySpec("t", "time"),),
        horizon_years=0.1, steps=20, paths=50, seed=3, hedge=HedgeSpec(vol=0.3),
    )
    trace = simulate(spec).traces[0]
    path_returns = np.diff(np.log(trace.spot))
    assert trace.spot[0] == pytest.approx(prices[0])
    for block in range(4):
        chunk = path_returns[5 * block: 5 * block + 5]
        starts = [s for s in range(returns.size - 4) if np.allclose(returns[s:s + 5], chunk, rtol=1e-9, atol=1e-12)]
        assert starts, f"block {block} is not a run of consecutive returns of the series"


def test_historical_from_csv(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,price\n2024-01-01T00:00:00Z,100\n2024-01-02T00:00:00Z,102\n"
                    "2024-01-03T00:00:00Z,101\n2024-01-04T00:00:00Z,103\n")
    model = HistoricalModel.from_csv(path)
    assert model.prices == (100.0, 102.0, 101.0, 103.0)
    returns = np.diff(np.log([100.0, 102.0, 101.0, 103.0]))
    assert model.realised_vol() == pytest.approx(np.std(returns, ddof=1) * math.sqrt(365.0))


# ----------------------------------------------------------------------- instruments and costs
@pytest.mark.parametrize("instrument", ["linear_perp", "inverse_perp"])
def test_perp_funding_matches_q_s_f_h(instrument):
    """Constant price, deep in-the-money call (delta exactly 1): the hedge holds q = -quantity
    all the way, funding = q S f_8h H / 8h."""
    funding_8h, horizon, quantity = 0.0001, 30.0 / 365.0, -2.0
    spec = SimulationSpec(
        model=GBMModel(spot=50_000.0, drift=0.0, vol=0.0),
        options=(OptionSpec("call", 1.0, horizon, quantity),), policies=(PolicySpec("t", "time"),),
        horizon_years=horizon, steps=90, paths=3, seed=1,
        hedge=HedgeSpec(instrument=instrument, vol=0.5), costs=CostSpec(funding_rate_8h=funding_8h),
    )
    result = simulate(spec).policies[0]
    expected = -quantity * 50_000.0 * funding_8h * horizon * HOURS_PER_YEAR / 8.0
    np.testing.assert_allclose(result.funding, expected, rtol=1e-12)
    assert result.mean_funding == pytest.approx(expected, rel=1e-12)
    assert result.mean_trades == 1.0


def test_hedge_instruments_agree_without_costs():
    """Zero rate and costs: spot, linear perp and inverse perp hedges give the same PnL
    (the inverse perp's USD notional is re-sized to the coin delta every step)."""
    base = one_option_spec([PolicySpec("t", "time")], steps=30, paths=2000, seed=8)
    pnls = [simulate(replace(base, hedge=HedgeSpec(instrument=name))).policies[0].pnl
            for name in ("spot", "linear_perp", "inverse_perp")]
    np.testing.assert_allclose(pnls[1], pnls[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pnls[2], pnls[0], rtol=1e-9, atol=1e-9)


def test_coin_settled_book_hedges_its_coin_premium():
    """A coin-settled option whose premium is held in coin, hedged at the premium-adjusted
    delta, has the same PnL as the linear option (zero costs, spot hedge)."""
    linear = one_option_spec([PolicySpec("t", "time")], steps=20, paths=2000, seed=2, rate=0.03)
    inverse = replace(linear, options=(replace(linear.options[0], settlement="inverse"),))
    a = simulate(linear)
    b = simulate(inverse)
    assert a.option_value == pytest.approx(b.option_value, rel=1e-14)
    np.testing.assert_allclose(b.policies[0].pnl, a.policies[0].pnl, rtol=1e-9, atol=1e-9)
    # the first hedge is the BS hedge minus the coin premium held
    coin_premium = -b.option_value / 100.0
    assert b.traces[0].hedge[0] == pytest.approx(a.traces[0].hedge[0] - coin_premium, rel=1e-12)


def test_fixed_and_impact_costs():
    """One trade per step: fixed cost adds K_f per trade; impact adds eta S |dq|^1.5 / sqrt(ADV)."""
    base = one_option_spec([PolicySpec("t", "time", every=5)], steps=20, paths=500, seed=6)
    plain = simulate(base).policies[0]
    fixed = simulate(replace(base, costs=CostSpec(fixed=2.5))).policies[0]
    np.testing.assert_allclose(fixed.cost, 2.5 * plain.trades, rtol=1e-12)
    np.testing.assert_allclose(fixed.pnl, plain.pnl - 2.5 * plain.trades, rtol=1e-9, atol=1e-9)
    result = simulate(replace(base, paths=1, costs=CostSpec(impact_coef=0.1, impact_adv=4.0)))
    trace = result.traces[0]
    traded = trace.hedge[:20:5]
    sizes = np.abs(np.diff(np.concatenate([[0.0], traded])))
    expected = np.sum(0.1 * trace.spot[:20:5] * sizes * np.sqrt(sizes / 4.0))
    assert result.policies[0].cost[0] == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------- policies
def test_whalley_wilmott_band_width_matches_formula():
    cost, risk_aversion, rate, quantity = 0.002, 0.5, 0.03, -10.0
    spec = one_option_spec([PolicySpec("ww", "whalley_wilmott", risk_aversion=risk_aversion)],
                           steps=40, paths=1, seed=12, rate=rate, quantity=quantity,
                           costs=CostSpec(proportional=cost))
    trace = simulate(spec).traces[0]
    steps = np.arange(40)
    tau = 1.0 - steps / 40.0
    spot = trace.spot[:40]
    gamma = quantity * bs_gamma(spot, 100.0, tau, 0.2, rate)
    width = np.cbrt(3.0 * np.exp(-rate * tau) * cost * spot * gamma ** 2 / (2.0 * risk_aversion))
    np.testing.assert_allclose(trace.half_width[:40], width, rtol=1e-12)
    centre = -quantity * bs_delta(spot, 100.0, tau, 0.2, rate)
    np.testing.assert_allclose(trace.target[:40], centre, rtol=1e-12)
    # after each decision the hedge is inside the band (the first one at its centre)
    assert np.all(np.abs(trace.hedge[:40] - centre) <= width * (1 + 1e-12) + 1e-13 * np.abs(centre))
    assert trace.hedge[0] == pytest.approx(centre[0], rel=1e-14)


def test_whalley_wilmott_matches_the_bands_module():
    """The kernel's vectorised width is the formula of hedgecore.bands."""
    from hedgecore.bands import whalley_wilmott_half_width

    spec = one_option_spec([PolicySpec("ww", "whalley_wilmott", risk_aversion=2.0)], steps=10, paths=1,
                           seed=2, rate=0.02, costs=CostSpec(proportional=0.001))
    trace = simulate(spec).traces[0]
    tau = 1.0 - np.arange(10) / 10.0
    gamma = -bs_gamma(trace.spot[:10], 100.0, tau, 0.2, 0.02)
    expected = whalley_wilmott_half_width(gamma, trace.spot[:10], 0.001, 2.0, rate=0.02, tau=tau)
    np.testing.assert_allclose(trace.half_width[:10], expected, rtol=1e-13)


def test_band_policies_cost_less_at_equal_risk():
    """With proportional costs, Whalley-Wilmott reaches a given PnL std more cheaply than
    time-based hedging: each WW policy is less risky and cheaper than the time policy just
    above it in risk."""
    costs = CostSpec(proportional=0.002)
    time_policies = [PolicySpec(f"time{k}", "time", every=k) for k in (1, 2, 4, 8, 16)]
    band_policies = [PolicySpec(f"ww{a}", "whalley_wilmott", risk_aversion=a) for a in (0.03, 0.3, 3.0)]
    spec = one_option_spec(time_policies + band_policies, steps=160, paths=4000, seed=3, costs=costs,
                           quantity=-10.0)
    results = {p.name: p for p in simulate(spec).policies}
    for band in band_policies:
        ww = results[band.name]
        riskier_time = [results[p.name] for p in time_policies if results[p.name].std_pnl >= ww.std_pnl]
        assert riskier_time, "no time-based policy is as risky"
        # the time policy closest in risk among those at least as risky: WW dominates it
        # (less or equal risk at a lower cost; WW makes more, smaller trades)
        closest = min(riskier_time, key=lambda r: r.std_pnl)
        assert ww.mean_cost < closest.mean_cost


def test_leland_hedge_costs_about_the_leland_price():
    """Short call hedged every dt at sigma_L: mean PnL + initial set-up cost ~ V_BS - V_L."""
    cost, every, steps = 0.005, 2, 52
    spec = one_option_spec([PolicySpec("leland", "leland", every=every)], steps=steps, paths=8000, seed=4,
                           costs=CostSpec(proportional=cost))
    result = simulate(spec).policies[0]
    dt = every / steps
    sigma_l = 0.2 * math.sqrt(1.0 + math.sqrt(8.0 / math.pi) * cost / (0.2 * math.sqrt(dt)))
    shortfall = bs_price(100.0, 100.0, 1.0, sigma_l, 0.0) - bs_price(100.0, 100.0, 1.0, 0.2, 0.0)
    setup = cost * 100.0 * bs_delta(100.0, 100.0, 1.0, sigma_l, 0.0)
    assert result.mean_pnl + setup == pytest.approx(-shortfall, rel=0.1)
    trace = simulate(replace(spec, paths=1)).traces[0]
    assert trace.target[0] == pytest.approx(bs_delta(100.0, 100.0, 1.0, sigma_l, 0.0), rel=1e-12)


def test_zakamouline_band_centre_is_delta_at_modified_vol():
    cost, risk_aversion, quantity = 0.003, 1.0, -5.0
    spec = one_option_spec([PolicySpec("z", "zakamouline", risk_aversion=risk_aversion)], steps=10, paths=1,
                           seed=1, quantity=quantity, costs=CostSpec(proportional=cost))
    trace = simulate(spec).traces[0]
    spot, tau, vol = trace.spot[3], 1.0 - 3 / 10.0, 0.2
    gamma = quantity * bs_gamma(spot, 100.0, tau, vol, 0.0)
    k = -4.76 * cost ** 0.78 * tau ** -0.02 * (1.0 / vol) ** 0.25 * (risk_aversion * spot ** 2 * abs(gamma)) ** 0.15
    modified = vol * math.sqrt(1.0 - k)            # short option position
    h0 = cost / (risk_aversion * spot * vol ** 2 * tau)
    hw = 1.12 * cost ** 0.31 * tau ** 0.05 * (1.0 / vol) ** 0.25 * (abs(gamma) / risk_aversion) ** 0.5
    assert trace.target[3] == pytest.approx(-quantity * bs_delta(spot, 100.0, tau, modified, 0.0), rel=1e-10)
    assert trace.half_width[3] == pytest.approx(h0 + hw, rel=1e-10)


def test_nested_band_trades_back_to_the_inner_band():
    spec = one_option_spec([PolicySpec("n", "nested", outer=0.08, inner=0.02)], steps=100, paths=1, seed=5)
    trace = simulate(spec).traces[0]
    deviation = trace.hedge[:100] - trace.target[:100]
    assert np.all(np.abs(deviation) <= 0.08 + 1e-12)
    moved = np.flatnonzero(np.diff(trace.hedge[:100]) != 0.0) + 1
    assert moved.size > 0
    np.testing.assert_allclose(np.abs(deviation[moved]), 0.02, rtol=1e-9)


def test_min_interval_and_min_trade():
    base = one_option_spec([PolicySpec("t", "time")], steps=40, paths=500, seed=2)
    spaced = simulate(replace(base, policies=(PolicySpec("t", "time", min_interval=4),))).policies[0]
    assert spaced.trades.max() <= 10
    small = simulate(replace(base, policies=(PolicySpec("t", "time", min_trade=0.05),))).policies[0]
    every = simulate(base).policies[0]
    assert small.mean_trades < every.mean_trades


def test_fixed_band_to_target_and_to_edge():
    policies = [PolicySpec("target", "fixed", width=0.05), PolicySpec("edge", "fixed", width=0.05, rebalance="edge")]
    result = simulate(one_option_spec(policies, steps=100, paths=1, seed=9))
    for trace, after in zip(result.traces, (0.0, 0.05), strict=True):
        deviation = trace.hedge[:100] - trace.target[:100]
        moved = np.flatnonzero(np.diff(trace.hedge[:100]) != 0.0) + 1
        assert np.all(np.abs(deviation) <= 0.05 + 1e-12)
        np.testing.assert_allclose(np.abs(deviation[moved]), after, atol=1e-12)


# ----------------------------------------------------------------------- reproducibility
def _mixed_spec(seed):
    return SimulationSpec(
        model=HestonModel(spot=30_000.0, drift=0.0, v0=0.36, kappa=1.5, theta=0.4, vol_of_vol=0.8, rho=-0.4),
        options=(OptionSpec("call", 32_000.0, 0.25, -3.0), OptionSpec("put", 28_000.0, 0.5, 2.0, "inverse")),
        policies=(PolicySpec("t", "time", every=2), PolicySpec("ww", "whalley_wilmott", risk_aversion=1e-3),
                  PolicySpec("z", "zakamouline", risk_aversion=1e-3), PolicySpec("l", "leland"),
                  PolicySpec("n", "nested", risk_aversion=1e-3)),
        horizon_years=0.25, steps=30, paths=2500, seed=seed, rate=0.01,
        hedge=HedgeSpec(instrument="inverse_perp"),
        costs=CostSpec(proportional=0.0005, half_spread=0.0001, fixed=1.0, funding_rate_8h=0.0001),
    )


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_numbers_for_any_thread_count_and_policy_subset(seed):
    spec = _mixed_spec(seed)
    one = simulate(spec, threads=1)
    two = simulate(spec, threads=2)
    for a, b in zip(one.policies, two.policies, strict=True):
        np.testing.assert_array_equal(a.pnl, b.pnl)
        np.testing.assert_array_equal(a.cost, b.cost)
    for k, policy in enumerate(spec.policies):
        alone = simulate(replace(spec, policies=(policy,)), threads=2).policies[0]
        np.testing.assert_array_equal(alone.pnl, one.policies[k].pnl)
        np.testing.assert_array_equal(alone.trades, one.policies[k].trades)


def _numpy_sfc64(words, stream):
    """numpy's own SFC64 seeded as numpy seeds one from SeedSequence.generate_state(3):
    the three words, counter 1, twelve draws discarded (done here by numpy itself)."""
    generator = np.random.SFC64()
    generator.state = {"bit_generator": "SFC64", "has_uint32": 0, "uinteger": 0,
                       "state": {"state": np.array([*words[3 * stream:3 * stream + 3], 1], dtype=np.uint64)}}
    generator.random_raw(12)
    return generator


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**63), block=st.integers(0, 5))
def test_gbm_lane_streams_are_numpys_sfc64(seed, block):
    from hedgecore._sim import LANE_GROUP, LANE_STREAMS, lane_uniforms

    child = np.random.SeedSequence(seed).spawn(block + 1)[block]
    words = child.generate_state(3 * LANE_STREAMS, np.uint64)
    groups = 7
    uniforms = lane_uniforms(words, groups)
    assert uniforms.shape == (groups, LANE_GROUP)
    per_stream = groups * LANE_GROUP // LANE_STREAMS
    for stream in range(LANE_STREAMS):
        expected = np.random.Generator(_numpy_sfc64(words, stream)).random(per_stream)
        np.testing.assert_array_equal(uniforms[:, stream::LANE_STREAMS].ravel(), expected)
    # stream 0 is numpy's SFC64 seeded by the block's SeedSequence itself
    np.testing.assert_array_equal(uniforms[:, 0::LANE_STREAMS].ravel(),
                                  np.random.Generator(np.random.SFC64(child)).random(per_stream))


_ISA_SCRIPT = """
import json, sys
sys.path.insert(0, {root!r})
from hedgecore._sim import vector_isa
from hedgecore.simulation import *
spec = SimulationSpec(
    model=GBMModel(spot=100.0, drift=0.05, vol=0.6),
    options=(OptionSpec("call", 110.0, 0.5, -3.0), OptionSpec("put", 80.0, 0.25, 2.0)),
    policies=(PolicySpec("t", "time"), PolicySpec("ww", "whalley_wilmott", risk_aversion=0.5),
              PolicySpec("fx", "fixed", width=0.05)),
    horizon_years=0.5, steps=40, paths=700, seed=3, costs=CostSpec(proportional=0.001))
result = simulate(spec, threads=1)
print(json.dumps({{"isa": vector_isa(),
                   "pnl": [p.pnl.tolist() for p in result.policies],
                   "trades": [p.trades.tolist() for p in result.policies]}}))
"""


def test_every_vector_path_gives_the_same_hedge():
    """The libmvec AVX-512 / AVX2 paths and the portable AVX-512, AVX2 and baseline kernels
    (what wheels without libmvec and non-x86 machines run) draw the same uniforms and agree
    to the last bits of their maths; each is forced here through its environment switch.
    The portable AVX-512 and AVX2 copies do the same operations: identical results."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    runs = {}
    for switches in ({}, {"HEDGECORE_NO_AVX512": "1"}, {"HEDGECORE_NO_LIBMVEC": "1"},
                     {"HEDGECORE_NO_LIBMVEC": "1", "HEDGECORE_NO_AVX512": "1"},
                     {"HEDGECORE_NO_LIBMVEC": "1", "HEDGECORE_NO_AVX2": "1"}):
        environment = {**os.environ, **switches}
        done = subprocess.run([sys.executable, "-c", _ISA_SCRIPT.format(root=root)], env=environment,
                              capture_output=True, text=True, timeout=300, check=True)
        out = json.loads(done.stdout)
        runs[out["isa"]] = out
    assert "baseline" in runs
    if "avx512" in runs and "avx2" in runs:
        assert runs["avx512"]["pnl"] == runs["avx2"]["pnl"]
    reference = runs["baseline"]
    for isa, out in runs.items():
        for policy, (pnl, expected) in enumerate(zip(out["pnl"], reference["pnl"], strict=True)):
            np.testing.assert_allclose(pnl, expected, rtol=1e-9, atol=1e-9, err_msg=f"{isa} policy {policy}")
        # a band decision can flip on a last-bit difference of the band; the time policy
        # trades on every lane every step on every path
        assert out["trades"][0] == reference["trades"][0]
        for policy in (1, 2):
            agree = np.mean(np.array(out["trades"][policy]) == np.array(reference["trades"][policy]))
            assert agree >= 0.99, (isa, policy, agree)


def test_paths_prefix_and_progress():
    spec = one_option_spec([PolicySpec("t", "time")], steps=10, paths=3000, seed=4)
    calls = []
    full = simulate(spec, progress=lambda done, total: calls.append((done, total)))
    part = simulate(spec, paths=1500)
    np.testing.assert_array_equal(full.policies[0].pnl[:1500], part.policies[0].pnl)
    assert calls[-1] == (3000, 3000)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    other = simulate(spec, seed=5)
    assert not np.array_equal(other.policies[0].pnl, full.policies[0].pnl)


def test_summary_statistics():
    result = simulate(one_option_spec([PolicySpec("n", "none")], steps=5, paths=5000, seed=1)).policies[0]
    pnl = result.pnl
    q05 = np.quantile(pnl, 0.05)
    assert result.var_95 == pytest.approx(-q05)
    assert result.cvar_95 == pytest.approx(-pnl[pnl <= q05].mean())
    assert result.cvar_99 >= result.var_99 >= result.var_95
    assert result.quantiles["p50"] == pytest.approx(np.median(pnl))
    summary = result.as_dict()
    assert set(summary) >= {"name", "mean_pnl", "std_pnl", "var_95", "cvar_95", "cvar_99", "mean_cost",
                            "mean_trades", "quantiles"}


# ----------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"paths": -1}, "paths"),
        ({"horizon_years": 0.0}, "horizon_years"),
        ({"model": GBMModel(-1.0, 0.0, 0.2)}, "model.spot"),
        ({"options": ()}, "options"),
        ({"options": (OptionSpec("cal", 100.0, 1.0, 1.0),)}, r"options\[0\].type"),
        ({"policies": (PolicySpec("w", "whalley_wilmott"),)}, "risk_aversion"),
        ({"policies": (PolicySpec("f", "fixed"),)}, "width"),
        ({"policies": (PolicySpec("x", "sometimes"),)}, "method"),
        ({"policies": (PolicySpec("a", "none"), PolicySpec("a", "time"))}, "unique"),
        ({"costs": CostSpec(proportional=-0.1)}, "costs.proportional"),
        ({"costs": CostSpec(funding_rate_8h=0.001)}, "funding_rate_8h"),
        ({"hedge": HedgeSpec(instrument="future")}, "hedge.instrument"),
        ({"model": HistoricalModel(prices=(1.0, 2.0))}, "steps"),
    ],
)
def test_invalid_specs_raise_value_error_naming_the_field(change, message):
    spec = replace(one_option_spec([PolicySpec("t", "time")], steps=5, paths=10), **change)
    with pytest.raises(ValueError, match=message):
        simulate(spec, threads=1)


def test_invalid_overrides():
    spec = one_option_spec([PolicySpec("t", "time")], steps=5, paths=10)
    with pytest.raises(ValueError, match="threads"):
        simulate(spec, threads=0)
    with pytest.raises(ValueError, match="paths"):
        simulate(spec, paths=0)
