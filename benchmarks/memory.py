"""Peak resident memory of one training epoch against the size of the data it streams.

Each run is a fresh process that trains a 64-32-1 network (float64, Adam, batches of 4,096
rows) for one epoch on data that never exist whole in memory, then reports its peak resident
set (``VmHWM`` in /proc/self/status, what ``ru_maxrss`` gives):

- ``source``: a batch source (``len`` and ``__getitem__``) whose batches are made on the fly
  from the batch index, 4,096 x 64 float64 values (2 MiB) each;
- ``dask``: a Dask array of the same values in chunks of 65,536 rows (32 MiB), shuffled with
  the default buffer;
- ``memmap``: the same values in a ``.npy`` file opened with ``mmap_mode="r"`` (written first,
  so this kind needs the disk space; off unless asked for).

    python benchmarks/memory.py                       # source and dask at 0.5, 1, 2 and 4 GB
    python benchmarks/memory.py --kinds source --sizes 2
    python benchmarks/memory.py --kinds memmap --sizes 0.5 1

``tests/test_memory.py`` runs the 2 GB ``source`` case and holds it under 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROWS, FEATURES = 4096, 64

CHILD = r"""
import json, sys, time
import numpy as np
from neuralnet import NeuralNet

kind, gigabytes, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ROWS, FEATURES = int(sys.argv[4]), int(sys.argv[5])
n_batches = max(1, int(gigabytes * 1e9 // (ROWS * FEATURES * 8)))
W = np.random.default_rng(0).normal(size=FEATURES)


def batch(i):
    X = np.random.default_rng(i).random((ROWS, FEATURES))
    return X, (X @ W > W.sum() / 2).astype(np.float64)


class Source:
    def __len__(self):
        return n_batches

    def __getitem__(self, i):
        return batch(i)


def vmhwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmHWM"))


model = NeuralNet(((FEATURES, 32), (32, 1)), activations=["relu", "sigmoid"], dtype="float64", seed=0)
if kind == "source":
    data = (Source(),)
elif kind == "dask":
    import dask
    import dask.array as da
    chunk = 16  # batches per chunk: 65,536 rows, 32 MiB

    def make(c):
        return np.concatenate([batch(i)[0] for i in range(c * chunk, min(n_batches, (c + 1) * chunk))])

    starts = range(0, n_batches, chunk)
    X = da.concatenate([da.from_delayed(dask.delayed(make)(j), ((min(n_batches, b + chunk) - b) * ROWS,
                                                                FEATURES), dtype=np.float64)
                        for j, b in enumerate(starts)])
    y = (X @ W > W.sum() / 2).astype(np.float64)
    data = (X, y)
else:
    X = np.load(path, mmap_mode="r")
    y = np.load(path + ".y.npy", mmap_mode="r")
    data = (X, y)
before = vmhwm()
start = time.perf_counter()
history = model.fit(*data, epochs=1, batch_size=ROWS, optimizer="adam", learning_rate=1e-3, verbose=0)
seconds = time.perf_counter() - start
print(json.dumps({"kind": kind, "gigabytes": n_batches * ROWS * FEATURES * 8 / 1e9,
                  "peak_mb": vmhwm(), "before_mb": before, "seconds": seconds,
                  "loss": history.history["loss"][-1]}))
"""


def _write_memmap(path: str, gigabytes: float) -> None:
    import numpy as np

    n_batches = max(1, int(gigabytes * 1e9 // (ROWS * FEATURES * 8)))
    W = np.random.default_rng(0).normal(size=FEATURES)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64,
                                  shape=(n_batches * ROWS, FEATURES))
    y = np.lib.format.open_memmap(path + ".y.npy", mode="w+", dtype=np.float64,
                                  shape=(n_batches * ROWS,))
    for i in range(n_batches):
        b = np.random.default_rng(i).random((ROWS, FEATURES))
        X[i * ROWS : (i + 1) * ROWS] = b
        y[i * ROWS : (i + 1) * ROWS] = b @ W > W.sum() / 2
    X.flush()
    y.flush()
    del X, y


def peak(kind: str, gigabytes: float, python: str = sys.executable) -> dict:
    """Run one epoch of ``kind`` on ``gigabytes`` of data in a fresh process; return its report."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npy")
        if kind == "memmap":
            _write_memmap(path, gigabytes)
            # The file's pages are in the page cache, not this child's memory: fair either way.
        # One BLAS thread, as in tests/test_memory.py: on this shared machine OpenBLAS's
        # second thread only spins. The memory is the same either way.
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        out = subprocess.run([python, "-c", CHILD, kind, str(gigabytes), path, str(ROWS),
                              str(FEATURES)],
                             capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["source", "dask"],
                        choices=["source", "dask", "memmap"])
    parser.add_argument("--sizes", nargs="+", type=float, default=[0.5, 1, 2, 4])
    args = parser.parse_args()
    print("| data | GB streamed | peak RSS (MB) | RSS before fit (MB) | epoch time (s) |")
    print("|---|---:|---:|---:|---:|")
    for kind in args.kinds:
        for size in args.sizes:
            r = peak(kind, size)
            print(f"| {kind} | {r['gigabytes']:.2f} | {r['peak_mb']} | {r['before_mb']} | "
                  f"{r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
