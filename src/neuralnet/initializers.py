"""Weight initialisers: plain functions ``(shape, rng) -> array`` for a ``(n_in, n_out)`` matrix.

They fill the input rows of a layer's absorbed weights; the bias row always starts at zero.

    he_normal       N(0, sqrt(2 / n_in))                    https://arxiv.org/abs/1502.01852
    he_uniform      U(-sqrt(6 / n_in), sqrt(6 / n_in))
    glorot_normal   N(0, sqrt(2 / (n_in + n_out)))          https://proceedings.mlr.press/v9/glorot10a
    glorot_uniform  U(-sqrt(6 / (n_in + n_out)), +...)
    lecun_normal    N(0, sqrt(1 / n_in))
    zeros           0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "he_normal",
    "he_uniform",
    "glorot_normal",
    "glorot_uniform",
    "lecun_normal",
    "zeros",
    "get",
    "INITIALIZERS",
]

# A string, so that importing this module does not import numpy.random (tens of ms).
Initializer = Callable[[tuple[int, int], "np.random.Generator"], np.ndarray]


def he_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw from ``N(0, sqrt(2 / n_in))``, right for ReLU layers (He et al., 2015)."""
    return rng.normal(0.0, np.sqrt(2.0 / shape[0]), size=shape)


def he_uniform(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw from ``U(-sqrt(6 / n_in), sqrt(6 / n_in))``: He's variance, uniform."""
    limit = np.sqrt(6.0 / shape[0])
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw from ``N(0, sqrt(2 / (n_in + n_out)))`` (Glorot and Bengio, 2010)."""
    return rng.normal(0.0, np.sqrt(2.0 / (shape[0] + shape[1])), size=shape)


def glorot_uniform(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw from ``U(-sqrt(6 / (n_in + n_out)), sqrt(6 / (n_in + n_out)))``."""
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape)


def lecun_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw from ``N(0, sqrt(1 / n_in))`` (LeCun et al., 1998)."""
    return rng.normal(0.0, np.sqrt(1.0 / shape[0]), size=shape)


def zeros(shape: tuple[int, int], rng: np.random.Generator | None = None) -> np.ndarray:
    """Return zeros; a network started this way cannot break the symmetry between its units."""
    return np.zeros(shape)


INITIALIZERS: dict[str, Initializer] = {
    "he_normal": he_normal,
    "he": he_normal,
    "he_uniform": he_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
}


def get(identifier: str | Initializer) -> Initializer:
    """Return the initialiser named by ``identifier``, or ``identifier`` itself if callable."""
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        from neuralnet._validation import invalid_type

        raise invalid_type("initializer", f"a name ({', '.join(INITIALIZERS)}) or a function "
                           "(shape, rng) -> array", identifier)
    if identifier.lower() not in INITIALIZERS:
        raise ValueError(
            f"Unknown initialisation method {identifier!r}; expected one of: "
            f"{', '.join(INITIALIZERS)}. Received: initializer={identifier!r}"
        )
    return INITIALIZERS[identifier.lower()]
