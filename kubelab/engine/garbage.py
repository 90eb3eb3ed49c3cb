"""The garbage collector: dependents go when their owners do.

Like kube-controller-manager's garbagecollector it works from ownerReferences: an object all
of whose owners are gone (checked by uid, so a re-created namesake does not count) is deleted;
references to owners that are gone are dropped while another owner remains. An owner deleted
with ``propagationPolicy: Foreground`` carries the ``foregroundDeletion`` finalizer and leaves
only when every dependent that blocks it is gone.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from kubelab.api import errors
from kubelab.api.kinds import BY_KIND, KINDS
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj, key_of

FOREGROUND = "foregroundDeletion"


def _in_foreground_deletion(obj: Obj) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and FOREGROUND in (meta.get("finalizers") or ())


class GarbageCollector(Controller):
    watches = tuple(k.kind for k in KINDS if k.kind != "Event")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        meta = obj["metadata"]
        keys: list[Key] = []
        refs = meta.get("ownerReferences")
        if event == "DELETED":
            keys += [key_of(d) for d in self.store.owned_by(meta["uid"])]
            for ref in refs or ():  # an owner waiting in foreground deletion may be done now
                owner = self._owner(ref, meta.get("namespace", ""))
                if owner is not None and _in_foreground_deletion(owner):
                    keys.append(key_of(owner))
            return keys
        if refs and (old is None or old["metadata"].get("ownerReferences") != refs):
            keys.append(key_of(obj))
        if _in_foreground_deletion(obj) and not (old is not None and _in_foreground_deletion(old)):
            keys.append(key_of(obj))
        return keys

    def _owner(self, ref: dict[str, Any], namespace: str) -> Obj | None:
        kind = BY_KIND.get(ref.get("kind", ""))
        if kind is None:
            return None
        owner = self.store.get(kind.kind, namespace if kind.namespaced else "", ref.get("name", ""))
        return owner if owner is not None and owner["metadata"]["uid"] == ref.get("uid") else None

    def reconcile(self, key: Key) -> None:
        obj = self.store.get(*key)
        if obj is None:
            return
        if _in_foreground_deletion(obj):
            self._finish_foreground(obj)
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return
        ns = obj["metadata"].get("namespace", "")
        owners = [(ref, self._owner(ref, ns)) for ref in refs]
        unknown = [ref for ref, _ in owners if ref.get("kind") not in BY_KIND]
        gone = [ref for ref, owner in owners if owner is None and ref not in unknown]
        if not gone:
            if any(owner is not None and _in_foreground_deletion(owner) and ref.get("blockOwnerDeletion")
                   for ref, owner in owners):
                self._delete(obj, "Foreground")
            return
        if len(gone) == len(refs):
            self._delete(obj, "Background")
            return
        kept = copy.deepcopy(obj)
        kept["metadata"]["ownerReferences"] = [r for r in refs if r not in gone]
        self.store.update(kept)

    def _delete(self, obj: Obj, propagation: str) -> None:
        if obj["metadata"].get("deletionTimestamp"):
            return
        kind, ns, name = key_of(obj)
        try:
            self.api.delete(kind, name, ns or None, propagation=propagation)
        except errors.StatusError:
            pass  # already gone, or refused: the next change brings it back here

    def _finish_foreground(self, owner: Obj) -> None:
        """Delete the dependents; drop the finalizer once no blocking dependent is left."""
        uid = owner["metadata"]["uid"]
        blocking = False
        for dependent in self.store.owned_by(uid):
            ref = next((r for r in dependent["metadata"].get("ownerReferences") or () if r.get("uid") == uid), {})
            self._delete(dependent, "Foreground" if ref.get("blockOwnerDeletion") else "Background")
            if ref.get("blockOwnerDeletion") and self.store.get(*key_of(dependent)) is not None:
                blocking = True
        if not blocking:
            done = copy.deepcopy(self.store.get(*key_of(owner)))
            done["metadata"]["finalizers"] = [f for f in done["metadata"]["finalizers"] if f != FOREGROUND]
            if not done["metadata"]["finalizers"]:
                del done["metadata"]["finalizers"]
            self.store.update(done)


def install(engine: Engine, api: APIServer) -> None:
    """Run the garbage collector in this engine."""
    engine.add(GarbageCollector(engine, api))
