"""Request bodies in Kubernetes' protobuf encoding (``application/vnd.kubernetes.protobuf``).

kubectl 1.32's typed clients (``create namespace``, ``create secret``, ``create deployment``...)
send objects this way. A body is the 4-byte magic ``k8s\\x00`` and then a ``runtime.Unknown``
message: ``typeMeta`` (apiVersion, kind), ``raw`` (the object's own message), ``contentEncoding``
and ``contentType``. The object is decoded into the dict Go's JSON encoder would write for the
same Go struct (mirrors the apiserver's protobuf serializer followed by json.Marshal), so the
rest of the server handles it exactly as the JSON body the older kubectl versions send.

Field numbers, types, JSON names, ``omitempty`` and pointer-ness come from
``protobuf_fields.json``, pre-digested from the 1.32 ``generated.proto`` files and Go types by
``tools/gen_protobuf_fields.py``. A few apimachinery types have their own JSON form and are
decoded here by hand: Time, MicroTime, Duration, Quantity, IntOrString, RawExtension, FieldsV1.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import struct
from functools import lru_cache
from importlib import resources
from typing import Any

from kubelab.api import errors

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
# API group -> proto package of its types ("" is the core group)
_PACKAGES = {"": "k8s.io.api.core", "apps": "k8s.io.api.apps", "batch": "k8s.io.api.batch",
             "discovery.k8s.io": "k8s.io.api.discovery", "autoscaling": "k8s.io.api.autoscaling",
             "policy": "k8s.io.api.policy", "authentication.k8s.io": "k8s.io.api.authentication",
             "authorization.k8s.io": "k8s.io.api.authorization", "coordination.k8s.io": "k8s.io.api.coordination",
             "rbac.authorization.k8s.io": "k8s.io.api.rbac",
             "networking.k8s.io": "k8s.io.api.networking",
             "storage.k8s.io": "k8s.io.api.storage",
             "scheduling.k8s.io": "k8s.io.api.scheduling",
             "meta.k8s.io": "k8s.io.apimachinery.pkg.apis.meta"}
_ZERO_TIME = -62135596800  # Unix seconds of Go's time.Time{} (0001-01-01T00:00:00Z)
_SIGNED = {"int32": 32, "int64": 64, "sint32": 32, "sint64": 64}


class ProtobufError(ValueError):
    """The body is not valid protobuf for the type it claims to be."""


Row = tuple[int, str, str, str, str]


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[int, Row]]:
    text = (resources.files("kubelab.api") / "protobuf_fields.json").read_text(encoding="utf-8")
    return {name: {row[0]: tuple(row) for row in rows} for name, rows in json.loads(text).items()}  # type: ignore[misc]


def decode(body: bytes) -> dict[str, Any]:
    """The object a protobuf request body carries, shaped as its JSON form.

    Raises StatusError 400 (BadRequest) for a body that cannot be decoded, and for a kind this
    server has no protobuf schema for, as kube-apiserver rejects what its scheme does not know."""
    try:
        return decode_unknown(body)
    except ProtobufError as e:
        raise errors.bad_request(f"error decoding from protobuf: {e}") from None


def decode_unknown(body: bytes) -> dict[str, Any]:
    """Envelope, then object (ProtobufError on anything malformed)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix "
                            f"{list(MAGIC)}")
    fields = _fields(body[len(MAGIC):])
    type_meta = _fields(_last_bytes(fields, 1))
    api_version = _string(_last_bytes(type_meta, 1))
    kind = _string(_last_bytes(type_meta, 2))
    encoding = _string(_last_bytes(fields, 3))
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    message = message_name(api_version, kind)
    if message is None:
        raise ProtobufError(f'no kind "{kind}" is registered for version "{api_version}"')
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(_message(_last_bytes(fields, 2), message))
    return obj


def message_name(api_version: str, kind: str) -> str | None:
    """The proto message of a group-version-kind (``apps/v1``, ``Deployment`` ->
    ``k8s.io.api.apps.v1.Deployment``), falling back to meta/v1 (DeleteOptions, Status...)."""
    group, _, version = api_version.rpartition("/")
    if (api_version, kind) == ("policy/v1beta1", "Eviction"):
        version = "v1"  # the same message; the eviction subresource still takes v1beta1 bodies
    package = _PACKAGES.get(group)
    table = _table()
    for name in (f"{package}.{version}.{kind}" if package else "", f"{_META}{kind}"):
        if name in table:
            return name
    return None


# -- the wire format ---------------------------------------------------------------------------
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("unexpected EOF")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("integer overflow")


def _fields(data: bytes) -> dict[int, list[Any]]:
    """Field number -> every value seen (ints for varint/fixed wire types, bytes for
    length-delimited ones), in order."""
    out: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("illegal tag 0")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            if pos + 8 > len(data):
                raise ProtobufError("unexpected EOF")
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("unexpected EOF")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            if pos + 4 > len(data):
                raise ProtobufError("unexpected EOF")
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"illegal wireType {wire} for field {number}")
        out.setdefault(number, []).append(value)
    return out


def _last_bytes(fields: dict[int, list[Any]], number: int) -> bytes:
    values = fields.get(number)
    if not values:
        return b""
    if not isinstance(values[-1], bytes):
        raise ProtobufError(f"wrong wireType for field {number}")
    return values[-1]


def _string(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError("invalid UTF-8 in a string field") from None


def _scalar(value: Any, type_name: str) -> Any:
    if type_name == "string":
        return _string(_need_bytes(value))
    if type_name == "bytes":
        return base64.b64encode(_need_bytes(value)).decode("ascii")
    if isinstance(value, bytes):
        raise ProtobufError(f"wrong wireType for a {type_name} field")
    if type_name == "bool":
        return value != 0
    if type_name in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if type_name in _SIGNED:
        bits = _SIGNED[type_name]
        value &= (1 << bits) - 1
        return value - (1 << bits) if value >> (bits - 1) else value
    if type_name == "double":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if type_name == "float":
        return struct.unpack("<f", value.to_bytes(4, "little"))[0]
    return value  # uint32, uint64, fixed*


def _need_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError("wrong wireType for a length-delimited field")
    return value


_ZERO_SCALAR: dict[str, Any] = {"string": "", "bool": False, "bytes": None, "double": 0.0, "float": 0.0}


def _repeated_scalars(values: list[Any], type_name: str) -> list[Any]:
    """Repeated numbers may come packed (one length-delimited run) or one by one."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, bytes) and type_name not in ("string", "bytes"):
            pos = 0
            while pos < len(value):
                if type_name in ("double", "fixed64", "sfixed64"):
                    item, pos = int.from_bytes(value[pos:pos + 8], "little"), pos + 8
                elif type_name in ("float", "fixed32", "sfixed32"):
                    item, pos = int.from_bytes(value[pos:pos + 4], "little"), pos + 4
                else:
                    item, pos = _varint(value, pos)
                out.append(_scalar(item, type_name))
        else:
            out.append(_scalar(value, type_name))
    return out


def _value(value: Any, type_name: str) -> Any:
    if "." in type_name:
        return _message(_need_bytes(value), type_name)
    return _scalar(value, type_name)


# -- messages ---------------------------------------------------------------------------------
def _message(data: bytes, name: str) -> Any:
    """One message in its Go JSON form: a dict for a struct, or what a special type marshals to."""
    special = _SPECIAL.get(name)
    if special is not None:
        return special(_fields(data))
    rows = _table().get(name)
    if rows is None:
        raise ProtobufError(f"no schema for message {name}")
    fields = _fields(data)
    out: dict[str, Any] = {}
    for number, json_name, type_name, label, flags in rows.values():
        values = fields.get(number)
        if label == "r":
            if values:  # an empty or nil slice: omitempty drops it, and null is what JSON decoding drops
                out[json_name] = ([_message(_need_bytes(v), type_name) for v in values] if "." in type_name
                                  else _repeated_scalars(values, type_name))
            continue
        if label == "m":
            if values:
                out[json_name] = _map(values, type_name)
            continue
        pointer = "p" in flags
        if values:
            value = _value(values[-1], type_name)
        elif pointer:
            continue
        elif "." in type_name:
            value = _message(b"", type_name)
        else:
            value = _ZERO_SCALAR.get(type_name, 0)
        if "i" in flags and isinstance(value, dict):
            out.update(value)
            continue
        if "e" in flags and not pointer and "." not in type_name and value in ("", 0, False, None):
            continue  # omitempty drops a plain field's zero (never a struct's)
        if value is None:
            continue
        out[json_name] = value
    return out


def zero(name: str) -> Any:
    """The Go zero value of a message as JSON marshals it: plain structs present, nil
    slices, maps and pointers null unless omitempty (what the field manager of a create
    compares the new object against)."""
    if name in _SPECIAL:
        return _ZERO_SPECIAL.get(name)
    out: dict[str, Any] = {}
    for _number, json_name, type_name, label, flags in _table()[name].values():
        if label in ("r", "m") or "p" in flags or type_name == "bytes":
            if "e" not in flags:
                out[json_name] = None
        elif "." in type_name:
            value = zero(type_name)
            if "i" in flags and isinstance(value, dict):
                out.update(value)
            else:
                out[json_name] = value
        elif "e" not in flags:
            out[json_name] = _ZERO_SCALAR.get(type_name, 0)
    return out


def _map(entries: list[Any], type_name: str) -> dict[str, Any]:
    key_type, value_type = type_name.split(",")
    out: dict[str, Any] = {}
    for entry in entries:
        fields = _fields(_need_bytes(entry))
        key = _scalar(fields[1][-1], key_type) if 1 in fields else _ZERO_SCALAR.get(key_type, 0)
        if 2 in fields:
            value = _value(fields[2][-1], value_type)
        elif "." in value_type:
            value = _message(b"", value_type)
        else:
            value = _ZERO_SCALAR.get(value_type, 0)
        if value_type == "bytes" and value is None:
            value = ""
        out[str(key)] = value
    return out


def _int(fields: dict[int, list[Any]], number: int, type_name: str = "int64") -> int:
    values = fields.get(number)
    return _scalar(values[-1], type_name) if values else 0


def _time(fields: dict[int, list[Any]], micro: bool = False) -> str | None:
    """metav1.Time marshals as RFC 3339 in seconds (null when zero); MicroTime with microseconds."""
    if not fields:
        return None
    seconds, nanos = _int(fields, 1), _int(fields, 2, "int32")
    if seconds == _ZERO_TIME and nanos == 0:
        return None
    try:
        when = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"time out of range: {seconds}s") from None
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{nanos // 1000:06d}"
    return text + "Z"


def _duration(fields: dict[int, list[Any]]) -> str:
    """metav1.Duration marshals as Go's time.Duration.String() (``1h2m3.5s``, ``150ms``, ``0s``)."""
    ns = _int(fields, 1)
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns == 0:
        return "0s"
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns, size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _trim(rest, 10**9) + "s"


def _trim(value: int, size: int) -> str:
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def _int_or_string(fields: dict[int, list[Any]]) -> int | str:
    if _int(fields, 1) == 1:
        return _string(_last_bytes(fields, 3))
    return _int(fields, 2, "int32")


def _quantity(fields: dict[int, list[Any]]) -> str:
    return _string(_last_bytes(fields, 1)) or "0"


def _raw_json(fields: dict[int, list[Any]]) -> Any:
    """RawExtension/FieldsV1: the raw bytes are the JSON (or, for an object, protobuf) itself."""
    raw = _last_bytes(fields, 1)
    if not raw:
        return None
    if raw.startswith(MAGIC):
        return decode_unknown(raw)
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ProtobufError(f"embedded JSON: {e}") from None


def _items(fields: dict[int, list[Any]]) -> list[str]:
    return [_scalar(v, "string") for v in fields.get(1, [])]


_ZERO_SPECIAL: dict[str, Any] = {
    f"{_META}Duration": "0s",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "0",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": 0,
}
_SPECIAL: dict[str, Any] = {
    f"{_META}Time": _time,
    f"{_META}MicroTime": lambda f: _time(f, micro=True),
    f"{_META}Duration": _duration,
    f"{_META}FieldsV1": _raw_json,
    f"{_META}Verbs": _items,
    "k8s.io.api.authentication.v1.ExtraValue": _items,
    "k8s.io.api.authorization.v1.ExtraValue": _items,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _raw_json,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": _quantity,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
}
