"""Endpoints and EndpointSlices for Services with selectors."""
from __future__ import annotations

import re

import pytest

from kubelab.cluster import Cluster
from controller_sim import bare_cluster, pods, run_all, set_pod
from test_replicaset import rs

SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-echo-server-service"},
       "spec": {"selector": {"app": "echo-server"}, "ports": [{"port": 80, "targetPort": 3000}]}}


@pytest.fixture
def c(monkeypatch: pytest.MonkeyPatch):
    return bare_cluster(monkeypatch)


def endpoints(c, name="my-echo-server-service"):
    return c.api.get("Endpoints", name)


def slices(c, name="my-echo-server-service"):
    return c.api.list("EndpointSlice", "default", label_selector=f"kubernetes.io/service-name={name}")["items"]


def test_ready_and_not_ready_addresses_with_target_refs(c):
    c.api.create(SVC)
    c.api.create(rs(3))
    c.engine.drain()
    ps = sorted(pods(c), key=lambda p: p["metadata"]["name"])
    ready = [set_pod(c, p, ip=f"10.244.0.{i + 10}") for i, p in enumerate(ps[:2])]
    waiting = set_pod(c, ps[2], ready=False, ip="10.244.0.20")
    c.settle()
    [subset] = endpoints(c)["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.0.10", "10.244.0.11"]
    assert subset["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "default",
                                                   "name": ready[0]["metadata"]["name"],
                                                   "uid": ready[0]["metadata"]["uid"]}
    assert subset["addresses"][0]["nodeName"] == "node-1"
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.0.20"]
    assert subset["ports"] == [{"port": 3000, "protocol": "TCP"}]
    assert waiting["metadata"]["name"] == subset["notReadyAddresses"][0]["targetRef"]["name"]


def test_endpoint_slice_conditions_labels_and_owner(c):
    svc = c.api.create(SVC)
    c.api.create(rs(2))
    c.engine.drain()
    ps = sorted(pods(c), key=lambda p: p["metadata"]["name"])
    set_pod(c, ps[0], ip="10.244.1.5")
    set_pod(c, ps[1], ready=False, ip="10.244.1.6")
    c.settle()
    [s] = slices(c)
    assert re.fullmatch(r"my-echo-server-service-[bcdfghjklmnpqrstvwxz2456789]{5}", s["metadata"]["name"])
    assert s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert s["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "", "port": 3000, "protocol": "TCP"}]
    conds = {e["addresses"][0]: e["conditions"] for e in s["endpoints"]}
    assert conds == {"10.244.1.5": {"ready": True, "serving": True, "terminating": False},
                     "10.244.1.6": {"ready": False, "serving": False, "terminating": False}}
    # a terminating pod leaves Endpoints but stays in the slice as terminating
    c.engine.store.mark_deleted("Pod", "default", ps[0]["metadata"]["name"], 30)
    c.settle()
    assert "addresses" not in endpoints(c).get("subsets", [{}])[0]
    [s] = slices(c)
    term = next(e for e in s["endpoints"] if e["addresses"] == ["10.244.1.5"])
    assert term["conditions"] == {"ready": False, "serving": True, "terminating": True}


def test_named_target_port_resolves_per_pod(c):
    svc = dict(SVC, spec={"selector": {"app": "echo-server"},
                          "ports": [{"name": "web", "port": 80, "targetPort": "http"}]})
    c.api.create(svc)
    spec = rs(1)
    spec["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080}]
    c.api.create(spec)
    c.engine.drain()
    run_all(c)
    c.settle()
    [subset] = endpoints(c)["subsets"]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]


def test_service_without_selector_is_left_alone_and_deleted_service_loses_endpoints(c):
    c.api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual"},
                  "spec": {"ports": [{"port": 80}]}})
    c.engine.drain()
    assert c.engine.store.get("Endpoints", "default", "manual") is None
    c.api.create(SVC)
    c.engine.drain()
    assert "subsets" not in endpoints(c)
    c.api.delete("Service", "my-echo-server-service")
    c.engine.drain()
    assert c.engine.store.get("Endpoints", "default", "my-echo-server-service") is None
    assert slices(c) == []


def test_full_cluster_endpoints_follow_rollout():
    c = Cluster(clock="virtual", seed=1)
    c.api.create(SVC)
    c.api.create(rs(3))
    assert c.settle()
    ips = sorted(p["status"]["podIP"] for p in pods(c))
    [subset] = endpoints(c)["subsets"]
    assert sorted(a["ip"] for a in subset["addresses"]) == ips
    assert c.kubectl("get ep my-echo-server-service").stdout.split("\n")[1].split()[1] == ",".join(
        f"{ip}:3000" for ip in sorted(ips, key=lambda s: tuple(int(x) for x in s.split("."))))
