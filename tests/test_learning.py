"""The network learns: XOR, two moons and breast cancer, with plain mini-batch gradient descent."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from neuralnet import NeuralNet


def test_xor_with_the_article_network():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    model = NeuralNet(layer_shapes=((2, 3), (3, 1)), seed=0)
    history = model.fit(X, y, epochs=3000, batch_size=4, learning_rate=2.0, verbose=0)
    assert model.evaluate(X, y)["accuracy"] == 1.0
    np.testing.assert_array_equal(model.predict_classes(X), y)
    assert history.history["loss"][-1] < 0.05 < history.history["loss"][0]


def test_two_moons_above_95_percent():
    X, y = make_moons(1000, noise=0.2, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = NeuralNet(((2, 16), (16, 16), (16, 1)), activations=["tanh", "tanh", "sigmoid"], seed=0)
    model.fit(X_train, y_train, epochs=150, batch_size=32, learning_rate=0.1, verbose=0)
    assert model.evaluate(X_test, y_test)["accuracy"] > 0.95


def test_two_moons_with_the_articles_sigmoid_network():
    """The article's all-sigmoid 2-100-100-1 network also gets there (sigmoid learns slower)."""
    X, y = make_moons(1000, noise=0.2, random_state=1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)
    model = NeuralNet(((2, 100), (100, 100), (100, 1)), seed=1)
    model.fit(X_train, y_train, epochs=300, batch_size=64, learning_rate=1.0, verbose=0)
    assert model.evaluate(X_test, y_test)["accuracy"] > 0.95


def test_breast_cancer_above_95_percent():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    model = NeuralNet(((30, 16), (16, 1)), activations=["relu", "sigmoid"], seed=0)
    model.fit(scaler.transform(X_train), y_train, epochs=50, batch_size=32, learning_rate=0.05,
              verbose=0)
    assert model.evaluate(scaler.transform(X_test), y_test)["accuracy"] > 0.95


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_lowers_the_loss(dtype):
    X, y = make_moons(200, noise=0.1, random_state=3)
    model = NeuralNet(((2, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=3, dtype=dtype)
    history = model.fit(X, y, epochs=30, batch_size=16, learning_rate=0.2, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
