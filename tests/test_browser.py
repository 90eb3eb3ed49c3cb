"""The walkthrough in a real browser: JupyterLab on 127.0.0.1, headless Debian Chromium driven by
Playwright. Runs a notebook, then uses the dashboard: scale up and see the pod table grow,
delete a pod and see its replacement appear. Screenshots go to test-artifacts/.

Only 127.0.0.1 is used: Chromium runs with background networking off, and JupyterLab with news,
update checks and the PyPI extension manager switched off.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

from kubelab.__main__ import lab_command

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "kubelab-browser-test"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB_OFFLINE = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]

NOTEBOOK_CELLS = [
    "%load_ext kubelab",
    """%%kube apply
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
spec:
  replicas: 2
  selector:
    matchLabels:
      app: echo-server
  template:
    metadata:
      labels:
        app: echo-server
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo""",
    "%kube rollout status deploy/echo-server",
    "%kube get pods -o wide",
    "%kube dashboard",
]


# The in-cell terminal (the notes' first command): a shell in a busybox pod, answered while
# another cell runs.
TERMINAL_CELLS = [
    "%load_ext kubelab",
    "%kube create deployment echo-server --image=kennship/http-echo",
    "%kube rollout status deploy/echo-server",
    "%kube get pods -l app=echo-server -o jsonpath='{.items[0].status.podIP}'",
    "%kube run -it busybox --image=busybox --rm --restart=Never",
    "%kube get pods",
]
# A slow command's progress line, a diagram's box of pods expanded by a click, and an open
# terminal that outlives its kernel.
POLISH_CELLS = [
    "%load_ext kubelab",
    "%kube create deployment web --image=nginx --replicas=12",
    "%kube rollout status deploy/web",
    "%kube diagram",
    "%kube run -it shell --image=busybox --restart=Never",
]
NOTEBOOKS = {"dashboard.ipynb": NOTEBOOK_CELLS, "terminal.ipynb": TERMINAL_CELLS, "polish.ipynb": POLISH_CELLS}
WORK: list[Path] = [Path()]  # the folder JupyterLab serves (set by the lab fixture)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving a folder with the test notebooks (one server
    for all the tests here: it takes a while to start); yields its URL."""
    import nbformat

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    tmp_path = tmp_path_factory.mktemp("lab")
    work = WORK[0] = tmp_path / "work"
    work.mkdir()
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells],
                                      metadata={"kernelspec": {"name": "python3", "language": "python",
                                                               "display_name": "Python 3 (ipykernel)"}})
        nbformat.write(nb, work / name)
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = lab_command(work, port, browser=False, notebook="dashboard.ipynb")
    cmd[-1:-1] = LAB_OFFLINE
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _pod_names(page) -> list[str]:  # noqa: ANN001 (playwright Page)
    """The NAME column of the dashboard's visible pod rows."""
    rows = page.locator(".kubelab-dashboard .kubelab-pod-row:visible")
    return [rows.nth(i).locator(".widget-html-content span").first.inner_text().strip()
            for i in range(rows.count())]


def _wait_for(page, predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "browser-timeout.png"), full_page=True)
            pytest.fail(f"timed out waiting for {what}")
        page.wait_for_timeout(250)


def _browse(lab: str, tmp_path: Path, drive: Callable[..., None], prefix: str) -> None:
    """Open Chromium on the lab and ``drive(page, lab)``; a failure leaves a screenshot."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"{prefix}-*.png"):
        old.unlink()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            # the browser may only ever talk to the JupyterLab server on 127.0.0.1
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(lab)
                       else route.abort())
            try:
                drive(page, lab)
            except BaseException:
                page.screenshot(path=str(ARTIFACTS / f"{prefix}-failure.png"), full_page=True)
                raise
        finally:
            context.close()
            _stop_kernels(lab)


def _stop_kernels(lab: str) -> None:
    """Shut down the kernels a test started (the next test gets the machine's cores)."""
    import json

    with urllib.request.urlopen(f"{lab}/api/kernels?token={TOKEN}", timeout=10) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{lab}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _run_all(page, lab: str, notebook: str) -> None:  # noqa: ANN001 (playwright Page)
    """Open ``notebook`` and run all its cells."""
    # its own workspace, reset: not the tabs an earlier test left open
    page.goto(f"{lab}/lab/workspaces/{notebook.split('.')[0]}/tree/{notebook}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    select = page.locator(".jp-Dialog button", has_text="Select")  # JupyterLab may ask which kernel
    try:
        select.click(timeout=5_000)
    except Exception:  # no dialog: the notebook's kernel started by itself
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_dashboard_scales_and_heals(lab: str, tmp_path: Path) -> None:
    _browse(lab, tmp_path, _drive, "browser")


def _drive(page, lab: str) -> None:  # noqa: ANN001 (playwright Page)
    """Run the notebook, then scale up and delete a pod from the dashboard."""
    _run_all(page, lab, "dashboard.ipynb")
    dashboard = page.locator(".kubelab-dashboard")
    dashboard.wait_for(state="visible", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "browser-1-notebook-run.png"), full_page=True)
    _wait_for(page, lambda: len(_pod_names(page)) == 2, 60, "the 2 pods in the dashboard")
    before = set(_pod_names(page))
    dashboard.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-2-dashboard.png"), full_page=True)

    page.locator("button.kubelab-scale-up").click()
    _wait_for(page, lambda: len(_pod_names(page)) == 3, 60, "a third pod after scale up")
    page.screenshot(path=str(ARTIFACTS / "browser-3-scaled-up.png"), full_page=True)

    names = set(_pod_names(page))
    assert before < names
    victim = sorted(before)[0]
    row = page.locator(".kubelab-dashboard .kubelab-pod-row:visible", has_text=victim)
    row.locator("button", has_text="delete").click()
    _wait_for(page, lambda: len(set(_pod_names(page)) - names) == 1, 60,
              f"a replacement for {victim}")
    _wait_for(page, lambda: victim not in _pod_names(page) or "Terminating" in
              page.locator(".kubelab-pod-row:visible", has_text=victim).inner_text(), 60,
              f"{victim} to go")
    page.screenshot(path=str(ARTIFACTS / "browser-4-pod-replaced.png"), full_page=True)



def test_terminal_in_a_cell(lab: str, tmp_path: Path) -> None:
    """The notes' first command in a cell: a shell in a busybox pod, typed into in Chromium,
    answers wget to the echo server; another cell runs while it is open; ``exit`` deletes the
    pod; the saved notebook keeps the transcript as text."""
    _browse(lab, tmp_path, _drive_terminal, "terminal")


def _cell_output(page, index: int):  # noqa: ANN001, ANN202 (playwright Page, Locator)
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def _drive_terminal(page, lab: str) -> None:  # noqa: ANN001 (playwright Page)
    import json

    _run_all(page, lab, "terminal.ipynb")
    terminal = page.locator(".kubelab-terminal")
    terminal.wait_for(state="visible", timeout=60_000)
    screen = terminal.locator(".xterm-rows")
    _wait_for(page, lambda: "/ #" in screen.inner_text(), 60, "the shell's prompt")
    ip = _cell_output(page, 3).inner_text().strip()
    assert ip.count(".") == 3, ip
    # the cell after the terminal ran while the terminal is open (Run All went on at once)
    pods = _cell_output(page, 5)
    _wait_for(page, lambda: "busybox" in pods.inner_text(), 60, "the next cell's output")
    assert "connected" in terminal.locator(".kubelab-terminal-bar").inner_text()
    page.screenshot(path=str(ARTIFACTS / "terminal-1-prompt.png"), full_page=True)

    terminal.locator(".xterm").click()
    page.keyboard.type(f"wget -qO- {ip}:3000")
    page.keyboard.press("Enter")
    _wait_for(page, lambda: '"method":"GET"' in screen.inner_text().replace("\n", ""), 60, "the echo reply")
    text = screen.inner_text().replace("\n", "")
    assert f'"host":"{ip}:3000"' in text and '"user-agent":"Wget"' in text
    page.screenshot(path=str(ARTIFACTS / "terminal-2-echo.png"), full_page=True)

    # Ctrl-C stops a command; the up arrow brings back an earlier line
    page.keyboard.type("sleep 100")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+c")
    _wait_for(page, lambda: "sleep 100^C" in screen.inner_text().replace("\n", ""), 30, "^C to stop sleep")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    _wait_for(page, lambda: screen.inner_text().replace("\n", "").count('"method":"GET"') == 2, 60,
              "the wget line again, from the history")

    page.keyboard.type("exit")
    page.keyboard.press("Enter")
    # the ended terminal turns into its transcript, saying so
    ended = _cell_output(page, 4).locator(".kubelab-terminal-transcript")
    ended.wait_for(state="visible", timeout=60_000)
    assert 'pod "busybox" deleted' in ended.inner_text() and "session ended (exit code 0)" in ended.inner_text()
    assert _cell_output(page, 4).locator(".xterm").count() == 0  # nothing left to type into
    page.screenshot(path=str(ARTIFACTS / "terminal-3-ended.png"), full_page=True)

    # The saved notebook holds the transcript as plain text in the terminal cell's output.
    page.keyboard.press("Control+s")
    saved = WORK[0] / "terminal.ipynb"

    def transcript() -> str:
        cells = json.loads(saved.read_text())["cells"]
        return "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cells[4].get("outputs", []))

    _wait_for(page, lambda: 'pod "busybox" deleted' in transcript(), 30, "the saved transcript")
    assert "/ # wget -qO- " + ip + ":3000" in transcript()
    # and a static rendering of the saved notebook (no kernel, no widget state) shows it
    import nbformat
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(nbformat.read(saved, as_version=4))
    assert "/ # sleep 100\n^C\n/ # wget" in html and 'pod "busybox" deleted' in html


def test_progress_expand_and_a_terminal_after_restart(lab: str, tmp_path: Path) -> None:
    """A slow command shows a progress line that becomes its output; a click on a diagram's
    box of pods draws each pod (no kernel involved); an open terminal, after the kernel
    restarts, says its session ended with the kernel, and after a reload shows its transcript
    instead of "model not found"."""
    _browse(lab, tmp_path, _drive_polish, "polish")


def _drive_polish(page, lab: str) -> None:  # noqa: ANN001 (playwright Page)
    _run_all(page, lab, "polish.ipynb")
    rollout = _cell_output(page, 2)
    _wait_for(page, lambda: rollout.locator(".kubelab-progress").count() > 0, 60, "the progress line")
    line = rollout.locator(".kubelab-progress").inner_text()
    assert "kubectl rollout status deploy/web:" in line and 'Waiting for deployment "web"' in line, line
    page.screenshot(path=str(ARTIFACTS / "polish-0-progress.png"), full_page=True)
    _wait_for(page, lambda: "successfully rolled out" in rollout.inner_text(), 60, "the rollout's end")
    assert rollout.locator(".kubelab-progress").count() == 0
    assert rollout.locator(".jp-OutputArea-child").count() == 1  # the line became the output

    picture = _cell_output(page, 3)
    boxes = picture.locator(".kubelab-view-grouped g.kubelab-pod-group")
    _wait_for(page, lambda: boxes.count() > 0, 60, "the diagram's boxes of pods")
    expanded = picture.locator(".kubelab-view-expanded")
    assert not expanded.is_visible()
    page.screenshot(path=str(ARTIFACTS / "polish-1-grouped.png"), full_page=True)
    boxes.first.click()
    assert expanded.is_visible() and not picture.locator(".kubelab-view-grouped").is_visible()
    assert expanded.locator("g.node title", has_text="Pod/default/web-").count() == 12
    page.screenshot(path=str(ARTIFACTS / "polish-2-expanded.png"), full_page=True)
    expanded.locator(".kubelab-collapse").click()
    assert picture.locator(".kubelab-view-grouped").is_visible()

    terminal = page.locator(".kubelab-terminal")
    terminal.wait_for(state="visible", timeout=60_000)
    screen = terminal.locator(".xterm-rows")
    _wait_for(page, lambda: "/ #" in screen.inner_text(), 60, "the shell's prompt")
    fallback = _cell_output(page, 4).locator(".kubelab-terminal-fallback")
    assert not fallback.is_visible()  # the live terminal shows it all
    terminal.locator(".xterm").click()
    page.keyboard.type("echo before-restart")
    page.keyboard.press("Enter")
    _wait_for(page, lambda: screen.inner_text().count("before-restart") == 2, 60, "the echo")
    page.wait_for_timeout(2500)  # the kernel keeps the fallback about once a second

    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel").first.click()
    page.locator(".jp-Dialog button", has_text="Restart").click()
    bar = terminal.locator(".kubelab-terminal-bar")
    _wait_for(page, lambda: "session ended with the kernel" in bar.inner_text(), 60, "the bar to say so")
    assert "before-restart" in screen.inner_text()
    page.screenshot(path=str(ARTIFACTS / "polish-3-restarted.png"), full_page=True)

    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    fallback = _cell_output(page, 4).locator(".kubelab-terminal-fallback")
    fallback.wait_for(state="visible", timeout=60_000)
    _wait_for(page, lambda: page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0,
              60, "the kernel")
    page.wait_for_timeout(1500)  # the widget manager has restored what the new kernel has
    text = _cell_output(page, 4).inner_text()
    assert "/ # echo before-restart\nbefore-restart" in text and "session ended with the kernel" in text, text
    assert "model not found" not in text
    page.screenshot(path=str(ARTIFACTS / "polish-4-reloaded.png"), full_page=True)
