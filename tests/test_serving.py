"""A terminal on the notebook's cluster: ``kubelab serve``, the tutorial's shared kubeconfig
(one context per kernel, locked against concurrent kernels), ``%kube serve``, and the served
cluster following ``%kube reset``. Real kernels (nbclient), the real kubectl 1.32."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kubelab import Cluster
from kubelab.__main__ import KUBECTL_HELP, lab_environment, main, terminal_kubeconfig
from kubelab.kubeconfig import NotOurs, add_context, remove_context
from test_server import KUBECTL, Kubectl, needs_kubectl

ROOT = Path(__file__).resolve().parents[1]


def test_contexts_from_concurrent_kernels_all_land(tmp_path):
    path = tmp_path / ".kubelab" / "kubeconfig"
    with Cluster(clock="virtual").serve() as server:
        names = [f"kubelab-nb{i}" for i in range(8)]
        threads = [threading.Thread(target=add_context, args=(path, name, server)) for name in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        config = json.loads(path.read_text())
        assert sorted(c["name"] for c in config["contexts"]) == sorted(names)
        assert config["current-context"] in names
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        add_context(path, "kubelab-nb3", server)  # again: updated in place, now current
        config = json.loads(path.read_text())
        assert [c["name"] for c in config["contexts"]].count("kubelab-nb3") == 1
        assert config["current-context"] == "kubelab-nb3"
        remove_context(path, "kubelab-nb3")
        config = json.loads(path.read_text())
        assert "kubelab-nb3" not in [c["name"] for c in config["contexts"]]
        assert config["current-context"] in names


def test_never_the_users_own_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with Cluster(clock="virtual").serve() as server:
        with pytest.raises(NotOurs):
            add_context(tmp_path / ".kube" / "config", "kubelab", server)
    assert not (tmp_path / ".kube").exists()
    assert main(["serve", "--kubeconfig", str(tmp_path / ".kube" / "config")]) == 1


def test_tutorial_environment_names_the_shared_kubeconfig(tmp_path, capsys):
    env = lab_environment(tmp_path / "w", {"PATH": "/nowhere"})
    expected = str((tmp_path / "w").resolve() / ".kubelab" / "kubeconfig")
    assert env["KUBECONFIG"] == env["KUBELAB_KUBECONFIG"] == expected == str(terminal_kubeconfig(tmp_path / "w"))
    assert env["PATH"] == "/nowhere"


def test_tutorial_says_when_there_is_no_kubectl(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["tutorial", "--dir", str(tmp_path / "w"), "--print-command"]) == 0
    out = capsys.readouterr().out
    assert KUBECTL_HELP in out and "https://dl.k8s.io/release/v1.32" in out


@needs_kubectl
def test_tutorial_mentions_the_terminal_kubeconfig(tmp_path, monkeypatch, capsys):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "kubectl").symlink_to(KUBECTL)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ.get('PATH', '')}")
    assert main(["tutorial", "--dir", str(tmp_path / "w"), "--print-command"]) == 0
    out = capsys.readouterr().out
    assert f"KUBECONFIG={terminal_kubeconfig(tmp_path / 'w')}" in out and "No kubectl" not in out


@needs_kubectl
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_kubelab_serve_until_stopped(tmp_path, how):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        export = proc.stdout.readline()
        assert first.startswith("Serving an embedded Kubernetes cluster at https://127.0.0.1:"), first
        assert export.startswith("export KUBECONFIG=")
        kubeconfig = export.strip().split("=", 1)[1]
        r = Kubectl(kubeconfig, str(tmp_path / "home"))("get nodes")
        assert r.returncode == 0 and r.stdout.splitlines()[1].split()[:2] == ["kubelab", "Ready"]
    finally:
        proc.send_signal(how)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (0, "Stopped.\n", "")
    assert not Path(kubeconfig).exists()


@needs_kubectl
def test_kubelab_serve_into_a_kubeconfig_file(tmp_path):
    path = tmp_path / "kc"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "serve", "--kubeconfig", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdout.readline()
        assert proc.stdout.readline() == f"export KUBECONFIG={path}\n"
        r = Kubectl(str(path), str(tmp_path / "home"))("config get-contexts -o name")
        assert r.stdout == "kubelab\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert json.loads(path.read_text())["contexts"] == []


KERNEL_CELLS = [
    f"import sys; sys.path.insert(0, {str(ROOT)!r})\n%load_ext kubelab\n"
    "import kubelab.notebook as knb\nfrom kubelab import Cluster\nknb.use(Cluster(clock='virtual', seed=1))",
    "%kube create configmap first --from-literal=a=1",
    "%kube serve",
    "%kube reset",
    "%kube create configmap second --from-literal=b=2",
]


@needs_kubectl
def test_kernel_serves_its_cluster_to_the_tutorial_terminal(tmp_path, monkeypatch):
    """A kernel under the tutorial (the environment kubelab tutorial gives JupyterLab, and the
    notebook name jupyter_server gives its kernels) serves on its first %kube; the terminal's
    kubectl, with nothing but that environment, sees the notebook's objects, and still does
    after %kube reset."""
    shared = terminal_kubeconfig(tmp_path)
    monkeypatch.setenv("KUBELAB_KUBECONFIG", str(shared))
    monkeypatch.setenv("KUBECONFIG", str(shared))
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "01-pods.ipynb"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in KERNEL_CELLS]
    terminal = Kubectl(str(shared), str(tmp_path / "home"))
    seen: dict[str, subprocess.CompletedProcess] = {}

    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            if index == 1:
                seen["contexts"] = terminal("config get-contexts")
                seen["first"] = terminal("get configmaps -o name")
            if index == 4:
                seen["after_reset"] = terminal("get configmaps -o name")
    outputs = ["".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream") for cell in nb.cells]
    assert outputs[1] == ("A JupyterLab terminal's kubectl uses this notebook's cluster: context kubelab-01-pods "
                          "(kubectl config use-context kubelab-01-pods)\n")
    lines = seen["contexts"].stdout.splitlines()
    assert lines[0].split() == ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
    assert lines[1].split() == ["*", "kubelab-01-pods", "kubelab-01-pods", "kubelab-01-pods", "default"]
    assert seen["first"].stdout == "configmap/first\nconfigmap/kube-root-ca.crt\n"
    assert f"export KUBECONFIG={shared}\n" in outputs[2] and "Context: kubelab-01-pods" in outputs[2]
    # the new cluster has only what was made after the reset
    assert seen["after_reset"].stdout == "configmap/kube-root-ca.crt\nconfigmap/second\n"
    assert "Traceback" not in "".join(outputs)
    # the kernel has exited: its context left with it
    assert json.loads(shared.read_text())["contexts"] == []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _execute(ws, code: str) -> str:
    """Run ``code`` in a JupyterLab kernel over its websocket; the text it printed."""
    import uuid

    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                                   "session": uuid.uuid4().hex, "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": False,
                                    "user_expressions": {}, "allow_stdin": False}}))
    printed = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(printed)


@needs_kubectl
def test_jupyterlab_terminal_reaches_the_notebooks_cluster(tmp_path):
    """The whole path: kubelab tutorial starts JupyterLab; a kernel opened on 01-pods.ipynb
    runs a %kube cell; a JupyterLab terminal (terminado, a real shell) runs the real kubectl
    with nothing typed but the command, and sees the notebook's object."""
    import urllib.request

    import websocket

    port, work, token = _free_port(), tmp_path / "workshop", "kubelab-test"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "kubectl").symlink_to(KUBECTL)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_TOKEN": token, "HOME": str(tmp_path / "home"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PATH": f"{tmp_path / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "NO_PROXY": "*"}
    env.pop("KUBECONFIG", None)
    (tmp_path / "home").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "tutorial", "--dir", str(work), "--port", str(port),
                             "--no-browser"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, auth = f"127.0.0.1:{port}", {"Authorization": f"token {token}"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://{base}{path}", data=data, method=method,
                                         headers={**auth, "Content-Type": "application/json"})
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                call("GET", "/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "JupyterLab did not start"
                time.sleep(0.5)
        session = call("POST", "/api/sessions", {"path": "01-pods.ipynb", "name": "01-pods.ipynb",
                                                 "type": "notebook", "kernel": {"name": "python3"}})
        kernel = websocket.create_connection(f"ws://{base}/api/kernels/{session['kernel']['id']}/channels",
                                             header=[f"Authorization: token {token}"], timeout=120)
        printed = _execute(kernel, "%load_ext kubelab\n%kube create configmap from-notebook --from-literal=a=1")
        assert printed.startswith("A JupyterLab terminal's kubectl uses this notebook's cluster: "
                                  "context kubelab-01-pods"), printed
        term = call("POST", "/api/terminals")
        shell = websocket.create_connection(f"ws://{base}/terminals/websocket/{term['name']}",
                                            header=[f"Authorization: token {token}"], timeout=60)
        shell.send(json.dumps(["stdin", "kubectl get configmaps -o name; kubectl config current-context; "
                                        "echo END-$((6*7))\r"]))
        seen = ""
        while "END-42" not in seen:
            message = json.loads(shell.recv())
            if message[0] == "stdout":
                seen += message[1]
        assert "configmap/from-notebook" in seen and "kubelab-01-pods" in seen, seen
        shell.close()
        kernel.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_kubelab_serve_on_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "kubelab", "serve", "--port", str(port)], capture_output=True,
                           text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (r.returncode, r.stdout, r.stderr) == (1, "", f"error: cannot listen on 127.0.0.1:{port}: "
                                                         "Address already in use\n")
