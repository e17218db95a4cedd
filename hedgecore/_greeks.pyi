import numpy as np
from numpy.typing import NDArray

def greeks_into(
    model: int,
    underlying: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    vol: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    rate: NDArray[np.float64],
    carry: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...

def vector_isa() -> str: ...
