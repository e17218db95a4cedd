"""`hedgecore quote`: the contract behaviours of inventory-skewed quotes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.errors import ConfigError
from hedgecore.market import parse_market
from hedgecore.portfolio import parse_portfolio
from hedgecore.quoting.config import parse_quoting
from hedgecore.quoting.options import quote_book

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MARKET = parse_market(yaml.safe_load((CONFIGS / "btc_market.yaml").read_text()))
QUOTING = {
    "underlyings": {"BTC": {
        "instruments": {"names": ["BTC-PERPETUAL"],
                        "filter": {"expiries": ["25DEC26", "26MAR27"],
                                   "strikes": {"min": 80000, "max": 120000, "step": 10000}}},
        "order_size": {"option": 5, "perpetual": 20000},
        "risk_aversion": {"delta": 0.5, "vega": 0.0004, "gamma": 0.0},
        "intensity": {"option": {"A": 2.0, "k": 2000}, "perpetual": {"A": 60, "k": 0.2}},
        "fees": {"option_maker": 0.0003, "option_cap": 0.125},
    }}}


def book(*positions):
    """A portfolio; a flat book is one perpetual position of zero contracts."""
    items = [{"instrument": name, "quantity": quantity} for name, quantity in positions]
    return parse_portfolio({"positions": items or [{"instrument": "BTC-PERPETUAL", "quantity": 0}]})


def quotes(portfolio, config=None):
    sheet = quote_book(portfolio, MARKET, parse_quoting(config or QUOTING))
    return sheet, {q.instrument: q for q in sheet.quotes}


def test_flat_book_quotes_symmetric_about_the_mark():
    sheet, by_name = quotes(book())
    assert len(by_name) == 1 + 2 * 5 * 2
    for q in by_name.values():
        assert q.skew == 0.0
        assert q.reservation == q.mark
        assert q.bid is not None
        assert q.ask is not None
        assert q.mark - q.bid == pytest.approx(q.ask - q.mark, rel=1e-12)
    assert sheet.inventory["BTC"].delta == 0.0


def test_long_vega_lowers_both_sides_of_every_positive_vega_option():
    _, flat = quotes(book())
    sheet, long_vega = quotes(book(("BTC-25DEC26-100000-C", 50), ("BTC-25DEC26-100000-P", 50),
                                   ("BTC-26MAR27-100000-C", 50), ("BTC-26MAR27-100000-P", 50)))
    inventory = sheet.inventory["BTC"]
    assert all(v > 0 for v in inventory.vega_usd_by_expiry.values())
    options = [name for name, q in long_vega.items() if q.kind == "option"]
    assert options
    # the straddles are nearly delta-neutral, the delta term is switched off to isolate vega
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["risk_aversion"]["delta"] = 0.0
    _, vega_only = quotes(book(("BTC-25DEC26-100000-C", 50), ("BTC-25DEC26-100000-P", 50),
                               ("BTC-26MAR27-100000-C", 50), ("BTC-26MAR27-100000-P", 50)), config)
    for name in options:
        q, f = vega_only[name], flat[name]
        assert q.vega_usd > 0
        assert q.skew < 0
        assert q.bid < f.bid, name
        assert q.ask < f.ask, name


def test_short_delta_raises_the_perpetual_quotes():
    _, flat = quotes(book())
    sheet, short = quotes(book(("BTC-PERPETUAL", -200000)))     # 2m USD of inverse perpetual short
    assert sheet.inventory["BTC"].delta < -15
    perp, base = short["BTC-PERPETUAL"], flat["BTC-PERPETUAL"]
    assert perp.bid > base.bid
    assert perp.ask > base.ask
    # the skew is the delta risk aversion times the book delta (USD per coin)
    assert perp.skew == pytest.approx(-0.5 * sheet.inventory["BTC"].delta, rel=1e-12)


def test_spread_never_below_the_maker_fee():
    config = json.loads(json.dumps(QUOTING))
    underlying = config["underlyings"]["BTC"]
    underlying["intensity"] = {"option": {"A": 2.0, "k": 1e7}, "perpetual": {"A": 60, "k": 1e3}}  # base ~ 0
    underlying["fees"] = {"option_maker": 0.0003, "option_cap": 0.125, "perpetual_maker": 0.0002}
    _, by_name = quotes(book(("BTC-25DEC26-100000-C", -20)), config)
    for q in by_name.values():
        assert q.fee > 0
        assert q.ask - q.bid >= 2 * q.fee * (1 - 1e-12), q.instrument
    perp = by_name["BTC-PERPETUAL"]
    assert perp.fee == pytest.approx(0.0002 * perp.mark)
    cheap = min((q for q in by_name.values() if q.kind == "option"), key=lambda q: q.mark)
    assert cheap.fee == pytest.approx(min(0.0003, 0.125 * cheap.mark))


def test_a_side_that_would_breach_a_limit_is_not_quoted():
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["limits"] = {"delta": 10.0}
    # long 9.5 BTC of delta: buying 20000 contracts (~2 BTC) of perpetual would pass 10
    sheet, by_name = quotes(book(("BTC-PERPETUAL", 91700)), config)
    assert 9.0 < sheet.inventory["BTC"].delta < 10.0
    perp = by_name["BTC-PERPETUAL"]
    assert perp.bid is None
    assert perp.bid_size is None
    assert perp.ask is not None
    assert perp.ask_size == 20000
    # an option whose purchase adds more than 0.5 BTC of delta loses its bid; puts keep theirs
    for q in by_name.values():
        if q.kind == "option":
            adds = q.delta * 5
            assert (q.bid is None) == (sheet.inventory["BTC"].delta + adds > 10.0), q.instrument


def test_position_limit_by_kind():
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["limits"] = {"position": {"option": 12}}
    _, by_name = quotes(book(("BTC-25DEC26-100000-C", -10)), config)
    q = by_name["BTC-25DEC26-100000-C"]
    assert q.ask is None
    assert q.bid is not None
    assert by_name["BTC-PERPETUAL"].bid is not None      # no limit on the perpetual


def test_quote_command_json_schema_and_units(tmp_path):
    quoting = tmp_path / "quoting.yaml"
    quoting.write_text(yaml.safe_dump(QUOTING))
    result = CliRunner().invoke(app, ["quote", str(CONFIGS / "btc_book.yaml"), "--market",
                                      str(CONFIGS / "btc_market.yaml"), "--quoting", str(quoting), "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["as_of"] == "2026-11-21T08:00:00Z"
    for key in ("instrument", "mark", "reservation", "bid", "ask", "bid_size", "ask_size", "skew"):
        assert all(key in q for q in document["quotes"])
    by_name = {q["instrument"]: q for q in document["quotes"]}
    assert by_name["BTC-25DEC26-100000-C"]["mark"] < 1.0        # coin
    assert by_name["BTC-PERPETUAL"]["mark"] == 96530.0           # USD
    inventory = document["inventory"]["BTC"]
    assert set(inventory) >= {"delta", "gamma_usd_1pct", "vega_usd", "vega_usd_by_expiry"}
    # the skew came from those Greeks: the perpetual's is -delta_ra x book delta
    assert by_name["BTC-PERPETUAL"]["skew"] == pytest.approx(-0.5 * inventory["delta"])


def test_shipped_example_runs_as_table_and_csv():
    runner = CliRunner()
    base = ["quote", str(CONFIGS / "btc_book.yaml"), "-m", str(CONFIGS / "btc_market.yaml"),
            "-q", str(CONFIGS / "btc_quoting.yaml")]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "BTC-PERPETUAL" in table.output
    assert "inventory" in table.output
    csv = runner.invoke(app, [*base, "-f", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.stdout.splitlines()[0].startswith("instrument,mark,reservation,bid,ask,bid_size,ask_size,skew")


def test_bad_quoting_field_is_one_line_with_file_and_line(tmp_path):
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["risk_aversion"]["vega"] = -1
    quoting = tmp_path / "quoting.yaml"
    quoting.write_text(yaml.safe_dump(config, sort_keys=False))
    result = CliRunner().invoke(app, ["quote", str(CONFIGS / "btc_book.yaml"), "-m",
                                      str(CONFIGS / "btc_market.yaml"), "-q", str(quoting)])
    assert result.exit_code == 2, result.output
    line = next(n for n, text in enumerate(quoting.read_text().splitlines(), 1) if "vega:" in text)
    assert f"quoting.yaml:{line}: underlyings.BTC.risk_aversion.vega: must be >= 0" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_intensity_estimated_from_a_fills_csv(tmp_path):
    from tests.test_quoting_intensity import simulate_fills_csv

    simulate_fills_csv(tmp_path / "fills.csv", np.random.default_rng(9), a_per_hour=60.0, k=0.2, n_per_side=400)
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["intensity"]["perpetual"] = {"fills_csv": "fills.csv"}
    quoting = tmp_path / "quoting.yaml"
    quoting.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["quote", str(CONFIGS / "btc_book.yaml"), "-m",
                                      str(CONFIGS / "btc_market.yaml"), "-q", str(quoting), "-f", "json"])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)["intensity"]["BTC"]["perpetual"]
    assert fitted["source"].endswith("fills.csv")
    assert fitted["k_interval"][0] < 0.2 < fitted["k_interval"][1]
    assert fitted["A_interval"][0] < 60.0 < fitted["A_interval"][1]


def test_config_refuses_fills_csv_without_an_estimator():
    config = json.loads(json.dumps(QUOTING))
    config["underlyings"]["BTC"]["intensity"]["option"] = {"fills_csv": "x.csv"}
    with pytest.raises(ConfigError, match=r"intensity\.option\.fills_csv"):
        parse_quoting(config)
    assert math.isfinite(1.0)
