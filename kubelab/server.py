"""The Kubernetes REST API over HTTP, served from any ``Client`` (the embedded cluster's).

So the real ``kubectl`` binary and the official ``kubernetes`` Python client can talk to a
kubelab cluster: discovery, the resource paths and their verbs, server-side Tables, watch
streams, ``Status`` errors with their HTTP codes, and the ``scale``/``status``/``log``/``exec``
subresources. It binds 127.0.0.1 only and speaks HTTPS with a certificate made at start-up for
127.0.0.1 and localhost (kubectl sends a bearer token over TLS only: client-go's ClientConfig
drops a user's credentials for an ``http://`` server).

It is built for a shared workshop host (many users on one 127.0.0.1): every request needs the
bearer token written into the server's kubeconfig (0600), the Host header must name the loopback
address (no DNS rebinding), bodies are capped as kube-apiserver caps them, and slow or broken
connections time out. Nothing is ever printed: failures are answered with a ``Status``.

Usage::

    with cluster.serve() as server:
        subprocess.run(["kubectl", "get", "pods"], env={"KUBECONFIG": server.kubeconfig, ...})
"""
from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import select
import socket
import ssl
import tempfile
import threading
import time
from base64 import b64encode, urlsafe_b64decode, urlsafe_b64encode
from collections import OrderedDict
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from kubelab import streams
from kubelab.api import autoscaling_v1, errors, protobuf, rbac, tokens, wire
from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND, KINDS, METRICS, Kind
from kubelab.api.objects import Obj
from kubelab.api.version import GIT_VERSION, server_version


WATCH_HISTORY = 4096  # events kept per kind so a watch can resume from a resourceVersion

# kube-apiserver's limits: MaxRequestBodyBytes (3 MiB, genericapiserver's default config),
# ReadHeaderTimeout (32 s, secure_serving.go) and IdleTimeout (90 s) of its http.Server.
MAX_BODY_BYTES = 3 * 1024 * 1024
HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0
BODY_TIMEOUT = 60.0   # a whole body, once the headers are in
WRITE_TIMEOUT = 60.0  # a client that stops reading a response
MAX_CONNECTIONS = 256  # open at once (each has a thread); kubectl and the clients use a few
PAGE_SNAPSHOTS, PAGE_TTL = 16, 300.0  # lists kept for their continue tokens (etcd compacts every 5 min)
BOOKMARK_INTERVAL = 60.0  # the cacher's bookmark frequency (a watcher's bookmark is due each minute)
# Paths anyone may read without the token, as the apiserver's system:public-info-viewer role.
_PUBLIC = (["healthz"], ["readyz"], ["livez"])

# The verbs of the status and scale subresources (kube-apiserver's).
_GET_PATCH_UPDATE = ["get", "patch", "update"]

_TABLE_MEDIA = "as=Table"


# -- discovery ---------------------------------------------------------------------------
def _group_versions() -> dict[str, list[Kind]]:
    """kube-apiserver's own group versions: the registry's, each with its OpenAPI document."""
    groups: dict[str, list[Kind]] = {}
    for kind in KINDS:
        groups.setdefault(kind.api_version, []).append(kind)
    return groups


def _served_group_versions() -> dict[str, list[Kind]]:
    """What discovery lists and the paths serve: kube-apiserver's groups (autoscaling/v1 beside
    v2, converted at the edge), then the aggregated metrics.k8s.io (its APIService's
    groupPriorityMinimum 100 puts it after every built-in group)."""
    return {**_group_versions(), autoscaling_v1.V1: [BY_KIND[autoscaling_v1.KIND]],
            "metrics.k8s.io/v1beta1": list(METRICS.values())}


def _resource_list(group_version: str) -> Obj:
    """An APIResourceList: the resources (and their subresources) of one group version."""
    resources: list[Obj] = []
    for k in _served_group_versions().get(group_version, []):
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
            resources.append({"name": "pods/attach", "singularName": "", "namespaced": True,
                              "kind": "PodAttachOptions", "verbs": ["create", "get"]})
            resources.append({"name": "pods/portforward", "singularName": "", "namespaced": True,
                              "kind": "PodPortForwardOptions", "verbs": ["create", "get"]})
            resources.append({"name": "pods/ephemeralcontainers", "singularName": "", "namespaced": True,
                              "kind": "Pod", "verbs": _GET_PATCH_UPDATE})
            # kubectl drain evicts only when discovery names this subresource's group/version
            resources.append({"name": "pods/eviction", "singularName": "", "namespaced": True,
                              "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    resources.sort(key=lambda r: r["name"])  # the apiserver's installer sorts a version's paths
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _group_list() -> Obj:
    groups: dict[str, Obj] = {}
    for gv in _served_group_versions():
        if "/" not in gv:
            continue
        name, version = gv.split("/")
        ref = {"groupVersion": gv, "version": version}
        if name in groups:  # an older version, after the preferred one (autoscaling v2, v1)
            groups[name]["versions"].append(ref)
        else:
            groups[name] = {"name": name, "versions": [ref], "preferredVersion": ref}
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(groups.values())}


def _openapi_root() -> Obj:
    """/openapi/v3: where each group version's document lives."""
    paths = {}
    for gv in _group_versions():
        prefix = f"apis/{gv}" if "/" in gv else f"api/{gv}"
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={GIT_VERSION}"}
    return {"paths": paths}


def _find_kind(group_version: str, plural: str) -> Kind | None:
    return next((k for k in _served_group_versions().get(group_version, []) if k.plural == plural), None)


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
    misses nothing that happened after it (the list-then-watch pattern kubectl uses).

    Like the apiserver's watch cache, each kind's history reaches back to a floor: the
    resourceVersion when the server started, then the newest event dropped from the window.
    A watch from below the floor gets 410 "too old resource version"."""

    def __init__(self, client: Any) -> None:
        self.cond = threading.Condition()
        self.events: dict[str, deque[tuple[int, str, Obj]]] = {}
        self.closed = False
        self._stops: list[Callable[[], None]] = []
        # the store's version now (a small list every cluster has answers it)
        self.rv = int(client.list("Namespace")["metadata"].get("resourceVersion") or 0)
        self.floor: dict[str, int] = {}
        for k in KINDS:
            self.events[k.kind] = deque(maxlen=WATCH_HISTORY)
            self.floor[k.kind] = self.rv
            self._stops.append(client.watch(k.kind, None, self._recorder(k.kind)))

    def _recorder(self, kind: str) -> Callable[[str, Obj], None]:
        def record(event: str, obj: Obj) -> None:
            rv = int(obj["metadata"].get("resourceVersion") or 0)
            with self.cond:
                history = self.events[kind]
                if len(history) == WATCH_HISTORY:
                    self.floor[kind] = history[0][0]
                history.append((rv, event, obj))
                self.rv = max(self.rv, rv)
                self.cond.notify_all()

        return record

    def since(self, kind: str, rv: int) -> tuple[list[tuple[int, str, Obj]], int]:
        """Events after ``rv`` and the version they bring a watcher up to (every change of
        ``kind`` up to it is among them). Raises 410 Expired when history starts after ``rv``."""
        with self.cond:
            if rv < self.floor[kind]:
                raise StatusError(410, "Expired", f"too old resource version: {rv} ({self.floor[kind]})")
            return [e for e in self.events[kind] if e[0] > rv], self.rv

    def wait(self, rv: int, timeout: float) -> None:
        """Until something newer than ``rv`` happens (to any kind), the cache closes, or ``timeout``."""
        with self.cond:
            if not self.closed and self.rv <= rv:
                self.cond.wait(timeout)

    def close(self) -> None:
        for stop in self._stops:
            stop()
        with self.cond:
            self.closed = True
            self.cond.notify_all()


# -- paging --------------------------------------------------------------------------------
class Pages:
    """``limit``/``continue`` for lists, with the etcd3 store's semantics: pages in key order
    (``namespace/name``), every page of one list read at the first page's resourceVersion, a
    continue token the apiserver's shape (base64 of ``{"v","rv","start"}``). The first page's
    list is kept (at most PAGE_SNAPSHOTS, for PAGE_TTL seconds, as etcd keeps a revision until
    compaction); a token whose list is gone gets 410 Expired with an inconsistent token
    (``rv: -1``) that resumes at the same key against the current objects."""

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.lock = threading.Lock()
        self.snapshots: "OrderedDict[tuple[Any, ...], tuple[float, list[tuple[str, Obj]]]]" = OrderedDict()

    def page(self, r: "_Route", query: dict[str, str]) -> Obj:
        client = self.server.client
        labels, fields = query.get("labelSelector") or None, query.get("fieldSelector") or None
        limit_text, token = query.get("limit") or "0", query.get("continue") or ""
        if not limit_text.isdigit():
            raise errors.bad_request(f'strconv.ParseInt: parsing "{limit_text}": invalid syntax')
        limit = int(limit_text)
        if not limit and not token:
            return client.list(r.kind.kind, r.namespace, labels, fields)
        scope = (r.kind.kind, r.namespace, labels, fields)
        if token:
            rv, start = _decode_continue(token)
            if rv < 0:
                keyed, rv = self._keyed(client.list(r.kind.kind, r.namespace, labels, fields))
            else:
                keyed = self._snapshot(scope + (rv,))
                if keyed is None:
                    gone = StatusError(410, "Expired", _INCONSISTENT_CONTINUE)
                    raise _ExpiredContinue(gone, _encode_continue(-1, start))
            keyed = [(key, obj) for key, obj in keyed if key > start]
        else:
            keyed, rv = self._keyed(client.list(r.kind.kind, r.namespace, labels, fields))
        items = [obj for _, obj in keyed[:limit]] if limit else [obj for _, obj in keyed]
        meta: Obj = {"resourceVersion": str(rv)}
        if limit and len(keyed) > limit:
            self._keep(scope + (rv,), keyed)  # what is left of the list is enough for later pages
            meta["continue"] = _encode_continue(rv, keyed[limit - 1][0])
            if labels is None and fields is None:
                meta["remainingItemCount"] = len(keyed) - limit
        elif token:
            with self.lock:  # the last page: the list is done
                self.snapshots.pop(scope + (rv,), None)
        kind = r.kind.kind + "List"
        return {"kind": kind, "apiVersion": r.kind.api_version, "metadata": meta, "items": items}

    @staticmethod
    def _keyed(listed: Obj) -> tuple[list[tuple[str, Obj]], int]:
        def key(obj: Obj) -> str:
            meta = obj["metadata"]
            return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]

        keyed = sorted(((key(o), o) for o in listed["items"]), key=lambda pair: pair[0].encode())
        return keyed, int(listed["metadata"].get("resourceVersion") or 0)

    def _snapshot(self, key: tuple[Any, ...]) -> list[tuple[str, Obj]] | None:
        with self.lock:
            kept = self.snapshots.get(key)
            if kept is None or time.monotonic() - kept[0] > PAGE_TTL:
                self.snapshots.pop(key, None)
                return None
            return kept[1]

    def _keep(self, key: tuple[Any, ...], keyed: list[tuple[str, Obj]]) -> None:
        with self.lock:
            if key not in self.snapshots:
                self.snapshots[key] = (time.monotonic(), keyed)
            self.snapshots.move_to_end(key)
            while len(self.snapshots) > PAGE_SNAPSHOTS:
                self.snapshots.popitem(last=False)


class _ExpiredContinue(StatusError):
    """410 for a continue token whose list is gone, carrying the inconsistent token."""

    def __init__(self, error: StatusError, token: str) -> None:
        super().__init__(error.code, error.reason, error.message)
        self.token = token

    def to_status(self) -> dict[str, Any]:
        status = super().to_status()
        status["metadata"] = {"continue": self.token}
        return status


# etcd3's inconsistentContinue (storage/etcd3/errors.go)
_INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list.")


def _encode_continue(rv: int, last_key: str) -> str:
    body = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"}, separators=(",", ":"))
    return urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    """(resourceVersion, the key after which the page starts); a malformed token is a 400."""
    try:
        data = json.loads(urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int) \
                or not isinstance(data.get("start"), str):
            raise ValueError
        return data["rv"], data["start"]
    except (ValueError, AttributeError, TypeError):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)") from None


# -- TLS ---------------------------------------------------------------------------------------
def _self_signed(folder: str) -> tuple[ssl.SSLContext, bytes]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 and localhost
    (its own CA, so a kubeconfig trusts exactly this server), and the certificate's PEM."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelab-apiserver")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path = os.path.join(folder, "server.pem")  # load_cert_chain reads files only; gone at once
    write_private(path, (cert_pem + key_pem).decode())
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context, cert_pem


# -- the server ------------------------------------------------------------------------------
class _HTTPServer(ThreadingHTTPServer):
    """One thread per connection, at most ``max_connections`` at once: a client opening
    connections without end is refused at the door instead of exhausting the kernel."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._open = 0
        self._count_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._open -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a connection that breaks is the client's business, never a traceback on the
        kernel's stderr (socketserver prints one by default)."""


class Server:
    """A running API server for ``client`` on 127.0.0.1: the handle ``serve`` returns.

    ``url``, ``port``, ``token`` (the bearer token every request must carry) and ``kubeconfig``
    (a 0600 file with one context, ``context``, holding that token). ``retarget`` points it at
    another client (a kernel's new cluster after ``%kube reset``) without changing port or token.
    """

    def __init__(self, client: Any, port: int = 0, kubeconfig: str | None = None,
                 context: str = "kubelab") -> None:
        self.client = client
        self.token = secrets.token_urlsafe(32)
        self._signing_key = secrets.token_bytes(32)  # for a client without a key of its own
        self._dir = tempfile.TemporaryDirectory(prefix="kubelab-server-")
        self.tls, self.certificate = _self_signed(self._dir.name)
        self.watches = WatchCache(client)
        self.httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.api = self  # type: ignore[attr-defined]
        self.port: int = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.idle_timeout, self.header_timeout = IDLE_TIMEOUT, HEADER_TIMEOUT
        self.body_timeout, self.write_timeout = BODY_TIMEOUT, WRITE_TIMEOUT
        self.bookmark_interval = BOOKMARK_INTERVAL
        self.pages = Pages(self)
        self.context = context
        self.kubeconfig = write_kubeconfig(kubeconfig or os.path.join(self._dir.name, "kubeconfig"), self.url,
                                           token=self.token, name=context, certificate=self.certificate)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="kubelab-apiserver", daemon=True)
        self._thread.start()

    def retarget(self, client: Any) -> None:
        """Serve ``client`` from now on; open watches on the old one end (their clients relist)."""
        old = self.watches
        self.client, self.watches, self.pages = client, WatchCache(client), Pages(self)
        old.close()

    @property
    def signing_key(self) -> bytes:
        """What signs the ServiceAccount tokens this server issues: the cluster's own key (which
        its state file keeps, so tokens outlive a kernel restart), else the server's."""
        key = getattr(self.client, "token_key", None)
        return key if isinstance(key, bytes) else self._signing_key

    def client_tls(self) -> ssl.SSLContext:
        """An SSL context for a Python client of this server (trusting its certificate only)."""
        return ssl.create_default_context(cadata=self.certificate.decode())

    def authorized(self, header: str | None) -> bool:
        return self.authenticate(header) is not None

    def authenticate(self, header: str | None) -> rbac.User | None:
        """Who a request's bearer token stands for: the kubeconfig's token is the learner
        (system:masters); a ServiceAccount's token (issued by TokenRequest here, or a legacy
        service-account-token Secret's) is that account; anything else nobody."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if hmac.compare_digest(token.encode(), self.token.encode()):
            return LEARNER
        own = getattr(self.client, "authenticate_token", None)  # the cluster's own tokens (kubectl create token)
        return tokens.authenticate(self.client, token, self.signing_key) or (own(token) if own else None)

    def rbac_lister(self) -> rbac.Lister:
        """The stored roles and bindings, as the RBAC authorizer reads them."""
        client = self.client
        return lambda kind, namespace: client.list(kind, namespace)["items"]

    def close(self) -> None:
        self.watches.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._dir.cleanup()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(target: Any, port: int = 0, kubeconfig: str | None = None, context: str = "kubelab") -> Server:
    """Serve a ``Cluster`` (or any ``Client``) over HTTP on 127.0.0.1 (``port=0``: a free port);
    ``kubeconfig`` is where to write its kubeconfig (a temporary folder by default)."""
    return Server(getattr(target, "client", target), port, kubeconfig, context)


def kubeconfig_entries(name: str, url: str, token: str, certificate: bytes = b"",
                       namespace: str = "default") -> dict[str, Obj]:
    """The cluster, user and context entries (all named ``name``) of a kubeconfig for a server."""
    cluster: Obj = {"server": url}
    if certificate:
        cluster["certificate-authority-data"] = b64encode(certificate).decode()
    return {"cluster": {"name": name, "cluster": cluster},
            "user": {"name": name, "user": {"token": token}},
            "context": {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}}


def write_kubeconfig(path: str, url: str, namespace: str = "default", token: str = "",
                     name: str = "kubelab", certificate: bytes = b"") -> str:
    """A kubeconfig with one context, ``name``, pointing at ``url`` with the bearer ``token``
    (trusting ``certificate``), readable by its owner only. JSON is valid YAML."""
    entries = kubeconfig_entries(name, url, token, certificate, namespace)
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
              "clusters": [entries["cluster"]], "users": [entries["user"]], "contexts": [entries["context"]],
              "current-context": name}
    write_private(path, json.dumps(config, indent=2) + "\n")
    return path


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically (a reader never sees
    half a file, and an older file's wider mode is not kept)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kubeconfig-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def request_attributes(method: str, path: str, parts: list[str], query: dict[str, str]) -> rbac.Attributes:
    """What a request asks the authorizer, as the apiserver's RequestInfoFactory reads a URL:
    ``/api/v1/...`` and ``/apis/GROUP/VERSION/...`` with a resource are resource requests
    (``namespaces/NS/...`` gives the namespace; the verb from the method, ``list``/``watch``
    for a collection), any other path a non-resource one with the method as its verb."""
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return rbac.Attributes(method.lower(), resource_request=False, path=path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    resource, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
    watching = _go_bool(query.get("watch"))
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
    if verb is None and method == "DELETE":
        verb = "delete" if name else "deletecollection"
    if verb is None:
        verb = "watch" if watching else ("get" if name else "list")
    if sub in ("exec", "attach", "portforward") and verb == "get":  # a WebSocket upgrade needs create too
        verb = "create"  # (AuthorizePodWebsocketUpgradeCreatePermission, on by default since 1.31)
    return rbac.Attributes(verb, api_group=group, resource=resource, subresource=sub, namespace=namespace,
                           name=name)


class _Route:
    """What a resource path names: the kind, namespace, name and subresource."""

    def __init__(self, kind: Kind, namespace: str | None, name: str | None, sub: str | None,
                 group_version: str = "") -> None:
        self.kind, self.namespace, self.name, self.sub = kind, namespace, name, sub
        # the version the request speaks, when not the stored one (autoscaling/v1)
        self.v1 = group_version == autoscaling_v1.V1


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
    if gv not in _served_group_versions():
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
    return _Route(kind, namespace, name, sub, gv)


class _DeadlineReader(io.RawIOBase):
    """A socket's reads under a deadline rather than a per-read time-out, so a client sending a
    byte every few seconds cannot hold a thread: idle between requests until ``deadline``; the
    first byte of a request starts the header deadline (Go's ReadHeaderTimeout).

    A stream (exec, attach, port-forward) reads in one thread and writes in another. An
    OpenSSL connection must not be read and written at the same moment (a record half-written
    while another is read broke a stream with an unexpected EOF), so reads wait for data
    without the lock and then take it, and :meth:`sendall` takes it too."""

    def __init__(self, sock: socket.socket, header_timeout: float, write_timeout: float) -> None:
        self.sock, self.header_timeout, self.write_timeout = sock, header_timeout, write_timeout
        self.deadline = float("inf")
        self.idle = False
        self.lock = threading.Lock()
        self.poller = select.poll()  # not select(): a busy process has descriptors past 1024
        self.poller.register(sock, select.POLLIN)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
            if not pending and not self.poller.poll(min(left, 3600.0) * 1000):
                continue
            with self.lock:
                self.sock.setblocking(False)
                try:
                    n = self.sock.recv_into(buffer)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue  # part of a TLS record so far: wait for the rest
                finally:
                    self.sock.settimeout(self.write_timeout)  # what a response's writes wait
            if n and self.idle:
                self.idle = False
                self.deadline = time.monotonic() + self.header_timeout
            return n

    def sendall(self, data: bytes) -> None:
        """Write from a stream's writer thread (never at the same time as a read)."""
        with self.lock:
            self.sock.sendall(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    v1 = False  # this request speaks autoscaling/v1 (set per request by _handle; errors before it speak none)
    server_version = "kubelab"
    # small responses leave at once: without it, headers and body written apart wait for the
    # client's delayed ACK (~40 ms per request on a kept-alive connection)
    disable_nagle_algorithm = True
    default_request_version = "HTTP/1.1"  # a malformed request line still gets a status line back

    # -- plumbing ------------------------------------------------------------------------
    @property
    def api(self) -> Server:
        return self.server.api  # type: ignore[attr-defined]

    def setup(self) -> None:
        """TLS in the connection's own thread (a client that never finishes its handshake
        holds only its own thread, and only until the header time-out)."""
        self.request.settimeout(self.api.header_timeout)
        self.request = self.api.tls.wrap_socket(self.request, server_side=True)
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.api.header_timeout, self.api.write_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        """One request, read under the idle and header deadlines (a time-out closes the
        connection quietly, as BaseHTTPRequestHandler does)."""
        self._reader.idle = True
        self._reader.deadline = time.monotonic() + self.api.idle_timeout
        super().handle_one_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.connection.close()  # the TLS socket (the server closes only the raw one it accepted)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses itself (a malformed request line or header, an unknown
        method), answered as a Status and closing the connection, instead of an HTML page."""
        self.close_connection = True
        if code == 501:  # a method no resource has
            error = StatusError(405, "MethodNotAllowed",
                                "the server does not allow this method on the requested resource")
        else:
            error = StatusError(code, "BadRequest" if code == 400 else "", message or "bad request")
        self._send_json(error.to_status(), error.code)

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

    def read_deadline(self, seconds: float) -> None:
        """The next read may wait ``seconds`` (the exec/attach/port-forward streams of
        kubelab.streams live longer than a request's body time-out)."""
        self._reader.deadline = time.monotonic() + seconds

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the connection, safe beside a read in another thread (a
        stream's frames)."""
        self._reader.sendall(data)

    def _dispatch(self, method: str) -> None:
        self.body: bytes | None = None
        self.v1 = False
        self._reader.deadline = time.monotonic() + self.api.body_timeout
        try:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            self._check_host()
            self.user = self.api.authenticate(self.headers.get("Authorization"))
            if parts not in _PUBLIC and self.user is None:
                raise StatusError(401, "Unauthorized", "Unauthorized")
            self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if self.user is not None and parts not in _PUBLIC:
                self.user = self._impersonated(self.user)
                attrs = request_attributes(method, url.path, parts, self.query)
                allowed, reason = rbac.authorize(self.user, attrs, self.api.rbac_lister())
                if not allowed:
                    raise rbac.forbidden(self.user, attrs, reason)
            self.body = self._read_body()
            self.connection.settimeout(self.api.write_timeout)
            self._handle(method, parts)
        except StatusError as e:
            if self.body is None:  # refused before its body was read: the connection cannot go on
                self.close_connection = True
            self.connection.settimeout(self.api.write_timeout)
            status = e.to_status()
            if e.code == 404 and not (e.kind or e.name):
                status["details"] = {}  # the apiserver's NotFound for a path it does not serve (kubectl debug reads it)
            # ErrorNegotiated: a Status that says when to come back says it in Retry-After too
            self._send_json(status, e.code, [("Retry-After", str(e.retry_after))] if e.retry_after else [])
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a server answers 500, it does not die
            self._send_json(StatusError(500, "InternalError", f"Internal error occurred: {e}").to_status(), 500)

    def _impersonated(self, user: rbac.User) -> rbac.User:
        """The Impersonate-User/-Group/-Uid headers (what ``kubectl --as``/``--as-group`` send),
        each allowed only if ``user`` may ``impersonate`` it (WithImpersonation): a
        ServiceAccount's name brings its groups, and every impersonated user is
        system:authenticated."""
        name = self.headers.get("Impersonate-User")
        groups = self.headers.get_all("Impersonate-Group") or []
        if not name:
            if groups:
                raise StatusError(500, "InternalError", "Internal error occurred: requested "
                                  f"[{{Group  {groups[0]}  authentication.k8s.io/v1  }}] without impersonating a user")
            return user
        asked: list[rbac.Attributes] = []
        account = name.split(":") if name.startswith(rbac.SA_PREFIX) else []
        if len(account) == 4:
            asked.append(rbac.Attributes("impersonate", resource="serviceaccounts", namespace=account[2],
                                         name=account[3]))
        else:
            asked.append(rbac.Attributes("impersonate", resource="users", name=name))
        asked += [rbac.Attributes("impersonate", resource="groups", name=g) for g in groups]
        lister = self.api.rbac_lister()
        for attrs in asked:
            allowed, reason = rbac.authorize(user, attrs, lister)
            if not allowed:
                raise rbac.forbidden(user, attrs, reason)
        return rbac.impersonated(name, groups)

    def _check_host(self) -> None:
        """Only requests addressed to 127.0.0.1:PORT or localhost:PORT: a web page whose name
        was rebound to 127.0.0.1 sends its own name, and is refused."""
        host = self.headers.get("Host") or ""
        if host.lower() not in self.api.hosts:
            raise StatusError(403, "Forbidden", f'Host "{host}" is not allowed: this server answers '
                                                f"127.0.0.1:{self.api.port} and localhost:{self.api.port} only")

    def _read_body(self) -> bytes:
        """The request body, at most MAX_BODY_BYTES (a bigger one is refused unread, with
        kube-apiserver's 413 from limitedReadBody)."""
        too_large = StatusError(413, "RequestEntityTooLarge",
                                f"Request entity too large: limit is {MAX_BODY_BYTES}")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise errors.bad_request("malformed chunked encoding") from None
                if size < 0:
                    raise errors.bad_request("malformed chunked encoding")
                if len(data) + size > MAX_BODY_BYTES:
                    raise too_large
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return bytes(data)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise errors.bad_request("unexpected EOF reading the request body")
                data += chunk
                self.rfile.readline(1024)
        text = self.headers.get("Content-Length")
        if text is None:
            return b""
        if not text.strip().isdigit():
            raise errors.bad_request(f'bad Content-Length: "{text}"')
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise too_large
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            raise errors.bad_request("unexpected EOF reading the request body")
        return data

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
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stored_form(self, body: Any) -> Any:
        """A body in the request's version, converted to the stored one (autoscaling/v1 -> v2)."""
        if self.v1 and isinstance(body, dict):
            body = autoscaling_v1.to_v2({**body, "apiVersion": autoscaling_v1.V1, "kind": autoscaling_v1.KIND})
        return body

    def _send_json(self, obj: Any, code: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        if self.v1:
            obj = _as_v1(obj)
        warnings: list[str] = []
        if isinstance(obj, dict) and "__warnings__" in obj:
            obj = dict(obj)
            warnings = obj.pop("__warnings__")
        headers = [*(headers or ()), *(("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
                                       for w in warnings)]
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
            from kubelab.api import openapi_v2

            accept = self.headers.get("Accept") or ""
            if "protobuf" in accept and "json" not in accept:  # kubectl asks for protobuf only
                return self._send(openapi_v2.protobuf(),
                                  content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            return self._send_json(openapi_v2.document())
        if parts == ["openapi", "v3"]:
            return self._send_json(_openapi_root())
        if parts[:2] == ["openapi", "v3"]:
            gv = "/".join(parts[3:]) if parts[2:3] == ["apis"] else "/".join(parts[3:])
            if parts[2:3] in (["api"], ["apis"]) and gv in _group_versions():
                from kubelab.api.openapi import document

                return self._send_json(document(gv))
        if method == "POST" and tuple(parts) in _REVIEWS:
            try:
                review = self._json_body()
            except StatusError:  # kubectl's typed clients send these in protobuf; the answer is the same
                review = {}
            return self._send_json(_REVIEWS[tuple(parts)](review, self.user, self.api.rbac_lister()), 201)
        extra = _cluster_extras(self.api.client, parts) if method == "GET" else None
        if extra is not None:
            return self._send_json(extra)
        route = _route(parts)
        if route is None:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        if isinstance(route, dict):
            return self._send_json(route)
        self.v1 = route.v1
        if route.kind.kind in METRICS and (method != "GET" or route.sub or _go_bool(self.query.get("watch"))):
            raise StatusError(405, "MethodNotAllowed",  # metrics-server's storage: get and list only
                              "the server does not allow this method on the requested resource")
        handler = getattr(self, f"_{method.lower()}")
        handler(route)

    # -- verbs ---------------------------------------------------------------------------
    def _get(self, r: _Route) -> None:
        client = self.api.client
        if r.name is None:
            if _go_bool(self.query.get("watch")):
                return self._watch(r)
            listed = self.api.pages.page(r, self.query)
            if self._wants_table():
                table = self._table(r.kind, listed["items"])
                table["metadata"] = listed["metadata"]
                return self._send_json(table)
            return self._send_json(listed)
        if r.sub == "log":
            return self._log(r)
        if r.sub in streams.SUBRESOURCES and r.kind.kind == "Pod":
            return streams.serve(self, client, r.sub, r.name, r.namespace)
        obj = client.get(r.kind.kind, r.name, r.namespace)
        if r.sub == "scale":
            return self._send_json(_scale_of(obj))
        if r.sub not in _writable_subs(r.kind):
            raise _no_such_sub()
        if self._wants_table():
            return self._send_json(self._table(r.kind, [obj]))
        self._send_json(obj)

    def _post(self, r: _Route) -> None:
        if r.name is not None and r.kind.kind == "ServiceAccount" and r.sub == "token":
            try:
                request = self._json_body() or {}
            except StatusError:
                request = {}
            account = self.api.client.get("ServiceAccount", r.name, r.namespace)
            return self._send_json(tokens.token_request(account, request, self.api.client.now(),
                                                        self.api.signing_key), 201)
        if r.name is not None and r.kind.kind == "Pod" and r.sub == "eviction":
            return self._send_json(self.api.client.evict(r.name, r.namespace, self._json_body(),
                                                         dry_run=self._dry_run()), 201)
        if r.name is not None:
            if r.sub in streams.SUBRESOURCES and r.kind.kind == "Pod":
                return streams.serve(self, self.api.client, r.sub, r.name, r.namespace)
            raise StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        obj = _with_kind(self._stored_form(self._json_body()), r.kind)
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
        if r.sub not in _writable_subs(r.kind):
            raise _no_such_sub()
        obj = _with_kind(self._stored_form(obj), r.kind)
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
                              "the body of the request was in an unknown format - accepted media types include: "
                              "application/json-patch+json, application/merge-patch+json, "
                              "application/strategic-merge-patch+json, application/apply-patch+yaml")
        body = self._json_body()
        client = self.api.client
        if patch_type == "apply" and r.sub is None:
            manager = self.query.get("fieldManager") or ""
            if not manager:
                raise errors.invalid("PatchOptions", "", [errors.Cause(
                    "fieldManager", "Required value: is required for apply patch", "FieldValueRequired")],
                    "meta.k8s.io")
            force = self.query.get("force") in ("true", "1", "True")
            return self._send_json(client.apply(r.kind.kind, r.name, r.namespace, self._stored_form(body),
                                                field_manager=manager,
                                                force=force, dry_run=self._dry_run(),
                                                field_validation=self._field_validation()))
        from kubelab.api.patch import apply_patch

        if r.sub == "scale":
            scale = apply_patch(_scale_of(client.get(r.kind.kind, r.name, r.namespace)), body, patch_type)
            replicas = (scale.get("spec") or {}).get("replicas", 0)
            return self._send_json(_scale_of(client.scale(r.kind.kind, r.name, r.namespace, replicas)))
        if r.v1 and r.sub is None:  # the patch applies to the object in the request's version
            current = autoscaling_v1.to_v1(client.get(r.kind.kind, r.name, r.namespace))
            patched = autoscaling_v1.to_v2(apply_patch(current, body, patch_type))
            return self._send_json(client.update(patched, r.namespace, dry_run=self._dry_run(),
                                                 field_validation=self._field_validation(),
                                                 field_manager=self._field_manager()))
        if r.sub == "status" or (r.sub == "ephemeralcontainers" and r.kind.kind == "Pod"):
            current = client.get(r.kind.kind, r.name, r.namespace)
            patched = apply_patch(current, body, patch_type)
            return self._send_json(client.update(patched, r.namespace, dry_run=self._dry_run(), subresource=r.sub,
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
        ``resourceVersion`` unset or 0 starts with ADDED for every current object; an older
        one than history holds gets an ERROR event with 410 Expired (as the cacher's
        errWatcher: the stream starts, then fails). ``allowWatchBookmarks`` adds a BOOKMARK
        (only the version reached) every ``bookmark_interval`` seconds and before a time-out."""
        from kubelab.api.selectors import parse

        client, cache = self.api.client, self.api.watches
        labels = parse(self.query["labelSelector"]) if self.query.get("labelSelector") else None
        fields = field_requirements(self.query.get("fieldSelector"))
        table = self._wants_table()
        bookmarks = _go_bool(self.query.get("allowWatchBookmarks"))
        timeout = float(self.query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout

        def wanted(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if r.namespace is not None and meta.get("namespace") != r.namespace:
                return False
            if labels is not None and not labels.matches(meta.get("labels")):
                return False
            return fields_match(obj, fields)

        def encode(event: str, obj: Obj) -> bytes:
            shown = self._table(r.kind, [obj]) if table else (autoscaling_v1.to_v1(obj) if r.v1 else obj)
            return json.dumps({"type": event, "object": shown}, separators=(",", ":")).encode() + b"\n"

        def bookmark(version: int) -> bytes:
            marker = {"kind": r.kind.kind, "apiVersion": r.kind.api_version,
                      "metadata": {"resourceVersion": str(version), "creationTimestamp": None}}
            return json.dumps({"type": "BOOKMARK", "object": marker}, separators=(",", ":")).encode() + b"\n"

        rv_text = self.query.get("resourceVersion") or ""
        if rv_text not in ("", "0") and not rv_text.isdigit():
            raise errors.bad_request(f'invalid resource version "{rv_text}"')
        self._start_stream("application/json")
        if rv_text in ("", "0"):
            listed = client.list(r.kind.kind, r.namespace, self.query.get("labelSelector") or None,
                                 self.query.get("fieldSelector") or None)
            for obj in listed["items"]:
                self._chunk(encode("ADDED", obj))
            rv = int(listed["metadata"].get("resourceVersion") or 0)
        else:
            rv = int(rv_text)
        next_bookmark = time.monotonic() + self.api.bookmark_interval
        while not cache.closed:
            try:
                events, reached = cache.since(r.kind.kind, rv)
            except StatusError as e:
                self._chunk(json.dumps({"type": "ERROR", "object": e.to_status()}, separators=(",", ":")).encode()
                            + b"\n")
                break
            for event_rv, event, obj in events:
                if wanted(obj):
                    self._chunk(encode(event, obj))
            rv = max(rv, reached)
            now = time.monotonic()
            if bookmarks and (now >= next_bookmark or deadline - now <= 1.0):
                self._chunk(bookmark(rv))
                next_bookmark = now + self.api.bookmark_interval
                if deadline - now <= 1.0:
                    bookmarks = False  # the one before the time-out is sent once
            left = deadline - now
            if left <= 0:
                break
            cache.wait(rv, min(left, next_bookmark - now if bookmarks else left, 1.0))
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


def _cluster_extras(client: Any, parts: list[str]) -> Obj | None:
    """What every real cluster answers and kubelab has no kind for, read by kubectl describe:
    each node's heartbeat Lease in kube-node-lease (kubelab's nodes renew theirs with the Ready heartbeat)."""
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


# -- who the learner is and what they may do ---------------------------------------------------
# The kubeconfig's user, authenticated by its token: in system:masters, cluster-admin.
LEARNER = rbac.LEARNER


def _review_body(body: Any, kind: str, group_version: str) -> Obj:
    body = body if isinstance(body, dict) else {}
    return {"kind": kind, "apiVersion": group_version,
            "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None},
            "spec": body.get("spec") or {}}


def _self_subject_review(body: Any, user: rbac.User, lister: rbac.Lister) -> Obj:
    """``kubectl auth whoami``: the user the token (or impersonation) stands for."""
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.info()}}


def _self_subject_access_review(body: Any, user: rbac.User, lister: rbac.Lister) -> Obj:
    """``kubectl auth can-i``: the authorizer's decision on the spec's attributes for the user
    (system:masters: yes with no reason, as the privileged-group authorizer answers)."""
    review = _review_body(body, "SelfSubjectAccessReview", "authorization.k8s.io/v1")
    spec = review["spec"]
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(non, dict) and not isinstance(res, dict):
        attrs = rbac.Attributes(non.get("verb", ""), resource_request=False, path=non.get("path", ""))
    else:
        res = res if isinstance(res, dict) else {}
        attrs = rbac.Attributes(res.get("verb", ""), api_group=res.get("group", ""), resource=res.get("resource", ""),
                                subresource=res.get("subresource", ""), namespace=res.get("namespace", ""),
                                name=res.get("name", ""))
    allowed, reason = rbac.authorize(user, attrs, lister)
    review["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
    return review


def _self_subject_rules_review(body: Any, user: rbac.User, lister: rbac.Lister) -> Obj:
    """``kubectl auth can-i --list``: the rules every binding of the user gives in the spec's
    namespace (the rule resolver's RulesFor)."""
    review = _review_body(body, "SelfSubjectRulesReview", "authorization.k8s.io/v1")
    resource, non_resource, error = rbac.rules_for(user, review["spec"].get("namespace") or "", lister)
    review["status"] = {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": bool(error),
                        **({"evaluationError": error} if error else {})}
    return review


# Served but not listed in discovery: kubelab's own kubectl lists KINDS' groups only, and the
# real kubectl reaches these through its typed clients without discovery.
_REVIEWS: dict[tuple[str, ...], Callable[[Any, rbac.User, rbac.Lister], Obj]] = {
    ("apis", "authentication.k8s.io", "v1", "selfsubjectreviews"): _self_subject_review,
    ("apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"): _self_subject_access_review,
    ("apis", "authorization.k8s.io", "v1", "selfsubjectrulesreviews"): _self_subject_rules_review,
}


def _scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of a Deployment, ReplicaSet, ReplicationController or StatefulSet."""
    from kubelab.api.tables import format_labels, selector_string

    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0),
                       "selector": (format_labels(spec.get("selector")) if obj["kind"] == "ReplicationController"
                                    else selector_string(spec.get("selector")))}}


def _as_v1(obj: Any) -> Any:
    """An answer in autoscaling/v1: its HorizontalPodAutoscalers converted (Tables and Status as they are)."""
    if isinstance(obj, dict) and obj.get("kind") == autoscaling_v1.KIND:
        return autoscaling_v1.to_v1(obj)
    if isinstance(obj, dict) and obj.get("kind") == f"{autoscaling_v1.KIND}List":
        return {**obj, "apiVersion": autoscaling_v1.V1, "items": [autoscaling_v1.to_v1(o) for o in obj["items"]]}
    return obj


def _with_kind(obj: Any, kind: Kind) -> Any:
    """A body's missing ``kind``/``apiVersion`` filled in from the URL, as the apiserver's
    decoder takes the request's group-version-kind as its default."""
    if isinstance(obj, dict):
        if not obj.get("kind"):
            obj["kind"] = kind.kind
        if not obj.get("apiVersion"):
            obj["apiVersion"] = kind.api_version
    return obj


def _check_body_kind(obj: Any, kind: Kind) -> None:
    if isinstance(obj, dict) and obj.get("kind") and obj.get("kind") != kind.kind:
        raise errors.bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the "
                                 f"expected API version ({kind.api_version})"
                                 if obj.get("apiVersion") != kind.api_version else
                                 f"the kind in the data ({obj.get('kind')}) does not match the expected kind")


def _go_bool(text: str | None) -> bool:
    """A boolean query parameter as Go's strconv.ParseBool reads it (the official Python
    client sends ``watch=True``)."""
    return (text or "") in ("1", "t", "T", "true", "TRUE", "True")


def _writable_subs(kind: Kind) -> tuple[str | None, ...]:
    """The subresources read and written as the object itself (a Pod's ephemeralcontainers
    carries the whole Pod, as kube-apiserver serves it for kubectl debug)."""
    return (None, "status", "ephemeralcontainers") if kind.kind == "Pod" else (None, "status")


def _no_such_sub() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource")
