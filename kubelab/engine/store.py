"""The versioned object store: kubelab's etcd.

Objects are plain dicts, as the REST API carries them. The store stamps identity (uid,
resourceVersion, creationTimestamp, generation), enforces optimistic concurrency, tells
subscribers of every change (the informers of kubelab's controllers), and keeps the indexes
that let controllers and the scheduler find objects without scanning everything: by
namespace, by label, by owner and by node.
"""
from __future__ import annotations

import copy
import random
from collections import defaultdict
from typing import Any, Callable, Iterator

from kubelab.api import errors
from kubelab.api.kinds import BY_KIND
from kubelab.api.objects import Obj
from kubelab.engine.clock import Clock, parse_timestamp

Key = tuple[str, str, str]  # (kind, namespace or "", name)
Listener = Callable[[str, Obj, "Obj | None"], None]  # (ADDED|MODIFIED|DELETED, object, old object)



def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts, lists, scalars), several times faster than
    ``copy.deepcopy``: what the API server hands to and takes from its clients."""
    t = type(value)
    if t is dict:
        return {k: v if type(v) in _ATOMIC else clone(v) for k, v in value.items()}
    if t is list:
        return [v if type(v) in _ATOMIC else clone(v) for v in value]
    if t in _ATOMIC:
        return value
    return copy.deepcopy(value)


def share(new: Any, old: Any) -> Any:
    """``new``, with each part equal to the same part of ``old`` replaced by old's object, so
    that siblings (a ReplicaSet's pods) keep one copy of what they have in common. Stored
    objects are never changed in place, which is what makes sharing safe; the API schema gives
    every path one type, so equal values are of the same type (1 and True never meet)."""
    if new == old:
        return old
    if type(new) is dict and type(old) is dict:
        return compact({k: share(v, old[k]) if k in old else v for k, v in new.items()})
    if type(new) is list and type(old) is list:
        return [share(v, old[i]) if i < len(old) else v for i, v in enumerate(new)]
    return new


_SHAPES: dict[tuple[str, ...], type] = {}
_MAX_SHAPES = 4096


def compact(d: Obj) -> Obj:
    """A new equal dict (same keys in the same order) at half the memory or less: a dict taken
    from an instance's ``__dict__`` keeps only its values and shares its keys with every
    instance of the class (PEP 412's key-sharing dictionaries), one class per key tuple.
    Stored objects are never changed in place, so their top level and metadata (a 100,000-pod
    cluster keeps 600,000 Events) are kept this way; an interpreter without key sharing gets
    an ordinary dict, equal all the same."""
    shape = tuple(d)
    cls = _SHAPES.get(shape)
    if cls is None:
        if len(_SHAPES) >= _MAX_SHAPES or not all(type(k) is str for k in shape):
            return dict(d)
        cls = _SHAPES[shape] = type("Shape", (), {"__module__": __name__})
    out: Obj = cls().__dict__
    out.update(d.items())  # pair by pair, which keeps the shared keys (update(d) would not)
    return out


def _status_less(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("status", "metadata")}


class Store:
    """In-memory objects by kind and namespace, with indexes and change notification."""

    def __init__(self, clock: Clock, rng: random.Random | None = None) -> None:
        self.clock = clock
        self.rng = rng or random.Random()
        self._rv = 0
        self._objects: dict[str, dict[str, dict[str, Obj]]] = defaultdict(lambda: defaultdict(dict))
        self._labels: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)  # (kind, ns, k, v) -> names
        self._owned: dict[str, set[Key]] = defaultdict(set)  # owner uid -> dependents
        self._on_node: dict[str, set[Key]] = defaultdict(set)  # node name -> pods
        self._listeners: tuple[Listener, ...] = ()  # replaced, never changed: a notify walks a snapshot
        self._siblings: dict[str, Obj] = {}  # controller uid -> the last object created for it

    # -- identity -----------------------------------------------------------------------
    def next_resource_version(self) -> str:
        self._rv += 1
        return str(self._rv)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def new_uid(self) -> str:
        """A version-4 UUID from the seeded generator (what ``uuid.UUID(int=..., version=4)``
        gives, formatted without building the object: every Event needs one)."""
        n = (self.rng.getrandbits(128) & ~(0xc000 << 48) & ~(0xf000 << 64)) | (0x8000 << 48) | (4 << 76)
        h = "%032x" % n
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # -- reads (the returned dicts are the store's own: never mutate them) ----------------
    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._objects[kind][namespace].get(name)

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        spaces = self._objects[kind]
        if namespace is not None:
            return list(spaces.get(namespace, {}).values())
        return [o for objs in spaces.values() for o in objs.values()]

    def count(self, kind: str, namespace: str | None = None) -> int:
        spaces = self._objects[kind]
        if namespace is not None:
            return len(spaces.get(namespace, {}))
        return sum(len(objs) for objs in spaces.values())

    def namespaces_with(self, kind: str) -> list[str]:
        return [ns for ns, objs in self._objects[kind].items() if objs]

    def with_labels(self, kind: str, namespace: str, match: dict[str, str]) -> list[Obj]:
        """Objects whose labels include every pair of ``match``, through the label index."""
        objs = self._objects[kind].get(namespace, {})
        if not match:
            return list(objs.values())
        sets = sorted((self._labels.get((kind, namespace, k, v), set()) for k, v in match.items()), key=len)
        names = set(sets[0])
        for s in sets[1:]:
            names &= s
        return [objs[n] for n in names if n in objs]

    def owned_by(self, uid: str) -> list[Obj]:
        return [o for o in (self.get(*k) for k in self._owned.get(uid, ())) if o is not None]

    def pods_on(self, node: str) -> list[Obj]:
        return [o for o in (self.get(*k) for k in self._on_node.get(node, ())) if o is not None]

    def kinds(self) -> Iterator[str]:
        return iter(list(self._objects))

    # -- writes -------------------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        """Store a new object, stamping uid, resourceVersion, creationTimestamp, generation.
        The store takes ownership of what ``obj`` holds: the caller hands over a freshly built
        object and changes none of it afterwards (only its top level and metadata are copied)."""
        obj = compact(obj)
        meta = obj["metadata"] = dict(obj["metadata"])
        kind, ns, name = obj["kind"], meta.get("namespace", ""), meta["name"]
        if name in self._objects[kind][ns]:
            k = BY_KIND[kind]
            raise errors.already_exists(k.plural, name, k.group)
        meta["uid"] = meta.get("uid") or self.new_uid()  # the API server may have assigned it
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        meta["creationTimestamp"] = self.clock.timestamp()
        if BY_KIND[kind].generation or BY_KIND[kind].generation_at_create:
            meta["generation"] = 1
        if "deletionTimestamp" in meta or "deletionGracePeriodSeconds" in meta:
            meta.pop("deletionTimestamp", None)
            meta.pop("deletionGracePeriodSeconds", None)
        if kind == "Pod":
            self._share_with_sibling(obj)
        obj["metadata"] = compact(meta)
        if type(obj.get("spec")) is dict:
            obj["spec"] = compact(obj["spec"])
        self._put(obj, None)
        self._notify("ADDED", obj, None)
        return obj

    def update(self, obj: Obj, *, status: bool = False, preview: bool = False) -> Obj:
        """Replace an object. A stale ``resourceVersion`` is a Conflict; an empty one means
        "whatever is there" (an unconditional update). ``status=True`` is the status
        subresource: only ``status`` changes. ``preview=True`` (a dry run) returns what would
        be stored (generation counted, server-owned metadata kept) and stores nothing. Writing an identical object is a no-op that
        keeps the resourceVersion, as the API server does. Like ``create``, the store takes
        ownership of the nested values of ``obj``; they may be shared with the stored object
        (build the new object by shallow-copying only what changes)."""
        kind, ns, name = key_of(obj)
        k = BY_KIND[kind]
        old = self._objects[kind][ns].get(name)
        if old is None:
            raise errors.not_found(k.plural, name, k.group)
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(k.plural, name, k.group)
        if status:  # only status comes from obj; the rest is the stored object's
            new = old.copy()  # copies of key-sharing dicts share keys too: nothing to compact
            new["metadata"] = old["metadata"].copy()
            new["status"] = obj.get("status", {})
            return new if preview else self._replace(new, old, compacted=True)
        new = compact(obj)
        meta = new["metadata"] = dict(obj["metadata"])
        for field in ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp",
                      "deletionGracePeriodSeconds"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        if k.status:  # the main resource never writes status
            new.pop("status", None)
            if "status" in old:
                new["status"] = old["status"]
        if k.generation and _status_less(new) != _status_less(old):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        return new if preview else self._replace(new, old)

    def _replace(self, new: Obj, old: Obj, compacted: bool = False) -> Obj:
        """Store ``new`` (its metadata a dict of its own) in place of ``old``, unless equal."""
        if new == old:  # cheap when they share most of their parts: == stops at identical values
            return old
        if not compacted:
            self._compact(new, old)
        new["metadata"]["resourceVersion"] = self.next_resource_version()
        self._reindex(new, old)
        self._notify("MODIFIED", new, old)
        self._finish_if_done(new)
        return new

    def mark_deleted(self, kind: str, namespace: str, name: str, grace_seconds: int | None = None) -> Obj:
        """Set deletionTimestamp (graceful deletion, or waiting on finalizers: grace 0). Marked
        already, only a shorter grace period changes it, bringing the deadline closer as
        BeforeDelete does."""
        old = self._require(kind, namespace, name)
        before = old["metadata"].get("deletionGracePeriodSeconds")
        marked = old["metadata"].get("deletionTimestamp")
        if marked and (grace_seconds is None or before is None or grace_seconds >= before):
            return old
        new = {**old, "metadata": dict(old["metadata"])}
        meta = new["metadata"]
        start = parse_timestamp(marked) - before if marked else self.clock.now()
        meta["deletionTimestamp"] = self.clock.timestamp(start + (grace_seconds or 0))
        if grace_seconds is not None:
            meta["deletionGracePeriodSeconds"] = grace_seconds
        if BY_KIND[kind].generation and not marked:
            meta["generation"] = meta.get("generation", 1) + 1
        meta["resourceVersion"] = self.next_resource_version()
        self._reindex(new, old)
        self._notify("MODIFIED", new, old)
        return new

    def remove(self, kind: str, namespace: str, name: str) -> Obj:
        """Take an object out of the store for good."""
        old = self._require(kind, namespace, name)
        del self._objects[kind][namespace][name]
        self._drop_indexes(old)
        gone = copy.copy(old)
        gone["metadata"] = {**old["metadata"], "resourceVersion": self.next_resource_version()}
        self._notify("DELETED", gone, old)
        return gone

    def load(self, objects: list[Obj], resource_version: int) -> None:
        """Put back objects read from disk exactly as they were (uids, resourceVersions),
        telling nobody: :meth:`replay` tells the controllers once every part is installed.
        New writes continue after ``resource_version``."""
        for obj in objects:
            obj = compact(obj)
            obj["metadata"] = compact(obj["metadata"])
            if type(obj.get("spec")) is dict:
                obj["spec"] = compact(obj["spec"])
            self._put(obj, None)
        self._rv = max(self._rv, resource_version)

    def replay(self, skip: Listener | None = None) -> None:
        """Tell every subscriber but ``skip`` about every object as just ADDED (an informer's
        first list), nodes and namespaces first."""
        first = ("Node", "Namespace")
        listeners = [listener for listener in self._listeners if listener != skip]
        for kind in [*first, *(k for k in self.kinds() if k not in first)]:
            for obj in sorted(self.list(kind), key=lambda o: int(o["metadata"].get("resourceVersion") or 0)):
                for listener in listeners:
                    listener("ADDED", obj, None)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns the function that stops it."""
        self._listeners += (listener,)

        def stop() -> None:
            if listener in self._listeners:
                i = self._listeners.index(listener)
                self._listeners = self._listeners[:i] + self._listeners[i + 1:]

        return stop

    # -- internals ----------------------------------------------------------------------
    def _require(self, kind: str, namespace: str, name: str) -> Obj:
        obj = self._objects[kind][namespace].get(name)
        if obj is None:
            k = BY_KIND[kind]
            raise errors.not_found(k.plural, name, k.group)
        return obj

    @staticmethod
    def _compact(new: Obj, old: Obj) -> None:
        """Keep the metadata and a new spec of ``new`` (its top level is already) compactly; a
        status is compacted by its writer, which may look for the very object it wrote."""
        new["metadata"] = compact(new["metadata"])
        spec = new.get("spec")
        if type(spec) is dict and spec is not old.get("spec"):
            new["spec"] = compact(spec)

    def _finish_if_done(self, obj: Obj) -> None:
        """An object marked deleted whose finalizers are all gone leaves the store (a
        Namespace also waits for its ``spec.finalizers``, which the namespace controller drops)."""
        meta = obj["metadata"]
        if obj["kind"] == "Namespace" and (obj.get("spec") or {}).get("finalizers"):
            return
        if obj["kind"] == "Pod" and meta.get("deletionGracePeriodSeconds") != 0:
            return  # its kubelet has not finished with it yet (it deletes it then)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self.remove(*key_of(obj))

    def _share_with_sibling(self, obj: Obj) -> None:
        """Let a controller's new pod share spec, labels and owner references with the one it
        made before: 100,000 pods of one template keep one template, not 100,000."""
        owner = next((r.get("uid") for r in obj["metadata"].get("ownerReferences") or () if r.get("controller")), None)
        if not owner:
            return
        before = self._siblings.pop(owner, None)
        if before is not None:
            meta, old_meta = obj["metadata"], before["metadata"]
            for field in ("labels", "annotations", "ownerReferences"):
                if field in meta and field in old_meta:
                    meta[field] = share(meta[field], old_meta[field])
            if "spec" in obj and "spec" in before:
                obj["spec"] = share(obj["spec"], before["spec"])
        self._siblings[owner] = obj
        if len(self._siblings) > 256:  # owners long gone
            del self._siblings[next(iter(self._siblings))]

    def _reindex(self, new: Obj, old: Obj) -> None:
        """Replace ``old`` by ``new``; the indexes change only when what they index did (a
        status write, the bulk of all writes, leaves them alone)."""
        nmeta, ometa = new["metadata"], old["metadata"]
        if (nmeta.get("labels") == ometa.get("labels")
                and nmeta.get("ownerReferences") == ometa.get("ownerReferences")
                and (new.get("spec") or {}).get("nodeName") == (old.get("spec") or {}).get("nodeName")):
            kind, ns, name = key_of(new)
            self._objects[kind][ns][name] = new
            return
        self._drop_indexes(old)
        self._put(new, old)

    def _put(self, obj: Obj, old: Obj | None) -> None:
        key = key_of(obj)  # one tuple for the owner and node indexes
        kind, ns, name = key
        self._objects[kind][ns][name] = obj
        meta = obj["metadata"]
        for k, v in (meta.get("labels") or {}).items():
            self._labels[(kind, ns, k, v)].add(name)
        for ref in meta.get("ownerReferences") or ():
            self._owned[ref["uid"]].add(key)
        if kind == "Pod":
            node = obj.get("spec", {}).get("nodeName")
            if node:
                self._on_node[node].add(key)

    def _drop_indexes(self, obj: Obj) -> None:
        kind, ns, name = key_of(obj)
        meta = obj["metadata"]
        for k, v in (meta.get("labels") or {}).items():
            names = self._labels.get((kind, ns, k, v))
            if names is not None:
                names.discard(name)
                if not names:
                    del self._labels[(kind, ns, k, v)]
        for ref in meta.get("ownerReferences") or ():
            owned = self._owned.get(ref["uid"])
            if owned is not None:
                owned.discard((kind, ns, name))
                if not owned:
                    del self._owned[ref["uid"]]
        if kind == "Pod":
            node = obj.get("spec", {}).get("nodeName")
            if node and node in self._on_node:
                self._on_node[node].discard((kind, ns, name))

    def _notify(self, event: str, obj: Obj, old: Obj | None) -> None:
        for listener in self._listeners:
            listener(event, obj, old)

