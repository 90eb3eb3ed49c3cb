"""The HorizontalPodAutoscaler controller, as kube-controller-manager's podautoscaler runs it.

Mirrors horizontal.go (reconcileAutoscaler, computeReplicasForMetrics, the normalization with
and without ``behavior``, setCondition/setStatus) and replica_calculator.go
(GetResourceReplicas, groupPods, calculatePodRequests, GetResourceUtilizationRatio): every
HPA is looked at every 15 seconds (its rate-limited work queue: a new or changed HPA waits for
the next turn too), with a tolerance of 0.1, a CPU initialization period of 5 minutes, 30
seconds of initial readiness delay, and a 5-minute downscale stabilization window. It reads
metrics-server's PodMetrics and scales through the scale subresource. Conditions, events and
their texts are the controller's own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from kubelab.api import errors
from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind, for_object
from kubelab.api.quantity import amount, format_quantity
from kubelab.api.selectors import from_label_selector
from kubelab.api.tables import parse_time
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.store import Key, Obj, key_of

SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
DOWNSCALE_STABILIZATION = 300  # --horizontal-pod-autoscaler-downscale-stabilization (seconds)
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4


class MetricError(Exception):
    """A metric that could not be computed, with the ScalingActive condition it sets."""

    def __init__(self, message: str, condition: tuple[str, str, str, str] | None = None) -> None:
        super().__init__(message)
        self.condition = condition


@dataclass
class _Recommendation:
    replicas: int
    at: float


@dataclass
class _ScaleEvent:
    change: int
    at: float
    outdated: bool = False


class HorizontalController(Controller):
    watches = ("HorizontalPodAutoscaler",)

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "horizontal-pod-autoscaler")
        self._timers: dict[Key, Timer] = {}
        self._recommendations: dict[Key, list[_Recommendation]] = {}
        self._scale_ups: dict[Key, list[_ScaleEvent]] = {}
        self._scale_downs: dict[Key, list[_ScaleEvent]] = {}

    # -- the rate-limited queue: every HPA once per sync period -----------------------------
    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        key = key_of(obj)
        if event == "DELETED":
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            for table in (self._recommendations, self._scale_ups, self._scale_downs):
                table.pop(key, None)
        elif key not in self._timers:
            self._schedule(key)
        return ()

    def _schedule(self, key: Key) -> None:
        def turn() -> None:
            self._schedule(key)
            self.enqueue(key)
        self._timers[key] = self.clock.call_later(SYNC_PERIOD, turn, progress=False)

    # -- reconcileAutoscaler ----------------------------------------------------------------
    def reconcile(self, key: Key) -> None:
        stored = self.store.get(*key)
        if stored is None or stored["metadata"].get("deletionTimestamp"):
            return
        hpa = {**stored, "spec": stored.get("spec") or {}, "status": dict(stored.get("status") or {})}
        hpa["status"]["conditions"] = [dict(c) for c in hpa["status"].get("conditions") or []]
        spec, status = hpa["spec"], hpa["status"]
        ref = spec.get("scaleTargetRef") or {}
        try:
            target, kind = self._scale_target(hpa)
        except StatusError as err:
            self._condition(hpa, "AbleToScale", "False", "FailedGetScale",
                            f"the HPA controller was unable to get the target's current scale: {err.message}")
            self.events.warning(stored, "FailedGetScale", err.message)
            self._write(stored, hpa)
            return
        self._condition(hpa, "AbleToScale", "True", "SucceededGetScale",
                        "the HPA controller was able to get the target's current scale")
        current = int((target.get("spec") or {}).get("replicas", 1))
        self._recommendations.setdefault(key, [_Recommendation(current, self.clock.now())])
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        reason = ""
        metric_statuses: list[Obj] = list(status.get("currentMetrics") or [])
        desired = 0
        rescale = True
        if current == 0 and low != 0:
            rescale = False
            self._condition(hpa, "ScalingActive", "False", "ScalingDisabled",
                            "scaling is disabled since the replica count of the target is zero")
        elif current > high:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", high
        elif current < low:
            reason, desired = "Current number of replicas below Spec.MinReplicas", low
        else:
            proposal, metric, metric_statuses, error = self._replicas_for_metrics(hpa, target, kind, current)
            if proposal == -1:
                self._set_status(hpa, current, status.get("desiredReplicas", 0), metric_statuses, False)
                self._write(stored, hpa)
                self.events.warning(stored, "FailedComputeMetricsReplicas", error)
                return
            desired = max(desired, proposal)
            if desired > current:
                reason = f"{metric} above target"
            if desired < current:
                reason = "All metrics below target"
            if spec.get("behavior") is None:
                desired = self._normalize(hpa, key, current, desired, low)
            else:
                desired = self._normalize_with_behaviors(hpa, key, current, desired, low)
            rescale = desired != current
        if rescale:
            try:
                self.api.scale(kind.kind, ref["name"], key[1], desired)
            except StatusError as err:
                self._condition(hpa, "AbleToScale", "False", "FailedUpdateScale",
                                f"the HPA controller was unable to update the target scale: {err.message}")
                self.events.warning(stored, "FailedRescale", f"New size: {desired}; reason: {reason}; error: {err.message}")
                self._set_status(hpa, current, status.get("desiredReplicas", 0), metric_statuses, False)
                self._write(stored, hpa)
                return
            self._condition(hpa, "AbleToScale", "True", "SucceededRescale",
                            f"the HPA controller was able to update the target scale to {desired}")
            self.events.normal(stored, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            self._store_scale_event(hpa, key, current, desired)
        else:
            desired = current
        self._set_status(hpa, current, desired, metric_statuses, rescale)
        self._write(stored, hpa)

    def _scale_target(self, hpa: Obj) -> tuple[Obj, Kind]:
        """The scale subresource's view of the target (its kind must have one)."""
        ref = hpa["spec"].get("scaleTargetRef") or {}
        try:
            kind = for_object(ref.get("apiVersion", ""), ref.get("kind", ""))
        except StatusError:
            raise errors.not_found(ref.get("kind", "").lower() + "s", ref.get("name", ""))
        if not kind.scale:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        return self.api.get(kind.kind, ref.get("name", ""), hpa["metadata"]["namespace"]), kind

    # -- computeReplicasForMetrics ------------------------------------------------------------
    def _replicas_for_metrics(self, hpa: Obj, target: Obj, kind: Kind, current: int
                              ) -> tuple[int, str, list[Obj], str]:
        specs = hpa["spec"].get("metrics") or []
        statuses: list[Obj] = [{"type": ""} for _ in specs]
        replicas, metric = 0, ""
        invalid, first_error, first_condition = 0, "", None
        selector = from_label_selector((target.get("spec") or {}).get("selector"))
        for i, spec in enumerate(specs):
            try:
                proposal, name, statuses[i] = self._replicas_for_metric(hpa, spec, current, selector)
            except MetricError as err:
                if invalid == 0:
                    first_error, first_condition = str(err), err.condition
                invalid += 1
                continue
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        error = ""
        if first_error:
            error = f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first_error}"
        if invalid >= len(specs) or (invalid > 0 and replicas < current):
            if first_condition is not None:
                self._condition(hpa, *first_condition)
            return -1, "", statuses, error
        self._condition(hpa, "ScalingActive", "True", "ValidMetricFound",
                        f"the HPA was able to successfully calculate a replica count from {metric}")
        return replicas, metric, statuses, error

    def _replicas_for_metric(self, hpa: Obj, spec: Obj, current: int, selector: Any) -> tuple[int, str, Obj]:
        kind = spec.get("type", "")
        if kind not in ("Resource", "ContainerResource"):
            message = f"unable to get {kind.lower()} metric: metrics API not available"
            self.events.warning(hpa, f"FailedGet{kind}Metric", message)
            raise MetricError(message, ("ScalingActive", "False", f"FailedGet{kind}Metric",
                                        f"the HPA was unable to compute the replica count: {message}"))
        key = "resource" if kind == "Resource" else "containerResource"
        source = spec.get(key) or {}
        resource, container = source.get("name", ""), source.get("container", "")
        target = source.get("target") or {}
        reason = "FailedGetResourceMetric" if kind == "Resource" else "FailedGetContainerResourceMetric"
        try:
            if target.get("averageValue") is not None:
                proposal, raw = self._plain_resource_replicas(hpa, current, amount_milli(resource, target["averageValue"]),
                                                              resource, selector, container)
                current_value: Obj = {"averageValue": _milli(raw)}
                name = f"{resource} resource"
            elif target.get("averageUtilization") is not None:
                proposal, utilization, raw = self._resource_replicas(hpa, current, int(target["averageUtilization"]),
                                                                     resource, selector, container)
                current_value = {"averageUtilization": utilization, "averageValue": _milli(raw)}
                name = f"{resource} resource utilization (percentage of request)"
                if container:
                    name = f"{resource} container resource utilization (percentage of request)"
            else:
                message = ("invalid resource metric source: neither an average utilization target nor an "
                           "average value (usage) target was set")
                raise MetricError(message, ("ScalingActive", "False", reason,
                                            f"the HPA was unable to compute the replica count: {message}"))
        except MetricError as err:
            if err.condition is not None:
                raise MetricError(f"failed to get {resource} resource metric value: {err}", err.condition)
            text = f"failed to get {resource} utilization: {err}"
            self.events.warning(hpa, reason, text)
            raise MetricError(f"failed to get {resource} resource metric value: {text}",
                              ("ScalingActive", "False", reason,
                               f"the HPA was unable to compute the replica count: {text}"))
        status = {"type": kind, key: {"name": resource, **({"container": container} if container else {}),
                                      "current": current_value}}
        return proposal, name, status

    # -- replica_calculator.go ----------------------------------------------------------------
    def _pod_metrics(self, namespace: str, selector: Any, resource: str, container: str) -> dict[str, tuple[int, float, float]]:
        """GetResourceMetric: pod name -> (milli-value, timestamp, window seconds)."""
        found: dict[str, tuple[int, float, float]] = {}
        try:
            listed = self.api.list("PodMetrics", namespace)["items"]
        except StatusError as err:
            raise MetricError(str(err))
        for m in listed:
            if not selector.matches(m["metadata"].get("labels")):
                continue
            total, missing = 0, False
            for c in m.get("containers") or ():
                if container and c.get("name") != container:
                    continue
                value = (c.get("usage") or {}).get(resource)
                if value is None:
                    missing = True
                    break
                total += amount_milli(resource, value)
            if not missing:
                window = float(str(m.get("window", "15s")).rstrip("s") or 15)
                found[m["metadata"]["name"]] = (total, parse_time(m.get("timestamp")) or 0.0, window)
        if not found:
            raise MetricError("no metrics returned from resource metrics API")
        return found

    def _pods(self, namespace: str, selector: Any) -> list[Obj]:
        pods = [p for p in self.store.list("Pod", namespace) if selector.matches(p["metadata"].get("labels"))]
        if not pods:
            raise MetricError("no pods returned by selector while calculating replica count")
        return pods

    def _resource_replicas(self, hpa: Obj, current: int, target: int, resource: str, selector: Any,
                           container: str) -> tuple[int, int, int]:
        """GetResourceReplicas: (replicas, utilization %, raw milli-value per pod)."""
        namespace = hpa["metadata"]["namespace"]
        try:
            metrics = self._pod_metrics(namespace, selector, resource, container)
        except MetricError as err:
            raise MetricError(f"unable to get metrics for resource {resource}: {err}")
        pods = self._pods(namespace, selector)
        ready, unready, missing, ignored = self._group_pods(pods, metrics, resource)
        values = {name: m[0] for name, m in metrics.items() if name not in ignored and name not in unready}
        requests = _pod_requests(pods, container, resource)
        if not values:
            raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
        ratio, utilization, raw = _utilization_ratio(values, requests, target)
        scale_up_with_unready = bool(unready) and ratio > 1.0
        if not scale_up_with_unready and not missing:
            if abs(1.0 - ratio) <= TOLERANCE:
                return current, utilization, raw
            return math.ceil(ratio * ready), utilization, raw
        if missing:
            if ratio < 1.0:  # on a scale-down, missing pods count as using their request (or the target)
                fallback = max(100, target)
                for name in missing:
                    values[name] = requests.get(name, 0) * fallback // 100
            elif ratio > 1.0:  # on a scale-up, as using nothing
                for name in missing:
                    values[name] = 0
        if scale_up_with_unready:
            for name in unready:
                values[name] = 0
        new_ratio, _, _ = _utilization_ratio(values, requests, target)
        if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
            return current, utilization, raw
        proposal = math.ceil(new_ratio * len(values))
        if (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current):
            return current, utilization, raw
        return proposal, utilization, raw

    def _plain_resource_replicas(self, hpa: Obj, current: int, target: int, resource: str, selector: Any,
                                 container: str) -> tuple[int, int]:
        """GetRawResourceReplicas: an average value target, through calcPlainMetricReplicas."""
        namespace = hpa["metadata"]["namespace"]
        try:
            metrics = self._pod_metrics(namespace, selector, resource, container)
        except MetricError as err:
            raise MetricError(f"unable to get metrics for resource {resource}: {err}")
        pods = self._pods(namespace, selector)
        ready, unready, missing, ignored = self._group_pods(pods, metrics, resource)
        values = {name: m[0] for name, m in metrics.items() if name not in ignored and name not in unready}
        if not values:
            raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
        ratio = sum(values.values()) / len(values) / target
        raw = sum(values.values()) // len(values)
        scale_up_with_unready = bool(unready) and ratio > 1.0
        if not scale_up_with_unready and not missing:
            if abs(1.0 - ratio) <= TOLERANCE:
                return current, raw
            return math.ceil(ratio * ready), raw
        for name in missing:
            values[name] = target if ratio < 1.0 else 0
        if scale_up_with_unready:
            for name in unready:
                values[name] = 0
        new_ratio = sum(values.values()) / len(values) / target
        if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
            return current, raw
        proposal = math.ceil(new_ratio * len(values))
        if (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current):
            return current, raw
        return proposal, raw

    def _group_pods(self, pods: list[Obj], metrics: dict[str, tuple[int, float, float]], resource: str
                    ) -> tuple[int, set[str], set[str], set[str]]:
        """groupPods: (ready count, unready, missing, ignored)."""
        now = self.clock.now()
        ready, unready, missing, ignored = 0, set(), set(), set()
        for pod in pods:
            name, status = pod["metadata"]["name"], pod.get("status") or {}
            if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
                ignored.add(name)
                continue
            if status.get("phase") == "Pending":
                unready.add(name)
                continue
            metric = metrics.get(name)
            if metric is None:
                missing.add(name)
                continue
            if resource == "cpu":
                condition = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
                start = parse_time(status.get("startTime"))
                if condition is None or start is None:
                    not_ready = True
                else:
                    changed = parse_time(condition.get("lastTransitionTime")) or 0.0
                    if start + CPU_INITIALIZATION_PERIOD > now:
                        not_ready = condition.get("status") == "False" or metric[1] < changed + metric[2]
                    else:
                        not_ready = condition.get("status") == "False" and start + INITIAL_READINESS_DELAY > changed
                if not_ready:
                    unready.add(name)
                    continue
            ready += 1
        return ready, unready, missing, ignored

    # -- normalization --------------------------------------------------------------------------
    def _normalize(self, hpa: Obj, key: Key, current: int, desired: int, low: int) -> int:
        """normalizeDesiredReplicas: no ``behavior``, the controller's own limits."""
        now = self.clock.now()
        stabilized = desired
        history = self._recommendations.setdefault(key, [])
        old = None
        for i, rec in enumerate(history):
            if rec.at < now - DOWNSCALE_STABILIZATION:
                old = i
            elif rec.replicas > stabilized:
                stabilized = rec.replicas
        if old is not None:
            history[old] = _Recommendation(desired, now)
        else:
            history.append(_Recommendation(desired, now))
        if stabilized != desired:
            self._condition(hpa, "AbleToScale", "True", "ScaleDownStabilized",
                            "recent recommendations were higher than current one, applying the highest recent "
                            "recommendation")
        else:
            self._condition(hpa, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        high = int(hpa["spec"].get("maxReplicas", 1))
        up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if high > up_limit:
            allowed, reason, message = up_limit, "ScaleUpLimit", \
                "the desired replica count is increasing faster than the maximum scale rate"
        else:
            allowed, reason, message = high, "TooManyReplicas", \
                "the desired replica count is more than the maximum replica count"
        if stabilized < low:
            result, reason, message = low, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        elif stabilized > allowed:
            result = allowed
        else:
            result, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
        self._condition(hpa, "ScalingLimited", "False" if result == stabilized else "True", reason, message)
        return result

    def _normalize_with_behaviors(self, hpa: Obj, key: Key, current: int, desired: int, low: int) -> int:
        """normalizeDesiredReplicasWithBehaviors: stabilization windows, then the policies' rate."""
        behavior = hpa["spec"]["behavior"]
        up, down = behavior.get("scaleUp") or {}, behavior.get("scaleDown") or {}
        up_window = up.get("stabilizationWindowSeconds", 0) or 0
        down_window = down.get("stabilizationWindowSeconds")
        down_window = DOWNSCALE_STABILIZATION if down_window is None else down_window
        now = self.clock.now()
        up_rec, down_rec = desired, desired
        up_cut, down_cut = now - up_window, now - down_window
        history = self._recommendations.setdefault(key, [])
        old = None
        for i, rec in enumerate(history):
            if rec.at > up_cut:
                up_rec = min(rec.replicas, up_rec)
            if rec.at > down_cut:
                down_rec = max(rec.replicas, down_rec)
            if rec.at < up_cut and rec.at < down_cut:
                old = i
        stabilized = min(max(current, up_rec), down_rec)
        if old is not None:
            history[old] = _Recommendation(desired, now)
        else:
            history.append(_Recommendation(desired, now))
        if stabilized != desired:
            if desired >= current:
                self._condition(hpa, "AbleToScale", "True", "ScaleUpStabilized",
                                "recent recommendations were lower than current one, applying the lowest recent "
                                "recommendation")
            else:
                self._condition(hpa, "AbleToScale", "True", "ScaleDownStabilized",
                                "recent recommendations were higher than current one, applying the highest recent "
                                "recommendation")
        else:
            self._condition(hpa, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        result, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
        high = int(hpa["spec"].get("maxReplicas", 1))
        ups, downs = self._scale_ups.get(key, []), self._scale_downs.get(key, [])
        if stabilized > current:
            limit = max(_scale_up_limit(current, ups, downs, up, now), current)
            if high > limit:
                allowed, reason, message = limit, "ScaleUpLimit", \
                    "the desired replica count is increasing faster than the maximum scale rate"
            else:
                allowed, reason, message = high, "TooManyReplicas", \
                    "the desired replica count is more than the maximum replica count"
            if stabilized > allowed:
                result = allowed
            else:
                reason, message = "DesiredWithinRange", "the desired count is within the acceptable range"
        elif stabilized < current:
            limit = min(_scale_down_limit(current, ups, downs, down, now), current)
            if low < limit:
                allowed, reason, message = limit, "ScaleDownLimit", \
                    "the desired replica count is decreasing faster than the maximum scale rate"
            else:
                allowed, reason, message = low, "TooFewReplicas", \
                    "the desired replica count is less than the minimum replica count"
            if stabilized < allowed:
                result = allowed
            else:
                reason, message = "DesiredWithinRange", "the desired count is within the acceptable range"
        self._condition(hpa, "ScalingLimited", "False" if result == stabilized else "True", reason, message)
        return result

    def _store_scale_event(self, hpa: Obj, key: Key, before: int, after: int) -> None:
        """storeScaleEvent: only with ``behavior``; events older than the longest policy period
        are marked outdated."""
        behavior = hpa["spec"].get("behavior")
        if behavior is None:
            return
        now = self.clock.now()
        rules = behavior.get("scaleUp" if after > before else "scaleDown") or {}
        longest = max((p.get("periodSeconds", 0) for p in rules.get("policies") or ()), default=0)
        events = (self._scale_ups if after > before else self._scale_downs).setdefault(key, [])
        for e in events:
            if e.at < now - longest:
                e.outdated = True
        events[:] = [e for e in events if not e.outdated]
        events.append(_ScaleEvent(abs(after - before), now))

    # -- status ---------------------------------------------------------------------------------
    def _condition(self, hpa: Obj, type_: str, status: str, reason: str, message: str) -> None:
        """setCondition: the transition time moves only when the status changes."""
        conditions = hpa["status"].setdefault("conditions", [])
        now = self.clock.timestamp()
        for c in conditions:
            if c["type"] == type_:
                if c.get("status") != status:
                    c["lastTransitionTime"] = now
                c.update(status=status, reason=reason, message=message)
                return
        conditions.append({"type": type_, "status": status, "lastTransitionTime": now,
                           "reason": reason, "message": message})

    def _set_status(self, hpa: Obj, current: int, desired: int, metrics: list[Obj], rescale: bool) -> None:
        old = hpa["status"]
        status: Obj = {"currentReplicas": current, "desiredReplicas": desired}
        if old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        if rescale:
            status["lastScaleTime"] = self.clock.timestamp()
        if metrics:
            status["currentMetrics"] = metrics
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        hpa["status"] = status

    def _write(self, stored: Obj, hpa: Obj) -> None:
        """updateStatusIfNeeded: only a changed status is written."""
        if hpa["status"] != stored.get("status"):
            current = self.store.get(*key_of(stored))
            if current is not None:
                self.store.update({**current, "status": hpa["status"]}, status=True)


def amount_milli(resource: str, value: Any) -> int:
    """A quantity's MilliValue (CPU millicores, memory milli-bytes), as the metrics client reads it."""
    return amount("cpu", value) if resource == "cpu" else amount("memory", value) * 1000


def _milli(value: int) -> str:
    """resource.NewMilliQuantity(value, DecimalSI).String()."""
    from fractions import Fraction

    return format_quantity(Fraction(value, 1000))


def _pod_requests(pods: list[Obj], container: str, resource: str) -> dict[str, int]:
    """calculatePodRequests: every container (and restartable init container) must request it."""
    requests: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or []) + [
            c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            value = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if value is None:
                raise MetricError(f"missing request for {resource} in container {c.get('name')} of Pod "
                                  f"{pod['metadata']['name']}")
            total += amount_milli(resource, value)
        requests[pod["metadata"]["name"]] = total
    return requests


def _utilization_ratio(values: dict[str, int], requests: dict[str, int], target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio to target, utilization %, raw average)."""
    used = total = count = 0
    for name, value in values.items():
        if name in requests:
            used, total, count = used + value, total + requests[name], count + 1
    if total == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = used * 100 // total
    return utilization / target, utilization, used // count


def _change_in_period(period: int, events: list[_ScaleEvent], now: float) -> int:
    """getReplicasChangePerPeriod."""
    return sum(e.change for e in events if e.at > now - period and not e.outdated)


def _scale_up_limit(current: int, ups: list[_ScaleEvent], downs: list[_ScaleEvent], rules: Obj, now: float) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or ():
        start = current - _change_in_period(policy["periodSeconds"], ups, now) + \
            _change_in_period(policy["periodSeconds"], downs, now)
        if policy["type"] == "Pods":
            proposals.append(start + policy["value"])
        else:
            proposals.append(math.ceil(start * (1 + policy["value"] / 100)))
    if not proposals:
        return current
    return min(proposals) if select == "Min" else max(proposals)


def _scale_down_limit(current: int, ups: list[_ScaleEvent], downs: list[_ScaleEvent], rules: Obj, now: float) -> int:
    """calculateScaleDownLimitWithBehaviors."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or ():
        start = current - _change_in_period(policy["periodSeconds"], ups, now) + \
            _change_in_period(policy["periodSeconds"], downs, now)
        if policy["type"] == "Pods":
            proposals.append(start - policy["value"])
        else:
            proposals.append(int(start * (1 - policy["value"] / 100)))
    if not proposals:
        return current
    return max(proposals) if select == "Min" else min(proposals)


def install(engine: Engine, api: APIServer) -> HorizontalController:
    """Run the HPA controller in this engine."""
    return engine.add(HorizontalController(engine, api))  # type: ignore[return-value]
