"""What the nodes keep on their disks: the volume data that outlives a pod and, on minikube,
a ``minikube stop`` / ``minikube start``.

A :class:`Disk` is one directory (or one file, its text under ``""``) on a node's disk:

* ``("pv", name)``: a PersistentVolume's files (the hostpath provisioner's
  ``/tmp/hostpath-provisioner/<namespace>/<claim>``, or a manual hostPath volume);
* ``("node", node, path)``: a hostPath directory or file of a pod's volume;
* ``("pod", uid, volume)``: a disk-backed emptyDir, which lives under the kubelet's
  ``/var/lib/kubelet/pods/<uid>/volumes`` until the pod leaves its node. A node reboot keeps it
  for a pod that comes back with the same uid (kubernetes/kubernetes#53423); an emptyDir of
  ``medium: Memory`` is a tmpfs and is never a Disk.

:class:`Disks` notes which files changed, so that a cluster with a state file writes only
those (see :mod:`kubelab.engine.state`), and bounds how much they hold: the kernel holds every
byte of it, so a write that would pass :data:`DISK_BYTES` fails as a full disk does
(``No space left on device``).
"""
from __future__ import annotations

import errno
from typing import Callable, Iterable, Iterator

DiskKey = tuple[str, ...]
# What all the nodes' disks hold together, in characters: a kernel's memory bound (issue 13's
# 1 GB), far below a node's ephemeral-storage capacity.
DISK_BYTES = 64 * 1024 * 1024


class Disk(dict[str, str]):
    """One directory's files (path relative to it -> text); every change goes through
    ``__setitem__`` / ``__delitem__`` so its :class:`Disks` sees it."""

    __slots__ = ("key", "_disks")

    def __init__(self, disks: "Disks", key: DiskKey) -> None:
        super().__init__()
        self.key = key
        self._disks = disks

    def __setitem__(self, path: str, text: str) -> None:
        self._disks._grow(len(text) - len(self.get(path, "")))
        super().__setitem__(path, text)
        self._disks._note(self.key, path)

    def write(self, path: str, text: str, append: bool = False) -> None:
        """Write (or append to) one file; a full disk refuses before the new text is built
        (appending to a file of many megabytes copies it)."""
        old = self.get(path, "")
        self._disks._grow(len(text) if append else len(text) - len(old))
        super().__setitem__(path, old + text if append else text)
        self._disks._note(self.key, path)

    def __delitem__(self, path: str) -> None:
        text = self[path]
        super().__delitem__(path)
        self._disks._grow(-len(text))
        self._disks._note(self.key, path)

    # dict's own versions of these bypass the two above
    def setdefault(self, path: str, text: str = "") -> str:  # type: ignore[override]
        if path not in self:
            self[path] = text
        return self[path]

    def update(self, *args: object, **kw: str) -> None:  # type: ignore[override]
        for path, text in dict(*args, **kw).items():  # type: ignore[call-overload]
            self[path] = text

    def pop(self, path: str, *default: str) -> str:  # type: ignore[override]
        if path not in self:
            if default:
                return default[0]
            raise KeyError(path)
        text = self[path]
        del self[path]
        return text

    def popitem(self) -> tuple[str, str]:
        path = next(reversed(self))
        return path, self.pop(path)

    def clear(self) -> None:
        for path in list(self):
            del self[path]

    def __ior__(self, other: object) -> "Disk":  # type: ignore[override]
        self.update(other)
        return self


class Disks:
    """Every Disk of the cluster, with what changed since the state file last took it."""

    def __init__(self, limit: int = DISK_BYTES) -> None:
        self.limit = limit
        self.used = 0  # characters held by every disk
        self._disks: dict[DiskKey, Disk] = {}
        #: noting changes is for a cluster with a state file only (nobody would take them)
        self.tracking = False
        #: called after each noted change (a real clock's driver wakes to put it on disk now:
        #: a line typed into ``exec -it`` writes between two of its slices)
        self.on_change: Callable[[], None] | None = None
        self._files: dict[tuple[DiskKey, str], None] = {}  # changed (disk, path), in order
        self._made: dict[DiskKey, None] = {}
        self._dropped: dict[DiskKey, None] = {}

    def __contains__(self, key: DiskKey) -> bool:
        return key in self._disks

    def __iter__(self) -> Iterator[DiskKey]:
        return iter(list(self._disks))

    def get(self, key: DiskKey) -> Disk | None:
        return self._disks.get(key)

    def open(self, key: DiskKey, files: dict[str, str] | None = None) -> Disk:
        """The disk at ``key``, made (with ``files``) if it is not there yet."""
        disk = self._disks.get(key)
        if disk is None:
            disk = self._disks[key] = Disk(self, key)
            if self.tracking:
                self._made[key] = None
            disk.update(files or {})
        return disk

    def drop(self, key: DiskKey) -> None:
        """Remove a disk and everything in it (a reclaimed volume, a pod gone from its node)."""
        disk = self._disks.pop(key, None)
        if disk is None:
            return
        self.used -= sum(len(text) for text in disk.values())
        if self.tracking:
            self._made.pop(key, None)
            self._dropped[key] = None
            for path in disk:
                self._files.pop((key, path), None)

    def _grow(self, delta: int) -> None:
        if delta > 0 and self.used + delta > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.used += delta

    def _note(self, key: DiskKey, path: str) -> None:
        if self.tracking:
            self._files[(key, path)] = None
            if self.on_change is not None:
                self.on_change()

    # -- the state file's side ------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return bool(self._files or self._made or self._dropped)

    def take(self) -> tuple[list[DiskKey], list[DiskKey], list[tuple[DiskKey, str, str | None]]]:
        """What changed since the last take: disks dropped, disks made, and each changed file
        with its text now (None: removed). Texts are immutable, so the lists are safe to write
        after the engine lock is let go."""
        dropped, made = list(self._dropped), list(self._made)
        files = []
        for key, path in self._files:
            disk = self._disks.get(key)
            if disk is not None:
                files.append((key, path, disk.get(path)))
        self._files, self._made, self._dropped = {}, {}, {}
        return dropped, made, files

    def load(self, disks: Iterable[DiskKey], files: Iterable[tuple[DiskKey, str, str]]) -> None:
        """Put back what a state file holds (noting nothing: it is on disk already)."""
        tracking, self.tracking = self.tracking, False
        try:
            for key in disks:
                self.open(key)
            for key, path, text in files:
                dict.__setitem__(self.open(key), path, text)
                self.used += len(text)
        finally:
            self.tracking = tracking
