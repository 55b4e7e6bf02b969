"""XOR: the four points no line separates, learned by the article's 2-3-1 sigmoid network.

    python examples/xor.py [--quick]

Full-batch gradient descent on the truth table. ``--quick`` (or NEURALNET_QUICK=1) trains
fewer epochs, for the test suite.
"""

import argparse
import os

import numpy as np

from neuralnet import NeuralNet
from neuralnet.datasets import make_xor


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NEURALNET_QUICK", "0") != "0")
    args = parser.parse_args(argv)

    X, y = make_xor()  # [[0, 0], [0, 1], [1, 0], [1, 1]] -> [0, 1, 1, 0]
    model = NeuralNet(layer_shapes=((2, 3), (3, 1)), seed=1)
    history = model.fit(X, y, epochs=1500 if args.quick else 5000, batch_size=4,
                        learning_rate=2.0, verbose=0)
    proba = model.predict(X)[:, 0]
    for x, target, p in zip(X, y, proba, strict=True):
        print(f"{x.astype(int)} -> {p:.3f}   (target {target})")
    accuracy = float(np.mean((proba >= 0.5) == y))
    print(f"final loss {history.history['loss'][-1]:.4f}, accuracy {accuracy:.0%}")
    return {"loss": history.history["loss"][-1], "accuracy": accuracy}


if __name__ == "__main__":
    main()
