"""Validation with Kubernetes' rules and messages (placeholder until validation lands)."""
from __future__ import annotations

from typing import Any

from kubelab.api.errors import Cause
from kubelab.api.kinds import Kind


def validate(obj: dict[str, Any], kind: Kind, old: dict[str, Any] | None) -> list[Cause]:
    return []
