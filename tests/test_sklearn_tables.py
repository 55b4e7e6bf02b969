"""The estimators on a raw DataFrame: text, booleans and gaps, no ColumnTransformer."""

import numpy as np
import pytest
from palmerpenguins import load_penguins
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split

import neuralnet
from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor


@pytest.fixture(scope="module")
def penguins():
    table = load_penguins()
    return table.drop(columns="species"), table["species"]


def test_a_classifier_trains_on_the_raw_penguins_table(penguins, tmp_path):
    X, y = penguins
    import pandas as pd

    assert X.isna().to_numpy().any()
    assert any(not pd.api.types.is_numeric_dtype(d) for d in X.dtypes)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    clf = NeuralNetClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.preprocessor_ is not None and clf.n_features_in_ == X.shape[1]
    assert list(clf.feature_names_in_) == list(X.columns)
    labels = clf.predict(X_test)
    assert set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert clf.score(X_test, y_test) >= 0.95
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # The saved network keeps the encoding: predict on the raw table, outside the estimator.
    clf.model_.save(tmp_path / "p.npz")
    loaded = neuralnet.load(tmp_path / "p.npz")
    np.testing.assert_allclose(loaded.predict(X_test), proba, rtol=1e-6)


def test_the_table_estimator_matches_logistic_regression_in_cross_validation(penguins):
    X, y = penguins
    rows = X.notna().all(axis=1)  # LogisticRegression needs numbers without gaps
    numeric = X.loc[rows, ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                           "body_mass_g"]]
    baseline = cross_val_score(LogisticRegression(max_iter=2000), numeric, y[rows], cv=3).mean()
    ours = cross_val_score(NeuralNetClassifier(hidden_layer_sizes=(16,), max_iter=200,
                                               random_state=0), X, y, cv=3).mean()
    assert ours >= baseline - 0.02


def test_a_regressor_on_a_table_with_text_and_gaps(penguins):
    X, _ = penguins
    X = X.copy()
    y = X.pop("body_mass_g")
    keep = y.notna()
    reg = NeuralNetRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    reg.fit(X[keep], (y[keep] - y.mean()) / y.std())
    assert reg.score(X[keep], (y[keep] - y.mean()) / y.std()) > 0.7


def test_a_missing_training_column_is_named(penguins):
    X, y = penguins
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="island"):
        clf.predict(X.drop(columns="island"))


def test_a_numeric_frame_takes_scikit_learns_usual_path():
    import pandas as pd

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    assert not hasattr(clf, "preprocessor_") and list(clf.feature_names_in_) == ["a", "b", "c"]
