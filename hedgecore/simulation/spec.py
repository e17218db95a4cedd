"""What a simulation is given: the price models, the option book, the hedge instrument, the
costs and the hedging policies, gathered in a SimulationSpec.

Units: prices in the quote currency (USD), times in years (ACT/365), vols and rates per
1.00 per year, hedge sizes in units of the underlying (coins), funding per 8 hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from hedgecore.simulation.history import read_price_history
from hedgecore.units import DAYS_PER_YEAR, SECONDS_PER_YEAR

OptionType = Literal["call", "put"]
Settlement = Literal["linear", "inverse"]
HedgeInstrumentKind = Literal["spot", "linear_perp", "inverse_perp"]
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
        1e11) or ISO 8601 strings (UTC when they carry no zone) and must strictly increase;
        prices must be finite numbers > 0. The file is read with bounded memory and time
        like a YAML input (at most MAX_PRICE_CSV_BYTES, UTF-8 text). A bad row or file
        raises InputError naming the file and the line (``prices.csv:17: ...``).
        """
        prices, stamps = read_price_history(path)
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
            period_years = 1.0 / DAYS_PER_YEAR
        return float(np.std(returns, ddof=1) / math.sqrt(period_years))


PriceModel = GBMModel | HestonModel | MertonModel | HistoricalModel


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

    instrument: HedgeInstrumentKind = "spot"
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


# A duration within this fraction of a step beyond whole steps counts as those steps
# (PolicySpec.interval_steps).
STEP_SLACK = 1e-3


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
    inner band. min_interval: at least this many steps between trades (0: none), or, when
    min_interval_seconds is given (a duration, as in a policy file), the fewest whole steps
    that last at least that long (`interval_steps`; steps are set at run time).
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
    min_interval_seconds: float | None = None

    def interval_steps(self, step_seconds: float) -> int:
        """Steps between trades when one step lasts `step_seconds`: `min_interval`, or the
        smallest count of steps lasting at least `min_interval_seconds` (a trade at step
        k may follow one at step j when (k - j) x step >= the duration). A duration within
        a thousandth of a step beyond k steps counts as k: a config's "one decision an hour"
        is often 59.998 minutes (30 days as 0.08219 years), and `optimize --write-policy`
        rounds durations to the millisecond; 2h should stay two such steps. Counts beyond
        2^31 - 1 mean the same as it: no second trade."""
        if self.min_interval_seconds is None:
            return self.min_interval
        if not step_seconds > 0.0:
            raise ValueError(f"step length must be positive, got {step_seconds!r} s")
        steps = math.ceil(self.min_interval_seconds / step_seconds - STEP_SLACK)
        return min(max(steps, 0), 2**31 - 1)


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
