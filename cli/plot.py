"""PNG charts for `hedgecore simulate --plot` and `hedgecore optimize --plot`.

matplotlib is optional (the extra ``hedgecore[plot]``) and imported only when a plot is
asked for, with the non-interactive Agg backend so that it works on servers and in cron.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # matplotlib and numpy load only when a plot is drawn
    import numpy as np
    from matplotlib.axes import Axes
    from numpy.typing import NDArray

    from hedgecore.optimize import Candidate, OptimizeResult
    from hedgecore.simulation import PolicyResult, SimulationResult

PLOT_EXTRA_HINT = "--plot needs matplotlib: install it with python -m pip install 'hedgecore[plot]'"


class PlotUnavailable(Exception):
    """matplotlib is not installed."""


class _PnLSample(Protocol):
    """What a histogram is drawn from: a PolicyResult, or one under another name."""

    @property
    def name(self) -> str: ...
    @property
    def pnl(self) -> NDArray[np.float64]: ...
    @property
    def mean_pnl(self) -> float: ...
    @property
    def std_pnl(self) -> float: ...


def require_matplotlib() -> ModuleType:
    """The pyplot module on the Agg backend; PlotUnavailable naming the extra if missing."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(PLOT_EXTRA_HINT) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _histograms(axis: Axes, policies: Sequence[_PnLSample], currency: str) -> None:
    import numpy as np

    arrays = [np.asarray(result.pnl) for result in policies]
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.empty(0)
    if finite.size == 0:
        axis.text(0.5, 0.5, "no finite PnL", ha="center", va="center", transform=axis.transAxes)
        return
    low, high = np.quantile(finite, [0.001, 0.999])
    if not high > low:
        low, high = low - 1.0, high + 1.0
    bins = np.linspace(low, high, 81)
    for result, pnl in zip(policies, arrays, strict=True):
        axis.hist(
            np.clip(pnl, low, high),
            bins=bins,  # type: ignore[arg-type]  # an array of edges; matplotlib's stubs say Sequence[float]
            histtype="step",
            linewidth=1.4,
            label=f"{result.name}: mean {result.mean_pnl:,.0f}, std {result.std_pnl:,.0f}",
        )
    axis.axvline(0.0, color="grey", linewidth=0.8)
    axis.set_xlabel(f"hedged PnL of the book ({currency}; tails clipped at 0.1%/99.9%)")
    axis.set_ylabel("paths")
    axis.legend(fontsize="small")


def plot_simulation(result: SimulationResult, path: Path, *, title: str = "", currency: str = "USD") -> None:
    """Histograms of the hedged PnL, one per policy, on shared bins."""
    plt = require_matplotlib()
    figure, axis = plt.subplots(figsize=(9, 5.5), layout="constrained")
    _histograms(axis, result.policies, currency)
    axis.set_title(title or f"Hedged PnL: {result.paths:,} paths x {result.steps} steps, seed {result.seed}")
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_optimization(result: OptimizeResult, path: Path, *, title: str = "", currency: str = "USD") -> None:
    """The cost/risk frontier of the candidates (chosen one marked) and the PnL histograms
    of the chosen candidate beside the cheapest and the least risky."""
    plt = require_matplotlib()
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
    candidates = result.candidates
    risk = [c.risk for c in candidates]
    cost = [c.mean_cost for c in candidates]
    left.scatter(risk, cost, s=18, color="lightgrey", label="candidates")
    frontier = result.frontier
    left.plot(
        [c.risk for c in frontier],
        [c.mean_cost for c in frontier],
        "o-",
        color="tab:blue",
        markersize=4,
        label="efficient frontier",
    )
    chosen = result.chosen
    left.scatter(
        [chosen.risk],
        [chosen.mean_cost],
        s=90,
        marker="*",
        color="tab:red",
        zorder=3,
        label="chosen: " + ", ".join(f"{k}={v:.4g}" for k, v in chosen.parameters.items()),
    )
    if result.objective.kind == "min_cost" and result.objective.max_std is not None:
        left.axvline(result.objective.max_std, color="tab:red", linestyle="--", linewidth=0.8, label="max_std")
    left.set_xlabel(f"{result.objective.risk_name} ({currency})")
    left.set_ylabel(f"mean hedging cost per path ({currency})")
    left.set_title(result.objective.describe())
    left.legend(fontsize="small")

    # PnL histograms of three telling candidates, from the simulation batches.
    cheapest = min(candidates, key=lambda c: c.mean_cost)
    safest = min(candidates, key=lambda c: c.risk)
    shown: list[tuple[str, Candidate, PolicyResult]] = []
    for label, candidate in (("chosen", chosen), ("cheapest", cheapest), ("least risk", safest)):
        if any(candidate is other for _, other, _ in shown):
            continue
        outcome = _outcome_of(result, candidate)
        if outcome is not None:
            shown.append((label, candidate, outcome))
    _histograms(right, [_Renamed(f"{label} ({_params(c)})", o) for label, c, o in shown], currency)
    right.set_title(f"Hedged PnL: {result.paths:,} paths x {result.steps} steps, seed {result.seed}")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _params(candidate: Candidate) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in candidate.parameters.items())


def _outcome_of(result: OptimizeResult, candidate: Candidate) -> PolicyResult | None:
    """The PolicyResult of a candidate: candidates are numbered in grid order across the
    simulation batches."""
    index = next(i for i, c in enumerate(result.candidates) if c is candidate)
    for batch in result.results:
        if index < len(batch.policies):
            return batch.policies[index]
        index -= len(batch.policies)
    return None


class _Renamed:
    """A PolicyResult seen under another name (for the legend)."""

    def __init__(self, name: str, outcome: PolicyResult) -> None:
        self.name = name
        self.pnl = outcome.pnl
        self.mean_pnl = outcome.mean_pnl
        self.std_pnl = outcome.std_pnl
