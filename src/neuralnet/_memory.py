"""Arrays whose data start on a 64-byte boundary: a cache line, and one AVX-512 register.

NumPy aligns an array's data to 16 bytes only, and a large array (one that ``malloc`` maps
whole) starts 16 bytes past a page boundary. Then every 64-byte vector an element-wise loop
loads or stores straddles two cache lines. Adam's ten passes over the mnist network's 235,146
float32 parameters took 330 µs a step with all five arrays on 64-byte boundaries and 365 to
430 µs with them 16, 32 or 48 bytes past one (ad-hoc timing, median of 200 steps), so the
arrays that training sweeps every batch are allocated here: the flat weights and gradients, the
optimizers' state and work arrays, and the buffers of the fused step, the batches and the layers.
"""

from __future__ import annotations

import math

import numpy as np

ALIGNMENT = 64


def empty(shape: int | tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised C-ordered array whose data start on an ``ALIGNMENT``-byte boundary.

    A 1-D result is the base of its own views (``view.base is array``), as a plain
    ``np.empty`` array is: NumPy sets a view's base to the first array up the chain that owns
    its data or whose base is of another type, and this one's base is a ``memoryview``.
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    count = math.prod(shape)
    if count == 0 or dtype.hasobject:  # nothing to align; objects cannot live in a raw buffer
        return np.empty(shape, dtype=dtype)
    raw = np.empty(count * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    offset = -raw.__array_interface__["data"][0] % ALIGNMENT
    flat = np.frombuffer(memoryview(raw), dtype=dtype, count=count, offset=offset)
    return flat if len(shape) == 1 else flat.reshape(shape)


def zeros(shape: int | tuple[int, ...], dtype) -> np.ndarray:
    """``empty``, filled with zeros."""
    array = empty(shape, dtype)
    array.fill(0)
    return array


def empty_like(array: np.ndarray) -> np.ndarray:
    """``empty`` with the shape and dtype of ``array``."""
    return empty(array.shape, array.dtype)


def zeros_like(array: np.ndarray) -> np.ndarray:
    """``zeros`` with the shape and dtype of ``array``."""
    return zeros(array.shape, array.dtype)


def copy(array: np.ndarray) -> np.ndarray:
    """A C-ordered, aligned copy of ``array`` (writable, whatever ``array`` was)."""
    out = empty_like(array)
    np.copyto(out, array)
    return out
