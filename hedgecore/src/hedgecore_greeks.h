/* hedgecore_greeks.h: the branch-free pass of the Greeks loop driver (_greeks.pyx).
 *
 * A chunk of HC_CHUNK options goes through hc_prepare, which computes the parts that
 * option_greeks_from_parts (_maths.pxd) ends in: discount factors, d1, d2, N(d1), N(d2)
 * and Cody's tail factors, in short loops the compiler vectorises (SSE2/NEON on any build,
 * a second AVX2+FMA copy chosen at import when the CPU has it), and a flag `fast` per
 * element that says the parts are valid. _greeks.pyx hands the other elements to
 * option_greeks itself. Why this shape: see the module docstring of _greeks.pyx.
 */
#ifndef HEDGECORE_GREEKS_H
#define HEDGECORE_GREEKS_H

#include <float.h>

#include "hedgecore_platform.h"
#include "hedgecore_constants.h"
#include "hedgecore_vecmath.h"

#define HC_CHUNK 64

typedef struct {
    /* the inputs (padded, carry 0 for the forward models), so that the formula pass
       reads only this struct and the compiler can vectorise it */
    double underlying[HC_CHUNK];
    double strike[HC_CHUNK];
    double tau[HC_CHUNK];
    double vol[HC_CHUNK];
    double omega[HC_CHUNK];
    double rate[HC_CHUNK];
    double carry[HC_CHUNK];
    double df[HC_CHUNK];
    double carry_df[HC_CHUNK];
    double spot_over_strike[HC_CHUNK];
    double sqrt_tau[HC_CHUNK];
    double inv_sdt[HC_CHUNK];
    double d1[HC_CHUNK];
    double d2[HC_CHUNK];
    double half_gauss_1[HC_CHUNK];
    double cdf1[HC_CHUNK];
    double cdf2[HC_CHUNK];
    double tail_scaled_1[HC_CHUNK];
    double tail_scaled_2[HC_CHUNK];
    double half_gauss_2[HC_CHUNK];
    /* 1.0 where all the parts above are valid; 0.5 where they are but |d1| or |d2|
       is beyond Cody's middle range, so that cdf and tail_scaled are not; else 0.0 */
    double fast[HC_CHUNK];
} hc_parts_t;

/* N(x) and N(-|x|) exp(x^2/2) as norm_cdf_given_exp in _maths.pxd computes them, for
   |x| <= SQRT32 (callers screen larger |x|): the central and the tail rational are
   both evaluated and one selected before the division, so that there is no branch.
   In a book the branch is a coin toss, and its mispredictions cost 15% of the time. */
static HEDGECORE_ALWAYS_INLINE double hc_norm_cdf(double x, double half_gauss,
                                           double *tail_scaled) {
    double y = fabs(x), num_c, den_c, num_t, den_t;
    hv_cody_polynomials(x, &num_c, &den_c, &num_t, &den_t);
    int central = y <= HEDGECORE_CODY_SMALL;
    double ratio = (central ? x * num_c : num_t) / (central ? den_c : den_t);
    double tail = half_gauss * ratio;
    *tail_scaled = central ? 0.0 : ratio;
    return central ? 0.5 + ratio : (x < 0.0 ? tail : 1.0 - tail);
}

static HEDGECORE_ALWAYS_INLINE int hc_finite(double x) { return fabs(x) <= DBL_MAX; }

/* The parts option_greeks_from_parts needs, for HC_CHUNK elements, with the same
   expressions as option_greeks (which stays the reference), and a flag `fast` that
   says they are valid: inputs valid (inputs_valid in _maths.pxd), the distribution
   not collapsed, exp and log arguments within the ranges above, |d1|, |d2| within
   Cody's middle range. The driver hands other elements to option_greeks. */
static HEDGECORE_ALWAYS_INLINE void hc_prepare_body(
        int spot_model, int fused, const double *HEDGECORE_RESTRICT underlying,
        const double *HEDGECORE_RESTRICT strike, const double *HEDGECORE_RESTRICT tau,
        const double *HEDGECORE_RESTRICT vol, const double *HEDGECORE_RESTRICT omega,
        const double *HEDGECORE_RESTRICT rate, const double *HEDGECORE_RESTRICT carry,
        hc_parts_t *HEDGECORE_RESTRICT parts) {
    /* Several short loops rather than one: a single iteration is a dependency chain of
       ~200 cycles (log -> d1 -> exp -> Cody -> division) and ~450 instructions, too
       long for the out-of-order window to overlap two of them; short loops let it
       overlap consecutive iterations. */
    double log_moneyness[HC_CHUNK], forward_over_strike[HC_CHUNK];
    int j;
    for (j = 0; j < HC_CHUNK; j++) {
        double df = hv_exp(-rate[j] * tau[j], fused);
        double carry_df = spot_model ? hv_exp(-carry[j] * tau[j], fused) : df;
        parts->df[j] = df;
        parts->carry_df[j] = carry_df;
        parts->underlying[j] = underlying[j];
        parts->strike[j] = strike[j];
        parts->tau[j] = tau[j];
        parts->vol[j] = vol[j];
        parts->omega[j] = omega[j];
        parts->rate[j] = rate[j];
        parts->carry[j] = spot_model ? carry[j] : 0.0;
    }
    for (j = 0; j < HC_CHUNK; j++) {
        double spot_over_strike = underlying[j] / strike[j];
        double lm = hv_log(spot_over_strike, fused);
        double fos = spot_over_strike;
        if (spot_model) {
            lm = lm + (rate[j] - carry[j]) * tau[j];
            fos = spot_over_strike * (parts->carry_df[j] / parts->df[j]);
        }
        parts->spot_over_strike[j] = spot_over_strike;
        log_moneyness[j] = lm;
        forward_over_strike[j] = fos;
    }
    for (j = 0; j < HC_CHUNK; j++) {
        double sqrt_tau = sqrt(tau[j]);
        double sdt = vol[j] * sqrt_tau;
        double inv_sdt = 1.0 / sdt;
        double d1 = log_moneyness[j] * inv_sdt + 0.5 * sdt;
        double d2 = d1 - sdt;
        parts->sqrt_tau[j] = sqrt_tau;
        parts->inv_sdt[j] = inv_sdt;
        parts->d1[j] = d1;
        parts->d2[j] = d2;
        parts->half_gauss_1[j] = hv_exp(-0.5 * d1 * d1, fused);
        /* Chained selects, not `&` of comparisons, which GCC 12 does not vectorise. */
        double fast = hc_finite(underlying[j]) ? 1.0 : 0.0;
        fast = hc_finite(strike[j]) ? fast : 0.0;
        fast = hc_finite(tau[j]) ? fast : 0.0;
        fast = hc_finite(vol[j]) ? fast : 0.0;
        fast = hc_finite(rate[j]) ? fast : 0.0;
        fast = hc_finite(carry[j]) ? fast : 0.0;
        fast = underlying[j] > 0.0 ? fast : 0.0;
        fast = strike[j] > 0.0 ? fast : 0.0;
        fast = tau[j] >= 0.0 ? fast : 0.0;
        fast = vol[j] >= 0.0 ? fast : 0.0;
        fast = sdt > 1e-300 ? fast : 0.0;
        double near = fabs(d1) <= HEDGECORE_SQRT32 ? 1.0 : 0.5;
        near = fabs(d2) <= HEDGECORE_SQRT32 ? near : 0.5;
        parts->fast[j] = fast * near;
    }
    for (j = 0; j < HC_CHUNK; j++) {
        double fast = parts->fast[j];
        fast = parts->spot_over_strike[j] >= DBL_MIN ? fast : 0.0;
        fast = parts->spot_over_strike[j] <= DBL_MAX ? fast : 0.0;
        fast = parts->df[j] >= DBL_MIN ? fast : 0.0;
        fast = parts->df[j] <= DBL_MAX ? fast : 0.0;
        fast = parts->carry_df[j] >= DBL_MIN ? fast : 0.0;
        fast = parts->carry_df[j] <= DBL_MAX ? fast : 0.0;
        fast = parts->half_gauss_1[j] >= DBL_MIN ? fast : 0.0;
        parts->fast[j] = fast;
        parts->cdf1[j] = hc_norm_cdf(omega[j] * parts->d1[j], parts->half_gauss_1[j],
                                     &parts->tail_scaled_1[j]);
    }
    for (j = 0; j < HC_CHUNK; j++) {
        double half_gauss_2 = parts->half_gauss_1[j] * forward_over_strike[j];
        parts->half_gauss_2[j] = half_gauss_2;
        parts->cdf2[j] = hc_norm_cdf(omega[j] * parts->d2[j], half_gauss_2,
                                     &parts->tail_scaled_2[j]);
    }
}

#define HC_PREPARE_ARGS const double *HEDGECORE_RESTRICT underlying, \
    const double *HEDGECORE_RESTRICT strike, const double *HEDGECORE_RESTRICT tau, \
    const double *HEDGECORE_RESTRICT vol, const double *HEDGECORE_RESTRICT omega, \
    const double *HEDGECORE_RESTRICT rate, const double *HEDGECORE_RESTRICT carry, \
    hc_parts_t *HEDGECORE_RESTRICT parts
#define HC_PREPARE_CALL(spot_model, fused) \
    hc_prepare_body(spot_model, fused, underlying, strike, tau, vol, omega, rate, carry, parts)

static void hc_prepare_spot(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1, 0); }
static void hc_prepare_forward(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0, 0); }

/* x86-64 baseline is SSE2 (two lanes); a second copy of the pass for AVX2+FMA (four
   lanes) is chosen at run time (HEDGECORE_NO_AVX2=1 in the environment forces the
   baseline, for testing it). Not ifunc/target_clones: musl has no ifunc. Only the
   exp/log polynomials are fused (HV_MADD; 7-10% of the time): fusing the Cody
   rationals too changed N(d) by an ulp here and there, and N(d1) - (K/F) N(d2)
   cancels up to ~10x in a near-the-money price, enough to fail the implied-vol round
   trip at 4 ulp. So the two copies differ only in exp/log (both within 1-2 ulp of
   libm). Other platforms and compilers use the baseline copy only. */
#ifdef HEDGECORE_X86_DISPATCH
HEDGECORE_TARGET("avx2,fma")
static void hc_prepare_spot_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(1, 1); }
HEDGECORE_TARGET("avx2,fma")
static void hc_prepare_forward_avx2(HC_PREPARE_ARGS) { HC_PREPARE_CALL(0, 1); }
#endif

static int hc_use_avx2 = 0;

/* Chooses the copy at import: the AVX2+FMA one when the CPU has it (there is no AVX-512
   copy of this pass; hedgecore_portable_isa() 2 means AVX2 too). */
static int hc_init(void) {
    hc_use_avx2 = hedgecore_portable_isa() >= 1;
    return hc_use_avx2;
}

static void hc_prepare_full(int spot_model, HC_PREPARE_ARGS) {
#ifdef HEDGECORE_X86_DISPATCH
    if (hc_use_avx2) {
        if (spot_model) hc_prepare_spot_avx2(underlying, strike, tau, vol, omega, rate, carry, parts);
        else hc_prepare_forward_avx2(underlying, strike, tau, vol, omega, rate, carry, parts);
        return;
    }
#endif
    if (spot_model) hc_prepare_spot(underlying, strike, tau, vol, omega, rate, carry, parts);
    else hc_prepare_forward(underlying, strike, tau, vol, omega, rate, carry, parts);
}

/* `count` <= HC_CHUNK elements from the given pointers; a short chunk is copied into
   padded buffers so that the pass always runs its full, vectorised length. omega
   (+-1) is made in a loop of its own: GCC does not vectorise byte loads in a loop of
   doubles. */
static void hc_prepare(int spot_model, const double *underlying, const double *strike,
                       const double *tau, const double *vol,
                       const unsigned char *is_call, const double *rate,
                       const double *carry, Py_ssize_t count, hc_parts_t *parts) {
    double pad[6][HC_CHUNK];
    double omega[HC_CHUNK];
    Py_ssize_t j;
    if (count == HC_CHUNK) {
        for (j = 0; j < HC_CHUNK; j++) omega[j] = is_call[j] ? 1.0 : -1.0;
        hc_prepare_full(spot_model, underlying, strike, tau, vol, omega, rate, carry,
                        parts);
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
        omega[j] = (inside && !is_call[j]) ? -1.0 : 1.0;
    }
    hc_prepare_full(spot_model, pad[0], pad[1], pad[2], pad[3], omega, pad[4], pad[5],
                    parts);
}

#endif /* HEDGECORE_GREEKS_H */
