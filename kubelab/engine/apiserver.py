"""The API server's handlers: the embedded side of the client seam.

Every request goes the way it goes in kube-apiserver: resolve the kind, admit the object
(decode strictly, default, validate), run the engine's own admission hooks (namespace
lifecycle, ClusterIP/NodePort allocation), then write the store. A request that fails
anywhere changes nothing.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from kubelab.api import admission, autoscaling_v1, errors, managedfields, patch as patching, schema, strategy
from kubelab.api.kinds import BY_KIND, METRICS, Kind
from kubelab.api.selectors import Selector, parse
from kubelab.engine.core import Engine
from kubelab.engine.results import ExecResult
from kubelab.engine.session import Session
from kubelab.engine.store import Obj, clone

# A hook sees the admitted object (and the old one on update) before it is stored; it may
# fill in fields (allocated IPs and ports) or raise a StatusError. ``dry_run`` hooks must not
# keep what they allocate.
Hook = Callable[[Obj, "Obj | None", bool], None]
# A mutator is a mutating admission plugin that reads cluster state (the Priority plugin
# resolving a PriorityClass): it sees the defaulted object (and the old one on update) before
# validation, as kube-apiserver runs mutating admission before it validates.
Mutator = Callable[[Obj, "Obj | None"], None]
ReleaseHook = Callable[[Obj], None]

# What a port-forward's HTTP request gets back: (status, reason, headers, body), or None when
# what listens on the port does not speak HTTP.
ForwardReply = tuple[int, str, dict[str, str], str] | None


class NodeAgent(Protocol):
    """What the API server asks of the node agent (kubelab's kubelet) for a pod's streaming
    subresources, as kube-apiserver proxies log, exec, attach and portforward to the kubelet."""

    def logs(self, pod: Obj, container: str | None, previous: bool, tail: int | None) -> str: ...
    def exec(self, pod: Obj, container: str | None, command: list[str], stdin: str | None,
             tty: bool = False) -> ExecResult: ...
    def open_exec(self, pod: Obj, container: str | None, command: list[str], stdin: bool,
                  tty: bool) -> Session: ...
    def open_attach(self, pod: Obj, container: str | None, stdin: bool, tty: bool) -> Session: ...
    def port_forward(self, pod: str, namespace: str, port: int, method: str, path: str,
                     headers: dict[str, str], body: str) -> ForwardReply: ...


_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand alphanums
# etcd's --max-request-bytes default (1.5 MiB): a larger object never reaches the store. The
# size is that of the object's compact JSON (etcd sees protobuf, a little smaller).
MAX_OBJECT_BYTES = 1536 * 1024


class MetricsAPI(Protocol):
    """metrics.k8s.io's read-only storage (metrics-server): get and list, nothing else."""

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj: ...
    def list(self, kind: str, namespace: str | None = None, label_selector: str | Selector | None = None,
             field_selector: str | None = None) -> Obj: ...


class APIServer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.clock = engine.clock
        self.hooks: dict[str, list[Hook]] = {}
        self.mutators: dict[str, list[Mutator]] = {}
        self.release_hooks: dict[str, list[ReleaseHook]] = {}
        self.delete_handlers: dict[str, Callable[[Obj, int | None], Obj]] = {}
        # Serves the pod subresources log, exec, attach and portforward (set by the kubelet part).
        self.node_agent: NodeAgent | None = None
        # Serves metrics.k8s.io, the aggregated API beside the registry (set by the metrics part).
        self.metrics: MetricsAPI | None = None

    # -- extension points ---------------------------------------------------------------
    def add_hook(self, kind: str, hook: Hook) -> None:
        self.hooks.setdefault(kind, []).append(hook)

    def add_mutator(self, kind: str, mutator: Mutator) -> None:
        self.mutators.setdefault(kind, []).append(mutator)

    def _mutate(self, kind: Kind, old: Obj | None) -> Callable[[Obj], None] | None:
        mutators = self.mutators.get(kind.kind)
        if not mutators:
            return None

        def run(obj: Obj) -> None:
            for mutator in mutators:
                mutator(obj, old)
        return run

    def add_release_hook(self, kind: str, hook: ReleaseHook) -> None:
        self.release_hooks.setdefault(kind, []).append(hook)

    def random_suffix(self, n: int = 5) -> str:
        return "".join(self.engine.rng.choice(_NAME_CHARS) for _ in range(n))

    # -- verbs --------------------------------------------------------------------------
    def create(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               field_validation: str = "Strict", copy_result: bool = True,
               field_manager: str | None = None) -> Obj:
        """``copy_result=False`` returns the stored object itself, for a controller that only
        reads it (never change it). ``field_manager`` records the request's managedFields
        entry (an Update), as kube-apiserver's field manager does before the registry runs."""
        if autoscaling_v1.is_v1(obj):  # stored as v2, answered in the version asked (kubectl autoscale)
            return _in_v1(self.create(autoscaling_v1.to_v2(obj), namespace, dry_run=dry_run,
                                      field_validation=field_validation, field_manager=field_manager))
        with self.engine.lock:
            kind = self._kind_of(obj)
            schema.check_metadata(obj, kind)
            # decoding builds a new object; until then only the top level and metadata change
            obj = {**obj}
            if obj.get("metadata") is None:
                obj["metadata"] = {}
            if not isinstance(obj["metadata"], dict):
                raise errors.bad_request("metadata must be an object")
            obj["metadata"] = dict(obj["metadata"])
            meta = obj["metadata"]
            self._place(obj, kind, namespace)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + self.random_suffix()
            meta.pop("uid", None)  # the server assigns identity; a Job's selector needs it early
            if kind.kind in strategy.UID_BEFORE_ADMISSION:
                meta["uid"] = self.store.new_uid()
            now = self.clock.timestamp()
            obj, warnings = admission.admit_create(
                obj, kind, field_validation,
                (lambda o: managedfields.record_update(kind, None, o, field_manager, now)) if field_manager else None,
                self._mutate(kind, None))
            self._check_namespace(obj, kind, "create")
            name = obj["metadata"]["name"]
            if self.store.get(kind.kind, obj["metadata"].get("namespace", ""), name) is not None:
                raise errors.already_exists(kind.plural, name, kind.group)
            _check_size(obj)
            for hook in self.hooks.get(kind.kind, ()):
                hook(obj, None, dry_run)
            if dry_run:
                return _with_warnings(obj, warnings)
            created = self.store.create(obj)
            return _with_warnings(clone(created) if copy_result else created, warnings)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        with self.engine.lock:
            if kind in METRICS:
                return self._metrics().get(kind, name, namespace)
            k = BY_KIND[kind]
            obj = self.store.get(kind, self._ns(k, namespace), name)
            if obj is None:
                raise errors.not_found(k.plural, name, k.group)
            return clone(obj)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | Selector | None = None,
             field_selector: str | None = None) -> Obj:
        """A ``<Kind>List``. ``namespace=None`` on a namespaced kind lists every namespace."""
        with self.engine.lock:
            if kind in METRICS:
                return self._metrics().list(kind, namespace, label_selector, field_selector)
            k = BY_KIND[kind]
            selector = parse(label_selector) if isinstance(label_selector, str) else label_selector
            ns = None if not k.namespaced else namespace
            if selector is not None and selector.equal and ns is not None:
                candidates = self.store.with_labels(kind, ns, selector.equal)
            else:
                candidates = self.store.list(kind, "" if not k.namespaced else ns)
            fields = _parse_field_selector(field_selector)
            items = [clone(o) for o in candidates
                     if (selector is None or selector.matches(o["metadata"].get("labels")))
                     and all((_field(o, path) == want) == equal for path, want, equal in fields)]
            items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            return {"apiVersion": k.api_version, "kind": f"{k.kind}List",
                    "metadata": {"resourceVersion": self.store.resource_version}, "items": items}

    def update(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               subresource: str | None = None, field_validation: str = "Strict",
               field_manager: str | None = None) -> Obj:
        """Replace an object. ``field_manager`` updates managedFields (the manager gains what
        it changed); without one they stay as the request carries them."""
        with self.engine.lock:
            kind = self._kind_of(obj)
            schema.check_metadata(obj, kind)
            obj = clone(obj)
            if obj.get("metadata") is None:
                obj["metadata"] = {}
            self._place(obj, kind, namespace)
            meta = obj["metadata"]
            old = self.store.get(kind.kind, meta.get("namespace", ""), meta.get("name", ""))
            if old is None:
                raise errors.not_found(kind.plural, meta.get("name", ""), kind.group)
            if "managedFields" not in meta and old["metadata"].get("managedFields"):
                meta["managedFields"] = old["metadata"]["managedFields"]  # unset: the live ones stay
            if subresource == "status":
                if field_manager:
                    managedfields.record_update(kind, old, obj, field_manager, self.clock.timestamp(), "status")
                return clone(self.store.update(obj, status=True, preview=dry_run))
            if subresource == "ephemeralcontainers" and kind.kind == "Pod":
                return self._ephemeral_containers(obj, old, dry_run, field_manager)
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(kind.plural, meta["name"], kind.group)
            now = self.clock.timestamp()
            obj, warnings = admission.admit_update(
                obj, old, kind, field_validation,
                (lambda o: managedfields.record_update(kind, old, o, field_manager, now)) if field_manager else None,
                self._mutate(kind, old))
            _check_size(obj)
            for hook in self.hooks.get(kind.kind, ()):
                hook(obj, old, dry_run)
            return _with_warnings(clone(self.store.update(obj, preview=dry_run)), warnings)

    def patch(self, kind: str, name: str, namespace: str | None, body: Any, patch_type: str = "strategic",
              *, dry_run: bool = False, field_validation: str = "Strict", field_manager: str | None = None) -> Obj:
        """Apply a ``merge`` (RFC 7386), ``json`` (RFC 6902) or ``strategic`` merge patch."""
        _registered(kind)
        with self.engine.lock:
            current = self.get(kind, name, namespace)
            patched = patching.apply_patch(current, body, patch_type)
            if not isinstance(patched.get("metadata"), dict):
                patched["metadata"] = {}
            patched["metadata"]["name"] = name  # a patch cannot rename or move an object
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.update(patched, namespace, dry_run=dry_run, field_validation=field_validation,
                               field_manager=field_manager)

    def apply(self, kind: str, name: str, namespace: str | None, config: Any, *, field_manager: str,
              force: bool = False, dry_run: bool = False, field_validation: str = "Strict") -> Obj:
        """Server-side apply (PATCH application/apply-patch+yaml): merge ``config`` into the
        live object (or create it) owning exactly its fields; a field another manager owns
        and this apply would change is a 409 Conflict unless ``force``."""
        with self.engine.lock:
            k = _registered(kind)
            if not isinstance(config, dict):
                raise errors.bad_request("error decoding YAML: the apply configuration is not an object")
            if config.get("kind") != k.kind or config.get("apiVersion") != k.api_version:
                raise errors.bad_request(f"the API version in the data ({config.get('apiVersion')}) does not "
                                         f"match the expected API version ({k.api_version})"
                                         if config.get("apiVersion") != k.api_version else
                                         f"the kind in the data ({config.get('kind')}) does not match the expected kind")
            meta = config.get("metadata")
            if not isinstance(meta, dict) or meta.get("name") != name:
                raise errors.bad_request(f"the name of the object ({(meta or {}).get('name')}) does not match "
                                         f"the name on the URL ({name})")
            live = self.store.get(kind, self._ns(k, namespace), name)
            now = self.clock.timestamp()
            merged = managedfields.apply(k, clone(live) if live is not None else None, config, field_manager,
                                         force, now)
            if live is None:
                return self.create(merged, namespace, dry_run=dry_run, field_validation=field_validation)
            merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            return self.update(merged, namespace, dry_run=dry_run, field_validation=field_validation)

    def delete(self, kind: str, name: str, namespace: str | None = None, *, grace_period: int | None = None,
               propagation: str = "Background", dry_run: bool = False) -> Obj:
        """Delete an object. Pods go through graceful termination; objects with finalizers
        (and namespaces) are marked and leave when their finalizers are done. Dependents go
        with their owner (background propagation) or are released (orphan)."""
        with self.engine.lock:
            k = _registered(kind)
            ns = self._ns(k, namespace)
            obj = self.store.get(kind, ns, name)
            if obj is None:
                raise errors.not_found(k.plural, name, k.group)
            if dry_run:
                return clone(obj)
            if propagation == "Orphan":
                self._orphan_dependents(obj)
            elif propagation == "Foreground" and "foregroundDeletion" not in (obj["metadata"].get("finalizers") or ()):
                # the garbage collector deletes the dependents, then drops this finalizer
                marked = clone(obj)
                marked["metadata"]["finalizers"] = [*(obj["metadata"].get("finalizers") or ()), "foregroundDeletion"]
                obj = self.store.update(marked)
            handler = self.delete_handlers.get(kind)
            if handler is not None:
                result = handler(obj, grace_period)
            elif obj["metadata"].get("finalizers"):
                result = self.store.mark_deleted(kind, ns, name, 0)  # markAsDeleting
            else:
                result = self.store.remove(kind, ns, name)
            if self.store.get(kind, ns, name) is None:
                for release in self.release_hooks.get(kind, ()):
                    release(obj)
            return clone(result)

    def watch(self, kind: str, namespace: str | None, callback: Callable[[str, Obj], None],
              label_selector: str | None = None) -> Callable[[], None]:
        """Call ``callback(event_type, object)`` for every change to matching objects."""
        k = _registered(kind)
        selector = parse(label_selector) if label_selector else None

        def listener(event: str, obj: Obj, old: Obj | None) -> None:
            if obj["kind"] != kind:
                return
            if k.namespaced and namespace is not None and obj["metadata"].get("namespace") != namespace:
                return
            if selector is not None and not selector.matches(obj["metadata"].get("labels")):
                return
            callback(event, clone(obj))

        return self.store.subscribe(listener)

    def scale(self, kind: str, name: str, namespace: str | None, replicas: int,
              resource_version: str | None = None) -> Obj:
        """The ``scale`` subresource: set ``spec.replicas`` (a stale version is a Conflict)."""
        with self.engine.lock:
            obj = self.get(kind, name, namespace)
            if resource_version and resource_version != obj["metadata"]["resourceVersion"]:
                k = _registered(kind)
                raise errors.conflict(k.plural, name, k.group)
            obj.setdefault("spec", {})["replicas"] = replicas
            return self.update(obj, namespace)

    def evict(self, name: str, namespace: str | None, eviction: Any, dry_run: bool = False) -> Obj:
        """The ``eviction`` subresource of a pod: a delete its PodDisruptionBudget allows
        (kubelab.engine.eviction); the answer is a Status."""
        from kubelab.engine import eviction as evictions

        with self.engine.lock:
            return evictions.evict(self, name, namespace or "default", eviction, dry_run)

    def logs(self, name: str, namespace: str | None = None, container: str | None = None,
             previous: bool = False, tail: int | None = None) -> str:
        """The ``log`` subresource of a pod, from the kubelet."""
        with self.engine.lock:
            pod = self.get("Pod", name, namespace)
            return self._node_agent().logs(pod, container, previous, tail)

    def exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
             stdin: str | None = None, tty: bool = False) -> ExecResult:
        """The ``exec`` subresource: run a command in a running container (``tty``: on a
        terminal, stdout and stderr are one stream)."""
        with self.engine.lock:
            pod = self.get("Pod", name, namespace)
            return self._node_agent().exec(pod, container, command, stdin, tty)

    def open_exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
                  stdin: bool = False, tty: bool = False) -> Session:
        """The ``exec`` subresource as a stream: a new process in a running container."""
        with self.engine.lock:
            pod = self.get("Pod", name, namespace)
            return self._node_agent().open_exec(pod, container, command, stdin, tty)

    def open_attach(self, name: str, namespace: str | None, container: str | None, stdin: bool = False,
                    tty: bool = False) -> Session:
        """The ``attach`` subresource: a stream to a running container's main process."""
        with self.engine.lock:
            pod = self.get("Pod", name, namespace)
            return self._node_agent().open_attach(pod, container, stdin, tty)

    def port_forward(self, name: str, namespace: str, port: int, method: str, path: str,
                     headers: dict[str, str], body: str = "") -> ForwardReply:
        """The ``portforward`` subresource, one HTTP request to ``localhost:port`` in the pod."""
        with self.engine.lock:
            return self._node_agent().port_forward(name, namespace, port, method, path, headers, body)

    def _metrics(self) -> MetricsAPI:
        if self.metrics is None:  # what the aggregator answers while its APIService is unavailable
            raise errors.StatusError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        return self.metrics

    def _node_agent(self) -> NodeAgent:
        assert self.node_agent is not None, "no kubelet installed"
        return self.node_agent

    def _ephemeral_containers(self, obj: Obj, old: Obj, dry_run: bool, field_manager: str | None) -> Obj:
        """The ``ephemeralcontainers`` subresource (``kubectl debug``): only
        spec.ephemeralContainers changes, and only by adding containers, as
        ValidatePodEphemeralContainersUpdate allows."""
        from kubelab.api.defaults import pod_spec

        name = old["metadata"]["name"]
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict("pods", name)
        wanted = (obj.get("spec") or {}).get("ephemeralContainers") or []
        before = {c["name"]: c for c in old["spec"].get("ephemeralContainers") or ()}
        path = "spec.ephemeralContainers"
        causes: list[errors.Cause] = []
        taken = {c["name"] for key in ("containers", "initContainers") for c in old["spec"].get(key) or ()}
        seen: set[str] = set()
        if not isinstance(wanted, list) or not all(isinstance(c, dict) for c in wanted):
            raise errors.bad_request("spec.ephemeralContainers must be a list of containers")
        spec = clone(old["spec"])
        spec["ephemeralContainers"] = clone(wanted)
        pod_spec(spec)
        for i, c in enumerate(spec["ephemeralContainers"]):
            cname = c.get("name") or ""
            if not cname:
                causes.append(errors.Cause(f"{path}[{i}].name", "Required value", "FieldValueRequired"))
            elif cname in taken or cname in seen:
                causes.append(errors.Cause(f"{path}[{i}].name", f'Duplicate value: "{cname}"', "FieldValueDuplicate"))
            if not c.get("image"):
                causes.append(errors.Cause(f"{path}[{i}].image", "Required value", "FieldValueRequired"))
            for forbidden in ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"):
                if c.get(forbidden):
                    causes.append(errors.Cause(f"{path}[{i}].{forbidden}",
                                               "Forbidden: cannot be set for an Ephemeral Container",
                                               "FieldValueForbidden"))
            seen.add(cname)
            if cname in before and before[cname] != c:
                causes.append(errors.Cause(path, "Forbidden: existing ephemeral containers "
                                                 f'"{cname}" may not be changed', "FieldValueForbidden"))
        for cname in before:
            if cname not in seen:
                causes.append(errors.Cause(path, f'Forbidden: existing ephemeral containers "{cname}" may not be '
                                                 "removed", "FieldValueForbidden"))
        if causes:
            raise errors.invalid("Pod", name, causes)
        new = clone(old)
        new["spec"] = spec
        if field_manager:
            managedfields.record_update(BY_KIND["Pod"], old, new, field_manager, self.clock.timestamp(),
                                        "ephemeralcontainers")
        return clone(self.store.update(new, preview=dry_run))

    # -- internals ----------------------------------------------------------------------
    def _kind_of(self, obj: Any) -> Kind:
        from kubelab.api.kinds import for_object

        if not isinstance(obj, dict):
            raise errors.bad_request("Object 'Kind' is missing")
        for field in ("apiVersion", "kind"):  # TypeMeta, as the serializer's Interpret reads it
            if obj.get(field) is not None and not isinstance(obj[field], str):
                raise errors.bad_request(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                                         f"{schema.json_kind(obj[field])} into Go struct field .{field} of type string")
        if not obj.get("kind"):
            raise errors.bad_request("Object 'Kind' is missing in '" + _short(obj) + "'")
        if not obj.get("apiVersion"):
            raise errors.bad_request("Object 'apiVersion' is missing in '" + _short(obj) + "'")
        return for_object(obj["apiVersion"], obj["kind"])

    def _ns(self, kind: Kind, namespace: str | None) -> str:
        return (namespace or "default") if kind.namespaced else ""

    def _place(self, obj: Obj, kind: Kind, namespace: str | None) -> None:
        """Put a namespaced object in the request's namespace (they must agree)."""
        meta = obj["metadata"]
        if not kind.namespaced:
            meta.pop("namespace", None)
            return
        if namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = meta.get("namespace") or namespace or "default"

    def _check_namespace(self, obj: Obj, kind: Kind, verb: str) -> None:
        if not kind.namespaced:
            return
        ns = obj["metadata"]["namespace"]
        space = self.store.get("Namespace", "", ns)
        if space is None:
            raise errors.not_found("namespaces", ns)
        if space["metadata"].get("deletionTimestamp"):
            raise errors.namespace_terminating(kind.plural, obj["metadata"]["name"], ns, kind.group)

    def _orphan_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dependent in self.store.owned_by(uid):
            freed = clone(dependent)
            refs = [r for r in freed["metadata"].get("ownerReferences", []) if r["uid"] != uid]
            if refs:
                freed["metadata"]["ownerReferences"] = refs
            else:
                freed["metadata"].pop("ownerReferences", None)
            self.store.update(freed)


def _check_size(obj: Obj) -> None:
    """etcd's request limit, as kube-apiserver passes it on: a Status with no reason."""
    import json

    if len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_OBJECT_BYTES:
        raise errors.StatusError(500, "", "etcdserver: request is too large")


def _registered(kind: str) -> Kind:
    """A registry kind; metrics.k8s.io's get and list only (metrics-server's storage) refuse the rest."""
    if kind in METRICS:
        raise errors.StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    return BY_KIND[kind]


def _in_v1(obj: Obj) -> Obj:
    """An autoscaling/v2 answer in autoscaling/v1, its warnings kept."""
    warnings = obj.get("__warnings__") or []
    return _with_warnings(autoscaling_v1.to_v1(obj), warnings)


def _with_warnings(obj: Obj, warnings: list[str]) -> Obj:
    if warnings:
        obj = dict(obj)
        obj["__warnings__"] = warnings  # carried to kubectl, never stored
    return obj


def _short(obj: Obj) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))[:200]


def _parse_field_selector(text: str | None) -> list[tuple[str, str, bool]]:
    """``a=b,c!=d`` -> [(path, value, equal)]; kubectl describe node asks ``status.phase!=Failed``."""
    if not text:
        return []
    terms = []
    for part in text.split(","):
        op = "!=" if "!=" in part else "==" if "==" in part else "="
        path, _, want = part.partition(op)
        terms.append((path.strip(), want.strip(), op != "!="))
    return terms


def _field(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)
