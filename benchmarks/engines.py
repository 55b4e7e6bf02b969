"""The engines side by side on mnist's network, each in a fresh process; and a 1,024-row predict's parts.

    python benchmarks/engines.py              # every mode below, 3 fits a process
    python benchmarks/engines.py --modes numpy numba
    python benchmarks/engines.py --predict    # where a 1,024-row prediction's time goes

The data are 60,000 rows of uniform noise with random labels (784-256-128-10, ReLU/softmax,
Adam 1e-3, batch 128, 2 epochs): most ReLUs die, which is what makes Adam's first moments
subnormal (``optimizers._FLUSH_EVERY``). Modes:

- ``numpy``: the default engine, NumPy only.
- ``numpy-noflush``: the same without setting subnormal moments to 0 (what it was before).
- ``numba``: ``NEURALNET_ENGINE=numba`` (neuralnet._kernels, one core).
- ``numba-prange-omp`` / ``numba-prange-workqueue``: ``numba`` with Adam replaced by a
  ``prange`` loop on both cores under numba's OpenMP or workqueue threading layer: the
  threaded kernels this engine does not use, and why.

Each line gives the 3 fits' seconds (the first includes loading numba), the subnormal count
of the first moments after the last fit, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("numpy", "numpy-noflush", "numba", "numba-prange-omp", "numba-prange-workqueue")


def _prange_adam():
    """Adam._update with a two-core ``prange`` kernel (compared here, not shipped)."""
    import math

    import numpy as np
    from numba import njit, prange

    from neuralnet import optimizers

    @njit(parallel=True, error_model="numpy")
    def adam(p, g, m_sum, v_sum, b1, b2, eps, step, tiny):  # pragma: no cover - compiled
        for i in prange(p.size):  # as _kernels.adam, subnormal moments set to 0 too
            m = b1 * m_sum[i] + g[i]
            if abs(m) < tiny:
                m -= m
            v = b2 * v_sum[i] + g[i] * g[i]
            if v < tiny:
                v -= v
            m_sum[i] = m
            v_sum[i] = v
            p[i] -= (m / (math.sqrt(v) + eps)) * step

    def update(self, p, g, state):
        b1, b2, t = self.beta_1, self.beta_2, state["step"]
        if "m_sum" not in state:
            state["m_sum"], state["v_sum"] = np.zeros_like(p), np.zeros_like(p)
        root = math.sqrt((1.0 - b2**t) / (1.0 - b2))
        kind = p.dtype.type
        adam(p, g, state["m_sum"], state["v_sum"], kind(b1), kind(b2), kind(self.epsilon * root),
             kind(self.learning_rate * (1.0 - b1) * root / (1.0 - b1**t)), np.finfo(p.dtype).tiny)

    optimizers.Adam._update = update


def child(mode: str) -> None:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")  # the dead-ReLU warnings of noise data
    from neuralnet import NeuralNet, optimizers

    if mode == "numpy-noflush":
        optimizers._FLUSH_EVERY = 2**62
    if mode.startswith("numba-prange"):
        _prange_adam()
    rng = np.random.default_rng(0)
    X = rng.random((60_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60_000)
    times = []
    for _ in range(3):
        net = NeuralNet(((784, 256), (256, 128), (128, 10)),
                        activations=["relu", "relu", "softmax"], seed=0)
        start = time.perf_counter()
        net.fit(X, y, epochs=2, batch_size=128, optimizer="adam", learning_rate=1e-3, verbose=0)
        times.append(time.perf_counter() - start)
    m = net.optimizer.state[id(net.flat_weights)]["m_sum"]
    subnormal = int(np.sum((m != 0) & (np.abs(m) < np.finfo(m.dtype).tiny)))
    peak = int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) // 1024
    print(json.dumps({"times": times, "subnormal": subnormal, "n": int(m.size), "peak_mb": peak}))


def predict_parts() -> None:
    import numpy as np
    import torch

    from neuralnet import NeuralNet

    torch.set_num_threads(2)

    def median_ms(f, k=30):
        for _ in range(5):
            f()
        runs = []
        for _ in range(k):
            start = time.perf_counter()
            f()
            runs.append(time.perf_counter() - start)
        return sorted(runs)[len(runs) // 2] * 1e3

    net = NeuralNet(((784, 256), (256, 128), (128, 10)), activations=["relu", "relu", "softmax"],
                    seed=0)
    X = np.random.default_rng(0).random((1024, 784), dtype=np.float32)
    W = net.layers[0].weights[:-1]
    z = np.empty((1024, 256), np.float32)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10), torch.nn.Softmax(dim=1))
    Xt = torch.from_numpy(X)

    def torch_predict():
        with torch.inference_mode():
            return model(Xt)

    def torch_first():
        with torch.inference_mode():
            return torch.nn.functional.linear(Xt, model[0].weight, model[0].bias)

    # The three matrix products alone, each layer's input as the network computes it: what
    # any implementation must pay, against the whole forward of each library.
    inputs = [X]
    for layer in net.layers[:-1]:
        inputs.append(np.maximum(inputs[-1] @ layer.weights[:-1], 0))
    products = [(x, layer.weights[:-1]) for x, layer in zip(inputs, net.layers, strict=True)]
    torch_products = [(torch.from_numpy(x), lin.weight) for x, lin in
                      zip(inputs, (model[0], model[2], model[4]), strict=True)]

    def numpy_products():
        for x, w in products:
            np.matmul(x, w)

    def torch_mms():
        with torch.inference_mode():
            for x, w in torch_products:
                torch.mm(x, w.t())

    print("1,024-row predict, median of 30 (ms), 3 rounds:")
    rows = {"neuralnet predict": lambda: net.predict(X), "torch forward": torch_predict,
            "numpy 1024x784 @ 784x256": lambda: np.matmul(X, W, out=z),
            "torch linear, same shapes": torch_first,
            "numpy, the 3 products alone": numpy_products,
            "torch, the 3 products alone": torch_mms}
    times = {name: [] for name in rows}
    for _ in range(3):  # the rows take turns, round by round
        for name, f in rows.items():
            times[name].append(median_ms(f))
    for name, t in times.items():
        print(f"  {name:28s} " + "  ".join(f"{v:.2f}" for v in t))
    floor = [n / t for n, t in zip(times["numpy, the 3 products alone"], times["torch forward"],
                                   strict=True)]
    print("  numpy's 3 products / torch's whole forward: "
          + "  ".join(f"{r:.2f}" for r in floor))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--predict", action="store_true", help="time a 1,024-row predict's parts")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.predict:
        predict_parts()
        return 0
    for mode in args.modes:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NEURALNET_ENGINE":
               "numpy" if mode.startswith("numpy") else "numba"}
        if mode.startswith("numba-prange"):
            env["NUMBA_THREADING_LAYER"] = mode.rsplit("-", 1)[1]
        out = subprocess.run([sys.executable, __file__, "--child", mode], env=env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        times = " ".join(f"{t:.2f}" for t in r["times"])
        print(f"{mode:24s} fits {times} s; subnormal first moments {r['subnormal']:,} of "
              f"{r['n']:,}; peak {r['peak_mb']} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
