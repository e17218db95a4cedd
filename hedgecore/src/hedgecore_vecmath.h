/* hedgecore_vecmath.h: branch-free, table-free exp and log that compilers vectorise,
 * shared by the Greeks pass (hedgecore_greeks.h) and the simulator's lane kernels
 * (hedgecore_lanes.h); Cython declares them in _vecmath.pxd.
 *
 * libm's exp and log branch on their argument, so a loop over them stays scalar; these are
 * straight-line code that GCC turns into SSE2/AVX2/AVX-512 lanes without -ffast-math. Both
 * are within 2 ulp of libm's. hv_cody_polynomials gives the rationals of Cody's normal CDF
 * without a branch. `fused` selects fused multiply-adds (HEDGECORE_MADD: a constant once
 * inlined into the AVX2+FMA copy of a loop); the modules that include this are compiled
 * with -ffp-contract=off so that nothing else is fused.
 */
#ifndef HEDGECORE_VECMATH_H
#define HEDGECORE_VECMATH_H

#include "hedgecore_platform.h"

static HEDGECORE_ALWAYS_INLINE uint64_t hv_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static HEDGECORE_ALWAYS_INLINE double hv_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* exp(x), within 2 ulp of libm's for -708 <= x <= 709 (results in the normal range);
   0 below, +inf above, NaN for NaN. x = k ln2 + r with ln2 split in two (k ln2_hi
   exact), then Taylor to degree 13 on |r| <= ln2/2 (next term < 5e-18), scaled by 2^k
   built in the exponent bits. The round-to-integer uses the 1.5*2^52 shift, not a
   float-to-int conversion, which SSE2/AVX2 lack for 64-bit lanes. */
static HEDGECORE_ALWAYS_INLINE double hv_exp(double x, int fused) {
    const double shift = 6755399441055744.0;
    double xc = x < -708.0 ? -708.0 : x;
    xc = xc > 709.0 ? 709.0 : xc;
    double t = xc * 1.4426950408889634 + shift;
    double kd = t - shift;
    double r = (xc - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    double p = 1.6059043836821613e-10;
    p = HEDGECORE_MADD(fused, p, r, 2.08767569878681e-09);
    p = HEDGECORE_MADD(fused, p, r, 2.505210838544172e-08);
    p = HEDGECORE_MADD(fused, p, r, 2.755731922398589e-07);
    p = HEDGECORE_MADD(fused, p, r, 2.7557319223985893e-06);
    p = HEDGECORE_MADD(fused, p, r, 2.48015873015873e-05);
    p = HEDGECORE_MADD(fused, p, r, 0.0001984126984126984);
    p = HEDGECORE_MADD(fused, p, r, 0.001388888888888889);
    p = HEDGECORE_MADD(fused, p, r, 0.008333333333333333);
    p = HEDGECORE_MADD(fused, p, r, 0.041666666666666664);
    p = HEDGECORE_MADD(fused, p, r, 0.16666666666666666);
    p = HEDGECORE_MADD(fused, p, r, 0.5);
    p = HEDGECORE_MADD(fused, p, r, 1.0);
    p = HEDGECORE_MADD(fused, p, r, 1.0);
    double y = p * hv_from_bits((hv_bits(t) << 52) + 0x3ff0000000000000ULL);
    y = x < -708.0 ? 0.0 : y;
    return x > 709.0 ? HUGE_VAL : y;
}

/* log(x) for normal positive x (anything else gives garbage, which the caller
   screens): x = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
   s = (m-1)/(m+1), |s| <= 0.1716, series to s^21 (next term < 1e-18). The exponent is
   turned into a double through the 2^52 bit trick for the same reason as in hv_exp. */
static HEDGECORE_ALWAYS_INLINE double hv_log(double x, int fused) {
    uint64_t u = hv_bits(x);
    double m = hv_from_bits((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    double upper = m > 1.4142135623730951 ? 1.0 : 0.0;
    m = m > 1.4142135623730951 ? 0.5 * m : m;
    double kd = (hv_from_bits((u >> 52) | 0x4330000000000000ULL) - 4503599627370496.0) - 1023.0
                + upper;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double p = 0.047619047619047616;
    p = HEDGECORE_MADD(fused, p, z, 0.05263157894736842);
    p = HEDGECORE_MADD(fused, p, z, 0.058823529411764705);
    p = HEDGECORE_MADD(fused, p, z, 0.06666666666666667);
    p = HEDGECORE_MADD(fused, p, z, 0.07692307692307693);
    p = HEDGECORE_MADD(fused, p, z, 0.09090909090909091);
    p = HEDGECORE_MADD(fused, p, z, 0.1111111111111111);
    p = HEDGECORE_MADD(fused, p, z, 0.14285714285714285);
    p = HEDGECORE_MADD(fused, p, z, 0.2);
    p = HEDGECORE_MADD(fused, p, z, 0.3333333333333333);
    double two_s = 2.0 * s;
    return kd * 6.93147180369123816490e-01
           + (two_s + two_s * z * p + kd * 1.90821492927058770002e-10);
}

/* The four polynomials of Cody's normal CDF (the rationals norm_cdf_given_exp in
   _maths.pxd uses) at x: the central rational x num_c / den_c gives N(x) - 1/2 for
   |x| <= 0.67448975, the tail rational num_t / den_t gives N(-|x|) exp(x^2/2) for
   0.67448975 < |x| <= sqrt(32). Both are evaluated, so that a caller can select one
   before its single division without a branch. */
static HEDGECORE_ALWAYS_INLINE void hv_cody_polynomials(double x, double *num_c, double *den_c,
                                                double *num_t, double *den_t) {
    double y = fabs(x);
    double xsq = x * x;
    *num_c = ((((0.065682337918207449113 * xsq + 2.2352520354606839287) * xsq
                + 161.02823106855587881) * xsq + 1067.6894854603709582) * xsq
              + 18154.981253343561249);
    *den_c = ((((xsq + 47.20258190468824187) * xsq + 976.09855173777669322) * xsq
               + 10260.932208618978205) * xsq + 45507.789335026729956);
    *num_t = ((((((((1.0765576773720192317e-8 * y + 0.39894151208813466764) * y
                     + 8.8831497943883759412) * y + 93.506656132177855979) * y
                   + 597.27027639480026226) * y + 2494.5375852903726711) * y
                 + 6848.1904505362823326) * y + 11602.651437647350124) * y
               + 9842.7148383839780218);
    *den_t = ((((((((y + 22.266688044328115691) * y + 235.38790178262499861) * y
                    + 1519.377599407554805) * y + 6485.558298266760755) * y
                  + 18615.571640885098091) * y + 34900.952721145977266) * y
                + 38912.003286093271411) * y + 19685.429676859990727);
}

#endif /* HEDGECORE_VECMATH_H */
