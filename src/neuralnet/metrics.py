"""Metrics ``fn(y_true, y_pred) -> float`` on targets and network outputs ``(n_samples, k)``.

Classification metrics turn outputs into labels the way ``predict_classes`` does: a threshold
of 0.5 for a single sigmoid output (0 for a hinge loss's margin), the arg-max of several
softmax outputs. Each value equals scikit-learn's on the same labels (the tests check it):

    accuracy    fraction of correct labels                          accuracy_score
    precision   TP / (TP + FP), 0 when nothing is predicted positive  precision_score
    recall      TP / (TP + FN), 0 when there is no positive          recall_score
    f1          2 TP / (2 TP + FP + FN)                              f1_score
    auc         P(score of a positive > score of a negative), ties count 1/2   roc_auc_score
    mae         mean |y - a| over every element                     mean_absolute_error
    mse         mean (y - a)^2 over every element                   mean_squared_error
    r2          1 - SS_res / SS_tot, averaged over outputs          r2_score

With one sigmoid output, precision, recall and f1 are those of the positive class
(``average="binary"``). With several softmax outputs they are macro averages over the classes
(``average="macro"``); with several sigmoid outputs (multi-label, ``multilabel=True``, which
``get`` sets for ``binary_crossentropy``) macro averages over the output columns. ``auc`` of
several outputs is the macro average over columns: one-vs-rest (``multi_class="ovr"``) for
softmax, per label for multi-label.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from neuralnet.losses import Loss

__all__ = [
    "binary_accuracy",
    "categorical_accuracy",
    "precision",
    "recall",
    "f1",
    "auc",
    "mae",
    "mse",
    "r2",
    "get",
    "METRICS",
]


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of outputs on the right side of ``threshold``, over every element."""
    return float(np.mean((np.asarray(y_pred) >= threshold) == (np.asarray(y_true) >= 0.5)))


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose arg-max matches the one-hot target's (or the integer label)."""
    y_true = np.asarray(y_true)
    labels = y_true.argmax(axis=1) if y_true.ndim == 2 else y_true
    return float(np.mean(np.asarray(y_pred).argmax(axis=1) == labels))


def _as_2d(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"{name} must be a 1-D or 2-D array; received shape {y.shape}.")
    return y


def _confusion_counts(y_true, y_pred, multilabel: bool, threshold: float = 0.5
                      ) -> tuple[np.ndarray, ...]:
    """Per-label true positives, false positives and false negatives, and which labels count.

    One sigmoid output: labels 0 and 1, only the positive one counts (``average="binary"``).
    Several sigmoid outputs (``multilabel``): each column is a label, all count.
    Several softmax outputs: the arg-max is the class; classes seen in the targets or the
    predictions count (``average="macro"``).
    """
    y_pred = _as_2d(y_pred, "y_pred")
    n, k = y_pred.shape
    if k == 1 or multilabel:
        true = _as_2d(y_true, "y_true") >= 0.5
        pred = y_pred >= threshold
        tp = (true & pred).sum(axis=0).astype(np.float64)
        fp = (~true & pred).sum(axis=0)
        fn = (true & ~pred).sum(axis=0)
        return tp, fp, fn, np.ones(k, dtype=bool)
    y_true = np.asarray(y_true)
    true = y_true.argmax(axis=1) if y_true.ndim == 2 else y_true.astype(np.int64)
    pred = y_pred.argmax(axis=1)
    tp = np.bincount(true[true == pred], minlength=k).astype(np.float64)
    fp = np.bincount(pred, minlength=k) - tp
    fn = np.bincount(true, minlength=k) - tp
    return tp, fp, fn, (tp + fp + fn) > 0


def _ratio(num: np.ndarray, den: np.ndarray, counted: np.ndarray) -> float:
    # scikit-learn's zero_division default: 0 where the denominator is 0 (with a warning there).
    values = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(values[counted].mean())


def precision(
    y_true: np.ndarray, y_pred: np.ndarray, multilabel: bool = False, threshold: float = 0.5
) -> float:
    """Return ``TP / (TP + FP)``: of the samples predicted positive, the fraction that are."""
    tp, fp, _, counted = _confusion_counts(y_true, y_pred, multilabel, threshold)
    return _ratio(tp, tp + fp, counted)


def recall(
    y_true: np.ndarray, y_pred: np.ndarray, multilabel: bool = False, threshold: float = 0.5
) -> float:
    """Return ``TP / (TP + FN)``: of the positive samples, the fraction predicted positive."""
    tp, _, fn, counted = _confusion_counts(y_true, y_pred, multilabel, threshold)
    return _ratio(tp, tp + fn, counted)


def f1(
    y_true: np.ndarray, y_pred: np.ndarray, multilabel: bool = False, threshold: float = 0.5
) -> float:
    """Return ``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall."""
    tp, fp, fn, counted = _confusion_counts(y_true, y_pred, multilabel, threshold)
    return _ratio(2 * tp, 2 * tp + fp + fn, counted)


def _binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney U / (n_pos n_neg) with mid-ranks: the trapezoidal ROC area, ties as 1/2."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            "auc is undefined when y_true holds only one class; received "
            f"{n_pos} positive and {n_neg} negative samples."
        )
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # Mid-rank of each run of equal scores: the average of the 1-based ranks it spans.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    mid = (starts + ends + 1) / 2.0
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(mid, ends - starts)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the area under the ROC curve of the scores ``y_pred`` (binary, or one-vs-rest).

    Equal to the probability that a random positive scores above a random negative, a tie
    counting 1/2 (Hanley & McNeil 1982, https://doi.org/10.1148/radiology.143.1.7063747).
    """
    y_pred = _as_2d(y_pred, "y_pred")
    k = y_pred.shape[1]
    y_true = np.asarray(y_true)
    if y_true.ndim == 1 and k > 1:  # integer class labels
        positive = y_true[:, None] == np.arange(k)
    else:  # one label column, or one-hot / multi-label indicator rows
        positive = _as_2d(y_true, "y_true") >= 0.5
    return float(np.mean([_binary_auc(positive[:, c], y_pred[:, c]) for c in range(k)]))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the mean absolute error over every element."""
    y_pred = _as_2d(y_pred, "y_pred")
    return float(np.mean(np.abs(_as_2d(y_true, "y_true") - y_pred)))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the mean squared error over every element."""
    d = _as_2d(y_true, "y_true") - _as_2d(y_pred, "y_pred")
    return float(np.mean(d * d))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the coefficient of determination ``1 - SS_res / SS_tot``, averaged over outputs.

    A constant target scores 1 if predicted exactly and 0 otherwise, as scikit-learn does.
    """
    y_true, y_pred = _as_2d(y_true, "y_true"), _as_2d(y_pred, "y_pred")
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(ss_res == 0, 1.0, 0.0)
    np.subtract(1.0, ss_res / np.where(ss_tot == 0, 1.0, ss_tot), out=scores, where=ss_tot > 0)
    return float(scores.mean())


METRICS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "auc": auc,
    "mae": mae,
    "mse": mse,
    "r2": r2,
}


# Keras's and scikit-learn's names for the same metrics.
_ALIASES = {
    "f1_score": "f1",
    "precision_score": "precision",
    "recall_score": "recall",
    "roc_auc": "auc",
    "roc_auc_score": "auc",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "r2_score": "r2",
}


def get(identifier, loss_name: str | Loss = "binary_crossentropy", n_outputs: int = 1):
    """Return the metric function named ``identifier``; ``accuracy`` follows the output type.

    ``loss_name`` is the network's loss, by name or as a ``neuralnet.losses.Loss``; given a
    loss, its ``task`` says whether the outputs are binary labels and its
    ``decision_threshold`` where they are cut (0.5, or 0 for a hinge margin).
    """
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(
            f"Received an invalid type for a metric, expected a name (str) or a callable "
            f"(y_true, y_pred) -> float. Received: {identifier!r} of type "
            f"{type(identifier).__name__}"
        )
    task = getattr(loss_name, "task", None)
    binary = n_outputs == 1 or (
        task == "binary" if task is not None else loss_name == "binary_crossentropy"
    )
    threshold = getattr(loss_name, "decision_threshold", None)
    cut = {} if threshold is None or threshold == 0.5 else {"threshold": threshold}
    key = _ALIASES.get(identifier.lower(), identifier.lower())
    if key in ("accuracy", "acc"):
        if not binary:
            return categorical_accuracy
        return functools.partial(binary_accuracy, **cut) if cut else binary_accuracy
    if key in ("precision", "recall", "f1") and binary and (n_outputs > 1 or cut):
        return functools.partial(METRICS[key], multilabel=n_outputs > 1, **cut)
    if key not in METRICS:
        raise ValueError(
            f"Unknown metric {identifier!r}; expected one of: "
            f"{', '.join(sorted(['accuracy', *METRICS]))}."
        )
    return METRICS[key]
