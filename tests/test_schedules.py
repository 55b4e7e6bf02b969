"""Learning-rate schedules against torch.optim.lr_scheduler, and the callbacks changing the rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuralnet import NeuralNet, optimizers, schedules
from neuralnet.callbacks import Callback, LearningRateScheduler, ReduceLROnPlateau
from neuralnet.optimizers import SGD, Adam
from neuralnet.schedules import CosineDecay, ExponentialDecay, StepDecay

EPOCHS = 25


def _torch_rates(make_scheduler, lr0: float, epochs: int = EPOCHS) -> list[float]:
    """The rate torch's scheduler gives at the start of each epoch."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (StepDecay(0.1, 7, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.5)),
        (StepDecay(0.3, 1), lambda o: torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.1)),
        (ExponentialDecay(0.1, 1, 0.9),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        (CosineDecay(0.1, 20), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 20)),
        (CosineDecay(0.1, 10, alpha=0.2),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, eta_min=0.02)),
    ],
    ids=["step", "step_default_rate", "exponential", "cosine", "cosine_alpha"],
)
def test_schedules_match_torch(ours, theirs):
    expected = _torch_rates(theirs, ours.initial_learning_rate)
    if isinstance(ours, CosineDecay):
        # torch's CosineAnnealingLR keeps going round the cosine past T_max; ours holds the floor.
        expected = expected[: ours.decay_steps + 1]
    got = [ours(e) for e in range(len(expected))]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_schedules_by_formula():
    # ExponentialDecay(0.2, decay_steps=4, decay_rate=0.5): halves every 4 epochs, smoothly.
    s = ExponentialDecay(0.2, 4, 0.5)
    assert s(0) == 0.2 and s(4) == pytest.approx(0.1) and s(2) == pytest.approx(0.2 / math.sqrt(2))
    stairs = ExponentialDecay(0.2, 4, 0.5, staircase=True)
    assert [stairs(e) for e in (0, 3, 4, 7, 8)] == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])
    assert [stairs(e) for e in range(30)] == [StepDecay(0.2, 4, 0.5)(e) for e in range(30)]
    # The cosine reaches alpha * lr0 at decay_steps and stays there.
    c = CosineDecay(1.0, 10, alpha=0.1)
    assert c(5) == pytest.approx(0.55) and c(10) == pytest.approx(0.1) and c(50) == c(10)
    assert "decay_steps=10" in repr(c)
    assert c.get_config() == {"name": "CosineDecay", "initial_learning_rate": 1.0,
                              "decay_steps": 10, "alpha": 0.1}


def test_callbacks_are_reexported():
    assert schedules.ReduceLROnPlateau is ReduceLROnPlateau
    assert schedules.LearningRateScheduler is LearningRateScheduler


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: StepDecay(0, 5), r"`initial_learning_rate`, expected a number > 0.0"),
        (lambda: StepDecay(0.1, 0), r"`decay_steps`, expected a positive integer. "
                                    r"Received: decay_steps=0"),
        (lambda: StepDecay(0.1, 2.5), r"Received: decay_steps=2.5"),
        (lambda: ExponentialDecay(0.1, 1, -0.5), r"`decay_rate`.*Received: decay_rate=-0.5"),
        (lambda: CosineDecay(0.1, 10, alpha=1.5), r"`alpha`, expected a number >= 0.0 and < 1.0"),
        (lambda: StepDecay(0.1, 2)(-1), r"`epoch`, expected a non-negative integer"),
        (lambda: CosineDecay(0.1, 2)(1.5), r"Received: epoch=1.5"),
    ],
)
def test_schedule_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(float)


class RecordRate(Callback):
    """Record the optimizer's rate during each epoch (read at the first batch)."""

    def __init__(self):
        self.rates = []

    def on_batch_end(self, batch, logs=None):
        if batch == 0:
            self.rates.append(self.model.optimizer.learning_rate)


def test_fit_uses_a_schedule_each_epoch_across_fit_calls():
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    record = RecordRate()
    sched = StepDecay(0.4, 2, 0.5)
    model.fit(X, y, epochs=3, verbose=0, learning_rate=sched, callbacks=[record])
    # The epoch count continues in a second call: epochs 3 and 4 are the third step's rate.
    model.fit(X, y, epochs=2, verbose=0, learning_rate=sched, callbacks=[record])
    assert record.rates == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1])


def test_an_optimizer_built_with_a_schedule_follows_it():
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    record = RecordRate()
    opt = Adam(ExponentialDecay(0.01, 1, 0.5))
    assert opt.learning_rate == 0.01
    model.fit(X, y, epochs=3, verbose=0, optimizer=opt, callbacks=[record])
    assert record.rates == pytest.approx([0.01, 0.005, 0.0025])
    # The config holds the schedule's config: JSON-able, and it rebuilds the same optimizer.
    config = opt.get_config()
    assert config["learning_rate"] == {"name": "ExponentialDecay", "initial_learning_rate": 0.01,
                                       "decay_steps": 1, "decay_rate": 0.5, "staircase": False}
    again = optimizers.get(config)
    assert isinstance(again.schedule, ExponentialDecay) and again.schedule(2) == 0.0025
    # Any other callable cannot be written down: the config holds the current rate.
    assert Adam(lambda epoch: 0.1).get_config()["learning_rate"] == 0.1


def test_schedule_saved_with_the_model(tmp_path):
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    model.fit(X, y, epochs=2, verbose=0, optimizer=SGD(StepDecay(0.4, 1, 0.5)))
    model.save(tmp_path / "m.npz")
    loaded = NeuralNet.load(tmp_path / "m.npz")
    assert isinstance(loaded.optimizer.schedule, StepDecay)
    record = RecordRate()
    loaded.fit(X, y, epochs=1, verbose=0, callbacks=[record])
    assert record.rates == pytest.approx([0.1])  # epoch 2 of the schedule


def test_schedules_get():
    s = StepDecay(0.1, 3)
    assert schedules.get(s) is s
    assert repr(schedules.get(s.get_config())) == repr(s)
    assert schedules.get({"name": "stepdecay", "initial_learning_rate": 0.2,
                          "decay_steps": 2})(2) == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r"Unknown schedule 'Linear'; expected one of: "
                                         r"cosinedecay, exponentialdecay, stepdecay."):
        schedules.get({"name": "Linear"})
    with pytest.raises(TypeError, match=r"`schedule`, expected a name \(str\) or a Schedule"):
        schedules.get(0.1)


def test_fit_rejects_a_schedule_returning_a_bad_rate():
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    with pytest.raises(ValueError, match=r"schedule's value at epoch 1.*Received.*=-0.1"):
        model.fit(X, y, epochs=3, verbose=0, learning_rate=lambda e: 0.1 if e == 0 else -0.1)
    with pytest.raises(ValueError, match=r"`learning_rate`, expected a number > 0.0. "
                                         r"Received: learning_rate=0"):
        model.fit(X, y, epochs=1, verbose=0, learning_rate=0)


def test_learning_rate_scheduler_one_or_two_arguments():
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    record = RecordRate()
    history = model.fit(X, y, epochs=4, verbose=0, optimizer=SGD(0.8), callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr / 2), record])
    assert record.rates == pytest.approx([0.4, 0.2, 0.1, 0.05])
    assert history.history["learning_rate"] == pytest.approx(record.rates)
    record = RecordRate()
    model.fit(X, y, epochs=2, verbose=0, callbacks=[
        LearningRateScheduler(CosineDecay(0.1, 8)), record])
    # A schedule of the epoch alone; the epoch count continues from the first call (4, 5).
    assert record.rates == pytest.approx([CosineDecay(0.1, 8)(4), CosineDecay(0.1, 8)(5)])


def test_learning_rate_scheduler_errors():
    with pytest.raises(TypeError, match=r"`schedule`, expected a callable epoch -> rate"):
        LearningRateScheduler(0.1)
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    with pytest.raises(ValueError, match=r"`learning_rate`.*Received: learning_rate=nan"):
        model.fit(X, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda e: float("nan"))])


class Scripted(Callback):
    """Overwrite ``logs[key]`` with a scripted curve, one value per epoch."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = list(values), key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_reduce_lr_on_plateau_keras_semantics():
    """patience=2, factor=0.5, cooldown=1, min_delta=0.05, min_lr=0.1, worked epoch by epoch."""
    curve = [1.0, 0.9, 0.88, 0.87, 0.7, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69]
    # epoch: 0 best=1.0 | 1 best=.9 | 2 wait 1 (.88 not < .9-.05) | 3 wait 2 -> lr .4, cooldown 1
    # 4: the cooldown counter drops to 0, .7 improves | 5 wait 1 | 6 wait 2 -> .2, cooldown 1
    # 7: the counter drops to 0 (wait reset), then, no longer cooling down, wait 1 (as Keras)
    # 8 wait 2 -> max(.1, .1) = .1 | 9 counter to 0, wait 1 | 10 wait 2, but lr is at min_lr.
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    record = RecordRate()
    plateau = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_delta=0.05, min_lr=0.1)
    history = model.fit(X, y, epochs=len(curve), verbose=0, optimizer=SGD(0.8),
                        callbacks=[Scripted(curve), plateau, record])
    expected = [0.8] * 4 + [0.4] * 3 + [0.2] * 2 + [0.1] * 3
    assert record.rates == pytest.approx(expected)
    assert history.history["learning_rate"] == pytest.approx(expected)
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_reduce_lr_on_plateau_max_mode_by_name():
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    record = RecordRate()
    curve = [0.5, 0.6, 0.6, 0.7, 0.6]
    model.fit(X, y, epochs=5, verbose=0, optimizer=SGD(1.0), callbacks=[
        Scripted(curve, "val_accuracy"),
        ReduceLROnPlateau("val_accuracy", factor=0.5, patience=1, min_delta=0.0), record])
    # val_accuracy is maximised: epoch 2 (0.6 again) and epoch 4 (0.6 < 0.7) reduce.
    assert record.rates == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5])
    assert model.optimizer.learning_rate == pytest.approx(0.25)


def test_reduce_lr_on_plateau_errors():
    with pytest.raises(ValueError, match=r"`factor` in ReduceLROnPlateau, expected a number in "
                                         r"\(0, 1\). Received: factor=1.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match=r"`patience` in ReduceLROnPlateau, expected a "
                                         r"non-negative integer"):
        ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match=r"`mode` in ReduceLROnPlateau, expected 'auto', 'min' "
                                         r"or 'max'. Received: mode='up'"):
        ReduceLROnPlateau(mode="up")
    X, y = _data()
    model = NeuralNet(((3, 4), (4, 1)), seed=0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau monitors 'val_loss', which is not "
                                         r"in the epoch logs \(pass validation_data"):
        model.fit(X, y, epochs=2, verbose=0, callbacks=[ReduceLROnPlateau()])
