"""The disruption controller (pkg/controller/disruption/disruption.go): each
PodDisruptionBudget's status says how many of its pods are healthy, how many must stay
healthy, and so how many may be disrupted now.

Mirrors trySync/getExpectedPodCount/updatePdbStatus: an integer ``minAvailable`` counts the
selected pods; a percentage, or ``maxUnavailable``, counts the replicas their controllers
want (a Deployment through its ReplicaSet, a StatefulSet, a bare ReplicaSet). A pod without
such a controller leaves the budget failing safe: no disruption allowed.

Pods the eviction API let go sit in ``status.disruptedPods`` until they are deleted: they no
longer count as healthy, so two evictions cannot spend the same disruption. One still there
after DeletionTimeout (2 minutes) was not deleted after all: buildDisruptedPodMap drops it,
with a ``NotDeleted`` warning on the pod. A pod still carrying an eviction's
``DisruptionTarget`` condition two minutes on, but not terminating, has it reset to False
(syncStalePodDisruption).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from kubelab.api.pods import is_ready
from kubelab.api.selectors import from_label_selector
from kubelab.engine.clock import parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.owners import controller_of
from kubelab.engine.store import Key, Obj


DELETION_TIMEOUT = 120.0  # how long an eviction's pod may take to be deleted
STALE_DISRUPTION = 120.0  # stalePodDisruptionTimeout: a DisruptionTarget nobody followed up


def _scaled(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        fraction = int(value[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value)


def _disruption_target(pod: Obj) -> Obj | None:
    """nonTerminatingPodHasStaleDisruptionCondition's candidates: a True DisruptionTarget on a
    pod neither terminating nor finished, not one the kubelet set."""
    if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "DisruptionTarget":
            ok = cond.get("status") == "True" and cond.get("reason") != "TerminationByKubelet"
            return cond if ok and cond.get("lastTransitionTime") else None
    return None


class DisruptionController(Controller):
    """Keeps every budget's status current as its pods come, go and turn (un)ready."""

    watches = ("PodDisruptionBudget", "Pod", "ReplicaSet", "Deployment", "StatefulSet")

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.events = Recorder(self.store, "controllermanager")
        self._rechecks: dict[Key, float] = {}  # when a budget is looked at again (AddAfter keeps the earliest)

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        meta = obj["metadata"]
        if obj["kind"] == "PodDisruptionBudget":
            return () if event == "DELETED" else (("PodDisruptionBudget", meta["namespace"], meta["name"]),)
        keys = [("PodDisruptionBudget", meta["namespace"], b["metadata"]["name"])
                for b in self.store.list("PodDisruptionBudget", meta.get("namespace", ""))]
        if obj["kind"] == "Pod" and event != "DELETED" and _disruption_target(obj) is not None:
            keys.append(("Pod", meta["namespace"], meta["name"]))
        return keys

    def _stale_disruption(self, key: Key) -> None:
        """syncStalePodDisruption: reset a DisruptionTarget condition no deletion followed."""
        pod = self.store.get(*key)
        cond = _disruption_target(pod) if pod is not None else None
        if pod is None or cond is None:
            return
        wait = STALE_DISRUPTION - (self.clock.now() - parse_timestamp(cond["lastTransitionTime"]))
        if wait > 0:
            self.requeue_after(wait + 0.001, key)
            return
        status = dict(pod["status"])
        reset = {"type": "DisruptionTarget", "status": "False", "lastProbeTime": None,
                 "lastTransitionTime": self.clock.timestamp()}
        status["conditions"] = [reset if c is cond else c for c in status["conditions"]]
        self.store.update({**pod, "status": status}, status=True)

    def _pods(self, pdb: Obj) -> list[Obj]:
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            return []  # policy/v1: a null selector selects no pods, an empty one all of them
        match = from_label_selector(selector)
        return [p for p in self.store.list("Pod", pdb["metadata"]["namespace"])
                if match.matches(p["metadata"].get("labels"))]

    def _scale(self, pod: Obj) -> tuple[str, int] | None:
        """getScaleController: the pod's top controller and the replicas it wants."""
        ns = pod["metadata"]["namespace"]
        ref = controller_of(pod)
        if ref is None:
            return None
        if ref.get("kind") == "ReplicaSet":
            rs = self.store.get("ReplicaSet", ns, ref.get("name", ""))
            if rs is None:
                return None
            owner = controller_of(rs)
            if owner is not None and owner.get("kind") == "Deployment":
                deploy = self.store.get("Deployment", ns, owner.get("name", ""))
                if deploy is not None:
                    return deploy["metadata"]["uid"], int((deploy.get("spec") or {}).get("replicas", 1))
            return rs["metadata"]["uid"], int((rs.get("spec") or {}).get("replicas", 1))
        if ref.get("kind") == "StatefulSet":
            sts = self.store.get("StatefulSet", ns, ref.get("name", ""))
            if sts is not None:
                return sts["metadata"]["uid"], int((sts.get("spec") or {}).get("replicas", 1))
        return None

    def _expected(self, pdb: Obj, pods: list[Obj]) -> tuple[int, int] | None:
        """getExpectedPodCount: (expectedCount, desiredHealthy), None when a controller is missing."""
        spec = pdb.get("spec") or {}
        max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
        if max_unavailable is None and isinstance(min_available, int):
            return len(pods), min_available
        if max_unavailable is None and min_available is None:
            return 0, 0
        scales: dict[str, int] = {}
        for pod in pods:
            found = self._scale(pod)
            if found is None:
                return None
            scales[found[0]] = found[1]
        expected = sum(scales.values())
        if max_unavailable is not None:
            return expected, max(0, expected - _scaled(max_unavailable, expected, True))
        return expected, _scaled(min_available, expected, True)

    def _disrupted(self, pdb: Obj, pods: list[Obj]) -> tuple[dict[str, str], float | None]:
        """buildDisruptedPodMap: the evicted pods still due to go, and when the first of them
        is overdue (the time to look again)."""
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        now = self.clock.now()
        kept: dict[str, str] = {}
        recheck: float | None = None
        for pod in pods:
            meta = pod["metadata"]
            since = recorded.get(meta["name"])
            if since is None or meta.get("deletionTimestamp"):
                continue
            due = parse_timestamp(since) + DELETION_TIMEOUT
            if due < now:
                self.events.warning(pod, "NotDeleted", f"Pod was expected by PDB {pdb['metadata']['namespace']}/"
                                                       f"{pdb['metadata']['name']} to be deleted but it wasn't")
                continue
            kept[meta["name"]] = since
            recheck = due if recheck is None else min(recheck, due)
        return dict(sorted(kept.items())), recheck

    def reconcile(self, key: Key) -> None:
        if key[0] == "Pod":
            return self._stale_disruption(key)
        pdb = self.store.get(*key)
        if pdb is None:
            return
        pods = self._pods(pdb)
        counts = self._expected(pdb, pods)
        disrupted, recheck = self._disrupted(pdb, pods)
        healthy = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")
                      and p["metadata"]["name"] not in disrupted and is_ready(p))
        old = pdb.get("status") or {}
        generation = pdb["metadata"].get("generation", 1)
        if counts is None:
            expected, desired, allowed = 0, 0, 0  # failSafe
        else:
            expected, desired = counts
            allowed = max(0, healthy - desired) if expected > 0 or desired > 0 else 0
        reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
        previous = next((c for c in old.get("conditions") or () if c.get("type") == "DisruptionAllowed"), None)
        state = "True" if allowed > 0 else "False"
        stamp = previous["lastTransitionTime"] if previous and previous.get("status") == state \
            else self.clock.timestamp()
        if counts is None:
            reason = "SyncFailed"
        condition = {"type": "DisruptionAllowed", "status": state, "observedGeneration": generation,
                     "lastTransitionTime": stamp, "reason": reason, "message": ""}
        status: Obj = {"observedGeneration": generation, "disruptionsAllowed": allowed, "currentHealthy": healthy,
                       "desiredHealthy": desired, "expectedPods": expected, "conditions": [condition]}
        if disrupted:
            status["disruptedPods"] = disrupted
        if old != status:
            self.store.update({**pdb, "status": status}, status=True)
        if recheck is not None:
            now = self.clock.now()
            pending = self._rechecks.get(key)
            if pending is None or pending <= now or recheck < pending:
                self._rechecks[key] = recheck
                self.requeue_after(max(recheck - now, 0.0) + 0.001, key)  # just past the deadline


def install(engine: Engine) -> None:
    engine.add(DisruptionController(engine))
