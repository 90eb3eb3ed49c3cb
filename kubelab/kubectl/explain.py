"""``kubectl explain``: a kind's or field's documentation, read from the OpenAPI v3 document
of its group version (the same one kubelab's HTTP server gives the real kubectl).

The text is laid out as kubectl 1.32's ``plaintext`` explain template lays it out: the
header, ``FIELD:`` with its type guess, the description of the field followed by those of
the types it names, wrapped by go-wordwrap, then the fields (``--recursive``: names and
types only, a type that contains itself not opened again). Like the template, a bad field
path still prints the header before the error. ``--output=plaintext-openapiv2`` reads the
OpenAPI v2 models instead (kubelab.kubectl.explain_v2), as the real kubectl does.
"""
from __future__ import annotations

from typing import Any

from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, KubectlError, command, error

Schema = dict[str, Any]


def wrap(text: str, limit: int) -> str:
    """go-wordwrap's WrapString: break at spaces so lines stay within ``limit`` runes, keep
    existing newlines, leave a word longer than the limit whole."""
    out: list[str] = []
    current = 0
    word = space = ""
    for char in text:
        if char == "\n":
            if not word:
                if current + len(space) <= limit:
                    out.append(space)
            else:
                out.append(space + word)
            word = space = ""
            out.append("\n")
            current = 0
        elif char.isspace() and char != "\xa0":
            if not space or word:
                current += len(space) + len(word)
                out.append(space + word)
                word = space = ""
            space += char
        else:
            word += char
            if current + len(space) + len(word) > limit and len(word) < limit:
                out.append("\n")
                current = 0
                space = ""
    if not word:
        if current + len(space) <= limit:
            out.append(space)
    else:
        out.append(space + word)
    return "".join(out)


def _indent(amount: int, text: str) -> str:
    pad = " " * amount
    return pad + text.replace("\n", "\n" + pad)


class _Explainer:
    """The template's sub-templates over one OpenAPI v3 document."""

    def __init__(self, document: Schema, recursive: bool) -> None:
        self.schemas: dict[str, Schema] = document.get("components", {}).get("schemas", {})
        self.recursive = recursive

    def resolve(self, ref: Any) -> Schema | None:
        prefix = "#/components/schemas/"
        if not isinstance(ref, str) or not ref.startswith(prefix):
            return None
        return self.schemas.get(ref[len(prefix):])

    @staticmethod
    def _map_value(schema: Schema) -> Schema | None:
        value = schema.get("additionalProperties")
        return value if isinstance(value, dict) and value else None

    def type_guess(self, schema: Schema) -> str:
        if schema.get("items"):
            return "[]" + self.type_guess(schema["items"])
        if self._map_value(schema):
            return "map[string]" + self.type_guess(schema["additionalProperties"])
        if schema.get("allOf") and not schema.get("properties") and len(schema["allOf"]) == 1:
            return self.type_guess(schema["allOf"][0])
        if schema.get("$ref"):
            target = self.resolve(schema["$ref"])
            if not target or not target.get("type") or target["type"] == "object":
                return schema["$ref"].split("/")[-1].split(".")[-1] or "Object"
            return target["type"]
        kind = schema.get("type")
        return "Object" if kind == "object" else (kind or "Object")

    @staticmethod
    def enum(schema: Schema, long_view: bool, limit: int, indent: int = 0) -> str:
        """``ENUM:`` lines under FIELD, or ``enum: a, b, ....`` (four at most) under a field name."""
        values = schema.get("enum")
        if not values:
            return ""
        text = "ENUM:" if long_view else "\n" + " " * indent + "enum: "
        for i, value in enumerate(values):
            if limit > -1 and i >= limit:
                text += ", ...."
                break
            if long_view:
                text += "\n    "
            elif i > 0:
                text += ", "
            text += '""' if value == "" else str(value)
        return text

    def description(self, schema: Schema) -> str:
        node = self.resolve(schema.get("$ref")) or schema
        text = node["description"] + "\n" if node.get("description") else ""
        for sub in node.get("allOf") or ():
            text += self.description(sub)
        if node.get("items"):
            text += self.description(node["items"])
        if self._map_value(node):
            text += self.description(node["additionalProperties"])
        return text

    def output(self, schema: Schema, path: list[str], history: frozenset[str] = frozenset()) -> str:
        """What the field at ``path`` below ``schema`` shows; empty when there is no such field."""
        ref = schema.get("$ref") or ""
        resolved = self.resolve(ref) or schema
        if not path:
            text = "DESCRIPTION:\n" + _indent(4, wrap(self.description(resolved) or "<empty>", 76)) + "\n"
            fields = self.field_list(resolved, 1, frozenset())
            return text + ("FIELDS:\n" + fields if fields else "")
        if ref and ref in history:
            return ""
        history = history | {ref}
        properties = resolved.get("properties") or {}
        if properties.get(path[0]):
            sub = properties[path[0]]
            text = ""
            if len(path) == 1:
                text = f"FIELD: {path[0]} <{self.type_guess(sub)}>\n" + self.enum(sub, True, -1) + "\n\n"
            return text + self.output(sub, path[1:])
        if resolved.get("items"):
            return self.output(resolved["items"], path, history)
        if self._map_value(resolved):
            return self.output(resolved["additionalProperties"], path, history)
        for sub in resolved.get("allOf") or ():
            text = self.output(sub, path, history)
            if text:
                return text
        return ""

    def field_list(self, schema: Schema, level: int, history: frozenset[str]) -> str:
        ref = schema.get("$ref") or ""
        if ref and ref in history:
            return ""
        history = history | {ref}
        resolved = self.resolve(ref) or schema
        text = ""
        for name, sub in sorted((resolved.get("properties") or {}).items()):
            text += self.field_detail(name, resolved, level)
            if self.recursive:
                text += self.field_list(sub, level + 1, history)
        for sub in resolved.get("allOf") or ():
            text += self.field_list(sub, level, history)
        if resolved.get("items"):
            text += self.field_list(resolved["items"], level, history)
        if self._map_value(resolved):
            text += self.field_list(resolved["additionalProperties"], level, history)
        return text

    def field_detail(self, name: str, parent: Schema, level: int) -> str:
        indent = level * 2
        schema = parent["properties"][name]
        text = " " * indent + f"{name}\t<{self.type_guess(schema)}>"
        if name in (parent.get("required") or ()):
            text += " -required-"
        text += self.enum(schema, False, 4, indent) + "\n"
        if not self.recursive:
            text += _indent(indent + 2, wrap(schema.get("description") or "<no description>", 78 - indent)) + "\n\n"
        return text


def render(document: Schema, gvk: dict[str, str], field_path: list[str], recursive: bool) -> tuple[str, str]:
    """(stdout, error message) of explaining ``field_path`` of the kind ``gvk``: like the
    template, a missing field still leaves the header on stdout."""
    explainer = _Explainer(document, recursive)
    header = (f"GROUP:      {gvk['group']}\n" if gvk["group"] else "") + \
        f"KIND:       {gvk['kind']}\nVERSION:    {gvk['version']}\n\n"
    for schema in (explainer.schemas[name] for name in sorted(explainer.schemas)):
        if gvk in (schema.get("x-kubernetes-group-version-kind") or ()):
            text = explainer.output(schema, field_path)
            if not text:
                return header, f'error: field "{field_path[-1]}" does not exist'
            return header + text + "\n", ""
    return header, (f"error: GVK map[group:{gvk['group']} kind:{gvk['kind']} version:{gvk['version']}] "
                    "not found in OpenAPI schema")


def _split(text: str) -> tuple[Kind, list[str]]:
    """The kind and field path of ``deploy.spec.replicas``; the first word names the resource,
    and input that starts with its full name (``deployments.apps.spec``) loses that too."""
    from kubelab.api.kinds import lookup

    first, *path = text.split(".")
    try:
        kind = lookup(first)
    except StatusError as e:  # explain reports the REST mapping error without "error: "
        raise KubectlError(e.message) from None
    full = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    if text.startswith(full):  # kubectl drops what follows the name up to the next dot
        path = text[len(full):].split(".")[1:]
    return kind, [p for p in path if p]


@command("explain", fl.Flag("recursive", type=fl.BOOL), fl.Flag("api-version", type=fl.STRING),
         fl.Flag("output", short="o", type=fl.STRING, default="plaintext"),
         short="Get documentation for a resource")
def explain(ctx: Context, args: list[str]) -> int:
    from kubelab.api.kinds import KINDS
    from kubelab.api.openapi import document

    if len(args) != 1:
        raise error("We accept only this format: explain RESOURCE" if len(args) > 1 else
                    "You must specify the type of resource to explain. Use \"kubectl api-resources\" "
                    "for a complete list of supported resources.")
    kind, field_path = _split(args[0])
    api_version = ctx.flags.get("api-version") or kind.api_version
    group, _, version = api_version.rpartition("/")
    output = ctx.flags.get("output")
    if output == "plaintext-openapiv2":  # the server's OpenAPI v2 models
        if api_version != kind.api_version:
            raise error(f'couldn\'t find resource for "{group}/{version}, Kind={kind.kind}"')
        from kubelab.api.openapi import name_of
        from kubelab.api.openapi_v2 import document as v2_document
        from kubelab.kubectl.explain_v2 import render as render_v2

        gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
        text, problem = render_v2(v2_document()["definitions"], name_of(kind), gvk, field_path,
                                  ctx.flags.get("recursive"))
        ctx.out.write(text)
        if problem:
            raise error(problem)
        return 0
    gvr = f"{group}/{version}, Resource={kind.plural}"
    if not any(k.api_version == api_version for k in KINDS):
        raise error(f'couldn\'t find resource for "{gvr}"')
    if output != "plaintext":
        raise error(f"unrecognized format: {output}")
    if api_version != kind.api_version:
        raise error(f"GVR ({gvr}) not found in OpenAPI schema")
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    text, problem = render(document(api_version), gvk, field_path, ctx.flags.get("recursive"))
    ctx.out.write(text)
    if problem:
        raise error(problem)
    return 0
