"""The cluster diagram, checked structurally: which boxes and arrows a given state produces."""
from __future__ import annotations

import copy
import html

import pytest

from kubelab import Cluster
from kubelab.notebook.diagram import build, config_refs, kind_names, node_id
from kubelab.api.pods import pod_status
from kubelab.notebook.display import AMBER, GREEN, RED


def meta(name, ns="default", uid=None, labels=None, owner=None, **extra):
    m = {"name": name, "namespace": ns, "uid": uid or f"uid-{ns}-{name}", "labels": labels or {},
         "creationTimestamp": "2026-01-01T00:00:00Z", **extra}
    if owner is not None:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
                                 "uid": owner["metadata"]["uid"], "controller": True}]
    return m


def running(ip):
    return {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0, "state": {"running": {}}}]}


def state():
    """A cluster in the middle of the notes: a rolled-out Deployment (old and new ReplicaSet),
    a Service, a ConfigMap and a Secret in use, one pod crash-looping, one unscheduled."""
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "echo:2",
                                         "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {
                                             "name": "web-config", "key": "mode"}}}]}],
                         "volumes": [{"name": "creds", "secret": {"secretName": "web-secret"}}]}}
    deploy = {"kind": "Deployment", "metadata": meta("web", labels={"app": "web"},
                                                     annotations={"deployment.kubernetes.io/revision": "2"}),
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
              "status": {"readyReplicas": 1}}
    old_rs = {"kind": "ReplicaSet", "metadata": meta("web-111", labels={"app": "web"}, owner=deploy,
                                                     annotations={"deployment.kubernetes.io/revision": "1"}),
              "spec": {"replicas": 0, "template": template}, "status": {}}
    new_rs = {"kind": "ReplicaSet", "metadata": meta("web-222", labels={"app": "web"}, owner=deploy,
                                                     annotations={"deployment.kubernetes.io/revision": "2"}),
              "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 1}}

    def pod(name, node, status):
        return {"kind": "Pod", "metadata": meta(name, labels={"app": "web"}, owner=new_rs),
                "spec": {**copy.deepcopy(template["spec"]), **({"nodeName": node} if node else {})},
                "status": status}

    crash = {"phase": "Running", "podIP": "10.244.1.5",
             "containerStatuses": [{"name": "web", "ready": False, "restartCount": 4,
                                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
    pods = [pod("web-222-aaaaa", "node-a", running("10.244.0.4")),
            pod("web-222-bbbbb", "node-b", crash),
            pod("web-222-ccccc", None, {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]})]
    other = {"kind": "Pod", "metadata": meta("db-0", ns="data", labels={"app": "db"}),
             "spec": {"nodeName": "node-a", "containers": [{"name": "db", "image": "postgres",
                                                            "envFrom": [{"secretRef": {"name": "db-pass"}}]}]},
             "status": running("10.244.0.9")}
    svc = {"kind": "Service", "metadata": meta("web-svc"),
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.10.20",
                    "ports": [{"port": 80, "targetPort": 3000, "protocol": "TCP", "nodePort": 30080}]}}
    k8s_svc = {"kind": "Service", "metadata": meta("kubernetes"),
               "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 443, "targetPort": 6443}]}}
    nodes = [{"kind": "Node", "metadata": {"name": n, "uid": n},
              "status": {"addresses": [{"type": "InternalIP", "address": f"192.168.49.{i + 2}"}],
                         "conditions": [{"type": "Ready", "status": "True" if n != "node-c" else "Unknown"}]}}
             for i, n in enumerate(("node-a", "node-b", "node-c"))]
    return {
        "Node": nodes, "Pod": pods + [other], "Deployment": [deploy], "ReplicaSet": [old_rs, new_rs],
        "Service": [svc, k8s_svc],
        "ConfigMap": [{"kind": "ConfigMap", "metadata": meta("web-config")},
                      {"kind": "ConfigMap", "metadata": meta("kube-root-ca.crt")}],
        "Secret": [{"kind": "Secret", "metadata": meta("web-secret")},
                   {"kind": "Secret", "metadata": meta("db-pass", ns="data")}],
    }


def test_ownership_selection_and_config_edges():
    d = build(state(), namespace="default")
    assert d.has_edge("Deployment/default/web", "ReplicaSet/default/web-222", "owns")
    assert d.has_edge("Deployment/default/web", "ReplicaSet/default/web-111", "owns")
    for p in ("aaaaa", "bbbbb", "ccccc"):
        pod = f"Pod/default/web-222-{p}"
        assert d.has_edge("ReplicaSet/default/web-222", pod, "owns")
        assert d.has_edge("Service/default/web-svc", pod, "selects")
        assert d.has_edge("ConfigMap/default/web-config", pod, "configures")
        assert d.has_edge("Secret/default/web-secret", pod, "configures")
    labels = {e[3] for e in d.edges if e[2] == "selects"}
    assert labels == {"80→3000"}
    assert {e[3] for e in d.edges if e[0].startswith("ConfigMap/")} == {"env"}
    assert {e[3] for e in d.edges if e[0].startswith("Secret/")} == {"volume"}
    # an unused ConfigMap and a selector-less Service stay out of the picture
    assert "ConfigMap/default/kube-root-ca.crt" not in d.nodes
    assert "Service/default/kubernetes" not in d.nodes
    # other namespaces are filtered out
    assert "Pod/data/db-0" not in d.nodes


def test_pods_sit_in_their_node_and_unscheduled_apart():
    d = build(state(), namespace="default")
    assert d.groups["node node-a"] == ["Pod/default/web-222-aaaaa"]
    assert d.groups["node node-b"] == ["Pod/default/web-222-bbbbb"]
    assert d.groups["node node-c"] == []  # an empty node still shows
    assert d.notes["node node-a"] == "192.168.49.2" and d.notes["node node-c"] == "192.168.49.4 NotReady"
    assert d.groups["unscheduled (Pending)"] == ["Pod/default/web-222-ccccc"]
    assert set(d.groups["namespace default"]) == {
        "Deployment/default/web", "ReplicaSet/default/web-111", "ReplicaSet/default/web-222",
        "Service/default/web-svc", "ConfigMap/default/web-config", "Secret/default/web-secret"}


def test_pod_colour_follows_kubectl_status():
    d = build(state(), namespace="default")
    assert (d.nodes["Pod/default/web-222-aaaaa"]["status"], d.nodes["Pod/default/web-222-aaaaa"]["colour"]) \
        == ("Running", GREEN)
    assert (d.nodes["Pod/default/web-222-bbbbb"]["status"], d.nodes["Pod/default/web-222-bbbbb"]["colour"]) \
        == ("CrashLoopBackOff", RED)
    assert (d.nodes["Pod/default/web-222-ccccc"]["status"], d.nodes["Pod/default/web-222-ccccc"]["colour"]) \
        == ("Pending", AMBER)


def test_all_namespaces_are_grouped():
    d = build(state())
    assert "Pod/data/db-0" in d.nodes and "Secret/data/db-pass" in d.nodes
    assert d.has_edge("Secret/data/db-pass", "Pod/data/db-0", "configures")
    assert "namespace data" in d.groups and "namespace default" in d.groups
    assert "Pod/data/db-0" in d.groups["node node-a"]
    assert d.nodes["Pod/data/db-0"]["label"].startswith("data/db-0")  # pods name their namespace


def test_label_selector_keeps_matching_pods_and_what_relates_to_them():
    d = build(state(), selector="app=db")
    assert d.ids("Pod") == ["Pod/data/db-0"]
    assert d.names("Secret") == {"db-pass"}
    assert not d.names("Deployment") and not d.names("Service")


def test_kind_filter():
    d = build(state(), namespace="default", kinds=kind_names(["deploy,rs"]))
    assert set(d.nodes) == {"Deployment/default/web", "ReplicaSet/default/web-111", "ReplicaSet/default/web-222"}
    assert [e[2] for e in d.edges] == ["owns", "owns"]
    with pytest.raises(ValueError, match='resource type "bogus"'):
        kind_names(["bogus"])


def test_focus_keeps_applied_objects_and_their_pods():
    d = build(state(), focus={("Deployment", "default", "web")})
    assert d.names("Deployment") == {"web"}
    assert d.names("ReplicaSet") == {"web-111", "web-222"}
    assert len(d.ids("Pod")) == 3
    assert not d.names("Service")
    only_svc = build(state(), focus={("Service", "default", "web-svc")})
    assert only_svc.names("Service") == {"web-svc"} and len(only_svc.ids("Pod")) == 3
    assert not only_svc.names("Deployment")


def test_config_refs_reads_env_envfrom_and_volumes():
    pod = {"spec": {"containers": [{"env": [{"valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}],
                                    "envFrom": [{"configMapRef": {"name": "c1"}}]}],
                    "volumes": [{"configMap": {"name": "c2"}},
                                {"projected": {"sources": [{"secret": {"name": "s2"}}]}}]}}
    assert config_refs(pod) == [("Secret", "s1", "env"), ("ConfigMap", "c1", "envFrom"),
                                ("ConfigMap", "c2", "volume"), ("Secret", "s2", "volume")]


def test_pod_status_reasons():
    terminating = {"metadata": {"deletionTimestamp": "x"}, "status": {"phase": "Running"}}
    assert pod_status(terminating) == "Terminating"
    init = {"spec": {"initContainers": [{}, {}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"state": {"terminated": {"exitCode": 0}}}, {"state": {"running": {}}}]}}
    assert pod_status(init) == "Init:1/2"
    creating = {"status": {"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert pod_status(creating) == "ContainerCreating"


def test_svg_renders_without_dot():
    d = build(state())
    svg = html.unescape(d._repr_mimebundle_()["image/svg+xml"])
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "web-222-aaaaa" in svg and "CrashLoopBackOff" in svg
    assert d.summary().startswith("<all namespaces") or "Pod" in d.summary()


def test_two_hundred_pods_render():
    """The timing (< 1 s) is measured in bench/bench_visuals.py; here: everything is drawn."""
    base = state()
    pods = []
    for i in range(200):
        p = copy.deepcopy(base["Pod"][0])
        p["metadata"]["name"] = f"web-222-{i:05d}"
        p["metadata"]["uid"] = f"p{i}"
        p["spec"]["nodeName"] = f"node-{'abc'[i % 3]}"
        pods.append(p)
    base["Pod"] = pods
    d = build(base, expand=True)
    svg = html.unescape(d.svg())
    assert len(d.ids("Pod")) == 200
    assert all(f"web-222-{i:05d}" in svg for i in range(200))


def test_a_big_replicaset_is_one_box_per_node_until_expanded():
    """60 pods (one crash-looping) read as three boxes, one per node, counting statuses; the
    Service's and the ReplicaSet's arrows go to the boxes; expand=True draws every pod."""
    base = state()
    pods = []
    for i in range(60):
        p = copy.deepcopy(base["Pod"][1 if i == 7 else 0])
        p["metadata"]["name"], p["metadata"]["uid"] = f"web-222-{i:05d}", f"p{i}"
        p["spec"]["nodeName"] = f"node-{'abc'[i % 3]}"
        pods.append(p)
    base["Pod"] = pods
    d = build(base, "default")
    groups = d.ids("PodGroup")
    assert not d.ids("Pod") and len(groups) == 3
    assert sum(len(d.nodes[g]["pods"]) for g in groups) == 60
    b = d.nodes["Pods/default/web-222/node-b"]
    assert b["statuses"] == {"Running": 19, "CrashLoopBackOff": 1} and b["colour"] == RED
    assert b["label"].startswith("20 pods of web-222\n19 Running\n1 CrashLoopBackOff")
    assert d.nodes["Pods/default/web-222/node-a"]["colour"] == GREEN
    assert d.groups["node node-b"] == ["Pods/default/web-222/node-b"]
    for g in groups:
        assert d.has_edge("ReplicaSet/default/web-222", g, "owns") and d.has_edge("Service/default/web-svc", g)
    assert len(d.edges) == len(set(d.edges))
    assert "20 pods of web-222" in html.unescape(d.svg())
    assert len(build(base, "default", expand=True).ids("Pod")) == 60
    # the HTML carries the expanded picture too, hidden until a box of pods is clicked
    assert d.expanded is not None and len(d.expanded.ids("Pod")) == 60 and not d.expanded.ids("PodGroup")
    page = html.unescape(d.html())
    grouped, expanded = page.split('class="kubelab-view kubelab-view-expanded" style="display:none"')
    assert page.count('class="node kubelab-pod-group"') == 3 and "web-222-00007" not in grouped
    assert all(f"web-222-{i:05d}" in expanded for i in range(60))
    assert "onclick=" in page and "click a box of pods to draw each of its 60 pods" in grouped
    assert build(base, "default", expand=True).expanded is None  # nothing folded, one view
    assert "kubelab-view" not in build(state(), "default").html()


def test_namespace_is_named_once():
    """The picture's title said "namespace default" above a box that says it too."""
    d = build(state(), "default", title="namespace default")
    assert "namespace default" in d.groups and d.graph.graph_attr["label"] == ""
    assert build(state(), None, title="all namespaces").graph.graph_attr["label"] == "all namespaces"


def test_pictures_print_a_pods_status_as_kubectl_does():
    """The diagram, the dashboard and the route view use kubectl's printPod (api.pods), not a
    shorter copy: a gated pod is SchedulingGated (not Pending), a pod whose init containers are
    done is PodInitializing (not Init:0/1)."""
    from kubelab.notebook.dashboard import pod_row
    from kubelab.notebook.route import route

    c = Cluster(clock="virtual", seed=12)
    c.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gated", "labels": {"app": "g"}},
                     "spec": {"schedulingGates": [{"name": "example.com/wait"}],
                              "containers": [{"name": "c", "image": "nginx"}]}})
    c.client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "g"},
                     "spec": {"selector": {"app": "g"}, "ports": [{"port": 80}]}})
    c.settle()
    gated = c.client.get("Pod", "gated")
    initializing = {"kind": "Pod", "metadata": {"name": "init", "namespace": "default", "uid": "u1"},
                    "spec": {"initContainers": [{"name": "i", "image": "busybox"}],
                             "containers": [{"name": "c", "image": "nginx"}], "nodeName": "kubelab"},
                    "status": {"phase": "Pending",
                               "initContainerStatuses": [{"name": "i", "state": {"terminated": {"exitCode": 0}}}],
                               "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "PodInitializing"}}}]}}
    for pod, expected in ((gated, "SchedulingGated"), (initializing, "PodInitializing")):
        printed = c.kubectl(f"get pod {pod['metadata']['name']}").stdout if pod is gated else None
        table = c.client.table("Pod", [pod])
        kubectl_status = table["rows"][0]["cells"][2]
        assert kubectl_status == expected and (printed is None or expected in printed)
        d = build({"Pod": [pod], "Node": c.client.list("Node")["items"]})
        assert d.nodes[node_id(pod)]["status"] == expected
        assert pod_row(pod, c.client.now())[2] == expected
    assert "SchedulingGated" in route(c.client, "g").source
