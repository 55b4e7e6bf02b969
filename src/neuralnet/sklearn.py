"""scikit-learn estimators around ``NeuralNet``: drop-ins for ``MLPClassifier`` and ``MLPRegressor``.

``NeuralNetClassifier`` and ``NeuralNetRegressor`` take every constructor parameter of
scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` with its name, default and meaning
(``solver`` 'adam', 'sgd' or 'lbfgs'; ``learning_rate`` 'constant', 'invscaling' or 'adaptive';
``batch_size='auto'``; ``momentum``, ``nesterovs_momentum``, ``power_t``, ``beta_1``, ...,
``max_fun``; the regressor's ``loss`` 'squared_error' or 'poisson'), and set the fitted
attributes with the same meaning (``coefs_``, ``intercepts_``, ``n_iter_``, ``t_``, ``loss_``,
``best_loss_``, ``loss_curve_``, ``validation_scores_``, ``best_validation_score_``,
``n_layers_``, ``n_outputs_``, ``out_activation_``, ``classes_``, ``n_features_in_``,
``feature_names_in_``), so code written for the MLP runs unchanged. The trained ``NeuralNet``
is ``model_``.

    task                      output layer         loss (NeuralNet)            c (below)
    binary                    1 sigmoid unit       binary_crossentropy         1
    multi-class               k softmax units      categorical_crossentropy    1
    multi-label (0/1 matrix)  k sigmoid units      binary_crossentropy         1 / k
    regression                k linear units       mse                         2 / k
    Poisson regression        k exp units          half Poisson deviance       1 / k

The objective. scikit-learn minimises, per batch of ``m`` samples (``m`` the sum of their
weights with ``sample_weight``), ``data_loss + alpha / (2 m) * sum ||W||^2`` (biases not
penalised), its data loss summing the cross-entropy (or the Poisson deviance) over the outputs
and taking half the squared error. ``NeuralNet`` averages over outputs and takes the full
squared error, so its loss is ``c`` times scikit-learn's, and the estimators set every layer's
``l2 = c * alpha / m``: each batch's objective is then ``c`` times scikit-learn's, the same
minimiser. ``loss_``, ``loss_curve_`` and ``best_loss_`` are reported on scikit-learn's scale
(the network's loss divided by ``c``), and L-BFGS minimises scikit-learn's scale, so that
``tol`` means what it means there. One exception: for several regression targets,
scikit-learn's gradient is that of the squared error summed over the targets, while its
``loss_`` averages them (a factor ``k`` apart); the estimators follow the gradient, so the
steps are MLPRegressor's, and report the objective that gradient belongs to (``k`` times the
MLP's data term in ``loss_``); L-BFGS then minimises that consistent objective.

The solvers. ``'sgd'`` is ``NeuralNet``'s SGD optimizer, whose update (torch's
``b <- momentum b + g``, ``p <- p - lr b``, Nesterov ``p <- p - lr (g + momentum b)``) is
scikit-learn's (``v <- momentum v - lr g``, ``p <- p + v``) with ``v = -lr b`` while the rate is
constant; when a schedule changes the rate from ``lr`` to ``lr'``, the buffer is multiplied by
``lr / lr'`` so that ``v`` carries over as in scikit-learn. ``'adam'`` is ``NeuralNet``'s Adam
with ``epsilon_hat=True`` (epsilon added before the bias correction, as scikit-learn adds it).
Since the network's gradient is ``c`` times scikit-learn's, SGD runs at ``learning_rate / c``
and Adam with ``epsilon * c``: every step is then scikit-learn's. ``'lbfgs'`` runs
``scipy.optimize.minimize(method="L-BFGS-B")`` with ``maxiter=max_iter``, ``maxfun=max_fun`` and
``gtol=tol`` (``neuralnet.lbfgs``). As in scikit-learn, each ``fit`` starts a fresh optimizer
(``warm_start`` keeps the weights, not the moments), ``partial_fit`` keeps it.

The schedules (solver 'sgd', or any ``optimizer=``). 'invscaling' sets the rate, after every
epoch, to ``learning_rate_init / (t_ + 1) ** power_t`` with ``t_`` the samples seen so far;
'adaptive' divides it by 5 whenever the training loss (or the validation score, with
``early_stopping``) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and
stops once it is at most 1e-6. Otherwise training stops at that point, or warns with a
``ConvergenceWarning`` once ``max_iter`` epochs have run. ``n_iter_`` counts the epochs of the
last ``fit`` (1 after ``partial_fit``); ``loss_curve_`` and ``t_`` keep counting across
``warm_start`` fits and ``partial_fit`` calls.

The weights start as scikit-learn's (Glorot uniform, the biases too, bound
``sqrt(6 / (fan_in + fan_out))``, ``sqrt(2 / ...)`` for 'logistic'), drawn from
``random_state`` in scikit-learn's order, so the same ``random_state`` gives the same initial
weights (and the same early-stopping split) as ``MLPClassifier``. Shuffling uses the network's
own generator, seeded from ``random_state``.

``coefs_[i]`` ``(n_in, n_out)`` and ``intercepts_[i]`` ``(n_out,)`` are views of layer ``i``'s
absorbed weight matrix (``W[:-1]`` and ``W[-1]``): writing into them writes the network's
weights. Assigning new arrays (``est.coefs_[0] = A`` or ``est.coefs_ = [...]``) is picked up by
the next ``fit``, ``partial_fit`` or ``predict``, which copy them into the network.

The library's own additions, as extra parameters: ``optimizer`` (any ``NeuralNet`` optimizer,
by name or instance, in place of ``solver``'s), ``activation`` as one name per hidden layer,
``dropout`` (a rate, or one per hidden layer), ``dtype`` (by default the network computes in
X's dtype, float32 or float64, as the MLP does), and the aliases ``epochs`` (for ``max_iter``)
and a number or a schedule ``epoch -> rate`` as ``learning_rate`` (the initial rate, constant
unless it is a schedule).
"""

from __future__ import annotations

import copy
import math
import numbers
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
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import (
        check_classification_targets,
        type_of_target,
        unique_labels,
    )
    from sklearn.utils.validation import (
        check_array,
        check_consistent_length,
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as exc:  # pragma: no cover - exercised by a test that hides sklearn
    raise ImportError(
        "neuralnet.sklearn needs scikit-learn; install it with: pip install 'neuralnet[sklearn]'"
    ) from exc

from neuralnet import activations as _activations
from neuralnet import losses as _losses
from neuralnet import optimizers as _optimizers
from neuralnet._validation import InvalidTypeError
from neuralnet.callbacks import Callback
from neuralnet.diagnostics import TrainingWarning
from neuralnet.layers import BatchNormalization, Dropout, FullyConnectedLayer, _check_dtype
from neuralnet.model import NeuralNet, TrainingDivergedError

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

_AUTO_BATCH_LIMIT = 200  # batch_size="auto" is min(200, n_samples)
_SOLVERS = ("lbfgs", "sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")
_MIN_ADAPTIVE_RATE = 1e-6  # 'adaptive' stops once the rate is at most this
# The defaults an alias must not contradict (learning_rate=<number>, epochs=<int>).
_DEFAULTS = {"learning_rate_init": 0.001, "max_iter": 200}
# scikit-learn's message when training leaves non-finite weights; its users match on it.
_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)
# scikit-learn's names of the output activations, by NeuralNet's.
_OUT_ACTIVATION_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "linear": "identity",
                         "exponential": "exp"}


# ----------------------------------------------------------------- Poisson regression
# ---------------------------------------------------------------------- helpers
def _invalid(name: str, expected: str, value) -> ValueError:
    return ValueError(
        f"Received an invalid value for `{name}`, expected {expected}. Received: {name}={value!r}"
    )


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _check_number(name: str, value, low: float, high: float = math.inf, *,
                  low_open: bool = False, high_open: bool = True) -> None:
    if not _is_number(value):
        raise InvalidTypeError(
            f"Received an invalid type for `{name}`, expected a number. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below and math.isfinite(value)):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        upper = "inf" if math.isinf(high) else f"{high:g}"
        raise _invalid(name, f"a number in {left}{low:g}, {upper}{right}", value)


class _EpochEnd(Callback):
    """scikit-learn's end-of-epoch bookkeeping, run by ``NeuralNet.fit`` after every epoch.

    Records the loss, counts the epochs and samples, scores the validation split, updates the
    no-improvement count and the learning rate, and stops training where the MLP stops.
    """

    def __init__(self, estimator, n_train: int, validation: tuple | None) -> None:
        self.estimator = estimator
        self.n_train = n_train
        self.validation = validation
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        est = self.estimator
        loss = float(logs["loss"]) / est._loss_scale()
        est.n_iter_ += 1
        est.loss_ = loss
        est.t_ += self.n_train
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        est._update_no_improvement_count(self.validation)
        est._iteration_ends()
        if est._no_improvement_count > est.n_iter_no_change:
            if est._trigger_stopping(self.validation is not None):
                self.stopped = True
                self.model.stop_training = True
            else:
                est._no_improvement_count = 0


class _IterationEnd(Callback):
    """Record each L-BFGS iteration's loss (scikit-learn's scale) for ``loss_curve_``."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator

    def on_epoch_end(self, epoch, logs=None):
        est = self.estimator
        loss = float(logs["loss"]) / est._loss_scale()
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {len(est.loss_curve_)}, loss = {loss:.8f}")


class _ScaledSchedule:
    """A schedule ``epoch -> rate`` (scikit-learn's scale) times the network's rate factor."""

    def __init__(self, schedule: Callable[[int], float], factor: float) -> None:
        self.schedule = schedule
        self.factor = factor

    def __call__(self, epoch: int) -> float:
        return self.schedule(epoch) * self.factor


def _partial_fit_available(estimator) -> bool:
    if estimator._solver() == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
        )
    return True


class _BaseNeuralNet(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the solvers."""

    # ------------------------------------------------------------- parameters
    def _solver(self) -> str:
        if isinstance(self.optimizer, str) and self.optimizer.lower() == "lbfgs":
            return "lbfgs"
        return self.solver

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if _is_int(sizes) and sizes > 0:
            return (int(sizes),)
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = None
        if sizes is None or isinstance(self.hidden_layer_sizes, str) or not all(
            _is_int(s) and s > 0 for s in sizes
        ):
            raise _invalid(
                "hidden_layer_sizes",
                "a positive integer or a sequence of them such as (100,)",
                self.hidden_layer_sizes,
            )
        return tuple(int(s) for s in sizes)

    def _per_hidden_layer(self, name: str, value, is_one) -> list:
        """``value`` for every hidden layer: one value for all, or a sequence of one per layer."""
        n_hidden = len(self._hidden_sizes())
        if is_one(value):
            return [value] * n_hidden
        if not isinstance(value, (list, tuple)) or len(value) != n_hidden or not all(
            is_one(v) for v in value
        ):
            raise _invalid(name, f"one value, or a sequence of {n_hidden} (one per hidden layer)",
                           value)
        return list(value)

    def _hidden_activations(self) -> list:
        acts = self._per_hidden_layer(
            "activation", self.activation,
            lambda a: isinstance(a, (str, _activations.Activation)),
        )
        for act in acts:
            _activations.get(act)  # an unknown name fails here, naming the known ones
        return acts

    def _dropout_rates(self) -> list[float]:
        rates = self._per_hidden_layer("dropout", self.dropout, _is_number)
        for rate in rates:
            if not 0 <= rate < 1:
                raise _invalid("dropout", "a rate in [0, 1), or one per hidden layer", self.dropout)
        return [float(r) for r in rates]

    def _max_iter(self) -> int:
        return int(self.max_iter if self.epochs is None else self.epochs)

    def _learning_rate_init(self) -> float:
        """The initial rate: ``learning_rate`` if it is a number (the alias), else ``learning_rate_init``."""
        if _is_number(self.learning_rate):
            return float(self.learning_rate)
        return float(self.learning_rate_init)

    def _schedule(self) -> str | Callable[[int], float]:
        """'constant', 'invscaling' or 'adaptive', or a callable ``epoch -> rate``."""
        if _is_number(self.learning_rate):
            return "constant"
        return self.learning_rate

    def _schedule_applies(self) -> bool:
        """scikit-learn applies 'invscaling' and 'adaptive' to SGD only; here also to ``optimizer=``."""
        return self.solver == "sgd" or self.optimizer is not None

    def _check_params(self) -> None:
        """Validate every parameter, naming the expectation and the value received."""
        self._hidden_sizes()
        self._hidden_activations()
        self._dropout_rates()
        if not isinstance(self.batch_norm, (bool, np.bool_)):
            raise _invalid("batch_norm", "True or False", self.batch_norm)
        if self.batch_norm and self._solver() == "lbfgs":
            raise _invalid("batch_norm", "False with solver='lbfgs' (batch statistics change "
                           "the objective from batch to batch)", self.batch_norm)
        if self.solver not in _SOLVERS:
            raise _invalid("solver", "'lbfgs', 'sgd' or 'adam'", self.solver)
        solver = self._solver()
        if self.optimizer is not None and solver != "lbfgs":  # optimizer="lbfgs" names the solver
            if not isinstance(self.optimizer, _optimizers.Optimizer):
                _optimizers.get(self.optimizer)  # an unknown name fails here, naming the known
        elif self.optimizer is not None and self.solver == "lbfgs":
            raise ValueError(
                f"solver='lbfgs' takes no optimizer; received optimizer={self.optimizer!r}. "
                "Leave optimizer=None, or use solver='adam' or 'sgd' with it."
            )
        if solver == "lbfgs" and any(self._dropout_rates()):
            raise ValueError(
                "solver='lbfgs' needs a deterministic objective, so it takes no dropout; "
                f"received dropout={self.dropout!r}. Use solver='adam' or 'sgd' with dropout."
            )
        rate = self.learning_rate
        if not (callable(rate) or rate in _SCHEDULES or (_is_number(rate) and rate > 0
                                                         and math.isfinite(rate))):
            raise _invalid(
                "learning_rate",
                "'constant', 'invscaling' or 'adaptive' (or, as an alias, a positive number, "
                "the initial rate, or a schedule epoch -> rate)",
                rate,
            )
        _check_number("learning_rate_init", self.learning_rate_init, 0.0, low_open=True)
        if _is_number(rate) and self.learning_rate_init != _DEFAULTS["learning_rate_init"]:
            raise ValueError(
                f"learning_rate={rate!r} is an alias of learning_rate_init, but "
                f"learning_rate_init={self.learning_rate_init!r} is set too; give one of them."
            )
        _check_number("power_t", self.power_t, 0.0)
        _check_number("alpha", self.alpha, 0.0)
        _check_number("tol", self.tol, 0.0)
        _check_number("momentum", self.momentum, 0.0, 1.0, high_open=False)
        _check_number("beta_1", self.beta_1, 0.0, 1.0)
        _check_number("beta_2", self.beta_2, 0.0, 1.0)
        _check_number("epsilon", self.epsilon, 0.0, low_open=True)
        _check_number("validation_fraction", self.validation_fraction, 0.0, 1.0)
        for name in ("max_iter", "max_fun") + (("epochs",) if self.epochs is not None else ()):
            value = getattr(self, name)
            if not (_is_int(value) and value > 0):
                raise _invalid(name, "a positive integer", value)
        if self.epochs is not None and self.max_iter != _DEFAULTS["max_iter"]:
            raise ValueError(
                f"epochs={self.epochs!r} is an alias of max_iter, but max_iter={self.max_iter!r} "
                "is set too; give one of them."
            )
        if self.batch_size != "auto" and not (_is_int(self.batch_size) and self.batch_size > 0):
            raise _invalid("batch_size", "a positive integer or 'auto'", self.batch_size)
        n = self.n_iter_no_change
        if not ((_is_int(n) and n > 0) or (_is_number(n) and n == math.inf)):
            raise _invalid("n_iter_no_change", "a positive integer or np.inf", n)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not _is_bool(getattr(self, name)):
                raise _invalid(name, "True or False", getattr(self, name))
        if not (_is_bool(self.verbose) or (_is_int(self.verbose) and self.verbose >= 0)):
            raise _invalid("verbose", "a non-negative integer or a bool", self.verbose)
        if self.dtype is not None:
            _check_dtype(self.dtype)
        if self.early_stopping and self.validation_fraction == 0 and solver != "lbfgs":
            raise _invalid("validation_fraction", "a number in (0, 1) with early_stopping=True",
                           self.validation_fraction)
        self._check_loss()

    def _check_loss(self) -> None:
        pass

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_LIMIT, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=5,
            )
        return min(int(self.batch_size), n_samples)

    # --------------------------------------------------------------- input
    def _validate_X(self, X, *, reset: bool):
        """Return ``X`` checked and converted: the one place every method validates ``X``.

        Dense arrays come back C-ordered float32 or float64 (the network's dtype once there is
        a network), scipy.sparse matrices as CSR or CSC (the network densifies them a batch at
        a time). ``reset`` records ``n_features_in_`` and ``feature_names_in_`` (fit); without
        it they are checked.
        """
        model = self.__dict__.get("model_")
        if not reset and model is not None:
            dtype = model.dtype
        elif self.dtype is not None:
            dtype = _check_dtype(self.dtype)
        else:
            dtype = (np.float64, np.float32)
        table = self._table_inputs(X, reset, dtype)
        if table is not None:
            return table
        return validate_data(self, X, reset=reset, accept_sparse=("csr", "csc"), dtype=dtype,
                             order="C")

    def _table_inputs(self, X, reset: bool, dtype) -> np.ndarray | None:
        """A raw pandas DataFrame (text, booleans, gaps) encoded by ``neuralnet.tabular``; or None.

        At ``fit``, a DataFrame that a plain numeric array would not represent (a non-numeric
        column, or a gap) gets a ``TablePreprocessor`` fitted on it (``preprocessor_``): median
        imputation with missing indicators, one-hot levels, standardisation. Later calls encode
        their DataFrame the same way; a numeric DataFrame takes scikit-learn's usual path.
        """
        from neuralnet import tabular

        if not tabular.is_table(X):
            if reset:
                self.__dict__.pop("preprocessor_", None)
            return None
        if reset:
            plain = all(kind in "biuf" for kind in (np.dtype(d).kind if isinstance(d, np.dtype)
                                                     else "O" for d in X.dtypes))
            if plain and not X.isna().to_numpy().any():
                self.__dict__.pop("preprocessor_", None)
                return None
            self.preprocessor_ = tabular.TablePreprocessor().fit(X)
            self.n_features_in_ = X.shape[1]
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        preprocessor = self.__dict__.get("preprocessor_")
        if preprocessor is None:
            return None
        out_dtype = dtype if isinstance(dtype, np.dtype) else np.float64
        return np.ascontiguousarray(preprocessor.transform(X, dtype=out_dtype))

    def _validate_y_array(self, y, X, numeric: bool):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = check_array(y, accept_sparse="csr", ensure_2d=False, dtype="numeric" if numeric
                        else None, input_name="y")
        if hasattr(y, "toarray"):
            y = y.toarray()
        check_consistent_length(X, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return y

    def _check_sample_weight(self, sample_weight, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        if _is_number(sample_weight):
            sample_weight = np.full(n, float(sample_weight))
        w = check_array(sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight")
        if w.ndim != 1 or len(w) != n:
            raise ValueError(
                f"sample_weight has shape {w.shape}, but X has {n} samples; expected shape ({n},)."
            )
        if (w < 0).any():
            raise ValueError(
                f"sample_weight holds negative values (down to {w.min():g}); expected weights >= 0."
            )
        if not w.any():
            raise ValueError("sample_weight holds only zeros; expected at least one positive weight.")
        return w

    # ---------------------------------------------------------------- network
    def _layer_units(self, n_features: int) -> list[int]:
        return [n_features, *self._hidden_sizes(), self.n_outputs_]

    def _initial_weights(self, units: list[int], rng, dtype) -> list[np.ndarray]:
        """scikit-learn's initialisation, draw for draw: ``U(-b, b)`` for weights and biases.

        ``b = sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / ...)`` for a 'logistic' layer
        (scikit-learn's ``_init_coef``); returned as absorbed ``(fan_in + 1, fan_out)`` matrices.
        """
        acts = [_activations.get(a).name for a in self._hidden_activations()]
        weights = []
        for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
            act = acts[min(i, len(acts) - 1)] if acts else _activations.get(self.activation).name
            bound = np.sqrt((2.0 if act == "sigmoid" else 6.0) / (fan_in + fan_out))
            coef = rng.uniform(-bound, bound, (fan_in, fan_out))
            intercept = rng.uniform(-bound, bound, fan_out)
            weights.append(np.vstack([coef, intercept[None, :]]).astype(dtype))
        return weights

    def _build_model(self, units: list[int], weights: list[np.ndarray], seed: int, dtype):
        output_activation, loss = self._output_layer()
        acts, rates = self._hidden_activations(), self._dropout_rates()
        layers = []
        for i, (n_in, n_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
            hidden = i < len(acts)
            layers.append(FullyConnectedLayer(n_in, n_out, acts[i] if hidden else output_activation,
                                              "zeros", dtype=dtype))
            if hidden and self.batch_norm:
                layers.append(BatchNormalization())
            if hidden and rates[i]:
                layers.append(Dropout(rates[i]))
        model = NeuralNet(layers, loss=loss, seed=seed, dtype=dtype)
        for layer, w in zip(model.layers.dense, weights, strict=True):
            layer.weights = w  # scikit-learn's initial weights; normalisation starts at 1 and 0
        return model

    def _new_optimizer(self) -> _optimizers.Optimizer:
        """A fresh optimizer for a ``fit`` (``partial_fit`` keeps the one it has).

        The network's gradient is ``c`` times scikit-learn's (module docstring), so the
        optimizer is put on the network's scale: SGD's rate divided by ``c`` makes every step
        scikit-learn's; the adaptive optimizers divide by a root of the squared gradients,
        which ``c`` cancels in, all but their ``epsilon``, which is multiplied by ``c``.
        """
        rate = self._learning_rate_init()
        if isinstance(self.optimizer, _optimizers.Optimizer):
            # A private copy: clones and refits must not share moments through the parameter.
            optimizer = copy.deepcopy(self.optimizer)
            optimizer.state.clear()
            optimizer.iterations = 0
            optimizer.learning_rate = rate
        elif self.optimizer is not None:
            optimizer = _optimizers.get(self.optimizer, learning_rate=rate)
        elif self.solver == "sgd":
            momentum = float(self.momentum)
            optimizer = _optimizers.SGD(rate, momentum=momentum,
                                        nesterov=bool(self.nesterovs_momentum) and momentum > 0)
        else:
            optimizer = _optimizers.Adam(rate, beta_1=float(self.beta_1),
                                         beta_2=float(self.beta_2), epsilon=float(self.epsilon),
                                         epsilon_hat=True)
        if isinstance(optimizer, _optimizers.SGD):
            optimizer.learning_rate = rate * self._rate_factor(optimizer)
        elif hasattr(optimizer, "epsilon"):
            optimizer.epsilon *= self._loss_scale()
        return optimizer

    def _rate_factor(self, optimizer) -> float:
        """The network's learning rate per unit of scikit-learn's (``1 / c`` for SGD, else 1)."""
        return 1.0 / self._loss_scale() if isinstance(optimizer, _optimizers.SGD) else 1.0

    def _learning_rate_now(self) -> float:
        """The optimizer's current learning rate on scikit-learn's scale."""
        optimizer = self.model_.optimizer
        return optimizer.learning_rate / self._rate_factor(optimizer)

    def _set_learning_rate(self, rate: float) -> None:
        """Set the rate (scikit-learn's scale); SGD's momentum buffer follows, as its velocity."""
        optimizer = self.model_.optimizer
        rate *= self._rate_factor(optimizer)
        old = optimizer.learning_rate
        if isinstance(optimizer, _optimizers.SGD) and optimizer.momentum and rate != old:
            # scikit-learn keeps v = -lr b; after lr -> rate the same v needs b * lr / rate.
            for state in optimizer.state.values():
                buffer = state.get("momentum_buffer")
                if buffer is not None:
                    buffer *= old / rate
        optimizer.learning_rate = rate

    # ----------------------------------------------------- coefs_ and intercepts_
    def _export_weights(self) -> None:
        """Make ``coefs_`` and ``intercepts_`` views of the network's absorbed weights."""
        model = self.model_
        model.check_built()
        self.coefs_ = [layer.weights[:-1] for layer in model.layers.dense]
        self.intercepts_ = [layer.weights[-1] for layer in model.layers.dense]
        self._exported = (self.coefs_, tuple(self.coefs_), self.intercepts_,
                          tuple(self.intercepts_), model.flat_weights)

    def _sync_weights(self) -> None:
        """Copy assigned ``coefs_`` / ``intercepts_`` into the network; keep them its views."""
        model = self.model_
        model.check_built()
        exported = self.__dict__.get("_exported")
        coefs, intercepts = self.__dict__.get("coefs_"), self.__dict__.get("intercepts_")

        def untouched(current, listed, items) -> bool:
            return current is listed and len(current) == len(items) and all(
                a is b for a, b in zip(current, items, strict=True))

        if exported is not None:
            same_coefs = untouched(coefs, exported[0], exported[1])
            same_intercepts = untouched(intercepts, exported[2], exported[3])
            if same_coefs and same_intercepts:
                if exported[4] is model.flat_weights:
                    return
                self._export_weights()  # the network rebuilt its buffer: point at the new one
                return
        else:
            same_coefs = same_intercepts = False
        weights = model.get_weights()
        for name, values, same, rows in (("coefs_", coefs, same_coefs, slice(None, -1)),
                                         ("intercepts_", intercepts, same_intercepts, -1)):
            if same or values is None:
                continue
            if not isinstance(values, (list, tuple)) or len(values) != len(weights):
                raise ValueError(
                    f"{name} must be a list of {len(weights)} arrays, one per layer; received "
                    f"{type(values).__name__}"
                    + (f" of length {len(values)}." if hasattr(values, "__len__") else ".")
                )
            for i, (w, value) in enumerate(zip(weights, values, strict=True)):
                expected = w[rows].shape
                value = np.asarray(value, dtype=w.dtype)
                if value.shape != expected:
                    raise ValueError(
                        f"{name}[{i}] has shape {value.shape}, but layer {i} of the network "
                        f"takes {expected}."
                    )
                w[rows] = value
        model.set_weights(weights)
        self._export_weights()

    @property
    def _optimizer(self) -> _optimizers.Optimizer:
        """The network's optimizer (scikit-learn's own tests read ``_optimizer.learning_rate``)."""
        model = self.__dict__.get("model_")
        if model is None or model.optimizer is None:
            raise AttributeError(f"{type(self).__name__} has no optimizer before fit.")
        return model.optimizer

    def __getstate__(self) -> dict:
        # coefs_ / intercepts_ are views of model_'s weights, which a copy would split apart:
        # a copy rebuilds them from its own model_ (__setstate__).
        if "model_" in self.__dict__:
            self._sync_weights()
        state = super().__getstate__()
        if "_exported" in state:
            state = {k: v for k, v in state.items() if k not in ("coefs_", "intercepts_",
                                                                    "_exported")}
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "model_" in self.__dict__ and "coefs_" not in self.__dict__:
            self._export_weights()

    # ---------------------------------------------------------------- training
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` ``(n_samples, n_features)`` and ``y``; return ``self``.

        Runs up to ``max_iter`` epochs of mini-batch training (or ``max_iter`` L-BFGS
        iterations), stopping earlier once the loss (or the validation score, with
        ``early_stopping``) stops improving by ``tol``. With ``warm_start`` a second call
        continues from the fitted weights. ``X`` may be scipy.sparse (CSR or CSC).
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental: bool):
        self._check_params()
        solver = self._solver()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        # scikit-learn's rule: start afresh unless the weights exist and are to be continued.
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X = self._validate_X(X, reset=first_pass)
        targets, y_out = self._validate_targets(y, X, first_pass, incremental)
        sample_weight = self._check_sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)

        self.n_outputs_ = targets.shape[1]
        units = self._layer_units(X.shape[1])
        self.n_layers_ = len(units)
        model = None if first_pass else self.__dict__.get("model_")
        if model is not None:
            self._check_same_shapes(units)
        initial = None
        if model is None:
            dtype = X.dtype if self.dtype is None else _check_dtype(self.dtype)
            initial = self._initial_weights(units, rng, dtype)
            self._reset_state(solver)
        self._ensure_state(solver)

        validation = None
        if self.early_stopping and solver != "lbfgs":
            X, targets, sample_weight, validation = self._validation_split(
                X, targets, y_out, sample_weight, rng)
        if model is None:
            # After the split, as scikit-learn draws its shuffling after it.
            seed = int(rng.randint(np.iinfo(np.int32).max))
            model = self.model_ = self._build_model(units, initial, seed, initial[0].dtype)
            # A saved model_ keeps the table encoding, so neuralnet.load(path).predict(df) works.
            model.preprocessor = self.__dict__.get("preprocessor_")
            if "coefs_" in self.__dict__ and not first_pass:
                self.__dict__.pop("_exported", None)  # coefs_ assigned before any fit: use them
            else:
                self.__dict__.pop("coefs_", None)
                self.__dict__.pop("intercepts_", None)
                self.__dict__.pop("_exported", None)
            if self.early_stopping and solver != "lbfgs":
                self._best_weights = model.get_weights()
        self.out_activation_ = _OUT_ACTIVATION_NAMES[model.output_activation.name]
        self._sync_weights()

        if solver == "lbfgs":
            self._fit_lbfgs(X, targets, sample_weight)
        else:
            self._fit_stochastic(X, targets, sample_weight, validation, incremental)
        return self

    def _reset_state(self, solver: str) -> None:
        """The fitted attributes' starting values (scikit-learn's ``_initialize``)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.__dict__.pop("model_", None)
        if self.early_stopping and solver != "lbfgs":
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self.__dict__.pop("_best_weights", None)

    def _ensure_state(self, solver: str) -> None:
        """Fill in what a warm start (or weights assigned before a first fit) lacks."""
        for name, value in (("n_iter_", 0), ("t_", 0), ("loss_curve_", []),
                            ("_no_improvement_count", 0)):
            if not hasattr(self, name):
                setattr(self, name, value)
        if self.early_stopping and solver != "lbfgs":
            if getattr(self, "validation_scores_", None) is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            if getattr(self, "best_loss_", None) is None:
                self.best_loss_ = np.inf
            if not hasattr(self, "validation_scores_"):
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _check_same_shapes(self, units: list[int]) -> None:
        current = [self.model_.layers.dense[0].n_in] + [l.n_out for l in self.model_.layers.dense]
        if current != units:
            raise ValueError(
                f"warm_start continues the fitted network of layer sizes {tuple(current)}, but "
                f"the current parameters ask for {tuple(units)}; set warm_start=False to start "
                "afresh."
            )

    def _validation_split(self, X, targets, y_out, sample_weight, rng):
        """Hold out ``validation_fraction`` of the samples, as scikit-learn does (same draws)."""
        # scikit-learn stratifies single-output classification only, on the binarized target.
        stratify = targets.astype(bool) if self._stratify() else None
        arrays = [X, targets, y_out] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(*arrays, random_state=rng, test_size=self.validation_fraction,
                                 stratify=stratify)
        X_train, X_val, t_train, _, _, y_val = parts[:6]
        sw_train, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of "
                f"your dataset: it holds {X_val.shape[0]} sample(s), and early stopping needs at "
                "least 2."
            )
        return X_train, t_train, sw_train, (X_val, y_val, sw_val)

    def _stratify(self) -> bool:
        return False

    def _l2(self, batch_size: int, sample_weight) -> float:
        """The ``l2`` that matches ``alpha`` for batches of ``batch_size`` (module docstring)."""
        mean_weight = 1.0 if sample_weight is None else float(np.mean(sample_weight))
        return self._loss_scale() * float(self.alpha) / (batch_size * mean_weight)

    def _network_weights(self, sample_weight):
        """``sample_weight`` for the network: None when all are equal (the loss is then the same)."""
        if sample_weight is None or np.all(sample_weight == sample_weight[0]):
            return None
        return sample_weight

    def _fit_stochastic(self, X, targets, sample_weight, validation, incremental: bool) -> None:
        model = self.model_
        if not incremental or model.optimizer is None:
            model.optimizer = self._new_optimizer()
        n = X.shape[0]
        batch_size = self._batch_size(n)
        for layer in model.layers.dense:
            layer.l2 = self._l2(batch_size, sample_weight)
        schedule = self._schedule()
        if callable(schedule):
            schedule = _ScaledSchedule(schedule, self._rate_factor(model.optimizer))
        recorder = _EpochEnd(self, n, validation)
        self.n_iter_ = 0
        max_iter = self._max_iter()
        try:
            with warnings.catch_warnings():
                # The network's diagnostics stay in model_.history; the MLP warns of none.
                warnings.simplefilter("ignore", TrainingWarning)
                model.fit(
                    X, targets,
                    epochs=1 if incremental else max_iter,
                    batch_size=batch_size,
                    learning_rate=schedule if callable(schedule) else None,
                    shuffle=bool(self.shuffle),
                    optimizer=model.optimizer,
                    verbose=0,
                    callbacks=[recorder],
                    sample_weight=self._network_weights(sample_weight),
                )
        except TrainingDivergedError as exc:
            self._diverged(exc, validation)
        except ValueError as exc:  # the data overflow the network at the first step
            raise ValueError(f"{_NON_FINITE} {exc}") from exc
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if validation is not None and getattr(self, "_best_weights", None) is not None:
            model.set_weights(self._best_weights)  # the best epoch on the validation set
        if not incremental and not recorder.stopped and self.n_iter_ == max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _diverged(self, exc: TrainingDivergedError, validation) -> None:
        """Record the diverging epoch as scikit-learn would (NaN); keep the best weights if any."""
        self.n_iter_ += 1
        self.loss_ = math.nan
        self.loss_curve_.append(math.nan)
        if validation is None or getattr(self, "_best_weights", None) is None:
            raise ValueError(f"{_NON_FINITE} {exc}") from exc
        self.validation_scores_.append(math.nan)
        warnings.warn(
            f"{exc} The weights of the best epoch on the validation set are kept.",
            ConvergenceWarning,
            stacklevel=5,
        )

    def _update_no_improvement_count(self, validation) -> None:
        """scikit-learn's rule: no improvement by ``tol`` on the loss, or the validation score."""
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = self.model_.get_weights()
        else:
            loss = self.loss_curve_[-1]
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss

    def _validation_score(self, X_val, y_val, sw_val) -> float:
        """The score (accuracy or R^2) on the held-out split; NaN when the outputs are not finite."""
        try:
            outputs = self.model_.predict(X_val)
        except (ValueError, RuntimeError):  # outputs or weights overflowed
            return math.nan
        if not np.isfinite(outputs).all():
            return math.nan
        return float(self._score_outputs(outputs, y_val, sw_val))

    def _iteration_ends(self) -> None:
        """'invscaling': ``learning_rate_init / (t_ + 1) ** power_t`` after every epoch."""
        if self._schedule_applies() and self._schedule() == "invscaling":
            self._set_learning_rate(
                float(self._learning_rate_init()) / (self.t_ + 1) ** self.power_t
            )

    def _trigger_stopping(self, early_stopping: bool) -> bool:
        """Whether to stop now; 'adaptive' divides the rate by 5 instead, until it is 1e-6."""
        what = "Validation score" if early_stopping else "Training loss"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        if not (self._schedule_applies() and self._schedule() == "adaptive"):
            if self.verbose:
                print(message + " Stopping.")
            return True
        rate = self._learning_rate_now()
        if rate <= _MIN_ADAPTIVE_RATE:
            if self.verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(rate / 5.0)
        if self.verbose:
            print(message + f" Setting learning rate to {rate / 5.0:f}")
        return False

    def _fit_lbfgs(self, X, targets, sample_weight) -> None:
        from neuralnet.lbfgs import fit_lbfgs

        model, scale, max_iter = self.model_, self._loss_scale(), self._max_iter()
        total = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        for layer in model.layers.dense:
            layer.l2 = scale * float(self.alpha) / total
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TrainingWarning)
                history = fit_lbfgs(
                    model, X, targets, max_iter=max_iter, max_fun=int(self.max_fun),
                    tol=float(self.tol), sample_weight=self._network_weights(sample_weight),
                    callbacks=[_IterationEnd(self)], objective_scale=1.0 / scale,
                )
        except ValueError as exc:  # the data overflow the network at the starting weights
            raise ValueError(f"{_NON_FINITE} {exc}") from exc
        result = history.params["lbfgs"]
        self.n_iter_ = min(result["n_iter"], max_iter)
        self.loss_ = result["fun"] / scale
        self.best_loss_ = min(self.loss_, self.best_loss_ if self.best_loss_ is not None
                              else math.inf)
        if result["status"] != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result['status']}): {result['message']}. Increase the number of "
                f"iterations (max_iter={max_iter}) or max_fun={self.max_fun}, or scale the data "
                "(e.g. with sklearn.preprocessing.StandardScaler).",
                ConvergenceWarning,
                stacklevel=4,
            )

    # --------------------------------------------------------------- prediction
    def _outputs(self, X) -> np.ndarray:
        """The network's outputs ``(n_samples, n_outputs)``, in its dtype."""
        check_is_fitted(self, "model_")
        self._sync_weights()
        X = self._validate_X(X, reset=False)
        return self.model_.predict(X)

    def _outputs_and_logits(self, X) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "model_")
        self._sync_weights()
        model = self.model_
        X = model.check_X(self._validate_X(X, reset=False), sparse_ok=True)
        return model.outputs_and_logits(X, 1024)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_DOC = """
    Parameters (scikit-learn's, same names, defaults and meaning; see the module docstring):
        hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
        learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
        momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
        epsilon, n_iter_no_change, max_fun.
    The library's additions:
        optimizer: a ``NeuralNet`` optimizer ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'),
            by name or instance, in place of ``solver``'s; None (default) follows ``solver``.
        dropout: a rate in [0, 1) applied after every hidden layer, or one per hidden layer.
        batch_norm: a BatchNormalization after every hidden layer (not with solver='lbfgs').
        dtype: 'float32' or 'float64'; None (default) computes in X's dtype, as the MLP.
        epochs: an alias of ``max_iter`` that wins when set.
        ``activation`` may also be one name per hidden layer, and ``learning_rate`` a number
        (the initial rate, an alias of ``learning_rate_init``) or a schedule ``epoch -> rate``.
"""


class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    """A drop-in for scikit-learn's ``MLPClassifier``, built on ``NeuralNet``.

    Binary problems get one sigmoid output, multi-class problems (any labels, strings too) a
    softmax layer, multi-label problems (``y`` a 0/1 matrix ``(n_samples, n_labels)``) one
    sigmoid output per label; the loss is the matching cross-entropy.
    """

    __doc__ += _COMMON_DOC

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str | float | Callable[[int], float] = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        optimizer: str | _optimizers.Optimizer | None = None,
        dropout: float | Sequence[float] = 0.0,
        dtype: str | None = None,
        epochs: int | None = None,
        batch_norm: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.optimizer = optimizer
        self.dropout = dropout
        self.dtype = dtype
        self.epochs = epochs
        self.batch_norm = batch_norm

    def _output_layer(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "categorical_crossentropy"
        return "sigmoid", "binary_crossentropy"

    def _loss_scale(self) -> float:
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return 1.0 / len(self.classes_)
        return 1.0

    def _stratify(self) -> bool:
        return self.n_outputs_ == 1

    def _validate_targets(self, y, X, first_pass: bool, incremental: bool):
        """Return the 0/1 targets ``(n_samples, n_outputs)`` and ``y`` itself (labels)."""
        y = self._validate_y_array(y, X, numeric=False)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_known_labels(y)
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return self._label_binarizer.transform(y).astype(np.float64), y

    def _check_known_labels(self, y) -> None:
        multilabel = type_of_target(y).startswith("multilabel")
        if multilabel != self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                f"y is {type_of_target(y)!r}, but the classifier was fitted on "
                f"{self._label_binarizer.y_type_!r} targets; refit with warm_start=False."
            )

    def _score_outputs(self, outputs: np.ndarray, y, sample_weight=None) -> float:
        return accuracy_score(y, self._labels(outputs), sample_weight=sample_weight)

    def _labels(self, outputs: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            outputs = outputs[:, 0]
        return self._label_binarizer.inverse_transform(outputs)

    @available_if(_partial_fit_available)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over ``(X, y)``; the first call needs ``classes``, every label.

        Later calls continue from the current weights and optimizer state; ``classes`` may be
        given again but must not change, and ``y`` must not bring labels outside it.
        """
        if classes is not None and hasattr(self, "classes_"):
            if not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                    f"{self.classes_!r}"
                )
        elif classes is None and not hasattr(self, "classes_"):
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every label the "
                "classifier will see, e.g. classes=np.unique(y_all)."
            )
        elif classes is not None:
            self.classes_ = unique_labels(classes)
            binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                binarizer.fit(y)
            else:
                binarizer.fit(classes)
            self._label_binarizer = binarizer
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Return the predicted labels ``(n_samples,)``, or a 0/1 matrix for multi-label ``y``.

        A sigmoid output above 0.5 means the positive class (label); softmax takes the arg-max.
        """
        return self._labels(self._outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        """Return the class probabilities ``(n_samples, n_classes)`` in the order of ``classes_``.

        Binary: ``[1 - p, p]``; multi-label: each label's own probability (rows need not sum to 1).
        """
        proba = self._outputs(X)
        if self.n_outputs_ == 1:
            if len(self.classes_) == 1:
                return np.ones_like(proba)
            return np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X) -> np.ndarray:
        """Return ``log(predict_proba(X))`` ``(n_samples, n_classes)``; -inf where it is 0."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def decision_function(self, X) -> np.ndarray:
        """Return the output layer's pre-activations (logits), ranked like ``predict_proba``.

        Binary: ``(n_samples,)``, positive for ``classes_[1]``; multi-class and multi-label:
        ``(n_samples, n_outputs)``, one column per class or label.
        """
        logits = self._outputs_and_logits(X)[1]
        return logits[:, 0] if self.n_outputs_ == 1 else logits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    """A drop-in for scikit-learn's ``MLPRegressor``, built on ``NeuralNet``.

    Linear outputs, one per target column, trained on the squared error; with
    ``loss='poisson'``, exponential outputs trained on half the Poisson deviance (targets >= 0).
    """

    __doc__ += _COMMON_DOC

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str | float | Callable[[int], float] = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        optimizer: str | _optimizers.Optimizer | None = None,
        dropout: float | Sequence[float] = 0.0,
        dtype: str | None = None,
        epochs: int | None = None,
        batch_norm: bool = False,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.optimizer = optimizer
        self.dropout = dropout
        self.dtype = dtype
        self.epochs = epochs
        self.batch_norm = batch_norm

    def _check_loss(self) -> None:
        if self.loss not in ("squared_error", "poisson"):
            raise _invalid("loss", "'squared_error' or 'poisson'", self.loss)

    def _output_layer(self):
        if self.loss == "poisson":
            return _activations.Exponential(), _losses.HalfPoissonDeviance()
        return "linear", "mse"

    def _loss_scale(self) -> float:
        # NeuralNet's losses average over the k outputs; scikit-learn's gradients sum over them
        # (deltas a - y), with half the squared error.
        k = self.n_outputs_
        return 2.0 / k if self.loss != "poisson" else 1.0 / k

    def _validate_targets(self, y, X, first_pass: bool, incremental: bool):
        y = self._validate_y_array(y, X, numeric=True)
        targets = y.reshape(len(y), -1)
        model = self.__dict__.get("model_")
        if not first_pass and model is not None and targets.shape[1] != model.n_outputs:
            raise ValueError(
                f"y has {targets.shape[1]} target column(s), but the network was fitted on "
                f"{model.n_outputs}; refit with warm_start=False to change the targets."
            )
        if self.loss == "poisson" and (targets < 0).any():
            raise ValueError(
                f"loss='poisson' needs targets y >= 0; received values down to {targets.min():g}."
            )
        return targets, y

    def _score_outputs(self, outputs: np.ndarray, y, sample_weight=None) -> float:
        return r2_score(y, outputs.reshape(np.shape(y)), sample_weight=sample_weight)

    @available_if(_partial_fit_available)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Return the predictions ``(n_samples,)``, or ``(n_samples, n_targets)`` for several."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
