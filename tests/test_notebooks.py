"""The walkthrough notebooks, executed top to bottom in a real kernel on a fresh cluster.

A cell fails the test if it raises, or if it writes to stderr (kubectl's errors go there, and
the magics never raise) unless the cell is tagged ``expect-error`` because the notebook shows
an error on purpose (``stderr-ok`` when it only may, like busybox wget's progress report).
kubectl's informational stderr lines (``No resources found ...``) are not errors. Notebooks are stored without outputs.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "kubelab" / "notebooks").glob("*.ipynb"))
ROOT = Path(__file__).resolve().parents[1]
NOT_ERRORS = ("No resources found", "If you don't see a command prompt")


def errors_in(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(True) if line.strip() and not line.startswith(NOT_ERRORS))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_clean(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs before committing"
    assert code[0].source.strip() == "%load_ext kubelab"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_port_forwards_let_kubectl_pick_a_free_local_port(path: Path) -> None:
    """A fixed local port (8080:80) can be taken on a shared machine (Binder): ``:80`` never is."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if cell.cell_type == "code" and "port-forward" in line and "--stop" not in line:
                assert re.search(r"port-forward \S+ :\d+$", line), line


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_top_to_bottom(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    started = time.monotonic()
    client.execute()
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{path.name}: {took:.1f} s", end="")
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        expected = "expect-error" in tags
        stderr = errors_in("".join(o.get("text", "") for o in cell.outputs
                                   if o.output_type == "stream" and o.name == "stderr"))
        if stderr and not expected and "stderr-ok" not in tags:
            problems.append(f"cell {index}: {cell.source.splitlines()[0]!r} wrote to stderr:\n{stderr}")
        if expected and not stderr:
            problems.append(f"cell {index}: {cell.source.splitlines()[0]!r} should show an error and did not")
    assert not problems, "\n\n".join(problems)
