"""A notebook's cluster survives its kernel: restarted, or killed with SIGKILL (a real
ipykernel through jupyter_client, the cluster on the real clock in the kernel's folder)."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Iterator

import pytest
from jupyter_client.manager import KernelManager

REPO = Path(__file__).resolve().parents[1]

SETUP = "%load_ext kubelab"
WORK = [
    "%kube create deployment web --image=nginx --replicas=1",
    "%kube scale deployment web --replicas=3",
    "%kube create configmap settings --from-literal=colour=blue",
]
# a pod writes into a claim (minikube's hostpath provisioner): the file is on the node's disk,
# which the state file keeps
KEEPER = """%%kube apply
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: notes}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  containers:
  - {name: c, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes: [{name: d, persistentVolumeClaim: {claimName: notes}}]
"""
WRITE = ["%kube wait --for=condition=Ready pod/keeper --timeout=60s",
         "%kube exec keeper -- sh -c 'echo kept > /data/f'"]
READ = ["%kube wait --for=condition=Ready pod/keeper --timeout=60s", "%kube exec keeper -- cat /data/f"]
CHECK = ("replicas = %kube get deployment web -o go-template='{{.spec.replicas}}'\n"
         "colour = %kube get configmap settings -o go-template='{{.data.colour}}'\n"
         "print(str(replicas).strip(), str(colour).strip(), sep='\\n')")


class Kernel:
    """One kernel in ``folder``, with this checkout first on its path."""

    def __init__(self, folder: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "KUBELAB_STATE")}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        env["JPY_SESSION_NAME"] = str(folder / "lesson.ipynb")
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(folder), env=env)
        self._connect()

    def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                out.append(msg["content"]["data"].get("text/plain", "") + "\n")
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=120)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    def restart(self) -> None:
        self.kc.stop_channels()
        self.km.restart_kernel(now=False)
        self._connect()

    def sigkill(self) -> None:
        self.kc.stop_channels()
        pid = self.km.provisioner.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        self.km.restart_kernel(now=True)
        self._connect()

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path)
    yield k
    k.close()


def _work(kernel: Kernel) -> None:
    kernel.run(SETUP)
    first = kernel.run(WORK[0])
    assert "deployment.apps/web created" in first and "restored" not in first
    for line in WORK[1:]:
        kernel.run(line)
    assert kernel.run(CHECK).split() == ["3", "blue"]
    kernel.run(KEEPER)
    for line in WRITE:
        kernel.run(line)


def _found_after(kernel: Kernel, folder: Path) -> None:
    kernel.run(SETUP)
    out = kernel.run(CHECK)
    lines = out.splitlines()
    assert lines[0].startswith("cluster restored from .kubelab/lesson.db: ") and "objects" in lines[0], out
    assert lines[1:] == ["3", "blue"], out
    assert "restored" not in kernel.run("%kube get pods")  # said once
    kernel.run(READ[0])  # its container restarted (new sandbox), its volume's file still there
    assert kernel.run(READ[1]).strip() == "kept"
    assert (folder / ".kubelab" / "lesson.db").exists()


def test_a_restarted_kernel_finds_its_cluster(kernel: Kernel, tmp_path: Path) -> None:
    _work(kernel)
    kernel.restart()
    _found_after(kernel, tmp_path)
    events = kernel.run("%kube get events --field-selector reason=SandboxChanged -o name")
    assert events.strip(), "the restarted pods' SandboxChanged events"


def test_a_killed_kernel_finds_its_cluster(kernel: Kernel, tmp_path: Path) -> None:
    _work(kernel)
    kernel.sigkill()
    _found_after(kernel, tmp_path)


def test_reset_keeps_the_old_cluster_and_undo_brings_it_back(kernel: Kernel, tmp_path: Path) -> None:
    _work(kernel)
    said = kernel.run("%kube reset")
    assert "%kube reset --undo brings it back" in said
    assert 'configmaps "settings" not found' in kernel.run("%kube get configmap settings")
    back = kernel.run("%kube reset --undo")
    assert back.startswith("the cluster from before the last reset is back")
    assert kernel.run(CHECK).split() == ["3", "blue"]
