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
