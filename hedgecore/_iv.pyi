import numpy as np
from numpy.typing import NDArray

def implied_vol_into(
    model: int,
    price: NDArray[np.float64],
    underlying: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    rate: NDArray[np.float64],
    carry: NDArray[np.float64],
    vol_out: NDArray[np.float64],
    status_out: NDArray[np.int8],
    n_threads: int,
) -> None: ...
def normalised_black_into(
    x: NDArray[np.float64],
    s: NDArray[np.float64],
    theta: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None: ...
