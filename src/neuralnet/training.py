"""The training loop that ``NeuralNet.fit`` delegates to, and what it is made of.

``fit(model, X, y, ...)`` runs, in order (the shape of Keras's ``fit`` with its
``EpochIterator``, and of scikit-learn's ``_fit_stochastic``):

1. ``prepare_data``: check the arrays, apply class weights, hold out the validation data;
2. ``resolve_optimizer``: keep the model's optimizer and its state unless another is asked for;
3. the callbacks: the user's, then the progress logger, ``History`` and ``TrainingMonitor``;
4. per epoch, the batches of a ``BatchIterator`` (shuffled from the model's seeded generator,
   gathered into reused buffers; a full batch in a fixed order is the data itself), each one
   step of the model's training step (``neuralnet._fastpath.train_step``), clipping and an
   optimizer update;
5. the divergence fallback: a NaN or infinite loss or weight puts back the epoch's starting
   weights and optimizer state and raises ``TrainingDivergedError``.

Nothing is lost on an interrupt. A Ctrl-C (SIGINT) in the main thread is held until the batch
under way is finished, then raised as ``KeyboardInterrupt``: the weights, the optimizer's moments
and step count, the random state and the position (``model.epoch``, ``model.batch``) then
agree, and a model saved in the handler resumes exactly where it stopped, mid-epoch included.
An exception raised inside a step leaves the model as the last completed batch left it, since
the weights and the optimizer change only in the update, which is not interrupted. The
callbacks get ``on_train_end`` either way.
"""

from __future__ import annotations

import math
import operator
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

import numpy as np

from neuralnet import _engine, _fastpath, _memory
from neuralnet import activations as _activations
from neuralnet._validation import (
    all_finite,
    check_number,
    check_positive_int,
    invalid_value,
    is_sparse,
    is_streamed,
    is_streamed_validation,
)
from neuralnet.callbacks import Callback, History
from neuralnet.layers import FullyConnectedLayer

__all__ = [
    "fit",
    "prepare_data",
    "BatchIterator",
    "resolve_optimizer",
    "clip_gradient",
    "TrainingDivergedError",
    "TrainingMonitor",
    "TrainingWarning",
]

_DEFAULT_SGD_LEARNING_RATE = 0.1


class TrainingDivergedError(FloatingPointError, RuntimeError):
    """The loss or the weights became NaN or infinite during ``fit``.

    A ``FloatingPointError`` (an arithmetic failure) and a ``RuntimeError`` (training cannot go
    on); the network keeps the weights it had at the start of the failing epoch.
    """


# ------------------------------------------------------------------------------ the data
def apply_class_weight(class_weight, y: np.ndarray, sample_weight, loss=None):
    """Return per-sample weights with each sample's weight multiplied by its class's weight."""
    if class_weight is None:
        return sample_weight
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict {{label: weight}}; received {type(class_weight).__name__}."
        )
    labels = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
    if loss is not None and loss.decision_threshold == 0.0:
        labels = np.maximum(labels, 0)  # hinge targets were read as {-1, 1}: class 0 is -1
    present = set(np.unique(labels).tolist())
    for label, weight in class_weight.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                or not math.isfinite(weight) or weight < 0:
            raise invalid_value("class_weight", "finite non-negative weights",
                                {label: weight})
        if label not in present:
            raise ValueError(
                f"class_weight names the class {label!r}, which is not in y; the classes in y "
                f"are {sorted(present)}."
            )
    w = np.ones(len(y)) if sample_weight is None else sample_weight.copy()
    for label, weight in class_weight.items():
        w[labels == label] *= weight
    if w.sum() <= 0:
        raise ValueError(
            "class_weight leaves every sample with weight 0; expected at least one positive weight."
        )
    return w


def prepare_data(model, X, y, sample_weight=None, class_weight=None, validation_data=None,
                 validation_split: float = 0.0) -> tuple:
    """Return ``(X, y, sample_weight, X_val, y_val)`` checked, with the validation data held out.

    ``validation_split`` holds out the *last* samples, as Keras does.
    """
    if not model.built:
        X_arr = np.asarray(X) if not hasattr(X, "shape") else X
        if getattr(X_arr, "ndim", 0) == 2:
            model.build(int(X_arr.shape[1]))
    X = model.check_X(X, sparse_ok=True)
    y = model.check_y(y, len(X))
    sample_weight = model.check_sample_weight(sample_weight, len(X))
    sample_weight = apply_class_weight(class_weight, y, sample_weight, model.loss_fn)
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise invalid_value("validation_split", "a number in [0, 1)", validation_split)
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
        X_val = model.check_X(validation_data[0], "validation_data[0]", sparse_ok=True)
        y_val = model.check_y(validation_data[1], len(X_val))
    return X, y, sample_weight, X_val, y_val


class BatchIterator:
    """The batches of one epoch after another: ``(X_batch, y_batch, weights)`` views.

    With ``shuffle``, each epoch's order is a fresh permutation drawn from ``rng`` at the
    epoch's start (not a reshuffle of the last one), so an epoch's order depends only on the
    generator's state then, which ``epoch_state`` keeps: a run resumed in the middle of an
    epoch draws the same order again. Batches are gathered into buffers allocated once, at
    ``min(batch_size, n)`` rows; the last short batch uses their leading rows. A full batch
    in a fixed order needs no gathering: it is the data itself.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, sample_weight, batch_size: int,
                 shuffle: bool, rng: np.random.Generator) -> None:
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.n = len(X)
        self.batch_size = min(batch_size, self.n)
        self.shuffle = shuffle
        self.rng = rng
        # A full batch's gradient does not depend on the order of its rows: no shuffling. A
        # scipy.sparse X is gathered (densified) batch by batch, a full one too.
        self.sparse = is_sparse(X)
        self.whole_data = self.batch_size >= self.n and not self.sparse
        self.n_batches = -(-self.n // self.batch_size)
        if not self.whole_data:
            self._xb = _memory.empty((self.batch_size, X.shape[1]), X.dtype)
            self._yb = _memory.empty((self.batch_size, y.shape[1]), y.dtype)
        self.epoch_state: dict | None = None

    def __len__(self) -> int:
        return self.n_batches

    def end_epoch(self) -> None:
        """Nothing to do after an epoch (the batch iterators of ``neuralnet.sources`` may)."""

    def order(self, epoch_state: dict | None = None) -> np.ndarray | None:
        """Draw this epoch's order (``None``: the data's own); from ``epoch_state`` if given."""
        if (self.whole_data or not self.shuffle) and not self.sparse:
            self.epoch_state = None
            return None
        if not self.shuffle:
            self.epoch_state = None
            return np.arange(self.n)
        if epoch_state is not None:
            replay = np.random.default_rng()
            replay.bit_generator.state = epoch_state
            self.epoch_state = epoch_state
            return replay.permutation(self.n)
        self.epoch_state = self.rng.bit_generator.state
        return self.rng.permutation(self.n)

    def batch(self, order: np.ndarray | None, i: int) -> tuple:
        """Return batch ``i`` of the epoch whose order is ``order``: ``(xb, yb, wb, m)``."""
        if self.whole_data:
            return self.X, self.y, self.sample_weight, self.n
        start = i * self.batch_size
        if order is None:
            stop = min(start + self.batch_size, self.n)
            w = self.sample_weight
            return (self.X[start:stop], self.y[start:stop],
                    None if w is None else w[start:stop], stop - start)
        idx = order[start : start + self.batch_size]
        m = len(idx)
        xb, yb = self._xb[:m], self._yb[:m]
        # The methods skip np.take's Python wrapper; mode="clip" (the indices are always in
        # range) lets take write straight into the buffer, where the default mode="raise"
        # gathers into a temporary and copies it: half the time.
        if self.sparse:  # only this batch's rows, densified into the buffer
            self.X[idx].toarray(out=xb)
        else:
            self.X.take(idx, axis=0, out=xb, mode="clip")
        self.y.take(idx, axis=0, out=yb, mode="clip")
        wb = self.sample_weight[idx] if self.sample_weight is not None else None
        return xb, yb, wb, m


# ------------------------------------------------------------------------- the optimizer
def resolve_optimizer(model, optimizer, learning_rate):
    """Keep the model's optimizer (and its state) unless a different one is asked for."""
    from neuralnet import optimizers as _optimizers

    if isinstance(optimizer, _optimizers.Optimizer):
        if learning_rate is not None:
            optimizer.learning_rate = float(learning_rate)
        return optimizer
    current = model.optimizer
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


def clip_gradient(grad: np.ndarray, clipnorm: float | None, clipvalue: float | None) -> None:
    """Clip ``grad`` in place: each entry to ``[-clipvalue, clipvalue]``, then the norm to ``clipnorm``."""
    if clipvalue is not None:
        np.clip(grad, -clipvalue, clipvalue, out=grad)
    if clipnorm is not None:
        norm = float(np.sqrt(np.vdot(grad, grad)))
        if norm > clipnorm:
            grad *= clipnorm / norm


class _Snapshot:
    """What an epoch starts from (weights, optimizer and layer state): divergence's fallback.

    ``take()`` at each epoch's start copies into the same buffers every time: on the article's
    2-3-1 network an epoch is one batch of some 45 µs, and allocating the copies anew cost a
    tenth of that.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.weights = np.empty_like(model.flat_weights)
        self._buffers: dict = {}
        self.state: dict | None = None
        self.iterations = 0
        self.layer_state: list = []

    def _copy(self, key, array: np.ndarray) -> np.ndarray:
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape != array.shape or buffer.dtype != array.dtype:
            buffer = self._buffers[key] = np.empty_like(array)
        np.copyto(buffer, array)
        return buffer

    def take(self) -> _Snapshot:
        model = self.model
        opt = model.optimizer
        flat = model.flat_weights
        np.copyto(self.weights, flat)
        state = opt.state.get(id(flat))
        if state is not None:
            state = {k: self._copy(k, v) if isinstance(v, np.ndarray) else v
                     for k, v in state.items()}
        self.state = state
        self.iterations = opt.iterations
        # The layers' saved state too (BatchNormalization's moving statistics).
        layer_state = self.layer_state
        layer_state.clear()
        for layer in model.layers._layers:
            if layer.state:
                layer_state.extend((a, self._copy((id(a), "layer"), a)) for a in layer.state.values())
        return self

    def restore(self) -> None:
        model, opt = self.model, self.model.optimizer
        model.flat_weights[...] = self.weights
        for array, value in self.layer_state:
            array[...] = value
        opt.iterations = self.iterations
        if self.state is None:
            opt.state.pop(id(model.flat_weights), None)
        else:  # copies: the buffers are taken again at the next epoch's start
            opt.state[id(model.flat_weights)] = {
                k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self.state.items()}


class _HeldInterrupt:
    """Hold SIGINT (Ctrl-C) while a batch runs; ``pending`` says one arrived.

    Only the main thread can set a signal handler; elsewhere nothing is held, and an
    exception inside a step still leaves the last completed batch's state (see the module).
    """

    def __init__(self) -> None:
        self.pending = False
        self._previous = None

    def __enter__(self) -> _HeldInterrupt:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame) -> None:
        if self.pending:  # a second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


# ------------------------------------------------------------------------------ the loop
def fit(
    model,
    X,
    y=None,
    epochs: int = 100,
    batch_size: int = 32,
    learning_rate=None,
    shuffle: bool = True,
    verbose: int = 1,
    optimizer=None,
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
    """Train ``model``; see ``NeuralNet.fit`` for the arguments. Return the ``History``.

    ``X`` may be arrays, a batch source (with ``y`` omitted), Dask arrays or memory-maps
    (``neuralnet.sources``); with a ``distributed.Client`` as ``client``, Dask arrays train
    data-parallel on its workers (``neuralnet.data_parallel``).

    One ``fit`` at a time per model: a second one started from another thread while the first
    runs is refused with a ``RuntimeError`` (``predict`` and ``evaluate`` may run beside it).
    """
    lock = model.__dict__.setdefault("_fit_lock", threading.Lock())
    if not lock.acquire(blocking=False):
        raise RuntimeError(
            "fit is already running on this model in another thread; one model trains in one "
            "fit at a time (predict and evaluate may run beside it)."
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return _fit(model, X, y, epochs, batch_size, learning_rate, shuffle, verbose,
                        optimizer, validation_data, validation_split, callbacks, metrics,
                        sample_weight, class_weight, clipnorm, clipvalue, client)
    finally:
        lock.release()


def _fit(model, X, y, epochs, batch_size, learning_rate, shuffle, verbose, optimizer,
         validation_data, validation_split, callbacks, metrics, sample_weight, class_weight,
         clipnorm, clipvalue, client=None) -> History:
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    data = _prepare(model, X, y, sample_weight, class_weight, validation_data, validation_split,
                    batch_size, shuffle, client, epochs)
    try:
        return _loop(model, data, epochs, batch_size, learning_rate, verbose, optimizer,
                     callbacks, metrics, clipnorm, clipvalue)
    finally:
        data.close()


class _Data:
    """What the loop trains on, whatever the data's kind: arrays, a batch source, chunks, a cluster.

    ``batches`` is the batch iterator (``BatchIterator`` or one of ``neuralnet.sources``);
    ``step(xb, yb, wb) -> loss`` the training step; ``train_logs(metric_fns)`` and
    ``val_logs(metric_fns)`` evaluate at an epoch's end; ``probe`` holds rows for the
    diagnostics; ``total_weight`` is the epoch's weight when known before it (arrays).
    """

    def __init__(self, batches, step, train_logs, val_logs, probe, n_samples, total_weight,
                 close=None) -> None:
        self.batches, self.step = batches, step
        self.train_logs, self.val_logs = train_logs, val_logs
        self.probe, self.n_samples, self.total_weight = probe, n_samples, total_weight
        self.close = close or (lambda: None)


def _prepare(model, X, y, sample_weight, class_weight, validation_data, validation_split,
             batch_size, shuffle, client, epochs: int = 1) -> _Data:
    """Check the data and choose how the loop reads them (see ``neuralnet.sources``)."""
    if client is not None:
        from neuralnet import data_parallel

        return data_parallel.prepare(model, X, y, sample_weight, class_weight, validation_data,
                                     validation_split, batch_size, shuffle, client)
    val_streamed = is_streamed_validation(validation_data)
    if not is_streamed(X):
        X, y, sample_weight, X_val, y_val = prepare_data(
            model, X, y, sample_weight, class_weight,
            None if val_streamed else validation_data, validation_split)
        batches = BatchIterator(X, y, sample_weight, batch_size, shuffle, model.rng)
        # The "auto" engine loads numba's kernels for a fit this large (neuralnet._engine).
        _engine.kernels(work=len(batches) * epochs * model.flat_weights.size)
        if val_streamed:
            from neuralnet import sources as _sources

            val = _sources.validation_pieces(model, validation_data)
            val_logs = lambda fns: _sources.evaluate_pieces(model, val.pieces(False), 1024, fns)  # noqa: E731
        elif X_val is not None:
            val_logs = lambda fns: model.evaluate_prepared(X_val, y_val, 1024, None, fns)  # noqa: E731
        else:
            val_logs = None
        return _Data(
            batches, _fastpath.train_step(model, batches.batch_size, sample_weight),
            lambda fns: model.evaluate_prepared(X, y, 1024, None, fns), val_logs, X, len(X),
            len(X) if sample_weight is None else float(sample_weight.sum()),
        )
    from neuralnet import sources as _sources

    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise invalid_value("validation_split", "a number in [0, 1)", validation_split)
    if validation_data is not None and validation_split:
        raise ValueError("Give either validation_data or validation_split, not both.")
    if validation_split:
        if _sources.is_batch_source(X):
            raise ValueError(
                "validation_split needs arrays to hold rows out of; a batch source cannot be "
                "split: give validation_data=(another batch source) instead."
            )
        (X, y, sample_weight), validation_data = _sources.split_chunked(
            X, y, sample_weight, validation_split)
    batches = _sources.batches_for(model, X, y, sample_weight, class_weight, batch_size, shuffle,
                                   model.rng)
    model.check_ready()
    val = None if validation_data is None else _sources.validation_pieces(model, validation_data)
    if validation_data is not None and val is None:
        X_val = model.check_X(validation_data[0], "validation_data[0]") \
            if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2 else None
        if X_val is None:
            raise ValueError(
                "validation_data must be a pair (X_val, y_val) or a batch source; "
                f"received {type(validation_data).__name__}."
            )
        y_val = model.check_y(validation_data[1], len(X_val))
        val_logs = lambda fns: model.evaluate_prepared(X_val, y_val, 1024, None, fns)  # noqa: E731
    elif val is not None:
        val_logs = lambda fns: _sources.evaluate_pieces(model, val.pieces(False), 1024, fns)  # noqa: E731
    else:
        val_logs = None
    probe = batches.probe if batches.probe is not None else batches.sample()
    return _Data(
        batches, _sources.AdaptiveStep(model),
        lambda fns: _sources.evaluate_pieces(model, batches.pieces(False), 1024, fns),
        val_logs, probe, batches.n_samples, None,
    )


def check_callbacks(callbacks) -> list[Callback]:
    """``callbacks`` as a new list (empty for None), each one checked to be a ``Callback``."""
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                "Received an invalid value in `callbacks`, expected Callback instances "
                f"(neuralnet.callbacks). Received: {cb!r} of type {type(cb).__name__}"
            )
    return callbacks


def _loop(model, data: _Data, epochs, batch_size, learning_rate, verbose, optimizer, callbacks,
          metrics, clipnorm, clipvalue) -> History:
    model.check_ready()
    for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise invalid_value(name, "a positive number", value)
    if verbose not in (0, 1, 2):
        raise ValueError(
            "Received an invalid value for `verbose`, expected 0 (silent), 1 (progress bar) "
            f"or 2 (one line per epoch). Received: verbose={verbose!r}"
        )
    callbacks = check_callbacks(callbacks)

    schedule = learning_rate if callable(learning_rate) else None
    if learning_rate is not None and schedule is None:
        learning_rate = check_number(learning_rate, "learning_rate", low_open=True)
    model.optimizer = resolve_optimizer(model, optimizer, None if schedule else learning_rate)
    if learning_rate is not None:
        # The rate given to fit is the optimizer's from now on: a saved model resumes with it.
        model.optimizer.schedule = schedule
    else:
        schedule = model.optimizer.schedule
    # Metrics cost a pass over the data each epoch: computed only when asked for.
    metric_fns = model.metric_fns(metrics) if metrics is not None else {}

    batches = data.batches
    history = History()
    history.params = {"epochs": epochs, "batch_size": batch_size, "samples": data.n_samples,
                      "steps": len(batches)}
    if verbose:
        from neuralnet.progress import ProgressLogger

        callbacks.append(ProgressLogger(epochs, verbose))
    # Callbacks that do something at an epoch's start (History and the monitor do not): when
    # an epoch is one small step, calling every callback's empty method is a cost of its own.
    begin_listeners = [cb for cb in callbacks
                       if getattr(cb.on_epoch_begin, "__func__", None) is not Callback.on_epoch_begin]
    # Epochs of one step on the whole data that no callback enters before the step: the
    # monitor may recompute what that step saw from the epoch's start weights.
    one_step = getattr(batches, "whole_data", False) and not begin_listeners
    monitor = TrainingMonitor(history, data.probe, one_step=one_step)
    callbacks += [history, monitor]
    for cb in callbacks:
        cb.set_model(model)
    batch_listeners = [cb for cb in callbacks if cb._listens_to_batches()]
    clipping = clipnorm is not None or clipvalue is not None

    params, grads = [model.flat_weights], [model.flat_grad]
    train_step = data.step
    total_weight = data.total_weight
    model.stop_training = False
    model.history = history
    optimizer_step = model.optimizer.step
    first_iteration = model.optimizer.iterations
    # A run stopped in the middle of an epoch (an interrupt) goes on from its next batch.
    resume = getattr(model, "batch", 0) if len(batches) > getattr(model, "batch", 0) else 0
    resume_state = getattr(model, "epoch_rng_state", None) if resume else None
    if not resume:
        model.batch, model.epoch_rng_state = 0, None

    snapshot = _Snapshot(model)
    for cb in callbacks:
        cb.on_train_begin()
    try:
        with _HeldInterrupt() as held:
            for _ in range(epochs):
                epoch = model.epoch
                if schedule is not None:
                    model.optimizer.learning_rate = check_number(
                        schedule(epoch),
                        f"learning_rate (the schedule's value at epoch {epoch})", low_open=True,
                    )
                # The weights to fall back to if this epoch diverges: one copy per epoch is
                # cheap. The diagnostics measure the epoch's update against the same copy.
                last_good = snapshot.take()
                monitor.epoch_start = last_good.weights
                for cb in begin_listeners:
                    cb.on_epoch_begin(epoch)
                order = batches.order(resume_state)
                model.epoch_rng_state = batches.epoch_state
                first, resume, resume_state = resume, 0, None
                total = seen = 0.0
                for batch in range(first, len(batches)):
                    xb, tb, wb, m = batches.batch(order, batch)
                    batch_loss = train_step(xb, tb, wb)  # forward, loss, backward if finite
                    if not math.isfinite(batch_loss):
                        if model.optimizer.iterations == first_iteration:
                            # Not one update yet: the data overflow the initial weights.
                            model.check_finite(batch_loss, "loss",
                                               xb if isinstance(xb, np.ndarray) else data.probe)
                        # A listener such as TerminateOnNaN may stop cleanly; no update.
                        for cb in batch_listeners:
                            cb.on_batch_end(batch, {"loss": batch_loss, "size": m})
                        if not model.stop_training:
                            last_good.restore()
                            model.batch, model.epoch_rng_state = 0, None
                            _diverged(model, epoch, f"the loss became {batch_loss} in batch {batch}")
                        total = float("nan")
                        break
                    size = m if wb is None else float(wb.sum())
                    total += batch_loss * size
                    seen += size
                    if clipping:
                        clip_gradient(model.flat_grad, clipnorm, clipvalue)
                    optimizer_step(params, grads)
                    model.batch = batch + 1
                    for cb in batch_listeners:
                        cb.on_batch_end(batch, {"loss": batch_loss, "size": m})
                    if held.pending and batch + 1 < len(batches):
                        raise KeyboardInterrupt  # the epoch's last batch: its end comes first
                if not all_finite(model.flat_weights):
                    last_good.restore()
                    model.batch, model.epoch_rng_state = 0, None
                    _diverged(model, epoch, "the weights became NaN or infinite")
                model.batch, model.epoch_rng_state = 0, None
                model.epoch += 1
                batches.end_epoch()
                # Arrays know the epoch's weight in advance; other sources count what they gave.
                logs = {"loss": total / (total_weight if total_weight is not None else seen)}
                if metric_fns:
                    train = data.train_logs(metric_fns)
                    logs.update({k: v for k, v in train.items() if k != "loss"})
                if data.val_logs is not None:
                    val = data.val_logs(metric_fns)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                if model.stop_training:
                    break
                if held.pending:
                    raise KeyboardInterrupt
    except TrainingDivergedError:
        raise
    except BaseException:
        # An interrupt, or an exception inside a step or a callback: the model is as the last
        # completed batch left it. The callbacks still see the end of training.
        for cb in callbacks:
            cb.on_train_end()
        raise
    for cb in callbacks:
        cb.on_train_end()
    return history


def _diverged(model, epoch: int, what: str) -> None:
    raise TrainingDivergedError(
        f"Training diverged: {what} of epoch {epoch}. The network keeps the weights it had "
        f"at the start of epoch {epoch}. Try a lower learning rate (the optimizer's is "
        f"{model.optimizer.learning_rate:g})."
    )


# ------------------------------------------------------------------------ training monitor
class TrainingWarning(UserWarning):
    """A training diagnostic signalled trouble (learning rate, dead or saturated units)."""


_SATURATION = {"sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99)}
# A sample of this many training rows is pushed forward at each epoch's end to read the units.
_PROBE_ROWS = 128
_DEAD_RELU_LIMIT = 0.5
_SATURATED_LIMIT = 0.9
_LOSS_RISE = 1.25
_UPDATE_RATIO_LIMIT = 0.1
_OUTPUTS = operator.attrgetter("outputs")  # a layer's last outputs
# Activations whose forward is element-wise, so it takes a block of epochs' outputs at once.
_ELEMENTWISE = (_activations.ReLU, _activations.Sigmoid, _activations.Tanh, _activations.Linear)


class TrainingMonitor(Callback):
    """Record per-layer diagnostics each epoch into ``history.diagnostics``; warn once on trouble.

    Nothing runs per batch. At each epoch's end, against the copy of the weights ``fit`` takes
    at its start (``epoch_start``), for every layer with parameters,

        grad_norm[l]    = ||dL/dW_l||  of the epoch's last batch
        update_ratio[l] = ||W_l(end) - W_l(start)|| / ||W_l(start)||
        dead_relu[l]    = fraction of a ReLU layer's units that output 0 on every probe row
        saturated[l]    = fraction of a sigmoid/tanh layer's outputs within 1% of its bounds

    (``nan`` where a quantity does not apply). The probe rows are up to 128 rows of the epoch's
    last batch, with the activations training computed for them; if that batch is smaller
    than both 128 rows and the data (a short remainder), or some layer acts differently in
    training (``Layer.same_in_training`` false: Dropout), 128 training rows are pushed forward
    in inference mode instead. Each list in ``history.diagnostics`` has one entry per epoch,
    itself one value per layer with parameters.

    It warns (``TrainingWarning``) at most once per kind and call of ``fit`` when the loss rises
    by a quarter while the weights move by more than a tenth of their size in one epoch (the
    learning rate is too high), when most of a hidden layer's ReLUs are dead, or when a hidden
    sigmoid/tanh layer is nearly all saturated.

    When an epoch is a single small step (the article's full-batch gradient descent on a 2-3-1
    network), computing these numbers costs as much as the step. So each epoch only copies what
    they are computed from (the gradient, the end weights, the probe activations) into a block
    of work arrays holding up to 64 epochs, and the numbers of a whole block come from a few
    NumPy calls when it is full, when training ends, or as soon as ``history.diagnostics`` is
    read. A large network's block holds one epoch: its numbers are computed at once. When every
    epoch is one step on the whole data through dense layers, an epoch does not even copy the
    activations: the block computes them again, one batched product a layer for all its epochs,
    from the weights each epoch started from, which are those its one step saw.
    """

    def __init__(self, history, X: np.ndarray, one_step: bool = False) -> None:
        self.history = history
        self._one_step = one_step  # every epoch is one step on the whole of X
        step = max(1, len(X) // _PROBE_ROWS)
        self._probe = X[::step][:_PROBE_ROWS]
        if not isinstance(self._probe, np.ndarray):  # scipy.sparse X: densify the probe rows only
            self._probe = self._probe.toarray()
        self._n_train = len(X)
        self._last_loss: float | None = None
        self._probe_views: tuple | None = None
        self._warned: set[str] = set()
        self._block: _EpochBlock | None = None
        self.epoch_start: np.ndarray | None = None

    def on_train_begin(self, logs=None):
        for key in ("grad_norm", "update_ratio", "dead_relu", "saturated"):
            self.history._diagnostics.setdefault(key, [])
        self.history._pending = self._flush
        self._layers = self.model.layers.with_params
        self._trained_rows_are_probes = all(
            getattr(l, "same_in_training", True) for l in self.model.layers
        )
        # One-step epochs of plain dense layers: the probe activations are computed again,
        # for a whole block of epochs at once, from the weights each epoch started from (its
        # one step's weights); no epoch copies them (see _EpochBlock.replayed).
        layers = list(self.model.layers)
        self._replay = self._one_step and all(type(l) is FullyConnectedLayer for l in layers) \
            and all(type(l.activation) in _ELEMENTWISE for l in layers[:-1])

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        block = self._block
        if self._replay:
            activations = None
            if block is None:
                block = self._block = _EpochBlock(model, None, self._probe)
        else:
            activations = self._probe_activations()
            if block is None or (activations is not block.last and not block.fits(activations)):
                self._flush()
                block = self._block = _EpochBlock(model, activations)
        block.add(epoch, logs.get("loss") if logs else None, model.flat_grad,
                  model.flat_weights, self.epoch_start, activations)
        if len(block.epochs) == block.capacity:
            self._flush()

    def on_train_end(self, logs=None):
        self._flush()
        self.history._pending = None

    def _flush(self) -> None:
        """Compute and record the numbers of the epochs waiting in the block, in order."""
        block = self._block
        if block is None or not block.count:
            return
        record = self.history._diagnostics
        epochs, losses, grad_norm, update_ratio, dead, saturated = block.results(self._layers)
        record["grad_norm"].extend(grad_norm.tolist())
        record["update_ratio"].extend(update_ratio.tolist())
        record["dead_relu"].extend(dead.tolist())
        record["saturated"].extend(saturated.tolist())
        self._check_block(epochs, losses, update_ratio, dead, saturated)

    def _check_block(self, epochs, losses, update_ratio, dead, saturated) -> None:
        """``_check`` for a block's epochs, in order: NumPy finds the epochs that may signal
        trouble (a superset of those ``_check`` warns about: the largest ratio ignoring NaN,
        only the kinds not yet warned about), and only those are put into words."""
        loss = np.array([np.nan if v is None else v for v in losses])
        before = np.nan if self._last_loss is None else self._last_loss
        previous = np.concatenate(([before], loss[:-1]))
        suspect = np.zeros(len(epochs), dtype=bool)
        if "learning_rate" not in self._warned:
            with np.errstate(invalid="ignore"):
                biggest = np.fmax.reduce(update_ratio, axis=1)
            suspect |= (loss > _LOSS_RISE * previous) & (biggest > _UPDATE_RATIO_LIMIT)
        if "dead_relu" not in self._warned:
            suspect |= (dead[:, :-1] > _DEAD_RELU_LIMIT).any(axis=1)
        if "saturated" not in self._warned:
            suspect |= (saturated[:, :-1] > _SATURATED_LIMIT).any(axis=1)
        for j in np.flatnonzero(suspect).tolist():
            if j:
                self._last_loss = losses[j - 1]  # the loss _check compares epoch j's against
            self._check(epochs[j], losses[j], update_ratio[j].tolist(), dead[j, :-1].tolist(),
                        saturated[j, :-1].tolist())
        self._last_loss = losses[-1]

    def _probe_activations(self) -> list[np.ndarray]:
        """Each parameter layer's outputs on the probe rows (see the class docstring)."""
        layers = self._layers
        trained = list(map(_OUTPUTS, layers))
        cached = self._probe_views
        if cached is not None and all(map(operator.is_, trained, cached[0])):
            return cached[1]  # fit's step reuses its arrays: so do these views of them
        rows = 0 if trained[-1] is None else len(trained[-1])
        if self._trained_rows_are_probes and all(a is not None for a in trained) and \
                rows >= min(_PROBE_ROWS, self._n_train):
            step = max(1, rows // _PROBE_ROWS)
            views = [a[::step][:_PROBE_ROWS] for a in trained]
            self._probe_views = (trained, views)
            return views
        x, outputs = self._probe, []
        for layer in self.model.layers:
            x = layer.infer(x)
            if layer.params:
                outputs.append(x)
        return outputs

    def _check(self, epoch, loss, update_ratio, dead, saturated) -> None:
        """Warn in words about the first sign of each kind of trouble."""
        previous, self._last_loss = self._last_loss, loss
        biggest = max(update_ratio)
        if previous is not None and loss is not None and loss > _LOSS_RISE * previous \
                and biggest > _UPDATE_RATIO_LIMIT:
            rate = getattr(self.model.optimizer, "learning_rate", None)
            rate_text = f" ({rate:g})" if isinstance(rate, (int, float)) else ""
            self._warn(
                "learning_rate",
                f"The loss rose from {previous:.4g} to {loss:.4g} in epoch {epoch + 1} while the "
                f"weights moved by {biggest:.0%} of their size: the learning rate{rate_text} is "
                "probably too high; try a smaller one.",
            )
        for l, fraction in enumerate(dead):
            if fraction > _DEAD_RELU_LIMIT:
                self._warn(
                    "dead_relu",
                    f"{fraction:.0%} of the ReLUs in layer {l + 1} are dead (output 0 for every "
                    f"input) after epoch {epoch + 1}; they no longer learn. Try a smaller learning "
                    "rate or leaky_relu.",
                )
        for l, fraction in enumerate(saturated):
            if fraction > _SATURATED_LIMIT:
                name = self._layers[l].activation.name
                self._warn(
                    "saturated",
                    f"{fraction:.0%} of the {name} outputs of layer {l + 1} are saturated after "
                    f"epoch {epoch + 1}, where the gradient vanishes. " + self._saturation_advice(),
                )

    def _saturation_advice(self) -> str:
        # Inputs whose every column has a root mean square of at most 2 (standardised or 0/1
        # columns) gain nothing from scaling: then the size of the updates is to blame.
        rms = np.sqrt(np.mean(np.square(self._probe, dtype=np.float64), axis=0))
        if rms.size and rms.max() <= 2:
            return ("The inputs are already on a unit scale: use a smaller learning rate (and, for "
                    "a regression, standardize the targets).")
        return "Standardize the inputs or use a smaller learning rate."

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(message, TrainingWarning, stacklevel=_outside_package())


class _EpochBlock:
    """What the diagnostics of up to ``capacity`` epochs are computed from, and the computation.

    Per epoch: the last batch's gradient, the end weights (and the start weights, for the
    block's first epoch: ``add``), and each parameter layer's activations on the probe rows,
    copied, or computed again for the whole block when replayed (``replayed``).
    """

    # Work arrays of about this many values in all (4 MB of float32) set how many epochs wait.
    _BUDGET = 1 << 20
    _MAX_EPOCHS = 64

    def __init__(self, model, activations: list[np.ndarray] | None,
                 replay: np.ndarray | None = None) -> None:
        """``activations`` are copied each epoch; or, as None, computed again from ``replay``,
        the probe rows, when the results are (``replayed``)."""
        n_params = model.flat_weights.size
        per_epoch = 3 * n_params + sum(a.size for a in activations or ())
        self.capacity = max(1, min(self._MAX_EPOCHS, self._BUDGET // per_epoch))
        dtype = model.dtype
        # The gradients, end weights and start weights of each epoch: one array, so that one
        # square and one reduceat give all three squared norms of every layer and epoch.
        self.vectors = np.empty((3, self.capacity, n_params), dtype=dtype)
        self.acts = None if activations is None else [
            np.empty((self.capacity, *a.shape), dtype=dtype) for a in activations]
        if replay is not None:  # [x, 1]: the first layer's product absorbs its bias
            replay = np.concatenate([replay, np.ones((len(replay), 1), dtype=replay.dtype)], axis=1)
        self.replay = replay
        self.epochs: list[int] = []
        self.losses: list = []
        self.last: list[np.ndarray] | None = None  # the activations list added last
        self.parts = model.parameter_offsets
        self.offsets = np.array([start for _, start, _ in self.parts])

    @property
    def count(self) -> int:
        return len(self.epochs)

    def fits(self, activations: list[np.ndarray]) -> bool:
        return all(a.shape == b.shape[1:] for a, b in zip(activations, self.acts, strict=True))

    def add(self, epoch, loss, grad, end, start, activations) -> None:
        """Keep one epoch's gradient, end weights and activations; its start, for the first.

        An epoch starts from the weights the one before it ended with (``fit`` takes its
        snapshot right after the last callback, this monitor, has read them), so only the
        block's first epoch copies its start: ``results`` fills in the others.
        """
        # Item assignment, not np.copyto on views: on the 2-3-1 network an epoch is some 50 µs,
        # and making a view per copy cost a tenth of it.
        i = len(self.epochs)
        vectors = self.vectors
        vectors[0, i] = grad
        vectors[1, i] = end
        if not i:
            vectors[2, 0] = start
        if activations is not None:
            for buffer, a in zip(self.acts, activations, strict=True):
                buffer[i] = a
        self.epochs.append(epoch)
        self.losses.append(loss)
        self.last = activations

    def results(self, layers) -> tuple[list, ...]:
        """Per waiting epoch, in order: the epochs, losses and four (epochs, layers) arrays; empty it.

        ``update_ratio`` is inf for a layer that moved from all-zero weights, nan if it stayed.
        """
        k = self.count
        vectors = self.vectors[:, :k]
        vectors[2, 1:] = vectors[1, :-1]  # each epoch's start: the end of the one before (add)
        acts = self.replayed(vectors[2]) if self.acts is None else [a[:k] for a in self.acts]
        np.subtract(vectors[1], vectors[2], out=vectors[1])  # end - start: the epoch's update
        np.square(vectors, out=vectors)
        grad_sq, moved_sq, start_sq = np.add.reduceat(vectors, self.offsets, axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            update_ratio = np.sqrt(moved_sq / start_sq)
        dead = np.full((k, len(layers)), np.nan)
        saturated = np.full((k, len(layers)), np.nan)
        for l, (layer, a) in enumerate(zip(layers, acts, strict=True)):
            if a is None:
                continue
            activation = getattr(layer, "activation", None)
            name = getattr(activation, "name", None)
            if name == "relu":
                # count_nonzero / size: np.mean costs ten times more on arrays this small.
                dead[:, l] = 1.0 - np.count_nonzero((a > 0).any(axis=1), axis=1) / a.shape[2]
            if name in _SATURATION:
                lo, hi = _SATURATION[name]
                outside = np.count_nonzero((a <= lo) | (a >= hi), axis=(1, 2))
                saturated[:, l] = outside / (a.shape[1] * a.shape[2])
        out = (list(self.epochs), list(self.losses), np.sqrt(grad_sq), update_ratio, dead,
               saturated)
        self.epochs.clear()
        self.losses.clear()
        return out

    def replayed(self, starts: np.ndarray) -> list[np.ndarray | None]:
        """Each dense layer's outputs on the probe rows, ``(epochs, rows, units)``, for every
        epoch from the weights it started from (``starts``, one row an epoch): one batched
        product a layer for the whole block, the first with the bias absorbed (``[x, 1] @ W``).
        The activations are the training step's (``_fastpath.step_forward``); a last layer whose
        activation is not element-wise (softmax) gives None: no diagnostic reads it."""
        k, x, out = len(starts), self.replay, []
        with np.errstate(over="ignore"):  # the sigmoid's exp(-z) beyond float range: 0, as in fit
            for i, (layer, start, stop) in enumerate(self.parts):
                activation = layer.activation
                if type(activation) not in _ELEMENTWISE:
                    out.append(None)
                    continue
                W = starts[:, start:stop].reshape(k, layer.n_in + 1, layer.n_out)
                if i == 0:
                    z = np.matmul(x, W)  # x is [probe rows, 1]
                else:
                    z = np.matmul(x, W[:, :-1])
                    z += W[:, -1:]
                x = _fastpath.step_forward(activation)(z, out=z)
                out.append(x)
        return out


def _outside_package() -> int:
    """Return the ``stacklevel`` of the first caller outside neuralnet (the user's ``fit`` call)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1  # level 1 is the function calling warnings.warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
