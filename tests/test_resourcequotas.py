"""ResourceQuota: the kind, the resource-quota controller's status, the ResourceQuota
admission plugin's Forbidden messages (a ReplicaSet's FailedCreate among them), and
get/describe compared with the real kubectl 1.32 through the served API."""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl

DEFAULTS = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
spec:
  limits:
  - type: Container
    default: {cpu: 400m, memory: 256Mi}
"""
HARD = "pods=2,requests.cpu=1,limits.memory=1Gi,count/deployments.apps=1,configmaps=5,services=1"


def run(cluster: Cluster, command: str, stdin: str | None = None):
    return cluster.kubectl(command, stdin=stdin)


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual")
    r = run(c, f"create quota q --hard={HARD}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "resourcequota/q created\n", "")
    c.settle()
    return c


def used(cluster: Cluster) -> dict[str, str]:
    return cluster.client.get("ResourceQuota", "q", "default")["status"]["used"]


def test_controller_fills_hard_and_used(cluster):
    status = cluster.client.get("ResourceQuota", "q", "default")["status"]
    assert status["hard"] == {"configmaps": "5", "count/deployments.apps": "1", "limits.memory": "1Gi",
                              "pods": "2", "requests.cpu": "1", "services": "1"}
    # kube-root-ca.crt is a ConfigMap; the kubernetes Service lives in default
    assert status["used"] == {"configmaps": "1", "count/deployments.apps": "0", "limits.memory": "0",
                              "pods": "0", "requests.cpu": "0", "services": "1"}


def test_pod_without_requests_must_specify_them(cluster):
    r = run(cluster, "run a --image=nginx")
    assert r.stderr == ('Error from server (Forbidden): pods "a" is forbidden: failed quota: q: must specify '
                        'limits.memory for: a; requests.cpu for: a\n')


def test_pods_count_until_the_quota_is_full_then_free_it_on_delete(cluster):
    assert run(cluster, "apply -f -", DEFAULTS).returncode == 0
    assert run(cluster, "run a --image=nginx").returncode == 0
    assert run(cluster, "run b --image=nginx").returncode == 0
    assert used(cluster)["pods"] == "2" and used(cluster)["requests.cpu"] == "800m"
    r = run(cluster, "run c --image=nginx")
    assert r.stderr == ('Error from server (Forbidden): pods "c" is forbidden: exceeded quota: q, requested: '
                        'pods=1,requests.cpu=400m, used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1\n')
    assert run(cluster, "delete pod a --wait=false").returncode == 0
    cluster.settle()
    assert used(cluster)["pods"] == "1" and used(cluster)["limits.memory"] == "256Mi"
    assert run(cluster, "run c --image=nginx").returncode == 0


def test_object_counts(cluster):
    assert run(cluster, "create deployment web --image=nginx").returncode == 0
    r = run(cluster, "create deployment web2 --image=nginx")
    assert r.stderr == ('error: failed to create deployment: deployments.apps "web2" is forbidden: exceeded quota: q, '
                        'requested: count/deployments.apps=1, used: count/deployments.apps=1, '
                        'limited: count/deployments.apps=1\n')
    r = run(cluster, "create service clusterip s --tcp=80")
    assert 'services "s" is forbidden: exceeded quota: q, requested: services=1, used: services=1, limited: services=1' \
        in r.stderr


def test_replicaset_blocked_by_quota_reports_failedcreate(cluster):
    assert run(cluster, "apply -f -", DEFAULTS).returncode == 0
    assert run(cluster, "create deployment web --image=nginx --replicas=3").returncode == 0
    cluster.settle()
    pods = cluster.client.list("Pod", "default", "app=web")["items"]
    assert len(pods) == 2
    events = [e for e in cluster.client.list("Event", "default")["items"] if e["reason"] == "FailedCreate"]
    assert events and events[0]["involvedObject"]["kind"] == "ReplicaSet"
    assert events[0]["message"].startswith('Error creating: pods "web-')
    assert events[0]["message"].endswith('" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, '
                                         'used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1')


def test_dry_run_uses_no_quota(cluster):
    assert run(cluster, "apply -f -", DEFAULTS).returncode == 0
    assert run(cluster, "run a --image=nginx --dry-run=server").returncode == 0
    assert used(cluster)["pods"] == "0"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    assert run(cluster, f"create quota q --hard={HARD}").returncode == 0
    assert run(cluster, "create quota objects --hard=count/secrets=10,secrets=4").returncode == 0
    assert run(cluster, "create quota scoped --hard=pods=3 --scopes=BestEffort").returncode == 0
    assert run(cluster, "apply -f -", DEFAULTS).returncode == 0
    assert run(cluster, "create deployment web --image=nginx --replicas=3").returncode == 0
    cluster.settle(60)
    cluster.advance(600)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


@pytest.mark.parametrize("command", ["get quota", "get resourcequotas -A", "get quota q -o wide",
                                     "get quota nope", "get quota objects -o name",
                                     "create deployment web2 --image=nginx",
                                     "create service clusterip s --tcp=80"])
def test_get_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", ["describe quota q", "describe quota objects", "describe quota scoped",
                                     "describe ns default"])
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    # kubectl walks a LimitRange item's resources in Go map order (random); kubelab sorts them
    same_at_wall_clock(cluster, kubectl, command, unordered=command.startswith("describe ns"))


def test_real_kubectl_meets_the_same_quota(served):
    cluster, kubectl = served
    real = kubectl("run extra --image=nginx")
    assert real.returncode == 1
    assert 'pods "extra" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, ' \
           'used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1' in real.stderr
    real = kubectl("create quota made --hard=pods=1")
    assert (real.returncode, real.stdout) == (0, "resourcequota/made created\n")
    assert cluster.client.get("ResourceQuota", "made", "default")["spec"]["hard"] == {"pods": "1"}
