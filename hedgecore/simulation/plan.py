"""Kernel plumbing: a SimulationSpec validated and turned into the arrays the compiled
kernel (hedgecore._sim) takes: model parameters, the book's per-step delta tables, the
policies as integer and float rows, the costs per step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hedgecore.simulation.spec import GBMModel, HestonModel, HistoricalModel, MertonModel, SimulationSpec
from hedgecore.units import HOURS_PER_YEAR, SECONDS_PER_YEAR

_MODEL_KINDS = {"gbm": 0, "merton": 1, "heston_qe": 2, "heston_euler": 3, "historical": 4}
_INSTRUMENTS = {"spot": 0, "linear_perp": 1, "inverse_perp": 2}
_METHODS = {"none": 0, "time": 1, "fixed": 2, "whalley_wilmott": 3, "zakamouline": 4,
            "leland": 5, "nested": 6}
_MAX_C_INT = 2**31 - 1  # every, min_interval and block_size travel to the kernel as C ints


def _positive_int(name: str, value: Any, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {_short(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {_short(value)}")
    return int(value)


def _short(value: Any) -> str:
    """A value for a message, bounded: a 400-digit integer is named by its size."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(int(value)) >= 10**18:
        return f"a number of {len(str(abs(int(value))))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _count(name: str, value: Any) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0
            or value > _MAX_C_INT):
        raise ValueError(f"{name} must be an integer in [0, {_MAX_C_INT}] (steps), got {_short(value)}")
    return int(value)


def _finite(name: str, value: Any, *, low: float | None = None, strict: bool = False,
            high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (number <= low if strict else number < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low}, got {value!r}")
    if high is not None and number > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return number


def hedge_vol_of(spec: SimulationSpec) -> float:
    """The volatility the hedger uses (HedgeSpec.vol or the model's default)."""
    if spec.hedge.vol is not None:
        return _finite("hedge.vol", spec.hedge.vol, low=0.0, strict=True)
    model = spec.model
    if isinstance(model, (GBMModel, MertonModel)):
        return float(model.vol)
    if isinstance(model, HestonModel):
        return math.sqrt(model.theta)
    return model.realised_vol()


def _model_arrays(spec: SimulationSpec, n_steps: int) -> tuple[int, NDArray[np.float64], NDArray[np.float64], int]:
    model = spec.model
    params = np.zeros(11)
    returns = np.zeros(0)
    bootstrap = 0
    if isinstance(model, GBMModel):
        kind = _MODEL_KINDS["gbm"]
        params[:3] = (_finite("model.spot", model.spot, low=0.0, strict=True),
                      _finite("model.drift", model.drift), _finite("model.vol", model.vol, low=0.0))
    elif isinstance(model, MertonModel):
        kind = _MODEL_KINDS["merton"]
        params[:6] = (_finite("model.spot", model.spot, low=0.0, strict=True),
                      _finite("model.drift", model.drift), _finite("model.vol", model.vol, low=0.0),
                      _finite("model.jump_intensity", model.jump_intensity, low=0.0),
                      _finite("model.jump_mean", model.jump_mean),
                      _finite("model.jump_std", model.jump_std, low=0.0))
    elif isinstance(model, HestonModel):
        if model.scheme not in ("qe", "euler"):
            raise ValueError(f"model.scheme must be 'qe' or 'euler', got {model.scheme!r}")
        kind = _MODEL_KINDS["heston_qe" if model.scheme == "qe" else "heston_euler"]
        params[0] = _finite("model.spot", model.spot, low=0.0, strict=True)
        params[1] = _finite("model.drift", model.drift)
        params[6:11] = (_finite("model.v0", model.v0, low=0.0),
                        _finite("model.kappa", model.kappa, low=0.0, strict=True),
                        _finite("model.theta", model.theta, low=0.0, strict=True),
                        _finite("model.vol_of_vol", model.vol_of_vol, low=0.0, strict=True),
                        _finite("model.rho", model.rho, low=-1.0, high=1.0))
    elif isinstance(model, HistoricalModel):
        kind = _MODEL_KINDS["historical"]
        prices = np.asarray(model.prices, dtype=np.float64)
        if prices.ndim != 1 or prices.size < 2 or not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            raise ValueError("model.prices must hold at least 2 positive finite prices")
        if model.timestamps is not None and (len(model.timestamps) != prices.size
                                             or not np.all(np.diff(np.asarray(model.timestamps)) > 0)):
            raise ValueError("model.timestamps must be increasing and as many as model.prices")
        returns = np.ascontiguousarray(np.diff(np.log(prices)))
        params[0] = prices[0] if model.spot is None else _finite("model.spot", model.spot, low=0.0, strict=True)
        if model.block_size is None:
            if returns.size < n_steps:
                raise ValueError(f"steps ({n_steps}) exceeds the {returns.size} returns of model.prices; "
                                 "use fewer steps or a block bootstrap (model.block_size)")
        else:
            bootstrap = _positive_int("model.block_size", model.block_size, _MAX_C_INT)
            if bootstrap > returns.size:
                raise ValueError(f"model.block_size ({bootstrap}) exceeds the {returns.size} returns of the series")
    else:
        raise ValueError(f"model must be a GBMModel, HestonModel, MertonModel or HistoricalModel, got {model!r}")
    return kind, params, returns, bootstrap


def _jump_terms(spec: SimulationSpec, tau_max: float) -> tuple[float, float, float, int]:
    """(lambda, mu_J, delta_J, n_terms) of the hedger's Merton series (n_terms 1: BS)."""
    model = spec.model
    if not isinstance(model, MertonModel) or model.jump_intensity == 0.0:
        return 0.0, 0.0, 0.0, 1
    kappa = math.exp(model.jump_mean + 0.5 * model.jump_std ** 2) - 1.0
    mean = model.jump_intensity * (1.0 + kappa) * tau_max
    n_terms = int(min(200, math.ceil(mean + 12.0 * math.sqrt(mean) + 12.0)))
    return model.jump_intensity, model.jump_mean, model.jump_std, n_terms


def _book_tables(spec: SimulationSpec, n_steps: int, dt: float, vol_sets: list[NDArray[np.float64]],
                 ) -> dict[str, Any]:
    """Per-step coefficients of the book's delta: d1 = (log S + shift) * inv_sdt."""
    options = spec.options
    n_options = len(options)
    strike = np.array([o.strike for o in options], dtype=np.float64)
    expiry = np.array([o.expiry_years for o in options], dtype=np.float64)
    grid = np.arange(n_steps + 1) * dt
    expiry_step = np.rint(expiry / dt).astype(np.int64)
    within = expiry_step <= n_steps
    expiry_step = np.where(within, expiry_step, n_steps + 1)
    snapped = np.where(within, expiry_step * dt, expiry)
    tau = np.maximum(snapped[None, :] - grid[:, None], 0.0)
    tau[:, within] = np.where(grid[:, None] < snapped[None, within] - 0.5 * dt, tau[:, within], 0.0)

    intensity, jump_mean, jump_std, n_terms = _jump_terms(spec, float(tau.max(initial=0.0)))
    n = np.arange(n_terms, dtype=np.float64)
    live = tau > 0.0
    safe_tau = np.where(live, tau, 1.0)[:, :, None]
    if n_terms > 1:
        kappa = math.exp(jump_mean + 0.5 * jump_std ** 2) - 1.0
        mean = intensity * (1.0 + kappa) * safe_tau
        log_weight = -mean + n * np.log(mean) - np.array([math.lgamma(k + 1.0) for k in n])
        weight = np.exp(log_weight)
        term_rate = spec.rate - intensity * kappa + n * math.log1p(kappa) / safe_tau
        term_var = n * jump_std ** 2 / safe_tau
    else:
        weight = np.ones((n_steps + 1, n_options, 1))
        term_rate = np.full((n_steps + 1, n_options, 1), float(spec.rate))
        term_var = np.zeros((n_steps + 1, n_options, 1))
    weight = np.where(live[:, :, None], weight, 0.0)
    log_strike = np.log(strike)[None, :, None]
    shifts, inv_sdts = [], []
    for vols in vol_sets:
        total_vol = np.sqrt(np.maximum(vols[None, :, None] ** 2 + term_var, 1e-24))
        sdt = total_vol * np.sqrt(safe_tau)
        shifts.append(np.where(live[:, :, None], -log_strike + (term_rate + 0.5 * total_vol ** 2) * safe_tau, 0.0))
        inv_sdts.append(np.where(live[:, :, None], 1.0 / sdt, 0.0))
    n_sets = len(vol_sets)
    return {
        "strike": strike,
        "quantity": np.array([o.quantity for o in options], dtype=np.float64),
        "omega": np.array([1.0 if o.type == "call" else -1.0 for o in options]),
        "expiry_step": np.ascontiguousarray(expiry_step),
        "tau": np.ascontiguousarray(tau),
        "weight": np.ascontiguousarray(np.broadcast_to(weight, (n_sets, *weight.shape))),
        "shift": np.ascontiguousarray(np.stack(shifts)),
        "inv_sdt": np.ascontiguousarray(np.stack(inv_sdts)),
        "term_rate": np.ascontiguousarray(np.broadcast_to(term_rate, weight.shape)),
        "term_var": np.ascontiguousarray(np.broadcast_to(term_var, weight.shape)),
    }


def _option_values(tables: dict[str, Any], spot: float, hedge_vol: float) -> NDArray[np.float64]:
    """Model value of each option line per unit at the start (step 0), as the kernel values it."""
    from hedgecore.pricing import greeks

    tau0 = tables["tau"][0]
    weight = tables["weight"][0, 0]
    term_rate = tables["term_rate"][0]
    term_var = tables["term_var"][0]
    values = np.empty(tau0.size)
    for i in range(tau0.size):
        prices = greeks(spot, tables["strike"][i], tau0[i], np.sqrt(hedge_vol ** 2 + term_var[i]),
                        is_call=tables["omega"][i] > 0, rate=term_rate[i]).price
        values[i] = float(np.sum(weight[i] * prices))
    return values


def _validate_book(spec: SimulationSpec) -> None:
    if not spec.options:
        raise ValueError("options: the book needs at least one option")
    for k, option in enumerate(spec.options):
        where = f"options[{k}]"
        if option.type not in ("call", "put"):
            raise ValueError(f"{where}.type must be 'call' or 'put', got {option.type!r}")
        if option.settlement not in ("linear", "inverse"):
            raise ValueError(f"{where}.settlement must be 'linear' or 'inverse', got {option.settlement!r}")
        _finite(f"{where}.strike", option.strike, low=0.0, strict=True)
        _finite(f"{where}.expiry_years", option.expiry_years, low=0.0, strict=True)
        _finite(f"{where}.quantity", option.quantity)


PolicyArrays = tuple[NDArray[np.intc], NDArray[np.float64], list[NDArray[np.float64]]]


def _policy_arrays(spec: SimulationSpec, dt: float, hedge_vol: float, cost_rate: float,
                   quantity: NDArray[np.float64]) -> PolicyArrays:
    from hedgecore._sim import leland_vols

    if not spec.policies:
        raise ValueError("policies: give at least one policy")
    names = [policy.name for policy in spec.policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policies: names must be unique, got {names}")
    ints = np.zeros((len(spec.policies), 6), dtype=np.intc)
    floats = np.zeros((len(spec.policies), 5))
    vol_sets: list[NDArray[np.float64]] = [np.full(quantity.size, hedge_vol)]
    for p, policy in enumerate(spec.policies):
        where = f"policies[{p}] ({policy.name!r})"
        if policy.method not in _METHODS:
            known = ", ".join(_METHODS)
            raise ValueError(f"{where}.method must be one of {known}, got {policy.method!r}")
        every = _positive_int(f"{where}.every", policy.every, _MAX_C_INT)
        if policy.min_interval_seconds is not None:
            _finite(f"{where}.min_interval_seconds", policy.min_interval_seconds, low=0.0)
        min_interval = _count(f"{where}.min_interval", policy.interval_steps(dt * SECONDS_PER_YEAR))
        min_trade = _finite(f"{where}.min_trade", policy.min_trade, low=0.0)
        if policy.rebalance not in (None, "edge", "target"):
            raise ValueError(f"{where}.rebalance must be 'edge' or 'target', got {policy.rebalance!r}")
        method = policy.method
        to_edge = (policy.rebalance or ("edge" if method in ("whalley_wilmott", "zakamouline") else "target")) == "edge"
        width = risk_aversion = 0.0
        outer = inner = -1.0
        coef_set = 0
        needs_gamma = method in ("whalley_wilmott", "zakamouline")
        if method == "fixed":
            if policy.width is None:
                raise ValueError(f"{where}.width is required for method 'fixed' (units of the underlying)")
            width = _finite(f"{where}.width", policy.width, low=0.0)
        if method in ("whalley_wilmott", "zakamouline"):
            if policy.risk_aversion is None:
                raise ValueError(f"{where}.risk_aversion is required for method {method!r}")
            risk_aversion = _finite(f"{where}.risk_aversion", policy.risk_aversion, low=0.0, strict=True)
        if method == "nested":
            if policy.outer is not None or policy.inner is not None:
                if policy.outer is None or policy.inner is None:
                    raise ValueError(f"{where}: give both outer and inner, or risk_aversion")
                outer = _finite(f"{where}.outer", policy.outer, low=0.0)
                inner = _finite(f"{where}.inner", policy.inner, low=0.0, high=outer)
            elif policy.risk_aversion is not None:
                risk_aversion = _finite(f"{where}.risk_aversion", policy.risk_aversion, low=0.0, strict=True)
                needs_gamma = True
            else:
                raise ValueError(f"{where}: method 'nested' needs outer and inner, or risk_aversion")
        if method == "leland":
            if hedge_vol <= 0.0:
                raise ValueError(f"{where}: method 'leland' needs a positive hedging vol")
            vol_sets.append(np.asarray(leland_vols(hedge_vol, cost_rate, every * dt, quantity)))
            coef_set = len(vol_sets) - 1
        if method == "zakamouline" and hedge_vol <= 0.0:
            raise ValueError(f"{where}: method 'zakamouline' needs a positive hedging vol")
        ints[p] = (_METHODS[method], every, int(to_edge), int(min_interval), coef_set, int(needs_gamma))
        floats[p] = (width, risk_aversion, outer, inner, min_trade)
    return ints, floats, vol_sets


def _plan(spec: SimulationSpec, n_steps: int) -> dict[str, Any]:
    """Validated keyword arguments of the kernel (plus the book's value, key _option_value)."""
    horizon = _finite("horizon_years", spec.horizon_years, low=0.0, strict=True)
    rate = _finite("rate", spec.rate)
    dt = horizon / n_steps
    _validate_book(spec)
    kind, params, returns, bootstrap = _model_arrays(spec, n_steps)
    hedge_vol = hedge_vol_of(spec)
    if spec.hedge.instrument not in _INSTRUMENTS:
        known = ", ".join(_INSTRUMENTS)
        raise ValueError(f"hedge.instrument must be one of {known}, got {spec.hedge.instrument!r}")
    costs = spec.costs
    cost_rate = (_finite("costs.proportional", costs.proportional, low=0.0)
                 + _finite("costs.half_spread", costs.half_spread, low=0.0))
    fixed = _finite("costs.fixed", costs.fixed, low=0.0)
    funding_8h = _finite("costs.funding_rate_8h", costs.funding_rate_8h)
    impact_coef = _finite("costs.impact_coef", costs.impact_coef, low=0.0)
    try:
        impact_adv = float(costs.impact_adv)
    except (TypeError, ValueError):
        raise ValueError(f"costs.impact_adv must be a number, got {costs.impact_adv!r}") from None
    if not impact_adv > 0.0:
        raise ValueError(f"costs.impact_adv must be > 0 (units of the underlying per day), got {costs.impact_adv!r}")
    if spec.hedge.instrument == "spot" and funding_8h != 0.0:
        raise ValueError("costs.funding_rate_8h applies to perpetual hedges; hedge.instrument is 'spot'")
    quantity = np.array([o.quantity for o in spec.options], dtype=np.float64)
    ints, floats, vol_sets = _policy_arrays(spec, dt, hedge_vol, cost_rate, quantity)
    tables = _book_tables(spec, n_steps, dt, vol_sets)
    spot0 = float(params[0])
    values = _option_values(tables, spot0, hedge_vol)
    inverse = np.array([o.settlement == "inverse" for o in spec.options])
    position_value = quantity * values
    return {
        "model_kind": kind,
        "model_params": params,
        "returns": returns,
        "bootstrap_block": bootstrap,
        "steps": n_steps,
        "dt": dt,
        "rate": rate,
        **tables,
        "hedge_vol": hedge_vol,
        "coin_premium": float(-np.sum(position_value[inverse]) / spot0),
        "premium_cash": float(-np.sum(position_value[~inverse])),
        "instrument": _INSTRUMENTS[spec.hedge.instrument],
        "costs": np.array([cost_rate, fixed, funding_8h * dt * HOURS_PER_YEAR / 8.0, impact_coef,
                           1.0 / impact_adv]),
        "policy_ints": ints,
        "policy_floats": floats,
        "_option_value": float(np.sum(position_value)),
    }
