"""Optimizers against ``torch.optim``: the same network, weights, data and batches give the same
weights after many steps.

Each case trains a small tanh network through ``NeuralNet.fit`` (``shuffle=False``, so the batch
order is fixed) and its PyTorch twin, built from the same absorbed weights, through the
matching ``torch.optim`` class, then compares every layer's weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralnet import NeuralNet, optimizers
from neuralnet.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

N_SAMPLES, BATCH_SIZE, EPOCHS = 48, 8, 4  # 6 batches an epoch: 24 steps
SHAPES = ((5, 7), (7, 4), (4, 1))


def _data(n_out: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_SAMPLES, SHAPES[0][0])).astype(np.float32)
    y = (X[:, :n_out] + 0.5 * X[:, 1:2] > 0).astype(np.float32)
    return X, y


def _model(seed: int = 0, **kwargs) -> NeuralNet:
    return NeuralNet(SHAPES, activations=["tanh", "tanh", "sigmoid"], seed=seed, **kwargs)


def _torch_forward(weights: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Return the logits of the twin: ``[a, 1] @ W`` per layer, tanh between layers."""
    for i, w in enumerate(weights):
        x = x @ w[:-1] + w[-1]
        if i < len(weights) - 1:
            x = torch.tanh(x)
    return x


def _torch_train(initial, X, y, make_optimizer, epochs=EPOCHS, batch_size=BATCH_SIZE, loss="bce"):
    """Train the twin in batch order with ``make_optimizer(params)``; return its weights."""
    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    opt = make_optimizer(weights)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb, yb = X_t[start : start + batch_size], y_t[start : start + batch_size]
            logits = _torch_forward(weights, xb)
            if loss == "bce":
                value = torch.nn.functional.binary_cross_entropy_with_logits(logits, yb)
            else:
                value = torch.nn.functional.mse_loss(logits, yb)
            opt.zero_grad()
            value.backward()
            opt.step()
    return [w.detach().numpy() for w in weights]


def assert_weights_match(ours: list[np.ndarray], theirs: list[np.ndarray], label: str) -> None:
    """Compare layer by layer; a failure prints both tensors."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(
            a, b, rtol=1e-5, atol=1e-6,
            err_msg=f"{label}, layer {i}:\nneuralnet =\n{a!r}\ntorch =\n{b!r}",
        )


# (our optimizer, the torch.optim twin): each pair is the same algorithm and hyper-parameters.
CASES = {
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (
        lambda: SGD(0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "sgd_momentum_dampening": (
        lambda: SGD(0.05, momentum=0.9, dampening=0.3),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
    ),
    "sgd_nesterov": (
        lambda: SGD(0.05, momentum=0.8, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
    ),
    "sgd_weight_decay": (
        lambda: SGD(0.1, momentum=0.5, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01),
    ),
    "adam": (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_betas": (
        lambda: Adam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    ),
    "adam_weight_decay": (
        lambda: Adam(0.01, weight_decay=0.05),
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.05),
    ),
    # beta_2=0.9 lets v shrink between steps, so AMSGrad's running maximum changes the path.
    "adam_amsgrad": (
        lambda: Adam(0.01, beta_2=0.9, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.9), amsgrad=True),
    ),
    "adamw": (
        lambda: AdamW(0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    "adamw_amsgrad": (
        lambda: AdamW(0.01, beta_2=0.9, amsgrad=True),
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.9), amsgrad=True),
    ),
    "rmsprop": (lambda: RMSprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop_centered": (
        lambda: RMSprop(0.01, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True),
    ),
    "rmsprop_momentum": (
        lambda: RMSprop(0.005, alpha=0.9, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.RMSprop(p, lr=0.005, alpha=0.9, momentum=0.9, weight_decay=0.01),
    ),
    "rmsprop_centered_momentum": (
        lambda: RMSprop(0.005, momentum=0.5, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.005, momentum=0.5, centered=True),
    ),
    "adagrad": (lambda: Adagrad(0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "adagrad_lr_decay": (
        lambda: Adagrad(0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1),
        lambda p: torch.optim.Adagrad(
            p, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_torch(case):
    ours, theirs = CASES[case]
    X, y = _data()
    model = _model()
    initial = model.get_weights()
    model.fit(X, y, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer=ours())
    expected = _torch_train(initial, X, y, theirs)
    # The weights moved: the comparison is not between two untouched copies.
    assert max(np.abs(w - w0).max() for w, w0 in zip(expected, initial, strict=True)) > 1e-2
    label = f"{case} after {model.optimizer.iterations} steps"
    assert_weights_match(model.get_weights(), expected, label)
    assert model.optimizer.iterations == EPOCHS * N_SAMPLES // BATCH_SIZE >= 20


def _fit(optimizer, epochs=EPOCHS, model=None, **kwargs) -> NeuralNet:
    X, y = _data()
    model = model or _model()
    model.fit(X, y, epochs=epochs, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer=optimizer, **kwargs)
    return model


# Each variant differs from its base in one hyper-parameter; the paths must differ too, or the
# torch comparison above would not be exercising that hyper-parameter at all.
@pytest.mark.parametrize(
    ("variant", "base"),
    [
        ("sgd_momentum", "sgd"),
        ("sgd_momentum_dampening", "sgd_momentum"),
        ("adam_weight_decay", "adam"),
        ("adam_amsgrad", "adam_betas"),
        ("rmsprop_centered", "rmsprop"),
        ("adagrad_lr_decay", "adagrad"),
    ],
)
def test_variants_take_different_paths(variant, base):
    a = _fit(CASES[variant][0]()).get_weights()
    b = _fit(CASES[base][0]()).get_weights()
    assert max(np.abs(x - y).max() for x, y in zip(a, b, strict=True)) > 1e-3


def test_nesterov_differs_from_plain_momentum():
    a = _fit(SGD(0.05, momentum=0.8, nesterov=True)).get_weights()
    b = _fit(SGD(0.05, momentum=0.8)).get_weights()
    assert max(np.abs(x - y).max() for x, y in zip(a, b, strict=True)) > 1e-3


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd_momentum"])
def test_state_is_kept_across_fit_calls(optimizer):
    """Two ``fit`` calls of 3 + 2 epochs give exactly one call of 5: moments are warm-started."""
    make = {"adam": lambda: Adam(0.01), "rmsprop": lambda: RMSprop(0.01),
            "sgd_momentum": lambda: SGD(0.05, momentum=0.9)}[optimizer]
    one_run = _fit(make(), epochs=5)
    opt = make()
    two_runs = _fit(opt, epochs=3)
    _fit(opt, epochs=2, model=two_runs)
    assert opt.iterations == 5 * N_SAMPLES // BATCH_SIZE
    assert_weights_match(two_runs.get_weights(), one_run.get_weights(), f"{optimizer} warm start")


def test_optimizer_by_name_is_kept_across_fit_calls():
    """``fit(optimizer="adam")`` twice reuses the same Adam, and its moments, the second time."""
    X, y = _data()
    one_run = _model()
    one_run.fit(X, y, epochs=5, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
                optimizer="adam", learning_rate=0.01)
    model = _model()
    model.fit(X, y, epochs=3, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer="adam", learning_rate=0.01)
    first = model.optimizer
    model.fit(X, y, epochs=2, batch_size=BATCH_SIZE, shuffle=False, verbose=0, optimizer="adam")
    assert model.optimizer is first and isinstance(first, Adam)
    assert_weights_match(model.get_weights(), one_run.get_weights(), "adam by name, warm start")
    # Asking for another optimizer starts afresh.
    model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0, optimizer="sgd")
    assert isinstance(model.optimizer, SGD) and model.optimizer.learning_rate == 0.1


def test_torch_twin_with_schedule_and_sgd_default():
    """A callable learning rate is set at each epoch start: torch's LambdaLR on the same rule."""
    X, y = _data()
    model = _model()
    initial = model.get_weights()
    model.fit(X, y, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer=SGD(0.2, momentum=0.9), learning_rate=lambda epoch: 0.2 * 0.5**epoch)

    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    opt = torch.optim.SGD(weights, lr=0.2, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5**epoch)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(EPOCHS):
        for start in range(0, N_SAMPLES, BATCH_SIZE):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                _torch_forward(weights, X_t[start : start + BATCH_SIZE]),
                y_t[start : start + BATCH_SIZE],
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    assert_weights_match(model.get_weights(), [w.detach().numpy() for w in weights], "schedule")
    assert model.optimizer.learning_rate == pytest.approx(0.2 * 0.5 ** (EPOCHS - 1))


@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue"])
def test_gradient_clipping_matches_torch(clip):
    """``clipnorm`` is ``clip_grad_norm_`` over all weights, ``clipvalue`` ``clip_grad_value_``."""
    X, y = _data()
    model = _model()
    initial = model.get_weights()
    limit = 0.05  # below the typical gradient norm here, so clipping really happens
    model.fit(X, y, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer=SGD(0.5), **{clip: limit})

    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    opt = torch.optim.SGD(weights, lr=0.5)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    clipped = 0
    for _ in range(EPOCHS):
        for start in range(0, N_SAMPLES, BATCH_SIZE):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                _torch_forward(weights, X_t[start : start + BATCH_SIZE]),
                y_t[start : start + BATCH_SIZE],
            )
            opt.zero_grad()
            loss.backward()
            if clip == "clipnorm":
                norm = torch.nn.utils.clip_grad_norm_(weights, limit)
                clipped += bool(norm > limit)
            else:
                clipped += any(bool((w.grad.abs() > limit).any()) for w in weights)
                torch.nn.utils.clip_grad_value_(weights, limit)
            opt.step()
    assert clipped > 10
    # clip_grad_norm_ scales by limit / (norm + 1e-6); ours by limit / norm: a 1e-6 relative gap.
    for i, (a, b) in enumerate(zip(model.get_weights(), weights, strict=True)):
        b = b.detach().numpy()
        np.testing.assert_allclose(
            a, b, rtol=1e-4, atol=1e-5,
            err_msg=f"{clip}, layer {i}:\nneuralnet =\n{a!r}\ntorch =\n{b!r}",
        )


def test_mse_regression_trajectory_matches_torch():
    """A linear output with mse: the fused delta 2 (a - y) / k gives torch's gradient."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_SAMPLES, 5)).astype(np.float32)
    y = (X @ rng.normal(size=(5, 2))).astype(np.float32)
    model = NeuralNet(((5, 7), (7, 4), (4, 2)), activations=["tanh", "tanh", "linear"],
                      loss="mse", seed=1)
    initial = model.get_weights()
    model.fit(X, y, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              optimizer=Adam(0.01, amsgrad=True))
    expected = _torch_train(initial, X, y, lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True),
                            loss="mse")
    assert_weights_match(model.get_weights(), expected, "mse + adam")


def test_step_updates_in_place_and_keys_state_by_parameter():
    a, b = np.ones(3), np.ones((2, 2))
    a_id = id(a)
    opt = Adam(0.1)
    opt.step([a, b], [np.full(3, 0.5), np.full((2, 2), -1.0)])
    assert id(a) == a_id
    # Adam's first step moves every weight by lr against the gradient's sign.
    np.testing.assert_allclose(a, 0.9)
    np.testing.assert_allclose(b, 1.1)
    assert set(opt.state) == {id(a), id(b)}
    assert all(s["step"] == 1 for s in opt.state.values())


def test_get_by_name_and_config():
    assert isinstance(optimizers.get("Adam"), Adam)
    assert isinstance(optimizers.get("rmsprop", learning_rate=0.1), RMSprop)
    opt = SGD(0.3, momentum=0.9, nesterov=True)
    again = optimizers.get(opt.get_config())
    assert isinstance(again, SGD) and again.get_config() == opt.get_config()
    assert optimizers.get(opt) is opt
    assert "momentum=0.9" in repr(opt)


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_epsilon_hat_adds_epsilon_before_the_bias_correction(cls):
    # Kingma and Ba's efficient form: p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps).
    rng = np.random.default_rng(0)
    p = rng.normal(size=5)
    opt = cls(0.1, beta_1=0.8, beta_2=0.9, epsilon=0.01, weight_decay=0.0, epsilon_hat=True)
    m = v = np.zeros(5)
    expected = p.copy()
    for t in (1, 2, 3):
        g = rng.normal(size=5) * 0.01
        opt.step([p], [g])
        m, v = 0.8 * m + 0.2 * g, 0.9 * v + 0.1 * g * g
        expected -= 0.1 * np.sqrt(1 - 0.9**t) / (1 - 0.8**t) * m / (np.sqrt(v) + 0.01)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    again = optimizers.get(opt.get_config())  # a saved model rebuilds it
    assert type(again) is cls and again.epsilon_hat and again.get_config() == opt.get_config()
    assert not cls().epsilon_hat  # torch's form by default


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: SGD(0.0), ValueError, r"`learning_rate`, expected a number > 0.0\. "
                                       r"Received: learning_rate=0\.0"),
        (lambda: SGD(0.1, momentum=-1), ValueError, r"`momentum`.*Received: momentum=-1"),
        (lambda: SGD(0.1, nesterov=True), ValueError, "Nesterov momentum requires a positive"),
        (lambda: Adam(beta_1=1.0), ValueError, r"`beta_1`, expected a number >= 0.0 and < 1.0"),
        (lambda: Adam(weight_decay=float("nan")), ValueError, "`weight_decay`"),
        (lambda: RMSprop(alpha=2), ValueError, "`alpha`"),
        (lambda: Adagrad(lr_decay=-0.1), ValueError, "`lr_decay`"),
        (lambda: SGD("fast"), ValueError, "Received: learning_rate='fast'"),
        (lambda: optimizers.get("lbfgs"), ValueError, r"Unknown optimizer 'lbfgs'; expected one "
                                                      r"of: adagrad, adam, adamw, rmsprop, sgd"),
        (lambda: optimizers.get(3), TypeError, r"expected a name \(str\) or an Optimizer"),
    ],
)
def test_invalid_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"amsgrad": True, "weight_decay": 0.01}])
def test_adam_in_cache_sized_blocks_is_the_whole_array_step_bit_for_bit(dtype, kwargs, monkeypatch):
    """A large parameter is stepped block by block (optimizers._blocks): the same numbers."""
    n = 3 * (optimizers._BLOCK_BYTES // np.dtype(dtype).itemsize) + 17  # 3 blocks and a rest
    p0 = np.random.default_rng(0).normal(size=n).astype(dtype)
    results = []
    for block_bytes in (optimizers._BLOCK_BYTES, 1 << 40):
        monkeypatch.setattr(optimizers, "_BLOCK_BYTES", block_bytes)
        p, opt = p0.copy(), optimizers.Adam(**kwargs)
        for t in range(20):  # past a subnormal flush (every 16 steps)
            opt.step([p], [np.sin(p0 * (t + 1))])
        results.append(p)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], p0)
    # A parameter that is not C-contiguous is stepped whole.
    q = np.asfortranarray(np.ones((n // 100, 100), dtype=dtype))
    optimizers.Adam(**kwargs).step([q], [np.ones_like(q)])
    np.testing.assert_allclose(q, 1 - 1e-3, rtol=1e-5)
