"""A book of positions: what the desk holds, built from a plain dict.

Schema (see the README "Portfolio file"): a mapping with `positions`, a list of mappings
each with an instrument (an exchange name or explicit fields, see hedgecore.instruments),
a signed `quantity` (negative = short; contracts for options, futures and perpetuals, coin
for spot) and optional `id`, `book` and `account` tags. Exposures net across books and
accounts at the portfolio level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hedgecore.errors import ConfigError, Fields, join_path
from hedgecore.instruments import INSTRUMENT_KEYS, Instrument, instrument_from_fields

DOCUMENT = "portfolio"
POSITION_KEYS = ("id", "quantity", "book", "account", *INSTRUMENT_KEYS)
PORTFOLIO_KEYS = ("name", "positions", "description")


@dataclass(frozen=True, slots=True)
class Position:
    """A signed holding of one instrument.

    quantity : contracts (options, futures, perpetuals) or coin (spot); negative = short.
    index : the position's index in the file's `positions` list (for error paths).
    """

    id: str
    instrument: Instrument
    quantity: float
    book: str
    account: str
    index: int

    @property
    def path(self) -> str:
        return f"positions[{self.index}]"


@dataclass(frozen=True, slots=True)
class Portfolio:
    name: str
    positions: tuple[Position, ...]

    @property
    def underlyings(self) -> list[str]:
        """Underlyings in order of first appearance."""
        return list(dict.fromkeys(p.instrument.underlying for p in self.positions))

    @property
    def books(self) -> list[str]:
        return list(dict.fromkeys(p.book for p in self.positions))


def parse_portfolio(data: Any) -> Portfolio:
    """Build a Portfolio from a decoded document; raise ConfigError naming the field."""
    if isinstance(data, list):
        data = {"positions": data}
    top = Fields(data, "", DOCUMENT, allowed=PORTFOLIO_KEYS)
    items = top.sequence("positions", required=True)
    positions: list[Position] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = join_path("positions", index)
        fields = Fields(item, path, DOCUMENT, allowed=POSITION_KEYS)
        instrument = instrument_from_fields(fields)
        quantity = fields.number("quantity")
        book = fields.text("book", "default")
        account = fields.text("account", "default")
        default_id = instrument.name if book == "default" else f"{book}:{instrument.name}"
        position_id = fields.text("id", default_id)
        if position_id in first_seen:
            where = join_path(path, "id") if fields.has("id") else path
            raise ConfigError(where, f"duplicate id '{position_id}' (first used by "
                              f"positions[{first_seen[position_id]}]); give each position a unique id",
                              document=DOCUMENT)
        first_seen[position_id] = index
        positions.append(Position(position_id, instrument, quantity, book, account, index))
    if not positions:
        raise ConfigError("positions", "must list at least one position", document=DOCUMENT)
    return Portfolio(str(top.raw("name", "portfolio")), tuple(positions))

