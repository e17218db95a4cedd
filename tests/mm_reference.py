"""Plain numpy references of the market-making kernel (hedgecore._mm).

All follow the kernel's model (see its docstring): each side fills in a step with
probability 1 - exp(-h), h the step's hazard for the inventory; the mid is sampled only at
fills and at the end; inventory statistics are counted per step held.

`walk_paths_scalar` draws exactly as the kernel does, event by event (path after path of one
block; exponentials, normals and Poisson counts by numpy's Generator on the same SFC64), so
on the same stream it agrees with the kernel to rounding: mid models arithmetic, GBM,
Heston, Merton, and the delta hedge.

`simulate_vectorised` is the same event-driven algorithm written the numpy way, vectorised
over paths with a Python loop over events (a vectorised binary search for time-varying
hazards); `simulate_vectorised_per_step` is the textbook numpy version, a Python loop over
steps with one uniform per path per side. Both have their own order of draws, so they agree
with the kernel in distribution; bench/bench_mm.py times both beside the kernel. Arithmetic,
GBM and Merton mids, no hedge.
"""

from __future__ import annotations

import math

import numpy as np


def _next_fill_scalar(hazard, time_varying, qi, t, e, steps):
    if not time_varying:
        h = float(hazard[0, qi])
        if h <= 0.0:
            return steps
        gap = math.floor(e / h)
        return steps if gap >= steps - t else t + gap
    row = hazard[qi]
    target = row[t] + e
    if not row[steps] > target:
        return steps
    return int(np.searchsorted(row, target, side="right")) - 1


def _advance_scalar(generator, k, x, v, n):
    """(x, v, jumps) n steps on, drawing as the kernel's advance_mid."""
    if k["mid_kind"] == 2:
        dt, rho = k["dt"], k["rho"]
        for _ in range(n):
            vp = v if v > 0.0 else 0.0
            z1 = generator.standard_normal()
            z2 = generator.standard_normal()
            x = x + k["drift"] - 0.5 * vp * dt + math.sqrt(vp * dt) * z1
            v = v + k["kappa"] * (k["theta"] - vp) * dt + k["vol_of_vol"] * math.sqrt(vp * dt) * (
                rho * z1 + math.sqrt(1.0 - rho * rho) * z2)
        return x, v, 0.0
    x = x + k["drift"] * n + k["vol"] * math.sqrt(n) * generator.standard_normal()
    jumps = 0.0
    if k["mid_kind"] == 3:
        count = float(generator.poisson(k["jump_rate"] * n))
        if count > 0.0:
            x = x + count * k["jump_mean"] + k["jump_std"] * math.sqrt(count) * generator.standard_normal()
            jumps = count
    return x, v, jumps


def walk_paths_scalar(bit_generator, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                      time_varying, hazard_bid, hazard_ask, depth_bid, depth_ask, dt=0.0, v0=0.0, kappa=0.0,
                      theta=0.0, vol_of_vol=0.0, rho=0.0, jump_rate=0.0, jump_mean=0.0, jump_std=0.0,
                      hedge_band=-1.0, hedge_rate=0.0):
    """Rows (pnl, fills, captured, fees, inventory_end, inventory_sum, inventory_sq_sum, limit_steps,
    mid_end, jumps, hedge_cost, hedge_trades)."""
    k = {"mid_kind": mid_kind, "drift": drift, "vol": vol, "dt": dt, "kappa": kappa, "theta": theta,
         "vol_of_vol": vol_of_vol, "rho": rho, "jump_rate": jump_rate, "jump_mean": jump_mean, "jump_std": jump_std}
    generator = np.random.Generator(bit_generator)
    out = np.zeros((n_paths, 12))
    log_mid = mid_kind != 0
    for p in range(n_paths):
        q, t, mid_step, since = 0, 0, 0, 0
        x, v = (0.0 if log_mid else spot0), v0
        cash = fees = captured = fills = inv_sum = inv_sq = limit = jumps = 0.0
        hedge_units = hedge_cash = hedge_cost = hedge_trades = 0.0
        while t < steps:
            qi = q + q_max
            e_bid = generator.standard_exponential()
            e_ask = generator.standard_exponential()
            s_bid = _next_fill_scalar(hazard_bid, time_varying, qi, t, e_bid, steps)
            s_ask = _next_fill_scalar(hazard_ask, time_varying, qi, t, e_ask, steps)
            s = min(s_bid, s_ask)
            if s >= steps:
                break
            bought, sold = s_bid == s, s_ask == s
            if s > mid_step:
                x, v, new_jumps = _advance_scalar(generator, k, x, v, s - mid_step)
                jumps += new_jumps
                mid_step = s
            spot = spot0 * math.exp(x) if log_mid else x
            row = s if time_varying else 0
            q_before = q
            if bought:
                notional = size * (spot - depth_bid[row, qi])
                cash = cash - notional - fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_bid[row, qi]
                fills += 1
                q += 1
            if sold:
                notional = size * (spot + depth_ask[row, qi])
                cash = cash + notional - fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_ask[row, qi]
                fills += 1
                q -= 1
            if q != q_before:
                held = s + 1 - since
                inv_sum += q_before * held
                inv_sq += q_before * q_before * held
                limit += held if abs(q_before) == q_max else 0
                since = s + 1
                if hedge_band >= 0.0:
                    net = q * size + hedge_units
                    trade = hedge_band - net if net > hedge_band else (-hedge_band - net if net < -hedge_band else 0.0)
                    if trade != 0.0:
                        hedge_units += trade
                        hedge_cash -= trade * spot
                        hedge_cost += hedge_rate * abs(trade) * spot
                        hedge_trades += 1
            t = s + 1
        held = steps - since
        inv_sum += q * held
        inv_sq += q * q * held
        limit += held if abs(q) == q_max else 0
        if steps > mid_step:
            x, v, new_jumps = _advance_scalar(generator, k, x, v, steps - mid_step)
            jumps += new_jumps
        spot = spot0 * math.exp(x) if log_mid else x
        pnl = cash + q * size * spot + hedge_cash + hedge_units * spot - hedge_cost
        out[p] = (pnl, fills, captured, fees, q, inv_sum, inv_sq, limit, spot, jumps, hedge_cost, hedge_trades)
    return out


class _Paths:
    """Per-path state of the vectorised references."""

    def __init__(self, n_paths, q_max, x0):
        self.qi = np.full(n_paths, q_max, dtype=np.intp)
        self.x = np.full(n_paths, x0)
        self.jumps = np.zeros(n_paths)
        self.mid_step = np.zeros(n_paths, dtype=np.int64)
        self.since = np.zeros(n_paths, dtype=np.int64)
        self.cash, self.fees, self.captured, self.fills = (np.zeros(n_paths) for _ in range(4))
        self.inv_sum, self.inv_sq, self.limit = (np.zeros(n_paths) for _ in range(3))


def _advance_vectorised(rng, paths, idx, steps_to, mid_kind, drift, vol, jump_rate, jump_mean, jump_std):
    gap = (steps_to - paths.mid_step[idx]).astype(np.float64)
    paths.x[idx] += drift * gap + vol * np.sqrt(gap) * rng.standard_normal(idx.size)
    if mid_kind == 3:
        count = rng.poisson(jump_rate * gap).astype(np.float64)
        paths.x[idx] += count * jump_mean + jump_std * np.sqrt(count) * rng.standard_normal(idx.size)
        paths.jumps[idx] += count
    paths.mid_step[idx] = steps_to


def _fill(paths, idx, step, b, s, row, spot, size, fee_rate, q_max, depth_bid, depth_ask):
    """Book the fills (b bought, s sold) of paths idx at `step` with mid `spot`."""
    k = paths.qi[idx]
    bid_depth, ask_depth = depth_bid[row, k], depth_ask[row, k]
    buy_notional = np.where(b, size * (spot - bid_depth), 0.0)
    sell_notional = np.where(s, size * (spot + ask_depth), 0.0)
    paths.cash[idx] += sell_notional - buy_notional - fee_rate * (buy_notional + sell_notional)
    paths.fees[idx] += fee_rate * (buy_notional + sell_notional)
    paths.captured[idx] += size * (np.where(b, bid_depth, 0.0) + np.where(s, ask_depth, 0.0))
    paths.fills[idx] += b.astype(np.float64) + s
    q_before = (k - q_max).astype(np.float64)
    held = step + 1 - paths.since[idx]
    changed = b != s
    paths.inv_sum[idx] += np.where(changed, q_before * held, 0.0)
    paths.inv_sq[idx] += np.where(changed, q_before * q_before * held, 0.0)
    paths.limit[idx] += np.where(changed & (np.abs(q_before) == q_max), held, 0.0)
    paths.since[idx] = np.where(changed, step + 1, paths.since[idx])
    paths.qi[idx] = k + b.astype(np.intp) - s


def _finish(rng, paths, steps, q_max, size, spot0, log_mid, mid_kind, drift, vol, jump_rate, jump_mean, jump_std):
    q = (paths.qi - q_max).astype(np.float64)
    held = steps - paths.since
    paths.inv_sum += q * held
    paths.inv_sq += q * q * held
    paths.limit += np.where(np.abs(q) == q_max, held, 0.0)
    _advance_vectorised(rng, paths, np.arange(q.size), steps, mid_kind, drift, vol, jump_rate, jump_mean, jump_std)
    spot = spot0 * np.exp(paths.x) if log_mid else paths.x
    zeros = np.zeros(q.size)
    return np.column_stack([paths.cash + q * size * spot, paths.fills, paths.captured, paths.fees, q, paths.inv_sum,
                            paths.inv_sq, paths.limit, spot, paths.jumps, zeros, zeros])


def _next_fill_vectorised(hazard, time_varying, qi, t, e, steps):
    if not time_varying:
        h = hazard[0, qi]
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.floor(e / h)
        ok = (h > 0.0) & (gap < steps - t)
        return np.where(ok, t + np.where(ok, gap, 0.0).astype(np.int64), steps)
    target = hazard[qi, t] + e
    lo = t + 1
    hi = np.full(t.size, steps, dtype=np.int64)
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = lo + (hi - lo) // 2
        above = hazard[qi, mid] > target
        hi = np.where(open_ & above, mid, hi)
        lo = np.where(open_ & ~above, mid + 1, lo)
    return np.where(hazard[qi, steps] > target, lo - 1, steps)


def simulate_vectorised(rng, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                        time_varying, hazard_bid, hazard_ask, depth_bid, depth_ask, jump_rate=0.0, jump_mean=0.0,
                        jump_std=0.0, **unsupported):
    """The kernel's event-driven algorithm vectorised over paths (a Python loop over events)."""
    if mid_kind not in (0, 1, 3) or unsupported.get("hedge_band", -1.0) >= 0.0:
        raise NotImplementedError("the vectorised reference covers arithmetic, GBM and Merton mids, no hedge")
    log_mid = mid_kind != 0
    paths = _Paths(n_paths, q_max, 0.0 if log_mid else spot0)
    t = np.zeros(n_paths, dtype=np.int64)
    live = np.arange(n_paths)
    while live.size:
        qi, now = paths.qi[live], t[live]
        s_bid = _next_fill_vectorised(hazard_bid, time_varying, qi, now, rng.standard_exponential(live.size), steps)
        s_ask = _next_fill_vectorised(hazard_ask, time_varying, qi, now, rng.standard_exponential(live.size), steps)
        s = np.minimum(s_bid, s_ask)
        filled = s < steps
        live, s, s_bid, s_ask = live[filled], s[filled], s_bid[filled], s_ask[filled]
        if not live.size:
            break
        moved = s > paths.mid_step[live]
        _advance_vectorised(rng, paths, live[moved], s[moved], mid_kind, drift, vol, jump_rate, jump_mean, jump_std)
        spot = spot0 * np.exp(paths.x[live]) if log_mid else paths.x[live]
        row = s if time_varying else np.zeros_like(s)
        _fill(paths, live, s, s_bid == s, s_ask == s, row, spot, size, fee_rate, q_max, depth_bid, depth_ask)
        t[live] = s + 1
        live = live[t[live] < steps]
    return _finish(rng, paths, steps, q_max, size, spot0, log_mid, mid_kind, drift, vol, jump_rate, jump_mean,
                   jump_std)


def step_probabilities(hazard, time_varying, steps):
    """P(fill in a step) by step and inventory (rows: 1 or steps) from the kernel's hazards."""
    per_step = np.diff(hazard, axis=1).T if time_varying else hazard
    return -np.expm1(-per_step)


def simulate_vectorised_per_step(rng, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                                 time_varying, hazard_bid, hazard_ask, depth_bid, depth_ask, jump_rate=0.0,
                                 jump_mean=0.0, jump_std=0.0, **unsupported):
    """The textbook numpy simulation: a loop over steps, a uniform per path per side per step."""
    if mid_kind not in (0, 1, 3) or unsupported.get("hedge_band", -1.0) >= 0.0:
        raise NotImplementedError("the vectorised reference covers arithmetic, GBM and Merton mids, no hedge")
    log_mid = mid_kind != 0
    p_bid = step_probabilities(hazard_bid, time_varying, steps)
    p_ask = step_probabilities(hazard_ask, time_varying, steps)
    paths = _Paths(n_paths, q_max, 0.0 if log_mid else spot0)
    for step in range(steps):
        row = step if time_varying else 0
        bought = rng.random(n_paths) < p_bid[row][paths.qi]
        sold = rng.random(n_paths) < p_ask[row][paths.qi]
        active = np.flatnonzero(bought | sold)
        if active.size == 0:
            continue
        moved = active[paths.mid_step[active] < step]
        _advance_vectorised(rng, paths, moved, step, mid_kind, drift, vol, jump_rate, jump_mean, jump_std)
        spot = spot0 * np.exp(paths.x[active]) if log_mid else paths.x[active]
        _fill(paths, active, step, bought[active], sold[active], row, spot, size, fee_rate, q_max, depth_bid,
              depth_ask)
    return _finish(rng, paths, steps, q_max, size, spot0, log_mid, mid_kind, drift, vol, jump_rate, jump_mean,
                   jump_std)


def _option_greeks_scalar(o, spot, tau, vol):
    """As the kernel's option_greeks: USD price, delta (coin), vega per vol point, gamma per 1%."""
    if tau <= 0.0 or vol <= 0.0 or spot <= 0.0:
        if o["is_call"]:
            return max(spot - o["strike"], 0.0), (1.0 if spot > o["strike"] else 0.0), 0.0, 0.0
        return max(o["strike"] - spot, 0.0), (-1.0 if spot < o["strike"] else 0.0), 0.0, 0.0
    disc = math.exp(-o["rate"] * tau)
    forward = spot / disc
    sd = vol * math.sqrt(tau)
    d1 = (math.log(forward / o["strike"]) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    nd1 = 0.5 * math.erfc(-d1 * 0.7071067811865476)
    nd2 = 0.5 * math.erfc(-d2 * 0.7071067811865476)
    pdf = math.exp(-0.5 * d1 * d1) * 0.3989422804014327
    if o["is_call"]:
        price, delta = disc * (forward * nd1 - o["strike"] * nd2), nd1
    else:
        price, delta = disc * (o["strike"] * (1.0 - nd2) - forward * (1.0 - nd1)), nd1 - 1.0
    return price, delta, spot * pdf * math.sqrt(tau) * 0.01, pdf / (spot * sd) * spot * spot * 0.01


def walk_option_paths_scalar(bit_generator, n_paths, k):
    """A dealer quoting one option, step by step, drawing as the kernel's walk_option_path
    (k: hedgecore.quoting.mmsim.kernel_arguments with its `option`). Rows as the kernel's out
    (pnl, fills, captured, fees, q_end, sum q, sum q^2, limit steps, mid_end, jumps, hedge cost,
    hedge trades)."""
    generator = np.random.Generator(bit_generator)
    o = k["option"]
    steps, q_max, size, fee_rate, dt = k["steps"], k["q_max"], k["size"], k["fee_rate"], k["dt"]
    band = k.get("hedge_band", -1.0)
    log_mid = k["mid_kind"] != 0
    rows = []
    for _ in range(n_paths):
        x = 0.0 if log_mid else k["spot0"]
        v = k.get("v0", 0.0)
        q = 0
        cash = fees = captured = fills = inv_sum = inv_sq = limit = jumps = 0.0
        hedge_units = hedge_cash = hedge_cost = hedge_trades = 0.0

        def vol_now(variance):
            if o["iv"] >= 0.0:
                return o["iv"]
            return math.sqrt(variance) if variance > 1e-8 else 1e-4

        for t in range(steps):
            spot = k["spot0"] * math.exp(x) if log_mid else x
            price, delta, vega, gamma = _option_greeks_scalar(o, spot, o["expiry"] - t * dt, vol_now(v))
            unit = spot if o["inverse"] else 1.0
            book = q * size
            skew = -(o["ra_delta"] * (book * delta + hedge_units) * delta + o["ra_vega"] * book * vega * vega
                     + o["ra_gamma"] * book * gamma * gamma) / unit
            half = o["half_spread"] + 0.5 * size * (o["ra_delta"] * delta * delta + o["ra_vega"] * vega * vega
                                                    + o["ra_gamma"] * gamma * gamma) / unit
            mark = price / unit
            bid, ask = mark + skew - half, mark + skew + half
            u_bid, u_ask = generator.random(), generator.random()
            bought = q < q_max and bid > 0.0 and u_bid < -math.expm1(-o["a_dt"] * math.exp(-o["k"] * (mark - bid)))
            sold = q > -q_max and u_ask < -math.expm1(-o["a_dt"] * math.exp(-o["k"] * (ask - mark)))
            inv_sum += q
            inv_sq += q * q
            limit += 1.0 if abs(q) == q_max else 0.0
            if bought:
                cash -= size * bid * unit * (1.0 + fee_rate)
                fees += fee_rate * size * bid * unit
                captured += size * (mark - bid) * unit
                fills += 1.0
                q += 1
            if sold:
                cash += size * ask * unit * (1.0 - fee_rate)
                fees += fee_rate * size * ask * unit
                captured += size * (ask - mark) * unit
                fills += 1.0
                q -= 1
            if band >= 0.0 and (bought or sold):
                net = q * size * delta + hedge_units
                trade = band - net if net > band else (-band - net if net < -band else 0.0)
                if trade != 0.0:
                    hedge_units += trade
                    hedge_cash -= trade * spot
                    hedge_cost += k["hedge_rate"] * abs(trade) * spot
                    hedge_trades += 1.0
            x, v, jumped = _advance_scalar(generator, k, x, v, 1)
            jumps += jumped
        spot = k["spot0"] * math.exp(x) if log_mid else x
        price = _option_greeks_scalar(o, spot, o["expiry"] - steps * dt, vol_now(v))[0]
        pnl = cash + q * size * price + hedge_cash + hedge_units * spot - hedge_cost
        rows.append((pnl, fills, captured, fees, float(q), inv_sum, inv_sq, limit, spot, jumps, hedge_cost,
                     hedge_trades))
    return np.array(rows)
