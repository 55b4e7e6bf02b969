"""neuralnet.tabular on real tables: reading CSV and Parquet, encoding columns and targets, and the
model that carries its preprocessing through ``predict``, ``evaluate`` and its file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_breast_cancer, load_diabetes

import neuralnet
from neuralnet import NeuralNet
from neuralnet.tabular import (
    TableNote,
    TablePreprocessor,
    TargetEncoder,
    drop_missing_target,
    read_table,
    split_target,
)


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_penguins()


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(scaled=False, as_frame=True).frame


def _no_notes():
    return warnings.catch_warnings(action="error", category=TableNote)


# ------------------------------------------------------------------------------- reading
def test_a_csv_with_a_byte_order_mark_keeps_its_first_column_name(penguins, tmp_path):
    path = tmp_path / "bom.csv"
    penguins.to_csv(path, index=False, encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    with _no_notes():
        table = read_table(path)
    assert list(table.columns) == list(penguins.columns)
    pd.testing.assert_frame_equal(table, penguins, check_dtype=False)


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_the_delimiter_is_guessed(penguins, tmp_path, sep):
    path = tmp_path / "t.csv"
    penguins.to_csv(path, index=False, sep=sep)
    table = read_table(path)
    assert list(table.columns) == list(penguins.columns)
    assert table["island"].tolist() == penguins["island"].tolist()


def test_an_explicit_sep_wins_and_a_bad_one_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a;b,c\n1;2,3\n4;5,6\n")
    assert list(read_table(path)) == ["a;b", "c"]  # two columns each way; comma is preferred
    assert list(read_table(path, sep=";")) == ["a", "b,c"]
    with pytest.raises(ValueError, match=r"sep must be one character such as ',' or ';'; received '::'"):
        read_table(path, sep="::")


def test_quoted_fields_keep_delimiters_quotes_and_newlines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('name,size\n"Smith, John",1\n"say ""hi""",2\n"two\nlines",3\n')
    table = read_table(path)
    assert table["name"].tolist() == ["Smith, John", 'say "hi"', "two\nlines"]
    assert table["size"].tolist() == [1, 2, 3]


def test_empty_lines_and_spaces_after_delimiters_are_skipped(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("\n a , b\n1, x\n\n\n2, y\n\n")
    table = read_table(path)
    assert list(table.columns) == ["a", "b"]
    assert table["a"].tolist() == [1, 2] and table["b"].tolist() == ["x", "y"]


def test_the_index_column_pandas_writes_is_dropped_with_a_note(penguins, tmp_path):
    path = tmp_path / "i.csv"
    penguins.to_csv(path)  # index=True: a first column without a name
    with pytest.warns(TableNote, match="the first column has no name: taken for the row index "
                                       "pandas writes, and ignored"):
        table = read_table(path)
    assert list(table.columns) == list(penguins.columns)


def test_an_unnamed_empty_column_is_dropped_and_an_unnamed_full_one_refused(tmp_path):
    (tmp_path / "trailing.csv").write_text("a,b,\n1,2,\n3,4,\n")
    with pytest.warns(TableNote, match="column 3 has no name and no values; it is ignored"):
        assert list(read_table(tmp_path / "trailing.csv")) == ["a", "b"]
    (tmp_path / "middle.csv").write_text("a,,b\n1,2,3\n")
    with pytest.raises(ValueError, match="middle.csv: column 2 has values but no name in the "
                                         "header; name it, or remove it."):
        read_table(tmp_path / "middle.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty; expected a header row and data rows."),
        (b"\n \n", "is empty; expected a header row and data rows."),
        (b"a,b\n", "has a header but no data rows."),
        (b"a,b\n1,2\n3,4,5\n", r"line 3 has 3 fields, but the header has 2 columns \(a field "
                               r"holding the delimiter without quotes\?\)"),
        (b"a,b,a\n1,2,3\n", r"the header names column\(s\) \['a'\] more than once."),
        (b"a,b\n1,caf\xe9\n", r"is not utf-8 text \(byte b'\\xe9' at position 9\); save it as "
                              "UTF-8 or give its encoding."),
    ],
)
def test_bad_csv_files_are_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as exc:
        read_table(path)
    assert str(exc.value).startswith(str(path))


def test_another_encoding_can_be_given(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"a,b\n1,caf\xe9\n")
    assert read_table(tmp_path / "latin.csv", encoding="latin-1")["b"].tolist() == ["café"]


def test_read_table_refuses_a_path_of_the_wrong_type_and_a_missing_file(tmp_path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike; received int"):
        read_table(3)
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")


def test_parquet_files_are_read_with_their_types(penguins, tmp_path):
    penguins.to_parquet(tmp_path / "p.parquet")
    table = read_table(tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(table, penguins, check_dtype=False)
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="fake.parquet is not a readable Parquet file"):
        read_table(tmp_path / "fake.parquet")


# -------------------------------------------------------------------------------- targets
def test_split_target_drops_rows_without_a_target_and_says_how_many(penguins):
    with pytest.warns(TableNote, match=r"11 row\(s\) without a value for the target 'sex' dropped "
                                       r"\(333 left\)"):
        X, y = split_target(penguins, "sex")
    assert len(X) == len(y) == 333 and "sex" not in X.columns and y.notna().all()
    with pytest.raises(ValueError, match="the table has no column 'mass' to predict; its columns "
                                         "are: species, island"):
        split_target(penguins, "mass")
    with pytest.raises(TypeError, match="table must be a pandas DataFrame; received ndarray"):
        split_target(np.zeros((2, 2)), "x0")


def test_drop_missing_target_on_arrays():
    X, y = np.arange(8.0).reshape(4, 2), np.array([1.0, np.nan, 0.0, np.nan])
    with pytest.warns(TableNote, match=r"2 row\(s\) without a value for the target dropped"):
        X2, y2 = drop_missing_target(X, y)
    np.testing.assert_array_equal(X2, X[[0, 2]])
    np.testing.assert_array_equal(y2, [1.0, 0.0])
    with pytest.raises(ValueError, match="every one of the 2 rows lacks its target"):
        drop_missing_target(X[:2], [None, np.nan])


def test_class_labels_of_any_values_map_to_sorted_indices_and_back(penguins):
    enc = TargetEncoder().fit(penguins["species"], "species")
    assert enc.task_ == "classification" and enc.classes_ == ["Adelie", "Chinstrap", "Gentoo"]
    t = enc.transform(penguins["species"])
    assert t.dtype == np.int64 and set(t) == {0, 1, 2}
    assert enc.inverse_transform(t).tolist() == penguins["species"].tolist()
    years = TargetEncoder().fit(penguins["year"])
    assert years.classes_ == [2007, 2008, 2009]
    assert years.inverse_transform([2, 0]).tolist() == [2009, 2007]
    flags = TargetEncoder().fit(pd.Series([True, False, True]))
    assert flags.classes_ == [False, True] and flags.transform([True, False]).tolist() == [1, 0]
    # A float column of whole numbers (an int column with gaps) keeps integer labels.
    floats = TargetEncoder().fit(np.array([1.0, 3.0, 1.0]))
    assert floats.classes_ == [1, 3] and isinstance(floats.classes_[0], int)


def test_a_regression_target_is_standardised_and_mapped_back(diabetes):
    y = diabetes["target"]
    enc = TargetEncoder().fit(y, "target")
    assert enc.task_ == "regression"
    t = enc.transform(y)
    assert abs(t.mean()) < 1e-12 and abs(t.std() - 1) < 1e-12
    np.testing.assert_allclose(enc.inverse_transform(t), y)
    assert enc.describe().startswith("target: regression, standardised (mean 152.1, std 77.0")


@pytest.mark.parametrize(
    ("y", "task", "error", "message"),
    [
        (["a", "a"], "auto", ValueError, r"y holds one class only \('a'\); a classifier needs at least two."),
        ([0.5, 1.0], "classification", ValueError, "y holds numbers such as 0.5 that are not whole; "
                                                   "class labels are text, booleans or whole numbers"),
        (["a", "b"], "regression", ValueError, "y holds text such as 'a'; a regression needs numbers"),
        ([1.0, None], "auto", ValueError, r"y holds 1 missing value\(s\); drop those rows first"),
        ([1, 2], "guess", ValueError, r"expected one of \('auto', 'classification', 'regression'\). "
                                      "Received: task='guess'"),
        (np.zeros((2, 2)), "auto", ValueError, r"y must be one column of targets; received shape \(2, 2\)"),
    ],
)
def test_target_encoder_errors(y, task, error, message):
    with pytest.raises(error, match=message):
        TargetEncoder(task).fit(np.asarray(y, dtype=object) if isinstance(y, list) else y)


def test_an_unseen_label_is_refused_naming_it_and_the_classes(penguins):
    enc = TargetEncoder().fit(penguins["species"], "species")
    with pytest.raises(ValueError, match="target 'species' holds 'Emperor', not a class seen in "
                                         "training; the classes are: Adelie, Chinstrap, Gentoo."):
        enc.transform(["Adelie", "Emperor"])
    ints = TargetEncoder().fit(np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="y holds '2', not a class seen in training; the classes are: 0, 1."):
        ints.transform(np.array([2, 1]))
    with pytest.raises(RuntimeError, match="This TargetEncoder is not fitted yet"):
        TargetEncoder().transform([1])


# ---------------------------------------------------------------------------- preprocessor
def test_each_penguin_column_gets_its_treatment(penguins):
    X, _ = split_target(penguins, "species")
    with _no_notes():
        pre = TablePreprocessor().fit(X)
    assert pre.columns_ == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                            "body_mass_g", "sex", "year"]
    assert pre.get_feature_names_out() == [
        "island=Biscoe", "island=Dream", "island=Torgersen",
        "bill_length_mm", "bill_length_mm=<missing>", "bill_depth_mm", "bill_depth_mm=<missing>",
        "flipper_length_mm", "flipper_length_mm=<missing>", "body_mass_g", "body_mass_g=<missing>",
        "sex=female", "sex=male", "sex=<missing>", "year",
    ]
    Z = pre.transform(X)
    names = pre.get_feature_names_out()
    assert Z.shape == (344, 15) and np.isfinite(Z).all()
    mass = Z[:, names.index("body_mass_g")]
    np.testing.assert_allclose([mass.mean(), mass.std()], [0, 1], atol=1e-12)
    gaps = X["body_mass_g"].isna().to_numpy()
    np.testing.assert_array_equal(Z[:, names.index("body_mass_g=<missing>")], gaps)
    # The gaps hold the median, standardised.
    c = pre.get_config()["columns"][4]
    np.testing.assert_allclose(mass[gaps], (X["body_mass_g"].median() - c["mean"]) / c["scale"])
    sex = Z[:, names.index("sex=female"):names.index("sex=<missing>") + 1]
    np.testing.assert_array_equal(sex.sum(axis=1), 1)
    np.testing.assert_array_equal(sex[:, 2], X["sex"].isna())
    text = pre.describe()
    assert "  island             categorical, one-hot (3 inputs): 3 levels (Biscoe, Dream, Torgersen)" in text
    assert ("  body_mass_g        numeric, standardised (mean 4201, std 798.5); 2 gaps in training: "
            "filled with the median 4050, plus a <missing> indicator") in text
    assert "  sex                categorical, one-hot (3 inputs): 2 levels (female, male) + <missing> (11 rows)" in text


def test_every_statistic_comes_from_the_rows_fitted(penguins):
    X, _ = split_target(penguins, "species")
    train = X.iloc[:100]  # Torgersen, Biscoe and Dream Adelies only, a few gaps
    pre = TablePreprocessor().fit(train)
    config = {c["name"]: c for c in pre.get_config()["columns"]}
    mass = train["body_mass_g"]
    assert config["body_mass_g"]["median"] == mass.median()
    filled = mass.fillna(mass.median())
    assert config["body_mass_g"]["mean"] == pytest.approx(filled.mean())
    assert config["body_mass_g"]["scale"] == pytest.approx(filled.std(ddof=0))
    assert config["sex"]["counts"] == [int((train["sex"] == "female").sum()),
                                       int((train["sex"] == "male").sum())]
    # The other rows are only transformed: a gap there is filled with the fitted median.
    later = X.iloc[[271]]  # a Gentoo without any measurement
    assert later["body_mass_g"].isna().all()
    row = pre.transform(later)[0]
    names = pre.get_feature_names_out()
    assert row[names.index("body_mass_g")] == pytest.approx(
        (mass.median() - config["body_mass_g"]["mean"]) / config["body_mass_g"]["scale"])


def test_rare_and_unseen_levels_go_to_other():
    X = pd.DataFrame({"colour": ["red"] * 5 + ["blue"] * 4 + ["green"] * 2 + ["pink"]})
    with pytest.warns(TableNote, match=r"column 'colour' has 4 levels; the 2 most frequent each get "
                                       r"an input, the other 2 \(3 rows\) share '<other>'."):
        pre = TablePreprocessor(max_levels=2).fit(X)
    assert pre.get_feature_names_out() == ["colour=blue", "colour=red", "colour=<other>"]
    Z = pre.transform(pd.DataFrame({"colour": ["red", "pink", "violet", None]}))
    np.testing.assert_array_equal(Z, [[0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1]])
    # Without rare levels in training, an unseen level (or gap) is all zeros: no input it never saw.
    plain = TablePreprocessor().fit(X)
    np.testing.assert_array_equal(plain.transform(pd.DataFrame({"colour": ["violet", None]})), 0)


def test_an_identifier_column_is_pointed_out(penguins):
    X = penguins.assign(name=[f"bird {i}" for i in range(len(penguins))])[["name", "year"]]
    with pytest.warns(TableNote, match="Every row has its own value: an identifier"):
        TablePreprocessor().fit(X)


def test_forced_categorical_integer_codes_and_mixed_spellings_of_one_level():
    X = pd.DataFrame({"code": [1, 2, 2, 3], "x": [0.5, 1.5, 2.5, 3.5]})
    pre = TablePreprocessor(categorical=["code"]).fit(X)
    assert pre.get_feature_names_out() == ["code=1", "code=2", "code=3", "x"]
    # 2.0 (an int column with gaps reads as floats) and "2" are the level 2.
    Z = pre.transform(pd.DataFrame({"code": [2.0, np.nan], "x": [1.0, 1.0]}))
    np.testing.assert_array_equal(Z[:, :3], [[0, 1, 0], [0, 0, 0]])
    assert pre.transform(pd.DataFrame({"code": ["2"], "x": [1.0]}))[0, 1] == 1


def test_booleans_with_gaps_are_numbers_with_an_indicator():
    X = pd.DataFrame({"member": [True, False, None, True]})
    pre = TablePreprocessor().fit(X)
    c = pre.get_config()["columns"][0]
    assert c["kind"] == "boolean" and c["median"] == 1.0 and c["missing"] == 1
    assert pre.get_feature_names_out() == ["member", "member=<missing>"]


def test_text_among_numbers_is_categorical_with_a_note():
    values = [str(v) for v in range(20)] + ["n/a?"]
    with pytest.warns(TableNote, match="column 'x' holds numbers, but also 'n/a\\?': it is taken "
                                       "for categorical"):
        TablePreprocessor().fit(pd.DataFrame({"x": values}))


def test_a_numeric_column_must_stay_numeric_and_finite_at_transform():
    pre = TablePreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    assert pre.transform(pd.DataFrame({"a": [np.nan]}))[0, 0] == 0.0  # the median, standardised
    with pytest.raises(ValueError, match=r"X: column 'a' holds 'abc' \(row 2\), not a number, but "
                                         "the column was numeric in training."):
        pre.transform(pd.DataFrame({"a": ["1", "abc"]}))
    with pytest.raises(ValueError, match=r"X: column 'a' holds inf \(row 1\); expected finite numbers"):
        pre.transform(pd.DataFrame({"a": [np.inf]}))


def test_columns_are_found_by_name_and_extra_ones_ignored(penguins):
    X, _ = split_target(penguins, "species")
    pre = TablePreprocessor(drop=["year"]).fit(X)
    shuffled = X[list(reversed(X.columns))].assign(extra="x")
    np.testing.assert_array_equal(pre.transform(shuffled), pre.transform(X))
    with pytest.raises(ValueError, match=r"X has no column\(s\) 'island', 'sex', which the model was "
                                         "trained on; its columns are: bill_length_mm"):
        pre.transform(X.drop(columns=["island", "sex"]))


def test_arrays_are_columns_x0_x1_by_position():
    X = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 30.0]])
    pre = TablePreprocessor(features=["x1"]).fit(X)
    assert pre.columns_ == ["x1"] and pre.get_feature_names_out() == ["x1", "x1=<missing>"]
    filled = np.array([10.0, 20.0, 30.0])  # the gap holds the median
    np.testing.assert_allclose(pre.transform(X)[:, 0], (filled - filled.mean()) / filled.std())
    with pytest.raises(ValueError, match="X has 1 columns, but the preprocessor was fitted on 2; "
                                         "give the same columns in the same order, or a DataFrame."):
        pre.transform(X[:, :1])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_levels": 0}, ValueError, "expected a positive integer. Received: max_levels=0"),
        ({"features": ["mass"]}, ValueError, r"features names column\(s\) 'mass' that X does not have; "
                                             "its columns are: species, island"),
        ({"drop": ["mass"]}, ValueError, r"drop names column\(s\) 'mass' that X does not have"),
        ({"categorical": ["mass"]}, ValueError, r"categorical names column\(s\) 'mass'"),
        ({"features": ["year"], "drop": ["year"]}, ValueError, "features and drop leave no column"),
        ({"features": 3.5}, TypeError, "features must be a list of column names; received 3.5."),
    ],
)
def test_preprocessor_option_errors(penguins, kwargs, error, message):
    with pytest.raises(error, match=message):
        TablePreprocessor(**kwargs).fit(penguins)


def test_preprocessor_table_errors():
    with pytest.raises(TypeError, match="column 'when' holds datetime64"):
        TablePreprocessor().fit(pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-02-01"])}))
    with pytest.warns(TableNote, match="column 'b' has no values in the training rows; it is ignored"):
        pre = TablePreprocessor().fit(pd.DataFrame({"a": [1, 2], "b": [None, None]}))
    assert pre.columns_ == ["a"] and pre.ignored_[0]["name"] == "b"
    with pytest.raises(ValueError, match="X has no usable feature column"), \
            pytest.warns(TableNote):
        TablePreprocessor().fit(pd.DataFrame({"b": [None, None]}))
    with pytest.raises(ValueError, match="X has no rows"):
        TablePreprocessor().fit(pd.DataFrame({"a": []}))
    with pytest.raises(RuntimeError, match="This TablePreprocessor is not fitted yet; call fit"):
        TablePreprocessor().transform(pd.DataFrame({"a": [1]}))


def test_the_config_is_plain_json_and_rebuilds_the_same_transform(penguins):
    X, _ = split_target(penguins, "species")
    pre = TablePreprocessor(categorical=["year"], max_levels=2).fit(X)
    config = json.loads(json.dumps(pre.get_config(), allow_nan=False))
    again = TablePreprocessor.from_config(config)
    np.testing.assert_array_equal(again.transform(X), pre.transform(X))
    assert again.describe() == pre.describe()
    with pytest.raises(ValueError, match="config must be a dict from TablePreprocessor.get_config"):
        TablePreprocessor.from_config({"class_name": "Other"})
    config["columns"][1]["scale"] = 0
    with pytest.raises(ValueError, match="the scale of column 'bill_length_mm' must be positive"):
        TablePreprocessor.from_config(config)


# ----------------------------------------------------------------------------- the model
def _model_for(X, y, task="auto", epochs=30, seed=0):
    pre, enc = TablePreprocessor().fit(X), TargetEncoder(task).fit(y, "y")
    Z, t = pre.transform(X), enc.transform(y)
    if enc.task_ == "classification":
        k = enc.n_classes
        shapes, acts = ((Z.shape[1], 8), (8, 1 if k == 2 else k)), ["tanh", "sigmoid" if k == 2 else "softmax"]
        loss = "binary_crossentropy" if k == 2 else "categorical_crossentropy"
    else:
        shapes, acts, loss = ((Z.shape[1], 8), (8, 1)), ["tanh", "linear"], "mse"
    model = NeuralNet(shapes, activations=acts, loss=loss, seed=seed)
    model.fit(Z, t, epochs=epochs, verbose=0)
    model.preprocessor, model.target_encoder = pre, enc
    return model, Z, t


def test_predict_on_a_dataframe_applies_the_preprocessing_and_gives_labels(penguins):
    X, y = split_target(penguins, "species")
    model, Z, t = _model_for(X, y)
    np.testing.assert_array_equal(model.predict(X), model.predict(Z))
    labels = model.predict_classes(X)
    assert set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}
    np.testing.assert_array_equal(labels, np.array(model.target_encoder.classes_)[model.predict_classes(Z)])
    assert (labels == y.to_numpy()).mean() > 0.95
    # An array is the network's own inputs and outputs: indices, not labels.
    assert model.predict_classes(Z).dtype == np.int64
    logs = model.evaluate(X, "species" if "species" in X else y)
    assert logs == model.evaluate(Z, t)
    # A row with an unseen island and gaps everywhere still gets a prediction.
    odd = X.iloc[:1].assign(island="Atlantis", bill_length_mm=np.nan, sex=None)
    assert np.isfinite(model.predict(odd)).all() and model.predict_classes(odd)[0] in model.target_encoder.classes_
    # One row as a Series works too.
    np.testing.assert_array_equal(model.predict(X.iloc[3]), model.predict(X.iloc[[3]]))


def test_evaluate_on_a_dataframe_takes_the_target_by_name_and_drops_missing_ones(penguins):
    X, y = split_target(penguins, "sex")
    model, Z, t = _model_for(X, y)
    with pytest.warns(TableNote, match=r"11 row\(s\) without a value for the target 'y' dropped"):
        logs = model.evaluate(penguins, "sex")
    assert logs == pytest.approx(model.evaluate(Z, t))
    with pytest.raises(ValueError, match="X has no column 'mass' to take the targets from"):
        model.evaluate(penguins, "mass")


def test_a_regression_predicts_in_the_targets_units(diabetes):
    X, y = split_target(diabetes, "target")
    model, Z, t = _model_for(X, y, epochs=20)
    out = model.predict(X)
    enc = model.target_encoder
    np.testing.assert_allclose(out, model.predict(Z) * enc.scale_ + enc.mean_)
    assert out.dtype == np.float64 and 100 < out.mean() < 200


def test_the_preprocessing_is_saved_in_the_model_file_without_pickle(penguins, tmp_path):
    X, y = split_target(penguins, "species")
    model, _, _ = _model_for(X, y)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        header = json.loads(archive["header"].tobytes().decode("utf-8"))
    assert header["format_version"] == 3
    assert header["preprocessor"]["features"]["columns"][0]["levels"] == ["Biscoe", "Dream", "Torgersen"]
    assert header["preprocessor"]["target"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    loaded = neuralnet.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_classes(X), model.predict_classes(X))
    model.preprocessor = object()
    with pytest.raises(ValueError, match="its preprocessor is a object, not a neuralnet.tabular.TablePreprocessor"):
        model.save(tmp_path / "bad.npz")


def test_a_model_without_preprocessor_keeps_its_plain_paths(tmp_path):
    model = NeuralNet(((2, 1),), seed=0)
    model.save(tmp_path / "plain.npz")
    loaded = neuralnet.load(tmp_path / "plain.npz")
    assert loaded.preprocessor is None and loaded.target_encoder is None
    frame = pd.DataFrame({"a": [0.5, 1.0], "b": [2.0, -1.0]})
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy()))


def test_a_bad_preprocessor_record_is_refused(penguins, tmp_path):
    from test_io import _rewrite

    X, y = split_target(penguins, "species")
    model, _, _ = _model_for(X, y, epochs=1)
    model.save(tmp_path / "m.npz")

    def damage(header, arrays):
        header["preprocessor"]["features"]["columns"][0]["kind"] = "colour"
        header["header_sha256"] = neuralnet.io._header_digest(header)  # a consistent edit

    _rewrite(tmp_path / "m.npz", tmp_path / "bad.npz", damage)
    with pytest.raises(ValueError, match="bad.npz': its table preprocessing is invalid \\(a column "
                                         "record must be a dict with a kind in"):
        neuralnet.load(tmp_path / "bad.npz")


def test_a_format_2_file_with_the_old_cli_scaling_loads_and_predicts_right(tmp_path):
    """Format 2 kept the CLI's feature scaling in the metadata; it becomes the preprocessor."""
    from test_io import _rewrite

    X, y = load_breast_cancer(return_X_y=True)
    mean, std = X.mean(axis=0), X.std(axis=0)
    model = NeuralNet(((30, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=0)
    model.fit((X - mean) / std, y, epochs=5, verbose=0)
    names = [f"f{j}" for j in range(30)]
    model.metadata = {"feature_names": names, "target": "label",
                      "scaling": {"mean": mean.tolist(), "scale": std.tolist()}}
    model.save(tmp_path / "new.npz")

    def as_format_2(header, arrays):
        header["format_version"] = 2
        del header["preprocessor"]

    _rewrite(tmp_path / "new.npz", tmp_path / "old.npz", as_format_2)
    old = neuralnet.load(tmp_path / "old.npz")
    assert old.metadata == {"feature_names": names, "target": "label"}
    assert old.preprocessor.columns_ == names and old.target_encoder.classes_ == [0, 1]
    frame = pd.DataFrame(X, columns=names)
    expected = model.predict(((X - mean) / std).astype(np.float32))
    np.testing.assert_allclose(old.predict(frame), expected, rtol=1e-5)
    assert (old.predict_classes(frame) == y).mean() > 0.9
