"""scipy.sparse input for ``fit``, ``predict`` and ``evaluate``: kept sparse, densified batch by batch.

``NeuralNet._check_X(X, sparse_ok=True)`` turns a scipy.sparse ``X`` into ``CSRRows``: CSR (fast
row gathering), of the network's dtype, with finite entries. The batch loops then densify only
the rows of the batch at hand (``X[idx].toarray(out=buffer)``), never the whole matrix. This
module imports scipy, so only code that has received a sparse matrix imports it.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from neuralnet._validation import all_finite


class CSRRows(sparse.csr_array):
    """A CSR array whose ``len`` is its number of rows, as for a dense ``(n_samples, n_features)`` X.

    scipy leaves ``len`` of a sparse array undefined; the training and prediction loops count
    samples with ``len(X)``, so this one subclass lets a sparse ``X`` flow through them unchanged.
    """

    def __len__(self) -> int:
        return self.shape[0]


def as_csr_rows(X, name: str, dtype: np.dtype) -> CSRRows:
    """Return the scipy.sparse ``X`` as ``CSRRows`` of ``dtype``, sharing its arrays where it can."""
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix; received shape {X.shape}.")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); expected at least one sample.")
    X = X.tocsr()
    if X.dtype != dtype:
        X = X.astype(dtype)
    if not all_finite(X.data):
        bad = int(X.data.size - np.count_nonzero(np.isfinite(X.data)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected finite numbers.")
    if isinstance(X, CSRRows):
        return X
    return CSRRows((X.data, X.indices, X.indptr), shape=X.shape)
