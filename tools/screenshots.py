"""Screenshots of the walkthrough as a learner sees it, for a human (or an instructor) to look at.

Starts JupyterLab on 127.0.0.1, opens each walkthrough notebook in headless Debian Chromium,
runs all cells the way a learner's "Run All" does, and saves a picture of every cell whose output
is worth judging by eye: styled ``get`` tables, ``%kube diagram``/``route``/``history``, the
picture after ``%%kube apply``, the dashboard (before and after its refresher and a scale-up),
cells that show an error on purpose, and the exercise checks. Also keeps the executed notebooks.

``--scale`` pictures a scratch notebook instead: a 50-pod Deployment's dashboard (before and
after a scale-up) and diagram (grouped, then clicked open) and ``diagram -A`` / ``get pods -A``,
where pictures balloon first.

Run: ``python tools/screenshots.py [00 04 ...] [--all-cells] [--scale]``; pictures go to
``test-artifacts/screens/`` (``<notebook>/<cell>-<what>.png``), executed notebooks to
``test-artifacts/screens/executed/``. Not part of the test suite: it takes minutes and its
verdict is a person looking at the pictures.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubelab.__main__ import lab_command  # noqa: E402

NOTEBOOKS = ROOT / "kubelab" / "notebooks"
OUT = ROOT / "test-artifacts" / "screens"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "kubelab-screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB_OFFLINE = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
# What a cell's source says about its output, first match wins: (pattern, picture name).
KEY_CELLS = [
    (r"%kube dashboard", "dashboard"),
    (r"%kube diagram", "diagram"),
    (r"%kube route ", "route"),
    (r"%kube history ", "history"),
    (r"%kube rollout history", "rollout-history"),
    (r"^%%kube apply", "apply"),
    (r"check\(", "check"),
    (r"%kube port-forward (?!--stop)", "port-forward"),
    (r"%kube get [^\n]*(pods?|po)\b(?![^\n]*-o (yaml|json|jsonpath))", "get-pods"),
    (r"%kube get (?![^\n]*-o (yaml|json|jsonpath))", "get"),
    (r"\.df\b", "dataframe"),
    (r"%kube describe", "describe"),
]


# --scale: what 50 pods look like (every cell is pictured).
SCALE_CELLS = [
    "%load_ext kubelab",
    "%kube create deployment web --image=nginx --replicas=50\n%kube expose deployment web --port=80",
    "%kube rollout status deploy/web",
    "%kube dashboard",
    "%kube diagram",
    "%kube diagram -A",
    "%kube get pods -A -o wide",
]
SCALE = "scale-50-pods.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def what(cell: dict[str, Any]) -> str | None:
    """The picture name for a cell worth a screenshot (None: not a key output)."""
    if "expect-error" in cell.get("metadata", {}).get("tags", []):
        return "error"
    for pattern, name in KEY_CELLS:
        if re.search(pattern, cell["source"], re.M):
            return name
    return None


def start_lab(work: Path, state: Path) -> tuple[subprocess.Popen, str]:
    """JupyterLab on 127.0.0.1 with cell windowing off (every cell stays in the page)."""
    settings = state / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    apputils = state / "settings" / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)  # no "notified about Jupyter news?" toast over the outputs
    (apputils / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "JUPYTER_CONFIG_DIR": str(state / "config"),
           "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = lab_command(work, port, browser=False, notebook="")
    cmd[-1:] = LAB_OFFLINE + [f"--LabApp.user_settings_dir={state / 'settings'}",
                              f"--LabApp.workspaces_dir={state / 'workspaces'}"]
    log = open(state / "lab.log", "wb")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5).close()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("JupyterLab did not start:\n" + (state / "lab.log").read_text())
            time.sleep(0.5)


def stop_kernels(url: str) -> None:
    """Shut every kernel of this server down, so the next notebook gets the machine."""
    auth = {"Authorization": f"token {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels", headers=auth)) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(f"{url}/api/kernels/{k['id']}", method="DELETE", headers=auth)
        urllib.request.urlopen(req).close()


def run_all(page: Any, url: str, name: str, timeout: float) -> float:
    """Open a notebook, Run All Cells, wait until every code cell has run; returns seconds taken."""
    page.goto(f"{url}/lab/tree/{name}?token={TOKEN}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    try:
        page.locator(".jp-Dialog button", has_text="Select").click(timeout=5_000)
    except Exception:  # no kernel dialog: the notebook's kernel started by itself
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    started = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")
    while True:
        page.wait_for_timeout(1000)
        texts = [t.strip() for t in prompts.all_inner_texts()]
        if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts):
            break
        if texts and "[*]:" not in texts and any(re.fullmatch(r"\[\d+\]:", t) for t in texts):
            # Run All stops at a cell that raised: the cells after it stay unrun, so waiting is in vain
            last = max(i for i, t in enumerate(texts) if re.fullmatch(r"\[\d+\]:", t))
            print(f"  {name}: Run All stopped after code cell {last + 1} of {len(texts)} (it raised?)")
            break
        if time.monotonic() - started > timeout:
            print(f"  {name}: still running after {timeout:.0f} s: taking what is there")
            break
    page.wait_for_timeout(1500)  # late outputs (widgets, the picture after an apply)
    return time.monotonic() - started


def shoot(page: Any, nb: dict[str, Any], folder: Path, all_cells: bool) -> list[Path]:
    """Screenshots of the key cells (input and output) of the open notebook."""
    cells = page.locator(".jp-Notebook .jp-Notebook-cell")
    shots = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        name = what(cell) or ("cell" if all_cells else None)
        if name is None:
            continue
        path = folder / f"{index:02d}-{name}.png"
        whole(page, cells.nth(index), path)
        shots.append(path)
        if name == "dashboard":
            shots += dashboard(page, cells.nth(index), folder, index)
        if name == "diagram" and cells.nth(index).locator("g.kubelab-pod-group").count():
            # a box of pods opens on a click, in the page (no kernel involved)
            cells.nth(index).locator("g.kubelab-pod-group").first.click()
            path = folder / f"{index:02d}-diagram-clicked.png"
            whole(page, cells.nth(index), path)
            shots.append(path)
    return shots


def whole(page: Any, cell: Any, path: Path) -> None:
    """Screenshot a cell in full: JupyterLab scrolls inside the page, so a cell taller than the
    window is cut off unless the window grows to fit it for the picture."""
    size = page.viewport_size
    box = cell.bounding_box()
    if box and box["height"] > size["height"] - 120:
        page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 200})
    try:
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


def dashboard(page: Any, cell: Any, folder: Path, index: int) -> list[Path]:
    """Does the dashboard keep itself up to date? Wait, then scale up, and look again."""
    shots = []
    page.wait_for_timeout(3000)
    path = folder / f"{index:02d}-dashboard-later.png"
    whole(page, cell, path)
    shots.append(path)
    group = cell.locator(".kubelab-diagram g.kubelab-pod-group")
    if group.count():  # its picture's box of pods opens on a click too
        group.first.click()
        path = folder / f"{index:02d}-dashboard-diagram-clicked.png"
        whole(page, cell, path)
        shots.append(path)
    up = cell.locator("button.kubelab-scale-up")
    if up.count() and up.first.is_enabled():
        up.first.click()
        page.wait_for_timeout(4000)
        path = folder / f"{index:02d}-dashboard-scaled-up.png"
        whole(page, cell, path)
        shots.append(path)
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--all-cells", action="store_true", help="a picture of every code cell")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to let one notebook run")
    parser.add_argument("--scale", action="store_true", help="a 50-pod Deployment's dashboard and diagrams")
    args = parser.parse_args()
    import nbformat
    from playwright.sync_api import sync_playwright

    paths = [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if not args.only or p.name.startswith(tuple(args.only))]
    (OUT / "executed").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kubelab-screens-") as tmp:
        work, state = Path(tmp) / "work", Path(tmp) / "state"
        work.mkdir()
        if args.scale:
            paths = [work / SCALE]
            nbformat.write(nbformat.v4.new_notebook(
                cells=[nbformat.v4.new_code_cell(src) for src in SCALE_CELLS],
                metadata={"kernelspec": {"name": "python3", "language": "python",
                                         "display_name": "Python 3 (ipykernel)"}}), work / SCALE)
            args.all_cells = True
        for p in paths:
            if p.parent != work:
                shutil.copy(p, work / p.name)
        proc, url = start_lab(work, state)
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(state / "chromium"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                # the browser may only ever talk to the JupyterLab server on 127.0.0.1
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                           else route.abort())
                for p in paths:
                    folder = OUT / p.stem
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir(parents=True)
                    nb = nbformat.read(work / p.name, as_version=4)  # the copy on screen
                    took = run_all(page, url, p.name, args.timeout)
                    shots = shoot(page, nb, folder, args.all_cells)
                    page.keyboard.press("Control+s")
                    page.wait_for_timeout(1500)
                    shutil.copy(work / p.name, OUT / "executed" / p.name)
                    print(f"{p.name}: ran in {took:.0f} s, {len(shots)} pictures in {folder.relative_to(ROOT)}")
                    stop_kernels(url)
                context.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
