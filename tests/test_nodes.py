"""Nodes look like minikube's: names, addresses, pod CIDRs, capacity, conditions."""
import pytest

from kubelab.cluster import Cluster
from kubelab.engine import nodes


def nodes_of(cluster):
    return {n["metadata"]["name"]: n for n in cluster.api.list("Node")["items"]}


def test_default_three_nodes_named_like_minikube():
    c = Cluster(clock="virtual", seed=1)
    got = nodes_of(c)
    assert sorted(got) == ["kubelab", "kubelab-m02", "kubelab-m03"]
    first, second = got["kubelab"], got["kubelab-m02"]
    assert nodes.internal_ip(first) == "192.168.49.2"
    assert nodes.internal_ip(second) == "192.168.49.3"
    assert c.node_ip() == "192.168.49.2"
    assert c.node_ip("kubelab-m03") == "192.168.49.4"
    assert first["spec"]["podCIDR"] == "10.244.0.0/24"
    assert second["spec"]["podCIDR"] == "10.244.1.0/24"
    assert {"type": "Hostname", "address": "kubelab-m02"} in second["status"]["addresses"]
    assert "node-role.kubernetes.io/control-plane" in first["metadata"]["labels"]
    assert "node-role.kubernetes.io/control-plane" not in second["metadata"]["labels"]
    assert "taints" not in first["spec"]  # minikube does not taint its control plane
    labels = second["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "kubelab-m02"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
    assert "topology.kubernetes.io/zone" not in labels
    status = first["status"]
    assert status["capacity"]["cpu"] == "2" and status["capacity"]["pods"] == "110"
    assert status["allocatable"]["memory"] == "4015008Ki"
    ready = [cond for cond in status["conditions"] if cond["type"] == "Ready"][0]
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert [cond["type"] for cond in status["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure",
                                                               "Ready"]
    assert status["nodeInfo"]["kubeletVersion"] == "v1.32.0"
    assert status["nodeInfo"]["containerRuntimeVersion"].startswith("docker://")
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250


def test_minikube_single_node():
    c = Cluster(clock="virtual", nodes="minikube")
    got = nodes_of(c)
    assert list(got) == ["minikube"]
    assert c.node_ip() == "192.168.49.2"


def test_count():
    c = Cluster(clock="virtual", nodes=5)
    assert sorted(nodes_of(c))[-1] == "kubelab-m05"


def test_custom_nodes():
    c = Cluster(clock="virtual", nodes=[
        {"name": "big", "cpu": 8, "memory": "32Gi", "zone": "eu-1a"},
        {"name": "gpu", "labels": {"accelerator": "nvidia"},
         "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}], "pods": 20},
    ])
    got = nodes_of(c)
    assert got["big"]["status"]["capacity"]["cpu"] == "8"
    assert got["big"]["status"]["allocatable"]["memory"] == "32Gi"
    assert got["big"]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "eu-1a"
    assert got["gpu"]["spec"]["taints"] == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert got["gpu"]["metadata"]["labels"]["accelerator"] == "nvidia"
    assert got["gpu"]["status"]["capacity"]["pods"] == "20"


@pytest.mark.parametrize("spec, message", [
    ([{"name": "a"}, {"name": "a"}], "duplicate node name 'a'"),
    ([{"name": "Bad_Name"}], "not a valid node name"),
    ([{"name": "a", "cpu": "lots"}], "quantities must match"),
    ([{"name": "a", "taints": [{"key": "k", "effect": "Sometimes"}]}], "effect"),
    ([{"name": "a", "gpus": 1}], "unknown field"),
    (0, "at least one node"),
    ("kind", "nodes must be"),
    ([], "at least one node"),
])
def test_bad_node_descriptions(spec, message):
    with pytest.raises(ValueError, match=message):
        Cluster(clock="virtual", nodes=spec)


def test_cordon_taints_and_uncordon_untaints():
    c = Cluster(clock="virtual")
    c.api.patch("Node", "kubelab-m02", None, {"spec": {"unschedulable": True}}, "merge")
    c.settle()
    node = c.api.get("Node", "kubelab-m02")
    assert node["spec"]["taints"][0]["key"] == "node.kubernetes.io/unschedulable"
    assert node["spec"]["taints"][0]["effect"] == "NoSchedule"
    c.api.patch("Node", "kubelab-m02", None, {"spec": {"unschedulable": None}}, "merge")
    c.settle()
    assert "taints" not in c.api.get("Node", "kubelab-m02")["spec"]
