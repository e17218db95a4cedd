import numpy as np
from numpy.typing import NDArray

def whalley_wilmott_into(
    gamma: NDArray[np.float64],
    spot: NDArray[np.float64],
    cost: NDArray[np.float64],
    risk_aversion: NDArray[np.float64],
    rate: NDArray[np.float64],
    tau: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def zakamouline_into(
    gamma: NDArray[np.float64],
    spot: NDArray[np.float64],
    vol: NDArray[np.float64],
    tau: NDArray[np.float64],
    cost: NDArray[np.float64],
    risk_aversion: NDArray[np.float64],
    rate: NDArray[np.float64],
    half_width: NDArray[np.float64],
    modified_vol: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def leland_into(
    vol: NDArray[np.float64],
    cost: NDArray[np.float64],
    dt: NDArray[np.float64],
    is_short: NDArray[np.uint8],
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def nested_into(
    gamma: NDArray[np.float64],
    spot: NDArray[np.float64],
    cost: NDArray[np.float64],
    fixed_cost: NDArray[np.float64],
    risk_aversion: NDArray[np.float64],
    outer: NDArray[np.float64],
    inner: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def hedge_after_band_into(
    hedge: NDArray[np.float64],
    target: NDArray[np.float64],
    outer: NDArray[np.float64],
    inner: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...
