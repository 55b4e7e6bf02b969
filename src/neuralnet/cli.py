"""The ``neuralnet`` command line.

    neuralnet train [--dataset NAME | --data TABLE --target COLUMN] [--save MODEL.npz]
                    [--scheduler ADDRESS]   (--data DIR|GLOB of Parquet files: streamed)
    neuralnet predict MODEL.npz --input TABLE [--output PREDICTIONS.csv]
    neuralnet evaluate MODEL.npz --input TABLE --target COLUMN
    neuralnet info MODEL.npz
    neuralnet search [--dataset NAME | --data TABLE --target COLUMN] [--scheduler ADDRESS]
    neuralnet export MODEL.npz OUT.onnx
    neuralnet serve MODEL.npz [--host 127.0.0.1] [--port 8000]

A TABLE is a CSV file with a header row, or a Parquet file (``neuralnet.tabular``): numbers,
booleans, text and empty cells. A model trained here keeps the preprocessing it fitted on its
training rows (standardising, imputing, one-hot, the target's labels or scale) in its file, so
``predict`` and ``evaluate`` take the same kind of table and speak in the target's own labels
and units. Every error is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

from neuralnet import datasets, tabular
from neuralnet.activations import ACTIVATIONS
from neuralnet.losses import LOSSES
from neuralnet.optimizers import OPTIMIZERS

DEFAULT_HIDDEN = (16, 16)
# Every activation by name, plus swish: SiLU under the name Keras and the swish paper use.
ACTIVATION_CHOICES = sorted([*ACTIVATIONS, "swish"])


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2, no usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _argument(parse, accept, expected: str):
    """Return an argparse ``type``: ``parse`` the text, ``accept`` the value, else one clear line."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}")
        return value

    return convert


_positive_int = _argument(int, lambda v: v > 0, "a positive integer")
_non_negative_int = _argument(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _argument(float, lambda v: v > 0 and np.isfinite(v), "a positive number")
_fraction = _argument(float, lambda v: 0 < v < 1, "a number between 0 and 1")
_rate = _argument(float, lambda v: 0 <= v < 1, "a dropout rate in [0, 1)")
_folds = _argument(int, lambda v: v >= 2, "an integer >= 2")
_n_jobs = _argument(int, lambda v: v != 0, "a non-zero integer (-1: one process per core)")
_animation_path = _argument(str, lambda v: v.lower().endswith((".gif", ".mp4")),
                            "a file name ending in .gif or .mp4")


_on_off = _argument(lambda text: {"on": True, "off": False}.get(text.strip().lower()),
                    lambda v: True, "on or off")


def _layer_sizes(text: str) -> tuple[int, ...]:
    if text.strip() in ("", "none"):
        return ()
    try:
        return tuple(_positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 16,16, received {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neuralnet", description="Dense neural networks in NumPy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser(
        "train",
        help="train a network on a built-in dataset or your own table and report its scores",
        description="Train a network on a built-in dataset (default: two moons) or on a CSV or "
        "Parquet table (--data, --target), and report the final loss and the train/test scores: "
        "accuracy and log loss for classes, R^2 and MAE for a regression.",
    )
    train.add_argument("--dataset", choices=list(datasets.DATASETS), default="moons",
                       help="built-in dataset (default: moons, the article's binary problem)")
    train.add_argument("--hidden", type=_layer_sizes, default=DEFAULT_HIDDEN, metavar="SIZES",
                       help="hidden layer sizes, comma-separated (default: 16,16)")
    train.add_argument("--activation", choices=ACTIVATION_CHOICES, default="tanh",
                       metavar="NAME",
                       help="hidden-layer activation (default: tanh): "
                       f"{', '.join(ACTIVATION_CHOICES)}; the output layer follows the loss")
    train.add_argument("--dropout", type=_rate, default=0.0, metavar="RATE",
                       help="Dropout(RATE) after each hidden layer while training (default: 0, "
                       "none)")
    train.add_argument("--batch-norm", action="store_true",
                       help="BatchNormalization after each hidden layer (momentum 0.99, epsilon "
                       "0.001, as Keras), before any dropout")
    train.add_argument("--epochs", type=_positive_int, default=200, help="default: 200")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                       help="default: sgd (torch.optim's update formulas)")
    train.add_argument("--learning-rate", type=_positive_float, default=None,
                       help="default: 0.1 for sgd (0.01 for a regression), the optimizer's own "
                       "otherwise (adam: 0.001)")
    train.add_argument("--l2", type=_non_negative_float, default=None,
                       help="L2 penalty on every layer's weights, l2/2 ||W||^2 (default: 0 for a "
                       "classification, 0.1 for a regression)")
    train.add_argument("--loss", choices=sorted(LOSSES), default=None, metavar="NAME",
                       help=f"{', '.join(sorted(LOSSES))}; default: binary_crossentropy for "
                       "two classes, categorical_crossentropy for more, mse for regression. "
                       "The output layer follows it: sigmoid for binary_crossentropy, softmax "
                       "for categorical_crossentropy and kl_divergence, exponential for "
                       "poisson, linear otherwise (hinge's margin is class 1 from 0)")
    train.add_argument("--validation-split", type=_fraction, default=None, metavar="FRACTION",
                       help="hold out this fraction of the training data and report val_loss "
                       "(and val_accuracy) after every epoch")
    train.add_argument("--early-stopping", type=_non_negative_int, default=None,
                       metavar="PATIENCE",
                       help="stop when val_loss has not improved for PATIENCE epochs and keep "
                       "the best weights (needs --validation-split)")
    train.add_argument("--test-size", type=_fraction, default=0.2,
                       help="fraction held out for testing (default: 0.2)")
    train.add_argument("--seed", type=_non_negative_int, default=0,
                       help="random seed (default: 0)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    train.add_argument("--plot", metavar="DIR", default=None,
                       help="write the loss curve (and, for 2-D data, the decision boundary, or "
                       "a regression's prediction surface) as PNGs into DIR (needs matplotlib)")
    train.add_argument("--animate", metavar="PATH", default=None, type=_animation_path,
                       help="write an animation of training to PATH: .gif, or .mp4 with ffmpeg; "
                       "about 100 frames of the loss and the decision boundary, prediction "
                       "surface or PCA projection (needs matplotlib)")
    train.add_argument("--data", metavar="TABLE",
                       help="train on a CSV or Parquet table (header row; numbers, text, gaps) "
                       "instead of --dataset; a directory or glob of Parquet files (such as "
                       "'data/*.parquet') is streamed a row group at a time")
    train.add_argument("--target", metavar="COLUMN", help="the column to predict (with --data)")
    train.add_argument("--task", choices=tabular.TASKS, default="auto", help=_TASK_HELP)
    _add_table_options(train)
    train.add_argument("--save", metavar="MODEL.npz", help="save the trained model to this file")
    train.add_argument("--scheduler", metavar="ADDRESS",
                       help="train data-parallel on a running Dask cluster, e.g. "
                       "tcp://10.0.0.5:8786: each batch's gradient from the workers holding "
                       "its rows (needs neuralnet[distributed])")

    predict = sub.add_parser("predict", help="write a saved model's predictions for a table",
                             description="Predict with a saved model; writes CSV to stdout or "
                             "--output. Classifiers give the label and one probability column "
                             "per class (probability_LABEL); a regression its value, in the "
                             "target's units.")
    predict.add_argument("model", metavar="MODEL.npz")
    predict.add_argument("--input", required=True, metavar="TABLE",
                         help="a CSV or Parquet table with the training columns (extra ones ignored)")
    predict.add_argument("--output", metavar="FILE.csv", help="default: standard output")
    predict.add_argument("--sep", metavar="CHAR", help=_SEP_HELP)

    evaluate = sub.add_parser("evaluate", help="report a saved model's scores on a table",
                              description="Evaluate a saved model on a table with targets: "
                              "accuracy and log loss for a classifier, MAE, RMSE and R^2 for a "
                              "regression.")
    evaluate.add_argument("model", metavar="MODEL.npz")
    evaluate.add_argument("--input", required=True, metavar="TABLE")
    evaluate.add_argument("--target", required=True, metavar="COLUMN")
    evaluate.add_argument("--sep", metavar="CHAR", help=_SEP_HELP)

    info = sub.add_parser("info", help="show a saved model's layers, columns and parameters",
                          description="Summarise a saved model file: its layers, and the "
                          "columns it takes and how each one is treated.")
    info.add_argument("model", metavar="MODEL.npz")
    _add_search_parser(sub)
    _add_export_parser(sub)
    _add_serve_parser(sub)
    return parser


_TASK_HELP = ("auto (default): classification when the target holds text or booleans, or whole "
              f"numbers with at most {tabular.MAX_AUTO_CLASSES} distinct values; regression "
              "otherwise")
_REGRESSION_L2 = 0.1
_REGRESSION_SGD_RATE = 0.01
_SEP_HELP = "the CSV delimiter (default: guessed among , ; tab |)"


def _os_reason(exc: OSError) -> str:
    """The reason of an ``OSError`` (``No such file or directory``), without errno or path."""
    return exc.strerror or str(exc)


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    """The options choosing and encoding a table's columns (train and search alike)."""
    group = parser.add_argument_group("table columns (with --data)")
    group.add_argument("--features", nargs="+", metavar="COL",
                       help="the columns to learn from (default: all but the target)")
    group.add_argument("--drop", nargs="+", metavar="COL", help="columns to leave out")
    group.add_argument("--categorical", nargs="+", metavar="COL",
                       help="columns to one-hot encode whatever they hold, e.g. integer codes "
                       "(text columns always are)")
    group.add_argument("--max-levels", type=_positive_int, default=20, metavar="N",
                       help="the most frequent levels a categorical column keeps, each its own "
                       "input; the rest share an <other> input (default: 20)")
    group.add_argument("--sep", metavar="CHAR", help=_SEP_HELP)


def _read_table(path: str, sep: str | None):
    """The table in ``path``; its notes (a dropped index column, ...) go to stderr."""
    try:
        return tabular.read_table(path, sep=sep)
    except OSError as exc:  # missing, a directory, no permission: one line naming the path
        raise ValueError(f"cannot read {path!r}: {_os_reason(exc)}.") from None


def _check_columns(path: str, columns: Sequence, target: str | None, args) -> None:
    """Refuse a target or --features/--drop/--categorical name the table's columns lack."""
    columns = list(columns)
    listed = ", ".join(map(str, columns))
    if target is not None and target not in columns:
        raise ValueError(f"{path} has no column {target!r} to predict; its columns are: {listed}.")
    for option in ("features", "drop", "categorical"):
        names = getattr(args, option, None) or []
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise ValueError(
                f"--{option} names column(s) {tabular._shown(unknown)} that {path} does not have; "
                f"its columns are: {listed}."
            )
        if target in names and option != "drop":
            raise ValueError(f"--{option} names {target!r}, the target; it cannot be a feature too.")


def _losses_for(*tasks: str) -> str:
    return ", ".join(name for name, cls in sorted(LOSSES.items()) if cls.task in tasks)


def _output_layer(loss: str | None, classify: bool, n_classes: int) -> tuple[str, int, str]:
    """Return the loss, the number of outputs and the output activation; check they fit the task."""
    if loss is None:
        loss = ("binary_crossentropy" if n_classes <= 2 else "categorical_crossentropy") \
            if classify else "mse"
    task = LOSSES[loss].task
    if classify and task == "regression":
        raise ValueError(
            f"--loss {loss} is a regression loss, but the target holds class labels; use one "
            f"of {_losses_for('binary', 'multiclass')} (or --task regression with --data)."
        )
    if not classify and task != "regression":
        raise ValueError(
            f"--loss {loss} needs class labels, but the target is continuous; use one of "
            f"{_losses_for('regression')}."
        )
    if task == "binary" and n_classes > 2:
        raise ValueError(
            f"--loss {loss} needs two classes, but the target has {n_classes}; use one of "
            f"{_losses_for('multiclass')}."
        )
    n_out = max(n_classes, 2) if task == "multiclass" else 1
    return loss, n_out, LOSSES[loss].output_activation


# Peak memory of training, in multiples of the weights' own size: the weights, their gradient,
# the optimizer's state and scratch, fit's per-epoch copies. Measured with ru_maxrss on a
# 2-2000-2000-1 float32 network (4 million weights) trained in batches of 32 with metrics.
_TRAINING_MEMORY = {"sgd": 9, "adam": 13, "adamw": 13, "rmsprop": 12, "adagrad": 11}


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _available_memory() -> int | None:
    """Bytes this process may still allocate: free RAM and swap, within a cgroup's limit."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if ":" in line}
        available = info["MemAvailable"] + info.get("SwapFree", 0)
    except (OSError, ValueError, KeyError, IndexError):
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**62:
            available = cap - used if available is None else min(available, cap - used)
    return available


def _check_memory(sizes: Sequence[int], optimizer: str, itemsize: int = 4) -> None:
    """Refuse, before allocating anything, a network whose training cannot fit in memory."""
    n_weights = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    need = n_weights * itemsize * _TRAINING_MEMORY.get(optimizer, max(_TRAINING_MEMORY.values()))
    available = _available_memory()
    if available is not None and need > available:
        raise MemoryError(
            f"the {'-'.join(map(str, sizes))} network has {n_weights:,} weights: training it "
            f"with {optimizer} needs about {_format_bytes(need)} of memory, more than the "
            f"{_format_bytes(max(available, 0))} available; use smaller --hidden layers."
        )


def _load_data(args: argparse.Namespace):
    """Return the raw features (a DataFrame, or an array of a built-in dataset), the targets
    (rows without one dropped) and where they came from."""
    if args.data is not None:
        if args.target is None:
            raise ValueError("--data needs --target COLUMN: the column to predict.")
        table = _read_table(args.data, args.sep)
        _check_columns(args.data, table.columns, args.target, args)
        X, y = tabular.split_target(table, args.target)
        return X, y, args.data
    if args.target is not None:
        raise ValueError("--target names a column of a table given with --data.")
    X, y = datasets.load(args.dataset, seed=args.seed)
    return X, y, args.dataset


def _rows(X, index: np.ndarray):
    """The rows at the positions ``index`` of an array, DataFrame or Series."""
    return X.iloc[index] if type(X).__module__.startswith("pandas") else X[index]


def _target_encoder(y, name: str, task: str, train: np.ndarray) -> tabular.TargetEncoder:
    """The target's encoder: the task and classes from every row, a regression's scale from
    the training rows only."""
    encoder = tabular.TargetEncoder(task).fit(y, name)
    if encoder.task_ == "regression":
        encoder = tabular.TargetEncoder("regression").fit(_rows(y, train), name)
    return encoder


def _log_probabilities(outputs: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Each row's log-probability of its true class (probabilities clipped to 1e-15)."""
    p = outputs.astype(np.float64)
    if p.shape[1] == 1:
        p = np.column_stack([1.0 - p[:, 0], p[:, 0]])
    true = p[np.arange(len(p)), indices]
    return np.log(np.clip(true, 1e-15, 1.0))


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before training, a --save or --plot path that could not be written after it."""
    if args.save is not None:
        target = os.path.realpath(args.save)
        folder = os.path.dirname(target)
        if os.path.isdir(target):
            raise ValueError(f"--save {args.save!r} is a directory; give a file name such as "
                             f"{os.path.join(args.save, 'model.npz')!r}.")
        if not os.path.isdir(folder):
            raise ValueError(f"--save {args.save!r}: the folder {folder!r} does not exist.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"--save {args.save!r}: the folder {folder!r} is not writable.")
    if args.plot is not None and os.path.exists(args.plot) and not os.path.isdir(args.plot):
        raise ValueError(f"--plot {args.plot!r} is a file; give a folder to write the plots into.")


def _fit_table(args: argparse.Namespace, X, y, source: str) -> tuple:
    """Split the rows in memory and fit the target's encoder and the features' preprocessor.

    Return ``(encoder, preprocessor, inputs, train_rows, test_rows)``: ``inputs`` are every
    row's network inputs (float32). Every statistic of the features comes from the training
    rows only.
    """
    n = len(X)
    train_rows, test_rows, _, _ = datasets.train_test_split(np.arange(n), np.arange(n),
                                                            args.test_size, args.seed)
    encoder = _target_encoder(y, args.target or "label", args.task, train_rows)
    preprocessor = tabular.TablePreprocessor(args.features, args.drop, args.categorical,
                                             args.max_levels)._fit(X, train_rows, 6)
    return encoder, preprocessor, preprocessor._transform(X, np.float32, source), train_rows, \
        test_rows


def _network_output(args: argparse.Namespace, encoder: tabular.TargetEncoder) -> tuple:
    """Return ``(classify, loss, n_out, out_activation)`` for the encoded target.

    A regression with a positive output (poisson's exponential) models the target as it is:
    the encoder is set to leave it unstandardised, so encode the targets after this.
    """
    classify = encoder.task_ == "classification"
    loss, n_out, out_activation = _output_layer(args.loss, classify, encoder.n_classes)
    if not classify and out_activation != "linear":
        encoder.mean_, encoder.scale_ = 0.0, 1.0
    return classify, loss, n_out, out_activation


def _build_network(args: argparse.Namespace, n_features: int, classify: bool, loss: str,
                   n_out: int, out_activation: str) -> tuple:
    """Return ``(model, sizes, learning_rate)``: the network ``neuralnet train`` fits.

    ``--hidden``, ``--activation``, ``--batch-norm``, ``--dropout`` and ``--l2`` shape it;
    ``learning_rate`` is ``--learning-rate`` or a regression's SGD default. Refused before
    anything is allocated when its training cannot fit in memory.
    """
    from neuralnet import NeuralNet

    sizes = (n_features, *args.hidden, n_out)
    _check_memory(sizes, args.optimizer)
    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    activations = [args.activation] * (len(shapes) - 1) + [out_activation]
    l2, learning_rate = args.l2, args.learning_rate
    if not classify:
        # A regression's network on few noisy rows overfits where a linear model does not: on
        # scikit-learn's diabetes table these two defaults take test R^2 from 0.01 to Ridge's
        # (benchmarks/tables.py).
        l2 = _REGRESSION_L2 if l2 is None else l2
        if learning_rate is None and args.optimizer == "sgd":
            learning_rate = _REGRESSION_SGD_RATE
    if args.dropout or args.batch_norm:
        # BatchNormalization and Dropout after each hidden layer. from_config draws the initial
        # weights as NeuralNet(shapes, ..., seed) would, from one generator that then shuffles.
        after_hidden = [{"class_name": "BatchNormalization"}] if args.batch_norm else []
        if args.dropout:
            after_hidden.append({"class_name": "Dropout", "rate": args.dropout})
        layers = []
        for (n_in, units), activation in zip(shapes, activations, strict=True):
            layers += [{"class_name": "FullyConnectedLayer", "n_in": n_in, "n_out": units,
                        "activation": activation, "l2": l2 or 0.0}, *after_hidden]
        layers = layers[: len(layers) - len(after_hidden)]  # nothing after the output layer
        model = NeuralNet.from_config({"layers": layers, "loss": loss, "dtype": "float32",
                                       "seed": args.seed, "n_features": int(sizes[0])})
    else:
        model = NeuralNet(shapes, activations=activations, loss=loss, seed=args.seed,
                          l2=l2 or 0.0)
    return model, sizes, learning_rate


def _early_stopping(args: argparse.Namespace):
    """The ``EarlyStopping`` callback of ``--early-stopping`` (None without it)."""
    from neuralnet.callbacks import EarlyStopping

    if args.early_stopping is None:
        return None
    if args.validation_split is None:
        raise ValueError(
            "--early-stopping watches the validation loss; give --validation-split too "
            "(e.g. --validation-split 0.2)."
        )
    return EarlyStopping("val_loss", patience=args.early_stopping, restore_best_weights=True)


def _print_start(args: argparse.Namespace, sizes, source: str, n_train: int, n_test: int,
                 loss: str, where: str = "") -> None:
    """The first line of ``neuralnet train``: the network, the data and how it is trained."""
    print(
        f"Training {'-'.join(map(str, sizes))} on {source!r} "
        f"({n_train} train / {n_test} test samples) for {args.epochs} epochs "
        f"with {args.optimizer} and {loss}" + (", batch norm" if args.batch_norm else "")
        + (f", dropout {args.dropout:g}" if args.dropout else "") + where
    )


def _print_table(args: argparse.Namespace, encoder: tabular.TargetEncoder,
                 preprocessor: tabular.TablePreprocessor) -> None:
    """The target's task and classes or scale, and the columns the inputs come from."""
    print(f"target          {encoder.describe()}")
    listed = f" (neuralnet info {args.save} lists them)" if args.save else ""
    print(f"features        {len(preprocessor.columns_)} columns as "
          f"{preprocessor.n_features_out_} inputs{listed}")


def _scores(model, encoder: tabular.TargetEncoder, classify: bool, parts) -> dict[str, float]:
    """Accuracy and log loss, or MAE, RMSE and R^2 in the target's units, over ``parts``.

    ``parts`` yields ``(inputs, encoded targets)``: one pair for rows in memory, a row group at
    a time for a stream; the sums go through ``sources.MetricStream``, so no pass needs more
    than one part in memory.
    """
    from neuralnet import metrics
    from neuralnet.sources import MetricStream

    stream = MetricStream(model.metric_fns(["accuracy"]) if classify else
                          {"MAE": metrics.mae, "mse": metrics.mse, "R^2": metrics.r2})
    log_sum, n = 0.0, 0
    for X, t in parts:
        outputs = model.predict(X)
        if classify:
            stream.update(model.check_y(t, len(X)), outputs)
            log_sum, n = log_sum + float(np.sum(_log_probabilities(outputs, t))), n + len(t)
        else:
            stream.update(encoder.inverse_transform(t).reshape(-1, 1),
                          encoder.inverse_transform(outputs))
    scores = stream.result()
    if classify:
        scores["log loss"] = -log_sum / n
    else:
        scores["RMSE"] = float(np.sqrt(scores.pop("mse")))
    return scores


def _print_results(history, stopper, scores: dict, classify: bool, elapsed: float) -> None:
    """The lines after training: early stopping, the final loss, the scores, the time."""
    if stopper is not None and stopper.stopped_epoch is not None:
        print(f"early stopping  after epoch {stopper.stopped_epoch + 1}: best val_loss "
              f"{stopper.best:.4f} at epoch {stopper.best_epoch + 1}, its weights kept")
    print(f"final loss      {history.history['loss'][-1]:.4f}")
    train, test = scores["train"], scores["test"]
    if classify:
        print(f"train accuracy  {train['accuracy']:.2%}")
        print(f"test accuracy   {test['accuracy']:.2%}")
        print(f"test log loss   {test['log loss']:.4f}")
    else:
        print(f"train R^2       {train['R^2']:.4f}")
        print(f"test R^2        {test['R^2']:.4f}")
        print(f"test MAE        {test['MAE']:.4g}")
    print(f"trained in      {elapsed:.2f} s")


def _save_model(args: argparse.Namespace, model) -> None:
    if args.save is not None:
        model.save(args.save)
        print(f"saved model to  {args.save}")


def _train(args: argparse.Namespace) -> int:
    from neuralnet import streaming

    # A directory or glob of Parquet files is streamed (as is anything on a cluster); one table
    # file, CSV or Parquet, is read whole with its text columns and gaps encoded.
    if args.scheduler is not None or (args.data is not None and streaming.is_dataset_path(args.data)
                                      and not os.path.isfile(args.data)):
        return streaming.train_command(args)

    _check_outputs(args)
    X, y, source = _load_data(args)
    encoder, preprocessor, inputs, train_rows, test_rows = _fit_table(args, X, y, source)
    X_train, X_test = inputs[train_rows], inputs[test_rows]
    classify, loss, n_out, out_activation = _network_output(args, encoder)
    y_train, y_test = encoder.transform(_rows(y, train_rows)), encoder.transform(_rows(y, test_rows))
    model, sizes, learning_rate = _build_network(args, X_train.shape[1], classify, loss, n_out,
                                                 out_activation)
    model.preprocessor, model.target_encoder = preprocessor, encoder
    stopper, animation = _early_stopping(args), None
    callbacks = [stopper] if stopper is not None else []
    if args.animate is not None:
        from neuralnet.plot import TrainingAnimation

        # About 100 frames, whatever the number of epochs.
        animation = TrainingAnimation(X_train, y_train, args.animate,
                                      every=max(1, math.ceil(args.epochs / 100)))
        callbacks.append(animation)
    _print_start(args, sizes, source, len(X_train), len(X_test), loss)
    if args.data is not None:
        _print_table(args, encoder, preprocessor)
    start = time.perf_counter()
    # The per-epoch lines (or bar) carry the loss, the metric and val_* as training goes.
    history = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, learning_rate=learning_rate,
        validation_split=args.validation_split or 0.0, callbacks=callbacks,
        # A metric costs a pass over the data each epoch: only for the progress lines and plots.
        metrics=None if args.quiet and args.plot is None else ["accuracy" if classify else "mae"],
        verbose=0 if args.quiet else 1,
    )
    elapsed = time.perf_counter() - start
    scores = {part: _scores(model, encoder, classify, [(Z, t)])
              for part, Z, t in (("train", X_train, y_train), ("test", X_test, y_test))}
    _print_results(history, stopper, scores, classify, elapsed)
    if args.plot is not None:
        from neuralnet import plot

        for path in plot.write_training_plots(
            args.plot, model, history, np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
        ):
            print(f"wrote           {path}")
    if animation is not None:
        print(f"wrote           {args.animate} ({animation.n_frames} frames)")
    _save_model(args, model)
    return 0


def _model_inputs(model, table, path: str) -> np.ndarray:
    """The network's inputs for the rows of ``table``: its preprocessing, or the raw numbers of
    its feature columns (every column, for a model saved from Python without any)."""
    if model.preprocessor is not None:
        return model.preprocessor._transform(table, model.dtype, path)
    meta = model.metadata
    names = meta.get("feature_names") or list(table.columns)
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ValueError(f"the model's metadata 'feature_names' is not a list of column names: "
                         f"{str(names)[:80]}; was it saved by `neuralnet train`?")
    if "scaling" in meta:  # what format 2 files held: load turns a fitting one into a preprocessor
        raise ValueError(
            f"the model's metadata 'scaling' does not fit its {len(names)} feature columns: "
            f"{str(meta['scaling'])[:80]}; was it saved by `neuralnet train`?"
        )
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ValueError(
            f"{path} has no column(s) {tabular._shown(missing)}, which the model was trained on; "
            f"its columns are: {', '.join(map(str, table.columns))}."
        )
    return np.column_stack([tabular._numbers(table[n], n, path) for n in names])


def _predict(args: argparse.Namespace) -> int:
    from neuralnet import io

    model = io.load(args.model)
    table = _read_table(args.input, args.sep)
    X = _model_inputs(model, table, args.input)
    outputs = model.predict(X)
    k = model.n_outputs
    encoder = model.target_encoder
    columns: dict[str, np.ndarray] = {}
    if model.is_classifier:
        classes = model.predict_classes(X)
        if encoder is not None and encoder.task_ == "classification":
            columns[encoder.name or "class"] = encoder.inverse_transform(classes)
            proba = np.column_stack([1.0 - outputs[:, 0].astype(np.float64), outputs[:, 0]]) \
                if k == 1 else outputs
            for label, p in zip(encoder.classes_, proba.T, strict=True):
                columns[f"probability_{label}"] = p
        elif k == 1:
            columns = {"class": classes, "probability": outputs[:, 0]}
        elif model.is_multilabel_or_binary:
            columns = {f"class_{j}": classes[:, j] for j in range(k)}
            columns.update({f"probability_{j}": outputs[:, j] for j in range(k)})
        else:
            columns = {"class": classes, **{f"probability_{j}": outputs[:, j] for j in range(k)}}
    else:
        if encoder is not None and encoder.task_ == "regression":
            outputs = encoder.inverse_transform(outputs)
        target = (encoder.name if encoder is not None else None) or \
            model.metadata.get("target", "prediction")
        columns = {target: outputs[:, 0]} if k == 1 else \
            {f"{target}_{j}": outputs[:, j] for j in range(k)}
    _write_csv(columns, args.output)
    return 0


def _write_csv(columns: dict[str, np.ndarray], path: str | None) -> None:
    """Write the columns as CSV: labels as they are, numbers with 9 significant digits."""
    cells = []
    for values in columns.values():
        if values.dtype.kind == "f":
            cells.append([f"{float(v):.9g}" for v in values])
        else:
            cells.append([str(v) for v in values.tolist()])
    try:
        out = open(path, "w", newline="") if path else sys.stdout
    except OSError as exc:
        folder = os.path.dirname(os.path.abspath(path))
        reason = (f"the folder {folder!r} does not exist" if not os.path.isdir(folder)
                  else _os_reason(exc))
        raise ValueError(f"cannot write --output {path!r}: {reason}.") from None
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*cells, strict=True))
    finally:
        if out is not sys.stdout:
            out.close()


def _evaluate(args: argparse.Namespace) -> int:
    from neuralnet import io

    model = io.load(args.model)
    table = _read_table(args.input, args.sep)
    _check_columns(args.input, table.columns, args.target, args)
    X_table, y = tabular.split_target(table, args.target)
    X = _model_inputs(model, X_table, args.input)
    encoder = model.target_encoder
    print(f"rows      {len(X)}")
    if encoder is None:
        targets = tabular._numbers(y, args.target, args.input)
        for name, value in model.evaluate(X, targets).items():
            print(f"{name:<9} {value:.2%}" if name == "accuracy" else f"{name:<9} {value:.4f}")
        return 0
    classify = encoder.task_ == "classification"
    scores = _scores(model, encoder, classify, [(X, encoder.transform(y))])
    if classify:
        print(f"accuracy  {scores['accuracy']:.2%}")
        print(f"log loss  {scores['log loss']:.4f}")
    else:
        for name in ("MAE", "RMSE", "R^2"):
            print(f"{name:<9} {scores[name]:.4g}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from neuralnet import io

    model = io.load(args.model)
    header = io.read_header(args.model)
    print(f"{args.model}: neuralnet model, format version {header['format_version']}, "
          f"written by neuralnet {header['neuralnet_version']}")
    model.summary()
    print(f"epochs trained: {model.epoch}")
    print(f"optimizer: {model.optimizer!r}" if model.optimizer else "optimizer: none (untrained)")
    if model.target_encoder is not None:
        print(f"target: {model.target_encoder.describe()}")
    if model.preprocessor is not None:
        pre = model.preprocessor
        print(f"columns: {len(pre.columns_)}, as {pre.n_features_out_} inputs (other columns "
              "of a table are ignored)")
        print(pre.describe())
    elif model.metadata.get("feature_names"):
        meta = model.metadata
        print(f"features: {', '.join(meta['feature_names'])}   target: {meta.get('target', '?')}")
    return 0


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a non-negative number, received {text!r}")
    return value


def _add_search_parser(sub) -> None:
    search = sub.add_parser(
        "search",
        help="grid-search hyperparameters by cross-validation, locally or on a Dask cluster",
        description="Cross-validate every combination of the given hyperparameters (each option "
        "takes one or more values) for a scaled NeuralNetClassifier / NeuralNetRegressor, then "
        "print the candidates ranked by mean score and the best parameters. The fits run in "
        "--n-jobs local processes, or on a running Dask cluster with --scheduler ADDRESS.",
    )
    source = search.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=list(datasets.DATASETS), default="moons",
                        help="built-in dataset (default: moons)")
    source.add_argument("--data", metavar="TABLE", help="a CSV or Parquet table with a header row")
    search.add_argument("--target", metavar="COLUMN", help="the column to predict")
    search.add_argument("--task", choices=tabular.TASKS, default="auto", help=_TASK_HELP)
    search.add_argument("--hidden", type=_layer_sizes, nargs="+", default=[(16,), (32, 32)],
                        metavar="SIZES", help="hidden layer sizes to try (default: 16 32,32)")
    search.add_argument("--activation", choices=ACTIVATION_CHOICES, nargs="+",
                        default=["relu"], metavar="NAME",
                        help=f"default: relu; any of {', '.join(ACTIVATION_CHOICES)}")
    search.add_argument("--dropout", type=_rate, nargs="+", default=None, metavar="RATE",
                        help="dropout rates after each hidden layer to try (default: none)")
    search.add_argument("--batch-norm", type=_on_off, nargs="*", default=None, metavar="on|off",
                        help="BatchNormalization after each hidden layer; alone it means on, "
                        "'--batch-norm on off' tries both (default: off)")
    search.add_argument("--loss", choices=sorted(LOSSES), nargs="+", default=None,
                        metavar="NAME", help="losses to try (default: the task's own); any of "
                        f"{', '.join(sorted(LOSSES))}")
    search.add_argument("--learning-rate", type=_positive_float, nargs="+",
                        default=[1e-3, 1e-2], help="default: 0.001 0.01")
    search.add_argument("--alpha", type=_non_negative_float, nargs="+", default=[1e-4],
                        help="L2 strengths, scikit-learn's scale (default: 0.0001)")
    search.add_argument("--epochs", type=_positive_int, default=50, help="default: 50")
    search.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    search.add_argument("--cv", type=_folds, default=3, help="folds (default: 3)")
    search.add_argument("--n-jobs", type=_n_jobs, default=-1,
                        help="local worker processes (default: -1, one per core)")
    search.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    search.add_argument("--seed", type=_non_negative_int, default=0,
                        help="seeds every fit (default: 0)")
    search.add_argument("--top", type=_positive_int, help="print only the best N candidates")
    _add_table_options(search)


def _search(args: argparse.Namespace) -> int:
    import math

    from neuralnet.search import format_results, grid_search

    X, y, source = _load_data(args)
    task = tabular.TargetEncoder(args.task).fit(y, args.target or "label").task_
    if args.scheduler is None:  # one fit at a time must fit here; a cluster's workers are elsewhere
        n_classes = len(set(np.asarray(y).tolist())) if task == "classification" else 0
        n_out = n_classes if n_classes > 2 else 1
        n_in = X.shape[1]
        largest = max(args.hidden, key=lambda h: sum((a + 1) * b for a, b in zip(
            (n_in, *h), (*h, n_out), strict=True)))
        _check_memory((n_in, *largest, n_out), "adam", itemsize=8)  # the estimators' defaults
    table_options = None
    if tabular.is_table(X):
        table_options = {"features": args.features, "drop": args.drop,
                         "categorical": args.categorical, "max_levels": args.max_levels}
        y = y.to_numpy()
    if task == "classification" and not tabular.is_table(X):
        y = y.astype(np.int64)
    if task == "regression":
        # On the target's own scale (150 on diabetes) the networks fit badly; R^2, the score,
        # is the same on the standardised scale.
        y = tabular._numbers(y, args.target, source)
        y = (y - y.mean()) / (y.std() or 1.0)
    grid = {"hidden_layer_sizes": args.hidden, "activation": args.activation,
            "learning_rate": args.learning_rate, "alpha": args.alpha}
    # Only when asked for: the estimators take them as parameters `dropout`, `batch_norm`
    # and `loss`. A bare --batch-norm means on.
    batch_norm = None if args.batch_norm is None else sorted(set(args.batch_norm or [True]))
    grid.update({name: values for name, values in (("dropout", args.dropout),
                                                   ("batch_norm", batch_norm),
                                                   ("loss", args.loss)) if values})
    n = math.prod(len(v) for v in grid.values())
    where = (f"the Dask cluster at {args.scheduler}" if args.scheduler
             else f"local processes (n_jobs={args.n_jobs})")
    print(f"Grid search ({task}): {n} candidates x {args.cv} folds = {n * args.cv} fits on "
          f"{source} ({X.shape[0]} samples, {X.shape[1]} features), on {where}")
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A fixed epoch budget is the point of a search; a warning per fit would drown the table.
        warnings.filterwarnings("ignore", message=".*maximum number of epochs")
        search = grid_search(X, y, grid, task=task, cv=args.cv, n_jobs=args.n_jobs,
                             scheduler=args.scheduler, random_state=args.seed,
                             table_options=table_options, epochs=args.epochs,
                             batch_size=args.batch_size)
    elapsed = time.perf_counter() - start
    print(format_results(search, args.top))
    best = ", ".join(f"{k.removeprefix('net__')}={v!r}" for k, v in search.best_params_.items())
    print(f"best parameters: {best}")
    print(f"best mean {'accuracy' if task == 'classification' else 'R^2'}: "
          f"{search.best_score_:.4f}")
    print(f"searched in {elapsed:.1f} s")
    return 0


def _print_notes(command: str):
    """A ``warnings.showwarning`` printing table notes as one line on stderr each."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, tabular.TableNote):
            print(f"neuralnet {command}: note: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    return show


# ----------------------------------------------------------------- export, serve
_SCALING_NOTE = (
    "A model trained by `neuralnet train` keeps the preprocessing of its table; the graph (or "
    "the server) applies it too, so it takes the raw columns as `neuralnet predict` does. "
)


def _add_export_parser(sub) -> None:
    export = sub.add_parser(
        "export", help="convert a saved model to an ONNX file (needs neuralnet[onnx])",
        description="Write a saved model as an ONNX graph, checked with onnx.checker: input X "
        "[N, n_features]; outputs predictions (what predict returns) and, for a classifier, "
        "labels. " + _SCALING_NOTE,
    )
    export.add_argument("model", metavar="MODEL.npz")
    export.add_argument("output", metavar="OUT.onnx")
    export.add_argument("--opset", type=_positive_int, default=None,
                        help="ONNX operator set (default: 17)")
    export.add_argument("--no-scaling", action="store_true",
                        help="leave the saved scaling out: the graph then takes scaled inputs, "
                        "as model.predict does")


def _export(args: argparse.Namespace) -> int:
    from neuralnet import io, onnx_export

    model = io.load(args.model)
    table = model.preprocessor is not None
    scaling = None if args.no_scaling or table else model.metadata.get("scaling")
    options = {} if args.opset is None else {"opset": args.opset}
    proto = onnx_export.to_onnx(model, args.output, scaling=scaling, **options)
    size = os.path.getsize(args.output)
    print(f"wrote {args.output} ({size / 1024:,.1f} kB, ONNX opset "
          f"{proto.opset_import[0].version}, checked with onnx.checker)")
    for kind, values in (("input", proto.graph.input), ("output", proto.graph.output)):
        for value in values:
            print(f"  {kind:<7} {onnx_export.describe_value(value)}")
    if table:
        print("  one input per table column: the graph encodes them (gaps, levels, scaling) as "
              "`neuralnet predict` does, and answers in the target's labels or units")
    elif scaling is not None:
        print("  the graph standardises X with the scaling saved in the model, as "
              "`neuralnet predict` does (--no-scaling leaves it out)")
    return 0


def _add_serve_parser(sub) -> None:
    serve = sub.add_parser(
        "serve", help="serve a saved model's predictions over HTTP (needs neuralnet[serve])",
        description="Serve a saved model over HTTP: GET /health, POST /predict with "
        '{"instances": [[...], ...]} returns {"predictions": [...]} (and "labels" for a '
        "classifier). A bad request gets a 400 with {\"error\": ...}. " + _SCALING_NOTE
        + "Stops cleanly on SIGTERM or Ctrl-C.",
    )
    serve.add_argument("model", metavar="MODEL.npz")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_argument(int, lambda v: 0 <= v <= 65535, "a port 0-65535"),
                       default=8000, help="default: 8000; 0 picks a free port")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                       default="info", help="info (default) logs one line per request; "
                       "warning and above only problems")
    serve.add_argument("--max-body-bytes", type=_positive_int, default=None, metavar="BYTES",
                       help="refuse larger request bodies with a 400 (default: 1048576, 1 MiB)")
    serve.add_argument("--blas-threads", type=_positive_int, default=None, metavar="N",
                       help="cap the BLAS library's threads (default: leave them); 1 serves "
                       "concurrent requests faster, with outputs that may differ from a "
                       "multi-threaded predict in the last bits")


def _serve(args: argparse.Namespace) -> int:
    from neuralnet import io, serve

    model = io.load(args.model)
    options = {} if args.max_body_bytes is None else {"max_body_bytes": args.max_body_bytes}
    return serve.run(model, host=args.host, port=args.port, log_level=args.log_level,
                     blas_threads=args.blas_threads, model_name=args.model, **options)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", tabular.TableNote)
            warnings.showwarning = _print_notes(args.command)
            return {"train": _train, "predict": _predict, "evaluate": _evaluate, "info": _info,
                    "search": _search, "export": _export,
                    "serve": _serve}[args.command](args)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): point stdout at devnull so the
        # interpreter's final flush does not fail too (the recipe in Python's signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"neuralnet {args.command}: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    except MemoryError as exc:
        message = " ".join(str(exc).split()) or "the operation needs more memory than is free"
        print(f"neuralnet {args.command}: error: not enough memory: {message}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, ImportError, ArithmeticError, RuntimeError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        print(f"neuralnet {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
