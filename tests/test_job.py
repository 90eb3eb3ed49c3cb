"""Jobs through the whole cluster and kubectl: run to completion, back-off and the backoff
limit, deadline, parallelism, TTL, suspend, the generated selector, and kubectl's views."""
from __future__ import annotations

import pytest

from kubelab.cluster import Cluster


def job(name: str, command: str, restart: str = "Never", **spec: object) -> str:
    """A Job manifest running ``sh -c command`` in busybox, with extra spec fields."""
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (f"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{extra}"
            f"  template:\n    spec:\n      containers:\n      - name: {name}\n        image: busybox\n"
            f"        command: [\"sh\", \"-c\", \"{command}\"]\n      restartPolicy: {restart}\n")


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def ok(c: Cluster, cmd: str, stdin: str | None = None) -> str:
    r = c.kubectl(cmd, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def uid(c: Cluster, name: str) -> str:
    return c.api.get("Job", name)["metadata"]["uid"]


def pod_names(c: Cluster, name: str) -> list[str]:
    return [p["metadata"]["name"] for p in c.api.list("Pod", "default", f"job-name={name}")["items"]]


def test_a_job_runs_its_pod_to_completion(c):
    assert ok(c, "apply -f -", job("hello", "echo hi; sleep 2")) == "job.batch/hello created\n"
    c.advance(1)
    assert ok(c, "get jobs") == (
        "NAME    STATUS    COMPLETIONS   DURATION   AGE\n"
        "hello   Running   0/1           1s         1s\n")
    assert c.settle()
    [pod] = pod_names(c, "hello")
    assert pod.startswith("hello-") and len(pod) == len("hello-") + 5
    assert ok(c, "get jobs,pods") == (
        "NAME              STATUS     COMPLETIONS   DURATION   AGE\n"
        "job.batch/hello   Complete   1/1           3s         3s\n"
        "\n"
        "NAME              READY   STATUS      RESTARTS   AGE\n"
        f"pod/{pod}   0/1     Completed   0          3s\n")
    assert ok(c, "logs job/hello") == "hi\n"
    u = uid(c, "hello")
    assert ok(c, "get jobs -o wide") == (
        "NAME    STATUS     COMPLETIONS   DURATION   AGE   CONTAINERS   IMAGES    SELECTOR\n"
        f"hello   Complete   1/1           3s         3s    hello        busybox   batch.kubernetes.io/controller-uid={u}\n")
    assert ok(c, "describe job hello") == f"""\
Name:             hello
Namespace:        default
Selector:         batch.kubernetes.io/controller-uid={u}
Labels:           batch.kubernetes.io/controller-uid={u}
                  batch.kubernetes.io/job-name=hello
                  controller-uid={u}
                  job-name=hello
Annotations:      <none>
Parallelism:      1
Completions:      1
Completion Mode:  NonIndexed
Suspend:          false
Backoff Limit:    6
Start Time:       Thu, 01 Jan 2026 00:00:00 +0000
Completed At:     Thu, 01 Jan 2026 00:00:03 +0000
Duration:         3s
Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed
Pod Template:
  Labels:  batch.kubernetes.io/controller-uid={u}
           batch.kubernetes.io/job-name=hello
           controller-uid={u}
           job-name=hello
  Containers:
   hello:
    Image:      busybox
    Port:       <none>
    Host Port:  <none>
    Command:
      sh
      -c
      echo hi; sleep 2
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Events:
  Type    Reason            Age   From            Message
  ----    ------            ----  ----            -------
  Normal  SuccessfulCreate  3s    job-controller  Created pod: {pod}
  Normal  Completed         0s    job-controller  Job completed
"""
    status = c.api.get("Job", "hello")["status"]
    stamp = "2026-01-01T00:00:03Z"
    reached = {"lastProbeTime": stamp, "lastTransitionTime": stamp, "status": "True",
               "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
    assert status == {"startTime": "2026-01-01T00:00:00Z", "completionTime": stamp, "succeeded": 1,
                      "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                      "conditions": [{**reached, "type": "SuccessCriteriaMet"}, {**reached, "type": "Complete"}]}


def test_the_api_server_generates_selector_and_labels(c):
    ok(c, "apply -f -", job("gen", "true"))
    j = c.api.get("Job", "gen")
    u = j["metadata"]["uid"]
    labels = {"batch.kubernetes.io/controller-uid": u, "batch.kubernetes.io/job-name": "gen",
              "controller-uid": u, "job-name": "gen"}
    assert j["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": u}}
    assert j["spec"]["manualSelector"] is False
    assert j["spec"]["template"]["metadata"]["labels"] == labels
    assert j["metadata"]["labels"] == labels
    c.advance(1)
    [pod] = c.api.list("Pod", "default", "job-name=gen")["items"]
    assert pod["metadata"]["labels"] == labels
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"


def test_manual_selector_must_be_given_and_match(c):
    text = job("manual", "true", manualSelector="true")
    r = c.kubectl("apply -f -", stdin=text)
    assert r.returncode == 1
    assert r.stderr == (
        'The Job "manual" is invalid: \n'
        "* spec.selector: Required value\n"
        "* spec.template.metadata.labels: Invalid value: map[string]string(nil): "
        "`selector` does not match template `labels`\n")
    r = c.kubectl("apply -f -", stdin=job("always", "true", restart="Always"))
    assert r.stderr == ('The Job "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: '
                        '"Always": supported values: "OnFailure", "Never"\n')
    assert c.api.list("Job")["items"] == []


def test_failed_pods_back_off_then_the_job_fails(c):
    ok(c, "apply -f -", job("fail", "echo boom; exit 1", backoffLimit=2))
    c.advance(5)
    assert len(pod_names(c, "fail")) == 1  # the replacement waits 10s after the failure
    c.advance(10)
    assert len(pod_names(c, "fail")) == 2
    assert c.settle()
    pods = sorted(c.api.list("Pod", "default", "job-name=fail")["items"],
                  key=lambda p: p["metadata"]["creationTimestamp"])
    created = [p["metadata"]["creationTimestamp"] for p in pods]
    assert created == ["2026-01-01T00:00:00Z", "2026-01-01T00:00:11Z", "2026-01-01T00:00:33Z"]
    assert ok(c, "get job fail") == (
        "NAME   STATUS   COMPLETIONS   DURATION   AGE\n"
        "fail   Failed   0/1           34s        34s\n")
    status = c.api.get("Job", "fail")["status"]
    assert status["failed"] == 3 and "succeeded" not in status and "completionTime" not in status
    assert [(x["type"], x["reason"]) for x in status["conditions"]] == [
        ("FailureTarget", "BackoffLimitExceeded"), ("Failed", "BackoffLimitExceeded")]
    events = ok(c, "describe job fail").split("Events:\n")[1]
    names = [p["metadata"]["name"] for p in pods]
    assert events == (
        "  Type     Reason                Age   From            Message\n"
        "  ----     ------                ----  ----            -------\n"
        f"  Normal   SuccessfulCreate      34s   job-controller  Created pod: {names[0]}\n"
        f"  Normal   SuccessfulCreate      23s   job-controller  Created pod: {names[1]}\n"
        f"  Normal   SuccessfulCreate      1s    job-controller  Created pod: {names[2]}\n"
        "  Warning  BackoffLimitExceeded  0s    job-controller  Job has reached the specified backoff limit\n")


def test_active_deadline_stops_the_job(c):
    ok(c, "apply -f -", job("slow", "sleep 100", activeDeadlineSeconds=5))
    c.advance(5.5)
    # the interim condition holds while the pod is still terminating
    assert ok(c, "get job slow").splitlines()[1].split()[1] == "FailureTarget"
    [pod] = pod_names(c, "slow")
    assert c.api.get("Pod", pod)["metadata"].get("deletionTimestamp")
    assert c.settle()
    assert pod_names(c, "slow") == []
    j = c.api.get("Job", "slow")
    assert [(x["type"], x["reason"], x["message"]) for x in j["status"]["conditions"]] == [
        ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline"),
        ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")]
    assert j["status"]["failed"] == 1
    assert "Warning  DeadlineExceeded" in ok(c, "describe job slow")


def test_parallelism_and_completions(c):
    ok(c, "apply -f -", job("batch", "sleep 3", completions=5, parallelism=2))
    c.advance(1)
    assert len(pod_names(c, "batch")) == 2
    assert ok(c, "get job batch").splitlines()[1].split()[:3] == ["batch", "Running", "0/5"]
    assert c.settle()
    assert len(pod_names(c, "batch")) == 5
    assert ok(c, "get job batch").splitlines()[1].split()[:3] == ["batch", "Complete", "5/5"]
    assert "Pods Statuses:    0 Active (0 Ready) / 5 Succeeded / 0 Failed" in ok(c, "describe job batch")


def test_ttl_after_finished_deletes_the_job_and_its_pods(c):
    ok(c, "apply -f -", job("brief", "true", ttlSecondsAfterFinished=30))
    c.advance(10)
    assert ok(c, "get job brief").splitlines()[1].split()[1] == "Complete"
    assert "TTL Seconds After Finished:  30" in ok(c, "describe job brief")
    assert c.settle()
    assert c.kubectl("get job brief").stderr == 'Error from server (NotFound): jobs.batch "brief" not found\n'
    assert pod_names(c, "brief") == []


def test_suspend_and_resume(c):
    ok(c, "apply -f -", job("later", "true", suspend="true"))
    c.advance(5)
    assert pod_names(c, "later") == []
    assert ok(c, "get job later") == (
        "NAME    STATUS      COMPLETIONS   DURATION   AGE\n"
        "later   Suspended   0/1                      5s\n")
    ok(c, "patch job later --type=merge -p '{\"spec\":{\"suspend\":false}}'")
    assert c.settle()
    assert ok(c, "get job later").splitlines()[1].split()[1] == "Complete"
    reasons = [line.split()[1] for line in ok(c, "describe job later").split("Events:\n")[1].splitlines()[2:]]
    assert reasons == ["Suspended", "SuccessfulCreate", "Resumed", "Completed"]


def test_on_failure_restarts_count_against_the_backoff_limit(c):
    ok(c, "apply -f -", job("flaky", "exit 1", restart="OnFailure", backoffLimit=2))
    c.advance(120)  # crash-loop back-off retries are background timers: settle would stop early
    j = c.api.get("Job", "flaky")
    assert [x["type"] for x in j["status"]["conditions"]] == ["FailureTarget", "Failed"]
    assert pod_names(c, "flaky") == []  # the restarting pod is deleted


def test_kubectl_create_job(c):
    assert ok(c, "create job x --image=busybox --dry-run=client -o yaml -- sh -c 'echo hi'") == """\
apiVersion: batch/v1
kind: Job
metadata:
  creationTimestamp: null
  name: x
spec:
  template:
    metadata:
      creationTimestamp: null
    spec:
      containers:
      - command:
        - sh
        - -c
        - echo hi
        image: busybox
        name: x
        resources: {}
      restartPolicy: Never
status: {}
"""
    r = c.kubectl("create job x")
    assert (r.returncode, r.stderr) == (1, "error: either --image or --from must be specified\n")
    r = c.kubectl("create job x --from=deploy/y")
    assert (r.returncode, r.stderr) == (1, "error: unknown object type *v1.Deployment\n")
    assert ok(c, "create job hi --image=busybox -- sh -c 'echo hello from a job'") == "job.batch/hi created\n"
    assert c.settle()
    assert ok(c, "logs job/hi") == "hello from a job\n"


def test_pod_failure_policy_fail_job_and_ignore():
    """The docs' job-pod-failure-policy-example.yaml: exit code 42 of container main matches
    a FailJob rule, so the Job fails at once (reason PodFailurePolicy, upstream's message);
    an Ignore rule's failures are not counted against backoffLimit."""
    from kubelab import Cluster

    def job(name: str, script: str, rules: list, backoff: int = 6) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {
            "completions": 4, "parallelism": 2, "backoffLimit": backoff, "podFailurePolicy": {"rules": rules},
            "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "bash:5", "command": ["bash", "-c", script]}]}}}}

    c = Cluster(clock="virtual", seed=2)
    c.api.create(job("fails", "sleep 5; exit 42", [
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]))
    c.api.create(job("ignores", "sleep 5; exit 3", [
        {"action": "Ignore", "onExitCodes": {"operator": "NotIn", "values": [1, 2]}}], backoff=0))
    c.advance(60)
    failed = c.api.get("Job", "fails")["status"]
    cond = next(x for x in failed["conditions"] if x["type"] == "Failed")
    assert cond["reason"] == "PodFailurePolicy"
    assert cond["message"].startswith("Container main for pod default/fails-") and \
        cond["message"].endswith("failed with exit code 42 matching FailJob rule at index 0")
    ignored = c.api.get("Job", "ignores")["status"]
    assert not any(x["type"] == "Failed" for x in ignored.get("conditions") or ())
    assert "failed" not in ignored and ignored["active"] == 2
