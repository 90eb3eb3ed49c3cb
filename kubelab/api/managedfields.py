"""Field ownership: ``metadata.managedFields`` and server-side apply.

Mirrors sigs.k8s.io/structured-merge-diff (v4, what Kubernetes 1.32 vendors) as
kube-apiserver's field manager uses it:

- a *field set* is a set of paths; a path is a tuple of path elements written as in
  ``fieldsV1``: ``f:name`` (a struct field or map key), ``k:{"name":"nginx"}`` (an item of an
  associative list, by its keys), ``v:"kubernetes"`` (an item of a set list), ``i:0``;
- an Update (create/update/patch) gives its manager every field it added or changed
  (typed.Compare between the old and new object: ``Added`` includes each node absent
  before, which ``fieldsV1`` writes as ``.``) and takes them from every other manager;
- an Apply merges the applied configuration into the live object (typed.Merge), owns
  exactly the applied configuration's fields (typed.ToFieldSet), removes fields it owned
  before and no longer applies when nobody else owns them (Updater.prune), and fails with a
  conflict when it would change a field another manager owns, unless forced.

The schema (struct, map, associative/set/atomic list, atomic maps) is read from the 1.32
OpenAPI definitions (``kubelab.api.openapi.schemas``); the "old" object of a create is the
Go zero value of the kind (what ``scope.Creater.New`` gives the create handler), derived
from the protobuf field table (non-pointer structs present, pointers absent).
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any, Iterable

from kubelab.api import errors
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj

Path = tuple[str, ...]
FieldSet = set[Path]

_REF = "#/components/schemas/"
# fields no manager owns (fieldmanager/internal/stripmeta.go)
_STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
    ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"), ("f:metadata", "f:uid"),
    ("f:metadata", "f:clusterName"), ("f:metadata", "f:generation"), ("f:metadata", "f:managedFields"),
    ("f:metadata", "f:resourceVersion"),
})
# kinds whose main resource resets status (their strategies' GetResetFields)
_STATUS_RESET = frozenset({"Pod", "Service", "Node", "Namespace", "Deployment", "ReplicaSet", "StatefulSet",
                           "DaemonSet", "Job", "CronJob"})


# -- schema ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    from kubelab.api.openapi import schemas

    return schemas()


# resolved schemas by the id of the (long-lived) OpenAPI node, which is kept alive beside them
_RESOLVED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _resolve(node: dict[str, Any] | None) -> dict[str, Any]:
    """A field's schema with its $ref (or allOf [$ref]) followed; field-level extensions
    (list type, map type) win over the referenced type's. Memoized: every write walks them."""
    if not node:
        return {}
    hit = _RESOLVED.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    ref = node.get("$ref") or next((a.get("$ref") for a in node.get("allOf") or () if "$ref" in a), None)
    if ref is None:
        resolved = node
    else:
        target = _schemas().get(ref[len(_REF):], {})
        resolved = {**target, **{k: v for k, v in node.items() if k.startswith("x-kubernetes-")}}
    _RESOLVED[id(node)] = (node, resolved)
    return resolved


def kind_schema(kind: Kind) -> dict[str, Any]:
    from kubelab.api.openapi import name_of

    return _schemas()[name_of(kind)]


def _is_struct(schema: dict[str, Any]) -> bool:
    return "properties" in schema


def _is_map(schema: dict[str, Any]) -> bool:
    return not _is_struct(schema) and (schema.get("type") == "object" or "additionalProperties" in schema)


def _atomic(schema: dict[str, Any]) -> bool:
    return schema.get("x-kubernetes-map-type") == "atomic"


def _child(schema: dict[str, Any], key: str) -> dict[str, Any]:
    if _is_struct(schema):
        return _resolve(schema["properties"].get(key))
    extra = schema.get("additionalProperties")
    return _resolve(extra) if isinstance(extra, dict) else {}


def _list_type(schema: dict[str, Any]) -> str:
    return schema.get("x-kubernetes-list-type") or "atomic"


def _item_element(schema: dict[str, Any], item: Any, index: int) -> str:
    kind = _list_type(schema)
    if kind == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        present = {k: item[k] for k in sorted(keys) if isinstance(item, dict) and k in item}
        return "k:" + json.dumps(present, separators=(",", ":"), sort_keys=True)
    if kind == "set":
        return "v:" + json.dumps(item, separators=(",", ":"))
    return f"i:{index}"


def _deduced(value: Any) -> dict[str, Any]:
    """An untyped value (RawExtension, `type: object`): maps granular, lists atomic."""
    return {"type": "object"} if isinstance(value, dict) else {}


# -- field sets --------------------------------------------------------------------------------
def to_field_set(value: Any, schema: dict[str, Any], path: Path = ()) -> FieldSet:
    """typed.ToFieldSet: every leaf, every map entry that is not a struct field, every list
    item, and every struct field whose value is null or empty."""
    out: FieldSet = set()
    _walk_set(value, schema, path, out)
    return out


def _walk_set(value: Any, schema: dict[str, Any], path: Path, out: FieldSet) -> None:
    if isinstance(value, dict) and (_is_struct(schema) or _is_map(schema) or not schema):
        schema = schema or _deduced(value)
        if _atomic(schema):
            out.add(path)
            return
        for key, child in value.items():
            child_path = path + (f"f:{key}",)
            child_schema = _child(schema, key) or _deduced(child)
            _walk_set(child, child_schema, child_path, out)
            if child is None or (isinstance(child, dict) and not child) or not _is_struct(schema):
                out.add(child_path)
        return
    if isinstance(value, list) and schema.get("type") == "array":
        if _list_type(schema) == "atomic":
            out.add(path)
            return
        item_schema = _resolve(schema.get("items"))
        for i, item in enumerate(value):
            item_path = path + (_item_element(schema, item, i),)
            _walk_set(item, item_schema, item_path, out)
            out.add(item_path)
        return
    out.add(path)


def compare(old: Any, new: Any, schema: dict[str, Any]) -> tuple[FieldSet, FieldSet, FieldSet]:
    """typed.Compare: (added, modified, removed) paths from ``old`` to ``new``."""
    added: FieldSet = set()
    modified: FieldSet = set()
    removed: FieldSet = set()
    _cmp(old, new, schema, (), True, True, added, modified, removed)
    return added, modified, removed


_MISSING: Any = object()


def _cmp(lhs: Any, rhs: Any, schema: dict[str, Any], path: Path, has_l: bool, has_r: bool,
         added: FieldSet, modified: FieldSet, removed: FieldSet) -> None:
    sample = rhs if has_r and rhs is not None else lhs
    leaf = True
    if isinstance(sample, dict) and (_is_struct(schema) or _is_map(schema) or not schema):
        schema = schema or _deduced(sample)
        lmap = lhs if isinstance(lhs, dict) else {}
        rmap = rhs if isinstance(rhs, dict) else {}
        if not _atomic(schema) and (lmap or rmap):
            leaf = False
            for key in list(lmap) + [k for k in rmap if k not in lmap]:
                child = _child(schema, key) or _deduced(rmap.get(key, lmap.get(key)))
                _cmp(lmap.get(key), rmap.get(key), child, path + (f"f:{key}",), key in lmap, key in rmap,
                     added, modified, removed)
    elif isinstance(sample, list) and schema.get("type") == "array" and _list_type(schema) != "atomic":
        llist = lhs if isinstance(lhs, list) else []
        rlist = rhs if isinstance(rhs, list) else []
        if llist or rlist:
            leaf = False
            item_schema = _resolve(schema.get("items"))
            litems = {_item_element(schema, v, i): v for i, v in enumerate(llist)}
            ritems = {_item_element(schema, v, i): v for i, v in enumerate(rlist)}
            for pe in list(litems := litems) + [p for p in ritems if p not in litems]:
                _cmp(litems.get(pe), ritems.get(pe), item_schema, path + (pe,), pe in litems, pe in ritems,
                     added, modified, removed)
    if leaf:
        if not has_l:
            added.add(path)
        elif not has_r:
            removed.add(path)
        elif lhs != rhs:
            modified.add(path)
        return
    if not has_l:
        added.add(path)
    elif not has_r:
        removed.add(path)


# -- fieldsV1 ----------------------------------------------------------------------------------
def encode(fields: Iterable[Path]) -> Obj:
    """A field set as ``fieldsV1`` (a trie; ``.`` marks a member that also has children)."""
    root: Obj = {}
    members: set[Path] = set(fields)
    for path in sorted(members):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    def mark(node: Obj, path: Path) -> Obj:
        out: Obj = {}
        if node and path in members:
            out["."] = {}
        for key in sorted(node):
            out[key] = mark(node[key], path + (key,))
        return out
    return mark(root, ())


def decode(fields_v1: Any, path: Path = ()) -> FieldSet:
    out: FieldSet = set()
    if not isinstance(fields_v1, dict):
        return out
    if path and (not fields_v1 or "." in fields_v1):
        out.add(path)
    for key, child in fields_v1.items():
        if key != ".":
            out |= decode(child, path + (key,))
    return out


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): ``.spec.template.spec.containers[name="nginx"].image``."""
    out = ""
    for element in path:
        tag, body = element[:2], element[2:]
        if tag == "f:":
            out += "." + body
        elif tag == "k:":
            keys = json.loads(body)
            out += "[" + ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in keys.items()) + "]"
        elif tag == "v:":
            out += "[=" + body + "]"
        else:
            out += "[" + body + "]"
    return out


# -- managers ----------------------------------------------------------------------------------
class Manager:
    """One managedFields entry: its identity (manager, operation, apiVersion for Update,
    subresource) and its field set."""

    def __init__(self, entry: Obj) -> None:
        self.name = entry.get("manager", "")
        self.operation = entry.get("operation", "Update")
        self.api_version = entry.get("apiVersion", "")
        self.subresource = entry.get("subresource", "")
        self.time = entry.get("time")
        self.fields = decode(entry.get("fieldsV1") or {})

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.name, self.operation, self.api_version if self.operation == "Update" else "", self.subresource)

    def describe(self) -> str:
        """How a conflict names the manager (fieldmanager's printManager, identities carry no time)."""
        text = json.dumps(self.name)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def entry(self) -> Obj:
        out: Obj = {"apiVersion": self.api_version, "fieldsType": "FieldsV1", "fieldsV1": encode(self.fields),
                    "manager": self.name, "operation": self.operation}
        if self.subresource:
            out["subresource"] = self.subresource
        if self.time:
            out["time"] = self.time
        return out


def managers_of(obj: Obj) -> list[Manager]:
    return [Manager(e) for e in (obj.get("metadata") or {}).get("managedFields") or [] if isinstance(e, dict)]


def _ignored(kind: Kind, subresource: str | None, fields: FieldSet) -> FieldSet:
    """Drop what no manager owns and what the request's strategy resets (status on the main
    resource; everything but status on the status subresource)."""
    fields = {p for p in fields if p and p not in _STRIPPED}
    if kind.kind in _STATUS_RESET:
        if subresource == "status":
            return {p for p in fields if p[0] == "f:status"}
        return {p for p in fields if p[0] != "f:status"}
    return fields


def _store(obj: Obj, managers: list[Manager]) -> None:
    kept = [m for m in managers if m.fields]
    kept.sort(key=lambda m: (m.operation, m.time or "", m.name, m.api_version, m.subresource))
    if kept:
        obj["metadata"]["managedFields"] = [m.entry() for m in kept]
    else:
        obj["metadata"].pop("managedFields", None)


def _strip(obj: Obj) -> Obj:
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if ("f:metadata", f"f:{k}") not in _STRIPPED}
    out["metadata"] = meta
    return out


def record_update(kind: Kind, old: Obj | None, new: Obj, manager: str, now: str,
                  subresource: str | None = None) -> None:
    """Set ``new``'s managedFields for an Update by ``manager`` (create when ``old`` is None):
    it gains what it added or changed, the others lose it, everyone loses what was removed."""
    schema = kind_schema(kind)
    # the request's managedFields when it sets some (clients may edit them), else the live ones
    managers = managers_of(new) if not subresource else []
    if not any(m.fields for m in managers):
        managers = managers_of(old) if old is not None else []
    before = _strip(old) if old is not None else _strip(zero_object(kind))
    added, modified, removed = compare(before, _strip(new), schema)
    changed = _ignored(kind, subresource, added | modified)
    removed = _ignored(kind, subresource, removed)
    identity = (manager, "Update", kind.api_version, subresource or "")
    mine = next((m for m in managers if m.identity == identity), None)
    for m in managers:
        if m is not mine:
            m.fields -= changed
        m.fields -= removed
    if mine is None:
        mine = Manager({"manager": manager, "operation": "Update", "apiVersion": kind.api_version,
                        "subresource": subresource or ""})
        managers.append(mine)
    grown = (mine.fields - removed) | changed
    if grown != mine.fields or mine.time is None:
        mine.time = now
    mine.fields = grown
    new.setdefault("metadata", {})
    _store(new, managers)


def apply(kind: Kind, live: Obj | None, config: Obj, manager: str, force: bool, now: str) -> Obj:
    """Server-side apply of ``config`` by ``manager`` to ``live`` (None: the object is new).
    Returns the object to admit and store, with its managedFields; raises the apiserver's
    409 Conflict naming every conflicting field unless ``force``."""
    schema = kind_schema(kind)
    applied = _ignored(kind, None, to_field_set(_strip(config), schema))
    managers = managers_of(live) if live is not None else []
    base = live if live is not None else zero_object(kind)
    merged = merge(base, config, schema)
    identity = (manager, "Apply", "", "")
    mine = next((m for m in managers if m.identity == identity), None)
    last = mine.fields if mine is not None else set()
    others = [m for m in managers if m is not mine]
    owned_elsewhere = set().union(*(m.fields for m in others)) if others else set()
    kept = applied | owned_elsewhere
    for path in sorted(last - kept, key=len):  # a parent first: its subtree goes with it
        if not any(p[:len(path)] == path for p in kept):
            _remove(merged, path)
    added, modified, removed = compare(_strip(base), _strip(merged), schema)
    changed = _ignored(kind, None, added | modified)
    conflicts = [(m, p) for m in others for p in sorted(m.fields & changed & applied)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for m in others:  # forced (or free of conflicts): the others lose what this apply changed
        m.fields -= changed
        m.fields -= _ignored(kind, None, removed)
    if mine is None:
        mine = Manager({"manager": manager, "operation": "Apply", "apiVersion": kind.api_version})
        managers.append(mine)
    if mine.fields != applied or mine.time is None or mine.api_version != kind.api_version:
        mine.time = now
    mine.fields, mine.api_version = applied, kind.api_version
    merged.setdefault("metadata", {})
    _store(merged, managers)
    return merged


def conflict_error(conflicts: list[tuple[Manager, Path]]) -> errors.StatusError:
    """The apiserver's ApplyConflict (internal/conflict.go): 409 with one cause per field."""
    causes = [errors.Cause(path_string(p), f"conflict with {m.describe()}", "FieldManagerConflict")
              for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {path_string(p)}"
    else:
        lines = []
        for name in sorted({m.describe() for m, _ in conflicts}):
            lines.append(f"conflicts with {name}:")
            lines.extend(f"- {path_string(p)}" for m, p in conflicts if m.describe() == name)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.StatusError(409, "Conflict", message, causes=causes)


def _remove(obj: Any, path: Path) -> None:
    node = obj
    for element in path[:-1]:
        node = _step(node, element)
        if node is None:
            return
    last = path[-1]
    if isinstance(node, dict) and last.startswith("f:"):
        node.pop(last[2:], None)
    elif isinstance(node, list):
        node[:] = [v for i, v in enumerate(node) if not _matches(v, i, last)]


def _step(node: Any, element: str) -> Any:
    if isinstance(node, dict) and element.startswith("f:"):
        return node.get(element[2:])
    if isinstance(node, list):
        return next((v for i, v in enumerate(node) if _matches(v, i, element)), None)
    return None


def _matches(item: Any, index: int, element: str) -> bool:
    tag, body = element[:2], element[2:]
    if tag == "k:":
        return isinstance(item, dict) and all(item.get(k) == v for k, v in json.loads(body).items())
    if tag == "v:":
        return item == json.loads(body)
    return tag == "i:" and str(index) == body


# -- merge -------------------------------------------------------------------------------------
def merge(live: Any, config: Any, schema: dict[str, Any]) -> Any:
    """typed.Merge: the configuration over the live object, granular where the schema is."""
    if isinstance(config, dict) and isinstance(live, dict) and not _atomic(schema) and \
            (_is_struct(schema) or _is_map(schema) or not schema):
        schema = schema or _deduced(config)
        out = copy.deepcopy(live)
        for key, value in config.items():
            child = _child(schema, key) or _deduced(value)
            out[key] = merge(live.get(key), value, child) if key in live else copy.deepcopy(value)
        return out
    if isinstance(config, list) and isinstance(live, list) and schema.get("type") == "array" and \
            _list_type(schema) in ("map", "set"):
        return _merge_list(live, config, schema)
    return copy.deepcopy(config)


def _merge_list(live: list[Any], config: list[Any], schema: dict[str, Any]) -> list[Any]:
    """Items merged by key; the order is the configuration's, with live-only items kept
    where they were relative to the shared ones (mergingWalker.visitListItems)."""
    item_schema = _resolve(schema.get("items"))
    lpes = [_item_element(schema, v, i) for i, v in enumerate(live)]
    rpes = [_item_element(schema, v, i) for i, v in enumerate(config)]
    lmap, rmap = dict(zip(lpes, live)), dict(zip(rpes, config))
    shared = [pe for pe in rpes if pe in lmap]
    out: list[Any] = []
    done: set[str] = set()
    li = ri = 0

    def item(pe: str) -> Any:
        if pe in lmap and pe in rmap:
            return merge(lmap[pe], rmap[pe], item_schema)
        return copy.deepcopy(rmap.get(pe, lmap.get(pe)))

    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes) and lpes[li] == rpes[ri]:
            if lpes[li] not in done:
                out.append(item(lpes[li]))
                done.add(lpes[li])
            if shared and shared[0] == lpes[li]:
                shared.pop(0)
            li += 1
            ri += 1
            continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in rmap:
                out.append(item(pe))
                done.add(pe)
                li += 1
                continue
            if pe in done or (shared and shared[0] != pe):
                li += 1
                continue
        if ri < len(rpes):
            pe = rpes[ri]
            if pe not in done:
                out.append(item(pe))
                done.add(pe)
            if shared and shared[0] == pe:
                shared.pop(0)
            ri += 1
    return out


# -- the zero object ---------------------------------------------------------------------------
def zero_object(kind: Kind) -> Obj:
    """The kind's Go zero value in JSON form (what a create's field manager compares against)."""
    from kubelab.api import protobuf

    message = protobuf.message_name(kind.api_version, kind.kind)
    out: Obj = {"apiVersion": kind.api_version, "kind": kind.kind}
    if message is not None:
        out.update(protobuf.zero(message))
    return out
