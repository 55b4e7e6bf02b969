"""Parquet datasets bigger than memory, streamed: ``neuralnet train --data DIR_or_GLOB``.

A ``ParquetDataset`` is a directory, a glob or a list of Parquet files read with
``pyarrow.dataset``, one *row group* at a time: each row group is a chunk for
``neuralnet.sources.ChunkedBatches``, so ``fit`` streams it (and shuffles it with a buffer of a
few row groups), and memory holds a few row groups, not the table. Write the files with row
groups of a size that fits comfortably (``pyarrow.parquet.write_table(..., row_group_size=)``,
say 100,000 rows).

The preprocessing is the tables issue's, the same as for one CSV file: a
``neuralnet.tabular.TablePreprocessor`` (types, imputes, one-hot encodes, gap indicators) and
a ``neuralnet.tabular.TargetEncoder`` (labels of any type, a regression standardised). The
dataset fits them before training, in two passes that keep little:

- the target, from a pass over its column alone (cheap: one column of every row group): the
  distinct labels of every row group, so that a class found in one row group only is still a
  class, or a regression's exact mean and standard deviation. The encoder equals the one
  fitting on the whole column gives, and its task follows the same ``task="auto"`` rule. Rows
  without a target are dropped, row group by row group (a ``TableNote`` says how many, once).
- the features, from a sample (``statistics="sample"``, the default): ``sample_rows`` rows
  (100,000 by default; every row of a smaller dataset) drawn uniformly without replacement
  from every row group with ``seed``, in one pass that keeps only the sampled rows. The
  ``TablePreprocessor`` fits on them as a pandas DataFrame, so a level or a gap that the
  sample misses is handled as an unseen one (the "<other>" input, the median) at transform.
  The same seed gives the same sample and the same statistics. Both passes run over every
  row group, the ones later held out for testing included.

Each row group is then read as ``table.to_pandas()``, transformed by the preprocessor into the
network's inputs (float64, or the ``dtype`` given: the model's) and its targets encoded
(class indices, or standardised): ``ParquetChunks.read``.

A preprocessor of your own is ``fit_preprocessor(data, feature_columns) -> preprocessor``, an
object with ``transform(table) -> ndarray (n_rows, n_features)`` of a ``pyarrow.Table``.
``statistics="sample"`` hands it the sample as one ``pyarrow.Table``; ``"first_pass"`` hands it
an iterator over every row group's table, for statistics computed exactly in one streaming
pass. ``NumericStandardizer`` (``fit_standardizer``) is the minimal one: numeric columns
without gaps, standardised with exact means and standard deviations in constant memory.
``neuralnet train`` uses the table preprocessor, so the model file keeps it and the target's
encoder as a model trained on a CSV file does: ``neuralnet predict``/``evaluate``,
``neuralnet.load(path).predict(table)``, ONNX export and ``neuralnet serve`` take the raw
columns and answer in the target's labels or units.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from neuralnet import sources as _sources
from neuralnet import tabular

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
class _Moments:
    """Each column's count, mean and sum of squared deviations, merged one block at a time.

    Chan, Golub & LeVeque's pairwise update: one pass, constant memory, the population
    standard deviation over every row, without the cancellation of a sum of squares.
    """

    def __init__(self, width: int) -> None:
        self.n, self.mean, self.m2 = 0, np.zeros(width), np.zeros(width)

    def add(self, X: np.ndarray) -> None:
        if not len(X):
            return
        n_b, mean_b = len(X), X.mean(axis=0)
        m2_b = ((X - mean_b) ** 2).sum(axis=0)
        total = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2_b + delta**2 * (self.n * n_b / total)
        self.n = total

    @property
    def std(self) -> np.ndarray:
        """The standard deviations, 1 where a column is constant (nothing to scale)."""
        std = np.sqrt(self.m2 / self.n)
        std[std == 0] = 1.0
        return std


class NumericStandardizer:
    """Standardise numeric columns, ``(x - mean) / std`` (std 1 for a constant column).

    ``fit`` reads a stream of tables (or one table) and merges each one's count, mean and sum
    of squared deviations: one pass, constant memory, the population standard deviation over
    every row. A column that is not numeric, or a missing value, is a ``ValueError`` naming it
    (``neuralnet.tabular.TablePreprocessor``, the default of ``ParquetDataset``, types,
    imputes and one-hot encodes; this one does not). For ``statistics="first_pass"``.
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
        moments = _Moments(len(self.feature_names))
        for table in tables:
            X = self._matrix(table)
            if not np.isfinite(X).all():
                raise ValueError("The features hold NaN or infinite values; expected finite numbers.")
            moments.add(X)
        if moments.n == 0:
            raise ValueError("The dataset holds no rows to fit the preprocessing statistics on.")
        self.mean, self.scale = moments.mean, moments.std
        return self

    def transform(self, table) -> np.ndarray:
        """Return the standardised features of ``table``, ``(n_rows, n_features)`` float64."""
        if self.mean is None:
            raise RuntimeError("NumericStandardizer is not fitted yet; call fit(tables) first.")
        return (self._matrix(table) - self.mean) / self.scale

    def get_config(self) -> dict:
        """The statistics as JSON-able data: ``{"mean": [...], "scale": [...]}``."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}


def fit_standardizer(data, feature_columns: Sequence[str]) -> NumericStandardizer:
    """A ``fit_preprocessor``: a ``NumericStandardizer`` fitted on ``data`` (either pass)."""
    return NumericStandardizer(feature_columns).fit(data)


# ---------------------------------------------------------------------------- the target
class _TargetScan:
    """What one pass over the target column learns, a row group at a time.

    The distinct labels (all of them for classes, so that a class in one row group only is
    not missed; for a numeric target only up to one more than ``max_classes``, which is
    enough for ``task="auto"`` to call it a regression) and a numeric target's exact mean and
    standard deviation. ``encoder`` then builds the ``TargetEncoder`` that fitting on the
    whole column would give: fitted on the distinct labels (the task, the classes and the
    errors depend on them only), with a regression's scale from the moments.
    """

    def __init__(self, task: str, name: str) -> None:
        self.unfitted = tabular.TargetEncoder(task)  # refuses a bad task before the pass
        self.task, self.name = task, name
        self.labels = None  # a Series of the distinct labels seen so far
        self.numeric = True  # no row group held text (or other labels that are not numbers)
        self.moments = _Moments(1)

    def add(self, y, what: str) -> None:
        """Add one row group's targets ``y`` (a pandas Series, missing values dropped)."""
        if not len(y):
            return
        pd = tabular._pandas()
        if self.numeric and tabular._infer_kind(y, self.name) == "categorical":
            self.numeric = False
        if self.numeric:
            self.moments.add(tabular._numbers(y, self.name, what)[:, None])
        labels = y.drop_duplicates()
        if self.labels is not None:
            labels = pd.concat([self.labels, labels], ignore_index=True).drop_duplicates()
        if self.task == "regression" or (self.numeric and self.task == "auto"):
            labels = labels.iloc[: self.unfitted.max_classes + 1]
        self.labels = labels

    def encoder(self) -> tabular.TargetEncoder:
        encoder = self.unfitted.fit(self.labels, self.name)
        if encoder.task_ == "regression":
            encoder.mean_, encoder.scale_ = float(self.moments.mean[0]), float(self.moments.std[0])
        return encoder


# ------------------------------------------------------------------------------ the data
class ParquetDataset:
    """Parquet files read one row group at a time, with a preprocessor fitted on them.

    Args:
        path: a directory (searched recursively for ``*.parquet``), a glob such as
            ``"data/part-*.parquet"``, or one file.
        target: the column to predict. Rows without a value there are dropped (a
            ``TableNote`` says how many, once).
        feature_columns: the columns read as inputs (default: every column but the target).
        preprocessor: the unfitted ``neuralnet.tabular.TablePreprocessor`` to fit on the sample
            (its ``features``, ``drop``, ``categorical``, ``max_levels``); default
            ``TablePreprocessor()``.
        fit_preprocessor: instead, ``fit_preprocessor(data, feature_columns) -> preprocessor``
            (see the module), e.g. ``fit_standardizer``.
        statistics: ``"sample"`` (the default) or ``"first_pass"`` (see the module).
        sample_rows: the sample's size for ``statistics="sample"``.
        seed: seeds the sample.
        task: the target's task, ``"auto"``, ``"classification"`` or ``"regression"``, as
            ``neuralnet.tabular.TargetEncoder``'s.
        dtype: the inputs' dtype (the model's; float64 by default).
    """

    def __init__(self, path, target: str, feature_columns: Sequence[str] | None = None,
                 fit_preprocessor: Callable | None = None, statistics: str = "sample",
                 sample_rows: int = 100_000, seed: int = 0,
                 preprocessor: tabular.TablePreprocessor | None = None, task: str = "auto",
                 dtype=np.float64) -> None:
        pa = _pyarrow()
        if statistics not in STATISTICS:
            raise ValueError(
                f"Received an invalid value for `statistics`, expected one of {STATISTICS}. "
                f"Received: statistics={statistics!r}"
            )
        if isinstance(sample_rows, bool) or not isinstance(sample_rows, (int, np.integer)) \
                or sample_rows < 1:
            raise ValueError(
                "Received an invalid value for `sample_rows`, expected a positive integer. "
                f"Received: sample_rows={sample_rows!r}"
            )
        if fit_preprocessor is not None and preprocessor is not None:
            raise ValueError("Give `preprocessor` (a TablePreprocessor to fit) or "
                             "`fit_preprocessor` (a function fitting one), not both.")
        if fit_preprocessor is None:
            if statistics == "first_pass":
                raise ValueError(
                    "statistics='first_pass' streams the row groups to `fit_preprocessor`; the "
                    "TablePreprocessor needs its rows in memory: use statistics='sample', or "
                    "give fit_preprocessor= (e.g. neuralnet.streaming.fit_standardizer)."
                )
            preprocessor = tabular.TablePreprocessor() if preprocessor is None else preprocessor
            if not isinstance(preprocessor, tabular.TablePreprocessor):
                raise TypeError(
                    "`preprocessor` must be a neuralnet.tabular.TablePreprocessor; received "
                    f"{type(preprocessor).__name__} (give fit_preprocessor= for another kind)."
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
        self.dtype = np.dtype(dtype)
        self._read_columns = self.feature_columns
        self.row_groups = [rg for fragment in self.dataset.get_fragments()
                           for rg in fragment.split_by_row_group()]
        if not sum(rg.row_groups[0].num_rows for rg in self.row_groups):
            raise ValueError(f"{self.path} holds no rows.")
        self.target_encoder = self._scan_target(task)
        self.n_sampled: int | None = None
        if fit_preprocessor is None:
            sample = self._sample(sample_rows, seed)
            self.preprocessor = preprocessor.fit(sample.to_pandas())
            # Only the columns the preprocessor uses are read from now on.
            self._read_columns = list(self.preprocessor.columns_)
            self.n_features = self.preprocessor.n_features_out_
        else:
            data = self._scan() if statistics == "first_pass" else self._sample(sample_rows, seed)
            self.preprocessor = fit_preprocessor(data, self.feature_columns)
            probe = self.preprocessor.transform(self._table(0)[0].slice(0, 1))
            self.n_features = int(probe.shape[1])

    def _where(self, i: int) -> str:
        fragment = self.row_groups[i]
        return f"row group {fragment.row_groups[0].id} of {fragment.path}"

    def _table(self, i: int, columns: Sequence[str] | None = None) -> tuple:
        """Row group ``i``'s feature columns and its targets, the rows without one dropped."""
        columns = self._read_columns if columns is None else columns
        table = self.row_groups[i].to_table(columns=[*columns, self.target],
                                            schema=self.dataset.schema)
        y = table.column(self.target).to_pandas()
        table = table.select(columns)
        missing = tabular._missing_mask(y)
        if missing.any():
            keep = ~missing
            table, y = table.filter(_pyarrow().array(keep)), y[keep].reset_index(drop=True)
        return table, y

    def _scan_target(self, task: str) -> tabular.TargetEncoder:
        """The pass over the target column: the rows kept per row group, and its encoder."""
        scan = _TargetScan(task, self.target)
        sizes, n_missing = [], 0
        for i in range(len(self.row_groups)):
            _, y = self._table(i, [])
            n_missing += self.row_groups[i].row_groups[0].num_rows - len(y)
            sizes.append(len(y))
            scan.add(y, f"{self.path} ({self._where(i)})")
        if n_missing:
            tabular._note_missing_target(n_missing, sum(sizes), self.target, 4)
        # A row group without a target in any row is no chunk at all.
        self.row_groups = [rg for rg, size in zip(self.row_groups, sizes, strict=True) if size]
        self.sizes = [size for size in sizes if size]
        return scan.encoder()

    def _scan(self) -> Iterator:
        """Every row group's feature table, in order."""
        for i in range(len(self.row_groups)):
            yield self._table(i)[0]

    def _sample(self, sample_rows: int, seed: int):
        """``sample_rows`` rows drawn uniformly (seeded, without replacement) from every row
        group, in one table; only the row groups holding some are read."""
        pa = _pyarrow()
        total = sum(self.sizes)
        k = min(sample_rows, total)
        picked = np.sort(np.random.default_rng(seed).choice(total, k, replace=False))
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        parts = []
        for i in range(len(self.row_groups)):
            lo, hi = np.searchsorted(picked, offsets[i : i + 2])
            if hi > lo:
                parts.append(self._table(i)[0].take(pa.array(picked[lo:hi] - offsets[i])))
        self.n_sampled = k
        return pa.concat_tables(parts)

    def row_group(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Row group ``i``'s network inputs ``(n, n_features)`` and encoded targets ``(n,)``."""
        table, y = self._table(i)
        if isinstance(self.preprocessor, tabular.TablePreprocessor):
            X = self.preprocessor._transform(table.to_pandas(), self.dtype,
                                             f"{self.path} ({self._where(i)})")
        else:
            X = np.asarray(self.preprocessor.transform(table), dtype=self.dtype)
        return X, self.target_encoder.transform(y)

    def reader(self, row_groups: Sequence[int] | None = None) -> ParquetChunks:
        """The chunk reader over these row groups (default: all), for ``sources.Chunked``."""
        return ParquetChunks(self, list(range(len(self.sizes))) if row_groups is None
                             else list(row_groups))

    def split(self, fraction: float, seed: int | None = None) -> tuple[ParquetChunks, ParquetChunks]:
        """Hold out ``fraction`` of the row groups (at least one): (rest, held out); see
        ``ParquetChunks.split``."""
        return self.reader().split(fraction, seed)

    def batches(self, batch_size: int = 1024) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield preprocessed ``(X_batch, y_batch)`` of ``batch_size`` rows, in order, streaming."""
        for X, y in self.reader().parts():
            for start in range(0, len(X), batch_size):
                yield X[start : start + batch_size], y[start : start + batch_size]


class ParquetChunks:
    """A chunk reader (``sources``) over some row groups of a ``ParquetDataset``, preprocessed."""

    def __init__(self, dataset: ParquetDataset, row_groups: list[int]) -> None:
        self.dataset, self.row_groups = dataset, row_groups
        self.sizes = [dataset.sizes[i] for i in row_groups]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.n_features = dataset.n_features
        self.row_bytes = dataset.dtype.itemsize * dataset.n_features

    def read(self, i: int) -> tuple[np.ndarray, np.ndarray, None]:
        """Chunk ``i``: its inputs, its encoded targets (class indices, or standardised)."""
        return (*self.dataset.row_group(self.row_groups[i]), None)

    def parts(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each chunk's ``(inputs, encoded targets)``, in order, one in memory at a time."""
        return (self.read(i)[:2] for i in range(len(self.sizes)))

    def sample(self, k: int) -> np.ndarray:
        return self.read(0)[0][:k]

    def split(self, fraction: float, seed: int | None = None) -> tuple[ParquetChunks, ParquetChunks]:
        """Hold out ``fraction`` of these row groups (at least one): (rest, held out).

        Without ``seed``, the last row groups, as Keras's ``validation_split`` takes the last
        rows; with one, row groups drawn at random with it (both parts keep the files' order).
        Files written in sorted order (by date, or by class) then still give a held-out part
        that looks like the rest: the command line passes ``--seed``.
        """
        n = len(self.sizes)
        if n < 2:
            where = self.dataset.path if n == len(self.dataset.sizes) else \
                f"the row groups of {self.dataset.path} left for training"
            raise ValueError(
                f"Holding rows out of {where} needs at least two row groups; it has {n}. Write "
                "the files with smaller row groups (row_group_size=)."
            )
        n_out = min(n - 1, max(1, int(round(n * fraction))))
        if seed is None:
            held = set(range(n - n_out, n))
        else:
            held = set(np.random.default_rng(seed).choice(n, n_out, replace=False).tolist())
        return (ParquetChunks(self.dataset, [g for i, g in enumerate(self.row_groups) if i not in held]),
                ParquetChunks(self.dataset, [g for i, g in enumerate(self.row_groups) if i in held]))

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

        y_dtype = np.int64 if self.dataset.target_encoder.task_ == "classification" else np.float64
        X_parts, y_parts = [], []
        for i, size in enumerate(self.sizes):
            chunk = dask.delayed(self.read, pure=True)(i)
            X_parts.append(da.from_delayed(chunk[0], (size, self.n_features),
                                           dtype=self.dataset.dtype))
            y_parts.append(da.from_delayed(chunk[1], (size,), dtype=y_dtype))
        return da.concatenate(X_parts), da.concatenate(y_parts)


# --------------------------------------------------------------------- the command line
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


def _dataset(cli, args) -> ParquetDataset:
    """``--data DIR_or_GLOB`` as a dataset: the columns checked as the CSV path checks them, the
    table preprocessing of ``--features``/``--drop``/``--categorical``/``--max-levels``."""
    if args.target is None:
        raise ValueError("--data needs --target COLUMN: the column to predict.")
    names = _pyarrow().dataset.dataset(_files(args.data), format="parquet").schema.names
    cli._check_columns(args.data, names, args.target, args)
    preprocessor = tabular.TablePreprocessor(args.features, args.drop, args.categorical,
                                             args.max_levels)
    return ParquetDataset(args.data, args.target, preprocessor=preprocessor, task=args.task,
                          seed=args.seed, dtype=np.float32)


def train_command(args) -> int:
    """``neuralnet train`` on a Parquet dataset and/or a Dask cluster (``--scheduler``)."""
    import time

    from neuralnet import cli

    for option in ("plot", "animate"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} draws from the data in memory; it is not available "
                             "with a Parquet dataset or --scheduler.")
    cli._check_outputs(args)
    client = _connect(args.scheduler) if getattr(args, "scheduler", None) else None
    try:
        if args.data is not None and is_dataset_path(args.data) and not os.path.isfile(args.data):
            data = _dataset(cli, args)
            encoder, preprocessor = data.target_encoder, data.preprocessor
            classify, loss, n_out, out_activation = cli._network_output(args, encoder)
            train_part, test_part = data.split(args.test_size, args.seed)
            val_part = None
            if args.validation_split:
                train_part, val_part = train_part.split(args.validation_split, args.seed)
            source = f"{args.data} ({len(data.files)} file(s), {len(data.sizes)} row group(s))"
            n_train, n_test = sum(train_part.sizes), sum(test_part.sizes)
            train_data = train_part.to_dask() if client is not None else (train_part.chunked(),)
            val_data = None if val_part is None else (
                val_part.to_dask() if client is not None else val_part.chunked())
            parts = {"train": train_part.parts, "test": test_part.parts}
            sampled = (data.n_sampled, sum(data.sizes))
        else:
            X, y, source = cli._load_data(args)
            encoder, preprocessor, inputs, train_rows, test_rows = cli._fit_table(args, X, y,
                                                                                  source)
            classify, loss, n_out, out_activation = cli._network_output(args, encoder)
            X_train, X_test = inputs[train_rows], inputs[test_rows]
            y_train = encoder.transform(cli._rows(y, train_rows))
            y_test = encoder.transform(cli._rows(y, test_rows))
            n_train, n_test = len(X_train), len(X_test)
            import dask.array as da

            workers = max(1, len(client.scheduler_info()["workers"]))
            rows = max(1, -(-n_train // (2 * workers)))
            train_data = (da.from_array(X_train, chunks=(rows, -1)), da.from_array(y_train, rows))
            val_data = None
            parts = {"train": lambda: [(X_train, y_train)], "test": lambda: [(X_test, y_test)]}
            sampled = None
        model, sizes, learning_rate = cli._build_network(args, preprocessor.n_features_out_,
                                                         classify, loss, n_out, out_activation)
        model.preprocessor, model.target_encoder = preprocessor, encoder
        stopper = cli._early_stopping(args)
        where = f" on the Dask cluster at {args.scheduler}" if client is not None else ""
        cli._print_start(args, sizes, source, n_train, n_test, loss, where)
        if args.data is not None:
            cli._print_table(args, encoder, preprocessor)
        if sampled is not None:
            print(f"statistics      the features' from a sample of {sampled[0]} of the {sampled[1]} "
                  f"rows (seed {args.seed}), the target's from every row")
        fit_kwargs = {}
        if val_data is not None:
            fit_kwargs["validation_data"] = val_data
        elif args.validation_split and client is not None:
            fit_kwargs["validation_split"] = args.validation_split
        start = time.perf_counter()
        history = model.fit(
            *train_data, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=args.optimizer, learning_rate=learning_rate,
            callbacks=[stopper] if stopper is not None else [],
            metrics=None if args.quiet else ["accuracy" if classify else "mae"],
            verbose=0 if args.quiet else 1, client=client, **fit_kwargs,
        )
        elapsed = time.perf_counter() - start
        scores = {part: cli._scores(model, encoder, classify, read()) for part, read in parts.items()}
        cli._print_results(history, stopper, scores, classify, elapsed)
        cli._save_model(args, model)
        return 0
    finally:
        if client is not None:
            client.close()
