"""The tutorial launcher: copies the walkthrough without ever losing a learner's edits, and
starts JupyterLab on 127.0.0.1 on the first notebook."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kubelab.__main__ import FIRST_NOTEBOOK, lab_command, main, packaged_notebooks, prepare

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_notebooks_are_the_walkthrough() -> None:
    names = list(packaged_notebooks())
    assert names[0] == FIRST_NOTEBOOK
    assert names == sorted(names)
    assert {"01-pods.ipynb", "05-services.ipynb", "07-secrets.ipynb"} <= set(names)
    # the top-level notebooks/ link (what Binder and the repository show) is the same folder
    assert (ROOT / "notebooks").resolve() == (ROOT / "kubelab" / "notebooks").resolve()


def test_copies_every_notebook_into_a_new_folder(tmp_path: Path) -> None:
    work = tmp_path / "workshop"
    report = prepare(work)
    originals = packaged_notebooks()
    assert report.copied == list(originals)
    for name, data in originals.items():
        assert (work / name).read_bytes() == data


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    prepare(tmp_path)
    report = prepare(tmp_path)
    assert (report.copied, report.refreshed, report.kept, report.replaced) == ([], [], [], {})


def test_edited_copy_is_kept_without_reset(tmp_path: Path) -> None:
    prepare(tmp_path)
    mine = tmp_path / "01-pods.ipynb"
    mine.write_text(mine.read_text().replace("Pods", "My pods"))
    edited = mine.read_bytes()
    asked: list[list[str]] = []
    report = prepare(tmp_path, reset=False, confirm=lambda names: asked.append(names) or True)
    assert report.kept == ["01-pods.ipynb"]
    assert asked == []  # without --reset nobody is even asked
    assert mine.read_bytes() == edited


def test_reset_asks_and_keeps_a_backup(tmp_path: Path) -> None:
    prepare(tmp_path)
    mine = tmp_path / "01-pods.ipynb"
    mine.write_text("my own notes")
    refused = prepare(tmp_path, reset=True, confirm=lambda names: False)
    assert refused.kept == ["01-pods.ipynb"] and mine.read_text() == "my own notes"

    asked: list[list[str]] = []
    report = prepare(tmp_path, reset=True, confirm=lambda names: asked.append(names) or True)
    assert asked == [["01-pods.ipynb"]]
    assert mine.read_bytes() == packaged_notebooks()["01-pods.ipynb"]
    backup = tmp_path / report.replaced["01-pods.ipynb"]
    assert backup.read_text() == "my own notes" and backup.name.startswith("01-pods.bak-")


def test_untouched_copy_follows_a_newer_package(tmp_path: Path) -> None:
    old = {"00-welcome.ipynb": b"version 1", "01-pods.ipynb": b"version 1"}
    prepare(tmp_path, originals=old)
    (tmp_path / "01-pods.ipynb").write_bytes(b"learner's work")
    new = {"00-welcome.ipynb": b"version 2", "01-pods.ipynb": b"version 2", "02-new.ipynb": b"new"}
    report = prepare(tmp_path, originals=new)
    assert report.refreshed == ["00-welcome.ipynb"]
    assert report.kept == ["01-pods.ipynb"]
    assert report.copied == ["02-new.ipynb"]
    assert (tmp_path / "00-welcome.ipynb").read_bytes() == b"version 2"
    assert (tmp_path / "01-pods.ipynb").read_bytes() == b"learner's work"


def test_lab_command_listens_on_loopback_and_opens_the_first_notebook(tmp_path: Path) -> None:
    cmd = lab_command(tmp_path, port=8899, browser=False)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd
    assert "--ServerApp.port=8899" in cmd
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in cmd
    assert "--no-browser" in cmd
    assert cmd[-1] == str(tmp_path.resolve() / FIRST_NOTEBOOK)
    assert "--no-browser" not in lab_command(tmp_path)


def test_print_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "w"
    assert main(["tutorial", "--dir", str(work), "--port", "8765", "--no-browser", "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "Copied" in out and "--ServerApp.port=8765" in out
    assert (work / FIRST_NOTEBOOK).exists()


def test_python_dash_m_kubelab_works(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "kubelab", "tutorial", "--dir", str(tmp_path / "w"),
                             "--print-command"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "jupyterlab" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "kubelab", "nonsense"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tutorial_starts_jupyterlab_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    work = tmp_path / "workshop"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_TOKEN": "kubelab-test",
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "tutorial", "--dir", str(work), "--port", str(port),
                             "--no-browser"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        contents = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/{FIRST_NOTEBOOK}?content=0&token=kubelab-test"
                with urllib.request.urlopen(url, timeout=5) as response:
                    contents = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)
        assert contents is not None, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        assert contents["name"] == FIRST_NOTEBOOK and contents["type"] == "notebook"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
