"""The policy optimizer: its choice against closed-form optima on a synthetic simulator,
common random numbers and known behaviour on the real simulator, and the policy it writes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import stats

from hedgecore.errors import ConfigError
from hedgecore.optimize import (
    Objective,
    _duration_text,
    candidate_policies,
    optimize,
    parse_optimize_section,
    policy_document,
)
from hedgecore.policy import parse_policy
from hedgecore.simulation import (
    QUANTILE_LEVELS,
    CostSpec,
    GBMModel,
    OptionSpec,
    PolicyResult,
    PolicySpec,
    SimulationResult,
    SimulationSpec,
    simulate,
)

# ---- a synthetic simulator with closed-form cost and risk ----------------------------------
# A fixed band of half width w costs A / w per path and leaves a PnL std of B w; the PnL of
# path i is -cost + std * z_i with the same standard normal scores z_i for every candidate
# (common random numbers), so every objective has a closed-form optimum.
COST_SCALE = 50.0
STD_SCALE = 10.0
SCORES = stats.norm.ppf((np.arange(20_000) + 0.5) / 20_000)


class SyntheticSimulator:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, spec: SimulationSpec, **kwargs: Any) -> SimulationResult:
        self.calls.append({"policies": [p.name for p in spec.policies], **kwargs})
        results = []
        for policy in spec.policies:
            width = policy.width
            assert width is not None
            cost = COST_SCALE / width
            std = STD_SCALE * width
            pnl = -cost + std * SCORES
            cut95, cut99 = np.quantile(pnl, [0.05, 0.01])
            results.append(
                PolicyResult(
                    name=policy.name,
                    method=policy.method,
                    mean_pnl=float(pnl.mean()),
                    std_pnl=std,
                    stderr_pnl=std / math.sqrt(pnl.size),
                    var_95=-cut95,
                    var_99=-cut99,
                    cvar_95=float(-pnl[pnl <= cut95].mean()),
                    cvar_99=float(-pnl[pnl <= cut99].mean()),
                    mean_cost=cost,
                    mean_funding=0.0,
                    mean_trades=1.0 / width,
                    quantiles={f"p{round(q * 100)}": float(np.quantile(pnl, q)) for q in QUANTILE_LEVELS},
                    pnl=pnl,
                    cost=np.full(pnl.size, cost),
                    funding=np.zeros(pnl.size),
                    trades=np.ones(pnl.size),
                )
            )
        return SimulationResult(
            option_value=-1.0,
            paths=kwargs["paths"],
            steps=spec.steps,
            seed=kwargs["seed"],
            threads=1,
            policies=tuple(results),
        )


SPEC = SimulationSpec(
    model=GBMModel(spot=49.0, drift=0.13, vol=0.2),
    options=(OptionSpec("call", 50.0, 0.3846, -100_000.0),),
    policies=(PolicySpec("placeholder", "none"),),
    horizon_years=0.3846,
    steps=20,
    paths=2000,
    seed=7,
    rate=0.05,
)
FIXED = PolicySpec("band", "fixed", width=1.0)
WIDTHS = tuple(np.round(np.geomspace(0.1, 10.0, 201), 12))


@pytest.mark.parametrize("risk_weight", [1e-3, 1e-2, 0.1])
def test_mean_variance_choice_is_the_closed_form_optimum(risk_weight):
    # minimise A / w + k B^2 w^2  =>  w* = (A / (2 k B^2))^(1/3)
    simulator = SyntheticSimulator()
    result = optimize(
        SPEC,
        FIXED,
        {"width": WIDTHS},
        Objective("mean_variance", risk_weight=risk_weight),
        simulator=simulator,
        batch_size=64,
    )
    optimum = (COST_SCALE / (2 * risk_weight * STD_SCALE**2)) ** (1 / 3)
    spacing = WIDTHS[1] / WIDTHS[0]
    assert optimum / spacing <= result.chosen.parameters["width"] <= optimum * spacing
    assert result.chosen.policy.width == result.chosen.parameters["width"]
    assert result.chosen.policy.name == "band"
    # common random numbers: every batch saw the same seed and number of paths
    assert len(simulator.calls) == math.ceil(len(WIDTHS) / 64)
    assert {call["seed"] for call in simulator.calls} == {7}
    assert {call["paths"] for call in simulator.calls} == {2000}


def test_mean_variance_optimum_moves_the_right_way_with_k():
    chosen = [
        optimize(
            SPEC, FIXED, {"width": WIDTHS}, Objective("mean_variance", risk_weight=k), simulator=SyntheticSimulator()
        ).chosen.parameters["width"]
        for k in (1e-4, 1e-3, 1e-2, 1e-1)
    ]
    assert chosen == sorted(chosen, reverse=True)
    assert len(set(chosen)) == 4
    # k = 0 is pure cost: the widest band
    zero = optimize(SPEC, FIXED, {"width": WIDTHS}, Objective("mean_variance"), simulator=SyntheticSimulator())
    assert zero.chosen.parameters["width"] == max(WIDTHS)


def test_min_cost_under_a_std_limit_and_cvar():
    limit = 37.0
    result = optimize(
        SPEC, FIXED, {"width": WIDTHS}, Objective("min_cost", max_std=limit), simulator=SyntheticSimulator()
    )
    # cost falls with the width, std grows with it: the widest band within the limit
    assert result.chosen.parameters["width"] == max(w for w in WIDTHS if STD_SCALE * w <= limit)
    assert all(c.feasible == (c.std_pnl <= limit) for c in result.candidates)
    with pytest.raises(ValueError, match="no candidate keeps the PnL std within"):
        optimize(SPEC, FIXED, {"width": WIDTHS}, Objective("min_cost", max_std=0.5), simulator=SyntheticSimulator())
    # CVaR of -A/w + B w z at level p is A/w + B w phi(q_p)/(1-p) (normal tail), minimised
    # at w* = (A (1-p) / (B phi(q_p)))^(1/2); the scores are an exact normal grid
    for level in (0.9, 0.95, 0.99):
        result = optimize(
            SPEC, FIXED, {"width": WIDTHS}, Objective("cvar", level=level), simulator=SyntheticSimulator()
        )
        tail = stats.norm.pdf(stats.norm.ppf(level)) / (1 - level)
        optimum = math.sqrt(COST_SCALE / (STD_SCALE * tail))
        spacing = WIDTHS[1] / WIDTHS[0]
        assert optimum / spacing**2 <= result.chosen.parameters["width"] <= optimum * spacing**2
        assert result.chosen.cvar == pytest.approx(COST_SCALE / optimum + STD_SCALE * optimum * tail, rel=2e-2)


def test_frontier_is_the_non_dominated_set():
    result = optimize(
        SPEC,
        FIXED,
        {"width": (0.5, 1.0, 2.0)},
        Objective("mean_variance", risk_weight=0.01),
        simulator=SyntheticSimulator(),
    )
    # on this family cost and risk trade off strictly: every candidate is efficient
    assert [c.parameters["width"] for c in result.frontier] == [0.5, 1.0, 2.0]
    risks = [c.risk for c in result.frontier]
    costs = [c.mean_cost for c in result.frontier]
    assert risks == sorted(risks)
    assert costs == sorted(costs, reverse=True)
    document = result.as_dict()
    assert document["chosen"]["parameters"] == result.chosen.parameters
    assert len(document["candidates"]) == 3


def test_candidate_grid_rules():
    grid = candidate_policies(
        PolicySpec("n", "nested", outer=2.0, inner=1.0), {"outer": (1.0, 2.0), "inner_ratio": (0.0, 0.5)}
    )
    assert [(p.outer, p.inner) for _, p in grid] == [(1.0, 0.0), (1.0, 0.5), (2.0, 0.0), (2.0, 1.0)]
    skipped = candidate_policies(
        PolicySpec("n", "nested", outer=2.0, inner=1.0), {"outer": (1.0, 3.0), "inner": (2.0,)}
    )
    assert [(p.outer, p.inner) for _, p in skipped] == [(3.0, 2.0)]
    by_aversion = candidate_policies(PolicySpec("n", "nested", outer=2.0, inner=1.0), {"risk_aversion": (1e-3,)})
    assert by_aversion[0][1].outer is None
    assert by_aversion[0][1].risk_aversion == 1e-3
    every = candidate_policies(PolicySpec("t", "time"), {"every": (1, 2), "min_interval": (0, 3)})
    assert [(p.every, p.min_interval) for _, p in every] == [(1, 0), (1, 3), (2, 0), (2, 3)]
    with pytest.raises(ValueError, match="does not apply"):
        candidate_policies(PolicySpec("w", "whalley_wilmott", risk_aversion=1.0), {"width": (1.0,)})
    with pytest.raises(ValueError, match="whole numbers"):
        candidate_policies(PolicySpec("t", "time"), {"every": (1.5,)})


def test_optimize_section_parsing_and_errors():
    setup = parse_optimize_section(
        {
            "policy": {"name": "ww", "method": "whalley_wilmott"},
            "search": {"risk_aversion": {"min": 1e-5, "max": 1e-1, "num": 5}, "min_interval": [0, 2, 2]},
            "objective": {"type": "mean_variance", "risk_weight": 1e-6},
            "output": {"underlying": "btc", "instrument": "BTC-PERPETUAL"},
            "refine": 2,
        }
    )
    assert (setup.refine, setup.refine_points) == (2, 4)
    assert setup.search == {"risk_aversion": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1), "min_interval": (0.0, 2.0)}
    assert setup.policy.method == "whalley_wilmott"
    assert setup.objective == Objective("mean_variance", risk_weight=1e-6)
    assert (setup.underlying, setup.instrument) == ("BTC", "BTC-PERPETUAL")
    linear = parse_optimize_section(
        {
            "policy": {"method": "fixed"},
            "objective": {"type": "cvar", "level": 0.99},
            "search": {"width": {"min": 0, "max": 2, "num": 3}},
        }
    )
    assert linear.search["width"] == (0.0, 1.0, 2.0)

    def path_of(section: dict[str, Any]) -> tuple[str, str]:
        with pytest.raises(ConfigError) as caught:
            parse_optimize_section(section)
        return caught.value.path, caught.value.message

    base = {
        "policy": {"method": "whalley_wilmott"},
        "search": {"risk_aversion": [1e-3]},
        "objective": {"type": "mean_variance", "risk_weight": 1e-6},
    }
    assert path_of({**base, "objective": {"type": "cvar", "risk_weight": 1}})[0] == "optimize.objective.risk_weight"
    assert path_of({**base, "objective": {"type": "cvr"}})[0] == "optimize.objective.type"
    assert path_of({**base, "objective": {"type": "cvar", "level": 1.5}})[0] == "optimize.objective.level"
    assert path_of({**base, "search": {"width": [1.0]}}) == (
        "optimize.search.width",
        "does not apply to method 'whalley_wilmott'",
    )
    assert path_of({**base, "policy": {"method": "whaley_wilmott"}})[0] == "optimize.policy.method"
    assert path_of({**base, "policy": {"method": "none"}})[0] == "optimize.policy.method"
    assert path_of({**base, "search": {"risk_aversion": [1e-3, -1]}})[0] == "optimize.search.risk_aversion"
    assert path_of({**base, "search": {"risk_aversion": ["x"]}})[0] == "optimize.search.risk_aversion[0]"
    assert (
        path_of({**base, "search": {"risk_aversion": {"min": 0, "max": 1}}})[0] == "optimize.search.risk_aversion.min"
    )
    assert path_of({**base, "search": {"risk_aversio": [1]}})[0] == "optimize.search.risk_aversio"
    assert path_of({**base, "search": {}})[0] == "optimize.search"
    assert path_of({**base, "output": {"underlying": "BTC", "instrument": "FOO-BAR"}}) == (
        "optimize.output.instrument",
        "unknown hedge instrument 'FOO-BAR' (e.g. BTC-PERPETUAL, ETH_USDC-PERPETUAL, spot)",
    )
    assert path_of({**base, "output": {"underlying": "BTC", "instrument": "ETH-PERPETUAL"}}) == (
        "optimize.output.instrument",
        "ETH-PERPETUAL is on ETH, not BTC",
    )


# ---- on the real simulator -----------------------------------------------------------------
HULL = replace(SPEC, paths=3000, steps=26)


def test_zero_costs_the_tightest_band_wins():
    # without costs every band costs nothing; the tightest band has the least variance
    result = optimize(
        HULL, FIXED, {"width": (0.0, 2000.0, 5000.0, 10000.0)}, Objective("mean_variance", risk_weight=1e-9), threads=2
    )
    assert result.chosen.parameters["width"] == 0.0
    assert all(c.mean_cost == 0.0 for c in result.candidates)
    stds = [c.std_pnl for c in result.candidates]
    assert stds == sorted(stds)


def test_common_random_numbers_and_k_on_the_simulator():
    spec = replace(HULL, costs=CostSpec(proportional=0.002))
    search = {"risk_aversion": tuple(np.geomspace(1e-7, 1e-2, 6))}
    ww = PolicySpec("ww", "whalley_wilmott", risk_aversion=1.0)
    cheap = optimize(spec, ww, search, Objective("mean_variance", risk_weight=0.0), threads=2, batch_size=4)
    safe = optimize(spec, ww, search, Objective("mean_variance", risk_weight=1e-3), threads=2, batch_size=4)
    # k = 0: the cheapest, widest band (smallest risk aversion); a large k narrows it
    assert cheap.chosen.parameters["risk_aversion"] == min(search["risk_aversion"])
    assert safe.chosen.parameters["risk_aversion"] > cheap.chosen.parameters["risk_aversion"]
    costs = [c.mean_cost for c in cheap.candidates]
    assert costs == sorted(costs)  # wider band, fewer trades, less cost: exactly, on common paths
    # a candidate's numbers are those of simulating it alone with the same seed
    alone = simulate(replace(spec, policies=(cheap.candidates[3].policy,)), threads=1)
    assert alone.policies[0].mean_pnl == pytest.approx(cheap.candidates[3].mean_pnl, rel=1e-12)
    assert alone.policies[0].std_pnl == pytest.approx(cheap.candidates[3].std_pnl, rel=1e-12)


# ---- the policy file -------------------------------------------------------------------------
def test_policy_document_is_read_by_the_policy_reader():
    spec = replace(SPEC, costs=CostSpec(proportional=0.0005, half_spread=0.0001, fixed=2.0))
    result = optimize(
        spec,
        FIXED,
        {"width": (0.5, 1.0), "min_interval": (2,)},
        Objective("mean_variance", risk_weight=0.01),
        simulator=SyntheticSimulator(),
    )
    document = policy_document(result, spec, underlying="BTC")
    policy = parse_policy(document).underlyings["BTC"]
    assert policy.band.method == "fixed"
    assert policy.band.half_width == result.chosen.parameters["width"]
    assert policy.rebalance_to == "target"
    # 2 steps of 0.3846 / 20 years
    assert policy.min_interval.total_seconds() == pytest.approx(2 * 0.3846 / 20 * 365 * 86400, abs=1.0)
    instrument = policy.instruments[0]
    assert instrument.fee == 0.0005
    assert instrument.half_spread == 0.0001
    assert instrument.fixed_cost_usd == 2.0


@pytest.mark.parametrize(
    ("hedge", "instrument", "expected"),
    [
        ("spot", None, 0.05),                               # coins
        ("linear_perp", None, 0.05),                        # BTC_USDC-PERPETUAL: 1 coin per contract
        ("inverse_perp", None, 0.05 * 49.0 / 10.0),         # BTC-PERPETUAL: 10 USD per contract at S0 = 49
    ],
)
def test_policy_document_writes_the_minimum_trade_as_contracts(hedge, instrument, expected):
    from hedgecore.simulation import HedgeSpec

    spec = replace(SPEC, hedge=HedgeSpec(instrument=hedge))
    result = optimize(
        spec,
        replace(FIXED, min_trade=0.02),
        {"width": (0.5,), "min_trade": (0.05,)},
        Objective("mean_variance"),
        simulator=SyntheticSimulator(),
    )
    assert result.chosen.policy.min_trade == 0.05
    document = policy_document(result, spec, underlying="BTC", instrument=instrument)
    hedge_instrument = parse_policy(document).underlyings["BTC"].instruments[0]
    assert hedge_instrument.min_order == pytest.approx(expected, rel=1e-15)
    # no minimum trade, no min_order: the instrument's default (one lot) applies
    plain = optimize(spec, FIXED, {"width": (0.5,)}, Objective("mean_variance"), simulator=SyntheticSimulator())
    assert "min_order" not in policy_document(plain, spec, underlying="BTC")["underlyings"]["BTC"]["instruments"][0]


def test_policy_document_band_forms():
    spec = SPEC
    time_result = optimize(
        spec, PolicySpec("t", "time"), {"every": (3,)}, Objective("mean_variance"), simulator=_ConstantSimulator()
    )
    policy = parse_policy(policy_document(time_result, spec, underlying="ETH")).underlyings["ETH"]
    assert policy.band.method == "fixed"
    assert policy.band.half_width == 0.0
    assert policy.min_interval.total_seconds() == pytest.approx(3 * 0.3846 / 20 * 365 * 86400, abs=1.0)
    ww = optimize(
        spec,
        PolicySpec("w", "whalley_wilmott", risk_aversion=1.0),
        {"risk_aversion": (2e-4,)},
        Objective("mean_variance"),
        simulator=_ConstantSimulator(),
    )
    band = parse_policy(policy_document(ww, spec, underlying="BTC", instrument="BTC-PERPETUAL")).underlyings["BTC"]
    assert (band.band.method, band.band.risk_aversion, band.rebalance_to) == ("whalley_wilmott", 2e-4, "edge")
    leland = optimize(
        spec, PolicySpec("l", "leland"), {"every": (1,)}, Objective("mean_variance"), simulator=_ConstantSimulator()
    )
    with pytest.raises(ValueError, match="no band form"):
        policy_document(leland, spec, underlying="BTC")


class _ConstantSimulator(SyntheticSimulator):
    def __call__(self, spec: SimulationSpec, **kwargs: Any) -> SimulationResult:
        return super().__call__(replace(spec, policies=tuple(replace(p, width=1.0) for p in spec.policies)), **kwargs)


def test_duration_text():
    assert _duration_text(0) == "0s"
    assert _duration_text(7200) == "2h"
    assert _duration_text(86400 * 3) == "3d"
    assert _duration_text(90) == "90s"
    assert _duration_text(1800) == "30m"


def test_refinement_closes_in_on_the_optimum():
    coarse = tuple(np.round(np.geomspace(0.1, 10.0, 5), 12))  # a factor 3.16 between values
    objective = Objective("mean_variance", risk_weight=1e-2)
    optimum = (COST_SCALE / (2 * 1e-2 * STD_SCALE**2)) ** (1 / 3)  # 2.92
    plain = optimize(SPEC, FIXED, {"width": coarse}, objective, simulator=SyntheticSimulator())
    assert abs(math.log(plain.chosen.parameters["width"] / optimum)) > math.log(1.05)
    simulator = SyntheticSimulator()
    refined = optimize(SPEC, FIXED, {"width": coarse}, objective, refine=4, simulator=simulator)
    assert abs(math.log(refined.chosen.parameters["width"] / optimum)) < math.log(1.03)
    assert refined.chosen.objective <= plain.chosen.objective
    assert len(refined.candidates) > len(coarse)
    assert {call["seed"] for call in simulator.calls} == {7}  # every round on the same paths
    widths = [c.parameters["width"] for c in refined.candidates]
    assert len(widths) == len(set(widths))  # no value simulated twice


def test_refined_values_between_the_neighbours():
    from hedgecore.optimize import _refined_values

    assert _refined_values("min_interval", 4.0, [0.0, 4.0, 8.0], 4) == [2.0, 3.0, 5.0, 6.0]
    assert _refined_values("every", 2.0, [1.0, 2.0, 3.0], 4) == []  # no whole number between
    logs = _refined_values("risk_aversion", 1e-3, [1e-4, 1e-3, 1e-2], 4)
    np.testing.assert_allclose(logs, np.geomspace(1e-4, 1e-2, 6)[1:-1])
    assert _refined_values("width", 0.0, [0.0, 1.0], 1) == [0.5]  # an edge: only towards the inside
    assert _refined_values("width", 1.0, [1.0], 3) == []
