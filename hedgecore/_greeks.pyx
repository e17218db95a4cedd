# cython: language_level=3
"""Loop driver for the Greeks of European options.

The compiled core has three layers:
1. point kernels (`option_greeks` in _maths.pxd): doubles in, a greeks_t out, nogil,
   never failing (invalid inputs give NaN);
2. loop drivers (this module): contiguous caller-made arrays in and out, a `prange` over
   fixed chunks of elements with a static schedule, so a result never depends on the
   thread count;
3. the Python facade (hedgecore.pricing): validates, broadcasts, allocates, returns.

Why chunks: exp, log, sqrt, N and the divisions that feed them are most of the work of a
Greek; libm computes them one at a time, and which branch of N applies is a coin toss
that the CPU mispredicts. A chunk of HC_CHUNK options first goes through a branch-free
pass (below, in C) that the compiler vectorises (SSE2/NEON on any build, AVX2+FMA when
the CPU has it, chosen once at import), then through `option_greeks_from_parts`, the
formulas `option_greeks` ends in, in a loop the compiler vectorises too. Elements the
fast path does not cover (invalid inputs, expiry, zero vol, far tails, extreme
arguments) are recomputed by `option_greeks` itself. Chunk boundaries are multiples of
HC_CHUNK whatever the thread count, and a short last chunk is padded to full length, so
every element goes through the same instructions on 1 or N threads, alone or in a book.
Measured on 1e6 options (bench/bench_greeks.py), CPU time per option with one thread
fell from ~66 ns (bsm; ~60 black76, inverse) to ~32 ns on an AVX2 machine.
"""

from cython.parallel cimport prange
from libc.string cimport memcpy
# The vectorisable exp and log that this module's C code below calls.
from hedgecore._vecmath cimport hv_exp, hv_log  # no-cython-lint
from hedgecore._maths cimport (
    greeks_t, option_greeks, option_greeks_from_parts, norm_cdf_given_exp, N_GREEKS,
    MODEL_BSM, MODEL_BLACK76, MODEL_INVERSE,
)

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>
    #include <float.h>
    #include <stdlib.h>

    #define HC_CHUNK 64

    #if defined(_MSC_VER)
    #define HC_RESTRICT __restrict
    #else
    #define HC_RESTRICT restrict
    #endif
    #if defined(__GNUC__)
    #define HC_ALWAYS_INLINE __attribute__((always_inline)) inline
    #else
    #define HC_ALWAYS_INLINE CYTHON_INLINE
    #endif

    typedef struct {
        /* the inputs (padded, carry 0 for the forward models), so that the formula pass
           reads only this struct and the compiler can vectorise it */
        double underlying[HC_CHUNK];
        double strike[HC_CHUNK];
        double tau[HC_CHUNK];
        double vol[HC_CHUNK];
        double omega[HC_CHUNK];
        double rate[HC_CHUNK];
        double carry[HC_CHUNK];
        double df[HC_CHUNK];
        double carry_df[HC_CHUNK];
        double spot_over_strike[HC_CHUNK];
        double sqrt_tau[HC_CHUNK];
        double inv_sdt[HC_CHUNK];
        double d1[HC_CHUNK];
        double d2[HC_CHUNK];
        double half_gauss_1[HC_CHUNK];
        double cdf1[HC_CHUNK];
        double cdf2[HC_CHUNK];
        double tail_scaled_1[HC_CHUNK];
        double tail_scaled_2[HC_CHUNK];
        double half_gauss_2[HC_CHUNK];
        /* 1.0 where all the parts above are valid; 0.5 where they are but |d1| or |d2|
           is beyond Cody's middle range, so that cdf and tail_scaled are not; else 0.0 */
        double fast[HC_CHUNK];
    } hc_parts_t;

    /* N(x) and N(-|x|) exp(x^2/2) as norm_cdf_given_exp in _maths.pxd computes them, for
       |x| <= SQRT32 (callers screen larger |x|): the central and the tail rational are
       both evaluated and one selected before the division, so that there is no branch.
       In a book the branch is a coin toss, and its mispredictions cost 15% of the time. */
    static HC_ALWAYS_INLINE double hc_norm_cdf(double x, double half_gauss,
                                               double *tail_scaled) {
        double y = fabs(x), num_c, den_c, num_t, den_t;
        hv_cody_polynomials(x, &num_c, &den_c, &num_t, &den_t);
        int central = y <= 0.67448975;
        double ratio = (central ? x * num_c : num_t) / (central ? den_c : den_t);
        double tail = half_gauss * ratio;
        *tail_scaled = central ? 0.0 : ratio;
        return central ? 0.5 + ratio : (x < 0.0 ? tail : 1.0 - tail);
    }

    static HC_ALWAYS_INLINE int hc_finite(double x) { return fabs(x) <= DBL_MAX; }

    /* The parts option_greeks_from_parts needs, for HC_CHUNK elements, with the same
       expressions as option_greeks (which stays the reference), and a flag `fast` that
       says they are valid: inputs valid (inputs_valid in _maths.pxd), the distribution
       not collapsed, exp and log arguments within the ranges above, |d1|, |d2| within
       Cody's middle range. The driver hands other elements to option_greeks. */
    static HC_ALWAYS_INLINE void hc_prepare_body(
            int spot_model, int fused, const double *HC_RESTRICT underlying,
            const double *HC_RESTRICT strike, const double *HC_RESTRICT tau,
            const double *HC_RESTRICT vol, const double *HC_RESTRICT omega,
            const double *HC_RESTRICT rate, const double *HC_RESTRICT carry,
            hc_parts_t *HC_RESTRICT parts) {
        /* Several short loops rather than one: a single iteration is a dependency chain of
           ~200 cycles (log -> d1 -> exp -> Cody -> division) and ~450 instructions, too
           long for the out-of-order window to overlap two of them; short loops let it
           overlap consecutive iterations. */
        double log_moneyness[HC_CHUNK], forward_over_strike[HC_CHUNK];
        int j;
        for (j = 0; j < HC_CHUNK; j++) {
            double df = hv_exp(-rate[j] * tau[j], fused);
            double carry_df = spot_model ? hv_exp(-carry[j] * tau[j], fused) : df;
            parts->df[j] = df;
            parts->carry_df[j] = carry_df;
            parts->underlying[j] = underlying[j];
            parts->strike[j] = strike[j];
            parts->tau[j] = tau[j];
            parts->vol[j] = vol[j];
            parts->omega[j] = omega[j];
            parts->rate[j] = rate[j];
            parts->carry[j] = spot_model ? carry[j] : 0.0;
        }
        for (j = 0; j < HC_CHUNK; j++) {
            double spot_over_strike = underlying[j] / strike[j];
            double lm = hv_log(spot_over_strike, fused);
            double fos = spot_over_strike;
            if (spot_model) {
                lm = lm + (rate[j] - carry[j]) * tau[j];
                fos = spot_over_strike * (parts->carry_df[j] / parts->df[j]);
            }
            parts->spot_over_strike[j] = spot_over_strike;
            log_moneyness[j] = lm;
            forward_over_strike[j] = fos;
        }
        for (j = 0; j < HC_CHUNK; j++) {
            double sqrt_tau = sqrt(tau[j]);
            double sdt = vol[j] * sqrt_tau;
            double inv_sdt = 1.0 / sdt;
            double d1 = log_moneyness[j] * inv_sdt + 0.5 * sdt;
            double d2 = d1 - sdt;
            parts->sqrt_tau[j] = sqrt_tau;
            parts->inv_sdt[j] = inv_sdt;
            parts->d1[j] = d1;
            parts->d2[j] = d2;
            parts->half_gauss_1[j] = hv_exp(-0.5 * d1 * d1, fused);
            /* Chained selects, not `&` of comparisons, which GCC 12 does not vectorise. */
            double fast = hc_finite(underlying[j]) ? 1.0 : 0.0;
            fast = hc_finite(strike[j]) ? fast : 0.0;
            fast = hc_finite(tau[j]) ? fast : 0.0;
            fast = hc_finite(vol[j]) ? fast : 0.0;
            fast = hc_finite(rate[j]) ? fast : 0.0;
            fast = hc_finite(carry[j]) ? fast : 0.0;
            fast = underlying[j] > 0.0 ? fast : 0.0;
            fast = strike[j] > 0.0 ? fast : 0.0;
            fast = tau[j] >= 0.0 ? fast : 0.0;
            fast = vol[j] >= 0.0 ? fast : 0.0;
            fast = sdt > 1e-300 ? fast : 0.0;
            double near = fabs(d1) <= 5.656854249492380195206754896838 ? 1.0 : 0.5;
            near = fabs(d2) <= 5.656854249492380195206754896838 ? near : 0.5;
            parts->fast[j] = fast * near;
        }
        for (j = 0; j < HC_CHUNK; j++) {
            double fast = parts->fast[j];
            fast = parts->spot_over_strike[j] >= DBL_MIN ? fast : 0.0;
            fast = parts->spot_over_strike[j] <= DBL_MAX ? fast : 0.0;
            fast = parts->df[j] >= DBL_MIN ? fast : 0.0;
            fast = parts->df[j] <= DBL_MAX ? fast : 0.0;
            fast = parts->carry_df[j] >= DBL_MIN ? fast : 0.0;
            fast = parts->carry_df[j] <= DBL_MAX ? fast : 0.0;
            fast = parts->half_gauss_1[j] >= DBL_MIN ? fast : 0.0;
            parts->fast[j] = fast;
            parts->cdf1[j] = hc_norm_cdf(omega[j] * parts->d1[j], parts->half_gauss_1[j],
                                         &parts->tail_scaled_1[j]);
        }
        for (j = 0; j < HC_CHUNK; j++) {
            double half_gauss_2 = parts->half_gauss_1[j] * forward_over_strike[j];
            parts->half_gauss_2[j] = half_gauss_2;
            parts->cdf2[j] = hc_norm_cdf(omega[j] * parts->d2[j], half_gauss_2,
                                         &parts->tail_scaled_2[j]);
        }
    }

    #define HC_PREPARE_ARGS const double *HC_RESTRICT underlying, \\
        const double *HC_RESTRICT strike, const double *HC_RESTRICT tau, \\
        const double *HC_RESTRICT vol, const double *HC_RESTRICT omega, \\
        const double *HC_RESTRICT rate, const double *HC_RESTRICT carry, \\
        hc_parts_t *HC_RESTRICT parts
    #define HC_PREPARE_CALL(spot_model, fused) \\
        hc_prepare_body(spot_model, fused, underlying, strike, tau, vol, omega, rate, carry, parts)

    static void hc_prepare_spot(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1, 0); }
    static void hc_prepare_forward(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0, 0); }

    /* x86-64 baseline is SSE2 (two lanes); a second copy of the pass for AVX2+FMA (four
       lanes) is chosen at run time (HEDGECORE_NO_AVX2=1 in the environment forces the
       baseline, for testing it). Not ifunc/target_clones: musl has no ifunc. Only the
       exp/log polynomials are fused (HV_MADD; 7-10% of the time): fusing the Cody
       rationals too changed N(d) by an ulp here and there, and N(d1) - (K/F) N(d2)
       cancels up to ~10x in a near-the-money price, enough to fail the implied-vol round
       trip at 4 ulp. So the two copies differ only in exp/log (both within 1-2 ulp of
       libm). Other platforms and compilers use the baseline copy only. */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define HC_X86_DISPATCH 1
    __attribute__((target("avx2,fma")))
    static void hc_prepare_spot_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1, 1); }
    __attribute__((target("avx2,fma")))
    static void hc_prepare_forward_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0, 1); }
    #endif

    static int hc_use_avx2 = 0;

    static int hc_init(void) {
    #ifdef HC_X86_DISPATCH
        __builtin_cpu_init();
        hc_use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
            && !getenv("HEDGECORE_NO_AVX2");
    #endif
        return hc_use_avx2;
    }

    static void hc_prepare_full(int spot_model, HC_PREPARE_ARGS) {
    #ifdef HC_X86_DISPATCH
        if (hc_use_avx2) {
            if (spot_model) hc_prepare_spot_avx2(underlying, strike, tau, vol, omega, rate, carry, parts);
            else hc_prepare_forward_avx2(underlying, strike, tau, vol, omega, rate, carry, parts);
            return;
        }
    #endif
        if (spot_model) hc_prepare_spot(underlying, strike, tau, vol, omega, rate, carry, parts);
        else hc_prepare_forward(underlying, strike, tau, vol, omega, rate, carry, parts);
    }

    /* `count` <= HC_CHUNK elements from the given pointers; a short chunk is copied into
       padded buffers so that the pass always runs its full, vectorised length. omega
       (+-1) is made in a loop of its own: GCC does not vectorise byte loads in a loop of
       doubles. */
    static void hc_prepare(int spot_model, const double *underlying, const double *strike,
                           const double *tau, const double *vol,
                           const unsigned char *is_call, const double *rate,
                           const double *carry, Py_ssize_t count, hc_parts_t *parts) {
        double pad[6][HC_CHUNK];
        double omega[HC_CHUNK];
        Py_ssize_t j;
        if (count == HC_CHUNK) {
            for (j = 0; j < HC_CHUNK; j++) omega[j] = is_call[j] ? 1.0 : -1.0;
            hc_prepare_full(spot_model, underlying, strike, tau, vol, omega, rate, carry,
                            parts);
            return;
        }
        for (j = 0; j < HC_CHUNK; j++) {
            int inside = j < count;
            pad[0][j] = inside ? underlying[j] : 1.0;
            pad[1][j] = inside ? strike[j] : 1.0;
            pad[2][j] = inside ? tau[j] : 1.0;
            pad[3][j] = inside ? vol[j] : 1.0;
            pad[4][j] = inside ? rate[j] : 0.0;
            pad[5][j] = inside ? carry[j] : 0.0;
            omega[j] = (inside && !is_call[j]) ? -1.0 : 1.0;
        }
        hc_prepare_full(spot_model, pad[0], pad[1], pad[2], pad[3], omega, pad[4], pad[5],
                        parts);
    }
    """
    enum: HC_CHUNK
    ctypedef struct hc_parts_t:
        double underlying[HC_CHUNK]
        double strike[HC_CHUNK]
        double tau[HC_CHUNK]
        double vol[HC_CHUNK]
        double omega[HC_CHUNK]
        double rate[HC_CHUNK]
        double carry[HC_CHUNK]
        double df[HC_CHUNK]
        double carry_df[HC_CHUNK]
        double spot_over_strike[HC_CHUNK]
        double sqrt_tau[HC_CHUNK]
        double inv_sdt[HC_CHUNK]
        double d1[HC_CHUNK]
        double d2[HC_CHUNK]
        double half_gauss_1[HC_CHUNK]
        double cdf1[HC_CHUNK]
        double cdf2[HC_CHUNK]
        double tail_scaled_1[HC_CHUNK]
        double tail_scaled_2[HC_CHUNK]
        double half_gauss_2[HC_CHUNK]
        double fast[HC_CHUNK]
    int hc_init() noexcept nogil
    void hc_prepare(int spot_model, const double* underlying, const double* strike,
                    const double* tau, const double* vol, const unsigned char* is_call,
                    const double* rate,
                    const double* carry, Py_ssize_t count, hc_parts_t* parts) noexcept nogil


cdef int _uses_avx2 = hc_init()


def vector_isa():
    """Which copy of the vectorised pass runs on this CPU: "avx2" or "baseline"."""
    return "avx2" if _uses_avx2 else "baseline"


cdef inline void store_greeks(double* res, Py_ssize_t j, greeks_t g) noexcept nogil:
    """Element j of a chunk's result buffer: row k of the nine outputs at res[k * HC_CHUNK]."""
    res[j] = g.price
    res[HC_CHUNK + j] = g.delta
    res[2 * HC_CHUNK + j] = g.gamma
    res[3 * HC_CHUNK + j] = g.vega
    res[4 * HC_CHUNK + j] = g.theta
    res[5 * HC_CHUNK + j] = g.rho
    res[6 * HC_CHUNK + j] = g.vanna
    res[7 * HC_CHUNK + j] = g.volga
    res[8 * HC_CHUNK + j] = g.charm


cdef inline void formulas_chunk(int model, const hc_parts_t* parts,
                                double* res) noexcept nogil:
    """All HC_CHUNK elements' Greeks from their parts into res[k * HC_CHUNK + j].

    For elements flagged fast, option_greeks_from_parts is straight-line code, so this
    loop vectorises; the other elements are computed too (harmlessly, IEEE arithmetic
    does not trap) and overwritten by the caller."""
    cdef int j
    cdef greeks_t g
    for j in range(HC_CHUNK):
        g = option_greeks_from_parts(
            model, parts.underlying[j], parts.strike[j], parts.tau[j], parts.vol[j],
            parts.omega[j], parts.rate[j], parts.carry[j], parts.df[j], parts.carry_df[j],
            parts.spot_over_strike[j], parts.sqrt_tau[j], parts.inv_sdt[j], parts.d1[j],
            parts.d2[j], parts.half_gauss_1[j], parts.cdf1[j], parts.cdf2[j],
            parts.tail_scaled_1[j], parts.tail_scaled_2[j])
        store_greeks(res, j, g)


cdef greeks_t far_tail_greeks(int model, hc_parts_t* parts, Py_ssize_t j) noexcept nogil:
    """Element j of a chunk whose parts are valid but |d1| or |d2| > SQRT32: N and its
    tail as option_greeks computes them, from the vectorised exp and log."""
    cdef double omega = parts.omega[j]
    cdef double tail_scaled_1 = 0.0, tail_scaled_2 = 0.0
    cdef double cdf1 = norm_cdf_given_exp(omega * parts.d1[j], parts.half_gauss_1[j],
                                          &tail_scaled_1)
    cdef double cdf2 = norm_cdf_given_exp(omega * parts.d2[j], parts.half_gauss_2[j],
                                          &tail_scaled_2)
    return option_greeks_from_parts(
        model, parts.underlying[j], parts.strike[j], parts.tau[j], parts.vol[j], omega,
        parts.rate[j], parts.carry[j], parts.df[j], parts.carry_df[j],
        parts.spot_over_strike[j], parts.sqrt_tau[j], parts.inv_sdt[j], parts.d1[j],
        parts.d2[j], parts.half_gauss_1[j], cdf1, cdf2, tail_scaled_1, tail_scaled_2)


cdef void greeks_chunk(int model, const double* underlying, const double* strike,
                       const double* tau, const double* vol, const unsigned char* is_call,
                       const double* rate, const double* carry, double* out,
                       Py_ssize_t n, Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    """Elements start .. start+count-1 (count <= HC_CHUNK) into the (9, n) array `out`."""
    cdef hc_parts_t parts
    cdef double res[N_GREEKS * HC_CHUNK]
    cdef Py_ssize_t j, i, k
    cdef greeks_t g
    hc_prepare(model == MODEL_BSM, underlying + start, strike + start, tau + start,
               vol + start, is_call + start, rate + start, carry + start, count, &parts)
    # A constant model per call, so that the compiler drops the model's branches.
    if model == MODEL_BSM:
        formulas_chunk(MODEL_BSM, &parts, res)
    elif model == MODEL_BLACK76:
        formulas_chunk(MODEL_BLACK76, &parts, res)
    else:
        formulas_chunk(MODEL_INVERSE, &parts, res)
    for j in range(count):
        if parts.fast[j] != 1.0:
            i = start + j
            if parts.fast[j] == 0.5:
                # Only N is out of the pass's range (a far tail, common in the wings of a
                # book): the scalar Cody N, the vectorised exp and log.
                g = far_tail_greeks(model, &parts, j)
            else:
                g = option_greeks(model, underlying[i], strike[i], tau[i], vol[i],
                                  is_call[i] != 0, rate[i], carry[i])
            store_greeks(res, j, g)
    for k in range(N_GREEKS):
        memcpy(out + k * n + start, res + k * HC_CHUNK, count * sizeof(double))


def greeks_into(int model,
                const double[::1] underlying,
                const double[::1] strike,
                const double[::1] tau,
                const double[::1] vol,
                const unsigned char[::1] is_call,
                const double[::1] rate,
                const double[::1] carry,
                double[:, ::1] out,
                int n_threads):
    """Write price, delta, gamma, vega, theta, rho, vanna, volga, charm into out[0..8, i]."""
    cdef Py_ssize_t n = underlying.shape[0]
    cdef Py_ssize_t n_chunks, chunk, start
    if not (strike.shape[0] == tau.shape[0] == vol.shape[0] == is_call.shape[0]
            == rate.shape[0] == carry.shape[0] == n):
        raise ValueError("greeks_into: input arrays must have equal lengths")
    if out.shape[0] != N_GREEKS or out.shape[1] != n:
        raise ValueError(f"greeks_into: out must have shape ({N_GREEKS}, {n})")
    if n_threads < 1:
        raise ValueError("greeks_into: n_threads must be >= 1")
    if n == 0:
        return
    n_chunks = (n + HC_CHUNK - 1) // HC_CHUNK
    for chunk in prange(n_chunks, nogil=True, schedule="static", num_threads=n_threads):
        start = chunk * HC_CHUNK
        greeks_chunk(model, &underlying[0], &strike[0], &tau[0], &vol[0], &is_call[0],
                     &rate[0], &carry[0], &out[0, 0], n, start, min(HC_CHUNK, n - start))
