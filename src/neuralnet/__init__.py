"""neuralnet: dense neural networks from scratch in NumPy, with the bias absorbed into the weights."""

from neuralnet import (
    activations,
    callbacks,
    initializers,
    losses,
    metrics,
    optimizers,
    schedules,
)
from neuralnet._engine import get_engine, set_engine
from neuralnet._registry import register
from neuralnet.activations import (
    elu,
    exponential,
    gelu,
    gelu_tanh,
    leaky_relu,
    linear,
    mish,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)
from neuralnet.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from neuralnet.layers import (
    BatchNormalization,
    Dense,
    Dropout,
    FullyConnectedLayer,
    GaussianNoise,
    Layer,
    LayerChain,
    LayerNormalization,
    LayersChain,
    add_bias,
    set_bias_as_weight,
)
from neuralnet.losses import binary_crossentropy, categorical_crossentropy, mse
from neuralnet.model import NeuralNet, TrainingDivergedError
from neuralnet.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from neuralnet.schedules import CosineDecay, ExponentialDecay, StepDecay

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``neuralnet.load`` is imported on first use: the file-format module pulls in json,
    # hashlib, tempfile and zipfile, which would otherwise add to every ``import neuralnet``.
    if name in ("load", "io"):
        import importlib

        io = importlib.import_module("neuralnet.io")
        return io.load if name == "load" else io
    raise AttributeError(f"module 'neuralnet' has no attribute {name!r}")


__all__ = [
    "NeuralNet",
    "TrainingDivergedError",
    "register",
    "set_engine",
    "get_engine",
    "Layer",
    "load",
    "FullyConnectedLayer",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "GaussianNoise",
    "LayerChain",
    "LayersChain",
    "add_bias",
    "set_bias_as_weight",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softmax",
    "linear",
    "elu",
    "selu",
    "gelu",
    "gelu_tanh",
    "silu",
    "swish",
    "softplus",
    "mish",
    "exponential",
    "binary_crossentropy",
    "categorical_crossentropy",
    "mse",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "Callback",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "CSVLogger",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "activations",
    "callbacks",
    "initializers",
    "losses",
    "metrics",
    "optimizers",
    "schedules",
]
