"""Activation functions, each with its derivative written beside it.

Every activation is applied element-wise to the pre-activation ``z = [x, 1] @ W`` of a
layer (``softmax`` row-wise). The backward rule is written from the forward *output*
``a``, as scikit-learn does, so a layer only has to keep ``a`` to back-propagate:

    sigmoid     a = 1 / (1 + exp(-z))        da/dz = a (1 - a)
    tanh        a = tanh(z)                  da/dz = 1 - a^2
    relu        a = max(z, 0)                da/dz = [a > 0]
    leaky_relu  a = max(z, alpha z)          da/dz = 1 if a > 0 else alpha
    linear      a = z                        da/dz = 1
    softmax     a_j = exp(z_j) / sum_k exp(z_k)
                dL/dz = a * (dL/da - sum_k dL/da_k a_k)   (a Jacobian-vector product)
"""

from __future__ import annotations

import numpy as np

from neuralnet._registry import lookup
from neuralnet._validation import as_numeric_array

__all__ = [
    "Activation",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Linear",
    "Softmax",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "linear",
    "softmax",
    "get",
    "ACTIVATIONS",
]


class Activation:
    """Base class: ``forward(z)`` and ``backward(a, grad)``, the chain rule through ``a = f(z)``."""

    name: str = ""
    # True for an activation whose derivative needs the pre-activation z as well as a = f(z):
    # its ``backward(a, grad, z=None)`` is then called with ``z=``, which ``forward`` left intact.
    needs_z: bool = False

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``f(z)``; with ``out``, write into it (it may be ``z`` itself)."""
        raise NotImplementedError  # abstract

    def backward(self, a: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Turn ``dL/da`` into ``dL/dz`` in place in ``grad`` and return it; ``a = f(z)``."""
        raise NotImplementedError  # abstract

    def derivative(self, a: np.ndarray) -> np.ndarray:
        """Return ``f'(z)`` written from the output ``a = f(z)`` (element-wise activations)."""
        return self.backward(a, np.ones_like(a))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return ``f(z)`` for a number, list or array; integers are converted to floats."""
        z = as_numeric_array(z, "z")
        return self.forward(z.astype(np.result_type(z.dtype, np.float32)))

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(self.name)


class Sigmoid(Activation):
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow for any ``z``."""

    name = "sigmoid"

    def forward(self, z, out=None):
        # exp(min(z, 0)) / (1 + exp(-|z|)) is 1 / (1 + exp(-z)) for z >= 0 and
        # exp(z) / (exp(z) + 1) for z < 0: neither exponential can overflow, and no branch
        # (no mask, no ``where=``) is needed, which makes it several times faster.
        if out is None:
            out = np.empty_like(z)
        denom = np.exp(-np.abs(z))
        denom += 1.0
        np.minimum(z, 0, out=out)  # z is no longer needed: out may be z itself
        np.exp(out, out=out)
        out /= denom
        return out

    def backward(self, a, grad):
        grad *= a * (1.0 - a)
        return grad


class Tanh(Activation):
    """Hyperbolic tangent."""

    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, a, grad):
        grad *= 1.0 - a * a
        return grad


class ReLU(Activation):
    """Rectified linear unit ``max(z, 0)``."""

    name = "relu"

    def forward(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def backward(self, a, grad):
        grad *= a > 0
        return grad


class LeakyReLU(Activation):
    """``z`` for positive ``z``, ``alpha * z`` otherwise (https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf)."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        if not (isinstance(alpha, (int, float)) and 0 <= alpha < 1):
            raise ValueError(
                f"Received an invalid value for `alpha`, expected a number in [0, 1). "
                f"Received: alpha={alpha!r}"
            )
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        return np.maximum(z, self.alpha * z, out=out)

    def backward(self, a, grad):
        grad *= np.where(a > 0, 1.0, self.alpha).astype(grad.dtype, copy=False)
        return grad

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Linear(Activation):
    """Identity: the layer's output is its pre-activation (regression outputs, logits)."""

    name = "linear"

    def forward(self, z, out=None):
        if out is None or out is z:
            return z
        out[...] = z
        return out

    def backward(self, a, grad):
        return grad


class Softmax(Activation):
    """Row-wise ``exp(z_j) / sum_k exp(z_k)``, shifted by the row maximum so it never overflows."""

    name = "softmax"

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if np.ndim(z) == 0 and not isinstance(z, (str, bytes)):
            raise ValueError(
                f"softmax needs a vector or a batch of rows; received the scalar {z!r}."
            )
        return super().__call__(z)

    def forward(self, z, out=None):
        if z.ndim == 1:
            return self.forward(z[None, :])[0] if out is None else self.forward(z[None], out[None])[0]
        if len(z) == 1:
            # One row (a single prediction): reductions over the whole row skip NumPy's axis
            # machinery, a third of the time at this size, and give the same numbers.
            out = np.empty_like(z) if out is None else out
            row, o = z[0], out[0]
            np.subtract(row, np.maximum.reduce(row), out=o)
            np.exp(o, out=o)
            o /= np.add.reduce(o)
            return out
        out = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, a, grad):
        grad -= (grad * a).sum(axis=-1, keepdims=True)
        grad *= a
        return grad

    def derivative(self, a):
        raise TypeError(
            "softmax has no element-wise derivative: its Jacobian couples the outputs of a row. "
            "Use backward(a, grad) for the Jacobian-vector product."
        )


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear, Softmax)
}
_ALIASES = {"logistic": "sigmoid", "identity": "linear", "none": "linear"}


def get(identifier: str | Activation | dict | None) -> Activation:
    """Return the activation named by ``identifier`` (a name, a config dict, or an instance)."""
    if identifier is None:
        return Linear()
    return lookup(identifier, kind="activation", base=Activation, registry=ACTIVATIONS,
                  aliases=_ALIASES)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, stable for any ``z``."""
    return Sigmoid()(z)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return Tanh()(z)


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)``."""
    return ReLU()(z)


def leaky_relu(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """``max(z, alpha * z)``."""
    return LeakyReLU(alpha)(z)


def linear(z: np.ndarray) -> np.ndarray:
    """The identity (a float copy of ``z``)."""
    return Linear()(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for any ``z``."""
    return Softmax()(z)
