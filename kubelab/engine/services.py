"""Service IPs and node ports: what kube-apiserver's service registry allocates.

ClusterIPs come from 10.96.0.0/12 and node ports from 30000-32767, chosen at random from the
upper part of each range as the bitmap allocators do (the lower part is kept for addresses
users ask for, like kube-dns's 10.96.0.10). A requested address or port is checked and kept;
one already taken or out of range is the API server's ``Invalid`` error.

What is allocated is read from the Services in the store (kept incrementally from its change
stream), so a request that fails after allocating, a dry run, a deletion or a type change
(NodePort -> ClusterIP frees the ports) never leaks or double-books anything.

At start-up the API server's own Services exist: ``kubernetes`` in default (10.96.0.1:443, its
endpoint the control plane's 8443) and ``kube-dns`` in kube-system (10.96.0.10).
"""
from __future__ import annotations

import ipaddress
import random
from typing import Any

from kubelab.api import errors
from kubelab.api.errors import Cause
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Engine
from kubelab.engine.store import Key, Obj, Store, key_of

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)
KUBERNETES_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"


def _range_offset(size: int, low: int, high: int, step: int) -> int:
    """How much of the low end is kept for static requests (calculateRangeOffset)."""
    return min(max(low, size // step), high)


class _Range:
    """A bitmap-like allocator over ``size`` slots: random start in the upper (dynamic) part,
    linear probe, then the lower part before giving up."""

    def __init__(self, size: int, offset: int) -> None:
        self.size = size
        self.offset = offset

    def pick(self, rng: random.Random, taken: Any) -> int | None:
        for lo, hi in ((self.offset, self.size), (0, self.offset)):
            span = hi - lo
            if span <= 0:
                continue
            start = rng.randrange(span)
            for i in range(span):
                at = lo + (start + i) % span
                if at not in taken:
                    return at
        return None


class ServiceAllocator:
    """Allocates ClusterIPs and node ports in the API server's Service admission."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self._base = int(SERVICE_CIDR.network_address) + 1  # the network address is never handed out
        size = SERVICE_CIDR.num_addresses - 2  # nor is the broadcast address
        self._ips = _Range(size, _range_offset(size, 16, 256, 16))
        low, high = NODE_PORT_RANGE
        self._ports = _Range(high - low + 1, _range_offset(high - low + 1, 16, 128, 32))
        self.ip_owner: dict[int, Key] = {}  # ip offset -> service
        self.port_owner: dict[int, Key] = {}  # node port -> service
        for svc in store.list("Service"):
            self._record(svc)
        store.subscribe(self._on_change)

    # -- what the store says is allocated ---------------------------------------------------
    def _on_change(self, event: str, obj: Obj, old: Obj | None) -> None:
        if obj.get("kind") != "Service":
            return
        if old is not None:
            self._forget(old)
        if event != "DELETED":
            self._record(obj)

    def _record(self, svc: Obj) -> None:
        key = key_of(svc)
        for at in self._ip_offsets(svc):
            self.ip_owner[at] = key
        for port in _node_ports(svc):
            self.port_owner[port] = key

    def _forget(self, svc: Obj) -> None:
        key = key_of(svc)
        for at in self._ip_offsets(svc):
            if self.ip_owner.get(at) == key:
                del self.ip_owner[at]
        for port in _node_ports(svc):
            if self.port_owner.get(port) == key:
                del self.port_owner[port]

    def _ip_offsets(self, svc: Obj) -> list[int]:
        out = []
        for ip in (svc.get("spec") or {}).get("clusterIPs") or ():
            at = self._offset(ip)
            if at is not None:
                out.append(at)
        return out

    def _offset(self, ip: str) -> int | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        at = int(addr) - self._base
        return at if addr.version == 4 and 0 <= at < self._ips.size else None

    # -- the admission hook -------------------------------------------------------------------
    def admit(self, svc: Obj, old: Obj | None, dry_run: bool) -> None:
        """Fill in (or check) the Service's ClusterIP and node ports before it is stored."""
        spec = svc.setdefault("spec", {})
        name = svc["metadata"].get("name", "")
        key = key_of(svc)
        if spec.get("type") == "ExternalName":
            return
        self._cluster_ip(spec, old, name, key)
        self._node_ports(spec, old, name, key)

    def _cluster_ip(self, spec: dict[str, Any], old: Obj | None, name: str, key: Key) -> None:
        wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
        if wanted == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        if not wanted:
            at = self._ips.pick(self.rng, self.ip_owner)
            if at is None:
                raise errors.StatusError(500, "InternalError",
                                         "Internal error occurred: failed to allocate a serviceIP: range is full")
            ip = str(ipaddress.ip_address(self._base + at))
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
            return
        spec["clusterIP"] = wanted
        spec.setdefault("clusterIPs", [wanted])
        if old is not None and wanted in ((old.get("spec") or {}).get("clusterIPs") or ()):
            return  # already this Service's
        shown = "[]string{" + ", ".join(f'"{ip}"' for ip in spec["clusterIPs"]) + "}"
        try:
            addr = ipaddress.ip_address(wanted)
        except ValueError:
            raise errors.invalid("Service", name, [Cause(
                "spec.clusterIPs[0]",
                f'Invalid value: "{wanted}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')]) from None
        at = self._offset(wanted)
        if at is None:
            why = (f"the provided IP ({addr}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}")
        elif self.ip_owner.get(at, key) != key:
            why = "provided IP is already allocated"
        else:
            return
        raise errors.invalid("Service", name, [Cause(
            "spec.clusterIPs", f"Invalid value: {shown}: failed to allocate IP {wanted}: {why}")])

    def _node_ports(self, spec: dict[str, Any], old: Obj | None, name: str, key: Key) -> None:
        kind = spec.get("type")
        auto = kind == "NodePort" or (kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True))
        if kind not in ("NodePort", "LoadBalancer"):
            return
        taken_here: set[int] = set()
        by_port: dict[Any, int] = {}
        ports = spec.get("ports") or []
        for i, port in enumerate(ports):
            if not port.get("nodePort") and not auto:
                continue
            shared = by_port.get(port.get("port"))
            if shared is None:
                requested = next((p.get("nodePort") for p in ports[i:]
                                  if p.get("port") == port.get("port") and p.get("nodePort")), 0)
                if requested:
                    self._check_port(requested, f"spec.ports[{i}].nodePort", name, key, taken_here)
                    shared = requested
                else:
                    shared = self._next_port(taken_here)
                by_port[port.get("port")] = shared
                taken_here.add(shared)
            port["nodePort"] = shared
        if kind == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
            wanted = spec.get("healthCheckNodePort")
            if wanted:
                if wanted != ((old or {}).get("spec") or {}).get("healthCheckNodePort"):
                    self._check_port(wanted, "spec.healthCheckNodePort", name, key, taken_here)
            else:
                spec["healthCheckNodePort"] = self._next_port(taken_here)

    def _check_port(self, port: int, field: str, name: str, key: Key, taken_here: set[int]) -> None:
        low, high = NODE_PORT_RANGE
        if not low <= port <= high:
            why = f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
        elif port in taken_here or self.port_owner.get(port, key) != key:
            why = "provided port is already allocated"
        else:
            return
        raise errors.invalid("Service", name, [Cause(field, f"Invalid value: {port}: {why}")])

    def _next_port(self, taken_here: set[int]) -> int:
        low = NODE_PORT_RANGE[0]
        taken = _Union(self.port_owner, taken_here, low)
        at = self._ports.pick(self.rng, taken)
        if at is None:
            raise errors.StatusError(500, "InternalError",
                                     "Internal error occurred: failed to allocate a nodePort: range is full")
        return low + at


class _Union:
    """``in`` over the store's ports plus the ones this request already took, in slot terms."""

    def __init__(self, owners: dict[int, Key], here: set[int], low: int) -> None:
        self.owners, self.here, self.low = owners, here, low

    def __contains__(self, at: int) -> bool:
        port = self.low + at
        return port in self.owners or port in self.here


def _node_ports(svc: Obj | None) -> list[int]:
    spec = (svc or {}).get("spec") or {}
    ports = [p["nodePort"] for p in spec.get("ports") or () if p.get("nodePort")]
    if spec.get("healthCheckNodePort"):
        ports.append(spec["healthCheckNodePort"])
    return ports


def _system_objects(control_plane_ip: str) -> list[Obj]:
    """The Services (and the ``kubernetes`` endpoints) a fresh minikube cluster has."""
    https = {"name": "https", "port": 8443, "protocol": "TCP"}
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": KUBERNETES_IP, "clusterIPs": [KUBERNETES_IP], "internalTrafficPolicy": "Cluster",
                  "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                  "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                  "sessionAffinity": "None", "type": "ClusterIP"},
         "status": {"loadBalancer": {}}},
        {"apiVersion": "v1", "kind": "Endpoints",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
         "subsets": [{"addresses": [{"ip": control_plane_ip}], "ports": [https]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [control_plane_ip], "conditions": {"ready": True}}],
         "ports": [https]},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system",
                      "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                 "kubernetes.io/name": "CoreDNS"}},
         "spec": {"clusterIP": DNS_IP, "clusterIPs": [DNS_IP], "internalTrafficPolicy": "Cluster",
                  "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                  "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "type": "ClusterIP"},
         "status": {"loadBalancer": {}}},
    ]


def install(engine: Engine, api: APIServer) -> None:
    """Allocate Service addresses in the API server and create the cluster's own Services."""
    allocator = ServiceAllocator(engine.store, engine.rng)
    api.add_hook("Service", allocator.admit)
    nodes = engine.store.list("Node")
    control_plane = next((n for n in nodes if "node-role.kubernetes.io/control-plane" in
                          (n["metadata"].get("labels") or {})), nodes[0] if nodes else None)
    ip = "192.168.49.2"
    if control_plane is not None:
        ip = next(a["address"] for a in control_plane["status"]["addresses"] if a["type"] == "InternalIP")
    for obj in _system_objects(ip):
        kind, ns, name = key_of(obj)
        if engine.store.get(kind, ns, name) is None:
            engine.store.create(obj)
