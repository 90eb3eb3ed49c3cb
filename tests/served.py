"""Plain HTTP requests to a served cluster for tests: HTTPS trusting its certificate, with its
bearer token (what kubectl's kubeconfig carries)."""
from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

from kubelab.server import Server


def connection(server: Server, timeout: float = 60) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", server.port, timeout=timeout, context=server.client_tls())


def request(server: Server, method: str, path: str, body: bytes | None = None,
            content_type: str = "application/json", timeout: float = 60) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body) of one request."""
    conn = connection(server, timeout)
    try:
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": content_type}
        try:
            conn.request(method, path, body, headers)
        except (ssl.SSLError, OSError):
            pass  # a body over the limit: the server answers 413 and closes without reading it
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()
