"""Strict decoding of request bodies against the Kubernetes 1.32 field schema.

The schema is not written by hand: it is Kubernetes 1.32's published OpenAPI, pre-digested
by tools/digest_openapi.py into ``fields-v1.32.0.json`` beside this module (every field's
JSON name and type, int32 vs int64, IntOrString, Quantity, ``[]byte``, times, patch
strategies, merge keys and list-map keys). Loading it takes milliseconds and imports
neither the ``kubernetes`` client nor jsonschema.

Decoding behaves like the API server's JSON decoder (sigs.k8s.io/json, case-sensitive,
strict): the first type mismatch rejects the request with Go's ``json: cannot unmarshal``
message; unknown fields are rejected (``Strict``), reported as warnings (``Warn``) or
dropped (``Ignore``). The result is the object as the server would store it: nulls and
empty lists/maps dropped (``omitempty``), Quantities in canonical form, bytes re-encoded.
"""
from __future__ import annotations

import base64
import copy
import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from kubelab.api import errors, quantity
from kubelab.api.kinds import BY_KIND, Kind
from kubelab.api.objects import Obj


_DIGEST = Path(__file__).with_name("fields-v1.32.0.json")

# Digest type -> (node kind, Go type name as the decoder's messages print it).
_SCALARS = {
    "string": ("str", "string"), "int32": ("int32", "int32"), "int64": ("int64", "int64"),
    "bool": ("bool", "bool"), "float64": ("float", "float64"), "time": ("time", "v1.Time"),
    "quantity": ("qty", "resource.Quantity"), "intorstring": ("ios", "intstr.IntOrString"),
    "bytes": ("bytes", "[]uint8"), "raw": ("raw", "interface {}"),
}

_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@lru_cache(maxsize=1)
def _digest() -> dict[str, Any]:
    return json.loads(_DIGEST.read_text(encoding="utf-8"))


class _TypeError(Exception):
    """Go's UnmarshalTypeError (or another decoder error) at one field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Node:
    """One compiled type: ``kind`` is struct/list/map or a scalar kind; ``go`` its Go name;
    ``definition`` a struct's OpenAPI definition (``io.k8s.api.core.v1.PodSpec``)."""

    kind: str
    go: str
    definition: str = ""
    elem: _Node | None = None
    _fields: dict[str, _Node] | None = field(default=None, repr=False)

    @property
    def fields(self) -> dict[str, _Node]:
        """JSON name -> type; resolved on first use (types recurse)."""
        if self._fields is None:
            spec = _digest()["types"][self.definition]["fields"]
            self._fields = {name: _compile(t) for name, t in spec.items()}
        return self._fields

    @property
    def struct_name(self) -> str:
        return self.go.rpartition(".")[2]

    def patch_strategy(self, key: str) -> tuple[str, str | None] | None:
        """Field ``key``'s (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key), if any."""
        found = _digest()["types"][self.definition].get("patch", {}).get(key)
        return (found[0], found[1]) if found else None

    def list_map_keys(self, key: str) -> tuple[str, ...]:
        """Field ``key``'s x-kubernetes-list-map-keys (empty unless a list of type map)."""
        return tuple(_digest()["types"][self.definition].get("listMapKeys", {}).get(key, ()))


_STRUCTS: dict[str, _Node] = {}


def _struct(definition: str) -> _Node:
    node = _STRUCTS.get(definition)
    if node is None:
        node = _STRUCTS[definition] = _Node("struct", _digest()["types"][definition]["go"], definition)
    return node


def _compile(type_name: str) -> _Node:
    """A digest type string (``[]io.k8s.api.core.v1.Container``, ``map[string]string``...) as a node."""
    if type_name.startswith("[]"):
        elem = _compile(type_name[2:])
        return _Node("list", "[]" + elem.go, elem=elem)
    if type_name.startswith("map[string]"):
        elem = _compile(type_name[11:])
        return _Node("map", "map[string]" + elem.go, elem=elem)
    scalar = _SCALARS.get(type_name)
    if scalar:
        return _Node(*scalar)
    return _struct(type_name)


def definition_of(kind: Kind) -> str | None:
    """The OpenAPI definition of a kind's objects (``io.k8s.api.apps.v1.Deployment``)."""
    return _digest()["gvk"].get(f"{kind.api_version}/{kind.kind}")


def root(kind: str) -> _Node | None:
    """The schema type of a kind's objects (None for a kind kubelab does not serve)."""
    found = BY_KIND.get(kind)
    definition = definition_of(found) if found else None
    return _struct(definition) if definition else None


def child(node: _Node | None, key: str) -> _Node | None:
    """The type of field ``key`` of a struct type (None when unknown)."""
    if node is None or node.kind != "struct":
        return None
    return node.fields.get(key)


def element(node: _Node | None) -> _Node | None:
    """The element type of a list or map type (the type itself otherwise)."""
    while node is not None and node.kind in ("list", "map"):
        node = node.elem
    return node


# -- decoding ---------------------------------------------------------------------------

def _json_kind(value: Any) -> str:
    """How Go's decoder names a JSON value in ``cannot unmarshal X``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


_INDEX = re.compile(r"\[[^\]]*\]")


def _mismatch(value: Any, node: _Node, path: str, struct: str, what: str | None = None) -> _TypeError:
    go_path = _INDEX.sub("", path)
    what = what or _json_kind(value)
    if not struct:
        return _TypeError(f"json: cannot unmarshal {what} into Go value of type {node.go}")
    return _TypeError(f"json: cannot unmarshal {what} into Go struct field {struct}.{go_path} of type {node.go}")


class _Decoder:
    """One decode pass: collects unknown field paths, raises on the first type error."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def value(self, v: Any, node: _Node, path: str, struct: str) -> Any:
        return _CONVERT[node.kind](self, v, node, path, struct)

    def struct(self, v: Any, node: _Node, path: str, struct: str) -> Any:
        if not isinstance(v, dict):
            raise _mismatch(v, node, path, struct)
        fields = node.fields
        name = node.struct_name
        out: Obj = {}
        for key, item in v.items():
            child = fields.get(key)
            sub = f"{path}.{key}" if path else key
            if child is None:
                self.unknown.append(sub)
                continue
            if item is None:
                continue
            got = _CONVERT[child.kind](self, item, child, sub, name)
            if child.kind in ("list", "map") and not got:
                continue  # omitempty
            out[key] = got
        return out

    def list(self, v: Any, node: _Node, path: str, struct: str) -> Any:
        if not isinstance(v, list):
            raise _mismatch(v, node, path, struct)
        elem = node.elem
        assert elem is not None
        convert = _CONVERT[elem.kind]
        return [_zero(elem) if x is None else convert(self, x, elem, f"{path}[{i}]", struct)
                for i, x in enumerate(v)]

    def map(self, v: Any, node: _Node, path: str, struct: str) -> Any:
        if not isinstance(v, dict):
            raise _mismatch(v, node, path, struct)
        elem = node.elem
        assert elem is not None
        convert = _CONVERT[elem.kind]
        return {str(k): _zero(elem) if x is None else convert(self, x, elem, f"{path}[{k}]", struct)
                for k, x in v.items()}


def _zero(node: _Node) -> Any:
    return {"str": "", "int32": 0, "int64": 0, "bool": False, "float": 0, "struct": {}, "bytes": "",
            "qty": "0"}.get(node.kind)


def _str(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, _dt.datetime):  # a YAML timestamp is a string on the JSON wire
        return _format_time(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    raise _mismatch(v, node, path, struct)


def _int(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _mismatch(v, node, path, struct)
    if isinstance(v, float):
        if not v.is_integer():
            raise _mismatch(v, node, path, struct, f"number {v!r}")
        v = int(v)
    low, high = _INT_RANGE[node.kind]
    if not low <= v <= high:
        raise _mismatch(v, node, path, struct, f"number {v}")
    return v


def _bool(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if not isinstance(v, bool):
        raise _mismatch(v, node, path, struct)
    return v


def _float(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _mismatch(v, node, path, struct)
    return v


def _int_or_string(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _TypeError(f"json: cannot unmarshal {_json_kind(v)} into Go value of type int32")
    if isinstance(v, float):
        if not v.is_integer():
            raise _TypeError(f"json: cannot unmarshal number {v!r} into Go value of type int32")
        v = int(v)
    if not _INT_RANGE["int32"][0] <= v <= _INT_RANGE["int32"][1]:
        raise _TypeError(f"json: cannot unmarshal number {v} into Go value of type int32")
    return v


def _quantity(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise _TypeError(quantity.FORMAT_WRONG)
    return canonical_quantity(v if isinstance(v, str) else repr(v))


def _time(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if isinstance(v, _dt.datetime):
        return _format_time(v)
    if not isinstance(v, str):
        raise _TypeError(f"json: cannot unmarshal {_json_kind(v)} into Go value of type string")
    try:
        parsed = _dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$", v):
            raise ValueError(v)
    except ValueError:
        raise _TypeError(f'parsing time "{v}" as "2006-01-02T15:04:05Z07:00": cannot parse "{v}" as "2006"')
    return _format_time(parsed)


def _format_time(t: _dt.datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bytes(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    if not isinstance(v, str):
        raise _mismatch(v, node, path, struct)
    return base64.b64encode(go_b64decode(v)).decode()


def _raw(d: _Decoder, v: Any, node: _Node, path: str, struct: str) -> Any:
    return copy.deepcopy(v)  # decoding copies everything: the API server stores what it returns


_CONVERT: dict[str, Callable[[_Decoder, Any, _Node, str, str], Any]] = {
    "struct": _Decoder.struct, "list": _Decoder.list, "map": _Decoder.map, "str": _str,
    "int32": _int, "int64": _int, "bool": _bool, "float": _float, "ios": _int_or_string,
    "qty": _quantity, "time": _time, "bytes": _bytes, "raw": _raw,
}


def decode(obj: Obj, kind: Kind, field_validation: str = "Strict") -> tuple[Obj, list[str]]:
    """The object as the server decodes it, and the warnings to send back.

    Raises BadRequest with the server's message on a type mismatch, or on unknown fields
    when ``field_validation`` is ``Strict``."""
    decoder = _Decoder()
    try:
        out = decoder.struct(obj, _struct(definition_of(kind) or ""), "", "")
    except _TypeError as e:
        raise _cannot_handle(kind, e.message) from None
    unknown = [f'unknown field "{p}"' for p in decoder.unknown]
    if unknown and field_validation == "Strict":
        raise _cannot_handle(kind, "strict decoding error: " + ", ".join(unknown))
    return out, unknown if field_validation == "Warn" else []


def metadata_type_error(meta: Any, struct: str) -> str | None:
    """Go's error decoding ``metadata`` into ObjectMeta as a field of ``struct``, or None.

    kubectl decodes a manifest's metadata before sending it (resource.Builder's
    metadataOnlyObject), and the API server does before anything reads a name."""
    node = _struct("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    try:
        _Decoder().struct(meta, node, "metadata", struct)
    except _TypeError as e:
        return e.message
    return None


json_kind = _json_kind  # how Go names a JSON value's type, for callers outside decoding


def check_metadata(obj: Obj, kind: Kind) -> None:
    """Raise the API server's decoding error when ``metadata`` has a wrong type anywhere."""
    if obj.get("metadata") is not None:
        why = metadata_type_error(obj["metadata"], kind.kind)
        if why:
            raise _cannot_handle(kind, why)


def _cannot_handle(kind: Kind, why: str) -> errors.StatusError:
    return errors.bad_request(f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: {why}')


# -- base64 as Go's encoding/json decodes []byte ----------------------------------------

_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def go_b64decode(text: str) -> bytes:
    """Decode standard padded base64 like Go's ``base64.StdEncoding`` (newlines skipped);
    a bad input raises ``_TypeError("illegal base64 data at input byte N")`` with Go's N."""
    src = text.encode()
    out = bytearray()
    si = 0
    n = len(src)
    while True:
        buf: list[int] = []
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise _TypeError(f"illegal base64 data at input byte {si - j}")
            c = src[si]
            si += 1
            if c in _B64:
                buf.append(_B64[c])
                j += 1
                continue
            if c in (10, 13):
                continue
            if c != 61:  # '='
                raise _TypeError(f"illegal base64 data at input byte {si - 1}")
            if j < 2:
                raise _TypeError(f"illegal base64 data at input byte {si - 1}")
            if j == 2:
                while si < n and src[si] in (10, 13):
                    si += 1
                if si == n:
                    raise _TypeError(f"illegal base64 data at input byte {n}")
                if src[si] != 61:
                    raise _TypeError(f"illegal base64 data at input byte {si - 1}")
                si += 1
            while si < n and src[si] in (10, 13):
                si += 1
            if si < n:
                raise _TypeError(f"illegal base64 data at input byte {si}")
            _emit(out, buf)
            return bytes(out)
        _emit(out, buf)


def _emit(out: bytearray, buf: list[int]) -> None:
    val = 0
    for x in buf:
        val = (val << 6) | x
    val <<= 6 * (4 - len(buf))
    raw = val.to_bytes(3, "big")
    out += raw[: {4: 3, 3: 2, 2: 1}[len(buf)]]


# -- resource.Quantity ------------------------------------------------------------------

@lru_cache(maxsize=4096)
def canonical_quantity(text: str) -> str:
    """A Quantity as the server writes it back (``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``);
    a malformed one raises the decoder error Kubernetes reports."""
    try:
        return str(quantity.parse(text))
    except quantity.QuantityError as e:
        raise _TypeError(str(e)) from None
