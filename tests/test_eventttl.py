"""Events expire an hour (to an hour and a minute: the API server's etcd lease is shared by a
minute of writes) after their last write, on the virtual clock."""
from __future__ import annotations

from kubelab import Cluster
from kubelab.engine.events import Recorder


def pod_events(c: Cluster, name: str) -> list[dict]:
    return [e for e in c.client.list("Event")["items"] if e["involvedObject"]["name"] == name]


def test_events_live_an_hour_after_their_last_write():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("run web --image=nginx")
    assert c.settle()
    assert {e["reason"] for e in pod_events(c, "web")} >= {"Scheduled", "Pulling", "Pulled", "Created", "Started"}
    written = max(e["lastTimestamp"] for e in pod_events(c, "web"))
    c.advance(59 * 60)
    assert len(pod_events(c, "web")) == 5 and written == max(e["lastTimestamp"] for e in pod_events(c, "web"))
    c.advance(2 * 60)
    assert pod_events(c, "web") == []
    assert c.kubectl("get events").stderr == "No resources found in default namespace.\n"
    assert c.kubectl("describe pod web").stdout.endswith("Events:                      <none>\n")
    assert c.client.get("Pod", "web")["status"]["phase"] == "Running"  # only the events went


def test_a_count_bump_is_a_write_that_restarts_the_hour():
    c = Cluster(clock="virtual", seed=2)
    c.kubectl("run web --image=nginx")
    c.settle()
    pod = c.client.get("Pod", "web")
    recorder = Recorder(c.engine.store, "test")
    with c.engine.lock:
        recorder.warning(pod, "Poked", "poked once")
    c.advance(30 * 60)
    with c.engine.lock:
        recorder.warning(pod, "Poked", "poked once")
    (poked,) = [e for e in pod_events(c, "web") if e["reason"] == "Poked"]
    assert poked["count"] == 2
    c.advance(40 * 60)  # 70 min after the first write, 40 after the bump
    assert [e["reason"] for e in pod_events(c, "web")] == ["Poked"]
    c.advance(21 * 60)
    assert pod_events(c, "web") == []
    # after it expired, the same event again starts a new Event with count 1
    with c.engine.lock:
        recorder.warning(pod, "Poked", "poked once")
    assert [e["count"] for e in pod_events(c, "web")] == [1]


def test_expiry_timers_are_not_work_left_for_settle():
    c = Cluster(clock="virtual", seed=3)
    c.kubectl("create deployment web --image=nginx --replicas=2")
    start = c.clock.now()
    assert c.settle()
    assert c.clock.now() - start < 120  # settle stopped when the rollout did, not an hour later
    watched: list[str] = []
    stop = c.client.watch("Event", "default", lambda event, obj: watched.append(event))
    c.advance(3700)
    stop()
    assert watched and set(watched) == {"DELETED"} and c.client.list("Event")["items"] == []
