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
    elu         a = z if z > 0 else alpha (exp(z) - 1)                   da/dz = 1 or a + alpha
    selu        a = scale * elu(z) with SELU's alpha                     da/dz = scale or a + scale alpha
    softplus    a = log(1 + exp(z))                                       da/dz = 1 - exp(-a)
    exponential a = exp(z)                                                da/dz = a

Some derivatives cannot be written from ``a`` alone (``a`` does not determine ``z``). Those
activations set ``needs_z = True`` and their ``backward(a, grad, z)`` takes the pre-activation
too; every caller passes ``z=`` exactly when ``needs_z`` is set, so a custom activation with a
two-argument ``backward`` keeps working:

    gelu        a = z Phi(z) = z erfc(-z / sqrt 2) / 2                    da/dz = Phi(z) + z phi(z)
    gelu_tanh   a = z sigmoid(2 u), u = sqrt(2 / pi) (z + 0.044715 z^3)
                (= z (1 + tanh u) / 2)                                    da/dz = s + 2 z s (1 - s) u'
    silu        a = z sigmoid(z)           (alias swish)                   da/dz = s (1 + z (1 - s))
    mish        a = z tanh(softplus(z))                                   da/dz = t + z (1 - t^2) sigmoid(z)

with ``Phi`` and ``phi`` the standard normal distribution and density, ``s`` the sigmoid and
``t = tanh(softplus(z))``. Each formula is PyTorch's (``torch.nn.functional``), and
``tests/test_toolbox.py`` checks values, gradients and training steps against it.
"""

from __future__ import annotations

import numpy as np

from neuralnet._registry import lookup
from neuralnet._special import erfc
from neuralnet._validation import as_numeric_array

__all__ = [
    "Activation",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Linear",
    "Softmax",
    "ELU",
    "SELU",
    "GELU",
    "GELUTanh",
    "SiLU",
    "Softplus",
    "Mish",
    "Exponential",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "linear",
    "softmax",
    "elu",
    "selu",
    "gelu",
    "gelu_tanh",
    "silu",
    "swish",
    "softplus",
    "mish",
    "exponential",
    "get",
    "ACTIVATIONS",
]


class Activation:
    """Base class: ``forward(z)`` and ``backward(a, grad)``, the chain rule through ``a = f(z)``.

    A subclass whose derivative needs the pre-activation sets ``needs_z = True`` and defines
    ``backward(a, grad, z=None)``; callers then pass ``z=`` (and only then).
    """

    name: str = ""
    # True for an activation whose derivative needs the pre-activation z as well as a = f(z):
    # its ``backward(a, grad, z=None)`` is then called with ``z=``, which ``forward`` left intact.
    needs_z: bool = False

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``f(z)``; with ``out``, write into it (it may be ``z`` itself)."""
        raise NotImplementedError  # abstract

    def backward(self, a: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Turn ``dL/da`` into ``dL/dz`` in place in ``grad`` and return it; ``a = f(z)``.

        With ``needs_z``, the signature is ``backward(a, grad, z=None)`` and ``z`` is required.
        """
        raise NotImplementedError  # abstract

    def derivative(self, a: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Return ``f'(z)`` written from the output ``a = f(z)`` (element-wise activations).

        An activation with ``needs_z`` needs the pre-activation ``z`` too.
        """
        if self.needs_z:
            return self.backward(a, np.ones_like(a), z=z)
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
            out = np.empty_like(z) if out is None else out
            softmax_one_row(z, out)
            return out
        out = np.subtract(z, row_max(z)[:, None], out=out)
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


def softmax_one_row(z: np.ndarray, out: np.ndarray) -> float:
    """``Softmax().forward`` of a ``(1, n)`` array into ``out``; returns the sum of exponentials.

    One row is a single prediction: reductions over the whole array skip NumPy's axis
    machinery, a third of the time at this size, and give the same numbers. The sum is at
    least 1 (the maximum's term) and finite exactly when every output is: a NaN or a +inf in
    ``z`` makes it NaN, and so does a row of -inf only (another -inf's output is 0).
    """
    np.subtract(z, np.maximum.reduce(z, axis=None), out=out)
    np.exp(out, out=out)
    total = np.add.reduce(out, axis=None)
    out /= total
    return float(total)


def row_max(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Each row's maximum of a 2-D ``z`` (NaN if the row holds one), as ``z.max(axis=1)``.

    NumPy reduces a short contiguous row slowly: the maxima of 1,024 rows of 10 values take
    67 µs, and of the same values laid out as 10 rows of 1,024 (a 3 µs copy) 2 µs, as 10
    element-wise maxima. A maximum is exact in any order, so the numbers are the same.
    """
    if z.shape[1] <= 32 and len(z) >= 64:
        return np.maximum.reduce(np.ascontiguousarray(z.T), axis=0, out=out)
    return np.maximum.reduce(z, axis=1, out=out)


def _require_z(activation: Activation, z: np.ndarray | None) -> np.ndarray:
    if z is None:
        raise TypeError(
            f"{activation.name}'s derivative needs the pre-activation z, not only the output a: "
            f"call backward(a, grad, z=z) (the activation's needs_z is True)."
        )
    return z


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive number. "
            f"Received: {name}={value!r}"
        )
    return float(value)


_SIGMOID = Sigmoid()
_SQRT_HALF = 0.70710678118654752440  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.39894228040143267794  # 1 / sqrt(2 pi)
_SQRT_2_OVER_PI = 0.79788456080286535588  # sqrt(2 / pi)
_GELU_TANH_K = 0.044715


class ELU(Activation):
    """Exponential linear unit: ``z`` for ``z > 0``, ``alpha (exp(z) - 1)`` otherwise (https://arxiv.org/abs/1511.07289)."""

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _check_positive(alpha, "alpha")

    def forward(self, z, out=None):
        # max(z, 0) + alpha expm1(min(z, 0)): one of the two terms is always zero, and exp
        # only ever sees non-positive numbers, so it cannot overflow.
        negative = np.minimum(z, 0)
        np.expm1(negative, out=negative)
        if self.alpha != 1.0:
            negative *= self.alpha
        out = np.maximum(z, 0, out=out)  # negative is computed: out may be z itself
        out += negative
        return out

    def backward(self, a, grad):
        # For z <= 0, d/dz alpha (exp(z) - 1) = alpha exp(z) = a + alpha.
        grad *= np.where(a > 0, 1.0, a + self.alpha).astype(grad.dtype, copy=False)
        return grad

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


class SELU(Activation):
    """Scaled ELU, ``scale * elu(z, alpha)`` with the self-normalising constants (https://arxiv.org/abs/1706.02515)."""

    name = "selu"
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def forward(self, z, out=None):
        negative = np.minimum(z, 0)
        np.expm1(negative, out=negative)
        negative *= self.alpha
        out = np.maximum(z, 0, out=out)
        out += negative
        out *= self.scale
        return out

    def backward(self, a, grad):
        # For z <= 0, d/dz scale alpha (exp(z) - 1) = scale alpha exp(z) = a + scale alpha.
        # At z = 0 this is the left derivative, as in PyTorch.
        grad *= np.where(a > 0, self.scale, a + self.scale * self.alpha).astype(
            grad.dtype, copy=False
        )
        return grad


class GELU(Activation):
    """Gaussian error linear unit, exact: ``z Phi(z)`` with ``Phi`` the normal CDF (https://arxiv.org/abs/1606.08415).

    PyTorch's default ``gelu`` (``approximate="none"``); ``Phi(z) = erfc(-z / sqrt 2) / 2``,
    which keeps its relative precision for very negative ``z`` where ``1 + erf`` would not.
    """

    name = "gelu"
    needs_z = True

    def forward(self, z, out=None):
        cdf2 = erfc(z * -_SQRT_HALF)  # 2 Phi(z)
        out = np.multiply(z, cdf2, out=out)
        out *= 0.5
        return out

    def backward(self, a, grad, z=None):
        z = _require_z(self, z)
        # d/dz z Phi(z) = Phi(z) + z phi(z); beyond |z| = 40 phi is 0 in any float, and the
        # clip keeps z^2 finite.
        zc = np.clip(z, -40.0, 40.0)
        local = np.exp(-0.5 * zc * zc)
        local *= zc
        local *= _INV_SQRT_2PI
        cdf = erfc(z * -_SQRT_HALF)
        cdf *= 0.5
        local += cdf
        grad *= local
        return grad


class GELUTanh(Activation):
    """GELU's tanh approximation, ``z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))) / 2``.

    PyTorch's ``gelu(approximate="tanh")``. Computed as ``z sigmoid(2 u)``, the same function
    (``(1 + tanh u) / 2 = sigmoid(2 u)``), which does not cancel for negative ``z``.
    """

    name = "gelu_tanh"
    needs_z = True

    @staticmethod
    def _inner(z):
        # u = sqrt(2/pi) (z + k z^3). Beyond |z| = 1e4, sigmoid(2u) is exactly 0 or 1 in any
        # float; the clip keeps z^3 finite.
        zc = np.clip(z, -1e4, 1e4)
        return zc, _SQRT_2_OVER_PI * (zc + _GELU_TANH_K * zc * zc * zc)

    def forward(self, z, out=None):
        _, u = self._inner(z)
        u *= 2.0
        s = _SIGMOID.forward(u, out=u)
        return np.multiply(z, s, out=out)

    def backward(self, a, grad, z=None):
        z = _require_z(self, z)
        zc, u = self._inner(z)
        u *= 2.0
        s = _SIGMOID.forward(u, out=u)
        # d/dz z s(2u) = s + 2 z s (1 - s) u',  u' = sqrt(2/pi) (1 + 3 k z^2)
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_K * zc * zc)
        local = 2.0 * zc * s * (1.0 - s) * du
        local += s
        grad *= local
        return grad


class SiLU(Activation):
    """Sigmoid linear unit (swish), ``z sigmoid(z)`` (https://arxiv.org/abs/1702.03118)."""

    name = "silu"
    needs_z = True

    def forward(self, z, out=None):
        s = _SIGMOID.forward(z)
        return np.multiply(z, s, out=out)

    def backward(self, a, grad, z=None):
        z = _require_z(self, z)
        s = _SIGMOID.forward(z)
        # d/dz z s(z) = s + z s (1 - s) = s (1 + z (1 - s))
        local = 1.0 - s
        local *= z
        local += 1.0
        local *= s
        grad *= local
        return grad


class Softplus(Activation):
    """``log(1 + exp(z))``, a smooth relu; computed as ``logaddexp(z, 0)``, which never overflows."""

    name = "softplus"

    def forward(self, z, out=None):
        return np.logaddexp(z, 0, out=out)

    def backward(self, a, grad):
        # d/dz softplus(z) = sigmoid(z) = 1 - exp(-a), since exp(a) = 1 + exp(z).
        grad *= -np.expm1(-a)
        return grad


class Mish(Activation):
    """``z tanh(softplus(z))`` (https://arxiv.org/abs/1908.08681)."""

    name = "mish"
    needs_z = True

    def forward(self, z, out=None):
        t = np.logaddexp(z, 0)
        np.tanh(t, out=t)
        return np.multiply(z, t, out=out)

    def backward(self, a, grad, z=None):
        z = _require_z(self, z)
        t = np.logaddexp(z, 0)
        np.tanh(t, out=t)
        # d/dz z t = t + z (1 - t^2) sigmoid(z), since d softplus / dz = sigmoid(z)
        local = 1.0 - t * t
        local *= z
        local *= _SIGMOID.forward(z)
        local += t
        grad *= local
        return grad


class Exponential(Activation):
    """``exp(z)``: a positive output, e.g. a Poisson rate (inf beyond about 709 in float64, 88 in float32)."""

    name = "exponential"

    def forward(self, z, out=None):
        with np.errstate(over="ignore"):  # inf is the answer; the network reports it in words
            return np.exp(z, out=out)

    def backward(self, a, grad):
        grad *= a
        return grad


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear, Softmax,
                ELU, SELU, GELU, GELUTanh, SiLU, Softplus, Mish, Exponential)
}
_ALIASES = {"logistic": "sigmoid", "identity": "linear", "none": "linear", "swish": "silu"}


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


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``z`` for ``z > 0``, ``alpha (exp(z) - 1)`` otherwise."""
    return ELU(alpha)(z)


def selu(z: np.ndarray) -> np.ndarray:
    """``scale * elu(z, alpha)`` with SELU's constants."""
    return SELU()(z)


def gelu(z: np.ndarray) -> np.ndarray:
    """Exact GELU ``z Phi(z)`` (PyTorch's default)."""
    return GELU()(z)


def gelu_tanh(z: np.ndarray) -> np.ndarray:
    """GELU's tanh approximation (PyTorch's ``approximate="tanh"``)."""
    return GELUTanh()(z)


def silu(z: np.ndarray) -> np.ndarray:
    """``z sigmoid(z)``."""
    return SiLU()(z)


swish = silu


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))``, stable for any ``z``."""
    return Softplus()(z)


def mish(z: np.ndarray) -> np.ndarray:
    """``z tanh(softplus(z))``."""
    return Mish()(z)


def exponential(z: np.ndarray) -> np.ndarray:
    """``exp(z)``."""
    return Exponential()(z)
