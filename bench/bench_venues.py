"""Venue snapshot speed: Deribit payloads of a full BTC + ETH chain (~1,500 options) to a
market document and a parsed Market, in CPU seconds (target < 0.3 s), and what
`import hedgecore.venues.deribit` costs. No network: the payloads are synthetic, shaped like
public/get_book_summary_by_currency's rows.

Then `check --venue deribit` against the local stand-in (tests/venue_server.py on 127.0.0.1)
serving that chain, beside `check` on the market file `market snapshot -o` wrote from it:
what --venue adds beyond the network's own time (the same six GETs made by a bare
http.client loop), target < 0.5 s. Each figure is the best of several processes.

    python bench/bench_venues.py
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

AS_OF = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def synthetic_chain(coin: str, spot: float, expiries: int, strikes: int) -> tuple[dict, list[dict], list[dict]]:
    options: list[dict] = []
    futures: list[dict] = [{"instrument_name": f"{coin}-PERPETUAL", "mark_price": spot * 1.0003, "funding_8h": 0.0001,
                            "current_funding": 0.00002, "bid_price": spot, "ask_price": spot * 1.0005}]
    for e in range(expiries):
        expiry = AS_OF + timedelta(days=1 + 7 * e)
        code = f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"
        forward = spot * (1 + 0.0004 * (e + 1))
        for s in range(strikes):
            strike = round(spot * (0.5 + s / strikes), -2 if coin == "BTC" else 0)
            for kind in ("C", "P"):
                options.append({
                    "instrument_name": f"{coin}-{code}-{strike:g}-{kind}", "mark_price": 0.01 + s * 1e-4,
                    "mark_iv": 45.0 + abs(s - strikes / 2) * 0.3, "bid_price": 0.009 + s * 1e-4,
                    "ask_price": 0.011 + s * 1e-4, "underlying_price": forward,
                    "underlying_index": f"SYN.{coin}-{code}", "interest_rate": 0.0, "volume": 1.0,
                    "open_interest": 10.0, "creation_timestamp": 1795248000000,
                })
        futures.append({"instrument_name": f"{coin}-{code}", "mark_price": forward})
    return {"index_price": spot, "estimated_delivery_price": spot}, options, futures


def synthetic_instruments(futures: list[dict], linear: bool) -> list[dict]:
    """get_instruments rows (kind=future) of the futures and perpetuals of one answer."""
    return [{"instrument_name": row["instrument_name"], "kind": "future", "maker_commission": 0.0,
             "taker_commission": 0.0005, "min_trade_amount": 0.0001 if linear else 10, "tick_size": 0.5,
             "contract_size": 0.0001 if linear else 10} for row in futures]


def synthetic_linear(chains: dict[str, tuple[dict, list[dict], list[dict]]]) -> tuple[list[dict], ...]:
    """The USDC (linear) answers: every 4th option of each coin as BTC_USDC-..., priced in USDC,
    a USDC perpetual per coin, and their instruments."""
    options, futures = [], []
    for coin, (index, coin_options, _) in chains.items():
        spot = index["index_price"]
        for row in coin_options[::4]:
            name = row["instrument_name"].replace(f"{coin}-", f"{coin}_USDC-", 1)
            options.append(dict(row, instrument_name=name, mark_price=row["mark_price"] * spot,
                                bid_price=row["bid_price"] * spot, ask_price=row["ask_price"] * spot,
                                mark_iv=row["mark_iv"] + 0.2, underlying_price=row["underlying_price"] * 1.0001))
        futures.append({"instrument_name": f"{coin}_USDC-PERPETUAL", "mark_price": spot * 1.0002,
                        "funding_8h": 0.0001, "current_funding": 0.00002})
    return options, futures, synthetic_instruments(futures, linear=True)


BENCH_POLICY = """\
underlyings:
  BTC:
    band: {method: whalley_wilmott, risk_aversion: 1.0e-4, min_half_width: 0.5}
    instruments:
      - {name: BTC-PERPETUAL, taker_fee: 0.0005, half_spread: 0.00003, lot_size: 1, min_order: 1}
  ETH:
    band: {method: whalley_wilmott, risk_aversion: 1.0e-3, min_half_width: 5}
    instruments:
      - {name: ETH-PERPETUAL, taker_fee: 0.0005, half_spread: 0.00003, lot_size: 1, min_order: 1}
"""


def _book(chains: dict[str, tuple[dict, list[dict], list[dict]]]) -> str:
    """Every 25th option of each chain, short 10, and a perpetual hedge."""
    lines = ["name: bench book", "positions:"]
    for coin, (_, options, _) in chains.items():
        lines += [f"  - {{instrument: {row['instrument_name']}, quantity: -10}}" for row in options[::25]]
        lines.append(f"  - {{instrument: {coin}-PERPETUAL, quantity: 1000}}")
    return "\n".join(lines) + "\n"


def _serve(chains: dict[str, tuple[dict, list[dict], list[dict]]]):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from venue_server import Reply, VenueServer

    us_out = int((AS_OF - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1e6)

    def answer(result: object) -> Reply:
        return Reply({"jsonrpc": "2.0", "result": result, "usIn": us_out - 900, "usOut": us_out, "usDiff": 900,
                      "testnet": False})

    server = VenueServer().start()
    summary, instruments = "/api/v2/public/get_book_summary_by_currency", "/api/v2/public/get_instruments"
    for coin, (index, options, futures) in chains.items():
        server.route(f"/api/v2/public/get_index_price?index_name={coin.lower()}_usd", answer(index))
        server.route(f"{summary}?currency={coin}&kind=option", answer(options))
        server.route(f"{summary}?currency={coin}&kind=future", answer(futures))
        server.route(f"{instruments}?currency={coin}", answer(synthetic_instruments(futures, linear=False)))
    linear_options, linear_futures, linear_instruments = synthetic_linear(chains)
    server.route(f"{summary}?currency=USDC&kind=option", answer(linear_options))
    server.route(f"{summary}?currency=USDC&kind=future", answer(linear_futures))
    server.route(f"{instruments}?currency=USDC", answer(linear_instruments))
    return server


def _network_seconds(url: str, coins: list[str], repeat: int) -> float:
    """The GETs of a live check (four per coin, three for the USDC chain) made by a bare
    http.client loop (one connection): the network's (and the stand-in's) own time."""
    parts = urllib.parse.urlsplit(url)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        summary, instruments = "/api/v2/public/get_book_summary_by_currency", "/api/v2/public/get_instruments"
        paths = [path for coin in coins
                 for path in (f"/api/v2/public/get_index_price?index_name={coin.lower()}_usd",
                              f"{summary}?currency={coin}&kind=option", f"{summary}?currency={coin}&kind=future",
                              f"{instruments}?currency={coin}&kind=future&expired=false")]
        paths += [f"{summary}?currency=USDC&kind=option", f"{summary}?currency=USDC&kind=future",
                  f"{instruments}?currency=USDC&kind=future&expired=false"]
        for path in paths:
            connection.request("GET", path)
            connection.getresponse().read()
        connection.close()
        best = min(best, time.perf_counter() - start)
    return best


def _best_process(arguments: list[str], environment: dict[str, str], repeat: int) -> tuple[float, str]:
    best, last = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "hedgecore", *arguments], env=environment,
                                capture_output=True, text=True)
        best = min(best, time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"hedgecore {' '.join(arguments)} exited {result.returncode}: {result.stderr}")
        last = result.stdout
    return best, last


def bench_check_live(chains: dict[str, tuple[dict, list[dict], list[dict]]], repeat: int = 5) -> None:
    server = _serve(chains)
    try:
        with tempfile.TemporaryDirectory(prefix="hedgecore-bench-venues-") as folder:
            book, policy, market = Path(folder) / "book.yaml", Path(folder) / "policy.yaml", Path(folder) / "m.yaml"
            book.write_text(_book(chains))
            policy.write_text(BENCH_POLICY)
            environment = dict(os.environ, HEDGECORE_DERIBIT_URL=server.url,
                               HEDGECORE_JOURNAL=str(Path(folder) / "journal.sqlite"))
            coins = list(chains)
            underlyings = [a for coin in coins for a in ("-u", coin)]
            subprocess.run([sys.executable, "-m", "hedgecore", "market", "snapshot", "--venue", "deribit",
                            *underlyings, "-o", str(market)], env=environment, check=True, capture_output=True)
            common = ["--policy", str(policy), "-f", "json", "--no-journal"]
            probe = subprocess.run([sys.executable, "-m", "hedgecore", "check", "--help"], env=environment,
                                   capture_output=True, text=True)
            if "--no-journal" not in probe.stdout:
                common.remove("--no-journal")
            file_seconds, from_file = _best_process(["check", str(book), "--market", str(market), *common],
                                                    environment, repeat)
            live_seconds, live = _best_process(["check", str(book), "--venue", "deribit", *common],
                                               environment, repeat)
            network = _network_seconds(server.url, coins, repeat)
            same = json.loads(from_file) == json.loads(live)
            count = sum(len(c[1]) for c in chains.values())
            print(f"check on the snapshot file ({market.stat().st_size / 1e6:.1f} MB YAML, {count} options): "
                  f"{file_seconds * 1e3:.0f} ms wall")
            print(f"check --venue deribit against the local stand-in: {live_seconds * 1e3:.0f} ms wall "
                  f"(network and stand-in alone: {network * 1e3:.0f} ms)")
            print(f"--venue adds {(live_seconds - file_seconds - network) * 1e3:+.0f} ms to check beyond the "
                  f"network's own time (target < 500 ms); same JSON as from the file: {same}")
    finally:
        server.stop()


def main() -> None:
    from hedgecore.market import parse_market
    from hedgecore.venues import deribit

    chains = {"BTC": synthetic_chain("BTC", 96500.0, 12, 38), "ETH": synthetic_chain("ETH", 3420.0, 12, 25)}
    linear = synthetic_linear(chains)
    with_instruments = {coin: (*answers, synthetic_instruments(answers[2], linear=False))
                        for coin, answers in chains.items()}
    count = sum(len(c[1]) for c in chains.values())
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        snapshot = deribit.market_document(with_instruments, AS_OF, linear)
        parse_market(snapshot.document)
        best = min(best, time.process_time() - start)
    print(f"payload -> market object, {count} coin-settled + {len(linear[0])} USDC options (BTC + ETH) and "
          f"instruments: {best * 1e3:.1f} ms CPU (target < 300 ms)")
    probe = "import time; t = time.perf_counter(); import hedgecore.venues.deribit; print(time.perf_counter() - t)"
    base = "import hedgecore"
    seconds = float(subprocess.run([sys.executable, "-c", f"{base}; {probe}"], capture_output=True, text=True,
                                   check=True).stdout)
    print(f"import hedgecore.venues.deribit after hedgecore: {seconds * 1e3:.1f} ms")
    bench_check_live(chains)


if __name__ == "__main__":
    main()
