"""One vocabulary for a hedging policy: a simulation config reads the policy file's words
(`half_width`, `rebalance_to`, `outer_half_width`, `inner_half_width`, `min_interval` as a
duration) and its older words (`width`, `rebalance`, `outer`, `inner`, `min_interval` in
steps) alike, and a duration becomes the same steps the older form would give."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from hedgecore.cli.main import app
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
from hedgecore.reading import parse_duration
from hedgecore.simconfig import parse_sim_policy, parse_simulation
from hedgecore.simulation import PolicySpec, simulate
from hedgecore.units import SECONDS_PER_YEAR

# A day of BTC hedging in 96 quarter-hour steps: one step is 900 s.
DAY: dict[str, Any] = {
    "model": {"type": "gbm", "spot": 95000.0, "drift": 0.0, "vol": 0.6},
    "horizon_years": 1.0 / 365.0,
    "steps": 96,
    "paths": 400,
    "seed": 11,
    "options": [{"type": "call", "strike": 95000.0, "expiry_years": 7.0 / 365.0, "quantity": -25.0}],
    "hedge": {"instrument": "inverse_perp", "vol": 0.6},
    "costs": {"proportional": 0.0005, "half_spread": 0.0001, "fixed": 1.0},
}

OLDER_WORDS = [
    {"name": "fixed", "method": "fixed", "width": 0.8, "rebalance": "edge", "min_interval": 4, "min_trade": 0.05},
    {"name": "ww", "method": "whalley_wilmott", "risk_aversion": 1e-4, "rebalance": "target", "min_interval": 2},
    {"name": "nested", "method": "nested", "outer": 1.5, "inner": 0.4, "min_interval": 8},
    {"name": "hourly", "method": "time", "every": 4, "min_interval": 0},
]
DOCUMENTED_WORDS = [
    {"name": "fixed", "method": "fixed", "half_width": 0.8, "rebalance_to": "edge", "min_interval": "1h",
     "min_trade": 0.05},
    {"name": "ww", "method": "whalley_wilmott", "risk_aversion": 1e-4, "rebalance_to": "target",
     "min_interval": "30m"},
    {"name": "nested", "method": "nested", "outer_half_width": 1.5, "inner_half_width": 0.4, "min_interval": "2h"},
    {"name": "hourly", "method": "time", "every": 4, "min_interval": "0s"},
]


def day(policies: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(DAY)
    document["policies"] = copy.deepcopy(policies)
    document.update(changes)
    return document


def test_both_vocabularies_simulate_the_same_paths_bit_for_bit():
    older = parse_simulation(day(OLDER_WORDS)).spec
    documented = parse_simulation(day(DOCUMENTED_WORDS)).spec
    for old, new in zip(older.policies, documented.policies, strict=True):
        assert replace(new, min_interval=old.min_interval, min_interval_seconds=None) == old
        assert new.interval_steps(900.0) == old.min_interval
    a = simulate(older, threads=1)
    b = simulate(documented, threads=1)
    for x, y in zip(a.policies, b.policies, strict=True):
        assert x.mean_trades > 0.0
        np.testing.assert_array_equal(x.pnl, y.pnl)
        np.testing.assert_array_equal(x.cost, y.cost)
    # the interval bites: without it the fixed band trades more often
    free = simulate(replace(documented, policies=(replace(documented.policies[0], min_interval_seconds=0.0),)),
                    threads=1)
    assert free.policies[0].mean_trades > b.policies[0].mean_trades


def test_a_duration_follows_the_steps_chosen_at_run_time():
    """--steps changes the step length, not the interval: 1h is 4 steps of 15 min, 8 of 7.5."""
    spec = parse_simulation(day([DOCUMENTED_WORDS[0]])).spec
    older = parse_simulation(day([OLDER_WORDS[0]])).spec
    for steps, interval in ((96, 4), (192, 8), (24, 1)):
        by_duration = simulate(spec, steps=steps, threads=1).policies[0]
        by_steps = simulate(replace(older, policies=(replace(older.policies[0], min_interval=interval),)),
                            steps=steps, threads=1).policies[0]
        np.testing.assert_array_equal(by_duration.pnl, by_steps.pnl)


def brute_force_steps(seconds: float, step_seconds: float) -> int:
    """The fewest whole steps lasting at least the duration, less a thousandth of a step."""
    k = 0
    while (k + 1e-3) * step_seconds < seconds:
        k += 1
    return k


@pytest.mark.parametrize("step_seconds", [900.0, 606_437.28, 3599.92, 1.0, 3600.0 / 7.0, 86400.0 * 7 / 13])
def test_interval_steps_is_the_fewest_whole_steps(step_seconds):
    rng = np.random.default_rng(5)
    durations = [0.0, step_seconds, 2 * step_seconds, 2.0005 * step_seconds, 2.002 * step_seconds,
                 7.5 * step_seconds, *rng.uniform(0.0, 40 * step_seconds, 200)]
    for seconds in durations:
        policy = PolicySpec("p", "fixed", width=1.0, min_interval_seconds=float(seconds))
        assert policy.interval_steps(step_seconds) == brute_force_steps(seconds, step_seconds), seconds


@pytest.mark.parametrize(("horizon_years", "steps"), [(0.3846, 20), (1 / 365, 1440), (30 / 365, 720), (0.25, 7)])
def test_written_policy_durations_read_back_as_the_same_steps(horizon_years, steps):
    """optimize --write-policy turns steps into duration text; a config reading that text
    back gets the same steps."""
    step_seconds = horizon_years / steps * SECONDS_PER_YEAR
    for k in range(0, 60):
        text = _duration_text(k * step_seconds)
        seconds = parse_duration(text, "min_interval", "policy").total_seconds()
        policy = parse_sim_policy({"method": "fixed", "half_width": 1.0, "min_interval": text}, "policies[0]")
        assert policy.min_interval_seconds == seconds
        assert policy.interval_steps(step_seconds) == k


def test_policy_document_writes_a_configured_duration():
    spec = parse_simulation(day([DOCUMENTED_WORDS[0]])).spec
    setup = parse_optimize_section({
        "policy": DOCUMENTED_WORDS[0],
        "search": {"half_width": [0.5, 0.8]},
        "objective": {"type": "mean_variance", "risk_weight": 1e-6},
    })
    assert setup.policy.min_interval_seconds == 3600.0
    result = optimize(spec, setup.policy, setup.search, setup.objective, paths=200, threads=1)
    assert set(result.chosen.parameters) == {"half_width"}
    document = policy_document(result, spec, underlying="BTC")
    assert document["underlyings"]["BTC"]["min_interval"] == "1h"
    assert document["underlyings"]["BTC"]["band"]["half_width"] == result.chosen.parameters["half_width"]
    assert parse_policy(document).underlyings["BTC"].min_interval.total_seconds() == 3600.0


def test_searching_the_documented_words_equals_searching_the_older_ones():
    spec = parse_simulation(day([OLDER_WORDS[2]])).spec
    objective = Objective("mean_variance", risk_weight=1e-5)
    older = optimize(spec, spec.policies[0], {"outer": (1.0, 2.0), "inner": (0.2, 0.6)}, objective,
                     paths=200, threads=1)
    documented = optimize(spec, spec.policies[0], {"outer_half_width": (1.0, 2.0), "inner_half_width": (0.2, 0.6)},
                          objective, paths=200, threads=1)
    assert documented.parameter_names == ("outer_half_width", "inner_half_width")
    assert [c.objective for c in older.candidates] == [c.objective for c in documented.candidates]
    assert list(documented.chosen.parameters.values()) == list(older.chosen.parameters.values())


def test_a_searched_interval_replaces_a_configured_duration():
    policy = parse_sim_policy(DOCUMENTED_WORDS[0], "policies[0]")
    grid = candidate_policies(policy, {"min_interval": (0.0, 6.0)})
    assert [candidate.interval_steps(900.0) for _, candidate in grid] == [0, 6]
    setup = parse_optimize_section({
        "policy": DOCUMENTED_WORDS[0],
        "search": {"min_interval": [0, 6]},
        "objective": {"type": "mean_variance", "risk_weight": 1e-6},
    })
    assert (setup.policy.min_interval, setup.policy.min_interval_seconds) == (0, None)


@pytest.mark.parametrize(
    ("policy", "path", "message"),
    [
        ({"method": "fixed", "width": 1.0, "half_width": 1.0}, "policies[0].width", "not both"),
        ({"method": "fixed", "half_width": 1.0, "rebalance": "edge", "rebalance_to": "target"},
         "policies[0].rebalance", "not both"),
        ({"method": "time", "rebalance_to": "edge"}, "policies[0].rebalance_to", "does not apply"),
        ({"method": "fixed", "half_width": -1.0}, "policies[0].half_width", ">= 0"),
        ({"method": "fixed", "half_width": 1.0, "min_interval": "soon"}, "policies[0].min_interval", "duration"),
        ({"method": "fixed", "half_width": 1.0, "min_interval": "-1h"}, "policies[0].min_interval", "duration"),
        ({"method": "nested", "outer_half_width": 1.0, "inner_half_width": 2.0},
         "policies[0].inner_half_width", "must not exceed outer_half_width"),
        ({"method": "nested", "outer_half_width": 1.0}, "policies[0]", "'inner_half_width'"),
        ({"method": "whalley_wilmott", "risk_aversion": 1.0, "half_width": 2.0}, "policies[0].half_width",
         "does not apply to method 'whalley_wilmott'"),
    ],
)
def test_errors_name_the_word_the_user_wrote(policy, path, message):
    with pytest.raises(ConfigError) as caught:
        parse_simulation(day([policy]))
    assert caught.value.path == path
    assert message in caught.value.message


def test_optimize_search_refuses_one_parameter_under_two_names():
    with pytest.raises(ConfigError) as caught:
        parse_optimize_section({
            "policy": {"method": "fixed"},
            "search": {"width": [1.0], "half_width": [2.0]},
            "objective": {"type": "mean_variance", "risk_weight": 1e-6},
        })
    assert caught.value.path == "optimize.search.half_width"
    assert "same parameter as width" in caught.value.message


def test_cli_reads_the_documented_words_and_names_the_line_of_a_bad_duration(tmp_path: Path):
    config = tmp_path / "day.yaml"
    config.write_text(yaml.safe_dump(day(DOCUMENTED_WORDS), sort_keys=False))
    result = CliRunner().invoke(app, ["simulate", str(config), "--format", "json", "--paths", "200"])
    assert result.exit_code == 0, result.output
    names = [row["name"] for row in json.loads(result.stdout)["policies"]]
    assert names == ["fixed", "ww", "nested", "hourly"]
    bad = day([{**DOCUMENTED_WORDS[0], "min_interval": "an hour"}])
    config.write_text(yaml.safe_dump(bad, sort_keys=False))
    result = CliRunner().invoke(app, ["simulate", str(config)])
    assert result.exit_code == 2, result.output
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "an hour" in text)
    assert f"day.yaml:{line}: policies[0].min_interval" in result.output
    assert "Traceback" not in result.output


MM_BASE: dict[str, Any] = {"horizon_hours": 2, "steps": 50, "paths": 100, "order_size": 0.1,
                           "intensity": {"A": 30, "k": 0.05}, "mid": {"spot": 96500, "vol": 0.5},
                           "policies": [{"method": "symmetric", "half_spread": 20}]}


def test_the_market_making_hedge_band_takes_the_same_word():
    from hedgecore.quoting.mmsim import parse_mm_config

    documented = parse_mm_config({**MM_BASE, "hedge": {"half_width": 0.3, "proportional": 0.0004}})
    older = parse_mm_config({**MM_BASE, "hedge": {"width": 0.3, "proportional": 0.0004}})
    assert documented == older
    assert documented.hedge_band_units == 0.3
    for hedge, path, message in (({"width": 0.3, "half_width": 0.3}, "hedge.width", "not both"),
                                 ({"proportional": 0.0004}, "hedge", "missing required key 'half_width'"),
                                 ({"half_width": -1.0}, "hedge.half_width", ">= 0")):
        with pytest.raises(ConfigError) as caught:
            parse_mm_config({**MM_BASE, "hedge": hedge})
        assert caught.value.path == path
        assert message in caught.value.message
