"""Every script in examples/ runs on its small settings (--quick) and learns something."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import neuralnet

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# What each quick run must at least reach: a real bar, well above chance, met with margin.
EXPECTED = {
    "moons": ("test_accuracy", 0.9),
    "xor": ("accuracy", 1.0),
    "digits": ("test_accuracy", 0.85),
    "breast_cancer": ("test_accuracy", 0.9),
    "sklearn_pipeline": ("test_accuracy", 0.9),
}


def test_every_example_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED) | {"regression"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_learns_on_quick_settings(name, capsys):
    main = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")["main"]
    result = main(["--quick"])
    key, at_least = EXPECTED[name]
    assert result[key] >= at_least, result
    out = capsys.readouterr().out
    assert "accuracy" in out and out.strip()


def test_regression_example_fits_the_curve(capsys):
    main = runpy.run_path(str(EXAMPLES / "regression.py"), run_name="example_regression")["main"]
    result = main(["--quick"])
    # The noise has standard deviation 0.1; the fitted curve is far closer to sin(3x) than that
    # of a constant prediction (RMSE ~0.7).
    assert result["rmse"] < 0.15, result
    assert "RMSE against sin(3x)" in capsys.readouterr().out


def test_moons_example_writes_its_plots(tmp_path, capsys):
    main = runpy.run_path(str(EXAMPLES / "moons.py"), run_name="example_moons")["main"]
    main(["--quick", "--plot", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decision_boundary.png", "loss.png"]
    assert f"wrote {tmp_path / 'loss.png'}" in capsys.readouterr().out


def test_an_example_runs_as_a_script_with_the_environment_switch():
    src = str(Path(neuralnet.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "NEURALNET_QUICK": "1"}
    done = subprocess.run([sys.executable, str(EXAMPLES / "xor.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("accuracy 100%")
