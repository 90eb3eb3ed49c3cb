"""Fidelity: kubelab's kubectl and the REAL kubectl 1.32, on the same cluster state.

One embedded cluster holds the walkthrough's objects (the notes' pod, a ReplicaSet in a
namespace, the Deployment with its ConfigMap, ClusterIP/NodePort/LoadBalancer Services, a
Secret) plus a crash-looping pod, an ImagePullBackOff pod and an unschedulable pod. It is
served over HTTP; every command runs through ``Cluster.kubectl`` and through the real binary,
and their exit codes, stdout and stderr must be identical.

Server-side Tables carry AGE from the cluster's (frozen, virtual) clock, so ``get`` needs no
care. ``describe`` computes event ages in kubectl itself from the wall clock, so the cluster
clock is set to the middle of the wall-clock second in which the real kubectl runs (object
timestamps are whole seconds, so both sides then see the same ages).
"""
from __future__ import annotations

import math
import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_server import KUBECTL, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl binary")

STATE = """\
apiVersion: v1
kind: Pod
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  containers:
  - name: echo-server-container
    image: kennship/http-echo
---
apiVersion: v1
kind: Namespace
metadata:
  name: my-namespace-name
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: echo-server-config-v1
data:
  PORT: "3000"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  replicas: 3
  selector:
    matchLabels:
      app: echo-server
  template:
    metadata:
      labels:
        app: echo-server
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo
        envFrom:
        - configMapRef:
            name: echo-server-config-v1
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: echo-server
  namespace: my-namespace-name
  labels:
    app: echo-server
spec:
  replicas: 3
  selector:
    matchLabels:
      app: echo-server
  template:
    metadata:
      labels:
        app: echo-server
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo
---
apiVersion: v1
kind: Pod
metadata:
  name: echo-server
  namespace: my-namespace-name
  labels:
    app: echo-server
spec:
  containers:
  - name: echo-server-container
    image: kennship/http-echo
---
apiVersion: v1
kind: Service
metadata:
  name: my-echo-server-service
spec:
  type: ClusterIP
  selector:
    app: echo-server
  ports:
  - protocol: TCP
    port: 80
    targetPort: 3000
---
apiVersion: v1
kind: Service
metadata:
  name: echo-nodeport
spec:
  type: NodePort
  selector:
    app: echo-server
  ports:
  - nodePort: 30001
    protocol: TCP
    port: 80
    targetPort: 3000
---
apiVersion: v1
kind: Service
metadata:
  name: echo-lb
spec:
  type: LoadBalancer
  selector:
    app: echo-server
  ports:
  - protocol: TCP
    port: 80
    targetPort: 3000
---
apiVersion: v1
kind: Secret
metadata:
  name: db-secret
type: Opaque
data:
  password: c2VjcmV0
  user: YWRtaW4=
---
apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo boom; exit 1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-image
spec:
  containers:
  - name: main
    image: nginx:no-such-tag
---
apiVersion: v1
kind: Pod
metadata:
  name: too-big
spec:
  containers:
  - name: main
    image: nginx
    resources:
      requests:
        cpu: "100"
"""

GETS = [
    "get pods", "get pods -o wide", "get pods --show-labels", "get pods -l app=echo-server -o name",
    "get pods --field-selector=status.phase=Pending", "get pods --sort-by=.metadata.name",
    "get pod echo-server crasher", "get pods/echo-server deploy/echo-server",
    "get all", "get all -A", "get all -n my-namespace-name", "get pods -A", "get pods -A -o wide",
    "get po,svc", "get deploy,rs,po", "get deploy", "get deploy -o wide", "get rs", "get rs -A -o wide",
    "get svc", "get svc -o wide", "get svc -A", "get ep", "get ep -A", "get endpointslices",
    "get cm", "get secrets", "get ns", "get nodes", "get nodes -o wide", "get nodes --show-labels",
    "get events", "get events -A",
    "get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName",
    "get pod echo-server -o jsonpath={.status.podIP}",
]
YAML = [
    "get pod echo-server -o yaml", "get pod crasher -o yaml", "get pod bad-image -o yaml",
    "get pod too-big -o yaml", "get deploy echo-server -o yaml", "get deploy echo-server -o json",
    "get rs -n my-namespace-name echo-server -o yaml", "get svc my-echo-server-service -o yaml",
    "get svc echo-nodeport -o yaml", "get svc echo-lb -o yaml", "get cm echo-server-config-v1 -o yaml",
    "get secret db-secret -o yaml", "get ns my-namespace-name -o yaml", "get node kubelab -o yaml",
    "get endpoints my-echo-server-service -o yaml", "get pods -n my-namespace-name -o yaml",
]
DESCRIBES = [
    "describe pod echo-server", "describe pod crasher", "describe pod bad-image", "describe pod too-big",
    "describe pods -n my-namespace-name", "describe deploy echo-server",
    "describe rs -n my-namespace-name echo-server", "describe rs", "describe svc my-echo-server-service",
    "describe svc echo-nodeport", "describe svc echo-lb", "describe endpoints my-echo-server-service",
    "describe cm echo-server-config-v1", "describe secret db-secret", "describe ns my-namespace-name",
    "describe node kubelab-m02", "describe node kubelab",
]
ERRORS = [
    "get pod nope", "get pod nope -o yaml", "get pod nope echo-server -o name", "get nonsense",
    "get pods -n nope", "describe deploy nope", "describe pod nope", "delete pod nope",
    "delete deploy nope -n my-namespace-name", "get deploy nope -o json",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The cluster an hour into its life (so ages read like minutes), served, with
    kubectl's discovery cache warm."""
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    r = cluster.kubectl("apply -f -", stdin=STATE)
    assert r.returncode == 0, r.stderr
    cluster.settle(600)
    cluster.advance(20 * 60)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


def same(cluster: Cluster, real, command: str) -> None:
    mine = cluster.kubectl(command)
    assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr)


@pytest.mark.parametrize("command", GETS + YAML + ERRORS)
def test_get_output_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    for _ in range(5):
        second = math.ceil(time.time()) + 1
        cluster.advance(second + 0.5 - cluster.clock.now())
        time.sleep(max(0.0, second + 0.02 - time.time()))
        if time.time() > second + 0.3:
            continue  # moving the cluster took too long: try the next second
        real = kubectl(command)
        if time.time() < second + 0.95:
            if command.startswith("describe secret"):
                # kubectl prints a Secret's data keys in Go map order, which is random
                mine = cluster.kubectl(command)
                assert sorted(mine.stdout.splitlines()) == sorted(real.stdout.splitlines())
                return
            return same(cluster, real, command)
    pytest.skip("the machine is too busy to run kubectl within one wall-clock second")


def test_rollout_views_match_real_kubectl(tmp_path):
    """A Deployment after two image changes and mid-way through a third: history, old and
    new ReplicaSets in describe, rollout status."""
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=2)
    cluster.kubectl("apply -f -", stdin=STATE.split("---\n")[3].replace("envFrom", "env").replace(
        "        - configMapRef:\n            name: echo-server-config-v1\n", "        - {name: PORT, value: '3000'}\n"))
    cluster.settle(600)
    for image in ("nginx", "httpd"):
        cluster.kubectl(f"set image deployment/echo-server echo-server-container={image}")
        cluster.advance(60)
    cluster.kubectl("set image deployment/echo-server echo-server-container=nginx")
    cluster.advance(1)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for command in ("rollout history deploy echo-server", "rollout history deploy echo-server --revision=2",
                        "get rs", "rollout status deploy echo-server --watch=false"):
            same(cluster, kubectl(command), command)
        real = kubectl("describe deploy echo-server")
        mine = cluster.kubectl("describe deploy echo-server")
        replica_sets = [line for line in real.stdout.splitlines() if "ReplicaSets:" in line or "ReplicaSet:" in line]
        assert replica_sets == [line for line in mine.stdout.splitlines() if "ReplicaSets:" in line or "ReplicaSet:" in line]
        assert "(0/0 replicas created)" in replica_sets[0]


def test_write_commands_match_real_kubectl(served):
    """Errors of commands that would change things (and so change nothing)."""
    cluster, kubectl = served
    pod = STATE.split("---\n")[0]
    for command, stdin in (("create -f -", pod), ("apply -f -", pod.replace("name: echo-server\n", "name: Bad_Pod\n", 1)),
                           ("apply -f -", pod.replace("    image: kennship/http-echo\n",
                                                      "    image: kennship/http-echo\n    colour: red\n")),
                           ("apply -f -", pod.replace("kind: Pod", "kind: Podd"))):
        real = kubectl(command, stdin=stdin)
        mine = cluster.kubectl(command, stdin=stdin)
        assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr), command
