"""Draining a node under a PodDisruptionBudget, on the virtual clock.

A Deployment of N nginx replicas with ``maxUnavailable: 1`` spread over the default 3 nodes;
``kubectl drain`` of one node then evicts one pod at a time: each eviction spends the budget,
the others get 429s and retry 5 s later, the ReplicaSet's replacement turns ready and gives the
disruption back. Printed per N: the pods evicted, the 429s answered, the cluster seconds the
drain took, its wall time, and the median wall time of one eviction call through the client.

Run: ``python bench/bench_drain.py [N ...]`` (10 30 90 by default).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
"""


def run(replicas: int) -> dict:
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=1)
    c.kubectl(f"create deployment web --image=nginx --replicas={replicas}")
    c.kubectl("apply -f -", stdin=BUDGET)
    c.settle()
    start_clock, start = c.client.now(), time.perf_counter()
    r = c.kubectl("drain kubelab-m02 --ignore-daemonsets --pod-selector=app=web")
    wall = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    result = {"replicas": replicas, "evicted": r.stdout.count(" evicted\n"), "429s": r.stderr.count("will retry"),
              "cluster_s": round(c.client.now() - start_clock, 1), "drain_wall_s": round(wall, 2)}
    # one eviction call, budget permitting (dry run: nothing changes between calls)
    names = [p["metadata"]["name"] for p in c.client.list("Pod", "default", label_selector="app=web")["items"]]
    c.settle()
    calls = []
    for name in names[:50]:
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
        t = time.perf_counter()
        c.client.evict(name, "default", body, dry_run=True)
        calls.append(time.perf_counter() - t)
    result["evict_call_ms"] = round(statistics.median(calls) * 1000, 2)
    return result


def main(argv: list[str]) -> None:
    for n in [int(a) for a in argv] or [10, 30, 90]:
        print(run(n), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
