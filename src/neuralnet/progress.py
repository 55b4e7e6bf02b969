"""Progress display for ``fit``: a tqdm bar on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys
import time

from neuralnet.callbacks import Callback


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class ProgressLogger(Callback):
    """Show training progress: ``verbose=1`` a live bar (tqdm, on a terminal), ``verbose=2`` lines."""

    def __init__(self, epochs: int, verbose: int = 1, stream=None) -> None:
        self.epochs = epochs
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self._bar = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._done = 0
        if self.verbose == 1 and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None  # no progress extra: fall back to lines
            if tqdm is not None:
                self._bar = tqdm(total=self.epochs, unit="epoch", file=self.stream, leave=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._done += 1
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self._bar.update(1)
            return
        elapsed = time.perf_counter() - self._start
        width = len(str(self.epochs))
        print(
            f"Epoch {self._done:>{width}}/{self.epochs} - {elapsed:.1f}s - {_format_logs(logs)}",
            file=self.stream,
            flush=True,
        )

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
