"""The Kubernetes REST API over HTTP, served from any ``Client`` (the embedded cluster's).

So the real ``kubectl`` binary and the official ``kubernetes`` Python client can talk to a
kubelab cluster: discovery, the resource paths and their verbs, server-side Tables, watch
streams, ``Status`` errors with their HTTP codes, and the ``scale``/``status``/``log``/``exec``
subresources. It binds 127.0.0.1 only and speaks plain HTTP (kubectl accepts
``server: http://...`` in a kubeconfig).

Usage::

    with serve(cluster) as server:
        subprocess.run(["kubectl", "get", "pods"], env={"KUBECONFIG": server.kubeconfig, ...})
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from kubelab.api import errors, protobuf, wire
from kubelab.api.errors import StatusError
from kubelab.api.kinds import KINDS, Kind
from kubelab.api.version import GIT_VERSION, server_version

Obj = dict[str, Any]

WATCH_HISTORY = 4096  # events kept per kind so a watch can resume from a resourceVersion

# The verbs of the status and scale subresources (kube-apiserver's).
_GET_PATCH_UPDATE = ["get", "patch", "update"]

_TABLE_MEDIA = "as=Table"


# -- discovery ---------------------------------------------------------------------------
def _group_versions() -> dict[str, list[Kind]]:
    groups: dict[str, list[Kind]] = {}
    for kind in KINDS:
        groups.setdefault(kind.api_version, []).append(kind)
    return groups


def _resource_list(group_version: str) -> Obj:
    """An APIResourceList: the resources (and their subresources) of one group version."""
    resources: list[Obj] = []
    for k in _group_versions().get(group_version, []):
        entry: Obj = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                      "kind": k.kind, "verbs": list(k.verbs)}
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        resources.append(entry)
        if k.status:
            resources.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                              "kind": k.kind, "verbs": _GET_PATCH_UPDATE})
        if k.scale:
            resources.append({"name": f"{k.plural}/scale", "singularName": "", "namespaced": True,
                              "group": "autoscaling", "version": "v1", "kind": "Scale",
                              "verbs": _GET_PATCH_UPDATE})
        if k.kind == "Pod":
            resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                              "verbs": ["get"]})
            resources.append({"name": "pods/exec", "singularName": "", "namespaced": True,
                              "kind": "PodExecOptions", "verbs": ["create", "get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _group_list() -> Obj:
    groups = []
    for gv in _group_versions():
        if "/" not in gv:
            continue
        name, version = gv.split("/")
        ref = {"groupVersion": gv, "version": version}
        groups.append({"name": name, "versions": [ref], "preferredVersion": ref})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _openapi_root() -> Obj:
    """/openapi/v3: where each group version's document lives."""
    paths = {}
    for gv in _group_versions():
        prefix = f"apis/{gv}" if "/" in gv else f"api/{gv}"
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={GIT_VERSION}"}
    return {"paths": paths}


def _find_kind(group_version: str, plural: str) -> Kind | None:
    return next((k for k in _group_versions().get(group_version, []) if k.plural == plural), None)


# -- field selectors (the server filters watches by them; lists go through the client) -----
def field_requirements(text: str | None) -> list[tuple[str, bool, str]]:
    """``a=b,c!=d`` -> [(path, equal, value)], as fields.ParseSelector reads it."""
    reqs = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "!=" in part:
            path, _, value = part.partition("!=")
            reqs.append((path.strip(), False, value.strip()))
        else:
            path, _, value = part.partition("==" if "==" in part else "=")
            reqs.append((path.strip(), True, value.strip()))
    return reqs


def _field_value(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def fields_match(obj: Obj, reqs: list[tuple[str, bool, str]]) -> bool:
    return all((_field_value(obj, path) == value) == equal for path, equal, value in reqs)


# -- watch history ---------------------------------------------------------------------------
class WatchCache:
    """Every change the server has seen, by kind, so a watch starting at a resourceVersion
    misses nothing that happened after it (the list-then-watch pattern kubectl uses)."""

    def __init__(self, client: Any) -> None:
        self.cond = threading.Condition()
        self.events: dict[str, deque[tuple[int, str, Obj]]] = {}
        self.closed = False
        self._stops: list[Callable[[], None]] = []
        for k in KINDS:
            self.events[k.kind] = deque(maxlen=WATCH_HISTORY)
            self._stops.append(client.watch(k.kind, None, self._recorder(k.kind)))

    def _recorder(self, kind: str) -> Callable[[str, Obj], None]:
        def record(event: str, obj: Obj) -> None:
            rv = int(obj["metadata"].get("resourceVersion") or 0)
            with self.cond:
                self.events[kind].append((rv, event, obj))
                self.cond.notify_all()

        return record

    def since(self, kind: str, rv: int) -> tuple[list[tuple[int, str, Obj]], bool]:
        """Events after ``rv`` and whether history still reaches back that far."""
        with self.cond:
            history = self.events[kind]
            complete = not history or len(history) < WATCH_HISTORY or history[0][0] <= rv + 1
            return [e for e in history if e[0] > rv], complete

    def wait(self, kind: str, rv: int, timeout: float) -> None:
        with self.cond:
            history = self.events[kind]
            if not self.closed and (not history or history[-1][0] <= rv):
                self.cond.wait(timeout)

    def close(self) -> None:
        for stop in self._stops:
            stop()
        with self.cond:
            self.closed = True
            self.cond.notify_all()


# -- the server ------------------------------------------------------------------------------
class Server:
    """A running API server for ``client`` on 127.0.0.1; ``kubeconfig`` is a file pointing at it."""

    def __init__(self, client: Any, port: int = 0) -> None:
        self.client = client
        self.watches = WatchCache(client)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.api = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="kubelab-server-")
        self.kubeconfig = write_kubeconfig(os.path.join(self._dir.name, "kubeconfig"), self.url)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="kubelab-apiserver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.watches.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._dir.cleanup()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(target: Any, port: int = 0) -> Server:
    """Serve a ``Cluster`` (or any ``Client``) over HTTP on 127.0.0.1 (``port=0``: a free port)."""
    return Server(getattr(target, "client", target), port)


def write_kubeconfig(path: str, url: str, namespace: str = "default") -> str:
    """A kubeconfig with one context, ``kubelab``, pointing at ``url``. JSON is valid YAML."""
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "kubelab", "cluster": {"server": url}}],
        "users": [{"name": "kubelab", "user": {}}],
        "contexts": [{"name": "kubelab", "context": {"cluster": "kubelab", "user": "kubelab",
                                                     "namespace": namespace}}],
        "current-context": "kubelab",
    }
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


class _Route:
    """What a resource path names: the kind, namespace, name and subresource."""

    def __init__(self, kind: Kind, namespace: str | None, name: str | None, sub: str | None) -> None:
        self.kind, self.namespace, self.name, self.sub = kind, namespace, name, sub


def _route(parts: list[str]) -> _Route | Obj | None:
    """Resolve ``/api/v1/...`` and ``/apis/g/v/...``: a _Route, a discovery document, or None."""
    if parts[:1] == ["api"]:
        if len(parts) == 1:
            return None
        gv, rest = parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    if gv not in _group_versions():
        return None
    if not rest:
        return _resource_list(gv)
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and _find_kind(gv, rest[2]) is not None \
            and _find_kind(gv, rest[2]).namespaced:  # type: ignore[union-attr]
        namespace, rest = rest[1], rest[2:]
    kind = _find_kind(gv, rest[0])
    if kind is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind.namespaced and namespace is None and name is not None:
        return None
    return _Route(kind, namespace, name, sub)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubelab"

    # -- plumbing ------------------------------------------------------------------------
    @property
    def api(self) -> Server:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.body = self._read_body()
        try:
            self._handle(method, [p for p in url.path.split("/") if p])
        except StatusError as e:
            self._send_json(e.to_status(), e.code)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a server answers 500, it does not die
            self._send_json(StatusError(500, "InternalError", f"Internal error occurred: {e}").to_status(), 500)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        """The body as JSON-shaped data, decoded by its Content-Type as kube-apiserver's
        serializers do: JSON (and the +json patch types), YAML, or Kubernetes protobuf (what
        kubectl 1.32's typed clients send for create namespace/secret/deployment...)."""
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if not self.body:
            return None
        if content_type == protobuf.MEDIA_TYPE:
            return protobuf.decode(self.body)
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            import yaml

            try:  # go-yaml's limits: no alias bomb, no recursion
                return next(wire.load_all(wire.decode_bytes(self.body)), None)
            except yaml.YAMLError as e:
                raise errors.bad_request(f"error decoding YAML: {e}") from None
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise StatusError(415, "UnsupportedMediaType",
                              "the body of the request was in an unknown format - accepted media types "
                              "include: application/json, application/yaml, application/vnd.kubernetes.protobuf")
        try:
            return wire.json_loads(self.body)  # Go's depth limit; no RecursionError
        except ValueError as e:
            raise errors.bad_request(f"error decoding request body: {e}") from None

    def _send(self, data: bytes, code: int = 200, content_type: str = "application/json",
              headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, obj: Any, code: int = 200) -> None:
        warnings: list[str] = []
        if isinstance(obj, dict) and "__warnings__" in obj:
            obj = dict(obj)
            warnings = obj.pop("__warnings__")
        headers = [("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"') for w in warnings]
        # compact, as the API server writes JSON: kubectl compares raw bytes it is sent (rollout undo
        # compares a ControllerRevision's data with the patch it makes from the live object)
        self._send(json.dumps(obj, separators=(",", ":")).encode(), code, headers=headers)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- routing -------------------------------------------------------------------------
    def _handle(self, method: str, parts: list[str]) -> None:
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return self._send(b"ok", content_type="text/plain")
        if parts == ["version"]:
            return self._send_json(server_version())
        if parts == ["api"]:
            return self._send_json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.api.port}"}]})
        if parts == ["apis"]:
            return self._send_json(_group_list())
        if parts == ["openapi", "v2"]:
            # an empty protobuf Document: no schemas, so kubectl's client-side validation
            # skips unknown kinds and lets the REST mapping report them, as on a real cluster
            return self._send(b"", content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        if parts == ["openapi", "v3"]:
            return self._send_json(_openapi_root())
        if parts[:2] == ["openapi", "v3"]:
            gv = "/".join(parts[3:]) if parts[2:3] == ["apis"] else "/".join(parts[3:])
            if parts[2:3] in (["api"], ["apis"]) and gv in _group_versions():
                from kubelab.api.openapi import document

                return self._send_json(document(gv))
        extra = _cluster_extras(self.api.client, parts) if method == "GET" else None
        if extra is not None:
            return self._send_json(extra)
        route = _route(parts)
        if route is None:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        if isinstance(route, dict):
            return self._send_json(route)
        handler = getattr(self, f"_{method.lower()}")
        handler(route)

    # -- verbs ---------------------------------------------------------------------------
    def _get(self, r: _Route) -> None:
        client = self.api.client
        if r.name is None:
            if self.query.get("watch") in ("true", "1"):
                return self._watch(r)
            listed = client.list(r.kind.kind, r.namespace, self.query.get("labelSelector") or None,
                                 self.query.get("fieldSelector") or None)
            if self._wants_table():
                table = self._table(r.kind, listed["items"])
                table["metadata"]["resourceVersion"] = listed["metadata"].get("resourceVersion", "")
                return self._send_json(table)
            return self._send_json(listed)
        if r.sub == "log":
            return self._log(r)
        if r.sub == "exec":
            raise StatusError(400, "BadRequest", "Upgrade request required")
        obj = client.get(r.kind.kind, r.name, r.namespace)
        if r.sub == "scale":
            return self._send_json(_scale_of(obj))
        if r.sub not in (None, "status"):
            raise _no_such_sub()
        if self._wants_table():
            return self._send_json(self._table(r.kind, [obj]))
        self._send_json(obj)

    def _post(self, r: _Route) -> None:
        if r.name is not None:
            if r.sub == "exec":
                raise StatusError(400, "BadRequest", "Upgrade request required")
            raise StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        obj = self._json_body()
        _check_body_kind(obj, r.kind)
        created = self.api.client.create(obj, r.namespace, dry_run=self._dry_run(),
                                         field_validation=self._field_validation(),
                                         field_manager=self._field_manager())
        self._send_json(created, 201)

    def _put(self, r: _Route) -> None:
        if r.name is None:
            raise StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        obj = self._json_body()
        client = self.api.client
        if r.sub == "scale":
            replicas = ((obj or {}).get("spec") or {}).get("replicas", 0)
            return self._send_json(_scale_of(client.scale(r.kind.kind, r.name, r.namespace, replicas)))
        if r.sub not in (None, "status"):
            raise _no_such_sub()
        _check_body_kind(obj, r.kind)
        name = (obj.get("metadata") or {}).get("name")
        if name != r.name:
            raise errors.bad_request(
                f"the name of the object ({name}) does not match the name on the URL ({r.name})")
        updated = client.update(obj, r.namespace, dry_run=self._dry_run(), subresource=r.sub,
                                field_validation=self._field_validation(), field_manager=self._field_manager())
        self._send_json(updated)

    def _patch(self, r: _Route) -> None:
        if r.name is None:
            raise StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch_type = {"application/merge-patch+json": "merge", "application/json-patch+json": "json",
                      "application/strategic-merge-patch+json": "strategic",
                      "application/apply-patch+yaml": "apply"}.get(content_type)
        if patch_type is None:
            raise StatusError(415, "UnsupportedMediaType",
                              f"the body of the request was in an unknown format - accepted media types include: "
                              f"application/json-patch+json, application/merge-patch+json, "
                              f"application/strategic-merge-patch+json, application/apply-patch+yaml")
        body = self._json_body()
        client = self.api.client
        if patch_type == "apply" and r.sub is None:
            manager = self.query.get("fieldManager") or ""
            if not manager:
                raise errors.invalid("PatchOptions", "", [errors.Cause(
                    "fieldManager", "Required value: is required for apply patch", "FieldValueRequired")],
                    "meta.k8s.io")
            force = self.query.get("force") in ("true", "1", "True")
            return self._send_json(client.apply(r.kind.kind, r.name, r.namespace, body, field_manager=manager,
                                                force=force, dry_run=self._dry_run(),
                                                field_validation=self._field_validation()))
        from kubelab.api.patch import apply_patch

        if r.sub == "scale":
            scale = apply_patch(_scale_of(client.get(r.kind.kind, r.name, r.namespace)), body, patch_type)
            replicas = (scale.get("spec") or {}).get("replicas", 0)
            return self._send_json(_scale_of(client.scale(r.kind.kind, r.name, r.namespace, replicas)))
        if r.sub == "status":
            current = client.get(r.kind.kind, r.name, r.namespace)
            patched = apply_patch(current, body, patch_type)
            return self._send_json(client.update(patched, r.namespace, dry_run=self._dry_run(), subresource="status",
                                                 field_manager=self._field_manager()))
        if r.sub is not None:
            raise _no_such_sub()
        patched = client.patch(r.kind.kind, r.name, r.namespace, body, patch_type, dry_run=self._dry_run(),
                               field_validation=self._field_validation(), field_manager=self._field_manager())
        self._send_json(patched)

    def _delete(self, r: _Route) -> None:
        if r.name is None or r.sub is not None:
            raise StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        options = self._json_body() or {}
        grace = options.get("gracePeriodSeconds", self.query.get("gracePeriodSeconds"))
        propagation = options.get("propagationPolicy") or self.query.get("propagationPolicy") or "Background"
        if options.get("orphanDependents") is True:
            propagation = "Orphan"
        dry_run = self._dry_run() or "All" in (options.get("dryRun") or [])
        deleted = self.api.client.delete(r.kind.kind, r.name, r.namespace,
                                         grace_period=None if grace is None else int(grace),
                                         propagation=propagation, dry_run=dry_run)
        self._send_json(deleted)

    # -- query options ---------------------------------------------------------------------
    def _dry_run(self) -> bool:
        value = self.query.get("dryRun")
        if value not in (None, "", "All"):
            raise errors.invalid("DryRun", "", [errors.Cause("dryRun", f'Unsupported value: "{value}": '
                                                              f'supported values: "All"', "FieldValueNotSupported")])
        return value == "All"

    def _field_manager(self) -> str:
        """Who the write's managedFields name: ``fieldManager``, else the User-Agent's program
        (managerOrUserAgent in the apiserver's handlers)."""
        return self.query.get("fieldManager") or (self.headers.get("User-Agent") or "").split("/")[0][:128]

    def _field_validation(self) -> str:
        value = self.query.get("fieldValidation") or "Strict"
        if value not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {value}")
        return value

    def _wants_table(self) -> bool:
        return _TABLE_MEDIA in (self.headers.get("Accept") or "")

    def _table(self, kind: Kind, objects: list[Obj]) -> Obj:
        """The Table for ``objects`` with every column (kubectl hides priority 1 unless -o wide)
        and rows carrying what ``includeObject`` asks for."""
        include = self.query.get("includeObject") or "Metadata"
        table = self.api.client.table(kind.kind, objects, wide=True)
        for row, obj in zip(table["rows"], objects):
            if include == "None":
                row.pop("object", None)
            elif include == "Object":
                row["object"] = obj
        return table

    # -- watch -----------------------------------------------------------------------------
    def _watch(self, r: _Route) -> None:
        """Newline-delimited watch events until ``timeoutSeconds`` or the server closes.
        ``resourceVersion`` unset or 0 starts with ADDED for every current object."""
        from kubelab.api.selectors import parse

        client, cache = self.api.client, self.api.watches
        labels = parse(self.query["labelSelector"]) if self.query.get("labelSelector") else None
        fields = field_requirements(self.query.get("fieldSelector"))
        table = self._wants_table()
        timeout = float(self.query.get("timeoutSeconds") or 1800)
        import time

        deadline = time.monotonic() + timeout

        def wanted(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if r.namespace is not None and meta.get("namespace") != r.namespace:
                return False
            if labels is not None and not labels.matches(meta.get("labels")):
                return False
            return fields_match(obj, fields)

        def encode(event: str, obj: Obj) -> bytes:
            shown = self._table(r.kind, [obj]) if table else obj
            return json.dumps({"type": event, "object": shown}, separators=(",", ":")).encode() + b"\n"

        rv_text = self.query.get("resourceVersion") or ""
        self._start_stream("application/json")
        if rv_text in ("", "0"):
            listed = client.list(r.kind.kind, r.namespace, self.query.get("labelSelector") or None,
                                 self.query.get("fieldSelector") or None)
            for obj in listed["items"]:
                self._chunk(encode("ADDED", obj))
            rv = int(listed["metadata"].get("resourceVersion") or 0)
        else:
            rv = int(rv_text)
            if not cache.since(r.kind.kind, rv)[1]:
                gone = StatusError(410, "Expired", f"too old resource version: {rv}").to_status()
                self._chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                return self._end_stream()
        while not cache.closed:
            events, _ = cache.since(r.kind.kind, rv)
            for event_rv, event, obj in events:
                rv = event_rv
                if wanted(obj):
                    self._chunk(encode(event, obj))
            left = deadline - time.monotonic()
            if left <= 0:
                break
            cache.wait(r.kind.kind, rv, min(left, 1.0))
        self._end_stream()

    # -- pod logs ---------------------------------------------------------------------------
    def _log(self, r: _Route) -> None:
        """The log subresource; ``follow=true`` streams new lines until the container stops."""
        client = self.api.client
        container = self.query.get("container") or None
        previous = self.query.get("previous") == "true"
        tail = int(self.query["tailLines"]) if self.query.get("tailLines") else None
        text = client.logs(r.name, r.namespace, container, previous, tail)
        if self.query.get("follow") != "true" or previous:
            return self._send(text.encode(), content_type="text/plain")
        self._start_stream("text/plain")
        self._chunk(text.encode())
        for text in _follow(client, r, container, text):
            self._chunk(text.encode())
        self._end_stream()


def _follow(client: Any, r: _Route, container: str | None, seen: str) -> Iterator[str]:
    """New log text as it appears, while the container runs (polled in real time)."""
    import time

    while True:
        time.sleep(0.2)
        try:
            pod = client.get("Pod", r.name, r.namespace)
            text = client.logs(r.name, r.namespace, container, False, None)
        except StatusError:
            return
        if text.startswith(seen) and len(text) > len(seen):
            yield text[len(seen):]
        seen = text
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        running = [s for s in statuses if container in (None, s.get("name")) and "running" in (s.get("state") or {})]
        if not running:
            return


_EMPTY_LISTS = {"resourcequotas": "ResourceQuotaList", "limitranges": "LimitRangeList"}


def _cluster_extras(client: Any, parts: list[str]) -> Obj | None:
    """What every real cluster answers and kubelab has no kind for, read by kubectl describe:
    (empty) ResourceQuota and LimitRange lists for a namespace, and each node's heartbeat
    Lease in kube-node-lease (kubelab's nodes renew theirs with the Ready heartbeat)."""
    if parts[:2] == ["api", "v1"] and parts[-1:] and parts[-1] in _EMPTY_LISTS and len(parts) in (3, 5):
        return {"kind": _EMPTY_LISTS[parts[-1]], "apiVersion": "v1", "metadata": {"resourceVersion": ""}, "items": []}
    if parts[:6] == ["apis", "coordination.k8s.io", "v1", "namespaces", "kube-node-lease", "leases"] \
            and len(parts) == 7:
        try:
            node = client.get("Node", parts[6])
        except StatusError:
            raise StatusError(404, "NotFound", f'leases.coordination.k8s.io "{parts[6]}" not found',
                              "leases", parts[6], "coordination.k8s.io") from None
        conditions = (node.get("status") or {}).get("conditions") or []
        beat = next((c.get("lastHeartbeatTime") for c in conditions if c.get("type") == "Ready"), None)
        spec: Obj = {"holderIdentity": parts[6], "leaseDurationSeconds": 40}
        if beat:
            spec["renewTime"] = beat.replace("Z", ".000000Z")
        return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                "metadata": {"name": parts[6], "namespace": "kube-node-lease"}, "spec": spec}
    return None


def _scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet."""
    from kubelab.api.tables import selector_string

    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector_string(spec.get("selector"))}}


def _check_body_kind(obj: Any, kind: Kind) -> None:
    if isinstance(obj, dict) and obj.get("kind") and obj.get("kind") != kind.kind:
        raise errors.bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the "
                                 f"expected API version ({kind.api_version})"
                                 if obj.get("apiVersion") != kind.api_version else
                                 f"the kind in the data ({obj.get('kind')}) does not match the expected kind")


def _no_such_sub() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource")
