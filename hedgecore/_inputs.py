"""Argument handling shared by the Python facades over the compiled core.

The facades validate what a caller passed (model names, thread counts, shapes) with the GIL
held and raise ValueError naming the argument, so that nothing fails inside a nogil loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

# The most threads a compiled loop may be asked for. OpenMP gives every thread its own stack
# and the simulator its own scratch: 100,000 threads crash the process (a segmentation
# fault), and more threads than cores only add waiting.
MAX_THREADS = 1024

# Codes shared with the compiled core (the enum in _maths.pxd).
MODEL_CODES: dict[str, int] = {"bsm": 0, "black76": 1, "inverse": 2}


def model_code(model: str) -> int:
    """The compiled core's code for a pricing model name."""
    try:
        return MODEL_CODES[model]
    except (KeyError, TypeError):
        known = ", ".join(repr(name) for name in MODEL_CODES)
        raise ValueError(f"model must be one of {known}, got {model!r}") from None


def resolve_threads(threads: int | None) -> int:
    """Threads for a compiled loop: None means every thread OpenMP offers (at most
    MAX_THREADS); an explicit count must be in [1, MAX_THREADS] (ValueError otherwise)."""
    from hedgecore._runtime import max_threads

    if threads is None:
        return min(MAX_THREADS, max(1, max_threads()))
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        text = repr(threads)
        raise ValueError(f"threads must be a positive integer or None, got {text[:60]}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if threads > MAX_THREADS:
        shown = f"{threads:,}" if threads < 10**18 else f"a number of {len(str(int(threads)))} digits"
        raise ValueError(f"threads must be at most {MAX_THREADS:,}, got {shown}")
    return int(threads)


def threads_for_size(n_threads: int, n_items: int, min_items_per_thread: int = 1024) -> int:
    """Cap a thread count so that every thread gets at least `min_items_per_thread` items.

    Waking OpenMP threads costs microseconds (far more when the machine is busy), which
    dwarfs the work of a few hundred elements. Results never depend on the thread count.
    """
    return max(1, min(n_threads, n_items // min_items_per_thread))


def bool_array(name: str, value: Any) -> NDArray[Any]:
    """`value` as an array of bools, or of integers that are all 0 or 1; else ValueError."""
    array = np.asarray(value)
    if array.dtype != np.bool_ and (
        array.dtype.kind not in "iu" or not ((array == 0) | (array == 1)).all()
    ):
        raise ValueError(f"{name} must be a bool or an array of bools (0/1 integers accepted), "
                         f"got dtype {array.dtype}")
    return array


def broadcast_inputs(
    floats: dict[str, Any], is_call: Any
) -> tuple[tuple[int, ...], list[NDArray[np.float64]], NDArray[np.uint8]]:
    """Broadcast float arguments and is_call together like a ufunc would.

    Returns the broadcast shape, the float arguments as flat contiguous float64 arrays (in
    the order given) and is_call as a flat uint8 array. Arguments that already have the
    broadcast shape and are contiguous are passed through without a copy.
    """
    arrays = []
    for name, value in floats.items():
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    call_array = bool_array("is_call", is_call)
    try:
        # np.broadcast is the C-level shape check (np.broadcast_shapes and broadcast_to
        # cost microseconds each, which dominates a call on a few options).
        shape: tuple[int, ...] = np.broadcast(call_array, *arrays).shape
    except ValueError:
        shapes = ", ".join(f"{name}{a.shape}" for name, a in zip(floats, arrays, strict=True))
        raise ValueError(f"arguments do not broadcast together: {shapes}, is_call{call_array.shape}") from None
    flat = [_flat_contiguous(a, shape, np.float64) for a in arrays]
    calls = _flat_contiguous(call_array.astype(np.uint8, copy=False) if call_array.dtype != np.bool_
                             else call_array.view(np.uint8), shape, np.uint8)
    return shape, flat, calls


def _flat_contiguous(array: NDArray[Any], shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
    """`array` broadcast to `shape`, C-contiguous and flattened; no copy when possible."""
    if array.shape == shape and array.flags.c_contiguous and array.dtype == dtype:
        return array.reshape(-1)
    out = np.empty(shape, dtype=dtype)
    out[...] = array
    return out.reshape(-1)


def reject_carry(model: str, carry: NDArray[np.float64]) -> None:
    """Forward-based models take no carry: the forward already holds it."""
    if model != "bsm" and carry.size and np.any(carry != 0.0):
        raise ValueError(f"carry applies to model 'bsm' only; the {model!r} model takes the forward, pass carry=0")
