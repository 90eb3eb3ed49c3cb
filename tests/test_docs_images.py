"""The images the Kubernetes docs and kubernetes/examples run: they pull with the tags those
manifests use (an unknown tag still fails as on the registry), and agnhost's subcommands,
hello-app, hpa-example, test-webserver and perl's pi behave as the docs show."""
from __future__ import annotations

import pytest

from kubelab.cluster import Cluster
from kubelab.engine.runtime import Catalog, PullError, _pi_digits, parse_reference

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.40"

DOCS_IMAGES = [
    "registry.k8s.io/pause:2.0", "registry.k8s.io/pause:3.1", "registry.k8s.io/pause:3.10", "registry.k8s.io/pause",
    "registry.k8s.io/test-webserver", "registry.k8s.io/busybox", "registry.k8s.io/busybox:1.27.2",
    "registry.k8s.io/redis:e2e", "gcr.io/google-samples/gb-frontend:v4", "docker.io/corelab/gb-frontend:v5",
    "us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower:v2", "gcr.io/google_samples/gb-redisslave:v1",
    "gcr.io/google-samples/hello-app:1.0", "gcr.io/google-samples/hello-app:2.0", "registry.k8s.io/hpa-example",
    "docker.io/library/bash:5", "perl:5.34.0", "docker.io/redis:6.0.5", "redis:5.0.4",
    "quay.io/fluentd_elasticsearch/fluentd:v2.5.2", "registry.k8s.io/fluentd-elasticsearch:1.20",
    "registry.k8s.io/nginx-slim:0.21", "registry.k8s.io/nginx-slim:0.24", "registry.k8s.io/goproxy:0.1",
    "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", "registry.k8s.io/kubernetes-zookeeper:1.0-3.4.10",
    "registry.k8s.io/guestbook:v3", "registry.k8s.io/redis-slave:v2", "registry.k8s.io/etcd:3.5.1-0",
    "gcr.io/google-samples/cassandra:v13", "gcr.io/google-samples/cassandra:v14", "gcr.io/google-samples/node-hello:1.0",
    "gcr.io/google-samples/hello-go-gke:1.0", "gcr.io/google-samples/hello-frontend:1.0", "polinux/stress",
    "vish/stress", "mongo:4.2", "mongo", "wordpress:6.2.1-apache", "selenium/hub:4.0", "minio/minio:latest",
    "registry.k8s.io/fluentd-gcp:1.30", "nginx:1.14.2", "nginx:1.16.1", "nginx:1.7.9", AGNHOST,
]


@pytest.mark.parametrize("image", DOCS_IMAGES)
def test_docs_images_pull(image: str) -> None:
    Catalog().pull(parse_reference(image))


@pytest.mark.parametrize("image, message", [
    ("registry.k8s.io/pause:9.9", 'failed to pull and unpack image "registry.k8s.io/pause:9.9": failed to resolve '
                                  'reference "registry.k8s.io/pause:9.9": registry.k8s.io/pause:9.9: not found'),
    ("gcr.io/google-samples/hello-app:3.0", "gcr.io/google-samples/hello-app:3.0: not found"),
    ("perl:4.0", "docker.io/library/perl:4.0: not found"),
    ("registry.k8s.io/no-such-thing", "registry.k8s.io/no-such-thing:latest: not found"),
])
def test_unknown_images_and_tags_still_fail(image: str, message: str) -> None:
    with pytest.raises(PullError) as err:
        Catalog().pull(parse_reference(image))
    assert message in str(err.value)


@pytest.fixture(scope="module")
def lab() -> Cluster:
    c = Cluster(clock="virtual", seed=7)
    for line in ("run box --image=busybox -- sleep infinity",
                 f"run net --image={AGNHOST} -- netexec --http-port=8080",
                 f"run host --image={AGNHOST} -- serve-hostname",
                 "run hello --image=gcr.io/google-samples/hello-app:2.0",
                 "run php --image=registry.k8s.io/hpa-example",
                 "run files --image=registry.k8s.io/test-webserver",
                 f"run idle --image={AGNHOST}",
                 f"run typo --image={AGNHOST} -- nope"):
        assert c.kubectl(line).returncode == 0
    c.settle(60)
    return c


def _get(c: Cluster, pod: str, path: str) -> tuple[str, int]:
    ip = c.api.get("Pod", pod)["status"]["podIP"]
    r = c.api.exec("box", None, None, ["sh", "-c", f"wget -qO- http://{ip}{path}"])
    return r.stdout, r.exit_code


def test_agnhost_netexec_answers_hostname_and_echo(lab: Cluster) -> None:
    assert _get(lab, "net", ":8080/hostname") == ("net", 0)
    assert _get(lab, "net", ":8080/echo?msg=hello") == ("hello", 0)
    assert _get(lab, "net", ":8080/nope")[1] == 1
    assert lab.api.logs("net") == "Started HTTP server on port 8080\nStarted UDP server on port  8081\n"


def test_agnhost_serve_hostname_and_pause(lab: Cluster) -> None:
    assert _get(lab, "host", ":9376") == ("host", 0)
    assert lab.api.logs("idle") == "Paused\n"


def test_agnhost_unknown_subcommand_fails_like_cobra(lab: Cluster) -> None:
    pod = lab.api.get("Pod", "typo")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1


def test_hello_app_php_apache_and_test_webserver(lab: Cluster) -> None:
    assert _get(lab, "hello", ":8080/") == ("Hello, world!\nVersion: 2.0.0\nHostname: hello\n", 0)
    assert _get(lab, "php", "/") == ("OK!", 0)
    out, code = _get(lab, "files", "/etc/hostname")
    assert code == 0 and out.strip() == "files"


def test_agnhost_liveness_fails_its_probe_after_10s_as_in_the_docs() -> None:
    """The docs' http-liveness.yaml: /healthz is 200 for 10 s, then 500; probed every 3 s
    after 3 s, three failures restart the container."""
    c = Cluster(clock="virtual", seed=1)
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "liveness-http"},
                  "spec": {"containers": [{"name": "liveness", "image": AGNHOST, "args": ["liveness"],
                                           "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                             "initialDelaySeconds": 3, "periodSeconds": 3}}]}})
    c.advance(5)
    pod = c.api.get("Pod", "liveness-http")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    c.advance(30)
    pod = c.api.get("Pod", "liveness-http")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["startedAt"] == started
    messages = [e["message"] for e in c.api.list("Event", "default")["items"] if e["reason"] == "Unhealthy"]
    assert messages == ["Liveness probe failed: HTTP probe failed with statuscode: 500"]


def test_the_docs_pi_job_prints_2000_digits() -> None:
    c = Cluster(clock="virtual", seed=1)
    c.kubectl('create job pi --image=perl:5.34.0 -- perl -Mbignum=bpi -wle "print bpi(2000)"')
    c.settle(120)
    out = c.kubectl("logs job/pi").stdout
    assert out.startswith("3.14159265358979323846264338327950288419716939937510") and len(out) == 2002
    assert c.api.get("Job", "pi")["status"]["succeeded"] == 1
    assert _pi_digits(10) == "3.141592654"


def _pod(name: str, image: str, **container: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": image, **container}]}}


def test_stress_over_its_memory_limit_is_oom_killed() -> None:
    """The docs' memory-request-limit examples: 150M under a 200Mi limit keeps running, 250M
    under 100Mi is killed by the kernel (exit 137, OOMKilled) and restarted."""
    c = Cluster(clock="virtual", seed=1)
    args = {"command": ["stress"], "args": ["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"]}
    c.api.create(_pod("fits", "polinux/stress", resources={"limits": {"memory": "200Mi"}}, **args))
    args["args"][3] = "250M"
    c.api.create(_pod("over", "polinux/stress", resources={"limits": {"memory": "100Mi"}}, **args))
    c.advance(60)
    fits = c.api.get("Pod", "fits")["status"]["containerStatuses"][0]
    assert fits["restartCount"] == 0 and "running" in fits["state"]
    over = c.api.get("Pod", "over")["status"]["containerStatuses"][0]
    assert over["restartCount"] >= 1
    assert over["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert over["lastState"]["terminated"]["exitCode"] == 137


def test_a_server_started_through_sh_c_keeps_running() -> None:
    """ZooKeeper's example starts its server as ``sh -c "start-zookeeper --servers=3 ..."``:
    the server runs and listens, and its exec probe script answers."""
    c = Cluster(clock="virtual", seed=1)
    probe = {"exec": {"command": ["sh", "-c", "zookeeper-ready 2181"]}, "initialDelaySeconds": 10}
    c.api.create(_pod("zk", "registry.k8s.io/kubernetes-zookeeper:1.0-3.4.10",
                      command=["sh", "-c", "start-zookeeper --servers=1 --client_port=2181"],
                      readinessProbe=probe))
    c.advance(60)
    status = c.api.get("Pod", "zk")["status"]["containerStatuses"][0]
    assert status["ready"] and status["restartCount"] == 0
