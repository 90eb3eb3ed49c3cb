"""What keeping the nodes' disks in the state file costs (kubelab/engine/disks.py, state.py).

1. Writers: 20 pods each append a line to a file in one claim every second for 10 minutes
   (virtual clock), with and without a state file: the time it takes, the file's size, and
   how long a restore takes.
2. Only what changed: an 8 MiB file sits in a volume; each ``kubectl exec`` that writes a
   small file next to it is on disk when it returns. Prints the mean time of such an exec with
   and without a state file (the 8 MiB file is written once, not at every flush).

Run: ``python bench/bench_disks.py``. Prints numbers; asserts nothing.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402

CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}


def _deployment(replicas: int, script: str) -> dict:
    labels = {"app": "writer"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "writer"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox",
                                                           "command": ["sh", "-c", script],
                                                           "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                                           "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}}}


def writers(state: str | None) -> None:
    c = Cluster(clock="virtual", nodes=1, seed=1, state=state)
    c.api.create(CLAIM, "default")
    c.api.create(_deployment(20, 'while true; do echo "$HOSTNAME $(date)" >> /data/$HOSTNAME.log; sleep 1; done'),
                 "default")
    c.settle(60)
    start = time.perf_counter()
    for _ in range(60):
        c.advance(10)
    took = time.perf_counter() - start
    held = c.kubelet.disks.used
    c.close()
    line = f"  {'state file' if state else 'in memory '}: 600 s of 20 writers took {took:.2f} s; disks hold {held / 1e3:.0f} kB"
    if state:
        start = time.perf_counter()
        again = Cluster(clock="virtual", state=state)
        restore = time.perf_counter() - start
        line += f"; file {os.path.getsize(state) / 1e6:.1f} MB, restore {restore:.2f} s ({again.kubelet.disks.used / 1e3:.0f} kB back)"
        again.close()
    print(line)


def small_writes(state: str | None, rounds: int = 200) -> None:
    c = Cluster(clock="virtual", nodes=1, seed=1, state=state)
    c.api.create(CLAIM, "default")
    c.api.create(_deployment(1, "sleep 36000"), "default")
    c.settle(60)
    pod = c.api.list("Pod", "default")["items"][0]["metadata"]["name"]
    disk = next(c.kubelet.disks.get(k) for k in c.kubelet.disks if k[0] == "pv")
    assert disk is not None
    disk["big"] = "x" * (8 * 1024 * 1024)
    c.engine.flush()
    c.kubectl("exec", pod, "--", "sh", "-c", "echo warm > /data/small")
    start = time.perf_counter()
    for i in range(rounds):
        c.kubectl("exec", pod, "--", "sh", "-c", f"echo {i} > /data/small")
    each = (time.perf_counter() - start) / rounds
    c.close()
    print(f"  {'state file' if state else 'in memory '}: exec writing a small file beside an 8 MiB one: {each * 1e3:.2f} ms each")


def main() -> None:
    folder = tempfile.mkdtemp(prefix="kubelab-bench-disks-")
    print("20 pods appending to a claim every second:")
    writers(None)
    writers(os.path.join(folder, "writers.db"))
    print("only what changed is written:")
    small_writes(None)
    small_writes(os.path.join(folder, "small.db"))


if __name__ == "__main__":
    main()
