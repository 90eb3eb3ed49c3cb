"""The eviction API (pods/NAME/eviction) and the budgets it asks: on a virtual clock through
the client seam, over the served REST API, and ``kubectl drain`` / ``kubectl create pdb``
compared with the real kubectl 1.32."""
from __future__ import annotations

import subprocess

import pytest

from kubelab import Cluster
from kubelab.api.errors import StatusError
from kubelab.server import serve
from served import request
from test_server import KUBECTL, Kubectl, finish_while_advancing, needs_kubectl

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def budget(name: str, bound: str, selector: str = "{matchLabels: {app: web}}", extra: str = "") -> str:
    return f"""\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  {bound}
  selector: {selector}
{extra}"""


def pod(name: str, probe_port: int | None = None) -> str:
    """A bare nginx pod labelled app=web; with ``probe_port``, a readiness probe nothing answers."""
    probe = f"    readinessProbe: {{httpGet: {{port: {probe_port}}}, periodSeconds: 1}}\n" if probe_port else ""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web}}
spec:
  containers:
  - name: app
    image: nginx
{probe}"""


def eviction(name: str, **options) -> dict:
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
    if options:
        body["deleteOptions"] = options
    return body


def apply(c: Cluster, text: str) -> None:
    r = c.kubectl("apply -f -", stdin=text)
    assert r.returncode == 0, r.stderr


def web(c: Cluster) -> list[dict]:
    return [p for p in c.client.list("Pod", "default", label_selector="app=web")["items"]]


def pdb_status(c: Cluster, name: str = "b") -> dict:
    return c.client.get("PodDisruptionBudget", name, "default")["status"]


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl("create deployment web --image=nginx --replicas=3").returncode == 0
    c.settle()
    return c


def test_an_allowed_eviction_spends_the_budget_and_marks_the_pod(cluster):
    apply(cluster, budget("b", "minAvailable: 2"))
    cluster.settle()
    assert pdb_status(cluster)["disruptionsAllowed"] == 1
    name = web(cluster)[0]["metadata"]["name"]
    now = cluster.client.now()
    assert cluster.client.evict(name, "default", eviction(name)) == \
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    # what the eviction wrote, before the disruption controller looks again
    status = cluster.engine.store.get("PodDisruptionBudget", "default", "b")["status"]
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {name: cluster.engine.clock.timestamp(now)}
    allowed = next(c for c in status["conditions"] if c["type"] == "DisruptionAllowed")
    assert (allowed["status"], allowed["reason"]) == ("False", "InsufficientPods")
    gone = cluster.client.get("Pod", name, "default")
    assert gone["metadata"]["deletionTimestamp"]
    target = [c for c in gone["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert target == [{"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                       "lastTransitionTime": cluster.engine.clock.timestamp(now),
                       "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}]
    # the ReplicaSet replaces the pod; the controller clears the map once the pod is deleting
    cluster.settle()
    status = pdb_status(cluster)
    assert "disruptedPods" not in status
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (3, 1)


def test_the_kubelet_keeps_conditions_it_does_not_own():
    """mergePodStatus: a DisruptionTarget (or any condition another component wrote) outlives
    the kubelet's status writes, ahead of the kubelet's own conditions."""
    c = Cluster(clock="virtual", seed=1)
    apply(c, pod("p"))
    c.engine.drain()
    current = c.engine.store.get("Pod", "default", "p")
    marked = {**current, "status": {**current.get("status", {}), "conditions": [
        *(current.get("status") or {}).get("conditions", []),
        {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
         "lastTransitionTime": c.engine.clock.timestamp(), "reason": "EvictionByEvictionAPI",
         "message": "Eviction API: evicting"}]}}
    c.engine.store.update(marked, status=True)
    c.settle()
    live = c.client.get("Pod", "p", "default")["status"]
    assert live["phase"] == "Running"
    assert [x["type"] for x in live["conditions"]] == [
        "DisruptionTarget", "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]


def test_a_spent_budget_answers_429_and_keeps_the_pod(cluster):
    apply(cluster, budget("b", "minAvailable: 3"))
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    with pytest.raises(StatusError) as caught:
        cluster.client.evict(name, "default", eviction(name))
    assert caught.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": VIOLATION,
        "reason": "TooManyRequests", "code": 429,
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget b needs 3 healthy pods and has 3 currently"}]}}
    assert not cluster.client.get("Pod", name, "default")["metadata"].get("deletionTimestamp")
    assert "disruptedPods" not in pdb_status(cluster)


def test_two_budgets_over_one_pod_are_refused(cluster):
    apply(cluster, budget("a", "minAvailable: 1"))
    apply(cluster, budget("b", "maxUnavailable: 1"))
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    with pytest.raises(StatusError) as caught:
        cluster.client.evict(name, "default", eviction(name))
    assert (caught.value.code, caught.value.reason, caught.value.message) == (
        500, "", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")


def test_without_a_budget_or_with_an_empty_selector_the_pod_just_goes(cluster):
    apply(cluster, budget("b", "minAvailable: 3", selector="{}"))  # selects all pods, but not for evictions
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    assert cluster.client.evict(name, "default", eviction(name))["status"] == "Success"


def test_a_pending_pod_disrupts_nothing_and_is_evicted(cluster):
    apply(cluster, budget("b", "minAvailable: 3"))
    apply(cluster, pod("stuck").replace("spec:\n", "spec:\n  nodeSelector: {nowhere: 'true'}\n"))
    cluster.settle()
    assert cluster.client.get("Pod", "stuck", "default")["status"]["phase"] == "Pending"
    assert cluster.client.evict("stuck", "default", eviction("stuck"))["status"] == "Success"
    cluster.settle()
    with pytest.raises(StatusError, match='pods "stuck" not found'):
        cluster.client.get("Pod", "stuck", "default")


def bare_pods() -> Cluster:
    """Two ready pods and one a readiness probe keeps unready, all app=web."""
    c = Cluster(clock="virtual", seed=1)
    for name in ("a", "b"):
        apply(c, pod(name))
    apply(c, pod("sick", probe_port=9999))
    c.settle(30)
    assert [p["metadata"]["name"] for p in web(c) if any(
        x["type"] == "Ready" and x["status"] == "True" for x in p["status"]["conditions"])] == ["a", "b"]
    return c


@pytest.mark.parametrize("bound, policy, evicted", [
    ("minAvailable: 2", "", True),   # IfHealthyBudget: the budget holds without it
    ("minAvailable: 3", "", False),  # the budget is short: not even an unready pod goes
    ("minAvailable: 3", "unhealthyPodEvictionPolicy: AlwaysAllow", True),
])
def test_an_unready_pod_and_the_unhealthy_pod_eviction_policy(bound, policy, evicted):
    c = bare_pods()
    apply(c, budget("b", bound + (f"\n  {policy}" if policy else "")))
    c.settle(5)
    before = pdb_status(c)
    assert before["currentHealthy"] == 2 and before["disruptionsAllowed"] == 0
    if evicted:
        assert c.client.evict("sick", "default", eviction("sick"))["status"] == "Success"
        assert "disruptedPods" not in pdb_status(c)  # nothing was taken from the budget
    else:
        with pytest.raises(StatusError, match="violate"):
            c.client.evict("sick", "default", eviction("sick"))
    # a ready pod stays guarded
    with pytest.raises(StatusError, match="violate"):
        c.client.evict("a", "default", eviction("a"))


def test_delete_options_are_passed_through(cluster):
    apply(cluster, budget("b", "maxUnavailable: 3"))
    cluster.settle()
    first, second, third = (p["metadata"] for p in web(cluster))
    # dry run: nothing changes, not even the budget
    before = pdb_status(cluster)
    assert cluster.client.evict(first["name"], "default", eviction(first["name"]), dry_run=True)["status"] == "Success"
    assert cluster.client.evict(first["name"], "default", eviction(first["name"], dryRun=["All"]))["code"] == 201
    assert pdb_status(cluster) == before
    assert not cluster.client.get("Pod", first["name"], "default")["metadata"].get("deletionTimestamp")
    # a stale uid precondition is a Conflict
    with pytest.raises(StatusError) as caught:
        cluster.client.evict(first["name"], "default", eviction(first["name"], preconditions={"uid": "nope"}))
    assert (caught.value.code, caught.value.message) == (409, (
        f'Operation cannot be fulfilled on Pod "{first["name"]}": the UID in the precondition (nope) does not '
        f'match the UID in record ({first["uid"]}). The object might have been deleted and then recreated'))
    with pytest.raises(StatusError) as caught:
        cluster.client.evict(first["name"], "default", eviction(first["name"], preconditions={"resourceVersion": "1"}))
    assert caught.value.message == (
        f'Operation cannot be fulfilled on Pod "{first["name"]}": the ResourceVersion in the precondition (1) does '
        f'not match the ResourceVersion in record ({first["resourceVersion"]}). The object might have been modified')
    # a dry run never writes the condition: the store's own check words it
    with pytest.raises(StatusError) as caught:
        cluster.client.evict(first["name"], "default", eviction(first["name"], preconditions={"uid": "u"}),
                             dry_run=True)
    assert caught.value.message == (f'Operation cannot be fulfilled on pods "{first["name"]}": Precondition failed: '
                                    f'UID in precondition: u, UID in object meta: {first["uid"]}')
    # a matching precondition passes, and follows the condition's write
    cluster.client.evict(third["name"], "default", eviction(third["name"], preconditions={
        "uid": third["uid"], "resourceVersion": third["resourceVersion"]}))
    assert cluster.client.get("Pod", third["name"], "default")["metadata"]["deletionTimestamp"]
    # gracePeriodSeconds: 0 deletes at once
    cluster.client.evict(first["name"], "default", eviction(first["name"], gracePeriodSeconds=0))
    with pytest.raises(StatusError, match="not found"):
        cluster.client.get("Pod", first["name"], "default")
    cluster.client.evict(second["name"], "default", eviction(second["name"], gracePeriodSeconds=7))
    assert cluster.client.get("Pod", second["name"], "default")["metadata"]["deletionGracePeriodSeconds"] == 7


def test_bad_eviction_bodies(cluster):
    name = web(cluster)[0]["metadata"]["name"]
    for body, message in [
        (eviction("other"), "name in URL does not match name in Eviction object"),
        ({**eviction(name), "apiVersion": "policy/v2"},
         "the API version in the data (policy/v2) does not match the expected API version (policy/v1)"),
        ({**eviction(name), "metadata": {"name": name, "namespace": "kube-system"}},
         "the namespace of the provided object does not match the namespace sent on the request"),
    ]:
        with pytest.raises(StatusError) as caught:
            cluster.client.evict(name, "default", body)
        assert (caught.value.code, caught.value.message) == (400, message)
    with pytest.raises(StatusError, match='pods "ghost" not found'):
        cluster.client.evict("ghost", "default", eviction("ghost"))
    # policy/v1beta1 bodies are still taken
    assert cluster.client.evict(name, "default", {**eviction(name), "apiVersion": "policy/v1beta1"})["code"] == 201


def test_a_budget_the_controller_has_not_seen_asks_to_come_back(cluster):
    apply(cluster, budget("b", "minAvailable: 1"))
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    stored = cluster.engine.store.get("PodDisruptionBudget", "default", "b")
    changed = {**stored, "metadata": {**stored["metadata"], "generation": stored["metadata"]["generation"] + 1},
               "spec": {**stored["spec"], "minAvailable": 2}}
    cluster.engine.store.update(changed)  # generation moves on; the controller has not run yet
    with pytest.raises(StatusError) as caught:
        cluster.client.api.evict(name, "default", eviction(name))
    assert caught.value.retry_after == 10
    assert caught.value.to_status()["details"] == {"causes": [{
        "reason": "DisruptionBudget", "message": "The disruption budget b is still being processed by the server."}],
        "retryAfterSeconds": 10}


def test_the_controller_stops_counting_a_disrupted_pod_until_the_deletion_timeout(cluster):
    """A pod the eviction API let go but that was never deleted counts as unhealthy for two
    minutes, then counts again, with the controller's NotDeleted warning on it."""
    apply(cluster, budget("b", "minAvailable: 1"))
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    current = cluster.client.get("PodDisruptionBudget", "b", "default")
    current["status"]["disruptedPods"] = {name: cluster.engine.clock.timestamp()}
    cluster.client.update(current, "default", subresource="status")
    cluster.advance(1)
    status = pdb_status(cluster)
    assert (status["currentHealthy"], status["disruptionsAllowed"], list(status["disruptedPods"])) == (2, 1, [name])
    cluster.advance(118)
    assert list(pdb_status(cluster).get("disruptedPods", {})) == [name]
    cluster.advance(2)
    status = pdb_status(cluster)
    assert "disruptedPods" not in status and status["currentHealthy"] == 3
    warnings = [e for e in cluster.client.list("Event", "default")["items"] if e["reason"] == "NotDeleted"]
    assert [(e["type"], e["message"], e["source"]["component"], e["involvedObject"]["name"]) for e in warnings] == [
        ("Warning", "Pod was expected by PDB default/b to be deleted but it wasn't", "controllermanager", name)]


def test_two_evictions_cannot_spend_one_disruption(cluster):
    apply(cluster, budget("b", "maxUnavailable: 1"))
    cluster.settle()
    first, second = (p["metadata"]["name"] for p in web(cluster)[:2])
    cluster.client.evict(first, "default", eviction(first))
    with pytest.raises(StatusError, match="violate"):
        cluster.client.evict(second, "default", eviction(second))
    cluster.settle()  # the replacement is ready: one disruption again
    assert cluster.client.evict(second, "default", eviction(second))["status"] == "Success"


# -- kubectl drain, embedded -------------------------------------------------------------------
def drain_cluster(bound: str, replicas: int = 2) -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl(f"create deployment web --image=nginx --replicas={replicas}").returncode == 0
    c.settle()
    apply(c, budget("web", bound))
    c.settle()
    return c


def test_drain_retries_every_five_seconds_of_cluster_time_until_the_timeout():
    c = drain_cluster("minAvailable: 2")
    start = c.client.now()
    r = c.kubectl("drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --timeout=12s")
    assert c.client.now() - start == 15  # tries at 0, 5 and 10s; the one at 15s sees the deadline
    name = web(c)[0]["metadata"]["name"]
    assert r.stdout == "node/kubelab-m03 cordoned\n" + f"evicting pod default/{name}\n" * 4
    retry = (f'error when evicting pods/"{name}" -n "default" (will retry after 5s): {VIOLATION}\n')
    timeout = f'error when evicting pods/"{name}" -n "default": global timeout reached: 12s'
    assert r.stderr == (retry * 3 + f'There are pending pods in node "kubelab-m03" when an error occurred: {timeout}\n'
                        f"pod/{name}\n"
                        f'error: unable to drain node "kubelab-m03" due to error: {timeout}, continuing command...\n'
                        "There are pending nodes to be drained:\n kubelab-m03\n" + timeout + "\n")
    assert r.returncode == 1
    assert not c.client.get("Pod", name, "default")["metadata"].get("deletionTimestamp")


def test_drain_goes_on_once_the_budget_allows_it():
    """The budget blocks; scaling up gives it room; the retry 5 s later evicts."""
    c = drain_cluster("minAvailable: 2")
    name = next(p["metadata"]["name"] for p in web(c) if p["spec"]["nodeName"] == "kubelab-m03")
    c.clock.call_later(3, lambda: c.client.scale("Deployment", "web", "default", 3))
    r = c.kubectl("drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web")
    assert r.returncode == 0, r.stderr
    retries = r.stderr.count("will retry after 5s")
    assert retries >= 1 and r.stderr == retries * (
        f'error when evicting pods/"{name}" -n "default" (will retry after 5s): {VIOLATION}\n')
    assert r.stdout == ("node/kubelab-m03 cordoned\n" + f"evicting pod default/{name}\n" * (retries + 1)
                        + f"pod/{name} evicted\nnode/kubelab-m03 drained\n")


def test_drain_passes_its_grace_period_to_the_evictions():
    c = drain_cluster("minAvailable: 1")
    name = next(p["metadata"]["name"] for p in web(c) if p["spec"]["nodeName"] == "kubelab-m03")
    start = c.client.now()
    r = c.kubectl("drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --grace-period=0")
    assert r.returncode == 0 and f"pod/{name} evicted\n" in r.stdout
    assert c.client.now() == start  # deleted at once: nothing to wait for


def test_drain_disable_eviction_deletes_whatever_the_budget():
    c = drain_cluster("minAvailable: 2")
    name = next(p["metadata"]["name"] for p in web(c) if p["spec"]["nodeName"] == "kubelab-m03")
    r = c.kubectl("drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --disable-eviction")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, f"node/kubelab-m03 cordoned\npod/{name} deleted\nnode/kubelab-m03 drained\n", "")


# -- the served API and the real kubectl -------------------------------------------------------
def test_served_eviction_answers_as_the_apiserver(cluster):
    apply(cluster, budget("b", "minAvailable: 3"))
    cluster.settle()
    name = web(cluster)[0]["metadata"]["name"]
    import json

    with serve(cluster) as server:
        code, listed = request(server, "GET", "/api/v1")
        assert {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
                "version": "v1", "kind": "Eviction", "verbs": ["create"]} in listed["resources"]
        path = f"/api/v1/namespaces/default/pods/{name}/eviction"
        code, status = request(server, "POST", path, json.dumps(eviction(name)).encode())
        assert (code, status["reason"], status["details"]["causes"][0]["reason"]) == (429, "TooManyRequests",
                                                                                      "DisruptionBudget")
        code, status = request(server, "POST", path, json.dumps(eviction("x")).encode())
        assert (code, status["message"]) == (400, "name in URL does not match name in Eviction object")
        apply(cluster, budget("b", "minAvailable: 2"))
        cluster.settle()
        code, status = request(server, "POST", path, json.dumps(eviction(name)).encode())
        assert (code, status) == (201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "code": 201})


def real_and_mine(bound: str, command: str, replicas: int = 2) -> tuple[tuple, tuple]:
    """The same drain on two identical clusters: the real kubectl through the served API
    (cluster time moving while it runs) and kubelab's."""
    served = drain_cluster(bound, replicas)
    with serve(served) as server:
        import tempfile

        kubectl = Kubectl(server.kubeconfig, tempfile.mkdtemp())
        proc = kubectl.start(command)
        out, err = finish_while_advancing(served, proc, step=1, limit=60)
    mine = drain_cluster(bound, replicas).kubectl(command)
    return (proc.returncode, out, err), (mine.returncode, mine.stdout, mine.stderr)


@needs_kubectl
@pytest.mark.parametrize("bound, command", [
    ("minAvailable: 1", "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web"),
    ("minAvailable: 2", "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --timeout=7s"),
    ("minAvailable: 2", "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --disable-eviction"),
    ("minAvailable: 1", "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --dry-run=server"),
    ("minAvailable: 1", "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web --grace-period=0"),
])
def test_drain_matches_real_kubectl(bound, command):
    real, mine = real_and_mine(bound, command)
    assert mine == real


@needs_kubectl
def test_drain_with_two_budgets_matches_real_kubectl():
    def two(c: Cluster) -> None:
        apply(c, budget("other", "maxUnavailable: 1"))
        c.settle()

    command = "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web"
    served, mine = drain_cluster("minAvailable: 1"), drain_cluster("minAvailable: 1")
    two(served)
    two(mine)
    with serve(served) as server:
        import tempfile

        proc = Kubectl(server.kubeconfig, tempfile.mkdtemp()).start(command)
        out, err = finish_while_advancing(served, proc, step=1, limit=60)
    r = mine.kubectl(command)
    assert (r.returncode, r.stdout, r.stderr) == (proc.returncode, out, err)
    assert "more than one PodDisruptionBudget" in err


# -- kubectl create poddisruptionbudget -------------------------------------------------------
CREATE_PDB = [
    "create pdb my-pdb --selector=app=rails --min-available=1 --dry-run=client -o yaml",
    "create poddisruptionbudget my-pdb --selector=app=nginx --max-unavailable=50% --dry-run=client -o yaml",
    "create pdb my-pdb --selector=app=x --min-available=01 -n foo --dry-run=client -o json",
    ["create", "pdb", "p", "--selector=app in (b,a),zz=1,!legacy", "--max-unavailable=50%", "--dry-run=client",
     "-o", "json"],
    "create pdb my-pdb --selector=x= --min-available=1 --dry-run=client -o name",
    "create pdb my-pdb --selector=x --min-available=1 --dry-run=client",
    # kubectl's checks, in its order
    "create pdb --selector=app=x --min-available=1",
    "create pdb a b --selector=app=x --min-available=1",
    "create pdb my-pdb --min-available=1",
    "create pdb my-pdb --selector=app=x",
    "create pdb my-pdb --selector=app=x --min-available=1 --max-unavailable=1",
    "create pdb my-pdb --selector=app=x --min-available=a",
    "create pdb my-pdb --selector=app=x --max-unavailable=-1",
    "create pdb my-pdb --selector=app=x,tier!=db --min-available=1 --dry-run=client",
    "create pdb my-pdb --selector=a=b=c --min-available=1 --dry-run=client",
    ["create", "pdb", "p", "--selector=a b", "--min-available=1", "--dry-run=client"],
]


@needs_kubectl
@pytest.mark.parametrize("command", CREATE_PDB, ids=lambda c: c if isinstance(c, str) else " ".join(c))
def test_create_pdb_matches_real_kubectl(command, tmp_path):
    argv = command.split() if isinstance(command, str) else command
    real = subprocess.run([KUBECTL, *argv], capture_output=True, text=True, timeout=60,
                          env={"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"})
    mine = Cluster(clock="virtual").kubectl(*argv) if not isinstance(command, str) else \
        Cluster(clock="virtual").kubectl(command)
    assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr)


@needs_kubectl
def test_create_pdb_on_the_server_matches_real_kubectl(cluster, tmp_path):
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path))
        for command in ("create pdb one --selector=app=web --min-available=2",
                        "create pdb one --selector=app=web --min-available=2",
                        "create pdb two --selector=app=web --max-unavailable=150% --dry-run=server",
                        "create pdb two --selector=app=web --max-unavailable=1 --dry-run=server -o name"):
            real = kubectl(command)
            if "one" in command and real.returncode == 0:
                cluster.kubectl("delete pdb one")
            mine = cluster.kubectl(command)
            assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr)
    assert cluster.client.get("PodDisruptionBudget", "one", "default")["spec"] == {
        "minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}


def test_the_official_client_evicts_and_reads_the_429(cluster):
    """CoreV1Api.create_namespaced_pod_eviction through the served API: the Status comes back,
    and a spent budget is an ApiException 429 whose body names the budget."""
    kubernetes = pytest.importorskip("kubernetes")
    import json

    from kubernetes.client.rest import ApiException

    apply(cluster, budget("b", "maxUnavailable: 1"))
    cluster.settle()
    first, second = (p["metadata"]["name"] for p in web(cluster)[:2])
    with serve(cluster) as server:
        core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=server.kubeconfig))
        body = kubernetes.client.V1Eviction(metadata=kubernetes.client.V1ObjectMeta(name=first, namespace="default"),
                                            delete_options=kubernetes.client.V1DeleteOptions(grace_period_seconds=5))
        # the client would read the answer as a V1Eviction: read it raw
        done = core.create_namespaced_pod_eviction(first, "default", body, _preload_content=False)
        assert (done.status, json.loads(done.data)) == (201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                              "status": "Success", "code": 201})
        assert cluster.client.get("Pod", first, "default")["metadata"]["deletionGracePeriodSeconds"] == 5
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_pod_eviction(second, "default", kubernetes.client.V1Eviction(
                metadata=kubernetes.client.V1ObjectMeta(name=second, namespace="default")))
        assert caught.value.status == 429
        status = json.loads(caught.value.body)
        assert (status["message"], status["details"]["causes"][0]["message"]) == (
            VIOLATION, "The disruption budget b needs 2 healthy pods and has 2 currently")


def test_drain_without_a_timeout_gives_up_after_ten_minutes_of_cluster_time():
    """kubectl retries forever; the embedded kubectl stops after EVICTING_FOREVER so that a
    notebook's kernel is not held by a budget that never allows the disruption."""
    c = drain_cluster("minAvailable: 2")
    start = c.client.now()
    r = c.kubectl("drain kubelab-m03 --ignore-daemonsets --pod-selector=app=web")
    assert c.client.now() - start == 600
    assert r.stderr.count("will retry after 5s") == 120
    assert r.stderr.endswith('-n "default": global timeout reached: 2562047h47m16.854775807s\n')


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def protobuf_eviction(api_version: str, name: str, grace: int) -> bytes:
    """An Eviction as client-go's protobuf serializer writes it: runtime.Unknown around the message."""
    meta = _field(1, name.encode()) + _field(3, b"default")
    raw = _field(1, meta) + _field(2, _field(1, grace))
    type_meta = _field(1, api_version.encode()) + _field(2, b"Eviction")
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw)


def test_protobuf_eviction_bodies(cluster):
    from kubelab.api import protobuf

    first, second = (p["metadata"]["name"] for p in web(cluster)[:2])
    with serve(cluster) as server:
        for name, version in ((first, "policy/v1"), (second, "policy/v1beta1")):
            code, status = request(server, "POST", f"/api/v1/namespaces/default/pods/{name}/eviction",
                                   protobuf_eviction(version, name, 3), protobuf.MEDIA_TYPE)
            assert (code, status["status"]) == (201, "Success")
            assert cluster.client.get("Pod", name, "default")["metadata"]["deletionGracePeriodSeconds"] == 3


def test_evictions_in_a_terminating_namespace_are_forbidden():
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl("create namespace shop").returncode == 0
    assert c.kubectl("run p --image=nginx -n shop").returncode == 0
    c.settle()
    assert c.kubectl("delete namespace shop --wait=false").returncode == 0
    with pytest.raises(StatusError) as caught:
        c.client.evict("p", "shop", {**eviction("p"), "metadata": {"name": "p", "namespace": "shop"}})
    status = caught.value.to_status()
    assert (status["code"], status["message"]) == (
        403, 'pods "p" is forbidden: unable to create new content in namespace shop because it is being terminated')
    assert status["details"]["causes"] == [{"reason": "NamespaceTerminating", "message": "namespace shop is being "
                                            "terminated", "field": "metadata.namespace"}]
    with pytest.raises(StatusError, match='namespaces "nowhere" not found'):
        c.client.evict("p", "nowhere", {**eviction("p"), "metadata": {"name": "p"}})


def test_a_disruption_target_nobody_followed_is_reset_after_two_minutes():
    c = Cluster(clock="virtual", seed=1)
    apply(c, pod("p"))
    c.settle()
    current = c.engine.store.get("Pod", "default", "p")
    marked = {**current, "status": {**current["status"], "conditions": [
        *current["status"]["conditions"],
        {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
         "lastTransitionTime": c.engine.clock.timestamp(), "reason": "EvictionByEvictionAPI",
         "message": "Eviction API: evicting"}]}}
    c.engine.store.update(marked, status=True)
    c.advance(119)
    target = lambda: next(x for x in c.client.get("Pod", "p", "default")["status"]["conditions"]  # noqa: E731
                          if x["type"] == "DisruptionTarget")
    assert target()["status"] == "True"
    c.advance(2)
    assert target() == {"type": "DisruptionTarget", "status": "False", "lastProbeTime": None,
                        "lastTransitionTime": c.engine.clock.timestamp(c.engine.clock.now() - 1)}


def test_the_remote_client_evicts_through_a_served_cluster(cluster):
    """RemoteClient.evict (what kubelab's kubectl uses against a real cluster): the Status,
    and a 429 read back into the same StatusError the embedded client raises."""
    pytest.importorskip("kubernetes")
    from kubelab.remote import RemoteClient

    apply(cluster, budget("b", "maxUnavailable: 1"))
    cluster.settle()
    first, second = (p["metadata"]["name"] for p in web(cluster)[:2])
    with serve(cluster) as server:
        remote = RemoteClient(server.kubeconfig)
        assert remote.evict(first, "default", eviction(first))["status"] == "Success"
        with pytest.raises(StatusError) as caught:
            remote.evict(second, "default", eviction(second))
        with pytest.raises(StatusError) as embedded:
            cluster.client.evict(second, "default", eviction(second))
    assert caught.value.to_status() == embedded.value.to_status()


@needs_kubectl
def test_drain_of_two_nodes_that_both_fail_matches_real_kubectl():
    """Each node's errors on its own line, an aggregate in brackets (and kubectl 1.32's doubled
    "cannot delete cannot delete" for a pod without a controller)."""
    def cluster_with_bare_pods() -> Cluster:
        c = Cluster(clock="virtual", seed=1)
        for name, node in (("a", "kubelab-m02"), ("b", "kubelab-m03"), ("c", "kubelab-m03")):
            scratch = "  volumes:\n  - name: s\n    emptyDir: {}\n" if name == "c" else ""
            apply(c, pod(name).replace("spec:\n", f"spec:\n  nodeName: {node}\n") + scratch)
        c.settle()
        return c

    command = "drain kubelab-m02 kubelab-m03 --ignore-daemonsets"
    served = cluster_with_bare_pods()
    with serve(served) as server:
        import tempfile

        proc = Kubectl(server.kubeconfig, tempfile.mkdtemp()).start(command)
        out, err = finish_while_advancing(served, proc, step=1, limit=60)
    mine = cluster_with_bare_pods().kubectl(command)
    assert (mine.returncode, mine.stdout, mine.stderr) == (proc.returncode, out, err)
    assert "cannot delete cannot delete Pods that declare no controller" in err


SLOW = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: slow}
spec:
  replicas: 1
  selector: {matchLabels: {app: slow}}
  template:
    metadata: {labels: {app: slow}}
    spec:
      nodeSelector: {kubernetes.io/hostname: kubelab-m03}
      terminationGracePeriodSeconds: 600
      containers:
      - {name: c, image: busybox, command: [sleep, "3600"]}
"""


@needs_kubectl
@pytest.mark.parametrize("flags", ["", " --disable-eviction"])
def test_drain_timing_out_on_a_slow_pod_matches_real_kubectl(flags):
    """A pod that takes 10 minutes to stop outlives --timeout=5s: waitForDelete's context
    deadline, wrapped per pod for evictions, bare (as 'error: ...') for deletions."""
    def slow() -> Cluster:
        c = Cluster(clock="virtual", seed=1)
        apply(c, SLOW)
        c.settle()
        return c

    command = "drain kubelab-m03 --ignore-daemonsets --pod-selector=app=slow --timeout=5s" + flags
    served = slow()
    with serve(served) as server:
        import tempfile

        proc = Kubectl(server.kubeconfig, tempfile.mkdtemp()).start(command)
        out, err = finish_while_advancing(served, proc, step=1, limit=60)
    mine = slow().kubectl(command)
    assert (mine.returncode, mine.stdout, mine.stderr) == (proc.returncode, out, err)
    assert "context deadline exceeded" in err


def test_drain_waits_out_a_pod_going_with_its_namespace():
    """An eviction in a terminating namespace is Forbidden; drain then waits for the pod the
    namespace is taking away, as for an evicted one."""
    c = Cluster(clock="virtual", seed=1)
    assert c.kubectl("create namespace shop").returncode == 0
    assert c.kubectl("create deployment web --image=nginx -n shop").returncode == 0
    c.settle()
    name = c.client.list("Pod", "shop")["items"][0]["metadata"]["name"]
    node = c.client.get("Pod", name, "shop")["spec"]["nodeName"]
    assert c.kubectl("delete namespace shop --wait=false").returncode == 0
    r = c.kubectl(f"drain {node} --ignore-daemonsets --pod-selector=app=web")
    assert (r.returncode, r.stdout) == (0, f"node/{node} cordoned\nevicting pod shop/{name}\npod/{name} evicted\n"
                                           f"node/{node} drained\n"), r.stderr


def stranded(deleted: bool) -> Cluster:
    """A bare pod on kubelab-m03, whose kubelet is stopped: a deleted pod there stays Terminating
    (``deleted``: it was deleted 40 s ago, its 30 s grace 10 s past)."""
    c = Cluster(clock="virtual", seed=1)
    apply(c, pod("stranded").replace("spec:\n", "spec:\n  nodeName: kubelab-m03\n"))
    c.settle()
    c.stop_node("kubelab-m03")
    if deleted:
        c.client.delete("Pod", "stranded", "default")
        c.advance(40)
    return c


@pytest.mark.parametrize("deleted, flags, out", [
    # skipDeletedFilter: a pod deleted more than N seconds ago is not drain's business
    (True, "--skip-wait-for-delete-timeout=5", "node/kubelab-m03 cordoned\nnode/kubelab-m03 drained\n"),
    # waitForDelete stops waiting for it once its deletionTimestamp is N seconds past
    (False, "--skip-wait-for-delete-timeout=2", "node/kubelab-m03 cordoned\nevicting pod default/{name}\n"
     'pod "{name}" has DeletionTimestamp older than 2 seconds, skipping\nnode/kubelab-m03 drained\n'),
])
def test_drain_skip_wait_for_delete_timeout(deleted, flags, out):
    line = f"drain kubelab-m03 --ignore-daemonsets --force --pod-selector=app=web {flags}"
    c = stranded(deleted)
    name = "stranded"
    r = c.kubectl(line)
    assert (r.returncode, r.stdout) == (0, out.format(name=name)), r.stderr
    assert c.client.get("Pod", name, "default")["metadata"]["deletionTimestamp"]  # still there, terminating
    if KUBECTL is not None:  # and as the real kubectl 1.32 does it
        served = stranded(deleted)
        with serve(served) as server:
            import tempfile

            proc = Kubectl(server.kubeconfig, tempfile.mkdtemp()).start(line)
            real_out, real_err = finish_while_advancing(served, proc, step=1, limit=60)
        assert (r.returncode, r.stdout, r.stderr) == (proc.returncode, real_out, real_err)
