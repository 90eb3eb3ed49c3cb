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
import socket
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection,
                            RejectData, Request, TextMessage)

from kubelab.api.errors import StatusError

if TYPE_CHECKING:
    from kubelab.engine.session import Session

# remotecommand's stream protocol names, most preferred first (what kube-apiserver offers).
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
# The subresources served here (kubectl port-forward is not yet: it tunnels SPDY).
SUBRESOURCES = ("exec", "attach")
# No message at all (kubectl pings every 5 s) for this long: the client is gone
# (client-go's pingReadDeadline is 12 pings and a second).
READ_DEADLINE = 61.0
# How often an open stream lets a real-clock cluster catch up while nothing else asks.
NUDGE_SECONDS = 0.1
RECEIVE_SIZE = 65536


def is_websocket(headers: Any) -> bool:
    """An HTTP/1.1 upgrade to WebSocket (Connection: Upgrade, Upgrade: websocket)."""
    return (headers.get("Upgrade") or "").lower() == "websocket" and \
        "upgrade" in (headers.get("Connection") or "").lower()


def serve(handler: Any, client: Any, sub: str, name: str, namespace: str) -> None:
    """Answer ``pods/NAME/{exec,attach}`` on ``handler``'s connection, start to end. Errors
    before the upgrade (no such pod, container not running, a plain HTTP request) raise the
    StatusError the caller sends as JSON, as kube-apiserver answers them."""
    if not is_websocket(handler.headers):
        raise StatusError(400, "BadRequest", "Upgrade request required")
    query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    flag = lambda key: (query.get(key) or [""])[-1] in ("true", "1", "True")  # noqa: E731
    container = (query.get("container") or [""])[-1] or None
    tty, stdin = flag("tty"), flag("stdin")
    ws = WSConnection(ConnectionType.SERVER)
    ws.initiate_upgrade_connection([(k.encode("latin-1"), v.encode("latin-1")) for k, v in handler.headers.items()],
                                   handler.path)
    request = next((e for e in ws.events() if isinstance(e, Request)), None)
    offered = list(request.subprotocols) if request is not None else []
    protocol = next((p for p in offered if p in PROTOCOLS), None)
    if protocol is None:
        status = StatusError(400, "BadRequest", f"unable to upgrade connection: requested protocol(s) are not "
                                                f"supported: {offered}; supports {list(PROTOCOLS)}").to_status()
        body = json.dumps(status, separators=(",", ":")).encode()
        handler.connection.sendall(ws.send(RejectConnection(400, [(b"content-type", b"application/json"),
                                                                   (b"content-length", str(len(body)).encode())],
                                                            has_body=True)) + ws.send(RejectData(body)))
        handler.close_connection = True
        return
    if sub == "exec":
        session = client.open_exec(name, namespace, container, list(query.get("command") or []), stdin, tty)
    else:
        session = client.open_attach(name, namespace, container, stdin, tty)
    handler.close_connection = True
    Stream(handler, client, ws, protocol, session, sub, query, stdin, tty).run()


class Stream:
    """One open WebSocket: the handler's thread reads (stdin, resize, close, pings), a writer
    thread sends what the process prints and, at its end, the Status and the close."""

    def __init__(self, handler: Any, client: Any, ws: WSConnection, protocol: str, session: "Session",
                 sub: str, query: dict[str, list[str]], stdin: bool, tty: bool) -> None:
        self.handler, self.client, self.ws, self.protocol = handler, client, ws, protocol
        self.sock: socket.socket = handler.connection
        self.session, self.sub = session, sub
        self.command = list(query.get("command") or [])
        self.channels = {STDOUT: (query.get("stdout") or ["true"])[-1] in ("true", "1", "True"),
                         STDERR: (query.get("stderr") or ["true"])[-1] in ("true", "1", "True") and not tty}
        self.stdin, self.tty = stdin, tty
        self.out: queue.Queue[bytes | None] = queue.Queue()  # b"": the process ended; None: stop
        self.send_lock = threading.Lock()
        self.gone = threading.Event()  # the client closed or the socket broke
        self.partial = b""

    def run(self) -> None:
        self._send(self.ws.send(AcceptConnection(subprotocol=self.protocol)))
        self.session.subscribe(self._output)
        writer = threading.Thread(target=self._write_loop, name="kubelab-stream-writer", daemon=True)
        writer.start()
        threading.Thread(target=self._wait_exit, name="kubelab-stream-exit", daemon=True).start()
        try:
            self._read_loop()
        finally:
            self.gone.set()
            self.session.close()
            self.out.put(None)
            writer.join(5)

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
                try:
                    item = self.out.get(timeout=NUDGE_SECONDS)
                except queue.Empty:
                    self.client.wait(lambda: True, 0)  # let a real-clock cluster catch up
                    continue
                if item is None:
                    return
                if not item:
                    self._finish()
                    return
                self._message(item)
        except OSError:
            self.gone.set()

    def _finish(self) -> None:
        """The process ended: its Status on the error channel, then a normal close."""
        code = self.session.exit_code
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code and self.sub == "exec":
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: command terminated with exit code {code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        self._message(bytes([ERROR]) + json.dumps(status, separators=(",", ":")).encode())
        with self.send_lock:
            self._send(self.ws.send(CloseConnection(code=1000)))

    def _message(self, data: bytes) -> None:
        with self.send_lock:
            self._send(self.ws.send(BytesMessage(data=data)))

    def _send(self, data: bytes) -> None:
        if data:
            self.sock.sendall(data)

    # -- from the client ---------------------------------------------------------------------
    def _read_loop(self) -> None:
        self.sock.settimeout(READ_DEADLINE)
        while True:
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
