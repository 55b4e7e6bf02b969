"""Hyperparameter grid search for the scikit-learn estimators, on this machine or a Dask cluster.

The search is scikit-learn's ``GridSearchCV`` over ``StandardScaler`` (for a pandas DataFrame of
raw columns: a ``TablePreprocessor``, fitted on each fold's training rows) followed by a
``NeuralNetClassifier`` or ``NeuralNetRegressor``. Every fit is seeded (``random_state``) and the
folds are fixed (``KFold`` / ``StratifiedKFold`` without shuffling), so where the fits run does
not change the results:

- locally, ``n_jobs`` worker processes through joblib (``None``: one, in this process);
- on a Dask cluster, given its scheduler's address: a ``distributed.Client`` is opened and
  ``joblib.parallel_backend("dask")`` sends each fit to the cluster's workers
  (https://joblib.readthedocs.io/en/stable/auto_examples/parallel/distributed_backend_simple.html).
  The workers need ``neuralnet`` and scikit-learn installed.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["grid_search", "format_results"]

TASKS = ("classification", "regression")


def _require(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"neuralnet search needs {module.split('.')[0]}; install it with: "
            f"pip install 'neuralnet[{extra}]'"
        ) from None


def infer_task(y) -> str:
    """Return ``"regression"`` for continuous targets, ``"classification"`` for labels."""
    type_of_target = _require("sklearn.utils.multiclass", "sklearn").type_of_target
    return "regression" if type_of_target(y).startswith("continuous") else "classification"


@contextlib.contextmanager
def _dask_backend(scheduler: str):
    """Run joblib's parallel work (and so ``GridSearchCV``'s fits) on the Dask cluster."""
    distributed = _require("distributed", "distributed")
    import joblib

    with distributed.Client(scheduler, timeout="10s"), joblib.parallel_backend("dask"):
        yield


def grid_search(
    X,
    y,
    param_grid: Mapping[str, Sequence],
    task: str | None = None,
    cv: int = 3,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    random_state: int = 0,
    table_options: Mapping | None = None,
    **estimator_params,
):
    """Return the fitted ``GridSearchCV`` of a scaled network over ``param_grid``.

    Args:
        param_grid: the estimator's parameter names (``"hidden_layer_sizes"``,
            ``"learning_rate"``, ...) mapped to the values to try.
        task: ``"classification"`` or ``"regression"``; by default inferred from ``y``.
        cv: the number of folds.
        n_jobs: local joblib workers (``-1``: one per core); ignored with ``scheduler``,
            where every Dask worker takes part.
        scheduler: a Dask scheduler's address such as ``"tcp://10.0.0.5:8786"``.
        random_state: seeds every network, so the results do not depend on where fits run.
        table_options: ``TablePreprocessor`` options (``categorical``, ``max_levels``, ...) for
            a DataFrame ``X``.
        estimator_params: fixed parameters of every candidate, e.g. ``epochs=50``.

    A candidate whose fits fail, say a learning rate so high that training diverges, scores
    NaN and ranks last (scikit-learn's ``FitFailedWarning`` gives the reason); the search goes on.
    """
    sk_model_selection = _require("sklearn.model_selection", "sklearn")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from neuralnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

    task = infer_task(y) if task is None else task
    if task not in TASKS:
        raise ValueError(
            f"Received an invalid value for `task`, expected one of {TASKS}. Received: task={task!r}"
        )
    if not isinstance(param_grid, Mapping) or not param_grid:
        raise ValueError(
            "param_grid must be a non-empty mapping of estimator parameter names to lists of "
            f"values; received {param_grid!r}."
        )
    estimator_cls = NeuralNetClassifier if task == "classification" else NeuralNetRegressor
    unknown = sorted(set(param_grid) - set(estimator_cls().get_params()))
    if unknown:
        raise ValueError(
            f"param_grid names unknown parameter(s) {unknown} of {estimator_cls.__name__}; "
            f"expected names from: {', '.join(estimator_cls().get_params())}."
        )
    from neuralnet.tabular import is_table

    if is_table(X) or table_options is not None:
        from neuralnet._sklearn_table import TableStep

        first = ("table", TableStep(**dict(table_options or {})))
    else:
        first = ("scale", StandardScaler())
    pipe = Pipeline([first, ("net", estimator_cls(random_state=random_state, **estimator_params))])
    search = sk_model_selection.GridSearchCV(
        pipe,
        {f"net__{name}": list(values) for name, values in param_grid.items()},
        cv=cv,
        n_jobs=None if scheduler is not None else n_jobs,
    )
    with _dask_backend(scheduler) if scheduler is not None else contextlib.nullcontext():
        search.fit(X, y)
    return search


def _format_value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_results(search, top: int | None = None) -> str:
    """Return the candidates ranked by mean cross-validated score, one line each."""
    results = search.cv_results_
    names = [k.removeprefix("param_") for k in results if k.startswith("param_")]
    short = [n.removeprefix("net__") for n in names]
    order = np.argsort(results["rank_test_score"], kind="stable")[:top]
    rows = [[str(results["rank_test_score"][i]),
             f"{results['mean_test_score'][i]:.4f}",
             f"{results['std_test_score'][i]:.4f}",
             *(_format_value(results["params"][i][n]) for n in names)] for i in order]
    header = ["rank", "mean score", "std", *short]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)
