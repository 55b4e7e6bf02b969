"""Breast cancer: 30 measurements, malignant or benign, one sigmoid output with L2 and validation.

    python examples/breast_cancer.py [--quick]

Needs scikit-learn for the data (``pip install 'neuralnet[datasets]'``). ``--quick`` (or
NEURALNET_QUICK=1) trains briefly, for the test suite.
"""

import argparse
import os

from neuralnet import NeuralNet
from neuralnet.datasets import load_breast_cancer, standardize, train_test_split


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    args = parser.parse_args(argv)

    X, y = load_breast_cancer()  # (569, 30), 1 = benign
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    # Features span 0.001 to 4000: unscaled, the first layer's sigmoids would saturate.
    X_train, X_test = standardize(X_train, X_test)

    model = NeuralNet(((30, 16), (16, 1)), activations=["relu", "sigmoid"], l2=1e-3, seed=0)
    history = model.fit(X_train, y_train, epochs=10 if args.quick else 100, batch_size=32,
                        learning_rate=0.05, validation_split=0.2, metrics=["accuracy"], verbose=0)
    test_accuracy = model.evaluate(X_test, y_test)["accuracy"]
    print(f"validation accuracy {history.history['val_accuracy'][-1]:.2%}, "
          f"test accuracy {test_accuracy:.2%}")
    return {"loss": history.history["loss"][-1], "test_accuracy": test_accuracy}


if __name__ == "__main__":
    main()
