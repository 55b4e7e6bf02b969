"""What a hostile model file costs to refuse: memory and time of ``neuralnet.load`` against ``np.load``.

    python benchmarks/hostile_files.py

- a zip bomb: a saved model with one more member, 64 MiB of zeros deflated to about 65 kB,
  which the header does not list; ``neuralnet.load`` refuses it unread, ``np.load`` (the
  reader before issue 14) inflates it;
- a header nested 100,000 levels deep: refused by a scan, where ``json.loads`` raises
  ``RecursionError``;
- an honest model file, for comparison.

Memory is the peak traced by ``tracemalloc`` during the call (NumPy's buffers included).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np

import neuralnet
from neuralnet import NeuralNet

BOMB = 64 * 2**20


def _peak(call) -> tuple[float, int, str]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        call()
        outcome = "loaded"
    except Exception as exc:  # the outcome is reported, whatever it is
        outcome = type(exc).__name__
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, outcome


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="neuralnet-hostile-"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    model = NeuralNet(((2, 16), (16, 1)), activations=["tanh", "sigmoid"], seed=0)
    model.fit(X, (X[:, 0] > 0).astype(int), epochs=2, optimizer="adam", verbose=0)
    honest = directory / "model.npz"
    model.save(honest)

    bomb = directory / "bomb.npz"
    bomb.write_bytes(honest.read_bytes())
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("bomb.npy", "w") as member:
            chunk = bytes(2**20)
            for _ in range(BOMB // len(chunk)):
                member.write(chunk)

    with zipfile.ZipFile(honest) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    header = json.loads(np.lib.format.read_array(io.BytesIO(members["header.npy"])).tobytes())
    text = json.dumps(header)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    members["header.npy"] = _npy(np.frombuffer(text.encode(), dtype=np.uint8))
    deep = directory / "deep.npz"
    with zipfile.ZipFile(deep, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    def np_load_all(path):
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                archive[name]

    def json_parse_header(path):
        with np.load(path, allow_pickle=False) as archive:
            json.loads(archive["header"].tobytes())

    neuralnet.load(honest)  # the first load imports the rest of the library: not timed
    print(f"{'file':<42} {'reader':<22} {'time':>9} {'peak memory':>13}  outcome")
    rows = [
        (f"honest ({honest.stat().st_size:,} bytes)", honest),
        (f"zip bomb ({bomb.stat().st_size:,} bytes, {BOMB // 2**20} MiB inside)", bomb),
        (f"header nested 100,000 deep ({deep.stat().st_size:,} bytes)", deep),
    ]
    for label, path in rows:
        readers = [("neuralnet.load", neuralnet.load), ("np.load, every member", np_load_all)]
        if path is deep:
            readers.append(("np.load + json.loads", json_parse_header))
        for name, reader in readers:
            elapsed, peak, outcome = _peak(lambda r=reader, p=path: r(p))
            print(f"{label:<42} {name:<22} {elapsed * 1e3:7.1f} ms {peak / 2**20:9.2f} MiB  "
                  f"{outcome}")
    print("crc32 of the bomb's zeros:", hex(zlib.crc32(bytes(BOMB))))


if __name__ == "__main__":
    main()
