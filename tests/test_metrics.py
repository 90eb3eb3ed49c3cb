"""The resource-metrics pipeline: CPU and memory follow what containers do, on the cluster
clock, served as metrics.k8s.io and printed by ``kubectl top`` as the real kubectl prints it."""
from __future__ import annotations

import json

import pytest

from kubelab import Cluster
from kubelab.api.quantity import cpu_millis
from kubelab.server import serve
from test_server import Kubectl, needs_kubectl

CAPPED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "capped"},
          "spec": {"containers": [{"name": "yes", "image": "busybox", "command": ["sh", "-c", "yes > /dev/null"],
                                   "resources": {"limits": {"cpu": "200m"}}}]}}


def cpu(c: Cluster, pod: str) -> int:
    """Millicores of a pod, as the metrics API serves them."""
    m = c.client.get("PodMetrics", pod, "default")
    return sum(cpu_millis(x["usage"]["cpu"]) for x in m["containers"])


@pytest.fixture
def busy() -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("create deployment web --image=kennship/http-echo")
    c.kubectl("expose deploy web --port=80 --target-port=3000")
    c.kubectl("run spin --image=busybox -- sh -c 'while true; do :; done'")
    c.kubectl("run sleeper --image=busybox -- sh -c 'while true; do sleep 5; done'")
    c.client.create(CAPPED)
    c.settle()
    c.advance(40)
    return c


def test_usage_follows_what_containers_do(busy):
    web = busy.client.list("Pod", "default", label_selector="app=web")["items"][0]["metadata"]["name"]
    assert cpu(busy, "spin") == 1000, "a loop that never sleeps burns a core"
    assert cpu(busy, "capped") == 200, "throttled at its CPU limit"
    assert cpu(busy, "sleeper") == 0
    assert cpu(busy, web) == 1, "an idle server uses about 1m"
    busy.kubectl("run load --image=busybox -- sh -c 'while true; do wget -q -O- http://web; done'")
    busy.advance(45)
    assert cpu(busy, web) == 101, "10 requests a second at 10ms each, plus idle"
    assert cpu(busy, "load") == 20
    busy.kubectl("delete pod load --now")
    busy.advance(45)
    assert cpu(busy, web) == 1
    memory = busy.client.get("PodMetrics", web, "default")["containers"][0]["usage"]["memory"]
    assert memory.endswith("Ki") and 38 * 1024 <= int(memory[:-2]) <= 42 * 1024


def test_metrics_are_sampled_every_15_seconds(busy):
    first = busy.client.get("PodMetrics", "spin", "default")
    busy.advance(15)
    later = busy.client.get("PodMetrics", "spin", "default")
    assert later["timestamp"] != first["timestamp"] and later["window"] == "15s"


def test_deleted_pods_lose_their_metrics(busy):
    busy.kubectl("delete pod spin --now")
    busy.settle()
    assert "spin" not in busy.kubectl("top pods").stdout


def test_top_pods_and_nodes(busy):
    out = busy.kubectl("top pods --sort-by=cpu").stdout.splitlines()
    assert out[0] == "NAME                   CPU(cores)   MEMORY(bytes)   "
    assert [line.split()[0] for line in out[1:3]] == ["spin", "capped"]
    nodes = busy.kubectl("top nodes").stdout.splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert len(nodes) == 4
    assert busy.kubectl("top pods --sort-by=disk").stderr == "error: --sort-by accepts only cpu or memory\n"


@needs_kubectl
def test_top_matches_the_real_kubectl(busy, tmp_path):
    with serve(busy) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        raw = kubectl("get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/spin")
        assert json.loads(raw.stdout)["kind"] == "PodMetrics"
        for line in ("top pods", "top pods -A --sort-by=cpu", "top pods --containers --sum",
                     "top pods --sort-by=memory --no-headers", "top nodes", "top node --show-capacity",
                     "top pods -l app=web", "top pod spin -l app=web", "top pod nope", "top node nope",
                     "top pods -n empty"):
            real = kubectl(line)
            ours = busy.kubectl(line)
            assert (ours.stdout, ours.stderr, ours.returncode) == (real.stdout, real.stderr, real.returncode), line


@needs_kubectl
def test_metrics_are_an_aggregated_api_beside_the_registry(busy, tmp_path):
    from kubelab.api.kinds import BY_KIND, METRICS

    assert not set(METRICS) & set(BY_KIND), "no OpenAPI schema: not in the registry"
    with serve(busy) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        groups = {g["name"]: g for g in json.loads(kubectl("get --raw /apis").stdout)["groups"]}
        assert list(groups)[-1] == "metrics.k8s.io", "groupPriorityMinimum 100: after the built-in groups"
        assert [v["version"] for v in groups["autoscaling"]["versions"]] == ["v2", "v1"]
        assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"
        r = kubectl("delete --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/spin")
        assert "the server does not allow this method on the requested resource" in r.stderr
        r = kubectl("get --raw /apis/metrics.k8s.io/v1beta1/pods?watch=true")
        assert "the server does not allow this method on the requested resource" in r.stderr
        openapi = kubectl("get --raw /openapi/v2").stdout
        assert "PodMetrics" not in openapi and "HorizontalPodAutoscaler" in openapi


@needs_kubectl
def test_get_metrics_resources_matches_the_real_kubectl(busy, tmp_path):
    """metrics-server's own Table (name, summed usage, window); every verb but get and list is refused."""
    with serve(busy) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for line in ("get pods.metrics.k8s.io", "get podmetrics -A", "get nodes.metrics.k8s.io",
                     "get nodemetrics kubelab", "get podmetrics -o name", "get podmetrics nope",
                     "get podmetrics spin -o yaml", "label podmetrics spin a=b", "delete podmetrics spin",
                     "get podmetrics -w --request-timeout=1s", "get pods", "get nodes"):
            real = kubectl(line)
            ours = busy.kubectl(line)
            assert (ours.stdout, ours.stderr, ours.returncode) == (real.stdout, real.stderr, real.returncode), line
    assert "MethodNotAllowed" in busy.kubectl("delete podmetrics spin").stderr
