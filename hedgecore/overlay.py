"""Static option overlays and variants: dynamic, static and gamma hedging compared on common paths.

A desk short gamma can delta-hedge alone, buy options once (a static overlay bought at t0 at
quoted prices, for instance the trades `hedge` recommended) and delta-hedge the rest, or leave
the book alone. `simulate_variants` runs each variant as one call of the simulator with the
same seed, so every variant sees the same price paths (common random numbers), under one or
more price models.

The overlay's options join the book as ordinary option lines: the kernel counts them at their
model value at t0 (the premium it books for every line) and the hedger hedges the combined
delta. What the desk pays beyond that model value is the overlay's t0 cost,

    cost_usd = sum over trades of (price_usd - model_value_usd) x quantity + fee_usd x |quantity|,

quantity signed (buy > 0). It is charged in USD at t0 (coin prices converted at the start
spot) and financed at the rate to the horizon like the premium, so every path's PnL moves by
-cost_usd x e^{rate x horizon}. The fee per option is min(rate_of_underlying x spot,
cap_of_price x price), the venues' rule (REFERENCE section 8).

Options of the overlay that outlive the horizon are marked to model at the hedging vol
there, as the book's are: the simulator moves spot (and Heston's variance), not implied vol,
so vega shows up here as exposure to realised variance, not to a re-marked implied vol.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hedgecore.simulation import (
    MAX_MEMORY_BYTES,
    MAX_WORK,
    OptionSpec,
    PolicyResult,
    PriceModel,
    SimulationResult,
    SimulationSpec,
    WorkEstimate,
    estimate_work,
    hedge_vol_of,
    simulate,
)
from hedgecore.simulation.blocks import resolve_seed
from hedgecore.simulation.plan import _book_tables, _model_arrays, _option_values
from hedgecore.simulation.results import _summarise

# Deribit's option fee when the config gives none (REFERENCE section 8): per option, a
# fraction of the underlying capped at a fraction of the option's price, by settlement.
DEFAULT_FEES = {"inverse": (0.0003, 0.125), "linear": (0.0005, 0.125)}


@dataclass(frozen=True, slots=True)
class OverlayTrade:
    """One option of the static overlay, traded at t0.

    option: the line (quantity signed: buy > 0, sell < 0; 0 leaves the book unchanged).
    price: per option in its own currency (coin for coin-settled, USD for linear).
    name: a label (the instrument name when given).
    """

    option: OptionSpec
    price: float
    name: str = ""


@dataclass(frozen=True, slots=True)
class OverlayFees:
    """Fee per option: min(rate_of_underlying x spot, cap_of_price x price) in the option's
    currency; None takes DEFAULT_FEES for the option's settlement."""

    rate_of_underlying: float | None = None
    cap_of_price: float | None = None

    def rule(self, settlement: str) -> tuple[float, float]:
        rate, cap = DEFAULT_FEES[settlement]
        return (rate if self.rate_of_underlying is None else self.rate_of_underlying,
                cap if self.cap_of_price is None else self.cap_of_price)


@dataclass(frozen=True, slots=True)
class Variant:
    """One way to carry the book: with or without the overlay, under one policy of the spec."""

    name: str
    policy: str
    overlay: bool = False


@dataclass(frozen=True, slots=True)
class NamedModel:
    """A price model of a study; hedge_vol: the hedger's vol under it (None: the spec's
    hedge.vol), so that a Merton hedger can take a diffusion vol below the implied vol that
    its jumps add to."""

    name: str
    model: PriceModel
    hedge_vol: float | None = None


@dataclass(frozen=True, slots=True)
class VariantStudy:
    """What a config's `variants:` asks for: the models (each on its own paths), the overlay
    and its fee rule, the variants compared on each model's paths."""

    models: tuple[NamedModel, ...]
    overlay: tuple[OverlayTrade, ...]
    fees: OverlayFees
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class OverlayLineCost:
    """The t0 cost of one overlay trade, USD for the whole quantity (quantity signed)."""

    name: str
    quantity: float
    price_usd: float          # per option
    model_value_usd: float    # per option, as the simulator books it
    spread_usd: float         # (price - model value) x quantity
    fee_usd: float            # fee per option x |quantity|

    @property
    def cost_usd(self) -> float:
        return self.spread_usd + self.fee_usd

    def as_dict(self) -> dict[str, Any]:
        return {"instrument": self.name, "quantity": self.quantity, "price_usd": self.price_usd,
                "model_value_usd": self.model_value_usd, "spread_usd": self.spread_usd,
                "fee_usd": self.fee_usd, "cost_usd": self.cost_usd}


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One variant under one model: the policy's PnL distribution (overlay cost included)."""

    model: str
    variant: Variant
    book_value: float         # model value at t0 of the book and overlay lines simulated (USD)
    overlay_cost: float       # USD at t0 (0 without the overlay)
    result: PolicyResult

    def as_dict(self) -> dict[str, Any]:
        figures = self.result.as_dict()
        figures.pop("name")
        return {"model": self.model, "variant": self.variant.name, "policy": self.variant.policy,
                "overlay": self.variant.overlay, "book_value": self.book_value,
                "overlay_cost": self.overlay_cost, **figures}


@dataclass(frozen=True, slots=True)
class VariantsResult:
    paths: int
    steps: int
    seed: int | None
    overlay: dict[str, tuple[OverlayLineCost, ...]]   # model name -> line costs
    rows: tuple[VariantResult, ...]

    def row(self, model: str, variant: str) -> VariantResult:
        for row in self.rows:
            if row.model == model and row.variant.name == variant:
                return row
        raise KeyError((model, variant))

    def per_model(self) -> list[SimulationResult]:
        """One SimulationResult per model, its policies named after the variants (for plots)."""
        results = []
        for name in self.overlay:
            rows = [row for row in self.rows if row.model == name]
            results.append(SimulationResult(
                option_value=rows[0].book_value, paths=self.paths, steps=self.steps, seed=self.seed,
                threads=0, policies=tuple(replace(row.result, name=f"{name}: {row.variant.name}") for row in rows)))
        return results

    def as_dict(self) -> dict[str, Any]:
        return {
            "paths": self.paths,
            "steps": self.steps,
            "seed": self.seed,
            "overlay": {model: [line.as_dict() for line in lines] for model, lines in self.overlay.items()},
            "variants": [row.as_dict() for row in self.rows],
        }


def with_overlay(spec: SimulationSpec, overlay: tuple[OverlayTrade, ...]) -> SimulationSpec:
    """The spec whose book holds the overlay's options too (lines of quantity 0 left out)."""
    lines = tuple(trade.option for trade in overlay if trade.option.quantity != 0.0)
    return replace(spec, options=spec.options + lines)


def overlay_costs(spec: SimulationSpec, overlay: tuple[OverlayTrade, ...], fees: OverlayFees = OverlayFees(),
                  *, steps: int | None = None) -> tuple[OverlayLineCost, ...]:
    """The t0 cost of each overlay trade against the model value the simulator books for it
    (the same tables as the premium: Black-Scholes at the hedging vol, Merton's series under
    Merton), on the grid of `steps` (default the spec's)."""
    if not overlay:
        return ()
    n_steps = spec.steps if steps is None else steps
    full = with_overlay(spec, overlay)
    _kind, params, _returns, _bootstrap = _model_arrays(full, n_steps)
    spot0 = float(params[0])
    hedge_vol = hedge_vol_of(full)
    values_by_line = [0.0] * len(overlay)
    live = [k for k, trade in enumerate(overlay) if trade.option.quantity != 0.0]
    if live:
        tables = _book_tables(full, n_steps, spec.horizon_years / n_steps,
                              [np.full(len(full.options), hedge_vol)])
        values = _option_values(tables, spot0, hedge_vol)[len(spec.options):]
        for k, value in zip(live, values, strict=True):
            values_by_line[k] = float(value)
    lines = []
    for trade, value in zip(overlay, values_by_line, strict=True):
        option = trade.option
        to_usd = spot0 if option.settlement == "inverse" else 1.0
        price_usd = trade.price * to_usd
        rate, cap = fees.rule(option.settlement)
        fee_usd = min(rate * spot0, cap * price_usd)
        quantity = option.quantity
        lines.append(OverlayLineCost(
            name=trade.name or _describe(option), quantity=quantity, price_usd=price_usd, model_value_usd=value,
            spread_usd=(price_usd - value) * quantity, fee_usd=fee_usd * abs(quantity)))
    return tuple(lines)


def _describe(option: OptionSpec) -> str:
    return f"{option.type} {option.strike:g} {option.expiry_years:g}y {option.settlement}"


def study_runs(spec: SimulationSpec, study: VariantStudy) -> list[tuple[NamedModel, bool, tuple[str, ...]]]:
    """The simulator calls a study makes: per model, per book (without and with the overlay),
    the policies its variants use (one call each, all on the model's paths)."""
    runs = []
    for named in study.models:
        for overlaid in (False, True):
            names = tuple(dict.fromkeys(v.policy for v in study.variants if v.overlay == overlaid))
            if names:
                runs.append((named, overlaid, names))
    return runs


def study_run_specs(spec: SimulationSpec, study: VariantStudy) -> list[tuple[NamedModel, bool, SimulationSpec]]:
    """The spec of each simulator call of `study_runs`, in that order: the model and its
    hedging vol, the book (with the overlay's lines when overlaid) and the policies the
    call's variants use. A variant naming no policy of the spec is a ValueError."""
    by_name = {policy.name: policy for policy in spec.policies}
    for variant in study.variants:
        if variant.policy not in by_name:
            raise ValueError(f"variant {variant.name!r}: no policy named {variant.policy!r} "
                             f"(policies: {', '.join(by_name)})")
    run_specs = []
    for named, overlaid, names in study_runs(spec, study):
        hedge = spec.hedge if named.hedge_vol is None else replace(spec.hedge, vol=named.hedge_vol)
        base = replace(spec, model=named.model, hedge=hedge, policies=tuple(by_name[name] for name in names))
        run_specs.append((named, overlaid, with_overlay(base, study.overlay) if overlaid else base))
    return run_specs


def estimate_study(spec: SimulationSpec, study: VariantStudy, *, paths: int | None = None,
                   steps: int | None = None) -> WorkEstimate:
    """The work of every call together (memory: the largest call's)."""
    estimates = [estimate_work(spec, paths=paths, steps=steps, policies=len(names))
                 for _named, _overlaid, names in study_runs(spec, study)]
    first = estimates[0]
    return WorkEstimate(paths=first.paths, steps=first.steps, policies=sum(e.policies for e in estimates),
                        work=sum(e.work for e in estimates), memory_bytes=max(e.memory_bytes for e in estimates))


def _run_progress(progress: Callable[[int, int], None] | None, index: int, n_runs: int
                  ) -> Callable[[int, int], None] | None:
    """The progress of call `index` of n_runs as a share of the whole study's paths."""
    if progress is None:
        return None
    report = progress

    def update(done: int, total: int) -> None:
        report(index * total + done, n_runs * total)
    return update


def simulate_variants(
    spec: SimulationSpec,
    study: VariantStudy,
    *,
    paths: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_work: float | None = MAX_WORK,
    max_memory_bytes: float | None = MAX_MEMORY_BYTES,
    simulator: Callable[..., SimulationResult] = simulate,
) -> VariantsResult:
    """Every variant of `study` under each of its models, on common paths per model.

    Each model runs the book alone and the book with the overlay as two calls of `simulate`
    with the same seed (a fresh seed is drawn once when neither the spec nor `seed` gives
    one), each with the policies its variants name. The overlay variants' PnL includes the
    overlay's t0 cost grown to the horizon at the rate. progress(done, total) counts the
    paths of every call together. simulator: what runs each call, with simulate's arguments
    and result (hedgecore.cluster's ClusterSimulator runs them on a Dask cluster).
    """
    run_specs = study_run_specs(spec, study)
    estimate_study(spec, study, paths=paths, steps=steps).check(max_work, max_memory_bytes)
    seed_value = resolve_seed(spec.seed if seed is None else seed)
    n_steps = spec.steps if steps is None else steps
    growth = math.exp(spec.rate * spec.horizon_years)
    costs: dict[str, tuple[OverlayLineCost, ...]] = {}
    found: dict[tuple[str, bool, str], tuple[float, PolicyResult]] = {}
    n_paths = 0
    for index, (named, overlaid, run_spec) in enumerate(run_specs):
        if named.name not in costs:
            # the overlay's lines are the last of an overlaid run's book: the costs are
            # valued against the book alone, whichever call of the model comes first
            base = replace(run_spec, options=run_spec.options[:len(spec.options)])
            costs[named.name] = overlay_costs(base, study.overlay, study.fees, steps=n_steps)
        overlay_cost = sum(line.cost_usd for line in costs[named.name]) if overlaid else 0.0
        result = simulator(run_spec, paths=paths, steps=steps, seed=seed_value, threads=threads,
                           progress=_run_progress(progress, index, len(run_specs)), max_work=None,
                           max_memory_bytes=None)
        n_paths = result.paths
        for policy, summary in zip(run_spec.policies, result.policies, strict=True):
            # the overlay's t0 cost, financed to the horizon, moves every path's PnL alike
            shifted = _summarise(policy, summary.pnl - overlay_cost * growth, summary.cost, summary.funding,
                                 summary.trades)
            found[(named.name, overlaid, policy.name)] = (result.option_value, shifted)
    rows = []
    for named in study.models:
        line_costs = costs[named.name]
        for variant in study.variants:
            book_value, summary = found[(named.name, variant.overlay, variant.policy)]
            cost = sum(line.cost_usd for line in line_costs) if variant.overlay else 0.0
            rows.append(VariantResult(model=named.name, variant=variant, book_value=book_value,
                                      overlay_cost=cost, result=replace(summary, name=variant.name)))
    return VariantsResult(paths=n_paths, steps=n_steps, seed=seed_value, overlay=costs, rows=tuple(rows))


__all__ = [
    "DEFAULT_FEES",
    "NamedModel",
    "OverlayFees",
    "OverlayLineCost",
    "OverlayTrade",
    "Variant",
    "VariantResult",
    "VariantStudy",
    "VariantsResult",
    "estimate_study",
    "overlay_costs",
    "simulate_variants",
    "study_run_specs",
    "with_overlay",
]
