"""Gradient checks, the traced forward/backward pass, and the training diagnostics in History."""

import pickle
import re
import warnings

import numpy as np
import pytest

from neuralnet import NeuralNet, activations
from neuralnet.callbacks import Callback
from neuralnet.datasets import make_moons, standardize
from neuralnet.diagnostics import GradientCheck, TrainingMonitor, TrainingWarning


def _moons(n=64, seed=0):
    X, y = make_moons(n, noise=0.2, seed=seed)
    return standardize(X), y


# ----------------------------------------------------------------------------- check_gradients
@pytest.mark.parametrize(
    "acts, loss, n_out",
    [
        (["sigmoid", "sigmoid"], "binary_crossentropy", 1),
        (["tanh", "sigmoid"], "binary_crossentropy", 1),
        (["relu", "softmax"], "categorical_crossentropy", 3),
        (["leaky_relu", "linear"], "mse", 2),
        (["tanh", "tanh"], "mse", 2),
    ],
)
def test_check_gradients_passes_for_each_activation_and_loss(acts, loss, n_out):
    X, labels = _moons(16)
    y = {
        "binary_crossentropy": labels,
        "categorical_crossentropy": labels % 3,
        "mse": np.random.default_rng(0).normal(size=(16, n_out)),
    }[loss]
    model = NeuralNet(((2, 5), (5, n_out)), activations=acts, loss=loss, seed=1, l2=0.01)
    result = model.check_gradients(X, y, verbose=False)
    assert isinstance(result, GradientCheck) and len(result) == 2
    assert result.passed, str(result)
    assert [row["shape"] for row in result] == [(3, 5), (6, n_out)]
    assert [row["checked"] for row in result] == [15, 6 * n_out]
    assert all(row["max_rel_error"] < 1e-5 for row in result)


def test_check_gradients_prints_the_table_unless_told_not_to(capsys):
    X, y = _moons(8)
    model = NeuralNet(((2, 3), (3, 1)), seed=0)
    result = model.check_gradients(X, y)
    out = capsys.readouterr().out
    assert out.strip() == str(result)
    assert "max abs err" in out and "max rel err" in out
    assert re.search(r"^1\s+3x3\s+9\s+\S+\s+\S+\s+pass$", out, re.M)
    assert re.search(r"^2\s+4x1\s+4\s+\S+\s+\S+\s+pass$", out, re.M)
    model.check_gradients(X, y, verbose=False)
    assert capsys.readouterr().out == ""


def test_check_gradients_catches_a_wrong_derivative(monkeypatch):
    X, y = _moons(16)
    model = NeuralNet(((2, 4), (4, 1)), activations=["tanh", "sigmoid"], seed=0)

    def wrong(self, a, grad):  # forgets the square: 1 - a instead of 1 - a^2
        grad *= 1.0 - a
        return grad

    monkeypatch.setattr(activations.Tanh, "backward", wrong)
    result = model.check_gradients(X, y, verbose=False)
    assert not result.passed
    assert [row["passed"] for row in result] == [False, True]  # the output layer is untouched
    assert result[0]["max_rel_error"] > 1e-3


def test_check_gradients_uses_a_float64_copy_and_leaves_the_model_alone():
    X, y = _moons(16)
    model = NeuralNet(((2, 4), (4, 1)), seed=0)
    before = model.get_weights()
    result = model.check_gradients(X, y, verbose=False)
    # float32 differences at epsilon=1e-6 would be pure rounding noise; float64 gets ~1e-9.
    assert result.passed and max(row["max_rel_error"] for row in result) < 1e-6
    assert model.dtype == np.float32
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)


def test_check_gradients_max_checks_samples_entries():
    X, y = _moons(16)
    model = NeuralNet(((2, 8), (8, 8), (8, 1)), activations="tanh", loss="mse", seed=0)
    result = model.check_gradients(X, y.astype(float), max_checks=5, verbose=False)
    assert [row["checked"] for row in result] == [5, 5, 5]
    assert result.passed


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epsilon": 0}, r"`epsilon`, expected a positive number. Received: epsilon=0"),
        ({"rtol": -1.0}, r"`rtol`, expected a positive number. Received: rtol=-1.0"),
        ({"atol": "x"}, r"`atol`, expected a positive number. Received: atol='x'"),
        ({"max_checks": 0}, r"`max_checks`, expected a positive integer or None. Received: max_checks=0"),
    ],
)
def test_check_gradients_rejects_bad_settings(kwargs, message):
    X, y = _moons(8)
    model = NeuralNet(((2, 3), (3, 1)), seed=0)
    with pytest.raises(ValueError, match=message):
        model.check_gradients(X, y, verbose=False, **kwargs)


def test_check_gradients_checks_X_like_the_model():
    model = NeuralNet(((2, 3), (3, 1)), seed=0)
    with pytest.raises(ValueError, match="X has 3 features, but the network's first layer expects 2"):
        model.check_gradients(np.zeros((4, 3)), np.zeros(4), verbose=False)


# ------------------------------------------------------------------------------------ explain
def test_explain_traces_the_article_2_3_1_network(capsys):
    X, y = _moons(10)
    model = NeuralNet(layer_shapes=((2, 3), (3, 1)), seed=0)
    text = model.explain(X, y)
    assert capsys.readouterr().out.strip() == text
    assert "the first m = 4 of 10 samples, X (4, 2); Y (4, 1)" in text
    # Forward: the shapes flowing through the layers, bias absorbed.
    assert re.findall(r"input\s+A_\d\s+(\(.*\))", text) == ["(4, 2)", "(4, 3)"]
    assert re.search(r"add_bias\s+\[A_0, 1\]\s+\(4, 3\)", text)
    assert re.search(r"add_bias\s+\[A_1, 1\]\s+\(4, 4\)", text)
    assert re.search(r"weights\s+W_1\s+\(3, 3\)\s+\(n_in \+ 1, n_out\); the bias is W_1\[-1\]", text)
    assert re.search(r"weights\s+W_2\s+\(4, 1\)", text)
    assert re.search(r"Z_1 = \[A_0, 1\] @ W_1\s+\(4, 3\)", text)
    assert re.search(r"A_2 = sigmoid\(Z_2\)\s+\(4, 1\)", text)
    # Backward: the deltas and the gradients, shaped like the weights.
    assert re.search(r"delta_2\s+dL/dZ_2 = \(A_2 - Y\) / \(m k\)\s+\(4, 1\)", text)
    assert re.search(r"dL/dW_2\s+\[A_1, 1\]\^T @ delta_2\s+\(4, 1\)", text)
    assert re.search(r"dL/dA_1\s+delta_2 @ W_2\[:-1\]\^T\s+\(4, 3\)\s+the bias row sends nothing down", text)
    assert re.search(r"delta_1\s+dL/dA_1 \* A_1 \(1 - A_1\)\s+\(4, 3\)", text)
    assert re.search(r"dL/dW_1\s+\[A_0, 1\]\^T @ delta_1\s+\(3, 3\)", text)
    expected_loss = NeuralNet(((2, 3), (3, 1)), seed=0, dtype="float64").loss(X[:4], y[:4])
    loss = float(re.search(r"Loss\s+L = binary_crossentropy\(Y, A_2\) = (\S+)", text).group(1))
    assert loss == pytest.approx(expected_loss, abs=1e-6)
    match = float(re.search(r"back-propagation to (\S+)\.$", text).group(1))
    assert match < 1e-12


def test_explain_without_y_or_print_and_with_dropout_and_softmax(capsys):
    from neuralnet import Dense, Dropout

    X, _ = _moons(6)
    model = NeuralNet(
        [Dense(2, 5, "relu"), Dropout(0.5), Dense(5, 3, "softmax")],
        loss="categorical_crossentropy",
        seed=0,
    )
    text = model.explain(X, max_samples=2, verbose=False)
    assert capsys.readouterr().out == ""
    assert "no y given, so every target is 0 (class 0)" in text
    assert "Dropout(0.5): inactive outside training, A passes through (2, 5)" in text
    assert re.search(r"delta_2\s+dL/dZ_2 = \(A_2 - Y\) / m\s+\(2, 3\)", text)
    assert re.search(r"delta_1\s+dL/dA_1 \* \[A_1 > 0\]\s+\(2, 5\)", text)
    assert float(re.search(r"back-propagation to (\S+)\.$", text).group(1)) < 1e-12


def test_explain_rejects_a_bad_max_samples():
    model = NeuralNet(((2, 3), (3, 1)), seed=0)
    with pytest.raises(ValueError, match=r"`max_samples`, expected a positive integer. Received: max_samples=0"):
        model.explain(np.zeros((3, 2)), max_samples=0)


# ---------------------------------------------------------------------- training diagnostics
def test_history_records_per_layer_diagnostics_each_epoch():
    X, y = _moons(100)
    model = NeuralNet(((2, 6), (6, 4), (4, 1)), activations=["relu", "tanh", "sigmoid"], seed=0)
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    d = history.diagnostics
    assert set(d) == {"grad_norm", "update_ratio", "dead_relu", "saturated"}
    for key in d:
        assert np.asarray(d[key]).shape == (3, 3)
    # The gradient norm is that of the epoch's last batch, the one left in each layer's grad.
    np.testing.assert_allclose(
        d["grad_norm"][-1], [np.linalg.norm(l.grad) for l in model.layers.dense], rtol=1e-6
    )
    dead, saturated = np.asarray(d["dead_relu"]), np.asarray(d["saturated"])
    assert np.isfinite(dead[:, 0]).all() and np.isnan(dead[:, 1:]).all()
    assert np.isnan(saturated[:, 0]).all() and np.isfinite(saturated[:, 1:]).all()
    assert ((saturated[:, 1:] >= 0) & (saturated[:, 1:] <= 1)).all()


def test_update_ratio_is_one_full_batch_step_by_hand():
    X, y = _moons(32)
    model = NeuralNet(((2, 4), (4, 1)), seed=0, dtype="float64")
    w0 = model.get_weights()
    # One epoch of one full batch: W1 = W0 - lr g(W0), and g(W0) is left in layer.grad.
    history = model.fit(X, y, epochs=1, batch_size=32, learning_rate=0.5, shuffle=False, verbose=0)
    grads = [l.grad for l in model.layers.dense]
    expected = [0.5 * np.linalg.norm(g) / np.linalg.norm(w) for g, w in zip(grads, w0, strict=True)]
    np.testing.assert_allclose(history.diagnostics["update_ratio"][0], expected, rtol=1e-10)


@pytest.mark.parametrize(
    "optimizer",
    ["adam", "sgd_nesterov_decay", "rmsprop", "adagrad", "adamw"],
)
def test_grad_norm_is_the_last_batch_gradient_whatever_the_optimizer(optimizer):
    """Optimizers leave the gradient buffer alone, so the recorded norm is dL/dW itself."""
    from neuralnet.optimizers import SGD

    X, y = _moons(32)
    model = NeuralNet(((2, 4), (4, 1)), seed=0, dtype="float64")
    expected = [np.linalg.norm(g) for g in model.gradients(X, y)]  # at the starting weights
    opt = SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01) \
        if optimizer == "sgd_nesterov_decay" else optimizer
    history = model.fit(X, y, epochs=1, batch_size=32, shuffle=False, optimizer=opt, verbose=0)
    np.testing.assert_allclose(history.diagnostics["grad_norm"][0], expected, rtol=1e-12)


def test_dead_relus_are_counted_and_warned_about_once():
    X, y = _moons(64)
    model = NeuralNet(((2, 8), (8, 1)), activations=["relu", "sigmoid"], seed=0)
    model.layers[0].weights[-1] = -100.0  # every unit's bias far below any input: all dead
    with pytest.warns(TrainingWarning) as record:
        history = model.fit(X, y, epochs=3, verbose=0)
    messages = [str(w.message) for w in record if w.category is TrainingWarning]
    assert len(messages) == 1
    assert re.fullmatch(
        r"100% of the ReLUs in layer 1 are dead \(output 0 for every input\) after epoch 1; "
        r"they no longer learn\. Try a smaller learning rate or leaky_relu\.",
        messages[0],
    )
    assert [row[0] for row in history.diagnostics["dead_relu"]] == [1.0, 1.0, 1.0]
    assert record[0].filename == __file__  # points at the caller's fit, not at the library


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_saturated_units_are_warned_about(act):
    X, y = _moons(64)
    model = NeuralNet(((2, 8), (8, 1)), activations=[act, "sigmoid"], seed=0)
    with pytest.warns(TrainingWarning, match=rf"of the {act} outputs of layer 1 are saturated"):
        history = model.fit(X * 1000.0, y, epochs=1, verbose=0)
    assert history.diagnostics["saturated"][0][0] > 0.9


def test_saturation_advice_depends_on_the_scale_of_the_inputs():
    X, y = _moons(64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = NeuralNet(((2, 8), (8, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
    weights = model.get_weights()
    model.set_weights([weights[0] * 100, weights[1]])  # saturated whatever the inputs
    with pytest.warns(TrainingWarning, match=r"saturated after epoch 1, where the gradient vanishes\. "
                                             r"The inputs are already on a unit scale: use a smaller "
                                             r"learning rate \(and, for a regression, standardize the "
                                             r"targets\)\.") as record:
        model.fit(X, y * 150.0, epochs=1, verbose=0, learning_rate=1e-6)
    assert not any("Standardize the inputs" in str(w.message) for w in record)
    model = NeuralNet(((2, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=0)
    with pytest.warns(TrainingWarning, match=r"Standardize the inputs or use a smaller learning rate\."):
        model.fit(X * 1000.0, y, epochs=1, verbose=0)


def test_a_learning_rate_too_high_is_warned_about():
    X, y = _moons(400)
    model = NeuralNet(((2, 16), (16, 16), (16, 1)), activations=["tanh", "tanh", "sigmoid"], seed=0)
    with pytest.warns(TrainingWarning) as record:
        model.fit(X, y, epochs=10, learning_rate=3.0, verbose=0)
    messages = [str(w.message) for w in record if "learning rate" in str(w.message)]
    assert len(messages) == 1
    assert re.match(
        r"The loss rose from \S+ to \S+ in epoch \d+ while the weights moved by \d+% of their "
        r"size: the learning rate \(3\) is probably too high; try a smaller one\.$",
        messages[0],
    )


def test_healthy_training_gives_no_warning():
    X, y = _moons(400)
    model = NeuralNet(((2, 16), (16, 16), (16, 1)), activations=["relu", "relu", "sigmoid"], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        history = model.fit(X, y, epochs=20, learning_rate=0.1, verbose=0)
    assert len(history.diagnostics["grad_norm"]) == 20


def test_monitor_does_not_change_training(monkeypatch):
    X, y = _moons(100)

    def train():
        model = NeuralNet(((2, 6), (6, 1)), activations=["tanh", "sigmoid"], seed=3)
        model.fit(X, y, epochs=3, batch_size=16, verbose=0)
        return model.get_weights()

    monitored = train()
    monkeypatch.setattr(TrainingMonitor, "on_epoch_end", lambda self, epoch, logs=None: None)
    for a, b in zip(monitored, train(), strict=True):
        np.testing.assert_array_equal(a, b)


class _Recorder(Callback):
    """Notes, at each epoch's end, what the monitor should report and what it shows so far."""

    def __init__(self):
        self.grad_norms, self.weights, self.seen = [], [], []

    def on_train_begin(self, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])

    def on_epoch_end(self, epoch, logs=None):
        self.grad_norms.append([np.linalg.norm(l.grad) for l in self.model.layers.dense])
        self.weights.append([w.copy() for w in self.model.get_weights()])
        self.seen.append(len(self.model.history.diagnostics["grad_norm"]))


def test_diagnostics_held_back_in_blocks_equal_each_epochs_own_numbers():
    """A tiny full-batch network's epochs wait in blocks of 64; every number is still its epoch's."""
    X, y = _moons(50)
    model = NeuralNet(((2, 3), (3, 1)), seed=0, dtype="float64")
    recorder = _Recorder()
    history = model.fit(X, y, epochs=150, batch_size=50, learning_rate=0.5, shuffle=False,
                        callbacks=[recorder], verbose=0)
    # Read during training, the diagnostics were complete up to the epoch before.
    assert recorder.seen == list(range(150))
    d = history.diagnostics
    assert [len(d[key]) for key in sorted(d)] == [150] * 4
    np.testing.assert_allclose(d["grad_norm"], recorder.grad_norms, rtol=1e-10)
    w = recorder.weights
    expected_ratio = [
        [np.linalg.norm(b - a) / np.linalg.norm(a) for a, b in zip(w[e], w[e + 1], strict=True)]
        for e in range(150)
    ]
    np.testing.assert_allclose(d["update_ratio"], expected_ratio, rtol=1e-10)
    probe = X[::max(1, len(X) // 128)][:128]
    model.set_weights(w[-2])  # the last epoch's start: its one batch saw these weights
    saturated = [np.mean((a <= 0.01) | (a >= 0.99)) for a in _layer_outputs(model, probe)]
    np.testing.assert_allclose(d["saturated"][-1], saturated)
    assert history._pending is None  # fit's end completed them and let go of the monitor
    np.testing.assert_equal(pickle.loads(pickle.dumps(history)).diagnostics, d)


def _layer_outputs(model, X):
    outputs = []
    for layer in model.layers.dense:
        X = layer.forward(X).copy()
        outputs.append(X)
    return outputs


@pytest.mark.parametrize(
    "hidden, output, loss, k",
    [
        (["relu"], "sigmoid", "binary_crossentropy", 1),
        (["tanh"], "softmax", "categorical_crossentropy", 3),
        (["sigmoid", "relu"], "linear", "mse", 2),
    ],
)
def test_one_step_epochs_replay_the_probe_activations_to_the_same_diagnostics(
    hidden, output, loss, k, monkeypatch
):
    """Full-batch epochs of dense layers recompute a block's activations from its epochs' start
    weights instead of copying them each epoch: every number is what the copies give."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) * 2
    y = {1: (X[:, 0] > 0).astype(float), 3: rng.integers(0, 3, 300),
         2: rng.normal(size=(300, 2))}[k]
    sizes = [4, *([8] * len(hidden)), k]
    seen = []
    begin = TrainingMonitor.on_train_begin

    def run(replay):
        def on_train_begin(self, logs=None):
            begin(self, logs)
            seen.append(self._replay)
            self._replay = self._replay and replay

        monkeypatch.setattr(TrainingMonitor, "on_train_begin", on_train_begin)
        model = NeuralNet(list(zip(sizes[:-1], sizes[1:], strict=True)),
                          activations=[*hidden, output], loss=loss, seed=1, dtype="float64")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrainingWarning)
            history = model.fit(X, y, epochs=150, batch_size=len(X), optimizer="sgd",
                                learning_rate=0.05 if loss == "mse" else 0.5, verbose=0)
        return history.diagnostics

    replayed, copied = run(True), run(False)
    assert seen == [True, True]  # one-step epochs of dense layers replay; the second was told not to
    for key in copied:
        np.testing.assert_allclose(np.array(replayed[key], dtype=float),
                                   np.array(copied[key], dtype=float), rtol=1e-12)
    measured = np.array([copied["dead_relu"], copied["saturated"]], dtype=float)
    assert np.nanmax(measured) > 0  # the comparison is not of zeros only


def test_mini_batch_epochs_and_a_callback_at_epoch_begin_copy_the_activations(monkeypatch):
    """Replay needs the step to have seen the epoch's start weights."""
    seen = []
    begin = TrainingMonitor.on_train_begin

    def on_train_begin(self, logs=None):
        begin(self, logs)
        seen.append(self._replay)

    monkeypatch.setattr(TrainingMonitor, "on_train_begin", on_train_begin)
    class Nudge(Callback):  # moves the weights after the epoch's snapshot, before its step
        def on_epoch_begin(self, epoch, logs=None):
            self.model.layers[0].weights[0] += 0.1

    X, y = _moons(64)
    NeuralNet(((2, 3), (3, 1)), seed=0).fit(X, y, epochs=2, batch_size=16, verbose=0)
    NeuralNet(((2, 3), (3, 1)), seed=0).fit(X, y, epochs=2, batch_size=64, verbose=0)
    NeuralNet(((2, 3), (3, 1)), seed=0).fit(X, y, epochs=2, batch_size=64, verbose=0,
                                          callbacks=[Nudge()])
    assert seen == [False, True, False]
