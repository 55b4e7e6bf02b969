"""Watch a network learn: the loss curve and the network's picture of the data, epoch by epoch.

``TrainingAnimation`` is a callback that draws a frame every ``every`` epochs (and after the
last one) and, when training ends, writes them as an animated GIF (with Pillow, which
matplotlib brings) or an MP4 (with ffmpeg). ``LivePlot`` draws the same frames into one picture
of a Jupyter notebook, updated in place; ``TrainingAnimation(..., live=True)`` does both.
Both are importable from ``neuralnet.plot``.

Each frame holds, on the left, the training (and validation) loss so far and, on the right:

- for a classifier on 2 features, its decision boundary (as ``plot.decision_boundary``);
- for a regression on 2 features, its prediction surface (as ``plot.prediction_surface``),
  on a colour scale fixed to the targets' range so that the frames compare;
- for 1 feature, the output as a curve over the input, with the samples;
- for more features, the samples projected on their first two principal components (computed
  once from ``X`` by an SVD), coloured by the network's prediction, misclassified ones crossed.

Frames are kept small: each is rendered once, reduced to 256 colours and stored as its
zlib-compressed palette indices (about 20 KB for the default 720 x 320 frame), and the GIF
is written one frame at a time, so memory stays a few MB for a hundred frames.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
import zlib
from collections.abc import Sequence

import numpy as np

from neuralnet import plot as _plot
from neuralnet._validation import (
    as_float_array,
    as_numeric_array,
    check_n_features,
    check_positive_int,
    check_same_length,
)
from neuralnet.callbacks import Callback

__all__ = ["LivePlot", "TrainingAnimation"]

_FORMATS = (".gif", ".mp4")
_LAST_FRAME_MS = 2000  # how long a GIF shows its last frame before it loops


def _require_pillow_and_matplotlib() -> None:
    _plot._figure((1, 1))  # raises ImportError naming the extra when matplotlib is missing
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        raise ImportError(
            "neuralnet.plot's animations need Pillow, which is not installed; "
            "install it with: pip install 'neuralnet[plot]'"
        ) from None


def _ffmpeg() -> str | None:
    """Return the ffmpeg executable: matplotlib's setting, then PATH, then imageio-ffmpeg's."""
    import matplotlib

    configured = matplotlib.rcParams.get("animation.ffmpeg_path", "ffmpeg")
    found = shutil.which(configured) or shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def _no_ffmpeg(path: str) -> RuntimeError:
    return RuntimeError(
        f"Writing {path!r} as an MP4 needs ffmpeg, which was not found (not on PATH, not in "
        "matplotlib's animation.ffmpeg_path, no imageio-ffmpeg). Install ffmpeg, or "
        "pip install 'neuralnet[video]', or write a .gif instead."
    )


def _check_output_path(path, name: str = "path") -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"Received an invalid type for `{name}`, expected a file name (str or os.PathLike) "
            f"ending in .gif or .mp4. Received: {name}={path!r} of type {type(path).__name__}"
        )
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in _FORMATS:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a file name ending in .gif or "
            f".mp4. Received: {name}={path!r}"
        )
    return path


def _check_number(value, name: str, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"Received an invalid type for `{name}`, expected a number > {low:g}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if not (math.isfinite(value) and value > low):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a number > {low:g}. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _in_notebook() -> bool:
    """Whether this code runs in a Jupyter (IPython) kernel, without importing IPython."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too broken to ask is no notebook to draw in
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class _Frames(Sequence):
    """Frames of one size, each kept as 256 palette colours and zlib-compressed indices.

    As a sequence, ``frames[i]`` is frame ``i`` as an RGB array ``(height, width, 3)``, made
    when asked for.
    """

    def __init__(self) -> None:
        self._frames: list[tuple[bytes, bytes]] = []  # (compressed indices, RGB palette)
        self.size: tuple[int, int] | None = None  # (width, height)

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self._frames)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"frame index {i!r} out of range: this animation has {n} frames.")
        return np.asarray(self.image(int(i) % n).convert("RGB"))

    @property
    def nbytes(self) -> int:
        return sum(len(data) + len(palette) for data, palette in self._frames)

    def append(self, image) -> None:
        """Keep the RGB ``PIL.Image`` ``image``, reduced to 256 colours without dithering."""
        from PIL import Image

        # No dithering: flat areas stay flat, so they compress, and lines stay crisp.
        small = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        self.size = small.size
        self._frames.append((zlib.compress(small.tobytes(), 1), bytes(small.getpalette())))

    def image(self, i: int):
        """Return frame ``i`` as a palettised (mode ``"P"``) ``PIL.Image``."""
        from PIL import Image

        data, palette = self._frames[i]
        image = Image.frombytes("P", self.size, zlib.decompress(data))
        image.putpalette(palette)
        return image

    def clear(self) -> None:
        self._frames.clear()

    def write_gif(self, fp, durations: list[int]) -> None:
        """Write the frames as a looping GIF to the binary file ``fp``, one frame at a time.

        Pillow's ``save(append_images=...)`` holds every frame in memory to compare them;
        its frame-level writers (``getheader``, ``getdata``) let each frame go once written.
        Every frame carries its own 256-colour table.
        """
        from PIL import GifImagePlugin

        if not hasattr(GifImagePlugin, "getdata"):  # a Pillow without its legacy writers
            first, *rest = (self.image(i) for i in range(len(durations)))
            first.save(fp, format="GIF", save_all=True, append_images=rest, loop=0,
                       duration=durations, disposal=1, optimize=False)
            return
        for i, duration in enumerate(durations):
            image = self.image(i)
            if i == 0:
                header, _ = GifImagePlugin.getheader(image, None, {"loop": 0, "duration": duration})
                fp.writelines(header)
            fp.writelines(GifImagePlugin.getdata(image, duration=duration, disposal=1,
                                                 include_color_table=True))
        fp.write(b";")


class _View:
    """The figure of one training run: the loss on the left, the network's view of ``X`` on the
    right. Built once at the start of training; each frame updates it and renders it."""

    def __init__(self, model, X, y, *, figsize, dpi, resolution, max_points, output, pca):
        self.model = model
        self.fig = _plot._figure(figsize)
        self.fig.set_dpi(dpi)
        self.loss_ax, self.view_ax = self.fig.subplots(1, 2, width_ratios=[1, 1.25])
        self.classify = model.is_classifier
        self.n_outputs = model.n_outputs
        self.output = output
        self._changing: list = []  # the artists redrawn every frame
        self._lines: dict = {}
        self._has_colorbar = False
        self._background = None
        self._background_limits = None
        n_features = X.shape[1]
        targets = self._targets(y, len(X))
        if n_features == 2:
            self.kind = "boundary" if self.classify else "surface"
            X, targets, self.xx, self.yy = _plot._plane(
                model, X, targets, resolution, "TrainingAnimation"
            )
            self.grid = np.column_stack([self.xx.ravel(), self.yy.ravel()])
        elif n_features == 1:
            self.kind = "curve"
            lo, hi = float(X.min()), float(X.max())
            margin = 0.1 * max(hi - lo, 1e-9)
            self.grid = np.linspace(lo - margin, hi + margin, max(resolution, 2))[:, None]
        else:
            self.kind = "projection"
        self._levels = None
        if not self.classify:
            # One colour scale for every frame: the range of all the targets.
            lo, hi = float(targets.min()), float(targets.max())
            self._levels = np.linspace(lo, hi, 16) if hi > lo else np.array([lo - 0.5, lo + 0.5])
        self.X, self.targets = self._subsample(X, targets, max_points)
        self.pca = pca
        self._setup_view()

    # ------------------------------------------------------------------ data
    def _targets(self, y: np.ndarray, n: int) -> np.ndarray:
        """Return ``y`` as one value per sample: the class index, or the drawn output's target."""
        k = self.n_outputs
        if self.classify:
            if y.ndim == 2 and y.shape[1] > 1:
                return y.argmax(axis=1)
            return y.reshape(n)
        if y.ndim == 2 and y.shape[1] in (1, k):
            return y[:, min(self.output, y.shape[1] - 1)].astype(np.float64)
        if y.ndim == 1 and k == 1:
            return y.astype(np.float64)
        raise ValueError(
            f"y must have shape (n_samples,) or (n_samples, {k}) for this network's {k} "
            f"output(s); received shape {y.shape}."
        )

    @staticmethod
    def _subsample(X, targets, max_points: int):
        if len(X) <= max_points:
            return X, targets
        keep = np.sort(np.random.default_rng(0).choice(len(X), max_points, replace=False))
        return X[keep], targets[keep]

    # ------------------------------------------------------------------ drawing
    def _setup_view(self) -> None:
        ax = self.view_ax
        if self.kind == "boundary":
            _plot._scatter_classes(ax, self.X, self.targets, self.n_outputs)
            self._label(ax, "Decision boundary", "$x_1$", "$x_2$")
        elif self.kind == "surface":
            _plot._scatter_values(ax, self.X, self.targets, self._levels)
            self._label(ax, "Prediction surface", "$x_1$", "$x_2$")
        elif self.kind == "curve":
            self._setup_curve(ax)
        else:
            self._setup_projection(ax)

    @staticmethod
    def _label(ax, title: str, xlabel: str, ylabel: str) -> None:
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)

    def _setup_curve(self, ax) -> None:
        x = self.X[:, 0]
        if self.classify and self.n_outputs == 1:
            ax.scatter(x, self.targets, c=self.targets, cmap="RdBu_r", vmin=0, vmax=1, s=12,
                       edgecolors="k", linewidths=0.5, alpha=0.6)
            ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
            ax.set_ylim(-0.08, 1.08)
            self._label(ax, "P(class 1) over the input; dots: the samples' classes", "$x_1$",
                        "P(class 1)")
        elif self.classify:
            ax.scatter(x, np.full(len(x), -0.04), c=self.targets, cmap="tab10", vmin=0,
                       vmax=max(self.n_outputs - 1, 9), s=12, marker="|")
            ax.set_ylim(-0.08, 1.05)
            self._label(ax, "P(class) over the input; ticks: the samples' classes", "$x_1$",
                        "probability")
        else:
            ax.scatter(x, self.targets, s=12, c="tab:grey", edgecolors="k", linewidths=0.3,
                       alpha=0.6, label="samples")
            lo, hi = self._levels[0], self._levels[-1]
            pad = 0.15 * max(hi - lo, 1e-9)
            ax.set_ylim(lo - pad, hi + pad)
            self._label(ax, "Prediction over the input", "$x_1$", "prediction")

    def _setup_projection(self, ax) -> None:
        mean, components, explained = self.pca
        self.points = (self.X - mean) @ components.T
        n_features = self.X.shape[1]
        if self.classify:
            colour = "P(class 1)" if self.n_outputs == 1 else "predicted class"
            what = f"colour = {colour}, x = misclassified"
        else:
            what = "colour = predicted value"
        self._label(
            ax,
            f"PCA projection of the {n_features} features "
            f"({explained:.0%} of the variance)\n{what}",
            "PC1",
            "PC2",
        )
        if self.classify:
            self._scatter = _plot._scatter_classes(ax, self.points, np.zeros(len(self.points)),
                                                   self.n_outputs)
            self._wrong = ax.scatter([], [], marker="x", c="k", s=14, linewidths=0.8)
            if self.n_outputs == 1:
                self.fig.colorbar(self._scatter, ax=ax, label="P(class 1)")
        else:
            self._scatter = _plot._scatter_values(ax, self.points, self.targets, self._levels)
            self.fig.colorbar(self._scatter, ax=ax, label="prediction")

    def _draw_network(self) -> None:
        """Redraw what the network's current weights decide on the right-hand panel."""
        ax = self.view_ax
        for artist in self._changing:
            artist.remove()
        before = len(ax.collections), len(ax.lines)
        model = self.model
        if self.kind == "boundary":
            shade = _plot._shade_classes(ax, model.predict(self.grid), self.xx, self.yy)
            if self.n_outputs == 1 and not self._has_colorbar:
                # From the first frame's shading: every frame shades on the same 0-1 scale.
                self.fig.colorbar(shade, ax=ax, label="P(class 1)")
                self._has_colorbar = True
        elif self.kind == "surface":
            zz = model.predict(self.grid)[:, self.output].reshape(self.xx.shape)
            shade = _plot._shade_values(ax, zz, self.xx, self.yy, self._levels, extend="both")
            if not self._has_colorbar:
                label = "prediction" if self.n_outputs == 1 else f"output {self.output}"
                self.fig.colorbar(shade, ax=ax, label=label)
                self._has_colorbar = True
        elif self.kind == "curve":
            out = model.predict(self.grid)
            x = self.grid[:, 0]
            if self.classify and self.n_outputs == 1:
                ax.plot(x, out[:, 0], color="k", linewidth=2)
            elif self.classify:
                for j in range(self.n_outputs):
                    ax.plot(x, out[:, j], color=f"C{j}", linewidth=2, label=f"class {j}")
            else:
                ax.plot(x, out[:, self.output], color="tab:blue", linewidth=2)
        else:
            out = model.predict(self.X)
            if self.classify:
                if self.n_outputs == 1:
                    colour, predicted = out[:, 0], (out[:, 0] >= 0.5).astype(int)
                else:
                    colour = predicted = out.argmax(axis=1)
                self._scatter.set_array(colour)
                wrong = predicted != self.targets
                self._wrong.set_offsets(self.points[wrong] if wrong.any() else np.empty((0, 2)))
            else:
                self._scatter.set_array(out[:, self.output])
        # Everything added above is this frame's, and goes before the next one is drawn.
        self._changing = ax.collections[before[0]:] + ax.lines[before[1]:]
        # Shading goes under the samples.
        for artist in ax.collections[before[0]:]:
            artist.set_zorder(0.5)

    def _draw_loss(self, epochs, losses, val_losses, first, last) -> None:
        ax = self.loss_ax
        if not self._lines:
            self._lines["loss"] = ax.plot([], [], "-", label="train")[0]
            if val_losses:
                self._lines["val_loss"] = ax.plot([], [], "--", label="validation")[0]
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss")
            ax.set_title("Loss", fontsize=10)
            self._legend = ax.legend(loc="upper right", fontsize=8)
        self._lines["loss"].set_data(epochs, losses)
        if "val_loss" in self._lines:
            self._lines["val_loss"].set_data(epochs[: len(val_losses)], val_losses)
        values = np.asarray(losses + val_losses, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size:
            scale, limits = _loss_limits(finite)
            if ax.get_yscale() != scale:
                ax.set_yscale(scale)
            ax.set_ylim(*limits)
        # The x axis spans the planned epochs (or the next power of 2 when they are unknown),
        # so the axes change only now and then and most frames redraw just the curves.
        end = last if last >= epochs[-1] else first - 1 + 2 ** math.ceil(math.log2(len(epochs)))
        ax.set_xlim(first - 0.5, end + 0.5)

    def _frame_artists(self) -> list:
        """The artists that change from frame to frame, in the order they are drawn."""
        view = sorted(self.view_ax.collections[:] + self.view_ax.lines[:],
                      key=lambda a: a.get_zorder())
        return [*self._lines.values(), *view, self._title]

    def render(self, epochs, losses, val_losses, first, last, stopped: bool):
        """Draw the current state and return it as an RGB ``PIL.Image``.

        Frames are blitted: everything that stays (axes, ticks, labels, colour bar) is kept
        as a background image, drawn again only when the loss axis' limits move, and each
        frame draws just the curves, the shading, the points and the title over it, a
        fraction of a full draw.
        """
        from PIL import Image

        self._draw_loss(epochs, losses, val_losses, first, last)
        self._draw_network()
        epoch = epochs[-1]
        title = f"epoch {epoch}" + (f" of {last}" if last >= epoch else "")
        if stopped:
            title += " (training stopped)"
        title += f"    loss {losses[-1]:.4g}"
        if val_losses:
            title += f"    val_loss {val_losses[-1]:.4g}"
        self._title = self.fig.suptitle(title, fontsize=11)
        canvas = self.fig.canvas
        with warnings.catch_warnings():
            # Early frames may hold no contour level, or nothing positive on a log axis.
            warnings.simplefilter("ignore", UserWarning)
            artists = self._frame_artists()
            limits = (self.loss_ax.get_xlim(), self.loss_ax.get_ylim())
            if limits != self._background_limits:
                for artist in artists:
                    artist.set_animated(True)
                # Animated artists are left out: this is the background. The layout is made
                # again here, for the new tick labels; blitting does not touch it.
                canvas.draw()
                self._background = canvas.copy_from_bbox(self.fig.bbox)
                self._background_limits = limits
            canvas.restore_region(self._background)
            renderer = canvas.get_renderer()
            for artist in artists:
                artist.set_animated(True)
                artist.draw(renderer)
        width, height = canvas.get_width_height()
        return Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0,
                                1).convert("RGB")


def _loss_limits(values: np.ndarray) -> tuple[str, tuple[float, float]]:
    """Return the loss axis' scale and limits for these finite losses, snapped to steps.

    Positive losses get a log axis whose limits are whole half-decades around them, so the
    axis moves only when the loss crosses one; otherwise a linear axis with limits on steps of
    1, 2 or 5 times a power of ten.
    """
    lo, hi = float(values.min()), float(values.max())
    if lo > 0:
        lo, hi = lo / 1.05, hi * 1.05  # a margin, so no curve runs along an edge
        bottom = math.floor(2 * math.log10(lo)) / 2
        top = max(math.ceil(2 * math.log10(hi)) / 2, bottom + 0.5)
        return "log", (10.0**bottom, 10.0**top)
    span = max(hi - lo, abs(hi), abs(lo), 1e-12)
    step = 10.0 ** math.floor(math.log10(span))
    step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= 5)
    bottom = math.floor(lo / step) * step
    top = max(math.ceil(hi / step) * step, bottom + step)
    return "linear", (bottom, top)


_PCA_ROWS = 5000


def _pca(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the mean, the first two principal axes ``(2, n_features)`` and their share of
    the variance, by an SVD of the centred ``X``: ``X - mean = U S V^T``, axes = ``V[:2]``.

    A larger ``X`` is represented by a fixed random subset of ``_PCA_ROWS`` rows, which keeps
    ``U`` small and gives the same picture.
    """
    if len(X) > _PCA_ROWS:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), _PCA_ROWS, replace=False))]
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    if len(vt) < 2:  # a single sample has one axis at most: the second is left flat
        vt = np.vstack([vt, np.zeros((2 - len(vt), X.shape[1]))])
    axes = vt[:2]
    # SVD fixes each axis up to its sign: make the largest loading positive, for a stable picture.
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    signs[signs == 0] = 1.0
    total = float((s**2).sum())
    return mean, axes * signs[:, None], float((s[:2] ** 2).sum() / total) if total else 1.0


class LivePlot(Callback):
    """Show the loss and the network's view of ``(X, y)`` in a Jupyter notebook, updated in place.

    Every ``every`` epochs (and after the last), the frame described in
    ``neuralnet.animation`` replaces the previous one in a single output of the running cell
    (``IPython.display`` with a ``display_id``). Outside a Jupyter kernel it draws nothing:
    training runs as without it, after one ``UserWarning`` saying so.

    Args:
        X: the samples drawn, ``(n_samples, n_features)``, as the network takes them.
        y: their labels (classifier) or targets (regression), ``(n_samples,)`` or
            ``(n_samples, n_outputs)``.
        every: draw after every ``every``-th epoch of the run, and after the last.
        figsize, dpi: the frame's size in inches and its resolution (720 x 320 by default).
        resolution: the grid of the decision boundary or surface, ``resolution**2`` points.
        max_points: draw at most this many samples (a fixed random subset of ``X``).
        output: which output a regression's frames draw.
    """

    _not_a_notebook = (
        "LivePlot updates a figure in a Jupyter notebook; this is not one, so it draws nothing "
        "(training is not affected). To keep the frames, use "
        "neuralnet.plot.TrainingAnimation(X, y, 'training.gif')."
    )

    def __init__(
        self,
        X,
        y,
        every: int = 1,
        *,
        figsize: tuple[float, float] = (9.0, 4.0),
        dpi: int = 80,
        resolution: int = 80,
        max_points: int = 500,
        output: int = 0,
    ) -> None:
        self.every = check_positive_int(every, "every")
        self.dpi = check_positive_int(dpi, "dpi")
        self.max_points = check_positive_int(max_points, "max_points")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
            raise ValueError(
                f"Received an invalid value for `resolution`, expected an integer >= 2. "
                f"Received: resolution={resolution!r}"
            )
        self.resolution = resolution
        if isinstance(output, bool) or not isinstance(output, int) or output < 0:
            raise ValueError(
                f"Received an invalid value for `output`, expected a non-negative integer. "
                f"Received: output={output!r}"
            )
        self.output = output
        if not (isinstance(figsize, (tuple, list)) and len(figsize) == 2):
            raise TypeError(
                f"Received an invalid type for `figsize`, expected (width, height) in inches. "
                f"Received: figsize={figsize!r}"
            )
        self.figsize = tuple(_check_number(v, "figsize", 0.0) for v in figsize)
        self.X = as_float_array(X, "X", np.float64)
        y = as_numeric_array(y, "y")
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y must have shape (n_samples,) or (n_samples, n_outputs); "
                f"received shape {y.shape}."
            )
        check_same_length(len(self.X), len(y))
        self.y = y
        _require_pillow_and_matplotlib()
        self._pca = None  # computed once, at the first run that draws
        self._view: _View | None = None
        self._handle = None
        self._warned = False
        self.epochs: list[int] = []

    # ------------------------------------------------------------------ the callback
    def _wants_frames(self) -> bool:
        """Whether this run draws at all (a LivePlot outside a notebook does not)."""
        if _in_notebook():
            return True
        if not self._warned:
            warnings.warn(self._not_a_notebook, UserWarning, stacklevel=3)
            self._warned = True
        return False

    def on_train_begin(self, logs=None):
        model = self.model
        check_n_features(self.X, model.n_features, f"{type(self).__name__}'s X")
        if self.output >= model.n_outputs:
            raise ValueError(
                f"Received an invalid value for `output`, expected an integer in "
                f"[0, {model.n_outputs}). Received: output={self.output!r}"
            )
        self.epochs = []
        self._losses: list[float] = []
        self._val_losses: list[float] = []
        # The planned number of epochs, when fit tells (History.params): the loss axis spans
        # them from the first frame on, and the title says "epoch 5 of 60".
        self._planned = getattr(getattr(model, "history", None), "params", {}).get("epochs")
        self._first = self._last = 0  # the run's first and planned last epochs, from 1
        self._seen = 0
        self._handle = None
        self._active = self._wants_frames()
        if self._active:
            if self._pca is None and self.X.shape[1] > 2:
                self._pca = _pca(self.X)
            self._view = _View(model, self.X, self.y, figsize=self.figsize, dpi=self.dpi,
                               resolution=self.resolution, max_points=self.max_points,
                               output=self.output, pca=self._pca)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not self._seen:
            # Epochs count on from a resumed model's; fit passes their 0-based index.
            self._first = epoch + 1
            self._last = epoch + self._planned if self._planned else 0
        self._seen += 1
        self._epoch = epoch + 1
        self._losses.append(float(logs.get("loss", math.nan)))
        if "val_loss" in logs:
            self._val_losses.append(float(logs["val_loss"]))
        if not self._active:
            return
        last = self._epoch == self._last or getattr(self.model, "stop_training", False)
        if self._seen % self.every == 0 or last:
            self._frame(stopped=self._epoch < self._last and last)

    def on_train_end(self, logs=None):
        if self._active and self._seen and (not self.epochs or self.epochs[-1] != self._epoch):
            self._frame(stopped=self._epoch < self._last)
        self._finish()
        # The figure is not needed between runs: let it go.
        self._view = None

    def _frame(self, stopped: bool) -> None:
        epochs = list(range(self._first, self._first + self._seen))
        image = self._view.render(epochs, self._losses, self._val_losses, self._first,
                                  self._last, stopped)
        self.epochs.append(self._epoch)
        self._use(image)

    def _use(self, image) -> None:
        self._show(image)

    def _finish(self) -> None:
        pass

    def _show(self, image) -> None:
        """Put ``image`` in this run's notebook output, replacing the frame shown before."""
        from IPython.display import Image, display

        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False)
        picture = Image(data=buffer.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(picture, display_id=True)
        else:
            self._handle.update(picture)


class TrainingAnimation(LivePlot):
    """Record training as an animation: a frame every ``every`` epochs, written when it ends.

    A callback for ``fit``: after every ``every``-th epoch of the run, and after the last one
    (early stopping included), it draws the frame described in ``neuralnet.animation``: the loss
    so far and the epoch, beside the decision boundary, the prediction surface, or a PCA
    projection for more than 2 features. When training ends it writes ``path``, an animated GIF
    for ``.gif`` or an MP4 for ``.mp4`` (ffmpeg needed: on PATH, or ``pip install
    'neuralnet[video]'``), replacing the file at once, its directory created if needed. A fit
    that raises writes nothing.

    Args:
        X, y, every, figsize, dpi, resolution, max_points, output: as for ``LivePlot``.
        path: the file to write, ending in ``.gif`` or ``.mp4``.
        fps: frames per second; a GIF shows its last frame 2 s before it loops.
        live: also show the frames in the running notebook, as ``LivePlot`` does.

    After training, ``epochs`` lists the epoch of each frame (1-based), ``n_frames`` their
    number, ``frames`` (a sequence) and ``frame(i)`` give them as RGB arrays, ``nbytes`` is the
    memory they take, and ``save(path)`` writes them again, e.g. in the other format.
    """

    _not_a_notebook = (
        "TrainingAnimation(live=True) shows its frames in a Jupyter notebook; this is not one, "
        "so it only writes the animation file."
    )

    def __init__(
        self,
        X,
        y,
        path: str | os.PathLike,
        every: int = 1,
        *,
        fps: float = 10.0,
        live: bool = False,
        figsize: tuple[float, float] = (9.0, 4.0),
        dpi: int = 80,
        resolution: int = 80,
        max_points: int = 500,
        output: int = 0,
    ) -> None:
        self.path = _check_output_path(path)
        self.fps = _check_number(fps, "fps", 0.0)
        if not isinstance(live, bool):
            raise TypeError(
                f"Received an invalid type for `live`, expected True or False. "
                f"Received: live={live!r} of type {type(live).__name__}"
            )
        self.live = live
        super().__init__(X, y, every, figsize=figsize, dpi=dpi, resolution=resolution,
                         max_points=max_points, output=output)
        if self.path.lower().endswith(".mp4") and _ffmpeg() is None:
            raise _no_ffmpeg(self.path)
        self._frames = _Frames()

    @property
    def n_frames(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        """The bytes the frames take in memory (compressed palette indices and palettes)."""
        return self._frames.nbytes

    @property
    def frames(self) -> Sequence[np.ndarray]:
        """The frames, a sequence of RGB arrays ``(height, width, 3)``, each decoded when read."""
        return self._frames

    def frame(self, i: int) -> np.ndarray:
        """Return frame ``i`` as an RGB array ``(height, width, 3)`` of ``uint8``."""
        return self._frames[i]

    def _wants_frames(self) -> bool:
        self._show_live = self.live and super()._wants_frames()
        return True

    def on_train_begin(self, logs=None):
        self._frames.clear()
        super().on_train_begin(logs)

    def _use(self, image) -> None:
        self._frames.append(image)
        if self._show_live:
            self._show(image)

    def _finish(self) -> None:
        if self._frames:
            self.save(self.path)

    def save(self, path: str | os.PathLike | None = None) -> str:
        """Write the frames to ``path`` (default: the ``path`` given) as a GIF or MP4; return it."""
        path = self.path if path is None else _check_output_path(path)
        if not self._frames:
            raise RuntimeError(
                "TrainingAnimation has no frames to write; pass it to fit(callbacks=[...]) "
                "first."
            )
        mp4 = path.lower().endswith(".mp4")
        ffmpeg = _ffmpeg() if mp4 else None
        if mp4 and ffmpeg is None:
            raise _no_ffmpeg(path)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        # Written beside the target, then renamed: a reader never sees half a file. Not
        # tempfile.mkstemp, whose files are private (0600): this one gets the usual permissions.
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        f = open(tmp, "xb")  # outside the try: the clean-up below removes only a file we made
        try:
            with f:
                if not mp4:
                    step = max(10, round(1000 / self.fps / 10) * 10)  # GIF counts in 10 ms
                    durations = [step] * (len(self._frames) - 1) + [max(step, _LAST_FRAME_MS)]
                    self._frames.write_gif(f, durations)
            if mp4:
                self._write_mp4(ffmpeg, tmp)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    def _write_mp4(self, ffmpeg: str, path: str) -> None:
        width, height = self._frames.size
        command = [
            ffmpeg, "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-framerate", f"{self.fps:g}", "-i", "-",
            # H.264 in yuv420p (what every player reads) needs even sides.
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-f", "mp4", path,
        ]
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=errors)
            try:
                for i in range(len(self._frames)):
                    process.stdin.write(self._frames.image(i).convert("RGB").tobytes())
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its return code and message say why
            finally:
                process.stdin.close()
                code = process.wait()
            if code != 0:
                errors.seek(0)
                message = " ".join(errors.read().decode(errors="replace").split())[-300:]
                raise RuntimeError(f"ffmpeg failed writing {path!r} (exit code {code}): {message}")
