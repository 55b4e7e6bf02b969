"""A scikit-learn pipeline: StandardScaler, then NeuralNetClassifier, cross-validated and tuned.

    python examples/sklearn_pipeline.py [--quick]

Needs scikit-learn (``pip install 'neuralnet[sklearn]'``). ``--quick`` (or NEURALNET_QUICK=1)
trains briefly, for the test suite.
"""

import argparse
import os
import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuralnet.sklearn import NeuralNetClassifier


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    args = parser.parse_args(argv)

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    epochs = 10 if args.quick else 100
    if args.quick:  # stopping before convergence is the point of a quick run
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
    pipeline = make_pipeline(
        StandardScaler(),
        NeuralNetClassifier(hidden_layer_sizes=(16,), max_iter=epochs, learning_rate_init=1e-2,
                            random_state=0),
    )
    scores = cross_val_score(pipeline, X_train, y_train, cv=3)
    print(f"3-fold cross-validated accuracy {scores.mean():.2%} (+/- {scores.std():.2%})")

    search = GridSearchCV(pipeline, {"neuralnetclassifier__hidden_layer_sizes": [(8,), (32,)]}, cv=3)
    search.fit(X_train, y_train)
    test_accuracy = search.score(X_test, y_test)
    print(f"best {search.best_params_}, test accuracy {test_accuracy:.2%}")
    return {"cv_accuracy": float(scores.mean()), "test_accuracy": float(test_accuracy)}


if __name__ == "__main__":
    main()
