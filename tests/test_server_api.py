"""The served API's semantics beyond CRUD: watch (watch=True, resourceVersion, 410 Gone,
bookmarks, timeoutSeconds), limit/continue paging, kind filled in from the URL, and the
review endpoints behind ``kubectl auth whoami`` / ``auth can-i``, with the real kubectl 1.32."""
from __future__ import annotations

import http.client
import json

import pytest

from kubelab import Cluster
from kubelab.server import WATCH_HISTORY
from test_server import Kubectl, needs_kubectl


@pytest.fixture
def cluster():
    return Cluster(clock="virtual", seed=1)


@pytest.fixture
def server(cluster):
    with cluster.serve() as s:
        yield s


def _conn(server) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", server.port, timeout=20, context=server.client_tls())


def _call(server, method: str, path: str, body: object = None) -> tuple[int, dict]:
    conn = _conn(server)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Authorization": f"Bearer {server.token}",
                                                   "Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    return response.status, answer


def _watch(server, query: str, path: str = "/api/v1/namespaces/default/configmaps") -> list[dict]:
    """Every event of a watch that ends by itself (timeoutSeconds in ``query``)."""
    conn = _conn(server)
    conn.request("GET", f"{path}?{query}", headers={"Authorization": f"Bearer {server.token}"})
    response = conn.getresponse()
    assert response.status == 200
    events = [json.loads(line) for line in response.read().splitlines() if line.strip()]
    conn.close()
    return events


def _configmap(cluster, name: str) -> dict:
    return cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})


@pytest.mark.parametrize("word", ["true", "True", "1"])
def test_watch_words_as_strconv_parse_bool(server, cluster, word):
    _configmap(cluster, "a")
    events = _watch(server, f"watch={word}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a"), ("ADDED", "kube-root-ca.crt")]


def test_watch_from_a_resource_version_sees_only_later_changes(server, cluster):
    before = _configmap(cluster, "before")["metadata"]["resourceVersion"]
    _configmap(cluster, "after")
    cluster.client.delete("ConfigMap", "before", "default")
    events = _watch(server, f"watch=1&resourceVersion={before}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "after"),
                                                                              ("DELETED", "before")]


def test_watch_too_old_resource_version_is_410_gone(server, cluster):
    first = int(_configmap(cluster, "c0")["metadata"]["resourceVersion"])
    for i in range(1, WATCH_HISTORY + 2):  # push c0's event out of the window
        cluster.client.patch("ConfigMap", "c0", "default", {"data": {"i": str(i)}}, "merge")
    events = _watch(server, f"watch=true&resourceVersion={first}&timeoutSeconds=1")
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"].startswith(f"too old resource version: {first} (")
    # from before the server started, too: the server's history begins at its start
    events = _watch(server, "watch=true&resourceVersion=1&timeoutSeconds=1")
    assert events[0]["object"]["code"] == 410


def test_bookmarks_carry_the_version_reached(server, cluster):
    rv = _configmap(cluster, "a")["metadata"]["resourceVersion"]
    secret = cluster.client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    events = _watch(server, f"watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1")
    assert events[-1]["type"] == "BOOKMARK"  # the one before the time-out
    marker = events[-1]["object"]
    assert marker["kind"] == "ConfigMap" and marker["apiVersion"] == "v1"
    assert int(marker["metadata"]["resourceVersion"]) >= int(secret["metadata"]["resourceVersion"])
    assert all(e["type"] != "BOOKMARK" for e in _watch(server, f"watch=true&resourceVersion={rv}&timeoutSeconds=1"))


def test_paging_is_a_consistent_read_in_key_order(server, cluster):
    for name in ("e", "b", "d", "a", "c"):
        _configmap(cluster, name)
    path = "/api/v1/namespaces/default/configmaps"
    code, first = _call(server, "GET", f"{path}?limit=2")
    assert code == 200 and [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 4  # c, d, e and kube-root-ca.crt
    _configmap(cluster, "bb")  # created after the first page: not in this list
    cluster.client.delete("ConfigMap", "d", "default")
    names, page = [], first
    while page["metadata"].get("continue"):
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        names += [i["metadata"]["name"] for i in page["items"]]
        code, page = _call(server, "GET", f"{path}?limit=2&continue={page['metadata']['continue']}")
        assert code == 200
    names += [i["metadata"]["name"] for i in page["items"]]
    assert names == ["a", "b", "c", "d", "e", "kube-root-ca.crt"]
    assert "remainingItemCount" not in page["metadata"]


def test_expired_and_bad_continue_tokens(server, cluster):
    for name in "abc":
        _configmap(cluster, name)
    path = "/api/v1/namespaces/default/configmaps"
    _, first = _call(server, "GET", f"{path}?limit=1")
    server.pages.snapshots.clear()  # as etcd after a compaction
    code, status = _call(server, "GET", f"{path}?limit=1&continue={first['metadata']['continue']}")
    assert (code, status["reason"]) == (410, "Expired")
    assert status["message"].startswith("The provided continue parameter is too old to display a consistent "
                                        "list result. You can start a new list without the continue parameter, "
                                        "or use the continue token in this response")
    code, rest = _call(server, "GET", f"{path}?limit=10&continue={status['metadata']['continue']}")
    assert code == 200 and [i["metadata"]["name"] for i in rest["items"]] == ["b", "c", "kube-root-ca.crt"]
    assert _call(server, "GET", f"{path}?limit=1&continue=garbage")[0] == 400


def test_kind_and_api_version_filled_in_from_the_url(server, cluster):
    code, created = _call(server, "POST", "/api/v1/namespaces/default/configmaps",
                          {"metadata": {"name": "bare"}, "data": {"a": "1"}})
    assert code == 201 and (created["kind"], created["apiVersion"]) == ("ConfigMap", "v1")
    code, created = _call(server, "POST", "/apis/apps/v1/namespaces/default/deployments", {
        "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert code == 201 and (created["kind"], created["apiVersion"]) == ("Deployment", "apps/v1")
    bare = cluster.client.get("ConfigMap", "bare", "default")
    del bare["kind"], bare["apiVersion"]
    bare["data"] = {"a": "2"}
    code, updated = _call(server, "PUT", "/api/v1/namespaces/default/configmaps/bare", bare)
    assert code == 200 and (updated["kind"], updated["data"]) == ("ConfigMap", {"a": "2"})
    code, status = _call(server, "POST", "/api/v1/namespaces/default/configmaps",
                         {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x"}})
    assert code == 400


@needs_kubectl
def test_kubectl_chunked_get(server, cluster, tmp_path):
    for i in range(7):
        _configmap(cluster, f"cm{i}")
    kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
    whole = kubectl("get configmaps --chunk-size=0")
    chunked = kubectl("get configmaps --chunk-size=2")
    assert chunked.returncode == 0 and chunked.stdout == whole.stdout
    assert chunked.stdout == cluster.kubectl("get configmaps").stdout
    assert kubectl("get configmaps -o name --chunk-size=3").stdout.split() == \
        ["configmap/" + n for n in [f"cm{i}" for i in range(7)] + ["kube-root-ca.crt"]]


@needs_kubectl
def test_kubectl_auth_whoami_and_can_i(server, tmp_path):
    kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
    r = kubectl("auth whoami")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "ATTRIBUTE   VALUE\nUsername    kubelab\nGroups      [system:masters system:authenticated]\n", "")
    assert json.loads(kubectl("auth whoami -o json").stdout)["status"]["userInfo"]["username"] == "kubelab"
    for question in ("get pods", "create deployments -n other", "delete secrets --all-namespaces"):
        r = kubectl(f"auth can-i {question}")
        assert (r.returncode, r.stdout, r.stderr) == (0, "yes\n", ""), question
    listed = kubectl("auth can-i --list").stdout.splitlines()
    assert listed[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert listed[1].split() == ["*.*", "[]", "[]", "[*]"]


def test_openapi_v2_in_json(server):
    conn = _conn(server)
    conn.request("GET", "/openapi/v2", headers={"Authorization": f"Bearer {server.token}",
                                                "Accept": "application/json"})
    response = conn.getresponse()
    doc = json.loads(response.read())
    assert response.status == 200 and doc["swagger"] == "2.0" and doc["info"]["version"].startswith("v1.32.")
    pod = doc["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"
    containers = doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert "io.k8s.api.flowcontrol.v1.FlowSchema" not in doc["definitions"]  # only what is served
    # kubectl's protobuf request: the same document, gnostic's Document message (swagger = 1)
    conn.request("GET", "/openapi/v2", headers={"Authorization": f"Bearer {server.token}",
                                                "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200 and body.startswith(b"\n\x032.0") and b"io.k8s.api.core.v1.PodSpec" in body
    conn.close()
