"""``neuralnet train``: optimizer, loss, validation split, early stopping, digits and breast cancer,
and the history printed as it trains."""

from __future__ import annotations

import re

import pytest

from neuralnet.cli import main


def _epoch_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Epoch ")]


def test_train_digits_with_adam_prints_the_history_with_validation(capsys):
    argv = ["train", "--dataset", "digits", "--optimizer", "adam", "--learning-rate", "0.003",
            "--hidden", "64", "--activation", "relu", "--epochs", "8",
            "--validation-split", "0.2"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Training 64-64-10 on 'digits'" in captured.out
    assert "with adam and categorical_crossentropy" in captured.out
    lines = _epoch_lines(captured.err)
    assert len(lines) == 8
    for line in lines:
        assert re.search(r"loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - "
                         r"val_accuracy: [\d.]+$", line), line
    test_accuracy = float(captured.out.split("test accuracy")[1].split("%")[0])
    assert test_accuracy > 93


def test_train_breast_cancer_with_early_stopping(capsys):
    argv = ["train", "--dataset", "breast_cancer", "--optimizer", "adam", "--learning-rate",
            "0.01", "--epochs", "200", "--validation-split", "0.2", "--early-stopping", "3"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    match = re.search(r"early stopping  after epoch (\d+): best val_loss ([\d.]+) at epoch (\d+), "
                      r"its weights kept", captured.out)
    assert match, captured.out
    stopped, best, best_epoch = int(match[1]), float(match[2]), int(match[3])
    assert stopped == best_epoch + 3 < 200
    lines = _epoch_lines(captured.err)
    assert len(lines) == stopped
    val_losses = [float(re.search(r"val_loss: ([\d.]+)", line)[1]) for line in lines]
    assert min(val_losses) == pytest.approx(best, abs=1e-4)
    assert float(captured.out.split("test accuracy")[1].split("%")[0]) > 93


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--loss", "categorical_crossentropy"], "Training 2-8-2 on 'moons' (800 train / 200 test "
                                                 "samples) for 3 epochs with sgd and "
                                                 "categorical_crossentropy"),
        (["--optimizer", "rmsprop", "--learning-rate", "0.01"], "with rmsprop and "
                                                                "binary_crossentropy"),
        (["--optimizer", "adagrad"], "Training 2-8-1"),
    ],
)
def test_train_optimizer_and_loss_choices(capsys, extra, expected):
    assert main(["train", "--epochs", "3", "--hidden", "8", "--quiet", *extra]) == 0
    out = capsys.readouterr().out
    assert expected in out and "test accuracy" in out


def test_train_regression_loss_on_a_csv(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] - 2 * X[:, 1] + 0.5
    path = tmp_path / "data.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,y", comments="")
    argv = ["train", "--data", str(path), "--target", "y", "--loss", "huber", "--optimizer",
            "adam", "--learning-rate", "0.01", "--epochs", "5", "--validation-split", "0.25"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "with adam and huber" in captured.out and "test R^2" in captured.out
    lines = _epoch_lines(captured.err)
    assert len(lines) == 5 and all(" - mae: " in ln and " - val_mae: " in ln for ln in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--loss", "mse"], "--loss mse is a regression loss, but the target holds class labels"),
        (["--dataset", "digits", "--loss", "binary_crossentropy"],
         "--loss binary_crossentropy needs two classes, but the target has 10"),
        (["--early-stopping", "2"], "--early-stopping watches the validation loss; give "
                                    "--validation-split too"),
    ],
)
def test_train_option_conflicts_are_one_line_errors(capsys, argv, message):
    assert main(["train", "--epochs", "2", "--quiet", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralnet train: error: ") and message in err
    assert err.count("\n") == 1


def test_regression_loss_needs_a_continuous_target(tmp_path, capsys):
    path = tmp_path / "reg.csv"
    path.write_text("a,y\n" + "".join(f"{i / 10},{i * 0.37}\n" for i in range(30)))
    assert main(["train", "--data", str(path), "--target", "y", "--loss",
                 "categorical_crossentropy", "--quiet"]) == 1
    assert "needs class labels, but the target is continuous" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
        (["--loss", "hingeloss"], "argument --loss: invalid choice: 'hingeloss'"),
        (["--validation-split", "1.5"], "argument --validation-split: expected a number "
                                        "between 0 and 1, received '1.5'"),
        (["--early-stopping", "-1"], "argument --early-stopping: expected a non-negative "
                                     "integer, received '-1'"),
    ],
)
def test_bad_new_option_values(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_lists_the_training_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--optimizer", "--loss", "--validation-split", "--early-stopping PATIENCE",
                   "breast_cancer", "digits"):
        assert option in out
