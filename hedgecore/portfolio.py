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

from hedgecore.errors import ConfigError
from hedgecore.instruments import INSTRUMENT_KEYS, Instrument, instrument_from_fields
from hedgecore.reading import Fields, join_path

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


def default_position_id(instrument: Instrument, book: str, account: str, *, qualify: bool) -> str:
    """A position's id when none is written: the instrument name, prefixed with the book
    ("vol:BTC-...") when not "default"; and with the account ("deribit:vol:BTC-...") when
    `qualify` (the same instrument and book are held in another account too)."""
    position_id = instrument.name if book == "default" else f"{book}:{instrument.name}"
    return f"{account}:{position_id}" if qualify and account != "default" else position_id


def parse_portfolio(data: Any) -> Portfolio:
    """Build a Portfolio from a decoded document; raise ConfigError naming the field.

    Ids not written are derived from the instrument and book (default_position_id), with
    the account added only where two accounts hold the same instrument in the same book, so
    the ids of existing files stay as they were.
    """
    if isinstance(data, list):
        data = {"positions": data}
    top = Fields(data, "", DOCUMENT, allowed=PORTFOLIO_KEYS)
    items = top.sequence("positions", required=True)
    parsed: list[tuple[Fields, Instrument, float, str, str]] = []
    for index, item in enumerate(items):
        fields = Fields(item, join_path("positions", index), DOCUMENT, allowed=POSITION_KEYS)
        instrument = instrument_from_fields(fields)
        quantity = fields.number("quantity")
        book = fields.text("book", "default")
        account = fields.text("account", "default")
        parsed.append((fields, instrument, quantity, book, account))
    accounts_of: dict[str, set[str]] = {}
    for fields, instrument, _, book, account in parsed:
        if not fields.has("id"):
            plain = default_position_id(instrument, book, account, qualify=False)
            accounts_of.setdefault(plain, set()).add(account)
    positions: list[Position] = []
    first_seen: dict[str, int] = {}
    for index, (fields, instrument, quantity, book, account) in enumerate(parsed):
        plain = default_position_id(instrument, book, account, qualify=False)
        shared = len(accounts_of.get(plain, ())) > 1
        position_id = fields.text("id", default_position_id(instrument, book, account, qualify=shared))
        if position_id in first_seen:
            where = join_path(fields.path, "id") if fields.has("id") else fields.path
            raise ConfigError(where, f"duplicate id '{position_id}' (first used by "
                              f"positions[{first_seen[position_id]}]); give each position a unique id",
                              document=DOCUMENT)
        first_seen[position_id] = index
        positions.append(Position(position_id, instrument, quantity, book, account, index))
    if not positions:
        raise ConfigError("positions", "must list at least one position", document=DOCUMENT)
    return Portfolio(str(top.raw("name", "portfolio")), tuple(positions))
