"""Market-making simulator: a dealer quoting one instrument under a policy, over many paths.

The facade of the compiled kernel hedgecore._mm (see its docstring for the step): builds a
policy's tables (depth and fill threshold by step and inventory), seeds one SFC64 stream per
block of PATHS_PER_BLOCK paths from SeedSequence(seed).spawn (as hedgecore.simulation does,
so a seed gives the same numbers on any thread count), runs the blocks in chunks (progress,
prompt stop on signals) and summarises per policy. Every policy runs on the same streams
(common random numbers): differences between policies are not noise of the draws.

Units: prices and depths in the quote currency (USD) per unit of the instrument; A fills
per hour at zero depth, k per USD of depth; vol per sqrt(year) relative to the mid (the
policies use sigma = vol x spot in USD, the arithmetic Brownian mid of Avellaneda-Stoikov
and GLFT); gamma (CARA) per USD of PnL; inventory in lots of order_size units.

Config (document "mmsim"; README "Market-making simulator"):

    mid: {model: gbm, spot: 96500, vol: 0.5, drift: 0.0}     # or model: arithmetic
    horizon_hours: 24
    steps: 1440
    paths: 20000
    seed: 7
    order_size: 0.1                 # units per fill (one lot)
    intensity: {A: 60, k: 0.02}     # fills per hour at depth 0; per USD of depth
    inventory_limit: 10             # lots; the side that would pass it is not quoted
    fees: {maker_rate: 0.0}         # fraction of notional per fill; negative = rebate
    objective_gamma: 0.0005         # CARA gamma of the certainty equivalent (default: largest policy gamma)
    policies:
      - {name: symmetric, method: symmetric, half_spread: 40}
      - {name: as, method: avellaneda_stoikov, gamma: 0.0005}
      - {name: glft, method: glft_exact, gamma: 0.0005}
      - {name: glft_cf, method: glft_closed_form, gamma: 0.0005}
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hedgecore._inputs import resolve_threads
from hedgecore.errors import Fields
from hedgecore.quoting.avellaneda import optimal_spread
from hedgecore.quoting.glft import glft_closed_form, glft_exact_table

DOCUMENT = "mmsim"
PATHS_PER_BLOCK = 1024
HOURS_PER_YEAR = 365.0 * 24.0
MAX_WORK = 100_000_000_000          # path-steps x policies (as `simulate`)
MAX_MEMORY_BYTES = 8 * 2**30
MAX_STEPS = 10_000_000
MAX_PATHS = 2**40
MAX_INVENTORY_LIMIT = 10_000
CHUNK_SECONDS = 0.15
METHODS = ("symmetric", "avellaneda_stoikov", "glft_exact", "glft_closed_form")
MID_MODELS = {"arithmetic": 0, "gbm": 1}
TWO_32 = 2.0**32
# columns of the kernel's per-path output
_PNL, _FILLS, _CAPTURED, _FEES, _INV_END, _INV_SUM, _INV_SQ, _LIMIT = range(8)


@dataclass(frozen=True, slots=True)
class MMPolicy:
    name: str
    method: str
    half_spread: float | None = None    # symmetric: USD from the mid to each quote
    gamma: float | None = None          # CARA risk aversion per USD


@dataclass(frozen=True, slots=True)
class MarketMakingSpec:
    mid_model: str
    spot: float
    vol: float
    drift: float
    horizon_years: float
    steps: int
    paths: int
    seed: int | None
    order_size: float
    intensity_a_per_hour: float
    intensity_k_per_usd: float
    inventory_limit: int
    maker_fee_rate: float
    policies: tuple[MMPolicy, ...]
    objective_gamma: float | None = None


@dataclass(frozen=True)
class MMPolicyResult:
    name: str
    method: str
    mean_pnl: float
    std_pnl: float
    stderr_pnl: float
    var_95: float
    cvar_95: float
    var_99: float
    cvar_99: float
    certainty_equivalent: float | None
    mean_fills: float
    mean_spread_captured: float
    mean_fees: float
    inventory_std: float
    final_inventory_std: float
    time_at_limits: float
    pnl: NDArray[np.float64] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (
            "name", "method", "mean_pnl", "std_pnl", "stderr_pnl", "var_95", "cvar_95", "var_99", "cvar_99",
            "certainty_equivalent", "mean_fills", "mean_spread_captured", "mean_fees", "inventory_std",
            "final_inventory_std", "time_at_limits")}


@dataclass(frozen=True)
class MMResult:
    paths: int
    steps: int
    seed: int
    threads: int
    objective_gamma: float | None
    policies: tuple[MMPolicyResult, ...]

    def policy(self, name: str) -> MMPolicyResult:
        for result in self.policies:
            if result.name == name:
                return result
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {"paths": self.paths, "steps": self.steps, "seed": self.seed,
                "objective_gamma": self.objective_gamma,
                "policies": [result.as_dict() for result in self.policies]}


# --------------------------------------------------------------------------- config
TOP_KEYS = ("mid", "horizon_hours", "horizon_years", "steps", "paths", "seed", "order_size", "intensity",
            "inventory_limit", "fees", "objective_gamma", "policies")


def parse_mm_config(data: Any) -> MarketMakingSpec:
    """The simulator's YAML (decoded) -> MarketMakingSpec; ConfigError names the field."""
    top = Fields(data, "", DOCUMENT, allowed=TOP_KEYS)
    mid = Fields(top.mapping("mid", required=True), "mid", DOCUMENT, allowed=("model", "spot", "vol", "drift"))
    model = mid.choice("model", tuple(MID_MODELS), "gbm")
    spot = mid.positive("spot")
    vol = mid.positive("vol")
    drift = mid.number("drift", 0.0)
    if top.has("horizon_hours") == top.has("horizon_years"):
        top.fail_at("", "give exactly one of horizon_hours or horizon_years")
    horizon = (top.positive("horizon_hours") / HOURS_PER_YEAR if top.has("horizon_hours")
               else top.positive("horizon_years"))
    if horizon > 10.0:
        top.fail("horizon_years" if top.has("horizon_years") else "horizon_hours", "must be at most 10 years")
    steps = _count(top, "steps", 1000, MAX_STEPS)
    paths = _count(top, "paths", 10_000, MAX_PATHS)
    seed: int | None = None
    if top.has("seed"):
        seed = _count(top, "seed", 0, 2**63, minimum=0)
    size = top.positive("order_size")
    intensity = Fields(top.mapping("intensity", required=True), "intensity", DOCUMENT, allowed=("A", "k"))
    a_per_hour = intensity.positive("A")
    k = intensity.positive("k")
    limit = _count(top, "inventory_limit", 10, MAX_INVENTORY_LIMIT)
    fees = Fields(top.mapping("fees"), "fees", DOCUMENT, allowed=("maker_rate",))
    fee_rate = fees.number("maker_rate", 0.0)
    if not -0.01 <= fee_rate <= 0.01:
        fees.fail("maker_rate", f"must be within [-0.01, 0.01] (a fraction of notional), got {fee_rate}")
    raw_policies = top.sequence("policies", required=True)
    if not raw_policies:
        top.fail("policies", "must list at least one policy")
    policies = []
    names: set[str] = set()
    for index, raw in enumerate(raw_policies):
        where = f"policies[{index}]"
        pol = Fields(raw, where, DOCUMENT, allowed=("name", "method", "half_spread", "gamma"))
        method = pol.choice("method", METHODS)
        name = pol.text("name", method)
        if name in names:
            pol.fail("name", f"duplicate policy name '{name}'")
        names.add(name)
        if method == "symmetric":
            policies.append(MMPolicy(name, method, half_spread=pol.non_negative("half_spread")))
        else:
            policies.append(MMPolicy(name, method, gamma=pol.positive("gamma")))
    objective = top.positive("objective_gamma") if top.has("objective_gamma") else None
    if objective is None:
        gammas = [p.gamma for p in policies if p.gamma is not None]
        objective = max(gammas) if gammas else None
    return MarketMakingSpec(
        mid_model=model, spot=spot, vol=vol, drift=drift, horizon_years=horizon, steps=steps, paths=paths,
        seed=seed, order_size=size, intensity_a_per_hour=a_per_hour, intensity_k_per_usd=k,
        inventory_limit=limit, maker_fee_rate=fee_rate, policies=tuple(policies), objective_gamma=objective)


def _count(fields: Fields, key: str, default: int, maximum: int, minimum: int = 1) -> int:
    value = fields.raw(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        fields.fail(key, f"must be an integer in [{minimum}, {maximum:,}], got {str(value)[:40]}")
    return int(value)


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class PolicyTables:
    """Depths (USD below / above the mid) and fill thresholds (out of 2^32 per step) by
    step (one row when the policy does not depend on time) and inventory -Q .. Q."""

    depth_bid: NDArray[np.float64]
    depth_ask: NDArray[np.float64]
    thr_bid: NDArray[np.uint64]
    thr_ask: NDArray[np.uint64]
    time_varying: bool


def policy_tables(spec: MarketMakingSpec, policy: MMPolicy, steps: int | None = None) -> PolicyTables:
    n_steps = spec.steps if steps is None else steps
    q_max = spec.inventory_limit
    dt = spec.horizon_years / n_steps
    a_year = spec.intensity_a_per_hour * HOURS_PER_YEAR
    k = spec.intensity_k_per_usd
    sigma = spec.vol * spec.spot                    # USD per sqrt(year)
    q = np.arange(-q_max, q_max + 1, dtype=np.float64)
    time_varying = False
    if policy.method == "symmetric":
        assert policy.half_spread is not None
        bid = np.full((1, q.size), policy.half_spread)
        ask = bid.copy()
    else:
        assert policy.gamma is not None
        gamma = policy.gamma * spec.order_size      # per lot (avellaneda.py)
        if policy.method == "avellaneda_stoikov":
            tau = spec.horizon_years - dt * np.arange(n_steps)
            half = np.array([0.5 * optimal_spread(gamma, sigma, t, k) for t in tau])[:, None]
            skew = q[None, :] * gamma * sigma * sigma * tau[:, None]
            bid, ask = half + skew, half - skew
            time_varying = True
        elif policy.method == "glft_exact":
            bid, ask = glft_exact_table(a_year, k, gamma, sigma, q_max, spec.horizon_years, n_steps)
            time_varying = True
        else:
            bid_cf, ask_cf = glft_closed_form(a_year, k, gamma, sigma, q)
            bid, ask = bid_cf[None, :], ask_cf[None, :]
    bid = np.array(bid, dtype=np.float64)
    ask = np.array(ask, dtype=np.float64)
    bid[:, -1] = np.nan                             # no bid at +Q, no ask at -Q
    ask[:, 0] = np.nan
    return PolicyTables(np.nan_to_num(bid, nan=0.0), np.nan_to_num(ask, nan=0.0),
                        _thresholds(bid, a_year, k, dt), _thresholds(ask, a_year, k, dt), time_varying)


def _thresholds(depth: NDArray[np.float64], a_year: float, k: float, dt: float) -> NDArray[np.uint64]:
    """round(2^32 P(fill in dt)), P = 1 - exp(-A exp(-k depth) dt); 0 where not quoted."""
    with np.errstate(over="ignore", invalid="ignore"):
        rate_dt = a_year * dt * np.exp(np.minimum(-k * depth, 700.0))
        probability = -np.expm1(-rate_dt)
    probability = np.where(np.isfinite(depth), np.nan_to_num(probability, nan=1.0), 0.0)
    return np.round(np.clip(probability, 0.0, 1.0) * TWO_32).astype(np.uint64)


# --------------------------------------------------------------------------- run
def estimate_work(spec: MarketMakingSpec, *, paths: int | None = None, steps: int | None = None) -> Any:
    from hedgecore.simulation import WorkEstimate

    n_paths = spec.paths if paths is None else paths
    n_steps = spec.steps if steps is None else steps
    counts: tuple[tuple[str, object, int], ...] = (("paths", n_paths, MAX_PATHS), ("steps", n_steps, MAX_STEPS))
    for name, value, maximum in counts:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise ValueError(f"{name} must be an integer in [1, {maximum:,}], got {str(value)[:40]}")
    n_policies = len(spec.policies)
    width = 2 * spec.inventory_limit + 1
    memory = (64.0 * n_paths + 24.0 * n_paths + -(-n_paths // PATHS_PER_BLOCK) * 2048.0
              + 32.0 * n_steps * width)
    return WorkEstimate(paths=n_paths, steps=n_steps, policies=n_policies,
                        work=float(n_paths) * n_steps * n_policies, memory_bytes=memory)


def simulate_market_making(
    spec: MarketMakingSpec,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_work: float | None = MAX_WORK,
    max_memory_bytes: float | None = MAX_MEMORY_BYTES,
) -> MMResult:
    """Every policy of `spec` on the same paths; results do not depend on `threads`.
    progress(done, total) counts path-policies, called between chunks of blocks."""
    from hedgecore._mm import simulate_blocks

    estimate = estimate_work(spec, paths=paths, steps=steps)
    estimate.check(max_work, max_memory_bytes)
    n_paths, n_steps = estimate.paths, estimate.steps
    n_threads = resolve_threads(threads)
    seed_value = spec.seed if seed is None else seed
    seed_sequence = np.random.SeedSequence(seed_value)
    used_seed = int(seed_value) if seed_value is not None else int(seed_sequence.entropy)  # type: ignore[arg-type]
    n_blocks = -(-n_paths // PATHS_PER_BLOCK)
    children = seed_sequence.spawn(n_blocks)
    dt = spec.horizon_years / n_steps
    if spec.mid_model == "gbm":
        drift = (spec.drift - 0.5 * spec.vol * spec.vol) * dt
        vol_step = spec.vol * math.sqrt(dt)
    else:
        drift = 0.0
        vol_step = spec.vol * spec.spot * math.sqrt(dt)
    out = np.empty((n_paths, 8))
    results = []
    total = n_paths * len(spec.policies)
    for index, policy in enumerate(spec.policies):
        tables = policy_tables(spec, policy, n_steps)
        streams = [np.random.SFC64(child) for child in children]   # the same streams for every policy
        chunk, first = n_threads, 0
        while first < n_blocks:
            last = min(first + chunk, n_blocks)
            started = time.perf_counter()
            simulate_blocks(
                mid_kind=MID_MODELS[spec.mid_model], spot0=spec.spot, drift=drift, vol=vol_step,
                steps=n_steps, q_max=spec.inventory_limit, size=spec.order_size, fee_rate=spec.maker_fee_rate,
                time_varying=tables.time_varying, thr_bid=tables.thr_bid, thr_ask=tables.thr_ask,
                depth_bid=tables.depth_bid, depth_ask=tables.depth_ask, bit_generators=streams[first:last],
                first_block=first, paths_per_block=PATHS_PER_BLOCK, n_paths=n_paths, out=out,
                n_threads=n_threads)
            elapsed = time.perf_counter() - started
            growth = min(4.0, max(0.25, CHUNK_SECONDS / elapsed)) if elapsed > 0.0 else 4.0
            chunk = max(n_threads, int(chunk * growth) // n_threads * n_threads)
            first = last
            if progress is not None:
                progress(index * n_paths + min(last * PATHS_PER_BLOCK, n_paths), total)
        results.append(summarise(policy, out, n_steps, spec.order_size, spec.objective_gamma))
    return MMResult(paths=n_paths, steps=n_steps, seed=used_seed, threads=n_threads,
                    objective_gamma=spec.objective_gamma, policies=tuple(results))


def certainty_equivalent(pnl: NDArray[np.float64], gamma: float) -> float:
    """-(1/gamma) ln E[exp(-gamma PnL)]: the CARA objective in USD (log-sum-exp, no overflow)."""
    x = -gamma * pnl
    top = float(np.max(x))
    return -(top + math.log(float(np.mean(np.exp(x - top))))) / gamma


def summarise(policy: MMPolicy, out: NDArray[np.float64], steps: int, size: float,
              objective_gamma: float | None) -> MMPolicyResult:
    pnl = out[:, _PNL].copy()
    if not np.isfinite(pnl).all():
        raise ValueError(f"policy '{policy.name}': the per-path PnL is not finite (inputs out of range)")
    n = pnl.size
    q05, q01 = np.quantile(pnl, [0.05, 0.01])
    std = float(np.std(pnl, ddof=1)) if n > 1 else 0.0
    mean_q = float(np.sum(out[:, _INV_SUM])) / (n * steps)
    mean_q2 = float(np.sum(out[:, _INV_SQ])) / (n * steps)
    return MMPolicyResult(
        name=policy.name, method=policy.method,
        mean_pnl=float(np.mean(pnl)), std_pnl=std, stderr_pnl=std / math.sqrt(n),
        var_95=float(-q05), cvar_95=float(-np.mean(pnl[pnl <= q05])),
        var_99=float(-q01), cvar_99=float(-np.mean(pnl[pnl <= q01])),
        certainty_equivalent=(certainty_equivalent(pnl, objective_gamma) if objective_gamma else None),
        mean_fills=float(np.mean(out[:, _FILLS])),
        mean_spread_captured=float(np.mean(out[:, _CAPTURED])),
        mean_fees=float(np.mean(out[:, _FEES])),
        inventory_std=math.sqrt(max(0.0, mean_q2 - mean_q * mean_q)) * size,
        final_inventory_std=(float(np.std(out[:, _INV_END], ddof=1)) * size if n > 1 else 0.0),
        time_at_limits=float(np.sum(out[:, _LIMIT])) / (n * steps),
        pnl=pnl,
    )


__all__ = ["MMPolicy", "MMResult", "MarketMakingSpec", "parse_mm_config", "policy_tables",
           "simulate_market_making"]
