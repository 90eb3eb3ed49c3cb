"""Fidelity: kubelab's kubectl and the REAL kubectl 1.32, on the same cluster state.

One embedded cluster holds the walkthrough's objects (the notes' pod, a ReplicaSet in a
namespace, the Deployment with its ConfigMap, ClusterIP/NodePort/LoadBalancer Services, a
Secret) plus a crash-looping pod, an ImagePullBackOff pod and an unschedulable pod. A second
one holds what a learner meets after the walkthrough (WORKLOADS): Jobs that completed, failed
and still run, a CronJob, a StatefulSet behind a headless Service, a DaemonSet, a
ServiceAccount with a token Secret, pods with ConfigMap/Secret env and volumes, init
containers, a failing readiness probe and a missing ConfigMap, Deployments with resources,
stuck mid-rollout and rolled back, and a cordoned, tainted node. Each is served over HTTP;
every command runs through ``Cluster.kubectl`` and through the real binary, and their exit
codes, stdout and stderr must be identical.

Server-side Tables carry AGE from the cluster's (frozen, virtual) clock, so ``get`` needs no
care. ``describe`` computes event ages in kubectl itself from the wall clock, so the cluster
clock is set to the middle of the wall-clock second in which the real kubectl runs (object
timestamps are whole seconds, so both sides then see the same ages).
"""
from __future__ import annotations

import math
import time

import pytest
from bad_inputs import store_digest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_server import KUBECTL, SKIP_REASON, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)

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
    "api-resources", "api-resources -o wide", "api-resources -o name", "api-resources --sort-by=kind",
    "api-resources --sort-by=name --namespaced=false", "api-resources --categories=all -o wide",
    "api-resources --api-group=apps --verbs=list,watch", "api-versions",
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
    "describe pods -l app=echo-server echo-server", "describe pods/echo-server -l app=echo-server",
    "describe pods echo-server -l app=nope",
    "api-resources --sort-by=age", "api-resources -o yaml", "api-resources extra",
    "logs nope", "logs -n my-namespace-name nope", "logs deploy/nope", "logs crasher -c nope", "logs crasher nope",
    "logs -l app=echo-server -c nope",
]


# -- the second state: workloads beyond the walkthrough ------------------------------------------
WORKLOADS = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: busybox
        command: ["sh", "-c", "echo 3.14159"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: flaky
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo failing; exit 1"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: long
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: main
        image: busybox
        command: ["sleep", "86400"]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: hello
            image: busybox
            command: ["sh", "-c", "date; echo Hello"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - name: http
    port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
          name: http
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  labels:
    app: node-agent
spec:
  selector:
    matchLabels:
      app: node-agent
  template:
    metadata:
      labels:
        app: node-agent
    spec:
      containers:
      - name: agent
        image: busybox
        command: ["sleep", "86400"]
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: builder
---
apiVersion: v1
kind: Secret
metadata:
  name: builder-token
  annotations:
    kubernetes.io/service-account.name: builder
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  MODE: production
  app.properties: |
    color=blue
    size=3
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
stringData:
  API_KEY: s3cr3t
---
apiVersion: v1
kind: Pod
metadata:
  name: configured
spec:
  serviceAccountName: builder
  containers:
  - name: app
    image: busybox
    command: ["sleep", "86400"]
    env:
    - name: MODE
      valueFrom:
        configMapKeyRef:
          name: app-config
          key: MODE
    - name: API_KEY
      valueFrom:
        secretKeyRef:
          name: app-secret
          key: API_KEY
    envFrom:
    - configMapRef:
        name: app-config
      prefix: CFG_
    volumeMounts:
    - name: config
      mountPath: /etc/config
    - name: secret
      mountPath: /etc/secret
      readOnly: true
  volumes:
  - name: config
    configMap:
      name: app-config
  - name: secret
    secret:
      secretName: app-secret
---
apiVersion: v1
kind: Pod
metadata:
  name: missing-config
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "86400"]
    env:
    - name: MODE
      valueFrom:
        configMapKeyRef:
          name: no-such-config
          key: MODE
---
apiVersion: v1
kind: Pod
metadata:
  name: not-ready
spec:
  containers:
  - name: web
    image: nginx
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
      periodSeconds: 5
---
apiVersion: v1
kind: Pod
metadata:
  name: with-init
spec:
  initContainers:
  - name: setup
    image: busybox
    command: ["sh", "-c", "echo setting up"]
  containers:
  - name: app
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: init-waits
spec:
  initContainers:
  - name: wait-for-db
    image: busybox
    command: ["sleep", "86400"]
  containers:
  - name: app
    image: nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sized
spec:
  replicas: 2
  selector:
    matchLabels:
      app: sized
  template:
    metadata:
      labels:
        app: sized
    spec:
      containers:
      - name: app
        image: nginx
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
          limits:
            cpu: 250m
            memory: 128Mi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 3
  progressDeadlineSeconds: 120
  selector:
    matchLabels:
      app: stuck
  template:
    metadata:
      labels:
        app: stuck
    spec:
      containers:
      - name: app
        image: nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: undone
spec:
  replicas: 2
  selector:
    matchLabels:
      app: undone
  template:
    metadata:
      labels:
        app: undone
    spec:
      containers:
      - name: app
        image: nginx
"""
# What happens to WORKLOADS after it is applied, in order (cluster time moves between steps).
WORKLOADS_STEPS = [
    ("cordon kubelab-m03", 0), ("taint nodes kubelab-m03 dedicated=gpu:NoSchedule", 600),
    ("set image deploy/undone app=httpd", 60), ("rollout undo deploy/undone", 60),
    ("set image deploy/stuck app=nginx:no-such-tag", 20 * 60),
]
WORKLOADS_GETS = [
    "get all", "get all -o wide", "get jobs", "get jobs -o wide", "get cronjobs", "get cronjobs -o wide",
    "get sts", "get sts -o wide", "get ds", "get ds -o wide", "get sa", "get sa -A", "get cm", "get secrets",
    "get pods", "get pods -o wide", "get pods -n kube-system -o wide", "get nodes", "get nodes -o wide",
    "get deploy -o wide", "get rs -o wide", "get controllerrevisions", "get svc web -o wide", "get ep web",
    "get events --sort-by=.lastTimestamp", "get events -A --sort-by=.metadata.creationTimestamp",
    "get pods --sort-by=.status.podIP", "get pods -o name --sort-by=.spec.nodeName",
    # a path nobody has, a path that does not read, several kinds: each as kubectl 1.32 ends it
    "get pods --sort-by=.nope", "get pods -o name --sort-by=.nope", "get pods,deploy --sort-by=.metadata.name",
    "get pods --sort-by={.metadata.name", "get pods -o name --sort-by={.metadata.name", "get pods -o name --sort-by=a[",
    "get pods web-0 --sort-by=.nope",
    # TYPE/NAME: one slash, one type (splitResourceTypeName)
    "get deploy/sized,pod/web-0", "describe deploy/sized,pod/web-0", "get deploy,pod/web-0", "get deploy/",
    "get deploy//sized", "get deploy,pod sized", "get deploy/sized pod/nope",
    "events -o wide", "events --for pod/nope", "events --for pod", "events --for a/b/c", "events --for bogus/x",
    "events --types=Bogus", "events -n nope", "events -o yaml", "events -o json --for pod/web-0", "events -o name",
    "events -o jsonpath={.items[0].reason}", "events --for pod/web-0 -o go-template={{range.items}}{{.reason}}{{end}}",
]
# kubectl events computes its LAST SEEN column from the wall clock.
WORKLOADS_EVENTS = [
    "events", "events -A", "events --for pod/web-0", "events --for=deployment/stuck", "events --for deploy/stuck --types=warning",
    "events --types=Warning", "events --types=Warning,Normal -A", "events -n kube-system --no-headers",
]
WORKLOADS_YAML = [
    "get pod configured -o yaml", "get pod missing-config -o yaml", "get pod with-init -o yaml",
    "get pod init-waits -o yaml", "get pod not-ready -o yaml", "get job pi -o yaml", "get job flaky -o yaml",
    "get cronjob hello -o yaml", "get sts web -o yaml", "get ds node-agent -o yaml", "get sa builder -o yaml",
    "get secret builder-token -o yaml", "get cm kube-root-ca.crt -o yaml", "get node kubelab-m03 -o yaml",
    "get deploy sized -o yaml", "get deploy stuck -o json", "get pods -n kube-system -o yaml",
]
WORKLOADS_DESCRIBES = [
    "describe job pi", "describe job flaky", "describe job long", "describe cronjob hello", "describe sts web",
    "describe svc web", "describe ds node-agent", "describe sa builder", "describe sa default",
    "describe secret builder-token", "describe cm kube-root-ca.crt", "describe node kubelab-m03",
    "describe node kubelab", "describe pod configured", "describe pod missing-config", "describe pod not-ready",
    "describe pod with-init", "describe pod init-waits", "describe pod web-0", "describe deploy sized",
    "describe deploy stuck", "describe deploy undone", "describe rs", "describe pod -n kube-system coredns",
    "describe pod -n kube-system etcd-kubelab", "describe pod -n kube-system kube-proxy",
    "describe ds -n kube-system kube-proxy", "describe deploy -n kube-system coredns",
    "describe pods -l job-name=pi", "describe pods -l app=stuck",
]
WORKLOADS_ROLLOUTS = [
    "rollout history deploy undone", "rollout history deploy undone --revision=3", "rollout history deploy stuck",
    "rollout history sts web", "rollout history ds node-agent", "rollout history sts web --revision=1",
    "rollout history ds node-agent --revision=1", "rollout history ds node-agent --revision=7",
    "rollout history job pi", "rollout status deploy undone", "rollout status deploy stuck --watch=false",
    "rollout status sts web", "rollout status ds node-agent", "rollout status ds -n kube-system kube-proxy",
    "rollout status job pi",
    "rollout undo sts web", "rollout undo ds node-agent --to-revision=1", "rollout undo sts/web --to-revision=1",
    "rollout undo ds/node-agent --to-revision=7", "rollout undo ds node-agent", "rollout undo sts web --dry-run=client",
    "rollout undo ds -n kube-system kube-proxy", "rollout undo sts web --to-revision=-2",
    "rollout undo sts/web --to-revision=1 --dry-run=client",
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


def same_at_wall_clock(cluster: Cluster, kubectl, command: str, unordered: bool = False) -> None:
    """``same`` for commands that read the wall clock (describe's ages): the cluster is moved
    to the middle of the wall-clock second in which the real kubectl runs. ``unordered``: the
    lines may come in any order (kubectl prints them in Go map order, which is random)."""
    for _ in range(5):
        second = math.ceil(time.time()) + 1
        cluster.advance(second + 0.5 - cluster.clock.now())
        time.sleep(max(0.0, second + 0.02 - time.time()))
        if time.time() > second + 0.3:
            continue  # moving the cluster took too long: try the next second
        real = kubectl(command)
        if time.time() < second + 0.95:
            if unordered or command.startswith("describe secret"):
                # kubectl prints a Secret's data keys in Go map order, which is random
                mine = cluster.kubectl(command)
                assert sorted(mine.stdout.splitlines()) == sorted(real.stdout.splitlines())
                return
            return same(cluster, real, command)
    pytest.skip("the machine is too busy to run kubectl within one wall-clock second")


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same_at_wall_clock(cluster, kubectl, command)


@pytest.fixture(scope="module")
def workloads(tmp_path_factory):
    """WORKLOADS an hour into the cluster's life, after WORKLOADS_STEPS, served."""
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=3)
    r = cluster.kubectl("apply -f -", stdin=WORKLOADS)
    assert r.returncode == 0, r.stderr
    for command, then in WORKLOADS_STEPS:
        r = cluster.kubectl(command)
        assert r.returncode == 0, r.stderr
        cluster.advance(then)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


@pytest.mark.parametrize("command", WORKLOADS_GETS + WORKLOADS_YAML + WORKLOADS_ROLLOUTS)
def test_workloads_get_and_rollout_match_real_kubectl(workloads, command):
    cluster, kubectl = workloads
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", WORKLOADS_DESCRIBES)
def test_workloads_describe_matches_real_kubectl(workloads, command):
    cluster, kubectl = workloads
    same_at_wall_clock(cluster, kubectl, command)


@pytest.mark.parametrize("command", WORKLOADS_EVENTS)
def test_workloads_events_match_real_kubectl(workloads, command):
    cluster, kubectl = workloads
    same_at_wall_clock(cluster, kubectl, command)


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


def test_undo_of_statefulset_and_daemonset_matches_real_kubectl(tmp_path):
    """Twin clusters (same seed, same start, same steps): the real kubectl rolls one back and
    kubelab's kubectl the other, step by step; what each prints and the states they leave
    must be the same (rollback by the ControllerRevision's patch, skipped when it matches)."""
    start = int(time.time()) - 3600
    kinds = ("kind: Service\n", "kind: StatefulSet\n", "kind: DaemonSet\n")
    manifest = "---\n".join(doc for doc in WORKLOADS.split("---\n") if any(k in doc for k in kinds))

    def build() -> Cluster:
        cluster = Cluster(clock=VirtualClock(start=start), seed=4)
        for command in ("apply -f -", "set image sts/web nginx=httpd", "set image ds/node-agent agent=alpine"):
            assert cluster.kubectl(command, stdin=manifest).returncode == 0
            cluster.advance(120)
        return cluster

    theirs, mine = build(), build()
    with serve(theirs) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for command in ("rollout undo sts/web --dry-run=client", "rollout undo ds node-agent --dry-run=server",
                        "rollout undo sts/web --to-revision=2", "rollout undo sts/web", "rollout undo ds/node-agent",
                        "rollout history sts web", "rollout undo ds/node-agent --to-revision=2",
                        "rollout undo sts web --to-revision=2", "rollout history ds node-agent --revision=4",
                        "rollout undo ds/node-agent --to-revision=9", "rollout undo sts,ds --to-revision=3"):
            same(mine, kubectl(command), command)
            theirs.advance(60)
            mine.advance(60)
        for command in ("get sts,ds,controllerrevisions,pods -o wide", "get sts web -o yaml", "get ds node-agent -o yaml",
                        "rollout history sts web", "rollout history ds node-agent"):
            same(mine, kubectl(command), command)


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
    before = store_digest(cluster)
    for command in ("create deployment bad --image=Busybox",  # the container is named Busybox: refused
                    "create deployment repo --image=localhost:5000/team/App:v1 --dry-run=server -o yaml",
                    "run bad --image=Busybox"):
        real, mine = kubectl(command), cluster.kubectl(command)
        assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr), command
    assert store_digest(cluster) == before


def test_apply_prints_templates_like_real_kubectl(served):
    """apply -o jsonpath/go-template prints the template over the applied object (a List when
    there are several); --template alone prints it per object. Applying what is there changes
    nothing, so both sides print the same objects."""
    cluster, kubectl = served
    pod = STATE.split("---\n")[0]
    for argv, stdin in ((["apply", "-f", "-", "-o", "jsonpath={.kind}/{.metadata.name} {.metadata.resourceVersion}"], pod),
                        (["apply", "-f", "-", "-o", "jsonpath={.items[*].metadata.name}"], STATE),
                        (["apply", "-f", "-", "-o", 'go-template={{range .items}}{{.kind}} {{end}}'], STATE),
                        (["apply", "-f", "-", "--template", "{{.metadata.name}},"], STATE),
                        (["apply", "-f", "-", "-o", "jsonpath={.nothing}", "--allow-missing-template-keys=false"], pod),
                        (["apply", "-f", "-", "-o", "custom-columns=N:.metadata.name"], pod)):
        real = kubectl(argv, stdin=stdin)
        mine = cluster.kubectl(*argv, stdin=stdin)
        assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr), argv


# Commands that change things, run in order on twin clusters (WORKLOADS after WORKLOADS_STEPS, same
# seed and clock): the real kubectl changes one, kubelab's kubectl the other.
WORKLOADS_CHANGES = [
    # rollout history -o prints the objects that keep the revisions
    "rollout history deploy/undone -o name", "rollout history deploy/undone --revision=3 -o jsonpath={.metadata.name}",
    "rollout history sts/web -o name", "rollout history deploy/undone -o wide",
    # set image updates the containers it finds and reports each one it does not
    "set image deploy/sized nope=nginx:1", "set image deploy/sized nope=x app=nginx:1.27",
    "set image deploy/sized nope=x app=nginx:1.26 -o name", "set image deploy/sized app=nginx:1.25 --dry-run=client",
    "label pod web-0 tier=frontend", "label pod web-0 tier=backend", "label pod web-0 tier=backend --overwrite",
    "label pod web-0 tier-", "label pod web-0 tier-", "label pods -l app=stuck env=prod",
    "label deploy sized owner- team=b --overwrite", "label pod web-0 Bad_Key!=x", "label pod web-0 a=b=c",
    "label pod web-0 a=Bad!", "label pod web-0 a=b a-", "label pod web-0 a", "label pod nope a=b",
    "label pod web-0 a=b --dry-run=client -o yaml", "label pod web-0 a=b --dry-run=server -o name",
    "label pod web-0 a=b -o jsonpath={.metadata.labels.a}", "label pod web-0 --list -o yaml",
    "label deploy -l app=sized --list", "label pods -l app=stuck x- y- --dry-run=client",
    "annotate pod web-0 note=hello", "annotate pod web-0 note=again", "annotate pod web-0 note=again --overwrite",
    "annotate pod web-0 note-", "annotate pod web-0 =x", "annotate pod web-0 a=1 b- b=2 a-", "annotate pod web-0 x",
    "annotate pod web-0 a=b -o name", "annotate pod web-0 a=c --dry-run=server -o yaml",
    "annotate pod web-0 a=d --dry-run=client -o jsonpath={.metadata.annotations}", "annotate pod web-0 Bad.Key-=1",
    "annotate pod web-0 --list", "label pod web-0 --list",
    "create job manual --from=cronjob/hello", "create job manual --from=cronjob/hello",
    "create cronjob cj --image=busybox --schedule=bogus",
    "set serviceaccount deploy sized builder", "set serviceaccount deploy sized builder",
    "set sa deploy/stuck builder --dry-run=client -o yaml", "set sa deploy/stuck builder --dry-run=server -o name",
    "set sa pod/configured default", "set sa cm/app-config x", "set sa builder", "set sa", "set sa deploy/nope x",
    "set sa deploy sized undone x -o jsonpath={.spec.template.spec.serviceAccountName}",
    "expose pod web-0 --port=80 --name=web0 -o name", "expose deploy stuck", "expose deploy sized --port=80 --type=NodePort",
    "expose deploy undone --port=80 --target-port=http --name=u2 --dry-run=client -o yaml",
    "expose deploy undone --port=80,443 --name=u4 --dry-run=client -o json",
    "expose deploy undone --port=80 --name=u5 -n default --type=NodePort --dry-run=client -o yaml",
    "expose sts web --port=8080 --name=web2", "expose ds node-agent --port=80", "expose cm app-config --port=80",
    "expose rs undone-5d88879996 --port=80 --name=urs -o yaml",
    "scale deploy/sized --replicas=2 -o name", "scale deploy/sized --replicas=3 -o jsonpath={.spec.replicas}",
    "scale deploy/sized --replicas=1 --dry-run=client -o yaml", "scale deploy sized stuck --replicas=2 -o name",
    "get deploy,svc -o wide",
    "get pods --show-labels", "get pod web-0 -o yaml", "get jobs",
]


def test_changes_match_real_kubectl(tmp_path):
    start = int(time.time()) - 3600

    def build() -> Cluster:
        cluster = Cluster(clock=VirtualClock(start=start), seed=3)
        assert cluster.kubectl("apply -f -", stdin=WORKLOADS).returncode == 0
        for command, then in WORKLOADS_STEPS:
            assert cluster.kubectl(command).returncode == 0
            cluster.advance(then)
        return cluster

    theirs, mine = build(), build()
    with serve(theirs) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for command in WORKLOADS_CHANGES:
            real, ours = kubectl(command), mine.kubectl(command)
            if "--list" in command:  # kubectl lists labels and annotations in Go map order, which is random
                real.stdout, ours.stdout = sorted(real.stdout.splitlines()), sorted(ours.stdout.splitlines())
            assert (ours.returncode, ours.stdout, ours.stderr) == (real.returncode, real.stdout, real.stderr), command
            theirs.advance(5)
            mine.advance(5)


REPLACE_FILES = {
    "pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n"
                "spec: {containers: [{name: web, image: nginx:1.26}]}\n",
    "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '2'}\n",
    "missing.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\ndata: {a: '2'}\n",
}
REPLACE = [  # each on fresh twins: the live pod runs nginx:1.27, the live ConfigMap says a=1
    "replace -f {d}/cm.yaml", "replace -f {d}/cm.yaml -o name", "replace -f {d}/missing.yaml",
    "replace -f {d}/cm.yaml --dry-run=server", "replace -f {d}/cm.yaml --dry-run=client", "replace",
    "replace -f {d}/pod.yaml", "replace -f {d}/cm.yaml -f {d}/pod.yaml -o yaml --dry-run=server",
    "replace -f {d}/cm.yaml --grace-period=3", "replace -f {d}/cm.yaml --timeout=3s",
    "replace --force -f {d}/cm.yaml --dry-run=server", "replace --force -f {d}/cm.yaml",
    "replace --force -f {d}/cm.yaml -o name", "replace --force --grace-period=0 -f {d}/cm.yaml",
    "replace --force -f {d}/missing.yaml", "replace -f {d}/cm.yaml --cascade=x", "replace -f {d}/nothere.yaml",
    "replace x -f {d}/cm.yaml",
]


@pytest.mark.parametrize("line", REPLACE)
def test_replace_matches_real_kubectl(tmp_path, line):
    """kubectl replace (a PUT that takes the live resourceVersion), --force (delete, wait,
    create) and its flag rules, on twin clusters. A pod's replace --force waits on the real
    clock for the old pod to go, so it is checked in kubelab alone (test_kubectl_create)."""
    for name, text in REPLACE_FILES.items():
        (tmp_path / name).write_text(text)
    command = line.format(d=tmp_path)

    def build() -> Cluster:
        cluster = Cluster(clock="virtual", seed=3)
        assert cluster.kubectl("apply -f -", stdin=REPLACE_FILES["pod.yaml"].replace("1.26", "1.27")).returncode == 0
        assert cluster.kubectl("create configmap cfg --from-literal=a=1").returncode == 0
        cluster.settle()
        return cluster

    theirs, mine = build(), build()
    with serve(theirs) as server:
        real = Kubectl(server.kubeconfig, str(tmp_path / "home"))(command)
    ours = mine.kubectl(command)
    assert (ours.returncode, ours.stdout, ours.stderr) == (real.returncode, real.stdout, real.stderr)
