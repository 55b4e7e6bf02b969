"""The scikit-learn estimators: scikit-learn's own checks, then each task and the API by hand."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_blobs, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuralnet import Adam
from neuralnet.datasets import make_moons
from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

# Small networks and few epochs keep scikit-learn's ~110 checks to a few seconds; the learning
# rate is raised so that these few epochs still reach the scores the checks demand (accuracy
# > 0.83 on blobs, R^2 > 0.5 on a noisy linear problem).
SMALL = dict(hidden_layer_sizes=(16,), learning_rate=0.02, epochs=40)


# No expected failures and nothing skipped: the dev extra installs pandas and array-api-compat,
# and tests/conftest.py sets SCIPY_ARRAY_API=1, so the pandas and array-API checks run too.
# The checks' random data kill many ReLUs of the small network, which NeuralNet's
# TrainingWarning rightly reports; it is noise here.
@pytest.mark.filterwarnings("ignore::neuralnet.diagnostics.TrainingWarning")
@parametrize_with_checks([NeuralNetClassifier(**SMALL), NeuralNetRegressor(**SMALL)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# The hand-written tests run fixed, small numbers of epochs: that they end before convergence
# is expected. One test below checks the warning itself.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------------ helpers
def blobs(n=150, centers=3, seed=0):
    X, y = make_blobs(n, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(X), y


def clf(**kwargs):
    return NeuralNetClassifier(**{**SMALL, "random_state": 0, **kwargs})


def reg(**kwargs):
    return NeuralNetRegressor(**{**SMALL, "random_state": 0, **kwargs})


# -------------------------------------------------------------------- tasks
def test_decision_function_is_the_logits_and_ranks_like_predict_proba():
    X, y = make_moons(200, noise=0.1, seed=0)
    binary = clf().fit(X, y)
    scores = binary.decision_function(X)
    assert scores.shape == (200,)
    np.testing.assert_array_equal(binary.predict(X), binary.classes_[(scores >= 0).astype(int)])
    np.testing.assert_allclose(binary.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6)
    Xb, yb = blobs()
    multi = clf().fit(Xb, yb)
    logits = multi.decision_function(Xb)
    assert logits.shape == (len(Xb), 3)
    np.testing.assert_array_equal(multi.predict(Xb), multi.classes_[logits.argmax(axis=1)])


def test_binary_classification_one_sigmoid_output_and_string_labels():
    X, y = make_moons(300, noise=0.1, seed=0)
    labels = np.array(["inner", "outer"])[y]
    model = clf(hidden_layer_sizes=(32, 32), epochs=60).fit(X, labels)
    net = model.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (
        1, "sigmoid", "binary_crossentropy"
    )
    assert list(model.classes_) == ["inner", "outer"]
    proba = model.predict_proba(X)
    assert proba.shape == (300, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], net.predict(X)[:, 0])
    assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()
    assert model.score(X, labels) > 0.95


def test_multiclass_softmax_with_string_labels():
    X, y = blobs(150, centers=3)
    labels = np.array(["a", "b", "c"])[y]
    model = clf().fit(X, labels)
    net = model.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (
        3, "softmax", "categorical_crossentropy"
    )
    assert model.predict(X).dtype == labels.dtype
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()
    assert model.score(X, labels) > 0.9


def test_multilabel_sigmoid_outputs_on_an_indicator_matrix():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(np.int64)
    model = clf(epochs=60).fit(X, Y)
    net = model.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (
        3, "sigmoid", "binary_crossentropy"
    )
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    pred = model.predict(X)
    assert pred.shape == (200, 3) and pred.dtype == Y.dtype
    proba = model.predict_proba(X)
    assert proba.shape == (200, 3)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert model.score(X, Y) > 0.9  # subset accuracy: every label of a row right


def test_regression_single_and_multi_output():
    X, y = make_regression(200, 4, n_targets=2, noise=1.0, random_state=0)
    y = StandardScaler().fit_transform(y)
    multi = reg(epochs=60).fit(X, y)
    net = multi.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (2, "linear", "mse")
    assert multi.predict(X).shape == (200, 2) and multi.predict(X).dtype == np.float64
    assert multi.score(X, y) > 0.95
    single = reg(epochs=60).fit(X, y[:, 0])
    assert single.n_outputs_ == 1 and single.predict(X).shape == (200,)
    assert single.score(X, y[:, 0]) > 0.95


def test_fitted_attributes():
    X, y = blobs(90)
    model = clf(epochs=5).fit(X, y)
    assert model.n_features_in_ == 2 and model.n_outputs_ == 3
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 5
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.validation_scores_ is None
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.model_.epoch == 5


# ------------------------------------------------------- epochs and stopping
def test_max_iter_is_an_alias_of_epochs_and_wins_when_set():
    X, y = blobs(60)
    assert clf(epochs=4, tol=0.0).fit(X, y).n_iter_ == 4
    assert clf(epochs=4, max_iter=3, tol=0.0).fit(X, y).n_iter_ == 3


def test_tol_stops_after_n_iter_no_change_epochs_without_improvement():
    # A tol larger than any loss change: epoch 1 sets the best loss, epochs 2..n+2 fail to
    # beat it by tol, and the count exceeds n_iter_no_change after epoch n + 2 (MLP's rule).
    X, y = blobs(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = clf(tol=10.0, n_iter_no_change=3, epochs=50).fit(X, y)
    assert model.n_iter_ == 5


def test_running_out_of_epochs_warns():
    X, y = blobs(60)
    with pytest.warns(ConvergenceWarning, match=r"maximum number of epochs \(2\) was reached"):
        clf(epochs=2).fit(X, y)


def test_early_stopping_scores_a_validation_split_and_restores_the_best_weights():
    X, y = blobs(200)
    labels = np.array(["a", "b", "c"])[y]
    model = clf(early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                      epochs=30, learning_rate=0.05).fit(X, labels)
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    # The restored weights are the best epoch's: re-scoring the same split reproduces it.
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    rng = check_random_state(0)
    rng.randint(np.iinfo(np.int32).max)  # the draw that seeded the network
    _, X_val, _, y_val = train_test_split(X, labels, test_size=0.2, random_state=rng,
                                          stratify=labels)
    assert model.score(X_val, y_val) == model.best_validation_score_


def test_early_stopping_regressor_scores_r2():
    X, y = make_regression(120, 3, noise=5.0, random_state=0)
    model = reg(early_stopping=True, epochs=20).fit(X, y / y.std())
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ > 0.5


def test_early_stopping_needs_two_validation_samples():
    X, y = blobs(12)
    with pytest.raises(ValueError, match=r"validation set has 1 sample\(s\), but early stopping"):
        reg(early_stopping=True, validation_fraction=0.05).fit(X, y.astype(float))


# ----------------------------------------------------------------- alpha
def _sklearn_objective(task, outputs, targets, weights, alpha, m):
    """MLPClassifier / MLPRegressor's batch objective, written out from scikit-learn's _base.py."""
    penalty = 0.5 * alpha * sum(float(np.sum(w[:-1] ** 2)) for w in weights) / m
    if task == "regression":
        return 0.5 * np.mean((targets - outputs) ** 2) + penalty
    p = outputs
    if task == "multiclass":
        return -np.sum(targets * np.log(p)) / m + penalty
    bce = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    return bce.sum() / m + penalty  # summed over the sigmoid outputs


@pytest.mark.parametrize(
    ("task", "factor"), [("binary", 1.0), ("multiclass", 1.0), ("multilabel", 1 / 3),
                         ("regression", 2.0)]
)
def test_alpha_gives_a_constant_multiple_of_sklearns_objective(task, factor):
    X, y = blobs(40)
    if task == "binary":
        y = y % 2
    elif task == "multilabel":
        y = np.eye(3, dtype=int)[y] | (X[:, :1] > 0)
    alpha = 0.7
    est = reg if task == "regression" else clf
    # One full batch of all 40 samples, so m = 40 in both formulas.
    model = est(alpha=alpha, batch_size="auto", epochs=1).fit(X, y)
    m = len(X)
    if task == "regression":
        targets = y.astype(float)[:, None]
        expected_l2 = 2 * alpha / m
    else:
        targets = model._label_binarizer.transform(y).astype(float)
        expected_l2 = alpha / m * (1 / 3 if task == "multilabel" else 1)
    assert all(layer.l2 == pytest.approx(expected_l2) for layer in model.model_.layers.dense)
    ours = model.model_.loss(X, targets)
    theirs = _sklearn_objective(task, model.model_.predict(X), targets,
                                model.model_.get_weights(), alpha, m)
    assert ours == pytest.approx(factor * theirs, rel=1e-10)


def test_batch_size_auto_is_min_200_n_samples():
    X, y = blobs(300)
    model = clf(batch_size="auto", epochs=1, alpha=1.0).fit(X, y)
    assert model.model_.layers.dense[0].l2 == pytest.approx(1.0 / 200)
    model = clf(batch_size="auto", epochs=1, alpha=1.0).fit(X[:50], y[:50])
    assert model.model_.layers.dense[0].l2 == pytest.approx(1.0 / 50)


# ------------------------------------------------------ partial_fit, warm start
def test_classifier_partial_fit_one_epoch_per_call_keeps_optimizer_state():
    X, y = blobs(90)
    model = clf()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[:45], y[:45], classes=[0, 1, 2])
    net, steps = model.model_, model.model_.optimizer.iterations
    model.partial_fit(X[45:], y[45:])
    assert model.model_ is net and model.n_iter_ == 2 and len(model.loss_curve_) == 2
    assert model.model_.optimizer.iterations > steps
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_partial_fit_with_only_some_classes_in_the_first_batch():
    X, y = blobs(90)
    model = clf().partial_fit(X[y < 2], y[y < 2], classes=np.array([0, 1, 2]))
    assert model.model_.n_outputs == 3
    model.partial_fit(X[y == 2], y[y == 2])
    assert model.n_iter_ == 2


def test_partial_fit_errors():
    X, y = blobs(90)
    model = clf().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y has classes not seen in the first fit: \[7\]"):
        model.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from the classes"):
        model.partial_fit(X, y % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="y is 'multilabel-indicator', but the classifier"):
        model.partial_fit(X[:4], np.eye(3, dtype=int)[[0, 1, 2, 0]] | 1)
    with pytest.raises(ValueError, match="X has 1 features, but NeuralNetClassifier is expecting"):
        model.partial_fit(X[:, :1], y)


def test_regressor_partial_fit_and_target_count():
    X, y = make_regression(60, 3, n_targets=2, random_state=0)
    model = reg().partial_fit(X, y).partial_fit(X, y)
    assert model.n_iter_ == 2
    with pytest.raises(ValueError, match=r"y has 1 target column\(s\), but the network was"):
        model.partial_fit(X, y[:, 0])


def test_warm_start_continues_and_cold_start_rebuilds():
    X, y = blobs(60)
    warm = clf(epochs=3, warm_start=True, tol=0.0)
    warm.fit(X, y)
    net, weights = warm.model_, warm.model_.get_weights()
    warm.fit(X, y)
    assert warm.model_ is net and warm.n_iter_ == 6 and len(warm.loss_curve_) == 6
    cold = clf(epochs=3, tol=0.0)
    cold.fit(X, y)
    first = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not first and cold.n_iter_ == 3
    np.testing.assert_array_equal(first.get_weights()[0], cold.model_.get_weights()[0])
    assert not np.array_equal(weights[0], warm.model_.get_weights()[0])
    warm.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match=r"warm_start continues the fitted network of layer "
                                         r"shapes \(\(2, 16\), \(16, 3\)\), but the current"):
        warm.fit(X, y)


# ---------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_layer_sizes": (16, 0)}, r"`hidden_layer_sizes`, expected a positive integer"),
        ({"hidden_layer_sizes": "16"}, r"Received: hidden_layer_sizes='16'"),
        ({"epochs": 0}, r"`epochs`, expected a positive integer. Received: epochs=0"),
        ({"max_iter": 2.5}, r"`max_iter`, expected a positive integer. Received: max_iter=2.5"),
        ({"batch_size": 0}, r"`batch_size`, expected a positive integer or 'auto'"),
        ({"learning_rate": -1}, r"`learning_rate`, expected a positive number or a schedule"),
        ({"alpha": -0.1}, r"`alpha`, expected a non-negative number. Received: alpha=-0.1"),
        ({"tol": None}, r"`tol`, expected a non-negative number. Received: tol=None"),
        ({"n_iter_no_change": 0}, r"`n_iter_no_change`, expected a positive integer"),
        ({"validation_fraction": 1.0}, r"`validation_fraction`, expected a number in \(0, 1\)"),
        ({"activation": "swishy"}, r"Unknown activation 'swishy'"),
        ({"optimizer": "lbfgs"}, r"Unknown optimizer 'lbfgs'"),
        ({"dtype": "int8"}, r"dtype"),
    ],
)
def test_invalid_parameters_fail_at_fit_not_in_init(params, message):
    X, y = blobs(30)
    for est in (NeuralNetClassifier(**params), NeuralNetRegressor(**params)):
        assert est.get_params()[next(iter(params))] == next(iter(params.values()))
        with pytest.raises(ValueError, match=message):
            est.fit(X, y)
        with pytest.raises(ValueError, match=message):
            est.partial_fit(X, y, **({"classes": [0, 1, 2]} if is_classifier(est) else {}))


def test_one_class_is_an_error():
    X, y = blobs(30)
    with pytest.raises(ValueError, match=r"at least 2 classes, but the data contain only one "
                                         r"class: 'x'"):
        clf().fit(X, np.full(30, "x"))


def test_defaults_follow_the_issue():
    params = NeuralNetClassifier().get_params()
    assert params == NeuralNetRegressor().get_params() == {
        "hidden_layer_sizes": (100,), "activation": "relu", "optimizer": "adam",
        "learning_rate": 1e-3, "batch_size": 32, "epochs": 200, "max_iter": None,
        "alpha": 1e-4, "early_stopping": False, "validation_fraction": 0.1,
        "n_iter_no_change": 10, "tol": 1e-4, "random_state": None, "verbose": 0,
        "warm_start": False, "dtype": "float64",
    }


def test_float32_network_still_returns_float64():
    X, y = blobs(60)
    model = clf(dtype="float32").fit(X, y)
    assert model.model_.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float64


def test_optimizer_instance_is_copied_not_shared():
    X, y = blobs(60)
    adam = Adam(beta_1=0.8)
    model = clf(optimizer=adam, learning_rate=0.01, epochs=2).fit(X, y)
    assert adam.state == {} and adam.iterations == 0
    assert model.model_.optimizer is not adam
    assert model.model_.optimizer.beta_1 == 0.8
    assert model.model_.optimizer.learning_rate == 0.01  # the estimator's learning_rate wins


def test_learning_rate_schedule():
    X, y = blobs(60)
    model = clf(learning_rate=lambda epoch: 0.1 / (1 + epoch), epochs=3).fit(X, y)
    assert model.model_.optimizer.learning_rate == pytest.approx(0.1 / 3)


def test_random_state_makes_training_reproducible():
    X, y = blobs(60)
    a, b, c = (clf(random_state=s, epochs=3).fit(X, y) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_verbose_prints_each_epoch(capsys):
    X, y = blobs(60)
    clf(epochs=2, verbose=2).fit(X, y)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "loss:" in err


# ------------------------------------------------------- scikit-learn tools
def test_pipeline_cross_val_score_and_grid_search():
    X, y = make_moons(200, noise=0.15, seed=1)
    X = X * [100.0, 0.01]  # badly scaled: the pipeline's scaler matters
    pipe = make_pipeline(StandardScaler(), clf(hidden_layer_sizes=(16, 16), epochs=30))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    search = GridSearchCV(pipe, {"neuralnetclassifier__learning_rate": [1e-4, 0.03]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"neuralnetclassifier__learning_rate": 0.03}
    assert search.best_score_ == search.cv_results_["mean_test_score"].max()
    assert search.score(X, y) > 0.85


def test_pickle_round_trip_and_clone():
    X, y = blobs(60)
    model = clf(epochs=3).fit(X, np.array(["a", "b", "c"])[y])
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_params() == model.get_params()
    loaded.set_params(warm_start=True).fit(X, np.array(["a", "b", "c"])[y])
    assert loaded.n_iter_ == 6  # a loaded model trains on
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "model_") and not hasattr(fresh, "classes_")


@pytest.mark.parametrize("mmap", [False, True], ids=["pickle", "joblib-memmap"])
def test_training_resumes_after_pickling_with_the_optimizer_state(mmap, tmp_path):
    import joblib

    X, y = blobs(60)
    model = clf(epochs=3).fit(X, y)
    if mmap:  # joblib memory-maps the arrays read-only; training must still write its own
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    else:
        loaded = pickle.loads(pickle.dumps(model))
    (state,) = loaded.model_.optimizer.state.values()
    assert state["step"] == model.model_.optimizer.iterations
    assert list(loaded.model_.optimizer.state) == [id(loaded.model_._flat_weights)]
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)  # the same Adam moments, step count and shuffling: the same update
    for ours, theirs in zip(model.model_.get_weights(), loaded.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.base", None)
    monkeypatch.delitem(sys.modules, "neuralnet.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'neuralnet\[sklearn\]'"):
        import neuralnet.sklearn  # noqa: F401
