"""Saving and loading: exact resumption, architecture round trips, and every way a file is refused."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import pickle
import warnings

import numpy as np
import pytest

import neuralnet
from neuralnet import Dropout, FullyConnectedLayer, NeuralNet
from neuralnet import io as nio


def _data(n=61, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y


def _dropout_net(seed=5, dtype="float32"):
    rng = np.random.default_rng(1)
    return NeuralNet(
        [
            FullyConnectedLayer(3, 8, "relu", dtype=dtype, rng=rng),
            Dropout(0.25),
            FullyConnectedLayer(8, 1, "sigmoid", dtype=dtype, rng=rng),
        ],
        seed=seed,
        dtype=dtype,
    )


def _assert_same_weights(a: NeuralNet, b: NeuralNet) -> None:
    for i, (wa, wb) in enumerate(zip(a.get_weights(), b.get_weights(), strict=True)):
        assert wa.dtype == wb.dtype
        np.testing.assert_array_equal(wa, wb, err_msg=f"weights[{i}] differ")


def _rewrite(src, dst, mutate) -> None:
    """Copy a model file, letting ``mutate(header, arrays)`` change it, without fixing checksums."""
    with np.load(src, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    mutate(header, arrays)
    payload = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, header=payload, **arrays)


def _describe(array):
    return {
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
    }


@pytest.fixture
def saved(tmp_path):
    X, y = _data()
    model = _dropout_net()
    model.fit(X, y, epochs=2, batch_size=16, optimizer="adam", verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


# ------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    ("optimizer", "dtype"),
    [("sgd", "float32"), ("adam", "float32"), ("rmsprop", "float64"), ("adagrad", "float64"),
     (neuralnet.SGD(learning_rate=0.05, momentum=0.9, nesterov=True), "float32"),
     (neuralnet.Adam(amsgrad=True), "float64")],
    ids=["sgd", "adam", "rmsprop", "adagrad", "sgd-nesterov", "adam-amsgrad"],
)
def test_fit_save_load_fit_equals_fitting_straight(tmp_path, optimizer, dtype):
    X, y = _data()
    straight = _dropout_net(dtype=dtype)
    opt = optimizer if isinstance(optimizer, str) else type(optimizer)(**{
        k: v for k, v in optimizer.get_config().items() if k != "name"})
    straight.fit(X, y, epochs=20, batch_size=16, optimizer=opt, verbose=0)

    first = _dropout_net(dtype=dtype)
    first.fit(X, y, epochs=10, batch_size=16, optimizer=optimizer, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = neuralnet.load(tmp_path / "half.npz")
    assert resumed.epoch == 10
    resumed.fit(X, y, epochs=10, batch_size=16, verbose=0)

    assert resumed.epoch == straight.epoch == 20
    _assert_same_weights(resumed, straight)


@pytest.mark.parametrize(
    "schedule",
    [lambda epoch: 0.5 / (1 + epoch), neuralnet.schedules.StepDecay(0.5, 2, 0.5)],
    ids=["plain-callable", "neuralnet-schedule"],
)
def test_resume_with_a_learning_rate_schedule_follows_the_saved_epoch(tmp_path, schedule):
    X, y = _data()
    straight = NeuralNet(((3, 4), (4, 1)), seed=2)
    straight.fit(X, y, epochs=8, learning_rate=schedule, verbose=0)
    half = NeuralNet(((3, 4), (4, 1)), seed=2)
    half.fit(X, y, epochs=4, learning_rate=schedule, verbose=0)
    half.save(tmp_path / "m.npz")
    resumed = NeuralNet.load(tmp_path / "m.npz")
    if hasattr(schedule, "get_config"):
        # A neuralnet schedule is saved with the optimizer: no need to give it again.
        assert resumed.optimizer.get_config()["learning_rate"] == schedule.get_config()
        resumed.fit(X, y, epochs=4, verbose=0)
    else:  # a plain function cannot be saved, only given again
        resumed.fit(X, y, epochs=4, learning_rate=schedule, verbose=0)
    _assert_same_weights(resumed, straight)


def test_a_checkpoint_written_during_fit_resumes_exactly(tmp_path):
    X, y = _data()
    straight = _dropout_net()
    straight.fit(X, y, epochs=6, batch_size=16, optimizer="adam", verbose=0)
    interrupted = _dropout_net()
    checkpoint = neuralnet.callbacks.ModelCheckpoint(str(tmp_path / "epoch-{epoch}.npz"))
    interrupted.fit(X, y, epochs=6, batch_size=16, optimizer="adam", verbose=0,
                    callbacks=[checkpoint])
    resumed = neuralnet.load(tmp_path / "epoch-3.npz")  # as if the run had stopped there
    assert resumed.epoch == 3
    resumed.fit(X, y, epochs=3, batch_size=16, verbose=0)
    _assert_same_weights(resumed, straight)


def test_a_constant_rate_given_to_fit_replaces_the_schedule():
    X, y = _data()
    model = NeuralNet(((3, 1),), seed=0)
    model.fit(X, y, epochs=1, learning_rate=neuralnet.schedules.StepDecay(0.5, 2), verbose=0)
    model.fit(X, y, epochs=1, learning_rate=0.05, verbose=0)
    assert model.optimizer.get_config()["learning_rate"] == 0.05


def test_saved_file_has_the_usual_permissions(saved, tmp_path):
    model, _ = saved
    fresh = tmp_path / "fresh.npz"
    open(fresh, "w").close()  # a file created the ordinary way, under the same umask
    model.save(tmp_path / "m.npz")
    assert os.stat(tmp_path / "m.npz").st_mode & 0o777 == os.stat(fresh).st_mode & 0o777


def test_load_restores_everything_saved(saved):
    model, path = saved
    model.metadata = {"feature_names": ["a", "b", "c"]}
    model.save(path)
    loaded = NeuralNet.load(path)
    assert loaded.get_config() == model.get_config()
    _assert_same_weights(loaded, model)
    X, _ = _data()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.epoch == model.epoch == 2
    assert loaded.rng.bit_generator.state == model.rng.bit_generator.state
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    saved_state = model.optimizer.state[id(model._flat_weights)]
    loaded_state = loaded.optimizer.state[id(loaded._flat_weights)]
    assert saved_state.keys() == loaded_state.keys() == {"shape", "step", "m_sum", "v_sum"}
    assert loaded_state["step"] == 8
    np.testing.assert_array_equal(loaded_state["m_sum"], saved_state["m_sum"])
    np.testing.assert_array_equal(loaded_state["v_sum"], saved_state["v_sum"])
    assert loaded.metadata == {"feature_names": ["a", "b", "c"]}
    # The Dropout layer draws from the model's generator, as in a freshly built network.
    assert loaded.layers[1].rng is loaded.rng


def test_untrained_model_round_trips_without_an_optimizer(tmp_path):
    model = NeuralNet(((2, 3), (3, 4)), activations=["tanh", "softmax"],
                      loss="categorical_crossentropy", dtype="float64", seed=None)
    model.save(tmp_path / "m.npz")
    loaded = neuralnet.load(str(tmp_path / "m.npz"))
    assert loaded.optimizer is None and loaded.epoch == 0 and loaded.seed is None
    assert loaded.dtype == np.float64
    _assert_same_weights(loaded, model)


def test_instance_load_returns_a_new_model(saved):
    model, path = saved
    assert model.load(path) is not model


def test_save_writes_exactly_the_given_path_and_overwrites(saved):
    model, path = saved
    other = path.with_name("no_suffix")
    model.save(other)
    assert other.exists() and not other.with_name("no_suffix.npz").exists()
    model.save(other)  # overwriting an existing file is fine
    assert sorted(os.listdir(path.parent)) == ["model.npz", "no_suffix"]


def test_file_is_a_plain_archive_with_a_json_header(saved):
    _, path = saved
    with np.load(path, allow_pickle=False) as archive:
        files = set(archive.files)
        header = json.loads(archive["header"].tobytes().decode("utf-8"))
    assert files == {"header", "weights_0", "weights_1", "optimizer_0_m_sum",
                     "optimizer_0_v_sum"}
    assert header["format"] == "neuralnet.NeuralNet"
    assert header["format_version"] == nio.FORMAT_VERSION
    assert header["neuralnet_version"] == neuralnet.__version__
    assert header["epoch"] == 2
    assert header["config"]["layers"][1] == {"class_name": "Dropout", "rate": 0.25}
    assert header["arrays"]["weights_0"]["shape"] == [4, 8]


# --------------------------------------------------------------- get_config
def test_get_config_is_json_and_from_config_matches_the_constructor():
    model = NeuralNet(((2, 5), (5, 3)), activations=["leaky_relu", "softmax"],
                      loss="categorical_crossentropy", seed=7, dtype="float64", l2=0.01)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = NeuralNet.from_config(config)
    assert rebuilt.get_config() == model.get_config()
    assert rebuilt.layers[0].l2 == 0.01
    # Same seed: the same initial weights and the same shuffling generator as the constructor.
    _assert_same_weights(rebuilt, model)
    assert rebuilt.rng.bit_generator.state == model.rng.bit_generator.state


def test_from_config_keeps_huber_delta_and_activation_parameters():
    model = NeuralNet(((2, 3), (3, 1)), activations=[neuralnet.activations.LeakyReLU(0.2), "linear"],
                      loss=neuralnet.losses.Huber(delta=2.5), seed=0)
    rebuilt = NeuralNet.from_config(model.get_config())
    assert rebuilt.loss_fn.delta == 2.5
    assert rebuilt.layers[0].activation.alpha == 0.2


def test_from_config_errors():
    with pytest.raises(TypeError, match="config must be a dict .* received list"):
        NeuralNet.from_config([])
    with pytest.raises(ValueError, match=r"config lacks the key\(s\) \['loss', 'dtype'\]"):
        NeuralNet.from_config({"layers": []})
    with pytest.raises(ValueError, match="describes a 'Sequential', not a NeuralNet"):
        NeuralNet.from_config({"class_name": "Sequential", "layers": [], "loss": "mse",
                               "dtype": "float32"})
    with pytest.raises(ValueError, match=r"config\['layers'\] must be a list of layer configs"):
        NeuralNet.from_config({"layers": ["dense"], "loss": "mse", "dtype": "float32"})
    with pytest.raises(ValueError, match="Unknown layer class 'Conv2D'"):
        NeuralNet.from_config({"layers": [{"class_name": "Conv2D"}], "loss": "mse",
                               "dtype": "float32"})


# --------------------------------------------------------------- refusing files
def test_load_refuses_a_pickle_and_never_runs_it(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="evil.npz.*holds pickled Python objects"):
        neuralnet.load(path)
    assert not marker.exists()


def test_load_refuses_an_archive_holding_an_object_array(saved, tmp_path):
    _, path = saved
    evil = tmp_path / "evil.npz"

    def add_object_array(header, arrays):
        arrays["weights_0"] = np.array([{"a": 1}, None], dtype=object)

    _rewrite(path, evil, add_object_array)
    with pytest.raises(ValueError, match="holds pickled Python objects.*refused"):
        neuralnet.load(evil)
    np.savez(evil, anything=np.array([print], dtype=object))  # not even a model file
    with pytest.raises(ValueError, match="holds pickled Python objects"):
        neuralnet.load(evil)


def test_load_refuses_a_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 20):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="model.npz.*corrupted or truncated"):
            neuralnet.load(path)


def test_load_refuses_an_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz.*corrupted or truncated"):
        neuralnet.load(tmp_path / "empty.npz")


def test_load_refuses_corrupted_bytes(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    # Inside weights_0's data: the zip CRC no longer matches.
    start = data.index(b"weights_0.npy") + 200
    data[start : start + 8] = bytes(8)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.npz': the file is corrupted: a checksum does not "
                       "match \\(Bad CRC-32 for file 'weights_0.npy'\\)"):
        neuralnet.load(path)


def test_load_refuses_files_that_are_not_model_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="not a neuralnet model file \\(not a NumPy .npz archive\\)"):
        neuralnet.load(text)
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="a single .npy array, not a neuralnet model file"):
        neuralnet.load(npy)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2))
    with pytest.raises(ValueError, match="NumPy archive but not a neuralnet model file.*'a'"):
        neuralnet.load(other)
    with pytest.raises(ValueError, match="is a directory"):
        neuralnet.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.npz.*no such file"):
        neuralnet.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike; received int"):
        neuralnet.load(3)


def test_load_refuses_a_header_that_is_not_json(saved, tmp_path):
    _, path = saved
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["header"] = np.frombuffer(b"{not json", dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="header is not valid JSON"):
        neuralnet.load(tmp_path / "bad.npz")
    arrays["header"] = np.zeros(3)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="header is not valid JSON .*dtype float64"):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_a_newer_format_version(saved, tmp_path):
    _, path = saved

    def newer(header, arrays):
        header["format_version"] = nio.FORMAT_VERSION + 1
        header["neuralnet_version"] = "9.0.0"

    _rewrite(path, tmp_path / "new.npz", newer)
    with pytest.raises(
        ValueError,
        match=rf"format version {nio.FORMAT_VERSION + 1} \(by neuralnet 9.0.0\), newer than this "
        rf"neuralnet reads \(format version {nio.FORMAT_VERSION}\); upgrade neuralnet",
    ):
        neuralnet.load(tmp_path / "new.npz")


def test_a_format_1_file_resumes_adam_from_its_moments(saved, tmp_path):
    """Format 1 stored Adam's moments m and v; they are read as the sums the state now holds."""
    model, path = saved
    beta_1, beta_2 = model.optimizer.beta_1, model.optimizer.beta_2

    def as_format_1(header, arrays):
        header["format_version"] = 1
        header["optimizer"]["state"][0]["arrays"] = ["m", "v"]
        for old, new, beta in (("m_sum", "m", beta_1), ("v_sum", "v", beta_2)):
            arrays[f"optimizer_0_{new}"] = (arrays.pop(f"optimizer_0_{old}") * (1 - beta)).astype(
                np.float32)
            del header["arrays"][f"optimizer_0_{old}"]
            header["arrays"][f"optimizer_0_{new}"] = _describe(arrays[f"optimizer_0_{new}"])

    _rewrite(path, tmp_path / "v1.npz", as_format_1)
    old, new = neuralnet.load(tmp_path / "v1.npz"), neuralnet.load(path)
    old_state = old.optimizer.state[id(old._flat_weights)]
    new_state = new.optimizer.state[id(new._flat_weights)]
    assert old_state.keys() == new_state.keys() == {"shape", "step", "m_sum", "v_sum"}
    for key in ("m_sum", "v_sum"):
        assert old_state[key].dtype == np.float32
        np.testing.assert_allclose(old_state[key], new_state[key], rtol=1e-6, atol=1e-30)
    X, y = _data()
    old.fit(X, y, epochs=3, batch_size=16, verbose=0)
    new.fit(X, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "keras"}, "not a neuralnet model file \\(format 'keras'"),
        ({"format_version": "1"}, "format version '1' is not a positive integer"),
        ({"epoch": -1}, "training state is invalid \\(epoch must be a non-negative integer"),
        ({"rng_state": {"bit_generator": "MT19937"}}, "training state is invalid"),
        ({"metadata": [1]}, "metadata must be a JSON object"),
        ({"config": {"layers": []}}, "architecture is invalid"),
    ],
)
def test_load_refuses_bad_header_fields(saved, tmp_path, change, message):
    _, path = saved
    _rewrite(path, tmp_path / "bad.npz", lambda header, arrays: header.update(change))
    with pytest.raises(ValueError, match=message):
        neuralnet.load(tmp_path / "bad.npz")


def test_a_reshaped_weight_is_reported_against_the_architecture(saved, tmp_path):
    _, path = saved

    def reshape_only(header, arrays):  # the header's records and checksum left as they were
        arrays["weights_0"] = np.zeros((3, 8), dtype=np.float32)

    _rewrite(path, tmp_path / "bad.npz", reshape_only)
    with pytest.raises(ValueError, match=r"weights_0 has shape \(3, 8\), but layer 0 of the "
                       r"architecture .* needs \(4, 8\)"):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_a_weight_whose_shape_does_not_match_the_architecture(saved, tmp_path):
    _, path = saved

    def reshape(header, arrays):
        arrays["weights_1"] = np.zeros((5, 1), dtype=np.float32)
        header["arrays"]["weights_1"] = _describe(arrays["weights_1"])

    _rewrite(path, tmp_path / "bad.npz", reshape)
    with pytest.raises(
        ValueError,
        match=r"weights_1 has shape \(5, 1\), but layer 1 of the architecture .* needs \(9, 1\)",
    ):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_missing_or_extra_weights(saved, tmp_path):
    _, path = saved

    def drop(header, arrays):
        del arrays["weights_1"], header["arrays"]["weights_1"]

    _rewrite(path, tmp_path / "bad.npz", drop)
    with pytest.raises(ValueError, match=r"2 arrays \[.*\], but the file holds weight arrays "
                       r"\['weights_0'\]"):
        neuralnet.load(tmp_path / "bad.npz")

    def unlisted(header, arrays):
        arrays["extra"] = np.zeros(1)

    _rewrite(path, tmp_path / "bad.npz", unlisted)
    with pytest.raises(ValueError, match="the header lists arrays .* but the file holds"):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_a_weight_whose_checksum_fails(saved, tmp_path):
    _, path = saved

    def tamper(header, arrays):
        arrays["weights_0"] = arrays["weights_0"].copy()
        arrays["weights_0"][0, 0] += 1.0

    _rewrite(path, tmp_path / "bad.npz", tamper)
    with pytest.raises(ValueError, match="checksum of array 'weights_0' does not match"):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_an_optimizer_state_that_does_not_fit(saved, tmp_path):
    _, path = saved

    def shrink(header, arrays):
        arrays["optimizer_0_m_sum"] = arrays["optimizer_0_m_sum"][:3].copy()
        header["arrays"]["optimizer_0_m_sum"] = _describe(arrays["optimizer_0_m_sum"])

    _rewrite(path, tmp_path / "bad.npz", shrink)
    with pytest.raises(ValueError, match=r"optimizer state 'm_sum' has shape \(3,\)"):
        neuralnet.load(tmp_path / "bad.npz")


def test_load_refuses_a_recorded_shape_that_differs_from_the_array(saved, tmp_path):
    _, path = saved

    def lie(header, arrays):
        header["arrays"]["weights_0"]["shape"] = [2, 2]

    _rewrite(path, tmp_path / "bad.npz", lie)
    with pytest.raises(ValueError, match="array 'weights_0' has shape .* but the header records"):
        neuralnet.load(tmp_path / "bad.npz")


# ----------------------------------------------------------------------- saving
def test_a_failing_write_leaves_the_previous_file_intact(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    model.fit(*_data(), epochs=1, verbose=0)  # the model in memory now differs

    def savez_then_fail(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]  # no temporary file left behind
    assert neuralnet.load(path).epoch == 2


def test_a_failing_rename_leaves_no_temporary_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError("read-only target")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="read-only target"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_save_refuses_what_cannot_be_rebuilt(tmp_path):
    model = NeuralNet(((2, 1),), seed=0)

    class MyOptimizer(neuralnet.SGD):
        pass

    model.optimizer = MyOptimizer()
    with pytest.raises(ValueError, match="Cannot save the optimizer .*only the built-in optimizers"):
        model.save(tmp_path / "m.npz")
    model.optimizer = None
    model.metadata = {"scaler": object()}
    with pytest.raises(ValueError, match="metadata is not plain JSON data"):
        model.save(tmp_path / "m.npz")
    model.metadata = {}
    with pytest.raises(TypeError, match="path must be a str or os.PathLike; received NoneType"):
        model.save(None)
    assert os.listdir(tmp_path) == []


def test_every_damaged_byte_is_caught_or_harmless(saved, tmp_path):
    model, path = saved
    data = path.read_bytes()
    damaged = tmp_path / "damaged.npz"
    outcomes = {"refused": 0, "loaded": 0}
    for i in range(0, len(data), 3):
        blob = bytearray(data)
        blob[i] ^= 0xFF
        damaged.write_bytes(bytes(blob))
        try:
            loaded = neuralnet.load(damaged)
        except ValueError as exc:
            assert "Cannot load" in str(exc)
            outcomes["refused"] += 1
        else:  # a byte the zip format ignores (a timestamp, say): nothing of the model changed
            _assert_same_weights(loaded, model)
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 0.8 * sum(outcomes.values())


def test_a_file_cut_anywhere_is_refused_and_closed(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for size in range(0, len(data), 11):
            cut.write_bytes(data[:size])
            with pytest.raises(ValueError, match="cut.npz"):
                neuralnet.load(cut)
        gc.collect()  # a handle left open warns when it is collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
