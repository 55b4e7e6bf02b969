"""Where the time goes: the pieces behind the mnist and predict rows of ``run.py``'s table.

    python benchmarks/parts.py

Each line is the best of 30 timings (the libraries interleaved), so that this shared machine's
slow seconds drop out; the last line shows how much those seconds vary.

- the matrix products of one mnist batch (128 x 784 by 784 x 256, forward and weight gradient)
  in NumPy (OpenBLAS) and PyTorch (MKL);
- a one-sample prediction with the mnist network's shapes, and the parts of it that any
  implementation computes: its three matrix-vector products and the softmax of 10 values;
- one neuralnet Adam step over the mnist network's 235,146 parameters;
- the CPU time OpenBLAS's idle worker thread burns in the 50 ms after a product (it spins
  before it sleeps, which is why Python threads splitting element-wise work gain nothing);
- what splitting the work over the two cores ourselves would cost and gain, with OpenBLAS on
  one thread so that its worker does not spin: the round trip of handing a piece to a second
  Python thread and back, after the helper has been idle for a while; the Adam step and the
  first product each split in halves over two threads;
- the same NumPy loop timed 20 times, a fifth of a second apart.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def best(functions: dict, rounds: int = 30, calls: int = 10) -> dict:
    """Best per-call time in µs of each function, the functions taking turns round by round."""
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, f in functions.items():
            start = time.perf_counter()
            for _ in range(calls):
                f()
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: min(t) for name, t in times.items()}


class TwoThreads:
    """The caller and one helper thread, handed work through two locks (the cheapest hand-over
    in Python: one futex each way)."""

    def __init__(self) -> None:
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job = None
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self) -> None:
        while True:
            self.go.acquire()
            self.job()
            self.done.release()

    def both(self, mine, theirs) -> None:
        """Run ``theirs`` on the helper and ``mine`` here; return when both are done."""
        self.job = theirs
        self.go.release()
        mine()
        self.done.acquire()


def busy(microseconds: float) -> None:
    end = time.perf_counter() + microseconds * 1e-6
    while time.perf_counter() < end:
        pass


def main() -> None:
    import torch

    from neuralnet import NeuralNet
    from neuralnet.optimizers import Adam

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.random((128, 784), dtype=np.float32)
    W = rng.random((784, 256), dtype=np.float32) * 0.01
    delta = rng.random((128, 256), dtype=np.float32) * 0.01
    z, dW = np.empty((128, 256), np.float32), np.empty((784, 256), np.float32)
    xt, Wt, dt = torch.from_numpy(x), torch.from_numpy(W.T.copy()), torch.from_numpy(delta)
    products = best({
        "numpy x @ W": lambda: np.matmul(x, W, out=z),
        "torch x @ W": lambda: torch.nn.functional.linear(xt, Wt),
        "numpy x.T @ delta": lambda: np.matmul(x.T, delta, out=dW),
        "torch x.T @ delta": lambda: dt.t().mm(xt),
    })
    print("one mnist batch's largest products, best of 30 (µs):")
    for name, t in products.items():
        print(f"  {name:20s} {t:7.1f}")

    # PyTorch's OpenMP threads and OpenBLAS's worker spin for a while after a product; on 2
    # cores they would take turns with the single-threaded work timed next.
    time.sleep(0.5)
    # One-sample prediction with the mnist network's shapes: the whole call, and the pieces
    # no implementation can skip (its three products, and the output softmax of 10 values).
    net = NeuralNet(((784, 256), (256, 128), (128, 10)), activations=["relu", "relu", "softmax"],
                    loss="categorical_crossentropy", dtype="float32", seed=0)
    sample = rng.random((1, 784), dtype=np.float32)
    products = [(np.ones((1, layer.n_in + 1), np.float32), layer.weights,
                 np.empty((1, layer.n_out), np.float32)) for layer in net.layers]
    logits = products[-1][2]
    softmax = net.layers[-1].activation.forward
    one = best({
        "predict": lambda: net.predict(sample),
        "products": lambda: [np.matmul(x, W, out=o) for x, W, o in products],
        "first": lambda: np.matmul(*products[0][:2], out=products[0][2]),
        "softmax": lambda: softmax(logits, out=logits),
    }, calls=100)
    print(f"one-sample predict (µs): {one['predict']:.1f}; its three [x, 1] @ W products "
          f"{one['products']:.1f} (the 785 x 256 one {one['first']:.1f}); a softmax of 10 values "
          f"{one['softmax']:.1f}")

    n = 785 * 256 + 257 * 128 + 129 * 10
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32) * 1e-2
    adam = Adam()
    adam.step([p], [g])
    step = best({"adam": lambda: adam.step([p], [g])})["adam"]
    print(f"neuralnet Adam step, {n:,} parameters (µs): {step:.1f}")

    np.matmul(x, W, out=z)
    cpu = time.process_time()
    time.sleep(0.05)
    print(f"CPU seconds used while sleeping 0.05 s right after a product: "
          f"{time.process_time() - cpu:.3f} (OpenBLAS's worker spinning)")

    from threadpoolctl import threadpool_limits

    pool = TwoThreads()
    with threadpool_limits(1, user_api="blas"):
        print("with OpenBLAS on one thread and the work split over two Python threads:")
        for idle in (0, 200, 1000):
            trips = []
            for _ in range(300):
                busy(idle)
                start = time.perf_counter()
                pool.both(lambda: None, lambda: None)
                trips.append((time.perf_counter() - start) * 1e6)
            trips.sort()
            print(f"  hand-over round trip after {idle:4d} µs idle (µs): median {trips[150]:.1f}, "
                  f"90th percentile {trips[270]:.1f}")
        half = n // 2
        adam_lo, adam_hi = Adam(), Adam()
        p_lo, p_hi, g_lo, g_hi = p[:half], p[half:], g[:half], g[half:]
        adam_lo.step([p_lo], [g_lo])
        adam_hi.step([p_hi], [g_hi])
        cols = 128
        split = best({
            "adam, one thread": lambda: adam.step([p], [g]),
            "adam, two threads": lambda: pool.both(lambda: adam_lo.step([p_lo], [g_lo]),
                                                   lambda: adam_hi.step([p_hi], [g_hi])),
            "x @ W, one thread": lambda: np.matmul(x, W, out=z),
            "x @ W, two threads": lambda: pool.both(
                lambda: np.matmul(x, W[:, :cols], out=z[:, :cols]),
                lambda: np.matmul(x, W[:, cols:], out=z[:, cols:])),
        })
        for name, t in split.items():
            print(f"  {name:20s} {t:7.1f}")

    a = rng.random(200_000, dtype=np.float32)
    loop = []
    for _ in range(20):
        start = time.perf_counter()
        for _ in range(200):
            np.multiply(a, 0.5, out=a)
            np.add(a, 0.5, out=a)
        loop.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.2)
    print(f"the same NumPy loop, 20 times: {min(loop):.1f} to {max(loop):.1f} ms")


if __name__ == "__main__":
    main()
