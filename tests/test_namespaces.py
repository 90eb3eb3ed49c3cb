"""Namespaces: the system ones, and termination of a namespace with everything in it."""
from __future__ import annotations

import pytest

from kubelab.api.errors import StatusError
from kubelab.cluster import Cluster
from test_deployment import deploy

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "my-namespace-name"}}


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def test_system_namespaces_exist_active_and_labelled(c):
    names = [n["metadata"]["name"] for n in c.api.list("Namespace")["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    for ns in c.api.list("Namespace")["items"]:
        assert ns["status"] == {"phase": "Active"}
        assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": ns["metadata"]["name"]}
        assert ns["spec"] == {"finalizers": ["kubernetes"]}


def test_created_namespace_gets_label_finalizer_and_phase(c):
    created = c.api.create(NS)
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "my-namespace-name"}
    assert created["spec"] == {"finalizers": ["kubernetes"]}
    assert created["status"] == {"phase": "Active"}


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_cannot_be_deleted(c, name):
    with pytest.raises(StatusError) as err:
        c.api.delete("Namespace", name)
    assert err.value.code == 403 and err.value.reason == "Forbidden"
    assert err.value.message == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert c.api.get("Namespace", name)["status"]["phase"] == "Active"
    result = c.kubectl(f"delete namespace {name}")
    assert result.stderr.strip() == (f'Error from server (Forbidden): namespaces "{name}" is forbidden: '
                                     "this namespace may not be deleted")


def test_terminating_namespace_deletes_everything_then_goes(c):
    c.api.create(NS)
    c.api.create(deploy(2), "my-namespace-name")
    c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}},
                 "my-namespace-name")
    assert c.settle()
    assert len(c.api.list("Pod", "my-namespace-name")["items"]) == 2
    marked = c.api.delete("Namespace", "my-namespace-name")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["status"]["phase"] == "Terminating"
    c.engine.drain()
    ns = c.api.get("Namespace", "my-namespace-name")
    conds = {x["type"]: (x["status"], x["reason"], x["message"]) for x in ns["status"]["conditions"]}
    assert conds["NamespaceDeletionDiscoveryFailure"] == ("False", "ResourcesDiscovered",
                                                         "All resources successfully discovered")
    assert conds["NamespaceContentRemaining"][0:2] == ("True", "SomeResourcesRemain")
    assert "pods. has 2 resource instances" in conds["NamespaceContentRemaining"][2]
    with pytest.raises(StatusError) as err:
        c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}, "my-namespace-name")
    assert err.value.code == 403
    assert c.settle()
    assert c.engine.store.get("Namespace", "", "my-namespace-name") is None
    for kind in ("Pod", "ReplicaSet", "Deployment", "ConfigMap"):
        assert c.engine.store.list(kind, "my-namespace-name") == []
    assert c.api.list("Pod", "default")["items"] == []


def test_pods_of_a_deleted_namespace_are_listed_terminating_until_they_stop(c):
    """``delete namespace --wait=false`` then ``get pods -A``: the namespace controller deletes the
    pods gracefully (no grace-period cut), so they are listed Terminating until their containers
    stop: a busybox shell ignores SIGTERM and stays for the 30 s grace period; the echo server
    exits 0.3 s after SIGTERM, so a look a second later finds it gone, as on a real cluster."""
    c.kubectl("create namespace demo")
    c.kubectl("run web --image=kennship/http-echo -n demo")
    c.kubectl("run shell --image=busybox -n demo -- sleep 3600")
    c.settle()
    assert c.kubectl("delete namespace demo --wait=false").stdout == 'namespace "demo" deleted\n'
    listed = c.kubectl("get pods -A").stdout
    assert [line.split()[3] for line in listed.splitlines() if line.startswith("demo ")] == ["Terminating"] * 2
    c.advance(1)
    listed = c.kubectl("get pods -A").stdout
    assert [line.split()[1] for line in listed.splitlines() if line.startswith("demo ")] == ["shell"]
    c.advance(30)
    assert "demo " not in c.kubectl("get pods -A").stdout
