"""StatefulSets: ordered start and stop, stable names and DNS behind a headless Service,
Parallel pod management, rolling updates with a partition, ControllerRevisions, and kubectl."""
from __future__ import annotations

import pytest

from kubelab.cluster import Cluster

WEB = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: POLICY
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: echo
        image: ealen/echo-server:0.9.2
        readinessProbe:
          httpGet: {path: /, port: 80}
"""


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def ok(c: Cluster, cmd: str, stdin: str | None = None) -> str:
    r = c.kubectl(cmd, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pods(c: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in c.api.list("Pod", "default", "app=web")["items"]
                  if not p["metadata"].get("deletionTimestamp"))


def run(c: Cluster, name: str, *command: str) -> str:
    c.kubectl("run", name, "--image=busybox", "--restart=Never", "--", *command)
    c.advance(15)
    return ok(c, f"logs {name}")


def test_pods_start_one_at_a_time_with_stable_names(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "OrderedReady"))
    c.advance(2)
    assert pods(c) == ["web-0"]  # web-1 waits for web-0 to be Running and Ready
    c.advance(60)
    assert pods(c) == ["web-0", "web-1", "web-2"]
    assert ok(c, "get sts") == "NAME   READY   AGE\nweb    3/3     62s\n"
    assert ok(c, "get sts -o wide") == (
        "NAME   READY   AGE   CONTAINERS   IMAGES\n"
        "web    3/3     62s   echo         ealen/echo-server:0.9.2\n")
    sts = c.api.get("StatefulSet", "web")
    revision = sts["status"]["currentRevision"]
    assert sts["status"] == {"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                             "updatedReplicas": 3, "availableReplicas": 3, "currentRevision": revision,
                             "updateRevision": revision, "collisionCount": 0}
    pod = c.api.get("Pod", "web-1")
    assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "web"
    assert pod["metadata"]["labels"] == {"app": "web", "controller-revision-hash": revision,
                                         "statefulset.kubernetes.io/pod-name": "web-1",
                                         "apps.kubernetes.io/pod-index": "1"}
    assert ok(c, "get controllerrevisions") == (
        "NAME             CONTROLLER             REVISION   AGE\n"
        f"{revision}   statefulset.apps/web   1          62s\n")
    assert ok(c, "describe sts web") == """\
Name:               web
Namespace:          default
CreationTimestamp:  Thu, 01 Jan 2026 00:00:00 +0000
Selector:           app=web
Labels:             <none>
Annotations:        <none>
Replicas:           3 desired | 3 total
Update Strategy:    RollingUpdate
  Partition:        0
Pods Status:        3 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=web
  Containers:
   echo:
    Image:         ealen/echo-server:0.9.2
    Port:          <none>
    Host Port:     <none>
    Readiness:     http-get http://:80/ delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Volume Claims:     <none>
Events:
  Type    Reason            Age   From                    Message
  ----    ------            ----  ----                    -------
  Normal  SuccessfulCreate  62s   statefulset-controller  create Pod web-0 in StatefulSet web successful
  Normal  SuccessfulCreate  59s   statefulset-controller  create Pod web-1 in StatefulSet web successful
  Normal  SuccessfulCreate  55s   statefulset-controller  create Pod web-2 in StatefulSet web successful
"""


def test_each_pod_has_a_dns_name_behind_the_headless_service(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "OrderedReady"))
    c.advance(60)
    ip = c.api.get("Pod", "web-1")["status"]["podIP"]
    assert run(c, "dns", "nslookup", "web-1.web.default.svc.cluster.local") == (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
        f"Name:\tweb-1.web.default.svc.cluster.local\nAddress: {ip}\n\n")
    assert '"os":{"hostname":"web-2"}' in run(c, "get", "wget", "-qO-", "http://web-2.web/")
    # a pod replaced under the same name keeps its DNS name
    c.kubectl("delete pod web-2")
    c.advance(60)
    assert pods(c) == ["web-0", "web-1", "web-2"]
    assert '"os":{"hostname":"web-2"}' in run(c, "again", "wget", "-qO-", "http://web-2.web.default.svc.cluster.local/")


def test_scale_down_removes_the_highest_ordinal_first(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "OrderedReady"))
    c.advance(60)
    assert ok(c, "scale sts web --replicas=1") == "statefulset.apps/web scaled\n"
    c.advance(0.1)
    assert [p["metadata"]["name"] for p in c.api.list("Pod", "default", "app=web")["items"]
            if p["metadata"].get("deletionTimestamp")] == ["web-2"]  # web-1 waits for web-2 to go
    c.advance(60)
    assert pods(c) == ["web-0"]
    events = ok(c, "describe sts web").split("Events:\n")[1].splitlines()
    assert [e.split(None, 4)[4] for e in events[-2:]] == [
        "delete Pod web-2 in StatefulSet web successful", "delete Pod web-1 in StatefulSet web successful"]


def test_parallel_starts_every_pod_at_once(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "Parallel"))
    c.advance(0.1)
    assert pods(c) == ["web-0", "web-1", "web-2"]


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "OrderedReady"))
    c.advance(60)
    first = c.api.get("StatefulSet", "web")["status"]["currentRevision"]
    ok(c, "patch sts web --type=merge -p '{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":1}}}}'")
    ok(c, "patch sts web --type=json -p '[{\"op\":\"replace\",\"path\":"
          "\"/spec/template/spec/containers/0/image\",\"value\":\"ealen/echo-server:latest\"}]'")
    c.advance(120)
    status = c.api.get("StatefulSet", "web")["status"]
    second = status["updateRevision"]
    assert second != first and status["currentRevision"] == first
    images = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
              for p in c.api.list("Pod", "default", "app=web")["items"]}
    assert images == {"web-0": "ealen/echo-server:0.9.2", "web-1": "ealen/echo-server:latest",
                      "web-2": "ealen/echo-server:latest"}
    assert (status["currentReplicas"], status["updatedReplicas"]) == (1, 2)
    ok(c, "patch sts web --type=merge -p '{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":0}}}}'")
    c.advance(60)
    status = c.api.get("StatefulSet", "web")["status"]
    assert status["currentRevision"] == status["updateRevision"] == second
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    revisions = {r["metadata"]["name"]: r["revision"] for r in c.api.list("ControllerRevision", "default")["items"]}
    assert revisions == {first: 1, second: 2}


def test_rollout_status_waits_for_every_pod(c):
    ok(c, "apply -f -", WEB.replace("POLICY", "OrderedReady"))
    assert ok(c, "rollout status sts/web") == (
        "Waiting for 3 pods to be ready...\n"
        "Waiting for 2 pods to be ready...\n"
        "Waiting for 1 pods to be ready...\n"
        "partitioned roll out complete: 3 new pods have been updated...\n")
    r = c.kubectl("rollout status cj/x")
    assert r.stderr == 'Error from server (NotFound): cronjobs.batch "x" not found\n'
    ok(c, "create cronjob x --image=busybox --schedule=@daily")
    assert c.kubectl("rollout status cj/x").stderr == "error: no status viewer has been implemented for CronJob.batch\n"


def test_revisions_carry_the_hash_label_and_the_sets_annotations(c):
    """history.NewControllerRevision labels a StatefulSet's revision with
    controller.kubernetes.io/hash (the hash in its name) and newRevision copies the set's
    annotations; the pods carry controller-revision-hash with the revision's full name."""
    ok(c, "apply -f -", WEB.replace("POLICY", "Parallel"))
    c.settle()
    [revision] = c.api.list("ControllerRevision", "default")["items"]
    name = revision["metadata"]["name"]
    assert revision["metadata"]["labels"] == {"app": "web", "controller.kubernetes.io/hash": name[len("web-"):]}
    assert "kubectl.kubernetes.io/last-applied-configuration" in revision["metadata"]["annotations"]
    assert c.api.get("Pod", "web-0")["metadata"]["labels"]["controller-revision-hash"] == name
