"""`hedge` and `check` with an option_hedge policy section, on the shipped BTC configs.

The JSON keys, the table's order (option trades above the delta trade), the exit codes
(check exits 1 when gamma or vega sits outside its band, even with the delta inside), and
the after-trade Greeks against a full revaluation of the book with every trade added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.instruments import parse_instrument_name
from hedgecore.market import parse_market
from hedgecore.portfolio import Portfolio, Position, parse_portfolio
from hedgecore.valuation import value_book

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "configs" / "btc_book.yaml"
MARKET = REPO / "configs" / "btc_market_quotes.yaml"
POLICY = REPO / "configs" / "btc_policy_options.yaml"
TRADE_KEYS = {"instrument", "side", "quantity", "price", "fee_usd", "spread_usd", "est_cost_usd", "delta_change",
              "gamma_usd_1pct_change", "vega_usd_change"}


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def policy_with(tmp_path: Path, **changes: Any) -> Path:
    """The shipped option policy with keys of underlyings.BTC (and its option_hedge) replaced."""
    document = yaml.safe_load(POLICY.read_text())
    btc = document["underlyings"]["BTC"]
    btc["option_hedge"].update(changes.pop("option_hedge", {}))
    btc.update(changes)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_hedge_json_adds_option_trades_and_greeks_after() -> None:
    result = run("hedge", BOOK, "--market", MARKET, "--policy", POLICY, "--format", "json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["underlyings"][0]
    trades = entry["option_trades"]
    assert trades
    for trade in trades:
        assert TRADE_KEYS <= set(trade)
        assert trade["side"] in ("buy", "sell")
        assert trade["est_cost_usd"] == pytest.approx(trade["fee_usd"] + trade["spread_usd"])
    after = entry["greeks_after"]
    assert set(after) == {"delta", "gamma_usd_1pct", "vega_usd"}
    assert after["delta"] == entry["delta_after"]
    assert -15000 <= after["gamma_usd_1pct"] <= 15000
    assert -8000 <= after["vega_usd"] <= 8000
    assert entry["greeks_before"]["gamma_usd_1pct"] == entry["gamma_usd_1pct"]
    assert entry["option_hedge"]["status"] == "hedged"
    # The delta trade starts from the delta the option trades leave.
    start = entry["option_hedge"]["delta_after_options"]
    assert start == pytest.approx(entry["delta_before"] + sum(t["delta_change"] for t in trades))
    assert entry["delta_after"] == pytest.approx(start + entry["alternatives"][0]["delta_change"])
    assert -0.5 <= entry["delta_after"] <= 0.5

    # A full revaluation of the book with every recommended trade gives greeks_after.
    portfolio = parse_portfolio(yaml.safe_load(BOOK.read_text()))
    market = parse_market(yaml.safe_load(MARKET.read_text()))
    held = list(portfolio.positions)
    for trade in [*trades, entry["alternatives"][0]]:
        instrument = parse_instrument_name(trade["instrument"])
        assert instrument is not None
        sign = 1.0 if trade["side"] == "buy" else -1.0
        held.append(Position(f"t{len(held)}", instrument, sign * trade["quantity"], "t", "default", len(held)))
    totals = value_book(Portfolio("after", tuple(held)), market).totals_by_underlying()["BTC"]
    assert totals["delta_bs"] == pytest.approx(after["delta"], rel=1e-9)
    assert totals["gamma_usd_1pct"] == pytest.approx(after["gamma_usd_1pct"], rel=1e-9)
    assert totals["vega_usd"] == pytest.approx(after["vega_usd"], rel=1e-9)


def test_hedge_table_lists_option_trades_above_the_delta_trade() -> None:
    result = run("hedge", BOOK, "--market", MARKET, "--policy", POLICY)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    option_rows = [k for k, line in enumerate(lines) if " option sell " in line or " option buy " in line]
    delta_row = next(k for k, line in enumerate(lines) if "BTC-PERPETUAL" in line)
    assert option_rows
    assert max(option_rows) < delta_row
    assert "Greeks before and after" in result.stdout
    assert "gamma_usd_1pct" in result.stdout


def test_check_exits_1_when_gamma_is_outside_its_band_with_the_delta_inside(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, band={"method": "fixed", "half_width": 50})
    result = run("check", BOOK, "--market", MARKET, "--policy", policy, "--as-of", "2026-11-21T08:00:00Z",
                 "--format", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    entry = document["underlyings"][0]
    assert document["status"] == "action"
    assert entry["action"] == "none"      # the delta alone would need nothing
    assert entry["option_trades"]


def test_check_exits_0_when_every_band_holds(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, band={"method": "fixed", "half_width": 50},
                         option_hedge={"gamma_usd_1pct": [-50000, 50000], "vega_usd": [-20000, 20000],
                                       "vega_usd_per_expiry": [-10000, 10000]})
    result = run("check", BOOK, "--market", MARKET, "--policy", policy, "--as-of", "2026-11-21T08:00:00Z",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["underlyings"][0]
    assert entry["option_trades"] == []
    assert entry["option_hedge"]["status"] == "inside"


def test_check_plain_lines_name_the_binding_band(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, option_hedge={"gamma_usd_1pct": [-100, 100], "max_contracts": 0.3})
    result = run("check", BOOK, "--market", MARKET, "--policy", policy, "--as-of", "2026-11-21T08:00:00Z")
    assert result.exit_code == 1, result.output
    assert "cannot meet every band" in result.stdout
    assert "gamma_usd_1pct" in result.stdout
    assert "OPTION " in result.stdout


def test_a_bad_option_hedge_key_is_named_with_its_line(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, option_hedge={"gamma_usd_1pct": [20000, -20000]})
    result = run("hedge", BOOK, "--market", MARKET, "--policy", policy)
    assert result.exit_code == 2, result.output
    text = result.output
    assert "policy.yaml:" in text
    assert "option_hedge.gamma_usd_1pct" in text
    assert "Traceback" not in text


def test_without_option_hedge_the_document_has_no_option_keys() -> None:
    result = run("hedge", BOOK, "--market", MARKET, "--policy", REPO / "configs" / "btc_policy.yaml",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["underlyings"][0]
    assert "option_trades" not in entry
    assert "greeks_after" not in entry
