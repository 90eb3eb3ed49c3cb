"""The REST server: the real kubectl 1.32 binary against a served embedded cluster.

The cluster runs on a virtual clock; the tests move it between kubectl commands. Helpers
here (``KUBECTL``, ``Kubectl``) are shared with test_remote and test_against_kubectl.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from kubelab import Cluster
from kubelab.server import serve

def _kubectl_1_32() -> str | None:
    """The upstream kubectl 1.32 binary: $KUBELAB_KUBECTL, Google Cloud SDK's kubectl.1.32 (the
    SDK's ``kubectl`` on PATH is a dispatcher whose messages differ), or a ``kubectl`` on PATH
    that says it is 1.32. Nothing is downloaded."""
    candidates = [os.environ.get("KUBELAB_KUBECTL"),
                  shutil.which("kubectl.1.32", path="/usr/lib/google-cloud-sdk/bin"),
                  shutil.which("kubectl.1.32"), shutil.which("kubectl")]
    for path in filter(None, candidates):
        try:
            out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                                 timeout=30, env={"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"}).stdout
            if json.loads(out)["clientVersion"]["gitVersion"].startswith("v1.32."):
                return path
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            continue
    return None


KUBECTL = _kubectl_1_32()
SKIP_REASON = ("no kubectl 1.32 (set KUBELAB_KUBECTL, or put kubectl 1.32 on PATH: "
               "https://dl.k8s.io/release/v1.32.5/bin/linux/amd64/kubectl): the comparisons with the real "
               "kubectl and the served-API tests that drive it are skipped")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)

POD = """\
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
"""

DEPLOYMENT = """\
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
"""


class Kubectl:
    """Runs the real kubectl against a server, with its own HOME (discovery cache) and no
    proxy settings, so nothing leaves 127.0.0.1."""

    def __init__(self, kubeconfig: str, home: str) -> None:
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "KUBECONFIG": kubeconfig,
                    "TZ": "UTC", "LANG": "C.UTF-8", "NO_PROXY": "*"}

    def __call__(self, command: str | list[str], stdin: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess:
        argv = command.split() if isinstance(command, str) else command
        return subprocess.run([KUBECTL, *argv], input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def start(self, command: str) -> subprocess.Popen:
        return subprocess.Popen([KUBECTL, *command.split()], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env)


def finish_while_advancing(cluster: Cluster, proc: subprocess.Popen, step: float = 5,
                           limit: float = 60) -> tuple[str, str]:
    """Let a running kubectl finish while cluster time moves on (it waits for the cluster)."""
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        cluster.advance(step)
        time.sleep(0.05)
    return proc.communicate(timeout=10)


@pytest.fixture
def cluster():
    return Cluster(clock="virtual", seed=1)


@pytest.fixture
def server(cluster):
    with serve(cluster) as s:
        yield s


@pytest.fixture
def kubectl(server, tmp_path):
    return Kubectl(server.kubeconfig, str(tmp_path / "home"))


def _get(server, path: str, accept: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(server.url + path, headers={"Accept": accept,
                                                                 "Authorization": f"Bearer {server.token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=server.client_tls()))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# -- the HTTP surface without kubectl ------------------------------------------------------
def test_binds_loopback_and_writes_a_kubeconfig(server):
    assert server.url.startswith("https://127.0.0.1:")
    config = json.load(open(server.kubeconfig))
    assert config["current-context"] == "kubelab"
    assert config["clusters"][0]["cluster"]["server"] == server.url
    assert config["contexts"][0]["context"]["namespace"] == "default"


def test_discovery_documents(server):
    assert _get(server, "/version")[1]["gitVersion"].startswith("v1.32.")
    assert _get(server, "/api")[1]["versions"] == ["v1"]
    groups = {g["name"] for g in _get(server, "/apis")[1]["groups"]}
    assert {"apps", "batch", "discovery.k8s.io"} <= groups
    core = {r["name"]: r for r in _get(server, "/api/v1")[1]["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"]
    assert "pods/log" in core and "pods/exec" in core and not core["nodes"]["namespaced"]
    apps = {r["name"]: r for r in _get(server, "/apis/apps/v1")[1]["resources"]}
    assert apps["deployments/scale"]["kind"] == "Scale"


def test_discovery_lists_groups_by_priority_and_paths_by_name(server):
    """kube-aggregator orders /apis by each group's priority (networking.k8s.io before
    policy, discovery.k8s.io last of these); the installer sorts a version's resources."""
    groups = [g["name"] for g in _get(server, "/apis")[1]["groups"]]
    order = ["apps", "autoscaling", "batch", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
             "storage.k8s.io", "scheduling.k8s.io", "discovery.k8s.io"]  # 17800 ... 16200
    assert [g for g in groups if g in order] == [g for g in order if g in groups]
    assert {"apps", "batch", "networking.k8s.io", "discovery.k8s.io"} <= set(groups)
    core = [r["name"] for r in _get(server, "/api/v1")[1]["resources"]]
    assert core == sorted(core)
    assert core.index("pods/exec") < core.index("pods/log") < core.index("pods/status")
    batch = [r["name"] for r in _get(server, "/apis/batch/v1")[1]["resources"]]
    assert batch == ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]


def test_errors_are_status_objects_with_their_codes(server):
    code, status = _get(server, "/api/v1/namespaces/default/pods/nope")
    assert code == 404
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": 'pods "nope" not found', "reason": "NotFound", "code": 404,
                      "details": {"name": "nope", "kind": "pods"}}
    assert _get(server, "/api/v1/nonsense")[0] == 404


def test_table_form_on_request(server, cluster):
    cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
    code, table = _get(server, "/api/v1/namespaces/default/configmaps?includeObject=Object",
                       "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    assert code == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"] == ["c", 1, "0s"]
    assert table["rows"][0]["object"]["data"] == {"a": "1"}
    assert table["metadata"]["resourceVersion"]


# -- the real kubectl ----------------------------------------------------------------------
@needs_kubectl
def test_version_and_api_resources(kubectl):
    r = kubectl("version -o json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["serverVersion"]["gitVersion"].startswith("v1.32.")
    r = kubectl("api-resources --no-headers -o name")
    assert {"pods", "deployments.apps", "services", "endpointslices.discovery.k8s.io"} <= set(r.stdout.split())


@needs_kubectl
def test_apply_get_describe_delete_a_pod(kubectl, cluster):
    r = kubectl("apply -f -", stdin=POD)
    assert (r.returncode, r.stdout, r.stderr) == (0, "pod/echo-server created\n", "")
    assert kubectl("apply -f -", stdin=POD).stdout == "pod/echo-server unchanged\n"
    cluster.settle()
    r = kubectl("get pods")
    assert r.stdout.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert r.stdout.splitlines()[1].split()[:4] == ["echo-server", "1/1", "Running", "0"]
    wide = kubectl("get pods -o wide").stdout.splitlines()
    ip = cluster.client.get("Pod", "echo-server")["status"]["podIP"]
    assert wide[0].split()[5:7] == ["IP", "NODE"] and ip in wide[1].split()
    r = kubectl("describe pod echo-server")
    assert r.returncode == 0
    assert "Name:             echo-server" in r.stdout and "Successfully assigned default/echo-server" in r.stdout
    out, err = finish_while_advancing(cluster, kubectl.start("delete pod echo-server"))
    assert (out, err) == ('pod "echo-server" deleted\n', "")
    assert cluster.client.list("Pod", "default")["items"] == []


@needs_kubectl
def test_deployment_through_kubectl(kubectl, cluster):
    assert kubectl("apply -f -", stdin=DEPLOYMENT).stdout == "deployment.apps/echo-server created\n"
    cluster.settle()
    lines = kubectl("get deploy,rs,po").stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert lines[1].split()[:4] == ["deployment.apps/echo-server", "3/3", "3", "3"]
    assert sum(1 for line in lines if line.startswith("pod/echo-server-")) == 3
    r = kubectl("scale deployment echo-server --replicas=5")
    assert (r.returncode, r.stdout) == (0, "deployment.apps/echo-server scaled\n")
    cluster.settle()
    assert len(kubectl("get pods -l app=echo-server --no-headers").stdout.splitlines()) == 5
    assert kubectl("get pods -l app=other").stderr == "No resources found in default namespace.\n"
    running = kubectl("get pods --field-selector status.phase=Running -o name").stdout.split()
    assert len(running) == 5 and all(n.startswith("pod/echo-server-") for n in running)
    r = kubectl(["set", "image", "deployment/echo-server", "echo-server-container=nginx"])
    assert r.stdout == "deployment.apps/echo-server image updated\n"
    cluster.settle()
    assert kubectl("rollout history deployment echo-server").stdout.splitlines()[-3:] == \
        ["1         <none>", "2         <none>", ""]


@needs_kubectl
def test_kubectl_error_cases(kubectl, cluster):
    r = kubectl("get pod nope")
    assert (r.returncode, r.stderr) == (1, 'Error from server (NotFound): pods "nope" not found\n')
    kubectl("create -f -", stdin=POD)
    r = kubectl("create -f -", stdin=POD)
    assert (r.returncode, r.stderr) == (
        1, 'Error from server (AlreadyExists): error when creating "STDIN": pods "echo-server" already exists\n')
    bad = POD.replace("name: echo-server\n", "name: Echo_Server\n", 1)
    r = kubectl("apply -f -", stdin=bad)
    assert r.returncode == 1
    assert r.stderr.startswith('The Pod "Echo_Server" is invalid: metadata.name: Invalid value: "Echo_Server": '
                               "a lowercase RFC 1123 subdomain")
    unknown = POD.replace("    image: kennship/http-echo\n", "    image: kennship/http-echo\n    colour: red\n")
    r = kubectl("apply -f -", stdin=unknown.replace("echo-server\n", "other\n", 1))
    assert r.stderr == ('Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot '
                        'be handled as a Pod: strict decoding error: unknown field "spec.containers[0].colour"\n')
    r = kubectl("apply --validate=warn -f -", stdin=unknown.replace("echo-server\n", "other\n", 1))
    assert r.returncode == 0
    assert r.stderr == 'Warning: unknown field "spec.containers[0].colour"\n'
    assert r.stdout == "pod/other created\n"


@needs_kubectl
def test_dry_run_server_changes_nothing(kubectl, cluster):
    r = kubectl("apply --dry-run=server -f -", stdin=POD)
    assert r.stdout == "pod/echo-server created (server dry run)\n"
    assert cluster.client.list("Pod", "default")["items"] == []


@needs_kubectl
def test_logs_and_watch(kubectl, cluster):
    kubectl("apply -f -", stdin=POD)
    cluster.settle()
    r = kubectl("logs echo-server")
    assert r.returncode == 0
    assert r.stdout == cluster.client.logs("echo-server", "default")
    # get -w: the list, then the pod's changes as they happen
    watcher = kubectl.start("get pods -w --request-timeout=10s")
    time.sleep(1)
    cluster.client.patch("Pod", "echo-server", "default", {"metadata": {"labels": {"v": "2"}}})
    out, _ = finish_while_advancing(cluster, watcher, step=0.0, limit=20)
    lines = out.splitlines()
    assert lines[0].split()[0] == "NAME" and len(lines) >= 3 and all("echo-server" in ln for ln in lines[1:])


@needs_kubectl
def test_namespaces_and_all_namespaces(kubectl, cluster):
    # (kubectl create namespace sends protobuf, which kubelab's server does not read)
    r = kubectl("apply -f -", stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    assert r.stdout == "namespace/team-a created\n", r.stderr
    kubectl("apply -n team-a -f -", stdin=POD)
    cluster.settle()
    lines = kubectl("get pods -A").stdout.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == ["team-a", "echo-server"] for line in lines)
    assert "team-a" in kubectl("get ns").stdout
