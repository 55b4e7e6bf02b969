import numpy as np
import pytest

from neuralnet import Callback, FullyConnectedLayer, LayerChain, NeuralNet, add_bias, sigmoid


def article_net(**kwargs):
    return NeuralNet(layer_shapes=((2, 3), (3, 1)), **kwargs)


def test_article_network_defaults():
    model = article_net(seed=0)
    assert isinstance(model.layers, LayerChain) and len(model.layers) == 2
    assert [l.weights.shape for l in model.layers] == [(3, 3), (4, 1)]
    assert [l.activation.name for l in model.layers] == ["sigmoid", "sigmoid"]
    assert model.loss_fn.name == "binary_crossentropy"
    assert model.dtype == np.float32 and all(l.weights.dtype == np.float32 for l in model.layers)
    for layer in model.layers:
        np.testing.assert_array_equal(layer.weights[-1], 0.0)  # bias rows start at zero


def test_forward_is_the_composition_of_the_layers(rng):
    model = article_net(seed=0, dtype="float64")
    X = rng.normal(size=(10, 2))
    W1, W2 = model.get_weights()
    expected = sigmoid(add_bias(sigmoid(add_bias(X) @ W1)) @ W2)
    out = model.forward(X)
    assert out.shape == (10, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(model.forward(X[0]), expected[:1])  # one sample, as in the article


def test_forward_returns_independent_arrays(rng):
    model = article_net(seed=0)
    X = rng.normal(size=(4, 2))
    first = model.forward(X)
    model.forward(X * 10)
    np.testing.assert_allclose(first, model.forward(X))


def test_same_seed_same_weights_different_seed_different():
    a, b, c = article_net(seed=3), article_net(seed=3), article_net(seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_he_normal_weights_in_the_network():
    model = NeuralNet(((500, 400), (400, 1)), seed=0, dtype="float64")
    w = model.layers[0].weights[:-1]
    assert w.std() == pytest.approx(np.sqrt(2 / 500), rel=0.01)


def test_activations_per_layer_or_one_for_all():
    model = NeuralNet(((2, 4), (4, 4), (4, 3)), activations=["relu", "tanh", "softmax"],
                      loss="categorical_crossentropy")
    assert [l.activation.name for l in model.layers] == ["relu", "tanh", "softmax"]
    model = NeuralNet(((2, 4), (4, 1)), activations="tanh")
    assert [l.activation.name for l in model.layers] == ["tanh", "tanh"]
    with pytest.raises(ValueError, match="activations has 3 entries, but layer_shapes has 2 layers"):
        NeuralNet(((2, 4), (4, 1)), activations=["relu", "relu", "relu"])


def test_shapes_that_do_not_chain_name_both_layers():
    with pytest.raises(ValueError, match=r"layer 0 \(2, 3\) has 3 outputs, but layer 1 \(4, 1\) expects 4 inputs"):
        NeuralNet(layer_shapes=((2, 3), (4, 1)))


@pytest.mark.parametrize("bad", [(), None, ((2, 0),), ((2, 3, 4),), "2,3"])
def test_bad_layer_shapes(bad):
    with pytest.raises(ValueError, match="layer_shapes"):
        NeuralNet(layer_shapes=bad)


def test_float64_network():
    model = article_net(dtype="float64")
    assert model.forward(np.zeros((1, 2))).dtype == np.float64


def test_network_from_layers():
    layers = [FullyConnectedLayer(2, 4, "relu"), FullyConnectedLayer(4, 1)]
    model = NeuralNet(layers)
    assert model.layers[0] is layers[0]
    assert model.forward(np.zeros((3, 2))).shape == (3, 1)


def test_get_and_set_weights_validate_shapes():
    model = article_net(seed=0)
    weights = model.get_weights()
    weights[0][0, 0] = 42.0
    assert model.layers[0].weights[0, 0] != 42.0  # get_weights returns copies
    model.set_weights(weights)
    assert model.layers[0].weights[0, 0] == 42.0
    with pytest.raises(ValueError, match=r"weights\[1\] has shape \(3, 1\), but layer 1 expects \(4, 1\)"):
        model.set_weights([weights[0], np.zeros((3, 1))])
    with pytest.raises(ValueError, match="set_weights expects 2 arrays"):
        model.set_weights(weights[:1])


def test_one_gradient_descent_step_worked_by_hand():
    """One SGD step on the 2-3-1 network, every number worked out below.

    x = [1, 2], y = 1, learning rate 0.5.
    W1 = 0 (3x3), so z1 = [x, 1] @ W1 = [0, 0, 0] and h = sigmoid(z1) = [0.5, 0.5, 0.5].
    W2 = [[1], [-1], [2], [0]] (bias row last, 0), so z2 = 0.5 - 0.5 + 1 + 0 = 1
    and a = sigmoid(1) = 0.7310585786300049.
    Output delta (sigmoid + binary cross-entropy, one sample): d2 = a - y = -0.2689414213699951.
    dL/dW2 = [h, 1]^T d2 = [0.5 d2, 0.5 d2, 0.5 d2, d2]
           = [-0.13447071068, -0.13447071068, -0.13447071068, -0.26894142137].
    d1 = (d2 * W2[:-1]^T) * h (1 - h) = d2 * [1, -1, 2] * 0.25
       = [-0.06723535534, 0.06723535534, -0.13447071068].
    dL/dW1 = [x, 1]^T d1: row x1 = 1 * d1, row x2 = 2 * d1, bias row = d1.
    W <- W - 0.5 dL/dW:
      W2 = [[1.06723535534], [-0.93276464466], [2.06723535534], [0.13447071068]]
      W1 = [[ 0.03361767767, -0.03361767767, 0.06723535534],
            [ 0.06723535534, -0.06723535534, 0.13447071068],
            [ 0.03361767767, -0.03361767767, 0.06723535534]]
    """
    model = article_net(dtype="float64")
    model.set_weights([np.zeros((3, 3)), np.array([[1.0], [-1.0], [2.0], [0.0]])])
    model.fit(np.array([[1.0, 2.0]]), np.array([1]), epochs=1, batch_size=1,
              learning_rate=0.5, verbose=0)
    W1, W2 = model.get_weights()
    np.testing.assert_allclose(
        W2, [[1.06723535534], [-0.93276464466], [2.06723535534], [0.13447071068]], atol=1e-10)
    np.testing.assert_allclose(
        W1,
        [[0.03361767767, -0.03361767767, 0.06723535534],
         [0.06723535534, -0.06723535534, 0.13447071068],
         [0.03361767767, -0.03361767767, 0.06723535534]],
        atol=1e-10,
    )


def test_fit_updates_after_every_batch_including_the_last_short_one(rng):
    X = rng.normal(size=(10, 2))
    y = rng.integers(0, 2, size=10)
    model = article_net(seed=1, dtype="float64")
    reference = article_net(seed=1, dtype="float64")
    model.fit(X, y, epochs=1, batch_size=4, learning_rate=0.3, shuffle=False, verbose=0)
    # Three updates, on samples 0-3, 4-7 and the short batch 8-9, each at the new weights.
    for start in (0, 4, 8):
        grads = reference.gradients(X[start:start + 4], y[start:start + 4])
        reference.set_weights([w - 0.3 * g for w, g in zip(reference.get_weights(), grads)])
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_batches_per_epoch_are_counted():
    class Counter(Callback):
        def __init__(self):
            self.batches = []

        def on_batch_end(self, batch, logs=None):
            self.batches.append(logs["size"])

    counter = Counter()
    X, y = np.zeros((10, 2)), np.zeros(10)
    article_net().fit(X, y, epochs=2, batch_size=4, verbose=0, callbacks=[counter])
    assert counter.batches == [4, 4, 2, 4, 4, 2]


def test_history_holds_the_real_mean_loss_of_each_epoch(rng):
    X = rng.normal(size=(12, 2))
    y = rng.integers(0, 2, size=12)
    model = article_net(seed=2, dtype="float64")
    losses = []
    for _ in range(3):  # full batch: each epoch's loss is the loss before its single update
        losses.append(model.loss(X, y))
        model.fit(X, y, epochs=1, batch_size=12, verbose=0)
    fresh = article_net(seed=2, dtype="float64")
    history = fresh.fit(X, y, epochs=3, batch_size=12, verbose=0)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-12)
    assert history.epoch == [0, 1, 2]


def test_epoch_loss_is_the_size_weighted_mean_of_batch_losses(rng):
    X = rng.normal(size=(10, 2))
    y = rng.integers(0, 2, size=10)
    model = article_net(seed=2, dtype="float64")
    reference = article_net(seed=2, dtype="float64")
    expected = 0.0
    for start in (0, 4, 8):
        xb, yb = X[start:start + 4], y[start:start + 4]
        expected += reference.loss(xb, yb) * len(xb)
        g = reference.gradients(xb, yb)
        reference.set_weights([w - 0.1 * gi for w, gi in zip(reference.get_weights(), g)])
    history = model.fit(X, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected / 10, rel=1e-12)


def test_same_seed_same_training_and_shuffling_depends_on_it(rng):
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    a, b, c = article_net(seed=9), article_net(seed=9), article_net(seed=9)
    ha = a.fit(X, y, epochs=3, batch_size=8, verbose=0)
    hb = b.fit(X, y, epochs=3, batch_size=8, verbose=0)
    hc = c.fit(X, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    assert ha.history["loss"] == hb.history["loss"]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history["loss"] != hc.history["loss"]


def test_data_are_reshuffled_every_epoch():
    seen = []

    class Spy(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 0:
                seen.append(self.model.layers[0].inputs[:, 0].copy())

    # Two batches of 4: a full batch is not shuffled, since its gradient does not depend on
    # the order of its rows.
    X = np.arange(16, dtype=float).reshape(8, 2)
    article_net(seed=0).fit(X, np.zeros(8), epochs=3, batch_size=4, verbose=0, callbacks=[Spy()])
    assert set(seen[0]) <= set(X[:, 0]) and len(seen[0]) == 4
    assert not (np.array_equal(seen[0], seen[1]) and np.array_equal(seen[1], seen[2]))


def test_second_fit_continues_from_the_current_weights(rng):
    X = rng.normal(size=(30, 2))
    y = (X.sum(axis=1) > 0).astype(int)
    model = article_net(seed=0)
    first = model.fit(X, y, epochs=5, verbose=0).history["loss"]
    trained = model.get_weights()
    second = model.fit(X, y, epochs=1, verbose=0, shuffle=False, batch_size=30)
    assert second.history["loss"][0] == pytest.approx(model_loss_at(trained, X, y), rel=1e-5)
    assert second.history["loss"][0] < first[0]
    assert model.epoch == 6


def model_loss_at(weights, X, y):
    probe = article_net()
    probe.set_weights(weights)
    return probe.loss(X, y)


def test_predict_in_batches_equals_forward(rng):
    model = NeuralNet(((3, 5), (5, 2)), activations=["tanh", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    X = rng.normal(size=(103, 3))
    np.testing.assert_allclose(model.predict(X, batch_size=10), model.forward(X), rtol=1e-6)
    assert model.predict(X).shape == (103, 2)


def test_evaluate_binary_and_multiclass(rng):
    model = article_net(seed=0, dtype="float64")
    X = rng.normal(size=(40, 2))
    y = rng.integers(0, 2, size=40)
    result = model.evaluate(X, y)
    assert result["loss"] == pytest.approx(model.loss(X, y))
    assert result["accuracy"] == pytest.approx(np.mean((model.forward(X)[:, 0] >= 0.5) == y))

    multi = NeuralNet(((2, 4), (4, 3)), activations=["relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    labels = rng.integers(0, 3, size=40)
    result = multi.evaluate(X, labels)
    assert result["accuracy"] == pytest.approx(np.mean(multi.forward(X).argmax(1) == labels))
    one_hot = multi.evaluate(X, np.eye(3)[labels])
    assert one_hot["accuracy"] == result["accuracy"]
    assert one_hot["loss"] == pytest.approx(result["loss"], rel=1e-6)


def test_predict_classes(rng):
    model = article_net(seed=0)
    X = rng.normal(size=(5, 2))
    np.testing.assert_array_equal(model.predict_classes(X), (model.predict(X)[:, 0] >= 0.5))


def test_binary_targets_as_vector_or_column(rng):
    X = rng.normal(size=(6, 2))
    y = rng.integers(0, 2, size=6)
    model = article_net(seed=0)
    assert model.loss(X, y) == model.loss(X, y[:, None])


def test_targets_of_the_wrong_shape_name_both_shapes(rng):
    model = article_net(seed=0)
    X = rng.normal(size=(6, 2))
    with pytest.raises(ValueError, match=r"y has shape \(6, 2\), but the network's output has shape \(6, 1\)"):
        model.fit(X, np.zeros((6, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"X and y have different numbers of samples: X has 6, y has 5"):
        model.loss(X, np.zeros(5))


def test_wrong_number_of_features():
    with pytest.raises(ValueError, match="X has 3 features, but the network's first layer expects 2"):
        article_net().forward(np.zeros((4, 3)))


@pytest.mark.parametrize("name, value", [("epochs", 0), ("epochs", -3), ("batch_size", 0)])
def test_fit_arguments_are_validated(name, value):
    with pytest.raises(ValueError, match=rf"`{name}`, expected a positive integer. Received: {name}={value}"):
        article_net().fit(np.zeros((2, 2)), np.zeros(2), verbose=0, **{name: value})


def test_no_python_loop_over_samples_in_forward():
    # A batch of a million samples goes through in one vectorised pass per layer.
    model = article_net(seed=0)
    out = model.predict(np.zeros((1_000_000, 2), dtype=np.float32), batch_size=1_000_000)
    assert out.shape == (1_000_000, 1)


def test_float32_end_to_end(rng):
    model = article_net(seed=0)
    model.fit(rng.normal(size=(20, 2)), rng.integers(0, 2, 20), epochs=2, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(rng.normal(size=(3, 2))).dtype == np.float32


def test_verbose_fit_prints_one_line_per_epoch(capsys, rng):
    article_net(seed=0).fit(rng.normal(size=(8, 2)), rng.integers(0, 2, 8), epochs=3)
    err = capsys.readouterr().err
    assert err.count("Epoch ") == 3 and "Epoch 3/3" in err and "loss: " in err
