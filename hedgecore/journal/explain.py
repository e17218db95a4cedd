"""PnL explain: where the PnL of a book between two valuations came from (REFERENCE section 10).

The book is the one held at the first run (t0, market M0); the second run gives t1 and M1.
As ORE's PnL analytic does, the book is revalued four ways, per position:
  V00 on M0 at t0, V11 on M1 at t1 (the actual PnL: V11 - V00 plus funding),
  V10 on M1 at t0 (the market move) and V01 on M0 at t1 (the time decay),
and beside them the Taylor terms from the first run's Greeks, per underlying:
  delta_pnl_usd = sum(dV/dS) dS,  gamma_pnl_usd = sum(d2V/dS2) dS^2 / 2,
  vega_pnl_usd = sum(dV/dsigma_i dsigma_i) (each option's own implied vol move, M1 vs M0 at t0),
  theta_pnl_usd = sum(dV/dt) dt (calendar days),
  funding_pnl_usd = -sum(perpetual notional x funding_rate_8h x hours / 8) at M0's rates
  (positive rate: longs pay), and unexplained_usd = pnl_usd less the five terms, so that
  delta + gamma + vega + theta + funding + unexplained, summed in that order in double
  precision, is pnl_usd exactly. The revaluation splits the same PnL into market_move_usd,
  time_decay_usd and cross_usd, which check the Taylor terms: market_move - (delta + gamma +
  vega) and time_decay - theta are what the Taylor terms miss in each.

Futures and perpetuals are valued as their variation margin since t0 (the journal has no
entry prices): q (F - F0) USD for a linear one, N (1/F0 - 1/F) coin at the index for an
inverse one of N USD. Coin-settled books (an underlying holding coin-settled options,
inverse futures or coin) also explain in coin: the book's USD value over the index, with
the Taylor terms of V/S (d(V/S)/dS = (dV/dS - V/S)/S, d2(V/S)/dS2 = (d2V/dS2 - 2 (dV/dS -
V/S)/S)/S, vega and theta over S0, funding over S1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hedgecore.market import Market
from hedgecore.portfolio import Portfolio

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PARTS = ("delta_pnl_usd", "gamma_pnl_usd", "vega_pnl_usd", "theta_pnl_usd", "funding_pnl_usd")
COIN_PARTS = ("delta_pnl_coin", "gamma_pnl_coin", "vega_pnl_coin", "theta_pnl_coin", "funding_pnl_coin")
HOURS_PER_FUNDING_PERIOD = 8.0


def closing_residual(total: float, parts: Sequence[float]) -> float:
    """The residual r such that parts[0] + parts[1] + ... + r, summed left to right in double
    precision, equals `total` exactly (total - sum(parts) rounded can miss by an ulp)."""
    partial = 0.0
    for part in parts:
        partial += part
    residual = total - partial
    for _ in range(64):
        reached = partial + residual
        if reached == total or not math.isfinite(reached):
            break
        residual = math.nextafter(residual, math.inf if reached < total else -math.inf)
    return residual


def explain_pnl(portfolio: Portfolio, market_from: Market, market_to: Market, *,
                fills: Iterable[Mapping[str, Any]] = (), threads: int | None = None) -> dict[str, Any]:
    """The PnL explain of `portfolio` from market_from (at its as_of) to market_to (at its
    as_of), per underlying and in total (module docstring); fills executed in the interval
    are listed beside it with their fees (the book explained is the one held at t0)."""
    t0, t1 = market_from.as_of, market_to.as_of
    revaluations = _Revaluations(portfolio, market_from, market_to, threads)
    dt_days = (t1 - t0).total_seconds() / 86400.0
    funding = _funding_usd(portfolio, market_from, revaluations, dt_days * 24.0)
    fills = list(fills)
    underlyings = [
        _explain_underlying(k, name, revaluations, funding, dt_days, market_from, market_to, fills)
        for k, name in enumerate(revaluations.base.inputs.underlyings)
    ]
    total_pnl = math.fsum(entry["pnl_usd"] for entry in underlyings)
    total_parts = {key: math.fsum(entry[key] for entry in underlyings) for key in PARTS}
    total = {"pnl_usd": total_pnl, **total_parts,
             "unexplained_usd": closing_residual(total_pnl, [total_parts[key] for key in PARTS]),
             "fees_usd": math.fsum(float(fill.get("fee_usd") or 0.0) for fill in fills)}
    return {"as_of_from": _iso(t0), "as_of_to": _iso(t1), "interval_days": dt_days,
            "underlyings": underlyings, "total": total, "fills": fills}


class _Revaluations:
    """The book of t0 valued four ways (module docstring), per position: v00 (M0 at t0),
    v10 (M1 at t0), v01 (M0 at t1), v11 (M1 at t1); futures and perpetuals as their
    variation margin since t0. `base` is the first valuation (its Greeks give the Taylor
    terms), `market_only` the second (its vols give each option's vol move)."""

    def __init__(self, portfolio: Portfolio, market_from: Market, market_to: Market, threads: int | None) -> None:
        from hedgecore.valuation import value_book

        t0, t1 = market_from.as_of, market_to.as_of
        self.base = value_book(portfolio, market_from, threads=threads)
        inputs = self.base.inputs
        self.kind0 = inputs.kind.copy()
        self.units0 = inputs.units.copy()
        self.forward0 = inputs.forward.copy()
        self.market_only = value_book(portfolio, market_to.with_as_of(t0), threads=threads)
        time_only = value_book(portfolio, market_from.with_as_of(t1), threads=threads)
        actual = value_book(portfolio, market_to, threads=threads)
        self.v00, self.v10, self.v01, self.v11 = (
            self._explain_value(book) for book in (self.base, self.market_only, time_only, actual))

    def _explain_value(self, book: Any) -> NDArray[np.float64]:
        import numpy as np

        from hedgecore.valuation import INVERSE_FUTURE, LINEAR_FUTURE

        value = np.array(book.value_usd, dtype=float)
        fwd, spot = book.inputs.forward, book.inputs.spot
        units0, forward0 = self.units0, self.forward0
        linear = self.kind0 == LINEAR_FUTURE
        inverse = self.kind0 == INVERSE_FUTURE
        value[linear] = units0[linear] * (fwd[linear] - forward0[linear])
        value[inverse] = units0[inverse] * (1.0 / forward0[inverse] - 1.0 / fwd[inverse]) * spot[inverse]
        return value


def _funding_usd(portfolio: Portfolio, market_from: Market, revaluations: _Revaluations,
                 hours: float) -> NDArray[np.float64]:
    """Per position, the funding a perpetual pays over `hours` at M0's rate (USD; longs pay
    a positive rate); zero for everything else."""
    import numpy as np

    from hedgecore.valuation import INVERSE_FUTURE, LINEAR_FUTURE

    kind0, units0, forward0 = revaluations.kind0, revaluations.units0, revaluations.forward0
    funding = np.zeros(units0.size)
    for k, position in enumerate(portfolio.positions):
        inst = position.instrument
        if inst.kind != "perpetual" or kind0[k] not in (LINEAR_FUTURE, INVERSE_FUTURE):
            continue
        data = market_from.get(inst.underlying)
        assert data is not None
        rate = data.perpetual(inst.name).funding_rate_8h
        notional_usd = units0[k] if kind0[k] == INVERSE_FUTURE else units0[k] * forward0[k]
        funding[k] = -notional_usd * rate * hours / HOURS_PER_FUNDING_PERIOD
    return funding


def _explain_underlying(k: int, name: str, revaluations: _Revaluations, funding: NDArray[np.float64],
                        dt_days: float, market_from: Market, market_to: Market,
                        fills: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One underlying's entry: the Taylor terms, the revaluation split, its fills, and the
    explain in coin when it holds anything coin-denominated."""
    import numpy as np

    from hedgecore.valuation import COIN_DENOMINATED, INVERSE_OPTION, LINEAR_OPTION

    base, inputs = revaluations.base, revaluations.base.inputs
    mine = inputs.underlying_index == k
    options = np.isin(revaluations.kind0, (LINEAR_OPTION, INVERSE_OPTION)) & (inputs.tau > 0.0)
    dvol = np.where(options, revaluations.market_only.inputs.vol - inputs.vol, 0.0)   # each option's own move
    s0 = float(market_from.underlyings[name].spot)
    s1 = float(market_to.underlyings[name].spot)
    ds = s1 - s0
    delta_sum = float(np.sum(base.delta_bs[mine]))
    gamma_sum = float(np.sum(base.gamma[mine]))
    parts = {
        "delta_pnl_usd": delta_sum * ds,
        "gamma_pnl_usd": 0.5 * gamma_sum * ds * ds,
        "vega_pnl_usd": float(np.sum(base.vega_usd[mine] * dvol[mine])) * 100.0,
        "theta_pnl_usd": float(np.sum(base.theta_usd[mine])) * dt_days,
        "funding_pnl_usd": float(np.sum(funding[mine])),
    }
    value_from = float(np.sum(revaluations.v00[mine]))
    value_to = float(np.sum(revaluations.v11[mine]))
    market_move = float(np.sum(revaluations.v10[mine] - revaluations.v00[mine]))
    time_decay = float(np.sum(revaluations.v01[mine] - revaluations.v00[mine]))
    revalued = value_to - value_from
    pnl = revalued + parts["funding_pnl_usd"]
    underlying_fills = [fill for fill in fills if fill.get("underlying") == name]
    entry: dict[str, Any] = {
        "underlying": name, "spot_from": s0, "spot_to": s1, "pnl_usd": pnl, **parts,
        "unexplained_usd": closing_residual(pnl, [parts[key] for key in PARTS]),
        "revaluation": {
            "value_from_usd": value_from, "value_to_usd": value_to,
            "market_move_usd": market_move, "time_decay_usd": time_decay,
            "cross_usd": revalued - market_move - time_decay,
            "market_unexplained_usd": market_move - (parts["delta_pnl_usd"] + parts["gamma_pnl_usd"]
                                                     + parts["vega_pnl_usd"]),
            "time_unexplained_usd": time_decay - parts["theta_pnl_usd"],
        },
        "fills": underlying_fills,
        "fees_usd": float(sum(float(fill.get("fee_usd") or 0.0) for fill in underlying_fills)),
    }
    if bool(np.any(np.isin(revaluations.kind0, COIN_DENOMINATED)[mine])):
        entry["coin"] = _coin_explain(parts, delta_sum, gamma_sum, value_from, value_to, s0, s1)
    return entry


def _coin_explain(parts: Mapping[str, float], delta_sum: float, gamma_sum: float, value_from: float,
                  value_to: float, s0: float, s1: float) -> dict[str, float]:
    """The explain of the book's value in coin, V/S (module docstring)."""
    ds = s1 - s0
    coin_delta = delta_sum - value_from / s0      # d(V/S)/dS x S
    coin_parts = {
        "delta_pnl_coin": coin_delta / s0 * ds,
        "gamma_pnl_coin": 0.5 * (gamma_sum - 2.0 * coin_delta / s0) / s0 * ds * ds,
        "vega_pnl_coin": parts["vega_pnl_usd"] / s0,
        "theta_pnl_coin": parts["theta_pnl_usd"] / s0,
        "funding_pnl_coin": parts["funding_pnl_usd"] / s1,
    }
    pnl_coin = value_to / s1 - value_from / s0 + coin_parts["funding_pnl_coin"]
    return {"pnl_coin": pnl_coin, **coin_parts,
            "unexplained_coin": closing_residual(pnl_coin, [coin_parts[key] for key in COIN_PARTS])}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
