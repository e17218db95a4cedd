"""Numbers that were wrong before issue 9, each checked against something independent.

- the coin measure (Deribit's DeltaTotal) against a finite difference of a hand revaluation
  (Black-76 written out here with math.erf, not hedgecore's kernels);
- expired options and futures against their settlement payoff;
- coin-settled rho against revaluation at another rate;
- last_hedge_at in the future, the limit-breach override of min_interval, default ids,
  market and policy plausibility, the market age check of `check` and `--as-of now`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app
from hedgecore.errors import ConfigError
from hedgecore.hedging import format_elapsed, plan_hedges
from hedgecore.market import parse_market
from hedgecore.policy import parse_policy
from hedgecore.portfolio import parse_portfolio
from hedgecore.valuation import value_book

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
AS_OF = "2026-11-21T08:00:00Z"
EXPIRY = datetime(2026, 12, 25, 8, tzinfo=timezone.utc)
TAU = (EXPIRY - datetime(2026, 11, 21, 8, tzinfo=timezone.utc)).total_seconds() / (365 * 86400)
S, F, R = 100000.0, 101000.0, 0.04
# Perpetual marks at the index: hedgecore takes a linear perpetual's delta as q (dP/dS = 1)
# and an inverse one's as N/P (P/S fixed); with the mark at the index the two agree.
PERP_PRICE = S
MARKET: dict[str, Any] = {"as_of": AS_OF, "rate": R, "underlyings": {"BTC": {
    "spot": S, "futures": {"25DEC26": F},
    "perpetuals": {"BTC-PERPETUAL": {"price": PERP_PRICE}, "BTC_USDC-PERPETUAL": {"price": PERP_PRICE}},
    "vols": {"BTC-25DEC26-105000-C": 0.5, "BTC_USDC-25DEC26-95000-P": 0.55}}}}

INVERSE_CALL = {"instrument": "BTC-25DEC26-105000-C", "quantity": -30}
LINEAR_PUT = {"instrument": "BTC_USDC-25DEC26-95000-P", "quantity": 40}
INVERSE_PERP = {"instrument": "BTC-PERPETUAL", "quantity": 50000}       # 500k USD
LINEAR_PERP = {"instrument": "BTC_USDC-PERPETUAL", "quantity": 3}
COIN_HELD = {"type": "spot", "underlying": "BTC", "quantity": 7}


def ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black76(fwd: float, strike: float, vol: float, rate: float, is_call: bool) -> float:
    sd = vol * math.sqrt(TAU)
    d1 = math.log(fwd / strike) / sd + sd / 2
    d2 = d1 - sd
    call = math.exp(-rate * TAU) * (fwd * ncdf(d1) - strike * ncdf(d2))
    return call if is_call else call - math.exp(-rate * TAU) * (fwd - strike)


def revalue(spot: float) -> dict[str, tuple[float, float]]:
    """(USD value, coin-denominated value in coin) of each test position at index `spot`,
    the futures curve and perpetual marks moving with the index (F/S fixed). Marked-to-market
    futures and perpetuals are revalued from their entry at today's mark."""
    fwd = F * spot / S
    perp = PERP_PRICE * spot / S
    inverse_coin = -30 * black76(fwd, 105000, 0.5, 0.0, True) / fwd
    linear_usd = 40 * black76(fwd, 95000, 0.55, R, False)
    inverse_perp_coin = 500000.0 * (1 / PERP_PRICE - 1 / perp)     # N (1/P0 - 1/P) coin
    return {
        "inverse_call": (inverse_coin * spot, inverse_coin),
        "linear_put": (linear_usd, 0.0),
        "inverse_perp": (inverse_perp_coin * spot, inverse_perp_coin),
        "linear_perp": (3 * (perp - PERP_PRICE), 0.0),
        "coin_held": (7 * spot, 7.0),
    }


NAMES = {"inverse_call": INVERSE_CALL, "linear_put": LINEAR_PUT, "inverse_perp": INVERSE_PERP,
         "linear_perp": LINEAR_PERP, "coin_held": COIN_HELD}


def hand_delta_total(names: list[str]) -> tuple[float, float]:
    """(USD delta, DeltaTotal) by central differences of the revaluation: the coin measure
    takes out the coin-denominated value, i.e. it is S x d(coin value)/dS for coin-held value
    plus dV/dS for USD value."""
    h = 1e-4 * S
    up, down, mid = revalue(S + h), revalue(S - h), revalue(S)
    usd_delta = sum((up[n][0] - down[n][0]) / (2 * h) for n in names)
    coin_total = sum(mid[n][1] for n in names)
    return usd_delta, usd_delta - coin_total


def decisions(names: list[str], measure: str, **band: Any) -> Any:
    portfolio = parse_portfolio({"positions": [NAMES[n] for n in names]})
    market = parse_market(MARKET)
    policy = parse_policy({"underlyings": {"BTC": {
        "measure": measure, "band": band or {"method": "fixed", "half_width": 1000},
        "instruments": [{"name": "BTC-PERPETUAL", "taker_fee": 0.0005}]}}})
    return plan_hedges(portfolio, market, policy, value_book(portfolio, market)).decisions[0]


@pytest.mark.parametrize("names", [
    ["linear_put", "linear_perp"],                                        # linear only
    ["inverse_call", "inverse_perp", "coin_held"],                        # inverse only
    ["inverse_call", "linear_put", "inverse_perp", "linear_perp", "coin_held"],  # mixed
])
def test_delta_total_is_the_coin_measured_revaluation(names: list[str]) -> None:
    usd_delta, delta_total = hand_delta_total(names)
    usd, coin = decisions(names, "usd"), decisions(names, "coin")
    assert usd.delta_before == pytest.approx(usd_delta, rel=1e-7)
    assert coin.delta_before == pytest.approx(delta_total, rel=1e-7)
    assert usd.delta_total == coin.delta_total == coin.delta_before
    if "coin_held" not in names and "inverse_call" not in names:
        # A book of linear instruments: DeltaTotal is the USD delta.
        assert coin.delta_before == pytest.approx(usd.delta_before, rel=1e-13)


def test_coin_band_gamma_of_a_linear_book_is_its_usd_gamma() -> None:
    """A linear book has the same delta in both measures, hence the same Whalley-Wilmott band
    (the band followed gamma - net/S in the coin measure before, whatever the settlement)."""
    names = ["linear_put", "linear_perp"]
    band = {"method": "whalley_wilmott", "risk_aversion": 1e-4}
    usd, coin = decisions(names, "usd", **band), decisions(names, "coin", **band)
    assert coin.band.upper - coin.band.center == pytest.approx(usd.band.upper - usd.band.center, rel=1e-12)


def test_coin_band_gamma_is_the_derivative_of_delta_total() -> None:
    """Inverse book: the band's gamma is d(DeltaTotal)/dS by central differences."""
    names = ["inverse_call", "inverse_perp", "coin_held"]
    h = 1e-3 * S

    def delta_total_at(spot: float) -> float:
        step = 1e-4 * spot
        up, down, mid = revalue(spot + step), revalue(spot - step), revalue(spot)
        return sum((up[n][0] - down[n][0]) / (2 * step) - mid[n][1] for n in names)

    coin_gamma = (delta_total_at(S + h) - delta_total_at(S - h)) / (2 * h)
    risk_aversion, cost = 1e-4, 0.0005
    # REFERENCE section 2 with the discount e^{-r tau} of the book's one option.
    expected_half = (3 * math.exp(-R * TAU) * cost * S * coin_gamma**2 / (2 * risk_aversion)) ** (1 / 3)
    coin = decisions(names, "coin", method="whalley_wilmott", risk_aversion=risk_aversion)
    assert coin.band.upper - coin.band.center == pytest.approx(expected_half, rel=1e-5)


def test_shipped_usdc_eth_book_coin_measure_matches_exposures(tmp_path: Path) -> None:
    """configs/eth_* is all USDC-settled: measure coin hedges the same 110.11 ETH that
    exposures shows (102.37 before)."""
    policy = (CONFIGS / "eth_policy.yaml").read_text().replace("measure: usd", "measure: coin")
    (tmp_path / "policy.yaml").write_text(policy)
    files = [str(CONFIGS / "eth_book.yaml"), "-m", str(CONFIGS / "eth_market.yaml")]
    exposures = json.loads(CliRunner().invoke(app, ["exposures", *files, "-f", "json"]).stdout)
    result = CliRunner().invoke(app, ["hedge", *files, "-p", str(tmp_path / "policy.yaml"), "-f", "json"])
    assert result.exit_code == 0, result.output
    eth = json.loads(result.stdout)["underlyings"][0]
    assert eth["measure"] == "coin"
    assert eth["delta_before"] == pytest.approx(exposures["underlyings"][0]["delta_bs"], rel=1e-12)
    assert eth["delta_before"] == pytest.approx(110.11431811805684, rel=1e-9)


# -- coin-settled rho -------------------------------------------------------------------------

def test_coin_settled_rho_is_zero_and_the_value_ignores_the_rate() -> None:
    portfolio = parse_portfolio({"positions": [INVERSE_CALL, LINEAR_PUT]})
    base = value_book(portfolio, parse_market(MARKET))
    bumped = value_book(portfolio, parse_market({**MARKET, "rate": R + 0.01}))
    assert base.rho_usd[0] == 0.0
    assert bumped.value_usd[0] == base.value_usd[0]        # priced at r = 0
    # The linear option's rho (USD per 1%) still agrees with revaluation.
    change = float(bumped.value_usd[1] - base.value_usd[1])
    assert base.rho_usd[1] == pytest.approx(change, rel=2e-2)
    assert base.rho_usd[1] != 0.0


# -- expired instruments ----------------------------------------------------------------------

AFTER = "2026-12-25T09:00:00Z"        # an hour after the 25DEC26 expiry


def expired_market(delivery: float | None) -> dict[str, Any]:
    btc = {**MARKET["underlyings"]["BTC"], "futures": {"26MAR27": 103000}}
    if delivery is not None:
        btc["delivery_prices"] = {"25DEC26": delivery}
    return {**MARKET, "as_of": AFTER, "underlyings": {"BTC": btc}}


def test_expired_inverse_call_is_the_coin_it_settled_into() -> None:
    delivery = 112000.0
    portfolio = parse_portfolio({"positions": [{"instrument": "BTC-25DEC26-105000-C", "quantity": -30}]})
    book = value_book(portfolio, parse_market(expired_market(delivery)))
    coin = -30 * (delivery - 105000) / delivery
    assert book.delta[0] == pytest.approx(coin, rel=1e-14)          # USD measure: coin held
    assert book.delta_bs[0] == pytest.approx(coin, rel=1e-14)
    assert book.delta_coin[0] == pytest.approx(0.0, abs=1e-12)       # coin measure: nothing
    assert book.value_usd[0] == pytest.approx(coin * S, rel=1e-14)
    for name in ("gamma_usd_1pct", "vega_usd", "theta_usd", "rho_usd"):
        assert getattr(book, name)[0] == 0.0, name
    assert len(book.inputs.warnings) == 1
    assert "delivery price 112,000" in book.inputs.warnings[0]


def test_expired_without_delivery_price_settles_at_the_index_with_a_warning() -> None:
    portfolio = parse_portfolio({"positions": [
        {"instrument": "BTC-25DEC26-95000-P", "quantity": 4, "book": "a"},
        {"instrument": "BTC-25DEC26-95000-P", "quantity": 6, "book": "b"}]})
    book = value_book(portfolio, parse_market(expired_market(None)))
    assert book.delta[0] == 0.0
    assert book.value_usd[0] == 0.0
    assert len(book.inputs.warnings) == 1                              # one line per instrument
    assert "the index 100,000" in book.inputs.warnings[0]
    assert "delivery_prices.25DEC26" in book.inputs.warnings[0]


def test_expired_linear_option_is_usd_cash_and_futures_leave_no_delta() -> None:
    portfolio = parse_portfolio({"positions": [
        {"instrument": "BTC_USDC-25DEC26-95000-P", "quantity": 40},
        {"instrument": "BTC-25DEC26", "quantity": 10000},
        {"instrument": "BTC_USDC-25DEC26", "quantity": 2}]})
    book = value_book(portfolio, parse_market(expired_market(90000.0)))
    assert book.value_usd[0] == pytest.approx(40 * 5000.0, rel=1e-14)
    assert list(book.delta) == [0.0, 0.0, 0.0]
    assert list(book.delta_coin) == [0.0, 0.0, 0.0]
    assert float(abs(book.gamma_usd_1pct).sum() + abs(book.vega_usd).sum()) == 0.0


def test_expiry_morning_check_settles_the_weekly_and_hedges_no_phantom_delta() -> None:
    """The shipped BTC book the morning after its weekly expiry: check runs (no exit 2), warns
    on stderr only, and nets the same delta as the book with the weekly replaced by the coin
    it settled into."""
    files = [str(CONFIGS / "btc_book.yaml"), "-m", str(CONFIGS / "btc_market.yaml"),
             "-p", str(CONFIGS / "btc_policy.yaml"), "--as-of", "2026-11-27T09:00:00Z", "-f", "json"]
    result = CliRunner().invoke(app, ["check", *files])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)                  # stdout is the JSON alone
    assert len(document["warnings"]) == 2
    assert result.stderr.count("hedgecore: warning: BTC-27NOV26-95000-") == 2
    net = document["underlyings"][0]["delta_before"]

    portfolio = parse_portfolio(_yaml(CONFIGS / "btc_book.yaml"))
    market = parse_market(_yaml(CONFIGS / "btc_market.yaml")).with_as_of(
        datetime(2026, 11, 27, 9, tzinfo=timezone.utc))
    book = value_book(portfolio, market)
    live = [k for k, p in enumerate(portfolio.positions) if "27NOV26" not in p.instrument.name]
    settled_coin = 10 * max(S_BTC - 95000, 0.0) / S_BTC                # the call; the put expires worthless
    expected = float(book.delta_bs[live].sum()) + settled_coin
    assert net == pytest.approx(expected, rel=1e-12)


S_BTC = 96500.0


def _yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


def policy_with(instruments: list[dict[str, Any]]) -> Any:
    return parse_policy({"underlyings": {"BTC": {"band": {"method": "fixed", "half_width": 0.5},
                                                 "instruments": instruments}}})


def test_an_expired_hedge_future_is_skipped_while_others_remain() -> None:
    portfolio = parse_portfolio({"positions": [COIN_HELD]})
    market = parse_market(expired_market(None))
    book = value_book(portfolio, market)
    plan = plan_hedges(portfolio, market, policy_with([{"name": "BTC-25DEC26"}, {"name": "BTC-PERPETUAL"}]), book)
    assert plan.decisions[0].trade is not None
    assert plan.decisions[0].trade.instrument == "BTC-PERPETUAL"
    assert any("BTC-25DEC26 expired" in w and "skipped" in w for w in plan.warnings)
    with pytest.raises(ConfigError) as info:
        plan_hedges(portfolio, market, policy_with([{"name": "BTC-25DEC26"}]), book)
    assert info.value.path == "underlyings.BTC.instruments"


# -- last_hedge_at and the limit-breach override ---------------------------------------------

def spot_plan(btc: float, **rule: Any) -> Any:
    portfolio = parse_portfolio({"positions": [{"type": "spot", "underlying": "BTC", "quantity": btc}]})
    market = parse_market(MARKET)
    policy = parse_policy({"underlyings": {"BTC": {
        "band": {"method": "fixed", "half_width": 1.0}, "min_interval": "1h",
        "instruments": [{"name": "spot", "lot_size": 0.001}], **rule}}})
    return plan_hedges(portfolio, market, policy, value_book(portfolio, market)).decisions[0]


def test_last_hedge_after_the_valuation_time_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        spot_plan(5.0, last_hedge_at="2026-11-21T08:40:00Z")
    assert info.value.path == "underlyings.BTC.last_hedge_at"
    assert info.value.document == "policy"
    assert "40m after the valuation time" in info.value.message
    # Inside the band the future time is refused too.
    with pytest.raises(ConfigError):
        spot_plan(0.1, last_hedge_at="2026-11-21T08:40:00Z")


def test_small_clock_skew_counts_as_just_now() -> None:
    decision = spot_plan(5.0, last_hedge_at="2026-11-21T08:00:45Z")
    assert decision.action == "wait"
    assert "just now" in decision.reason
    decision = spot_plan(5.0, last_hedge_at="2026-11-21T07:47:30Z")
    assert "12m 30s ago" in decision.reason
    assert "(min interval 1h 00m)" in decision.reason


def test_elapsed_times_read_plainly() -> None:
    assert format_elapsed(timedelta(seconds=750)) == "12m 30s"
    assert format_elapsed(timedelta(hours=3, minutes=5)) == "3h 05m"
    assert format_elapsed(timedelta(days=2, hours=4)) == "2d 4h"
    assert format_elapsed(timedelta(seconds=-5)) == "0s"


def test_the_cli_names_the_policy_line_of_a_future_last_hedge(write_yaml: Callable[[str, str], Path]) -> None:
    book = write_yaml("book.yaml", """
        positions:
          - {type: spot, underlying: BTC, quantity: 5}
        """)
    market = write_yaml("market.yaml", f"""
        as_of: {AS_OF}
        underlyings:
          BTC: {{spot: {S}}}
        """)
    policy = write_yaml("policy.yaml", """
        underlyings:
          BTC:
            band: {method: fixed, half_width: 1}
            min_interval: 1h
            last_hedge_at: 2026-11-21T08:40:00Z
            instruments: [{name: spot}]
        """)
    result = CliRunner().invoke(app, ["check", str(book), "-m", str(market), "-p", str(policy)])
    assert result.exit_code == 2, result.output
    assert "policy.yaml:5: underlyings.BTC.last_hedge_at:" in result.stderr
    assert "-1 day" not in result.output


LAST = "2026-11-21T07:50:00Z"     # 10 minutes ago, min_interval 1h


def test_a_hard_limit_breach_trades_through_min_interval_at_the_boundary() -> None:
    limits = {"max_abs_delta": 20.0}
    at_limit = spot_plan(20.0, last_hedge_at=LAST, limits=limits)
    assert at_limit.action == "wait"
    assert not at_limit.breaches
    past = spot_plan(20.001, last_hedge_at=LAST, limits=limits)
    assert past.action == "hedge"
    assert past.trade is not None
    assert past.delta_after == pytest.approx(1.0, abs=1e-3)
    assert "trading through the min interval" in past.reason
    assert "limit breached" in past.reason
    # max_abs_delta_usd too, and the override can be turned off per underlying.
    usd = spot_plan(24.0, last_hedge_at=LAST, limits={"max_abs_delta_usd": 2_000_000.0})
    assert usd.action == "hedge"
    off = spot_plan(24.0, last_hedge_at=LAST, limits={**limits, "breach_overrides_interval": False})
    assert off.action == "wait"
    assert off.breaches


def test_urgent_abs_delta_trades_through_min_interval() -> None:
    limits = {"urgent_abs_delta": 3.0}
    assert spot_plan(3.0, last_hedge_at=LAST, limits=limits).action == "wait"
    urgent = spot_plan(3.01, last_hedge_at=LAST, limits=limits)
    assert urgent.action == "hedge"
    assert "urgent_abs_delta" in urgent.reason
    # Measured from the target.
    assert spot_plan(4.0, last_hedge_at=LAST, target_delta=2.0, limits=limits).action == "wait"


# -- default ids ------------------------------------------------------------------------------

def test_same_instrument_in_two_accounts_gets_distinct_default_ids() -> None:
    portfolio = parse_portfolio({"positions": [
        {"instrument": "BTC-PERPETUAL", "quantity": 1, "account": "deribit", "book": "hedge"},
        {"instrument": "BTC-PERPETUAL", "quantity": 2, "account": "okx", "book": "hedge"},
        {"instrument": "BTC-PERPETUAL", "quantity": 3},
        {"instrument": "ETH-PERPETUAL", "quantity": 3, "account": "okx", "book": "hedge"}]})
    assert [p.id for p in portfolio.positions] == [
        "deribit:hedge:BTC-PERPETUAL", "okx:hedge:BTC-PERPETUAL", "BTC-PERPETUAL", "hedge:ETH-PERPETUAL"]
    # Unambiguous ids stay as they were; a true duplicate (same account and book) is refused.
    with pytest.raises(ConfigError, match="duplicate id 'x:BTC-PERPETUAL'"):
        parse_portfolio({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1, "account": "a", "book": "x"},
                                       {"instrument": "BTC-PERPETUAL", "quantity": 1, "account": "a", "book": "x"}]})


# -- market and policy plausibility ------------------------------------------------------------

def market_error(**btc: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": S, **btc}}})
    return info.value


def test_implausible_market_inputs_are_refused_with_the_field() -> None:
    assert market_error(futures={"25DEC26": 10 * S}).path == "underlyings.BTC.futures.25DEC26"
    assert market_error(basis=5.0).path == "underlyings.BTC.basis"
    assert market_error(perpetuals={"BTC-PERPETUAL": {"price": 1.6 * S}}).path == \
        "underlyings.BTC.perpetuals.BTC-PERPETUAL.price"
    assert market_error(rate=1.5).path == "underlyings.BTC.rate"
    assert market_error(delivery_prices={"25DEC26": 3 * S}).path == "underlyings.BTC.delivery_prices.25DEC26"
    with pytest.raises(ConfigError) as info:
        parse_market({"as_of": AS_OF, "rate": -2, "underlyings": {"BTC": {"spot": S}}})
    assert info.value.path == "rate"


def test_plausible_basis_is_accepted_even_at_very_short_expiry() -> None:
    # 22NOV26 is a day away: +3% annualises to ~11 a year, but |ln(F/S)| <= 0.05 always passes.
    market = parse_market({"as_of": AS_OF, "underlyings": {"BTC": {
        "spot": S, "futures": {"22NOV26": S * 1.03, "26MAR27": S * 1.06}, "basis": 0.2,
        "perpetuals": {"BTC-PERPETUAL": {"price": S * 1.2}}}}})
    assert market.underlyings["BTC"].futures[0][1] == S * 1.03


def test_futures_ten_times_the_spot_no_longer_price_a_call_negative(write_yaml: Callable[[str, str], Path]) -> None:
    book = write_yaml("book.yaml", "positions:\n  - {instrument: BTC_USDC-25DEC26-100000-C, quantity: 1}\n")
    market = write_yaml("market.yaml", f"""
        as_of: {AS_OF}
        underlyings:
          BTC:
            spot: {S}
            futures:
              25DEC26: {10 * S}
            vols: {{BTC_USDC-25DEC26-100000-C: 0.5}}
        """)
    result = CliRunner().invoke(app, ["exposures", str(book), "-m", str(market)])
    assert result.exit_code == 2, result.output
    assert "market.yaml:6: underlyings.BTC.futures.25DEC26:" in result.stderr
    assert "implausible" in result.stderr


def policy_error(instrument: dict[str, Any], band: dict[str, Any] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_policy({"underlyings": {"BTC": {
            "band": band or {"method": "whalley_wilmott", "risk_aversion": 1e-4},
            "instruments": [{"name": "BTC-PERPETUAL", **instrument}]}}})
    return info.value


def test_absurd_lot_sizes_and_negative_costs_are_refused_where_read() -> None:
    assert policy_error({"lot_size": 1e-320}).path == "underlyings.BTC.instruments[0].lot_size"
    assert policy_error({"lot_size": 1e12}).path == "underlyings.BTC.instruments[0].lot_size"
    assert policy_error({"min_order": 1e15}).path == "underlyings.BTC.instruments[0].min_order"
    error = policy_error({"taker_fee": -0.0002, "half_spread": 0.0001})
    assert error.path == "underlyings.BTC.instruments[0].taker_fee"
    assert "fee + half_spread >= 0" in error.message
    maker = policy_error({"execution": "maker", "maker_fee": -0.0001},
                         {"method": "nested", "risk_aversion": 1e-4})
    assert maker.path == "underlyings.BTC.instruments[0].maker_fee"
    # A fixed band takes no cost: a rebate is fine there.
    parse_policy({"underlyings": {"BTC": {"band": {"method": "fixed", "half_width": 1},
                                          "instruments": [{"name": "BTC-PERPETUAL", "taker_fee": -0.0002}]}}})


# -- market age and --as-of now ----------------------------------------------------------------

def age_files(write_yaml: Callable[[str, str], Path], market_as_of: str, max_age: str | None) -> list[str]:
    book = write_yaml("book.yaml", "positions:\n  - {type: spot, underlying: BTC, quantity: 0.1}\n")
    market = write_yaml("market.yaml", f"as_of: {market_as_of}\nunderlyings:\n  BTC: {{spot: {S}}}\n")
    age = f"max_market_age: {max_age}\n" if max_age else ""
    policy = write_yaml("policy.yaml", age + "underlyings:\n  BTC:\n    band: {method: fixed, half_width: 1}\n"
                        "    instruments: [{name: spot}]\n")
    return [str(book), "-m", str(market), "-p", str(policy)]


def test_check_refuses_a_stale_market_with_exit_4(write_yaml: Callable[[str, str], Path]) -> None:
    files = age_files(write_yaml, AS_OF, "15m")
    result = CliRunner().invoke(app, ["check", *files, "--as-of", "2026-11-21T08:16:00Z", "-f", "json"])
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "stale"
    assert document["exit_code"] == 4
    assert document["market_age_seconds"] == 16 * 60
    assert document["max_market_age_seconds"] == 15 * 60
    assert "market data is stale" in document["error"]
    assert "16m old" in document["error"]
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("hedgecore: stale:")
    fresh = CliRunner().invoke(app, ["check", *files, "--as-of", "2026-11-21T08:15:00Z", "-f", "json"])
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(fresh.stdout)["status"] == "ok"


def test_market_age_is_measured_against_the_wall_clock(write_yaml: Callable[[str, str], Path]) -> None:
    old = age_files(write_yaml, "2020-01-01T00:00:00Z", "1h")
    assert CliRunner().invoke(app, ["check", *old]).exit_code == 4
    assert CliRunner().invoke(app, ["check", *old, "--as-of", "NOW"]).exit_code == 4
    just_now = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = age_files(write_yaml, just_now, "1h")
    result = CliRunner().invoke(app, ["check", *fresh, "-f", "json"])
    assert result.exit_code == 0, result.output
    # Without max_market_age nothing is refused, however old.
    assert CliRunner().invoke(app, ["check", *age_files(write_yaml, "2020-01-01T00:00:00Z", None)]).exit_code == 0


@pytest.mark.parametrize("command", ["exposures", "scenarios", "hedge", "check"])
def test_as_of_now_works_on_every_command(command: str) -> None:
    args = [command, str(CONFIGS / "eth_book.yaml"), "-m", str(CONFIGS / "eth_market.yaml"), "-f", "json",
            "--as-of", "now"]
    if command in ("hedge", "check"):
        args += ["-p", str(CONFIGS / "eth_policy.yaml")]
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    as_of = datetime.fromisoformat(json.loads(result.stdout)["as_of"].replace("Z", "+00:00"))
    assert before <= as_of <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_check_json_keeps_its_keys() -> None:
    args = ["check", str(CONFIGS / "btc_book.yaml"), "-m", str(CONFIGS / "btc_market.yaml"),
            "-p", str(CONFIGS / "btc_policy.yaml"), "-f", "json"]
    document = json.loads(CliRunner().invoke(app, args).stdout)
    assert {"as_of", "status", "underlyings", "trades", "book", "warnings"} <= set(document)
    keys = {"underlying", "spot", "measure", "target_delta", "delta_before", "delta_after", "delta_total",
            "band_lower", "band_upper", "band_method", "band_detail", "rebalance_lower", "rebalance_upper",
            "in_band", "action", "reason", "gamma_usd_1pct", "vega_usd", "breaches", "alternatives"}
    assert keys <= set(document["underlyings"][0])


def test_extreme_futures_prices_are_refused_not_crashed() -> None:
    """ln(F/S) taken as ln F - ln S: F/S itself under- or overflows at these magnitudes."""
    for spot, future in ((1e300, 1e-300), (1e-300, 1e308)):
        with pytest.raises(ConfigError) as info:
            parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": spot, "futures": {"25DEC26": future}}}})
        assert info.value.path == "underlyings.BTC.futures.25DEC26"
