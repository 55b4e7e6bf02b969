"""Layers with the bias absorbed into the weights, and the chain that holds them.

A dense layer maps a batch ``x`` of shape ``(n_samples, n_in)`` to

    a = f([x, 1] @ W),     W of shape (n_in + 1, n_out), the bias its last row.

The column of ones is never built on the hot path: ``[x, 1] @ W = x @ W[:-1] + W[-1]``.
Back-propagation, given ``delta = dL/dz`` of shape ``(n_samples, n_out)``:

    dL/dW[:-1] = x^T @ delta             (the inputs' share)
    dL/dW[-1]  = sum over samples of delta   (the ones column's share: the bias row)
    dL/dx      = delta @ W[:-1]^T        (the constant one has no input to send back to)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from neuralnet import activations as _activations
from neuralnet import initializers as _initializers
from neuralnet._validation import check_positive_int

__all__ = [
    "add_bias",
    "set_bias_as_weight",
    "Layer",
    "FullyConnectedLayer",
    "Dense",
    "Dropout",
    "LayerChain",
    "LayersChain",
]

# Per-batch-size work buffers a layer keeps; the training batch, the last short batch and a
# prediction batch fit, and memory stays bounded when a caller feeds many sizes.
_MAX_CACHED_SIZES = 4


def add_bias(x: np.ndarray) -> np.ndarray:
    """Append a column of ones: ``(n_samples, n) -> (n_samples, n + 1)``; ``(n,) -> (n + 1,)``.

    With it, ``add_bias(x) @ W`` is the affine map ``x @ W[:-1] + W[-1]``.
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"x must be a sample of shape (n,) or a batch of shape (n_samples, n); "
            f"received an array of shape {x.shape}."
        )
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    ones = np.ones(x.shape[:-1] + (1,), dtype=dtype)
    return np.concatenate([x.astype(dtype, copy=False), ones], axis=-1)


def set_bias_as_weight(shape: tuple[int, int]) -> tuple[int, int]:
    """Return the absorbed weight shape: ``(n_in, n_out) -> (n_in + 1, n_out)``."""
    n_in, n_out = _check_shape(shape, "shape")
    return (n_in + 1, n_out)


def _check_shape(shape, name: str) -> tuple[int, int]:
    try:
        n_in, n_out = shape
        valid = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                    for v in (n_in, n_out))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a pair of positive integers "
            f"(n_in, n_out). Received: {name}={shape!r}"
        )
    return int(n_in), int(n_out)


class Layer:
    """The layer contract: ``forward`` and ``backward`` on batches, ``get_config`` to rebuild.

    ``backward`` takes ``dL/da`` for the layer's last output and returns ``dL/dx`` for its
    last input; a layer with weights also fills ``grad`` with ``dL/dW``.
    """

    weights: np.ndarray | None = None
    grad: np.ndarray | None = None
    n_in: int | None = None
    n_out: int | None = None

    @property
    def n_params(self) -> int:
        return 0 if self.weights is None else int(self.weights.size)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError  # abstract

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` given ``dL/da``; does not modify ``grad``."""
        return self._backward(np.array(grad, dtype=self._dtype_of(grad), copy=True), True)

    def _backward(self, grad: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        raise NotImplementedError  # abstract

    def _dtype_of(self, array) -> np.dtype:
        return self.weights.dtype if self.weights is not None else np.asarray(array).dtype

    def get_config(self) -> dict:
        raise NotImplementedError  # abstract

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


class FullyConnectedLayer(Layer):
    """A dense layer ``a = activation([x, 1] @ weights)``; ``weights[-1]`` is the bias.

    Args:
        n_in: number of inputs.
        n_out: number of units.
        activation: a name from ``neuralnet.activations`` or an ``Activation``.
        initializer: how ``initialize_weights`` fills the input rows (see ``neuralnet.initializers``).
        l2: L2 penalty ``l2 / 2 * ||weights[:-1]||^2`` added to the loss; never on the bias row.
        dtype: ``float32`` (default) or ``float64``.
        rng: generator or seed for the initial weights.
        l1: L1 penalty ``l1 * sum |weights[:-1]|`` added to the loss (its subgradient
            ``l1 * sign(weights[:-1])``, 0 at 0 as in PyTorch); never on the bias row.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | _activations.Activation = "sigmoid",
        initializer: str = "he_normal",
        l2: float = 0.0,
        dtype: str | np.dtype = "float32",
        rng: np.random.Generator | int | None = None,
        l1: float = 0.0,
    ) -> None:
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.activation = _activations.get(activation)
        _initializers.get(initializer)  # fail now, not at first use
        self.initializer = initializer
        for name, value in (("l2", l2), ("l1", l1)):
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                    and np.isfinite(value)):
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected a non-negative number. "
                    f"Received: {name}={value!r}"
                )
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.dtype = _check_dtype(dtype)
        self._weights = np.zeros(set_bias_as_weight((self.n_in, self.n_out)), dtype=self.dtype)
        self.grad = np.zeros_like(self._weights)
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self.initialize_weights(initializer, rng)

    @property
    def weights(self) -> np.ndarray:
        """The absorbed weight matrix ``(n_in + 1, n_out)``; its last row is the bias."""
        return self._weights

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        value = np.asarray(value)
        if value.shape != self._weights.shape:
            raise ValueError(
                f"weights must have the absorbed shape (n_in + 1, n_out) = {self._weights.shape}; "
                f"received shape {value.shape}."
            )
        # Copy into the existing array: a network's layers are views of one flat buffer.
        self._weights[...] = value

    @property
    def bias(self) -> np.ndarray:
        """The bias, a view of the last row of ``weights``."""
        return self._weights[-1]

    def initialize_weights(
        self, method: str = "he_normal", rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Fill the input rows with ``method`` (default He normal) and the bias row with zeros."""
        init = _initializers.get(method)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._weights[:-1] = init((self.n_in, self.n_out), rng)
        self._weights[-1] = 0.0
        return self._weights

    def __getstate__(self) -> dict:
        # Work buffers and the last batch are scratch: not worth pickling, and a read-only
        # copy of them (joblib memory-maps large arrays on load) could not be written to.
        return {**self.__dict__, "_cache": {}, "_x": None, "_z": None, "_a": None}

    def _buffers(self, n: int) -> dict[str, np.ndarray]:
        buffers = self._cache.get(n)
        if buffers is None:
            if len(self._cache) >= _MAX_CACHED_SIZES:
                self._cache.pop(next(iter(self._cache)))
            buffers = {"z": np.empty((n, self.n_out), dtype=self.dtype)}
            # Element-wise activations can overwrite z; the output layer keeps z for the loss.
            buffers["a"] = np.empty_like(buffers["z"])
            buffers["ones"] = np.ones(n, dtype=self.dtype)
            self._cache[n] = buffers
        return buffers

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``activation(x @ weights[:-1] + weights[-1])``.

        That is ``activation(add_bias(x) @ weights)`` without building the column of ones.
        The result is a work buffer reused by the next call with the same batch size.
        """
        x = np.asarray(x)
        if x.ndim == 1:
            return self.forward(x[None, :], training)[0].copy()
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"x has shape {x.shape}, but this layer expects (n_samples, {self.n_in})."
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return self._forward_unchecked(x)

    def _forward_unchecked(self, x: np.ndarray) -> np.ndarray:
        """``forward`` for a 2-D ``x`` already of this layer's dtype and width (no checks)."""
        buffers = self._buffers(x.shape[0])
        z = np.matmul(x, self._weights[:-1], out=buffers["z"])
        z += self._weights[-1]
        self._x = x
        self._z = z
        self._a = self.activation.forward(z, out=buffers["a"])
        return self._a

    def _infer(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``activation(x @ W + b)`` written into ``out``, which is returned; nothing recorded."""
        np.matmul(x, self._weights[:-1], out=out)
        out += self._weights[-1]
        return self.activation.forward(out, out=out)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` given ``dL/da`` of the last ``forward``; fill ``grad`` with ``dL/dW``."""
        if self._x is None:
            raise RuntimeError("backward was called before forward; run forward(x) first.")
        return super().backward(grad)

    def _backward(self, grad: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        act = self.activation
        delta = act.backward(self._a, grad, z=self._z) if act.needs_z else act.backward(self._a, grad)
        return self._backward_delta(delta, need_input_grad)

    def _backward_delta(self, delta: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        """Fill ``grad`` from ``delta = dL/dz``; return ``dL/dx`` when asked."""
        np.matmul(self._x.T, delta, out=self.grad[:-1])
        # The bias row's gradient is the column sum of delta, taken as ones @ delta: NumPy's sum
        # over axis 0 of a tall, thin array (1000 x 3) is several times slower than this product.
        np.matmul(self._buffers(len(delta))["ones"], delta, out=self.grad[-1])
        self._add_penalty_gradient()
        if not need_input_grad:
            return None
        return delta @ self._weights[:-1].T

    def penalty(self) -> float:
        """Return ``l2 / 2 * ||weights[:-1]||^2 + l1 * sum |weights[:-1]|``, added to the loss."""
        w = self._weights[:-1]
        value = 0.0
        if self.l2:
            value += 0.5 * self.l2 * float(np.vdot(w, w))
        if self.l1:
            value += self.l1 * float(np.abs(w).sum())
        return value

    def _add_penalty_gradient(self) -> None:
        """Add the penalty's gradient ``l2 W + l1 sign(W)`` (input rows only) to ``grad``."""
        if self.l2:
            self.grad[:-1] += self.l2 * self._weights[:-1]
        if self.l1:
            self.grad[:-1] += self.l1 * np.sign(self._weights[:-1])

    def get_config(self) -> dict:
        return {
            "class_name": "FullyConnectedLayer",
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation.get_config(),
            "initializer": self.initializer if isinstance(self.initializer, str) else "he_normal",
            "l2": self.l2,
            "l1": self.l1,
            "dtype": self.dtype.name,
        }

    def __repr__(self) -> str:
        extra = (f", l2={self.l2}" if self.l2 else "") + (f", l1={self.l1}" if self.l1 else "")
        return (
            f"FullyConnectedLayer({self.n_in}, {self.n_out}, "
            f"activation={self.activation.name!r}{extra})"
        )


Dense = FullyConnectedLayer


class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Active only when ``training`` is true, so ``predict`` sees the whole network
    (https://jmlr.org/papers/v15/srivastava14a.html).
    """

    def __init__(self, rate: float, rng: np.random.Generator | int | None = None) -> None:
        if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
            raise ValueError(
                f"Received an invalid value for `rate`, expected a number in [0, 1). "
                f"Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype == np.float32 else np.float64)
        self._mask = (keep >= self.rate).astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self._mask

    def _backward(self, grad: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        if not need_input_grad:
            return None
        if self._mask is not None:
            grad *= self._mask
        return grad

    def get_config(self) -> dict:
        return {"class_name": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"Received an invalid value for `dtype`, expected 'float32' or 'float64'. "
            f"Received: dtype={dtype!r}"
        )
    return dt


LAYER_CLASSES: dict[str, type[Layer]] = {
    "FullyConnectedLayer": FullyConnectedLayer,
    "Dropout": Dropout,
}


def layer_from_config(config: dict) -> Layer:
    """Rebuild a layer from ``get_config()`` output."""
    config = dict(config)
    name = config.pop("class_name", None)
    if name not in LAYER_CLASSES:
        raise ValueError(
            f"Unknown layer class {name!r} in a layer config; expected one of: "
            f"{', '.join(LAYER_CLASSES)}."
        )
    return LAYER_CLASSES[name](**config)


class LayerChain:
    """A list-like chain of layers, applied in order (Keras ``Sequential``)."""

    def __init__(self, layers: Iterable[Layer] = ()) -> None:
        self._layers: list[Layer] = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Layer) -> None:
        """Add ``layer`` at the end; its input size must match the previous layer's output."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"A LayerChain holds layers (FullyConnectedLayer, Dropout, ...); "
                f"received {layer!r} of type {type(layer).__name__}."
            )
        previous = next((l for l in reversed(self._layers) if l.n_out is not None), None)
        if previous is not None and layer.n_in is not None and layer.n_in != previous.n_out:
            raise ValueError(
                f"Layer {len(self._layers)} ({layer!r}) expects {layer.n_in} inputs, but the "
                f"layer before it ({previous!r}) has {previous.n_out} outputs."
            )
        self._layers.append(layer)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Apply every layer in order."""
        for layer in self._layers:
            x = layer.forward(x, training)
        return x

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.array(self.forward(x), copy=True)

    @property
    def dense(self) -> list[FullyConnectedLayer]:
        """The layers that hold weights, in order."""
        return [l for l in self._layers if l.weights is not None]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return LayerChain(self._layers[index])
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __repr__(self) -> str:
        if not self._layers:
            return "LayerChain([])"
        body = ",\n".join(f"  {layer!r}" for layer in self._layers)
        return f"LayerChain([\n{body},\n])"


LayersChain = LayerChain
