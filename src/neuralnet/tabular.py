"""Tables as a user has them: CSV, Parquet or a pandas DataFrame, with text, gaps and named labels.

``read_table`` reads a file with pandas (``pip install "neuralnet[tabular]"``). A
``TablePreprocessor`` turns the raw feature columns into the network's inputs, and a
``TargetEncoder`` turns the target into the network's targets and back. Every statistic comes
from the rows given to ``fit``, and both save as plain JSON (``get_config`` / ``from_config``):
``neuralnet.io`` keeps them in the model file, so ``neuralnet.load(path).predict(table)``
applies them again.

What each feature column gets:

    numeric      standardised, (x - mean) / std; gaps filled with the median, plus a 0/1
                 "<missing>" indicator column wherever the training rows had gaps
    boolean      True = 1, False = 0, then as a numeric column
    categorical  one-hot: the ``max_levels`` most frequent levels each get a 0/1 column; the
                 rarer levels, and at predict time the unseen ones, share an "<other>" column
                 (without rare levels in training an unseen level is all zeros, as
                 scikit-learn's ``OneHotEncoder(handle_unknown="infrequent_if_exist")``);
                 gaps get a "<missing>" level of their own

Text columns are categorical, as are the columns named in ``categorical`` (integer codes, say).
A column with no value in the training rows is ignored. The target: class labels of any values
(text, whole numbers, booleans) become indices ``0..k-1`` of the sorted labels; a regression
target is standardised, and predictions are mapped back to its units.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "TableNote",
    "TablePreprocessor",
    "TargetEncoder",
    "is_table",
    "read_table",
    "split_target",
    "drop_missing_target",
]

MISSING = "<missing>"
OTHER = "<other>"
KINDS = ("numeric", "boolean", "categorical")
TASKS = ("auto", "classification", "regression")
# Whole-number targets with at most this many distinct values are class labels for task="auto".
MAX_AUTO_CLASSES = 20
_CONFIG_VERSION = 1
_PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16


class TableNote(UserWarning):
    """Something done to a table that its owner should know: rows dropped, a column ignored."""


def _pandas(what: str = "Reading tables"):
    try:
        import pandas
    except ImportError:
        raise ImportError(
            f"{what} needs pandas; install it with: pip install \"neuralnet[tabular]\""
        ) from None
    return pandas


def is_table(X) -> bool:
    """Return whether ``X`` is a pandas DataFrame, without importing pandas."""
    return type(X).__module__.startswith("pandas") and type(X).__name__ == "DataFrame"


def _shown(names: Sequence, limit: int = 5) -> str:
    names = list(names)
    text = ", ".join(map(repr, names[:limit]))
    return text + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ----------------------------------------------------------------------------------- reading
def read_table(path: str | os.PathLike, sep: str | None = None, encoding: str = "utf-8"):
    """Return the table in the CSV or Parquet file ``path`` as a pandas DataFrame.

    A ``.parquet`` / ``.pq`` file is read by pyarrow; anything else as CSV with a header row.
    CSV: the delimiter is the one of ``, ; tab |`` that splits the first rows into the most
    columns consistently (or ``sep``); quoted fields, a byte-order mark and empty lines are
    handled; ``""``, ``NA``, ``NaN``, ``null`` are missing cells. A first column without a name
    (the index pandas writes) and empty unnamed columns are dropped, each with a ``TableNote``.
    Every way a file can be wrong is a ``ValueError`` naming the file.
    """
    table, notes = _read(path, sep, encoding)
    for note in notes:
        warnings.warn(note, TableNote, stacklevel=2)
    return table


def _read(path, sep, encoding) -> tuple:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; received {type(path).__name__}.")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n"):
        raise ValueError(f"sep must be one character such as ',' or ';'; received {sep!r}.")
    path = os.fspath(path)
    pd = _pandas()
    try:
        if path.lower().endswith(_PARQUET_SUFFIXES):
            table = _read_parquet(pd, path)
            header = [str(c) for c in table.columns]
        else:
            table, header = _read_csv(pd, path, sep, encoding)
    except OSError as exc:  # missing, a directory, no permission: the path, the reason
        exc.filename = path
        raise
    notes = []
    table = _drop_unnamed(table, header, path, notes)
    if len(table) == 0:
        raise ValueError(f"{path} has a header but no data rows.")
    return table, notes


def _read_parquet(pd, path):
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise ImportError(
            "Reading Parquet files needs pyarrow; install it with: pip install \"neuralnet[tabular]\""
        ) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # pyarrow's many error types: all mean "not a readable Parquet file"
        raise ValueError(f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc}).") from None


def _read_csv(pd, path, sep, encoding):
    decoding = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
        complete = not f.read(1)
    try:
        sample = head.decode(decoding, errors="strict" if complete else "ignore")
    except UnicodeDecodeError as exc:
        raise ValueError(_not_text(path, encoding, exc)) from None
    except LookupError:
        raise ValueError(f"encoding {encoding!r} is not a text encoding Python knows.") from None
    if not sample.strip():
        raise ValueError(f"{path} is empty; expected a header row and data rows.")
    if sep is None:
        sep = _sniff_delimiter(sample, complete)
    rows = _sample_rows(sample, sep, complete)
    header = [name.strip() for name in rows[0]]
    duplicated = sorted({n for n in header if header.count(n) > 1 and n})
    if duplicated:
        raise ValueError(f"{path}: the header names column(s) {duplicated} more than once.")
    try:
        with warnings.catch_warnings():
            # Mixed types in one column are judged by the preprocessor, which says so itself.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            table = pd.read_csv(path, sep=sep, encoding=decoding, skip_blank_lines=True,
                                index_col=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a header row and data rows.") from None
    except pd.errors.ParserError as exc:
        raise ValueError(_parser_error(path, exc, len(header))) from None
    except UnicodeDecodeError as exc:
        raise ValueError(_not_text(path, encoding, exc)) from None
    if len(table.columns) != len(header):  # a quoted header pandas split differently
        header = [str(c).strip() for c in table.columns]
    table.columns = header
    # Spaces around a delimiter: numbers parse through them, text is stripped here (cheaper
    # than the parser's skipinitialspace, which slows every numeric cell).
    for name in table.columns:
        column = table[name]
        if isinstance(column.dtype, pd.StringDtype):
            table[name] = column.str.strip()
        elif column.dtype == object:  # text, perhaps mixed with booleans: strip the text only
            table[name] = column.map(lambda v: v.strip() if isinstance(v, str) else v)
        else:
            continue
        # " True" (a space after the delimiter) is still a boolean once stripped.
        if set(table[name].dropna().unique()) <= _BOOLEAN_TEXT.keys() and table[name].notna().any():
            table[name] = table[name].map(_BOOLEAN_TEXT).astype(object)
    return table, header


_BOOLEAN_TEXT = {"True": True, "False": False, "true": True, "false": False, "TRUE": True,
                 "FALSE": False}


def _not_text(path, encoding, exc) -> str:
    return (f"{path} is not {encoding} text (byte {exc.object[exc.start:exc.start + 1]!r} at "
            f"position {exc.start}); save it as UTF-8 or give its encoding.")


def _parser_error(path, exc, n_header) -> str:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        return (f"{path}: line {found[2]} has {found[3]} fields, but the header has "
                f"{n_header} columns (a field holding the delimiter without quotes?).")
    return f"{path} is not a well-formed CSV file ({' '.join(str(exc).split())})."


def _sample_rows(sample: str, sep: str, complete: bool) -> list[list[str]]:
    rows = [r for r in csv.reader(io.StringIO(sample), delimiter=sep) if any(c.strip() for c in r)]
    if not complete and len(rows) > 1:
        rows = rows[:-1]  # the sample cut the last row short
    return rows[:50]


def _sniff_delimiter(sample: str, complete: bool) -> str:
    """The candidate that splits the sampled rows into the most columns, the same number each."""
    best, best_score = ",", (False, 1)
    for sep in _DELIMITERS:
        rows = _sample_rows(sample, sep, complete)
        width = len(rows[0])
        score = (all(len(r) == width for r in rows), width)
        if width > 1 and score > best_score:
            best, best_score = sep, score
    return best


_UNNAMED = re.compile(r"(Unnamed: \d+)?")


def _drop_unnamed(table, header: list[str], path: str, notes: list[str]):
    unnamed = [j for j, name in enumerate(header) if _UNNAMED.fullmatch(name)]
    drop = []
    for j in unnamed:
        column = table.iloc[:, j]
        if column.isna().all():
            drop.append(j)
            notes.append(f"{path}: column {j + 1} has no name and no values; it is ignored.")
        elif j == 0:
            drop.append(j)
            notes.append(f"{path}: the first column has no name: taken for the row index pandas "
                         "writes, and ignored.")
        else:
            raise ValueError(
                f"{path}: column {j + 1} has values but no name in the header; name it, or "
                "remove it."
            )
    if drop:
        table = table.drop(columns=table.columns[drop])
    return table


# ----------------------------------------------------------------------------------- targets
def split_target(table, target: str):
    """Return ``(X, y)``: the other columns and the column ``target``, rows without a target dropped.

    The number of rows dropped is told in a ``TableNote``.
    """
    if not is_table(table):
        raise TypeError(f"table must be a pandas DataFrame; received {type(table).__name__}.")
    if target not in table.columns:
        raise ValueError(
            f"the table has no column {target!r} to predict; its columns are: "
            f"{', '.join(map(str, table.columns))}."
        )
    return _drop_missing_target(table.drop(columns=[target]), table[target], target, 3)


def drop_missing_target(X, y, name: str | None = None):
    """Return ``(X, y)`` without the rows whose target is missing; a ``TableNote`` says how many.

    ``X`` a DataFrame or array, ``y`` a Series or array of the same length.
    """
    return _drop_missing_target(X, y, name, 3)


def _drop_missing_target(X, y, name, stacklevel: int):
    missing = _missing_mask(y)
    if not missing.any():
        return X, y
    keep = ~missing
    _note_missing_target(int(missing.sum()), int(keep.sum()), name, stacklevel)
    X = X[keep] if is_table(X) else np.asarray(X)[keep]
    y = y[keep] if type(y).__module__.startswith("pandas") else np.asarray(y)[keep]
    return X, y


def _note_missing_target(n_missing: int, n_kept: int, name, stacklevel: int) -> None:
    """Say that ``n_missing`` rows without a target were dropped; refuse when none is left.

    One note for a whole table, even when its rows are dropped piece by piece (the Parquet
    row groups of ``neuralnet.streaming``). ``stacklevel`` is the caller's, as if it called
    ``warnings.warn`` itself.
    """
    what = f"target {name!r}" if name is not None else "target"
    if not n_kept:
        raise ValueError(
            f"every one of the {n_missing} rows lacks its {what}; there is nothing to learn."
        )
    warnings.warn(f"{n_missing} row(s) without a value for the {what} dropped ({n_kept} left).",
                  TableNote, stacklevel=stacklevel + 1)


def _missing_mask(values) -> np.ndarray:
    if type(values).__module__.startswith("pandas"):
        return np.asarray(values.isna(), dtype=bool).reshape(len(values), -1).any(axis=1)
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        mask = np.isnan(arr)
    elif arr.dtype.kind == "O":
        mask = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in arr.ravel()],
                        dtype=bool).reshape(arr.shape)
    else:
        mask = np.zeros(arr.shape, dtype=bool)
    return mask.reshape(len(arr), -1).any(axis=1) if arr.ndim else mask.reshape(1)


# ---------------------------------------------------------------------------- column values
def _canonical(value) -> str:
    """The text of a level: ``1``, ``1.0`` and ``"1"`` are one level; ``True`` is ``"True"``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def _first_bad(values, bad: np.ndarray) -> tuple:
    i = int(np.flatnonzero(bad)[0])
    value = values.iloc[i] if hasattr(values, "iloc") else values[i]
    return (value.item() if isinstance(value, np.generic) else value), i


def _numbers(values, name, what: str) -> np.ndarray:
    """Return a column as float64, NaN where missing; text or an infinity is a ``ValueError``."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        v = values.astype(np.float64)
    else:
        pd = _pandas()
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        if pd.api.types.is_bool_dtype(series.dtype) or (
            pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_complex_dtype(series.dtype)
        ):
            v = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            converted = pd.to_numeric(series.astype(object), errors="coerce")
            bad = (converted.isna() & series.notna()).to_numpy()
            if bad.any():
                value, i = _first_bad(series, bad)
                raise ValueError(
                    f"{what}: column {name!r} holds {value!r} (row {i + 1}), not a number, but "
                    "the column was numeric in training."
                )
            v = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(v)
    if infinite.any():
        value, i = _first_bad(values, infinite)
        raise ValueError(
            f"{what}: column {name!r} holds {value!r} (row {i + 1}); expected finite numbers "
            "(leave the cell empty if it is unknown)."
        )
    return v


def _factorize(values) -> tuple[np.ndarray, list[str]]:
    """Return each row's code into the distinct canonical levels (-1 where missing), and them."""
    pd = _pandas("Encoding categorical columns")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = [_canonical(u) for u in np.asarray(uniques, dtype=object)]
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(n, len(index)) for n in names] + [-1], dtype=np.int64)
    return remap[codes], list(index)


def _infer_kind(values, name) -> str:
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return "boolean" if values.dtype.kind == "b" else "numeric"
    pd = _pandas()
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    types = pd.api.types
    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype) or isinstance(
        dtype, pd.PeriodDtype
    ) or types.is_complex_dtype(dtype):
        raise TypeError(
            f"column {name!r} holds {dtype} values; expected numbers, booleans or text. Convert "
            "it (e.g. dates to numbers of days), or drop it."
        )
    if types.is_numeric_dtype(dtype):
        return "numeric"
    inferred = types.infer_dtype(series, skipna=True)
    if inferred == "boolean":
        return "boolean"
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return "numeric"
    if inferred == "empty":
        return "numeric"
    return "categorical"


def _mostly_numbers(values) -> str | None:
    """A text value of a column whose other values are nearly all numbers, else None."""
    pd = _pandas()
    uniques = pd.Series(pd.unique(pd.Series(values).dropna().astype(object)))
    if len(uniques) < 10:
        return None
    numeric = pd.to_numeric(uniques, errors="coerce").notna()
    if numeric.mean() < 0.9 or numeric.all():
        return None
    return uniques[~numeric].iloc[0]


# ------------------------------------------------------------------------------ preprocessor
class _Columns:
    """Named access to the columns of a DataFrame, or of a 2-D array (named ``x0``, ``x1``, ...)."""

    def __init__(self, X, what: str) -> None:
        if type(X).__module__.startswith("pandas") and type(X).__name__ == "Series":
            X = X.to_frame().T  # one row, its index the column names
        if is_table(X):
            names = list(X.columns)
            for n in names:
                if not isinstance(n, (str, int)) or isinstance(n, bool):
                    raise TypeError(
                        f"{what}'s column names must be text or integers; column {n!r} is named "
                        f"by a {type(n).__name__}."
                    )
            duplicated = sorted({str(n) for n in names if names.count(n) > 1})
            if duplicated:
                raise ValueError(f"{what} has column(s) {duplicated} more than once.")
            self.frame, self.array, self.names = X, None, names
            self.n_rows = len(X)
        else:
            arr = np.asarray(X)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2:
                raise ValueError(
                    f"{what} must be a pandas DataFrame or a 2-D array (n_samples, n_columns); "
                    f"received shape {arr.shape}."
                )
            self.frame, self.array = None, arr
            self.names = [f"x{j}" for j in range(arr.shape[1])]
            self.n_rows = arr.shape[0]

    def __getitem__(self, name):
        if self.frame is not None:
            return self.frame[name]
        return self.array[:, self.names.index(name)]


class TablePreprocessor:
    """Turn raw table columns into the network's inputs: standardise, impute, one-hot.

    Args:
        features: the columns to use (default: all of ``X``'s columns).
        drop: columns to leave out.
        categorical: columns to encode as categorical whatever they hold (integer codes, say).
        max_levels: the most frequent levels a categorical column keeps, each its own 0/1 input;
            rarer ones share the column's "<other>" input.

    ``fit(X)`` takes a pandas DataFrame, or a 2-D array whose columns are named ``x0``, ``x1``,
    ...; ``transform(X)`` returns ``(n_samples, n_features_out)``, columns in the order of
    ``get_feature_names_out()``. Columns of ``X`` that were not fitted are ignored.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        drop: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        max_levels: int = 20,
    ) -> None:
        self.features = _names_option(features, "features")
        self.drop = _names_option(drop, "drop")
        self.categorical = _names_option(categorical, "categorical")
        if isinstance(max_levels, bool) or not isinstance(max_levels, (int, np.integer)) or max_levels < 1:
            raise ValueError(
                "Received an invalid value for `max_levels`, expected a positive integer. "
                f"Received: max_levels={max_levels!r}"
            )
        self.max_levels = int(max_levels)
        self._columns: list[dict] | None = None
        self._order: list = []
        self.ignored_: list[dict] = []
        self.notes_: list[str] = []

    # ------------------------------------------------------------------------ fitting
    def fit(self, X, y=None) -> TablePreprocessor:
        """Learn each column's kind and statistics from the rows of ``X``; ``y`` is ignored."""
        return self._fit(X, None, 3)

    def _fit(self, X, rows: np.ndarray | None, stacklevel: int = 2) -> TablePreprocessor:
        """``fit`` on the rows at the positions ``rows`` of ``X`` (all when None), uncopied."""
        table = _Columns(X, "X")
        if (table.n_rows if rows is None else len(rows)) == 0:
            raise ValueError("X has no rows; expected at least one sample to fit on.")
        chosen = self._chosen(table.names)
        columns, ignored, notes = [], [], []
        fitted = _fit_numeric_block(table, [n for n in chosen if n not in (self.categorical or ())],
                                    rows)
        for name in chosen:
            if name in fitted:
                columns.append(fitted[name])
                continue
            values = table[name]
            if rows is not None:
                values = values.iloc[rows] if hasattr(values, "iloc") else values[rows]
            kind = "categorical" if name in (self.categorical or ()) else _infer_kind(values, name)
            if _missing_mask(values).all():
                ignored.append({"name": name, "reason": "no values in the training rows"})
                notes.append(f"column {name!r} has no values in the training rows; it is ignored.")
                continue
            if kind == "categorical":
                column = self._fit_categorical(name, values, notes)
            else:
                column = _fit_numeric(name, kind, values)
            columns.append(column)
        for note in notes:
            warnings.warn(note, TableNote, stacklevel=stacklevel)
        if not columns:
            raise ValueError(
                f"X has no usable feature column (of {_shown(chosen)}); expected at least one "
                "with values."
            )
        self._columns, self.ignored_, self.notes_ = columns, ignored, notes
        self._order = list(table.names)  # how an array's columns are named at transform
        return self

    def _chosen(self, names: list) -> list:
        for option in ("features", "drop", "categorical"):
            wanted = getattr(self, option) or []
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise ValueError(
                    f"{option} names column(s) {_shown(unknown)} that X does not have; its "
                    f"columns are: {', '.join(map(str, names))}."
                )
        chosen = list(self.features) if self.features is not None else list(names)
        chosen = [n for n in chosen if n not in (self.drop or ())]
        if not chosen:
            raise ValueError("features and drop leave no column to learn from.")
        return chosen

    def _fit_categorical(self, name, values, notes: list[str]) -> dict:
        codes, levels = _factorize(values)
        counts = np.bincount(codes[codes >= 0], minlength=len(levels))
        order = sorted(range(len(levels)), key=lambda j: (-counts[j], levels[j]))
        kept = sorted(order[: self.max_levels], key=lambda j: _level_order(levels[j]))
        n_other = int(counts[order[self.max_levels:]].sum())
        if len(levels) > self.max_levels:
            notes.append(
                f"column {name!r} has {len(levels)} levels; the {self.max_levels} most frequent "
                f"each get an input, the other {len(levels) - self.max_levels} ({n_other} rows) "
                f"share {OTHER!r}."
            )
            if len(levels) == len(codes) and len(levels) > 1:
                notes[-1] += " Every row has its own value: an identifier? Then drop it."
        text = _mostly_numbers(values) if not isinstance(values, np.ndarray) or values.dtype.kind == "O" \
            else None
        if text is not None and name not in (self.categorical or ()):
            notes.append(f"column {name!r} holds numbers, but also {text!r}: it is taken for "
                         "categorical; correct such cells to have it numeric.")
        return {
            "name": name,
            "kind": "categorical",
            "levels": [levels[j] for j in kept],
            "counts": [int(counts[j]) for j in kept],
            "other": n_other if len(levels) > self.max_levels else None,
            "missing": int((codes < 0).sum()),
        }

    def fit_transform(self, X, y=None, dtype=np.float64) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X, y).transform(X, dtype=dtype)

    # --------------------------------------------------------------------- transforming
    def _check_fitted(self) -> list[dict]:
        if self._columns is None:
            raise RuntimeError(
                "This TablePreprocessor is not fitted yet; call fit(X) before transform(X)."
            )
        return self._columns

    def transform(self, X, dtype=np.float64) -> np.ndarray:
        """Return the network's inputs ``(n_samples, n_features_out)`` for the raw columns ``X``."""
        return self._transform(X, dtype, "X")

    def _transform(self, X, dtype, what: str) -> np.ndarray:
        columns = self._check_fitted()
        table = _Columns(X, what)
        names = [c["name"] for c in columns]
        if table.frame is None:
            if table.array.shape[1] != len(self._order):
                raise ValueError(
                    f"{what} has {table.array.shape[1]} columns, but the preprocessor was fitted "
                    f"on {len(self._order)}; give the same columns in the same order, or a "
                    "DataFrame."
                )
            table.names = self._order
        missing = [n for n in names if n not in table.names]
        if missing:
            raise ValueError(
                f"{what} has no column(s) {_shown(missing)}, which the model was trained on; its "
                f"columns are: {', '.join(map(str, table.names))}."
            )
        if table.n_rows == 0:
            raise ValueError(f"{what} has no rows; expected at least one sample.")
        out = np.empty((table.n_rows, self.n_features_out_), dtype=dtype)
        done = _numeric_block(columns, table, out)
        start = 0
        for column in columns:
            width = _width(column)
            block = out[:, start : start + width]
            values = table[column["name"]]
            if column["name"] in done:
                pass
            elif column["kind"] == "categorical":
                _one_hot(column, values, block)
            else:
                v = _numbers(values, column["name"], what)
                gaps = np.isnan(v)
                if gaps.any():
                    v = np.where(gaps, column["median"], v)
                block[:, 0] = (v - column["mean"]) / column["scale"]
                if column["missing"]:
                    block[:, 1] = gaps
            start += width
        return out

    # ----------------------------------------------------------------------- describing
    @property
    def columns_(self) -> list:
        """The input columns used, in order."""
        return [c["name"] for c in self._check_fitted()]

    @property
    def n_features_out_(self) -> int:
        return sum(_width(c) for c in self._check_fitted())

    def get_feature_names_out(self) -> list[str]:
        """Return the name of each output column: ``col``, ``col=<missing>``, ``col=level``, ..."""
        names = []
        for c in self._check_fitted():
            if c["kind"] == "categorical":
                names += [f"{c['name']}={level}" for level in c["levels"]]
                names += [f"{c['name']}={OTHER}"] if c["other"] is not None else []
                names += [f"{c['name']}={MISSING}"] if c["missing"] else []
            else:
                names += [str(c["name"])] + ([f"{c['name']}={MISSING}"] if c["missing"] else [])
        return names

    def describe(self) -> str:
        """Return one line per input column saying how it is treated."""
        lines = []
        columns = self._check_fitted()
        width = max(len(str(c["name"])) for c in columns + self.ignored_)
        for c in columns:
            name = str(c["name"]).ljust(width)
            if c["kind"] == "categorical":
                levels = ", ".join(c["levels"][:8]) + (", ..." if len(c["levels"]) > 8 else "")
                extra = (f" + {OTHER} ({c['other']} rows)" if c["other"] is not None else "") + (
                    f" + {MISSING} ({c['missing']} rows)" if c["missing"] else "")
                lines.append(f"  {name}  categorical, one-hot ({_width(c)} inputs): "
                             f"{len(c['levels'])} levels ({levels}){extra}")
            else:
                text = (f"  {name}  {c['kind']}, standardised (mean {c['mean']:.4g}, std "
                        f"{c['scale']:.4g})")
                if c["missing"]:
                    text += (f"; {c['missing']} gaps in training: filled with the median "
                             f"{c['median']:.4g}, plus a {MISSING} indicator")
                else:
                    text += f"; gaps filled with the median {c['median']:.4g}"
                lines.append(text)
        for c in self.ignored_:
            lines.append(f"  {str(c['name']).ljust(width)}  ignored: {c['reason']}")
        return "\n".join(lines)

    # ------------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """Return the options and the fitted statistics as plain JSON-able data."""
        config = {
            "class_name": "TablePreprocessor",
            "version": _CONFIG_VERSION,
            "features": self.features,
            "drop": self.drop,
            "categorical": self.categorical,
            "max_levels": self.max_levels,
        }
        if self._columns is not None:
            config["columns"] = [dict(c) for c in self._columns]
            config["ignored"] = [dict(c) for c in self.ignored_]
            config["order"] = list(self._order)
        return config

    @classmethod
    def from_config(cls, config: dict) -> TablePreprocessor:
        """Rebuild a preprocessor, fitted or not, from ``get_config()`` output."""
        if not isinstance(config, dict) or config.get("class_name") != "TablePreprocessor":
            raise ValueError(
                f"config must be a dict from TablePreprocessor.get_config(); received {config!r:.80}."
            )
        if config.get("version") != _CONFIG_VERSION:
            raise ValueError(f"config version {config.get('version')!r} is not {_CONFIG_VERSION}.")
        pre = cls(config.get("features"), config.get("drop"), config.get("categorical"),
                  config.get("max_levels", 20))
        if "columns" in config:
            columns = config["columns"]
            if not isinstance(columns, list) or not columns:
                raise ValueError("config['columns'] must be a non-empty list of column records.")
            pre._columns = [_check_column(c) for c in columns]
            pre.ignored_ = [dict(c) for c in config.get("ignored", [])]
            pre._order = list(config.get("order") or [c["name"] for c in columns])
        return pre

    def __repr__(self) -> str:
        args = [f"{k}={getattr(self, k)!r}" for k in ("features", "drop", "categorical")
                if getattr(self, k) is not None]
        args += [f"max_levels={self.max_levels}"] if self.max_levels != 20 else []
        fitted = f" fitted on {len(self._columns)} columns" if self._columns is not None else ""
        return f"<TablePreprocessor({', '.join(args)}){fitted}>"


def _names_option(value, option: str) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, (str, int)) for v in value):
        raise TypeError(f"{option} must be a list of column names; received {value!r}.")
    return list(value)


def _level_order(level: str):
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)


def _width(column: dict) -> int:
    if column["kind"] == "categorical":
        return len(column["levels"]) + (column["other"] is not None) + bool(column["missing"])
    return 1 + bool(column["missing"])


def _numeric_dtype(dtype) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def _fit_numeric_block(table: _Columns, names: list, rows) -> dict:
    """``_fit_numeric`` of every plain numeric column (int or float dtype) at once, by name.

    A column without any value is left out, for the column by column path to ignore.
    """
    if table.frame is not None:
        names = [n for n in names if _numeric_dtype(table.frame[n].dtype)]
        if len(names) < 2:
            return {}
        M = table.frame[names].to_numpy(dtype=np.float64)
    else:
        if table.array.dtype.kind not in "iuf" or len(names) < 2:
            return {}
        M = table.array[:, [table.names.index(n) for n in names]].astype(np.float64)
    M = M[rows] if rows is not None else np.array(M, copy=True)
    if np.isinf(M).any():
        return {}  # the column by column path names the cell
    gaps = np.isnan(M)
    n_gaps = gaps.sum(axis=0)
    fitted = {}
    with_values = n_gaps < len(M)
    if not with_values.any():
        return {}
    if n_gaps.any():
        median = np.array([np.median(M[~gaps[:, j], j]) if with_values[j] else 0.0
                           for j in range(M.shape[1])])
        M[gaps] = np.broadcast_to(median, M.shape)[gaps]
    else:
        median = np.median(M, axis=0)
    mean, std = M.mean(axis=0), M.std(axis=0)
    for j, name in enumerate(names):
        if with_values[j]:
            fitted[name] = {
                "name": name, "kind": "numeric", "median": float(median[j]), "mean": float(mean[j]),
                "scale": float(std[j]) if std[j] > 0 and math.isfinite(std[j]) else 1.0,
                "missing": int(n_gaps[j]),
            }
    return fitted


def _fit_numeric(name, kind: str, values) -> dict:
    v = _numbers(values, name, "X")
    gaps = np.isnan(v)
    median = float(np.median(v[~gaps]))
    if gaps.any():
        v = np.where(gaps, median, v)
    mean = float(v.mean())
    std = float(v.std())
    return {
        "name": name,
        "kind": kind,
        "median": median,
        "mean": mean,
        "scale": std if std > 0 and math.isfinite(std) else 1.0,
        "missing": int(gaps.sum()),
    }


def _numeric_block(columns: list[dict], table: _Columns, out: np.ndarray) -> set:
    """Encode every numeric column already held as numbers in one pass; return their names.

    One (n, k) array of them all, imputed and standardised at once, then written into ``out``:
    on a wide numeric table this is several times faster than column by column.
    """
    start, picked, where, gap_where = 0, [], [], []
    for column in columns:
        if column["kind"] != "categorical":
            picked.append(column)
            where.append(start)
            gap_where.append(start + 1 if column["missing"] else -1)
        start += _width(column)
    if len(picked) < 2:
        return set()
    names = [c["name"] for c in picked]
    if table.frame is not None:
        frame = table.frame[names]
        if not all(np.dtype(t).kind in "biuf" if isinstance(t, np.dtype) else False for t in frame.dtypes):
            return set()
        M = frame.to_numpy(dtype=np.float64, copy=True)
    else:
        if table.array.dtype.kind not in "biuf":
            return set()
        M = table.array[:, [table.names.index(n) for n in names]].astype(np.float64)
    if not np.isfinite(M).all():
        gaps = np.isnan(M)
        if np.isinf(M).any():
            return set()  # the column by column path names the cell
        M[gaps] = np.broadcast_to([c["median"] for c in picked], M.shape)[gaps]
    else:
        gaps = None
    M -= [c["mean"] for c in picked]
    M /= [c["scale"] for c in picked]
    if where == list(range(where[0], where[0] + len(where))):
        out[:, where[0] : where[0] + len(where)] = M
    else:
        out[:, where] = M
    for j, g in enumerate(gap_where):
        if g >= 0:
            out[:, g] = gaps[:, j] if gaps is not None else 0
    return set(names)


def _one_hot(column: dict, values, block: np.ndarray) -> None:
    codes, levels = _factorize(values)
    index = {level: j for j, level in enumerate(column["levels"])}
    other = len(column["levels"]) if column["other"] is not None else -1
    missing = other + 1 if other >= 0 else len(column["levels"])
    missing = missing if column["missing"] else other
    lut = np.array([index.get(level, other) for level in levels] + [missing], dtype=np.int64)
    where = lut[codes]
    block[...] = 0
    rows = np.flatnonzero(where >= 0)
    block[rows, where[rows]] = 1


_COLUMN_KEYS = {
    "numeric": ("name", "kind", "median", "mean", "scale", "missing"),
    "boolean": ("name", "kind", "median", "mean", "scale", "missing"),
    "categorical": ("name", "kind", "levels", "counts", "other", "missing"),
}


def _check_column(column) -> dict:
    if not isinstance(column, dict) or column.get("kind") not in KINDS:
        raise ValueError(f"a column record must be a dict with a kind in {KINDS}; received {column!r:.80}.")
    lacking = [k for k in _COLUMN_KEYS[column["kind"]] if k not in column]
    if lacking:
        raise ValueError(f"the record of column {column.get('name')!r} lacks {lacking}.")
    if column["kind"] == "categorical":
        if not isinstance(column["levels"], list) or not all(isinstance(v, str) for v in column["levels"]):
            raise ValueError(f"the levels of column {column['name']!r} must be a list of strings.")
    else:
        for key in ("median", "mean", "scale"):
            if not isinstance(column[key], (int, float)) or not math.isfinite(column[key]):
                raise ValueError(f"the {key} of column {column['name']!r} must be a finite number.")
        if column["scale"] <= 0:
            raise ValueError(f"the scale of column {column['name']!r} must be positive.")
    return dict(column)


# --------------------------------------------------------------------------- target encoder
class TargetEncoder:
    """Map a target column to the network's targets and back.

    Classification: labels (text, whole numbers, booleans) to indices ``0..k-1`` of the sorted
    labels, and indices back to labels. Regression: ``(y - mean) / std`` and back.

    Args:
        task: ``"classification"``, ``"regression"``, or ``"auto"`` (default): classification
            when the target holds text or booleans, or whole numbers with at most
            ``max_classes`` distinct values; regression otherwise.
        max_classes: the most distinct whole numbers ``task="auto"`` takes for labels.
    """

    def __init__(self, task: str = "auto", max_classes: int = MAX_AUTO_CLASSES) -> None:
        if task not in TASKS:
            raise ValueError(
                f"Received an invalid value for `task`, expected one of {TASKS}. Received: task={task!r}"
            )
        self.task = task
        self.max_classes = max_classes
        self.name: str | None = None
        self.task_: str | None = None
        self.classes_: list | None = None
        self.mean_: float | None = None
        self.scale_: float | None = None

    def fit(self, y, name: str | None = None) -> TargetEncoder:
        """Learn the classes, or the mean and standard deviation, of the targets ``y``."""
        values = _target_values(y)
        what = f"target {name!r}" if name is not None else "y"
        if len(values) == 0:
            raise ValueError(f"{what} is empty; expected at least one target.")
        if _missing_mask(values).any():
            raise ValueError(
                f"{what} holds {int(_missing_mask(values).sum())} missing value(s); drop those rows "
                "first (neuralnet.tabular.drop_missing_target)."
            )
        kind = _infer_kind(values, name)
        numbers = None if kind == "categorical" else _numbers(values, name, what)
        whole = numbers is not None and bool(np.all(numbers == np.round(numbers)))
        task = self.task
        if task == "auto":
            task = "classification" if kind != "numeric" or (
                whole and len(np.unique(numbers)) <= self.max_classes
            ) else "regression"
        if task == "regression":
            if numbers is None:
                example = next(v for v in _as_objects(values) if not _is_number(v))
                raise ValueError(
                    f"{what} holds text such as {example!r}; a regression needs numbers (or use "
                    "task 'classification')."
                )
            std = float(numbers.std())
            self.mean_, self.scale_ = float(numbers.mean()), std if std > 0 else 1.0
            self.classes_ = None
        else:
            if kind == "numeric" and not whole:
                example = numbers[numbers != np.round(numbers)][0]
                raise ValueError(
                    f"{what} holds numbers such as {example:g} that are not whole; class labels "
                    "are text, booleans or whole numbers (or use task 'regression')."
                )
            classes = _sorted_labels(values, kind, numbers)
            if len(classes) < 2:
                raise ValueError(
                    f"{what} holds one class only ({classes[0]!r}); a classifier needs at least two."
                )
            self.classes_ = classes
            self.mean_ = self.scale_ = None
        self.task_, self.name = task, name
        return self

    def _check_fitted(self) -> None:
        if self.task_ is None:
            raise RuntimeError("This TargetEncoder is not fitted yet; call fit(y) first.")

    @property
    def n_classes(self) -> int:
        self._check_fitted()
        return len(self.classes_) if self.classes_ is not None else 0

    def transform(self, y) -> np.ndarray:
        """Return class indices ``(n,)`` (int64), or standardised targets ``(n,)`` (float64)."""
        self._check_fitted()
        values = _target_values(y)
        what = f"target {self.name!r}" if self.name is not None else "y"
        if self.task_ == "regression":
            return (_numbers(values, self.name, what) - self.mean_) / self.scale_
        if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and all(
            isinstance(c, (int, bool)) for c in self.classes_
        ):
            return self._number_indices(values, what)
        codes, levels = _factorize(values)
        keys = {_canonical(c): j for j, c in enumerate(self.classes_)}
        unseen = [level for level in levels if level not in keys]
        if unseen or (codes < 0).any():
            shown = _shown(unseen) if unseen else "a missing value"
            raise ValueError(
                f"{what} holds {shown}, not a class seen in training; the classes are: "
                f"{', '.join(map(str, self.classes_))}."
            )
        return np.array([keys[level] for level in levels], dtype=np.int64)[codes]

    def _number_indices(self, values: np.ndarray, what: str) -> np.ndarray:
        """Class indices of numeric labels, without pandas: a search in the sorted classes."""
        keys = np.asarray(self.classes_, dtype=np.float64)
        v = values.astype(np.float64)
        index = np.clip(np.searchsorted(keys, v), 0, len(keys) - 1)
        unseen = keys[index] != v
        if unseen.any():
            shown = _shown(sorted({_canonical(u) for u in v[unseen]}))
            raise ValueError(
                f"{what} holds {shown}, not a class seen in training; the classes are: "
                f"{', '.join(map(str, self.classes_))}."
            )
        return index.astype(np.int64)

    def inverse_transform(self, t) -> np.ndarray:
        """Return the labels of class indices ``t``, or the targets in their units (as ``t``)."""
        self._check_fitted()
        t = np.asarray(t)
        if self.task_ == "regression":
            return t.astype(np.float64) * self.scale_ + self.mean_
        classes = np.asarray(self.classes_, dtype=object if isinstance(self.classes_[0], str) else None)
        return classes[t]

    def describe(self) -> str:
        self._check_fitted()
        name = self.name if self.name is not None else "y"
        if self.task_ == "regression":
            return f"{name}: regression, standardised (mean {self.mean_:.4g}, std {self.scale_:.4g})"
        shown = ", ".join(map(str, self.classes_[:10])) + (", ..." if len(self.classes_) > 10 else "")
        return f"{name}: classification, {len(self.classes_)} classes ({shown})"

    def get_config(self) -> dict:
        """Return the task, the classes or the scaling, as plain JSON-able data."""
        return {
            "class_name": "TargetEncoder",
            "version": _CONFIG_VERSION,
            "task": self.task,
            "max_classes": self.max_classes,
            "name": self.name,
            "fitted_task": self.task_,
            "classes": self.classes_,
            "mean": self.mean_,
            "scale": self.scale_,
        }

    @classmethod
    def from_config(cls, config: dict) -> TargetEncoder:
        """Rebuild an encoder from ``get_config()`` output."""
        if not isinstance(config, dict) or config.get("class_name") != "TargetEncoder":
            raise ValueError(
                f"config must be a dict from TargetEncoder.get_config(); received {config!r:.80}."
            )
        enc = cls(config.get("task", "auto"), config.get("max_classes", MAX_AUTO_CLASSES))
        enc.name = config.get("name")
        task = config.get("fitted_task")
        if task == "classification":
            classes = config.get("classes")
            if not isinstance(classes, list) or len(classes) < 2 or not all(
                isinstance(c, (str, int, float, bool)) for c in classes
            ):
                raise ValueError("a classification target's classes must be a list of 2+ labels.")
            enc.classes_ = classes
        elif task == "regression":
            mean, scale = config.get("mean"), config.get("scale")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (mean, scale)) or scale <= 0:
                raise ValueError("a regression target's mean and scale must be finite, the scale positive.")
            enc.mean_, enc.scale_ = float(mean), float(scale)
        elif task is not None:
            raise ValueError(f"the fitted task must be classification or regression, not {task!r}.")
        enc.task_ = task
        return enc

    def __repr__(self) -> str:
        return f"<TargetEncoder {self.describe()}>" if self.task_ else f"TargetEncoder(task={self.task!r})"


def _target_values(y):
    if type(y).__module__.startswith("pandas"):
        if getattr(y, "ndim", 1) != 1:
            raise ValueError(f"y must be one column of targets; received shape {y.shape}.")
        return y
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"y must be one column of targets; received shape {arr.shape}.")
    return arr


def _as_objects(values) -> list:
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _sorted_labels(values, kind: str, numbers) -> list:
    if kind == "boolean":
        return [False, True] if len(np.unique(numbers)) == 2 else [bool(numbers[0])]
    if kind == "numeric":
        return [int(v) for v in np.unique(numbers)]
    _, levels = _factorize(values)
    raw = {}
    for v in _as_objects(values):
        raw.setdefault(_canonical(v), v)
        if len(raw) == len(levels):
            break
    if all(isinstance(raw[level], str) for level in levels):
        return sorted(levels)
    return sorted(levels, key=_level_order)


# ---------------------------------------------------------------- the model's table path
def predict_table(model, X, batch_size: int = 1024) -> np.ndarray:
    """``model.predict`` of a DataFrame: its raw columns in, outputs in the target's units out.

    Probabilities for a classifier (as on an array); for a regression the predictions mapped
    back to the target's units (float64).
    """
    features = model.preprocessor._transform(X, model.dtype, "X")
    out = model.predict(features, batch_size)
    encoder = model.target_encoder
    if encoder is not None and encoder.task_ == "regression":
        return encoder.inverse_transform(out)
    return out


def predict_table_classes(model, X, batch_size: int = 1024) -> np.ndarray:
    """``model.predict_classes`` of a DataFrame: the original class labels."""
    features = model.preprocessor._transform(X, model.dtype, "X")
    classes = model.predict_classes(features, batch_size)
    encoder = model.target_encoder
    if encoder is not None and encoder.task_ == "classification":
        return encoder.inverse_transform(classes)
    return classes


def evaluate_table(model, X, y, batch_size: int = 1024, sample_weight=None) -> dict[str, float]:
    """``model.evaluate`` of a DataFrame and its targets in their own labels or units.

    ``y`` may name a column of ``X``. Rows without a target are dropped (a ``TableNote`` says
    how many).
    """
    if isinstance(y, str):
        if y not in X.columns:
            raise ValueError(
                f"X has no column {y!r} to take the targets from; its columns are: "
                f"{', '.join(map(str, X.columns))}."
            )
        y = X[y]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} targets; expected one per row.")
    keep = ~_missing_mask(y)
    if not keep.all():
        X, y = _drop_missing_target(X, y, getattr(model.target_encoder, "name", None), 4)
        sample_weight = sample_weight[keep] if sample_weight is not None else None
    features = model.preprocessor._transform(X, model.dtype, "X")
    encoder = model.target_encoder
    targets = encoder.transform(y) if encoder is not None else np.asarray(y)
    return model.evaluate(features, targets, batch_size, sample_weight)


def _from_header(record, model):
    """The ``(preprocessor, target_encoder)`` a model file holds, or ``(None, None)``.

    ``record`` is the header's ``"preprocessor"`` entry. A file without one that kept the
    command line's old scaling in its metadata (format 2) gets the same scaling as a
    preprocessor of numeric columns, and its integer classes (or unscaled target) as an encoder.
    """
    if record is not None:
        if not isinstance(record, dict):
            raise ValueError(f"the preprocessor record must be a JSON object, not {type(record).__name__}")
        pre = TablePreprocessor.from_config(record["features"])
        target = record.get("target")
        return pre, TargetEncoder.from_config(target) if target is not None else None
    meta = model.metadata
    scaling, names = meta.get("scaling"), meta.get("feature_names")
    if not (isinstance(scaling, dict) and isinstance(names, list)
            and len(names) == model.n_features == len(scaling.get("mean", ()))
            == len(scaling.get("scale", ()))):
        return None, None
    columns = [
        {"name": n, "kind": "numeric", "median": float(m), "mean": float(m), "scale": float(s),
         "missing": 0}
        for n, m, s in zip(names, scaling["mean"], scaling["scale"], strict=True)
    ]
    pre = TablePreprocessor.from_config({"class_name": "TablePreprocessor",
                                         "version": _CONFIG_VERSION, "columns": columns})
    encoder = TargetEncoder()
    encoder.name = meta.get("target")
    if model.is_classifier:
        encoder.task_, encoder.classes_ = "classification", list(range(max(model.n_outputs, 2)))
    else:
        encoder.task_, encoder.mean_, encoder.scale_ = "regression", 0.0, 1.0
    model.metadata = {k: v for k, v in meta.items() if k != "scaling"}
    return pre, encoder


def _to_header(model) -> dict | None:
    pre = getattr(model, "preprocessor", None)
    if pre is None:
        return None
    if not isinstance(pre, TablePreprocessor):
        raise ValueError(
            f"Cannot save the model: its preprocessor is a {type(pre).__name__}, not a "
            "neuralnet.tabular.TablePreprocessor."
        )
    pre._check_fitted()
    encoder = getattr(model, "target_encoder", None)
    if encoder is not None and not isinstance(encoder, TargetEncoder):
        raise ValueError(
            f"Cannot save the model: its target_encoder is a {type(encoder).__name__}, not a "
            "neuralnet.tabular.TargetEncoder."
        )
    return {"features": pre.get_config(),
            "target": encoder.get_config() if encoder is not None else None}
