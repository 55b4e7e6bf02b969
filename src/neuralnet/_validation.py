"""Input checks shared by the public API: clear errors naming the argument, expectation and value."""

from __future__ import annotations

import numpy as np


def as_float_array(X, name: str, dtype: np.dtype, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """Return ``X`` as a finite array of ``dtype``, converting lists and integer arrays once."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a numeric array; received {type(X).__name__}.")
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array; {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must be a numeric array; received an array of dtype {arr.dtype}."
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; received complex dtype {arr.dtype}.")
    if arr.ndim not in ndim:
        expected = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {expected} array; received shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one sample.")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected finite numbers.")
    return arr


def check_n_features(X: np.ndarray, n_features: int, name: str = "X") -> None:
    if X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the network's first layer expects {n_features}."
        )


def check_same_length(X: np.ndarray, y: np.ndarray, x_name: str = "X", y_name: str = "y") -> None:
    if len(X) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} have different numbers of samples: "
            f"{x_name} has {len(X)}, {y_name} has {len(y)}."
        )


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)
