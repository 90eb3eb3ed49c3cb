"""Server-side defaulting (placeholder until defaulting lands)."""
from __future__ import annotations

from typing import Any

from kubelab.api.kinds import Kind


def apply(obj: dict[str, Any], kind: Kind) -> None:
    obj.setdefault("metadata", {})
