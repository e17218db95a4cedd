"""A scripted day: `check` every five minutes over replayed markets, fills recorded with
`hedgecore fill`, min_interval measured from the last recorded fill (honoured exactly at its
boundary), a limit breach trading through it, and the journal's history of the day.

The book is short USD-settled calls hedged with a linear perpetual; the index follows a
scripted path, so the net delta leaves its band at chosen times. Each action is checked
against an independent rule written here from the policy: inside the band "none"; outside,
"wait" when less than min_interval has passed since the last fill this test recorded and
no limit is breached, else "hedge".
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hedgecore.cli.main import app

START = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
MIN_INTERVAL = timedelta(minutes=30)
HALF_WIDTH = 1.0
MAX_ABS_DELTA = 4.0
OPTION = "BTC_USDC-25DEC26-100000-C"
PERPETUAL = "BTC_USDC-PERPETUAL"
# The index every five minutes from 08:00 (USD): a drift out of the band at 08:05, held
# there until the 08:30 boundary, a jump through the delta limit at 08:35, then calm.
PATH = [96500, 96800, 96820, 96840, 96860, 96880, 96900, 98000, 98010, 98020, 98000, 97990, 98000, 98010,
        98300, 98310, 98320, 98600, 98610, 98620, 98630, 98640, 98650, 98660, 98670]

POLICY = f"""\
underlyings:
  BTC:
    band: {{method: fixed, half_width: {HALF_WIDTH}}}
    rebalance_to: target
    min_interval: 30m
    instruments:
      - {{name: {PERPETUAL}, taker_fee: 0.0005, lot_size: 0.01, min_order: 0.01}}
    limits: {{max_abs_delta: {MAX_ABS_DELTA}}}
"""


def _market(moment: datetime, spot: float) -> str:
    return (f"as_of: {moment.isoformat()}\nrate: 0.0\nunderlyings:\n  BTC:\n    spot: {spot}\n"
            f"    perpetuals: {{{PERPETUAL}: {{price: {spot}, funding_rate_8h: 0.0}}}}\n"
            f"    vols: {{{OPTION}: 0.5}}\n")


def _book(perpetual_quantity: float) -> str:
    return (f"positions:\n  - {{instrument: {OPTION}, quantity: -200}}\n"
            f"  - {{instrument: {PERPETUAL}, quantity: {perpetual_quantity:.2f}}}\n")


def _invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_scripted_day_of_checks_and_fills(tmp_path: Path):
    journal = tmp_path / "day.sqlite"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    book = tmp_path / "book.yaml"
    perpetual = 100.0          # contracts of 1 BTC: starts far out of its band
    last_fill: datetime | None = None
    actions: list[tuple[datetime, str]] = []
    for step, spot in enumerate(PATH):
        moment = START + timedelta(minutes=5 * step)
        market = tmp_path / f"market_{moment:%H%M}.yaml"
        market.write_text(_market(moment, spot))
        book.write_text(_book(perpetual))
        result = _invoke("check", book, "--market", market, "--policy", policy, "--as-of", moment.isoformat(),
                         "--journal", journal, "--format", "json")
        assert result.exit_code in (0, 1), result.output
        (decision,) = json.loads(result.stdout)["underlyings"]
        net = decision["delta_before"]
        breached = abs(net) > MAX_ABS_DELTA
        if abs(net) <= HALF_WIDTH:
            expected = "none"
        elif last_fill is not None and moment - last_fill < MIN_INTERVAL and not breached:
            expected = "wait"
        else:
            expected = "hedge"
        assert decision["action"] == expected, (moment, net, last_fill, decision["reason"])
        assert result.exit_code == (1 if expected == "hedge" or breached else 0)
        actions.append((moment, decision["action"]))
        if expected == "hedge":
            (trade,) = json.loads(result.stdout)["trades"]
            filled = _invoke("fill", "--underlying", "BTC", "--instrument", trade["instrument"], "--side",
                             trade["side"], "--quantity", trade["quantity"], "--price", spot, "--fee-usd",
                             round(trade["fee_usd"], 2), "--at", moment.isoformat(), "--journal", journal)
            assert filled.exit_code == 0, filled.output
            perpetual += trade["quantity"] if trade["side"] == "buy" else -trade["quantity"]
            last_fill = moment

    by_time = dict(actions)
    at = lambda hh, mm: START.replace(hour=hh, minute=mm)  # noqa: E731
    assert by_time[at(8, 0)] == "hedge"
    assert [by_time[at(8, m)] for m in (5, 10, 15, 20, 25)] == ["wait"] * 5   # outside, inside min_interval
    assert by_time[at(8, 30)] == "hedge"       # exactly min_interval after the 08:00 fill
    assert by_time[at(8, 35)] == "hedge"       # 5 minutes later: the delta limit trades through
    assert "wait" in [action for moment, action in actions if moment > at(8, 35)]

    # the journal remembers the day: every check and every fill, in order
    history = json.loads(_invoke("history", "--journal", journal, "--format", "json").stdout)
    assert [run["as_of"] for run in history["runs"]] == [moment.isoformat().replace("+00:00", "Z")
                                                          for moment, _ in actions]
    assert [run["underlyings"][0]["action"] for run in history["runs"]] == [action for _, action in actions]
    hedges = [moment for moment, action in actions if action == "hedge"]
    assert [fill["at"] for fill in history["fills"]] == [m.isoformat().replace("+00:00", "Z") for m in hedges]
    # a window of the day
    window = json.loads(_invoke("history", "--journal", journal, "--format", "json", "--since", "2026-11-21T08:30:00Z",
                                "--until", "2026-11-21T08:35:00Z").stdout)
    assert [run["underlyings"][0]["action"] for run in window["runs"]] == ["hedge", "hedge"]
    assert len(window["fills"]) == 2
    # and explains the first half hour: the book held at 08:05 up to 08:30
    runs = {run["as_of"]: run["id"] for run in history["runs"]}
    explained = _invoke("explain", "--from", runs["2026-11-21T08:05:00Z"], "--to", runs["2026-11-21T08:30:00Z"],
                        "--journal", journal, "--format", "json")
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["underlyings"][0]["spot_to"] == 96900.0
