"""autoscaling/v1 HorizontalPodAutoscaler, converted to and from the stored autoscaling/v2 one
as kube-apiserver converts it (pkg/apis/autoscaling/v1/conversion.go).

v1 has room for one metric, ``targetCPUUtilizationPercentage``. What v1 cannot say rides in
annotations, so that a v1 client reading and writing back loses nothing: the other metrics
(``autoscaling.alpha.kubernetes.io/metrics``), every current metric (``.../current-metrics``)
and the conditions (``.../conditions``), each a Go ``json.Marshal`` of the v1 structs. Writing
v1 reads them back and drops them; a v1 object without any metric gets the 80% CPU default.
"""
from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from kubelab.api.objects import Obj

KIND = "HorizontalPodAutoscaler"
V1 = "autoscaling/v1"
V2 = "autoscaling/v2"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
# DropRoundTripHorizontalPodAutoscalerAnnotations' list (1.32)
_ROUND_TRIP = (METRICS, BEHAVIOR, CURRENT_METRICS, CONDITIONS)
DEFAULT_CPU_UTILIZATION = 80


def is_v1(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("apiVersion") == V1 and obj.get("kind") == KIND


def to_v1(obj: Obj) -> Obj:
    """Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    meta = deepcopy(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _ROUND_TRIP}
    other = [_spec_to_v1(m) for m in spec.get("metrics") or ()
             if not (m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"
                     and ((m.get("resource") or {}).get("target") or {}).get("averageUtilization") is not None)]
    current = [_status_to_v1(m) for m in (status or {}).get("currentMetrics") or ()]
    conditions = [{k: c[k] for k in ("type", "status", "lastTransitionTime", "reason", "message") if c.get(k)}
                  for c in (status or {}).get("conditions") or ()]
    if other:
        annotations[METRICS] = go_json(other)
    if current:
        annotations[CURRENT_METRICS] = go_json(current)
    if conditions:
        annotations[CONDITIONS] = go_json(conditions)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out: Obj = {"kind": KIND, "apiVersion": V1, "metadata": meta}
    v1_spec: Obj = {"scaleTargetRef": deepcopy(spec.get("scaleTargetRef") or {})}
    for key in ("minReplicas", "maxReplicas"):
        if key in spec:
            v1_spec[key] = spec[key]
    for m in spec.get("metrics") or ():  # the first CPU resource metric, if it is a utilization
        resource = m.get("resource") or {}
        if m.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("target") or {}).get("averageUtilization")
            if utilization is not None:
                v1_spec["targetCPUUtilizationPercentage"] = utilization
            break
    out["spec"] = v1_spec
    status = status or {}
    # the v1 status struct always serializes its two replica counts (no omitempty)
    v1_status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime") if k in status}
    v1_status.update(currentReplicas=status.get("currentReplicas", 0), desiredReplicas=status.get("desiredReplicas", 0))
    for m in status.get("currentMetrics") or ():  # the last CPU utilization wins, as the loop there goes
        resource = m.get("resource") or {}
        if m.get("type") == "Resource" and resource.get("name") == "cpu" \
                and (resource.get("current") or {}).get("averageUtilization") is not None:
            v1_status["currentCPUUtilizationPercentage"] = resource["current"]["averageUtilization"]
    out["status"] = v1_status
    return out


def to_v2(obj: Obj) -> Obj:
    """Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    meta = deepcopy(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    metrics: list[Obj] = []
    cpu = spec.get("targetCPUUtilizationPercentage")
    if METRICS in annotations:
        metrics = [_spec_to_v2(m) for m in _loads(annotations.pop(METRICS))]
    if cpu is not None:
        metrics.append(_resource_v2("Resource", {"name": "cpu", "targetAverageUtilization": cpu}))
    if not metrics:
        metrics = [_resource_v2("Resource", {"name": "cpu", "targetAverageUtilization": DEFAULT_CPU_UTILIZATION})]
    out_status: Obj | None = None
    if status is not None or CURRENT_METRICS in annotations or CONDITIONS in annotations:
        status = status or {}
        out_status = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas",
                                             "desiredReplicas") if k in status}
        out_status.setdefault("desiredReplicas", 0)
        if CURRENT_METRICS in annotations:
            out_status["currentMetrics"] = [_status_to_v2(m) for m in _loads(annotations.pop(CURRENT_METRICS))]
        elif status.get("currentCPUUtilizationPercentage") is not None:
            out_status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
        if CONDITIONS in annotations:
            out_status["conditions"] = _loads(annotations.pop(CONDITIONS))
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    v2_spec: Obj = {"scaleTargetRef": deepcopy(spec.get("scaleTargetRef") or {}), "metrics": metrics}
    for key in ("minReplicas", "maxReplicas"):
        if key in spec:
            v2_spec[key] = spec[key]
    out: Obj = {"apiVersion": V2, "kind": KIND, "metadata": meta, "spec": v2_spec}
    if out_status is not None:
        out["status"] = out_status
    return out


def go_json(value: Any) -> str:
    """Go's json.Marshal: compact, with <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _loads(text: str) -> list[Obj]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


# -- one metric each way (the v1 shapes are v2beta1's: targetAverageValue, metricName...) ------
def _target_v1(target: Obj, prefix: str) -> Obj:
    out: Obj = {}
    if target.get("averageUtilization") is not None:
        out[f"{prefix}AverageUtilization"] = target["averageUtilization"]
    if target.get("averageValue") is not None:
        out[f"{prefix}AverageValue"] = target["averageValue"]
    return out


def _spec_to_v1(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = m.get(key) or {}
        body: Obj = {"name": src.get("name", ""), **_target_v1(src.get("target") or {}, "target")}
        if kind == "ContainerResource":
            body["container"] = src.get("container", "")
        out[key] = body
    elif kind == "Pods":
        src = m.get("pods") or {}
        metric = src.get("metric") or {}
        out["pods"] = {"metricName": metric.get("name", ""),
                       "targetAverageValue": (src.get("target") or {}).get("averageValue") or "0",
                       **({"selector": metric["selector"]} if metric.get("selector") else {})}
    elif kind == "Object":
        src = m.get("object") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["object"] = {"target": src.get("describedObject") or {}, "metricName": metric.get("name", ""),
                         "targetValue": target.get("value") or "0",
                         **({"selector": metric["selector"]} if metric.get("selector") else {}),
                         **({"averageValue": target["averageValue"]} if target.get("averageValue") else {})}
    elif kind == "External":
        src = m.get("external") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["external"] = {"metricName": metric.get("name", ""),
                           **({"metricSelector": metric["selector"]} if metric.get("selector") else {}),
                           **({"targetValue": target["value"]} if target.get("value") else {}),
                           **({"targetAverageValue": target["averageValue"]} if target.get("averageValue") else {})}
    return out


def _status_to_v1(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = m.get(key) or {}
        current = src.get("current") or {}
        body: Obj = {"name": src.get("name", "")}
        if current.get("averageUtilization") is not None:
            body["currentAverageUtilization"] = current["averageUtilization"]
        body["currentAverageValue"] = current.get("averageValue") or "0"
        if kind == "ContainerResource":
            body["container"] = src.get("container", "")
        out[key] = body
    elif kind == "Pods":
        src = m.get("pods") or {}
        metric = src.get("metric") or {}
        out["pods"] = {"metricName": metric.get("name", ""),
                       "currentAverageValue": (src.get("current") or {}).get("averageValue") or "0",
                       **({"selector": metric["selector"]} if metric.get("selector") else {})}
    elif kind == "Object":
        src = m.get("object") or {}
        metric, current = src.get("metric") or {}, src.get("current") or {}
        out["object"] = {"target": src.get("describedObject") or {}, "metricName": metric.get("name", ""),
                         "currentValue": current.get("value") or "0",
                         **({"selector": metric["selector"]} if metric.get("selector") else {}),
                         **({"averageValue": current["averageValue"]} if current.get("averageValue") else {})}
    elif kind == "External":
        src = m.get("external") or {}
        metric, current = src.get("metric") or {}, src.get("current") or {}
        out["external"] = {"metricName": metric.get("name", ""),
                           **({"metricSelector": metric["selector"]} if metric.get("selector") else {}),
                           "currentValue": current.get("value") or "0",
                           **({"currentAverageValue": current["averageValue"]} if current.get("averageValue") else {})}
    return out


def _resource_v2(kind: str, src: Obj) -> Obj:
    target: Obj = {}
    if src.get("targetAverageValue") is not None:
        target = {"type": "AverageValue", "averageValue": src["targetAverageValue"]}
    if src.get("targetAverageUtilization") is not None:
        target = {"type": "Utilization", "averageUtilization": src["targetAverageUtilization"]}
    body: Obj = {"name": src.get("name", ""), "target": target}
    if kind == "ContainerResource":
        body["container"] = src.get("container", "")
    return {"type": kind, "resource" if kind == "Resource" else "containerResource": body}


def _metric_id(name: Any, selector: Any) -> Obj:
    return {"name": name or "", **({"selector": selector} if selector else {})}


def _spec_to_v2(m: Obj) -> Obj:
    kind = m.get("type", "")
    if kind in ("Resource", "ContainerResource"):
        return _resource_v2(kind, m.get("resource" if kind == "Resource" else "containerResource") or {})
    if kind == "Pods":
        src = m.get("pods") or {}
        return {"type": kind, "pods": {"metric": _metric_id(src.get("metricName"), src.get("selector")),
                                       "target": {"type": "AverageValue",
                                                  "averageValue": src.get("targetAverageValue") or "0"}}}
    if kind == "Object":
        src = m.get("object") or {}
        target = {"type": "AverageValue", "averageValue": src["averageValue"]} if src.get("averageValue") \
            else {"type": "Value", "value": src.get("targetValue") or "0"}
        return {"type": kind, "object": {"describedObject": src.get("target") or {},
                                         "metric": _metric_id(src.get("metricName"), src.get("selector")),
                                         "target": target}}
    if kind == "External":
        src = m.get("external") or {}
        target = {"type": "AverageValue", "averageValue": src["targetAverageValue"]} \
            if src.get("targetAverageValue") else {"type": "Value", "value": src.get("targetValue") or "0"}
        return {"type": kind, "external": {"metric": _metric_id(src.get("metricName"), src.get("metricSelector")),
                                           "target": target}}
    return {"type": kind}


def _status_to_v2(m: Obj) -> Obj:
    kind = m.get("type", "")
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = m.get(key) or {}
        current: Obj = {}
        if src.get("currentAverageValue") is not None:
            current["averageValue"] = src["currentAverageValue"]
        if src.get("currentAverageUtilization") is not None:
            current["averageUtilization"] = src["currentAverageUtilization"]
        body: Obj = {"name": src.get("name", ""), "current": current}
        if kind == "ContainerResource":
            body["container"] = src.get("container", "")
        return {"type": kind, key: body}
    if kind == "Pods":
        src = m.get("pods") or {}
        return {"type": kind, "pods": {"metric": _metric_id(src.get("metricName"), src.get("selector")),
                                       "current": {"averageValue": src.get("currentAverageValue") or "0"}}}
    if kind == "Object":
        src = m.get("object") or {}
        current = {"value": src.get("currentValue") or "0",
                   **({"averageValue": src["averageValue"]} if src.get("averageValue") else {})}
        return {"type": kind, "object": {"describedObject": src.get("target") or {},
                                         "metric": _metric_id(src.get("metricName"), src.get("selector")),
                                         "current": current}}
    if kind == "External":
        src = m.get("external") or {}
        current = {"value": src.get("currentValue") or "0",
                   **({"averageValue": src["currentAverageValue"]} if src.get("currentAverageValue") else {})}
        return {"type": kind, "external": {"metric": _metric_id(src.get("metricName"), src.get("metricSelector")),
                                           "current": current}}
    return {"type": kind}
