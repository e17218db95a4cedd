from collections.abc import Sequence

import numpy as np
from numpy.random import BitGenerator
from numpy.typing import NDArray

def simd_enabled() -> bool: ...
def vector_isa() -> str: ...

LANE_STREAMS: int
LANE_GROUP: int

def lane_uniforms(seed_words: NDArray[np.uint64], groups: int) -> NDArray[np.float64]: ...
def bitgen_addresses(bit_generators: Sequence[BitGenerator]) -> NDArray[np.uintp]: ...
def leland_vols(vol: float, cost: float, dt: float, quantity: NDArray[np.float64]) -> NDArray[np.float64]: ...
def simulate_blocks(
    *,
    model_kind: int,
    model_params: NDArray[np.float64],
    returns: NDArray[np.float64],
    bootstrap_block: int,
    steps: int,
    dt: float,
    rate: float,
    strike: NDArray[np.float64],
    quantity: NDArray[np.float64],
    omega: NDArray[np.float64],
    expiry_step: NDArray[np.int64],
    tau: NDArray[np.float64],
    weight: NDArray[np.float64],
    shift: NDArray[np.float64],
    inv_sdt: NDArray[np.float64],
    term_rate: NDArray[np.float64],
    term_var: NDArray[np.float64],
    hedge_vol: float,
    coin_premium: float,
    premium_cash: float,
    instrument: int,
    costs: NDArray[np.float64],
    policy_ints: NDArray[np.intc],
    policy_floats: NDArray[np.float64],
    bitgens: NDArray[np.uintp],
    lane_seeds: NDArray[np.uint64],
    first_block: int,
    paths_per_block: int,
    pnl: NDArray[np.float64],
    cost: NDArray[np.float64],
    funding: NDArray[np.float64],
    trades: NDArray[np.float64],
    trace: NDArray[np.float64],
    n_threads: int,
) -> None: ...
