"""Input checks shared by the public API: errors naming the argument, expectation and value."""

from __future__ import annotations

import functools
import math

import numpy as np


class InvalidTypeError(TypeError, ValueError):
    """A wrong type where a number was expected, e.g. ``epochs=2.5`` or ``epochs="10"``.

    A ``TypeError`` by the project's rule, and a ``ValueError`` too, so callers who treat every
    bad argument value alike (as Keras does) catch it with one ``except ValueError``.
    """


def overflow_checked(function):
    """Run ``function`` with NumPy's overflow and invalid-value warnings off.

    For code that checks its own results for inf and NaN. NumPy 2's ``errstate`` decorates
    thread-safely (a token per call), at about a third of the cost of a ``with errstate()``
    block entered each call (1 µs against 3 µs in a one-sample ``predict`` of some 25 µs).
    NumPy 1's keeps its state on the instance, so there each call enters a block of its own.
    """
    if int(np.__version__.split(".")[0]) >= 2:
        return functools.wraps(function)(np.errstate(over="ignore", invalid="ignore")(function))

    @functools.wraps(function)
    def checked(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return function(*args, **kwargs)

    return checked


def as_numeric_array(X, name: str) -> np.ndarray:
    """Return ``X`` as a real-valued NumPy array (numbers or booleans), without copying it."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a numeric array; received {type(X).__name__}.")
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array; {exc}") from None
    if arr.dtype == object and arr.ndim == 0:
        raise TypeError(f"{name} must be a numeric array; received {type(X).__name__}.")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; received complex dtype {arr.dtype}.")
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must be a numeric array; received an array of dtype {arr.dtype}."
        )
    return arr


def is_sparse(X) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array, answered without importing scipy."""
    return any(cls.__module__.startswith("scipy.sparse") for cls in type(X).__mro__)


def is_streamed(X) -> bool:
    """Whether ``X`` is read batch by batch (``neuralnet.sources``): never for a plain ndarray.

    Arrays and lists answer without importing ``sources``, which a fresh process's first
    ``fit`` or ``predict`` on arrays would otherwise pay for (about 7 ms).
    """
    if type(X) is np.ndarray or isinstance(X, (list, tuple)):
        return False
    from neuralnet import sources

    return sources.is_streamed(X)


def is_streamed_validation(validation_data) -> bool:
    """``sources.is_streamed_validation``, answered for None and pairs of arrays without it."""
    if validation_data is None or (isinstance(validation_data, (tuple, list))
                                   and all(type(a) is np.ndarray for a in validation_data)):
        return False
    from neuralnet import sources

    return sources.is_streamed_validation(validation_data)


def all_finite(a: np.ndarray) -> bool:
    """Whether every element of ``a`` is finite (True for an empty array).

    A finite sum of squares means every element is finite (a NaN or an infinity would carry
    into it), so one BLAS dot product answers in the common case, with no temporary and no
    floating-point warning; ``np.isfinite(a).all()`` would first build a boolean array as large
    as ``a``. Only when that sum is not finite (non-finite data, or squares beyond the dtype's
    range) do ``min`` and ``max`` decide: they propagate NaN and reach any infinity.
    """
    if a.size == 0 or math.isfinite(np.vdot(a, a)):
        return True
    return bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def as_float_array(X, name: str, dtype: np.dtype, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """Return ``X`` as a finite array of ``dtype``, converting lists and integer arrays once."""
    arr = as_numeric_array(X, name)
    if arr.ndim not in ndim:
        expected = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {expected} array; received shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one sample.")
    # A value beyond float32's range becomes inf in the cast; it is reported below, not warned.
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not all_finite(out):
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(
                f"{name} contains {bad} NaN or infinite value(s); expected finite numbers."
            )
        raise ValueError(
            f"{name} holds values too large for {np.dtype(dtype).name} (largest magnitude "
            f"{float(np.abs(arr).max()):.3g}, limit {float(np.finfo(dtype).max):.3g}); "
            "scale it down, e.g. standardize the features."
        )
    return out


def check_n_features(X: np.ndarray, n_features: int, name: str = "X") -> None:
    if X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the network's first layer expects {n_features}."
        )


def check_same_length(n_x: int, n_y: int, x_name: str = "X", y_name: str = "y") -> None:
    if n_x != n_y:
        raise ValueError(
            f"{x_name} and {y_name} have different numbers of samples: "
            f"{x_name} has {n_x}, {y_name} has {n_y}."
        )


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError(
            f"Received an invalid type for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value <= 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


# Every argument check below words its error the same way, as Keras does:
#   Received an invalid value for `name`, expected <what>. Received: name=<value>
def invalid_value(name: str, expected: str, value, caller: str | None = None) -> ValueError:
    """Return the ``ValueError`` for ``name=value`` when ``expected`` was wanted."""
    where = f" in {caller}" if caller else ""
    return ValueError(
        f"Received an invalid value for `{name}`{where}, expected {expected}. "
        f"Received: {name}={value!r}"
    )


def invalid_type(name: str, expected: str, value) -> InvalidTypeError:
    """The same wording for a value of the wrong type (a ``TypeError`` and a ``ValueError``)."""
    return InvalidTypeError(
        f"Received an invalid type for `{name}`, expected {expected}. "
        f"Received: {name}={value!r} of type {type(value).__name__}"
    )


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)


def check_number(value, name: str, low: float = 0.0, low_open: bool = False, high=None) -> float:
    """Return ``value`` as a float if it is a finite number ``>= low`` (``> low``), ``< high``."""
    ok = _is_real(value) and np.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (high is None or value < high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high is not None else "")
        raise invalid_value(name, f"a number {bound}", value)
    return float(value)


def check_positive_number(value, name: str) -> float:
    """Return ``value`` as a float if it is a finite number above zero."""
    if not (_is_real(value) and np.isfinite(value) and value > 0):
        raise invalid_value(name, "a positive number", value)
    return float(value)


def check_non_negative(value, name: str, caller: str | None = None, integer: bool = False):
    """Return ``value`` if it is a finite number (an integer with ``integer``) ``>= 0``."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= 0 or (
        not integer and not np.isfinite(value)
    ):
        raise invalid_value(name, f"a non-negative {'integer' if integer else 'number'}", value,
                            caller)
    return value


def check_path(value, name: str) -> str:
    """Return ``value`` as a str if it is a str or ``os.PathLike``; else a ``TypeError``."""
    import os

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"Received an invalid type for `{name}`, expected a str or path. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    return os.fspath(value)


def check_shape(shape, name: str) -> tuple[int, int]:
    """Return ``(n_in, n_out)`` if ``shape`` is a pair of positive integers."""
    try:
        n_in, n_out = shape
        valid = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                    for v in (n_in, n_out))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise invalid_value(name, "a pair of positive integers (n_in, n_out)", shape)
    return int(n_in), int(n_out)


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    # ``dt in (...)`` would compare None equal to float64 (NumPy reads None as the default).
    if dt is None or not any(dt == ok for ok in (np.dtype(np.float32), np.dtype(np.float64))):
        raise invalid_value(name, "'float32' or 'float64'", dtype)
    return dt


def check_seed(value, name: str = "seed"):
    """Return ``value`` if NumPy can seed a generator with it reproducibly, else raise.

    Accepted: ``None`` (fresh entropy), a non-negative integer, or a ``numpy.random.Generator``
    or ``SeedSequence`` (used as they are). NumPy's own error for ``-1`` names no argument.
    """
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
        return value
    expected = "None, a non-negative integer or a numpy.random.Generator"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise invalid_type(name, expected, value)
    if value < 0:
        raise invalid_value(name, expected, value)
    return int(value)
