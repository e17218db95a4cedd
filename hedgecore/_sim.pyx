# cython: language_level=3
"""Monte Carlo hedging kernel: price paths, the hedged book and every policy, in one pass.

Layers, as in the rest of the compiled core:
1. point kernels: model steps (GBM, Merton, Heston QE / Euler, historical replay), the
   book's delta and gamma from per-step coefficient tables, the band formulas cimported
   from _bands.pxd; all `noexcept nogil`, never failing;
2. the loop driver `simulate_blocks`: a `prange` over blocks of paths. Block b draws from
   its own streams (seeded from SeedSequence(seed).spawn: eight SFC64 streams stepped in
   SIMD lanes for GBM, numpy's SFC64 through its distributions otherwise), so a path's
   numbers depend on its block only, never on the thread count or on the policies;
   within a block each path is walked once, all policies ride along it (common random
   numbers) and only per-path results are written: memory O(paths), never O(paths x steps);
3. the Python facade (hedgecore.simulation): validates the spec, builds the tables,
   seeds the streams, allocates outputs, summarises.

Accounting per path and policy (quote currency): a cash account starts with the premium
(linear options) and earns the rate (kept in time-0 money, grown to the horizon at the
end); trades of the hedge move cash (spot) or only pay costs (perps, whose PnL is settled
into cash each step together with funding);
options settle into a shared book cash account at their expiry step; at the horizon the
PnL is cash + spot hedge value + coin premium value + model value of unexpired options.
"""

from cython.parallel cimport prange
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.math cimport exp, log, sqrt, fabs, NAN
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport (
    random_standard_normal,
    random_standard_uniform,
    random_poisson,
    random_interval,
)

from hedgecore._maths cimport (
    greeks_t, option_greeks, MODEL_BSM, SQRT1_2, INV_SQRT_2PI,
)
from hedgecore._bands cimport (
    leland_vol,
    nested,
    nested_t,
    whalley_wilmott_width,
    zakamouline,
    zakamouline_t,
)

import numpy as np

# The C of this module lives in hedgecore/src: hedgecore_libmvec.h (glibc's libmvec, looked
# up at import with dlopen so that a wheel built on an old glibc still finds it) and
# hedgecore_lanes.h (the portable lane kernels, with AVX2 and AVX-512 copies chosen at
# import), both on hedgecore_platform.h, the one place for compiler- and CPU-specific code.
# glibc's libmvec: the 4-wide (AVX2) and 8-wide (AVX-512) exp, erfc, cbrt, log, sin and cos
# (a few ulp, like the scalar libm). Table-driven, they beat the portable polynomials on the
# same CPU, so the GBM step and the delta use them when present (hs_gbm, hs_cdf).
# vector_exp: y = exp(x) over n doubles, through libmvec when present, else a libm loop.
cdef extern from "hedgecore_libmvec.h":
    void detect_simd "hedgecore_detect_simd"() noexcept nogil
    int uses_libmvec "hedgecore_use_mvec"
    void vector_exp "hedgecore_vector_exp"(const double* x, double* y, Py_ssize_t n) noexcept nogil

detect_simd()


# Portable vector kernels of the GBM step and the Black-Scholes delta (normals, exp, the
# normal CDF), the band's cube root and the trade pass, branch-free and table-free so that
# the compiler vectorises their loops over the LANES paths of a group: SSE2/NEON on any
# build, and on x86-64 with GCC or clang AVX2+FMA and AVX-512 copies chosen at import when
# the CPU has them (HEDGECORE_NO_AVX2=1 / HEDGECORE_NO_AVX512=1 force a lower one). Plain
# C elsewhere (MSVC). The module is compiled with -fno-math-errno -fno-trapping-math
# -ffp-contract=off on GCC/Clang (setup.py), as _greeks is; multiply-adds are fused only
# where HEDGECORE_MADD says so, in the AVX2 and AVX-512 copies.
cdef extern from "hedgecore_lanes.h":
    int vector_init "hs_init"() noexcept nogil
    enum: STREAMS "HS_STREAMS"
    void cbrt_lanes "hs_cbrt_lanes"(double* x) noexcept nogil
    void seed_streams "hs_seed_streams"(uint64_t* state, const uint64_t* words) noexcept nogil
    void uniforms_lanes "hs_uniforms_base"(uint64_t* state, double* u) noexcept nogil
    void gbm_lanes "hs_gbm"(uint64_t* rng, double* z, double* log_spot, double* spot,
                            double drift, double vol) noexcept nogil
    void delta_term_lanes "hs_delta_term"(const double* log_spot, double shift, double scale,
                                          double erfc_scale, bint need_gauss, bint accumulate,
                                          double coef_delta, double coef_gamma, double* arg,
                                          double* cdf2, double* gauss, double* delta,
                                          double* gamma) noexcept nogil
    void trade_lanes "hs_trade"(bint use_band, int step, int min_interval, double min_trade,
                                double cost_rate, double fixed_cost, double impact_coef,
                                double inv_adv, double discount, double spot_hedge,
                                bint inverse, double centre_sign, double centre_offset,
                                const double* centre,
                                const double* outer, const double* inner, const double* spot,
                                double* cash, double* cost_sum, double* trade_count,
                                int64_t* last_trade, double* hedge) noexcept nogil

# 0 baseline, 1 AVX2+FMA, 2 AVX-512 copies of the portable kernels
cdef int _portable_isa = vector_init()


def simd_enabled():
    """True when the kernel's erfc, exp, log, sin and cos run through libmvec's AVX2 or
    AVX-512 variants."""
    return bool(uses_libmvec)


def vector_isa():
    """The vector maths the simulation kernel chose for this CPU at import:
    "libmvec-avx512" or "libmvec-avx2" (glibc's libmvec, x86-64 glibc >= 2.35), else the
    portable kernels' "avx512" or "avx2" copy or their "baseline" one (SSE2/NEON/plain C)."""
    if uses_libmvec == 2:
        return "libmvec-avx512"
    if uses_libmvec:
        return "libmvec-avx2"
    return ("baseline", "avx2", "avx512")[_portable_isa]


LANE_STREAMS = STREAMS
LANE_GROUP = LANES


def lane_uniforms(const uint64_t[::1] seed_words, Py_ssize_t groups):
    """The uniforms the GBM kernel draws for one block: `groups` rows of LANE_GROUP, from
    LANE_STREAMS SFC64 streams seeded by seed_words (3 words per stream). Column j of
    every row comes from stream j % LANE_STREAMS. For tests and for users who want to see
    the stream."""
    if seed_words.shape[0] != 3 * STREAMS:
        raise ValueError(f"lane_uniforms: seed_words needs {3 * STREAMS} words")
    if groups < 0:
        raise ValueError("lane_uniforms: groups must be >= 0")
    cdef uint64_t state[4 * STREAMS]
    out = np.empty((groups, LANES), dtype=np.float64)
    cdef double[:, ::1] view = out
    cdef Py_ssize_t g
    seed_streams(state, &seed_words[0])
    for g in range(groups):
        uniforms_lanes(state, &view[g, 0])
    return out


# Codes shared with hedgecore.simulation (which holds the name -> code tables).
cdef enum:
    PRICE_GBM = 0
    PRICE_MERTON = 1
    PRICE_HESTON_QE = 2
    PRICE_HESTON_EULER = 3
    PRICE_HISTORICAL = 4

cdef enum:
    HEDGE_SPOT = 0
    HEDGE_LINEAR_PERP = 1
    HEDGE_INVERSE_PERP = 2

cdef enum:
    POLICY_NONE = 0
    POLICY_TIME = 1
    POLICY_FIXED = 2
    POLICY_WW = 3
    POLICY_ZAKAMOULINE = 4
    POLICY_LELAND = 5
    POLICY_NESTED = 6

# Rows of the per-path trace of path 0.
cdef enum:
    TRACE_SPOT = 0
    TRACE_TARGET = 1
    TRACE_HALF_WIDTH = 2
    TRACE_HEDGE = 3
    N_TRACE = 4


cdef struct model_t:
    int kind
    double spot
    double drift
    double vol
    # Merton
    double jump_intensity
    double jump_mean
    double jump_std
    double jump_compensator     # lambda (e^{mu_J + delta^2/2} - 1)
    # Heston
    double v0
    double kappa
    double theta
    double vol_of_vol
    double rho
    # historical
    const double* returns
    Py_ssize_t n_returns
    Py_ssize_t block_size       # 0: plain replay


cdef struct book_t:
    Py_ssize_t n_options
    Py_ssize_t n_terms          # series terms of the hedger's delta (1: Black-Scholes)
    Py_ssize_t n_sets           # coefficient sets: 0 the hedging vol, then one per Leland policy
    Py_ssize_t steps
    const double* strike
    const double* quantity      # signed
    const double* omega         # +1 call, -1 put
    const int64_t* expiry_step  # settles at this step (> steps: marked to model at the horizon)
    const double* tau           # [step][option] years to expiry (0 once expired)
    # coefficient tables [set][step][option][term]: d1 = (log S + shift) * inv_sdt
    const double* weight
    const double* shift
    const double* inv_sdt
    # the hedger's series terms [step][option][term] (Merton; one term r, 0 for BS), used
    # to value the book and for Zakamouline's modified vol; weights as in set 0
    const double* term_rate     # r_n
    const double* term_var      # extra variance per year: n delta_J^2 / tau
    double hedge_vol
    double rate
    double coin_premium         # coins held from coin-settled premiums
    double premium_cash         # quote currency received for linear premiums


cdef struct policy_t:
    int method
    int every
    double width
    double risk_aversion
    double outer
    double inner
    bint to_edge
    int min_interval
    double min_trade
    int coef_set                # coefficient set of its target delta
    bint needs_gamma


cdef struct market_t:
    int instrument
    double dt
    double cost_rate            # proportional + half spread
    double fixed_cost
    double funding_per_step     # f_8h * dt / (8 h)
    double impact_coef
    double inv_impact_adv


cdef enum:
    LANES = 64                  # paths walked together, step-major, within a block
    # doubles between consecutive lane arrays in the scratch: 64 bytes more than LANES, so
    # that the arrays a pass reads and writes do not sit a multiple of 4 KiB apart (which
    # the CPU would take for a store-to-load dependence: 4K aliasing)
    LANE_STRIDE = LANES + 8
    SCRATCH_ALIGN = 128         # bytes: two cache lines


cdef struct scratch_t:
    # per lane
    double* log_spot
    double* spot
    double* prev_spot
    double* variance
    double* book_cash
    double* delta
    double* gamma
    double* alt_delta
    double* arg
    double* work
    double* work2
    double* gauss               # exp(-d^2/2) of the last normal CDF
    double* centre              # band of the policy being decided
    double* outer
    double* inner
    Py_ssize_t* boot_start
    uint64_t* lane_rng          # the GBM lane streams, 4 x HS_STREAMS words
    # per policy and lane, [policy * LANE_STRIDE + lane]
    double* hedge               # spot/linear: coins; inverse perp: USD notional
    double* cash
    double* cost
    double* funding
    double* trades
    int64_t* last_trade


cdef inline Py_ssize_t table_index(const book_t* book, Py_ssize_t coef_set, Py_ssize_t step,
                                   Py_ssize_t option) noexcept nogil:
    return ((coef_set * (book.steps + 1) + step) * book.n_options + option) * book.n_terms


cdef inline double book_tau_eff(const book_t* book, Py_ssize_t step,
                                double log_spot) noexcept nogil:
    """Gamma-weighted years to expiry of the live options (the tau of the band formulas,
    exact for a one-option book); 0 when nothing is left."""
    cdef Py_ssize_t i, n, base
    cdef double d1, option_gamma, weight_sum = 0.0, weighted_tau = 0.0, tau_min = 0.0
    for i in range(book.n_options):
        if step >= book.expiry_step[i]:
            continue
        base = table_index(book, 0, step, i)
        option_gamma = 0.0
        for n in range(book.n_terms):
            d1 = (log_spot + book.shift[base + n]) * book.inv_sdt[base + n]
            option_gamma = option_gamma + (book.weight[base + n] * exp(-0.5 * d1 * d1)
                                           * book.inv_sdt[base + n])
        option_gamma = fabs(book.quantity[i]) * option_gamma
        weight_sum = weight_sum + option_gamma
        weighted_tau = weighted_tau + option_gamma * book.tau[step * book.n_options + i]
        if tau_min == 0.0 or book.tau[step * book.n_options + i] < tau_min:
            tau_min = book.tau[step * book.n_options + i]
    if weight_sum > 0.0:
        return weighted_tau / weight_sum
    return tau_min


cdef struct book_sums_t:
    double value                # quote currency
    double delta                # units of the underlying


cdef inline book_sums_t book_at_vol(const book_t* book, Py_ssize_t step, double spot,
                                    double vol) noexcept nogil:
    """Model value and position delta of the options still alive at `step`, with the
    hedger's diffusion vol set to `vol`: the hedging vol for the book's value, Zakamouline's
    modified vol for his band centre."""
    cdef Py_ssize_t i, n, base, term
    cdef double option_value, option_delta, tau
    cdef book_sums_t total
    cdef greeks_t g
    total.value = 0.0
    total.delta = 0.0
    for i in range(book.n_options):
        if step >= book.expiry_step[i]:
            continue
        base = table_index(book, 0, step, i)
        term = (step * book.n_options + i) * book.n_terms
        tau = book.tau[step * book.n_options + i]
        option_value = 0.0
        option_delta = 0.0
        for n in range(book.n_terms):
            g = option_greeks(MODEL_BSM, spot, book.strike[i], tau,
                              sqrt(vol * vol + book.term_var[term + n]),
                              book.omega[i] > 0.0, book.term_rate[term + n], 0.0)
            option_value = option_value + book.weight[base + n] * g.price
            option_delta = option_delta + book.weight[base + n] * g.delta
        total.value = total.value + book.quantity[i] * option_value
        total.delta = total.delta + book.quantity[i] * option_delta
    return total


cdef struct stepper_t:
    # constants of one step of length dt, computed once before the loop
    double gbm_drift            # (mu - lambda k - sigma^2/2) dt
    double vol_sqrt_dt
    double jump_rate_dt         # lambda dt
    double decay                # e^{-kappa dt}
    double qe_c1                # v xi^2 e^{-k dt}(1 - e^{-k dt}) / kappa coefficient of v
    double qe_c2                # theta xi^2 (1 - e^{-k dt})^2 / (2 kappa)
    double k0
    double k1
    double k2
    double k3
    double k4
    double drift_dt
    double sqrt_dt
    double dt


cdef inline double advance(const model_t* model, const stepper_t* c, bitgen_t* rng,
                           Py_ssize_t move, double log_spot, double* variance,
                           Py_ssize_t* boot_start) noexcept nogil:
    """Log price after step `move` (0-based) of the path."""
    cdef double z, v, v_next, m, s2, psi, b2, a, p, beta, u, inv_psi
    cdef int64_t jumps
    cdef Py_ssize_t offset
    if model.kind == PRICE_GBM:
        return log_spot + c.gbm_drift + c.vol_sqrt_dt * random_standard_normal(rng)
    if model.kind == PRICE_MERTON:
        log_spot = log_spot + c.gbm_drift + c.vol_sqrt_dt * random_standard_normal(rng)
        jumps = random_poisson(rng, c.jump_rate_dt)
        if jumps > 0:
            log_spot = log_spot + (jumps * model.jump_mean
                                   + sqrt(<double>jumps) * model.jump_std * random_standard_normal(rng))
        return log_spot
    if model.kind == PRICE_HESTON_QE:
        # Andersen (2008) QE step for v, then his log-price scheme with gamma1 = gamma2 = 1/2.
        v = variance[0]
        m = model.theta + (v - model.theta) * c.decay
        s2 = v * c.qe_c1 + c.qe_c2
        psi = s2 / (m * m)
        if psi <= 1.5:
            inv_psi = 2.0 / psi
            b2 = inv_psi - 1.0 + sqrt(inv_psi) * sqrt(inv_psi - 1.0)
            a = m / (1.0 + b2)
            z = sqrt(b2) + random_standard_normal(rng)
            v_next = a * z * z
        else:
            p = (psi - 1.0) / (psi + 1.0)
            beta = (1.0 - p) / m
            u = random_standard_uniform(rng)
            v_next = 0.0 if u <= p else log((1.0 - p) / (1.0 - u)) / beta
        log_spot = (log_spot + c.drift_dt + c.k0 + c.k1 * v + c.k2 * v_next
                    + sqrt(c.k3 * v + c.k4 * v_next) * random_standard_normal(rng))
        variance[0] = v_next
        return log_spot
    if model.kind == PRICE_HESTON_EULER:
        # Full truncation (Lord, Koekkoek & van Dijk 2010): v+ in drift and diffusion.
        v = variance[0] if variance[0] > 0.0 else 0.0
        z = random_standard_normal(rng)
        u = random_standard_normal(rng)
        log_spot = log_spot + (model.drift - 0.5 * v) * c.dt + sqrt(v) * c.sqrt_dt * z
        variance[0] = (variance[0] + model.kappa * (model.theta - v) * c.dt
                       + model.vol_of_vol * sqrt(v) * c.sqrt_dt
                       * (model.rho * z + sqrt(1.0 - model.rho * model.rho) * u))
        return log_spot
    # historical replay, optionally moving-block bootstrapped
    if model.block_size == 0:
        return log_spot + model.returns[move]
    offset = move % model.block_size
    if offset == 0:
        boot_start[0] = <Py_ssize_t>random_interval(rng, <uint64_t>(model.n_returns - model.block_size))
    return log_spot + model.returns[boot_start[0] + offset]


cdef inline double coin_exposure(const market_t* market, double position,
                                 double spot) noexcept nogil:
    if market.instrument == HEDGE_INVERSE_PERP:
        return position / spot
    return position


cdef inline void book_delta_lanes(const book_t* book, Py_ssize_t coef_set, Py_ssize_t step,
                                  scratch_t* st, Py_ssize_t n_lanes, bint with_gamma,
                                  double* delta, double* gamma) noexcept nogil:
    """Position delta (and gamma) of the live options on every lane, step-major: one
    vectorised delta_term_lanes call per option and series term."""
    cdef Py_ssize_t i, n, lane, base
    cdef double shift, scale, coef_delta, coef_gamma, omega
    cdef double* arg = st.arg
    cdef double* cdf2 = st.work
    cdef double* gauss = st.gauss
    cdef bint first = True
    for i in range(book.n_options):
        if step >= book.expiry_step[i]:
            continue
        omega = book.omega[i]
        base = table_index(book, coef_set, step, i)
        for n in range(book.n_terms):
            # position delta: q w omega N(omega d1), d1 = (log S + shift) inv_sdt, from
            # cdf2 = 2 N(omega d1) = erfc(-omega d1 / sqrt 2)
            shift = book.shift[base + n]
            scale = omega * book.inv_sdt[base + n]
            coef_delta = 0.5 * omega * book.quantity[i] * book.weight[base + n]
            coef_gamma = INV_SQRT_2PI * book.quantity[i] * book.weight[base + n] * book.inv_sdt[base + n]
            delta_term_lanes(st.log_spot, shift, scale, -omega * book.inv_sdt[base + n] * SQRT1_2,
                             with_gamma, not first, coef_delta, coef_gamma, arg, cdf2, gauss,
                             delta, gamma)
            first = False
    if first:
        for lane in range(n_lanes):
            delta[lane] = 0.0
            gamma[lane] = 0.0
    if with_gamma:
        for lane in range(n_lanes):
            gamma[lane] = gamma[lane] / st.spot[lane]


cdef inline void record(double* trace, Py_ssize_t trace_len, Py_ssize_t p, int step,
                        double spot, double target, double half_width,
                        double hedge) noexcept nogil:
    trace[(p * N_TRACE + TRACE_SPOT) * trace_len + step] = spot
    trace[(p * N_TRACE + TRACE_TARGET) * trace_len + step] = target
    trace[(p * N_TRACE + TRACE_HALF_WIDTH) * trace_len + step] = half_width
    trace[(p * N_TRACE + TRACE_HEDGE) * trace_len + step] = hedge


# The band of every lane at a decision, one function per band method: centre (the target
# hedge in coins), outer (|hedge - centre| beyond this trades) and inner (the distance from
# the centre a trade goes back to; 0 trades to the centre, outer to the nearest edge).
# inner_share is 1 for a policy that trades to the edge, else 0. The time, Leland and
# fixed policies leave the centre to the trade pass (the book's delta, see decide).

cdef inline void fixed_band(const policy_t* pol, scratch_t* st, Py_ssize_t n_lanes,
                            double inner_share) noexcept nogil:
    cdef Py_ssize_t lane
    cdef double width = pol.width
    for lane in range(n_lanes):
        st.outer[lane] = width
        st.inner[lane] = width * inner_share


cdef inline void whalley_wilmott_band_one_option(const book_t* book, const policy_t* pol,
                                                 scratch_t* st, Py_ssize_t n_lanes,
                                                 double cost_rate, double tau,
                                                 double inner_share) noexcept nogil:
    """_bands.whalley_wilmott_width for every lane at once (its formula,
    H = (1.5 e^{-r tau} lambda S Gamma^2 / a)^(1/3), with the cube root vectorised)."""
    cdef Py_ssize_t lane
    cdef double ww_factor = 1.5 * exp(-book.rate * tau) * cost_rate / pol.risk_aversion
    for lane in range(n_lanes):
        st.centre[lane] = -st.delta[lane] - book.coin_premium
        st.outer[lane] = ww_factor * st.spot[lane] * st.gamma[lane] * st.gamma[lane]
    cbrt_lanes(st.outer)
    for lane in range(n_lanes):
        st.inner[lane] = st.outer[lane] * inner_share


cdef inline void whalley_wilmott_band_book(const book_t* book, const policy_t* pol, int step,
                                           scratch_t* st, Py_ssize_t n_lanes, double cost_rate,
                                           double inner_share) noexcept nogil:
    """Whalley-Wilmott for a book: tau is each lane's gamma-weighted years to expiry."""
    cdef Py_ssize_t lane
    cdef double tau_eff, outer
    for lane in range(n_lanes):
        tau_eff = book_tau_eff(book, step, st.log_spot[lane])
        outer = whalley_wilmott_width(st.gamma[lane], st.spot[lane], cost_rate,
                                      pol.risk_aversion, book.rate, tau_eff)
        st.centre[lane] = -st.delta[lane] - book.coin_premium
        st.outer[lane] = outer
        st.inner[lane] = outer * inner_share


cdef inline void zakamouline_band_lanes(const book_t* book, const policy_t* pol, int step,
                                        scratch_t* st, Py_ssize_t n_lanes, double cost_rate,
                                        bint single, double tau_single,
                                        double inner_share) noexcept nogil:
    """Zakamouline: the centre is the delta at the modified vol; no band once expired."""
    cdef Py_ssize_t lane
    cdef double tau_eff = tau_single, centre, outer
    cdef zakamouline_t zak
    for lane in range(n_lanes):
        centre = -st.delta[lane] - book.coin_premium
        outer = 0.0
        if not single:
            tau_eff = book_tau_eff(book, step, st.log_spot[lane])
        if tau_eff > 0.0:
            zak = zakamouline(st.gamma[lane], st.spot[lane], book.hedge_vol, tau_eff,
                              cost_rate, pol.risk_aversion, book.rate)
            centre = -book_at_vol(book, step, st.spot[lane], zak.modified_vol).delta - book.coin_premium
            outer = zak.half_width
        st.centre[lane] = centre
        st.outer[lane] = outer
        st.inner[lane] = outer * inner_share


cdef inline void nested_band_lanes(const book_t* book, const policy_t* pol, scratch_t* st,
                                   Py_ssize_t n_lanes, double cost_rate,
                                   double fixed_cost) noexcept nogil:
    """Nested band: the policy's own outer and inner, or the formula's (pol.outer < 0)."""
    cdef Py_ssize_t lane
    cdef nested_t band
    for lane in range(n_lanes):
        st.centre[lane] = -st.delta[lane] - book.coin_premium
        if pol.outer >= 0.0:
            st.outer[lane] = pol.outer
            st.inner[lane] = pol.inner
        else:
            band = nested(st.gamma[lane], st.spot[lane], cost_rate, fixed_cost, pol.risk_aversion)
            st.outer[lane] = band.outer
            st.inner[lane] = band.inner


cdef inline void policy_band(const book_t* book, const policy_t* pol, const market_t* market,
                             scratch_t* st, Py_ssize_t n_lanes, int step, bint single,
                             double tau_single) noexcept nogil:
    """The band of every lane for one policy, by its method (time and Leland: none)."""
    cdef double inner_share = 1.0 if pol.to_edge else 0.0
    cdef int method = pol.method
    if method == POLICY_FIXED:
        fixed_band(pol, st, n_lanes, inner_share)
    elif method == POLICY_WW and single:
        whalley_wilmott_band_one_option(book, pol, st, n_lanes, market.cost_rate, tau_single,
                                        inner_share)
    elif method == POLICY_WW:
        whalley_wilmott_band_book(book, pol, step, st, n_lanes, market.cost_rate, inner_share)
    elif method == POLICY_ZAKAMOULINE:
        zakamouline_band_lanes(book, pol, step, st, n_lanes, market.cost_rate, single,
                               tau_single, inner_share)
    elif method == POLICY_NESTED:
        nested_band_lanes(book, pol, st, n_lanes, market.cost_rate, market.fixed_cost)


cdef inline bint trades_to_target(int method) noexcept nogil:
    """Time-based policies (time, Leland) trade to the target at their dates, no band."""
    return method == POLICY_TIME or method == POLICY_LELAND


cdef void decide(const book_t* book, const policy_t* policies, Py_ssize_t n_policies,
                 const market_t* market, scratch_t* st, Py_ssize_t n_lanes, int step,
                 double discount, double* trace) noexcept nogil:
    """Every policy's hedging decision on every lane at a decision time (step < steps);
    cash moves are booked in time-0 money (times `discount` = e^{-r t_step}).

    For each policy: the book's delta (and gamma) it needs, then the band (centre, outer,
    inner) of every lane, then one branch-light pass that applies it and books the trades.
    `trace` is NULL or receives lane 0's decision (path 0)."""
    cdef Py_ssize_t p, base, trace_len = book.steps + 1
    cdef const policy_t* pol
    cdef bint have_delta = False, have_gamma = False, single = book.n_options == 1
    cdef bint use_band
    cdef int method
    cdef double tau_single = book.tau[step * book.n_options] if single else 0.0
    cdef double* hedge
    cdef double* centre_source
    cdef double centre_sign, centre_offset
    for p in range(n_policies):
        pol = &policies[p]
        method = pol.method
        base = p * LANE_STRIDE
        if method == POLICY_NONE or (trades_to_target(method) and step % pol.every != 0):
            if trace != NULL:
                record(trace, trace_len, p, step, st.spot[0], NAN, NAN,
                       coin_exposure(market, st.hedge[base], st.spot[0]))
            continue
        # the book's delta at the hedging vol is computed once per decision and shared
        if pol.needs_gamma and not have_gamma:
            book_delta_lanes(book, 0, step, st, n_lanes, True, st.delta, st.gamma)
            have_delta = True
            have_gamma = True
        elif pol.coef_set == 0 and not have_delta:
            book_delta_lanes(book, 0, step, st, n_lanes, False, st.delta, st.gamma)
            have_delta = True
        if pol.coef_set != 0:
            book_delta_lanes(book, pol.coef_set, step, st, n_lanes, False, st.alt_delta, st.work2)

        # 1. the band of every lane. The trade pass reads the centre as
        # centre_sign * centre[lane] + centre_offset: the time, Leland and fixed policies
        # hand it the book's delta with (-1, -coin premium), the others their centre with
        # (1, -0.0), which leaves every value as it is (x + -0.0 == x, zeros included).
        centre_source = st.centre
        centre_sign = 1.0
        centre_offset = -0.0
        if trades_to_target(method) or method == POLICY_FIXED:
            centre_source = st.alt_delta if pol.coef_set != 0 else st.delta
            centre_sign = -1.0
            centre_offset = -book.coin_premium
        policy_band(book, pol, market, st, n_lanes, step, single, tau_single)
        if trace != NULL:
            record(trace, trace_len, p, step, st.spot[0], centre_sign * centre_source[0] + centre_offset,
                   0.0 if trades_to_target(method) else st.outer[0],
                   coin_exposure(market, st.hedge[base], st.spot[0]))

        # 2. apply the band and book the trades: a select per lane instead of a branch, so
        # the loop has no unpredictable jumps (time policies trade on every lane); time
        # policies and every first hedge go to the target
        use_band = step != 0 and not trades_to_target(method)
        hedge = st.hedge + base
        trade_lanes(use_band, step, pol.min_interval, pol.min_trade, market.cost_rate,
                    market.fixed_cost, market.impact_coef, market.inv_impact_adv, discount,
                    1.0 if market.instrument == HEDGE_SPOT else 0.0,
                    market.instrument == HEDGE_INVERSE_PERP, centre_sign, centre_offset,
                    centre_source, st.outer, st.inner, st.spot, st.cash + base, st.cost + base,
                    st.trades + base, st.last_trade + base, hedge)
        if trace != NULL and st.last_trade[base] == step:
            trace[(p * N_TRACE + TRACE_HEDGE) * trace_len + step] = coin_exposure(market, hedge[0], st.spot[0])


cdef void simulate_lanes(const model_t* model, const stepper_t* stepper, const book_t* book,
                         const policy_t* policies, Py_ssize_t n_policies,
                         const market_t* market, bitgen_t* rng, scratch_t* st,
                         double* trace, Py_ssize_t first_path, Py_ssize_t n_lanes,
                         Py_ssize_t n_valid, Py_ssize_t n_paths, double* out_pnl, double* out_cost,
                         double* out_funding, double* out_trades) noexcept nogil:
    """Paths first_path .. first_path + n_lanes - 1 walked together, step by step; the
    results of the first n_valid are written.

    Random numbers are drawn step-major across the lanes, in lane order: the sequence
    depends on the model only, never on the policies."""
    cdef Py_ssize_t p, i, lane, slot, move
    cdef int step
    cdef int steps = <int>book.steps
    cdef Py_ssize_t trace_len = book.steps + 1
    cdef double carry, value, drift = stepper.gbm_drift, vol = stepper.vol_sqrt_dt
    cdef double payoff, discount, horizon_growth
    cdef bint perp = market.instrument != HEDGE_SPOT
    for lane in range(n_lanes):
        st.log_spot[lane] = log(model.spot)
        st.spot[lane] = model.spot
        st.variance[lane] = model.v0
        st.book_cash[lane] = book.premium_cash
        st.boot_start[lane] = 0
        st.outer[lane] = 0.0
        st.inner[lane] = 0.0
    for p in range(n_policies):
        for lane in range(n_lanes):
            slot = p * LANE_STRIDE + lane
            st.hedge[slot] = 0.0
            st.cash[slot] = 0.0
            st.cost[slot] = 0.0
            st.funding[slot] = 0.0
            st.trades[slot] = 0.0
            st.last_trade[slot] = -1
    decide(book, policies, n_policies, market, st, n_lanes, 0, 1.0, trace)
    for step in range(1, steps + 1):
        move = step - 1
        # cash is kept in time-0 money: a flow at t_k counts e^{-r t_k} of it, and the sum
        # is grown to the horizon once at the end (no per-step compounding pass)
        discount = exp(-book.rate * market.dt * step)
        if perp:
            for lane in range(n_lanes):
                st.prev_spot[lane] = st.spot[lane]
        if model.kind == PRICE_GBM:
            # LANES uniforms of the block's lane streams -> Box-Muller normals -> log S, S
            gbm_lanes(st.lane_rng, st.work, st.log_spot, st.spot, drift, vol)
        else:
            for lane in range(n_lanes):
                st.log_spot[lane] = advance(model, stepper, rng, move, st.log_spot[lane],
                                            &st.variance[lane], &st.boot_start[lane])
            vector_exp(st.log_spot, st.spot, n_lanes)
        for p in range(n_policies):
            if market.instrument == HEDGE_LINEAR_PERP:
                for lane in range(n_lanes):
                    slot = p * LANE_STRIDE + lane
                    carry = st.hedge[slot] * st.prev_spot[lane] * market.funding_per_step
                    st.cash[slot] += (st.hedge[slot] * (st.spot[lane] - st.prev_spot[lane]) - carry) * discount
                    st.funding[slot] += carry
            elif market.instrument == HEDGE_INVERSE_PERP:
                for lane in range(n_lanes):
                    slot = p * LANE_STRIDE + lane
                    carry = st.hedge[slot] * market.funding_per_step
                    st.cash[slot] += (st.hedge[slot] * (st.spot[lane] / st.prev_spot[lane] - 1.0)
                                      - carry) * discount
                    st.funding[slot] += carry
        for i in range(book.n_options):
            if book.expiry_step[i] == step:
                for lane in range(n_lanes):
                    payoff = book.omega[i] * (st.spot[lane] - book.strike[i])
                    st.book_cash[lane] += book.quantity[i] * (payoff if payoff > 0.0 else 0.0) * discount
        if step < steps:
            decide(book, policies, n_policies, market, st, n_lanes, step, discount, trace)
    if trace != NULL:
        for p in range(n_policies):
            record(trace, trace_len, p, steps, st.spot[0], NAN, NAN,
                   coin_exposure(market, st.hedge[p * LANE_STRIDE], st.spot[0]))
    horizon_growth = exp(book.rate * market.dt * steps)
    for lane in range(n_valid):
        value = (st.book_cash[lane] * horizon_growth + book.coin_premium * st.spot[lane]
                 + book_at_vol(book, steps, st.spot[lane], book.hedge_vol).value)
        for p in range(n_policies):
            slot = p * LANE_STRIDE + lane
            out_pnl[p * n_paths + first_path + lane] = (
                value + st.cash[slot] * horizon_growth
                + (st.hedge[slot] * st.spot[lane] if market.instrument == HEDGE_SPOT else 0.0))
            out_cost[p * n_paths + first_path + lane] = st.cost[slot]
            out_funding[p * n_paths + first_path + lane] = st.funding[slot]
            out_trades[p * n_paths + first_path + lane] = st.trades[slot]


cdef void run_block(const model_t* model, const stepper_t* stepper, const book_t* book,
                    const policy_t* policies, Py_ssize_t n_policies, const market_t* market,
                    bitgen_t* rng, const uint64_t* lane_seeds, scratch_t* st, double* trace,
                    Py_ssize_t first_path,
                    Py_ssize_t last_path, Py_ssize_t n_paths, double* out_pnl,
                    double* out_cost, double* out_funding, double* out_trades) noexcept nogil:
    # Always a full group of LANES paths, even past the last path, so that a path's random
    # numbers do not depend on how many paths follow it (results are written for real
    # paths only).
    cdef Py_ssize_t start = first_path, n_valid
    if model.kind == PRICE_GBM:
        seed_streams(st.lane_rng, lane_seeds)
    while start < last_path:
        n_valid = min(<Py_ssize_t>LANES, last_path - start)
        simulate_lanes(model, stepper, book, policies, n_policies, market, rng, st,
                       trace if start == 0 else NULL, start, LANES, n_valid, n_paths,
                       out_pnl, out_cost, out_funding, out_trades)
        start += LANES


def bitgen_addresses(bit_generators):
    """Addresses of the bitgen_t structs of numpy bit generators, read with the GIL held.

    The caller keeps the generators alive while the addresses are in use."""
    cdef const char* capsule_name = "BitGenerator"
    addresses = np.empty(len(bit_generators), dtype=np.uintp)
    for k, generator in enumerate(bit_generators):
        capsule = generator.capsule
        if not PyCapsule_IsValid(capsule, capsule_name):
            raise ValueError("bit_generators: not a numpy BitGenerator")
        addresses[k] = <uintptr_t>PyCapsule_GetPointer(capsule, capsule_name)
    return addresses


cdef int check_book_tables(Py_ssize_t steps, Py_ssize_t n_options, const double[::1] quantity,
                           const double[::1] omega, const int64_t[::1] expiry_step,
                           const double[:, ::1] tau, const double[:, :, :, ::1] weight,
                           const double[:, :, :, ::1] shift, const double[:, :, :, ::1] inv_sdt,
                           const double[:, :, ::1] term_rate,
                           const double[:, :, ::1] term_var) except -1:
    """ValueError unless every book table has the [set][step][option][term] shape of `weight`."""
    if not (quantity.shape[0] == omega.shape[0] == expiry_step.shape[0] == n_options
            and tau.shape[0] == steps + 1 and tau.shape[1] == n_options
            and weight.shape[1] == steps + 1 and weight.shape[2] == n_options
            and shift.shape[0] == weight.shape[0] and shift.shape[1] == steps + 1
            and shift.shape[2] == n_options and shift.shape[3] == weight.shape[3]
            and inv_sdt.shape[0] == weight.shape[0] and inv_sdt.shape[1] == steps + 1
            and inv_sdt.shape[2] == n_options and inv_sdt.shape[3] == weight.shape[3]
            and term_rate.shape[0] == steps + 1 and term_rate.shape[1] == n_options
            and term_rate.shape[2] == weight.shape[3]
            and term_var.shape[0] == steps + 1 and term_var.shape[1] == n_options
            and term_var.shape[2] == weight.shape[3]):
        raise ValueError("simulate_blocks: book tables have inconsistent shapes")
    return 0


cdef int check_outputs(Py_ssize_t n_policies, Py_ssize_t steps, const int[:, ::1] policy_ints,
                       const double[:, ::1] policy_floats, double[:, ::1] pnl,
                       double[:, ::1] cost, double[:, ::1] funding, double[:, ::1] trades,
                       double[:, :, ::1] trace) except -1:
    """ValueError unless the policy rows and the outputs have one row per policy."""
    cdef Py_ssize_t n_paths = pnl.shape[1]
    if policy_floats.shape[0] != n_policies or policy_ints.shape[1] != 6 or policy_floats.shape[1] != 5:
        raise ValueError("simulate_blocks: policy_ints must be (n, 6) and policy_floats (n, 5)")
    if not (cost.shape[0] == funding.shape[0] == trades.shape[0] == pnl.shape[0] == n_policies
            and cost.shape[1] == funding.shape[1] == trades.shape[1] == n_paths):
        raise ValueError("simulate_blocks: outputs must have shape (n_policies, n_paths)")
    if trace.shape[0] != n_policies or trace.shape[1] != N_TRACE or trace.shape[2] != steps + 1:
        raise ValueError("simulate_blocks: trace must have shape (n_policies, 4, steps + 1)")
    return 0


cdef int check_streams(int model_kind, const double[::1] returns, Py_ssize_t bootstrap_block,
                       Py_ssize_t steps, const uintptr_t[::1] bitgens,
                       const uint64_t[:, ::1] lane_seeds, Py_ssize_t first_block,
                       Py_ssize_t paths_per_block, Py_ssize_t n_paths) except -1:
    """ValueError unless every block has its random streams (and the history enough
    returns) and the blocks lie within the paths."""
    cdef Py_ssize_t b, n_chunk = bitgens.shape[0]
    if model_kind == PRICE_HISTORICAL:
        if bootstrap_block == 0 and returns.shape[0] < steps:
            raise ValueError("simulate_blocks: fewer returns than steps")
        if bootstrap_block < 0 or bootstrap_block > returns.shape[0]:
            raise ValueError("simulate_blocks: bootstrap block longer than the series")
    if lane_seeds.shape[0] != n_chunk or lane_seeds.shape[1] != 3 * STREAMS:
        raise ValueError("simulate_blocks: lane_seeds must have shape (len(bitgens), 24)")
    if model_kind != PRICE_GBM:
        for b in range(n_chunk):
            if bitgens[b] == 0:
                raise ValueError("simulate_blocks: this model needs a bit generator per block")
    if paths_per_block < 1 or first_block * paths_per_block >= n_paths or (
            (first_block + n_chunk - 1) * paths_per_block >= n_paths):
        raise ValueError("simulate_blocks: blocks outside the paths")
    return 0


cdef model_t fill_model(int model_kind, const double[::1] model_params,
                        const double[::1] returns, Py_ssize_t bootstrap_block) noexcept:
    """The price model from model_params = [spot, drift, vol, jump_intensity, jump_mean,
    jump_std, v0, kappa, theta, vol_of_vol, rho]; `returns` must outlive it."""
    cdef model_t model
    model.kind = model_kind
    model.spot = model_params[0]
    model.drift = model_params[1]
    model.vol = model_params[2]
    model.jump_intensity = model_params[3]
    model.jump_mean = model_params[4]
    model.jump_std = model_params[5]
    model.jump_compensator = model.jump_intensity * (
        exp(model.jump_mean + 0.5 * model.jump_std * model.jump_std) - 1.0)
    model.v0 = model_params[6]
    model.kappa = model_params[7]
    model.theta = model_params[8]
    model.vol_of_vol = model_params[9]
    model.rho = model_params[10]
    model.returns = &returns[0] if returns.shape[0] > 0 else NULL
    model.n_returns = returns.shape[0]
    model.block_size = bootstrap_block
    return model


cdef stepper_t fill_stepper(const model_t* model, double dt) noexcept:
    """The per-step constants of the model's discretisation with time step dt (years)."""
    cdef stepper_t stepper
    cdef double xi, rho_xi
    memset(&stepper, 0, sizeof(stepper))     # the QE constants stay 0 for other models
    stepper.dt = dt
    stepper.sqrt_dt = sqrt(dt)
    stepper.drift_dt = model.drift * dt
    stepper.vol_sqrt_dt = model.vol * stepper.sqrt_dt
    stepper.jump_rate_dt = model.jump_intensity * dt
    stepper.gbm_drift = (model.drift - 0.5 * model.vol * model.vol) * dt
    if model.kind == PRICE_MERTON:
        stepper.gbm_drift = stepper.gbm_drift - model.jump_compensator * dt
    stepper.decay = exp(-model.kappa * dt) if model.kappa > 0.0 else 1.0
    if model.kind == PRICE_HESTON_QE:
        xi = model.vol_of_vol
        stepper.qe_c1 = xi * xi * stepper.decay * (1.0 - stepper.decay) / model.kappa
        stepper.qe_c2 = model.theta * xi * xi * (1.0 - stepper.decay) ** 2 / (2.0 * model.kappa)
        rho_xi = model.rho / xi
        # Andersen (2008) eq. 33 with gamma1 = gamma2 = 1/2; the drift is the model's.
        stepper.k0 = -rho_xi * model.kappa * model.theta * dt
        stepper.k1 = 0.5 * dt * (model.kappa * rho_xi - 0.5) - rho_xi
        stepper.k2 = 0.5 * dt * (model.kappa * rho_xi - 0.5) + rho_xi
        stepper.k3 = 0.5 * dt * (1.0 - model.rho * model.rho)
        stepper.k4 = stepper.k3
    return stepper


cdef book_t fill_book(Py_ssize_t steps, double rate, const double[::1] strike,
                      const double[::1] quantity, const double[::1] omega,
                      const int64_t[::1] expiry_step, const double[:, ::1] tau,
                      const double[:, :, :, ::1] weight, const double[:, :, :, ::1] shift,
                      const double[:, :, :, ::1] inv_sdt, const double[:, :, ::1] term_rate,
                      const double[:, :, ::1] term_var, double hedge_vol, double coin_premium,
                      double premium_cash) noexcept:
    """The option book over pointers into the (checked) tables, which must outlive it."""
    cdef book_t book
    book.n_options = strike.shape[0]
    book.n_terms = weight.shape[3]
    book.n_sets = weight.shape[0]
    book.steps = steps
    book.strike = &strike[0]
    book.quantity = &quantity[0]
    book.omega = &omega[0]
    book.expiry_step = &expiry_step[0]
    book.tau = &tau[0, 0]
    book.weight = &weight[0, 0, 0, 0]
    book.shift = &shift[0, 0, 0, 0]
    book.inv_sdt = &inv_sdt[0, 0, 0, 0]
    book.term_rate = &term_rate[0, 0, 0]
    book.term_var = &term_var[0, 0, 0]
    book.hedge_vol = hedge_vol
    book.rate = rate
    book.coin_premium = coin_premium
    book.premium_cash = premium_cash
    return book


cdef market_t fill_market(int instrument, double dt, const double[::1] costs) noexcept:
    """The hedge market from costs = [cost_rate, fixed, funding_8h_per_step, impact_coef,
    1/impact_adv]."""
    cdef market_t market
    market.instrument = instrument
    market.dt = dt
    market.cost_rate = costs[0]
    market.fixed_cost = costs[1]
    market.funding_per_step = costs[2]
    market.impact_coef = costs[3]
    market.inv_impact_adv = costs[4]
    return market


cdef policy_t* fill_policies(const int[:, ::1] policy_ints, const double[:, ::1] policy_floats,
                             Py_ssize_t n_sets) except NULL:
    """A malloc'd policy per row of policy_ints = [method, every, to_edge, min_interval,
    coef_set, needs_gamma] and policy_floats = [width, risk_aversion, outer, inner,
    min_trade]; the caller frees it. Raises (having freed it) on a coefficient set out of
    range."""
    cdef Py_ssize_t p, n_policies = policy_ints.shape[0]
    cdef policy_t* policies = <policy_t*>malloc(max(n_policies, 1) * sizeof(policy_t))
    if policies == NULL:
        raise MemoryError()
    for p in range(n_policies):
        policies[p].method = policy_ints[p, 0]
        policies[p].every = max(policy_ints[p, 1], 1)
        policies[p].to_edge = policy_ints[p, 2] != 0
        policies[p].min_interval = policy_ints[p, 3]
        policies[p].coef_set = policy_ints[p, 4]
        policies[p].needs_gamma = policy_ints[p, 5] != 0
        policies[p].width = policy_floats[p, 0]
        policies[p].risk_aversion = policy_floats[p, 1]
        policies[p].outer = policy_floats[p, 2]
        policies[p].inner = policy_floats[p, 3]
        policies[p].min_trade = policy_floats[p, 4]
        if not (0 <= policies[p].coef_set < n_sets):
            free(policies)
            raise ValueError("simulate_blocks: policy coefficient set out of range")
    return policies


cdef struct scratch_arena_t:
    char* memory                # one allocation holding every block's region
    scratch_t* blocks           # the views into it, one per block


cdef int alloc_scratch(scratch_arena_t* arena, Py_ssize_t n_blocks,
                       Py_ssize_t n_policies) except -1:
    """One scratch region per block, laid out as scratch_t; free with free_scratch (also
    after a failure, which leaves both pointers NULL or freeable)."""
    # per block: 15 lane arrays and 5 policy-lane arrays of doubles, last_trade ints, the
    # lane streams' state, boot_start indices, in one region per block. Regions start on
    # SCRATCH_ALIGN-byte boundaries and are whole multiples of it, so that no cache line
    # (nor the line pair that the adjacent-line prefetcher fetches together) is shared by
    # two blocks: two threads on neighbouring blocks would otherwise write the same line
    # every step.
    cdef Py_ssize_t doubles_per_block = (15 + 5 * n_policies) * LANE_STRIDE
    cdef Py_ssize_t block_bytes = (doubles_per_block * sizeof(double)
                                   + n_policies * LANE_STRIDE * sizeof(int64_t)
                                   + 4 * STREAMS * sizeof(uint64_t) + LANES * sizeof(Py_ssize_t))
    cdef Py_ssize_t block_stride = (block_bytes + SCRATCH_ALIGN - 1) // SCRATCH_ALIGN * SCRATCH_ALIGN
    cdef Py_ssize_t b
    cdef char* aligned
    cdef double* lanes
    arena.memory = <char*>malloc(max(n_blocks, 1) * block_stride + SCRATCH_ALIGN)
    arena.blocks = <scratch_t*>malloc(max(n_blocks, 1) * sizeof(scratch_t))
    if arena.memory == NULL or arena.blocks == NULL:
        raise MemoryError()
    aligned = arena.memory + (SCRATCH_ALIGN - (<uintptr_t>arena.memory) % SCRATCH_ALIGN) % SCRATCH_ALIGN
    for b in range(n_blocks):
        lanes = <double*>(aligned + b * block_stride)
        arena.blocks[b].log_spot = lanes
        arena.blocks[b].spot = lanes + LANE_STRIDE
        arena.blocks[b].prev_spot = lanes + 2 * LANE_STRIDE
        arena.blocks[b].variance = lanes + 3 * LANE_STRIDE
        arena.blocks[b].book_cash = lanes + 4 * LANE_STRIDE
        arena.blocks[b].delta = lanes + 5 * LANE_STRIDE
        arena.blocks[b].gamma = lanes + 6 * LANE_STRIDE
        arena.blocks[b].alt_delta = lanes + 7 * LANE_STRIDE
        arena.blocks[b].arg = lanes + 8 * LANE_STRIDE
        arena.blocks[b].work = lanes + 9 * LANE_STRIDE
        arena.blocks[b].work2 = lanes + 10 * LANE_STRIDE
        arena.blocks[b].gauss = lanes + 11 * LANE_STRIDE
        arena.blocks[b].centre = lanes + 12 * LANE_STRIDE
        arena.blocks[b].outer = lanes + 13 * LANE_STRIDE
        arena.blocks[b].inner = lanes + 14 * LANE_STRIDE
        arena.blocks[b].hedge = lanes + 15 * LANE_STRIDE
        arena.blocks[b].cash = lanes + (15 + n_policies) * LANE_STRIDE
        arena.blocks[b].cost = lanes + (15 + 2 * n_policies) * LANE_STRIDE
        arena.blocks[b].funding = lanes + (15 + 3 * n_policies) * LANE_STRIDE
        arena.blocks[b].trades = lanes + (15 + 4 * n_policies) * LANE_STRIDE
        arena.blocks[b].last_trade = <int64_t*>(lanes + doubles_per_block)
        arena.blocks[b].lane_rng = <uint64_t*>(arena.blocks[b].last_trade + n_policies * LANE_STRIDE)
        arena.blocks[b].boot_start = <Py_ssize_t*>(arena.blocks[b].lane_rng + 4 * STREAMS)
    return 0


cdef void free_scratch(scratch_arena_t* arena) noexcept nogil:
    free(arena.memory)
    free(arena.blocks)
    arena.memory = NULL
    arena.blocks = NULL


def simulate_blocks(*,
                    int model_kind,
                    const double[::1] model_params,
                    const double[::1] returns,
                    Py_ssize_t bootstrap_block,
                    Py_ssize_t steps,
                    double dt,
                    double rate,
                    const double[::1] strike,
                    const double[::1] quantity,
                    const double[::1] omega,
                    const int64_t[::1] expiry_step,
                    const double[:, ::1] tau,
                    const double[:, :, :, ::1] weight,
                    const double[:, :, :, ::1] shift,
                    const double[:, :, :, ::1] inv_sdt,
                    const double[:, :, ::1] term_rate,
                    const double[:, :, ::1] term_var,
                    double hedge_vol,
                    double coin_premium,
                    double premium_cash,
                    int instrument,
                    const double[::1] costs,
                    const int[:, ::1] policy_ints,
                    const double[:, ::1] policy_floats,
                    const uintptr_t[::1] bitgens,
                    const uint64_t[:, ::1] lane_seeds,
                    Py_ssize_t first_block,
                    Py_ssize_t paths_per_block,
                    double[:, ::1] pnl,
                    double[:, ::1] cost,
                    double[:, ::1] funding,
                    double[:, ::1] trades,
                    double[:, :, ::1] trace,
                    int n_threads):
    """Simulate the blocks first_block .. first_block + len(bitgens) - 1 of paths.

    Block b covers paths [b * paths_per_block, min((b + 1) * paths_per_block, n_paths))
    and draws from its own streams only: GBM from the STREAMS SFC64 lane streams seeded
    by lane_seeds[b - first_block] (3 words each), the other models from the numpy bit
    generator bitgens[b - first_block] (GBM does not read it; it may be 0). Results for path j go to column j of
    pnl, cost, funding, trades (one row per policy); path 0 also fills `trace`
    (policy, row, step). Argument layouts are documented in hedgecore.simulation, which
    is the only caller:
    model_params = [spot, drift, vol, jump_intensity, jump_mean, jump_std, v0, kappa,
    theta, vol_of_vol, rho]; costs = [cost_rate, fixed, funding_8h_per_step, impact_coef,
    1/impact_adv]; policy_ints[p] = [method, every, to_edge, min_interval, coef_set,
    needs_gamma]; policy_floats[p] = [width, risk_aversion, outer, inner, min_trade];
    tables [set][step][option][term].
    """
    cdef Py_ssize_t n_paths = pnl.shape[1]
    cdef Py_ssize_t n_policies = policy_ints.shape[0]
    cdef Py_ssize_t n_chunk = bitgens.shape[0]
    cdef Py_ssize_t b, first_path, last_path
    cdef scratch_arena_t scratch
    cdef policy_t* policies = NULL

    # every check raises here, with the GIL held: nothing below can fail
    if n_threads < 1:
        raise ValueError("simulate_blocks: n_threads must be >= 1")
    if model_params.shape[0] != 11 or costs.shape[0] != 5:
        raise ValueError("simulate_blocks: model_params needs 11 values and costs 5")
    check_book_tables(steps, strike.shape[0], quantity, omega, expiry_step, tau, weight, shift,
                      inv_sdt, term_rate, term_var)
    check_outputs(n_policies, steps, policy_ints, policy_floats, pnl, cost, funding, trades, trace)
    check_streams(model_kind, returns, bootstrap_block, steps, bitgens, lane_seeds, first_block,
                  paths_per_block, n_paths)

    cdef model_t model = fill_model(model_kind, model_params, returns, bootstrap_block)
    cdef stepper_t stepper = fill_stepper(&model, dt)
    cdef book_t book = fill_book(steps, rate, strike, quantity, omega, expiry_step, tau, weight,
                                 shift, inv_sdt, term_rate, term_var, hedge_vol, coin_premium,
                                 premium_cash)
    cdef market_t market = fill_market(instrument, dt, costs)
    scratch.memory = NULL
    scratch.blocks = NULL
    try:
        policies = fill_policies(policy_ints, policy_floats, book.n_sets)
        alloc_scratch(&scratch, n_chunk, n_policies)
        for b in prange(n_chunk, nogil=True, schedule="dynamic", num_threads=n_threads):
            first_path = (first_block + b) * paths_per_block
            last_path = min(first_path + paths_per_block, n_paths)
            run_block(&model, &stepper, &book, policies, n_policies, &market,
                      <bitgen_t*>bitgens[b], &lane_seeds[b, 0], &scratch.blocks[b],
                      &trace[0, 0, 0], first_path, last_path, n_paths,
                      &pnl[0, 0], &cost[0, 0], &funding[0, 0], &trades[0, 0])
    finally:
        free(policies)
        free_scratch(&scratch)


def leland_vols(double vol, double cost, double dt, const double[::1] quantity):
    """Leland's hedging vol for each option line (+ for shorts, - for longs); the formula
    is _bands.leland_vol, so it lives in one place."""
    out = np.empty(quantity.shape[0], dtype=np.float64)
    cdef Py_ssize_t i
    for i in range(quantity.shape[0]):
        out[i] = leland_vol(vol, cost, dt, quantity[i] < 0.0)
    return out
