"""Endpoints and EndpointSlices: which pods a Service sends traffic to.

For every Service with a selector, the endpoint controller keeps an Endpoints object of the
same name (ready pods in ``addresses``, the rest in ``notReadyAddresses``, ports resolved from
``targetPort``, named ports included) and the EndpointSlice controller keeps
``discovery.k8s.io/v1`` slices labelled ``kubernetes.io/service-name`` (with ready / serving /
terminating conditions, terminating pods included).
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from kubelab.api.selectors import from_map
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.owners import controller_ref
from kubelab.engine.replicaset import is_pod_ready
from kubelab.engine.store import Key, Obj, key_of

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
MAX_ENDPOINTS_PER_SLICE = 100


def _has_ip(pod: Obj) -> bool:
    return bool((pod.get("status") or {}).get("podIP"))


def _finished(pod: Obj) -> bool:
    """A pod that will not run again does not serve (endpointsutil.ShouldPodBeInEndpoints)."""
    phase = (pod.get("status") or {}).get("phase")
    policy = pod["spec"].get("restartPolicy", "Always")
    return (policy == "Never" and phase in ("Failed", "Succeeded")) or (policy == "OnFailure" and phase == "Succeeded")


def resolve_port(pod: Obj, port: Obj) -> int | None:
    """The container port a Service port reaches on ``pod`` (podutil.FindPort)."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = port.get("protocol", "TCP")
    for container in pod["spec"].get("containers") or ():
        for cport in container.get("ports") or ():
            if cport.get("name") == target and cport.get("protocol", "TCP") == protocol:
                return int(cport["containerPort"])
    return None


def _target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}


class EndpointsController(Controller):
    """The endpoint controller and the EndpointSlice controller: both follow the same pods."""

    watches = ("Service", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Service":
            return (key_of(obj),)
        # No extra throttle: the engine already folds a burst of pod changes into one sync,
        # and the real endpoints controller publishes readiness changes at once.
        ns = obj["metadata"].get("namespace", "")
        labels = [obj["metadata"].get("labels")] + ([old["metadata"].get("labels")] if old else [])
        return [key_of(svc) for svc in self.store.list("Service", ns)
                if (selector := (svc.get("spec") or {}).get("selector"))
                and any(from_map(selector).matches(lab) for lab in labels)]

    def reconcile(self, key: Key) -> None:
        _, ns, name = key
        svc = self.store.get(*key)
        if svc is None or not (svc.get("spec") or {}).get("selector"):
            if svc is None and self.store.get("Endpoints", ns, name) is not None:
                self.store.remove("Endpoints", ns, name)
            return
        selector = svc["spec"]["selector"]
        pods = [p for p in self.store.with_labels("Pod", ns, selector) if _has_ip(p) and not _finished(p)]
        pods.sort(key=lambda p: (p["status"]["podIP"], p["metadata"]["name"]))
        self._sync_endpoints(svc, pods)
        self._sync_slices(svc, pods)

    # -- core/v1 Endpoints -------------------------------------------------------------------
    def _sync_endpoints(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        publish = bool(svc["spec"].get("publishNotReadyAddresses"))
        ports = svc["spec"].get("ports") or []
        groups: dict[tuple, dict[str, list]] = {}
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp"):
                continue
            resolved = []
            for port in ports:
                number = resolve_port(pod, port)
                if number is None:
                    continue
                ep: Obj = {"port": number, "protocol": port.get("protocol", "TCP")}
                if port.get("name"):
                    ep = {"name": port["name"], **ep}
                if port.get("appProtocol"):
                    ep["appProtocol"] = port["appProtocol"]
                resolved.append(ep)
            if ports and not resolved:
                continue
            address: Obj = {"ip": pod["status"]["podIP"]}
            if pod["spec"].get("hostname") and pod["spec"].get("subdomain") == name:
                address["hostname"] = pod["spec"]["hostname"]
            if pod["spec"].get("nodeName"):
                address["nodeName"] = pod["spec"]["nodeName"]
            address["targetRef"] = _target_ref(pod)
            group = groups.setdefault(tuple(sorted(tuple(sorted(p.items())) for p in resolved)),
                                      {"ports": resolved, "addresses": [], "notReadyAddresses": []})
            group["addresses" if publish or is_pod_ready(pod) else "notReadyAddresses"].append(address)
        subsets = []
        for group in groups.values():
            subset: Obj = {}
            for field in ("addresses", "notReadyAddresses"):
                if group[field]:
                    subset[field] = sorted(group[field], key=lambda a: a["ip"])
            if group["ports"]:
                subset["ports"] = sorted(group["ports"], key=lambda p: (p.get("name", ""), p["port"]))
            subsets.append(subset)
        subsets.sort(key=lambda s: json_key(s.get("ports")))
        labels = dict(svc["metadata"].get("labels") or {})
        if svc["spec"].get("clusterIP") == "None":
            labels[HEADLESS] = ""
        current = self.store.get("Endpoints", ns, name)
        if current is not None and current.get("subsets", []) == subsets and \
                (current["metadata"].get("labels") or {}) == labels:
            return
        endpoints: Obj = copy.deepcopy(current) if current else {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}}
        if labels:
            endpoints["metadata"]["labels"] = labels
        else:
            endpoints["metadata"].pop("labels", None)
        endpoints["metadata"]["annotations"] = {
            **(endpoints["metadata"].get("annotations") or {}), TRIGGER_TIME: self.clock.timestamp()}
        if subsets:
            endpoints["subsets"] = subsets
        else:
            endpoints.pop("subsets", None)
        if current is None:
            self.store.create(endpoints)
        else:
            self.store.update(endpoints)

    # -- discovery.k8s.io/v1 EndpointSlices --------------------------------------------------
    def _sync_slices(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        ports = svc["spec"].get("ports") or []
        by_ports: dict[tuple, tuple[list, list]] = {}
        for pod in pods:
            resolved = []
            for port in ports:
                number = resolve_port(pod, port)
                if number is not None:
                    resolved.append({"name": port.get("name", ""), "port": number,
                                     "protocol": port.get("protocol", "TCP"),
                                     **({"appProtocol": port["appProtocol"]} if port.get("appProtocol") else {})})
            if ports and not resolved:
                continue
            terminating = bool(pod["metadata"].get("deletionTimestamp"))
            ready = is_pod_ready(pod)
            endpoint: Obj = {"addresses": [pod["status"]["podIP"]],
                             "conditions": {"ready": ready and not terminating, "serving": ready,
                                            "terminating": terminating}}
            if pod["spec"].get("hostname") and pod["spec"].get("subdomain") == name:
                endpoint["hostname"] = pod["spec"]["hostname"]
            if pod["spec"].get("nodeName"):
                endpoint["nodeName"] = pod["spec"]["nodeName"]
            endpoint["targetRef"] = _target_ref(pod)
            entry = by_ports.setdefault(json_key(resolved), (resolved, []))
            entry[1].append(endpoint)
        desired = []
        for resolved, endpoints in (by_ports[k] for k in sorted(by_ports)):
            for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
                desired.append((resolved, endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
        if not desired:
            desired.append(([], []))  # a Service with no endpoints still has one (empty) slice
        uid = svc["metadata"]["uid"]
        existing = sorted((o for o in self.store.owned_by(uid) if o["kind"] == "EndpointSlice"),
                          key=lambda o: (o["metadata"].get("creationTimestamp", ""), o["metadata"]["name"]))
        labels = {**(svc["metadata"].get("labels") or {}), SERVICE_NAME: name, MANAGED_BY: SLICE_CONTROLLER}
        if svc["spec"].get("clusterIP") == "None":
            labels[HEADLESS] = ""
        for i, (resolved, endpoints) in enumerate(desired):
            body = {"addressType": "IPv4", "endpoints": endpoints or None, "ports": resolved or None}
            if i < len(existing):
                current = existing[i]
                if all(current.get(k) == v for k, v in body.items()) and current["metadata"].get("labels") == labels:
                    continue
                updated = {**copy.deepcopy(current), **copy.deepcopy(body)}
                updated["metadata"]["labels"] = labels
                self.store.update(updated)
                continue
            self.api.create({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                             "metadata": {"generateName": f"{name}-", "namespace": ns, "labels": labels,
                                          "ownerReferences": [controller_ref(svc)]},
                             **copy.deepcopy(body)})
        for extra in existing[len(desired):]:
            self.store.remove("EndpointSlice", ns, extra["metadata"]["name"])


def json_key(value: Any) -> tuple:
    """A sortable, hashable form of a list of port dicts."""
    return tuple(tuple(sorted(p.items())) for p in value or ())


def install(engine: Engine, api: APIServer) -> None:
    """Run the endpoint and EndpointSlice controllers in this engine."""
    engine.add(EndpointsController(engine, api))
