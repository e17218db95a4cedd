"""Live inputs from the venues where crypto options trade: market data and positions.

Each venue is one module (deribit.py, bybit.py) with `fetch_market(underlyings,
timeout_seconds)` and, where it has private endpoints, `fetch_positions(timeout_seconds)`,
both returning a `Snapshot`: a plain document in the schema of hedgecore.market or
hedgecore.portfolio, plus the instruments left out and why. `PROVIDES` names what a module
serves ("market", "positions"). A third venue is one new module and a line in VENUES.
Nothing here is imported by `import hedgecore`: the command line imports it only when a
command asks for a venue.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hedgecore.errors import ConfigError
from hedgecore.venues.base import HttpClient, Snapshot, VenueError

# venue name -> module; the module's fetch_market/fetch_positions do the work.
VENUES = {
    "deribit": "hedgecore.venues.deribit",
    "bybit": "hedgecore.venues.bybit",
}

__all__ = ["VENUES", "HttpClient", "Snapshot", "VenueError", "venue_module"]


def venue_module(name: str) -> ModuleType:
    """The module of a venue by its name (case-insensitive); ConfigError (exit 2) if unknown."""
    key = name.strip().lower()
    if key not in VENUES:
        raise ConfigError("--venue", f"unknown venue '{name}' (known: {', '.join(VENUES)})", document="cli")
    return importlib.import_module(VENUES[key])
