"""Optimizers following ``torch.optim``'s update formulas exactly.

``step(params, grads)`` updates each array of ``params`` in place from the matching gradient.
State (moments, step counts) is keyed by the parameter array, so one optimizer can serve
several networks and keeps its moments across repeated ``fit`` calls. A ``NeuralNet`` keeps
all its weights in one flat buffer, so a step is a handful of large vectorised operations.

``learning_rate`` may be a number or a schedule from ``neuralnet.schedules``; ``fit`` sets the
current value at the start of each epoch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from neuralnet import _engine, _memory
from neuralnet._registry import lookup
from neuralnet._validation import check_number as _check_number

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get", "OPTIMIZERS"]


class Optimizer:
    """Base class: ``step(params, grads)`` and per-parameter ``state``."""

    name = ""

    def __init__(
        self, learning_rate: float | Callable[[int], float], weight_decay: float = 0.0
    ) -> None:
        if isinstance(learning_rate, dict):  # a schedule's get_config(), as saved in a file
            from neuralnet import schedules

            learning_rate = schedules.get(learning_rate)
        # A schedule (callable epoch -> rate) is kept; fit sets the rate from it each epoch.
        self.schedule = learning_rate if callable(learning_rate) else None
        if self.schedule is not None:
            learning_rate = self.schedule(0)
        self.learning_rate = _check_number(learning_rate, "learning_rate", low_open=True)
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        self.state: dict[int, dict] = {}
        self.iterations = 0
        self._scratch: dict[int, np.ndarray] = {}

    def __getstate__(self) -> dict:
        # Scratch is work space keyed by id(parameter), meaningless in a copy: start afresh.
        return {**self.__dict__, "_scratch": {}}

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update every array of ``params`` in place; ``grads`` are left as they are.

        Keeping the gradients intact lets ``fit``'s diagnostics read the last batch's gradient.
        """
        self.iterations += 1
        for p, g in zip(params, grads, strict=True):
            state = self.state.get(id(p))
            if state is None or state["shape"] != p.shape:
                state = self.state[id(p)] = {"shape": p.shape, "step": 0}
            state["step"] += 1
            self._update(p, g, state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError  # abstract

    def _scratch_for(self, p: np.ndarray, size: int | None = None) -> np.ndarray:
        """Return a work array of ``p``'s dtype, kept between steps (not state: never saved):
        shaped like ``p``, or ``size`` values long."""
        shape = p.shape if size is None else (size,)
        scratch = self._scratch.get(id(p))
        if scratch is None or scratch.shape != shape or scratch.dtype != p.dtype:
            scratch = self._scratch[id(p)] = _memory.empty(shape, p.dtype)
        return scratch

    def _decayed(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """PyTorch's coupled weight decay: ``g + weight_decay * p`` (an L2 term on every weight)."""
        if self.weight_decay:
            return g + self.weight_decay * p
        return g

    def get_config(self) -> dict:
        # Private attributes (work arrays) are neither configuration nor saved.
        config = {k: v for k, v in vars(self).items()
                  if k not in ("state", "iterations", "schedule") and k[0] != "_"}
        # A neuralnet schedule is kept as its config; any other callable only as the current rate.
        if hasattr(self.schedule, "get_config"):
            config["learning_rate"] = self.schedule.get_config()
        return {"name": self.name, **config}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


# Adam's moments decay by beta each step while their gradient is 0 (a dead ReLU's weights), and
# in float32 a first moment reaches the subnormal range (below 1.2e-38) after a few hundred
# such steps and then stays there: 0.9 times the smallest subnormal rounds back to it. This
# CPU computes on subnormal numbers many times slower: after 2 epochs of benchmarks/engines.py's
# random-label mnist, 55% of m_sum was subnormal and each fit took 1.9 s instead of 1.4 to
# 1.5 s. So every _FLUSH_EVERY steps they are set to 0: the step they would
# give is below 1e-30 of the weight (m_sum / (sqrt(v_sum) + eps) times the rate), so no
# weight above 1e-27 moves either way. (The numba kernel flushes at every step.)
_FLUSH_EVERY = 16


def _flush_subnormal(a: np.ndarray, scratch: np.ndarray) -> None:
    """Set the subnormal values of ``a`` (below the smallest normal number of its dtype) to 0."""
    np.abs(a, out=scratch)
    a[scratch < np.finfo(a.dtype).tiny] = 0


# An element-wise step of several passes (Adam's ten) runs on blocks of this many bytes per
# array, so that a block's arrays (five or six of 256 KiB) stay in this CPU's 2 MiB L2 cache
# from one pass to the next, instead of streaming each 940 kB array of the mnist network from
# the L3 ten times. The same operations element by element: the same numbers. A mnist fit
# (benchmarks/run.py's) was some 50 ms of 1.68 s faster, interleaved; 16 KiB blocks gained nothing.
_BLOCK_BYTES = 1 << 18


def _blocks(arrays: tuple[np.ndarray | None, ...], scratch_for: Callable[[int], np.ndarray]):
    """The arrays (None, or all of one shape) cut into matching flat blocks of
    ``_BLOCK_BYTES`` each, whole when they are small or not all C-contiguous; each block comes
    with a work array of its shape, from the one ``scratch_for(size)`` gives.

    One block-sized work array serves every block, so it stays in the cache from one block to
    the next: Adam's step over the mnist network took 413-434 µs with it, against 436-456 µs
    with a work array as large as the parameters (ad-hoc timing, the cache flushed between steps).
    """
    n = arrays[0].size
    step = max(1, _BLOCK_BYTES // arrays[0].itemsize)
    if n <= step or not all(a is None or a.flags.c_contiguous for a in arrays):
        yield (*arrays, scratch_for(n).reshape(arrays[0].shape))
        return
    scratch = scratch_for(step)
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    for start in range(0, n, step):
        block = tuple(None if a is None else a[start : start + step] for a in flat)
        yield (*block, scratch[: block[0].size])


def _contiguous_floats(*arrays: np.ndarray) -> bool:
    """Whether the arrays share one float dtype and are C-contiguous (a kernel's 1-D views)."""
    dtype = arrays[0].dtype
    return dtype.kind == "f" and all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

        g <- g + weight_decay p
        b <- g (first step), else momentum b + (1 - dampening) g
        g <- g + momentum b (Nesterov) or b
        p <- p - lr g
    """

    name = "sgd"

    def __init__(
        self,
        learning_rate: float | Callable[[int], float] = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.momentum = _check_number(momentum, "momentum")
        self.dampening = _check_number(dampening, "dampening")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a positive `momentum` and zero `dampening`.")
        self.nesterov = bool(nesterov)

    def _update(self, p, g, state):
        g = self._decayed(p, g)
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            if self.nesterov:
                g = g + self.momentum * buf
            else:
                g = buf
        p -= np.multiply(g, self.learning_rate, out=self._scratch_for(p))


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (https://arxiv.org/abs/1412.6980).

        g <- g + weight_decay p
        m <- beta_1 m + (1 - beta_1) g
        v <- beta_2 v + (1 - beta_2) g^2           (v_max <- max(v_max, v) with AMSGrad)
        p <- p - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)

    ``epsilon_hat=True`` adds ``epsilon`` to ``sqrt(v)`` before the bias correction instead, the
    paper's efficient form (its epsilon-hat, as Keras and scikit-learn's ``solver="adam"``):

        p <- p - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    The state keeps the moments as plain exponential sums, ``m_sum = beta_1 m_sum + g`` and
    ``v_sum = beta_2 v_sum + g^2``, so that ``m = (1 - beta_1) m_sum`` and
    ``v = (1 - beta_2) v_sum``; the constant factors move into the step's scalars. Each sum
    is then one multiply and one add per step, and a whole step is ten passes over memory
    (torch's formula as written takes thirteen), which is most of what Adam costs.
    """

    name = "adam"
    _decoupled = False

    def __init__(
        self,
        learning_rate: float | Callable[[int], float] = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        epsilon_hat: bool = False,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = _check_number(beta_1, "beta_1", high=1.0)
        self.beta_2 = _check_number(beta_2, "beta_2", high=1.0)
        self.epsilon = _check_number(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)
        self.epsilon_hat = bool(epsilon_hat)

    def _update(self, p, g, state):
        # Every step is in place: one scratch array per parameter holds the intermediates
        # (``g`` is only read), so a step allocates nothing. Scalars stay Python floats: a
        # NumPy float64 scalar would turn each float32 operation into a float64 one with a cast.
        b1, b2, t = self.beta_1, self.beta_2, state["step"]
        if self._decoupled:
            p *= 1.0 - self.learning_rate * self.weight_decay
        else:
            g = self._decayed(p, g)
        if "m_sum" not in state:
            state["m_sum"] = _memory.zeros_like(p)
            state["v_sum"] = _memory.zeros_like(p)
            if self.amsgrad:
                state["v_sum_max"] = _memory.zeros_like(p)
        m_sum, v_sum = state["m_sum"], state["v_sum"]
        root_bias2 = math.sqrt((1.0 - b2**t) / (1.0 - b2))
        eps_sum = self.epsilon / math.sqrt(1.0 - b2) if self.epsilon_hat else self.epsilon * root_bias2
        step_size = self.learning_rate * (1.0 - b1) * root_bias2 / (1.0 - b1**t)
        kernels = None if self.amsgrad else _engine.kernels(size=p.size)
        if kernels is not None and _contiguous_floats(p, g, m_sum, v_sum):
            # The same operations in one compiled loop (neuralnet._kernels.adam), the scalars in
            # the arrays' dtype as NumPy takes them.
            kind = p.dtype.type
            kernels.adam(p.reshape(-1), g.reshape(-1), m_sum.reshape(-1), v_sum.reshape(-1),
                         kind(b1), kind(b2), kind(eps_sum), kind(step_size),
                         np.finfo(p.dtype).tiny)
            return
        arrays = (p, g, m_sum, v_sum, state["v_sum_max"] if self.amsgrad else None)
        for block in _blocks(arrays, functools.partial(self._scratch_for, p)):
            _adam_block(*block, b1, b2, eps_sum, step_size, t)


def _adam_block(p, g, m_sum, v_sum, v_max, s, b1, b2, eps_sum, step_size, t) -> None:
    """Adam's step on one block of its arrays (``_blocks``): ``v_max`` is the AMSGrad maximum
    or None, ``s`` scratch."""
    m_sum *= b1
    m_sum += g
    np.multiply(g, g, out=s)
    v_sum *= b2
    v_sum += s
    if t % _FLUSH_EVERY == 0:
        _flush_subnormal(m_sum, s)
        _flush_subnormal(v_sum, s)
    if v_max is not None:
        v_sum = np.maximum(v_max, v_sum, out=v_max)
    # With m = (1 - b1) m_sum and v = (1 - b2) v_sum, torch's update is
    #   p <- p - step_size * m_sum / (sqrt(v_sum) + eps_sum),  where
    #   step_size = lr (1 - b1) sqrt(1 - b2^t) / ((1 - b1^t) sqrt(1 - b2)),
    #   eps_sum   = epsilon sqrt(1 - b2^t) / sqrt(1 - b2)   (epsilon_hat: epsilon / sqrt(1 - b2)).
    np.sqrt(v_sum, out=s)
    s += eps_sum
    np.divide(m_sum, s, out=s)
    s *= step_size
    p -= s


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (https://arxiv.org/abs/1711.05101).

        p <- p (1 - lr weight_decay), then the Adam step without the L2 term.
    """

    name = "adamw"
    _decoupled = True

    def __init__(
        self,
        learning_rate: float | Callable[[int], float] = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        epsilon_hat: bool = False,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, amsgrad, epsilon_hat)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (Hinton, Coursera lecture 6e).

        g <- g + weight_decay p
        s <- alpha s + (1 - alpha) g^2;   centered: c <- alpha c + (1 - alpha) g, s~ = s - c^2
        b <- momentum b + g / (sqrt(s~) + epsilon);   p <- p - lr b     (b = g / (...) without momentum)
    """

    name = "rmsprop"

    def __init__(
        self,
        learning_rate: float | Callable[[int], float] = 1e-2,
        alpha: float = 0.99,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.alpha = _check_number(alpha, "alpha", high=1.0)
        self.epsilon = _check_number(epsilon, "epsilon")
        self.momentum = _check_number(momentum, "momentum")
        self.centered = bool(centered)

    def _update(self, p, g, state):
        g = self._decayed(p, g)
        if "square_avg" not in state:
            state["square_avg"] = _memory.zeros_like(p)
            if self.centered:
                state["grad_avg"] = _memory.zeros_like(p)
            if self.momentum:
                state["momentum_buffer"] = _memory.zeros_like(p)
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        square_avg += (1.0 - self.alpha) * g * g
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg *= self.alpha
            grad_avg += (1.0 - self.alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += self.epsilon
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p -= self.learning_rate * buf
        else:
            p -= self.learning_rate * (g / avg)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (https://jmlr.org/papers/v12/duchi11a.html).

        g <- g + weight_decay p;   s <- s + g^2
        p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + epsilon)
    """

    name = "adagrad"

    def __init__(
        self,
        learning_rate: float | Callable[[int], float] = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        epsilon: float = 1e-10,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.lr_decay = _check_number(lr_decay, "lr_decay")
        self.initial_accumulator_value = _check_number(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.epsilon = _check_number(epsilon, "epsilon")

    def _update(self, p, g, state):
        g = self._decayed(p, g)
        if "sum" not in state:
            state["sum"] = np.full_like(p, self.initial_accumulator_value)
        clr = self.learning_rate / (1.0 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += g * g
        p -= clr * (g / (np.sqrt(state["sum"]) + self.epsilon))


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)
}


def get(identifier: str | Optimizer | dict, **kwargs) -> Optimizer:
    """Return the optimizer named by ``identifier``, built with ``kwargs``; instances pass through."""
    return lookup(identifier, kind="optimizer", base=Optimizer, registry=OPTIMIZERS, **kwargs)
