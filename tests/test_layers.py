import numpy as np
import pytest

from neuralnet import (
    FullyConnectedLayer,
    LayerChain,
    LayersChain,
    add_bias,
    set_bias_as_weight,
    sigmoid,
)
from neuralnet.layers import Dropout


def test_add_bias_appends_a_column_of_ones():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = add_bias(x)
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[1, 2, 1], [3, 4, 1], [5, 6, 1]])


def test_add_bias_on_one_sample_and_integers():
    np.testing.assert_array_equal(add_bias(np.array([7.0, 8.0])), [7.0, 8.0, 1.0])
    assert add_bias([[1, 2]]).dtype == np.float64
    assert add_bias(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_add_bias_rejects_other_ranks():
    with pytest.raises(ValueError, match=r"received an array of shape \(1, 2, 3\)"):
        add_bias(np.ones((1, 2, 3)))


def test_set_bias_as_weight():
    assert set_bias_as_weight((2, 3)) == (3, 3)
    assert set_bias_as_weight((3, 1)) == (4, 1)
    with pytest.raises(ValueError, match=r"expected a pair of positive integers \(n_in, n_out\). Received: shape=\(0, 3\)"):
        set_bias_as_weight((0, 3))


def test_layer_weights_have_the_absorbed_shape_and_a_zero_bias_row():
    layer = FullyConnectedLayer(2, 3, rng=0)
    assert layer.weights.shape == (3, 3)
    assert layer.activation.name == "sigmoid"
    np.testing.assert_array_equal(layer.weights[-1], 0.0)
    np.testing.assert_array_equal(layer.bias, layer.weights[-1])
    assert layer.weights.dtype == np.float32


def test_forward_equals_the_add_bias_form(rng):
    layer = FullyConnectedLayer(4, 5, activation="tanh", dtype="float64", rng=1)
    layer.weights = rng.normal(size=(5, 5))  # a non-zero bias row too
    x = rng.normal(size=(7, 4))
    np.testing.assert_allclose(layer.forward(x), np.tanh(add_bias(x) @ layer.weights), rtol=1e-12)


def test_article_forward_on_one_sample(rng):
    layer = FullyConnectedLayer(2, 3, rng=0, dtype="float64")
    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(layer.forward(x), sigmoid(add_bias(x) @ layer.weights))


def test_backward_equals_the_add_bias_form(rng):
    """Bias gradient as a column sum and input gradient without the bias row, as the article derives."""
    layer = FullyConnectedLayer(4, 3, activation="linear", dtype="float64", rng=1)
    x = rng.normal(size=(6, 4))
    delta = rng.normal(size=(6, 3))
    layer.forward(x)
    grad_x = layer.backward(delta)
    np.testing.assert_allclose(layer.grad, add_bias(x).T @ delta, rtol=1e-12)
    np.testing.assert_allclose(grad_x, (delta @ layer.weights.T)[:, :-1], rtol=1e-12)


def test_backward_does_not_modify_its_argument(rng):
    layer = FullyConnectedLayer(3, 2, activation="sigmoid", dtype="float64", rng=1)
    layer.forward(rng.normal(size=(4, 3)))
    grad = rng.normal(size=(4, 2))
    before = grad.copy()
    layer.backward(grad)
    np.testing.assert_array_equal(grad, before)


def test_backward_before_forward_is_a_call_order_error():
    with pytest.raises(RuntimeError, match=r"backward was called before forward"):
        FullyConnectedLayer(2, 2).backward(np.ones((1, 2)))


def test_forward_checks_the_input_width():
    with pytest.raises(ValueError, match=r"x has shape \(4, 3\), but this layer expects \(n_samples, 2\)"):
        FullyConnectedLayer(2, 1).forward(np.ones((4, 3)))


@pytest.mark.parametrize(
    "method, std",
    [
        ("he_normal", np.sqrt(2 / 400)),
        ("he", np.sqrt(2 / 400)),
        ("glorot_normal", np.sqrt(2 / 700)),
        ("lecun_normal", np.sqrt(1 / 400)),
        ("he_uniform", np.sqrt(6 / 400) / np.sqrt(3)),
        ("glorot_uniform", np.sqrt(6 / 700) / np.sqrt(3)),
    ],
)
def test_initialisers_have_the_right_spread(method, std):
    layer = FullyConnectedLayer(400, 300, dtype="float64")
    w = layer.initialize_weights(method, rng=np.random.default_rng(0))
    assert w is layer.weights
    np.testing.assert_array_equal(w[-1], 0.0)
    assert w[:-1].mean() == pytest.approx(0.0, abs=3 * std / np.sqrt(w[:-1].size) * 3)
    assert w[:-1].std() == pytest.approx(std, rel=0.01)


def test_uniform_initialisers_stay_in_their_limits():
    w = FullyConnectedLayer(50, 20).initialize_weights("he_uniform", rng=0)
    assert np.abs(w).max() <= np.sqrt(6 / 50)


def test_zeros_initialiser_and_seeded_rng():
    layer = FullyConnectedLayer(3, 2)
    np.testing.assert_array_equal(layer.initialize_weights("zeros"), 0.0)
    a = FullyConnectedLayer(3, 2, rng=7).weights.copy()
    b = FullyConnectedLayer(3, 2, rng=7).weights.copy()
    np.testing.assert_array_equal(a, b)


def test_unknown_initialiser_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown initialisation method 'orthogonal'; expected one of: he_normal, he,"):
        FullyConnectedLayer(2, 2).initialize_weights("orthogonal")


def test_weights_setter_validates_the_shape():
    layer = FullyConnectedLayer(2, 3)
    with pytest.raises(ValueError, match=r"weights must have the absorbed shape \(n_in \+ 1, n_out\) = \(3, 3\); received shape \(2, 3\)"):
        layer.weights = np.zeros((2, 3))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_layer_sizes_are_validated(bad):
    with pytest.raises(ValueError, match=rf"`n_in`, expected a positive integer. Received: n_in={bad!r}"):
        FullyConnectedLayer(bad, 2)


def test_dtype_is_validated():
    with pytest.raises(ValueError, match=r"expected 'float32' or 'float64'. Received: dtype='int32'"):
        FullyConnectedLayer(2, 2, dtype="int32")


def test_layer_chain_is_list_like():
    chain = LayerChain([FullyConnectedLayer(2, 3), FullyConnectedLayer(3, 1)])
    assert len(chain) == 2
    assert chain[0].n_out == 3 and chain[-1].n_out == 1
    assert [l.n_in for l in chain] == [2, 3]
    chain.append(FullyConnectedLayer(1, 4))
    assert len(chain) == 3
    assert isinstance(chain[1:], LayerChain) and len(chain[1:]) == 2
    text = repr(chain)
    assert "FullyConnectedLayer(2, 3, activation='sigmoid')" in text and text.startswith("LayerChain([")
    assert LayersChain is LayerChain


def test_layer_chain_forward_composes(rng):
    l1 = FullyConnectedLayer(2, 3, dtype="float64", rng=0)
    l2 = FullyConnectedLayer(3, 1, dtype="float64", rng=1)
    x = rng.normal(size=(5, 2))
    expected = sigmoid(add_bias(sigmoid(add_bias(x) @ l1.weights)) @ l2.weights)
    np.testing.assert_allclose(LayerChain([l1, l2])(x), expected)


def test_layer_chain_rejects_layers_that_do_not_chain():
    chain = LayerChain([FullyConnectedLayer(2, 3)])
    with pytest.raises(ValueError, match=r"Layer 1 .* expects 4 inputs, but the layer before it .* has 3 outputs"):
        chain.append(FullyConnectedLayer(4, 1))
    with pytest.raises(TypeError, match="A LayerChain holds layers"):
        chain.append("dense")


def test_layer_config_rebuilds_the_layer():
    from neuralnet.layers import layer_from_config

    layer = FullyConnectedLayer(3, 2, activation="leaky_relu", l2=0.1)
    clone = layer_from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert isinstance(layer_from_config(Dropout(0.3).get_config()), Dropout)
