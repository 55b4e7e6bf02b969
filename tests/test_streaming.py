"""Parquet datasets streamed a row group at a time, and ``neuralnet train --data DIR``."""

from __future__ import annotations

import contextlib
import io as _io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_diabetes

import neuralnet
from conftest import table_feeds
from neuralnet import NeuralNet, io
from neuralnet.cli import main
from neuralnet.streaming import (
    NumericStandardizer,
    ParquetDataset,
    fit_standardizer,
    is_dataset_path,
)
from neuralnet.tabular import TableNote, TablePreprocessor, TargetEncoder


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
    data = ParquetDataset(tmp_path / "d", "label", fit_preprocessor=fit_standardizer,
                          statistics="first_pass")
    assert data.sizes == [40] * 9 and data.feature_columns == ["a", "b", "c"]
    np.testing.assert_allclose(data.preprocessor.mean, whole[:, :3].mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(data.preprocessor.scale, whole[:, :3].std(axis=0), rtol=1e-12)
    assert data.target_encoder.classes_ == [0, 1] and data.n_sampled is None
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
    whole = _write(tmp_path / "d")
    seen = []

    def fit(table, columns):
        seen.append(table)
        assert columns == ["a", "b", "c"]
        return NumericStandardizer(columns[:2]).fit(table)

    data = ParquetDataset(str(tmp_path / "d" / "*.parquet"), "label", fit_preprocessor=fit,
                          sample_rows=90, seed=1)
    assert data.n_features == 2 and data.n_sampled == 90
    sample = seen[0].to_pandas().to_numpy()
    # 90 distinct rows of the data, drawn from all of it (each row group holds 40).
    rows = [int(np.flatnonzero((whole[:, :3] == row).all(axis=1))[0]) for row in sample]
    assert len(set(rows)) == 90 and min(rows) < 40 and max(rows) >= 320
    ParquetDataset(tmp_path / "d", "label", fit_preprocessor=fit, sample_rows=90, seed=1)
    ParquetDataset(tmp_path / "d", "label", fit_preprocessor=fit, sample_rows=90, seed=2)
    assert seen[1].equals(seen[0]) and not seen[2].equals(seen[0])


def test_the_default_sample_fits_the_table_preprocessor_reproducibly(tmp_path):
    whole = _write(tmp_path / "d")
    frame = pd.DataFrame(whole[:, :3], columns=list("abc"))
    # A sample as large as the data is the data: the statistics of fitting on the table.
    data = ParquetDataset(tmp_path / "d", "label")
    assert isinstance(data.preprocessor, TablePreprocessor) and data.n_sampled == 360
    assert data.preprocessor.get_config() == TablePreprocessor().fit(frame).get_config()
    configs = [ParquetDataset(tmp_path / "d", "label", sample_rows=50, seed=seed)
               .preprocessor.get_config() for seed in (3, 3, 4)]
    assert configs[0] == configs[1] and configs[0] != configs[2]
    mean = configs[0]["columns"][0]["mean"]
    assert mean != frame["a"].mean() and abs(mean - frame["a"].mean()) < 0.5
    # The chunks are the table's inputs, as the model's dtype asks.
    data = ParquetDataset(tmp_path / "d", "label", dtype=np.float32)
    X, y, _ = data.reader().read(0)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, data.preprocessor.transform(frame[:40], np.float32))
    np.testing.assert_array_equal(y, whole[:40, 3])


def test_a_class_of_one_row_group_outside_the_sample_is_a_class(tmp_path):
    (tmp_path / "d").mkdir()
    frame = load_penguins()[["bill_length_mm", "body_mass_g", "species"]].dropna()
    frame = frame.assign(note="plain").reset_index(drop=True)
    rare = pd.DataFrame({"bill_length_mm": [40.0, 41.0], "body_mass_g": [4000.0, 4100.0],
                         "species": ["Zebra", "Zebra"], "note": ["zebra row", "zebra row"]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   tmp_path / "d" / "a.parquet", row_group_size=50)
    pq.write_table(pa.Table.from_pandas(rare, preserve_index=False), tmp_path / "d" / "b.parquet")
    data = ParquetDataset(tmp_path / "d", "species", sample_rows=20, seed=0)
    note = next(c for c in data.preprocessor.get_config()["columns"] if c["name"] == "note")
    assert note["levels"] == ["plain"]  # the sample missed the rare rows ...
    assert data.target_encoder.classes_ == ["Adelie", "Chinstrap", "Gentoo", "Zebra"]  # ... not their class
    X, y, _ = data.reader().read(len(data.sizes) - 1)
    np.testing.assert_array_equal(y, [3, 3])


def test_a_seeded_split_holds_out_row_groups_drawn_at_random(tmp_path):
    # Penguins as published: sorted by species, so the last row groups are nearly all Chinstrap.
    frame = load_penguins().dropna(subset=["species"])
    (tmp_path / "d").mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "d" / "p.parquet",
                   row_group_size=40)
    data = ParquetDataset(tmp_path / "d", "species")
    n = len(data.sizes)
    rest, held = data.split(0.25)
    assert held.row_groups == [n - 2, n - 1] and rest.row_groups == list(range(n - 2))
    rest_a, held_a = data.split(0.25, seed=3)
    rest_b, held_b = data.split(0.25, seed=3)
    assert held_a.row_groups == held_b.row_groups and rest_a.row_groups == rest_b.row_groups
    assert len(held_a.row_groups) == 2 and held_a.row_groups != held.row_groups
    assert sorted(rest_a.row_groups + held_a.row_groups) == list(range(n))
    assert rest_a.row_groups == sorted(rest_a.row_groups)  # the files' order is kept
    assert data.split(0.25, seed=4)[1].row_groups != held_a.row_groups


def test_rows_without_a_target_are_dropped_with_one_note(tmp_path):
    _write(tmp_path / "d")
    table = pq.read_table(tmp_path / "d" / "part-1.parquet")
    label = table.column("label").to_pylist()
    label[:3] = [None] * 3
    label[50] = None
    pq.write_table(table.set_column(3, "label", pa.array(label, pa.int64())),
                   tmp_path / "d" / "part-1.parquet", row_group_size=40)
    with pytest.warns(TableNote) as notes:
        data = ParquetDataset(tmp_path / "d", "label")
    assert [str(n.message) for n in notes] == [
        "4 row(s) without a value for the target 'label' dropped (356 left)."]
    assert data.sizes == [40, 40, 40, 37, 39, 40, 40, 40, 40]
    assert [len(data.reader().read(i)[1]) for i in (3, 4)] == [37, 39]


def _penguins(root, missing_target=False):
    """Penguins in three files of 30-row row groups: text columns, gaps, text labels."""
    frame = load_penguins().sample(frac=1, random_state=0).reset_index(drop=True)
    if missing_target:
        frame.loc[[5, 200], "species"] = None
    root.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False),
                       root / f"part-{i}.parquet", row_group_size=30)
    return frame


def _run(argv) -> tuple[int, str, str]:
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_streams_penguins_and_the_model_answers_in_labels(tmp_path):
    frame = _penguins(tmp_path / "d", missing_target=True)
    model_path = tmp_path / "m.npz"
    code, out, err = _run(["train", "--data", str(tmp_path / "d"), "--target", "species",
                           "--epochs", "40", "--quiet", "--save", str(model_path), "--drop", "year",
                           "--batch-norm", "--dropout", "0.1", "--l2", "0.001"])
    assert code == 0, err
    assert err == ("neuralnet train: note: 2 row(s) without a value for the target 'species' "
                   "dropped (342 left).\n")
    assert "(3 file(s), 12 row group(s))' (287 train / 55 test samples) for 40 epochs with sgd " \
        "and categorical_crossentropy, batch norm, dropout 0.1" in out
    assert "target          species: classification, 3 classes (Adelie, Chinstrap, Gentoo)\n" in out
    assert f"features        6 columns as 14 inputs (neuralnet info {model_path} lists them)\n" in out
    assert ("statistics      the features' from a sample of 342 of the 342 rows (seed 0), the "
            "target's from every row\n") in out
    assert float(out.split("test accuracy")[1].split("%")[0]) > 90
    model = neuralnet.load(model_path)
    assert [layer["class_name"] for layer in model.get_config()["layers"]][:3] == [
        "FullyConnectedLayer", "BatchNormalization", "Dropout"]
    assert model.get_config()["layers"][0]["l2"] == 0.001
    # The same columns and statistics as fitting the CSV path's preprocessor on these rows.
    known = frame.dropna(subset=["species"]).reset_index(drop=True)
    expected = TablePreprocessor(drop=["year"]).fit(known.drop(columns=["species"]))
    assert model.preprocessor.get_config()["columns"] == expected.get_config()["columns"]
    # Raw rows in, labels out; the same answers as `neuralnet predict` on a CSV of them.
    labels = model.predict_classes(known)
    assert set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (labels == known["species"].to_numpy()).mean() > 0.9
    known.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = _run(["predict", str(model_path), "--input", str(tmp_path / "rows.csv")])
    assert code == 0, err
    written = pd.read_csv(_io.StringIO(out))
    np.testing.assert_array_equal(written["species"].to_numpy(), labels)
    np.testing.assert_array_equal(written.iloc[:, 1:].to_numpy().astype(np.float32),
                                  model.predict(known))
    code, out, _ = _run(["info", str(model_path)])
    assert code == 0 and "sex                categorical, one-hot (3 inputs)" in out
    assert "year" not in out
    # The ONNX graph and the server take the raw columns too, and answer in labels.
    import onnxruntime as ort
    from fastapi.testclient import TestClient

    from neuralnet import serve

    assert _run(["export", str(model_path), str(tmp_path / "m.onnx")])[0] == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    proto = model.to_onnx()
    assert session.run(["labels"], table_feeds(known, proto))[0].ravel().tolist() == labels.tolist()
    rows = known.head(3).drop(columns=["species"]).astype(object)
    instances = [{k: (None if v != v else v) for k, v in row.items()}
                 for row in rows.to_dict("records")]
    response = TestClient(serve.create_app(model)).post("/predict", json={"instances": instances})
    assert response.status_code == 200 and response.json()["labels"] == labels[:3].tolist()


def test_a_regression_target_streams_and_answers_in_its_units(tmp_path):
    frame = load_diabetes(scaled=False, as_frame=True).frame
    (tmp_path / "d").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 2)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False),
                       tmp_path / "d" / f"part-{i}.parquet", row_group_size=50)
    data = ParquetDataset(tmp_path / "d", "target")
    whole = TargetEncoder().fit(frame["target"], "target")
    assert data.target_encoder.task_ == whole.task_ == "regression"
    np.testing.assert_allclose([data.target_encoder.mean_, data.target_encoder.scale_],
                               [whole.mean_, whole.scale_], rtol=1e-13)
    np.testing.assert_allclose(data.reader().read(0)[1],
                               (frame["target"][:50] - whole.mean_) / whole.scale_, rtol=1e-12)
    path = tmp_path / "m.npz"
    code, out, err = _run(["train", "--data", str(tmp_path / "d"), "--target", "target",
                           "--epochs", "60", "--quiet", "--save", str(path)])
    assert code == 0, err
    assert "target          target: regression, standardised (mean 152.1, std 77.0" in out
    assert float(out.split("test R^2")[1].split()[0]) > 0.3
    predicted = neuralnet.load(path).predict(frame.drop(columns=["target"]))[:, 0]
    assert predicted.dtype == np.float64 and 100 < predicted.mean() < 200
    assert np.corrcoef(predicted, frame["target"])[0, 1] > 0.6
    frame.to_csv(tmp_path / "rows.csv", index=False)
    code, out, _ = _run(["evaluate", str(path), "--input", str(tmp_path / "rows.csv"),
                         "--target", "target"])
    mae = float(out.split("MAE")[1].split()[0])
    assert code == 0 and mae == pytest.approx(np.mean(np.abs(predicted - frame["target"])), rel=1e-3)


def test_bad_datasets_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No Parquet files \(\*.parquet\) match the directory"):
        (tmp_path / "empty").mkdir()
        ParquetDataset(tmp_path / "empty", "y")
    pq.write_table(pa.table({"a": ["x", "y"], "y": [0, 1]}), tmp_path / "s.parquet")
    assert ParquetDataset(tmp_path / "s.parquet", "y").n_features == 2  # one-hot
    with pytest.raises(ValueError, match=r"Column 'a' has type string; NumericStandardizer takes "
                                         "numeric columns only"):
        ParquetDataset(tmp_path / "s.parquet", "y", fit_preprocessor=fit_standardizer)
    pq.write_table(pa.table({"a": [1.0, None], "y": [0, 1]}), tmp_path / "n.parquet")
    with pytest.raises(ValueError, match=r"Column 'a' has 1 missing value\(s\)"):
        ParquetDataset(tmp_path / "n.parquet", "y", fit_preprocessor=fit_standardizer)
    with pytest.raises(ValueError, match=r"Received an invalid value for `statistics`, expected one "
                                         r"of \('first_pass', 'sample'\). Received: statistics='all'"):
        ParquetDataset(tmp_path / "n.parquet", "y", statistics="all")
    with pytest.raises(ValueError, match=r"statistics='first_pass' streams the row groups to "
                                         r"`fit_preprocessor`; the TablePreprocessor needs its rows"):
        ParquetDataset(tmp_path / "n.parquet", "y", statistics="first_pass")
    with pytest.raises(ValueError, match=r"expected a positive integer. Received: sample_rows=0"):
        ParquetDataset(tmp_path / "n.parquet", "y", sample_rows=0)
    with pytest.raises(ValueError, match=r"Give `preprocessor` .* or `fit_preprocessor` .*, not both"):
        ParquetDataset(tmp_path / "n.parquet", "y", preprocessor=TablePreprocessor(),
                       fit_preprocessor=fit_standardizer)
    with pytest.raises(TypeError, match=r"`preprocessor` must be a neuralnet.tabular."
                                        r"TablePreprocessor; received NumericStandardizer"):
        ParquetDataset(tmp_path / "n.parquet", "y", preprocessor=NumericStandardizer(["a"]))
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [None, None]}, pa.schema(
        [("a", pa.float64()), ("y", pa.int64())])), tmp_path / "none.parquet")
    with pytest.raises(ValueError, match=r"every one of the 2 rows lacks its target 'y'"):
        ParquetDataset(tmp_path / "none.parquet", "y")
    with pytest.raises(ValueError, match=r"target 'a' holds numbers such as 1.5 that are not whole"):
        pq.write_table(pa.table({"a": [1.0, 1.5], "b": [0, 1]}), tmp_path / "f.parquet")
        ParquetDataset(tmp_path / "f.parquet", "a", task="classification")
    assert is_dataset_path(tmp_path) and is_dataset_path("x/*.parquet")
    assert not is_dataset_path("data.csv")


def test_cli_trains_on_a_parquet_directory_and_the_model_predicts_csv(tmp_path, capsys):
    whole = _write(tmp_path / "d")
    model_path = tmp_path / "m.npz"
    code = main(["train", "--data", str(tmp_path / "d"), "--target", "label", "--epochs", "30",
                 "--quiet", "--save", str(model_path), "--validation-split", "0.2",
                 "--learning-rate", "0.3", "--early-stopping", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(3 file(s), 9 row group(s))' (240 train / 80 test samples)" in out
    accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert accuracy > 85
    model = io.load(model_path)
    assert model.preprocessor.columns_ == ["a", "b", "c"]
    assert model.target_encoder.classes_ == [0, 1]
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, whole[:20], delimiter=",", header="a,b,c,label", comments="", fmt="%.17g")
    assert main(["evaluate", str(model_path), "--input", str(csv), "--target", "label"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_cli_parquet_errors_are_one_line(tmp_path):
    _write(tmp_path / "one", files=1, rows=40, row_group=40)
    _penguins(tmp_path / "d")
    d = str(tmp_path / "d")
    cases = [
        (["--data", str(tmp_path / "one"), "--target", "label"],
         f"Holding rows out of {tmp_path / 'one'} needs at least two row groups; it has 1."),
        (["--data", d, "--target", "species", "--validation-split", "0.5", "--test-size", "0.9"],
         f"Holding rows out of the row groups of {d} left for training needs at least two row "
         "groups; it has 1."),
        (["--data", str(tmp_path / "none*.parquet"), "--target", "y"], "No Parquet files"),
        (["--data", d, "--target", "species", "--plot", "x"],
         "--plot draws from the data in memory; it is not available with a Parquet dataset"),
        (["--data", d, "--target", "species", "--animate", "x.gif"], "--animate draws from"),
        (["--data", d], "--data needs --target COLUMN"),
        (["--data", d, "--target", "kind"], f"{d} has no column 'kind' to predict; its columns "
         "are: species, island,"),
        (["--data", d, "--target", "species", "--features", "island", "beak"],
         f"--features names column(s) 'beak' that {d} does not have"),
        (["--data", d, "--target", "species", "--categorical", "species"],
         "--categorical names 'species', the target; it cannot be a feature too."),
        (["--data", d, "--target", "island", "--task", "regression"],
         "target 'island' holds text such as 'Dream'; a regression needs numbers"),
        (["--data", d, "--target", "year", "--task", "regression", "--loss",
          "categorical_crossentropy"],
         "--loss categorical_crossentropy needs class labels, but the target is continuous"),
        (["--data", d, "--target", "species", "--early-stopping", "3"],
         "--early-stopping watches the validation loss; give --validation-split too"),
        (["--data", d, "--target", "species", "--save", str(tmp_path)],
         f"--save {str(tmp_path)!r} is a directory"),
    ]
    for argv, message in cases:
        code, out, err = _run(["train", "--epochs", "1", "--quiet", *argv])
        assert code == 1, (argv, out)
        assert err.startswith("neuralnet train: error: ") and message in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err
