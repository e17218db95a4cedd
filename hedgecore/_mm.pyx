# cython: language_level=3
"""Market-making simulation kernel: a dealer quoting both sides of one instrument.

Layers, as in the rest of the compiled core:
1. point kernels `walk_path` (one path of one policy), `next_fill` and `advance_mid`:
   scalars and table lookups only, `noexcept nogil`, never failing;
2. the loop driver `simulate_blocks`: a `prange` over blocks of paths. Block b draws from its
   own numpy bit generator (SFC64(SeedSequence(seed).spawn(n_blocks)[b]), made by the
   facade), its paths walked one after the other, so a path's numbers depend on its block
   only, never on the thread count; only per-path results are written (memory O(paths));
3. the Python facade (hedgecore.quoting.mmsim): validates, builds the policy's tables (fill
   hazards and depths by step and inventory), seeds the streams, summarises.

The path is walked from fill to fill, not step by step (a numpy reference in
tests/mm_reference.py draws the same numbers in the same order and agrees exactly):
- each side fills in a step with probability 1 - exp(-h), h = A exp(-k depth) dt the
  step's hazard for the inventory (0 for a side not quoted), independently of the other side
  and of the other steps. So from step t on, with the inventory held, the first fill of a
  side is the first step s whose cumulative hazard H(s + 1) - H(t) passes a standard
  exponential E: P(no fill in t .. s) = exp(-(H(s + 1) - H(t))), the law of the per-step
  Bernoulli draws exactly. For a policy constant in time s = t + floor(E / h); otherwise a
  binary search in the cumulative table of the inventory. A quiet stretch costs nothing.
- per event: E_bid then E_ask (numpy's exponential ziggurat), the earlier side's step s is
  the event (both sides fill when they fall on the same step); both quote against the
  inventory at the start of the step; a bid fill buys one lot at mid - bid depth, an ask fill
  sells one at mid + ask depth, each paying fee_rate x notional (negative: a rebate); after
  the event both exponentials are drawn afresh (the inventory, hence the hazards, changed;
  the steps after s are independent of those before);
- the mid is sampled only at events and at the end, over the n steps since its last sample:
  arithmetic S += vol sqrt(n) z, GBM log S += n drift + vol sqrt(n) z (z numpy's normal),
  Merton the same plus N ~ Poisson(n lambda dt) jumps, N jump_mean + jump_std sqrt(N) z'
  (z' drawn only when N > 0), all exactly the law of n one-step increments; Heston is
  stepped: n full-truncation Euler steps of (log S, v), two normals a step;
- optional delta hedging of the inventory (q x size units) in the underlying at the mid: when
  the net delta leaves [-band, band] after an event it is traded back to the nearer edge,
  paying hedge_rate x |traded notional|.
PnL per path = cash + inventory x size x mid + hedge cash + hedge units x mid at the end,
hedging costs included (quote currency).

`simulate_option_blocks` walks a dealer quoting ONE option, step by step (its quotes move
with the mid, so no table by inventory can hold them): at the start of step t, with the mid
S and the time to expiry tau, the option is priced (Black-76 with the mid as the forward, or
Black-Scholes on the mid with a rate; coin-settled: price / S) at a fixed implied vol (or
sqrt(v) of a Heston mid), and quoted about its price with
    skew = -(ra_delta D delta + ra_vega V vega + ra_gamma G gamma)           (USD, / S coin)
    half = half_spread + 0.5 size (ra_delta delta^2 + ra_vega vega^2 + ra_gamma gamma^2)
with (delta, vega, gamma) the contract's (coin, USD per vol point, USD per 1% move) and
(D, V, G) the book's: q x size x the contract's, D plus the hedge units (hedgecore.quoting
.options). Draws of a step, in order: a uniform for the bid (filled when u < 1 - exp(-h),
h = A exp(-k depth) dt, depth = price - bid in the option's units; not quoted at +q_max or
when bid <= 0), a uniform for the ask (not quoted at -q_max), then the mid's one-step draws
(advance_mid). Fills trade at the quotes; premiums and fees (fee_rate x premium) are booked in
USD at the mid of the step (coin premiums converted when paid), the hedge as above after the
step's fills. PnL = cash + q x size x the option's USD price at the final mid and
remaining expiry + hedge, in USD.
"""

from cython.parallel cimport prange
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.math cimport erfc, exp, expm1, fabs, floor, log, sqrt
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport (random_poisson, random_standard_exponential,
                                           random_standard_normal, random_standard_uniform)

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
    MID_HESTON = 2
    MID_MERTON = 3
    N_OUT = 12


cdef struct path_out_t:
    double pnl
    double fills
    double captured
    double fees
    double inventory_end
    double inventory_sum
    double inventory_sq_sum
    double limit_steps
    double mid_end
    double jumps
    double hedge_cost
    double hedge_trades


cdef struct walk_t:
    int mid_kind
    double spot0
    double drift            # per step: log drift (GBM, Merton, Heston: mu dt) or 0
    double vol              # per sqrt(step): relative (log models) or USD (arithmetic)
    double dt               # years per step (Heston)
    double v0               # Heston: variance per year at t = 0
    double kappa
    double theta
    double vol_of_vol
    double rho
    double jump_rate        # Merton: jumps per step
    double jump_mean        # of the log jump
    double jump_std
    Py_ssize_t steps
    Py_ssize_t q_max
    double size
    double fee_rate
    bint time_varying
    bint hedging
    double hedge_band       # units of the underlying either side of zero net delta
    double hedge_rate       # fraction of the traded notional
    const double* hazard_bid
    const double* hazard_ask
    const double* depth_bid
    const double* depth_ask


cdef inline Py_ssize_t next_fill(const walk_t* w, const double* hazard, Py_ssize_t qi, Py_ssize_t t,
                                 double e) noexcept nogil:
    """The step of the side's first fill from step t on with the inventory index qi, given the
    standard exponential e; w.steps when none before the end."""
    cdef double h, gap, target
    cdef const double* row
    cdef Py_ssize_t lo, hi, mid, step
    if not w.time_varying:
        h = hazard[qi]
        if h <= 0.0:
            return w.steps
        gap = floor(e / h)
        if gap >= <double>(w.steps - t):
            return w.steps
        return t + <Py_ssize_t>gap
    row = hazard + qi * (w.steps + 1)        # cumulative hazard H(0) .. H(steps)
    target = row[t] + e
    if not row[w.steps] > target:
        return w.steps
    # the first j in [lo, hi] = (t, steps] with H(j) > target; all j < lo have H(j) <= target
    # and H(hi) > target throughout. The hazard moves slowly with time, so the step's own
    # hazard predicts j to within a few steps: gallop from the guess, then bisect what is left
    # (a cold binary search over the row cost a cache miss a level).
    lo = t + 1
    hi = w.steps
    h = row[t + 1] - row[t]
    gap = floor(e / h) if h > 0.0 else 0.0
    mid = t + 1 + <Py_ssize_t>gap if gap < <double>(w.steps - t) else w.steps
    step = 1
    if row[mid] > target:
        hi = mid
        while hi - step >= lo and row[hi - step] > target:
            hi = hi - step
            step = step * 2
        if hi - step >= lo:
            lo = hi - step + 1
    else:
        lo = mid + 1
        while lo + step - 1 < hi:
            if row[lo + step - 1] > target:
                hi = lo + step - 1
                break
            lo = lo + step
            step = step * 2
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if row[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


cdef inline double advance_mid(const walk_t* w, bitgen_t* rng, double x, double* variance,
                               Py_ssize_t n, double* jumps) noexcept nogil:
    """The mid's state (log S / S) n steps on; Heston's variance updated in place."""
    cdef double gap = <double>n, v, vp, z1, z2, count
    cdef Py_ssize_t _step
    if w.mid_kind == MID_HESTON:
        v = variance[0]
        for _step in range(n):
            vp = v if v > 0.0 else 0.0
            z1 = random_standard_normal(rng)
            z2 = random_standard_normal(rng)
            x = x + w.drift - 0.5 * vp * w.dt + sqrt(vp * w.dt) * z1
            v = v + w.kappa * (w.theta - vp) * w.dt + w.vol_of_vol * sqrt(vp * w.dt) * (
                w.rho * z1 + sqrt(1.0 - w.rho * w.rho) * z2)
        variance[0] = v
        return x
    x = x + w.drift * gap + w.vol * sqrt(gap) * random_standard_normal(rng)
    if w.mid_kind == MID_MERTON:
        count = <double>random_poisson(rng, w.jump_rate * gap)
        if count > 0.0:
            x = x + count * w.jump_mean + w.jump_std * sqrt(count) * random_standard_normal(rng)
            jumps[0] = jumps[0] + count
    return x


cdef inline path_out_t walk_path(const walk_t* w, bitgen_t* rng) noexcept nogil:
    """One path, event by event (see the module docstring for the order of the draws)."""
    cdef Py_ssize_t t = 0, s, s_bid, s_ask, row, qi, mid_step = 0, since = 0, held
    cdef Py_ssize_t width = 2 * w.q_max + 1
    cdef int64_t q = 0, q_before
    cdef double x, spot, price, cash = 0.0, fees = 0.0, captured = 0.0, notional, variance = w.v0
    cdef double fills = 0.0, inv_sum = 0.0, inv_sq = 0.0, limit_steps = 0.0, jumps = 0.0
    cdef double hedge_units = 0.0, hedge_cash = 0.0, hedge_cost = 0.0, hedge_trades = 0.0, net, trade
    cdef double e_bid, e_ask
    cdef bint log_mid = w.mid_kind != MID_ARITHMETIC, bought, sold
    cdef path_out_t out
    x = 0.0 if log_mid else w.spot0
    qi = w.q_max
    while t < w.steps:
        e_bid = random_standard_exponential(rng)
        e_ask = random_standard_exponential(rng)
        s_bid = next_fill(w, w.hazard_bid, qi, t, e_bid)
        s_ask = next_fill(w, w.hazard_ask, qi, t, e_ask)
        s = s_bid if s_bid < s_ask else s_ask
        if s >= w.steps:
            break
        bought = s_bid == s
        sold = s_ask == s
        if s > mid_step:
            x = advance_mid(w, rng, x, &variance, s - mid_step, &jumps)
            mid_step = s
        spot = w.spot0 * exp(x) if log_mid else x
        row = (s * width if w.time_varying else 0) + qi
        q_before = q
        if bought:
            price = spot - w.depth_bid[row]
            notional = w.size * price
            cash = cash - notional - w.fee_rate * notional
            fees = fees + w.fee_rate * notional
            captured = captured + w.size * w.depth_bid[row]
            fills = fills + 1.0
            q = q + 1
        if sold:
            price = spot + w.depth_ask[row]
            notional = w.size * price
            cash = cash + notional - w.fee_rate * notional
            fees = fees + w.fee_rate * notional
            captured = captured + w.size * w.depth_ask[row]
            fills = fills + 1.0
            q = q - 1
        if q != q_before:
            held = s + 1 - since          # steps 'since' .. 's' started at q_before
            inv_sum = inv_sum + <double>(q_before * held)
            inv_sq = inv_sq + <double>(q_before * q_before * held)
            if q_before == w.q_max or q_before == -w.q_max:
                limit_steps = limit_steps + <double>held
            since = s + 1
            qi = q + w.q_max
            if w.hedging:
                net = <double>q * w.size + hedge_units
                trade = 0.0
                if net > w.hedge_band:
                    trade = w.hedge_band - net
                elif net < -w.hedge_band:
                    trade = -w.hedge_band - net
                if trade != 0.0:
                    hedge_units = hedge_units + trade
                    hedge_cash = hedge_cash - trade * spot
                    hedge_cost = hedge_cost + w.hedge_rate * fabs(trade) * spot
                    hedge_trades = hedge_trades + 1.0
        t = s + 1
    held = w.steps - since
    inv_sum = inv_sum + <double>(q * held)
    inv_sq = inv_sq + <double>(q * q * held)
    if q == w.q_max or q == -w.q_max:
        limit_steps = limit_steps + <double>held
    if w.steps > mid_step:
        x = advance_mid(w, rng, x, &variance, w.steps - mid_step, &jumps)
    spot = w.spot0 * exp(x) if log_mid else x
    out.pnl = cash + <double>q * w.size * spot + hedge_cash + hedge_units * spot - hedge_cost
    out.fills = fills
    out.captured = captured
    out.fees = fees
    out.inventory_end = <double>q
    out.inventory_sum = inv_sum
    out.inventory_sq_sum = inv_sq
    out.limit_steps = limit_steps
    out.mid_end = spot
    out.jumps = jumps
    out.hedge_cost = hedge_cost
    out.hedge_trades = hedge_trades
    return out


cdef struct option_t:
    bint is_call
    bint inverse            # coin-settled: price in coin = USD price / S
    double strike
    double expiry           # years from the start
    double iv               # implied vol per sqrt(year); < 0: sqrt(v) of the Heston mid
    double rate             # Black-Scholes on the mid: F = S exp(r tau), discounted
    double half_spread      # native units
    double ra_delta
    double ra_vega
    double ra_gamma
    double a_dt             # fills per step at zero depth
    double k                # per native unit of depth


cdef struct greeks_t:
    double price            # USD per contract
    double delta            # coin
    double vega             # USD per vol point
    double gamma            # USD per 1% move


cdef inline greeks_t option_greeks(const option_t* o, double spot, double tau, double vol) noexcept nogil:
    """Black-76 / Black-Scholes price and Greeks of one contract in USD; the payoff at tau <= 0."""
    cdef greeks_t g
    cdef double forward, disc, sd, d1, d2, nd1, nd2, pdf
    if tau <= 0.0 or vol <= 0.0 or spot <= 0.0:
        g.price = (spot - o.strike if spot > o.strike else 0.0) if o.is_call else (
            o.strike - spot if o.strike > spot else 0.0)
        g.delta = (1.0 if spot > o.strike else 0.0) if o.is_call else (-1.0 if spot < o.strike else 0.0)
        g.vega = 0.0
        g.gamma = 0.0
        return g
    disc = exp(-o.rate * tau)
    forward = spot / disc
    sd = vol * sqrt(tau)
    d1 = (log(forward / o.strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    nd1 = 0.5 * erfc(-d1 * 0.7071067811865476)
    nd2 = 0.5 * erfc(-d2 * 0.7071067811865476)
    pdf = exp(-0.5 * d1 * d1) * 0.3989422804014327
    if o.is_call:
        g.price = disc * (forward * nd1 - o.strike * nd2)
        g.delta = nd1
    else:
        g.price = disc * (o.strike * (1.0 - nd2) - forward * (1.0 - nd1))
        g.delta = nd1 - 1.0
    g.vega = spot * pdf * sqrt(tau) * 0.01
    g.gamma = pdf / (spot * sd) * spot * spot * 0.01
    return g


cdef inline path_out_t walk_option_path(const walk_t* w, const option_t* o, bitgen_t* rng) noexcept nogil:
    """One path of a dealer quoting one option, step by step (module docstring)."""
    cdef Py_ssize_t t
    cdef int64_t q = 0
    cdef double x, spot, variance = w.v0, vol, unit, jumps = 0.0
    cdef double cash = 0.0, fees = 0.0, captured = 0.0, fills = 0.0, inv_sum = 0.0, inv_sq = 0.0
    cdef double limit_steps = 0.0, hedge_units = 0.0, hedge_cash = 0.0, hedge_cost = 0.0
    cdef double hedge_trades = 0.0, net, trade, book, skew, half, mark, bid, ask, depth, u_bid, u_ask
    cdef bint log_mid = w.mid_kind != MID_ARITHMETIC, bought, sold
    cdef greeks_t g
    cdef path_out_t out
    x = 0.0 if log_mid else w.spot0
    for t in range(w.steps):
        spot = w.spot0 * exp(x) if log_mid else x
        vol = o.iv
        if vol < 0.0:
            vol = sqrt(variance) if variance > 1e-8 else 1e-4
        g = option_greeks(o, spot, o.expiry - <double>t * w.dt, vol)
        unit = spot if o.inverse else 1.0             # USD per native unit
        book = <double>q * w.size
        skew = -(o.ra_delta * (book * g.delta + hedge_units) * g.delta + o.ra_vega * book * g.vega * g.vega
                 + o.ra_gamma * book * g.gamma * g.gamma) / unit
        half = o.half_spread + 0.5 * w.size * (
            o.ra_delta * g.delta * g.delta + o.ra_vega * g.vega * g.vega + o.ra_gamma * g.gamma * g.gamma) / unit
        mark = g.price / unit
        bid = mark + skew - half
        ask = mark + skew + half
        u_bid = random_standard_uniform(rng)
        u_ask = random_standard_uniform(rng)
        bought = q < w.q_max and bid > 0.0 and u_bid < -expm1(-o.a_dt * exp(-o.k * (mark - bid)))
        sold = q > -w.q_max and u_ask < -expm1(-o.a_dt * exp(-o.k * (ask - mark)))
        inv_sum = inv_sum + <double>q
        inv_sq = inv_sq + <double>(q * q)
        if q == w.q_max or q == -w.q_max:
            limit_steps = limit_steps + 1.0
        if bought:
            depth = mark - bid
            cash = cash - w.size * bid * unit * (1.0 + w.fee_rate)
            fees = fees + w.fee_rate * w.size * bid * unit
            captured = captured + w.size * depth * unit
            fills = fills + 1.0
            q = q + 1
        if sold:
            depth = ask - mark
            cash = cash + w.size * ask * unit * (1.0 - w.fee_rate)
            fees = fees + w.fee_rate * w.size * ask * unit
            captured = captured + w.size * depth * unit
            fills = fills + 1.0
            q = q - 1
        if w.hedging and (bought or sold):
            net = <double>q * w.size * g.delta + hedge_units
            trade = 0.0
            if net > w.hedge_band:
                trade = w.hedge_band - net
            elif net < -w.hedge_band:
                trade = -w.hedge_band - net
            if trade != 0.0:
                hedge_units = hedge_units + trade
                hedge_cash = hedge_cash - trade * spot
                hedge_cost = hedge_cost + w.hedge_rate * fabs(trade) * spot
                hedge_trades = hedge_trades + 1.0
        x = advance_mid(w, rng, x, &variance, 1, &jumps)
    spot = w.spot0 * exp(x) if log_mid else x
    vol = o.iv
    if vol < 0.0:
        vol = sqrt(variance) if variance > 1e-8 else 1e-4
    g = option_greeks(o, spot, o.expiry - <double>w.steps * w.dt, vol)
    out.pnl = cash + <double>q * w.size * g.price + hedge_cash + hedge_units * spot - hedge_cost
    out.fills = fills
    out.captured = captured
    out.fees = fees
    out.inventory_end = <double>q
    out.inventory_sum = inv_sum
    out.inventory_sq_sum = inv_sq
    out.limit_steps = limit_steps
    out.mid_end = spot
    out.jumps = jumps
    out.hedge_cost = hedge_cost
    out.hedge_trades = hedge_trades
    return out


cdef void run_block(const walk_t* w, bitgen_t* rng, Py_ssize_t start, Py_ssize_t stop,
                    double[:, ::1] out, const option_t* option) noexcept nogil:
    """Paths start .. stop - 1 of one block, drawing from a stack copy of its generator."""
    cdef bitgen_t local_rng = rng[0]
    cdef sfc64_state_t local_state
    cdef path_out_t r
    cdef Py_ssize_t p
    memcpy(&local_state, rng.state, sizeof(sfc64_state_t))
    local_rng.state = &local_state
    for p in range(start, stop):
        if option == NULL:
            r = walk_path(w, &local_rng)
        else:
            r = walk_option_path(w, option, &local_rng)
        out[p, 0] = r.pnl
        out[p, 1] = r.fills
        out[p, 2] = r.captured
        out[p, 3] = r.fees
        out[p, 4] = r.inventory_end
        out[p, 5] = r.inventory_sum
        out[p, 6] = r.inventory_sq_sum
        out[p, 7] = r.limit_steps
        out[p, 8] = r.mid_end
        out[p, 9] = r.jumps
        out[p, 10] = r.hedge_cost
        out[p, 11] = r.hedge_trades
    memcpy(rng.state, &local_state, sizeof(sfc64_state_t))


def simulate_blocks(*, int mid_kind, double spot0, double drift, double vol, Py_ssize_t steps,
                    Py_ssize_t q_max, double size, double fee_rate, bint time_varying,
                    const double[:, ::1] hazard_bid, const double[:, ::1] hazard_ask,
                    const double[:, ::1] depth_bid, const double[:, ::1] depth_ask,
                    list bit_generators, Py_ssize_t first_block, Py_ssize_t paths_per_block,
                    Py_ssize_t n_paths, double[:, ::1] out, int n_threads,
                    double dt=0.0, double v0=0.0, double kappa=0.0, double theta=0.0,
                    double vol_of_vol=0.0, double rho=0.0, double jump_rate=0.0,
                    double jump_mean=0.0, double jump_std=0.0,
                    double hedge_band=-1.0, double hedge_rate=0.0, dict option=None):
    """Walk the paths of blocks first_block .. first_block + len(bit_generators) - 1 (block b
    holds paths b * paths_per_block ..), one bit generator per block, writing row p of
    `out` (n_paths, 12): pnl, fills, spread captured, fees, final inventory (lots), sum of
    inventory over steps, sum of its square, steps at a limit, final mid, jumps, hedging
    cost, hedge trades.

    Hazards: a policy constant in time gives (1, 2 q_max + 1) hazards per step; one varying
    in time gives (2 q_max + 1, steps + 1) cumulative hazards from step 0 (non-decreasing
    rows). Depths: (1 or steps, 2 q_max + 1). mid_kind: 0 arithmetic, 1 GBM, 2 Heston (dt,
    v0, kappa, theta, vol_of_vol, rho; drift = mu dt), 3 Merton (jump_rate per step,
    jump_mean, jump_std of the log jump). hedge_band < 0: no hedging.

    option: quote one option instead (walk_option_path; the tables are then unused, any
    non-empty arrays): a dict with is_call, inverse, strike, expiry (years), iv (< 0: the Heston
    mid's sqrt(v)), rate, half_spread (native units), ra_delta, ra_vega, ra_gamma, a_dt (fills
    per step at zero depth), k (per native unit); dt is then required for every mid model."""
    cdef Py_ssize_t n_blocks = len(bit_generators), b, rows
    cdef walk_t w
    cdef option_t o
    cdef option_t* option_pointer = NULL
    if option is not None:
        o.is_call = bool(option["is_call"])
        o.inverse = bool(option["inverse"])
        o.strike = float(option["strike"])
        o.expiry = float(option["expiry"])
        o.iv = float(option["iv"])
        o.rate = float(option["rate"])
        o.half_spread = float(option["half_spread"])
        o.ra_delta = float(option["ra_delta"])
        o.ra_vega = float(option["ra_vega"])
        o.ra_gamma = float(option["ra_gamma"])
        o.a_dt = float(option["a_dt"])
        o.k = float(option["k"])
        if not (o.strike > 0.0 and o.expiry > 0.0 and dt > 0.0 and o.a_dt >= 0.0 and o.k > 0.0
                and o.half_spread >= 0.0 and o.ra_delta >= 0.0 and o.ra_vega >= 0.0 and o.ra_gamma >= 0.0):
            raise ValueError("option needs strike, expiry, dt, k > 0 and a_dt, half_spread, risk aversions >= 0")
        if o.iv < 0.0 and mid_kind != MID_HESTON:
            raise ValueError("option iv < 0 (the instantaneous vol) needs a heston mid")
        option_pointer = &o
    if mid_kind not in (MID_ARITHMETIC, MID_GBM, MID_HESTON, MID_MERTON):
        raise ValueError(f"mid_kind must be 0 (arithmetic), 1 (gbm), 2 (heston) or 3 (merton), got {mid_kind}")
    if steps < 1 or q_max < 1 or paths_per_block < 1 or n_threads < 1:
        raise ValueError("steps, q_max, paths_per_block and n_threads must be >= 1")
    if mid_kind == MID_HESTON and not (dt > 0.0 and v0 >= 0.0 and kappa >= 0.0 and theta >= 0.0
                                       and vol_of_vol >= 0.0 and -1.0 <= rho <= 1.0):
        raise ValueError("heston needs dt > 0, v0, kappa, theta, vol_of_vol >= 0 and rho in [-1, 1]")
    if mid_kind == MID_MERTON and not (jump_rate >= 0.0 and jump_std >= 0.0):
        raise ValueError("merton needs jump_rate >= 0 and jump_std >= 0")
    rows = steps if time_varying else 1
    cdef Py_ssize_t hazard_rows = 2 * q_max + 1 if time_varying else 1
    cdef Py_ssize_t hazard_columns = steps + 1 if time_varying else 2 * q_max + 1
    for name, table in (("hazard_bid", hazard_bid), ("hazard_ask", hazard_ask)):
        if option is not None:
            if table.shape[0] < 1 or table.shape[1] < 1:
                raise ValueError(f"{name} must not be empty")
        elif table.shape[0] != hazard_rows or table.shape[1] != hazard_columns:
            raise ValueError(f"{name} must have shape ({hazard_rows}, {hazard_columns})")
    for name, dtable in (("depth_bid", depth_bid), ("depth_ask", depth_ask)):
        if option is not None:
            if dtable.shape[0] < 1 or dtable.shape[1] < 1:
                raise ValueError(f"{name} must not be empty")
        elif dtable.shape[0] != rows or dtable.shape[1] != 2 * q_max + 1:
            raise ValueError(f"{name} must have shape ({rows}, {2 * q_max + 1})")
    if out.shape[1] != N_OUT or out.shape[0] < n_paths:
        raise ValueError(f"out must have shape (n_paths, {N_OUT})")
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
    w.dt = dt
    w.v0 = v0
    w.kappa = kappa
    w.theta = theta
    w.vol_of_vol = vol_of_vol
    w.rho = rho
    w.jump_rate = jump_rate
    w.jump_mean = jump_mean
    w.jump_std = jump_std
    w.steps = steps
    w.q_max = q_max
    w.size = size
    w.fee_rate = fee_rate
    w.time_varying = time_varying
    w.hedging = hedge_band >= 0.0
    w.hedge_band = hedge_band
    w.hedge_rate = hedge_rate
    w.hazard_bid = &hazard_bid[0, 0]
    w.hazard_ask = &hazard_ask[0, 0]
    w.depth_bid = &depth_bid[0, 0]
    w.depth_ask = &depth_ask[0, 0]
    for b in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        run_block(&w, <bitgen_t*>address[b], (first_block + b) * paths_per_block,
                  min((first_block + b + 1) * paths_per_block, n_paths), out, option_pointer)
