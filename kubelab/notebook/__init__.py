"""The notebook layer: the ``%kube`` magics, tables, diagrams and the dashboard.

One cluster per notebook, made on first use (``Cluster(state=...)``, real clock). It lives in a
state file beside the notebook, ``.kubelab/<notebook name>.db`` in the notebook's folder (inside
JupyterLab the kernel learns the notebook from ``JPY_SESSION_NAME``; elsewhere it is
``.kubelab/cluster.db`` in the current folder, one cluster per folder), so a kernel restart or
crash loses nothing acknowledged: the next ``%kube`` finds the cluster as after ``minikube
stop`` / ``start`` (objects kept, containers restarted) and says so in one line. The
``KUBELAB_STATE`` environment variable names another file, or ``off`` for none.
``%kube reset`` starts afresh and keeps the previous file (``.kubelab/<name>.<time>.db``);
``%kube reset --undo`` brings it back (and keeps the one it replaces the same way).

Replace the cluster with ``kubelab.notebook.use(cluster_or_client)`` (a ``Cluster``, or any
object speaking the client protocol, e.g. a remote one). Switch off the picture drawn
after ``%%kube apply`` with ``kubelab.notebook.options.show_changes = False`` (or
``%kube config show-changes off``).

The pictures are also plain Python calls on any client::

    from kubelab.notebook.diagram import diagram      # diagram(client, "default", "app=web", ["deploy"])
    from kubelab.notebook.route import route          # route(client, "my-service", "default")
    from kubelab.notebook.history import history      # history(client, "my-deployment", "default")
    from kubelab.notebook.dashboard import Dashboard  # Dashboard(client, "default")
"""
from __future__ import annotations

import glob
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["options", "use", "client", "cluster", "reset"]


@dataclass
class Options:
    #: draw the applied objects and their pods after ``%%kube apply``
    show_changes: bool = True
    #: at most this many real seconds to let new pods start before that picture is taken
    settle_seconds: float = 2.0


options = Options()

_lock = threading.Lock()
_cluster: Any = None  # the Cluster behind the client, when there is one
_client: Any = None


def use(target: Any) -> Any:
    """Point the magics at ``target``: a ``Cluster`` or a client. Returns the client."""
    global _cluster, _client
    with _lock:
        inner = getattr(target, "client", None)
        _cluster, _client = (target, inner) if inner is not None else (None, target)
        return _client


def state_path() -> str | None:
    """The file the kernel's default cluster lives in (None: kept in memory only)."""
    chosen = os.environ.get("KUBELAB_STATE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "none", "0") else chosen
    session = os.environ.get("JPY_SESSION_NAME")
    notebook = Path(session) if session else None
    folder = notebook.parent if notebook is not None and notebook.is_absolute() else Path.cwd()
    name = notebook.stem if notebook is not None and notebook.stem else "cluster"
    return str(folder / ".kubelab" / f"{name}.db")


def _open(path: str | None, **shape: Any) -> Any:
    """A cluster on ``path``, printing the one line that says it came back from disk."""
    import sqlite3

    from kubelab.cluster import Cluster

    try:
        made = Cluster(state=path, **shape)
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
        if path is None or not os.path.exists(path):
            raise
        kept = f"{path[:-3] if path.endswith('.db') else path}.unreadable-{datetime.now().strftime('%Y%m%d-%H%M%S')}.db"
        os.replace(path, kept)
        print(f"could not read the cluster in {_shown(path)} ({exc}); it is kept as {_shown(kept)}, "
              f"and a new cluster is ready")
        return Cluster(state=path, **shape)
    if made.restored:
        print(f"cluster restored from {_shown(path)}: {made.restored} objects, containers restarted "
              f"(as after minikube stop/start)")
    return made


def _shown(path: str | None) -> str:
    try:
        return os.path.relpath(path or "")
    except ValueError:
        return path or ""


def client() -> Any:
    """The kernel's client, creating (or restoring) the default embedded cluster on first use."""
    global _cluster, _client
    with _lock:
        if _client is None:
            _cluster = _open(state_path())
            _client = _cluster.client
        return _client


def cluster() -> Any:
    """The kernel's embedded ``Cluster`` (None when the magics drive some other client)."""
    client()
    return _cluster


def reset(undo: bool = False) -> Any:
    """Throw the cluster away and start a new one shaped like it (same nodes and clock kind).
    A cluster kept in a state file leaves it renamed ``<name>.<time>.db``; ``undo=True``
    brings back the newest such file instead (the current one is kept the same way)."""
    global _cluster, _client
    with _lock:
        old = _cluster
        if old is None and _client is not None:
            raise RuntimeError("reset works on the embedded cluster only; this kernel uses another client")
        from kubelab.kubectl.portforward import stop_all

        path = old.state.path if old is not None and old.state is not None else None
        if old is None:
            path = state_path()
        backups = _backups(path) if path else []
        if undo and not backups:
            raise RuntimeError(f"no earlier cluster kept beside {_shown(path)}" if path else
                               "this cluster keeps no state file, so there is nothing to bring back")
        if _client is not None:
            stop_all(_client)  # free the old cluster's forwarded ports before anything else
        if old is not None:
            old.close()  # its clock stops and its file is complete: nothing moves it any more
        if path and os.path.exists(path):
            stem = path[:-3] if path.endswith(".db") else path
            os.replace(path, f"{stem}.{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.db")
        if undo:
            os.replace(backups[-1], path)  # type: ignore[arg-type]
        shape = {} if old is None else {"clock": "virtual" if old.clock.virtual else "real",
                                        "nodes": old.nodes_spec, "images": old.images or None}
        from kubelab.cluster import Cluster

        _cluster = Cluster(state=path, **shape)
        _client = _cluster.client
        return _cluster


def _backups(path: str) -> list[str]:
    """The files earlier resets kept, oldest first (their names carry the time)."""
    stem = path[:-3] if path.endswith(".db") else path
    return sorted(p for p in glob.glob(glob.escape(stem) + ".*.db") if p[len(stem) + 1:-3].replace("-", "").isdigit())


def reset_line(args: list[str]) -> str:
    """``%kube reset [--undo]``: do it, and the line that says what happened."""
    if args not in ([], ["--undo"]):
        return "error: usage: %kube reset [--undo]"
    undo = args == ["--undo"]
    try:
        made = reset(undo)
    except RuntimeError as exc:
        return f"error: {exc}"
    if undo:
        return f"the cluster from before the last reset is back ({made.restored} objects, containers restarted)"
    if made.state is not None and _backups(made.state.path):
        return (f"a new cluster is ready (the previous one is kept in {_shown(_backups(made.state.path)[-1])}: "
                f"%kube reset --undo brings it back)")
    return "a new cluster is ready"

