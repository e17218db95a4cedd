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
    # mid: {model: heston, spot: 96500, drift: 0.0, v0: 0.25, kappa: 2, theta: 0.25, vol_of_vol: 0.8, rho: -0.5}
    # mid: {model: merton, spot: 96500, vol: 0.4, drift: 0.0, jump_intensity: 10, jump_mean: -0.02, jump_std: 0.05}
    horizon_hours: 24
    steps: 1440
    paths: 20000
    seed: 7
    order_size: 0.1                 # units per fill (one lot)
    intensity: {A: 60, k: 0.02}     # fills per hour at depth 0; per USD of depth
    inventory_limit: 10             # lots; the side that would pass it is not quoted
    fees: {maker_rate: 0.0}         # fraction of notional per fill; negative = rebate
    objective_gamma: 0.0005         # CARA gamma of the certainty equivalent (default: largest policy gamma)
    hedge: {method: fixed, half_width: 0.5, proportional: 0.0005}   # optional: delta band in units, cost rate
    policies:
      - {name: symmetric, method: symmetric, half_spread: 40}
      - {name: as, method: avellaneda_stoikov, gamma: 0.0005}
      - {name: glft, method: glft_exact, gamma: 0.0005}
      - {name: glft_cf, method: glft_closed_form, gamma: 0.0005}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hedgecore._inputs import resolve_threads
from hedgecore.errors import Fields
from hedgecore.quoting.avellaneda import optimal_spread
from hedgecore.quoting.glft import glft_closed_form, glft_exact_table
from hedgecore.simulation.blocks import (
    PATHS_PER_BLOCK,
    ProgressCallback,
    block_count,
    block_streams,
    paths_before,
    resolve_seed,
    run_in_chunks,
)
from hedgecore.simulation.run import MAX_MEMORY_BYTES, MAX_WORK, WorkEstimate

DOCUMENT = "mmsim"
HOURS_PER_YEAR = 365.0 * 24.0
MAX_STEPS = 10_000_000
MAX_PATHS = 2**40
MAX_INVENTORY_LIMIT = 10_000
METHODS = ("symmetric", "avellaneda_stoikov", "glft_exact", "glft_closed_form", "options_skew")
OPTION_METHODS = ("symmetric", "options_skew")
MID_MODELS = {"arithmetic": 0, "gbm": 1, "heston": 2, "merton": 3}
# the keys of each mid model (hedgecore.simconfig's names for Heston and Merton)
MID_KEYS = {
    "arithmetic": ("model", "spot", "vol", "drift"),
    "gbm": ("model", "spot", "vol", "drift"),
    "heston": ("model", "spot", "drift", "v0", "kappa", "theta", "vol_of_vol", "rho"),
    "merton": ("model", "spot", "vol", "drift", "jump_intensity", "jump_mean", "jump_std"),
}
# columns of the kernel's per-path output
N_OUT = 12
_PNL, _FILLS, _CAPTURED, _FEES, _INV_END, _INV_SUM, _INV_SQ, _LIMIT, _MID_END, _JUMPS, _HEDGE_COST, _HEDGE_TRADES = (
    range(N_OUT))


@dataclass(frozen=True, slots=True)
class MMPolicy:
    name: str
    method: str
    half_spread: float | None = None    # symmetric: USD from the mid to each quote
    gamma: float | None = None          # CARA risk aversion per USD
    # options_skew (hedgecore.quoting.options' units): USD per coin^2, 1/USD, 1/USD
    risk_aversion_delta: float = 0.0
    risk_aversion_vega: float = 0.0
    risk_aversion_gamma: float = 0.0


@dataclass(frozen=True, slots=True)
class OptionQuoted:
    """The one option quoted (config key `option`): priced at the simulated mid."""

    is_call: bool
    strike: float
    expiry_years: float                 # from the start of the simulation
    vol: float | None                   # implied vol; None: sqrt(v) of a Heston mid
    settlement: str                     # inverse (coin) or linear (USDC)
    model: str                          # black76 (mid = forward) or black_scholes (rate)
    rate: float = 0.0


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
    # Heston (vol = sqrt(v0) for the policies' sigma): variances per year, kappa per year
    heston_v0: float = 0.0
    heston_kappa: float = 0.0
    heston_theta: float = 0.0
    heston_vol_of_vol: float = 0.0
    heston_rho: float = 0.0
    # Merton: jumps per year, mean and std of the log jump
    jump_intensity: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0
    # delta hedging of the inventory: half width of the band in units (None: no hedging),
    # cost as a fraction of the traded notional
    hedge_band_units: float | None = None
    hedge_cost_rate: float = 0.0
    option: OptionQuoted | None = None


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
    mean_hedging_cost: float = 0.0
    mean_hedge_trades: float = 0.0
    mean_jumps: float = 0.0
    mid_end: NDArray[np.float64] | None = field(default=None, repr=False)
    jumps: NDArray[np.float64] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (
            "name", "method", "mean_pnl", "std_pnl", "stderr_pnl", "var_95", "cvar_95", "var_99", "cvar_99",
            "certainty_equivalent", "mean_fills", "mean_spread_captured", "mean_fees", "inventory_std",
            "final_inventory_std", "time_at_limits", "mean_hedging_cost", "mean_hedge_trades")}


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
            "inventory_limit", "fees", "objective_gamma", "policies", "hedge", "option")
OPTION_KEYS = ("type", "strike", "expiry_hours", "expiry_years", "vol", "settlement", "model", "rate")


def parse_mm_config(data: Any) -> MarketMakingSpec:
    """The simulator's YAML (decoded) -> MarketMakingSpec; ConfigError names the field."""
    top = Fields(data, "", DOCUMENT, allowed=TOP_KEYS)
    raw_mid = top.mapping("mid", required=True)
    model = Fields(raw_mid, "mid", DOCUMENT).choice("model", tuple(MID_MODELS), "gbm")
    mid = Fields(raw_mid, "mid", DOCUMENT, allowed=MID_KEYS[model])
    spot = mid.positive("spot")
    drift = mid.number("drift", 0.0)
    model_fields: dict[str, float] = {}
    if model == "heston":
        model_fields = {"heston_v0": mid.positive("v0"), "heston_kappa": mid.non_negative("kappa"),
                        "heston_theta": mid.non_negative("theta"), "heston_vol_of_vol": mid.non_negative("vol_of_vol"),
                        "heston_rho": mid.number("rho", 0.0)}
        if not -1.0 <= model_fields["heston_rho"] <= 1.0:
            mid.fail("rho", f"must be within [-1, 1], got {model_fields['heston_rho']}")
        vol = math.sqrt(model_fields["heston_v0"])
    else:
        vol = mid.positive("vol")
    if model == "merton":
        model_fields = {"jump_intensity": mid.non_negative("jump_intensity"),
                        "jump_mean": mid.number("jump_mean", 0.0), "jump_std": mid.non_negative("jump_std", 0.0)}
        if not -5.0 <= model_fields["jump_mean"] <= 5.0 or model_fields["jump_std"] > 5.0:
            mid.fail("jump_mean", "jump_mean must be within [-5, 5] and jump_std at most 5 (log jumps)")
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
    option = _parse_option(top, model, horizon) if top.has("option") else None
    raw_policies = top.sequence("policies", required=True)
    if not raw_policies:
        top.fail("policies", "must list at least one policy")
    policies = []
    names: set[str] = set()
    for index, raw in enumerate(raw_policies):
        where = f"policies[{index}]"
        pol = Fields(raw, where, DOCUMENT, allowed=("name", "method", "half_spread", "gamma", "risk_aversion"))
        method = pol.choice("method", METHODS)
        if method == "options_skew" and option is None:
            pol.fail("method", "options_skew needs an `option` section (the option quoted)")
        if option is not None and method not in OPTION_METHODS:
            pol.fail("method", f"with an `option` section the policies are {' or '.join(OPTION_METHODS)}, got {method}")
        name = pol.text("name", method)
        if name in names:
            pol.fail("name", f"duplicate policy name '{name}'")
        names.add(name)
        if method == "symmetric":
            policies.append(MMPolicy(name, method, half_spread=pol.non_negative("half_spread")))
        elif method == "options_skew":
            aversion = Fields(pol.mapping("risk_aversion"), f"{where}.risk_aversion", DOCUMENT,
                              allowed=("delta", "vega", "gamma"))
            policies.append(MMPolicy(name, method, half_spread=pol.non_negative("half_spread"),
                                     risk_aversion_delta=aversion.non_negative("delta", 0.0),
                                     risk_aversion_vega=aversion.non_negative("vega", 0.0),
                                     risk_aversion_gamma=aversion.non_negative("gamma", 0.0)))
        else:
            policies.append(MMPolicy(name, method, gamma=pol.positive("gamma")))
    hedge_band: float | None = None
    hedge_rate = 0.0
    if top.has("hedge"):
        hedge = Fields(top.mapping("hedge"), "hedge", DOCUMENT,
                       allowed=("method", "half_width", "width", "proportional"))
        hedge.choice("method", ("fixed",), "fixed")
        # the policy file's word (README "One vocabulary"); `width` is the older one
        if hedge.has("half_width") and hedge.has("width"):
            hedge.fail("width", "give either half_width or its older name width, not both")
        if not hedge.has("half_width") and not hedge.has("width"):
            hedge.fail_at(hedge.path, "missing required key 'half_width' (the delta band, units of the instrument)")
        hedge_band = hedge.non_negative("half_width" if hedge.has("half_width") else "width")
        hedge_rate = hedge.non_negative("proportional", 0.0)
        if hedge_rate > 0.01:
            hedge.fail("proportional", f"must be within [0, 0.01] (a fraction of notional), got {hedge_rate}")
    objective = top.positive("objective_gamma") if top.has("objective_gamma") else None
    if objective is None:
        gammas = [p.gamma for p in policies if p.gamma is not None]
        objective = max(gammas) if gammas else None
    return MarketMakingSpec(
        mid_model=model, spot=spot, vol=vol, drift=drift, horizon_years=horizon, steps=steps, paths=paths,
        seed=seed, order_size=size, intensity_a_per_hour=a_per_hour, intensity_k_per_usd=k,
        inventory_limit=limit, maker_fee_rate=fee_rate, policies=tuple(policies), objective_gamma=objective,
        hedge_band_units=hedge_band, hedge_cost_rate=hedge_rate, option=option, **model_fields)


def _parse_option(top: Fields, model: str, horizon: float) -> OptionQuoted:
    raw = Fields(top.mapping("option"), "option", DOCUMENT, allowed=OPTION_KEYS)
    is_call = raw.choice("type", ("call", "put")) == "call"
    strike = raw.positive("strike")
    if raw.has("expiry_hours") == raw.has("expiry_years"):
        raw.fail_at("option", "give exactly one of expiry_hours or expiry_years")
    expiry_key = "expiry_hours" if raw.has("expiry_hours") else "expiry_years"
    expiry = raw.positive(expiry_key) / (HOURS_PER_YEAR if expiry_key == "expiry_hours" else 1.0)
    if not horizon < expiry <= 10.0:
        raw.fail(expiry_key, "the option must expire after the horizon, within 10 years")
    vol: float | None = None
    if raw.has("vol") or model != "heston":
        vol = raw.positive("vol")
        if vol > 10.0:
            raw.fail("vol", f"must be at most 10 (per sqrt(year)), got {vol}")
    settlement = raw.choice("settlement", ("inverse", "linear"), "inverse")
    pricing = raw.choice("model", ("black76", "black_scholes"), "black76")
    rate = raw.number("rate", 0.0) if pricing == "black_scholes" else 0.0
    if pricing != "black_scholes" and raw.has("rate"):
        raw.fail("rate", "only with model: black_scholes (black76 takes the mid as the forward)")
    if not -1.0 <= rate <= 1.0:
        raw.fail("rate", f"must be within [-1, 1] per year, got {rate}")
    return OptionQuoted(is_call=is_call, strike=strike, expiry_years=expiry, vol=vol, settlement=settlement,
                        model=pricing, rate=rate)


def _count(fields: Fields, key: str, default: int, maximum: int, minimum: int = 1) -> int:
    value = fields.raw(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        fields.fail(key, f"must be an integer in [{minimum}, {maximum:,}], got {str(value)[:40]}")
    return int(value)


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class PolicyTables:
    """Depths (USD below / above the mid) by step (one row when the policy does not depend on
    time) and inventory -Q .. Q, and the fill hazards the kernel samples waiting times from:
    per step h = A exp(-k depth) dt by inventory (1, 2Q + 1) for a policy constant in time,
    else the cumulative hazard from step 0 by inventory and step (2Q + 1, steps + 1);
    0 where the side is not quoted."""

    depth_bid: NDArray[np.float64]
    depth_ask: NDArray[np.float64]
    hazard_bid: NDArray[np.float64]
    hazard_ask: NDArray[np.float64]
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
    if spec.option is not None:                     # walked step by step: no tables
        dummy = np.zeros((1, 1))
        return PolicyTables(dummy, dummy, dummy, dummy, False)
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
                        _hazards(bid, a_year, k, dt, time_varying), _hazards(ask, a_year, k, dt, time_varying),
                        time_varying)


def _hazards(depth: NDArray[np.float64], a_year: float, k: float, dt: float,
             time_varying: bool) -> NDArray[np.float64]:
    """Fill hazard per step A exp(-k depth) dt (a step fills with probability 1 - exp(-h)), 0
    where not quoted, capped at 700 (certain fill); cumulated over steps when time varies."""
    with np.errstate(over="ignore", invalid="ignore"):
        hazard = np.minimum(a_year * dt * np.exp(np.minimum(-k * depth, 700.0)), 700.0)
    hazard = np.where(np.isfinite(depth), np.nan_to_num(hazard, nan=700.0), 0.0)
    if not time_varying:
        return np.ascontiguousarray(hazard, dtype=np.float64)
    cumulative = np.zeros((hazard.shape[1], hazard.shape[0] + 1))
    np.cumsum(hazard.T, axis=1, out=cumulative[:, 1:])
    return cumulative


# --------------------------------------------------------------------------- run
def estimate_work(spec: MarketMakingSpec, *, paths: int | None = None, steps: int | None = None) -> WorkEstimate:
    """The work and memory of `simulate_market_making(spec, paths=, steps=)`; ValueError
    for a path or step count that is not an integer within MAX_PATHS, MAX_STEPS."""
    n_paths = spec.paths if paths is None else paths
    n_steps = spec.steps if steps is None else steps
    counts: tuple[tuple[str, object, int], ...] = (("paths", n_paths, MAX_PATHS), ("steps", n_steps, MAX_STEPS))
    for name, value, maximum in counts:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise ValueError(f"{name} must be an integer in [1, {maximum:,}], got {str(value)[:40]}")
    n_policies = len(spec.policies)
    width = 2 * spec.inventory_limit + 1
    memory = (8.0 * N_OUT * n_paths + 40.0 * n_paths + block_count(n_paths) * 2048.0
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
    progress: ProgressCallback | None = None,
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
    used_seed = int(resolve_seed(spec.seed if seed is None else seed))
    n_blocks = block_count(n_paths)
    out = np.empty((n_paths, N_OUT))
    total = n_paths * len(spec.policies)

    def run_policy(index: int, policy: MMPolicy) -> MMPolicyResult:
        arguments = kernel_arguments(spec, policy_tables(spec, policy, n_steps), n_steps, policy)
        streams = block_streams(used_seed, 0, n_blocks)   # the same streams for every policy

        def run_chunk(first: int, last: int) -> None:
            simulate_blocks(**arguments, bit_generators=streams[first:last], first_block=first,
                            paths_per_block=PATHS_PER_BLOCK, n_paths=n_paths, out=out, n_threads=n_threads)

        def chunk_done(last: int) -> None:
            if progress is not None:
                progress(index * n_paths + paths_before(last, n_paths), total)

        run_in_chunks(run_chunk, n_blocks, n_threads, chunk_done)
        return summarise(policy, out, n_steps, spec.order_size, spec.objective_gamma)

    results = [run_policy(index, policy) for index, policy in enumerate(spec.policies)]
    return MMResult(paths=n_paths, steps=n_steps, seed=used_seed, threads=n_threads,
                    objective_gamma=spec.objective_gamma, policies=tuple(results))


def kernel_arguments(spec: MarketMakingSpec, tables: PolicyTables, steps: int,
                     policy: MMPolicy | None = None) -> dict[str, Any]:
    """The keyword arguments of hedgecore._mm.simulate_blocks for one policy's tables, bar the
    streams and the output: the mid model's parameters per step, the hedge, the tables; with
    an `option`, the option and the policy's half spread and risk aversions."""
    dt = spec.horizon_years / steps
    model: dict[str, Any] = {}
    if spec.mid_model == "arithmetic":
        drift, vol_step = 0.0, spec.vol * spec.spot * math.sqrt(dt)
    elif spec.mid_model == "heston":
        drift, vol_step = spec.drift * dt, 0.0
        model = {"dt": dt, "v0": spec.heston_v0, "kappa": spec.heston_kappa, "theta": spec.heston_theta,
                 "vol_of_vol": spec.heston_vol_of_vol, "rho": spec.heston_rho}
    else:
        compensator = 0.0
        if spec.mid_model == "merton":
            # E[S_T] = S_0 exp(drift T): the jumps' mean relative move is taken out of the drift
            compensator = spec.jump_intensity * math.expm1(spec.jump_mean + 0.5 * spec.jump_std**2)
            model = {"jump_rate": spec.jump_intensity * dt, "jump_mean": spec.jump_mean,
                     "jump_std": spec.jump_std}
        drift = (spec.drift - 0.5 * spec.vol * spec.vol - compensator) * dt
        vol_step = spec.vol * math.sqrt(dt)
    if spec.hedge_band_units is not None:
        model.update(hedge_band=spec.hedge_band_units, hedge_rate=spec.hedge_cost_rate)
    if spec.option is not None:
        if policy is None:
            raise ValueError("an option simulation needs the policy")
        o = spec.option
        model.update(dt=dt, option={
            "is_call": o.is_call, "inverse": o.settlement == "inverse", "strike": o.strike,
            "expiry": o.expiry_years, "iv": -1.0 if o.vol is None else o.vol, "rate": o.rate,
            "half_spread": policy.half_spread or 0.0, "ra_delta": policy.risk_aversion_delta,
            "ra_vega": policy.risk_aversion_vega, "ra_gamma": policy.risk_aversion_gamma,
            "a_dt": spec.intensity_a_per_hour * HOURS_PER_YEAR * dt, "k": spec.intensity_k_per_usd})
    return {"mid_kind": MID_MODELS[spec.mid_model], "spot0": spec.spot, "drift": drift, "vol": vol_step,
            "steps": steps, "q_max": spec.inventory_limit, "size": spec.order_size,
            "fee_rate": spec.maker_fee_rate, "time_varying": tables.time_varying,
            "hazard_bid": tables.hazard_bid, "hazard_ask": tables.hazard_ask,
            "depth_bid": tables.depth_bid, "depth_ask": tables.depth_ask, **model}


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
        mean_hedging_cost=float(np.mean(out[:, _HEDGE_COST])),
        mean_hedge_trades=float(np.mean(out[:, _HEDGE_TRADES])),
        mean_jumps=float(np.mean(out[:, _JUMPS])),
        mid_end=out[:, _MID_END].copy(),
        jumps=out[:, _JUMPS].copy(),
    )


__all__ = ["MMPolicy", "MMResult", "MarketMakingSpec", "OptionQuoted", "kernel_arguments", "parse_mm_config",
           "policy_tables", "simulate_market_making"]
