"""Rules about a pod that several layers need, in one place: the STATUS kubectl prints (printPod),
readiness (podutil.IsPodReady), the QoS class (GetPodQOS) and the controlling owner
(metav1.GetControllerOf). kubectl's tables, the engine's controllers and kubelet, and the
notebook's pictures all call these, so a picture never disagrees with ``kubectl get``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from kubelab.api.objects import Obj
from kubelab.api.quantity import QuantityError, parse as parse_quantity


class PodPrint(NamedTuple):
    """What ``kubectl get pods`` shows of a pod besides its name and age."""

    reason: str  # the STATUS column
    ready: int
    total: int
    restarts: int
    last_restart: float | None  # when a container last finished, for ``2 (5s ago)``


def _parse_time(value: str | None) -> float | None:
    from kubelab.api.tables import parse_time

    return parse_time(value)


def _restartable(container: Obj | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _finished_at(status: Obj) -> float | None:
    term = (status.get("lastState") or {}).get("terminated")
    return _parse_time(term.get("finishedAt")) if term else None


def print_pod(pod: Obj) -> PodPrint:
    """(STATUS reason, ready containers, total containers, restarts, last restart time),
    computed as printPod in pkg/printers/internalversion/printers.go does."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    inits = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in inits.values() if _restartable(c))
    ready = restarts = sidecar_restarts = 0
    last: float | None = None
    sidecar_last: float | None = None
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += cs.get("restartCount", 0)
        finished = _finished_at(cs)
        if finished is not None and (last is None or finished > last):
            last = finished
        sidecar = _restartable(inits.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += cs.get("restartCount", 0)
            if finished is not None and (sidecar_last is None or finished > sidecar_last):
                sidecar_last = finished
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last = sidecar_restarts, sidecar_last
        running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            finished = _finished_at(cs)
            if finished is not None and (last is None or finished > last):
                last = finished
            state = cs.get("state") or {}
            term, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return PodPrint(reason, ready, total, restarts, last)


def pod_status(pod: Obj) -> str:
    """The STATUS kubectl prints for a pod (``Running``, ``Init:0/1``, ``SchedulingGated``...)."""
    return print_pod(pod).reason


def ready_condition(pod: Obj) -> Obj | None:
    """The pod's Ready condition (podutil.GetPodReadyCondition)."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: Obj) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def _amount(value: Any) -> Any:
    try:
        return parse_quantity(value).value
    except QuantityError:
        return 0


def qos_class(pod: Obj) -> str:
    """The pod's QoS class as GetPodQOS (pkg/apis/core/helper/qos) computes it: BestEffort
    without cpu/memory requests or limits; Guaranteed when every container limits both and
    requests equal limits; Burstable otherwise. A container's missing request counts as its
    limit, as the API server's defaulting (SetDefaults_Pod) makes it before QoS is computed."""
    spec = pod.get("spec") or {}
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for name, value in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            if name in ("cpu", "memory") and _amount(value) > 0:
                requests[name] = requests.get(name, 0) + _amount(value)
        found = set()
        for name, value in (res.get("limits") or {}).items():
            if name in ("cpu", "memory") and _amount(value) > 0:
                found.add(name)
                limits[name] = limits.get(name, 0) + _amount(value)
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == amount for name, amount in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true`` (metav1.GetControllerOf), if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None
