"""hedgecore: Greeks, hedge bands and Monte Carlo hedging for crypto options books.

Public API (raw units, numpy arrays, broadcasting like ufuncs):
- greeks(underlying, strike, tau, vol, *, is_call, rate, carry, model) -> Greeks
- implied_vol(price, underlying, strike, tau, *, is_call, rate, carry, model) -> vols
- show_config() -> what the compiled core was built with (OpenMP, threads)
- whalley_wilmott_half_width, zakamouline_band, leland_vol, nested_band -> hedge bands
"""

from hedgecore._config import show_config
from hedgecore._version import __version__
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

__all__ = [
    "GREEK_NAMES",
    "Greeks",
    "IVStatus",
    "ImpliedVolResult",
    "NestedBand",
    "ZakamoulineBand",
    "__version__",
    "greeks",
    "implied_vol",
    "leland_vol",
    "nested_band",
    "show_config",
    "solve_implied_vol",
    "whalley_wilmott_half_width",
    "zakamouline_band",
]
