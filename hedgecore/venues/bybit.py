"""Bybit: public option tickers as a market document (no private endpoints here).

`GET /v5/market/tickers?category=option&baseCoin=BTC` (Bybit API v5) lists every option of
a coin in one answer: `{retCode, retMsg, result: {category, list: [...]}, time}` with every
number sent as a decimal string. Units, normalised to hedgecore's:
- Bybit's options are USDC-settled (linear): prices and quotes are in USDC, and the symbol
  `BTC-27DEC26-100000-C` (which hedgecore would read as Deribit's coin-settled option) is
  renamed `BTC_USDC-27DEC26-100000-C`; a `-USDT` suffixed symbol becomes `BTC_USDT-...`.
- `markIv` is already a fraction (0.52 for 52%), unlike Deribit's percent.
- Greeks are not taken: hedgecore computes its own (Bybit's linear-option delta is plain
  Black-Scholes; there is no premium adjustment for USDC settlement).
- `underlyingPrice` is the forward each expiry is priced on; `indexPrice` the spot.
The perpetual `<COIN>USDT` comes from `category=linear` (mark price and `fundingRate`, per
funding interval, 8 h for the main pairs). `as_of` is the answer's `time` (ms).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from hedgecore.instruments import expiry_code, parse_instrument_name
from hedgecore.venues.base import HttpClient, PayloadReader, Snapshot, VenueError

VENUE = "bybit"
# What --venue can take from here when no file gives it (cli._load.load_inputs).
PROVIDES = ("market",)
DEFAULT_URL = "https://api.bybit.com"
URL_ENV = "HEDGECORE_BYBIT_URL"
TICKERS = "/v5/market/tickers"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def hedgecore_name(symbol: str) -> str:
    """Bybit's option symbol as hedgecore names a USDC/USDT-settled option."""
    parts = symbol.strip().upper().split("-")
    settle = "USDC"
    if len(parts) == 5 and parts[4] in ("USDC", "USDT"):
        settle = parts.pop()
    if len(parts) != 4:
        return symbol
    return f"{parts[0]}_{settle}-{'-'.join(parts[1:])}"


def _unwrap(endpoint: str, status: int, payload: Any) -> tuple[Any, int]:
    if not isinstance(payload, Mapping):
        raise VenueError(VENUE, endpoint, f"answer must be a JSON object (HTTP {status})")
    code = payload.get("retCode")
    if code != 0:
        raise VenueError(VENUE, endpoint, f"retCode {code} {payload.get('retMsg')} (HTTP {status})")
    moment = payload.get("time")
    if not isinstance(moment, int) or isinstance(moment, bool):
        raise VenueError(VENUE, endpoint, "answer has no 'time' (ms)")
    return payload.get("result"), moment


def chain_document(underlying: str, option_result: Any, perpetual_result: Any | None, as_of: datetime,
                   excluded: list[tuple[str, str]]) -> dict[str, Any]:
    reader = PayloadReader(VENUE, f"{TICKERS}?category=option")
    spot: float | None = None
    forwards: dict[datetime, float] = {}
    vols: dict[str, float] = {}
    quotes: dict[str, dict[str, float]] = {}
    by_strike: dict[datetime, dict[float, list[float | None]]] = {}
    for row in reader.rows(option_result, "list"):
        symbol = reader.text(row, "ticker row", "symbol")
        name = hedgecore_name(symbol)
        instrument = parse_instrument_name(name)
        if instrument is None or instrument.kind != "option" or instrument.underlying != underlying:
            excluded.append((symbol, f"not a {underlying} option symbol hedgecore understands"))
            continue
        assert instrument.expiry is not None
        assert instrument.strike is not None
        if instrument.expiry <= as_of:
            raise reader.fail(symbol, "symbol", f"expiry {iso_utc(instrument.expiry)} is not after the venue's "
                              f"time {iso_utc(as_of)}")
        index = reader.required(row, symbol, "indexPrice", minimum=0.0, decimal_text=True)
        forward = reader.required(row, symbol, "underlyingPrice", minimum=0.0, decimal_text=True)
        if index <= 0 or forward <= 0:
            raise reader.fail(symbol, "indexPrice" if index <= 0 else "underlyingPrice", "must be > 0")
        spot = index if spot is None else spot
        forwards.setdefault(instrument.expiry, forward)
        reader.required(row, symbol, "markPrice", minimum=0.0, decimal_text=True)
        mark_iv = reader.number(row, symbol, "markIv", optional=True, minimum=0.0, decimal_text=True)
        if not mark_iv:
            excluded.append((symbol, "no mark IV"))
            continue
        if not mark_iv < 10.0:
            raise reader.fail(symbol, "markIv", f"must be a fraction below 10, got {mark_iv:g}")
        vols[name] = mark_iv
        slot = by_strike.setdefault(instrument.expiry, {}).setdefault(instrument.strike, [None, None])
        slot[0 if instrument.is_call else 1] = mark_iv
        quote: dict[str, float] = {}
        for side in ("bid", "ask"):
            price = reader.number(row, symbol, f"{side}1Price", optional=True, minimum=0.0, decimal_text=True)
            size = reader.number(row, symbol, f"{side}1Size", optional=True, minimum=0.0, decimal_text=True)
            if price and size:  # Bybit shows an empty side as "0"
                quote[side] = price
                quote[f"{side}_size"] = size
        if "bid" in quote and "ask" in quote and quote["bid"] > quote["ask"]:
            excluded.append((symbol, f"crossed quote (bid {quote['bid']:g} > ask {quote['ask']:g}): quote left out"))
            continue
        if quote:
            quotes[name] = {key: quote[key] for key in ("bid", "ask", "bid_size", "ask_size") if key in quote}
    if spot is None:
        raise VenueError(VENUE, f"{TICKERS}?category=option", f"no {underlying} options listed")
    section: dict[str, Any] = {"spot": spot,
                               "futures": {expiry_code(e): forwards[e] for e in sorted(forwards)}}
    if perpetual_result is not None:
        perp_reader = PayloadReader(VENUE, f"{TICKERS}?category=linear")
        perpetuals: dict[str, dict[str, float]] = {}
        for row in perp_reader.rows(perpetual_result, "list"):
            symbol = perp_reader.text(row, "ticker row", "symbol")
            mark = perp_reader.required(row, symbol, "markPrice", minimum=0.0, decimal_text=True)
            funding = perp_reader.required(row, symbol, "fundingRate", decimal_text=True)
            perpetuals[symbol.upper()] = {"price": mark, "funding_rate_8h": funding}
        if perpetuals:
            section["perpetuals"] = perpetuals
    section["vols"] = vols
    smiles: dict[str, dict[float | int, float]] = {}
    for expiry in sorted(by_strike):
        points: dict[float | int, float] = {}
        for strike in sorted(by_strike[expiry]):
            call_vol, put_vol = by_strike[expiry][strike]
            preferred, other = (call_vol, put_vol) if strike >= forwards[expiry] else (put_vol, call_vol)
            vol = preferred if preferred is not None else other
            assert vol is not None
            points[int(strike) if strike.is_integer() else strike] = vol
        smiles[expiry_code(expiry)] = points
    section["smiles"] = smiles
    section["quotes"] = quotes
    return section


def fetch_market(underlyings: Iterable[str], timeout_seconds: float, *, url: str | None = None,
                 started: float | None = None) -> Snapshot:
    coins = [coin.strip().upper() for coin in underlyings]
    base = url or os.environ.get(URL_ENV, "").strip() or DEFAULT_URL
    answers: dict[str, tuple[Any, Any]] = {}
    latest_ms = 0
    with HttpClient(VENUE, base, timeout_seconds, started=started) as client:
        for coin in coins:
            endpoint = f"{TICKERS}?category=option"
            status, payload = client.get_json(TICKERS, {"category": "option", "baseCoin": coin}, endpoint=endpoint)
            options, moment = _unwrap(endpoint, status, payload)
            latest_ms = max(latest_ms, moment)
            endpoint = f"{TICKERS}?category=linear"
            status, payload = client.get_json(TICKERS, {"category": "linear", "symbol": f"{coin}USDT"},
                                              endpoint=endpoint)
            perpetual, moment = _unwrap(endpoint, status, payload)
            latest_ms = max(latest_ms, moment)
            answers[coin] = (options, perpetual)
    as_of = EPOCH + timedelta(milliseconds=latest_ms)
    return market_document(answers, as_of)


def market_document(chains: Mapping[str, tuple[Any, Any]], as_of: datetime) -> Snapshot:
    excluded: list[tuple[str, str]] = []
    underlyings = {coin: chain_document(coin, options, perpetual, as_of, excluded)
                   for coin, (options, perpetual) in chains.items()}
    document = {"as_of": iso_utc(as_of),
                "description": f"{VENUE} snapshot ({', '.join(chains)}) at the venue's time {iso_utc(as_of)}",
                "underlyings": underlyings}
    return Snapshot(document, excluded)


def fetch_positions(timeout_seconds: float, *, url: str | None = None,
                    environ: Mapping[str, str] | None = None, started: float | None = None) -> Snapshot:
    raise VenueError(VENUE, "-", "positions are available from deribit only")
