"""The Deployment controller through the full virtual-clock cluster (scheduler and kubelet too)."""
from __future__ import annotations

import copy
import json
import re

import pytest

from kubelab.cluster import Cluster
from kubelab.engine.deployment import compute_hash, scaled_value
from controller_sim import bare_cluster, events, pods, run_all


def deploy(replicas: int = 3, image: str = "kennship/http-echo", **spec: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "echo-server"}},
                     "template": {"metadata": {"labels": {"app": "echo-server"}},
                                  "spec": {"containers": [{"name": "echo-server-container", "image": image}]}},
                     **spec}}


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def rss(c: Cluster) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in c.api.list("ReplicaSet", "default")["items"]}


def set_image(c: Cluster, image: str, **annotations: str) -> None:
    d = c.api.get("Deployment", "echo-server")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    if annotations:
        d["metadata"].setdefault("annotations", {}).update(annotations)
    c.api.update(d)


def test_hash_is_fnv32a_safe_encoded():
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{1,10}", compute_hash({"a": 1}))
    assert compute_hash({"a": 1}) != compute_hash({"a": 1}, 1)
    # FNV-32a("{}") = 0x7c4c5d47... encoded digit by digit: '0'..'9' -> alphabet[48..57 % 27]
    h = 0x811C9DC5
    for b in b"{}":
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    assert compute_hash({}) == "".join("bcdfghjklmnpqrstvwxz2456789"[ord(ch) % 27] for ch in str(h))


def test_scaled_values_round_like_kubernetes():
    assert scaled_value("25%", 3, True) == 1 and scaled_value("25%", 3, False) == 0
    assert scaled_value("25%", 10, True) == 3 and scaled_value("25%", 10, False) == 2
    assert scaled_value(2, 10, True) == 2


def test_create_makes_hashed_replicaset_with_annotations_and_ready_pods(c):
    c.api.create(deploy(3))
    assert c.settle()
    d = c.api.get("Deployment", "echo-server")
    template = d["spec"]["template"]
    pod_hash = compute_hash(template)
    [(name, rs)] = rss(c).items()
    assert name == f"echo-server-{pod_hash}"
    assert rs["metadata"]["labels"] == {"app": "echo-server", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "echo-server", "pod-template-hash": pod_hash}
    assert rs["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                             "deployment.kubernetes.io/desired-replicas": "3",
                                             "deployment.kubernetes.io/max-replicas": "4"}
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    ps = pods(c)
    assert len(ps) == 3
    assert all(re.fullmatch(rf"echo-server-{pod_hash}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", p["metadata"]["name"])
               for p in ps)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    status = d["status"]
    assert {k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                       "observedGeneration")} == {
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3, "observedGeneration": 1}
    conds = {x["type"]: (x["status"], x["reason"], x["message"]) for x in status["conditions"]}
    assert conds == {"Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                     "Progressing": ("True", "NewReplicaSetAvailable",
                                     f'ReplicaSet "{name}" has successfully progressed.')}
    assert events(c, "Deployment", "echo-server") == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to 3")]


def test_rolling_update_respects_surge_and_unavailability(c):
    c.api.create(deploy(4, strategy={"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
    assert c.settle()
    set_image(c, "nginx", **{"kubernetes.io/change-cause": "nginx now"})
    seen_max = 0
    for _ in range(200):
        c.advance(0.5)
        ps = pods(c)
        seen_max = max(seen_max, len(ps))
        ready = [p for p in ps if any(x["type"] == "Ready" and x["status"] == "True"
                                      for x in p["status"].get("conditions", []))]
        assert len(ready) >= 4 or len(ps) <= 5  # never below 4 available once ready
        if c.engine.idle():
            break
    assert c.settle()
    assert seen_max == 5
    sets = rss(c)
    new = next(r for r in sets.values() if r["spec"]["replicas"] == 4)
    old = next(r for r in sets.values() if r["spec"]["replicas"] == 0)
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert new["metadata"]["annotations"]["kubernetes.io/change-cause"] == "nginx now"
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert all(p["spec"]["containers"][0]["image"] == "nginx" for p in pods(c))
    msgs = [m for _, r, m in events(c, "Deployment", "echo-server") if r == "ScalingReplicaSet"]
    assert msgs[1] == f"Scaled up replica set {new['metadata']['name']} from 0 to 1"
    assert msgs[-1] == f"Scaled down replica set {old['metadata']['name']} from 1 to 0"


def test_recreate_scales_old_to_zero_before_new(c):
    c.api.create(deploy(2, strategy={"type": "Recreate"}))
    assert c.settle()
    set_image(c, "nginx")
    c.engine.drain()
    assert len(rss(c)) == 1  # the new ReplicaSet waits until the old pods are gone
    assert c.settle()
    sets = sorted(rss(c).values(), key=lambda r: r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    assert [r["spec"]["replicas"] for r in sets] == [0, 2]
    msgs = [m for _, r, m in events(c, "Deployment", "echo-server")]
    assert msgs[1:] == [f"Scaled down replica set {sets[0]['metadata']['name']} from 2 to 0",
                        f"Scaled up replica set {sets[1]['metadata']['name']} from 0 to 2"]


def test_rollback_reuses_old_replicaset_and_bumps_revision(c):
    c.api.create(deploy(2))
    assert c.settle()
    first = next(iter(rss(c)))
    set_image(c, "nginx")
    assert c.settle()
    set_image(c, "kennship/http-echo")  # what kubectl rollout undo sends: the old template
    assert c.settle()
    sets = rss(c)
    assert len(sets) == 2
    assert sets[first]["spec"]["replicas"] == 2
    assert sets[first]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert sets[first]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert c.api.get("Deployment", "echo-server")["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"] == "3"


def test_scale_is_not_a_rollout(c):
    c.api.create(deploy(2))
    assert c.settle()
    c.api.scale("Deployment", "echo-server", "default", 5)
    assert c.settle()
    [(name, rs)] = rss(c).items()
    assert rs["spec"]["replicas"] == 5 and len(pods(c)) == 5
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "7"
    assert events(c, "Deployment", "echo-server")[-1][2] == f"Scaled up replica set {name} from 2 to 5"


def test_pause_holds_rollout_and_resume_continues(c):
    c.api.create(deploy(2))
    assert c.settle()
    c.api.patch("Deployment", "echo-server", "default", {"spec": {"paused": True}}, "merge")
    set_image(c, "nginx")
    assert c.settle()
    assert len(rss(c)) == 1
    progressing = next(x for x in c.api.get("Deployment", "echo-server")["status"]["conditions"]
                       if x["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    c.api.patch("Deployment", "echo-server", "default", {"spec": {"paused": False}}, "merge")
    assert c.settle()
    assert len(rss(c)) == 2
    assert all(p["spec"]["containers"][0]["image"] == "nginx" for p in pods(c))


def test_restart_annotation_is_a_new_rollout(c):
    c.api.create(deploy(2))
    assert c.settle()
    d = c.api.get("Deployment", "echo-server")
    d["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})[
        "kubectl.kubernetes.io/restartedAt"] = "2026-01-01T00:00:30Z"
    c.api.update(d)
    assert c.settle()
    assert len(rss(c)) == 2
    assert all(p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] for p in pods(c))


def test_revision_history_limit_deletes_oldest_scaled_down(c):
    c.api.create(deploy(1, revisionHistoryLimit=1))
    assert c.settle()
    for image in ("nginx", "busybox", "nginx:1.27"):
        set_image(c, image)
        assert c.settle()
    revisions = sorted(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                       for r in rss(c).values())
    assert revisions == [3, 4]


def test_progress_deadline_exceeded_when_pods_never_ready(c):
    c.api.create(deploy(1, image="nginx", progressDeadlineSeconds=30))
    assert c.settle()
    set_image(c, "ngnix")  # a typo: the image never pulls
    c.advance(40)
    cond = next(x for x in c.api.get("Deployment", "echo-server")["status"]["conditions"]
                if x["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert re.fullmatch(r'ReplicaSet "echo-server-\w+" has timed out progressing\.', cond["message"])


def test_adopts_matching_orphan_replicaset(monkeypatch):
    c = bare_cluster(monkeypatch)
    d = deploy(2)
    template = copy.deepcopy(d["spec"]["template"])
    c.api.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "handmade", "labels": {"app": "echo-server"}},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "echo-server"}},
                           "template": template}})
    c.engine.drain()
    run_all(c)
    c.api.create(d)
    c.engine.drain()
    run_all(c)
    sets = rss(c)
    assert list(sets) == ["handmade"]  # same template: the adopted set is the new one
    assert sets["handmade"]["metadata"]["ownerReferences"][0]["name"] == "echo-server"
    assert len(pods(c)) == 2
    assert json.dumps(sets["handmade"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) == '"1"'
