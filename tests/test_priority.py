"""PriorityClass, the Priority admission plugin and kube-scheduler's preemption, on a virtual
clock; get/describe compared with the real kubectl 1.32 through the served API."""
from __future__ import annotations

import time

import pytest
import yaml

from kubelab import Cluster
from kubelab.api.errors import StatusError
from kubelab.engine.clock import VirtualClock
from kubelab.engine.events import events_for
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl

CLASSES = """\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
description: Pods that must run.
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: mid}
value: 500
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: polite}
value: 2000
preemptionPolicy: Never
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low, annotations: {team: batch}}
value: -10
globalDefault: true
"""


def pod(name: str, cpu: str = "100m", cls: str | None = None, labels: dict[str, str] | None = None,
        command: list[str] | None = None, grace: int | None = None, **spec: object) -> dict:
    container: dict = {"name": "c", "image": "busybox" if command else "nginx",
                       "resources": {"requests": {"cpu": cpu}}}
    if command:
        container["command"] = command
    body: dict = {"containers": [container], **spec}
    if cls:
        body["priorityClassName"] = cls
    if grace is not None:
        body["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": body}


def sleeper(name: str, cpu: str, **kw: object) -> dict:
    """A pod that takes its whole grace period to stop (sh ignores SIGTERM)."""
    return pod(name, cpu=cpu, command=["sh", "-c", "sleep 3600"], **kw)


def forbidden(c: Cluster, obj: dict) -> str:
    with pytest.raises(StatusError) as e:
        c.api.create(obj, "default")
    assert e.value.code == 403
    return e.value.message


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual", nodes=1, seed=5)
    assert c.kubectl("apply -f -", stdin=CLASSES).returncode == 0
    return c


def get(c: Cluster, name: str) -> dict:
    return c.engine.store.get("Pod", "default", name)


# -- the kind and the system classes -------------------------------------------------------------
def test_system_classes_exist_at_boot_and_cannot_be_deleted():
    c = Cluster(clock="virtual", nodes=1, seed=5)
    pcs = {pc["metadata"]["name"]: pc for pc in c.engine.store.list("PriorityClass")}
    assert set(pcs) == {"system-node-critical", "system-cluster-critical"}
    node = pcs["system-node-critical"]
    assert (node["value"], node["preemptionPolicy"], node["metadata"]["generation"], "globalDefault" in node) == (
        2000001000, "PreemptLowerPriority", 1, False)
    assert node["description"] == "Used for system critical pods that must not be moved from their current node."
    assert pcs["system-cluster-critical"]["value"] == 2000000000
    dns = next(p for p in c.engine.store.list("Pod", "kube-system") if p["metadata"]["name"].startswith("coredns"))
    assert (dns["spec"]["priority"], dns["spec"]["preemptionPolicy"]) == (2000000000, "PreemptLowerPriority")
    r = c.kubectl("delete pc system-node-critical")
    assert (r.returncode, r.stderr) == (1, 'Error from server (Forbidden): priorityclasses.scheduling.k8s.io '
                                           '"system-node-critical" is forbidden: this is a system priority class '
                                           "and cannot be deleted\n")
    assert c.kubectl("delete pc system-cluster-critical").returncode == 1


def test_a_restart_makes_missing_system_classes(tmp_path):
    """As the post-start hook does at every start: a state file from before the classes gets
    them, and the pods kube-system recreates are admitted."""
    c = Cluster(clock="virtual", nodes=1, seed=5, state=tmp_path / "c.db")
    uid = c.api.get("PriorityClass", "system-node-critical")["metadata"]["uid"]
    c.engine.store.remove("PriorityClass", "", "system-cluster-critical")
    c.close()
    again = Cluster(clock="virtual", nodes=1, seed=5, state=tmp_path / "c.db")
    assert again.api.get("PriorityClass", "system-node-critical")["metadata"]["uid"] == uid  # kept as it was
    assert again.api.get("PriorityClass", "system-cluster-critical")["value"] == 2000000000
    assert again.kubectl("rollout restart deployment coredns -n kube-system").returncode == 0
    again.settle(60)
    dns = [p for p in again.engine.store.list("Pod", "kube-system") if p["metadata"]["name"].startswith("coredns")]
    assert dns and all(p["spec"]["priority"] == 2000000000 for p in dns)
    again.close()


def test_validation_messages(cluster):
    def invalid(text: str) -> str:
        r = cluster.kubectl("apply -f -", stdin=text)
        assert r.returncode == 1
        return r.stderr

    pc = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: %s}\nvalue: %d\n"
    assert "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " \
           "error: system-mine is not a known system priority class" in invalid(pc % ("system-mine", 5))
    assert "Forbidden: maximum allowed value of a user defined priority is 1000000000" in invalid(
        pc % ("huge", 1000000001))
    assert invalid(pc % ("bad", 5) + "preemptionPolicy: Sometimes\n").endswith(
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: "Never", "PreemptLowerPriority"\n')
    changed = invalid(pc % ("high", 7) + "preemptionPolicy: Never\n")
    assert 'The PriorityClass "high" is invalid: \n* value: Forbidden: may not be changed in an update.\n' \
           '* preemptionPolicy: Invalid value: "Never": field is immutable' in changed
    r = cluster.kubectl("create pc second --value=3 --global-default")
    assert r.stderr == ('error: failed to create priorityclass: priorityclasses.scheduling.k8s.io "second" is '
                        "forbidden: PriorityClass low is already marked as default. Only one default can exist\n")
    assert cluster.kubectl("get pc second").returncode == 1
    # the default itself may stay the default; its description may change
    assert cluster.kubectl("apply -f -", stdin=pc % ("low", -10) + "globalDefault: true\ndescription: x\n"
                           ).returncode == 0


# -- the Priority admission plugin -----------------------------------------------------------------
def test_class_resolves_to_priority_and_policy(cluster):
    cluster.api.create(pod("a", cls="high"), "default")
    cluster.api.create(pod("b", cls="polite"), "default")
    cluster.api.create(pod("c"), "default")  # no class: the global default
    specs = {n: get(cluster, n)["spec"] for n in "abc"}
    assert (specs["a"]["priority"], specs["a"]["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    assert (specs["b"]["priority"], specs["b"]["preemptionPolicy"]) == (2000, "Never")
    assert (specs["c"]["priorityClassName"], specs["c"]["priority"]) == ("low", -10)
    assert cluster.api.create(pod("d", cls="high", priority=1000), "default")["spec"]["priority"] == 1000


def test_no_default_class_means_priority_zero():
    c = Cluster(clock="virtual", nodes=1, seed=5)
    spec = c.api.create(pod("a"), "default")["spec"]
    assert (spec["priority"], spec["preemptionPolicy"], "priorityClassName" in spec) == (
        0, "PreemptLowerPriority", False)


def test_forbidden_messages(cluster):
    assert forbidden(cluster, pod("x", cls="nope")) == (
        'pods "x" is forbidden: no PriorityClass with name nope was found')
    assert forbidden(cluster, pod("x", cls="high", priority=5)) == (
        'pods "x" is forbidden: the integer value of priority (5) must not be provided in pod spec; '
        "priority admission controller computed 1000 from the given PriorityClass name")
    assert forbidden(cluster, pod("x", cls="polite", preemptionPolicy="PreemptLowerPriority")) == (
        'pods "x" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided '
        "in pod spec; priority admission controller computed Never from the given PriorityClass name")
    assert cluster.engine.store.get("Pod", "default", "x") is None
    # a ReplicaSet's pods are named by their generateName in the message, as admission sees them
    cluster.kubectl("create deployment web --image=nginx")
    assert cluster.kubectl("patch deployment web -p "
                           """'{"spec":{"template":{"spec":{"priorityClassName":"gone"}}}}'""").returncode == 0
    cluster.settle(30)
    failed = [e["message"] for rs in cluster.engine.store.list("ReplicaSet", "default")
              for e in events_for(cluster.engine.store, rs) if e["reason"] == "FailedCreate"]
    assert failed and failed[0].startswith('Error creating: pods "web-') and failed[0].endswith(
        '-" is forbidden: no PriorityClass with name gone was found')


def test_replace_without_priority_keeps_it(cluster):
    cluster.api.create(pod("a", cls="high"), "default")
    live = get(cluster, "a")
    manifest = pod("a", cls="high")
    manifest["metadata"]["labels"] = {"app": "a", "more": "yes"}
    manifest["spec"] = {**live["spec"], "priority": None, "preemptionPolicy": None}
    manifest["spec"] = {k: v for k, v in manifest["spec"].items() if v is not None}
    updated = cluster.api.update(manifest, "default")
    assert (updated["spec"]["priority"], updated["spec"]["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    assert updated["metadata"]["labels"]["more"] == "yes"


# -- the scheduling queue ----------------------------------------------------------------------------
def test_queue_schedules_higher_priority_first(cluster):
    """Two pods wait for room; when it comes, the higher-priority one, though it came later, gets it."""
    cluster.api.create(pod("hog", cpu="1200m", cls="polite"), "default")
    cluster.settle(30)
    cluster.api.create(pod("early", cpu="700m", cls="low"), "default")
    cluster.api.create(pod("late", cpu="700m", cls="polite"), "default")
    cluster.advance(1)
    assert get(cluster, "early")["spec"].get("nodeName") is None and get(cluster, "late")["spec"].get("nodeName") is None
    cluster.api.delete("Pod", "hog", "default")
    cluster.settle(60)
    assert get(cluster, "late")["spec"].get("nodeName") == "kubelab"
    assert get(cluster, "early")["spec"].get("nodeName") is None


def test_one_batch_goes_by_priority(cluster):
    """Queued together, the later pod of higher priority is bound first."""
    cluster.api.create(pod("first", cpu="1000m", cls="low"), "default")
    cluster.api.create(pod("second", cpu="1000m", cls="polite"), "default")
    cluster.settle(30)
    assert get(cluster, "second")["spec"].get("nodeName") == "kubelab"
    assert get(cluster, "first")["spec"].get("nodeName") is None


# -- preemption --------------------------------------------------------------------------------------
def test_preemption_evicts_the_fewest_lowest_victims(cluster):
    """The node has 1250m left after kube-system: three 400m pods of the default class fill it;
    a 700m pod of class high needs two of them gone, and the newest go first."""
    for name in ("v1", "v2", "v3"):
        cluster.api.create(sleeper(name, "400m"), "default")
        cluster.settle(30)
        cluster.advance(10)
    cluster.api.create(pod("boss", cpu="700m", cls="high"), "default")
    cluster.advance(0.5)
    boss = get(cluster, "boss")
    assert boss["status"]["nominatedNodeName"] == "kubelab"
    uid = boss["metadata"]["uid"]
    assert [e["message"] for e in events_for(cluster.engine.store, boss) if e["reason"] == "FailedScheduling"] == [
        "0/1 nodes are available: 1 Insufficient cpu."]
    survivors, victims = [], []
    for name in ("v1", "v2", "v3"):
        p = get(cluster, name)
        (victims if p is None or p["metadata"].get("deletionTimestamp") else survivors).append(name)
    assert survivors == ["v1"] and victims == ["v2", "v3"]  # v1 started first: it is reprieved
    preempted = [e for e in cluster.engine.store.list("Event", "default") if e["reason"] == "Preempted"]
    assert sorted(e["involvedObject"]["name"] for e in preempted) == ["v2", "v3"]
    assert {e["message"] for e in preempted} == {f"Preempted by pod {uid} on node kubelab"}
    assert {(e["type"], e["source"]["component"]) for e in preempted} == {("Normal", "default-scheduler")}
    cluster.settle(120)
    assert get(cluster, "v2") is None and get(cluster, "v3") is None
    assert get(cluster, "boss")["spec"]["nodeName"] == "kubelab"
    assert get(cluster, "boss")["status"]["phase"] == "Running"


def test_a_second_preemptor_counts_the_first_ones_room(cluster):
    """The room the first preemptor waits for is taken as taken (RunFilterPluginsWithNominatedPods):
    the second one preempts the pod that would otherwise have been left, and both run."""
    for name in ("v1", "v2", "v3"):
        cluster.api.create(sleeper(name, "400m"), "default")
        cluster.settle(30)
        cluster.advance(10)
    cluster.api.create(pod("boss", cpu="700m", cls="high"), "default")
    cluster.advance(0.5)
    assert get(cluster, "v1")["metadata"].get("deletionTimestamp") is None
    cluster.api.create(pod("deputy", cpu="400m", cls="high"), "default")
    cluster.advance(0.5)
    assert get(cluster, "deputy")["status"]["nominatedNodeName"] == "kubelab"
    assert get(cluster, "v1")["metadata"].get("deletionTimestamp")
    cluster.settle(120)
    assert {get(cluster, n)["status"]["phase"] for n in ("boss", "deputy")} == {"Running"}


def test_victims_get_the_condition_and_their_grace_period(cluster):
    cluster.api.create(sleeper("sleeper", "1000m", grace=45), "default")
    cluster.settle(30)
    cluster.api.create(pod("boss", cpu="700m", cls="high"), "default")
    cluster.advance(1)
    victim = get(cluster, "sleeper")
    assert victim["metadata"]["deletionGracePeriodSeconds"] == 45
    target = next(c for c in victim["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert {k: target[k] for k in ("status", "reason", "message")} == {
        "status": "True", "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod"}
    # while it terminates, a retry of the preemptor does not preempt again
    cluster.kubectl("label node kubelab touched=yes")
    cluster.advance(1)
    messages = [e["message"] for e in events_for(cluster.engine.store, get(cluster, "boss"))
                if e["reason"] == "FailedScheduling"]
    assert messages[-1] == ("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a "
                            "terminating pod on the nominated node.")
    assert get(cluster, "boss")["status"]["nominatedNodeName"] == "kubelab"
    cluster.advance(50)
    assert get(cluster, "sleeper") is None
    cluster.settle(60)
    assert get(cluster, "boss")["spec"]["nodeName"] == "kubelab"


def test_preemption_policy_never_waits(cluster):
    cluster.api.create(pod("hog", cpu="1000m"), "default")
    cluster.settle(30)
    cluster.api.create(pod("polite", cpu="700m", cls="polite"), "default")
    cluster.advance(1)
    p = get(cluster, "polite")
    assert p["spec"].get("nodeName") is None and "nominatedNodeName" not in p["status"]
    assert get(cluster, "hog")["metadata"].get("deletionTimestamp") is None
    cond = next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"] == ("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
                               "preemptionPolicy=Never.")


def test_no_victims_when_removing_them_would_not_help(cluster):
    cluster.api.create(pod("small", cpu="200m"), "default")
    cluster.settle(30)
    cluster.api.create(pod("giant", cpu="1500m", cls="high"), "default")
    cluster.advance(1)
    cond = next(c for c in get(cluster, "giant")["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"] == ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                               "1 Insufficient cpu.")
    assert get(cluster, "small")["metadata"].get("deletionTimestamp") is None


def two_nodes() -> Cluster:
    """Two 1-CPU workers beside a tainted control-plane node (its system pods stay off them)."""
    cp = {"name": "cp", "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}
    c = Cluster(clock="virtual", nodes=[cp, {"name": "a", "cpu": 1}, {"name": "b", "cpu": 1}], seed=5)
    assert c.kubectl("apply -f -", stdin=CLASSES).returncode == 0
    return c


def test_node_choice_lowest_victim_priority():
    """pickOneNodeForPreemption: the node whose most important victim matters least."""
    c = two_nodes()
    c.api.create(sleeper("on-a", "900m", cls="mid", nodeName="a"), "default")
    c.api.create(sleeper("on-b", "900m", cls="low", nodeName="b"), "default")
    c.settle(30)
    c.api.create(pod("boss", cpu="500m", cls="high"), "default")
    c.advance(1)
    assert get(c, "boss")["status"]["nominatedNodeName"] == "b"
    assert get(c, "on-b")["metadata"].get("deletionTimestamp") and not get(c, "on-a")["metadata"].get(
        "deletionTimestamp")


def test_node_choice_respects_budgets():
    """A victim whose budget allows no disruption counts against its node: the other node goes."""
    c = two_nodes()
    c.api.create(sleeper("guarded", "900m", labels={"app": "db"}, nodeName="a"), "default")
    c.api.create(sleeper("free", "900m", cls="mid", labels={"app": "web"}, nodeName="b"), "default")
    c.api.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
                  "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}, "default")
    c.settle(30)
    assert c.engine.store.get("PodDisruptionBudget", "default", "db")["status"]["disruptionsAllowed"] == 0
    c.api.create(pod("boss", cpu="500m", cls="high"), "default")
    c.advance(1)
    assert get(c, "boss")["status"]["nominatedNodeName"] == "b"
    assert get(c, "guarded")["metadata"].get("deletionTimestamp") is None


def test_budget_is_not_a_wall():
    """Budgets only weigh the choice: when every way violates one, the scheduler still preempts."""
    c = two_nodes()
    c.api.create(sleeper("guarded", "900m", labels={"app": "db"}, nodeName="a"), "default")
    c.api.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
                  "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}, "default")
    c.api.create(sleeper("hog", "900m", cls="polite", nodeName="b"), "default")
    c.settle(30)
    c.api.create(pod("boss", cpu="500m", cls="high"), "default")
    c.advance(1)
    assert get(c, "boss")["status"]["nominatedNodeName"] == "a"
    assert get(c, "guarded")["metadata"].get("deletionTimestamp")


# -- the real kubectl 1.32 through the served API ----------------------------------------------------
GETS = ["get pc", "get priorityclasses -o wide", "get pc high -o yaml", "get priorityclass.scheduling.k8s.io low",
        "get pc nope", "get pc system-node-critical -o json", "get pods -o wide",
        "get events --field-selector reason=Preempted", "get pod boss -o jsonpath={.status.nominatedNodeName}"]
DESCRIBES = ["describe pc high", "describe priorityclass low", "describe pod boss", "describe pod sleeper"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    c = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), nodes=1, seed=1)
    assert c.kubectl("apply -f -", stdin=CLASSES).returncode == 0
    c.api.create(sleeper("sleeper", "1000m", grace=600), "default")
    c.settle(60)
    c.api.create(pod("boss", cpu="700m", cls="high"), "default")
    c.advance(30)
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield c, kubectl


@pytest.mark.parametrize("command", GETS)
def test_get_matches_real_kubectl(served, command):
    c, kubectl = served
    same(c, kubectl(command), command)


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    c, kubectl = served
    same_at_wall_clock(c, kubectl, command)


CREATES = ["create pc made --value=5 --description=hi --dry-run=client -o yaml",
           "create priorityclass quiet --value=7 --preemption-policy=Never --dry-run=client -o json",
           "create pc system-made --value=3", "create pc second --value=3 --global-default",
           "create pc huge --value=1000000001"]


@pytest.mark.parametrize("command", CREATES)
def test_create_matches_real_kubectl(served, command):
    c, kubectl = served
    same(c, kubectl(command), command)


def test_real_kubectl_creates_a_class_in_protobuf(served):
    c, kubectl = served
    r = kubectl("create pc made --value=5 --description=hi")
    assert (r.returncode, r.stdout) == (0, "priorityclass.scheduling.k8s.io/made created\n"), r.stderr
    assert (c.api.get("PriorityClass", "made")["value"], c.api.get("PriorityClass", "made")["description"]) == (5, "hi")
    same(c, kubectl("get pc made -o yaml"), "get pc made -o yaml")
    assert kubectl("delete pc made").returncode == 0


def test_served_errors_match_real_kubectl(served):
    c, kubectl = served
    bad = yaml.safe_dump(pod("orphan", cls="nope"))
    real = kubectl("apply -f -", stdin=bad)
    assert real.returncode == 1 and "no PriorityClass with name nope was found" in real.stderr
    mine = c.kubectl("apply -f -", stdin=bad)
    assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr)
    same(c, kubectl("delete pc system-cluster-critical"), "delete pc system-cluster-critical")
