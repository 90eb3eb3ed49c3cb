"""A terminal beside the notebook, on the kernel's own cluster.

``%kube serve`` serves the kernel's cluster over HTTPS on 127.0.0.1 and says how to point the
real kubectl at it. Under ``kubelab tutorial`` (which exports ``KUBECONFIG`` and
``KUBELAB_KUBECONFIG`` into JupyterLab, so every terminal and kernel inherits them) a kernel
serves its cluster on its first ``%kube`` and adds its own context, ``kubelab-<notebook>``, to
that shared kubeconfig as the current context; a JupyterLab terminal then reaches the
notebook's cluster with no typing. The server follows the kernel's cluster: after
``%kube reset`` the same port and token serve the new one.
"""
from __future__ import annotations

import atexit
import os
import re
import threading
from pathlib import Path

import kubelab.notebook as nb
from kubelab.server import Server

SHARED_ENV = "KUBELAB_KUBECONFIG"  # the tutorial's kubeconfig, where each kernel adds its context

_lock = threading.Lock()
_server: Server | None = None
_shared: str | None = None  # the shared kubeconfig this kernel registered in
_announced = False


def context_name() -> str:
    """``kubelab-<notebook name>``: jupyter_server tells a kernel its notebook's path in
    ``JPY_SESSION_NAME``; a kernel started otherwise is named after its process."""
    session = os.environ.get("JPY_SESSION_NAME") or ""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(session).stem.lower()).strip("-") if session else ""
    return f"kubelab-{slug or f'kernel-{os.getpid()}'}"


def serve() -> Server:
    """Serve the kernel's current cluster (started once per kernel, then kept on it)."""
    global _server, _shared
    client = nb.client()
    with _lock:
        if _server is None:
            shared = os.environ.get(SHARED_ENV) or None
            _server = Server(client, context=context_name() if shared else "kubelab")
            if shared:
                from kubelab.kubeconfig import add_context

                add_context(shared, _server.context, _server)
                _shared = shared
            atexit.register(close)
        elif _server.client is not client:
            _server.retarget(client)
        return _server


def follow() -> None:
    """Keep a running server on the kernel's current cluster (after ``%kube reset``)."""
    with _lock:
        server = _server
    if server is not None:
        client = nb.client()
        if server.client is not client:
            server.retarget(client)


def kubeconfig() -> str:
    """The kubeconfig a terminal uses for this kernel's cluster."""
    server = serve()
    return _shared or server.kubeconfig


def usage() -> str:
    """What ``%kube serve`` prints: where the API is, the export line and the context."""
    server = serve()
    shared = _shared is not None
    lines = [f"This notebook's cluster is served at {server.url} (127.0.0.1 only, with a token).",
             f"In a terminal:  export KUBECONFIG={kubeconfig()}",
             f"Context: {server.context}" + (" (the current context when this kernel started; "
                                             f"kubectl config use-context {server.context} switches back)"
                                             if shared else "")]
    return "\n".join(lines) + "\n"


def announce_once() -> str | None:
    """Under ``kubelab tutorial``: serve on the kernel's first ``%kube`` and return the one
    line the notebook prints about it (None afterwards, or outside the tutorial)."""
    global _announced
    if _announced or not os.environ.get(SHARED_ENV):
        return None
    _announced = True
    try:
        server = serve()
    except Exception as err:  # a terminal is a bonus: never let it break the notebook's command
        return f"(no terminal access to this cluster: {err})\n"
    return (f"A JupyterLab terminal's kubectl uses this notebook's cluster: context {server.context} "
            f"(kubectl config use-context {server.context})\n")


def close() -> None:
    """Stop serving and take this kernel's context out of the shared kubeconfig."""
    global _server, _shared
    with _lock:
        server, shared, _server, _shared = _server, _shared, None, None
    if server is None:
        return
    if shared:
        from kubelab.kubeconfig import remove_context

        try:
            remove_context(shared, server.context)
        except OSError:
            pass
    server.close()
