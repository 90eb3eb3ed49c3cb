"""The served API's streaming subresources: ``pods/exec`` and ``pods/attach`` over WebSocket.

kubectl (1.30+: exec, attach, cp), the official Python client's ``kubernetes.stream`` and kr8s
open a WebSocket on ``GET .../pods/NAME/exec?command=...&stdin=true&tty=true`` and speak
Kubernetes' channel protocol inside it: every binary message starts with a channel byte (0
stdin, 1 stdout, 2 stderr, 3 error, 4 resize), and ``v5.channel.k8s.io`` adds 255, a client's
"close this stream" (``[255, 0]``: end of stdin). When the process ends the server writes a
``metav1.Status`` on channel 3 (Success, or NonZeroExitCode with an ExitCode cause) and closes
the socket normally; that Status is how the client learns the exit code. Facts from
apimachinery's httpstream/wsstream and remotecommand constants, client-go's
tools/remotecommand (websocket.go, v4.go, v5.go) and the kubelet's cri streaming server.

The framing is wsproto's (sans-IO, so it sits under BaseHTTPRequestHandler's socket); the
stream's other end is a :class:`kubelab.engine.session.Session` from the client seam.
"""
from __future__ import annotations

import json
import queue
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection,
                            RejectData, Request, TextMessage)

from kubelab.api.errors import StatusError

if TYPE_CHECKING:
    from kubelab.client import Client, PortForwardClient
    from kubelab.engine.session import Session

# remotecommand's stream protocol names, most preferred first (what kube-apiserver offers).
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
# The subresources served here.
SUBRESOURCES = ("exec", "attach", "portforward")
# kubectl 1.31+ tunnels port-forward's SPDY through a WebSocket with this subprotocol
# (client-go portforward/tunneling_dialer.go); older clients upgrade to SPDY directly.
PORTFORWARD_WEBSOCKET = "SPDY/3.1+portforward.k8s.io"
PORTFORWARD_PROTOCOL = "portforward.k8s.io"
# remotecommand over SPDY: the newest version the kubelet speaks there (v5 is WebSocket only)
SPDY_EXEC_PROTOCOL = "v4.channel.k8s.io"
# No message at all (kubectl pings every 5 s) for this long: the client is gone
# (client-go's pingReadDeadline is 12 pings and a second).
READ_DEADLINE = 61.0
# A port-forward idles as long as the learner keeps it open (kubectl sends nothing meanwhile).
FORWARD_IDLE = 24 * 3600.0
RECEIVE_SIZE = 65536


def is_websocket(headers: Any) -> bool:
    """An HTTP/1.1 upgrade to WebSocket (Connection: Upgrade, Upgrade: websocket)."""
    return (headers.get("Upgrade") or "").lower() == "websocket" and \
        "upgrade" in (headers.get("Connection") or "").lower()


def serve(handler: Any, client: "Client", sub: str, name: str, namespace: str) -> None:
    """Answer ``pods/NAME/{exec,attach,portforward}`` on ``handler``'s connection, start to end. Errors
    before the upgrade (no such pod, container not running, a plain HTTP request) raise the
    StatusError the caller sends as JSON, as kube-apiserver answers them."""
    if sub == "portforward":
        return _port_forward(handler, client, name, namespace)  # type: ignore[arg-type]
    query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    flag = lambda key: (query.get(key) or [""])[-1] in ("true", "1", "True")  # noqa: E731
    container = (query.get("container") or [""])[-1] or None
    tty, stdin = flag("tty"), flag("stdin")
    if not is_websocket(handler.headers):
        return _spdy(handler, client, sub, name, namespace, container, query, stdin, tty)
    ws = WSConnection(ConnectionType.SERVER)
    ws.initiate_upgrade_connection([(k.encode("latin-1"), v.encode("latin-1")) for k, v in handler.headers.items()],
                                   handler.path)
    request = next((e for e in ws.events() if isinstance(e, Request)), None)
    offered = list(request.subprotocols) if request is not None else []
    protocol = next((p for p in offered if p in PROTOCOLS), None)
    if protocol is None:
        return _reject(handler, ws, offered, PROTOCOLS)
    if sub == "exec":
        session = client.open_exec(name, namespace, container, list(query.get("command") or []), stdin, tty)
    else:
        session = client.open_attach(name, namespace, container, stdin, tty)
    handler.close_connection = True
    Stream(handler, client, ws, protocol, session, sub, query, stdin, tty).run()


def _spdy(handler: Any, client: "Client", sub: str, name: str, namespace: str, container: str | None,
          query: dict[str, list[str]], stdin: bool, tty: bool) -> None:
    """exec/attach upgraded to SPDY/3.1 (what kubectl falls back to when the WebSocket upgrade
    is refused, and what kubectl before 1.30 speaks). A refusal is what the kubelet says, in
    plain text: client-go's SPDY upgrade reports it as "unable to upgrade connection: <text>"."""
    if (handler.headers.get("Upgrade") or "").lower() != "spdy/3.1":
        raise StatusError(400, "BadRequest", "Upgrade request required")
    versions = [v.strip() for v in ",".join(handler.headers.get_all("X-Stream-Protocol-Version") or []).split(",")]
    try:
        if sub == "exec":
            session = client.open_exec(name, namespace, container, list(query.get("command") or []), stdin, tty)
        else:
            session = client.open_attach(name, namespace, container, stdin, tty)
    except StatusError as e:
        prefix = "unable to upgrade connection: "
        if not e.message.startswith(prefix):
            raise
        handler.close_connection = True
        return handler._send(e.message[len(prefix):].encode(), e.code, "text/plain; charset=utf-8")
    handler.close_connection = True
    if SPDY_EXEC_PROTOCOL not in versions:
        session.close()
        raise StatusError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client supports "
                                            f"{[v for v in versions if v]}, server supports [{SPDY_EXEC_PROTOCOL}]")
    SpdyStream(handler, client, session, sub, query, stdin, tty).run()


def _read_deadline(handler: Any, seconds: float) -> None:
    """The next read from the client may wait this long (a stream outlives a request's
    body time-out)."""
    handler.read_deadline(seconds)


def _reject(handler: Any, ws: WSConnection, offered: list[str], supported: tuple[str, ...]) -> None:
    status = StatusError(400, "BadRequest", f"unable to upgrade connection: requested protocol(s) are not "
                                            f"supported: {offered}; supports {list(supported)}").to_status()
    body = json.dumps(status, separators=(",", ":")).encode()
    handler.connection.sendall(ws.send(RejectConnection(400, [(b"content-type", b"application/json"),
                                                               (b"content-length", str(len(body)).encode())],
                                                        has_body=True)) + ws.send(RejectData(body)))
    handler.close_connection = True


class Stream:
    """One open WebSocket: the handler's thread reads (stdin, resize, close, pings), a writer
    thread sends what the process prints and, at its end, the Status and the close."""

    def __init__(self, handler: Any, client: "Client", ws: WSConnection, protocol: str, session: "Session",
                 sub: str, query: dict[str, list[str]], stdin: bool, tty: bool) -> None:
        self.handler, self.client, self.ws, self.protocol = handler, client, ws, protocol
        self.session, self.sub = session, sub
        self.channels = {STDOUT: (query.get("stdout") or ["true"])[-1] in ("true", "1", "True"),
                         STDERR: (query.get("stderr") or ["true"])[-1] in ("true", "1", "True") and not tty}
        self.stdin, self.tty = stdin, tty
        self.out: queue.Queue[bytes | None] = queue.Queue()  # b"": the process ended; None: stop
        self.send_lock = threading.Lock()
        self.gone = threading.Event()  # the client closed or the socket broke
        self.partial = b""

    def run(self) -> None:
        self._accept()
        writer = threading.Thread(target=self._write_loop, name="kubelab-stream-writer", daemon=True)
        writer.start()
        if self.ready_at_once:
            self._begin()
        try:
            self._read_loop()
        except Exception:  # noqa: BLE001 - a stream ends, it never prints a traceback into the kernel
            pass
        finally:
            self.gone.set()
            self.session.close()
            self.out.put(None)
            writer.join(5)

    ready_at_once = True  # a WebSocket's channels exist from the start; SPDY's streams come first

    def _accept(self) -> None:
        self._send(self.ws.send(AcceptConnection(subprotocol=self.protocol)))

    def _begin(self) -> None:
        """The client can receive: output flows (an exec's backlog first), and the end is watched."""
        self.session.subscribe(self._output)
        threading.Thread(target=self._wait_exit, name="kubelab-stream-exit", daemon=True).start()

    # -- from the process --------------------------------------------------------------------
    def _output(self, channel: int, data: bytes) -> None:
        """Called under the engine lock: queue only, the writer thread does the sending."""
        if self.channels.get(channel):
            self.out.put(bytes([channel]) + data)

    def _wait_exit(self) -> None:
        """Queue the end after everything the process printed (the session's done event)."""
        while not self.gone.is_set():
            if self.session.wait(1.0) is not None:
                self.out.put(b"")
                return

    def _write_loop(self) -> None:
        try:
            while not self.gone.is_set():
                item = self.out.get()
                if item is None:
                    return
                if not item:
                    self._finish()
                    return
                self._message(item)
        except Exception:  # noqa: BLE001 - a broken socket (or anything else) ends the stream quietly
            self.gone.set()

    def _status(self) -> bytes:
        """The error channel's Status (the kubelet's remotecommand writeStatus)."""
        code = self.session.exit_code
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code and self.sub == "exec":
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: command terminated with exit code {code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        return json.dumps(status, separators=(",", ":")).encode()

    def _finish(self) -> None:
        """The process ended: its Status on the error channel, then a normal close."""
        self._message(bytes([ERROR]) + self._status())
        with self.send_lock:
            self._send(self.ws.send(CloseConnection(code=1000)))

    def _message(self, data: bytes) -> None:
        with self.send_lock:
            self._send(self.ws.send(BytesMessage(data=data)))

    def _send(self, data: bytes) -> None:
        if data:
            self.handler.send_raw(data)

    # -- from the client ---------------------------------------------------------------------
    def _read_loop(self) -> None:
        while True:
            _read_deadline(self.handler, READ_DEADLINE)
            try:
                data = self.handler.rfile.read1(RECEIVE_SIZE)
            except (OSError, ValueError):
                return
            if not data:
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, CloseConnection):
                    if self.ws.state.name != "CLOSED":
                        with self.send_lock:
                            self._send(self.ws.send(event.response()))
                    return
                if isinstance(event, Ping):
                    with self.send_lock:
                        self._send(self.ws.send(event.response()))
                elif isinstance(event, (BytesMessage, TextMessage)):
                    # binary as the protocols say; the official Python client writes str stdin as
                    # text frames, which the apiserver reads as the same bytes
                    data = event.data.encode() if isinstance(event, TextMessage) else bytes(event.data)
                    self.partial += data
                    if event.message_finished:
                        message, self.partial = self.partial, b""
                        self._client_message(message)

    def _client_message(self, message: bytes) -> None:
        if not message:
            return
        channel, data = message[0], message[1:]
        if channel == STDIN and self.stdin:
            if data:
                self.session.write(data)
        elif channel == RESIZE:
            for size in _json_values(data):
                if isinstance(size, dict):
                    width, height = size.get("Width"), size.get("Height")
                    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
                        self.session.resize(width, height)
        elif channel == CLOSE and self.protocol == PROTOCOLS[0] and data[:1] == bytes([STDIN]):
            self.session.close_stdin()


class SpdyStream(Stream):
    """exec/attach for a client that upgraded to SPDY/3.1 (kubectl before 1.30, or with
    KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false): remotecommand v4 over SPDY streams, one per
    channel, named by their ``streamtype`` header; the end of stdin is its stream's FIN."""

    ready_at_once = False
    TYPES = {"error": ERROR, "stdin": STDIN, "stdout": STDOUT, "stderr": STDERR, "resize": RESIZE}

    def __init__(self, handler: Any, client: "Client", session: "Session", sub: str, query: dict[str, list[str]],
                 stdin: bool, tty: bool) -> None:
        from kubelab.spdy import Framer

        super().__init__(handler, client, None, SPDY_EXEC_PROTOCOL, session, sub, query, stdin, tty)  # type: ignore[arg-type]
        self.framer = Framer()
        self.ids: dict[int, int] = {}  # channel -> stream id
        self.expected = {ERROR, *((STDIN,) if stdin else ()), *(c for c, on in self.channels.items() if on),
                         *((RESIZE,) if tty else ())}
        self.begun = False

    def _accept(self) -> None:
        self._send(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                   b"X-Stream-Protocol-Version: " + SPDY_EXEC_PROTOCOL.encode() + b"\r\n\r\n")

    def _message(self, data: bytes) -> None:
        stream = self.ids.get(data[0])
        if stream is not None:
            with self.send_lock:
                self._send(self.framer.data(stream, data[1:]))

    def _finish(self) -> None:
        out = self.framer.data(self.ids[ERROR], self._status(), fin=True)
        for channel in (STDOUT, STDERR):
            if channel in self.ids:
                out += self.framer.data(self.ids[channel], fin=True)
        with self.send_lock:
            self._send(out)

    def _read_loop(self) -> None:
        from kubelab import spdy

        while True:
            _read_deadline(self.handler, FORWARD_IDLE if self.tty else READ_DEADLINE * 10)
            data = self.handler.rfile.read1(RECEIVE_SIZE)
            if not data:
                return
            for frame in self.framer.feed(data):
                if frame.type == spdy.SYN_STREAM:
                    channel = self.TYPES.get(frame.headers.get("streamtype", ""))
                    with self.send_lock:
                        self._send(self.framer.syn_reply(frame.stream))
                    if channel is not None:
                        self.ids[channel] = frame.stream
                    if not self.begun and self.expected <= set(self.ids):
                        self.begun = True
                        self._begin()
                elif frame.type == 0:
                    channel = next((c for c, i in self.ids.items() if i == frame.stream), None)
                    if channel in (STDIN, RESIZE) and frame.data:
                        self._client_message(bytes([channel]) + frame.data)
                    if channel == STDIN and frame.fin:
                        self.session.close_stdin()
                elif frame.type == spdy.PING:
                    with self.send_lock:
                        self._send(self.framer.ping(frame.value))
                elif frame.type == spdy.GOAWAY:
                    return


def _json_values(data: bytes) -> list[Any]:
    """The JSON values in one resize message (client-go's encoder writes one per message, each
    followed by a newline; tolerate several)."""
    decoder = json.JSONDecoder()
    text = data.decode(errors="replace")
    values, at = [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return values
        try:
            value, at = decoder.raw_decode(text, at)
        except ValueError:
            return values
        values.append(value)


# -- port-forward ---------------------------------------------------------------------------------
def _port_forward(handler: Any, client: "PortForwardClient", name: str, namespace: str) -> None:
    """``pods/NAME/portforward``: SPDY streams, tunnelled in a WebSocket or over the upgraded
    connection itself. Each forwarded connection is a pair of streams (``streamtype`` error and
    data, one ``requestid``, the pod ``port``), as the kubelet's httpstream server reads them."""
    client.get("Pod", name, namespace)  # NotFound before any upgrade, as kube-apiserver answers
    headers = handler.headers
    handler.close_connection = True
    if is_websocket(headers):
        ws = WSConnection(ConnectionType.SERVER)
        ws.initiate_upgrade_connection([(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
                                       handler.path)
        request = next((e for e in ws.events() if isinstance(e, Request)), None)
        offered = list(request.subprotocols) if request is not None else []
        if PORTFORWARD_WEBSOCKET not in offered:
            return _reject(handler, ws, offered, (PORTFORWARD_WEBSOCKET,))
        handler.connection.sendall(ws.send(AcceptConnection(subprotocol=PORTFORWARD_WEBSOCKET)))
        PortForward(handler, client, name, namespace, ws).run()
        return
    if (headers.get("Upgrade") or "").lower() != "spdy/3.1":
        raise StatusError(400, "BadRequest", "Upgrade request required")
    versions = [v.strip() for v in ",".join(headers.get_all("X-Stream-Protocol-Version") or []).split(",")]
    if PORTFORWARD_PROTOCOL not in versions:
        raise StatusError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client supports "
                                            f"{[v for v in versions if v]}, server supports [{PORTFORWARD_PROTOCOL}]")
    handler.connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                               b"X-Stream-Protocol-Version: " + PORTFORWARD_PROTOCOL.encode() + b"\r\n\r\n")
    PortForward(handler, client, name, namespace, None).run()


class PortForward:
    """One port-forward connection: SPDY frames in, one HTTP exchange per forwarded connection
    through the client seam's ``port_forward_request`` (the same path kubelab's own kubectl
    forwards with), the answer and the error stream's message out."""

    def __init__(self, handler: Any, client: "PortForwardClient", name: str, namespace: str,
                 ws: WSConnection | None) -> None:
        from kubelab.spdy import Framer

        self.handler, self.client, self.name, self.namespace, self.ws = handler, client, name, namespace, ws
        self.framer = Framer()
        self.lock = threading.Lock()
        self.kinds: dict[int, tuple[str, str, str]] = {}  # stream -> (streamtype, requestid, port)
        self.pairs: dict[str, dict[str, int]] = {}  # requestid -> {"error": stream, "data": stream}
        self.received: dict[int, bytes] = {}
        self.ended: set[int] = set()  # streams the client half-closed
        self.answered: set[str] = set()

    def run(self) -> None:
        pending = b""
        try:
            while True:
                _read_deadline(self.handler, FORWARD_IDLE)
                data = self.handler.rfile.read1(RECEIVE_SIZE)
                if not data:
                    return
                if self.ws is None:
                    self._frames(data)
                    continue
                self.ws.receive_data(data)
                for event in self.ws.events():
                    if isinstance(event, CloseConnection):
                        if self.ws.state.name != "CLOSED":
                            self._send(self.ws.send(event.response()))
                        return
                    if isinstance(event, Ping):
                        self._send(self.ws.send(event.response()))
                    elif isinstance(event, BytesMessage):
                        pending += bytes(event.data)
                        if event.message_finished:
                            self._frames(pending)
                            pending = b""
        except Exception:  # noqa: BLE001 - bad SPDY, a broken socket, the pod gone: the forward ends quietly
            return

    def _send(self, data: bytes) -> None:
        if data:
            with self.lock:
                self.handler.send_raw(data)

    def _out(self, data: bytes) -> None:
        """SPDY bytes to the client: raw, or as one binary WebSocket message."""
        if self.ws is not None:
            with self.lock:
                self.handler.send_raw(self.ws.send(BytesMessage(data=data)))
        else:
            self._send(data)

    def _frames(self, data: bytes) -> None:
        from kubelab import spdy

        for frame in self.framer.feed(data):
            if frame.type == spdy.SYN_STREAM:
                h = frame.headers
                kind, request, port = h.get("streamtype", ""), h.get("requestid", ""), h.get("port", "")
                self.kinds[frame.stream] = (kind, request, port)
                self.pairs.setdefault(request, {})[kind] = frame.stream
                self._out(self.framer.syn_reply(frame.stream))
                if frame.fin:
                    self.ended.add(frame.stream)
            elif frame.type == 0:
                self.received[frame.stream] = self.received.get(frame.stream, b"") + frame.data
                if frame.fin:
                    self.ended.add(frame.stream)
            elif frame.type == spdy.PING:
                self._out(self.framer.ping(frame.value))
            elif frame.type == spdy.RST_STREAM:
                self.ended.add(frame.stream)
                self.received.pop(frame.stream, None)
            elif frame.type == spdy.GOAWAY:
                raise OSError("the client went away")
            if frame.stream in self.kinds:
                self._maybe_answer(self.kinds[frame.stream][1])

    def _maybe_answer(self, request: str) -> None:
        """When a request's data stream holds a whole HTTP request, deliver it and answer."""
        from kubelab.client import PortForwardError
        from kubelab.kubectl.portforward import parse_request, response_bytes

        streams = self.pairs.get(request) or {}
        if request in self.answered or "data" not in streams or "error" not in streams:
            return
        data_id, error_id = streams["data"], streams["error"]
        port_text = self.kinds[data_id][2]
        parsed = parse_request(self.received.get(data_id, b""), ended=data_id in self.ended)
        if parsed == "more":
            return
        self.answered.add(request)
        reply: bytes = b""
        message = ""
        if parsed == "bad":  # what Node's HTTP server answers to bytes that are not HTTP
            reply = response_bytes(400, "Bad Request", {"Connection": "close"}, "", False)
        elif parsed is not None and port_text.isdigit():
            method, path, headers, body = parsed  # type: ignore[misc]
            try:
                answer = self.client.port_forward_request(self.name, self.namespace, int(port_text), method, path,
                                                          headers, body)
            except PortForwardError as err:
                message = str(err)
            else:
                if answer is not None:
                    status, reason, head, text = answer
                    reply = response_bytes(status, reason, head, text, method != "HEAD")
        elif not port_text.isdigit():
            message = f'invalid port "{port_text}"'
        out = (self.framer.data(data_id, reply) if reply else b"") + self.framer.data(data_id, fin=True)
        out += (self.framer.data(error_id, message.encode()) if message else b"") + self.framer.data(error_id, fin=True)
        self._out(out)
        self.received.pop(data_id, None)
