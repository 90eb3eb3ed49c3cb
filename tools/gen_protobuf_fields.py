"""Pre-digest the Kubernetes protobuf schema into kubelab/api/protobuf_fields.json.

Usage::

    python tools/gen_protobuf_fields.py API_DIR APIMACHINERY_DIR > kubelab/api/protobuf_fields.json

API_DIR is a checkout of kubernetes/api (tag v0.32.x) and APIMACHINERY_DIR one of
kubernetes/apimachinery at the same tag. Two sources are joined per message and field number:

- ``generated.proto`` gives each field's number, proto type and label (optional, repeated, map);
- the Go structs in the package's ``*.go`` files give what the proto file lacks: the JSON name
  (json tag), ``omitempty``, ``,inline`` and whether the Go field is a pointer (a pointer's
  zero value on the wire is kept; a plain field's zero is what Go's JSON encoder would drop
  or write).

The output maps a full message name to its fields: ``[number, json name, type, label, flags]``
with label ``o``/``r``/``m`` (optional, repeated, map; a map's type is ``KEY,VALUE``) and
flags from ``p`` (pointer), ``e`` (omitempty), ``i`` (inline). Only facts are kept, no code.
"""
from __future__ import annotations

import json
import os
import re
import sys

# package directories read, relative to their checkout
API_PACKAGES = ["core/v1", "apps/v1", "batch/v1", "discovery/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1",
                "authentication/v1", "authorization/v1", "coordination/v1", "networking/v1", "rbac/v1",
                "storage/v1", "scheduling/v1"]
MACHINERY_PACKAGES = ["pkg/apis/meta/v1", "pkg/runtime", "pkg/api/resource", "pkg/util/intstr"]

_MESSAGE = re.compile(r"^message (\w+) \{$")
_FIELD = re.compile(r"^\s*(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
_MAP = re.compile(r"^\s*map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")
_STRUCT = re.compile(r"^type (\w+) struct \{")
_GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([\w.*\[\]]+)\s+`([^`]*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def _strip_comment(line: str) -> str:
    return line.split("//", 1)[0].rstrip()


def read_proto(path: str) -> tuple[str, dict[str, dict[int, tuple[str, str, str]]]]:
    """(package, {message: {number: (name, type, label)}}) of one generated.proto."""
    package, messages, current = "", {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = _strip_comment(raw)
            if line.startswith("package "):
                package = line.split()[1].rstrip(";")
            elif (m := _MESSAGE.match(line)) is not None:
                current = messages.setdefault(m.group(1), {})
            elif line.strip() == "}":
                current = None
            elif current is not None and (m := _MAP.match(line)) is not None:
                current[int(m.group(4))] = (m.group(3), f"{_qualify(m.group(1), package)},{_qualify(m.group(2), package)}", "m")
            elif current is not None and (m := _FIELD.match(line)) is not None:
                label = "r" if m.group(1) == "repeated" else "o"
                current[int(m.group(4))] = (m.group(3), _qualify(m.group(2), package), label)
    return package, messages


_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
            "fixed32", "fixed64", "sfixed32", "sfixed64", "double", "float"}


def _qualify(type_name: str, package: str) -> str:
    if type_name in _SCALARS or "." in type_name:
        return type_name.lstrip(".")
    return f"{package}.{type_name}"


def read_go_structs(directory: str) -> dict[str, dict[int, tuple[str, str]]]:
    """{struct: {protobuf number: (json name, flags)}} from the package's Go files."""
    structs: dict[str, dict[int, tuple[str, str]]] = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".go") or name.endswith("_test.go") or name.startswith("zz_"):
            continue
        current = None
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for raw in f:
                if (m := _STRUCT.match(raw)) is not None:
                    current = structs.setdefault(m.group(1), {})
                    continue
                if raw.startswith("}"):
                    current = None
                    continue
                if current is None or raw.lstrip().startswith("//"):
                    continue
                m = _GO_FIELD.match(raw)
                if m is None:
                    continue
                go_type, tags = m.group(2), dict(_TAG.findall(m.group(3)))
                proto = tags.get("protobuf")
                if not proto or proto == "-":
                    continue
                number = int(proto.split(",")[1])
                json_tag = tags.get("json", "")
                json_name, *options = json_tag.split(",")
                if json_name == "-":
                    continue
                flags = ("p" if go_type.startswith("*") else "") + ("e" if "omitempty" in options else "") + \
                        ("i" if "inline" in options else "")
                current[number] = (json_name or m.group(1) or go_type, flags)
    return structs


def build(api_dir: str, machinery_dir: str) -> dict[str, list[list]]:
    table: dict[str, list[list]] = {}
    for root, packages in ((api_dir, API_PACKAGES), (machinery_dir, MACHINERY_PACKAGES)):
        for package_dir in packages:
            directory = os.path.join(root, package_dir)
            package, messages = read_proto(os.path.join(directory, "generated.proto"))
            structs = read_go_structs(directory)
            for message, fields in messages.items():
                go = structs.get(message, {})
                rows = []
                for number in sorted(fields):
                    name, type_name, label = fields[number]
                    json_name, flags = go.get(number, (name, ""))
                    rows.append([number, json_name, type_name, label, flags])
                table[f"{package}.{message}"] = rows
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    table = build(argv[1], argv[2])
    json.dump(table, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
