"""Metrics against scikit-learn, and their use by name in ``fit``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from neuralnet import NeuralNet, metrics

RNG = np.random.default_rng(0)
N = 300
Y_BIN = RNG.integers(0, 2, N)
# Scores rounded to one decimal: many ties, which roc_auc_score counts as one half.
P_BIN = np.round(np.clip(0.5 * Y_BIN + RNG.random(N) * 0.7, 0, 1), 1)
Y_CLS = RNG.integers(0, 4, N)
P_CLS = RNG.dirichlet(np.ones(4), N)
Y_REG = RNG.normal(size=(N, 2))
P_REG = Y_REG + RNG.normal(scale=0.5, size=(N, 2))
LABEL_METRICS = [
    (metrics.precision, skm.precision_score),
    (metrics.recall, skm.recall_score),
    (metrics.f1, skm.f1_score),
]


@pytest.mark.parametrize(("ours", "theirs"), LABEL_METRICS)
def test_binary_classification_metrics_equal_sklearn(ours, theirs):
    labels = (P_BIN >= 0.5).astype(int)
    assert ours(Y_BIN, P_BIN) == pytest.approx(theirs(Y_BIN, labels), abs=1e-15)
    # Network outputs are columns (n, 1); targets may be (n,) or (n, 1).
    assert ours(Y_BIN[:, None], P_BIN[:, None]) == pytest.approx(theirs(Y_BIN, labels), abs=1e-15)


@pytest.mark.parametrize(("ours", "theirs"), LABEL_METRICS)
def test_multiclass_metrics_are_macro_averages(ours, theirs):
    expected = theirs(Y_CLS, P_CLS.argmax(axis=1), average="macro")
    assert ours(Y_CLS, P_CLS) == pytest.approx(expected, abs=1e-15)
    assert ours(np.eye(4)[Y_CLS], P_CLS) == pytest.approx(expected, abs=1e-15)
    # A class nobody predicts and nobody has does not count in the average, as in sklearn.
    y, p = Y_CLS % 3, np.c_[P_CLS[:, :3], np.zeros(N)]
    assert ours(y, p) == pytest.approx(theirs(y, p.argmax(axis=1), average="macro"), abs=1e-15)


@pytest.mark.parametrize(("ours", "theirs"), LABEL_METRICS)
def test_multilabel_metrics_are_macro_averages_over_columns(ours, theirs):
    y = RNG.integers(0, 2, (N, 3))
    p = np.clip(0.4 * y + RNG.random((N, 3)) * 0.8, 0, 1)
    expected = theirs(y, (p >= 0.5).astype(int), average="macro")
    assert ours(y, p, multilabel=True) == pytest.approx(expected, abs=1e-15)


def test_zero_division_gives_zero_like_sklearn():
    y = np.array([0, 0, 1, 1])
    none_predicted = np.zeros(4)
    with pytest.warns(skm._classification.UndefinedMetricWarning):
        expected = skm.precision_score(y, none_predicted.astype(int))
    assert metrics.precision(y, none_predicted) == expected == 0.0
    assert metrics.f1(np.zeros(4), np.zeros(4)) == 0.0
    assert metrics.recall(np.zeros(4), np.ones(4)) == 0.0


def test_auc_equals_roc_auc_score_with_ties():
    assert metrics.auc(Y_BIN, P_BIN) == pytest.approx(skm.roc_auc_score(Y_BIN, P_BIN), abs=1e-15)
    # Every score tied: exactly one half.
    assert metrics.auc(Y_BIN, np.full(N, 0.3)) == 0.5 == skm.roc_auc_score(Y_BIN, np.full(N, 0.3))
    # Perfect and reversed rankings.
    assert metrics.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    # Hand count: positives {0.4, 0.4}, negatives {0.4, 0.1}: pairs 1/2 + 1 + 1/2 + 1 over 4.
    assert metrics.auc([1, 1, 0, 0], [0.4, 0.4, 0.4, 0.1]) == 0.75


def test_auc_one_vs_rest_and_multilabel():
    expected = skm.roc_auc_score(Y_CLS, P_CLS, multi_class="ovr")
    assert metrics.auc(Y_CLS, P_CLS) == pytest.approx(expected, abs=1e-15)
    assert metrics.auc(np.eye(4)[Y_CLS], P_CLS) == pytest.approx(expected, abs=1e-15)
    y = RNG.integers(0, 2, (N, 3))
    p = np.round(0.3 * y + RNG.random((N, 3)), 1)
    assert metrics.auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-15)


def test_auc_with_one_class_is_an_error():
    with pytest.raises(ValueError, match=r"auc is undefined when y_true holds only one class; "
                                         r"received 3 positive and 0 negative samples."):
        metrics.auc([1, 1, 1], [0.2, 0.5, 0.9])


def test_regression_metrics_equal_sklearn():
    assert metrics.mae(Y_REG, P_REG) == pytest.approx(skm.mean_absolute_error(Y_REG, P_REG))
    assert metrics.mse(Y_REG, P_REG) == pytest.approx(skm.mean_squared_error(Y_REG, P_REG))
    assert metrics.r2(Y_REG, P_REG) == pytest.approx(skm.r2_score(Y_REG, P_REG), abs=1e-15)
    assert metrics.r2(Y_REG[:, 0], P_REG[:, :1]) == pytest.approx(
        skm.r2_score(Y_REG[:, 0], P_REG[:, 0]), abs=1e-15)
    # Constant targets: 1 when predicted exactly, 0 otherwise (sklearn's force_finite).
    const = np.ones((5, 2))
    assert metrics.r2(const, const) == 1.0 == skm.r2_score(const, const)
    off = const.copy()
    off[0, 1] = 2
    assert metrics.r2(const, off) == skm.r2_score(const, off) == 0.5


def test_accuracy_metrics():
    assert metrics.binary_accuracy(Y_BIN, P_BIN) == pytest.approx(
        skm.accuracy_score(Y_BIN, P_BIN >= 0.5))
    assert metrics.categorical_accuracy(Y_CLS, P_CLS) == pytest.approx(
        skm.accuracy_score(Y_CLS, P_CLS.argmax(1)))


def test_get_by_name():
    assert metrics.get("accuracy") is metrics.binary_accuracy
    assert metrics.get("accuracy", "categorical_crossentropy", 3) is metrics.categorical_accuracy
    assert metrics.get("auc") is metrics.auc and metrics.get("r2") is metrics.r2
    assert metrics.get("AUC") is metrics.auc and metrics.get("roc_auc_score") is metrics.auc
    assert metrics.get("mean_absolute_error") is metrics.mae
    assert metrics.get("f1_score") is metrics.f1 and metrics.get("r2_score") is metrics.r2
    multilabel_f1 = metrics.get("f1", "binary_crossentropy", 3)
    y = RNG.integers(0, 2, (N, 3))
    p = RNG.random((N, 3))
    assert multilabel_f1(y, p) == pytest.approx(skm.f1_score(y, p >= 0.5, average="macro"))
    with pytest.raises(ValueError, match=r"Unknown metric 'fscore'; expected one of: accuracy, "
                                         r"auc, binary_accuracy"):
        metrics.get("fscore")
    with pytest.raises(TypeError, match=r"expected a name \(str\) or a callable"):
        metrics.get(3)


def test_metrics_by_name_in_fit_equal_sklearn_on_the_final_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    Xv = rng.normal(size=(80, 4))
    yv = (Xv[:, 0] + Xv[:, 1] * Xv[:, 2] > 0).astype(int)
    model = NeuralNet(((4, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=0)
    history = model.fit(X, y, epochs=5, verbose=0, metrics=["accuracy", "precision", "recall",
                                                             "f1", "auc"],
                        validation_data=(Xv, yv))
    h = history.history
    for data, prefix in (((X, y), ""), ((Xv, yv), "val_")):
        proba = model.predict(data[0])[:, 0].astype(np.float64)
        labels = (proba >= 0.5).astype(int)
        assert h[prefix + "accuracy"][-1] == pytest.approx(skm.accuracy_score(data[1], labels))
        assert h[prefix + "precision"][-1] == pytest.approx(skm.precision_score(data[1], labels))
        assert h[prefix + "recall"][-1] == pytest.approx(skm.recall_score(data[1], labels))
        assert h[prefix + "f1"][-1] == pytest.approx(skm.f1_score(data[1], labels))
        assert h[prefix + "auc"][-1] == pytest.approx(skm.roc_auc_score(data[1], proba))


def test_regression_metrics_in_fit():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=150)
    model = NeuralNet(((3, 8), (8, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
    history = model.fit(X, y, epochs=5, verbose=0, optimizer="adam", learning_rate=0.01,
                        metrics=["mae", "r2"], validation_split=0.2)
    pred = model.predict(X[-30:])[:, 0].astype(np.float64)
    assert history.history["val_mae"][-1] == pytest.approx(skm.mean_absolute_error(y[-30:], pred))
    assert history.history["val_r2"][-1] == pytest.approx(skm.r2_score(y[-30:], pred))
    assert sorted(history.history) == ["loss", "mae", "r2", "val_loss", "val_mae", "val_r2"]
