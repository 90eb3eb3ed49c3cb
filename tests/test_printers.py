"""kubectl's output formats: tabwriter layout, yaml, json, jsonpath, custom-columns."""
import pytest

from kubelab.kubectl import printers
from kubelab.kubectl.gosort import go_sort

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
    assert printers.jsonpath("{.metadata.name}{'\\t'}", POD) == "web\t"  # single quotes unescape too
    with pytest.raises(printers.JSONPathError, match="unrecognized character in action: U\\+002C ','"):
        printers.jsonpath("{.metadata.name,.metadata.namespace}", POD)  # unions only inside [...]


def test_jsonpath_escaped_dots():
    obj = {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}
    assert printers.jsonpath("{.metadata.labels.app\\.kubernetes\\.io/name}", obj) == "x"


def test_custom_columns():
    text = printers.custom_columns("NAME:.metadata.name,IMAGES:.spec.containers[*].image,X:.nope", [POD])
    assert text == ("NAME   IMAGES          X\n"
                    "web    nginx,busybox   <none>\n")


def test_sort_less():
    less = printers.sort_less("{.n}")
    objs = [{"n": 10}, {"n": 9}, {"n": None}, {}]
    assert [o.get("n", "-") for o in go_sort(objs, less)] == ["-", None, 9, 10]
    names = [{"n": n} for n in ("web-10", "web-9", "10.0.1.2", "10.0.1.11", "Web")]
    assert [o["n"] for o in go_sort(names, less)] == ["10.0.1.11", "10.0.1.2", "Web", "web-10", "web-9"]
    assert [o["n"] for o in go_sort([{"n": "2"}, {"n": "100m"}, {"n": "1Ki"}], less)] == ["100m", "2", "1Ki"]


def test_go_sort_moves_ties_as_go_does():
    """Permutations printed by Go's sort.Sort (the Go kubectl 1.32 is built with) for keys
    i*7 % 3: ties land where the pattern-breaking swaps leave them."""
    for n, want in ((14, [6, 0, 12, 3, 9, 4, 1, 10, 7, 13, 5, 8, 11, 2]),
                    (60, [21, 57, 54, 3, 51, 48, 6, 45, 42, 9, 39, 36, 12, 33, 0, 15, 30, 27, 18, 24, 31, 10, 22, 58,
                          19, 25, 1, 55, 28, 52, 16, 4, 49, 13, 34, 46, 7, 37, 43, 40, 50, 26, 8, 38, 44, 11, 35, 20,
                          59, 41, 47, 14, 29, 53, 2, 17, 56, 32, 23, 5])):
        items = [(i, i * 7 % 3) for i in range(n)]
        assert [i for i, _ in go_sort(items, lambda a, b: a[1] < b[1])] == want
