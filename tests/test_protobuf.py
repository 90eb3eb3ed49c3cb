"""Protobuf request bodies: kubectl 1.32/1.33's create commands against the served cluster.

Those kubectl versions send typed objects as ``application/vnd.kubernetes.protobuf``; the
server decodes them into the same object the JSON path stores. Each command runs through the
real binary (served cluster) and through kubelab's own kubectl (a twin cluster): exit code,
stdout and stderr must be identical, and so must the stored objects (``get -o yaml``, with
what differs between two clusters by nature masked: uids, timestamps, IPs, node ports, the
node a pod was scheduled to).
"""
from __future__ import annotations

import base64
import datetime
import json
import re
import shlex
import shutil
import subprocess

import pytest
import served
import yaml

from kubelab import Cluster
from kubelab.api import protobuf
from kubelab.api.errors import StatusError
from kubelab.api.kinds import KINDS
from kubelab.server import serve
from test_server import Kubectl

_BIN = "/usr/lib/google-cloud-sdk/bin"
BINARIES = {v: shutil.which(f"kubectl.{v}", path=_BIN) for v in ("1.32", "1.33")}

# What kubectl 1.32 sent for `create namespace foo` (captured from the binary).
NAMESPACE_BODY = (b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1b\n\x13\n\x03foo\x12\x00\x1a\x00"\x00*\x002\x008'
                  b'\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00"\x00')

COMMANDS = [
    "create namespace foo",
    "create secret generic s1 --from-literal=a=b --from-literal=c=d",
    "create configmap c1 --from-literal=k=v --from-literal=PORT=3000",
    "create deployment d1 --image=nginx --replicas=2 --port=8080",
    "create deployment d0 --image=nginx --replicas=0",
    "create service clusterip svc1 --tcp=80:8080",
    "create service nodeport np1 --tcp=80:8080",
    "create job j1 --image=busybox -- echo hi",
    "create cronjob cj1 --image=busybox '--schedule=*/5 * * * *' -- echo hi",
    "create serviceaccount sa1",
    "create secret docker-registry reg --docker-server=r.io --docker-username=u --docker-password=p",
    "create deployment d2 --image=nginx -n foo",
    "run p1 --image=nginx --labels=app=x --port=80 --env=A=B",
    "create namespace foo",  # AlreadyExists, through the protobuf path too
    "create configmap bad_name --from-literal=k=v",  # Invalid
]
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stored(text: str) -> str:
    """An object's YAML with what two clusters never share masked."""
    obj = yaml.safe_load(text)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("uid", "creationTimestamp", "resourceVersion", "managedFields", "nodeName"):
                node.pop(key, None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(obj)
    masked = _UID.sub("UID", json.dumps(obj, sort_keys=True))
    masked = re.sub(r'"\d+\.\d+\.\d+\.\d+"', '"IP"', masked)
    return re.sub(r'"nodePort": \d+', '"nodePort": "N"', masked)


def test_decodes_what_kubectl_sent():
    assert protobuf.decode(NAMESPACE_BODY) == {"kind": "Namespace", "apiVersion": "v1",
                                               "metadata": {"name": "foo"}, "spec": {}, "status": {}}


def test_bad_bodies_are_bad_requests():
    with pytest.raises(StatusError) as e:
        protobuf.decode(b'{"kind": "Namespace"}')
    assert e.value.code == 400 and "does not appear to be a protobuf message" in str(e.value)
    with pytest.raises(StatusError) as e:
        protobuf.decode(NAMESPACE_BODY[:-9])
    assert e.value.code == 400 and "unexpected EOF" in str(e.value)
    with pytest.raises(StatusError) as e:
        protobuf.decode(NAMESPACE_BODY.replace(b"Namespace", b"Nonesuchx"))
    assert e.value.code == 400 and 'no kind "Nonesuchx"' in str(e.value)


def test_media_types_over_http():
    cluster = Cluster(clock="virtual")
    with serve(cluster) as server:
        def post(body: bytes, content_type: str) -> tuple[int, dict]:
            return served.request(server, "POST", "/api/v1/namespaces", body, content_type)

        code, created = post(NAMESPACE_BODY, protobuf.MEDIA_TYPE)
        assert code == 201 and created["metadata"]["name"] == "foo"
        assert created["spec"] == {"finalizers": ["kubernetes"]}
        code, created = post(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: bar}\n", "application/yaml")
        assert code == 201 and created["metadata"]["name"] == "bar"
        code, status = post(b"x", "text/plain")
        assert code == 415 and status["reason"] == "UnsupportedMediaType"
        assert status["message"].endswith("application/json, application/yaml, application/vnd.kubernetes.protobuf")
        code, status = post(b"k8s\x00\xff", protobuf.MEDIA_TYPE)
        assert code == 400 and status["reason"] == "BadRequest"
    assert [n["metadata"]["name"] for n in cluster.client.list("Namespace")["items"]].count("foo") == 1


@pytest.mark.parametrize("version", sorted(BINARIES))
def test_create_commands_match_kubelabs_own_kubectl(version, tmp_path):
    if BINARIES[version] is None:
        pytest.skip(f"no kubectl {version} binary in {_BIN}")
    served, twin = Cluster(clock="virtual"), Cluster(clock="virtual")
    with serve(served) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path))

        def real(argv: list[str]) -> subprocess.CompletedProcess:
            return subprocess.run([BINARIES[version], *argv], capture_output=True, text=True, env=kubectl.env,
                                  timeout=60)

        for command in COMMANDS:
            argv = shlex.split(command)
            theirs, ours = real(argv), twin.kubectl(*argv)
            assert (theirs.returncode, theirs.stdout, theirs.stderr) == \
                (ours.returncode, ours.stdout, ours.stderr), command
        for kind, name, namespace in [("namespace", "foo", None), ("secret", "s1", None), ("configmap", "c1", None),
                                      ("deployment", "d1", None), ("deployment", "d0", None),
                                      ("service", "svc1", None), ("service", "np1", None), ("job", "j1", None),
                                      ("cronjob", "cj1", None), ("serviceaccount", "sa1", None),
                                      ("secret", "reg", None), ("deployment", "d2", "foo"), ("pod", "p1", None)]:
            argv = ["get", kind, name, "-o", "yaml"] + (["-n", namespace] if namespace else [])
            theirs = real(argv)
            assert theirs.returncode == 0, theirs.stderr
            assert _stored(theirs.stdout) == _stored(twin.kubectl(*argv).stdout), (kind, name)


# -- every served kind: objects encoded as the apiserver's protobuf encoding lays them out ----
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while n > 0x7F:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def _ld(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _scalar(number: int, type_name: str, value: object) -> bytes:
    if type_name == "string":
        return _ld(number, value.encode())  # type: ignore[union-attr]
    if type_name == "bytes":
        return _ld(number, base64.b64decode(value))  # type: ignore[arg-type]
    return _varint(number << 3) + _varint(int(value))  # type: ignore[call-overload]


def _encode(name: str, value: object) -> bytes:
    """A test-side encoder over the same field table (Time, IntOrString, Quantity and raw JSON
    by hand), writing what is present, as gogo-protobuf writes a Go struct."""
    if name.endswith(("meta.v1.Time", "meta.v1.MicroTime")):
        if value is None:
            return b""
        when = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return _scalar(1, "int64", int(when.timestamp()))
    if name.endswith("IntOrString"):
        return (_scalar(1, "int64", 1) + _scalar(3, "string", value) if isinstance(value, str)
                else _scalar(1, "int64", 0) + _scalar(2, "int32", value))
    if name.endswith("resource.Quantity"):
        return _scalar(1, "string", value)
    if name.endswith(("RawExtension", "FieldsV1")):
        return _ld(1, json.dumps(value).encode())
    out = b""
    for number, json_name, type_name, label, flags in protobuf._table()[name].values():
        if "i" in flags:
            out += _ld(number, _encode(type_name, value))
            continue
        item = value.get(json_name) if isinstance(value, dict) else None
        if item is None:
            continue
        if label == "r":
            out += b"".join(_ld(number, _encode(type_name, v)) if "." in type_name else _scalar(number, type_name, v)
                            for v in item)
        elif label == "m":
            key_type, value_type = type_name.split(",")
            out += b"".join(_ld(number, _scalar(1, key_type, k) + (_ld(2, _encode(value_type, v)) if "." in value_type
                                                                    else _scalar(2, value_type, v)))
                            for k, v in item.items())
        else:
            out += _ld(number, _encode(type_name, item)) if "." in type_name else _scalar(number, type_name, item)
    return out


def _without_zeros(value: object) -> object:
    """What may differ between a stored object and its round trip: nulls, and zero values a
    Go struct writes (or omits) by its tags."""
    if isinstance(value, dict):
        kept = {k: _without_zeros(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", 0, False, {}, [])}
    if isinstance(value, list):
        return [_without_zeros(v) for v in value]
    return value


def test_every_served_kind_decodes_from_protobuf():
    import test_against_kubectl as scenes

    cluster = Cluster(clock="virtual")
    for manifest in (scenes.STATE, scenes.WORKLOADS):
        assert cluster.kubectl("apply -f -", stdin=manifest).returncode == 0
    cluster.settle(300)
    seen = set()
    for kind in KINDS:
        message = protobuf.message_name(kind.api_version, kind.kind)
        assert message is not None, kind.kind
        for obj in cluster.client.list(kind.kind)["items"]:
            obj = {**obj, "kind": kind.kind, "apiVersion": kind.api_version}
            type_meta = _scalar(1, "string", kind.api_version) + _scalar(2, "string", kind.kind)
            body = protobuf.MAGIC + _ld(1, type_meta) + _ld(2, _encode(message, obj))
            assert _without_zeros(protobuf.decode(body)) == _without_zeros(obj), (kind.kind, obj["metadata"]["name"])
            seen.add(kind.kind)
    assert seen >= {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service",
                    "Endpoints", "EndpointSlice", "Event", "Node", "Secret", "ConfigMap", "ServiceAccount",
                    "ControllerRevision", "Namespace"}
