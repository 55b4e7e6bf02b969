"""Keras's dense toolbox (issue 16), each piece proven against PyTorch in float64.

The new activations (elu, selu, gelu, gelu_tanh, silu/swish, softplus, mish, exponential), the
new losses (kl_divergence, hinge, squared_hinge, poisson) and per-layer l1: values, gradients
and several SGD steps equal PyTorch's; finite differences agree; the CLI takes them by name.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import numerical_gradients, relative_error
from neuralnet import FullyConnectedLayer, NeuralNet, _fastpath, activations, losses, metrics
from neuralnet._special import erf, erfc
from neuralnet.activations import Activation
from neuralnet.cli import main
from neuralnet.layers import Dropout

NEW_ACTIVATIONS = ["elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "mish", "exponential"]

TORCH_ACTIVATIONS = {
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "softplus": F.softplus,
    "mish": F.mish,
    "exponential": torch.exp,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


# ------------------------------------------------------------------------------------ erf
def test_erf_and_erfc_are_within_a_few_rounding_steps_of_math():
    x = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-300, 1e-2, 300),
                        -np.geomspace(1e-300, 1e-2, 300), [0.0, 0.46875, 4.0, 27.0]])
    ref = np.array([math.erf(v) for v in x])
    scale = np.maximum(np.abs(ref), np.finfo(float).tiny)
    assert (np.abs(erf(x) - ref) / scale).max() < 1e-15
    ref_c = np.array([math.erfc(v) for v in x])
    normal = ref_c > np.finfo(float).tiny  # erfc(x > 26.5) is subnormal or 0
    rel = np.abs(erfc(x) - ref_c)[normal] / ref_c[normal]
    assert rel.max() < 1e-15
    assert np.abs(erfc(x) - ref_c)[~normal].max() < 1e-300


def test_erf_edges_and_dtypes():
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])
    assert np.isnan(erf(np.nan)) and np.isnan(erfc(np.nan))
    assert erfc(np.inf) == 0.0 and erfc(-np.inf) == 2.0
    x32 = np.linspace(-5, 5, 101, dtype=np.float32)
    assert erf(x32).dtype == np.float32
    np.testing.assert_allclose(erf(x32), torch.erf(torch.tensor(x32)).numpy(), rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(erf(np.arange(-3, 4)), [math.erf(v) for v in range(-3, 4)],
                               rtol=1e-15)


# ----------------------------------------------------------------------------- activations
def _backward(act, z, grad):
    a = act(z)
    return act.backward(a, grad.copy(), z=z) if act.needs_z else act.backward(a, grad.copy())


@pytest.mark.parametrize("name", NEW_ACTIVATIONS + ["swish"])
def test_activation_value_and_gradient_equal_pytorch(name):
    z = np.concatenate([np.linspace(-12, 12, 1201), [-40.0, -25.0, 25.0, 40.0]])
    act = activations.get(name)
    grad_a = np.random.default_rng(0).normal(size=z.shape)
    t = torch.tensor(z, requires_grad=True)
    out = TORCH_ACTIVATIONS[name](t)
    (out * torch.tensor(grad_a)).sum().backward()
    # atol only where PyTorch's own formula cancels (1 + erf(-8) for gelu, 1 + tanh(-u) for
    # gelu_tanh) or thresholds (softplus returns z beyond 20): differences below 1e-13.
    np.testing.assert_allclose(act(z), out.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(_backward(act, z, grad_a), t.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_activation_gradient_matches_finite_differences(name, rng):
    act = activations.get(name)
    z = rng.uniform(0.1, 3.0, size=200) * rng.choice([-1.0, 1.0], size=200)  # off elu's kink
    numeric = (act(z + 1e-6) - act(z - 1e-6)) / 2e-6
    extra = {"z": z} if act.needs_z else {}
    np.testing.assert_allclose(act.derivative(act(z), **extra), numeric, rtol=1e-7, atol=1e-9)


def test_gelu_is_exact_where_one_plus_erf_cancels():
    # Phi(z) for z = -8 is 6e-16: 1 + erf(z / sqrt 2) keeps no correct digit, erfc keeps all.
    z = np.array([-8.0, -10.0, -20.0, -30.0])
    exact = [v * math.erfc(-v / math.sqrt(2)) / 2 for v in z]
    # Not 1e-16: rounding z / sqrt 2 moves erfc by 2 x^2 times as much (900 times at z = -30).
    np.testing.assert_allclose(activations.gelu(z), exact, rtol=1e-12)
    one_plus_erf = F.gelu(torch.tensor(z)).numpy()
    assert abs(one_plus_erf[0] / exact[0] - 1) > 1e-3  # PyTorch's form has lost the digits


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_stable_at_extremes(name, dtype):
    z = np.array([-1e30, -1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4, 1e30], dtype=dtype)
    act = activations.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act(z)
        d = _backward(act, z, np.ones_like(z))
    assert a.dtype == dtype and d.dtype == dtype
    if name == "exponential":  # exp overflows to inf, which the network reports in words
        assert np.isinf(a[-3:]).all() and np.isfinite(a[:-3]).all()
    else:
        assert np.isfinite(a).all() and np.isfinite(d).all()


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_float32_activations_agree_with_float64(name):
    z = np.linspace(-6, 6, 121)
    act = activations.get(name)
    np.testing.assert_allclose(act(z.astype(np.float32)), act(z), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(_backward(act, z.astype(np.float32), np.ones(121, np.float32)),
                               _backward(act, z, np.ones(121)), rtol=2e-5, atol=1e-6)


def test_needs_z_is_set_exactly_where_the_output_does_not_determine_the_derivative():
    needs = {name for name, cls in activations.ACTIVATIONS.items()
             if cls.needs_z and cls.__module__ == "neuralnet.activations"}
    assert needs == {"gelu", "gelu_tanh", "silu", "mish"}
    assert Activation.needs_z is False
    gelu = activations.get("gelu")
    z = np.array([[-1.0, 0.5]])
    message = r"gelu's derivative needs the pre-activation z, not only the output a: call backward\(a, grad, z=z\)"
    with pytest.raises(TypeError, match=message):
        gelu.backward(gelu(z), np.ones_like(z))
    with pytest.raises(TypeError, match=message):
        gelu.derivative(gelu(z))


def test_names_aliases_configs_and_module_functions():
    assert isinstance(activations.get("swish"), activations.SiLU)
    assert isinstance(activations.get("GELU"), activations.GELU)
    assert activations.swish is activations.silu
    elu = activations.ELU(0.5)
    assert activations.get(elu.get_config()) == elu and repr(elu) == "ELU(alpha=0.5)"
    np.testing.assert_allclose(activations.elu([-1.0, 2.0], alpha=0.5),
                               F.elu(torch.tensor([-1.0, 2.0]), alpha=0.5).numpy().astype(float))
    for name in NEW_ACTIVATIONS:
        np.testing.assert_allclose(getattr(activations, name)([0.3, -0.7]),
                                   activations.get(name)(np.array([0.3, -0.7])))
        layer = FullyConnectedLayer(2, 3, name)
        assert layer.activation.name == name
    model = NeuralNet(((2, 3), (3, 1)), activations=["swish", "sigmoid"], seed=0)
    assert model.layers[0].activation.name == "silu"
    with pytest.raises(ValueError, match=r"Received an invalid value for `alpha`, expected a positive number. Received: alpha=0"):
        activations.ELU(0)


class _Cube(Activation):
    """A custom activation with the two-argument backward of the old contract."""

    name = "cube"

    def forward(self, z, out=None):
        return np.power(z, 3, out=out)

    def backward(self, a, grad):
        grad *= 3 * np.cbrt(a) ** 2
        return grad


class _CustomSiLU(activations.SiLU):
    """A custom needs_z activation: it must be handed z on every path."""

    name = "custom_silu"


@pytest.mark.parametrize("custom", [_Cube(), _CustomSiLU()])
@pytest.mark.parametrize("sample_weight", [None, "ones"])  # the fused step, the reference path
def test_custom_activations_of_either_contract_train(custom, sample_weight, rng):
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, size=20)
    layers = [FullyConnectedLayer(3, 4, custom, dtype="float64", rng=0),
              FullyConnectedLayer(4, 1, "sigmoid", dtype="float64", rng=1)]
    model = NeuralNet(layers, seed=0, dtype="float64")
    # (check_gradients rebuilds the network from its config, which needs a registered name.)
    for a, n in zip(model.gradients(X, y), numerical_gradients(model, X, y)):
        assert relative_error(a, n) < 1e-6
    w = None if sample_weight is None else np.ones(20)
    model.fit(X, y, epochs=2, batch_size=10, verbose=0, sample_weight=w)
    assert np.isfinite(model.get_weights()[0]).all()


# ------------------------------------------------------------------------ the networks
# (hidden activation, output activation, loss, net kwargs, through the fused step?)
CASES = [
    ("elu", "sigmoid", "binary_crossentropy", {}, True),
    ("selu", "softmax", "categorical_crossentropy", {}, True),
    ("gelu", "sigmoid", "binary_crossentropy", {"l1": 0.01}, True),
    ("gelu_tanh", "linear", "mse", {"l1": 0.02, "l2": 0.01}, True),
    ("silu", "linear", "hinge", {"l1": 0.005}, False),
    ("swish", "linear", "squared_hinge", {}, False),
    ("mish", "softmax", "kl_divergence", {}, False),
    ("softplus", "exponential", "poisson", {}, False),
    ("tanh", "softplus", "poisson", {}, False),
    ("elu", "gelu", "huber", {}, False),  # a needs_z output through Loss.output_delta
    ("exponential", "mish", "mse", {}, False),
]
N_SAMPLES, N_IN, N_HIDDEN = 24, 3, 5


def _n_outputs(loss):
    return 3 if loss in ("categorical_crossentropy", "kl_divergence") else 2 if loss != "binary_crossentropy" else 1


def _targets(loss, rng, n=N_SAMPLES):
    k = _n_outputs(loss)
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(n, 1)).astype(float)
    if loss == "categorical_crossentropy":
        return rng.integers(0, k, size=n)
    if loss == "kl_divergence":
        return rng.dirichlet(np.ones(k), size=n)
    if loss == "hinge":
        return rng.integers(0, 2, size=(n, k)).astype(float)  # {0, 1}, read as {-1, 1}
    if loss == "squared_hinge":
        return rng.choice([-1.0, 1.0], size=(n, k))
    if loss == "poisson":
        return rng.poisson(1.5, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


def _model(hidden, output, loss, kwargs, seed=0):
    k = _n_outputs(loss)
    shapes = ((N_IN, N_HIDDEN), (N_HIDDEN, N_HIDDEN), (N_HIDDEN, k))
    model = NeuralNet(shapes, activations=[hidden, hidden, output], loss=loss, seed=seed,
                      dtype="float64", **kwargs)
    # Non-zero biases, and small weights so exponential layers stay in range.
    rng = np.random.default_rng(seed + 1)
    model.set_weights([0.5 * w + rng.normal(scale=0.2, size=w.shape) for w in model.get_weights()])
    return model


def _torch_loss(loss, out, z, y, weights, kwargs):
    y = torch.tensor(y)
    if loss == "binary_crossentropy":
        value = F.binary_cross_entropy(out, y)
    elif loss == "categorical_crossentropy":
        value = F.cross_entropy(z, y)
    elif loss == "kl_divergence":
        value = F.kl_div(F.log_softmax(z, dim=1), y, reduction="batchmean")
    elif loss in ("hinge", "squared_hinge"):
        margin = torch.clamp(1 - torch.where(y == 0, -1.0, y) * out, min=0)
        value = (margin if loss == "hinge" else margin**2).mean()
    elif loss == "poisson":
        value = F.poisson_nll_loss(out, y, log_input=False, eps=1e-7)
    elif loss == "huber":
        value = F.huber_loss(out, y)
    else:
        value = F.mse_loss(out, y)
    for W in weights:
        value = value + kwargs.get("l1", 0.0) * W[:-1].abs().sum()
        value = value + kwargs.get("l2", 0.0) / 2 * (W[:-1] ** 2).sum()
    return value


def _torch_step(weights, acts, loss, X, y, kwargs):
    """The network's forward and loss in PyTorch, the bias the last row of each matrix."""
    a = torch.tensor(X)
    for W, act in zip(weights, acts):
        z = a @ W[:-1] + W[-1]
        a = TORCH_ACTIVATIONS[act](z)
    return _torch_loss(loss, a, z, y, weights, kwargs), a


@pytest.mark.parametrize("hidden, output, loss, kwargs, fused", CASES)
def test_loss_outputs_and_gradients_equal_pytorch(hidden, output, loss, kwargs, fused, rng):
    model = _model(hidden, output, loss, kwargs)
    X = rng.normal(size=(N_SAMPLES, N_IN))
    y = _targets(loss, rng)
    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    value, out = _torch_step(weights, [hidden, hidden, output], loss, X, y, kwargs)
    value.backward()
    assert model.loss(X, y) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(model.forward(X), out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(model.gradients(X, y), weights):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-13,
                                   err_msg=f"ours\n{ours}\ntorch\n{theirs.grad.numpy()}")
    assert model.check_gradients(X, y, verbose=False).passed


@pytest.mark.parametrize("hidden, output, loss, kwargs, fused", CASES)
def test_sgd_steps_equal_pytorch(hidden, output, loss, kwargs, fused, rng):
    model = _model(hidden, output, loss, kwargs)
    assert _fastpath.supports(model, None) is fused  # both training paths are proven
    X = rng.normal(size=(N_SAMPLES, N_IN))
    y = _targets(loss, rng)
    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    lr, batch = 0.05, 8
    losses_torch = []
    for _ in range(2):  # two epochs of three batches, in order
        for start in range(0, N_SAMPLES, batch):
            value, _ = _torch_step(weights, [hidden, hidden, output], loss,
                                   X[start:start + batch], y[start:start + batch], kwargs)
            losses_torch.append(value.item())
            value.backward()
            with torch.no_grad():
                for W in weights:
                    W -= lr * W.grad
                    W.grad = None
    history = model.fit(X, y, epochs=2, batch_size=batch, learning_rate=lr, optimizer="sgd",
                        shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
    epoch_means = np.array(losses_torch).reshape(2, 3).mean(axis=1)
    np.testing.assert_allclose(history.history["loss"], epoch_means, rtol=1e-9)


# ---------------------------------------------------------------------------------- losses
@pytest.mark.parametrize(
    "name, task, canonical, output, threshold",
    [
        ("binary_crossentropy", "binary", "sigmoid", "sigmoid", 0.5),
        ("categorical_crossentropy", "multiclass", "softmax", "softmax", None),
        ("mse", "regression", "linear", "linear", None),
        ("mae", "regression", None, "linear", None),
        ("huber", "regression", None, "linear", None),
        ("kl_divergence", "multiclass", "softmax", "softmax", None),
        ("hinge", "binary", None, "linear", 0.0),
        ("squared_hinge", "binary", None, "linear", 0.0),
        ("poisson", "regression", None, "exponential", None),
    ],
)
def test_every_loss_says_what_it_is_for(name, task, canonical, output, threshold):
    loss = losses.get(name)
    assert (loss.task, loss.canonical_activation, loss.output_activation,
            loss.decision_threshold) == (task, canonical, output, threshold)
    assert losses.Loss.task == "regression" and losses.Loss.canonical_activation is None


def test_module_loss_functions_equal_pytorch(rng):
    p = rng.dirichlet(np.ones(4), size=6)
    y = rng.dirichlet(np.ones(4), size=6)
    y[0] = [0.0, 0.5, 0.5, 0.0]  # 0 log 0 = 0
    expected = F.kl_div(torch.tensor(p).log(), torch.tensor(y), reduction="batchmean").item()
    assert losses.kl_divergence(y, p) == pytest.approx(expected, rel=1e-14)
    assert losses.get("kld").name == "kl_divergence"
    # One-hot targets: KL divergence is cross-entropy.
    labels = rng.integers(0, 4, size=6)
    assert losses.kl_divergence(labels, p) == pytest.approx(
        losses.categorical_crossentropy(labels, p), rel=1e-14)
    margins = rng.normal(size=(8, 2))
    y01 = rng.integers(0, 2, size=(8, 2))
    ypm = torch.tensor(2.0 * y01 - 1)
    hinge = torch.clamp(1 - ypm * torch.tensor(margins), min=0)
    assert losses.hinge(y01, margins) == pytest.approx(hinge.mean().item(), rel=1e-14)
    assert losses.hinge(2 * y01 - 1, margins) == losses.hinge(y01, margins)
    assert losses.squared_hinge(y01, margins) == pytest.approx((hinge**2).mean().item(), rel=1e-14)
    rates, counts = np.exp(margins), rng.poisson(2.0, size=(8, 2))
    expected = F.poisson_nll_loss(torch.tensor(rates), torch.tensor(counts, dtype=torch.float64),
                                  log_input=False, eps=1e-7).item()
    assert losses.poisson(counts, rates) == pytest.approx(expected, rel=1e-14)
    # Keras's definition, written out.
    assert losses.poisson(counts, rates) == pytest.approx(
        np.mean(rates - counts * np.log(rates + 1e-7)), rel=1e-14)


@pytest.mark.parametrize("name", ["kl_divergence", "hinge", "squared_hinge", "poisson"])
def test_loss_gradient_is_the_derivative_of_per_sample(name, rng):
    loss = losses.get(name)
    k = _n_outputs(name)
    a = rng.dirichlet(np.ones(k), size=5) if name == "kl_divergence" else rng.uniform(0.2, 2, (5, k))
    y = loss.prepare_targets(_targets(name, rng, 5), (5, k))
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += 1e-6
        am[idx] -= 1e-6
        numeric[idx] = (loss.per_sample(y, ap)[idx[0]] - loss.per_sample(y, am)[idx[0]]) / 2e-6
    np.testing.assert_allclose(loss.gradient(y, a), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "name, y, message",
    [
        ("kl_divergence", [[0.5, 0.7], [0.5, 0.5]], r"y's rows must be probability distributions summing to 1 for kl_divergence; 1 row\(s\) do not, such as row 0, which sums to 1.2."),
        ("kl_divergence", [[-0.5, 1.5], [0.5, 0.5]], r"y must hold probabilities in \[0, 1\] for kl_divergence \(one distribution per row, or integer labels of shape \(2,\)\); received values from -0.5 to 1.5."),
        ("hinge", [[0.0], [2.0]], r"y must hold labels in \{-1, 1\} or in \{0, 1\} for hinge; received 1 other value\(s\), such as 2.0."),
        ("squared_hinge", [[-1.0], [0.0]], r"y must hold labels in \{-1, 1\} or in \{0, 1\} for squared_hinge; received both -1 and 0."),
        ("poisson", [[1.0], [-1.0]], r"y must hold non-negative values \(counts or rates\) for poisson; received values down to -1."),
    ],
)
def test_bad_targets_are_named(name, y, message):
    k = np.shape(y)[1]
    with pytest.raises(ValueError, match=message):
        losses.get(name).prepare_targets(np.array(y), (2, k))


def test_poisson_refuses_negative_predictions_and_kl_non_probabilities():
    with pytest.raises(ValueError, match=r"poisson needs non-negative predictions \(rates\); received values down to -0.5. Give the output layer an exponential or softplus activation."):
        losses.poisson([1.0, 2.0], [1.0, -0.5])
    model = NeuralNet(((2, 1),), activations="linear", loss="poisson", seed=0)
    X = np.array([[1.0, 0.0], [-3.0, 2.0]])
    model.set_weights([np.array([[1.0], [1.0], [0.0]])])
    with pytest.raises(ValueError, match="poisson needs non-negative predictions"):
        model.fit(X, [1.0, 2.0], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"y_pred must hold probabilities in \[0, 1\] for kl_divergence"):
        losses.kl_divergence([[0.5, 0.5]], [[1.5, -0.5]])


def test_kl_divergence_fused_delta_is_exact_and_fit_skips_the_fused_step(rng):
    # softmax + KL: dL/dz = a sum(y) - y, which is a - y for rows summing to 1.
    model = NeuralNet(((3, 4),), activations="softmax", loss="kl_divergence", seed=0,
                      dtype="float64")
    assert not _fastpath.supports(model, None)  # its value is not cross-entropy's
    X, y = rng.normal(size=(6, 3)), rng.dirichlet(np.ones(4), size=6)
    a = model.forward(X)
    delta = model.loss_fn.output_delta(y, a, model.output_activation)
    np.testing.assert_allclose(delta, (a - y) / 6, rtol=1e-12, atol=1e-15)


def test_hinge_networks_classify_at_zero(rng):
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = NeuralNet(((2, 8), (8, 1)), activations=["gelu", "linear"], loss="hinge", seed=0)
    model.fit(X, y, epochs=30, batch_size=20, learning_rate=0.05, verbose=0)
    margins = model.predict(X)[:, 0]
    labels = model.predict_classes(X)
    np.testing.assert_array_equal(labels, (margins >= 0).astype(int))
    logs = model.evaluate(X, y)
    assert logs["accuracy"] == pytest.approx(np.mean(labels == y)) and logs["accuracy"] > 0.95
    from sklearn.metrics import precision_score

    precision = metrics.get("precision", model.loss_fn, 1)
    assert precision(2 * y - 1, margins) == pytest.approx(precision_score(y, labels))
    assert metrics.get("accuracy", "binary_crossentropy") is metrics.binary_accuracy


def test_hinge_class_weight_is_a_weight_per_label(rng):
    X, y = rng.normal(size=(30, 2)), rng.integers(0, 2, size=30)
    a = NeuralNet(((2, 4), (4, 1)), activations=["elu", "linear"], loss="hinge", seed=0)
    b = NeuralNet.from_config(a.get_config())
    a.fit(X, y, epochs=2, batch_size=10, verbose=0, class_weight={0: 3.0, 1: 0.5})
    b.fit(X, y, epochs=2, batch_size=10, verbose=0, sample_weight=np.where(y == 0, 3.0, 0.5))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.filterwarnings("ignore:.*maximum number of epochs")
def test_the_estimators_take_the_new_activations_by_name(rng):
    from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    for name in ("gelu", "swish", "mish", "selu"):
        clf = NeuralNetClassifier(hidden_layer_sizes=(8,), activation=name, max_iter=3,
                                  random_state=0).fit(X, y)
        assert clf.model_.layers[0].activation == activations.get(name)
    reg = NeuralNetRegressor(hidden_layer_sizes=(8,), activation="softplus", max_iter=3,
                             random_state=0).fit(X, X[:, 1])
    assert np.isfinite(reg.predict(X)).all()


# -------------------------------------------------------------------------------------- l1
def test_l1_gradient_and_penalty_equal_pytorch(rng):
    layers = [FullyConnectedLayer(3, 4, "tanh", dtype="float64", rng=0, l1=0.03),
              FullyConnectedLayer(4, 2, "sigmoid", l2=0.05, dtype="float64", rng=1, l1=0.01)]
    model = NeuralNet(layers, dtype="float64")
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, size=(10, 2)).astype(float)
    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    a = torch.tensor(X)
    for W, act in zip(weights, [torch.tanh, torch.sigmoid]):
        a = act(a @ W[:-1] + W[-1])
    value = F.binary_cross_entropy(a, torch.tensor(y))
    value = value + 0.03 * weights[0][:-1].abs().sum() + 0.01 * weights[1][:-1].abs().sum()
    value = value + 0.05 / 2 * (weights[1][:-1] ** 2).sum()
    value.backward()
    assert model.loss(X, y) == pytest.approx(value.item(), rel=1e-12)
    for ours, theirs in zip(model.gradients(X, y), weights):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert layers[0].penalty() == pytest.approx(0.03 * np.abs(layers[0].weights[:-1]).sum())
    # The bias row is never penalised: moving it changes no penalty.
    layers[0].weights[-1] = 5.0
    assert layers[0].penalty() == pytest.approx(0.03 * np.abs(layers[0].weights[:-1]).sum())
    assert model.check_gradients(X, y, verbose=False).passed


def test_l1_fused_step_equals_the_reference_path(rng):
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    fused = NeuralNet(((3, 6), (6, 1)), activations=["relu", "sigmoid"], seed=2, l1=0.02,
                      dtype="float64")
    reference = NeuralNet.from_config(fused.get_config())
    assert _fastpath.supports(fused, None)
    fused.fit(X, y, epochs=3, batch_size=10, verbose=0)
    reference.fit(X, y, epochs=3, batch_size=10, verbose=0, sample_weight=np.ones(30))
    for a, b in zip(fused.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_l1_and_the_new_pieces_save_load_and_resume_exactly(tmp_path, rng):
    import neuralnet

    X = rng.normal(size=(40, 3))
    y = rng.poisson(2.0, size=40)
    model = NeuralNet(((3, 6), (6, 1)), activations=[activations.ELU(0.7), "exponential"],
                      loss="poisson", seed=3, l1=0.01, l2=0.001)
    model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = neuralnet.load(path)
    assert loaded.get_config() == model.get_config()
    assert [l.l1 for l in loaded.layers] == [0.01, 0.01]
    assert loaded.layers[0].activation == activations.ELU(0.7)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_l1_in_config_summary_repr_and_validation():
    layer = FullyConnectedLayer(3, 2, "relu", l1=0.5)
    assert layer.get_config()["l1"] == 0.5 and "l1=0.5" in repr(layer)
    model = NeuralNet([layer, FullyConnectedLayer(2, 1, "sigmoid")])
    text = model.summary(print_fn=None)
    header = next(line for line in text.splitlines() if line.startswith("#"))
    assert header.split()[-1] == "L1" and "L2" not in header
    assert "0.5" in text.splitlines()[4]
    assert NeuralNet(((2, 1),), l1=0.1).layers[0].l1 == 0.1
    for bad in (-1, float("inf"), "0.1", True):
        with pytest.raises(ValueError, match=rf"Received an invalid value for `l1`, expected a non-negative number. Received: l1={bad!r}"):
            FullyConnectedLayer(2, 2, l1=bad)


def test_explain_shows_the_new_derivatives_and_l1(rng):
    model = NeuralNet(((2, 3), (3, 1)), activations=["gelu", "linear"], loss="hinge", seed=0,
                      l1=0.01)
    text = model.explain(rng.normal(size=(4, 2)), rng.integers(0, 2, size=4), verbose=False)
    assert "dL/dA_1 * (Phi(Z_1) + Z_1 phi(Z_1))" in text
    assert "+ l1 sign(W_2[:-1])" in text
    diff = float(text.rsplit("to ", 1)[1].rstrip("."))
    assert diff < 1e-12


# ------------------------------------------------------------------------------------- CLI
def test_cli_train_with_dropout_and_a_new_activation(tmp_path, capsys):
    import neuralnet

    path = tmp_path / "m.npz"
    argv = ["train", "--epochs", "5", "--quiet", "--activation", "swish", "--dropout", "0.25",
            "--save", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "with sgd and binary_crossentropy, dropout 0.25" in out and "test accuracy" in out
    model = neuralnet.load(path)
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds == ["FullyConnectedLayer", "Dropout", "FullyConnectedLayer", "Dropout",
                     "FullyConnectedLayer"]
    assert all(l.rate == 0.25 for l in model.layers if isinstance(l, Dropout))
    assert [l.activation.name for l in model.layers.dense] == ["silu", "silu", "sigmoid"]
    # The same initial weights as without --dropout: from_config draws them the same way.
    plain = NeuralNet(((2, 16), (16, 16), (16, 1)), activations=["silu", "silu", "sigmoid"], seed=0)
    rebuilt = NeuralNet.from_config(model.get_config())
    for a, b in zip(plain.get_weights(), rebuilt.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--loss", "hinge", "--activation", "gelu"], "with sgd and hinge"),
        (["--loss", "squared_hinge", "--activation", "mish"], "with sgd and squared_hinge"),
        (["--dataset", "digits", "--loss", "kl_divergence", "--activation", "selu"],
         "with sgd and kl_divergence"),
    ],
)
def test_cli_train_with_the_new_classification_losses(capsys, argv, expected):
    assert main(["train", "--epochs", "3", "--hidden", "8", "--quiet", *argv]) == 0
    out = capsys.readouterr().out
    assert expected in out and "test accuracy" in out


def test_cli_train_poisson_on_counts(tmp_path, capsys):
    import neuralnet

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    counts = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1]))
    data = tmp_path / "counts.csv"
    np.savetxt(data, np.c_[X, counts], delimiter=",", header="a,b,n", comments="")
    path = tmp_path / "m.npz"
    argv = ["train", "--data", str(data), "--target", "n", "--task", "regression", "--loss",
            "poisson", "--activation", "softplus", "--epochs", "5", "--quiet", "--save", str(path)]
    assert main(argv) == 0
    assert "with sgd and poisson" in capsys.readouterr().out
    assert neuralnet.load(path).output_activation.name == "exponential"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "digits", "--loss", "hinge"],
         "--loss hinge needs two classes, but the target has 10; use one of categorical_crossentropy, kl_divergence."),
        (["--loss", "poisson"], "--loss poisson is a regression loss, but the target holds class labels; use one of "
                                "binary_crossentropy, categorical_crossentropy, hinge, kl_divergence, squared_hinge"),
    ],
)
def test_cli_loss_task_conflicts(capsys, argv, message):
    assert main(["train", "--epochs", "2", "--quiet", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"neuralnet train: error: {message}") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["train", "search"])
def test_cli_bad_dropout_is_one_line(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--dropout", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --dropout: expected a dropout rate in [0, 1), received '1'" in err
    assert err.count("\n") == 1


def test_cli_search_puts_dropout_losses_and_new_activations_in_the_grid(monkeypatch, capsys):
    import neuralnet.search

    seen = {}

    def fake_grid_search(X, y, grid, **kwargs):
        seen.update(grid)
        raise RuntimeError("stopped after building the grid")

    monkeypatch.setattr(neuralnet.search, "grid_search", fake_grid_search)
    argv = ["search", "--activation", "gelu", "swish", "--dropout", "0", "0.2", "--loss", "hinge",
            "binary_crossentropy"]
    assert main(argv) == 1
    assert seen["activation"] == ["gelu", "swish"]
    assert seen["dropout"] == [0.0, 0.2] and seen["loss"] == ["hinge", "binary_crossentropy"]
    seen.clear()
    assert main(["search"]) == 1
    assert "dropout" not in seen and "loss" not in seen
    capsys.readouterr()
