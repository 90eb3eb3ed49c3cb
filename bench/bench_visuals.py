"""Pictures and the dashboard at classroom-breaking sizes.

Targets (issue 4): a 200-pod cluster diagram renders in under a second; the dashboard stays
responsive with 1,000 pods (a refresh that finds nothing changed costs next to nothing, a real
change re-renders in well under a second, a button click returns quickly).
Run: ``python bench/bench_visuals.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402


def timed(fn, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def replicaset(client, name: str, replicas: int, node_selector: dict | None = None) -> None:
    client.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
                   "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}},
                                         "spec": {"containers": [{"name": name, "image": "nginx"}]}}}})
    client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                   "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 3000}]}})


def renderer_start() -> None:
    code = ("import time; t=time.perf_counter(); from kubelab.notebook.render import to_svg; "
            "to_svg('digraph{a->b}'); print(time.perf_counter()-t)")
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        first = float(subprocess.check_output([sys.executable, "-c", code], text=True, cwd=root, env=env))
        again = float(subprocess.check_output([sys.executable, "-c", code], text=True, cwd=root, env=env))
    print(f"wasm Graphviz, first picture in a fresh kernel: {first * 1000:.0f} ms "
          f"(then {again * 1000:.0f} ms with the compiled module cached on disk)")


def diagram_200() -> None:
    from kubelab.notebook.diagram import build, snapshot
    from kubelab.notebook.render import renderer

    c = Cluster(clock="virtual", seed=1)
    for i in range(10):
        replicaset(c.client, f"web{i}", 20)
    c.settle()
    snap = snapshot(c.client, "default")
    pods = len(snap["Pod"])
    t_snap = timed(lambda: snapshot(c.client, "default"))
    t_build = timed(lambda: build(snap, "default"))
    t_all = timed(lambda: build(snapshot(c.client, "default"), "default").svg())
    t_expanded = timed(lambda: build(snapshot(c.client, "default"), "default", expand=True).svg())
    boxes = len(build(snap, "default").nodes)
    print(f"diagram of {pods} pods, 10 ReplicaSets, 10 Services ({renderer()}): read {t_snap * 1000:.0f} ms, "
          f"build {t_build * 1000:.0f} ms, read+build+render {t_all * 1000:.0f} ms with each ReplicaSet's pods "
          f"grouped per node ({boxes} boxes), {t_expanded * 1000:.0f} ms expanded (target < 1000 ms)")


def dashboard_1000() -> None:
    from kubelab.notebook.dashboard import Dashboard

    c = Cluster(clock="virtual", seed=2)
    replicaset(c.client, "big", 1000)
    c.settle()
    t = time.perf_counter()
    dash = Dashboard(c.client, "default", autostart=False)
    t_open = time.perf_counter() - t
    t_idle = timed(dash.refresh, runs=20)
    dash.target.value = "replicaset/big"

    def change() -> None:
        c.client.patch("ReplicaSet", "big", "default", {"metadata": {"labels": {"touch": str(time.time_ns())}}},
                       "merge")
        dash.refresh()

    t_change = timed(change)
    t_page = timed(lambda: dash.next_page.click(), runs=10)
    t_click = timed(lambda: dash.scale_up.click(), runs=1)
    print(f"dashboard with {len(dash.pods)} pods: open {t_open * 1000:.0f} ms, idle poll {t_idle * 1000:.1f} ms, "
          f"re-render after a change {t_change * 1000:.0f} ms, page turn {t_page * 1000:.1f} ms, "
          f"scale click (kubectl + re-render) {t_click * 1000:.0f} ms")
    dash.close()


NOTES_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  replicas: 3
  selector:
    matchLabels:
      app: echo-server
  template:
    metadata:
      labels:
        app: echo-server
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo
"""


def after_apply_picture() -> None:
    """``%%kube apply`` of the notes' Deployment on a real-clock cluster, as in a notebook: the
    apply plus the picture of what changed, counting the client's list/get calls and the
    diagrams built while it waits for the new pods."""
    import contextlib
    import io

    import kubelab.notebook as knb
    from kubelab.notebook import diagram, magics

    c = Cluster()
    c.client.list("Node")  # booted
    calls = {"list": 0, "get": 0, "build": 0}
    for verb in ("list", "get"):
        real = getattr(c.client, verb)

        def counted(*a, _real=real, _verb=verb, **kw):
            calls[_verb] += 1
            return _real(*a, **kw)

        setattr(c.client, verb, counted)
    real_build = diagram.build

    def counted_build(*a, **kw):
        calls["build"] += 1
        return real_build(*a, **kw)

    diagram.build = counted_build
    knb.use(c)
    try:
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            magics.kube_cell("apply", NOTES_DEPLOYMENT)
        took = time.perf_counter() - t
    finally:
        diagram.build = real_build
        knb.use(None)
    print(f"%%kube apply of the notes' Deployment (3 pods, real clock) with its picture: {took:.2f} s, "
          f"{calls['list']} list calls, {calls['get']} get calls, {calls['build']} diagram builds")


def main() -> None:
    renderer_start()
    diagram_200()
    dashboard_1000()
    after_apply_picture()


if __name__ == "__main__":
    main()
