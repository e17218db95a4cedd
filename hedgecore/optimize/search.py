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
fixed, impact) plus perpetual funding. Parsing the `optimize:` section is in
config.py; turning the choice into a policy file in policy_file.py.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from hedgecore.simconfig import COMMON_POLICY_KEYS, METHOD_KEYS, POLICY_WORDS
from hedgecore.simulation import (
    MAX_MEMORY_BYTES,
    MAX_WORK,
    PolicySpec,
    SimulationResult,
    SimulationSpec,
    WorkEstimate,
    estimate_work,
    simulate,
)
from hedgecore.simulation.blocks import resolve_seed

ObjectiveKind = Literal["mean_variance", "cvar", "min_cost"]
OBJECTIVES: tuple[str, ...] = ("mean_variance", "cvar", "min_cost")

# Searchable parameters: kind of number and the smallest allowed value. `inner_ratio`
# (nested only) sets inner = inner_ratio x outer, so a grid never proposes inner > outer.
# The policy file's words (half_width, outer_half_width, inner_half_width) and the older
# ones (width, outer, inner) both search the same PolicySpec field; results keep the
# word the search used. `min_interval` is searched in whole steps (the simulator's clock).
INTEGER_PARAMETERS = ("every", "min_interval")
SEARCHABLE: dict[str, tuple[str, float]] = {
    "risk_aversion": ("positive", 0.0),
    "half_width": ("non_negative", 0.0),
    "outer_half_width": ("non_negative", 0.0),
    "inner_half_width": ("non_negative", 0.0),
    "width": ("non_negative", 0.0),
    "outer": ("non_negative", 0.0),
    "inner": ("non_negative", 0.0),
    "inner_ratio": ("non_negative", 0.0),
    "every": ("integer", 1),
    "min_interval": ("integer", 0),
    "min_trade": ("non_negative", 0.0),
}


def policy_field(name: str) -> str:
    """The PolicySpec field a searched parameter sets (half_width -> width, ...)."""
    return POLICY_WORDS.get(name, name)

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
    applicable = {policy_field(word) for word in COMMON_POLICY_KEYS + METHOD_KEYS[policy.method]}
    if policy.method == "nested":
        applicable.add("inner_ratio")
    names = list(search)
    fields = [policy_field(name) for name in names]
    for name, field_name in zip(names, fields, strict=True):
        if fields.count(field_name) > 1:
            raise ValueError(f"search: {name!r} is searched twice (under two names)")
        if name not in SEARCHABLE:
            raise ValueError(f"search: unknown parameter {name!r} (searchable: {', '.join(SEARCHABLE)})")
        if field_name not in applicable:
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
    if "inner_ratio" in names and "inner" in fields:
        raise ValueError("search: give inner_half_width or inner_ratio, not both")
    if policy.method == "nested" and "risk_aversion" in names and ({"outer", "inner", "inner_ratio"} & set(fields)):
        raise ValueError("search: a nested band is searched by risk_aversion or by its half widths, not both")
    grid: list[tuple[dict[str, float], PolicySpec]] = []
    for combination in itertools.product(*(search[name] for name in names)):
        parameters = {name: float(value) for name, value in zip(names, combination, strict=True)}
        changes: dict[str, Any] = {}
        for name, value in parameters.items():
            if name == "inner_ratio":
                continue
            changes[policy_field(name)] = int(value) if name in INTEGER_PARAMETERS else value
        if "min_interval" in changes:
            changes["min_interval_seconds"] = None  # the searched steps replace a duration
        if policy.method == "nested":
            if "risk_aversion" in parameters:
                changes["outer"] = changes["inner"] = None
            else:
                outer = changes.get("outer", policy.outer)
                if "inner_ratio" in parameters:
                    if outer is None:
                        raise ValueError("search: inner_ratio needs outer_half_width (in the policy or the search)")
                    changes["inner"] = parameters["inner_ratio"] * outer
                inner = changes.get("inner", policy.inner)
                if outer is None or inner is None:
                    raise ValueError("search: a nested band searched by its half widths needs both "
                                     "outer_half_width and inner_half_width")
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
    run_seed = resolve_seed(seed if seed is not None else spec.seed)
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
