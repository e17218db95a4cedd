"""Fill intensity A exp(-k delta) by maximum likelihood from a desk's own fills.

Model. Each resting quote (one instrument, one side) at distance delta from the mid is
filled as the first event of a Poisson process of intensity lambda = A exp(-k delta);
A is per instrument and side. A CSV of fills holds (time, instrument, side, price, mid) but
not the quote history, so the estimator ASSUMES: between two consecutive fills of the same
instrument and side the desk quoted that side continuously, at the distance at which the
second fill happened (a quote re-placed after each fill and left until filled). The first
fill of each (instrument, side) only starts its clock. Under that assumption fill j waited
tau_j (time since the previous fill of its instrument and side) at distance
delta_j = mid - price (buy) or price - mid (sell), and the log-likelihood is
    l(A, k) = sum_j [ln A - k delta_j - A exp(-k delta_j) tau_j].
Given k, A(k) = N / sum_j tau_j exp(-k delta_j); the profile l_p(k) is concave (a log-sum-exp
with a minus sign) and its maximum solves: the mean of delta under weights tau_j
exp(-k delta_j) equals the plain mean of delta. Solved by bisection (the weighted mean falls
as k rises). Confidence intervals: for k, the profile likelihood ratio {k: 2 (l_max - l_p(k))
<= chi2_1(level)}; for A, the observed information of (ln A, k) (Wald on ln A, so the
interval stays positive). Where quoted distances do not vary, k is not identified and
estimation is refused.

Units: time in seconds in the CSV (ISO-8601 or epoch seconds); A is reported per hour; k per
unit of the CSV's prices (the instrument's native units: coin for coin-settled options).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hedgecore.errors import InputError, decode_input_text, read_input_file
from hedgecore.reading import csv_timestamp

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SECONDS_PER_HOUR = 3600.0
CHI2_1 = {0.90: 2.705543454095404, 0.95: 3.841458820694124, 0.99: 6.634896601021214}
Z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}
MAX_FILLS_CSV_BYTES = 64 * 1024 * 1024
FILL_COLUMNS = ("time", "instrument", "side", "price", "mid")


@dataclass(frozen=True, slots=True)
class IntensityEstimate:
    """A (fills per hour at zero depth) and k (per price unit) with confidence intervals."""

    a_per_hour: float
    k: float
    a_interval: tuple[float, float]
    k_interval: tuple[float, float]
    level: float
    fills: int            # fills that entered the likelihood (the first of each sequence does not)
    exposure_hours: float

    def as_dict(self) -> dict[str, object]:
        return {"A_per_hour": self.a_per_hour, "k": self.k, "A_interval": list(self.a_interval),
                "k_interval": list(self.k_interval), "level": self.level, "fills": self.fills,
                "exposure_hours": self.exposure_hours}


@dataclass(frozen=True, slots=True)
class Fill:
    time_seconds: float
    instrument: str
    side: str            # "buy" (our bid filled) or "sell" (our ask filled)
    price: float
    mid: float


def exposures(fills: list[Fill]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(delta_j, tau_j seconds) under the module's assumption; sequences by instrument and side."""
    import numpy as np

    by_sequence: dict[tuple[str, str], list[Fill]] = {}
    for fill in fills:
        by_sequence.setdefault((fill.instrument, fill.side), []).append(fill)
    deltas: list[float] = []
    waits: list[float] = []
    for (_, side), sequence in by_sequence.items():
        sequence.sort(key=lambda f: f.time_seconds)
        for previous, fill in itertools.pairwise(sequence):
            wait = fill.time_seconds - previous.time_seconds
            if wait <= 0.0:
                continue   # simultaneous fills (one order filled in pieces): one exposure
            deltas.append(fill.mid - fill.price if side == "buy" else fill.price - fill.mid)
            waits.append(wait)
    return np.asarray(deltas, dtype=np.float64), np.asarray(waits, dtype=np.float64)


def _profile(k: float, delta: NDArray[np.float64], tau: NDArray[np.float64]) -> float:
    """l_p(k) = N ln N - N ln S(k) - k sum(delta) - N, S computed shifted (no overflow)."""
    import numpy as np

    n = delta.size
    exponent = -k * delta + np.log(tau)
    top = float(exponent.max())
    log_s = top + math.log(float(np.sum(np.exp(exponent - top))))
    return n * math.log(n) - n * log_s - k * float(delta.sum()) - n


def _weighted_mean_gap(k: float, delta: NDArray[np.float64], tau: NDArray[np.float64], mean: float) -> float:
    import numpy as np

    exponent = -k * delta + np.log(tau)
    weights = np.exp(exponent - exponent.max())
    return float(np.sum(weights * delta) / np.sum(weights)) - mean


def _bisect(f: Callable[[float], float], lo: float, hi: float, iterations: int = 200) -> float:
    f_lo = f(lo)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        if (f_mid > 0.0) == (f_lo > 0.0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, abs(lo)):
            break
    return 0.5 * (lo + hi)


def estimate_intensity(delta: NDArray[np.float64], tau_seconds: NDArray[np.float64], *,
                       level: float = 0.95) -> IntensityEstimate:
    """Maximum-likelihood A and k from distances and waiting times (see the module docstring)."""
    import numpy as np

    if level not in CHI2_1:
        raise ValueError(f"level must be one of {sorted(CHI2_1)}, got {level}")
    delta = np.asarray(delta, dtype=np.float64)
    tau = np.asarray(tau_seconds, dtype=np.float64) / SECONDS_PER_HOUR
    if delta.size < 3:
        raise ValueError(f"need at least 3 timed fills to estimate A and k, got {delta.size}")
    if not (np.isfinite(delta).all() and np.isfinite(tau).all() and (tau > 0.0).all()):
        raise ValueError("distances and waiting times must be finite and the waits > 0")
    spread = float(delta.max() - delta.min())
    if spread <= 1e-12 * max(1.0, float(np.abs(delta).max())):
        raise ValueError("every fill is at the same distance from the mid: k is not identified")
    mean = float(delta.mean())

    def gap(k: float) -> float:     # decreasing in k
        return _weighted_mean_gap(k, delta, tau, mean)

    scale = 1.0 / spread
    lo, hi = -scale, scale
    for _ in range(200):
        if gap(lo) > 0.0 and gap(hi) < 0.0:
            break
        lo, hi = lo * 2.0, hi * 2.0
    else:
        raise ValueError("the likelihood has no maximum: the fills do not thin out with distance")
    k_hat = _bisect(gap, lo, hi)
    l_max = _profile(k_hat, delta, tau)
    n = delta.size
    weights = tau * np.exp(-k_hat * delta)
    s0 = float(weights.sum())
    a_hat = n / s0
    cut = l_max - 0.5 * CHI2_1[level]

    def drop(k: float) -> float:
        return _profile(k, delta, tau) - cut

    step = max(abs(k_hat), scale)
    lower = k_hat - step
    while drop(lower) > 0.0:
        lower -= step
        step *= 2.0
    step = max(abs(k_hat), scale)
    upper = k_hat + step
    while drop(upper) > 0.0:
        upper += step
        step *= 2.0
    k_low = _bisect(drop, lower, k_hat)
    k_high = _bisect(drop, k_hat, upper)
    # observed information of (ln A, k): [[N, -A S1], [-A S1, A S2]]
    s1 = float(np.sum(weights * delta)) * a_hat
    s2 = float(np.sum(weights * delta * delta)) * a_hat
    det = n * s2 - s1 * s1
    var_log_a = s2 / det if det > 0.0 else math.inf
    half = Z[level] * math.sqrt(var_log_a)
    return IntensityEstimate(
        a_per_hour=a_hat, k=k_hat, a_interval=(a_hat * math.exp(-half), a_hat * math.exp(half)),
        k_interval=(k_low, k_high), level=level, fills=n, exposure_hours=float(tau.sum()))


def read_fills_csv(path: str | Path, *, instruments: object = None) -> list[Fill]:
    """Fills from a CSV with header time,instrument,side,price,mid (extra columns ignored);
    side buy|sell (or bid|ask: our bid filled = buy). `instruments`: a predicate on the
    instrument name keeping only some rows. InputError names the file and line."""
    filename = str(path)
    text = decode_input_text(read_input_file(path, filename, max_bytes=MAX_FILLS_CSV_BYTES), filename)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InputError(filename, None, "empty file (expected a header time,instrument,side,price,mid)")
    names = [h.strip().lower() for h in header]
    missing = [c for c in FILL_COLUMNS if c not in names]
    if missing:
        raise InputError(filename, 1,
                         f"missing column(s) {', '.join(missing)} (header: time,instrument,side,price,mid)")
    column = {c: names.index(c) for c in FILL_COLUMNS}
    fills = []
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(names):
            raise InputError(filename, number, f"expected {len(names)} columns, got {len(row)}")
        instrument = row[column["instrument"]].strip()
        if instruments is not None and callable(instruments) and not instruments(instrument):
            continue
        side = row[column["side"]].strip().lower()
        side = {"bid": "buy", "ask": "sell"}.get(side, side)
        if side not in ("buy", "sell"):
            raise InputError(filename, number, f"side: must be buy or sell, got '{side[:20]}'")
        values = []
        for key in ("price", "mid"):
            try:
                value = float(row[column[key]])
            except ValueError:
                raise InputError(filename, number, f"{key}: not a number: '{row[column[key]][:40]}'") from None
            if not (math.isfinite(value) and value > 0.0):
                raise InputError(filename, number, f"{key}: must be a finite number > 0, got {value}")
            values.append(value)
        fills.append(Fill(csv_timestamp(row[column["time"]], filename, number, "time"), instrument, side, *values))
    return fills


def estimate_from_csv(path: str | Path, *, instruments: object = None, level: float = 0.95) -> IntensityEstimate:
    """read_fills_csv, exposures, estimate_intensity; a ValueError becomes an InputError of the file."""
    fills = read_fills_csv(path, instruments=instruments)
    delta, tau = exposures(fills)
    try:
        return estimate_intensity(delta, tau, level=level)
    except ValueError as error:
        raise InputError(str(path), None, f"cannot estimate the fill intensity: {error}") from None
