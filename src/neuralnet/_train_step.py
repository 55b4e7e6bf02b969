"""The training step ``fit`` runs for every batch: forward, loss and back-propagation in one call.

``NeuralNet._forward``, ``_loss_value`` and ``_backward`` are the readable reference: they go
through the generic layer and loss interfaces, which check their arguments and allocate their
results. On a small network (the article's 2-3-1, or 64-64-10 on digits) that per-call work,
not the arithmetic, is what a batch costs, so for the common case ``fit`` uses ``FusedStep``:

- every array a batch needs (pre-activations, deltas, input gradients) is allocated once, at
  the batch size, and the last short batch uses the leading rows of the same arrays;
- each layer's weight, bias-row and gradient views are looked up once, not per batch;
- the loss comes from quantities the forward pass already has: for softmax, the row maximum
  and the row sum of exponentials give ``log sum exp(z)``; for sigmoid, ``exp(-|z|)`` gives
  ``softplus``; so no second pass recomputes the output's logarithms.

The weight updates are the same numbers the reference path gives (``tests/test_hot_path.py``
checks it); only the loss value may differ in the last bits, since it is summed differently.
Anything else (dropout, sample weights, a loss that does not fuse with its output activation)
goes through the reference path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from neuralnet import losses as _losses
from neuralnet.layers import FullyConnectedLayer

# The losses whose value _output_and_loss computes. Exact types: KL divergence fuses with
# softmax as cross-entropy does, but its value differs by the targets' entropy.
_FUSED_LOSSES = (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy,
                 _losses.MeanSquaredError)


def supports(net, sample_weight) -> bool:
    """Whether ``FusedStep`` computes this network's step (else ``fit`` uses the reference path)."""
    output = net._dense[-1]
    return (
        sample_weight is None
        and type(net.loss_fn) in _FUSED_LOSSES
        and all(type(layer) is FullyConnectedLayer for layer in net.layers)
        and output.activation.name == net.loss_fn.canonical_activation
        and output.activation.name in ("sigmoid", "softmax", "linear")
    )


class FusedStep:
    """Forward, loss and backward of one batch for ``net``, with buffers for ``batch_size`` rows.

    ``step(x, y)`` fills every layer's ``grad`` with ``dL/dW`` and returns the batch's mean loss
    (L2 penalties included); when that loss is not finite it returns before back-propagating.

    The code is written feature-major: every layer's pre-activations, activations and deltas
    are ``(n_units, batch)`` arrays, the transpose of the library's ``(batch, n_units)``, and the
    matrix products have their operands swapped to match (``Z^T = W^T X^T``; ``dW = A^T delta``
    as ``A^T (delta^T)^T``). Those arrays are either stored that way or are transposed views of
    ``(batch, n_units)`` buffers: NumPy computes the same numbers in either memory order, and
    which is faster depends on the shapes. A bias add, an activation or a reduction runs its
    inner loop along the contiguous axis; when that axis is a layer's units and the layer is
    narrow (the article's 3 hidden units), NumPy's per-row overhead dominates: adding the bias
    to a (1000, 3) array costs four times as much as to a (3, 1000) one. On wide layers and
    small batches (784-256-128-10 in batches of 128) the large matrix products are what
    counts, and OpenBLAS runs them some 5% faster with ``(batch, n_units)`` outputs. So the
    buffers are feature-major when the batch is at least four times the widest layer.
    Each layer's ``_x``, ``_z`` and ``_a`` are set to ``(batch, n_units)`` views, as
    ``forward`` would set them.
    """

    def __init__(self, net, batch_size: int, feature_major: bool | None = None) -> None:
        self.layers = net._dense
        self.output = self.layers[-1]
        self.kind = self.output.activation.name
        dtype = net.dtype
        if feature_major is None:
            feature_major = 4 * max(layer.n_out for layer in self.layers) <= batch_size
        self.feature_major = feature_major

        def buffer(n_units: int) -> np.ndarray:
            """An (n_units, batch_size) array, stored feature-major or as a transposed view."""
            if feature_major:
                return np.empty((n_units, batch_size), dtype=dtype)
            return np.empty((batch_size, n_units), dtype=dtype).T

        # Per layer: its (n_out, batch_size) buffers z^T, a^T and delta^T (dL/dz^T).
        self._buffers = [(buffer(l.n_out), buffer(l.n_out), buffer(l.n_out)) for l in self.layers]
        k = self.output.n_out
        self._scratch = buffer(k)
        self._row = np.empty(batch_size, dtype=dtype)
        self._row2 = np.empty(batch_size, dtype=dtype)
        self._ones = np.ones(batch_size, dtype=dtype)
        self._views: dict[int, tuple] = {}
        self.l2_layers = [layer for layer in self.layers if layer.l2 or layer.l1]  # penalised
        # The fused output delta dL/dz = (1/m) c (a - y), c from the loss (see ``losses``).
        self.fused_scale = net.loss_fn._fused_scale(k)

    def _views_for(self, m: int) -> tuple:
        """Every view a batch of ``m`` rows works on: the first ``m`` columns of each buffer.

        Built once per batch size (a fit sees at most two: the batch size and the remainder),
        since making a dozen NumPy views costs as much as a small layer's arithmetic.
        """
        views = self._views.get(m)
        if views is None:
            plan = []
            for layer, (zT, aT, dT) in zip(self.layers, self._buffers, strict=True):
                zT, aT, dT = zT[:, :m], aT[:, :m], dT[:, :m]
                W = layer.weights[:-1]
                # W^T for the forward product; W itself to send a delta down, or (one output
                # unit) its column, broadcast: dL/da = delta W^T is then an outer product, and a
                # broadcast multiply does it several times faster than a product over 1 term.
                down = np.multiply if W.shape[1] == 1 else np.matmul
                forward = _sigmoid if layer.activation.name == "sigmoid" else \
                    layer.activation.forward
                plan.append(_LayerViews(
                    layer, W.T, W, down, layer.weights[-1][:, None], layer.grad[:-1],
                    layer.grad[-1], layer.activation, forward, zT, aT, dT, zT.T, aT.T, dT.T,
                ))
            views = self._views[m] = (
                plan, self._ones[:m], self._row[:m], self._row2[:m], self._scratch[:, :m]
            )
        return views

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        m = len(x)
        plan, ones, row, row2, scratch = self._views_for(m)
        yT = y.T
        # Forward: z^T = W^T x^T + b, a^T = f(z^T), for the m columns of this batch.
        output = self.output
        for v in plan:
            np.matmul(v.WT, x.T, out=v.zT)
            np.add(v.zT, v.bias, out=v.zT)
            if v.layer is output:
                loss = self._output_and_loss(v.zT, v.aT, yT, m, row, row2, scratch)
            else:
                # Through (batch, units) views, so that a row-wise activation (softmax) sees rows.
                v.forward(v.z, out=v.a)
            v.layer._x, v.layer._z, v.layer._a = x, v.z, v.a
            x = v.a
        if self.l2_layers:
            loss += sum(layer.penalty() for layer in self.l2_layers)
        if not math.isfinite(loss):
            return loss

        # Backward, from the fused output delta (1/m) c (a - y), the same product as
        # Loss.output_delta: c = 1/k for sigmoid + binary cross-entropy, 2/k for linear + mse,
        # 1 for softmax + categorical cross-entropy.
        top = plan[-1]
        np.subtract(top.aT, yT, out=top.deltaT)
        np.multiply(top.deltaT, (1.0 / m) * self.fused_scale, out=top.deltaT)
        for i in range(len(plan) - 1, -1, -1):
            v = plan[i]
            np.matmul(v.layer._x.T, v.delta, out=v.dW)  # dL/dW = x^T delta
            np.matmul(v.deltaT, ones, out=v.db)  # the bias row: delta's column sums
            if i == 0:
                break  # the first layer's input is the data: no gradient to send down
            below = plan[i - 1]
            v.down(v.W, v.deltaT, out=below.deltaT)  # dL/da of the layer below: delta W^T
            # The layer below's activation turns dL/da into dL/dz, written from its output a
            # (and its pre-activation z, for the activations that need it).
            if below.activation.needs_z:
                below.activation.backward(below.a, below.delta, z=below.z)
            else:
                below.activation.backward(below.a, below.delta)
        for layer in self.l2_layers:
            layer._add_penalty_gradient()  # l2 W + l1 sign(W), the bias row left out
        return loss

    def _output_and_loss(self, zT, aT, yT, m, row, row2, scratch) -> float:
        """Write the output activation of ``z^T`` into ``a^T`` (both (k, m)); return the mean loss.

        ``row`` and ``row2`` are work arrays of m values, ``scratch`` one of (k, m).
        """
        if self.kind == "softmax":
            # a = exp(z - max) / sum exp(z - max) over each sample's k outputs (a column here),
            # exactly as activations.Softmax computes it; the max and the sum then give each
            # sample's log-sum-exp for free, and -sum_j y_j log a_j = sum_j y_j (lse - z_j).
            col_max = np.maximum.reduce(zT, axis=0, out=row)
            np.subtract(zT, col_max, out=aT)
            np.exp(aT, out=aT)
            col_sum = np.add.reduce(aT, axis=0, out=row2)
            aT /= col_sum
            lse = np.log(col_sum, out=col_sum)
            lse += col_max
            minus_log_a = np.subtract(lse, zT, out=scratch)
            return float(np.vdot(yT, minus_log_a)) / m
        if self.kind == "sigmoid":
            # Per element, -[y log a + (1 - y) log(1 - a)] = log(1 + exp(-z)) + (1 - y) z and
            # a = 1 / (1 + exp(-z)): one exponential gives both. Should some exp(-z) overflow
            # (z < -88 in float32), that loss would be infinite: the overflow-free form below
            # then answers instead.
            t = np.negative(zT, out=scratch)
            np.exp(t, out=t)
            softplus_sum = float(np.add.reduce(np.log1p(t), axis=None))  # sum log(1 + exp(-z))
            if math.isfinite(softplus_sum):
                t += 1.0
                np.reciprocal(t, out=aT)
                z_sum, yz_sum = float(np.add.reduce(zT, axis=None)), float(np.vdot(yT, zT))
                return (softplus_sum + z_sum - yz_sum) / aT.size
            # a = exp(min(z, 0)) / (1 + exp(-|z|)), as activations.Sigmoid computes it; and
            # per element  -[y log a + (1 - y) log(1 - a)] = max(z, 0) + log1p(exp(-|z|)) - y z.
            e = np.abs(zT, out=scratch)
            np.negative(e, out=e)
            np.exp(e, out=e)
            np.minimum(zT, 0, out=aT)
            np.exp(aT, out=aT)
            softplus = float(np.add.reduce(np.log1p(e), axis=None))
            e += 1.0
            aT /= e
            softplus += float(np.add.reduce(np.maximum(zT, 0, out=e), axis=None))
            return (softplus - float(np.vdot(yT, zT))) / aT.size
        # linear + mse: a = z; the loss is the mean of (a - y)^2.
        np.copyto(aT, zT)
        d = np.subtract(aT, yT, out=scratch)
        return float(np.vdot(d, d)) / aT.size


class _LayerViews(NamedTuple):
    """What a layer's part of the step works on, for one batch size (see ``_views_for``)."""

    layer: FullyConnectedLayer
    WT: np.ndarray  # W^T, (n_out, n_in): the forward product
    W: np.ndarray  # W without its bias row, (n_in, n_out): sends a delta down
    down: Callable  # np.matmul, or np.multiply for a one-unit layer (an outer product)
    bias: np.ndarray  # the bias row as a column, (n_out, 1)
    dW: np.ndarray  # the gradient's input rows
    db: np.ndarray  # the gradient's bias row
    activation: object
    forward: Callable  # the activation's forward(z, out=a)
    zT: np.ndarray  # (n_out, m), and its (m, n_out) views below
    aT: np.ndarray
    deltaT: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray


def _sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` into ``out``: four NumPy calls to ``activations.Sigmoid``'s seven.

    For z < -88 (float32) exp(-z) overflows to inf and the result is 0, where the exact value
    is below 1e-38: the same to the precision anything downstream can see. ``fit`` runs with
    overflow warnings off.
    """
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)
