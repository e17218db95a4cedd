"""Gamma and vega hedging with listed options (hedgecore.option_hedge).

The solver's answers are checked against things it does not compute itself: the after-trade
Greeks against a full revaluation of the book with the trades added (hedgecore.valuation on
a new portfolio), the cheapest choice against a brute-force enumeration of every lot
combination on small chains, and fees against the venue's rule written out here.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from hedgecore.errors import ConfigError
from hedgecore.instruments import parse_instrument_name
from hedgecore.market import Market, parse_market
from hedgecore.option_hedge import (
    Chain,
    OptionHedge,
    OptionHedgePolicy,
    book_option_greeks,
    build_chain,
    hedge_underlying,
    margin_vega_weight,
    parse_option_hedge,
    solve_option_hedge,
)
from hedgecore.policy import parse_policy
from hedgecore.portfolio import Portfolio, Position, parse_portfolio
from hedgecore.valuation import value_book

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-21T08:00:00Z"
S = 100000.0
FUTURES = {"25DEC26": 100500.0, "26MAR27": 101800.0}
SMILES = {"25DEC26": {80000: 0.58, 100000: 0.5, 120000: 0.54}, "26MAR27": {80000: 0.6, 100000: 0.53, 130000: 0.55}}
# A short-gamma, short-vega coin-settled book.
SHORT_BOOK = [{"instrument": "BTC-25DEC26-100000-C", "quantity": -6}, {"instrument": "BTC-26MAR27-110000-C",
                                                                       "quantity": -4}]


def market(quotes: dict[str, dict[str, float]], **extra: Any) -> Market:
    btc: dict[str, Any] = {"spot": S, "futures": FUTURES, "smiles": SMILES, "quotes": quotes, **extra}
    return parse_market({"as_of": AS_OF, "rate": 0.04, "underlyings": {"BTC": btc}})


def rule(**section: Any) -> OptionHedgePolicy:
    section.setdefault("candidates", {"min_days": 1, "max_days": 200, "max_abs_delta": 1.0,
                                      "max_relative_spread": 1.0})
    return parse_option_hedge(section, "underlyings.BTC.option_hedge")


def solve(positions: list[dict[str, Any]], quotes: dict[str, dict[str, float]], section: dict[str, Any], *,
          measure: str = "usd") -> tuple[OptionHedge, Portfolio, Market]:
    portfolio = parse_portfolio({"positions": positions})
    data = market(quotes)
    book = value_book(portfolio, data)
    return hedge_underlying(portfolio, data, book, "BTC", rule(**section), measure=measure), portfolio, data


def revalued(portfolio: Portfolio, data: Market, result: OptionHedge) -> dict[str, Any]:
    """The book with the option trades added as positions, valued from scratch."""
    held = list(portfolio.positions)
    for k, trade in enumerate(result.trades):
        instrument = parse_instrument_name(trade.instrument)
        assert instrument is not None
        quantity = trade.quantity if trade.side == "buy" else -trade.quantity
        held.append(Position(f"trade-{k}", instrument, quantity, "options", "default", len(held)))
    new_portfolio = Portfolio("after option trades", tuple(held))
    book = value_book(new_portfolio, data)
    totals = book.totals_by_underlying()["BTC"]
    figures = book_option_greeks(new_portfolio, book, "BTC", result.measure, data.as_of)
    return {"totals": totals, "figures": figures}


def quote(bid: float, ask: float, bid_size: float | None = 50, ask_size: float | None = 50) -> dict[str, float]:
    out = {"bid": bid, "ask": ask}
    if bid_size is not None:
        out["bid_size"] = bid_size
    if ask_size is not None:
        out["ask_size"] = ask_size
    return out


COIN_QUOTES = {
    "BTC-25DEC26-100000-C": quote(0.0590, 0.0610),
    "BTC-25DEC26-110000-C": quote(0.0245, 0.0255),
    "BTC-25DEC26-90000-P": quote(0.0200, 0.0212),
    "BTC-26MAR27-100000-P": quote(0.0960, 0.0990),
    "BTC-26MAR27-120000-C": quote(0.0560, 0.0580),
}


# -- revaluation ---------------------------------------------------------------------------

@pytest.mark.parametrize("measure", ["usd", "coin"])
def test_after_trade_greeks_equal_a_full_revaluation(measure: str) -> None:
    section = {"gamma_usd_1pct": [-3000, 3000], "vega_usd": [-1500, 1500], "vega_usd_per_expiry": [-1200, 1200],
               "lot_size": 0.1, "max_contracts": 50}
    result, portfolio, data = solve(SHORT_BOOK, COIN_QUOTES, section, measure=measure)
    assert result.status == "hedged", result.reason()
    assert result.trades
    fresh = revalued(portfolio, data, result)
    delta_key = "delta_bs" if measure == "usd" else "delta_coin"
    assert fresh["totals"][delta_key] == pytest.approx(result.after.delta, rel=1e-9, abs=1e-9)
    assert fresh["totals"]["gamma_usd_1pct"] == pytest.approx(result.after.gamma_usd_1pct, rel=1e-9)
    assert fresh["totals"]["vega_usd"] == pytest.approx(result.after.vega_usd, rel=1e-9)
    for expiry, vega in fresh["figures"].vega_by_expiry.items():
        assert vega == pytest.approx(result.after.vega_by_expiry[expiry], rel=1e-9, abs=1e-6)
    # ... and the revalued book sits inside every band the solver promised.
    assert -3000 <= fresh["totals"]["gamma_usd_1pct"] <= 3000
    assert -1500 <= fresh["totals"]["vega_usd"] <= 1500
    assert all(-1200 <= v <= 1200 for v in fresh["figures"].vega_by_expiry.values())
    # Every figure the delta recommender reads moves by the trades' sum.
    before = value_book(portfolio, data).totals_by_underlying()["BTC"]
    for name, change in result.figure_changes().items():
        assert fresh["totals"][name] == pytest.approx(before[name] + change, rel=1e-9, abs=1e-9), name


def test_shipped_chain_hedges_the_shipped_book_and_revalues_to_the_prediction() -> None:
    load = lambda name: yaml.safe_load((REPO / "configs" / name).read_text())  # noqa: E731
    portfolio = parse_portfolio(load("btc_book.yaml"))
    data = parse_market(load("btc_market_quotes.yaml"))
    policy = parse_policy(load("btc_policy_options.yaml"))
    option_rule = policy.underlyings["BTC"].option_hedge
    assert option_rule is not None
    book = value_book(portfolio, data)
    result = hedge_underlying(portfolio, data, book, "BTC", option_rule)
    assert not result.inside_before
    assert result.status == "hedged", result.reason()
    fresh = revalued(portfolio, data, result)
    assert fresh["totals"]["gamma_usd_1pct"] == pytest.approx(result.after.gamma_usd_1pct, rel=1e-9)
    assert fresh["totals"]["vega_usd"] == pytest.approx(result.after.vega_usd, rel=1e-9)
    assert option_rule.gamma_usd_1pct.contains(fresh["totals"]["gamma_usd_1pct"])  # type: ignore[union-attr]
    assert option_rule.vega_usd.contains(fresh["totals"]["vega_usd"])  # type: ignore[union-attr]
    for trade in result.trades:
        shown = data.get("BTC").quotes[trade.instrument]   # type: ignore[union-attr]
        size = shown.ask_size if trade.side == "buy" else shown.bid_size
        assert size is None or trade.quantity <= size + 1e-9


# -- brute force ---------------------------------------------------------------------------

def brute_force(chain: Chain, result: OptionHedge, lot: float) -> tuple[float, float]:
    """(least total miss, cheapest cost among the choices with that miss) over every
    combination of whole lots bought and sold within the chain's limits."""
    rows = result.bands_before
    n = chain.size
    ranges = [range(int(chain.buy_lots[k]) + 1) for k in range(n)] + [range(int(chain.sell_lots[k]) + 1)
                                                                       for k in range(n)]
    grid = np.array(list(itertools.product(*ranges)), dtype=float)
    bought, sold = grid[:, :n], grid[:, n:]
    net = (bought - sold) * lot
    cost = bought @ (chain.buy_cost_usd * lot) + sold @ (chain.sell_cost_usd * lot)
    miss = np.zeros(len(grid))
    for row in rows:
        if row.name == "gamma_usd_1pct":
            value = row.before + net @ chain.per_contract["gamma_usd_1pct"]
        elif row.name == "vega_usd":
            value = row.before + net @ chain.per_contract["vega_usd"]
        else:
            code = row.name.split()[1]
            in_expiry = np.array([e.strftime("%d%b%y").upper().lstrip("0") == code for e in chain.expiry])
            value = row.before + net @ np.where(in_expiry, chain.per_contract["vega_usd"], 0.0)
        tolerance = 1e-6
        over = np.maximum(value - row.band.upper - tolerance, 0.0) + np.maximum(row.band.lower - tolerance - value, 0.0)
        miss += over / row.band.scale
    least = float(miss.min())
    best = float(cost[miss <= least + 1e-9].min())
    return least, best


SMALL_CHAIN = {
    "BTC-25DEC26-100000-C": quote(0.0590, 0.0610, bid_size=2, ask_size=3),
    "BTC-25DEC26-110000-C": quote(0.0245, 0.0255, bid_size=3, ask_size=2),
    "BTC-26MAR27-100000-P": quote(0.0960, 0.0990, bid_size=2, ask_size=3),
    "BTC-26MAR27-120000-C": quote(0.0560, 0.0580, bid_size=3, ask_size=3),
}


@pytest.mark.parametrize("section", [
    {"gamma_usd_1pct": [-9000, 9000], "vega_usd": [-4000, 4000]},
    {"gamma_usd_1pct": [-6000, 6000], "vega_usd": [-2500, 2500]},
    {"gamma_usd_1pct": [-8000, -1000], "vega_usd_per_expiry": [-1500, 1500]},
    {"vega_usd": [-1000, 1000], "vega_usd_per_expiry": [-2000, 2000]},
    {"gamma_usd_1pct": [-4000, 4000], "vega_usd": [-3000, 3000],
     "fees": {"rate_of_underlying": 0.0, "cap_of_price": 0.0}},
])
def test_small_chains_cost_what_brute_force_finds_cheapest(section: dict[str, Any]) -> None:
    section = {**section, "lot_size": 1, "max_contracts": 3}
    result, _, data = solve(SHORT_BOOK, SMALL_CHAIN, section)
    chain = build_chain(data, "BTC", rule(**section))
    assert chain.size == 4
    assert not result.inside_before
    least_miss, cheapest = brute_force(chain, result, 1.0)
    assert least_miss == 0.0, "the parameters should leave a feasible choice"
    assert result.status == "hedged", result.reason()
    assert result.optimality_gap_usd == pytest.approx(0.0, abs=1e-9)
    assert result.cost_usd == pytest.approx(cheapest, rel=1e-9, abs=1e-9)
    assert all(row.band.contains(row.before) for row in result.bands_after)


def test_an_unreachable_band_gives_the_closest_trades_and_names_the_band() -> None:
    section = {"gamma_usd_1pct": [-500, 500], "vega_usd": [-4000, 4000], "lot_size": 1, "max_contracts": 3}
    result, _, data = solve(SHORT_BOOK, SMALL_CHAIN, section)
    chain = build_chain(data, "BTC", rule(**section))
    least_miss, cheapest = brute_force(chain, result, 1.0)
    assert least_miss > 0.0
    assert result.status == "closest"
    assert result.binding
    assert all("gamma_usd_1pct" in text for text in result.binding), result.binding
    assert "cannot meet every band" in result.reason()
    missed = sum(max(r.before - r.band.upper, r.band.lower - r.before, 0.0) / r.band.scale
                 for r in result.bands_after)
    assert missed == pytest.approx(least_miss, rel=1e-6)
    assert result.cost_usd == pytest.approx(cheapest, rel=1e-6)
    assert result.trades   # closer than doing nothing: never a silent empty answer


def test_no_candidates_leaves_every_band_binding() -> None:
    section = {"gamma_usd_1pct": [-500, 500], "candidates": {"min_days": 300, "max_days": 400}}
    portfolio = parse_portfolio({"positions": SHORT_BOOK})
    data = market(SMALL_CHAIN)
    result = hedge_underlying(portfolio, data, value_book(portfolio, data), "BTC",
                              parse_option_hedge(section, "option_hedge"))
    assert result.status == "closest"
    assert not result.trades
    assert result.binding == [f"gamma_usd_1pct {result.before.gamma_usd_1pct:,.6g} below -500"]
    assert result.skipped == {"expiry outside 300-400 days": 4}


def test_a_book_inside_its_bands_trades_nothing() -> None:
    section = {"gamma_usd_1pct": [-1e6, 1e6], "vega_usd": [-1e6, 1e6], "vega_usd_per_expiry": [-1e6, 1e6]}
    result, _, _ = solve(SHORT_BOOK, COIN_QUOTES, section)
    assert result.status == "inside"
    assert result.inside_before
    assert result.trades == []
    assert result.cost_usd == 0.0
    assert result.after.gamma_usd_1pct == result.before.gamma_usd_1pct
    assert "no option trades" in result.reason()


# -- costs, lots, sizes --------------------------------------------------------------------

def test_fee_is_the_rate_of_the_underlying_capped_at_a_share_of_the_price() -> None:
    quotes = {"BTC-25DEC26-130000-C": quote(0.0010, 0.0012),     # cheap: the 12.5% cap binds
              "BTC-25DEC26-100000-C": quote(0.0590, 0.0610)}     # dear: 0.0003 BTC binds
    data = market(quotes)
    chain = build_chain(data, "BTC", rule(gamma_usd_1pct=[-1, 1]))
    by_name = {inst.name: k for k, inst in enumerate(chain.instruments)}
    cheap, dear = by_name["BTC-25DEC26-130000-C"], by_name["BTC-25DEC26-100000-C"]
    assert chain.buy_fee_usd[cheap] == pytest.approx(0.125 * 0.0012 * S)
    assert chain.sell_fee_usd[cheap] == pytest.approx(0.125 * 0.0010 * S)
    assert chain.buy_fee_usd[dear] == pytest.approx(0.0003 * S)
    assert chain.half_spread_buy_usd[dear] == pytest.approx(0.0010 * S)
    # Fees written in the policy replace the venue's rule.
    custom = build_chain(data, "BTC", rule(gamma_usd_1pct=[-1, 1], fees={"rate_of_underlying": 0.0001,
                                                                          "cap_of_price": 0.5}))
    assert custom.buy_fee_usd[dear] == pytest.approx(0.0001 * S)
    assert custom.buy_fee_usd[cheap] == pytest.approx(0.0001 * S)


def test_a_trade_reports_its_costs_in_usd() -> None:
    section = {"gamma_usd_1pct": [-3000, 3000], "lot_size": 0.1, "max_contracts": 50}
    result, _, _ = solve(SHORT_BOOK, COIN_QUOTES, section)
    for trade in result.trades:
        shown = COIN_QUOTES[trade.instrument]
        mid = 0.5 * (shown["bid"] + shown["ask"])
        price = shown["ask"] if trade.side == "buy" else shown["bid"]
        assert trade.price == price
        assert trade.currency == "BTC"
        assert trade.spread_usd == pytest.approx(abs(price - mid) * S * trade.quantity)
        assert trade.fee_usd == pytest.approx(min(0.0003 * S, 0.125 * price * S) * trade.quantity)
        assert trade.as_dict()["est_cost_usd"] == pytest.approx(trade.fee_usd + trade.spread_usd)


def test_quantities_are_whole_lots_within_displayed_size() -> None:
    quotes = {"BTC-25DEC26-100000-C": quote(0.0590, 0.0610, ask_size=1.7),
              "BTC-26MAR27-120000-C": quote(0.0560, 0.0580, ask_size=None)}
    section = {"gamma_usd_1pct": [-2000, 2000], "lot_size": 0.5, "max_contracts": 40}
    result, _, data = solve(SHORT_BOOK, quotes, section)
    chain = build_chain(data, "BTC", rule(**section))
    lots = dict(zip((i.name for i in chain.instruments), chain.buy_lots, strict=True))
    assert lots == {"BTC-25DEC26-100000-C": 3, "BTC-26MAR27-120000-C": 80}   # 1.7 -> 1.5; no size -> 40
    assert result.status == "hedged", result.reason()
    bought = {t.instrument: t.quantity for t in result.trades if t.side == "buy"}
    for quantity in bought.values():
        assert quantity / 0.5 == pytest.approx(round(quantity / 0.5), abs=1e-9)
    # The December call is the cheaper gamma but shows only 1.7: the rest comes from March.
    assert bought.get("BTC-25DEC26-100000-C", 0.0) <= 1.5
    assert bought.get("BTC-26MAR27-120000-C", 0.0) > 0.0


def test_max_contracts_caps_each_side() -> None:
    section = {"gamma_usd_1pct": [-2000, 2000], "lot_size": 0.1, "max_contracts": 0.5}
    result, _, _ = solve(SHORT_BOOK, COIN_QUOTES, section)
    assert all(t.quantity <= 0.5 + 1e-12 for t in result.trades)


def test_candidate_filters() -> None:
    quotes = {**COIN_QUOTES, "BTC-25DEC26-60000-C": quote(0.40, 0.41),      # |delta| ~ 1
              "BTC-25DEC26-105000-C": quote(0.020, 0.060),                      # spread 100% of mid
              "BTC-25DEC26-100000-P": {"bid": 0.05},                            # one-sided
              "ETH-25DEC26-3000-C": quote(0.1, 0.11)}
    data = market(quotes)
    chain = build_chain(data, "BTC", rule(gamma_usd_1pct=[-1, 1], candidates={
        "min_days": 1, "max_days": 60, "max_abs_delta": 0.9, "max_relative_spread": 0.3}))
    assert sorted(i.name for i in chain.instruments) == ["BTC-25DEC26-100000-C", "BTC-25DEC26-110000-C",
                                                          "BTC-25DEC26-90000-P"]
    assert chain.skipped == {"expiry outside 1-60 days": 2, "|delta| above 0.9": 1, "spread above 0.3 of the mid": 1,
                             "one-sided quote (no mid to measure the spread from)": 1, "not an option on BTC": 1}


def test_candidates_without_a_vol_take_the_smile_and_a_quoted_vol_wins() -> None:
    name = "BTC-25DEC26-110000-C"
    plain = build_chain(market({name: quote(0.0245, 0.0255)}), "BTC", rule(gamma_usd_1pct=[-1, 1]))
    quoted = build_chain(market({name: quote(0.0245, 0.0255)}, vols={name: 0.7}), "BTC", rule(gamma_usd_1pct=[-1, 1]))
    portfolio = parse_portfolio({"positions": [{"instrument": name, "quantity": 1}]})
    for chain, data in ((plain, market({})), (quoted, market({}, vols={name: 0.7}))):
        book = value_book(portfolio, data)
        assert chain.per_contract["vega_usd"][0] == pytest.approx(book.vega_usd[0], rel=1e-12)
    assert quoted.per_contract["vega_usd"][0] != pytest.approx(plain.per_contract["vega_usd"][0], rel=1e-3)


# -- settlement ----------------------------------------------------------------------------

def test_usdc_settled_chain_in_usd_and_revaluation() -> None:
    quotes = {"BTC_USDC-25DEC26-100000-C": quote(5900.0, 6100.0), "BTC_USDC-26MAR27-120000-C": quote(5500.0, 5800.0),
              "BTC_USDC-25DEC26-90000-P": quote(2000.0, 2100.0)}
    positions = [{"instrument": "BTC_USDC-25DEC26-100000-C", "quantity": -6},
                 {"instrument": "BTC_USDC-26MAR27-110000-C", "quantity": -4}]
    section = {"gamma_usd_1pct": [-3000, 3000], "vega_usd": [-1500, 1500], "lot_size": 0.1, "max_contracts": 50}
    result, portfolio, data = solve(positions, quotes, section)
    assert result.status == "hedged", result.reason()
    for trade in result.trades:
        shown = quotes[trade.instrument]
        price = shown["ask"] if trade.side == "buy" else shown["bid"]
        assert trade.currency == "USDC"
        assert trade.price == price
        # USDC options: 0.0005 x index per contract, capped at 12.5% of the premium, in USD.
        assert trade.fee_usd == pytest.approx(min(0.0005 * S, 0.125 * price) * trade.quantity)
        assert trade.spread_usd == pytest.approx(abs(price - 0.5 * (shown["bid"] + shown["ask"])) * trade.quantity)
    fresh = revalued(portfolio, data, result)
    assert fresh["totals"]["gamma_usd_1pct"] == pytest.approx(result.after.gamma_usd_1pct, rel=1e-9)
    assert fresh["totals"]["vega_usd"] == pytest.approx(result.after.vega_usd, rel=1e-9)
    assert fresh["totals"]["delta_bs"] == pytest.approx(result.after.delta, rel=1e-9)


def test_margin_weighted_vega_per_expiry() -> None:
    section = {"vega_usd_per_expiry": [-600, 600], "vega_weighting": "margin", "lot_size": 0.1,
               "max_contracts": 50}
    result, portfolio, data = solve(SHORT_BOOK, COIN_QUOTES, section)
    assert result.status == "hedged", result.reason()
    fresh = revalued(portfolio, data, result)["figures"]
    for expiry, vega in fresh.vega_by_expiry.items():
        days = (expiry - datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))).total_seconds() / 86400
        weight = (30 / days) ** (0.3 if days < 30 else 0.13)
        assert float(margin_vega_weight(days)) == pytest.approx(weight)
        assert -600 - 1e-6 <= vega * weight <= 600 + 1e-6
        assert result.after.vega_by_expiry_weighted[expiry] == pytest.approx(vega * weight, rel=1e-9)
    assert [row.name for row in result.bands_before] == ["vega_usd 25DEC26 (margin-weighted)",
                                                          "vega_usd 26MAR27 (margin-weighted)"]


# -- policy --------------------------------------------------------------------------------

@pytest.mark.parametrize(("section", "path", "message"), [
    ({"gamma_usd_1pct": [5, -5]}, "underlyings.BTC.option_hedge.gamma_usd_1pct", "lower 5 is above upper -5"),
    ({"gamma_usd_1pct": 5}, "underlyings.BTC.option_hedge.gamma_usd_1pct", "must be a band"),
    ({"vega_usd": [0, "x"]}, "underlyings.BTC.option_hedge.vega_usd[1]", ""),
    ({"lot_size": 0.1}, "underlyings.BTC.option_hedge", "needs at least one band"),
    ({"vega_usd": [-1, 1], "lot_size": -1}, "underlyings.BTC.option_hedge.lot_size", "must be > 0"),
    ({"vega_usd": [-1, 1], "candidates": {"min_days": 10, "max_days": 5}},
     "underlyings.BTC.option_hedge.candidates.max_days", "below min_days"),
    ({"vega_usd": [-1, 1], "fees": {"cap_of_price": 2}}, "underlyings.BTC.option_hedge.fees.cap_of_price", "at most 1"),
    ({"vega_usd": [-1, 1], "vega_weighting": "lyra"}, "underlyings.BTC.option_hedge.vega_weighting", ""),
    ({"vega_usd": [-1, 1], "gama_usd_1pct": [0, 1]}, "underlyings.BTC.option_hedge", "gamma_usd_1pct"),
])
def test_policy_errors_name_the_field(section: dict[str, Any], path: str, message: str) -> None:
    document = {"underlyings": {"BTC": {"band": {"method": "fixed", "half_width": 1},
                                        "instruments": [{"name": "BTC-PERPETUAL"}], "option_hedge": section}}}
    with pytest.raises(ConfigError) as caught:
        parse_policy(document)
    assert caught.value.path.startswith(path), caught.value
    assert message in str(caught.value)


def test_policy_without_option_hedge_keeps_none() -> None:
    policy = parse_policy(yaml.safe_load((REPO / "configs" / "btc_policy.yaml").read_text()))
    assert policy.underlyings["BTC"].option_hedge is None
    options = parse_policy(yaml.safe_load((REPO / "configs" / "btc_policy_options.yaml").read_text()))
    section = options.underlyings["BTC"].option_hedge
    assert section is not None
    assert section.lot_size == 0.1
    assert section.max_contracts == 500
    assert (section.gamma_usd_1pct.lower, section.gamma_usd_1pct.upper) == (-15000, 15000)  # type: ignore[union-attr]


def test_scipy_is_imported_only_to_solve() -> None:
    code = (
        "import sys, yaml\n"
        "import hedgecore, hedgecore.option_hedge, hedgecore.hedging\n"
        "from hedgecore.policy import parse_policy\n"
        "parse_policy(yaml.safe_load(open('configs/btc_policy_options.yaml')))\n"
        "assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules), 'scipy imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_instrument_names_of_the_shipped_quotes_parse() -> None:
    data = yaml.safe_load((REPO / "configs" / "btc_market_quotes.yaml").read_text())
    names = list(data["underlyings"]["BTC"]["quotes"])
    assert len(names) > 50
    assert all(parse_instrument_name(name) is not None for name in names)
    assert not math.isnan(len(names))


def test_solve_option_hedge_accepts_an_empty_chain_inside() -> None:
    portfolio = parse_portfolio({"positions": SHORT_BOOK})
    data = market({})
    section = rule(gamma_usd_1pct=[-1e9, 1e9])
    chain = build_chain(data, "BTC", section)
    before = book_option_greeks(portfolio, value_book(portfolio, data), "BTC", "usd", data.as_of)
    assert solve_option_hedge(chain, section, before).status == "inside"
