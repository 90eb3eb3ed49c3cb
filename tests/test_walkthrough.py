"""The notes' whole walkthrough, every command in order, with kubectl 1.32's complete output.

Each chapter is one scenario on its own virtual-clock cluster. Expected texts are written
from kubectl 1.32's formats (tabwriter columns padded by three spaces, its messages and exit
codes); what a real cluster makes up at random (pod and ReplicaSet hashes, IPs, ages,
container IDs, pull times) is read from the cluster's state and put into the text, never
blurred away.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest

from kubelab import Cluster
from kubelab.kubectl.gosort import go_sort

POD = """apiVersion: v1
kind: Pod
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  containers:
  - name: echo-server-container
    image: kennship/http-echo
"""
NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: my-namespace-name
"""
REPLICASET = """apiVersion: apps/v1
kind: ReplicaSet
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
"""
DEPLOYMENT = REPLICASET.replace("kind: ReplicaSet", "kind: Deployment")
ENV_FROM = """        envFrom:
        - configMapRef:
            name: echo-server-config-{v}
"""
CLUSTER_IP = """apiVersion: v1
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
"""
NODE_PORT = """apiVersion: v1
kind: Service
metadata:
  name: my-echo-server-service
spec:
  type: NodePort
  selector:
    app: echo-server
  ports:
  - nodePort: 30001
    protocol: TCP
    port: 80
    targetPort: 3000
"""
LOAD_BALANCER = NODE_PORT.replace("type: NodePort", "type: LoadBalancer")
CONFIG_V1 = """apiVersion: v1
kind: ConfigMap
metadata:
  name: echo-server-config-v1
data:
  PORT: "3000"
"""
CONFIG_V2 = """apiVersion: v1
kind: ConfigMap
metadata:
  name: echo-server-config-v2
data:
  PORT: "4000"
"""
PROMPT = "If you don't see a command prompt, try pressing enter.\n"


# -- the formats, written independently of kubelab's printers ---------------------------------
def table(*rows: tuple, pad: int = 3) -> str:
    """kubectl's table text: every column but the last padded to its widest cell plus 3
    (``describe`` writes its tables with a padding of 2)."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "".join("".join(f"{str(cell):<{w + pad}}" for cell, w in zip(r[:-1], widths)) + f"{r[-1]}\n"
                   for r in rows)


def human(seconds: float) -> str:
    """apimachinery's duration.HumanDuration for the ranges a walkthrough reaches."""
    s = int(seconds)
    if s < 120:
        return f"{max(s, 0)}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    return f"{s // 3600}h{minutes % 60}m" if minutes % 60 else f"{s // 3600}h"


def epoch(ts: str) -> float:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def rfc1123z(ts: str) -> str:
    return datetime.fromtimestamp(epoch(ts), tz=timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


class Walk:
    """One learner's session: runs kubectl and reads what the cluster made up."""

    def __init__(self, tmp_path) -> None:
        self.c = Cluster(clock="virtual", seed=1)
        self.dir = tmp_path

    def file(self, name: str, text: str) -> str:
        (self.dir / name).write_text(text)
        return str(self.dir / name)

    def run(self, line: str, stdin: str | None = None, out: str = "", err: str = "", code: int = 0) -> None:
        r = self.c.kubectl(line, stdin=stdin)
        assert r.stdout == out, line
        assert (r.stderr, r.returncode) == (err, code), line

    def obj(self, kind: str, name: str, ns: str = "default") -> dict:
        return self.c.client.get(kind, name, ns)

    def pods(self, ns: str = "default", prefix: str = "") -> list[dict]:
        items = self.c.client.list("Pod", ns)["items"]
        return sorted((p for p in items if p["metadata"]["name"].startswith(prefix)),
                      key=lambda p: p["metadata"]["name"])

    def age(self, obj_or_ts) -> str:
        ts = obj_or_ts if isinstance(obj_or_ts, str) else obj_or_ts["metadata"]["creationTimestamp"]
        return human(self.c.clock.now() - epoch(ts))

    def pod_row(self, pod: dict, status: str = "Running", ready: str = "1/1", wide: bool = False) -> tuple:
        row = (pod["metadata"]["name"], ready, status, "0", self.age(pod))
        if wide:
            row += (pod["status"].get("podIP", "<none>"), pod["spec"].get("nodeName", "<none>"), "<none>", "<none>")
        return row

    def created_order(self, pod: str) -> str:
        """Pods a controller made in one instant list in the order it made them: the name of its
        SuccessfulCreate event (client-go names events by the nanosecond)."""
        return next(e["metadata"]["name"] for e in self.c.client.list("Event", "default")["items"]
                    if e["reason"] == "SuccessfulCreate" and e["message"].endswith(f" {pod}"))

    def rs_name(self, deploy: str = "echo-server") -> str:
        """The Deployment's newest ReplicaSet (pod-template-hash suffix)."""
        uid = self.obj("Deployment", deploy)["metadata"]["uid"]
        mine = [rs for rs in self.c.client.list("ReplicaSet", "default")["items"]
                if any(ref["uid"] == uid for ref in rs["metadata"].get("ownerReferences", []))]
        newest = max(mine, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
        return newest["metadata"]["name"]

    def busybox(self, script: str, out: str, code: int = 0) -> None:
        """``kubectl run -it busybox --rm`` with the learner's typing on stdin. The shell ends
        with its last command's status; a failure is the pod's exit code, and kubectl's."""
        ended = "pod default/busybox terminated (Error)\n" if code else ""
        self.run("run busybox --image=busybox --rm -it --restart=Never", stdin=script,
                 out=out + 'pod "busybox" deleted\n', err=PROMPT + ended, code=code)

    def watch_busybox(self) -> dict:
        """Remember the throw-away busybox pod's IP and when it was deleted (it is gone after)."""
        seen: dict = {}

        def listener(event, obj, old):
            if obj.get("kind") == "Pod" and obj["metadata"]["name"] == "busybox":
                if obj.get("status", {}).get("podIP"):
                    seen["ip"] = obj["status"]["podIP"]
                if obj["metadata"].get("deletionTimestamp") and "deleted_at" not in seen:
                    seen["deleted_at"] = self.c.clock.now()

        self.c.engine.store.subscribe(listener)
        return seen


def echo(host: str, client_ip: str, pod: str) -> str:
    """The JSON kennship/http-echo answers with (no trailing newline)."""
    return json.dumps({"path": "/", "headers": {"host": host, "user-agent": "Wget", "accept": "*/*",
                                                "connection": "close"},
                       "method": "GET", "body": "", "cookies": {}, "fresh": False,
                       "hostname": host.split(":")[0], "ip": f"::ffff:{client_ip}", "ips": [],
                       "protocol": "http", "query": {}, "subdomains": [], "xhr": False,
                       "os": {"hostname": pod}}, separators=(",", ":"))


@pytest.fixture
def w(tmp_path) -> Walk:
    return Walk(tmp_path)


# -- Pods ----------------------------------------------------------------------------------------
def test_pods_chapter(w: Walk):
    path = w.file("echo-server.yaml", POD)
    w.run(f"apply -f {path}", out="pod/echo-server created\n")
    pod = w.obj("Pod", "echo-server")
    w.run("get pods", out=table(("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
                                w.pod_row(pod, "ContainerCreating", "0/1")))
    w.c.settle()
    pod = w.obj("Pod", "echo-server")
    w.run("get pods", out=table(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), w.pod_row(pod)))
    w.run("get pods -o wide", out=table(
        ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
        w.pod_row(pod, wide=True)))
    ip, node = pod["status"]["podIP"], pod["spec"]["nodeName"]

    seen = w.watch_busybox()
    r = w.c.kubectl("run busybox --image=busybox --rm -it --restart=Never", stdin=f"wget -qO- {ip}:3000\nexit\n")
    assert (r.returncode, r.stderr) == (0, PROMPT)
    assert r.stdout == echo(f"{ip}:3000", seen["ip"], "echo-server") + 'pod "busybox" deleted\n'
    asked_at = seen["deleted_at"]
    with pytest.raises(Exception):
        w.obj("Pod", "busybox")

    # describe: every line, with what the cluster made up read from the pod and its events
    pod = w.obj("Pod", "echo-server")
    status = pod["status"]["containerStatuses"][0]
    created = pod["metadata"]["creationTimestamp"]
    started = status["state"]["running"]["startedAt"]
    node_ip = pod["status"]["hostIP"]
    # the ServiceAccount admission plugin's token volume, named with a random suffix
    access = pod["spec"]["volumes"][0]["name"]
    assert access.startswith("kube-api-access-") and len(access) == len("kube-api-access-") + 5
    pulled = next(e for e in w.c.client.list("Event", "default")["items"]
                  if e["reason"] == "Pulled" and e["involvedObject"]["name"] == "echo-server")
    took = pulled["message"].split(" in ")[1].split(" ")[0]
    events = table(("Type", "Reason", "Age", "From", "Message"),
                   ("----", "------", "----", "----", "-------"),
                   ("Normal", "Scheduled", w.age(created), "default-scheduler",
                    f"Successfully assigned default/echo-server to {node}"),
                   ("Normal", "Pulling", w.age(created), "kubelet", 'Pulling image "kennship/http-echo"'),
                   ("Normal", "Pulled", w.age(pulled["lastTimestamp"]), "kubelet",
                    f'Successfully pulled image "kennship/http-echo" in {took} ({took} including waiting). '
                    "Image size: 28740914 bytes."),
                   ("Normal", "Created", w.age(started), "kubelet", "Created container: echo-server-container"),
                   ("Normal", "Started", w.age(started), "kubelet", "Started container echo-server-container"), pad=2)
    w.run("describe pod echo-server", out=f"""\
Name:             echo-server
Namespace:        default
Priority:         0
Service Account:  default
Node:             {node}/{node_ip}
Start Time:       {rfc1123z(created)}
Labels:           app=echo-server
Annotations:      <none>
Status:           Running
IP:               {ip}
IPs:
  IP:  {ip}
Containers:
  echo-server-container:
    Container ID:   {status["containerID"]}
    Image:          kennship/http-echo
    Image ID:       {status["imageID"]}
    Port:           <none>
    Host Port:      <none>
    State:          Running
      Started:      {rfc1123z(started)}
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from {access} (ro)
Conditions:
  Type                        Status
  PodReadyToStartContainers   True 
  Initialized                 True 
  Ready                       True 
  ContainersReady             True 
  PodScheduled                True 
Volumes:
  {access}:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    ConfigMapOptional:       <nil>
    DownwardAPI:             true
QoS Class:                   BestEffort
Node-Selectors:              <none>
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
""" + "".join("  " + line + "\n" for line in events.splitlines()))

    stamp = datetime.fromtimestamp(int(asked_at), tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    w.run("logs echo-server", out=f'Listening on port 3000\n::ffff:{seen["ip"]} - - [{stamp}] "GET / HTTP/1.1" '
                                  f'200 {len(echo(f"{ip}:3000", seen["ip"], "echo-server"))} "-" "Wget"\n')

    r = w.c.kubectl("get pod echo-server -o yaml")
    assert r.returncode == 0
    last_applied = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "annotations": {}, "labels": {"app": "echo-server"}, "name": "echo-server", "namespace": "default"},
        "spec": {"containers": [{"image": "kennship/http-echo", "name": "echo-server-container"}]}},
        separators=(",", ":"))
    ready_at = next(c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert r.stdout == f"""\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {last_applied}
  creationTimestamp: "{created}"
  labels:
    app: echo-server
  name: echo-server
  namespace: default
  resourceVersion: "{pod["metadata"]["resourceVersion"]}"
  uid: {pod["metadata"]["uid"]}
spec:
  containers:
  - image: kennship/http-echo
    imagePullPolicy: Always
    name: echo-server-container
    resources: {{}}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      name: {access}
      readOnly: true
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  nodeName: {node}
  preemptionPolicy: PreemptLowerPriority
  priority: 0
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {{}}
  serviceAccount: default
  serviceAccountName: default
  terminationGracePeriodSeconds: 30
  tolerations:
  - effect: NoExecute
    key: node.kubernetes.io/not-ready
    operator: Exists
    tolerationSeconds: 300
  - effect: NoExecute
    key: node.kubernetes.io/unreachable
    operator: Exists
    tolerationSeconds: 300
  volumes:
  - name: {access}
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken:
          expirationSeconds: 3607
          path: token
      - configMap:
          items:
          - key: ca.crt
            path: ca.crt
          name: kube-root-ca.crt
      - downwardAPI:
          items:
          - fieldRef:
              apiVersion: v1
              fieldPath: metadata.namespace
            path: namespace
status:
  conditions:
  - lastTransitionTime: "{created}"
    status: "True"
    type: PodReadyToStartContainers
  - lastProbeTime: null
    lastTransitionTime: "{created}"
    status: "True"
    type: Initialized
  - lastProbeTime: null
    lastTransitionTime: "{ready_at}"
    status: "True"
    type: Ready
  - lastProbeTime: null
    lastTransitionTime: "{ready_at}"
    status: "True"
    type: ContainersReady
  - lastProbeTime: null
    lastTransitionTime: "{created}"
    status: "True"
    type: PodScheduled
  containerStatuses:
  - containerID: {status["containerID"]}
    image: docker.io/kennship/http-echo:latest
    imageID: {status["imageID"]}
    lastState: {{}}
    name: echo-server-container
    ready: true
    restartCount: 0
    started: true
    state:
      running:
        startedAt: "{started}"
  hostIP: {node_ip}
  hostIPs:
  - ip: {node_ip}
  phase: Running
  podIP: {ip}
  podIPs:
  - ip: {ip}
  qosClass: BestEffort
  startTime: "{created}"
"""
    # the notes' `exec -it echo-server bash`: kubectl 1.32 wants `--`, and the image has no bash
    w.run("exec -it echo-server bash", code=1,
          err="error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n"
              "See 'kubectl exec -h' for help and examples\n")
    w.run("exec -it echo-server -- bash", code=126,
          err='OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": '
              "executable file not found in $PATH: unknown\ncommand terminated with exit code 126\n")
    w.run("exec -it echo-server -- sh", stdin="hostname\n", out="echo-server\n")
    w.run("exec echo-server -- printenv HOSTNAME", out="echo-server\n")
    w.run("attach -it busybox", code=1, err='Error from server (NotFound): pods "busybox" not found\n')
    w.run("delete pod echo-server", out='pod "echo-server" deleted\n')
    w.run("get pods", err="No resources found in default namespace.\n")


# -- Namespaces ----------------------------------------------------------------------------------
def test_namespaces_chapter(w: Walk):
    w.run("create namespace my-namespace", out="namespace/my-namespace created\n")
    path = w.file("namespace.yaml", NAMESPACE)
    w.run(f"apply -f {path}", out="namespace/my-namespace-name created\n")
    w.run(f"apply -f {path}", out="namespace/my-namespace-name unchanged\n")
    w.run("create namespace my-namespace", code=1,
          err='Error from server (AlreadyExists): namespaces "my-namespace" already exists\n')
    # created imperatively, then applied: kubectl patches the missing annotation in and says so
    w.run("create namespace third", out="namespace/third created\n")
    w.run("apply -f -", stdin=NAMESPACE.replace("my-namespace-name", "third"), out="namespace/third configured\n",
          err="Warning: resource namespaces/third is missing the kubectl.kubernetes.io/last-applied-configuration "
              "annotation which is required by kubectl apply. kubectl apply should only be used on resources "
              "created declaratively by either kubectl create --save-config or kubectl apply. The missing "
              "annotation will be patched automatically.\n")
    names = ["default", "kube-node-lease", "kube-public", "kube-system", "my-namespace", "my-namespace-name", "third"]
    w.run("get namespaces", out=table(("NAME", "STATUS", "AGE"),
                                      *((n, "Active", w.age(w.obj("Namespace", n, ""))) for n in names)))

    pod_file = w.file("echo-server.yaml", POD)
    w.run(f"apply -f {pod_file} -n my-namespace-name", out="pod/echo-server created\n")
    w.c.settle()
    w.run("get pods", err="No resources found in default namespace.\n")
    pod = w.obj("Pod", "echo-server", "my-namespace-name")
    w.run("get pods -n my-namespace-name", out=table(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), w.pod_row(pod)))
    # minikube's own pods run in kube-system: CoreDNS, the control plane, kube-proxy, the provisioner
    system = w.pods("kube-system")
    assert {p["metadata"]["name"].rsplit("-", 1)[0] for p in system} >= {
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "storage"}
    w.run("get pods --all-namespaces", out=table(("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"),
                                                 *(("kube-system",) + w.pod_row(p) for p in system),
                                                 ("my-namespace-name",) + w.pod_row(pod)))
    w.run("get pod echo-server", code=1, err='Error from server (NotFound): pods "echo-server" not found\n')
    # metadata.namespace in the file wins over the default, and must agree with -n
    in_file = POD.replace("  name: echo-server\n", "  name: echo-server\n  namespace: my-namespace\n", 1)
    w.run("apply -f -", stdin=in_file, out="pod/echo-server created\n")
    assert w.obj("Pod", "echo-server", "my-namespace")
    w.run("apply -n third -f -", stdin=in_file, code=1,
          err="error: the namespace from the provided object \"my-namespace\" does not match the namespace "
              "\"third\". You must pass '--namespace=my-namespace' to perform this operation.\n")
    # a namespace that is not there
    w.run("apply -n nowhere -f -", stdin=POD, code=1,
          err='Error from server (NotFound): error when creating "STDIN": namespaces "nowhere" not found\n')
    w.run("get pods -n nowhere", err="No resources found in nowhere namespace.\n")
    w.run("delete namespace my-namespace-name", out='namespace "my-namespace-name" deleted\n')
    w.run("get pods -A", out=table(("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"),
                                   *(("kube-system",) + w.pod_row(p) for p in w.pods("kube-system")),
                                   ("my-namespace",) + w.pod_row(w.obj("Pod", "echo-server", "my-namespace"))))


# -- ReplicaSets ---------------------------------------------------------------------------------
def test_replicaset_chapter(w: Walk):
    w.run("apply -f -", stdin=POD, out="pod/echo-server created\n")
    w.c.settle()
    bare_uid = w.obj("Pod", "echo-server")["metadata"]["uid"]
    path = w.file("echo-server-rs.yaml", REPLICASET)
    w.run(f"apply -f {path}", out="replicaset.apps/echo-server created\n")
    w.c.settle()
    rs = w.obj("ReplicaSet", "echo-server")
    w.run("get replicasets", out=table(("NAME", "DESIRED", "CURRENT", "READY", "AGE"),
                                       ("echo-server", "3", "3", "3", w.age(rs))))
    w.run("get rs -o wide", out=table(("NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
                                      ("echo-server", "3", "3", "3", w.age(rs), "echo-server-container",
                                       "kennship/http-echo", "app=echo-server")))
    pods = w.pods()
    # the bare pod was adopted: exactly two new pods, with a random suffix
    assert [p["metadata"]["name"] == "echo-server" for p in pods] == [True, False, False]
    assert pods[0]["metadata"]["uid"] == bare_uid
    assert pods[0]["metadata"]["ownerReferences"][0]["name"] == "echo-server"
    assert all(len(p["metadata"]["name"]) == len("echo-server-") + 5 for p in pods[1:])
    w.run("get pods", out=table(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), *map(w.pod_row, pods)))
    created = [p["metadata"]["name"] for p in pods[1:]]
    events = table(("Type", "Reason", "Age", "From", "Message"), ("----", "------", "----", "----", "-------"),
                   *(("Normal", "SuccessfulCreate", w.age(rs), "replicaset-controller", f"Created pod: {n}")
                     for n in sorted(created, key=w.created_order)), pad=2)
    w.run("describe rs echo-server", out="""\
Name:         echo-server
Namespace:    default
Selector:     app=echo-server
Labels:       app=echo-server
Annotations:  <none>
Replicas:     3 current / 3 desired
Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=echo-server
  Containers:
   echo-server-container:
    Image:         kennship/http-echo
    Port:          <none>
    Host Port:     <none>
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Events:
""" + "".join("  " + line + "\n" for line in events.splitlines()))

    victim = created[1]
    w.run(f"delete pod {victim}", out=f'pod "{victim}" deleted\n')
    w.c.settle()
    pods = w.pods()
    assert len(pods) == 3 and victim not in [p["metadata"]["name"] for p in pods]
    w.run("get pods", out=table(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), *map(w.pod_row, pods)))

    w.file("echo-server-rs.yaml", REPLICASET.replace("replicas: 3", "replicas: 5"))
    w.run(f"apply -f {path}", out="replicaset.apps/echo-server configured\n")
    w.run(f"apply -f {path}", out="replicaset.apps/echo-server unchanged\n")
    w.c.settle()
    w.run("get rs", out=table(("NAME", "DESIRED", "CURRENT", "READY", "AGE"), ("echo-server", "5", "5", "5", w.age(rs))))
    w.file("echo-server-rs.yaml", REPLICASET.replace("replicas: 3", "replicas: 2"))
    w.run(f"apply -f {path}", out="replicaset.apps/echo-server configured\n")
    w.c.settle()
    assert len(w.pods()) == 2
    w.run("scale rs echo-server --replicas=1", out="replicaset.apps/echo-server scaled\n")
    w.c.settle()
    assert len(w.pods()) == 1

    w.run("delete replicaset echo-server", out='replicaset.apps "echo-server" deleted\n')
    w.c.settle()
    w.run("get pods", err="No resources found in default namespace.\n")
    w.run("get rs", err="No resources found in default namespace.\n")


# -- Deployments ---------------------------------------------------------------------------------
DEPLOY_HEAD = ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
RS_HEAD = ("NAME", "DESIRED", "CURRENT", "READY", "AGE")
POD_HEAD = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")


def rolled_out(lines: list[str], name: str = "echo-server") -> str:
    """``rollout status`` of a 3-replica rolling update (maxSurge 1, maxUnavailable 0): one line
    per change of the Deployment's status the watch sees, as kubectl prints them."""
    wait = f'Waiting for deployment "{name}" rollout to finish: '
    return "".join(wait + line + "\n" for line in lines) + f'deployment "{name}" successfully rolled out\n'


ROLLING = ["1 out of 3 new replicas have been updated..."] * 3 + \
          ["2 out of 3 new replicas have been updated..."] * 3 + \
          ["1 old replicas are pending termination..."] * 2


def history(*revisions: int, name: str = "echo-server") -> str:
    return (f"deployment.apps/{name} \n" +
            table(("REVISION", "CHANGE-CAUSE"), *((str(r), "<none>") for r in revisions), pad=2) + "\n")


def test_deployment_chapter(w: Walk):
    w.run("apply -f -", stdin=REPLICASET, out="replicaset.apps/echo-server created\n")
    w.c.settle()
    w.run("delete replicaset echo-server", out='replicaset.apps "echo-server" deleted\n')
    w.c.settle()
    path = w.file("echo-server-deployment.yaml", DEPLOYMENT)
    w.run(f"apply -f {path}", out="deployment.apps/echo-server created\n")
    deploy = w.obj("Deployment", "echo-server")
    w.run("get deploy", out=table(DEPLOY_HEAD, ("echo-server", "0/3", "3", "0", w.age(deploy))))
    w.c.settle()
    w.run("get deploy", out=table(DEPLOY_HEAD, ("echo-server", "3/3", "3", "3", w.age(deploy))))
    rs1 = w.rs_name()
    hash1 = rs1.rsplit("-", 1)[1]
    w.run("get deploy -o wide", out=table(DEPLOY_HEAD + ("CONTAINERS", "IMAGES", "SELECTOR"),
                                          ("echo-server", "3/3", "3", "3", w.age(deploy), "echo-server-container",
                                           "kennship/http-echo", "app=echo-server")))
    w.run("get rs", out=table(RS_HEAD, (rs1, "3", "3", "3", w.age(deploy))))
    w.run("get rs -o wide", out=table(RS_HEAD + ("CONTAINERS", "IMAGES", "SELECTOR"),
                                      (rs1, "3", "3", "3", w.age(deploy), "echo-server-container",
                                       "kennship/http-echo", f"app=echo-server,pod-template-hash={hash1}")))
    pods = w.pods()
    assert [p["metadata"]["name"].rsplit("-", 1)[0] for p in pods] == [rs1] * 3
    w.run("get pods", out=table(POD_HEAD, *map(w.pod_row, pods)))
    w.run("get deploy,rs", out=table(DEPLOY_HEAD, ("deployment.apps/echo-server", "3/3", "3", "3", w.age(deploy)))
          + "\n" + table(RS_HEAD, (f"replicaset.apps/{rs1}", "3", "3", "3", w.age(deploy))))
    w.run("rollout status deployment echo-server", out='deployment "echo-server" successfully rolled out\n')
    w.run("rollout history deploy echo-server", out=history(1))

    # a new image: a second ReplicaSet, rolled over pod by pod
    w.file("echo-server-deployment.yaml", DEPLOYMENT.replace("image: kennship/http-echo", "image: kennship/http-echo:latest"))
    w.run(f"apply -f {path}", out="deployment.apps/echo-server configured\n")
    w.run("rollout status deploy/echo-server", out=rolled_out(ROLLING))
    rs2 = w.rs_name()
    hash2 = rs2.rsplit("-", 1)[1]
    w.run("get rs", out=table(RS_HEAD, *sorted([(rs1, "0", "0", "0", w.age(deploy)),
                                                (rs2, "3", "3", "3", w.age(w.obj("ReplicaSet", rs2)))])))
    w.run("rollout history deploy echo-server", out=history(1, 2))
    w.run("rollout history deploy echo-server --revision=2", out=f"""\
deployment.apps/echo-server with revision #2
Pod Template:
  Labels:\tapp=echo-server
\tpod-template-hash={hash2}
  Containers:
   echo-server-container:
    Image:\tkennship/http-echo:latest
    Port:\t<none>
    Host Port:\t<none>
    Environment:\t<none>
    Mounts:\t<none>
  Volumes:\t<none>
  Node-Selectors:\t<none>
  Tolerations:\t<none>

""")
    w.run("rollout history deploy echo-server --revision=7", code=1, err="error: unable to find the specified revision\n")
    w.run("rollout undo deploy echo-server", out="deployment.apps/echo-server rolled back\n")
    w.run("rollout status deploy echo-server", out=rolled_out(ROLLING))
    assert w.rs_name() == rs1
    w.run("rollout history deploy echo-server", out=history(2, 3))
    w.run("rollout undo deploy echo-server --to-revision=3", out="deployment.apps/echo-server skipped rollback "
                                                                   "(current template already matches revision 3)\n")
    w.run("rollout undo deploy echo-server --to-revision=1", code=1,
          err="error: unable to find specified revision 1 in history\n")
    w.run("rollout undo deploy echo-server --to-revision=2", out="deployment.apps/echo-server rolled back\n")
    w.c.settle()
    w.run("rollout history deploy echo-server", out=history(3, 4))
    assert w.rs_name() == rs2
    deploy = w.obj("Deployment", "echo-server")
    conditions = {c["type"]: c for c in deploy["status"]["conditions"]}
    scaling = [e for e in w.c.client.list("Event", "default")["items"]
               if e["involvedObject"]["name"] == "echo-server" and e["involvedObject"]["kind"] == "Deployment"]
    # the second roll-over repeats the first one's messages: client-go counts them on the same Event
    scaling.sort(key=lambda e: e["firstTimestamp"])
    steps = [f"Scaled up replica set {rs2} from 0 to 1", f"Scaled down replica set {rs1} from 3 to 2",
             f"Scaled up replica set {rs2} from 1 to 2", f"Scaled down replica set {rs1} from 2 to 1",
             f"Scaled up replica set {rs2} from 2 to 3", f"Scaled down replica set {rs1} from 1 to 0"]
    back = [f"Scaled up replica set {rs1} from 0 to 1", f"Scaled down replica set {rs2} from 3 to 2",
            f"Scaled up replica set {rs1} from 1 to 2", f"Scaled down replica set {rs2} from 2 to 1",
            f"Scaled up replica set {rs1} from 2 to 3", f"Scaled down replica set {rs2} from 1 to 0"]
    assert [(e["message"], e["count"]) for e in scaling] == (
        [(f"Scaled up replica set {rs1} from 0 to 3", 1)] + [(m, 2) for m in steps] + [(m, 1) for m in back])
    # kubectl orders them with Go's (unstable) sort.Sort by last time, from the API's name order
    scaling = go_sort(sorted(scaling, key=lambda e: e["metadata"]["name"]),
                      lambda a, b: a["lastTimestamp"] < b["lastTimestamp"])
    events = table(("Type", "Reason", "Age", "From", "Message"), ("----", "------", "----", "----", "-------"),
                   *(("Normal", "ScalingReplicaSet",
                      w.age(e["lastTimestamp"]) if e.get("count", 1) == 1 else
                      f'{w.age(e["lastTimestamp"])} (x{e["count"]} over {w.age(e["firstTimestamp"])})',
                      "deployment-controller", e["message"]) for e in scaling), pad=2)
    w.run("describe deployment echo-server", out=f"""\
Name:                   echo-server
Namespace:              default
CreationTimestamp:      {rfc1123z(deploy["metadata"]["creationTimestamp"])}
Labels:                 app=echo-server
Annotations:            deployment.kubernetes.io/revision: 4
Selector:               app=echo-server
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=echo-server
  Containers:
   echo-server-container:
    Image:         kennship/http-echo:latest
    Port:          <none>
    Host Port:     <none>
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    {conditions["Available"]["reason"]}
  Progressing    True    {conditions["Progressing"]["reason"]}
OldReplicaSets:  {rs1} (0/0 replicas created)
NewReplicaSet:   {rs2} (3/3 replicas created)
Events:
""" + "".join("  " + line + "\n" for line in events.splitlines()))
    w.run("scale deployment echo-server --replicas=1", out="deployment.apps/echo-server scaled\n")
    w.c.settle()
    w.run("get deploy", out=table(DEPLOY_HEAD, ("echo-server", "1/1", "1", "1", w.age(deploy))))
    w.run("delete deployment echo-server", out='deployment.apps "echo-server" deleted\n')
    w.c.settle()
    w.run("get all", out=table(("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
                               ("service/kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP",
                                w.age(w.obj("Service", "kubernetes")))))


# -- Services ------------------------------------------------------------------------------------
SVC_HEAD = ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE")


def running_deployment(w: Walk, manifest: str = DEPLOYMENT) -> list[dict]:
    w.run("apply -f -", stdin=manifest, out="deployment.apps/echo-server created\n")
    w.c.settle()
    return w.pods()


def test_services_chapter(w: Walk):
    pods = running_deployment(w)
    path = w.file("echo-server-service.yaml", CLUSTER_IP)
    w.run(f"apply -f {path}", out="service/my-echo-server-service created\n")
    svc, kube = w.obj("Service", "my-echo-server-service"), w.obj("Service", "kubernetes")
    ip = svc["spec"]["clusterIP"]
    assert ip.startswith("10.") and ip != "10.96.0.1"
    w.run("get services", out=table(SVC_HEAD, ("kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", w.age(kube)),
                                    ("my-echo-server-service", "ClusterIP", ip, "<none>", "80/TCP", w.age(svc))))
    w.run("get svc my-echo-server-service -o wide", out=table(
        SVC_HEAD + ("SELECTOR",), ("my-echo-server-service", "ClusterIP", ip, "<none>", "80/TCP", w.age(svc),
                                    "app=echo-server")))
    w.c.settle()
    endpoints = ",".join(sorted(f'{p["status"]["podIP"]}:3000' for p in pods))
    w.run("get endpoints my-echo-server-service", out=table(("NAME", "ENDPOINTS", "AGE"),
                                                            ("my-echo-server-service", endpoints, w.age(svc))))
    w.run("describe service my-echo-server-service", out=f"""\
Name:                     my-echo-server-service
Namespace:                default
Labels:                   <none>
Annotations:              <none>
Selector:                 app=echo-server
Type:                     ClusterIP
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       {ip}
IPs:                      {ip}
Port:                     <unset>  80/TCP
TargetPort:               3000/TCP
Endpoints:                {endpoints}
Session Affinity:         None
Internal Traffic Policy:  Cluster
Events:                   <none>
""")
    names = [p["metadata"]["name"] for p in pods]

    def through(host: str, script: str) -> None:
        """busybox asks ``host``; any of the three pods may answer, each exactly as http-echo does."""
        seen = w.watch_busybox()
        r = w.c.kubectl("run busybox --image=busybox --rm -it --restart=Never", stdin=script)
        assert (r.returncode, r.stderr) == (0, PROMPT)
        assert r.stdout in {echo(host, seen["ip"], n) + 'pod "busybox" deleted\n' for n in names}

    through("my-echo-server-service", "wget -qO- http://my-echo-server-service\n")
    through(ip, f"wget -qO- {ip}\n")
    through("my-echo-server-service.default", "wget -qO- http://my-echo-server-service.default\n")
    w.busybox("wget -qO- http://my-echo-server-service:3000\n",
              "wget: can't connect to remote host (" + ip + "): Connection timed out\n", code=1)
    w.busybox("wget -qO- http://no-such-service\n", "wget: bad address 'no-such-service'\n", code=1)

    # NodePort: the same Service, now also on port 30001 of every node
    w.file("echo-server-service.yaml", NODE_PORT)
    w.run(f"apply -f {path}", out="service/my-echo-server-service configured\n")
    w.run("get services", out=table(SVC_HEAD, ("kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", w.age(kube)),
                                    ("my-echo-server-service", "NodePort", ip, "<none>", "80:30001/TCP", w.age(svc))))
    node_ip = w.c.node_ip()
    through(f"{node_ip}:30001", f"wget -qO- {node_ip}:30001\n")
    through("my-echo-server-service", "wget -qO- http://my-echo-server-service\n")
    # another Service cannot take the same node port, nor one outside 30000-32767
    taken = NODE_PORT.replace("my-echo-server-service", "other")
    w.run("apply -f -", stdin=taken, code=1,
          err='The Service "other" is invalid: spec.ports[0].nodePort: Invalid value: 30001: '
              "provided port is already allocated\n")
    w.run("apply -f -", stdin=taken.replace("30001", "80"), code=1,
          err='The Service "other" is invalid: spec.ports[0].nodePort: Invalid value: 80: '
              "provided port is not in the valid range. The range of valid ports is 30000-32767\n")
    w.run("get svc other", code=1, err='Error from server (NotFound): services "other" not found\n')

    # LoadBalancer: no cloud here, so the external IP stays pending (as on minikube)
    w.run("apply -f -", stdin=LOAD_BALANCER, out="service/my-echo-server-service configured\n")
    w.run("get services", out=table(SVC_HEAD, ("kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", w.age(kube)),
                                    ("my-echo-server-service", "LoadBalancer", ip, "<pending>", "80:30001/TCP",
                                     w.age(svc))))
    w.run("delete service my-echo-server-service", out='service "my-echo-server-service" deleted\n')
    w.busybox("wget -qO- http://my-echo-server-service\n", "wget: bad address 'my-echo-server-service'\n", code=1)


# -- ConfigMaps ----------------------------------------------------------------------------------
def test_configmaps_chapter(w: Walk):
    running_deployment(w)
    path = w.file("echo-server-config.yaml", CONFIG_V1)
    w.run(f"apply -f {path}", out="configmap/echo-server-config-v1 created\n")
    cm = w.obj("ConfigMap", "echo-server-config-v1")
    root_ca = w.obj("ConfigMap", "kube-root-ca.crt") if any(
        c["metadata"]["name"] == "kube-root-ca.crt" for c in w.c.client.list("ConfigMap", "default")["items"]) else None
    rows = [("echo-server-config-v1", "1", w.age(cm))] + ([("kube-root-ca.crt", "1", w.age(root_ca))] if root_ca else [])
    w.run("get configmaps", out=table(("NAME", "DATA", "AGE"), *rows))
    last = '{"apiVersion":"v1","data":{"PORT":"3000"},"kind":"ConfigMap","metadata":{"annotations":{},' \
           '"name":"echo-server-config-v1","namespace":"default"}}'
    w.run("get configmap echo-server-config-v1 -o yaml", out=f"""\
apiVersion: v1
data:
  PORT: "3000"
kind: ConfigMap
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {last}
  creationTimestamp: "{cm["metadata"]["creationTimestamp"]}"
  name: echo-server-config-v1
  namespace: default
  resourceVersion: "{cm["metadata"]["resourceVersion"]}"
  uid: {cm["metadata"]["uid"]}
""")
    w.run("describe configmap echo-server-config-v1", out="""\
Name:         echo-server-config-v1
Namespace:    default
Labels:       <none>
Annotations:  <none>

Data
====
PORT:
----
3000


BinaryData
====

Events:  <none>
""")
    deploy_path = w.file("echo-server-deployment.yaml", DEPLOYMENT + ENV_FROM.format(v="v1"))
    w.run(f"apply -f {deploy_path}", out="deployment.apps/echo-server configured\n")
    w.run("rollout status deploy echo-server", out=rolled_out(ROLLING))
    w.c.settle()
    pods = w.pods()
    assert len(pods) == 3
    first = pods[0]["metadata"]["name"]
    w.run(f"exec {first} -- printenv PORT", out="3000\n")
    pod_ip = pods[0]["status"]["podIP"]
    seen = w.watch_busybox()
    r = w.c.kubectl("run busybox --image=busybox --rm -it --restart=Never", stdin=f"wget -qO- {pod_ip}:3000\n")
    assert r.stdout == echo(f"{pod_ip}:3000", seen["ip"], first) + 'pod "busybox" deleted\n'

    # a new port: a new ConfigMap, and the Deployment pointed at it
    w.run("apply -f -", stdin=CONFIG_V2, out="configmap/echo-server-config-v2 created\n")
    w.file("echo-server-deployment.yaml", DEPLOYMENT + ENV_FROM.format(v="v2"))
    w.run(f"apply -f {deploy_path}", out="deployment.apps/echo-server configured\n")
    w.run("rollout status deploy echo-server", out=rolled_out(ROLLING))
    w.c.settle()
    pods = w.pods()
    pod, pod_ip = pods[0]["metadata"]["name"], pods[0]["status"]["podIP"]
    w.run(f"exec {pod} -- printenv PORT", out="4000\n")
    seen = w.watch_busybox()
    r = w.c.kubectl("run busybox --image=busybox --rm -it --restart=Never",
                    stdin=f"wget -qO- {pod_ip}:4000\nwget -qO- {pod_ip}:3000\n")
    assert r.stdout == (echo(f"{pod_ip}:4000", seen["ip"], pod) +
                        f"wget: can't connect to remote host ({pod_ip}): Connection refused\n" + 'pod "busybox" deleted\n')
    w.run(f"logs {pod}", out="Listening on port 4000\n" + w.c.kubectl(f"logs {pod}").stdout.split("\n", 1)[1])
    assert w.c.kubectl(f"logs {pod}").stdout.count("\n") == 2

    hashes = {n: w.obj("ReplicaSet", n)["metadata"]["labels"]["pod-template-hash"]
              for n in (rs["metadata"]["name"] for rs in w.c.client.list("ReplicaSet", "default")["items"])}
    w.run("rollout history deploy echo-server", out=history(1, 2, 3))
    w.run("rollout history deploy echo-server --revision=3", out=f"""\
deployment.apps/echo-server with revision #3
Pod Template:
  Labels:\tapp=echo-server
\tpod-template-hash={hashes[w.rs_name()]}
  Containers:
   echo-server-container:
    Image:\tkennship/http-echo
    Port:\t<none>
    Host Port:\t<none>
    Environment Variables from:
      echo-server-config-v2\tConfigMap\tOptional: false
    Environment:\t<none>
    Mounts:\t<none>
  Volumes:\t<none>
  Node-Selectors:\t<none>
  Tolerations:\t<none>

""")
    # roll back: the v1 pods come back, listening on 3000 again
    w.run("rollout undo deploy echo-server", out="deployment.apps/echo-server rolled back\n")
    w.run("rollout status deploy echo-server", out=rolled_out(ROLLING))
    w.c.settle()
    w.run(f"exec {w.pods()[0]['metadata']['name']} -- printenv PORT", out="3000\n")
    w.run("rollout history deploy echo-server", out=history(1, 3, 4))
    w.run("rollout undo deploy echo-server --to-revision=3", out="deployment.apps/echo-server rolled back\n")
    w.run("rollout status deploy echo-server", out=rolled_out(ROLLING))
    w.c.settle()
    w.run(f"exec {w.pods()[0]['metadata']['name']} -- printenv PORT", out="4000\n")
    w.run("delete configmap echo-server-config-v1", out='configmap "echo-server-config-v1" deleted\n')
    # rolling back to a revision whose ConfigMap is gone: the new pods cannot start
    w.run("rollout undo deploy echo-server", out="deployment.apps/echo-server rolled back\n")
    w.c.advance(10)
    new_rs = w.rs_name()
    stuck = w.pods(prefix=new_rs)
    assert len(stuck) == 1
    w.run("get pods", out=table(POD_HEAD, *(w.pod_row(p, "CreateContainerConfigError", "0/1") if p in stuck
                                            else w.pod_row(p) for p in w.pods())))
    w.run("rollout history deploy echo-server", out=history(1, 5, 6))


# -- Secrets -------------------------------------------------------------------------------------
def test_secrets_chapter(w: Walk):
    w.run("create secret generic echo-secret --from-literal=PASSWORD=hunter2",
          out="secret/echo-secret created\n")
    secret = w.obj("Secret", "echo-secret")
    assert secret["data"] == {"PASSWORD": base64.b64encode(b"hunter2").decode()}
    yaml_secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\ntype: Opaque\n"
                   f"data:\n  TOKEN: {base64.b64encode(b's3cr3t-token').decode()}\n")
    w.run("apply -f -", stdin=yaml_secret, out="secret/api-token created\n")
    token = w.obj("Secret", "api-token")
    w.run("get secrets", out=table(("NAME", "TYPE", "DATA", "AGE"), ("api-token", "Opaque", "1", w.age(token)),
                                   ("echo-secret", "Opaque", "1", w.age(secret))))
    w.run("get secret echo-secret -o yaml", out=f"""\
apiVersion: v1
data:
  PASSWORD: aHVudGVyMg==
kind: Secret
metadata:
  creationTimestamp: "{secret["metadata"]["creationTimestamp"]}"
  name: echo-secret
  namespace: default
  resourceVersion: "{secret["metadata"]["resourceVersion"]}"
  uid: {secret["metadata"]["uid"]}
type: Opaque
""")
    w.run("describe secret echo-secret", out="""\
Name:         echo-secret
Namespace:    default
Labels:       <none>
Annotations:  <none>

Type:  Opaque

Data
====
PASSWORD:  7 bytes
""")
    with_env = DEPLOYMENT.replace("replicas: 3", "replicas: 1") + """        envFrom:
        - secretRef:
            name: echo-secret
"""
    pods = running_deployment(w, with_env)
    w.run(f"exec {pods[0]['metadata']['name']} -- printenv PASSWORD", out="hunter2\n")
    w.run("create secret generic echo-secret --from-literal=PASSWORD=x", code=1,
          err='error: failed to create secret secrets "echo-secret" already exists\n')


# -- Mistakes a learner makes on the way -----------------------------------------------------------
RFC1123_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                     "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                     "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def test_errors(w: Walk, monkeypatch):
    monkeypatch.chdir(w.dir)
    w.run("apply -f echo-server.yaml", code=1, err='error: the path "echo-server.yaml" does not exist\n')
    w.file("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: a\n")
    w.run("apply -f bad.yaml", code=1, err="error: error parsing bad.yaml: error converting YAML to JSON: yaml: "
                                           "line 5: mapping values are not allowed in this context\n")
    w.file("nokind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n")
    w.run("apply -f nokind.yaml", code=1,
          err='error: error validating "nokind.yaml": error validating data: kind not set; if you choose to '
              "ignore these errors, turn validation off with --validate=false\n")
    w.file("unknown.yaml", POD.replace("kind: Pod", "kind: Pood"))
    w.run("apply -f unknown.yaml", code=1,
          err='error: resource mapping not found for name: "echo-server" namespace: "" from "unknown.yaml": '
              'no matches for kind "Pood" in version "v1"\nensure CRDs are installed first\n')
    w.run("get pod echo-server", code=1, err='Error from server (NotFound): pods "echo-server" not found\n')
    w.run("describe pod echo-server", code=1, err='Error from server (NotFound): pods "echo-server" not found\n')
    w.run("delete pod echo-server", code=1, err='Error from server (NotFound): pods "echo-server" not found\n')
    w.run("logs echo-server", code=1,
          err='error: error from server (NotFound): pods "echo-server" not found in namespace "default"\n')
    w.run("get deploy echo-server", code=1,
          err='Error from server (NotFound): deployments.apps "echo-server" not found\n')
    w.run("get pods -n nope", err="No resources found in nope namespace.\n")
    w.run("apply -n nope -f -", stdin=POD, code=1,
          err='Error from server (NotFound): error when creating "STDIN": namespaces "nope" not found\n')
    w.run("get frobs", code=1, err='error: the server doesn\'t have a resource type "frobs"\n')
    w.run("frobnicate", code=1, err='error: unknown command "frobnicate" for "kubectl"\n')
    w.run("get pods --frob", code=1, err="error: unknown flag: --frob\nSee 'kubectl get --help' for usage.\n")

    w.run("create -f -", stdin=POD, out="pod/echo-server created\n")
    w.run("create -f -", stdin=POD, code=1,
          err='Error from server (AlreadyExists): error when creating "STDIN": pods "echo-server" already exists\n')
    w.run("create namespace dev", out="namespace/dev created\n")
    w.run("create namespace dev", code=1, err='Error from server (AlreadyExists): namespaces "dev" already exists\n')
    w.run("create configmap cfg --from-literal=PORT=3000", out="configmap/cfg created\n")
    w.run("create configmap cfg --from-literal=PORT=3000", code=1,
          err='error: failed to create configmap: configmaps "cfg" already exists\n')

    w.run("apply -f -", stdin=POD.replace("name: echo-server\n", "name: Echo_Server\n", 1), code=1,
          err=f'The Pod "Echo_Server" is invalid: metadata.name: Invalid value: "Echo_Server": {RFC1123_SUBDOMAIN}\n')
    w.run("create namespace My_Space", code=1,
          err='The Namespace "My_Space" is invalid: metadata.name: Invalid value: "My_Space": a lowercase RFC 1123 '
              "label must consist of lower case alphanumeric characters or '-', and must start and end with an "
              "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n")
    w.run("apply -f -", stdin=NODE_PORT.replace("30001", "40000"), code=1,
          err='The Service "my-echo-server-service" is invalid: spec.ports[0].nodePort: Invalid value: 40000: '
              "provided port is not in the valid range. The range of valid ports is 30000-32767\n")
    w.run("apply -f -", stdin=NODE_PORT, out="service/my-echo-server-service created\n")
    w.run("apply -f -", stdin=NODE_PORT.replace("name: my-echo-server-service", "name: second"), code=1,
          err='The Service "second" is invalid: spec.ports[0].nodePort: Invalid value: 30001: '
              "provided port is already allocated\n")
    w.run("apply -f -", stdin=DEPLOYMENT.replace("matchLabels:\n      app: echo-server", "matchLabels:\n      app: web"),
          code=1, err='The Deployment "echo-server" is invalid: spec.template.metadata.labels: Invalid value: '
                      'map[string]string{"app":"echo-server"}: `selector` does not match template `labels`\n')
    w.run("apply -f -", stdin=DEPLOYMENT, out="deployment.apps/echo-server created\n")
    two_labels = DEPLOYMENT.replace("app: echo-server\n  template", "app: echo-server\n      tier: web\n  template") \
        .replace("        app: echo-server\n    spec", "        app: echo-server\n        tier: web\n    spec")
    w.run("apply -f -", stdin=two_labels, code=1,
          err='The Deployment "echo-server" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:'
              'map[string]string{"app":"echo-server", "tier":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement'
              "(nil)}: field is immutable\n")
    w.run("apply -f -", stdin=POD.replace("name: echo-server\n", "name: typo\n", 1).replace("containers:", "containerz:"),
          code=1, err='Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be '
                      'handled as a Pod: strict decoding error: unknown field "spec.containerz"\n')
    w.run("apply -f -", stdin=POD.replace("name: echo-server\n", "name: typo\n", 1)
          .replace("image: kennship/http-echo", "image: kennship/http-echo\n    portz: 3"), code=1,
          err='Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be '
              'handled as a Pod: strict decoding error: unknown field "spec.containers[0].portz"\n')
    # with --validate=warn the server drops the unknown field and says so
    w.run("apply --validate=warn -f -", stdin=POD.replace("name: echo-server\n", "name: typo\n", 1)
          .replace("image: kennship/http-echo", "image: kennship/http-echo\n    portz: 3"),
          out="pod/typo created\n", err='Warning: unknown field "spec.containers[0].portz"\n')
    kinds_before = {k: len(w.c.client.list(k, None)["items"]) for k in ("Pod", "ConfigMap", "Deployment", "Service")}
    w.c.settle()

    # several documents, two of them bad: the good ones apply, the bad ones are reported, exit 1
    multi = "---\n".join([CONFIG_V1, CONFIG_V2.replace("kind: ConfigMap", "kind: ConfigMapp"),
                          CONFIG_V2.replace("v2", "v3"), POD.replace("name: echo-server\n", "name: Bad_Name\n", 1)])
    w.run("apply -f -", stdin=multi, code=1,
          out="configmap/echo-server-config-v1 created\nconfigmap/echo-server-config-v3 created\n",
          err='resource mapping not found for name: "echo-server-config-v2" namespace: "" from "STDIN": no matches '
              'for kind "ConfigMapp" in version "v1"\nensure CRDs are installed first\n'
              'Error from server (Invalid): error when creating "STDIN": Pod "Bad_Name" is invalid: metadata.name: '
              f'Invalid value: "Bad_Name": {RFC1123_SUBDOMAIN}\n')
    cms = {c["metadata"]["name"] for c in w.c.client.list("ConfigMap", "default")["items"]}
    assert {"echo-server-config-v1", "echo-server-config-v3"} <= cms and "echo-server-config-v2" not in cms
    assert [p["metadata"]["name"] for p in w.c.client.list("Pod", None)["items"] if "Bad" in p["metadata"]["name"]] == []
    assert len(w.c.client.list("ConfigMap", None)["items"]) == kinds_before["ConfigMap"] + 2
    # a YAML error ends the stream: the documents before it still apply, as with kubectl
    w.run("apply -f -", stdin=CONFIG_V2 + "---\n" + "kind: [\n---\n" + CONFIG_V2.replace("v2", "v4"), code=1,
          out="configmap/echo-server-config-v2 created\n",
          err="error: error parsing STDIN: error converting YAML to JSON: yaml: line 1: did not find expected "
              "node content\n")
    with pytest.raises(Exception):
        w.obj("ConfigMap", "echo-server-config-v4")
    w.file("t.yaml", "data:\n  PORT: 3000\n PATH: /\n")
    w.run("apply -f t.yaml", code=1,
          err="error: error parsing t.yaml: error converting YAML to JSON: yaml: line 2: did not find expected key\n")
