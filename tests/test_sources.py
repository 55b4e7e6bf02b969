"""fit, evaluate and predict on data that are not one array in memory: batch sources, Dask
arrays and memory-maps (neuralnet.sources), against the same rows as NumPy arrays."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from neuralnet import NeuralNet
from neuralnet.callbacks import Callback
from neuralnet.sources import Chunked, ChunkedBatches, DaskChunks, _Checker


def _data(n=203, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    return X, labels


def _net(k=3, seed=0, **kwargs):
    return NeuralNet(((5, 8), (8, k)), activations=["tanh", "softmax"], dtype="float64",
                     seed=seed, **kwargs)


class Source:
    """A Keras-PyDataset-like source: batch i is rows [i b, (i + 1) b)."""

    def __init__(self, X, y, batch_size, w=None):
        self.X, self.y, self.w, self.b = X, y, w, batch_size
        self.epochs_ended = 0
        self.reads = []

    def __len__(self):
        return -(-len(self.X) // self.b)

    def __getitem__(self, i):
        self.reads.append(i)
        s = slice(i * self.b, (i + 1) * self.b)
        if self.w is None:
            return self.X[s], self.y[s]
        return self.X[s], self.y[s], self.w[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


FIT = dict(epochs=3, batch_size=16, optimizer="adam", learning_rate=0.01, verbose=0)


def _assert_same_training(a, ha, b, hb):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history["loss"] == hb.history["loss"]


# ------------------------------------------------------------------------ batch sources
def test_batch_source_without_shuffle_trains_exactly_as_the_arrays():
    X, y = _data()
    reference = _net()
    h_ref = reference.fit(X, y, shuffle=False, **FIT)
    source = Source(X, y, 16)
    model = _net()
    history = model.fit(source, shuffle=False, **FIT)
    _assert_same_training(reference, h_ref, model, history)
    assert source.epochs_ended == 3
    # Batch 0 is read once up front (to build the network and probe it) and reused.
    assert source.reads == list(range(13)) * 3
    assert history.params["steps"] == 13
    assert len(history.diagnostics["grad_norm"]) == 3


def test_batch_source_with_weights_and_class_weight_equals_the_arrays():
    X, y = _data()
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    reference = _net()
    h_ref = reference.fit(X, y, sample_weight=w, class_weight=cw, shuffle=False, **FIT)
    model = _net()
    history = model.fit(Source(X, y, 16, w), class_weight=cw, shuffle=False, **FIT)
    for wa, wb in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # The epoch's weight: one sum of every weight, against the sum of the batches' sums.
    np.testing.assert_allclose(h_ref.history["loss"], history.history["loss"], rtol=1e-14)


def test_batch_source_shuffles_its_batch_order_from_the_seed():
    X, y = _data()
    runs = []
    for seed in (0, 0, 1):
        source = Source(X, y, 16)
        model = _net(seed=0)
        model.rng = np.random.default_rng(seed)
        model.fit(source, **FIT)
        runs.append((source.reads[1:], model.get_weights()))
    (reads_a, w_a), (reads_b, w_b), (reads_c, _) = runs
    assert reads_a == reads_b and reads_a != reads_c
    for epoch in range(3):  # each epoch reads every batch once
        assert sorted(reads_a[13 * epoch : 13 * (epoch + 1)]) == list(range(13))
    for a, b in zip(w_a, w_b):
        np.testing.assert_array_equal(a, b)


def test_batch_source_as_validation_data_and_metrics_stream():
    X, y = _data()
    X_val, y_val = _data(97, seed=5)
    reference = _net()
    h_ref = reference.fit(X, y, validation_data=(X_val, y_val), metrics=["accuracy", "f1", "auc"],
                          shuffle=False, **FIT)
    model = _net()
    history = model.fit(Source(X, y, 16), validation_data=Source(X_val, y_val, 10),
                        metrics=["accuracy", "f1", "auc"], shuffle=False, **FIT)
    for key in ("accuracy", "f1", "auc", "val_accuracy", "val_f1", "val_auc"):
        assert history.history[key] == h_ref.history[key], key  # counts and gathered scores
    np.testing.assert_allclose(history.history["val_loss"], h_ref.history["val_loss"], rtol=1e-13)


def test_array_training_with_a_validation_source():
    X, y = _data()
    X_val, y_val = _data(40, seed=7)
    h_ref = _net().fit(X, y, validation_data=(X_val, y_val), **FIT)
    history = _net().fit(X, y, validation_data=Source(X_val, y_val, 7), **FIT)
    assert history.history["loss"] == h_ref.history["loss"]
    np.testing.assert_allclose(history.history["val_loss"], h_ref.history["val_loss"], rtol=1e-13)


def test_evaluate_and_predict_accept_a_source():
    X, y = _data(150, seed=2)
    model = NeuralNet(((5, 8), (8, 1)), activations=["relu", "linear"], dtype="float64", seed=0)
    target = X[:, 0] * 2 - X[:, 1]
    model.fit(X, target, epochs=2, verbose=0)
    model.metadata = {}
    expected = model.evaluate(X, target)
    got = model.evaluate(Source(X, target, 32))
    assert got.keys() == expected.keys() == {"loss"}
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-13)
    np.testing.assert_array_equal(model.predict(Source(X, target, 32)), model.predict(X))
    from neuralnet.sources import evaluate

    fns = model.metric_fns(["mae", "mse", "r2"])
    streamed = evaluate(model, Source(X, target, 32), metric_fns=fns)
    whole = model.evaluate_prepared(X, target[:, None], 1024, None, fns)
    for key in ("mae", "mse", "r2"):
        assert streamed[key] == pytest.approx(whole[key], rel=1e-12), key


def test_batch_source_errors_name_the_batch():
    X, y = _data()
    model = _net()
    with pytest.raises(ValueError, match=r"is a batch source, which yields its own targets"):
        model.fit(Source(X, y, 16), y, epochs=1, verbose=0)

    class Bad(Source):
        def __getitem__(self, i):
            return self.X[:4] if i == 2 else super().__getitem__(i)

    with pytest.raises(TypeError, match=r"batch 2 of the batch source must be a tuple \(X_batch, "
                                        r"y_batch\) or \(X_batch, y_batch, sample_weight\); "
                                        r"received ndarray"):
        model.fit(Bad(X, y, 16), epochs=1, verbose=0, shuffle=False)

    class Wide(Source):
        def __getitem__(self, i):
            Xb, yb = super().__getitem__(i)
            return (np.c_[Xb, Xb] if i == 1 else Xb), yb

    with pytest.raises(ValueError, match=r"X of batch 1 of the batch source has 10 features, but "
                                         r"the network's first layer expects 5"):
        _net().fit(Wide(X, y, 16), epochs=1, verbose=0, shuffle=False)

    class Short(Source):
        def __getitem__(self, i):
            Xb, yb = super().__getitem__(i)
            return Xb, yb[:-1]

    with pytest.raises(ValueError, match=r"batch 0 of the batch source: X and y have different "
                                         r"numbers of samples: X has 16, y has 15"):
        _net().fit(Short(X, y, 16), epochs=1, verbose=0)

    class Empty(Source):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match=r"the batch source has len\(\) = 0; expected a positive "
                                         "number of batches per epoch"):
        _net().fit(Empty(X, y, 16), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split needs arrays to hold rows out of; a "
                                         "batch source cannot be split"):
        _net().fit(Source(X, y, 16), epochs=1, verbose=0, validation_split=0.2)


# ------------------------------------------------------------------- Dask arrays, memmaps
def test_dask_arrays_without_shuffle_train_exactly_as_the_arrays():
    X, y = _data()
    reference = _net()
    h_ref = reference.fit(X, y, shuffle=False, validation_split=0.1, metrics=["accuracy"], **FIT)
    # Uneven chunks that batches of 16 straddle; y as Dask with other chunks.
    Xd = da.from_array(X, chunks=((50, 37, 60, 56), (3, 2)))
    yd = da.from_array(y, chunks=70)
    model = _net()
    history = model.fit(Xd, yd, shuffle=False, validation_split=0.1, metrics=["accuracy"], **FIT)
    _assert_same_training(reference, h_ref, model, history)
    assert history.history["val_accuracy"] == h_ref.history["val_accuracy"]
    np.testing.assert_allclose(history.history["val_loss"], h_ref.history["val_loss"], rtol=1e-13)
    assert model.evaluate(Xd, yd)["accuracy"] == reference.evaluate(X, y)["accuracy"]
    np.testing.assert_array_equal(model.predict(Xd), reference.predict(X))


def test_memmap_without_shuffle_trains_exactly_as_the_arrays(tmp_path):
    X, y = _data()
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    X_map = np.load(path, mmap_mode="r")
    reference = _net()
    h_ref = reference.fit(X.astype(np.float32).astype(np.float64), y, shuffle=False, **FIT)
    model = _net()
    history = model.fit(Chunked(X_map, y, chunk_rows=24), shuffle=False, **FIT)
    _assert_same_training(reference, h_ref, model, history)
    model2 = _net()
    model2.fit(X_map, y, shuffle=False, **FIT)  # one 16 MiB block: the whole file here
    for wa, wb in zip(reference.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def _epoch_rows(batches, state=None):
    plan = batches.order(state)
    return [batches.batch(plan, i) for i in range(len(batches))]


def test_chunk_shuffle_is_a_bounded_buffer_reproducible_from_the_seed():
    n = 400
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 5))
    y = np.zeros(n)
    reader = DaskChunks(da.from_array(X, chunks=25), da.from_array(y, chunks=25))
    model = _net(k=1)

    def batches(seed):
        return ChunkedBatches(reader, _Checker(model), 32, True, np.random.default_rng(seed),
                              buffer_chunks=3)

    a, b, c = batches(0), batches(0), batches(1)
    rows_a = _epoch_rows(a)
    rows_b = _epoch_rows(b)
    rows_c = _epoch_rows(c)
    ids = np.concatenate([xb[:, 0] for xb, *_ in rows_a]).astype(int)
    assert sorted(ids) == list(range(n))  # every row once an epoch
    assert ids.tolist() != list(range(n))
    assert ids.tolist() == np.concatenate([xb[:, 0] for xb, *_ in rows_b]).astype(int).tolist()
    assert ids.tolist() != np.concatenate([xb[:, 0] for xb, *_ in rows_c]).astype(int).tolist()
    for xb, *_ in rows_a:  # a batch holds rows of at most 2 windows of 3 chunks
        assert len(set((xb[:, 0] // 25).astype(int).tolist())) <= 6
    # The next epoch draws another order; an epoch replays from its saved generator state.
    state = a.rng.bit_generator.state
    second = np.concatenate([xb[:, 0] for xb, *_ in _epoch_rows(a)])
    assert second.tolist() != ids.tolist()
    resumed = ChunkedBatches(reader, _Checker(model), 32, True, np.random.default_rng(9), 3)
    plan = resumed.order(state)
    tail = np.concatenate([resumed.batch(plan, i)[0][:, 0] for i in range(5, len(resumed))])
    np.testing.assert_array_equal(tail, second[5 * 32 :])


def test_shuffled_dask_fit_is_reproducible_and_learns():
    X, y = _data(600)
    Xd, yd = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    runs = [_net(seed=0).fit(Xd, yd, epochs=8, batch_size=32, optimizer="adam",
                             learning_rate=0.01, verbose=0, metrics=["accuracy"])
            for _ in range(2)]
    assert runs[0].history == runs[1].history
    assert runs[0].history["accuracy"][-1] > 0.75


class _Interrupt(Callback):
    def on_batch_end(self, batch, logs=None):
        if self.model.epoch == 1 and batch == 4:
            raise KeyboardInterrupt


def test_chunked_fit_interrupted_mid_epoch_resumes_exactly():
    X, y = _data(300)
    Xd, yd = da.from_array(X, chunks=40), da.from_array(y, chunks=40)
    straight = _net()
    straight.fit(Xd, yd, epochs=3, batch_size=16, optimizer="adam", verbose=0)
    stopped = _net()
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(Xd, yd, epochs=3, batch_size=16, optimizer="adam", verbose=0,
                    callbacks=[_Interrupt()])
    assert (stopped.epoch, stopped.batch) == (1, 5)
    stopped.fit(Xd, yd, epochs=2, batch_size=16, optimizer="adam", verbose=0)
    for a, b in zip(straight.get_weights(), stopped.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_chunked_errors():
    X, y = _data()
    with pytest.raises(ValueError, match=r"fit needs targets y for X; received y=None"):
        _net().fit(da.from_array(X), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"X and y have different numbers of samples: X has 203, "
                                         "y has 200"):
        _net().fit(da.from_array(X), y[:200], epochs=1, verbose=0)
    bad = X.copy()
    bad[150, 2] = np.nan
    with pytest.raises(ValueError, match=r"X of chunk 1 of X contains 1 NaN or infinite value"):
        _net().fit(da.from_array(bad, chunks=100), y, epochs=1, verbose=0, shuffle=False)
    with pytest.raises(ValueError, match=r"Chunked\(X, y, sample_weight\) holds its own targets"):
        _net().fit(Chunked(da.from_array(X), y), y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"chunk_rows applies to memory-maps"):
        Chunked(da.from_array(X), y, chunk_rows=10)
    with pytest.raises(ValueError, match=r"Received an invalid value for `buffer_chunks`"):
        Chunked(da.from_array(X), y, buffer_chunks=0)
