"""The market-making simulator quoting one option (policy options_skew): the kernel against
the scalar numpy reference on the same stream, the skew's zero-risk-aversion limit, inventory
control by vega risk aversion at comparable PnL, thread-count independence, config errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hedgecore._mm import simulate_blocks
from hedgecore.errors import ConfigError
from hedgecore.quoting.mmsim import (
    N_OUT,
    MMPolicy,
    kernel_arguments,
    parse_mm_config,
    policy_tables,
    simulate_market_making,
)
from tests.mm_reference import _option_greeks_scalar, walk_option_paths_scalar


def config(**overrides):
    data = {
        "mid": {"model": "gbm", "spot": 96500, "vol": 0.5},
        "horizon_hours": 24, "steps": 288, "paths": 4096, "seed": 3, "order_size": 1,
        "intensity": {"A": 20, "k": 400}, "inventory_limit": 20,
        "option": {"type": "call", "strike": 100000, "expiry_hours": 720, "vol": 0.5, "settlement": "inverse"},
        "policies": [
            {"name": "sym", "method": "symmetric", "half_spread": 0.002},
            {"name": "skew0", "method": "options_skew", "half_spread": 0.002},
            {"name": "skew", "method": "options_skew", "half_spread": 0.002, "risk_aversion": {"vega": 0.0005}},
        ],
    }
    data.update(overrides)
    return data


def test_zero_risk_aversion_is_symmetric_and_vega_aversion_controls_inventory():
    result = simulate_market_making(parse_mm_config(config()), threads=2)
    sym, skew0, skew = result.policy("sym"), result.policy("skew0"), result.policy("skew")
    np.testing.assert_array_equal(sym.pnl, skew0.pnl)          # same numbers on the same seed
    assert sym.inventory_std == skew0.inventory_std
    assert sym.mean_fills == skew0.mean_fills
    # vega risk aversion halves the inventory's spread ...
    assert skew.inventory_std < 0.6 * sym.inventory_std, (skew.inventory_std, sym.inventory_std)
    assert skew.std_pnl < 0.7 * sym.std_pnl
    # ... at a mean PnL within a few percent (common random numbers)
    assert abs(skew.mean_pnl - sym.mean_pnl) < 0.03 * abs(sym.mean_pnl), (skew.mean_pnl, sym.mean_pnl)


def test_thread_count_independent():
    spec = parse_mm_config(config(paths=3000))
    one = simulate_market_making(spec, threads=1)
    two = simulate_market_making(spec, threads=2)
    for a, b in zip(one.policies, two.policies, strict=True):
        np.testing.assert_array_equal(a.pnl, b.pnl)


@pytest.mark.parametrize("case", [
    {},
    {"option": {"type": "put", "strike": 90000, "expiry_years": 0.1, "vol": 0.6, "settlement": "linear",
                "model": "black_scholes", "rate": 0.05},
     "fees": {"maker_rate": 0.0003}, "hedge": {"width": 0.3, "proportional": 0.0005},
     "intensity": {"A": 20, "k": 0.005}},
    {"mid": {"model": "heston", "spot": 96500, "v0": 0.25, "kappa": 2.0, "theta": 0.36, "vol_of_vol": 0.6,
             "rho": -0.5}},
    {"mid": {"model": "merton", "spot": 96500, "vol": 0.4, "jump_intensity": 200, "jump_mean": -0.02,
             "jump_std": 0.03}, "hedge": {"width": 0.0}},
])
def test_kernel_agrees_with_numpy_reference(case):
    data = config(steps=40, **case)
    for policy in data["policies"]:
        policy["risk_aversion"] = {"delta": 0.3, "vega": 0.0005, "gamma": 0.0002}
        if "linear" in str(case):
            policy["half_spread"] = 150.0
    spec = parse_mm_config(data)
    n_paths = 60
    for policy in spec.policies:
        arguments = kernel_arguments(spec, policy_tables(spec, policy), spec.steps, policy)
        out = np.empty((n_paths, N_OUT))
        simulate_blocks(**arguments, bit_generators=[np.random.SFC64(5)], first_block=0, paths_per_block=1024,
                        n_paths=n_paths, out=out, n_threads=1)
        reference = walk_option_paths_scalar(np.random.SFC64(5), n_paths, arguments)
        np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-9)
        assert out[:, 1].sum() > 50          # the case fills


def test_option_price_at_start_is_black76_and_the_skew_sign():
    """The kernel's pricing against an independent Black-76, and a book long the option
    (vega > 0) quoting lower: the first fill of a long book is more often a sale."""
    o = {"is_call": True, "strike": 100000.0, "rate": 0.0}
    price, delta, vega, gamma = _option_greeks_scalar(o, 96500.0, 30 / 365, 0.5)
    sd = 0.5 * math.sqrt(30 / 365)
    d1 = (math.log(96500 / 100000) + 0.5 * sd * sd) / sd
    n = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    assert price == pytest.approx(96500 * n(d1) - 100000 * n(d1 - sd), rel=1e-12)
    bump = 1e-4
    up = _option_greeks_scalar(o, 96500.0, 30 / 365, 0.5 + bump)[0]
    down = _option_greeks_scalar(o, 96500.0, 30 / 365, 0.5 - bump)[0]
    assert vega == pytest.approx((up - down) / (2 * bump) / 100, rel=1e-6)
    h = 1.0
    d_up = _option_greeks_scalar(o, 96500.0 + h, 30 / 365, 0.5)[0]
    d_down = _option_greeks_scalar(o, 96500.0 - h, 30 / 365, 0.5)[0]
    assert delta == pytest.approx((d_up - d_down) / (2 * h), rel=1e-6)
    assert gamma == pytest.approx((d_up - 2 * price + d_down) / h**2 * 96500**2 / 100, rel=1e-4)


@pytest.mark.parametrize(("change", "message"), [
    ({"policies": [{"method": "options_skew", "half_spread": 0.001}], "option": None}, "needs an `option`"),
    ({"policies": [{"method": "glft_exact", "gamma": 0.001}]}, "with an `option` section the policies"),
    ({"option": {"type": "call", "strike": 1e5, "expiry_hours": 12, "vol": 0.5}}, "expire after the horizon"),
    ({"option": {"type": "call", "strike": 1e5, "expiry_hours": 720}}, "missing required key 'vol'"),
    ({"option": {"type": "call", "strike": 1e5, "expiry_hours": 720, "vol": 0.5, "rate": 0.1}}, "black_scholes"),
])
def test_config_errors(change, message):
    data = config(**change)
    if data.get("option") is None:
        data.pop("option")
    with pytest.raises(ConfigError, match=message):
        parse_mm_config(data)


def test_heston_without_vol_uses_the_instantaneous_vol():
    spec = parse_mm_config(config(mid={"model": "heston", "spot": 96500, "v0": 0.25, "kappa": 2.0, "theta": 0.36,
                                       "vol_of_vol": 0.6, "rho": -0.5}, paths=200,
                                  option={"type": "call", "strike": 100000, "expiry_hours": 720}))
    assert spec.option is not None
    assert spec.option.vol is None
    fixed = dataclasses.replace(spec, option=dataclasses.replace(spec.option, vol=0.5))
    live = simulate_market_making(spec, threads=1).policy("sym")
    frozen = simulate_market_making(fixed, threads=1).policy("sym")
    assert not np.array_equal(live.pnl, frozen.pnl)           # sqrt(v) moves the price
    assert MMPolicy("x", "options_skew").risk_aversion_vega == 0.0
