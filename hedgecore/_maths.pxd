# cython: language_level=3
"""Shared typedefs and inline maths of hedgecore's compiled core.

Every compiled module cimports from here, so a formula is written once. The functions are
point kernels: doubles in, doubles out, no Python objects, never raising. Tails are computed
with erfc and logs (never 1 - N(x)), so deep in- or out-of-the-money values keep their
relative precision.

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

# Constants live in C (a .pxd may not hold module-level values without a module behind it).
cdef extern from *:
    """
    #define HEDGECORE_SQRT1_2 0.70710678118654752440
    #define HEDGECORE_INV_SQRT_2PI 0.39894228040143267794
    """
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
    """
    cdef double omega = 1.0 if is_call else -1.0
    cdef double df, carry_df, log_moneyness, sdt, sqrt_tau, d1, d2, cdf1, cdf2, pdf1
    cdef double value, fwd
    cdef double pdf_over_sdt = 0.0, dd1_dtau = 0.0
    cdef greeks_t g

    if not inputs_valid(underlying, strike, tau, vol, rate, carry):
        fill_nan(&g)
        return g
    if model != MODEL_BSM:
        carry = 0.0

    df = exp(-rate * tau)
    if model == MODEL_BSM:
        carry_df = exp(-carry * tau)
        log_moneyness = log(underlying / strike) + (rate - carry) * tau
    else:
        carry_df = df
        log_moneyness = log(underlying / strike)

    sqrt_tau = sqrt(tau)
    sdt = vol * sqrt_tau
    if sdt > 0.0:
        d1 = log_moneyness / sdt + 0.5 * sdt
        d2 = d1 - sdt
        cdf1 = norm_cdf(omega * d1)
        cdf2 = norm_cdf(omega * d2)
        pdf1 = norm_pdf(d1)
    else:
        # vol or tau is zero: the distribution of the forward collapses to a point.
        d1 = 0.0
        d2 = 0.0
        if log_moneyness * omega > 0.0:
            cdf1 = 1.0
        elif log_moneyness == 0.0:
            cdf1 = 0.5
        else:
            cdf1 = 0.0
        cdf2 = cdf1
        pdf1 = 0.0

    if tau == 0.0:
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

    if pdf1 > 0.0:
        pdf_over_sdt = pdf1 / sdt

    if model == MODEL_BSM:
        # carry_df = e^{-q tau}; the forward is S e^{(r-q) tau}
        value = omega * (underlying * carry_df * cdf1 - strike * df * cdf2)
        g.price = value
        g.delta = omega * carry_df * cdf1
        g.gamma = carry_df * pdf_over_sdt / underlying
        g.vega = underlying * carry_df * pdf1 * sqrt_tau
        g.theta = (-0.5 * underlying * carry_df * pdf1 * vol / sqrt_tau
                   + omega * carry * underlying * carry_df * cdf1
                   - omega * rate * strike * df * cdf2)
        g.rho = omega * strike * tau * df * cdf2
        if pdf1 > 0.0:
            g.vanna = -carry_df * pdf1 * d2 / vol
            g.volga = g.vega * d1 * d2 / vol
            # d(d1)/dtau = (2 b tau - d2 sdt) / (2 tau sdt), b = r - q
            dd1_dtau = (2.0 * (rate - carry) * tau - d2 * sdt) / (2.0 * tau * sdt)
        else:
            g.vanna = 0.0
            g.volga = 0.0
        g.charm = carry * g.delta - carry_df * pdf1 * dd1_dtau
    elif model == MODEL_BLACK76:
        value = df * omega * (underlying * cdf1 - strike * cdf2)
        g.price = value
        g.delta = omega * df * cdf1
        g.gamma = df * pdf_over_sdt / underlying
        g.vega = df * underlying * pdf1 * sqrt_tau
        g.theta = rate * value - 0.5 * df * underlying * pdf1 * vol / sqrt_tau
        g.rho = -tau * value
        if pdf1 > 0.0:
            g.vanna = -df * pdf1 * d2 / vol
            g.volga = g.vega * d1 * d2 / vol
            g.charm = rate * g.delta + df * pdf1 * d2 / (2.0 * tau)
        else:
            g.vanna = 0.0
            g.volga = 0.0
            g.charm = rate * g.delta
    else:
        # Coin-settled: price in coin = Black-76 / F. delta is the premium-adjusted delta
        # F dV_coin/dF = omega df (K/F) N(omega d2), gamma its derivative in F, vanna and
        # charm its derivatives in vol and calendar time; vega, theta, rho, volga are those
        # of the coin price.
        fwd = underlying
        value = df * omega * (cdf1 - (strike / fwd) * cdf2)
        g.price = value
        g.delta = omega * df * (strike / fwd) * cdf2
        g.gamma = df * pdf_over_sdt / fwd - g.delta / fwd
        g.vega = df * pdf1 * sqrt_tau
        g.theta = rate * value - 0.5 * df * pdf1 * vol / sqrt_tau
        g.rho = -tau * value
        if pdf1 > 0.0:
            g.vanna = -df * pdf1 * d1 / vol
            g.volga = g.vega * d1 * d2 / vol
            g.charm = rate * g.delta + df * pdf1 * d1 / (2.0 * tau)
        else:
            g.vanna = 0.0
            g.volga = 0.0
            g.charm = rate * g.delta
    return g
