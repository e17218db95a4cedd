"""Avellaneda & Stoikov (2008), "High-frequency trading in a limit order book".

Mid dS = sigma dW (sigma in price units per sqrt(time)), fills at distance delta from the
mid arrive at intensity A exp(-k delta), the dealer maximises E[-exp(-gamma X_T)]:
  reservation price r = s - q gamma sigma^2 (T - t)
  total spread      gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / k)
Units: time in the unit of sigma^2 (years in hedgecore), k per price unit, gamma per price
unit of wealth per unit of inventory q. With an order size of `size` units per fill and q
counted in fills (lots), the same formulas hold per unit with gamma replaced by gamma * size.
"""

from __future__ import annotations

import math


def reservation_price(mid: float, inventory: float, gamma: float, sigma: float, tau: float) -> float:
    """r = s - q gamma sigma^2 tau (the indifference price of one more unit)."""
    return mid - inventory * gamma * sigma * sigma * tau


def optimal_spread(gamma: float, sigma: float, tau: float, k: float) -> float:
    """Total bid-ask spread gamma sigma^2 tau + (2/gamma) ln(1 + gamma/k) (price units)."""
    if not gamma > 0.0 or not k > 0.0:
        raise ValueError(f"gamma and k must be > 0, got gamma={gamma}, k={k}")
    return gamma * sigma * sigma * tau + (2.0 / gamma) * math.log1p(gamma / k)


def avellaneda_stoikov_quotes(mid: float, inventory: float, gamma: float, sigma: float, tau: float,
                              k: float) -> tuple[float, float]:
    """(bid, ask) = r -+ spread / 2."""
    r = reservation_price(mid, inventory, gamma, sigma, tau)
    half = 0.5 * optimal_spread(gamma, sigma, tau, k)
    return r - half, r + half


def avellaneda_stoikov_depths(inventory: float, gamma: float, sigma: float, tau: float,
                              k: float) -> tuple[float, float]:
    """(bid depth, ask depth) below / above the mid: q gamma sigma^2 tau + spread/2 and
    spread/2 - q gamma sigma^2 tau (may be negative: a quote through the mid)."""
    skew = inventory * gamma * sigma * sigma * tau
    half = 0.5 * optimal_spread(gamma, sigma, tau, k)
    return half + skew, half - skew
