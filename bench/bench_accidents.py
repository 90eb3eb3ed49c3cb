"""Accidents a learner can type, one per process: peak memory, and how fast a command answers.

Each accident runs in its own subprocess (so ``ru_maxrss`` is that accident's own peak) on the
default 3-node cluster and the virtual clock, then moves the cluster forward in steps; after
each step one command (``kubectl get deployments`` / ``get configmaps`` ...) is timed. Printed:
the peak RSS in MB, the command's median and worst latency in ms, the cluster seconds covered,
the wall time and the longest step's wall time (the engine work a live clock spreads over those
15 s), and how many pods (and bound to a node) and events the store holds at the end. The target is a kernel under 1 GB whose commands keep answering.

Run: ``python bench/bench_accidents.py [name ...]`` (all by default): replicas, logs, longlines,
configmap, events, disk.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS, STEP_SECONDS = 60, 15.0  # 15 minutes of cluster time


def _deployment(name: str, replicas: int, image: str = "nginx:1.27", command: list[str] | None = None) -> dict:
    container: dict = {"name": "main", "image": image}
    if command:
        container["command"] = command
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def accident(name: str) -> dict:
    """Run one accident in this process and measure it."""
    from kubelab import Cluster

    state = f"{tempfile.mkdtemp(prefix='kubelab-bench-')}/cluster.db" if name == "disk" else None
    cluster = Cluster(clock="virtual", state=state)
    cluster.settle()
    command = "get deployments"
    if name == "replicas":  # 100,000 replicas on 3 nodes of 110 pods each
        cluster.api.create(_deployment("huge", 100_000), "default")
    elif name == "logs":  # a container printing as fast as it can, forever
        cluster.api.create(_deployment("chatty", 1, "busybox:1.36", ["sh", "-c", "while true; do echo spam; done"]),
                           "default")
        command = "logs deployment/chatty --tail=1"
    elif name == "longlines":  # the same with 500 KB lines: 5 MB a second until the 10 MiB cap
        chatty = _deployment("chatty", 1, "busybox:1.36", ["sh", "-c", "while true; do echo $X; done"])
        chatty["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "x" * 500_000}]
        cluster.api.create(chatty, "default")
        command = "logs deployment/chatty --tail=1"
    elif name == "configmap":  # the biggest ConfigMap the API takes (1 MiB), then one over it
        command = "get configmaps"
        data = {f"k{i:04}": "x" * 1000 for i in range(1040)}  # 1,045,200 bytes
        cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": data},
                           "default")
        over = cluster.kubectl("create configmap over --from-literal=a=" + "x" * (1024 * 1024 + 1))
        assert over.returncode == 1, over.stdout
    elif name == "events":  # 10,000 events in one namespace; one pod's events, as describe reads them
        command = "get events --field-selector=involvedObject.name=p5000"
        for i in range(10_000):
            cluster.api.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"e{i}"},
                                "involvedObject": {"kind": "Pod", "name": f"p{i}", "namespace": "default"},
                                "reason": "BackOff", "message": f"Back-off restarting failed container {i}",
                                "type": "Warning", "count": 1}, "default")
    elif name == "disk":  # 500 KB lines appended to a claim's file (5 MB a second), in a state file,
        # until the nodes' disks are full (disks.DISK_BYTES, 64 MiB): then the writes fail
        cluster.api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
                           "default")
        filler = _deployment("filler", 1, "busybox:1.36", ["sh", "-c", "while true; do echo $X >> /data/f; done"])
        spec = filler["spec"]["template"]["spec"]
        spec["containers"][0]["env"] = [{"name": "X", "value": "x" * 500_000}]
        spec["containers"][0]["volumeMounts"] = [{"name": "d", "mountPath": "/data"}]
        spec["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
        cluster.api.create(filler, "default")
        command = "get pvc"
    else:
        raise SystemExit(f"unknown accident {name}")
    latencies, steps, started = [], [], time.perf_counter()
    for _ in range(STEPS):
        t = time.perf_counter()
        cluster.advance(STEP_SECONDS)
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = cluster.kubectl(command)
        latencies.append((time.perf_counter() - t) * 1000)
        assert "Traceback" not in result.stderr
    pods = cluster.engine.store.count("Pod")
    bound = sum(len(cluster.engine.store.pods_on(n["metadata"]["name"])) for n in cluster.engine.store.list("Node"))
    events = cluster.engine.store.count("Event")
    return {"accident": name, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "median_ms": statistics.median(latencies), "worst_ms": max(latencies),
            "cluster_s": STEPS * STEP_SECONDS, "wall_s": time.perf_counter() - started, "pods": pods,
            "worst_step_s": max(steps), "bound": bound,
            "events": events}


def main(names: list[str]) -> None:
    print(f"{'accident':<10} {'peak MB':>8} {'median ms':>10} {'worst ms':>9} {'cluster s':>9} {'wall s':>7} "
          f"{'step s':>7} {'pods':>7} {'bound':>6} {'events':>7}")
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name:<10} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout)
        print(f"{r['accident']:<10} {r['peak_mb']:>8.0f} {r['median_ms']:>10.1f} {r['worst_ms']:>9.1f} "
              f"{r['cluster_s']:>9.0f} {r['wall_s']:>7.1f} {r['worst_step_s']:>7.1f} {r['pods']:>7} {r['bound']:>6} {r['events']:>7}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(accident(sys.argv[2])))
    else:
        main(sys.argv[1:] or ["replicas", "logs", "longlines", "configmap", "events", "disk"])
