"""``Obj``: a Kubernetes object as every layer hands it on, decoded JSON in a dict. One name
for it, so that a signature says "an object" rather than "some dict"."""
from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
