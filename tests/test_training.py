"""Training beyond binary: multi-class, multi-label, regression, weights, L2, Dropout, validation,
summary; and learning real data (digits, a regression) as well as the reference models."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import numerical_gradients, relative_error
from neuralnet import Dropout, FullyConnectedLayer, LayerChain, NeuralNet
from neuralnet.optimizers import SGD, Adam


def _blobs(n=240, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    labels = rng.integers(0, k, n)
    return centres[labels] + rng.normal(size=(n, d)), labels


# ------------------------------------------------------------------------ multi-class
def test_softmax_integer_labels_and_one_hot_train_identically():
    X, labels = _blobs()
    runs = []
    for y in (labels, np.eye(3)[labels]):
        model = NeuralNet(((4, 8), (8, 3)), activations=["relu", "softmax"],
                          loss="categorical_crossentropy", seed=0)
        history = model.fit(X, y, epochs=5, verbose=0, optimizer="adam", learning_rate=0.01,
                            metrics=["accuracy"])
        runs.append((model, history))
    (a, ha), (b, hb) = runs
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history == hb.history
    assert ha.history["accuracy"][-1] > 0.9
    pred = a.predict_classes(X)
    assert pred.shape == (240,) and set(np.unique(pred)) <= {0, 1, 2}
    assert np.mean(pred == labels) == pytest.approx(ha.history["accuracy"][-1])
    proba = a.predict(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_softmax_categorical_loss_by_hand():
    model = NeuralNet(((2, 3),), activations="softmax", loss="categorical_crossentropy",
                      dtype="float64")
    model.set_weights([np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 0.2, 0.1]])])
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([2, 0])
    z = np.c_[X, np.ones(2)] @ model.get_weights()[0]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2
    assert model.loss(X, y) == pytest.approx(expected, rel=1e-12)
    assert model.loss(X, np.eye(3)[y]) == pytest.approx(expected, rel=1e-12)


def test_labels_out_of_range_for_softmax():
    X, labels = _blobs()
    model = NeuralNet(((4, 3),), activations="softmax", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels outside \[0, 2\] for a network with 3 outputs"):
        model.fit(X, labels + 1, epochs=1, verbose=0)


# ------------------------------------------------------------------------ multi-label
def test_multilabel_sigmoid_outputs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    Y = np.c_[X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5].astype(int)
    model = NeuralNet(((4, 16), (16, 3)), activations=["tanh", "sigmoid"], seed=0)
    history = model.fit(X, Y, epochs=30, verbose=0, optimizer="adam", learning_rate=0.02,
                        metrics=["accuracy", "f1", "auc"])
    pred = model.predict_classes(X)
    assert pred.shape == (300, 3)
    # accuracy is over every label of every sample; each output is its own sigmoid.
    assert history.history["accuracy"][-1] == pytest.approx(np.mean(pred == Y))
    assert np.mean(pred == Y) > 0.95 and history.history["auc"][-1] > 0.98
    proba = model.predict(X)
    assert not np.allclose(proba.sum(axis=1), 1.0)


# -------------------------------------------------------------------------- regression
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_with_a_linear_output(loss):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    model = NeuralNet(((3, 32), (32, 1)), activations=["tanh", "linear"], loss=loss, seed=0)
    history = model.fit(X, y, epochs=60, verbose=0, optimizer="adam", learning_rate=0.01,
                        metrics=["mae", "r2"])
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert history.history["r2"][-1] > 0.9
    # Outputs are not squashed: the range of the targets is reached.
    assert model.predict(X).max() > 1.0 and model.predict(X).min() < -1.0


def test_huber_between_mse_and_mae_by_hand():
    model = NeuralNet(((1, 1),), activations="linear", loss="huber", dtype="float64")
    model.set_weights([np.array([[0.0], [0.0]])])
    X = np.zeros((3, 1))
    y = np.array([0.5, -2.0, 3.0])  # residuals 0.5 (quadratic), 2 and 3 (linear, delta 1)
    assert model.loss(X, y) == pytest.approx((0.125 + 1.5 + 2.5) / 3)


# --------------------------------------------------------------- sample and class weights
def test_sample_weight_is_a_weighted_mean_loss_by_hand():
    model = NeuralNet(((2, 1),), activations="sigmoid", dtype="float64")
    model.set_weights([np.array([[1.0], [-1.0], [0.5]])])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    y = np.array([1, 0, 1, 0])
    w = np.array([1.0, 3.0, 0.5, 2.0])
    p = 1 / (1 + np.exp(-(X @ [1.0, -1.0] + 0.5)))
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert model.loss(X, y, sample_weight=w) == pytest.approx((w * per_sample).sum() / w.sum())
    assert model.loss(X, y) == pytest.approx(per_sample.mean())
    # The first epoch's logged loss (one batch, taken before its update) is the same number.
    history = model.fit(X, y, epochs=1, batch_size=4, verbose=0, sample_weight=w)
    assert history.history["loss"][0] == pytest.approx((w * per_sample).sum() / w.sum())


def test_class_weight_equals_the_matching_sample_weight():
    X, labels = _blobs(seed=3)
    runs = []
    for kwargs in ({"class_weight": {0: 1.0, 1: 4.0, 2: 0.5}},
                   {"sample_weight": np.array([1.0, 4.0, 0.5])[labels]}):
        model = NeuralNet(((4, 6), (6, 3)), activations=["tanh", "softmax"],
                          loss="categorical_crossentropy", seed=0)
        runs.append((model.fit(X, labels, epochs=3, verbose=0, **kwargs), model.get_weights()))
    assert runs[0][0].history == runs[1][0].history
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_class_weight_for_binary_labels_changes_the_balance():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 1.0).astype(int)  # about 16% positives
    preds = []
    for cw in (None, {0: 1.0, 1: 5.0}):
        model = NeuralNet(((2, 1),), seed=0)
        model.fit(X, y, epochs=30, verbose=0, optimizer="adam", learning_rate=0.05,
                  class_weight=cw)
        preds.append(model.predict_classes(X).sum())
    # Up-weighting the rare class makes the network predict it more often.
    assert preds[1] > preds[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sample_weight": [1.0, 2.0]}, ValueError, r"sample_weight has 2 entries, but X has 4"),
        ({"sample_weight": [1.0, -1.0, 1.0, 1.0]}, ValueError, r"non-negative with a positive sum"),
        ({"class_weight": [1.0, 2.0]}, TypeError, r"class_weight must be a dict"),
    ],
)
def test_weight_errors(kwargs, error, match):
    model = NeuralNet(((2, 1),), seed=0)
    with pytest.raises(error, match=match):
        model.fit(np.zeros((4, 2)), [0, 1, 0, 1], epochs=1, verbose=0, **kwargs)


# ------------------------------------------------------------------------------------ L2
def test_l2_loss_term_is_half_l2_times_the_squared_weights_without_bias():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    plain = NeuralNet(((3, 4), (4, 1)), activations=["tanh", "sigmoid"], seed=0, dtype="float64")
    reg = NeuralNet(((3, 4), (4, 1)), activations=["tanh", "sigmoid"], seed=0, dtype="float64",
                    l2=0.1)
    weights = [w + rng.normal(size=w.shape) for w in plain.get_weights()]  # non-zero biases
    plain.set_weights(weights)
    reg.set_weights(weights)
    penalty = 0.5 * 0.1 * sum((w[:-1] ** 2).sum() for w in weights)
    assert reg.loss(X, y) == pytest.approx(plain.loss(X, y) + penalty, rel=1e-12)
    # Changing only the biases leaves the penalty alone.
    shifted = [w.copy() for w in weights]
    for w in shifted:
        w[-1] += 10.0
    reg.set_weights(shifted)
    plain.set_weights(shifted)
    assert reg.loss(X, y) - plain.loss(X, y) == pytest.approx(penalty, rel=1e-12)


def test_l2_gradient_by_finite_differences_and_bias_row_unpenalised():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    layers = [FullyConnectedLayer(3, 5, "tanh", l2=0.2, dtype="float64", rng=0),
              FullyConnectedLayer(5, 2, "linear", l2=0.05, dtype="float64", rng=1)]
    reg = NeuralNet(layers, loss="mse", dtype="float64")
    weights = [w + rng.normal(scale=0.5, size=w.shape) for w in reg.get_weights()]
    reg.set_weights(weights)
    analytic = reg.gradients(X, y)
    numeric = numerical_gradients(reg, X, y)
    for a, n in zip(analytic, numeric, strict=True):
        assert relative_error(a, n) < 1e-6, f"backprop\n{a}\nnumeric\n{n}"
    plain = NeuralNet(((3, 5), (5, 2)), activations=["tanh", "linear"], loss="mse",
                      dtype="float64")
    plain.set_weights(weights)
    for a, p, w, l2 in zip(analytic, plain.gradients(X, y), weights, (0.2, 0.05), strict=True):
        np.testing.assert_allclose(a[-1], p[-1], rtol=1e-12)  # bias row: no penalty
        np.testing.assert_allclose(a[:-1], p[:-1] + l2 * w[:-1], rtol=1e-10)


def test_l2_shrinks_the_weights_and_is_validated():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(100, 5)), rng.integers(0, 2, 100)
    norms = []
    for l2 in (0.0, 0.1):
        model = NeuralNet(((5, 16), (16, 1)), activations=["relu", "sigmoid"], seed=0, l2=l2)
        model.fit(X, y, epochs=40, verbose=0, optimizer=SGD(0.1))
        norms.append(sum(float((w[:-1] ** 2).sum()) for w in model.get_weights()))
    assert norms[1] < 0.5 * norms[0]
    with pytest.raises(ValueError, match=r"`l2`, expected a non-negative number. Received: l2=-1"):
        NeuralNet(((2, 1),), l2=-1)


# ------------------------------------------------------------------------------ Dropout
def test_dropout_inverted_scaling():
    x = np.ones((2000, 50), dtype=np.float32)
    layer = Dropout(0.3, rng=0)
    out = layer.forward(x, training=True)
    kept = out != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02  # the expectation is unchanged
    # The gradient flows through the kept entries, scaled the same way.
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, out)
    # Not training: the identity.
    assert layer.forward(x) is x or np.array_equal(layer.forward(x), x)


def _dropout_net(rate, seed=0):
    layers = [FullyConnectedLayer(4, 32, "relu", rng=seed), Dropout(rate),
              FullyConnectedLayer(32, 1, "sigmoid", rng=seed + 1)]
    return NeuralNet(layers, seed=seed)


def test_dropout_is_active_in_fit_only():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(120, 4)), rng.integers(0, 2, 120)
    with_dropout, without = _dropout_net(0.5), _dropout_net(0.0)
    for w1, w2 in zip(with_dropout.get_weights(), without.get_weights(), strict=True):
        np.testing.assert_array_equal(w1, w2)
    # Before training, predict ignores Dropout: both networks give identical outputs.
    np.testing.assert_array_equal(with_dropout.predict(X), without.predict(X))
    np.testing.assert_array_equal(with_dropout.predict(X), with_dropout.predict(X))
    assert with_dropout.evaluate(X, y) == without.evaluate(X, y)
    # In fit, Dropout masks units: the same data, seed and optimizer give other weights.
    with_dropout.fit(X, y, epochs=2, verbose=0, optimizer=SGD(0.1), shuffle=False)
    without.fit(X, y, epochs=2, verbose=0, optimizer=SGD(0.1), shuffle=False)
    assert not np.allclose(with_dropout.get_weights()[0], without.get_weights()[0])
    # After training, predict is deterministic again, and equals a dropout-free twin's.
    twin = _dropout_net(0.0)
    twin.set_weights(with_dropout.get_weights())
    np.testing.assert_array_equal(with_dropout.predict(X), twin.predict(X))
    np.testing.assert_array_equal(with_dropout.forward(X), twin.forward(X))


def test_network_from_a_layer_chain_with_dropout_summary():
    chain = LayerChain([FullyConnectedLayer(64, 64, "relu", l2=1e-3), Dropout(0.2),
                        FullyConnectedLayer(64, 10, "softmax")])
    model = NeuralNet(chain, loss="categorical_crossentropy")
    printed = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    lines = text.splitlines()
    assert lines[0] == "NeuralNet 64-64-10: loss categorical_crossentropy, dtype float32"
    assert "Weights (n_in + 1, n_out)" in lines[2] and "Params" in lines[2]
    dense1, drop, dense2 = lines[4:7]
    assert "FullyConnectedLayer" in dense1 and "relu" in dense1 and "(65, 64)" in dense1
    assert dense1.split()[-2:] == ["4,160", "0.001"]
    assert drop.split()[1] == "Dropout(0.2)" and drop.split()[-2] == "0"
    assert "(65, 10)" in dense2 and dense2.split()[-2] == "650"
    assert lines[-1] == "Total params: 4,810" and model.n_params == 4810


def test_summary_prints_by_default(capsys):
    text = NeuralNet(((2, 3), (3, 1))).summary()
    assert capsys.readouterr().out == text + "\n"
    assert "(3, 3)" in text and "(4, 1)" in text and text.endswith("Total params: 13")
    assert "L2" not in text


# --------------------------------------------------------------------------- validation
def test_validation_split_holds_out_the_last_samples():
    X, labels = _blobs(200, seed=9)
    model = NeuralNet(((4, 8), (8, 3)), activations=["relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    history = model.fit(X, labels, epochs=3, verbose=0, validation_split=0.25,
                        metrics=["accuracy"])
    assert history.params["samples"] == 150
    val = model.evaluate(X[150:], labels[150:])
    assert history.history["val_loss"][-1] == pytest.approx(val["loss"])
    assert history.history["val_accuracy"][-1] == pytest.approx(val["accuracy"])
    train = model.evaluate(X[:150], labels[:150])
    assert history.history["accuracy"][-1] == pytest.approx(train["accuracy"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation_split": 1.0}, r"`validation_split`, expected a number in \[0, 1\)"),
        ({"validation_split": 0.001}, r"leaves 0 for validation"),
        ({"validation_split": 0.2, "validation_data": (np.zeros((2, 4)), [0, 1])},
         r"either validation_data or validation_split, not both"),
        ({"validation_data": np.zeros((2, 4))}, r"validation_data must be a pair"),
        ({"validation_data": (np.zeros((2, 3)), [0, 1])},
         r"validation_data\[0\] has 3 features, but the network's first layer expects 4"),
    ],
)
def test_validation_errors(kwargs, match):
    X, labels = _blobs(40)
    model = NeuralNet(((4, 3),), activations="softmax", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=match):
        model.fit(X, labels, epochs=1, verbose=0, **kwargs)


# ----------------------------------------------------------------------------- learning
def test_digits_above_95_percent_test_accuracy():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    model = NeuralNet(((64, 64), (64, 10)), activations=["relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    model.fit(scaler.transform(X_train), y_train, epochs=20, batch_size=32, verbose=0,
              optimizer=Adam(1e-3))
    assert model.evaluate(scaler.transform(X_test), y_test)["accuracy"] > 0.95


def test_regression_r2_close_to_a_linear_model():
    """On a linear target with noise, the network gets within 0.03 of least squares' R^2."""
    from sklearn.datasets import make_regression
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(n_samples=800, n_features=10, n_informative=8, noise=20.0,
                           random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    mean, std = y_train.mean(), y_train.std()
    linear = r2_score(y_test, LinearRegression().fit(X_train, y_train).predict(X_test))
    model = NeuralNet(((10, 32), (32, 1)), activations=["relu", "linear"], loss="mse", seed=0)
    model.fit(scaler.transform(X_train), (y_train - mean) / std, epochs=40, batch_size=32,
              verbose=0, optimizer=Adam(3e-3))
    pred = model.predict(scaler.transform(X_test))[:, 0] * std + mean
    ours = r2_score(y_test, pred)
    assert ours > linear - 0.03, f"network R^2 {ours:.3f}, linear model {linear:.3f}"
