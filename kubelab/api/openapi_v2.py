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
    """One v3 schema node in v2 form (recursively)."""
    if isinstance(node, list):
        return [_v2(v) for v in node]
    if not isinstance(node, dict):
        return node
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
