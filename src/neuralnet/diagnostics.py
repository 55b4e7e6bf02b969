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

import copy

import numpy as np

from neuralnet._validation import check_positive_number
from neuralnet.layers import LAYER_CLASSES, FullyConnectedLayer, add_bias

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
            shapes = row["shape"] if row["shape"] and isinstance(row["shape"][0], tuple) \
                else [row["shape"]]
            shape = "+".join("x".join(map(str, sh)) for sh in shapes)
            lines.append(
                f"{row['layer']:<6}{shape:>12}{row['checked']:>9}{row['max_abs_error']:>14.3e}"
                f"{row['max_rel_error']:>14.3e}  {'pass' if row['passed'] else 'FAIL'}"
            )
        return "\n".join(lines)


def _float64_copy(model):
    """Return a float64 twin of ``model``: same layers, activations, loss, penalties and weights."""
    from neuralnet.model import NeuralNet

    model.check_built()
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        if "dtype" in config:
            config["dtype"] = "float64"
        if "activation" in config and hasattr(layer, "activation"):
            # The object itself: a user's activation need not be registered to be checked.
            config["activation"] = copy.deepcopy(layer.activation)
        name = config.pop("class_name", None)
        cls = LAYER_CLASSES.get(name, type(layer))
        layers.append(cls(**config))
    twin = NeuralNet(layers, loss=model.loss_fn, dtype="float64")
    if not twin.built:
        twin.build(model.n_features)
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    return twin


def _fix_randomness(twin, seed: int) -> None:
    """Give every layer that draws random numbers (Dropout) the same generator state again."""
    for layer in twin.layers:
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(seed)


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
    its entries do. Both sides come from the training step ``fit`` really runs (the fused one
    where it applies), in training mode; layers that draw random numbers (Dropout) get the same
    generator state at every evaluation, so the loss is a deterministic function.

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
    epsilon = check_positive_number(epsilon, "epsilon")
    rtol = check_positive_number(rtol, "rtol")
    atol = check_positive_number(atol, "atol")
    if max_checks is not None and (
        isinstance(max_checks, bool) or not isinstance(max_checks, int) or max_checks <= 0
    ):
        raise ValueError(
            f"Received an invalid value for `max_checks`, expected a positive integer or None. "
            f"Received: max_checks={max_checks!r}"
        )
    from neuralnet import _fastpath

    twin = _float64_copy(model)
    X = twin.check_X(X)
    targets = twin.check_y(y, len(X))
    sample_weight = twin.check_sample_weight(sample_weight, len(X))
    # The step fit runs (the fused one where it applies), in training mode, with the same
    # random numbers (dropout masks) at every call, so the loss is a deterministic function.
    step = _fastpath.train_step(twin, len(X), sample_weight)

    def loss() -> float:
        _fix_randomness(twin, seed)
        return step(X, targets, sample_weight)

    with np.errstate(over="ignore", invalid="ignore"):
        loss()
        analytic_all = twin.flat_grad.copy()
        flat = twin.flat_weights  # editing an entry moves that weight
        rng = np.random.default_rng(seed)
        result = GradientCheck()
        for l, (layer, start, stop) in enumerate(twin.parameter_offsets):
            n = stop - start
            idx = np.arange(n) if max_checks is None or max_checks >= n else rng.choice(
                n, max_checks, replace=False
            )
            numeric = np.empty(len(idx))
            for k, i in enumerate(idx):
                saved = flat[start + i]
                flat[start + i] = saved + epsilon
                plus = loss()
                flat[start + i] = saved - epsilon
                minus = loss()
                flat[start + i] = saved
                numeric[k] = (plus - minus) / (2 * epsilon)
            backprop = analytic_all[start:stop][idx]
            abs_err = np.abs(backprop - numeric)
            rel_err = abs_err / np.maximum(np.abs(backprop) + np.abs(numeric),
                                           np.finfo(float).tiny)
            shapes = [tuple(p.shape) for p in layer.params.values()]
            result.append({
                "layer": l + 1,
                "shape": shapes[0] if len(shapes) == 1 else tuple(shapes),
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
    "elu": "(1 if A > 0 else A + alpha)",
    "selu": "(scale if A > 0 else A + scale alpha)",
    "softplus": "(1 - exp(-A))",
    "exponential": "A",
    "gelu": "(Phi(Z) + Z phi(Z))",
    "gelu_tanh": "gelu_tanh'(Z)",
    "silu": "s(Z) (1 + Z (1 - s(Z)))",
    "mish": "mish'(Z)",
}
_FUSED = {
    "binary_crossentropy": "(A - Y) / (m k)",
    "categorical_crossentropy": "(A - Y) / m",
    "kl_divergence": "(A - Y) / m",
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
    X = twin.check_X(X)
    n_total = len(X)
    X = X[:max_samples]
    m, k = len(X), twin.n_outputs
    if y is None:
        targets = np.zeros((m, k))
        if twin.loss_fn.task == "multiclass":
            targets[:, 0] = 1.0
        y_note = "no y given, so every target is 0 (class 0): the shapes are the same"
    else:
        targets = twin.check_y(y, n_total)[:m]
        y_note = f"Y {_shape(targets)}"
    lines = [
        f"{model!r}",
        f"batch: the first m = {m} of {n_total} samples, X {_shape(X)}; {y_note}",
        "",
        "Forward pass   (A_0 = X)",
    ]
    # Each step of the trace: ("dense", layer, [A, 1], A_out) or ("other", layer, A_in, A_out).
    steps, l = [], 0
    A = X
    for layer in twin.layers:
        if not isinstance(layer, FullyConnectedLayer):
            A_next = layer.forward(A, training=False)
            note = "inactive outside training, A passes through" if A_next is A else \
                "its own forward, in inference mode:"
            lines.append(f"  {layer!r}: {note} {_shape(A_next)}")
            steps.append(("other", layer, A, A_next))
            A = A_next
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
        steps.append(("dense", layer, Ab, A_next, Z))
        A = A_next
    L = l
    loss_fn = twin.loss_fn
    loss_value = loss_fn.value(targets, A)
    lines += ["", f"Loss   L = {loss_fn.name}(Y, A_{L}) = {loss_value:.6f}   (k = {k} outputs)",
              "", "Backward pass"]

    grads = []
    grad = None  # dL/dA of the step being walked back through
    i = L
    for step in reversed(steps):
        if step[0] == "other":
            _, layer, A_in, A_out = step
            if grad is None:
                grad = loss_fn.output_gradient(targets, A_out)
            layer.forward(A_in, training=False)
            grad = layer.backward(grad)
            lines.append(f"  {layer!r}: dL/dA passes back through its own backward {_shape(grad)}")
            continue
        _, layer, Ab, A_out, Z = step
        act = layer.activation
        if grad is None:
            delta = loss_fn.output_delta(targets, A_out, act, z=Z)
            if loss_fn.fuses_with(act) and loss_fn.name in _FUSED:
                rule = _FUSED[loss_fn.name].replace("A", f"A_{i}")
                why = f"{act.name}'s derivative cancels in {loss_fn.name}"
            else:
                rule = f"dL/dA_{i} * {act.name}'(Z_{i})"
                why = ""
            lines += [f"  layer {i}:", _row(f"delta_{i}", f"dL/dZ_{i} = {rule}", delta, why)]
        else:
            delta = act.backward(A_out, grad.copy(), z=Z) if act.needs_z else \
                act.backward(A_out, grad.copy())
            derivative = _DERIVATIVES.get(act.name)
            local = (
                f"dL/dA_{i} * {derivative.replace('A', f'A_{i}').replace('Z', f'Z_{i}')}"
                if derivative
                else f"{act.name} Jacobian @ dL/dA_{i}"
            )
            lines += [f"  layer {i}:", _row(f"delta_{i}", local, delta)]
        W = layer.weights
        g = Ab.T @ delta
        layer_penalty = ""
        if layer.l2:
            g[:-1] += layer.l2 * W[:-1]
            layer_penalty += f" + l2 W_{i}[:-1]"
        if getattr(layer, "l1", 0):
            g[:-1] += layer.l1 * np.sign(W[:-1])
            layer_penalty += f" + l1 sign(W_{i}[:-1])"
        grads.append(g)
        lines.append(_row(f"dL/dW_{i}", f"[A_{i - 1}, 1]^T @ delta_{i}{layer_penalty}", g,
                          f"the shape of W_{i}"))
        if i == 1:
            break
        grad = delta @ W[:-1].T
        lines.append(_row(f"dL/dA_{i - 1}", f"delta_{i} @ W_{i}[:-1]^T", grad,
                          "the bias row sends nothing down"))
        i -= 1
    grads.reverse()

    twin.gradients(X, targets, training=False)  # fills every layer's grad
    diff = max(
        float(np.abs(g - layer.grad).max())
        for g, layer in zip(grads, twin.layers.dense, strict=True)
    )
    lines += ["", f"These gradients match the library's back-propagation to {diff:.1e}."]
    text = "\n".join(lines)
    if verbose:
        print(text)
    return text


# The training monitor lives beside the loop it watches; kept importable from here.
from neuralnet.training import TrainingMonitor, TrainingWarning  # noqa: E402
