"""A kubeconfig shared by several served clusters: one context per cluster (per notebook kernel
under ``kubelab tutorial``), so a terminal's ``kubectl config get-contexts`` lists them and the
current context says which one it talks to.

Kernels write it concurrently, so every change holds an exclusive lock on ``<file>.lock`` and
replaces the file atomically (mode 0600: it holds the tokens). A user's own ``~/.kube/config``
is never written.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import yaml

from kubelab.server import Server, kubeconfig_entries, write_private

USER_KUBECONFIG = Path("~/.kube/config")


class NotOurs(ValueError):
    """The path is the user's own kubeconfig, which kubelab does not write."""


def check_not_users(path: str | os.PathLike[str]) -> Path:
    """``path`` resolved; refuses ``~/.kube/config`` (the user's clusters live there)."""
    resolved = Path(path).expanduser().resolve()
    if resolved == USER_KUBECONFIG.expanduser().resolve():
        raise NotOurs(f"kubelab does not write your own kubeconfig ({resolved}); choose another file")
    return resolved


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(f"{path}.lock", "a") as lock:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one writer at a time is then the user's business
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    if not isinstance(config, dict):
        config = {}
    config.setdefault("apiVersion", "v1")
    config.setdefault("kind", "Config")
    config.setdefault("preferences", {})
    for section in ("clusters", "users", "contexts"):
        if not isinstance(config.get(section), list):
            config[section] = []
    return config


def _write(path: Path, config: dict[str, Any]) -> None:
    write_private(str(path), json.dumps(config, indent=2) + "\n")


def add_context(path: str | os.PathLike[str], name: str, server: Server, current: bool = True) -> str:
    """Add or update the cluster, user and context ``name`` for ``server`` in the kubeconfig at
    ``path`` (created if missing), keeping every other entry; make it the current context."""
    target = check_not_users(path)
    entries = kubeconfig_entries(name, server.url, server.token, server.certificate)
    with _locked(target):
        config = _read(target)
        for section, entry in (("clusters", entries["cluster"]), ("users", entries["user"]),
                               ("contexts", entries["context"])):
            kept = [e for e in config[section] if not (isinstance(e, dict) and e.get("name") == name)]
            old = next((e for e in config[section] if isinstance(e, dict) and e.get("name") == name), None)
            if section == "contexts" and old is not None:  # keep a namespace the learner chose
                namespace = (old.get("context") or {}).get("namespace")
                if namespace:
                    entry["context"]["namespace"] = namespace
            config[section] = kept + [entry]
        if current or not config.get("current-context"):
            config["current-context"] = name
        _write(target, config)
    return str(target)


def remove_context(path: str | os.PathLike[str], name: str) -> None:
    """Drop ``name``'s entries (a kernel that exits takes its context with it)."""
    target = check_not_users(path)
    if not target.exists():
        return
    with _locked(target):
        config = _read(target)
        for section in ("clusters", "users", "contexts"):
            config[section] = [e for e in config[section] if not (isinstance(e, dict) and e.get("name") == name)]
        if config.get("current-context") == name:
            config["current-context"] = config["contexts"][-1]["name"] if config["contexts"] else ""
        _write(target, config)
