# cython: language_level=3
"""Market-making simulation kernel: a dealer quoting both sides of one instrument.

Layers, as in the rest of the compiled core:
1. point kernel `walk_path`: one path of one policy, scalars and table lookups only,
   `noexcept nogil`, never failing;
2. the loop driver `simulate_blocks`: a `prange` over blocks of paths. Block b draws from its
   own numpy bit generator (SFC64(SeedSequence(seed).spawn(n_blocks)[b]), made by the
   facade), its paths walked one after the other, so a path's numbers depend on its block
   only, never on the thread count; only per-path results are written (memory O(paths));
3. the Python facade (hedgecore.quoting.mmsim): validates, builds the policy's tables (fill
   thresholds and depths by step and inventory), seeds the streams, summarises.

Per step of a path, in this order (a numpy reference in tests/mm_reference.py draws the same
numbers in the same order and agrees exactly):
- w = the next SFC64 word (numpy's algorithm on its state, stepped inline): its high 32 bits
  decide the bid fill, its low 32 bits the ask fill: the
  side fills when those bits are below the policy's threshold round(2^32 (1 - exp(-lambda dt)))
  for the inventory and step, lambda = A exp(-k depth); a side not quoted has threshold 0;
- both sides quote against the inventory at the start of the step; a bid fill buys one lot
  at mid - bid depth, an ask fill sells one at mid + ask depth, each paying fee_rate x
  notional (negative: a rebate);
- the mid is sampled only where a fill needs it and at the end: over the n steps since it
  was last sampled, z = numpy's standard normal (ziggurat) and arithmetic
  S += vol sqrt(n) z or GBM log S += n drift + vol sqrt(n) z, exactly the law of n
  one-step increments (the policies' quotes depend on inventory and time, never on S).
PnL per path = cash + inventory x size x mid at the end (quote currency).
"""

from cython.parallel cimport prange
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.math cimport exp, sqrt
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_normal

import numpy as np

# numpy's SFC64 state (numpy/random/src/sfc64/sfc64.h). A block copies it to its own stack
# while it runs: the generator objects of neighbouring blocks share cache lines, and two
# threads writing them every draw ran slower than one.
cdef struct sfc64_state_t:
    uint64_t s[4]
    int has_uint32
    uint32_t uinteger


cdef enum:
    MID_ARITHMETIC = 0
    MID_GBM = 1


cdef struct path_out_t:
    double pnl
    double fills
    double captured
    double fees
    double inventory_end
    double inventory_sum
    double inventory_sq_sum
    double limit_steps


cdef struct walk_t:
    int mid_kind
    double spot0
    double drift
    double vol
    Py_ssize_t steps
    Py_ssize_t q_max
    double size
    double fee_rate
    bint time_varying
    const uint64_t* thr_bid
    const uint64_t* thr_ask
    const double* depth_bid
    const double* depth_ask


cdef inline path_out_t walk_path(const walk_t* w, bitgen_t* rng, sfc64_state_t* st) noexcept nogil:
    """One path. The fill draws step numpy's SFC64 algorithm inline on a register copy of
    `st`; the normals go through numpy's distributions on the same state (`rng` wraps `st`,
    written back around each call), so the stream is numpy's SFC64's.
    The mid is sampled only when a fill needs it and at the end: the sum of n independent
    increments is one increment of n steps (exact for arithmetic and GBM mids), so a quiet
    step costs one draw and two comparisons. Inventory statistics are accumulated when the
    inventory changes, for the steps it was held."""
    cdef Py_ssize_t step, row_base = 0, width = 2 * w.q_max + 1, qi, mid_step = 0, since = 0, held
    cdef int64_t q = 0, q_before
    cdef double x, spot, price, cash = 0.0, fees = 0.0, captured = 0.0, gap
    cdef double fills = 0.0, inv_sum = 0.0, inv_sq = 0.0, limit_steps = 0.0, notional
    cdef uint64_t draw, high, low
    cdef bint gbm = w.mid_kind == MID_GBM, bought, sold
    cdef path_out_t out
    # the generator's words and the tables in locals: the state's stores cannot then alias
    # the tables' loads (both uint64), and a quiet step touches no memory but the tables
    cdef uint64_t a = st.s[0], b = st.s[1], c = st.s[2], n = st.s[3]
    cdef const uint64_t* thr_bid = w.thr_bid
    cdef const uint64_t* thr_ask = w.thr_ask
    cdef Py_ssize_t steps = w.steps, row_step = width if w.time_varying else 0
    x = 0.0 if gbm else w.spot0
    qi = w.q_max
    for step in range(steps):
        draw = a + b + n
        n = n + 1
        a = b ^ (b >> 11)
        b = c + (c << 3)
        c = ((c << 24) | (c >> 40)) + draw
        high = draw >> 32
        low = draw & 0xffffffffULL
        bought = high < thr_bid[row_base + qi]
        sold = low < thr_ask[row_base + qi]
        if bought | sold:
            if step > mid_step:
                gap = <double>(step - mid_step)
                st.s[0] = a
                st.s[1] = b
                st.s[2] = c
                st.s[3] = n
                x = x + w.drift * gap + w.vol * sqrt(gap) * random_standard_normal(rng)
                a = st.s[0]
                b = st.s[1]
                c = st.s[2]
                n = st.s[3]
                mid_step = step
            spot = w.spot0 * exp(x) if gbm else x
            q_before = q
            if bought:
                price = spot - w.depth_bid[row_base + qi]
                notional = w.size * price
                cash = cash - notional - w.fee_rate * notional
                fees = fees + w.fee_rate * notional
                captured = captured + w.size * w.depth_bid[row_base + qi]
                fills = fills + 1.0
                q = q + 1
            if sold:
                price = spot + w.depth_ask[row_base + qi]
                notional = w.size * price
                cash = cash + notional - w.fee_rate * notional
                fees = fees + w.fee_rate * notional
                captured = captured + w.size * w.depth_ask[row_base + qi]
                fills = fills + 1.0
                q = q - 1
            if q != q_before:
                held = step + 1 - since          # steps 'since' .. 'step' started at q_before
                inv_sum = inv_sum + <double>(q_before * held)
                inv_sq = inv_sq + <double>(q_before * q_before * held)
                if q_before == w.q_max or q_before == -w.q_max:
                    limit_steps = limit_steps + <double>held
                since = step + 1
                qi = q + w.q_max
        row_base = row_base + row_step
    st.s[0] = a
    st.s[1] = b
    st.s[2] = c
    st.s[3] = n
    held = w.steps - since
    inv_sum = inv_sum + <double>(q * held)
    inv_sq = inv_sq + <double>(q * q * held)
    if q == w.q_max or q == -w.q_max:
        limit_steps = limit_steps + <double>held
    if w.steps > mid_step:
        gap = <double>(w.steps - mid_step)
        x = x + w.drift * gap + w.vol * sqrt(gap) * random_standard_normal(rng)
    spot = w.spot0 * exp(x) if gbm else x
    out.pnl = cash + <double>q * w.size * spot
    out.fills = fills
    out.captured = captured
    out.fees = fees
    out.inventory_end = <double>q
    out.inventory_sum = inv_sum
    out.inventory_sq_sum = inv_sq
    out.limit_steps = limit_steps
    return out


cdef void run_block(const walk_t* w, bitgen_t* rng, Py_ssize_t start, Py_ssize_t stop,
                    double[:, ::1] out) noexcept nogil:
    """Paths start .. stop - 1 of one block, drawing from a stack copy of its generator."""
    cdef bitgen_t local_rng = rng[0]
    cdef sfc64_state_t local_state
    cdef path_out_t r
    cdef Py_ssize_t p
    memcpy(&local_state, rng.state, sizeof(sfc64_state_t))
    local_rng.state = &local_state
    for p in range(start, stop):
        r = walk_path(w, &local_rng, &local_state)
        out[p, 0] = r.pnl
        out[p, 1] = r.fills
        out[p, 2] = r.captured
        out[p, 3] = r.fees
        out[p, 4] = r.inventory_end
        out[p, 5] = r.inventory_sum
        out[p, 6] = r.inventory_sq_sum
        out[p, 7] = r.limit_steps
    memcpy(rng.state, &local_state, sizeof(sfc64_state_t))


def simulate_blocks(*, int mid_kind, double spot0, double drift, double vol, Py_ssize_t steps,
                    Py_ssize_t q_max, double size, double fee_rate, bint time_varying,
                    const uint64_t[:, ::1] thr_bid, const uint64_t[:, ::1] thr_ask,
                    const double[:, ::1] depth_bid, const double[:, ::1] depth_ask,
                    list bit_generators, Py_ssize_t first_block, Py_ssize_t paths_per_block,
                    Py_ssize_t n_paths, double[:, ::1] out, int n_threads):
    """Walk the paths of blocks first_block .. first_block + len(bit_generators) - 1 (block b
    holds paths b * paths_per_block ..), one bit generator per block, writing row p of
    `out` (n_paths, 8): pnl, fills, spread captured, fees, final inventory (lots), sum of
    inventory over steps, sum of its square, steps at a limit."""
    cdef Py_ssize_t n_blocks = len(bit_generators), b, rows
    cdef walk_t w
    if mid_kind not in (MID_ARITHMETIC, MID_GBM):
        raise ValueError(f"mid_kind must be 0 (arithmetic) or 1 (gbm), got {mid_kind}")
    if steps < 1 or q_max < 1 or paths_per_block < 1 or n_threads < 1:
        raise ValueError("steps, q_max, paths_per_block and n_threads must be >= 1")
    rows = steps if time_varying else 1
    for name, table in (("thr_bid", thr_bid), ("thr_ask", thr_ask)):
        if table.shape[0] != rows or table.shape[1] != 2 * q_max + 1:
            raise ValueError(f"{name} must have shape ({rows}, {2 * q_max + 1})")
    for name, dtable in (("depth_bid", depth_bid), ("depth_ask", depth_ask)):
        if dtable.shape[0] != rows or dtable.shape[1] != 2 * q_max + 1:
            raise ValueError(f"{name} must have shape ({rows}, {2 * q_max + 1})")
    if out.shape[1] != 8 or out.shape[0] < n_paths:
        raise ValueError("out must have shape (n_paths, 8)")
    if (first_block + n_blocks) * paths_per_block - paths_per_block >= n_paths and n_blocks > 0:
        raise ValueError("blocks beyond n_paths")
    addresses = np.empty(n_blocks, dtype=np.uintp)
    cdef size_t[::1] address = addresses
    for b in range(n_blocks):
        if type(bit_generators[b]) is not np.random.SFC64:
            raise ValueError("bit_generators must be numpy SFC64 generators")
        capsule = bit_generators[b].capsule
        if not PyCapsule_IsValid(capsule, "BitGenerator"):
            raise ValueError("bit_generators must be numpy BitGenerator objects")
        address[b] = <size_t>PyCapsule_GetPointer(capsule, "BitGenerator")
    w.mid_kind = mid_kind
    w.spot0 = spot0
    w.drift = drift
    w.vol = vol
    w.steps = steps
    w.q_max = q_max
    w.size = size
    w.fee_rate = fee_rate
    w.time_varying = time_varying
    w.thr_bid = &thr_bid[0, 0]
    w.thr_ask = &thr_ask[0, 0]
    w.depth_bid = &depth_bid[0, 0]
    w.depth_ask = &depth_ask[0, 0]
    for b in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        run_block(&w, <bitgen_t*>address[b], (first_block + b) * paths_per_block,
                  min((first_block + b + 1) * paths_per_block, n_paths), out)
