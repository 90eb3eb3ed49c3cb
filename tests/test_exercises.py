"""Every exercise check, both ways: a correct solution passes, a typical wrong one gets the
hint meant for it (and an untouched cluster fails politely). Virtual clock, no sleeping."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubelab import Cluster
from kubelab.notebook.exercises import CHECKS, Report, check

NOTEBOOKS = Path(__file__).resolve().parents[1] / "kubelab" / "notebooks"


def deployment(name: str, image: str, replicas: int, extra_container: str = "", labels: str = "") -> str:
    app = labels or name
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
      containers:
      - name: main
        image: {image}
{extra_container}"""


def pod(name: str, image: str, extra_meta: str = "", extra_spec: str = "", extra_container: str = "") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
{extra_meta}spec:
{extra_spec}  containers:
  - name: main
    image: {image}
{extra_container}"""


def service(name: str, type_: str, selector: str, target: int, node_port: int | None = None) -> str:
    node = f"\n    nodePort: {node_port}" if node_port else ""
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  type: {type_}
  selector:
    app: {selector}
  ports:
  - port: 80
    targetPort: {target}{node}
"""


def run(c: Cluster, *commands: str) -> None:
    """Apply manifests (text with 'kind:') or run kubectl command lines, settling after each."""
    for command in commands:
        if "kind:" in command:
            r = c.kubectl("apply -f -", stdin=command)
        else:
            r = c.kubectl(command)
        assert r.returncode == 0, f"{command}\n{r.stderr}"
        c.settle(120)


def outcome(c: Cluster, name: str) -> Report:
    return check(name, client=c.client, wait=30)


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=7)


def assert_hint(report: Report, *words: str) -> None:
    assert not report.passed, str(report)
    text = " ".join(report.hints + [f.text for f in report.findings if not f.ok])
    for word in words:
        assert word in text, f"{word!r} not in:\n{report}"


def test_every_exercise_in_the_notebooks_has_a_check() -> None:
    used = set()
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            used.update(part.split('")')[0] for part in source.split('check("')[1:])
    assert used == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_empty_cluster_fails_with_a_hint(c: Cluster, name: str) -> None:
    report = outcome(c, name)
    assert not report.passed and report.hints, str(report)
    assert "✘" in str(report) and "✘" in report._repr_html_()


def test_unknown_exercise_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="00-hello"):
        check("99-nope", client=Cluster(clock="virtual").client)


# -- 00 -----------------------------------------------------------------------------------
def test_00_hello(c: Cluster) -> None:
    run(c, "run hello --image=nginx")
    report = outcome(c, "00-hello")
    assert report.passed, str(report)
    assert "well done" in str(report)


def test_00_hello_typo_in_image(c: Cluster) -> None:
    run(c, "run hello --image=ngnix")
    assert_hint(outcome(c, "00-hello"), "not nginx", "set image pod/hello hello=nginx")
    run(c, "set image pod/hello hello=nginx")  # the hint works as written: the kubelet restarts it
    assert outcome(c, "00-hello").passed


# -- 01 -----------------------------------------------------------------------------------
LABELLED = "  labels:\n    app: web\n    tier: frontend\n"


def test_01_labels(c: Cluster) -> None:
    run(c, pod("web", "nginx", LABELLED))
    assert outcome(c, "01-labels").passed


def test_01_labels_one_missing(c: Cluster) -> None:
    run(c, pod("web", "nginx", "  labels:\n    app: web\n"))
    report = outcome(c, "01-labels")
    assert_hint(report, "tier is missing", "metadata.labels")
    run(c, "label pod web tier=frontend")
    assert outcome(c, "01-labels").passed


def test_01_labels_wrong_value(c: Cluster) -> None:
    run(c, pod("web", "nginx", "  labels:\n    app: web\n    tier: backend\n"))
    assert_hint(outcome(c, "01-labels"), "'backend'", "--overwrite")


# -- 02 -----------------------------------------------------------------------------------
def test_02_namespace(c: Cluster) -> None:
    run(c, "create namespace staging", "run echo-server --image=kennship/http-echo -n staging")
    assert outcome(c, "02-namespace").passed


def test_02_namespace_pod_left_in_default(c: Cluster) -> None:
    run(c, "create namespace staging", pod("echo-server", "kennship/http-echo"))
    assert_hint(outcome(c, "02-namespace"), "there is one in default", "-n")


def test_02_namespace_missing(c: Cluster) -> None:
    assert_hint(outcome(c, "02-namespace"), "no namespace called staging")


# -- 03 -----------------------------------------------------------------------------------
def replicaset(replicas: int, image: str = "nginx") -> str:
    return deployment("frontend", image, replicas).replace("kind: Deployment", "kind: ReplicaSet")


def test_03_replicaset(c: Cluster) -> None:
    run(c, replicaset(4))
    assert outcome(c, "03-replicaset").passed


def test_03_replicaset_wrong_count(c: Cluster) -> None:
    run(c, replicaset(3))
    assert_hint(outcome(c, "03-replicaset"), "3 replicas", "scale")
    run(c, "scale rs frontend --replicas=4")
    assert outcome(c, "03-replicaset").passed


def test_03_a_deployment_is_not_a_replicaset(c: Cluster) -> None:
    run(c, deployment("frontend", "nginx", 4))
    assert_hint(outcome(c, "03-replicaset"), "no ReplicaSet called frontend")


# -- 04 -----------------------------------------------------------------------------------
def test_04_rollout(c: Cluster) -> None:
    run(c, deployment("web", "nginx:1.26", 3), "set image deploy/web main=nginx:1.27")
    report = outcome(c, "04-rollout")
    assert report.passed, str(report)


def test_04_rollout_created_straight_on_the_new_version(c: Cluster) -> None:
    run(c, deployment("web", "nginx:1.27", 3))
    assert_hint(outcome(c, "04-rollout"), "nginx:1.26 first")


def test_04_rollout_not_updated_yet(c: Cluster) -> None:
    run(c, deployment("web", "nginx:1.26", 3))
    assert_hint(outcome(c, "04-rollout"), "set image")


def test_04_rollout_to_a_tag_that_does_not_exist(c: Cluster) -> None:
    run(c, deployment("web", "nginx:1.26", 3))
    c.kubectl("set image deploy/web main=nginx:1.277")
    c.settle(60)
    report = outcome(c, "04-rollout")
    assert not report.passed
    c.kubectl("set image deploy/web main=nginx:1.27")
    c.settle(120)
    assert outcome(c, "04-rollout").passed


# -- 05 -----------------------------------------------------------------------------------
def test_05_nodeport(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 3), service("hello", "NodePort", "hello", 3000, 30080))
    report = outcome(c, "05-nodeport")
    assert report.passed, str(report)


def test_05_nodeport_with_expose(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 3),
        "expose deploy/hello --type=NodePort --port=80 --target-port=3000")
    assert_hint(outcome(c, "05-nodeport"), "not 30080", "nodePort")


def test_05_cluster_ip_instead_of_nodeport(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 3), service("hello", "ClusterIP", "hello", 3000))
    assert_hint(outcome(c, "05-nodeport"), "type ClusterIP", "every node")


def test_05_selector_that_matches_nothing(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 3), service("hello", "NodePort", "echo-server", 3000, 30080))
    assert_hint(outcome(c, "05-nodeport"), "matches none", "--show-labels")


def test_05_wrong_target_port(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 3), service("hello", "NodePort", "hello", 80, 30080))
    assert_hint(outcome(c, "05-nodeport"), "targetPort")


def test_05_too_few_replicas(c: Cluster) -> None:
    run(c, deployment("hello", "kennship/http-echo", 1), service("hello", "NodePort", "hello", 3000, 30080))
    assert_hint(outcome(c, "05-nodeport"), "1 replicas, not 3")


# -- 06 -----------------------------------------------------------------------------------
CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeter-config
data:
  PORT: "8080"
"""
ENV_FROM = "        envFrom:\n        - configMapRef:\n            name: greeter-config\n"
LITERAL = "        env:\n        - name: PORT\n          value: \"8080\"\n"


def test_06_configmap(c: Cluster) -> None:
    run(c, CONFIG, deployment("greeter", "kennship/http-echo", 2, ENV_FROM))
    report = outcome(c, "06-configmap")
    assert report.passed, str(report)


def test_06_configmap_with_create_configmap(c: Cluster) -> None:
    run(c, "create configmap greeter-config --from-literal=PORT=8080",
        deployment("greeter", "kennship/http-echo", 2, ENV_FROM))
    assert outcome(c, "06-configmap").passed


def test_06_value_written_into_the_deployment(c: Cluster) -> None:
    run(c, CONFIG, deployment("greeter", "kennship/http-echo", 2, LITERAL))
    assert_hint(outcome(c, "06-configmap"), "written into the Deployment", "envFrom")


def test_06_configmap_with_the_wrong_value(c: Cluster) -> None:
    run(c, CONFIG.replace("8080", "3000"), deployment("greeter", "kennship/http-echo", 2, ENV_FROM))
    assert_hint(outcome(c, "06-configmap"), "PORT")


# -- 07 -----------------------------------------------------------------------------------
SECRET_ENV = """    env:
    - name: DB_PASSWORD
      valueFrom:
        secretKeyRef:
          name: db-credentials
          key: password
"""
SLEEP = '    command: ["sleep", "3600"]\n'


def test_07_secret(c: Cluster) -> None:
    run(c, "create secret generic db-credentials --from-literal=username=admin --from-literal=password=s3cr3t",
        pod("db-client", "busybox", extra_container=SLEEP + SECRET_ENV))
    report = outcome(c, "07-secret")
    assert report.passed, str(report)


def test_07_secret_with_string_data(c: Cluster) -> None:
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n"
              "stringData:\n  username: admin\n  password: s3cr3t\n")
    run(c, secret, pod("db-client", "busybox", extra_container=SLEEP + SECRET_ENV))
    assert outcome(c, "07-secret").passed


def test_07_secret_encoded_twice(c: Cluster) -> None:
    # base64("base64(s3cr3t)"): what you get by encoding an already encoded value
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n"
              "data:\n  username: YWRtaW4=\n  password: Y3pOamNqTjA=\n")
    run(c, secret, pod("db-client", "busybox", extra_container=SLEEP + SECRET_ENV))
    assert_hint(outcome(c, "07-secret"), "encoded twice")


def test_07_password_written_into_the_pod(c: Cluster) -> None:
    literal = '    env:\n    - name: DB_PASSWORD\n      value: s3cr3t\n'
    run(c, "create secret generic db-credentials --from-literal=username=admin --from-literal=password=s3cr3t",
        pod("db-client", "busybox", extra_container=SLEEP + literal))
    assert_hint(outcome(c, "07-secret"), "written in the pod spec", "secretKeyRef")


# -- 08 -----------------------------------------------------------------------------------
BROKEN = deployment("broken-web", "ngnix:1.27", 2)


def test_08_fix_broken(c: Cluster) -> None:
    run(c, BROKEN)
    report = outcome(c, "08-fix-broken")
    assert_hint(report, "stuck", "describe pod broken-web-")
    run(c, "set image deploy/broken-web main=nginx:1.27")
    report = outcome(c, "08-fix-broken")
    assert report.passed, str(report)


def test_08_pin(c: Cluster) -> None:
    node = c.client.list("Node")["items"][0]["metadata"]["name"]
    run(c, f"label node {node} disktype=ssd", pod("fast", "nginx", extra_spec="  nodeSelector:\n    disktype: ssd\n"))
    report = outcome(c, "08-pin")
    assert report.passed, str(report)


def test_08_pin_by_luck_does_not_count(c: Cluster) -> None:
    run(c, pod("fast", "nginx"))
    node = c.client.get("Pod", "fast", "default")["spec"]["nodeName"]
    run(c, f"label node {node} disktype=ssd")
    assert_hint(outcome(c, "08-pin"), "nothing in its spec asks", "nodeSelector")


def test_08_pin_with_no_ssd_node(c: Cluster) -> None:
    run(c, pod("fast", "nginx", extra_spec="  nodeSelector:\n    disktype: ssd\n"))
    assert_hint(outcome(c, "08-pin"), "not scheduled", "describe pod fast")


# -- 11 -----------------------------------------------------------------------------------
ECHO = deployment("echo-server", "kennship/http-echo", 2) + "---" + service("echo-server", "ClusterIP", "echo-server", 3000)


def ingress(host: str = "hello.example", path: str = "/greet", port: int = 80) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hello
spec:
  rules:
  - host: {host}
    http:
      paths:
      - path: {path}
        pathType: Prefix
        backend:
          service:
            name: echo-server
            port:
              number: {port}
"""


ISOLATE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: echo-access
spec:
  podSelector:
    matchLabels:
      app: echo-server
  ingress:
  - from:
    - podSelector:
        matchLabels:
          access: echo
    ports:
    - port: {port}
"""


def test_11_ingress(c: Cluster) -> None:
    run(c, ECHO, "run busybox --image=busybox --restart=Never -- sleep 3600", ingress())
    report = outcome(c, "11-ingress")
    assert report.passed, str(report)
    assert "gets the echo server's answer" in str(report)


def test_11_ingress_to_the_pods_port(c: Cluster) -> None:
    run(c, ECHO, ingress(port=3000))
    assert_hint(outcome(c, "11-ingress"), "port 3000", "not to the pods' port")


def test_11_ingress_wrong_host(c: Cluster) -> None:
    run(c, ECHO, ingress(host="hello.example.com"))
    assert_hint(outcome(c, "11-ingress"), "found: hello.example.com", "Host header")


def test_11_ingress_blocked_by_a_policy(c: Cluster) -> None:
    run(c, ECHO, "run busybox --image=busybox --restart=Never -- sleep 3600", ingress(), ISOLATE.format(port=3000))
    assert_hint(outcome(c, "11-ingress"), "timed out", "NetworkPolicy")


def strangers_and_friends(c: Cluster) -> None:
    run(c, ECHO, "run friend --image=busybox --labels=access=echo --restart=Never -- sleep 3600",
        "run stranger --image=busybox --restart=Never -- sleep 3600")


def test_11_netpol(c: Cluster) -> None:
    strangers_and_friends(c)
    run(c, ISOLATE.format(port=3000))
    report = outcome(c, "11-netpol")
    assert report.passed, str(report)


def test_11_netpol_no_policy_lets_everybody_in(c: Cluster) -> None:
    strangers_and_friends(c)
    assert_hint(outcome(c, "11-netpol"), "no NetworkPolicy selects", "stranger gets an answer")


def test_11_netpol_service_port_in_the_rule(c: Cluster) -> None:
    strangers_and_friends(c)
    run(c, ISOLATE.format(port=80))
    assert_hint(outcome(c, "11-netpol"), "friend's request", "3000, not the Service's 80")
