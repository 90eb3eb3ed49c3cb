"""PodDisruptionBudget: the kind, its validation, the disruption controller's status on a
virtual clock, and get/describe compared with the real kubectl 1.32 through the served API."""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl


def budget(name: str, bound: str, selector: str = "{matchLabels: {app: web}}") -> str:
    return f"""\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  {bound}
  selector: {selector}
"""


def status(cluster: Cluster, name: str) -> dict:
    s = cluster.client.get("PodDisruptionBudget", name, "default")["status"]
    return {k: s[k] for k in ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods")}


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual")
    assert c.kubectl("create deployment web --image=nginx --replicas=3").returncode == 0
    c.settle()
    return c


@pytest.mark.parametrize("bound, expected", [
    ("minAvailable: 2", (3, 2, 1, 3)),
    ("minAvailable: 3", (3, 3, 0, 3)),
    ("minAvailable: 50%", (3, 2, 1, 3)),
    ("maxUnavailable: 1", (3, 2, 1, 3)),
    ("maxUnavailable: 34%", (3, 1, 2, 3)),
])
def test_status_follows_the_bound(cluster, bound, expected):
    assert cluster.kubectl("apply -f -", stdin=budget("b", bound)).returncode == 0
    cluster.settle()
    assert tuple(status(cluster, "b").values()) == expected
    cond = cluster.client.get("PodDisruptionBudget", "b", "default")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == \
        ("DisruptionAllowed", *(("True", "SufficientPods") if expected[2] else ("False", "InsufficientPods")))


def test_status_follows_pods_going_away(cluster):
    assert cluster.kubectl("apply -f -", stdin=budget("b", "minAvailable: 2")).returncode == 0
    cluster.settle()
    assert cluster.kubectl("scale deployment web --replicas=1").returncode == 0
    cluster.settle(60)
    assert status(cluster, "b") == {"currentHealthy": 1, "desiredHealthy": 2, "disruptionsAllowed": 0,
                                    "expectedPods": 1}


def test_a_bare_pod_with_a_percentage_fails_safe(cluster):
    assert cluster.kubectl("run lone --image=nginx --labels=app=lone").returncode == 0
    assert cluster.kubectl("apply -f -", stdin=budget("b", "maxUnavailable: 50%", "{matchLabels: {app: lone}}")) \
        .returncode == 0
    cluster.settle()
    assert status(cluster, "b")["disruptionsAllowed"] == 0


def test_both_bounds_are_invalid(cluster):
    r = cluster.kubectl("apply -f -", stdin=budget("b", "minAvailable: 1\n  maxUnavailable: 1"))
    assert r.returncode == 1
    assert "minAvailable and maxUnavailable cannot be both set" in r.stderr
    r = cluster.kubectl("apply -f -", stdin=budget("b", "minAvailable: 120%"))
    assert 'spec.minAvailable: Invalid value: "120%": must not be greater than 100%' in r.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    assert cluster.kubectl("create deployment web --image=nginx --replicas=3").returncode == 0
    for name, bound in (("min", "minAvailable: 2"), ("max", "maxUnavailable: 50%"), ("all", "minAvailable: 100%")):
        assert cluster.kubectl("apply -f -", stdin=budget(name, bound)).returncode == 0
    cluster.settle(60)
    cluster.advance(600)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


@pytest.mark.parametrize("command", ["get pdb", "get poddisruptionbudgets -A", "get pdb min -o wide",
                                     "get pdb nope", "get pdb -o name"])
def test_get_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", ["describe pdb min", "describe pdb max", "describe poddisruptionbudgets"])
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same_at_wall_clock(cluster, kubectl, command)
