"""Learning-rate schedules: callables ``epoch -> learning rate``, for ``fit(learning_rate=...)``.

``fit`` calls the schedule with the epoch index (counted from 0 across repeated ``fit`` calls)
at the start of every epoch and sets the optimizer's rate. With ``lr0`` the initial rate:

    StepDecay         lr0 * decay_rate ** floor(epoch / decay_steps)     (torch StepLR)
    ExponentialDecay  lr0 * decay_rate ** (epoch / decay_steps)          (torch ExponentialLR
                                                                          when decay_steps = 1)
    CosineDecay       lr0 * ((1 - alpha) * (1 + cos(pi * min(epoch, decay_steps) / decay_steps)) / 2
                             + alpha)                                    (torch CosineAnnealingLR,
                                                                          eta_min = alpha lr0)

The callbacks that change the rate while training, ``LearningRateScheduler`` and
``ReduceLROnPlateau``, live in ``neuralnet.callbacks`` and are re-exported here.
"""

from __future__ import annotations

import math

from neuralnet._registry import lookup
from neuralnet._validation import check_number as _check_number
from neuralnet._validation import check_positive_int
from neuralnet.callbacks import LearningRateScheduler, ReduceLROnPlateau

__all__ = [
    "Schedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "get",
    "SCHEDULES",
]


class Schedule:
    """Base class: ``schedule(epoch)`` returns the learning rate of that epoch."""

    def __call__(self, epoch: int) -> float:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(
                f"Received an invalid value for `epoch`, expected a non-negative integer. "
                f"Received: epoch={epoch!r}"
            )
        return self._rate(epoch)

    def _rate(self, epoch: int) -> float:
        raise NotImplementedError  # abstract

    def get_config(self) -> dict:
        return {"name": type(self).__name__, **vars(self)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    """Multiply the rate by ``decay_rate`` every ``decay_steps`` epochs (torch's ``StepLR``).

        lr(epoch) = initial_learning_rate * decay_rate ** floor(epoch / decay_steps)
    """

    def __init__(
        self, initial_learning_rate: float, decay_steps: int, decay_rate: float = 0.1
    ) -> None:
        self.initial_learning_rate = _check_number(
            initial_learning_rate, "initial_learning_rate", low_open=True
        )
        self.decay_steps = check_positive_int(decay_steps, "decay_steps")
        self.decay_rate = _check_number(decay_rate, "decay_rate", low_open=True)

    def _rate(self, epoch):
        return self.initial_learning_rate * self.decay_rate ** (epoch // self.decay_steps)


class ExponentialDecay(Schedule):
    """Decay the rate smoothly by ``decay_rate`` per ``decay_steps`` epochs (as Keras does).

        lr(epoch) = initial_learning_rate * decay_rate ** (epoch / decay_steps)

    ``staircase=True`` uses ``floor(epoch / decay_steps)``, which is ``StepDecay``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int = 1,
        decay_rate: float = 0.96,
        staircase: bool = False,
    ) -> None:
        self.initial_learning_rate = _check_number(
            initial_learning_rate, "initial_learning_rate", low_open=True
        )
        self.decay_steps = check_positive_int(decay_steps, "decay_steps")
        self.decay_rate = _check_number(decay_rate, "decay_rate", low_open=True)
        self.staircase = bool(staircase)

    def _rate(self, epoch):
        power = epoch // self.decay_steps if self.staircase else epoch / self.decay_steps
        return self.initial_learning_rate * self.decay_rate**power


class CosineDecay(Schedule):
    """Anneal the rate along half a cosine to ``alpha * initial_learning_rate``, then hold it.

        lr(epoch) = initial_learning_rate * ((1 - alpha) * (1 + cos(pi * t)) / 2 + alpha),
        t = min(epoch, decay_steps) / decay_steps

    SGDR without restarts, https://arxiv.org/abs/1608.03983 (Keras ``CosineDecay``; equal to
    ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=decay_steps, eta_min=alpha * lr0)``).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0) -> None:
        self.initial_learning_rate = _check_number(
            initial_learning_rate, "initial_learning_rate", low_open=True
        )
        self.decay_steps = check_positive_int(decay_steps, "decay_steps")
        self.alpha = _check_number(alpha, "alpha", high=1.0)

    def _rate(self, epoch):
        t = min(epoch, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * t))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)


SCHEDULES: dict[str, type[Schedule]] = {
    cls.__name__.lower(): cls for cls in (StepDecay, ExponentialDecay, CosineDecay)
}


def get(identifier: dict | Schedule) -> Schedule:
    """Return the schedule described by ``identifier``: a ``get_config()`` dict or a schedule."""
    return lookup(identifier, kind="schedule", base=Schedule, registry=SCHEDULES)
