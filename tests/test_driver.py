"""The real-clock background driver: a cluster left alone moves on by itself, watchers see it,
and a long idle is caught up at once. These are the only engine tests on a real clock (real
seconds, a few of them); they wait for states with generous limits and never assert timings.
"""
from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
from test_server import KUBECTL, Kubectl

from kubelab import Cluster
from kubelab.engine.clock import RealClock
from kubelab.engine.core import Engine
from kubelab.server import serve

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "alone"},
       "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


class MovableClock(RealClock):
    """Wall time plus an offset the test moves: a suspended laptop, an 8 h idle."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset


def _phase(cluster: Cluster, name: str) -> str:
    with cluster.engine.lock:
        pod = cluster.engine.store.get("Pod", "default", name)
        return ((pod or {}).get("status") or {}).get("phase", "")


def _until(check, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_pod_left_alone_becomes_running_and_a_watch_sees_it() -> None:
    with Cluster() as cluster:
        running = threading.Event()
        phases: list[str] = []

        def seen(event: str, obj: dict) -> None:
            phases.append(obj["status"].get("phase", ""))
            if obj["status"].get("phase") == "Running":
                running.set()

        stop = cluster.client.watch("Pod", "default", seen)
        cluster.client.create(POD, "default")
        # no further call into the cluster: only the driver can move it
        assert running.wait(30), phases
        assert phases[0] == "Pending" and phases[-1] == "Running"
        stop()
        assert _phase(cluster, "alone") == "Running"


def test_an_earlier_timer_wakes_the_sleeping_driver() -> None:
    with Cluster() as cluster:
        time.sleep(0.2)  # the driver is asleep until its next timer (seconds away)
        fired = threading.Event()
        with cluster.engine.lock:
            cluster.clock.call_later(0.1, fired.set)
        assert fired.wait(5)


def test_a_long_idle_is_caught_up_at_once_folding_background_ticks() -> None:
    clock = MovableClock()
    with Cluster(clock=clock) as cluster:
        cluster.client.create(POD, "default")
        assert _until(lambda: _phase(cluster, "alone") == "Running")
        ticks: list[float] = []

        def tick() -> None:  # a periodic background job, like a probe
            ticks.append(clock.now())
            clock.call_later(1, tick, progress=False)

        with cluster.engine.lock:
            clock.call_later(1, tick, progress=False)
        assert _until(lambda: len(ticks) >= 2)
        before = len(ticks)
        clock.offset += 8 * 3600  # eight hours pass while the driver cannot run
        result = cluster.kubectl("get pods")
        assert result.returncode == 0 and "alone" in result.stdout and "Running" in result.stdout
        assert "8h" in result.stdout  # the pod's AGE: the cluster knows the time moved on
        assert _until(lambda: len(ticks) >= before + 2)
        # 8 h of one-second ticks folded into one at the new now, not 28,800 replayed
        assert len(ticks) < before + 50
        assert ticks[before] >= clock.wall() - 60


def test_work_is_sliced_so_the_lock_is_let_go() -> None:
    clock = MovableClock()
    engine = Engine(clock)
    fired: list[int] = []

    def slow() -> None:
        time.sleep(0.02)
        fired.append(1)

    for i in range(20):
        clock.call_at(clock.wall() - 1 + i * 0.001, slow)
    assert engine.run_slice(0.05) is None  # work left after one slice
    assert 1 <= len(fired) < 20
    while engine.run_slice(0.05) is None:
        pass
    assert len(fired) == 20


def test_close_and_garbage_stop_the_driver() -> None:
    cluster = Cluster()
    driver = cluster.driver
    assert driver is not None and driver.running
    cluster.close()
    assert not driver.running
    other = Cluster()
    driver, ref = other.driver, weakref.ref(other)
    del other
    gc.collect()
    assert ref() is None
    assert _until(lambda: not driver.running, 5)


def test_a_virtual_cluster_has_no_driver() -> None:
    assert Cluster(clock="virtual").driver is None


def test_the_real_kubectl_watch_sees_running_with_no_other_traffic(tmp_path) -> None:
    """``kubectl get pods -w`` against the served cluster: nothing else talks to it, yet the
    watch shows the pod going Running (the issue's "get pods -w showing Running")."""
    if KUBECTL is None:
        pytest.skip("no kubectl 1.32 binary (looked in /usr/lib/google-cloud-sdk/bin and on PATH)")
    with Cluster() as cluster, serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        assert kubectl("run alone --image=nginx").returncode == 0
        watcher = kubectl.start("get pods -w --request-timeout=30s")
        try:
            lines: list[str] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = watcher.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    break
                lines.append(line)
                if "Running" in line:
                    break
            assert any(line.split()[:1] == ["alone"] and "Running" in line for line in lines), lines
        finally:
            watcher.kill()
            watcher.communicate()
