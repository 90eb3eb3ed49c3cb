"""Layers point one way (notebook -> kubectl -> client -> engine -> api): no module imports
from a layer above its own, at import time or inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kubelab"
# Each layer and the layers it must not import.
ABOVE = {
    "api": ("kubelab.engine", "kubelab.client", "kubelab.remote", "kubelab.kubectl", "kubelab.notebook",
            "kubelab.cluster", "kubelab.server"),
    "engine": ("kubelab.client", "kubelab.remote", "kubelab.kubectl", "kubelab.notebook", "kubelab.cluster",
               "kubelab.server"),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_module_imports_a_layer_above_its_own(layer):
    wrong = {f"{path.name}: {name}" for path in (PACKAGE / layer).glob("*.py") for name in _imports(path)
             if any(name == up or name.startswith(up + ".") for up in ABOVE[layer])}
    assert not wrong, sorted(wrong)
