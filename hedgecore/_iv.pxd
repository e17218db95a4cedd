# cython: language_level=3
"""Point kernels of hedgecore's implied volatility solver, defined in _iv.pyx.

Any compiled module may cimport these (the functions are exported through the module's
C API, so the caller must import hedgecore._iv at runtime, which cimport arranges).
All of them are nogil and never fail: a price that has no implied volatility gives NaN and
a status code (IV_*), which the Python facade hedgecore.implied turns into meaning.
The codes must match hedgecore.implied.IVStatus.
"""

cdef enum:
    IV_OK = 0
    IV_BELOW_INTRINSIC = 1
    IV_ABOVE_UPPER_BOUND = 2
    IV_EXPIRED = 3
    IV_INVALID_INPUT = 4
    IV_PRICE_UNDERFLOW = 5
    IV_NOT_CONVERGED = 6


cdef struct iv_result_t:
    double vol           # per 1.00 (0.6 for 60%), NaN unless status == IV_OK
    signed char status   # one of the IV_* codes


# Normalised Black price b(x, s) = theta (e^{x/2} N(theta(x/s + s/2)) - e^{-x/2} N(theta(x/s - s/2)))
# with x = ln(F/K), s = sigma sqrt(tau), theta = +1 call / -1 put: the undiscounted Black price
# divided by sqrt(F K).
cdef double normalised_black(double x, double s, double theta) noexcept nogil

# Implied volatility of one European option priced by `model` (MODEL_* of _maths.pxd):
# `price` in the quote currency (coin for MODEL_INVERSE), `underlying` the spot for
# MODEL_BSM and the forward otherwise, `carry` used by MODEL_BSM only.
cdef iv_result_t implied_vol_point(int model, double price, double underlying, double strike,
                                   double tau, bint is_call, double rate, double carry
                                   ) noexcept nogil
