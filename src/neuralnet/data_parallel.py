"""Data-parallel training on a Dask cluster: each batch's gradient from the workers holding its rows.

``fit(X, y, client=client)`` with Dask arrays ``X`` and ``y`` and a ``distributed.Client``:

1. Setup, once per ``fit``. The arrays are cut into chunks of whole rows (``X``'s row chunks);
   each chunk is checked and converted on the cluster (what ``check_X`` and ``check_y`` do to
   arrays) and stays in its worker's memory. The chunks on each worker go to one *actor* there
   (``Shard``), which builds the network from ``model.get_config()``.
2. Every batch. The driver (this process) draws the batch's rows exactly as ``fit`` draws them
   from arrays (``BatchIterator``: a permutation of all rows with ``shuffle``, else the rows in
   order), splits them by the chunk holding them and calls each actor once with the current
   weights and its rows' positions. The call goes straight from the driver to the worker (an
   actor skips the scheduler): one round trip a step. Each actor runs forward and backward
   over its rows and returns its partial sums

       S_k = sum_{i in k} w_i l_i,   G_k = sum_{i in k} w_i dl_i/dW,   W_k = sum_{i in k} w_i

   (``w_i = 1`` without weights; the penalties' terms ride along, weighted by ``W_k``). The
   driver adds them, ``loss = sum S_k / sum W_k`` and ``grad = sum G_k / sum W_k`` (the mean
   over the batch, as one process computes it), then clips and makes the one optimizer update.
3. Every epoch's end. Metrics and validation losses are partial counts and sums from each
   actor (``sources.MetricStream``), merged on the driver.

So the result equals one process training on the same batches up to rounding (the tests hold
it to rtol 1e-9 in float64). ``Objective`` is the loss and gradient over all rows, one round
trip per evaluation, for a full-batch optimizer: ``fit(optimizer="lbfgs", client=)`` runs
scipy's L-BFGS-B on the driver over it (``neuralnet.lbfgs``).

Limits: every layer's gradient must be a sum over rows, so layers that keep batch statistics
(a non-empty ``state``) are refused; Dropout masks are drawn from each worker's own generator,
so with Dropout the run is not the one-process run. Custom layers must be registered
(``neuralnet.register``) in the workers' processes too. The workers need ``neuralnet``
installed.
"""

from __future__ import annotations

import uuid

import numpy as np

from neuralnet import sources as _sources

__all__ = ["Shard", "Objective", "prepare", "local_objective"]


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "Data-parallel training needs Dask's distributed scheduler; install it with: "
            'pip install "neuralnet[distributed]"'
        ) from None
    return distributed


# --------------------------------------------------------------------- the worker side
def _network(config: dict):
    from neuralnet.model import NeuralNet

    net = NeuralNet.from_config(config)
    net.check_ready()
    return net


def _check_chunk(config: dict, X, y, w, class_weight, where: str) -> tuple:
    """A chunk of rows checked and converted as ``fit`` checks arrays (runs on a worker)."""
    net = _network(config)
    return _sources._Checker(net, class_weight)(X, y, w, where)


class Shard:
    """The actor on one worker: its chunks of rows, the network, and the partial sums over them."""

    def __init__(self, config: dict, n_train: int, *chunks: tuple) -> None:
        self.net = _network(config)
        self.train = list(chunks[:n_train])
        self.val = list(chunks[n_train:])
        self.step = _sources.AdaptiveStep(self.net)

    def _rows(self, parts) -> tuple:
        """The rows ``parts`` name: ``(chunk, (start, stop))`` slices or ``(chunk, indices)``."""
        pieces = []
        for c, rows in parts:
            X, y, w = self.train[c]
            if isinstance(rows, tuple):
                s = slice(*rows)
                pieces.append((X[s], y[s], None if w is None else w[s]))
            else:
                pieces.append((X.take(rows, axis=0), y.take(rows, axis=0),
                               None if w is None else w[rows]))
        if len(pieces) == 1:
            return pieces[0]
        X = np.concatenate([p[0] for p in pieces])
        y = np.concatenate([p[1] for p in pieces])
        w = None if pieces[0][2] is None else np.concatenate([p[2] for p in pieces])
        return X, y, w

    def _sums(self, X, y, w) -> tuple[float, np.ndarray, float]:
        weight = float(len(X)) if w is None else float(w.sum())
        if weight == 0:
            return 0.0, np.zeros_like(self.net.flat_grad), 0.0
        loss = self.step(X, y, w)
        return loss * weight, self.net.flat_grad * weight, weight

    def gradient(self, weights: np.ndarray, parts: list) -> tuple[float, np.ndarray, float]:
        """Set the weights; return ``(S_k, G_k, W_k)`` over the rows ``parts`` name."""
        self.net.flat_weights[...] = weights
        return self._sums(*self._rows(parts))

    def echo(self, weights: np.ndarray) -> np.ndarray:
        """Return ``weights``: a step's round trip without its computing (for benchmarks)."""
        return weights

    def objective(self, weights: np.ndarray) -> tuple[float, np.ndarray, float]:
        """``(S_k, G_k, W_k)`` over every training row of this worker."""
        self.net.flat_weights[...] = weights
        loss, grad, weight = 0.0, np.zeros_like(self.net.flat_grad), 0.0
        for X, y, w in self.train:
            s, g, wt = self._sums(X, y, w)
            loss, weight = loss + s, weight + wt
            grad += g
        return loss, grad, weight

    def evaluate(self, weights: np.ndarray, dataset: str, metric_fns: dict) -> tuple:
        """The loss sum, weight and metric counts over this worker's training or validation rows."""
        net = self.net
        net.flat_weights[...] = weights
        stream = _sources.MetricStream(metric_fns)
        loss = weight = 0.0
        for X, y, _ in (self.train if dataset == "train" else self.val):
            outputs, z = net.outputs_and_logits(X, 1024)
            net.check_finite(outputs, "outputs", X)
            loss += net.loss_fn.value(y, outputs, z, None) * len(X)
            weight += len(X)
            stream.update(y, outputs)
        return loss, weight, stream.state


# ---------------------------------------------------------------------- the driver side
def _on_cluster(validation_data) -> bool:
    """Whether ``validation_data`` is a pair of Dask arrays, to be evaluated on the workers."""
    return isinstance(validation_data, (tuple, list)) and len(validation_data) == 2 \
        and all(_sources.is_dask(a) for a in validation_data)


class _Cluster:
    """The chunks of one ``fit`` placed in actors on the workers, and calls to them."""

    def __init__(self, model, client, X, y, sample_weight=None, class_weight=None,
                 validation=None) -> None:
        distributed = _require_distributed()
        if not isinstance(client, distributed.Client):
            raise TypeError(
                "Received an invalid type for `client`, expected a distributed.Client. "
                f"Received: client={client!r} of type {type(client).__name__}"
            )
        for name, a in (("X", X), ("y", y)):
            if not _sources.is_dask(a):
                raise TypeError(
                    f"fit(..., client=) trains Dask arrays X and y; received {name} of type "
                    f"{type(a).__name__}. Wrap it with dask.array.from_array({name}, chunks=...)."
                )
        stateful = [layer for layer in model.layers if layer.state]
        if stateful:
            raise ValueError(
                f"Data-parallel training needs layers whose gradient is a sum over rows; "
                f"{stateful[0]!r} keeps batch statistics (state {sorted(stateful[0].state)}). "
                "Train it in one process."
            )
        self.client = client
        self.model = model
        if not model.built:
            model.build(int(X.shape[1]))
        model.check_ready()
        config = model.get_config()
        class_weight = _sources._check_class_weight(class_weight)
        train = self._chunks(config, X, y, sample_weight, class_weight, "X")
        # Dask validation arrays are placed on the workers too; others are evaluated here.
        val = self._chunks(config, *validation, None, None, "validation_data") \
            if _on_cluster(validation) else []
        self.offsets = np.concatenate([[0], np.cumsum(train["sizes"])]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.has_weights = sample_weight is not None or class_weight is not None
        self.has_validation = bool(val)
        futures = train["futures"] + (val["futures"] if val else [])
        distributed.wait(futures)
        for f in futures:
            if f.status == "error":
                f.result()  # raises the chunk's error (a bad value, NaN, a wrong shape) here
        self.probe = client.submit(lambda chunk: chunk[0][:_sources.PROBE_ROWS],
                                   train["futures"][0]).result()
        who = client.who_has(futures)
        by_worker: dict[str, tuple[list, list]] = {}
        for kind, fs in (("train", train["futures"]), ("val", val["futures"] if val else [])):
            for c, f in enumerate(fs):
                owner = sorted(who[f.key])[0]
                by_worker.setdefault(owner, ([], []))[kind == "val"].append((c, f))
        self.workers = sorted(by_worker)
        self.local = {}  # train chunk -> (worker's position, its index in that actor)
        actor_futures = []
        for position, worker in enumerate(self.workers):
            train_here, val_here = by_worker[worker]
            for local, (c, _) in enumerate(train_here):
                self.local[c] = (position, local)
            actor_futures.append(client.submit(
                Shard, config, len(train_here), *[f for _, f in train_here + val_here],
                actor=True, workers=[worker], allow_other_workers=False, pure=False,
                key=f"neuralnet-shard-{uuid.uuid4().hex}",
            ))
        self.actors = [f.result() for f in actor_futures]
        self._actor_futures = actor_futures
        del futures, train, val  # the actors hold the chunks now

    def _chunks(self, config, X, y, w, class_weight, name) -> dict:
        import dask

        reader = _sources.DaskChunks(X, y, w)
        offsets = reader.offsets
        tasks = []
        for i in range(len(reader.sizes)):
            a, b = offsets[i], offsets[i + 1]
            parts = [reader.X.blocks[i], None if y is None else y[a:b],
                     None if w is None else w[a:b]]
            tasks.append(dask.delayed(_check_chunk, pure=False)(
                config, *parts, class_weight, f"chunk {i} of {name}"))
        return {"sizes": reader.sizes, "futures": self.client.compute(tasks)}

    def _split(self, rows) -> list[list]:
        """Per actor, the ``(chunk, rows)`` parts of a batch: a range ``(start, stop)`` or indices."""
        per_actor: list[list] = [[] for _ in self.actors]
        offsets = self.offsets
        if isinstance(rows, tuple):
            start, stop = rows
            first = int(np.searchsorted(offsets, start, side="right")) - 1
            c = first
            while c < len(offsets) - 1 and offsets[c] < stop:
                lo, hi = max(start, offsets[c]), min(stop, offsets[c + 1])
                position, local = self.local[c]
                per_actor[position].append((local, (int(lo - offsets[c]), int(hi - offsets[c]))))
                c += 1
            return per_actor
        chunk = np.searchsorted(offsets, rows, side="right") - 1
        order = np.argsort(chunk, kind="stable")
        rows, chunk = rows[order], chunk[order]
        bounds = np.flatnonzero(np.diff(chunk)) + 1
        for part_rows, part_chunk in zip(np.split(rows, bounds), np.split(chunk, bounds),
                                         strict=True):
            c = int(part_chunk[0])
            position, local = self.local[c]
            per_actor[position].append((local, part_rows - offsets[c]))
        return per_actor

    def _total(self, calls) -> tuple[float, np.ndarray, float]:
        loss, grad, weight = 0.0, None, 0.0
        for call in calls:  # in worker order, so that the sum's rounding is the same each time
            s, g, w = call.result()
            loss, weight = loss + s, weight + w
            grad = g.copy() if grad is None else grad + g
        return loss, grad, weight

    def gradient(self, rows) -> tuple[float, float]:
        """Fill the driver's ``flat_grad`` with the batch's mean gradient; return (loss, weight)."""
        weights = self.model.flat_weights
        calls = [actor.gradient(weights, parts)
                 for actor, parts in zip(self.actors, self._split(rows), strict=True) if parts]
        loss, grad, weight = self._total(calls)
        if weight == 0:
            raise ValueError("A batch holds only rows of weight 0; expected a positive total.")
        np.divide(grad, weight, out=self.model.flat_grad, casting="unsafe")
        return loss / weight, weight

    def objective(self, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """The mean loss and its gradient over every training row at ``weights``: one round trip."""
        weights = np.asarray(weights, dtype=self.model.dtype)
        loss, grad, weight = self._total([actor.objective(weights) for actor in self.actors])
        return loss / weight, grad / weight

    def evaluate(self, dataset: str, metric_fns: dict) -> dict[str, float]:
        weights = self.model.flat_weights
        parts = [actor.evaluate(weights, dataset, metric_fns) for actor in self.actors]
        stream = _sources.MetricStream(metric_fns)
        loss = weight = 0.0
        for call in parts:
            s, w, state = call.result()
            loss, weight = loss + s, weight + w
            stream.merge(state)
        logs = {"loss": loss / weight + self.model.penalty()}
        logs.update(stream.result())
        return logs

    def close(self) -> None:
        self.actors = []
        futures, self._actor_futures = self._actor_futures, []
        if futures:
            self.client.cancel(futures)


class _WeightSum:
    """A batch's weight, known once the workers have computed it: ``fit`` asks ``.sum()``."""

    value = 0.0

    def sum(self) -> float:
        return self.value


class _Batches:
    """The batch iterator of data-parallel training: row positions, drawn as ``BatchIterator``."""

    def __init__(self, cluster: _Cluster, batch_size: int, shuffle: bool, rng) -> None:
        self.cluster = cluster
        self.n = cluster.n
        self.batch_size = min(batch_size, self.n)
        self.shuffle, self.rng = shuffle, rng
        self.whole_data = self.batch_size >= self.n
        self.n_batches = -(-self.n // self.batch_size)
        self.n_samples = self.n
        self.epoch_state: dict | None = None
        self.weight = _WeightSum() if cluster.has_weights else None

    def __len__(self) -> int:
        return self.n_batches

    def order(self, epoch_state: dict | None = None):
        if self.whole_data or not self.shuffle:
            self.epoch_state = None
            return None
        rng, self.epoch_state = _sources._epoch_rng(self.rng, epoch_state)
        return rng.permutation(self.n)

    def batch(self, order, i: int) -> tuple:
        start = i * self.batch_size
        stop = min(start + self.batch_size, self.n)
        rows = (start, stop) if order is None else order[start:stop]
        return rows, None, self.weight, stop - start

    def end_epoch(self) -> None:
        pass


def _validation_logs(model, cluster: _Cluster, validation_data):
    """``val_logs(metric_fns)`` at the model's current weights, or None without validation data.

    A pair of Dask arrays is evaluated on the workers holding it (``cluster`` placed it); a
    batch source or chunked arrays stream through this process; arrays are checked once here.
    """
    if validation_data is None:
        return None
    if cluster.has_validation:
        return lambda fns: cluster.evaluate("val", fns)
    if _sources.is_streamed_validation(validation_data):
        val = _sources.validation_pieces(model, validation_data)
        return lambda fns: _sources.evaluate_pieces(model, val.pieces(False), 1024, fns)
    X_val = model.check_X(validation_data[0], "validation_data[0]")
    y_val = model.check_y(validation_data[1], len(X_val))
    return lambda fns: model.evaluate_prepared(X_val, y_val, 1024, None, fns)


def prepare(model, X, y, sample_weight, class_weight, validation_data, validation_split,
            batch_size, shuffle, client):
    """``training._prepare`` for ``client=``: the cluster's batches, step and evaluations."""
    from neuralnet.training import _Data

    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        from neuralnet._validation import invalid_value

        raise invalid_value("validation_split", "a number in [0, 1)", validation_split)
    if validation_data is not None and validation_split:
        raise ValueError("Give either validation_data or validation_split, not both.")
    if validation_split and _sources.is_dask(X):
        (X, y, sample_weight), validation_data = _sources.split_chunked(
            X, y, sample_weight, validation_split)
    cluster = _Cluster(model, client, X, y, sample_weight, class_weight, validation_data)
    try:
        batches = _Batches(cluster, batch_size, shuffle, model.rng)
        val_logs = _validation_logs(model, cluster, validation_data)
    except BaseException:
        cluster.close()
        raise
    # The driver's layers run no training forward pass: the diagnostics then use the probe
    # rows, not activations some earlier fit left behind.
    for layer in model.layers:
        layer.outputs = None

    def step(rows, _targets, weight) -> float:
        loss, total = cluster.gradient(rows)
        if weight is not None:
            weight.value = total
        return loss

    return _Data(batches, step, lambda fns: cluster.evaluate("train", fns), val_logs,
                 cluster.probe, cluster.n, None, close=cluster.close)


# ------------------------------------------------------------------------- full batch
class Objective:
    """The mean loss and its gradient over all rows of Dask arrays, computed on a cluster.

    ``objective(flat_weights) -> (loss, grad)``: one call to each worker's actor (one round
    trip), the partial sums added as in ``fit``. Shaped for
    ``scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B")``; the model's own
    weights are not changed. ``validation_data`` (a pair of Dask arrays, evaluated on the
    workers, or arrays or a batch source, evaluated here) is what ``validation_logs`` scores.
    ``close()`` (or leaving a ``with`` block) frees the workers.
    """

    def __init__(self, model, X, y, client, sample_weight=None, class_weight=None,
                 validation_data=None) -> None:
        self._cluster = _Cluster(model, client, X, y, sample_weight, class_weight,
                                 validation_data)
        self.n_samples = self._cluster.n
        try:
            self._val_logs = _validation_logs(model, self._cluster, validation_data)
        except BaseException:
            self.close()
            raise

    def __call__(self, flat_weights: np.ndarray) -> tuple[float, np.ndarray]:
        return self._cluster.objective(flat_weights)

    def validation_logs(self, metric_fns: dict | None = None) -> dict[str, float] | None:
        """The validation loss (and ``metric_fns``) at the model's current weights, or None."""
        return None if self._val_logs is None else self._val_logs(metric_fns or {})

    def close(self) -> None:
        self._cluster.close()

    def __enter__(self) -> Objective:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def local_objective(model, X, y, sample_weight=None):
    """The same ``(loss, grad)`` function as ``Objective``, in this process on arrays."""
    model.check_ready()
    X = model.check_X(X)
    y = model.check_y(y, len(X))
    w = model.check_sample_weight(sample_weight, len(X))
    step = _sources.AdaptiveStep(model)

    def objective(flat_weights: np.ndarray) -> tuple[float, np.ndarray]:
        model.flat_weights[...] = flat_weights
        loss = step(X, y, w)
        return loss, model.flat_grad.astype(np.float64)

    return objective
