"""Write the three notebooks of this folder from the cells below, with nbformat.

    python examples/notebooks/build.py          # rewrites 01_basic.ipynb, 02_... and 03_...

The notebooks are the article's three (a basic one, one on cost functions, one on plots),
rebuilt with this library. This file is their source: edit a cell here, run it, commit both.
They are committed without outputs (``tests/test_notebooks.py`` checks that they match this
file and runs every cell); open them in Jupyter, or run
``jupyter execute --inplace examples/notebooks/*.ipynb`` to fill the outputs in.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETUP = (
    "Needs the `notebooks` extra: `pip install -e '.[notebooks]'` from the repository's root "
    "(matplotlib, a Jupyter kernel for this Python, nbclient). Pictures go to `runs/` beside "
    "the notebook."
)

BASIC = [
    ("markdown", """\
# 1. The 2-3-1 network: its shapes and the forward pass

The article this project starts from ("How to build a neural network from scratch with NumPy,
part I") builds a network for binary classification: 2 inputs, 3 hidden neurons and 1 output
neuron whose value is the probability of class 1, with sigmoid activations and the bias absorbed
into each weight matrix. This notebook rebuilds it with `neuralnet` and checks each equation
against the library.

""" + SETUP),
    ("code", """\
import numpy as np
from neuralnet import NeuralNet, add_bias, set_bias_as_weight, sigmoid

model = NeuralNet(layer_shapes=((2, 3), (3, 1)), seed=0)   # sigmoid in every layer
model.summary();"""),
    ("markdown", """\
## Layer weights

The article calls the two weight matrices θ_IH (input to hidden) and θ_HO (hidden to output).
Each has **one row more** than its layer has inputs: `(2, 3)` becomes `(3, 3)` and `(3, 1)`
becomes `(4, 1)`. That last row is the bias (`set_bias_as_weight` is the article's function)."""),
    ("code", """\
theta_IH = model.layers[0].weights
theta_HO = model.layers[1].weights
print("theta_IH", theta_IH.shape, "  theta_HO", theta_HO.shape)
assert theta_IH.shape == set_bias_as_weight((2, 3)) == (3, 3)
assert theta_HO.shape == set_bias_as_weight((3, 1)) == (4, 1)
theta_IH"""),
    ("markdown", """\
"He normal" initialisation draws the input rows from a normal distribution of standard
deviation `sqrt(2 / n_in)`; the bias row starts at zero. On a wide layer the sample standard
deviation shows it:"""),
    ("code", """\
print("bias rows:", theta_IH[-1], theta_HO[-1])
wide = NeuralNet(layer_shapes=((500, 400), (400, 1)), seed=0)
print(f"std of a 500-input layer's weights {wide.layers[0].weights[:-1].std():.4f}, "
      f"sqrt(2 / 500) = {np.sqrt(2 / 500):.4f}")"""),
    ("markdown", """\
## The activation: sigmoid

`sigmoid(z) = 1 / (1 + exp(-z))` squashes any number into (0, 1). The library's version does
not overflow for very negative inputs, where `exp(-z)` would be infinite."""),
    ("code", """\
z = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
sigmoid(z)"""),
    ("markdown", """\
## Bias absorption

A neuron computes `x @ w + b`. Append a constant 1 to the input and the bias to the weights,
and it is one product: `[x, 1] @ [w; b] = x @ w + b`. `add_bias` appends the column of ones."""),
    ("code", """\
x = np.array([[0.5, -1.0]])        # one observation, 2 features
w = np.array([[2.0], [3.0]])       # (n_in, n_out) = (2, 1)
b = np.array([0.25])
W = np.vstack([w, b])              # absorbed: (n_in + 1, n_out) = (3, 1)
print("[x, 1] =", add_bias(x))
print("[x, 1] @ W =", add_bias(x) @ W, "  x @ w + b =", x @ w + b)
assert np.allclose(add_bias(x) @ W, x @ w + b)"""),
    ("markdown", """\
## The forward pass

With `A_0 = X`, each layer computes `A_l = sigmoid([A_{l-1}, 1] @ W_l)`. For the 2-3-1 network
that is two lines, for a batch of observations stacked in rows. Mind the shapes: they are the
whole story."""),
    ("code", """\
X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])   # 4 observations
A0 = X
A1 = sigmoid(add_bias(A0) @ theta_IH)    # (4, 3) @ (3, 3) -> (4, 3)
A2 = sigmoid(add_bias(A1) @ theta_HO)    # (4, 4) @ (4, 1) -> (4, 1): P(class 1) per row
for name, A in [("A0", A0), ("[A0, 1]", add_bias(A0)), ("A1", A1), ("[A1, 1]", add_bias(A1)),
                ("A2", A2)]:
    print(f"{name:8} {A.shape}")
assert np.allclose(model.forward(X), A2, atol=1e-6)   # what the library computes
A2"""),
    ("code", """\
# One observation gives the same row as in the batch: the pass is fully vectorised.
print(model.forward(X[1]), A2[1])
assert np.allclose(model.forward(X[1]), A2[1], atol=1e-6)"""),
    ("markdown", """\
`model.explain` prints one forward and one backward pass with every shape and the formula
applied at each step (the backward pass is the article's part II):"""),
    ("code", """\
trace = model.explain(X, np.array([0, 1, 1, 0]))"""),
    ("markdown", """\
## The network drawn

One line per weight (width by size, red positive, blue negative); the squares are the bias
units, the constant 1 that the last row of each matrix multiplies."""),
    ("code", """\
import os
from IPython.display import Image
from neuralnet import plot

os.makedirs("runs", exist_ok=True)
plot.network(model, path="runs/network_2_3_1.png")
Image(filename="runs/network_2_3_1.png")"""),
]

COST_FUNCTIONS = [
    ("markdown", """\
# 2. Cost functions: binary cross-entropy against mean squared error

The article's part II was to bring the loss function. The output of the 2-3-1 network is a
probability, and two losses come to mind: the binary cross-entropy (BCE)
`L = -mean(y log a + (1 - y) log(1 - a))` and the mean squared error (MSE)
`L = mean((a - y)^2)`. Here are their values, their gradients, and what they do to training.

""" + SETUP),
    ("code", """\
import numpy as np
from neuralnet import NeuralNet, binary_crossentropy, mse

y = np.array([1, 1, 0, 0])
a = np.array([0.9, 0.6, 0.4, 0.01])      # the network's P(class 1) for each sample
bce_by_hand = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
mse_by_hand = np.mean((a - y) ** 2)
print(f"binary cross-entropy {binary_crossentropy(y, a):.4f}   (by hand {bce_by_hand:.4f})")
print(f"mean squared error   {mse(y, a):.4f}   (by hand {mse_by_hand:.4f})")
assert np.isclose(binary_crossentropy(y, a), bce_by_hand, atol=1e-6)
assert np.isclose(mse(y, a), mse_by_hand, atol=1e-6)"""),
    ("markdown", """\
## What a wrong answer costs

The loss of one sample of class 1, as the predicted probability `a` falls. MSE can never cost
more than 1; BCE grows without bound as the network grows sure of the wrong class."""),
    ("code", """\
print(f"{'a = P(class 1)':>15} {'BCE':>7} {'MSE':>7}")
for p in [0.99, 0.9, 0.5, 0.1, 0.01, 0.001]:
    print(f"{p:>15} {binary_crossentropy([1], [p]):7.3f} {mse([1], [p]):7.3f}")"""),
    ("markdown", """\
## What the gradient sees

Back-propagation starts from `dL/dz`, the derivative with respect to the output neuron's input
`z` (with `a = sigmoid(z)`). For BCE the sigmoid's derivative `a (1 - a)` cancels and
`dL/dz = a - y`; for MSE it stays: `dL/dz = 2 (a - y) a (1 - a)`. When the output is saturated
(`a` near 0 or 1) and wrong, MSE's gradient all but vanishes."""),
    ("code", """\
print(f"{'a (y = 1)':>9} {'BCE: a - y':>11} {'MSE: 2 (a - y) a (1 - a)':>26}")
for p in [0.5, 0.1, 0.01, 0.001]:
    print(f"{p:>9} {p - 1:>11.4f} {2 * (p - 1) * p * (1 - p):>26.6f}")"""),
    ("markdown", """\
## Training from a saturated start

The same 2-3-1 network, the same initial weights, except that the output bias starts at -8:
every prediction is about 0.0003, so half the samples are confidently wrong. The library's
own back-propagation shows the gradients at the start, and then both networks train for 60
epochs."""),
    ("code", """\
from neuralnet.datasets import make_moons, train_test_split

X, y = make_moons(1000, noise=0.2, seed=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)

histories = {}
for loss in ["binary_crossentropy", "mse"]:
    model = NeuralNet(layer_shapes=((2, 3), (3, 1)), loss=loss, seed=0)
    model.layers[1].weights[-1] = -8.0     # the output bias: P(class 1) ~ 0.0003 everywhere
    start = np.linalg.norm(model.gradients(X_train, y_train)[1])
    histories[loss] = model.fit(X_train, y_train, epochs=60, batch_size=32, learning_rate=1.0,
                                metrics=["accuracy"], verbose=0)
    accuracy = np.mean((model.predict(X_test)[:, 0] >= 0.5) == y_test)
    print(f"{loss:20}  output layer's gradient norm at the start {start:.2e}   "
          f"test accuracy after 60 epochs {accuracy:.1%}")"""),
    ("code", """\
bce, sq = histories["binary_crossentropy"].history, histories["mse"].history
print(f"{'epoch':>5} | {'BCE loss':>8} {'accuracy':>8} | {'MSE loss':>8} {'accuracy':>8}")
for epoch in [1, 2, 5, 10, 15, 20, 30, 60]:
    i = epoch - 1
    print(f"{epoch:>5} | {bce['loss'][i]:8.4f} {bce['accuracy'][i]:8.1%} | "
          f"{sq['loss'][i]:8.4f} {sq['accuracy'][i]:8.1%}")
assert bce["accuracy"][4] > 0.8 and sq["accuracy"][4] < 0.6   # BCE recovers, MSE is stuck"""),
    ("markdown", """\
The two losses are on different scales, so compare the accuracy: with BCE the network recovers
within an epoch or two; with MSE it stays at chance for many epochs, until the output leaves
saturation. This is why a sigmoid output is paired with the cross-entropy, and why the
library's default loss for it is `binary_crossentropy`."""),
    ("code", """\
import os
from IPython.display import Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

fig = Figure(figsize=(9, 3.5), layout="constrained")
FigureCanvasAgg(fig)
loss_ax, acc_ax = fig.subplots(1, 2)
for name, h in histories.items():
    epochs = np.arange(1, len(h.history["loss"]) + 1)
    loss_ax.plot(epochs, h.history["loss"], label=name)
    acc_ax.plot(epochs, h.history["accuracy"], label=name)
loss_ax.set(title="training loss", xlabel="epoch", yscale="log")
acc_ax.set(title="training accuracy", xlabel="epoch")
acc_ax.legend()
os.makedirs("runs", exist_ok=True)
fig.savefig("runs/bce_vs_mse.png", dpi=80)
Image(filename="runs/bce_vs_mse.png")"""),
]

PLOTS = [
    ("markdown", """\
# 3. Plots, and watching the network learn

The article's code had a `visual_mode` that drew the decision boundary while the network
trained (every mode of it crashed). Here `neuralnet.plot.TrainingAnimation` does it: a callback
that takes a frame every few epochs (the loss so far beside the decision boundary) and writes
them as a GIF when training ends. With `live=True` it also updates one picture in this
notebook as the network trains. Then the static plots.

""" + SETUP),
    ("code", """\
import os
import numpy as np
from IPython.display import Image
from neuralnet import NeuralNet, plot
from neuralnet.datasets import make_moons, train_test_split

os.makedirs("runs", exist_ok=True)
X, y = make_moons(1000, noise=0.2, seed=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)"""),
    ("markdown", """\
## The 2-3-1 network learning the two moons, live

The picture below is updated in place every 10 epochs."""),
    ("code", """\
model = NeuralNet(layer_shapes=((2, 3), (3, 1)), seed=0)     # the article's network
animation = plot.TrainingAnimation(X_train, y_train, "runs/moons.gif", every=10, live=True)
history = model.fit(X_train, y_train, epochs=200, batch_size=32, learning_rate=1.0,
                    validation_data=(X_test, y_test), metrics=["accuracy"], verbose=0,
                    callbacks=[animation])
print(f"{animation.n_frames} frames (epochs {animation.epochs[0]} to {animation.epochs[-1]}), "
      f"{animation.nbytes / 1e6:.1f} MB in memory; "
      f"test accuracy {model.evaluate(X_test, y_test)['accuracy']:.1%}")"""),
    ("markdown", """\
The GIF it wrote (it loops, holding the last frame for 2 seconds). A path ending in `.mp4`
writes a video instead, where ffmpeg is installed (or `pip install 'neuralnet[video]'`)."""),
    ("code", """\
Image(filename="runs/moons.gif")"""),
    ("markdown", """\
`animation.frame(i)` returns frame `i` as an RGB array, for instance to keep one as a PNG:"""),
    ("code", """\
from PIL import Image as PILImage

PILImage.fromarray(animation.frame(0)).save("runs/moons_first_frame.png")
Image(filename="runs/moons_first_frame.png")"""),
    ("markdown", """\
## More than two features: a projection

With more than 2 inputs there is no plane to shade. The frames then show the samples projected
on their first two principal components (computed once from `X`), coloured by the network's
`P(class 1)`, misclassified ones crossed. `LivePlot` is the live picture without a file."""),
    ("code", """\
rng = np.random.default_rng(0)
X5 = np.column_stack([X_train, rng.normal(scale=0.5, size=(len(X_train), 3))])  # 3 noise features
wide = NeuralNet(layer_shapes=((5, 16), (16, 1)), activations=["tanh", "sigmoid"], seed=0)
wide.fit(X5, y_train, epochs=40, batch_size=32, learning_rate=0.3, verbose=0,
         callbacks=[plot.LivePlot(X5, y_train, every=8)]);"""),
    ("markdown", """\
## A regression: the prediction surface

For a regression network on 2 inputs the frames shade its prediction over the plane, on a
colour scale fixed to the targets' range, so the surface can be watched taking their shape."""),
    ("code", """\
Xr = rng.uniform(-2, 2, size=(400, 2))
yr = np.sin(2 * Xr[:, 0]) * np.cos(Xr[:, 1])
regressor = NeuralNet(((2, 32), (32, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
surface = plot.TrainingAnimation(Xr, yr, "runs/surface.gif", every=10)
regressor.fit(Xr, yr, epochs=60, optimizer="adam", learning_rate=0.02, verbose=0,
              callbacks=[surface])
Image(filename="runs/surface.gif")"""),
    ("markdown", """\
## The static plots

Each function of `neuralnet.plot` returns a matplotlib `Figure` and, given `path`, writes a PNG.
The decision boundary of the trained 2-3-1 network on the test set:"""),
    ("code", """\
plot.decision_boundary(model, X_test, y_test, path="runs/boundary.png")
Image(filename="runs/boundary.png")"""),
    ("markdown", """The loss and accuracy per epoch, training and validation:"""),
    ("code", """\
plot.history(history, path="runs/history.png")
Image(filename="runs/history.png")"""),
    ("markdown", """The network, one line per weight, and each layer's weights as histograms:"""),
    ("code", """\
plot.network(model, path="runs/network.png")
Image(filename="runs/network.png")"""),
    ("code", """\
plot.weights(model, path="runs/weights.png")
Image(filename="runs/weights.png")"""),
    ("markdown", """\
What `fit` measured of the network itself, per layer and epoch: the gradient norm, how far
the weights moved, and the fraction of saturated sigmoid units."""),
    ("code", """\
plot.diagnostics(history, path="runs/diagnostics.png")
Image(filename="runs/diagnostics.png")"""),
    ("markdown", """\
The command line does the same: `neuralnet train --plot runs/` writes the static pictures and
`neuralnet train --animate runs/training.gif` the animation (about 100 frames)."""),
]

NOTEBOOKS = {
    "01_basic.ipynb": BASIC,
    "02_cost_functions.ipynb": COST_FUNCTIONS,
    "03_plots_and_animation.ipynb": PLOTS,
}


def notebook(cells: list[tuple[str, str]], stem: str):
    """Return the notebook of ``cells``, without outputs; cell ids are fixed so a rebuild
    gives the same file."""
    import nbformat

    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb = nbformat.v4.new_notebook(metadata={
        # The kernel that ipykernel installs for the Python it is installed in.
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    })
    nb.cells = [new[kind](source, id=f"{stem}-{i:02d}") for i, (kind, source) in enumerate(cells)]
    nbformat.validate(nb)
    return nb


def build(directory: Path = HERE) -> list[Path]:
    """Write every notebook into ``directory``; return their paths."""
    import nbformat

    paths = []
    for name, cells in NOTEBOOKS.items():
        path = Path(directory) / name
        nbformat.write(notebook(cells, name.split("_")[0]), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {path}")
