"""Seeing the maths at work: gradient checks, a traced forward/backward pass, training diagnostics.

- ``check_gradients`` compares back-propagation with central finite differences,
  ``dL/dw ~ (L(w + eps) - L(w - eps)) / (2 eps)``, on a float64 copy of the network.
- ``explain`` prints one forward and one backward pass on a small batch, layer by layer, with
  the shape of every array in the article's equations.
- ``TrainingMonitor`` records, at the end of each epoch of ``fit``, each layer's gradient norm,
  update-to-weight ratio, fraction of dead ReLUs and of saturated sigmoid/tanh units into
  ``History.diagnostics``, and warns once when one of them signals trouble.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from neuralnet.callbacks import Callback
from neuralnet.layers import add_bias, layer_from_config

__all__ = [
    "GradientCheck",
    "TrainingMonitor",
    "TrainingWarning",
    "check_gradients",
    "explain",
]


# ----------------------------------------------------------------------------- gradient check
class GradientCheck(list):
    """The per-layer rows of a gradient check; ``str()`` is the printed table.

    Each row is a dict: ``layer``, ``shape`` (of the absorbed weights), ``checked`` (entries
    compared), ``max_abs_error``, ``max_rel_error`` and ``passed``.
    """

    @property
    def passed(self) -> bool:
        """Whether every layer passed."""
        return all(row["passed"] for row in self)

    def __str__(self) -> str:
        header = f"{'layer':<6}{'weights':>12}{'checked':>9}{'max abs err':>14}{'max rel err':>14}  result"
        lines = [header, "-" * len(header)]
        for row in self:
            shape = "x".join(map(str, row["shape"]))
            lines.append(
                f"{row['layer']:<6}{shape:>12}{row['checked']:>9}{row['max_abs_error']:>14.3e}"
                f"{row['max_rel_error']:>14.3e}  {'pass' if row['passed'] else 'FAIL'}"
            )
        return "\n".join(lines)


def _float64_copy(model):
    """Return a float64 twin of ``model``: same layers, activations, loss, L2 and weights."""
    from neuralnet.model import NeuralNet

    layers = []
    for layer in model.layers:
        config = layer.get_config()
        if "dtype" in config:
            config["dtype"] = "float64"
        layers.append(layer_from_config(config))
    twin = NeuralNet(layers, loss=model.loss_fn, dtype="float64")
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    return twin


def _check_positive_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive number. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def check_gradients(
    model,
    X,
    y,
    epsilon: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    max_checks: int | None = None,
    sample_weight=None,
    seed: int = 0,
    verbose: bool = True,
) -> GradientCheck:
    """Compare back-propagation with central finite differences, layer by layer.

    For each checked weight ``w`` of the float64 copy of ``model``:

        numeric  = (L(w + epsilon) - L(w - epsilon)) / (2 epsilon)      error O(epsilon^2)
        abs err  = |backprop - numeric|
        rel err  = abs err / max(|backprop| + |numeric|, tiny)

    An entry passes when ``abs err <= atol`` or ``rel err <= rtol``; a layer passes when all
    its entries do. Dropout is off (inference mode) so the loss is a deterministic function.

    Args:
        X, y: the batch ``(n_samples, n_features)`` and targets the loss is evaluated on.
        epsilon: the finite-difference step.
        rtol, atol: relative and absolute tolerances for passing.
        max_checks: check at most this many entries per layer (chosen at random with ``seed``);
            ``None`` checks every weight.
        verbose: print the table.

    Returns:
        A ``GradientCheck``: a list of per-layer dicts whose ``str()`` is the table.
    """
    epsilon = _check_positive_float(epsilon, "epsilon")
    rtol = _check_positive_float(rtol, "rtol")
    atol = _check_positive_float(atol, "atol")
    if max_checks is not None and (
        isinstance(max_checks, bool) or not isinstance(max_checks, int) or max_checks <= 0
    ):
        raise ValueError(
            f"Received an invalid value for `max_checks`, expected a positive integer or None. "
            f"Received: max_checks={max_checks!r}"
        )
    twin = _float64_copy(model)
    X = twin._check_X(X)
    targets = twin._check_y(y, len(X))
    sample_weight = twin._check_sample_weight(sample_weight, len(X))

    def loss() -> float:
        twin._forward(X)
        return twin._loss_value(targets, sample_weight)

    twin._forward(X)
    twin._backward(targets, sample_weight)
    rng = np.random.default_rng(seed)
    result = GradientCheck()
    for l, layer in enumerate(twin._dense):
        analytic = layer.grad.copy()
        flat = layer.weights.reshape(-1)  # a view: editing it moves the weight
        n = flat.size
        idx = np.arange(n) if max_checks is None or max_checks >= n else rng.choice(
            n, max_checks, replace=False
        )
        numeric = np.empty(len(idx))
        for k, i in enumerate(idx):
            saved = flat[i]
            flat[i] = saved + epsilon
            plus = loss()
            flat[i] = saved - epsilon
            minus = loss()
            flat[i] = saved
            numeric[k] = (plus - minus) / (2 * epsilon)
        backprop = analytic.reshape(-1)[idx]
        abs_err = np.abs(backprop - numeric)
        rel_err = abs_err / np.maximum(np.abs(backprop) + np.abs(numeric), np.finfo(float).tiny)
        result.append({
            "layer": l + 1,
            "shape": tuple(layer.weights.shape),
            "checked": len(idx),
            "max_abs_error": float(abs_err.max()),
            "max_rel_error": float(rel_err.max()),
            "passed": bool(((abs_err <= atol) | (rel_err <= rtol)).all()),
        })
    if verbose:
        print(result)
    return result


# ---------------------------------------------------------------------------------- explain
_DERIVATIVES = {
    "sigmoid": "A (1 - A)",
    "tanh": "(1 - A^2)",
    "relu": "[A > 0]",
    "leaky_relu": "(1 if A > 0 else alpha)",
    "linear": "1",
}
_FUSED = {
    "binary_crossentropy": "(A - Y) / (m k)",
    "categorical_crossentropy": "(A - Y) / m",
    "mse": "2 (A - Y) / (m k)",
}


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(map(str, a.shape)) + ")"


def _row(label: str, formula: str, array: np.ndarray, note: str = "") -> str:
    return f"    {label:<15}{formula:<34}{_shape(array):<9}{note}".rstrip()


def explain(model, X, y=None, max_samples: int = 4, verbose: bool = True) -> str:
    """Trace one forward and one backward pass on a small batch, with every shape.

    Forward, for each dense layer ``l`` (``A_0 = X``):

        [A_{l-1}, 1] = add_bias(A_{l-1})        (m, n_in + 1)
        Z_l = [A_{l-1}, 1] @ W_l                 W_l: (n_in + 1, n_out), bias = last row
        A_l = f_l(Z_l)                            (m, n_out)

    Backward, from ``delta_L = dL/dZ_L`` down:

        dL/dW_l      = [A_{l-1}, 1]^T @ delta_l       (n_in + 1, n_out), like W_l
        dL/dA_{l-1}  = delta_l @ W_l[:-1]^T           (the bias row sends nothing down)
        delta_{l-1}  = dL/dA_{l-1} * f'(Z_{l-1})

    The arrays are recomputed here in float64 from ``add_bias`` and the weights, exactly as
    written, and the gradients are compared with the library's back-propagation.

    Args:
        X: inputs ``(n_samples, n_features)``; the first ``max_samples`` rows are used.
        y: their targets; without them every target is 0 (class 0), which changes the
            numbers but not the shapes.
        verbose: print the trace.

    Returns:
        The trace as text.
    """
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples <= 0:
        raise ValueError(
            f"Received an invalid value for `max_samples`, expected a positive integer. "
            f"Received: max_samples={max_samples!r}"
        )
    twin = _float64_copy(model)
    X = twin._check_X(X)
    n_total = len(X)
    X = X[:max_samples]
    m, k = len(X), twin.n_outputs
    if y is None:
        targets = np.zeros((m, k))
        if twin.loss_fn.name == "categorical_crossentropy":
            targets[:, 0] = 1.0
        y_note = "no y given, so every target is 0 (class 0): the shapes are the same"
    else:
        targets = twin._check_y(y, n_total)[:m]
        y_note = f"Y {_shape(targets)}"
    lines = [
        f"{model!r}",
        f"batch: the first m = {m} of {n_total} samples, X {_shape(X)}; {y_note}",
        "",
        "Forward pass   (A_0 = X)",
    ]
    inputs, outputs, l = [], [], 0
    A = X
    for layer in twin.layers:
        if layer.weights is None:
            lines.append(f"  {layer!r}: inactive outside training, A passes through {_shape(A)}")
            continue
        l += 1
        W = layer.weights
        Ab = add_bias(A)
        Z = Ab @ W
        act = layer.activation
        A_next = act.forward(Z.copy())
        lines += [
            f"  layer {l}: {layer!r}",
            _row("input", f"A_{l - 1}", A),
            _row("add_bias", f"[A_{l - 1}, 1]", Ab, "a column of ones appended"),
            _row("weights", f"W_{l}", W, f"(n_in + 1, n_out); the bias is W_{l}[-1]"),
            _row("pre-activation", f"Z_{l} = [A_{l - 1}, 1] @ W_{l}", Z),
            _row("output", f"A_{l} = {act.name}(Z_{l})", A_next),
        ]
        inputs.append((Ab, layer))
        outputs.append(A_next)
        A = A_next
    L = len(inputs)
    loss_fn = twin.loss_fn
    loss_value = loss_fn.value(targets, A)
    lines += ["", f"Loss   L = {loss_fn.name}(Y, A_{L}) = {loss_value:.6f}   (k = {k} outputs)",
              "", "Backward pass"]

    out_act = inputs[-1][1].activation
    delta = loss_fn.output_delta(targets, A, out_act)
    if out_act.name == loss_fn.canonical_activation and loss_fn.name in _FUSED:
        rule = _FUSED[loss_fn.name].replace("A", f"A_{L}")
        why = f"{out_act.name}'s derivative cancels in {loss_fn.name}"
    else:
        rule = f"dL/dA_{L} * {out_act.name}'(Z_{L})"
        why = ""
    lines += [f"  layer {L}:", _row(f"delta_{L}", f"dL/dZ_{L} = {rule}", delta, why)]
    grads = []
    for i in range(L, 0, -1):
        Ab, layer = inputs[i - 1]
        W = layer.weights
        grad = Ab.T @ delta
        if layer.l2:
            grad[:-1] += layer.l2 * W[:-1]
        grads.append(grad)
        l2 = f" + l2 W_{i}[:-1]" if layer.l2 else ""
        lines.append(_row(f"dL/dW_{i}", f"[A_{i - 1}, 1]^T @ delta_{i}{l2}", grad,
                          f"the shape of W_{i}"))
        if i == 1:
            break
        dA = delta @ W[:-1].T
        lines.append(_row(f"dL/dA_{i - 1}", f"delta_{i} @ W_{i}[:-1]^T", dA,
                          "the bias row sends nothing down"))
        below = inputs[i - 2][1].activation
        delta = below.backward(outputs[i - 2], dA.copy())
        derivative = _DERIVATIVES.get(below.name)
        local = (
            f"dL/dA_{i - 1} * {derivative.replace('A', f'A_{i - 1}')}"
            if derivative
            else f"{below.name} Jacobian @ dL/dA_{i - 1}"
        )
        lines += [f"  layer {i - 1}:", _row(f"delta_{i - 1}", local, delta)]
    grads.reverse()

    twin._forward(X)
    twin._backward(targets)
    diff = max(
        float(np.abs(g - layer.grad).max()) for g, layer in zip(grads, twin._dense, strict=True)
    )
    lines += ["", f"These gradients match the library's back-propagation to {diff:.1e}."]
    text = "\n".join(lines)
    if verbose:
        print(text)
    return text


# ------------------------------------------------------------------------ training monitor
class TrainingWarning(UserWarning):
    """A training diagnostic signalled trouble (learning rate, dead or saturated units)."""


_SATURATION = {"sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99)}
# A sample of this many training rows is pushed forward at each epoch's end to read the units.
_PROBE_ROWS = 128
_DEAD_RELU_LIMIT = 0.5
_SATURATED_LIMIT = 0.9
_LOSS_RISE = 1.25
_UPDATE_RATIO_LIMIT = 0.1


class TrainingMonitor(Callback):
    """Record per-layer diagnostics each epoch into ``history.diagnostics``; warn once on trouble.

    Nothing runs per batch. At each epoch's end, against the copy of the weights ``fit`` takes
    at its start,

        grad_norm[l]    = ||dL/dW_l||  of the epoch's last batch
        update_ratio[l] = ||W_l(end) - W_l(start)|| / ||W_l(start)||
        dead_relu[l]    = fraction of a ReLU layer's units that output 0 on every probe row
        saturated[l]    = fraction of a sigmoid/tanh layer's outputs within 1% of its bounds

    (``nan`` where a quantity does not apply). The probe rows are up to 128 rows of the epoch's
    last batch, with the activations training computed for them; if that batch is smaller
    than both 128 rows and the data (a short remainder), or the network has Dropout (whose
    training activations are not the network's), 128 training rows are pushed forward in
    inference mode instead. Each list in ``history.diagnostics`` has one entry per epoch,
    itself one value per dense layer.

    It warns (``TrainingWarning``) at most once per kind and call of ``fit`` when the loss rises
    by a quarter while the weights move by more than a tenth of their size in one epoch (the
    learning rate is too high), when most of a hidden layer's ReLUs are dead, or when a hidden
    sigmoid/tanh layer is nearly all saturated.

    When an epoch is a single small step (the article's full-batch gradient descent on a 2-3-1
    network), computing these numbers costs as much as the step. So each epoch only copies what
    they are computed from (the gradient, the end weights, the probe activations) into a block
    of work arrays holding up to 64 epochs, and the numbers of a whole block come from a few
    NumPy calls when it is full, when training ends, or as soon as ``history.diagnostics`` is
    read. A large network's block holds one epoch: its numbers are computed at once.
    """

    def __init__(self, history, X: np.ndarray) -> None:
        self.history = history
        step = max(1, len(X) // _PROBE_ROWS)
        self._probe = X[::step][:_PROBE_ROWS]
        if not isinstance(self._probe, np.ndarray):  # scipy.sparse X: densify the probe rows only
            self._probe = self._probe.toarray()
        self._n_train = len(X)
        self._last_loss: float | None = None
        self._probe_views: tuple | None = None
        self._warned: set[str] = set()
        self._block: _EpochBlock | None = None

    def on_train_begin(self, logs=None):
        for key in ("grad_norm", "update_ratio", "dead_relu", "saturated"):
            self.history._diagnostics.setdefault(key, [])
        self.history._pending = self._flush
        self._trained_rows_are_probes = len(self.model._dense) == len(self.model.layers)  # no Dropout

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        activations = self._probe_activations()
        block = self._block
        if block is None or (activations is not block.last and not block.fits(activations)):
            self._flush()
            block = self._block = _EpochBlock(model, activations)
        # fit keeps a copy of the weights from the epoch's start (its divergence fallback).
        block.add(epoch, (logs or {}).get("loss"), model._flat_grad, model._flat_weights,
                  model._epoch_start_weights, activations)
        if block.full:
            self._flush()

    def on_train_end(self, logs=None):
        self._flush()
        self.history._pending = None

    def _flush(self) -> None:
        """Compute and record the numbers of the epochs waiting in the block, in order."""
        block = self._block
        if block is None or not block.count:
            return
        record = self.history._diagnostics
        epochs, losses, grad_norm, update_ratio, dead, saturated = block.results(self.model._dense)
        record["grad_norm"].extend(grad_norm)
        record["update_ratio"].extend(update_ratio)
        record["dead_relu"].extend(dead)
        record["saturated"].extend(saturated)
        for j, epoch in enumerate(epochs):
            self._check(epoch, losses[j], update_ratio[j], dead[j][:-1], saturated[j][:-1])

    def _probe_activations(self) -> list[np.ndarray]:
        """Each dense layer's outputs on the probe rows (see the class docstring)."""
        dense = self.model._dense
        trained = [layer._a for layer in dense]
        cached = self._probe_views
        if cached is not None and all(a is b for a, b in zip(trained, cached[0], strict=True)):
            return cached[1]  # fit's step reuses its arrays: so do these views of them
        rows = 0 if trained[-1] is None else len(trained[-1])
        if self._trained_rows_are_probes and rows >= min(_PROBE_ROWS, self._n_train):
            step = max(1, rows // _PROBE_ROWS)
            views = [a[::step][:_PROBE_ROWS] for a in trained]
            self._probe_views = (trained, views)
            return views
        self.model._forward(self._probe)
        return [layer._a for layer in dense]

    def _check(self, epoch, loss, update_ratio, dead, saturated) -> None:
        """Warn in words about the first sign of each kind of trouble."""
        previous, self._last_loss = self._last_loss, loss
        biggest = max(update_ratio)
        if previous is not None and loss is not None and loss > _LOSS_RISE * previous \
                and biggest > _UPDATE_RATIO_LIMIT:
            rate = getattr(self.model.optimizer, "learning_rate", None)
            rate_text = f" ({rate:g})" if isinstance(rate, (int, float)) else ""
            self._warn(
                "learning_rate",
                f"The loss rose from {previous:.4g} to {loss:.4g} in epoch {epoch + 1} while the "
                f"weights moved by {biggest:.0%} of their size: the learning rate{rate_text} is "
                "probably too high; try a smaller one.",
            )
        for l, fraction in enumerate(dead):
            if fraction > _DEAD_RELU_LIMIT:
                self._warn(
                    "dead_relu",
                    f"{fraction:.0%} of the ReLUs in layer {l + 1} are dead (output 0 for every "
                    f"input) after epoch {epoch + 1}; they no longer learn. Try a smaller learning "
                    "rate or leaky_relu.",
                )
        for l, fraction in enumerate(saturated):
            if fraction > _SATURATED_LIMIT:
                name = self.model._dense[l].activation.name
                self._warn(
                    "saturated",
                    f"{fraction:.0%} of the {name} outputs of layer {l + 1} are saturated after "
                    f"epoch {epoch + 1}, where the gradient vanishes. Standardize the inputs or use "
                    "a smaller learning rate.",
                )

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(message, TrainingWarning, stacklevel=_outside_package())


class _EpochBlock:
    """What the diagnostics of up to ``capacity`` epochs are computed from, and the computation.

    Per epoch: the last batch's gradient, the end and start weights, and each dense layer's
    activations on the probe rows.
    """

    # Work arrays of about this many values in all (4 MB of float32) set how many epochs wait.
    _BUDGET = 1 << 20
    _MAX_EPOCHS = 64

    def __init__(self, model, activations: list[np.ndarray]) -> None:
        n_params = model._flat_weights.size
        per_epoch = 3 * n_params + sum(a.size for a in activations)
        self.capacity = max(1, min(self._MAX_EPOCHS, self._BUDGET // per_epoch))
        dtype = model.dtype
        # The gradients, end weights and start weights of each epoch: one array, so that one
        # square and one reduceat give all three squared norms of every layer and epoch.
        self.vectors = np.empty((3, self.capacity, n_params), dtype=dtype)
        self.acts = [np.empty((self.capacity, *a.shape), dtype=dtype) for a in activations]
        self.epochs: list[int] = []
        self.losses: list = []
        self.last: list[np.ndarray] | None = None  # the activations list added last
        # Layer l owns the l-th segment of the flat buffers (NeuralNet._bind_parameters).
        self.offsets = np.cumsum([0] + [l.weights.size for l in model._dense[:-1]])

    @property
    def count(self) -> int:
        return len(self.epochs)

    @property
    def full(self) -> bool:
        return self.count == self.capacity

    def fits(self, activations: list[np.ndarray]) -> bool:
        return all(a.shape == b.shape[1:] for a, b in zip(activations, self.acts, strict=True))

    def add(self, epoch, loss, grad, end, start, activations) -> None:
        i = self.count
        for row, vector in zip(self.vectors[:, i], (grad, end, start), strict=True):
            np.copyto(row, vector)
        for buffer, a in zip(self.acts, activations, strict=True):
            np.copyto(buffer[i], a)
        self.epochs.append(epoch)
        self.losses.append(loss)
        self.last = activations

    def results(self, dense) -> tuple[list, ...]:
        """Per waiting epoch, in order: the epochs, losses and four per-layer lists; empty it.

        ``update_ratio`` is inf for a layer that moved from all-zero weights, nan if it stayed.
        """
        k = self.count
        vectors = self.vectors[:, :k]
        np.subtract(vectors[1], vectors[2], out=vectors[1])  # end - start: the epoch's update
        np.square(vectors, out=vectors)
        grad_sq, moved_sq, start_sq = np.add.reduceat(vectors, self.offsets, axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            update_ratio = np.sqrt(moved_sq / start_sq)
        dead = np.full((k, len(dense)), np.nan)
        saturated = np.full((k, len(dense)), np.nan)
        for l, (layer, a) in enumerate(zip(dense, self.acts, strict=True)):
            a = a[:k]
            name = layer.activation.name
            if name == "relu":
                # count_nonzero / size: np.mean costs ten times more on arrays this small.
                dead[:, l] = 1.0 - np.count_nonzero((a > 0).any(axis=1), axis=1) / a.shape[2]
            if name in _SATURATION:
                lo, hi = _SATURATION[name]
                outside = np.count_nonzero((a <= lo) | (a >= hi), axis=(1, 2))
                saturated[:, l] = outside / (a.shape[1] * a.shape[2])
        out = (list(self.epochs), list(self.losses), np.sqrt(grad_sq).tolist(),
               update_ratio.tolist(), dead.tolist(), saturated.tolist())
        self.epochs.clear()
        self.losses.clear()
        return out


def _outside_package() -> int:
    """Return the ``stacklevel`` of the first caller outside neuralnet (the user's ``fit`` call)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1  # level 1 is the function calling warnings.warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
