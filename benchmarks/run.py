"""Benchmark neuralnet against PyTorch (CPU, eager) and scikit-learn's MLPClassifier.

    python benchmarks/run.py                       # every workload, 5 rounds
    python benchmarks/run.py --quick               # 2 rounds (a smoke run)
    python benchmarks/run.py --repeats 7 --workloads mnist tiny
    python benchmarks/run.py --quick --workloads mnist-bn   # BatchNormalization against BatchNorm1d

Each (library, workload) run happens in its own fresh Python process; the libraries take turns
round by round (the order rotates every round), so a slow minute on this shared machine hurts
all of them alike, and the ratio to PyTorch is taken *within* a round before the median.
A child trains once, as a training script does, first-call costs included (PyTorch's are
large: its second fit in a process runs up to 1.6x faster). ``--fits-per-process N`` has each
child train N times from the same start and report its fastest fit instead: the steady state,
and steadier figures on this machine, whose speed swings by up to 2x from one second to the next
(other tenants' load). ``predict`` reports the median of 30 groups of 100 calls after 50 warm-up
calls. Every library is measured the same way.

Fair by construction: the data are generated once and saved as float32 ``.npy`` files that
every child loads; the architecture, batch size, optimizer and its hyper-parameters are the
same; neuralnet and PyTorch start from the same initial weights (scikit-learn cannot be
given initial weights, so it uses its own Glorot initialisation). PyTorch runs a plain eager
loop with ``torch.set_num_threads(2)`` (``--threads``) and ``torch.optim`` defaults; scikit-learn runs with
``alpha=0`` (no L2 penalty) so its objective is the same loss.

Memory: ``peak MB`` is the child's peak resident set, ``VmHWM`` (what ``ru_maxrss`` measures,
read from /proc so the parent's memory does not leak in; interpreter, libraries and data included);
``growth MB`` is that peak minus the resident set just before training starts (what training
itself adds on top of the loaded data and the imported library).

OpenBLAS: some machines here export ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` for old builds;
they slow a current NumPy, so every child (all libraries alike) runs with both unset, and the
kernel each library then uses is printed (threadpoolctl).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("neuralnet", "neuralnet-numba", "torch", "sklearn")
# neuralnet-numba: neuralnet with NEURALNET_ENGINE=numba (the optional compiled kernels, loaded
# during the first fit, so a first fit pays for them); "neuralnet" runs the default engine.
ENGINE = {"neuralnet": None, "neuralnet-numba": "numba"}
WORKLOADS = ("mnist", "mnist-bn", "tiny", "digits", "predict", "import")
# scikit-learn's MLPClassifier has no batch normalisation: it sits mnist-bn out.
NOT_FOR = {"sklearn": {"mnist-bn"}}

# The workloads, exactly as issue 6 states them.
MNIST = dict(n_train=60_000, n_test=10_000, n_features=784, hidden=(256, 128), n_classes=10,
             learning_rate=1e-3, batch_size=128, epochs=2)
TINY = dict(n_train=1000, noise=0.2, hidden=3, learning_rate=1.0, steps=1000)
DIGITS = dict(hidden=64, learning_rate=1e-3, batch_size=32, epochs=50)
N_DIGITS_TRAIN = 1347  # load_digits has 1,797 samples; 75% train (train_test_split, stratified)
PREDICT = dict(one_sample_calls=3000, batch=1024, batch_calls=30)
# mnist-bn: mnist's network with BatchNormalization after each hidden layer (after its ReLU,
# as --batch-norm builds it; PyTorch: Linear, ReLU, BatchNorm1d), Keras's momentum 0.99 and
# epsilon 1e-3 (PyTorch's momentum=0.01, eps=1e-3). Same data, initial weights and Adam.
BN = dict(momentum=0.99, epsilon=1e-3)
# How many times each child trains (``--fits-per-process``): it reports its first fit (what a
# script pays) and its fastest (the steady state).
FITS_PER_PROCESS = 3
# BLAS and intra-op threads of every library in the children (``--threads``).
THREADS = 2


def child_env() -> dict:
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        env[name] = str(THREADS)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env


# ----------------------------------------------------------------------------- data (parent)
def he_weights(sizes, rng):
    """He-normal input rows and a zero bias row, one absorbed (n_in + 1, n_out) matrix a layer."""
    import numpy as np

    out = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        w = np.zeros((n_in + 1, n_out), dtype=np.float32)
        w[:-1] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        out.append(w)
    return out


def prepare_data(directory: Path, workloads) -> None:
    """Generate every data set once and save it (float32) for the children to load."""
    import numpy as np
    from sklearn.datasets import load_digits, make_classification, make_moons
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    if {"mnist", "mnist-bn", "predict"} & set(workloads):
        n = MNIST["n_train"] + MNIST["n_test"]
        X, y = make_classification(
            n_samples=n, n_features=MNIST["n_features"], n_informative=100, n_redundant=50,
            n_classes=MNIST["n_classes"], n_clusters_per_class=2, class_sep=2.0, random_state=0,
        )
        X = X.astype(np.float32)
        X /= np.abs(X).max()  # keep inputs in a unit range, like MNIST's scaled pixels
        k = MNIST["n_train"]
        save(directory, "mnist", X[:k], y[:k], X[k:], y[k:])
        sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
        np.savez(directory / "mnist_init.npz", *he_weights(sizes, rng))
    if "tiny" in workloads:
        X, y = make_moons(TINY["n_train"], noise=TINY["noise"], random_state=0)
        Xt, yt = make_moons(TINY["n_train"], noise=TINY["noise"], random_state=1)
        save(directory, "tiny", X, y, Xt, yt)
        np.savez(directory / "tiny_init.npz", *he_weights((2, TINY["hidden"], 1), rng))
    if "digits" in workloads:
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16.0, y, test_size=0.25, random_state=0, stratify=y
        )
        save(directory, "digits", X_train, y_train, X_test, y_test)
        np.savez(directory / "digits_init.npz", *he_weights((64, DIGITS["hidden"], 10), rng))


def save(directory, name, X, y, X_test, y_test) -> None:
    import numpy as np

    np.save(directory / f"{name}_X.npy", np.ascontiguousarray(X, dtype=np.float32))
    np.save(directory / f"{name}_y.npy", np.asarray(y, dtype=np.int64))
    np.save(directory / f"{name}_Xtest.npy", np.ascontiguousarray(X_test, dtype=np.float32))
    np.save(directory / f"{name}_ytest.npy", np.asarray(y_test, dtype=np.int64))


def load(directory, name):
    import numpy as np

    return tuple(
        np.load(directory / f"{name}_{part}.npy") for part in ("X", "y", "Xtest", "ytest")
    )


def load_weights(path):
    import numpy as np

    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


# -------------------------------------------------------------------------- children: helpers
def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``, the high-water mark ``ru_maxrss`` reports).

    Read from /proc rather than ``getrusage``: Linux carries ``ru_maxrss`` over from the forking
    parent across ``exec``, whereas ``VmHWM`` belongs to the child's own address space.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("VmHWM not found in /proc/self/status")


def blas_kernels() -> list[str]:
    from threadpoolctl import threadpool_info

    return [
        f"{i['prefix']} {i.get('version')} {i.get('architecture', '')} x{i['num_threads']}".strip()
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]


# ------------------------------------------------------------------------- children: neuralnet
def nn_model(sizes, activations, loss, init):
    from neuralnet import NeuralNet

    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    net = NeuralNet(shapes, activations=activations, loss=loss, seed=0)
    net.set_weights(init)
    return net


def nn_bn_model(init):
    """784-256-128-10 with BatchNormalization after each hidden layer, the given dense weights."""
    from neuralnet import BatchNormalization, FullyConnectedLayer, NeuralNet

    sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
    layers = []
    for i in range(len(init)):
        last = i == len(init) - 1
        layers.append(FullyConnectedLayer(sizes[i], sizes[i + 1], "softmax" if last else "relu"))
        if not last:
            layers.append(BatchNormalization(**BN))
    net = NeuralNet(layers, loss="categorical_crossentropy", seed=0)
    for layer, w in zip(net.layers.dense, init, strict=True):
        layer.weights = w
    return net


def nn_train(workload, d):
    import numpy as np

    if workload == "mnist-bn":
        X, y, Xt, yt = load(d, "mnist")
        init = load_weights(d / "mnist_init.npz")
        fit = dict(epochs=MNIST["epochs"], batch_size=MNIST["batch_size"], optimizer="adam",
                   learning_rate=MNIST["learning_rate"])

        def train_bn():
            net = nn_bn_model(init)
            start = time.perf_counter()
            net.fit(X, y, verbose=0, **fit)
            return time.perf_counter() - start, net

        result, net = best_of(workload, train_bn)
        result["accuracy"] = float(np.mean(net.predict_classes(Xt) == yt))
        return result
    if workload == "mnist":
        X, y, Xt, yt = load(d, "mnist")
        sizes, acts, loss = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"]), \
            ["relu", "relu", "softmax"], "categorical_crossentropy"
        fit = dict(epochs=MNIST["epochs"], batch_size=MNIST["batch_size"], optimizer="adam",
                   learning_rate=MNIST["learning_rate"])
    elif workload == "digits":
        X, y, Xt, yt = load(d, "digits")
        sizes, acts, loss = (64, DIGITS["hidden"], 10), ["relu", "softmax"], "categorical_crossentropy"
        fit = dict(epochs=DIGITS["epochs"], batch_size=DIGITS["batch_size"], optimizer="adam",
                   learning_rate=DIGITS["learning_rate"])
    else:  # tiny: full-batch gradient descent, with fit's default shuffle=True (a full batch's
        # gradient does not depend on the order, and fit does not gather it)
        X, y, Xt, yt = load(d, "tiny")
        sizes, acts, loss = (2, TINY["hidden"], 1), "sigmoid", "binary_crossentropy"
        fit = dict(epochs=TINY["steps"], batch_size=len(X), optimizer="sgd",
                   learning_rate=TINY["learning_rate"])
    init = load_weights(d / f"{workload}_init.npz")

    def train_once():
        net = nn_model(sizes, acts, loss, init)
        start = time.perf_counter()
        net.fit(X, y, verbose=0, **fit)
        return time.perf_counter() - start, net

    result, net = best_of(workload, train_once)
    result["accuracy"] = float(np.mean(net.predict_classes(Xt) == yt))
    if workload == "mnist":
        np.savez(d / "mnist_trained.npz", *net.get_weights())
    return result


def best_of(workload, train_once) -> tuple[dict, object]:
    """Run ``train_once() -> (seconds, model)`` FITS_PER_PROCESS times; the fastest, and all."""
    base = rss_now_mb()
    times, model = [], None
    for _ in range(FITS_PER_PROCESS):
        model = None  # let the last run's model go first: peak memory is that of one run
        gc.collect()
        seconds, model = train_once()
        times.append(seconds)
    return dict(seconds=min(times), first_seconds=times[0], all_seconds=times, base_mb=base), model


def nn_predict(d):
    X, y, Xt, yt = load(d, "mnist")
    sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
    net = nn_model(sizes, ["relu", "relu", "softmax"], "categorical_crossentropy",
                   trained_weights(d))
    return time_predict(net.predict, Xt[:1], Xt[: PREDICT["batch"]])


def trained_weights(d):
    path = d / "mnist_trained.npz"
    return load_weights(path if path.exists() else d / "mnist_init.npz")


def time_predict(predict, one, batch) -> dict:
    """Median per-call times: one sample (latency, 30 groups of 100 calls) and a 1,024-row
    batch (throughput, 30 calls); the fastest group and call too."""
    for _ in range(50):
        predict(one)
    per_call = []
    for _ in range(PREDICT["one_sample_calls"] // 100):
        start = time.perf_counter()
        for _ in range(100):
            predict(one)
        per_call.append((time.perf_counter() - start) / 100)
    predict(batch)
    per_batch = []
    for _ in range(PREDICT["batch_calls"]):
        start = time.perf_counter()
        predict(batch)
        per_batch.append(time.perf_counter() - start)
    return dict(seconds=statistics.median(per_call), batch_seconds=statistics.median(per_batch),
                best_seconds=min(per_call), best_batch_seconds=min(per_batch))


# ----------------------------------------------------------------------------- children: torch
def torch_model(sizes, activations, init, batch_norm=False):
    import torch

    layers = []
    for i, (w, act) in enumerate(zip(init, activations, strict=True)):
        linear = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w[:-1].T.copy()))
            linear.bias.copy_(torch.from_numpy(w[-1].copy()))
        layers.append(linear)
        if act == "relu":
            layers.append(torch.nn.ReLU())
        elif act == "sigmoid":
            layers.append(torch.nn.Sigmoid())
        if batch_norm and i < len(init) - 1:
            layers.append(torch.nn.BatchNorm1d(sizes[i + 1], momentum=1 - BN["momentum"],
                                               eps=BN["epsilon"]))
    return torch.nn.Sequential(*layers)


def torch_train(workload, d):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(THREADS)
    if workload == "tiny":
        X, y, Xt, yt = load(d, "tiny")
        init = load_weights(d / "tiny_init.npz")
        Xb, yb = torch.from_numpy(X), torch.from_numpy(y.astype("float32"))[:, None]

        def train_once():
            torch.manual_seed(0)
            model = torch_model((2, TINY["hidden"], 1), ["sigmoid", "sigmoid"], init)
            optimizer = torch.optim.SGD(model.parameters(), lr=TINY["learning_rate"])
            start = time.perf_counter()
            for _ in range(TINY["steps"]):
                optimizer.zero_grad()
                loss = F.binary_cross_entropy(model(Xb), yb)
                loss.backward()
                optimizer.step()
                running = loss.item()  # what a training loop logs; neuralnet's fit records it too
            del running
            return time.perf_counter() - start, model

        result, model = best_of(workload, train_once)
        with torch.inference_mode():
            pred = (model(torch.from_numpy(Xt))[:, 0] >= 0.5).numpy()
    else:
        cfg = DIGITS if workload == "digits" else MNIST
        data = "mnist" if workload == "mnist-bn" else workload
        X, y, Xt, yt = load(d, data)
        if workload != "digits":
            sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
            acts = ["relu", "relu", "softmax"]
        else:
            sizes, acts = (64, DIGITS["hidden"], 10), ["relu", "softmax"]
        init = load_weights(d / f"{data}_init.npz")
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        n, batch = len(X), cfg["batch_size"]

        def train_once():
            torch.manual_seed(0)
            model = torch_model(sizes, acts, init, batch_norm=workload == "mnist-bn")
            optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
            start = time.perf_counter()
            for _ in range(cfg["epochs"]):
                order = torch.randperm(n)
                running = 0.0
                for i in range(0, n, batch):
                    idx = order[i : i + batch]
                    optimizer.zero_grad()
                    # cross_entropy fuses log-softmax with the loss, as neuralnet's output delta does.
                    loss = F.cross_entropy(model(X_t[idx]), y_t[idx])
                    loss.backward()
                    optimizer.step()
                    running += loss.item() * len(idx)
            del running
            return time.perf_counter() - start, model

        result, model = best_of(workload, train_once)
        model.eval()  # BatchNorm1d: the running statistics, as neuralnet's predict
        with torch.inference_mode():
            pred = model(torch.from_numpy(Xt)).argmax(1).numpy()
    result["accuracy"] = float((pred == yt).mean())
    return result


def torch_predict(d):
    import torch

    torch.set_num_threads(THREADS)
    X, y, Xt, yt = load(d, "mnist")
    sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
    model = torch_model(sizes, ["relu", "relu", "softmax"], trained_weights(d))
    model.eval()
    softmax = torch.nn.Softmax(dim=1)

    def predict(x):
        # inference_mode is PyTorch's fastest eager inference; the input is already a tensor.
        with torch.inference_mode():
            return softmax(model(x))

    return time_predict(predict, torch.from_numpy(Xt[:1]), torch.from_numpy(Xt[: PREDICT["batch"]]))


# --------------------------------------------------------------------------- children: sklearn
def sk_train(workload, d):
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if workload == "tiny":
        X, y, Xt, yt = load(d, "tiny")
        model = MLPClassifier(
            hidden_layer_sizes=(TINY["hidden"],), activation="logistic", solver="sgd",
            learning_rate_init=TINY["learning_rate"], momentum=0.0, nesterovs_momentum=False,
            batch_size=len(X), max_iter=TINY["steps"], alpha=0.0, shuffle=False,
            tol=0.0, n_iter_no_change=TINY["steps"] + 1, random_state=0,
        )
    else:
        cfg = MNIST if workload == "mnist" else DIGITS
        X, y, Xt, yt = load(d, workload)
        hidden = MNIST["hidden"] if workload == "mnist" else (DIGITS["hidden"],)
        model = MLPClassifier(
            hidden_layer_sizes=hidden, activation="relu", solver="adam",
            learning_rate_init=cfg["learning_rate"], batch_size=cfg["batch_size"],
            max_iter=cfg["epochs"], alpha=0.0, shuffle=True, tol=0.0,
            n_iter_no_change=cfg["epochs"] + 1, random_state=0,
        )

    def train_once():
        estimator = clone(model)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y)
        return time.perf_counter() - start, estimator

    result, estimator = best_of(workload, train_once)
    result["accuracy"] = float(np.mean(estimator.predict(Xt) == yt))
    return result


def sk_predict(d):
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y, Xt, yt = load(d, "mnist")
    model = MLPClassifier(hidden_layer_sizes=MNIST["hidden"], max_iter=1, batch_size=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:1000], y[:1000])  # builds the estimator; the weights are then replaced
    weights = trained_weights(d)
    model.coefs_ = [w[:-1] for w in weights]
    model.intercepts_ = [np.ascontiguousarray(w[-1]) for w in weights]
    return time_predict(model.predict_proba, Xt[:1], Xt[: PREDICT["batch"]])


def child_main(library: str, workload: str, directory: str) -> None:
    d = Path(directory)
    if library in ENGINE:
        if ENGINE[library]:
            os.environ["NEURALNET_ENGINE"] = ENGINE[library]
        library = "neuralnet"
    if workload == "peak":
        result = matmul_peak()
    elif workload == "predict":
        predict = {"neuralnet": nn_predict, "torch": torch_predict, "sklearn": sk_predict}
        result = predict[library](d)
    else:
        train = {"neuralnet": nn_train, "torch": torch_train, "sklearn": sk_train}[library]
        result = train(workload, d)
    result["peak_mb"] = peak_rss_mb()
    if "base_mb" in result:
        result["growth_mb"] = result["peak_mb"] - result.pop("base_mb")
    result["blas"] = blas_kernels()
    if library == "torch":
        import torch

        result["blas"].append(f"torch MKL={torch.backends.mkl.is_available()} "
                              f"threads={torch.get_num_threads()}")
    print(json.dumps(result))


def matmul_peak() -> dict:
    """Best float32 GFLOP/s of a large NumPy matrix product (the machine's practical peak)."""
    import numpy as np

    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return dict(seconds=best, gflops=2 * n**3 / best / 1e9)


# ------------------------------------------------------------------------------------- parent
def run_child(library: str, workload: str, directory: Path, fits: int = 1) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", library, workload,
           str(directory), "--fits-per-process", str(fits), "--threads", str(THREADS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_import(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=child_env(), cwd=ROOT)
    return time.perf_counter() - start


def mnist_training_flops() -> float:
    """FLOPs of one mnist training run: forward, weight gradients, input gradients below layer 1."""
    sizes = (MNIST["n_features"], *MNIST["hidden"], MNIST["n_classes"])
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    per_sample = 2 * sum(pairs) + 2 * sum(pairs) + 2 * sum(pairs[1:])
    return per_sample * MNIST["n_train"] * MNIST["epochs"]


def samples(workload: str) -> int:
    return {
        "mnist": MNIST["n_train"] * MNIST["epochs"],
        "mnist-bn": MNIST["n_train"] * MNIST["epochs"],
        "tiny": TINY["n_train"] * TINY["steps"],
        "digits": N_DIGITS_TRAIN * DIGITS["epochs"],
        "predict": 1,
    }[workload]


def main(argv=None) -> int:
    global FITS_PER_PROCESS, THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds, fewer import runs")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5, quick 2)")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES))
    parser.add_argument("--json", type=Path, help="also write every raw measurement here")
    parser.add_argument("--fits-per-process", type=int, default=FITS_PER_PROCESS, metavar="N",
                        help="train N times in each process: the first fit and the fastest are "
                        f"both reported (default {FITS_PER_PROCESS})")
    parser.add_argument("--threads", type=int, default=THREADS, choices=(1, 2),
                        help="BLAS and intra-op threads for every library (default 2)")
    parser.add_argument("--child", nargs=3, metavar=("LIBRARY", "WORKLOAD", "DIR"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs="+", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        prepare_data(Path(args.prepare[0]), args.prepare[1:])
        return 0
    if args.fits_per_process < 1:
        parser.error(f"--fits-per-process must be at least 1; received {args.fits_per_process}")
    THREADS = args.threads
    if args.child:
        FITS_PER_PROCESS = args.fits_per_process
        child_main(*args.child)
        return 0

    repeats = args.repeats or (2 if args.quick else 5)
    libraries = ["neuralnet"] + [lib for lib in args.libraries if lib != "neuralnet"]
    print(f"{THREADS} thread(s) per library; each training child fits {args.fits_per_process} "
          "time(s): first fit and fastest (steady state) reported", flush=True)
    train_like = [w for w in args.workloads if w != "import"]
    raw: dict = {w: {lib: [] for lib in libraries} for w in train_like}
    imports: dict = {"numpy": [], "neuralnet": []}
    peaks, loads = [], []
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    with tempfile.TemporaryDirectory(prefix="neuralnet-bench-") as tmp:
        directory = Path(tmp)
        start = time.perf_counter()
        # In a child, so this process stays small (every run forks from it).
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--prepare", str(directory),
                        *args.workloads], check=True, env=child_env(), cwd=ROOT)
        print(f"data generated in {time.perf_counter() - start:.1f} s", flush=True)
        # Byte-compile the package as pip does when it installs a wheel (NumPy's and PyTorch's
        # .pyc files came that way); with PYTHONDONTWRITEBYTECODE set, as on this machine, the
        # source tree would otherwise be recompiled in every child, and a first fit (which
        # includes its imports) or the import would time that.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "neuralnet")],
                       check=True, env=child_env(), cwd=ROOT)
        if "predict" in args.workloads and "mnist" not in args.workloads:
            run_child("neuralnet", "mnist", directory)  # trains the network predict measures
        kernels = {}
        for r in range(repeats):
            order = libraries[r % len(libraries):] + libraries[: r % len(libraries)]
            if "mnist" in args.workloads:
                peaks.append(run_child("neuralnet", "peak", directory)["gflops"])
            for workload in train_like:
                for lib in order:
                    if workload in NOT_FOR.get(lib, ()):
                        continue
                    result = run_child(lib, workload, directory, args.fits_per_process)
                    kernels[lib] = result.pop("blas")
                    raw[workload][lib].append(result)
            if "import" in args.workloads:
                n_import = 5 if args.quick else 10
                for _ in range(n_import):
                    imports["numpy"].append(time_import("import numpy"))
                    imports["neuralnet"].append(time_import("import neuralnet"))
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}/{repeats} done (1-minute load average {loads[-1]:.2f} "
                  f"on {os.cpu_count()} cores)", flush=True)
    report(raw, imports, peaks, kernels, libraries)
    print(f"load average (1 min) after each round: {', '.join(f'{x:.2f}' for x in loads)}; "
          "other people's jobs share these cores, so compare the paired ratios, not raw times.")
    if args.json:
        args.json.write_text(json.dumps({"raw": raw, "imports": imports, "peaks": peaks,
                                         "kernels": kernels, "loads": loads}, indent=1))
    return 0


def paired(runs, torch_runs, key: str) -> list[float]:
    """Ratios ``run / torch run`` of ``key``, round by round."""
    return [a[key] / max(b[key], 1e-12) for a, b in zip(runs, torch_runs, strict=True)]


def spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}]"


def rows(by_lib: dict, libraries, keys):
    """Per library that ran: ``(library, runs, medians of keys, paired ratios to PyTorch)``."""
    torch_runs = by_lib.get("torch", [])
    for lib in libraries:
        runs = by_lib.get(lib, [])
        if not runs:
            continue
        medians = [statistics.median(r[key] for r in runs) for key in keys]
        ratios = ["–"] * len(keys)
        if torch_runs and lib != "torch":
            ratios = [spread(paired(runs, torch_runs, key)) for key in keys]
        yield lib, runs, medians, ratios


def report(raw, imports, peaks, kernels, libraries) -> None:
    median = statistics.median
    print()
    print("Training: a first fit (a fresh process trains once, as a script does) and the steady "
          "state (the fastest fit of each process); ratios to PyTorch paired by round, "
          "median [min, max].")
    print()
    print("| workload | library | first fit | ÷ PyTorch | steady state | ÷ PyTorch | test accuracy "
          "| peak MB | ÷ PyTorch |")
    print("|---|---|---:|---|---:|---|---:|---:|---|")
    for workload, by_lib in raw.items():
        if workload == "predict":
            continue
        for lib, runs, t, ratios in rows(by_lib, libraries, ("first_seconds", "seconds", "peak_mb")):
            peak_ratio = "–" if ratios[2] == "–" else ratios[2].split(" ")[0]
            print(f"| {workload} | {lib} | {t[0]:.3f} s | {ratios[0]} | {t[1]:.3f} s "
                  f"| {ratios[1]} | {median(r['accuracy'] for r in runs):.4f} "
                  f"| {t[2]:.0f} | {peak_ratio} |")
    if raw.get("predict"):
        print()
        print("| predict | library | one sample | ÷ PyTorch | 1,024 rows | ÷ PyTorch | peak MB |")
        print("|---|---|---:|---|---:|---|---:|")
        for lib, _, t, ratios in rows(raw["predict"], libraries,
                                      ("seconds", "batch_seconds", "peak_mb")):
            print(f"| predict | {lib} | {t[0] * 1e6:.1f} µs | {ratios[0]} | {t[1] * 1e3:.2f} ms "
                  f"| {ratios[1]} | {t[2]:.0f} |")
    if imports["numpy"]:
        a, b = median(imports["neuralnet"]), median(imports["numpy"])
        print()
        print(f"import neuralnet: {a * 1e3:.1f} ms; numpy alone {b * 1e3:.1f} ms; "
              f"neuralnet - numpy = {(a - b) * 1e3:+.1f} ms ({len(imports['numpy'])} runs each)")
    if peaks and raw.get("mnist", {}).get("neuralnet"):
        flops = mnist_training_flops()
        print()
        print(f"mnist training: {flops / 1e9:.1f} GFLOP per run (forward, weight gradients, "
              f"input gradients of layers 2-3)")
        peak = median(peaks)
        for lib in libraries:
            if raw["mnist"].get(lib):
                for label, key in (("first fit", "first_seconds"), ("steady", "seconds")):
                    rate = flops / median(r[key] for r in raw["mnist"][lib]) / 1e9
                    print(f"  {lib:15s} {label:9s} {rate:6.1f} GFLOP/s ({rate / peak:.0%} of the "
                          "peak below)")
        print(f"  float32 matmul peak (NumPy, 2048x2048, best of 10, median over rounds): "
              f"{peak:.1f} GFLOP/s")
    print()
    print("BLAS in the children (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset):")
    for lib, info in kernels.items():
        print(f"  {lib}: {'; '.join(info)}")


if __name__ == "__main__":
    sys.exit(main())
