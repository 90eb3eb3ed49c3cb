"""The real-clock cluster as a notebook kernel lives it: its background driver when nothing
happens, after a long idle, and while a big job is worked through. Prints numbers; never fails
on time.

1. idle CPU: the process's CPU time over 5 s of an idle cluster with a running Deployment
   (a workshop host runs dozens of idle kernels);
2. catch-up after an 8 h idle: the wall clock jumps 8 h ahead (a RealClock whose ``wall`` is
   moved, as after a suspend), then the time until ``kubectl get pods`` answers;
3. ``kubectl get pods`` latency (in the default namespace, 3 pods) while a 100,000-replica
   Deployment in another namespace is worked on by the driver in slices.

Run: ``python bench/bench_live.py [idle|idle8h|big] [--state]`` (all three by default;
``--state`` keeps each cluster in a SQLite state file, as a notebook's default cluster does).
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402
from kubelab.engine.clock import RealClock  # noqa: E402

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: main
        image: kennship/http-echo
        resources: {{requests: {{cpu: 1m, memory: 1Mi}}}}
        readinessProbe: {{httpGet: {{path: /, port: 3000}}, periodSeconds: 5}}
"""


class MovableClock(RealClock):
    """Wall time plus an offset the bench moves (a suspend, a long idle)."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset


def wait_running(cluster: Cluster, ns: str, count: int, limit: float = 30) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        with cluster.engine.lock:
            running = sum(1 for p in cluster.engine.store.list("Pod", ns) if p["status"].get("phase") == "Running")
        if running >= count:
            break
        time.sleep(0.1)
    return time.perf_counter() - t0


STATE = tempfile.mkdtemp(prefix="kubelab-bench-") if "--state" in sys.argv else None


def state(name: str) -> str | None:
    return os.path.join(STATE, name + ".db") if STATE else None


def bench_idle() -> None:
    with Cluster(state=state("idle")) as cluster:
        cluster.kubectl("apply -f -", stdin=DEPLOYMENT.format(name="web", ns="default", replicas=3))
        wait_running(cluster, "default", 3)
        time.sleep(1)
        c0, t0, s0 = time.process_time(), time.perf_counter(), cluster.driver.slices
        time.sleep(5)
        c1, t1, s1 = time.process_time(), time.perf_counter(), cluster.driver.slices
        print(f"idle: {100 * (c1 - c0) / (t1 - t0):.2f} % CPU over {t1 - t0:.1f} s "
              f"({s1 - s0} driver slices; 3 pods with 5 s readiness probes, kube-system running)")


def bench_idle8h() -> None:
    clock = MovableClock()
    with Cluster(clock=clock, state=state("idle8h")) as cluster:
        cluster.kubectl("apply -f -", stdin=DEPLOYMENT.format(name="web", ns="default", replicas=3))
        wait_running(cluster, "default", 3)
        time.sleep(0.5)
        timers = len(cluster.clock._timers)
        t0 = time.perf_counter()
        clock.offset += 8 * 3600  # the laptop slept 8 h: the driver has not run meanwhile
        result = cluster.kubectl("get pods")
        t1 = time.perf_counter()
        wait_caught_up(cluster)
        t2 = time.perf_counter()
        print(f"after 8 h idle: get pods answered in {t1 - t0:.3f} s, fully caught up in {t2 - t0:.3f} s "
              f"({timers} timers pending before the idle; exit {result.returncode})")


def wait_caught_up(cluster: Cluster) -> None:
    while True:
        with cluster.engine.lock:
            due = cluster.clock.next_due()
            if not cluster.engine._queue and (due is None or due > cluster.clock.wall()):
                return
        time.sleep(0.01)


def bench_big() -> None:
    with Cluster(nodes=100, state=state("big")) as cluster:
        cluster.kubectl("apply -f -", stdin=DEPLOYMENT.format(name="web", ns="default", replicas=3))
        wait_running(cluster, "default", 3)
        cluster.kubectl("create namespace big")
        t0 = time.perf_counter()
        cluster.kubectl("apply -f -", stdin=DEPLOYMENT.format(name="huge", ns="big", replicas=100_000))
        latencies, counts = [], []
        while time.perf_counter() - t0 < 60:
            t = time.perf_counter()
            result = cluster.kubectl("get pods")
            latencies.append(time.perf_counter() - t)
            assert result.returncode == 0, result.stderr
            counts.append(cluster.engine.store.count("Pod", "big"))
            time.sleep(0.5)
        latencies.sort()
        print(f"100,000-replica Deployment in progress: get pods (default, 3 pods) x{len(latencies)} over 60 s: "
              f"median {statistics.median(latencies) * 1000:.0f} ms, p90 {latencies[int(len(latencies) * 0.9)] * 1000:.0f} ms, "
              f"max {latencies[-1] * 1000:.0f} ms; pods made meanwhile: {counts[-1]}")


if __name__ == "__main__":
    which = [a for a in sys.argv[1:] if a != "--state"] or ["idle", "idle8h", "big"]
    print(f"state file: {'yes' if STATE else 'no'}")
    try:
        for name in which:
            globals()[f"bench_{name}"]()
    finally:
        if STATE:
            shutil.rmtree(STATE, ignore_errors=True)
