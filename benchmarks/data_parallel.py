"""Time per training step, one process against data-parallel on 1 and 2 Dask workers.

A 128-256-256-1 ReLU/sigmoid network (99,073 parameters, float64: 0.8 MB of weights) on
65,536 x 128 rows (64 MiB) held by the workers in 8 chunks. For each batch size it reports the
median over ``--repeats`` steps (after two warm-up steps) of

- ``one process``: the training step (forward, loss, backward) on the batch as arrays here;
- ``cluster, k workers``: ``fit(..., client=)``'s step on a ``LocalCluster`` of k worker
  processes (one thread each): the weights sent to every worker holding rows of the batch,
  their forward and backward, the partial gradients sent back and added;
- ``round trip``: the same calls with no computing (each actor returns the weights it was
  sent): what communication costs per step, whatever the batch.

The optimizer's update (the same in all three) is left out. Run small on purpose:

    python benchmarks/data_parallel.py                # batch sizes 512, 4096, 32768
    python benchmarks/data_parallel.py --repeats 20 --batch-sizes 256 65536
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

# One BLAS thread per process: the comparison is of processes, each on one core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from neuralnet import NeuralNet  # noqa: E402
from neuralnet.data_parallel import _Cluster  # noqa: E402
from neuralnet.sources import AdaptiveStep  # noqa: E402

N, D, CHUNKS = 65_536, 128, 8


def _model() -> NeuralNet:
    return NeuralNet(((D, 256), (256, 256), (256, 1)), activations=["relu", "relu", "sigmoid"],
                     dtype="float64", seed=0)


def _median_ms(fn, repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[512, 4096, 32768])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = (X[:, :8].sum(axis=1) > 0).astype(np.float64)
    order = rng.permutation(N)  # shuffled batches: rows from every chunk

    results: dict[tuple, float] = {}
    model = _model()
    step = AdaptiveStep(model)
    Xc, yc = model.check_X(X), model.check_y(y, N)
    for b in args.batch_sizes:
        idx = order[:b]
        xb, yb = Xc[idx], yc[idx]
        results[("local", b)] = _median_ms(lambda xb=xb, yb=yb: step(xb, yb, None), args.repeats)

    for workers in (1, 2):
        with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            model = _model()
            chunked = (da.from_array(X, chunks=(N // CHUNKS, D)), da.from_array(y, N // CHUNKS))
            c = _Cluster(model, client, *chunked)
            try:
                for b in args.batch_sizes:
                    rows = order[:b]
                    results[(workers, b)] = _median_ms(lambda c=c, rows=rows: c.gradient(rows),
                                                       args.repeats)
                results[(workers, "echo")] = _median_ms(
                    lambda c=c, w=model.flat_weights: [f.result() for f in
                                                        [a.echo(w) for a in c.actors]],
                    args.repeats)
            finally:
                c.close()

    n_params = _model().n_params
    print(f"{D}-256-256-1, {n_params:,} parameters (float64, {8 * n_params / 1e6:.1f} MB); "
          f"{N:,} rows in {CHUNKS} chunks; median of {args.repeats} steps (ms)")
    print("| batch | one process (ms) | cluster, 1 worker (ms) | cluster, 2 workers (ms) "
          "| 2 workers ÷ one process |")
    print("|---:|---:|---:|---:|---:|")
    for b in args.batch_sizes:
        local, one, two = results[("local", b)], results[(1, b)], results[(2, b)]
        print(f"| {b:,} | {local:.2f} | {one:.2f} | {two:.2f} | {two / local:.2f} |")
    print(f"| round trip, no compute | – | {results[(1, 'echo')]:.2f} | {results[(2, 'echo')]:.2f} | – |")


if __name__ == "__main__":
    main()
