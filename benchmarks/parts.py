"""Where the time goes: the pieces behind the mnist and predict rows of ``run.py``'s table.

    python benchmarks/parts.py

Each line is the best of 30 timings (the libraries interleaved), so that this shared machine's
slow seconds drop out; the last line shows how much those seconds vary.

- the matrix products of one mnist batch (128 x 784 by 784 x 256, forward and weight gradient)
  in NumPy (OpenBLAS) and PyTorch (MKL);
- the 785 x 256 matrix-vector product of a one-sample prediction;
- one neuralnet Adam step over the mnist network's 235,146 parameters;
- the CPU time OpenBLAS's idle worker thread burns in the 50 ms after a product (it spins
  before it sleeps, which is why Python threads splitting element-wise work gain nothing);
- the same NumPy loop timed 20 times, a fifth of a second apart.
"""

from __future__ import annotations

import sys
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


def main() -> None:
    import torch

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

    one = np.ones((1, 785), np.float32)
    W0 = rng.random((785, 256), dtype=np.float32) * 0.01
    out = np.empty((1, 256), np.float32)
    gemv = best({"gemv": lambda: np.matmul(one, W0, out=out)}, calls=100)["gemv"]
    print(f"one-sample [x, 1] @ W, 785 x 256 (µs): {gemv:.1f}")

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
