# cython: language_level=3
"""Hedge-band point kernels: inline, nogil, never raising (invalid inputs give NaN).

The simulator (_sim.pyx) cimports these for its band policies and the loop drivers in
_bands.pyx call them element by element. Formulas: REFERENCE.md section 2.

Units throughout: gamma is the *position* gamma (units of the underlying per 1 USD move of
the price), spot in USD, cost the one-way proportional cost (fee + half-spread, a fraction
of notional), risk_aversion the absolute risk aversion per USD (utility -exp(-a x)),
fixed_cost in USD per trade, tau and dt in years. Band widths come out in units of the
underlying: dimensionally lambda S Gamma^2 / a is (units)^3, (Gamma / a)^(1/2) is units.
"""

from libc.math cimport exp, log, log1p, sqrt, fabs, cbrt, isfinite, NAN

# sqrt(8/pi): Leland's factor for a one-way cost (sqrt(2/pi) for the round-trip cost).
cdef extern from "hedgecore_constants.h":
    const double SQRT_8_OVER_PI "HEDGECORE_SQRT_8_OVER_PI"


cdef struct zakamouline_t:
    double half_width      # H_0 + H_w, units of the underlying
    double modified_vol    # sigma_m, the vol at which the band centre (the delta) is taken


cdef struct nested_t:
    double outer           # |hedge - delta| beyond this triggers a trade
    double inner           # ... and the trade goes back to this distance from delta


cdef inline double whalley_wilmott_width(double gamma, double spot, double cost,
                                         double risk_aversion, double rate,
                                         double tau) noexcept nogil:
    """Whalley-Wilmott (1997) half width H = (3 e^{-r tau} lambda S Gamma^2 / (2 a))^(1/3)."""
    if not (isfinite(gamma) and isfinite(spot) and isfinite(cost) and isfinite(risk_aversion)
            and isfinite(rate) and isfinite(tau)
            and spot > 0.0 and cost >= 0.0 and risk_aversion > 0.0 and tau >= 0.0):
        return NAN
    cdef double discount = exp(-rate * tau) if rate * tau != 0.0 else 1.0
    return cbrt(1.5 * discount * cost * spot * gamma * gamma / risk_aversion)


cdef inline zakamouline_t zakamouline(double gamma, double spot, double vol, double tau,
                                      double cost, double risk_aversion,
                                      double rate) noexcept nogil:
    """Zakamouline (2006) band: half width H_0 + H_w around the delta at sigma_m.

    H_0 = lambda / (a S sigma^2 tau)
    H_w = 1.12 lambda^0.31 tau^0.05 (e^{-r tau} / sigma)^0.25 (|Gamma| / a)^0.5
    K   = -4.76 lambda^0.78 tau^-0.02 (e^{-r tau} / sigma)^0.25 (a S^2 |Gamma|)^0.15
    sigma_m = sigma sqrt(1 - K) for a short option position (gamma < 0),
              sigma sqrt(1 + K) for a long one (gamma >= 0).
    K <= 0, so a short position hedges at a higher vol and a long one at a lower vol; when
    1 + K < 0 (a long position with costs large against its gamma) the modified variance
    would be negative and sigma_m is floored at 0 (the delta becomes the intrinsic step).
    """
    cdef zakamouline_t band
    cdef double abs_gamma = fabs(gamma)
    cdef double log_cost, log_tau, log_vol_factor, h_zero, h_w, k, scale
    if not (isfinite(gamma) and isfinite(spot) and isfinite(vol) and isfinite(tau)
            and isfinite(cost) and isfinite(risk_aversion) and isfinite(rate)
            and spot > 0.0 and vol > 0.0 and tau > 0.0 and cost >= 0.0
            and risk_aversion > 0.0):
        band.half_width = NAN
        band.modified_vol = NAN
        return band
    h_zero = cost / (risk_aversion * spot * vol * vol * tau)
    if cost == 0.0 or abs_gamma == 0.0:
        # lambda^0.31 = 0 or |Gamma|^0.5 = 0 in H_w, and lambda^0.78 = 0 or |Gamma|^0.15 = 0 in K
        h_w = 0.0
        k = 0.0
    else:
        # The fitted powers through logs: two exps instead of five pow calls.
        log_cost = log(cost)
        log_tau = log(tau)
        log_vol_factor = 0.25 * (-rate * tau - log(vol))        # ln (e^{-r tau} / sigma)^0.25
        h_w = 1.12 * exp(0.31 * log_cost + 0.05 * log_tau + log_vol_factor) * sqrt(
            abs_gamma / risk_aversion)
        k = -4.76 * exp(0.78 * log_cost - 0.02 * log_tau + log_vol_factor
                        + 0.15 * log(risk_aversion * spot * spot * abs_gamma))
    band.half_width = h_zero + h_w
    if gamma < 0.0:
        scale = 1.0 - k
    else:
        scale = 1.0 + k
    band.modified_vol = vol * sqrt(scale) if scale > 0.0 else 0.0
    return band


cdef inline double leland_vol(double vol, double cost, double dt, bint is_short) noexcept nogil:
    """Leland (1985) volatility sigma_L = sigma sqrt(1 +/- Le), Le = sqrt(8/pi) kappa / (sigma sqrt(dt)).

    kappa is the one-way cost (Leland's round-trip k = 2 kappa gives his sqrt(2/pi) k).
    + for a short option position, - for a long one. For a long position with Le >= 1 the
    adjusted variance is not positive: rebalancing every dt costs more than the gamma earns,
    there is no Leland hedge, and the kernel returns 0 (hedge at the zero-vol delta).
    """
    cdef double leland_number, scale
    if not (isfinite(vol) and isfinite(cost) and isfinite(dt)
            and vol > 0.0 and cost >= 0.0 and dt > 0.0):
        return NAN
    leland_number = SQRT_8_OVER_PI * cost / (vol * sqrt(dt))
    scale = 1.0 + leland_number if is_short else 1.0 - leland_number
    return vol * sqrt(scale) if scale > 0.0 else 0.0


cdef inline double softplus(double x) noexcept nogil:
    """log(1 + e^x) without overflow."""
    if x > 30.0:
        return x + log1p(exp(-x))
    return log1p(exp(x))


cdef inline nested_t nested(double gamma, double spot, double cost, double fixed_cost,
                            double risk_aversion) noexcept nogil:
    """Outer and inner band minimising the quasi-stationary loss (REFERENCE.md section 2)

        L(H, h) = Gamma^2 (K_f + lambda S (H - h)) / (H^2 - h^2) + a (H^2 + h^2) / 12

    over 0 <= h < H. With d = H - h, the two first-order conditions reduce to
        12 Gamma^2 (K_f + lambda S d) = a d (H + h)^3     (dL/dH + dL/dh = 0)
        4 K_f H h = lambda S d^3                          (dL/dh = 0, with the first)
    and eliminating H + h = d sqrt(u) leaves one equation in d:
        d^4 sqrt(u) = 12 K_f Gamma^2 / a = R,  u = 1 + lambda S d / K_f,
    then H = d (1 + sqrt(u)) / 2, h = d (sqrt(u) - 1) / 2. With y = ln d and
    w = ln(lambda S / K_f) it reads phi(y) = 4 y + softplus(w + y) / 2 - ln R = 0; phi
    is increasing (phi' in [4, 4.5]) and convex, so Newton started at the root's right
    (y0 = ln R / 4, the fixed-cost-only answer) falls monotonically onto the unique root.
    The stationary point is the minimum: L grows without bound as h -> H (K_f > 0) or
    H -> infinity, and dL/dh < 0 at h = 0 when lambda > 0.
    Limits: K_f = 0 gives h = H = the Whalley-Wilmott width (r = 0); lambda = 0 gives
    h = 0, H = (12 K_f Gamma^2 / a)^(1/4).
    """
    cdef nested_t band
    cdef double c, log_r, w, y, step, phi, slope, logistic, d, root_u
    cdef int _iteration
    if not (isfinite(gamma) and isfinite(spot) and isfinite(cost) and isfinite(fixed_cost)
            and isfinite(risk_aversion)
            and spot > 0.0 and cost >= 0.0 and fixed_cost >= 0.0 and risk_aversion > 0.0):
        band.outer = NAN
        band.inner = NAN
        return band
    c = cost * spot
    if gamma == 0.0 or (c == 0.0 and fixed_cost == 0.0):
        band.outer = 0.0
        band.inner = 0.0
        return band
    if fixed_cost == 0.0:
        band.outer = cbrt(1.5 * c * gamma * gamma / risk_aversion)
        band.inner = band.outer
        return band
    log_r = log(12.0 * fixed_cost / risk_aversion) + 2.0 * log(fabs(gamma))
    if c == 0.0:
        band.outer = exp(0.25 * log_r)
        band.inner = 0.0
        return band
    w = log(c) - log(fixed_cost)          # ln(lambda S / K_f)
    y = 0.25 * log_r
    for _iteration in range(100):
        phi = 4.0 * y + 0.5 * softplus(w + y) - log_r
        logistic = 1.0 / (1.0 + exp(-(w + y)))
        slope = 4.0 + 0.5 * logistic
        step = phi / slope
        y -= step
        if fabs(step) <= 1e-15 * (1.0 + fabs(y)):
            break
    d = exp(y)
    if w + y > 0.0:
        # u = 1 + e^{w+y} is large: no cancellation in sqrt(u) - 1.
        root_u = exp(0.5 * softplus(w + y))
        band.outer = 0.5 * d * (root_u + 1.0)
        band.inner = 0.5 * d * (root_u - 1.0)
    else:
        root_u = sqrt(1.0 + exp(w + y))
        band.outer = 0.5 * d * (root_u + 1.0)
        band.inner = 0.5 * d * exp(w + y) / (root_u + 1.0)
    return band


cdef inline double hedge_after_band(double hedge, double target, double outer,
                                    double inner) noexcept nogil:
    """The hedge position after applying a band around a target.

    Inside [target - outer, target + outer] nothing trades; outside, the hedge moves to
    target -/+ inner on the side it left from (inner = outer: trade to the edge, as
    Whalley-Wilmott; inner = 0: trade back to the target, as with fixed costs).
    """
    cdef double deviation = hedge - target
    if deviation > outer:
        return target + inner
    if deviation < -outer:
        return target - inner
    return hedge
