"""Callbacks: user code run by ``fit`` at the start and end of training, epochs and batches.

``fit`` calls, in order: ``on_train_begin``, then per epoch ``on_epoch_begin``,
``on_batch_end`` after each update (only for callbacks that override it, so the inner loop
stays free of Python calls when nobody listens), ``on_epoch_end`` with the epoch's logs
(``loss``, metrics, ``val_*``), and finally ``on_train_end``. A callback stops training by
setting ``model.stop_training = True``.
"""

from __future__ import annotations

import csv
import inspect
import math
import os

from neuralnet._validation import check_non_negative as _check_non_negative
from neuralnet._validation import check_number as _check_number
from neuralnet._validation import check_path as _check_path

__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "CSVLogger",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
]


class Callback:
    """Base class; ``self.model`` is the network being trained."""

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    @classmethod
    def _listens_to_batches(cls) -> bool:
        return cls.on_batch_end is not Callback.on_batch_end


class History(Callback):
    """Record each epoch's logs: ``history.history["loss"][i]`` is the mean loss of epoch ``i``.

    ``history.diagnostics`` holds what ``fit`` measured of the network itself each epoch
    (``grad_norm``, ``update_ratio``, ``dead_relu``, ``saturated``: one value per dense layer),
    see ``neuralnet.diagnostics.TrainingMonitor``.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self._diagnostics: dict[str, list[list[float]]] = {}
        # Set during fit: completes ``diagnostics`` with the epochs the monitor holds back.
        self._pending = None
        self.epoch: list[int] = []
        self.params: dict = {}

    @property
    def diagnostics(self) -> dict[str, list[list[float]]]:
        if self._pending is not None:
            self._pending()
        return self._diagnostics

    def __getstate__(self) -> dict:
        # The diagnostics are made complete; the link to fit's monitor is not kept.
        return {**self.__dict__, "_diagnostics": self.diagnostics, "_pending": None}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


# Metrics where larger is better; every other monitored value (losses, mae, mse) is minimised.
_MAXIMISED = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "precision",
              "recall", "f1", "auc", "r2", "precision_score", "recall_score", "f1_score",
              "roc_auc", "roc_auc_score", "r2_score")


def _mode_better(monitor: str, mode: str, min_delta: float, caller: str):
    """Return ``better(current, reference)`` for ``mode`` (``"auto"`` picks from the name)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"Received an invalid value for `mode` in {caller}, expected 'auto', 'min' or 'max'. "
            f"Received: mode={mode!r}"
        )
    if mode == "auto":
        name = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if name in _MAXIMISED else "min"
    if mode == "max":
        return lambda current, reference: current > reference + min_delta
    return lambda current, reference: current < reference - min_delta


def _monitored(logs: dict | None, monitor: str, caller: str) -> float:
    """Return ``logs[monitor]``; a missing key is a configuration error, said at once."""
    logs = logs or {}
    if monitor not in logs:
        hint = " (pass validation_data or validation_split to fit)" if monitor.startswith(
            "val_") else ""
        raise ValueError(
            f"{caller} monitors {monitor!r}, which is not in the epoch logs{hint}. "
            f"Available: {', '.join(sorted(logs)) or 'none'}."
        )
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    An epoch improves when the value beats the best so far by more than ``min_delta``
    (lower for ``mode="min"``, higher for ``"max"``; ``"auto"`` picks ``max`` for accuracy-like
    metrics). After ``patience`` epochs in a row without improvement, training stops. With
    ``restore_best_weights`` the network ends with the weights of its best epoch.

    Attributes set while training: ``best``, ``best_epoch``, ``stopped_epoch`` (the epoch index
    at which training stopped, or ``None``) and ``wait``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        verbose: int = 0,
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(
                f"Received an invalid type for `monitor`, expected a log name such as 'val_loss'. "
                f"Received: monitor={monitor!r} of type {type(monitor).__name__}"
            )
        self.monitor = monitor
        self.patience = _check_non_negative(patience, "patience", "EarlyStopping", integer=True)
        self.min_delta = abs(_check_non_negative(min_delta, "min_delta", "EarlyStopping"))
        self.mode = mode
        self._better = _mode_better(monitor, mode, self.min_delta, "EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline = baseline
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None
        self._epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        self._epochs_seen += 1
        self.wait += 1
        if self.best is None or self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and self._epochs_seen > 1:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping "
                  f"(best {self.monitor} {self.best:.4f} at epoch {self.best_epoch + 1})")
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the network with ``model.save(filepath)`` after each epoch, or only when it improves.

    ``filepath`` may hold ``str.format`` fields filled from the epoch number (from 1) and the
    logs, e.g. ``"model-{epoch:02d}-{val_loss:.3f}.npz"``. With ``save_best_only`` a file is
    written only when ``monitor`` beats its best value (see ``EarlyStopping`` for ``mode``).
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        verbose: int = 0,
    ) -> None:
        self.filepath = _check_path(filepath, "filepath")
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = mode
        self._better = _mode_better(monitor, mode, 0.0, "ModelCheckpoint")
        self.verbose = verbose
        self.best = None

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "save", None)):
            raise RuntimeError(
                "ModelCheckpoint needs model.save(path); this network has no save method."
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if self.best is not None and not self._better(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the network to {path}")


class TerminateOnNaN(Callback):
    """Stop training cleanly at the first batch whose loss is NaN or infinite.

    Without it ``fit`` raises ``FloatingPointError`` on divergence; with it ``fit`` skips the
    diverged update, ends the epoch (whose logged loss is then not finite) and returns.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: ``epoch`` then the log names, sorted.

    ``append=True`` continues an existing file (its header is not written again).
    """

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        self.filename = _check_path(filename, "filename")
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        resume = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._keys = None
        self._header_written = bool(resume)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        if not self._header_written:
            writer.writerow(["epoch", *self._keys])
            self._header_written = True
        writer.writerow([epoch, *(repr(float(logs[k])) if k in logs else "" for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LearningRateScheduler(Callback):
    """Set the optimizer's rate when each epoch starts: ``schedule(epoch)`` or ``(epoch, lr)``.

    ``schedule`` is any callable, e.g. a ``neuralnet.schedules`` object; the rate used is
    logged as ``learning_rate``.
    """

    def __init__(self, schedule, verbose: int = 0) -> None:
        if not callable(schedule):
            raise TypeError(
                f"Received an invalid type for `schedule`, expected a callable epoch -> rate. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _n_positional(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        rate = self.schedule(epoch, opt.learning_rate) if self._takes_lr else self.schedule(epoch)
        opt.learning_rate = _check_number(rate, "learning_rate", low_open=True)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {opt.learning_rate:g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


def _n_positional(fn) -> int:
    """How many positional arguments ``fn`` accepts (2 or more for ``schedule(epoch, lr)``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: call with the epoch only
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in kinds for p in params)


class ReduceLROnPlateau(Callback):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    Keras semantics: improvement means beating the best value by more than ``min_delta``;
    after a reduction, ``cooldown`` epochs pass before counting again; the rate never goes
    below ``min_lr``. The current rate is logged as ``learning_rate``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: int = 0,
    ) -> None:
        caller = "ReduceLROnPlateau"
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ValueError(
                f"Received an invalid value for `factor` in {caller}, expected a number in "
                f"(0, 1). Received: factor={factor!r}"
            )
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = _check_non_negative(patience, "patience", caller, integer=True)
        self.mode = mode
        self.min_delta = _check_non_negative(min_delta, "min_delta", caller)
        self._better = _mode_better(monitor, mode, self.min_delta, caller)
        self.cooldown = _check_non_negative(cooldown, "cooldown", caller, integer=True)
        self.min_lr = _check_non_negative(min_lr, "min_lr", caller)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        opt = self.model.optimizer
        logs["learning_rate"] = opt.learning_rate  # the rate this epoch used, as Keras logs it
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self._better(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and opt.learning_rate > self.min_lr:
                opt.learning_rate = max(opt.learning_rate * self.factor, self.min_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: reducing the learning rate to {opt.learning_rate:g}")
                self.cooldown_counter = self.cooldown
                self.wait = 0
