"""Writing the chosen policy as a policy document `hedgecore hedge --policy` reads (a plain
dict; the CLI writes the YAML), or merging it into an existing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hedgecore.optimize.search import OptimizeResult, _plain
from hedgecore.policy import hedge_instrument_name
from hedgecore.simulation import HistoricalModel, SimulationSpec
from hedgecore.units import DAYS_PER_YEAR, SECONDS_PER_DAY


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
    step_seconds = spec.horizon_years / result.steps * DAYS_PER_YEAR * SECONDS_PER_DAY
    costs = spec.costs
    band: dict[str, Any]
    interval_steps = chosen.interval_steps(step_seconds)
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
