"""hedgecore: Greeks, hedge bands and Monte Carlo hedging for crypto options books.

Public API (raw units, numpy arrays, broadcasting like ufuncs):
- greeks(underlying, strike, tau, vol, *, is_call, rate, carry, model) -> Greeks
- implied_vol(price, underlying, strike, tau, *, is_call, rate, carry, model) -> vols
- solve_implied_vol(same arguments) -> ImpliedVolResult(vol, status): IVStatus codes say why a vol is NaN
- show_config() -> what the compiled core was built with (OpenMP, threads)
- whalley_wilmott_half_width, zakamouline_band, leland_vol, nested_band -> hedge bands
- simulate(SimulationSpec, *, paths, steps, seed, threads) -> SimulationResult (Monte Carlo
  hedging of a book under several policies on common paths)

The names load on first use (PEP 562), so that `import hedgecore` - and through it the
`hedgecore` command's `--help` - does not import numpy or the compiled core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hedgecore._version import __version__

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "show_config": "hedgecore._config",
    "NestedBand": "hedgecore.bands",
    "ZakamoulineBand": "hedgecore.bands",
    "leland_vol": "hedgecore.bands",
    "nested_band": "hedgecore.bands",
    "whalley_wilmott_half_width": "hedgecore.bands",
    "zakamouline_band": "hedgecore.bands",
    "ImpliedVolResult": "hedgecore.implied",
    "IVStatus": "hedgecore.implied",
    "implied_vol": "hedgecore.implied",
    "solve_implied_vol": "hedgecore.implied",
    "CostSpec": "hedgecore.simulation",
    "GBMModel": "hedgecore.simulation",
    "HedgeSpec": "hedgecore.simulation",
    "HestonModel": "hedgecore.simulation",
    "HistoricalModel": "hedgecore.simulation",
    "MertonModel": "hedgecore.simulation",
    "OptionSpec": "hedgecore.simulation",
    "PolicyResult": "hedgecore.simulation",
    "PolicySpec": "hedgecore.simulation",
    "SimulationResult": "hedgecore.simulation",
    "SimulationSpec": "hedgecore.simulation",
    "simulate": "hedgecore.simulation",
    "GREEK_NAMES": "hedgecore.pricing",
    "Greeks": "hedgecore.pricing",
    "greeks": "hedgecore.pricing",
}

__all__ = [
    "GREEK_NAMES",
    "CostSpec",
    "GBMModel",
    "Greeks",
    "HedgeSpec",
    "HestonModel",
    "HistoricalModel",
    "IVStatus",
    "ImpliedVolResult",
    "MertonModel",
    "NestedBand",
    "OptionSpec",
    "PolicyResult",
    "PolicySpec",
    "SimulationResult",
    "SimulationSpec",
    "ZakamoulineBand",
    "__version__",
    "greeks",
    "implied_vol",
    "leland_vol",
    "nested_band",
    "show_config",
    "simulate",
    "solve_implied_vol",
    "whalley_wilmott_half_width",
    "zakamouline_band",
]

if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from hedgecore._config import show_config
    from hedgecore.bands import (
        NestedBand,
        ZakamoulineBand,
        leland_vol,
        nested_band,
        whalley_wilmott_half_width,
        zakamouline_band,
    )
    from hedgecore.implied import ImpliedVolResult, IVStatus, implied_vol, solve_implied_vol
    from hedgecore.pricing import GREEK_NAMES, Greeks, greeks
    from hedgecore.simulation import (
        CostSpec,
        GBMModel,
        HedgeSpec,
        HestonModel,
        HistoricalModel,
        MertonModel,
        OptionSpec,
        PolicyResult,
        PolicySpec,
        SimulationResult,
        SimulationSpec,
        simulate,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hedgecore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
