"""Data-parallel training on a two-worker Dask cluster equals one process on the same batches."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.optimize

from neuralnet import NeuralNet
from neuralnet.callbacks import Callback
from neuralnet.data_parallel import Objective, local_objective


@pytest.fixture(scope="module")
def client():
    """Two worker processes on this machine, loopback only, no dashboard; closed afterwards."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int) + (X[:, 3] > 0.8)
    return X, y


def _net(l2=0.0):
    return NeuralNet(((4, 16), (16, 3)), activations=["tanh", "softmax"], dtype="float64",
                     seed=0, l2=l2)


class _ActorsPerWorker(Callback):
    def __init__(self, client):
        self.client, self.seen = client, None

    def on_batch_end(self, batch, logs=None):
        if self.seen is None:
            self.seen = self.client.run(lambda dask_worker: len(dask_worker.state.actors))


def _assert_close(a, b, rtol=1e-9):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("shuffle", [False, True])
def test_cluster_training_equals_one_process(client, shuffle):
    X, y = _data()
    kwargs = dict(epochs=3, batch_size=32, optimizer="adam", learning_rate=0.01, verbose=0,
                  shuffle=shuffle, clipnorm=5.0)
    local = _net(l2=1e-3)
    h_local = local.fit(X, y, **kwargs)
    # Six chunks over two workers: most batches need rows from both.
    Xd, yd = da.from_array(X, chunks=40), da.from_array(y, chunks=40)
    spy = _ActorsPerWorker(client)
    remote = _net(l2=1e-3)
    h_remote = remote.fit(Xd, yd, client=client, callbacks=[spy], **kwargs)
    assert sorted(spy.seen.values()) == [1, 1]  # one actor on each worker
    _assert_close(local, remote)
    np.testing.assert_allclose(h_remote.history["loss"], h_local.history["loss"], rtol=1e-9)
    assert len(h_remote.diagnostics["grad_norm"]) == 3
    # The actors are gone once fit returns.
    assert sum(client.run(lambda dask_worker: len(dask_worker.state.actors)).values()) == 0


def test_cluster_weights_validation_and_metrics_equal_one_process(client):
    X, y = _data()
    X_val, y_val = _data(90, seed=4)
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    kwargs = dict(epochs=2, batch_size=50, learning_rate=0.2, verbose=0, metrics=["accuracy", "f1"],
                  class_weight={0: 1.0, 1: 0.5, 2: 2.0})
    local = _net()
    h_local = local.fit(X, y, sample_weight=w, validation_data=(X_val, y_val), **kwargs)
    remote = _net()
    h_remote = remote.fit(da.from_array(X, chunks=70), da.from_array(y, chunks=70),
                          sample_weight=da.from_array(w, chunks=70),
                          validation_data=(da.from_array(X_val, chunks=30),
                                           da.from_array(y_val, chunks=30)),
                          client=client, **kwargs)
    _assert_close(local, remote)
    for key, values in h_local.history.items():
        np.testing.assert_allclose(h_remote.history[key], values, rtol=1e-9, err_msg=key)


def test_lbfgs_objective_on_the_cluster_equals_one_process(client):
    X, y = _data()
    model = _net(l2=1e-3)
    x0 = model.flat_weights.copy()
    local = scipy.optimize.minimize(local_objective(_net(l2=1e-3), X, y), x0, jac=True,
                                    method="L-BFGS-B", options={"maxiter": 40})
    with Objective(model, da.from_array(X, chunks=50), da.from_array(y, chunks=50),
                   client) as objective:
        loss, grad = objective(x0)
        loss_1, grad_1 = local_objective(_net(l2=1e-3), X, y)(x0)
        assert loss == pytest.approx(loss_1, rel=1e-12)
        np.testing.assert_allclose(grad, grad_1, rtol=1e-10, atol=1e-15)
        remote = scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                         options={"maxiter": 40})
    assert remote.nit == local.nit > 10
    np.testing.assert_allclose(remote.x, local.x, rtol=1e-9, atol=1e-12)
    assert remote.fun == pytest.approx(local.fun, rel=1e-9)
    np.testing.assert_array_equal(model.flat_weights, x0)  # the model's weights untouched


def test_fit_lbfgs_on_the_cluster_equals_one_process(client):
    from neuralnet.lbfgs import fit_lbfgs

    X, y = _data()
    X_val, y_val = _data(90, seed=4)
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(X))

    class Calls(Callback):
        n = 0

        def on_epoch_end(self, epoch, logs=None):
            Calls.n += 1

    local = _net(l2=1e-3)
    h_local = local.fit(X, y, optimizer="lbfgs", epochs=30, sample_weight=w,
                        validation_data=(X_val, y_val), verbose=0)
    remote = _net(l2=1e-3)
    h_remote = remote.fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50),
                          sample_weight=da.from_array(w, chunks=50), optimizer="lbfgs",
                          epochs=30, validation_data=(da.from_array(X_val, chunks=40),
                                                      da.from_array(y_val, chunks=40)),
                          client=client, callbacks=[Calls()], verbose=0)
    assert h_remote.params["lbfgs"]["n_iter"] == h_local.params["lbfgs"]["n_iter"] == 30
    assert h_remote.params["lbfgs"]["n_fun"] == h_local.params["lbfgs"]["n_fun"]
    assert Calls.n == 30
    _assert_close(local, remote)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h_remote.history[key], h_local.history[key], rtol=1e-9,
                                   err_msg=key)
    # The recorded objective is the weighted loss on all of the data, L2 included.
    assert h_remote.history["loss"][-1] == pytest.approx(remote.loss(X, y, w), rel=1e-9)
    assert sum(client.run(lambda dask_worker: len(dask_worker.state.actors)).values()) == 0
    # Validation arrays may stay in this process; the scale and tol reach scipy as locally.
    # Run to convergence (81 iterations), the sums' rounding (added in another order on the
    # workers) grows to about 1e-8 in the late iterations: the path is the same, not the bits.
    a, b = _net(l2=1e-3), _net(l2=1e-3)
    ha = fit_lbfgs(a, X, y, max_iter=200, tol=1e-3, objective_scale=2.0,
                   validation_data=(X_val, y_val))
    hb = fit_lbfgs(b, da.from_array(X, chunks=80), da.from_array(y, chunks=80), max_iter=200,
                   tol=1e-3, objective_scale=2.0, validation_data=(X_val, y_val), client=client)
    assert hb.params["lbfgs"]["message"] == ha.params["lbfgs"]["message"]
    assert hb.params["lbfgs"]["n_iter"] == ha.params["lbfgs"]["n_iter"] < 200
    np.testing.assert_allclose(hb.history["val_loss"], ha.history["val_loss"], rtol=1e-6)
    _assert_close(a, b, rtol=1e-6)


def test_fit_lbfgs_on_the_cluster_refuses_what_it_cannot_train(client):
    from neuralnet import Dropout, FullyConnectedLayer

    X, y = _data()
    with pytest.raises(TypeError, match=r"fit\(\.\.\., client=\) trains Dask arrays X and y; "
                                        r"received X of type ndarray"):
        _net().fit(X, y, optimizer="lbfgs", client=client, epochs=2, verbose=0)
    dropped = NeuralNet([FullyConnectedLayer(4, 8, "tanh"), Dropout(0.5),
                         FullyConnectedLayer(8, 3, "softmax")])
    with pytest.raises(ValueError, match="L-BFGS needs a deterministic objective"):
        dropped.fit(da.from_array(X), da.from_array(y), optimizer="lbfgs", client=client,
                    epochs=2, verbose=0)


def test_cluster_errors(client):
    X, y = _data()
    with pytest.raises(TypeError, match=r"fit\(\.\.\., client=\) trains Dask arrays X and y; "
                                        r"received X of type ndarray"):
        _net().fit(X, y, client=client, epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"expected a distributed.Client. Received: client='tcp"):
        _net().fit(da.from_array(X), da.from_array(y), client="tcp://x:1", epochs=1, verbose=0)
    bad = X.copy()
    bad[100, 0] = np.inf
    with pytest.raises(ValueError, match=r"X of chunk 1 of X contains 1 NaN or infinite value"):
        _net().fit(da.from_array(bad, chunks=80), da.from_array(y, chunks=80), client=client,
                   epochs=1, verbose=0)


def test_cli_trains_on_a_running_cluster(client, capsys, tmp_path):
    from neuralnet import io
    from neuralnet.cli import main

    address = client.scheduler.address
    code = main(["train", "--dataset", "moons", "--epochs", "2", "--batch-size", "200", "--quiet",
                 "--scheduler", address, "--save", str(tmp_path / "m.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"on the Dask cluster at {address}" in out and "test accuracy" in out
    assert io.load(tmp_path / "m.npz").epoch == 2


def test_cli_trains_a_table_with_text_and_gaps_on_the_cluster(client, tmp_path):
    """A CSV table and a Parquet directory, encoded as on one machine, then trained on Dask."""
    import contextlib
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from palmerpenguins import load_penguins

    import neuralnet
    from neuralnet.cli import main

    # Shuffled: the file lists the species in turn, and the last row groups are held out.
    frame = load_penguins().sample(frac=1, random_state=0).reset_index(drop=True)
    frame.to_csv(tmp_path / "penguins.csv", index=False)
    (tmp_path / "d").mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "d" / "part.parquet", row_group_size=50)
    address = client.scheduler.address
    for data in ("penguins.csv", "d"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["train", "--data", str(tmp_path / data), "--target", "species",
                         "--epochs", "30", "--batch-size", "64", "--quiet", "--scheduler", address,
                         "--save", str(tmp_path / "m.npz")])
        assert code == 0, out.getvalue()
        assert f"on the Dask cluster at {address}" in out.getvalue()
        assert "features        7 columns as 15 inputs" in out.getvalue()
        assert float(out.getvalue().split("test accuracy")[1].split("%")[0]) > 90
        model = neuralnet.load(tmp_path / "m.npz")
        assert (model.predict_classes(frame) == frame["species"]).mean() > 0.9
