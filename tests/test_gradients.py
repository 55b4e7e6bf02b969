"""Back-propagation proven twice: by central finite differences in float64, and against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import numerical_gradients, relative_error
from neuralnet import NeuralNet

ARCHITECTURES = [
    # (layer sizes, activations, loss)
    ((3, 1), "sigmoid", "binary_crossentropy"),  # one layer
    ((2, 3, 1), "sigmoid", "binary_crossentropy"),  # the article's network
    ((4, 5, 3), ["tanh", "softmax"], "categorical_crossentropy"),
    ((4, 6, 5, 2), ["relu", "leaky_relu", "linear"], "mse"),
    ((3, 4, 4, 4, 2), ["tanh", "sigmoid", "relu", "sigmoid"], "binary_crossentropy"),
    ((3, 4, 2), ["sigmoid", "softmax"], "mse"),  # not a fused pair: through dL/da
    ((3, 4, 2), ["tanh", "linear"], "mae"),
    ((3, 4, 2), ["relu", "tanh"], "huber"),
    ((5, 3), "softmax", "categorical_crossentropy"),  # one layer, multi-class
]


def _targets(loss, n, k, rng):
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    if loss == "categorical_crossentropy":
        return rng.integers(0, k, size=n)
    return rng.normal(size=(n, k))


def _model(sizes, acts, loss, seed=0, **kwargs):
    shapes = tuple(zip(sizes[:-1], sizes[1:]))
    return NeuralNet(shapes, activations=acts, loss=loss, seed=seed, dtype="float64", **kwargs)


@pytest.mark.parametrize("sizes, acts, loss", ARCHITECTURES)
def test_backpropagation_matches_finite_differences(sizes, acts, loss, rng):
    model = _model(sizes, acts, loss)
    # Non-zero biases, so the bias row's gradient is tested away from its starting point.
    model.set_weights([w + rng.normal(scale=0.3, size=w.shape) for w in model.get_weights()])
    X = rng.normal(size=(8, sizes[0]))
    y = _targets(loss, 8, sizes[-1], rng)
    analytic = model.gradients(X, y)
    numeric = numerical_gradients(model, X, y)
    for layer, (a, n) in enumerate(zip(analytic, numeric)):
        assert a.shape == model.layers[layer].weights.shape
        assert relative_error(a, n) < 1e-6, f"layer {layer}:\nbackprop\n{a}\nnumeric\n{n}"


def test_l2_and_sample_weight_gradients_match_finite_differences(rng):
    model = _model((3, 4, 1), ["tanh", "sigmoid"], "binary_crossentropy", l2=0.3)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=6)
    w = rng.uniform(0.2, 3.0, size=6)
    analytic = model.gradients(X, y, sample_weight=w)
    numeric = numerical_gradients(model, X, y, sample_weight=w)
    for a, n in zip(analytic, numeric):
        assert relative_error(a, n) < 1e-6


def _torch_forward(weights, acts, X):
    """The same network in PyTorch, with the bias as the last row of each weight matrix."""
    fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "leaky_relu": lambda z: F.leaky_relu(z, 0.01), "linear": lambda z: z,
           "softmax": lambda z: torch.softmax(z, dim=1)}
    a = torch.tensor(X)
    for W, act in zip(weights, acts):
        a = fns[act](a @ W[:-1] + W[-1])
    return a


def _torch_loss(loss, out, y):
    if loss == "binary_crossentropy":
        return F.binary_cross_entropy(out, torch.tensor(y))
    if loss == "categorical_crossentropy":
        # cross_entropy on the logits is log-softmax + NLL; log of our softmax is the same.
        return F.nll_loss(torch.log(out), torch.tensor(y))
    if loss == "mse":
        return F.mse_loss(out, torch.tensor(y))
    if loss == "mae":
        return F.l1_loss(out, torch.tensor(y))
    return F.huber_loss(out, torch.tensor(y))


@pytest.mark.parametrize("trial", range(12))
def test_gradients_and_loss_match_pytorch_autograd(trial):
    rng = np.random.default_rng(100 + trial)
    sizes, acts, loss = ARCHITECTURES[trial % len(ARCHITECTURES)]
    # Random widths around the listed architecture's depth.
    sizes = (sizes[0], *rng.integers(1, 9, size=len(sizes) - 2), sizes[-1])
    model = _model(sizes, acts, loss, seed=trial)
    acts = [l.activation.name for l in model.layers]
    n = int(rng.integers(1, 40))
    X = rng.normal(size=(n, sizes[0])) * 2
    y = _targets(loss, n, sizes[-1], rng)

    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    out = _torch_forward(weights, acts, X)
    torch_loss = _torch_loss(loss, out, y)
    torch_loss.backward()

    assert model.loss(X, y) == pytest.approx(torch_loss.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(model.forward(X), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(model.gradients(X, y), weights):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=f"ours\n{ours}\ntorch\n{theirs.grad.numpy()}")


def test_float32_gradients_agree_with_float64():
    rng = np.random.default_rng(5)
    m64 = _model((4, 8, 3), ["relu", "softmax"], "categorical_crossentropy", seed=3)
    m32 = NeuralNet(((4, 8), (8, 3)), activations=["relu", "softmax"],
                    loss="categorical_crossentropy", seed=3)
    m32.set_weights(m64.get_weights())
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    for g32, g64 in zip(m32.gradients(X, y), m64.gradients(X, y)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)
