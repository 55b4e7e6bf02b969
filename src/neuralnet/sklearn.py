"""scikit-learn estimators around ``NeuralNet``: ``NeuralNetClassifier`` and ``NeuralNetRegressor``.

They follow scikit-learn's conventions (and pass ``sklearn.utils.estimator_checks``), so a
network drops into ``Pipeline``, ``cross_val_score`` and ``GridSearchCV``; the fitted
``NeuralNet`` is ``model_``. The parameters mirror ``MLPClassifier`` / ``MLPRegressor``:

    task                     output layer          loss (NeuralNet)            y
    binary                   1 sigmoid unit        binary_crossentropy         labels, 2 classes
    multi-class              k softmax units       categorical_crossentropy    labels (str too)
    multi-label              k sigmoid units       binary_crossentropy         0/1 matrix (n, k)
    (multi-output) regression k linear units       mse                         (n,) or (n, k)

``alpha`` is scikit-learn's L2 strength. ``MLPClassifier`` minimises, per batch of ``m`` samples,
``data_loss + alpha / (2 m) * ||W||^2`` (biases not penalised), with ``data_loss`` the cross-
entropy *summed* over sigmoid outputs, or *half* the mean squared error. ``NeuralNet`` minimises
``loss + l2 / 2 * ||W||^2`` with the cross-entropy *averaged* over outputs and the full mean
squared error, so the estimators set

    l2 = c * alpha / m,    c = 1 (binary, multi-class), 1 / k (k labels), 2 (regression)

which makes each batch's objective a constant multiple of scikit-learn's: the same minimiser.
``m`` is the batch size (``"auto"``: ``min(200, n_samples)``, as in ``MLPClassifier``).

``epochs`` and ``max_iter`` name the same thing: the number of passes over the data. ``epochs``
(default 200, ``MLPClassifier``'s ``max_iter``) is used unless ``max_iter`` is set, in which case
``max_iter`` wins, so code written for ``MLPClassifier(max_iter=...)`` works unchanged.

Training stops early, as in ``MLPClassifier``, once the training loss (or, with
``early_stopping``, the validation score) has not improved by at least ``tol`` for more than
``n_iter_no_change`` consecutive epochs; with ``early_stopping`` the best weights seen on the
validation set are restored at the end. Otherwise a ``ConvergenceWarning`` says the epochs ran out.
``partial_fit`` is one epoch over the batch it is given, with neither test (as in
``MLPClassifier``); ``n_iter_`` and ``loss_curve_`` count every epoch, across ``warm_start`` fits
and ``partial_fit`` calls.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - exercised by a test that hides sklearn
    raise ImportError(
        "neuralnet.sklearn needs scikit-learn; install it with: pip install 'neuralnet[sklearn]'"
    ) from exc

from neuralnet import activations as _activations
from neuralnet import optimizers as _optimizers
from neuralnet.callbacks import Callback
from neuralnet.layers import _check_dtype
from neuralnet.model import NeuralNet

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

_AUTO_BATCH_LIMIT = 200  # MLPClassifier's batch_size="auto" is min(200, n_samples)


def _invalid(name: str, expected: str, value) -> ValueError:
    return ValueError(
        f"Received an invalid value for `{name}`, expected {expected}. Received: {name}={value!r}"
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_positive_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


class _Monitor(Callback):
    """Record each epoch for the estimator and stop training once it stops improving.

    Without validation data the criterion is the training loss, which must fall by ``tol``;
    with it, the validation score, which must rise by ``tol``. More than ``n_iter_no_change``
    epochs in a row without that ends training (``MLPClassifier``'s rule). With
    ``may_stop=False`` (``partial_fit``) the epoch is only recorded.
    """

    def __init__(self, estimator, X_val=None, y_val=None, may_stop: bool = True) -> None:
        self.estimator = estimator
        self.X_val, self.y_val = X_val, y_val
        self.may_stop = may_stop
        self.no_improvement = 0
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est, tol = self.estimator, self.estimator.tol
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        if not self.may_stop:
            return
        if self.X_val is not None:
            score = est._score_outputs(self.model.predict(self.X_val), self.y_val)
            est.validation_scores_.append(score)
            improved = score >= est.best_validation_score_ + tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            improved = loss <= est.best_loss_ - tol
            est.best_loss_ = min(est.best_loss_, loss)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if self.no_improvement > est.n_iter_no_change:
            self.converged = True
            self.model.stop_training = True


class _BaseNeuralNet(BaseEstimator):
    """Parameters, validation and the training loop shared by the classifier and the regressor."""

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        optimizer: str | _optimizers.Optimizer = "adam",
        learning_rate: float | Callable[[int], float] = 1e-3,
        batch_size: int | str = 32,
        epochs: int = 200,
        max_iter: int | None = None,
        alpha: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        dtype: str = "float64",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_iter = max_iter
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    # -------------------------------------------------------------- parameters
    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if _is_positive_int(sizes):
            return (int(sizes),)
        if not isinstance(sizes, (list, tuple)) or not all(_is_positive_int(s) for s in sizes):
            raise _invalid(
                "hidden_layer_sizes", "a positive integer or a sequence of them such as (100,)",
                sizes,
            )
        return tuple(int(s) for s in sizes)

    def _n_epochs(self) -> int:
        name, value = ("epochs", self.epochs) if self.max_iter is None else (
            "max_iter", self.max_iter
        )
        if not _is_positive_int(value):
            raise _invalid(name, "a positive integer", value)
        return int(value)

    def _check_params(self) -> None:
        """Validate the parameters that ``fit`` reads directly (the rest fail where used)."""
        self._hidden_sizes()
        self._n_epochs()
        _activations.get(self.activation)
        _check_dtype(self.dtype)
        if not isinstance(self.optimizer, _optimizers.Optimizer):
            _optimizers.get(self.optimizer)
        if not (callable(self.learning_rate) or (_is_number(self.learning_rate)
                                                 and self.learning_rate > 0)):
            raise _invalid("learning_rate", "a positive number or a schedule epoch -> rate",
                           self.learning_rate)
        if self.batch_size != "auto" and not _is_positive_int(self.batch_size):
            raise _invalid("batch_size", "a positive integer or 'auto'", self.batch_size)
        if not (_is_number(self.alpha) and self.alpha >= 0):
            raise _invalid("alpha", "a non-negative number", self.alpha)
        if not (_is_number(self.tol) and self.tol >= 0):
            raise _invalid("tol", "a non-negative number", self.tol)
        if not _is_positive_int(self.n_iter_no_change):
            raise _invalid("n_iter_no_change", "a positive integer", self.n_iter_no_change)
        if not (_is_number(self.validation_fraction) and 0 < self.validation_fraction < 1):
            raise _invalid("validation_fraction", "a number in (0, 1)", self.validation_fraction)

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_LIMIT, n_samples)
        return min(int(self.batch_size), n_samples)

    def _l2(self, batch_size: int) -> float:
        """Return the ``l2`` that matches scikit-learn's ``alpha`` (see the module docstring)."""
        return self._loss_scale() * float(self.alpha) / batch_size

    # ---------------------------------------------------------------- building
    def _layer_shapes(self, n_features: int, n_outputs: int) -> tuple[tuple[int, int], ...]:
        sizes = (n_features, *self._hidden_sizes(), n_outputs)
        return tuple(zip(sizes[:-1], sizes[1:], strict=True))

    def _build_model(self, n_features: int, n_outputs: int, seed: int) -> NeuralNet:
        shapes = self._layer_shapes(n_features, n_outputs)
        output_activation, loss = self._output_layer()
        model = NeuralNet(
            shapes,
            activations=[self.activation] * (len(shapes) - 1) + [output_activation],
            loss=loss,
            seed=seed,
            dtype=self.dtype,
        )
        if isinstance(self.optimizer, _optimizers.Optimizer):
            # A private copy: clones and refits must not share moments through the parameter.
            model.optimizer = copy.deepcopy(self.optimizer)
            model.optimizer.state.clear()
        else:
            model.optimizer = _optimizers.get(self.optimizer, learning_rate=1e-3)
        return model

    def _reuse_model(self, n_outputs: int) -> bool:
        """Whether to continue training ``model_`` (warm start) rather than start afresh."""
        model = getattr(self, "model_", None)
        if model is None:
            return False
        shapes = self._layer_shapes(self.n_features_in_, n_outputs)
        current = tuple((l.n_in, l.n_out) for l in model.layers.dense)
        if current != shapes:
            raise ValueError(
                f"warm_start continues the fitted network of layer shapes {current}, but the "
                f"current parameters ask for {shapes}; set warm_start=False to start afresh."
            )
        return True

    # ---------------------------------------------------------------- training
    def fit(self, X, y):
        """Train the network on ``X`` ``(n_samples, n_features)`` and ``y``; return ``self``.

        Runs up to ``epochs`` (or ``max_iter``) passes of mini-batch training and stops earlier
        once the loss (or the validation score, with ``early_stopping``) stops improving by
        ``tol``. With ``warm_start`` a second call continues from the fitted weights.
        """
        self._check_params()
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental: bool, classes=None):
        keep = (incremental or self.warm_start) and hasattr(self, "model_")
        X, targets, y_labels = self._validate_training_data(X, y, keep, classes)
        if not keep or not self._reuse_model(targets.shape[1]):
            rng = check_random_state(self.random_state)
            self.model_ = self._build_model(
                X.shape[1], targets.shape[1], int(rng.randint(np.iinfo(np.int32).max))
            )
            self._split_rng = rng
            self.n_outputs_ = targets.shape[1]
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.validation_scores_ = None
            self.best_loss_ = None
            self.best_validation_score_ = None

        X_val = y_val = None
        if self.early_stopping and not incremental:
            X, X_val, targets, y_val = self._validation_split(X, targets, y_labels)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._best_weights = None
        elif not incremental:
            self.best_loss_ = np.inf
            self.best_validation_score_ = None

        batch_size = self._batch_size(len(X))
        model = self.model_
        for layer in model.layers.dense:
            layer.l2 = self._l2(batch_size)
        # partial_fit is one pass over the data with no convergence test (as MLPClassifier).
        monitor = _Monitor(self, X_val, y_val, may_stop=not incremental)
        model.fit(
            X,
            targets,
            epochs=1 if incremental else self._n_epochs(),
            batch_size=batch_size,
            learning_rate=self.learning_rate,
            optimizer=model.optimizer,
            verbose=int(self.verbose),
            callbacks=[monitor],
        )
        if X_val is not None and self._best_weights is not None:
            model.set_weights(self._best_weights)
            del self._best_weights
        if not incremental and not monitor.converged:
            warnings.warn(
                f"{type(self).__name__}: the maximum number of epochs ({self._n_epochs()}) was "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _validation_split(self, X, targets, y_labels):
        stratify = y_labels if self._stratify() else None
        X, X_val, targets, _, _, y_val = train_test_split(
            X,
            targets,
            y_labels,
            test_size=self.validation_fraction,
            random_state=self._split_rng,
            stratify=stratify,
        )
        if len(X_val) < 2:
            raise ValueError(
                f"The validation set has {len(X_val)} sample(s), but early stopping needs at "
                "least 2; increase validation_fraction or the number of samples."
            )
        return X, X_val, targets, y_val

    def _stratify(self) -> bool:
        return False

    def _predict_outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self.model_.predict(X).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    """A dense-network classifier with scikit-learn's API, built on ``NeuralNet``.

    Binary problems get one sigmoid output, multi-class problems (any labels, strings too) a
    softmax layer, multi-label problems (``y`` a 0/1 matrix ``(n_samples, n_labels)``) one
    sigmoid output per label; the loss is the matching cross-entropy. See the module docstring
    for ``alpha``, ``epochs`` / ``max_iter`` and early stopping.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``n_outputs_``, ``loss_curve_`` (one
    training loss per epoch), ``validation_scores_`` (accuracy per epoch with
    ``early_stopping``, else ``None``), ``n_iter_`` (epochs run), ``model_`` (the ``NeuralNet``).
    """

    def _output_layer(self) -> tuple[str, str]:
        if self._multiclass:
            return "softmax", "categorical_crossentropy"
        return "sigmoid", "binary_crossentropy"

    @property
    def _multiclass(self) -> bool:
        return self._label_binarizer.y_type_ == "multiclass"

    def _loss_scale(self) -> float:
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return 1.0 / len(self.classes_)
        return 1.0

    def _stratify(self) -> bool:
        return not self._label_binarizer.y_type_.startswith("multilabel")

    def _validate_training_data(self, X, y, keep: bool, classes):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=not keep
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not keep:
            binarizer = LabelBinarizer()
            if classes is None or type_of_target(y).startswith("multilabel"):
                binarizer.fit(y)
            else:
                binarizer.fit(classes)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but the data "
                    f"contain only one class: {binarizer.classes_.tolist()[0]!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} differs from the classes of the first "
                f"call to partial_fit, {self.classes_.tolist()!r}."
            )
        else:
            self._check_known_labels(y)
        targets = self._label_binarizer.transform(y)
        return X, targets, y

    def _check_known_labels(self, y) -> None:
        multilabel = type_of_target(y).startswith("multilabel")
        if multilabel != self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                f"y is {type_of_target(y)!r}, but the classifier was fitted on "
                f"{self._label_binarizer.y_type_!r} targets; refit with warm_start=False."
            )
        unseen = np.array([]) if multilabel else np.setdiff1d(np.unique(y), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y has classes not seen in the first fit: {unseen.tolist()!r}; expected labels "
                f"from {self.classes_.tolist()!r}. Refit with warm_start=False to change the "
                "classes."
            )

    def _score_outputs(self, outputs: np.ndarray, y) -> float:
        return float(accuracy_score(y, self._labels(outputs)))

    def _labels(self, outputs: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            outputs = outputs[:, 0]
        return self._label_binarizer.inverse_transform(outputs)

    def partial_fit(self, X, y, classes=None):
        """Train for one pass over ``(X, y)``; the first call needs ``classes``, every label.

        Later calls continue from the current weights and optimizer state, and must not bring
        new labels.
        """
        self._check_params()
        if not hasattr(self, "model_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every label the "
                "classifier will see, e.g. classes=np.unique(y_all)."
            )
        return self._fit(X, y, incremental=True, classes=classes)

    def predict(self, X) -> np.ndarray:
        """Return the predicted labels ``(n_samples,)``, or a 0/1 matrix for multi-label ``y``.

        A sigmoid output above 0.5 means the positive class (label); softmax takes the arg-max.
        """
        return self._labels(self._predict_outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        """Return the class probabilities ``(n_samples, n_classes)`` in the order of ``classes_``.

        Binary: ``[1 - p, p]``; multi-label: each label's own probability (rows need not sum to 1).
        """
        proba = self._predict_outputs(X)
        if self.n_outputs_ == 1:
            return np.hstack([1.0 - proba, proba])
        return proba

    def decision_function(self, X) -> np.ndarray:
        """Return the output layer's pre-activations (logits), ranked like ``predict_proba``.

        Binary: ``(n_samples,)``, positive for ``classes_[1]``; multi-class and multi-label:
        ``(n_samples, n_outputs)``, one column per class or label.
        """
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        model = self.model_
        logits = model.outputs_and_logits(X)[1].astype(np.float64)
        return logits[:, 0] if self.n_outputs_ == 1 else logits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    """A dense-network regressor with scikit-learn's API, built on ``NeuralNet``.

    Linear outputs, one per target column, trained on the mean squared error. See the module
    docstring for ``alpha``, ``epochs`` / ``max_iter`` and early stopping.

    Fitted attributes: ``n_features_in_``, ``n_outputs_``, ``loss_curve_``, ``validation_scores_``
    (R^2 per epoch with ``early_stopping``, else ``None``), ``n_iter_``, ``model_``.
    """

    def _output_layer(self) -> tuple[str, str]:
        return "linear", "mse"

    def _loss_scale(self) -> float:
        return 2.0  # scikit-learn's squared loss is half the mean squared error

    def _validate_training_data(self, X, y, keep: bool, classes):
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32),
            reset=not keep,
        )
        targets = y.reshape(len(y), -1)
        if keep and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} target column(s), but the network was fitted on "
                f"{self.n_outputs_}; refit with warm_start=False to change the targets."
            )
        return X, targets, y

    def _score_outputs(self, outputs: np.ndarray, y) -> float:
        return float(r2_score(y, outputs.reshape(np.shape(y))))

    def partial_fit(self, X, y):
        """Train for one pass over ``(X, y)``, continuing from the current weights."""
        self._check_params()
        return self._fit(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Return the predictions ``(n_samples,)``, or ``(n_samples, n_targets)`` for several."""
        outputs = self._predict_outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
