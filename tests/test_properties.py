"""Property-based tests: random shapes, dtypes and values thrown at the public API.

Every call either works, and then its answer has the right shape, is finite, and (for
``predict``) equals a plain float64 NumPy forward pass, or it raises one of the documented
exceptions (``ValueError``, ``TypeError``, ``RuntimeError``) with a message. Nothing else: no
``IndexError`` from deep inside, no NumPy warning, no NaN handed back.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neuralnet import NeuralNet
from neuralnet.activations import get as get_activation

DOCUMENTED = (ValueError, TypeError, RuntimeError)
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HIDDEN_ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
# (output activation, loss, possible numbers of outputs)
HEADS = [
    ("sigmoid", "binary_crossentropy", [1, 2]),
    ("softmax", "categorical_crossentropy", [2, 3]),
    ("linear", "mse", [1, 2]),
    ("linear", "mae", [1]),
    ("sigmoid", "mse", [1]),
]
X_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_]


@st.composite
def networks(draw) -> NeuralNet:
    n_features = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 5), max_size=2))
    out_activation, loss, outputs = draw(st.sampled_from(HEADS))
    sizes = [n_features, *hidden, draw(st.sampled_from(outputs))]
    activations = [draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in hidden] + [out_activation]
    return NeuralNet(
        tuple(zip(sizes[:-1], sizes[1:], strict=True)),
        activations=activations,
        loss=loss,
        seed=draw(st.integers(0, 2**16)),
        dtype=draw(st.sampled_from(["float32", "float64"])),
    )


def _values(dtype):
    if np.issubdtype(dtype, np.floating):
        return st.floats(-10, 10, width=16 if dtype == np.float16 else 64)
    return None  # hypothesis's full range for integers and booleans


def _spoil(draw, array: np.ndarray, specials) -> np.ndarray:
    """Now and then put one NaN, inf or huge value into an otherwise ordinary float array."""
    if array.size and np.issubdtype(array.dtype, np.floating) and draw(st.integers(0, 4)) == 0:
        array = array.copy()
        with np.errstate(over="ignore"):  # 1e300 in a float32 array is just inf
            array.flat[draw(st.integers(0, array.size - 1))] = draw(st.sampled_from(specials))
    return array


@st.composite
def inputs(draw, model: NeuralNet):
    """An ``X`` that is usually right for ``model`` and sometimes wrong in one way or another."""
    kind = draw(st.sampled_from(["array"] * 12 + ["list"] * 2 + ["strings", "object", "complex",
                                                               "scalar"]))
    n = draw(st.integers(0, 7) | st.integers(1, 7))
    width = draw(st.sampled_from([model.n_features] * 4 + [0, 1, 5]))
    shape = draw(st.sampled_from([(n, width)] * 5 + [(width,), (n, width, 1)]))
    if kind == "strings":
        return np.full(shape, "1.5")
    if kind == "object":
        return np.empty(shape, dtype=object)
    if kind == "complex":
        return np.zeros(shape, dtype=complex)
    if kind == "scalar":
        return draw(st.sampled_from([1.0, None, "X"]))
    dtype = draw(st.sampled_from(X_DTYPES))
    X = draw(hnp.arrays(dtype, shape, elements=_values(dtype)))
    X = _spoil(draw, X, [np.nan, np.inf, -np.inf, 6e4 if dtype == np.float16 else 1e300])
    return X.tolist() if kind == "list" else X


@st.composite
def targets(draw, model: NeuralNet, n_rows: int):
    n = draw(st.sampled_from([n_rows] * 4 + [max(n_rows - 1, 0), n_rows + 1]))
    k = model.n_outputs
    if model.loss_fn.name == "categorical_crossentropy":
        kind = draw(st.sampled_from(["labels", "labels", "onehot", "bad"]))
        if kind == "labels":
            return draw(hnp.arrays(np.int64, (n,), elements=st.integers(-1, k)))
        if kind == "onehot":
            return np.eye(k)[draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))]
    elif model.loss_fn.name == "binary_crossentropy":
        kind = draw(st.sampled_from(["labels", "labels", "bad"]))
        if kind == "labels":
            shape = (n,) if k == 1 and draw(st.booleans()) else (n, k)
            return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 2)))
    else:
        kind = "values"
    shape = draw(st.sampled_from([(n, k)] * 3 + [(n,), (n, k + 1)]))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    return _spoil(draw, y, [np.nan, np.inf, 1e200])


def _reference_forward(model: NeuralNet, X) -> np.ndarray:
    """The network's outputs by the definition ``a = f([x, 1] @ W)``, in float64."""
    a = np.asarray(X, dtype=model.dtype).astype(np.float64)
    a = a.reshape(1, -1) if a.ndim == 1 else a
    for layer, W in zip(model.layers.dense, model.get_weights(), strict=True):
        z = np.hstack([a, np.ones((len(a), 1))]) @ W.astype(np.float64)
        a = get_activation(layer.activation.get_config())(z)
    return a


def _documented(exc: BaseException) -> None:
    assert isinstance(exc, DOCUMENTED), f"undocumented {type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"


@FAST
@given(data=st.data())
def test_predict_and_forward_work_or_raise_a_documented_error(data):
    model = data.draw(networks())
    X = data.draw(inputs(model))
    batch_size = data.draw(st.sampled_from([1024, 1, 3, 0, -1, 2.0]))
    try:
        out = model.predict(X, batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        _documented(exc)
        return
    n = 1 if np.ndim(X) == 1 else len(X)
    assert out.shape == (n, model.n_outputs) and out.dtype == model.dtype
    assert np.isfinite(out).all()
    tol = 1e-4 if model.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(out, _reference_forward(model, X), rtol=tol, atol=tol)
    # One pass over the batch, or batch_size rows at a time: the same up to BLAS rounding.
    np.testing.assert_allclose(model.forward(X), out, rtol=tol, atol=tol)


@FAST
@given(data=st.data())
def test_loss_gradients_and_evaluate_work_or_raise_a_documented_error(data):
    model = data.draw(networks())
    X = data.draw(inputs(model))
    y = data.draw(targets(model, len(X) if np.ndim(X) >= 1 else 0))
    for name, call in [("loss", model.loss), ("gradients", model.gradients),
                       ("evaluate", model.evaluate)]:
        try:
            result = call(X, y)
        except Exception as exc:  # noqa: BLE001
            _documented(exc)
            continue
        if name == "loss":
            assert isinstance(result, float) and np.isfinite(result) and result >= 0
        elif name == "gradients":
            assert [g.shape for g in result] == [w.shape for w in model.get_weights()]
            assert all(np.isfinite(g).all() for g in result)
        else:
            assert np.isfinite(result["loss"]) and result["loss"] == pytest.approx(
                model.loss(X, y), rel=1e-4, abs=1e-6)


@FAST
@given(data=st.data())
# Huge learning rates on random data are meant to upset the per-epoch diagnostics.
@pytest.mark.filterwarnings("ignore::neuralnet.diagnostics.TrainingWarning")
def test_fit_works_or_raises_a_documented_error_and_never_leaves_nan_weights(data):
    model = data.draw(networks())
    X = data.draw(inputs(model))
    y = data.draw(targets(model, len(X) if np.ndim(X) >= 1 else 0))
    epochs = data.draw(st.sampled_from([1, 2, 2, 0, 1.5]))
    batch_size = data.draw(st.sampled_from([2, 4, 32, 0]))
    learning_rate = data.draw(st.sampled_from([0.1, 1.0, 1e6, 1e30]))
    optimizer = data.draw(st.sampled_from(["sgd", "adam", "rmsprop", "adagrad", "nadam"]))
    before = model.get_weights()
    try:
        history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0,
                            learning_rate=learning_rate, optimizer=optimizer)
    except Exception as exc:  # noqa: BLE001
        _documented(exc)
        if not isinstance(exc, RuntimeError):  # a refused argument trains nothing
            for w0, w1 in zip(before, model.get_weights(), strict=True):
                np.testing.assert_array_equal(w0, w1)
    else:
        assert len(history.history["loss"]) == epochs
        assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())
