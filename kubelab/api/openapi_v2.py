"""Kubernetes 1.32's OpenAPI v2 (swagger 2.0) document, as ``/openapi/v2`` serves it in JSON,
built from the same definitions as the v3 documents (kubelab.api.openapi): the served kinds and
every type they use, refs pointing at ``#/definitions/``, a field that names a type written
``{"$ref", "description"}`` as the apiserver's v2 document writes it."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from kubelab.api import openapi
from kubelab.api.kinds import KINDS

Schema = dict[str, Any]
_V3, _V2 = "#/components/schemas/", "#/definitions/"


def _v2(node: Any, element: bool = False) -> Any:
    """One v3 schema node in v2 form (recursively). v2 has no oneOf: IntOrString and Quantity
    (a string or a number) are strings there, IntOrString with format int-or-string."""
    if isinstance(node, list):
        return [_v2(v) for v in node]
    if not isinstance(node, dict):
        return node
    branches = node.get("oneOf")
    if isinstance(branches, list) and all(set(b) == {"type"} for b in branches):
        node = {k: v for k, v in node.items() if k != "oneOf"}
        if {"type": "integer"} in branches:
            node["format"] = "int-or-string"
        node["type"] = "string"
    out: Schema = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _V2 + value[len(_V3):] if value.startswith(_V3) else value
        elif key == "allOf" and isinstance(value, list) and len(value) == 1 and set(value[0]) == {"$ref"}:
            out["$ref"] = _v2(value[0])["$ref"]
        elif key == "default" and element and value == {}:
            continue  # v3's element default; the v2 document has none
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _v2(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _v2(value, element=True)
        else:
            out[key] = _v2(value)
    return out


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The whole v2 document (swagger 2.0) of every served group version."""
    all_schemas = openapi.schemas()
    names: set[str] = set()
    for group_version in {k.api_version for k in KINDS}:
        names.update(openapi._reachable(group_version))
    paths: dict[str, Any] = {}
    for k in KINDS:
        base = f"/apis/{k.api_version}" if k.group else f"/api/{k.api_version}"
        path = f"{base}/namespaces/{{namespace}}/{k.plural}/{{name}}" if k.namespaced else f"{base}/{k.plural}/{{name}}"
        paths[path] = {"patch": {"operationId": f"patch{k.kind}", "x-kubernetes-action": "patch",
                                 "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version,
                                                                     "kind": k.kind},
                                 "responses": {"200": {"description": "OK"}}}}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": openapi.K8S_VERSION}, "paths": paths,
            "definitions": {name: _v2(all_schemas[name]) for name in sorted(names)}}


# -- the gnostic protobuf form (openapi_v2.Document of gnostic's OpenAPIv2.proto), the only
# encoding kubectl asks for -------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field: a string or an embedded message."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _any(value: Any) -> bytes:
    """gnostic's Any: the value as YAML (field 2), which kube-openapi reads extensions from."""
    import yaml

    return _field(2, yaml.safe_dump(value, default_flow_style=False, sort_keys=False))


def _named_any(name: str, value: Any) -> bytes:
    return _field(1, name) + _field(2, _any(value))


def _schema(node: Schema) -> bytes:
    """A Schema message: the keywords the definitions use, by their field numbers."""
    out = bytearray()
    for number, key in ((1, "$ref"), (2, "format"), (4, "description")):
        if key in node:
            out += _field(number, node[key])
    if "default" in node:
        out += _field(5, _any(node["default"]))
    for name in node.get("required", ()):
        out += _field(19, name)
    for value in node.get("enum", ()):
        out += _field(20, _any(value))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, _schema(extra)))
    elif isinstance(extra, bool):
        out += _field(21, _varint(2 << 3) + _varint(int(extra)))
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        out += _field(22, b"".join(_field(1, t) for t in types))
    if isinstance(node.get("items"), dict):
        out += _field(23, _field(1, _schema(node["items"])))
    for sub in node.get("allOf", ()):
        out += _field(24, _schema(sub))
    if "properties" in node:
        out += _field(25, b"".join(_field(1, _field(1, name) + _field(2, _schema(sub)))
                                   for name, sub in node["properties"].items()))
    for key, value in node.items():
        if key.startswith("x-"):
            out += _field(31, _named_any(key, value))
    return bytes(out)


@lru_cache(maxsize=1)
def protobuf() -> bytes:
    """The document as ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``."""
    doc = document()
    out = bytearray(_field(1, doc["swagger"]))
    out += _field(2, _field(1, doc["info"]["title"]) + _field(2, doc["info"]["version"]))
    paths = bytearray()
    for path, item in doc["paths"].items():
        op = item["patch"]
        ok = _field(1, _field(1, "200") + _field(2, _field(1, _field(1, "OK"))))  # Responses{200: OK}
        operation = _field(5, op["operationId"]) + _field(9, ok)
        for key in ("x-kubernetes-action", "x-kubernetes-group-version-kind"):
            operation += _field(13, _named_any(key, op[key]))
        paths += _field(2, _field(1, path) + _field(2, _field(8, operation)))  # PathItem.patch
    out += _field(8, bytes(paths))
    out += _field(9, b"".join(_field(1, _field(1, name) + _field(2, _schema(schema)))
                              for name, schema in doc["definitions"].items()))
    return bytes(out)
