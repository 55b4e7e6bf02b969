"""Metrics ``fn(y_true, y_pred) -> float`` on targets and network outputs of shape ``(n_samples, k)``.

Classification metrics turn outputs into labels the way ``predict_classes`` does: a threshold
of 0.5 for sigmoid outputs (each output its own label), the arg-max of several softmax outputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["binary_accuracy", "categorical_accuracy", "get", "METRICS"]


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of outputs on the right side of ``threshold``, over every element."""
    return float(np.mean((np.asarray(y_pred) >= threshold) == (np.asarray(y_true) >= 0.5)))


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose arg-max matches the one-hot target's (or the integer label)."""
    y_true = np.asarray(y_true)
    labels = y_true.argmax(axis=1) if y_true.ndim == 2 else y_true
    return float(np.mean(np.asarray(y_pred).argmax(axis=1) == labels))


METRICS = {"binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy}


def get(identifier, loss_name: str = "binary_crossentropy", n_outputs: int = 1):
    """Return the metric function named ``identifier``; ``accuracy`` follows the output type."""
    if callable(identifier):
        return identifier
    if identifier in ("accuracy", "acc"):
        binary = loss_name == "binary_crossentropy" or n_outputs == 1
        return binary_accuracy if binary else categorical_accuracy
    if identifier not in METRICS:
        raise ValueError(
            f"Unknown metric {identifier!r}; expected one of: "
            f"{', '.join(sorted(['accuracy', *METRICS]))}."
        )
    return METRICS[identifier]
