import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import numerical_gradient
from neuralnet import losses
from neuralnet.activations import get as get_activation


def test_binary_crossentropy_matches_torch(rng):
    p = rng.uniform(0.01, 0.99, size=(20, 3))
    y = rng.integers(0, 2, size=(20, 3)).astype(float)
    expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item()
    assert losses.binary_crossentropy(y, p) == pytest.approx(expected, rel=1e-12)


def test_binary_crossentropy_accepts_flat_labels(rng):
    p = rng.uniform(0.01, 0.99, size=10)
    y = rng.integers(0, 2, size=10)
    expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y, dtype=torch.float64)).item()
    assert losses.binary_crossentropy(y, p) == pytest.approx(expected, rel=1e-12)


def test_binary_crossentropy_never_takes_log_of_zero():
    # PyTorch clamps log at -100; so do we, without warnings or infinities.
    p = np.array([[0.0], [1.0]])
    y = np.array([[1.0], [0.0]])
    value = losses.binary_crossentropy(y, p)
    expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item()
    assert np.isfinite(value) and value == pytest.approx(expected)


def test_binary_crossentropy_from_logits_equals_probabilities(rng):
    z = rng.normal(size=(30, 2)) * 5
    y = rng.integers(0, 2, size=(30, 2)).astype(float)
    loss = losses.BinaryCrossentropy()
    a = get_activation("sigmoid")(z)
    assert loss.value(y, a, z) == pytest.approx(loss.value(y, a), rel=1e-9)
    expected = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)).item()
    assert loss.value(y, a, z) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("one_hot", [True, False])
def test_categorical_crossentropy_matches_torch_cross_entropy(rng, one_hot):
    z = rng.normal(size=(25, 4)) * 3
    labels = rng.integers(0, 4, size=25)
    expected = F.cross_entropy(torch.tensor(z), torch.tensor(labels)).item()
    a = get_activation("softmax")(z)
    y = np.eye(4)[labels] if one_hot else labels
    assert losses.categorical_crossentropy(y, a) == pytest.approx(expected, rel=1e-9)
    loss = losses.CategoricalCrossentropy()
    targets = loss.prepare_targets(y, a.shape)
    assert loss.value(targets, a, z) == pytest.approx(expected, rel=1e-12)


def test_mse_matches_torch(rng):
    a, y = rng.normal(size=(15, 3)), rng.normal(size=(15, 3))
    expected = F.mse_loss(torch.tensor(a), torch.tensor(y)).item()
    assert losses.mse(y, a) == pytest.approx(expected, rel=1e-12)


def test_mae_and_huber_match_torch(rng):
    a, y = rng.normal(size=(15, 2)) * 2, rng.normal(size=(15, 2))
    assert losses.mae(y, a) == pytest.approx(F.l1_loss(torch.tensor(a), torch.tensor(y)).item())
    expected = F.huber_loss(torch.tensor(a), torch.tensor(y), delta=0.7).item()
    assert losses.huber(y, a, delta=0.7) == pytest.approx(expected, rel=1e-12)


CASES = [
    ("binary_crossentropy", "sigmoid"),
    ("binary_crossentropy", "softmax"),
    ("categorical_crossentropy", "softmax"),
    ("categorical_crossentropy", "sigmoid"),
    ("mse", "linear"),
    ("mse", "sigmoid"),
    ("mae", "linear"),
    ("huber", "tanh"),
]


@pytest.mark.parametrize("loss_name, activation_name", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_output_delta_matches_finite_differences(rng, loss_name, activation_name, weighted):
    """dL/dz of the (weighted) mean loss, fused or not, against central differences in z."""
    loss, act = losses.get(loss_name), get_activation(activation_name)
    n, k = 6, 3
    z = rng.normal(size=(n, k))
    if loss_name == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    elif loss_name == "binary_crossentropy":
        y = rng.integers(0, 2, size=(n, k)).astype(float)
    else:
        y = rng.normal(size=(n, k))
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None

    numeric = numerical_gradient(lambda z_: loss.value(y, act(z_), sample_weight=w), z)
    analytic = loss.output_delta(y, act(z), act, sample_weight=w)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_targets_are_never_reshaped_silently():
    with pytest.raises(ValueError, match=r"y has shape \(10, 2\), but the network's output has shape \(10, 1\)"):
        losses.BinaryCrossentropy().prepare_targets(np.zeros((10, 2)), (10, 1))
    with pytest.raises(ValueError, match=r"y has shape \(5,\), but the network's output has shape \(10, 1\)"):
        losses.MeanSquaredError().prepare_targets(np.zeros(5), (10, 1))


def test_binary_labels_must_be_zero_or_one():
    with pytest.raises(ValueError, match=r"labels in \{0, 1\} for binary_crossentropy; received 1 other value\(s\), such as 2"):
        losses.BinaryCrossentropy().prepare_targets(np.array([0, 1, 2, 1]), (4, 1))


def test_categorical_labels_must_be_in_range():
    with pytest.raises(ValueError, match=r"labels outside \[0, 2\] for a network with 3 outputs. Received labels from 0 to 3"):
        losses.CategoricalCrossentropy().prepare_targets(np.array([0, 3, 1]), (3, 3))
    with pytest.raises(ValueError, match="integer class labels"):
        losses.CategoricalCrossentropy().prepare_targets(np.array([0.5, 1, 1]), (3, 3))


def test_get_loss_by_name_alias_and_errors():
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get({"name": "huber", "delta": 2.0}), losses.Huber)
    with pytest.raises(ValueError, match=r"Unknown loss 'hingeloss'; expected one of: binary_crossentropy"):
        losses.get("hingeloss")
    with pytest.raises(TypeError, match="Received an invalid type for `loss`"):
        losses.get(1.5)
