"""Plain numpy references of the market-making kernel (hedgecore._mm).

Both follow the kernel's algorithm: per step one raw 64-bit SFC64 word decides the two fill
tests (high 32 bits: bid, low 32 bits: ask, against thresholds out of 2^32); the mid is
sampled only when a fill needs it and at the end, one standard normal for the n steps since
its last sample; inventory statistics are counted per step held.

`walk_paths_scalar` draws exactly as the kernel does (path after path of one block, words
by random_raw and normals by Generator.standard_normal on the same SFC64), so on the same
stream it agrees with the kernel to rounding. `simulate_vectorised` is the same simulation
written the numpy way, vectorised over paths with a Python loop over steps: its own order
of draws, so it agrees in distribution; bench/bench_mm.py times it beside the kernel.
"""

from __future__ import annotations

import math

import numpy as np

MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)


def walk_paths_scalar(bit_generator, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                      time_varying, thr_bid, thr_ask, depth_bid, depth_ask):
    """Rows (pnl, fills, captured, fees, inventory_end, inventory_sum, inventory_sq_sum, limit_steps)."""
    generator = np.random.Generator(bit_generator)
    out = np.zeros((n_paths, 8))
    gbm = mid_kind == 1
    for p in range(n_paths):
        q = 0
        x = 0.0 if gbm else spot0
        mid_step = 0
        cash = fees = captured = fills = inv_sum = inv_sq = limit = 0.0
        for step in range(steps):
            row = step if time_varying else 0
            qi = q + q_max
            inv_sum += q
            inv_sq += q * q
            limit += abs(q) == q_max
            draw = int(bit_generator.random_raw())
            bought = (draw >> 32) < int(thr_bid[row, qi])
            sold = (draw & 0xFFFFFFFF) < int(thr_ask[row, qi])
            if not (bought or sold):
                continue
            if step > mid_step:
                gap = step - mid_step
                x += drift * gap + vol * math.sqrt(gap) * generator.standard_normal()
                mid_step = step
            spot = spot0 * math.exp(x) if gbm else x
            if bought:
                notional = size * (spot - depth_bid[row, qi])
                cash -= notional + fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_bid[row, qi]
                fills += 1
                q += 1
            if sold:
                notional = size * (spot + depth_ask[row, qi])
                cash += notional - fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_ask[row, qi]
                fills += 1
                q -= 1
        if steps > mid_step:
            gap = steps - mid_step
            x += drift * gap + vol * math.sqrt(gap) * generator.standard_normal()
        spot = spot0 * math.exp(x) if gbm else x
        out[p] = (cash + q * size * spot, fills, captured, fees, q, inv_sum, inv_sq, limit)
    return out


def simulate_vectorised(rng, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                        time_varying, thr_bid, thr_ask, depth_bid, depth_ask):
    """The same simulation vectorised over paths (a step's words drawn in bulk, the fill
    bookkeeping on the paths that filled); the same rows."""
    gbm = mid_kind == 1
    qi = np.full(n_paths, q_max, dtype=np.intp)
    x = np.full(n_paths, 0.0 if gbm else spot0)
    mid_step = np.zeros(n_paths)
    since = np.zeros(n_paths)
    cash = np.zeros(n_paths)
    fees = np.zeros(n_paths)
    captured = np.zeros(n_paths)
    fills = np.zeros(n_paths)
    inv_sum = np.zeros(n_paths)
    inv_sq = np.zeros(n_paths)
    limit = np.zeros(n_paths)
    bit_generator = rng.bit_generator
    for step in range(steps):
        row = step if time_varying else 0
        draw = bit_generator.random_raw(n_paths)
        bought = (draw >> SHIFT32) < thr_bid[row][qi]
        sold = (draw & MASK32) < thr_ask[row][qi]
        active = np.flatnonzero(bought | sold)
        if active.size == 0:
            continue
        b, s, k = bought[active], sold[active], qi[active]
        gap = step - mid_step[active]
        x[active] += drift * gap + vol * np.sqrt(gap) * rng.standard_normal(active.size)
        mid_step[active] = step
        spot = spot0 * np.exp(x[active]) if gbm else x[active]
        bid_depth, ask_depth = depth_bid[row][k], depth_ask[row][k]
        buy_notional = np.where(b, size * (spot - bid_depth), 0.0)
        sell_notional = np.where(s, size * (spot + ask_depth), 0.0)
        cash[active] += sell_notional - buy_notional - fee_rate * (buy_notional + sell_notional)
        fees[active] += fee_rate * (buy_notional + sell_notional)
        captured[active] += size * (np.where(b, bid_depth, 0.0) + np.where(s, ask_depth, 0.0))
        fills[active] += b.astype(np.float64) + s
        q_before = (k - q_max).astype(np.float64)
        held = step + 1 - since[active]
        changed = b != s
        inv_sum[active] += np.where(changed, q_before * held, 0.0)
        inv_sq[active] += np.where(changed, q_before * q_before * held, 0.0)
        limit[active] += np.where(changed & (np.abs(q_before) == q_max), held, 0.0)
        since[active] = np.where(changed, step + 1, since[active])
        qi[active] = k + b.astype(np.intp) - s
    q = (qi - q_max).astype(np.float64)
    held = steps - since
    inv_sum += q * held
    inv_sq += q * q * held
    limit += np.where(np.abs(q) == q_max, held, 0.0)
    gap = steps - mid_step
    x += drift * gap + vol * np.sqrt(gap) * rng.standard_normal(n_paths)
    spot = spot0 * np.exp(x) if gbm else x
    return np.column_stack([cash + q * size * spot, fills, captured, fees, q, inv_sum, inv_sq, limit])
