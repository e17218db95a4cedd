"""Fills of the hedge instruments read from a venue's trade history (Deribit), so that nobody
types `hedgecore fill` for hedges executed on the venue.

Deribit: `private/get_user_trades_by_currency_and_time` (kind future, oldest first, pages
of up to PAGE_SIZE while `has_more`) per settlement currency of the hedge instruments
(BTC for BTC-PERPETUAL, USDC for BTC_USDC-PERPETUAL), authenticated as for positions
(hedgecore.venues.deribit.credentials). A trade's `amount` is USD for inverse futures and coin
for linear ones; hedgecore counts contracts, so it is divided by the instrument's
contract size (public/get_instruments). `fee` is in `fee_currency`: coin fees are valued at
the trade's `index_price`. Only the authenticated account's trades are read (not its
sub-accounts'). Nothing private is kept: the fill's numbers and the venue's trade id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from hedgecore.errors import VenueError
from hedgecore.instruments import parse_instrument_name
from hedgecore.journal.store import Fill

if TYPE_CHECKING:
    from hedgecore.venues.base import Session

TRADES_METHOD = "private/get_user_trades_by_currency_and_time"
PAGE_SIZE = 1000
MAX_PAGES = 20
USD_CURRENCIES = ("USD", "USDC", "USDT")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _milliseconds(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() * 1000)


def _settlement_currency(name: str) -> str:
    head = name.split("-", 1)[0].upper()
    return head.split("_", 1)[1] if "_" in head else head


def trade_fills(trades: Any, wanted: set[str], contract_sizes: Mapping[str, float], venue: str) -> list[Fill]:
    """Fills of the trades in `wanted` instruments; VenueError naming a malformed field."""
    from hedgecore.venues.base import PayloadReader

    reader = PayloadReader(venue, TRADES_METHOD)
    fills = []
    for row in reader.rows(trades):
        name = reader.text(row, "trade row", "instrument_name")
        if name.upper() not in wanted:
            continue
        trade_id = reader.text(row, name, "trade_id")
        direction = reader.text(row, name, "direction")
        if direction not in ("buy", "sell"):
            raise reader.fail(name, "direction", f"must be buy or sell, got {direction!r}")
        amount = reader.required(row, name, "amount", minimum=0.0)
        price = reader.required(row, name, "price", minimum=0.0)
        timestamp = reader.required(row, name, "timestamp", minimum=0.0)
        fee = reader.required(row, name, "fee")
        fee_currency = reader.text(row, name, "fee_currency").upper()
        size = contract_sizes.get(name)
        if size is None or size <= 0.0:
            raise VenueError(venue, "public/get_instruments", f"{name}: not listed with a contract size > 0 "
                             f"(needed to count trade {trade_id} in contracts)")
        if amount <= 0.0 or price <= 0.0:
            raise reader.fail(name, "amount" if amount <= 0.0 else "price", "must be > 0")
        fee_usd = fee if fee_currency in USD_CURRENCIES else fee * reader.required(row, name, "index_price",
                                                                                    minimum=0.0)
        instrument = parse_instrument_name(name)
        underlying = instrument.underlying if instrument is not None else name.split("-", 1)[0].split("_", 1)[0]
        fills.append(Fill(EPOCH + timedelta(milliseconds=timestamp), underlying, name.upper(), direction,
                          amount / size, price, fee_usd, venue, trade_id))
    return fills


def deribit_fills(instruments: Iterable[str], since: datetime, until: datetime, timeout_seconds: float, *,
                  url: str | None = None, environ: Mapping[str, str] | None = None,
                  session: Session | None = None) -> list[Fill]:
    """The account's trades of `instruments` executed in [since, until], as fills; with the
    `session` the positions were read in, its access token is reused (no second sign-in)."""
    from hedgecore.venues import deribit
    from hedgecore.venues.base import HttpClient, PayloadReader

    wanted = {name.strip().upper() for name in instruments if name.strip().upper() != "SPOT"}
    if not wanted:
        return []
    client_id, client_secret = deribit.credentials(environ)
    fills: list[Fill] = []
    with HttpClient(deribit.VENUE, url or deribit.base_url(environ), timeout_seconds) as client:
        api = deribit.DeribitApi(client)
        api.authenticate(client_id, client_secret, session)
        for currency in sorted({_settlement_currency(name) for name in wanted}):
            sizes: dict[str, float] = {}
            meta = PayloadReader(deribit.VENUE, "public/get_instruments")
            for row in meta.rows(api.call("public/get_instruments", {"currency": currency, "expired": "false"})):
                sizes[meta.text(row, "instrument row", "instrument_name")] = meta.required(
                    row, "instrument row", "contract_size", minimum=0.0)
            start = _milliseconds(since)
            seen: set[str] = set()
            for _ in range(MAX_PAGES):
                result = api.call(TRADES_METHOD, {"currency": currency, "kind": "future", "start_timestamp": start,
                                                  "end_timestamp": _milliseconds(until), "count": PAGE_SIZE,
                                                  "sorting": "asc"})
                if not isinstance(result, Mapping) or not isinstance(result.get("trades"), list):
                    raise VenueError(deribit.VENUE, TRADES_METHOD, "result.trades must be a list")
                page = [f for f in trade_fills(result["trades"], wanted, sizes, deribit.VENUE)
                        if f.venue_trade_id not in seen]
                seen.update(str(f.venue_trade_id) for f in page)
                fills.extend(page)
                stamps = [float(row["timestamp"]) for row in result["trades"]
                          if isinstance(row, Mapping) and isinstance(row.get("timestamp"), (int, float))]
                if not result.get("has_more") or not stamps:
                    break
                start = int(max(stamps))      # the next page starts at the last trade's time (ids dedupe it)
    return fills
