/* hedgecore_lanes.h: the simulator's lane kernels (_sim.pyx), over HS_LANES paths at once.
 *
 * Portable vector kernels of the GBM step and the Black-Scholes delta (normals, exp, the
 * normal CDF), the cube root of the band formulas and the trade pass, branch-free and
 * table-free so that the compiler vectorises their loops over the lanes of a group:
 * SSE2/NEON on any build, and on x86-64 with GCC or clang AVX2+FMA and AVX-512 copies
 * chosen at import when the CPU has them (hs_init; HEDGECORE_NO_AVX2=1 or
 * HEDGECORE_NO_AVX512=1 force a lower one). With glibc's libmvec (hedgecore_libmvec.h) the
 * GBM step and the normal CDF go through its table-driven routines instead. The module is
 * compiled with -fno-math-errno -fno-trapping-math -ffp-contract=off on GCC/Clang
 * (setup.py); multiply-adds are fused only where HEDGECORE_MADD says so, in the AVX2 and
 * AVX-512 copies.
 */
#ifndef HEDGECORE_LANES_H
#define HEDGECORE_LANES_H

#include "hedgecore_platform.h"
#include "hedgecore_constants.h"
#include "hedgecore_vecmath.h"
#include "hedgecore_libmvec.h"

#define HS_LANES 64
#define HS_HALF (HS_LANES / 2)

/* mask (all ones or zero) ? a : b, by bits */
static HEDGECORE_ALWAYS_INLINE double hs_blend(uint64_t mask, double a, double b) {
    return hv_from_bits((hv_bits(a) & mask) | (hv_bits(b) & ~mask));
}

/* HS_STREAMS SFC64 generators side by side: numpy's SFC64 (Doty-Humphrey's Small Fast
   Chaotic generator), stepped in SIMD lanes. state[k * HS_STREAMS + i] is word k
   (a, b, c, counter) of stream i. hs_uniforms_body fills u[0 .. HS_LANES): u[s v + i] is
   draw v of stream i (s = HS_STREAMS), the double numpy's Generator.random would return,
   (next64 >> 11) 2^-53. `cvt`: the target converts 64-bit integers to doubles in SIMD
   (AVX-512DQ); elsewhere the 53 bits go through the 2^52 exponent trick in two exact
   halves. With GCC or clang the eight streams are one vector of the generic vector
   extension (the compiler splits it to the target's width); plain loops elsewhere. */
#define HS_STREAMS 8
#define HS_INV_2_53 1.1102230246251565404e-16
/* one draw of one stream (a, b, c, counter n), for seeding and for plain C */
static HEDGECORE_ALWAYS_INLINE uint64_t hs_sfc64_next(uint64_t *a, uint64_t *b, uint64_t *c, uint64_t *n) {
    uint64_t out = *a + *b + *n;
    *n += 1;
    *a = *b ^ (*b >> 11);
    *b = *c + (*c << 3);
    *c = ((*c << 24) | (*c >> 40)) + out;
    return out;
}
#ifdef HEDGECORE_VECTOR_EXTENSION
typedef HEDGECORE_VECTOR_OF(uint64_t, HS_STREAMS) hs_u64v;
typedef HEDGECORE_VECTOR_OF(int64_t, HS_STREAMS) hs_i64v;
typedef HEDGECORE_VECTOR_OF(double, HS_STREAMS) hs_f64v;
static HEDGECORE_ALWAYS_INLINE void hs_uniforms_body(uint64_t *HEDGECORE_RESTRICT state, double *HEDGECORE_RESTRICT u,
                                       int cvt) {
    hs_u64v a, b, c, n;
    memcpy(&a, state, sizeof a);
    memcpy(&b, state + HS_STREAMS, sizeof b);
    memcpy(&c, state + 2 * HS_STREAMS, sizeof c);
    memcpy(&n, state + 3 * HS_STREAMS, sizeof n);
    for (int v = 0; v < HS_LANES; v += HS_STREAMS) {
        hs_u64v out = a + b + n;
        n += 1;
        a = b ^ (b >> 11);
        b = c + (c << 3);
        c = ((c << 24) | (c >> 40)) + out;
        hs_u64v bits53 = out >> 11;
        hs_f64v x;
        if (cvt) {
            x = HEDGECORE_CONVERT_VECTOR((hs_i64v)bits53, hs_f64v);
        } else {
            const hs_u64v exponent = (hs_u64v){0} + 0x4330000000000000ULL;
            const hs_f64v two_52 = (hs_f64v){0} + 4503599627370496.0;
            hs_f64v high = (hs_f64v)((bits53 >> 26) | exponent) - two_52;
            hs_f64v low = (hs_f64v)((bits53 & 0x3ffffffULL) | exponent) - two_52;
            x = high * 67108864.0 + low;
        }
        x = x * HS_INV_2_53;
        memcpy(u + v, &x, sizeof x);
    }
    memcpy(state, &a, sizeof a);
    memcpy(state + HS_STREAMS, &b, sizeof b);
    memcpy(state + 2 * HS_STREAMS, &c, sizeof c);
    memcpy(state + 3 * HS_STREAMS, &n, sizeof n);
}
#else
static HEDGECORE_ALWAYS_INLINE void hs_uniforms_body(uint64_t *HEDGECORE_RESTRICT state, double *HEDGECORE_RESTRICT u,
                                       int cvt) {
    uint64_t *a = state, *b = state + HS_STREAMS, *c = state + 2 * HS_STREAMS;
    uint64_t *n = state + 3 * HS_STREAMS;
    (void)cvt;
    for (int v = 0; v < HS_LANES; v += HS_STREAMS)
        for (int i = 0; i < HS_STREAMS; ++i)
            u[v + i] = (double)(int64_t)(hs_sfc64_next(a + i, b + i, c + i, n + i) >> 11)
                       * HS_INV_2_53;
}
#endif
/* Stream i from the seed words words[3 i .. 3 i + 2] exactly as numpy seeds an SFC64
   from SeedSequence.generate_state(3): the words, counter 1, twelve draws discarded. */
static void hs_seed_streams(uint64_t *state, const uint64_t *words) {
    for (int i = 0; i < HS_STREAMS; ++i) {
        uint64_t a = words[3 * i], b = words[3 * i + 1], c = words[3 * i + 2], n = 1;
        for (int round = 0; round < 12; ++round)
            (void)hs_sfc64_next(&a, &b, &c, &n);
        state[i] = a;
        state[HS_STREAMS + i] = b;
        state[2 * HS_STREAMS + i] = c;
        state[3 * HS_STREAMS + i] = n;
    }
}

/* LANES uniforms from the lane streams `rng`, then LANES standard normals by
   Box-Muller from the uniforms u in [0, 1) (multiples of 2^-53):
   z[j] = R cos(2 pi v), z[j + LANES/2] = R sin(2 pi v) with
   R = sqrt(-2 ln(1 - u[j])), v = u[j + LANES/2]. The angle is reduced exactly in turns:
   v = q/4 + f with q the nearest quarter and |f| <= 1/8 (exact in binary), then sin and
   cos of 2 pi f (|2 pi f| <= pi/4) by Taylor to degree 15/16 (next terms < 5e-17) and
   the quadrant applied by selects. Then the GBM step of every lane, log S += drift +
   vol z, and S = exp(log S). */
static HEDGECORE_ALWAYS_INLINE void hs_gbm_body(int fused, int cvt, uint64_t *HEDGECORE_RESTRICT rng,
                                  double *HEDGECORE_RESTRICT z, double *HEDGECORE_RESTRICT log_spot,
                                  double *HEDGECORE_RESTRICT spot, double drift, double vol) {
    const double shift = 6755399441055744.0;
    double u[HS_LANES];
    hs_uniforms_body(rng, u, cvt);
    for (int j = 0; j < HS_HALF; ++j)
        z[j] = sqrt(-2.0 * hv_log(1.0 - u[j], fused));
    for (int j = 0; j < HS_HALF; ++j) {
        double v = u[j + HS_HALF];
        double t = 4.0 * v + shift;
        uint64_t q = hv_bits(t);
        double f = v - 0.25 * (t - shift);
        double r = HEDGECORE_TWO_PI * f;
        double r2 = r * r;
        double s = -7.647163731819816e-13;
        s = HEDGECORE_MADD(fused, s, r2, 1.6059043836821613e-10);
        s = HEDGECORE_MADD(fused, s, r2, -2.505210838544172e-08);
        s = HEDGECORE_MADD(fused, s, r2, 2.7557319223985893e-06);
        s = HEDGECORE_MADD(fused, s, r2, -0.0001984126984126984);
        s = HEDGECORE_MADD(fused, s, r2, 0.008333333333333333);
        s = HEDGECORE_MADD(fused, s, r2, -0.16666666666666666);
        s = r + r * (r2 * s);
        double c = 4.779477332387385e-14;
        c = HEDGECORE_MADD(fused, c, r2, -1.1470745597729725e-11);
        c = HEDGECORE_MADD(fused, c, r2, 2.08767569878681e-09);
        c = HEDGECORE_MADD(fused, c, r2, -2.755731922398589e-07);
        c = HEDGECORE_MADD(fused, c, r2, 2.48015873015873e-05);
        c = HEDGECORE_MADD(fused, c, r2, -0.001388888888888889);
        c = HEDGECORE_MADD(fused, c, r2, 0.041666666666666664);
        c = HEDGECORE_MADD(fused, c, r2, -0.5);
        c = HEDGECORE_MADD(fused, c, r2, 1.0);
        /* angle = q pi/2 + r: an odd q swaps sin and cos, q = 2, 3 negate the sine,
           q = 1, 2 the cosine */
        uint64_t odd = (uint64_t)0 - (q & 1), sin_neg = (q & 2) << 62;
        uint64_t cos_neg = ((q + 1) & 2) << 62;
        double sin_v = hv_from_bits(hv_bits(hs_blend(odd, c, s)) ^ sin_neg);
        double cos_v = hv_from_bits(hv_bits(hs_blend(odd, s, c)) ^ cos_neg);
        double radius = z[j];
        z[j] = radius * cos_v;
        z[j + HS_HALF] = radius * sin_v;
    }
    for (int j = 0; j < HS_LANES; ++j) {
        double x = log_spot[j] + drift + vol * z[j];
        log_spot[j] = x;
        spot[j] = hv_exp(x, fused);
    }
}

/* The Black-Scholes delta term of every lane: with d = (log_spot + shift) * scale,
   cdf2 = 2 N(d) = erfc(-d / sqrt 2) and gauss = exp(-d^2 / 2). Cody's central and tail
   rationals (as _greeks' hc_norm_cdf) are both evaluated and one selected, so that
   there is no branch. Returns nonzero when a lane has |d| > sqrt(32) or NaN, where the
   caller recomputes cdf2 with libm's erfc (near expiry, far from the money). */
static HEDGECORE_ALWAYS_INLINE int hs_cdf_body(const double *HEDGECORE_RESTRICT log_spot, double shift,
                                 double scale, int fused, double *HEDGECORE_RESTRICT x_out,
                                 double *HEDGECORE_RESTRICT cdf2, double *HEDGECORE_RESTRICT gauss) {
    uint64_t outside = 0;
    /* short loops rather than one long dependency chain per lane, so that the
       out-of-order window overlaps consecutive iterations */
    for (int j = 0; j < HS_LANES; ++j) {
        double x = (log_spot[j] + shift) * scale;
        x_out[j] = x;
        gauss[j] = hv_exp(-0.5 * (x * x), fused);
    }
    for (int j = 0; j < HS_LANES; ++j) {
        double x = x_out[j];
        double y = fabs(x), num_c, den_c, num_t, den_t;
        hv_cody_polynomials(x, &num_c, &den_c, &num_t, &den_t);
        /* one division: selected by bits, which the compiler does not split into a
           division per branch */
        uint64_t central = (uint64_t)0 - (uint64_t)(y <= HEDGECORE_CODY_SMALL);
        double ratio = hs_blend(central, x * num_c, num_t) / hs_blend(central, den_c, den_t);
        double tail = gauss[j] * ratio;
        double upper = x < 0.0 ? tail : 1.0 - tail;
        cdf2[j] = 2.0 * hs_blend(central, 0.5 + ratio, upper);
    }
    for (int j = 0; j < HS_LANES; ++j)
        outside |= (uint64_t)0 - (uint64_t)!(fabs(x_out[j]) <= HEDGECORE_SQRT32);
    return outside > 0;
}

/* delta (+)= coef_delta cdf2 and, if need_gauss, gamma (+)= coef_gamma gauss on every
   lane: stored, not added to zeros, for a book's first term (0 + x == x: the same). */
static HEDGECORE_ALWAYS_INLINE void hs_accumulate_body(int accumulate, int need_gauss, double coef_delta,
                                         double coef_gamma, const double *HEDGECORE_RESTRICT cdf2,
                                         const double *HEDGECORE_RESTRICT gauss,
                                         double *HEDGECORE_RESTRICT delta, double *HEDGECORE_RESTRICT gamma) {
    if (accumulate)
        for (int j = 0; j < HS_LANES; ++j) delta[j] += coef_delta * cdf2[j];
    else
        for (int j = 0; j < HS_LANES; ++j) delta[j] = coef_delta * cdf2[j];
    if (!need_gauss) return;
    if (accumulate)
        for (int j = 0; j < HS_LANES; ++j) gamma[j] += coef_gamma * gauss[j];
    else
        for (int j = 0; j < HS_LANES; ++j) gamma[j] = coef_gamma * gauss[j];
}
#define HS_ACCUMULATE_ARGS int accumulate, int need_gauss, double coef_delta, \
    double coef_gamma, const double *cdf2, const double *gauss, double *delta, double *gamma
#define HS_ACCUMULATE_PASS accumulate, need_gauss, coef_delta, coef_gamma, cdf2, gauss, \
    delta, gamma
#define HS_ACCUMULATE_CALL hs_accumulate_body(HS_ACCUMULATE_PASS)

/* The trade pass of a policy over the lanes: band (or target), trade test, costs,
   cash, counts; a select per lane instead of a branch (exits are a coin toss). */
#define HS_TRADE_ARGS int use_band, int step, int min_interval, double min_trade, \
    double cost_rate, double fixed_cost, double impact_coef, double inv_adv, \
    double discount, double spot_hedge, int inverse, double centre_sign, \
    double centre_offset, const double *HEDGECORE_RESTRICT centre, \
    const double *HEDGECORE_RESTRICT outer, const double *HEDGECORE_RESTRICT inner, \
    const double *HEDGECORE_RESTRICT spot, double *HEDGECORE_RESTRICT cash, \
    double *HEDGECORE_RESTRICT cost_sum, double *HEDGECORE_RESTRICT trade_count, \
    int64_t *HEDGECORE_RESTRICT last_trade, double *HEDGECORE_RESTRICT hedge
static HEDGECORE_ALWAYS_INLINE void hs_trade_loop(HS_TRADE_ARGS, int banded_copy, int impact, int by_spot) {
    (void)use_band;   /* the copies are chosen by banded_copy and by_spot */
    (void)inverse;
    for (int j = 0; j < HS_LANES; ++j) {
        /* the current hedge in coins (an inverse perp's is its USD notional / S) */
        double cur = by_spot ? hedge[j] / spot[j] : hedge[j];
        double c = centre_sign * centre[j] + centre_offset, o = outer[j], in = inner[j];
        double deviation = cur - c;
        double banded = deviation < -o ? c - in : (deviation > o ? c + in : cur);
        double new_hedge = banded_copy ? banded : c;
        double change = new_hedge - cur;
        double size = fabs(change);
        double s = spot[j];
        int64_t last = last_trade[j];
        /* all 64-bit lanes, and every store unconditional: a conditional store becomes a
           masked store (slow on AMD) or a branch */
        uint64_t traded = (uint64_t)0 - (uint64_t)((size > 1e-13 * fabs(new_hedge))
            & (size >= min_trade) & ((last < 0) | (step - last >= min_interval)));
        double charge = cost_rate * s * size + fixed_cost;
        if (impact)
            charge = charge + impact_coef * s * size * sqrt(size * inv_adv);
        double cash_new = cash[j] - (charge + change * s * spot_hedge) * discount;
        double hedge_new = by_spot ? new_hedge * s : new_hedge;
        cash[j] = hs_blend(traded, cash_new, cash[j]);
        cost_sum[j] = hs_blend(traded, cost_sum[j] + charge, cost_sum[j]);
        trade_count[j] = hs_blend(traded, trade_count[j] + 1.0, trade_count[j]);
        hedge[j] = hs_blend(traded, hedge_new, hedge[j]);
        last_trade[j] = (int64_t)(((uint64_t)step & traded) | ((uint64_t)last & ~traded));
    }
}
/* the arguments of HS_TRADE_ARGS passed on as they are */
#define HS_TRADE_FORWARD use_band, step, min_interval, min_trade, cost_rate, fixed_cost, \
    impact_coef, inv_adv, discount, spot_hedge, inverse, centre_sign, centre_offset, centre, \
    outer, inner, spot, cash, cost_sum, trade_count, last_trade, hedge
/* a copy of the loop per case of band or target (time policies and first hedges do
   not read the band), of square-root impact (a vector sqrt per lane) and of inverse
   perp (a division per lane), so that none pays for what it does not use */
#define HS_TRADE_PASS(banded, impact, by_spot) \
    hs_trade_loop(HS_TRADE_FORWARD, banded, impact, by_spot)
#define HS_TRADE_CASES(banded) \
    if (impact_coef > 0.0) { \
        if (inverse) HS_TRADE_PASS(banded, 1, 1); else HS_TRADE_PASS(banded, 1, 0); \
    } else { \
        if (inverse) HS_TRADE_PASS(banded, 0, 1); else HS_TRADE_PASS(banded, 0, 0); \
    }
static HEDGECORE_ALWAYS_INLINE void hs_trade_body(HS_TRADE_ARGS) {
    if (use_band) { HS_TRADE_CASES(1) } else { HS_TRADE_CASES(0) }
}

/* cbrt(x) in place on every lane: exp(log|x| / 3) with the sign of x, polished by one
   Newton step y -= (y - x / y^2) / 3 (the guess is within ~1e-14 relative, the step
   brings it to an ulp or two). Returns nonzero if a lane is 0, subnormal, infinite or
   NaN, which the caller recomputes with libm's cbrt. */
static HEDGECORE_ALWAYS_INLINE int hs_cbrt_body(double *HEDGECORE_RESTRICT x, int fused) {
    uint64_t outside = 0;
    for (int j = 0; j < HS_LANES; ++j) {
        double v = x[j];
        double a = fabs(v);
        double y = hv_exp(hv_log(a, fused) * (1.0 / 3.0), fused);
        y = y - (y - a / (y * y)) * (1.0 / 3.0);
        outside |= (uint64_t)0 - (uint64_t)!(a >= 2.2250738585072014e-308 && a <= 1.7976931348623157e308);
        x[j] = v < 0.0 ? -y : y;
    }
    return outside > 0;
}
static void hs_uniforms_base(uint64_t *state, double *u) { hs_uniforms_body(state, u, 0); }
/* One copy of the portable kernels per instruction set, from the same bodies: `attr`
   the target attribute (none for the build's baseline), `fused` the fused
   multiply-adds of HEDGECORE_MADD, `cvt` SIMD 64-bit integer to double (AVX-512DQ). The AVX2
   and AVX-512 copies do the same operations and fuse the same multiply-adds, so they
   give the same results; the AVX-512 one runs on x86 CPUs with AVX-512 where libmvec
   is missing (glibc < 2.35, musl, macOS), about 1.4x faster per lane. The
   accumulation and the trade pass have no fused arithmetic: every copy agrees. */
#define HS_PORTABLE_KERNELS(suffix, attr, fused, cvt) \
    attr static void hs_gbm_##suffix(uint64_t *rng, double *z, double *log_spot, \
                                     double *spot, double drift, double vol) { \
        hs_gbm_body(fused, cvt, rng, z, log_spot, spot, drift, vol); \
    } \
    attr static int hs_cdf_##suffix(const double *log_spot, double shift, double scale, \
                                    double *x, double *cdf, double *half_gauss) { \
        return hs_cdf_body(log_spot, shift, scale, fused, x, cdf, half_gauss); \
    } \
    attr static int hs_cbrt_##suffix(double *x) { return hs_cbrt_body(x, fused); } \
    attr static void hs_accumulate_##suffix(HS_ACCUMULATE_ARGS) { HS_ACCUMULATE_CALL; } \
    attr static void hs_trade_##suffix(HS_TRADE_ARGS) { hs_trade_body(HS_TRADE_FORWARD); }
HS_PORTABLE_KERNELS(base, , 0, 0)
#ifdef HEDGECORE_X86_DISPATCH
HS_PORTABLE_KERNELS(avx2, HEDGECORE_TARGET("avx2,fma"), 1, 0)
HS_PORTABLE_KERNELS(avx512, HEDGECORE_TARGET("avx512f,avx512dq,avx2,fma"), 1, 1)
#endif

static int hs_use_avx2 = 0, hs_use_avx512 = 0;
/* Chooses the copy at import (hedgecore_portable_isa); returns 0, 1 or 2 as it does. */
static int hs_init(void) {
    int isa = hedgecore_portable_isa();
    hs_use_avx2 = isa >= 1;
    hs_use_avx512 = isa == 2;
    return isa;
}
#if HEDGECORE_LIBMVEC
/* With libmvec: its log, sin, cos, exp and erfc (a few ulp, faster here than the
   portable polynomials: table-driven), in one copy per vector width, generated from
   the intrinsics' prefix `pre` (_mm256 / _mm512), libmvec's name prefix `mvec`
   (_ZGVdN4v / _ZGVeN8v) and the lane count `width`. hs_gbm_mvec*: uniforms from the
   lane streams, Box-Muller normals z, log S, S. hs_cdf_mvec*: arg = (log S + shift)
   erfc_scale, cdf2 = erfc(arg) and, if need_gauss, gauss = exp(-arg^2). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#define HS_MVEC_KERNELS(width, isa, vec, pre, mvec, cvt) \
HEDGECORE_TARGET(isa) \
static void hs_gbm_mvec##width(uint64_t *rng, double *z, double *log_spot, double *spot, \
                               double drift, double vol) { \
    double u[HS_LANES]; \
    hs_uniforms_body(rng, u, cvt); \
    const vec one = pre##_set1_pd(1.0), minus_two = pre##_set1_pd(-2.0); \
    const vec two_pi = pre##_set1_pd(HEDGECORE_TWO_PI); \
    const vec vdrift = pre##_set1_pd(drift), vvol = pre##_set1_pd(vol); \
    for (int j = 0; j < HS_HALF; j += width) { \
        vec log_u = mvec##_log(pre##_sub_pd(one, pre##_loadu_pd(u + j))); \
        vec radius = pre##_sqrt_pd(pre##_mul_pd(minus_two, log_u)); \
        vec angle = pre##_mul_pd(two_pi, pre##_loadu_pd(u + j + HS_HALF)); \
        pre##_storeu_pd(z + j, pre##_mul_pd(mvec##_cos(angle), radius)); \
        pre##_storeu_pd(z + j + HS_HALF, pre##_mul_pd(mvec##_sin(angle), radius)); \
    } \
    for (int j = 0; j < HS_LANES; j += width) { \
        vec x = pre##_add_pd(pre##_add_pd(pre##_loadu_pd(log_spot + j), vdrift), \
                             pre##_mul_pd(vvol, pre##_loadu_pd(z + j))); \
        pre##_storeu_pd(log_spot + j, x); \
        pre##_storeu_pd(spot + j, mvec##_exp(x)); \
    } \
} \
HEDGECORE_TARGET(isa) \
static void hs_cdf_mvec##width(const double *log_spot, double shift, double erfc_scale, \
                               int need_gauss, double *arg, double *cdf2, double *gauss) { \
    const vec vshift = pre##_set1_pd(shift), vscale = pre##_set1_pd(erfc_scale); \
    const vec sign = pre##_set1_pd(-0.0); \
    for (int j = 0; j < HS_LANES; j += width) { \
        vec a = pre##_mul_pd(pre##_add_pd(pre##_loadu_pd(log_spot + j), vshift), vscale); \
        pre##_storeu_pd(arg + j, a); \
        pre##_storeu_pd(cdf2 + j, mvec##_erfc(a)); \
        if (need_gauss) \
            pre##_storeu_pd(gauss + j, mvec##_exp(pre##_mul_pd(pre##_xor_pd(a, sign), a))); \
    } \
}
HS_MVEC_KERNELS(4, "avx2,fma", __m256d, _mm256, _ZGVdN4v, 0)
HS_MVEC_KERNELS(8, "avx512f,avx512dq,avx2,fma", __m512d, _mm512, _ZGVeN8v, 1)
#pragma GCC diagnostic pop
#endif

/* The GBM step of the LANES paths, drawing from the lane streams: normals z, log S, S. */
static void hs_gbm(uint64_t *rng, double *z, double *log_spot, double *spot,
                   double drift, double vol) {
#if HEDGECORE_LIBMVEC
    if (hedgecore_use_mvec == 2) { hs_gbm_mvec8(rng, z, log_spot, spot, drift, vol); return; }
    if (hedgecore_use_mvec) { hs_gbm_mvec4(rng, z, log_spot, spot, drift, vol); return; }
#endif
#ifdef HEDGECORE_X86_DISPATCH
    if (hs_use_avx512) { hs_gbm_avx512(rng, z, log_spot, spot, drift, vol); return; }
    if (hs_use_avx2) { hs_gbm_avx2(rng, z, log_spot, spot, drift, vol); return; }
#endif
    hs_gbm_base(rng, z, log_spot, spot, drift, vol);
}
/* cdf2 = 2 N(d) and gauss = exp(-d^2/2) (only if need_gauss: libmvec's path skips it
   otherwise) of d = (log S + shift) * scale on every lane; erfc_scale = -scale / sqrt 2.
   Returns nonzero if some lane needs the caller's scalar erfc (portable path only);
   `arg` receives d there. */
static int hs_cdf(const double *log_spot, double shift, double scale, double erfc_scale,
                  int need_gauss, double *arg, double *cdf2, double *gauss) {
    (void)erfc_scale;   /* libmvec's only: the portable kernels compute gauss anyway */
    (void)need_gauss;
#if HEDGECORE_LIBMVEC
    if (hedgecore_use_mvec == 2) {
        hs_cdf_mvec8(log_spot, shift, erfc_scale, need_gauss, arg, cdf2, gauss);
        return 0;
    }
    if (hedgecore_use_mvec) {
        hs_cdf_mvec4(log_spot, shift, erfc_scale, need_gauss, arg, cdf2, gauss);
        return 0;
    }
#endif
#ifdef HEDGECORE_X86_DISPATCH
    if (hs_use_avx512) return hs_cdf_avx512(log_spot, shift, scale, arg, cdf2, gauss);
    if (hs_use_avx2) return hs_cdf_avx2(log_spot, shift, scale, arg, cdf2, gauss);
#endif
    return hs_cdf_base(log_spot, shift, scale, arg, cdf2, gauss);
}
/* One term of the book's delta (and gamma, if need_gauss) on every lane: cdf2, gauss
   and arg as hs_cdf, the lanes outside the portable kernels' range (|d| > sqrt 32 or
   NaN) through libm's erfc, then hs_accumulate_body. */
static void hs_delta_term(const double *log_spot, double shift, double scale,
                          double erfc_scale, int need_gauss, int accumulate,
                          double coef_delta, double coef_gamma, double *arg, double *cdf2,
                          double *gauss, double *delta, double *gamma) {
    if (hs_cdf(log_spot, shift, scale, erfc_scale, need_gauss, arg, cdf2, gauss))
        for (int j = 0; j < HS_LANES; ++j)
            if (!(fabs(arg[j]) <= HEDGECORE_SQRT32))
                cdf2[j] = erfc(-arg[j] * HEDGECORE_SQRT1_2);
#ifdef HEDGECORE_X86_DISPATCH
    if (hs_use_avx512) { hs_accumulate_avx512(HS_ACCUMULATE_PASS); return; }
    if (hs_use_avx2) { hs_accumulate_avx2(HS_ACCUMULATE_PASS); return; }
#endif
    hs_accumulate_base(HS_ACCUMULATE_PASS);
}
/* cbrt over the LANES lanes, in place: libmvec's when present, else the portable one
   (lanes it does not cover through libm). */
static void hs_cbrt_lanes(double *x) {
#if HEDGECORE_LIBMVEC
    if (hedgecore_use_mvec) { hedgecore_vector_cbrt(x, x, HS_LANES); return; }
#endif
    double original[HS_LANES];
    memcpy(original, x, sizeof(original));
    int outside;
#ifdef HEDGECORE_X86_DISPATCH
    if (hs_use_avx512) outside = hs_cbrt_avx512(x); else
    if (hs_use_avx2) outside = hs_cbrt_avx2(x); else
#endif
    outside = hs_cbrt_base(x);
    if (outside)
        for (int j = 0; j < HS_LANES; ++j) {
            double a = fabs(original[j]);
            if (!(a >= 2.2250738585072014e-308 && a <= 1.7976931348623157e308))
                x[j] = cbrt(original[j]);
        }
}
static void hs_trade(HS_TRADE_ARGS) {
#ifdef HEDGECORE_X86_DISPATCH
    if (hs_use_avx512) {
        hs_trade_avx512(HS_TRADE_FORWARD);
        return;
    }
    if (hs_use_avx2) {
        hs_trade_avx2(HS_TRADE_FORWARD);
        return;
    }
#endif
    hs_trade_base(HS_TRADE_FORWARD);
}

#endif /* HEDGECORE_LANES_H */
