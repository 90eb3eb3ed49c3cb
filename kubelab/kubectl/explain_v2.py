"""``kubectl explain --output=plaintext-openapiv2``: a kind's or field's documentation read from
the server's OpenAPI v2 models (kubelab.api.openapi_v2, the document the served API gives the
real kubectl), laid out as kubectl's older explain printer does.

A schema node is read as kube-openapi's proto models read it (ParseSchema in
util/proto/document.go): a ``$ref`` is a Reference; an object with properties a Kind, without
them a Map (of an Arbitrary value when it names none); an array an Array; no type at all an
Arbitrary; anything else a Primitive. Mirrors pkg/explain's model_printer.go (the header,
FIELD/RESOURCE line, descriptions gathered through references, arrays and maps),
fields_printer.go, recursive_fields_printer.go, field_lookup.go, typename.go and
formatter.go's wrapString (80 columns less the indent).
"""
from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]
_REF = "#/definitions/"
_BULLET = re.compile(r"^(\d+\.?|-|\*)\s")


class _Models:
    def __init__(self, definitions: dict[str, Schema]) -> None:
        self.definitions = definitions

    def resolve(self, node: Schema) -> Schema:
        return self.definitions[node["$ref"][len(_REF):]]

    @staticmethod
    def shape(node: Schema) -> str:
        """reference, kind, map, array, primitive or arbitrary."""
        if "$ref" in node:
            return "reference"
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if not types:
            return "kind" if "properties" in node else "arbitrary"
        if types[0] == "object":
            return "kind" if "properties" in node else "map"
        return "array" if types[0] == "array" else "primitive"

    def sub(self, node: Schema) -> Schema:
        """The element of an array or a map; a map that names none holds an Arbitrary made
        from the map's own schema (its description too), as parseMap makes it."""
        if self.shape(node) == "array":
            return node["items"]
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
        return {"description": node["description"]} if node.get("description") else {}

    def type_name(self, node: Schema) -> str:
        shape = self.shape(node)
        if shape == "reference":
            return self.type_name(self.resolve(node))
        if shape == "kind":
            return "Object"
        if shape == "array":
            return "[]" + self.type_name(self.sub(node))
        if shape == "map":
            return "map[string]" + self.type_name(self.sub(node))
        if shape == "primitive":
            types = node["type"]
            return types if isinstance(types, str) else types[0]
        return ""


def _wrap(text: str, width: int) -> list[str]:
    """formatter.go's wrapString: words joined up to ``width``, keeping code blocks (four
    spaces), blank lines after the first line, and new lines after a colon or before a bullet."""
    wrapped: list[str] = []
    words: list[str] = []
    last = ""

    def flush() -> None:
        nonlocal words, last
        if words:
            last = ""
            wrapped.append(" ".join(words))
            words = []

    for line in text.split("\n"):
        if line.startswith("    "):
            flush()
            wrapped.append(line)
            continue
        if wrapped and not line.strip():
            flush()
            wrapped.append("")
            continue
        stripped = line.strip()
        if last.endswith(":") or not stripped or _BULLET.match(stripped):
            flush()
        for word in line.split():
            last = word
            if words and len(" ".join(words + [word])) > width:
                flush()
            words.append(word)
    flush()
    return wrapped


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + text if text else "")

    def wrapped(self, indent: int, text: str) -> None:
        for line in _wrap(text, 80 - indent):
            self.write(indent, line)


def render(definitions: dict[str, Schema], definition: str, gvk: dict[str, str], field_path: list[str],
           recursive: bool) -> tuple[str, str]:
    """(what kubectl prints, its error or ""): nothing is printed when the path is wrong."""
    models = _Models(definitions)
    node: Schema = definitions[definition]
    path = list(field_path)
    while True:  # field_lookup.go
        shape = models.shape(node)
        if not path or shape in ("primitive", "arbitrary"):
            break
        if shape == "kind":
            properties = node.get("properties") or {}
            if path[0] not in properties:
                return "", f'field "{path[0]}" does not exist'
            node = properties[path.pop(0)]
        elif shape == "reference":
            node = models.resolve(node)
        else:
            node = models.sub(node)
    name = field_path[-1] if field_path else ""
    out = _Writer()
    group_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
    descriptions: list[str] = []
    type_name = ""
    while True:  # model_printer.go
        shape = models.shape(node)
        if shape in ("array", "map", "reference"):
            descriptions.append(node.get("description", ""))
            if shape != "reference" and not type_name:
                type_name = models.type_name(node)
            node = models.resolve(node) if shape == "reference" else models.sub(node)
            continue
        out.write(0, f"KIND:     {gvk['kind']}")
        out.write(0, f"VERSION:  {group_version}")
        out.write(0, "")
        if shape == "kind" and name:
            out.write(0, f"RESOURCE: {name} <{type_name or 'Object'}>")
            out.write(0, "")
        elif shape == "primitive":
            out.write(0, f"FIELD:    {name} <{type_name or models.type_name(node)}>")
            out.write(0, "")
        out.write(0, "DESCRIPTION:")
        shown = [d for d in descriptions + [node.get("description", "")] if d]
        for i, text in enumerate(descriptions + [node.get("description", "")]):
            if not text:
                continue
            if i != 0:
                out.write(0, "")
            out.wrapped(5, text)
        if not shown:
            out.wrapped(5, "<empty>")
        if shape == "kind":
            out.write(0, "")
            out.write(0, "FIELDS:")
            (_recursive_fields if recursive else _fields)(models, node, out, 3, set())
        break
    return "\n".join(out.lines) + "\n", ""


def _fields(models: _Models, node: Schema, out: _Writer, indent: int, seen: set[str]) -> None:
    """fields_printer.go: each field with its type, -required-, and its description."""
    required = set(node.get("required") or ())
    for key in sorted(node.get("properties") or {}):
        field = node["properties"][key]
        mark = " -required-" if key in required else ""
        out.write(indent, f"{key}\t<{models.type_name(field)}>{mark}")
        out.wrapped(indent + 2, field.get("description", ""))
        out.write(0, "")


def _recursive_fields(models: _Models, node: Schema, out: _Writer, indent: int, seen: set[str]) -> None:
    """recursive_fields_printer.go: names and types, a type inside itself not opened again."""
    shape = models.shape(node)
    if shape == "reference":
        ref = node["$ref"]
        if ref in seen:
            return
        _recursive_fields(models, models.resolve(node), out, indent, seen | {ref})
    elif shape in ("array", "map"):
        _recursive_fields(models, models.sub(node), out, indent, seen)
    elif shape == "kind":
        for key in sorted(node.get("properties") or {}):
            field = node["properties"][key]
            out.write(indent, f"{key}\t<{models.type_name(field)}>")
            _recursive_fields(models, field, out, indent + 3, seen)
