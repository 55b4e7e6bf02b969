"""The scikit-learn estimators: scikit-learn's own checks, parity with MLPClassifier / MLPRegressor,
then each task and the API by hand."""

import inspect
import pickle
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_blobs, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuralnet import Adam, Dropout
from neuralnet.datasets import make_moons
from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

# Small networks and few epochs keep scikit-learn's ~130 checks to a few seconds; the learning
# rate is raised so that these few epochs still reach the scores the checks demand (accuracy
# > 0.83 on blobs, R^2 > 0.5 on a noisy linear problem).
SMALL = dict(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=40)


# No expected failures and nothing skipped: the dev extra installs pandas and array-api-compat,
# and tests/conftest.py sets SCIPY_ARRAY_API=1, so the pandas and array-API checks run too.
@parametrize_with_checks([NeuralNetClassifier(**SMALL), NeuralNetRegressor(**SMALL)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# The hand-written tests run fixed, small numbers of epochs: that they end before convergence
# is expected. The tests of the warnings themselves catch them with pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------------ helpers
def blobs(n=150, centers=3, seed=0):
    X, y = make_blobs(n, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(X), y


def clf(**kwargs):
    return NeuralNetClassifier(**{**SMALL, "random_state": 0, **kwargs})


def reg(**kwargs):
    return NeuralNetRegressor(**{**SMALL, "random_state": 0, **kwargs})


def regression(n=120, targets=1, seed=0):
    X, y = make_regression(n, 4, n_targets=targets, noise=1.0, random_state=seed)
    return X, y / y.std()


# ----------------------------------------------- the same parameters as MLPClassifier
@pytest.mark.parametrize(("ours", "theirs"), [(NeuralNetClassifier, MLPClassifier),
                                              (NeuralNetRegressor, MLPRegressor)])
def test_every_mlp_parameter_with_its_default_and_position(ours, theirs):
    mlp = inspect.signature(theirs.__init__).parameters
    params = inspect.signature(ours.__init__).parameters
    assert list(params)[: len(mlp)] == list(mlp)  # same order, positional ones first
    for name, p in mlp.items():
        assert params[name].kind == p.kind and params[name].default == p.default, name
    extras = {name: p.default for name, p in params.items() if name not in mlp}
    assert extras == {"optimizer": None, "dropout": 0.0, "dtype": None, "epochs": None,
                      "batch_norm": False}


# ------------------------------------------ parity: the same numbers as scikit-learn
def _parity(ours, theirs, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**params).fit(X, y)
        b = theirs(**params).fit(X, y)
    return a, b


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression", "poisson",
                                  "multioutput"])
def test_full_batch_training_equals_scikit_learn(task, solver):
    # Full batches and no shuffling: the same initial weights (same random_state) and the same
    # steps must give scikit-learn's losses and weights to rounding.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    ours, theirs, params = NeuralNetClassifier, MLPClassifier, {}
    if task == "binary":
        y = (X[:, 0] > 0).astype(int)
    elif task == "multiclass":
        y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    elif task == "multilabel":
        y = (X[:, :3] > 0).astype(int)
    else:
        ours, theirs = NeuralNetRegressor, MLPRegressor
        y = X[:, 0] - 2 * X[:, 1] if task != "multioutput" else X[:, :2] @ [[1, 2], [3, -1]]
        if task == "poisson":
            y, params = rng.poisson(np.exp(0.5 * X[:, 0])), {"loss": "poisson"}
    params.update(solver=solver, hidden_layer_sizes=(7, 5), activation="tanh", alpha=0.01,
                  batch_size=60, shuffle=False, max_iter=15, random_state=3,
                  learning_rate_init=0.05, learning_rate="invscaling", power_t=0.3)
    a, b = _parity(ours, theirs, X, y, **params)
    assert a.n_iter_ == b.n_iter_ and a.out_activation_ == b.out_activation_
    if task == "multioutput":
        # scikit-learn's gradient sums the targets' squared errors, its loss_ averages them;
        # the steps follow the gradient, loss_ its objective. L-BFGS minimises that objective,
        # where scikit-learn gives L-BFGS the two inconsistent ones.
        if solver == "lbfgs":
            assert a.loss_ == pytest.approx(2 * b.loss_, rel=0.05)
            return
    else:
        np.testing.assert_allclose(a.loss_, b.loss_, rtol=1e-9)
    if solver != "lbfgs":
        if task != "multioutput":
            np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)
        assert a.t_ == b.t_ == 15 * 60
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(ca, cb, rtol=1e-7, atol=1e-10)


def test_sgd_momentum_adaptive_rate_and_early_stopping_equal_scikit_learn():
    X, y = blobs(200)
    params = dict(solver="sgd", momentum=0.8, nesterovs_momentum=False, learning_rate="adaptive",
                  learning_rate_init=0.5, tol=0.05, n_iter_no_change=2, batch_size=160,
                  shuffle=False, hidden_layer_sizes=(8,), max_iter=60, random_state=1,
                  early_stopping=True, validation_fraction=0.2)
    a, b = _parity(NeuralNetClassifier, MLPClassifier, X, y, **params)
    assert a.n_iter_ == b.n_iter_
    assert a.validation_scores_ == b.validation_scores_  # the same split, scored alike
    assert a.best_validation_score_ == b.best_validation_score_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)
    assert a._optimizer.learning_rate == pytest.approx(b._optimizer.learning_rate, rel=1e-12)
    assert a._optimizer.learning_rate < 0.5 / 5  # divided at least twice
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-7)  # the best epoch's


def test_adam_epsilon_hat_steps_equal_scikit_learns_adam_optimizer():
    rng = np.random.default_rng(0)
    p_ours = rng.normal(size=6)
    p_theirs = [p_ours.copy()]
    ours = Adam(0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-3, epsilon_hat=True)
    theirs = AdamOptimizer(p_theirs, 0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-3)
    for _ in range(5):
        g = rng.normal(size=6) * 1e-3  # gradients near epsilon, where its placement matters
        ours.step([p_ours], [g])
        theirs.update_params(p_theirs, [g])
    np.testing.assert_allclose(p_ours, p_theirs[0], rtol=1e-12)
    assert not np.allclose(p_ours, _adam_without_hat(rng))


def _adam_without_hat(rng):
    p = rng.normal(size=6)
    Adam(0.01, epsilon=1e-3).step([p], [np.full(6, 1e-3)])
    return p


def test_same_random_state_gives_scikit_learns_initial_weights():
    X, y = blobs(60)
    for activation in ("relu", "logistic"):  # logistic layers use sqrt(2 / ...) as the bound
        ours = clf(solver="sgd", learning_rate_init=1e-12, max_iter=1, activation=activation,
                   random_state=5).fit(X, y)
        theirs = MLPClassifier(solver="sgd", learning_rate_init=1e-12, max_iter=1,
                               activation=activation, hidden_layer_sizes=(16,),
                               random_state=5).fit(X, y)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, atol=1e-9)


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
    model = clf(hidden_layer_sizes=(32, 32), max_iter=60).fit(X, labels)
    net = model.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (
        1, "sigmoid", "binary_crossentropy"
    )
    assert model.out_activation_ == "logistic" and model.n_layers_ == 4
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
    assert model.out_activation_ == "softmax"
    assert model.predict(X).dtype == labels.dtype
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()
    assert model.score(X, labels) > 0.9


def test_predict_log_proba_is_the_log_of_predict_proba():
    X, y = blobs(90)
    for model in (clf().fit(X, y), clf().fit(X, y % 2)):
        log_proba = model.predict_log_proba(X)
        np.testing.assert_allclose(log_proba, np.log(model.predict_proba(X)))
        assert log_proba.shape == (90, len(model.classes_))


def test_multilabel_sigmoid_outputs_on_an_indicator_matrix():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(np.int64)
    model = clf(max_iter=60).fit(X, Y)
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
    multi = reg(max_iter=60).fit(X, y)
    net = multi.model_
    assert (net.n_outputs, net.output_activation.name, net.loss_fn.name) == (2, "linear", "mse")
    assert multi.out_activation_ == "identity" and multi.n_outputs_ == 2
    assert multi.predict(X).shape == (200, 2) and multi.predict(X).dtype == np.float64
    assert multi.score(X, y) > 0.95
    single = reg(max_iter=60).fit(X, y[:, 0])
    assert single.n_outputs_ == 1 and single.predict(X).shape == (200,)
    assert single.score(X, y[:, 0]) > 0.95


def test_poisson_regression_exponential_output_and_half_deviance():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 2))
    y = rng.poisson(np.exp(1 + X[:, 0] - X[:, 1]))
    model = reg(loss="poisson", solver="lbfgs", hidden_layer_sizes=(4,), max_iter=300).fit(X, y)
    assert model.out_activation_ == "exp" and model.model_.loss_fn.name == "half_poisson"
    assert (model.predict(X) > 0).all()
    mu = model.predict(X)
    positive = y > 0
    half_deviance = np.mean(np.where(positive, y * np.log(np.where(positive, y, 1) / mu), 0)
                            - y + mu)
    assert model.loss_ == pytest.approx(half_deviance + 0.5 * 1e-4 * sum(
        float((c ** 2).sum()) for c in model.coefs_) / len(X), rel=1e-6)
    with pytest.raises(ValueError, match=r"loss='poisson' needs targets y >= 0; received values "
                                         r"down to -1"):
        reg(loss="poisson").fit(X, y - 1.0)
    with pytest.raises(ValueError, match=r"`loss`, expected 'squared_error' or 'poisson'"):
        reg(loss="huber").fit(X, y)


def test_one_class_fits_and_predicts_that_class_as_mlp_does():
    X, y = blobs(30)
    model = clf().fit(X, np.full(30, "x"))
    np.testing.assert_array_equal(model.predict(X), np.full(30, "x"))
    np.testing.assert_array_equal(model.predict_proba(X), np.ones((30, 1)))


def test_fitted_attributes():
    X, y = blobs(90)
    model = clf(max_iter=5).fit(X, y)
    assert model.n_features_in_ == 2 and model.n_outputs_ == 3 and model.n_layers_ == 3
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 5 and model.t_ == 5 * 90
    assert model.loss_ == model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.model_.epoch == 5
    assert [c.shape for c in model.coefs_] == [(2, 16), (16, 3)]
    assert [b.shape for b in model.intercepts_] == [(16,), (3,)]


def test_feature_names_in_from_a_dataframe():
    import pandas as pd  # in the dev extra: CI always has it

    X, y = blobs(60)
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = clf(max_iter=2).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b"])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X)


# ------------------------------------------------------ coefs_ and intercepts_
def test_coefs_and_intercepts_are_views_of_the_absorbed_weights():
    X, y = blobs(60)
    model = clf(max_iter=3).fit(X, y)
    for layer, coef, intercept in zip(model.model_.layers.dense, model.coefs_, model.intercepts_):
        np.testing.assert_array_equal(layer.weights[:-1], coef)
        np.testing.assert_array_equal(layer.weights[-1], intercept)
    before = model.predict_proba(X)
    model.intercepts_[1][...] += np.array([5.0, 0.0, 0.0])  # in place: the network's weights
    assert model.model_.layers.dense[1].weights[-1, 0] == model.intercepts_[1][0]
    assert (model.predict_proba(X)[:, 0] > before[:, 0]).all()


def test_assigned_coefs_are_copied_into_the_network_before_partial_fit():
    X, y = blobs(60)
    model = clf(solver="sgd", momentum=0.0, learning_rate_init=0.1, alpha=0.0).fit(X, y)
    W = [np.zeros((2, 16)), np.zeros((16, 3))]
    model.coefs_ = W  # a new list: picked up by the next call
    model.intercepts_[1] = np.array([1.0, 0.0, 0.0])  # one new array in the list
    np.testing.assert_allclose(model.predict_proba(X), np.tile(np.exp([1, 0, 0]) /
                                                               np.exp([1, 0, 0]).sum(), (60, 1)))
    model.partial_fit(X, y)
    assert model.coefs_[0].base is model.model_.flat_weights  # views again
    assert np.abs(model.coefs_[1]).sum() > 0  # trained from the assigned zeros
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(3, 16\), but layer 0 of the "
                                         r"network takes \(2, 16\)"):
        model.coefs_ = [np.zeros((3, 16)), np.zeros((16, 3))]
        model.predict(X)


def test_coefs_assigned_before_the_first_partial_fit_are_the_starting_weights():
    # scikit-learn's test_fit does this: set the weights by hand, then one SGD step.
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    model = NeuralNetClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1,
                                activation="logistic", hidden_layer_sizes=2, momentum=0)
    model.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    model.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    model.partial_fit(X, y, classes=[0, 1])
    # One step worked out by hand in scikit-learn's test: W <- W - 0.1 (x^T delta + 0.1 W).
    np.testing.assert_allclose(model.coefs_[1], [[0.04706], [0.154089]], atol=1e-3)
    np.testing.assert_allclose(model.intercepts_[1], [0.9235], atol=1e-3)


# ------------------------------------------------------------- input kinds
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_sparse_input_trains_and_predicts_as_dense(container, solver):
    X, y = blobs(90)
    X = np.hstack([X, np.zeros((90, 6))])
    dense = clf(solver=solver, shuffle=False, max_iter=10).fit(X, y)
    sparse = clf(solver=solver, shuffle=False, max_iter=10).fit(container(X), y)
    np.testing.assert_allclose(sparse.predict_proba(container(X)), dense.predict_proba(X),
                               rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(dense.predict_proba(container(X)), dense.predict_proba(X))


def test_sparse_input_is_densified_one_batch_at_a_time(monkeypatch):
    from neuralnet import _sparse

    rows = []
    original = _sparse.CSRRows.toarray

    def recording(self, *args, **kwargs):
        rows.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_sparse.CSRRows, "toarray", recording)
    X, y = blobs(2500)
    X = sp.csr_matrix(np.hstack([X, np.zeros((2500, 5))]))
    model = clf(batch_size=32, max_iter=1).fit(X, y)
    assert set(rows) == {32, 2500 % 32, 128}  # the batches, the last one, the diagnostics' probe
    rows.clear()
    model.predict(X)
    assert rows == [1024, 1024, 452]  # predict's batches


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_network_computes_in_X_dtype_as_mlp(dtype):
    X, y = make_regression(60, 3, random_state=0)
    model = reg(max_iter=3).fit(X.astype(dtype), y)
    assert model.model_.dtype == dtype
    assert all(c.dtype == dtype for c in model.coefs_ + model.intercepts_)
    assert model.predict(X).dtype == dtype
    forced = reg(max_iter=3, dtype="float32").fit(X, y)  # the library's extra: a fixed dtype
    assert forced.model_.dtype == np.float32


# ------------------------------------------------------------ sample weights
def test_sample_weight_ones_is_no_weight_and_zero_is_removing_the_sample():
    X, y = blobs(60)
    plain = clf(max_iter=5).fit(X, y)
    ones = clf(max_iter=5).fit(X, y, sample_weight=np.ones(60))
    np.testing.assert_array_equal(plain.predict_proba(X), ones.predict_proba(X))
    w = np.ones(60)
    w[:10] = 0
    weighted = clf(solver="lbfgs", max_iter=20).fit(X, y, sample_weight=w)
    removed = clf(solver="lbfgs", max_iter=20).fit(X[10:], y[10:])
    # The same objective; the initial weights too, as they depend on the shapes only.
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), rtol=1e-6)


def test_sample_weight_in_partial_fit_changes_the_step():
    X, y = blobs(60)
    w = np.linspace(0.1, 2, 60)
    a = clf().partial_fit(X, y, classes=[0, 1, 2])
    b = clf().partial_fit(X, y, sample_weight=w, classes=[0, 1, 2])
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize(("weights", "message"), [
    (np.zeros(30), "sample_weight holds only zeros"),
    (-np.ones(30), r"sample_weight holds negative values \(down to -1\)"),
    (np.ones(29), r"sample_weight has shape \(29,\), but X has 30 samples"),
])
def test_bad_sample_weight(weights, message):
    X, y = blobs(30)
    with pytest.raises(ValueError, match=message):
        clf().fit(X, y, sample_weight=weights)


# ------------------------------------------------------- epochs and stopping
def test_epochs_is_an_alias_of_max_iter():
    X, y = blobs(60)
    assert NeuralNetClassifier(epochs=4, tol=0.0).fit(X, y).n_iter_ == 4
    with pytest.raises(ValueError, match=r"epochs=4 is an alias of max_iter, but max_iter=3 is "
                                         r"set too"):
        NeuralNetClassifier(epochs=4, max_iter=3).fit(X, y)


def test_learning_rate_number_is_an_alias_of_learning_rate_init():
    X, y = blobs(60)
    model = NeuralNetClassifier(learning_rate=0.05, max_iter=2).fit(X, y)
    assert model._optimizer.learning_rate == 0.05
    with pytest.raises(ValueError, match=r"learning_rate=0.05 is an alias of learning_rate_init"):
        NeuralNetClassifier(learning_rate=0.05, learning_rate_init=0.1).fit(X, y)


def test_tol_stops_after_n_iter_no_change_epochs_without_improvement():
    # A tol larger than any loss change: epoch 1 sets the best loss, epochs 2..n+2 fail to
    # beat it by tol, and the count exceeds n_iter_no_change after epoch n + 2 (MLP's rule).
    X, y = blobs(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = clf(tol=10.0, n_iter_no_change=3, max_iter=50).fit(X, y)
    assert model.n_iter_ == 5 and model._no_improvement_count == 4


def test_n_iter_no_change_inf_runs_every_epoch():
    X, y = blobs(60)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(7\) reached"):
        model = clf(tol=10.0, n_iter_no_change=np.inf, max_iter=7).fit(X, y)
    assert model.n_iter_ == 7


def test_running_out_of_epochs_warns():
    X, y = blobs(60)
    with pytest.warns(ConvergenceWarning, match=r"Stochastic Optimizer: Maximum iterations \(2\) "
                                                r"reached and the optimization hasn't converged"):
        clf(max_iter=2).fit(X, y)


def test_invscaling_rate_follows_the_samples_seen():
    X, y = blobs(40)
    model = clf(solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=3, tol=0.0,
                learning_rate_init=0.1, batch_size=7).fit(X, y)
    assert model.t_ == 120
    assert model._optimizer.learning_rate == 0.1 / (120 + 1) ** 0.25


def test_early_stopping_scores_a_validation_split_and_restores_the_best_weights():
    X, y = blobs(200)
    labels = np.array(["a", "b", "c"])[y]
    model = clf(early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                max_iter=30, learning_rate_init=0.05).fit(X, labels)
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    # The split is scikit-learn's: the same generator, after the initial weights' draws, and
    # no stratification for more than two classes. The restored weights score the best.
    rng = np.random.RandomState(0)
    for fan_in, fan_out in ((2, 16), (16, 3)):
        rng.uniform(size=(fan_in, fan_out))
        rng.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, labels, test_size=0.2, random_state=rng)
    assert model.score(X_val, y_val) == model.best_validation_score_


def test_early_stopping_regressor_scores_r2():
    X, y = regression()
    model = reg(early_stopping=True, max_iter=20).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ > 0.5


def test_early_stopping_needs_two_validation_samples():
    X, y = blobs(12)
    with pytest.raises(ValueError, match=r"The validation set is too small. Increase "
                                         r"'validation_fraction' or the size of your dataset: it "
                                         r"holds 1 sample\(s\)"):
        reg(early_stopping=True, validation_fraction=0.05).fit(X, y.astype(float))


def test_divergence_without_early_stopping_is_sklearns_error():
    X, y = regression()
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        reg(solver="sgd", learning_rate_init=1e3, max_iter=50).fit(X * 1e3, y)


def test_divergence_with_early_stopping_keeps_the_best_weights():
    X, y = regression()
    with pytest.warns(ConvergenceWarning, match="The weights of the best epoch on the "
                                                "validation set are kept"):
        model = reg(solver="sgd", learning_rate_init=1.0, momentum=0.99, max_iter=50,
                    early_stopping=True, activation="identity").fit(X * 10, y)
    assert np.isnan(model.validation_scores_[-1]) and np.isnan(model.loss_curve_[-1])
    assert np.isfinite(model.predict(X)).all()


# ------------------------------------------------------------------- L-BFGS
def test_lbfgs_counts_iterations_and_warns_when_stopped_early():
    X, y = blobs(90)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 "
                                                r"iteration\(s\) \(status=1\)"):
        model = clf(solver="lbfgs", max_iter=3).fit(X, y)
    assert model.n_iter_ == 3 == len(model.loss_curve_)
    assert model.loss_ == pytest.approx(model.loss_curve_[-1])
    assert model.t_ == 0 and model.validation_scores_ is None
    with pytest.warns(ConvergenceWarning, match=r"TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"):
        clf(solver="lbfgs", max_iter=100, max_fun=4).fit(X, y)
    assert not hasattr(clf(solver="lbfgs"), "partial_fit")
    assert not hasattr(reg(solver="lbfgs"), "partial_fit")
    assert clf(optimizer="lbfgs")._solver() == "lbfgs"  # the library's name for it
    with pytest.raises(ValueError, match="solver='lbfgs' needs a deterministic objective, so it takes no dropout"):
        clf(solver="lbfgs", dropout=0.2).fit(X, y)


# ------------------------------------------------------ partial_fit, warm start
def test_classifier_partial_fit_one_epoch_per_call_keeps_optimizer_state():
    X, y = blobs(90)
    model = clf()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[:45], y[:45], classes=[0, 1, 2])
    net, steps = model.model_, model.model_.optimizer.iterations
    model.partial_fit(X[45:], y[45:])
    assert model.model_ is net and model.n_iter_ == 1 and len(model.loss_curve_) == 2
    assert model.model_.optimizer.iterations > steps and model.t_ == 90
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_partial_fit_with_only_some_classes_in_the_first_batch():
    X, y = blobs(90)
    model = clf().partial_fit(X[y < 2], y[y < 2], classes=np.array([0, 1, 2]))
    assert model.model_.n_outputs == 3
    model.partial_fit(X[y == 2], y[y == 2])
    assert len(model.loss_curve_) == 2


def test_partial_fit_errors():
    X, y = blobs(90)
    model = clf().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`. "
                                         r"`self.classes_` has \[0 1 2\]. 'y' has \[0 1 7\]."):
        model.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match=r"`classes=\[0, 1\]` is not the same as on last call"):
        model.partial_fit(X, y % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="y is 'multilabel-indicator', but the classifier"):
        model.partial_fit(X[:4], np.eye(3, dtype=int)[[0, 1, 2, 0]] | 1)
    with pytest.raises(ValueError, match="X has 1 features, but NeuralNetClassifier is expecting"):
        model.partial_fit(X[:, :1], y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_regressor_partial_fit_and_target_count():
    X, y = make_regression(60, 3, n_targets=2, random_state=0)
    model = reg().partial_fit(X, y).partial_fit(X, y)
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 2
    with pytest.raises(ValueError, match=r"y has 1 target column\(s\), but the network was"):
        model.partial_fit(X, y[:, 0])


def test_warm_start_continues_and_cold_start_rebuilds():
    X, y = blobs(60)
    warm = clf(max_iter=3, warm_start=True, tol=0.0)
    warm.fit(X, y)
    net, weights = warm.model_, warm.model_.get_weights()
    warm.fit(X, y)
    # As MLPClassifier: n_iter_ counts the last fit, loss_curve_ and t_ every epoch so far.
    assert warm.model_ is net and warm.n_iter_ == 3 and len(warm.loss_curve_) == 6
    assert warm.t_ == 6 * 60
    assert warm.model_.optimizer.iterations == 3  # a fresh optimizer for each fit
    cold = clf(max_iter=3, tol=0.0)
    cold.fit(X, y)
    first = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not first and cold.n_iter_ == 3 and len(cold.loss_curve_) == 3
    np.testing.assert_array_equal(first.get_weights()[0], cold.model_.get_weights()[0])
    assert not np.array_equal(weights[0], warm.model_.get_weights()[0])
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same "
                                         r"classes as in the previous call to fit. Previously "
                                         r"got \[0 1 2\], `y` has \[0 1\]"):
        warm.fit(X, y % 2)
    warm.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match=r"warm_start continues the fitted network of layer "
                                         r"sizes \(2, 16, 3\), but the current"):
        warm.fit(X, y)


# ---------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_layer_sizes": (16, 0)}, r"`hidden_layer_sizes`, expected a positive integer"),
        ({"hidden_layer_sizes": "16"}, r"Received: hidden_layer_sizes='16'"),
        ({"solver": "newton"}, r"`solver`, expected 'lbfgs', 'sgd' or 'adam'"),
        ({"max_iter": 0}, r"`max_iter`, expected a positive integer. Received: max_iter=0"),
        ({"max_iter": 2.5}, r"`max_iter`, expected a positive integer. Received: max_iter=2.5"),
        ({"epochs": 0}, r"`epochs`, expected a positive integer. Received: epochs=0"),
        ({"max_fun": -1}, r"`max_fun`, expected a positive integer"),
        ({"batch_size": 0}, r"`batch_size`, expected a positive integer or 'auto'"),
        ({"learning_rate": "cyclic"}, r"`learning_rate`, expected 'constant', 'invscaling' or "
                                      r"'adaptive'"),
        ({"learning_rate": -1}, r"`learning_rate`, expected 'constant'"),
        ({"learning_rate_init": 0}, r"`learning_rate_init`, expected a number in \(0, inf\)"),
        ({"alpha": -0.1}, r"`alpha`, expected a number in \[0, inf\). Received: alpha=-0.1"),
        ({"tol": None}, r"invalid type for `tol`, expected a number. Received: tol=None"),
        ({"momentum": 1.5}, r"`momentum`, expected a number in \[0, 1\]"),
        ({"beta_2": 1.0}, r"`beta_2`, expected a number in \[0, 1\)"),
        ({"epsilon": 0.0}, r"`epsilon`, expected a number in \(0, inf\)"),
        ({"power_t": -1}, r"`power_t`, expected a number in \[0, inf\)"),
        ({"n_iter_no_change": 0}, r"`n_iter_no_change`, expected a positive integer or np.inf"),
        ({"validation_fraction": 1.0}, r"`validation_fraction`, expected a number in \[0, 1\)"),
        ({"early_stopping": True, "validation_fraction": 0.0},
         r"`validation_fraction`, expected a number in \(0, 1\) with early_stopping=True"),
        ({"shuffle": "yes"}, r"`shuffle`, expected True or False"),
        ({"verbose": -1}, r"`verbose`, expected a non-negative integer or a bool"),
        ({"activation": "swishy"}, r"Unknown activation 'swishy'"),
        ({"activation": ["relu", "tanh"]}, r"`activation`, expected one value, or a sequence of "
                                           r"1 \(one per hidden layer\)"),
        ({"dropout": 1.0}, r"`dropout`, expected a rate in \[0, 1\)"),
        ({"optimizer": "nadam"}, r"Unknown optimizer 'nadam'"),
        ({"solver": "lbfgs", "optimizer": "adam"}, r"solver='lbfgs' takes no optimizer"),
        ({"dtype": "int8"}, r"dtype"),
    ],
)
def test_invalid_parameters_fail_at_fit_not_in_init(params, message):
    X, y = blobs(30)
    for est in (NeuralNetClassifier(**params), NeuralNetRegressor(**params)):
        assert est.get_params()[next(iter(params))] == next(iter(params.values()))
        with pytest.raises(ValueError, match=message):
            est.fit(X, y)
        if hasattr(est, "partial_fit"):
            with pytest.raises(ValueError, match=message):
                est.partial_fit(X, y, **({"classes": [0, 1, 2]} if is_classifier(est) else {}))


def test_optimizer_instance_is_copied_not_shared():
    X, y = blobs(60)
    adam = Adam(beta_1=0.8)
    model = clf(optimizer=adam, learning_rate_init=0.01, max_iter=2).fit(X, y)
    assert adam.state == {} and adam.iterations == 0
    assert model.model_.optimizer is not adam
    assert model.model_.optimizer.beta_1 == 0.8
    assert model.model_.optimizer.learning_rate == 0.01  # the estimator's learning rate wins


def test_other_optimizers_dropout_and_an_activation_per_layer():
    X, y = blobs(90)
    model = clf(optimizer="rmsprop", hidden_layer_sizes=(8, 6), activation=["tanh", "relu"],
                dropout=[0.1, 0.0], learning_rate_init=0.01).fit(X, y)
    layers = model.model_.layers
    assert [type(layer).__name__ for layer in layers] == [
        "FullyConnectedLayer", "Dropout", "FullyConnectedLayer", "FullyConnectedLayer"]
    assert isinstance(layers[1], Dropout) and layers[1].rate == 0.1
    assert [layer.activation.name for layer in model.model_.layers.dense] == ["tanh", "relu", "softmax"]
    assert model.model_.optimizer.name == "rmsprop" and model.score(X, y) > 0.8


def test_learning_rate_schedule():
    X, y = blobs(60)
    model = clf(learning_rate=lambda epoch: 0.1 / (1 + epoch), learning_rate_init=0.001,
                max_iter=3).fit(X, y)
    assert model.model_.optimizer.learning_rate == pytest.approx(0.1 / 3)


def test_sgd_learning_rate_is_on_scikit_learns_scale_for_regression():
    # The network's loss is twice scikit-learn's squared error: SGD runs at half the rate.
    X, y = regression()
    model = reg(solver="sgd", learning_rate_init=0.01, max_iter=2).fit(X, y)
    assert model._optimizer.learning_rate == 0.005


def test_random_state_makes_training_reproducible():
    X, y = blobs(60)
    a, b, c = (clf(random_state=s, max_iter=3).fit(X, y) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_verbose_prints_each_iteration_as_mlp(capsys):
    X, y = blobs(60)
    clf(max_iter=2, verbose=True).fit(X, y)
    clf(max_iter=2, verbose=1, early_stopping=True).fit(X, y)
    clf(solver="lbfgs", max_iter=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Iteration 1, loss = ") == 3 and "Iteration 2, loss = " in out
    assert "Validation score: " in out


# ------------------------------------------------------- scikit-learn tools
def test_pipeline_cross_val_score_and_grid_search():
    X, y = make_moons(200, noise=0.15, seed=1)
    X = X * [100.0, 0.01]  # badly scaled: the pipeline's scaler matters
    pipe = make_pipeline(StandardScaler(), clf(hidden_layer_sizes=(16, 16), max_iter=30))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    search = GridSearchCV(pipe, {"neuralnetclassifier__learning_rate_init": [1e-4, 0.03]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"neuralnetclassifier__learning_rate_init": 0.03}
    assert search.best_score_ == search.cv_results_["mean_test_score"].max()
    assert search.score(X, y) > 0.85


def test_pickle_round_trip_and_clone():
    X, y = blobs(60)
    model = clf(max_iter=3).fit(X, np.array(["a", "b", "c"])[y])
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_params() == model.get_params()
    assert loaded.coefs_[0].base is loaded.model_.flat_weights  # views of its own network
    loaded.set_params(warm_start=True).fit(X, np.array(["a", "b", "c"])[y])
    assert loaded.n_iter_ == 3 and len(loaded.loss_curve_) == 6  # a loaded model trains on
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "model_") and not hasattr(fresh, "classes_")


@pytest.mark.parametrize("mmap", [False, True], ids=["pickle", "joblib-memmap"])
def test_training_resumes_after_pickling_with_the_optimizer_state(mmap, tmp_path):
    import joblib

    X, y = blobs(60)
    model = clf(max_iter=3).fit(X, y)
    if mmap:  # joblib memory-maps the arrays read-only; training must still write its own
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    else:
        loaded = pickle.loads(pickle.dumps(model))
    (state,) = loaded.model_.optimizer.state.values()
    assert state["step"] == model.model_.optimizer.iterations
    assert list(loaded.model_.optimizer.state) == [id(loaded.model_.flat_weights)]
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)  # the same Adam moments, step count and shuffling: the same update
    for ours, theirs in zip(model.model_.get_weights(), loaded.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded.coefs_[0], model.coefs_[0])


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.base", None)
    monkeypatch.delitem(sys.modules, "neuralnet.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'neuralnet\[sklearn\]'"):
        import neuralnet.sklearn  # noqa: F401


def test_a_poisson_regressors_network_saves_and_loads(tmp_path):
    """Its half Poisson deviance and exponential output are library objects, found by name."""
    import neuralnet

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = rng.poisson(np.exp(0.3 * X[:, 0]))
    model = NeuralNetRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=20,
                               random_state=0).fit(X, y)
    model.model_.save(tmp_path / "p.npz")
    loaded = neuralnet.load(tmp_path / "p.npz")
    assert loaded.loss_fn.name == "half_poisson"
    np.testing.assert_array_equal(loaded.predict(X), model.model_.predict(X))


def test_batch_norm_puts_a_batch_normalization_after_each_hidden_layer():
    from sklearn.datasets import load_breast_cancer

    from neuralnet import BatchNormalization

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    # Keras momentum 0.99: the moving statistics need a few hundred batches to settle.
    clf = NeuralNetClassifier(hidden_layer_sizes=(16, 8), batch_norm=True, max_iter=150,
                              random_state=0).fit(X, y)
    assert [type(l).__name__ for l in clf.model_.layers] == [
        "FullyConnectedLayer", "BatchNormalization", "FullyConnectedLayer", "BatchNormalization",
        "FullyConnectedLayer"]
    assert isinstance(clf.model_.layers[1], BatchNormalization) and clf.score(X, y) > 0.9
    assert len(clf.coefs_) == 3
    with pytest.raises(ValueError, match="`batch_norm`, expected True or False"):
        NeuralNetClassifier(batch_norm="yes").fit(X, y)
