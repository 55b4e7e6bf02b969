"""Compiled kernels (numba) for the element-wise work: the ``numba`` engine (``_engine``).

Each kernel is one loop over memory doing what its NumPy twin does in several passes, with the
same float operations in the same order, in the arrays' own dtype (the scalars are passed in
that dtype too), so the results are NumPy's to the bit: IEEE addition, multiplication,
division and square root are correctly rounded whichever loop computes them, and nothing here
asks for fast-math reassociation. ``error_model="numpy"`` lets a division by zero give inf
as NumPy's does (instead of raising), which also lets LLVM vectorise the loops.

The twins:

- ``adam``: ``optimizers.Adam._update`` (m_sum, v_sum and the step, ten NumPy passes).
- ``bias_relu_rows`` / ``bias_relu_cols``: ``z += b`` then ``a = np.maximum(z, 0)``, for a
  (rows, units) array and for a (units, rows) one (feature-major, ``_fastpath.FusedStep``).
- ``relu_grad``: ``grad *= a > 0`` (``activations.ReLU.backward``).

Every kernel runs on one core and releases the GIL (``nogil``), so threads that predict at
once run them side by side. ``cache=True`` keeps the machine code beside this file (or in
numba's user cache directory when that is not writable), so only the first process compiles.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["adam", "bias_relu_rows", "bias_relu_cols", "relu_grad"]

_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def adam(p, g, m_sum, v_sum, beta_1, beta_2, eps_sum, step_size, tiny):  # pragma: no cover
    """One Adam step on 1-D arrays, in place: as ``Adam._update`` (``epsilon_hat`` folded in).

    m_sum <- beta_1 m_sum + g;  v_sum <- beta_2 v_sum + g^2;
    p <- p - (m_sum / (sqrt(v_sum) + eps_sum)) step_size

    One difference: a moment below ``tiny`` (the dtype's smallest normal number, 1.2e-38 in
    float32) is stored as 0 at once, where the NumPy step does so every 16 steps
    (``optimizers._FLUSH_EVERY``, which says why: subnormal numbers are slow here).
    """
    for i in range(p.size):
        gi = g[i]
        m = beta_1 * m_sum[i] + gi
        if abs(m) < tiny:
            m -= m  # 0 in the dtype (0.0 would make m a float64)
        v = beta_2 * v_sum[i] + gi * gi
        if v < tiny:
            v -= v
        m_sum[i] = m
        v_sum[i] = v
        p[i] -= (m / (math.sqrt(v) + eps_sum)) * step_size


@_jit
def bias_relu_rows(z, b, a):  # pragma: no cover - compiled
    """``z += b`` (b along each row's units) and ``a = max(z, 0)``, NaN kept, for (rows, units)."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            zz = z[i, j] + b[j]
            z[i, j] = zz
            a[i, j] = 0.0 if zz < 0 else zz


@_jit
def bias_relu_cols(zT, b, aT):  # pragma: no cover - compiled
    """``bias_relu_rows`` for a feature-major (units, rows) array: b along the first axis."""
    for j in range(zT.shape[0]):
        bj = b[j]
        for i in range(zT.shape[1]):
            zz = zT[j, i] + bj
            zT[j, i] = zz
            aT[j, i] = 0.0 if zz < 0 else zz


@_jit
def relu_grad(grad, a):  # pragma: no cover - compiled
    """``grad *= a > 0`` in place: times 0 where the unit was off (so NaN and inf stay NaN)."""
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            if not a[i, j] > 0:
                grad[i, j] = grad[i, j] * 0.0
