"""The served API on a shared host: a bearer token over TLS, the Host header, body limits,
time-outs for slow clients, and nothing ever printed to stderr. Real sockets on 127.0.0.1,
the real kubectl 1.32 where it prints something."""
from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
import time

import pytest

from kubelab import Cluster
from kubelab.server import MAX_BODY_BYTES
from test_server import KUBECTL, Kubectl, needs_kubectl

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


@pytest.fixture(scope="module")
def server():
    with Cluster(clock="virtual", seed=1).serve() as s:
        yield s


def _connect(server) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return server.client_tls().wrap_socket(raw, server_hostname="127.0.0.1")


def _exchange(server, request: bytes) -> tuple[int, bytes, bytes]:
    """Send raw bytes, read until the server closes or answers; (status, headers, body)."""
    with _connect(server) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(head.split()[1]), head, body


def _request(server, method: str = "GET", path: str = "/api/v1/namespaces/default/pods",
             headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    fields = {"Host": f"127.0.0.1:{server.port}", "Authorization": f"Bearer {server.token}",
              "Accept": "application/json", **(headers or {})}
    if body and "Content-Length" not in fields:
        fields["Content-Length"] = str(len(body))
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in fields.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_handle_and_private_kubeconfig(server):
    assert server.url == f"https://127.0.0.1:{server.port}" and len(server.token) >= 32
    assert stat.S_IMODE(os.stat(server.kubeconfig).st_mode) == 0o600
    config = json.load(open(server.kubeconfig))
    assert config["users"][0]["user"] == {"token": server.token}
    assert config["clusters"][0]["cluster"]["server"] == server.url
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]


def test_token_required(server):
    code, _, body = _exchange(server, _request(server, headers={"Authorization": None}))
    assert (code, json.loads(body)) == (401, UNAUTHORIZED)
    code, _, body = _exchange(server, _request(server, headers={"Authorization": "Bearer wrong"}))
    assert (code, json.loads(body)) == (401, UNAUTHORIZED)
    code, _, body = _exchange(server, _request(server, headers={"Authorization": f"Basic {server.token}"}))
    assert code == 401
    assert _exchange(server, _request(server))[0] == 200
    # health checks are public, as the apiserver's system:public-info-viewer
    assert _exchange(server, _request(server, path="/healthz", headers={"Authorization": None}))[0] == 200


@needs_kubectl
def test_kubectl_with_a_wrong_token(server, tmp_path):
    config = json.load(open(server.kubeconfig))
    config["users"][0]["user"]["token"] = "not-the-token"
    wrong = tmp_path / "kubeconfig"
    wrong.write_text(json.dumps(config))
    kubectl = Kubectl(str(wrong), str(tmp_path / "home"))
    r = kubectl("auth whoami")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "error: You must be logged in to the server (Unauthorized)\n")
    r = kubectl("get --raw /api/v1/namespaces/default/pods")
    assert r.stderr == "error: You must be logged in to the server (Unauthorized)\n"
    # discovery's own wording for the same 401, as against a real apiserver
    r = kubectl("get pods")
    assert r.stderr.endswith("error: You must be logged in to the server "
                             "(the server has asked for the client to provide credentials)\n")
    ok = Kubectl(server.kubeconfig, str(tmp_path / "home2"))("get pods")
    assert ok.returncode == 0 and ok.stderr == "No resources found in default namespace.\n"


def test_plain_http_is_not_served(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(_request(server))
        try:
            answer = sock.recv(1024)
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1", "attacker.localhost:{port}", ""])
def test_host_header_checked(server, host):
    code, _, body = _exchange(server, _request(server, headers={"Host": host.format(port=server.port)}))
    assert code == 403 and json.loads(body)["reason"] == "Forbidden"


def test_localhost_name_accepted(server):
    assert _exchange(server, _request(server, headers={"Host": f"localhost:{server.port}"}))[0] == 200


def test_body_over_3_mib_refused_unread(server):
    headers = {"Content-Length": str(MAX_BODY_BYTES + 1), "Content-Type": "application/json"}
    code, head, body = _exchange(server, _request(server, "POST", headers=headers))
    assert code == 413
    assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "Request entity too large: limit is 3145728",
                                "reason": "RequestEntityTooLarge", "code": 413}
    assert b"Connection: close" in head


def test_chunked_body_over_3_mib_refused(server):
    chunk = b"x" * (1024 * 1024)
    payload = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    headers = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    code, _, body = _exchange(server, _request(server, "POST", headers=headers, body=payload))
    assert code == 413 and json.loads(body)["reason"] == "RequestEntityTooLarge"


def test_malformed_requests_get_400_and_print_nothing(server, capfd):
    for headers in ({"Content-Length": "abc"}, {"Content-Length": "-1"}, {"Transfer-Encoding": "chunked"}):
        body = b"zz\r\n" if "Transfer-Encoding" in headers else b""
        request = _request(server, "POST", headers={**headers, "Content-Type": "application/json"}, body=body)
        code, _, answer = _exchange(server, request)
        assert code == 400 and json.loads(answer)["reason"] == "BadRequest", answer
    assert _exchange(server, b"GARBAGE\r\n\r\n")[0] == 400
    assert _exchange(server, _request(server, "POST", body=b"{not json"))[0] == 400
    with _connect(server) as sock:  # a client that goes away mid-body
        sock.sendall(_request(server, "POST", headers={"Content-Length": "100"}, body=b"{"))
    # kubelab's own handler threads write nothing at all, traceback or log line
    _exchange(server, _request(server))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_slow_clients_time_out(server):
    server.header_timeout, server.idle_timeout = 0.5, 0.5
    try:
        with _connect(server) as sock:  # half a request, then nothing
            sock.sendall(b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: 127.0.0.1")
            assert sock.recv(1024) == b""  # closed by the server (the socket's own time-out is 10 s)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:  # never says hello
            assert raw.recv(1024) == b""
        with _connect(server) as sock:  # a kept-alive connection left idle
            sock.sendall(_request(server))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            while sock.recv(65536):
                pass
    finally:
        server.header_timeout, server.idle_timeout = 32.0, 90.0
    assert _exchange(server, _request(server))[0] == 200


def test_serve_writes_the_kubeconfig_where_asked(tmp_path):
    path = tmp_path / "k" / "config"
    path.parent.mkdir()
    with Cluster(clock="virtual").serve() as first, \
            __import__("kubelab.server", fromlist=["serve"]).serve(first.client, kubeconfig=str(path)) as second:
        assert second.kubeconfig == str(path) and json.loads(path.read_text())["users"][0]["user"]["token"] == \
            second.token
        assert second.token != first.token
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@needs_kubectl
def test_kubectl_binary_is_upstream_1_32():
    out = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True).stdout
    assert json.loads(out)["clientVersion"]["gitVersion"].startswith("v1.32.")


def test_connections_beyond_the_cap_are_refused(server):
    server.httpd.max_connections = 3
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    try:
        deadline = time.monotonic() + 10
        while server.httpd._open < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            try:
                assert extra.recv(1024) == b""  # closed at once
            except ConnectionResetError:
                pass
    finally:
        for sock in held:
            sock.close()
        server.httpd.max_connections = 256
    deadline = time.monotonic() + 40
    while server.httpd._open and time.monotonic() < deadline:  # the held ones time out or close
        time.sleep(0.05)
    assert _exchange(server, _request(server))[0] == 200
