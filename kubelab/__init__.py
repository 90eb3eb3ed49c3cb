"""kubelab: a Kubernetes classroom in a Jupyter notebook.

``from kubelab import Cluster`` gives an embedded cluster; ``%load_ext kubelab`` gives the
``%kube`` / ``%%kube`` magics. Importing kubelab stays light: everything heavy loads on use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Cluster", "__version__", "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:
    from kubelab.cluster import Cluster


def __getattr__(name: str) -> Any:
    if name == "Cluster":
        from kubelab.cluster import Cluster

        return Cluster
    raise AttributeError(f"module 'kubelab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kubelab``: register the ``%kube`` / ``%%kube`` magics."""
    from kubelab.notebook.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from kubelab.notebook.magics import unload

    unload(ipython)
