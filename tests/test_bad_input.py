"""Bad input on every path ends in kubectl's or the API server's error text, the store unchanged.

The corpus (tests/bad_inputs.py) holds what crashed, hung or was wrongly stored before; its
expected texts were printed by kubectl 1.32, and are checked again against the real binary
when it is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import tracemalloc

import pytest
import served

from bad_inputs import CRASHERS, INVALID, _bomb, store_digest
from kubelab import Cluster
from kubelab.api import wire
from kubelab.server import serve

KUBECTL = shutil.which("kubectl.1.32", path="/usr/lib/google-cloud-sdk/bin")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(clock="virtual")


@pytest.mark.parametrize("name,data,expected", CRASHERS + INVALID, ids=[c[0] for c in CRASHERS + INVALID])
def test_corpus_through_kubectl(cluster, tmp_path, name, data, expected):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    before = store_digest(cluster)
    result = cluster.kubectl(f"apply -f {path}")
    output = (result.stdout + result.stderr).strip().replace(str(path), "FILE")
    assert output == expected
    assert "Traceback" not in output
    if "created" in expected:
        assert result.returncode == 0
        cluster.kubectl(f"delete -f {path}")
    else:
        assert result.returncode == 1
        assert store_digest(cluster) == before


@pytest.mark.parametrize("name,data,expected", CRASHERS, ids=[c[0] for c in CRASHERS])
def test_corpus_through_stdin(cluster, name, data, expected):
    """A cell's body is text: the same messages, with STDIN for the file."""
    before = store_digest(cluster)
    result = cluster.kubectl("create -f -", stdin=wire.decode_bytes(data))
    output = (result.stdout + result.stderr).strip()
    assert output == expected.replace("FILE", "STDIN"), output
    if "created" in expected:
        cluster.kubectl("delete -f -", stdin=wire.decode_bytes(data))
    else:
        assert store_digest(cluster) == before


def test_alias_bomb_is_refused_fast_with_bounded_memory():
    text = _bomb()
    assert len(text.encode()) < 600
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(wire.GoYAMLError, match="document contains excessive aliasing"):
        wire.yaml_to_json(text)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 5_000_000


def test_moderate_aliasing_is_kept():
    """go-yaml allows aliases up to 99% of a small document's nodes."""
    text = "base: &b {x: 1, y: [1, 2, 3]}\n" + "".join(f"k{i}: *b\n" for i in range(200))
    (doc,) = wire.yaml_to_json(text)
    assert doc["k199"] == {"x": 1, "y": [1, 2, 3]}


def test_anchor_that_contains_itself():
    with pytest.raises(wire.GoYAMLError, match="anchor 'a' value contains itself"):
        wire.yaml_to_json("a: &a [*a]")


def test_values_past_the_kept_depth_are_emptied_not_recursed():
    (doc,) = wire.yaml_to_json("x: " + "[" * 5000 + "]" * 5000)
    depth, value = 0, doc["x"]
    while value:
        value, depth = value[0], depth + 1
    assert depth == wire.KEPT_DEPTH - 1
    assert wire.json_loads("[" * 9000 + "]" * 9000) is not None


def test_huge_object_is_refused_like_etcd(cluster):
    args = ",".join(["x" * 1000] * 1700)  # 1.7 MB of args: over etcd's 1.5 MiB, under 3 MiB
    before = store_digest(cluster)
    result = cluster.kubectl("create -f -", stdin="apiVersion: v1\nkind: Pod\nmetadata: {name: big}\n"
                                                 f"spec: {{containers: [{{name: a, image: nginx, args: [{args}]}}]}}\n")
    assert result.returncode == 1
    assert result.stderr == 'Error from server: error when creating "STDIN": etcdserver: request is too large\n'
    assert store_digest(cluster) == before


def _post(server, path: str, body: bytes) -> tuple[int, dict]:
    return served.request(server, "POST", path, body, timeout=30)


@pytest.mark.parametrize("body,code,message", [
    (b"[" * 100_000, 400, "invalid character '[' exceeded max depth"),
    (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":[1,2]}', 400,
     'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal array into Go struct '
     "field ConfigMap.metadata of type v1.ObjectMeta"),
    (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":["a"]}}', 400,
     'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal array into Go struct '
     "field ObjectMeta.metadata.name of type string"),
    (b'{"apiVersion":"v1","kind":["ConfigMap"],"metadata":{"name":"a"}}', 400, "does not match the expected kind"),
    (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"x":' + b"[" * 9000 + b"]" * 9000 + b"}", 400,
     'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "x"'),
], ids=["brackets", "metadata-list", "name-list", "kind-list", "deep-unknown-field"])
def test_served_api_bodies(cluster, body, code, message):
    with serve(cluster) as server:
        before = store_digest(cluster)
        status, answer = _post(server, "/api/v1/namespaces/default/configmaps", body)
        assert (status, answer["kind"]) == (code, "Status")
        assert message in answer["message"]
        assert "Traceback" not in answer["message"]
        assert store_digest(cluster) == before


@pytest.mark.skipif(KUBECTL is None, reason="kubectl 1.32 binary not installed")
def test_corpus_matches_real_kubectl(cluster, tmp_path):
    """The expected texts are kubectl's own, for the corpus entries it decides client-side or
    that kubelab's server answers."""
    home = tmp_path / "home"
    home.mkdir()
    with serve(cluster) as server:
        env = {"KUBECONFIG": server.kubeconfig, "HOME": str(home), "PATH": os.environ.get("PATH", "")}
        for name, data, expected in CRASHERS:
            path = tmp_path / f"{name}.yaml"
            path.write_bytes(data)
            real = subprocess.run([KUBECTL, "apply", "-f", str(path), "--dry-run=server"], capture_output=True,
                                  env=env, timeout=60, text=True, errors="replace")
            ours = cluster.kubectl(f"apply -f {path} --dry-run=server")
            assert (real.returncode, real.stdout + real.stderr) == (ours.returncode, ours.stdout + ours.stderr), name


def test_a_container_printing_long_lines_forever_keeps_10_mib_of_log():
    """The kubelet rotates at containerLogMaxSize (10 MiB); kubectl logs reads the current file.
    Without a byte cap this loop held 4.3 GB after 15 minutes (bench_accidents longlines)."""
    from kubelab.engine.runtime import MAX_LOG_BYTES

    c = Cluster(clock="virtual")
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "chatty"},
                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                           "command": ["sh", "-c", "while true; do echo $X; done"],
                                           "env": [{"name": "X", "value": "x" * 200_000}]}]}}, "default")
    c.advance(90)
    logs = c.kubectl("logs chatty").stdout
    assert MAX_LOG_BYTES - 200_001 <= len(logs) <= MAX_LOG_BYTES
    assert logs.endswith("x" * 200_000 + "\n")
