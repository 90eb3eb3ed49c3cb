"""The cluster network, simulated in-process: pod IPs, cluster DNS, kube-proxy routing.

Pod IPs come from each node's ``spec.podCIDR``; names resolve as CoreDNS resolves them for a
pod (``svc``, ``svc.ns``, ``svc.ns.svc.cluster.local`` through the resolv.conf search path,
``ndots:5``); a connection to a ClusterIP or a ``nodeIP:nodePort`` goes to one of the
Service's ready endpoints, picked at random as kube-proxy's iptables rules do. Nothing here
touches a real socket. Each Service keeps a short log of which pod answered which request,
so diagrams can show where traffic went.
"""
from __future__ import annotations

import ipaddress
import re
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, NamedTuple
from urllib.parse import urlsplit

from kubelab.engine import netpol
from kubelab.engine.store import Obj, Store

CLUSTER_DOMAIN = "cluster.local"
DNS_SERVER = "10.96.0.10"  # kube-dns' ClusterIP on kubeadm and minikube clusters
POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")
SERVICE_NETWORK = ipaddress.ip_network("10.96.0.0/12")
CONNECT_TIMEOUT = 130.0  # Linux gives up a TCP connect after ~2 minutes of retries
RECENT = 50
OUTSIDE_IP = "192.168.49.1"  # minikube's host on the cluster's network: where outside requests come from
DNS_TIMEOUT = 10.0  # the resolver's 5 s timeout, 2 attempts, when no answer comes back
MAX_CNAMES = 8  # CoreDNS stops following in-cluster CNAMEs after this many (or a repeat)


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    client_ip: str
    body: str = ""


@dataclass
class HttpResponse:
    status: int
    body: str
    reason: str = ""
    content_type: str = "text/plain"
    wait: float = 0.0  # seconds the server took before answering (a proxy's connect timeout)

    def __post_init__(self) -> None:
        self.reason = self.reason or REASONS.get(self.status, "")


REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}

Handler = Callable[[HttpRequest], HttpResponse]


@dataclass
class Sandbox:
    """A pod's network namespace: its IP and the ports its containers listen on.
    ``listeners[port]`` is an HTTP handler, or None for a plain TCP server."""

    ip: str
    namespace: str
    pod: str
    node: str
    listeners: dict[int, Handler | None] = field(default_factory=dict)


class Route(NamedTuple):
    """One request that went through a Service: who asked, which pod answered."""

    time: float
    client: str
    via: str  # "ClusterIP", "NodePort" or "Ingress"
    pod: str
    pod_ip: str
    port: int
    status: int | None


class Reply(NamedTuple):
    status: int
    body: str
    served_by: str | None  # "namespace/pod"


class Answer(NamedTuple):
    """What the cluster DNS answers for a name: the name that matched, the CNAMEs followed from
    it (an ExternalName Service is one), and the address (None when the chain leaves the
    cluster, which the simulation cannot resolve, or loops)."""

    fqdn: str
    cnames: tuple[tuple[str, str], ...]
    ip: str | None


class ConnectError(Exception):
    """What a client sees when a connection fails (``Connection refused`` ...)."""

    def __init__(self, message: str, host: str = "", ip: str = "", port: int = 0) -> None:
        super().__init__(message)
        self.message, self.host, self.ip, self.port = message, host, ip, port


@dataclass
class Fetch:
    """The outcome of one HTTP GET, with what wget/curl print about it."""

    host: str
    port: int
    authority: str
    path: str
    ip: str = ""
    status: int = 0
    reason: str = ""
    body: str = ""
    error: str | None = None
    wait: float = 0.0
    served_by: str | None = None


class Network:
    def __init__(self, store: Store, rng: Any) -> None:
        self.store = store
        self.rng = rng
        self.sandboxes: dict[str, Sandbox] = {}
        self._used: dict[str, set[str]] = {}  # node -> IPs in use
        self._next: dict[str, int] = {}  # node -> next host number to try (host-local IPAM)
        self._routes: dict[tuple[str, str], deque[Route]] = {}
        self._resolv: dict[str, str] = {}  # namespace -> /etc/resolv.conf
        # What listens on every node IP besides node ports (the ingress controller's 80/443).
        self.node_listeners: dict[int, Handler] = {}

    # -- IP addresses ------------------------------------------------------------------------
    def pod_cidr(self, node: str) -> ipaddress.IPv4Network:
        obj = self.store.get("Node", "", node)
        cidr = (obj or {}).get("spec", {}).get("podCIDR")
        if cidr:
            return _network(cidr)
        names = sorted(n["metadata"]["name"] for n in self.store.list("Node", ""))
        index = names.index(node) if node in names else len(names)
        return _network(f"10.244.{index}.0/24")

    def allocate(self, node: str) -> str:
        """The next free address of the node's pod CIDR, handed out in turn as the
        host-local IPAM plugin does (.1 is the bridge gateway)."""
        net = self.pod_cidr(node)
        used = self._used.setdefault(node, set())
        size = net.num_addresses - 2
        start = self._next.get(node, 2)
        for i in range(size):
            host = 2 + (start - 2 + i) % (size - 1)
            ip = str(net.network_address + host)
            if ip not in used:
                used.add(ip)
                self._next[node] = host + 1
                return ip
        raise RuntimeError(f"no IP addresses left in {net} on node {node}")

    def release(self, node: str, ip: str) -> None:
        self._used.get(node, set()).discard(ip)
        self.sandboxes.pop(ip, None)

    def attach(self, sandbox: Sandbox) -> None:
        self.sandboxes[sandbox.ip] = sandbox

    # -- DNS -----------------------------------------------------------------------------------
    def search_path(self, namespace: str) -> list[str]:
        return [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]

    def resolv_conf(self, namespace: str) -> str:
        """One text per namespace: every container's /etc/resolv.conf."""
        text = self._resolv.get(namespace)
        if text is None:
            text = self._resolv[namespace] = (f"search {' '.join(self.search_path(namespace))}\n"
                                              f"nameserver {DNS_SERVER}\noptions ndots:5\n")
        return text

    def lookup(self, name: str, namespace: str | None) -> Answer | None:
        """The answer a pod in ``namespace`` gets for ``name``; None is NXDOMAIN."""
        name = name.lower()
        if _is_ip(name):
            return Answer(name, (), name)
        if name in ("localhost", "localhost.localdomain"):
            return Answer("localhost", (), "127.0.0.1")
        absolute = name.endswith(".")
        name = name.rstrip(".")
        candidates = []
        if not absolute and namespace is not None and name.count(".") < 5:
            candidates = [f"{name}.{domain}" for domain in self.search_path(namespace)]
        candidates.append(name)
        for fqdn in candidates:
            target = self._cname(fqdn)
            ip = self._record(fqdn) if target is None else None
            if target is None and ip is None:
                continue
            cnames: list[tuple[str, str]] = []
            while target is not None:  # CoreDNS follows CNAMEs that stay in its zone
                cnames.append((cnames[-1][1] if cnames else fqdn, target))
                if len(cnames) >= MAX_CNAMES or any(target == alias for alias, _ in cnames):
                    break
                target, ip = self._cname(target), self._record(target)
            return Answer(fqdn, tuple(cnames), ip)
        return None

    def resolve(self, name: str, namespace: str | None) -> str | None:
        found = self.lookup(name, namespace)
        return found.ip if found else None

    def _cname(self, fqdn: str) -> str | None:
        """The CNAME target of ``<svc>.<ns>.svc.cluster.local`` when that is an ExternalName Service."""
        parts = fqdn.split(".")
        if len(parts) != 5 or f"{parts[2]}.{parts[3]}.{parts[4]}" != f"svc.{CLUSTER_DOMAIN}":
            return None
        spec = (self.store.get("Service", parts[1], parts[0]) or {}).get("spec") or {}
        if spec.get("type") != "ExternalName":
            return None
        return (spec.get("externalName") or "").lower().rstrip(".") or None

    def _record(self, fqdn: str) -> str | None:
        """The name's A record (None for none)."""
        suffix = "." + CLUSTER_DOMAIN
        if not fqdn.endswith(suffix):
            return None
        parts = fqdn[: -len(suffix)].split(".")
        if len(parts) == 3 and parts[2] == "svc":
            svc = self.store.get("Service", parts[1], parts[0])
            if svc is None:
                return None
            spec = svc.get("spec", {})
            if spec.get("type") == "ExternalName":
                return None
            ip = spec.get("clusterIP")
            if ip and ip != "None":
                return ip
            ready = self._endpoint_ips(svc)
            return ready[0] if ready else None
        if len(parts) == 4 and parts[3] == "svc":
            return self._hostname_record(parts[2], parts[1], parts[0])
        if len(parts) == 3 and parts[2] == "pod":
            ip = parts[0].replace("-", ".")
            return ip if ip in self.sandboxes and self.sandboxes[ip].namespace == parts[1] else None
        return None

    def _hostname_record(self, namespace: str, service: str, hostname: str) -> str | None:
        """``<hostname>.<service>.<ns>.svc``: a pod whose spec.hostname/subdomain put it behind a
        headless Service (a StatefulSet's pods), as the Service's Endpoints list it."""
        svc = self.store.get("Service", namespace, service)
        if svc is None or svc.get("spec", {}).get("clusterIP") != "None":
            return None
        endpoints = self.store.get("Endpoints", namespace, service) or {}
        for subset in endpoints.get("subsets") or ():
            for address in subset.get("addresses") or ():
                if address.get("hostname") == hostname:
                    return address.get("ip")
        return None

    # -- routing ---------------------------------------------------------------------------------
    def fetch(self, client: Sandbox | None, url: str, user_agent: str = "Wget", method: str = "GET",
              headers: dict[str, str] | None = None) -> Fetch:
        """An HTTP request from a pod (or from outside the cluster when ``client`` is None)."""
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        result = Fetch(host=host, port=port, authority=parts.netloc, path=path)
        if client is not None and not _is_ip(host) and not self.dns_allowed(client):
            result.error, result.wait = f"bad address '{host}'", DNS_TIMEOUT
            return result
        ip = self.resolve(host, client.namespace if client else None)
        if ip is None:
            result.error = f"bad address '{host}'"
            return result
        result.ip = ip
        try:
            handler, served_by, record = self.connect(client, ip, port)
        except ConnectError as exc:
            result.error = f"can't connect to remote host ({ip}): {exc.message}"
            result.wait = CONNECT_TIMEOUT if "timed out" in exc.message else 0.0
            return result
        result.served_by = served_by
        if handler is None:  # a TCP server that does not speak HTTP
            result.error = "error getting response: Connection reset by peer"
            record(None)
            return result
        request = HttpRequest(method, path, {"Host": parts.netloc, "User-Agent": user_agent,
                                             "Accept": "*/*", "Connection": "close", **(headers or {})},
                              client.ip if client else OUTSIDE_IP)
        response = handler(request)
        record(response.status)
        result.status, result.reason, result.body = response.status, response.reason, response.body
        result.wait = response.wait
        return result

    def request(self, from_pod: Obj | None, url: str, method: str = "GET",
                headers: dict[str, str] | None = None) -> Reply:
        """``(status, body, served_by)`` for a request from a pod object (or from outside);
        raises ConnectError when the connection fails."""
        client = None
        if from_pod is not None:
            client = self.sandboxes.get(from_pod.get("status", {}).get("podIP", ""))
            if client is None:
                raise ConnectError("the pod has no network: it is not running")
        fetch = self.fetch(client, url, "Wget", method, headers)
        if fetch.error is not None:
            raise ConnectError(fetch.error, fetch.host, fetch.ip, fetch.port)
        return Reply(fetch.status, fetch.body, fetch.served_by)

    def connect(self, client: Sandbox | None, ip: str, port: int
                ) -> tuple[Handler | None, str, Callable[[int | None], None]]:
        """Open a TCP connection: (HTTP handler or None, "ns/pod" that accepted it,
        a callback recording the response status)."""
        if ip.startswith("127.") and client is not None:
            return self._accept(client, ip, port), f"{client.namespace}/{client.pod}", _ignore
        sandbox = self.sandboxes.get(ip)
        if sandbox is not None:
            self._check_policy(client, OUTSIDE_IP, sandbox, port, ip)
            return self._accept(sandbox, ip, port), f"{sandbox.namespace}/{sandbox.pod}", _ignore
        svc, svc_port, via = self._service_for(ip, port)
        if svc is None:
            if port in self.node_listeners and self._is_node_ip(ip):
                return self.node_listeners[port], "ingress-nginx/ingress-nginx-controller", _ignore
            if self._is_node_ip(ip):
                raise ConnectError("Connection refused", ip=ip, port=port)
            addr = ipaddress.ip_address(ip)
            if addr in POD_NETWORK:
                raise ConnectError("No route to host", ip=ip, port=port)
            raise ConnectError("Connection timed out", ip=ip, port=port)
        if svc_port is None:  # a ClusterIP on a port the Service does not define: dropped
            raise ConnectError("Connection timed out", ip=ip, port=port)
        who = f"{client.namespace}/{client.pod}" if client else "outside"
        return self.forward(svc, svc_port, who, via, ip, port, client)

    def forward(self, svc: Obj, svc_port: dict[str, Any], who: str, via: str = "Ingress", ip: str = "",
                port: int = 0, client: Sandbox | None = None, source_ip: str = ""
                ) -> tuple[Handler | None, str, Callable[[int | None], None]]:
        """A connection to one of a Service port's ready endpoints, picked at random (what
        kube-proxy does for a ClusterIP or node port, and an ingress controller for a rule);
        ``client`` is the pod it comes from, else ``source_ip`` (outside: 192.168.49.1)."""
        choices = self._endpoints_for(svc, svc_port)
        if not choices:  # kube-proxy rejects connections to a Service without endpoints
            raise ConnectError("Connection refused", ip=ip, port=port)
        pod_ip, target = self.rng.choice(choices)
        sandbox = self.sandboxes.get(pod_ip)
        if sandbox is None:
            raise ConnectError("No route to host", ip=ip, port=port)
        self._check_policy(client, source_ip or OUTSIDE_IP, sandbox, target, ip)
        handler = self._accept(sandbox, ip, target)
        meta = svc["metadata"]
        log = self._routes.setdefault((meta["namespace"], meta["name"]), deque(maxlen=RECENT))

        def record(status: int | None) -> None:
            log.append(Route(self.store.clock.now(), who, via, sandbox.pod, pod_ip, target, status))

        return handler, f"{sandbox.namespace}/{sandbox.pod}", record

    def recent(self, namespace: str, service: str) -> list[Route]:
        """The last requests that went through a Service, oldest first."""
        return list(self._routes.get((namespace, service), ()))

    def _accept(self, sandbox: Sandbox, ip: str, port: int) -> Handler | None:
        if port not in sandbox.listeners:
            raise ConnectError("Connection refused", ip=ip, port=port)
        return sandbox.listeners[port]

    def dns_allowed(self, client: Sandbox) -> bool:
        """Whether NetworkPolicy lets a pod's DNS query (UDP 53) reach a kube-dns pod."""
        if not self.store.list("NetworkPolicy"):
            return True
        src = netpol.Endpoint(client.ip, self.store.get("Pod", client.namespace, client.pod))
        dns = [p for p in self.store.list("Pod", "kube-system")
               if (p["metadata"].get("labels") or {}).get("k8s-app") == "kube-dns" and p.get("status", {}).get("podIP")]
        return any(netpol.allowed(self.store, src, netpol.Endpoint(p["status"]["podIP"], p), 53, "UDP") for p in dns)

    def _check_policy(self, client: Sandbox | None, source_ip: str, sandbox: Sandbox, port: int, ip: str) -> None:
        """NetworkPolicy drops a denied connection's packets: the client's connect times out."""
        if not self.store.list("NetworkPolicy"):
            return
        src = self.store.get("Pod", client.namespace, client.pod) if client else None
        dst = self.store.get("Pod", sandbox.namespace, sandbox.pod)
        if self.verdict(src, client.ip if client else source_ip, dst, port, dst_ip=sandbox.ip).allowed is not True:
            raise ConnectError("Connection timed out", ip=ip, port=port)

    def verdict(self, src_pod: Obj | None, src_ip: str | None, dst_pod: Obj | None, port: int,
                protocol: str = "TCP", dst_ip: str | None = None) -> netpol.Verdict:
        """NetworkPolicy's verdict on a connection to ``dst_pod``:``port``, the one that drops
        packets above and that pictures explain: from ``src_pod`` (at ``src_ip``, by default its
        pod IP), else from the address ``src_ip`` (outside, a node), else (both None) from some
        pod the caller does not name."""
        def ip_of(pod: Obj | None) -> str:
            return ((pod or {}).get("status") or {}).get("podIP", "")

        dst = netpol.Endpoint(dst_ip or ip_of(dst_pod), dst_pod)
        src = (netpol.Endpoint(src_ip or ip_of(src_pod), src_pod) if src_pod is not None or src_ip else None)
        return netpol.decide(self.store, src, dst, port, protocol)

    def _is_node_ip(self, ip: str) -> bool:
        return any(a.get("address") == ip for n in self.store.list("Node", "")
                   for a in n.get("status", {}).get("addresses", ()))

    def _service_for(self, ip: str, port: int) -> tuple[Obj | None, dict[str, Any] | None, str]:
        node_ip = self._is_node_ip(ip)
        for svc in self.store.list("Service"):
            spec = svc.get("spec", {})
            if node_ip:
                for p in spec.get("ports") or ():
                    if p.get("nodePort") == port and p.get("protocol", "TCP") == "TCP":
                        return svc, p, "NodePort"
            elif spec.get("clusterIP") == ip:
                match = next((p for p in spec.get("ports") or () if p.get("port") == port), None)
                return svc, match, "ClusterIP"
        return None, None, ""

    def _endpoints_for(self, svc: Obj, svc_port: dict[str, Any]) -> list[tuple[str, int]]:
        """(pod IP, port) of the ready endpoints serving one Service port, from the
        Endpoints object the endpoints controller writes."""
        meta = svc["metadata"]
        ep = self.store.get("Endpoints", meta["namespace"], meta["name"])
        want = svc_port.get("name") or ""
        found = []
        for subset in (ep or {}).get("subsets") or ():
            port = next((p["port"] for p in subset.get("ports") or () if (p.get("name") or "") == want), None)
            if port is None:
                continue
            found.extend((a["ip"], port) for a in subset.get("addresses") or ())
        return found

    def _endpoint_ips(self, svc: Obj) -> list[str]:
        meta = svc["metadata"]
        ep = self.store.get("Endpoints", meta["namespace"], meta["name"]) or {}
        return [a["ip"] for s in ep.get("subsets") or () for a in s.get("addresses") or ()]


@lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network:
    """A node's pod CIDR, parsed once (every pod started on the node asks for it)."""
    return ipaddress.ip_network(cidr)  # type: ignore[return-value]


def _ignore(status: int | None) -> None:
    return None


def _is_ip(text: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text))
