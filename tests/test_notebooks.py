"""The notebooks of examples/notebooks: built by their script, committed without outputs, and
every cell runs, in a kernel of this very Python (the venv's), without an error."""

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "notebooks"
NAMES = ["01_basic.ipynb", "02_cost_functions.ipynb", "03_plots_and_animation.ipynb"]


def load_builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", FOLDER / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_three_notebooks_are_what_their_builder_writes(tmp_path):
    assert sorted(p.name for p in FOLDER.glob("*.ipynb")) == NAMES
    paths = load_builder().build(tmp_path)
    assert [p.name for p in paths] == NAMES
    for path in paths:
        committed = (FOLDER / path.name).read_text(encoding="utf-8")
        assert committed == path.read_text(encoding="utf-8"), (
            f"{path.name} differs from what examples/notebooks/build.py writes: run it"
        )
        nb = nbformat.reads(committed, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def kernel_of_this_python() -> KernelManager:
    """The "python3" kernel of the ipykernel installed here, started with sys.executable.

    With no kernel directories, jupyter_client falls back on ipykernel's own spec for
    "python3", whose command is this interpreter; a "python3" kernel.json elsewhere on the
    machine (a user's, another environment's) cannot take its place.
    """
    specs = KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)
    spec = specs.get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable, spec.argv
    # Its sockets listen on the loopback interface only.
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs, ip="127.0.0.1")


def run(name: str, directory: Path):
    nb = nbformat.read(FOLDER / name, as_version=4)
    # A first cell, for the test only: which Python runs the kernel.
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.prefix, sys.executable)"))
    client = NotebookClient(nb, km=kernel_of_this_python(), timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(directory)}})
    client.execute()  # raises CellExecutionError, naming the cell, when a cell fails
    prefix, executable = nb.cells[0].outputs[0]["text"].split()
    assert prefix == sys.prefix
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    return nb


def outputs(cell, kind=None) -> list:
    return [o for o in cell.get("outputs", []) if kind is None or o["output_type"] == kind]


@pytest.mark.parametrize("name", NAMES[:2])
def test_the_notebook_runs(name, tmp_path):
    nb = run(name, tmp_path)
    assert all(not outputs(c, "error") for c in nb.cells)
    text = "".join(o.get("text", "") for c in nb.cells for o in outputs(c, "stream"))
    if name == "01_basic.ipynb":
        assert "theta_IH (3, 3)   theta_HO (4, 1)" in text
        assert "[A1, 1]  (4, 4)" in text
        assert (tmp_path / "runs" / "network_2_3_1.png").exists()
    else:
        assert "binary cross-entropy 0.2843" in text
        assert (tmp_path / "runs" / "bce_vs_mse.png").exists()


def test_the_plots_notebook_animates_live_in_one_picture(tmp_path):
    nb = run("03_plots_and_animation.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    live = next(c for c in code if "live=True" in c.source)
    # Twenty frames were shown, each replacing the last: one picture is left, a PNG.
    pictures = [o for o in outputs(live) if "image/png" in o.get("data", {})]
    assert len(pictures) == 1
    assert "20 frames (epochs 10 to 200)" in "".join(o.get("text", "") for o in outputs(live))
    gif = next(c for c in code if c.source == 'Image(filename="runs/moons.gif")')
    assert [o["output_type"] for o in gif.outputs] == ["execute_result"]
    assert "image/gif" in gif.outputs[0]["data"]
    projection = next(c for c in code if "LivePlot" in c.source)
    assert len([o for o in outputs(projection) if "image/png" in o.get("data", {})]) == 1
    for name in ["moons.gif", "surface.gif", "boundary.png", "history.png", "diagnostics.png"]:
        assert (tmp_path / "runs" / name).stat().st_size > 1000
    json.dumps(nb)  # the executed notebook is plain JSON
