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

from neuralnet import _memory
from neuralnet import activations as _activations
from neuralnet import initializers as _initializers
from neuralnet._validation import (
    _is_real,
    check_non_negative,
    check_positive_int,
    check_positive_number,
    check_seed,
    invalid_value,
)
from neuralnet._validation import check_dtype as _check_dtype
from neuralnet._validation import check_shape as _check_shape

__all__ = [
    "add_bias",
    "set_bias_as_weight",
    "Layer",
    "FullyConnectedLayer",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "GaussianNoise",
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


class Layer:
    """The layer contract: what every layer provides, and all the rest of the library uses.

    A layer maps a batch ``x`` of shape ``(n_samples, n_in)`` to ``(n_samples, n_out)``.

    Sizes. ``n_in`` and ``n_out`` are ``None`` until the layer is built. ``build(n_in, dtype,
    rng)`` learns the input size (and dtype) from the layer before it, or from the data at the
    first ``fit``, and creates the parameters; a layer given its sizes builds itself at once.
    The base class's ``build`` keeps the size (``n_out = n_in``) and creates nothing.

    Parameters. ``params`` maps a name to each trainable array, ``grads`` maps the same names to
    arrays of the same shapes that ``backward`` fills with ``dL/dparam``, and ``state`` maps a
    name to each array that is saved but not trained (a moving average). A network keeps every
    trainable array in one flat buffer: after building it rebinds ``params[name]`` and
    ``grads[name]`` to views of that buffer, so a layer must read them from the dicts, never
    from a copy it kept. ``get_weights()`` lists ``params`` then ``state``, in order.

    Computing. ``forward(x, training)`` returns the outputs and keeps what ``backward`` needs;
    ``training`` is true inside ``fit`` only (Dropout and noise act then). ``backward(grad)``
    takes ``dL/da`` for the last ``forward``'s outputs, fills ``grads`` and returns ``dL/dx``
    (``None`` is allowed when ``needs_input_grad`` is false: the network sets it false on its
    first layer, whose input is the data); it must not modify ``grad``. ``infer(x)`` computes the
    outputs for prediction and records nothing, so that many threads may call it at once.
    ``same_in_training`` is false for a layer whose training outputs differ from its inference
    outputs (Dropout, noise, batch statistics): the training monitor then reads the units from
    an inference pass rather than from the training batch.
    ``penalty()`` is the regularisation term the layer adds to the loss (its gradient is added
    by ``backward``).

    Rebuilding. ``get_config()`` returns the constructor's arguments (plus ``class_name``, the
    registered name), so ``layer_from_config(config)`` rebuilds the layer;
    ``reset_parameters(rng)`` draws fresh initial parameters.

    A new kind of layer subclasses this, sets ``name``, and is registered with
    ``neuralnet.register`` so that model files naming it load.
    """

    name: str = ""
    needs_input_grad: bool = True
    same_in_training: bool = True

    def __init__(self) -> None:
        self.n_in: int | None = None
        self.n_out: int | None = None
        self.dtype: np.dtype | None = None
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.outputs: np.ndarray | None = None

    # ---------------------------------------------------------------- building
    @property
    def built(self) -> bool:
        return self.n_out is not None

    def build(self, n_in: int, dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        """Learn the input size ``n_in`` and create the parameters (none here: ``n_out = n_in``)."""
        self.n_in = self.n_out = check_positive_int(n_in, "n_in")
        self.dtype = _check_dtype(dtype)

    def reset_parameters(self, rng: np.random.Generator | None = None) -> None:
        """Draw fresh initial parameters from ``rng`` (rebuilds the layer by default)."""
        if self.built:
            self.build(self.n_in, self.dtype, rng)

    @property
    def n_params(self) -> int:
        """The number of trainable values."""
        return int(sum(p.size for p in self.params.values()))

    @property
    def n_non_trainable(self) -> int:
        """The number of saved values that are not trained (moving statistics)."""
        return int(sum(s.size for s in self.state.values()))

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of ``params`` then ``state``, in order (Keras's order)."""
        return [a.copy() for a in (*self.params.values(), *self.state.values())]

    def set_weights(self, weights) -> None:
        """Set ``params`` then ``state`` in place from arrays of the same shapes."""
        targets = [*self.params.items(), *self.state.items()]
        if len(weights) != len(targets):
            raise ValueError(
                f"set_weights of {self!r} expects {len(targets)} arrays "
                f"({', '.join(name for name, _ in targets) or 'none'}); received {len(weights)}."
            )
        checked = []
        for (name, target), w in zip(targets, weights, strict=True):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(
                    f"{name} of {self!r} has shape {target.shape}; received an array of shape "
                    f"{w.shape}."
                )
            checked.append(w)
        for (_, target), w in zip(targets, checked, strict=True):
            target[...] = w  # in place: the arrays are views of the network's flat buffer

    # --------------------------------------------------------------- computing
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError  # abstract

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx`` given ``dL/da`` of the last ``forward``; fill ``grads``."""
        raise NotImplementedError  # abstract

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Return the outputs for prediction (``forward`` in inference mode by default)."""
        return self.forward(x, training=False)

    def penalty(self) -> float:
        """Return the regularisation term this layer adds to the loss (none by default)."""
        return 0.0

    def get_config(self) -> dict:
        return {"class_name": self.name or type(self).__name__}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or (self.n_in is not None and x.shape[1] != self.n_in):
            expected = self.n_in if self.n_in is not None else "n_in"
            raise ValueError(
                f"x has shape {x.shape}, but this layer expects (n_samples, {expected})."
            )
        return x


def _check_penalty(value, name: str) -> float:
    return check_non_negative(value, name)


class FullyConnectedLayer(Layer):
    """A dense layer ``a = activation([x, 1] @ weights)``; ``weights[-1]`` is the bias.

    ``FullyConnectedLayer(n_in, n_out, activation)`` is the article's form. With one size,
    ``FullyConnectedLayer(n_out, activation=...)`` (or ``Dense(units, activation=...)``, Keras's
    form) learns ``n_in`` from the layer before it, or from the data at the first ``fit``.

    Args:
        n_in: number of inputs (or, when ``n_out`` is not given, the number of units).
        n_out: number of units.
        activation: a name from ``neuralnet.activations`` or an ``Activation``.
        initializer: how ``initialize_weights`` fills the input rows (see ``neuralnet.initializers``).
        l2: L2 penalty ``l2 / 2 * ||weights[:-1]||^2`` added to the loss; never on the bias row.
        dtype: ``float32`` (default) or ``float64``; ``None`` takes the network's.
        rng: generator or seed for the initial weights.
        l1: L1 penalty ``l1 * sum |weights[:-1]|`` added to the loss (its subgradient
            ``l1 * sign(weights[:-1])``, 0 at 0 as in PyTorch); never on the bias row.
    """

    name = "FullyConnectedLayer"

    def __init__(
        self,
        n_in: int,
        n_out: int | None = None,
        activation: str | _activations.Activation = "sigmoid",
        initializer: str = "he_normal",
        l2: float = 0.0,
        dtype: str | np.dtype | None = "float32",
        rng: np.random.Generator | int | None = None,
        l1: float = 0.0,
    ) -> None:
        super().__init__()
        if n_out is None:
            n_in, n_out = None, n_in
        self.units = check_positive_int(n_out, "n_out")
        self.activation = _activations.get(activation)
        _initializers.get(initializer)  # fail now, not at first use
        self.initializer = initializer
        self.l2 = float(_check_penalty(l2, "l2"))
        self.l1 = float(_check_penalty(l1, "l1"))
        self._dtype_arg = None if dtype is None else _check_dtype(dtype)
        rng = check_seed(rng, "rng")
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        if n_in is not None:
            self.build(check_positive_int(n_in, "n_in"), self._dtype_arg or np.float32, rng)

    def build(self, n_in: int, dtype=np.float32, rng=None) -> None:
        """Create the ``(n_in + 1, n_out)`` weights: He normal input rows, a zero bias row."""
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = self.units
        self.dtype = self._dtype_arg or _check_dtype(dtype)
        shape = set_bias_as_weight((self.n_in, self.n_out))
        self.params = {"weights": np.zeros(shape, dtype=self.dtype)}
        self.grads = {"weights": np.zeros(shape, dtype=self.dtype)}
        self._cache = {}
        self.initialize_weights(self.initializer, rng)

    def reset_parameters(self, rng=None) -> None:
        if self.built:
            self.initialize_weights(self.initializer, rng)

    def _require_built(self) -> None:
        if not self.built:
            raise RuntimeError(
                f"{self!r} is not built yet: its input size is learnt from the layer before it "
                "or from the data at the first fit; call build(n_in) to build it now."
            )

    @property
    def weights(self) -> np.ndarray:
        """The absorbed weight matrix ``(n_in + 1, n_out)``; its last row is the bias."""
        self._require_built()
        return self.params["weights"]

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        value = np.asarray(value)
        if value.shape != self.weights.shape:
            raise ValueError(
                f"weights must have the absorbed shape (n_in + 1, n_out) = {self.weights.shape}; "
                f"received shape {value.shape}."
            )
        # Copy into the existing array: a network's layers are views of one flat buffer.
        self.params["weights"][...] = value

    @property
    def grad(self) -> np.ndarray:
        """``dL/dweights`` of the last ``backward``, shaped like ``weights``."""
        self._require_built()
        return self.grads["weights"]

    @property
    def bias(self) -> np.ndarray:
        """The bias, a view of the last row of ``weights``."""
        return self.weights[-1]

    def initialize_weights(
        self, method: str = "he_normal", rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Fill the input rows with ``method`` (default He normal) and the bias row with zeros."""
        init = _initializers.get(method)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        values = np.asarray(init((self.n_in, self.n_out), rng))
        if values.shape != (self.n_in, self.n_out) or not np.isfinite(values).all():
            raise ValueError(
                f"Received an invalid value for `initializer`: {method!r} returned an array of "
                f"shape {values.shape}, expected finite values of shape (n_in, n_out) = "
                f"{(self.n_in, self.n_out)}."
            )
        w = self.weights
        w[:-1] = values
        w[-1] = 0.0
        return w

    def __getstate__(self) -> dict:
        # Work buffers and the last batch are scratch: not worth pickling, and a read-only
        # copy of them (joblib memory-maps large arrays on load) could not be written to.
        return {**self.__dict__, "_cache": {}, "_x": None, "_z": None, "outputs": None}

    def _buffers(self, n: int) -> dict[str, np.ndarray]:
        buffers = self._cache.get(n)
        if buffers is None:
            if len(self._cache) >= _MAX_CACHED_SIZES:
                self._cache.pop(next(iter(self._cache)))
            buffers = {"z": _memory.empty((n, self.n_out), self.dtype)}
            # Element-wise activations can overwrite z; the output layer keeps z for the loss.
            buffers["a"] = _memory.empty_like(buffers["z"])
            buffers["ones"] = np.ones(n, dtype=self.dtype)
            self._cache[n] = buffers
        return buffers

    # --------------------------------------------------------------- computing
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``activation(x @ weights[:-1] + weights[-1])``.

        That is ``activation(add_bias(x) @ weights)`` without building the column of ones.
        The result is a work buffer reused by the next call with the same batch size.
        """
        x = np.asarray(x)
        if x.ndim == 1:
            return self.forward(x[None, :], training)[0].copy()
        self._require_built()
        x = self._check_input(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        buffers = self._buffers(x.shape[0])
        z = self.affine(x, out=buffers["z"])
        self.record(x, z, self.activation.forward(z, out=buffers["a"]))
        return self.outputs

    def affine(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return the pre-activation ``z = [x, 1] @ W = x @ W[:-1] + W[-1]``."""
        W = self.weights
        z = np.matmul(x, W[:-1], out=out)
        z += W[-1]
        return z

    def infer(self, x: np.ndarray) -> np.ndarray:
        """``activation([x, 1] @ W)`` in a new array; nothing recorded (thread-safe)."""
        z = self.affine(x)
        return self.activation.forward(z, out=z)

    def record(self, x: np.ndarray, z: np.ndarray, a: np.ndarray) -> None:
        """Keep the input, pre-activation and output ``backward`` works from.

        ``forward`` calls it; a fused training step that computed them itself does too.
        """
        self._x, self._z, self.outputs = x, z, a

    @property
    def inputs(self) -> np.ndarray | None:
        """The input ``x`` of the last ``forward``."""
        return self._x

    @property
    def preactivation(self) -> np.ndarray | None:
        """The pre-activation ``z`` of the last ``forward``."""
        return self._z

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx`` given ``dL/da`` of the last ``forward``; fill ``grad`` with ``dL/dW``."""
        if self._x is None:
            raise RuntimeError("backward was called before forward; run forward(x) first.")
        grad = np.array(grad, dtype=self.dtype, copy=True)
        if getattr(self.activation, "needs_z", False):
            delta = self.activation.backward(self.outputs, grad, z=self._z)
        else:
            delta = self.activation.backward(self.outputs, grad)
        return self.backward_delta(delta)

    def backward_delta(self, delta: np.ndarray) -> np.ndarray | None:
        """Fill ``grad`` from ``delta = dL/dz`` (the activation skipped); return ``dL/dx``.

        The network calls it directly when the loss's gradient and the output activation's
        derivative cancel (see ``neuralnet.losses``).
        """
        W, g = self.weights, self.grad
        np.matmul(self._x.T, delta, out=g[:-1])
        # The bias row's gradient is the column sum of delta, taken as ones @ delta: NumPy's sum
        # over axis 0 of a tall, thin array (1000 x 3) is several times slower than this product.
        np.matmul(self._buffers(len(delta))["ones"], delta, out=g[-1])
        self.add_penalty_gradient()
        if not self.needs_input_grad:
            return None
        return delta @ W[:-1].T

    def add_penalty_gradient(self) -> None:
        """Add the L2 and L1 terms' gradients to ``grad`` (never on the bias row)."""
        if self.l2:
            self.grad[:-1] += self.l2 * self.weights[:-1]
        if self.l1:
            self.grad[:-1] += self.l1 * np.sign(self.weights[:-1])

    def penalty(self) -> float:
        """Return ``l2 / 2 * ||weights[:-1]||^2 + l1 * sum |weights[:-1]|``."""
        if not (self.l2 or self.l1):
            return 0.0
        w = self.weights[:-1]
        value = 0.5 * self.l2 * float(np.vdot(w, w)) if self.l2 else 0.0
        return value + (self.l1 * float(np.abs(w).sum()) if self.l1 else 0.0)

    def get_config(self) -> dict:
        config = {
            "class_name": "FullyConnectedLayer",
            "n_in": self.n_in,
            "n_out": self.units,
            "activation": self.activation.get_config(),
            "initializer": self.initializer if isinstance(self.initializer, str) else "he_normal",
            "l2": self.l2,
            "dtype": None if self.dtype is None else self.dtype.name,
        }
        if self.l1:
            config["l1"] = self.l1
        return config

    def __repr__(self) -> str:
        extra = f", l2={self.l2}" if self.l2 else ""
        extra += f", l1={self.l1}" if self.l1 else ""
        if self.n_in is None:
            return f"Dense({self.units}, activation={self.activation.name!r}{extra})"
        return (
            f"FullyConnectedLayer({self.n_in}, {self.n_out}, "
            f"activation={self.activation.name!r}{extra})"
        )


class Dense(FullyConnectedLayer):
    """Keras's dense layer: ``Dense(units, activation=None, ...)``, the input size learnt.

    ``Dense(64, activation="relu")`` takes its input size from the layer before it (or from the
    data at the first ``fit``); the default activation is linear, as in Keras.
    ``Dense(n_in, n_out, activation)``, the article's form, still works and means
    ``FullyConnectedLayer(n_in, n_out, activation)``.
    """

    def __init__(self, units: int, activation=None, *args, input_dim: int | None = None,
                 **kwargs) -> None:
        if isinstance(activation, (int, np.integer)) and not isinstance(activation, bool):
            # Dense(n_in, n_out, activation, ...): the article's FullyConnectedLayer form.
            super().__init__(units, int(activation), *args, **kwargs)
            return
        if args:
            raise TypeError(
                "Dense takes (units, activation=None, ...) or (n_in, n_out, activation, ...); "
                f"received extra positional arguments {args!r}."
            )
        kwargs.setdefault("dtype", None)
        if input_dim is None:
            super().__init__(units, activation=activation, **kwargs)
        else:
            super().__init__(input_dim, units, activation=activation, **kwargs)


class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Active only when ``training`` is true, so ``predict`` sees the whole network
    (https://jmlr.org/papers/v15/srivastava14a.html).
    """

    name = "Dropout"
    same_in_training = False

    def __init__(self, rate: float, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not (_is_real(rate) and 0 <= rate < 1):
            raise invalid_value("rate", "a number in [0, 1)", rate)
        self.rate = float(rate)
        rng = check_seed(rng, "rng")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._mask: np.ndarray | None = None

    def reset_parameters(self, rng=None) -> None:
        if isinstance(rng, np.random.Generator):
            self.rng = rng

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if not training or self.rate == 0:
            self._mask = None
            self.outputs = x
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype == np.float32 else np.float64)
        self._mask = (keep >= self.rate).astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        self.outputs = x * self._mask
        return self.outputs

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        grad = np.asarray(grad)
        return grad * self._mask if self._mask is not None else grad.copy()

    def get_config(self) -> dict:
        return {"class_name": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


def _check_epsilon(epsilon) -> float:
    return check_positive_number(epsilon, "epsilon")


class _Normalization(Layer):
    """What the normalisation layers share: gamma and beta per feature, work buffers per batch size."""

    def build(self, n_in: int, dtype=np.float32, rng=None) -> None:
        """Keep the size of the layer before (``n_out = n_in``); gamma = 1 and beta = 0."""
        super().build(n_in, dtype, rng)
        self.params = {"gamma": np.ones(self.n_in, dtype=self.dtype),
                       "beta": np.zeros(self.n_in, dtype=self.dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache: dict[int, dict[str, np.ndarray]] = {}

    def reset_parameters(self, rng=None) -> None:
        """Start again from gamma = 1, beta = 0 (and fresh moving statistics), in place."""
        if self.built:
            self.params["gamma"][...] = 1.0
            self.params["beta"][...] = 0.0

    def _buffers(self, m: int) -> dict[str, np.ndarray]:
        """``(m, n_in)`` arrays ``forward`` and ``backward`` write into, kept per batch size."""
        buffers = self._cache.get(m)
        if buffers is None:
            if len(self._cache) >= _MAX_CACHED_SIZES:
                self._cache.pop(next(iter(self._cache)))
            shape = (m, self.n_in)
            buffers = {"centred": _memory.empty(shape, self.dtype),
                       "out": _memory.empty(shape, self.dtype),
                       "dx": _memory.empty(shape, self.dtype), "ones": np.ones(m, self.dtype)}
            self._cache[m] = buffers
        return buffers

    def _prepare(self, x) -> np.ndarray:
        if not self.built:
            raise RuntimeError(
                f"{self!r} is not built yet: its size is learnt from the layer before it; put it "
                "in a NeuralNet, or call build(n_in) to build it now."
            )
        x = self._check_input(x)
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def _grad(self, grad) -> np.ndarray:
        if getattr(self, "_centred", None) is None:
            raise RuntimeError("backward was called before forward; run forward(x) first.")
        grad = np.asarray(grad)
        return grad if grad.dtype == self.dtype else grad.astype(self.dtype)

    def __getstate__(self) -> dict:
        # Work buffers and the last batch are scratch (see FullyConnectedLayer.__getstate__).
        return {**self.__dict__, "_cache": {}, "_centred": None, "outputs": None}


class BatchNormalization(_Normalization):
    """Normalise each feature over the batch, then scale and shift it (Keras's layer).

    For a batch ``x`` of shape ``(m, n)``, per feature ``j`` (https://arxiv.org/abs/1502.03167):

        mu_j    = mean_i x_ij            var_j = mean_i (x_ij - mu_j)^2      (biased, as Keras)
        xhat_ij = (x_ij - mu_j) / sqrt(var_j + epsilon)
        a_ij    = gamma_j xhat_ij + beta_j

    While training (inside ``fit``) ``mu`` and ``var`` are the batch's, and each such forward
    pass moves the moving statistics towards them:

        moving_mean     = momentum * moving_mean     + (1 - momentum) * mu
        moving_variance = momentum * moving_variance + (1 - momentum) * var

    Otherwise (``predict``, ``evaluate``) the moving statistics stand in for ``mu`` and ``var``.
    PyTorch's ``BatchNorm1d(momentum=1 - momentum, eps=epsilon)`` is the same layer, except
    that it moves ``running_var`` towards the unbiased batch variance ``m / (m - 1) var``.

    ``gamma`` and ``beta`` (``n`` values each) are trained; ``moving_mean`` and
    ``moving_variance`` are saved with the model but not trained (``state``): ``get_weights()``
    lists gamma, beta, moving mean, moving variance. The size and dtype come from the layer
    before. A network's ``gradients()`` leaves the moving statistics as they were.

    Args:
        momentum: how much of the moving statistics each training batch keeps, in [0, 1].
        epsilon: added to the variance before the square root, > 0.
    """

    name = "BatchNormalization"
    same_in_training = False

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3) -> None:
        super().__init__()
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)) \
                or not 0 <= momentum <= 1:
            raise invalid_value("momentum", "a number in [0, 1]", momentum)
        self.momentum = float(momentum)
        self.epsilon = _check_epsilon(epsilon)
        self._centred: np.ndarray | None = None

    def build(self, n_in: int, dtype=np.float32, rng=None) -> None:
        """Create gamma = 1, beta = 0, moving mean 0 and moving variance 1, of ``n_in`` values."""
        super().build(n_in, dtype, rng)
        self.state = {"moving_mean": np.zeros(self.n_in, dtype=self.dtype),
                      "moving_variance": np.ones(self.n_in, dtype=self.dtype)}
        # Per-feature statistics of the last forward pass, reused from batch to batch.
        self._mean, self._var, self._inv_std, self._scale = (
            np.empty(self.n_in, dtype=self.dtype) for _ in range(4))
        self._centred = None

    def reset_parameters(self, rng=None) -> None:
        if self.built:
            super().reset_parameters(rng)
            self.state["moving_mean"][...] = 0.0
            self.state["moving_variance"][...] = 1.0

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``gamma (x - mu) / sqrt(var + epsilon) + beta``; batch statistics in training.

        Written as ``(x - mu) * scale + beta`` with ``scale = gamma / sqrt(var + epsilon)``: six
        passes over the batch, into work buffers reused by the next call of the same size.
        """
        x = self._prepare(x)
        m = len(x)
        buffers = self._buffers(m)
        ones, centred, out = buffers["ones"], buffers["centred"], buffers["out"]
        mean, var, inv_std = self._mean, self._var, self._inv_std
        if training:
            # Column sums as ones @ x, the product FullyConnectedLayer's bias gradient uses.
            np.multiply(np.matmul(ones, x, out=mean), 1.0 / m, out=mean)
            np.subtract(x, mean, out=centred)
            np.multiply(centred, centred, out=out)  # out as scratch for (x - mu)^2
            np.multiply(np.matmul(ones, out, out=var), 1.0 / m, out=var)
            self._update_moving(mean, var)
        else:
            mean[...], var[...] = self.state["moving_mean"], self.state["moving_variance"]
            np.subtract(x, mean, out=centred)
        np.reciprocal(np.sqrt(np.add(var, self.epsilon, out=inv_std), out=inv_std), out=inv_std)
        np.multiply(self.params["gamma"], inv_std, out=self._scale)
        np.multiply(centred, self._scale, out=out)
        out += self.params["beta"]
        self._centred, self._training, self.outputs = centred, training, out
        return out

    def _update_moving(self, mean: np.ndarray, var: np.ndarray) -> None:
        """``moving = momentum * moving + (1 - momentum) * batch``, each entry written once.

        One write per entry: a ``predict`` running beside ``fit`` reads old or new values,
        never a half-updated one.
        """
        k = self.momentum
        for moving, batch in ((self.state["moving_mean"], mean),
                              (self.state["moving_variance"], var)):
            np.add(k * moving, (1.0 - k) * batch, out=moving)

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx`` given ``g = dL/da``; fill ``dL/dgamma`` and ``dL/dbeta``.

        With ``s = 1 / sqrt(var + epsilon)`` and sums over the batch's ``m`` samples:

            dL/dbeta  = sum_i g_i                 dL/dgamma = sum_i g_i xhat_i
            training:   dL/dx_i = gamma s (g_i - dL/dbeta / m - xhat_i dL/dgamma / m)
            otherwise:  dL/dx_i = gamma s g_i     (the statistics are constants then)

        In training ``mu`` and ``var`` depend on every ``x_i``: the two subtracted means are
        their share of the chain rule.
        """
        g = self._grad(grad)
        centred, inv_std = self._centred, self._inv_std
        buffers = self._buffers(len(g))
        ones, dx = buffers["ones"], buffers["dx"]
        dgamma, dbeta = self.grads["gamma"], self.grads["beta"]
        np.matmul(ones, g, out=dbeta)
        np.matmul(ones, np.multiply(g, centred, out=dx), out=dgamma)
        dgamma *= inv_std  # sum_i g_i (x_i - mu) s = sum_i g_i xhat_i
        if not self.needs_input_grad:
            return None
        if not self._training:
            return np.multiply(g, self._scale, out=dx)
        m = len(g)
        np.multiply(centred, inv_std * dgamma / m, out=dx)  # xhat_i dL/dgamma / m
        np.subtract(g, dx, out=dx)
        dx -= dbeta / m
        dx *= self._scale  # gamma s
        return dx

    def infer(self, x: np.ndarray) -> np.ndarray:
        """``x * scale + shift`` from the moving statistics, in a new array; thread-safe."""
        x = self._prepare(x)
        scale = self.params["gamma"] / np.sqrt(self.state["moving_variance"] + self.epsilon)
        shift = self.params["beta"] - self.state["moving_mean"] * scale
        out = np.multiply(x, scale)
        out += shift
        return out

    def get_config(self) -> dict:
        return {"class_name": "BatchNormalization", "momentum": self.momentum,
                "epsilon": self.epsilon}

    def __repr__(self) -> str:
        return f"BatchNormalization(momentum={self.momentum:g}, epsilon={self.epsilon:g})"


class LayerNormalization(_Normalization):
    """Normalise each sample over its features, then scale and shift (Keras's layer).

    For a batch ``x`` of shape ``(m, n)``, per sample ``i`` (https://arxiv.org/abs/1607.06450):

        mu_i    = mean_j x_ij            var_i = mean_j (x_ij - mu_i)^2      (biased)
        xhat_ij = (x_ij - mu_i) / sqrt(var_i + epsilon)
        a_ij    = gamma_j xhat_ij + beta_j

    The same in training and prediction; ``gamma`` and ``beta`` (``n`` values each) are trained.
    PyTorch's ``LayerNorm(n, eps=epsilon)`` is the same layer. The size and dtype come from the
    layer before.

    Args:
        epsilon: added to the variance before the square root, > 0.
    """

    name = "LayerNormalization"

    def __init__(self, epsilon: float = 1e-3) -> None:
        super().__init__()
        self.epsilon = _check_epsilon(epsilon)
        self._centred: np.ndarray | None = None

    def _normalise(self, x: np.ndarray, xhat: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``xhat`` and ``gamma xhat + beta`` into the given arrays; return ``1 / sqrt(var + eps)``."""
        mean = x.mean(axis=1, keepdims=True)
        np.subtract(x, mean, out=xhat)
        np.multiply(xhat, xhat, out=out)  # out as scratch for (x - mu)^2
        inv_std = out.mean(axis=1, keepdims=True)
        inv_std += self.epsilon
        np.reciprocal(np.sqrt(inv_std, out=inv_std), out=inv_std)
        xhat *= inv_std
        np.multiply(xhat, self.params["gamma"], out=out)
        out += self.params["beta"]
        return inv_std

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``gamma (x - mu_i) / sqrt(var_i + epsilon) + beta``, statistics per sample."""
        x = self._prepare(x)
        buffers = self._buffers(len(x))
        xhat, out = buffers["centred"], buffers["out"]
        self._inv_std = self._normalise(x, xhat, out)
        self._centred, self.outputs = xhat, out
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx`` given ``g = dL/da``; fill ``dL/dgamma`` and ``dL/dbeta``.

        With ``s_i = 1 / sqrt(var_i + epsilon)``, ``h = g * gamma`` (``dL/dxhat``), means over
        the ``n`` features and sums over the samples:

            dL/dbeta  = sum_i g_i                 dL/dgamma = sum_i g_i xhat_i
            dL/dx_i   = s_i (h_i - mean_j h_ij - xhat_i mean_j (h_ij xhat_ij))
        """
        g = self._grad(grad)
        xhat = self._centred
        buffers = self._buffers(len(g))
        ones, dx = buffers["ones"], buffers["dx"]
        np.matmul(ones, g, out=self.grads["beta"])
        np.matmul(ones, np.multiply(g, xhat, out=dx), out=self.grads["gamma"])
        if not self.needs_input_grad:
            return None
        h = np.multiply(g, self.params["gamma"], out=dx)
        h_mean = h.mean(axis=1, keepdims=True)
        hx_mean = np.einsum("ij,ij->i", h, xhat)[:, None] / h.shape[1]
        h -= h_mean
        h -= xhat * hx_mean
        h *= self._inv_std
        return h

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The same outputs in new arrays, nothing recorded (thread-safe)."""
        x = self._prepare(x)
        out = np.empty_like(x)
        self._normalise(x, np.empty_like(x), out)
        return out

    def get_config(self) -> dict:
        return {"class_name": "LayerNormalization", "epsilon": self.epsilon}

    def __repr__(self) -> str:
        return f"LayerNormalization(epsilon={self.epsilon:g})"


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` while training (Keras's layer).

        training:   a = x + stddev * e,   e ~ N(0, 1) drawn afresh for every entry and batch
        otherwise:  a = x

    ``dL/dx = dL/da`` either way: the noise does not depend on ``x``. The numbers come from the
    network's seeded generator (``rng``, which the network sets), so training is reproducible.
    A regulariser, like Dropout.

    Args:
        stddev: the noise's standard deviation, >= 0.
        rng: a generator or seed, used until a network gives the layer its own.
    """

    name = "GaussianNoise"
    same_in_training = False

    def __init__(self, stddev: float, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.stddev = float(check_non_negative(stddev, "stddev"))
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def reset_parameters(self, rng=None) -> None:
        if isinstance(rng, np.random.Generator):
            self.rng = rng

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``x + stddev * N(0, 1)`` in training, ``x`` itself otherwise."""
        x = self._check_input(x)
        if not training or self.stddev == 0:
            self.outputs = x
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        noise = self.rng.standard_normal(x.shape, dtype=dtype)
        noise *= self.stddev
        noise += x
        self.outputs = noise
        return noise

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx = dL/da`` (a copy: the layer below may work in it)."""
        if not self.needs_input_grad:
            return None
        return np.array(grad, copy=True)

    def get_config(self) -> dict:
        return {"class_name": "GaussianNoise", "stddev": self.stddev}

    def __repr__(self) -> str:
        return f"GaussianNoise({self.stddev:g})"


LAYER_CLASSES: dict[str, type[Layer]] = {
    "FullyConnectedLayer": FullyConnectedLayer,
    "Dense": FullyConnectedLayer,
    "Dropout": Dropout,
    "BatchNormalization": BatchNormalization,
    "LayerNormalization": LayerNormalization,
    "GaussianNoise": GaussianNoise,
}


def layer_from_config(config: dict) -> Layer:
    """Rebuild a layer from ``get_config()`` output (a registered class, never code from a file)."""
    if not isinstance(config, dict):
        raise ValueError(f"A layer config must be a dict; received {type(config).__name__}.")
    config = dict(config)
    name = config.pop("class_name", None)
    cls = LAYER_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown layer class {name!r} in a layer config; expected one of: "
            f"{', '.join(sorted(LAYER_CLASSES))}. If {name!r} is a custom Layer, register it in "
            "this process before loading: decorate its class with @neuralnet.register."
        )
    try:
        return cls(**config)
    except TypeError as exc:
        raise ValueError(f"The config of layer class {name!r} does not fit it: {exc}") from None


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

    def build(self, n_in: int, dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        """Build every layer not built yet, each from the output size of the one before."""
        size = n_in
        for i, layer in enumerate(self._layers):
            if not layer.built:
                layer.build(size, dtype, rng)
            elif layer.n_in is not None and layer.n_in != size:
                where = "the data have" if i == 0 else f"the layer before it has {size} outputs"
                raise ValueError(
                    f"Layer {i} ({layer!r}) expects {layer.n_in} inputs, but {where}"
                    + (f" {size} features." if i == 0 else ".")
                )
            size = layer.n_out

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Apply every layer in order."""
        for layer in self._layers:
            x = layer.forward(x, training)
        return x

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.array(self.forward(x), copy=True)

    @property
    def dense(self) -> list[FullyConnectedLayer]:
        """The dense layers, in order."""
        return [l for l in self._layers if isinstance(l, FullyConnectedLayer)]

    @property
    def with_params(self) -> list[Layer]:
        """The layers that hold trainable parameters, in order."""
        return [l for l in self._layers if l.params]

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
