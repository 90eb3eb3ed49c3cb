"""A digest of everything a seeded scenario leaves in the store, to show that a change to how
the engine keeps objects (sharing, compact dicts) leaves what the API serves byte-identical.

Run before and after a change: ``python bench/store_digest.py`` prints one hash per kind and
one for all, then one per kubectl command of ``COMMANDS`` (what a learner reads); the JSON
keeps key order, so order changes show too (``-v`` prints the objects).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"replicas": 12, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                                                      "ports": [{"containerPort": 80}]}]}}}}
BAD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
       "spec": {"containers": [{"name": "c", "image": "no-such-image:1"}]}}
CRASH = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash"},
         "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 1"]}]}}
COMMANDS = ("get pods -o yaml", "get events -A -o yaml", "get events -A -o json", "describe pods")
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def scenario() -> Cluster:
    """A rollout, a scale-down, deleted pods, a pull that fails and a crash loop: repeated
    events, status rewrites, sibling pods of two templates."""
    c = Cluster(clock="virtual", nodes=3, seed=7)
    for obj in (WEB, BAD, CRASH, SVC):
        c.api.create(obj, "default")
    c.settle(600)
    c.api.patch("Deployment", "web", "default",
                {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}})
    c.settle(600)
    c.api.scale("Deployment", "web", "default", 5)
    pods = sorted(p["metadata"]["name"] for p in c.engine.store.list("Pod", "default"))
    c.api.delete("Pod", pods[0], "default")
    c.advance(300)
    c.settle(600)
    return c


def main() -> None:
    cluster = scenario()
    store = cluster.engine.store
    total = hashlib.sha256()
    for kind in sorted(store.kinds()):
        text = json.dumps(store.list(kind), default=str)
        if "-v" in sys.argv:
            print(text)
        total.update(text.encode())
        print(f"{kind:24} {store.count(kind):5} {hashlib.sha256(text.encode()).hexdigest()[:16]}")
    print(f"{'all':30} {total.hexdigest()[:16]}")
    for command in COMMANDS:
        out = cluster.kubectl(*command.split()).stdout
        print(f"{command:30} {hashlib.sha256(out.encode()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
