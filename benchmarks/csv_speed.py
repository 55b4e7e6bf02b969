"""``neuralnet train`` on a large numeric CSV against ``pandas.read_csv`` of the same file.

    python benchmarks/csv_speed.py [--rows 500000] [--repeats 3]

Writes a 500,000-row, 21-column numeric CSV (20 features and a real-valued target, 6
significant digits) once, then times two whole commands, each in a fresh process, taking turns
round by round:

- ``neuralnet train --data FILE --target y --epochs 1 --batch-size 1024 --quiet``;
- ``python -c "import pandas; pandas.read_csv(FILE)"``.

Prints each command's median wall time and the ratio of the medians, and the median and range
of each round's own ratio (issue 13's target: at most 2).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 20))
    y = X @ rng.normal(size=20) + 0.1 * rng.normal(size=rows)
    header = ",".join([f"x{j}" for j in range(20)] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.6g", header=header, comments="")


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_csv(path, args.rows)
        size = path.stat().st_size / 1e6
        commands = {
            "neuralnet train": [sys.executable, "-m", "neuralnet", "train", "--data", str(path),
                                "--target", "y", "--epochs", "1", "--batch-size", "1024",
                                "--quiet"],
            "pandas.read_csv": [sys.executable, "-c",
                                f"import pandas; pandas.read_csv({str(path)!r})"],
        }
        times = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                times[name].append(timed(argv, env))
    print(f"{args.rows:,} rows x 21 columns, {size:.0f} MB; whole commands, median of "
          f"{args.repeats} (each a fresh process, taking turns)")
    for name, values in times.items():
        print(f"  {name:<16} {statistics.median(values):6.2f} s   "
              f"[{', '.join(f'{v:.2f}' for v in values)}]")
    ratio = statistics.median(times["neuralnet train"]) / statistics.median(times["pandas.read_csv"])
    # Each round's own ratio too: this shared machine's load drifts from one round to the next.
    paired = sorted(a / b for a, b in zip(times["neuralnet train"], times["pandas.read_csv"],
                                          strict=True))
    print(f"  ratio            {ratio:6.2f}   (target: at most 2); per round: median "
          f"{statistics.median(paired):.2f} [{paired[0]:.2f}, {paired[-1]:.2f}]")


if __name__ == "__main__":
    main()
