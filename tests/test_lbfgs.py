"""L-BFGS: ``neuralnet.lbfgs.fit_lbfgs`` and ``NeuralNet.fit(optimizer="lbfgs")``."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from neuralnet import Dropout, FullyConnectedLayer, NeuralNet
from neuralnet.callbacks import Callback
from neuralnet.datasets import make_moons
from neuralnet.lbfgs import fit_lbfgs


def moons(n=120):
    return make_moons(n, noise=0.2, seed=0)


def net(l2=1e-3, seed=0):
    return NeuralNet(((2, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=seed,
                     dtype="float64", l2=l2)


def test_fit_with_lbfgs_minimises_the_whole_data_loss():
    X, y = moons()
    model = net()
    start = model.loss(X, y)
    history = model.fit(X, y, optimizer="lbfgs", epochs=40, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == model.epoch == history.params["lbfgs"]["n_iter"] == 40
    assert losses[0] < start and all(b <= a for a, b in zip(losses, losses[1:]))
    # The recorded objective is NeuralNet.loss on all the data, L2 included.
    assert losses[-1] == pytest.approx(model.loss(X, y), rel=1e-12)
    assert history.params["lbfgs"]["status"] == 1  # the iteration limit
    assert model.evaluate(X, y)["accuracy"] > 0.9


def test_converges_to_a_stationary_point():
    X, y = moons(60)
    model = net(l2=1e-2)
    history = fit_lbfgs(model, X, y, max_iter=500, tol=1e-6)
    # L-BFGS-B stops on the gradient (tol) or once the loss stops falling (scipy's ftol).
    assert history.params["lbfgs"]["success"] and history.params["lbfgs"]["n_iter"] < 500
    grads = np.concatenate([g.ravel() for g in model.gradients(X, y)])
    assert np.abs(grads).max() <= 1e-4
    loose = net(l2=1e-2)
    assert fit_lbfgs(loose, X, y, max_iter=500, tol=1e-2).params["lbfgs"]["message"] == (
        "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL")


@pytest.mark.parametrize("container", [None, sp.csr_matrix, sp.csc_array])
def test_chunks_and_sparse_input_give_the_full_batch_result(container):
    X, y = moons()
    full = net()
    fit_lbfgs(full, X, y, max_iter=15)
    chunked = net()
    fit_lbfgs(chunked, X if container is None else container(X), y, max_iter=15, batch_size=17)
    for a, b in zip(full.get_weights(), chunked.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_integer_sample_weights_equal_repeated_samples():
    X, y = moons(40)
    w = np.arange(40) % 3
    weighted, repeated = net(), net()
    fit_lbfgs(weighted, X, y, max_iter=10, sample_weight=w)
    fit_lbfgs(repeated, np.repeat(X, w, axis=0), np.repeat(y, w), max_iter=10)
    for a, b in zip(weighted.get_weights(), repeated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_callbacks_validation_and_stopping():
    X, y = moons()

    class StopAfter(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 2

    model = net()
    history = model.fit(X, y, optimizer="LBFGS", epochs=50, verbose=0, callbacks=[StopAfter()],
                        validation_data=(X[:30], y[:30]))
    assert len(history.history["loss"]) == 3 == model.epoch
    assert history.history["val_loss"][-1] == pytest.approx(model.loss(X[:30], y[:30]))


def test_verbose_prints_a_line_per_iteration(capsys):
    X, y = moons(30)
    net().fit(X, y, optimizer="lbfgs", epochs=2, verbose=2)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "loss:" in err


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"learning_rate": 0.1}, r"fit\(optimizer='lbfgs'\) takes no learning_rate: L-BFGS picks"),
    ({"metrics": ["accuracy"], "validation_split": 0.2},
     r"takes no metrics, validation_split"),
    ({"epochs": 0}, r"`epochs`, expected a positive integer"),
])
def test_fit_refuses_what_lbfgs_has_no_use_for(kwargs, message):
    X, y = moons(30)
    with pytest.raises(ValueError, match=message):
        net().fit(X, y, optimizer="lbfgs", verbose=0, **kwargs)


def test_dropout_and_bad_arguments_are_refused():
    X, y = moons(30)
    model = NeuralNet([FullyConnectedLayer(2, 4, "relu"), Dropout(0.5),
                       FullyConnectedLayer(4, 1, "sigmoid")])
    with pytest.raises(ValueError, match=r"L-BFGS needs a deterministic objective, but the "
                                         r"network holds Dropout\(0.5\)"):
        fit_lbfgs(model, X, y)
    with pytest.raises(ValueError, match=r"`max_fun`, expected a positive integer"):
        fit_lbfgs(net(), X, y, max_fun=0)
    with pytest.raises(ValueError, match=r"`tol`, expected a number >= 0"):
        fit_lbfgs(net(), X, y, tol=-1.0)
    with pytest.raises(ValueError, match=r"`verbose`, expected 0 \(silent\), 1 or 2"):
        fit_lbfgs(net(), X, y, verbose=3)
    with pytest.raises(TypeError, match=r"invalid value in `callbacks`"):
        fit_lbfgs(net(), X, y, callbacks=[print])
    with pytest.raises(ValueError, match=r"X has 3 features, but the network's first layer"):
        fit_lbfgs(net(), np.ones((5, 3)), np.ones(5))


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    X, y = moons(20)
    with pytest.raises(ImportError, match=r'pip install "neuralnet\[lbfgs\]"'):
        net().fit(X, y, optimizer="lbfgs", verbose=0)
