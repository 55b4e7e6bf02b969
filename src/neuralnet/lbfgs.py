"""Full-batch training by L-BFGS through ``scipy.optimize``, as scikit-learn's ``solver="lbfgs"``.

L-BFGS minimises the network's objective over the whole data set at once, as a function of
the flat vector ``w`` of every dense layer's absorbed weights ``(n_in + 1, n_out)``, raveled
and concatenated layer by layer:

    f(w) = sum_i s_i l_i(w) / sum_i s_i  +  sum_l l2_l / 2 * ||W_l[:-1]||^2

(``s_i`` the sample weights, 1 without them; the bias rows are not penalised), which is what
``NeuralNet.loss`` returns on the whole data and ``NeuralNet.gradients`` differentiates. It runs
``scipy.optimize.minimize(f, w0, method="L-BFGS-B", jac=True)`` with
``maxiter=max_iter, maxfun=max_fun, gtol=tol``, as ``MLPClassifier`` does.

Each evaluation of ``f`` and its gradient runs the network over the data in chunks of
``batch_size`` rows (a scipy.sparse ``X`` is densified one chunk at a time). Chunk ``c`` holds
the share ``p_c = sum_{i in c} s_i / sum_i s_i`` of the weight, and

    f = sum_c p_c * loss(chunk c),      grad f = sum_c p_c * gradients(chunk c)

exactly, since each chunk's loss is its weighted mean plus the same L2 terms and the shares sum
to 1. One L-BFGS iteration counts as one epoch: ``history.history["loss"]`` holds the objective
after each iteration, callbacks see ``on_epoch_end`` once per iteration, and a callback that sets
``model.stop_training`` ends the run. ``history.params["lbfgs"]`` keeps scipy's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralnet import training
from neuralnet._validation import check_positive_int, is_sparse
from neuralnet.callbacks import Callback, History
from neuralnet.layers import FullyConnectedLayer
from neuralnet.optimizers import _check_number

__all__ = ["fit_lbfgs"]

_SPARSE_CHUNK = 1024  # rows densified at a time for a scipy.sparse X, by default


def _require_scipy():
    try:
        from scipy.optimize import minimize
    except ImportError as exc:
        raise ImportError(
            'L-BFGS training needs scipy; install it with: pip install "neuralnet[lbfgs]"'
        ) from exc
    return minimize


def fit_lbfgs(
    model,
    X,
    y,
    *,
    max_iter: int = 100,
    max_fun: int = 15000,
    tol: float = 1e-5,
    sample_weight=None,
    class_weight: dict | None = None,
    validation_data: tuple | None = None,
    callbacks: Sequence[Callback] | None = None,
    verbose: int = 0,
    batch_size: int | None = None,
    objective_scale: float = 1.0,
    client=None,
) -> History:
    """Train ``model`` by L-BFGS on all of ``(X, y)``; return the ``History`` of each iteration.

    Args:
        model: a ``NeuralNet`` of dense layers only (dropout would make the objective random).
        X, y: the data ``(n_samples, n_features)``, dense or scipy.sparse, and the targets.
        max_iter: at most this many L-BFGS iterations (scipy's ``maxiter``).
        max_fun: at most this many evaluations of the objective (scipy's ``maxfun``).
        tol: stop once the largest component of the projected gradient is at most ``tol``
            (scipy's ``gtol``); L-BFGS-B also stops when the objective stops falling.
        sample_weight, class_weight: per-sample weights, or weights per class label.
        validation_data: ``(X_val, y_val)`` evaluated after each iteration (``val_loss``).
        callbacks: ``Callback`` instances; ``on_epoch_end`` runs after each iteration.
        verbose: 0 silent, 1 or 2 one line per iteration (on stderr).
        batch_size: rows per forward pass when evaluating the objective (a memory bound only:
            the objective is always the whole data's); by default all rows, or 1,024 at a time
            for a sparse ``X``.
        objective_scale: L-BFGS minimises ``objective_scale * f``, so that ``tol`` applies to
            that objective's gradient (the scikit-learn estimators give scikit-learn's scale);
            the history records ``f`` itself.
        client: a ``distributed.Client``: with Dask arrays ``X``, ``y`` (and ``sample_weight``),
            each evaluation of ``f`` and its gradient is one round trip to the workers holding
            the rows, which return their partial sums (``data_parallel.Objective``); scipy runs
            here. ``validation_data`` may then be Dask arrays too, scored on the workers.
            ``batch_size`` does not apply: each worker runs its own chunks.
    """
    minimize = _require_scipy()
    model.check_ready()
    max_iter = check_positive_int(max_iter, "max_iter")
    max_fun = check_positive_int(max_fun, "max_fun")
    tol = _check_number(tol, "tol")
    objective_scale = _check_number(objective_scale, "objective_scale", low_open=True)
    others = [layer for layer in model.layers if not isinstance(layer, FullyConnectedLayer)]
    if others:
        raise ValueError(
            f"L-BFGS needs a deterministic objective, but the network holds {others[0]!r}; "
            "remove the Dropout layers or train with a stochastic optimizer such as 'adam'."
        )
    if verbose not in (0, 1, 2):
        raise ValueError(
            "Received an invalid value for `verbose`, expected 0 (silent), 1 or 2 (one line per "
            f"iteration). Received: verbose={verbose!r}"
        )
    callbacks = training.check_callbacks(callbacks)
    if client is None:
        f = _LocalObjective(model, X, y, sample_weight, class_weight, validation_data, batch_size)
    else:
        from neuralnet.data_parallel import Objective

        f = Objective(model, X, y, client, sample_weight, class_weight, validation_data)
    try:
        return _minimize(minimize, model, f, max_iter, max_fun, tol, objective_scale, callbacks,
                         verbose)
    finally:
        if client is not None:
            f.close()


class _LocalObjective:
    """``f(w) -> (loss, grad)`` over the data in this process, a chunk of rows at a time.

    The same interface as ``data_parallel.Objective``: ``n_samples`` and ``validation_logs``.
    """

    def __init__(self, model, X, y, sample_weight, class_weight, validation_data,
                 batch_size) -> None:
        # The same checks, class weights and validation pair as fit's (training.prepare_data).
        X, targets, weights, X_val, y_val = training.prepare_data(
            model, X, y, sample_weight, class_weight, validation_data)
        n = len(X)
        sparse = is_sparse(X)
        if batch_size is None:
            batch_size = _SPARSE_CHUNK if sparse else n
        batch_size = check_positive_int(batch_size, "batch_size")
        total = float(n if weights is None else weights.sum())
        self.chunks = []  # (x, targets, weights, share of the weight); zero weight adds nothing
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            part = float(stop - start if weights is None else weights[start:stop].sum())
            if part > 0:
                self.chunks.append((X[start:stop], targets[start:stop],
                                    None if weights is None else weights[start:stop],
                                    part / total))
        self.model, self.sparse, self.n_samples = model, sparse, n
        self.X_val, self.y_val = X_val, y_val

    def __call__(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        model = self.model
        model.flat_weights[...] = w
        value, grad = 0.0, np.zeros(w.size)
        for x, t, s, share in self.chunks:
            x = x.toarray() if self.sparse else x  # sparse: this chunk only
            value += share * model.loss(x, t, s)
            grad += share * np.concatenate([g.ravel() for g in model.gradients(x, t, s)])
        return value, grad

    def validation_logs(self) -> dict[str, float] | None:
        if self.X_val is None:
            return None
        return self.model.evaluate_prepared(self.X_val, self.y_val, 1024, None, {})


def _minimize(minimize, model, f, max_iter, max_fun, tol, objective_scale, callbacks,
              verbose) -> History:
    """Run scipy's L-BFGS-B on ``f`` over ``model.flat_weights``, with the callbacks."""

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = f(w)
        return objective_scale * value, objective_scale * grad

    def guarded(w: np.ndarray) -> tuple[float, np.ndarray]:
        # A trial step of the line search may overflow the network; an infinite value makes
        # L-BFGS-B step back. At the starting weights the error is the caller's (see below).
        try:
            return objective(w)
        except ValueError:
            return np.inf, np.zeros(w.size)

    history = History()
    history.params = {"epochs": max_iter, "samples": f.n_samples, "optimizer": "lbfgs"}
    if verbose:
        from neuralnet.progress import ProgressLogger

        callbacks.append(ProgressLogger(max_iter, 2))
    callbacks.append(history)
    for cb in callbacks:
        cb.set_model(model)
    model.stop_training = False
    model.history = history

    # The flat vector is every dense layer's absorbed weights, raveled, layer by layer: the
    # order of get_weights() and of gradients().
    w0 = model.flat_weights.astype(np.float64)
    objective(w0)  # the data overflowing the initial weights is an error, as in fit

    def after_iteration(intermediate_result) -> None:
        model.flat_weights[...] = intermediate_result.x
        logs = {"loss": float(intermediate_result.fun) / objective_scale}
        val = f.validation_logs()
        if val is not None:
            logs["val_loss"] = val["loss"]
        epoch = model.epoch
        model.epoch += 1
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            raise StopIteration  # scipy ends the run and returns the current point
        for cb in callbacks:
            cb.on_epoch_begin(model.epoch)

    for cb in callbacks:
        cb.on_train_begin()
    for cb in callbacks:
        cb.on_epoch_begin(model.epoch)
    result = minimize(
        guarded, w0, method="L-BFGS-B", jac=True, callback=after_iteration,
        options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
    )
    model.flat_weights[...] = result.x
    history.params["lbfgs"] = {
        "success": bool(result.success),
        "status": int(result.status),
        "message": str(result.message),
        "n_iter": int(result.nit),
        "n_fun": int(result.nfev),
        "fun": float(result.fun) / objective_scale,
    }
    for cb in callbacks:
        cb.on_train_end()
    return history


def _fit_from_network_fit(model, X, y, *, epochs, learning_rate, verbose, validation_data,
                          validation_split, callbacks, metrics, sample_weight, class_weight,
                          clipnorm, clipvalue, client=None) -> History:
    """``NeuralNet.fit(..., optimizer="lbfgs")``: refuse what L-BFGS has no use for, then train."""
    unused = {"learning_rate": learning_rate, "metrics": metrics, "clipnorm": clipnorm,
              "clipvalue": clipvalue}
    given = [name for name, value in unused.items() if value is not None]
    if validation_split:
        given.append("validation_split")
    if given:
        raise ValueError(
            f"fit(optimizer='lbfgs') takes no {', '.join(given)}: L-BFGS picks its own steps "
            "on the whole data. Leave them out, or use neuralnet.lbfgs.fit_lbfgs for max_fun "
            "and tol."
        )
    epochs = check_positive_int(epochs, "epochs")
    return fit_lbfgs(model, X, y, max_iter=epochs, sample_weight=sample_weight,
                     class_weight=class_weight, validation_data=validation_data,
                     callbacks=callbacks, verbose=verbose, client=client)
