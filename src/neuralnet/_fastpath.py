"""The fast paths: optimised twins of the readable reference, each tested against it.

- ``FusedStep``, forward, loss and backward of one batch: twin of
  ``NeuralNet._reference_step`` (``_forward``, ``_loss_value``, ``_backward``);
  ``tests/test_hot_path.py`` checks the same weights, gradients and loss.
- ``Predictor``, ``predict`` for a ready float array through dense layers: twin of the checked
  path of ``NeuralNet.predict`` (``_infer``); ``tests/test_hot_path.py`` checks the same
  outputs and errors, and ``tests/test_reliability.py`` many threads at once.

Both are an optimisation only: the maths lives in ``layers``, ``activations`` and ``losses``.

The reference path goes through the generic layer and loss interfaces, which check their
arguments and allocate their results. On a small network (the article's 2-3-1, or 64-64-10 on
digits) that per-call work, not the arithmetic, is what a batch costs, so for the common case
``fit`` uses ``FusedStep``:

- every array a batch needs (pre-activations, deltas, input gradients) is allocated once, at
  the batch size, and the last short batch uses the leading rows of the same arrays;
- each layer's weight, bias-row and gradient views are looked up once, not per batch;
- the loss comes from quantities the forward pass already has: for softmax, the row maximum
  and the row sum of exponentials give ``log sum exp(z)``; for sigmoid, ``exp(-|z|)`` gives
  ``softplus``; so no second pass recomputes the output's logarithms.

It applies to a chain of ``FullyConnectedLayer`` (exactly that class, not a subclass) whose
output activation and loss are an exact built-in fused pair (``Loss.fuses_with``): a subclass
of either takes the reference path, so the maths ``fit`` runs is always the maths ``predict``
and ``check_gradients`` see. Anything else (dropout, other layers, sample weights, a loss that
does not fuse with its output activation) goes through the reference path.
"""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from neuralnet import _engine, _memory
from neuralnet import activations as _activations
from neuralnet import losses as _losses
from neuralnet._validation import all_finite, overflow_checked
from neuralnet.layers import FullyConnectedLayer

# The losses whose value _output_and_loss computes. Exact types: KL divergence fuses with
# softmax as cross-entropy does, but its value differs by the targets' entropy.
_FUSED_LOSSES = (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy,
                 _losses.MeanSquaredError)

# predict computes up to this many rows with the bias absorbed in one product per layer.
SMALL_BATCH = 16


def _plain_dense(net) -> list[FullyConnectedLayer] | None:
    """The layers, when they are all exactly ``FullyConnectedLayer`` bound to the flat buffer."""
    layers = list(net.layers)
    flat = net.__dict__.get("_flat_weights")
    if flat is None or layers != net.__dict__.get("_bound_layers"):
        return None
    if any(type(l) is not FullyConnectedLayer or l.weights.base is not flat for l in layers):
        return None
    return layers


def supports(net, sample_weight) -> bool:
    """Whether ``FusedStep`` computes this network's step (else ``fit`` uses the reference path)."""
    layers = _plain_dense(net)
    return (
        sample_weight is None
        and layers is not None
        and net.loss_fn.fuses_with(layers[-1].activation)
        and type(net.loss_fn) in _FUSED_LOSSES
    )


def train_step(net, batch_size: int, sample_weight) -> Callable:
    """Return the per-batch step ``fit`` calls: ``step(x, y, w) -> loss``, fused where it applies."""
    if supports(net, sample_weight):
        fused = FusedStep(net, batch_size)
        return lambda x, y, sample_weight: fused(x, y)
    return net.reference_step


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
    Each layer's ``record(x, z, a)`` gets ``(batch, n_units)`` views, as ``forward`` would.
    """

    def __init__(self, net, batch_size: int, feature_major: bool | None = None) -> None:
        self.layers = list(net.layers)
        self.output = self.layers[-1]
        self.kind = self.output.activation.name
        dtype = net.dtype
        if feature_major is None:
            feature_major = 4 * max(layer.n_out for layer in self.layers) <= batch_size
        self.feature_major = feature_major

        def buffer(n_units: int) -> np.ndarray:
            """An (n_units, batch_size) array, stored feature-major or as a transposed view."""
            if feature_major:
                return _memory.empty((n_units, batch_size), dtype)
            return _memory.empty((batch_size, n_units), dtype).T

        # Per layer: its (n_out, batch_size) buffers z^T, a^T and delta^T (dL/dz^T).
        self._buffers = [(buffer(l.n_out), buffer(l.n_out), buffer(l.n_out)) for l in self.layers]
        k = self.output.n_out
        self._scratch = buffer(k)
        self._row = np.empty(batch_size, dtype=dtype)
        self._row2 = np.empty(batch_size, dtype=dtype)
        self._ones = np.ones(batch_size, dtype=dtype)
        self._views: dict[int, tuple] = {}
        self.penalised = [layer for layer in self.layers if layer.l2 or layer.l1]
        # The numba engine's kernels (neuralnet._kernels), or None: NumPy throughout.
        self.kernels = _engine.kernels(size=batch_size * max(l.n_out for l in self.layers))
        # The fused output delta dL/dz = (1/m) c (a - y), c from the loss (see ``losses``).
        self.fused_scale = net.loss_fn.fused_scale(k)

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
                plan.append(_LayerViews(
                    layer, W.T, W, down, layer.weights[-1][:, None], layer.grad[:-1],
                    layer.grad[-1], layer.activation, step_forward(layer.activation), zT, aT,
                    dT, zT.T, aT.T, dT.T,
                    self._relu_kernels(layer, zT, aT, dT),
                ))
            views = self._views[m] = (
                plan, self._ones[:m], self._row[:m], self._row2[:m], self._scratch[:, :m]
            )
        return views

    def _relu_kernels(self, layer, zT, aT, dT) -> tuple | None:
        """For a hidden ReLU layer with the numba engine: its fused bias-and-ReLU and ReLU-gradient
        calls ``(forward, (z, b, a), backward, (delta, a))``, each over the arrays in the order
        their memory runs (``_kernels``); None otherwise (NumPy's calls)."""
        k = self.kernels
        if k is None or layer is self.output or type(layer.activation) is not _activations.ReLU \
                or _engine.kernels(size=zT.size) is None:
            return None
        b = layer.weights[-1]
        if self.feature_major:
            return k.bias_relu_cols, (zT, b, aT), k.relu_grad, (dT, aT)
        return k.bias_relu_rows, (zT.T, b, aT.T), k.relu_grad, (dT.T, aT.T)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        m = len(x)
        views = self._views.get(m)
        plan, ones, row, row2, scratch = views if views is not None else self._views_for(m)
        yT = y.T
        # Forward: z^T = W^T x^T + b, a^T = f(z^T), for the m columns of this batch.
        output = self.output
        xT = batch_T = x.T
        for v in plan:
            np.matmul(v.WT, xT, out=v.zT)
            if v.relu is not None:  # z += b and a = relu(z) in one compiled loop
                v.relu[0](*v.relu[1])
                v.layer.record(x, v.z, v.a)
                x, xT = v.a, v.aT
                continue
            np.add(v.zT, v.bias, out=v.zT)
            if v.layer is output:
                loss = self._output_and_loss(v.zT, v.aT, yT, m, row, row2, scratch)
            else:
                # Through (batch, units) views, so that a row-wise activation (softmax) sees rows.
                v.forward(v.z, out=v.a)
            v.layer.record(x, v.z, v.a)
            x, xT = v.a, v.aT
        if self.penalised:
            loss += sum(layer.penalty() for layer in self.penalised)
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
            below = plan[i - 1] if i else None
            # dL/dW = x^T delta, x^T the layer below's a^T (as recorded), or the batch's.
            np.matmul(batch_T if below is None else below.aT, v.delta, out=v.dW)
            np.matmul(v.deltaT, ones, out=v.db)  # the bias row: delta's column sums
            if below is None:
                break  # the first layer's input is the data: no gradient to send down
            v.down(v.W, v.deltaT, out=below.deltaT)  # dL/da of the layer below: delta W^T
            # The layer below's activation turns dL/da into dL/dz, written from its output a
            # (and its pre-activation z, for the activations that need it).
            if below.relu is not None:
                below.relu[2](*below.relu[3])
            elif below.activation.needs_z:
                below.activation.backward(below.a, below.delta, z=below.z)
            else:
                below.activation.backward(below.a, below.delta)
        for layer in self.penalised:
            layer.add_penalty_gradient()
        return loss

    def _output_and_loss(self, zT, aT, yT, m, row, row2, scratch) -> float:
        """Write the output activation of ``z^T`` into ``a^T`` (both (k, m)); return the mean loss.

        ``row`` and ``row2`` are work arrays of m values, ``scratch`` one of (k, m).
        """
        if self.kind == "softmax":
            # a = exp(z - max) / sum exp(z - max) over each sample's k outputs (a column here),
            # exactly as activations.Softmax computes it; the max and the sum then give each
            # sample's log-sum-exp for free, and -sum_j y_j log a_j = sum_j y_j (lse - z_j).
            col_max = _activations.row_max(zT.T, out=row)
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
            # a = 1 / (1 + exp(-z)): one exponential gives both, and a is written first so that
            # log1p can work in place (no temporary). Should some exp(-z) overflow (z < -88 in
            # float32), that loss would be infinite: the overflow-free form below answers then.
            t = np.negative(zT, out=scratch)
            np.exp(t, out=t)
            np.add(t, 1.0, out=aT)
            np.reciprocal(aT, out=aT)
            softplus_sum = float(np.add.reduce(np.log1p(t, out=t), axis=None))  # sum log(1 + exp(-z))
            if math.isfinite(softplus_sum):
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
    relu: tuple | None  # the numba engine's ReLU kernels and their arguments (_relu_kernels)


def step_forward(activation) -> Callable:
    """The ``forward(z, out=)`` the training step runs for ``activation``: ``_sigmoid`` for the
    sigmoid, the activation's own otherwise (the monitor replays with the same one)."""
    return _sigmoid if type(activation) is _activations.Sigmoid else activation.forward


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


class Predictor:
    """``predict`` for the plain case: a ready float array through exact dense layers.

    The plain case is a C-ordered 2-D array of the network's dtype and width, finite, through a
    chain of ``FullyConnectedLayer`` bound to the flat buffer. Its outputs are returned when
    they are finite: a NaN weight would make every output NaN, so the checked path's scan of all
    the weights (the largest cost of a one-sample prediction) only runs when an output is not
    finite; that path then raises the error it always raised. ``predict`` returns None for any
    other case, and the checked path answers.

    Nor is the input scanned: a NaN or an infinity anywhere in a row of ``x`` makes every entry
    of that row of ``x W`` NaN or infinite (infinity times 0 is NaN), so the first layer's
    product, in its first column for a few rows, answers for ``x`` at a fraction of the cost.

    A one-sample prediction is mostly fixed costs, so a few rows (up to ``SMALL_BATCH``) go
    through a ``_SmallPlan``: each layer's input sits in a buffer ``[x, 1]`` whose last column
    is ones, so one product with the whole ``(n_in + 1, n_out)`` matrix gives ``x W + b`` (the
    bias absorbed, as the article writes it), and each hidden activation is written straight
    into the next layer's buffer. Plans are per thread (``threading.local``), so many threads
    may predict at once with one model, and none of them touches what ``fit`` works on.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._dense: tuple | None = None  # (_arrays_of(net), the dense layers)

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def _plain(self, net) -> list[FullyConnectedLayer] | None:
        """``_plain_dense(net)``, remembered while the same layers hold the same arrays.

        The full check (each layer's type, and that its weights are a view of the flat buffer,
        through the checked ``weights`` property) costs a few µs of a prediction. The remembered
        answer is trusted only while the flat buffer, the list of layers and each layer's weight
        array are the very objects it was made from (``_same_arrays``).
        """
        cached = self._dense
        if cached is not None and _same_arrays(net, cached[0]):
            return cached[1]
        dense = _plain_dense(net)
        if dense is not None:
            self._dense = (_arrays_of(net), dense)
        return dense

    @overflow_checked
    def predict(self, net, X, batch_size) -> np.ndarray | None:
        if type(X) is not np.ndarray or X.ndim != 2 or not X.flags.c_contiguous or not (
            type(batch_size) is int and batch_size > 0
        ):
            return None
        n = X.shape[0]
        if 0 < n <= SMALL_BATCH and n <= batch_size:
            plans = getattr(self._local, "plans", None)
            plan = plans.get(n) if plans is not None else None
            if plan is None or not _same_arrays(net, plan.arrays):
                plan = self._new_plan(net, n)
                if plan is None:
                    return None
            # A built-in dtype is one object: another object is another dtype, or the checked
            # path's business (byte order, metadata).
            if X.dtype is not plan.dtype or X.shape[1] != plan.n_in:
                return None
            return plan.run(X)
        dense = self._plain(net)
        if dense is None or X.dtype != net.dtype or X.shape[1] != dense[0].n_in or not n:
            return None
        out = np.empty((n, dense[-1].n_out), dtype=net.dtype)
        for start in range(0, n, batch_size):
            x = X[start : start + batch_size]
            for i, layer in enumerate(dense):
                last = i == len(dense) - 1
                z = np.matmul(x, layer.weights[:-1], out=out[start : start + batch_size] if last
                              else None)
                if i == 0 and not _input_finite(z):
                    return None  # a non-finite x (see above): the checked path names it
                kernels = None if last else _engine.kernels(size=z.size)
                if kernels is not None and type(layer.activation) is _activations.ReLU:
                    kernels.bias_relu_rows(z, layer.weights[-1], z)  # + b, then the ReLU
                else:
                    z += layer.weights[-1]
                    layer.activation.forward(z, out=z)
                x = z
        return out if all_finite(out) else None

    def _new_plan(self, net, m: int) -> _SmallPlan | None:
        dense = self._plain(net)
        if dense is None:
            return None
        plans = getattr(self._local, "plans", None)
        if plans is None:
            plans = self._local.plans = {}
        plan = plans[m] = _SmallPlan(net, dense, m)
        return plan


def _arrays_of(net) -> tuple:
    """``(flat buffer, layers, their weight arrays)``: the objects an answer remembered for
    ``net`` was made from (``_same_arrays``)."""
    layers = list(net.layers)
    return net.__dict__.get("_flat_weights"), layers, list(map(_weights_of, layers))


def _same_arrays(net, arrays: tuple) -> bool:
    """Whether ``net`` still has the very flat buffer, layers and weight arrays of ``arrays``."""
    flat, layers, weights = arrays
    return (
        net.__dict__.get("_flat_weights") is flat
        and net.layers._layers == layers  # a list compares its items by identity first
        and all(map(operator.is_, map(_weights_of, layers), weights))
    )


def _weights_of(layer) -> np.ndarray | None:
    return layer.params.get("weights")


def _input_finite(z: np.ndarray) -> bool:
    """Whether the input rows were finite, read from their first product ``z`` (``Predictor``):
    its first column, one value for one row."""
    return math.isfinite(z.item(0)) if len(z) == 1 else all_finite(z[:, 0])


class _SmallPlan:
    """One thread's buffers for a prediction of ``m`` rows, the bias absorbed as in the article."""

    __slots__ = ("arrays", "dtype", "n_in", "x", "hidden", "last")

    def __init__(self, net, dense: list[FullyConnectedLayer], m: int) -> None:
        self.arrays = _arrays_of(net)  # what the plan is valid for (_same_arrays)
        self.dtype, self.n_in = net.dtype, dense[0].n_in
        # One [x, 1] buffer per layer: its input, the last column ones.
        inputs = [np.ones((m, layer.n_in + 1), dtype=net.dtype) for layer in dense]
        self.x = inputs[0][:, :-1]
        zero = np.zeros((), dtype=net.dtype)  # max(z, 0) against a 0-d array: no scalar to convert
        self.hidden = [
            (inputs[i], layer.weights, np.empty((m, layer.n_out), dtype=net.dtype),
             *((np.maximum, zero) if type(layer.activation) is _activations.ReLU
               else (_forward_of(layer.activation), None)),
             inputs[i + 1][:, :-1])
            for i, layer in enumerate(dense[:-1])
        ]
        last = dense[-1]
        # One row through softmax: the sum of exponentials is the finiteness check.
        softmax_row = m == 1 and type(last.activation) is _activations.Softmax
        self.last = (inputs[-1], last.weights, (m, last.n_out),
                     None if softmax_row else _finish_of(last.activation))

    def run(self, X: np.ndarray) -> np.ndarray | None:
        """The outputs for ``X``, or None when ``X`` or an output is not finite.

        ``np.dot`` rather than ``np.matmul``: the same BLAS call for 2-D arrays, without the
        generalised ufunc's set-up (about 0.3 µs a product).
        """
        np.copyto(self.x, X)
        check = True  # the first product's first column stands for X (Predictor)
        for x_ones, W, z, forward, arg, next_x in self.hidden:
            np.dot(x_ones, W, out=z)  # [x, 1] @ W = x W[:-1] + W[-1]
            if check:
                if not _input_finite(z):
                    return None
                check = False
            forward(z, arg, out=next_x)  # straight into the next layer's [x, 1]
        x_ones, W, shape, finish = self.last
        out = np.empty(shape, dtype=self.dtype)
        np.dot(x_ones, W, out=out)
        if check and not _input_finite(out):
            return None
        if finish is None:
            return out if math.isfinite(_activations.softmax_one_row(out, out)) else None
        return out if finish(out) else None


def _forward_of(activation) -> Callable:
    """``activation.forward`` as ``f(z, unused, out=)``, the call ``np.maximum(z, 0, out=)`` makes."""
    return lambda z, _, out: activation.forward(z, out=out)


def _finish_of(activation) -> Callable:
    """The output activation in place, then whether every output is finite."""

    def finish(out: np.ndarray) -> bool:
        activation.forward(out, out=out)
        return all_finite(out)

    return finish

