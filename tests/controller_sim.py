"""Test helpers for the control loops: a cluster with only the controllers under test, and a
stand-in for the kubelet that writes pod status the way the real one would."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.cluster import Cluster
from kubelab.engine import deployment, endpoints, garbage, namespaces, parts, replicaset
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Engine


def _controllers_only(engine: Engine, api: APIServer, node_spec: Any, images: Any) -> parts.Parts:
    for part in (namespaces, garbage, replicaset, deployment, endpoints):
        part.install(engine, api)
    return parts.Parts(None, None, None)  # type: ignore[arg-type] - no node agent, pod network or health monitor


def bare_cluster(monkeypatch: pytest.MonkeyPatch, seed: int = 1) -> Cluster:
    """A virtual-clock cluster running the controllers but no scheduler or kubelet, so tests
    decide what the pods do."""
    monkeypatch.setattr(parts, "install", _controllers_only)
    return Cluster(clock="virtual", seed=seed)


def pods(c: Cluster, ns: str = "default", selector: str | None = None, active: bool = True) -> list[dict]:
    items = c.api.list("Pod", ns, label_selector=selector)["items"]
    return [p for p in items if not (active and p["metadata"].get("deletionTimestamp"))]


def set_pod(c: Cluster, pod: dict[str, Any], phase: str = "Running", ready: bool = True, node: str = "node-1",
            ip: str | None = None, restarts: int = 0) -> dict:
    """Write the status the kubelet would: phase, podIP, Ready condition, container statuses."""
    current = c.api.get("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
    if node and not current["spec"].get("nodeName"):
        current["spec"]["nodeName"] = node
        current = c.engine.store.update(current)
        current = copy.deepcopy(current)
    stamp = c.clock.timestamp()
    old_ready = next((x for x in (current.get("status") or {}).get("conditions") or () if x["type"] == "Ready"), None)
    since = old_ready["lastTransitionTime"] if old_ready and old_ready["status"] == ("True" if ready else "False") \
        else stamp
    current["status"] = {
        "phase": phase,
        "podIP": ip or _ip_for(current),
        "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}],
        "containerStatuses": [{"name": ct["name"], "ready": ready, "restartCount": restarts}
                              for ct in current["spec"].get("containers", [])],
    }
    out = c.api.update(current, subresource="status")
    c.engine.drain()
    return out


def run_all(c: Cluster, ns: str = "default", ready: bool = True) -> None:
    """Make every active pod in ``ns`` Running (and Ready), and remove pods marked for
    deletion whose finalizers are done (what the kubelet does once their containers stop)."""
    for _ in range(50):
        changed = False
        for pod in c.api.list("Pod", ns)["items"]:
            if pod["metadata"].get("deletionTimestamp"):
                if not pod["metadata"].get("finalizers"):
                    c.engine.store.remove("Pod", ns, pod["metadata"]["name"])
                    changed = True
                continue
            if (pod.get("status") or {}).get("phase") != "Running" or _ready(pod) != ready:
                set_pod(c, pod, ready=ready)
                changed = True
        c.engine.drain()
        if not changed:
            return


def _ready(pod: dict) -> bool:
    return any(x["type"] == "Ready" and x["status"] == "True" for x in (pod.get("status") or {}).get("conditions") or ())


def _ip_for(pod: dict) -> str:
    n = int(pod["metadata"]["uid"].replace("-", "")[:6], 16)
    return f"10.244.{(n >> 8) % 250}.{n % 250 + 2}"


def events(c: Cluster, obj_kind: str, name: str, ns: str = "default") -> list[tuple[str, str, str]]:
    """(type, reason, message) of events about an object, oldest first."""
    items = [e for e in c.api.list("Event", ns)["items"]
             if e["involvedObject"]["kind"] == obj_kind and e["involvedObject"]["name"] == name]
    items.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["type"], e["reason"], e["message"]) for e in items]
