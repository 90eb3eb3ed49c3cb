"""(being written)"""
from __future__ import annotations

from typing import Any


def install(engine: Any, api: Any, cluster: Any) -> None:
    """Wire this part into the engine."""
