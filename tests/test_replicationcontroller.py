"""ReplicationController: defaults, validation, the controller (the ReplicaSet's, with a map
selector) and kubectl's get/describe/scale/rollout, compared with the real kubectl 1.32."""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, Kubectl

RC = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: nginx
spec:
  replicas: 3
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
"""


def test_selector_and_labels_default_from_the_template():
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl("apply -f -", stdin=RC).returncode == 0
    rc = c.client.get("ReplicationController", "nginx", "default")
    assert rc["spec"]["selector"] == {"app": "nginx"}
    assert rc["metadata"]["labels"] == {"app": "nginx"}
    c.settle(120)
    rc = c.client.get("ReplicationController", "nginx", "default")
    assert rc["status"] == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3,
                            "availableReplicas": 3, "observedGeneration": 1}
    pods = c.client.list("Pod", "default")["items"]
    assert len(pods) == 3
    assert {p["metadata"]["ownerReferences"][0]["kind"] for p in pods} == {"ReplicationController"}
    events = [e for e in c.client.list("Event", "default")["items"] if e["reason"] == "SuccessfulCreate"]
    assert {e["source"]["component"] for e in events} == {"replication-controller"}


def test_replaces_deleted_pods_and_scales_down():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=RC)
    c.settle(120)
    victim = c.client.list("Pod", "default")["items"][0]["metadata"]["name"]
    c.kubectl(f"delete pod {victim} --wait=false")
    c.settle(120)
    names = {p["metadata"]["name"] for p in c.client.list("Pod", "default")["items"]}
    assert len(names) == 3 and victim not in names
    assert c.kubectl("scale rc nginx --replicas=1").stdout == "replicationcontroller/nginx scaled\n"
    c.settle(120)
    assert len(c.client.list("Pod", "default")["items"]) == 1


def test_adopts_an_orphan_that_matches_and_releases_a_relabelled_pod():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("run lone --image=nginx --labels=app=nginx")
    c.settle(60)
    c.kubectl("apply -f -", stdin=RC)
    c.settle(120)
    pods = c.client.list("Pod", "default")["items"]
    assert len(pods) == 3
    lone = c.client.get("Pod", "lone", "default")
    assert lone["metadata"]["ownerReferences"][0]["name"] == "nginx"
    c.kubectl("label pod lone app=other --overwrite")
    c.settle(120)
    assert "ownerReferences" not in c.client.get("Pod", "lone", "default")["metadata"]
    assert len(c.client.list("Pod", "default", label_selector="app=nginx")["items"]) == 3


def test_validation_errors_as_kube_apiserver():
    c = Cluster(clock="virtual", seed=1)
    r = c.kubectl("apply -f -", stdin=RC.replace("      labels:\n        app: nginx\n", ""))
    assert (r.returncode, r.stderr) == (1, 'The ReplicationController "nginx" is invalid: spec.selector: Required value\n')
    r = c.kubectl("apply -f -", stdin=RC.replace("    spec:\n      containers:",
                                                 "    spec:\n      activeDeadlineSeconds: 5\n      containers:"))
    assert r.stderr == ('The ReplicationController "nginx" is invalid: spec.template.spec.activeDeadlineSeconds: '
                        'Forbidden: activeDeadlineSeconds in ReplicationController is not Supported\n')
    mismatch = RC.replace("  replicas: 3\n", "  replicas: 3\n  selector:\n    app: web\n")
    r = c.kubectl("apply -f -", stdin=mismatch)
    assert r.stderr == ('The ReplicationController "nginx" is invalid: spec.template.metadata.labels: Invalid value: '
                        'map[string]string{"app":"nginx"}: `selector` does not match template `labels`\n')
    never = RC.replace("      containers:", "      restartPolicy: Never\n      containers:")
    r = c.kubectl("apply -f -", stdin=never)
    assert r.stderr == ('The ReplicationController "nginx" is invalid: spec.template.spec.restartPolicy: '
                        'Unsupported value: "Never": supported values: "Always"\n')


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl binary")
def test_get_describe_scale_rollout_match_real_kubectl(tmp_path):
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=5)
    assert cluster.kubectl("apply -f -", stdin=RC).returncode == 0
    cluster.settle(120)
    cluster.advance(600)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for command in ("get rc", "get rc -o wide", "get replicationcontrollers nginx", "get all", "get rc nginx -o yaml",
                        "get rc -o name", "rollout status rc nginx", "rollout history rc/nginx",
                        "rollout undo rc/nginx", "rollout restart rc/nginx", "rollout pause rc nginx",
                        "scale rc nginx --replicas=2 --dry-run=server", "scale rc nginx --current-replicas=5 --replicas=1"):
            same(cluster, kubectl(command), command)
        same_at_wall_clock(cluster, kubectl, "describe rc nginx")
        real = kubectl("scale rc nginx --replicas=2")
        assert real.stdout == "replicationcontroller/nginx scaled\n"
        cluster.settle(120)
        for command in ("get rc -o wide", "get rc nginx -o yaml"):
            same(cluster, kubectl(command), command)
        assert len(cluster.client.list("Pod", "default")["items"]) == 2
        same(cluster, kubectl("scale rc nginx --replicas=4"), "scale rc nginx --replicas=4")
        cluster.settle(120)
        same_at_wall_clock(cluster, kubectl, "describe rc nginx")
