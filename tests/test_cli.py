import subprocess
import sys

import pytest

from neuralnet.cli import main


def test_train_runs_on_the_default_dataset(capsys):
    assert main(["train", "--epochs", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "on 'moons'" in out
    assert "final loss" in out and "train accuracy" in out and "test accuracy" in out
    test_accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert test_accuracy > 90


def test_train_shows_progress_per_epoch(capsys):
    assert main(["train", "--epochs", "3", "--hidden", "4"]) == 0
    assert capsys.readouterr().err.count("Epoch ") == 3


def test_train_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--hidden", "--activation", "--epochs", "--batch-size",
                   "--learning-rate", "--seed"):
        assert option in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "-3"], "argument --epochs: expected a positive integer, received '-3'"),
        (["--batch-size", "x"], "argument --batch-size: expected a positive integer, received 'x'"),
        (["--learning-rate", "0"], "argument --learning-rate: expected a positive number, received '0'"),
        (["--hidden", "4,,2"], "argument --hidden: expected comma-separated positive integers"),
        (["--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist'"),
    ],
)
def test_bad_option_values_exit_with_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "neuralnet", "train", "--epochs", "-3"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "expected a positive integer, received '-3'" in result.stderr
    assert "Traceback" not in result.stderr
