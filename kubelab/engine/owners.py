"""ownerReferences: how a ReplicaSet owns its pods and a Deployment its ReplicaSets."""
from __future__ import annotations

from typing import Any

from kubelab.api.kinds import BY_KIND
from kubelab.api.pods import controller_of  # noqa: F401  (the engine's controllers import it from here)
from kubelab.engine.store import Obj


def controller_ref(owner: Obj) -> dict[str, Any]:
    """The ownerReference a controller puts on what it creates (``controller: true``)."""
    return {
        "apiVersion": BY_KIND[owner["kind"]].api_version,
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


