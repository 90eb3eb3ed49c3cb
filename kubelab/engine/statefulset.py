"""The StatefulSet controller: pods with stable names, started and stopped in order.

Like kube-controller-manager's statefulset-controller it names pods ``<set>-0 .. <set>-N-1``
with ``hostname`` = the pod name and ``subdomain`` = ``spec.serviceName`` (so a headless
Service gives each one a DNS name), creates them one at a time waiting for each to be Running
and Ready (``OrderedReady``) or all at once (``Parallel``), removes surplus pods from the highest
ordinal down, and rolls template changes out from the highest ordinal down to the
``partition``. Each template version is a ControllerRevision; pods carry its name in the
``controller-revision-hash`` label.
"""
from __future__ import annotations

import copy
import re
from typing import Iterable

from kubelab.api import errors
from kubelab.api.selectors import from_label_selector
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.deployment import compute_hash
from kubelab.engine.events import Recorder
from kubelab.engine.history import HASH_LABEL, REVISION_LABEL, ensure_revision
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.replicaset import is_pod_available, is_pod_ready, only_status_changed
from kubelab.engine.store import Key, Obj, key_of

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def _ordinal(sts_name: str, pod: Obj) -> int | None:
    m = re.fullmatch(re.escape(sts_name) + r"-(\d+)", pod["metadata"]["name"])
    return int(m.group(1)) if m else None


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


def _claim_templates(sts: Obj) -> list[Obj]:
    return [t for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or () if isinstance(t, dict)]


def claim_name(sts: Obj, template: Obj, ordinal: int) -> str:
    """getPersistentVolumeClaimName: ``<template>-<set>-<ordinal>``."""
    return f"{(template.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def _revision_of(pod: Obj) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, "")


class StatefulSetController(Controller):
    watches = ("StatefulSet", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "statefulset-controller")

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "StatefulSet":
            if event != "DELETED" and old is not None and only_status_changed(obj, old):
                return ()
            return (key_of(obj),) if event != "DELETED" else ()
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "StatefulSet":
            return ()
        return (("StatefulSet", obj["metadata"].get("namespace", ""), ref["name"]),)

    # -- revisions ----------------------------------------------------------------------------
    def _revisions(self, sts: Obj) -> list[Obj]:
        uid = sts["metadata"]["uid"]
        found = [r for r in self.store.owned_by(uid) if r["kind"] == "ControllerRevision"]
        return sorted(found, key=lambda r: (r.get("revision", 0), r["metadata"]["name"]))

    def _update_revision(self, sts: Obj, revisions: list[Obj]) -> Obj:
        """The ControllerRevision of the current template, made (or bumped to the newest
        revision number, on a rollback to an old template) as needed."""
        template = (sts.get("spec") or {}).get("template") or {}
        collisions = (sts.get("status") or {}).get("collisionCount") or 0
        digest = compute_hash(template, collisions or None)
        return ensure_revision(self.store, sts, revisions, f"{sts['metadata']['name']}-{digest}", (HASH_LABEL, digest))

    # -- the sync ------------------------------------------------------------------------------
    def reconcile(self, key: Key) -> None:
        sts = self.store.get(*key)
        if sts is None:
            return
        spec = sts.get("spec") or {}
        selector = from_label_selector(spec.get("selector"))
        uid = sts["metadata"]["uid"]
        pods = [p for p in self.store.owned_by(uid)
                if p["kind"] == "Pod" and (controller_of(p) or {}).get("uid") == uid
                and selector.matches(p["metadata"].get("labels"))]
        revisions = self._revisions(sts)
        update = self._update_revision(sts, revisions)
        revisions = self._revisions(sts)
        status = sts.get("status") or {}
        current_name = status.get("currentRevision") or update["metadata"]["name"]
        current = next((r for r in revisions if r["metadata"]["name"] == current_name), update)
        if not sts["metadata"].get("deletionTimestamp"):
            self._manage(sts, spec, pods, current, update)
            pods = [p for p in self.store.owned_by(uid)
                    if p["kind"] == "Pod" and (controller_of(p) or {}).get("uid") == uid]
        self._update_status(sts, pods, current, update)
        self._truncate_history(sts, pods)

    def _manage(self, sts: Obj, spec: Obj, pods: list[Obj], current: Obj, update: Obj) -> None:
        name = sts["metadata"]["name"]
        want = int(spec.get("replicas", 1))
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        by_ordinal: dict[int, Obj] = {}
        condemned: list[Obj] = []
        for pod in pods:
            ordinal = _ordinal(name, pod)
            if ordinal is not None and ordinal < want:
                by_ordinal[ordinal] = pod
            else:
                condemned.append(pod)
        condemned.sort(key=lambda p: -(_ordinal(name, p) or 0))
        # bring up ordinals 0..want-1 in order
        for ordinal in range(want):
            pod = by_ordinal.get(ordinal)
            if pod is None:
                self._create(sts, ordinal, current, update)
                if ordered:
                    return
                continue
            if _finished(pod) and not pod["metadata"].get("deletionTimestamp"):
                self._delete(sts, pod)  # a failed or finished pod is replaced under the same name
                if ordered:
                    return
                continue
            if ordered and (pod["metadata"].get("deletionTimestamp") or not _running_and_ready(pod)):
                return  # OrderedReady: wait for this one before touching the next
        # remove surplus pods, highest ordinal first
        for pod in condemned:
            if pod["metadata"].get("deletionTimestamp"):
                if ordered:
                    return
                continue
            if ordered and not all(_running_and_ready(p) for p in by_ordinal.values()):
                return
            self._claims_follow_pod(sts, pod)
            self._delete(sts, pod)
            if ordered:
                return
        # roll the template out, highest ordinal first, down to the partition
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        target = update["metadata"]["name"]
        for ordinal in range(want - 1, partition - 1, -1):
            pod = by_ordinal.get(ordinal)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                return
            if _revision_of(pod) != target:
                self._delete(sts, pod)
                return
            if not _running_and_ready(pod):
                return

    def _create(self, sts: Obj, ordinal: int, current: Obj, update: Obj) -> None:
        spec = sts.get("spec") or {}
        strategy = spec.get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        use_current = strategy.get("type", "RollingUpdate") == "RollingUpdate" and ordinal < partition
        revision = current if use_current else update
        template = revision["data"]["spec"]["template"]
        name = f"{sts['metadata']['name']}-{ordinal}"
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update({REVISION_LABEL: revision["metadata"]["name"], POD_NAME_LABEL: name,
                       POD_INDEX_LABEL: str(ordinal)})
        meta: Obj = {"name": name, "namespace": sts["metadata"]["namespace"], "labels": labels}
        if tmeta.get("annotations"):
            meta["annotations"] = copy.deepcopy(tmeta["annotations"])
        meta["ownerReferences"] = [controller_ref(sts)]
        pod_spec = copy.deepcopy(template.get("spec") or {})
        if not self._create_claims(sts, ordinal):
            return
        pod_spec["volumes"] = [v for v in pod_spec.get("volumes") or ()
                               if v.get("name") not in {c["metadata"]["name"] for c in _claim_templates(sts)}]
        pod_spec["volumes"] += [{"name": c["metadata"]["name"],
                                 "persistentVolumeClaim": {"claimName": claim_name(sts, c, ordinal)}}
                                for c in _claim_templates(sts)]
        if not pod_spec["volumes"]:
            del pod_spec["volumes"]
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        try:
            self.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec})
        except errors.StatusError as err:
            if err.code == 409 or "because it is being terminated" in err.message:
                return
            self.events.warning(sts, "FailedCreate",
                                f"create Pod {name} in StatefulSet {sts['metadata']['name']} failed error: {err}")
            return
        self.events.normal(sts, "SuccessfulCreate",
                           f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    def _create_claims(self, sts: Obj, ordinal: int) -> bool:
        """createPersistentVolumeClaims: each template's ``<template>-<set>-<ordinal>`` claim, with
        the selector's labels, owned as persistentVolumeClaimRetentionPolicy says (whenDeleted:
        Delete -> owned by the set). False when one could not be made (the pod waits)."""
        set_name = sts["metadata"]["name"]
        for template in _claim_templates(sts):
            name = claim_name(sts, template, ordinal)
            ns = sts["metadata"]["namespace"]
            if self.store.get("PersistentVolumeClaim", ns, name) is not None:
                continue
            tmeta = template.get("metadata") or {}
            labels = dict(tmeta.get("labels") or {})
            labels.update(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
            meta: Obj = {"name": name, "namespace": ns, "labels": labels}
            if tmeta.get("annotations"):
                meta["annotations"] = copy.deepcopy(tmeta["annotations"])
            policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
            if policy.get("whenDeleted") == "Delete":
                meta["ownerReferences"] = [controller_ref(sts)]
            spec = copy.deepcopy(template.get("spec") or {})
            try:
                self.api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec})
            except errors.StatusError as err:
                if err.code == 409:
                    continue
                self.events.warning(sts, "FailedCreate", f"create Claim {name} for Pod {set_name}-{ordinal} "
                                                         f"in StatefulSet {set_name} failed error: {err}")
                return False
            self.events.normal(sts, "SuccessfulCreate", f"create Claim {name} Pod {set_name}-{ordinal} "
                                                        f"in StatefulSet {set_name} success")
        return True

    def _claims_follow_pod(self, sts: Obj, pod: Obj) -> None:
        """persistentVolumeClaimRetentionPolicy.whenScaled: Delete: a condemned pod's claims get
        the pod as owner (updateClaimOwnerRefForSetAndPod), so they go with it."""
        policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        ordinal = _ordinal(sts["metadata"]["name"], pod)
        if policy.get("whenScaled") != "Delete" or ordinal is None:
            return
        ref = {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
        for template in _claim_templates(sts):
            claim = self.store.get("PersistentVolumeClaim", sts["metadata"]["namespace"],
                                   claim_name(sts, template, ordinal))
            if claim is None or any(r.get("uid") == ref["uid"] for r in claim["metadata"].get("ownerReferences") or ()):
                continue
            updated = copy.deepcopy(claim)
            updated["metadata"]["ownerReferences"] = [*(claim["metadata"].get("ownerReferences") or ()), ref]
            self.store.update(updated)

    def _delete(self, sts: Obj, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            self.api.delete("Pod", name, pod["metadata"]["namespace"])
        except errors.StatusError as err:
            if err.code != 404:
                self.events.warning(sts, "FailedDelete",
                                    f"delete Pod {name} in StatefulSet {sts['metadata']['name']} failed error: {err}")
            return
        self.events.normal(sts, "SuccessfulDelete",
                           f"delete Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    # -- status and history ------------------------------------------------------------------------
    def _update_status(self, sts: Obj, pods: list[Obj], current: Obj, update: Obj) -> None:
        spec = sts.get("spec") or {}
        now = self.clock.now()
        min_ready = int(spec.get("minReadySeconds") or 0)
        current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
        counted = [p for p in pods if not _finished(p)]
        ready = [p for p in counted if _running_and_ready(p)]
        status: Obj = {"observedGeneration": sts["metadata"].get("generation", 1),
                       "replicas": len(counted)}
        numbers = {"readyReplicas": len(ready),
                   "currentReplicas": sum(1 for p in counted if _revision_of(p) == current_name),
                   "updatedReplicas": sum(1 for p in counted if _revision_of(p) == update_name)}
        status["availableReplicas"] = sum(1 for p in ready if is_pod_available(p, min_ready, now))
        if (numbers["updatedReplicas"] == status["replicas"] == numbers["readyReplicas"]
                and status["replicas"] == int(spec.get("replicas", 1))):
            current_name, numbers["currentReplicas"] = update_name, numbers["updatedReplicas"]
        status.update({k: v for k, v in numbers.items() if v})
        status["currentRevision"] = current_name
        status["updateRevision"] = update_name
        status["collisionCount"] = (sts.get("status") or {}).get("collisionCount") or 0
        if status != (sts.get("status") or {}):
            updated = copy.deepcopy(sts)
            updated["status"] = status
            self.store.update(updated, status=True)
        pending = [p for p in ready if not is_pod_available(p, min_ready, now)]
        if pending:
            self.requeue_after(min_ready, key_of(sts))

    def _truncate_history(self, sts: Obj, pods: list[Obj]) -> None:
        """Keep revisionHistoryLimit revisions besides the live ones (in use, current, update)."""
        status = self.store.get(*key_of(sts))
        if status is None:
            return
        live = {_revision_of(p) for p in pods}
        live |= {(status.get("status") or {}).get("currentRevision"), (status.get("status") or {}).get("updateRevision")}
        old = [r for r in self._revisions(sts) if r["metadata"]["name"] not in live]
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        for rev in old[:max(0, len(old) - limit)]:
            self.store.remove(*key_of(rev))


def install(engine: Engine, api: APIServer) -> None:
    """Run the StatefulSet controller in this engine."""
    engine.add(StatefulSetController(engine, api))
