"""Every notebook in notebooks/ runs headless, top to bottom, without an error.

The kernel is started from a kernel spec written for this test, with the
interpreter that runs pytest (``sys.executable``): a ``python3`` kernel registered
by the user or the system could point at another environment, one without this
checkout's torch_render. Its matplotlib backend is the inline one Jupyter uses
(Agg-based, no display): figures are drawn to PNG at the end of each cell, so a
plot that fails to draw fails the test too.
"""

from __future__ import annotations

import glob
import json
import os
import sys

import pytest

from conftest import REPO

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (requirements/test.txt)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (requirements/test.txt)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (requirements/test.txt)")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (a dependency of nbclient)
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

NOTEBOOK_DIR = os.path.join(REPO, "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
KERNEL = "torch-render-tests"
TIMEOUT_S = 300  # per cell


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> str:
    """A folder holding one kernel spec: ipykernel on this interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec_dir = root / KERNEL
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
        "env": {
            # This checkout first, as the tests import it (also when not installed).
            "PYTHONPATH": os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return str(root)


def execute(nb, kernel_dir: str, cwd: str):
    """Run every cell of ``nb`` in a fresh kernel started in ``cwd``; raises
    nbclient's CellExecutionError (with the cell and the traceback) on an error."""
    manager = AsyncKernelManager(
        kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernel_dir])
    )
    client = nbclient.NotebookClient(
        nb, km=manager, timeout=TIMEOUT_S, allow_errors=False, resources={"metadata": {"path": cwd}}
    )
    return client.execute()


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


def test_kernel_runs_this_interpreter(kernel_dir: str, tmp_path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, torch_render\nprint(sys.executable)\nprint(torch_render.__file__)")]
    )
    outputs = execute(nb, kernel_dir, str(tmp_path)).cells[0].outputs
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream").split("\n")
    assert os.path.realpath(text[0]) == os.path.realpath(sys.executable)
    assert os.path.realpath(text[1]).startswith(os.path.realpath(REPO) + os.sep)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{os.path.basename(path)}: cell {index} has outputs; clear them before committing"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_runs(path: str, kernel_dir: str) -> None:
    nb = nbformat.read(path, as_version=4)
    # The notebook's own folder as the working directory: its relative paths
    # (../../shared/data) are written from there.
    executed = execute(nb, kernel_dir, os.path.dirname(path))
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)
    for cell in code_cells:
        for out in cell.outputs:
            assert out.output_type != "error", out
