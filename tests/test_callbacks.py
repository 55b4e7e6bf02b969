"""Callbacks: EarlyStopping on scripted curves, ModelCheckpoint, TerminateOnNaN, CSVLogger, the
Callback hooks, History, and the progress display."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from neuralnet import NeuralNet
from neuralnet.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    TerminateOnNaN,
)
from neuralnet.optimizers import SGD
from neuralnet.progress import ProgressLogger


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(float)


def _model(seed=0):
    return NeuralNet(((3, 4), (4, 1)), activations=["tanh", "sigmoid"], seed=seed)


class Scripted(Callback):
    """Overwrite ``logs[key]`` with a scripted curve, and keep each epoch's weights."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = list(values), key
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[len(self.weights)]  # counted from this fit call's start
        self.weights.append(self.model.get_weights())


def _fit(curve, stopper, key="val_loss", epochs=None, model=None):
    X, y = _data()
    model = model or _model()
    script = Scripted(curve, key)
    history = model.fit(X, y, epochs=epochs or len(curve), verbose=0, optimizer=SGD(0.5),
                        callbacks=[script, stopper])
    return model, script, history


# The curve's best value is at epoch 3; later epochs never beat it by more than 0.05.
CURVE = [1.0, 0.8, 0.7, 0.5, 0.52, 0.47, 0.6, 0.49, 0.7, 0.8, 0.9, 1.0]


@pytest.mark.parametrize(
    ("patience", "min_delta", "stopped", "best"),
    [
        # min_delta=0: 0.47 (epoch 5) improves; 3 epochs without gain after it -> stop at 8.
        (3, 0.0, 8, 5),
        # min_delta=0.05: 0.47 is not better than 0.5 by more than 0.05; best stays epoch 3.
        (3, 0.05, 6, 3),
        (1, 0.0, 4, 3),
        # patience=0 stops at the first epoch that does not improve.
        (0, 0.0, 4, 3),
    ],
)
def test_early_stopping_stops_at_the_right_epoch(patience, min_delta, stopped, best):
    stopper = EarlyStopping(patience=patience, min_delta=min_delta)
    model, script, history = _fit(CURVE, stopper)
    assert stopper.stopped_epoch == stopped
    assert stopper.best_epoch == best and stopper.best == CURVE[best]
    assert len(history.history["loss"]) == stopped + 1 == len(script.weights)
    assert history.history["val_loss"] == CURVE[: stopped + 1]
    # Without restore_best_weights the network keeps its last weights.
    for w, last in zip(model.get_weights(), script.weights[-1], strict=True):
        np.testing.assert_array_equal(w, last)


def test_early_stopping_restores_the_best_weights():
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    model, script, _ = _fit(CURVE, stopper)
    assert stopper.stopped_epoch == 8
    for w, best, last in zip(model.get_weights(), script.weights[5], script.weights[-1],
                             strict=True):
        np.testing.assert_array_equal(w, best)
        assert not np.array_equal(w, last)


def test_early_stopping_restores_even_when_training_runs_to_the_end():
    stopper = EarlyStopping(patience=10, restore_best_weights=True)
    model, script, history = _fit(CURVE, stopper)
    assert stopper.stopped_epoch is None and len(history.history["loss"]) == len(CURVE)
    for w, best in zip(model.get_weights(), script.weights[5], strict=True):
        np.testing.assert_array_equal(w, best)


def test_early_stopping_max_mode_by_name_and_explicit():
    curve = [0.6, 0.7, 0.9, 0.85, 0.9, 0.8]
    stopper = EarlyStopping("val_accuracy", patience=2)  # auto: accuracy is maximised
    _fit(curve, stopper, key="val_accuracy")
    assert (stopper.best_epoch, stopper.stopped_epoch) == (2, 4)
    stopper = EarlyStopping("val_score", patience=2, mode="max")
    _fit(curve, stopper, key="val_score")
    assert (stopper.best_epoch, stopper.stopped_epoch) == (2, 4)
    # The same curve minimised: epoch 0 is the best, stop after 2 worse epochs.
    stopper = EarlyStopping("val_score", patience=2, mode="min")
    _fit(curve, stopper, key="val_score")
    assert (stopper.best_epoch, stopper.stopped_epoch) == (0, 2)


def test_early_stopping_baseline():
    # Nothing beats the baseline 0.4: training stops after `patience` epochs.
    stopper = EarlyStopping(patience=3, baseline=0.4)
    _fit(CURVE, stopper)
    assert stopper.stopped_epoch == 2


def test_early_stopping_on_a_real_validation_loss_and_a_second_fit():
    X, y = _data(200)
    model = _model()
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(X, y, epochs=300, verbose=0, optimizer=SGD(0.2),
                        validation_data=_data(50, seed=1), callbacks=[stopper])
    n = len(history.history["val_loss"])
    assert n < 300 and stopper.stopped_epoch == n - 1
    assert stopper.best == min(history.history["val_loss"])
    assert model.evaluate(*_data(50, seed=1))["loss"] == pytest.approx(stopper.best, rel=1e-5)
    # The same callback in a second fit starts afresh (it counts epochs from that call).
    history = model.fit(X, y, epochs=300, verbose=0, validation_data=_data(50, seed=1),
                        callbacks=[stopper])
    assert len(history.history["val_loss"]) >= 2


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: EarlyStopping(patience=-1), ValueError,
         r"`patience` in EarlyStopping, expected a non-negative integer. Received: patience=-1"),
        (lambda: EarlyStopping(patience=1.5), ValueError, r"Received: patience=1.5"),
        (lambda: EarlyStopping(min_delta=-0.1), ValueError, r"`min_delta` in EarlyStopping"),
        (lambda: EarlyStopping(mode="lowest"), ValueError,
         r"`mode` in EarlyStopping, expected 'auto', 'min' or 'max'. Received: mode='lowest'"),
        (lambda: EarlyStopping(monitor=3), TypeError, r"`monitor`, expected a log name"),
        (lambda: ModelCheckpoint(3), TypeError, r"`filepath`, expected a str or path"),
        (lambda: ModelCheckpoint("m.npz", mode="best"), ValueError, r"`mode` in ModelCheckpoint"),
        (lambda: CSVLogger(None), TypeError, r"`filename`, expected a str or path"),
    ],
)
def test_callback_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_early_stopping_without_the_monitored_value_says_so():
    X, y = _data()
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss', which is not in "
                                         r"the epoch logs \(pass validation_data or "
                                         r"validation_split to fit\). Available: loss."):
        _model().fit(X, y, epochs=3, verbose=0, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match=r"monitors 'accuracy'.*Available: loss, val_loss"):
        _model().fit(X, y, epochs=3, verbose=0, validation_split=0.25,
                     callbacks=[EarlyStopping("accuracy")])


def test_fit_rejects_non_callbacks():
    X, y = _data()
    with pytest.raises(TypeError, match=r"expected Callback instances \(neuralnet.callbacks\). "
                                        r"Received: <function"):
        _model().fit(X, y, epochs=1, verbose=0, callbacks=[lambda epoch: None])


def test_model_checkpoint_calls_save_each_epoch_or_on_improvement(tmp_path):
    curve = [0.9, 0.7, 0.8, 0.6, 0.6]
    model = _model()
    saved = []
    model.save = lambda path: saved.append(path)  # the save contract: model.save(path)
    _fit(curve, ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.1f}.npz")), model=model)
    assert [p.split("/")[-1] for p in saved] == [
        "m-01-0.9.npz", "m-02-0.7.npz", "m-03-0.8.npz", "m-04-0.6.npz", "m-05-0.6.npz"]
    saved.clear()
    best = ModelCheckpoint(tmp_path / "best-{epoch}.npz", save_best_only=True)
    _fit(curve, best, model=model)
    # The epoch number continues across fit calls: this second call runs epochs 6 to 10.
    assert [p.split("/")[-1] for p in saved] == ["best-6.npz", "best-7.npz", "best-9.npz"]
    assert best.best == 0.6


def test_model_checkpoint_needs_a_save_method():
    class NoSave(NeuralNet):
        save = None

    model = NoSave(((3, 4), (4, 1)), seed=0)
    with pytest.raises(RuntimeError, match=r"ModelCheckpoint needs model.save\(path\)"):
        _fit([1.0], ModelCheckpoint("m.npz"), model=model)


# NumPy warns about the overflow that makes the loss infinite; that is the point here.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_terminate_on_nan_stops_cleanly_and_keeps_finite_weights():
    X, y = _data()
    X[40] = 1e30  # the batch holding this sample overflows to an infinite loss
    model = NeuralNet(((3, 4), (4, 1)), activations=["linear", "linear"], loss="mse", seed=0)
    with pytest.raises(FloatingPointError, match=r"Training diverged: the loss became inf in "
                                                 r"batch 2 of epoch 0"):
        model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0, optimizer=SGD(0.01))
    model = NeuralNet(((3, 4), (4, 1)), activations=["linear", "linear"], loss="mse", seed=0)
    history = model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
                        optimizer=SGD(0.01), callbacks=[TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    # Two batches were applied before the diverged one, whose update was skipped.
    assert model.optimizer.iterations == 2
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_csv_logger_writes_every_epoch(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(X, y, epochs=3, verbose=0, metrics=["accuracy"], validation_split=0.25,
                        callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], history.history["loss"])
    np.testing.assert_allclose([float(r[4]) for r in rows[1:]], history.history["val_loss"])
    # append=True continues the file without a second header; the epoch count continues too.
    model.fit(X, y, epochs=2, verbose=0, metrics=["accuracy"], validation_split=0.25,
              callbacks=[CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[4].startswith("3;") and lines[5].startswith("4;")


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} size {logs['size']}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_callback_hooks_are_called_in_order_and_user_code_can_stop():
    X, y = _data(40)
    rec = Recorder()
    model = _model()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, metrics=["accuracy"], callbacks=[rec])
    assert rec.calls == [
        "train_begin",
        "epoch_begin 0", "batch_end 0 size 16", "batch_end 1 size 16", "batch_end 2 size 8",
        "epoch_end 0 ['accuracy', 'loss']",
        "epoch_begin 1", "batch_end 0 size 16", "batch_end 1 size 16", "batch_end 2 size 8",
        "epoch_end 1 ['accuracy', 'loss']",
        "train_end",
    ]
    assert rec.model is model

    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if len(self.model.history.history.get("loss", [])) >= 1:
                self.model.stop_training = True

    history = _model().fit(X, y, epochs=10, verbose=0, callbacks=[StopAtTwo()])
    assert len(history.history["loss"]) == 2


def test_history_holds_loss_metrics_and_validation_per_epoch():
    X, y = _data(80)
    model = _model()
    history = model.fit(X, y, epochs=4, verbose=0, metrics=["accuracy", "auc", "f1"],
                        validation_data=_data(30, seed=2))
    assert isinstance(history, History) and model.history is history
    assert sorted(history.history) == ["accuracy", "auc", "f1", "loss", "val_accuracy", "val_auc",
                                       "val_f1", "val_loss"]
    assert all(len(v) == 4 for v in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    # The validation values are those of evaluate() on the final weights.
    Xv, yv = _data(30, seed=2)
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(Xv, yv)["loss"])
    assert "History(epochs=4" in repr(history)


def test_progress_lines_when_not_a_terminal_and_silent_with_verbose_0(capsys):
    X, y = _data()
    _model().fit(X, y, epochs=3, verbose=0)
    assert capsys.readouterr().err == ""
    _model().fit(X, y, epochs=3, verbose=2, metrics=["accuracy"])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3 - ") and " - loss: " in lines[0]
    assert "accuracy: " in lines[2]


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    X, y = _data()
    logger = ProgressLogger(epochs=3, verbose=1, stream=stream)
    _model().fit(X, y, epochs=3, verbose=0, callbacks=[logger])
    out = stream.getvalue()
    assert "3/3" in out and "loss=" in out and "Epoch 1/3" not in out


def test_fit_rejects_a_bad_verbose():
    X, y = _data()
    with pytest.raises(ValueError, match=r"`verbose`, expected 0 \(silent\), 1 \(progress bar\) "
                                         r"or 2 \(one line per epoch\). Received: verbose=3"):
        _model().fit(X, y, epochs=1, verbose=3)


def test_model_checkpoint_writes_files_that_load_the_best_weights(tmp_path):
    curve = [0.9, 0.7, 0.8, 0.75, 0.95]
    path = tmp_path / "best.npz"
    model, script, _ = _fit(curve, ModelCheckpoint(path, save_best_only=True))
    loaded = NeuralNet.load(path)
    for w, best in zip(loaded.get_weights(), script.weights[1], strict=True):
        np.testing.assert_array_equal(w, best)
    _fit(curve, ModelCheckpoint(tmp_path / "every-{epoch}.npz"))
    assert sorted(p.name for p in tmp_path.glob("every-*.npz")) == [
        f"every-{i}.npz" for i in range(1, 6)]


def test_on_epoch_begin_reaches_a_subclass_method_and_a_function_set_on_an_instance():
    """fit calls on_epoch_begin only on callbacks that define it, however they define it."""

    class Begins(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    by_class, by_instance, seen = Begins(), Callback(), []
    by_instance.on_epoch_begin = lambda epoch, logs=None: seen.append(epoch)
    X, y = _data()
    _model().fit(X, y, epochs=4, batch_size=64, callbacks=[by_class, by_instance], verbose=0)
    assert by_class.seen == seen == [0, 1, 2, 3]
