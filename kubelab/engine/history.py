"""A StatefulSet's or DaemonSet's ControllerRevisions: their data, and making or renumbering one.

Both controllers store, as the revision's ``data``, a strategic merge patch that puts the pod
template back (``{"spec": {"template": {..., "$patch": "replace"}}}``), written from a generic
map, so every object's keys come out sorted. ``kubectl rollout undo`` compares those bytes
with the same patch made from the live object to decide whether a rollback would change
anything, so the stored dict keeps the keys in that sorted order too (the server writes a
dict's keys in insertion order).

Both controllers also keep one revision per template the same way: made when the template is
new, renumbered to the newest when the workload returns to an old template.
"""
from __future__ import annotations

import copy
from typing import Any

from kubelab.engine.owners import controller_ref
from kubelab.engine.store import Obj, Store

REVISION_LABEL = "controller-revision-hash"  # on a DaemonSet's revisions, and on both controllers' pods
HASH_LABEL = "controller.kubernetes.io/hash"  # on a StatefulSet's revisions (history.NewControllerRevision)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return copy.copy(value)


def template_patch(template: Obj) -> Obj:
    """The revision data for a workload whose ``spec.template`` is ``template``."""
    return _sorted({"spec": {"template": {**template, "$patch": "replace"}}})


def ensure_revision(store: Store, owner: Obj, revisions: list[Obj], name: str, hash_label: tuple[str, str]) -> Obj:
    """The ControllerRevision ``name`` of ``owner``'s current template: created (labelled with
    the template's labels plus ``hash_label``, annotated with the owner's annotations, as both
    controllers do) if none of ``revisions`` has that name, or renumbered past the newest if an
    older number is stored."""
    top = max((r.get("revision", 0) for r in revisions), default=0)
    existing = next((r for r in revisions if r["metadata"]["name"] == name), None)
    if existing is not None:
        if existing.get("revision", 0) < top:
            bumped = copy.deepcopy(existing)
            bumped["revision"] = top + 1
            existing = store.update(bumped)
        return existing
    meta = owner["metadata"]
    template = (owner.get("spec") or {}).get("template") or {}
    labels = {**((template.get("metadata") or {}).get("labels") or {}), hash_label[0]: hash_label[1]}
    revision_meta: Obj = {"name": name, "namespace": meta["namespace"], "labels": labels,
                          "ownerReferences": [controller_ref(owner)]}
    if meta.get("annotations"):
        revision_meta["annotations"] = dict(meta["annotations"])
    return store.create({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": revision_meta,
                         "data": template_patch(template), "revision": top + 1})
