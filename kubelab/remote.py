"""``RemoteClient``: the client seam served by a real cluster (kind, minikube, GKE... or a
kubelab cluster behind :mod:`kubelab.server`) through the official ``kubernetes`` package.

It speaks the REST API directly (``ApiClient.call_api`` on the paths the kinds registry
names), so objects stay plain dicts exactly as the server sends them and failures become the
same ``StatusError`` the embedded cluster raises. Differences from the embedded client:
``watch`` calls back on a background thread; ``now``/``wait`` use real time; ``exec`` needs
the server's WebSocket exec (``kubernetes.stream``) and feeds no stdin (channel.k8s.io v4
cannot signal its end); ``open_exec``/``open_attach`` stream over the same WebSocket, asking
for ``v5.channel.k8s.io`` so that the end of stdin can be sent (v4 servers ignore it).
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any, Callable

from kubelab.api import autoscaling_v1
from kubelab.api.errors import Cause, StatusError
from kubelab.api.kinds import BY_KIND, METRICS, Kind, for_object
from kubelab.api.objects import Obj
from kubelab.client import ExecResult


_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
_PATCH_TYPES = {"merge": "application/merge-patch+json", "json": "application/json-patch+json",
                "strategic": "application/strategic-merge-patch+json"}


def status_error(code: int, body: Any) -> StatusError:
    """The StatusError for an error response (a ``Status`` body, or anything else)."""
    try:
        status = json.loads(body) if isinstance(body, (str, bytes)) else body
    except ValueError:
        status = None
    if not isinstance(status, dict) or status.get("kind") != "Status":
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        return StatusError(code, "InternalError" if code >= 500 else "BadRequest", text.strip() or f"HTTP {code}")
    details = status.get("details") or {}
    causes = [Cause(c.get("field", ""), c.get("message", ""), c.get("reason", ""))
              for c in details.get("causes") or []]
    return StatusError(status.get("code") or code, status.get("reason") or "", status.get("message") or "",
                       details.get("kind", ""), details.get("name", ""), details.get("group", ""), causes,
                       int(details.get("retryAfterSeconds") or 0))


STREAM_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def _handshake_error(e: Any) -> StatusError:
    """kubernetes.stream reports a refused upgrade as ApiException(status=0) whose reason holds
    the response: the Status inside it, when there is one."""
    if e.status:
        return status_error(e.status, e.body)
    text = str(e.reason or "")
    # websocket-client's "Handshake status 404 Not Found -+-+- {headers} -+-+- body"
    parts = text.split(" -+-+- ")
    if len(parts) == 3 and parts[0].startswith("Handshake status "):
        code = parts[0].split()[2]
        body = parts[2].strip()
        if body[:2] in ("b'", 'b"'):
            body = body[2:-1].encode().decode("unicode_escape")
        return status_error(int(code) if code.isdigit() else 500, body)
    return StatusError(500, "InternalError", text or "the stream could not be opened")


class RemoteSession:
    """A :class:`kubelab.engine.session.Session` over a WebSocket exec/attach of a real cluster
    (``kubernetes.stream``'s WSClient in binary mode). A thread pumps the socket: output goes
    to the subscribers (a backlog until the first), the error channel's Status is the exit."""

    def __init__(self, ws: Any, tty: bool) -> None:
        self.ws, self.tty = ws, tty
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int, bytes], None]] = []
        self._backlog: list[tuple[int, bytes]] = []
        self._done = threading.Event()
        self._code: int | None = None
        # the protocol the server chose (websocket-client records only the ones it was asked for)
        response = getattr(getattr(ws, "sock", None), "handshake_response", None)
        chosen = (getattr(response, "headers", None) or {}).get("sec-websocket-protocol")
        self._v5 = chosen == STREAM_PROTOCOLS[0]
        threading.Thread(target=self._pump, name="kubelab-remote-session", daemon=True).start()

    def _pump(self) -> None:
        """Read frames as they come (blocking: WSClient.update polls the raw socket, which
        misses frames already decrypted in a TLS buffer)."""
        from websocket import ABNF

        sock = self.ws.sock
        status = b""
        try:
            sock.settimeout(None)
            while True:
                opcode, frame = sock.recv_data_frame(True)
                if opcode == ABNF.OPCODE_CLOSE:
                    break
                if opcode not in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT) or len(frame.data) < 2:
                    continue
                channel, data = frame.data[0], bytes(frame.data[1:])
                if channel in (1, 2):
                    self._emit(channel, data)
                elif channel == 3:
                    status += data
        except Exception:  # noqa: BLE001 - a broken or closed socket ends the session like a close
            pass
        self._code = _exit_code(status)
        self._done.set()

    def _emit(self, channel: int, data: bytes) -> None:
        with self._lock:
            listeners = tuple(self._listeners)
            if not listeners:
                self._backlog.append((channel, data))
        for listener in listeners:
            listener(channel, data)

    def subscribe(self, listener: Callable[[int, bytes], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
            backlog, self._backlog = self._backlog, []
        for channel, data in backlog:
            listener(channel, data)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _send(self, channel: int, data: bytes) -> None:
        if not self._done.is_set():
            try:
                self.ws.sock.send_binary(bytes([channel]) + data)
            except Exception:  # noqa: BLE001 - the stream already ended: nothing to tell it
                pass

    def write(self, data: bytes) -> None:
        self._send(0, bytes(data))

    def close_stdin(self) -> None:
        """v5's close signal for stream 0; a v4 server cannot be told."""
        if self._v5:
            self._send(255, bytes([0]))

    def resize(self, cols: int, rows: int) -> None:
        self._send(4, json.dumps({"Width": cols, "Height": rows}).encode())

    def close(self) -> None:
        with self._lock:
            self._listeners.clear()
        self.ws.close()

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self._code if self._done.is_set() else None

    @property
    def exit_code(self) -> int | None:
        return self._code if self._done.is_set() else None


def _exit_code(status: bytes) -> int:
    """The exit code in an exec's error-channel Status (remotecommand's errorDecoderV4)."""
    try:
        decoded = json.loads(status) if status else {}
    except ValueError:
        return 1
    if not isinstance(decoded, dict) or decoded.get("status") == "Success":
        return 0 if isinstance(decoded, dict) and decoded else 1
    for cause in (decoded.get("details") or {}).get("causes") or ():
        if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
            return int(cause["message"])
    return 1


def _warnings(headers: Any) -> list[str]:
    """The texts of ``Warning: 299 - "text"`` response headers."""
    found = []
    for value in headers.getlist("Warning") if hasattr(headers, "getlist") else []:
        _, _, quoted = value.partition('"')
        found.append(quoted.rsplit('"', 1)[0].replace('\\"', '"').replace("\\\\", "\\"))
    return found


class RemoteClient:
    """The ``Client`` protocol over a cluster's REST API, from a kubeconfig (default
    ``~/.kube/config``) and a context (default: its current context)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import config

        self.api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        _, active = config.list_kube_config_contexts(kubeconfig)
        if context is not None:
            contexts, _ = config.list_kube_config_contexts(kubeconfig)
            active = next(c for c in contexts if c["name"] == context)
        #: the context's namespace: where kubectl commands go without -n
        self.namespace: str = (active.get("context") or {}).get("namespace") or "default"
        self._stream_client: Any = None

    # -- plumbing -------------------------------------------------------------------------
    def _path(self, kind: Kind, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        path = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        if kind.namespaced and namespace is not None:
            path += f"/namespaces/{namespace}"
        path += f"/{kind.plural}"
        if name is not None:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path

    def _ns(self, kind: Kind, namespace: str | None) -> str | None:
        return (namespace or self.namespace) if kind.namespaced else None

    def _call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
              content_type: str = "application/json", accept: str = "application/json",
              stream: bool = False, timeout: float | None = None) -> Any:
        """One request; the raw urllib3 response when ``stream``, else the decoded body
        (JSON with a ``__warnings__`` list when the server warned, or text)."""
        from kubernetes.client.exceptions import ApiException

        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            response = self.api_client.call_api(
                path, method, query_params=params, header_params={"Content-Type": content_type, "Accept": accept},
                body=body, auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=timeout)
        except ApiException as e:
            raise status_error(e.status or 500, e.body) from None
        if stream:
            return response
        data = response.data
        if not (response.headers.get("Content-Type") or "").startswith("application/json"):
            return data.decode()
        obj = json.loads(data)
        warnings = _warnings(response.headers)
        if warnings and isinstance(obj, dict):
            obj["__warnings__"] = warnings
        return obj

    # -- the verbs ------------------------------------------------------------------------
    def create(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               field_validation: str = "Strict", field_manager: str | None = None) -> Obj:
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise StatusError(400, "BadRequest", "Object 'Kind' is missing")
        if autoscaling_v1.is_v1(obj):  # kubectl autoscale's v1 object goes to the v1 path
            kind = dataclasses.replace(BY_KIND[autoscaling_v1.KIND], version="v1")
        else:
            kind = for_object(obj["apiVersion"], obj["kind"])
        ns = self._ns(kind, namespace or (obj.get("metadata") or {}).get("namespace"))
        return self._call("POST", self._path(kind, ns), {"dryRun": "All" if dry_run else None,
                                                         "fieldValidation": field_validation,
                                                         "fieldManager": field_manager}, obj)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        k = BY_KIND.get(kind) or METRICS[kind]  # metrics.k8s.io: metrics-server behind the aggregator
        return self._call("GET", self._path(k, self._ns(k, namespace), name))

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> Obj:
        k = BY_KIND.get(kind) or METRICS[kind]
        return self._call("GET", self._path(k, namespace if k.namespaced else None),
                          {"labelSelector": label_selector, "fieldSelector": field_selector})

    def update(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               subresource: str | None = None, field_validation: str = "Strict",
               field_manager: str | None = None) -> Obj:
        kind = for_object(obj.get("apiVersion", ""), obj.get("kind", ""))
        ns = self._ns(kind, namespace or (obj.get("metadata") or {}).get("namespace"))
        name = (obj.get("metadata") or {}).get("name", "")
        return self._call("PUT", self._path(kind, ns, name, subresource),
                          {"dryRun": "All" if dry_run else None, "fieldValidation": field_validation,
                           "fieldManager": field_manager}, obj)

    def patch(self, kind: str, name: str, namespace: str | None, body: Any, patch_type: str = "strategic",
              *, dry_run: bool = False, field_validation: str = "Strict", field_manager: str | None = None) -> Obj:
        k = BY_KIND[kind]
        if isinstance(body, (str, bytes)):
            body = json.loads(body)
        return self._call("PATCH", self._path(k, self._ns(k, namespace), name),
                          {"dryRun": "All" if dry_run else None, "fieldValidation": field_validation,
                           "fieldManager": field_manager}, body, content_type=_PATCH_TYPES[patch_type])

    def apply(self, kind: str, name: str, namespace: str | None, config: Any, *, field_manager: str,
              force: bool = False, dry_run: bool = False, field_validation: str = "Strict") -> Obj:
        """Server-side apply: the configuration as an apply patch (JSON is YAML)."""
        k = BY_KIND[kind]
        return self._call("PATCH", self._path(k, self._ns(k, namespace), name),
                          {"dryRun": "All" if dry_run else None, "fieldValidation": field_validation,
                           "fieldManager": field_manager, "force": "true" if force else None}, config,
                          content_type="application/apply-patch+yaml")

    def delete(self, kind: str, name: str, namespace: str | None = None, *, grace_period: int | None = None,
               propagation: str = "Background", dry_run: bool = False) -> Obj:
        k = BY_KIND[kind]
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if dry_run:
            options["dryRun"] = ["All"]
        return self._call("DELETE", self._path(k, self._ns(k, namespace), name), body=options)

    def scale(self, kind: str, name: str, namespace: str | None, replicas: int) -> Obj:
        """Through the ``scale`` subresource, as kubectl does; returns the scaled object."""
        k = BY_KIND[kind]
        self._call("PATCH", self._path(k, self._ns(k, namespace), name, "scale"), body={"spec": {"replicas": replicas}},
                   content_type=_PATCH_TYPES["merge"])
        return self.get(kind, name, namespace)

    def evict(self, name: str, namespace: str | None, eviction: Obj, *, dry_run: bool = False) -> Obj:
        path = self._path(BY_KIND["Pod"], namespace or self.namespace, name, "eviction")
        return self._call("POST", path, {"dryRun": "All" if dry_run else None}, body=eviction)

    def logs(self, name: str, namespace: str | None = None, container: str | None = None,
             previous: bool = False, tail: int | None = None) -> str:
        path = self._path(BY_KIND["Pod"], namespace or self.namespace, name, "log")
        text = self._call("GET", path, {"container": container, "previous": "true" if previous else None,
                                        "tailLines": tail}, accept="text/plain, */*")
        return text if isinstance(text, str) else json.dumps(text)

    def exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
             stdin: str | None = None, tty: bool = False) -> ExecResult:
        """Run a command through the WebSocket exec subresource (``kubernetes.stream``)."""
        from kubernetes import client as k8s
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        core = k8s.CoreV1Api(self.api_client)
        kwargs: Obj = {"command": command, "stdout": True, "stderr": True, "stdin": False, "tty": tty,
                       "_preload_content": False}
        if container:
            kwargs["container"] = container
        try:
            ws = stream(core.connect_get_namespaced_pod_exec, name, namespace or self.namespace, **kwargs)
        except ApiException as e:
            raise status_error(e.status or 500, e.body) from None
        out, err = [], []
        while ws.is_open():
            ws.update(timeout=1)
            out.append(ws.read_stdout())
            err.append(ws.read_stderr())
        out.append(ws.read_stdout())
        err.append(ws.read_stderr())
        code = ws.returncode
        ws.close()
        return ExecResult("".join(out), "".join(err), code if code is not None else 0)

    def open_exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
                  stdin: bool = False, tty: bool = False) -> "RemoteSession":
        """``exec -i/-t`` as a stream (a notebook terminal on a real cluster)."""
        return self._open("connect_get_namespaced_pod_exec", name, namespace, container, stdin, tty,
                          command=list(command))

    def open_attach(self, name: str, namespace: str | None, container: str | None, stdin: bool = False,
                    tty: bool = False) -> "RemoteSession":
        """``attach`` / ``run -it``: a stream to the container's main process."""
        return self._open("connect_get_namespaced_pod_attach", name, namespace, container, stdin, tty)

    def _open(self, method: str, name: str, namespace: str | None, container: str | None, stdin: bool,
              tty: bool, **extra: Any) -> "RemoteSession":
        from kubernetes import client as k8s
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        if self._stream_client is None:
            # its own ApiClient: the protocol header must not go on ordinary requests
            self._stream_client = k8s.ApiClient(self.api_client.configuration)
            self._stream_client.set_default_header("sec-websocket-protocol", ",".join(STREAM_PROTOCOLS))
        core = k8s.CoreV1Api(self._stream_client)
        kwargs: Obj = {"stdin": stdin, "stdout": True, "stderr": not tty, "tty": tty, "_preload_content": False,
                       "binary": True, **extra}
        if container:
            kwargs["container"] = container
        try:
            ws = stream(getattr(core, method), name, namespace or self.namespace, **kwargs)
        except ApiException as e:
            raise _handshake_error(e) from None
        return RemoteSession(ws, tty)

    def watch(self, kind: str, namespace: str | None, callback: Callable[[str, Obj], None],
              label_selector: str | None = None) -> Callable[[], None]:
        """Call ``callback(type, object)`` (on a background thread) for every change after
        this call; returns the function that stops watching."""
        k = BY_KIND[kind]
        ns = namespace if k.namespaced else None
        rv = self.list(kind, ns, label_selector)["metadata"].get("resourceVersion", "")
        stopped = threading.Event()
        current: list[Any] = []

        def run() -> None:
            from kubernetes.watch.watch import iter_resp_lines

            version = rv
            while not stopped.is_set():
                try:
                    response = self._call("GET", self._path(k, ns), {
                        "watch": "true", "resourceVersion": version, "labelSelector": label_selector,
                        "timeoutSeconds": 30, "allowWatchBookmarks": "false"}, stream=True)
                except StatusError:
                    if stopped.wait(1):
                        return
                    version = self.list(kind, ns, label_selector)["metadata"].get("resourceVersion", "")
                    continue
                current[:] = [response]
                try:
                    for line in iter_resp_lines(response):
                        if stopped.is_set():
                            return
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":  # e.g. 410 Gone: start again from now
                            version = self.list(kind, ns, label_selector)["metadata"].get("resourceVersion", "")
                            break
                        version = (obj.get("metadata") or {}).get("resourceVersion", version)
                        callback(event["type"], obj)
                except Exception:  # noqa: BLE001 - a dropped stream is resumed, as informers do
                    if stopped.is_set():
                        return
                finally:
                    response.release_conn()

        thread = threading.Thread(target=run, name=f"kubelab-watch-{kind}", daemon=True)
        thread.start()

        def stop() -> None:
            stopped.set()
            for response in current:
                try:
                    response.shutdown() if hasattr(response, "shutdown") else response.close()
                except Exception:  # noqa: BLE001 - already closed
                    pass

        return stop

    def table(self, kind: str, objects: list[Obj], wide: bool = False) -> Obj:
        """The server's own Table for these objects (rows matched by uid; objects the server
        doesn't have, such as dry-run results, are printed by kubelab's table code)."""
        from kubelab.api.tables import table as local_table

        k = BY_KIND[kind]
        rows: dict[str, Obj] = {}
        columns: list[Obj] | None = None
        namespaces = sorted({(o.get("metadata") or {}).get("namespace") for o in objects}, key=str)
        for ns in namespaces:
            mine = [o for o in objects if (o.get("metadata") or {}).get("namespace") == ns]
            names = [o["metadata"].get("name") for o in mine]
            path = self._path(k, ns, names[0]) if len(mine) == 1 else self._path(k, ns)
            try:
                served = self._call("GET", path, {"includeObject": "Metadata"}, accept=_TABLE)
            except StatusError:
                continue
            columns = served.get("columnDefinitions") or columns
            for row in served.get("rows") or []:
                rows[((row.get("object") or {}).get("metadata") or {}).get("uid", "")] = row
        if columns is None:
            return local_table(kind, objects, self.now(), wide)
        missing = [o for o in objects if (o.get("metadata") or {}).get("uid") not in rows]
        fallback = iter(local_table(kind, missing, self.now(), True)["rows"])
        keep = [i for i, c in enumerate(columns) if wide or not c.get("priority")]
        result = []
        for obj in objects:
            uid = (obj.get("metadata") or {}).get("uid")
            row = rows[uid] if uid in rows else next(fallback)
            result.append({**row, "cells": [row["cells"][i] for i in keep]})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": ""},
                "columnDefinitions": [columns[i] for i in keep], "rows": result}

    def now(self) -> float:
        return time.time()

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Poll ``condition`` in real time for up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
