# cython: language_level=3
"""Loop driver for the Greeks of European options.

The compiled core has three layers:
1. point kernels (`option_greeks` in _maths.pxd): doubles in, a greeks_t out, nogil,
   never failing (invalid inputs give NaN);
2. loop drivers (this module): contiguous caller-made arrays in and out, a `prange` over
   elements with a static schedule, so a result never depends on the thread count;
3. the Python facade (hedgecore.pricing): validates, broadcasts, allocates, returns.
"""

from cython.parallel cimport prange

from hedgecore._maths cimport greeks_t, option_greeks, N_GREEKS


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
    cdef Py_ssize_t i
    cdef greeks_t g
    if not (strike.shape[0] == tau.shape[0] == vol.shape[0] == is_call.shape[0]
            == rate.shape[0] == carry.shape[0] == n):
        raise ValueError("greeks_into: input arrays must have equal lengths")
    if out.shape[0] != N_GREEKS or out.shape[1] != n:
        raise ValueError(f"greeks_into: out must have shape ({N_GREEKS}, {n})")
    if n_threads < 1:
        raise ValueError("greeks_into: n_threads must be >= 1")
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        g = option_greeks(model, underlying[i], strike[i], tau[i], vol[i], is_call[i] != 0,
                          rate[i], carry[i])
        out[0, i] = g.price
        out[1, i] = g.delta
        out[2, i] = g.gamma
        out[3, i] = g.vega
        out[4, i] = g.theta
        out[5, i] = g.rho
        out[6, i] = g.vanna
        out[7, i] = g.volga
        out[8, i] = g.charm
