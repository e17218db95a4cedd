# cython: language_level=3
"""Loop driver for the Greeks of European options.

The compiled core has three layers:
1. point kernels (`option_greeks` in _maths.pxd): doubles in, a greeks_t out, nogil,
   never failing (invalid inputs give NaN);
2. loop drivers (this module): contiguous caller-made arrays in and out, a `prange` over
   fixed chunks of elements with a static schedule, so a result never depends on the
   thread count;
3. the Python facade (hedgecore.pricing): validates, broadcasts, allocates, returns.

Why chunks: exp, log, sqrt and the divisions that feed them are about half the work of a
Greek, and libm computes them one at a time. A chunk of HC_CHUNK options first goes
through a branch-free pass (below, in C) that the compiler vectorises (SSE2/NEON on any
build, AVX2+FMA when the CPU has it, chosen once at import), then through the scalar
formulas of `option_greeks_from_parts`, the same code `option_greeks` ends in. Chunk
boundaries are multiples of HC_CHUNK whatever the thread count, and a short last chunk is
padded to full length, so every element goes through the same instructions on 1 or N
threads.
"""

from cython.parallel cimport prange
from libc.float cimport DBL_MIN, DBL_MAX

from hedgecore._maths cimport (
    greeks_t, option_greeks, option_greeks_from_parts, inputs_valid, N_GREEKS, MODEL_BSM,
)

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>

    #define HC_CHUNK 128

    #if defined(_MSC_VER)
    #define HC_RESTRICT __restrict
    #else
    #define HC_RESTRICT restrict
    #endif

    typedef struct {
        double df[HC_CHUNK];
        double carry_df[HC_CHUNK];
        double spot_over_strike[HC_CHUNK];
        double log_moneyness[HC_CHUNK];
        double forward_over_strike[HC_CHUNK];
        double sqrt_tau[HC_CHUNK];
        double sdt[HC_CHUNK];
        double inv_sdt[HC_CHUNK];
        double d1[HC_CHUNK];
        double half_gauss_1[HC_CHUNK];
    } hc_parts_t;

    static inline uint64_t hc_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
    static inline double hc_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

    /* exp(x), within 2 ulp of libm's for -708 <= x <= 709 (results in the normal range);
       0 below, +inf above, NaN for NaN. Branch-free and table-free so that a loop over it
       vectorises: x = k ln2 + r with ln2 split in two (k ln2_hi exact), then Taylor to
       degree 13 on |r| <= ln2/2 (next term < 5e-18), scaled by 2^k built in the exponent
       bits. The round-to-integer uses the 1.5*2^52 shift, not a float-to-int conversion,
       which SSE2/AVX2 lack for 64-bit lanes. */
    static inline double hc_exp(double x) {
        const double shift = 6755399441055744.0;
        double xc = x < -708.0 ? -708.0 : x;
        xc = xc > 709.0 ? 709.0 : xc;
        double t = xc * 1.4426950408889634 + shift;
        double kd = t - shift;
        double r = (xc - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
        double p = 1.6059043836821613e-10;
        p = p * r + 2.08767569878681e-09;
        p = p * r + 2.505210838544172e-08;
        p = p * r + 2.755731922398589e-07;
        p = p * r + 2.7557319223985893e-06;
        p = p * r + 2.48015873015873e-05;
        p = p * r + 0.0001984126984126984;
        p = p * r + 0.001388888888888889;
        p = p * r + 0.008333333333333333;
        p = p * r + 0.041666666666666664;
        p = p * r + 0.16666666666666666;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        double y = p * hc_from_bits((hc_bits(t) << 52) + 0x3ff0000000000000ULL);
        y = x < -708.0 ? 0.0 : y;
        return x > 709.0 ? HUGE_VAL : y;
    }

    /* log(x) for normal positive x (anything else gives garbage, which the caller
       screens): x = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
       s = (m-1)/(m+1), |s| <= 0.1716, series to s^21 (next term < 1e-18). The exponent is
       turned into a double through the 2^52 bit trick for the same reason as in hc_exp. */
    static inline double hc_log(double x) {
        uint64_t u = hc_bits(x);
        double m = hc_from_bits((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
        double upper = m > 1.4142135623730951 ? 1.0 : 0.0;
        m = m > 1.4142135623730951 ? 0.5 * m : m;
        double kd = (hc_from_bits((u >> 52) | 0x4330000000000000ULL) - 4503599627370496.0) - 1023.0
                    + upper;
        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s;
        double p = 0.047619047619047616;
        p = p * z + 0.05263157894736842;
        p = p * z + 0.058823529411764705;
        p = p * z + 0.06666666666666667;
        p = p * z + 0.07692307692307693;
        p = p * z + 0.09090909090909091;
        p = p * z + 0.1111111111111111;
        p = p * z + 0.14285714285714285;
        p = p * z + 0.2;
        p = p * z + 0.3333333333333333;
        double two_s = 2.0 * s;
        return kd * 6.93147180369123816490e-01
               + (two_s + two_s * z * p + kd * 1.90821492927058770002e-10);
    }

    /* The parts option_greeks_from_parts needs, for HC_CHUNK elements, with the same
       expressions as option_greeks (which stays the reference). Elements whose parts fall
       outside the ranges above are recomputed by option_greeks (see the driver). */
    #if defined(__GNUC__)
    #define HC_ALWAYS_INLINE __attribute__((always_inline)) inline
    #else
    #define HC_ALWAYS_INLINE inline
    #endif
    static HC_ALWAYS_INLINE void hc_prepare_body(
            int spot_model, const double *HC_RESTRICT underlying, const double *HC_RESTRICT strike,
            const double *HC_RESTRICT tau, const double *HC_RESTRICT vol,
            const double *HC_RESTRICT rate, const double *HC_RESTRICT carry,
            hc_parts_t *HC_RESTRICT parts) {
        for (int j = 0; j < HC_CHUNK; j++) {
            double df = hc_exp(-rate[j] * tau[j]);
            double spot_over_strike = underlying[j] / strike[j];
            double log_moneyness = hc_log(spot_over_strike);
            double carry_df = df, forward_over_strike = spot_over_strike;
            if (spot_model) {
                carry_df = hc_exp(-carry[j] * tau[j]);
                log_moneyness = log_moneyness + (rate[j] - carry[j]) * tau[j];
                forward_over_strike = spot_over_strike * (carry_df / df);
            }
            double sqrt_tau = sqrt(tau[j]);
            double sdt = vol[j] * sqrt_tau;
            double inv_sdt = 1.0 / sdt;
            double d1 = log_moneyness * inv_sdt + 0.5 * sdt;
            parts->df[j] = df;
            parts->carry_df[j] = carry_df;
            parts->spot_over_strike[j] = spot_over_strike;
            parts->log_moneyness[j] = log_moneyness;
            parts->forward_over_strike[j] = forward_over_strike;
            parts->sqrt_tau[j] = sqrt_tau;
            parts->sdt[j] = sdt;
            parts->inv_sdt[j] = inv_sdt;
            parts->d1[j] = d1;
            parts->half_gauss_1[j] = hc_exp(-0.5 * d1 * d1);
        }
    }

    #define HC_PREPARE_ARGS const double *HC_RESTRICT underlying, \\
        const double *HC_RESTRICT strike, const double *HC_RESTRICT tau, \\
        const double *HC_RESTRICT vol, const double *HC_RESTRICT rate, \\
        const double *HC_RESTRICT carry, hc_parts_t *HC_RESTRICT parts
    #define HC_PREPARE_CALL(spot_model) \\
        hc_prepare_body(spot_model, underlying, strike, tau, vol, rate, carry, parts)

    static void hc_prepare_spot(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1); }
    static void hc_prepare_forward(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0); }

    /* x86-64 baseline is SSE2 (two lanes); a second copy of the pass for AVX2+FMA (four
       lanes, fused multiply-adds) is chosen at run time. Not ifunc/target_clones: musl
       has no ifunc. Other platforms and compilers use the baseline copy only. */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define HC_X86_DISPATCH 1
    __attribute__((target("avx2,fma")))
    static void hc_prepare_spot_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1); }
    __attribute__((target("avx2,fma")))
    static void hc_prepare_forward_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0); }
    #endif

    static int hc_use_avx2 = 0;

    static int hc_init(void) {
    #ifdef HC_X86_DISPATCH
        __builtin_cpu_init();
        hc_use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #endif
        return hc_use_avx2;
    }

    static void hc_prepare_full(int spot_model, HC_PREPARE_ARGS) {
    #ifdef HC_X86_DISPATCH
        if (hc_use_avx2) {
            if (spot_model) hc_prepare_spot_avx2(underlying, strike, tau, vol, rate, carry, parts);
            else hc_prepare_forward_avx2(underlying, strike, tau, vol, rate, carry, parts);
            return;
        }
    #endif
        if (spot_model) hc_prepare_spot(underlying, strike, tau, vol, rate, carry, parts);
        else hc_prepare_forward(underlying, strike, tau, vol, rate, carry, parts);
    }

    /* `count` <= HC_CHUNK elements from the given pointers; a short chunk is copied into
       padded buffers so that the pass always runs its full, vectorised length. */
    static void hc_prepare(int spot_model, const double *underlying, const double *strike,
                           const double *tau, const double *vol, const double *rate,
                           const double *carry, Py_ssize_t count, hc_parts_t *parts) {
        double pad[6][HC_CHUNK];
        Py_ssize_t j;
        if (count == HC_CHUNK) {
            hc_prepare_full(spot_model, underlying, strike, tau, vol, rate, carry, parts);
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
        }
        hc_prepare_full(spot_model, pad[0], pad[1], pad[2], pad[3], pad[4], pad[5], parts);
    }
    """
    enum: HC_CHUNK
    ctypedef struct hc_parts_t:
        double df[HC_CHUNK]
        double carry_df[HC_CHUNK]
        double spot_over_strike[HC_CHUNK]
        double log_moneyness[HC_CHUNK]
        double forward_over_strike[HC_CHUNK]
        double sqrt_tau[HC_CHUNK]
        double sdt[HC_CHUNK]
        double inv_sdt[HC_CHUNK]
        double d1[HC_CHUNK]
        double half_gauss_1[HC_CHUNK]
    int hc_init() noexcept nogil
    void hc_prepare(int spot_model, const double* underlying, const double* strike,
                    const double* tau, const double* vol, const double* rate,
                    const double* carry, Py_ssize_t count, hc_parts_t* parts) noexcept nogil


cdef int _uses_avx2 = hc_init()


def vector_isa():
    """Which copy of the vectorised pass runs on this CPU: "avx2" or "baseline"."""
    return "avx2" if _uses_avx2 else "baseline"


cdef inline bint parts_in_range(const hc_parts_t* parts, Py_ssize_t j) noexcept nogil:
    """Whether the vectorised parts of element j are within the ranges where they match
    libm (hc_exp, hc_log above); elsewhere, and for invalid inputs, option_greeks
    recomputes the element. The comparisons are false for NaN. In a realistic book every
    element passes, so the branch costs nothing."""
    return (DBL_MIN <= parts.spot_over_strike[j] <= DBL_MAX
            and DBL_MIN <= parts.df[j] <= DBL_MAX
            and DBL_MIN <= parts.carry_df[j] <= DBL_MAX
            and parts.half_gauss_1[j] >= DBL_MIN)


cdef void greeks_chunk(int model, const double* underlying, const double* strike,
                       const double* tau, const double* vol, const unsigned char* is_call,
                       const double* rate, const double* carry, double* out,
                       Py_ssize_t n, Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    """Elements start .. start+count-1 (count <= HC_CHUNK) into the (9, n) array `out`."""
    cdef hc_parts_t parts
    cdef Py_ssize_t j, i
    cdef greeks_t g
    cdef bint spot_model = model == MODEL_BSM
    cdef double carry_i
    hc_prepare(spot_model, underlying + start, strike + start, tau + start, vol + start,
               rate + start, carry + start, count, &parts)
    for j in range(count):
        i = start + j
        carry_i = carry[i] if spot_model else 0.0
        if (inputs_valid(underlying[i], strike[i], tau[i], vol[i], rate[i], carry[i])
                and parts_in_range(&parts, j)):
            g = option_greeks_from_parts(
                model, underlying[i], strike[i], tau[i], vol[i], is_call[i] != 0, rate[i],
                carry_i, parts.df[j], parts.carry_df[j], parts.spot_over_strike[j],
                parts.log_moneyness[j], parts.forward_over_strike[j], parts.sqrt_tau[j],
                parts.sdt[j], parts.inv_sdt[j], parts.d1[j], parts.half_gauss_1[j])
        else:
            g = option_greeks(model, underlying[i], strike[i], tau[i], vol[i],
                              is_call[i] != 0, rate[i], carry[i])
        out[i] = g.price
        out[n + i] = g.delta
        out[2 * n + i] = g.gamma
        out[3 * n + i] = g.vega
        out[4 * n + i] = g.theta
        out[5 * n + i] = g.rho
        out[6 * n + i] = g.vanna
        out[7 * n + i] = g.volga
        out[8 * n + i] = g.charm


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
