"""The Deployment controller: ReplicaSets per pod template, rolled over by strategy.

Follows kube-controller-manager's deployment-controller step by step: adopt/release
ReplicaSets by selector, find the ReplicaSet whose template equals the Deployment's (ignoring
``pod-template-hash``) or create ``<name>-<hash>``, keep revision and replica annotations,
roll with maxSurge/maxUnavailable (or Recreate), scale proportionally, stop while paused,
clean up beyond revisionHistoryLimit, and report status conditions with the real reasons and
messages. Rolling back is applying an old template: its ReplicaSet is found and re-used with a
new revision, as in Kubernetes.
"""
from __future__ import annotations

import copy
import json
import math
from typing import Any, Iterable

from kubelab.api import errors
from kubelab.api.selectors import from_label_selector
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.replicaset import candidates, claim, only_status_changed
from kubelab.engine.store import Key, Obj, key_of

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
_NOT_COPIED = frozenset({"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
                         DESIRED, MAX, "deprecated.deployment.rollback.to"})
MAX_REVISION_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand.SafeEncodeString


# -- hashing and the small rules of deployment_util ------------------------------------------
def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """pod-template-hash: FNV-32a of the template (and the collision count), safe-encoded."""
    h = 0x811C9DC5
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(h))


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def replicas(obj: Obj) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1))


def _status(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _rolling(d: Obj) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas; never both zero."""
    rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    want = replicas(d)
    surge = scaled_value(rolling.get("maxSurge", "25%"), want, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), want, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return fenceposts(d)[0] if _rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not _rolling(d) or replicas(d) == 0:
        return 0
    return min(fenceposts(d)[1], replicas(d))


def _without_hash(template: Obj) -> Obj:
    t = copy.deepcopy(template or {})
    meta = t.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels.pop(HASH_LABEL, None)
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    if meta:
        t["metadata"] = meta
    else:
        t.pop("metadata", None)
    return t


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return _without_hash(a) == _without_hash(b)


def _by_creation(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(rss, key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"]))


def _active(rss: Iterable[Obj]) -> list[Obj]:
    return [r for r in rss if r is not None and replicas(r) > 0]


def find_new(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the Deployment's (ignoring the hash label)."""
    for rs in _by_creation(rss):
        if equal_ignore_hash(rs["spec"].get("template") or {}, d["spec"].get("template") or {}):
            return rs
    return None


def _condition(status: Obj, ctype: str) -> Obj | None:
    return next((c for c in status.get("conditions") or () if c["type"] == ctype), None)


def has_progress_deadline(d: Obj) -> bool:
    deadline = d["spec"].get("progressDeadlineSeconds", 600)
    return deadline is not None and deadline != MAX_INT32


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = replicas(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1))


def deployment_progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


# -- the controller ----------------------------------------------------------------------------
class DeploymentController(Controller):
    watches = ("Deployment", "ReplicaSet", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "deployment-controller")
        self._deadlines: dict[Key, Any] = {}

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        kind, ns = obj["kind"], obj["metadata"].get("namespace", "")
        if kind == "Deployment":
            return () if old is not None and event == "MODIFIED" and only_status_changed(obj, old) else (key_of(obj),)
        if kind == "ReplicaSet":
            keys = {("Deployment", ns, ref["name"]) for rs in (obj, old) if rs is not None
                    for ref in [controller_of(rs)] if ref is not None and ref.get("kind") == "Deployment"}
            if controller_of(obj) is None and event != "DELETED":
                labels = obj["metadata"].get("labels")
                keys.update(key_of(d) for d in self.store.list("Deployment", ns)
                            if from_label_selector(d["spec"].get("selector")).matches(labels))
            return keys
        if event == "DELETED":  # a Recreate rollout waits for the old pods to be gone
            ref = controller_of(obj)
            rs = self.store.get("ReplicaSet", ns, ref["name"]) if ref and ref.get("kind") == "ReplicaSet" else None
            owner = controller_of(rs) if rs is not None else None
            if owner is not None and owner.get("kind") == "Deployment":
                return (("Deployment", ns, owner["name"]),)
        return ()

    # -- syncDeployment ----------------------------------------------------------------------
    def reconcile(self, key: Key) -> None:
        current = self.store.get(*key)
        if current is None:
            return
        d = copy.deepcopy(current)
        d.setdefault("status", {})
        selector = d["spec"].get("selector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            self.events.warning(d, "SelectingAll",
                                "This deployment is selecting all pods. A non-empty selector is required.")
            if d["status"].get("observedGeneration", 0) < d["metadata"].get("generation", 1):
                d["status"]["observedGeneration"] = d["metadata"].get("generation", 1)
            self._save(d)
            return
        sel = from_label_selector(selector)
        rss = claim(self.store, d, sel, "ReplicaSet", candidates(self.store, "ReplicaSet", d, sel), self.store.update)
        if d["metadata"].get("deletionTimestamp"):
            new, old = self._new_and_old(d, rss, False)
            self._sync_status(old + ([new] if new else []), new, d)
        else:
            self._check_paused(d)
            if d["spec"].get("paused") or self._is_scaling_event(d, rss):
                self._sync(d, rss)
            elif _rolling(d):
                self._rollout_rolling(d, rss)
            else:
                self._rollout_recreate(d, rss)
        self._save(d)

    def _save(self, d: Obj) -> None:
        """Write what this sync changed: the revision annotation, then status."""
        current = self.store.get(*key_of(d))
        if current is None:
            return
        if (current["metadata"].get("annotations") or {}) != (d["metadata"].get("annotations") or {}):
            updated = copy.deepcopy(current)
            updated["metadata"]["annotations"] = copy.deepcopy(d["metadata"]["annotations"])
            current = self.store.update(updated)
        if (current.get("status") or {}) != d["status"]:
            updated = copy.deepcopy(current)
            updated["status"] = copy.deepcopy(d["status"])
            self.store.update(updated, status=True)
            self.enqueue(key_of(d))  # as the informer would: the next sync sees this status

    def _fresh(self, rss: Iterable[Obj | None]) -> list[Obj]:
        return [o for o in (self.store.get(*key_of(r)) for r in rss if r is not None) if o is not None]

    # -- revisions and the new ReplicaSet ----------------------------------------------------
    def _new_and_old(self, d: Obj, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        rss = self._fresh(rss)  # an earlier step of this sync may have written some
        existing = find_new(d, rss)
        old = [r for r in rss if existing is None or r["metadata"]["uid"] != existing["metadata"]["uid"]]
        return self._new_rs(d, rss, old, existing, create), old

    def _new_rs(self, d: Obj, rss: list[Obj], old: list[Obj], existing: Obj | None, create: bool) -> Obj | None:
        new_revision = str(max((revision(r) for r in old), default=0) + 1)
        min_ready = d["spec"].get("minReadySeconds", 0) or 0
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = self._set_new_rs_annotations(d, rs, new_revision, exists=True)
            if changed or (rs["spec"].get("minReadySeconds", 0) or 0) != min_ready:
                if min_ready:
                    rs["spec"]["minReadySeconds"] = min_ready
                else:  # an int32 the API omits when it is 0
                    rs["spec"].pop("minReadySeconds", None)
                return self.store.update(rs)
            self._set_revision(d, (rs["metadata"].get("annotations") or {}).get(REVISION, ""))
            if has_progress_deadline(d) and _condition(d["status"], "Progressing") is None:
                self._set_condition(d["status"], "Progressing", "True", "FoundNewReplicaSet",
                                    f'Found new replica set "{rs["metadata"]["name"]}"')
            return existing
        if not create:
            return None
        template = copy.deepcopy(d["spec"].get("template") or {})
        pod_hash = compute_hash(template, d["status"].get("collisionCount"))
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(d["spec"]["selector"])
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
        name = f'{d["metadata"]["name"]}-{pod_hash}'
        ns = d["metadata"]["namespace"]
        new: Obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": name, "namespace": ns, "labels": dict(labels),
                                 "ownerReferences": [controller_ref(d)]},
                    "spec": {"replicas": 0, **({"minReadySeconds": min_ready} if min_ready else {}),
                             "selector": selector, "template": template}}
        new["spec"]["replicas"] = self._new_rs_replicas(d, old + [new], new)
        self._set_new_rs_annotations(d, new, new_revision, exists=False)
        already = False
        try:
            created = self.api.create(new)
        except errors.StatusError as err:
            if err.code == 409:
                found = self.store.get("ReplicaSet", ns, name)
                ref = controller_of(found) if found else None
                if found and ref and ref.get("uid") == d["metadata"]["uid"] and equal_ignore_hash(
                        d["spec"].get("template") or {}, found["spec"].get("template") or {}):
                    created, already = found, True
                else:  # a hash collision: the next hash includes a bumped collisionCount
                    d["status"]["collisionCount"] = d["status"].get("collisionCount", 0) + 1
                    self.enqueue(key_of(d))
                    return None
            elif "because it is being terminated" in err.message:
                return None
            else:
                message = f'Failed to create new replica set "{name}": {err}'
                if has_progress_deadline(d):
                    self._set_condition(d["status"], "Progressing", "False", "ReplicaSetCreateError", message)
                self.events.warning(d, "ReplicaSetCreateError", message)
                return None
        if not already and replicas(created) > 0:
            self.events.normal(d, "ScalingReplicaSet",
                               f"Scaled up replica set {name} from 0 to {replicas(created)}")
        self._set_revision(d, new_revision)
        if not already and has_progress_deadline(d):
            self._set_condition(d["status"], "Progressing", "True", "NewReplicaSetCreated",
                                f'Created new replica set "{name}"')
        return created

    def _set_revision(self, d: Obj, rev: str) -> None:
        annotations = d["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) != rev:
            annotations[REVISION] = rev

    def _set_new_rs_annotations(self, d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k not in _NOT_COPIED and annotations.get(k) != v:
                annotations[k] = v
                changed = True
        old_revision = annotations.get(REVISION, "")
        try:
            old_int = int(old_revision) if old_revision else 0
        except ValueError:
            return False
        if old_int < int(new_revision):
            annotations[REVISION] = new_revision
            changed = True
        if changed and old_revision:  # re-used (a rollback): remember the revisions it had
            history = annotations.get(REVISION_HISTORY, "")
            olds = history.split(",") if history else []
            total = len(history) + len(old_revision) + 1
            start = 0
            while total > MAX_REVISION_HISTORY_CHARS and start < len(olds):
                total -= len(olds[start]) + 1
                start += 1
            if total <= MAX_REVISION_HISTORY_CHARS:
                annotations[REVISION_HISTORY] = ",".join(olds[start:] + [old_revision])
        if not exists and self._set_replica_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
            changed = True
        return changed

    @staticmethod
    def _set_replica_annotations(rs: Obj, desired: int, most: int) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        for k, v in ((DESIRED, str(desired)), (MAX, str(most))):
            if annotations.get(k) != v:
                annotations[k] = v
                changed = True
        return changed

    def _new_rs_replicas(self, d: Obj, all_rss: list[Obj], new: Obj) -> int:
        if not _rolling(d):
            return replicas(d)
        current = sum(replicas(r) for r in all_rss)
        most = replicas(d) + max_surge(d)
        if current >= most:
            return replicas(new)
        return replicas(new) + min(most - current, replicas(d) - replicas(new))

    # -- scaling -----------------------------------------------------------------------------
    def _scale_rs(self, rs: Obj, size: int, d: Obj, operation: str) -> Obj:
        resize = replicas(rs) != size
        annotations = rs["metadata"].get("annotations") or {}
        stale = (annotations.get(DESIRED) != str(replicas(d))
                 or annotations.get(MAX) != str(replicas(d) + max_surge(d)))
        if not resize and not stale:
            return rs
        before = replicas(rs)
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = size
        self._set_replica_annotations(updated, replicas(d), replicas(d) + max_surge(d))
        rs = self.store.update(updated)
        if resize:
            self.events.normal(d, "ScalingReplicaSet",
                               f"Scaled {operation} replica set {rs['metadata']['name']} from {before} to {size}")
        return rs

    def _scale_and_record(self, rs: Obj, size: int, d: Obj) -> tuple[bool, Obj]:
        if replicas(rs) == size:
            return False, rs
        return True, self._scale_rs(rs, size, d, "up" if replicas(rs) < size else "down")

    def _is_scaling_event(self, d: Obj, rss: list[Obj]) -> bool:
        new, old = self._new_and_old(d, rss, False)
        for rs in _active(old + [new]):
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
            if desired is not None and desired.isdigit() and int(desired) != replicas(d):
                return True
        return False

    def _sync(self, d: Obj, rss: list[Obj]) -> None:
        """Scale only (a scaling event, or while paused), then status."""
        new, old = self._new_and_old(d, rss, False)
        self._scale(d, new, old)
        if d["spec"].get("paused"):
            self._cleanup(self._fresh(old), d)
        self._sync_status(old + ([new] if new else []), new, d)

    def _scale(self, d: Obj, new: Obj | None, old: list[Obj]) -> None:
        want = replicas(d)
        latest = self._active_or_latest(new, old)
        if latest is not None:
            if replicas(latest) != want:
                self._scale_and_record(latest, want, d)
            return
        if new is not None and self._saturated(d, new):
            for rs in _active(old):
                self._scale_and_record(rs, 0, d)
            return
        if not _rolling(d):
            return
        all_rss = _active(old + [new])
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - sum(replicas(r) for r in all_rss)
        if to_add != 0:  # bigger first; then newer first when adding, older first when removing
            all_rss = _by_creation(all_rss)
            if to_add > 0:
                all_rss.reverse()
            all_rss.sort(key=lambda r: -replicas(r))
        sizes: dict[str, int] = {}
        added = 0
        for rs in all_rss:
            name = rs["metadata"]["name"]
            if to_add != 0:
                share = self._proportion(rs, d, to_add, added)
                sizes[name] = replicas(rs) + share
                added += share
            else:
                sizes[name] = replicas(rs)
        for i, rs in enumerate(all_rss):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(sizes[name] + to_add - added, 0)
            self._scale_rs(rs, sizes[name], d, "up" if to_add > 0 else "down")

    def _proportion(self, rs: Obj, d: Obj, to_add: int, added: int) -> int:
        if replicas(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        if replicas(d) == 0:
            fraction = -replicas(rs)
        else:
            total = replicas(d) + max_surge(d)
            try:
                annotated = int((rs["metadata"].get("annotations") or {}).get(MAX, ""))
            except ValueError:
                annotated = _status(d, "replicas")
            exact = replicas(rs) * total / annotated if annotated else 0
            fraction = int(math.floor(abs(exact) + 0.5)) * (1 if exact >= 0 else -1) - replicas(rs)
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    @staticmethod
    def _active_or_latest(new: Obj | None, old: list[Obj]) -> Obj | None:
        if new is None and not old:
            return None
        newest_first = list(reversed(_by_creation(old)))
        active = _active(newest_first + [new])
        if not active:
            return new if new is not None else newest_first[0]
        return active[0] if len(active) == 1 else None

    @staticmethod
    def _saturated(d: Obj, rs: Obj) -> bool:
        desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
        return (desired == str(replicas(d)) and replicas(rs) == replicas(d)
                and _status(rs, "availableReplicas") == replicas(d))

    # -- rolling update ----------------------------------------------------------------------
    def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> None:
        new, old = self._new_and_old(d, rss, True)
        if new is None:
            return
        all_rss = old + [new]
        scaled, new = self._reconcile_new(all_rss, new, d)
        if not scaled:
            scaled = self._reconcile_old(self._fresh(old + [new]), _active(self._fresh(old)), new, d)
        if not scaled and deployment_complete(d, d["status"]):
            self._cleanup(self._fresh(old), d)
        self._sync_rollout_status(old + [new], new, d)

    def _reconcile_new(self, all_rss: list[Obj], new: Obj, d: Obj) -> tuple[bool, Obj]:
        want = replicas(d)
        if replicas(new) == want:
            return False, new
        if replicas(new) > want:
            return self._scale_and_record(new, want, d)
        return self._scale_and_record(new, self._new_rs_replicas(d, all_rss, new), d)

    def _reconcile_old(self, all_rss: list[Obj], old: list[Obj], new: Obj, d: Obj) -> bool:
        if sum(replicas(r) for r in old) == 0:
            return False
        min_available = replicas(d) - max_unavailable(d)
        new_unavailable = replicas(new) - _status(new, "availableReplicas")
        max_scaled_down = sum(replicas(r) for r in all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        old, cleaned = self._cleanup_unhealthy(old, d, max_scaled_down)
        scaled = self._scale_down_old(old + [new], old, d)
        return cleaned + scaled > 0

    def _cleanup_unhealthy(self, old: list[Obj], d: Obj, most: int) -> tuple[list[Obj], int]:
        """Scale down old ReplicaSets' unavailable pods first: they serve nothing."""
        total = 0
        result = []
        for rs in _by_creation(old):
            if total < most and replicas(rs) > 0 and replicas(rs) != _status(rs, "availableReplicas"):
                count = min(most - total, replicas(rs) - _status(rs, "availableReplicas"))
                rs = self._scale_rs(rs, replicas(rs) - count, d, "down")
                total += count
            result.append(rs)
        return result, total

    def _scale_down_old(self, all_rss: list[Obj], old: list[Obj], d: Obj) -> int:
        min_available = replicas(d) - max_unavailable(d)
        available = sum(_status(r, "availableReplicas") for r in all_rss)
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in _by_creation(old):
            if total >= budget:
                break
            if replicas(rs) == 0:
                continue
            count = min(replicas(rs), budget - total)
            self._scale_rs(rs, replicas(rs) - count, d, "down")
            total += count
        return total

    # -- recreate ----------------------------------------------------------------------------
    def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> None:
        new, old = self._new_and_old(d, rss, False)
        scaled = False
        for rs in _active(old):
            scaled |= self._scale_and_record(rs, 0, d)[0]
        if scaled or self._old_pods_running(new, self._fresh(old)):
            self._sync_rollout_status(old + ([new] if new else []), new, d)
            return
        if new is None:
            new, old = self._new_and_old(d, rss, True)
            if new is None:
                return
        self._scale_and_record(new, replicas(d), d)
        if deployment_complete(d, d["status"]):
            self._cleanup(self._fresh(old), d)
        self._sync_rollout_status(old + [new], new, d)

    def _old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        if sum(_status(r, "replicas") for r in old) > 0:
            return True
        for rs in old:
            if new is not None and rs["metadata"]["uid"] == new["metadata"]["uid"]:
                continue
            for pod in self.store.owned_by(rs["metadata"]["uid"]):
                if pod["kind"] == "Pod" and (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                    return True
        return False

    # -- history -----------------------------------------------------------------------------
    def _cleanup(self, old: list[Obj], d: Obj) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit."""
        limit = d["spec"].get("revisionHistoryLimit", 10)
        if limit is None:
            return
        alive = [r for r in old if not r["metadata"].get("deletionTimestamp")]
        diff = len(alive) - limit
        if diff <= 0:
            return
        alive.sort(key=lambda r: (revision(r), r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"]))
        for rs in alive[:diff]:
            if (_status(rs, "replicas") or replicas(rs)
                    or rs["metadata"].get("generation", 1) > _status(rs, "observedGeneration")):
                continue
            try:
                self.api.delete("ReplicaSet", rs["metadata"]["name"], rs["metadata"]["namespace"])
            except errors.StatusError:
                pass

    # -- status ------------------------------------------------------------------------------
    def _calculate_status(self, all_rss: list[Obj | None], new: Obj | None, d: Obj) -> Obj:
        rss = self._fresh(all_rss)
        fresh_new = self._fresh([new])
        available = sum(_status(r, "availableReplicas") for r in rss)
        values = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(_status(r, "replicas") for r in rss),
            "updatedReplicas": _status(fresh_new[0], "replicas") if fresh_new else 0,
            "readyReplicas": sum(_status(r, "readyReplicas") for r in rss),
            "availableReplicas": available,
            "unavailableReplicas": max(sum(replicas(r) for r in rss) - available, 0),
        }
        status: Obj = {k: v for k, v in values.items() if v}
        if "collisionCount" in d["status"]:
            status["collisionCount"] = d["status"]["collisionCount"]
        status["conditions"] = copy.deepcopy(d["status"].get("conditions") or [])
        if available >= replicas(d) - max_unavailable(d):
            self._set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                                "Deployment has minimum availability.")
        else:
            self._set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                                "Deployment does not have minimum availability.")
        return status

    def _sync_status(self, all_rss: list[Obj], new: Obj | None, d: Obj) -> None:
        d["status"] = self._calculate_status(all_rss, new, d)

    def _sync_rollout_status(self, all_rss: list[Obj], new: Obj | None, d: Obj) -> None:
        status = self._calculate_status(all_rss, new, d)
        if not has_progress_deadline(d):
            status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
        current = _condition(d["status"], "Progressing")
        complete_before = (status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None
                           and current["reason"] == "NewReplicaSetAvailable")
        if has_progress_deadline(d) and not complete_before:
            name = new["metadata"]["name"] if new else None
            if deployment_complete(d, status):
                message = (f'ReplicaSet "{name}" has successfully progressed.' if name
                           else f'Deployment "{d["metadata"]["name"]}" has successfully progressed.')
                self._set_condition(status, "Progressing", "True", "NewReplicaSetAvailable", message)
            elif deployment_progressing(d, status):
                message = (f'ReplicaSet "{name}" is progressing.' if name
                           else f'Deployment "{d["metadata"]["name"]}" is progressing.')
                keep = current["lastTransitionTime"] if current and current["status"] == "True" else None
                status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
                self._set_condition(status, "Progressing", "True", "ReplicaSetUpdated", message, keep)
            elif self._timed_out(d):
                message = (f'ReplicaSet "{name}" has timed out progressing.' if name
                           else f'Deployment "{d["metadata"]["name"]}" has timed out progressing.')
                self._set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded", message)
        d["status"] = status
        self._requeue_stuck(d, status)

    def _timed_out(self, d: Obj) -> bool:
        cond = _condition(d["status"], "Progressing")
        if cond is None or cond["reason"] == "NewReplicaSetAvailable":
            return False
        if cond["reason"] == "ProgressDeadlineExceeded":
            return True
        deadline = d["spec"].get("progressDeadlineSeconds", 600)
        return parse_timestamp(cond["lastUpdateTime"]) + deadline < self.clock.now()

    def _requeue_stuck(self, d: Obj, status: Obj) -> None:
        """Look again when the progress deadline would pass (a background timer: a stuck
        rollout must not keep ``settle()`` busy)."""
        key = key_of(d)
        cond = _condition(status, "Progressing")
        if (not has_progress_deadline(d) or cond is None or deployment_complete(d, status)
                or cond["reason"] == "ProgressDeadlineExceeded"):
            return
        due = parse_timestamp(cond["lastUpdateTime"]) + d["spec"].get("progressDeadlineSeconds", 600) + 1
        timer = self._deadlines.get(key)
        when = max(due, self.clock.now())  # a deadline already past is looked at once, now
        if timer is not None and timer.when == when:
            return  # pending, or it fired at this very instant: no second look at the same time
        if timer is not None:
            timer.cancel()
        self._deadlines[key] = self.clock.call_at(when, lambda: self.enqueue(key), False)

    def _check_paused(self, d: Obj) -> None:
        if not has_progress_deadline(d):
            return
        cond = _condition(d["status"], "Progressing")
        if cond is not None and cond["reason"] == "ProgressDeadlineExceeded":
            return
        paused_before = cond is not None and cond["reason"] == "DeploymentPaused"
        if d["spec"].get("paused") and not paused_before:
            self._set_condition(d["status"], "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif not d["spec"].get("paused") and paused_before:
            self._set_condition(d["status"], "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed")

    def _set_condition(self, status: Obj, ctype: str, value: str, reason: str, message: str,
                       transition: str | None = None) -> None:
        """SetDeploymentCondition: same status and reason is no change; a new reason keeps the
        transition time when the status stays."""
        now = self.clock.timestamp()
        current = _condition(status, ctype)
        if current is not None and current["status"] == value and current["reason"] == reason:
            return
        if current is not None and current["status"] == value:
            transition = current["lastTransitionTime"]
        cond = {"type": ctype, "status": value, "lastUpdateTime": now, "lastTransitionTime": transition or now,
                "reason": reason, "message": message}
        status["conditions"] = [c for c in status.get("conditions") or () if c["type"] != ctype] + [cond]


def install(engine: Engine, api: APIServer) -> None:
    """Run the Deployment controller in this engine."""
    engine.add(DeploymentController(engine, api))
