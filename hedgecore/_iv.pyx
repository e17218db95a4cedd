# cython: language_level=3
"""Implied volatility of European options: Peter Jaeckel's "Let's Be Rational".

The compiled core has three layers:
1. point kernels (this module, declared in _iv.pxd): the normalised Black function and its
   inverse, then `implied_vol_point`, which maps one option of any model onto them;
   doubles in, a (vol, status) struct out, nogil, never failing: a price without an
   implied volatility gives NaN and an IV_* status code;
2. the loop driver `implied_vol_into`: contiguous caller-made arrays in and out, a `prange`
   over elements with a static schedule, so a result never depends on the thread count;
3. the Python facade (hedgecore.implied): validates, broadcasts, allocates, decodes status.

The solver is a port of Jaeckel's reference implementation (LetsBeRational, 2013-2014,
published as "Let's Be Rational", Wilmott Magazine, January 2015, pp. 40-53): a rational
cubic initial guess on four branches of the normalised Black function, each branch with a
transformed objective, then two Householder(3) steps, which reach machine precision.
The pure-Python port in the `lets_be_rational` package (vollib) served as the readable
reference; two of its slips are not carried over (its upper-branch loop resets the
direction-reversal count and the step on every pass instead of only when it bisects, and
a chained comparison there tests only the lower half of the finiteness check of the upper
map's second derivative).

Numerical building blocks: N(x) via libm's erfc (through _maths.norm_cdf; glibc's erfc
was within 3 ulps of mpmath on [-6, 27] when this was written, and
tests/test_implied_vol.py checks the normalised Black function built on it against
mpmath), Cody's erfcx (not in libm; it avoids the
exponential in the tails of the normalised Black function) and the AS241 inverse normal
for the lower map.

Copyright notice of the ported algorithm, preserved as its licence asks:
======================================================================================
Copyright (c) 2013-2014 Peter Jaeckel.

Permission to use, copy, modify, and distribute this software is freely granted,
provided that this notice is preserved.

WARRANTY DISCLAIMER
The Software is provided "as is" without warranty of any kind, either express or implied,
including without limitation any implied warranties of condition, uninterrupted use,
merchantability, fitness for a particular purpose, or non-infringement.
======================================================================================
"""

from cython.parallel cimport prange
from libc.math cimport exp, log, sqrt, fabs, pow, trunc, isfinite, NAN, INFINITY
from libc.float cimport DBL_EPSILON, DBL_MIN, DBL_MAX

from hedgecore._maths cimport (
    norm_cdf, norm_pdf, MODEL_BSM, MODEL_INVERSE, INV_SQRT_2PI, SQRT1_2,
)

cdef extern from "hedgecore_constants.h":
    const double SQRT_TWO_PI "HEDGECORE_SQRT_TWO_PI"
    const double TWO_PI "HEDGECORE_TWO_PI"
    const double SQRT_PI_OVER_TWO "HEDGECORE_SQRT_PI_OVER_TWO"
    const double SQRT_THREE "HEDGECORE_SQRT_THREE"
    const double SQRT_ONE_OVER_THREE "HEDGECORE_SQRT_ONE_OVER_THREE"
    const double TWO_PI_OVER_SQRT_TWENTY_SEVEN "HEDGECORE_TWO_PI_OVER_SQRT_TWENTY_SEVEN"
    const double PI_OVER_SIX "HEDGECORE_PI_OVER_SIX"
    const double ONE_OVER_SQRT_PI "HEDGECORE_ONE_OVER_SQRT_PI"

# Jaeckel's thresholds, all powers of the double epsilon 2^-52 (C constants so that the
# compiler folds them into the hot loops):
# - FOURTH_ROOT_DBL_EPSILON 2^-13: below 98 of it, x^2 selects the series of 2 sinh(x/2);
# - region 1 of b(x, s): h = x/s below -10 uses the asymptotic expansion;
# - region 2 of b(x, s): t = s/2 below 2 eps^(1/16) (about 0.21) the small-t expansion;
# - the rational cubic's control parameter lives in [-(1 - sqrt(eps)), 2/eps^2], just
#   above its pole at -1 and up to "linear".
cdef extern from "hedgecore_constants.h":
    const double FOURTH_ROOT_DBL_EPSILON "HEDGECORE_FOURTH_ROOT_DBL_EPSILON"
    const double ASYMPTOTIC_EXPANSION_THRESHOLD "HEDGECORE_ASYMPTOTIC_EXPANSION_THRESHOLD"
    const double SMALL_T_EXPANSION_THRESHOLD "HEDGECORE_SMALL_T_EXPANSION_THRESHOLD"
    const double SQRT_DBL_MIN "HEDGECORE_SQRT_DBL_MIN"
    const double SQRT_DBL_MAX "HEDGECORE_SQRT_DBL_MAX"
    const double MIN_RATIONAL_CUBIC_CONTROL "HEDGECORE_MIN_RATIONAL_CUBIC_CONTROL"
    const double MAX_RATIONAL_CUBIC_CONTROL "HEDGECORE_MAX_RATIONAL_CUBIC_CONTROL"

cdef enum:
    # Two Householder(3) steps after the rational guess reach machine precision (Jaeckel 2015).
    HOUSEHOLDER_ITERATIONS = 2

# Prices within rounding of a no-arbitrage bound. The pricing formula subtracts terms of
# size max(F, K), so a price is only known to a few epsilons of that (hedgecore.greeks
# stays within 2.3, discounting adds 1 or 2): an in-the-money price within this many
# epsilons of max(F, K) of intrinsic is intrinsic (vol 0, status OK), and a price within
# this many epsilons (relative) of the upper bound is at the bound (ABOVE_UPPER_BOUND).
cdef extern from "hedgecore_constants.h":
    const double BOUND_ROUNDING_EPSILONS "HEDGECORE_BOUND_ROUNDING_EPSILONS"


# ---------------------------------------------------------------------------------------
# Special functions
# ---------------------------------------------------------------------------------------

cdef inline double _erfcx_cody(double x) noexcept nogil:
    """erfcx(x) = exp(x^2) erfc(x): W. J. Cody, "Rational Chebyshev approximations for the
    error function", Math. Comp. 1969, pp. 631-638 (CALERF with JINT = 2)."""
    cdef double y = fabs(x)
    cdef double ysq, xnum, xden, result, ysq_trunc, delta
    if y <= 0.46875:
        ysq = y * y if y > 1.11e-16 else 0.0
        xnum = 0.185777706184603153 * ysq
        xden = ysq
        xnum = (xnum + 3.1611237438705656) * ysq
        xden = (xden + 23.6012909523441209) * ysq
        xnum = (xnum + 113.864154151050156) * ysq
        xden = (xden + 244.024637934444173) * ysq
        xnum = (xnum + 377.485237685302021) * ysq
        xden = (xden + 1282.61652607737228) * ysq
        result = x * (xnum + 3209.37758913846947) / (xden + 2844.23683343917062)
        return (1.0 - result) * exp(ysq)
    if y <= 4.0:
        xnum = 2.15311535474403846e-8 * y
        xden = y
        xnum = (xnum + 0.564188496988670089) * y
        xden = (xden + 15.7449261107098347) * y
        xnum = (xnum + 8.88314979438837594) * y
        xden = (xden + 117.693950891312499) * y
        xnum = (xnum + 66.1191906371416295) * y
        xden = (xden + 537.181101862009858) * y
        xnum = (xnum + 298.635138197400131) * y
        xden = (xden + 1621.38957456669019) * y
        xnum = (xnum + 881.95222124176909) * y
        xden = (xden + 3290.79923573345963) * y
        xnum = (xnum + 1712.04761263407058) * y
        xden = (xden + 4362.61909014324716) * y
        xnum = (xnum + 2051.07837782607147) * y
        xden = (xden + 3439.36767414372164) * y
        result = (xnum + 1230.33935479799725) / (xden + 1230.33935480374942)
    elif y >= 6.71e7:
        # erfcx(y) ~ 1/(y sqrt(pi)) far out (and underflows to 0 beyond 2.53e307).
        result = ONE_OVER_SQRT_PI / y if y < 2.53e307 else 0.0
    else:
        ysq = 1.0 / (y * y)
        xnum = 0.0163153871373020978 * ysq
        xden = ysq
        xnum = (xnum + 0.305326634961232344) * ysq
        xden = (xden + 2.56852019228982242) * ysq
        xnum = (xnum + 0.360344899949804439) * ysq
        xden = (xden + 1.87295284992346047) * ysq
        xnum = (xnum + 0.125781726111229246) * ysq
        xden = (xden + 0.527905102951428412) * ysq
        xnum = (xnum + 0.0160837851487422766) * ysq
        xden = (xden + 0.0605183413124413191) * ysq
        result = ysq * (xnum + 6.58749161529837803e-4) / (xden + 0.00233520497626869185)
        result = (ONE_OVER_SQRT_PI - result) / y
    if x < 0.0:
        # erfcx(-y) = 2 exp(y^2) - erfcx(y); exp(y^2) split as Cody does to keep precision.
        if x < -26.628:
            return DBL_MAX
        ysq_trunc = trunc(x * 16.0) / 16.0
        delta = (x - ysq_trunc) * (x + ysq_trunc)
        y = exp(ysq_trunc * ysq_trunc) * exp(delta)
        result = y + y - result
    return result


cdef inline double _inverse_norm_cdf(double u) noexcept nogil:
    """Phi^{-1}(u): algorithm AS241 (Wichura, Appl. Statist. 1988, 37(3)), about 1e-16."""
    cdef double q, r, value
    if u <= 0.0:
        return log(u)
    if u >= 1.0:
        return log(1.0 - u)
    q = u - 0.5
    if fabs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
                         + 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r
                       + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r
                     + 1.3314166789178437745e+2) * r + 3.3871328727963666080e0) / (
            ((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
                 + 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r
               + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r
             + 4.2313330701600911252e+1) * r + 1.0)
    r = u if q < 0.0 else 1.0 - u
    r = sqrt(-log(r))
    if r < 5.0:
        r -= 1.6
        value = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
                      + 2.41780725177450611770e-1) * r + 1.27045825245236838258e0) * r
                    + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
                  + 4.63033784615654529590e0) * r + 1.42343711074968357734e0) / (
            (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
                  + 1.51986665636164571966e-2) * r + 1.48103976427480074590e-1) * r
                + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
              + 2.05319162663775882187e0) * r + 1.0))
    else:
        r -= 5.0
        value = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                      + 1.24266094738807843860e-3) * r + 2.65321895265761230930e-2) * r
                    + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
                  + 5.46378491116411436990e0) * r + 6.65790464350110377720e0) / (
            (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
                  + 1.84631831751005468180e-5) * r + 7.86869131145613259100e-4) * r
                + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
              + 5.99832206555887937690e-1) * r + 1.0))
    return -value if q < 0.0 else value


# ---------------------------------------------------------------------------------------
# Rational cubic interpolation (Delbourgo & Gregory 1985), as Jaeckel uses it
# ---------------------------------------------------------------------------------------

cdef inline bint _is_zero(double x) noexcept nogil:
    return fabs(x) < DBL_MIN


cdef inline double _rational_cubic_interpolation(double x, double x_l, double x_r, double y_l,
                                                 double y_r, double d_l, double d_r,
                                                 double r) noexcept nogil:
    cdef double h = x_r - x_l
    cdef double t, omt, t2, omt2
    if fabs(h) <= 0.0:
        return 0.5 * (y_l + y_r)
    t = (x - x_l) / h
    if not (r >= MAX_RATIONAL_CUBIC_CONTROL):
        omt = 1.0 - t
        t2 = t * t
        omt2 = omt * omt
        return ((y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2
                 + y_l * omt2 * omt) / (1.0 + (r - 3.0) * t * omt))
    # linear interpolation without over- or underflow
    return y_r * t + y_l * (1.0 - t)


cdef inline double _minimum_rational_cubic_control(double d_l, double d_r, double slope,
                                                   bint prefer_shape) noexcept nogil:
    cdef bint monotonic = d_l * slope >= 0.0 and d_r * slope >= 0.0
    cdef bint convex = d_l <= slope <= d_r
    cdef bint concave = d_l >= slope >= d_r
    cdef double r1 = -DBL_MAX, r2 = -DBL_MAX
    if not monotonic and not convex and not concave:
        return MIN_RATIONAL_CUBIC_CONTROL
    if monotonic:
        if not _is_zero(slope):
            r1 = (d_r + d_l) / slope   # (3.8)
        elif prefer_shape:
            r1 = MAX_RATIONAL_CUBIC_CONTROL
    if convex or concave:
        if not (_is_zero(slope - d_l) or _is_zero(d_r - slope)):   # (3.18)
            r2 = max(fabs((d_r - d_l) / (d_r - slope)), fabs((d_r - d_l) / (slope - d_l)))
        elif prefer_shape:
            r2 = MAX_RATIONAL_CUBIC_CONTROL
    elif monotonic and prefer_shape:
        r2 = MAX_RATIONAL_CUBIC_CONTROL
    return max(MIN_RATIONAL_CUBIC_CONTROL, max(r1, r2))


cdef inline double _convex_control_left(double x_l, double x_r, double y_l, double y_r,
                                        double d_l, double d_r, double second_derivative_l,
                                        bint prefer_shape) noexcept nogil:
    """Control parameter fitting the second derivative at the left end, kept convex."""
    cdef double h = x_r - x_l
    cdef double numerator = 0.5 * h * second_derivative_l + (d_r - d_l)
    cdef double denominator, r
    if _is_zero(numerator):
        r = 0.0
    else:
        denominator = (y_r - y_l) / h - d_l
        if _is_zero(denominator):
            r = MAX_RATIONAL_CUBIC_CONTROL if numerator > 0.0 else MIN_RATIONAL_CUBIC_CONTROL
        else:
            r = numerator / denominator
    return max(r, _minimum_rational_cubic_control(d_l, d_r, (y_r - y_l) / h, prefer_shape))


cdef inline double _convex_control_right(double x_l, double x_r, double y_l, double y_r,
                                         double d_l, double d_r, double second_derivative_r,
                                         bint prefer_shape) noexcept nogil:
    """Control parameter fitting the second derivative at the right end, kept convex."""
    cdef double h = x_r - x_l
    cdef double numerator = 0.5 * h * second_derivative_r + (d_r - d_l)
    cdef double denominator, r
    if _is_zero(numerator):
        r = 0.0
    else:
        denominator = d_r - (y_r - y_l) / h
        if _is_zero(denominator):
            r = MAX_RATIONAL_CUBIC_CONTROL if numerator > 0.0 else MIN_RATIONAL_CUBIC_CONTROL
        else:
            r = numerator / denominator
    return max(r, _minimum_rational_cubic_control(d_l, d_r, (y_r - y_l) / h, prefer_shape))


# ---------------------------------------------------------------------------------------
# The normalised Black function b(x, s) and its vega
# ---------------------------------------------------------------------------------------

cdef inline double _normalised_intrinsic(double x, double theta) noexcept nogil:
    """theta (e^{x/2} - e^{-x/2}) when in the money, else 0; a series near x = 0."""
    cdef double x2, b_max
    if theta * x <= 0.0:
        return 0.0
    x2 = x * x
    if x2 < 98.0 * FOURTH_ROOT_DBL_EPSILON:
        # 2 sinh(x/2); the factor 98 is the fourth root of the last coefficient's 92897280
        return fabs(x * (1.0 + x2 * ((1.0 / 24.0) + x2 * ((1.0 / 1920.0) + x2 * (
            (1.0 / 322560.0) + (1.0 / 92897280.0) * x2)))))
    b_max = exp(0.5 * x)
    return fabs(b_max - 1.0 / b_max)


cdef inline double _asymptotic_expansion_black(double h, double t, double gauss) noexcept nogil:
    """b for h = x/s < -10 and t = s/2 small against |h|, given gauss = exp(-(h^2+t^2)/2):
    17th-order expansion of
    A(h, t) = r/t [Y(h+t) - Y(h-t)], Y = Phi/phi, in q = (h/r)^2 with r = (h+t)(h-t) and
    e = (t/h)^2 (Abramowitz & Stegun 26.2.12); relative accuracy 1.64e-16."""
    cdef double e = (t / h) * (t / h)
    cdef double r = (h + t) * (h - t)
    cdef double q = (h / r) * (h / r)
    cdef double a = (2.0+q*(-6.0E0-2.0*e+3.0*q*(1.0E1+e*(2.0E1+2.0*e)+5.0*q*(-1.4E1+e*(-7.0E1+e*(-4.2E1-2.0*e))+7.0*q*(1.8E1+e*(1.68E2+e*(2.52E2+e*(7.2E1+2.0*e)))+9.0*q*(-2.2E1+e*(-3.3E2+e*(-9.24E2+e*(-6.6E2+e*(-1.1E2-2.0*e))))+1.1E1*q*(2.6E1+e*(5.72E2+e*(2.574E3+e*(3.432E3+e*(1.43E3+e*(1.56E2+2.0*e)))))+1.3E1*q*(-3.0E1+e*(-9.1E2+e*(-6.006E3+e*(-1.287E4+e*(-1.001E4+e*(-2.73E3+e*(-2.1E2-2.0*e))))))+1.5E1*q*(3.4E1+e*(1.36E3+e*(1.2376E4+e*(3.8896E4+e*(4.862E4+e*(2.4752E4+e*(4.76E3+e*(2.72E2+2.0*e)))))))+1.7E1*q*(-3.8E1+e*(-1.938E3+e*(-2.3256E4+e*(-1.00776E5+e*(-1.84756E5+e*(-1.51164E5+e*(-5.4264E4+e*(-7.752E3+e*(-3.42E2-2.0*e))))))))+1.9E1*q*(4.2E1+e*(2.66E3+e*(4.0698E4+e*(2.3256E5+e*(5.8786E5+e*(7.05432E5+e*(4.0698E5+e*(1.08528E5+e*(1.197E4+e*(4.2E2+2.0*e)))))))))+2.1E1*q*(-4.6E1+e*(-3.542E3+e*(-6.7298E4+e*(-4.90314E5+e*(-1.63438E6+e*(-2.704156E6+e*(-2.288132E6+e*(-9.80628E5+e*(-2.01894E5+e*(-1.771E4+e*(-5.06E2-2.0*e))))))))))+2.3E1*q*(5.0E1+e*(4.6E3+e*(1.0626E5+e*(9.614E5+e*(4.08595E6+e*(8.9148E6+e*(1.04006E7+e*(6.53752E6+e*(2.16315E6+e*(3.542E5+e*(2.53E4+e*(6.0E2+2.0*e)))))))))))+2.5E1*q*(-5.4E1+e*(-5.85E3+e*(-1.6146E5+e*(-1.77606E6+e*(-9.37365E6+e*(-2.607579E7+e*(-4.01166E7+e*(-3.476772E7+e*(-1.687257E7+e*(-4.44015E6+e*(-5.9202E5+e*(-3.51E4+e*(-7.02E2-2.0*e))))))))))))+2.7E1*q*(5.8E1+e*(7.308E3+e*(2.3751E5+e*(3.12156E6+e*(2.003001E7+e*(6.919458E7+e*(1.3572783E8+e*(1.5511752E8+e*(1.0379187E8+e*(4.006002E7+e*(8.58429E6+e*(9.5004E5+e*(4.7502E4+e*(8.12E2+2.0*e)))))))))))))+2.9E1*q*(-6.2E1+e*(-8.99E3+e*(-3.39822E5+e*(-5.25915E6+e*(-4.032015E7+e*(-1.6934463E8+e*(-4.1250615E8+e*(-6.0108039E8+e*(-5.3036505E8+e*(-2.8224105E8+e*(-8.870433E7+e*(-1.577745E7+e*(-1.472562E6+e*(-6.293E4+e*(-9.3E2-2.0*e))))))))))))))+3.1E1*q*(6.6E1+e*(1.0912E4+e*(4.74672E5+e*(8.544096E6+e*(7.71342E7+e*(3.8707344E8+e*(1.14633288E9+e*(2.07431664E9+e*(2.33360622E9+e*(1.6376184E9+e*(7.0963464E8+e*(1.8512208E8+e*(2.7768312E7+e*(2.215136E6+e*(8.184E4+e*(1.056E3+2.0*e)))))))))))))))+3.3E1*(-7.0E1+e*(-1.309E4+e*(-6.49264E5+e*(-1.344904E7+e*(-1.4121492E8+e*(-8.344518E8+e*(-2.9526756E9+e*(-6.49588632E9+e*(-9.0751353E9+e*(-8.1198579E9+e*(-4.6399188E9+e*(-1.6689036E9+e*(-3.67158792E8+e*(-4.707164E7+e*(-3.24632E6+e*(-1.0472E5+e*(-1.19E3-2.0*e)))))))))))))))))*q)))))))))))))))))  # noqa: E501
    return fabs(max(INV_SQRT_2PI * gauss * (t / r) * a, 0.0))


cdef inline double _small_t_expansion_black(double h, double t, double gauss) noexcept nogil:
    """b for t = s/2 < 0.21 and h <= 0, given gauss = exp(-(h^2+t^2)/2):
    Y(h+t) - Y(h-t) expanded to 12th order in t, with
    a = 1 + h Y(h) = 1 + h sqrt(pi/2) erfcx(-h/sqrt 2); accurate to double epsilon."""
    cdef double a = 1.0 + h * (0.5 * SQRT_TWO_PI) * _erfcx_cody(-SQRT1_2 * h)
    cdef double w = t * t
    cdef double h2 = h * h
    # coefficients of w^k, k = 1..6, each a polynomial in h^2 (Horner form); the divisions
    # by factorial-like constants are folded into multiplications (a division stalls the
    # pipeline for the length of this whole expansion)
    cdef double c1 = (-1.0 + 3.0 * a + a * h2) * (1.0 / 6.0)
    cdef double c2 = (-7.0 + 15.0 * a + h2 * (-1.0 + 10.0 * a + a * h2)) * (1.0 / 120.0)
    cdef double c3 = (-57.0 + 105.0 * a
                      + h2 * (-18.0 + 105.0 * a + h2 * (-1.0 + 21.0 * a + a * h2))) * (1.0 / 5040.0)
    cdef double c4 = (-561.0 + 945.0 * a
                      + h2 * (-285.0 + 1260.0 * a
                              + h2 * (-33.0 + 378.0 * a + h2 * (-1.0 + 36.0 * a + a * h2)))) * (1.0 / 362880.0)
    cdef double c5 = (-6555.0 + 10395.0 * a
                      + h2 * (-4680.0 + 17325.0 * a
                              + h2 * (-840.0 + 6930.0 * a
                                      + h2 * (-52.0 + 990.0 * a
                                              + h2 * (-1.0 + 55.0 * a + a * h2))))) * (1.0 / 39916800.0)
    cdef double c6 = (-89055.0 + 135135.0 * a
                      + h2 * (-82845.0 + 270270.0 * a
                              + h2 * (-20370.0 + 135135.0 * a
                                      + h2 * (-1926.0 + 25740.0 * a
                                              + h2 * (-75.0 + 2145.0 * a
                                                      + h2 * (-1.0 + 78.0 * a + a * h2)))))) * (1.0 / 6227020800.0)
    cdef double expansion = 2.0 * t * (a + w * (c1 + w * (c2 + w * (c3 + w * (c4 + w * (c5 + w * c6))))))
    return fabs(max(INV_SQRT_2PI * gauss * expansion, 0.0))


cdef inline double _black_using_norm_cdf(double x, double s) noexcept nogil:
    """b = N(h+t) e^{x/2} - N(h-t) e^{-x/2} directly: best when b is most of e^{x/2}."""
    cdef double h = x / s
    cdef double t = 0.5 * s
    cdef double b_max = exp(0.5 * x)
    return fabs(max(norm_cdf(h + t) * b_max - norm_cdf(h - t) / b_max, 0.0))


cdef inline double _black_using_erfcx(double h, double t, double gauss) noexcept nogil:
    """b = gauss/2 [erfcx(-(h+t)/sqrt2) - erfcx(-(h-t)/sqrt2)], gauss = exp(-(h^2+t^2)/2):
    one exponential instead of three, so the tails keep their digits (Jaeckel, after
    Marsaglia 2004)."""
    return fabs(max(0.5 * gauss * (_erfcx_cody(-SQRT1_2 * (h + t)) - _erfcx_cody(-SQRT1_2 * (h - t))), 0.0))


cdef inline double _otm_black_call_and_vega(double x, double s, double* vega) noexcept nogil:
    """b(x, s) of an out-of-the-money call (x <= 0), and its vega db/ds into `vega`.

    vega = exp(-(h^2 + t^2)/2)/sqrt(2 pi) with h = x/s, t = s/2, and three of the four
    regions of b scale that same exponential, so the solver gets both for one exp().
    """
    cdef double h, t, gauss
    if s <= 0.0:
        vega[0] = INV_SQRT_2PI if x == 0.0 else 0.0
        return 0.0
    h = x / s
    t = 0.5 * s
    gauss = exp(-0.5 * (h * h + t * t))   # 0 once |h| overflows: vega vanishes
    vega[0] = INV_SQRT_2PI * gauss
    # Region 1: h < -10 and t < 0.21 + |h| - 10, tested without dividing by s.
    if (x < s * ASYMPTOTIC_EXPANSION_THRESHOLD
            and 0.5 * s * s + x < s * (SMALL_T_EXPANSION_THRESHOLD + ASYMPTOTIC_EXPANSION_THRESHOLD)):
        return _asymptotic_expansion_black(h, t, gauss)
    # Region 2: small t.
    if t < SMALL_T_EXPANSION_THRESHOLD:
        return _small_t_expansion_black(h, t, gauss)
    # Region 3: h + t > 0.85, b is dominated by its first term.
    if x + 0.5 * s * s > s * 0.85:
        return _black_using_norm_cdf(x, s)
    # Region 4.
    return _black_using_erfcx(h, t, gauss)


cdef double normalised_black(double x, double s, double theta) noexcept nogil:
    """A put at x is a call at -x (reciprocal-strike symmetry), and an in-the-money call is
    its intrinsic value plus the out-of-the-money call at -x (normalised put-call parity)."""
    cdef double vega_unused
    if theta < 0.0:
        x = -x
    if x > 0.0:
        return _normalised_intrinsic(x, 1.0) + _otm_black_call_and_vega(-x, s, &vega_unused)
    return _otm_black_call_and_vega(x, s, &vega_unused)


# ---------------------------------------------------------------------------------------
# The inverse: Let's Be Rational
# ---------------------------------------------------------------------------------------

cdef inline double _householder_factor(double newton, double halley, double hh3) noexcept nogil:
    return (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton * (1.0 / 6.0)))


cdef inline void _black_derivative_ratios(double x, double s, double* b2_over_b1,
                                          double* b3_over_b1) noexcept nogil:
    """b''/b' = h^2/s - s/4 and b'''/b' = (b''/b')^2 - 3 (h/s)^2 - 1/4 with h = x/s: the
    Halley and Householder(3) terms of every objective. One division (these run in the
    innermost loop, where divisions are what the pipeline waits for)."""
    cdef double inv_s = 1.0 / s
    cdef double h = x * inv_s
    cdef double h_over_s = h * inv_s
    b2_over_b1[0] = h * h_over_s - 0.25 * s
    b3_over_b1[0] = b2_over_b1[0] * b2_over_b1[0] - 3.0 * h_over_s * h_over_s - 0.25


cdef inline void _lower_map(double x, double s, double* f, double* fp, double* fpp) noexcept nogil:
    """f(beta) = (2 pi/sqrt 27) |x| Phi(-|x|/(sqrt 3 s))^3 and its first two derivatives in
    beta, at s: the transformation that makes the lowest branch nearly linear."""
    cdef double ax = fabs(x)
    cdef double z = SQRT_ONE_OVER_THREE * ax / s
    cdef double y = z * z
    cdef double s2 = s * s
    cdef double cdf = norm_cdf(-z)
    cdef double pdf = norm_pdf(z)
    cdef double cdf2
    fpp[0] = (PI_OVER_SIX * y / (s2 * s) * cdf
              * (8.0 * SQRT_THREE * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
              * exp(2.0 * y + 0.25 * s2))
    cdf2 = cdf * cdf
    fp[0] = TWO_PI * y * cdf2 * exp(y + 0.125 * s * s)
    f[0] = TWO_PI_OVER_SQRT_TWENTY_SEVEN * ax * (cdf2 * cdf)


cdef inline double _inverse_lower_map(double x, double f) noexcept nogil:
    if f == 0.0:
        return 0.0
    return fabs(x / (SQRT_THREE * _inverse_norm_cdf(
        pow(f / (TWO_PI_OVER_SQRT_TWENTY_SEVEN * fabs(x)), 1.0 / 3.0))))


cdef inline void _upper_map(double x, double s, double* f, double* fp, double* fpp) noexcept nogil:
    """f(beta) = Phi(-s/2) and its first two derivatives in beta, at s: the
    transformation that makes the highest branch nearly linear."""
    cdef double w
    f[0] = norm_cdf(-0.5 * s)
    if x == 0.0:
        fp[0] = -0.5
        fpp[0] = 0.0
    else:
        w = (x / s) * (x / s)
        fp[0] = -0.5 * exp(0.5 * w)
        fpp[0] = SQRT_PI_OVER_TWO * exp(w + 0.125 * s * s) * w / s


cdef inline double _inverse_upper_map(double f) noexcept nogil:
    return -2.0 * _inverse_norm_cdf(f)


cdef double _unchecked_normalised_implied_vol(double beta, double x, double theta,
                                              int max_iterations) noexcept nogil:
    """s with b(x, s) = beta for an out-of-the-money option (theta x <= 0), 0 <= beta;
    +inf when beta >= b_max = e^{theta x / 2}, which no finite s reaches."""
    # Over 100 lines on purpose: the Householder loop appears three times (lowest branch,
    # highest branch with beta > b_max/2, the middle branches), as in Jaeckel's reference
    # "Let's be rational". Each copy iterates on its own objective (1/ln b - 1/ln beta,
    # ln(b_max - beta) - ln(b_max - b), b - beta) with its own underflow guard, so a shared
    # loop would need a per-iteration switch in the hottest code; keeping the reference's
    # shape also lets a reader check this function against the paper line by line.
    cdef int iterations = 0, direction_reversal_count = 0
    cdef double f = -DBL_MAX, s = -DBL_MAX, ds = -DBL_MAX, ds_previous = 0.0
    cdef double s_left = DBL_MIN, s_right = DBL_MAX
    cdef double b_max, s_c, b_c, v_c, s_l, b_l, v_l, s_h, b_h, v_h, r, t, span
    cdef double f_map, d_f_map, d2_f_map
    cdef double b, bp, ln_b, ln_beta, inv_ln_b, inv_ln_beta, bpob, b_halley, b_hh3
    cdef double newton, halley, hh3
    cdef double b_max_minus_b, g, gp

    if theta < 0.0:
        x = -x   # a put at x is a call at -x
    if beta <= 0.0:
        return 0.0
    b_max = exp(0.5 * x)
    if beta >= b_max:
        return INFINITY
    # Central point: the inflexion point of b(s), s_c = sqrt(2|x|).
    s_c = sqrt(fabs(2.0 * x))
    b_c = _otm_black_call_and_vega(x, s_c, &v_c)

    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l = _otm_black_call_and_vega(x, s_l, &v_l)
        if beta < b_l:
            # Lowest branch: rational guess in the lower map, objective 1/ln(b) - 1/ln(beta).
            _lower_map(x, s_l, &f_map, &d_f_map, &d2_f_map)
            r = _convex_control_right(0.0, b_l, 0.0, f_map, 1.0, d_f_map, d2_f_map, True)
            f = _rational_cubic_interpolation(beta, 0.0, b_l, 0.0, f_map, 1.0, d_f_map, r)
            if not (f > 0.0):
                # round-off for extreme |x|: quadratic through f(0) = 0, f'(0) = 1, f(b_l)
                t = beta / b_l
                f = (f_map * t + b_l * (1.0 - t)) * t
            s = _inverse_lower_map(x, f)
            s_right = s_l
            ln_beta = log(beta)
            inv_ln_beta = 1.0 / ln_beta
            while iterations < max_iterations and fabs(ds) > DBL_EPSILON * s:
                if ds * ds_previous < 0.0:
                    direction_reversal_count += 1
                if iterations > 0 and (direction_reversal_count == 3
                                       or not (s > s_left and s < s_right)):
                    # looping or leaving the bracket (only for |x| in the hundreds): bisect
                    s = 0.5 * (s_left + s_right)
                    if s_right - s_left <= DBL_EPSILON * s:
                        break
                    direction_reversal_count = 0
                    ds = 0.0
                ds_previous = ds
                b = _otm_black_call_and_vega(x, s, &bp)
                if b > beta and s < s_right:
                    s_right = s
                elif b < beta and s > s_left:
                    s_left = s
                if b <= 0.0 or bp <= 0.0:
                    # underflow: bisect for this step
                    ds = 0.5 * (s_left + s_right) - s
                else:
                    ln_b = log(b)
                    inv_ln_b = 1.0 / ln_b
                    bpob = bp / b
                    _black_derivative_ratios(x, s, &b_halley, &b_hh3)
                    newton = (ln_beta - ln_b) * ln_b * inv_ln_beta / bpob
                    halley = b_halley - bpob * (1.0 + 2.0 * inv_ln_b)
                    hh3 = (b_hh3 + 2.0 * bpob * bpob * (1.0 + 3.0 * inv_ln_b * (1.0 + inv_ln_b))
                           - 3.0 * b_halley * bpob * (1.0 + 2.0 * inv_ln_b))
                    ds = newton * _householder_factor(newton, halley, hh3)
                ds = max(-0.5 * s, ds)
                s += ds
                iterations += 1
            return s
        # Lower middle branch: rational cubic between s_l and s_c.
        r = _convex_control_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0, False)
        s = _rational_cubic_interpolation(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r)
        s_left = s_l
        s_right = s_c
    else:
        s_h = s_c + (b_max - b_c) / v_c if v_c > DBL_MIN else s_c
        b_h = _otm_black_call_and_vega(x, s_h, &v_h)
        if beta <= b_h:
            # Upper middle branch: rational cubic between s_c and s_h.
            r = _convex_control_left(b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, 0.0, False)
            s = _rational_cubic_interpolation(beta, b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, r)
            s_left = s_c
            s_right = s_h
        else:
            # Highest branch: rational guess in the upper map.
            _upper_map(x, s_h, &f_map, &d_f_map, &d2_f_map)
            f = 0.0
            if d2_f_map > -SQRT_DBL_MAX and d2_f_map < SQRT_DBL_MAX:
                r = _convex_control_left(b_h, b_max, f_map, 0.0, d_f_map, -0.5, d2_f_map, True)
                f = _rational_cubic_interpolation(beta, b_h, b_max, f_map, 0.0, d_f_map, -0.5, r)
            if f <= 0.0:
                # quadratic through f(b_h), f(b_max) = 0 and f'(b_max) = -1/2
                span = b_max - b_h
                t = (beta - b_h) / span
                f = (f_map * (1.0 - t) + 0.5 * span * t) * (1.0 - t)
            s = _inverse_upper_map(f)
            s_left = s_h
            if beta > 0.5 * b_max:
                # objective ln(b_max - beta) - ln(b_max - b(s))
                while iterations < max_iterations and fabs(ds) > DBL_EPSILON * s:
                    if ds * ds_previous < 0.0:
                        direction_reversal_count += 1
                    if iterations > 0 and (direction_reversal_count == 3
                                           or not (s > s_left and s < s_right)):
                        s = 0.5 * (s_left + s_right)
                        if s_right - s_left <= DBL_EPSILON * s:
                            break
                        direction_reversal_count = 0
                        ds = 0.0
                    ds_previous = ds
                    b = _otm_black_call_and_vega(x, s, &bp)
                    if b > beta and s < s_right:
                        s_right = s
                    elif b < beta and s > s_left:
                        s_left = s
                    if b >= b_max or bp <= DBL_MIN:
                        ds = 0.5 * (s_left + s_right) - s
                    else:
                        b_max_minus_b = b_max - b
                        g = log((b_max - beta) / b_max_minus_b)
                        gp = bp / b_max_minus_b
                        _black_derivative_ratios(x, s, &b_halley, &b_hh3)
                        newton = -g / gp
                        halley = b_halley + gp
                        hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley)
                        ds = newton * _householder_factor(newton, halley, hh3)
                    ds = max(-0.5 * s, ds)
                    s += ds
                    iterations += 1
                return s
    # The two middle branches (and the upper one with beta <= b_max/2): objective b(s) - beta.
    while iterations < max_iterations and fabs(ds) > DBL_EPSILON * s:
        if ds * ds_previous < 0.0:
            direction_reversal_count += 1
        if iterations > 0 and (direction_reversal_count == 3 or not (s > s_left and s < s_right)):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            direction_reversal_count = 0
            ds = 0.0
        ds_previous = ds
        b = _otm_black_call_and_vega(x, s, &bp)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        newton = (beta - b) / bp
        _black_derivative_ratios(x, s, &halley, &hh3)
        ds = max(-0.5 * s, newton * _householder_factor(newton, halley, hh3))
        s += ds
        iterations += 1
    return s


# ---------------------------------------------------------------------------------------
# One option of any model
# ---------------------------------------------------------------------------------------

cdef iv_result_t implied_vol_point(int model, double price, double underlying, double strike,
                                   double tau, bint is_call, double rate, double carry
                                   ) noexcept nogil:
    """Implied volatility of one option; vol NaN with a status code when there is none.

    Every model reduces to Black's formula on the forward: the undiscounted price is
    price e^{r tau} (times F for the coin-settled model, whose price is Black / F), the
    forward F = S e^{(r-q) tau} for MODEL_BSM and the underlying itself otherwise.
    """
    cdef iv_result_t result
    cdef double forward, log_moneyness, undiscounted, intrinsic, time_value, upper_bound
    cdef double intrinsic_rounding
    cdef double theta = 1.0 if is_call else -1.0
    cdef double beta, s
    result.vol = NAN
    if not (isfinite(price) and isfinite(underlying) and isfinite(strike) and isfinite(tau)
            and isfinite(rate) and isfinite(carry)
            and price >= 0.0 and underlying > 0.0 and strike > 0.0):
        result.status = IV_INVALID_INPUT
        return result
    if tau <= 0.0:
        result.status = IV_EXPIRED
        return result
    if model == MODEL_BSM:
        forward = underlying * exp((rate - carry) * tau)
        log_moneyness = log(underlying / strike) + (rate - carry) * tau
    else:
        forward = underlying
        log_moneyness = log(underlying / strike)
    undiscounted = price * exp(rate * tau)
    if model == MODEL_INVERSE:
        undiscounted *= forward
    if not (isfinite(forward) and forward > 0.0 and isfinite(undiscounted)):
        # e^{r tau} or e^{(r-q) tau} over- or underflows
        result.status = IV_INVALID_INPUT
        return result

    # No-arbitrage bounds of the undiscounted price: intrinsic of the forward below, the
    # forward (call) or the strike (put) above.
    upper_bound = forward if is_call else strike
    if undiscounted >= upper_bound * (1.0 - BOUND_ROUNDING_EPSILONS * DBL_EPSILON):
        result.status = IV_ABOVE_UPPER_BOUND
        return result
    intrinsic = max(theta * (forward - strike), 0.0)
    time_value = undiscounted - intrinsic
    intrinsic_rounding = BOUND_ROUNDING_EPSILONS * DBL_EPSILON * max(forward, strike)
    if time_value < -intrinsic_rounding:
        result.status = IV_BELOW_INTRINSIC
        return result
    if time_value <= 0.0 or (intrinsic > 0.0 and time_value <= intrinsic_rounding):
        # Intrinsic within rounding: every vol from 0 up to where the time value exceeds
        # the price's rounding reprices it, so report the limit, 0. (Out of the money the
        # price is all time value and keeps its relative precision: no such band.)
        result.vol = 0.0
        result.status = IV_OK
        return result

    beta = time_value / (sqrt(forward) * sqrt(strike))
    if beta < DBL_MIN:
        # A subnormal normalised price has fewer than 53 significant bits (none at all near
        # 5e-324), too few for Householder steps on ln(b): no answer beats a wrong one.
        result.status = IV_PRICE_UNDERFLOW
        return result
    if theta * log_moneyness > 0.0:
        theta = -theta   # in the money: the out-of-the-money option with this time value
    s = _unchecked_normalised_implied_vol(beta, log_moneyness, theta, HOUSEHOLDER_ITERATIONS)
    if s == INFINITY:
        # within rounding of the upper bound once normalised
        result.status = IV_ABOVE_UPPER_BOUND
        return result
    if not (isfinite(s) and s >= 0.0):
        result.status = IV_NOT_CONVERGED
        return result
    result.vol = s / sqrt(tau)
    result.status = IV_OK
    return result


# ---------------------------------------------------------------------------------------
# Loop driver
# ---------------------------------------------------------------------------------------

def implied_vol_into(int model,
                     const double[::1] price,
                     const double[::1] underlying,
                     const double[::1] strike,
                     const double[::1] tau,
                     const unsigned char[::1] is_call,
                     const double[::1] rate,
                     const double[::1] carry,
                     double[::1] vol_out,
                     signed char[::1] status_out,
                     int n_threads):
    """Write the implied vol of option i into vol_out[i] and its IV_* code into status_out[i]."""
    cdef Py_ssize_t n = price.shape[0]
    cdef Py_ssize_t i
    cdef iv_result_t result
    if not (underlying.shape[0] == strike.shape[0] == tau.shape[0] == is_call.shape[0]
            == rate.shape[0] == carry.shape[0] == vol_out.shape[0] == status_out.shape[0] == n):
        raise ValueError("implied_vol_into: input and output arrays must have equal lengths")
    if n_threads < 1:
        raise ValueError("implied_vol_into: n_threads must be >= 1")
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        result = implied_vol_point(model, price[i], underlying[i], strike[i], tau[i],
                                   is_call[i] != 0, rate[i], carry[i])
        vol_out[i] = result.vol
        status_out[i] = result.status


def normalised_black_into(const double[::1] x, const double[::1] s, const double[::1] theta,
                          double[::1] out):
    """b(x, s, theta) elementwise, for tests of the normalised Black function."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t i
    if not (s.shape[0] == theta.shape[0] == out.shape[0] == n):
        raise ValueError("normalised_black_into: arrays must have equal lengths")
    with nogil:
        for i in range(n):
            out[i] = normalised_black(x[i], s[i], theta[i])
