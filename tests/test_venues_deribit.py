"""Deribit through a local HTTP server serving the documented payloads (tests/fixtures/deribit):
the snapshot's figures equal the payload's, malformed rows and failures are VenueErrors naming
the instrument, field, endpoint and reason, retries honour Retry-After, the deadline holds,
one connection serves a whole fetch, positions convert to contracts, secrets never leak."""

from __future__ import annotations

import copy
import math
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue_server import Reply, VenueServer, deribit_account_routes, deribit_market_routes, fixture

from hedgecore.errors import VenueError
from hedgecore.instruments import expiry_code, parse_instrument_name
from hedgecore.market import parse_market
from hedgecore.portfolio import parse_portfolio
from hedgecore.venues import deribit

SUMMARY = "/api/v2/public/get_book_summary_by_currency"
SECRET = "s3cr3t-W0H6FJW4IRPZ1MOQ8FP6"
CREDENTIALS = {"HEDGECORE_DERIBIT_CLIENT_ID": "fo7WAPRm4P", "HEDGECORE_DERIBIT_CLIENT_SECRET": SECRET}


@pytest.fixture
def server():
    venue = VenueServer().start()
    deribit_market_routes(venue)
    deribit_account_routes(venue)
    yield venue
    venue.stop()


def fetch(server: VenueServer, timeout: float = 5.0):
    return deribit.fetch_market(["BTC"], timeout, url=server.url)


def test_snapshot_figures_equal_the_payload(server):
    options = fixture("deribit", "get_book_summary_btc_option.json")
    futures = fixture("deribit", "get_book_summary_btc_future.json")
    snapshot = fetch(server)
    btc = snapshot.document["underlyings"]["BTC"]
    assert btc["spot"] == fixture("deribit", "get_index_price_btc.json")["result"]["index_price"]
    assert snapshot.document["as_of"] == "2026-11-21T08:00:00.123456Z"   # usOut, to the microsecond
    for row in options["result"]:
        name = row["instrument_name"]
        expiry = parse_instrument_name(name).expiry
        assert btc["futures"][expiry_code(expiry)] == row["underlying_price"], name
        if row["mark_iv"] is None:
            assert name not in btc["vols"]
            assert (name, "no mark IV") in snapshot.excluded
            continue
        assert btc["vols"][name] == pytest.approx(row["mark_iv"] / 100.0, rel=1e-12, abs=0)
        if row["bid_price"] is not None and row["ask_price"] is not None and row["bid_price"] > row["ask_price"]:
            assert name not in btc["quotes"]
            assert any(n == name and "crossed" in why for n, why in snapshot.excluded)
            continue
        quote = btc["quotes"][name]
        assert quote.get("bid") == row["bid_price"]
        assert quote.get("ask") == row["ask_price"]
    perpetual = next(r for r in futures["result"] if r["instrument_name"] == "BTC-PERPETUAL")
    assert btc["perpetuals"]["BTC-PERPETUAL"] == {"price": perpetual["mark_price"],
                                                  "funding_rate_8h": perpetual["funding_8h"]}
    assert btc["futures"]["26MAR27"] == 99100.0   # a listed future with no options on its expiry
    # smiles: the out-of-the-money side's vol at each strike
    assert btc["smiles"]["27NOV26"] == {90000: 0.521, 100000: 0.487}
    assert btc["smiles"]["25DEC26"][80000] == 0.6025


def test_snapshot_parses_into_a_market_with_the_same_figures(server):
    snapshot = fetch(server)
    market = parse_market(snapshot.document)
    btc = market.underlyings["BTC"]
    option = parse_instrument_name("BTC-25DEC26-100000-C")
    assert btc.forward(option.expiry, market.as_of) == 97150.0
    assert btc.vol(option, option.name, market.as_of) == pytest.approx(0.504, rel=1e-12)
    assert btc.quotes["BTC-25DEC26-100000-C"].bid == 0.039
    assert btc.quotes["BTC-25DEC26-120000-C"].bid is None
    assert btc.quotes["BTC-25DEC26-120000-C"].ask == 0.0095


def test_one_connection_serves_the_whole_fetch(server):
    fetch(server)
    # index, options, futures and future instruments of BTC; USDC options, futures, instruments
    assert len(server.seen) == 7
    assert len({seen.client_port for seen in server.seen}) == 1


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("mark_price", None, "mark_price is missing"),
    ("mark_price", "0.0398", "mark_price must be a number, got the text '0.0398'"),
    ("mark_price", -0.01, "mark_price must be >= 0"),
    ("underlying_price", float("nan"), "underlying_price must be finite"),
    ("bid_price", -1.0, "bid_price must be >= 0"),
])
def test_malformed_option_row_names_instrument_and_field(server, field, value, problem):
    payload = copy.deepcopy(fixture("deribit", "get_book_summary_btc_option.json"))
    row = payload["result"][5]
    if value is None:
        del row[field]
    else:
        row[field] = value
    server.route(SUMMARY + "?kind=option", Reply(payload))
    with pytest.raises(VenueError) as caught:
        fetch(server)
    assert caught.value.endpoint == "public/get_book_summary_by_currency"
    assert str(caught.value).startswith("deribit public/get_book_summary_by_currency: ")
    assert f"{row['instrument_name']}: {problem}" in str(caught.value)


def test_expired_option_is_an_error(server):
    payload = copy.deepcopy(fixture("deribit", "get_book_summary_btc_option.json"))
    payload["result"][0]["instrument_name"] = "BTC-20NOV26-90000-C"
    server.route(SUMMARY + "?kind=option", Reply(payload))
    with pytest.raises(VenueError, match=r"BTC-20NOV26-90000-C: instrument_name expiry 2026-11-20T08:00:00Z is "
                                         r"not after the venue's time"):
        fetch(server)


def test_error_payload_is_not_retried(server):
    server.route(SUMMARY + "?kind=option", Reply(fixture("deribit", "error_invalid_params.json"), status=400))
    with pytest.raises(VenueError) as caught:
        fetch(server)
    assert "error -32602 Invalid params (wrong format) (HTTP 400)" in str(caught.value)
    assert len(server.calls(SUMMARY)) == 1


def test_429_with_retry_after_is_retried_after_the_wait(server):
    limited = Reply(fixture("deribit", "error_too_many_requests.json"), status=429, headers={"Retry-After": "0.3"})
    server.route("/api/v2/public/get_index_price", limited, Reply(fixture("deribit", "get_index_price_btc.json")))
    snapshot = fetch(server)
    assert snapshot.document["underlyings"]["BTC"]["spot"] == 96500.12
    calls = server.calls("/api/v2/public/get_index_price")
    assert len(calls) == 2


def test_429_whose_retry_after_passes_the_deadline_fails_at_once(server):
    limited = Reply(fixture("deribit", "error_too_many_requests.json"), status=429, headers={"Retry-After": "60"})
    server.route("/api/v2/public/get_index_price", limited)
    with pytest.raises(VenueError, match=r"rate limited \(HTTP 429\); the next attempt \(in 60 s\) would pass the "
                                         r"2 s budget"):
        fetch(server, timeout=2.0)
    assert len(server.calls("/api/v2/public/get_index_price")) == 1


def test_5xx_retried_then_reported(server):
    server.route("/api/v2/public/get_index_price", Reply({"message": "bad gateway"}, status=502))
    with pytest.raises(VenueError, match=r"deribit public/get_index_price: HTTP 502 after 4 attempts"):
        fetch(server, timeout=20.0)
    assert len(server.calls("/api/v2/public/get_index_price")) == 4


def test_slow_answer_past_the_deadline_is_a_timeout(server):
    server.route("/api/v2/public/get_index_price", Reply(fixture("deribit", "get_index_price_btc.json"),
                                                         delay_seconds=3.0))
    with pytest.raises(VenueError, match=r"deribit public/get_index_price: timed out: the fetch took longer than "
                                         r"its 0.5 s budget"):
        fetch(server, timeout=0.5)


def test_dropped_connection_is_retried_on_a_new_connection(server):
    server.route("/api/v2/public/get_index_price", Reply(mode="drop"),
                 Reply(fixture("deribit", "get_index_price_btc.json")))
    snapshot = fetch(server)
    assert snapshot.document["underlyings"]["BTC"]["spot"] == 96500.12
    assert len({seen.client_port for seen in server.seen}) == 2


def test_dropped_connection_every_time_is_reported(server):
    server.route("/api/v2/public/get_index_price", Reply(mode="drop"))
    with pytest.raises(VenueError, match=r"connection failed \(RemoteDisconnected\) after 4 attempts"):
        fetch(server, timeout=20.0)


def test_body_cut_short_is_retried_then_reported(server):
    server.route("/api/v2/public/get_index_price", Reply(fixture("deribit", "get_index_price_btc.json"),
                                                         mode="truncate"))
    with pytest.raises(VenueError, match=r"connection dropped mid-answer after 4 attempts"):
        fetch(server, timeout=20.0)


def test_truncated_json_is_a_malformed_payload(server):
    text = (Path(__file__).parent / "fixtures" / "deribit" / "get_index_price_btc.json").read_bytes()
    server.route("/api/v2/public/get_index_price", Reply(raw=text[:40]))
    with pytest.raises(VenueError, match=r"deribit public/get_index_price: malformed JSON in the answer"):
        fetch(server)
    assert len(server.calls("/api/v2/public/get_index_price")) == 1


# --- positions -----------------------------------------------------------------------------------

def test_positions_convert_to_contracts_with_account_tags(server):
    snapshot = deribit.fetch_positions(5.0, url=server.url, environ=CREDENTIALS)
    positions = {p["id"]: p for p in snapshot.document["positions"]}
    # BTC-PERPETUAL: -500,000 USD at 10 USD a contract
    assert positions["desk:BTC-PERPETUAL"]["quantity"] == -500000.0 / 10
    assert positions["desk:BTC-25DEC26"]["quantity"] == 40000.0 / 10
    # options: coin, 1 BTC a contract
    assert positions["desk:BTC-25DEC26-100000-C"]["quantity"] == -25.0
    assert positions["desk_mm:BTC-25DEC26-80000-P"]["quantity"] == 10.5
    # linear perpetual: 0.25 BTC at 0.001 BTC a contract
    assert positions["desk_mm:BTC_USDC-PERPETUAL"] == {
        "id": "desk_mm:BTC_USDC-PERPETUAL", "instrument": "BTC_USDC-PERPETUAL", "quantity": 250.0,
        "account": "desk_mm", "contract_size": 0.001}
    assert "desk:BTC-26MAR27" not in positions   # direction zero: no position
    portfolio = parse_portfolio(snapshot.document)
    by_id = {p.id: p for p in portfolio.positions}
    # the coin exposure of the inverse perpetual: N contracts x 10 USD / price
    perp = by_id["desk:BTC-PERPETUAL"]
    assert perp.quantity * perp.instrument.contract_size == -500000.0
    linear = by_id["desk_mm:BTC_USDC-PERPETUAL"]
    assert linear.quantity * linear.instrument.contract_size == pytest.approx(0.25, rel=1e-15)
    assert {p.account for p in portfolio.positions} == {"desk", "desk_mm"}
    # the sub-account was asked for by its id, the secret went in a POST body, never a URL
    assert [c.query.get("subaccount_id") for c in server.calls("/api/v2/private/get_positions")] == [None, "7"]
    auth = server.calls("/api/v2/public/auth")[0]
    assert auth.method == "POST"
    assert auth.query == {}
    assert SECRET.encode() in auth.body
    assert all(SECRET not in c.path and SECRET not in str(c.query) for c in server.seen)
    bearer = fixture("deribit", "auth.json")["result"]["access_token"]
    assert server.calls("/api/v2/private/get_positions")[0].headers["authorization"] == f"Bearer {bearer}"


def test_error_after_auth_never_shows_the_secret_or_token(server):
    token = fixture("deribit", "auth.json")["result"]["access_token"]
    echo = {"jsonrpc": "2.0", "error": {"code": 13009, "message": f"unauthorized {SECRET} {token}"},
            "usIn": 1, "usOut": 2, "usDiff": 1, "testnet": False}
    server.route("/api/v2/private/get_positions", Reply(echo, status=400))
    with pytest.raises(VenueError) as caught:
        deribit.fetch_positions(5.0, url=server.url, environ=CREDENTIALS)
    text = str(caught.value)
    assert "error 13009 unauthorized *** ***" in text
    assert SECRET not in text
    assert token not in text
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_invalid_credentials(server):
    server.route("/api/v2/public/auth", Reply(fixture("deribit", "error_invalid_credentials.json"), status=400))
    with pytest.raises(VenueError, match=r"deribit public/auth: error 13004 invalid_credentials"):
        deribit.fetch_positions(5.0, url=server.url, environ=CREDENTIALS)
    assert len(server.calls("/api/v2/public/auth")) == 1


def test_credentials_file_refused_when_others_can_read_it(tmp_path):
    path = tmp_path / "creds"
    path.write_text(f"client_id = abc\nclient_secret = {SECRET}\n")
    path.chmod(0o644)
    environ = {"HEDGECORE_DERIBIT_CREDENTIALS": str(path)}
    with pytest.raises(VenueError, match=r"accessible by other users \(mode 644\); run: chmod 600") as caught:
        deribit.credentials(environ)
    assert SECRET not in str(caught.value)
    path.chmod(0o600)
    assert deribit.credentials(environ) == ("abc", SECRET)


def test_credentials_file_line_without_key_is_not_echoed(tmp_path):
    path = tmp_path / "creds"
    path.write_text(f"client_id = abc\n{SECRET}\n")
    os.chmod(path, 0o600)
    with pytest.raises(VenueError) as caught:
        deribit.credentials({"HEDGECORE_DERIBIT_CREDENTIALS": str(path)})
    assert f"{path}:2: expected" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_environment_credentials_need_both():
    with pytest.raises(VenueError, match="set both HEDGECORE_DERIBIT_CLIENT_ID and HEDGECORE_DERIBIT_CLIENT_SECRET"):
        deribit.credentials({"HEDGECORE_DERIBIT_CLIENT_ID": "abc"})


def test_vols_are_fractions_of_marks_in_percent():
    # an independent check of the unit: a 48.7% mark is a vol of 0.487
    assert math.isclose(round(48.7 / 100.0, 10), 0.487, rel_tol=0, abs_tol=0)
