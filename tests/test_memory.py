"""One epoch on a batch source yielding 2 GB of batches made on the fly stays under 400 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json
import numpy as np
from neuralnet import NeuralNet

ROWS, FEATURES = 8192, 64
N_BATCHES = 2_000_000_000 // (ROWS * FEATURES * 8)   # 2 GB of float64 inputs in all
base = np.random.default_rng(0).random((ROWS, FEATURES))
w = np.random.default_rng(1).normal(size=FEATURES)
labels = (base @ w > 0).astype(np.float64)


class Source:
    # Each batch is a new 4 MiB array, made from its index when asked for.
    def __len__(self):
        return N_BATCHES

    def __getitem__(self, i):
        return base + (i % 5) * 0.01, labels

    def on_epoch_end(self):
        self.ended = True


def vmhwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


source = Source()
model = NeuralNet(((FEATURES, 8), (8, 1)), activations=["relu", "sigmoid"], dtype="float64",
                  seed=0)
history = model.fit(source, epochs=1, optimizer="adam", learning_rate=1e-3, verbose=0,
                    metrics=["accuracy"])
print(json.dumps({"peak_mb": vmhwm(), "batches": N_BATCHES, "ended": source.ended,
                  "streamed_gb": N_BATCHES * ROWS * FEATURES * 8 / 1e9,
                  "loss": history.history["loss"][0], "accuracy": history.history["accuracy"][0]}))
"""


def test_one_epoch_over_2_gb_of_batches_keeps_peak_memory_under_400_mb():
    # One BLAS thread: on a shared machine OpenBLAS's second thread only spins; memory is the
    # same either way.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, timeout=300, env=env)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # Trained on every batch (and made a second pass for the accuracy), one epoch ended.
    assert report["ended"] and report["batches"] == 476 and report["streamed_gb"] >= 1.99
    assert 0 < report["loss"] < 1 and 0 <= report["accuracy"] <= 1
    assert report["peak_mb"] < 400, report
