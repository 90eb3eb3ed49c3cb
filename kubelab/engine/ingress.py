"""An ingress controller like minikube's ``ingress`` addon (ingress-nginx), simulated.

At start-up the cluster has the addon's IngressClass ``nginx`` (controller
``k8s.io/ingress-nginx``, marked the default class as minikube ships it), and the API server's
DefaultIngressClass admission gives a new Ingress without a class the default one. The
controller publishes the node's IP in ``status.loadBalancer.ingress`` (as the addon does, its
pod running on the host network) on its periodic status sync, so ADDRESS fills in after a
moment. It listens on every node IP's ports 80 and 443: a request's Host and path pick a rule
of the nginx-class Ingresses (exact host, then wildcard host, then rules without a host; the
longest path, Exact before Prefix), the backend Service's ready endpoints answer; nothing
matching is the controller's default backend's ``404 Not Found`` page, a Service without
endpoints nginx's 503.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, NamedTuple

from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.network import ConnectError, HttpRequest, HttpResponse, Network
from kubelab.engine.store import Key, Obj, key_of

CLASS_NAME = "nginx"
CONTROLLER = "k8s.io/ingress-nginx"
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS = "kubernetes.io/ingress.class"
REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
PROXY_CONNECT_TIMEOUT = 5.0  # ingress-nginx's proxy-connect-timeout default, before its 504
STATUS_SYNC = 60.0  # ingress-nginx's status updater runs once a minute (updateInterval)
_LABELS = {"app.kubernetes.io/component": "controller", "app.kubernetes.io/instance": "ingress-nginx",
           "app.kubernetes.io/name": "ingress-nginx"}
_REASONS = {404: "Not Found", 502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def nginx_page(status: int) -> HttpResponse:
    """nginx's built-in error page, what ingress-nginx answers itself."""
    title = f"{status} {_REASONS[status]}"
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return HttpResponse(status, body, _REASONS[status], "text/html")


def ingress_class_object() -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": CLASS_NAME, "labels": dict(_LABELS), "annotations": {DEFAULT_CLASS: "true"}},
            "spec": {"controller": CONTROLLER}}


def class_of(ing: Obj) -> str | None:
    """The class an Ingress asks for: ``spec.ingressClassName``, else the legacy annotation."""
    spec = ing.get("spec") or {}
    return spec.get("ingressClassName") or ((ing["metadata"].get("annotations") or {}).get(LEGACY_CLASS))


class Match(NamedTuple):
    """Where one request goes: the Ingress, the rule's host and path, and the backend."""

    ingress: Obj
    host: str
    path: str
    backend: dict[str, Any]


def _prefix_match(rule_path: str, path: str) -> bool:
    """Prefix matching by path element: ``/foo`` matches ``/foo`` and ``/foo/bar``, not ``/foobar``."""
    want = [p for p in rule_path.split("/") if p]
    have = [p for p in path.split("/") if p]
    return have[: len(want)] == want


def _host_matches(rule_host: str, host: str) -> bool:
    if rule_host.startswith("*."):  # a wildcard covers exactly one DNS label
        return host.endswith(rule_host[1:]) and "." not in host[: -len(rule_host) + 1]
    return rule_host == host


def route(ingresses: list[Obj], host: str, path: str) -> Match | None:
    """The rule that serves ``host`` + ``path`` among ``ingresses`` (oldest first), or an
    Ingress's default backend, or None (the controller's own 404)."""
    path = path.split("?", 1)[0] or "/"
    ordered = sorted(ingresses, key=lambda i: (i["metadata"].get("creationTimestamp", ""), i["metadata"]["name"]))
    for tier in ("exact", "wildcard", "any"):
        best: tuple[int, int, Match] | None = None
        for ing in ordered:
            for rule in (ing.get("spec") or {}).get("rules") or ():
                rule_host = rule.get("host") or ""
                if not {"exact": rule_host and not rule_host.startswith("*.") and rule_host == host,
                        "wildcard": rule_host.startswith("*.") and _host_matches(rule_host, host),
                        "any": not rule_host}[tier]:
                    continue
                for p in (rule.get("http") or {}).get("paths") or ():
                    rule_path = p.get("path") or "/"
                    exact = p.get("pathType") == "Exact"
                    if (rule_path == path) if exact else _prefix_match(rule_path, path):
                        score = (len(rule_path.rstrip("/")), 1 if exact else 0)
                        if best is None or score > best[:2]:
                            best = (*score, Match(ing, rule_host or "*", rule_path, p.get("backend") or {}))
        if best is not None:
            return best[2]
    for ing in ordered:
        backend = (ing.get("spec") or {}).get("defaultBackend")
        if backend:
            return Match(ing, "*", "*", backend)
    return None


def rewrite(match: Match, path: str) -> str:
    """The URI the backend sees: ``rewrite-target`` replaces the whole URI of a matched
    request (nginx's ``rewrite <path> <target> break``), ``$1``... from the path's groups."""
    target = (match.ingress["metadata"].get("annotations") or {}).get(REWRITE)
    if not target or match.path == "*":
        return path
    if "$" not in target:
        return target
    found = re.match(match.path, path)
    groups = found.groups() if found else ()
    return re.sub(r"\$(\d)", lambda m: (groups[int(m[1]) - 1] or "") if 0 < int(m[1]) <= len(groups) else "",
                  target) or "/"


class IngressNginx(Controller):
    """The controller's status sync and its HTTP listener on the node IPs."""

    watches = ("Ingress",)

    def __init__(self, engine: Engine, api: APIServer, network: Network) -> None:
        super().__init__(engine)
        self.api = api
        self.network = network
        self._due: dict[Key, float] = {}  # Ingress -> when the status sync publishes its address

    def ingresses(self) -> list[Obj]:
        return [i for i in self.store.list("Ingress") if class_of(i) == CLASS_NAME]

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        return () if event == "DELETED" else (key_of(obj),)

    def reconcile(self, key: Key) -> None:
        ing = self.store.get(*key)
        if ing is None or class_of(ing) != CLASS_NAME:
            return
        want = [{"ip": ip} for ip in self._node_ips()]
        if ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") == want:
            return
        wait = STATUS_SYNC - self.clock.now() % STATUS_SYNC
        due = self._due
        if key not in due:
            due[key] = self.clock.now() + wait
            self.requeue_after(wait, key)
            return
        if self.clock.now() < due[key]:
            return
        del due[key]
        ing = dict(ing, status={"loadBalancer": {"ingress": want}})
        self.api.update(ing, subresource="status")

    def _node_ips(self) -> list[str]:
        """Where the controller runs: the control-plane node (minikube's only one)."""
        nodes = self.store.list("Node")
        plane = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {})]
        for node in (plane or nodes)[:1]:
            return [a["address"] for a in node.get("status", {}).get("addresses", ()) if a.get("type") == "InternalIP"]
        return []

    def serve(self, request: HttpRequest) -> HttpResponse:
        """One request to a node IP's port 80/443, as nginx routes it."""
        host = request.headers.get("Host", "").rsplit(":", 1)[0].lower()
        match = route(self.ingresses(), host, request.path)
        if match is None or not match.backend.get("service"):
            return nginx_page(404)
        service = match.backend["service"]
        namespace = match.ingress["metadata"]["namespace"]
        svc = self.store.get("Service", namespace, service.get("name", ""))
        if svc is None:
            return nginx_page(503)
        port = service.get("port") or {}
        svc_port = next((p for p in svc.get("spec", {}).get("ports") or ()
                         if (port.get("number") and p.get("port") == port["number"])
                         or (port.get("name") and p.get("name") == port["name"])), None)
        if svc_port is None:
            return nginx_page(503)
        try:
            nodes = self._node_ips()
            handler, _, record = self.network.forward(svc, svc_port, request.client_ip,
                                                      source_ip=nodes[0] if nodes else "")
        except ConnectError as exc:  # a NetworkPolicy dropping nginx's connect: proxy_connect_timeout
            if "timed out" in exc.message:
                page = nginx_page(504)
                page.wait = PROXY_CONNECT_TIMEOUT
                return page
            return nginx_page(503)
        if handler is None:
            record(502)
            return nginx_page(502)
        forwarded = dict(request.headers, **{"X-Forwarded-For": request.client_ip, "X-Real-IP": request.client_ip,
                                             "X-Forwarded-Host": host, "X-Forwarded-Proto": "http"})
        path = rewrite(match, request.path)
        response = handler(HttpRequest(request.method, path, forwarded, request.client_ip, request.body))
        record(response.status)
        return response


def _default_class(api: APIServer):  # type: ignore[no-untyped-def]
    def admit(ing: Obj, old: Obj | None, dry_run: bool) -> None:
        """DefaultIngressClass admission: a new Ingress without a class gets the default one
        (the newest IngressClass annotated as default)."""
        if old is not None or class_of(ing):
            return
        defaults = [c for c in api.engine.store.list("IngressClass")
                    if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
        if defaults:
            newest = max(defaults, key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]))
            ing.setdefault("spec", {})["ingressClassName"] = newest["metadata"]["name"]
    return admit


def install(engine: Engine, api: APIServer, network: Network) -> IngressNginx:
    """The default-class admission, the controller and its listener (the addon's IngressClass
    is made at boot, by kubelab.engine.system, from the boot's own random stream)."""
    api.add_hook("Ingress", _default_class(api))
    controller = IngressNginx(engine, api, network)
    engine.add(controller)
    for port in (80, 443):
        network.node_listeners[port] = controller.serve
    return controller
