"""Fuzzing every input path with manifests generated from Kubernetes 1.32's OpenAPI schema.

Hypothesis builds objects of the served kinds from their published schema (kubelab.api.openapi),
then mutates one place: a wrong type, a required field dropped, an unknown field, a bad name, a
huge number, unicode. Each goes through ``Cluster.kubectl`` (apply/create -f -), the ``%%kube``
magic in an in-process IPython shell, and the served API (an HTTP POST), and three properties
hold on every path:

- valid input succeeds; invalid input exits non-zero with a kubectl-style message (the API
  answers a 4xx ``Status``);
- no Python exception escapes and no traceback text is printed (the API never answers 500);
- a failed request leaves the store unchanged (a digest of every object and the store's
  resourceVersion, before and after).

CI runs a few dozen examples per path (under a minute together). A longer run, by hand::

    KUBELAB_FUZZ_EXAMPLES=5000 PYTHONPATH=$PWD python -m pytest tests/test_fuzz.py -q
"""
from __future__ import annotations

import json
import os
from typing import Any

import pytest
import served
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from bad_inputs import CRASHERS, INVALID, store_digest
from kubelab import Cluster
from kubelab.api import openapi
from kubelab.api.kinds import KINDS, Kind
from kubelab.api.wire import decode_bytes
from kubelab.server import serve

settings.register_profile("kubelab-fuzz", max_examples=int(os.environ.get("KUBELAB_FUZZ_EXAMPLES", "60")),
                          deadline=None, suppress_health_check=list(HealthCheck), database=None)
FUZZ = settings.get_profile("kubelab-fuzz")

_KINDS = [k for k in KINDS if k.kind not in ("Binding",)]  # Binding is a pod subresource's body
_DEPTH = 4
_HUGE = [2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -1, 0]
_WORDS = ["", "a", "web", "nginx", "80", "TCP", "http", "Always", "1Gi", "100m", "-1Gi", "A=B", "1=", "app"]
_TEXT = st.sampled_from(_WORDS) | st.text(max_size=12)
_PREFIX = "#/components/schemas/"


def _ref(node: dict) -> dict:
    """A node with its allOf $ref resolved to the named definition."""
    for part in node.get("allOf", ()):
        if "$ref" in part:
            return openapi.schemas()[part["$ref"][len(_PREFIX):]]
    if "$ref" in node:
        return openapi.schemas()[node["$ref"][len(_PREFIX):]]
    return node


def _values(node: dict, depth: int) -> st.SearchStrategy[Any]:
    """Values of one schema node: mostly well-typed, kept small and shallow."""
    node = _ref(node)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return st.one_of([_values(n, depth) for n in node.get("oneOf") or node.get("anyOf")])
    kind = node.get("type")
    if kind == "string":
        return _TEXT
    if kind == "integer":
        return st.integers(-2, 70000)
    if kind == "number":
        return st.integers(0, 100) | st.floats(0, 10, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(_values(node.get("items", {}), depth + 1), max_size=2) if depth < _DEPTH else st.just([])
    if "properties" in node:
        if depth >= _DEPTH:
            return st.just({})
        properties = {k: v for k, v in node["properties"].items() if k not in ("status", "apiVersion", "kind")}
        required = {k: _values(properties[k], depth + 1) for k in node.get("required", ()) if k in properties}
        optional = {k: _values(v, depth + 1) for k, v in properties.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(node.get("additionalProperties"), dict):
        return st.dictionaries(st.sampled_from(["a", "b", "app", "x.y/z"]),
                               _values(node["additionalProperties"], depth + 1), max_size=2)
    return st.none() | _TEXT | st.integers()


_NAMES = st.sampled_from(["web", "a", "x-1", "db.prod"]) | st.text(max_size=70) | st.sampled_from(
    ["Web", "-a", "a" * 254, "a_b", "é", ""])


@st.composite
def manifests(draw: st.DrawFn) -> tuple[Kind, dict]:
    kind = draw(st.sampled_from(_KINDS))
    schema = openapi.schemas()[openapi.name_of(kind)]
    body = draw(_values({k: v for k, v in schema.items() if k != "required"} | {"required": []}, 1))
    body.pop("metadata", None)
    obj = {"apiVersion": kind.api_version, "kind": kind.kind,
           "metadata": {"name": draw(_NAMES), **draw(st.fixed_dictionaries({}, optional={
               "labels": st.dictionaries(_TEXT, _TEXT, max_size=2),
               "annotations": st.dictionaries(_TEXT, _TEXT, max_size=2),
               "generateName": _TEXT}))}, **body}
    return kind, draw(_mutated(obj))


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, path + (i,))
    return found


_ODD = st.sampled_from([None, [1, 2], {"x": [1]}, "", "ünïcødé ☃ \u202e", True, *_HUGE, [[[]]], {"": None}])


@st.composite
def _mutated(draw: st.DrawFn, obj: dict) -> dict:
    """One mutation at one place, or none."""
    how = draw(st.sampled_from(["none", "replace", "drop", "unknown"]))
    paths = [p for p in _paths(obj) if p]
    if how == "none" or not paths:
        return obj
    path = draw(st.sampled_from(paths))
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    if how == "replace":
        parent[path[-1]] = draw(_ODD)
    elif how == "drop":
        parent.pop(path[-1]) if isinstance(parent, dict) else parent.pop(path[-1])
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["bogus", "Name", "métadata", "spec"]))] = draw(_ODD)
    return obj


_KUBECTL_ERRORS = ("error: ", "Error from server", "The ", "Warning: ")


def _check_kubectl(result: Any, before: str, cluster: Cluster) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    if result.returncode != 0:
        assert result.stderr.startswith(_KUBECTL_ERRORS), result.stderr
        assert store_digest(cluster) == before


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(clock="virtual")


@FUZZ
@given(manifests(), st.sampled_from(["apply", "create"]))
def test_kubectl_paths(cluster, case, verb):
    _, obj = case
    before = store_digest(cluster)
    _check_kubectl(cluster.kubectl(f"{verb} -f -", stdin=yaml.safe_dump(obj, allow_unicode=True)), before, cluster)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}[]:-&*!|>'\"#%@`,?\n\t ab1é\x00\x07")), max_size=80))
def test_kubectl_raw_text(cluster, text):
    """Text that is hardly YAML: go-yaml's errors, never a Python one."""
    before = store_digest(cluster)
    _check_kubectl(cluster.kubectl("apply -f -", stdin="apiVersion: v1\nkind: ConfigMap\n" + text), before, cluster)


@pytest.fixture(scope="module")
def shell(cluster):
    from IPython.core.interactiveshell import InteractiveShell

    import kubelab.notebook as knb
    from kubelab.notebook import magics

    ip = InteractiveShell.instance()
    magics.load(ip)
    knb.use(cluster)
    yield ip
    magics.unload(ip)


@FUZZ
@given(manifests())
def test_magic_path(cluster, shell, case):
    """``%%kube create --dry-run=server`` prints what kubectl prints, and changes nothing."""
    from IPython.utils.capture import capture_output

    _, obj = case
    if isinstance(obj.get("metadata"), dict):
        obj["metadata"].pop("generateName", None)  # a random suffix: the two runs would differ
    body = yaml.safe_dump(obj, allow_unicode=True)
    before = store_digest(cluster)
    with capture_output() as out:
        shell.run_cell_magic("kube", "create --dry-run=server", body)
    expected = cluster.kubectl("create --dry-run=server -f -", stdin=body)
    assert (out.stdout, out.stderr) == (expected.stdout, expected.stderr)
    assert "Traceback" not in out.stdout + out.stderr
    assert store_digest(cluster) == before


@pytest.fixture(scope="module")
def server(cluster):
    with serve(cluster) as s:
        yield s


def _collection(kind: Kind) -> str:
    base = f"/apis/{kind.api_version}" if "/" in kind.api_version else f"/api/{kind.api_version}"
    return f"{base}/namespaces/default/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}"


def _post(server, path: str, body: bytes) -> tuple[int, dict]:
    return served.request(server, "POST", path, body)


@FUZZ
@given(manifests())
def test_served_api_path(cluster, server, case):
    kind, obj = case
    before = store_digest(cluster)
    status, answer = _post(server, _collection(kind), json.dumps(obj).encode())
    assert status != 500, answer
    if status >= 400:
        assert answer["kind"] == "Status" and 400 <= answer["code"] < 500
        assert "Traceback" not in answer["message"]
        assert store_digest(cluster) == before


@pytest.mark.parametrize("name,data,expected", CRASHERS + INVALID, ids=[c[0] for c in CRASHERS + INVALID])
def test_corpus_through_every_path(cluster, shell, server, name, data, expected):
    """The bad-input corpus: the magic prints kubectl's text, the API answers a Status."""
    from IPython.utils.capture import capture_output

    text = decode_bytes(data)
    before = store_digest(cluster)
    with capture_output() as out:
        shell.run_cell_magic("kube", "create --dry-run=server", text)
    if "created" not in expected:
        assert out.stderr.strip() == expected.replace("FILE", "STDIN")
    assert store_digest(cluster) == before
    status, answer = _post(server, "/api/v1/namespaces/default/configmaps", data)
    assert status != 500, answer
    if status >= 400:
        assert store_digest(cluster) == before
