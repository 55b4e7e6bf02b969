"""The fast paths give the same answers as the straightforward computation.

``fit`` runs ``_fastpath.FusedStep`` for every batch of a plain dense network; the reference is
``NeuralNet._reference_step`` (the generic ``_forward``, ``_loss_value`` and ``_backward``).
``predict`` answers a ready float array without its per-call scans. Buffers are reused between
calls, so nothing returned to a user may alias them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from neuralnet import Adam, Dropout, FullyConnectedLayer, NeuralNet, _engine, _fastpath
from neuralnet.activations import Sigmoid, Softmax

rng = np.random.default_rng(0)
X = rng.normal(size=(53, 4)).astype(np.float32)  # 53 = 3 batches of 16 and a short one of 5
Y_BINARY = (X[:, 0] + X[:, 1] > 0).astype(float)
Y_LABELS = rng.integers(0, 3, size=53)
Y_REAL = X @ rng.normal(size=(4, 2))

CASES = {
    "sigmoid+bce": (((4, 5), (5, 1)), ["tanh", "sigmoid"], "binary_crossentropy", Y_BINARY),
    "softmax+ce": (((4, 6), (6, 5), (5, 3)), ["relu", "sigmoid", "softmax"],
                   "categorical_crossentropy", Y_LABELS),
    "linear+mse": (((4, 3), (3, 2)), ["leaky_relu", "linear"], "mse", Y_REAL),
    "one layer": (((4, 1),), "sigmoid", "binary_crossentropy", Y_BINARY),
    # A row-wise activation below the output: the step must apply it along each sample.
    "hidden softmax": (((4, 5), (5, 3)), ["softmax", "softmax"], "categorical_crossentropy",
                       Y_LABELS),
}


def make(case, **kwargs):
    shapes, activations, loss, y = CASES[case]
    return NeuralNet(shapes, activations=activations, loss=loss, seed=1, **kwargs), y


def fit_both(case, monkeypatch, fit_kwargs, net_kwargs=None):
    """Train twin networks, one through FusedStep and one through the reference step."""
    fast, y = make(case, **(net_kwargs or {}))
    reference, _ = make(case, **(net_kwargs or {}))
    assert _fastpath.supports(fast, None)
    h_fast = fast.fit(X, y, verbose=0, **fit_kwargs)
    with monkeypatch.context() as m:
        m.setattr(_fastpath, "supports", lambda net, sample_weight: False)
        h_ref = reference.fit(X, y, verbose=0, **fit_kwargs)
    return fast, reference, h_fast, h_ref


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fused_step_trains_to_the_same_weights_as_the_reference_step(case, optimizer, monkeypatch):
    fast, reference, h_fast, h_ref = fit_both(
        case, monkeypatch, dict(epochs=4, batch_size=16, optimizer=optimizer)
    )
    for w_fast, w_ref in zip(fast.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(w_fast, w_ref, rtol=1e-5, atol=1e-6)
    # The loss is summed differently (from the forward pass's own quantities), not recomputed.
    np.testing.assert_allclose(h_fast.history["loss"], h_ref.history["loss"], rtol=1e-5)


def test_fused_step_with_l2_and_a_full_batch_in_a_fixed_order(monkeypatch):
    fast, reference, h_fast, h_ref = fit_both(
        "softmax+ce", monkeypatch, dict(epochs=5, batch_size=100, shuffle=False, optimizer="adam"),
        net_kwargs=dict(l2=0.01),
    )
    for w_fast, w_ref in zip(fast.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(w_fast, w_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_fast.history["loss"], h_ref.history["loss"], rtol=1e-5)


@pytest.mark.parametrize("feature_major", [True, False], ids=["feature-major", "batch-major"])
@pytest.mark.parametrize("case", list(CASES))
def test_fused_step_gradient_and_loss_equal_the_reference_on_one_batch(case, feature_major):
    net, y = make(case)
    targets = net._check_y(y, len(X))
    loss_ref = net.reference_step(X, targets)
    grad_ref = net._flat_grad.copy()
    net._flat_grad[...] = np.nan
    step = _fastpath.FusedStep(net, len(X), feature_major=feature_major)
    assert step.feature_major is feature_major
    loss_fast = step(X, targets)
    np.testing.assert_allclose(net._flat_grad, grad_ref, rtol=1e-6, atol=1e-7)
    assert loss_fast == pytest.approx(loss_ref, rel=1e-6)
    # The layers record the batch as forward() does, for callbacks that look at them.
    assert net.layers[0].inputs is X
    np.testing.assert_allclose(net.layers[-1].outputs, net.predict(X), rtol=1e-6)
    # A short last batch uses the leading columns of the same buffers.
    loss_ref = net.reference_step(X[:7], targets[:7])
    grad_ref = net._flat_grad.copy()
    assert step(X[:7], targets[:7]) == pytest.approx(loss_ref, rel=1e-6)
    np.testing.assert_allclose(net._flat_grad, grad_ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("shapes", "batch_size", "expected"),
    [(((2, 3), (3, 1)), 1000, True), (((784, 256), (256, 10)), 128, False),
     (((64, 64), (64, 10)), 256, True), (((64, 64), (64, 10)), 255, False)],
)
def test_feature_major_buffers_when_the_batch_is_four_times_the_widest_layer(
    shapes, batch_size, expected
):
    net = NeuralNet(shapes, activations="sigmoid", loss="binary_crossentropy", seed=0)
    step = _fastpath.FusedStep(net, batch_size)
    assert step.feature_major is expected
    z = step._buffers[0][0]
    assert z.shape == (shapes[0][1], batch_size)
    assert z.flags.c_contiguous is expected and z.flags.f_contiguous is not expected


def test_fused_step_stops_before_back_propagating_a_non_finite_loss():
    net, y = make("linear+mse")
    net.layers[-1].weights[0, 0] = np.float32(3e38)  # the output overflows to inf
    net._flat_grad[...] = 7.0
    with np.errstate(over="ignore", invalid="ignore"):
        loss = _fastpath.FusedStep(net, len(X))(X * 1e3, net._check_y(y, len(X)))
    assert not np.isfinite(loss)
    assert (net._flat_grad == 7.0).all()  # untouched


def test_networks_outside_the_fused_case_take_the_reference_step():
    net, _ = make("sigmoid+bce")
    assert not _fastpath.supports(net, np.ones(len(X)))  # sample weights
    with_dropout = NeuralNet(
        [FullyConnectedLayer(4, 5, "relu"), Dropout(0.2), FullyConnectedLayer(5, 1)], seed=0
    )
    assert not _fastpath.supports(with_dropout, None)
    unfused = NeuralNet(((4, 2),), activations="sigmoid", loss="mse", seed=0)
    assert not _fastpath.supports(unfused, None)
    assert unfused._train_step_for(8, None) == unfused.reference_step


def test_predict_results_do_not_alias_the_reused_buffers():
    net, _ = make("softmax+ce")
    first = net.predict(X[:7])
    kept = first.copy()
    second = net.predict(X[7:14])  # same batch size: the layers reuse their buffers
    one = net.predict(X[:1])
    one_kept = one.copy()
    net.predict(X[:1] + 1)  # one row: the small-batch path reuses its own buffers
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(one, one_kept)
    # One row goes through [x, 1] @ W, seven through x @ W[:-1] + W[-1]: equal up to rounding.
    np.testing.assert_allclose(one, kept[:1], rtol=1e-6)
    assert not np.shares_memory(one, net.layers[-1].outputs)


def test_predict_plain_path_equals_the_checked_path():
    net, _ = make("softmax+ce")
    plain = net.predict(X, batch_size=10)
    checked = net.predict(X.astype(np.float64).tolist(), batch_size=10)  # a list: checked path
    np.testing.assert_array_equal(plain, checked)
    assert net._predictor.predict(net, X, 10) is not None
    assert net._predictor.predict(net, X.tolist(), 10) is None
    assert net._predictor.predict(net, np.asfortranarray(X), 10) is None


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("rows", [1, 2, 16, 17])
def test_predict_of_a_few_rows_absorbs_the_bias_and_equals_the_layer_by_layer_pass(case, rows):
    """Up to 16 rows go through [x, 1] @ W buffers; their outputs are the forward pass's."""
    net, _ = make(case)
    expected = net._forward(X[:rows]).copy()  # layer by layer, the bias added
    got = net.predict(X[:rows])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert (rows in getattr(net._predictor._local, "plans", {})) is (rows <= 16)
    # The buffers follow the weights: in-place changes and a rebuilt flat buffer alike.
    net.layers[0].weights[-1] += 0.5
    np.testing.assert_allclose(net.predict(X[:rows]), net._forward(X[:rows]), rtol=1e-6, atol=1e-7)
    net._bind_parameters()
    assert getattr(net._predictor._local, "plans", {}) == {}
    np.testing.assert_allclose(net.predict(X[:rows]), net._forward(X[:rows]), rtol=1e-6, atol=1e-7)
    first = net.predict(X[:rows])
    second = net.predict(X[rows : 2 * rows])
    assert not np.shares_memory(first, second)


def test_one_row_softmax_equals_the_batch_softmax_exactly():
    z = rng.normal(size=(5, 10)).astype(np.float32) * 30
    batch = Softmax().forward(z)
    for i in range(5):
        np.testing.assert_array_equal(Softmax().forward(z[i : i + 1]), batch[i : i + 1])


def test_predict_plain_path_still_refuses_infinite_inputs_even_when_relu_hides_them():
    net = NeuralNet(((2, 3), (3, 1)), activations=["relu", "sigmoid"], seed=0)
    net.layers[0].weights[0] = -1.0  # +inf in feature 0 drives every unit to -inf, then 0
    X_inf = np.array([[np.inf, 0.0]], dtype=np.float32)
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\)"):
        net.predict(X_inf)


@pytest.mark.parametrize("rows", [1, 3, 16, 40])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_plain_path_refuses_a_non_finite_value_in_any_row_and_column(rows, bad):
    """The fast path reads x's finiteness from the first product's first column: every place."""
    net, _ = make("softmax+ce")
    for i, j in [(0, 0), (rows - 1, X.shape[1] - 1), (rows // 2, 1)]:
        X_bad = X[:rows].copy()
        X_bad[i, j] = bad
        with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\)"):
            net.predict(X_bad)
    np.testing.assert_allclose(net.predict(X[:rows]), net._forward(X[:rows]), rtol=1e-6)


@pytest.mark.parametrize("rows", [1, 3, 40])
def test_predict_overflowing_inputs_give_the_checked_answer_without_a_warning(rows):
    """A product beyond float32 runs with overflow warnings off, and the checked path answers."""
    net = NeuralNet(((4, 3), (3, 2)), activations=["relu", "softmax"], seed=0)
    X_big = np.zeros((rows, 4), dtype=np.float32)
    X_big[-1, 2] = 3e38  # finite, but its products are not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = net.predict(X_big)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = net._forward(X_big).copy()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("rows", [1, 3, None])
def test_predict_plain_path_falls_back_to_the_weight_check_on_nan_weights(rows):
    net, _ = make("softmax+ce")
    net.layers[1].weights[2, 1] = np.nan
    with pytest.raises(RuntimeError, match=r"weights hold 1 NaN or infinite value\(s\)"):
        net.predict(X[:rows])


def test_adam_scratch_is_neither_state_nor_config():
    p = np.ones(5, dtype=np.float32)
    opt = Adam()
    opt.step([p], [np.full(5, 0.5, dtype=np.float32)])
    assert set(opt.state[id(p)]) == {"shape", "step", "m_sum", "v_sum"}
    assert "_scratch" not in opt.get_config()
    assert Adam(**{k: v for k, v in opt.get_config().items() if k != "name"}).get_config() == (
        opt.get_config()
    )
    # First Adam step moves every weight by lr (bias-corrected m / sqrt(v) = sign(g)).
    np.testing.assert_allclose(p, 1 - 1e-3, rtol=1e-6)


def test_sigmoid_is_exact_and_silent_at_the_extremes():
    z = np.array([-1000.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = Sigmoid().forward(z)
        a32 = Sigmoid().forward(z.astype(np.float32))
    np.testing.assert_allclose(a[1:-1], 1 / (1 + np.exp(-z[1:-1])), rtol=1e-15)
    assert a[0] == 0.0 and a[-1] == 1.0
    np.testing.assert_allclose(a32, a.astype(np.float32), rtol=1e-6, atol=1e-44)
    inplace = z.copy()
    assert Sigmoid().forward(inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, a)


def test_import_neuralnet_imports_numpy_only():
    code = (
        "import sys, neuralnet\n"
        "heavy = ['numpy.random', 'json', 'hashlib', 'zipfile', 'tempfile', 'sklearn', "
        "'matplotlib', 'tqdm', 'torch', 'distributed']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print(neuralnet.load is neuralnet.io.load)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout, not an installed copy
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize("bias", [-200.0, 200.0, 0.0])
def test_fused_sigmoid_loss_holds_when_exp_overflows(bias):
    """Outputs far below -88 overflow exp(-z): the step falls back to the overflow-free form."""
    net = NeuralNet(((4, 3), (3, 1)), activations="sigmoid", seed=2)
    net.layers[-1].weights[-1] = bias
    net.layers[0].weights[-1] = -150.0  # the hidden sigmoid, too, far past exp's range
    targets = net._check_y(Y_BINARY, len(X))
    with np.errstate(over="ignore", invalid="ignore"):
        loss_ref = net.reference_step(X, targets)
        grad_ref = net._flat_grad.copy()
        loss_fast = _fastpath.FusedStep(net, len(X))(X, targets)
    assert np.isfinite(loss_fast)
    assert loss_fast == pytest.approx(loss_ref, rel=1e-6)
    np.testing.assert_allclose(net._flat_grad, grad_ref, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ aligned arrays (_memory)
def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("shape", [1, 7, 235_146, (3, 5), (128, 785), (0,), (2, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_memory_arrays_start_on_a_cache_line_with_the_shape_and_dtype_asked(shape, dtype):
    from neuralnet import _memory

    for make in (_memory.empty, _memory.zeros):
        a = make(shape, dtype)
        assert a.shape == ((shape,) if isinstance(shape, int) else shape)
        assert a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        if a.size:
            assert _address(a) % _memory.ALIGNMENT == 0
    assert not _memory.zeros(shape, dtype).any()
    like = _memory.zeros_like(np.ones(shape, dtype))
    assert like.shape == np.ones(shape).shape and like.dtype == dtype and not like.any()
    source = np.arange(like.size, dtype=dtype).reshape(like.shape)
    source.flags.writeable = False
    copied = _memory.copy(source)
    np.testing.assert_array_equal(copied, source)
    assert copied.flags.writeable and (not copied.size or _address(copied) % 64 == 0)


def test_memory_object_arrays_are_plain_numpy_arrays():
    from neuralnet import _memory

    a = _memory.empty((2, 3), object)
    assert a.shape == (2, 3) and a.dtype == object


def test_memory_1d_array_is_the_base_of_its_views_and_owns_separate_memory():
    from neuralnet import _memory

    a, b = _memory.empty(100, np.float32), _memory.empty(100, np.float32)
    view = a[10:20].reshape(2, 5)
    assert view.base is a  # what _fastpath._plain_dense and the sklearn estimators rely on
    a[:] = 1.0
    b[:] = 2.0
    assert (a == 1.0).all() and not np.shares_memory(a, b)


def test_what_training_sweeps_every_batch_is_cache_line_aligned():
    # Adam on misaligned arrays measured 10-30% slower (_memory's docstring): the flat weights,
    # the gradients, the optimizer's moments and work array, the batch and the step's buffers.
    from neuralnet import _memory
    from neuralnet.training import BatchIterator

    net = NeuralNet(((4, 8), (8, 3)), activations=["relu", "softmax"],
                    loss="categorical_crossentropy", seed=0)
    optimizer = Adam()
    net.fit(X, Y_LABELS, epochs=1, batch_size=16, optimizer=optimizer, verbose=0)
    state = optimizer.state[id(net.flat_weights)]
    arrays = [net.flat_weights, net.flat_grad, state["m_sum"], state["v_sum"]]
    if _engine.kernels(size=net.flat_weights.size) is None:  # NumPy's Adam ran: its work array
        arrays.append(optimizer._scratch[id(net.flat_weights)])
    step = _fastpath.FusedStep(net, 16)
    arrays += [buffer for layer in step._buffers for buffer in layer]
    batches = BatchIterator(X, np.eye(3)[Y_LABELS], None, 16, True, np.random.default_rng(0))
    arrays += [batches._xb, batches._yb]
    assert all(_address(a) % _memory.ALIGNMENT == 0 for a in arrays)
    assert all(layer.weights.base is net.flat_weights for layer in net.layers)


def test_a_loaded_model_trains_on_aligned_weights_and_moments(tmp_path):
    from neuralnet import _memory, load

    net = NeuralNet(((4, 8), (8, 3)), activations=["relu", "softmax"],
                    loss="categorical_crossentropy", seed=0)
    net.fit(X, Y_LABELS, epochs=1, batch_size=16, optimizer="adam", verbose=0)
    net.save(tmp_path / "net.npz")
    loaded = load(tmp_path / "net.npz")
    state = loaded.optimizer.state[id(loaded.flat_weights)]
    np.testing.assert_array_equal(state["m_sum"], net.optimizer.state[id(net.flat_weights)]["m_sum"])
    for a in (loaded.flat_weights, loaded.flat_grad, state["m_sum"], state["v_sum"]):
        assert _address(a) % _memory.ALIGNMENT == 0 and a.flags.writeable
