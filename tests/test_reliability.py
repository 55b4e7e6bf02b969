"""Reliability: edge-case arguments, hostile model files, saving over links, the CLI's last line.

Each test is one row of the README's safety table: what was tried, and what happens.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import neuralnet
from neuralnet import Dropout, FullyConnectedLayer, NeuralNet
from neuralnet._validation import InvalidTypeError


def _binary_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > 0).astype(np.int64)


# ------------------------------------------------------------------ class_weight
@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ({0: -5, 1: 0}, r"Received an invalid value for `class_weight`, expected finite "
         r"non-negative weights. Received: class_weight=\{0: -5\}"),
        ({0: float("nan"), 1: 1}, r"`class_weight`, .* Received: class_weight=\{0: nan\}"),
        ({0: 1, 1: float("inf")}, r"`class_weight`, .* Received: class_weight=\{1: inf\}"),
        ({0: 1, 1: "2"}, r"`class_weight`, .* Received: class_weight=\{1: '2'\}"),
        ({0: 1, 1: True}, r"`class_weight`, .* Received: class_weight=\{1: True\}"),
        ({0: 1, 7: 1}, r"class_weight names the class 7, which is not in y; the classes in y "
         r"are \[0, 1\]"),
        ({0: 1, "a": 1}, r"class_weight names the class 'a', which is not in y"),
        ({0: 0, 1: 0}, r"class_weight leaves every sample with weight 0; expected at least one "
         r"positive weight"),
    ],
)
def test_class_weight_is_refused_naming_class_weight(class_weight, message):
    X, y = _binary_data()
    model = NeuralNet(((2, 1),), seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, verbose=0, class_weight=class_weight)
    np.testing.assert_array_equal(model.get_weights()[0], before[0])


def test_class_weight_for_one_hot_classes_checks_the_classes_present():
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0, 1] * 6)  # class 2 of the three outputs never occurs
    model = NeuralNet(((2, 3),), activations="softmax", loss="categorical_crossentropy", seed=0)
    model.fit(X, y, epochs=1, verbose=0, class_weight={0: 1.0, 1: np.float32(2.0)})
    with pytest.raises(ValueError, match=r"class_weight names the class 2, which is not in y"):
        model.fit(X, y, epochs=1, verbose=0, class_weight={2: 1.0})


# ------------------------------------------------------------------- batch_size
def test_a_batch_larger_than_the_data_is_the_full_batch_and_allocates_nothing_more():
    X, y = _binary_data(n=20)
    X = np.hstack([X, np.zeros((20, 62))])  # 64 features, as digits
    huge, whole = (NeuralNet(((64, 64), (64, 1)), activations=["relu", "sigmoid"], seed=0)
                   for _ in range(2))
    tracemalloc.start()
    try:
        history = huge.fit(X, y, epochs=2, batch_size=10**9, verbose=0)
        huge.fit(X, y, epochs=1, batch_size=10**9, verbose=0, sample_weight=np.ones(20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # 10**9 rows of 64 float32 features would be 256 GB
    assert len(history.history["loss"]) == 2
    whole.fit(X, y, epochs=2, batch_size=20, verbose=0)
    whole.fit(X, y, epochs=1, batch_size=20, verbose=0, sample_weight=np.ones(20))
    for a, b in zip(huge.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_with_a_huge_batch_size_allocates_only_the_data():
    X, _ = _binary_data(n=40)
    model = NeuralNet(((2, 8), (8, 1)), seed=0)
    tracemalloc.start()
    try:
        out = model.predict(X, batch_size=10**12)
        logs = model.evaluate(X, (X[:, 0] > 0).astype(int), batch_size=10**12)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    np.testing.assert_array_equal(out, model.predict(X))
    assert 0 <= logs["accuracy"] <= 1


# ------------------------------------------------------------ constructor arguments
CONSTRUCTOR_ERRORS = [
    (lambda: NeuralNet(((2, 1),), seed=-1), ValueError,
     r"Received an invalid value for `seed`, expected None or a non-negative integer. "
     r"Received: seed=-1"),
    (lambda: NeuralNet(((2, 1),), seed=1.5), ValueError, r"`seed`, .* Received: seed=1.5"),
    (lambda: NeuralNet(((2, 1),), seed="0"), ValueError, r"`seed`.*Received: seed='0'"),
    (lambda: NeuralNet(((2, 1),), seed=True), ValueError, r"`seed`.*Received: seed=True"),
    (lambda: NeuralNet(((2, 1),), l2=float("inf")), ValueError,
     r"Received an invalid value for `l2`, expected a non-negative number. Received: l2=inf"),
    (lambda: NeuralNet(((2, 1),), l2=float("nan")), ValueError, r"`l2`.*Received: l2=nan"),
    (lambda: NeuralNet(((2, 1),), l2=-0.1), ValueError, r"`l2`.*Received: l2=-0.1"),
    (lambda: NeuralNet(((2, 1),), l2="0.1"), ValueError,
     r"invalid value for `l2`, expected a non-negative number. Received: l2='0.1'"),
    (lambda: NeuralNet([FullyConnectedLayer(2, 1)], l2=0.1), ValueError,
     r"`l2`: it applies to layers built from \(n_in, n_out\) pairs; give each "
     r"FullyConnectedLayer its own l2"),
    (lambda: NeuralNet([FullyConnectedLayer(2, 1)], l1=0.1), ValueError,
     r"`l1`: it applies to layers built from .* its own l1"),
    (lambda: NeuralNet(((2, 1),), l1=float("inf")), ValueError, r"`l1`.*Received: l1=inf"),
    (lambda: NeuralNet(((2, 1),), activations=3), TypeError,
     r"invalid type for `activations`, expected an activation name or one per layer. "
     r"Received: activations=3 of type int"),
    (lambda: NeuralNet(((2, 1),), initializer=3), InvalidTypeError,
     r"invalid type for `initializer`, expected a name \(he_normal.*Received: initializer=3"),
    (lambda: NeuralNet(((2, 1),), initializer="orthogonal"), ValueError,
     r"Unknown initialisation method 'orthogonal'.*Received: initializer='orthogonal'"),
    (lambda: NeuralNet(((2, 1),), initializer=lambda shape, rng: np.zeros(3)), ValueError,
     r"`initializer`: .* returned an array of shape \(3,\), expected finite values of shape "
     r"\(n_in, n_out\) = \(2, 1\)"),
    (lambda: FullyConnectedLayer(2, 1, l2=float("inf")), ValueError, r"`l2`.*Received: l2=inf"),
    (lambda: FullyConnectedLayer(2, 1, rng=-1), ValueError,
     r"invalid value for `rng`, .* Received: rng=-1"),
    (lambda: FullyConnectedLayer(2, 1, rng="x"), InvalidTypeError, r"`rng`.*Received: rng='x'"),
    (lambda: Dropout(0.5, rng=-3), ValueError, r"`rng`.*Received: rng=-3"),
    (lambda: Dropout(float("nan")), ValueError,
     r"invalid value for `rate`, expected a number in \[0, 1\). Received: rate=nan"),
    (lambda: neuralnet.losses.Huber(delta=float("inf")), ValueError,
     r"`delta`, expected a finite positive number. Received: delta=inf"),
]


@pytest.mark.parametrize(("build", "error", "message"), CONSTRUCTOR_ERRORS,
                         ids=[m[:40] for _, _, m in CONSTRUCTOR_ERRORS])
def test_constructor_arguments_are_checked_and_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_numpy_scalars_generators_and_zero_are_accepted():
    rng = np.random.default_rng(3)
    model = NeuralNet(((2, 2), (2, 1)), seed=np.int64(4), l2=np.float32(0.5))
    assert model.seed == 4 and model.layers[0].l2 == 0.5
    assert Dropout(np.float64(0.25), rng=rng).rng is rng
    assert FullyConnectedLayer(2, 1, l2=0, rng=np.int32(0)).l2 == 0.0
