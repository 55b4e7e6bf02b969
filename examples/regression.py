"""Regression: fit y = sin(3x) + noise with a 1-32-32-1 tanh network, a linear output and MSE.

    python examples/regression.py [--quick]

``--quick`` (or NEURALNET_QUICK=1) trains briefly, for the test suite.
"""

import argparse
import os

import numpy as np

from neuralnet import NeuralNet


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(500, 1))
    y = np.sin(3 * X) + rng.normal(scale=0.1, size=X.shape)

    model = NeuralNet(((1, 32), (32, 32), (32, 1)), activations=["tanh", "tanh", "linear"],
                      loss="mse", seed=0)
    history = model.fit(X, y, epochs=40 if args.quick else 300, batch_size=32, optimizer="adam",
                        learning_rate=1e-2, verbose=0)
    grid = np.linspace(-1, 1, 201)[:, None]
    rmse = float(np.sqrt(np.mean((model.predict(grid) - np.sin(3 * grid)) ** 2)))
    print(f"final loss {history.history['loss'][-1]:.4f}, RMSE against sin(3x) {rmse:.3f}")
    return {"loss": history.history["loss"][-1], "rmse": rmse}


if __name__ == "__main__":
    main()
