"""Threads and interrupts: one model shared by many threads, and a fit stopped half-way.

- ``predict``, ``evaluate``, ``predict_classes`` and ``loss`` from 8 threads at once give exactly
  the single-threaded answers, for batch sizes the threads share (each layer's work buffers
  used to be shared by every caller);
- a ``predict`` beside a ``fit`` never changes what ``fit`` computes;
- a second ``fit`` of the same model from another thread is refused, not interleaved;
- a Ctrl-C (SIGINT) during ``fit`` stops it after the batch under way: the weights, the
  optimizer's moments and step count, the position and the random state agree, and a model
  saved then resumes exactly as the uninterrupted run goes on.
"""

from __future__ import annotations

import signal
import threading

import numpy as np
import pytest

import neuralnet
from neuralnet import Callback, Dense, Dropout, NeuralNet

rng = np.random.default_rng(7)
X = rng.normal(size=(240, 6)).astype(np.float32)
y = rng.integers(0, 3, size=240)
SIZES = (1, 3, 16, 17, 64)


def _trained(dtype="float32"):
    model = NeuralNet(((6, 16), (16, 8), (8, 3)), activations=["relu", "tanh", "softmax"],
                      dtype=dtype, seed=0)
    model.fit(X, y, epochs=3, batch_size=32, optimizer="adam", verbose=0)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eight_threads_predicting_at_once_get_the_single_threaded_answers(dtype):
    model = _trained(dtype)
    inputs = [rng.normal(size=(n, 6)).astype(dtype) * (1 + k) for k in range(8) for n in SIZES]
    expected = [model.predict(x) for x in inputs]
    expected_classes = [model.predict_classes(x) for x in inputs]
    errors, wrong = [], []
    start = threading.Barrier(8)

    def hammer(k):
        try:
            start.wait()
            for _ in range(25):
                for i in range(k, len(inputs), 8):
                    if not np.array_equal(model.predict(inputs[i]), expected[i]):
                        wrong.append(i)
                    if not np.array_equal(model.predict_classes(inputs[i]), expected_classes[i]):
                        wrong.append(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not wrong


def test_evaluate_and_loss_from_many_threads_equal_one_thread():
    model = _trained()
    parts = [(X[i::4], y[i::4]) for i in range(4)]
    expected = [(model.evaluate(a, b), model.loss(a, b)) for a, b in parts]
    results = [None] * 16

    def run(k):
        a, b = parts[k % 4]
        results[k] = (model.evaluate(a, b), model.loss(a, b))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for k, got in enumerate(results):
        assert got == expected[k % 4]


def test_predict_beside_fit_never_changes_what_fit_computes():
    weights = rng.uniform(0.5, 2.0, size=len(X))
    alone, shared = _trained(), _trained()
    alone.fit(X, y, epochs=4, batch_size=16, sample_weight=weights, verbose=0)
    stop = threading.Event()

    def predict_all_the_time():
        while not stop.is_set():
            for n in SIZES:
                shared.predict(X[:n])

    threads = [threading.Thread(target=predict_all_the_time) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        shared.fit(X, y, epochs=4, batch_size=16, sample_weight=weights, verbose=0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    for a, b in zip(alone.get_weights(), shared.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_second_fit_from_another_thread_is_refused():
    model = _trained()
    started, release = threading.Event(), threading.Event()

    class Hold(Callback):
        def on_epoch_end(self, epoch, logs=None):
            started.set()
            release.wait(timeout=30)

    runner = threading.Thread(target=lambda: model.fit(X, y, epochs=1, verbose=0,
                                                       callbacks=[Hold()]))
    runner.start()
    try:
        assert started.wait(timeout=60)
        with pytest.raises(RuntimeError, match="fit is already running on this model"):
            model.fit(X, y, epochs=1, verbose=0)
    finally:
        release.set()
        runner.join(timeout=60)
    model.fit(X, y, epochs=1, verbose=0)  # free again


# ---------------------------------------------------------------------------------- interrupts
class InterruptAt(Callback):
    """Send this process a SIGINT (a Ctrl-C) at the end of the given global batch."""

    def __init__(self, at: int) -> None:
        self.at, self.count, self.ended = at, 0, False

    def on_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.at:
            signal.raise_signal(signal.SIGINT)

    def on_train_end(self, logs=None):
        self.ended = True


def _dropout_net():
    # Built from the network's seeded generator at the first fit.
    return NeuralNet([Dense(16, activation="relu"), Dropout(0.2),
                      Dense(3, activation="softmax")], seed=3)


@pytest.mark.parametrize("at", [1, 7, 8, 19])
def test_an_interrupt_stops_after_the_batch_and_the_saved_model_resumes_exactly(at, tmp_path):
    """240 rows in batches of 32: 8 batches an epoch; 8 stops at an epoch's end."""
    straight = _dropout_net()
    straight.fit(X, y, epochs=3, batch_size=32, optimizer="adam", verbose=0)

    model = _dropout_net()
    stopper = InterruptAt(at)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=3, batch_size=32, optimizer="adam", verbose=0,
                  callbacks=[stopper])
    assert stopper.ended  # the callbacks still saw the end of training
    assert model.optimizer.iterations == at
    assert (model.epoch, model.batch) == divmod(at, 8)
    path = tmp_path / "interrupted.npz"
    model.save(path)
    resumed = neuralnet.load(path)
    assert (resumed.epoch, resumed.batch, resumed.optimizer.iterations) == (*divmod(at, 8), at)
    # What is left of the three epochs: the rest of the interrupted one, then the others.
    resumed.fit(X, y, epochs=3 - at // 8, batch_size=32, verbose=0)
    assert resumed.optimizer.iterations == 24
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_exception_in_a_callback_leaves_the_last_completed_batch(tmp_path):
    class Boom(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("boom")

    model = _trained()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y, epochs=1, batch_size=32, verbose=0, callbacks=[Boom()])
    assert model.batch == 3 and model.optimizer.iterations == 3 * 8 + 3


def test_a_ctrl_c_at_any_moment_leaves_a_consistent_model_that_resumes_exactly(tmp_path):
    """The signal comes from another thread at an arbitrary moment of the computation."""
    import os
    import time

    epochs = 100
    straight = _dropout_net()
    straight.fit(X, y, epochs=epochs, batch_size=32, optimizer="adam", verbose=0)
    model = _dropout_net()
    going = threading.Event()

    class Going(Callback):
        def on_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 30:
                going.set()

    def ctrl_c():
        if going.wait(timeout=60):
            time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=ctrl_c)
    timer.start()
    try:
        model.fit(X, y, epochs=epochs, batch_size=32, optimizer="adam", verbose=0,
                  callbacks=[Going()])
        pytest.fail("the interrupt did not arrive before training ended")
    except KeyboardInterrupt:
        pass
    finally:
        timer.join(timeout=30)
    done = model.optimizer.iterations
    assert 0 < done < epochs * 8 and done == model.epoch * 8 + model.batch
    model.save(tmp_path / "m.npz")
    resumed = neuralnet.load(tmp_path / "m.npz")
    resumed.fit(X, y, epochs=epochs - model.epoch, batch_size=32, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
