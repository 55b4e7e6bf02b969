"""Export a trained ``NeuralNet`` to ONNX, and teach skl2onnx to convert the estimators.

``to_onnx(model, path)`` (also ``NeuralNet.to_onnx``) builds one graph:

    X (float, [N, n_features])
      -> [(X - mean) / scale]            only with ``scaling=`` (the CLI's saved scaling)
      -> one converter per layer         FullyConnectedLayer: Gemm(x, W[:-1], W[-1]) + activation
      -> predictions (float, [N, n_outputs])          what ``predict`` returns
      -> labels                                      classifiers only, what ``predict_classes``
                                                     returns: int64 [N] (binary, multi-class) or
                                                     [N, k] (multi-label), or the label values
                                                     given with ``labels=``

checks it with ``onnx.checker`` and writes it atomically. onnxruntime's outputs match
``predict`` within ``rtol=1e-5, atol=1e-6`` in float32 (measured: at most 7.2e-7 apart;
``tests/test_onnx.py``).

Each layer class and each activation class has one converter: a function
``(graph, layer_or_activation, x) -> y`` that adds nodes to ``graph`` (an ``OnnxGraph``) and
returns the name of its output tensor. A new layer or activation adds one function::

    @register_activation(MyActivation)
    def _my_activation(graph, activation, x):
        return graph.node("Mul", [x, graph.constant(activation.scale)])

``register_skl2onnx()`` registers a shape calculator and a converter for
``NeuralNetClassifier`` and ``NeuralNetRegressor`` with skl2onnx (importing this module does it
when skl2onnx is already imported), so a scikit-learn ``Pipeline`` holding one converts with
``skl2onnx.to_onnx``; classifiers get skl2onnx's usual ``label`` and ``probabilities`` outputs
and its ``zipmap`` option, as ``MLPClassifier`` does. The same layer and activation
converters build the network there.

This module imports NumPy only; onnx (and skl2onnx) are imported when a graph is built.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralnet import activations as _activations
from neuralnet import layers as _layers

if TYPE_CHECKING:
    import onnx

    from neuralnet.model import NeuralNet

__all__ = [
    "to_onnx",
    "register_layer",
    "register_activation",
    "register_preprocessor",
    "register_skl2onnx",
    "OnnxGraph",
    "LAYER_CONVERTERS",
    "ACTIVATION_CONVERTERS",
    "PREPROCESSOR_CONVERTERS",
    "DEFAULT_OPSET",
]

# Opset 17 (onnxruntime >= 1.12) has every operator a converter here needs, LayerNormalization
# included; newer runtimes read it too.
DEFAULT_OPSET = 17
_MIN_OPSET = 13  # Softmax over one axis and Squeeze/Unsqueeze axes as inputs start here
_EXTRA = 'pip install "neuralnet[onnx]"'
_OUTPUT_NAMES = ("predictions", "labels")

Converter = Callable[["OnnxGraph", Any, str], str]
LAYER_CONVERTERS: dict[type, Converter] = {}
ACTIVATION_CONVERTERS: dict[type, Converter] = {}
# A preprocessor's converter takes (graph, preprocessor), reserves and declares the graph's
# inputs, and returns ([(name, dtype, shape), ...], the name of the network's input tensor).
PREPROCESSOR_CONVERTERS: dict[type, Callable[[OnnxGraph, Any], tuple[list, str]]] = {}


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx package; install it with: {_EXTRA}") from exc
    return onnx


# ------------------------------------------------------------------------ the graph
class OnnxGraph:
    """The nodes and constants of a graph under construction; converters add to it.

    ``dtype`` is the graph's floating-point type (float32 by default): every constant made
    by ``constant`` from floats is cast to it.
    """

    def __init__(self, dtype: str | np.dtype = "float32") -> None:
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """Return a tensor name not used yet in this graph, built from ``hint``."""
        i = 0
        name = hint
        while name in self._used:
            i += 1
            name = f"{hint}_{i}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim ``name`` (a graph input or output) so ``fresh`` never hands it out."""
        if name in self._used:
            raise ValueError(f"The tensor name {name!r} is used twice in the graph.")
        self._used.add(name)
        return name

    def constant(self, value, hint: str = "const", dtype: str | np.dtype | None = None) -> str:
        """Add ``value`` as an initializer and return its name.

        Floats become the graph's dtype unless ``dtype`` says otherwise; strings stay strings.
        """
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        elif np.issubdtype(array.dtype, np.floating):
            array = array.astype(self.dtype)
        elif array.dtype.kind == "U":
            array = array.astype(object)
        name = self.fresh(hint)
        self._add_initializer(name, array if array.dtype.kind == "O" else np.ascontiguousarray(array))
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str | None = None,
             output: str | None = None, domain: str = "", **attributes) -> str:
        """Add one node ``op_type(inputs)`` and return its output's name.

        ``output`` fixes that name (a graph output); otherwise a fresh one from ``hint``.
        """
        out = output if output is not None else self.fresh(hint or op_type.lower())
        self._add_node(op_type, list(inputs), out, domain, attributes)
        return out

    def _add_initializer(self, name: str, array: np.ndarray) -> None:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(array, name))

    def _add_node(self, op_type, inputs, output, domain, attributes) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output,
                                           domain=domain or None, **attributes))


def _tensor_type(dtype: np.dtype) -> int:
    from onnx import TensorProto

    if dtype.kind in "OU":
        return TensorProto.STRING
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ------------------------------------------------------------------- registration
def register_layer(cls: type) -> Callable[[Converter], Converter]:
    """Register the decorated function as the ONNX converter of layer class ``cls``.

    The function takes ``(graph, layer, x)`` and returns the name of the layer's output.
    """

    def decorator(fn: Converter) -> Converter:
        LAYER_CONVERTERS[cls] = fn
        return fn

    return decorator


def register_activation(cls: type) -> Callable[[Converter], Converter]:
    """Register the decorated function as the ONNX converter of activation class ``cls``.

    The function takes ``(graph, activation, z)`` and returns the name of ``f(z)``.
    """

    def decorator(fn: Converter) -> Converter:
        ACTIVATION_CONVERTERS[cls] = fn
        return fn

    return decorator


def register_preprocessor(cls: type) -> Callable:
    """Register the decorated function as the ONNX converter of preprocessor class ``cls``.

    The function takes ``(graph, preprocessor)``, reserves its inputs' names with
    ``graph.reserve``, and returns ``([(name, dtype, shape), ...], x)``: the graph inputs (dtype
    ``np.float32``, ``np.int64`` or ``object`` for strings; shape such as ``["N", 1]``) and the
    name of the ``[N, n_features]`` tensor the network takes.
    """

    def decorator(fn):
        PREPROCESSOR_CONVERTERS[cls] = fn
        return fn

    return decorator


def _converter(registry: dict, obj, kind: str, register: str) -> Converter:
    # The exact class: a subclass may compute something else, so it needs its own converter.
    fn = registry.get(type(obj))
    if fn is None:
        cls = type(obj).__name__
        signature = ("(graph, preprocessor) -> (inputs, x)" if kind == "preprocessor"
                     else f"(graph, {kind}, x) -> y")
        raise TypeError(
            f"No ONNX converter for the {kind} {obj!r} (class {cls}); register one with "
            f"@neuralnet.onnx_export.{register}({cls}) on a function {signature}."
        )
    return fn


def emit_activation(graph: OnnxGraph, activation, z: str) -> str:
    """Add ``activation(z)`` to ``graph`` through its registered converter."""
    return _converter(ACTIVATION_CONVERTERS, activation, "activation", "register_activation")(
        graph, activation, z
    )


def emit_layers(graph: OnnxGraph, layers, x: str) -> str:
    """Add every layer of ``layers`` in order; return the name of the last output."""
    for layer in layers:
        x = _converter(LAYER_CONVERTERS, layer, "layer", "register_layer")(graph, layer, x)
    return x


# ---------------------------------------------------------------------- layers
@register_layer(_layers.FullyConnectedLayer)
def _dense(graph: OnnxGraph, layer, x: str) -> str:
    # [x, 1] @ W = x @ W[:-1] + W[-1]: Gemm's C is the bias row, broadcast over the batch.
    W = graph.constant(layer.weights[:-1], "W")
    b = graph.constant(layer.weights[-1], "b")
    z = graph.node("Gemm", [x, W, b], "z")
    return emit_activation(graph, layer.activation, z)


# Dense only changes FullyConnectedLayer's constructor (Keras's arguments): the same maths.
register_layer(_layers.Dense)(_dense)


@register_layer(_layers.Dropout)
def _dropout(graph: OnnxGraph, layer, x: str) -> str:
    return graph.node("Identity", [x], "dropout")  # inference: no unit is dropped


# ------------------------------------------------------------------ activations
def _unary(op_type: str) -> Converter:
    def convert(graph: OnnxGraph, activation, z: str) -> str:
        return graph.node(op_type, [z], op_type.lower())

    convert.__name__ = f"_{op_type.lower()}"
    return convert


register_activation(_activations.Sigmoid)(_unary("Sigmoid"))
register_activation(_activations.Tanh)(_unary("Tanh"))
register_activation(_activations.ReLU)(_unary("Relu"))


@register_activation(_activations.LeakyReLU)
def _leaky_relu(graph: OnnxGraph, activation, z: str) -> str:
    return graph.node("LeakyRelu", [z], "leaky_relu", alpha=float(activation.alpha))


@register_activation(_activations.Linear)
def _linear(graph: OnnxGraph, activation, z: str) -> str:
    return z


@register_activation(_activations.Softmax)
def _softmax(graph: OnnxGraph, activation, z: str) -> str:
    return graph.node("Softmax", [z], "softmax", axis=-1)


# Converters for activations known by their public name, registered for the library's own
# class of that name when it exists (parameters read from ``get_config()``, Keras's names).
def _config(activation, key: str, default: float) -> float:
    return float(activation.get_config().get(key, default))


def _elu(graph, activation, z):
    return graph.node("Elu", [z], "elu", alpha=_config(activation, "alpha", 1.0))


def _selu(graph, activation, z):
    # The constants of https://arxiv.org/abs/1706.02515, as in torch.nn.SELU.
    return graph.node("Selu", [z], "selu", alpha=1.6732632423543772, gamma=1.0507009873554805)


def _gelu(graph, activation, z):
    # 0.5 z (1 + erf(z / sqrt 2)); the Gelu operator only exists from opset 20.
    erf = graph.node("Erf", [graph.node("Mul", [z, graph.constant(1 / np.sqrt(2.0), "c")])])
    one_plus = graph.node("Add", [erf, graph.constant(1.0, "one")])
    return graph.node("Mul", [graph.node("Mul", [z, graph.constant(0.5, "half")]), one_plus],
                      "gelu")


def _gelu_tanh(graph, activation, z):
    # 0.5 z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3)))
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [cube, graph.constant(0.044715, "c")])])
    t = graph.node("Tanh", [graph.node("Mul", [inner, graph.constant(np.sqrt(2 / np.pi), "c")])])
    one_plus = graph.node("Add", [t, graph.constant(1.0, "one")])
    return graph.node("Mul", [graph.node("Mul", [z, graph.constant(0.5, "half")]), one_plus],
                      "gelu_tanh")


def _silu(graph, activation, z):
    return graph.node("Mul", [z, graph.node("Sigmoid", [z])], "silu")


def _softplus(graph, activation, z):
    return graph.node("Softplus", [z], "softplus")


def _mish(graph, activation, z):
    # z tanh(softplus(z)); the Mish operator only exists from opset 18.
    return graph.node("Mul", [z, graph.node("Tanh", [graph.node("Softplus", [z])])], "mish")


def _exponential(graph, activation, z):
    return graph.node("Exp", [z], "exponential")


_BY_NAME: dict[str, Converter] = {
    "elu": _elu, "selu": _selu, "gelu": _gelu, "gelu_tanh": _gelu_tanh, "silu": _silu,
    "swish": _silu, "softplus": _softplus, "mish": _mish, "exponential": _exponential,
}


def _register_named_activations() -> None:
    for name, fn in _BY_NAME.items():
        cls = _activations.ACTIVATIONS.get(name)
        if cls is not None:
            ACTIVATION_CONVERTERS.setdefault(cls, fn)


_register_named_activations()
def _gaussian_noise(graph: OnnxGraph, layer, x: str) -> str:
    return graph.node("Identity", [x], "gaussian_noise")  # inference: no noise is added


if "GaussianNoise" in _layers.LAYER_CLASSES:
    register_layer(_layers.LAYER_CLASSES["GaussianNoise"])(_gaussian_noise)


@register_layer(_layers.BatchNormalization)
def _batch_normalization(graph: OnnxGraph, layer, x: str) -> str:
    # Inference form: x * scale + shift, scale = gamma / sqrt(moving_var + eps),
    # shift = beta - moving_mean * scale (computed here, in float64, as Layer.infer does).
    gamma = layer.params["gamma"].astype(np.float64)
    scale = gamma / np.sqrt(layer.state["moving_variance"].astype(np.float64) + layer.epsilon)
    shift = layer.params["beta"].astype(np.float64) - layer.state["moving_mean"] * scale
    y = graph.node("Mul", [x, graph.constant(scale.astype(layer.dtype), "bn_scale")], "bn_scaled")
    return graph.node("Add", [y, graph.constant(shift.astype(layer.dtype), "bn_shift")], "bn")


@register_layer(_layers.LayerNormalization)
def _layer_normalization(graph: OnnxGraph, layer, x: str) -> str:
    # Per sample: (x - mean) / sqrt(var + eps) * gamma + beta, statistics over the features.
    mean = graph.node("ReduceMean", [x], "ln_mean", axes=[1], keepdims=1)
    centred = graph.node("Sub", [x, mean], "ln_centred")
    var = graph.node("ReduceMean", [graph.node("Mul", [centred, centred], "ln_sq")], "ln_var",
                     axes=[1], keepdims=1)
    std = graph.node("Sqrt", [graph.node("Add", [var, graph.constant([layer.epsilon], "ln_eps")],
                                         "ln_var_eps")], "ln_std")
    xhat = graph.node("Div", [centred, std], "ln_xhat")
    y = graph.node("Mul", [xhat, graph.constant(layer.params["gamma"], "ln_gamma")], "ln_scaled")
    return graph.node("Add", [y, graph.constant(layer.params["beta"], "ln_beta")], "ln")


# --------------------------------------------------------------- outputs
def _task(model) -> str:
    """``binary``, ``multiclass``, ``multilabel`` or ``regression``: what ``predict_classes`` does."""
    if not model._is_classifier():
        return "regression"
    if model.n_outputs == 1:
        return "binary"
    return "multilabel" if model._is_multilabel_or_binary() else "multiclass"


def _check_labels(labels, model) -> np.ndarray | None:
    """Return ``labels`` as a 1-D array, one value per class, or raise naming the mismatch."""
    if labels is None:
        return None
    task = _task(model)
    if task == "regression":
        raise ValueError(
            f"labels= names a classifier's classes, but this network is a regression "
            f"(loss {model.loss_fn.name!r}); leave labels=None."
        )
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)):
        raise TypeError(
            f"labels must be a sequence of class labels such as ['no', 'yes']; received "
            f"{labels!r} of type {type(labels).__name__}."
        )
    values = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
    if any(isinstance(v, str) for v in values) and not all(isinstance(v, str) for v in values):
        # NumPy would quietly turn [1, "a"] into the strings ["1", "a"].
        kinds = sorted({type(v).__name__ for v in values})
        raise TypeError(
            f"labels must be all numbers, all booleans or all strings; received types {kinds}."
        )
    try:
        array = np.asarray(values)
    except ValueError:
        array = np.asarray(values, dtype=object)
    if array.ndim != 1 or array.dtype.kind not in "biufU":
        raise TypeError(
            f"labels must be a flat sequence of numbers, booleans or strings; received "
            f"{labels!r} (dtype {array.dtype}, shape {array.shape})."
        )
    expected = 2 if task == "binary" else model.n_outputs
    if len(array) != expected:
        raise ValueError(
            f"labels has {len(array)} entries, but this {task} network has {expected} classes"
            f"{' (its one sigmoid output is the probability of the second)' if task == 'binary' else ''}."
        )
    if len(np.unique(array)) != len(array):
        raise ValueError(f"labels must be distinct; received {array.tolist()!r}.")
    return array


def _label_array(labels: np.ndarray) -> np.ndarray:
    """The labels as ONNX stores them: int64, float64, bool or string."""
    if labels.dtype.kind in "iu":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        return labels.astype(np.float64)
    if labels.dtype.kind == "U":
        return labels.astype(object)
    return labels


def emit_labels(graph: OnnxGraph, probabilities: str, task: str, labels: np.ndarray | None,
                output: str, strict: bool = False) -> str:
    """Add the class labels of ``probabilities`` ``[N, k]`` as ``output``; return its name.

    Binary and multi-label: ``p >= 0.5`` (``p > 0.5`` with ``strict``, scikit-learn's rule);
    multi-class: the arg-max. Binary and multi-class map the class index through ``labels``
    when given; multi-label outputs stay the 0/1 matrix ``[N, k]``.
    """
    from onnx import TensorProto

    if task == "multiclass":
        index = graph.node("ArgMax", [probabilities], "class_index", axis=1, keepdims=0)
    else:
        half = graph.constant(0.5, "threshold")
        above = graph.node("Greater" if strict else "GreaterOrEqual", [probabilities, half],
                           "above_threshold")
        index = graph.node("Cast", [above], "class_index", to=TensorProto.INT64)
        if task == "multilabel":
            return graph.node("Identity", [index], output=output)
        index = graph.node("Reshape", [index, graph.constant([-1], "shape", np.int64)],
                           "class_index")
    if labels is None:
        return graph.node("Identity", [index], output=output)
    values = _label_array(labels)
    classes = graph.constant(values, "classes", dtype=values.dtype)  # float labels stay float64
    return graph.node("Gather", [classes, index], output=output, axis=0)


# ----------------------------------------------------------------------- export
def _check_scaling(scaling, n_features: int) -> tuple[np.ndarray, np.ndarray] | None:
    if scaling is None:
        return None
    if not isinstance(scaling, Mapping) or set(scaling) != {"mean", "scale"}:
        raise ValueError(
            "scaling must be a mapping {'mean': [...], 'scale': [...]} with one value per "
            f"feature (what `neuralnet train` saves in model.metadata['scaling']); received "
            f"{scaling!r}."
        )
    mean = np.asarray(scaling["mean"], dtype=np.float64)
    scale = np.asarray(scaling["scale"], dtype=np.float64)
    for name, value in (("mean", mean), ("scale", scale)):
        if value.shape != (n_features,) or not np.isfinite(value).all():
            raise ValueError(
                f"scaling['{name}'] must hold {n_features} finite numbers, one per feature; "
                f"received shape {value.shape}."
            )
    if (scale == 0).any():
        raise ValueError("scaling['scale'] holds a zero; every feature's scale must be non-zero.")
    return mean, scale


def _check_model(model) -> None:
    from neuralnet.model import NeuralNet

    if not isinstance(model, NeuralNet):
        hint = (" (for a scikit-learn estimator or pipeline, call register_skl2onnx() and "
                "use skl2onnx.to_onnx)") if hasattr(model, "model_") else ""
        raise TypeError(
            f"model must be a NeuralNet; received {type(model).__name__}{hint}."
        )
    model._check_ready()


def _check_options(dtype, opset: int, input_name: str) -> np.dtype:
    onnx = _import_onnx()
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"Received an invalid value for `dtype`, expected 'float32' or 'float64'. "
            f"Received: dtype={dtype!r}"
        )
    latest = onnx.defs.onnx_opset_version()
    if not (isinstance(opset, int) and not isinstance(opset, bool) and _MIN_OPSET <= opset <= latest):
        raise ValueError(
            f"Received an invalid value for `opset`, expected an integer from {_MIN_OPSET} to "
            f"{latest} (the installed onnx's newest). Received: opset={opset!r}"
        )
    if not isinstance(input_name, str) or not input_name or input_name in _OUTPUT_NAMES:
        raise ValueError(
            f"input_name must be a non-empty string other than the outputs' names "
            f"{_OUTPUT_NAMES}; received {input_name!r}."
        )
    return dt


def to_onnx(
    model: NeuralNet,
    path: str | os.PathLike | None = None,
    *,
    labels: Sequence | np.ndarray | None = None,
    scaling: Mapping[str, Sequence[float]] | None = None,
    preprocessor: Any = None,
    input_name: str = "X",
    dtype: str | np.dtype = "float32",
    opset: int = DEFAULT_OPSET,
) -> onnx.ModelProto:
    """Convert ``model`` to an ONNX graph, check it, write it to ``path`` and return it.

    Input ``input_name`` ``[N, n_features]``; outputs ``predictions`` ``[N, n_outputs]`` (what
    ``model.predict`` returns) and, for a classifier (binary or categorical cross-entropy),
    ``labels``: what ``predict_classes`` returns, mapped through ``labels`` (the original
    label values, one per class) when given.

    Args:
        path: where to write the ``.onnx`` file (atomically); ``None`` only returns the model.
        labels: the class labels (numbers, booleans or strings), e.g. a ``NeuralNetClassifier``'s
            ``classes_``; binary networks have two, the second the sigmoid's positive class.
        scaling: ``{"mean": [...], "scale": [...]}``: standardise the inputs first,
            ``(X - mean) / scale``, as ``neuralnet predict`` does with a model it trained.
        preprocessor: an object whose class has a converter registered with
            ``register_preprocessor``: it declares the graph's inputs (one per raw column of a
            table, say) and computes the network's input from them, in place of ``X``.
        input_name: the graph input's name (without a preprocessor).
        dtype: the graph's float type, ``"float32"`` (default) or ``"float64"``.
        opset: the ONNX operator set (default 17).
    """
    onnx = _import_onnx()
    _check_model(model)
    graph_dtype = _check_options(dtype, opset, input_name)
    labels = _check_labels(labels, model)
    scaling = _check_scaling(scaling, model.n_features)
    if scaling is not None and preprocessor is not None:
        raise ValueError("Give scaling= or preprocessor=, not both: the preprocessor scales itself.")
    # A table model (neuralnet.tabular) exports its own preprocessing, labels and target units.
    encoder = getattr(model, "target_encoder", None)
    if preprocessor is None and scaling is None and getattr(model, "preprocessor", None) is not None:
        preprocessor = model.preprocessor
    if labels is None and encoder is not None and encoder.task_ == "classification":
        labels = _check_labels(list(encoder.classes_), model)
    target_units = (encoder.mean_, encoder.scale_) if (
        encoder is not None and encoder.task_ == "regression") else None
    from onnx import helper

    graph = OnnxGraph(graph_dtype)
    float_type = _tensor_type(graph_dtype)
    for name in _OUTPUT_NAMES:
        graph.reserve(name)
    if preprocessor is None:
        x = graph.reserve(input_name)
        graph_inputs = [helper.make_tensor_value_info(input_name, float_type,
                                                      ["N", model.n_features])]
    else:
        convert = _converter(PREPROCESSOR_CONVERTERS, preprocessor, "preprocessor",
                             "register_preprocessor")
        declared, x = convert(graph, preprocessor)
        graph_inputs = [helper.make_tensor_value_info(name, _tensor_type(np.dtype(kind)), shape)
                        for name, kind, shape in declared]
    if scaling is not None:
        x = graph.node("Sub", [x, graph.constant(scaling[0], "mean")], "centred")
        x = graph.node("Div", [x, graph.constant(scaling[1], "scale")], "scaled")
    outputs = emit_layers(graph, model.layers, x)
    if target_units is not None:  # back to the target's units, as predict(table) answers
        outputs = graph.node("Mul", [outputs, graph.constant(target_units[1], "target_scale")])
        outputs = graph.node("Add", [outputs, graph.constant(target_units[0], "target_mean")])
    graph.node("Identity", [outputs], output="predictions")
    graph_outputs = [helper.make_tensor_value_info("predictions", float_type,
                                                   ["N", model.n_outputs])]
    task = _task(model)
    if task != "regression":
        emit_labels(graph, "predictions", task, labels, "labels")
        label_type = _tensor_type(_label_array(labels).dtype) if labels is not None else (
            onnx.TensorProto.INT64
        )
        shape = ["N", model.n_outputs] if task == "multilabel" else ["N"]
        graph_outputs.append(helper.make_tensor_value_info("labels", label_type, shape))
    from neuralnet import __version__

    proto = helper.make_model(
        helper.make_graph(
            graph.nodes, "neuralnet", graph_inputs, graph_outputs, graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="neuralnet",
        producer_version=__version__,
        doc_string=repr(model),
    )
    # The oldest IR version that carries this opset: the widest range of runtimes reads it.
    proto.ir_version = helper.find_min_ir_version_for(list(proto.opset_import))
    meta = {"task": task, "n_features": str(model.n_features), "n_outputs": str(model.n_outputs)}
    if labels is not None:
        meta["labels"] = json.dumps(labels.tolist())
    if scaling is not None:
        meta["scaling"] = json.dumps({"mean": scaling[0].tolist(), "scale": scaling[1].tolist()})
    feature_names = (getattr(model, "metadata", None) or {}).get("feature_names")
    if feature_names:
        meta["feature_names"] = json.dumps(list(feature_names))
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        _write(proto, path)
    return proto


def describe_value(value) -> str:
    """Return ``name type [dims]`` for a graph input or output, e.g. ``X float [N, 2]``."""
    from onnx import helper

    tensor = value.type.tensor_type
    dims = ", ".join(d.dim_param or str(d.dim_value) for d in tensor.shape.dim)
    np_type = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    type_name = "string" if np_type.kind == "O" else np_type.name
    return f"{value.name:<12} {type_name} [{dims}]"


def _write(proto, path) -> None:
    """Write ``proto`` to ``path`` through a temporary file beside it, then rename it over."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; received {type(path).__name__}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"Cannot write the ONNX model to {str(path)!r}: it is a directory.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot write the ONNX model to {str(path)!r}: the directory "
            f"{str(path.parent)!r} does not exist."
        )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------- skl2onnx
class _Skl2onnxGraph(OnnxGraph):
    """An ``OnnxGraph`` writing into skl2onnx's scope and container, for the converters."""

    def __init__(self, scope, container, dtype) -> None:
        super().__init__(dtype)
        self.scope, self.container = scope, container

    def fresh(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def _add_initializer(self, name, array) -> None:
        values = ([v.encode("utf-8") for v in array.ravel()] if array.dtype.kind == "O"
                  else array.ravel())
        self.container.add_initializer(name, _tensor_type(array.dtype), list(array.shape), values)

    def _add_node(self, op_type, inputs, output, domain, attributes) -> None:
        self.container.add_node(op_type, inputs, output,
                                name=self.scope.get_unique_operator_name(op_type),
                                op_domain=domain, **attributes)


def _estimator_classes(scope, estimator) -> np.ndarray:
    """The classes as skl2onnx labels them: int64 for numbers and booleans, else strings."""
    from skl2onnx.common.utils_classifier import get_label_classes

    classes = np.asarray(get_label_classes(scope, estimator))
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.array_equal(classes, np.round(classes)):
            raise ValueError(
                f"skl2onnx labels classes with integers or strings; the classifier's classes "
                f"{classes.tolist()!r} are not whole numbers. Fit it on integer or string labels."
            )
        return classes.astype(np.int64)
    return classes.astype(str)


def _estimator_task(estimator) -> str:
    kind = estimator._label_binarizer.y_type_
    if kind.startswith("multilabel"):
        return "multilabel"
    return "binary" if estimator.n_outputs_ == 1 else "multiclass"


def _input_float(operator):
    """The float tensor type of the operator's input (float32 unless it is double)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType if isinstance(operator.inputs[0].type, DoubleTensorType) \
        else FloatTensorType


def _classifier_shape(operator) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    estimator = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    classes = _estimator_classes(operator.scope_inst, estimator)
    multilabel = _estimator_task(estimator) == "multilabel"
    label_type = StringTensorType if classes.dtype.kind == "U" and not multilabel else Int64TensorType
    operator.outputs[0].type = label_type([N, len(classes)] if multilabel else [N])
    operator.outputs[1].type = _input_float(operator)([N, len(classes)])


def _regressor_shape(operator) -> None:
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    N = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _input_float(operator)([N, operator.raw_operator.n_outputs_])


def _network(scope, operator, container) -> tuple[_Skl2onnxGraph, str]:
    """Add the fitted network of the operator's estimator; return the graph and its output."""
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.proto import onnx_proto

    double = _input_float(operator) is DoubleTensorType
    graph = _Skl2onnxGraph(scope, container, np.float64 if double else np.float32)
    x = graph.node("Cast", [operator.inputs[0].full_name], "cast_input",
                   to=onnx_proto.TensorProto.DOUBLE if double else onnx_proto.TensorProto.FLOAT)
    return graph, emit_layers(graph, operator.raw_operator.model_.layers, x)


def _convert_classifier(scope, operator, container) -> None:
    estimator = operator.raw_operator
    graph, outputs = _network(scope, operator, container)
    task = _estimator_task(estimator)
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    if task == "binary":
        # predict_proba is [1 - p, p], and the label the arg-max of it: p > 0.5 means
        # classes_[1], p = 0.5 classes_[0], as the LabelBinarizer decides.
        negative = graph.node("Sub", [graph.constant(1.0, "one"), outputs], "negative")
        graph.node("Concat", [negative, outputs], output=probabilities, axis=1)
        task, outputs = "multiclass", probabilities
    else:
        graph.node("Identity", [outputs], output=probabilities)
    classes = None if task == "multilabel" else _estimator_classes(scope, estimator)
    emit_labels(graph, outputs, task, classes, label, strict=True)


def _convert_regressor(scope, operator, container) -> None:
    graph, outputs = _network(scope, operator, container)
    graph.node("Identity", [outputs], output=operator.outputs[0].full_name)


def register_skl2onnx() -> None:
    """Register converters for ``NeuralNetClassifier`` and ``NeuralNetRegressor`` with skl2onnx.

    Afterwards ``skl2onnx.to_onnx(pipeline, X[:1].astype(np.float32))`` converts a pipeline
    holding either. Calling it again is harmless.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError(
            f"Converting the scikit-learn estimators needs skl2onnx; install it with: {_EXTRA}"
        ) from exc
    from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

    update_registered_converter(
        NeuralNetClassifier, "NeuralnetNeuralNetClassifier", _classifier_shape,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False],
                 "output_class_labels": [False, True]},
    )
    update_registered_converter(
        NeuralNetRegressor, "NeuralnetNeuralNetRegressor", _regressor_shape, _convert_regressor
    )


if "skl2onnx" in sys.modules:
    register_skl2onnx()


# ------------------------------------------------------------ table preprocessing
def _register_table_preprocessor() -> None:
    from neuralnet.tabular import TablePreprocessor

    @register_preprocessor(TablePreprocessor)
    def table(graph: OnnxGraph, pre) -> tuple[list, str]:
        """One graph input per raw column, ``[N, 1]``: float for numbers and booleans (NaN
        missing), string for categorical columns ("" missing); the same encoding as
        ``TablePreprocessor.transform``: median imputation and a missing indicator, then
        ``(x - mean) / scale``; a one-hot block of the levels, ``<other>`` and ``<missing>``.
        """
        declared, blocks = [], []
        for column in pre.get_config()["columns"]:
            name = graph.reserve(str(column["name"]))
            if column["kind"] == "categorical":
                declared.append((name, object, ["N", 1]))
                levels = [str(level) for level in column["levels"]]
                other = len(levels) if column["other"] is not None else -1
                missing = (other + 1 if other >= 0 else len(levels)) if column["missing"] else other
                keys, values = list(levels), list(range(len(levels)))
                if "" not in keys:
                    keys.append("")
                    values.append(missing)
                code = graph.node("LabelEncoder", [name], f"{name}_code", domain="ai.onnx.ml",
                                  keys_strings=keys, values_int64s=values, default_int64=other)
                width = len(levels) + (other >= 0) + bool(column["missing"])
                hot = graph.node("Equal", [code, graph.constant(np.arange(width)[None, :],
                                                                f"{name}_slots", np.int64)])
                blocks.append(graph.node("Cast", [hot], f"{name}_onehot",
                                         to=_tensor_type(graph.dtype)))
                continue
            declared.append((name, graph.dtype, ["N", 1]))
            gaps = graph.node("IsNaN", [name], f"{name}_gaps")
            filled = graph.node("Where", [gaps, graph.constant([column["median"]],
                                                                f"{name}_median"), name])
            centred = graph.node("Sub", [filled, graph.constant([column["mean"]], f"{name}_mean")])
            blocks.append(graph.node("Div", [centred, graph.constant([column["scale"]],
                                                                     f"{name}_scale")]))
            if column["missing"]:
                blocks.append(graph.node("Cast", [gaps], f"{name}_missing",
                                         to=_tensor_type(graph.dtype)))
        x = blocks[0] if len(blocks) == 1 else graph.node("Concat", blocks, "table_inputs", axis=1)
        return declared, x


_register_table_preprocessor()
