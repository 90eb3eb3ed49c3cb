"""LimitRange: the kind, its defaults and validation, the LimitRanger admission plugin's
defaults and Forbidden messages, and get/describe compared with the real kubectl 1.32."""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl

RANGES = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-limits
spec:
  limits:
  - type: Container
    max:
      cpu: "1"
    min:
      cpu: 100m
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 200m
    maxLimitRequestRatio:
      cpu: "4"
  - type: Pod
    max:
      memory: 1Gi
"""


def pod(name: str, resources: str = "{}") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: app
    image: nginx
    resources: {resources}
"""


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual")
    r = c.kubectl("apply -f -", stdin=RANGES)
    assert r.returncode == 0, r.stderr
    return c


def test_limitrange_defaults_fill_the_container_item(cluster):
    item = cluster.client.get("LimitRange", "cpu-limits", "default")["spec"]["limits"][0]
    # SetDefaults_LimitRangeItem: defaultRequest takes the default limit where it has none
    assert item["defaultRequest"] == {"cpu": "200m", "memory": "256Mi"}
    assert "default" not in cluster.client.get("LimitRange", "cpu-limits", "default")["spec"]["limits"][1]


def test_pod_gets_defaults_and_the_annotation(cluster):
    assert cluster.kubectl("apply -f -", stdin=pod("x")).returncode == 0
    got = cluster.client.get("Pod", "x", "default")
    assert got["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}}
    assert got["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"


@pytest.mark.parametrize("resources, message", [
    ("{limits: {cpu: 2}}", "maximum cpu usage per Container is 1, but limit is 2"),
    ("{requests: {cpu: 50m}, limits: {cpu: 100m}}", "minimum cpu usage per Container is 100m, but request is 50m"),
    ("{requests: {cpu: 100m}, limits: {cpu: 800m}}",
     "cpu max limit to request ratio per Container is 4, but provided ratio is 8.000000"),
    ("{limits: {memory: 2Gi}}", "maximum memory usage per Pod is 1Gi, but limit is 2Gi"),
])
def test_limits_are_enforced_with_the_plugins_message(cluster, resources, message):
    r = cluster.kubectl("apply -f -", stdin=pod("big", resources))
    assert r.returncode == 1
    assert r.stderr == f'Error from server (Forbidden): error when creating "STDIN": pods "big" is forbidden: {message}\n'
    assert cluster.kubectl("get pod big").returncode == 1


def test_several_violations_are_one_aggregate(cluster):
    r = cluster.kubectl("apply -f -", stdin=pod("big", "{requests: {cpu: 2}, limits: {cpu: 2, memory: 2Gi}}"))
    assert 'pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, ' \
           'maximum memory usage per Pod is 1Gi, but limit is 2Gi]' in r.stderr


def test_a_defaulted_limit_below_the_request_is_invalid(cluster):
    r = cluster.kubectl("apply -f -", stdin=pod("z", "{requests: {cpu: 700m}}"))
    assert r.stderr == ('The Pod "z" is invalid: spec.containers[0].resources.requests: Invalid value: "700m": '
                        'must be less than or equal to cpu limit of 500m\n')


def test_replicaset_pods_are_defaulted(cluster):
    r = cluster.kubectl("create deployment web --image=nginx --replicas=2")
    assert r.returncode == 0, r.stderr
    cluster.settle()
    pods = cluster.client.list("Pod", "default", "app=web")["items"]
    assert len(pods) == 2
    assert all(p["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "500m" for p in pods)


def test_invalid_limitrange_is_rejected():
    c = Cluster(clock="virtual")
    r = c.kubectl("apply -f -", stdin="""\
apiVersion: v1
kind: LimitRange
metadata: {name: bad}
spec:
  limits:
  - type: Container
    min: {cpu: "2"}
    max: {cpu: "1"}
""")
    assert r.returncode == 1
    assert "min value 2 is greater than max value 1" in r.stderr
    assert c.kubectl("get limits").stderr == "No resources found in default namespace.\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    assert cluster.kubectl("apply -f -", stdin=RANGES).returncode == 0
    assert cluster.kubectl("apply -f -", stdin=pod("x")).returncode == 0
    cluster.settle(60)
    cluster.advance(600)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


@pytest.mark.parametrize("command", ["get limits", "get limitranges -A", "get limits cpu-limits -o wide",
                                     "get lr", "get limits nope"])
def test_get_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", ["describe limitrange cpu-limits", "describe limits",
                                     "describe ns default", "describe pod x"])
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    # kubectl walks a LimitRange item's resources in Go map order (random); kubelab sorts them
    same_at_wall_clock(cluster, kubectl, command, unordered="describe pod" not in command)


def test_real_kubectl_is_forbidden_the_same_way(served):
    cluster, kubectl = served
    real = kubectl("apply -f -", stdin=pod("big", "{limits: {cpu: 2}}"))
    assert real.returncode == 1
    assert 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2' in real.stderr


def test_limit_type_must_be_standard_or_qualified():
    c = Cluster(clock="virtual")
    r = c.kubectl("apply -f -", stdin="apiVersion: v1\nkind: LimitRange\nmetadata: {name: a}\n"
                                      "spec:\n  limits:\n  - type: Foo\n    max: {cpu: 1}\n")
    assert r.stderr == ('The LimitRange "a" is invalid: spec.limits[0].type: Invalid value: "Foo": '
                        'must be a standard limit type or fully qualified\n')


def test_claims_must_fit_a_persistentvolumeclaim_limit_range():
    """The docs' storagelimits.yaml: a claim over the max or under the min storage is
    Forbidden at admission; one in between is created."""
    c = Cluster(clock="virtual", seed=1)
    c.api.create({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "storagelimits"}, "spec": {
        "limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}}]}})

    def claim(name: str, size: str) -> str:
        r = c.kubectl("apply", "-f", "-", stdin=(
            f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\nspec:\n"
            f"  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: {size}}}}}\n"))
        return r.stdout + r.stderr

    assert 'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, ' \
           'but request is 5Gi' in claim("big", "5Gi")
    assert 'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, ' \
           'but request is 500Mi' in claim("small", "500Mi")
    assert claim("fits", "1500Mi") == "persistentvolumeclaim/fits created\n"
