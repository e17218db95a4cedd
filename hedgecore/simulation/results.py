"""What a simulation returns: the PnL distribution of each policy, the path-0 traces, and
the summary that turns per-path arrays into those figures.

Money results (PnL, costs, VaR) are for the whole book in the quote currency; VaR and CVaR
are reported as positive numbers meaning losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hedgecore.simulation.spec import PolicySpec

QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Distribution of the hedged PnL of the whole book under one policy.

    Money in the quote currency. var_* and cvar_* are positive numbers for losses
    (VaR = -quantile(pnl, 1 - level), CVaR = -mean of the pnl at or below that quantile).
    mean_cost: what hedging costs per path, trading costs plus funding (the definition
    `optimize` uses); mean_trading_cost: the trading costs alone (fees, spread, fixed,
    impact); mean_funding: perpetual funding paid per path (negative = received). All are
    already in the PnL. pnl, cost (trading costs), funding, trades: per-path arrays.
    """

    name: str
    method: str
    mean_pnl: float
    std_pnl: float
    stderr_pnl: float
    var_95: float
    var_99: float
    cvar_95: float
    cvar_99: float
    mean_cost: float
    mean_funding: float
    mean_trades: float
    quantiles: dict[str, float]
    pnl: NDArray[np.float64] = field(repr=False)
    cost: NDArray[np.float64] = field(repr=False)
    funding: NDArray[np.float64] = field(repr=False)
    trades: NDArray[np.float64] = field(repr=False)

    @property
    def mean_trading_cost(self) -> float:
        """Trading costs per path (fees, spread, fixed, impact), without funding."""
        return float(np.mean(self.cost))

    def as_dict(self) -> dict[str, Any]:
        """The summary numbers (no per-path arrays), JSON-ready."""
        return {
            "name": self.name,
            "method": self.method,
            "mean_pnl": self.mean_pnl,
            "std_pnl": self.std_pnl,
            "stderr_pnl": self.stderr_pnl,
            "var_95": self.var_95,
            "var_99": self.var_99,
            "cvar_95": self.cvar_95,
            "cvar_99": self.cvar_99,
            "mean_cost": self.mean_cost,
            "mean_trading_cost": self.mean_trading_cost,
            "mean_funding": self.mean_funding,
            "mean_trades": self.mean_trades,
            "quantiles": dict(self.quantiles),
        }


@dataclass(frozen=True, slots=True)
class PathTrace:
    """Step-by-step record of the first path (path 0) under one policy, for checks and
    plots. Arrays of length steps + 1 (decision times t_0 .. t_N; at t_N no trade):
    spot, target (band centre, units of the underlying), half_width (band half width,
    0 for time-based policies), hedge (position after the decision)."""

    spot: NDArray[np.float64]
    target: NDArray[np.float64]
    half_width: NDArray[np.float64]
    hedge: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Results of `simulate`: one PolicyResult per policy, in spec order.

    option_value: the book's model value at the start in the quote currency (sum of
    quantity x price; negative for a short book), the premium the PnL counts.
    """

    option_value: float
    paths: int
    steps: int
    seed: int | None
    threads: int
    policies: tuple[PolicyResult, ...]
    traces: tuple[PathTrace, ...] = field(repr=False, default=())

    def policy(self, name: str) -> PolicyResult:
        for result in self.policies:
            if result.name == name:
                return result
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: {"option_value", "paths", "steps", "seed", "policies": [...]}."""
        return {
            "option_value": self.option_value,
            "paths": self.paths,
            "steps": self.steps,
            "seed": self.seed,
            "policies": [result.as_dict() for result in self.policies],
        }


def _quantile_key(level: float) -> str:
    return f"p{round(level * 100):d}"


def _summarise(policy: PolicySpec, pnl: NDArray[np.float64], cost: NDArray[np.float64],
               funding: NDArray[np.float64], trades: NDArray[np.float64]) -> PolicyResult:
    n = pnl.size
    levels = np.array(QUANTILE_LEVELS)
    # one partition pass for every level; VaR reads its 5% and 1% quantiles from it
    quantiles = np.quantile(pnl, levels)
    q05 = quantiles[QUANTILE_LEVELS.index(0.05)]
    q01 = quantiles[QUANTILE_LEVELS.index(0.01)]
    std = float(np.std(pnl, ddof=1)) if n > 1 else 0.0
    return PolicyResult(
        name=policy.name,
        method=policy.method,
        mean_pnl=float(np.mean(pnl)),
        std_pnl=std,
        stderr_pnl=std / math.sqrt(n),
        var_95=float(-q05),
        var_99=float(-q01),
        cvar_95=float(-np.mean(pnl[pnl <= q05])),
        cvar_99=float(-np.mean(pnl[pnl <= q01])),
        mean_cost=float(np.mean(cost) + np.mean(funding)),
        mean_funding=float(np.mean(funding)),
        mean_trades=float(np.mean(trades)),
        quantiles={_quantile_key(level): float(value) for level, value in zip(levels, quantiles, strict=True)},
        pnl=pnl,
        cost=cost,
        funding=funding,
        trades=trades,
    )


def _non_finite_message(policy: str, figure: str) -> str:
    return (f"policy {policy!r}: {figure} came out non-finite (the simulation overflowed): check model.vol, "
            "model.drift, horizon_years, the option quantities and the costs for values far out of range")


def _refuse_non_finite(results: tuple[PolicyResult, ...], option_value: float) -> None:
    """A figure that came out inf or NaN means an input beyond what float64 can carry
    (a price path that overflows, a book too large): refuse rather than report null."""
    if not math.isfinite(option_value):
        raise ValueError("the book's starting value is not finite: check the option quantities, strikes, "
                         "spot and vols for values far out of range")
    for result in results:
        for name, value in result.as_dict().items():
            figures = value.values() if isinstance(value, dict) else [value]
            if any(isinstance(x, float) and not math.isfinite(x) for x in figures):
                raise ValueError(_non_finite_message(result.name, name))
