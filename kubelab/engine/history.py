"""The data of a StatefulSet's or DaemonSet's ControllerRevision.

Both controllers store, as the revision's ``data``, a strategic merge patch that puts the pod
template back (``{"spec": {"template": {..., "$patch": "replace"}}}``), written from a generic
map, so every object's keys come out sorted. ``kubectl rollout undo`` compares those bytes
with the same patch made from the live object to decide whether a rollback would change
anything, so the stored dict keeps the keys in that sorted order too (the server writes a
dict's keys in insertion order).
"""
from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return copy.copy(value)


def template_patch(template: Obj) -> Obj:
    """The revision data for a workload whose ``spec.template`` is ``template``."""
    return _sorted({"spec": {"template": {**template, "$patch": "replace"}}})
