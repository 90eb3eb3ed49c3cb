"""Namespaces: the system ones every cluster starts with, and namespace termination.

Deleting a Namespace marks it (deletionTimestamp, phase Terminating) the way the API server
does; the namespace controller then deletes everything in it, reports what remains in the
status conditions a real one shows, and finally drops the ``kubernetes`` finalizer so the
Namespace leaves the store.
"""
from __future__ import annotations

import copy
from typing import Iterable

from kubelab.api import errors
from kubelab.api.kinds import namespace_content
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj

SYSTEM = ("default", "kube-system", "kube-public", "kube-node-lease")
IMMORTAL = frozenset({"default", "kube-system", "kube-public"})
NAME_LABEL = "kubernetes.io/metadata.name"
FINALIZER = "kubernetes"

# What termination deletes, in order (each Kind's deletion_rank).
CONTENT = namespace_content()

# (condition type, ok reason, ok message): the namespace deleter's conditions, in its order.
_CONDITIONS = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions",
     "All legacy kube types successfully parsed"),
    ("NamespaceDeletionContentFailure", "ContentDeleted",
     "All content successfully deleted, may be waiting on finalization"),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentRemoved", "All content successfully removed"),
)


def namespace(name: str) -> Obj:
    """A new Namespace as the API server stores it."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {NAME_LABEL: name}},
            "spec": {"finalizers": [FINALIZER]}, "status": {"phase": "Active"}}


class NamespaceController(Controller):
    # its content too, for a namespace that waits on someone else (see reconcile)
    watches = ("Namespace", *(kind.kind for kind in CONTENT))

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.stalled: set[str] = set()

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        meta = obj["metadata"]
        if obj.get("kind") == "Namespace":
            if event != "DELETED" and meta.get("deletionTimestamp"):
                return (("Namespace", "", meta["name"]),)
            return ()
        if event == "DELETED" and meta.get("namespace") in self.stalled:
            return (("Namespace", "", meta["namespace"]),)
        return ()

    def reconcile(self, key: Key) -> None:
        ns = self.store.get(*key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        name = ns["metadata"]["name"]
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        wait = 0.0
        now = self.clock.now()
        for kind in CONTENT:
            for obj in self.store.list(kind.kind, name):
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.api.delete(kind.kind, obj["metadata"]["name"], name)
                    except errors.StatusError:
                        pass
            left = self.store.list(kind.kind, name)
            if left:
                remaining[f"{kind.plural}.{kind.group}"] = len(left)
            for obj in left:
                for finalizer in obj["metadata"].get("finalizers") or ():
                    finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
                stamp = obj["metadata"].get("deletionTimestamp")
                if stamp:
                    wait = max(wait, parse_timestamp(stamp) - now)
        self._set_conditions(ns, remaining, finalizers)
        if remaining:
            # the deleter's estimate (the longest grace period left) is work still to do; past
            # it, what remains waits on someone else (a finalizer, the kubelet of a stopped
            # node), so the retries are background work and the content's leaving is watched
            if wait > 0:
                self.stalled.discard(name)
            else:
                self.stalled.add(name)
            self.requeue_after(max(1.0, wait), key, progress=wait > 0)
            return
        self.stalled.discard(name)
        done = copy.deepcopy(self.store.get(*key))
        done["spec"]["finalizers"] = [f for f in done["spec"].get("finalizers") or () if f != FINALIZER]
        self.store.update(done)

    def _set_conditions(self, ns: Obj, remaining: dict[str, int], finalizers: dict[str, int]) -> None:
        failing: dict[str, tuple[str, str]] = {}
        if remaining:
            what = ", ".join(sorted(f"{r} has {n} resource instances" for r, n in remaining.items()))
            failing["NamespaceContentRemaining"] = ("SomeResourcesRemain", f"Some resources are remaining: {what}")
        if finalizers:
            what = ", ".join(sorted(f"{f} in {n} resource instances" for f, n in finalizers.items()))
            failing["NamespaceFinalizersRemaining"] = ("SomeFinalizerRemain",
                                                       f"Some finalizers are remaining: {what}")
        status = copy.deepcopy(ns.get("status") or {})
        conditions = status.setdefault("conditions", [])
        stamp = self.clock.timestamp()
        for ctype, ok_reason, ok_message in _CONDITIONS:
            value, (reason, message) = ("True", failing[ctype]) if ctype in failing else ("False", (ok_reason, ok_message))
            current = next((c for c in conditions if c["type"] == ctype), None)
            if current is None:
                conditions.append({"type": ctype, "status": value, "lastTransitionTime": stamp,
                                   "reason": reason, "message": message})
            elif (current["status"], current["reason"], current["message"]) != (value, reason, message):
                if current["status"] != value:
                    current["lastTransitionTime"] = stamp
                current.update(status=value, reason=reason, message=message)
        if status != ns.get("status"):
            updated = copy.deepcopy(ns)
            updated["status"] = status
            self.store.update(updated, status=True)


def install(engine: Engine, api: APIServer) -> None:
    """Create the system namespaces; make namespace deletion graceful; run the controller."""
    store = engine.store
    for name in SYSTEM:
        if store.get("Namespace", "", name) is None:
            store.create(namespace(name))

    def admit(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        """What the namespace strategy and defaulting add: the name label, the finalizer, the phase."""
        name = obj["metadata"]["name"]
        labels = obj["metadata"].get("labels") or {}
        obj["metadata"]["labels"] = {**labels, NAME_LABEL: name}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        obj["spec"] = spec
        if old is None:
            spec["finalizers"] = [FINALIZER]
            obj["status"] = {"phase": "Active"}
        else:
            spec["finalizers"] = copy.deepcopy((old.get("spec") or {}).get("finalizers") or [])

    def delete(obj: Obj, grace: int | None) -> Obj:
        name = obj["metadata"]["name"]
        if name in IMMORTAL:
            raise errors.forbidden("namespaces", name,
                                   f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        terminating = copy.deepcopy(obj)
        terminating["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}
        store.update(terminating, status=True)
        return store.mark_deleted("Namespace", "", name)

    api.add_hook("Namespace", admit)
    api.delete_handlers["Namespace"] = delete
    engine.add(NamespaceController(engine, api))
