"""Kubernetes 1.32's published OpenAPI definitions, shaped as the API server's OpenAPI v3
documents (``/openapi/v3/api/v1``, ``/openapi/v3/apis/apps/v1``...).

The definitions come from the ``kubernetes-validate`` package (a JSON-schema copy of the
spec each release publishes: descriptions, types, required fields, group-version-kinds).
They are turned back into the API server's own v3 conventions so ``kubectl explain``, ours
and the real binary's, reads them the same way: a field that names another type is
``{"allOf": [{"$ref": ...}], "description": ...}`` (so explain shows the field's description
and then the type's), types are single strings (no ``null``), and the ``enum`` that
kubernetes-validate adds to ``apiVersion``/``kind`` is dropped. Loaded on first use only.
"""
from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from kubelab.api.schema import definition_of
from kubelab.api.kinds import KINDS, Kind

Schema = dict[str, Any]

K8S_VERSION = "v1.32.0"
_PREFIX = "#/components/schemas/"


@lru_cache(maxsize=1)
def schemas() -> dict[str, Schema]:
    """Every definition by name (``io.k8s.api.core.v1.Pod``), in v3 form."""
    path = definitions_path()
    defs = json.loads(path.read_text(encoding="utf-8"))["$defs"]
    return {name: _component(schema) for name, schema in defs.items()}


def definitions_path() -> Path:
    """kubernetes-validate's ``_definitions.json`` for 1.32, found without importing the
    package (its ``__init__`` imports jsonschema, which takes most of a second)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "kubernetes-json-schema" / f"{K8S_VERSION}-local" / "_definitions.json"


def _component(schema: Schema) -> Schema:
    out = _node(schema)
    if "x-kubernetes-group-version-kind" in schema:
        for field in ("apiVersion", "kind"):
            out.get("properties", {}).get(field, {}).pop("enum", None)
    return out


def _node(schema: Schema) -> Schema:
    """One schema node, recursively: refs re-pointed at components, a field that names a
    type wrapped in allOf, an array's or map's element type wrapped likewise."""
    out: Schema = {}
    for key, value in schema.items():
        if key == "$ref":
            out[key] = _PREFIX + value.rsplit("/", 1)[1]
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties":
            out[key] = {name: _field(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _element(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_node(v) for v in value]
        else:
            out[key] = value
    return out


def _field(schema: Schema) -> Schema:
    node = _node(schema)
    if "$ref" in node:
        ref = node.pop("$ref")
        return {"allOf": [{"$ref": ref}], **node}
    return node


def _element(schema: Schema) -> Schema:
    node = _node(schema)
    if "$ref" in node:
        return {"allOf": [{"$ref": node.pop("$ref")}], "default": {}, **node}
    return node


def name_of(kind: Kind) -> str:
    """The definition name of a served kind (``io.k8s.api.apps.v1.Deployment``)."""
    name = definition_of(kind)
    if name is None:
        raise KeyError(kind.kind)
    return name


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"][len(_PREFIX):]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


@lru_cache(maxsize=None)
def _reachable(group_version: str) -> tuple[str, ...]:
    """Names of the kinds of ``group_version`` and every type they use, sorted."""
    all_schemas = schemas()
    todo = [name_of(k) for k in KINDS if k.api_version == group_version]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in all_schemas:
            continue
        seen.add(name)
        todo.extend(_refs(all_schemas[name]))
    return tuple(sorted(seen))


def document(group_version: str) -> dict[str, Any]:
    """The OpenAPI v3 document of one group version: a PATCH operation per resource (with
    its group-version-kind and query parameters, which kubectl reads for server-side field
    validation and to find a resource's kind for explain) and the schemas those kinds use."""
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    base = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
    paths = {}
    for k in KINDS:
        if k.api_version != group_version:
            continue
        path = f"{base}/namespaces/{{namespace}}/{k.plural}/{{name}}" if k.namespaced else f"{base}/{k.plural}/{{name}}"
        gvk = {"group": k.group, "version": k.version, "kind": k.kind}
        paths[path] = {"patch": {"operationId": f"patch{k.kind}", "x-kubernetes-action": "patch",
                                 "x-kubernetes-group-version-kind": gvk, "parameters": params,
                                 "responses": {"200": {"description": "OK"}}}}
    all_schemas = schemas()
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": K8S_VERSION}, "paths": paths,
            "components": {"schemas": {name: all_schemas[name] for name in _reachable(group_version)}}}
