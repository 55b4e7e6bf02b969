"""``NeuralNet``: build a chain of layers, propagate forward and backward, predict and evaluate.

Forward propagation composes the layers, ``A_l = f_l([A_{l-1}, 1] @ W_l)`` with ``A_0 = X``.
Back-propagation applies the chain rule from the output down:

    delta_L     = dL/dz_L                        (fused: (A_L - Y) scaled, see ``losses``)
    dL/dW_l     = [A_{l-1}, 1]^T @ delta_l
    delta_{l-1} = (delta_l @ W_l[:-1]^T) * f'_{l-1}    (the bias row sends nothing down)

Every layer follows the contract of ``neuralnet.layers.Layer``, so the network asks each one for
its outputs, gradients, parameters and config and never looks inside. Training (``fit``) lives
in ``neuralnet.training``; the optimised twins of the training step and of a small-batch
``predict`` in ``neuralnet._fastpath``.

All trainable parameters live in one flat buffer; each layer's arrays are views of their slice,
so an optimizer step is a few vectorised operations over the whole network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from neuralnet import _fastpath, _memory
from neuralnet import activations as _activations
from neuralnet import losses as _losses
from neuralnet import metrics as _metrics
from neuralnet import optimizers as _optimizers
from neuralnet._validation import (
    all_finite,
    as_float_array,
    as_numeric_array,
    check_dtype,
    check_n_features,
    check_non_negative,
    check_positive_int,
    check_same_length,
    check_shape,
    invalid_value,
    is_sparse,
    is_streamed,
    overflow_checked,
)
from neuralnet.callbacks import Callback, History
from neuralnet.layers import FullyConnectedLayer, Layer, LayerChain
from neuralnet.training import TrainingDivergedError

__all__ = ["NeuralNet", "TrainingDivergedError"]


def _is_table(X) -> bool:
    """Whether ``X`` is a pandas DataFrame, checked without importing pandas."""
    return type(X).__module__.startswith("pandas")


def _check_seed(seed) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise invalid_value("seed", "None or a non-negative integer", seed)
    return int(seed)


class NeuralNet:
    """A feed-forward network of layers; dense layers absorb their bias into their weights.

    Args:
        layer_shapes: one ``(n_in, n_out)`` pair per dense layer, e.g. ``((2, 3), (3, 1))`` for
            the article's 2-3-1 network; or a list of layers (``FullyConnectedLayer``,
            ``Dense``, ``Dropout``, any registered ``Layer``) or a ``LayerChain``. Layers
            without an input size (``Dense(64, activation="relu")``) learn it from the layer
            before them, the first from the data at the first ``fit``.
        activations: one activation name for every layer, or one per layer (default sigmoid);
            used with ``layer_shapes`` pairs only.
        loss: ``"binary_crossentropy"``, ``"categorical_crossentropy"``, ``"mse"``, ...; by
            default it follows the output activation: softmax -> categorical cross-entropy,
            sigmoid -> binary cross-entropy, anything else -> mse.
        seed: seeds the initial weights and the shuffling; the same seed gives the same training.
        dtype: ``"float32"`` (default) or ``"float64"``.
        initializer: how the weights start (default He normal; the bias row starts at zero).
        l2: L2 penalty on every dense layer's weights (never the bias rows), ``l2 / 2 * ||W||^2``.
        l1: L1 penalty on every dense layer's weights (never the bias rows), ``l1 * sum |W|``.
    """

    def __init__(
        self,
        layer_shapes: Sequence[tuple[int, int]] | Sequence[Layer] | LayerChain,
        activations: str | Sequence[str] = "sigmoid",
        loss: str | _losses.Loss | None = None,
        seed: int | None = None,
        dtype: str | np.dtype = "float32",
        initializer: str = "he_normal",
        l2: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        self.dtype = check_dtype(dtype)
        self.seed = _check_seed(seed)
        self.rng = np.random.default_rng(self.seed)
        l2 = float(check_non_negative(l2, "l2"))
        l1 = float(check_non_negative(l1, "l1"))
        self.layers = self._build_layers(layer_shapes, activations, initializer, l2, l1)
        self.loss_fn = (_losses.get(loss) if loss is not None
                        else _losses.for_activation(self.output_activation))
        self.optimizer: _optimizers.Optimizer | None = None
        self.epoch = 0
        self.stop_training = False
        self.history: History | None = None
        # JSON-able facts saved with the model, e.g. the CLI's feature names.
        self.metadata: dict = {}
        # The fitted table preprocessing (neuralnet.tabular), saved with the model: predict,
        # predict_classes and evaluate apply it to a pandas DataFrame of the raw columns.
        self.preprocessor = None
        self.target_encoder = None
        self._predictor = _fastpath.Predictor()
        self._flat_weights: np.ndarray | None = None
        self._flat_grad: np.ndarray | None = None
        self._bound_layers: list[Layer] = []
        n_features = self._known_input_size()
        if n_features is not None:
            self.build(n_features)

    # ------------------------------------------------------------------ building
    def _build_layers(self, layer_shapes, activations, initializer, l2, l1) -> LayerChain:
        """Return the ``LayerChain``: one dense layer per ``(n_in, n_out)``, bias absorbed."""
        if isinstance(layer_shapes, LayerChain) or (
            isinstance(layer_shapes, (list, tuple))
            and layer_shapes
            and all(isinstance(l, Layer) for l in layer_shapes)
        ):
            chain = LayerChain(layer_shapes)
            for layer in chain:
                if layer.built and layer.dtype is not None and layer.params and \
                        layer.dtype != self.dtype:
                    raise ValueError(
                        f"Layer {layer!r} has dtype {layer.dtype.name}, but the network's dtype "
                        f"is {self.dtype.name}; build the layers with dtype={self.dtype.name!r}."
                    )
                if hasattr(layer, "rng"):
                    layer.rng = self.rng
            for name, value in (("l2", l2), ("l1", l1)):
                if value:
                    raise ValueError(
                        f"Received an invalid value for `{name}`: it applies to layers built from "
                        f"(n_in, n_out) pairs; give each FullyConnectedLayer its own {name} "
                        f"instead. Received: {name}={value!r}"
                    )
            return chain

        if not isinstance(layer_shapes, (list, tuple)) or not layer_shapes:
            raise ValueError(
                "Received an invalid value for `layer_shapes`, expected a non-empty sequence of "
                f"(n_in, n_out) pairs such as ((2, 3), (3, 1)). Received: layer_shapes={layer_shapes!r}"
            )
        shapes = [check_shape(s, f"layer_shapes[{i}]") for i, s in enumerate(layer_shapes)]
        for i in range(1, len(shapes)):
            if shapes[i][0] != shapes[i - 1][1]:
                raise ValueError(
                    f"layer_shapes do not chain: layer {i - 1} {shapes[i - 1]} has "
                    f"{shapes[i - 1][1]} outputs, but layer {i} {shapes[i]} expects "
                    f"{shapes[i][0]} inputs."
                )
        if isinstance(activations, (str, _activations.Activation, dict)):
            activations = [activations] * len(shapes)
        if not isinstance(activations, Sequence):
            raise TypeError(
                "Received an invalid type for `activations`, expected an activation name or one "
                f"per layer. Received: activations={activations!r} of type "
                f"{type(activations).__name__}"
            )
        if len(activations) != len(shapes):
            raise ValueError(
                f"activations has {len(activations)} entries, but layer_shapes has {len(shapes)} "
                "layers; give one activation per layer, or a single name for all."
            )
        return LayerChain(
            FullyConnectedLayer(n_in, n_out, act, initializer, l2, self.dtype, self.rng, l1=l1)
            for (n_in, n_out), act in zip(shapes, activations, strict=True)
        )

    def _known_input_size(self) -> int | None:
        """The number of features, if some layer says it before any layer that changes sizes."""
        for layer in self.layers:
            if layer.n_in is not None:
                return layer.n_in
            if type(layer).build is not Layer.build:
                return None  # a layer that learns its size and may change it
        return None

    @property
    def built(self) -> bool:
        return self._flat_weights is not None and all(l.built for l in self.layers)

    def build(self, n_features: int) -> None:
        """Build every layer for inputs of ``n_features`` values and bind the parameters.

        Called by ``__init__`` when the sizes are known, and by the first ``fit`` otherwise.
        """
        n_features = check_positive_int(n_features, "n_features")
        self.layers.build(n_features, self.dtype, self.rng)
        if not self.layers.with_params:
            raise ValueError(
                f"The network needs at least one layer with weights (a FullyConnectedLayer); "
                f"received layers={self.layers!r}."
            )
        self._bind_parameters()

    def _bind_parameters(self) -> None:
        """Move every trainable array and its gradient into one flat buffer each, as views."""
        arrays = [(layer, name, p) for layer in self.layers.with_params
                  for name, p in layer.params.items()]
        total = sum(p.size for _, _, p in arrays)
        # On cache-line boundaries (_memory): the optimizers sweep them every batch.
        self._flat_weights = _memory.empty(total, self.dtype)
        self._flat_grad = _memory.zeros(total, self.dtype)
        offset = 0
        for layer, name, p in arrays:
            view = self._flat_weights[offset : offset + p.size].reshape(p.shape)
            view[...] = p
            layer.params[name] = view
            layer.grads[name] = self._flat_grad[offset : offset + p.size].reshape(p.shape)
            offset += p.size
        # The layers before (and including) the first one with weights send no gradient down:
        # their input is the data.
        first = next(i for i, l in enumerate(self.layers) if l.params)
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = i > first
        self._bound_layers = list(self.layers)
        self._predictor = _fastpath.Predictor()

    @property
    def parameter_offsets(self) -> list[tuple[Layer, int, int]]:
        """``(layer, start, stop)``: the slice of the flat buffers that each layer owns."""
        out, offset = [], 0
        for layer in self.layers.with_params:
            out.append((layer, offset, offset + layer.n_params))
            offset += layer.n_params
        return out

    @property
    def flat_weights(self) -> np.ndarray:
        """Every trainable value in one vector; the layers' parameters are views of it."""
        flat = self.__dict__.get("_flat_weights")
        if flat is None:  # bound once: training reads this every epoch, so no re-check here
            self.check_built()
            flat = self._flat_weights
        return flat

    @property
    def flat_grad(self) -> np.ndarray:
        """The gradients of ``flat_weights`` from the last backward pass, in the same order."""
        grad = self.__dict__.get("_flat_grad")
        if grad is None:
            self.check_built()
            grad = self._flat_grad
        return grad

    def __getstate__(self) -> dict:
        # The optimizer keys its state by id(parameter), which no copy or pickle keeps: note
        # which entry is this network's, for __setstate__ to re-key it.
        state = {**self.__dict__, "_pickled_flat_id": id(self.__dict__.get("_flat_weights")),
                 "_predictor": None}
        state.pop("_fit_lock", None)  # a lock is not copied: the copy trains on its own
        return state

    def __setstate__(self, state: dict) -> None:
        flat_id = state.pop("_pickled_flat_id", None)
        self.__dict__.update(state)
        self._predictor = _fastpath.Predictor()
        optimizer = self.__dict__.get("optimizer")
        entry = optimizer.state.pop(flat_id, None) if optimizer is not None else None
        if entry is None:
            return
        # Pickling copied the layers' views apart from the flat buffer: bind them again now so
        # the moments follow the buffer (copied: a memory-mapped load is read-only).
        self._bind_parameters()
        optimizer.state[id(self._flat_weights)] = {
            k: _memory.copy(v) if isinstance(v, np.ndarray) else v for k, v in entry.items()
        }

    def check_built(self) -> None:
        """Build or rebind when the chain was edited (a layer appended) since it was bound.

        A network that is not built yet (its input size is learnt at the first ``fit``) is a
        ``RuntimeError``. A lost flat buffer is rebuilt from the layers, which keep their values.
        """
        layers = getattr(self, "layers", None)
        if not isinstance(layers, LayerChain) or not len(layers):
            raise RuntimeError(
                f"This NeuralNet has no weights yet: it holds no dense layer (layers={layers!r}). "
                "Build it with NeuralNet(layer_shapes, ...) or load one with neuralnet.load(path) "
                "before using it."
            )
        flat = self.__dict__.get("_flat_weights")
        if flat is not None and layers._layers == self.__dict__.get("_bound_layers") and all(
            np.shares_memory(p, flat) for l in layers.with_params for p in l.params.values()
        ):
            return
        if not all(l.built for l in layers):
            n_features = layers[0].n_in if layers[0].built else None
            if n_features is None:
                raise RuntimeError(
                    "This NeuralNet is not built yet: its first layer learns its input size from "
                    "the data. Call fit(X, y) or build(n_features) first."
                )
            layers.build(n_features, self.dtype, self.rng)
        if not layers.with_params:
            raise RuntimeError(
                f"This NeuralNet has no weights yet: it holds no dense layer (layers={layers!r}). "
                "Build it with NeuralNet(layer_shapes, ...) or load one with neuralnet.load(path) "
                "before using it."
            )
        self._bind_parameters()

    def check_ready(self) -> None:
        """Bind the parameters, and refuse weights that are NaN or infinite (a ``RuntimeError``)."""
        self.check_built()
        if not all_finite(self._flat_weights):
            bad = int(self._flat_weights.size - np.count_nonzero(np.isfinite(self._flat_weights)))
            raise RuntimeError(
                f"The network's weights hold {bad} NaN or infinite value(s), so every output "
                "would be too; set finite weights with set_weights(...) or rebuild the network."
            )

    def check_finite(self, values, what: str, X: np.ndarray) -> None:
        """Raise a ``ValueError`` naming ``what`` if ``values`` computed from ``X`` overflowed."""
        if not np.isfinite(values).all():
            raise ValueError(
                f"The network's {what} overflowed to inf or NaN for X (largest magnitude "
                f"{float(np.abs(X).max()):.3g}); the inputs or targets are too large for "
                "its weights: scale them, e.g. standardize the features."
            )

    # --------------------------------------------------------------- properties
    @property
    def n_features(self) -> int:
        self.check_built()
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        self.check_built()
        return self.layers[-1].n_out

    @property
    def output_layer(self) -> Layer | None:
        """The last layer with an activation: it sets what the outputs mean."""
        return next((l for l in reversed(self.layers) if hasattr(l, "activation")), None)

    @property
    def output_activation(self) -> _activations.Activation:
        layer = self.output_layer
        return layer.activation if layer is not None else _activations.Linear()

    @property
    def n_params(self) -> int:
        """The number of trainable values."""
        self.check_built()
        return int(self._flat_weights.size)

    def count_params(self) -> int:
        """Return the number of values the network holds, trainable or not (Keras's name)."""
        self.check_built()
        return sum(l.n_params + l.n_non_trainable for l in self.layers)

    @property
    def is_classifier(self) -> bool:
        """Whether the loss is a classification loss (its outputs are class probabilities)."""
        return self.loss_fn.is_classification

    def get_weights(self) -> list[np.ndarray]:
        """Return a copy of every layer's arrays in order (a dense layer's ``(n_in + 1, n_out)``)."""
        self.check_built()
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set every layer's arrays; the list and shapes must match ``get_weights()``."""
        self.check_built()
        counts = [len(l.get_weights()) for l in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(
                f"set_weights expects {sum(counts)} arrays (one per layer array, as get_weights() "
                f"lists them); received {len(weights)}."
            )
        owners = [l for l, count in enumerate(counts) for _ in range(count)]
        current = self.get_weights()
        arrays = []
        for i, (w, target) in enumerate(zip(weights, current, strict=True)):
            w = as_float_array(w, f"weights[{i}]", self.dtype, ndim=(target.ndim,))
            if w.shape != target.shape:
                dense = isinstance(self.layers[owners[i]], FullyConnectedLayer)
                raise ValueError(
                    f"weights[{i}] has shape {w.shape}, but layer {owners[i]} expects "
                    f"{target.shape}" + (" (n_in + 1, n_out)." if dense else ".")
                )
            arrays.append(w)
        start = 0
        for layer, count in zip(self.layers, counts, strict=True):
            if count:
                layer.set_weights(arrays[start : start + count])
            start += count

    # ------------------------------------------------------------ persistence
    def get_config(self) -> dict:
        """Return the architecture as plain JSON-able data; ``from_config`` rebuilds it.

        Holds every layer's config, the loss, the dtype and the seed; not the weights.
        """
        seed = self.seed
        config = {
            "class_name": "NeuralNet",
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss_fn.get_config(),
            "dtype": self.dtype.name,
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        }
        if self.built:
            config["n_features"] = int(self.layers[0].n_in)
        return config

    @classmethod
    def from_config(cls, config: dict) -> NeuralNet:
        """Build a network from ``get_config()`` output, with freshly initialised weights.

        With the same seed, the weights are those ``NeuralNet(layer_shapes, ..., seed=seed)``
        starts from. A layer, activation or loss named in the config must be a built-in or
        registered with ``neuralnet.register``.
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
        if not isinstance(config["layers"], list) or not config["layers"] or not all(
            isinstance(c, dict) for c in config["layers"]
        ):
            raise ValueError("config['layers'] must be a list of layer configs (dicts), at least one.")
        seed = config.get("seed")
        layers = [layer_from_config(c) for c in config["layers"]]
        n_features = config.get("n_features")
        if n_features is not None:
            check_positive_int(n_features, "config['n_features']")
        dtype = check_dtype(config["dtype"], "config['dtype']")
        # One generator initialises the layers in order and then shuffles, as __init__ does;
        # a layer that learns its size is built here from the one before it.
        rng = np.random.default_rng(seed)
        size = n_features
        for layer in layers:
            if layer.built:
                layer.reset_parameters(rng)
            elif size is not None:
                layer.build(size, dtype, rng)
            size = layer.n_out
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
        """Print and return a table of the layers, their weight shapes and parameter counts.

        Each dense layer holds ``(n_in + 1) * n_out`` parameters: its ``(n_in + 1, n_out)``
        weights, the last row the bias. ``print_fn=None`` only returns the table.
        """
        self.check_built()
        layers = list(self.layers)
        penalties = [k for k in ("l2", "l1") if any(getattr(l, k, 0) for l in layers)]
        header = ["#", "Layer", "Activation", "Weights (n_in + 1, n_out)", "Params"]
        header += [k.upper() for k in penalties]
        rows = []
        for i, layer in enumerate(layers):
            arrays = [*layer.params.values(), *layer.state.values()]
            activation = getattr(layer, "activation", None)
            if arrays:
                shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
                count = f"{layer.n_params:,}"
                if layer.n_non_trainable:
                    count += f" + {layer.n_non_trainable:,} fixed"
                cells = [str(i), type(layer).__name__,
                         activation.name if activation is not None else "-", shapes, count]
            else:
                cells = [str(i), repr(layer), "-", "-", "0"]
            cells += [f"{getattr(layer, k, 0):g}" if getattr(layer, k, 0) else "-"
                      for k in penalties]
            rows.append(cells)
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        numeric = {0, 4}  # right-aligned columns

        def line(cells):
            return "  ".join(c.rjust(w) if j in numeric else c.ljust(w)
                             for j, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        rule = "-" * len(line(header))
        # The sizes the network passes through (a normalisation layer keeps its input's).
        sizes = [self.n_features] + [l.n_out for l in self.layers.with_params
                                     if isinstance(l, FullyConnectedLayer) or l.n_out != l.n_in]
        fixed = sum(l.n_non_trainable for l in layers)
        totals = [f"Trainable params: {self.n_params:,}", f"Non-trainable params: {fixed:,}"] \
            if fixed else []
        text = "\n".join([
            f"NeuralNet {'-'.join(map(str, sizes))}: loss {self.loss_fn.name}, "
            f"dtype {self.dtype.name}",
            rule, line(header), rule, *map(line, rows), rule, *totals,
            f"Total params: {self.count_params():,}",
        ])
        if print_fn is not None:
            print_fn(text)
        return text

    # ------------------------------------------------------------- propagation
    def check_X(self, X, name: str = "X", sparse_ok: bool = False) -> np.ndarray:
        """Return ``X`` as a finite ``(n_samples, n_features)`` array of the network's dtype.

        With ``sparse_ok``, a scipy.sparse ``X`` stays sparse (CSR, ``neuralnet._sparse``): the
        batch loops densify one batch at a time.
        """
        if sparse_ok and is_sparse(X):
            from neuralnet._sparse import as_csr_rows

            X = as_csr_rows(X, name, self.dtype)
            check_n_features(X, self.n_features, name)
            return X
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

    def check_y(self, y, n: int) -> np.ndarray:
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

    def check_sample_weight(self, sample_weight, n: int) -> np.ndarray | None:
        """Return ``sample_weight`` as ``n`` finite non-negative floats with a positive sum."""
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

    # The names before the API was public; kept for callers that used them.
    _check_X, _check_y, _check_sample_weight = check_X, check_y, check_sample_weight
    _check_ready, _check_finite, _check_bound = check_ready, check_finite, check_built

    def _forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Forward through every layer, each keeping what its ``backward`` needs."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _infer(self, x: np.ndarray) -> np.ndarray:
        """Forward for prediction: nothing recorded, so many threads may run it at once."""
        for layer in self.layers:
            x = layer.infer(x)
        return x

    @overflow_checked
    def forward(self, X) -> np.ndarray:
        """Return the network's outputs ``(n_samples, n_outputs)`` for ``X`` ``(n_samples, n_features)``.

        A single sample of shape ``(n_features,)`` gives ``(1, n_outputs)``. Inference mode
        (Dropout off); nothing is recorded in the layers, so many threads may call it at once.
        """
        self._check_ready()
        X = self.check_X(X)
        out = self._infer(X)
        self._check_finite(out, "outputs", X)
        return out

    __call__ = forward

    @property
    def fused_output_layer(self) -> FullyConnectedLayer | None:
        """The last layer, when it is dense and its activation cancels against the loss.

        Back-propagation then starts from the fused delta ``c (a - y)`` (see ``losses``) and
        the loss is computed from the logits; otherwise it starts from ``dL/da``.
        """
        last = self.layers[-1]
        if isinstance(last, FullyConnectedLayer) and self.loss_fn.fuses_with(last.activation):
            return last
        return None

    def penalty(self) -> float:
        """Return the regularisation terms every layer adds to the loss."""
        return sum(layer.penalty() for layer in self.layers)

    def _backward(self, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        """Fill every layer's gradients with ``dL/dparam`` after ``_forward`` on the same batch."""
        head = self.fused_output_layer
        layers = list(self.layers)
        if head is not None:
            delta = self.loss_fn.output_delta(y, head.outputs, head.activation, sample_weight)
            grad = head.backward_delta(delta)
            layers.pop()
        else:
            grad = self.loss_fn.output_gradient(y, layers[-1].outputs, sample_weight)
        for layer in reversed(layers):
            if grad is None:
                break
            grad = layer.backward(grad)

    def reference_step(self, x, y, sample_weight=None) -> float:
        """Forward, loss, and (if the loss is finite) backward, through the generic interfaces.

        The readable reference of one training step; ``_fastpath.FusedStep`` is its fast twin.
        """
        self._forward(x, training=True)
        loss = self._loss_value(y, sample_weight)
        if np.isfinite(loss):
            self._backward(y, sample_weight)
        return loss

    def _train_step_for(self, batch_size: int, sample_weight):
        """The per-batch step ``fit`` calls: ``FusedStep`` where it applies, else the reference."""
        return _fastpath.train_step(self, batch_size, sample_weight)

    def _loss_value(self, y, sample_weight=None) -> float:
        """The mean loss of the last forward pass, plus the penalties."""
        head = self.fused_output_layer
        z = head.preactivation if head is not None else None
        value = self.loss_fn.value(y, self.layers[-1].outputs, z, sample_weight)
        return value + self.penalty()

    @overflow_checked
    def loss(self, X, y, sample_weight=None) -> float:
        """Return the mean loss of the network on ``(X, y)`` (with the penalties, if any)."""
        self._check_ready()
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        sample_weight = self.check_sample_weight(sample_weight, len(X))
        outputs, z = self._outputs_and_logits(X, len(X))
        value = self.loss_fn.value(y, outputs, z, sample_weight) + self.penalty()
        self._check_finite(value, "loss", X)
        return value

    @overflow_checked
    def gradients(self, X, y, sample_weight=None, training: bool = True) -> list[np.ndarray]:
        """Return ``dL/dparam`` of the mean loss for each trainable array, as ``get_weights`` orders them.

        ``training`` runs the layers as ``fit`` does (Dropout active); false runs them as
        ``predict`` does. Every layer's ``grads`` keep the result; the layers' saved state
        (BatchNormalization's moving statistics) is left as it was.
        """
        self._check_ready()
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        sample_weight = self.check_sample_weight(sample_weight, len(X))
        saved = [(a, a.copy()) for layer in self.layers for a in layer.state.values()]
        self._forward(X, training=training)
        for array, value in saved:
            array[...] = value
        self._backward(y, sample_weight)
        self._check_finite(self._flat_grad, "gradients", X)
        return [g.copy() for l in self.layers.with_params for g in l.grads.values()]

    # -------------------------------------------------------------- inference
    def predict(self, X, batch_size: int = 1024, verbose=0) -> np.ndarray:
        """Return the outputs ``(n_samples, n_outputs)``, computed ``batch_size`` rows at a time.

        Safe to call from many threads at once, and beside a ``fit`` of the same model: it
        records nothing in the layers. With a ``preprocessor``, a pandas DataFrame of the raw
        columns is encoded first, and a regression's outputs come back in the target's units;
        an array is the network's inputs. ``verbose`` is accepted for Keras's signature;
        nothing is printed.
        """
        predictor = self.__dict__.get("_predictor")
        if predictor is not None and type(X) is np.ndarray:
            # A ready array through plain dense layers (_fastpath.Predictor): a one-sample
            # prediction is mostly such fixed costs, so this comes first.
            out = predictor.predict(self, X, batch_size)
            if out is not None:
                return out
        return self._predict_checked(X, batch_size, verbose)

    @overflow_checked
    def _predict_checked(self, X, batch_size, verbose) -> np.ndarray:
        if type(X) is not np.ndarray and _is_table(X) and getattr(self, "preprocessor", None):
            from neuralnet import tabular

            return tabular.predict_table(self, X, batch_size)
        if is_streamed(X):
            from neuralnet import sources

            return sources.predict(self, X, batch_size)
        if verbose not in (0, 1, 2, "auto"):
            raise invalid_value("verbose", "0, 1, 2 or 'auto'", verbose)
        self._check_ready()
        X = self.check_X(X, sparse_ok=True)
        batch_size = check_positive_int(batch_size, "batch_size")
        out, _ = self._outputs_and_logits(X, batch_size, logits=False)
        self._check_finite(out, "outputs", X)
        return out

    def predict_classes(self, X, batch_size: int = 1024) -> np.ndarray:
        """Return class labels: 0/1 at the loss's decision threshold, or the arg-max of several outputs.

        The threshold is 0.5 for sigmoid outputs and 0 for a hinge loss's margin; it applies to
        a single output and to the several outputs of a binary (multi-label) task.

        With a ``preprocessor``, a pandas DataFrame gives the original labels (the
        ``target_encoder``'s classes).
        """
        if type(X) is not np.ndarray and _is_table(X) and getattr(self, "preprocessor", None):
            from neuralnet import tabular

            return tabular.predict_table_classes(self, X, batch_size)
        proba = self.predict(X, batch_size)
        if self.is_multilabel_or_binary:
            threshold = self.loss_fn.decision_threshold
            labels = (proba >= (0.5 if threshold is None else threshold)).astype(np.int64)
            return labels[:, 0] if self.n_outputs == 1 else labels
        return proba.argmax(axis=1)

    @property
    def is_multilabel_or_binary(self) -> bool:
        """Whether each output is its own 0/1 decision (one output, or a binary-task loss)."""
        return self.n_outputs == 1 or self.loss_fn.task == "binary"

    # The names before the API was public.
    def _is_classifier(self) -> bool:
        return self.is_classifier

    def _is_multilabel_or_binary(self) -> bool:
        return self.is_multilabel_or_binary

    @overflow_checked
    def evaluate(self, X, y=None, batch_size: int = 1024, sample_weight=None) -> dict[str, float]:
        """Return ``{"loss": ..., "accuracy": ...}`` (accuracy for classification losses only).

        With a ``preprocessor``, ``X`` may be a pandas DataFrame of the raw columns and ``y`` the
        targets in their own labels or units, or the name of ``X``'s target column. ``X`` may
        also be a batch source (``y`` omitted), Dask arrays or a memory-map: the loss and metrics
        are then accumulated one batch at a time (``neuralnet.sources.evaluate``).
        """
        if type(X) is not np.ndarray and _is_table(X) and getattr(self, "preprocessor", None):
            from neuralnet import tabular

            return tabular.evaluate_table(self, X, y, batch_size, sample_weight)
        if is_streamed(X):
            from neuralnet import sources

            return sources.evaluate(self, X, y, batch_size, sample_weight)
        self._check_ready()
        X = self.check_X(X, sparse_ok=True)
        targets = self.check_y(y, len(X))
        sample_weight = self.check_sample_weight(sample_weight, len(X))
        logs = self.evaluate_prepared(X, targets, batch_size, sample_weight, self.metric_fns(None))
        self._check_finite(logs["loss"], "loss", X)
        return logs

    def evaluate_prepared(self, X, targets, batch_size, sample_weight, metric_fns) -> dict[str, float]:
        """``evaluate`` for arrays already checked (``check_X``, ``check_y``) and metric functions."""
        self._check_ready()
        batch_size = check_positive_int(batch_size, "batch_size")
        outputs, z = self._outputs_and_logits(X, batch_size)
        self._check_finite(outputs, "outputs", X)
        logs = {"loss": self.loss_fn.value(targets, outputs, z, sample_weight) + self.penalty()}
        for name, fn in metric_fns.items():
            logs[name] = float(fn(targets, outputs))
        return logs

    def outputs_and_logits(self, X, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the outputs and, for a fused output layer, its pre-activations (one pass).

        The logits are ``None`` when the loss does not fuse with the output activation.
        """
        self._check_ready()
        return self._outputs_and_logits(self.check_X(X, sparse_ok=True),
                                        check_positive_int(batch_size, "batch_size"))

    def _outputs_and_logits(self, X, batch_size, logits: bool = True):
        """The outputs and (for a fused, non-linear output layer, when asked) its logits.

        ``batch_size`` rows at a time, through ``Layer.infer``: nothing recorded (thread-safe);
        a scipy.sparse ``X`` is densified one batch at a time.
        """
        sparse = is_sparse(X)
        head = self.fused_output_layer
        if not logits or head is None or isinstance(head.activation, _activations.Linear):
            head = None
        outputs = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        z = np.empty_like(outputs) if head is not None else None
        below = list(self.layers)[:-1] if head is not None else list(self.layers)
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            x = X[start:stop].toarray() if sparse else X[start:stop]
            for layer in below:
                x = layer.infer(x)
            if head is None:
                outputs[start:stop] = x
            else:
                head.affine(x, out=z[start:stop])
                head.activation.forward(z[start:stop], out=outputs[start:stop])
        return outputs, z

    def metric_fns(self, metrics) -> dict:
        """Return ``{name: fn(y_true, y_pred)}`` for ``metrics`` (accuracy by default for a classifier)."""
        names = list(metrics) if metrics is not None else (
            ["accuracy"] if self.is_classifier else []
        )
        fns = {}
        for m in names:
            name = m if isinstance(m, str) else getattr(m, "__name__", type(m).__name__)
            fns[name] = _metrics.get(m, self.loss_fn, self.n_outputs)
        return fns

    _metric_fns = metric_fns
    _evaluate = evaluate_prepared
    _reference_step = reference_step

    # --------------------------------------------------------------- training
    def fit(
        self,
        X,
        y=None,
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
        client=None,
    ) -> History:
        """Train by mini-batch gradient descent; return the ``History`` of each epoch's logs.

        Every batch is one update (the last, short batch too); with ``shuffle`` the samples are
        reshuffled each epoch from the network's seeded generator. ``history.history["loss"]``
        holds each epoch's mean training loss (the average over its batches, weighted by their
        sizes, each taken before that batch's update). A second call continues from the
        current weights and optimizer state. The loop itself is ``neuralnet.training.fit``.

        Args:
            learning_rate: a number or a schedule (a callable ``epoch -> rate``); by default
                0.1 for plain SGD and the optimizer's own default otherwise.
            optimizer: ``"sgd"`` (default), ``"adam"``, ``"adamw"``, ``"rmsprop"``,
                ``"adagrad"`` or an ``Optimizer``; the previous one is kept across calls.
                ``"lbfgs"``: full-batch L-BFGS through scipy (``neuralnet.lbfgs``), up to
                ``epochs`` iterations; batch_size and shuffle do not apply (with ``client``,
                one round trip to the workers per evaluation of the objective).
            validation_data: ``(X_val, y_val)`` evaluated after each epoch (``val_*`` logs).
            validation_split: fraction of the *last* samples held out for validation.
            metrics: names such as ``"accuracy"``, logged for the training (and validation)
                data after each epoch; none by default, which keeps epochs lean.
            sample_weight, class_weight: per-sample weights, or weights per class label.
            clipnorm, clipvalue: clip the gradient by global norm, or each entry by value.
            client: a ``distributed.Client``: with Dask arrays ``X`` and ``y``, each batch's
                gradient is computed on the workers holding its rows (``neuralnet.data_parallel``).

        ``X`` may also be a batch source (``len`` batches, ``source[i]`` returning ``(X_batch,
        y_batch[, sample_weight])``; ``y`` omitted), Dask arrays or NumPy memory-maps, read a
        batch or chunk at a time (``neuralnet.sources``, which also says how they shuffle).
        """
        if isinstance(optimizer, str) and optimizer.lower() == "lbfgs":
            from neuralnet.lbfgs import _fit_from_network_fit  # scipy's L-BFGS: its own loop

            return _fit_from_network_fit(
                self, X, y, epochs=epochs, learning_rate=learning_rate, verbose=verbose,
                validation_data=validation_data, validation_split=validation_split,
                callbacks=callbacks, metrics=metrics, sample_weight=sample_weight,
                class_weight=class_weight, clipnorm=clipnorm, clipvalue=clipvalue, client=client,
            )
        from neuralnet import training

        return training.fit(
            self, X, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            shuffle=shuffle, verbose=verbose, optimizer=optimizer,
            validation_data=validation_data, validation_split=validation_split,
            callbacks=callbacks, metrics=metrics, sample_weight=sample_weight,
            class_weight=class_weight, clipnorm=clipnorm, clipvalue=clipvalue, client=client,
        )

    # ------------------------------------------------------------ seeing the maths
    def check_gradients(self, X, y, epsilon: float = 1e-6, verbose: bool = True, **kwargs):
        """Compare back-propagation with central finite differences on a float64 copy.

        Returns (and prints unless ``verbose=False``) a per-layer table of the maximum absolute
        and relative errors and pass/fail; see ``neuralnet.diagnostics.check_gradients``.
        """
        from neuralnet import diagnostics

        return diagnostics.check_gradients(self, X, y, epsilon=epsilon, verbose=verbose, **kwargs)

    def explain(self, X, y=None, max_samples: int = 4, verbose: bool = True) -> str:
        """Print and return a trace of one forward and backward pass with every shape.

        See ``neuralnet.diagnostics.explain``.
        """
        from neuralnet import diagnostics

        return diagnostics.explain(self, X, y, max_samples=max_samples, verbose=verbose)

    def __repr__(self) -> str:
        if all(isinstance(l, FullyConnectedLayer) and l.built for l in self.layers):
            shapes = tuple((l.n_in, l.n_out) for l in self.layers)
            acts = [l.activation.name for l in self.layers]
            return (
                f"NeuralNet(layer_shapes={shapes}, activations={acts}, loss={self.loss_fn.name!r}, "
                f"dtype={self.dtype.name!r})"
            )
        return (f"NeuralNet([{', '.join(map(repr, self.layers))}], loss={self.loss_fn.name!r}, "
                f"dtype={self.dtype.name!r})")
