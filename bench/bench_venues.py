"""Venue snapshot speed: Deribit payloads of a full BTC + ETH chain (~1,500 options) to a
market document and a parsed Market, in CPU seconds (target < 0.3 s), and what
`import hedgecore.venues.deribit` costs. No network: the payloads are synthetic, shaped like
public/get_book_summary_by_currency's rows.

    python bench/bench_venues.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

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


def main() -> None:
    from hedgecore.market import parse_market
    from hedgecore.venues import deribit

    chains = {"BTC": synthetic_chain("BTC", 96500.0, 12, 38), "ETH": synthetic_chain("ETH", 3420.0, 12, 25)}
    count = sum(len(c[1]) for c in chains.values())
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        snapshot = deribit.market_document(chains, AS_OF)
        parse_market(snapshot.document)
        best = min(best, time.process_time() - start)
    print(f"payload -> market object, {count} options (BTC + ETH): {best * 1e3:.1f} ms CPU (target < 300 ms)")
    probe = "import time; t = time.perf_counter(); import hedgecore.venues.deribit; print(time.perf_counter() - t)"
    base = "import hedgecore"
    seconds = float(subprocess.run([sys.executable, "-c", f"{base}; {probe}"], capture_output=True, text=True,
                                   check=True).stdout)
    print(f"import hedgecore.venues.deribit after hedgecore: {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
