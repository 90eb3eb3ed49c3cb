"""Engine benchmarks on the virtual clock. They print numbers and never fail on time.

- the notes' 3-replica Deployment: apply -> every pod Ready          (target 3 s)
- a 10,000-replica Deployment on 100 nodes -> every pod Running      (target 60 s)
- 100,000 pods on 1,000 nodes -> every pod Running, peak memory      (target 60 s, < 2 GB)

Run: ``python bench/bench_engine.py [small|large|huge]`` (one size per process, so peak memory
is that size's own).
"""
from __future__ import annotations

import resource
import sys
import time

from kubelab import Cluster

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  replicas: {replicas}
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
        image: kennship/http-echo
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
"""


def running(cluster: Cluster) -> int:
    return sum(1 for p in cluster.engine.store.list("Pod", "default")
               if p.get("status", {}).get("phase") == "Running")


def ready(cluster: Cluster) -> int:
    return sum(1 for p in cluster.engine.store.list("Pod", "default")
               if any(c["type"] == "Ready" and c["status"] == "True"
                      for c in p.get("status", {}).get("conditions", [])))


def bench_deployment(replicas: int, nodes: int, label: str, until_ready: bool) -> None:
    t0 = time.perf_counter()
    cluster = Cluster(clock="virtual", nodes=nodes, seed=1)
    t1 = time.perf_counter()
    result = cluster.kubectl("apply -f -", stdin=DEPLOYMENT.format(replicas=replicas))
    assert result.returncode == 0, result.stderr
    count = ready if until_ready else running
    settled = cluster.settle(3600)
    t2 = time.perf_counter()
    state = "Ready" if until_ready else "Running"
    print(f"{label}: {replicas} replicas on {nodes} nodes -> {count(cluster)} {state} (reached: {settled}) "
          f"in {t2 - t1:.2f} s wall, cluster start {t1 - t0:.2f} s; peak memory {peak_rss_mb():.0f} MB")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(which: str) -> None:
    sizes = {"small": (3, 3, "notes deployment", True),
             "large": (10_000, 100, "large deployment", False),
             "huge": (100_000, 1_000, "huge deployment", False)}
    replicas, nodes, label, until_ready = sizes[which]
    bench_deployment(replicas, nodes, label, until_ready)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "small")
