"""The plots: each rendered headless to a PNG, the file and the figure's contents checked."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import imread

import neuralnet
from neuralnet import NeuralNet, plot
from neuralnet.datasets import make_moons

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    X, y = make_moons(120, noise=0.2, seed=0)
    model = NeuralNet(((2, 6), (6, 1)), activations=["tanh", "sigmoid"], seed=0)
    history = model.fit(X, y, epochs=5, verbose=0, metrics=["accuracy"], validation_split=0.25)
    return model, X, y, history


def _check_png(path, fig):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    height, width = imread(path).shape[:2]
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 100), round(h_in * 100))


def test_decision_boundary(trained, tmp_path):
    model, X, y, _ = trained
    path = tmp_path / "boundary.png"
    fig = plot.decision_boundary(model, X, y, path=path, resolution=50)
    assert isinstance(fig, Figure)
    _check_png(path, fig)
    ax, colorbar = fig.axes  # the plane, and the probability scale
    assert colorbar.get_ylabel() == "P(class 1)"
    assert ax.get_title() == "Decision boundary"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert [list(c.levels) for c in contours if len(c.levels) == 1] == [[0.5]]  # the boundary
    assert any(len(c.levels) == 11 for c in contours)  # the shaded probabilities
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1
    np.testing.assert_allclose(points[0].get_offsets(), X)
    np.testing.assert_array_equal(points[0].get_array(), y)
    # The shading spans the data plus a margin.
    x0, x1 = ax.get_xlim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()


def test_decision_boundary_for_several_classes(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    X = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])[y] + rng.normal(size=(90, 2))
    model = NeuralNet(((2, 8), (8, 3)), activations=["relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    model.fit(X, y, epochs=3, verbose=0)
    fig = plot.decision_boundary(model, X, np.eye(3)[y], resolution=30)
    (ax,) = fig.axes
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert any(list(c.levels) == [0.5, 1.5, 2.5] for c in contours)  # class borders
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(points[0].get_array(), y)


def test_decision_boundary_rejects_what_it_cannot_draw(trained):
    model, X, y, _ = trained
    wide = NeuralNet(((3, 2), (2, 1)), seed=0)
    with pytest.raises(ValueError, match="decision_boundary draws networks with 2 inputs; this one has 3"):
        plot.decision_boundary(wide, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\); received shape \(4,\)"):
        plot.decision_boundary(model, np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="X has 120, y has 3"):
        plot.decision_boundary(model, X, y[:3])
    with pytest.raises(ValueError, match=r"`resolution`, expected an integer >= 2. Received: resolution=1"):
        plot.decision_boundary(model, X, y, resolution=1)
    with pytest.raises(TypeError, match="model must be a NeuralNet; received str"):
        plot.decision_boundary("model", X, y)
    with pytest.raises(TypeError, match=r"path must be a file name \(str or os.PathLike\); received int"):
        plot.decision_boundary(model, X, y, path=3, resolution=5)


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 2))
    y = X[:, 0] - 2 * X[:, 1]
    model = NeuralNet(((2, 8), (8, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
    history = model.fit(X, y, epochs=40, verbose=0, optimizer="adam", learning_rate=0.05)
    return model, X, y, history


def test_prediction_surface_shades_the_prediction_and_colours_the_dots_on_one_scale(
    regression, tmp_path
):
    model, X, y, _ = regression
    path = tmp_path / "surface.png"
    fig = plot.prediction_surface(model, X, y, path=path, resolution=40)
    _check_png(path, fig)
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "prediction"
    assert ax.get_title() == "Prediction surface"
    (shade,) = [c for c in ax.collections if hasattr(c, "levels")]
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), X)
    np.testing.assert_allclose(points.get_array(), y)
    # The shade is the network's output on the grid: its levels span that output and the
    # targets, and the dots use the same colour limits.
    gx = np.linspace(X[:, 0].min() - 0.1 * np.ptp(X[:, 0]), X[:, 0].max() + 0.1 * np.ptp(X[:, 0]), 40)
    gy = np.linspace(X[:, 1].min() - 0.1 * np.ptp(X[:, 1]), X[:, 1].max() + 0.1 * np.ptp(X[:, 1]), 40)
    xx, yy = np.meshgrid(gx, gy)
    grid = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))
    lo, hi = min(grid.min(), y.min()), max(grid.max(), y.max())
    np.testing.assert_allclose([shade.levels[0], shade.levels[-1]], [lo, hi], rtol=1e-6)
    np.testing.assert_allclose(points.get_clim(), (lo, hi), rtol=1e-6)
    # A network that learnt y = x1 - 2 x2 is highest where x2 is lowest.
    assert grid[:, 0].reshape(xx.shape)[0].mean() > grid[:, 0].reshape(xx.shape)[-1].mean()


def test_prediction_surface_draws_the_chosen_output_and_checks_its_arguments(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    Y = np.column_stack([X[:, 0], 3 * X[:, 1]])
    model = NeuralNet(((2, 4), (4, 2)), activations=["tanh", "linear"], loss="mse", seed=0)
    model.fit(X, Y, epochs=3, verbose=0)
    fig = plot.prediction_surface(model, X, Y, output=1, resolution=10)
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "output 1"
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_array(), Y[:, 1])
    with pytest.raises(ValueError, match=r"`output`, expected an integer in \[0, 2\). Received: output=2"):
        plot.prediction_surface(model, X, Y, output=2)
    with pytest.raises(ValueError, match="prediction_surface draws networks with 2 inputs; this one has 3"):
        plot.prediction_surface(NeuralNet(((3, 2), (2, 1)), loss="mse"), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="X has 60, y has 5"):
        plot.prediction_surface(model, X, Y[:5])
    with pytest.raises(ValueError, match=r"y must have shape \(n_samples,\) or \(n_samples, 2\); "
                                         r"received shape \(60, 3\)"):
        plot.prediction_surface(model, X, np.zeros((60, 3)))
    with pytest.raises(TypeError, match="model must be a NeuralNet; received str"):
        plot.prediction_surface("model", X, Y)


def test_decision_boundary_refuses_a_regression_network_and_names_the_plot_to_use(regression):
    model, X, y, _ = regression
    with pytest.raises(ValueError, match="decision_boundary draws classifiers; this network is a "
                                         "regression \\(loss 'mse'\\): draw it with prediction_surface"):
        plot.decision_boundary(model, X, y)


def test_history_plots_loss_and_every_metric_train_and_validation(trained, tmp_path):
    _, _, _, history = trained
    path = tmp_path / "history.png"
    fig = plot.history(history, path=str(path))
    _check_png(path, fig)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    for ax, name in zip(fig.axes, ["loss", "accuracy"], strict=True):
        lines = ax.get_lines()
        assert [ln.get_label() for ln in lines] == ["train", "validation"]
        np.testing.assert_allclose(lines[0].get_ydata(), history.history[name])
        np.testing.assert_allclose(lines[1].get_ydata(), history.history[f"val_{name}"])
        np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 6))
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == name
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]
    assert fig.axes[0].get_yscale() == "log"


def test_history_takes_a_plain_dict_and_rejects_bad_input():
    fig = plot.history({"loss": [1.0, 0.5, 0.25], "mae": [2.0, 1.0, 0.5]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    with pytest.raises(TypeError, match="history must be a History or a dict of per-epoch lists; received list"):
        plot.history([1.0, 0.5])
    with pytest.raises(ValueError, match="history is empty; train for at least one epoch"):
        plot.history({"loss": []})


def test_network_draws_every_weight_and_marks_the_bias_units(trained, tmp_path):
    model, *_ = trained
    path = tmp_path / "network.png"
    fig = plot.network(model, path=path)
    _check_png(path, fig)
    (ax,) = fig.axes
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    assert len(lines.get_segments()) == weights.size == (2 + 1) * 6 + (6 + 1) * 1
    # Width grows with |w|; red for positive weights, blue for negative.
    widths = np.asarray(lines.get_linewidths())
    order_w = np.concatenate([
        np.concatenate([w[:-1], w[-1:]]).ravel() for w in model.get_weights()
    ])
    assert np.argmax(widths) == np.argmax(np.abs(order_w))
    colors = lines.get_colors()
    assert (colors[order_w > 0, 0] > colors[order_w > 0, 2]).all()
    assert (colors[order_w < 0, 2] > colors[order_w < 0, 0]).all()
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    neurons = [len(c.get_offsets()) for c in markers if c.get_gid() == "neurons"]
    assert neurons == [2, 6, 1]
    assert [len(c.get_offsets()) for c in markers if c.get_gid() == "bias"] == [1, 1]
    bias_texts = [t for t in ax.texts if t.get_text() == "+1"]
    assert len(bias_texts) == 2  # one bias unit feeding each layer
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["weights", "neurons", "bias units (+1)"]
    assert ax.get_title().startswith("Network: 2-6-1")


def test_network_caps_wide_layers():
    model = NeuralNet(((2, 50), (50, 1)), seed=0)
    fig = plot.network(model, max_units=10)
    (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == (2 + 1) * 10 + (10 + 1) * 1
    assert any("first 10 of 50" in t.get_text() for t in fig.axes[0].texts)


def test_weights_histograms_one_per_layer(trained, tmp_path):
    model, *_ = trained
    path = tmp_path / "weights.png"
    fig = plot.weights(model, path=path, bins=10)
    _check_png(path, fig)
    assert [ax.get_title() for ax in fig.axes] == [
        "layer 1: W 3x6 (tanh)",
        "layer 2: W 7x1 (sigmoid)",
    ]
    for ax, w in zip(fig.axes, model.get_weights(), strict=True):
        # Two histograms of 10 bins: the input rows, then the bias row; counts add up.
        assert len(ax.patches) == 20
        assert sum(p.get_height() for p in ax.patches[:10]) == w[:-1].size
        assert sum(p.get_height() for p in ax.patches[10:]) == w.shape[1]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["weights", "bias row"]


@pytest.mark.parametrize(
    "hidden",
    [("matplotlib",), ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg",
                       "matplotlib.collections")],
    ids=["package", "package-and-submodules"],
)
def test_missing_matplotlib_names_the_extra(monkeypatch, trained, hidden):
    model, X, y, history = trained
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    calls = [
        lambda: plot.decision_boundary(model, X, y),
        lambda: plot.prediction_surface(model, X, y),
        lambda: plot.history(history),
        lambda: plot.network(model),
        lambda: plot.weights(model),
        lambda: plot.diagnostics(history),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r"pip install 'neuralnet\[plot\]'"):
            call()


def test_plotting_is_headless_and_import_neuralnet_stays_light(tmp_path):
    code = (
        "import sys, neuralnet\n"
        "assert 'matplotlib' not in sys.modules, 'import neuralnet imported matplotlib'\n"
        "from neuralnet import NeuralNet, plot\n"
        "assert 'matplotlib' not in sys.modules, 'import neuralnet.plot imported matplotlib'\n"
        "m = NeuralNet(((2, 3), (3, 1)), seed=0)\n"
        f"plot.network(m, path={str(tmp_path / 'n.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    src = str(Path(neuralnet.__file__).resolve().parents[1])
    env = {"PYTHONPATH": src, "MPLBACKEND": "", "DISPLAY": "", "MPLCONFIGDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "n.png").read_bytes()[:8] == PNG_MAGIC


def test_write_training_plots(trained, tmp_path):
    model, X, y, history = trained
    paths = plot.write_training_plots(tmp_path / "runs", model, history, X, y)
    assert paths == [str(tmp_path / "runs" / "loss.png"), str(tmp_path / "runs" / "decision_boundary.png")]
    assert all(Path(p).read_bytes()[:8] == PNG_MAGIC for p in paths)
    wide = NeuralNet(((3, 2), (2, 1)), seed=0)
    assert plot.write_training_plots(tmp_path / "wide", wide, history, np.zeros((4, 3)), np.zeros(4)) == [
        str(tmp_path / "wide" / "loss.png")
    ]
    with pytest.raises(TypeError, match=r"directory must be a path \(str or os.PathLike\); received int"):
        plot.write_training_plots(1, model, history)


def test_write_training_plots_draws_a_regression_network_as_its_prediction_surface(
    regression, tmp_path
):
    model, X, y, history = regression
    paths = plot.write_training_plots(tmp_path, model, history, X, y)
    assert paths == [str(tmp_path / "loss.png"), str(tmp_path / "prediction.png")]
    assert all(Path(p).read_bytes()[:8] == PNG_MAGIC for p in paths)


def test_cli_train_plot_writes_the_pictures_and_says_where(capsys, tmp_path):
    from neuralnet.cli import main

    out_dir = tmp_path / "runs"
    argv = ["train", "--epochs", "3", "--quiet", "--plot", str(out_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = ["loss.png", "decision_boundary.png"]
    for name in expected:
        assert (out_dir / name).read_bytes()[:8] == PNG_MAGIC
        assert f"wrote           {out_dir / name}" in out
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(expected)



def test_diagnostics_plots_one_line_per_layer_where_it_applies(tmp_path):
    X, y = make_moons(100, noise=0.2, seed=0)
    model = NeuralNet(((2, 6), (6, 4), (4, 1)), activations=["relu", "tanh", "sigmoid"], seed=0)
    history = model.fit(X, y, epochs=4, verbose=0)
    path = tmp_path / "diagnostics.png"
    fig = plot.diagnostics(history, path=path)
    _check_png(path, fig)
    grad, ratio, dead, saturated = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ["grad_norm", "update_ratio", "dead_relu", "saturated"]
    for ax in (grad, ratio):
        assert [ln.get_label() for ln in ax.get_lines()] == ["layer 1", "layer 2", "layer 3"]
    assert [ln.get_label() for ln in dead.get_lines()] == ["layer 1"]  # the only ReLU layer
    assert [ln.get_label() for ln in saturated.get_lines()] == ["layer 2", "layer 3"]
    np.testing.assert_allclose(grad.get_lines()[2].get_ydata(),
                               [row[2] for row in history.diagnostics["grad_norm"]])
    np.testing.assert_array_equal(grad.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    with pytest.raises(TypeError, match="history must be the History returned by fit; received dict"):
        plot.diagnostics({"loss": [1.0]})
    from neuralnet.callbacks import History

    with pytest.raises(ValueError, match="history has no diagnostics; train for at least one epoch first"):
        plot.diagnostics(History())
