"""The resource-metrics pipeline, as metrics-server runs it: every 15 seconds (its default
``--metric-resolution``) it reads each container's cumulative CPU time and working-set
memory from the kubelet, and serves the rate between the last two reads as
``metrics.k8s.io/v1beta1`` PodMetrics and NodeMetrics.

What a container uses follows what its process does (see runtime.Process.cpu_demand): a
server spends CPU on each request it answers, a shell loop that never sleeps spins a core,
an idle server uses about 1m. A container's CPU is capped at its limit, as CFS throttling
caps it, and a pod shows up only once two reads of it exist (metrics-server needs two
points for a rate), about 15 to 30 seconds after it starts. The metrics live here, in
metrics-server's memory, not in the store: metrics.k8s.io is an aggregated API beside the
registry (kinds.METRICS), read through ``get``/``list`` by every reader (kubectl top, the HPA
controller, the served API), so all of them see the same numbers.
"""
from __future__ import annotations

import math
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Iterable

from kubelab.api.errors import not_found
from kubelab.api.kinds import METRICS
from kubelab.api.quantity import cpu_millis
from kubelab.api.selectors import Selector, parse
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.kubelet import Kubelet
from kubelab.engine.runtime import Process
from kubelab.engine.store import Key, Obj

RESOLUTION = 15.0  # metrics-server's --metric-resolution default
API_VERSION = "metrics.k8s.io/v1beta1"
IDLE_CPU = 0.001  # cores: a server with nothing to do
# Working-set memory (bytes) by what the process is; steady, a little different per container.
MEMORY = {"http-echo": 38 << 20, "text-echo": 5 << 20, "nginx": 9 << 20, "httpd": 11 << 20,
          "idle": 32 << 20, "needs-env": 32 << 20, "shell": 400 << 10}
# What the node spends outside pods (kubelet, containerd, the OS), as metrics-server reports it.
NODE_OVERHEAD_CPU = 0.06
NODE_OVERHEAD_MEMORY = 700 << 20


@dataclass
class _Sample:
    demand: float  # the process's cumulative CPU demand at the read
    at: float
    cpu: float | None = None  # cores over the last window, once two reads exist


class MetricsServer(Controller):
    """metrics-server plus the kubelet's resource-metrics endpoint it scrapes."""

    watches = ("Pod",)

    def __init__(self, engine: Engine, kubelet: Kubelet) -> None:
        super().__init__(engine)
        self.kubelet = kubelet
        self._samples: dict[str, _Sample] = {}  # container process id -> last read
        # what metrics-server serves, by (namespace, name); nodes under namespace ""
        self._served: dict[str, dict[tuple[str, str], Obj]] = {"PodMetrics": {}, "NodeMetrics": {}}
        self.clock.call_later(RESOLUTION, self._scrape, progress=False)

    # -- the metrics.k8s.io API (metrics-server's pod.go / node.go storage) ----------------------
    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """One PodMetrics/NodeMetrics. Like metrics-server: the pod (node) itself missing is the
        core NotFound; present but not measured yet is NotFound on the metrics resource."""
        k = METRICS[kind]
        ns = (namespace or "default") if k.namespaced else ""
        found = self._served[kind].get((ns, name))
        if found is not None:
            return _stamped(found, self.clock.timestamp())
        source = "Pod" if k.namespaced else "Node"
        if self.store.get(source, ns, name) is None:
            raise not_found(f"{source.lower()}s", name)
        raise not_found(kind.lower(), f"{ns}/{name}" if k.namespaced else name, k.group)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | Selector | None = None,
             field_selector: str | None = None) -> Obj:
        """A PodMetricsList/NodeMetricsList sorted by (namespace, name) as metrics-server sorts it."""
        k = METRICS[kind]
        selector = parse(label_selector) if isinstance(label_selector, str) else label_selector
        now = self.clock.timestamp()
        items = [_stamped(o, now) for (ns, _), o in sorted(self._served[kind].items())
                 if (not k.namespaced or namespace is None or ns == namespace)
                 and (selector is None or selector.matches(o["metadata"].get("labels")))
                 and _fields_match(o, field_selector)]
        return {"kind": f"{kind}List", "apiVersion": k.api_version, "metadata": {}, "items": items}

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        return (("PodMetrics", obj["metadata"]["namespace"], obj["metadata"]["name"]),) \
            if event == "DELETED" else ()

    def reconcile(self, key: Key) -> None:
        """A deleted pod's metrics go with it."""
        _, ns, name = key
        self._served["PodMetrics"].pop((ns, name), None)

    def _scrape(self) -> None:
        self.clock.call_later(RESOLUTION, self._scrape, progress=False)
        now = self.clock.now()
        stamp = self.clock.timestamp(now)
        seen: set[str] = set()
        by_node: dict[str, tuple[float, int]] = {}
        pods: set[tuple[str, str]] = set()
        for ps in list(self.kubelet.pods.values()):
            pod = self.store.get("Pod", ps.key[1], ps.key[2])
            if pod is None:
                continue
            containers: list[dict[str, Any]] = []
            complete = True
            for c in ps.main:
                proc = c.proc
                if proc is None or not proc.running:
                    continue
                seen.add(proc.id)
                cpu = self._read(proc, now, c.spec)
                if cpu is None:
                    complete = False
                    continue
                memory = _memory(proc)
                containers.append({"name": c.name, "usage": {"cpu": _nanocores(cpu), "memory": _kibibytes(memory)}})
                used_cpu, used_mem = by_node.get(ps.node, (0.0, 0))
                by_node[ps.node] = (used_cpu + cpu, used_mem + memory)
            if not containers or not complete:
                continue
            meta = pod["metadata"]
            pods.add((meta["namespace"], meta["name"]))
            self._put({"apiVersion": API_VERSION, "kind": "PodMetrics",
                       "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                    **({"labels": meta["labels"]} if meta.get("labels") else {})},
                       "timestamp": stamp, "window": f"{RESOLUTION:g}s", "containers": containers})
        for proc_id in set(self._samples) - seen:
            del self._samples[proc_id]
        for gone in set(self._served["PodMetrics"]) - pods:
            del self._served["PodMetrics"][gone]
        for node in self.store.list("Node", ""):
            name = node["metadata"]["name"]
            cpu, memory = by_node.get(name, (0.0, 0))
            self._put({"apiVersion": API_VERSION, "kind": "NodeMetrics",
                       "metadata": {"name": name, **({"labels": node["metadata"]["labels"]}
                                                     if node["metadata"].get("labels") else {})},
                       "timestamp": stamp, "window": f"{RESOLUTION:g}s",
                       "usage": {"cpu": _nanocores(cpu + NODE_OVERHEAD_CPU),
                                 "memory": _kibibytes(memory + NODE_OVERHEAD_MEMORY)}})

    def _read(self, proc: Process, now: float, spec: dict[str, Any]) -> float | None:
        """Cores the container used since the last read, None on its first read."""
        last = self._samples.get(proc.id)
        sample = _Sample(proc.cpu_demand, now)
        self._samples[proc.id] = sample
        if last is None or now <= last.at:
            return None
        cores = (proc.cpu_demand - last.demand) / (now - last.at)
        if proc.image.behaviour != "shell":
            cores += IDLE_CPU
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("cpu")
        if limit is not None:
            cores = min(cores, cpu_millis(limit) / 1000)
        sample.cpu = cores
        return cores

    def _put(self, obj: Obj) -> None:
        meta = obj["metadata"]
        self._served[obj["kind"]][(meta.get("namespace", ""), meta["name"])] = obj


def _stamped(obj: Obj, now: str) -> Obj:
    """A copy as metrics-server answers it: its metadata made at the request (creationTimestamp now)."""
    copy = deepcopy(obj)
    copy["metadata"]["creationTimestamp"] = now
    return copy


def _fields_match(obj: Obj, text: str | None) -> bool:
    """metadata.name / metadata.namespace field selectors (AddObjectMetaFieldsSet's fields)."""
    for term in (text or "").split(","):
        if not term:
            continue
        negate = "!=" in term
        path, _, want = term.replace("!=", "=").replace("==", "=").partition("=")
        have = obj["metadata"].get(path.strip().removeprefix("metadata."), "")
        if (have == want.strip()) == negate:
            return False
    return True


def _memory(proc: Process) -> int:
    """Steady working set: what the program needs, a few percent apart per container."""
    base = MEMORY.get(proc.image.behaviour, MEMORY["idle"])
    return base + base * (int(proc.id[:4], 16) % 97) // 1000


def _nanocores(cores: float) -> str:
    return f"{max(0, int(cores * 1e9))}n"


def _kibibytes(size: int) -> str:
    return f"{math.ceil(size / 1024)}Ki"


def install(engine: Engine, api: APIServer, kubelet: Kubelet) -> MetricsServer:
    """Start the pipeline (minikube's metrics-server addon, always on here) and register its
    APIService: the API server answers metrics.k8s.io from it."""
    server: MetricsServer = engine.add(MetricsServer(engine, kubelet))  # type: ignore[assignment]
    api.metrics = server
    return server
