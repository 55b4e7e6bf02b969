"""The command line on files: train on a CSV, save, predict, evaluate, info; one-line errors."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neuralnet
from neuralnet import NeuralNet
from neuralnet import io as nio
from neuralnet.cli import main


def _write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def binary_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(200, 3)), 6)  # exactly what the CSV holds
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    path = tmp_path / "data.csv"
    # The target sits between the features: columns are picked by name, not position.
    _write_csv(path, ["a", "label", "b", "c"],
               [[f"{r[0]:.6f}", t, f"{r[1]:.6f}", f"{r[2]:.6f}"] for r, t in zip(X, y)])
    return path, X, y


@pytest.fixture
def trained(binary_csv, tmp_path, capsys):
    path, X, y = binary_csv
    model_path = tmp_path / "model.npz"
    assert main(["train", "--data", str(path), "--target", "label", "--epochs", "40",
                 "--quiet", "--save", str(model_path)]) == 0
    out = capsys.readouterr().out
    return model_path, out


def _error(capsys, argv, code=1) -> str:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


# ------------------------------------------------------------------------- train
def test_train_on_a_csv_saves_a_model_that_remembers_its_columns(trained, binary_csv):
    model_path, out = trained
    assert "Training 3-16-16-1 on" in out and "(160 train / 40 test samples)" in out
    test_accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert test_accuracy > 85
    assert f"saved model to  {model_path}" in out
    model = neuralnet.load(model_path)
    assert model.epoch == 40 and model.loss_fn.name == "binary_crossentropy"
    assert model.preprocessor.columns_ == ["a", "b", "c"]
    assert model.target_encoder.name == "label" and model.target_encoder.classes_ == [0, 1]
    assert "scaling" not in model.metadata


def test_train_on_a_csv_with_a_real_valued_target_is_regression(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    _write_csv(tmp_path / "r.csv", ["x", "z", "price"],
               [[a, b, 3 * a - b + 0.25] for a, b in X])
    assert main(["train", "--data", str(tmp_path / "r.csv"), "--target", "price", "--epochs", "60",
                 "--learning-rate", "0.02", "--activation", "relu", "--quiet", "--save", str(tmp_path / "r.npz")]) == 0
    out = capsys.readouterr().out
    assert "test R^2" in out and "test MAE" in out and "accuracy" not in out
    model = neuralnet.load(tmp_path / "r.npz")
    assert model.loss_fn.name == "mse" and model.output_activation.name == "linear"
    assert model.target_encoder.task_ == "regression"
    assert float(out.split("test R^2")[1].split()[0]) > 0.8


def test_train_plot_on_a_two_column_regression_csv_draws_its_prediction_surface(tmp_path, capsys):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    _write_csv(tmp_path / "r.csv", ["x", "z", "price"], [[a, b, a - 2 * b] for a, b in X])
    plots = tmp_path / "plots"
    assert main(["train", "--data", str(tmp_path / "r.csv"), "--target", "price", "--epochs", "5",
                 "--quiet", "--plot", str(plots)]) == 0
    out = capsys.readouterr().out
    # A regression has no decision boundary: the plane shows the predicted value instead.
    assert sorted(p.name for p in plots.iterdir()) == ["loss.png", "prediction.png"]
    for name in ("loss.png", "prediction.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote           {plots / name}" in out


def test_train_task_option_overrides_the_guess(tmp_path, capsys):
    _write_csv(tmp_path / "c.csv", ["x", "count"], [[i / 10, i % 3] for i in range(30)])
    assert main(["train", "--data", str(tmp_path / "c.csv"), "--target", "count", "--epochs", "2",
                 "--quiet", "--task", "regression", "--save", str(tmp_path / "c.npz")]) == 0
    assert neuralnet.load(tmp_path / "c.npz").loss_fn.name == "mse"
    _write_csv(tmp_path / "s.csv", ["x", "class"], [[i / 10, i % 4] for i in range(30)])
    assert main(["train", "--data", str(tmp_path / "s.csv"), "--target", "class", "--epochs", "2",
                 "--quiet", "--save", str(tmp_path / "s.npz")]) == 0
    assert neuralnet.load(tmp_path / "s.npz").n_outputs == 4  # softmax over labels 0..3
    err = _error(capsys, ["train", "--data", str(tmp_path / "c.csv"), "--target", "x",
                          "--task", "classification"])
    assert "target 'x' holds numbers such as 0.1 that are not whole; class labels are text" in err


def test_train_on_the_builtin_dataset_can_save(tmp_path, capsys):
    assert main(["train", "--epochs", "3", "--quiet", "--save", str(tmp_path / "m.npz")]) == 0
    model = neuralnet.load(tmp_path / "m.npz")
    assert model.preprocessor.columns_ == ["x0", "x1"] and model.epoch == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{csv}"], "--data needs --target COLUMN: the column to predict."),
        (["--target", "label"], "--target names a column of a table given with --data."),
        (["--data", "{csv}", "--target", "price"],
         "data.csv has no column 'price' to predict; its columns are: a, label, b, c."),
        (["--data", "{dir}/missing.csv", "--target", "y"], "No such file or directory"),
    ],
)
def test_train_errors_are_one_line(binary_csv, capsys, argv, message):
    path, _, _ = binary_csv
    argv = [a.format(csv=path, dir=path.parent) for a in argv]
    assert message in _error(capsys, ["train", "--quiet", "--epochs", "1", *argv])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty; expected a header row and data rows."),
        ("\n\n", "is empty; expected a header row and data rows."),
        ("a,b\n", "has a header but no data rows."),
        ("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields, but the header has 2 columns"),
        ("a,b\n1,\n", "every one of the 1 rows lacks its target 'b'; there is nothing to learn."),
        ("a,b\n1,2\n3,2\n", "target 'b' holds one class only (2); a classifier needs at least two."),
        ("a,a\n1,2\n", "the header names column(s) ['a'] more than once."),
    ],
)
def test_bad_csv_files_get_a_one_line_error(tmp_path, capsys, content, message):
    (tmp_path / "bad.csv").write_text(content)
    err = _error(capsys, ["train", "--data", str(tmp_path / "bad.csv"), "--target", "b"])
    assert message in err and err.startswith("neuralnet train: error: ")


# ----------------------------------------------------------------------- predict
def test_predict_writes_classes_and_probabilities_to_stdout(trained, binary_csv, capsys):
    model_path, _ = trained
    path, X, y = binary_csv
    assert main(["predict", str(model_path), "--input", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "label,probability_0,probability_1" and len(lines) == 201
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    model = neuralnet.load(model_path)
    expected = model.predict(pd.read_csv(path))[:, 0]
    # Nine significant digits give every float32 back exactly.
    np.testing.assert_array_equal(rows[:, 2].astype(np.float32), expected)
    np.testing.assert_allclose(rows[:, 1], 1 - expected, atol=1e-7)
    np.testing.assert_array_equal(rows[:, 0], (expected >= 0.5).astype(int))
    assert (rows[:, 0] == y).mean() > 0.85


def test_predict_to_a_file_and_without_the_target_column(trained, binary_csv, tmp_path, capsys):
    model_path, _ = trained
    _, X, _ = binary_csv
    _write_csv(tmp_path / "new.csv", ["c", "b", "a"], [[r[2], r[1], r[0]] for r in X[:5]])
    out = tmp_path / "preds.csv"
    assert main(["predict", str(model_path), "--input", str(tmp_path / "new.csv"),
                 "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text().splitlines()[0] == "label,probability_0,probability_1"
    assert len(out.read_text().splitlines()) == 6


def test_predict_with_a_model_saved_from_python_uses_every_column(tmp_path, capsys):
    model = NeuralNet(((2, 3), (3, 3)), activations=["tanh", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    model.save(tmp_path / "m.npz")
    _write_csv(tmp_path / "x.csv", ["p", "q"], [[0.5, -1.0], [2.0, 0.0]])
    assert main(["predict", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "class,probability_0,probability_1,probability_2"
    proba = model.predict([[0.5, -1.0], [2.0, 0.0]])
    for line, p in zip(lines[1:], proba, strict=True):
        values = [float(v) for v in line.split(",")]
        assert values[0] == p.argmax()
        np.testing.assert_allclose(values[1:], p, rtol=1e-6)


def test_predict_regression_names_the_column_after_the_target(tmp_path, capsys):
    model = NeuralNet(((2, 1),), activations="linear", loss="mse", seed=0)
    model.metadata = {"target": "price"}
    model.save(tmp_path / "m.npz")
    _write_csv(tmp_path / "x.csv", ["p", "q"], [[1, 2]])
    assert main(["predict", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "price"
    assert float(lines[1]) == pytest.approx(float(model.predict([[1, 2]])[0, 0]), rel=1e-6)


def test_predict_errors_are_one_line(trained, binary_csv, tmp_path, capsys):
    model_path, _ = trained
    path, _, _ = binary_csv
    _write_csv(tmp_path / "other.csv", ["a", "b"], [[1, 2]])
    assert "other.csv has no column(s) 'c', which the model was trained on; its columns are: a, b." in _error(
        capsys, ["predict", str(model_path), "--input", str(tmp_path / "other.csv")])
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    assert "Cannot load" in _error(capsys, ["predict", str(tmp_path / "junk.npz"),
                                            "--input", str(path)])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(model_path.read_bytes()[:300])
    assert "corrupted or truncated" in _error(capsys, ["predict", str(truncated),
                                                       "--input", str(path)])
    model = NeuralNet(((5, 1),), seed=0)  # no feature names: every column is a feature
    model.save(tmp_path / "five.npz")
    assert "X has 4 features, but the network's first layer expects 5." in _error(
        capsys, ["predict", str(tmp_path / "five.npz"), "--input", str(path)])


def test_predict_needs_its_input(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "model.npz"])
    assert exc.value.code == 2
    assert "the following arguments are required: --input" in capsys.readouterr().err


# ---------------------------------------------------------------------- evaluate
def test_evaluate_reports_loss_and_accuracy(trained, binary_csv, capsys):
    model_path, _ = trained
    path, _, _ = binary_csv
    assert main(["evaluate", str(model_path), "--input", str(path), "--target", "label"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "rows      200"
    assert out[1].startswith("accuracy") and out[2].startswith("log loss")
    assert float(out[1].split()[1].rstrip("%")) > 85


def test_evaluate_errors_are_one_line(trained, binary_csv, tmp_path, capsys):
    model_path, _ = trained
    path, _, _ = binary_csv
    assert "data.csv has no column 'nope' to predict" in _error(
        capsys, ["evaluate", str(model_path), "--input", str(path), "--target", "nope"])
    _write_csv(tmp_path / "labels.csv", ["a", "b", "c", "label"], [[0, 0, 0, 2]])
    assert "target 'label' holds '2', not a class seen in training; the classes are: 0, 1." in _error(
        capsys, ["evaluate", str(model_path), "--input", str(tmp_path / "labels.csv"),
                 "--target", "label"])


# -------------------------------------------------------------------------- info
def test_info_prints_the_summary(trained, capsys):
    model_path, _ = trained
    assert main(["info", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert f"format version {nio.FORMAT_VERSION}" in out and f"neuralnet {neuralnet.__version__}" in out
    assert model_path.name in out
    # NeuralNet.summary(): the layers with their absorbed (n_in + 1, n_out) weight shapes.
    assert "NeuralNet 3-16-16-1: loss binary_crossentropy, dtype float32" in out
    assert "(4, 16)" in out and "(17, 16)" in out and "(17, 1)" in out and "sigmoid" in out
    assert "Total params: 353" in out
    assert "epochs trained: 40" in out and "target: label: classification, 2 classes (0, 1)" in out
    assert "columns: 3, as 3 inputs" in out
    assert re.search(r"\n  a  numeric, standardised \(mean -?[\d.]+, std [\d.]+\); gaps filled with "
                     r"the median -?[\d.]+\n", out)


def test_info_shows_dropout_layers(tmp_path, capsys):
    model = NeuralNet([neuralnet.Dense(2, 4, "relu"), neuralnet.Dropout(0.5),
                       neuralnet.Dense(4, 1)], seed=0)
    model.save(tmp_path / "d.npz")
    assert main(["info", str(tmp_path / "d.npz")]) == 0
    out = capsys.readouterr().out
    assert "Dropout(0.5)" in out and "optimizer: none (untrained)" in out


def test_info_errors_are_one_line(tmp_path, capsys):
    assert "Cannot load" in _error(capsys, ["info", str(tmp_path / "missing.npz")])
    (tmp_path / "m.csv").write_text("a,b\n1,2\n")
    assert "not a neuralnet model file" in _error(capsys, ["info", str(tmp_path / "m.csv")])


def test_python_dash_m_reports_a_bad_model_file_in_one_line(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    # Run the neuralnet under test, not whichever one the interpreter has installed.
    env = {**os.environ, "PYTHONPATH": str(Path(neuralnet.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "neuralnet", "info", str(tmp_path / "bad.npz")],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("neuralnet info: error: Cannot load")
    assert "corrupted or truncated" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
