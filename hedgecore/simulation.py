"""Monte Carlo simulation of a hedged options book: specs, the `simulate` facade, results.

A `SimulationSpec` describes a price model, the option book being hedged, the hedge
instrument, trading costs and one or more hedging policies. `simulate` validates the spec,
seeds one independent bit generator per fixed-size block of paths and hands everything to
the compiled kernel (hedgecore._sim), which walks every path once and runs all policies
along it (common random numbers). Memory is O(paths): no price path is ever stored.

Units: prices in the quote currency (USD), times in years (ACT/365), vols and rates per
1.00 per year, hedge sizes in units of the underlying (coins), funding per 8 hours.
Money results (PnL, costs, VaR) are for the whole book in the quote currency; VaR and CVaR
are reported as positive numbers meaning losses.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
from numpy.typing import NDArray

from hedgecore._inputs import resolve_threads

# Paths per random stream. Fixed, so a seed gives the same paths on any thread count; the
# block of a path never changes when `paths` grows (path i always draws from stream i // 1024).
PATHS_PER_BLOCK = 1024
SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0

QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)

OptionType = Literal["call", "put"]
Settlement = Literal["linear", "inverse"]
HedgeInstrument = Literal["spot", "linear_perp", "inverse_perp"]
PolicyMethod = Literal["none", "time", "fixed", "whalley_wilmott", "zakamouline", "leland", "nested"]
Rebalance = Literal["target", "edge"]


# --------------------------------------------------------------------------- price models
@dataclass(frozen=True, slots=True)
class GBMModel:
    """Geometric Brownian motion: dS/S = drift dt + vol dW (real-world drift per year)."""

    spot: float
    drift: float
    vol: float
    type: Literal["gbm"] = "gbm"


@dataclass(frozen=True, slots=True)
class HestonModel:
    """Heston stochastic volatility.

    dS/S = drift dt + sqrt(v) dW1, dv = kappa (theta - v) dt + vol_of_vol sqrt(v) dW2,
    corr(dW1, dW2) = rho. `v0` and `theta` are variances (0.04 for 20% vol).
    `scheme`: "qe" (Andersen's quadratic-exponential, with martingale-free log-price step)
    or "euler" (full-truncation Euler).
    """

    spot: float
    drift: float
    v0: float
    kappa: float
    theta: float
    vol_of_vol: float
    rho: float
    scheme: Literal["qe", "euler"] = "qe"
    type: Literal["heston"] = "heston"


@dataclass(frozen=True, slots=True)
class MertonModel:
    """Merton (1976) jump-diffusion: GBM plus Poisson jumps in the log price.

    Jumps arrive at `jump_intensity` per year; each multiplies the price by e^J with
    J ~ N(jump_mean, jump_std^2). `drift` is the total expected return per year: the
    diffusion drift is compensated so that E[S_t] = S_0 e^{drift t}.
    """

    spot: float
    drift: float
    vol: float
    jump_intensity: float
    jump_mean: float
    jump_std: float
    type: Literal["merton"] = "merton"


@dataclass(frozen=True, slots=True)
class HistoricalModel:
    """Replay of a historical price series, optionally block-bootstrapped.

    Each simulation step consumes one log return of the series, rescaled to start at
    `spot` (default: the first price). Without `block_size` every path replays the first
    `steps` returns of the series (all paths identical: use paths=1). With `block_size`
    each path is a moving-block bootstrap: consecutive runs of `block_size`
    returns starting at uniformly drawn positions, concatenated until `steps` returns.
    `timestamps` (seconds since the epoch, optional) annualise the realised vol used by
    default as the hedging vol.
    """

    prices: tuple[float, ...]
    timestamps: tuple[float, ...] | None = None
    spot: float | None = None
    block_size: int | None = None
    type: Literal["historical"] = "historical"

    @classmethod
    def from_csv(cls, path: str | Path, *, block_size: int | None = None,
                 spot: float | None = None) -> HistoricalModel:
        """Read a CSV of (timestamp, price) rows; a header row is skipped.

        Timestamps may be numbers (seconds since the epoch, or milliseconds when above
        1e11) or ISO 8601 strings.
        """
        stamps: list[float] = []
        prices: list[float] = []
        with open(path, newline="") as handle:
            for number, row in enumerate(csv.reader(handle)):
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2:
                    raise ValueError(f"{path}: line {number + 1}: expected timestamp,price")
                try:
                    price = float(row[1])
                except ValueError:
                    if number == 0:
                        continue  # header
                    raise ValueError(f"{path}: line {number + 1}: price {row[1]!r} is not a number") from None
                stamps.append(_parse_timestamp(row[0].strip(), path, number + 1))
                prices.append(price)
        return cls(prices=tuple(prices), timestamps=tuple(stamps), spot=spot, block_size=block_size)

    def log_returns(self) -> NDArray[np.float64]:
        return np.diff(np.log(np.asarray(self.prices, dtype=np.float64)))

    def realised_vol(self) -> float:
        """Annualised realised vol of the series (the timestamps give the sampling period;
        without timestamps the series is taken as daily)."""
        returns = self.log_returns()
        if returns.size < 2:
            raise ValueError("model.prices: need at least 3 prices to estimate a realised vol; pass hedge.vol")
        if self.timestamps is not None:
            period_years = (self.timestamps[-1] - self.timestamps[0]) / (len(self.timestamps) - 1) / SECONDS_PER_YEAR
        else:
            period_years = 1.0 / 365.0
        return float(np.std(returns, ddof=1) / math.sqrt(period_years))


def _parse_timestamp(text: str, path: str | Path, line: int) -> float:
    try:
        value = float(text)
        return value / 1000.0 if value > 1e11 else value
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"{path}: line {line}: timestamp {text!r} is neither a number nor ISO 8601") from None


PriceModel = Union[GBMModel, HestonModel, MertonModel, HistoricalModel]


# --------------------------------------------------------------------------- the book
@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One European option line of the hedged book.

    quantity: signed number of options, each on one unit of the underlying (negative =
    short). settlement "linear": premium and payoff in the quote currency; "inverse":
    coin-settled (Deribit style), the premium is paid/received in coin at the start and
    held as coin, the payoff max(S_T - K, 0) / S_T coin is converted at S_T. The hedger
    then also hedges the coin premium (the premium-adjusted delta, REFERENCE.md 1).
    """

    type: OptionType
    strike: float
    expiry_years: float
    quantity: float
    settlement: Settlement = "linear"


@dataclass(frozen=True, slots=True)
class HedgeSpec:
    """The hedge instrument and the volatility the hedger uses.

    instrument: "spot" (coins bought with borrowed quote currency, financed at the rate),
    "linear_perp" (USDT/USDC-margined perpetual, PnL q (P1 - P0), funding accrues) or
    "inverse_perp" (coin-margined perpetual with notional N in USD: coin exposure N/P, PnL
    N (1/P0 - 1/P1) coin, swept into the quote currency each step; funding accrues).
    The perp trades at the spot price (no basis).
    vol: hedging volatility for deltas, bands and the premium. Default: the model's vol
    (GBM, Merton diffusion vol), sqrt(theta) for Heston, the realised vol for historical.
    """

    instrument: HedgeInstrument = "spot"
    vol: float | None = None


@dataclass(frozen=True, slots=True)
class CostSpec:
    """Trading and carry costs.

    proportional: fee as a fraction of traded notional; half_spread: fraction of the price
    paid on each trade (so the one-way cost lambda = proportional + half_spread);
    fixed: quote currency per trade; funding_rate_8h: perpetual funding per 8 hours,
    accrued each step as q S f_8h dt / 8h (longs pay when positive).
    Square-root market impact: cost = impact_coef * S * |dq| * sqrt(|dq| / impact_adv) per
    trade, with impact_adv the average daily volume in units of the underlying (off when
    impact_coef == 0).
    """

    proportional: float = 0.0
    half_spread: float = 0.0
    fixed: float = 0.0
    funding_rate_8h: float = 0.0
    impact_coef: float = 0.0
    impact_adv: float = math.inf


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """One hedging policy. Which parameters apply depends on `method`:

    - "none": never hedge;
    - "time": rebalance to the delta every `every` steps;
    - "fixed": band of half width `width` (units of the underlying) around the delta;
    - "whalley_wilmott": band around the delta, half width from `risk_aversion`
      (absolute, per unit of quote currency) and the one-way cost;
    - "zakamouline": band around the delta at Zakamouline's modified vol;
    - "leland": rebalance every `every` steps to the delta at Leland's vol;
    - "nested": trade when outside the outer band, back to the inner band; widths either
      `outer`/`inner` (units of the underlying) or, from `risk_aversion`, the minimiser of
      the quasi-stationary loss with the fixed and proportional costs.
    rebalance: "edge" (to the nearest band edge; default for whalley_wilmott and
    zakamouline) or "target" (to the band centre; default for fixed); nested trades to the
    inner band. min_interval: at least this many steps between trades (0: none).
    min_trade: trades smaller than this (units of the underlying) are skipped.
    """

    name: str
    method: PolicyMethod
    every: int = 1
    width: float | None = None
    risk_aversion: float | None = None
    outer: float | None = None
    inner: float | None = None
    rebalance: Rebalance | None = None
    min_interval: int = 0
    min_trade: float = 0.0


@dataclass(frozen=True, slots=True)
class SimulationSpec:
    """Everything a simulation needs. `options` is the book (non-empty); all `policies`
    are simulated on the same paths."""

    model: PriceModel
    options: tuple[OptionSpec, ...]
    policies: tuple[PolicySpec, ...]
    horizon_years: float
    steps: int
    paths: int = 10_000
    seed: int | None = 0
    rate: float = 0.0
    hedge: HedgeSpec = field(default_factory=HedgeSpec)
    costs: CostSpec = field(default_factory=CostSpec)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Distribution of the hedged PnL of the whole book under one policy.

    Money in the quote currency. var_* and cvar_* are positive numbers for losses
    (VaR = -quantile(pnl, 1 - level), CVaR = -mean of the pnl at or below that quantile).
    mean_cost: trading costs (fees, spread, fixed, impact) per path; mean_funding:
    perpetual funding paid per path (negative = received); both already in the PnL.
    pnl, cost, funding, trades: per-path arrays (for histograms).
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


ProgressCallback = Callable[[int, int], None]


def simulate(
    spec: SimulationSpec,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Simulate every policy of `spec` on the same paths and summarise the hedged PnL.

    paths, steps, seed override the spec's values when given. threads: OpenMP threads
    (None: all); results do not depend on it. progress(done_paths, total_paths) is called
    with the GIL held between chunks of path blocks.

    The premium is the model price at the start at the hedging vol (HedgeSpec.vol):
    Black-Scholes for GBM, Heston (a BS price at the hedging vol, sqrt(theta) by default:
    no closed form is used) and historical replay; the Merton series price for Merton,
    whose hedger also uses the Merton delta. The premium is financed/invested at `rate`.
    """
    raise NotImplementedError("the kernel is being written")


__all__ = [
    "CostSpec",
    "GBMModel",
    "HedgeSpec",
    "HestonModel",
    "HistoricalModel",
    "MertonModel",
    "OptionSpec",
    "PathTrace",
    "PolicyResult",
    "PolicySpec",
    "PriceModel",
    "QUANTILE_LEVELS",
    "SimulationResult",
    "SimulationSpec",
    "simulate",
]
