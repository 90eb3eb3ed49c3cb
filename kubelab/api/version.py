"""The Kubernetes release kubelab plays: what the API server answers at ``/version`` and what
``kubectl version`` prints for both ends.

One place for both, so ``kubectl version`` (embedded) and the served ``/version`` (seen by the
real kubectl) always agree.
"""
from __future__ import annotations

from typing import Any

GIT_VERSION = "v1.32.0"
KUSTOMIZE_VERSION = "v5.5.0"  # the kustomize kubectl 1.32 vendors


def _info(build_date: str) -> dict[str, Any]:
    """A version.Info in its Go field order (kubectl -o json keeps it)."""
    major, minor, _ = GIT_VERSION[1:].split(".")
    # The v1.32.0 release commit and Go toolchain, as the published v1.32.0 binaries report them.
    return {"major": major, "minor": minor, "gitVersion": GIT_VERSION,
            "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53", "gitTreeState": "clean",
            "buildDate": build_date, "goVersion": "go1.23.3", "compiler": "gc", "platform": "linux/amd64"}


def server_version() -> dict[str, Any]:
    """What kube-apiserver v1.32.0 serves at ``/version``."""
    return _info("2024-12-11T17:59:15Z")


def client_version() -> dict[str, Any]:
    """What a kubectl v1.32.0 binary says about itself: same commit and toolchain as the server,
    built a few minutes later in the same release job (a plausible date, not a measured one)."""
    return _info("2024-12-11T18:04:20Z")
