"""BatchNormalization, LayerNormalization and GaussianNoise (issue 16), proven against PyTorch.

In float64, each network's loss, gradients (rtol 1e-7) and several training steps equal those
of the same network built from ``torch.nn`` (``BatchNorm1d(momentum=1 - 0.99, eps=1e-3)``,
``LayerNorm(eps=1e-3)``); inference equals PyTorch's ``eval()``; finite differences agree in
training mode. PyTorch moves ``running_var`` towards the *unbiased* batch variance, Keras (and
this library) towards the biased one: the moving mean is compared with PyTorch's, the moving
variance with Keras's formula applied to the batch statistics PyTorch saw.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import neuralnet
from neuralnet import (
    BatchNormalization,
    Dense,
    Dropout,
    GaussianNoise,
    LayerNormalization,
    NeuralNet,
    layers,
)
from neuralnet.callbacks import Callback
from neuralnet.cli import main
from neuralnet.training import TrainingDivergedError

N_SAMPLES, N_IN = 24, 3
TORCH_ACTIVATIONS = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def _network(kind: str, seed: int = 0, dtype: str = "float64") -> NeuralNet:
    """3 -> 5 (tanh) -> norm -> 4 (sigmoid) -> norm -> 3 softmax: two normalisation layers.

    Not a piecewise-linear activation before a BatchNormalization: where every unit is in a
    linear piece, the bias below gets a gradient of exactly 0 (the layer takes out the batch
    mean), rounding leaves 1e-16 of it, and Adam's step divides that by its epsilon 1e-8.
    """
    norm = {"batch": BatchNormalization, "layer": LayerNormalization}[kind]
    model = NeuralNet([Dense(5, "tanh"), norm(), Dense(4, "sigmoid"), norm(), Dense(3, "softmax")],
                      seed=seed, dtype=dtype)
    model.build(N_IN)
    # Non-trivial gamma, beta and (BatchNormalization) moving statistics, non-zero biases.
    rng = np.random.default_rng(seed + 1)
    weights = []
    for w in model.get_weights():
        if w.ndim == 2:
            weights.append(w + rng.normal(scale=0.3, size=w.shape))
        else:
            weights.append(rng.uniform(0.5, 1.5, size=w.shape))
    model.set_weights(weights)
    return model


def _torch_twin(model: NeuralNet) -> torch.nn.Sequential:
    """The same network from torch.nn modules, with the same parameters and statistics."""
    modules = []
    for layer in model.layers:
        if isinstance(layer, layers.FullyConnectedLayer):
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor(layer.weights[:-1].T))
                linear.bias.copy_(torch.tensor(layer.weights[-1]))
            modules.append(linear)
            if layer.activation.name in TORCH_ACTIVATIONS:
                modules.append(TORCH_ACTIVATIONS[layer.activation.name]())
        elif isinstance(layer, BatchNormalization):
            bn = torch.nn.BatchNorm1d(layer.n_in, eps=layer.epsilon, momentum=1 - layer.momentum,
                                      dtype=torch.float64)
            with torch.no_grad():
                bn.weight.copy_(torch.tensor(layer.params["gamma"]))
                bn.bias.copy_(torch.tensor(layer.params["beta"]))
                bn.running_mean.copy_(torch.tensor(layer.state["moving_mean"]))
                bn.running_var.copy_(torch.tensor(layer.state["moving_variance"]))
            modules.append(bn)
        else:
            ln = torch.nn.LayerNorm(layer.n_in, eps=layer.epsilon, dtype=torch.float64)
            with torch.no_grad():
                ln.weight.copy_(torch.tensor(layer.params["gamma"]))
                ln.bias.copy_(torch.tensor(layer.params["beta"]))
            modules.append(ln)
    return torch.nn.Sequential(*modules)


def _torch_grads(twin: torch.nn.Sequential) -> list[np.ndarray]:
    """The gradients in our order: each Linear as one absorbed (n_in + 1, n_out) matrix."""
    out = []
    for module in twin:
        if isinstance(module, torch.nn.Linear):
            out.append(np.vstack([module.weight.grad.numpy().T, module.bias.grad.numpy()]))
        elif isinstance(module, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
            out += [module.weight.grad.numpy(), module.bias.grad.numpy()]
    return out


def _data(rng, n=N_SAMPLES):
    return rng.normal(size=(n, N_IN)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0], rng.integers(0, 3, n)


# --------------------------------------------------------------------------- the proofs
@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_training_loss_and_gradients_equal_pytorch(kind, rng):
    model = _network(kind)
    twin = _torch_twin(model).train()
    X, y = _data(rng)
    logits = twin(torch.tensor(X))
    loss = F.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    ours = model.gradients(X, y)  # training mode, as fit runs the layers
    assert len(ours) == 7  # W1, gamma, beta, W2, gamma, beta, W3
    for a, b in zip(ours, _torch_grads(twin), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12, err_msg=f"ours\n{a}\ntorch\n{b}")
    model._forward(model.check_X(X), training=True)
    assert model._loss_value(model.check_y(y, len(X))) == pytest.approx(loss.item(), rel=1e-12)
    assert model.check_gradients(X, y, verbose=False).passed


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_inference_equals_pytorch_eval(kind, rng):
    model = _network(kind)
    twin = _torch_twin(model).eval()
    X, y = _data(rng)
    with torch.no_grad():
        logits = twin(torch.tensor(X))
    np.testing.assert_allclose(model.predict(X), torch.softmax(logits, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.forward(X[:5]), model.predict(X[:5]), rtol=1e-14)
    assert model.loss(X, y) == pytest.approx(F.cross_entropy(logits, torch.tensor(y)).item(),
                                             rel=1e-12)
    # Back-propagation through the inference-mode layers (what explain traces) as well.
    logits = twin(torch.tensor(X))
    F.cross_entropy(logits, torch.tensor(y)).backward()
    for a, b in zip(model.gradients(X, y, training=False), _torch_grads(twin), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("kind, optimizer", [("batch", "sgd"), ("batch", "adam"), ("layer", "sgd")])
def test_training_steps_equal_pytorch(kind, optimizer, rng):
    model = _network(kind)
    twin = _torch_twin(model).train()
    X, y = _data(rng)
    lr, batch, epochs, momentum = 0.05, 8, 2, 0.99
    opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(twin.parameters(), lr=lr)
    # Keras's moving variance, from the batch statistics PyTorch's BatchNorm1d layers see.
    norms = [m for m in twin if isinstance(m, torch.nn.BatchNorm1d)]
    moving_var = [m.running_var.clone() for m in norms]
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.__setitem__(mod, inp[0]))
             for m in norms]
    losses = []
    for _ in range(epochs):
        for start in range(0, N_SAMPLES, batch):
            opt.zero_grad()
            logits = twin(torch.tensor(X[start:start + batch]))
            loss = F.cross_entropy(logits, torch.tensor(y[start:start + batch]))
            loss.backward()
            opt.step()
            losses.append(loss.item())
            with torch.no_grad():
                for j, m in enumerate(norms):
                    batch_var = seen[m].var(0, unbiased=False)
                    moving_var[j] = momentum * moving_var[j] + (1 - momentum) * batch_var
    for h in hooks:
        h.remove()
    history = model.fit(X, y, epochs=epochs, batch_size=batch, learning_rate=lr,
                        optimizer=optimizer, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"],
                               np.reshape(losses, (epochs, -1)).mean(axis=1), rtol=1e-10)
    modules = [m for m in twin if not isinstance(m, (torch.nn.Tanh, torch.nn.Sigmoid))]
    j = 0
    for layer, module in zip(model.layers, modules, strict=True):
        if isinstance(layer, layers.FullyConnectedLayer):
            theirs = np.vstack([module.weight.detach().numpy().T, module.bias.detach().numpy()])
            np.testing.assert_allclose(layer.weights, theirs, rtol=1e-9, atol=1e-12)
            continue
        np.testing.assert_allclose(layer.params["gamma"], module.weight.detach().numpy(),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.params["beta"], module.bias.detach().numpy(),
                                   rtol=1e-9, atol=1e-12)
        if kind == "batch":
            np.testing.assert_allclose(layer.state["moving_mean"], module.running_mean.numpy(),
                                       rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(layer.state["moving_variance"], moving_var[j].numpy(),
                                       rtol=1e-10)
            # PyTorch's own running_var went towards the unbiased variance: it differs.
            assert not np.allclose(layer.state["moving_variance"], module.running_var.numpy(),
                                   rtol=1e-6)
            j += 1


def test_gaussian_noise_equals_adding_the_same_noise_in_pytorch(rng):
    model = NeuralNet([Dense(5, "tanh"), GaussianNoise(0.3), Dense(1, "sigmoid")], seed=0,
                      dtype="float64")
    model.build(N_IN)
    X, y = rng.normal(size=(N_SAMPLES, N_IN)), rng.integers(0, 2, N_SAMPLES)
    noise_layer = model.layers[1]
    assert noise_layer.rng is model.rng  # the network's seeded generator
    noise_layer.rng = np.random.default_rng(7)
    ours = model.gradients(X, y)
    noise = 0.3 * np.random.default_rng(7).standard_normal((N_SAMPLES, 5))
    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    hidden = torch.tanh(torch.tensor(X) @ weights[0][:-1] + weights[0][-1]) + torch.tensor(noise)
    out = torch.sigmoid(hidden @ weights[1][:-1] + weights[1][-1])
    F.binary_cross_entropy(out, torch.tensor(y, dtype=torch.float64)[:, None]).backward()
    for a, b in zip(ours, weights, strict=True):
        np.testing.assert_allclose(a, b.grad.numpy(), rtol=1e-7, atol=1e-12)
    # No noise outside training: the network is the dense chain.
    plain = torch.sigmoid(torch.tanh(torch.tensor(X) @ weights[0][:-1] + weights[0][-1])
                          @ weights[1][:-1] + weights[1][-1])
    np.testing.assert_allclose(model.predict(X), plain.detach().numpy(), rtol=1e-12)
    assert model.check_gradients(X, y, verbose=False).passed


def test_gaussian_noise_statistics_and_seeding():
    x = np.zeros((20000, 3), dtype=np.float32)
    layer = GaussianNoise(0.5, rng=0)
    layer.build(3)
    noisy = layer.forward(x, training=True)
    assert noisy.dtype == np.float32 and noisy.shape == x.shape
    assert abs(noisy.std() - 0.5) < 0.01 and abs(noisy.mean()) < 0.01
    assert layer.forward(x) is x and layer.infer(x) is x
    grad = np.ones((4, 3))
    assert (layer.backward(grad) == grad).all() and layer.backward(grad) is not grad
    a = NeuralNet([Dense(8, "relu"), GaussianNoise(0.2), Dense(1)], seed=3)
    b = NeuralNet([Dense(8, "relu"), GaussianNoise(0.2), Dense(1)], seed=3)
    X = np.random.default_rng(0).normal(size=(32, 4))
    y = X.sum(axis=1)
    for model in (a, b):
        model.fit(X, y, epochs=3, batch_size=8, learning_rate=0.01, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_normalization_layer_by_hand(dtype):
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 16.0]], dtype=dtype)
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3)
    layer.build(2, dtype)
    assert layer.n_out == 2 and layer.dtype == dtype
    a = layer.forward(x, training=True)
    # mean (4, 13), biased variance (5, 9): xhat = (x - mean) / sqrt(var + 0.001)
    expected = (x - [4.0, 13.0]) / np.sqrt(np.array([5.0, 9.0]) + 1e-3)
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    np.testing.assert_allclose(layer.state["moving_mean"], [0.4, 1.3], rtol=1e-6)
    np.testing.assert_allclose(layer.state["moving_variance"], [0.9 + 0.5, 0.9 + 0.9], rtol=1e-6)
    # Inference uses the moving statistics and moves nothing.
    before = [s.copy() for s in layer.state.values()]
    inferred = layer.infer(x)
    np.testing.assert_allclose(inferred, (x - [0.4, 1.3]) / np.sqrt([1.4 + 1e-3, 1.8 + 1e-3]),
                               rtol=1e-6)
    np.testing.assert_allclose(layer.forward(x, training=False), inferred, rtol=1e-6)
    for s, b in zip(layer.state.values(), before, strict=True):
        np.testing.assert_array_equal(s, b)
    # The gradient of a training forward sums to zero over the batch: the mean is taken out.
    layer.forward(x, training=True)
    grad = np.arange(8, dtype=dtype).reshape(4, 2) ** 2
    kept = grad.copy()
    dx = layer.backward(grad)
    np.testing.assert_array_equal(grad, kept)  # backward leaves its argument alone
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(layer.grads["beta"], grad.sum(axis=0), rtol=1e-6)


def test_layer_normalization_normalises_each_sample():
    x = np.array([[1.0, 2.0, 3.0, 6.0], [-5.0, 0.0, 5.0, 0.0]])
    layer = LayerNormalization(epsilon=1e-3)
    layer.build(4, np.float64)
    a = layer.forward(x)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    np.testing.assert_allclose(a, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-12)
    np.testing.assert_allclose(layer.infer(x), a, rtol=1e-14)
    assert LayerNormalization.same_in_training and not BatchNormalization.same_in_training
    assert not GaussianNoise.same_in_training and not Dropout.same_in_training


@pytest.mark.parametrize("make", [BatchNormalization, LayerNormalization,
                                  lambda: GaussianNoise(0.1)])
def test_check_gradients_passes_in_training_mode(make, rng):
    model = NeuralNet([Dense(6, "relu"), make(), Dense(4, "tanh"), make(), Dense(2, "linear")],
                      seed=1, dtype="float32")
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    model.build(3)
    check = model.check_gradients(X, y, verbose=False)  # on a float64 copy, training mode
    assert check.passed, str(check)
    assert len(check) == len(model.layers.with_params)


# ------------------------------------------------------------------- in the network
def test_size_and_dtype_come_from_the_layer_before():
    model = NeuralNet([Dense(7, "relu"), BatchNormalization(), LayerNormalization(),
                       GaussianNoise(0.1), Dense(2, "softmax")], dtype="float64")
    assert not model.built
    model.build(4)
    bn, ln, noise = model.layers[1], model.layers[2], model.layers[3]
    assert (bn.n_in, bn.n_out, ln.n_in, noise.n_out) == (7, 7, 7, 7)
    assert bn.params["gamma"].dtype == np.float64 and bn.state["moving_mean"].dtype == np.float64
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 7), (7,), (7,), (7,), (7,), (7,), (7,), (8, 2)]
    np.testing.assert_array_equal(model.get_weights()[1:5], [np.ones(7), np.zeros(7),
                                                             np.zeros(7), np.ones(7)])
    # gamma and beta train (views of the flat buffer); the moving statistics are not in it.
    assert model.n_params == 5 * 7 + 4 * 7 + 8 * 2
    assert model.count_params() == model.n_params + 14
    assert np.shares_memory(bn.params["gamma"], model.flat_weights)
    assert not np.shares_memory(bn.state["moving_mean"], model.flat_weights)


def test_set_weights_lists_the_moving_statistics_after_gamma_and_beta(rng):
    model = _network("batch")
    weights = model.get_weights()
    weights[3] = np.full(5, 0.25)
    weights[4] = np.full(5, 4.0)
    model.set_weights(weights)
    bn = model.layers[1]
    np.testing.assert_array_equal(bn.state["moving_mean"], 0.25)
    np.testing.assert_array_equal(bn.state["moving_variance"], 4.0)
    with pytest.raises(ValueError, match=r"weights\[4\] has shape \(4,\), but layer 1 expects \(5,\)\."):
        model.set_weights(weights[:4] + [np.ones(4)] + weights[5:])


def test_gradients_leave_the_moving_statistics_alone(rng):
    model = _network("batch")
    before = model.get_weights()
    X, y = _data(rng)
    model.gradients(X, y)
    model.check_gradients(X, y, verbose=False)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_summary_counts_trainable_and_non_trainable():
    model = NeuralNet([Dense(8, "relu"), BatchNormalization(), Dense(4, "relu"),
                       LayerNormalization(), GaussianNoise(0.1), Dense(1, "sigmoid")])
    model.build(3)
    text = model.summary(print_fn=None)
    lines = text.splitlines()
    assert lines[0] == "NeuralNet 3-8-4-1: loss binary_crossentropy, dtype float32"
    bn = next(line for line in lines if "BatchNormalization" in line)
    assert bn.split()[-4:] == ["16", "+", "16", "fixed"] and "(8,), (8,), (8,), (8,)" in bn
    ln = next(line for line in lines if "LayerNormalization" in line)
    assert ln.split()[-1] == "8" and "(4,), (4,)" in ln
    assert any(line.startswith("4  GaussianNoise(0.1)") for line in lines)
    trainable = 4 * 8 + 16 + 9 * 4 + 8 + 5
    assert lines[-3:] == [f"Trainable params: {trainable}", "Non-trainable params: 16",
                          f"Total params: {trainable + 16}"]


def test_configs_rebuild_the_layers():
    for layer in (BatchNormalization(momentum=0.9, epsilon=1e-5), LayerNormalization(1e-6),
                  GaussianNoise(0.25)):
        config = layer.get_config()
        rebuilt = layers.layer_from_config(config)
        assert type(rebuilt) is type(layer) and rebuilt.get_config() == config
        assert layers.LAYER_CLASSES[config["class_name"]] is type(layer)
        assert getattr(neuralnet, config["class_name"]) is type(layer)
    assert repr(BatchNormalization()) == "BatchNormalization(momentum=0.99, epsilon=0.001)"
    assert repr(LayerNormalization()) == "LayerNormalization(epsilon=0.001)"
    assert repr(GaussianNoise(0.5)) == "GaussianNoise(0.5)"


def test_save_load_and_resume_exactly_with_the_moving_statistics(tmp_path, rng):
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    model = NeuralNet([Dense(8, "relu"), BatchNormalization(momentum=0.9), GaussianNoise(0.1),
                       Dense(6, "tanh"), LayerNormalization(), Dense(1, "sigmoid")], seed=5)
    model.fit(X, y, epochs=2, batch_size=16, optimizer="adam", verbose=0)
    bn = model.layers[1]
    assert not np.allclose(bn.state["moving_mean"], 0)  # fit moved them
    path = tmp_path / "bn.npz"
    model.save(path)
    loaded = neuralnet.load(path)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.layers[2].rng is loaded.rng  # the noise draws from the restored generator
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_divergence_restores_the_moving_statistics(rng):
    model = NeuralNet([Dense(4, 6, "relu"), BatchNormalization(), Dense(6, 1, "linear")], seed=0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    start = model.get_weights()

    class Poison(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.layers[0].weights[0, 0] = np.nan

    with pytest.raises(TrainingDivergedError):
        model.fit(X, y, epochs=1, batch_size=8, verbose=0, callbacks=[Poison()])
    for a, b in zip(model.get_weights(), start, strict=True):
        np.testing.assert_array_equal(a, b)


def test_explain_and_diagnostics_on_a_batch_norm_network(rng):
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] - X[:, 3] > 0).astype(int)
    model = NeuralNet([Dense(16, "relu"), BatchNormalization(), Dense(8, "sigmoid"),
                       BatchNormalization(), Dense(1, "sigmoid")], seed=0)
    history = model.fit(X, y, epochs=4, batch_size=32, optimizer="adam", learning_rate=0.01,
                        verbose=0)
    diagnostics = history.diagnostics
    assert len(diagnostics["grad_norm"]) == 4
    assert all(len(row) == 5 and np.isfinite(row).all() for row in diagnostics["grad_norm"])
    assert all(np.isfinite(row).all() for row in diagnostics["update_ratio"])
    dead = np.array(diagnostics["dead_relu"])
    assert np.isfinite(dead[:, 0]).all() and np.isnan(dead[:, 1:]).all()  # ReLU layer 0 only
    assert np.isfinite(np.array(diagnostics["saturated"])[:, [2, 4]]).all()
    text = model.explain(X, y, verbose=False)
    assert "BatchNormalization(momentum=0.99, epsilon=0.001): its own forward" in text
    assert "BatchNormalization(momentum=0.99, epsilon=0.001): dL/dA passes back" in text
    assert float(text.rsplit("to ", 1)[1].rstrip(".")) < 1e-12
    assert model.evaluate(X, y)["accuracy"] > 0.8


def test_a_float32_batch_norm_network_learns(rng):
    from neuralnet.datasets import make_moons

    X, y = make_moons(400, noise=0.15, seed=0)
    model = NeuralNet([Dense(32, "relu"), BatchNormalization(), Dense(32, "relu"),
                       BatchNormalization(), Dense(1, "sigmoid")], seed=0)
    model.fit(X, y, epochs=30, batch_size=32, optimizer="adam", learning_rate=0.01, verbose=0)
    assert model.evaluate(X, y)["accuracy"] > 0.95
    assert model.layers[1].params["gamma"].dtype == np.float32


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.9", True])
def test_bad_momentum_is_named(bad):
    with pytest.raises(ValueError, match=rf"Received an invalid value for `momentum`, expected a number in \[0, 1\]\. Received: momentum={bad!r}"):
        BatchNormalization(momentum=bad)


@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
@pytest.mark.parametrize("bad", [0, -1e-3, float("inf")])
def test_bad_epsilon_is_named(cls, bad):
    with pytest.raises(ValueError, match=rf"Received an invalid value for `epsilon`, expected a positive number\. Received: epsilon={bad!r}"):
        cls(epsilon=bad)


def test_bad_stddev_is_named():
    with pytest.raises(ValueError, match=r"Received an invalid value for `stddev`, expected a non-negative number\. Received: stddev=-1"):
        GaussianNoise(-1)


@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
def test_call_order_and_shapes_are_checked(cls):
    layer = cls()
    with pytest.raises(RuntimeError, match=r"is not built yet: its size is learnt from the layer before it"):
        layer.forward(np.ones((2, 3)))
    layer.build(3)
    with pytest.raises(RuntimeError, match=r"backward was called before forward"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\), but this layer expects \(n_samples, 3\)\."):
        layer.forward(np.ones((2, 4)))


# ------------------------------------------------------------------------------- CLI
def test_cli_train_with_batch_norm_saves_the_layers(tmp_path, capsys):
    path = tmp_path / "m.npz"
    argv = ["train", "--epochs", "5", "--quiet", "--batch-norm", "--dropout", "0.1",
            "--hidden", "8,8", "--save", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "with sgd and binary_crossentropy, batch norm, dropout 0.1" in out
    model = neuralnet.load(path)
    names = [type(layer).__name__ for layer in model.layers]
    assert names == ["FullyConnectedLayer", "BatchNormalization", "Dropout",
                     "FullyConnectedLayer", "BatchNormalization", "Dropout", "FullyConnectedLayer"]
    assert not np.allclose(model.layers[1].state["moving_mean"], 0)
    assert main(["info", str(path)]) == 0
    assert "Non-trainable params: 32" in capsys.readouterr().out


def test_cli_search_puts_batch_norm_in_the_grid(monkeypatch, capsys):
    import neuralnet.search

    seen = {}

    def fake_grid_search(X, y, grid, **kwargs):
        seen.update(grid)
        raise ValueError("stop here")

    monkeypatch.setattr(neuralnet.search, "grid_search", fake_grid_search)
    assert main(["search", "--batch-norm"]) == 1
    assert seen["batch_norm"] == [True]
    assert main(["search", "--batch-norm", "on", "off"]) == 1
    assert seen["batch_norm"] == [False, True]
    seen.clear()
    assert main(["search"]) == 1
    assert "batch_norm" not in seen
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["search", "--batch-norm", "maybe"])
    assert "argument --batch-norm: expected on or off, received 'maybe'" in capsys.readouterr().err
