"""The cluster's nodes: what ``minikube start --nodes N`` would register.

Each node looks like a small minikube VM (2 CPUs, about 4 GiB, 110 pods) with the labels,
addresses, pod CIDR, conditions and system info a real kubelet reports, so ``get nodes -o
wide`` and ``describe node`` read as they do on minikube. A node description list gives custom
nodes (zones, taints, bigger machines) for scheduling lessons.

A small node lifecycle controller keeps the ``node.kubernetes.io/unschedulable`` taint in step
with ``spec.unschedulable`` (what ``kubectl cordon`` sets), and the ``not-ready``/``unreachable``
NoSchedule taints with the Ready condition, as the real one does.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Sequence

from kubelab.api import quantity
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj

KUBELET_VERSION = "v1.32.0"
RUNTIME_VERSION = "docker://27.4.0"
OS_IMAGE = "Ubuntu 22.04.5 LTS"
KERNEL_VERSION = "5.15.0-130-generic"
MINIKUBE_VERSION = "v1.35.0"

# A minikube VM's machine: 2 CPUs, 3.83 GiB, a 17 GiB disk. minikube reserves nothing for
# the system, so allocatable equals capacity, as `describe node` shows there.
DEFAULT_CAPACITY = {"cpu": "2", "ephemeral-storage": "17734596Ki", "hugepages-2Mi": "0",
                    "memory": "4015008Ki", "pods": "110"}

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KNOWN_FIELDS = {"name", "labels", "taints", "cpu", "memory", "pods", "ephemeral-storage", "zone",
                 "capacity", "allocatable", "unschedulable", "annotations"}


def node_names(count: int, base: str = "kubelab") -> list[str]:
    """minikube's multi-node naming: ``kubelab``, ``kubelab-m02``, ``kubelab-m03``..."""
    return [base if i == 0 else f"{base}-m{i + 1:02d}" for i in range(count)]


# What ``Cluster(nodes=...)`` takes: a node count, "minikube", or node descriptions.
NodesSpec = int | str | Sequence[dict[str, Any]]


def descriptions(spec: NodesSpec) -> list[dict[str, Any]]:
    """Turn ``Cluster(nodes=...)`` into one description per node; ValueError when it is wrong."""
    if isinstance(spec, bool):
        raise ValueError(f"nodes must be a count, 'minikube' or a list of node descriptions, not {spec!r}")
    if isinstance(spec, int):
        if spec < 1:
            raise ValueError("a cluster needs at least one node")
        return [{"name": name} for name in node_names(spec)]
    if spec == "minikube":
        return [{"name": "minikube"}]
    if isinstance(spec, str) or not isinstance(spec, Sequence):
        raise ValueError(f"nodes must be a count, 'minikube' or a list of node descriptions, not {spec!r}")
    if not spec:
        raise ValueError("a cluster needs at least one node")
    seen: set[str] = set()
    out = []
    for i, desc in enumerate(spec):
        if not isinstance(desc, dict):
            raise ValueError(f"node {i}: a node description is a dict, not {desc!r}")
        unknown = set(desc) - _KNOWN_FIELDS
        if unknown:
            raise ValueError(f"node {i}: unknown field(s) {', '.join(sorted(unknown))}")
        name = desc.get("name") or node_names(i + 1)[i]
        if not isinstance(name, str) or len(name) > 253 or not _NAME.match(name):
            raise ValueError(f"node {i}: {name!r} is not a valid node name (a lowercase RFC 1123 subdomain)")
        if name in seen:
            raise ValueError(f"node {i}: duplicate node name {name!r}")
        seen.add(name)
        for res in ("cpu", "memory", "pods", "ephemeral-storage"):
            if res in desc:
                try:
                    quantity.parse(desc[res])
                except quantity.QuantityError as err:
                    raise ValueError(f"node {name}: {res}: {err}") from None
        for taint in desc.get("taints") or ():
            if not isinstance(taint, dict) or not taint.get("key") or taint.get("effect") not in (
                    "NoSchedule", "PreferNoSchedule", "NoExecute"):
                raise ValueError(f"node {name}: a taint needs a key and an effect of NoSchedule, "
                                 f"PreferNoSchedule or NoExecute, not {taint!r}")
        out.append({**desc, "name": name})
    return out


def build_node(desc: dict[str, Any], index: int, now: str, first: bool) -> Obj:
    """The Node object a kubelet registers (and then reports status for)."""
    name = desc["name"]
    ip = f"192.168.49.{2 + index}"
    capacity = dict(DEFAULT_CAPACITY)
    for res in ("cpu", "memory", "pods", "ephemeral-storage"):
        if res in desc:
            capacity[res] = str(desc[res])
    capacity.update({k: str(v) for k, v in (desc.get("capacity") or {}).items()})
    allocatable = {**capacity, **{k: str(v) for k, v in (desc.get("allocatable") or {}).items()}}
    cluster_name = "minikube" if name == "minikube" else name.split("-m0")[0]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "minikube.k8s.io/name": cluster_name,
        "minikube.k8s.io/primary": "true" if first else "false",
        "minikube.k8s.io/version": MINIKUBE_VERSION,
    }
    if first:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    if desc.get("zone"):
        labels["topology.kubernetes.io/zone"] = str(desc["zone"])
    labels.update({k: str(v) for k, v in (desc.get("labels") or {}).items()})
    # node IPAM hands out /24s of the cluster CIDR in turn (past 256 nodes, of the next /16s)
    cidr = f"10.{244 + index // 256}.{index % 256}.0/24"
    spec: dict[str, Any] = {"podCIDR": cidr, "podCIDRs": [cidr]}
    taints = [dict(t) for t in desc.get("taints") or ()]
    if desc.get("unschedulable"):
        spec["unschedulable"] = True
        taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now})
    if taints:
        spec["taints"] = taints
    ids = f"{index + 1:032x}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                **{k: str(v) for k, v in (desc.get("annotations") or {}).items()},
            },
        },
        "spec": spec,
        "status": {
            "addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": _conditions(now),
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"{ids[:8]}-{ids[8:12]}-4{ids[13:16]}-8{ids[17:20]}-{ids[20:]}",
                "containerRuntimeVersion": RUNTIME_VERSION,
                "kernelVersion": KERNEL_VERSION,
                "kubeProxyVersion": "",
                "kubeletVersion": KUBELET_VERSION,
                "machineID": ids,
                "operatingSystem": "linux",
                "osImage": OS_IMAGE,
                "systemUUID": f"{ids[:8]}-{ids[8:12]}-{ids[12:16]}-{ids[16:20]}-{ids[20:]}",
            },
        },
    }


def _conditions(now: str) -> list[dict[str, str]]:
    rows = (("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    return [{"lastHeartbeatTime": now, "lastTransitionTime": now, "message": message, "reason": reason,
             "status": status, "type": type_} for type_, status, reason, message in rows]


def posted_conditions(before: list[dict[str, str]], now: str) -> list[dict[str, str]]:
    """What a healthy kubelet posts (setNodeStatus's condition setters): each condition's
    heartbeat is now, its transition time moves only if its status changed."""
    old = {c.get("type"): c for c in before}
    out = []
    for cond in _conditions(now):
        prev = old.get(cond["type"])
        if prev is not None and prev.get("status") == cond["status"]:
            cond["lastTransitionTime"] = prev.get("lastTransitionTime", now)
        out.append(cond)
    return out


def internal_ip(node: Obj) -> str:
    """The node's InternalIP (what ``minikube ip`` prints for it)."""
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


# TaintNodesByCondition (node_lifecycle_controller.go's nodeConditionToTaintKeyStatusMap, the
# Ready condition's part): a node whose Ready condition is False or Unknown gets a NoSchedule
# taint, so no new pod lands there. (NoExecute eviction is the rest of that controller.)
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
_READY_TAINTS = {"False": NOT_READY_TAINT, "Unknown": UNREACHABLE_TAINT}


class NodeLifecycle(Controller):
    """Keeps a node's NoSchedule taints in step with its state: ``node.kubernetes.io/
    unschedulable`` with ``spec.unschedulable`` (what ``kubectl cordon`` sets), and
    ``not-ready``/``unreachable`` with a Ready condition of False/Unknown (TaintNodesByCondition)."""

    watches = ("Node",)

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        return () if event == "DELETED" else (("Node", "", obj["metadata"]["name"]),)

    def reconcile(self, key: Key) -> None:
        node = self.store.get(*key)
        if node is None:
            return
        spec = node.get("spec") or {}
        taints = spec.get("taints") or []
        ready = next((c.get("status") for c in (node.get("status") or {}).get("conditions") or ()
                      if c.get("type") == "Ready"), "True")
        want = {UNSCHEDULABLE_TAINT} if spec.get("unschedulable") else set()
        if ready in _READY_TAINTS:
            want.add(_READY_TAINTS[ready])
        managed = {UNSCHEDULABLE_TAINT, NOT_READY_TAINT, UNREACHABLE_TAINT}
        have = {t.get("key") for t in taints if t.get("key") in managed and t.get("effect") == "NoSchedule"}
        if have == want:
            return
        new = copy.deepcopy(node)
        kept = [t for t in taints if not (t.get("key") in managed - want and t.get("effect") == "NoSchedule")]
        kept += [{"key": k, "effect": "NoSchedule", "timeAdded": self.clock.timestamp()}
                 for k in sorted(want - have)]
        if kept:
            new["spec"]["taints"] = kept
        else:
            new["spec"].pop("taints", None)
        new["metadata"].pop("resourceVersion", None)
        self.store.update(new)


def add_nodes(engine: Engine, descs: list[dict[str, Any]]) -> list[Obj]:
    """Register nodes (the first registered one is the control plane)."""
    existing = engine.store.count("Node")
    now = engine.clock.timestamp()
    return [engine.store.create(build_node(desc, existing + i, now, existing + i == 0))
            for i, desc in enumerate(descs)]


def install(engine: Engine, nodes: NodesSpec) -> None:
    """Register the cluster's nodes (unless they came back from a state file) and start the
    node lifecycle controller."""
    if not engine.store.count("Node"):
        add_nodes(engine, descriptions(nodes))
    engine.add(NodeLifecycle(engine))
