"""Deribit: the option chain, futures, perpetuals and index as a market document; the
account's positions as a portfolio document.

Public JSON-RPC over HTTP (docs.deribit.com, API v2): `GET /api/v2/public/<method>?<params>`,
the answer under `result` with the server's send time `usOut` (µs), or `error: {code,
message}`. Per underlying three calls: `public/get_index_price` (spot), and
`public/get_book_summary_by_currency` with kind=option (the whole chain: mark price in coin,
`mark_iv` in percent, `underlying_price` the forward each expiry is priced on: the listed
future or the synthetic `SYN.` forward) and kind=future (dated futures and perpetuals with
`funding_8h`). Units in the document: vols as fractions (mark_iv / 100), prices of
coin-settled options in coin as Deribit quotes them, futures in USD.

USDC-settled (linear) options and futures come from the same method with currency=USDC
(one call each for every underlying, rows kept by base coin: BTC_USDC-...): their vols and
quotes (in USDC) join the coin's section; the coin-settled chain's forward (and smile point)
wins where both chains give one for the same expiry (and strike), the USDC chain fills the
rest. `public/get_instruments` (kind=future) gives each future's and perpetual's fees and
amount sizes (`instruments` in the document), which the hedge decision uses where the policy
leaves them out. A row listed at or after its expiry (around the daily 08:00 UTC settlement)
is left out with a note within EXPIRED_GRACE, and is an error beyond it.

Positions: `public/auth` (client_credentials, sent as a POST body so the secret is never in
a URL), `private/get_subaccounts`, `private/get_positions` per account and
`public/get_instruments` for contract sizes. Deribit sizes inverse futures in USD and options
(and linear futures) in coin; hedgecore counts contracts, so a size is divided by the
instrument's contract size (BTC-PERPETUAL: 10 USD).
"""

from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hedgecore.instruments import INVERSE_CONTRACT_SIZE_USD, expiry_code, parse_instrument_name
from hedgecore.venues.base import HttpClient, PayloadReader, Session, Snapshot, VenueError

VENUE = "deribit"
# What --venue can take from here when no file gives it (cli._load.load_inputs).
PROVIDES = ("market", "positions")
DEFAULT_URL = "https://www.deribit.com"
URL_ENV = "HEDGECORE_DERIBIT_URL"
CLIENT_ID_ENV = "HEDGECORE_DERIBIT_CLIENT_ID"
CLIENT_SECRET_ENV = "HEDGECORE_DERIBIT_CLIENT_SECRET"
CREDENTIALS_FILE_ENV = "HEDGECORE_DERIBIT_CREDENTIALS"
DEFAULT_CREDENTIALS_FILE = "~/.config/hedgecore/deribit-credentials"
API_PREFIX = "/api/v2/"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BOOK_SUMMARY = "public/get_book_summary_by_currency"
INSTRUMENTS = "public/get_instruments"
LINEAR_CURRENCY = "USDC"
# A venue still lists an option or future for a while after its 08:00 UTC settlement: rows up
# to this long past their expiry are left out with a note; older ones mean a malformed chain.
EXPIRED_GRACE = timedelta(hours=1)


def _moment_from_us(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def iso_utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _plain_number(value: float) -> float | int:
    """A strike as YAML shows it: 100000 rather than 100000.0."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _median(values: list[float]) -> float:
    """The median (statistics.median would add ~20 ms of imports for one line)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


class DeribitApi:
    """JSON-RPC calls over one HttpClient; `result` out, error payloads as VenueError."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.token: str | None = None
        self.latest_us_out = 0

    def _unwrap(self, method: str, status: int, payload: Any) -> Any:
        if not isinstance(payload, Mapping):
            raise self.client.error(method, f"answer must be a JSON-RPC object (HTTP {status})")
        error = payload.get("error")
        if error is not None:
            if isinstance(error, Mapping):
                code, message = error.get("code"), error.get("message")
                data = error.get("data")
                reason = data.get("reason") if isinstance(data, Mapping) else None
                text = f"error {code} {message}" + (f" ({reason})" if reason else "")
            else:
                text = f"error {error}"
            raise self.client.error(method, f"{text} (HTTP {status})")
        if status >= 400:
            raise self.client.error(method, f"HTTP {status} without an error payload")
        if "result" not in payload:
            raise self.client.error(method, "answer has no 'result'")
        us_out = payload.get("usOut")
        if isinstance(us_out, int) and not isinstance(us_out, bool) and us_out > self.latest_us_out:
            self.latest_us_out = us_out
        return payload["result"]

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        status, payload = self.client.get_json(API_PREFIX + method, params, headers=headers, endpoint=method)
        return self._unwrap(method, status, payload)

    def authenticate(self, client_id: str, client_secret: str, session: Session | None = None) -> None:
        """Sign in with client credentials, or reuse the token `session` already holds; a new
        token is kept in `session` (with its expiry) for the command's later calls."""
        method = "public/auth"
        self.client.add_secret(client_secret)
        if session is not None and session.valid_token() is not None:
            for secret in (session.token, session.refresh_token):
                if secret:
                    self.client.add_secret(secret)
            self.token = session.token
            return
        body = {"jsonrpc": "2.0", "id": 1, "method": method,
                "params": {"grant_type": "client_credentials", "client_id": client_id,
                           "client_secret": client_secret}}
        status, payload = self.client.post_json(API_PREFIX + method, body, endpoint=method)
        result = self._unwrap(method, status, payload)
        token = result.get("access_token") if isinstance(result, Mapping) else None
        if not isinstance(token, str) or not token:
            raise self.client.error(method, "result.access_token is missing")
        self.client.add_secret(token)
        refresh = result.get("refresh_token")
        if isinstance(refresh, str):
            self.client.add_secret(refresh)
        self.token = token
        if session is not None:
            expires_in = result.get("expires_in")
            lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(
                expires_in, bool) and math.isfinite(expires_in) else 0.0
            session.token, session.expires_at = token, time.monotonic() + max(lifetime, 0.0)
            session.refresh_token = refresh if isinstance(refresh, str) else None


# --- market ------------------------------------------------------------------------------------

def _past_expiry(reader: PayloadReader, name: str, expiry: datetime, as_of: datetime,
                 excluded: list[tuple[str, str]]) -> bool:
    """True (with a note) for a row still listed at most EXPIRED_GRACE after its expiry;
    False for a live row; VenueError for a row expired longer ago."""
    if expiry > as_of:
        return False
    if as_of - expiry <= EXPIRED_GRACE:
        excluded.append((name, f"expired at {iso_utc(expiry)}, still listed at the venue's time "
                               f"{iso_utc(as_of)} (settlement under way)"))
        return True
    raise reader.fail(name, "instrument_name", f"expiry {iso_utc(expiry)} is not after the venue's time "
                      f"{iso_utc(as_of)}, by more than the {EXPIRED_GRACE.total_seconds() / 3600:g} h "
                      "settlement grace")


def _linear_rows(rows: Any, underlying: str) -> list[Any]:
    """The rows of one base coin in a USDC answer (BTC_USDC-...); the other coins' are not asked for."""
    if not isinstance(rows, list):
        return []
    prefix = f"{underlying}_{LINEAR_CURRENCY}-"
    return [row for row in rows
            if isinstance(row, Mapping) and str(row.get("instrument_name", "")).upper().startswith(prefix)]


class _Chain:
    """One underlying's options as they are read: forwards, vols, quotes, smile points."""

    def __init__(self, underlying: str, as_of: datetime, excluded: list[tuple[str, str]]) -> None:
        self.underlying = underlying
        self.as_of = as_of
        self.excluded = excluded
        self.forwards: dict[datetime, list[float]] = {}
        self.vols: dict[str, float] = {}
        self.quotes: dict[str, dict[str, float]] = {}
        # expiry -> strike -> [call vol, put vol]
        self.by_strike: dict[datetime, dict[float, list[float | None]]] = {}
        self.rates: set[float] = set()

    def read(self, rows: Any, linear: bool) -> dict[datetime, float]:
        """Read option rows; returns the forward per expiry they give. Linear (USDC) rows
        fill only the smile points the coin-settled rows left empty."""
        reader = PayloadReader(VENUE, BOOK_SUMMARY)
        underlying = self.underlying
        forwards: dict[datetime, list[float]] = {}
        for row in reader.rows(rows):
            name = reader.text(row, "option row", "instrument_name")
            instrument = parse_instrument_name(name)
            if (instrument is None or instrument.kind != "option" or instrument.underlying != underlying
                    or instrument.is_inverse == linear):
                self.excluded.append((name, f"not a {underlying} option name hedgecore understands"))
                continue
            assert instrument.expiry is not None
            assert instrument.strike is not None
            if _past_expiry(reader, name, instrument.expiry, self.as_of, self.excluded):
                continue
            reader.required(row, name, "mark_price", minimum=0.0)
            forward = reader.required(row, name, "underlying_price", minimum=0.0)
            if forward <= 0:
                raise reader.fail(name, "underlying_price", f"must be > 0, got {forward:g}")
            forwards.setdefault(instrument.expiry, []).append(forward)
            rate = reader.number(row, name, "interest_rate", optional=True)
            if rate is not None:
                self.rates.add(rate)
            bid = reader.number(row, name, "bid_price", optional=True, minimum=0.0)
            ask = reader.number(row, name, "ask_price", optional=True, minimum=0.0)
            mark_iv = reader.number(row, name, "mark_iv", optional=True, minimum=0.0)
            if mark_iv is None or mark_iv == 0.0:
                self.excluded.append((name, "no mark IV"))
                continue
            if not mark_iv < 1000.0:
                raise reader.fail(name, "mark_iv", f"must be below 1000 (percent), got {mark_iv:g}")
            # Percent to a fraction, rounded to 10 decimals: 48.7 gives 0.487, not 0.48700000000000004.
            vol = round(mark_iv / 100.0, 10)
            self.vols[name] = vol
            slot = self.by_strike.setdefault(instrument.expiry, {}).setdefault(instrument.strike, [None, None])
            side = 0 if instrument.is_call else 1
            if not linear or slot[side] is None:
                slot[side] = vol
            # Deribit shows an empty side as null (or 0): no quote on that side.
            bid = bid if bid else None
            ask = ask if ask else None
            if bid is not None and ask is not None and bid > ask:
                self.excluded.append((name, f"crossed quote (bid {bid:g} > ask {ask:g}): quote left out"))
                continue
            quote: dict[str, float] = {}
            if bid is not None:
                quote["bid"] = bid
            if ask is not None:
                quote["ask"] = ask
            if quote:
                self.quotes[name] = quote
        return {expiry: values[0] if len(set(values)) == 1 else _median(values)
                for expiry, values in forwards.items()}


def _read_futures(rows: Any, underlying: str, linear: bool, as_of: datetime, excluded: list[tuple[str, str]],
                  futures: dict[datetime, float], perpetuals: dict[str, dict[str, float]]) -> None:
    """Dated futures (the first listed for an expiry is kept) and perpetuals of one answer."""
    reader = PayloadReader(VENUE, BOOK_SUMMARY)
    for row in reader.rows(rows):
        name = reader.text(row, "future row", "instrument_name")
        instrument = parse_instrument_name(name)
        if (instrument is None or instrument.underlying != underlying
                or instrument.kind not in ("future", "perpetual") or instrument.is_inverse == linear):
            excluded.append((name, f"not a {underlying} future or perpetual hedgecore understands"))
            continue
        mark = reader.required(row, name, "mark_price", minimum=0.0)
        if mark <= 0:
            raise reader.fail(name, "mark_price", f"must be > 0, got {mark:g}")
        if instrument.kind == "perpetual":
            funding = reader.required(row, name, "funding_8h")
            perpetuals[name] = {"price": mark, "funding_rate_8h": funding}
            continue
        assert instrument.expiry is not None
        if _past_expiry(reader, name, instrument.expiry, as_of, excluded):
            continue
        futures.setdefault(instrument.expiry, mark)


def instruments_section(rows: Any, underlying: str, linear: bool) -> dict[str, dict[str, float]]:
    """Fees and amount sizes of one underlying's futures and perpetuals from get_instruments:
    {NAME: {maker_fee, taker_fee, min_trade_amount, tick_size, contract_size}}, fees as
    fractions of notional, amounts in Deribit's units (USD for inverse futures and
    perpetuals, coin for linear ones: the units of hedgecore's contract_size)."""
    reader = PayloadReader(VENUE, INSTRUMENTS)
    section: dict[str, dict[str, float]] = {}
    for row in reader.rows(rows):
        name = reader.text(row, "instrument row", "instrument_name")
        if row.get("kind") not in ("future", None):
            continue  # options: their fee is per contract, capped by the premium (option_hedge's fees)
        instrument = parse_instrument_name(name)
        if (instrument is None or instrument.underlying != underlying
                or instrument.kind not in ("future", "perpetual") or instrument.is_inverse == linear):
            continue
        spec: dict[str, float] = {}
        for key, field_name in (("maker_fee", "maker_commission"), ("taker_fee", "taker_commission")):
            fee = reader.required(row, name, field_name)
            if not -0.01 <= fee < 0.05:
                raise reader.fail(name, field_name, f"must be a fraction of notional in [-0.01, 0.05), got {fee:g}")
            spec[key] = fee
        for key in ("min_trade_amount", "tick_size", "contract_size"):
            amount = reader.required(row, name, key, minimum=0.0)
            if amount <= 0:
                raise reader.fail(name, key, f"must be > 0, got {amount:g}")
            spec[key] = amount
        section[name] = spec
    return section


def chain_document(underlying: str, index_result: Any, option_rows: Any, future_rows: Any,
                   as_of: datetime, excluded: list[tuple[str, str]], *, linear_option_rows: Any = None,
                   linear_future_rows: Any = None, instrument_rows: Any = None) -> dict[str, Any]:
    """One underlying's section of the market document from Deribit's answers.

    linear_option_rows / linear_future_rows: the currency=USDC answers (rows of other coins
    are skipped); instrument_rows: get_instruments rows (coin and USDC) for fees and sizes.
    Raises VenueError naming the instrument and field of a malformed row; appends
    (instrument, reason) to `excluded` for options listed without a mark IV or with a
    crossed quote (kept out of vols, smiles and quotes) and rows within EXPIRED_GRACE of
    their expiry.
    """
    index_reader = PayloadReader(VENUE, "public/get_index_price")
    if not isinstance(index_result, Mapping):
        raise VenueError(VENUE, "public/get_index_price", "result must be an object")
    index_name = f"{underlying.lower()}_usd"
    spot = index_reader.required(index_result, index_name, "index_price", minimum=0.0)
    if spot <= 0:
        raise index_reader.fail(index_name, "index_price", f"must be > 0, got {spot:g}")

    chain = _Chain(underlying, as_of, excluded)
    coin_forwards = chain.read(option_rows, linear=False)
    linear_forwards = chain.read(_linear_rows(linear_option_rows, underlying), linear=True)

    futures: dict[datetime, float] = {}
    perpetuals: dict[str, dict[str, float]] = {}
    _read_futures(future_rows, underlying, False, as_of, excluded, futures, perpetuals)
    _read_futures(_linear_rows(linear_future_rows, underlying), underlying, True, as_of, excluded, futures,
                  perpetuals)
    # The forward each option expiry is priced on wins over a listed future's own mark: it is
    # what the venue's implied vols (and so the marks) were computed with. The coin-settled
    # chain's wins over the USDC chain's: it is the deeper market and the index's own quote
    # currency (USD, where the USDC chain prices on a USDC index).
    futures.update(linear_forwards)
    futures.update(coin_forwards)

    smiles: dict[str, dict[float | int, float]] = {}
    for expiry in sorted(chain.by_strike):
        forward = futures[expiry]
        points: dict[float | int, float] = {}
        for strike in sorted(chain.by_strike[expiry]):
            call_vol, put_vol = chain.by_strike[expiry][strike]
            # The out-of-the-money side carries the information (and the liquidity).
            preferred, other = (call_vol, put_vol) if strike >= forward else (put_vol, call_vol)
            smile_vol = preferred if preferred is not None else other
            assert smile_vol is not None
            points[_plain_number(strike)] = smile_vol
        smiles[expiry_code(expiry)] = points

    section: dict[str, Any] = {"spot": spot}
    if len(chain.rates) == 1:
        section["rate"] = chain.rates.pop()
    section["futures"] = {expiry_code(expiry): futures[expiry] for expiry in sorted(futures)}
    if perpetuals:
        section["perpetuals"] = perpetuals
    section["vols"] = chain.vols
    section["smiles"] = smiles
    section["quotes"] = chain.quotes
    instruments = instruments_section(instrument_rows, underlying, linear=False)
    instruments.update(instruments_section(_linear_rows(instrument_rows, underlying), underlying, linear=True))
    if instruments:
        section["instruments"] = instruments
    return section


def market_document(chains: Mapping[str, tuple[Any, ...]], as_of: datetime,
                    linear: tuple[Any, Any, Any] | None = None) -> Snapshot:
    """The market document of several underlyings.

    chains: {COIN: (index, options, futures[, instruments]) results}; linear: the USDC
    (options, futures, instruments) results shared by every coin, or None.
    """
    excluded: list[tuple[str, str]] = []
    linear_options, linear_futures, linear_instruments = linear if linear is not None else (None, None, None)
    underlyings: dict[str, Any] = {}
    for coin, answers in chains.items():
        index, options, futures = answers[:3]
        instrument_rows = list(answers[3]) if len(answers) > 3 and isinstance(answers[3], list) else []
        if isinstance(linear_instruments, list):
            instrument_rows += linear_instruments
        underlyings[coin] = chain_document(coin, index, options, futures, as_of, excluded,
                                           linear_option_rows=linear_options, linear_future_rows=linear_futures,
                                           instrument_rows=instrument_rows)
    document: dict[str, Any] = {
        "as_of": iso_utc(as_of),
        "description": f"{VENUE} snapshot ({', '.join(chains)}) at the venue's time {iso_utc(as_of)}",
        "underlyings": underlyings,
    }
    return Snapshot(document, excluded)


def base_url(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(URL_ENV, "").strip() or DEFAULT_URL


def fetch_market(underlyings: Iterable[str], timeout_seconds: float, *, url: str | None = None,
                 started: float | None = None) -> Snapshot:
    """Fetch the chains of `underlyings` (e.g. ["BTC", "ETH"]) and build the market document:
    per coin its index, option and future summaries and future instruments, then the USDC
    (linear) options, futures and future instruments once for all coins.
    started: when the timeout began (time.monotonic(); default now)."""
    coins = [coin.strip().upper() for coin in underlyings]
    futures_only = {"kind": "future", "expired": "false"}
    with HttpClient(VENUE, url or base_url(), timeout_seconds, started=started) as client:
        api = DeribitApi(client)
        answers: dict[str, tuple[Any, Any, Any, Any]] = {}
        for coin in coins:
            index = api.call("public/get_index_price", {"index_name": f"{coin.lower()}_usd"})
            options = api.call(BOOK_SUMMARY, {"currency": coin, "kind": "option"})
            futures = api.call(BOOK_SUMMARY, {"currency": coin, "kind": "future"})
            instruments = api.call(INSTRUMENTS, {"currency": coin, **futures_only})
            answers[coin] = (index, options, futures, instruments)
        linear = (api.call(BOOK_SUMMARY, {"currency": LINEAR_CURRENCY, "kind": "option"}),
                  api.call(BOOK_SUMMARY, {"currency": LINEAR_CURRENCY, "kind": "future"}),
                  api.call(INSTRUMENTS, {"currency": LINEAR_CURRENCY, **futures_only}))
        if not api.latest_us_out:
            raise VenueError(VENUE, BOOK_SUMMARY, "no usOut timestamp in the answers")
        as_of = _moment_from_us(api.latest_us_out)
    return market_document(answers, as_of, linear)


# --- credentials ---------------------------------------------------------------------------------

def credentials(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(client_id, client_secret) from the environment or the credentials file.

    The file (HEDGECORE_DERIBIT_CREDENTIALS, default ~/.config/hedgecore/deribit-credentials)
    holds `client_id = ...` and `client_secret = ...` lines; it is refused when its group or
    other users may read or write it (chmod 600), as ssh refuses a readable private key.
    """
    environ = os.environ if environ is None else environ
    client_id = environ.get(CLIENT_ID_ENV, "").strip()
    client_secret = environ.get(CLIENT_SECRET_ENV, "").strip()
    if client_id and client_secret:
        return client_id, client_secret
    if client_id or client_secret:
        raise VenueError(VENUE, "public/auth", f"set both {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}")
    path = Path(environ.get(CREDENTIALS_FILE_ENV, "").strip() or DEFAULT_CREDENTIALS_FILE).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError:
        raise VenueError(VENUE, "public/auth", f"no credentials: set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} "
                         f"or write them to {path} (chmod 600)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VenueError(VENUE, "public/auth", f"credentials file {path} is accessible by other users "
                         f"(mode {stat.S_IMODE(mode):03o}); run: chmod 600 {path}")
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise VenueError(VENUE, "public/auth", f"cannot read the credentials file {path}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, separator, value = stripped.partition("=")
        if not separator:
            # Never echo the line: it may be a secret pasted without its key.
            raise VenueError(VENUE, "public/auth", f"{path}:{number}: expected 'client_id = ...' "
                             "or 'client_secret = ...'")
        values[key.strip().lower()] = value.strip().strip("'\"")
    client_id, client_secret = values.get("client_id", ""), values.get("client_secret", "")
    if not client_id or not client_secret:
        raise VenueError(VENUE, "public/auth", f"{path} must give both client_id and client_secret")
    return client_id, client_secret


# --- positions ---------------------------------------------------------------------------------

def _currency_of(name: str) -> str:
    """The `currency` parameter that lists an instrument: BTC for BTC-..., USDC for BTC_USDC-..."""
    head = name.split("-", 1)[0].upper()
    return head.split("_", 1)[1] if "_" in head else head


def position_rows(rows: Any, account: str, instruments: Mapping[str, Mapping[str, Any]],
                  excluded: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Portfolio positions (hedgecore contracts) of one account's get_positions rows."""
    reader = PayloadReader(VENUE, "private/get_positions")
    positions: list[dict[str, Any]] = []
    for row in reader.rows(rows):
        name = reader.text(row, "position row", "instrument_name")
        kind = reader.text(row, name, "kind")
        size = reader.required(row, name, "size")
        direction = reader.text(row, name, "direction")
        if direction not in ("buy", "sell", "zero"):
            raise reader.fail(name, "direction", f"must be buy, sell or zero, got {direction!r}")
        if size == 0.0 or direction == "zero":
            continue
        if (size < 0) != (direction == "sell"):
            raise reader.fail(name, "size", f"sign disagrees with direction '{direction}' (size {size:g})")
        if kind not in ("future", "option"):
            excluded.append((f"{account}:{name}", f"{kind} positions are not valued by hedgecore"))
            continue
        meta = instruments.get(name)
        if meta is None:
            raise VenueError(VENUE, "public/get_instruments", f"{name}: not listed (needed for its contract size)")
        meta_reader = PayloadReader(VENUE, "public/get_instruments")
        contract_size = meta_reader.required(meta, name, "contract_size", minimum=0.0)
        if contract_size <= 0:
            raise meta_reader.fail(name, "contract_size", f"must be > 0, got {contract_size:g}")
        instrument = parse_instrument_name(name, contract_size=contract_size)
        if instrument is None:
            excluded.append((f"{account}:{name}", "not an instrument name hedgecore understands"))
            continue
        # Inverse futures and perpetuals: size in USD, contract_size USD per contract. Options
        # and linear futures: size in coin, contract_size coin per contract.
        quantity = size / contract_size
        position: dict[str, Any] = {"id": f"{account}:{name}", "instrument": name, "quantity": quantity,
                                    "account": account}
        default_size = (INVERSE_CONTRACT_SIZE_USD.get(instrument.underlying)
                        if instrument.is_inverse and instrument.kind != "option" else 1.0)
        if contract_size != default_size:
            position["contract_size"] = contract_size
        positions.append(position)
    return positions


def portfolio_document(accounts: list[tuple[str, Any]], instruments: Mapping[str, Mapping[str, Any]],
                       as_of: datetime) -> Snapshot:
    """The portfolio document of (account name, get_positions result) pairs."""
    excluded: list[tuple[str, str]] = []
    positions: list[dict[str, Any]] = []
    for account, rows in accounts:
        positions.extend(position_rows(rows, account, instruments, excluded))
    document = {
        "name": f"{VENUE} positions at {iso_utc(as_of)}",
        "description": f"{VENUE} account snapshot ({', '.join(a for a, _ in accounts)}) at the venue's time "
                       f"{iso_utc(as_of)}; quantities in contracts",
        "positions": positions,
    }
    return Snapshot(document, excluded)


def fetch_positions(timeout_seconds: float, *, url: str | None = None,
                    environ: Mapping[str, str] | None = None, started: float | None = None,
                    session: Session | None = None) -> Snapshot:
    """The account's (and its sub-accounts') positions as a portfolio document; `session`
    keeps the access token for the command's later calls (the trade history)."""
    client_id, client_secret = credentials(environ)
    with HttpClient(VENUE, url or base_url(environ), timeout_seconds, started=started) as client:
        api = DeribitApi(client)
        api.authenticate(client_id, client_secret, session)
        reader = PayloadReader(VENUE, "private/get_subaccounts")
        accounts: list[tuple[str, Any]] = []
        for row in reader.rows(api.call("private/get_subaccounts", {"with_portfolio": "false"})):
            username = reader.text(row, "subaccount row", "username")
            account_id = reader.required(row, username, "id")
            params: dict[str, Any] = {"currency": "any"}
            if row.get("type") != "main":
                params["subaccount_id"] = int(account_id)
            accounts.append((username, api.call("private/get_positions", params)))
        currencies = sorted({_currency_of(str(row.get("instrument_name", "")))
                             for _, rows in accounts if isinstance(rows, list)
                             for row in rows if isinstance(row, Mapping)})
        instruments: dict[str, Mapping[str, Any]] = {}
        meta_reader = PayloadReader(VENUE, "public/get_instruments")
        for currency in currencies:
            for row in meta_reader.rows(api.call("public/get_instruments", {"currency": currency, "expired": "false"})):
                instruments[meta_reader.text(row, "instrument row", "instrument_name")] = row
        as_of = _moment_from_us(api.latest_us_out) if api.latest_us_out else datetime.now(timezone.utc)
    return portfolio_document(accounts, instruments, as_of)
