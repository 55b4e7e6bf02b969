"""``NeuralNet``: build a chain of dense layers, propagate forward and backward, and train.

Forward propagation composes the layers, ``A_l = f_l([A_{l-1}, 1] @ W_l)`` with ``A_0 = X``.
Back-propagation applies the chain rule from the output down:

    delta_L     = dL/dz_L                        (fused: (A_L - Y) scaled, see ``losses``)
    dL/dW_l     = [A_{l-1}, 1]^T @ delta_l
    delta_{l-1} = (delta_l @ W_l[:-1]^T) * f'_{l-1}    (the bias row sends nothing down)

Training is mini-batch gradient descent: the data are reshuffled each epoch, and the weights
are updated after every batch, the last short one included.

All weights live in one flat buffer; each layer's ``weights`` is a view of its slice, so an
optimizer step is a few vectorised operations over the whole network.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence

import numpy as np

from neuralnet import _train_step
from neuralnet import activations as _activations
from neuralnet import diagnostics as _diagnostics
from neuralnet import losses as _losses
from neuralnet import metrics as _metrics
from neuralnet import optimizers as _optimizers
from neuralnet._validation import (
    all_finite,
    as_float_array,
    as_numeric_array,
    check_n_features,
    check_positive_int,
    check_same_length,
)
from neuralnet.callbacks import Callback, History
from neuralnet.layers import (
    FullyConnectedLayer,
    Layer,
    LayerChain,
    _check_dtype,
    _check_shape,
)

__all__ = ["NeuralNet", "TrainingDivergedError"]

_DEFAULT_SGD_LEARNING_RATE = 0.1
# predict computes up to this many rows with the bias absorbed in one product per layer.
_SMALL_BATCH = 16


class TrainingDivergedError(FloatingPointError, RuntimeError):
    """The loss or the weights became NaN or infinite during ``fit``.

    A ``FloatingPointError`` (an arithmetic failure) and a ``RuntimeError`` (training cannot go
    on); the network keeps the weights it had at the start of the failing epoch.
    """


def _overflow_checked(method):
    """Run ``method`` with NumPy's overflow warnings off: it checks its results for inf and NaN."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return method(self, *args, **kwargs)

    return checked


class NeuralNet:
    """A feed-forward network of dense layers with absorbed biases.

    Args:
        layer_shapes: one ``(n_in, n_out)`` pair per layer, e.g. ``((2, 3), (3, 1))`` for the
            article's 2-3-1 network; or a list of layers (``FullyConnectedLayer``, ``Dropout``)
            or a ``LayerChain``.
        activations: one activation name for every layer, or one per layer (default sigmoid).
        loss: ``"binary_crossentropy"`` (default), ``"categorical_crossentropy"``, ``"mse"``, ...
        seed: seeds the initial weights and the shuffling; the same seed gives the same training.
        dtype: ``"float32"`` (default) or ``"float64"``.
        initializer: how the weights start (default He normal; the bias row starts at zero).
        l2: L2 penalty on every layer's weights (never the bias rows), ``l2 / 2 * ||W||^2``.
    """

    def __init__(
        self,
        layer_shapes: Sequence[tuple[int, int]] | Sequence[Layer] | LayerChain,
        activations: str | Sequence[str] = "sigmoid",
        loss: str | _losses.Loss = "binary_crossentropy",
        seed: int | None = None,
        dtype: str | np.dtype = "float32",
        initializer: str = "he_normal",
        l2: float = 0.0,
    ) -> None:
        self.dtype = _check_dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.loss_fn = _losses.get(loss)
        self.layers = self._build_layers(layer_shapes, activations, initializer, l2)
        self._bind_parameters()
        self.optimizer: _optimizers.Optimizer | None = None
        self.epoch = 0
        self.stop_training = False
        self.history: History | None = None
        # JSON-able facts saved with the model, e.g. the CLI's feature names and scaling.
        self.metadata: dict = {}
        self._small_plans: dict[int, tuple] = {}  # predict's buffers for a few rows

    # ------------------------------------------------------------------ building
    def _build_layers(self, layer_shapes, activations, initializer, l2) -> LayerChain:
        """Return the ``LayerChain``: one dense layer per ``(n_in, n_out)``, bias absorbed."""
        if isinstance(layer_shapes, LayerChain) or (
            isinstance(layer_shapes, (list, tuple))
            and layer_shapes
            and all(isinstance(l, Layer) for l in layer_shapes)
        ):
            chain = LayerChain(layer_shapes)
            for layer in chain:
                if isinstance(layer, FullyConnectedLayer) and layer.dtype != self.dtype:
                    raise ValueError(
                        f"Layer {layer!r} has dtype {layer.dtype.name}, but the network's dtype "
                        f"is {self.dtype.name}; build the layers with dtype={self.dtype.name!r}."
                    )
                if hasattr(layer, "rng"):
                    layer.rng = self.rng
            if not chain.dense:
                raise ValueError("The network needs at least one FullyConnectedLayer.")
            return chain

        if not isinstance(layer_shapes, (list, tuple)) or not layer_shapes:
            raise ValueError(
                "Received an invalid value for `layer_shapes`, expected a non-empty sequence of "
                f"(n_in, n_out) pairs such as ((2, 3), (3, 1)). Received: layer_shapes={layer_shapes!r}"
            )
        shapes = [_check_shape(s, f"layer_shapes[{i}]") for i, s in enumerate(layer_shapes)]
        for i in range(1, len(shapes)):
            if shapes[i][0] != shapes[i - 1][1]:
                raise ValueError(
                    f"layer_shapes do not chain: layer {i - 1} {shapes[i - 1]} has "
                    f"{shapes[i - 1][1]} outputs, but layer {i} {shapes[i]} expects "
                    f"{shapes[i][0]} inputs."
                )
        if isinstance(activations, (str, _activations.Activation)):
            activations = [activations] * len(shapes)
        if len(activations) != len(shapes):
            raise ValueError(
                f"activations has {len(activations)} entries, but layer_shapes has {len(shapes)} "
                "layers; give one activation per layer, or a single name for all."
            )
        return LayerChain(
            FullyConnectedLayer(n_in, n_out, act, initializer, l2, self.dtype, self.rng)
            for (n_in, n_out), act in zip(shapes, activations, strict=True)
        )

    def _bind_parameters(self) -> None:
        """Move every layer's weights and gradient into one flat buffer each, as views."""
        dense = self.layers.dense
        sizes = [l.weights.size for l in dense]
        self._flat_weights = np.empty(sum(sizes), dtype=self.dtype)
        self._flat_grad = np.zeros(sum(sizes), dtype=self.dtype)
        offset = 0
        for layer, size in zip(dense, sizes, strict=True):
            view = self._flat_weights[offset : offset + size].reshape(layer.weights.shape)
            view[...] = layer.weights
            layer._weights = view
            layer.grad = self._flat_grad[offset : offset + size].reshape(layer.weights.shape)
            offset += size
        self._dense = dense
        self._small_plans = {}

    def __getstate__(self) -> dict:
        # The optimizer keys its state by id(parameter), which no copy or pickle keeps: note
        # which entry is this network's, for __setstate__ to re-key it.
        return {**self.__dict__, "_pickled_flat_id": id(getattr(self, "_flat_weights", None)),
                "_small_plans": {}}

    def __setstate__(self, state: dict) -> None:
        flat_id = state.pop("_pickled_flat_id", None)
        self.__dict__.update(state)
        optimizer = self.__dict__.get("optimizer")
        entry = optimizer.state.pop(flat_id, None) if optimizer is not None else None
        if entry is None:
            return
        # Pickling copied the layers' views apart from the flat buffer: bind them again now so
        # the moments follow the buffer (copied: a memory-mapped load is read-only).
        self._bind_parameters()
        optimizer.state[id(self._flat_weights)] = {
            k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in entry.items()
        }

    def _check_bound(self) -> None:
        """Rebind when the chain was edited (a layer appended) since the buffer was built.

        A network without a dense layer has no weights at all: that is a ``RuntimeError``. A
        lost flat buffer is rebuilt from the layers, which still hold their weights.
        """
        layers = getattr(self, "layers", None)
        dense = layers.dense if isinstance(layers, LayerChain) else []
        if not dense:
            raise RuntimeError(
                f"This NeuralNet has no weights yet: it holds no dense layer (layers={layers!r}). "
                "Build it with NeuralNet(layer_shapes, ...) or load one with neuralnet.load(path) "
                "before using it."
            )
        flat = getattr(self, "_flat_weights", None)
        if (
            flat is None
            or dense != getattr(self, "_dense", None)
            or not all(np.shares_memory(l.weights, flat) for l in dense)
        ):
            self._bind_parameters()

    def _check_ready(self) -> None:
        """Refuse to compute with weights that are NaN or infinite: every answer would be too."""
        self._check_bound()
        if not all_finite(self._flat_weights):
            bad = int(self._flat_weights.size - np.count_nonzero(np.isfinite(self._flat_weights)))
            raise RuntimeError(
                f"The network's weights hold {bad} NaN or infinite value(s), so every output "
                "would be too; set finite weights with set_weights(...) or rebuild the network."
            )

    def _check_finite(self, values, what: str, X: np.ndarray) -> None:
        if not np.isfinite(values).all():
            raise ValueError(
                f"The network's {what} overflowed to inf or NaN for X (largest magnitude "
                f"{float(np.abs(X).max()):.3g}); the inputs or targets are too large for "
                "its weights: scale them, e.g. standardize the features."
            )

    # --------------------------------------------------------------- properties
    @property
    def n_features(self) -> int:
        return self._dense[0].n_in

    @property
    def n_outputs(self) -> int:
        return self._dense[-1].n_out

    @property
    def output_activation(self) -> _activations.Activation:
        return self._dense[-1].activation

    @property
    def n_params(self) -> int:
        return int(self._flat_weights.size)

    def get_weights(self) -> list[np.ndarray]:
        """Return a copy of every dense layer's absorbed weights ``(n_in + 1, n_out)``."""
        self._check_bound()
        return [l.weights.copy() for l in self._dense]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set every dense layer's absorbed weights; shapes must match ``get_weights()``."""
        self._check_bound()
        if len(weights) != len(self._dense):
            raise ValueError(
                f"set_weights expects {len(self._dense)} arrays (one per dense layer); "
                f"received {len(weights)}."
            )
        arrays = []
        for i, (layer, w) in enumerate(zip(self._dense, weights, strict=True)):
            w = as_float_array(w, f"weights[{i}]", self.dtype)
            if w.shape != layer.weights.shape:
                raise ValueError(
                    f"weights[{i}] has shape {w.shape}, but layer {i} expects "
                    f"{layer.weights.shape} (n_in + 1, n_out)."
                )
            arrays.append(w)
        for layer, w in zip(self._dense, arrays, strict=True):
            layer.weights = w

    # ------------------------------------------------------------ persistence
    def get_config(self) -> dict:
        """Return the architecture as plain JSON-able data; ``from_config`` rebuilds it.

        Holds every layer's config (``FullyConnectedLayer``, ``Dropout``), the loss, the
        dtype and the seed; not the weights.
        """
        self._check_bound()
        seed = self.seed
        return {
            "class_name": "NeuralNet",
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss_fn.get_config(),
            "dtype": self.dtype.name,
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        }

    @classmethod
    def from_config(cls, config: dict) -> NeuralNet:
        """Build a network from ``get_config()`` output, with freshly initialised weights.

        With the same seed, the weights are those ``NeuralNet(layer_shapes, ..., seed=seed)``
        starts from.
        """
        from neuralnet.layers import layer_from_config

        if not isinstance(config, dict):
            raise TypeError(
                f"config must be a dict from NeuralNet.get_config(); received {type(config).__name__}."
            )
        missing = [k for k in ("layers", "loss", "dtype") if k not in config]
        if missing:
            raise ValueError(
                f"config lacks the key(s) {missing}; expected the output of NeuralNet.get_config()."
            )
        if config.get("class_name", "NeuralNet") != "NeuralNet":
            raise ValueError(f"config describes a {config['class_name']!r}, not a NeuralNet.")
        if not isinstance(config["layers"], list) or not all(
            isinstance(c, dict) for c in config["layers"]
        ):
            raise ValueError("config['layers'] must be a list of layer configs (dicts).")
        seed = config.get("seed")
        # One generator initialises the layers in order and then shuffles, as __init__ does.
        rng = np.random.default_rng(seed)
        layers = []
        for layer_config in config["layers"]:
            layer_config = dict(layer_config)
            if layer_config.get("class_name") == "FullyConnectedLayer":
                layer_config["rng"] = rng
            layers.append(layer_from_config(layer_config))
        model = cls(layers, loss=config["loss"], seed=seed, dtype=config["dtype"])
        model.rng.bit_generator.state = rng.bit_generator.state
        return model

    def save(self, path) -> None:
        """Write the network to one ``.npz`` file (see ``neuralnet.io``): atomic, no pickle.

        Architecture, weights, optimizer state, epoch count and random state are all kept,
        so training resumes exactly after ``NeuralNet.load(path)``.
        """
        from neuralnet import io

        io.save(self, path)

    @classmethod
    def load(cls, path) -> NeuralNet:
        """Return the network saved at ``path`` by ``save``; a bad file raises ``ValueError``."""
        from neuralnet import io

        return io.load(path)

    def to_onnx(self, path: str | os.PathLike | None = None, *, labels: Sequence | None = None,
                **options):
        """Write the network as an ONNX graph to ``path`` and return the ``onnx.ModelProto``.

        Outputs ``predictions`` (``predict``) and, for a classifier, ``labels``
        (``predict_classes``, or the ``labels`` given); see ``neuralnet.onnx_export.to_onnx``.
        """
        from neuralnet import onnx_export

        return onnx_export.to_onnx(self, path, labels=labels, **options)

    def summary(self, print_fn=print) -> str:
        """Print and return a table of the layers, their absorbed weight shapes and parameters.

        Each dense layer holds ``(n_in + 1) * n_out`` parameters: its ``(n_in + 1, n_out)``
        weights, the last row the bias. ``print_fn=None`` only returns the table.
        """
        self._check_bound()
        show_l2 = any(l.l2 for l in self._dense)
        header = ["#", "Layer", "Activation", "Weights (n_in + 1, n_out)", "Params"]
        header += ["L2"] if show_l2 else []
        rows = []
        for i, layer in enumerate(self.layers):
            if layer.weights is not None:
                cells = [str(i), type(layer).__name__, layer.activation.name,
                         str(layer.weights.shape), f"{layer.n_params:,}"]
                cells += [f"{layer.l2:g}" if layer.l2 else "-"] if show_l2 else []
            else:
                cells = [str(i), repr(layer), "-", "-", "0"] + (["-"] if show_l2 else [])
            rows.append(cells)
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        numeric = {0, 4}  # right-aligned columns

        def line(cells):
            return "  ".join(c.rjust(w) if j in numeric else c.ljust(w)
                             for j, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        rule = "-" * len(line(header))
        sizes = [self.n_features] + [l.n_out for l in self._dense]
        text = "\n".join([
            f"NeuralNet {'-'.join(map(str, sizes))}: loss {self.loss_fn.name}, "
            f"dtype {self.dtype.name}",
            rule, line(header), rule, *map(line, rows), rule,
            f"Total params: {self.n_params:,}",
        ])
        if print_fn is not None:
            print_fn(text)
        return text

    # ------------------------------------------------------------- propagation
    def _check_X(self, X, name: str = "X") -> np.ndarray:
        X = as_float_array(X, name, self.dtype, ndim=(1, 2))
        if X.ndim == 1:
            # One sample of n_features values (the article's single-observation call).
            if X.shape[0] != self.n_features:
                raise ValueError(
                    f"{name} has shape {X.shape}; expected one sample of {self.n_features} "
                    f"features or a batch of shape (n_samples, {self.n_features})."
                )
            X = X[None, :]
        check_n_features(X, self.n_features, name)
        return X

    def _check_y(self, y, n: int) -> np.ndarray:
        """Return ``y`` as float targets of the output's shape ``(n, n_outputs)``."""
        y_arr = as_numeric_array(y, "y")
        if y_arr.ndim == 0:
            raise ValueError(
                f"y must be an array of targets, one per sample; received the scalar {y_arr.item()!r}."
            )
        check_same_length(n, len(y_arr))
        as_float_array(y_arr, "y", np.float64, ndim=(1, 2))  # shape, NaN and inf checks
        targets = self.loss_fn.prepare_targets(y_arr, (n, self.n_outputs))
        return as_float_array(targets, "y", self.dtype)

    def _forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    @_overflow_checked
    def forward(self, X) -> np.ndarray:
        """Return the network's outputs ``(n_samples, n_outputs)`` for ``X`` ``(n_samples, n_features)``.

        A single sample of shape ``(n_features,)`` gives ``(1, n_outputs)``.
        """
        self._check_ready()
        X = self._check_X(X)
        out = self._forward(X).copy()
        self._check_finite(out, "outputs", X)
        return out

    __call__ = forward

    def _backward(self, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        """Fill every layer's ``grad`` with ``dL/dW`` after ``_forward`` on the same batch."""
        output = self._dense[-1]
        delta = self.loss_fn.output_delta(y, output._a, output.activation, sample_weight)
        grad = output._backward_delta(delta, need_input_grad=len(self.layers) > 1)
        first = self.layers[0]
        for layer in reversed(self.layers[:-1]):
            grad = layer._backward(grad, need_input_grad=layer is not first)

    def _reference_step(self, x, y, sample_weight=None) -> float:
        """Forward, loss, and (if the loss is finite) backward, through the generic interfaces."""
        self._forward(x, training=True)
        loss = self._loss_value(y, sample_weight)
        if np.isfinite(loss):
            self._backward(y, sample_weight)
        return loss

    def _train_step_for(self, batch_size: int, sample_weight):
        """The per-batch step ``fit`` calls: ``FusedStep`` where it applies, else the reference."""
        if _train_step.supports(self, sample_weight):
            fused = _train_step.FusedStep(self, batch_size)
            return lambda x, y, sample_weight: fused(x, y)
        return self._reference_step

    def _loss_value(self, y, sample_weight=None) -> float:
        """The mean loss of the last forward pass, plus the L2 penalties."""
        output = self._dense[-1]
        z = output._z if output.activation.name == self.loss_fn.canonical_activation else None
        value = self.loss_fn.value(y, output._a, z, sample_weight)
        return value + sum(l.penalty() for l in self._dense)

    @_overflow_checked
    def loss(self, X, y, sample_weight=None) -> float:
        """Return the mean loss of the network on ``(X, y)`` (with the L2 penalties, if any)."""
        self._check_ready()
        X = self._check_X(X)
        y = self._check_y(y, len(X))
        sample_weight = self._check_sample_weight(sample_weight, len(X))
        self._forward(X)
        value = self._loss_value(y, sample_weight)
        self._check_finite(value, "loss", X)
        return value

    @_overflow_checked
    def gradients(self, X, y, sample_weight=None) -> list[np.ndarray]:
        """Return ``dL/dW`` of the mean loss for each dense layer, shaped like its ``weights``."""
        self._check_ready()
        X = self._check_X(X)
        y = self._check_y(y, len(X))
        sample_weight = self._check_sample_weight(sample_weight, len(X))
        self._forward(X, training=True)
        self._backward(y, sample_weight)
        self._check_finite(self._flat_grad, "gradients", X)
        return [l.grad.copy() for l in self._dense]

    def _check_sample_weight(self, sample_weight, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = as_float_array(sample_weight, "sample_weight", np.float64, ndim=(1,))
        if len(w) != n:
            raise ValueError(
                f"sample_weight has {len(w)} entries, but X has {n} samples; expected one per sample."
            )
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("sample_weight must be non-negative with a positive sum.")
        return w

    # -------------------------------------------------------------- inference
    @_overflow_checked
    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """Return the outputs ``(n_samples, n_outputs)``, computed ``batch_size`` rows at a time."""
        out = self._predict_plain(X, batch_size)
        if out is not None:
            return out
        self._check_ready()
        X = self._check_X(X)
        batch_size = check_positive_int(batch_size, "batch_size")
        out = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            out[start:stop] = self._forward(X[start:stop])
        self._check_finite(out, "outputs", X)
        return out

    def _predict_plain(self, X, batch_size) -> np.ndarray | None:
        """``predict`` for the plain case, or None to let the checked path above answer.

        The plain case is a C-ordered 2-D array of the network's dtype and width, finite, through
        a chain of dense layers only. Its outputs are then returned when they are finite: a NaN
        weight would make every output NaN, so ``_check_ready``'s scan of all the weights (the
        largest cost of a one-sample prediction) is only run, by the checked path, when an output
        is not finite; that path then raises the error it always raised.

        A one-sample prediction is mostly fixed costs, so this path keeps them few: each hidden
        layer computes in place in one work buffer, the output layer writes straight into the
        returned array, and no layer records the batch for back-propagation.
        """
        dense = self._plain_dense()
        if (
            dense is None
            or type(X) is not np.ndarray
            or X.dtype != self.dtype
            or X.ndim != 2
            or X.shape[1] != dense[0].n_in
            or not X.shape[0]
            or not X.flags.c_contiguous
            or type(batch_size) is not int
            or batch_size <= 0
            or not all_finite(X)
        ):
            return None
        n = X.shape[0]
        out = np.empty((n, dense[-1].n_out), dtype=self.dtype)
        if n <= _SMALL_BATCH and n <= batch_size:
            self._predict_small(X, out)
        else:
            hidden, last = dense[:-1], dense[-1]
            for start in range(0, n, batch_size):
                x = X[start : start + batch_size]
                for layer in hidden:
                    x = layer._infer(x, layer._buffers(len(x))["z"])
                last._infer(x, out[start : start + batch_size])
        return out if all_finite(out) else None

    def _predict_small(self, X: np.ndarray, out: np.ndarray) -> None:
        """Write the outputs for a few rows ``X`` into ``out``, the bias absorbed as in the article.

        Each layer's input is kept in a buffer ``[x, 1]`` whose last column is ones, so one
        product with the whole ``(n_in + 1, n_out)`` matrix gives ``x W + b``, and each hidden
        activation is written straight into the next layer's buffer: no bias add, no copy
        between layers. Built once per number of rows.
        """
        m = X.shape[0]
        plan = self._small_plans.get(m)
        if plan is None or plan[0] is not self._flat_weights:
            # One [x, 1] buffer per layer: its input, the last column ones.
            inputs = [np.ones((m, layer.n_in + 1), dtype=self.dtype) for layer in self._dense]
            steps = [
                (inputs[i], layer.weights, np.empty((m, layer.n_out), dtype=self.dtype),
                 layer.activation, inputs[i + 1][:, :-1])
                for i, layer in enumerate(self._dense[:-1])
            ]
            last = self._dense[-1]
            plan = (self._flat_weights, inputs[0][:, :-1], steps, inputs[-1], last.weights,
                    last.activation)
            self._small_plans[m] = plan
        _, x, steps, last_input, W_last, last_activation = plan
        np.copyto(x, X)
        for x_ones, W, z, activation, next_x in steps:
            np.matmul(x_ones, W, out=z)  # [x, 1] @ W = x W[:-1] + W[-1]
            activation.forward(z, out=next_x)  # straight into the next layer's [x, 1]
        np.matmul(last_input, W_last, out=out)
        last_activation.forward(out, out=out)

    def _plain_dense(self) -> list[FullyConnectedLayer] | None:
        """The layers, when they are all ``FullyConnectedLayer`` views of the flat buffer."""
        layers = getattr(self, "layers", None)
        if not isinstance(layers, LayerChain) or layers._layers != getattr(self, "_dense", None):
            return None
        flat = getattr(self, "_flat_weights", None)
        if flat is None or any(type(l) is not FullyConnectedLayer or l._weights.base is not flat
                               for l in layers._layers):
            return None
        return layers._layers

    def predict_classes(self, X, batch_size: int = 1024) -> np.ndarray:
        """Return class labels: 0/1 by a 0.5 threshold for sigmoid outputs, the arg-max otherwise."""
        proba = self.predict(X, batch_size)
        if self._is_multilabel_or_binary():
            labels = (proba >= 0.5).astype(np.int64)
            return labels[:, 0] if self.n_outputs == 1 else labels
        return proba.argmax(axis=1)

    def _is_multilabel_or_binary(self) -> bool:
        return self.n_outputs == 1 or self.loss_fn.name == "binary_crossentropy"

    def _is_classifier(self) -> bool:
        return self.loss_fn.name in ("binary_crossentropy", "categorical_crossentropy")

    @_overflow_checked
    def evaluate(self, X, y, batch_size: int = 1024, sample_weight=None) -> dict[str, float]:
        """Return ``{"loss": ..., "accuracy": ...}`` (accuracy for classification losses only)."""
        self._check_ready()
        X = self._check_X(X)
        targets = self._check_y(y, len(X))
        sample_weight = self._check_sample_weight(sample_weight, len(X))
        logs = self._evaluate(X, targets, batch_size, sample_weight, self._metric_fns(None))
        self._check_finite(logs["loss"], "loss", X)
        return logs

    def _evaluate(self, X, targets, batch_size, sample_weight, metric_fns) -> dict[str, float]:
        if self.output_activation.name == self.loss_fn.canonical_activation and (
            self.output_activation.name != "linear"
        ):
            # The loss is computed stably from the logits: one pass gives them and the outputs,
            # checked as predict checks its own.
            self._check_ready()
            batch_size = check_positive_int(batch_size, "batch_size")
            outputs, z = self._outputs_and_logits(X, batch_size)
            self._check_finite(outputs, "outputs", X)
        else:
            outputs, z = self.predict(X, batch_size), None
        logs = {
            "loss": self.loss_fn.value(targets, outputs, z, sample_weight)
            + sum(l.penalty() for l in self._dense)
        }
        for name, fn in metric_fns.items():
            logs[name] = float(fn(targets, outputs))
        return logs

    def _outputs_and_logits(self, X, batch_size) -> tuple[np.ndarray, np.ndarray]:
        """Return the outputs and the output layer's pre-activations, from one pass in batches."""
        outputs = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        logits = np.empty_like(outputs)
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            outputs[start:stop] = self._forward(X[start:stop])
            logits[start:stop] = self._dense[-1]._z
        return outputs, logits

    def _metric_fns(self, metrics) -> dict:
        names = list(metrics) if metrics is not None else (
            ["accuracy"] if self._is_classifier() else []
        )
        fns = {}
        for m in names:
            name = m if isinstance(m, str) else getattr(m, "__name__", type(m).__name__)
            fns[name] = _metrics.get(m, self.loss_fn.name, self.n_outputs)
        return fns

    # --------------------------------------------------------------- training
    @_overflow_checked
    def fit(
        self,
        X,
        y,
        epochs: int = 100,
        batch_size: int = 32,
        learning_rate=None,
        shuffle: bool = True,
        verbose: int = 1,
        optimizer: str | _optimizers.Optimizer | None = None,
        validation_data: tuple | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] | None = None,
        metrics: Sequence | None = None,
        sample_weight=None,
        class_weight: dict | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> History:
        """Train by mini-batch gradient descent; return the ``History`` of each epoch's logs.

        Every batch is one update (the last, short batch too); with ``shuffle`` the samples are
        reshuffled each epoch from the network's seeded generator. ``history.history["loss"]``
        holds each epoch's mean training loss (the average over its batches, weighted by their
        sizes, each taken before that batch's update). A second call continues from the
        current weights and optimizer state.

        Args:
            learning_rate: a number or a schedule (a callable ``epoch -> rate``); by default
                0.1 for plain SGD and the optimizer's own default otherwise.
            optimizer: ``"sgd"`` (default), ``"adam"``, ``"adamw"``, ``"rmsprop"``,
                ``"adagrad"`` or an ``Optimizer``; the previous one is kept across calls.
            validation_data: ``(X_val, y_val)`` evaluated after each epoch (``val_*`` logs).
            validation_split: fraction of the *last* samples held out for validation.
            metrics: names such as ``"accuracy"``, logged for the training (and validation)
                data after each epoch; none by default, which keeps epochs lean.
            sample_weight, class_weight: per-sample weights, or weights per class label.
            clipnorm, clipvalue: clip the gradient by global norm, or each entry by value.
        """
        self._check_ready()
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        X = self._check_X(X)
        y = self._check_y(y, len(X))
        sample_weight = self._check_sample_weight(sample_weight, len(X))
        sample_weight = self._apply_class_weight(class_weight, y, sample_weight)
        if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
            raise ValueError(
                "Received an invalid value for `validation_split`, expected a number in [0, 1). "
                f"Received: validation_split={validation_split!r}"
            )
        if validation_data is not None and validation_split:
            raise ValueError("Give either validation_data or validation_split, not both.")
        X_val = y_val = None
        if validation_split:
            n_val = int(round(len(X) * validation_split))
            if n_val < 1 or n_val >= len(X):
                raise ValueError(
                    f"validation_split={validation_split} of {len(X)} samples leaves "
                    f"{n_val} for validation and {len(X) - n_val} for training; both need at least one."
                )
            X, X_val = X[:-n_val], X[-n_val:]
            y, y_val = y[:-n_val], y[-n_val:]
            if sample_weight is not None:
                sample_weight = sample_weight[:-n_val]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError(
                    "validation_data must be a pair (X_val, y_val); "
                    f"received {type(validation_data).__name__}."
                )
            X_val = self._check_X(validation_data[0], "validation_data[0]")
            y_val = self._check_y(validation_data[1], len(X_val))
        for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected a positive number. "
                    f"Received: {name}={value!r}"
                )

        schedule = learning_rate if callable(learning_rate) else None
        if learning_rate is not None and schedule is None:
            learning_rate = _optimizers._check_number(learning_rate, "learning_rate", low_open=True)
        self.optimizer = self._resolve_optimizer(optimizer, None if schedule else learning_rate)
        if learning_rate is not None:
            # The rate given to fit is the optimizer's from now on: a saved model resumes with it.
            self.optimizer.schedule = schedule
        else:
            schedule = self.optimizer.schedule
        # Metrics cost a pass over the data each epoch: computed only when asked for.
        metric_fns = self._metric_fns(metrics) if metrics is not None else {}

        history = History()
        history.params = {"epochs": epochs, "batch_size": batch_size, "samples": len(X)}
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "Received an invalid value in `callbacks`, expected Callback instances "
                    f"(neuralnet.callbacks). Received: {cb!r} of type {type(cb).__name__}"
                )
        if verbose not in (0, 1, 2):
            raise ValueError(
                "Received an invalid value for `verbose`, expected 0 (silent), 1 (progress bar) "
                f"or 2 (one line per epoch). Received: verbose={verbose!r}"
            )
        if verbose:
            from neuralnet.progress import ProgressLogger

            callbacks.append(ProgressLogger(epochs, verbose))
        callbacks.append(history)
        callbacks.append(_diagnostics.TrainingMonitor(history, X))
        for cb in callbacks:
            cb.set_model(self)
        batch_listeners = [cb for cb in callbacks if cb._listens_to_batches()]

        n = len(X)
        params, grads = [self._flat_weights], [self._flat_grad]
        Xb = np.empty((min(batch_size, n), X.shape[1]), dtype=self.dtype)
        yb = np.empty((min(batch_size, n), y.shape[1]), dtype=self.dtype)
        order = np.arange(n)
        train_step = self._train_step_for(batch_size, sample_weight)
        # Full-batch training in a fixed order needs no gathering: every batch is (X, y).
        whole_data = not shuffle and batch_size >= n
        self.stop_training = False
        self.history = history
        for cb in callbacks:
            cb.on_train_begin()
        first_iteration = self.optimizer.iterations
        optimizer_step = self.optimizer.step
        for _ in range(epochs):
            epoch = self.epoch
            if schedule is not None:
                self.optimizer.learning_rate = _optimizers._check_number(
                    schedule(epoch), f"learning_rate (the schedule's value at epoch {epoch})",
                    low_open=True,
                )
            # The weights to fall back to if this epoch diverges: one copy per epoch is cheap.
            # The diagnostics measure the epoch's update against the same copy.
            last_good = self._snapshot()
            self._epoch_start_weights = last_good[0]
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            if shuffle:
                # A fresh permutation each epoch (not a reshuffle of the last one), so an epoch's
                # order depends only on the generator's state and resuming a run is exact.
                order = self.rng.permutation(n)
            total = 0.0
            for batch, start in enumerate(range(0, n, batch_size)):
                if whole_data:
                    xb, tb, wb, m = X, y, sample_weight, n
                else:
                    idx = order[start : start + batch_size]
                    m = len(idx)
                    xb, tb = Xb[:m], yb[:m]
                    # The methods skip np.take's Python wrapper; mode="clip" (the indices are
                    # always in range) lets take write straight into the buffer, where the
                    # default mode="raise" gathers into a temporary and copies it: half the time.
                    X.take(idx, axis=0, out=xb, mode="clip")
                    y.take(idx, axis=0, out=tb, mode="clip")
                    wb = sample_weight[idx] if sample_weight is not None else None
                batch_loss = train_step(xb, tb, wb)  # forward, loss, and backward if finite
                if not math.isfinite(batch_loss):
                    if self.optimizer.iterations == first_iteration:
                        # Not one update yet: the data overflow the initial weights.
                        self._check_finite(batch_loss, "loss", X)
                    # A listener such as TerminateOnNaN may stop cleanly; the update is skipped.
                    for cb in batch_listeners:
                        cb.on_batch_end(batch, {"loss": batch_loss, "size": m})
                    if not self.stop_training:
                        self._diverged(
                            epoch, f"the loss became {batch_loss} in batch {batch}", last_good
                        )
                    total = float("nan")
                    break
                total += batch_loss * (m if wb is None else wb.sum())
                if clipvalue is not None:
                    np.clip(self._flat_grad, -clipvalue, clipvalue, out=self._flat_grad)
                if clipnorm is not None:
                    norm = float(np.sqrt(np.vdot(self._flat_grad, self._flat_grad)))
                    if norm > clipnorm:
                        self._flat_grad *= clipnorm / norm
                optimizer_step(params, grads)
                for cb in batch_listeners:
                    cb.on_batch_end(batch, {"loss": batch_loss, "size": m})
            if not all_finite(self._flat_weights):
                self._diverged(epoch, "the weights became NaN or infinite", last_good)
            logs = {"loss": total / (n if sample_weight is None else sample_weight.sum())}
            if metric_fns:
                train = self._evaluate(X, y, 1024, None, metric_fns)
                logs.update({k: v for k, v in train.items() if k != "loss"})
            if X_val is not None:
                val = self._evaluate(X_val, y_val, 1024, None, metric_fns)
                logs.update({f"val_{k}": v for k, v in val.items()})
            self.epoch += 1
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    # ------------------------------------------------------------ seeing the maths
    def check_gradients(
        self, X, y, epsilon: float = 1e-6, verbose: bool = True, **kwargs
    ) -> _diagnostics.GradientCheck:
        """Compare back-propagation with central finite differences on a float64 copy.

        Returns (and prints unless ``verbose=False``) a per-layer table of the maximum absolute
        and relative errors and pass/fail; see ``neuralnet.diagnostics.check_gradients``.
        """
        self._check_bound()
        return _diagnostics.check_gradients(self, X, y, epsilon=epsilon, verbose=verbose, **kwargs)

    def explain(self, X, y=None, max_samples: int = 4, verbose: bool = True) -> str:
        """Print and return a trace of one forward and backward pass with every shape.

        See ``neuralnet.diagnostics.explain``.
        """
        self._check_bound()
        return _diagnostics.explain(self, X, y, max_samples=max_samples, verbose=verbose)

    def _snapshot(self) -> tuple:
        """Copy the weights and this network's optimizer state, for ``_diverged`` to restore."""
        state = self.optimizer.state.get(id(self._flat_weights))
        if state is not None:
            state = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}
        return self._flat_weights.copy(), state, self.optimizer.iterations

    def _diverged(self, epoch: int, what: str, last_good: tuple) -> None:
        """Put back the weights and optimizer state of the epoch's start, then raise."""
        weights, state, iterations = last_good
        self._flat_weights[...] = weights
        self.optimizer.iterations = iterations
        if state is None:
            self.optimizer.state.pop(id(self._flat_weights), None)
        else:
            self.optimizer.state[id(self._flat_weights)] = state
        raise TrainingDivergedError(
            f"Training diverged: {what} of epoch {epoch}. The network keeps the weights it had "
            f"at the start of epoch {epoch}. Try a lower learning rate (the optimizer's is "
            f"{self.optimizer.learning_rate:g})."
        )

    def _apply_class_weight(self, class_weight, y: np.ndarray, sample_weight):
        if class_weight is None:
            return sample_weight
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"class_weight must be a dict {{label: weight}}; received {type(class_weight).__name__}."
            )
        labels = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
        w = np.ones(len(y)) if sample_weight is None else sample_weight.copy()
        for label, weight in class_weight.items():
            w[labels == label] *= weight
        return w

    def _resolve_optimizer(self, optimizer, learning_rate) -> _optimizers.Optimizer:
        """Keep the current optimizer (and its state) unless a different one is asked for."""
        if isinstance(optimizer, _optimizers.Optimizer):
            if learning_rate is not None:
                optimizer.learning_rate = float(learning_rate)
            return optimizer
        current = self.optimizer
        if optimizer is None:
            optimizer = current.name if current is not None else "sgd"
        if not isinstance(optimizer, str):
            return _optimizers.get(optimizer)
        if current is not None and current.name == optimizer.lower():
            if learning_rate is not None:
                current.learning_rate = float(learning_rate)
            return current
        if learning_rate is None and optimizer.lower() == "sgd":
            learning_rate = _DEFAULT_SGD_LEARNING_RATE
        kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
        return _optimizers.get(optimizer, **kwargs)

    def __repr__(self) -> str:
        shapes = tuple((l.n_in, l.n_out) for l in self._dense)
        acts = [l.activation.name for l in self._dense]
        return (
            f"NeuralNet(layer_shapes={shapes}, activations={acts}, loss={self.loss_fn.name!r}, "
            f"dtype={self.dtype.name!r})"
        )
