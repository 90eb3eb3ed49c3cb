"""The simulated runtime: image catalog, references, processes, the busybox shell."""
from __future__ import annotations

import pytest

from kubelab.cluster import Cluster
from kubelab.engine.runtime import Catalog, InvalidImageName, PullError, parse_reference


def test_references_normalise_like_containerd() -> None:
    assert parse_reference("nginx").canonical == "docker.io/library/nginx:latest"
    assert parse_reference("kennship/http-echo").canonical == "docker.io/kennship/http-echo:latest"
    assert parse_reference("registry.k8s.io/pause:3.9").canonical == "registry.k8s.io/pause:3.9"
    assert parse_reference("docker.io/library/busybox:1.36").short == "busybox"
    with pytest.raises(InvalidImageName, match="repository name must be lowercase"):
        parse_reference("NGINX")


def test_catalog_knows_images_and_tags() -> None:
    catalog = Catalog()
    assert catalog.pull(parse_reference("nginx:1.27")).behaviour == "nginx"
    assert catalog.pull(parse_reference("busybox:1.36")).behaviour == "shell"
    assert catalog.pull(parse_reference("python:3.12-slim")).repository == "python"
    with pytest.raises(PullError, match="pull access denied"):
        catalog.pull(parse_reference("ngnix"))
    with pytest.raises(PullError, match="docker.io/library/nginx:1.999: not found"):
        catalog.pull(parse_reference("nginx:1.999"))


def test_user_images_extend_the_catalog() -> None:
    c = Cluster(clock="virtual", seed=3, images={"myorg/app": {"tags": ["v1"], "behaviour": "http-echo",
                                                               "command": ["app"], "port": 8080}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mine"},
                  "spec": {"containers": [{"name": "app", "image": "myorg/app:v1"}]}})
    c.settle()
    assert c.api.get("Pod", "mine")["status"]["phase"] == "Running"
    assert c.api.logs("mine") == "Listening on port 8080\n"


@pytest.fixture(scope="module")
def box() -> Cluster:
    c = Cluster(clock="virtual", seed=5)
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "box"},
                  "spec": {"containers": [{"name": "box", "image": "busybox", "command": ["sleep", "infinity"],
                                           "env": [{"name": "GREETING", "value": "hello world"}]}]}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    c.settle()
    return c


def run(box: Cluster, line: str) -> tuple[str, str, int]:
    r = box.api.exec("box", None, None, ["sh", "-c", line])
    return r.stdout, r.stderr, r.exit_code


@pytest.mark.parametrize("line, out, code", [
    ("echo $GREETING", "hello world\n", 0),
    ("echo '$GREETING'", "$GREETING\n", 0),
    ('echo "say: $GREETING"', "say: hello world\n", 0),
    ("true && echo yes || echo no", "yes\n", 0),
    ("false && echo yes || echo no", "no\n", 0),
    ("false; echo $?", "1\n", 0),
    ("exit 3", "", 3),
    ("X=1; export Y=2; echo $X$Y", "12\n", 0),
    ("for i in 1 2 3; do echo $i; done", "1\n2\n3\n", 0),
    ("if [ -f /etc/hostname ]; then echo yes; else echo no; fi", "yes\n", 0),
    ("echo hi > /tmp/f; cat /tmp/f; echo more >> /tmp/f; cat /tmp/f", "hi\nhi\nmore\n", 0),
    ("hostname", "box\n", 0),
    ("echo $(hostname)-x", "box-x\n", 0),
    ("printenv GREETING", "hello world\n", 0),
    ("echo a b c | wc -l", "1\n", 0),
    ("env | grep GREETING", "GREETING=hello world\n", 0),
    ("sleep 1; echo slept", "slept\n", 0),
])
def test_shell(box: Cluster, line: str, out: str, code: int) -> None:
    assert run(box, line)[0] == out
    assert run(box, line)[2] == code


def test_shell_errors(box: Cluster) -> None:
    assert run(box, "foo") == ("", "sh: foo: not found\n", 127)
    assert run(box, "cat /nope") == ("", "cat: can't open '/nope': No such file or directory\n", 1)
    assert run(box, "ls /nope")[1] == "ls: /nope: No such file or directory\n"
    assert run(box, "echo 'open")[2] == 2


def test_files_and_resolv_conf(box: Cluster) -> None:
    out, _, _ = run(box, "cat /etc/resolv.conf")
    assert out == ("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
                   "options ndots:5\n")
    assert "etc\n" in run(box, "ls /")[0]
    ip = box.api.get("Pod", "box")["status"]["podIP"]
    assert f"{ip}\tbox\n" in run(box, "cat /etc/hosts")[0]


def test_nginx_serves_welcome_page_and_404(box: Cluster) -> None:
    ip = box.api.get("Pod", "web")["status"]["podIP"]
    out, _, code = run(box, f"wget -qO- http://{ip}")
    assert code == 0 and "<title>Welcome to nginx!</title>" in out
    _, err, code = run(box, f"wget -qO- http://{ip}/missing")
    assert code == 1 and err == "wget: server returned error: HTTP/1.1 404 Not Found\n"
    assert '"GET / HTTP/1.1" 200 615' in box.api.logs("web")
    curl = box.api.exec("web", None, None, ["curl", "-s", "localhost"])
    assert "Welcome to nginx!" in curl.stdout
    assert box.api.exec("web", None, None, ["bash", "-c", "nope"]).stderr == "sh: nope: command not found\n"


def test_exec_of_missing_binary(box: Cluster) -> None:
    r = box.api.exec("box", None, None, ["bash"])
    assert r.exit_code == 126 and 'exec: "bash": executable file not found in $PATH' in r.stderr


def test_endless_loop_in_exec_is_bounded(box: Cluster) -> None:
    assert run(box, "while true; do sleep 1; done")[2] == 130


def test_main_process_output_is_logged_over_time() -> None:
    c = Cluster(clock="virtual", seed=9)
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ticker"},
                  "spec": {"containers": [{"name": "t", "image": "busybox", "command": [
                      "sh", "-c", "i=0; while true; do echo tick $i; i=$(echo x$i); sleep 10; done"]}]}})
    c.settle()
    c.advance(25)
    lines = c.api.logs("ticker").splitlines()
    assert 2 <= len(lines) <= 4 and lines[0] == "tick 0"
    assert c.api.logs("ticker", tail=1) == lines[-1] + "\n"


SIDECAR = """
apiVersion: v1
kind: Pod
metadata: {name: side}
spec:
  volumes: [{name: logs, emptyDir: {}}]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, 'sleep 3; while true; do echo "logging $(date +%s)" >> /opt/logs.txt; sleep 1; done']
    volumeMounts: [{name: logs, mountPath: /opt}]
  - name: sidecar
    image: busybox
    command: [sh, -c, 'tail -F /opt/logs.txt']
    volumeMounts: [{name: logs, mountPath: /opt}]
"""


def test_tail_follows_a_file_that_appears_later() -> None:
    """The docs' logging sidecar: ``tail -F`` on a file another container writes later."""
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl("apply -f -", stdin=SIDECAR).returncode == 0
    c.advance(8)
    first = c.kubectl("logs side -c sidecar").stdout.splitlines()
    c.advance(3)
    later = c.kubectl("logs side -c sidecar").stdout.splitlines()
    assert first[0] == "tail: can't open '/opt/logs.txt': No such file or directory"
    assert len(first) >= 3 and all(line.startswith("logging ") for line in first[1:])
    assert later[:len(first)] == first and len(later) >= len(first) + 2  # it goes on following
    assert c.api.get("Pod", "side")["status"]["phase"] == "Running"


@pytest.mark.parametrize("script, out, err, code", [
    ("head -n x /etc/hostname", "", "head: invalid number 'x'\n", 1),  # an applet's bad input
    ("tail -f /nope", "", "tail: can't open '/nope': No such file or directory\n", 1),
    (": ; echo $?", "0\n", "", 0),
    ("yes | head -n 2; yes no | head -n 1", "y\ny\nno\n", "", 0),  # an endless writer into a pipe
])
def test_applets_fail_like_busybox_never_with_python_errors(script: str, out: str, err: str, code: int) -> None:
    c = Cluster(clock="virtual", seed=1)
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bb"},
                  "spec": {"containers": [{"name": "bb", "image": "busybox", "command": ["sleep", "3600"]}]}})
    c.settle()
    result = c.client.exec("bb", "default", None, ["sh", "-c", script])
    assert (result.stdout, result.stderr, result.exit_code) == (out, err, code)
