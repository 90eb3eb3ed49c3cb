"""PrepareForCreate / PrepareForUpdate: what a kind's registry strategy does to an object
before validation.

The real API server fills in what only it can know on create (a Job's generated selector needs
the new object's uid), lets an update leave out what the server itself filled in, and drops
fields a change of type has made meaningless, before it validates the new object.
"""
from __future__ import annotations

from typing import Any

from kubelab.api.kinds import Kind


# Kinds whose create-time preparation needs metadata.uid before validation: the API server
# assigns it before admission for these.
UID_BEFORE_ADMISSION = frozenset({"Job"})
JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def prepare_for_create(obj: dict[str, Any], kind: Kind) -> None:
    """Fill in what the server derives on create (in place), before validation."""
    if kind.kind == "Job":
        obj["status"] = {}
        if not (obj.get("spec") or {}).get("manualSelector"):
            _job_selector(obj)


def _job_selector(job: dict[str, Any]) -> None:
    """generateSelector: label the pod template with the job's uid and name (the new
    ``batch.kubernetes.io/`` keys and the legacy ones) and select on the uid, unless the user
    already chose these labels (then validation catches a mismatch)."""
    meta, spec = job["metadata"], job.setdefault("spec", {})
    uid, name = meta.get("uid", ""), meta.get("name", "")
    template = spec.setdefault("template", {}).setdefault("metadata", {})
    labels = template.get("labels") or {}
    for key, value in ((JOB_UID_LABEL, uid), ("controller-uid", uid), (JOB_NAME_LABEL, name), ("job-name", name)):
        labels.setdefault(key, value)
    template["labels"] = labels
    selector = spec.get("selector") or {}
    match = selector.get("matchLabels") or {}
    match.setdefault(JOB_UID_LABEL, uid)
    selector["matchLabels"] = match
    spec["selector"] = selector
    if not meta.get("labels"):  # the stored object is defaulted again on read: labels from the template
        meta["labels"] = dict(labels)


def prepare_for_update(obj: dict[str, Any], old: dict[str, Any], kind: Kind) -> None:
    """Carry over server-owned values into ``obj`` (in place) before it is validated."""
    if kind.kind == "Service":
        _service(obj.setdefault("spec", {}), old.get("spec") or {})


def _service(spec: dict[str, Any], old: dict[str, Any]) -> None:
    """An update that leaves out what the server allocated keeps it (patchAllocatedValues), and
    a type change drops what the new type has no use for (dropTypeDependentFields)."""
    kind, old_kind = spec.get("type"), old.get("type")
    if kind != "ExternalName" and not spec.get("clusterIP") and old.get("clusterIP"):
        spec["clusterIP"] = old["clusterIP"]
        spec["clusterIPs"] = list(old.get("clusterIPs") or [old["clusterIP"]])
    if kind == "ExternalName" and old_kind != "ExternalName":
        if spec.get("clusterIP") in (None, "", old.get("clusterIP")):
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(field, None)
    new_ports, old_ports = spec.get("ports") or [], old.get("ports") or []
    if kind in ("NodePort", "LoadBalancer") and old_kind in ("NodePort", "LoadBalancer"):
        used = {p.get("nodePort") for p in new_ports if p.get("nodePort")}
        by_name = {p.get("name", ""): p.get("nodePort") for p in old_ports if p.get("nodePort")}
        for port in new_ports:
            was = by_name.get(port.get("name", ""))
            if not port.get("nodePort") and was and was not in used:
                port["nodePort"] = was
                used.add(was)
    elif kind not in ("NodePort", "LoadBalancer") and old_kind in ("NodePort", "LoadBalancer"):
        old_by_name = {p.get("name", ""): p.get("nodePort") for p in old_ports}
        if all(p.get("nodePort") in (None, 0, old_by_name.get(p.get("name", ""))) for p in new_ports):
            for port in new_ports:
                port.pop("nodePort", None)
    if kind == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        if not spec.get("healthCheckNodePort") and old.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old["healthCheckNodePort"]
    elif spec.get("healthCheckNodePort") in (None, 0, old.get("healthCheckNodePort")):
        spec.pop("healthCheckNodePort", None)
