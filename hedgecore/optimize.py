"""Policy optimisation: search a hedging policy's parameters on simulated paths.

`optimize` evaluates a grid of parameter values of one policy (a band's risk aversion or
width, a nested band's outer/inner edges, a time policy's interval, a minimum interval
between trades, a minimum trade size) on common random numbers: every candidate runs on
the same simulated paths (the same seed, so a candidate's numbers do not depend on which
others share its batch), which makes differences between candidates far less noisy than
the numbers themselves. It returns every candidate's cost and risk, marks the efficient
frontier (no other candidate is both cheaper and less risky), and picks the candidate that
minimises the objective:

- ``mean_variance``: mean cost + risk_weight x variance of the hedged PnL;
- ``cvar``: the CVaR of the hedged PnL at a level (a positive number = expected loss in
  the worst 1 - level of paths);
- ``min_cost``: the least mean cost among candidates whose PnL std is within max_std.

Cost is what hedging costs per path in the quote currency: trading costs (fees, spread,
fixed, impact) plus perpetual funding. `policy_document` turns the choice into the policy
schema `hedgecore hedge` reads (a dict; the CLI writes the YAML).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from hedgecore.errors import ConfigError, Fields, finite_number, join_path
from hedgecore.policy import hedge_instrument_name
from hedgecore.simconfig import COMMON_POLICY_KEYS, DOCUMENT, METHOD_KEYS, POLICY_METHODS, integer, parse_policy
from hedgecore.simulation import (
    MAX_MEMORY_BYTES,
    MAX_WORK,
    HistoricalModel,
    PolicySpec,
    SimulationResult,
    SimulationSpec,
    WorkEstimate,
    estimate_work,
    simulate,
)

ObjectiveKind = Literal["mean_variance", "cvar", "min_cost"]
OBJECTIVES: tuple[str, ...] = ("mean_variance", "cvar", "min_cost")

# Searchable parameters: kind of number and the smallest allowed value. `inner_ratio`
# (nested only) sets inner = inner_ratio x outer, so a grid never proposes inner > outer.
INTEGER_PARAMETERS = ("every", "min_interval")
SEARCHABLE: dict[str, tuple[str, float]] = {
    "risk_aversion": ("positive", 0.0),
    "width": ("non_negative", 0.0),
    "outer": ("non_negative", 0.0),
    "inner": ("non_negative", 0.0),
    "inner_ratio": ("non_negative", 0.0),
    "every": ("integer", 1),
    "min_interval": ("integer", 0),
    "min_trade": ("non_negative", 0.0),
}
SECTION_KEYS = ("policy", "search", "objective", "output", "batch_size", "refine", "refine_points")
OBJECTIVE_KEYS = ("type", "risk_weight", "level", "max_std")
RANGE_KEYS = ("min", "max", "num", "scale", "values")
OUTPUT_KEYS = ("underlying", "instrument")
# Values one parameter's search may list or generate (a grid is their product, bounded by
# the work bound), refinement rounds and points, candidates per simulation batch.
MAX_SEARCH_VALUES = 10_000
MAX_REFINE = 20
MAX_REFINE_POINTS = 1_000
MAX_BATCH_SIZE = 4_096

Simulator = Callable[..., SimulationResult]
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Objective:
    """What the optimizer minimises (see the module docstring).

    risk_weight: mean_variance's k, per unit of the quote currency (cost + k variance);
    level: cvar's confidence level in (0, 1); max_std: min_cost's limit on the PnL std,
    quote currency.
    """

    kind: ObjectiveKind
    risk_weight: float = 0.0
    level: float = 0.95
    max_std: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVES:
            raise ValueError(f"objective kind must be one of {', '.join(OBJECTIVES)}, got {self.kind!r}")
        if self.kind == "mean_variance" and not (math.isfinite(self.risk_weight) and self.risk_weight >= 0.0):
            raise ValueError(f"risk_weight must be finite and >= 0, got {self.risk_weight!r}")
        if self.kind == "cvar" and not 0.0 < self.level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {self.level!r}")
        if self.kind == "min_cost" and (self.max_std is None or not self.max_std > 0.0):
            raise ValueError(f"max_std must be > 0 for the min_cost objective, got {self.max_std!r}")

    @property
    def risk_name(self) -> str:
        """The risk axis of the frontier: std_pnl, or cvar at the level."""
        return f"cvar_{round(self.level * 100, 2):g}" if self.kind == "cvar" else "std_pnl"

    def describe(self) -> str:
        if self.kind == "mean_variance":
            return f"minimise mean cost + {self.risk_weight:g} x variance of PnL"
        if self.kind == "cvar":
            return f"minimise CVaR {self.level:.0%} of PnL"
        return f"minimise mean cost with PnL std <= {self.max_std:g}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.kind == "mean_variance":
            out["risk_weight"] = self.risk_weight
        elif self.kind == "cvar":
            out["level"] = self.level
        else:
            out["max_std"] = self.max_std
        return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """One evaluated parameter set. Money in the quote currency, per path.

    mean_cost: trading costs plus funding (mean_trading_cost + mean_funding, the definition
    `simulate` reports too); risk: std_pnl or the CVaR, per the objective; feasible: within
    max_std (always True for the other objectives); efficient: on the cost/risk frontier.
    """

    parameters: dict[str, float]
    policy: PolicySpec
    mean_cost: float
    mean_pnl: float
    std_pnl: float
    stderr_pnl: float
    cvar: float
    mean_trades: float
    risk: float
    objective: float
    feasible: bool
    efficient: bool = False
    mean_trading_cost: float = 0.0
    mean_funding: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: _plain(value) for name, value in self.parameters.items()},
            "mean_cost": self.mean_cost,
            "mean_trading_cost": self.mean_trading_cost,
            "mean_funding": self.mean_funding,
            "mean_pnl": self.mean_pnl,
            "std_pnl": self.std_pnl,
            "stderr_pnl": self.stderr_pnl,
            "cvar": self.cvar,
            "mean_trades": self.mean_trades,
            "objective": self.objective,
            "feasible": self.feasible,
            "efficient": self.efficient,
        }


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """Every candidate in grid order, the chosen one and the run's settings."""

    objective: Objective
    base: PolicySpec
    parameter_names: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    chosen: Candidate
    option_value: float
    paths: int
    steps: int
    seed: int
    results: tuple[SimulationResult, ...] = field(repr=False, default=())
    on_grid_edge: tuple[str, ...] = ()

    @property
    def frontier(self) -> tuple[Candidate, ...]:
        """The efficient candidates, by increasing risk (so by decreasing cost)."""
        return tuple(sorted((c for c in self.candidates if c.efficient), key=lambda c: (c.risk, c.mean_cost)))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: objective, chosen parameters and policy, the frontier, all candidates."""
        return {
            "objective": self.objective.as_dict(),
            "method": self.base.method,
            "parameters": list(self.parameter_names),
            "option_value": self.option_value,
            "paths": self.paths,
            "steps": self.steps,
            "seed": self.seed,
            "chosen": {
                "parameters": {name: _plain(value) for name, value in self.chosen.parameters.items()},
                **{k: v for k, v in self.chosen.as_dict().items() if k not in self.chosen.parameters},
            },
            "on_grid_edge": list(self.on_grid_edge),
            "frontier": [candidate.as_dict() for candidate in self.frontier],
            "candidates": [candidate.as_dict() for candidate in self.candidates],
        }

    def edge_notes(self) -> list[str]:
        """One sentence per parameter whose chosen value is the edge of what was searched."""
        notes = []
        for name in self.on_grid_edge:
            values = [candidate.parameters[name] for candidate in self.candidates]
            chosen = self.chosen.parameters[name]
            side = "largest" if chosen >= max(values) else "smallest"
            notes.append(f"{name}={_plain(chosen)} is the {side} value searched: the best value may lie "
                         f"beyond it; widen the search of {name} past {_plain(chosen)} and run again.")
        return notes


@dataclass(frozen=True, slots=True)
class OptimizeSetup:
    """A parsed `optimize:` section."""

    policy: PolicySpec
    search: dict[str, tuple[float, ...]]
    objective: Objective
    underlying: str | None
    instrument: str | None
    batch_size: int
    refine: int = 0
    refine_points: int = 4


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


# --------------------------------------------------------------------------- the search
def candidate_policies(
    policy: PolicySpec, search: Mapping[str, Sequence[float]]
) -> list[tuple[dict[str, float], PolicySpec]]:
    """The grid: every combination of the searched values applied to `policy`, in order
    (the first parameter varies slowest). Raises ValueError for a parameter that does not
    apply to the policy's method or a value out of range."""
    if not search:
        raise ValueError("search must name at least one parameter")
    applicable = set(COMMON_POLICY_KEYS + METHOD_KEYS[policy.method])
    if policy.method == "nested":
        applicable.add("inner_ratio")
    names = list(search)
    for name in names:
        if name not in SEARCHABLE:
            raise ValueError(f"search: unknown parameter {name!r} (searchable: {', '.join(SEARCHABLE)})")
        if name not in applicable:
            raise ValueError(f"search: {name!r} does not apply to method {policy.method!r}")
        values = list(search[name])
        if not values:
            raise ValueError(f"search: {name!r} has no values")
        kind, minimum = SEARCHABLE[name]
        for value in values:
            if not math.isfinite(value) or value < minimum or (kind == "positive" and value <= 0.0):
                raise ValueError(f"search: {name!r} value {value!r} out of range")
            if kind == "integer" and float(value) != int(value):
                raise ValueError(f"search: {name!r} takes whole numbers, got {value!r}")
    if "inner_ratio" in names and "inner" in names:
        raise ValueError("search: give inner or inner_ratio, not both")
    if policy.method == "nested" and "risk_aversion" in names and ({"outer", "inner", "inner_ratio"} & set(names)):
        raise ValueError("search: a nested band is searched by risk_aversion or by outer/inner, not both")
    grid: list[tuple[dict[str, float], PolicySpec]] = []
    for combination in itertools.product(*(search[name] for name in names)):
        parameters = {name: float(value) for name, value in zip(names, combination, strict=True)}
        changes: dict[str, Any] = {}
        for name, value in parameters.items():
            if name == "inner_ratio":
                continue
            changes[name] = int(value) if name in INTEGER_PARAMETERS else value
        if policy.method == "nested":
            if "risk_aversion" in parameters:
                changes["outer"] = changes["inner"] = None
            else:
                outer = changes.get("outer", policy.outer)
                if "inner_ratio" in parameters:
                    if outer is None:
                        raise ValueError("search: inner_ratio needs outer (in the policy or the search)")
                    changes["inner"] = parameters["inner_ratio"] * outer
                inner = changes.get("inner", policy.inner)
                if outer is None or inner is None:
                    raise ValueError("search: a nested band searched by edges needs both outer and inner")
                if inner > outer:
                    continue  # not a band: skip this corner of the grid
                changes["risk_aversion"] = None
        grid.append((parameters, replace(policy, name=f"{policy.name}#{len(grid)}", **changes)))
    if not grid:
        raise ValueError("search: no candidate left (every inner exceeds its outer)")
    return grid


def grid_size(search: Mapping[str, Sequence[float]]) -> int:
    """How many candidates the grid holds at most (before skipping inner > outer)."""
    return math.prod(len(values) for values in search.values())


def optimize_work(spec: SimulationSpec, search: Mapping[str, Sequence[float]], *, paths: int | None = None,
                  steps: int | None = None, refine: int = 0, refine_points: int = 4) -> WorkEstimate:
    """The work and memory of an `optimize` run, counted before any candidate is built:
    every candidate of the grid and of the refinement rounds is a policy simulated on all
    paths, and its per-path results are kept (for the plots and the tail measures)."""
    candidates = grid_size(search) + refine * len(search) * refine_points
    return estimate_work(spec, paths=paths, steps=steps, policies=candidates)


def _tail_loss(pnl: np.ndarray, level: float) -> float:
    """CVaR as a positive loss: minus the mean of the PnL at or below its (1 - level) quantile."""
    cut = np.quantile(pnl, 1.0 - level)
    return float(-pnl[pnl <= cut].mean())


def optimize(
    spec: SimulationSpec,
    policy: PolicySpec,
    search: Mapping[str, Sequence[float]],
    objective: Objective,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = 16,
    refine: int = 0,
    refine_points: int = 4,
    simulator: Simulator = simulate,
    max_work: float | None = MAX_WORK,
    max_memory_bytes: float | None = MAX_MEMORY_BYTES,
) -> OptimizeResult:
    """Evaluate `policy` at every point of the `search` grid and choose by `objective`.

    spec: the simulation (its own policies are ignored); policy: the base policy whose
    parameters are searched (searched fields override it); search: parameter -> values.
    Candidates run `batch_size` at a time as the policies of one `simulate` call, each
    batch with the same seed (common random numbers: the simulator gives a policy the same
    numbers whatever else shares the call). A spec without a seed gets one drawn once, and
    reported. progress(done, total) counts simulated paths over all batches.

    refine: rounds of local refinement after the grid. Each round, for one searched
    parameter at a time (the others held at the current choice), `refine_points` new values
    are tried between the chosen value and its nearest searched neighbours (log-spaced for
    risk_aversion, linear otherwise, whole numbers for every/min_interval), on the same
    paths. The refined candidates join the frontier like the others. A refined value is
    never degenerate: min_interval 1 step (the same as 0, no interval) is not tried.

    The result's `on_grid_edge` names the parameters whose chosen value is the largest
    value searched, or the smallest where smaller values exist (0 is the floor of a width
    or an interval): the optimum may lie beyond the search.

    max_work, max_memory_bytes: the work bounds of hedgecore.simulation (see optimize_work);
    beyond them WorkLimitError is raised before any candidate runs.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if refine < 0 or refine_points < 1:
        raise ValueError(f"refine must be >= 0 and refine_points >= 1, got {refine}, {refine_points}")
    optimize_work(spec, search, paths=paths, steps=steps, refine=refine,
                  refine_points=refine_points).check(max_work, max_memory_bytes)
    grid = candidate_policies(policy, search)
    run_seed = seed if seed is not None else spec.seed
    if run_seed is None:
        run_seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    run_paths = paths if paths is not None else spec.paths
    refine_batches = refine * len(search) * math.ceil(refine_points / batch_size)  # at most
    total = run_paths * (math.ceil(len(grid) / batch_size) + refine_batches)
    results: list[SimulationResult] = []
    rows: list[Candidate] = []

    def evaluate(candidates: list[tuple[dict[str, float], PolicySpec]]) -> None:
        for start in range(0, len(candidates), batch_size):
            batch = candidates[start : start + batch_size]
            offset = len(results) * run_paths

            def batch_progress(done: int, _total: int, offset: int = offset) -> None:
                if progress is not None:
                    progress(min(offset + done, total), total)

            result = simulator(
                replace(spec, policies=tuple(candidate for _, candidate in batch)),
                paths=run_paths,
                steps=steps,
                seed=run_seed,
                threads=threads,
                progress=batch_progress if progress is not None else None,
                max_work=None,  # the whole search was checked against the bounds above
                max_memory_bytes=None,
            )
            results.append(result)
            for (parameters, candidate), outcome in zip(batch, result.policies, strict=True):
                rows.append(_candidate(parameters, replace(candidate, name=policy.name), outcome, objective))

    evaluate(grid)
    searched = {name: sorted({float(v) for v in values}) for name, values in search.items()}
    for _round in range(refine):
        best = _choose(rows, objective)
        for name in search:
            values = _refined_values(name, best.parameters[name], searched[name], refine_points)
            if not values:
                continue
            local: dict[str, tuple[float, ...]] = {other: (value,) for other, value in best.parameters.items()}
            local[name] = tuple(values)
            try:
                evaluate(candidate_policies(policy, local))
            except ValueError:
                continue  # e.g. every refined inner exceeds its outer
            searched[name] = sorted(set(searched[name]) | set(values))
    rows = _mark_efficient(rows)
    chosen = _choose(rows, objective)
    first = results[0]
    on_edge = tuple(name for name in search if _on_edge(name, chosen.parameters[name], searched[name]))
    return OptimizeResult(
        objective=objective,
        base=policy,
        parameter_names=tuple(search),
        candidates=tuple(rows),
        chosen=chosen,
        option_value=first.option_value,
        paths=first.paths,
        steps=first.steps,
        seed=run_seed,
        results=tuple(results),
        on_grid_edge=on_edge,
    )


# The largest value a parameter can take (inner_ratio: the inner band never exceeds the outer).
_CEILINGS = {"inner_ratio": 1.0}


def _on_edge(name: str, chosen: float, searched: list[float]) -> bool:
    """Whether `chosen` is an end of the searched values past which the search could go."""
    if len(searched) < 2:
        return False  # a fixed value, not a search
    kind, floor = SEARCHABLE[name]
    if name == "min_interval":
        floor = 1  # 0 and 1 step are the same: no interval
    at_floor = chosen <= floor and kind != "positive"
    if chosen <= searched[0]:
        return not at_floor
    return chosen >= searched[-1] and chosen < _CEILINGS.get(name, math.inf)


def _candidate(parameters: dict[str, float], policy: PolicySpec, outcome: Any, objective: Objective) -> Candidate:
    """Score one simulated policy against the objective."""
    mean_cost = outcome.mean_cost  # trading costs + funding
    if objective.kind == "cvar":
        if math.isclose(objective.level, 0.95):
            cvar = outcome.cvar_95
        elif math.isclose(objective.level, 0.99):
            cvar = outcome.cvar_99
        else:
            cvar = _tail_loss(np.asarray(outcome.pnl), objective.level)
        risk = value = cvar
    else:
        cvar = outcome.cvar_95
        risk = outcome.std_pnl
        value = (
            mean_cost + objective.risk_weight * outcome.std_pnl**2 if objective.kind == "mean_variance" else mean_cost
        )
    feasible = objective.kind != "min_cost" or outcome.std_pnl <= objective.max_std
    return Candidate(
        parameters=parameters,
        policy=policy,
        mean_cost=mean_cost,
        mean_pnl=outcome.mean_pnl,
        std_pnl=outcome.std_pnl,
        stderr_pnl=outcome.stderr_pnl,
        cvar=cvar,
        mean_trades=outcome.mean_trades,
        risk=risk,
        objective=value,
        feasible=feasible,
        mean_trading_cost=float(np.mean(outcome.cost)),
        mean_funding=outcome.mean_funding,
    )


def _choose(rows: list[Candidate], objective: Objective) -> Candidate:
    """The feasible candidate with the least objective (ties: the less risky)."""
    feasible_rows = [row for row in rows if row.feasible]
    if not feasible_rows:
        least = min(rows, key=lambda row: row.std_pnl)
        raise ValueError(
            f"no candidate keeps the PnL std within max_std={objective.max_std:g}; the least "
            f"risky has std {least.std_pnl:.6g} at {least.parameters}: widen the search or "
            "raise max_std"
        )
    return min(feasible_rows, key=lambda row: (row.objective, row.risk))


def _refined_values(name: str, chosen: float, searched: list[float], points: int) -> list[float]:
    """Up to `points` new values strictly between the chosen value's searched neighbours."""
    below = [value for value in searched if value < chosen]
    above = [value for value in searched if value > chosen]
    low = below[-1] if below else chosen
    high = above[0] if above else chosen
    if not high > low:
        return []
    kind, floor = SEARCHABLE[name]
    if kind == "integer":
        span = np.linspace(low, high, points + 2)[1:-1]
        candidates = sorted({float(round(value)) for value in span})
        if name == "min_interval":
            # an interval of 1 step is no interval (a trade can come every step): the same
            # policy as 0, not a new point between 0 and 2
            candidates = [value for value in candidates if value != 1.0]
    elif kind == "positive" and low > 0.0:
        candidates = [float(f"{value:.12g}") for value in np.geomspace(low, high, points + 2)[1:-1]]
    else:
        candidates = [float(f"{value:.12g}") for value in np.linspace(low, high, points + 2)[1:-1]]
    return [value for value in candidates
            if value not in searched and low < value < high and value >= floor and (kind != "positive" or value > 0.0)]


def _mark_efficient(rows: list[Candidate]) -> list[Candidate]:
    """Flag the candidates no other candidate beats on both cost and risk."""
    marked = []
    for row in rows:
        dominated = any(
            other.mean_cost <= row.mean_cost
            and other.risk <= row.risk
            and (other.mean_cost < row.mean_cost or other.risk < row.risk)
            for other in rows
        )
        marked.append(replace(row, efficient=not dominated))
    return marked


# --------------------------------------------------------------------------- config
def _values(data: Any, path: str, name: str) -> tuple[float, ...]:
    """A list of values or {min, max, num, scale} or {values: [...]}."""
    kind, minimum = SEARCHABLE[name]
    if isinstance(data, list):
        if len(data) > MAX_SEARCH_VALUES:
            raise ConfigError(path, f"lists {len(data):,} values; at most {MAX_SEARCH_VALUES:,}", document=DOCUMENT)
        raw = [finite_number(item, join_path(path, k), DOCUMENT) for k, item in enumerate(data)]
        if not raw:
            raise ConfigError(path, "must list at least one value", document=DOCUMENT)
        values = raw
        item_path = path
    else:
        fields = Fields(data, path, DOCUMENT, allowed=RANGE_KEYS)
        if fields.has("values"):
            if any(fields.has(key) for key in ("min", "max", "num", "scale")):
                fields.fail("values", "give either values or min/max/num, not both")
            return _values(fields.sequence("values"), fields.sub("values"), name)
        low = fields.number("min")
        high = fields.number("max")
        if high < low:
            fields.fail("max", f"must be >= min ({high:g} < {low:g})")
        count = integer(fields, "num", 2 if high > low else 1, minimum=1, maximum=MAX_SEARCH_VALUES)
        scale = fields.choice("scale", ("log", "linear"), "log" if kind == "positive" else "linear")
        if scale == "log":
            if low <= 0.0:
                fields.fail("min", f"must be > 0 on a log scale, got {low:g}")
            values = list(np.geomspace(low, high, count)) if count > 1 else [low]
        else:
            values = list(np.linspace(low, high, count)) if count > 1 else [low]
        item_path = path
    out: list[float] = []
    for value in values:
        # 12 significant digits: a log grid reads 1e-05, not 9.999999999999999e-06
        value = float(round(value)) if kind == "integer" else float(f"{value:.12g}")
        if value < minimum or (kind == "positive" and value <= 0.0):
            bound = "> 0" if kind == "positive" else f">= {minimum:g}"
            raise ConfigError(item_path, f"values must be {bound}, got {value:g}", document=DOCUMENT)
        if value not in out:
            out.append(float(value))
    return tuple(out)


def parse_optimize_section(data: Any, path: str = "optimize") -> OptimizeSetup:
    """Parse the `optimize:` section of a simulation config (see README "Optimize")."""
    fields = Fields(data, path, DOCUMENT, allowed=SECTION_KEYS)
    search_fields = Fields(
        fields.mapping("search", required=True), fields.sub("search"), DOCUMENT, allowed=tuple(SEARCHABLE)
    )
    if not search_fields.data:
        search_fields.fail_at(search_fields.path, "must name at least one parameter to search")
    search = {
        str(name): _values(value, search_fields.sub(str(name)), str(name)) for name, value in search_fields.data.items()
    }

    # The base policy: searched parameters need not be given, so (once the method is known
    # to take them) fill them with their first value before the policy reader checks the rest.
    policy_path = fields.sub("policy")
    raw_policy = dict(fields.mapping("policy", required=True))
    method = Fields(raw_policy, policy_path, DOCUMENT).choice("method", POLICY_METHODS)
    if method == "none":
        fields.fail_at(join_path(policy_path, "method"), "a 'none' policy has nothing to optimise")
    applicable = set(COMMON_POLICY_KEYS + METHOD_KEYS[method]) | ({"inner_ratio"} if method == "nested" else set())
    for name in search:
        if name not in applicable:
            search_fields.fail(name, f"does not apply to method '{method}'")
    for name, values in search.items():
        if name == "inner_ratio":
            raw_policy.setdefault("inner", 0.0)
            continue
        if name == "risk_aversion" and method == "nested":
            raw_policy.pop("outer", None)
            raw_policy.pop("inner", None)
        raw_policy.setdefault(name, int(values[0]) if name in INTEGER_PARAMETERS else values[0])
    if method == "nested" and ({"outer", "inner", "inner_ratio"} & set(search)):
        raw_policy.pop("risk_aversion", None)
        if "inner" in raw_policy and "outer" in raw_policy and raw_policy["inner"] > raw_policy["outer"]:
            raw_policy["inner"] = raw_policy["outer"]
    policy = parse_policy(raw_policy, policy_path)

    objective_fields = Fields(
        fields.mapping("objective", required=True), fields.sub("objective"), DOCUMENT, allowed=OBJECTIVE_KEYS
    )
    kind = objective_fields.choice("type", OBJECTIVES)
    for key in ("risk_weight", "level", "max_std"):
        wanted = {"mean_variance": "risk_weight", "cvar": "level", "min_cost": "max_std"}[kind]
        if key != wanted and objective_fields.has(key):
            objective_fields.fail(key, f"does not apply to objective '{kind}' (it takes {wanted})")
    if kind == "mean_variance":
        objective = Objective("mean_variance", risk_weight=objective_fields.non_negative("risk_weight"))
    elif kind == "cvar":
        level = objective_fields.number("level", 0.95)
        if not 0.0 < level < 1.0:
            objective_fields.fail("level", f"must be in (0, 1), got {level:g}")
        objective = Objective("cvar", level=level)
    else:
        objective = Objective("min_cost", max_std=objective_fields.positive("max_std"))

    output = Fields(fields.mapping("output"), fields.sub("output"), DOCUMENT, allowed=OUTPUT_KEYS)
    underlying = output.text("underlying").strip().upper() if output.has("underlying") else None
    instrument = output.text("instrument").strip() if output.has("instrument") else None
    if instrument is not None:
        # the policy file names it, and a minimum trade is written in its contracts
        parsed = hedge_instrument_name(instrument, underlying or "")
        if parsed is None:
            output.fail("instrument", f"unknown hedge instrument {instrument!r} "
                                      "(e.g. BTC-PERPETUAL, ETH_USDC-PERPETUAL, spot)")
        elif underlying is not None and parsed.underlying != underlying:
            output.fail("instrument", f"{instrument} is on {parsed.underlying}, not {underlying}")
    return OptimizeSetup(
        policy=policy,
        search=search,
        objective=objective,
        underlying=underlying,
        instrument=instrument,
        batch_size=integer(fields, "batch_size", 16, minimum=1, maximum=MAX_BATCH_SIZE),
        refine=integer(fields, "refine", 0, minimum=0, maximum=MAX_REFINE),
        refine_points=integer(fields, "refine_points", 4, minimum=1, maximum=MAX_REFINE_POINTS),
    )


# --------------------------------------------------------------------------- policy output
def _duration_text(seconds: float) -> str:
    """A duration the policy reader parses: 2h, 30m, 1d, or seconds."""
    whole = round(seconds)
    if whole <= 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds - whole) < 1e-6 and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s" if abs(seconds - whole) < 1e-6 else f"{seconds:.3f}s"


def _min_order_contracts(min_trade: float, instrument: str, underlying: str, spec: SimulationSpec) -> float:
    """A minimum trade in units of the underlying as contracts of `instrument`."""
    parsed = hedge_instrument_name(instrument, underlying)
    if parsed is None:
        raise ValueError(f"cannot express min_trade in contracts of {instrument!r}: unknown contract size")
    if not parsed.is_inverse:
        return min_trade / parsed.contract_size
    model = spec.model
    spot = model.spot
    if spot is None and isinstance(model, HistoricalModel):
        spot = float(model.prices[0])
    if spot is None:
        raise ValueError("cannot express min_trade in contracts: the model has no starting spot")
    return min_trade * float(spot) / parsed.contract_size


def policy_document(
    result: OptimizeResult,
    spec: SimulationSpec,
    *,
    underlying: str,
    instrument: str | None = None,
) -> dict[str, Any]:
    """The chosen policy in the schema `hedgecore hedge --policy` reads (a plain dict).

    The band maps one to one (fixed half_width, whalley_wilmott / zakamouline
    risk_aversion, nested outer/inner or risk_aversion with the fixed cost); a `time`
    policy becomes a zero-width fixed band with a minimum interval of `every` steps.
    Minimum intervals in steps become durations (one step = horizon / steps). The hedge
    instrument carries the simulated costs, and a minimum trade (units of the underlying)
    becomes its `min_order` in contracts: the coins themselves for spot, coins / contract
    size for linear contracts, coins x the simulation's starting spot / USD per contract
    for inverse ones. The simulated funding rate is left out, so that `hedge` uses the
    market's live funding. `leland` has no band form and is refused.
    """
    chosen = result.chosen.policy
    step_seconds = spec.horizon_years / result.steps * 365.0 * 86400.0
    costs = spec.costs
    band: dict[str, Any]
    interval_steps = chosen.min_interval
    rebalance_to = chosen.rebalance
    if chosen.method == "fixed":
        band = {"method": "fixed", "half_width": chosen.width}
        rebalance_to = rebalance_to or "target"
    elif chosen.method in ("whalley_wilmott", "zakamouline"):
        band = {"method": chosen.method, "risk_aversion": chosen.risk_aversion}
        rebalance_to = rebalance_to or "edge"
    elif chosen.method == "nested":
        if chosen.risk_aversion is not None:
            band = {"method": "nested", "risk_aversion": chosen.risk_aversion, "fixed_cost_usd": costs.fixed}
        else:
            band = {"method": "nested", "outer_half_width": chosen.outer, "inner_half_width": chosen.inner}
        rebalance_to = "target"
    elif chosen.method == "time":
        band = {"method": "fixed", "half_width": 0.0}
        interval_steps = max(interval_steps, chosen.every)
        rebalance_to = "target"
    else:
        raise ValueError(f"a '{chosen.method}' policy has no band form for `hedgecore hedge`")
    if instrument is None:
        instrument = {
            "spot": "spot",
            "linear_perp": f"{underlying}_USDC-PERPETUAL",
            "inverse_perp": f"{underlying}-PERPETUAL",
        }[spec.hedge.instrument]
    hedge_instrument: dict[str, Any] = {
        "name": instrument,
        "taker_fee": costs.proportional,
        "half_spread": costs.half_spread,
        "fixed_cost_usd": costs.fixed,
    }
    # No funding_rate_8h: the simulation's rate was an assumption; a live policy uses the
    # market file's funding quote (a perpetual's funding changes every 8 hours).
    if chosen.min_trade > 0.0:
        hedge_instrument["min_order"] = _min_order_contracts(chosen.min_trade, instrument, underlying, spec)
    parameters = ", ".join(f"{name}={_plain(value)}" for name, value in result.chosen.parameters.items())
    entry: dict[str, Any] = {
        "band": band,
        "rebalance_to": rebalance_to,
        "min_interval": _duration_text(interval_steps * step_seconds),
        "instruments": [hedge_instrument],
    }
    return {
        "description": (
            f"Chosen by hedgecore optimize: {chosen.method} with {parameters}; "
            f"{result.objective.describe()} over {result.paths} paths x {result.steps} steps, "
            f"seed {result.seed}."
        ),
        "underlyings": {underlying: entry},
    }


def merge_policy_document(existing: Mapping[str, Any], chosen: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Write the chosen underlying's band, rebalance_to and min_interval into an existing
    policy document (a decoded policy file), keeping everything else: other underlyings,
    limits, book limits, the underlying's measure, target, timer state and instruments
    with their lot sizes. A band's min_half_width / max_half_width clamps are kept. A
    chosen minimum trade becomes the min_order of the existing instrument of the same
    name. An underlying the file lacks is added whole. Returns (document, added: whether
    the underlying was new)."""
    merged = dict(existing)
    underlyings = dict(merged.get("underlyings") or {})
    ((underlying, entry),) = chosen["underlyings"].items()
    key = next((name for name in underlyings if str(name).strip().upper() == underlying), None)
    if key is None:
        underlyings[underlying] = dict(entry)
        merged["underlyings"] = underlyings
        return merged, True
    current = dict(underlyings[key])
    band = dict(entry["band"])
    for clamp in ("min_half_width", "max_half_width"):
        if isinstance(current.get("band"), Mapping) and clamp in current["band"]:
            band[clamp] = current["band"][clamp]
    current["band"] = band
    current["rebalance_to"] = entry["rebalance_to"]
    current["min_interval"] = entry["min_interval"]
    wanted = entry["instruments"][0]
    if "min_order" in wanted and isinstance(current.get("instruments"), list):
        instruments = []
        for item in current["instruments"]:
            if isinstance(item, Mapping) and str(item.get("name", "")).strip().upper() == str(wanted["name"]).upper():
                item = {**item, "min_order": wanted["min_order"]}
            instruments.append(item)
        current["instruments"] = instruments
    underlyings[key] = current
    merged["underlyings"] = underlyings
    return merged, False
