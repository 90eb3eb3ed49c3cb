"""The ReplicaSet controller, driven through the API server of a virtual-clock cluster."""
from __future__ import annotations

import re

import pytest

from kubelab.api import errors

from controller_sim import bare_cluster, events, pods, run_all, set_pod

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
       "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo"}]}}


def rs(replicas: int = 3, name: str = "echo-server", **spec: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "labels": {"app": "echo-server"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "echo-server"}},
                     "template": {"metadata": {"labels": {"app": "echo-server"}},
                                  "spec": {"containers": [{"name": "echo-server-container",
                                                           "image": "kennship/http-echo"}]}},
                     **spec}}


@pytest.fixture
def c(monkeypatch: pytest.MonkeyPatch):
    return bare_cluster(monkeypatch)


def test_creates_replicas_with_generated_names_owner_and_events(c):
    c.api.create(rs(3))
    c.engine.drain()
    got = pods(c)
    assert len(got) == 3
    owner = c.api.get("ReplicaSet", "echo-server")
    for pod in got:
        assert re.fullmatch(r"echo-server-[bcdfghjklmnpqrstvwxz2456789]{5}", pod["metadata"]["name"])
        assert pod["metadata"]["generateName"] == "echo-server-"
        assert pod["metadata"]["labels"] == {"app": "echo-server"}
        ref = pod["metadata"]["ownerReferences"]
        assert ref == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "echo-server",
                        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    names = sorted(p["metadata"]["name"] for p in got)
    created = sorted(m for t, r, m in events(c, "ReplicaSet", "echo-server") if r == "SuccessfulCreate")
    assert created == [f"Created pod: {n}" for n in names]
    assert {t for t, r, m in events(c, "ReplicaSet", "echo-server")} == {"Normal"}


def test_status_counts_follow_pods(c):
    c.api.create(rs(3))
    c.engine.drain()
    status = c.api.get("ReplicaSet", "echo-server")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}
    first, *_ = pods(c)
    set_pod(c, first, ready=False)
    c.settle()
    assert c.api.get("ReplicaSet", "echo-server")["status"].get("readyReplicas") is None
    run_all(c)
    c.settle()
    status = c.api.get("ReplicaSet", "echo-server")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                      "observedGeneration": 1}


def test_min_ready_seconds_delays_available(c):
    c.api.create(rs(2, minReadySeconds=10))
    c.engine.drain()
    run_all(c)
    c.advance(1)  # pod status changes reach the controller within a quarter second
    status = c.api.get("ReplicaSet", "echo-server")["status"]
    assert status["readyReplicas"] == 2 and "availableReplicas" not in status
    c.advance(4)
    assert "availableReplicas" not in c.api.get("ReplicaSet", "echo-server")["status"]
    c.advance(6)
    assert c.api.get("ReplicaSet", "echo-server")["status"]["availableReplicas"] == 2


def test_adopts_the_notes_bare_pod_and_creates_exactly_two(c):
    c.api.create(POD)
    c.engine.drain()
    c.api.create(rs(3))
    c.engine.drain()
    got = pods(c)
    assert len(got) == 3
    bare = c.api.get("Pod", "echo-server")
    owner = c.api.get("ReplicaSet", "echo-server")
    assert bare["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    assert bare["metadata"]["ownerReferences"][0]["controller"] is True
    assert len([m for _, r, m in events(c, "ReplicaSet", "echo-server") if r == "SuccessfulCreate"]) == 2


def test_deleted_pod_is_replaced(c):
    c.api.create(rs(3))
    c.engine.drain()
    victim = pods(c)[0]["metadata"]["name"]
    c.api.delete("Pod", victim)
    c.engine.drain()
    run_all(c)
    names = [p["metadata"]["name"] for p in pods(c)]
    assert len(names) == 3 and victim not in names


def test_scale_up_and_down(c):
    c.api.create(rs(3))
    c.engine.drain()
    run_all(c)
    c.api.scale("ReplicaSet", "echo-server", "default", 5)
    c.engine.drain()
    assert len(pods(c)) == 5
    run_all(c)
    c.api.scale("ReplicaSet", "echo-server", "default", 1)
    c.engine.drain()
    run_all(c)
    assert len(pods(c)) == 1
    deleted = [m for _, r, m in events(c, "ReplicaSet", "echo-server") if r == "SuccessfulDelete"]
    assert len(deleted) == 4 and all(m.startswith("Deleted pod: echo-server-") for m in deleted)
    assert c.api.get("ReplicaSet", "echo-server")["status"]["replicas"] == 1


def test_scale_down_deletes_in_kubernetes_rank_order(c):
    c.api.create(rs(5))
    c.engine.drain()
    ps = sorted(pods(c), key=lambda p: p["metadata"]["name"])
    unassigned = ps[0]  # never scheduled: goes first
    pending = set_pod(c, ps[1], phase="Pending", ready=False)
    not_ready = set_pod(c, ps[2], ready=False)
    restarted = set_pod(c, ps[3], restarts=4)
    healthy = set_pod(c, ps[4], node="node-2")
    order = []
    for replicas in (4, 3, 2, 1):
        c.api.scale("ReplicaSet", "echo-server", "default", replicas)
        c.engine.drain()
        left = {p["metadata"]["name"] for p in pods(c)}
        gone = [p["metadata"]["name"] for p in (unassigned, pending, not_ready, restarted, healthy)
                if p["metadata"]["name"] not in left and p["metadata"]["name"] not in order]
        order += gone
    assert order == [p["metadata"]["name"] for p in (unassigned, pending, not_ready, restarted)]
    assert [p["metadata"]["name"] for p in pods(c)] == [healthy["metadata"]["name"]]


def test_releases_pod_whose_labels_stop_matching(c):
    c.api.create(rs(2))
    c.engine.drain()
    pod = pods(c)[0]
    pod["metadata"]["labels"] = {"app": "debug"}
    c.api.update(pod)
    c.engine.drain()
    freed = c.api.get("Pod", pod["metadata"]["name"])
    assert "ownerReferences" not in freed["metadata"]
    owned = pods(c, selector="app=echo-server")
    assert len(owned) == 2 and all(p["metadata"].get("ownerReferences") for p in owned)


def test_terminating_pods_do_not_count(c):
    c.api.create(rs(2))
    c.engine.drain()
    victim = pods(c)[0]
    c.engine.store.mark_deleted("Pod", "default", victim["metadata"]["name"], 30)
    c.engine.drain()
    assert len(pods(c)) == 2  # a replacement while the old one terminates
    assert len(pods(c, active=False)) == 3
    assert c.api.get("ReplicaSet", "echo-server")["status"]["replicas"] == 2


def test_pods_of_another_controller_are_left_alone(c):
    c.api.create(rs(2))
    c.engine.drain()
    other = rs(1, name="other")
    c.api.create(other)
    c.engine.drain()
    by_owner: dict[str, int] = {}
    for p in pods(c):
        owner = p["metadata"]["ownerReferences"][0]["name"]
        by_owner[owner] = by_owner.get(owner, 0) + 1
    # "other" finds two matching pods already owned by echo-server and creates its own.
    assert by_owner == {"echo-server": 2, "other": 1}


def test_failed_create_records_event_and_condition(c):
    def quota(obj, old, dry_run):  # an admission plugin that refuses pods, like an exhausted quota
        raise errors.forbidden("pods", obj["metadata"]["name"],
                               f'pods "{obj["metadata"]["name"]}" is forbidden: exceeded quota: q')
    c.api.add_hook("Pod", quota)
    c.api.create(rs(3))
    c.engine.drain()
    assert pods(c) == []
    failed = [(t, m) for t, r, m in events(c, "ReplicaSet", "echo-server") if r == "FailedCreate"]
    assert failed and failed[0][0] == "Warning"
    assert re.fullmatch(r'Error creating: pods "echo-server-\w{5}" is forbidden: exceeded quota: q', failed[0][1])
    cond = c.api.get("ReplicaSet", "echo-server")["status"]["conditions"]
    assert [(x["type"], x["status"], x["reason"]) for x in cond] == [("ReplicaFailure", "True", "FailedCreate")]
    c.api.hooks["Pod"].remove(quota)
    c.api.scale("ReplicaSet", "echo-server", "default", 2)
    c.engine.drain()
    assert len(pods(c)) == 2
    assert "conditions" not in c.api.get("ReplicaSet", "echo-server")["status"]
