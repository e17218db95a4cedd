"""Monte Carlo simulation of a hedged options book: specs, the `simulate` facade, results.

A `SimulationSpec` describes a price model, the option book being hedged, the hedge
instrument, trading costs and one or more hedging policies. `simulate` validates the spec,
seeds independent SFC64 streams per fixed-size block of paths and hands everything to
the compiled kernel (hedgecore._sim), which walks every path once and runs all policies
along it (common random numbers). Memory is O(paths): no price path is ever stored.

Units: prices in the quote currency (USD), times in years (ACT/365), vols and rates per
1.00 per year, hedge sizes in units of the underlying (coins), funding per 8 hours.
Money results (PnL, costs, VaR) are for the whole book in the quote currency; VaR and CVaR
are reported as positive numbers meaning losses.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from hedgecore._inputs import resolve_threads
from hedgecore.errors import InputError, decode_input_text, escape_text, read_input_file, show_text

# Paths per random stream. Fixed, so a seed gives the same paths on any thread count; the
# block of a path never changes when `paths` grows (path i always draws from stream i // 1024).
PATHS_PER_BLOCK = 1024
SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0

QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)

# Work bounds (README "Work bounds"): a run is refused before it starts when it needs more
# than MAX_WORK path-steps x policies (about two hours at 1.5e7 a second, the rate of two
# cores on the BTC example) or more than MAX_MEMORY_BYTES (the per-path results of every
# policy are kept: about 56 bytes a path and policy, plus the per-step tables of the book).
# Both bounds can be raised per call (max_work=, max_memory_bytes=; the CLI's --max-work and
# --max-memory-gib) or lifted with None.
MAX_WORK = 100_000_000_000
MAX_MEMORY_BYTES = 8 * 2**30
# Hard limits whatever the bounds: the kernel counts steps in a C int, and a path count
# beyond 2^53 is not even an exact float.
MAX_STEPS = 2**31 - 2
MAX_PATHS = 2**53
# The compiled loop runs in chunks of path blocks sized to return to Python about this
# often, so that a progress bar moves and Ctrl-C (SIGINT) and SIGTERM stop a run promptly.
CHUNK_SECONDS = 0.15

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
        1e11) or ISO 8601 strings (UTC when they carry no zone) and must strictly increase;
        prices must be finite numbers > 0. The file is read with bounded memory and time
        like a YAML input (at most MAX_PRICE_CSV_BYTES, UTF-8 text). A bad row or file
        raises InputError naming the file and the line (``prices.csv:17: ...``).
        """
        filename = str(path)
        text = decode_input_text(read_input_file(path, filename, max_bytes=MAX_PRICE_CSV_BYTES), filename)
        reader = csv.reader(io.StringIO(text, newline=""))
        stamps: list[float] = []
        prices: list[float] = []
        header_allowed = True
        try:
            for row in reader:
                line = reader.line_num
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2:
                    raise InputError(filename, line, "expected timestamp,price")
                try:
                    price = float(row[1])
                except ValueError:
                    if header_allowed:
                        header_allowed = False
                        continue
                    raise InputError(filename, line, f"price {show_text(row[1])} is not a number") from None
                header_allowed = False
                if not (math.isfinite(price) and price > 0.0):
                    raise InputError(filename, line,
                                     f"price must be a finite number > 0, got {show_text(row[1].strip())}")
                stamp = _parse_timestamp(row[0].strip(), filename, line)
                if stamps and not stamp > stamps[-1]:
                    raise InputError(filename, line, f"timestamps must increase: {show_text(row[0].strip())} "
                                     "is not after the previous row's")
                stamps.append(stamp)
                prices.append(price)
        except csv.Error as exc:
            raise InputError(filename, reader.line_num, f"not a CSV of timestamp,price rows: "
                             f"{escape_text(str(exc), 100)}") from None
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


MAX_PRICE_CSV_BYTES = 64 * 1024 * 1024     # about 1.5 million rows: a year of minute prices


def _parse_timestamp(text: str, filename: str, line: int) -> float:
    """Seconds since the epoch of one CSV timestamp (InputError naming the line if bad)."""
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise InputError(filename, line, f"timestamp {show_text(text)} must be a finite number")
        return value / 1000.0 if value > 1e11 else value
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(filename, line, f"timestamp {show_text(text)} is neither a number nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


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


ProgressCallback = Callable[[int, int], None]


class WorkLimitError(ValueError):
    """A run beyond the work or memory bound (README "Work bounds"), refused before it starts."""

    def __init__(self, estimate: WorkEstimate, max_work: float | None, max_memory_bytes: float | None,
                 how: str = "use fewer paths, steps or policies, or raise the bound "
                             "(max_work=, max_memory_bytes=; None lifts it)") -> None:
        self.estimate = estimate
        limits = []
        if max_work is not None and estimate.work > max_work:
            limits.append(f"the bound of {max_work:.3g} path-steps x policies")
        if max_memory_bytes is not None and estimate.memory_bytes > max_memory_bytes:
            limits.append(f"the memory bound of {_bytes_text(max_memory_bytes)}")
        super().__init__(f"the run needs about {estimate.describe()}, beyond {' and '.join(limits)}: {how}")


@dataclass(frozen=True, slots=True)
class WorkEstimate:
    """What a run will cost before it starts.

    work: path-steps x policies (the kernel's time is proportional to it); memory_bytes:
    the peak memory of the arrays the run allocates, per-path results of every policy and
    the per-step tables of the book (an estimate, within a factor of about two).
    """

    paths: int
    steps: int
    policies: int
    work: float
    memory_bytes: float

    def describe(self) -> str:
        return (f"{self.work:.3g} path-steps x policies ({self.paths:,} paths x {self.steps:,} steps x "
                f"{self.policies:,} policies) and {_bytes_text(self.memory_bytes)} of memory")

    def check(self, max_work: float | None = MAX_WORK, max_memory_bytes: float | None = MAX_MEMORY_BYTES,
              how: str | None = None) -> None:
        """Raise WorkLimitError when the run is beyond a bound (None: no bound)."""
        if ((max_work is not None and self.work > max_work)
                or (max_memory_bytes is not None and self.memory_bytes > max_memory_bytes)):
            if how is None:
                raise WorkLimitError(self, max_work, max_memory_bytes)
            raise WorkLimitError(self, max_work, max_memory_bytes, how)


# Bytes per path and policy: the four per-path result arrays plus the summary's temporaries.
_BYTES_PER_PATH_POLICY = 56
# Bytes per path block: its seed words, SeedSequence and bit generator objects.
_BYTES_PER_BLOCK = 2048


def estimate_work(spec: SimulationSpec, *, paths: int | None = None, steps: int | None = None,
                  policies: int | None = None) -> WorkEstimate:
    """The work and memory of `simulate(spec, paths=, steps=)` (policies: count instead of
    the spec's, as `optimize` runs its candidates). Raises ValueError for a path or step
    count that is not a positive integer within the hard limits (MAX_PATHS, MAX_STEPS)."""
    n_paths = _positive_int("paths", spec.paths if paths is None else paths, MAX_PATHS)
    n_steps = _positive_int("steps", spec.steps if steps is None else steps, MAX_STEPS)
    n_policies = max(1, len(spec.policies) if policies is None else int(policies))
    n_options = max(1, len(spec.options))
    n_sets = 1 + sum(1 for policy in spec.policies if policy.method == "leland")
    try:
        longest = max(float(option.expiry_years) for option in spec.options) if spec.options else 0.0
        n_terms = _jump_terms(spec, longest)[3] if math.isfinite(longest) else 1
    except (TypeError, ValueError, OverflowError):
        n_terms = 1  # the validation that follows names the field
    per_step = 16.0 * n_options * n_terms * (2 * n_sets + 6) + 32.0 * n_policies
    memory = (float(n_paths) * n_policies * _BYTES_PER_PATH_POLICY
              + -(-n_paths // PATHS_PER_BLOCK) * _BYTES_PER_BLOCK + (n_steps + 1) * per_step)
    return WorkEstimate(paths=n_paths, steps=n_steps, policies=n_policies,
                        work=float(n_paths) * n_steps * n_policies, memory_bytes=memory)


def _bytes_text(size: float) -> str:
    for unit, scale in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20)):
        if size >= scale:
            return f"{size / scale:,.3g} {unit}"
    return f"{size / 2.0**10:,.3g} KiB"


def simulate(
    spec: SimulationSpec,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    max_work: float | None = MAX_WORK,
    max_memory_bytes: float | None = MAX_MEMORY_BYTES,
) -> SimulationResult:
    """Simulate every policy of `spec` on the same paths and summarise the hedged PnL.

    paths, steps, seed override the spec's values when given. threads: OpenMP threads
    (None: all); results do not depend on it. progress(done_paths, total_paths) is called
    with the GIL held between chunks of path blocks; the compiled loop returns to Python
    about every CHUNK_SECONDS whether or not there is a progress callback, so that signal
    handlers run. max_work, max_memory_bytes: the work bounds (see estimate_work; None
    lifts one); beyond them WorkLimitError (a ValueError) is raised before any work.
    A summary figure that comes out non-finite (an overflow from extreme inputs) raises
    ValueError naming the policy and the figure.

    The premium is the model price at the start at the hedging vol (HedgeSpec.vol):
    Black-Scholes for GBM, Heston (a BS price at the hedging vol, sqrt(theta) by default:
    no closed form is used) and historical replay; the Merton series price for Merton,
    whose hedger also uses the Merton delta. The premium is financed/invested at `rate`.
    """
    if not isinstance(spec, SimulationSpec):
        raise ValueError(f"spec must be a SimulationSpec, got {type(spec).__name__}")
    estimate = estimate_work(spec, paths=paths, steps=steps)
    estimate.check(max_work, max_memory_bytes)
    n_paths, n_steps = estimate.paths, estimate.steps
    seed_value = spec.seed if seed is None else seed
    n_threads = resolve_threads(threads)
    if progress is not None and not callable(progress):
        raise ValueError("progress must be a callable progress(done, total) or None")

    plan = _plan(spec, n_steps)
    option_value = float(plan.pop("_option_value"))
    seed_sequence = np.random.SeedSequence(seed_value)
    used_seed = seed_value if seed_value is not None else int(seed_sequence.entropy)  # type: ignore[arg-type]
    n_blocks = -(-n_paths // PATHS_PER_BLOCK)
    blocks = _run_blocks(spec, plan, used_seed, 0, n_blocks, n_paths, n_threads, progress)
    return merge_blocks(spec, [blocks], option_value=option_value, paths=n_paths, steps=n_steps,
                        seed=used_seed, threads=n_threads)


@dataclass(frozen=True, slots=True)
class BlockResults:
    """The raw per-path results of the path blocks [first_block, last_block): arrays of shape
    (policies, paths of those blocks), path j of the run in column j - first_block *
    PATHS_PER_BLOCK. trace: the path-0 trace (policies, 4, steps + 1), only when
    first_block is 0. What `simulate_block_range` returns and `merge_blocks` summarises."""

    first_block: int
    last_block: int
    pnl: NDArray[np.float64]
    cost: NDArray[np.float64]
    funding: NDArray[np.float64]
    trades: NDArray[np.float64]
    trace: NDArray[np.float64] | None = None


def block_count(paths: int) -> int:
    """How many path blocks (of PATHS_PER_BLOCK paths, the last one partial) `paths` fill."""
    return -(-paths // PATHS_PER_BLOCK)


def simulate_block_range(spec: SimulationSpec, first_block: int, last_block: int, *, paths: int, steps: int,
                         seed: int, threads: int | None = None) -> BlockResults:
    """Run the path blocks [first_block, last_block) of `simulate(spec, paths=, steps=, seed=)`
    and return their raw per-path results: the same numbers, bit for bit, as those blocks
    give in the whole run (block b draws from SeedSequence(seed).spawn(n_blocks)[b] only).
    `seed` is the run's resolved seed (SimulationResult.seed). A pure function of its
    arguments: the unit of work that hedgecore.cluster sends to a worker."""
    n_paths = _positive_int("paths", paths, MAX_PATHS)
    n_steps = _positive_int("steps", steps, MAX_STEPS)
    if not 0 <= first_block < last_block <= block_count(n_paths):
        raise ValueError(f"blocks [{first_block}, {last_block}) are outside the {block_count(n_paths)} blocks "
                         f"of {n_paths} paths")
    plan = _plan(spec, n_steps)
    plan.pop("_option_value")
    return _run_blocks(spec, plan, seed, first_block, last_block, n_paths, resolve_threads(threads), None)


def _run_blocks(spec: SimulationSpec, plan: dict[str, Any], seed: int, first_block: int, last_block: int,
                n_paths: int, n_threads: int, progress: ProgressCallback | None) -> BlockResults:
    """The compiled kernel over the blocks [first_block, last_block), in chunks."""
    from hedgecore._sim import LANE_STREAMS, bitgen_addresses, simulate_blocks

    # Block b owns SeedSequence(seed).spawn(n_blocks)[b], which is SeedSequence(seed,
    # spawn_key=(b,)) whatever n_blocks. GBM steps LANE_STREAMS SFC64 streams in SIMD lanes,
    # seeded with consecutive triples of the child's generate_state words (stream 0 is
    # numpy's SFC64(child) itself); the other models draw through numpy's distributions
    # from one SFC64(child) per block.
    entropy = np.random.SeedSequence(seed).entropy
    children = [np.random.SeedSequence(entropy, spawn_key=(block,)) for block in range(first_block, last_block)]
    n_blocks = last_block - first_block
    gbm = plan["model_kind"] == _MODEL_KINDS["gbm"]
    lane_seeds = np.zeros((n_blocks, 3 * LANE_STREAMS), dtype=np.uint64)
    if gbm:
        for block, child in enumerate(children):
            lane_seeds[block] = child.generate_state(3 * LANE_STREAMS, np.uint64)
    streams = [] if gbm else [np.random.SFC64(child) for child in children]
    addresses = bitgen_addresses(streams) if streams else np.zeros(n_blocks, dtype=np.uintp)

    # The kernel writes path j of its arrays from the j-th path of the blocks it is given, so
    # the arrays hold this range's paths only; path 0 (and its trace) is in range 0 alone.
    first_path = first_block * PATHS_PER_BLOCK
    range_paths = min(last_block * PATHS_PER_BLOCK, n_paths) - first_path
    n_policies = len(spec.policies)
    pnl = np.empty((n_policies, range_paths))
    cost = np.empty((n_policies, range_paths))
    funding = np.empty((n_policies, range_paths))
    trades = np.empty((n_policies, range_paths))
    trace = np.full((n_policies, 4, plan["steps"] + 1), np.nan)
    # Chunks start at one block per thread and grow (or shrink) to take about
    # CHUNK_SECONDS each; a block's numbers do not depend on its chunk.
    chunk = n_threads
    first = 0
    while first < n_blocks:
        last = min(first + chunk, n_blocks)
        started = time.perf_counter()
        simulate_blocks(
            **plan,
            bitgens=addresses[first:last],
            lane_seeds=lane_seeds[first:last],
            first_block=first,
            paths_per_block=PATHS_PER_BLOCK,
            pnl=pnl, cost=cost, funding=funding, trades=trades, trace=trace,
            n_threads=n_threads,
        )
        elapsed = time.perf_counter() - started
        growth = min(4.0, max(0.25, CHUNK_SECONDS / elapsed)) if elapsed > 0.0 else 4.0
        chunk = max(n_threads, int(chunk * growth) // n_threads * n_threads)
        first = last
        if progress is not None:
            progress(min(first_path + last * PATHS_PER_BLOCK, n_paths), n_paths)
    return BlockResults(first_block=first_block, last_block=last_block, pnl=pnl, cost=cost, funding=funding,
                        trades=trades, trace=trace if first_block == 0 else None)


def merge_blocks(spec: SimulationSpec, blocks: list[BlockResults], *, option_value: float, paths: int, steps: int,
                 seed: int, threads: int) -> SimulationResult:
    """The SimulationResult of a run from the results of its block ranges, in any order:
    they are put in block order, must cover every block once, and are summarised by the
    same code whatever the split (so the numbers, exact quantiles included, are those of
    one in-process run)."""
    ordered = sorted(blocks, key=lambda part: part.first_block)
    expected = 0
    for part in ordered:
        if part.first_block != expected:
            raise ValueError(f"block results do not cover the run: expected block {expected}, got {part.first_block}")
        expected = part.last_block
    if expected != block_count(paths):
        raise ValueError(f"block results end at block {expected}, the run has {block_count(paths)}")
    if len(ordered) == 1:
        pnl, cost, funding, trades = ordered[0].pnl, ordered[0].cost, ordered[0].funding, ordered[0].trades
    else:
        pnl, cost, funding, trades = (np.concatenate([getattr(part, name) for part in ordered], axis=1)
                                      for name in ("pnl", "cost", "funding", "trades"))
    trace = ordered[0].trace
    assert trace is not None  # block 0's range carries it
    for p, policy in enumerate(spec.policies):
        for figure, values in (("PnL", pnl[p]), ("cost", cost[p]), ("funding", funding[p])):
            if not np.isfinite(values).all():
                raise ValueError(_non_finite_message(policy.name, f"the per-path {figure}"))
    results = tuple(
        _summarise(policy, pnl[p], cost[p], funding[p], trades[p])
        for p, policy in enumerate(spec.policies)
    )
    _refuse_non_finite(results, option_value)
    traces = tuple(PathTrace(spot=trace[p, 0], target=trace[p, 1], half_width=trace[p, 2], hedge=trace[p, 3])
                   for p in range(len(spec.policies)))
    return SimulationResult(
        option_value=option_value,
        paths=paths, steps=steps, seed=seed, threads=threads,
        policies=results, traces=traces,
    )


def start_value(spec: SimulationSpec, steps: int) -> float:
    """The book's model value at the start (SimulationResult.option_value) for `steps`."""
    return float(_plan(spec, _positive_int("steps", steps, MAX_STEPS))["_option_value"])


# --------------------------------------------------------------------------- internals
_MODEL_KINDS = {"gbm": 0, "merton": 1, "heston_qe": 2, "heston_euler": 3, "historical": 4}
_INSTRUMENTS = {"spot": 0, "linear_perp": 1, "inverse_perp": 2}
_METHODS = {"none": 0, "time": 1, "fixed": 2, "whalley_wilmott": 3, "zakamouline": 4,
            "leland": 5, "nested": 6}
_HOURS_PER_YEAR = 365.0 * 24.0
_MAX_C_INT = 2**31 - 1  # every, min_interval and block_size travel to the kernel as C ints


def _positive_int(name: str, value: Any, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {_short(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {_short(value)}")
    return int(value)


def _short(value: Any) -> str:
    """A value for a message, bounded: a 400-digit integer is named by its size."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(int(value)) >= 10**18:
        return f"a number of {len(str(abs(int(value))))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def _count(name: str, value: Any) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0
            or value > _MAX_C_INT):
        raise ValueError(f"{name} must be an integer in [0, {_MAX_C_INT}] (steps), got {_short(value)}")
    return int(value)


def _finite(name: str, value: Any, *, low: float | None = None, strict: bool = False,
            high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (number <= low if strict else number < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low}, got {value!r}")
    if high is not None and number > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return number


def hedge_vol_of(spec: SimulationSpec) -> float:
    """The volatility the hedger uses (HedgeSpec.vol or the model's default)."""
    if spec.hedge.vol is not None:
        return _finite("hedge.vol", spec.hedge.vol, low=0.0, strict=True)
    model = spec.model
    if isinstance(model, (GBMModel, MertonModel)):
        return float(model.vol)
    if isinstance(model, HestonModel):
        return math.sqrt(model.theta)
    return model.realised_vol()


def _model_arrays(spec: SimulationSpec, n_steps: int) -> tuple[int, NDArray[np.float64], NDArray[np.float64], int]:
    model = spec.model
    params = np.zeros(11)
    returns = np.zeros(0)
    bootstrap = 0
    if isinstance(model, GBMModel):
        kind = _MODEL_KINDS["gbm"]
        params[:3] = (_finite("model.spot", model.spot, low=0.0, strict=True),
                      _finite("model.drift", model.drift), _finite("model.vol", model.vol, low=0.0))
    elif isinstance(model, MertonModel):
        kind = _MODEL_KINDS["merton"]
        params[:6] = (_finite("model.spot", model.spot, low=0.0, strict=True),
                      _finite("model.drift", model.drift), _finite("model.vol", model.vol, low=0.0),
                      _finite("model.jump_intensity", model.jump_intensity, low=0.0),
                      _finite("model.jump_mean", model.jump_mean),
                      _finite("model.jump_std", model.jump_std, low=0.0))
    elif isinstance(model, HestonModel):
        if model.scheme not in ("qe", "euler"):
            raise ValueError(f"model.scheme must be 'qe' or 'euler', got {model.scheme!r}")
        kind = _MODEL_KINDS["heston_qe" if model.scheme == "qe" else "heston_euler"]
        params[0] = _finite("model.spot", model.spot, low=0.0, strict=True)
        params[1] = _finite("model.drift", model.drift)
        params[6:11] = (_finite("model.v0", model.v0, low=0.0),
                        _finite("model.kappa", model.kappa, low=0.0, strict=True),
                        _finite("model.theta", model.theta, low=0.0, strict=True),
                        _finite("model.vol_of_vol", model.vol_of_vol, low=0.0, strict=True),
                        _finite("model.rho", model.rho, low=-1.0, high=1.0))
    elif isinstance(model, HistoricalModel):
        kind = _MODEL_KINDS["historical"]
        prices = np.asarray(model.prices, dtype=np.float64)
        if prices.ndim != 1 or prices.size < 2 or not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            raise ValueError("model.prices must hold at least 2 positive finite prices")
        if model.timestamps is not None and (len(model.timestamps) != prices.size
                                             or not np.all(np.diff(np.asarray(model.timestamps)) > 0)):
            raise ValueError("model.timestamps must be increasing and as many as model.prices")
        returns = np.ascontiguousarray(np.diff(np.log(prices)))
        params[0] = prices[0] if model.spot is None else _finite("model.spot", model.spot, low=0.0, strict=True)
        if model.block_size is None:
            if returns.size < n_steps:
                raise ValueError(f"steps ({n_steps}) exceeds the {returns.size} returns of model.prices; "
                                 "use fewer steps or a block bootstrap (model.block_size)")
        else:
            bootstrap = _positive_int("model.block_size", model.block_size, _MAX_C_INT)
            if bootstrap > returns.size:
                raise ValueError(f"model.block_size ({bootstrap}) exceeds the {returns.size} returns of the series")
    else:
        raise ValueError(f"model must be a GBMModel, HestonModel, MertonModel or HistoricalModel, got {model!r}")
    return kind, params, returns, bootstrap


def _jump_terms(spec: SimulationSpec, tau_max: float) -> tuple[float, float, float, int]:
    """(lambda, mu_J, delta_J, n_terms) of the hedger's Merton series (n_terms 1: BS)."""
    model = spec.model
    if not isinstance(model, MertonModel) or model.jump_intensity == 0.0:
        return 0.0, 0.0, 0.0, 1
    kappa = math.exp(model.jump_mean + 0.5 * model.jump_std ** 2) - 1.0
    mean = model.jump_intensity * (1.0 + kappa) * tau_max
    n_terms = int(min(200, math.ceil(mean + 12.0 * math.sqrt(mean) + 12.0)))
    return model.jump_intensity, model.jump_mean, model.jump_std, n_terms


def _book_tables(spec: SimulationSpec, n_steps: int, dt: float, vol_sets: list[NDArray[np.float64]],
                 ) -> dict[str, Any]:
    """Per-step coefficients of the book's delta: d1 = (log S + shift) * inv_sdt."""
    options = spec.options
    n_options = len(options)
    strike = np.array([o.strike for o in options], dtype=np.float64)
    expiry = np.array([o.expiry_years for o in options], dtype=np.float64)
    grid = np.arange(n_steps + 1) * dt
    expiry_step = np.rint(expiry / dt).astype(np.int64)
    within = expiry_step <= n_steps
    expiry_step = np.where(within, expiry_step, n_steps + 1)
    snapped = np.where(within, expiry_step * dt, expiry)
    tau = np.maximum(snapped[None, :] - grid[:, None], 0.0)
    tau[:, within] = np.where(grid[:, None] < snapped[None, within] - 0.5 * dt, tau[:, within], 0.0)

    intensity, jump_mean, jump_std, n_terms = _jump_terms(spec, float(tau.max(initial=0.0)))
    n = np.arange(n_terms, dtype=np.float64)
    live = tau > 0.0
    safe_tau = np.where(live, tau, 1.0)[:, :, None]
    if n_terms > 1:
        kappa = math.exp(jump_mean + 0.5 * jump_std ** 2) - 1.0
        mean = intensity * (1.0 + kappa) * safe_tau
        log_weight = -mean + n * np.log(mean) - np.array([math.lgamma(k + 1.0) for k in n])
        weight = np.exp(log_weight)
        term_rate = spec.rate - intensity * kappa + n * math.log1p(kappa) / safe_tau
        term_var = n * jump_std ** 2 / safe_tau
    else:
        weight = np.ones((n_steps + 1, n_options, 1))
        term_rate = np.full((n_steps + 1, n_options, 1), float(spec.rate))
        term_var = np.zeros((n_steps + 1, n_options, 1))
    weight = np.where(live[:, :, None], weight, 0.0)
    log_strike = np.log(strike)[None, :, None]
    shifts, inv_sdts = [], []
    for vols in vol_sets:
        total_vol = np.sqrt(np.maximum(vols[None, :, None] ** 2 + term_var, 1e-24))
        sdt = total_vol * np.sqrt(safe_tau)
        shifts.append(np.where(live[:, :, None], -log_strike + (term_rate + 0.5 * total_vol ** 2) * safe_tau, 0.0))
        inv_sdts.append(np.where(live[:, :, None], 1.0 / sdt, 0.0))
    n_sets = len(vol_sets)
    return {
        "strike": strike,
        "quantity": np.array([o.quantity for o in options], dtype=np.float64),
        "omega": np.array([1.0 if o.type == "call" else -1.0 for o in options]),
        "expiry_step": np.ascontiguousarray(expiry_step),
        "tau": np.ascontiguousarray(tau),
        "weight": np.ascontiguousarray(np.broadcast_to(weight, (n_sets, *weight.shape))),
        "shift": np.ascontiguousarray(np.stack(shifts)),
        "inv_sdt": np.ascontiguousarray(np.stack(inv_sdts)),
        "term_rate": np.ascontiguousarray(np.broadcast_to(term_rate, weight.shape)),
        "term_var": np.ascontiguousarray(np.broadcast_to(term_var, weight.shape)),
    }


def _option_values(tables: dict[str, Any], spot: float, hedge_vol: float) -> NDArray[np.float64]:
    """Model value of each option line per unit at the start (step 0), as the kernel values it."""
    from hedgecore.pricing import greeks

    tau0 = tables["tau"][0]
    weight = tables["weight"][0, 0]
    term_rate = tables["term_rate"][0]
    term_var = tables["term_var"][0]
    values = np.empty(tau0.size)
    for i in range(tau0.size):
        prices = greeks(spot, tables["strike"][i], tau0[i], np.sqrt(hedge_vol ** 2 + term_var[i]),
                        is_call=tables["omega"][i] > 0, rate=term_rate[i]).price
        values[i] = float(np.sum(weight[i] * prices))
    return values


def _validate_book(spec: SimulationSpec) -> None:
    if not spec.options:
        raise ValueError("options: the book needs at least one option")
    for k, option in enumerate(spec.options):
        where = f"options[{k}]"
        if option.type not in ("call", "put"):
            raise ValueError(f"{where}.type must be 'call' or 'put', got {option.type!r}")
        if option.settlement not in ("linear", "inverse"):
            raise ValueError(f"{where}.settlement must be 'linear' or 'inverse', got {option.settlement!r}")
        _finite(f"{where}.strike", option.strike, low=0.0, strict=True)
        _finite(f"{where}.expiry_years", option.expiry_years, low=0.0, strict=True)
        _finite(f"{where}.quantity", option.quantity)


PolicyArrays = tuple[NDArray[np.intc], NDArray[np.float64], list[NDArray[np.float64]]]


def _policy_arrays(spec: SimulationSpec, dt: float, hedge_vol: float, cost_rate: float,
                   quantity: NDArray[np.float64]) -> PolicyArrays:
    from hedgecore._sim import leland_vols

    if not spec.policies:
        raise ValueError("policies: give at least one policy")
    names = [policy.name for policy in spec.policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policies: names must be unique, got {names}")
    ints = np.zeros((len(spec.policies), 6), dtype=np.intc)
    floats = np.zeros((len(spec.policies), 5))
    vol_sets: list[NDArray[np.float64]] = [np.full(quantity.size, hedge_vol)]
    for p, policy in enumerate(spec.policies):
        where = f"policies[{p}] ({policy.name!r})"
        if policy.method not in _METHODS:
            known = ", ".join(_METHODS)
            raise ValueError(f"{where}.method must be one of {known}, got {policy.method!r}")
        every = _positive_int(f"{where}.every", policy.every, _MAX_C_INT)
        min_interval = _count(f"{where}.min_interval", policy.min_interval)
        min_trade = _finite(f"{where}.min_trade", policy.min_trade, low=0.0)
        if policy.rebalance not in (None, "edge", "target"):
            raise ValueError(f"{where}.rebalance must be 'edge' or 'target', got {policy.rebalance!r}")
        method = policy.method
        to_edge = (policy.rebalance or ("edge" if method in ("whalley_wilmott", "zakamouline") else "target")) == "edge"
        width = risk_aversion = 0.0
        outer = inner = -1.0
        coef_set = 0
        needs_gamma = method in ("whalley_wilmott", "zakamouline")
        if method == "fixed":
            if policy.width is None:
                raise ValueError(f"{where}.width is required for method 'fixed' (units of the underlying)")
            width = _finite(f"{where}.width", policy.width, low=0.0)
        if method in ("whalley_wilmott", "zakamouline"):
            if policy.risk_aversion is None:
                raise ValueError(f"{where}.risk_aversion is required for method {method!r}")
            risk_aversion = _finite(f"{where}.risk_aversion", policy.risk_aversion, low=0.0, strict=True)
        if method == "nested":
            if policy.outer is not None or policy.inner is not None:
                if policy.outer is None or policy.inner is None:
                    raise ValueError(f"{where}: give both outer and inner, or risk_aversion")
                outer = _finite(f"{where}.outer", policy.outer, low=0.0)
                inner = _finite(f"{where}.inner", policy.inner, low=0.0, high=outer)
            elif policy.risk_aversion is not None:
                risk_aversion = _finite(f"{where}.risk_aversion", policy.risk_aversion, low=0.0, strict=True)
                needs_gamma = True
            else:
                raise ValueError(f"{where}: method 'nested' needs outer and inner, or risk_aversion")
        if method == "leland":
            if hedge_vol <= 0.0:
                raise ValueError(f"{where}: method 'leland' needs a positive hedging vol")
            vol_sets.append(np.asarray(leland_vols(hedge_vol, cost_rate, every * dt, quantity)))
            coef_set = len(vol_sets) - 1
        if method == "zakamouline" and hedge_vol <= 0.0:
            raise ValueError(f"{where}: method 'zakamouline' needs a positive hedging vol")
        ints[p] = (_METHODS[method], every, int(to_edge), int(min_interval), coef_set, int(needs_gamma))
        floats[p] = (width, risk_aversion, outer, inner, min_trade)
    return ints, floats, vol_sets


def _plan(spec: SimulationSpec, n_steps: int) -> dict[str, Any]:
    """Validated keyword arguments of the kernel (plus the book's value, key _option_value)."""
    horizon = _finite("horizon_years", spec.horizon_years, low=0.0, strict=True)
    rate = _finite("rate", spec.rate)
    dt = horizon / n_steps
    _validate_book(spec)
    kind, params, returns, bootstrap = _model_arrays(spec, n_steps)
    hedge_vol = hedge_vol_of(spec)
    if spec.hedge.instrument not in _INSTRUMENTS:
        known = ", ".join(_INSTRUMENTS)
        raise ValueError(f"hedge.instrument must be one of {known}, got {spec.hedge.instrument!r}")
    costs = spec.costs
    cost_rate = (_finite("costs.proportional", costs.proportional, low=0.0)
                 + _finite("costs.half_spread", costs.half_spread, low=0.0))
    fixed = _finite("costs.fixed", costs.fixed, low=0.0)
    funding_8h = _finite("costs.funding_rate_8h", costs.funding_rate_8h)
    impact_coef = _finite("costs.impact_coef", costs.impact_coef, low=0.0)
    try:
        impact_adv = float(costs.impact_adv)
    except (TypeError, ValueError):
        raise ValueError(f"costs.impact_adv must be a number, got {costs.impact_adv!r}") from None
    if not impact_adv > 0.0:
        raise ValueError(f"costs.impact_adv must be > 0 (units of the underlying per day), got {costs.impact_adv!r}")
    if spec.hedge.instrument == "spot" and funding_8h != 0.0:
        raise ValueError("costs.funding_rate_8h applies to perpetual hedges; hedge.instrument is 'spot'")
    quantity = np.array([o.quantity for o in spec.options], dtype=np.float64)
    ints, floats, vol_sets = _policy_arrays(spec, dt, hedge_vol, cost_rate, quantity)
    tables = _book_tables(spec, n_steps, dt, vol_sets)
    spot0 = float(params[0])
    values = _option_values(tables, spot0, hedge_vol)
    inverse = np.array([o.settlement == "inverse" for o in spec.options])
    position_value = quantity * values
    return {
        "model_kind": kind,
        "model_params": params,
        "returns": returns,
        "bootstrap_block": bootstrap,
        "steps": n_steps,
        "dt": dt,
        "rate": rate,
        **tables,
        "hedge_vol": hedge_vol,
        "coin_premium": float(-np.sum(position_value[inverse]) / spot0),
        "premium_cash": float(-np.sum(position_value[~inverse])),
        "instrument": _INSTRUMENTS[spec.hedge.instrument],
        "costs": np.array([cost_rate, fixed, funding_8h * dt * _HOURS_PER_YEAR / 8.0, impact_coef,
                           1.0 / impact_adv]),
        "policy_ints": ints,
        "policy_floats": floats,
        "_option_value": float(np.sum(position_value)),
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


__all__ = [
    "QUANTILE_LEVELS",
    "BlockResults",
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
    "SimulationResult",
    "SimulationSpec",
    "merge_blocks",
    "simulate",
    "simulate_block_range",
]
