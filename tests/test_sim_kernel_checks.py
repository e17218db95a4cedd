"""The simulator kernel checks its arguments before it releases the GIL.

hedgecore._sim.simulate_blocks is called by hedgecore.simulation only, which builds the
tables; these tests call it directly with a small hand-made GBM book, so that every check
(book tables, outputs, streams, policies) raises ValueError naming the problem and leaves
the kernel usable (the scratch it allocated is freed on that path too)."""

from typing import Any

import numpy as np
import pytest

from hedgecore._sim import simulate_blocks

STEPS = 4
PATHS = 64


def arguments(**changes: Any) -> dict[str, Any]:
    """A short-dated call hedged at every step with a time policy, no costs, 64 GBM paths."""
    n_sets, n_terms = 1, 1
    table = (n_sets, STEPS + 1, 1, n_terms)
    args: dict[str, Any] = {
        "model_kind": 0,
        "model_params": np.array([100.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.04, 0.0, 0.0, 0.0, 0.0]),
        "returns": np.empty(0),
        "bootstrap_block": 0,
        "steps": STEPS,
        "dt": 0.01,
        "rate": 0.0,
        "strike": np.array([100.0]),
        "quantity": np.array([-1.0]),
        "omega": np.array([1.0]),
        "expiry_step": np.array([STEPS + 1], dtype=np.int64),
        "tau": np.linspace(0.05, 0.01, STEPS + 1).reshape(STEPS + 1, 1),
        "weight": np.ones(table),
        "shift": np.zeros(table),
        "inv_sdt": np.ones(table),
        "term_rate": np.zeros((STEPS + 1, 1, n_terms)),
        "term_var": np.zeros((STEPS + 1, 1, n_terms)),
        "hedge_vol": 0.2,
        "coin_premium": 0.0,
        "premium_cash": 0.0,
        "instrument": 0,
        "costs": np.zeros(5),
        "policy_ints": np.array([[1, 1, 0, 0, 0, 0]], dtype=np.intc),
        "policy_floats": np.zeros((1, 5)),
        "bitgens": np.zeros(1, dtype=np.uintp),
        "lane_seeds": np.arange(1, 25, dtype=np.uint64).reshape(1, 24),
        "first_block": 0,
        "paths_per_block": PATHS,
        "pnl": np.full((1, PATHS), np.nan),
        "cost": np.full((1, PATHS), np.nan),
        "funding": np.full((1, PATHS), np.nan),
        "trades": np.full((1, PATHS), np.nan),
        "trace": np.full((1, 4, STEPS + 1), np.nan),
        "n_threads": 1,
    }
    args.update(changes)
    return args


def test_valid_call_fills_every_path() -> None:
    args = arguments()
    simulate_blocks(**args)
    assert np.isfinite(args["pnl"]).all()
    # no costs configured: nothing is charged, and the time policy trades at every step
    assert (args["cost"] == 0.0).all()
    assert (args["trades"] >= 1.0).all()
    np.testing.assert_array_equal(args["trace"][0, 0, 0], 100.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_threads": 0}, "n_threads"),
        ({"costs": np.zeros(4)}, "costs 5"),
        ({"tau": np.zeros((STEPS, 1))}, "inconsistent shapes"),
        ({"shift": np.zeros((1, STEPS + 1, 1, 2))}, "inconsistent shapes"),
        ({"policy_floats": np.zeros((1, 4))}, "policy_floats"),
        ({"pnl": np.zeros((2, PATHS))}, "outputs"),
        ({"trace": np.zeros((1, 4, STEPS))}, "trace"),
        ({"model_kind": 1}, "bit generator"),
        ({"model_kind": 4}, "fewer returns"),
        ({"lane_seeds": np.zeros((1, 12), dtype=np.uint64)}, "lane_seeds"),
        ({"first_block": 1}, "outside the paths"),
        ({"policy_ints": np.array([[1, 1, 0, 0, 1, 0]], dtype=np.intc)}, "coefficient set"),
    ],
)
def test_bad_argument_raises_and_kernel_stays_usable(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_blocks(**arguments(**changes))
    # the failed call left nothing behind: the same kernel still runs the valid book and
    # gives the same answer as before
    first, again = arguments(), arguments()
    simulate_blocks(**first)
    simulate_blocks(**again)
    np.testing.assert_array_equal(first["pnl"], again["pnl"])
    assert np.isfinite(again["pnl"]).all()
