"""The store: identity, optimistic concurrency, indexes and change notification."""
from __future__ import annotations

import pytest

from kubelab.api.errors import StatusError
from kubelab.engine.clock import VirtualClock
from kubelab.engine.store import Store


def cm(name: str, ns: str = "default", labels: dict | None = None, data: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}}, "data": data or {}}


def deploy(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1}}


@pytest.fixture
def store() -> Store:
    return Store(VirtualClock())


def test_create_stamps_identity(store: Store) -> None:
    obj = store.create(cm("a"))
    meta = obj["metadata"]
    assert meta["resourceVersion"] == "1"
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert "generation" not in meta
    assert store.create(deploy("d"))["metadata"]["generation"] == 1


def test_create_twice_is_already_exists(store: Store) -> None:
    store.create(cm("a"))
    with pytest.raises(StatusError) as e:
        store.create(cm("a"))
    assert e.value.reason == "AlreadyExists"
    assert str(e.value) == 'configmaps "a" already exists'


def test_stale_resource_version_is_conflict_and_changes_nothing(store: Store) -> None:
    first = store.create(cm("a", data={"k": "1"}))
    stale = {**first, "data": {"k": "2"}}
    store.update(stale)
    with pytest.raises(StatusError) as e:
        store.update({**first, "data": {"k": "3"}})
    assert e.value.code == 409
    assert "the object has been modified" in str(e.value)
    assert store.get("ConfigMap", "default", "a")["data"] == {"k": "2"}


def test_identical_update_keeps_resource_version(store: Store) -> None:
    first = store.create(cm("a"))
    again = store.update(first)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_generation_counts_spec_changes_only(store: Store) -> None:
    d = store.create(deploy("d"))
    d2 = store.update({**d, "spec": {"replicas": 3}})
    assert d2["metadata"]["generation"] == 2
    d3 = store.update({**d2, "status": {"replicas": 3}}, status=True)
    assert d3["metadata"]["generation"] == 2
    assert d3["status"] == {"replicas": 3}


def test_main_resource_update_cannot_write_status(store: Store) -> None:
    d = store.create(deploy("d"))
    d = store.update({**d, "status": {"replicas": 1}}, status=True)
    d2 = store.update({**d, "status": {"replicas": 99}})
    assert d2["status"] == {"replicas": 1}


def test_resource_versions_strictly_increase(store: Store) -> None:
    seen = []
    for i in range(5):
        seen.append(int(store.create(cm(f"c{i}"))["metadata"]["resourceVersion"]))
    seen.append(int(store.remove("ConfigMap", "default", "c0")["metadata"]["resourceVersion"]))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_label_index_follows_updates_and_removal(store: Store) -> None:
    a = store.create(cm("a", labels={"app": "web", "tier": "fe"}))
    store.create(cm("b", labels={"app": "web"}))
    store.create(cm("c", labels={"app": "db"}, ns="other"))
    names = lambda m: sorted(o["metadata"]["name"] for o in store.with_labels("ConfigMap", "default", m))
    assert names({"app": "web"}) == ["a", "b"]
    assert names({"app": "web", "tier": "fe"}) == ["a"]
    store.update({**a, "metadata": {**a["metadata"], "labels": {"app": "api"}}})
    assert names({"app": "web"}) == ["b"]
    store.remove("ConfigMap", "default", "b")
    assert names({"app": "web"}) == []


def test_owner_and_node_indexes(store: Store) -> None:
    owner = store.create(deploy("d"))
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "default",
                        "ownerReferences": [{"uid": owner["metadata"]["uid"], "kind": "Deployment", "name": "d"}]},
           "spec": {"nodeName": "n1"}}
    store.create(pod)
    assert [o["metadata"]["name"] for o in store.owned_by(owner["metadata"]["uid"])] == ["p"]
    assert [o["metadata"]["name"] for o in store.pods_on("n1")] == ["p"]
    store.remove("Pod", "default", "p")
    assert store.owned_by(owner["metadata"]["uid"]) == [] and store.pods_on("n1") == []


def test_listeners_see_every_change(store: Store) -> None:
    events: list[tuple[str, str]] = []
    stop = store.subscribe(lambda ev, obj, old: events.append((ev, obj["metadata"]["name"])))
    a = store.create(cm("a"))
    store.update({**a, "data": {"x": "y"}})
    store.remove("ConfigMap", "default", "a")
    stop()
    store.create(cm("b"))
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_finalizers_hold_deletion_until_removed(store: Store) -> None:
    obj = cm("a")
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    store.create(obj)
    marked = store.mark_deleted("ConfigMap", "default", "a")
    assert marked["metadata"]["deletionTimestamp"]
    store.update({**marked, "metadata": {**marked["metadata"], "finalizers": []}})
    assert store.get("ConfigMap", "default", "a") is None
