# cython: language_level=3
"""Loop drivers for the hedge-band formulas.

Layers, as in _greeks.pyx: the point kernels live in _bands.pxd (nogil, NaN on invalid
input); these drivers take contiguous caller-made arrays in and out and run a static
`prange` over elements (so results never depend on the thread count); hedgecore.bands
validates, broadcasts, allocates and returns.

Each input has either the output's length n or length 1: a scalar argument (a risk
aversion, a cost) is read through a step of 0 instead of being copied n times by the
facade, so a call over a million book states allocates nothing but its output.
"""

from cython.parallel cimport prange

from hedgecore._bands cimport (
    hedge_after_band,
    leland_vol,
    nested,
    nested_t,
    whalley_wilmott_width,
    zakamouline,
    zakamouline_t,
)


cdef inline Py_ssize_t _step(Py_ssize_t length, Py_ssize_t n, str name) except -1:
    """1 for an input of the output's length, 0 for a length-1 input read at every i."""
    if length == n:
        return 1
    if length == 1:
        return 0
    raise ValueError(f"{name}: inputs must have length {n} or 1, got {length}")


cdef inline void _check_threads(int n_threads, str name) except *:
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1")


def whalley_wilmott_into(const double[::1] gamma,
                         const double[::1] spot,
                         const double[::1] cost,
                         const double[::1] risk_aversion,
                         const double[::1] rate,
                         const double[::1] tau,
                         double[::1] out,
                         int n_threads):
    """out[i] = Whalley-Wilmott half width."""
    cdef str name = "whalley_wilmott_into"
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t i
    cdef Py_ssize_t s_gamma = _step(gamma.shape[0], n, name), s_spot = _step(spot.shape[0], n, name)
    cdef Py_ssize_t s_cost = _step(cost.shape[0], n, name)
    cdef Py_ssize_t s_aversion = _step(risk_aversion.shape[0], n, name)
    cdef Py_ssize_t s_rate = _step(rate.shape[0], n, name), s_tau = _step(tau.shape[0], n, name)
    _check_threads(n_threads, name)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = whalley_wilmott_width(gamma[i * s_gamma], spot[i * s_spot], cost[i * s_cost],
                                       risk_aversion[i * s_aversion], rate[i * s_rate],
                                       tau[i * s_tau])


def zakamouline_into(const double[::1] gamma,
                     const double[::1] spot,
                     const double[::1] vol,
                     const double[::1] tau,
                     const double[::1] cost,
                     const double[::1] risk_aversion,
                     const double[::1] rate,
                     double[::1] half_width,
                     double[::1] modified_vol,
                     int n_threads):
    """half_width[i], modified_vol[i] = Zakamouline band."""
    cdef str name = "zakamouline_into"
    cdef Py_ssize_t n = half_width.shape[0]
    cdef Py_ssize_t i
    cdef zakamouline_t band
    cdef Py_ssize_t s_gamma = _step(gamma.shape[0], n, name), s_spot = _step(spot.shape[0], n, name)
    cdef Py_ssize_t s_vol = _step(vol.shape[0], n, name), s_tau = _step(tau.shape[0], n, name)
    cdef Py_ssize_t s_cost = _step(cost.shape[0], n, name)
    cdef Py_ssize_t s_aversion = _step(risk_aversion.shape[0], n, name)
    cdef Py_ssize_t s_rate = _step(rate.shape[0], n, name)
    if modified_vol.shape[0] != n:
        raise ValueError(f"{name}: half_width and modified_vol must have equal lengths")
    _check_threads(n_threads, name)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        band = zakamouline(gamma[i * s_gamma], spot[i * s_spot], vol[i * s_vol], tau[i * s_tau],
                           cost[i * s_cost], risk_aversion[i * s_aversion], rate[i * s_rate])
        half_width[i] = band.half_width
        modified_vol[i] = band.modified_vol


def leland_into(const double[::1] vol,
                const double[::1] cost,
                const double[::1] dt,
                const unsigned char[::1] is_short,
                double[::1] out,
                int n_threads):
    """out[i] = Leland volatility."""
    cdef str name = "leland_into"
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t i
    cdef Py_ssize_t s_vol = _step(vol.shape[0], n, name), s_cost = _step(cost.shape[0], n, name)
    cdef Py_ssize_t s_dt = _step(dt.shape[0], n, name), s_short = _step(is_short.shape[0], n, name)
    _check_threads(n_threads, name)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = leland_vol(vol[i * s_vol], cost[i * s_cost], dt[i * s_dt], is_short[i * s_short] != 0)


def nested_into(const double[::1] gamma,
                const double[::1] spot,
                const double[::1] cost,
                const double[::1] fixed_cost,
                const double[::1] risk_aversion,
                double[::1] outer,
                double[::1] inner,
                int n_threads):
    """outer[i], inner[i] = nested band minimising the quasi-stationary loss."""
    cdef str name = "nested_into"
    cdef Py_ssize_t n = outer.shape[0]
    cdef Py_ssize_t i
    cdef nested_t band
    cdef Py_ssize_t s_gamma = _step(gamma.shape[0], n, name), s_spot = _step(spot.shape[0], n, name)
    cdef Py_ssize_t s_cost = _step(cost.shape[0], n, name)
    cdef Py_ssize_t s_fixed = _step(fixed_cost.shape[0], n, name)
    cdef Py_ssize_t s_aversion = _step(risk_aversion.shape[0], n, name)
    if inner.shape[0] != n:
        raise ValueError(f"{name}: outer and inner must have equal lengths")
    _check_threads(n_threads, name)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        band = nested(gamma[i * s_gamma], spot[i * s_spot], cost[i * s_cost],
                      fixed_cost[i * s_fixed], risk_aversion[i * s_aversion])
        outer[i] = band.outer
        inner[i] = band.inner


def hedge_after_band_into(const double[::1] hedge,
                          const double[::1] target,
                          const double[::1] outer,
                          const double[::1] inner,
                          double[::1] out,
                          int n_threads):
    """out[i] = the hedge after applying the band (outer triggers, inner is returned to)."""
    cdef str name = "hedge_after_band_into"
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t i
    cdef Py_ssize_t s_hedge = _step(hedge.shape[0], n, name)
    cdef Py_ssize_t s_target = _step(target.shape[0], n, name)
    cdef Py_ssize_t s_outer = _step(outer.shape[0], n, name)
    cdef Py_ssize_t s_inner = _step(inner.shape[0], n, name)
    _check_threads(n_threads, name)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = hedge_after_band(hedge[i * s_hedge], target[i * s_target], outer[i * s_outer],
                                  inner[i * s_inner])
