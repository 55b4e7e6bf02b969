"""Bad input at every public entry point: the error type, and a message naming what and why."""

from __future__ import annotations

import numpy as np
import pytest

import neuralnet
from neuralnet import LayerChain, NeuralNet, TrainingDivergedError
from neuralnet._validation import InvalidTypeError, as_float_array


def binary_net(**kwargs) -> NeuralNet:
    return NeuralNet(((2, 3), (3, 1)), seed=0, **kwargs)


def softmax_net() -> NeuralNet:
    return NeuralNet(((2, 4), (4, 3)), activations=["tanh", "softmax"],
                     loss="categorical_crossentropy", seed=0)


X4 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y4 = np.array([1, 1, 0, 0])

# Every entry point that takes X, called with a bad X and good y where it needs one.
ENTRY_POINTS = {
    "fit": lambda m, X, y=Y4: m.fit(X, y, epochs=1, verbose=0),
    "predict": lambda m, X, y=Y4: m.predict(X),
    "predict_classes": lambda m, X, y=Y4: m.predict_classes(X),
    "forward": lambda m, X, y=Y4: m.forward(X),
    "evaluate": lambda m, X, y=Y4: m.evaluate(X, y),
    "loss": lambda m, X, y=Y4: m.loss(X, y),
    "gradients": lambda m, X, y=Y4: m.gradients(X, y),
}
WITH_TARGETS = ["fit", "evaluate", "loss", "gradients"]

BAD_X = [
    (np.zeros((4, 3)), ValueError, "X has 3 features, but the network's first layer expects 2"),
    (np.zeros(3), ValueError, r"X has shape \(3,\); expected one sample of 2 features"),
    (np.zeros((0, 2)), ValueError, r"X is empty \(shape \(0, 2\)\); expected at least one sample"),
    ([], ValueError, r"X is empty \(shape \(0,\)\)"),
    (np.zeros((4, 2, 1)), ValueError, r"X must be a 1-D or 2-D array; received shape \(4, 2, 1\)"),
    (3.0, ValueError, r"X must be a 1-D or 2-D array; received shape \(\)"),
    ([[0.0, np.nan]] * 4, ValueError, r"X contains 4 NaN or infinite value\(s\)"),
    ([[np.inf, -np.inf]] * 4, ValueError, r"X contains 8 NaN or infinite value\(s\)"),
    (np.full((4, 2), 1e300), ValueError, "X holds values too large for float32 .*1e\\+300"),
    ("0,1", TypeError, "X must be a numeric array; received str"),
    (None, TypeError, "X must be a numeric array; received NoneType"),
    ({"a": 1}, TypeError, "X must be a numeric array; received dict"),
    ([["a", "b"]] * 4, TypeError, "X must be a numeric array; received an array of dtype <U1"),
    (np.array([[1, None]] * 4, dtype=object), TypeError, "received an array of dtype object"),
    (np.zeros((4, 2), complex), TypeError, "X must hold real numbers; received complex dtype"),
    ([[1.0, 2.0], [3.0]], ValueError, "X must be a rectangular numeric array"),
]


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("X", "error", "message"), BAD_X, ids=[m[:28] for _, _, m in BAD_X])
def test_every_entry_point_rejects_a_bad_X(entry, X, error, message):
    model = binary_net()
    before = model.get_weights()
    with pytest.raises(error, match=message):
        ENTRY_POINTS[entry](model, X)
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)  # nothing trained on bad data


BAD_Y = [
    (Y4[:3], ValueError, "X and y have different numbers of samples: X has 4, y has 3"),
    (np.array([0, 1, 2, 1]), ValueError,
     r"y must hold labels in \{0, 1\} for binary_crossentropy; received 1 other value\(s\), such as 2"),
    (np.array([0.0, 0.5, 1.0, 1.0]), ValueError, r"labels in \{0, 1\} .* such as 0.5"),
    (np.array([0, 1, np.nan, 1]), ValueError, r"y contains 1 NaN or infinite value\(s\)"),
    (np.zeros((4, 2)), ValueError,
     r"y has shape \(4, 2\), but the network's output has shape \(4, 1\); expected y of shape "
     r"\(4, 1\) or \(4,\)"),
    (np.zeros((4, 1, 1)), ValueError, r"y must be a 1-D or 2-D array; received shape \(4, 1, 1\)"),
    ("0101", TypeError, "y must be a numeric array; received str"),
    (None, TypeError, "y must be a numeric array; received NoneType"),
    (np.array(["0", "1", "0", "1"]), TypeError, "y must be a numeric array; received an array of dtype <U1"),
    (np.zeros(4, complex), TypeError, "y must hold real numbers"),
    (1, ValueError, "y must be an array of targets, one per sample; received the scalar 1"),
    ([[0], [1, 1], [0], [1]], ValueError, "y must be a rectangular numeric array"),
]


@pytest.mark.parametrize("entry", WITH_TARGETS)
@pytest.mark.parametrize(("y", "error", "message"), BAD_Y, ids=[m[:28] for _, _, m in BAD_Y])
def test_every_entry_point_with_targets_rejects_a_bad_y(entry, y, error, message):
    with pytest.raises(error, match=message):
        ENTRY_POINTS[entry](binary_net(), X4, y)


@pytest.mark.parametrize("entry", WITH_TARGETS)
@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([0, 1, 3, 1]),
         r"y holds labels outside \[0, 2\] for a network with 3 outputs. Received labels from 0 to 3"),
        (np.array([0, -1, 2, 1]), r"y holds labels outside \[0, 2\] .* from -1 to 2"),
        (np.array([0, 1.5, 2, 1]), r"y must hold integer class labels in \[0, 2\]; received "
         r"non-integer values such as 1.5"),
        (np.full((4, 3), 2.0), r"y holds values outside \[0, 1\]; categorical_crossentropy expects "
         r"one-hot rows"),
    ],
)
def test_categorical_labels_out_of_range(entry, y, message):
    with pytest.raises(ValueError, match=message):
        ENTRY_POINTS[entry](softmax_net(), X4, y)


@pytest.mark.parametrize("name", ["epochs", "batch_size"])
@pytest.mark.parametrize("value", [0, -2])
def test_fit_rejects_non_positive_epochs_and_batch_size(name, value):
    with pytest.raises(ValueError, match=rf"Received an invalid value for `{name}`, expected a "
                       rf"positive integer. Received: {name}={value}$"):
        binary_net().fit(X4, Y4, verbose=0, **{name: value})


@pytest.mark.parametrize("name", ["epochs", "batch_size"])
@pytest.mark.parametrize("value", [2.5, "10", None, True])
def test_fit_rejects_epochs_and_batch_size_of_the_wrong_type(name, value):
    message = (rf"Received an invalid type for `{name}`, expected a positive integer. "
               rf"Received: {name}={value!r} of type {type(value).__name__}")
    with pytest.raises(TypeError, match=message) as info:
        binary_net().fit(X4, Y4, verbose=0, **{name: value})
    # Also a ValueError, for callers who catch every bad argument that way.
    assert isinstance(info.value, ValueError) and isinstance(info.value, InvalidTypeError)


def test_predict_and_evaluate_reject_a_bad_batch_size():
    with pytest.raises(ValueError, match="`batch_size`, expected a positive integer. Received: batch_size=0"):
        binary_net().predict(X4, batch_size=0)
    with pytest.raises(TypeError, match="invalid type for `batch_size`.*batch_size=1.5 of type float"):
        binary_net().evaluate(X4, Y4, batch_size=1.5)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown activation 'sigmod'; expected one of: elu, "
                       "exponential, gelu, gelu_tanh, leaky_relu, linear, mish, relu, selu, "
                       "sigmoid, silu, softmax, softplus, tanh"):
        NeuralNet(((2, 1),), activations="sigmod")
    with pytest.raises(ValueError, match="Unknown loss 'hingeloss'; expected one of: binary_crossentropy, "
                       "categorical_crossentropy, half_poisson, hinge, huber, kl_divergence, mae, mse, poisson, "
                       "squared_hinge"):
        NeuralNet(((2, 1),), loss="hingeloss")
    with pytest.raises(ValueError, match="Unknown optimizer 'adamax'; expected one of: adagrad, adam, "
                       "adamw, rmsprop, sgd"):
        binary_net().fit(X4, Y4, optimizer="adamax", verbose=0)
    with pytest.raises(ValueError, match="Unknown metric 'fscore'; expected one of: accuracy"):
        binary_net().fit(X4, Y4, metrics=["fscore"], verbose=0)
    with pytest.raises(TypeError, match="invalid type for `activation`, expected a name"):
        NeuralNet(((2, 1),), activations=[3])


def test_sample_weight_is_checked():
    with pytest.raises(ValueError, match="sample_weight has 3 entries, but X has 4 samples"):
        binary_net().loss(X4, Y4, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match="sample_weight must be non-negative with a positive sum"):
        binary_net().fit(X4, Y4, sample_weight=[1, -1, 1, 1], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight contains 1 NaN or infinite value\(s\)"):
        binary_net().evaluate(X4, Y4, sample_weight=[1, np.nan, 1, 1])


# ------------------------------------------------------- no weights, bad weights
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_network_without_layers_has_no_weights_to_predict_with(entry):
    model = binary_net()
    model.layers = LayerChain([])  # every layer removed
    with pytest.raises(RuntimeError, match=r"This NeuralNet has no weights yet: it holds no dense "
                       r"layer \(layers=LayerChain\(\[\]\)\). Build it with NeuralNet\(layer_shapes"):
        ENTRY_POINTS[entry](model, X4)


def test_a_network_object_never_built_has_no_weights():
    model = NeuralNet.__new__(NeuralNet)  # e.g. a subclass that forgot super().__init__
    with pytest.raises(RuntimeError, match=r"no weights yet: it holds no dense layer \(layers=None\)"):
        model.predict(X4)
    with pytest.raises(RuntimeError, match="no weights yet"):
        model.save("never-written.npz")


@pytest.mark.parametrize("clear", ["delete", "none"])
def test_a_lost_flat_buffer_is_rebuilt_from_the_layers_weights(clear):
    model = binary_net()
    expected = model.predict(X4)
    if clear == "delete":
        del model._flat_weights
    else:
        model._flat_weights = None
    np.testing.assert_array_equal(model.predict(X4), expected)  # the layers kept their weights
    model.fit(X4, Y4, epochs=1, verbose=0)
    assert all(np.shares_memory(l.weights, model._flat_weights) for l in model.layers.dense)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_nan_weights_are_refused_rather_than_predicted_with(entry):
    model = binary_net()
    model.layers[0].weights[0, 0] = np.nan  # bypasses set_weights, which refuses NaN
    with pytest.raises(RuntimeError, match=r"The network's weights hold 1 NaN or infinite "
                       r"value\(s\), so every output would be too; set finite weights"):
        ENTRY_POINTS[entry](model, X4)


def test_set_weights_refuses_non_finite_weights():
    model = binary_net()
    weights = model.get_weights()
    weights[1][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"weights\[1\] contains 1 NaN or infinite value\(s\)"):
        model.set_weights(weights)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_overflowing_outputs_are_an_error_not_an_inf(entry):
    model = NeuralNet(((2, 1),), activations="linear", loss="mse", seed=0)
    model.set_weights([np.full((3, 1), 1e10)])
    X = np.full((4, 2), 1e30)  # finite in float32, but X @ W is not
    with pytest.raises(ValueError, match=r"The network's (outputs|loss|gradients) overflowed to "
                       r"inf or NaN for X \(largest magnitude 1e\+30\).*standardize"):
        ENTRY_POINTS[entry](model, X, np.zeros(4))


# ------------------------------------------------------------------- divergence
def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


class _EpochWeights(neuralnet.Callback):
    def __init__(self):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_divergence_stops_with_an_error_and_keeps_the_last_good_weights():
    X, y = _regression()
    model = NeuralNet(((3, 4), (4, 1)), activations=["relu", "linear"], loss="mse", seed=0)
    record = _EpochWeights()
    with pytest.raises(TrainingDivergedError, match=r"Training diverged: the loss became (inf|nan) "
                       r"in batch \d+ of epoch (\d+)\. The network keeps the weights it had at the "
                       r"start of epoch \2\. Try a lower learning rate \(the optimizer's is 2\)"):
        model.fit(X, y, epochs=500, batch_size=16, learning_rate=2.0, verbose=0,
                  callbacks=[record])
    assert model.epoch == len(record.weights) >= 1  # the failing epoch is not counted
    for w_good, w in zip(record.weights[-1], model.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w_good)
    assert np.isfinite(model._flat_weights).all()
    # The network still works: predictions are finite.
    assert np.isfinite(model.predict(X[:5])).all()


def test_divergence_error_is_a_floating_point_and_a_runtime_error():
    assert issubclass(TrainingDivergedError, FloatingPointError)
    assert issubclass(TrainingDivergedError, RuntimeError)


def test_divergence_in_the_first_epoch_restores_the_initial_weights_and_optimizer_state():
    X, y = _regression()
    model = NeuralNet(((3, 8), (8, 1)), activations=["relu", "linear"], loss="mse", seed=1)
    model.fit(X, y, epochs=2, optimizer="rmsprop", learning_rate=1e-3, verbose=0)
    before = model.get_weights()
    state = {k: np.copy(v) for k, v in model.optimizer.state[id(model._flat_weights)].items()
             if k != "shape"}
    iterations = model.optimizer.iterations
    with pytest.raises(TrainingDivergedError, match="epoch 2.*Try a lower learning rate "
                       r"\(the optimizer's is 1e\+30\)"):
        model.fit(X, y, epochs=3, learning_rate=1e30, verbose=0)
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)
    restored = model.optimizer.state[id(model._flat_weights)]
    for key, value in state.items():
        np.testing.assert_array_equal(restored[key], value)
    assert model.optimizer.iterations == iterations and model.epoch == 2
    # Training can go on at a sane learning rate.
    model.fit(X, y, epochs=2, learning_rate=1e-3, verbose=0)
    assert np.isfinite(model._flat_weights).all() and model.epoch == 4


def test_weights_that_overflow_in_the_last_update_of_an_epoch_are_caught():
    X, y = _regression()
    model = NeuralNet(((3, 1),), activations="linear", loss="mse", seed=0)
    before = model.get_weights()
    # One batch per epoch: its loss is finite, the update sends the weights to inf.
    with pytest.raises(TrainingDivergedError, match="the weights became NaN or infinite of epoch 0"):
        model.fit(X, y, epochs=1, batch_size=len(X), learning_rate=1e39, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], before[0])


# ------------------------------------------------------ lists, tuples, integers
def test_lists_tuples_and_integer_arrays_train_like_float_arrays():
    X = [[0, 1], [1, 0], [1, 1], [0, 0]]
    y = (1, 1, 0, 0)
    reference = binary_net()
    reference.fit(np.array(X, dtype=np.float32), np.array(y, dtype=np.float32), epochs=3, verbose=0)
    for X_in, y_in in [(X, y), (tuple(map(tuple, X)), list(y)),
                       (np.array(X, dtype=np.int64), np.array(y, dtype=np.int8)),
                       (np.array(X, dtype=bool), np.array(y, dtype=bool))]:
        model = binary_net()
        model.fit(X_in, y_in, epochs=3, verbose=0)
        for w0, w1 in zip(reference.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(w0, w1)
        np.testing.assert_array_equal(model.predict(X_in), reference.predict(X))
        assert model.loss(X_in, y_in) == reference.loss(X, y)


def test_conversion_happens_once_and_not_at_all_when_not_needed():
    X = np.zeros((3, 2), dtype=np.float32)
    assert as_float_array(X, "X", np.dtype(np.float32)) is X  # already right: no copy
    converted = as_float_array([[1, 2], [3, 4]], "X", np.dtype(np.float64))
    assert converted.dtype == np.float64 and converted.flags.c_contiguous
    strided = np.zeros((4, 4), dtype=np.float32)[:, ::2]
    assert as_float_array(strided, "X", np.dtype(np.float32)).flags.c_contiguous


# ------------------------------------------- the module-level functions, called directly
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"])
def test_activation_functions_take_lists_tuples_and_integers(name):
    fn = getattr(neuralnet, name)
    expected = fn(np.array([[-1.0, 0.0, 2.0]]))
    for z in ([[-1, 0, 2]], ((-1, 0, 2),), np.array([[-1, 0, 2]], dtype=np.int8)):
        out = fn(z)
        assert np.issubdtype(out.dtype, np.floating)  # int8 becomes float32, as NumPy promotes
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_activation_functions_reject_what_is_not_numbers():
    with pytest.raises(TypeError, match="z must be a numeric array; received str"):
        neuralnet.sigmoid("0.5")
    with pytest.raises(TypeError, match="z must be a numeric array; received an array of dtype <U1"):
        neuralnet.relu(["a", "b"])
    with pytest.raises(ValueError, match="softmax needs a vector or a batch of rows; received the "
                       "scalar 3.0"):
        neuralnet.softmax(3.0)
    assert neuralnet.sigmoid(0) == 0.5  # element-wise ones take a plain number


def test_loss_functions_take_lists_and_integers():
    assert neuralnet.mse([1, 2], [1, 4]) == 2.0
    assert neuralnet.binary_crossentropy((0, 1), [0.5, 0.5]) == pytest.approx(np.log(2))
    assert neuralnet.categorical_crossentropy([1], [[0.5, 0.5]]) == pytest.approx(np.log(2))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: neuralnet.mse(None, [1.0]), TypeError, "y_true must be a numeric array; received NoneType"),
        (lambda: neuralnet.mse([1.0], "1"), TypeError, "y_pred must be a numeric array; received str"),
        (lambda: neuralnet.mse([], []), ValueError, r"y_pred is empty \(shape \(0,\)\)"),
        (lambda: neuralnet.mse([np.nan], [1.0]), ValueError, r"y_true contains 1 NaN or infinite value\(s\)"),
        (lambda: neuralnet.mse([1.0], [np.inf]), ValueError, r"y_pred contains 1 NaN or infinite value\(s\)"),
        (lambda: neuralnet.binary_crossentropy([0, 1], [0.1, 1.9]), ValueError,
         r"y_pred must hold probabilities in \[0, 1\] for binary_crossentropy; received values "
         r"from 0.1 to 1.9"),
        (lambda: neuralnet.categorical_crossentropy([0], [[-0.5, 1.5]]), ValueError,
         r"y_pred must hold probabilities in \[0, 1\] for categorical_crossentropy"),
        (lambda: neuralnet.binary_crossentropy([0, 2], [0.1, 0.9]), ValueError,
         r"y must hold labels in \{0, 1\} for binary_crossentropy"),
        (lambda: neuralnet.categorical_crossentropy([0, 2], [[0.9, 0.1], [0.2, 0.8]]), ValueError,
         r"y holds labels outside \[0, 1\] for a network with 2 outputs"),
    ],
)
def test_loss_functions_reject_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
