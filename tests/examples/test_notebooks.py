"""The teaching notebooks (notebooks/*.ipynb) run headless on the small nets
they build, every cell without an error, and each one's final cell finds the
program's array equal to the one its step-by-step loop made."""
import time

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = ["dgn_am.ipynb", "ppgn.ipynb", "cnnpref_cnnvis.ipynb"]
CELL_TIMEOUT = 60  # seconds: on the small nets every cell takes a few at most


@pytest.fixture
def small_nets_only(tmp_path, monkeypatch):
    """The kernel's environment: no real models (an empty NETS_DIR), never a
    download, the small nets asked for."""
    empty = tmp_path / "nets"
    empty.mkdir()
    monkeypatch.setenv("NETS_DIR", str(empty))
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    monkeypatch.setenv("PREFINPUT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_matches_its_program(name, repo, small_nets_only, tmp_path):
    path = repo / "notebooks" / name
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "stored with outputs"
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    print(f"{name}: {time.monotonic() - started:.1f} s")

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "a cell did not run"
    shown = "".join(output.get("text", "") for output in code[-1].outputs if output.output_type == "stream")
    assert "same array: True" in shown
    assert any(output.output_type == "display_data" and "image/png" in output.data
               for cell in code for output in cell.outputs), "no picture was shown"
    assert "SMALL NETS WITH RANDOM WEIGHTS" in "".join(
        output.get("text", "") for cell in code for output in cell.outputs if output.output_type == "stream")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_prefinput_is_imported_before_numpy(name, repo):
    """numpy chooses its float routines when it loads: prefinput must choose
    first (prefinput/cpu.py), and `%matplotlib inline` loads numpy."""
    notebook = nbformat.read(repo / "notebooks" / name, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code").source.splitlines()
    loads_numpy = [i for i, line in enumerate(first) if line.startswith(("import numpy", "%matplotlib", "import teaching"))]
    assert "import prefinput" in [line.split("  #")[0] for line in first]
    assert [line.split("  #")[0] for line in first].index("import prefinput") < min(loads_numpy)
