"""The DaemonSet controller and minikube's kube-system, through the full cluster."""
from __future__ import annotations

import re

from kubelab import Cluster

DS = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: logger
spec:
  selector:
    matchLabels:
      app: logger
  template:
    metadata:
      labels:
        app: logger
    spec:
      containers:
      - name: main
        image: {image}
"""


def pods(c: Cluster, ns: str = "default") -> list[dict]:
    return sorted(c.client.list("Pod", ns)["items"], key=lambda p: p["spec"].get("nodeName", ""))


def ready(pod: dict) -> bool:
    return any(x["type"] == "Ready" and x["status"] == "True" for x in pod["status"].get("conditions", []))


def test_kube_system_is_up_like_minikube():
    c = Cluster(clock="virtual", seed=1)
    system = c.client.list("Pod", "kube-system")["items"]
    names = sorted(p["metadata"]["name"] for p in system)
    assert [n for n in names if not n.startswith(("coredns-", "kube-proxy-"))] == [
        "etcd-kubelab", "kube-apiserver-kubelab", "kube-controller-manager-kubelab", "kube-scheduler-kubelab",
        "storage-provisioner"]
    assert len([n for n in names if re.fullmatch(r"coredns-[a-z0-9]+-[a-z0-9]{5}", n)]) == 1
    proxies = [p for p in system if p["metadata"]["name"].startswith("kube-proxy-")]
    assert sorted(p["spec"]["nodeName"] for p in proxies) == ["kubelab", "kubelab-m02", "kubelab-m03"]
    assert all(p["status"]["phase"] == "Running" and ready(p) for p in system)
    # host-network pods use the node's address; CoreDNS has a pod IP, and kube-dns routes to it
    for p in proxies:
        node = c.client.get("Node", p["spec"]["nodeName"])
        assert p["status"]["podIP"] == node["status"]["addresses"][0]["address"]
    dns = next(p for p in system if p["metadata"]["name"].startswith("coredns-"))
    assert dns["spec"]["containers"][0]["image"] == "registry.k8s.io/coredns/coredns:v1.11.3"
    assert dns["spec"]["priority"] == 2000000000
    endpoints = c.client.get("Endpoints", "kube-dns", "kube-system")
    assert endpoints["subsets"][0]["addresses"][0]["ip"] == dns["status"]["podIP"]
    # static pods: mirrors owned by their Node, with kubeadm's requests, no token volume
    etcd = c.client.get("Pod", "etcd-kubelab", "kube-system")
    assert etcd["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert "kubernetes.io/config.mirror" in etcd["metadata"]["annotations"]
    assert etcd["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "100Mi"}
    assert not any(v["name"].startswith("kube-api-access-") for v in etcd["spec"]["volumes"])
    requests = {p["metadata"]["name"]: p["spec"]["containers"][0]["resources"].get("requests", {}).get("cpu")
                for p in system}
    assert [requests[f"kube-{n}-kubelab"] for n in ("apiserver", "controller-manager", "scheduler")] == \
        ["250m", "200m", "100m"]
    # nothing of it shows in the learner's namespace, and it is older than anything the learner makes
    assert c.kubectl("get pods").stderr == "No resources found in default namespace.\n"
    r = c.kubectl("get ds -n kube-system")
    assert r.stdout == ("NAME         DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE\n"
                        "kube-proxy   3         3         3       3            3           kubernetes.io/os=linux   60s\n")


def test_one_pod_per_node_and_taints_keep_it_off_unless_tolerated():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("taint nodes kubelab-m03 dedicated=gpu:NoSchedule")
    assert c.kubectl("apply -f -", stdin=DS.format(image="nginx")).stdout == "daemonset.apps/logger created\n"
    c.settle()
    found = pods(c)
    assert [p["spec"]["nodeName"] for p in found] == ["kubelab", "kubelab-m02"]
    pod = found[0]
    assert pod["metadata"]["name"].startswith("logger-")
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kubelab"]}]}]}
    assert {t["key"] for t in pod["spec"]["tolerations"]} >= {"node.kubernetes.io/unschedulable",
                                                               "node.kubernetes.io/disk-pressure"}
    status = c.client.get("DaemonSet", "logger")["status"]
    assert status == {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2,
                      "numberMisscheduled": 0, "numberReady": 2, "observedGeneration": 1,
                      "updatedNumberScheduled": 2}
    # the taint goes: the third node gets its pod; a cordon does not stop a DaemonSet
    c.kubectl("cordon kubelab-m03")
    c.kubectl("taint nodes kubelab-m03 dedicated-")
    c.settle()
    assert [p["spec"]["nodeName"] for p in pods(c)] == ["kubelab", "kubelab-m02", "kubelab-m03"]
    # a node label the template selects: pods leave the nodes without it
    c.kubectl("patch", "ds", "logger", "-p", '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}')
    c.kubectl("label node kubelab-m02 disk=ssd")
    c.settle()
    assert [p["spec"]["nodeName"] for p in pods(c)] == ["kubelab-m02"]


def test_deleted_pods_come_back_and_a_new_template_rolls_out_one_node_at_a_time():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=DS.format(image="nginx"))
    c.settle()
    first = pods(c)[0]["metadata"]["name"]
    c.kubectl(f"delete pod {first}")
    c.settle()
    assert len(pods(c)) == 3 and first not in {p["metadata"]["name"] for p in pods(c)}
    seen: list[int] = []

    def count_old(event, obj, old):
        if obj["kind"] == "Pod" and obj["metadata"].get("labels", {}).get("app") == "logger":
            live = [p for p in c.engine.store.list("Pod", "default")
                    if p["spec"]["containers"][0]["image"] == "nginx" and not p["metadata"].get("deletionTimestamp")]
            seen.append(len(live))

    c.engine.store.subscribe(count_old)
    c.kubectl("set image ds/logger main=nginx:1.27")
    c.settle()
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.27" for p in pods(c)) and len(pods(c)) == 3
    # maxUnavailable 1: old pods go one at a time, each after the previous node's new pod is available
    assert sorted(set(seen), reverse=True) == [2, 1, 0] and all(a - b <= 1 for a, b in zip(seen, seen[1:]))
    ds = c.client.get("DaemonSet", "logger")
    assert ds["status"]["updatedNumberScheduled"] == 3 and ds["status"]["observedGeneration"] == 2
    # deleting the DaemonSet takes its pods
    c.kubectl("delete ds logger")
    c.settle()
    assert pods(c) == []


def test_a_noschedule_taint_keeps_running_pods_a_noexecute_one_evicts_them():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=DS.format(image="nginx"))
    c.settle()
    c.kubectl("taint nodes kubelab-m03 dedicated=gpu:NoSchedule")
    c.settle()
    assert [p["spec"]["nodeName"] for p in pods(c)] == ["kubelab", "kubelab-m02", "kubelab-m03"]
    status = c.client.get("DaemonSet", "logger")["status"]
    assert (status["desiredNumberScheduled"], status["numberMisscheduled"]) == (2, 1)
    c.kubectl("taint nodes kubelab-m03 dedicated=gpu:NoExecute")
    c.settle()
    assert [p["spec"]["nodeName"] for p in pods(c)] == ["kubelab", "kubelab-m02"]


def test_each_template_is_a_controller_revision_that_rollout_history_lists():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=DS.format(image="nginx"))
    c.settle()
    c.kubectl("set image ds/logger main=httpd")
    c.settle()
    c.kubectl("set image ds/logger main=nginx")  # back to the first template: it becomes revision 3
    c.settle()
    revisions = c.client.list("ControllerRevision", "default")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]
    first = next(r for r in revisions if r["revision"] == 3)
    hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in pods(c)}
    assert hashes == {first["metadata"]["labels"]["controller-revision-hash"]}
    assert first["metadata"]["name"] == "logger-" + hashes.pop()
    assert c.kubectl("rollout history ds logger").stdout == (
        "daemonset.apps/logger \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n")
    assert "Image:\tnginx" in c.kubectl("rollout history ds logger --revision=3").stdout
