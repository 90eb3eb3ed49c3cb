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

Beside the objects, the file keeps what the nodes keep on their disks (see
:mod:`kubelab.engine.disks`): the files of PersistentVolumes, hostPath directories and
disk-backed emptyDirs, written in the same transaction as the objects (only the files that
changed), and the cluster's own keys (``secrets``: what signs its ServiceAccount tokens), so
that a token issued before a restart is still good after it. Containers' own filesystems are
not kept: a restarted container starts from its image, as on a real node.
"""
from __future__ import annotations

import gc
import json
import os
import sqlite3
import threading
from typing import Any, Callable

from kubelab.engine.disks import DiskKey, Disks
from kubelab.engine.store import Key, Obj, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disks (disk TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS files (disk TEXT NOT NULL, path BLOB NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (disk, path));
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
# What a state file says about itself (bumped when the layout changes; tables added beside
# the old ones leave it: an older file opens with no disks and no keys yet).
FORMAT = "kubelab-state/1"


def _disk_name(key: DiskKey) -> str:
    return json.dumps(list(key))


def _raw(text: str) -> bytes:
    """A file's text as bytes: a program's output may hold lone surrogates (bytes that are not
    UTF-8, decoded with surrogateescape), which SQLite's TEXT refuses."""
    return text.encode("utf-8", "surrogatepass")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


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
        self._disks: Disks | None = None
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

    def load_disks(self) -> tuple[list[DiskKey], list[tuple[DiskKey, str, str]]]:
        """The nodes' disks and their files, as Disks.load takes them."""
        disks = [tuple(json.loads(name)) for (name,) in self.db.execute("SELECT disk FROM disks")]
        files = [(tuple(json.loads(name)), _text(path), _text(body))
                 for name, path, body in self.db.execute("SELECT disk, path, body FROM files")]
        return disks, files

    def secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The cluster's key ``name``, made with ``make`` and written at once the first time
        (before anything it signs is handed out)."""
        row = self.db.execute("SELECT value FROM secrets WHERE name=?", (name,)).fetchone()
        if row is not None:
            return bytes(row[0])
        value = make()
        with self._io:
            self.db.execute("INSERT INTO secrets VALUES (?, ?)", (name, value))
        return value

    # -- writing ------------------------------------------------------------------------------
    def track(self, store: Store, extra: dict[str, str], disks: Disks | None = None) -> None:
        """Mark every change ``store`` and ``disks`` make from now on; ``extra`` is saved with
        each flush (what the cluster was made with)."""
        self._store = store
        self._disks = disks
        if disks is not None:
            disks.tracking = True
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
        return len(self._dirty) + bool(self._disks is not None and self._disks.pending)

    def take(self, now: float) -> Callable[[], None] | None:
        """Take what changed since the last flush (the caller holds the engine lock) and
        return what writes it in one transaction, to run once the engine lock is let go:
        stored objects never change, so encoding them needs no lock, and the next take
        waits for this write (files keep the order of the store)."""
        if self._store is None or not self.pending:
            return None
        dirty, self._dirty = self._dirty, {}
        disks = self._disks.take() if self._disks is not None else ([], [], [])
        meta = {**self._extra, "resourceVersion": self._store.resource_version, "now": repr(now)}
        self._io.acquire()

        def write() -> None:
            try:
                self._write(dirty, meta, disks)
            finally:
                self._io.release()

        return write

    def flush(self, now: float) -> None:
        """Write what changed now (the caller holds the engine lock)."""
        write = self.take(now)
        if write is not None:
            write()

    def _write(self, dirty: dict[Key, Obj | None], meta: dict[str, str],
               disks: tuple[list[DiskKey], list[DiskKey], list[tuple[DiskKey, str, str | None]]]) -> None:
        upserts = [(k[0], k[1], k[2], int(o["metadata"].get("resourceVersion") or 0),
                    json.dumps(o, separators=(",", ":"), default=str))
                   for k, o in dirty.items() if o is not None]
        deletes = [k for k, o in dirty.items() if o is None]
        dropped, made, files = disks
        db = self.db
        db.execute("BEGIN")
        try:
            if deletes:
                db.executemany("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", deletes)
            if upserts:
                db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", upserts)
            if dropped:
                gone = [(_disk_name(k),) for k in dropped]
                db.executemany("DELETE FROM files WHERE disk=?", gone)
                db.executemany("DELETE FROM disks WHERE disk=?", gone)
            if made:
                db.executemany("INSERT OR IGNORE INTO disks VALUES (?)", [(_disk_name(k),) for k in made])
            if files:
                db.executemany("DELETE FROM files WHERE disk=? AND path=?",
                               [(_disk_name(k), _raw(p)) for k, p, t in files if t is None])
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                               [(_disk_name(k), _raw(p), _raw(t)) for k, p, t in files if t is not None])
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
