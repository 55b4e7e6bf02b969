"""Loss functions: the value and its gradient, with PyTorch's default ``reduction="mean"``.

Every loss here is a weighted mean of per-sample losses ``l_i``:

    L = sum_i w_i l_i / sum_i w_i            (w_i = 1 without sample weights)

    binary_crossentropy      l_i = -mean_j [y_ij log a_ij + (1 - y_ij) log(1 - a_ij)]
    categorical_crossentropy l_i = -sum_j  y_ij log a_ij          (y one-hot, or integer labels)
    mse                      l_i =  mean_j (a_ij - y_ij)^2
    mae                      l_i =  mean_j |a_ij - y_ij|
    huber                    l_i =  mean_j h(a_ij - y_ij), h(d) = d^2 / 2 if |d| < delta
                                                              else delta (|d| - delta / 2)
    kl_divergence            l_i =  sum_j  y_ij (log y_ij - log a_ij)  (0 where y_ij = 0)
    hinge                    l_i =  mean_j max(0, 1 - y_ij a_ij)      (y in {-1, 1})
    squared_hinge            l_i =  mean_j max(0, 1 - y_ij a_ij)^2
    poisson                  l_i =  mean_j (a_ij - y_ij log(a_ij + 1e-7))

so ``binary_crossentropy`` and ``mse`` average over every element, like
``torch.nn.functional.binary_cross_entropy`` and ``mse_loss``, and ``categorical_crossentropy``
averages over samples, like ``cross_entropy``. ``kl_divergence`` is
``torch.nn.functional.kl_div(log a, y, reduction="batchmean")``; ``hinge``, ``squared_hinge``
and ``poisson`` are Keras's definitions (the last is also PyTorch's
``poisson_nll_loss(a, y, log_input=False, eps=1e-7)``).

The fused output delta. Back-propagation starts from ``dL/dz`` of the output layer. For the
three canonical pairs the activation's derivative cancels the loss's denominator and

    dL/dz_ij = (w_i / sum w) * c * (a_ij - y_ij)

with ``c = 1/k`` for sigmoid + binary cross-entropy (``k`` outputs), ``c = 1`` for softmax +
categorical cross-entropy (and softmax + KL divergence, which differs from it by the targets'
entropy, a constant), and ``c = 2/k`` for linear + mse. This is why ``delta = a - y`` is
right in all three cases (scikit-learn's ``_base.py`` says the same); it is also stabler than
dividing by ``a (1 - a)`` and multiplying it back. Any other pair goes through ``dL/da``
and the activation's own ``backward``.
"""

from __future__ import annotations

import numpy as np

from neuralnet import activations as _act
from neuralnet._registry import lookup
from neuralnet._validation import as_float_array, as_numeric_array

__all__ = [
    "Loss",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "Poisson",
    "HalfPoissonDeviance",
    "binary_crossentropy",
    "categorical_crossentropy",
    "mse",
    "mae",
    "huber",
    "kl_divergence",
    "hinge",
    "squared_hinge",
    "poisson",
    "get",
    "LOSSES",
]

# PyTorch clamps log(p) at -100 in binary_cross_entropy; we do the same so values agree.
_LOG_FLOOR = -100.0


def _weights_over_total(weights: np.ndarray | None, n: int, dtype) -> np.ndarray | float:
    """Return ``w_i / sum w`` as a column, or ``1 / n`` when there are no weights."""
    if weights is None:
        return 1.0 / n
    return (weights / weights.sum()).astype(dtype, copy=False)[:, None]


def _weighted_mean(per_sample: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        return float(per_sample.mean())
    return float(np.dot(per_sample, weights) / weights.sum())


class Loss:
    """Base class: ``value`` and ``gradient`` of the mean loss over a batch.

    Four class attributes tell the rest of the library what the loss is for:

    - ``task``: ``"binary"`` (0/1 labels, one output or several independent ones, each
      thresholded at ``decision_threshold``), ``"multiclass"`` (one class among the outputs,
      taken by arg-max; one-hot, integer-label or probability targets) or ``"regression"``
      (real-valued targets; the default, also for a custom loss that does not set it);
    - ``canonical_activation``: the output activation whose derivative cancels against the
      loss, so that ``dL/dz`` is the fused ``c (a - y)`` (see the module docstring), or None;
    - ``output_activation``: the output activation that suits the loss, the one the CLI
      builds: ``canonical_activation`` when there is one;
    - ``decision_threshold``: for a binary task, the output value from which a sample is
      class 1 (0.5 for a probability, 0 for a hinge margin); None otherwise.
    - ``fuses_with(activation)``: whether this exact loss and that exact activation
      fuse (a subclass of either never does, so its own maths is what runs).
    """

    name: str = ""
    task: str = "regression"
    # The output activation whose derivative cancels against this loss (the fused delta).
    canonical_activation: str | None = None
    output_activation: str = "linear"
    decision_threshold: float | None = None
    # The factor c of the fused delta, as a function of the number of outputs k.
    _fused_scale = staticmethod(lambda k: 1.0)

    @property
    def is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")

    def fuses_with(self, activation) -> bool:
        """Whether ``activation``'s derivative cancels against this loss (the fused delta).

        Only an exact built-in pair fuses: a subclass of either may change the maths, so it
        takes the general path through ``gradient`` and the activation's ``backward``.
        """
        return _FUSED_PAIRS.get(type(self)) is type(activation)

    def fused_scale(self, k: int) -> float:
        """The factor ``c`` of the fused delta ``dL/dz = (w_i / sum w) c (a - y)`` for k outputs."""
        return float(self._fused_scale(k))

    def per_sample(self, y: np.ndarray, a: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Return the loss ``l_i`` of each sample, shape ``(n_samples,)``."""
        raise NotImplementedError  # abstract

    def gradient(self, y: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Return ``d l_i / d a``, the gradient of each sample's loss, shape of ``a``."""
        raise NotImplementedError  # abstract

    def value(
        self,
        y: np.ndarray,
        a: np.ndarray,
        z: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> float:
        """Return the (weighted) mean loss; ``z`` are the logits when the caller has them."""
        return _weighted_mean(self.per_sample(y, a, z), sample_weight)

    def output_delta(
        self,
        y: np.ndarray,
        a: np.ndarray,
        activation: _act.Activation,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
        z: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return ``dL/dz`` of the output layer, fused with ``activation`` where they cancel.

        ``z``, the output layer's pre-activation, is needed when ``activation.needs_z``.
        """
        n, k = a.shape
        if self.fuses_with(activation):
            delta = np.subtract(a, y, out=out)
            delta *= _weights_over_total(sample_weight, n, a.dtype) * self._fused_scale(k)
            return delta
        if activation.needs_z:
            return activation.backward(a, self.output_gradient(y, a, sample_weight), z=z)
        return activation.backward(a, self.output_gradient(y, a, sample_weight))

    def output_gradient(
        self, y: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``dL/da`` of the (weighted) mean loss over the batch, shape of ``a``."""
        grad = np.asarray(self.gradient(y, a), dtype=a.dtype)
        grad *= _weights_over_total(sample_weight, len(a), a.dtype)
        return grad

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        y_pred = as_numeric_array(y_pred, "y_pred")
        y_pred = as_float_array(y_pred, "y_pred", np.result_type(y_pred.dtype, np.float32), (1, 2))
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        if self.canonical_activation in ("sigmoid", "softmax") and (
            (y_pred < 0) | (y_pred > 1)
        ).any():
            raise ValueError(
                f"y_pred must hold probabilities in [0, 1] for {self.name}; received values from "
                f"{y_pred.min():g} to {y_pred.max():g}."
            )
        y_true = as_numeric_array(y_true, "y_true")
        as_float_array(y_true, "y_true", np.float64, (1, 2))  # shape, emptiness, NaN and inf
        return self.value(self.prepare_targets(y_true, y_pred.shape), y_pred)

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int, int]) -> np.ndarray:
        """Return ``y`` with the output's shape ``(n_samples, n_outputs)``; never reshape silently."""
        y = np.asarray(y)
        received = y.shape
        n, k = output_shape
        if y.ndim == 1 and k == 1 and len(y) == n:
            y = y[:, None]
        if y.shape != (n, k):
            raise ValueError(
                f"y has shape {received}, but the network's output has shape {(n, k)}; "
                f"expected y of shape {(n, k)}" + (f" or {(n,)}." if k == 1 else ".")
            )
        return y

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BinaryCrossentropy(Loss):
    """Binary cross-entropy averaged over every element (``torch.nn.functional.binary_cross_entropy``)."""

    name = "binary_crossentropy"
    task = "binary"
    canonical_activation = "sigmoid"
    output_activation = "sigmoid"
    decision_threshold = 0.5
    _fused_scale = staticmethod(lambda k: 1.0 / k)

    def per_sample(self, y, a, z=None):
        if z is not None:
            # log(sigmoid(z)) = -softplus(-z), log(1 - sigmoid(z)) = -softplus(z): no log(0).
            elementwise = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            with np.errstate(divide="ignore"):
                log_a = np.maximum(np.log(a), _LOG_FLOOR)
                log_1ma = np.maximum(np.log1p(-a), _LOG_FLOOR)
            elementwise = -(y * log_a + (1 - y) * log_1ma)
        return elementwise.mean(axis=1)

    def gradient(self, y, a):
        eps = np.finfo(a.dtype).eps
        return (a - y) / np.maximum(a * (1 - a), eps) / a.shape[1]

    def prepare_targets(self, y, output_shape):
        y = super().prepare_targets(y, output_shape)
        if y.size and not ((y == 0) | (y == 1)).all():
            bad = y[(y != 0) & (y != 1)]
            raise ValueError(
                "y must hold labels in {0, 1} for binary_crossentropy; "
                f"received {bad.size} other value(s), such as {bad.flat[0].item()!r}."
            )
        return y


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot targets or integer labels (``torch.nn.functional.cross_entropy``)."""

    name = "categorical_crossentropy"
    task = "multiclass"
    canonical_activation = "softmax"
    output_activation = "softmax"

    def per_sample(self, y, a, z=None):
        if z is not None:
            # -log softmax(z)_j = logsumexp(z) - z_j, with the row maximum shifted out.
            m = z.max(axis=1, keepdims=True)
            lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
            return lse * y.sum(axis=1) - (y * z).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_a = np.maximum(np.log(a), _LOG_FLOOR)
        return -(y * log_a).sum(axis=1)

    def gradient(self, y, a):
        return -y / np.maximum(a, np.finfo(a.dtype).tiny)

    def prepare_targets(self, y, output_shape):
        y = np.asarray(y)
        n, k = output_shape
        if y.ndim == 1 and k > 1:
            return one_hot(y, k, name="y")
        y = super().prepare_targets(y, output_shape)
        if y.size and ((y < 0).any() or (y > 1).any()):
            raise ValueError(
                "y holds values outside [0, 1]; categorical_crossentropy expects one-hot rows "
                f"or integer labels of shape ({n},). Received values from {y.min()} to {y.max()}."
            )
        return y


def one_hot(labels: np.ndarray, n_classes: int, name: str = "y") -> np.ndarray:
    """Return the one-hot matrix ``(n_samples, n_classes)`` of integer ``labels``."""
    labels = np.asarray(labels)
    if labels.size and not np.array_equal(labels, np.round(labels)):
        raise ValueError(
            f"{name} must hold integer class labels in [0, {n_classes - 1}]; "
            f"received non-integer values such as {labels[labels != np.round(labels)][0].item()!r}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{name} holds labels outside [0, {n_classes - 1}] for a network with {n_classes} "
            f"outputs. Received labels from {labels.min():g} to {labels.max():g}."
        )
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1.0
    return out


class MeanSquaredError(Loss):
    """Squared error averaged over every element (``torch.nn.functional.mse_loss``)."""

    name = "mse"
    canonical_activation = "linear"
    output_activation = "linear"
    _fused_scale = staticmethod(lambda k: 2.0 / k)

    def per_sample(self, y, a, z=None):
        d = a - y
        return (d * d).mean(axis=1)

    def gradient(self, y, a):
        return 2.0 * (a - y) / a.shape[1]


class MeanAbsoluteError(Loss):
    """Absolute error averaged over every element (``torch.nn.functional.l1_loss``)."""

    name = "mae"

    def per_sample(self, y, a, z=None):
        return np.abs(a - y).mean(axis=1)

    def gradient(self, y, a):
        return np.sign(a - y) / a.shape[1]


class Huber(Loss):
    """Huber loss, quadratic within ``delta`` and linear outside (``torch.nn.functional.huber_loss``)."""

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        if not (isinstance(delta, (int, float)) and 0 < delta < float("inf")):
            raise ValueError(
                f"Received an invalid value for `delta`, expected a finite positive number. "
                f"Received: delta={delta!r}"
            )
        self.delta = float(delta)

    def per_sample(self, y, a, z=None):
        d = np.abs(a - y)
        return np.where(d < self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta)).mean(
            axis=1
        )

    def gradient(self, y, a):
        return np.clip(a - y, -self.delta, self.delta) / a.shape[1]

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


class HalfPoissonDeviance(Loss):
    """Half the Poisson deviance, averaged over every element (scikit-learn's ``loss='poisson'``).

        l_i = mean_j [y_ij log(y_ij / a_ij) - y_ij + a_ij]       (0 log 0 = 0)

    With the exponential output ``a = exp(z)``, ``dl_i/dz_ij = (a_ij - y_ij) / k``: the fused
    delta with ``c = 1/k``. scikit-learn sums over the ``k`` outputs instead of averaging.
    ``poisson`` (Keras's ``a - y log(a + 1e-7)``) differs from it by terms without the weights.
    """

    name = "half_poisson"
    task = "regression"
    canonical_activation = "exponential"
    output_activation = "exponential"
    _fused_scale = staticmethod(lambda k: 1.0 / k)

    def per_sample(self, y, a, z=None):
        log_a = z if z is not None else np.log(np.maximum(a, np.finfo(a.dtype).tiny))
        positive = y > 0
        y_log_y = np.where(positive, y * np.log(np.where(positive, y, 1)), 0)
        return (y_log_y - y * log_a - y + a).mean(axis=1)

    def gradient(self, y, a):
        return (1.0 - y / np.maximum(a, np.finfo(a.dtype).tiny)) / a.shape[1]

    def prepare_targets(self, y, output_shape):
        y = super().prepare_targets(y, output_shape)
        if y.size and (y < 0).any():
            raise ValueError(
                f"loss='poisson' needs targets y >= 0; received values down to {y.min():g}."
            )
        return y


# Each built-in loss and the built-in output activation whose derivative cancels against it.
_FUSED_PAIRS: dict[type, type] = {}


def _xlogy(y: np.ndarray) -> np.ndarray:
    """``y log y``, 0 where ``y`` is 0 (its limit), as ``torch.xlogy(y, y)``."""
    positive = y > 0
    return np.where(positive, y * np.log(np.where(positive, y, 1)), 0).astype(y.dtype, copy=False)


class KLDivergence(Loss):
    """Kullback-Leibler divergence ``sum_j y_j log(y_j / a_j)`` of the outputs from probability targets.

    ``torch.nn.functional.kl_div(log a, y, reduction="batchmean")``: summed over the outputs,
    averaged over samples. With a softmax output it is categorical cross-entropy minus the
    targets' entropy, which does not depend on the weights, so the gradients are the same:
    ``dL/dz = (a - y) / m``. Integer labels are taken as one-hot rows.
    """

    name = "kl_divergence"
    task = "multiclass"
    canonical_activation = "softmax"
    output_activation = "softmax"
    # Rows of y must sum to 1 within this (float32 probabilities do not add up exactly).
    _ROW_SUM_TOLERANCE = 1e-3

    def per_sample(self, y, a, z=None):
        if z is not None:
            # log softmax(z)_j = z_j - logsumexp(z), with the row maximum shifted out.
            m = z.max(axis=1, keepdims=True)
            log_a = z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))
        else:
            with np.errstate(divide="ignore"):
                log_a = np.maximum(np.log(a), _LOG_FLOOR)
        return (_xlogy(y) - y * log_a).sum(axis=1)

    def gradient(self, y, a):
        return -y / np.maximum(a, np.finfo(a.dtype).tiny)

    def output_delta(self, y, a, activation, sample_weight=None, out=None, z=None):
        if not self.fuses_with(activation):
            return super().output_delta(y, a, activation, sample_weight, out, z=z)
        # dL/dz_j = a_j sum_k y_k - y_j exactly, which is a - y for rows that sum to 1.
        delta = np.multiply(a, y.sum(axis=1, keepdims=True), out=out)
        delta -= y
        delta *= _weights_over_total(sample_weight, len(a), a.dtype)
        return delta

    def prepare_targets(self, y, output_shape):
        y = np.asarray(y)
        n, k = output_shape
        if y.ndim == 1 and k > 1:
            return one_hot(y, k, name="y")
        y = super().prepare_targets(y, output_shape)
        if y.size and ((y < 0).any() or (y > 1).any()):
            raise ValueError(
                "y must hold probabilities in [0, 1] for kl_divergence (one distribution per "
                f"row, or integer labels of shape ({n},)); received values from {y.min():g} "
                f"to {y.max():g}."
            )
        sums = y.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1) > self._ROW_SUM_TOLERANCE)
        if off.size:
            raise ValueError(
                "y's rows must be probability distributions summing to 1 for kl_divergence; "
                f"{off.size} row(s) do not, such as row {off[0]}, which sums to {sums[off[0]]:g}."
            )
        return y


def _plus_minus_one(y: np.ndarray, name: str) -> np.ndarray:
    """Return labels in {-1, 1}: given as such, or as {0, 1} (0 read as -1)."""
    if not y.size:
        return y
    if ((y == -1) | (y == 1)).all():
        return y
    if ((y == 0) | (y == 1)).all():
        return 2 * y - 1
    bad = y[(y != -1) & (y != 0) & (y != 1)]
    received = (f"{bad.size} other value(s), such as {bad.flat[0].item()!r}" if bad.size
                else "both -1 and 0")
    raise ValueError(
        f"y must hold labels in {{-1, 1}} or in {{0, 1}} for {name}; received {received}."
    )


class Hinge(Loss):
    """Hinge loss ``mean_j max(0, 1 - y_j a_j)``: margins ``a``, labels ``y`` in {-1, 1} (Keras: ``hinge``).

    Labels in {0, 1} are read as {-1, 1}. The output is linear (a margin, not a probability):
    a sample is class 1 where ``a >= 0``. At the hinge, ``y a = 1``, the subgradient taken is 0.
    """

    name = "hinge"
    task = "binary"
    decision_threshold = 0.0

    def per_sample(self, y, a, z=None):
        return np.maximum(1.0 - y * a, 0.0).mean(axis=1)

    def gradient(self, y, a):
        return np.where(y * a < 1.0, -y, 0.0).astype(a.dtype, copy=False) / a.shape[1]

    def prepare_targets(self, y, output_shape):
        return _plus_minus_one(super().prepare_targets(y, output_shape), self.name)


class SquaredHinge(Hinge):
    """Squared hinge ``mean_j max(0, 1 - y_j a_j)^2`` (Keras: ``squared_hinge``); labels as for ``hinge``."""

    name = "squared_hinge"

    def per_sample(self, y, a, z=None):
        margin = np.maximum(1.0 - y * a, 0.0)
        return (margin * margin).mean(axis=1)

    def gradient(self, y, a):
        return -2.0 * y * np.maximum(1.0 - y * a, 0.0) / a.shape[1]


class Poisson(Loss):
    """Poisson loss ``mean_j (a_j - y_j log(a_j + 1e-7))``: rates ``a``, counts ``y`` (Keras: ``poisson``).

    The negative log-likelihood of ``y ~ Poisson(a)`` without its constant ``log y!``; PyTorch's
    ``poisson_nll_loss(a, y, log_input=False, eps=1e-7)``. The rates must be non-negative: give
    the output layer an ``exponential`` (the default here) or ``softplus`` activation.
    """

    name = "poisson"
    output_activation = "exponential"
    epsilon = 1e-7

    def per_sample(self, y, a, z=None):
        if (a < 0).any():  # NaN passes: a diverged network is reported as such by the caller
            raise ValueError(
                f"poisson needs non-negative predictions (rates); received values down to "
                f"{a.min():g}. Give the output layer an exponential or softplus activation."
            )
        return (a - y * np.log(a + self.epsilon)).mean(axis=1)

    def gradient(self, y, a):
        return (1.0 - y / (a + self.epsilon)) / a.shape[1]

    def prepare_targets(self, y, output_shape):
        y = super().prepare_targets(y, output_shape)
        if y.size and (y < 0).any():
            raise ValueError(
                "y must hold non-negative values (counts or rates) for poisson; received values "
                f"down to {y.min():g}."
            )
        return y


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError, Huber,
                KLDivergence, Hinge, SquaredHinge, Poisson, HalfPoissonDeviance)
}
_ALIASES = {
    "bce": "binary_crossentropy",
    "binary_cross_entropy": "binary_crossentropy",
    "cross_entropy": "categorical_crossentropy",
    "categorical_cross_entropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "categorical_crossentropy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "l1": "mae",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
}


_FUSED_PAIRS.update({
    BinaryCrossentropy: _act.Sigmoid,
    CategoricalCrossentropy: _act.Softmax,
    MeanSquaredError: _act.Linear,
    KLDivergence: _act.Softmax,
    HalfPoissonDeviance: _act.Exponential,
})


def for_activation(activation) -> Loss:
    """Return the loss a network whose output is ``activation`` gets when none is given.

    softmax -> categorical cross-entropy, sigmoid -> binary cross-entropy, anything else
    (linear, tanh, ...) -> mean squared error.
    """
    name = getattr(activation, "name", None)
    if name == "softmax":
        return CategoricalCrossentropy()
    if name == "sigmoid":
        return BinaryCrossentropy()
    return MeanSquaredError()


def get(identifier: str | Loss | dict) -> Loss:
    """Return the loss named by ``identifier`` (a name, a config dict, or an instance)."""
    return lookup(identifier, kind="loss", base=Loss, registry=LOSSES, aliases=_ALIASES)


def binary_crossentropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``y_pred`` against labels ``y_true``."""
    return BinaryCrossentropy()(y_true, y_pred)


def categorical_crossentropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean cross-entropy of probability rows ``y_pred`` against one-hot or integer ``y_true``."""
    return CategoricalCrossentropy()(y_true, y_pred)


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error over every element."""
    return MeanSquaredError()(y_true, y_pred)


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error over every element."""
    return MeanAbsoluteError()(y_true, y_pred)


def huber(y_true: np.ndarray, y_pred: np.ndarray, delta: float = 1.0) -> float:
    """Mean Huber loss over every element."""
    return Huber(delta)(y_true, y_pred)


def kl_divergence(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over samples of ``sum_j y log(y / y_pred)``: probability rows against target rows."""
    return KLDivergence()(y_true, y_pred)


def hinge(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of ``max(0, 1 - y_true * y_pred)``, labels in {-1, 1} or {0, 1}."""
    return Hinge()(y_true, y_pred)


def squared_hinge(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of ``max(0, 1 - y_true * y_pred)^2``, labels in {-1, 1} or {0, 1}."""
    return SquaredHinge()(y_true, y_pred)


def poisson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of ``y_pred - y_true * log(y_pred + 1e-7)``, non-negative rates ``y_pred``."""
    return Poisson()(y_true, y_pred)
