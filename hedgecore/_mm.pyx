# cython: language_level=3
"""Market-making simulation kernel: a dealer quoting both sides of one instrument.

Layers, as in the rest of the compiled core:
1. point kernels `walk_path` and `walk_option_path` (one path of one policy) and the steps
   they share: `next_fill`, `advance_mid`, and the path's running sums (`path_sums_t`) with
   `record_fill`, `hold_inventory`, `hedge_to_band` and `close_path`; scalars and table
   lookups only, `noexcept nogil`, never failing;
2. the loop driver `simulate_blocks`: checks its arguments (named helpers), then a `prange`
   over blocks of paths. Block b draws from its own numpy bit generator
   (SFC64(SeedSequence(seed).spawn(n_blocks)[b]), made by the facade), its paths walked one
   after the other, so a path's numbers depend on its block only, never on the thread count;
   only per-path results are written (memory O(paths));
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


# What a path has done so far: both walks keep these sums and close them the same way.
cdef struct path_sums_t:
    int64_t q                   # inventory, lots
    double cash                 # premiums paid and received, fees paid (USD)
    double fees                 # USD
    double captured             # spread captured against the mid or the option's price (USD)
    double fills
    double inventory_sum        # lots x steps held
    double inventory_sq_sum     # lots^2 x steps held
    double limit_steps          # steps begun at +-q_max
    double jumps                # of a Merton mid
    double hedge_units          # of the underlying held as the hedge
    double hedge_cash           # USD
    double hedge_cost           # USD
    double hedge_trades


cdef inline path_sums_t path_start() noexcept nogil:
    """Every sum at zero: no inventory, no cash, nothing counted."""
    cdef path_sums_t sums
    sums.q = 0
    sums.cash = 0.0
    sums.fees = 0.0
    sums.captured = 0.0
    sums.fills = 0.0
    sums.inventory_sum = 0.0
    sums.inventory_sq_sum = 0.0
    sums.limit_steps = 0.0
    sums.jumps = 0.0
    sums.hedge_units = 0.0
    sums.hedge_cash = 0.0
    sums.hedge_cost = 0.0
    sums.hedge_trades = 0.0
    return sums


cdef inline double mid_price(const walk_t* w, double x) noexcept nogil:
    """The mid (USD) from its state x: log(S / spot0) for the log models, S for the arithmetic one."""
    return w.spot0 * exp(x) if w.mid_kind != MID_ARITHMETIC else x


cdef inline void hold_inventory(path_sums_t* sums, const walk_t* w, int64_t q, Py_ssize_t held) noexcept nogil:
    """q lots held over `held` steps, into the inventory statistics."""
    sums.inventory_sum = sums.inventory_sum + <double>(q * held)
    sums.inventory_sq_sum = sums.inventory_sq_sum + <double>(q * q * held)
    if q == w.q_max or q == -w.q_max:
        sums.limit_steps = sums.limit_steps + <double>held


cdef inline void record_fill(path_sums_t* sums, int64_t lots, double fee, double captured) noexcept nogil:
    """One fill of `lots` (+1 bought, -1 sold) paying `fee` and capturing `captured` (USD). The
    cash the fill moves is booked by its walk: a linear fill books its notional and its fee, an
    option's premium net of fee is one product, and each keeps its arithmetic (and its bits)."""
    sums.fees = sums.fees + fee
    sums.captured = sums.captured + captured
    sums.fills = sums.fills + 1.0
    sums.q = sums.q + lots


cdef inline void hedge_to_band(path_sums_t* sums, const walk_t* w, double book_delta, double spot) noexcept nogil:
    """When the net delta (book_delta units of the underlying plus the hedge) is outside [-band,
    band], trade the hedge at the mid `spot` back to the nearer edge, paying hedge_rate x
    |traded notional|."""
    cdef double net = book_delta + sums.hedge_units
    cdef double trade = 0.0
    if net > w.hedge_band:
        trade = w.hedge_band - net
    elif net < -w.hedge_band:
        trade = -w.hedge_band - net
    if trade != 0.0:
        sums.hedge_units = sums.hedge_units + trade
        sums.hedge_cash = sums.hedge_cash - trade * spot
        sums.hedge_cost = sums.hedge_cost + w.hedge_rate * fabs(trade) * spot
        sums.hedge_trades = sums.hedge_trades + 1.0


cdef inline path_out_t close_path(const path_sums_t* sums, const walk_t* w, double unit_value,
                                  double spot) noexcept nogil:
    """The path's results: the inventory valued at unit_value USD a unit (the final mid, or the
    option's final price), the hedge at the final mid `spot`, hedging costs taken off."""
    cdef path_out_t out
    out.pnl = (sums.cash + <double>sums.q * w.size * unit_value + sums.hedge_cash
               + sums.hedge_units * spot - sums.hedge_cost)
    out.fills = sums.fills
    out.captured = sums.captured
    out.fees = sums.fees
    out.inventory_end = <double>sums.q
    out.inventory_sum = sums.inventory_sum
    out.inventory_sq_sum = sums.inventory_sq_sum
    out.limit_steps = sums.limit_steps
    out.mid_end = spot
    out.jumps = sums.jumps
    out.hedge_cost = sums.hedge_cost
    out.hedge_trades = sums.hedge_trades
    return out


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
    cdef Py_ssize_t t = 0, s, s_bid, s_ask, row, qi = w.q_max, mid_step = 0, since = 0
    cdef Py_ssize_t width = 2 * w.q_max + 1
    cdef int64_t q_before
    cdef double x = 0.0 if w.mid_kind != MID_ARITHMETIC else w.spot0, spot, notional, variance = w.v0
    cdef double e_bid, e_ask
    cdef path_sums_t sums = path_start()
    while t < w.steps:
        e_bid = random_standard_exponential(rng)
        e_ask = random_standard_exponential(rng)
        s_bid = next_fill(w, w.hazard_bid, qi, t, e_bid)
        s_ask = next_fill(w, w.hazard_ask, qi, t, e_ask)
        s = s_bid if s_bid < s_ask else s_ask
        if s >= w.steps:
            break
        if s > mid_step:
            x = advance_mid(w, rng, x, &variance, s - mid_step, &sums.jumps)
            mid_step = s
        spot = mid_price(w, x)
        row = (s * width if w.time_varying else 0) + qi
        q_before = sums.q
        if s_bid == s:
            notional = w.size * (spot - w.depth_bid[row])
            sums.cash = sums.cash - notional - w.fee_rate * notional
            record_fill(&sums, 1, w.fee_rate * notional, w.size * w.depth_bid[row])
        if s_ask == s:
            notional = w.size * (spot + w.depth_ask[row])
            sums.cash = sums.cash + notional - w.fee_rate * notional
            record_fill(&sums, -1, w.fee_rate * notional, w.size * w.depth_ask[row])
        if sums.q != q_before:
            hold_inventory(&sums, w, q_before, s + 1 - since)     # steps 'since' .. 's' began at q_before
            since = s + 1
            qi = sums.q + w.q_max
            if w.hedging:
                hedge_to_band(&sums, w, <double>sums.q * w.size, spot)
        t = s + 1
    hold_inventory(&sums, w, sums.q, w.steps - since)
    if w.steps > mid_step:
        x = advance_mid(w, rng, x, &variance, w.steps - mid_step, &sums.jumps)
    spot = mid_price(w, x)
    return close_path(&sums, w, spot, spot)


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


# The four numbers a quote needs, in the desk's units (those of hedgecore quote). Not
# _maths.option_greeks (nine raw Greeks, Cody's N): its last bits differ from erfc's, and
# tests/mm_reference.py reproduces these with math.erfc exactly.
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


cdef inline double option_vol(const option_t* o, double variance) noexcept nogil:
    """The vol the option is priced at: its implied vol, or sqrt(v) of the Heston mid (iv < 0)."""
    if o.iv < 0.0:
        return sqrt(variance) if variance > 1e-8 else 1e-4
    return o.iv


cdef inline path_out_t walk_option_path(const walk_t* w, const option_t* o, bitgen_t* rng) noexcept nogil:
    """One path of a dealer quoting one option, step by step (module docstring)."""
    cdef Py_ssize_t t
    cdef double x = 0.0 if w.mid_kind != MID_ARITHMETIC else w.spot0, spot, variance = w.v0
    cdef double unit, book, skew, half, mark, bid, ask, u_bid, u_ask
    cdef bint bought, sold
    cdef greeks_t g
    cdef path_sums_t sums = path_start()
    for t in range(w.steps):
        spot = mid_price(w, x)
        g = option_greeks(o, spot, o.expiry - <double>t * w.dt, option_vol(o, variance))
        unit = spot if o.inverse else 1.0             # USD per native unit
        book = <double>sums.q * w.size
        skew = -(o.ra_delta * (book * g.delta + sums.hedge_units) * g.delta + o.ra_vega * book * g.vega * g.vega
                 + o.ra_gamma * book * g.gamma * g.gamma) / unit
        half = o.half_spread + 0.5 * w.size * (
            o.ra_delta * g.delta * g.delta + o.ra_vega * g.vega * g.vega + o.ra_gamma * g.gamma * g.gamma) / unit
        mark = g.price / unit
        bid = mark + skew - half
        ask = mark + skew + half
        u_bid = random_standard_uniform(rng)
        u_ask = random_standard_uniform(rng)
        bought = sums.q < w.q_max and bid > 0.0 and u_bid < -expm1(-o.a_dt * exp(-o.k * (mark - bid)))
        sold = sums.q > -w.q_max and u_ask < -expm1(-o.a_dt * exp(-o.k * (ask - mark)))
        hold_inventory(&sums, w, sums.q, 1)
        if bought:
            sums.cash = sums.cash - w.size * bid * unit * (1.0 + w.fee_rate)
            record_fill(&sums, 1, w.fee_rate * w.size * bid * unit, w.size * (mark - bid) * unit)
        if sold:
            sums.cash = sums.cash + w.size * ask * unit * (1.0 - w.fee_rate)
            record_fill(&sums, -1, w.fee_rate * w.size * ask * unit, w.size * (ask - mark) * unit)
        if w.hedging and (bought or sold):
            hedge_to_band(&sums, w, <double>sums.q * w.size * g.delta, spot)
        x = advance_mid(w, rng, x, &variance, 1, &sums.jumps)
    spot = mid_price(w, x)
    g = option_greeks(o, spot, o.expiry - <double>w.steps * w.dt, option_vol(o, variance))
    return close_path(&sums, w, g.price, spot)


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


cdef option_t read_option(dict option, int mid_kind, double dt) except *:
    """The option of simulate_blocks' `option` dict, checked (ValueError)."""
    cdef option_t o
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
    return o


cdef check_walk(int mid_kind, Py_ssize_t steps, Py_ssize_t q_max, Py_ssize_t paths_per_block,
                int n_threads, double dt, double v0, double kappa, double theta, double vol_of_vol,
                double rho, double jump_rate, double jump_std):
    """ValueError unless the mid model, its parameters and the counts are in range."""
    if mid_kind not in (MID_ARITHMETIC, MID_GBM, MID_HESTON, MID_MERTON):
        raise ValueError(f"mid_kind must be 0 (arithmetic), 1 (gbm), 2 (heston) or 3 (merton), got {mid_kind}")
    if steps < 1 or q_max < 1 or paths_per_block < 1 or n_threads < 1:
        raise ValueError("steps, q_max, paths_per_block and n_threads must be >= 1")
    if mid_kind == MID_HESTON and not (dt > 0.0 and v0 >= 0.0 and kappa >= 0.0 and theta >= 0.0
                                       and vol_of_vol >= 0.0 and -1.0 <= rho <= 1.0):
        raise ValueError("heston needs dt > 0, v0, kappa, theta, vol_of_vol >= 0 and rho in [-1, 1]")
    if mid_kind == MID_MERTON and not (jump_rate >= 0.0 and jump_std >= 0.0):
        raise ValueError("merton needs jump_rate >= 0 and jump_std >= 0")


cdef check_tables(bint quoting_option, Py_ssize_t steps, Py_ssize_t q_max, bint time_varying,
                  const double[:, ::1] hazard_bid, const double[:, ::1] hazard_ask,
                  const double[:, ::1] depth_bid, const double[:, ::1] depth_ask):
    """ValueError unless the hazard and depth tables have the policy's shapes (any non-empty
    shape when quoting an option, which does not read them)."""
    cdef Py_ssize_t width = 2 * q_max + 1
    cdef Py_ssize_t hazard_rows = width if time_varying else 1
    cdef Py_ssize_t hazard_columns = steps + 1 if time_varying else width
    cdef Py_ssize_t depth_rows = steps if time_varying else 1
    for name, table in (("hazard_bid", hazard_bid), ("hazard_ask", hazard_ask),
                        ("depth_bid", depth_bid), ("depth_ask", depth_ask)):
        rows, columns = (hazard_rows, hazard_columns) if name.startswith("hazard") else (depth_rows, width)
        if quoting_option:
            if table.shape[0] < 1 or table.shape[1] < 1:
                raise ValueError(f"{name} must not be empty")
        elif table.shape[0] != rows or table.shape[1] != columns:
            raise ValueError(f"{name} must have shape ({rows}, {columns})")


cdef check_blocks(double[:, ::1] out, Py_ssize_t n_paths, Py_ssize_t first_block,
                  Py_ssize_t n_blocks, Py_ssize_t paths_per_block):
    """ValueError unless `out` holds the paths and every block starts before n_paths."""
    if out.shape[1] != N_OUT or out.shape[0] < n_paths:
        raise ValueError(f"out must have shape (n_paths, {N_OUT})")
    if (first_block + n_blocks) * paths_per_block - paths_per_block >= n_paths and n_blocks > 0:
        raise ValueError("blocks beyond n_paths")


cdef object generator_addresses(list bit_generators):
    """The bitgen_t address of each numpy SFC64 generator (np.uintp array); ValueError otherwise."""
    addresses = np.empty(len(bit_generators), dtype=np.uintp)
    for b, generator in enumerate(bit_generators):
        if type(generator) is not np.random.SFC64:
            raise ValueError("bit_generators must be numpy SFC64 generators")
        capsule = generator.capsule
        if not PyCapsule_IsValid(capsule, "BitGenerator"):
            raise ValueError("bit_generators must be numpy BitGenerator objects")
        addresses[b] = <size_t>PyCapsule_GetPointer(capsule, "BitGenerator")
    return addresses


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
    cdef Py_ssize_t n_blocks = len(bit_generators), b
    cdef option_t quoted
    cdef const option_t* quoted_option = NULL
    if option is not None:
        quoted = read_option(option, mid_kind, dt)
        quoted_option = &quoted
    check_walk(mid_kind, steps, q_max, paths_per_block, n_threads, dt, v0, kappa, theta, vol_of_vol,
               rho, jump_rate, jump_std)
    check_tables(option is not None, steps, q_max, time_varying, hazard_bid, hazard_ask, depth_bid, depth_ask)
    check_blocks(out, n_paths, first_block, n_blocks, paths_per_block)
    cdef size_t[::1] address = generator_addresses(bit_generators)
    cdef walk_t w = walk_t(
        mid_kind=mid_kind, spot0=spot0, drift=drift, vol=vol, dt=dt, v0=v0, kappa=kappa, theta=theta,
        vol_of_vol=vol_of_vol, rho=rho, jump_rate=jump_rate, jump_mean=jump_mean, jump_std=jump_std,
        steps=steps, q_max=q_max, size=size, fee_rate=fee_rate, time_varying=time_varying,
        hedging=hedge_band >= 0.0, hedge_band=hedge_band, hedge_rate=hedge_rate,
        hazard_bid=&hazard_bid[0, 0], hazard_ask=&hazard_ask[0, 0],
        depth_bid=&depth_bid[0, 0], depth_ask=&depth_ask[0, 0])
    for b in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        run_block(&w, <bitgen_t*>address[b], (first_block + b) * paths_per_block,
                  min((first_block + b + 1) * paths_per_block, n_paths), out, quoted_option)
