"""Parquet datasets bigger than memory, streamed: ``neuralnet train --data DIR_or_GLOB``.

A ``ParquetDataset`` is a directory, a glob or a list of Parquet files read with
``pyarrow.dataset``, one *row group* at a time: each row group is a chunk for
``neuralnet.sources.ChunkedBatches``, so ``fit`` streams it (and shuffles it with a buffer of a
few row groups), and memory holds a few row groups, not the table. Write the files with row
groups of a size that fits comfortably (``pyarrow.parquet.write_table(..., row_group_size=)``,
say 100,000 rows).

The preprocessing statistics come from a pass made before training, in one of two ways
(``statistics=``):

- ``"first_pass"`` (the default): every row group is read once, and the preprocessor fits
  from the stream of tables (``fit_preprocessor(tables, columns)`` gets an iterator). The
  built-in ``NumericStandardizer`` does this: exact means and standard deviations over every
  row, in one pass and constant memory.
- ``"sample"``: ``sample_rows`` rows drawn uniformly (seeded) from every row group, in one
  table (``fit_preprocessor(table, columns)`` gets a ``pyarrow.Table``), for a preprocessor
  that needs its rows in memory; it still reads every row group once, but keeps only the
  sample.

Either pass also summarises the target (its range, whether it holds whole numbers), which is
how the command line tells classification from regression without loading the column.

A preprocessor is any object with ``transform(table) -> ndarray (n_rows, n_features)``,
``feature_names`` (its output columns) and ``get_config() -> dict`` (JSON, saved in the
model's metadata). ``NumericStandardizer`` is the minimal one: numeric columns only,
standardised; its config is the ``{"mean", "scale"}`` scaling that ``neuralnet predict`` and
``evaluate`` apply to a CSV file, so a model trained on Parquet predicts CSV rows as well.
"""

from __future__ import annotations

import glob as _glob
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from neuralnet import sources as _sources

__all__ = [
    "ParquetDataset",
    "ParquetChunks",
    "NumericStandardizer",
    "fit_standardizer",
    "is_dataset_path",
    "train_command",
]

STATISTICS = ("first_pass", "sample")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.dataset  # noqa: F401
    except ImportError:
        raise ImportError(
            'Reading Parquet needs pyarrow; install it with: pip install "neuralnet[parquet]"'
        ) from None
    return pyarrow


def is_dataset_path(path) -> bool:
    """Whether ``path`` names Parquet data: a directory, a glob pattern, or a ``.parquet`` file."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    text = os.fspath(path)
    return os.path.isdir(text) or any(c in text for c in "*?[") or \
        text.lower().endswith((".parquet", ".pq"))


def _files(path) -> list[str]:
    text = os.fspath(path)
    if os.path.isdir(text):
        files = sorted(
            os.path.join(root, name) for root, _, names in os.walk(text) for name in names
            if name.lower().endswith((".parquet", ".pq"))
        )
        where = f"the directory {text}"
    elif any(c in text for c in "*?["):
        files = sorted(f for f in _glob.glob(text, recursive=True) if os.path.isfile(f))
        where = f"the pattern {text!r}"
    else:
        if not os.path.isfile(text):
            raise FileNotFoundError(f"No such Parquet file: {text}")
        files, where = [text], text
    if not files:
        raise FileNotFoundError(f"No Parquet files (*.parquet) match {where}.")
    return files


# -------------------------------------------------------------------------- preprocessing
class NumericStandardizer:
    """Standardise numeric columns, ``(x - mean) / std`` (std 1 for a constant column).

    ``fit`` reads a stream of tables (or one table) and merges each one's count, mean and sum
    of squared deviations (Chan, Golub & LeVeque's pairwise update): one pass, constant
    memory, the population standard deviation over every row. A column that is not numeric,
    or a missing value, is a ``ValueError`` naming it (the tables issue's preprocessor types,
    imputes and one-hot encodes; this one does not).
    """

    def __init__(self, feature_names: Sequence[str], mean=None, scale=None) -> None:
        self.feature_names = list(feature_names)
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def _matrix(self, table) -> np.ndarray:
        pa = _pyarrow()
        columns = []
        for name in self.feature_names:
            column = table.column(name)
            kind = column.type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)):
                raise ValueError(
                    f"Column {name!r} has type {kind}; NumericStandardizer takes numeric columns "
                    "only (drop it, or encode it first)."
                )
            if column.null_count:
                raise ValueError(
                    f"Column {name!r} has {column.null_count} missing value(s); "
                    "NumericStandardizer does not impute: fill them first."
                )
            columns.append(column.to_numpy().astype(np.float64, copy=False))
        return np.column_stack(columns) if columns else np.empty((table.num_rows, 0))

    def fit(self, tables) -> NumericStandardizer:
        """Learn each column's mean and standard deviation from ``tables`` (or one table)."""
        if hasattr(tables, "num_rows"):
            tables = [tables]
        n, mean, m2 = 0, np.zeros(len(self.feature_names)), np.zeros(len(self.feature_names))
        for table in tables:
            X = self._matrix(table)
            if not len(X):
                continue
            if not np.isfinite(X).all():
                raise ValueError("The features hold NaN or infinite values; expected finite numbers.")
            n_b, mean_b = len(X), X.mean(axis=0)
            m2_b = ((X - mean_b) ** 2).sum(axis=0)
            total = n + n_b
            delta = mean_b - mean
            mean = mean + delta * (n_b / total)
            m2 = m2 + m2_b + delta**2 * (n * n_b / total)
            n = total
        if n == 0:
            raise ValueError("The dataset holds no rows to fit the preprocessing statistics on.")
        std = np.sqrt(m2 / n)
        std[std == 0] = 1.0
        self.mean, self.scale = mean, std
        return self

    def transform(self, table) -> np.ndarray:
        """Return the standardised features of ``table``, ``(n_rows, n_features)`` float64."""
        if self.mean is None:
            raise RuntimeError("NumericStandardizer is not fitted yet; call fit(tables) first.")
        return (self._matrix(table) - self.mean) / self.scale

    def get_config(self) -> dict:
        """The statistics as JSON-able data: the CSV path's ``scaling`` metadata."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}


def fit_standardizer(data, feature_columns: Sequence[str]) -> NumericStandardizer:
    """The default ``fit_preprocessor``: a ``NumericStandardizer`` fitted on ``data``."""
    return NumericStandardizer(feature_columns).fit(data)


# ------------------------------------------------------------------------------ the data
class _TargetSummary:
    """The target's count, range and whether it holds whole numbers, gathered while scanning."""

    def __init__(self) -> None:
        self.n, self.low, self.high, self.whole = 0, math.inf, -math.inf, True

    def add(self, y: np.ndarray) -> None:
        if len(y):
            self.n += len(y)
            self.low, self.high = min(self.low, float(y.min())), max(self.high, float(y.max()))
            self.whole = self.whole and bool(np.all(y == np.round(y)))


class ParquetDataset:
    """Parquet files read one row group at a time, with a preprocessor fitted on them.

    Args:
        path: a directory (searched recursively for ``*.parquet``), a glob such as
            ``"data/part-*.parquet"``, or one file.
        target: the column to predict.
        feature_columns: the input columns (default: every column but the target).
        fit_preprocessor: ``fit_preprocessor(data, feature_columns) -> preprocessor`` (see the
            module); default ``fit_standardizer``.
        statistics: ``"first_pass"`` or ``"sample"`` (see the module).
        sample_rows: the sample's size for ``statistics="sample"``.
        seed: seeds the sample.
    """

    def __init__(self, path, target: str, feature_columns: Sequence[str] | None = None,
                 fit_preprocessor: Callable = fit_standardizer, statistics: str = "first_pass",
                 sample_rows: int = 100_000, seed: int = 0) -> None:
        pa = _pyarrow()
        if statistics not in STATISTICS:
            raise ValueError(
                f"Received an invalid value for `statistics`, expected one of {STATISTICS}. "
                f"Received: statistics={statistics!r}"
            )
        self.files = _files(path)
        self.path = os.fspath(path)
        self.dataset = pa.dataset.dataset(self.files, format="parquet")
        names = list(self.dataset.schema.names)
        if target not in names:
            raise ValueError(f"{self.path} has no column {target!r}; its columns are: {', '.join(names)}.")
        self.target = target
        if feature_columns is None:
            feature_columns = [n for n in names if n != target]
        missing = [c for c in feature_columns if c not in names]
        if missing:
            raise ValueError(f"{self.path} has no column(s) {missing}; its columns are: {', '.join(names)}.")
        self.feature_columns = list(feature_columns)
        self.row_groups = [rg for fragment in self.dataset.get_fragments()
                           for rg in fragment.split_by_row_group()]
        self.sizes = [rg.row_groups[0].num_rows for rg in self.row_groups]
        if not sum(self.sizes):
            raise ValueError(f"{self.path} holds no rows.")
        self.target_summary = _TargetSummary()
        self.preprocessor = self._fit(fit_preprocessor, statistics, sample_rows, seed)
        probe = self.preprocessor.transform(self._table(0).slice(0, 1))
        self.n_features = int(probe.shape[1])

    def _table(self, i: int):
        return self.row_groups[i].to_table(columns=[*self.feature_columns, self.target])

    def _target(self, table) -> np.ndarray:
        column = table.column(self.target)
        if column.null_count:
            raise ValueError(f"The target column {self.target!r} has {column.null_count} missing value(s).")
        try:
            return column.to_numpy().astype(np.float64)
        except (TypeError, ValueError, NotImplementedError):
            raise ValueError(
                f"The target column {self.target!r} has type {column.type}; expected numbers."
            ) from None

    def _scan(self) -> Iterator:
        """Every row group's feature table, in order, summarising the target on the way."""
        for i in range(len(self.row_groups)):
            table = self._table(i)
            self.target_summary.add(self._target(table))
            yield table.select(self.feature_columns)

    def _fit(self, fit_preprocessor, statistics, sample_rows, seed):
        if statistics == "first_pass":
            return fit_preprocessor(self._scan(), self.feature_columns)
        pa = _pyarrow()
        rng = np.random.default_rng(seed)
        total = sum(self.sizes)
        keep = min(1.0, sample_rows / total)
        parts = []
        for table in self._scan():
            mask = rng.random(table.num_rows) < keep
            parts.append(table.filter(pa.array(mask)))
        return fit_preprocessor(pa.concat_tables(parts), self.feature_columns)

    def reader(self, row_groups: Sequence[int] | None = None) -> ParquetChunks:
        """The chunk reader over these row groups (default: all), for ``sources.Chunked``."""
        return ParquetChunks(self, list(range(len(self.sizes))) if row_groups is None
                             else list(row_groups))

    def split(self, fraction: float) -> tuple[ParquetChunks, ParquetChunks]:
        """Hold out the last ``fraction`` of the row groups (at least one): (rest, held out)."""
        n = len(self.sizes)
        if n < 2:
            raise ValueError(
                f"{self.path} has one row group; holding data out needs at least two. "
                "Write the files with smaller row groups (row_group_size=)."
            )
        n_out = min(n - 1, max(1, int(round(n * fraction))))
        return self.reader(range(n - n_out)), self.reader(range(n - n_out, n))

    def batches(self, batch_size: int = 1024) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield preprocessed ``(X_batch, y_batch)`` of ``batch_size`` rows, in order, streaming."""
        reader = self.reader()
        for i in range(len(reader.sizes)):
            X, y, _ = reader.read(i)
            for start in range(0, len(X), batch_size):
                yield X[start : start + batch_size], y[start : start + batch_size]


class ParquetChunks:
    """A chunk reader (``sources``) over some row groups of a ``ParquetDataset``, preprocessed."""

    def __init__(self, dataset: ParquetDataset, row_groups: list[int]) -> None:
        self.dataset, self.row_groups = dataset, row_groups
        self.sizes = [dataset.sizes[i] for i in row_groups]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.n_features = dataset.n_features
        self.row_bytes = 8 * dataset.n_features

    def read(self, i: int) -> tuple[np.ndarray, np.ndarray, None]:
        table = self.dataset._table(self.row_groups[i])
        X = self.dataset.preprocessor.transform(table.select(self.dataset.feature_columns))
        return X, self.dataset._target(table), None

    def sample(self, k: int) -> np.ndarray:
        return self.read(0)[0][:k]

    def chunked(self, buffer_chunks: int | None = None) -> _sources.Chunked:
        """These row groups as ``fit``'s data: ``model.fit(chunks.chunked(), epochs=...)``."""
        return _sources.Chunked.from_reader(self, buffer_chunks)

    def to_dask(self):
        """``(X, y)`` as Dask arrays of one chunk per row group, read where they are computed.

        For ``fit(..., client=)``: each worker reads its row groups itself, so the files must
        be at the same path on every worker (a shared or copied directory).
        """
        import dask
        import dask.array as da

        X_parts, y_parts = [], []
        for i, size in enumerate(self.sizes):
            chunk = dask.delayed(self.read, pure=True)(i)
            X_parts.append(da.from_delayed(chunk[0], (size, self.n_features), dtype=np.float64))
            y_parts.append(da.from_delayed(chunk[1], (size,), dtype=np.float64))
        return da.concatenate(X_parts), da.concatenate(y_parts)


# --------------------------------------------------------------------- the command line
def _build_model(args, n_features: int, n_out: int, out_activation: str, loss: str):
    """The network ``neuralnet train`` builds (``cli._train``'s, without reading data)."""
    from neuralnet import NeuralNet

    sizes = (n_features, *args.hidden, n_out)
    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    activations = [args.activation] * (len(shapes) - 1) + [out_activation]
    if args.dropout:
        layers = []
        for (n_in, units), activation in zip(shapes, activations, strict=True):
            layers += [{"class_name": "FullyConnectedLayer", "n_in": n_in, "n_out": units,
                        "activation": activation},
                       {"class_name": "Dropout", "rate": args.dropout}]
        return NeuralNet.from_config({"layers": layers[:-1], "loss": loss, "dtype": "float32",
                                      "seed": args.seed}), sizes
    return NeuralNet(shapes, activations=activations, loss=loss, seed=args.seed), sizes


def _connect(address: str):
    try:
        import distributed
    except ImportError:
        raise ImportError(
            '--scheduler needs Dask\'s distributed scheduler; install it with: '
            'pip install "neuralnet[distributed]"'
        ) from None
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise OSError(f"Could not reach the Dask scheduler at {address}: {exc}") from None


def _is_classification(y: np.ndarray, task: str) -> bool:
    """The CLI's task test on numbers: whole non-negative values, few of them: classes."""
    from neuralnet.tabular import MAX_AUTO_CLASSES

    if task != "auto":
        if task == "classification" and not (np.all(y == np.round(y)) and y.min() >= 0):
            raise ValueError(
                "--task classification needs class labels 0, 1, 2, ... in the target column; "
                f"received values from {y.min():g} to {y.max():g}."
            )
        return task == "classification"
    return bool(np.all(y == np.round(y)) and y.min() >= 0 and y.max() < MAX_AUTO_CLASSES)


def _scaling(X_train: np.ndarray) -> dict:
    """The per-column mean and standard deviation of the training features (1 where constant)."""
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    return {"mean": X_train.mean(axis=0).tolist(), "scale": std.tolist()}


def _load_numeric(cli, args) -> tuple:
    """The CLI's data as numbers for a cluster: ``(X, y, feature names, source)``."""
    X, y, source = cli._load_data(args)
    if type(X).__module__.startswith("pandas"):
        names = [str(c) for c in X.columns]
        try:
            X = X.to_numpy(dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"--scheduler trains on numeric columns only; {source} has text columns or a "
                "text target (train without --scheduler to encode them)."
            ) from None
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise ValueError(f"--scheduler needs a table without gaps; {source} has some.")
        return X, y, names, source
    return X, y, [f"x{j}" for j in range(X.shape[1])], source


def train_command(args) -> int:
    """``neuralnet train`` on a Parquet dataset and/or a Dask cluster (``--scheduler``)."""
    import time

    from neuralnet import cli
    from neuralnet.callbacks import EarlyStopping

    if args.plot is not None:
        raise ValueError("--plot draws from the data in memory; it is not available with a "
                         "Parquet dataset or --scheduler.")
    client = _connect(args.scheduler) if getattr(args, "scheduler", None) else None
    try:
        if args.data is not None and is_dataset_path(args.data):
            if args.target is None:
                raise ValueError("--data needs --target COLUMN: the column to predict.")
            data = ParquetDataset(args.data, args.target, seed=args.seed)
            summary = data.target_summary
            # The task test of the CSV path, on the target's summary instead of the column:
            # its range, plus a fractional value when the target held one.
            y_stats = np.array([summary.low, summary.high] + ([] if summary.whole else [0.5]))
            classify = _is_classification(y_stats, args.task)
            train_part, test_part = data.split(args.test_size)
            val_part = None
            if args.validation_split:
                held = ParquetDataset.split(_Subset(data, train_part), args.validation_split)
                train_part, val_part = held
            n_features, feature_names = data.n_features, data.preprocessor.feature_names
            scaling = data.preprocessor.get_config()
            source = f"{args.data} ({len(data.files)} file(s), {len(data.sizes)} row group(s))"
            n_train, n_test = sum(train_part.sizes), sum(test_part.sizes)
            n_classes = int(summary.high) + 1 if classify else 0
            train_data = (train_part.to_dask() if client is not None else (train_part.chunked(),))
            val_data = None if val_part is None else (
                val_part.to_dask() if client is not None else val_part.chunked())
            test_data = test_part.chunked()
        else:
            X, y, feature_names, source = _load_numeric(cli, args)
            classify = _is_classification(y, args.task)
            from neuralnet import datasets

            X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, args.test_size,
                                                                         args.seed)
            scaling = _scaling(X_train)
            X_train, X_test = ((A - scaling["mean"]) / np.asarray(scaling["scale"])
                               for A in (X_train, X_test))
            n_features, n_train, n_test = X.shape[1], len(X_train), len(X_test)
            n_classes = int(y.max()) + 1 if classify else 0
            import dask.array as da

            workers = max(1, len(client.scheduler_info()["workers"]))
            rows = max(1, -(-len(X_train) // (2 * workers)))
            train_data = (da.from_array(X_train, chunks=(rows, -1)), da.from_array(y_train, rows))
            val_data = None
            test_data = (X_test, y_test)
        loss, n_out, out_activation = cli._output_layer(args.loss, classify, n_classes)
        model, sizes = _build_model(args, n_features, n_out, out_activation, loss)
        model.metadata = {"feature_names": list(feature_names), "target": args.target or "label",
                          "scaling": scaling}
        callbacks = []
        if args.early_stopping is not None:
            if not args.validation_split:
                raise ValueError(
                    "--early-stopping watches the validation loss; give --validation-split too "
                    "(e.g. --validation-split 0.2)."
                )
            stopper = EarlyStopping("val_loss", patience=args.early_stopping,
                                    restore_best_weights=True)
            callbacks.append(stopper)
        where = f" on the Dask cluster at {args.scheduler}" if client is not None else ""
        print(f"Training {'-'.join(map(str, sizes))} on {source!r} ({n_train} train / {n_test} "
              f"test samples) for {args.epochs} epochs with {args.optimizer} and {loss}{where}")
        start = time.perf_counter()
        fit_kwargs = {}
        if val_data is not None:
            fit_kwargs["validation_data"] = val_data
        elif args.validation_split and client is not None:
            fit_kwargs["validation_split"] = args.validation_split
        history = model.fit(
            *train_data, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=args.optimizer, learning_rate=args.learning_rate, callbacks=callbacks,
            metrics=["accuracy"] if classify else ["mae"], verbose=0 if args.quiet else 1,
            client=client, **fit_kwargs,
        )
        elapsed = time.perf_counter() - start
        test = model.evaluate(*test_data) if isinstance(test_data, tuple) else model.evaluate(test_data)
        print(f"final loss      {history.history['loss'][-1]:.4f}")
        if classify:
            print(f"test accuracy   {test['accuracy']:.2%}")
        else:
            print(f"test loss       {test['loss']:.4f}")
        print(f"trained in      {elapsed:.2f} s")
        if args.save is not None:
            model.save(args.save)
            print(f"saved model to  {args.save}")
        return 0
    finally:
        if client is not None:
            client.close()


class _Subset:
    """A ``ParquetDataset`` seen through some of its row groups (to split the training part)."""

    def __init__(self, data: ParquetDataset, part: ParquetChunks) -> None:
        self._data, self._part = data, part
        self.sizes, self.path = part.sizes, data.path

    def reader(self, row_groups: Iterable[int]) -> ParquetChunks:
        return ParquetChunks(self._data, [self._part.row_groups[i] for i in row_groups])
