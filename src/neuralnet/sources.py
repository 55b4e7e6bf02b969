"""Where ``fit``'s batches come from when the data are not one array in memory.

``fit`` (``neuralnet.training``) reads every kind of data through one small interface, a
*batch iterator*:

    len(batches)              the batches in an epoch
    batches.order(state)      draw the epoch's order (None: the data's own); given the
                              generator state of an interrupted epoch, draw the same again
    batches.epoch_state       the generator state the epoch's order was drawn from
    batches.batch(order, i)   batch i of the epoch, i = 0, 1, ... in turn:
                              (X_batch, y_batch, weights or None, rows)
    batches.end_epoch()       called after every epoch
    batches.batch_size        the (largest) batch size, for the training step's buffers

Three kinds implement it:

- ``training.BatchIterator``: arrays in memory. The hot path, untouched by the others.
- ``SourceBatches``: a *batch source* (the ``BatchSource`` protocol), any object with
  ``__len__`` (batches per epoch) and ``__getitem__(i)`` returning ``(X_batch, y_batch)`` or
  ``(X_batch, y_batch, sample_weight)``, like Keras's ``PyDataset``; ``fit(source)`` is called
  without ``y`` and calls the source's ``on_epoch_end()`` after each epoch if it has one.
- ``ChunkedBatches``: data read a block of rows (a *chunk*) at a time from a *chunk reader*:
  ``DaskChunks`` (a Dask array's row chunks), ``ArrayChunks`` (a NumPy memory-map, in blocks
  of rows) or ``neuralnet.streaming.ParquetChunks`` (a Parquet dataset's row groups).
  ``Chunked(X, y, ...)`` wraps arrays with settings other than the defaults.

Every batch or chunk is checked when it is read (``NeuralNet.check_X`` and ``check_y`` on it),
so nothing converts or scans the whole data, and a memory-map's pages are released after each
chunk is copied out.

Shuffling (``shuffle=True``), always drawn from the network's seeded generator at the epoch's
start, so that the seed fixes it and an interrupted epoch is drawn again on resume:

- a batch source: the order of its batches is a fresh permutation each epoch (what Keras's
  ``fit_generator`` did for a ``Sequence``); the rows inside a batch are the source's;
- chunked data: a shuffle buffer of K chunks. The chunk order is a fresh permutation; the
  chunks are taken K at a time in that order (a *window*); each window's rows are permuted by
  a generator seeded from the epoch's draw, and the batches are cut from the windows one after
  another (a batch may span two windows). So a batch mixes rows of up to K chunks (2K at a
  window's edge), every row is seen once an epoch, and memory holds at most two windows (the
  last batch of one is still referenced while the next is read) and one chunk.
  K is ``buffer_chunks``: by default as many chunks as fit in 64 MiB, 1 to 16.

With ``shuffle=False`` the batches are the rows in order, ``batch_size`` at a time (a batch
source: its batches in index order), so training equals ``fit`` on the same rows as one array.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from neuralnet._validation import check_positive_int, invalid_value

__all__ = [
    "BatchSource",
    "Chunked",
    "ArrayChunks",
    "DaskChunks",
    "SourceBatches",
    "ChunkedBatches",
    "is_batch_source",
    "is_dask",
    "is_streamed",
    "evaluate",
    "predict",
]

# Rows of a memory-map read at a time: about this many bytes.
MEMMAP_CHUNK_BYTES = 16 << 20
# The shuffle buffer holds about this many bytes of chunks by default (at least one chunk).
BUFFER_BYTES = 64 << 20
MAX_BUFFER_CHUNKS = 16
# Rows the training diagnostics push forward at each epoch's end (TrainingMonitor's probe).
PROBE_ROWS = 128


@runtime_checkable
class BatchSource(Protocol):
    """What ``fit`` accepts as a batch source: ``len`` batches, ``source[i]`` the i-th.

    ``source[i]`` returns ``(X_batch, y_batch)`` or ``(X_batch, y_batch, sample_weight)``,
    shapes ``(m, n_features)``, ``(m,)`` or ``(m, n_outputs)``, and ``(m,)``. An optional
    ``on_epoch_end()`` is called after every epoch (e.g. to reshuffle the source's own rows).
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple: ...


# ------------------------------------------------------------------------ recognising data
def is_dask(obj) -> bool:
    """Whether ``obj`` is a Dask collection (``dask.array.Array``), without importing Dask."""
    return type(obj).__module__.startswith("dask")


def is_batch_source(obj) -> bool:
    """Whether ``obj`` is a batch source: ``len`` and indexing, and not an array or a list."""
    return (
        hasattr(obj, "__len__")
        and hasattr(obj, "__getitem__")
        and not hasattr(obj, "shape")  # arrays, data frames, tensors: data, not a source
        and not isinstance(obj, (list, tuple, str, bytes, dict, np.ndarray))
    )


def is_chunked_array(obj) -> bool:
    """Whether ``obj`` is read chunk by chunk: a Dask array, a memory-map, or ``Chunked``."""
    return isinstance(obj, (np.memmap, Chunked)) or is_dask(obj)


def is_streamed_validation(validation_data) -> bool:
    """Whether ``validation_data`` is a batch source, ``Chunked``, or a pair of chunked arrays."""
    return is_batch_source(validation_data) or isinstance(validation_data, Chunked) or (
        isinstance(validation_data, (tuple, list)) and len(validation_data) == 2
        and is_chunked_array(validation_data[0])
    )


def is_streamed(X) -> bool:
    """Whether ``fit`` / ``evaluate`` / ``predict`` read ``X`` batch by batch, not as one array."""
    return type(X) is not np.ndarray and (is_chunked_array(X) or is_batch_source(X))


# ----------------------------------------------------------------------------- the checks
def _check_class_weight(class_weight) -> dict | None:
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict {{label: weight}}; received {type(class_weight).__name__}."
        )
    for label, weight in class_weight.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                or not math.isfinite(weight) or weight < 0:
            raise invalid_value("class_weight", "finite non-negative weights", {label: weight})
    return class_weight


def _apply_class_weight(class_weight, y: np.ndarray, w, loss) -> np.ndarray:
    """Each row's weight times its class's weight (``training.apply_class_weight``, per batch)."""
    labels = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
    if loss.decision_threshold == 0.0:
        labels = np.maximum(labels, 0)  # hinge targets were read as {-1, 1}: class 0 is -1
    out = np.ones(len(y)) if w is None else w.copy()
    for label, weight in class_weight.items():
        out[labels == label] *= weight
    return out


class _Checker:
    """Check one batch or chunk as ``fit`` checks whole arrays, naming where it came from."""

    def __init__(self, model, class_weight=None) -> None:
        self.model = model
        self.class_weight = _check_class_weight(class_weight)

    def __call__(self, X, y, w, where: str, use_weights: bool = True) -> tuple:
        model = self.model
        if not model.built:
            X_arr = X if hasattr(X, "shape") else np.asarray(X)
            if getattr(X_arr, "ndim", 0) == 2:
                model.build(int(X_arr.shape[1]))
        X = model.check_X(X, f"X of {where}")
        if y is None:
            raise ValueError(f"{where} has no targets; expected (X_batch, y_batch[, sample_weight]).")
        try:
            y = model.check_y(y, len(X))
            w = model.check_sample_weight(w, len(X)) if use_weights else None
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        if use_weights and self.class_weight is not None:
            w = _apply_class_weight(self.class_weight, y, w, model.loss_fn)
        return X, y, w


def _unpack(item, where: str) -> tuple:
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise TypeError(
            f"{where} must be a tuple (X_batch, y_batch) or (X_batch, y_batch, sample_weight); "
            f"received {type(item).__name__}"
            + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "") + "."
        )
    return (*item, None) if len(item) == 2 else tuple(item)


def _epoch_rng(rng: np.random.Generator, epoch_state: dict | None) -> tuple:
    """The generator to draw the epoch's order from and the state it starts in (to replay)."""
    if epoch_state is not None:
        replay = np.random.default_rng()
        replay.bit_generator.state = epoch_state
        return replay, epoch_state
    return rng, rng.bit_generator.state


# ------------------------------------------------------------------------- batch sources
class SourceBatches:
    """The batch iterator of a batch source (see the module): each batch checked as it comes.

    With ``shuffle``, each epoch visits the source's batches in a fresh permutation drawn from
    ``rng``; otherwise in index order.
    """

    def __init__(self, source, checker: _Checker, shuffle: bool, rng: np.random.Generator,
                 name: str = "the batch source") -> None:
        n = len(source)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(
                f"{name} has len() = {n!r}; expected a positive number of batches per epoch."
            )
        self.source, self.check, self.shuffle, self.rng = source, checker, shuffle, rng
        self.name = name
        self.n_batches = int(n)
        self.n_samples = None  # known once an epoch has been read
        self.epoch_state: dict | None = None
        first = self._read(0)
        self._first = first
        self.batch_size = len(first[0])
        self.probe = first[0][:PROBE_ROWS]

    def __len__(self) -> int:
        return self.n_batches

    def _read(self, i: int) -> tuple:
        where = f"batch {i} of {self.name}"
        X, y, w = _unpack(self.source[i], where)
        return self.check(X, y, w, where)

    def order(self, epoch_state: dict | None = None) -> np.ndarray | None:
        if not self.shuffle or self.n_batches == 1:
            self.epoch_state = None
            return None
        rng, self.epoch_state = _epoch_rng(self.rng, epoch_state)
        return rng.permutation(self.n_batches)

    def batch(self, order, i: int) -> tuple:
        index = i if order is None else int(order[i])
        if index == 0 and self._first is not None:
            xb, yb, wb = self._first  # read once already, to build and probe the network
        else:
            xb, yb, wb = self._read(index)
        self._first = None
        self.batch_size = max(self.batch_size, len(xb))
        return xb, yb, wb, len(xb)

    def end_epoch(self) -> None:
        on_epoch_end = getattr(self.source, "on_epoch_end", None)
        if callable(on_epoch_end):
            on_epoch_end()

    def pieces(self, use_weights: bool = True) -> Iterator[tuple]:
        """Every batch in index order, checked: one pass for ``evaluate``."""
        for i in range(self.n_batches):
            where = f"batch {i} of {self.name}"
            X, y, w = _unpack(self.source[i], where)
            yield self.check(X, y, w, where, use_weights)


# ------------------------------------------------------------------------- chunk readers
class ArrayChunks:
    """Read an array-like (a NumPy memory-map, or any array sliced by rows) a block at a time.

    Each block of ``chunk_rows`` rows (default: about 16 MiB) is copied out; for a read-only
    or shared memory-map the copied pages are then released (``madvise(MADV_DONTNEED)``), so
    the process's resident memory stays at one block however large the file.
    """

    def __init__(self, X, y=None, sample_weight=None, chunk_rows: int | None = None) -> None:
        if getattr(X, "ndim", None) != 2:
            raise ValueError(
                f"X must be a 2-D array (n_samples, n_features); received shape "
                f"{getattr(X, 'shape', None)}."
            )
        n = int(X.shape[0])
        for name, a in (("y", y), ("sample_weight", sample_weight)):
            if a is not None and len(a) != n:
                raise ValueError(
                    f"X and {name} have different numbers of samples: X has {n}, {name} has {len(a)}."
                )
        if chunk_rows is None:
            row_bytes = max(1, int(X.shape[1]) * np.dtype(X.dtype).itemsize)
            chunk_rows = max(1, MEMMAP_CHUNK_BYTES // row_bytes)
        chunk_rows = check_positive_int(chunk_rows, "chunk_rows")
        self.X, self.y, self.w = X, y, sample_weight
        self.n_features = int(X.shape[1])
        self.offsets = list(range(0, n, chunk_rows)) + [n]
        self.sizes = [b - a for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]
        self.row_bytes = int(X.shape[1]) * np.dtype(X.dtype).itemsize

    def read(self, i: int) -> tuple:
        a, b = self.offsets[i], self.offsets[i + 1]
        return tuple(None if arr is None else _copy_rows(arr, a, b) for arr in (self.X, self.y, self.w))

    def sample(self, k: int) -> np.ndarray:
        """The first ``k`` rows. (Rows spread over a memory-map would map most of its pages:
        the kernel maps the cached pages around each one it faults in.)"""
        return _copy_rows(self.X, 0, min(k, self.offsets[-1]))


def _copy_rows(arr, start: int, stop: int, step: int = 1) -> np.ndarray:
    """``arr[start:stop:step]`` copied into memory; a memory-map's pages released after."""
    part = arr[start:stop:step]
    out = np.array(part, copy=True)
    if isinstance(part, np.memmap) and step == 1:
        _release_pages(part)
    return out


def _release_pages(view: np.memmap) -> None:
    """Drop the resident pages behind ``view`` (a read-only or shared map: the file keeps them)."""
    m = getattr(view, "_mmap", None)
    if m is None or view.mode not in ("r", "r+") or not view.flags.c_contiguous \
            or not hasattr(m, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        base = np.frombuffer(m, dtype=np.uint8).ctypes.data
    except (TypeError, ValueError):
        return
    page = mmap.PAGESIZE
    start = view.ctypes.data - base
    stop = start + view.nbytes
    start -= start % page
    length = min(len(m), -(-stop // page) * page) - start
    if length > 0:
        try:
            m.madvise(mmap.MADV_DONTNEED, start, length)
        except (OSError, ValueError):
            pass  # only an optimisation: the pages are then left to the kernel


class DaskChunks:
    """Read Dask arrays one row chunk of ``X`` at a time (``y`` and the weights alongside).

    ``X``'s column chunks are merged (lazily) so that a chunk holds whole rows; ``y`` and
    ``sample_weight`` may be Dask or NumPy arrays, sliced to the same rows. Each chunk is
    computed with Dask's current scheduler (a ``distributed.Client``'s cluster if one is the
    default), so a chunk's rows come to this process only when a batch needs them.
    """

    def __init__(self, X, y=None, sample_weight=None) -> None:
        if getattr(X, "ndim", None) != 2:
            raise ValueError(
                f"X must be a 2-D Dask array (n_samples, n_features); received shape "
                f"{getattr(X, 'shape', None)}."
            )
        if any(math.isnan(s) for s in X.shape):
            raise ValueError(
                "X has unknown chunk sizes (nan in its shape); call X.compute_chunk_sizes() first."
            )
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        n = int(X.shape[0])
        for name, a in (("y", y), ("sample_weight", sample_weight)):
            if a is not None and int(a.shape[0]) != n:
                raise ValueError(
                    f"X and {name} have different numbers of samples: X has {n}, "
                    f"{name} has {int(a.shape[0])}."
                )
        self.X, self.y, self.w = X, y, sample_weight
        self.n_features = int(X.shape[1])
        self.sizes = [int(s) for s in X.chunks[0]]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.row_bytes = int(X.shape[1]) * np.dtype(X.dtype).itemsize

    def read(self, i: int) -> tuple:
        import dask

        a, b = self.offsets[i], self.offsets[i + 1]
        parts = [self.X.blocks[i]] + [None if arr is None else arr[a:b] for arr in (self.y, self.w)]
        lazy = [p for p in parts if p is not None and is_dask(p)]
        computed = iter(dask.compute(*lazy))
        return tuple(None if p is None else (next(computed) if is_dask(p) else np.asarray(p))
                     for p in parts)

    def sample(self, k: int) -> np.ndarray:
        """The first ``k`` rows (from the first chunk only: reading more would read them all)."""
        return np.asarray(self.X[:k].compute())


class Chunked:
    """Arrays for ``fit`` read chunk by chunk, with the chunking and shuffle buffer chosen.

    ``fit(Chunked(X, y, buffer_chunks=8), epochs=...)`` is ``fit(X, y, ...)`` with a Dask
    array or memory-map ``X`` but a shuffle buffer of 8 chunks. ``chunk_rows`` sets a
    memory-map's block size (a Dask array keeps its own chunks: rechunk it to change them).
    """

    def __init__(self, X, y=None, sample_weight=None, chunk_rows: int | None = None,
                 buffer_chunks: int | None = None) -> None:
        if isinstance(X, Chunked):
            raise TypeError("X is already Chunked; pass the arrays themselves.")
        if is_dask(X):
            if chunk_rows is not None:
                raise ValueError(
                    "chunk_rows applies to memory-maps; a Dask array keeps its own chunks: "
                    "rechunk it (X.rechunk({0: rows})) to change them."
                )
            self.reader = DaskChunks(X, y, sample_weight)
        else:
            self.reader = ArrayChunks(X, y, sample_weight, chunk_rows)
        if buffer_chunks is not None:
            buffer_chunks = check_positive_int(buffer_chunks, "buffer_chunks")
        self.buffer_chunks = buffer_chunks
        self.has_y = y is not None
        self.shape = (self.reader.offsets[-1], self.reader.n_features)

    @classmethod
    def from_reader(cls, reader, buffer_chunks: int | None = None) -> Chunked:
        """Wrap a chunk reader: ``sizes``, ``offsets``, ``n_features``, ``row_bytes``,
        ``read(i) -> (X, y, weights or None)`` and ``sample(k)`` (e.g. ``ParquetChunks``)."""
        self = cls.__new__(cls)
        self.reader = reader
        self.buffer_chunks = None if buffer_chunks is None else \
            check_positive_int(buffer_chunks, "buffer_chunks")
        self.has_y = True
        self.shape = (reader.offsets[-1], reader.n_features)
        return self


def as_chunked(X, y=None, sample_weight=None) -> Chunked:
    """``X`` (a Dask array, a memory-map or ``Chunked``) as ``Chunked``; y given once only."""
    if isinstance(X, Chunked):
        if y is not None or sample_weight is not None:
            raise ValueError(
                "Chunked(X, y, sample_weight) holds its own targets and weights; call fit "
                "without y and sample_weight."
            )
        return X
    return Chunked(X, y, sample_weight)


def default_buffer_chunks(reader) -> int:
    """As many chunks as fit in ``BUFFER_BYTES`` (at least 1, at most ``MAX_BUFFER_CHUNKS``)."""
    largest = max(reader.sizes) * max(1, reader.row_bytes)
    return int(min(MAX_BUFFER_CHUNKS, max(1, BUFFER_BYTES // largest)))


class _Plan:
    """One epoch's order of chunked data: its windows of chunks, each with its row seed."""

    def __init__(self, windows: list[list[int]], seeds: list[int] | None) -> None:
        self.windows, self.seeds = windows, seeds


class ChunkedBatches:
    """The batch iterator of data read chunk by chunk (see the module for the shuffle).

    Batches are ``batch_size`` rows of the epoch's stream of rows (the last one shorter);
    a batch inside one window is a view of it, one across two windows a copy of its rows.
    """

    def __init__(self, reader, checker: _Checker, batch_size: int, shuffle: bool,
                 rng: np.random.Generator, buffer_chunks: int | None = None,
                 name: str = "X") -> None:
        self.reader, self.check, self.shuffle, self.rng = reader, checker, shuffle, rng
        self.name = name
        self.sizes = list(reader.sizes)
        self.n_samples = int(sum(self.sizes))
        if self.n_samples == 0:
            raise ValueError(f"{name} is empty (0 rows); expected at least one sample.")
        self.batch_size = min(batch_size, self.n_samples)
        self.n_batches = -(-self.n_samples // self.batch_size)
        self.buffer_chunks = buffer_chunks or default_buffer_chunks(reader)
        self.epoch_state: dict | None = None
        self.probe = None
        self._window = None  # (plan, index, start row in the epoch, X, y, w)

    def __len__(self) -> int:
        return self.n_batches

    def sample(self, k: int = PROBE_ROWS) -> np.ndarray:
        """Up to ``k`` rows of X, checked: the diagnostics' probe rows."""
        return self.check.model.check_X(self.reader.sample(k), f"X ({self.name})")

    def order(self, epoch_state: dict | None = None) -> _Plan:
        n_chunks = len(self.sizes)
        if not self.shuffle or self.batch_size >= self.n_samples:
            # A full batch's gradient does not depend on the order of its rows.
            self.epoch_state = None
            return _Plan([[c] for c in range(n_chunks)], None)
        rng, self.epoch_state = _epoch_rng(self.rng, epoch_state)
        chunks = rng.permutation(n_chunks).tolist()
        k = self.buffer_chunks
        windows = [chunks[i : i + k] for i in range(0, n_chunks, k)]
        seeds = rng.integers(0, 2**63, size=len(windows)).tolist()
        return _Plan(windows, seeds)

    def _load(self, plan: _Plan, index: int, start: int) -> None:
        """Make window ``index`` of ``plan`` (whose first row is row ``start`` of the epoch) current."""
        chunks = plan.windows[index]
        self._window = None
        if plan.seeds is None:
            X, y, w = self._read(chunks[0])
        else:
            rows = sum(self.sizes[c] for c in chunks)
            perm = np.random.default_rng(plan.seeds[index]).permutation(rows)
            # Row r of the chunks laid end to end goes to position where[r] of the window:
            # one chunk at a time is scattered into place, so memory holds the window and one chunk.
            where = np.empty(rows, dtype=np.intp)
            where[perm] = np.arange(rows)
            X = y = w = None
            offset = 0
            for c in chunks:
                xc, yc, wc = self._read(c)
                if X is None:
                    X = np.empty((rows, xc.shape[1]), dtype=xc.dtype)
                    y = np.empty((rows, yc.shape[1]), dtype=yc.dtype)
                    w = None if wc is None else np.empty(rows)
                if (wc is None) != (w is None):
                    raise ValueError(
                        f"Some chunks of {self.name} have sample weights and others not; "
                        "give weights for every row or for none."
                    )
                dest = where[offset : offset + len(xc)]
                X[dest], y[dest] = xc, yc
                if w is not None:
                    w[dest] = wc
                offset += len(xc)
        self._window = (plan, index, start, X, y, w)

    def _read(self, c: int) -> tuple:
        X, y, w = self.reader.read(c)
        return self.check(X, y, w, f"chunk {c} of {self.name}")

    def batch(self, plan: _Plan, i: int) -> tuple:
        start = i * self.batch_size
        stop = min(start + self.batch_size, self.n_samples)
        window = self._window
        if window is None or window[0] is not plan or not window[2] <= start < window[2] + len(window[3]):
            self._seek(plan, start)
        parts = []
        row = start
        while row < stop:
            _, index, first, X, y, w = self._window
            lo, hi = row - first, min(stop - first, len(X))
            parts.append((X[lo:hi], y[lo:hi], None if w is None else w[lo:hi]))
            row = first + hi
            if hi == len(X) and index + 1 < len(plan.windows):
                self._load(plan, index + 1, first + hi)
        if len(parts) == 1:
            xb, yb, wb = parts[0]
        else:
            xb = np.concatenate([p[0] for p in parts])
            yb = np.concatenate([p[1] for p in parts])
            wb = None if parts[0][2] is None else np.concatenate([p[2] for p in parts])
        return xb, yb, wb, stop - start

    def _seek(self, plan: _Plan, start: int) -> None:
        """Load the window holding row ``start`` of the epoch (a resumed or restarted epoch)."""
        first = 0
        for index, chunks in enumerate(plan.windows):
            rows = sum(self.sizes[c] for c in chunks)
            if first + rows > start:
                self._load(plan, index, first)
                return
            first += rows
        raise IndexError(f"row {start} is beyond the {self.n_samples} rows of {self.name}")

    def end_epoch(self) -> None:
        self._window = None  # free the last window between epochs

    def pieces(self, use_weights: bool = True) -> Iterator[tuple]:
        """Every chunk in order, checked: one pass for ``evaluate``."""
        for c in range(len(self.sizes)):
            X, y, w = self.reader.read(c)
            yield self.check(X, y, w, f"chunk {c} of {self.name}", use_weights)


# ------------------------------------------------------------------ preparing for fit
def batches_for(model, X, y=None, sample_weight=None, class_weight=None, batch_size: int = 32,
                shuffle: bool = True, rng=None, name: str = "X"):
    """Return the batch iterator of ``X`` (a batch source, a Dask array, a memory-map, ``Chunked``)."""
    checker = _Checker(model, class_weight)
    if is_batch_source(X):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{name} is a batch source, which yields its own targets (and weights): call "
                "fit(source, epochs=...) without y and sample_weight."
            )
        return SourceBatches(X, checker, shuffle, rng,
                             "the batch source" if name == "X" else name)
    chunked = as_chunked(X, y, sample_weight)
    if not chunked.has_y:
        raise ValueError(f"fit needs targets y for {name}; received y=None.")
    if not model.built:
        model.build(chunked.reader.n_features)
    return ChunkedBatches(chunked.reader, checker, batch_size, shuffle, rng,
                          chunked.buffer_chunks, name)


def split_chunked(X, y, sample_weight, validation_split: float) -> tuple:
    """Hold out the last ``validation_split`` of chunked arrays, as ``fit`` does for arrays."""
    if isinstance(X, Chunked):
        raise ValueError(
            "validation_split needs the arrays themselves; with Chunked(X, y), give "
            "validation_data=Chunked(X_val, y_val) instead."
        )
    n = int(X.shape[0])
    n_val = int(round(n * validation_split))
    if n_val < 1 or n_val >= n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves {n_val} for validation "
            f"and {n - n_val} for training; both need at least one."
        )
    cut = n - n_val
    train = (X[:cut], None if y is None else y[:cut],
             None if sample_weight is None else sample_weight[:cut])
    return train, (X[cut:], None if y is None else y[cut:])


def validation_pieces(model, validation_data) -> SourceBatches | ChunkedBatches | None:
    """The streamed form of ``validation_data`` (a batch source, or a pair of chunked arrays)."""
    if is_batch_source(validation_data):
        return SourceBatches(validation_data, _Checker(model), False, None,
                             "the validation batch source")
    if isinstance(validation_data, Chunked):
        return ChunkedBatches(validation_data.reader, _Checker(model), 1024, False, None,
                              None, "validation_data")
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2 and \
            is_chunked_array(validation_data[0]):
        chunked = as_chunked(*validation_data)
        return ChunkedBatches(chunked.reader, _Checker(model), 1024, False, None, None,
                              "validation_data")
    return None


class AdaptiveStep:
    """The training step for batches whose size and weights vary (``_fastpath.train_step``).

    The fused step where it applies (no weights in the batch), its buffers grown to the
    largest batch seen; the reference step otherwise.
    """

    def __init__(self, model) -> None:
        from neuralnet import _fastpath

        self.model = model
        self._fastpath = _fastpath
        self.fused = None
        self.capacity = 0

    def __call__(self, x: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
        if sample_weight is None:
            if len(x) > self.capacity:
                if not self._fastpath.supports(self.model, None):
                    return self.model.reference_step(x, y, None)
                self.fused = self._fastpath.FusedStep(self.model, len(x))
                self.capacity = len(x)
            return self.fused(x, y)
        return self.model.reference_step(x, y, sample_weight)


# ------------------------------------------------------------------ streamed evaluation
def evaluate(model, X, y=None, batch_size: int = 1024, sample_weight=None,
             metric_fns: dict | None = None, use_weights: bool = True) -> dict[str, float]:
    """``NeuralNet.evaluate`` over a batch source or chunked arrays, one batch in memory at a time.

    The loss is the weighted mean over all rows (each batch's mean weighted by its rows, or its
    weights); the metrics are accumulated as they go (see ``MetricStream``), so they equal the
    in-memory ones up to rounding.
    """
    model.check_ready()
    batch_size = check_positive_int(batch_size, "batch_size")
    if metric_fns is None:
        metric_fns = model.metric_fns(None)
    if hasattr(X, "pieces"):
        pieces = X.pieces(use_weights)
    else:
        pieces = batches_for(model, X, y, sample_weight, None, batch_size, False, None).pieces(use_weights)
    return evaluate_pieces(model, pieces, batch_size, metric_fns)


def evaluate_pieces(model, pieces, batch_size: int, metric_fns: dict) -> dict[str, float]:
    """The loss and metrics over checked ``(X, y, w)`` pieces, accumulated piece by piece."""
    loss_sum = weight_sum = 0.0
    stream = MetricStream(metric_fns)
    for X, y, w in pieces:
        outputs, z = model.outputs_and_logits(X, batch_size)
        model.check_finite(outputs, "outputs", X)
        weight = len(X) if w is None else float(w.sum())
        if weight > 0:
            loss_sum += model.loss_fn.value(y, outputs, z, w) * weight
            weight_sum += weight
        stream.update(y, outputs)
    if weight_sum == 0:
        raise ValueError("The data hold no rows (or only rows of weight 0) to evaluate.")
    logs = {"loss": loss_sum / weight_sum + model.penalty()}
    logs.update(stream.result())
    return logs


def predict(model, X, batch_size: int = 1024) -> np.ndarray:
    """``NeuralNet.predict`` over a batch source (its X parts) or chunked arrays, in order.

    The outputs, ``(n_samples, n_outputs)``, are returned in memory; the inputs never are.
    """
    model.check_ready()
    batch_size = check_positive_int(batch_size, "batch_size")
    if is_batch_source(X):
        parts = (_unpack(X[i], f"batch {i} of the batch source")[0] for i in range(len(X)))
    else:
        reader = (X if isinstance(X, Chunked) else Chunked(X)).reader
        parts = (reader.read(c)[0] for c in range(len(reader.sizes)))
    outputs = [model.predict(model.check_X(part), batch_size) for part in parts]
    return np.concatenate(outputs) if outputs else np.empty((0, model.n_outputs), model.dtype)


class MetricStream:
    """Accumulate metrics batch by batch, so that no pass needs every output at once.

    accuracy, precision, recall and f1 add up counts (exactly the in-memory values); mae and
    mse add sums of errors; r2 merges each output column's count, mean and sum of squares
    (Chan et al.'s pairwise update) and its residual sum. Any other metric (auc, a function of
    the user's) needs every score at once: its targets and outputs (``n x n_outputs`` values
    each, never the inputs) are gathered and it is computed at the end.
    """

    def __init__(self, metric_fns: dict) -> None:
        from neuralnet import metrics as _metrics

        self._metrics = _metrics
        self.fns = metric_fns
        self.state: dict = {name: None for name in metric_fns}

    def _kind(self, fn) -> tuple[str, dict]:
        m = self._metrics
        base, kwargs = fn, {}
        if hasattr(fn, "func") and hasattr(fn, "keywords"):  # functools.partial
            base, kwargs = fn.func, dict(fn.keywords)
        for kind, f in (("binary_accuracy", m.binary_accuracy),
                        ("categorical_accuracy", m.categorical_accuracy),
                        ("precision", m.precision), ("recall", m.recall), ("f1", m.f1),
                        ("mae", m.mae), ("mse", m.mse), ("r2", m.r2)):
            if base is f:
                return kind, kwargs
        return "gather", {}

    def _batch_state(self, kind: str, kwargs: dict, y: np.ndarray, outputs: np.ndarray):
        """What one batch adds: counts, sums, or (r2) a count, means and sums of squares."""
        if kind == "binary_accuracy":
            good = np.count_nonzero((outputs >= kwargs.get("threshold", 0.5)) == (y >= 0.5))
            return good, outputs.size
        if kind == "categorical_accuracy":
            labels = y.argmax(axis=1) if y.ndim == 2 else y
            return np.count_nonzero(outputs.argmax(axis=1) == labels), len(outputs)
        if kind in ("precision", "recall", "f1"):
            return self._metrics._confusion_counts(
                y, outputs, kwargs.get("multilabel", False), kwargs.get("threshold", 0.5))[:3]
        if kind in ("mae", "mse"):
            d = np.asarray(y, np.float64) - np.asarray(outputs, np.float64)
            return (float(np.abs(d).sum()) if kind == "mae" else float(np.vdot(d, d))), d.size
        if kind == "r2":
            yt = np.asarray(y, np.float64)
            yt = yt[:, None] if yt.ndim == 1 else yt
            yp = np.asarray(outputs, np.float64).reshape(yt.shape)
            mean = yt.mean(axis=0)
            return len(yt), mean, ((yt - mean) ** 2).sum(axis=0), ((yt - yp) ** 2).sum(axis=0)
        return [np.array(y)], [np.array(outputs)]

    @staticmethod
    def _combine(kind: str, a, b):
        if a is None or b is None:
            return b if a is None else a
        if kind == "r2":  # Chan, Golub & LeVeque's update of a count, mean and sum of squares
            n_a, mean_a, m2_a, res_a = a
            n_b, mean_b, m2_b, res_b = b
            n = n_a + n_b
            delta = mean_b - mean_a
            return (n, mean_a + delta * n_b / n, m2_a + m2_b + delta**2 * n_a * n_b / n,
                    res_a + res_b)
        return tuple(x + y for x, y in zip(a, b, strict=True))  # sums, or lists joined

    def update(self, y: np.ndarray, outputs: np.ndarray) -> None:
        """Add one batch's targets and outputs ``(m, n_outputs)``."""
        for name, fn in self.fns.items():
            kind, kwargs = self._kind(fn)
            self.state[name] = self._combine(kind, self.state[name],
                                             self._batch_state(kind, kwargs, y, outputs))

    def merge(self, state: dict) -> None:
        """Add another stream's ``state`` (the same metrics, over other rows)."""
        for name, fn in self.fns.items():
            self.state[name] = self._combine(self._kind(fn)[0], self.state[name], state[name])

    def result(self) -> dict[str, float]:
        out = {}
        m = self._metrics
        for name, fn in self.fns.items():
            kind, kwargs = self._kind(fn)
            s = self.state[name]
            if s is None:
                continue
            if kind in ("binary_accuracy", "categorical_accuracy", "mae", "mse"):
                out[name] = float(s[0] / s[1])
            elif kind in ("precision", "recall", "f1"):
                tp, fp, fn_ = s
                k = len(tp)
                counted = np.ones(k, dtype=bool) if k == 1 or kwargs.get("multilabel", False) \
                    else (tp + fp + fn_) > 0
                num, den = {"precision": (tp, tp + fp), "recall": (tp, tp + fn_),
                            "f1": (2 * tp, 2 * tp + fp + fn_)}[kind]
                out[name] = m._ratio(num, den, counted)
            elif kind == "r2":
                _, _, ss_tot, ss_res = s
                scores = np.where(ss_res == 0, 1.0, 0.0)
                np.subtract(1.0, ss_res / np.where(ss_tot == 0, 1.0, ss_tot), out=scores,
                            where=ss_tot > 0)
                out[name] = float(scores.mean())
            else:
                out[name] = float(fn(np.concatenate(s[0]), np.concatenate(s[1])))
        return out
