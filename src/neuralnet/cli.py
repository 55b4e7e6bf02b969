"""The ``neuralnet`` command line.

    neuralnet train [--dataset NAME | --data FILE.csv --target COLUMN] [--save MODEL.npz]
    neuralnet predict MODEL.npz --input FILE.csv [--output PREDICTIONS.csv]
    neuralnet evaluate MODEL.npz --input FILE.csv --target COLUMN
    neuralnet info MODEL.npz
    neuralnet search [--dataset NAME | --data FILE.csv --target COLUMN] [--scheduler ADDRESS]

CSV files have a header row and numeric columns. A model trained here remembers its feature
columns (by name) and the scaling it applied, so ``predict`` and ``evaluate`` take the same kind
of file. Every error is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from neuralnet import datasets
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
        help="train a network on a built-in dataset and report loss and accuracy",
        description="Train a network on a built-in dataset (default: two moons) and report "
        "the final loss and train/test accuracy.",
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
                       help="default: 0.1 for sgd, the optimizer's own otherwise (adam: 0.001)")
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
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    train.add_argument("--plot", metavar="DIR", default=None,
                       help="write the loss curve (and, for 2-D data, the decision boundary, or "
                       "a regression's prediction surface) as PNGs into DIR (needs matplotlib)")
    train.add_argument("--data", metavar="FILE.csv",
                       help="train on a CSV file (header row, numeric columns) instead of --dataset")
    train.add_argument("--target", metavar="COLUMN", help="the CSV column to predict (with --data)")
    train.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                       help="auto (default): classification when the target holds whole numbers "
                       f"0..{_MAX_AUTO_CLASSES - 1}, regression otherwise")
    train.add_argument("--save", metavar="MODEL.npz", help="save the trained model to this file")

    predict = sub.add_parser("predict", help="write a saved model's predictions for a CSV file",
                             description="Predict with a saved model; writes CSV to stdout or "
                             "--output. Classifiers give the class and its probabilities.")
    predict.add_argument("model", metavar="MODEL.npz")
    predict.add_argument("--input", required=True, metavar="FILE.csv")
    predict.add_argument("--output", metavar="FILE.csv", help="default: standard output")

    evaluate = sub.add_parser("evaluate", help="report a saved model's loss and accuracy on a CSV",
                              description="Evaluate a saved model on a CSV file with targets.")
    evaluate.add_argument("model", metavar="MODEL.npz")
    evaluate.add_argument("--input", required=True, metavar="FILE.csv")
    evaluate.add_argument("--target", required=True, metavar="COLUMN")

    info = sub.add_parser("info", help="show a saved model's layers, shapes and parameters",
                          description="Summarise a saved model file.")
    info.add_argument("model", metavar="MODEL.npz")
    _add_search_parser(sub)
    return parser


# Whole-number targets with at most this many classes are taken for labels by --task auto.
_MAX_AUTO_CLASSES = 20


def _read_csv(path: str) -> tuple[list[str], np.ndarray]:
    """Return the header and the numeric rows of a CSV file; errors name the line and column."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row and numeric rows.")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header):
        duplicated = sorted({n for n in header if header.count(n) > 1})
        raise ValueError(f"{path}: the header names column(s) {duplicated} more than once.")
    if len(rows) == 1:
        raise ValueError(f"{path} has a header but no data rows.")
    values = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(
                f"{path}: data row {i + 1} has {len(row)} values, but the header has "
                f"{len(header)} columns."
            )
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                values[i, j] = np.nan
            if not np.isfinite(values[i, j]):
                raise ValueError(
                    f"{path}: data row {i + 1}, column {header[j]!r} holds {cell.strip()!r}, "
                    "not a finite number; every column must be numeric."
                )
    return header, values


def _columns(path: str, header: list[str], names: list[str]) -> list[int]:
    missing = [n for n in names if n not in header]
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValueError(
            f"{path} has no column(s) {shown}; its columns are: {', '.join(header)}."
        )
    return [header.index(n) for n in names]


def _features_and_target(path: str, model_metadata: dict | None, target: str | None):
    """Return ``X`` (the model's feature columns, scaled as in training), ``y`` and the names."""
    header, values = _read_csv(path)
    y = values[:, _columns(path, header, [target])[0]] if target is not None else None
    meta = model_metadata or {}
    names = meta.get("feature_names") or [n for n in header if n != target]
    X = values[:, _columns(path, header, names)]
    if "scaling" in meta:
        X = (X - np.asarray(meta["scaling"]["mean"])) / np.asarray(meta["scaling"]["scale"])
    return X, y, names


def _scaling(X_train: np.ndarray) -> dict:
    """The per-column mean and standard deviation of the training features (1 where constant)."""
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    return {"mean": X_train.mean(axis=0).tolist(), "scale": std.tolist()}


def _is_classification(y: np.ndarray, task: str) -> bool:
    if task != "auto":
        if task == "classification" and not (np.all(y == np.round(y)) and y.min() >= 0):
            raise ValueError(
                "--task classification needs class labels 0, 1, 2, ... in the target column; "
                f"received values from {y.min():g} to {y.max():g}."
            )
        return task == "classification"
    return bool(np.all(y == np.round(y)) and y.min() >= 0 and y.max() < _MAX_AUTO_CLASSES)


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


def _load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Return ``X``, ``y``, the feature names and where they came from (CSV or built-in)."""
    if args.data is not None:
        if args.target is None:
            raise ValueError("--data needs --target COLUMN: the column to predict.")
        X, y, feature_names = _features_and_target(args.data, None, args.target)
        source = args.data
    else:
        if args.target is not None:
            raise ValueError("--target names a column of a CSV file given with --data.")
        X, y = datasets.load(args.dataset, seed=args.seed)
        feature_names = [f"x{j}" for j in range(X.shape[1])]
        source = args.dataset
    return X, y, feature_names, source


def _train(args: argparse.Namespace) -> int:
    from neuralnet import NeuralNet
    from neuralnet.callbacks import EarlyStopping

    X, y, feature_names, source = _load_data(args)
    classify = _is_classification(y, args.task)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, args.test_size, args.seed)
    scaling = _scaling(X_train)
    X_train, X_test = ((A - scaling["mean"]) / np.asarray(scaling["scale"]) for A in (X_train, X_test))
    n_classes = int(y.max()) + 1 if classify else 0
    loss, n_out, out_activation = _output_layer(args.loss, classify, n_classes)
    sizes = (X.shape[1], *args.hidden, n_out)
    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    activations = [args.activation] * (len(shapes) - 1) + [out_activation]
    if args.dropout or args.batch_norm:
        # BatchNormalization and Dropout after each hidden layer. from_config draws the initial
        # weights as NeuralNet(shapes, ..., seed) would, from one generator that then shuffles.
        after_hidden = [{"class_name": "BatchNormalization"}] if args.batch_norm else []
        if args.dropout:
            after_hidden.append({"class_name": "Dropout", "rate": args.dropout})
        layers = []
        for (n_in, n_out), activation in zip(shapes, activations, strict=True):
            layers += [{"class_name": "FullyConnectedLayer", "n_in": n_in, "n_out": n_out,
                        "activation": activation}, *after_hidden]
        layers = layers[: len(layers) - len(after_hidden)]  # nothing after the output layer
        model = NeuralNet.from_config({"layers": layers, "loss": loss, "dtype": "float32",
                                       "seed": args.seed, "n_features": int(X.shape[1])})
    else:
        model = NeuralNet(shapes, activations=activations, loss=loss, seed=args.seed)
    model.metadata = {
        "feature_names": feature_names,
        "target": args.target or "label",
        "scaling": scaling,
    }
    callbacks = []
    if args.early_stopping is not None:
        if args.validation_split is None:
            raise ValueError(
                "--early-stopping watches the validation loss; give --validation-split too "
                "(e.g. --validation-split 0.2)."
            )
        stopper = EarlyStopping("val_loss", patience=args.early_stopping,
                                restore_best_weights=True)
        callbacks.append(stopper)
    print(
        f"Training {'-'.join(map(str, sizes))} on {source!r} "
        f"({len(X_train)} train / {len(X_test)} test samples) for {args.epochs} epochs "
        f"with {args.optimizer} and {loss}" + (", batch norm" if args.batch_norm else "")
        + (f", dropout {args.dropout:g}" if args.dropout else "")
    )
    start = time.perf_counter()
    # The per-epoch lines (or bar) carry the loss, the metric and val_* as training goes.
    history = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, learning_rate=args.learning_rate,
        validation_split=args.validation_split or 0.0, callbacks=callbacks,
        metrics=["accuracy"] if classify else ["mae"], verbose=0 if args.quiet else 1,
    )
    elapsed = time.perf_counter() - start
    if callbacks and stopper.stopped_epoch is not None:
        print(f"early stopping  after epoch {stopper.stopped_epoch + 1}: best val_loss "
              f"{stopper.best:.4f} at epoch {stopper.best_epoch + 1}, its weights kept")
    train, test = model.evaluate(X_train, y_train), model.evaluate(X_test, y_test)
    print(f"final loss      {history.history['loss'][-1]:.4f}")
    if classify:
        print(f"train accuracy  {train['accuracy']:.2%}")
        print(f"test accuracy   {test['accuracy']:.2%}")
    else:
        print(f"train loss      {train['loss']:.4f}")
        print(f"test loss       {test['loss']:.4f}")
    print(f"trained in      {elapsed:.2f} s")
    if args.plot is not None:
        from neuralnet import plot

        for path in plot.write_training_plots(
            args.plot, model, history, np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
        ):
            print(f"wrote           {path}")
    if args.save is not None:
        model.save(args.save)
        print(f"saved model to  {args.save}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from neuralnet import io

    model = io.load(args.model)
    X, _, _ = _features_and_target(args.input, model.metadata, None)
    outputs = model.predict(X)
    k = model.n_outputs
    if model.is_classifier:
        classes = model.predict_classes(X)
        if k == 1:
            header, rows = ["class", "probability"], np.column_stack([classes, outputs[:, 0]])
        elif model.is_multilabel_or_binary:
            header = [f"class_{j}" for j in range(k)] + [f"probability_{j}" for j in range(k)]
            rows = np.column_stack([classes, outputs])
        else:
            header = ["class"] + [f"probability_{j}" for j in range(k)]
            rows = np.column_stack([classes, outputs])
        n_labels = len(header) - k
    else:
        target = model.metadata.get("target", "prediction")
        header = [target] if k == 1 else [f"{target}_{j}" for j in range(k)]
        rows, n_labels = outputs, 0
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([str(int(v)) for v in row[:n_labels]]
                            + [f"{float(v):.9g}" for v in row[n_labels:]])
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from neuralnet import io

    model = io.load(args.model)
    X, y, _ = _features_and_target(args.input, model.metadata, args.target)
    for name, value in model.evaluate(X, y).items():
        print(f"{name:<9} {value:.2%}" if name == "accuracy" else f"{name:<9} {value:.4f}")
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
    meta = model.metadata
    if meta.get("feature_names"):
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
    source.add_argument("--data", metavar="CSV", help="a CSV file with a header row")
    search.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    search.add_argument("--task", choices=["auto", "classification", "regression"],
                        default="auto", help="auto (default): classification when the target "
                        f"holds whole numbers 0..{_MAX_AUTO_CLASSES - 1}, regression otherwise")
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
    search.add_argument("--cv", type=_positive_int, default=3, help="folds (default: 3)")
    search.add_argument("--n-jobs", type=int, default=-1,
                        help="local worker processes (default: -1, one per core)")
    search.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    search.add_argument("--seed", type=int, default=0, help="seeds every fit (default: 0)")
    search.add_argument("--top", type=_positive_int, help="print only the best N candidates")


def _search(args: argparse.Namespace) -> int:
    import math
    import warnings

    from neuralnet.search import format_results, grid_search

    X, y, _, source = _load_data(args)
    task = "classification" if _is_classification(y, args.task) else "regression"
    if task == "classification":
        y = y.astype(np.int64)
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
                             epochs=args.epochs, batch_size=args.batch_size)
    elapsed = time.perf_counter() - start
    print(format_results(search, args.top))
    best = ", ".join(f"{k.removeprefix('net__')}={v!r}" for k, v in search.best_params_.items())
    print(f"best parameters: {best}")
    print(f"best mean {'accuracy' if task == 'classification' else 'R^2'}: "
          f"{search.best_score_:.4f}")
    print(f"searched in {elapsed:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": _train, "predict": _predict, "evaluate": _evaluate, "info": _info,
                "search": _search}[args.command](args)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): point stdout at devnull so the
        # interpreter's final flush does not fail too (the recipe in Python's signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, ImportError, ArithmeticError, RuntimeError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        print(f"neuralnet {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
