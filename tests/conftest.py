"""Shared test helpers: finite differences and a float64 gradient comparison."""

from __future__ import annotations

import os

# scikit-learn's estimator checks include array-API input; SciPy reads this once, at import,
# so it is set here, before any test module imports scikit-learn (otherwise that check skips).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest


def numerical_gradients(model, X, y, epsilon: float = 1e-6, **loss_kwargs) -> list[np.ndarray]:
    """Central differences ``(L(W + e) - L(W - e)) / 2e`` of ``model.loss`` for every weight."""
    weights = model.get_weights()
    grads = []
    for w in weights:
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            original = w[idx]
            w[idx] = original + epsilon
            model.set_weights(weights)
            plus = model.loss(X, y, **loss_kwargs)
            w[idx] = original - epsilon
            model.set_weights(weights)
            minus = model.loss(X, y, **loss_kwargs)
            w[idx] = original
            g[idx] = (plus - minus) / (2 * epsilon)
        grads.append(g)
    model.set_weights(weights)
    return grads


def numerical_gradient(f, z: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function ``f`` at ``z``, one entry at a time."""
    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += epsilon
        zm[idx] -= epsilon
        grad[idx] = (f(zp) - f(zm)) / (2 * epsilon)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(|a|, |b|)`` over the whole array: the scale-aware error of a gradient."""
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-12)
    return float(np.abs(a - b).max() / scale)


def table_feeds(table, proto):
    """A table's feeds for a table model's ONNX graph: one [N, 1] input per raw column, float
    (NaN missing) or string ("" missing)."""
    feeds = {}
    for value in proto.graph.input:
        column = table[value.name]
        if value.type.tensor_type.elem_type == 8:  # STRING
            feeds[value.name] = np.array([["" if v is None or v != v else str(v)]
                                          for v in column.tolist()], dtype=object)
        else:
            feeds[value.name] = column.to_numpy(dtype=np.float32, na_value=np.nan)[:, None]
    return feeds


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
