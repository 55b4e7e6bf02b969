"""Handwritten digits: 8x8 images, ten classes, a softmax output and categorical cross-entropy.

The images come with scikit-learn (``pip install 'neuralnet[datasets]'``); Adam trains a
64-64-10 ReLU network on the standardized pixels.

    python examples/digits.py [--quick]      # --quick, or NEURALNET_QUICK=1: a few epochs only
"""

import argparse
import os

from neuralnet import NeuralNet
from neuralnet.datasets import load_digits, standardize, train_test_split


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    args = parser.parse_args(argv)

    X, y = load_digits()  # (1797, 64) pixel intensities 0..16, labels 0..9
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    X_train, X_test = standardize(X_train, X_test)

    model = NeuralNet(((64, 64), (64, 10)), activations=["relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    history = model.fit(X_train, y_train, epochs=5 if args.quick else 50, batch_size=32,
                        optimizer="adam", learning_rate=1e-3, verbose=0)
    test_accuracy = model.evaluate(X_test, y_test)["accuracy"]
    print(f"final loss {history.history['loss'][-1]:.4f}, test accuracy {test_accuracy:.2%}")
    return {"loss": history.history["loss"][-1], "test_accuracy": test_accuracy}


if __name__ == "__main__":
    main()
