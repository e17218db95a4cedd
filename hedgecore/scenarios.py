"""Full-revaluation scenario PnL on a spot x vol grid, as venue portfolio margin does it.

Default grid (REFERENCE section 4, Deribit portfolio margin style; check the venue's live
parameters before relying on them): spot moves of +/-16% for BTC and +/-18% for ETH (16%
for other coins) in 9 even steps including 0, each with vol down, unchanged and up. The vol
shock of an option depends on its days to expiry: vol x (1 + up (30/DTE)^p) and
vol x (1 - down (30/DTE)^p), p = 0.3 below 30 days and 0.13 from 30 days, DTE floored at
one day and the shocked-down vol floored at 1% of the vol.

Full revaluation: every option is repriced in every scenario with ONE vectorized Greeks
call per pricing model over (options x scenarios); futures, perpetuals and spot move
linearly in USD (an inverse contract of N USD gains N/F x S x move).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hedgecore.errors import NumericalError
from hedgecore.units import DAYS_PER_YEAR
from hedgecore.valuation import (
    INVERSE_FUTURE,
    INVERSE_OPTION,
    LINEAR_FUTURE,
    LINEAR_OPTION,
    SPOT,
    BookInputs,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

DEFAULT_SPOT_RANGE = {"BTC": 0.16, "ETH": 0.18}
FALLBACK_SPOT_RANGE = 0.16
VOL_SCENARIOS = ("down", "unchanged", "up")


@dataclass(frozen=True)
class ScenarioGrid:
    """PnL in USD per underlying: pnl_usd[vol scenario][spot step]."""

    underlying: str
    spot: float
    spot_shocks: list[float]
    vol_scenarios: tuple[str, ...]
    pnl_usd: list[list[float]]

    @property
    def worst(self) -> tuple[int, int, float]:
        """(vol index, spot index, PnL) of the worst cell."""
        cells = [(pnl, v, s) for v, row in enumerate(self.pnl_usd) for s, pnl in enumerate(row)]
        pnl, v, s = min(cells)
        return v, s, pnl


def vol_multipliers(tau_years: NDArray[np.float64], vol_up: float, vol_down: float
                    ) -> NDArray[np.float64]:
    """Factors (3, n) for vol down, unchanged, up, per option by its days to expiry."""
    import numpy as np

    dte = np.maximum(tau_years * DAYS_PER_YEAR, 1.0)
    power = np.where(dte < 30.0, 0.3, 0.13)
    scale = (30.0 / dte) ** power
    return np.stack([np.maximum(1.0 - vol_down * scale, 0.01), np.ones_like(dte), 1.0 + vol_up * scale])


def scenario_grids(inputs: BookInputs, *, spot_range: float | None = None, steps: int = 9,
                   vol_up: float = 0.5, vol_down: float = 0.25,
                   threads: int | None = None) -> list[ScenarioGrid]:
    """Scenario PnL grids per underlying (see the module docstring for the defaults).

    spot_range : the largest move as a fraction (0.16 = +/-16%), None for the venue default
        per underlying; steps : spot steps (odd includes 0; >= 2). Floating-point overflow
    is not warned about: a non-finite PnL raises NumericalError naming the underlying.
    """
    import numpy as np

    with np.errstate(all="ignore"):
        return _scenario_grids(inputs, spot_range, steps, vol_up, vol_down, threads)


def _scenario_grids(inputs: BookInputs, spot_range: float | None, steps: int, vol_up: float,
                    vol_down: float, threads: int | None) -> list[ScenarioGrid]:
    import numpy as np

    from hedgecore.pricing import greeks

    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    if spot_range is not None and not 0.0 < spot_range < 1.0:
        raise ValueError(f"spot_range must be in (0, 1), got {spot_range}")
    if vol_up < 0.0 or not 0.0 <= vol_down < 1.0:
        raise ValueError(f"vol_up must be >= 0 and vol_down in [0, 1), got {vol_up}, {vol_down}")
    names = inputs.underlyings
    ranges = np.array([spot_range if spot_range is not None
                       else DEFAULT_SPOT_RANGE.get(name, FALLBACK_SPOT_RANGE) for name in names])
    unit = np.linspace(-1.0, 1.0, steps)
    shocks = ranges[:, None] * unit[None, :]                  # (underlyings, steps)
    n_vol, n_spot = len(VOL_SCENARIOS), steps
    pnl = np.zeros((len(names), n_vol, n_spot))
    idx, kind = inputs.underlying_index, inputs.kind

    for model, code in (("black76", LINEAR_OPTION), ("inverse", INVERSE_OPTION)):
        rows = np.flatnonzero(kind == code)
        if rows.size == 0:
            continue
        move = shocks[idx[rows]]                             # (n, steps)
        factors = vol_multipliers(inputs.tau[rows], vol_up, vol_down)  # (3, n)
        # (n, 3, steps) scenarios plus the base case in the last slot of the spot axis.
        grow = np.concatenate([1.0 + move, np.ones((rows.size, 1))], axis=1)[:, None, :]
        vol = np.concatenate([np.repeat(factors.T[:, :, None], n_spot, axis=2),
                              np.ones((rows.size, n_vol, 1))], axis=2) * inputs.vol[rows, None, None]
        fwd = inputs.forward[rows, None, None] * grow
        shape = (rows.size, n_vol, n_spot + 1)
        rate = inputs.rate[rows, None, None] if model == "black76" else 0.0
        g = greeks(np.broadcast_to(fwd, shape), inputs.strike[rows, None, None], inputs.tau[rows, None, None],
                   vol, is_call=inputs.is_call[rows, None, None], rate=rate, model=model, threads=threads)
        price = g.price
        if model == "inverse":
            price = price * (inputs.spot[rows, None, None] * grow)   # coin price at the shocked index
        values = inputs.units[rows, None, None] * price
        option_pnl = values[:, :, :n_spot] - values[:, :, n_spot:]
        np.add.at(pnl, idx[rows], option_pnl)

    linear = np.flatnonzero((kind == LINEAR_FUTURE) | (kind == SPOT))
    inverse = np.flatnonzero(kind == INVERSE_FUTURE)
    exposure_usd = np.zeros(len(names))
    np.add.at(exposure_usd, idx[linear], inputs.units[linear] * inputs.forward[linear])
    np.add.at(exposure_usd, idx[inverse],
              inputs.units[inverse] / inputs.forward[inverse] * inputs.spot[inverse])
    pnl += exposure_usd[:, None, None] * shocks[:, None, :]
    if not np.isfinite(pnl).all():
        bad = names[int(np.flatnonzero(~np.isfinite(pnl).all(axis=(1, 2)))[0])]
        raise NumericalError(f"{bad}: a scenario PnL is not finite; check the book's inputs")
    return [ScenarioGrid(name, float(inputs.spot[idx == k][0]), [float(x) for x in shocks[k]],
                         VOL_SCENARIOS, pnl[k].tolist()) for k, name in enumerate(names)]
