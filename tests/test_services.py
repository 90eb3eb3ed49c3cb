"""ClusterIP and NodePort allocation behave like kube-apiserver's service registry."""
import ipaddress

import pytest

from kubelab.api.errors import StatusError
from kubelab.cluster import Cluster


@pytest.fixture
def c():
    return Cluster(clock="virtual", seed=7)


def svc(name, type_="ClusterIP", ports=None, **spec):
    ports = ports or [{"port": 80, "targetPort": 3000}]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name}, "ports": ports, **spec}}


def invalid(c, obj, update=False):
    with pytest.raises(StatusError) as err:
        (c.api.update if update else c.api.create)(obj)
    assert err.value.reason == "Invalid"
    return err.value.message


def test_system_services(c):
    k8s = c.api.get("Service", "kubernetes", "default")
    assert k8s["spec"]["clusterIP"] == "10.96.0.1"
    assert k8s["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}]
    assert "selector" not in k8s["spec"]
    dns = c.api.get("Service", "kube-dns", "kube-system")
    assert dns["spec"]["clusterIP"] == "10.96.0.10"
    assert [(p["name"], p["port"], p["protocol"]) for p in dns["spec"]["ports"]] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    ep = c.api.get("Endpoints", "kubernetes", "default")
    assert ep["subsets"][0]["addresses"] == [{"ip": "192.168.49.2"}]
    assert ep["subsets"][0]["ports"][0]["port"] == 8443


def test_cluster_ip_allocated_in_range_and_unique(c):
    ips = set()
    for i in range(40):
        out = c.api.create(svc(f"s{i}"))
        ip = out["spec"]["clusterIP"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
        assert out["spec"]["clusterIPs"] == [ip]
        # dynamic addresses come from above the static band (10.96.0.1-10.96.1.0)
        assert int(ipaddress.ip_address(ip)) - int(ipaddress.ip_address("10.96.0.0")) > 256
        ips.add(ip)
    assert len(ips) == 40


def test_same_seed_same_addresses():
    a, b = Cluster(clock="virtual", seed=3), Cluster(clock="virtual", seed=3)
    assert a.api.create(svc("x"))["spec"]["clusterIP"] == b.api.create(svc("x"))["spec"]["clusterIP"]


def test_requested_cluster_ip(c):
    assert c.api.create(svc("a", clusterIP="10.96.5.5"))["spec"]["clusterIP"] == "10.96.5.5"
    msg = invalid(c, svc("b", clusterIP="10.96.5.5"))
    assert msg == ('Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.5.5"}: '
                   "failed to allocate IP 10.96.5.5: provided IP is already allocated")
    msg = invalid(c, svc("d", clusterIP="10.96.0.1"))
    assert "provided IP is already allocated" in msg
    msg = invalid(c, svc("e", clusterIP="10.200.0.1"))
    assert msg.endswith("failed to allocate IP 10.200.0.1: the provided IP (10.200.0.1) is not in the valid "
                       "range. The range of valid IPs is 10.96.0.0/12")
    assert c.api.list("Service", "default")["items"].__len__() == 2  # kubernetes + a


def test_headless(c):
    out = c.api.create(svc("h", clusterIP="None"))
    assert out["spec"]["clusterIP"] == "None"
    assert out["spec"]["clusterIPs"] == ["None"]


def test_release_on_delete(c):
    c.api.create(svc("a", clusterIP="10.96.7.7"))
    c.api.delete("Service", "a")
    assert c.api.create(svc("b", clusterIP="10.96.7.7"))["spec"]["clusterIP"] == "10.96.7.7"


def test_dry_run_keeps_nothing(c):
    out = c.api.create(svc("a", "NodePort", [{"port": 80, "nodePort": 30001}], clusterIP="10.96.8.8"),
                       dry_run=True)
    assert out["spec"]["clusterIP"] == "10.96.8.8"
    created = c.api.create(svc("b", "NodePort", [{"port": 80, "nodePort": 30001}], clusterIP="10.96.8.8"))
    assert created["spec"]["ports"][0]["nodePort"] == 30001


def test_node_port_allocation(c):
    out = c.api.create(svc("np", "NodePort"))
    port = out["spec"]["ports"][0]["nodePort"]
    assert 30000 + 86 <= port <= 32767
    assert out["spec"]["clusterIP"]


def test_requested_node_port(c):
    ok = c.api.create(svc("a", "NodePort", [{"port": 80, "targetPort": 3000, "nodePort": 30001}]))
    assert ok["spec"]["ports"][0]["nodePort"] == 30001
    msg = invalid(c, svc("b", "NodePort", [{"port": 80, "nodePort": 30001}]))
    assert msg == 'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated'
    msg = invalid(c, svc("d", "NodePort", [{"name": "a", "port": 81, "nodePort": 30002},
                                           {"name": "b", "port": 80, "nodePort": 40000}]))
    assert msg == ('Service "d" is invalid: spec.ports[1].nodePort: Invalid value: 40000: provided port is not in '
                   "the valid range. The range of valid ports is 30000-32767")
    # a failed request keeps nothing: 30002 is still free
    assert c.api.create(svc("e", "NodePort", [{"port": 80, "nodePort": 30002}]))["spec"]["ports"][0]["nodePort"] == 30002


def test_same_port_number_two_protocols_share_a_node_port(c):
    out = c.api.create(svc("dns", "NodePort", [{"name": "u", "port": 53, "protocol": "UDP"},
                                               {"name": "t", "port": 53, "protocol": "TCP"}]))
    a, b = (p["nodePort"] for p in out["spec"]["ports"])
    assert a == b


def test_update_keeps_allocations_and_type_change_releases(c):
    out = c.api.create(svc("a", "NodePort", [{"port": 80, "nodePort": 30005}]))
    ip = out["spec"]["clusterIP"]
    # a replace that leaves out clusterIP and nodePort keeps them
    again = svc("a", "NodePort", [{"port": 80}])
    again["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
    out = c.api.update(again)
    assert out["spec"]["clusterIP"] == ip and out["spec"]["ports"][0]["nodePort"] == 30005
    # NodePort -> ClusterIP frees the node port
    out = c.api.patch("Service", "a", "default", {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}, "merge")
    assert "nodePort" not in out["spec"]["ports"][0]
    assert out["spec"]["clusterIP"] == ip
    assert c.api.create(svc("b", "NodePort", [{"port": 80, "nodePort": 30005}]))["spec"]["ports"][0]["nodePort"] == 30005
    # ClusterIP -> NodePort allocates one
    out = c.api.patch("Service", "a", "default", {"spec": {"type": "NodePort"}}, "merge")
    assert out["spec"]["ports"][0]["nodePort"] not in (None, 30005)


def test_load_balancer_stays_pending(c):
    out = c.api.create(svc("lb", "LoadBalancer"))
    assert out["spec"]["ports"][0]["nodePort"]
    assert out["status"] == {"loadBalancer": {}}
    c.settle()
    assert c.api.get("Service", "lb")["status"] == {"loadBalancer": {}}


def test_load_balancer_without_node_ports_and_local_health_check(c):
    out = c.api.create(svc("lb", "LoadBalancer", allocateLoadBalancerNodePorts=False))
    assert "nodePort" not in out["spec"]["ports"][0]
    out = c.api.create(svc("local", "LoadBalancer", externalTrafficPolicy="Local"))
    assert 30000 <= out["spec"]["healthCheckNodePort"] <= 32767
    assert out["spec"]["healthCheckNodePort"] != out["spec"]["ports"][0]["nodePort"]


def test_invalid_is_a_status_with_causes(c):
    c.api.create(svc("a", "NodePort", [{"port": 80, "nodePort": 30001}]))
    with pytest.raises(StatusError) as err:
        c.api.create(svc("b", "NodePort", [{"port": 80, "nodePort": 30001}]))
    status = err.value.to_status()
    assert status["code"] == 422 and status["details"]["kind"] == "Service"
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.ports[0].nodePort",
                                            "message": "Invalid value: 30001: provided port is already allocated"}]


def test_type_change_drops_unchanged_node_ports(c):
    """dropTypeDependentFields: ``kubectl patch -p '{"spec":{"type":"ClusterIP"}}'`` on a NodePort
    Service (its allocated nodePort still in the object) drops the port and frees it."""
    c.api.create(svc("a", "NodePort", [{"name": "http", "port": 80, "nodePort": 30100}]))
    out = c.api.patch("Service", "a", "default", {"spec": {"type": "ClusterIP"}}, "merge")
    assert out["spec"]["type"] == "ClusterIP" and "nodePort" not in out["spec"]["ports"][0]
    assert c.api.create(svc("b", "NodePort", [{"port": 80, "nodePort": 30100}]))["spec"]["ports"][0]["nodePort"] == 30100
    out = c.api.patch("Service", "a", "default", {"spec": {"type": "ExternalName", "externalName": "example.com"}},
                      "merge")
    assert "clusterIP" not in out["spec"]
