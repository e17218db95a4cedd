"""The length of a year, defined once: hedgecore counts time ACT/365, because crypto trades
every calendar day (REFERENCE.md). Times to expiry are in years of DAYS_PER_YEAR days; the
compiled core keeps its own C constant with the same value.
"""

from __future__ import annotations

DAYS_PER_YEAR = 365.0
SECONDS_PER_DAY = 86400.0
HOURS_PER_YEAR = DAYS_PER_YEAR * 24.0
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY

__all__ = ["DAYS_PER_YEAR", "HOURS_PER_YEAR", "SECONDS_PER_DAY", "SECONDS_PER_YEAR"]
