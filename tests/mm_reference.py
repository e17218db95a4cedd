"""Plain numpy references of the market-making kernel (hedgecore._mm).

`walk_paths_scalar` follows the kernel's order of draws exactly (per step: one raw 64-bit
word for the two fill tests, then one standard normal), path after path of one block, so
given the same SFC64 stream it agrees with the kernel to the last bit (up to the exp of the
GBM mid, which is libm's in both). `simulate_vectorised` is the same model written the
numpy way, vectorised over paths with a Python loop over steps: its own draws, so it agrees
in distribution; bench/bench_mm.py times it beside the kernel.
"""

from __future__ import annotations

import math

import numpy as np

MASK32 = np.uint64(0xFFFFFFFF)


def walk_paths_scalar(bit_generator, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                      time_varying, thr_bid, thr_ask, depth_bid, depth_ask):
    """Rows (pnl, fills, captured, fees, inventory_end, inventory_sum, inventory_sq_sum, limit_steps)."""
    generator = np.random.Generator(bit_generator)
    out = np.zeros((n_paths, 8))
    for p in range(n_paths):
        q = 0
        x = 0.0 if mid_kind == 1 else spot0
        cash = fees = captured = fills = inv_sum = inv_sq = limit = 0.0
        for step in range(steps):
            row = step if time_varying else 0
            qi = q + q_max
            inv_sum += q
            inv_sq += q * q
            if abs(q) == q_max:
                limit += 1
            draw = int(bit_generator.random_raw())
            high, low = draw >> 32, draw & 0xFFFFFFFF
            spot = spot0 * math.exp(x) if mid_kind == 1 else x
            if high < int(thr_bid[row, qi]):
                notional = size * (spot - depth_bid[row, qi])
                cash -= notional + fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_bid[row, qi]
                fills += 1
                q += 1
            if low < int(thr_ask[row, qi]):
                notional = size * (spot + depth_ask[row, qi])
                cash += notional - fee_rate * notional
                fees += fee_rate * notional
                captured += size * depth_ask[row, qi]
                fills += 1
                q -= 1
            z = generator.standard_normal()
            x = x + (drift + vol * z if mid_kind == 1 else vol * z)
        spot = spot0 * math.exp(x) if mid_kind == 1 else x
        out[p] = (cash + q * size * spot, fills, captured, fees, q, inv_sum, inv_sq, limit)
    return out


def simulate_vectorised(rng, n_paths, *, mid_kind, spot0, drift, vol, steps, q_max, size, fee_rate,
                        time_varying, thr_bid, thr_ask, depth_bid, depth_ask):
    """The same model, vectorised over paths (numpy draws in bulk per step); the same rows."""
    q = np.zeros(n_paths, dtype=np.int64)
    x = np.full(n_paths, 0.0 if mid_kind == 1 else spot0)
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
        qi = q + q_max
        inv_sum += q
        inv_sq += q * q
        limit += np.abs(q) == q_max
        draw = bit_generator.random_raw(n_paths)
        spot = spot0 * np.exp(x) if mid_kind == 1 else x
        buy = (draw >> np.uint64(32)) < thr_bid[row][qi]
        sell = (draw & MASK32) < thr_ask[row][qi]
        bid_depth = depth_bid[row][qi]
        ask_depth = depth_ask[row][qi]
        buy_notional = np.where(buy, size * (spot - bid_depth), 0.0)
        sell_notional = np.where(sell, size * (spot + ask_depth), 0.0)
        cash += sell_notional - buy_notional - fee_rate * (buy_notional + sell_notional)
        fees += fee_rate * (buy_notional + sell_notional)
        captured += size * (np.where(buy, bid_depth, 0.0) + np.where(sell, ask_depth, 0.0))
        fills += buy.astype(np.float64) + sell
        q += buy.astype(np.int64) - sell
        z = rng.standard_normal(n_paths)
        x += drift + vol * z if mid_kind == 1 else vol * z
    spot = spot0 * np.exp(x) if mid_kind == 1 else x
    return np.column_stack([cash + q * size * spot, fills, captured, fees, q, inv_sum, inv_sq, limit])
