"""Simulation config -> SimulationSpec: the documented schema, and errors that name the field."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from hedgecore.errors import ConfigError
from hedgecore.simconfig import parse_simulation
from hedgecore.simulation import GBMModel, HestonModel, HistoricalModel, MertonModel, OptionSpec, PolicySpec

HULL: dict[str, Any] = {
    "model": {"type": "gbm", "spot": 49.0, "drift": 0.13, "vol": 0.20},
    "rate": 0.05,
    "horizon_years": 0.3846,
    "steps": 20,
    "paths": 100000,
    "seed": 7,
    "options": [{"type": "call", "strike": 50.0, "expiry_years": 0.3846, "quantity": -100000}],
    "hedge": {"instrument": "spot"},
    "costs": {"proportional": 0.0, "half_spread": 0.0, "fixed": 0.0, "funding_rate_8h": 0.0},
    "policies": [
        {"name": "weekly", "method": "time", "every": 1},
        {"name": "ww", "method": "whalley_wilmott", "risk_aversion": 1.0},
    ],
}


def hull(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(HULL)
    document.update(changes)
    return document


def error_of(document: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_simulation(document, **kwargs)
    assert caught.value.document in ("simulation", "portfolio")
    return caught.value


def test_contract_example_becomes_the_spec():
    config = parse_simulation(hull())
    spec = config.spec
    assert spec.model == GBMModel(spot=49.0, drift=0.13, vol=0.20)
    assert spec.rate == 0.05
    assert spec.horizon_years == 0.3846
    assert (spec.steps, spec.paths, spec.seed) == (20, 100000, 7)
    assert spec.options == (OptionSpec("call", 50.0, 0.3846, -100000.0, "linear"),)
    assert spec.hedge.instrument == "spot"
    assert spec.hedge.vol is None
    assert spec.costs.proportional == 0.0
    assert math.isinf(spec.costs.impact_adv)
    assert spec.policies == (
        PolicySpec(name="weekly", method="time", every=1),
        PolicySpec(name="ww", method="whalley_wilmott", risk_aversion=1.0),
    )
    assert config.optimize is None
    assert config.underlying is None


def test_other_models_and_defaults():
    heston = parse_simulation(
        hull(
            model={
                "type": "heston",
                "spot": 100,
                "drift": 0.0,
                "v0": 0.04,
                "kappa": 2.0,
                "theta": 0.05,
                "vol_of_vol": 0.5,
                "rho": -0.7,
                "scheme": "Euler",
            }
        )
    )
    assert heston.spec.model == HestonModel(100.0, 0.0, 0.04, 2.0, 0.05, 0.5, -0.7, "euler")
    merton = parse_simulation(
        hull(
            model={
                "type": "merton",
                "spot": 100,
                "vol": 0.2,
                "jump_intensity": 1.0,
                "jump_mean": -0.1,
                "jump_std": 0.15,
            }
        )
    )
    assert merton.spec.model == MertonModel(100.0, 0.0, 0.2, 1.0, -0.1, 0.15)
    minimal = {k: v for k, v in hull().items() if k in ("model", "horizon_years", "steps", "options", "policies")}
    spec = parse_simulation(minimal).spec
    assert (spec.paths, spec.seed, spec.rate) == (10_000, 0, 0.0)
    assert parse_simulation(hull(seed=None)).spec.seed is None
    nested = parse_simulation(
        hull(
            policies=[
                {"name": "n", "method": "nested", "outer": 2.0, "inner": 0.5, "min_interval": 3, "min_trade": 0.1}
            ]
        )
    ).spec.policies[0]
    assert (nested.outer, nested.inner, nested.min_interval, nested.min_trade) == (2.0, 0.5, 3, 0.1)
    assert parse_simulation(hull(policies=[{"method": "none"}])).spec.policies[0].name == "none"


def test_historical_csv_is_read_relative_to_the_config(tmp_path: Path):
    (tmp_path / "prices.csv").write_text("timestamp,price\n0,100\n86400,101\n172800,99.5\n259200,100.5\n")
    config = parse_simulation(
        hull(model={"type": "historical", "csv": "prices.csv", "block_size": 2}), base_dir=tmp_path
    )
    model = config.spec.model
    assert isinstance(model, HistoricalModel)
    assert model.prices == (100.0, 101.0, 99.5, 100.5)
    assert model.block_size == 2
    assert error_of(hull(model={"type": "historical", "csv": "missing.csv"}), base_dir=tmp_path).path == "model.csv"
    error = error_of(hull(model={"type": "historical", "csv": "prices.csv", "block_size": 9}), base_dir=tmp_path)
    assert error.path == "model.block_size"
    (tmp_path / "bad.csv").write_text("timestamp,price\n0,100\n1,abc\n")
    error = error_of(hull(model={"type": "historical", "csv": "bad.csv"}), base_dir=tmp_path)
    assert error.path == "model.csv"
    assert "abc" in error.message


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        (hull(stepz=20), "stepz", "unknown key"),
        (hull(steps=0), "steps", "must be >= 1"),
        (hull(steps=2.5), "steps", "whole number"),
        (hull(horizon_years=-1), "horizon_years", "must be > 0"),
        (hull(paths="many"), "paths", "whole number"),
        ({k: v for k, v in HULL.items() if k != "horizon_years"}, "", "missing required key 'horizon_years'"),
        (hull(model={"type": "gbm", "spot": -49, "vol": 0.2}), "model.spot", "must be > 0"),
        (hull(model={"type": "gbm", "spot": 49, "vol": float("nan")}), "model.vol", "finite"),
        (hull(model={"type": "gbn", "spot": 49, "vol": 0.2}), "model.type", "must be one of"),
        (hull(model={"type": "gbm", "spot": 49, "vol": 0.2, "v0": 0.04}), "model.v0", "unknown key"),
        (
            hull(
                model={
                    "type": "heston",
                    "spot": 1,
                    "v0": 0.04,
                    "kappa": 1,
                    "theta": 0.04,
                    "vol_of_vol": 0.3,
                    "rho": -1.5,
                }
            ),
            "model.rho",
            "[-1, 1]",
        ),
        (hull(options=[]), "options", "at least one"),
        (
            hull(options=[{"type": "call", "strike": 50, "expiry_years": 0.3, "quantity": 0}]),
            "options[0].quantity",
            "must not be 0",
        ),
        (
            hull(options=[{"type": "call", "strike": -50, "expiry_years": 0.3, "quantity": 1}]),
            "options[0].strike",
            "must be > 0",
        ),
        (
            hull(options=[{"type": "cal", "strike": 50, "expiry_years": 0.3, "quantity": 1}]),
            "options[0].type",
            "must be one of",
        ),
        (
            hull(options=[{"type": "call", "strike": 50, "expiry": 0.3, "quantity": 1}]),
            "options[0].expiry",
            "unknown key",
        ),
        (hull(hedge={"instrument": "perp"}), "hedge.instrument", "must be one of"),
        (hull(costs={"proportional": -0.001}), "costs.proportional", "must be >= 0"),
        (hull(costs={"funding_rate_8h": 0.0001}), "costs.funding_rate_8h", "perpetual"),
        (hull(costs={"impact_coef": 0.1}), "costs.impact_adv", "is required"),
        (hull(policies=[]), "policies", "at least one"),
        (
            hull(policies=[{"name": "x", "method": "whalley_wilmot", "risk_aversion": 1}]),
            "policies[0].method",
            "must be one of",
        ),
        (hull(policies=[{"name": "x", "method": "whalley_wilmott"}]), "policies[0]", "risk_aversion"),
        (
            hull(policies=[{"name": "x", "method": "whalley_wilmott", "risk_aversion": 0}]),
            "policies[0].risk_aversion",
            "must be > 0",
        ),
        (
            hull(policies=[{"name": "x", "method": "whalley_wilmott", "risk_aversion": 1, "width": 2}]),
            "policies[0].width",
            "does not apply to method 'whalley_wilmott'",
        ),
        (hull(policies=[{"name": "x", "method": "time", "every": 0}]), "policies[0].every", "must be >= 1"),
        (
            hull(policies=[{"name": "x", "method": "time", "rebalance": "edge"}]),
            "policies[0].rebalance",
            "does not apply",
        ),
        (hull(policies=[{"name": "x", "method": "fixed"}]), "policies[0]", "'width'"),
        (hull(policies=[{"name": "x", "method": "nested", "outer": 1.0}]), "policies[0]", "both 'outer' and 'inner'"),
        (
            hull(policies=[{"name": "x", "method": "nested", "outer": 1.0, "inner": 2.0}]),
            "policies[0].inner",
            "must not exceed outer",
        ),
        (
            hull(policies=[{"name": "x", "method": "nested", "risk_aversion": 1.0, "outer": 2.0}]),
            "policies[0].risk_aversion",
            "not both",
        ),
        (
            hull(policies=[{"name": "a", "method": "none"}, {"name": "a", "method": "time"}]),
            "policies[1].name",
            "duplicate policy name 'a'",
        ),
        (hull(as_of="2026-11-21"), "as_of", "applies only with 'portfolio'"),
    ],
)
def test_errors_name_the_field(document, path, message):
    error = error_of(document)
    assert error.path == path
    assert message in error.message


def test_misspelt_keys_get_a_suggestion():
    assert error_of(hull(horizon=0.3)).suggestion == "horizon_years"
    assert error_of(hull(policies=[{"name": "x", "method": "time", "evry": 2}])).suggestion == "every"
    assert error_of(hull(costs={"half_sprad": 0.001})).suggestion == "half_spread"


def test_portfolio_file_gives_the_options_of_one_underlying(tmp_path: Path):
    portfolio = {
        "positions": [
            {"instrument": "BTC-25DEC26-100000-C", "quantity": -40},
            {"instrument": "BTC-25DEC26-90000-P", "quantity": 25},
            {"instrument": "ETH-25DEC26-4000-C", "quantity": 10},
            {"instrument": "BTC-PERPETUAL", "quantity": 1000},
        ]
    }
    (tmp_path / "book.yaml").write_text("placeholder: the reader below decodes it\n")
    read: list[Path] = []

    def read_document(path: Path) -> Any:
        read.append(path)
        return portfolio

    document = hull(portfolio="book.yaml", underlying="btc", as_of="2026-11-25T08:00:00Z")
    del document["options"]
    config = parse_simulation(document, base_dir=tmp_path, read_document=read_document)
    assert read == [tmp_path / "book.yaml"]
    assert config.underlying == "BTC"
    years = 30.0 / 365.0  # 25 Nov 08:00 to 25 Dec 08:00
    assert config.spec.options == (
        OptionSpec("call", 100000.0, pytest.approx(years, rel=1e-12), -40.0, "inverse"),
        OptionSpec("put", 90000.0, pytest.approx(years, rel=1e-12), 25.0, "inverse"),
    )
    document.pop("underlying")
    assert "BTC, ETH" in error_of(document, base_dir=tmp_path, read_document=read_document).message
    document["as_of"] = "2027-01-01"
    document["underlying"] = "BTC"
    assert "expired" in error_of(document, base_dir=tmp_path, read_document=read_document).message
    assert error_of(document, base_dir=tmp_path).path == "portfolio"
    assert error_of(hull(portfolio="book.yaml"), base_dir=tmp_path).message.startswith("give either")
