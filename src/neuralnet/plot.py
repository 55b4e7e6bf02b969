"""Pictures of a network learning: decision boundary or prediction surface, loss curves, the
network drawn, weight histograms.

Every function returns a ``matplotlib.figure.Figure`` and, given ``path``, also writes it as a
PNG. Figures are built with the object API on the Agg canvas, never through ``pyplot``, so they
render headless (servers, CI) and leave no global state behind. matplotlib is an optional extra:
``pip install 'neuralnet[plot]'``.

``TrainingAnimation`` (a GIF or MP4 of training) and ``LivePlot`` (a notebook figure updated as
the network trains) are callbacks for ``fit``, defined in ``neuralnet.animation``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # loaded on first use by __getattr__ below
    from neuralnet.animation import LivePlot, TrainingAnimation

__all__ = [
    "LivePlot",
    "TrainingAnimation",
    "decision_boundary",
    "diagnostics",
    "history",
    "network",
    "prediction_surface",
    "weights",
    "write_training_plots",
]

_DPI = 100


def _figure(figsize: tuple[float, float]):
    """Return a new ``Figure`` on an Agg canvas, or raise ImportError naming the extra."""
    try:
        # The package itself first: submodules already in sys.modules would import anyway.
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "neuralnet.plot needs matplotlib, which is not installed; "
            "install it with: pip install 'neuralnet[plot]'"
        ) from None
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike | None):
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"path must be a file name (str or os.PathLike); received {type(path).__name__}."
            )
        fig.savefig(path, format="png", dpi=_DPI)
    return fig


def _dense_layers(model) -> list:
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(layers, "dense"):
        raise TypeError(f"model must be a NeuralNet; received {type(model).__name__}.")
    return layers.dense


def decision_boundary(
    model,
    X,
    y,
    path: str | os.PathLike | None = None,
    resolution: int = 200,
    title: str | None = None,
):
    """Plot the network's class probability over the plane of 2-D inputs, the 0.5 contour and ``X``.

    For one sigmoid output the shading is ``P(class 1 | x)`` on a ``resolution x resolution``
    grid spanning ``X`` (plus a margin) and the line is its 0.5 level set, the decision boundary.
    For a margin (a hinge loss's linear output) the shading is the margin and the line its 0
    level set (the loss's ``decision_threshold``).
    With several outputs the shading is the arg-max class and the lines separate the classes.
    A regression network has no decision boundary: ``prediction_surface`` draws it.

    Args:
        model: a ``NeuralNet`` classifier with 2 inputs.
        X: points ``(n_samples, 2)``, drawn as dots coloured by ``y``.
        y: labels ``(n_samples,)`` (or one-hot ``(n_samples, k)``).
        path: write the figure there as a PNG.
    """
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    X, labels, xx, yy = _plane(model, X, labels.reshape(-1), resolution, "decision_boundary")
    if not model.is_classifier:
        raise ValueError(
            f"decision_boundary draws classifiers; this network is a regression (loss "
            f"{model.loss_fn.name!r}): draw it with prediction_surface."
        )
    proba = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))
    fig = _figure((6, 5))
    ax = fig.add_subplot()
    shade = _shade_classes(ax, proba, xx, yy, model.loss_fn.decision_threshold)
    if proba.shape[1] == 1:
        cut = model.loss_fn.decision_threshold
        label = "P(class 1)" if cut is None or cut == 0.5 else f"margin (class 1 from {cut:g})"
        fig.colorbar(shade, ax=ax, label=label)
    _scatter_classes(ax, X, labels, proba.shape[1])
    return _label_plane(ax, path, title or "Decision boundary")


def prediction_surface(
    model,
    X,
    y,
    path: str | os.PathLike | None = None,
    resolution: int = 200,
    title: str | None = None,
    output: int = 0,
):
    """Plot one output of a network with 2 inputs over their plane, and ``X`` coloured by ``y``.

    The shading is the network's ``output``-th output on a ``resolution x resolution`` grid
    spanning ``X`` (plus a margin); the dots are the samples, coloured by their target on the
    same scale, so a dot that stands out from the shade around it is a sample the network gets
    wrong. Made for regression networks; on a classifier it shows one output's probability.

    Args:
        model: a ``NeuralNet`` with 2 inputs.
        X: points ``(n_samples, 2)``.
        y: targets ``(n_samples,)``, or ``(n_samples, n_outputs)`` of which column ``output``
            is drawn.
        path: write the figure there as a PNG.
        output: which output to draw.
    """
    _dense_layers(model)
    n_outputs = model.n_outputs
    if isinstance(output, bool) or not isinstance(output, int) or not 0 <= output < n_outputs:
        raise ValueError(
            f"Received an invalid value for `output`, expected an integer in [0, {n_outputs}). "
            f"Received: output={output!r}"
        )
    values = np.asarray(y, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] in (1, n_outputs):
        values = values[:, min(output, values.shape[1] - 1)]
    if values.ndim != 1:
        raise ValueError(
            f"y must have shape (n_samples,) or (n_samples, {n_outputs}); "
            f"received shape {values.shape}."
        )
    X, values, xx, yy = _plane(model, X, values.reshape(-1), resolution, "prediction_surface")
    zz = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))[:, output].reshape(xx.shape)
    # One colour scale for the shade and the dots: the range of both together.
    lo, hi = min(zz.min(), values.min()), max(zz.max(), values.max())
    levels = np.linspace(lo, hi, 16) if hi > lo else np.array([lo - 0.5, lo + 0.5])
    fig = _figure((6, 5))
    ax = fig.add_subplot()
    shade = _shade_values(ax, zz, xx, yy, levels)
    fig.colorbar(shade, ax=ax, label="prediction" if n_outputs == 1 else f"output {output}")
    _scatter_values(ax, X, values, levels)
    return _label_plane(ax, path, title or "Prediction surface")


def _plane(model, X, targets: np.ndarray, resolution, caller: str) -> tuple:
    """Check a plot of a 2-input network over the plane of ``X``; return ``X`` (float), the
    targets, and the ``resolution x resolution`` grid ``xx, yy`` spanning ``X`` plus a margin."""
    _dense_layers(model)
    if model.n_features != 2:
        raise ValueError(f"{caller} draws networks with 2 inputs; this one has {model.n_features}.")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"X must have shape (n_samples, 2); received shape {X.shape}.")
    if len(targets) != len(X):
        raise ValueError(
            f"X and y have different numbers of samples: X has {len(X)}, y has {len(targets)}."
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(
            f"Received an invalid value for `resolution`, expected an integer >= 2. "
            f"Received: resolution={resolution!r}"
        )
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.maximum(hi - lo, 1e-9)
    gx = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    gy = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    return X, targets, xx, yy


def _shade_classes(ax, proba: np.ndarray, xx: np.ndarray, yy: np.ndarray, cut=None):
    """Shade a classifier's output ``proba`` ``(resolution**2, k)`` over the grid ``xx, yy``.

    One sigmoid output: ``P(class 1)`` in ten bands of 0.1 and its 0.5 contour, the decision
    boundary; a margin whose class 1 starts at ``cut`` (a hinge loss's 0): a scale centred
    there and its ``cut`` contour. Several outputs: the arg-max class, with lines between the
    classes. Returns the shading (a ``ContourSet``, for a colorbar); contours absent from the
    data are not drawn.
    """
    if proba.shape[1] == 1:
        zz = proba[:, 0].reshape(xx.shape)
        if cut is None or cut == 0.5:
            cut, levels = 0.5, np.linspace(0, 1, 11)
        else:
            span = max(float(np.abs(zz - cut).max()), 1e-12)
            levels = np.linspace(cut - span, cut + span, 11)
        shade = ax.contourf(xx, yy, zz, levels=levels, cmap="RdBu_r", alpha=0.6)
        if zz.min() < cut < zz.max():
            ax.contour(xx, yy, zz, levels=[cut], colors="k", linewidths=2)
        return shade
    zz = proba.argmax(axis=1).reshape(xx.shape)
    k = proba.shape[1]
    # Class i takes tab10's colour i, in the shading and in _scatter_classes alike.
    shade = ax.contourf(xx, yy, zz, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=0,
                        vmax=max(k - 1, 9), alpha=0.35)
    if zz.min() < zz.max():
        ax.contour(xx, yy, zz, levels=np.arange(k) + 0.5, colors="k", linewidths=1)
    return shade


def _scatter_classes(ax, X: np.ndarray, labels: np.ndarray, n_outputs: int, **kwargs):
    """Draw the points ``X`` ``(n_samples, 2)`` coloured by class, on ``_shade_classes``'s scale.

    ``labels`` are class indices, or for one sigmoid output (``n_outputs == 1``) 0/1 labels or
    probabilities of class 1.
    """
    cmap, top = ("RdBu_r", 1) if n_outputs == 1 else ("tab10", max(n_outputs - 1, 9))
    style = {"edgecolors": "k", "linewidths": 0.5, "s": 15, **kwargs}
    return ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=cmap, vmin=0, vmax=top, **style)


def _shade_values(ax, zz: np.ndarray, xx: np.ndarray, yy: np.ndarray, levels: np.ndarray,
                  extend: str = "neither"):
    """Shade the values ``zz`` (shaped like ``xx``) over the grid in the bands ``levels``.

    With ``extend="both"`` values beyond the outer levels take the end colours instead of
    none, so a scale fixed in advance (an animation's) stays readable.
    """
    return ax.contourf(xx, yy, zz, levels=levels, cmap="viridis", alpha=0.7, extend=extend)


def _scatter_values(ax, X: np.ndarray, values: np.ndarray, levels: np.ndarray, **kwargs):
    """Draw the points ``X`` ``(n_samples, 2)`` coloured by ``values``, on ``levels``' scale."""
    style = {"edgecolors": "k", "linewidths": 0.5, "s": 15, **kwargs}
    return ax.scatter(X[:, 0], X[:, 1], c=values, cmap="viridis", vmin=levels[0],
                      vmax=levels[-1], **style)


def _label_plane(ax, path, title: str):
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    return _save(ax.figure, path)


def history(history, path: str | os.PathLike | None = None):
    """Plot the loss and every metric of a training run per epoch, training and ``val_*`` alike.

    One panel per quantity (``loss``, ``accuracy``, ...); each shows the training curve and,
    when recorded, the validation curve ``val_<name>``.

    Args:
        history: the ``History`` returned by ``fit``, or its ``history`` dict.
        path: write the figure there as a PNG.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"history must be a History or a dict of per-epoch lists; "
            f"received {type(history).__name__}."
        )
    if not any(len(v) for v in logs.values()):
        raise ValueError("history is empty; train for at least one epoch before plotting it.")
    names = [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    fig = _figure((5 * len(names), 4))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            values = logs.get(key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        if name == "loss" and all(v > 0 for v in logs[name] if np.isfinite(v)):
            ax.set_yscale("log")
        ax.legend()
    return _save(fig, path)


_history = history  # for write_training_plots, whose argument shadows the name


def network(model, path: str | os.PathLike | None = None, max_units: int = 32):
    """Draw the network: neurons as circles, bias units as squares, one line per weight.

    A line's width grows with ``|w|`` and its colour gives the sign (red positive, blue
    negative), so the absorbed matrix ``W_l`` of shape ``(n_in + 1, n_out)`` is drawn as
    ``(n_in + 1) * n_out`` lines, its last row leaving the bias unit ``+1``.

    Args:
        model: a ``NeuralNet``.
        path: write the figure there as a PNG.
        max_units: layers wider than this are drawn with their first ``max_units`` units.
    """
    dense = _dense_layers(model)
    sizes = [dense[0].n_in] + [l.n_out for l in dense]
    shown = [min(s, max_units) for s in sizes]
    height = max(shown) + 1
    fig = _figure((2.2 * len(sizes) + 1, max(3.0, 0.45 * height + 1)))
    from matplotlib.collections import LineCollection  # after _figure: it checked matplotlib
    ax = fig.add_subplot()

    def unit_y(n: int) -> np.ndarray:
        # Centre each column; the bias unit sits one step below the last neuron.
        return (height - 1) / 2 - (np.arange(n + 1) - n / 2)

    limit = max(float(np.abs(l.weights).max()) for l in dense) or 1.0
    segments, colors, widths = [], [], []
    for l, layer in enumerate(dense):
        n_in, n_out = shown[l], shown[l + 1]
        y_in, y_out = unit_y(n_in), unit_y(n_out)[:-1]
        W = layer.weights
        rows = list(range(n_in)) + [W.shape[0] - 1]  # the shown inputs, then the bias row
        for i, row in enumerate(rows):
            for j in range(n_out):
                w = float(W[row, j])
                segments.append([(l, y_in[i]), (l + 1, y_out[j])])
                colors.append((0.8, 0.1, 0.1) if w >= 0 else (0.1, 0.2, 0.8))
                widths.append(0.3 + 3.0 * abs(w) / limit)
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, alpha=0.7,
                                     zorder=1, label="weights"))
    for l, n in enumerate(shown):
        ys = unit_y(n)
        ax.scatter(np.full(n, l), ys[:-1], s=300, c="white", edgecolors="k", zorder=2,
                   label="neurons" if l == 0 else None, gid="neurons")
        if l < len(shown) - 1:
            ax.scatter([l], ys[-1:], s=300, marker="s", c="lightgrey", edgecolors="k", zorder=2,
                       label="bias units (+1)" if l == 0 else None, gid="bias")
            ax.annotate("+1", (l, ys[-1]), ha="center", va="center", fontsize=7, zorder=3)
        name = "input" if l == 0 else dense[l - 1].activation.name
        extra = f" (first {n} of {sizes[l]})" if n < sizes[l] else ""
        units = "unit" if sizes[l] == 1 else "units"
        ax.annotate(f"{name}\n{sizes[l]} {units}{extra}", (l, height), ha="center", va="bottom",
                    fontsize=8)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-1.5, height + 1.2)
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels(["input"] + [f"layer {l + 1}" for l in range(len(dense))])
    ax.set_yticks([])
    ax.set_title("Network: " + "-".join(map(str, sizes)) + " (line width ~ |w|, red > 0, blue < 0)")
    ax.legend(loc="lower right", fontsize=7, markerscale=0.5)
    return _save(fig, path)


def weights(model, path: str | os.PathLike | None = None, bins: int = 30):
    """Plot one histogram per dense layer of its weights, the bias row shown apart.

    He-normal weights start as a bell of standard deviation ``sqrt(2 / n_in)`` and the bias
    row at zero; after training the spread shows how far each layer has moved.

    Args:
        model: a ``NeuralNet``.
        path: write the figure there as a PNG.
        bins: number of histogram bins.
    """
    dense = _dense_layers(model)
    fig = _figure((4 * len(dense), 3.5))
    axes = fig.subplots(1, len(dense), squeeze=False)[0]
    for l, (ax, layer) in enumerate(zip(axes, dense, strict=True)):
        W = np.asarray(layer.weights, dtype=np.float64)
        ax.hist(W[:-1].ravel(), bins=bins, color="tab:blue", alpha=0.8, label="weights")
        ax.hist(W[-1], bins=bins, color="tab:orange", alpha=0.8, label="bias row")
        ax.set_title(f"layer {l + 1}: W {W.shape[0]}x{W.shape[1]} ({layer.activation.name})")
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.legend()
    return _save(fig, path)


_DIAGNOSTICS = {
    "grad_norm": "gradient norm (last batch)",
    "update_ratio": "update / weight norm (epoch)",
    "dead_relu": "fraction of dead ReLUs",
    "saturated": "fraction saturated (sigmoid/tanh)",
}


def diagnostics(history, path: str | os.PathLike | None = None):
    """Plot ``history.diagnostics`` per epoch: one panel per quantity, one line per layer.

    The panels are each layer's gradient norm and update-to-weight ratio (log scale), and
    the fractions of dead ReLUs and of saturated sigmoid/tanh outputs; a layer the fraction
    does not apply to has no line. See ``neuralnet.diagnostics.TrainingMonitor``.

    Args:
        history: the ``History`` returned by ``fit``.
        path: write the figure there as a PNG.
    """
    record = getattr(history, "diagnostics", None)
    if not isinstance(record, Mapping):
        raise TypeError(
            f"history must be the History returned by fit; received {type(history).__name__}."
        )
    if not record.get("grad_norm"):
        raise ValueError("history has no diagnostics; train for at least one epoch first.")
    fig = _figure((4.5 * len(_DIAGNOSTICS), 3.5))
    axes = fig.subplots(1, len(_DIAGNOSTICS), squeeze=False)[0]
    for ax, (key, title) in zip(axes, _DIAGNOSTICS.items(), strict=True):
        values = np.asarray(record[key], dtype=np.float64)  # (epochs, layers)
        epochs = np.arange(1, len(values) + 1)
        for l in range(values.shape[1]):
            if np.isfinite(values[:, l]).any():
                ax.plot(epochs, values[:, l], label=f"layer {l + 1}")
        if key in ("grad_norm", "update_ratio") and (values[np.isfinite(values)] > 0).all():
            ax.set_yscale("log")
        if key in ("dead_relu", "saturated"):
            ax.set_ylim(-0.05, 1.05)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if ax.get_lines():
            ax.legend(fontsize=8)
    return _save(fig, path)

def write_training_plots(
    directory: str | os.PathLike, model, history, X=None, y=None
) -> list[str]:
    """Write ``loss.png`` (the ``history`` curves) and, for 2-D ``X``, a picture of the plane:
    ``decision_boundary.png`` for a classifier, ``prediction.png`` (``prediction_surface``) for
    a regression network.

    ``directory`` is created if needed. Returns the paths written, in that order.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(
            f"directory must be a path (str or os.PathLike); received {type(directory).__name__}."
        )
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, "loss.png")]
    _history(history, path=paths[0])
    if X is not None and np.ndim(X) == 2 and np.shape(X)[1] == 2 and model.n_features == 2:
        if model.is_classifier:
            paths.append(os.path.join(directory, "decision_boundary.png"))
            decision_boundary(model, X, y, path=paths[1])
        else:
            paths.append(os.path.join(directory, "prediction.png"))
            prediction_surface(model, X, y, path=paths[1])
    return paths


def __getattr__(name: str):
    # The animations live in neuralnet.animation, which draws with this module's helpers and
    # so imports it: they are loaded on first use.
    if name in ("LivePlot", "TrainingAnimation"):
        from neuralnet import animation

        return getattr(animation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
