"""The numba engine (``neuralnet._kernels``) gives NumPy's answers, and "auto" loads it only when it pays.

The NumPy code is the reference: each kernel does the same float operations in the same order,
so the tests hold the two engines to the same bits where that is what the kernel promises, and
to float rounding after training (Adam's kernel stores first moments below the smallest normal
number as 0; see ``_kernels.adam``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba  # noqa: F401  (the fast extra, part of the dev install: these tests need it)
import numpy as np
import pytest

import neuralnet
from neuralnet import Adam, AdamW, NeuralNet, _engine, _fastpath

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine():
    """Run a test under a chosen engine, then restore the one the suite runs under."""
    before = _engine._state["engine"]

    def use(name):
        neuralnet.set_engine(name)

    yield use
    _engine._state["engine"] = before


def _mnist_like(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 64), dtype=np.float32), rng.integers(0, 10, n)


def _train(engine, name, X, y, **kwargs):
    engine(name)
    net = NeuralNet(((64, 96), (96, 48), (48, 10)), activations=["relu", "relu", "softmax"],
                    seed=3, dtype=kwargs.pop("dtype", "float32"))
    history = net.fit(X, y, verbose=0, **kwargs)
    return net, history


def test_set_engine_and_get_engine(engine):
    engine("numpy")
    assert neuralnet.get_engine() == "numpy" and _engine.kernels(size=10**9) is None
    engine("numba")
    assert neuralnet.get_engine() == "numba" and _engine.kernels(size=1) is not None
    with pytest.raises(ValueError, match=r"invalid engine, expected one of 'auto', 'numpy', "
                                         r"'numba'. Received: 'cuda'"):
        neuralnet.set_engine("cuda")
    assert neuralnet.get_engine() == "numba"  # a refused name changes nothing


def test_numba_engine_without_numba_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_engine, "_state", {"engine": None, "kernels": None})
    monkeypatch.setattr(_engine, "_available", lambda: False)
    with pytest.raises(ImportError, match=r'needs numba; install it with: pip install '
                                          r'"neuralnet\[fast\]"'):
        neuralnet.set_engine("numba")
    # "auto" without numba is NumPy, whatever the work.
    neuralnet.set_engine("auto")
    assert _engine.kernels(size=10**9, work=10**12) is None


def test_a_bad_environment_variable_is_named(monkeypatch):
    monkeypatch.setattr(_engine, "_state", {"engine": None, "kernels": None})
    monkeypatch.setenv("NEURALNET_ENGINE", "fastest")
    with pytest.raises(ValueError, match=r"NEURALNET_ENGINE is 'fastest'; expected one of "
                                         r"'auto', 'numpy', 'numba'"):
        neuralnet.get_engine()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [
    Adam(1e-2), Adam(1e-2, weight_decay=0.1), Adam(1e-2, epsilon_hat=True), AdamW(1e-2, weight_decay=0.1),
], ids=["adam", "l2", "epsilon_hat", "adamw"])
def test_adam_kernel_steps_equal_numpy_to_the_bit(engine, dtype, optimizer):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(300, 40)).astype(dtype)
    grads = [rng.normal(size=start.shape).astype(dtype) for _ in range(5)]
    results = []
    for name in ("numpy", "numba"):
        engine(name)
        opt = type(optimizer)(**{k: v for k, v in optimizer.get_config().items() if k != "name"})
        p = start.copy()
        for g in grads:
            opt.step([p], [g])
        results.append((p, opt.state[id(p)]["m_sum"], opt.state[id(p)]["v_sum"]))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


TINY = np.finfo(np.float32).tiny  # float32's smallest normal number


def _adam_on_zero_gradients(n: int):
    """Weights of 1, gradients of 0 and an Adam that has made its first step (its moments)."""
    p, g, opt = np.ones(n, np.float32), np.zeros(n, np.float32), Adam(1e-3)
    opt.step([p], [g])
    return p, g, opt, opt.state[id(p)]


def test_adam_kernel_flushes_subnormal_first_moments_only(engine):
    engine("numba")
    tiny = TINY
    p, g, opt, state = _adam_on_zero_gradients(4)
    state["m_sum"][:] = [tiny * 1.05, -tiny * 1.05, 1e-3, np.nan]
    state["v_sum"][:] = 1.0
    opt.step([p], [g])
    m = state["m_sum"]
    # 0.9 * 1.05 tiny is subnormal: stored as 0 (its step would be ~1e-41 of the weight).
    assert m[0] == 0 and m[1] == 0
    assert m[2] == np.float32(0.9) * np.float32(1e-3)
    assert np.isnan(m[3]) and np.isnan(p[3])  # NaN still spreads, as in NumPy
    np.testing.assert_array_equal(p[:2], [1.0, 1.0])


def test_numpy_adam_flushes_subnormal_moments_every_16_steps(engine):
    from neuralnet import optimizers

    engine("numpy")
    tiny = TINY
    p, g, opt, state = _adam_on_zero_gradients(3)
    state["m_sum"][:] = [tiny / 4, 1e-3, 0.0]  # already subnormal, normal, zero
    state["v_sum"][:] = [tiny / 4, 1.0, 0.0]
    while state["step"] < optimizers._FLUSH_EVERY - 1:
        opt.step([p], [g])
    assert 0 < state["m_sum"][0] < tiny and 0 < state["v_sum"][0] < tiny  # not yet
    opt.step([p], [g])  # step 16
    assert state["m_sum"][0] == 0 and state["v_sum"][0] == 0
    assert state["m_sum"][1] > tiny and state["v_sum"][1] > 0.98  # normal values are kept
    np.testing.assert_array_equal(p[[0, 2]], [1.0, 1.0])


def test_relu_kernels_keep_numpys_nan_and_signed_zeros(engine):
    from neuralnet import _kernels

    z = np.array([[-1.0, -0.0, 0.0, 2.0, np.nan, -np.inf, np.inf]], np.float32)
    b = np.zeros(7, np.float32)
    a = np.empty_like(z)
    _kernels.bias_relu_rows(z.copy(), b, a)
    expected = np.maximum(z + b, 0)
    np.testing.assert_array_equal(a, expected)
    assert np.signbit(a).tolist() == np.signbit(expected).tolist()
    grad = np.array([[1.0, 2.0, np.inf, -3.0, 4.0, np.nan, 5.0]], np.float32)
    with np.errstate(invalid="ignore"):
        ref = grad * (a > 0)
    _kernels.relu_grad(grad, a)
    np.testing.assert_array_equal(grad, ref)
    aT = np.empty_like(z.T)
    _kernels.bias_relu_cols(z.T.copy(), b, aT)
    np.testing.assert_array_equal(aT, expected.T)


@pytest.mark.parametrize("feature_major", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_step_with_the_kernels_equals_numpy_on_one_batch(engine, feature_major, dtype):
    X, y = _mnist_like(40)
    X = X.astype(dtype)
    out = []
    for name in ("numpy", "numba"):
        engine(name)
        net = NeuralNet(((64, 9), (9, 7), (7, 10)), activations=["relu", "relu", "softmax"],
                        seed=1, dtype=dtype)
        step = _fastpath.FusedStep(net, 40, feature_major=feature_major)
        assert (step.kernels is None) == (name == "numpy")
        loss = step(X, np.eye(10, dtype=dtype)[y])
        out.append((loss, net.flat_grad.copy(), [l.outputs.copy() for l in net.layers]))
    assert out[0][0] == out[1][0]
    np.testing.assert_array_equal(out[0][1], out[1][1])
    for a, b in zip(out[0][2], out[1][2], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_with_the_kernels_equals_numpy(engine, dtype):
    X, y = _mnist_like()
    kwargs = dict(epochs=4, batch_size=32, optimizer="adam", learning_rate=3e-3, metrics=["accuracy"],
                  dtype=dtype)
    a, ha = _train(engine, "numpy", X, y, **kwargs)
    b, hb = _train(engine, "numba", X, y, **kwargs)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(b.flat_weights, a.flat_weights, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(hb.history["loss"], ha.history["loss"], rtol=rtol)
    assert hb.history["accuracy"] == ha.history["accuracy"]
    engine("numba")
    big = X[np.arange(2048) % len(X)]  # predict's large-batch path runs the ReLU kernel
    np.testing.assert_allclose(b.predict(big), a.predict(big), rtol=rtol, atol=1e-7)


def test_predict_with_the_kernels_equals_numpy_to_the_bit(engine):
    X, y = _mnist_like(2000)
    engine("numpy")
    net = NeuralNet(((64, 96), (96, 48), (48, 10)), activations=["relu", "relu", "softmax"], seed=0)
    expected = net.predict(X, batch_size=500)
    engine("numba")
    np.testing.assert_array_equal(net.predict(X, batch_size=500), expected)
    bad = X.copy()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.predict(bad)


def _fresh(code: str, engine: str = "auto") -> str:
    env = {**os.environ, "NEURALNET_ENGINE": engine, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True, cwd=ROOT).stdout.strip()


def test_auto_leaves_numba_unloaded_for_a_small_fit_and_loads_it_for_a_large_one(monkeypatch):
    code = """
import sys, numpy as np
from neuralnet import NeuralNet, _engine
X = np.random.default_rng(0).random((256, 8), dtype=np.float32); y = (X[:, 0] > 0.5) * 1
net = NeuralNet(((8, 16), (16, 1)), activations=["relu", "sigmoid"], seed=0)
net.fit(X, y, epochs=3, batch_size=32, optimizer="adam", verbose=0)
print("numba" in sys.modules, end=" ")
_engine.AUTO_WORK = 1000  # a fit this large repays loading numba: 8 batches x 3 epochs x 161
net.fit(X, y, epochs=3, batch_size=32, optimizer="adam", verbose=0)
print("numba" in sys.modules, _engine.get_engine())
"""
    assert _fresh(code) == "False True auto"
    assert _fresh(code.replace("AUTO_WORK = 1000", "AUTO_WORK = 10**12")) == "False False auto"
    assert _fresh("import sys, neuralnet; print('numba' in sys.modules)", "numba") == "False"
