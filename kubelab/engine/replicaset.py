"""The ReplicaSet controller: keeps ``spec.replicas`` pods that match the selector running.

Like kube-controller-manager's replicaset-controller it claims pods (adopts matching orphans,
releases owned pods whose labels stopped matching), creates missing pods from the template in
slow-start batches, deletes surplus pods in Kubernetes' ranking order, and reports replicas,
fullyLabeledReplicas, readyReplicas and availableReplicas in status.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from kubelab.api import errors
from kubelab.api.selectors import Selector, from_label_selector
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.api.pods import is_ready as is_pod_ready, ready_condition
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.store import Key, Obj, key_of

# Most pods one sync creates or deletes (the controller's burstReplicas).
BURST_REPLICAS = 500
# Pod status changes wake the controller at most this often per key: a big ReplicaSet's pods
# become ready one by one, and recounting thousands of pods for each would be quadratic.
STATUS_BATCH_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 300.0
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


# -- pod helpers shared by the controllers ---------------------------------------------------
def pod_ready_since(pod: Obj) -> float | None:
    """When the pod's Ready condition last became True, or None if it is not ready."""
    if not is_pod_ready(pod):
        return None
    stamp = (ready_condition(pod) or {}).get("lastTransitionTime")
    return parse_timestamp(stamp) if stamp else 0.0


def is_pod_active(pod: Obj) -> bool:
    """Not terminating and not finished: what a controller counts (controller.FilterActivePods)."""
    return (not pod["metadata"].get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    since = pod_ready_since(pod)
    return since is not None and (min_ready_seconds <= 0 or since + min_ready_seconds <= now)


class Throttle:
    """Enqueue a key at once, but at most once per ``period``: changes arriving inside the
    period are folded into one reconcile at its end (the informer batching of busy controllers)."""

    def __init__(self, controller: Controller, period: float = STATUS_BATCH_SECONDS) -> None:
        self.controller = controller
        self.period = period
        self._last: dict[Key, float] = {}
        self._pending: set[Key] = set()

    def enqueue(self, key: Key) -> None:
        if key in self._pending:
            return
        clock = self.controller.clock
        now = clock.now()
        last = self._last.get(key)
        if last is None or now - last >= self.period:
            self._last[key] = now
            self.controller.enqueue(key)
            return
        self._pending.add(key)

        def fire() -> None:
            self._pending.discard(key)
            self._last[key] = clock.now()
            self.controller.enqueue(key)

        clock.call_at(last + self.period, fire)

    def forget(self, key: Key) -> None:
        self._last.pop(key, None)


def only_status_changed(obj: Obj, old: Obj) -> bool:
    """True when an update touched nothing but status (and the resourceVersion)."""
    if any(obj.get(k) != old.get(k) for k in set(obj) | set(old) if k not in ("status", "metadata")):
        return False
    meta, before = obj["metadata"], old["metadata"]
    return all(meta.get(k) == before.get(k) for k in set(meta) | set(before) if k != "resourceVersion")


def _claim_changed(obj: Obj, old: Obj | None) -> bool:
    """Whether a change can move a pod between owners (not just its status)."""
    if old is None:
        return True
    meta, before = obj["metadata"], old["metadata"]
    return (meta.get("labels") != before.get("labels")
            or meta.get("ownerReferences") != before.get("ownerReferences")
            or meta.get("deletionTimestamp") != before.get("deletionTimestamp")
            or (is_pod_active(obj) != is_pod_active(old) if obj["kind"] == "Pod" else False))


def claim(store: Any, owner: Obj, selector: Selector, kind: str, candidates: Iterable[Obj],
          update: Callable[[Obj], Obj]) -> list[Obj]:
    """ClaimObjects: keep what ``owner`` controls and still matches, adopt matching orphans,
    release owned objects whose labels no longer match. Returns the claimed objects."""
    uid = owner["metadata"]["uid"]
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    claimed: list[Obj] = []
    for obj in candidates:
        ref = controller_of(obj)
        matches = selector.matches(obj["metadata"].get("labels"))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                claimed.append(obj)
                continue
            if deleting:
                continue
            freed = {**obj, "metadata": dict(obj["metadata"])}  # the store keeps what is unchanged
            refs = [r for r in freed["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if refs:
                freed["metadata"]["ownerReferences"] = refs
            else:
                del freed["metadata"]["ownerReferences"]
            update(freed)
            continue
        if not matches or deleting or obj["metadata"].get("deletionTimestamp"):
            continue
        meta = obj["metadata"]
        adopted = {**obj, "metadata": {**meta, "ownerReferences": [*(meta.get("ownerReferences") or ()),
                                                                   controller_ref(owner)]}}
        claimed.append(update(adopted))
    return claimed


def candidates(store: Any, kind: str, owner: Obj, selector: Selector) -> list[Obj]:
    """What an owner might claim: what it owns plus what its selector's labels index finds."""
    ns = owner["metadata"]["namespace"]
    found = {o["metadata"]["name"]: o for o in store.owned_by(owner["metadata"]["uid"])
             if o["kind"] == kind and o["metadata"].get("namespace") == ns}
    for obj in store.with_labels(kind, ns, selector.equal):
        found.setdefault(obj["metadata"]["name"], obj)
    return [found[n] for n in sorted(found)]


# -- the controller ----------------------------------------------------------------------------
class Tally:
    """A ReplicaSet's claimed active pods and what they add up to, kept per pod so that a sync
    looks again only at the pods that changed since the last one: a 100,000-pod ReplicaSet
    syncs hundreds of times while its pods start, and recounting every pod each time would be
    quadratic. ``tag`` is what the per-pod facts depend on besides the pod itself; when it
    changes, the tally is rebuilt from every candidate."""

    def __init__(self, tag: tuple[Any, ...]) -> None:
        self.tag = tag
        self.pods: dict[str, tuple[bool, float | None]] = {}  # name -> (fully labeled, ready since)
        self.labeled = 0
        self.ready = 0

    def drop(self, name: str) -> None:
        facts = self.pods.pop(name, None)
        if facts is not None:
            self.labeled -= facts[0]
            self.ready -= facts[1] is not None

    def add(self, pod: Obj, template_labels: dict[str, str]) -> None:
        labels = pod["metadata"].get("labels") or {}
        facts = (all(labels.get(k) == v for k, v in template_labels.items()), pod_ready_since(pod))
        self.pods[pod["metadata"]["name"]] = facts
        self.labeled += facts[0]
        self.ready += facts[1] is not None


class ReplicaSetController(Controller):
    """The replica-keeping loop; ``kind``, ``component`` and ``selector_of`` make it the
    ReplicationController's too, as kube-controller-manager's ReplicationManager wraps the
    ReplicaSetController (NewReplicationManager)."""

    kind = "ReplicaSet"
    component = "replicaset-controller"
    watches = ("ReplicaSet", "Pod")

    @staticmethod
    def selector_of(spec: Obj) -> Selector:
        return from_label_selector(spec.get("selector"))

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, self.component)
        self.throttle = Throttle(self)
        self._timers: dict[Key, Any] = {}
        self._backoff: dict[Key, float] = {}  # failing keys: seconds until the next retry
        self._tallies: dict[Key, Tally] = {}
        self._dirty: dict[Key, set[str]] = {}  # pods changed since the ReplicaSet's last sync

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        kind = self.kind
        if obj["kind"] == kind:
            if event == "DELETED":
                self.throttle.forget(key_of(obj))
                self._backoff.pop(key_of(obj), None)
                self._tallies.pop(key_of(obj), None)
                self._dirty.pop(key_of(obj), None)
            elif old is not None and only_status_changed(obj, old):
                return ()  # its own status write: nothing new to act on
            return (key_of(obj),)
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        keys: set[Key] = set()
        ref = controller_of(obj)
        if ref is not None and ref.get("kind") == kind:
            keys.add((kind, ns, ref["name"]))
        if old is not None:  # the same references (a status write) name the same owner
            old_ref = ref if old["metadata"].get("ownerReferences") is meta.get("ownerReferences") \
                else controller_of(old)
            if old_ref is not None and old_ref.get("kind") == kind:
                keys.add((kind, ns, old_ref["name"]))
        claim_changed = _claim_changed(obj, old)
        if ref is None and event != "DELETED" and claim_changed:
            labels = meta.get("labels")
            for rs in self.store.list(kind, ns):
                if self.selector_of(rs["spec"]).matches(labels):
                    keys.add(key_of(rs))
        name = meta["name"]
        for key in keys:
            self._dirty.setdefault(key, set()).add(name)
        if event == "MODIFIED" and not claim_changed:
            for key in keys:
                self.throttle.enqueue(key)
            return ()
        return keys

    def reconcile(self, key: Key) -> None:
        rs = self.store.get(*key)
        if rs is None:
            self._tallies.pop(key, None)
            self._dirty.pop(key, None)
            return
        selector = self.selector_of(rs.get("spec") or {})
        if selector.empty:
            return
        tally = self._claim(key, rs, selector)
        failure = None
        if not rs["metadata"].get("deletionTimestamp"):
            failure = self._manage(rs, tally)
        self._update_status(rs, tally, failure)
        if failure is None:
            self._backoff.pop(key, None)
        else:  # retry with exponential back-off, as the controller's rate-limited work queue does
            delay = self._backoff.get(key, 0.5) * 2
            self._backoff[key] = min(delay, MAX_BACKOFF_SECONDS)
            self.requeue_after(self._backoff[key], key, progress=False)

    def _claim(self, key: Key, rs: Obj, selector: Selector) -> Tally:
        """Claim the active pods that changed since the last sync (all candidates the first
        time, or when the selector, template labels or deletion changed) into the tally."""
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        tag = (rs["metadata"]["uid"], selector.requirements, bool(rs["metadata"].get("deletionTimestamp")),
               tuple(sorted(template_labels.items())))
        tally = self._tallies.get(key)
        changed = self._dirty.pop(key, set())
        if tally is None or tally.tag != tag:
            tally = self._tallies[key] = Tally(tag)
            pods = candidates(self.store, "Pod", rs, selector)
        else:
            for name in changed:
                tally.drop(name)
            pods = [p for p in (self.store.get("Pod", key[1], n) for n in sorted(changed)) if p is not None]
        active = [p for p in pods if is_pod_active(p)]
        for pod in claim(self.store, rs, selector, "Pod", active, self.store.update):
            tally.add(pod, template_labels)
        return tally

    # -- creating and deleting pods --------------------------------------------------------
    def _manage(self, rs: Obj, tally: Tally) -> str | None:
        """Create or delete pods towards spec.replicas; returns a creation error, if any."""
        want = int(rs["spec"].get("replicas", 1))
        diff = len(tally.pods) - want
        if diff < 0:
            return self._create(rs, min(-diff, BURST_REPLICAS))
        if diff > 0:
            ns = rs["metadata"]["namespace"]
            pods = [p for p in (self.store.get("Pod", ns, n) for n in sorted(tally.pods)) if p is not None]
            for pod in self._to_delete(rs, pods, min(diff, BURST_REPLICAS)):
                meta = pod["metadata"]
                try:
                    self.api.delete("Pod", meta["name"], meta["namespace"])
                except errors.StatusError as err:
                    if err.code != 404:
                        self.events.warning(rs, "FailedDelete", f"Error deleting: {err}")
                    continue
                self.events.normal(rs, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return None

    def _create(self, rs: Obj, count: int) -> str | None:
        """Slow start: batches of 1, 2, 4... so a broken template fails once, not count times."""
        batch, done = 1, 0
        while done < count:
            for _ in range(min(batch, count - done)):
                try:
                    pod = self.api.create(self._pod_for(rs), copy_result=False)
                except errors.StatusError as err:
                    if "because it is being terminated" in err.message:
                        return None
                    self.events.warning(rs, "FailedCreate", f"Error creating: {err}")
                    return str(err)
                self.events.normal(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
                done += 1
            batch *= 2
        return None

    def _pod_for(self, rs: Obj) -> Obj:
        template = rs["spec"].get("template") or {}
        tmeta = template.get("metadata") or {}
        meta: dict[str, Any] = {"generateName": rs["metadata"]["name"] + "-",
                                "namespace": rs["metadata"]["namespace"]}
        for field in ("labels", "annotations", "finalizers"):
            if tmeta.get(field):
                meta[field] = tmeta[field]  # the API server copies what it is given
        meta["ownerReferences"] = [controller_ref(rs)]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}

    def _to_delete(self, rs: Obj, pods: list[Obj], count: int) -> list[Obj]:
        """The ``count`` pods Kubernetes would delete first (controller.ActivePodsWithRanks)."""
        if count >= len(pods):
            return pods
        related = list(pods)
        owner = controller_of(rs)
        if owner is not None:
            related = [p for sibling in self.store.owned_by(owner["uid"]) if sibling["kind"] == self.kind
                       for p in self.store.owned_by(sibling["metadata"]["uid"])
                       if p["kind"] == "Pod" and is_pod_active(p)]
        on_node: dict[str, int] = {}
        for pod in related:
            node = pod["spec"].get("nodeName", "")
            on_node[node] = on_node.get(node, 0) + 1
        now = self.clock.now()
        ranked = sorted(pods, key=lambda p: _deletion_rank(p, on_node, now))
        return ranked[:count]

    # -- status ------------------------------------------------------------------------------
    def _update_status(self, rs: Obj, tally: Tally, failure: str | None) -> None:
        now = self.clock.now()
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        labeled, ready, available = tally.labeled, tally.ready, tally.ready
        soonest: float | None = None
        if min_ready > 0:
            available = 0
            for _, since in tally.pods.values():
                if since is None:
                    continue
                if since + min_ready <= now:
                    available += 1
                else:
                    due = since + min_ready - now
                    soonest = due if soonest is None else min(soonest, due)
        old = rs.get("status") or {}
        status: dict[str, Any] = {"replicas": len(tally.pods)}
        for field, value in (("fullyLabeledReplicas", labeled), ("readyReplicas", ready),
                             ("availableReplicas", available),
                             ("observedGeneration", rs["metadata"].get("generation", 1))):
            if value:
                status[field] = value
        conditions = [c for c in old.get("conditions") or () if c.get("type") != "ReplicaFailure"]
        if failure is not None:
            previous = next((c for c in old.get("conditions") or () if c.get("type") == "ReplicaFailure"), None)
            stamp = previous["lastTransitionTime"] if previous else self.clock.timestamp()
            conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": stamp,
                               "reason": "FailedCreate", "message": failure})
        if conditions:
            status["conditions"] = conditions
        if status != old:
            self.store.update({**rs, "status": status}, status=True)
        key = key_of(rs)
        if soonest is not None and key not in self._timers:
            def again() -> None:
                self._timers.pop(key, None)
                self.enqueue(key)
            self._timers[key] = self.clock.call_later(soonest, again)


def _deletion_rank(pod: Obj, on_node: dict[str, int], now: float) -> tuple:
    """Sort key: earlier means deleted first. Unassigned < assigned; Pending < Unknown <
    Running; not ready < ready; lower pod-deletion-cost first; more pods of the same owner on
    the node first; ready more recently first; more restarts first; newer first (times
    compared on a log scale); then by uid."""
    node = pod["spec"].get("nodeName", "")
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0)
    since = pod_ready_since(pod)
    restarts = max((c.get("restartCount", 0) for c in status.get("containerStatuses") or ()), default=0)
    created = pod["metadata"].get("creationTimestamp")
    try:
        cost = int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, 0))
    except ValueError:
        cost = 0
    return (
        1 if node else 0,
        phase_rank,
        0 if since is None else 1,
        cost,
        -on_node.get(node, 0) if node else 0,
        _log_age(since, now),
        -restarts,
        _log_age(parse_timestamp(created) if created else None, now),
        pod["metadata"].get("uid", ""),
    )


def _log_age(at: float | None, now: float) -> int:
    """A logarithmic bucket of how long ago ``at`` was (in nanoseconds, as Kubernetes does):
    recent first, and times in the same power-of-two bucket count as equal."""
    if at is None:
        return -2
    age_ns = (now - at) * 1e9
    return -1 if age_ns <= 0 else int(math.floor(math.log2(age_ns)))


def install(engine: Engine, api: APIServer) -> None:
    """Run the ReplicaSet controller in this engine."""
    engine.add(ReplicaSetController(engine, api))
