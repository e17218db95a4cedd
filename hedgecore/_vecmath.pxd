# cython: language_level=3
"""Branch-free, table-free exp and log that compilers vectorise (hedgecore/src/hedgecore_vecmath.h),
shared in C by the Greeks pass (hedgecore_greeks.h) and the simulator's lane kernels
(hedgecore_lanes.h), which include the header themselves; this declares them for Cython.

libm's exp and log branch on their argument, so a loop over them stays scalar; these are
straight-line code that GCC turns into SSE2/AVX2/AVX-512 lanes without -ffast-math. Both
are within 2 ulp of libm's. hv_cody_polynomials gives the rationals of Cody's normal
CDF without a branch. `fused` selects fused multiply-adds (a constant once inlined into
the AVX2+FMA copy of a loop); modules that include this are compiled with
-ffp-contract=off so that nothing else is fused.
"""

cdef extern from "hedgecore_vecmath.h":
    double hv_exp(double x, int fused) noexcept nogil
    double hv_log(double x, int fused) noexcept nogil
    void hv_cody_polynomials(double x, double* num_c, double* den_c, double* num_t,
                             double* den_t) noexcept nogil
