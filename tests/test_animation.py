"""TrainingAnimation and LivePlot: frames when they are due, files that read back, bounded memory,
arguments refused with messages, and a live plot that stays quiet outside a notebook."""

import gc
import subprocess
import sys
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import neuralnet
from neuralnet import EarlyStopping, NeuralNet, animation, plot
from neuralnet.callbacks import Callback
from neuralnet.datasets import make_moons

SMALL = {"figsize": (4.0, 2.0), "dpi": 50, "resolution": 20, "max_points": 100}


@pytest.fixture(scope="module")
def moons():
    return make_moons(120, noise=0.2, seed=0)


def classifier(seed=0):
    return NeuralNet(((2, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=seed)


class StopAt(Callback):
    """Stop training after the epoch with 1-based number ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            self.model.stop_training = True


def gif_frames(path):
    with Image.open(path) as im:
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(im.info["duration"])
        return frames, durations


def test_the_public_names_live_in_plot():
    assert plot.TrainingAnimation is animation.TrainingAnimation
    assert plot.LivePlot is animation.LivePlot
    assert {"TrainingAnimation", "LivePlot"} <= set(plot.__all__)
    assert issubclass(plot.TrainingAnimation, Callback) and issubclass(plot.LivePlot, Callback)
    with pytest.raises(AttributeError, match="has no attribute 'Animation'"):
        plot.Animation  # noqa: B018


@pytest.mark.parametrize(("epochs", "every", "expected"), [
    (5, 1, [1, 2, 3, 4, 5]),
    (10, 3, [3, 6, 9, 10]),   # every third epoch, and the last
    (10, 5, [5, 10]),
    (4, 10, [4]),             # fewer epochs than `every`: the last one only
])
def test_a_frame_every_few_epochs_and_at_the_last(moons, tmp_path, epochs, every, expected):
    X, y = moons
    path = tmp_path / "training.gif"
    anim = plot.TrainingAnimation(X, y, path, every=every, **SMALL)
    classifier().fit(X, y, epochs=epochs, verbose=0, callbacks=[anim])
    assert anim.epochs == expected
    assert anim.n_frames == len(expected)
    with Image.open(path) as im:
        assert im.n_frames == len(expected)
        assert im.size == (200, 100)  # figsize x dpi


@pytest.mark.parametrize("stopper_first", [True, False], ids=["stopper-first", "stopper-after"])
def test_early_stopping_ends_on_a_frame_of_the_last_epoch(moons, tmp_path, stopper_first):
    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", every=5, **SMALL)
    # Before the animation in the list, the stopper's flag is seen in on_epoch_end; after it,
    # the last frame is added by on_train_end.
    callbacks = [StopAt(7), anim] if stopper_first else [anim, StopAt(7)]
    history = classifier().fit(X, y, epochs=50, verbose=0, callbacks=callbacks)
    assert len(history.epoch) == 7
    assert anim.epochs == [5, 7]
    assert Image.open(tmp_path / "a.gif").n_frames == 2


def test_early_stopping_by_the_real_callback(moons, tmp_path):
    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", every=4, **SMALL)
    stopper = EarlyStopping("val_loss", patience=1)
    history = classifier().fit(X, y, epochs=200, learning_rate=2.0, validation_split=0.3,
                               verbose=0, callbacks=[anim, stopper])
    trained = len(history.epoch)
    assert stopper.stopped_epoch is not None and trained < 200
    assert anim.epochs[-1] == trained
    assert anim.epochs == sorted({*range(4, trained + 1, 4), trained})


def test_the_gif_reads_back_frame_for_frame(moons, tmp_path):
    X, y = moons
    path = tmp_path / "moons.gif"
    anim = plot.TrainingAnimation(X, y, path, every=2, fps=4, **SMALL)
    classifier().fit(X, y, epochs=6, learning_rate=1.0, verbose=0, callbacks=[anim])
    frames, durations = gif_frames(path)
    assert len(frames) == 3
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(frame, anim.frame(i))
    assert durations == [250, 250, 2000]  # 4 frames per second; the last held 2 s
    # The network learns between frames, so the pictures differ.
    assert (frames[0] != frames[-1]).any()
    assert anim.frame(-1).shape == (100, 200, 3) and anim.frame(-1).dtype == np.uint8
    assert len(anim.frames) == 3
    np.testing.assert_array_equal(anim.frames[1], frames[1])
    assert [f.shape for f in anim.frames[1:]] == [(100, 200, 3)] * 2


def test_the_gif_reads_back_with_pillows_own_writer_too(moons, tmp_path, monkeypatch):
    from PIL import GifImagePlugin

    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", **SMALL)
    classifier().fit(X, y, epochs=3, verbose=0, callbacks=[anim])
    monkeypatch.delattr(GifImagePlugin, "getdata")
    anim.save(tmp_path / "b.gif")
    frames, durations = gif_frames(tmp_path / "b.gif")
    assert durations == [100, 100, 2000]
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(frame, anim.frame(i))


def test_the_default_frame_and_a_resumed_run(moons, tmp_path):
    X, y = moons
    model = classifier()
    path = tmp_path / "sub" / "dir" / "a.gif"   # directories are made
    anim = plot.TrainingAnimation(X, y, path)
    model.fit(X, y, epochs=3, verbose=0, callbacks=[anim])
    assert anim.frame(0).shape == (320, 720, 3)
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not a private temporary file
    # A second fit starts a new animation; the epochs go on from the model's count.
    model.fit(X, y, epochs=2, verbose=0, callbacks=[anim])
    assert anim.epochs == [4, 5]
    assert Image.open(path).n_frames == 2
    assert not [p.name for p in path.parent.iterdir() if p.name != "a.gif"]  # no temporaries


def test_save_writes_again_elsewhere_and_checks_its_path(moons, tmp_path):
    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", **SMALL)
    with pytest.raises(RuntimeError, match=r"no frames to write; pass it to fit\(callbacks=\[...\]\) first"):
        anim.save()
    classifier().fit(X, y, epochs=2, verbose=0, callbacks=[anim])
    assert anim.save(tmp_path / "b.GIF") == str(tmp_path / "b.GIF")
    assert Image.open(tmp_path / "b.GIF").n_frames == 2
    with pytest.raises(ValueError, match=r"`path`, expected a file name ending in .gif or .mp4. Received: path='b.png'"):
        anim.save("b.png")
    with pytest.raises(IndexError, match="frame index 2 out of range: this animation has 2 frames"):
        anim.frame(2)


def test_an_mp4_when_ffmpeg_is_there(moons, tmp_path):
    import imageio_ffmpeg

    X, y = moons
    path = tmp_path / "training.mp4"
    anim = plot.TrainingAnimation(X, y, path, every=1, fps=5, **SMALL)
    classifier().fit(X, y, epochs=6, verbose=0, callbacks=[anim])
    assert path.read_bytes()[4:8] == b"ftyp"  # an MP4 (ISO base media) file
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n_frames == 6
    assert seconds == pytest.approx(6 / 5, abs=0.05)


def test_no_ffmpeg_is_a_clear_error(moons, tmp_path, monkeypatch):
    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", **SMALL)
    classifier().fit(X, y, epochs=1, verbose=0, callbacks=[anim])
    monkeypatch.setattr(animation, "_ffmpeg", lambda: None)
    message = r"Writing '.*a.mp4' as an MP4 needs ffmpeg, which was not found .* or write a .gif instead"
    with pytest.raises(RuntimeError, match=message):
        plot.TrainingAnimation(X, y, tmp_path / "a.mp4")
    with pytest.raises(RuntimeError, match=message):
        anim.save(tmp_path / "a.mp4")
    assert not (tmp_path / "a.mp4").exists()


def test_a_hundred_frames_take_a_few_megabytes(moons, tmp_path, monkeypatch):
    """Memory, measured with tracemalloc: 100 frames of the default 720 x 320 size.

    Drawing is what takes the time, not keeping: real frames are drawn first (untraced), then
    played back as 100 distinct frames of a traced run, which measures what the frames keep.
    """
    X, y = moons
    model = classifier()
    source = plot.TrainingAnimation(X, y, tmp_path / "source.gif", every=5)
    model.fit(X, y, epochs=25, learning_rate=0.5, verbose=0, callbacks=[source])
    real = [Image.fromarray(source.frame(i)) for i in range(source.n_frames)]

    def replay(self, epochs, *args):
        # A real frame, with the epoch drawn in as a bar so that no two frames are alike.
        image = real[len(epochs) % len(real)].copy()
        image.paste((0, 0, 0), (0, 0, 7 * len(epochs), 3))
        return image

    anim = plot.TrainingAnimation(X, y, tmp_path / "memory.gif")
    monkeypatch.setattr(animation._View, "render", replay)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        model.fit(X, y, epochs=100, verbose=0, callbacks=[anim])
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert anim.n_frames == 100
    raw = 100 * 720 * 320 * 3  # the same frames as RGB arrays: 69 MB
    assert anim.nbytes < 3e6, anim.nbytes
    assert held - before < 4e6, (held - before, anim.nbytes)
    assert peak - before < 8e6, peak - before  # writing the GIF streams the frames
    assert held - before < raw / 15
    assert Image.open(tmp_path / "memory.gif").n_frames == 100


def test_each_frame_replaces_the_last_ones_artists(moons, tmp_path, monkeypatch):
    X, y = moons
    counts = []
    original = animation._View.render

    def render(self, *args):
        image = original(self, *args)
        counts.append((len(self.view_ax.collections), len(self.view_ax.lines),
                       len(self.fig.axes)))
        return image

    monkeypatch.setattr(animation._View, "render", render)
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", **SMALL)
    classifier().fit(X, y, epochs=6, learning_rate=2.0, verbose=0, callbacks=[anim])
    # The points, the shading and the 0.5 contour; two axes and the colour bar.
    assert counts == [(3, 0, 3)] * 6
    assert anim._view is None  # the figure is let go when training ends


def test_arguments_are_checked_with_messages(moons, tmp_path):
    X, y = moons
    gif = tmp_path / "a.gif"
    A = plot.TrainingAnimation
    cases = [
        (lambda: A(X, y, tmp_path / "a.png"), ValueError,
         r"`path`, expected a file name ending in .gif or .mp4. Received: path='.*a.png'"),
        (lambda: A(X, y, 3), TypeError, r"invalid type for `path`.*Received: path=3 of type int"),
        (lambda: A(X, y, gif, every=0), ValueError, r"`every`, expected a positive integer. Received: every=0"),
        (lambda: A(X, y, gif, every=1.5), TypeError, r"`every`, expected a positive integer. Received: every=1.5"),
        (lambda: A(X, y, gif, every=True), TypeError, r"`every`.*Received: every=True"),
        (lambda: A(X, y, gif, fps=0), ValueError, r"`fps`, expected a number > 0. Received: fps=0"),
        (lambda: A(X, y, gif, fps="10"), TypeError, r"`fps`.*Received: fps='10' of type str"),
        (lambda: A(X, y, gif, live="yes"), TypeError, r"`live`, expected True or False. Received: live='yes'"),
        (lambda: A(X, y, gif, dpi=0), ValueError, r"`dpi`, expected a positive integer"),
        (lambda: A(X, y, gif, figsize=(4,)), TypeError, r"`figsize`, expected \(width, height\)"),
        (lambda: A(X, y, gif, figsize=(4, -1)), ValueError, r"`figsize`, expected a number > 0"),
        (lambda: A(X, y, gif, resolution=1), ValueError, r"`resolution`, expected an integer >= 2"),
        (lambda: A(X, y, gif, max_points=0), ValueError, r"`max_points`, expected a positive integer"),
        (lambda: A(X, y, gif, output=-1), ValueError, r"`output`, expected a non-negative integer"),
        (lambda: A(X[:, 0], y, gif), ValueError, r"X must be a 2-D array; received shape \(120,\)"),
        (lambda: A(X, y[:-1], gif), ValueError, r"X has 120, y has 119"),
        (lambda: A(X, y.reshape(-1, 1, 1), gif), ValueError,
         r"y must have shape \(n_samples,\) or \(n_samples, n_outputs\); received shape \(120, 1, 1\)"),
        (lambda: A(np.full((3, 2), np.nan), np.zeros(3), gif), ValueError, r"X contains 6 NaN"),
        (lambda: A("X", y, gif), TypeError, r"X must be a numeric array; received str"),
        (lambda: plot.LivePlot(X, y, every=-2), ValueError, r"`every`, expected a positive integer. Received: every=-2"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_a_network_that_does_not_fit_the_data_is_refused_before_training(moons, tmp_path):
    X, y = moons
    wide = NeuralNet(((3, 4), (4, 1)), seed=0)
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", **SMALL)
    with pytest.raises(ValueError, match="TrainingAnimation's X has 2 features, but the network's first layer expects 3"):
        wide.fit(np.zeros((5, 3)), np.zeros(5), epochs=1, verbose=0, callbacks=[anim])
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", output=1, **SMALL)
    with pytest.raises(ValueError, match=r"`output`, expected an integer in \[0, 1\). Received: output=1"):
        classifier().fit(X, y, epochs=1, verbose=0, callbacks=[anim])
    regression = NeuralNet(((2, 4), (4, 2)), activations=["tanh", "linear"], loss="mse", seed=0)
    anim = plot.TrainingAnimation(X, np.zeros((120, 3)), tmp_path / "a.gif", **SMALL)
    with pytest.raises(ValueError, match=r"y must have shape \(n_samples,\) or \(n_samples, 2\) for this network's 2 output"):
        regression.fit(X, np.zeros((120, 2)), epochs=1, verbose=0, callbacks=[anim])
    assert not (tmp_path / "a.gif").exists()


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 2))
    return X, X[:, 0] - 2 * X[:, 1]


def view_after(model, X, y, epochs=3, **kwargs):
    """Train with a TrainingAnimation and return the _View it drew with (kept for the test)."""
    kept = []
    original = animation._View.render

    def render(self, *args):
        kept.append(self)
        return original(self, *args)

    anim = plot.TrainingAnimation(X, y, Path(kwargs.pop("tmp")) / "v.gif", **{**SMALL, **kwargs})
    animation._View.render, restore = render, animation._View.render
    try:
        model.fit(X, y, epochs=epochs, verbose=0, callbacks=[anim])
    finally:
        animation._View.render = restore
    return kept[-1], anim


def test_each_kind_of_network_gets_its_picture(moons, regression_data, tmp_path):
    X, y = moons
    view, _ = view_after(classifier(), X, y, tmp=tmp_path)
    assert (view.kind, view.view_ax.get_title()) == ("boundary", "Decision boundary")
    assert view._title.get_text().startswith("epoch 3 of 3    loss ")
    np.testing.assert_array_equal([len(view.loss_ax.lines[0].get_xdata())], [3])

    Xr, yr = regression_data
    reg = NeuralNet(((2, 8), (8, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
    view, _ = view_after(reg, Xr, yr, tmp=tmp_path)
    assert (view.kind, view.view_ax.get_title()) == ("surface", "Prediction surface")
    # The colour scale is the targets' range, fixed for every frame.
    np.testing.assert_allclose(view._levels[[0, -1]], [yr.min(), yr.max()])

    rng = np.random.default_rng(0)
    X5 = rng.normal(size=(80, 5)) * [3.0, 2.0, 1.0, 1.0, 1.0]
    y5 = (X5[:, 0] > 0).astype(int)
    wide = NeuralNet(((5, 8), (8, 1)), activations=["tanh", "sigmoid"], seed=0)
    view, _ = view_after(wide, X5, y5, tmp=tmp_path)
    assert view.kind == "projection"
    share = np.linalg.svd(X5 - X5.mean(axis=0), compute_uv=False) ** 2
    assert view.view_ax.get_title() == (
        f"PCA projection of the 5 features ({share[:2].sum() / share.sum():.0%} of the variance)\n"
        "colour = P(class 1), x = misclassified"
    )
    np.testing.assert_allclose(view._scatter.get_array(), wide.predict(X5)[:, 0], rtol=1e-6)
    wrong = (wide.predict(X5)[:, 0] >= 0.5) != y5
    assert len(view._wrong.get_offsets()) == wrong.sum()

    X1 = np.linspace(-2, 2, 60)[:, None]
    curve = NeuralNet(((1, 8), (8, 1)), activations=["tanh", "linear"], loss="mse", seed=0)
    view, _ = view_after(curve, X1, np.sin(X1[:, 0]), tmp=tmp_path)
    assert (view.kind, view.view_ax.get_title()) == ("curve", "Prediction over the input")
    np.testing.assert_allclose(view.view_ax.lines[-1].get_ydata(), curve.predict(view.grid)[:, 0])


def test_the_projection_is_pca():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    mean, axes, explained = animation._pca(X)
    cov = np.cov(X, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(explained, values[-2:].sum() / values.sum())
    for axis, vector in zip(axes, vectors.T[::-1][:2]):
        np.testing.assert_allclose(abs(axis @ vector), 1.0, rtol=1e-8)
        assert axis[np.abs(axis).argmax()] > 0  # a fixed sign


def test_the_loss_axis_moves_in_steps():
    assert animation._loss_limits(np.array([0.2, 0.7])) == ("log", (10**-1.0, 10**0.0))
    scale, (lo, hi) = animation._loss_limits(np.array([0.05, 0.3]))
    assert scale == "log" and (lo, hi) == pytest.approx((10**-1.5, 10**-0.5))
    assert animation._loss_limits(np.array([0.0, 0.7])) == ("linear", (0.0, 0.8))


def test_live_plot_outside_a_notebook_draws_nothing_and_says_so_once(moons, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = moons
    live = plot.LivePlot(X, y)
    model = classifier()
    with pytest.warns(UserWarning, match="LivePlot updates a figure in a Jupyter notebook; this is not one"):
        history = model.fit(X, y, epochs=3, verbose=0, callbacks=[live])
    assert len(history.epoch) == 3
    assert live.epochs == [] and live._view is None and live._handle is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y, epochs=2, verbose=0, callbacks=[live])  # no second note
    assert list(tmp_path.iterdir()) == []

    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", live=True, **SMALL)
    with pytest.warns(UserWarning, match=r"live=True\) shows its frames in a Jupyter notebook.*only writes"):
        model.fit(X, y, epochs=2, verbose=0, callbacks=[anim])
    assert anim.epochs == [6, 7] and Image.open(tmp_path / "a.gif").n_frames == 2


@pytest.fixture
def fake_notebook(monkeypatch):
    """An IPython kernel as far as the callbacks can tell, recording what is displayed."""
    shown = []

    class Handle:
        def update(self, picture):
            shown.append(("update", picture))

    def display(picture, display_id=None):
        assert display_id is True
        shown.append(("display", picture))
        return Handle()

    class Image:
        def __init__(self, data, format):
            self.data, self.format = data, format

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display, ipython_display.Image = display, Image
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    return shown


def test_live_plot_in_a_notebook_updates_one_picture(moons, fake_notebook):
    X, y = moons
    live = plot.LivePlot(X, y, every=2, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classifier().fit(X, y, epochs=5, verbose=0, callbacks=[live])
    assert live.epochs == [2, 4, 5]
    assert [kind for kind, _ in fake_notebook] == ["display", "update", "update"]
    for _, picture in fake_notebook:
        assert picture.format == "png" and picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    first = np.asarray(Image.open(__import__("io").BytesIO(fake_notebook[0][1].data)))
    assert first.shape[:2] == (100, 200)


def test_training_animation_live_shows_and_writes(moons, tmp_path, fake_notebook):
    X, y = moons
    anim = plot.TrainingAnimation(X, y, tmp_path / "a.gif", live=True, **SMALL)
    classifier().fit(X, y, epochs=3, verbose=0, callbacks=[anim])
    assert [kind for kind, _ in fake_notebook] == ["display", "update", "update"]
    assert Image.open(tmp_path / "a.gif").n_frames == 3


@pytest.mark.parametrize("hidden", [("matplotlib",), ("PIL", "PIL.Image")], ids=["matplotlib", "pillow"])
def test_missing_libraries_name_the_extra(moons, monkeypatch, tmp_path, hidden):
    X, y = moons
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    for make in (lambda: plot.TrainingAnimation(X, y, tmp_path / "a.gif"), lambda: plot.LivePlot(X, y)):
        with pytest.raises(ImportError, match=r"pip install 'neuralnet\[plot\]'"):
            make()


def test_importing_the_animations_stays_light(tmp_path):
    code = (
        "import sys\n"
        "from neuralnet.plot import TrainingAnimation, LivePlot\n"
        "assert 'matplotlib' not in sys.modules and 'PIL' not in sys.modules, sorted(sys.modules)\n"
    )
    src = str(Path(neuralnet.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": src},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_cli_train_animate_writes_the_animation_and_says_where(capsys, tmp_path):
    from neuralnet.cli import main

    path = tmp_path / "runs" / "training.gif"
    assert main(["train", "--epochs", "3", "--quiet", "--animate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote           {path} (3 frames)" in out
    assert Image.open(path).n_frames == 3
    # About 100 frames for a long run; early stopping ends on a frame of its last epoch.
    argv = ["train", "--epochs", "250", "--quiet", "--validation-split", "0.2",
            "--early-stopping", "0", "--learning-rate", "3", "--animate", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    stopped = int(out.split("early stopping  after epoch ")[1].split(":")[0])
    expected = len(range(3, stopped + 1, 3)) + (stopped % 3 != 0)
    assert f"wrote           {path} ({expected} frames)" in out
    assert Image.open(path).n_frames == expected


def test_cli_animate_refuses_another_extension_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "neuralnet", "train", "--animate", str(tmp_path / "a.png")],
        capture_output=True, text=True,
        env={"PYTHONPATH": str(Path(neuralnet.__file__).resolve().parents[1])},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"neuralnet train: error: argument --animate: expected a file name ending in .gif or "
        f".mp4, received '{tmp_path / 'a.png'}'"
    ]
    assert not (tmp_path / "a.png").exists()
