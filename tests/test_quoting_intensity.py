"""The fill-intensity estimator recovers A and k from fills simulated with known values."""

from __future__ import annotations

import numpy as np
import pytest

from hedgecore.errors import InputError
from hedgecore.quoting.intensity import estimate_from_csv, estimate_intensity


def simulate_fills_csv(path, rng, *, a_per_hour, k, n_per_side, instruments=("BTC-PERPETUAL",)):
    """Fills under the estimator's assumption: after each fill the side is re-quoted at a
    fresh distance and left there until filled (exponential wait at A exp(-k delta))."""
    lines = ["time,instrument,side,price,mid"]
    for instrument in instruments:
        for side in ("buy", "sell"):
            clock = 1_700_000_000.0
            for _ in range(n_per_side):
                delta = rng.uniform(0.0, 3.0 / k)
                clock += rng.exponential(3600.0 / (a_per_hour * np.exp(-k * delta)))
                mid = 96_500.0 + rng.normal(0.0, 50.0)
                price = mid - delta if side == "buy" else mid + delta
                lines.append(f"{clock:.6f},{instrument},{side},{price:.6f},{mid:.6f}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_a_and_k_within_its_confidence_interval(tmp_path, seed):
    rng = np.random.default_rng(seed)
    csv_path = tmp_path / "fills.csv"
    simulate_fills_csv(csv_path, rng, a_per_hour=20.0, k=0.05, n_per_side=800)
    fitted = estimate_from_csv(csv_path)
    assert fitted.fills == 2 * 799
    assert fitted.a_interval[0] < 20.0 < fitted.a_interval[1]
    assert fitted.k_interval[0] < 0.05 < fitted.k_interval[1]
    assert fitted.a_per_hour == pytest.approx(20.0, rel=0.2)
    assert fitted.k == pytest.approx(0.05, rel=0.1)


def test_interval_coverage_is_near_its_level():
    # 95% intervals over 200 independent samples: coverage within binomial noise of 0.95
    rng = np.random.default_rng(7)
    covered_k = covered_a = 0
    trials = 200
    for _ in range(trials):
        delta = rng.uniform(0.0, 60.0, 300)
        tau = rng.exponential(3600.0 / (20.0 * np.exp(-0.05 * delta)))
        fitted = estimate_intensity(delta, tau)
        covered_k += fitted.k_interval[0] < 0.05 < fitted.k_interval[1]
        covered_a += fitted.a_interval[0] < 20.0 < fitted.a_interval[1]
    assert 0.90 <= covered_k / trials <= 0.99
    assert 0.90 <= covered_a / trials <= 0.99


def test_maximum_is_a_stationary_point_of_the_likelihood():
    rng = np.random.default_rng(5)
    delta = rng.uniform(0.0, 60.0, 500)
    tau_s = rng.exponential(3600.0 / (20.0 * np.exp(-0.05 * delta)))
    fitted = estimate_intensity(delta, tau_s)
    tau = tau_s / 3600.0

    def loglik(a, k):
        return float(np.sum(np.log(a) - k * delta - a * np.exp(-k * delta) * tau))

    best = loglik(fitted.a_per_hour, fitted.k)
    for da, dk in ((1.01, 0.0), (0.99, 0.0), (1.0, 1e-3), (1.0, -1e-3)):
        assert loglik(fitted.a_per_hour * da, fitted.k + dk) < best


def test_refuses_unidentified_k_and_bad_rows(tmp_path):
    with pytest.raises(ValueError, match="not identified"):
        estimate_intensity(np.full(10, 5.0), np.ones(10))
    bad = tmp_path / "fills.csv"
    bad.write_text("time,instrument,side,price,mid\n1,BTC-PERPETUAL,hold,1,1\n")
    with pytest.raises(InputError, match=r"fills.csv:2: side"):
        estimate_from_csv(bad)
