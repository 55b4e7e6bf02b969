"""The ``neuralnet`` command line: ``neuralnet train`` trains on a built-in dataset and reports."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from neuralnet import datasets
from neuralnet.activations import ACTIVATIONS

DEFAULT_HIDDEN = (16, 16)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2, no usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, received {text!r}")
    return value


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
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh",
                       help="hidden-layer activation (default: tanh); the output layer uses "
                       "sigmoid for two classes, softmax for more")
    train.add_argument("--epochs", type=_positive_int, default=200, help="default: 200")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    train.add_argument("--learning-rate", type=_positive_float, default=0.1, help="default: 0.1")
    train.add_argument("--test-size", type=_fraction, default=0.2,
                       help="fraction held out for testing (default: 0.2)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    train.add_argument("--plot", metavar="DIR", default=None,
                       help="write the loss curve (and, for 2-D data, the decision boundary) "
                       "as PNGs into DIR (needs matplotlib)")
    return parser


def _train(args: argparse.Namespace) -> int:
    from neuralnet import NeuralNet

    X, y = datasets.load(args.dataset, seed=args.seed)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, args.test_size, args.seed)
    X_train, X_test = datasets.standardize(X_train, X_test)
    n_classes = int(y.max()) + 1
    binary = n_classes <= 2
    sizes = (X.shape[1], *args.hidden, 1 if binary else n_classes)
    shapes = tuple(zip(sizes[:-1], sizes[1:], strict=True))
    activations = [args.activation] * (len(shapes) - 1) + ["sigmoid" if binary else "softmax"]
    model = NeuralNet(
        shapes,
        activations=activations,
        loss="binary_crossentropy" if binary else "categorical_crossentropy",
        seed=args.seed,
    )
    print(
        f"Training {'-'.join(map(str, sizes))} on {args.dataset!r} "
        f"({len(X_train)} train / {len(X_test)} test samples) for {args.epochs} epochs"
    )
    start = time.perf_counter()
    history = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, verbose=0 if args.quiet else 1,
    )
    elapsed = time.perf_counter() - start
    train, test = model.evaluate(X_train, y_train), model.evaluate(X_test, y_test)
    print(f"final loss      {history.history['loss'][-1]:.4f}")
    print(f"train accuracy  {train['accuracy']:.2%}")
    print(f"test accuracy   {test['accuracy']:.2%}")
    print(f"trained in      {elapsed:.2f} s")
    if args.plot is not None:
        from neuralnet import plot

        for path in plot.write_training_plots(
            args.plot, model, history, np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
        ):
            print(f"wrote           {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": _train}[args.command](args)
    except (ValueError, TypeError, ImportError, FloatingPointError, OSError) as exc:
        print(f"neuralnet {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
