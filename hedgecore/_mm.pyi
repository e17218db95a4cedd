import numpy as np
from numpy.random import SFC64
from numpy.typing import NDArray

def simulate_blocks(
    *,
    mid_kind: int,
    spot0: float,
    drift: float,
    vol: float,
    steps: int,
    q_max: int,
    size: float,
    fee_rate: float,
    time_varying: bool,
    thr_bid: NDArray[np.uint64],
    thr_ask: NDArray[np.uint64],
    depth_bid: NDArray[np.float64],
    depth_ask: NDArray[np.float64],
    bit_generators: list[SFC64],
    first_block: int,
    paths_per_block: int,
    n_paths: int,
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...
