"""Reading the `optimize:` section of a simulation config (README "Optimize") into an
OptimizeSetup: the base policy, the searched values, the objective and the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hedgecore.errors import ConfigError
from hedgecore.optimize.search import INTEGER_PARAMETERS, OBJECTIVES, SEARCHABLE, Objective, policy_field
from hedgecore.policy import hedge_instrument_name
from hedgecore.reading import Fields, finite_number, join_path
from hedgecore.simconfig import (
    COMMON_POLICY_KEYS,
    DOCUMENT,
    METHOD_KEYS,
    OLDER_WORDS,
    POLICY_METHODS,
    integer,
    parse_sim_policy,
    policy_word,
)
from hedgecore.simulation import PolicySpec

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
    applicable = {policy_field(word) for word in COMMON_POLICY_KEYS + METHOD_KEYS[method]}
    if method == "nested":
        applicable.add("inner_ratio")
    searched_fields: dict[str, str] = {}
    for name in search:
        if policy_field(name) not in applicable:
            search_fields.fail(name, f"does not apply to method '{method}'")
        if policy_field(name) in searched_fields:
            search_fields.fail(name, f"searches the same parameter as {searched_fields[policy_field(name)]}")
        searched_fields[policy_field(name)] = name

    def base_key(word: str) -> str:
        """The key the base policy uses for documented `word` (it may use the older one)."""
        return policy_word(raw_policy, word)

    for name, values in search.items():
        if name == "inner_ratio":
            raw_policy.setdefault(base_key("inner_half_width"), 0.0)
            continue
        if name == "risk_aversion" and method == "nested":
            for word in ("outer_half_width", "inner_half_width"):
                raw_policy.pop(base_key(word), None)
        if name == "min_interval" and isinstance(raw_policy.get("min_interval"), str):
            raw_policy.pop("min_interval")  # the search counts steps; its values replace a duration
        documented = OLDER_WORDS.get(name, name)
        raw_policy.setdefault(base_key(documented), int(values[0]) if name in INTEGER_PARAMETERS else values[0])
    if method == "nested" and ({"outer", "inner", "inner_ratio"} & set(searched_fields)):
        raw_policy.pop("risk_aversion", None)
        outer_key, inner_key = base_key("outer_half_width"), base_key("inner_half_width")
        if inner_key in raw_policy and outer_key in raw_policy and raw_policy[inner_key] > raw_policy[outer_key]:
            raw_policy[inner_key] = raw_policy[outer_key]
    policy = parse_sim_policy(raw_policy, policy_path)

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
