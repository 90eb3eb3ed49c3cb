"""Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch
(placeholder until the patch module lands)."""
from __future__ import annotations

import copy
from typing import Any


def apply_patch(obj: dict[str, Any], body: Any, patch_type: str) -> dict[str, Any]:
    if patch_type == "merge":
        return merge_patch(obj, body)
    raise NotImplementedError(patch_type)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result
