"""The HorizontalPodAutoscaler on a virtual clock: load on the echo server scales it up, the
end of the load scales it back after the stabilization window, with the status, conditions
and events kube-controller-manager writes; get/describe as the real kubectl 1.32 prints them."""
from __future__ import annotations

import json
import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same_at_wall_clock
from test_server import Kubectl, needs_kubectl

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-server}
spec:
  selector: {matchLabels: {app: echo-server}}
  template:
    metadata: {labels: {app: echo-server}}
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo
        resources: {requests: {cpu: 50m}}
---
apiVersion: v1
kind: Service
metadata: {name: echo-server}
spec:
  selector: {app: echo-server}
  ports: [{port: 80, targetPort: 3000}]
"""
HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: echo-server}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: echo-server}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""
HPA_CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
LOAD = "run load --image=busybox -- sh -c 'while true; do wget -q -O- http://echo-server; done'"
UP = "cpu resource utilization (percentage of request) above target"


def start(clock: VirtualClock | str = "virtual", hpa: str = HPA, seed: int = 1) -> Cluster:
    c = Cluster(clock=clock, seed=seed)
    assert c.kubectl("apply -f -", stdin=APP + "---\n" + hpa).returncode == 0
    c.settle()
    return c


def replicas(c: Cluster) -> int:
    return c.client.get("Deployment", "echo-server", "default")["spec"]["replicas"]


def status(c: Cluster, name: str = "echo-server") -> dict:
    return c.client.get("HorizontalPodAutoscaler", name, "default").get("status") or {}


def conditions(c: Cluster, name: str = "echo-server") -> dict[str, tuple[str, str, str]]:
    return {x["type"]: (x["status"], x["reason"], x["message"]) for x in status(c, name).get("conditions", [])}


def messages(c: Cluster, reason: str) -> list[str]:
    return [e["message"] for e in c.client.list("Event", "default")["items"]
            if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler" and e["reason"] == reason]


def test_load_scales_up_and_the_end_of_it_scales_down_after_five_minutes():
    c = start()
    assert "cpu: <unknown>/50%" in c.kubectl("get hpa").stdout, "nothing measured before the first sync"
    c.advance(60)
    assert replicas(c) == 1 and "cpu: 2%/50%" in c.kubectl("get hpa").stdout
    assert conditions(c)["ScalingActive"] == (
        "True", "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)")

    c.kubectl(LOAD)  # ten requests a second, 10ms of CPU each: 100m against 25m a pod
    c.advance(180)
    up = replicas(c)
    assert up >= 4
    assert [m for m in messages(c, "SuccessfulRescale")][-1] == f"New size: {up}; reason: {UP}"
    st = status(c)
    assert st["currentReplicas"] == st["desiredReplicas"] == up and st["lastScaleTime"]
    utilization = st["currentMetrics"][0]["resource"]["current"]["averageUtilization"]
    assert abs(utilization - 50) <= 50 * 0.1 or utilization < 50, "settled within the tolerance"

    c.kubectl("delete pod load --now")
    c.advance(60)
    assert replicas(c) == up, "low recommendations wait out the stabilization window"
    assert conditions(c)["AbleToScale"][1] == "ScaleDownStabilized"
    assert conditions(c)["AbleToScale"][2] == ("recent recommendations were higher than current one, "
                                               "applying the highest recent recommendation")
    c.advance(180)
    assert replicas(c) == up, "still within five minutes of the last high recommendation"
    c.advance(120)
    assert replicas(c) == 1
    assert messages(c, "SuccessfulRescale")[-1] == "New size: 1; reason: All metrics below target"
    assert "cpu: 2%/50%" in c.kubectl("get hpa").stdout


def test_the_same_seed_scales_the_same_way():
    def run() -> list[str]:
        c = start()
        c.advance(30)
        c.kubectl(LOAD)
        c.advance(120)
        return messages(c, "SuccessfulRescale") + [str(status(c))]
    assert run() == run()


BEHAVIOR = HPA + """\
  behavior:
    scaleUp:
      policies: [{type: Pods, value: 1, periodSeconds: 60}]
    scaleDown:
      stabilizationWindowSeconds: 30
"""


def test_behavior_policies_and_a_short_window():
    c = start(hpa=BEHAVIOR)
    spec = c.client.get("HorizontalPodAutoscaler", "echo-server", "default")["spec"]["behavior"]
    assert spec["scaleUp"] == {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                               "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    assert spec["scaleDown"] == {"stabilizationWindowSeconds": 30, "selectPolicy": "Max",
                                 "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    c.advance(45)
    c.kubectl(LOAD)
    c.advance(45)
    assert replicas(c) == 2, "one pod a minute"
    assert conditions(c)["ScalingLimited"] == (
        "True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
    c.advance(60)
    assert replicas(c) == 3
    c.kubectl("delete pod load --now")
    c.advance(75)
    assert replicas(c) == 1, "30 seconds of stabilization, then 100% down at once"


def test_pods_without_a_cpu_request_cannot_be_measured():
    c = start(hpa=HPA.replace("echo-server", "web"))
    c.kubectl("create deployment web --image=kennship/http-echo")
    c.settle()
    c.advance(60)
    pod = c.client.list("Pod", "default", label_selector="app=web")["items"][0]["metadata"]["name"]
    text = f"failed to get cpu utilization: missing request for cpu in container http-echo of Pod {pod}"
    assert conditions(c, "web")["ScalingActive"] == (
        "False", "FailedGetResourceMetric", f"the HPA was unable to compute the replica count: {text}")
    assert text in messages(c, "FailedGetResourceMetric")
    assert f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: " \
           f"{text}" in messages(c, "FailedComputeMetricsReplicas")
    assert "cpu: <unknown>/50%" in c.kubectl("get hpa web").stdout


def test_a_missing_target_cannot_be_scaled():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("autoscale deploy echo-server --max=3")  # NotFound: autoscale reads its target first
    c.kubectl("apply -f -", stdin=HPA)
    c.advance(20)
    assert conditions(c)["AbleToScale"] == (
        "False", "FailedGetScale",
        'the HPA controller was unable to get the target\'s current scale: deployments.apps "echo-server" not found')


@pytest.mark.parametrize("change, message", [
    ("maxReplicas: 10", 'spec.maxReplicas: Invalid value: 0: must be greater than 0'),
    ("minReplicas: 1", 'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1'),
])
def test_validation(change, message):
    c = Cluster(clock="virtual", seed=1)
    bad = HPA.replace(change, change.split(":")[0] + ": 0")
    r = c.kubectl("apply -f -", stdin=bad)
    assert r.returncode == 1 and message in r.stderr
    r = c.kubectl("apply -f -", stdin=HPA.replace("minReplicas: 1", "minReplicas: 12"))
    assert "spec.maxReplicas: Invalid value: 10: must be greater than or equal to `minReplicas`" in r.stderr


def test_autoscale_makes_the_hpa():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=APP)
    r = c.kubectl("autoscale deploy echo-server --cpu-percent=50 --min=1 --max=10")
    assert (r.returncode, r.stdout) == (0, "horizontalpodautoscaler.autoscaling/echo-server autoscaled\n")
    spec = c.client.get("HorizontalPodAutoscaler", "echo-server", "default")["spec"]
    assert spec["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 50}
    assert c.kubectl("autoscale deploy echo-server --max=0").stderr == \
        "error: --max=MAXPODS is required and must be at least 1, max: 0\n"
    r = c.kubectl("autoscale deploy echo-server --max=4 --name=eighty")
    assert c.client.get("HorizontalPodAutoscaler", "eighty", "default")["spec"]["metrics"][0]["resource"][
        "target"]["averageUtilization"] == 80, "the server's default target"


@needs_kubectl
def test_get_and_describe_match_the_real_kubectl(tmp_path):
    c = start(VirtualClock(start=int(time.time()) - 3600))
    c.kubectl("apply -f -", stdin=BEHAVIOR.replace("metadata: {name: echo-server}",
                                                   "metadata: {name: tuned, labels: {a: b}}"))
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for line in ("describe hpa echo-server", "get hpa"):
            same_at_wall_clock(c, kubectl, line)
        c.advance(30)
        c.kubectl(LOAD)
        c.advance(150)
        # (describe after the load is left out: its event ages are cluster time, an hour behind
        # the wall clock the real kubectl reads them against)
        for line in ("get hpa", "get hpa -o wide", "get hpa echo-server -o yaml", "get all", "top pods"):
            same_at_wall_clock(c, kubectl, line)


V1 = """\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: echo-server}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: echo-server}
  maxReplicas: 5
  targetCPUUtilizationPercentage: 50
"""
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}


def test_a_v1_manifest_is_stored_as_v2():
    c = start(hpa=V1)
    spec = c.client.get("HorizontalPodAutoscaler", "echo-server", "default")["spec"]
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}]
    assert spec["minReplicas"] == 1
    c.kubectl("apply -f -", stdin=V1.replace("name: echo-server}\nspec", "name: bare}\nspec").replace(
        "  targetCPUUtilizationPercentage: 50\n", ""))
    bare = c.client.get("HorizontalPodAutoscaler", "bare", "default")["spec"]["metrics"]
    assert bare[0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}, "v1's implicit default"


@needs_kubectl
def test_v1_through_the_served_api_keeps_what_v1_cannot_say(tmp_path):
    c = start()
    c.client.patch("HorizontalPodAutoscaler", "echo-server", "default",
                   {"spec": {"metrics": [HPA_CPU, MEMORY]}}, "merge")
    c.advance(60)
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        r = kubectl("get horizontalpodautoscalers.v1.autoscaling echo-server -o json")
        v1 = json.loads(r.stdout)
        assert v1["apiVersion"] == "autoscaling/v1" and v1["spec"]["targetCPUUtilizationPercentage"] == 50
        notes = v1["metadata"]["annotations"]
        assert json.loads(notes["autoscaling.alpha.kubernetes.io/metrics"]) == [
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
        current = json.loads(notes["autoscaling.alpha.kubernetes.io/current-metrics"])
        assert [m["resource"]["name"] for m in current] == ["cpu", "memory"]
        assert "currentAverageValue" in current[0]["resource"]
        assert {x["type"] for x in json.loads(notes["autoscaling.alpha.kubernetes.io/conditions"])} == {
            "AbleToScale", "ScalingActive", "ScalingLimited"}
        assert v1["status"]["currentReplicas"] == 1 and "currentCPUUtilizationPercentage" in v1["status"]
        # a v1 client writes its view back: the annotations carry the rest, and are not stored
        v1["spec"]["maxReplicas"] = 7
        r = kubectl("replace -f -", stdin=json.dumps(v1))
        assert r.returncode == 0, r.stderr
        stored = c.client.get("HorizontalPodAutoscaler", "echo-server", "default")
        assert stored["spec"]["maxReplicas"] == 7
        assert [m["resource"]["name"] for m in stored["spec"]["metrics"]] == ["memory", "cpu"]
        assert not any(k.startswith("autoscaling.alpha") for k in stored["metadata"].get("annotations") or {})
        r = kubectl(["patch", "horizontalpodautoscalers.v1.autoscaling", "echo-server", "--type=merge",
                     "-p", '{"spec":{"targetCPUUtilizationPercentage":70}}'])
        assert r.returncode == 0, r.stderr
        cpu = next(m for m in c.client.get("HorizontalPodAutoscaler", "echo-server", "default")["spec"]["metrics"]
                   if m["resource"]["name"] == "cpu")
        assert cpu["resource"]["target"]["averageUtilization"] == 70
        assert kubectl("get hpa echo-server -o jsonpath={.apiVersion}").stdout == "autoscaling/v2"


@needs_kubectl
def test_autoscale_matches_the_real_kubectl(tmp_path):
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=APP)
    c.settle()
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path / "home"))
        for line in ("autoscale deploy echo-server --max=3 --dry-run=client -o yaml",
                     "autoscale deploy echo-server --max=3 --cpu-percent=50 --min=2 --dry-run=client -o yaml",
                     "autoscale deploy echo-server --max=3 --cpu-percent=50 --dry-run=server -o yaml",
                     "autoscale deploy echo-server --max=3 --min=4", "autoscale svc echo-server --max=3"):
            real, ours = kubectl(line), c.kubectl(line)
            assert (ours.stdout, ours.stderr, ours.returncode) == (real.stdout, real.stderr, real.returncode), line
        real = kubectl("autoscale deploy echo-server --max=3 --cpu-percent=50 --name=theirs -o name")
        ours = c.kubectl("autoscale deploy echo-server --max=3 --cpu-percent=50 --name=ours -o name")
        assert (real.stdout, ours.stdout) == ("horizontalpodautoscaler.autoscaling/theirs\n",
                                              "horizontalpodautoscaler.autoscaling/ours\n")
        theirs, mine = (c.client.get("HorizontalPodAutoscaler", n, "default") for n in ("theirs", "ours"))
        assert theirs["spec"] == mine["spec"] and theirs["apiVersion"] == "autoscaling/v2"


# -- the chapter's exercise ---------------------------------------------------------------------
def test_exercise_10_autoscaling_passes_with_a_solution():
    from kubelab.notebook.exercises import check

    c = Cluster(clock="virtual", seed=1)
    assert not check("10-autoscaling", c.client, wait=0).passed
    for line in ("create deployment web --image=nginx --replicas=2",
                 "set resources deployment web --requests=cpu=100m",
                 "autoscale deployment web --cpu-percent=60 --min=2 --max=6"):
        assert c.kubectl(line).returncode == 0, line
    c.kubectl("patch", "hpa", "web", "--type=merge", "-p",
              '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":60}}}}')
    report = check("10-autoscaling", c.client, wait=90)
    assert report.passed, str(report)


def test_exercise_10_autoscaling_hints():
    from kubelab.notebook.exercises import check

    c = Cluster(clock="virtual", seed=1)
    c.kubectl("create deployment web --image=nginx --replicas=2")
    c.kubectl("autoscale deployment web --min=1 --max=6")
    c.settle()
    c.advance(60)
    report = check("10-autoscaling", c.client, wait=0)
    text = str(report)
    assert "not every container requests CPU" in text and "it keeps between 1 and 6 replicas" in text
    assert "it does not aim at 60% CPU utilization" in text and "the default 300 s" in text
    assert "missing request for cpu in container nginx" in text, "the HPA's own reason, read off its condition"
    assert "without CPU requests there is no utilization to measure" in report.hints
    assert not report.waiting, "nothing here fixes itself"
