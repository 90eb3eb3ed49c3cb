"""Garbage collection through ownerReferences: background, orphan and foreground deletion."""
from __future__ import annotations

import copy

import pytest

from controller_sim import bare_cluster, pods, run_all
from test_replicaset import rs


@pytest.fixture
def c(monkeypatch: pytest.MonkeyPatch):
    return bare_cluster(monkeypatch)


def cm(name: str, *owners: dict) -> dict:
    meta: dict = {"name": name}
    if owners:
        meta["ownerReferences"] = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
                                    "uid": o["metadata"]["uid"]} for o in owners]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def test_background_deletion_removes_dependents(c):
    c.api.create(rs(3))
    c.engine.drain()
    assert len(pods(c)) == 3
    c.api.delete("ReplicaSet", "echo-server")
    c.engine.drain()
    assert pods(c, active=False) == []


def test_orphan_deletion_keeps_pods_without_owner(c):
    c.api.create(rs(2))
    c.engine.drain()
    c.api.delete("ReplicaSet", "echo-server", propagation="Orphan")
    c.engine.drain()
    left = pods(c)
    assert len(left) == 2 and all("ownerReferences" not in p["metadata"] for p in left)
    # a new ReplicaSet with the same selector adopts them instead of creating more
    c.api.create(rs(2))
    c.engine.drain()
    assert {p["metadata"]["name"] for p in pods(c)} == {p["metadata"]["name"] for p in left}


def test_foreground_deletion_waits_for_blocking_dependents(c):
    c.api.create(rs(2))
    c.engine.drain()
    held = copy.deepcopy(pods(c)[0])
    held["metadata"]["finalizers"] = ["example.com/hold"]
    c.api.update(held)
    c.engine.drain()
    c.api.delete("ReplicaSet", "echo-server", propagation="Foreground")
    c.engine.drain()
    run_all(c)
    owner = c.api.get("ReplicaSet", "echo-server")
    assert owner["metadata"]["deletionTimestamp"] and "foregroundDeletion" in owner["metadata"]["finalizers"]
    remaining = pods(c, active=False)
    assert [p["metadata"]["name"] for p in remaining] == [held["metadata"]["name"]]
    assert remaining[0]["metadata"]["deletionTimestamp"]
    released = copy.deepcopy(remaining[0])
    released["metadata"]["finalizers"] = []
    c.engine.store.update(released)
    run_all(c)
    assert pods(c, active=False) == []
    assert c.engine.store.get("ReplicaSet", "default", "echo-server") is None


def test_dependent_of_missing_owner_is_collected(c):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost", "uid": "0000-gone"}}
    c.api.create(cm("orphaned", ghost))
    c.engine.drain()
    assert c.engine.store.get("ConfigMap", "default", "orphaned") is None


def test_owner_recreated_with_same_name_does_not_keep_dependent(c):
    first = c.api.create(cm("owner"))
    c.api.create(cm("child", first))
    c.engine.drain()
    c.api.delete("ConfigMap", "owner")
    c.api.create(cm("owner"))  # same name, new uid
    c.engine.drain()
    assert c.engine.store.get("ConfigMap", "default", "child") is None


def test_dependent_with_a_remaining_owner_only_loses_the_dead_reference(c):
    a = c.api.create(cm("a"))
    b = c.api.create(cm("b"))
    c.api.create(cm("child", a, b))
    c.engine.drain()
    c.api.delete("ConfigMap", "a")
    c.engine.drain()
    child = c.api.get("ConfigMap", "child")
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["b"]
    c.api.delete("ConfigMap", "b")
    c.engine.drain()
    assert c.engine.store.get("ConfigMap", "default", "child") is None
