"""What kube-controller-manager does when a node goes silent or away.

- ``NodeHealth`` (the node lifecycle controller's monitorNodeHealth / tryUpdateNodeHealth in
  node_lifecycle_controller.go): a node whose kubelet stopped heartbeating for
  ``node-monitor-grace-period`` (40 s) gets every condition set to Unknown ("Kubelet stopped
  posting node status."), the ``node.kubernetes.io/unreachable`` NoExecute and NoSchedule
  taints, and its pods' Ready condition set to False (MarkPodsNotReady), so Services and
  controllers stop counting them. When the kubelet posts Ready again the taints go
  (markNodeAsReachable).
- ``TaintEviction`` (the taint-eviction-controller, taint_eviction.go's processPodOnNode): a
  pod on a node with NoExecute taints it does not tolerate is deleted at once; one that
  tolerates them for ``tolerationSeconds`` (300 s from the DefaultTolerationSeconds admission
  plugin) is deleted when they run out, unless the taints go first.
- ``PodGC`` (gc_controller.go's gcOrphaned): pods bound to a node that no longer exists are
  marked Failed and force-deleted once the node has been gone for the quarantine (40 s).

Heartbeats themselves are not written to the store (a Lease renewed every 10 s would be
churn nobody reads): the kubelet says when a node stops and starts (``heartbeat_stopped`` /
``heartbeat_resumed``), which is what the controller learns from the Lease's renewTime.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from kubelab.api import errors
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.scheduler import tolerates
from kubelab.engine.store import Key, Obj, key_of

NODE_MONITOR_GRACE_PERIOD = 40.0  # --node-monitor-grace-period
POD_GC_QUARANTINE = 40.0  # gc_controller.go's quarantineTime
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
_SILENT_REASON = "NodeStatusUnknown"
_SILENT_MESSAGE = "Kubelet stopped posting node status."


def _pods_on(store: Any, node: str) -> list[Obj]:
    return [p for p in store.list("Pod") if (p.get("spec") or {}).get("nodeName") == node]


def _with_condition(pod: Obj, cond: dict[str, Any]) -> Obj:
    """The pod with ``cond`` set (UpdatePodCondition: the transition time moves only when the
    status changes)."""
    status = copy.deepcopy(pod.get("status") or {})
    conditions = status.setdefault("conditions", [])
    for i, old in enumerate(conditions):
        if old.get("type") == cond["type"]:
            if old.get("status") == cond["status"]:
                cond = {**cond, "lastTransitionTime": old.get("lastTransitionTime", cond["lastTransitionTime"])}
            conditions[i] = {**old, **cond}
            break
    else:
        conditions.append(cond)
    return {**pod, "status": status}


class NodeHealth(Controller):
    watches = ("Node",)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.events = Recorder(self.store, "node-controller")
        self.silent_since: dict[str, float] = {}  # node -> its kubelet's last heartbeat
        self._timers: dict[str, Timer] = {}

    def heartbeat_stopped(self, name: str) -> None:
        """The node's kubelet stopped renewing its lease now."""
        self.silent_since[name] = self.clock.now()
        key: Key = ("Node", "", name)
        self._timers[name] = self.requeue_after(NODE_MONITOR_GRACE_PERIOD, key)

    def heartbeat_resumed(self, name: str) -> None:
        self.silent_since.pop(name, None)
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        self.enqueue(("Node", "", name))

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if event == "DELETED":
            self.heartbeat_resumed(obj["metadata"]["name"])
            return ()
        return (key_of(obj),)

    def reconcile(self, key: Key) -> None:
        node = self.store.get(*key)
        if node is None:
            return
        name = node["metadata"]["name"]
        since = self.silent_since.get(name)
        ready = next((c for c in (node.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"), {})
        if since is not None and self.clock.now() >= since + NODE_MONITOR_GRACE_PERIOD:
            if ready.get("status") != "Unknown":
                self._mark_unknown(node)
        elif since is None and ready.get("status") == "True":
            self._untaint(node)

    def _mark_unknown(self, node: Obj) -> None:
        now = self.clock.timestamp()
        name = node["metadata"]["name"]
        status = copy.deepcopy(node["status"])
        status["conditions"] = [{**c, "status": "Unknown", "reason": _SILENT_REASON, "message": _SILENT_MESSAGE,
                                 "lastTransitionTime": now} for c in status.get("conditions") or ()]
        node = self.store.update({**node, "status": status}, status=True)
        # doNoExecuteTaintingPass, then doNoScheduleTaintingPass: unreachable replaces not-ready
        spec = copy.deepcopy(node.get("spec") or {})
        taints = [t for t in spec.get("taints") or () if t.get("key") not in (UNREACHABLE, NOT_READY)]
        taints += [{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now},
                   {"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": now}]
        spec["taints"] = taints
        self.store.update({**node, "spec": spec})
        self.events.normal(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        for pod in _pods_on(self.store, name):  # MarkPodsNotReady
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            ready = next((c for c in (pod.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            self.store.update(_with_condition(pod, {"type": "Ready", "status": "False", "lastTransitionTime": now}),
                              status=True)
            self.events.warning(pod, "NodeNotReady", "Node is not ready")

    def _untaint(self, node: Obj) -> None:
        taints = (node.get("spec") or {}).get("taints") or []
        kept = [t for t in taints if t.get("key") not in (UNREACHABLE, NOT_READY)]
        if len(kept) == len(taints):
            return
        spec = copy.deepcopy(node["spec"])
        if kept:
            spec["taints"] = kept
        else:
            spec.pop("taints", None)
        self.store.update({**node, "spec": spec})


def _no_execute(node: Obj | None) -> list[dict[str, Any]]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or () if t.get("effect") == "NoExecute"]


class TaintEviction(Controller):
    watches = ("Node", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "taint-eviction-controller")
        self._work: dict[Key, tuple[float, float, Timer]] = {}  # pod -> (created, due, timer)

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Node":
            before = _no_execute(old) if old is not None else []
            after = [] if event == "DELETED" else _no_execute(obj)
            if before == after:
                return ()
            return [key_of(p) for p in _pods_on(self.store, obj["metadata"]["name"])]
        if event == "DELETED" or obj["metadata"].get("deletionTimestamp"):
            self._cancel(key_of(obj), quiet=True)
            return ()
        node = (obj.get("spec") or {}).get("nodeName")
        if not node or (key_of(obj) not in self._work and not _no_execute(self.store.get("Node", "", node))):
            return ()
        if old is not None and (old.get("spec") or {}).get("tolerations") == obj["spec"].get("tolerations") \
                and (old.get("spec") or {}).get("nodeName") == node:
            return ()
        return (key_of(obj),)

    def _cancel(self, key: Key, quiet: bool = False) -> None:
        work = self._work.pop(key, None)
        if work is None:
            return
        work[2].cancel()
        pod = self.store.get(*key)
        if not quiet and pod is not None:
            self.events.normal(pod, "TaintManagerEviction", f"Cancelling deletion of Pod {key[1]}/{key[2]}")

    def reconcile(self, key: Key) -> None:
        """processPodOnNode: evict now, at the smallest tolerationSeconds, or never."""
        pod = self.store.get(*key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            self._cancel(key, quiet=True)
            return
        taints = _no_execute(self.store.get("Node", "", pod["spec"].get("nodeName") or ""))
        if not taints:
            self._cancel(key)
            return
        tolerations = pod["spec"].get("tolerations") or []
        now = self.clock.now()
        if not all(tolerates(tolerations, t) for t in taints):
            self._cancel(key, quiet=True)
            self._evict(key)
            return
        used = [t for t in tolerations if any(tolerates([t], taint) for taint in taints)]
        seconds = [max(0, int(t["tolerationSeconds"])) for t in used if t.get("tolerationSeconds") is not None]
        if not seconds:
            self._cancel(key)  # tolerated for ever (getMinTolerationTime's -1)
            return
        wait = min(seconds)
        created = self._work[key][0] if key in self._work else now
        due = created + wait
        if key in self._work and self._work[key][1] <= due:
            return
        self._cancel(key, quiet=True)
        self._work[key] = (created, due, self.clock.call_at(due, lambda: self._evict(key)))

    def _evict(self, key: Key) -> None:
        self._work.pop(key, None)
        pod = self.store.get(*key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        self.events.normal(pod, "TaintManagerEviction", f"Marking for deletion Pod {key[1]}/{key[2]}")
        self.store.update(_with_condition(pod, {
            "type": "DisruptionTarget", "status": "True", "lastTransitionTime": self.clock.timestamp(),
            "reason": "DeletionByTaintManager", "message": "Taint manager: deleting due to NoExecute taint"}),
            status=True)
        try:
            self.api.delete("Pod", key[2], key[1])
        except errors.StatusError:
            pass  # gone meanwhile


class PodGC(Controller):
    """gcOrphaned (pkg/controller/podgc/gc_controller.go): pods bound to a node that no longer
    exists are quarantined for a while, then failed and force-deleted. Level-triggered: a pod
    seen on a missing node (after a restore, say) is quarantined as a node deletion is."""

    watches = ("Node", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self._quarantined: set[str] = set()  # nodes whose pods are waiting out the quarantine

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Node":
            if event == "DELETED":
                self._quarantine(obj["metadata"]["name"])
        elif event != "DELETED":
            node = (obj.get("spec") or {}).get("nodeName")
            if node and node not in self._quarantined and self.store.get("Node", "", node) is None:
                self._quarantine(node)
        return ()

    def _quarantine(self, node: str) -> None:
        self._quarantined.add(node)
        self.requeue_after(POD_GC_QUARANTINE, ("Node", "", node))

    def reconcile(self, key: Key) -> None:
        self._quarantined.discard(key[2])
        if self.store.get(*key) is not None:
            return  # it came back
        for pod in _pods_on(self.store, key[2]):
            meta = pod["metadata"]
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                failed = _with_condition(pod, {"type": "DisruptionTarget", "status": "True",
                                               "lastTransitionTime": self.clock.timestamp(),
                                               "reason": "DeletionByPodGC", "message": "PodGC: node no longer exists"})
                failed["status"]["phase"] = "Failed"
                self.store.update(failed, status=True)
            try:
                self.api.delete("Pod", meta["name"], meta["namespace"], grace_period=0)
            except errors.StatusError:
                pass


def install(engine: Engine, api: APIServer) -> NodeHealth:
    """Run the node lifecycle, taint eviction and pod GC controllers; the node health monitor
    is what the kubelets tell when they stop and start heartbeating."""
    health = NodeHealth(engine)
    engine.add(health)
    engine.add(TaintEviction(engine, api))
    engine.add(PodGC(engine, api))
    return health
