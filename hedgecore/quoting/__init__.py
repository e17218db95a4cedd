"""Quoting against inventory: market-making quotes that lean on the book.

- avellaneda: Avellaneda-Stoikov (2008) reservation price and spread;
- glft: Gueant-Lehalle-Fernandez-Tapia (2013) exact quotes with inventory bounds and the
  closed forms of Gueant (2017);
- options: an options book's quotes skewed by the marginal effect of a fill on its Greeks
  (Stoikov-Saglam 2009);
- intensity: maximum-likelihood fill intensity A exp(-k delta) from a desk's fills;
- config: the quoting YAML;
- mmsim: the market-making simulator's facade (compiled kernel hedgecore._mm).
"""

from hedgecore.quoting.avellaneda import avellaneda_stoikov_quotes, optimal_spread, reservation_price
from hedgecore.quoting.glft import glft_closed_form, glft_exact

__all__ = [
    "avellaneda_stoikov_quotes",
    "glft_closed_form",
    "glft_exact",
    "optimal_spread",
    "reservation_price",
]
