"""Instruments a crypto desk holds: options, dated futures, perpetuals and spot.

An instrument is described either by its exchange name (Deribit style, which Bybit and OKX
follow closely) or by explicit fields; both end as the same frozen `Instrument`.

Exchange names understood (case-insensitive):
- ``BTC-27DEC26-100000-C``        coin-settled (inverse) option, 1 contract = 1 BTC
- ``ETH_USDC-27DEC26-3000-P``     USDC-settled (linear) option; also ``ETH-27DEC26-3000-P-USDC``
- ``BTC-PERPETUAL``               inverse perpetual, contract size in USD (BTC 10, ETH 1)
- ``ETH_USDC-PERPETUAL``, ``ETHUSDT``  linear perpetual, contract size in coin (default 1)
- ``BTC-27DEC26``, ``BTC_USDC-27DEC26``  inverse / linear dated future
Strikes may use Deribit's ``d`` for a decimal point (``XRP_USDC-27DEC26-0d625-C``) and
must be finite, > 0 and at most MAX_STRIKE. Names are at most MAX_NAME_CHARS characters
without control characters. Expiries are at 08:00 UTC, the settlement time of the crypto
options venues.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from hedgecore.errors import show_text
from hedgecore.reading import Fields, check_text

KINDS = ("option", "future", "perpetual", "spot")
SETTLEMENTS = ("linear", "inverse")

# USD per contract of the inverse contracts of the venues that list them (Deribit).
INVERSE_CONTRACT_SIZE_USD = {"BTC": 10.0, "ETH": 1.0}

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
_EXPIRY_RE = re.compile(r"^(\d{1,2})([A-Z]{3})(\d{2})$")
_UNDERLYING_RE = re.compile(r"^[A-Z0-9]{2,12}$")
_QUOTES = ("USDC", "USDT", "USD")

MAX_STRIKE = 1e12          # USD; a larger strike is a typo (BTC has never traded above 1e6)
MAX_NAME_CHARS = 100       # exchange names are under 40 characters


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument.

    kind : "option", "future" (dated), "perpetual" or "spot".
    underlying : the coin, e.g. "BTC".
    settlement : "inverse" (coin-settled; futures sized in USD) or "linear" (USD, USDC or
        USDT settled; sized in coin).
    strike : option strike in USD, else None.
    expiry : aware UTC expiry for options and dated futures, else None.
    is_call : True for calls (False for puts and non-options).
    contract_size : USD per contract for inverse futures and perpetuals, units of the
        underlying per contract otherwise (1 for Deribit options).
    """

    name: str
    kind: str
    underlying: str
    settlement: str
    strike: float | None = None
    expiry: datetime | None = None
    is_call: bool = False
    contract_size: float = 1.0

    @property
    def is_inverse(self) -> bool:
        return self.settlement == "inverse"


def parse_expiry_code(code: str) -> datetime | None:
    """``27DEC26`` -> 2026-12-27 08:00 UTC, None when the text is not an expiry code."""
    match = _EXPIRY_RE.match(code.upper())
    if not match or match.group(2) not in _MONTHS:
        return None
    day, month, year = int(match.group(1)), _MONTHS[match.group(2)], 2000 + int(match.group(3))
    try:
        return datetime(year, month, day, 8, 0, tzinfo=timezone.utc)
    except ValueError:
        return None


def expiry_code(moment: datetime) -> str:
    """2026-12-27 -> ``27DEC26`` (the inverse of parse_expiry_code)."""
    month = next(name for name, number in _MONTHS.items() if number == moment.month)
    return f"{moment.day}{month}{moment.year % 100:02d}"


def _parse_strike(text: str) -> float | None:
    """The strike a name gives, or None when it is not a number in (0, MAX_STRIKE]."""
    value = _strike_number(text)
    if value is None or not 0.0 < value <= MAX_STRIKE:
        return None
    return value


def _strike_number(text: str) -> float | None:
    if len(text) > 40:
        return None
    try:
        value = float(text.replace("d", ".").replace("D", "."))
    except ValueError:
        return None
    return value


def _bad_strike_in_name(name: str) -> str | None:
    """Why the strike written in an option name is refused (nan, inf, 0, negative, absurd),
    or None when the name is not an option name with such a strike."""
    parts = name.strip().upper().split("-")
    if len(parts) == 5 and parts[-1] in ("USDC", "USDT"):
        parts = parts[:-1]
    if len(parts) != 4 or parts[3] not in ("C", "P") or parse_expiry_code(parts[1]) is None:
        return None
    value = _strike_number(parts[2])
    if value is None or 0.0 < value <= MAX_STRIKE:
        return None
    written = show_text(name.strip().split("-")[2])
    if not math.isfinite(value):
        return f"the strike in the name must be a finite number, got {written}"
    if value <= 0.0:
        return f"the strike in the name must be > 0, got {written}"
    return f"the strike in the name must be at most {MAX_STRIKE:,.0f}, got {written}"


@functools.lru_cache(maxsize=65536)
def parse_instrument_name(name: str, *, contract_size: float | None = None) -> Instrument | None:
    """The instrument an exchange name denotes, or None when the name is not understood.

    Cached: a book names the same few hundred instruments many times, and the result is
    immutable.
    """
    text = name.strip().upper()
    parts = text.split("-")
    suffix_linear = False
    if len(parts) >= 2 and parts[-1] in ("USDC", "USDT") and len(parts) in (3, 5):
        parts = parts[:-1]
        suffix_linear = True
    head = parts[0]
    if "_" in head:
        underlying, quote = head.split("_", 1)
        if quote not in _QUOTES:
            return None
        linear = True
    else:
        underlying, linear = head, suffix_linear
    if len(parts) == 1:
        for quote in ("USDT", "USDC"):
            if text.endswith(quote) and len(text) > len(quote) + 1:
                coin = text[: -len(quote)]
                if _UNDERLYING_RE.match(coin):
                    return Instrument(name, "perpetual", coin, "linear",
                                      contract_size=contract_size or 1.0)
        return None
    if not _UNDERLYING_RE.match(underlying):
        return None
    settlement = "linear" if linear else "inverse"
    if linear:
        size = contract_size or 1.0
    else:
        size = contract_size or INVERSE_CONTRACT_SIZE_USD.get(underlying, 0.0)
    if len(parts) == 2 and parts[1] in ("PERPETUAL", "PERP"):
        return Instrument(name, "perpetual", underlying, settlement, contract_size=size) if size else None
    expiry = parse_expiry_code(parts[1])
    if expiry is None:
        return None
    if len(parts) == 2:
        return Instrument(name, "future", underlying, settlement, expiry=expiry,
                          contract_size=size) if size else None
    if len(parts) == 4 and parts[3] in ("C", "P"):
        strike = _parse_strike(parts[2])
        if strike is None:
            return None
        return Instrument(name, "option", underlying, settlement, strike=strike, expiry=expiry,
                          is_call=parts[3] == "C", contract_size=contract_size or 1.0)
    return None


_EXPLICIT_KEYS = frozenset(("type", "underlying", "strike", "expiry", "option_type", "settlement"))
INSTRUMENT_KEYS = ("instrument", "type", "underlying", "strike", "expiry", "option_type",
                   "settlement", "contract_size")


def instrument_from_fields(fields: Fields) -> Instrument:
    """The instrument of a position mapping: from `instrument` (a name) or explicit fields."""
    size = fields.positive("contract_size") if fields.has("contract_size") else None
    if fields.has("instrument"):
        name = fields.text("instrument")
        check_text(name, fields.sub("instrument"), fields.document, limit=MAX_NAME_CHARS)
        parsed = parse_instrument_name(name, contract_size=size)
        if parsed is None and size is None and parse_instrument_name(name, contract_size=1.0) is not None:
            fields.fail_at(fields.path, f"missing required key 'contract_size' (USD per contract of {name}; "
                           "hedgecore knows it only for BTC and ETH)")
        if parsed is None:
            strike_problem = _bad_strike_in_name(name)
            if strike_problem is not None:
                fields.fail("instrument", f"{strike_problem} ({show_text(name)})")
            fields.fail("instrument", f"not an instrument name hedgecore understands: {show_text(name)} "
                        "(e.g. BTC-27DEC26-100000-C, ETH_USDC-PERPETUAL, BTC-27DEC26); "
                        "or give type/underlying/strike/expiry/option_type/settlement")
        for key in _EXPLICIT_KEYS.intersection(fields.data):
            fields.fail(key, "give either 'instrument' or explicit fields, not both")
        return parsed
    kind = fields.choice("type", KINDS)
    underlying = fields.text("underlying").strip().upper()
    if not _UNDERLYING_RE.match(underlying):
        fields.fail("underlying", f"must be a coin ticker such as BTC, got {show_text(underlying)}")
    if kind == "spot":
        return Instrument(f"{underlying} spot", "spot", underlying, "linear")
    settlement = fields.choice("settlement", SETTLEMENTS, "inverse" if kind != "option" else "linear")
    if size is None:
        if settlement == "inverse" and kind != "option":
            size = INVERSE_CONTRACT_SIZE_USD.get(underlying)
            if size is None:
                fields.fail_at(fields.path, f"missing required key 'contract_size' (USD per contract of "
                               f"an inverse {kind} on {underlying})")
        else:
            size = 1.0
    if kind == "perpetual":
        suffix = "" if settlement == "inverse" else "_USDC"
        return Instrument(f"{underlying}{suffix}-PERPETUAL", "perpetual", underlying, settlement,
                          contract_size=size)
    expiry = fields.timestamp("expiry")
    head = underlying if settlement == "inverse" else f"{underlying}_USDC"
    if kind == "future":
        return Instrument(f"{head}-{expiry_code(expiry)}", "future", underlying, settlement,
                          expiry=expiry, contract_size=size)
    strike = fields.positive("strike")
    if strike > MAX_STRIKE:
        fields.fail("strike", f"must be at most {MAX_STRIKE:,.0f}, got {strike:g}")
    is_call = fields.choice("option_type", ("call", "put", "c", "p")) in ("call", "c")
    name = f"{head}-{expiry_code(expiry)}-{strike:g}-{'C' if is_call else 'P'}"
    return Instrument(name, "option", underlying, settlement, strike=strike, expiry=expiry,
                      is_call=is_call, contract_size=size)

