"""Merge, JSON and strategic merge patches, and kubectl apply's three-way patch."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from kubelab.api import patch
from kubelab.api.errors import StatusError


def pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"containers": [
                {"name": "a", "image": "i", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "env": [{"name": "X", "value": "1"}], "args": ["--one"]},
                {"name": "b", "image": "j"}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}}


# -- merge patch --------------------------------------------------------------------------

def test_merge_patch_rfc7386_examples():
    assert patch.merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert patch.merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert patch.merge_patch({"a": "b"}, {"a": None}) == {}
    assert patch.merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert patch.merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert patch.merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_merge_patch_replaces_lists_and_does_not_mutate():
    original = pod()
    out = patch.apply_patch(original, {"spec": {"containers": [{"name": "a", "image": "new"}]}}, "merge")
    assert out["spec"]["containers"] == [{"name": "a", "image": "new"}]
    assert original == pod()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                        max_size=3), max_leaves=10)
json_maps = st.dictionaries(st.text(max_size=2), json_values, max_size=4)


@given(json_maps, json_maps)
def test_merge_patch_is_idempotent(doc, p):
    once = patch.merge_patch(doc, p)
    assert patch.merge_patch(once, p) == once


@given(json_maps, json_maps)
def test_strategic_without_lists_or_schema_is_a_merge_patch(doc, p):
    def no_lists(v):
        return not isinstance(v, list) and (not isinstance(v, dict) or all(no_lists(x) for x in v.values()))

    def no_directives(v):
        return not isinstance(v, dict) or all(not k.startswith("$") and no_directives(x) for k, x in v.items())
    if no_lists(doc) and no_lists(p) and no_directives(p):
        assert patch.strategic_merge(doc, p) == patch.merge_patch(doc, p)


# -- JSON patch ---------------------------------------------------------------------------

def test_json_patch_operations():
    ops = [{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:2"},
           {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
           {"op": "add", "path": "/spec/containers/0/args/-", "value": "--two"},
           {"op": "add", "path": "/spec/containers/0/args/0", "value": "--zero"},
           {"op": "remove", "path": "/metadata/finalizers"},
           {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/b"},
           {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/c"},
           {"op": "test", "path": "/spec/containers/1/name", "value": "b"},
           {"op": "add", "path": "/metadata/annotations", "value": {"x~y/z": "1"}},
           {"op": "replace", "path": "/metadata/annotations/x~0y~1z", "value": "2"}]
    out = patch.apply_patch(pod(), ops, "json")
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert out["spec"]["containers"][0]["args"] == ["--zero", "--one", "--two"]
    assert out["metadata"]["labels"] == {"tier": "web", "b": "1", "c": "1"}
    assert "finalizers" not in out["metadata"]
    assert out["metadata"]["annotations"] == {"x~y/z": "2"}


@pytest.mark.parametrize("ops,detail", [
    ([{"op": "test", "path": "/spec/containers/0/image", "value": "other"}],
     "testing value /spec/containers/0/image failed: test failed"),
    ([{"op": "replace", "path": "/spec/nothing", "value": 1}],
     'replace operation does not apply: doc is missing path: "/spec/nothing": missing value'),
    ([{"op": "remove", "path": "/metadata/labels/zzz"}],
     'remove operation does not apply: doc is missing path: "/metadata/labels/zzz": missing value'),
    ([{"op": "add", "path": "/spec/missing/deeper", "value": 1}],
     'add operation does not apply: doc is missing path: "/spec/missing/deeper": missing value'),
])
def test_json_patch_failures_change_nothing(ops, detail):
    original = pod()
    with pytest.raises(StatusError) as e:
        patch.apply_patch(original, [{"op": "replace", "path": "/metadata/name", "value": "q"}, *ops], "json")
    assert e.value.code == 422 and e.value.reason == "Invalid"
    assert e.value.causes[0].message == detail
    assert original == pod()


def test_json_patch_must_be_a_list():
    with pytest.raises(StatusError) as e:
        patch.apply_patch(pod(), {"op": "add"}, "json")
    assert e.value.code == 400


# -- strategic merge patch ----------------------------------------------------------------

def test_containers_merge_by_name_and_nested_lists_by_their_keys():
    out = patch.apply_patch(pod(), {"spec": {"containers": [
        {"name": "a", "image": "i2", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "c", "image": "new"}]}}, "strategic")
    a, b, c = out["spec"]["containers"]
    assert (a["image"], b["name"], c) == ("i2", "b", {"name": "c", "image": "new"})
    assert a["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert a["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    assert a["args"] == ["--one"]


def test_lists_without_strategy_are_replaced():
    out = patch.apply_patch(pod(), {"spec": {"tolerations": [{"key": "z"}],
                                             "containers": [{"name": "a", "args": ["--new"]}]}}, "strategic")
    assert out["spec"]["tolerations"] == [{"key": "z"}]
    assert out["spec"]["containers"][0]["args"] == ["--new"]


def test_directives():
    out = patch.apply_patch(pod(), {"metadata": {"labels": {"a": None, "b": "2"},
                                                 "$deleteFromPrimitiveList/finalizers": ["x"]},
                                    "spec": {"containers": [{"name": "b", "$patch": "delete"}]}}, "strategic")
    assert out["metadata"]["labels"] == {"b": "2"} and "finalizers" not in out["metadata"]
    assert [c["name"] for c in out["spec"]["containers"]] == ["a"]
    out = patch.apply_patch(pod(), {"spec": {"containers": [{"name": "z", "image": "z"}, {"$patch": "replace"}]}},
                            "strategic")
    assert out["spec"]["containers"] == [{"name": "z", "image": "z"}]
    out = patch.apply_patch(pod(), {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}, "strategic")
    assert out["metadata"]["labels"] == {"only": "this"}
    out = patch.apply_patch(pod(), {"metadata": {"finalizers": ["y"]}}, "strategic")
    assert out["metadata"]["finalizers"] == ["x", "y"]
    out = patch.apply_patch(pod(), {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}},
                            "strategic")
    assert [c["name"] for c in out["spec"]["containers"]] == ["b", "a"]


def test_retain_keys_clears_other_strategy_fields():
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    out = patch.apply_patch(deploy, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
                            "strategic")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_service_ports_merge_by_port():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    out = patch.apply_patch(svc, {"spec": {"ports": [{"port": 80, "nodePort": 30080}, {"port": 443}]}}, "strategic")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 8080, "nodePort": 30080}, {"port": 443}]


def test_job_status_conditions_merge_by_type():
    """JobStatus.conditions is patchStrategy=merge, patchMergeKey=type (batch/v1 types.go)."""
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "status": {"conditions": [{"type": "SuccessCriteriaMet", "status": "True"}]}}
    out = patch.apply_patch(job, {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}, "strategic")
    assert out["status"]["conditions"] == [{"type": "SuccessCriteriaMet", "status": "True"},
                                           {"type": "Complete", "status": "True"}]
    out = patch.apply_patch(out, {"status": {"conditions": [{"type": "Complete", "status": "False"}]}},
                            "strategic")
    assert [c["status"] for c in out["status"]["conditions"]] == ["True", "False"]


@pytest.mark.parametrize("kind,path,item,key", [
    ("Service", ("status", "conditions"), {"type": "A", "status": "True"}, "type"),
    ("Node", ("spec", "podCIDRs"), "10.0.0.0/24", None),
])
def test_merge_keys_the_hand_table_missed(kind, path, item, key):
    """Fields whose merge strategy the OpenAPI has and the hand-kept table had not."""
    other = {**item, key: "B"} if key else "10.0.1.0/24"
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, path[0]: {path[1]: [item]}}
    out = patch.apply_patch(obj, {path[0]: {path[1]: [other]}}, "strategic")
    assert out[path[0]][path[1]] == [item, other]


def test_missing_merge_key_is_a_bad_request():
    with pytest.raises(StatusError) as e:
        patch.apply_patch(pod(), {"spec": {"containers": [{"image": "x"}]}}, "strategic")
    assert e.value.code == 400 and "does not contain declared merge key: name" in e.value.message


# -- three-way (kubectl apply) ------------------------------------------------------------

def deployment(containers: list, replicas: int | None = 2, labels: dict | None = None) -> dict:
    spec: dict = {"template": {"spec": {"containers": containers}}}
    if replicas is not None:
        spec["replicas"] = replicas
    meta: dict = {"name": "d"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def test_three_way_deletes_what_was_removed_and_keeps_server_fields():
    original = deployment([{"name": "a", "image": "v1", "env": [{"name": "A", "value": "1"}]},
                           {"name": "side", "image": "s"}], labels={"x": "1"})
    modified = deployment([{"name": "a", "image": "v2"}], replicas=None)
    current = copy.deepcopy(original)
    current["metadata"]["uid"] = "u"
    current["spec"]["replicas"] = 5  # scaled by hand since
    current["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    p = patch.three_way(original, modified, current)
    assert p == {"metadata": {"labels": None},
                 "spec": {"replicas": None, "template": {"spec": {
                     "$setElementOrder/containers": [{"name": "a"}],
                     "containers": [{"env": None, "image": "v2", "name": "a"},
                                    {"name": "side", "$patch": "delete"}]}}}}
    out = patch.apply_patch(current, p, "strategic")
    assert out["metadata"] == {"name": "d", "uid": "u"}
    assert out["spec"] == {"template": {"spec": {"containers": [
        {"name": "a", "image": "v2", "imagePullPolicy": "IfNotPresent"}]}}}


def test_three_way_leaves_fields_it_never_managed():
    original = deployment([{"name": "a", "image": "v1"}], replicas=None)
    current = copy.deepcopy(original)
    current["spec"]["replicas"] = 7  # kubectl scale: not in last-applied, so apply keeps it
    p = patch.three_way(original, copy.deepcopy(original), current)
    assert p == {}


def test_three_way_without_changes_is_empty():
    d = deployment([{"name": "a", "image": "v1"}])
    assert patch.three_way(d, copy.deepcopy(d), copy.deepcopy(d)) == {}


names = st.sampled_from(["a", "b", "c", "d"])
images = st.sampled_from(["v1", "v2", "v3"])
containers = st.lists(st.fixed_dictionaries({"name": names, "image": images}), max_size=4,
                      unique_by=lambda c: c["name"])
data = st.dictionaries(st.sampled_from(["k1", "k2", "k3", "k4"]), st.sampled_from(["x", "y"]), max_size=4)


@settings(max_examples=100, deadline=None)
@given(containers, containers, data, data, st.dictionaries(st.sampled_from(["s1", "s2"]), st.just("srv")))
def test_three_way_reaches_the_manifest_and_keeps_server_additions(old_c, new_c, old_labels, new_labels, extra):
    """Property: after apply, every field of the manifest is live, every field dropped from the
    manifest is gone, and fields only the server set survive."""
    original = deployment(old_c, labels=old_labels or None)
    modified = deployment(new_c, labels=new_labels or None)
    current = copy.deepcopy(original)
    current["metadata"].setdefault("labels", {}).update(extra)
    for c in current["spec"]["template"]["spec"]["containers"]:
        c["imagePullPolicy"] = "IfNotPresent"
    out = patch.apply_patch(current, patch.three_way(original, modified, current), "strategic")
    live = {c["name"]: c for c in out["spec"]["template"]["spec"]["containers"]}
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == [c["name"] for c in new_c]
    for c in new_c:
        assert live[c["name"]]["image"] == c["image"]
    # a map dropped from the manifest entirely is deleted whole, server additions too (as kubectl does)
    dropped = old_labels and not new_labels
    assert out["metadata"].get("labels", {}) == ({} if dropped else {**new_labels, **extra})
