"""A node that stops or goes away, on the virtual clock: NotReady after the 40 s grace, the
unreachable taints, pods evicted after their 300 s toleration and stuck Terminating, pod GC
of a deleted node's pods, replacements elsewhere, and the node coming back."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.api.errors import StatusError

M02 = "kubelab-m02"


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual", seed=1, nodes=2)
    c.kubectl("create deployment web --image=nginx --replicas=4")
    c.settle(120)
    return c


def _node(c: Cluster) -> dict:
    return c.client.get("Node", M02)


def _ready(obj: dict) -> str:
    return next(x["status"] for x in obj["status"]["conditions"] if x["type"] == "Ready")


def _web(c: Cluster) -> list[dict]:
    return c.client.list("Pod", "default", label_selector="app=web")["items"]


def _on_m02(c: Cluster) -> list[dict]:
    return [p for p in _web(c) if p["spec"]["nodeName"] == M02]


def test_every_pod_gets_the_default_not_ready_and_unreachable_tolerations(cluster):
    tolerations = _web(cluster)[0]["spec"]["tolerations"]
    assert tolerations == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]


def test_a_stopped_node_goes_not_ready_after_the_40s_grace(cluster):
    c = cluster
    assert len(_on_m02(c)) == 2
    c.stop_node(M02)
    c.advance(39.9)
    assert _ready(_node(c)) == "True"
    assert "taints" not in _node(c)["spec"]
    assert all(_ready(p) == "True" for p in _on_m02(c))
    c.advance(0.2)
    node = _node(c)
    assert [(x["type"], x["status"], x["reason"], x["message"]) for x in node["status"]["conditions"]] == [
        (t, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]
    assert [(t["key"], t["effect"]) for t in node["spec"]["taints"]] == [
        ("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")]
    assert c.kubectl("get node kubelab-m02 --no-headers").stdout.split()[1] == "NotReady"
    # the pods' Ready goes False (their containers' last reported state stays: 1/1 Running)
    assert all(_ready(p) == "False" for p in _on_m02(c))
    assert all(line.split()[1:3] == ["1/1", "Running"]
               for line in c.kubectl("get pods --no-headers").stdout.splitlines())
    # the Deployment no longer counts them as available
    c.advance(1)
    status = c.client.get("Deployment", "web", "default")["status"]
    assert (status["readyReplicas"], status["availableReplicas"]) == (2, 2)
    reasons = {(e["reason"], e["source"]["component"]) for e in c.client.list("Event", "default")["items"]}
    assert ("NodeNotReady", "node-controller") in reasons


def test_pods_are_evicted_300s_after_the_taint_and_stay_terminating(cluster):
    c = cluster
    victims = {p["metadata"]["name"] for p in _on_m02(c)}
    c.stop_node(M02)
    c.advance(40.05)  # tainted now
    c.advance(299.9)
    assert not any(p["metadata"].get("deletionTimestamp") for p in _on_m02(c))
    c.advance(0.1)
    pods = {p["metadata"]["name"]: p for p in _web(c)}
    assert all(pods[n]["metadata"].get("deletionTimestamp") for n in victims)
    cond = next(x for x in pods[min(victims)]["status"]["conditions"] if x["type"] == "DisruptionTarget")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    events = [e for e in c.client.list("Event", "default")["items"] if e["reason"] == "TaintManagerEviction"]
    assert sorted(e["message"] for e in events) == sorted(f"Marking for deletion Pod default/{n}" for n in victims)
    assert {e["source"]["component"] for e in events} == {"taint-eviction-controller"}
    c.advance(600)  # nobody on the node to finish them: Terminating for ever, replacements elsewhere
    lines = c.kubectl("get pods --no-headers -o wide").stdout.splitlines()
    assert sorted(l.split()[0] for l in lines if "Terminating" in l) == sorted(victims)
    running = [l.split() for l in lines if "Running" in l]
    assert len(running) == 4 and {r[6] for r in running} == {"kubelab"}
    assert c.client.get("Deployment", "web", "default")["status"]["availableReplicas"] == 4


def test_a_pod_without_the_toleration_is_evicted_as_soon_as_the_node_is_tainted(cluster):
    c = cluster
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "short"},
           "spec": {"nodeName": M02, "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                                     "effect": "NoExecute", "tolerationSeconds": 5}],
                    "containers": [{"name": "c", "image": "nginx"}]}}
    c.client.create(pod, "default")
    c.settle(30)
    c.stop_node(M02)
    c.advance(40.05 + 4.9)
    assert not c.client.get("Pod", "short", "default")["metadata"].get("deletionTimestamp")
    c.advance(0.1)
    assert c.client.get("Pod", "short", "default")["metadata"].get("deletionTimestamp")


def test_starting_the_node_again_removes_the_taints_and_the_deleted_pods(cluster):
    c = cluster
    c.stop_node(M02)
    c.advance(400)
    assert len([p for p in _on_m02(c) if p["metadata"].get("deletionTimestamp")]) == 2
    c.start_node(M02)
    assert _ready(_node(c)) == "True"
    assert "taints" not in _node(c)["spec"]
    c.settle(60)
    assert _on_m02(c) == []  # the kubelet killed what was deleted while it was off
    assert len(_web(c)) == 4
    events = [e for e in c.client.list("Event", "default")["items"]]
    assert not any(e["reason"] == "TaintManagerEviction" and e["message"].startswith("Cancelling") for e in events)


def test_a_node_back_before_the_toleration_ends_keeps_its_pods(cluster):
    c = cluster
    names = {p["metadata"]["name"] for p in _on_m02(c)}
    c.stop_node(M02)
    c.advance(100)
    c.start_node(M02)
    c.settle(60)
    assert {p["metadata"]["name"] for p in _on_m02(c)} == names
    assert all(_ready(p) == "True" and not p["metadata"].get("deletionTimestamp") for p in _on_m02(c))
    # rebooted: new sandboxes, each container started again (restart_all's rules)
    assert [p["status"]["containerStatuses"][0]["restartCount"] for p in _on_m02(c)] == [1, 1]
    cancels = [e["message"] for e in c.client.list("Event", "default")["items"] if e["reason"] == "TaintManagerEviction"]
    assert sorted(cancels) == sorted(f"Cancelling deletion of Pod default/{n}" for n in names)
    c.advance(600)
    assert len(_web(c)) == 4 and not any(p["metadata"].get("deletionTimestamp") for p in _web(c))


def test_pods_of_a_deleted_node_are_garbage_collected_after_40s_and_replaced(cluster):
    c = cluster
    gone = {p["metadata"]["name"] for p in _on_m02(c)}
    assert c.kubectl("delete node kubelab-m02").stdout == 'node "kubelab-m02" deleted\n'
    c.advance(39.9)
    assert {p["metadata"]["name"] for p in _on_m02(c)} == gone
    c.advance(0.2)
    names = {p["metadata"]["name"] for p in _web(c)}
    assert not names & gone  # force-deleted, and the ReplicaSet made replacements at once
    created = [e for e in c.client.list("Event", "default")["items"] if e["reason"] == "SuccessfulCreate"]
    assert len(created) == 6
    c.settle(60)
    assert len(_web(c)) == 4 and {p["spec"]["nodeName"] for p in _web(c)} == {"kubelab"}
    assert c.client.get("Deployment", "web", "default")["status"]["availableReplicas"] == 4


def test_a_namespace_waits_for_a_pod_on_a_stopped_node_until_the_node_returns(cluster):
    """As on a real cluster, the namespace stays Terminating while a pod on an unreachable node
    cannot be confirmed gone; the cluster still settles (nothing more happens by itself), and
    the namespace leaves once the node is back and its kubelet finishes the pod."""
    cluster.kubectl("create namespace team")
    r = cluster.kubectl("run", "p", "-n", "team", "--image=nginx", '--overrides={"spec":{"nodeName":"%s"}}' % M02)
    assert r.returncode == 0, r.stderr
    cluster.settle(60)
    cluster.stop_node(M02)
    cluster.kubectl("delete namespace team --wait=false")
    assert cluster.settle(1800)
    ns = cluster.client.get("Namespace", "team")
    assert ns["status"]["phase"] == "Terminating"
    remaining = next(c for c in ns["status"]["conditions"] if c["type"] == "NamespaceContentRemaining")
    assert remaining["message"] == "Some resources are remaining: pods. has 1 resource instances"
    cluster.start_node(M02)
    assert cluster.settle(600)
    with pytest.raises(StatusError):
        cluster.client.get("Namespace", "team")


def test_stopping_a_node_that_does_not_exist_is_not_found(cluster):
    with pytest.raises(StatusError) as err:
        cluster.stop_node("nope")
    assert err.value.message == 'nodes "nope" not found'


def test_the_node_magic_stops_and_starts_a_node(capsys, monkeypatch):
    import kubelab.notebook as nb
    from kubelab.notebook.magics import _special

    monkeypatch.setattr(nb, "_cluster", None)  # restored afterwards: other tests' kernels stay theirs
    monkeypatch.setattr(nb, "_client", None)
    nb.use(Cluster(clock="virtual", seed=1, nodes=2))
    c = nb.cluster()
    _special(["node", "stop", M02])
    assert capsys.readouterr().out == f"node/{M02} stopped\n"
    c.advance(41)
    assert _ready(c.client.get("Node", M02)) == "Unknown"
    _special(["node", "start", M02])
    assert _ready(c.client.get("Node", M02)) == "True"
    _special(["node", "stop", "nope"])
    _special(["node", "halt", M02])
    assert capsys.readouterr() == (f"node/{M02} started\n", 'Error from server (NotFound): nodes "nope" not found\n'
                                   "error: usage: %kube node stop|start NAME\n")
