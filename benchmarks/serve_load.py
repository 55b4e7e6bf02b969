"""Load test of ``neuralnet serve`` on 127.0.0.1, beside onnxruntime's in-process latency.

    python benchmarks/serve_load.py                           # 1,000 requests per batch size, 4 threads
    python benchmarks/serve_load.py --requests 200 --threads 2 --features 30 --hidden 32,32 --outputs 1
    python benchmarks/serve_load.py --blas-threads 1          # the server's BLAS on one thread

It builds a seeded network (by default the mnist shapes of ``run.py``: 784-256-128-10,
ReLU/softmax), saves it, and starts ``python -m neuralnet serve MODEL --port 0`` as a separate
process. For batches of 1 and of 64 rows it then sends a fixed number of ``POST /predict``
requests from N client threads, each on its own keep-alive connection, the JSON bodies
prepared beforehand (values rounded to 3 decimals, as pixel intensities are), after a few
warm-up requests. Latency is measured at the client, from sending a request to having read
its whole response; requests/s is the number of requests over the wall time they took. The
clients run on the same 2 cores as the server, so the figures include their cost too.

Then, in this process and from one calling thread, the same model's latency through onnxruntime
(``InferenceSession.run`` on the graph ``NeuralNet.to_onnx`` writes, default session options)
and through ``NeuralNet.predict``, for the same two batch sizes. The server is stopped with
SIGTERM at the end and must exit with status 0. Every loop is bounded: the run stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from neuralnet import NeuralNet  # noqa: E402

BATCHES = (1, 64)


def build_model(features: int, hidden: tuple[int, ...], outputs: int, seed: int) -> NeuralNet:
    sizes = (features, *hidden, outputs)
    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    last, loss = ("softmax", "categorical_crossentropy") if outputs > 1 else (
        "sigmoid", "binary_crossentropy")
    return NeuralNet(shapes, activations=["relu"] * (len(shapes) - 1) + [last], loss=loss,
                     seed=seed)


def start_server(model_path: Path, blas_threads: int | None) -> tuple[subprocess.Popen, int]:
    """Start ``neuralnet serve`` on a free port of 127.0.0.1; return the process and the port."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralnet", "serve", str(model_path), "--host", "127.0.0.1",
         "--port", "0", "--log-level", "warning", "--max-body-bytes", str(8 << 20),
         *(["--blas-threads", str(blas_threads)] if blas_threads else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=120)
    match = re.search(r"http://127\.0\.0\.1:(\d+) ", line[0]) if line else None
    if match is None:
        proc.kill()
        raise SystemExit(f"the server did not start: {line} {proc.stderr.read()}")
    return proc, int(match.group(1))


def post(connection: http.client.HTTPConnection, body: bytes) -> bytes:
    connection.request("POST", "/predict", body=body,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}: {data[:200]!r}")
    return data


def load(port: int, body: bytes, requests: int, threads: int) -> tuple[float, np.ndarray]:
    """Send ``requests`` POSTs of ``body`` from ``threads`` threads; return (wall s, latencies s)."""
    per_thread = [requests // threads + (i < requests % threads) for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for _ in range(3):  # warm-up: connection, the server's caches for this batch size
                post(connection, body)
            barrier.wait()
            for _ in range(per_thread[i]):
                start = time.perf_counter()
                post(connection, body)
                latencies[i].append(time.perf_counter() - start)
        except BaseException as exc:  # noqa: BLE001 - reported below, the run still stops
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    for w in workers:
        w.join(timeout=600)
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"a client failed: {errors[0]!r}")
    return wall, np.concatenate([np.asarray(t) for t in latencies])


def in_process(fn, repeats: int) -> np.ndarray:
    for _ in range(20):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per batch size (default: 1000)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default: 4)")
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--hidden", default="256,128", help="hidden sizes (default: 256,128)")
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="the server's --blas-threads (default: not given)")
    args = parser.parse_args()
    import onnxruntime as ort

    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    model = build_model(args.features, hidden, args.outputs, args.seed)
    rng = np.random.default_rng(args.seed)
    data = {n: np.round(rng.random((n, args.features)), 3) for n in BATCHES}
    sizes = "-".join(map(str, (args.features, *hidden, args.outputs)))
    print(f"model {sizes} ({model.n_params:,} parameters); {args.requests:,} requests per batch "
          f"size from {args.threads} client threads to neuralnet serve on 127.0.0.1 "
          f"(one uvicorn process{f', --blas-threads {args.blas_threads}' if args.blas_threads else ''})")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        model.save(path)
        proto = model.to_onnx(Path(tmp) / "model.onnx")
        proc, port = start_server(path, args.blas_threads)
        try:
            print(f"{'batch':>5} {'body KB':>8} {'requests/s':>11} {'rows/s':>9} "
                  f"{'p50 ms':>8} {'p99 ms':>8}")
            for n in BATCHES:
                body = json.dumps({"instances": data[n].tolist()}).encode()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                answer = json.loads(post(connection, body))
                connection.close()
                # Equal bit for bit with the same BLAS threads; --blas-threads 1 may change the
                # last bits of a large product.
                np.testing.assert_allclose(np.array(answer["predictions"], dtype=np.float32),
                                           model.predict(data[n]), rtol=1e-5, atol=1e-6)
                wall, lat = load(port, body, args.requests, args.threads)
                rate = len(lat) / wall
                print(f"{n:>5} {len(body) / 1024:>8.1f} {rate:>11,.0f} {rate * n:>9,.0f} "
                      f"{np.percentile(lat, 50) * 1e3:>8.2f} {np.percentile(lat, 99) * 1e3:>8.2f}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "killed after 30 s"
            errors = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
        print(f"server stopped by SIGTERM: exit status {code}")
        if errors.strip():
            print(errors)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    print("in this process, one calling thread, the same model (p50 / p99 µs):")
    for n in BATCHES:
        X32 = data[n].astype(np.float32)
        np.testing.assert_allclose(session.run(None, {"X": X32})[0], model.predict(X32),
                                   rtol=1e-5, atol=1e-6)
        ort_times = in_process(lambda X32=X32: session.run(None, {"X": X32}), 2000)
        nn_times = in_process(lambda X32=X32: model.predict(X32), 2000)
        print(f"  batch {n:>2}: onnxruntime {np.percentile(ort_times, 50) * 1e6:8.1f} / "
              f"{np.percentile(ort_times, 99) * 1e6:8.1f}    neuralnet.predict "
              f"{np.percentile(nn_times, 50) * 1e6:8.1f} / {np.percentile(nn_times, 99) * 1e6:8.1f}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
