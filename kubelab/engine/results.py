"""What the simulated node agent (kubelet and runtime) answers through the API, as values the
engine owns and every client hands on: an exec's output and exit code, a port-forward's error.

They live here, below the client seam, so the engine never imports the client layer; the
client module re-exports them for the layers above it and for the remote backend."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExecResult:
    """What a command run in a container wrote and how it ended."""

    stdout: str
    stderr: str
    exit_code: int


class PortForwardError(Exception):
    """What the kubelet writes on a port-forward's error stream when it cannot reach the
    pod's port (kubectl then gives up the whole forward: "lost connection to pod")."""
