"""scipy.sparse X in ``NeuralNet.fit``, ``predict`` and ``evaluate``: kept sparse, one batch densified at a time."""

import numpy as np
import pytest
import scipy.sparse as sp

from neuralnet import NeuralNet
from neuralnet._sparse import CSRRows


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random(X.shape) < 0.7] = 0.0
    return X, (X[:, 0] - X[:, 1] > 0).astype(float)


def net():
    return NeuralNet(((6, 8), (8, 1)), activations=["relu", "sigmoid"], seed=0, dtype="float64")


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.coo_array])
def test_sparse_training_and_prediction_equal_dense(container):
    X, y = data()
    dense, sparse = net(), net()
    h_dense = dense.fit(X, y, epochs=3, batch_size=16, verbose=0, validation_data=(X[:40], y[:40]))
    h_sparse = sparse.fit(container(X), y, epochs=3, batch_size=16, verbose=0,
                          validation_data=(container(X[:40]), y[:40]))
    np.testing.assert_allclose(h_sparse.history["loss"], h_dense.history["loss"], rtol=1e-12)
    np.testing.assert_allclose(h_sparse.history["val_loss"], h_dense.history["val_loss"],
                               rtol=1e-12)
    np.testing.assert_allclose(sparse.predict(container(X), batch_size=7), dense.predict(X))
    assert sparse.evaluate(container(X), y) == pytest.approx(dense.evaluate(X, y))


def test_validation_split_and_sample_weights_with_sparse_input():
    X, y = data()
    w = np.linspace(0.5, 1.5, len(X))
    dense, sparse = net(), net()
    a = dense.fit(X, y, epochs=2, verbose=0, validation_split=0.25, sample_weight=w)
    b = sparse.fit(sp.csr_matrix(X), y, epochs=2, verbose=0, validation_split=0.25,
                   sample_weight=w)
    np.testing.assert_allclose(b.history["val_loss"], a.history["val_loss"], rtol=1e-12)


def test_csr_rows_count_rows_and_keep_the_arrays():
    X = sp.csr_array(np.eye(4))
    from neuralnet._sparse import as_csr_rows

    rows = as_csr_rows(X, "X", np.dtype(np.float64))
    assert isinstance(rows, CSRRows) and len(rows) == 4 and len(rows[[0, 2]]) == 2
    assert np.shares_memory(rows.data, X.data)
    assert as_csr_rows(rows, "X", np.dtype(np.float64)) is rows


def test_bad_sparse_input():
    model = net()
    X, y = data(20)
    bad = sp.csr_matrix(X)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\)"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="X has 5 features, but the network's first layer expects 6"):
        model.predict(sp.csr_matrix(X[:, :5]))
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 6\)\)"):
        model.predict(sp.csr_matrix((0, 6)))
    # The full-batch methods take dense arrays only: a sparse X is a type error, not densified.
    with pytest.raises(TypeError, match="X must be a numeric array; received csr_matrix"):
        model.loss(sp.csr_matrix(X), y)
