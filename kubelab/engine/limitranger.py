"""The LimitRanger admission plugin (plugin/pkg/admission/limitranger/admission.go): a new
pod's containers get the namespace's LimitRange defaults, then the pod must fit every
LimitRange's min, max and maxLimitRequestRatio, or it is Forbidden with the plugin's words.

Only pod creation is admitted, as upstream (SupportsAttributes: containers cannot change on
update). A new PersistentVolumeClaim must fit PersistentVolumeClaim items' min and max storage
(PersistentVolumeClaimValidateLimitFunc).
"""
from __future__ import annotations

from typing import Any, Iterable

from kubelab.api import errors, validation
from kubelab.api.kinds import BY_KIND
from kubelab.api.quantity import Quantity, parse
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Engine
from kubelab.engine.store import Obj, Store

ANNOTATION = "kubernetes.io/limit-ranger"


def _containers(pod: Obj) -> Iterable[tuple[str, Obj]]:
    spec = pod.get("spec") or {}
    for label, field in (("container", "containers"), ("init container", "initContainers")):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                yield label, c


def mutate(pod: Obj, limit_range: Obj) -> bool:
    """PodMutateLimitFunc: defaultContainerResourceRequirements then mergePodResourceRequirements.
    Records what it set in the ``kubernetes.io/limit-ranger`` annotation; True if it set anything."""
    limits: dict[str, Any] = {}
    requests: dict[str, Any] = {}
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            limits.update(item.get("default") or {})
            requests.update(item.get("defaultRequest") or {})
    notes: list[str] = []
    for label, c in _containers(pod):
        resources = c.get("resources")
        if not isinstance(resources, dict):
            resources = c["resources"] = {}
        for field, defaults, word in (("requests", requests, "request"), ("limits", limits, "limit")):
            have = resources.get(field)
            if not isinstance(have, dict):
                have = {}
            added = sorted(name for name in defaults if name not in have)
            for name in added:
                have[name] = defaults[name]
            if have:
                resources[field] = have
            if added:
                notes.append(f"{', '.join(added)} {word} for {label} {c.get('name', '')}")
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations") or {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
        meta["annotations"] = annotations
    return bool(notes)


def _observed(request: Quantity | None, limit: Quantity | None, enforced: Quantity) -> tuple[int, int, int]:
    """requestLimitEnforcedValues: millis, unless some value is too large for them (then units)."""
    values = [q for q in (request, limit, enforced) if q is not None]
    milli = all(q.value <= 2**63 // 1000 for q in values)
    conv = (lambda q: q.milli()) if milli else (lambda q: q.whole())
    return (conv(request) if request else 0, conv(limit) if limit else 0, conv(enforced))


def _min(kind: str, name: str, enforced: Quantity, request: dict[str, Quantity],
         limit: dict[str, Quantity]) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, l, e = _observed(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if r < e:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and l < e:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def _max(kind: str, name: str, enforced: Quantity, request: dict[str, Quantity],
         limit: dict[str, Quantity]) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, l, e = _observed(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if l > e:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def _ratio(kind: str, name: str, enforced: Quantity, request: dict[str, Quantity],
           limit: dict[str, Quantity]) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, l, _ = _observed(req, lim, enforced)
    if req is None or r == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no request is specified or request is 0")
    if lim is None or l == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
    ratio = l / r
    if ratio * 1000 > enforced.milli():
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {ratio:f}"
    return None


def _quantities(values: Any) -> dict[str, Quantity]:
    return {k: parse(v) for k, v in (values or {}).items()} if isinstance(values, dict) else {}


def _pod_total(pod: Obj, field: str) -> dict[str, Quantity]:
    """A pod's effective requests or limits: the containers' sum, or the largest init container's."""
    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    for c in spec.get("containers") or []:
        for k, q in _quantities((c.get("resources") or {}).get(field)).items():
            total[k] = total[k] + q if k in total else q
    for c in spec.get("initContainers") or []:
        for k, q in _quantities((c.get("resources") or {}).get(field)).items():
            if k not in total or q.value > total[k].value:
                total[k] = q
    return total


def violations(pod: Obj, limit_range: Obj) -> list[str]:
    """PodValidateLimitFunc: every constraint of ``limit_range`` the pod breaks."""
    found: list[str] = []

    def check(kind: str, item: Obj, request: dict[str, Quantity], limit: dict[str, Quantity]) -> None:
        for field, test in (("min", _min), ("max", _max), ("maxLimitRequestRatio", _ratio)):
            for name, enforced in sorted(_quantities(item.get(field)).items()):
                message = test(kind, name, enforced, request, limit)
                if message:
                    found.append(message)

    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            for _, c in _containers(pod):
                resources = c.get("resources") or {}
                check("Container", item, _quantities(resources.get("requests")), _quantities(resources.get("limits")))
        elif item.get("type") == "Pod":
            check("Pod", item, _pod_total(pod, "requests"), _pod_total(pod, "limits"))
    return found


def claim_violations(claim: Obj, limit_range: Obj) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: min against requests and limits, max against
    what the claim requests (maxRequestConstraint)."""
    resources = (claim.get("spec") or {}).get("resources") or {}
    request, limit = _quantities(resources.get("requests")), _quantities(resources.get("limits"))
    found: list[str] = []
    kind = "PersistentVolumeClaim"
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") != kind:
            continue
        for name, enforced in sorted(_quantities(item.get("min")).items()):
            message = _min(kind, name, enforced, request, limit)
            if message:
                found.append(message)
        for name, enforced in sorted(_quantities(item.get("max")).items()):
            req = request.get(name)
            if req is None:
                found.append(f"maximum {name} usage per {kind} is {enforced}.  No request is specified")
            elif _observed(req, None, enforced)[0] > _observed(req, None, enforced)[2]:
                found.append(f"maximum {name} usage per {kind} is {enforced}, but request is {req}")
    return found


def admit_claim(store: Store, claim: Obj) -> None:
    """A new claim against its namespace's LimitRanges: Forbidden with the plugin's words."""
    meta = claim.get("metadata") or {}
    messages: list[str] = []
    for limit_range in sorted(store.list("LimitRange", meta.get("namespace", "")), key=lambda r: r["metadata"]["name"]):
        messages += [m for m in claim_violations(claim, limit_range) if m not in messages]
    if messages:
        body = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
        name = meta.get("name", "")
        raise errors.forbidden("persistentvolumeclaims", name, f'persistentvolumeclaims "{name}" is forbidden: {body}')


def admit_pod(store: Store, pod: Obj) -> None:
    """Mutate then validate a new pod against its namespace's LimitRanges; raise Forbidden
    (one message, or ``[a, b]`` as apimachinery's aggregate prints several)."""
    meta = pod.get("metadata") or {}
    ranges = sorted(store.list("LimitRange", meta.get("namespace", "")), key=lambda r: r["metadata"]["name"])
    if not ranges:
        return
    changed = False
    for limit_range in ranges:
        changed = mutate(pod, limit_range) or changed
    if changed:
        # the registry validates after mutating admission: a defaulted limit below a request is Invalid
        causes = validation.validate(pod, BY_KIND["Pod"], None)
        if causes:
            raise errors.invalid("Pod", meta.get("name", ""), causes)
    messages: list[str] = []
    for limit_range in ranges:
        for message in violations(pod, limit_range):
            if message not in messages:
                messages.append(message)
    if messages:
        body = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
        raise errors.forbidden("pods", meta.get("name", ""), f'pods "{meta.get("name", "")}" is forbidden: {body}')


def install(engine: Engine, api: APIServer) -> None:
    """Admit pod and claim creation through the namespace's LimitRanges."""
    def admit(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        if old is None:
            admit_pod(engine.store, obj)

    def admit_new_claim(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        if old is None:
            admit_claim(engine.store, obj)

    api.add_hook("Pod", admit)
    api.add_hook("PersistentVolumeClaim", admit_new_claim)
