"""Ingress and IngressClass: the kinds, the simulated ingress-nginx (minikube's addon) and its
traffic, on a virtual clock; get/describe compared with the real kubectl 1.32."""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.engine.ingress import route
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  labels: {team: a}
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
spec:
  tls:
  - hosts: [hello.example]
    secretName: hello-tls
  - hosts: [sni.example]
  rules:
  - host: hello.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
      - {path: /down, pathType: Exact, backend: {service: {name: empty, port: {number: 80}}}}
  - host: "*.wild.example"
    http:
      paths:
      - {path: /app, pathType: ImplementationSpecific, backend: {service: {name: web, port: {name: http}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: many}
spec:
  ingressClassName: other
  rules:
  - {host: a.example}
  - {}
  - {host: b.example}
  - {host: c.example}
  - {host: d.example}
"""
FALLBACK = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: missing, port: {number: 80}}}
"""


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    c = Cluster(clock="virtual", seed=2)
    r = c.kubectl("apply -f -", stdin=APP)
    assert r.returncode == 0, r.stderr
    r = c.kubectl("run client --image=busybox -- sleep 36000")
    assert r.returncode == 0, r.stderr
    c.settle()
    c.advance(61)
    return c


def wget(c: Cluster, path: str, host: str | None = None):
    header = f" --header 'Host: {host}'" if host else ""
    return c.kubectl(f"exec client -- wget -qO- http://192.168.49.2{path}{header}")


def test_the_addons_class_is_the_default_one(cluster):
    r = cluster.kubectl("get ingressclass")
    assert r.stdout.splitlines()[1].split()[:3] == ["nginx", "k8s.io/ingress-nginx", "<none>"]
    ic = cluster.kubectl("get ingressclass nginx -o jsonpath={.metadata.annotations}").stdout
    assert '"ingressclass.kubernetes.io/is-default-class":"true"' in ic
    # DefaultIngressClass admission filled the class of an Ingress created without one
    assert cluster.kubectl("get ing web -o jsonpath={.spec.ingressClassName}").stdout == "nginx"


def test_address_fills_in_after_the_status_sync():
    c = Cluster(clock="virtual")
    c.kubectl("apply -f -", stdin=APP.split("---\n")[3])
    assert c.kubectl("get ing web -o jsonpath={.status.loadBalancer}").stdout in ("", "{}")
    c.advance(61)
    assert c.kubectl("get ing web -o jsonpath={.status.loadBalancer.ingress[0].ip}").stdout == "192.168.49.2"
    lines = c.kubectl("get ing").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:5] == ["web", "nginx", "hello.example,*.wild.example", "192.168.49.2", "80,"]


def test_host_and_path_rules_reach_the_services_endpoints(cluster):
    r = wget(cluster, "/", "hello.example")
    assert r.returncode == 0 and "Welcome to nginx!" in r.stdout, r.stderr
    r = wget(cluster, "/app/x", "a.wild.example")  # wildcard host, ImplementationSpecific as Prefix
    assert r.returncode == 0 and "Welcome to nginx!" in r.stdout, r.stderr
    via = {route.via for route in cluster.network.recent("default", "web")}
    assert "Ingress" in via


def test_nothing_matching_is_the_controllers_404_and_no_endpoints_503(cluster):
    r = wget(cluster, "/app", "a.b.wild.example")  # a wildcard covers one label only
    assert r.returncode == 1
    assert "wget: server returned error: HTTP/1.1 404 Not Found" in r.stderr
    r = wget(cluster, "/down", "hello.example")
    assert "HTTP/1.1 503 Service Temporarily Unavailable" in r.stderr
    status, body, _ = cluster.network.request(None, "http://192.168.49.2/", headers={"Host": "nope"})
    assert status == 404 and body.startswith("<html>\r\n<head><title>404 Not Found</title></head>")


def test_an_ingress_default_backend_takes_what_no_rule_matches():
    c = Cluster(clock="virtual")
    c.kubectl("apply -f -", stdin=APP.split("---\n")[1] + "---\n" + FALLBACK)
    status, _, _ = c.network.request(None, "http://192.168.49.2/x", headers={"Host": "nope"})
    assert status == 503  # the Service ``missing`` does not exist
    r = c.kubectl("patch", "ing", "fallback", "--type=merge", "-p",
                  '{"spec":{"defaultBackend":{"service":{"name":"web","port":{"number":null,"name":"http"}}}}}')
    assert r.returncode == 0, r.stderr
    c.kubectl("create deployment web --image=nginx")
    c.settle()
    status, body, _ = c.network.request(None, "http://192.168.49.2/", headers={"Host": "nope"})
    assert status == 200 and "Welcome to nginx!" in body


def test_from_outside_through_the_node_ip(cluster):
    status, body, _ = cluster.network.request(None, "http://192.168.49.2/", headers={"Host": "hello.example"})
    assert status == 200 and "Welcome to nginx!" in body
    r = cluster.kubectl("exec client -- wget -qO- http://192.168.49.2:81/")
    assert "Connection refused" in r.stderr


def _ing(paths: list[tuple[str, str]], host: str = "") -> dict:
    return {"metadata": {"name": "x", "namespace": "d", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"rules": [{"host": host, "http": {"paths": [
                {"path": p, "pathType": t, "backend": {"service": {"name": f"{t}{p}"}}} for p, t in paths]}}]}}


@pytest.mark.parametrize("path, want", [
    ("/foo", "Exact/foo"), ("/foo/", "Prefix/foo"), ("/foo/bar", "Prefix/foo/bar"),
    ("/foo/barbaz", "Prefix/foo"), ("/foobar", "Prefix/"), ("/", "Prefix/"), ("/foo/bar?q=1", "Prefix/foo/bar"),
])
def test_path_matching_by_element_longest_first_exact_first(path, want):
    ing = _ing([("/", "Prefix"), ("/foo", "Prefix"), ("/foo", "Exact"), ("/foo/bar/", "Prefix")])
    match = route([ing], "any.example", path)
    assert match is not None and match.backend["service"]["name"] == want.replace("/foo/bar", "/foo/bar/") \
        if want == "Prefix/foo/bar" else match.backend["service"]["name"] == want


@pytest.mark.parametrize("manifest, message", [
    ("rules: [{http: {paths: [{path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]",
     "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
    ("rules: [{http: {paths: [{path: /, pathType: Regex, backend: {service: {name: web, port: {number: 80}}}}]}}]",
     'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", '
     '"ImplementationSpecific", "Prefix"'),
    ("rules: [{http: {paths: [{path: foo, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}]}}]",
     'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path'),
    ("rules: [{host: 1.2.3.4, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]",
     'spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address'),
    ("rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web}}}]}}]",
     "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"),
    ("tls: []", "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"),
])
def test_validation_messages(manifest, message):
    c = Cluster(clock="virtual")
    doc = f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: bad}}\nspec:\n  {manifest}\n"
    r = c.kubectl("apply -f -", stdin=doc)
    assert r.returncode == 1
    assert message in r.stderr
    assert c.kubectl("get ing bad").returncode == 1  # nothing stored


# -- the real kubectl 1.32 through the served API ----------------------------------------------
GETS = ["get ing", "get ingress -o wide", "get ingresses.networking.k8s.io web", "get ingressclass",
        "get ingressclasses -o wide", "get ing -A", "get ing web -o yaml", "get ing many",
        "get ing nope", "get ingressclass nginx -o json"]
CREATES = ["create ingress simple --rule=foo.com/bar=svc1:8080,tls=my-cert --dry-run=client -o yaml",
           "create ingress multi --class=nginx --rule=foo.com/=svc:http,tls --rule=foo.com/admin*=svcadmin:80 "
           "--rule=/x=s:1 --default-backend=def:http --annotation=a=b --dry-run=client -o json",
           "create ing t --rule=a.com/=s:1,tls=z --rule=b.com/=s:1,tls=a --rule=c.com/=s:1,tls=z --rule=/y=s:2,tls "
           "--dry-run=client -o json",
           "create ingress bad --rule=foo", "create ingress bad", "create ingress bad --rule=foo.com/=svc",
           "create ingress bad --default-backend=svc", "create ingress bad --rule=a.com/=s:1 --annotation=nokey",
           "create ingress badpath --rule=foo.com/a//b=svc:8080", "create ingress x y --rule=foo.com/*=svc:8080"]
DESCRIBES = ["describe ing web", "describe ingress fallback", "describe ing many", "describe ingressclass nginx"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    c = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    assert c.kubectl("apply -f -", stdin=APP + "---\n" + FALLBACK).returncode == 0
    c.settle(600)
    c.advance(20 * 60)
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield c, kubectl


@pytest.mark.parametrize("command", GETS + CREATES)
def test_get_matches_real_kubectl(served, command):
    c, kubectl = served
    same(c, kubectl(command), command)


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    c, kubectl = served
    same_at_wall_clock(c, kubectl, command)


def test_create_ingress_then_traffic(served):
    c, _ = served
    r = c.kubectl("create ingress made --rule=made.example/*=web:8080")
    assert (r.returncode, r.stdout) == (0, "ingress.networking.k8s.io/made created\n"), r.stderr
    status, body, _ = c.network.request(None, "http://192.168.49.2/", headers={"Host": "made.example"})
    assert status == 200 and "Welcome to nginx!" in body
    c.kubectl("delete ing made")


# -- %kube route ingress/NAME --------------------------------------------------------------------
def test_route_picture_draws_rules_services_and_endpoints(cluster):
    from kubelab.notebook.route import ingress_route

    d = ingress_route(cluster.client, "web")
    assert d.has_edge("Client/outside", "Ingress/default/web")
    assert d.has_edge("Ingress/default/web", "Service/default/web")
    labels = [label for src, dst, _, label in d.edges if src == "Ingress/default/web"]
    assert "hello.example/ (Prefix) → web:8080" in labels and "*.wild.example/app (ImplementationSpecific) → web:http" in labels
    pods = [n for n in d.nodes.values() if n["kind"] == "Pod"]
    assert len(pods) == 2 and all(n["ready"] for n in pods)
    assert "192.168.49.2" in d.nodes["Ingress/default/web"]["label"]
    assert any("matches no pods" in p for p in d.problems)  # the ``empty`` Service behind /down
    assert "<svg" in d.svg()


def test_route_picture_of_a_missing_backend_through_the_magic():
    import kubelab.notebook as knb
    from kubelab.notebook.magics import _special

    c = Cluster(clock="virtual")
    c.kubectl("apply -f -", stdin=FALLBACK)
    knb.use(c)
    d = _special(["route", "ingress/fallback"])
    assert d.nodes["Service/default/missing"]["kind"] == "Broken"
    assert d.has_edge("Ingress/default/fallback", "Service/default/missing", "broken")
    assert d.problems == ["service missing not found"]
    with pytest.raises(ValueError, match="ingress/NAME"):
        _special(["route", "deploy/x"])
