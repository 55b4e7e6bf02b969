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

import numpy as np

from neuralnet.layers import FullyConnectedLayer


def supports(net, sample_weight) -> bool:
    """Whether ``FusedStep`` computes this network's step (else ``fit`` uses the reference path)."""
    output = net._dense[-1]
    return (
        sample_weight is None
        and all(type(layer) is FullyConnectedLayer for layer in net.layers)
        and output.activation.name == net.loss_fn.canonical_activation
        and output.activation.name in ("sigmoid", "softmax", "linear")
    )


class FusedStep:
    """Forward, loss and backward of one batch for ``net``, with buffers for ``batch_size`` rows.

    ``step(x, y)`` fills every layer's ``grad`` with ``dL/dW`` and returns the batch's mean loss
    (L2 penalties included); when that loss is not finite it returns before back-propagating.
    """

    def __init__(self, net, batch_size: int) -> None:
        self.layers = net._dense
        self.output = self.layers[-1]
        self.kind = self.layers[-1].activation.name
        self.loss_fn = net.loss_fn
        dtype = net.dtype
        # Per layer: (layer, W, bias row, dW, dbias row, activation, z buffer, a buffer).
        self.plan = []
        for layer in self.layers:
            z = np.empty((batch_size, layer.n_out), dtype=dtype)
            a = np.empty_like(z)
            self.plan.append((layer, layer.weights[:-1], layer.weights[-1], layer.grad[:-1],
                              layer.grad[-1], layer.activation, z, a))
        k = self.layers[-1].n_out
        self.scratch = np.empty((batch_size, k), dtype=dtype)
        self.row = np.empty(batch_size, dtype=dtype)
        self.row2 = np.empty(batch_size, dtype=dtype)
        self.ones = np.ones(batch_size, dtype=dtype)
        # delta_l (dL/dz of layer l), one buffer per layer; the input layer's dL/dx is never needed.
        self.deltas = [np.empty((batch_size, layer.n_out), dtype=dtype) for layer in self.layers]
        self.l2_layers = [layer for layer in self.layers if layer.l2]
        # The fused output delta dL/dz = (1/m) c (a - y), c from the loss (see ``losses``).
        self.fused_scale = net.loss_fn._fused_scale(k)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        m = len(x)
        plan = self.plan
        # Forward: z = x W + b, a = f(z); each layer records its x, z and a as forward() does.
        for layer, W, b, _, _, activation, z, a in plan:
            z = np.matmul(x, W, out=z[:m])
            z += b
            a = a[:m]
            if layer is self.output:
                loss = self._output_and_loss(z, a, y, m)
            else:
                activation.forward(z, out=a)
            layer._x, layer._z, layer._a = x, z, a
            x = a
        if self.l2_layers:
            loss += sum(layer.penalty() for layer in self.l2_layers)
        if not math.isfinite(loss):
            return loss

        # Backward, from the fused output delta (1/m) c (a - y), the same product as
        # Loss.output_delta: c = 1/k for sigmoid + binary cross-entropy, 2/k for linear + mse,
        # 1 for softmax + categorical cross-entropy.
        delta = np.subtract(a, y, out=self.deltas[-1][:m])
        delta *= (1.0 / m) * self.fused_scale
        for i in range(len(plan) - 1, -1, -1):
            layer, W, _, dW, db, _, _, _ = plan[i]
            np.matmul(layer._x.T, delta, out=dW)
            np.matmul(self.ones[:m], delta, out=db)  # the column sum, as in _backward_delta
            if i == 0:
                break  # the first layer's input is the data: no gradient to send down
            below = plan[i - 1][0]
            grad = np.matmul(delta, W.T, out=self.deltas[i - 1][:m])
            # The layer below's activation turns dL/da into dL/dz, written from its output a.
            delta = below.activation.backward(below._a, grad)
        for layer in self.l2_layers:
            layer.grad[:-1] += layer.l2 * layer.weights[:-1]
        return loss

    def _output_and_loss(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, m: int) -> float:
        """Write the output activation of ``z`` into ``a``; return the mean loss."""
        if self.kind == "softmax":
            # a = exp(z - max) / sum exp(z - max), exactly as activations.Softmax computes it;
            # the row max and row sum then give each row's log-sum-exp for free, and
            # -sum_j y_j log a_j = sum_j y_j (lse - z_j).
            row_max = np.maximum.reduce(z, axis=1, out=self.row[:m])
            np.subtract(z, row_max[:, None], out=a)
            np.exp(a, out=a)
            row_sum = np.add.reduce(a, axis=1, out=self.row2[:m])
            a /= row_sum[:, None]
            lse = np.log(row_sum, out=row_sum)
            lse += row_max
            minus_log_a = np.subtract(lse[:, None], z, out=self.scratch[:m])
            return float(np.vdot(y, minus_log_a)) / m
        if self.kind == "sigmoid":
            # a = exp(min(z, 0)) / (1 + exp(-|z|)), as activations.Sigmoid computes it; and
            # per element  -[y log a + (1 - y) log(1 - a)] = max(z, 0) + log1p(exp(-|z|)) - y z.
            e = np.abs(z, out=self.scratch[:m])
            np.negative(e, out=e)
            np.exp(e, out=e)
            np.minimum(z, 0, out=a)
            np.exp(a, out=a)
            softplus = float(np.add.reduce(np.log1p(e).ravel()))
            e += 1.0
            a /= e
            softplus += float(np.add.reduce(np.maximum(z, 0, out=e).ravel()))
            return (softplus - float(np.vdot(y, z))) / a.size
        # linear + mse: a = z; the loss is the mean of (a - y)^2.
        np.copyto(a, z)
        d = np.subtract(a, y, out=self.scratch[:m])
        return float(np.vdot(d, d)) / a.size
