"""``neuralnet train`` with default options on real tables, against scikit-learn's linear models.

    python benchmarks/tables.py [--seeds 0 1 2]

Each table is written to CSV and trained on by the command line with its defaults
(``neuralnet train --data FILE --target COLUMN --quiet``; ``--seed`` picks the split and the
initial weights). scikit-learn's model is fitted on the same training rows, the same split as
the command line's (``neuralnet.datasets.train_test_split`` of the rows with a target, test
fraction 0.2), with the usual preprocessing (median imputation with missing indicators and
standardisation for numbers, a "missing" level and one-hot for text):

- penguins (palmerpenguins: 344 rows, text and gaps), species: accuracy against
  ``LogisticRegression(max_iter=1000)``;
- diabetes (``load_diabetes(scaled=False)``, target around 150): R^2 against ``Ridge()``;
- breast cancer (``load_breast_cancer``, labels "malignant"/"benign"): accuracy against
  ``LogisticRegression(max_iter=1000)``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from neuralnet import datasets, tabular  # noqa: E402
from neuralnet.cli import main as cli  # noqa: E402


def tables():
    from palmerpenguins import load_penguins
    from sklearn.datasets import load_breast_cancer, load_diabetes

    cancer = load_breast_cancer(as_frame=True)
    return {
        "penguins": (load_penguins(), "species", "classification"),
        "diabetes": (load_diabetes(scaled=False, as_frame=True).frame, "target", "regression"),
        "breast_cancer": (cancer.frame.assign(target=np.asarray(cancer.target_names)[cancer.target]),
                          "target", "classification"),
    }


def sklearn_score(frame, target: str, task: str, seed: int) -> float:
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tabular.TableNote)
        X, y = tabular.split_target(frame, target)
    n = len(X)
    train, test, _, _ = datasets.train_test_split(np.arange(n), np.arange(n), 0.2, seed)
    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    text = make_pipeline(SimpleImputer(strategy="constant", fill_value="<missing>"),
                         OneHotEncoder(handle_unknown="ignore"))
    pre = make_column_transformer((numbers, make_column_selector(dtype_include="number")),
                                  (text, make_column_selector(dtype_exclude="number")))
    model = LogisticRegression(max_iter=1000) if task == "classification" else Ridge()
    pipe = make_pipeline(pre, model).fit(X.iloc[train], y.iloc[train])
    return float(pipe.score(X.iloc[test], y.iloc[test]))  # accuracy, or R^2


def neuralnet_score(path: Path, frame, target: str, task: str, seed: int) -> float:
    """Train with the command line's defaults, then score its saved model on the test rows."""
    import neuralnet

    model_path = path.with_suffix(".npz")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(["train", "--data", str(path), "--target", target, "--quiet", "--seed", str(seed),
                    "--save", str(model_path)])
    if code != 0:
        raise RuntimeError(err.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tabular.TableNote)
        X, y = tabular.split_target(frame, target)
    n = len(X)
    _, test, _, _ = datasets.train_test_split(np.arange(n), np.arange(n), 0.2, seed)
    model = neuralnet.load(model_path)
    X, y = X.iloc[test], y.iloc[test].to_numpy()
    if task == "classification":
        return float(np.mean(model.predict_classes(X) == y))
    pred = model.predict(X)[:, 0]
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(f"{'table':<14} {'score':<9} {'seed':>4}  {'neuralnet':>9}  {'sklearn':>9}  baseline")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (frame, target, task) in tables().items():
            path = Path(tmp) / f"{name}.csv"
            frame.to_csv(path, index=False)
            baseline = "LogisticRegression" if task == "classification" else "Ridge"
            for seed in args.seeds:
                ours = neuralnet_score(path, frame, target, task, seed)
                theirs = sklearn_score(frame, target, task, seed)
                score = "accuracy" if task == "classification" else "R^2"
                print(f"{name:<14} {score:<9} {seed:>4}  {ours:9.4f}  {theirs:9.4f}  {baseline}"
                      f"{'' if ours >= theirs - 1e-9 else '   (below)'}")


if __name__ == "__main__":
    main()
