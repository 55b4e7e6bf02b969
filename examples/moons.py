"""Two moons: the article's binary problem, a 2-16-16-1 tanh network, and its pictures.

    python examples/moons.py [--quick] [--plot DIR]

``--quick`` (or NEURALNET_QUICK=1) trains briefly, for the test suite.
"""

import argparse
import os

from neuralnet import NeuralNet
from neuralnet.datasets import make_moons, standardize, train_test_split


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    parser.add_argument("--plot", metavar="DIR", help="write the loss curve and decision boundary")
    args = parser.parse_args(argv)

    X, y = make_moons(1000, noise=0.2, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    X_train, X_test = standardize(X_train, X_test)

    model = NeuralNet(((2, 16), (16, 16), (16, 1)), activations=["tanh", "tanh", "sigmoid"], seed=0)
    history = model.fit(X_train, y_train, epochs=30 if args.quick else 300, batch_size=32,
                        learning_rate=0.1, validation_data=(X_test, y_test),
                        metrics=["accuracy"], verbose=0)
    result = {"loss": history.history["loss"][-1],
              "test_accuracy": model.evaluate(X_test, y_test)["accuracy"]}
    print(f"final loss {result['loss']:.4f}, test accuracy {result['test_accuracy']:.2%}")
    if args.plot:
        from neuralnet import plot

        for path in plot.write_training_plots(args.plot, model, history, X_test, y_test):
            print("wrote", path)
    return result


if __name__ == "__main__":
    main()
