"""Parquet datasets streamed a row group at a time, and ``neuralnet train --data DIR``."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuralnet import NeuralNet, io
from neuralnet.cli import main
from neuralnet.streaming import NumericStandardizer, ParquetDataset, is_dataset_path


def _write(directory, files=3, rows=120, row_group=40, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(exist_ok=True)
    columns = []
    for f in range(files):
        X = rng.normal(size=(rows, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
        label = ((X[:, 0] + (X[:, 1] - 5) / 10 + (X[:, 2] + 2) * 10) > 0).astype(np.int64)
        table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": label})
        pq.write_table(table, directory / f"part-{f}.parquet", row_group_size=row_group)
        columns.append(np.c_[X, label])
    return np.vstack(columns)


def test_first_pass_statistics_and_streamed_training_equal_the_table(tmp_path):
    whole = _write(tmp_path / "d")
    data = ParquetDataset(tmp_path / "d", "label")
    assert data.sizes == [40] * 9 and data.feature_columns == ["a", "b", "c"]
    np.testing.assert_allclose(data.preprocessor.mean, whole[:, :3].mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(data.preprocessor.scale, whole[:, :3].std(axis=0), rtol=1e-12)
    summary = data.target_summary
    assert (summary.n, summary.low, summary.high, summary.whole) == (360, 0.0, 1.0, True)
    X = data.preprocessor.transform(pa.table({k: whole[:, j] for j, k in enumerate("abc")}))
    kwargs = dict(epochs=3, batch_size=32, verbose=0, shuffle=False, learning_rate=0.5)
    reference = NeuralNet(((3, 8), (8, 1)), activations=["tanh", "sigmoid"], dtype="float64", seed=0)
    reference.fit(X, whole[:, 3], **kwargs)
    model = NeuralNet(((3, 8), (8, 1)), activations=["tanh", "sigmoid"], dtype="float64", seed=0)
    model.fit(data.reader().chunked(), **kwargs)
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    batches = list(data.batches(100))
    assert [len(b[0]) for b in batches] == [40] * 9  # a batch never spans row groups here
    np.testing.assert_array_equal(np.vstack([b[0] for b in batches]), X)


def test_sample_statistics_and_a_custom_preprocessor(tmp_path):
    _write(tmp_path / "d")
    seen = {}

    def fit(table, columns):
        seen["rows"], seen["columns"] = table.num_rows, columns
        return NumericStandardizer(columns[:2]).fit(table)

    data = ParquetDataset(str(tmp_path / "d" / "*.parquet"), "label", fit_preprocessor=fit,
                          statistics="sample", sample_rows=90, seed=1)
    assert 50 < seen["rows"] < 130 and seen["columns"] == ["a", "b", "c"]
    assert data.n_features == 2
    with pytest.raises(ValueError, match=r"Received an invalid value for `statistics`, expected one "
                                         r"of \('first_pass', 'sample'\). Received: statistics='all'"):
        ParquetDataset(tmp_path / "d", "label", statistics="all")


def test_bad_datasets_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No Parquet files \(\*.parquet\) match the directory"):
        (tmp_path / "empty").mkdir()
        ParquetDataset(tmp_path / "empty", "y")
    pq.write_table(pa.table({"a": ["x", "y"], "y": [0, 1]}), tmp_path / "s.parquet")
    with pytest.raises(ValueError, match=r"Column 'a' has type string; NumericStandardizer takes "
                                         "numeric columns only"):
        ParquetDataset(tmp_path / "s.parquet", "y")
    pq.write_table(pa.table({"a": [1.0, None], "y": [0, 1]}), tmp_path / "n.parquet")
    with pytest.raises(ValueError, match=r"Column 'a' has 1 missing value\(s\)"):
        ParquetDataset(tmp_path / "n.parquet", "y")
    assert is_dataset_path(tmp_path) and is_dataset_path("x/*.parquet")
    assert not is_dataset_path("data.csv")


def test_cli_trains_on_a_parquet_directory_and_the_model_predicts_csv(tmp_path, capsys):
    whole = _write(tmp_path / "d")
    model_path = tmp_path / "m.npz"
    code = main(["train", "--data", str(tmp_path / "d"), "--target", "label", "--epochs", "30",
                 "--quiet", "--save", str(model_path), "--validation-split", "0.2",
                 "--learning-rate", "0.3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(3 file(s), 9 row group(s))' (240 train / 80 test samples)" in out
    accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert accuracy > 85
    model = io.load(model_path)
    assert model.metadata["feature_names"] == ["a", "b", "c"]
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, whole[:20], delimiter=",", header="a,b,c,label", comments="", fmt="%.17g")
    assert main(["evaluate", str(model_path), "--input", str(csv), "--target", "label"]) == 0
    assert "accuracy" in capsys.readouterr().out
    json.dumps(model.metadata)  # plain JSON


def test_cli_parquet_errors_are_one_line(tmp_path, capsys):
    _write(tmp_path / "d", files=1, rows=40, row_group=40)
    assert main(["train", "--data", str(tmp_path / "d"), "--target", "label", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralnet train: error: ") and "has one row group" in err
    assert err.count("\n") == 1
    assert main(["train", "--data", str(tmp_path / "none*.parquet"), "--target", "y"]) == 1
    assert "No Parquet files" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "d"), "--target", "label", "--plot", "x"]) == 1
    assert "--plot draws from the data in memory" in capsys.readouterr().err
