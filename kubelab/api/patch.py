"""Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes' strategic
merge patch, plus the three-way patch ``kubectl apply`` computes.

A strategic merge patch merges some lists by a key instead of replacing them (containers by
name, container ports by containerPort, conditions by type...): the Go types'
``patchStrategy``/``patchMergeKey`` tags, which the 1.32 OpenAPI publishes as
``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key`` and the schema
(``kubelab.api.schema``) carries with the types along the path. Lists without a merge
strategy are replaced whole, as Kubernetes does (tolerations, args, command...).
"""
from __future__ import annotations

import copy
import json
from typing import Any

from kubelab.api import errors, schema
from kubelab.api.objects import Obj


_DIRECTIVES = ("$patch", "$retainKeys")
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def apply_patch(obj: Obj, body: Any, patch_type: str) -> Obj:
    """``obj`` patched by ``body``; ``patch_type`` is ``merge``, ``json`` or ``strategic``.
    Raises the API server's StatusError when the patch cannot be applied."""
    if patch_type == "merge":
        if not isinstance(body, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        return merge_patch(obj, body)
    if patch_type == "json":
        return json_patch(obj, body)
    if patch_type == "strategic":
        if not isinstance(body, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        return strategic_merge(obj, body, schema.root(obj.get("kind", "")))
    raise errors.StatusError(415, "UnsupportedMediaType", f"the server does not support patch type {patch_type!r}")


# -- RFC 7386 ---------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """JSON merge patch: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# -- RFC 6902 ---------------------------------------------------------------------------

class _PatchError(Exception):
    pass


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _PatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _parent(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _PatchError(f"{op} operation does not apply: doc is missing path: {json.dumps(path)}: missing value")
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, op, path)
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent[int(key)]
    raise _PatchError(f"{op} operation does not apply: doc is missing path: {json.dumps(path)}: missing value")


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, op, path)
    key = parts[-1]
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        if key == "-":
            parent.append(value)
        elif key.isdigit() and int(key) <= len(parent):
            parent.insert(int(key), value)
        else:
            raise _PatchError(f"{op} operation does not apply: doc is missing path: {json.dumps(path)}: "
                              "invalid index referenced")
    else:
        raise _PatchError(f"{op} operation does not apply: doc is missing path: {json.dumps(path)}: missing value")
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts, op, path)
    key = parts[-1] if parts else ""
    if isinstance(parent, dict) and key in parent:
        del parent[key]
    elif isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        del parent[int(key)]
    else:
        raise _PatchError(f"{op} operation does not apply: doc is missing path: {json.dumps(path)}: missing value")
    return doc


def json_patch(obj: Obj, ops: Any) -> Obj:
    """Apply an RFC 6902 patch. A malformed patch is a BadRequest; an operation that does
    not apply (missing path, failed ``test``) is rejected as the API server rejects it (422)."""
    if not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc: Any = copy.deepcopy(obj)
    try:
        for op in ops:
            kind = op.get("op")
            path = op.get("path")
            if kind == "add":
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
            elif kind == "remove":
                doc = _remove(doc, path)
            elif kind == "replace":
                _get(doc, path, "replace")
                if _pointer(path):
                    doc = _remove(doc, path, "replace")
                doc = _add(doc, path, copy.deepcopy(op.get("value")), "replace")
            elif kind in ("move", "copy"):
                value = copy.deepcopy(_get(doc, op.get("from"), kind))
                if kind == "move":
                    doc = _remove(doc, op.get("from"), kind)
                doc = _add(doc, path, value, kind)
            elif kind == "test":
                try:
                    found = _get(doc, path, "test")
                except _PatchError:
                    found = None
                if found != op.get("value"):
                    raise _PatchError(f"testing value {path} failed: test failed")
            else:
                raise errors.bad_request(f"Unexpected kind: {kind}")
    except _PatchError as e:
        raise errors.StatusError(422, "Invalid", "the server rejected our request due to an error in our request",
                                 causes=[errors.Cause("", str(e), "UnexpectedServerResponse")]) from None
    if not isinstance(doc, dict):
        raise errors.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
    return doc


# -- strategic merge patch --------------------------------------------------------------

def _strategy(node: Any, key: str) -> tuple[bool, str | None]:
    """(merges?, merge key) for field ``key`` of the struct ``node``; a merge without a key
    merges a list of scalars as a set (finalizers)."""
    if node is None or node.kind != "struct":
        return False, None
    found = node.patch_strategy(key)
    if found and "merge" in found[0].split(","):
        return True, found[1]
    return False, None


def _strip(value: Any) -> Any:
    """A patch value without its directives (what gets stored when it is added whole)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if k not in _DIRECTIVES and not k.startswith((_ORDER, _DELETE_PRIMITIVE))}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "replace" and len(v) == 1)]
    return copy.deepcopy(value)


def strategic_merge(original: Obj, patch: Obj, node: Any = None) -> Obj:
    """``original`` with the strategic merge ``patch`` applied; ``node`` is its schema type."""
    if patch.get("$patch") == "replace":
        return _strip(patch)
    if patch.get("$patch") == "delete":
        return {}
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key in _DIRECTIVES or key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            remaining = [x for x in result.get(field) or [] if x not in (value or [])]
            if remaining:
                result[field] = remaining
            else:
                result.pop(field, None)
            continue
        if value is None:
            result.pop(key, None)
            continue
        child = schema.child(node, key)
        current = result.get(key)
        merges, merge_key = _strategy(node, key)
        if isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge(current if isinstance(current, dict) else {}, value,
                                              schema.element(child))
        elif isinstance(value, list) and merges:
            result[key] = _merge_list(current if isinstance(current, list) else [], value, merge_key,
                                      schema.element(child))
        else:
            result[key] = _strip(value)
    for key, order in patch.items():
        if key.startswith(_ORDER):
            field = key[len(_ORDER):]
            if isinstance(result.get(field), list):
                result[field] = _reorder(result[field], order, _strategy(node, field)[1])
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list, patch: list, key: str | None, elem: Any) -> list:
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return _strip(patch)
    result = copy.deepcopy(original)
    if key is None:
        for item in patch:
            if item not in result:
                result.append(copy.deepcopy(item))
        return result
    for item in patch:
        if not isinstance(item, dict):
            result.append(copy.deepcopy(item))
            continue
        if key not in item:
            raise errors.bad_request(f"map: {_go_map(item)} does not contain declared merge key: {key}")
        index = next((i for i, x in enumerate(result) if isinstance(x, dict) and x.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic_merge(result[index], item, elem)
    return result


def _go_map(item: Obj) -> str:
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(item.items())) + "]"


def _reorder(items: list, order: list, key: str | None) -> list:
    """Put the elements named by ``$setElementOrder`` in that order; others follow as they were."""
    ident = (lambda x: x) if key is None else (lambda x: x.get(key) if isinstance(x, dict) else x)
    wanted = [ident(o) for o in order]
    placed = sorted((x for x in items if ident(x) in wanted), key=lambda x: wanted.index(ident(x)))
    return placed + [x for x in items if ident(x) not in wanted]


# -- kubectl apply's three-way patch ----------------------------------------------------

def three_way(original: Obj | None, modified: Obj, current: Obj) -> Obj:
    """The strategic merge patch ``kubectl apply`` sends: what changed from ``current`` to
    ``modified`` (the new manifest), plus deletions of what ``original`` (the
    last-applied configuration) had and ``modified`` no longer has."""
    return _diff(original or {}, modified, current, schema.root(modified.get("kind", "")))


def _diff(original: Obj, modified: Obj, current: Obj, node: Any) -> Obj:
    patch: Obj = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, want in modified.items():
        if want is None:
            continue
        have = current.get(key)
        was = original.get(key)
        merges, merge_key = _strategy(node, key)
        child = schema.child(node, key)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = _diff(was if isinstance(was, dict) else {}, want, have, schema.element(child))
            if sub:
                patch[key] = sub
        elif isinstance(want, list) and merges and isinstance(have, list):
            _diff_list(patch, key, was if isinstance(was, list) else [], want, have, merge_key,
                       schema.element(child))
        elif want != have:
            patch[key] = copy.deepcopy(want)
    return patch


def _diff_list(patch: Obj, field: str, original: list, modified: list, current: list, key: str | None,
               elem: Any) -> None:
    if key is None:
        added = [x for x in modified if x not in current]
        removed = [x for x in original if x not in modified]
        if added:
            patch[field] = added
        if removed:
            patch[_DELETE_PRIMITIVE + field] = removed
        if added or removed:
            patch[_ORDER + field] = list(modified)
        return

    def index(items: list) -> dict[Any, Obj]:
        return {x.get(key): x for x in items if isinstance(x, dict)}

    orig, cur = index(original), index(current)
    items: list = []
    for want in modified:
        if not isinstance(want, dict):
            continue
        have = cur.get(want.get(key))
        if have is None:
            items.append(copy.deepcopy(want))
            continue
        sub = _diff(orig.get(want.get(key)) or {}, want, have, elem)
        if sub:
            items.append({**sub, key: want.get(key)})
    wanted = {w.get(key) for w in modified if isinstance(w, dict)}
    for name, was in orig.items():
        if name not in wanted:
            items.append({key: name, "$patch": "delete"})
    order_changed = [w.get(key) for w in modified if isinstance(w, dict)] != \
        [c.get(key) for c in current if isinstance(c, dict) and c.get(key) in wanted]
    if items or order_changed:
        patch[_ORDER + field] = [{key: w.get(key)} for w in modified if isinstance(w, dict)]
    if items:
        patch[field] = items
