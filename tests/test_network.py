"""The simulated cluster network: pod IPs, DNS, Service routing, NodePort, errors."""
from __future__ import annotations

import json
from typing import Any

import pytest

from kubelab.cluster import Cluster
from kubelab.engine.network import ConnectError


def echo_pod(name: str, app: str = "echo-server", **container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo", **container}]}}


def service(name: str = "my-echo-server-service", type_: str = "ClusterIP", app: str = "echo-server",
            node_port: int | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"protocol": "TCP", "port": 80, "targetPort": 3000}
    if node_port:
        port["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": app}, "ports": [port]}}


def ensure_endpoints(c: Cluster, name: str = "my-echo-server-service", ns: str = "default") -> None:
    """Write the Endpoints object if no endpoints controller has (it may not be installed)."""
    if c.engine.store.get("Endpoints", ns, name) is not None:
        return
    svc = c.api.get("Service", name, ns)
    pods = c.api.list("Pod", ns, label_selector=",".join(f"{k}={v}" for k, v in svc["spec"]["selector"].items()))
    ready = [p for p in pods["items"] if any(x["type"] == "Ready" and x["status"] == "True"
                                             for x in p.get("status", {}).get("conditions", ()))]
    subsets = [{"addresses": [{"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
                               "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"]}}
                              for p in ready],
                "ports": [{"port": 3000, "protocol": "TCP"}]}] if ready else []
    c.api.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns},
                  "subsets": subsets})


@pytest.fixture
def c() -> Cluster:
    cluster = Cluster(clock="virtual", seed=11)
    for i in range(3):
        cluster.api.create(echo_pod(f"echo-{i}"))
    cluster.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "busybox"},
                        "spec": {"containers": [{"name": "busybox", "image": "busybox",
                                                 "command": ["sleep", "3600"]}]}})
    cluster.settle()
    return cluster


def sh(c: Cluster, line: str) -> Any:
    return c.api.exec("busybox", None, None, ["sh", "-c", line])


def ip_of(c: Cluster, name: str) -> str:
    return c.api.get("Pod", name)["status"]["podIP"]


def test_wget_pod_ip_returns_echo_with_hostname(c: Cluster) -> None:
    ip = ip_of(c, "echo-0")
    result = sh(c, f"wget -qO- http://{ip}:3000")
    assert result.exit_code == 0 and result.stderr == ""
    body = json.loads(result.stdout)
    assert body["os"]["hostname"] == "echo-0"
    assert body["method"] == "GET" and body["path"] == "/"
    assert body["headers"]["host"] == f"{ip}:3000"
    assert body["ip"] == "::ffff:" + ip_of(c, "busybox")
    log = c.api.logs("echo-0").splitlines()
    assert log[0] == "Listening on port 3000"
    assert '"GET / HTTP/1.1" 200' in log[-1] and ip_of(c, "busybox") in log[-1]


def test_wget_dash_o_dash_prints_progress_like_busybox(c: Cluster) -> None:
    ip = ip_of(c, "echo-1")
    result = c.api.exec("busybox", None, None, ["wget", f"{ip}:3000", "-O", "-"])
    assert result.stderr.startswith(f"Connecting to {ip}:3000 ({ip}:3000)\nwriting to stdout\n")
    assert result.stderr.endswith("written to stdout\n")
    assert json.loads(result.stdout)["os"]["hostname"] == "echo-1"


def test_errors(c: Cluster) -> None:
    ip = ip_of(c, "echo-0")
    refused = sh(c, f"wget -qO- http://{ip}:8080")
    assert refused.exit_code == 1
    assert refused.stderr == f"wget: can't connect to remote host ({ip}): Connection refused\n"
    bad = sh(c, "wget -qO- http://nope")
    assert bad.stderr == "wget: bad address 'nope'\n" and bad.exit_code == 1
    with pytest.raises(ConnectError):
        c.network.request(None, f"http://{ip}:9999/")


def test_cluster_ip_dns_names_and_spreading(c: Cluster) -> None:
    c.api.create(service())
    c.settle()
    ensure_endpoints(c)
    svc_ip = c.api.get("Service", "my-echo-server-service")["spec"]["clusterIP"]
    for name in ("my-echo-server-service", "my-echo-server-service.default", "my-echo-server-service.default.svc",
                 "my-echo-server-service.default.svc.cluster.local", svc_ip):
        result = sh(c, f"wget -qO- http://{name}")
        assert result.exit_code == 0, (name, result.stderr)
        assert json.loads(result.stdout)["os"]["hostname"].startswith("echo-")
    hosts = {json.loads(sh(c, "wget -qO- my-echo-server-service").stdout)["os"]["hostname"] for _ in range(30)}
    assert hosts == {"echo-0", "echo-1", "echo-2"}
    recent = c.network.recent("default", "my-echo-server-service")
    assert recent[-1].client == "default/busybox" and recent[-1].pod.startswith("echo-")
    assert recent[-1].port == 3000 and recent[-1].status == 200 and recent[-1].via == "ClusterIP"
    status, body, served_by = c.network.request(c.api.get("Pod", "busybox"), "http://my-echo-server-service/x")
    assert status == 200 and served_by.startswith("default/echo-")
    assert json.loads(body)["path"] == "/x"


def test_nslookup(c: Cluster) -> None:
    c.api.create(service())
    c.settle()
    svc_ip = c.api.get("Service", "my-echo-server-service")["spec"]["clusterIP"]
    result = sh(c, "nslookup my-echo-server-service")
    assert result.stdout == ("Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
                             f"Name:\tmy-echo-server-service.default.svc.cluster.local\nAddress: {svc_ip}\n\n")
    missing = sh(c, "nslookup nothing-here")
    assert missing.exit_code == 1 and "** server can't find nothing-here: NXDOMAIN" in missing.stdout


def external_name(name: str, target: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "ExternalName", "externalName": target}}


def test_external_name_is_a_cname(c: Cluster) -> None:
    """An ExternalName Service answers with a CNAME; CoreDNS follows it when it stays in the
    cluster, so a request to the alias reaches the Service it names. A name outside the
    cluster does not resolve in the simulation; a loop stops."""
    c.api.create(service())
    c.api.create(external_name("alias", "my-echo-server-service.default.svc.cluster.local."))
    c.api.create(external_name("outside", "example.com"))
    c.api.create(external_name("loop-a", "loop-b.default.svc.cluster.local"))
    c.api.create(external_name("loop-b", "loop-a.default.svc.cluster.local"))
    c.settle()
    ensure_endpoints(c)
    svc_ip = c.api.get("Service", "my-echo-server-service")["spec"]["clusterIP"]
    header = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
    result = sh(c, "nslookup alias")
    assert result.exit_code == 0 and result.stdout == header + (
        "alias.default.svc.cluster.local\tcanonical name = my-echo-server-service.default.svc.cluster.local\n"
        f"Name:\tmy-echo-server-service.default.svc.cluster.local\nAddress: {svc_ip}\n\n")
    fetched = sh(c, "wget -qO- http://alias/hi")
    assert fetched.exit_code == 0 and json.loads(fetched.stdout)["path"] == "/hi"
    assert json.loads(fetched.stdout)["os"]["hostname"].startswith("echo-")
    assert sh(c, "nslookup outside").stdout == header + \
        "outside.default.svc.cluster.local\tcanonical name = example.com\n\n"
    assert sh(c, "wget -qO- http://outside").stderr == "wget: bad address 'outside'\n"
    assert sh(c, "nslookup loop-a").stdout == header + (
        "loop-a.default.svc.cluster.local\tcanonical name = loop-b.default.svc.cluster.local\n"
        "loop-b.default.svc.cluster.local\tcanonical name = loop-a.default.svc.cluster.local\n\n")
    assert sh(c, "wget -qO- http://loop-a").stderr == "wget: bad address 'loop-a'\n"


def test_other_namespace_needs_qualified_name(c: Cluster) -> None:
    c.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    c.settle()
    c.api.create(echo_pod("far", app="far"), "other")
    svc = service("far-svc", app="far")
    c.api.create(svc, "other")
    c.settle()
    ensure_endpoints(c, "far-svc", "other")
    assert sh(c, "wget -qO- http://far-svc").stderr == "wget: bad address 'far-svc'\n"
    body = json.loads(sh(c, "wget -qO- http://far-svc.other").stdout)
    assert body["os"]["hostname"] == "far"


def test_service_without_endpoints_refuses(c: Cluster) -> None:
    c.api.create(service("empty", app="nobody"))
    c.settle()
    ensure_endpoints(c, "empty")
    ip = c.api.get("Service", "empty")["spec"]["clusterIP"]
    result = sh(c, "wget -qO- http://empty")
    assert result.stderr == f"wget: can't connect to remote host ({ip}): Connection refused\n"


def test_node_port_from_outside_on_any_node(c: Cluster) -> None:
    c.api.create(service(type_="NodePort", node_port=30001))
    c.settle()
    ensure_endpoints(c)
    for node in c.api.list("Node")["items"]:
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        status, body, served_by = c.network.request(None, f"http://{ip}:30001/")
        assert status == 200 and served_by.startswith("default/echo-")
    assert c.network.recent("default", "my-echo-server-service")[-1].via == "NodePort"
    assert c.network.recent("default", "my-echo-server-service")[-1].client == "outside"
    with pytest.raises(ConnectError) as err:
        c.network.request(None, f"http://{c.node_ip()}:30002/")
    assert "Connection refused" in str(err.value)


def test_port_from_configmap_changes_listening_port(c: Cluster) -> None:
    c.api.create(echo_pod("v2", app="v2", env=[{"name": "PORT", "value": "4000"}]))
    c.settle()
    ip = ip_of(c, "v2")
    assert sh(c, f"wget -qO- http://{ip}:4000").exit_code == 0
    assert "Connection refused" in sh(c, f"wget -qO- http://{ip}:3000").stderr


def test_pod_ips_come_from_node_cidr_and_are_released(c: Cluster) -> None:
    pods = c.api.list("Pod", "default")["items"]
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == len(ips)
    for p in pods:
        cidr = c.api.get("Node", p["spec"]["nodeName"])["spec"].get("podCIDR")
        if cidr:
            assert p["status"]["podIP"].rsplit(".", 1)[0] == cidr.rsplit(".", 1)[0]
    gone = ip_of(c, "echo-2")
    c.api.delete("Pod", "echo-2")
    c.settle()
    assert gone not in c.network.sandboxes
    assert "No route to host" in sh(c, f"wget -qO- http://{gone}:3000").stderr
