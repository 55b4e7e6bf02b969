"""Reliability: edge-case arguments, hostile model files, saving over links, the CLI's last line.

Each test is one row of the README's safety table: what was tried, and what happens.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuralnet
from neuralnet import Dropout, FullyConnectedLayer, NeuralNet, cli
from neuralnet._validation import InvalidTypeError


def _binary_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > 0).astype(np.int64)


# ------------------------------------------------------------------ class_weight
@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ({0: -5, 1: 0}, r"Received an invalid value for `class_weight`, expected finite "
         r"non-negative weights. Received: class_weight=\{0: -5\}"),
        ({0: float("nan"), 1: 1}, r"`class_weight`, .* Received: class_weight=\{0: nan\}"),
        ({0: 1, 1: float("inf")}, r"`class_weight`, .* Received: class_weight=\{1: inf\}"),
        ({0: 1, 1: "2"}, r"`class_weight`, .* Received: class_weight=\{1: '2'\}"),
        ({0: 1, 1: True}, r"`class_weight`, .* Received: class_weight=\{1: True\}"),
        ({0: 1, 7: 1}, r"class_weight names the class 7, which is not in y; the classes in y "
         r"are \[0, 1\]"),
        ({0: 1, "a": 1}, r"class_weight names the class 'a', which is not in y"),
        ({0: 0, 1: 0}, r"class_weight leaves every sample with weight 0; expected at least one "
         r"positive weight"),
    ],
)
def test_class_weight_is_refused_naming_class_weight(class_weight, message):
    X, y = _binary_data()
    model = NeuralNet(((2, 1),), seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, verbose=0, class_weight=class_weight)
    np.testing.assert_array_equal(model.get_weights()[0], before[0])


def test_class_weight_for_one_hot_classes_checks_the_classes_present():
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0, 1] * 6)  # class 2 of the three outputs never occurs
    model = NeuralNet(((2, 3),), activations="softmax", loss="categorical_crossentropy", seed=0)
    model.fit(X, y, epochs=1, verbose=0, class_weight={0: 1.0, 1: np.float32(2.0)})
    with pytest.raises(ValueError, match=r"class_weight names the class 2, which is not in y"):
        model.fit(X, y, epochs=1, verbose=0, class_weight={2: 1.0})


# ------------------------------------------------------------------- batch_size
def test_a_batch_larger_than_the_data_is_the_full_batch_and_allocates_nothing_more():
    X, y = _binary_data(n=20)
    X = np.hstack([X, np.zeros((20, 62))])  # 64 features, as digits
    huge, whole = (NeuralNet(((64, 64), (64, 1)), activations=["relu", "sigmoid"], seed=0)
                   for _ in range(2))
    tracemalloc.start()
    try:
        history = huge.fit(X, y, epochs=2, batch_size=10**9, verbose=0)
        huge.fit(X, y, epochs=1, batch_size=10**9, verbose=0, sample_weight=np.ones(20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # 10**9 rows of 64 float32 features would be 256 GB
    assert len(history.history["loss"]) == 2
    whole.fit(X, y, epochs=2, batch_size=20, verbose=0)
    whole.fit(X, y, epochs=1, batch_size=20, verbose=0, sample_weight=np.ones(20))
    for a, b in zip(huge.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_with_a_huge_batch_size_allocates_only_the_data():
    X, _ = _binary_data(n=40)
    model = NeuralNet(((2, 8), (8, 1)), seed=0)
    tracemalloc.start()
    try:
        out = model.predict(X, batch_size=10**12)
        logs = model.evaluate(X, (X[:, 0] > 0).astype(int), batch_size=10**12)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    np.testing.assert_array_equal(out, model.predict(X))
    assert 0 <= logs["accuracy"] <= 1


# ------------------------------------------------------------ constructor arguments
CONSTRUCTOR_ERRORS = [
    (lambda: NeuralNet(((2, 1),), seed=-1), ValueError,
     r"Received an invalid value for `seed`, expected None or a non-negative integer. "
     r"Received: seed=-1"),
    (lambda: NeuralNet(((2, 1),), seed=1.5), ValueError, r"`seed`, .* Received: seed=1.5"),
    (lambda: NeuralNet(((2, 1),), seed="0"), ValueError, r"`seed`.*Received: seed='0'"),
    (lambda: NeuralNet(((2, 1),), seed=True), ValueError, r"`seed`.*Received: seed=True"),
    (lambda: NeuralNet(((2, 1),), l2=float("inf")), ValueError,
     r"Received an invalid value for `l2`, expected a non-negative number. Received: l2=inf"),
    (lambda: NeuralNet(((2, 1),), l2=float("nan")), ValueError, r"`l2`.*Received: l2=nan"),
    (lambda: NeuralNet(((2, 1),), l2=-0.1), ValueError, r"`l2`.*Received: l2=-0.1"),
    (lambda: NeuralNet(((2, 1),), l2="0.1"), ValueError,
     r"invalid value for `l2`, expected a non-negative number. Received: l2='0.1'"),
    (lambda: NeuralNet([FullyConnectedLayer(2, 1)], l2=0.1), ValueError,
     r"`l2`: it applies to layers built from \(n_in, n_out\) pairs; give each "
     r"FullyConnectedLayer its own l2"),
    (lambda: NeuralNet([FullyConnectedLayer(2, 1)], l1=0.1), ValueError,
     r"`l1`: it applies to layers built from .* its own l1"),
    (lambda: NeuralNet(((2, 1),), l1=float("inf")), ValueError, r"`l1`.*Received: l1=inf"),
    (lambda: NeuralNet(((2, 1),), activations=3), TypeError,
     r"invalid type for `activations`, expected an activation name or one per layer. "
     r"Received: activations=3 of type int"),
    (lambda: NeuralNet(((2, 1),), initializer=3), InvalidTypeError,
     r"invalid type for `initializer`, expected a name \(he_normal.*Received: initializer=3"),
    (lambda: NeuralNet(((2, 1),), initializer="orthogonal"), ValueError,
     r"Unknown initialisation method 'orthogonal'.*Received: initializer='orthogonal'"),
    (lambda: NeuralNet(((2, 1),), initializer=lambda shape, rng: np.zeros(3)), ValueError,
     r"`initializer`: .* returned an array of shape \(3,\), expected finite values of shape "
     r"\(n_in, n_out\) = \(2, 1\)"),
    (lambda: FullyConnectedLayer(2, 1, l2=float("inf")), ValueError, r"`l2`.*Received: l2=inf"),
    (lambda: FullyConnectedLayer(2, 1, rng=-1), ValueError,
     r"invalid value for `rng`, .* Received: rng=-1"),
    (lambda: FullyConnectedLayer(2, 1, rng="x"), InvalidTypeError, r"`rng`.*Received: rng='x'"),
    (lambda: Dropout(0.5, rng=-3), ValueError, r"`rng`.*Received: rng=-3"),
    (lambda: Dropout(float("nan")), ValueError,
     r"invalid value for `rate`, expected a number in \[0, 1\). Received: rate=nan"),
    (lambda: neuralnet.losses.Huber(delta=float("inf")), ValueError,
     r"`delta`, expected a finite positive number. Received: delta=inf"),
]


@pytest.mark.parametrize(("build", "error", "message"), CONSTRUCTOR_ERRORS,
                         ids=[m[:40] for _, _, m in CONSTRUCTOR_ERRORS])
def test_constructor_arguments_are_checked_and_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_numpy_scalars_generators_and_zero_are_accepted():
    rng = np.random.default_rng(3)
    model = NeuralNet(((2, 2), (2, 1)), seed=np.int64(4), l2=np.float32(0.5))
    assert model.seed == 4 and model.layers[0].l2 == 0.5
    assert Dropout(np.float64(0.25), rng=rng).rng is rng
    assert FullyConnectedLayer(2, 1, l2=0, rng=np.int32(0)).l2 == 0.0


# ------------------------------------------------------------------ hostile files
def _trained(tmp_path, name="model.npz", optimizer="adam"):
    X, y = _binary_data(n=40)
    model = NeuralNet([FullyConnectedLayer(2, 4, "relu", rng=1), Dropout(0.25),
                       FullyConnectedLayer(4, 1, "sigmoid", rng=2)], seed=3)
    model.fit(X, y, epochs=2, batch_size=16, optimizer=optimizer, verbose=0)
    model.metadata = {"feature_names": ["a", "b"]}
    path = tmp_path / name
    model.save(path)
    return model, path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _header_of(members: dict[str, bytes]) -> dict:
    raw = np.lib.format.read_array(io.BytesIO(members["header.npy"]), allow_pickle=False)
    return json.loads(raw.tobytes())


def _header_npy(header) -> bytes:
    text = header if isinstance(header, str) else json.dumps(header)
    return _npy(np.frombuffer(text.encode("utf-8"), dtype=np.uint8))


def _write_archive(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _edit_header(path, dst, edit) -> None:
    """Rewrite ``path`` to ``dst`` with ``edit(header)`` applied; no checksum is fixed."""
    members = _members(path)
    header = _header_of(members)
    edit(header)
    members["header.npy"] = _header_npy(header)
    _write_archive(dst, members)


def _peak_bytes_of(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _load_refused(path, match) -> int:
    """Load ``path``, expect a ValueError matching ``match``; return the peak memory used."""
    def call():
        with pytest.raises(ValueError, match=match):
            neuralnet.load(path)
    return _peak_bytes_of(call)


BOMB = 64 * 2**20  # 64 MiB of zeros: 64 kB deflated


@pytest.fixture(scope="module")
def bomb():
    """A raw deflate stream of BOMB zero bytes, and their CRC-32."""
    zeros = bytes(BOMB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(zeros) + compressor.flush(), zlib.crc32(zeros)


def bomb_at(bomb, size):
    return bomb[0], size, bomb[1]


def _append_raw_deflated(path, name: str, deflated: bytes, declared_size: int, crc: int) -> None:
    """Append a member whose zip records claim ``declared_size`` bytes, whatever it inflates to."""
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=False) as member:
            member.write(b"")  # an empty member, rewritten below
    data = bytearray(path.read_bytes())
    # Rewrite the empty member in place: local header sizes, then the data, then the directory.
    local = data.rindex(b"PK\x03\x04")
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    start = local + 30 + name_len + extra_len
    central = data.index(b"PK\x01\x02", start)
    empty_len = central - start
    head = data[:start]
    struct.pack_into("<III", head, local + 14, crc, len(deflated), declared_size)
    tail = data[central:]
    record = tail.rindex(b"PK\x01\x02")
    struct.pack_into("<III", tail, record + 16, crc, len(deflated), declared_size)
    end = tail.rindex(b"PK\x05\x06")
    offset = struct.unpack("<I", tail[end + 16 : end + 20])[0]
    struct.pack_into("<I", tail, end + 16, offset + len(deflated) - empty_len)
    path.write_bytes(bytes(head) + deflated + bytes(tail))


def test_an_unlisted_zip_bomb_is_refused_without_being_decompressed(tmp_path, bomb):
    _, path = _trained(tmp_path)
    _append_raw_deflated(path, "bomb.npy", *bomb_at(bomb, BOMB))
    assert path.stat().st_size < 100_000
    peak = _load_refused(path, r"the header lists arrays .* but the file holds \[.*'bomb'.*\]; "
                               r"the arrays it does not list were not read")
    assert peak < 8 * 2**20


def test_a_listed_member_inflating_past_its_declared_size_is_refused_unread(tmp_path, bomb):
    _, path = _trained(tmp_path)
    members = _members(path)
    header = _header_of(members)
    del members["weights_1.npy"]
    _write_archive(path, members)
    # weights_1 is declared (5, 1) float32, 20 bytes; its zip record says 64 MiB.
    _append_raw_deflated(path, "weights_1.npy", *bomb_at(bomb, BOMB))
    assert header["arrays"]["weights_1"]["shape"] == [5, 1]
    peak = _load_refused(path, r"array 'weights_1' would inflate to 67,108,864 bytes, more "
                               r"than the 10,032 its header entry allows; refused without "
                               r"decompressing it")
    assert peak < 8 * 2**20


def test_a_member_whose_zip_record_lies_about_its_size_is_cut_at_that_size(tmp_path, bomb):
    _, path = _trained(tmp_path)
    members = _members(path)
    true_member = members.pop("weights_1.npy")
    _write_archive(path, members)
    # The records give the true member's size and CRC; the stream inflates to 64 MiB.
    _append_raw_deflated(path, "weights_1.npy", bomb[0], len(true_member),
                         zlib.crc32(true_member))
    peak = _load_refused(path, r"the file is corrupted: a checksum does not match \(Bad CRC-32 "
                               r"for file 'weights_1.npy'\)")
    assert peak < 8 * 2**20


def test_a_header_past_the_size_limit_is_refused_unread(tmp_path, bomb):
    _, path = _trained(tmp_path)
    members = _members(path)
    del members["header.npy"]
    _write_archive(path, members)
    _append_raw_deflated(path, "header.npy", *bomb_at(bomb, BOMB))
    peak = _load_refused(path, r"its header is 67,108,864 bytes, more than the 16,777,216 a "
                               r"model file may hold; refused without reading it")
    assert peak < 8 * 2**20


@pytest.mark.parametrize("depth", [65, 100_000])
def test_a_deeply_nested_header_is_a_value_error(tmp_path, depth):
    _, path = _trained(tmp_path)
    members = _members(path)
    header = json.dumps(_header_of(members))
    members["header.npy"] = _header_npy(header[:-1] + ', "deep": ' + "[" * depth + "]" * depth
                                        + "}")
    _write_archive(path, members)
    _load_refused(path, "its header nests more than 64 levels deep; neuralnet never writes "
                        "such a header, so it is refused unparsed")


def test_brackets_inside_header_strings_do_not_count_as_nesting(tmp_path):
    model, path = _trained(tmp_path)
    model.metadata = {"note": "[" * 1000 + '\\"{' * 500, "deep": [[[[[[[[1]]]]]]]]}
    model.save(path)
    assert neuralnet.load(path).metadata == model.metadata


def test_save_refuses_metadata_a_reader_would_refuse(tmp_path):
    model, _ = _trained(tmp_path)
    deep = []
    for _ in range(70):
        deep = [deep]
    model.metadata = {"deep": deep}
    with pytest.raises(ValueError, match=r"Cannot save the model: its metadata nests too deeply "
                       r"for a model file \(at most 62 levels\)"):
        model.save(tmp_path / "deep.npz")
    for _ in range(100_000):
        deep = [deep]
    model.metadata = {"deep": deep}
    with pytest.raises(ValueError, match="metadata nests too deeply"):
        model.save(tmp_path / "deep.npz")
    model.metadata = {"blob": "x" * (neuralnet.io.MAX_HEADER_BYTES + 1)}
    with pytest.raises(ValueError, match=r"its header would be 16,77\d,\d{3} bytes, more than "
                       r"the 16,777,216 a model file may hold; keep model.metadata small"):
        model.save(tmp_path / "big.npz")
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_nan_in_the_header_is_refused(tmp_path):
    _, path = _trained(tmp_path)
    members = _members(path)
    members["header.npy"] = _header_npy(json.dumps(_header_of(members))[:-1] + ', "x": NaN}')
    _write_archive(path, members)
    _load_refused(path, r"its header is not valid JSON \(NaN is not a JSON number\)")


def test_duplicate_members_and_foreign_compression_are_refused(tmp_path):
    _, path = _trained(tmp_path)
    members = _members(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(tmp_path / "dup.npz", "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.writestr("weights_0.npy", members["weights_1.npy"])
    _load_refused(tmp_path / "dup.npz", "it holds two members named 'weights_0.npy'")
    _write_archive(tmp_path / "bz.npz", members, zipfile.ZIP_BZIP2)
    _load_refused(tmp_path / "bz.npz", r"array 'header' uses zip compression method 12; "
                                       r"neuralnet reads only stored and deflated members")
    _write_archive(tmp_path / "deflated.npz", members, zipfile.ZIP_DEFLATED)
    assert neuralnet.load(tmp_path / "deflated.npz").epoch == 2  # np.savez_compressed's kind


def test_an_unused_listed_array_is_refused(tmp_path):
    _, path = _trained(tmp_path)
    members = _members(path)
    header = _header_of(members)
    extra = np.zeros(3, dtype=np.float32)
    members["extra.npy"] = _npy(extra)
    header["arrays"]["extra"] = {"shape": [3], "dtype": "<f4", "sha256": hashlib.sha256(
        extra.tobytes()).hexdigest()}
    members["header.npy"] = _header_npy(header)
    _write_archive(path, members)
    _load_refused(path, r"it holds arrays \['extra'\] that no part of the model uses")


def test_a_header_record_that_is_malformed_is_refused(tmp_path):
    _, path = _trained(tmp_path)
    for record in ({"shape": [-1], "dtype": "<f4", "sha256": ""},
                   {"shape": [5, 1], "dtype": "|O", "sha256": ""},
                   {"shape": [5, 1], "dtype": "(1000,1000)<f4", "sha256": ""},
                   {"shape": [5, True], "dtype": "<f4", "sha256": ""}, [5, 1]):
        _edit_header(path, tmp_path / "bad.npz",
                     lambda header, r=record: header["arrays"].update(weights_1=r))
        _load_refused(tmp_path / "bad.npz", r"the header's record of array 'weights_1' is "
                                           r"malformed .*; the file is corrupted")


def test_a_huge_architecture_in_a_small_file_is_refused_before_it_is_built(tmp_path):
    _, path = _trained(tmp_path)

    def huge(header):  # 10**6 inputs: 4 million weights, 16 MB, in a 2 kB file
        header["config"]["layers"][0].update(n_in=10**6)

    _edit_header(path, tmp_path / "huge.npz", huge)
    peak = _load_refused(tmp_path / "huge.npz", r"its architecture has 4,000,009 weights, but "
                                                r"the file's weight arrays hold 17")
    assert peak < 8 * 2**20

    def learnt(header):  # the second layer learns its input size from the first's 10**6 units
        header["config"]["layers"][0].update(n_out=10**6)
        header["config"]["layers"][2].update(n_in=None)

    _edit_header(path, tmp_path / "learnt.npz", learnt)
    peak = _load_refused(tmp_path / "learnt.npz", r"its architecture has 4,000,001 weights")
    assert peak < 8 * 2**20


def _state(header):
    return header["optimizer"]["state"][0]


OPTIMIZER_EDITS = [
    (lambda h: _state(h)["scalars"].update(m_sum=5),
     r"optimizer state entry 'm_sum' of parameter 0 is given twice"),
    (lambda h: (_state(h)["scalars"].update(m_sum=5), _state(h)["arrays"].remove("m_sum")),
     r"optimizer state entry 'm_sum' of parameter 0 must be an array of shape \(17,\) and dtype "
     r"float32; the file holds 5 of type int"),
    (lambda h: _state(h)["scalars"].update(m_sum=[0.0] * 17) or _state(h)["arrays"].remove(
        "m_sum"), r"entry 'm_sum' of parameter 0 must be an array .* holds \[0.0, .* of type list"),
    (lambda h: _state(h)["scalars"].update(momentum=0.5),
     r"optimizer state entry 'momentum' of parameter 0 is not one adam keeps \(it keeps step, "
     r"m_sum, v_sum\)"),
    (lambda h: _state(h)["arrays"].append("extra"),
     r"optimizer state entry 'extra' names the array 'optimizer_0_extra', which the file does "
     r"not hold"),
    (lambda h: _state(h)["scalars"].pop("step"),
     r"optimizer state of parameter 0 lacks the entry 'step' that adam keeps"),
    (lambda h: _state(h)["scalars"].update(step=2.5),
     r"optimizer state entry 'step' of parameter 0 must be a non-negative integer no larger "
     r"than 6, not 2.5"),
    (lambda h: _state(h)["scalars"].update(step=7), r"entry 'step' .* no larger than 6, not 7"),
    (lambda h: _state(h)["scalars"].update(step=True), r"entry 'step' .* not True"),
    (lambda h: h["optimizer"].update(iterations="6"),
     r"optimizer iterations must be a non-negative integer, not '6'"),
    (lambda h: h["optimizer"]["state"].append(None), r"optimizer state for 2 parameters"),
    (lambda h: h["optimizer"]["state"].__setitem__(0, {"m_sum": 5}),
     r"optimizer state of parameter 0 must be \{'scalars'"),
    (lambda h: h["optimizer"].update(moments=[]), r"optimizer must be \{'config'"),
    (lambda h: h["optimizer"]["config"].update(beta_1=2),
     r"training state is invalid \(Received an invalid value for `beta_1`"),
    (lambda h: h["rng_state"]["state"].update(state=1.5),
     r"rng_state must be a PCG64 state with the keys and types of"),
    (lambda h: h["rng_state"]["state"].update(state=2**200),
     r"rng_state (is not a valid generator state|holds values out of the generator's range)"),
    (lambda h: h["rng_state"].update(has_uint32=2**70), r"rng_state"),
    (lambda h: h.update(batch=-1), r"batch must be a non-negative integer, not -1"),
    (lambda h: h.update(epoch_rng_state={"bit_generator": "MT19937"}),
     r"epoch_rng_state must be a PCG64 state with the keys and types of"),
]


@pytest.mark.parametrize(("edit", "message"), OPTIMIZER_EDITS,
                         ids=[m[:40] for _, m in OPTIMIZER_EDITS])
def test_hand_edited_training_state_is_refused_naming_the_entry(tmp_path, edit, message):
    _, path = _trained(tmp_path)
    _edit_header(path, tmp_path / "edited.npz", edit)
    _load_refused(tmp_path / "edited.npz", message)


def test_an_optimizer_state_array_is_checked_against_its_parameter(tmp_path):
    _, path = _trained(tmp_path)
    for value, message in [
        (np.zeros(17, np.float64), r"optimizer state 'v_sum' has shape \(17,\) and dtype "
                                   r"float64; expected \(17,\) and float32"),
        (np.full(17, np.nan, np.float32), r"optimizer state entry 'v_sum' of parameter 0 holds "
                                          r"NaN or infinite values"),
    ]:
        members = _members(path)
        header = _header_of(members)
        members["optimizer_0_v_sum.npy"] = _npy(value)
        header["arrays"]["optimizer_0_v_sum"] = {"shape": [17], "dtype": value.dtype.str,
                                                 "sha256": hashlib.sha256(value.tobytes())
                                                 .hexdigest()}
        members["header.npy"] = _header_npy(header)
        _write_archive(tmp_path / "edited.npz", members)
        _load_refused(tmp_path / "edited.npz", message)


def test_a_valid_looking_header_edit_is_caught_by_the_header_checksum(tmp_path):
    _, path = _trained(tmp_path)
    _edit_header(path, tmp_path / "l2.npz",
                 lambda h: h["config"]["layers"][0].update(l2=0.5))
    _load_refused(tmp_path / "l2.npz", r"the checksum of its header does not match \(SHA-256 "
                                       r"[0-9a-f]{12}\.\.\., recorded [0-9a-f]{12}\.\.\.\): the "
                                       r"header was edited or damaged")


def test_a_format_2_file_without_a_header_checksum_still_loads(tmp_path):
    model, path = _trained(tmp_path)

    def as_format_2(header):
        header["format_version"] = 2
        del header["header_sha256"]

    _edit_header(path, tmp_path / "v2.npz", as_format_2)
    loaded = neuralnet.load(tmp_path / "v2.npz")
    assert loaded.get_config() == model.get_config() and loaded.epoch == model.epoch
    np.testing.assert_array_equal(loaded.flat_weights, model.flat_weights)


# ---------------------------------------------------- property: damage never goes unseen
_ORIGINAL: dict = {}


def _original():
    """One saved model (built once): its file's bytes and members, and the model itself."""
    if not _ORIGINAL:
        directory = Path(tempfile.mkdtemp(prefix="neuralnet-property-"))
        model, path = _trained(directory)
        _ORIGINAL.update(model=model, data=path.read_bytes(), members=_members(path),
                         directory=directory)
    return _ORIGINAL


def _same_model(a: NeuralNet, b: NeuralNet) -> bool:
    state_a = a.optimizer.state[id(a.flat_weights)]
    state_b = b.optimizer.state[id(b.flat_weights)]
    return (
        a.get_config() == b.get_config()
        and np.array_equal(a.flat_weights, b.flat_weights)
        and a.flat_weights.dtype == b.flat_weights.dtype
        and a.epoch == b.epoch and a.batch == b.batch
        and a.epoch_rng_state == b.epoch_rng_state
        and a.metadata == b.metadata
        and a.rng.bit_generator.state == b.rng.bit_generator.state
        and a.optimizer.get_config() == b.optimizer.get_config()
        and a.optimizer.iterations == b.optimizer.iterations
        and state_a.keys() == state_b.keys()
        and all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=4,
)


def _paths(node, prefix=()):
    """Every path into a JSON tree: to each container and each leaf."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    original = _original()
    data, members = original["data"], original["members"]
    kind = draw(st.sampled_from(["flip", "truncate", "swap", "rename", "header", "resealed"]))
    if kind == "flip":
        blob = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            blob[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return kind, bytes(blob)
    if kind == "truncate":
        return kind, data[: draw(st.integers(0, len(data) - 1))]
    names = list(members)
    a, b = draw(st.permutations(names))[:2]
    edited = dict(members)
    if kind == "swap":  # two members' contents exchanged under their names
        edited[a], edited[b] = members[b], members[a]
    else:  # two members renamed into each other, and the order shuffled
        edited = {(b if n == a else a if n == b else n): members[n]
                  for n in draw(st.permutations(names))}
    if kind in ("header", "resealed"):
        header = _header_of(members)
        path = draw(st.sampled_from(list(_paths(header))[1:]))
        parent = header
        for step in path[:-1]:
            parent = parent[step]
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=4))] = draw(JSON)
        elif operation == "add":
            parent.insert(path[-1], draw(JSON))
        else:
            parent[path[-1]] = draw(JSON)
        if kind == "resealed" and isinstance(header, dict):  # as a deliberate hand edit would
            header["header_sha256"] = neuralnet.io._header_digest(header)
        edited = {**members, "header.npy": _header_npy(header)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, member in edited.items():
            archive.writestr(name, member)
    return kind, buffer.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_files())
def test_a_damaged_file_loads_as_the_original_or_is_a_value_error(damage):
    """Byte flips, truncations, member swaps and header edits: the original, or a ValueError.

    A "resealed" header edit (its checksum recomputed, as a deliberate hand edit would) may
    load a different model, but it too is either a working model or a ValueError.
    """
    kind, blob = damage
    original = _original()
    path = original["directory"] / "damaged.npz"
    path.write_bytes(blob)
    try:
        loaded = neuralnet.load(path)
    except ValueError as exc:
        assert str(exc).startswith(f"Cannot load {str(path)!r}: "), exc
        return
    if kind == "resealed":  # a deliberate, consistent edit may load: then as a working model
        assert isinstance(loaded, NeuralNet) and loaded.predict(np.zeros((1, 2))).shape == (1, 1)
        return
    assert _same_model(loaded, original["model"]), f"{kind}: a different model loaded silently"


# ------------------------------------------------------------------------- saving
def _only(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_saving_to_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    model, path = _trained(tmp_path, "real.npz")
    link = tmp_path / "link.npz"
    link.symlink_to("real.npz")
    model.fit(*_binary_data(n=40), epochs=1, verbose=0)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == "real.npz"
    assert neuralnet.load(path).epoch == 3
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to("made-by-save.npz")
    model.save(dangling)
    assert dangling.is_symlink() and neuralnet.load(tmp_path / "made-by-save.npz").epoch == 3
    assert _only(tmp_path) == ["dangling.npz", "link.npz", "made-by-save.npz", "real.npz"]


def test_a_symlink_loop_is_refused(tmp_path):
    model, _ = _trained(tmp_path)
    (tmp_path / "a.npz").symlink_to("b.npz")
    (tmp_path / "b.npz").symlink_to("a.npz")
    with pytest.raises(OSError, match=r"Cannot save the model to '.*a.npz': the symbolic link "
                       r"does not resolve \(a loop\)"):
        model.save(tmp_path / "a.npz")


def test_an_existing_file_keeps_its_permission_bits(tmp_path):
    model, path = _trained(tmp_path)
    for mode in (0o600, 0o640, 0o755):
        os.chmod(path, mode)
        model.save(path)
        assert os.stat(path).st_mode & 0o7777 == mode


def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    model, path = _trained(tmp_path)
    before = path.read_bytes()
    # os.access, since the suite may run as root, for whom every file is writable.
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(PermissionError, match=r"Cannot save the model to '.*model.npz': the file "
                       r"exists and is read-only"):
        model.save(path)
    assert path.read_bytes() == before


def test_save_errors_name_the_path_given_never_the_temporary_file(tmp_path, monkeypatch):
    model, _ = _trained(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Cannot save the model to 'missing/m.npz': the "
                       r"folder '.*missing' does not exist"):
        model.save("missing/m.npz")
    with pytest.raises(IsADirectoryError, match=r"Cannot save the model to '.*': it is a "
                       r"directory; give a file name such as '.*model.npz'"):
        model.save(tmp_path)
    real_open = open

    def unwritable_folder(file, mode="r", *args, **kwargs):
        if "x" in mode:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(neuralnet.io, "open", unwritable_folder, raising=False)
    with pytest.raises(PermissionError) as caught:
        model.save(tmp_path / "ro" / "m.npz")
    message = str(caught.value)
    assert message.startswith(f"Cannot save the model to {str(tmp_path / 'ro' / 'm.npz')!r}: "
                              "permission denied (Permission denied); the folder")
    assert ".tmp" not in message and caught.value.errno == 13
    monkeypatch.undo()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match=r"Cannot save the model to '.*m.npz': No space left on "
                       r"device. Any previous file there is untouched."):
        model.save(tmp_path / "m.npz")
    assert _only(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("where", ["savez", "fsync", "replace"])
def test_an_interrupt_during_save_surfaces_as_such_and_leaves_no_temporary_file(
        tmp_path, monkeypatch, where):
    model, path = _trained(tmp_path)
    before = path.read_bytes()
    real_replace = os.replace

    def interrupt(*args, **kwargs):
        if where == "replace":  # the worst moment: just after the rename itself
            real_replace(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(*{"savez": (np, "savez"), "fsync": (os, "fsync"),
                          "replace": (os, "replace")}[where], interrupt)
    model.fit(*_binary_data(n=40), epochs=1, verbose=0)
    with pytest.raises(KeyboardInterrupt) as caught:
        model.save(path)
    assert caught.value.__context__ is None  # not a FileNotFoundError raised while cleaning up
    monkeypatch.undo()
    assert _only(tmp_path) == ["model.npz"]
    assert neuralnet.load(path).epoch == (3 if where == "replace" else 2)
    assert (path.read_bytes() == before) == (where != "replace")


def test_stale_temporary_files_of_dead_writers_are_removed_and_never_loaded(tmp_path):
    model, path = _trained(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = neuralnet.io._host_tag()
    stale = tmp_path / f".model.npz.{host}-{dead.pid}-0123abcd.tmp"
    live = tmp_path / f".model.npz.{host}-{os.getppid()}-0123abcd.tmp"
    other_host = tmp_path / f".model.npz.00000000-{dead.pid}-0123abcd.tmp"
    other_file = tmp_path / f".other.npz.{host}-{dead.pid}-0123abcd.tmp"
    for tmp in (stale, live, other_host, other_file):
        tmp.write_bytes(path.read_bytes()[:100])  # a write cut short by a kill
    with pytest.raises(ValueError, match="corrupted or truncated"):
        neuralnet.load(stale)
    model.save(path)
    assert not stale.exists()
    assert live.exists() and other_host.exists() and other_file.exists()


# ---------------------------------------------------------------------------- CLI
def _cli(capsys, *argv) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and stderr (which must be one line)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's errors
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return code, err


@pytest.fixture
def cli_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a > 0)}" for a, b in rng.normal(size=(30, 2)))
    (tmp_path / "data.csv").write_text("x0,x1,label\n" + rows + "\n")
    (tmp_path / "one.csv").write_text("x0,x1,label\n1,2,0\n")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "wide.csv").write_text('x0,x1,label\n"' + "a" * 200_000 + '",1,0\n')
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04" + bytes(100))
    assert cli.main(["train", "--data", "data.csv", "--target", "label", "--epochs", "2",
                     "--quiet", "--save", "model.npz"]) == 0
    # The same free memory on every machine, for the messages below.
    monkeypatch.setattr(cli, "_available_memory", lambda: 8 * 2**30)
    return tmp_path


CLI_ERRORS = [
    (["train", "--hidden", "1000000,1000000", "--quiet"], 1,
     r"neuralnet train: error: not enough memory: the 2-1000000-1000000-1 network has "
     r"1,000,005,000,001 weights: training it with sgd needs about 32.7 TiB of memory, more "
     r"than the 8.0 GiB available; use smaller --hidden layers."),
    (["search", "--hidden", "1000000,1000000", "--n-jobs", "1"], 1,
     r"not enough memory: the 2-1000000-1000000-1 network .* with adam needs about 94.6 TiB"),
    (["train", "--seed", "-1"], 2, r"argument --seed: expected a non-negative integer, "
                                   r"received '-1'"),
    (["search", "--seed", "-1"], 2, r"argument --seed: expected a non-negative integer"),
    (["search", "--cv", "1"], 2, r"argument --cv: expected an integer >= 2, received '1'"),
    (["search", "--n-jobs", "0"], 2, r"argument --n-jobs: expected a non-zero integer"),
    (["train", "--data", "missing.csv", "--target", "y"], 1,
     r"cannot read 'missing.csv': No such file or directory."),
    (["train", "--data", ".", "--target", "y"], 1,
     r"No Parquet files \(\*.parquet\) match the directory \.\."),  # a folder is a dataset
    (["train", "--data", "binary.csv", "--target", "y"], 1,
     r"binary.csv is not utf-8 text \(byte b'\\x80' at position 128\); save it as UTF-8 or "
     r"give its encoding."),
    # pandas reads any field length: a 200 kB field is a value like another, so the table of
    # one class is refused for what it is.
    (["train", "--data", "wide.csv", "--target", "label"], 1,
     r"target 'label' holds one class only \(0\); a classifier needs at least two."),
    (["train", "--data", "one.csv", "--target", "label"], 1,
     r"target 'label' holds one class only \(0\); a classifier needs at least two."),
    (["train", "--save", "nowhere/m.npz"], 1,
     r"--save 'nowhere/m.npz': the folder '.*nowhere' does not exist."),
    (["train", "--save", "."], 1, r"--save '.' is a directory; give a file name such as "
                                  r"'./model.npz'."),
    (["train", "--plot", "data.csv"], 1,
     r"--plot 'data.csv' is a file; give a folder to write the plots into."),
    (["predict", "model.npz", "--input", "data.csv", "--output", "nowhere/p.csv"], 1,
     r"cannot write --output 'nowhere/p.csv': the folder '.*nowhere' does not exist."),
    (["predict", "model.npz", "--input", "data.csv", "--output", "."], 1,
     r"cannot write --output '.': Is a directory."),
    (["predict", "missing.npz", "--input", "data.csv"], 1,
     r"Cannot load 'missing.npz': no such file."),
    (["predict", ".", "--input", "data.csv"], 1,
     r"Cannot load '.': it is a directory, not a model file."),
    (["evaluate", "broken.npz", "--input", "data.csv", "--target", "label"], 1,
     r"Cannot load 'broken.npz': the file is corrupted or truncated"),
    (["info", "data.csv"], 1, r"Cannot load 'data.csv': it is not a neuralnet model file"),
    (["predict", "model.npz", "--input", "missing.csv"], 1, r"cannot read 'missing.csv'"),
]


@pytest.mark.parametrize(("argv", "code", "message"), CLI_ERRORS,
                         ids=[" ".join(a)[:40] for a, _, _ in CLI_ERRORS])
def test_the_cli_answers_every_mistake_with_one_line(cli_files, capsys, argv, code, message):
    got, err = _cli(capsys, *argv)
    assert got == code
    assert re.search(message, err), err
    assert not os.path.exists("nowhere")


def test_a_memory_error_the_estimate_missed_is_one_line_too(cli_files, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_available_memory", lambda: None)  # e.g. no /proc/meminfo
    numpy_message = ("Unable to allocate 3.64 TiB for an array with shape (1000001, 1000000) "
                     "and data type float32")

    def out_of_memory(self, *args, **kwargs):  # not a real 3.6 TiB allocation: with memory
        raise MemoryError(numpy_message)       # overcommitted, that could succeed and then kill

    monkeypatch.setattr(NeuralNet, "__init__", out_of_memory)
    code, err = _cli(capsys, "train", "--hidden", "1000000,1000000", "--quiet")
    assert code == 1
    assert err == f"neuralnet train: error: not enough memory: {numpy_message}\n"


def test_the_memory_estimate_matches_what_training_takes():
    # The multipliers were measured; check the arithmetic and the units.
    assert cli._format_bytes(1023) == "1023 bytes" and cli._format_bytes(1536) == "1.5 KiB"
    assert cli._format_bytes(3 * 2**40) == "3.0 TiB"
    cli._check_memory((2, 16, 1), "adam")  # a small network always fits
    available = cli._available_memory()
    assert available is None or available > 0


def test_an_interrupted_cli_says_so_in_one_line(cli_files, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(NeuralNet, "fit", interrupt)
    code, err = _cli(capsys, "train", "--quiet")
    assert code == 130 and err == "neuralnet train: interrupted\n"


def test_metadata_the_cli_did_not_write_is_a_one_line_error(cli_files, capsys):
    model = neuralnet.load("model.npz")
    model.preprocessor = model.target_encoder = None  # a model saved from Python, by hand
    model.metadata = {"feature_names": ["x0", "x1"], "scaling": {"mean": [0.0]}}
    model.save("odd.npz")
    code, err = _cli(capsys, "predict", "odd.npz", "--input", "data.csv")
    assert code == 1 and re.search(r"the model's metadata 'scaling' does not fit its 2 feature "
                                   r"columns: .*; was it saved by `neuralnet train`\?", err), err
    model.metadata = {"feature_names": "x0"}
    model.save("odd.npz")
    code, err = _cli(capsys, "predict", "odd.npz", "--input", "data.csv")
    assert code == 1 and "the model's metadata 'feature_names' is not a list" in err
