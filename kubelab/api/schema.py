"""Strict decoding against the field schema (placeholder until the schema lands)."""
from __future__ import annotations

import copy
from typing import Any

from kubelab.api.kinds import Kind


def decode(obj: dict[str, Any], kind: Kind, field_validation: str = "Strict") -> tuple[dict[str, Any], list[str]]:
    return copy.deepcopy(obj), []
