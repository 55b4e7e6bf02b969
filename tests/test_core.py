"""The core's contract: any order of layers, no subclass mistaken for a built-in, custom objects
registered by name, Keras habits, the training loop in its own module, and no import cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import neuralnet
from conftest import numerical_gradients, relative_error
from neuralnet import Dense, Dropout, FullyConnectedLayer, Layer, NeuralNet, _fastpath
from neuralnet.activations import Activation, Sigmoid
from neuralnet.losses import BinaryCrossentropy, Loss

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 2))
y_multi = rng.integers(0, 2, size=12)
y_bin = rng.integers(0, 2, size=12).astype(float)


def _copy_weights(src: NeuralNet, dst: NeuralNet) -> None:
    dst.set_weights(src.get_weights())


# ------------------------------------------------------------------ any order of layers
@pytest.mark.parametrize("n_out, loss, y", [(2, "categorical_crossentropy", y_multi),
                                             (1, "binary_crossentropy", y_bin)])
def test_a_trailing_dropout_changes_nothing(n_out, loss, y):
    act = "softmax" if n_out == 2 else "sigmoid"
    plain = NeuralNet([FullyConnectedLayer(2, n_out, act, dtype="float64")], loss=loss,
                      dtype="float64", seed=0)
    wrapped = NeuralNet([FullyConnectedLayer(2, n_out, act, dtype="float64"), Dropout(0.0)],
                        loss=loss, dtype="float64", seed=0)
    _copy_weights(plain, wrapped)
    assert wrapped.loss(X, y) == pytest.approx(plain.loss(X, y), rel=1e-12)
    for g_w, g_p in zip(wrapped.gradients(X, y), plain.gradients(X, y), strict=True):
        np.testing.assert_allclose(g_w, g_p, rtol=1e-10, atol=1e-14)
    plain.fit(X, y, epochs=5, batch_size=4, verbose=0)
    wrapped.fit(X, y, epochs=5, batch_size=4, verbose=0)
    for a, b in zip(wrapped.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


ORDERS = {
    "dropout first": lambda: [Dropout(0.0), FullyConnectedLayer(2, 4, "tanh", dtype="float64"),
                              FullyConnectedLayer(4, 1, "sigmoid", dtype="float64")],
    "dropout between": lambda: [FullyConnectedLayer(2, 4, "relu", dtype="float64"), Dropout(0.3),
                                FullyConnectedLayer(4, 3, "tanh", dtype="float64"),
                                FullyConnectedLayer(3, 1, "sigmoid", dtype="float64")],
    "dropout last": lambda: [FullyConnectedLayer(2, 4, "tanh", dtype="float64"),
                             FullyConnectedLayer(4, 1, "sigmoid", dtype="float64"), Dropout(0.0)],
    "two dropouts": lambda: [FullyConnectedLayer(2, 3, "sigmoid", dtype="float64"), Dropout(0.0),
                             Dropout(0.0), FullyConnectedLayer(3, 1, "sigmoid", dtype="float64")],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_gradients_of_any_order_of_layers_equal_finite_differences(order):
    model = NeuralNet(ORDERS[order](), dtype="float64", seed=1)
    analytic = model.gradients(X, y_bin, training=False)
    numeric = numerical_gradients(model, X, y_bin)
    for a, n in zip(analytic, numeric, strict=True):
        assert relative_error(a, n) < 1e-6
    assert model.check_gradients(X, y_bin, verbose=False).passed


@pytest.mark.parametrize("order", list(ORDERS))
def test_gradients_of_any_order_of_layers_equal_torch(order):
    """Dropout at rate 0.3 in training mode: the same mask applied in torch."""
    model = NeuralNet(ORDERS[order](), dtype="float64", seed=1)
    model._forward(X, training=True)
    masks = [getattr(l, "_mask", None) for l in model.layers]
    model._backward(model.check_y(y_bin, len(X)))
    ours = [l.grad.copy() for l in model.layers.dense]
    params = [torch.tensor(l.weights, requires_grad=True) for l in model.layers.dense]
    a = torch.tensor(X)
    k = 0
    for layer, mask in zip(model.layers, masks, strict=True):
        if isinstance(layer, Dropout):
            a = a * torch.tensor(mask) if mask is not None else a
            continue
        W = params[k]
        k += 1
        z = a @ W[:-1] + W[-1]
        a = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[
            layer.activation.name](z)
    loss = torch.nn.functional.binary_cross_entropy(a, torch.tensor(y_bin)[:, None])
    loss.backward()
    for g, p in zip(ours, params, strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-7, atol=1e-12)


# --------------------------------------------------------- subclasses are not built-ins
class ShiftedSigmoid(Sigmoid):
    """A user's variant: a sigmoid of z + 1, with its own derivative from the output."""

    name = "shifted_sigmoid_test"

    def forward(self, z, out=None):
        return super().forward(z + 1.0, out=out)


def test_a_subclass_of_the_output_activation_takes_the_general_path():
    model = NeuralNet([FullyConnectedLayer(2, 3, "tanh", dtype="float64"),
                       FullyConnectedLayer(3, 1, ShiftedSigmoid(), dtype="float64")],
                      loss="binary_crossentropy", dtype="float64", seed=0)
    assert not _fastpath.supports(model, None)
    assert model.fused_output_layer is None
    numeric = numerical_gradients(model, X, y_bin)
    for a, n in zip(model.gradients(X, y_bin), numeric, strict=True):
        assert relative_error(a, n) < 1e-6
    assert model.check_gradients(X, y_bin, verbose=False).passed
    # fit trains what predict computes: one full-batch SGD step by hand.
    before = model.get_weights()
    grads = model.gradients(X, y_bin)
    model.fit(X, y_bin, epochs=1, batch_size=len(X), learning_rate=0.5, verbose=0)
    for w0, g, w1 in zip(before, grads, model.get_weights(), strict=True):
        np.testing.assert_allclose(w1, w0 - 0.5 * g, rtol=1e-12)


class WeightedBCE(BinaryCrossentropy):
    name = "weighted_bce_test"

    def per_sample(self, y, a, z=None):
        return 2.0 * super().per_sample(y, a, None)

    def gradient(self, y, a):
        return 2.0 * super().gradient(y, a)


def test_a_subclass_of_a_loss_is_not_fused():
    model = NeuralNet(((2, 3), (3, 1)), loss=WeightedBCE(), dtype="float64", seed=0)
    assert not _fastpath.supports(model, None)
    assert not WeightedBCE().fuses_with(Sigmoid()) and BinaryCrossentropy().fuses_with(Sigmoid())
    base = NeuralNet(((2, 3), (3, 1)), dtype="float64", seed=0)
    for a, b in zip(model.gradients(X, y_bin), base.gradients(X, y_bin), strict=True):
        np.testing.assert_allclose(a, 2 * b, rtol=1e-7)
    assert model.check_gradients(X, y_bin, verbose=False).passed


# -------------------------------------------------------------------------- registration
@neuralnet.register
class Cube(Activation):
    """a = z^3, da/dz = 3 z^2 = 3 a^(2/3): written from z, so it asks for z."""

    name = "cube_test"
    needs_z = True

    def forward(self, z, out=None):
        return np.power(z, 3, out=out)

    def backward(self, a, grad, z=None):
        grad *= 3.0 * z * z
        return grad


@neuralnet.register
class Scale(Layer):
    """A layer with parameters of its own: a = x * s + t, one scale and shift per feature."""

    name = "ScaleTest"

    def __init__(self, init: float = 1.0) -> None:
        super().__init__()
        self.init = float(init)

    def build(self, n_in, dtype=np.float32, rng=None):
        super().build(n_in, dtype, rng)
        self.params = {"scale": np.full(n_in, self.init, dtype=self.dtype),
                       "shift": np.zeros(n_in, dtype=self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, training=False):
        self._x = np.asarray(x)
        self.outputs = self._x * self.params["scale"] + self.params["shift"]
        return self.outputs

    def backward(self, grad):
        self.grads["scale"][...] = (grad * self._x).sum(axis=0)
        self.grads["shift"][...] = grad.sum(axis=0)
        return grad * self.params["scale"] if self.needs_input_grad else None

    def get_config(self):
        return {"class_name": self.name, "init": self.init}


@neuralnet.register
class HalfMSE(Loss):
    name = "half_mse_test"

    def per_sample(self, y, a, z=None):
        return 0.5 * ((a - y) ** 2).mean(axis=1)

    def gradient(self, y, a):
        return (a - y) / a.shape[1]


def _custom_model():
    return NeuralNet([Scale(0.5), Dense(3, activation="cube_test"), Scale(), Dense(1)],
                     loss="half_mse_test", dtype="float64", seed=0)


def test_register_returns_the_class_and_the_names_work_everywhere():
    assert Cube.name in neuralnet.activations.ACTIVATIONS
    layer = FullyConnectedLayer(2, 2, activation="cube_test")
    assert isinstance(layer.activation, Cube)
    model = _custom_model()
    assert isinstance(model.loss_fn, HalfMSE)
    model.build(2)
    assert [type(l).__name__ for l in model.layers] == ["Scale", "Dense", "Scale", "Dense"]
    assert model.layers[1].weights.shape == (3, 3) and model.layers[2].params["scale"].shape == (3,)


def test_a_custom_layer_with_parameters_passes_the_gradient_check():
    model = _custom_model()
    model.build(2)
    model.layers[0].params["scale"][...] = [0.7, -1.3]
    model.layers[2].params["shift"][...] = [0.1, 0.2, -0.3]
    y = rng.normal(size=12)
    check = model.check_gradients(X, y, verbose=False)
    assert check.passed and len(check) == 4
    numeric = numerical_gradients(model, X, y)
    for a, n in zip(model.gradients(X, y), numeric, strict=True):
        assert relative_error(a, n) < 1e-6


def test_custom_objects_save_and_load_without_pickle(tmp_path):
    model = _custom_model()
    y = rng.normal(size=12)
    model.fit(X, y, epochs=3, batch_size=4, optimizer="adam", verbose=0)
    path = tmp_path / "custom.npz"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert all(name.endswith(".npy") for name in z.namelist())
    loaded = neuralnet.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    model.fit(X, y, epochs=2, batch_size=4, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=4, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_loading_an_unregistered_class_says_how_to_register_it(tmp_path):
    model = _custom_model()
    model.fit(X, rng.normal(size=12), epochs=1, verbose=0)
    path = tmp_path / "custom.npz"
    model.save(path)
    script = (
        "import neuralnet, sys\n"
        "try:\n"
        f"    neuralnet.load({str(path)!r})\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3, done.stderr
    assert "'ScaleTest'" in done.stdout and "@neuralnet.register" in done.stdout


def test_no_code_from_a_file_is_run(tmp_path):
    """A file that names a class by its import path gets the same refusal, nothing imported."""
    model = NeuralNet(((2, 2), (2, 1)), seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        arrays = {n: z.read(n) for n in z.namelist()}
    header = json.loads(np.load(path)["header"].tobytes())
    header["config"]["layers"][0]["class_name"] = "os.system"
    payload = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    buf = {k[:-4]: np.load(path)[k[:-4]] for k in arrays if k != "header.npy"}
    np.savez(bad, header=payload, **buf)
    with pytest.raises(ValueError, match=r"Unknown layer class 'os.system'.*@neuralnet.register"):
        neuralnet.load(bad)


@pytest.mark.parametrize("thing", [3, "relu", Sigmoid(), type("Plain", (), {"name": "plain"})])
def test_registering_anything_else_is_a_type_error(thing):
    with pytest.raises(TypeError, match="register expects a subclass of neuralnet.layers.Layer"):
        neuralnet.register(thing)


def test_registering_without_a_name_or_over_a_built_in_is_refused():
    class Nameless(Activation):
        pass

    with pytest.raises(ValueError, match="needs a class attribute `name`"):
        neuralnet.register(Nameless)

    class Impostor(Activation):
        name = "relu"

    with pytest.raises(ValueError, match="'relu' belongs to the built-in ReLU"):
        neuralnet.register(Impostor)


# ---------------------------------------------------------------------------- Keras habits
def test_dense_learns_its_input_size_from_the_data():
    model = NeuralNet([Dense(8, activation="relu"), Dense(3, activation="softmax")], seed=0)
    assert not model.built and model.loss_fn.name == "categorical_crossentropy"
    with pytest.raises(RuntimeError, match="not built yet.*fit\\(X, y\\) or build\\(n_features\\)"):
        model.predict(X)
    model.fit(X, y_multi, epochs=2, verbose=0)
    assert model.built and model.layers[0].weights.shape == (3, 8)
    assert model.predict(X, verbose=0).shape == (12, 3)
    assert model.count_params() == 3 * 8 + 9 * 3 == model.n_params


def test_dense_keeps_the_articles_three_argument_form():
    layer = Dense(2, 4, "relu")
    assert (layer.n_in, layer.n_out, layer.activation.name) == (2, 4, "relu")
    assert Dense(4).activation.name == "linear"
    with pytest.raises(TypeError, match="Dense takes \\(units, activation=None"):
        Dense(4, "relu", "oops")


@pytest.mark.parametrize("activation, loss", [("softmax", "categorical_crossentropy"),
                                              ("sigmoid", "binary_crossentropy"),
                                              ("linear", "mse")])
def test_the_loss_follows_the_output_activation(activation, loss):
    model = NeuralNet(((2, 4), (4, 3)), activations=["tanh", activation])
    assert model.loss_fn.name == loss


def test_a_softmax_network_trains_on_integer_labels_without_a_loss_argument():
    model = NeuralNet(((2, 8), (8, 2)), activations=["tanh", "softmax"], seed=0)
    history = model.fit(X, y_multi, epochs=5, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_predict_takes_keras_verbose_and_refuses_a_bad_one():
    model = NeuralNet(((2, 3), (3, 1)), seed=0)
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X))
    with pytest.raises(ValueError, match="`verbose`, expected 0, 1, 2 or 'auto'"):
        model.predict(X.tolist(), verbose=7)


# ------------------------------------------------------------------------- one place per idea
def test_the_training_loop_lives_in_its_own_module():
    from neuralnet import training

    assert "training.fit" in NeuralNet.fit.__doc__
    assert training.TrainingMonitor is neuralnet.diagnostics.TrainingMonitor
    batches = training.BatchIterator(X, X[:, :1], None, 5, True, np.random.default_rng(0))
    order = batches.order()
    seen = np.concatenate([batches.batch(order, i)[0].copy() for i in range(len(batches))])
    assert len(batches) == 3 and sorted(seen[:, 0]) == sorted(X[:, 0])
    full = training.BatchIterator(X, X[:, :1], None, 100, True, np.random.default_rng(0))
    assert full.order() is None and full.batch(None, 0)[0] is X


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:  # module level only: an import inside a function is deferred
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neuralnet"):
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "neuralnet" \
                else [node.module]
            found.update(n for n in names if (path.parent / f"{n.split('.')[1]}.py").exists())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("neuralnet."))
    return {n.split(".")[1] for n in found}


def test_there_are_no_import_cycles():
    package = Path(neuralnet.__file__).parent
    graph = {p.stem: _top_level_imports(p) - {p.stem} for p in package.glob("*.py")
             if p.stem not in ("__init__", "__main__")}
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*trail, node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, [*trail, node])
        state[node] = 2

    for module in graph:
        visit(module, [])
