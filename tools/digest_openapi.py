"""Pre-digest Kubernetes 1.32's published OpenAPI into the field facts kubelab decodes and
patches with: kubelab/api/fields-v1.32.0.json (committed; re-run this after changing it).

The definitions come from the ``kubernetes-validate`` package (``_definitions.json``, the
1.32 OpenAPI as JSON schema, 1.3 MB); the digest keeps only what the API server's decoder
and strategic merge patch need, so that loading it costs milliseconds and imports neither
the ``kubernetes`` client nor jsonschema:

- ``gvk``: ``group/version/Kind`` -> the definition of that kind;
- ``types``: per struct definition, its Go name (``v1.PodSpec``), each field's JSON name and
  type, and the fields' patch strategies, merge keys and list-map keys.

A field type is a string: ``[]T`` (a list), ``map[string]T`` (a map), a definition name (a
struct), or a scalar: ``string``, ``int32``, ``int64`` (the OpenAPI ``format``), ``bool``,
``float64``, ``time`` (Time, MicroTime, format date-time), ``quantity`` (resource.Quantity),
``intorstring`` (intstr.IntOrString), ``bytes`` (format byte) and ``raw`` (RawExtension,
FieldsV1 and other free-form JSON).

Usage: ``python tools/digest_openapi.py`` (``--check`` exits 1 when the committed file is stale).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kubelab.api.openapi import K8S_VERSION, definitions_path

OUT = Path(__file__).resolve().parent.parent / "kubelab" / "api" / f"fields-{K8S_VERSION}.json"

# Definitions that are scalars on the wire (the Go types have their own JSON codecs).
_SCALAR_DEFS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "time",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "raw",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "raw",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": "raw",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": "raw",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": "raw",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": "raw",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray": "raw",
}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [x for x in (t if isinstance(t, list) else [t]) if x and x != "null"]


def _type(schema: dict[str, Any]) -> str:
    """One field's (or element's) type string."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return _SCALAR_DEFS.get(name, name)
    if schema.get("x-kubernetes-int-or-string"):
        return "intorstring"
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return "raw"
    types = _types(schema)
    kind = types[0] if len(types) == 1 else ""
    fmt = schema.get("format")
    if kind == "array":
        return "[]" + _type(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + _type(schema["additionalProperties"])
    if kind == "string":
        return {"byte": "bytes", "date-time": "time", "int-or-string": "intorstring"}.get(fmt or "", "string")
    if kind == "integer":
        return "int64" if fmt == "int64" else "int32"
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    return "raw"


def _go_name(definition: str) -> str:
    """``io.k8s.api.core.v1.PodSpec`` -> ``v1.PodSpec`` (Go's package.Type, as the decoder
    names it in ``cannot unmarshal`` messages)."""
    parts = definition.split(".")
    return f"{parts[-2]}.{parts[-1]}"


def digest(defs: dict[str, Any]) -> dict[str, Any]:
    types: dict[str, Any] = {}
    gvk: dict[str, str] = {}
    for name, schema in sorted(defs.items()):
        if name in _SCALAR_DEFS:
            continue
        for g in schema.get("x-kubernetes-group-version-kind") or ():
            key = f"{g['group']}/{g['version']}/{g['kind']}" if g["group"] else f"{g['version']}/{g['kind']}"
            gvk[key] = name
        props = schema.get("properties") or {}
        entry: dict[str, Any] = {"go": _go_name(name), "fields": {f: _type(p) for f, p in props.items()}}
        patch = {f: [p["x-kubernetes-patch-strategy"], p.get("x-kubernetes-patch-merge-key")]
                 for f, p in props.items() if "x-kubernetes-patch-strategy" in p}
        if patch:
            entry["patch"] = patch
        list_maps = {f: p["x-kubernetes-list-map-keys"] for f, p in props.items() if "x-kubernetes-list-map-keys" in p}
        if list_maps:
            entry["listMapKeys"] = list_maps
        types[name] = entry
    return {"version": K8S_VERSION, "gvk": gvk, "types": types}


def render() -> str:
    """The digest as JSON with one group-version-kind and one type per line, so that a change
    to the OpenAPI shows in ``git diff`` as the lines of the types it touched."""
    out = digest(json.loads(definitions_path().read_text(encoding="utf-8"))["$defs"])

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def block(entries: dict[str, Any]) -> str:
        return "{\n" + ",\n".join(f"{compact(k)}:{compact(v)}" for k, v in sorted(entries.items())) + "\n}"

    return (f'{{"gvk":{block(out["gvk"])},\n"types":{block(out["types"])},\n'
            f'"version":{compact(out["version"])}}}\n')


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        stale = not OUT.exists() or OUT.read_text(encoding="utf-8") != text
        print(f"{OUT.name}: {'stale' if stale else 'up to date'}")
        return int(stale)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
