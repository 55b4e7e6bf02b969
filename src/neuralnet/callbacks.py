"""Callbacks: user code run by ``fit`` at the start and end of training, epochs and batches.

``fit`` calls, in order: ``on_train_begin``, then per epoch ``on_epoch_begin``,
``on_batch_end`` after each update (only for callbacks that override it, so the inner loop
stays free of Python calls when nobody listens), ``on_epoch_end`` with the epoch's logs
(``loss``, metrics, ``val_*``), and finally ``on_train_end``. A callback stops training by
setting ``model.stop_training = True``.
"""

from __future__ import annotations

__all__ = ["Callback", "History"]


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
        self.diagnostics: dict[str, list[list[float]]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"
