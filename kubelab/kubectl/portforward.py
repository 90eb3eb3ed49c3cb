"""``kubectl port-forward``: a real local port that reaches a container port in the cluster.

As with kubectl, the local listener is opened on this side (kubectl's, not the cluster's): a
socket bound to 127.0.0.1 only, each connection carried to the pod through the client seam
(:meth:`kubelab.client.PortForwardClient.port_forward_request`, one HTTP request per
connection, which is what the simulated containers speak).

Differences from kubectl 1.32, because a notebook cell must end:

* the forward runs in the background (a daemon thread) and the command returns once it
  listens; real kubectl blocks until Ctrl-C. ``kubectl port-forward --stop [LOCAL_PORT...]``
  (kubelab's own flag) ends the forwards (all, or those on the given local ports) and prints
  what they would have printed in a terminal meanwhile (``Handling connection for 8080``,
  errors) and was not shown yet: in a notebook the port-forward cell shows those lines as they
  come (:meth:`Forward.follow`). Forwards also end with the cluster: on ``%kube reset`` and when the cluster
  object is garbage-collected.
* only IPv4 loopback is used, so only the ``Forwarding from 127.0.0.1:...`` line is printed
  (kubectl also listens on ``[::1]`` and prints a line for it); ``--address`` accepts only
  ``localhost`` and ``127.0.0.1``.
"""
from __future__ import annotations

import errno
import ipaddress
import json
import os
import selectors
import socket
import threading
import time
import weakref
from typing import Any, Callable

from kubelab.api.objects import Obj
from kubelab.api.pods import is_ready, ready_condition
from kubelab.client import Client, PortForwardClient, PortForwardError
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, command, error
from kubelab.kubectl.describe import format_selector, parse_time
from kubelab.kubectl.gosort import go_sort


LISTEN_ADDRESS = "127.0.0.1"
READ_TIMEOUT = 30.0  # a connection that sends no request is closed after this long
MAX_HEAD = 64 * 1024

_SELECTOR_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")


# -- the running forwards ---------------------------------------------------------------------
class Forward:
    """One ``kubectl port-forward``: its listening sockets and what it printed after starting.

    It holds its client only weakly, so a cluster nobody uses any more can be collected; the
    forward closes with it."""

    def __init__(self, client: PortForwardClient, pod: str, namespace: str) -> None:
        self._client = weakref.ref(client)
        self.pod = pod
        self.namespace = namespace
        self.listeners: list[tuple[socket.socket, int, int]] = []  # (socket, local, remote)
        self.log: list[tuple[str, str]] = []  # ("out" | "err", line) printed while running
        self.shown = 0  # how much of the log was already shown (by ``--stop``, or live to a follower)
        self._followers: list[Callable[[str, str], None]] = []
        self.active = True
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()

    @property
    def ports(self) -> list[tuple[int, int]]:
        """``(local, remote)`` for each listening port."""
        return [(local, remote) for _, local, remote in self.listeners]

    def listen(self, local: int, remote: int) -> int:
        """Bind 127.0.0.1:local (0 picks a free port); returns the bound port. Raises OSError."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's net.Listen does
            sock.bind((LISTEN_ADDRESS, local))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        self.listeners.append((sock, port, remote))
        self._selector.register(sock, selectors.EVENT_READ, (port, remote))
        return port

    def start(self) -> None:
        threading.Thread(target=self._accept_loop, name=f"kubectl-port-forward-{self.pod}", daemon=True).start()

    def close(self) -> None:
        """Stop listening at once (the ports are free when this returns)."""
        with self._lock:
            if not self.active:
                return
            self.active = False
            for sock, _, _ in self.listeners:
                try:
                    self._selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()

    def follow(self, show: Callable[[str, str], None]) -> None:
        """Hand each line to ``show(stream, line)`` as it is printed, as a terminal shows it (a
        notebook cell keeps growing); what it was handed, ``--stop`` does not print again."""
        with self._lock:
            backlog = self.log[self.shown:]
            self.shown = len(self.log)
            self._followers.append(show)
        for stream, line in backlog:
            show(stream, line)

    def emit(self, stream: str, line: str) -> None:
        with self._lock:
            self.log.append((stream, line))
            followers = list(self._followers)
            if followers:
                self.shown = len(self.log)
        for show in followers:
            show(stream, line)

    def _accept_loop(self) -> None:
        while self.active:
            try:
                events = self._selector.select(0.2)
            except (OSError, ValueError):
                break
            for key, _ in events:
                try:
                    conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                local, remote = key.data
                threading.Thread(target=self._handle, args=(conn, local, remote), daemon=True,
                                 name=f"kubectl-port-forward-{local}").start()
        self._selector.close()

    def _handle(self, conn: socket.socket, local: int, remote: int) -> None:
        self.emit("out", f"Handling connection for {local}")
        with conn:
            conn.setblocking(True)
            conn.settimeout(READ_TIMEOUT)
            try:
                request = _read_request(conn)
            except OSError:
                return
            if request is None:
                return
            if request == "bad":  # what Node's HTTP server answers to bytes that are not HTTP
                _send(conn, 400, "Bad Request", {"Connection": "close"}, "", False)
                return
            client = self._client()
            if client is None or not self.active:
                return
            method, path, headers, body = request
            try:
                reply = client.port_forward_request(self.pod, self.namespace, remote, method, path, headers, body)
            except PortForwardError as err:
                # client-go logs the error stream's message, closes the stream connection, and
                # kubectl exits: the whole forward is over.
                message = json.dumps(f"an error occurred forwarding {local} -> {remote}: {err}", ensure_ascii=False)
                self.emit("err", f'{_klog_header(client.now())} portforward.go:424] "Unhandled Error" err={message}')
                self.emit("err", "error: lost connection to pod")
                self.close()
                return
            if reply is None:
                return
            status, reason, head, text = reply
            try:
                _send(conn, status, reason, head, text, method != "HEAD")
            except OSError:
                return


def _klog_header(now: float) -> str:
    """klog's ``Lmmdd hh:mm:ss.uuuuuu threadid`` prefix for an error line."""
    t = time.gmtime(now)
    micros = int(round((now % 1) * 1e6)) % 1000000
    return f"E{t.tm_mon:02d}{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{micros:06d} {os.getpid():>7}"


def _read_request(conn: socket.socket) -> tuple[str, str, dict[str, str], str] | str | None:
    """One HTTP/1.x request off the connection; None when the peer sent nothing, ``"bad"``
    when what it sent is not HTTP."""
    data = b""
    while True:
        chunk = conn.recv(65536)
        data += chunk
        parsed = parse_request(data, ended=not chunk)
        if parsed != "more":
            return parsed


def parse_request(data: bytes, ended: bool) -> tuple[str, str, dict[str, str], str] | str | None:
    """One HTTP/1.x request at the start of ``data`` (method, path, headers, body); ``"more"``
    while it is incomplete and the peer may send more, ``"bad"`` when it is not HTTP, None
    when the peer ended having sent nothing. The served port-forward stream reads with it too."""
    if b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return "bad"
        if ended:
            return None if not data.strip() else "bad"
        return "more"
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return "bad"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return "bad"
        headers[name.strip()] = value.strip()
    length = next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
    if not length.isdigit():
        return "bad"
    if len(rest) < int(length) and not ended:
        return "more"
    return parts[0], parts[1], headers, rest[: int(length)].decode("utf-8", "replace")


def response_bytes(status: int, reason: str, head: dict[str, str], body: str, with_body: bool) -> bytes:
    """An HTTP/1.1 response as it goes back through a forward (the connection then closes)."""
    data = body.encode()
    head = {**head, "Content-Length": str(len(data)), "Connection": "close"}
    text = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    return text.encode("latin-1") + (data if with_body else b"")


def _send(conn: socket.socket, status: int, reason: str, head: dict[str, str], body: str, with_body: bool) -> None:
    conn.sendall(response_bytes(status, reason, head, body, with_body))


_FORWARDS: "weakref.WeakKeyDictionary[Any, list[Forward]]" = weakref.WeakKeyDictionary()


def forwards(client: Client) -> list[Forward]:
    """The forwards started against ``client`` and not yet stopped (ended ones included until
    ``--stop`` has shown what they printed)."""
    return list(_FORWARDS.get(client, ()))


def stop_all(client: Client) -> None:
    """End every forward of ``client`` (``%kube reset`` does this before making a new cluster)."""
    for forward in _FORWARDS.pop(client, []):
        forward.close()


def _register(client: Client, forward: Forward) -> None:
    _FORWARDS.setdefault(client, []).append(forward)
    weakref.finalize(client, forward.close)  # the forward must not outlive its cluster


# -- choosing the pod -------------------------------------------------------------------------
def _ready_since(pod: Obj) -> float | None:
    cond = ready_condition(pod) if is_ready(pod) else None
    return None if cond is None else parse_time(cond.get("lastTransitionTime")) or 0.0


def _less_active(a: Obj, b: Obj) -> bool:
    """podutils.ActivePods' Less: is ``a`` less worth forwarding to than ``b``?"""
    na, nb = (a.get("spec") or {}).get("nodeName") or "", (b.get("spec") or {}).get("nodeName") or ""
    if na != nb and (not na or not nb):
        return not na
    rank = {"Pending": 0, "Unknown": 1, "Running": 2}
    pa, pb = (rank.get((p.get("status") or {}).get("phase", ""), 0) for p in (a, b))
    if pa != pb:
        return pa < pb
    ra, rb = _ready_since(a), _ready_since(b)
    if (ra is None) != (rb is None):
        return ra is None
    if ra is not None and rb is not None and ra != rb:
        return _after_or_zero(ra, rb)
    ca, cb = (max([c.get("restartCount", 0) for c in (p.get("status") or {}).get("containerStatuses") or ()] or [0])
              for p in (a, b))
    if ca != cb:
        return ca > cb
    ta, tb = (parse_time(p["metadata"].get("creationTimestamp")) or 0.0 for p in (a, b))
    if ta != tb:
        return _after_or_zero(ta, tb)
    return False


def _after_or_zero(t1: float, t2: float) -> bool:
    if not t1 or not t2:
        return not t1
    return t1 > t2


def _first_pod(ctx: Context, selector: str, timeout: float) -> Obj:
    """GetFirstPod: the most active matching pod, waiting up to ``timeout`` for one to appear."""
    found: list[Obj] = []

    def any_pod() -> bool:
        found[:] = ctx.client.list("Pod", ctx.namespace, label_selector=selector or None)["items"]
        return bool(found)

    if not any_pod() and not ctx.client.wait(any_pod, timeout):
        raise error("timed out waiting for the condition")
    return go_sort(found, lambda a, b: _less_active(b, a))[0]


def _forwardable_pod(ctx: Context, obj: Obj, timeout: float) -> Obj:
    """polymorphichelpers.AttachablePodForObject: the pod itself, or one its owner selects."""
    kind = obj.get("kind", "")
    if kind == "Pod":
        return obj
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    if kind == "Service":
        if not spec.get("selector"):
            raise error(f"invalid service '{name}': Service is defined without a selector")
        selector = ",".join(f"{k}={v}" for k, v in sorted(spec["selector"].items()))
    elif kind in _SELECTOR_KINDS:
        raw = spec.get("selector") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(raw.items())) if kind == "ReplicationController" \
            else format_selector(raw)
    else:
        version = obj.get("apiVersion", "v1").rpartition("/")[2]
        raise error(f"cannot attach to *{version}.{kind}: not implemented")
    return _first_pod(ctx, selector, timeout)


# -- ports ------------------------------------------------------------------------------------
def _split(port: str) -> tuple[str, str]:
    parts = port.split(":")
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[0])


def _named_container_port(pod: Obj, name: str) -> int:
    for c in (pod.get("spec") or {}).get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == name:
                return p["containerPort"]
    raise error(f"Pod '{pod['metadata']['name']}' does not have a named port '{name}'")


def _is_number(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _service_ports(ports: list[str], svc: Obj, pod: Obj) -> list[str]:
    """translateServicePortToTargetPort: a Service port becomes the pod's target port."""
    spec = svc.get("spec") or {}
    out = []
    for port in ports:
        local, remote = _split(port)
        if _is_number(remote):
            number = int(remote)
        else:
            match = next((p for p in spec.get("ports") or () if p.get("name") == remote), None)
            if match is None:
                raise error(f"Service '{svc['metadata']['name']}' does not have a named port '{remote}'")
            number = match["port"]
            if local == remote:
                local = str(number)
        svc_port = next((p for p in spec.get("ports") or () if p.get("port") == number), None)
        if svc_port is None:
            raise error(f"Service {svc['metadata']['name']} does not have a service port {number}")
        target = svc_port.get("targetPort")
        if spec.get("clusterIP") == "None":
            container = number
        elif isinstance(target, str) and not _is_number(target):
            container = _named_container_port(pod, target)
        else:
            container = int(target or 0) or number
        remote = str(container)
        out.append(f"{local}:{remote}" if local != remote else remote)
    return out


def _pod_ports(ports: list[str], pod: Obj) -> list[str]:
    """convertPodNamedPortToNumber: named container ports become numbers."""
    out = []
    for port in ports:
        local, remote = _split(port)
        if remote == "":
            raise error("remote port cannot be empty")
        number = remote if _is_number(remote) else str(_named_container_port(pod, remote))
        out.append(f"{local}:{number}" if local != remote else number)
    return out


def _check_udp(ports: list[str], declared: list[tuple[int, str]], named: dict[str, int], what: str) -> None:
    """Forwarding carries TCP only: refuse a port declared for UDP alone."""
    udp = {n for n, proto in declared if proto == "UDP"} - {n for n, proto in declared if proto == "TCP"}
    for port in ports:
        _, remote = _split(port)
        if _is_number(remote):
            number = int(remote)
        elif remote in named:
            number = named[remote]
        else:
            raise error(f"{what} does not have a named port '{remote}'")
        if number in udp:
            raise error(f"UDP protocol is not supported for {remote}")


def _parse_ports(ports: list[str]) -> list[tuple[int, int]]:
    """client-go's parsePorts, with strconv's wording."""
    out = []
    for text in ports:
        parts = text.split(":")
        if len(parts) == 1:
            local, remote = parts[0], parts[0]
        elif len(parts) == 2:
            local, remote = parts[0] or "0", parts[1]
        else:
            raise error(f"invalid port format '{text}'")
        numbers = []
        for label, value in (("local", local), ("remote", remote)):
            if not value.isdigit():
                raise error(f"error parsing {label} port '{value}': strconv.ParseUint: parsing {json.dumps(value)}: "
                            "invalid syntax")
            if int(value) > 65535:
                raise error(f"error parsing {label} port '{value}': strconv.ParseUint: parsing {json.dumps(value)}: "
                            "value out of range")
            numbers.append(int(value))
        if numbers[1] == 0:
            raise error("remote port must be > 0")
        out.append((numbers[0], numbers[1]))
    return out


def _check_addresses(addresses: list[str]) -> None:
    if not addresses:
        raise error("you must specify at least 1 address")
    for address in addresses:
        if address == "localhost":
            continue
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise error(f"{address} is not a valid IP") from None
        if str(ip) != LISTEN_ADDRESS:
            raise error(f"kubelab only listens on 127.0.0.1 (localhost): --address {address} is not allowed "
                        "here, so that nothing outside this machine can reach the forwarded port")


def _bind_error(err: OSError, local: int) -> str:
    text = {errno.EADDRINUSE: "address already in use", errno.EACCES: "permission denied"}.get(
        err.errno or 0, (err.strerror or str(err)).lower())
    return f"unable to create listener: Error listen tcp4 {LISTEN_ADDRESS}:{local}: bind: {text}"


# -- the command --------------------------------------------------------------------------------
HELP = """\
Forward one or more local ports to a pod.

 Name the pod with TYPE/NAME (deployment/mydeployment, service/myservice): one pod it selects is
 used, and the forward ends when that pod goes away. A bare NAME is a pod.

 In kubelab the forward runs in the background and the command returns at once (kubectl itself
 runs until Ctrl-C). It listens on 127.0.0.1 only. End it with --stop.

Examples:
  # Local port 8080 to the Service's port 80 (the targetPort of one of its pods)
  kubectl port-forward svc/my-echo-server-service 8080:80

  # The same port number on both sides
  kubectl port-forward pod/mypod 3000

  # A free local port, picked for you
  kubectl port-forward deploy/mydeployment :3000

  # Stop every forward, or only the one on local port 8080
  kubectl port-forward --stop
  kubectl port-forward --stop 8080

Options:
    --address=[localhost]:
\tAddresses to listen on (comma separated). kubelab accepts only localhost and 127.0.0.1.

    --pod-running-timeout=1m0s:
\tHow long to wait for at least one pod to exist (e.g. 5s, 2m).

    --stop=false:
\tkubelab's own: stop the forwards (all, or those on the LOCAL_PORTs given) and print what they
\tprinted while running.

Usage:
  kubectl port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]
  kubectl port-forward --stop [LOCAL_PORT...]
"""


@command("port-forward", fl.Flag("address", type=fl.STRING_SLICE, default=["localhost"]),
         fl.Flag("pod-running-timeout", type=fl.DURATION, default=60.0), fl.Flag("stop", type=fl.BOOL),
         fl.Flag("help", "h", fl.BOOL), short="Forward one or more local ports to a pod")
def port_forward(ctx: Context, args: list[str]) -> int:
    if ctx.flags.get("help"):
        ctx.out.write(HELP)
        return 0
    if ctx.flags.get("stop"):
        return _stop(ctx, args)
    if len(args) < 2:
        raise ctx.usage_error("TYPE/NAME and list of ports are required for port-forward")
    if ctx.flags.get("pod-running-timeout") <= 0:
        raise ctx.usage_error("--pod-running-timeout must be higher than zero")
    if not hasattr(ctx.client, "port_forward_request"):
        raise error("this cluster's client cannot carry port-forward traffic")
    obj = _resolve(ctx, args[0])
    pod = _forwardable_pod(ctx, obj, ctx.flags.get("pod-running-timeout"))
    ports = args[1:]
    if obj.get("kind") == "Service":
        spec = obj.get("spec") or {}
        declared = [(p.get("port"), p.get("protocol", "TCP")) for p in spec.get("ports") or ()]
        named = {p["name"]: p["port"] for p in spec.get("ports") or () if p.get("name")}
        _check_udp(ports, declared, named, f"Service '{obj['metadata']['name']}'")
        ports = _service_ports(ports, obj, pod)
    else:
        containers = (pod.get("spec") or {}).get("containers") or ()
        declared = [(p.get("containerPort"), p.get("protocol", "TCP")) for c in containers for p in c.get("ports") or ()]
        named = {p["name"]: p["containerPort"] for c in containers for p in c.get("ports") or () if p.get("name")}
        _check_udp(ports, declared, named, f"Pod '{pod['metadata']['name']}'")
        ports = _pod_ports(ports, pod)
    name = pod["metadata"]["name"]
    current = ctx.client.get("Pod", name, ctx.namespace)
    phase = (current.get("status") or {}).get("phase", "")
    if phase != "Running":
        raise error(f"unable to forward port because pod is not running. Current status={phase}")
    _check_addresses(ctx.flags.get("address"))
    pairs = _parse_ports(ports)
    forward = Forward(ctx.client, name, ctx.namespace)
    listening = []
    for local, remote in pairs:
        try:
            bound = forward.listen(local, remote)
        except OSError as err:
            ctx.eprint(f"Unable to listen on port {local}: Listeners failed to create with the following errors: "
                       f"[{_bind_error(err, local)}]")
            listening.append((local, remote))
            continue
        listening.append((bound, remote))
        ctx.print(f"Forwarding from {LISTEN_ADDRESS}:{bound} -> {remote}")
    if not forward.listeners:
        raise error("unable to listen on any of the requested ports: ["
                    + " ".join(f"{{{local} {remote}}}" for local, remote in listening) + "]")
    _register(ctx.client, forward)
    forward.start()
    return 0


def _resolve(ctx: Context, word: str) -> Obj:
    """The object ``NAME`` (a pod) or ``TYPE/NAME`` names."""
    from kubelab.api.kinds import lookup

    kind_word, slash, name = word.partition("/")
    if not slash:
        return ctx.client.get("Pod", word, ctx.namespace)
    if not name:
        raise error("arguments in resource/name form must have a single resource and name")
    return ctx.client.get(lookup(kind_word).kind, name, ctx.namespace)


def _stop(ctx: Context, args: list[str]) -> int:
    """kubelab's ``--stop [LOCAL_PORT...]``: end forwards, showing what they printed."""
    for word in args:
        if not word.isdigit():
            raise error(f"--stop takes local port numbers, not {word!r}")
    wanted = {int(w) for w in args}
    running = forwards(ctx.client)
    chosen = [f for f in running if not wanted or wanted & {local for local, _ in f.ports}]
    if not chosen:
        if wanted:
            raise error("no port-forward is listening on port " + ", ".join(str(p) for p in sorted(wanted)))
        raise error("no port-forward is running")
    for forward in chosen:
        was_active = forward.active
        forward.close()
        for stream, line in forward.log[forward.shown:]:
            (ctx.print if stream == "out" else ctx.eprint)(line)
        forward.shown = len(forward.log)
        if was_active:
            for local, remote in forward.ports:
                ctx.print(f"Stopped forwarding from {LISTEN_ADDRESS}:{local} -> {remote}")
        _FORWARDS.get(ctx.client, []).remove(forward)
    return 0

