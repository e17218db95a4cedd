# cython: language_level=3
"""Loop drivers for the hedge-band formulas.

Layers, as in _greeks.pyx: the point kernels live in _bands.pxd (nogil, NaN on invalid
input); these drivers take contiguous caller-made arrays in and out and run a static
`prange` over elements (so results never depend on the thread count); hedgecore.bands
validates, broadcasts, allocates and returns.
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


cdef inline void _check(Py_ssize_t n, Py_ssize_t length, str name, int n_threads) except *:
    if length != n:
        raise ValueError(f"{name}: arrays must have equal lengths ({length} != {n})")
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
    cdef Py_ssize_t n = gamma.shape[0]
    cdef Py_ssize_t i
    for length in (spot.shape[0], cost.shape[0], risk_aversion.shape[0], rate.shape[0],
                   tau.shape[0], out.shape[0]):
        _check(n, length, "whalley_wilmott_into", n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = whalley_wilmott_width(gamma[i], spot[i], cost[i], risk_aversion[i],
                                       rate[i], tau[i])


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
    cdef Py_ssize_t n = gamma.shape[0]
    cdef Py_ssize_t i
    cdef zakamouline_t band
    for length in (spot.shape[0], vol.shape[0], tau.shape[0], cost.shape[0],
                   risk_aversion.shape[0], rate.shape[0], half_width.shape[0],
                   modified_vol.shape[0]):
        _check(n, length, "zakamouline_into", n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        band = zakamouline(gamma[i], spot[i], vol[i], tau[i], cost[i], risk_aversion[i],
                           rate[i])
        half_width[i] = band.half_width
        modified_vol[i] = band.modified_vol


def leland_into(const double[::1] vol,
                const double[::1] cost,
                const double[::1] dt,
                const unsigned char[::1] is_short,
                double[::1] out,
                int n_threads):
    """out[i] = Leland volatility."""
    cdef Py_ssize_t n = vol.shape[0]
    cdef Py_ssize_t i
    for length in (cost.shape[0], dt.shape[0], is_short.shape[0], out.shape[0]):
        _check(n, length, "leland_into", n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = leland_vol(vol[i], cost[i], dt[i], is_short[i] != 0)


def nested_into(const double[::1] gamma,
                const double[::1] spot,
                const double[::1] cost,
                const double[::1] fixed_cost,
                const double[::1] risk_aversion,
                double[::1] outer,
                double[::1] inner,
                int n_threads):
    """outer[i], inner[i] = nested band minimising the quasi-stationary loss."""
    cdef Py_ssize_t n = gamma.shape[0]
    cdef Py_ssize_t i
    cdef nested_t band
    for length in (spot.shape[0], cost.shape[0], fixed_cost.shape[0],
                   risk_aversion.shape[0], outer.shape[0], inner.shape[0]):
        _check(n, length, "nested_into", n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        band = nested(gamma[i], spot[i], cost[i], fixed_cost[i], risk_aversion[i])
        outer[i] = band.outer
        inner[i] = band.inner


def hedge_after_band_into(const double[::1] hedge,
                          const double[::1] target,
                          const double[::1] outer,
                          const double[::1] inner,
                          double[::1] out,
                          int n_threads):
    """out[i] = the hedge after applying the band (outer triggers, inner is returned to)."""
    cdef Py_ssize_t n = hedge.shape[0]
    cdef Py_ssize_t i
    for length in (target.shape[0], outer.shape[0], inner.shape[0], out.shape[0]):
        _check(n, length, "hedge_after_band_into", n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        out[i] = hedge_after_band(hedge[i], target[i], outer[i], inner[i])
