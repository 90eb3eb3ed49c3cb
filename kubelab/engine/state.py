"""The store on disk: a cluster that survives a kernel restart, like minikube's etcd.

``Cluster(state="path/cluster.db")`` keeps every object in one SQLite file (the standard
library's ``sqlite3``, WAL journal). The engine's own writes are batched: the store only marks
what changed, and the marked objects are written in one transaction at the end of each client
write (before the call returns, so an acknowledged write is on disk), of ``advance`` /
``settle``, and of the background driver's slices (at least once a second while it catches
up). The batch is taken under the engine lock and written after it is let go. ``synchronous=NORMAL``: a
committed transaction survives the process being killed (SIGKILL, a crashed kernel), not a
power cut, which would cost the last moments only.

Opening a file that already holds a cluster restores it the way ``minikube stop`` /
``minikube start`` would (see ``Cluster``): objects come back with their uids and
resourceVersions (new writes continue after the highest one), the nodes start again and their
kubelets restart every container.
"""
from __future__ import annotations

import gc
import json
import os
import sqlite3
import threading
from typing import Any, Callable

from kubelab.engine.store import Key, Obj, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# What a state file says about itself (bumped when the layout changes).
FORMAT = "kubelab-state/1"


class StateFile:
    """One cluster's objects in SQLite, written in batches of changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        # every use is under the engine's lock, from whichever thread holds it
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        found = self.meta().get("format", FORMAT)
        if found != FORMAT:
            self.db.close()
            raise ValueError(f"{self.path} holds {found!r}, not {FORMAT!r}")
        self._dirty: dict[Key, Obj | None] = {}
        self._store: Store | None = None
        self._stop: Any = None
        self._io = threading.Lock()  # one write at a time, in the order they were taken

    # -- reading ------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def load(self) -> list[Obj]:
        """The stored objects, oldest write first (the cyclic collector held meanwhile: the
        decoder makes millions of dicts, and none of them is garbage)."""
        loads, enabled = json.loads, gc.isenabled()
        gc.disable()
        try:
            return [loads(body) for (body,) in self.db.execute("SELECT body FROM objects ORDER BY rv")]
        finally:
            if enabled:
                gc.enable()

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM objects").fetchone()[0]

    # -- writing ------------------------------------------------------------------------------
    def track(self, store: Store, extra: dict[str, str]) -> None:
        """Mark every change ``store`` makes from now on; ``extra`` is saved with each flush
        (what the cluster was made with)."""
        self._store = store
        self._extra = {"format": FORMAT, **extra}
        self._stop = store.subscribe(self.changed)

    def changed(self, event: str, obj: Obj, old: Obj | None) -> None:
        """The store's listener: mark the object to be written (or deleted)."""
        meta = obj["metadata"]
        self._dirty[(obj["kind"], meta.get("namespace", ""), meta["name"])] = None if event == "DELETED" else obj

    def save_all(self) -> None:
        """Mark every object of the store (a fresh file, a cluster booted before tracking)."""
        assert self._store is not None
        for kind in self._store.kinds():
            for obj in self._store.list(kind):
                meta = obj["metadata"]
                self._dirty[(kind, meta.get("namespace", ""), meta["name"])] = obj

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def take(self, now: float) -> Callable[[], None] | None:
        """Take what changed since the last flush (the caller holds the engine lock) and
        return what writes it in one transaction, to run once the engine lock is let go:
        stored objects never change, so encoding them needs no lock, and the next take
        waits for this write (files keep the order of the store)."""
        if not self._dirty or self._store is None:
            return None
        dirty, self._dirty = self._dirty, {}
        meta = {**self._extra, "resourceVersion": self._store.resource_version, "now": repr(now)}
        self._io.acquire()

        def write() -> None:
            try:
                self._write(dirty, meta)
            finally:
                self._io.release()

        return write

    def flush(self, now: float) -> None:
        """Write what changed now (the caller holds the engine lock)."""
        write = self.take(now)
        if write is not None:
            write()

    def _write(self, dirty: dict[Key, Obj | None], meta: dict[str, str]) -> None:
        upserts = [(k[0], k[1], k[2], int(o["metadata"].get("resourceVersion") or 0),
                    json.dumps(o, separators=(",", ":"), default=str))
                   for k, o in dirty.items() if o is not None]
        deletes = [k for k, o in dirty.items() if o is None]
        db = self.db
        db.execute("BEGIN")
        try:
            if deletes:
                db.executemany("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", deletes)
            if upserts:
                db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", upserts)
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None
        self.db.close()
