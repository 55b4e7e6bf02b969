import warnings

import numpy as np
import pytest

from conftest import numerical_gradient
from neuralnet import activations
from neuralnet.activations import ACTIVATIONS, get

ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


def test_sigmoid_is_stable_at_extremes():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = activations.sigmoid(z)
    assert a[0] == 0.0 and a[-1] == 1.0 and a[2] == 0.5
    assert np.isclose(a[1], np.exp(-50.0), rtol=1e-12)  # no cancellation on the negative side


def test_sigmoid_float32_keeps_dtype_and_matches_formula():
    z = np.linspace(-20, 20, 41, dtype=np.float32)
    a = activations.sigmoid(z)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z.astype(np.float64))), rtol=1e-6)


def test_softmax_is_stable_and_sums_to_one():
    z = np.array([[1000.0, 1000.0, -1000.0], [0.0, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = activations.softmax(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_allclose(a[0], [0.5, 0.5, 0.0])
    e = np.exp([0.0, 1.0, 2.0])
    np.testing.assert_allclose(a[1], e / e.sum())


def test_softmax_of_one_sample():
    np.testing.assert_allclose(activations.softmax(np.array([0.0, 0.0])), [0.5, 0.5])


@pytest.mark.parametrize(
    "name, z, expected",
    [
        ("relu", [-2.0, 0.0, 3.0], [0.0, 0.0, 3.0]),
        ("leaky_relu", [-2.0, 0.0, 3.0], [-0.02, 0.0, 3.0]),
        ("tanh", [0.0, 1.0], [0.0, np.tanh(1.0)]),
        ("linear", [-2.0, 5.0], [-2.0, 5.0]),
    ],
)
def test_forward_values(name, z, expected):
    np.testing.assert_allclose(getattr(activations, name)(np.array(z)), expected)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative_matches_finite_differences(name, rng):
    act = get(name)
    # Stay away from the kink of relu and leaky_relu at zero.
    z = rng.uniform(0.1, 3.0, size=50) * rng.choice([-1.0, 1.0], size=50)
    eps = 1e-6
    numeric = (act(z + eps) - act(z - eps)) / (2 * eps)
    np.testing.assert_allclose(act.derivative(act(z)), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "name", sorted(k for k, cls in ACTIVATIONS.items() if cls.__module__ == "neuralnet.activations"))
def test_backward_is_the_jacobian_vector_product(name, rng):
    act = get(name)
    z = rng.uniform(0.1, 2.0, size=(4, 3)) * rng.choice([-1.0, 1.0], size=(4, 3))
    grad_a = rng.normal(size=(4, 3))
    numeric = numerical_gradient(lambda z_: (grad_a * act(z_)).sum(), z)
    extra = {"z": z} if act.needs_z else {}  # the contract: z only for those that need it
    analytic = act.backward(act(z), grad_a.copy(), **extra)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_get_by_name_instance_and_config():
    assert isinstance(get("sigmoid"), activations.Sigmoid)
    assert isinstance(get("ReLU"), activations.ReLU)
    leaky = activations.LeakyReLU(0.2)
    assert get(leaky) is leaky
    assert get(leaky.get_config()) == leaky


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation 'swishy'; expected one of: .*sigmoid"):
        get("swishy")


def test_wrong_activation_type():
    with pytest.raises(TypeError, match="Received an invalid type for `activation`"):
        get(3)


def test_leaky_relu_alpha_is_validated():
    with pytest.raises(ValueError, match=r"`alpha`, expected a number in \[0, 1\). Received: alpha=2"):
        activations.LeakyReLU(2)


def test_softmax_has_no_elementwise_derivative():
    with pytest.raises(TypeError, match="Jacobian"):
        get("softmax").derivative(np.ones((1, 2)) / 2)
