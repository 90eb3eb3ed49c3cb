"""The Service routing picture, on a real embedded cluster: echo-server pods bound to the
first node, made not-ready with a readiness probe on a port nothing listens on."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.api.errors import StatusError
from kubelab.notebook.display import GREEN, RED
from kubelab.notebook.route import route


@pytest.fixture
def cluster():
    return Cluster(clock="virtual", seed=7)


def service(client, name="web", type_="ClusterIP", target=3000, selector=None):
    return client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                          "spec": {"type": type_, "selector": selector or {"app": "web"},
                                   "ports": [{"port": 80, "targetPort": target}]}})


def pod(cluster, name, ready=True, port=3000, labels=None, env=None):
    """An http-echo pod (it listens on $PORT, 3000 unless ``env`` says otherwise); ``ready=False``
    adds a probe that never passes."""
    container = {"name": "web", "image": "kennship/http-echo", "ports": [{"containerPort": port}],
                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}
    if not ready:
        container["readinessProbe"] = {"tcpSocket": {"port": 9999}, "periodSeconds": 5}
    node = cluster.client.list("Node")["items"][0]["metadata"]["name"]
    cluster.client.create({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": name, "labels": labels or {"app": "web"}},
                           "spec": {"nodeName": node, "containers": [container]}})
    cluster.advance(60)
    return cluster.client.get("Pod", name)


def test_cluster_ip_to_ready_and_not_ready_endpoints(cluster):
    c = cluster.client
    svc = service(c)
    a = pod(cluster, "web-a")
    pod(cluster, "web-b", ready=False)
    pod(cluster, "other", labels={"app": "other"})
    d = route(c, "web")
    sid = "Service/default/web"
    assert svc["spec"]["clusterIP"] in d.nodes[sid]["label"]
    assert f"{svc['spec']['clusterIP']}:80" in d.nodes[sid]["label"]
    assert d.has_edge("Client/in-cluster", sid, "sends")
    assert "Client/outside" not in d.nodes  # ClusterIP: nothing from outside
    assert d.has_edge(sid, "Pod/default/web-a", "sends")
    assert d.has_edge(sid, "Pod/default/web-b", "idle")
    assert f"{a['status']['podIP']}:3000" in d.nodes["Pod/default/web-a"]["label"]
    assert d.groups["ready endpoints"] == ["Pod/default/web-a"]
    assert d.groups["not ready (no traffic)"] == ["Pod/default/web-b"]
    assert "Pod/default/other" not in d.nodes
    assert not d.problems and d.nodes[sid]["colour"] != RED
    assert "<svg" in d.svg()


def test_node_port_from_outside(cluster):
    c = cluster.client
    svc = service(c, type_="NodePort")
    pod(cluster, "web-a")
    d = route(c, "web")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert f"{cluster.node_ip()}:{node_port}" in d.nodes["Client/outside"]["label"]
    assert d.has_edge("Client/outside", "Service/default/web", "sends")


def test_selector_matching_nothing_is_broken(cluster):
    c = cluster.client
    service(c, selector={"app": "typo"})
    pod(cluster, "web-a")
    d = route(c, "web")
    assert d.nodes["Service/default/web"]["colour"] == RED
    assert d.problems == ["selector app=typo matches no pods"]
    assert d.has_edge("Service/default/web", "Broken/no-endpoints", "broken")
    assert "matches no pods" in d.nodes["Broken/no-endpoints"]["label"]


def test_target_port_nothing_listens_on_is_broken(cluster):
    c = cluster.client
    service(c, target=8080)
    pod(cluster, "web-a", port=3000)
    d = route(c, "web")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "broken")
    assert d.nodes["Pod/default/web-a"]["colour"] == RED
    assert "nothing listens on 8080" in d.nodes["Pod/default/web-a"]["label"]  # the network knows
    assert d.problems and "targetPort 8080" in d.problems[0]


def test_missing_service_is_not_found(cluster):
    with pytest.raises(StatusError) as err:
        route(cluster.client, "nope")
    assert err.value.reason == "NotFound"


def test_pod_that_answered_last_is_highlighted(cluster):
    service(cluster.client)
    pod(cluster, "web-a")
    pod(cluster, "web-b")
    answered = []
    for _ in range(6):  # real requests through the Service from outside the cluster
        _, _, served_by = cluster.network.request(None, "http://web.default.svc.cluster.local/")
        answered.append(served_by.split("/")[-1])
    last = answered[-1]
    other = "web-a" if last == "web-b" else "web-b"
    d = route(cluster.client, "web")
    assert d.nodes[f"Pod/default/{last}"]["answered"] and not d.nodes[f"Pod/default/{other}"]["answered"]
    assert d.has_edge("Service/default/web", f"Pod/default/{last}", "answered")
    assert d.nodes[f"Pod/default/{last}"]["attrs"]["color"] == GREEN


def test_what_really_listens_beats_what_is_declared(cluster):
    service(cluster.client, target=3000)
    pod(cluster, "web-a", port=3000, env={"PORT": "8080"})  # declares 3000, listens on 8080
    assert cluster.client.listening_ports("web-a", "default") == {8080}
    d = route(cluster.client, "web")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "broken")
    assert "nothing listens on 3000" in d.nodes["Pod/default/web-a"]["label"]


# -- NetworkPolicy on the picture: the network's own verdict, hop by hop -----------------------
DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""
ALLOW_FRONTEND = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-frontend}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
    ports: [{port: 3000}]
"""
NO_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-egress}
spec:
  podSelector: {matchLabels: {run: client}}
  policyTypes: [Egress]
"""


@pytest.fixture
def policed(cluster):
    service(cluster.client)
    pod(cluster, "web-a")
    cluster.kubectl("run client --image=busybox --restart=Never -- sleep 3600")
    cluster.settle(60)
    return cluster


def wget_gets_through(cluster, target_pod: str) -> bool:
    """A real wget from the client pod straight to the pod's IP (no Service, no DNS)."""
    ip = cluster.client.get("Pod", target_pod)["status"]["podIP"]
    return cluster.kubectl(f"exec client -- wget -T 2 -qO- http://{ip}:3000/").returncode == 0


def test_a_default_deny_is_drawn_as_a_denied_hop_naming_the_policy(policed):
    c = policed
    d = route(c.client, "web", from_pod="client")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "sends") and not d.problems
    assert "pod client" in d.nodes["Client/in-cluster"]["label"]
    assert c.kubectl("apply -f -", stdin=DENY_ALL).returncode == 0
    assert not wget_gets_through(c, "web-a")
    d = route(c.client, "web", from_pod="client")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "denied")
    label = next(e[3] for e in d.edges if e[1] == "Pod/default/web-a")
    assert "✘ default deny by policy deny-all" in label
    assert d.problems == ["pod client → web-a: default deny by policy deny-all"]
    assert d.nodes["Pod/default/web-a"]["policy"]["allowed"] is False
    assert d.nodes["Pod/default/web-a"]["policy"]["direction"] == "ingress"
    assert "✘ blocked by NetworkPolicy" in d.nodes["Pod/default/web-a"]["label"]
    assert 'arrowhead=tee' in d.source and "<svg" in d.svg()
    # nobody gets in: the picture from "a pod in the cluster" says so too
    assert route(c.client, "web").has_edge("Service/default/web", "Pod/default/web-a", "denied")


def test_an_allow_rule_names_who_may_and_the_same_wget_then_works(policed):
    c = policed
    c.kubectl("apply -f -", stdin=DENY_ALL)
    c.kubectl("apply -f -", stdin=ALLOW_FRONTEND)
    d = route(c.client, "web", from_pod="client")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "denied")
    assert d.problems == ["pod client → web-a: no rule of policy allow-frontend lets it in; "
                          "default deny by policy deny-all"]
    # from a pod the picture does not name: it depends on that pod's labels
    anyone = route(c.client, "web")
    assert anyone.has_edge("Service/default/web", "Pod/default/web-a", "limited") and not anyone.problems
    assert anyone.nodes["Pod/default/web-a"]["policy"]["allowed"] is None
    assert not wget_gets_through(c, "web-a")
    c.kubectl("label pod client role=frontend")
    assert wget_gets_through(c, "web-a")
    d = route(c.client, "web", from_pod="client")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "sends") and not d.problems
    assert "allowed by policy allow-frontend" in d.nodes["Pod/default/web-a"]["label"]


def test_the_source_pods_egress_policy_is_named(policed):
    c = policed
    c.kubectl("apply -f -", stdin=NO_EGRESS)
    assert not wget_gets_through(c, "web-a")
    assert "bad address 'web'" in c.kubectl("exec client -- wget -T 2 -qO- http://web").stderr  # nor DNS
    d = route(c.client, "web", from_pod="client")
    assert d.problems == ["pod client: DNS lookup blocked: egress of client: default deny by policy no-egress",
                          "pod client → web-a: egress of client: default deny by policy no-egress"]
    assert d.has_edge("Client/in-cluster", "Service/default/web", "denied")
    assert d.nodes["Pod/default/web-a"]["policy"]["direction"] == "egress"
    assert route(c.client, "web").has_edge("Service/default/web", "Pod/default/web-a", "sends")  # others may


def test_the_ingress_controller_hop_is_policed_as_the_controller_connects(policed):
    from kubelab.notebook.route import ingress_route

    c = policed
    pod(c, "web-b")
    c.kubectl("create ingress web --rule=/*=web:80")
    for _ in range(4):
        assert c.network.request(None, f"http://{c.node_ip()}/").status == 200
    c.kubectl("apply -f -", stdin=DENY_ALL)
    assert c.network.request(None, f"http://{c.node_ip()}/").status == 504
    d = ingress_route(c.client, "web")
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "denied")
    assert d.has_edge("Service/default/web", "Pod/default/web-b", "denied")
    assert d.problems == ["the ingress controller → 2 pods: default deny by policy deny-all"]
    assert not any(n.get("answered") for n in d.nodes.values())  # who answered before is cut off now


def test_route_from_through_the_magic():
    import kubelab.notebook as knb
    from kubelab.notebook.magics import _special

    c = Cluster(clock="virtual", seed=7)
    knb.use(c)
    service(c.client)
    pod(c, "web-a")
    c.kubectl("run client --image=busybox --restart=Never -- sleep 3600")
    c.kubectl("apply -f -", stdin=DENY_ALL)
    c.settle(60)
    d = _special(["route", "svc/web", "--from", "pod/client"])
    assert d.has_edge("Service/default/web", "Pod/default/web-a", "denied")
    with pytest.raises(StatusError) as err:
        _special(["route", "svc/web", "--from", "pod/nope"])
    assert err.value.reason == "NotFound"
    with pytest.raises(ValueError, match="pod/NAME"):
        _special(["route", "svc/web", "--from", "deploy/web"])
