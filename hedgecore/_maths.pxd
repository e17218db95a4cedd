# cython: language_level=3
"""Shared typedefs and inline maths of hedgecore's compiled core.

Every compiled module cimports from here, so a formula is written once. The functions are
point kernels: doubles in, doubles out, no Python objects, never raising. Tails are computed
directly (erfc in norm_cdf, Cody's tail approximation in the Greeks kernel; never as
1 - N(x)), so deep in- or out-of-the-money values keep their relative precision.

Conventions (see README "Units"):
- model codes: MODEL_BSM spot with carry, MODEL_BLACK76 forward, MODEL_INVERSE coin-settled;
- omega = +1 for a call, -1 for a put;
- theta and charm are per year of calendar time passing (= -d/dtau).
"""

from libc.math cimport erfc, exp, log, sqrt, fabs, isfinite, NAN, INFINITY

cdef enum:
    MODEL_BSM = 0
    MODEL_BLACK76 = 1
    MODEL_INVERSE = 2

cdef enum:
    N_GREEKS = 9

# Constants live in C, in hedgecore/src/hedgecore_constants.h (a .pxd may not hold
# module-level values without a module behind it).
cdef extern from "hedgecore_constants.h":
    const double SQRT1_2 "HEDGECORE_SQRT1_2"
    const double INV_SQRT_2PI "HEDGECORE_INV_SQRT_2PI"


cdef struct greeks_t:
    double price
    double delta
    double gamma
    double vega
    double theta
    double rho
    double vanna
    double volga
    double charm


cdef inline double norm_cdf(double x) noexcept nogil:
    """N(x) = erfc(-x/sqrt(2))/2, accurate in both tails."""
    return 0.5 * erfc(-x * SQRT1_2)


cdef inline double norm_pdf(double x) noexcept nogil:
    return INV_SQRT_2PI * exp(-0.5 * x * x)


# The Greeks kernel evaluates N with W. J. Cody's rational Chebyshev approximations
# (Math. Comp. 23 (1969) 631-637; the coefficients of ACM TOMS 715 ANORM, as in R's pnorm).
# Their tail form N(-y) = exp(-y^2/2) * R(y) lets the kernel reuse the one exp it needs for
# the density, and write an out-of-the-money price as a difference of the smooth R values
# instead of a difference of two tiny N values (see option_greeks).
cdef extern from "hedgecore_constants.h":
    const double CODY_SMALL "HEDGECORE_CODY_SMALL"
    const double SQRT32 "HEDGECORE_SQRT32"
    const double SDT_MIN "HEDGECORE_SDT_MIN"


cdef inline double norm_cdf_central(double x) noexcept nogil:
    """N(x) for |x| <= CODY_SMALL (no exponential needed)."""
    cdef double xsq = x * x
    cdef double num = ((((0.065682337918207449113 * xsq + 2.2352520354606839287) * xsq
                         + 161.02823106855587881) * xsq + 1067.6894854603709582) * xsq
                       + 18154.981253343561249)
    cdef double den = ((((xsq + 47.20258190468824187) * xsq + 976.09855173777669322) * xsq
                        + 10260.932208618978205) * xsq + 45507.789335026729956)
    return 0.5 + x * num / den


cdef inline double norm_tail_scaled(double y) noexcept nogil:
    """N(-y) * exp(y^2/2) for y >= CODY_SMALL: smooth, about 1/(y sqrt(2 pi)) for large y."""
    cdef double num, den, ysq
    if y <= SQRT32:
        num = ((((((((1.0765576773720192317e-8 * y + 0.39894151208813466764) * y
                     + 8.8831497943883759412) * y + 93.506656132177855979) * y
                   + 597.27027639480026226) * y + 2494.5375852903726711) * y
                 + 6848.1904505362823326) * y + 11602.651437647350124) * y
               + 9842.7148383839780218)
        den = ((((((((y + 22.266688044328115691) * y + 235.38790178262499861) * y
                    + 1519.377599407554805) * y + 6485.558298266760755) * y
                  + 18615.571640885098091) * y + 34900.952721145977266) * y
                + 38912.003286093271411) * y + 19685.429676859990727)
        return num / den
    ysq = 1.0 / (y * y)
    num = (((((0.02307344176494017303 * ysq + 0.21589853405795699) * ysq
              + 0.1274011611602473639) * ysq + 0.022235277870649807) * ysq
            + 0.001421619193227893466) * ysq + 2.9112874951168792e-5)
    den = (((((ysq + 1.28426009614491121) * ysq + 0.468238212480865118) * ysq
             + 0.0659881378689285515) * ysq + 0.00378239633202758244) * ysq
           + 7.29751555083966205e-5)
    return (INV_SQRT_2PI - ysq * num / den) / y


cdef inline void fill_nan(greeks_t* g) noexcept nogil:
    g.price = NAN
    g.delta = NAN
    g.gamma = NAN
    g.vega = NAN
    g.theta = NAN
    g.rho = NAN
    g.vanna = NAN
    g.volga = NAN
    g.charm = NAN


cdef inline bint inputs_valid(double underlying, double strike, double tau, double vol,
                              double rate, double carry) noexcept nogil:
    return (isfinite(underlying) and isfinite(strike) and isfinite(tau) and isfinite(vol)
            and isfinite(rate) and isfinite(carry)
            and underlying > 0.0 and strike > 0.0 and tau >= 0.0 and vol >= 0.0)


cdef inline double norm_cdf_given_exp(double x, double half_gauss, double* tail_scaled
                                      ) noexcept nogil:
    """N(x), given half_gauss = exp(-x^2/2). Writes N(-|x|) exp(x^2/2) to tail_scaled
    (0 for |x| <= CODY_SMALL, where N comes from the central approximation)."""
    cdef double y = fabs(x)
    cdef double tail
    if y <= CODY_SMALL:
        tail_scaled[0] = 0.0
        return norm_cdf_central(x)
    tail_scaled[0] = norm_tail_scaled(y)
    tail = half_gauss * tail_scaled[0]
    return tail if x < 0.0 else 1.0 - tail


cdef inline greeks_t option_greeks(int model, double underlying, double strike, double tau,
                                   double vol, bint is_call, double rate, double carry
                                   ) noexcept nogil:
    """All nine raw Greeks of one European option, returned by value (so that a prange
    loop keeps one private copy per thread).

    `underlying` is the spot S for MODEL_BSM and the forward F otherwise. `carry` (the
    continuous yield q) is used by MODEL_BSM only. Invalid inputs give NaN everywhere.
    At tau == 0 the price is the intrinsic value, delta its limit (1/2 at the money) and the
    other Greeks are 0; at vol == 0 (tau > 0) the price is the discounted intrinsic value of
    the forward and the Greeks the limits of the formulas as vol -> 0.

    This computes the transcendental parts (exp, log, sqrt, N) with libm and Cody's N and
    hands them to option_greeks_from_parts, which holds the formulas; the Greeks loop
    driver computes the same parts a chunk at a time with vectorised code instead.
    """
    cdef double omega = 1.0 if is_call else -1.0
    cdef double df, carry_df, spot_over_strike, log_moneyness, forward_over_strike
    cdef double sqrt_tau, sdt, inv_sdt = 0.0, d1, d2, cdf1, cdf2
    cdef double half_gauss_1, half_gauss_2, tail_scaled_1 = 0.0, tail_scaled_2 = 0.0

    if not inputs_valid(underlying, strike, tau, vol, rate, carry):
        return greeks_nan()
    if model != MODEL_BSM:
        carry = 0.0

    df = exp(-rate * tau)
    spot_over_strike = underlying / strike
    log_moneyness = log(spot_over_strike)
    if model == MODEL_BSM:
        carry_df = exp(-carry * tau)
        log_moneyness = log_moneyness + (rate - carry) * tau
        forward_over_strike = spot_over_strike * (carry_df / df)
    else:
        carry_df = df
        forward_over_strike = spot_over_strike
    sqrt_tau = sqrt(tau)
    sdt = vol * sqrt_tau
    # Below SDT_MIN (subnormal vol or tau, in effect zero) 1/sdt would overflow: the
    # distribution of the forward is treated as collapsed, as at vol == 0.
    if sdt > SDT_MIN:
        inv_sdt = 1.0 / sdt
        d1 = log_moneyness * inv_sdt + 0.5 * sdt
        d2 = d1 - sdt
        half_gauss_1 = exp(-0.5 * d1 * d1)
        # exp(-d2^2/2) = exp(-d1^2/2) F/K; guarded where the first underflows to 0.
        half_gauss_2 = half_gauss_1 * forward_over_strike if half_gauss_1 > 0.0 else 0.0
        cdf1 = norm_cdf_given_exp(omega * d1, half_gauss_1, &tail_scaled_1)
        cdf2 = norm_cdf_given_exp(omega * d2, half_gauss_2, &tail_scaled_2)
    else:
        # The forward's distribution is a point: N becomes a step, the density 0.
        d1 = 0.0
        d2 = 0.0
        half_gauss_1 = 0.0
        if log_moneyness * omega > 0.0:
            cdf1 = 1.0
        elif log_moneyness == 0.0:
            cdf1 = 0.5
        else:
            cdf1 = 0.0
        cdf2 = cdf1
    if tau == 0.0:
        # At expiry: the intrinsic value and the limit of delta, the rest 0.
        return greeks_at_expiry(model, underlying, strike, omega, cdf1, cdf2)
    return option_greeks_from_parts(model, underlying, strike, tau, vol, omega, rate, carry,
                                    df, carry_df, spot_over_strike, sqrt_tau, inv_sdt, d1, d2,
                                    half_gauss_1, cdf1, cdf2, tail_scaled_1, tail_scaled_2)


cdef inline greeks_t greeks_at_expiry(int model, double underlying, double strike, double omega,
                                      double cdf1, double cdf2) noexcept nogil:
    cdef greeks_t g
    if model == MODEL_INVERSE:
        g.price = max(omega * (underlying - strike), 0.0) / underlying
        g.delta = omega * cdf2 * strike / underlying
    else:
        g.price = max(omega * (underlying - strike), 0.0)
        g.delta = omega * cdf1
    g.gamma = 0.0
    g.vega = 0.0
    g.theta = 0.0
    g.rho = 0.0
    g.vanna = 0.0
    g.volga = 0.0
    g.charm = 0.0
    return g


cdef inline greeks_t greeks_nan() noexcept nogil:
    cdef greeks_t g
    fill_nan(&g)
    return g


cdef inline double option_value(double omega, double d1, double d2, double weight_1,
                                double weight_2, double half_gauss_1, double cdf1, double cdf2,
                                double tail_scaled_1, double tail_scaled_2) noexcept nogil:
    """The price omega (A N(omega d1) - B N(omega d2)), A = weight_1 and B = weight_2 (see
    option_greeks_from_parts); out of the money, where both N are Cody tails, as omega A
    exp(-d1^2/2) (R(-omega d1) - R(-omega d2)), without the cancellation of two tiny N."""
    # Both forms, then a select: which one applies is a coin toss across a book, and a
    # branch here was mispredicted that often; no branch also lets the driver vectorise.
    cdef double value_otm = omega * weight_1 * half_gauss_1 * (tail_scaled_1 - tail_scaled_2)
    cdef double value = omega * (weight_1 * cdf1 - weight_2 * cdf2)
    if (omega * d1 < -CODY_SMALL) & (omega * d2 < -CODY_SMALL):
        value = value_otm
    return value


# The density terms of the Greeks (see density_terms).
cdef struct density_terms_t:
    double pdf_over_sdt             # n(d1) / (vol sqrt(tau))
    double pdf_over_vol             # n(d1) / vol
    double half_vol_over_sqrt_tau   # vol / (2 sqrt(tau))
    double half_d1_over_tau         # d1 / (2 tau)
    double half_d2_over_tau         # d2 / (2 tau)
    double d1                       # d1 and d2 as they multiply a density: 0 where it is 0
    double d2


cdef inline density_terms_t density_terms(double pdf1, double vol, double sqrt_tau,
                                          double inv_sdt, double d1, double d2) noexcept nogil:
    """The density terms, from inv_sdt = 1/(vol sqrt(tau)): 1/vol = sqrt(tau) inv_sdt and
    1/sqrt(tau) = vol inv_sdt. Where the density pdf1 = n(d1) underflowed (|d1| > 38, d1
    possibly infinite) or the distribution collapsed they are 0, never 0 * inf."""
    cdef density_terms_t terms
    cdef double inv_sqrt_tau
    if pdf1 > 0.0:
        inv_sqrt_tau = vol * inv_sdt
        terms.pdf_over_sdt = pdf1 * inv_sdt
        terms.pdf_over_vol = pdf1 * sqrt_tau * inv_sdt
        terms.half_vol_over_sqrt_tau = 0.5 * vol * inv_sqrt_tau
        terms.half_d1_over_tau = 0.5 * (d1 * inv_sqrt_tau) * inv_sqrt_tau
        terms.half_d2_over_tau = 0.5 * (d2 * inv_sqrt_tau) * inv_sqrt_tau
        terms.d1 = d1
        terms.d2 = d2
    else:
        terms.pdf_over_sdt = 0.0
        terms.pdf_over_vol = 0.0
        terms.half_vol_over_sqrt_tau = 0.0
        terms.half_d1_over_tau = 0.0
        terms.half_d2_over_tau = 0.0
        terms.d1 = 0.0
        terms.d2 = 0.0
    return terms


cdef inline greeks_t option_greeks_from_parts(
        int model, double underlying, double strike, double tau, double vol, double omega,
        double rate, double carry, double df, double carry_df, double spot_over_strike,
        double sqrt_tau, double inv_sdt, double d1, double d2, double half_gauss_1,
        double cdf1, double cdf2, double tail_scaled_1, double tail_scaled_2
        ) noexcept nogil:
    """The nine Greeks of one valid option before expiry (inputs_valid holds, tau > 0;
    carry is 0 unless MODEL_BSM; omega = +-1), given its transcendental parts as
    option_greeks computes them: df = e^{-r tau}, carry_df = e^{-q tau} (bsm; df
    otherwise), spot_over_strike = S/K, sqrt_tau, inv_sdt = 1/(vol sqrt_tau), d1, d2,
    half_gauss_1 = exp(-d1^2/2), cdf_k = N(omega d_k) and tail_scaled_k as
    norm_cdf_given_exp gives them; where the distribution collapsed (vol sqrt_tau <=
    SDT_MIN), d1 = d2 = half_gauss_1 = 0, the tails 0 and cdf1 = cdf2 = the step.

    Straight-line code for an option with half_gauss_1 > 0 (no branch the model does not
    decide), so that the Greeks driver's loop over a chunk vectorises.

    Every model prices as omega (A N(omega d1) - B N(omega d2)) with A n(d1) = B n(d2):
    A = S e^{-q tau}, B = K e^{-r tau} (bsm); A = F e^{-r tau}, B = K e^{-r tau} (black76);
    A = e^{-r tau}, B = (K/F) e^{-r tau} (inverse, in coin). Out of the money both N are
    tails N(-y) = exp(-y^2/2) R(y), so the price is omega A exp(-d1^2/2) (R(-omega d1) -
    R(-omega d2)): no cancellation between two tiny numbers, and one exp for both N and n.
    """
    cdef double pdf1 = INV_SQRT_2PI * half_gauss_1
    cdef double value, weight_1, weight_2
    cdef double dd1_dtau = 0.0
    cdef density_terms_t density
    cdef greeks_t g

    if model == MODEL_BSM:
        weight_1 = underlying * carry_df
        weight_2 = strike * df
    elif model == MODEL_BLACK76:
        weight_1 = underlying * df
        weight_2 = strike * df
    else:
        weight_1 = df
        weight_2 = df / spot_over_strike
    value = option_value(omega, d1, d2, weight_1, weight_2, half_gauss_1, cdf1, cdf2,
                         tail_scaled_1, tail_scaled_2)
    density = density_terms(pdf1, vol, sqrt_tau, inv_sdt, d1, d2)

    g.price = value
    if model == MODEL_BSM:
        # carry_df = e^{-q tau}; the forward is S e^{(r-q) tau}
        g.delta = omega * carry_df * cdf1
        g.gamma = carry_df * density.pdf_over_sdt / underlying
        g.vega = weight_1 * pdf1 * sqrt_tau
        g.theta = (-weight_1 * pdf1 * density.half_vol_over_sqrt_tau
                   + omega * (carry * weight_1 * cdf1 - rate * weight_2 * cdf2))
        g.rho = omega * weight_2 * tau * cdf2
        g.vanna = -carry_df * density.pdf_over_vol * density.d2
        g.volga = weight_1 * sqrt_tau * density.pdf_over_vol * density.d1 * density.d2
        if pdf1 > 0.0:
            # d(d1)/dtau = (r - q) / (vol sqrt(tau)) - d2 / (2 tau)
            dd1_dtau = (rate - carry) * inv_sdt - density.half_d2_over_tau
        g.charm = carry * g.delta - carry_df * pdf1 * dd1_dtau
    elif model == MODEL_BLACK76:
        g.delta = omega * df * cdf1
        g.gamma = df * density.pdf_over_sdt / underlying
        g.vega = weight_1 * pdf1 * sqrt_tau
        g.theta = rate * value - weight_1 * pdf1 * density.half_vol_over_sqrt_tau
        g.rho = -tau * value
        g.vanna = -df * density.pdf_over_vol * density.d2
        g.volga = weight_1 * sqrt_tau * density.pdf_over_vol * density.d1 * density.d2
        g.charm = rate * g.delta + df * pdf1 * density.half_d2_over_tau
    else:
        # Coin-settled: price in coin = Black-76 / F. delta is the premium-adjusted delta
        # F dV_coin/dF = omega df (K/F) N(omega d2), gamma its derivative in F, vanna and
        # charm its derivatives in vol and calendar time; vega, theta, rho, volga are those
        # of the coin price.
        g.delta = omega * weight_2 * cdf2
        g.gamma = (df * density.pdf_over_sdt - g.delta) / underlying
        g.vega = df * pdf1 * sqrt_tau
        g.theta = rate * value - df * pdf1 * density.half_vol_over_sqrt_tau
        g.rho = -tau * value
        g.vanna = -df * density.pdf_over_vol * density.d1
        g.volga = df * sqrt_tau * density.pdf_over_vol * density.d1 * density.d2
        g.charm = rate * g.delta + df * pdf1 * density.half_d1_over_tau
    return g
