"""The DaemonSet controller: one pod of the template on every node that should run it.

Like kube-controller-manager's daemonset-controller it decides per node (the template's
nodeSelector and required node affinity, the node's NoSchedule/NoExecute taints against the
template's tolerations plus the ones every daemon pod gets), creates a missing pod pinned to its
node with a ``metadata.name`` node-affinity term for the default scheduler to bind, deletes
pods on nodes that no longer qualify and duplicates, replaces failed pods, rolls a changed
template out ``maxUnavailable`` nodes at a time, and reports the DaemonSet's status counts.
"""
from __future__ import annotations

import copy
from typing import Iterable

from kubelab.api import errors
from kubelab.api.selectors import from_label_selector
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.deployment import compute_hash, scaled_value
from kubelab.engine.events import Recorder
from kubelab.engine.history import REVISION_LABEL, ensure_revision
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.replicaset import is_pod_active, is_pod_available, is_pod_ready
from kubelab.engine.scheduler import _node_term_matches, tolerates
from kubelab.engine.store import Key, Obj

GENERATION_LABEL = "pod-template-generation"

# What every daemon pod tolerates (util.AddOrUpdateDaemonPodTolerations), in its order.
_DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


def daemon_tolerations(spec: Obj) -> list[Obj]:
    """The template's tolerations plus the daemon ones it lacks (host-network pods also
    tolerate a node whose network is not ready)."""
    out = list(spec.get("tolerations") or [])
    wanted = list(_DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect and t.get("operator") == "Exists" for t in out):
            out.append({"key": key, "operator": "Exists", "effect": effect})
    return out


def should_run(node: Obj, template_spec: Obj, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> bool:
    """NodeShouldRunDaemonPod: selector, required node affinity and taints of ``effects``. With
    ``("NoExecute",)`` it answers the other question, whether a pod already there may stay
    (a NoSchedule taint keeps new daemon pods off a node but evicts none)."""
    labels = node["metadata"].get("labels") or {}
    name = node["metadata"]["name"]
    if any(labels.get(k) != v for k, v in (template_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((template_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(_node_term_matches(t, labels, name) for t in terms):
        return False
    tolerations = daemon_tolerations(template_spec)
    return all(tolerates(tolerations, t) for t in (node.get("spec") or {}).get("taints") or ()
               if t.get("effect") in effects)


def _target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its binding, else its ``metadata.name`` affinity term."""
    if (pod.get("spec") or {}).get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = (((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for f in term.get("matchFields") or ():
            if f.get("key") == "metadata.name" and f.get("values"):
                return f["values"][0]
    return ""


def _pinned(spec: Obj, node: str) -> None:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: require ``metadata.name`` = node, keep the rest."""
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}


class DaemonSetController(Controller):
    watches = ("DaemonSet", "Pod", "Node")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "daemonset-controller")

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        kind = obj["kind"]
        if kind == "DaemonSet":
            return (("DaemonSet", obj["metadata"]["namespace"], obj["metadata"]["name"]),)
        if kind == "Pod":
            ref = controller_of(obj)
            if ref is None or ref.get("kind") != "DaemonSet":
                return ()
            if event == "MODIFIED" and old is not None and old.get("status") == obj.get("status") \
                    and bool(old["metadata"].get("deletionTimestamp")) == bool(obj["metadata"].get("deletionTimestamp")):
                return ()
            return (("DaemonSet", obj["metadata"]["namespace"], ref["name"]),)
        # a node came, went, or changed labels or taints: every DaemonSet looks again
        if event == "MODIFIED" and old is not None and old["metadata"].get("labels") == obj["metadata"].get("labels") \
                and (old.get("spec") or {}).get("taints") == (obj.get("spec") or {}).get("taints"):
            return ()
        return [("DaemonSet", ds["metadata"]["namespace"], ds["metadata"]["name"]) for ds in self.store.list("DaemonSet")]

    def reconcile(self, key: Key) -> None:
        ds = self.store.get(*key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        template = ds["spec"].get("template") or {}
        revision = compute_hash(template)
        selector = from_label_selector(ds["spec"].get("selector"))
        by_node: dict[str, list[Obj]] = {}
        terminating: set[str] = set()  # a node gets its new pod once the old one is gone
        for pod in self.store.owned_by(ds["metadata"]["uid"]):
            if pod["kind"] != "Pod" or not selector.matches(pod["metadata"].get("labels")):
                continue
            if pod["metadata"].get("deletionTimestamp"):
                terminating.add(_target_node(pod))
            else:
                by_node.setdefault(_target_node(pod), []).append(pod)
        nodes = {n["metadata"]["name"]: n for n in self.store.list("Node")}
        spec = template.get("spec") or {}
        wanted = {name for name, node in nodes.items() if should_run(node, spec)}
        keep = {name for name, node in nodes.items() if should_run(node, spec, ("NoExecute",))}
        self._history(ds, revision, by_node)
        doomed: list[Obj] = []
        for name, pods in by_node.items():
            if name not in keep:
                doomed.extend(pods)
                continue
            pods.sort(key=lambda p: p["metadata"]["creationTimestamp"])
            failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
            for pod in failed:
                self.events.warning(ds, "FailedDaemonPod",
                                    f"Found failed daemon pod {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                                    f"on node {name}, will try to kill it")
            doomed.extend(failed)
            running = [p for p in pods if p not in failed]
            doomed.extend(running[1:])
        doomed.extend(self._outdated(ds, by_node, wanted, revision))
        for pod in doomed:
            self._delete(ds, pod)
            terminating.add(_target_node(pod))
        for name in sorted(wanted - terminating):
            if not by_node.get(name):
                self._create(ds, name, revision)
        self._status(ds, wanted, revision)

    def _history(self, ds: Obj, revision: str, by_node: dict[str, list[Obj]]) -> None:
        """ControllerRevisions, as the controller's constructHistory keeps them: one per template
        (``<name>-<hash>``, a patch that puts the template back), the current one renumbered to
        the newest on a return to an old template, and no more than revisionHistoryLimit old
        ones that no pod still runs."""
        meta = ds["metadata"]
        revisions = [r for r in self.store.owned_by(meta["uid"]) if r["kind"] == "ControllerRevision"]
        name = f"{meta['name']}-{revision}"
        ensure_revision(self.store, ds, revisions, name, (REVISION_LABEL, revision))
        live = {(p["metadata"].get("labels") or {}).get(REVISION_LABEL) for pods in by_node.values() for p in pods}
        old = sorted((r for r in revisions if r["metadata"]["name"] != name
                      and (r["metadata"].get("labels") or {}).get(REVISION_LABEL) not in live),
                     key=lambda r: r.get("revision", 0))
        for r in old[:max(0, len(old) - int(ds["spec"].get("revisionHistoryLimit", 10)))]:
            self.store.remove("ControllerRevision", meta["namespace"], r["metadata"]["name"])

    def _outdated(self, ds: Obj, by_node: dict[str, list[Obj]], wanted: set[str], revision: str) -> list[Obj]:
        """RollingUpdate: old pods to delete now, keeping at most maxUnavailable nodes without an
        available pod. OnDelete leaves old pods until someone deletes them."""
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return []
        max_unavailable = max(1, scaled_value((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                              len(wanted), True))
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        now = self.clock.now()
        unavailable = 0
        old_available: list[Obj] = []
        old_unavailable: list[Obj] = []
        for name in sorted(wanted):
            pods = by_node.get(name) or []
            if not pods:
                unavailable += 1
                continue
            pod = pods[0]
            available = is_pod_available(pod, min_ready, now)
            if not available:
                unavailable += 1
            if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision:
                (old_available if available else old_unavailable).append(pod)
        out = list(old_unavailable)
        budget = max_unavailable - unavailable
        out.extend(old_available[:max(budget, 0)])
        return out

    def _create(self, ds: Obj, node: str, revision: str) -> None:
        template = copy.deepcopy(ds["spec"].get("template") or {})
        meta = template.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), REVISION_LABEL: revision,
                  GENERATION_LABEL: str(ds["metadata"].get("generation", 1))}
        spec = template.get("spec") or {}
        spec["tolerations"] = daemon_tolerations(spec)
        _pinned(spec, node)
        pod_meta: Obj = {"generateName": ds["metadata"]["name"] + "-", "namespace": ds["metadata"]["namespace"],
                         "labels": labels, "ownerReferences": [controller_ref(ds)]}
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        try:
            pod = self.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec})
        except errors.StatusError as e:
            self.events.warning(ds, "FailedCreate", f"Error creating: {e.message}")
            return
        self.events.normal(ds, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

    def _delete(self, ds: Obj, pod: Obj) -> None:
        try:
            self.api.delete("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
        except errors.StatusError:
            return
        self.events.normal(ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _status(self, ds: Obj, wanted: set[str], revision: str) -> None:
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        now = self.clock.now()
        scheduled = misscheduled = ready = available = updated = 0
        for pod in self.store.owned_by(ds["metadata"]["uid"]):
            if pod["kind"] != "Pod" or not is_pod_active(pod):
                continue
            node = (pod.get("spec") or {}).get("nodeName")
            if not node:
                continue
            if node not in wanted:
                misscheduled += 1
                continue
            scheduled += 1
            if is_pod_ready(pod):
                ready += 1
                if is_pod_available(pod, min_ready, now):
                    available += 1
            if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision:
                updated += 1
        status: Obj = {"currentNumberScheduled": scheduled, "desiredNumberScheduled": len(wanted),
                       "numberAvailable": available, "numberMisscheduled": misscheduled,
                       "numberReady": ready, "observedGeneration": ds["metadata"].get("generation", 1),
                       "updatedNumberScheduled": updated}
        if len(wanted) - available:
            status["numberUnavailable"] = len(wanted) - available
        for field in ("numberAvailable", "updatedNumberScheduled"):  # omitempty
            if not status[field]:
                status.pop(field)
        if status != ds.get("status"):
            new = copy.deepcopy(ds)
            new["status"] = status
            self.store.update(new, status=True)
        if min_ready and ready > available:
            self.requeue_after(min_ready, ("DaemonSet", ds["metadata"]["namespace"], ds["metadata"]["name"]))


def install(engine: Engine, api: APIServer) -> None:
    """Run the DaemonSet controller in this engine."""
    engine.add(DaemonSetController(engine, api))
