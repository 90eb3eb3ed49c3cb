"""kubectl's output formats: tabwriter layout, yaml, json, jsonpath, custom-columns."""
from kubelab.kubectl import printers

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "fe"},
                    "resourceVersion": "", "creationTimestamp": "2026-01-01T00:00:00Z"},
       "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]},
                               {"name": "d", "image": "busybox"}]},
       "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]}}


def test_tabwriter_pads_three_spaces_min_six_last_column_bare():
    text = printers.tabwrite([["NAME", "IP", "AGE"], ["a", "1", "5s"], ["longer-name", "22", "10m"]])
    assert text == ("NAME          IP    AGE\n"
                    "a             1     5s\n"
                    "longer-name   22    10m\n")


def test_cell_text_cuts_multiline():
    assert printers.cell_text("first\nsecond") == "first..."
    assert printers.cell_text(None) == "<none>"


def test_render_table_with_kind_namespace_and_labels():
    table = {"columnDefinitions": [{"name": "Name", "format": "name", "priority": 0},
                                   {"name": "Age", "format": "", "priority": 0},
                                   {"name": "IP", "format": "", "priority": 1}],
             "rows": [{"cells": ["web", "5s", "10.0.0.1"], "object": {"metadata": POD["metadata"]}}]}
    assert printers.render_table(table, with_kind="pod", namespace_column=True, show_labels=True) == (
        "NAMESPACE   NAME      AGE   LABELS\n"
        "default     pod/web   5s    app=web,tier=fe\n")
    assert printers.render_table(table, wide=True, no_headers=True, label_columns=["app"]) == \
        "web   5s    10.0.0.1   web\n"
    assert printers.render_table({"columnDefinitions": table["columnDefinitions"], "rows": []}) == ""


def test_yaml_like_sigs_yaml():
    obj = {"metadata": {"creationTimestamp": None, "name": "x", "resourceVersion": "",
                        "annotations": {"note": "line1\nline2\n", "n": "123", "b": "true"}},
           "kind": "ConfigMap", "data": {}, "list": [{"b": 1, "a": "2026-01-01T00:00:00Z"}]}
    assert printers.to_yaml(obj) == (
        "data: {}\n"
        "kind: ConfigMap\n"
        "list:\n"
        "- a: \"2026-01-01T00:00:00Z\"\n"
        "  b: 1\n"
        "metadata:\n"
        "  annotations:\n"
        "    b: \"true\"\n"
        "    \"n\": \"123\"\n"
        "    note: |\n"
        "      line1\n"
        "      line2\n"
        "  creationTimestamp: null\n"
        "  name: x\n"
        "  resourceVersion: \"\"\n")


def test_json_four_space_sorted():
    assert printers.to_json({"b": 1, "a": [1]}) == '{\n    "a": [\n        1\n    ],\n    "b": 1\n}\n'


def test_object_name_and_list():
    assert printers.object_name({"kind": "Deployment", "metadata": {"name": "web"}}) == "deployment.apps/web"
    assert printers.object_name(POD) == "pod/web"
    assert printers.as_list([])["metadata"] == {"resourceVersion": ""}


def test_jsonpath_fields_ranges_filters():
    lst = printers.as_list([POD, {**POD, "metadata": {**POD["metadata"], "name": "api"}}])
    assert printers.jsonpath("{.items[*].metadata.name}", lst) == "web api"
    assert printers.jsonpath('{range .items[*]}{.metadata.name}{"\\n"}{end}', lst) == "web\napi\n"
    assert printers.jsonpath("{.items[0].spec.containers[*].image}", lst) == "nginx busybox"
    assert printers.jsonpath('{.status.conditions[?(@.type=="Ready")].status}', POD) == "True"
    assert printers.jsonpath("{.metadata.labels}", POD) == '{"app":"web","tier":"fe"}'
    assert printers.jsonpath("name={.metadata.name} missing={.nope}", POD) == "name=web missing="
    assert printers.jsonpath("{..containerPort}", POD) == "80"
    assert printers.jsonpath("{.spec.containers[-1:].name}", POD) == "d"
    assert printers.jsonpath("{.metadata.name}{'\\t'}", POD) == "web\\t"
    assert printers.jsonpath("{.metadata.name,.metadata.namespace}", POD) == "web default"


def test_jsonpath_escaped_dots():
    obj = {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}
    assert printers.jsonpath("{.metadata.labels.app\\.kubernetes\\.io/name}", obj) == "x"


def test_custom_columns():
    text = printers.custom_columns("NAME:.metadata.name,IMAGES:.spec.containers[*].image,X:.nope", [POD])
    assert text == ("NAME   IMAGES          X\n"
                    "web    nginx,busybox   <none>\n")


def test_sort_key():
    objs = [{"n": 10}, {"n": 9}, {"n": None}]
    assert [o["n"] for o in sorted(objs, key=lambda o: printers.sort_key(o, "{.n}"))] == [None, 9, 10]
