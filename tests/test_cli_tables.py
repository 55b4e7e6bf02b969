"""The command line on real tables: penguins (text, gaps), diabetes (regression), breast cancer
(named labels), from CSV and Parquet; the model file answers in Python as on the command line."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_breast_cancer, load_diabetes

import neuralnet
from neuralnet.cli import main


def _run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _error(argv) -> str:
    code, _, err = _run(argv)
    assert code == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    load_penguins().to_csv(root / "penguins.csv", index=False)
    load_diabetes(scaled=False, as_frame=True).frame.to_csv(root / "diabetes.csv", index=False)
    cancer = load_breast_cancer(as_frame=True)
    frame = cancer.frame.assign(target=np.asarray(cancer.target_names)[cancer.target])
    frame.to_parquet(root / "cancer.parquet")
    return root


@pytest.fixture(scope="module")
def penguin_model(tables):
    path = tables / "species.npz"
    code, out, err = _run(["train", "--data", str(tables / "penguins.csv"), "--target", "species",
                           "--quiet", "--save", str(path)])
    assert code == 0, err
    return path, out


def test_train_on_penguins_with_text_and_gaps(penguin_model):
    path, out = penguin_model
    assert "Training 15-16-16-3 on" in out and "(275 train / 69 test samples)" in out
    assert "target          species: classification, 3 classes (Adelie, Chinstrap, Gentoo)" in out
    assert f"features        7 columns as 15 inputs (neuralnet info {path} lists them)" in out
    assert float(out.split("test accuracy")[1].split("%")[0]) > 95
    assert float(out.split("test log loss")[1].split()[0]) < 0.2


def test_predict_writes_labels_and_probability_columns_named_after_them(penguin_model, tables):
    path, _ = penguin_model
    code, out, err = _run(["predict", str(path), "--input", str(tables / "penguins.csv")])
    assert code == 0 and err == ""
    written = pd.read_csv(io.StringIO(out))
    assert list(written.columns) == ["species", "probability_Adelie", "probability_Chinstrap",
                                     "probability_Gentoo"]
    truth = load_penguins()
    assert (written["species"] == truth["species"]).mean() > 0.95
    # The same model from Python: the same outputs for the same raw rows.
    model = neuralnet.load(path)
    proba = model.predict(truth)
    np.testing.assert_array_equal(written.iloc[:, 1:].to_numpy().astype(np.float32), proba)
    np.testing.assert_array_equal(written["species"].to_numpy(), model.predict_classes(truth))


def test_predict_on_rows_with_unseen_categories_gaps_and_extra_columns(penguin_model, tables):
    path, _ = penguin_model
    rows = load_penguins().iloc[[0, 200, 300]].drop(columns=["species"])
    rows["island"] = ["Atlantis", "Dream", "Biscoe"]  # a new island
    rows.loc[rows.index[1], ["bill_length_mm", "sex"]] = [np.nan, None]
    rows["observer"] = "me"  # not a training column: ignored
    rows.to_csv(tables / "new.csv", index=False)
    code, out, err = _run(["predict", str(path), "--input", str(tables / "new.csv"),
                           "--output", str(tables / "out.csv")])
    assert code == 0 and out == "" and err == ""
    written = pd.read_csv(tables / "out.csv")
    assert len(written) == 3 and written["species"].isin(["Adelie", "Chinstrap", "Gentoo"]).all()
    np.testing.assert_allclose(written.iloc[:, 1:].sum(axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(written.iloc[:, 1:].to_numpy().astype(np.float32),
                                  neuralnet.load(path).predict(rows))


def test_a_table_missing_a_training_column_is_a_one_line_error(penguin_model, tables):
    path, _ = penguin_model
    load_penguins().drop(columns=["body_mass_g"]).to_csv(tables / "less.csv", index=False)
    err = _error(["predict", str(path), "--input", str(tables / "less.csv")])
    assert err.startswith("neuralnet predict: error: ")
    assert "less.csv has no column(s) 'body_mass_g', which the model was trained on" in err


def test_evaluate_prints_accuracy_and_log_loss(penguin_model, tables):
    path, _ = penguin_model
    code, out, _ = _run(["evaluate", str(path), "--input", str(tables / "penguins.csv"),
                         "--target", "species"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "rows      344"
    assert re.fullmatch(r"accuracy  \d+\.\d\d%", lines[1]) and float(lines[1].split()[1][:-1]) > 95
    assert re.fullmatch(r"log loss  \d\.\d{4}", lines[2])


def test_info_lists_the_columns_and_their_treatment(penguin_model):
    path, _ = penguin_model
    code, out, _ = _run(["info", str(path)])
    assert code == 0
    assert "format version 3" in out
    assert "target: species: classification, 3 classes (Adelie, Chinstrap, Gentoo)" in out
    assert "columns: 7, as 15 inputs (other columns of a table are ignored)" in out
    assert "  island             categorical, one-hot (3 inputs): 3 levels (Biscoe, Dream, Torgersen)" in out
    assert re.search(r"\n  sex                categorical, one-hot \(3 inputs\): 2 levels \(female, "
                     r"male\) \+ <missing> \(\d+ rows\)\n", out)
    assert re.search(r"\n  body_mass_g        numeric, standardised \(mean \d+, std [\d.]+\); \d gaps "
                     r"in training: filled with the median \d+, plus a <missing> indicator\n", out)


def test_rows_without_a_target_are_dropped_with_a_message(tables):
    code, out, err = _run(["train", "--data", str(tables / "penguins.csv"), "--target", "sex",
                           "--epochs", "5", "--quiet"])
    assert code == 0
    assert err == ("neuralnet train: note: 11 row(s) without a value for the target 'sex' dropped "
                   "(333 left).\n")
    assert "(266 train / 67 test samples)" in out
    assert "target          sex: classification, 2 classes (female, male)" in out
    assert "Training 11-16-16-1 on" in out  # two classes: one sigmoid output; fewer gaps left


def test_features_drop_categorical_and_max_levels(tables):
    base = ["train", "--data", str(tables / "penguins.csv"), "--target", "species", "--epochs",
            "2", "--quiet", "--save", str(tables / "options.npz")]
    code, out, _ = _run([*base, "--features", "island", "year", "sex", "--categorical", "year",
                         "--max-levels", "2"])
    assert code == 0
    model = neuralnet.load(tables / "options.npz")
    assert model.preprocessor.columns_ == ["island", "year", "sex"]
    assert model.preprocessor.get_feature_names_out() == [
        "island=Biscoe", "island=Dream", "island=<other>", "year=2008", "year=2009", "year=<other>",
        "sex=female", "sex=male", "sex=<missing>"]
    code, out, _ = _run([*base, "--drop", "island", "sex", "year"])
    assert code == 0 and "4 columns as 8 inputs" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--features", "mass"], r"--features names column\(s\) 'mass' that .*penguins.csv does "
                                 "not have; its columns are: species, island"),
        (["--drop", "wings"], r"--drop names column\(s\) 'wings' that"),
        (["--features", "species"], "--features names 'species', the target; it cannot be a "
                                    "feature too."),
        (["--target", "mass"], "penguins.csv has no column 'mass' to predict; its columns are"),
        (["--task", "regression"], "target 'species' holds text such as 'Adelie'; a regression "
                                   "needs numbers"),
        (["--loss", "mse"], "--loss mse is a regression loss, but the target holds class labels"),
    ],
)
def test_table_option_errors_are_one_line(tables, argv, message):
    target = [] if "--target" in argv else ["--target", "species"]
    assert re.search(message, _error(["train", "--data", str(tables / "penguins.csv"), *target, *argv]))


def test_bad_option_values_for_tables(tables):
    with pytest.raises(SystemExit) as exc:
        _run(["train", "--max-levels", "0"])
    assert exc.value.code == 2
    err = _error(["train", "--data", str(tables / "penguins.csv"), "--target", "species",
                  "--sep", "::"])
    assert "sep must be one character such as ',' or ';'; received '::'." in err


def test_a_pandas_index_column_is_ignored_with_a_note(tables):
    load_penguins().to_csv(tables / "indexed.csv")
    code, out, err = _run(["train", "--data", str(tables / "indexed.csv"), "--target", "species",
                           "--epochs", "1", "--quiet"])
    assert code == 0
    assert "the first column has no name: taken for the row index pandas writes, and ignored" in err
    assert "7 columns as 15 inputs" in out


def test_diabetes_regression_predicts_in_the_targets_units(tables):
    model_path = tables / "diabetes.npz"
    code, out, _ = _run(["train", "--data", str(tables / "diabetes.csv"), "--target", "target",
                         "--quiet", "--epochs", "50", "--save", str(model_path)])
    assert code == 0
    assert "target          target: regression, standardised (mean 151.4, std 76.97)" in out
    assert float(out.split("test R^2")[1].split()[0]) > 0.35
    code, out, _ = _run(["predict", str(model_path), "--input", str(tables / "diabetes.csv")])
    written = pd.read_csv(io.StringIO(out))
    assert list(written.columns) == ["target"]
    frame = load_diabetes(scaled=False, as_frame=True).frame
    np.testing.assert_allclose(written["target"], neuralnet.load(model_path).predict(frame)[:, 0],
                               rtol=1e-8)
    code, out, _ = _run(["evaluate", str(model_path), "--input", str(tables / "diabetes.csv"),
                         "--target", "target"])
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["rows", "MAE", "RMSE", "R^2"]
    assert 30 < float(lines[1].split()[1]) < 60 and 0.3 < float(lines[3].split()[1]) < 0.8


def test_breast_cancer_from_parquet_with_named_labels(tables):
    model_path = tables / "cancer.npz"
    code, out, _ = _run(["train", "--data", str(tables / "cancer.parquet"), "--target", "target",
                         "--epochs", "30", "--quiet", "--save", str(model_path)])
    assert code == 0
    assert "target          target: classification, 2 classes (benign, malignant)" in out
    assert float(out.split("test accuracy")[1].split("%")[0]) > 93
    code, out, _ = _run(["predict", str(model_path), "--input", str(tables / "cancer.parquet")])
    written = pd.read_csv(io.StringIO(out))
    assert list(written.columns) == ["target", "probability_benign", "probability_malignant"]
    frame = pd.read_parquet(tables / "cancer.parquet")
    model = neuralnet.load(model_path)
    np.testing.assert_array_equal(written["probability_malignant"].to_numpy().astype(np.float32),
                                  model.predict(frame)[:, 0])
    np.testing.assert_array_equal(written["target"], model.predict_classes(frame))
    assert (written["target"] == frame["target"]).mean() > 0.95


def test_search_reads_tables_the_same_way(tables):
    code, out, err = _run(["search", "--data", str(tables / "penguins.csv"), "--target",
                           "species", "--hidden", "8", "--learning-rate", "0.01", "--epochs", "5",
                           "--cv", "2", "--n-jobs", "1", "--categorical", "year"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Grid search (classification): 1 candidates x 2 folds")
    assert "(344 samples, 7 features)" in lines[0]
    assert float(lines[-2].split()[-1]) > 0.6
