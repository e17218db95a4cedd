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
pass (C, in hedgecore/src/hedgecore_greeks.h) that the compiler vectorises (SSE2/NEON on any build, AVX2+FMA when
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
from hedgecore._maths cimport (
    greeks_t, option_greeks, option_greeks_from_parts, norm_cdf_given_exp, N_GREEKS,
    MODEL_BSM, MODEL_BLACK76, MODEL_INVERSE,
)

cdef extern from "hedgecore_greeks.h":
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
