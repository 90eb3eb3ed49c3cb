"""CronJobs on the virtual clock: schedules, job names, history limits, concurrency policies,
suspend, starting deadline, validation, and kubectl's get/describe/create views."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubelab.api import cron
from kubelab.cluster import Cluster

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def ok(c: Cluster, cmd: str, stdin: str | None = None) -> str:
    r = c.kubectl(cmd, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def jobs(c: Cluster) -> list[str]:
    return sorted(j["metadata"]["name"] for j in c.api.list("Job", "default")["items"])


def minute(n: int) -> str:
    """A job name's suffix: the scheduled time in minutes since the epoch."""
    return str(int(EPOCH // 60) + n)


def times(schedule: str, count: int = 3) -> list[str]:
    found, t, parsed = [], EPOCH, cron.parse(schedule)
    for _ in range(count):
        t = parsed.next_after(t)
        found.append(datetime.fromtimestamp(t, timezone.utc).strftime("%a %d %H:%M"))
    return found


def test_schedules_parse_like_cron():
    assert times("*/15 * * * *") == ["Thu 01 00:15", "Thu 01 00:30", "Thu 01 00:45"]
    assert times("@hourly") == ["Thu 01 01:00", "Thu 01 02:00", "Thu 01 03:00"]
    assert times("30 9 * * mon-fri") == ["Thu 01 09:30", "Fri 02 09:30", "Mon 05 09:30"]
    assert times("0 12 1 * 1") == ["Thu 01 12:00", "Mon 05 12:00", "Mon 12 12:00"]  # day OR weekday
    assert times("@every 90s", 2) == ["Thu 01 00:01", "Thu 01 00:03"]
    with pytest.raises(cron.ScheduleError, match="expected exactly 5 fields, found 4: 1 2 3 4"):
        cron.parse("1 2 3 4")


def test_a_cronjob_creates_jobs_on_schedule_and_keeps_history(c):
    assert ok(c, "create cronjob hello --image=busybox --schedule='*/1 * * * *' -- sh -c 'echo hi; sleep 2'") == \
        "cronjob.batch/hello created\n"
    assert ok(c, "get cronjobs") == (
        "NAME    SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "hello   */1 * * * *   <none>     False     0        <none>          0s\n")
    c.advance(61)
    assert jobs(c) == [f"hello-{minute(1)}"]
    assert ok(c, "get cj") == (
        "NAME    SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "hello   */1 * * * *   <none>     False     1        1s              61s\n")
    c.advance(300)
    # five runs done, three successful ones kept (successfulJobsHistoryLimit), the sixth running
    assert jobs(c) == [f"hello-{minute(n)}" for n in (3, 4, 5, 6)]
    job = c.api.get("Job", f"hello-{minute(6)}")
    assert job["metadata"]["annotations"] == {
        "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-01-01T00:06:00Z"}
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert c.settle()  # a CronJob's schedule never counts as work left
    assert jobs(c) == [f"hello-{minute(n)}" for n in (4, 5, 6)]
    status = c.api.get("CronJob", "hello")["status"]
    assert status == {"lastScheduleTime": "2026-01-01T00:06:00Z", "lastSuccessfulTime": "2026-01-01T00:06:03Z"}
    text = ok(c, "describe cronjob hello")
    head, events = text.split("Events:\n")
    assert head == """\
Name:                          hello
Namespace:                     default
Labels:                        <none>
Annotations:                   <none>
Schedule:                      */1 * * * *
Concurrency Policy:            Allow
Suspend:                       False
Successful Job History Limit:  3
Failed Job History Limit:      1
Starting Deadline Seconds:     <unset>
Selector:                      <unset>
Parallelism:                   <unset>
Completions:                   <unset>
Pod Template:
  Labels:  <none>
  Containers:
   hello:
    Image:      busybox
    Port:       <none>
    Host Port:  <none>
    Command:
      sh
      -c
      echo hi; sleep 2
    Environment:     <none>
    Mounts:          <none>
  Volumes:           <none>
  Node-Selectors:    <none>
  Tolerations:       <none>
Last Schedule Time:  Thu, 01 Jan 2026 00:06:00 +0000
Active Jobs:         <none>
"""
    expected = ["  Type    Reason            Age   From                Message",
                "  ----    ------            ----  ----                -------"]
    for n, (created, seen) in enumerate([("5m3s", "5m"), ("4m3s", "4m"), ("3m3s", "3m"), ("2m3s", "2m"),
                                         ("63s", "60s"), ("3s", "0s")], start=1):
        expected.append(f"  Normal  SuccessfulCreate  {created:<4}  cronjob-controller  Created job hello-{minute(n)}")
        expected.append(f"  Normal  SawCompletedJob   {seen:<4}  cronjob-controller  "
                        f"Saw completed job: hello-{minute(n)}, condition: Complete")
        if n >= 4:
            expected.append(f"  Normal  SuccessfulDelete  {seen:<4}  cronjob-controller  Deleted job hello-{minute(n - 3)}")
    assert events.splitlines() == expected


def manifest(policy: str, command: str = "sleep 150", **spec: object) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (f"apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: tick\nspec:\n  schedule: '* * * * *'\n"
            f"  concurrencyPolicy: {policy}\n{extra}  jobTemplate:\n    spec:\n      template:\n        spec:\n"
            f"          containers:\n          - name: c\n            image: busybox\n"
            f"            command: [sh, -c, '{command}']\n          restartPolicy: Never\n")


def test_forbid_skips_runs_while_one_is_active(c):
    ok(c, "apply -f -", manifest("Forbid"))
    c.advance(181)
    assert jobs(c) == [f"tick-{minute(1)}"]
    assert "JobAlreadyActive" in ok(c, "describe cj tick")
    c.advance(60)  # the first run ends at 3:3x: the missed 3:00 run starts then, late
    assert jobs(c) == [f"tick-{minute(1)}", f"tick-{minute(3)}"]


def test_replace_deletes_the_running_job(c):
    ok(c, "apply -f -", manifest("Replace"))
    c.advance(121)
    assert jobs(c) == [f"tick-{minute(2)}"]
    assert f"Deleted job tick-{minute(1)}" in ok(c, "describe cj tick")


def test_allow_runs_them_side_by_side(c):
    ok(c, "apply -f -", manifest("Allow"))
    c.advance(121)
    assert jobs(c) == [f"tick-{minute(1)}", f"tick-{minute(2)}"]
    assert ok(c, "get cj tick").splitlines()[1].split()[8] == "2"


def test_suspended_cronjobs_do_not_run_and_missed_runs_past_the_deadline_are_skipped(c):
    ok(c, "apply -f -", manifest("Allow", suspend="true", startingDeadlineSeconds=10))
    c.advance(630)
    assert jobs(c) == []
    assert ok(c, "get cj tick").splitlines()[1].split()[7] == "True"
    ok(c, "patch cj tick --type=merge -p '{\"spec\":{\"suspend\":false}}'")
    c.advance(20)
    assert jobs(c) == []  # 0:10 was missed more than 10s ago
    c.advance(31)
    assert jobs(c) == [f"tick-{minute(11)}"]


def test_failed_jobs_history_limit(c):
    ok(c, "apply -f -", manifest("Allow", command="exit 1", failedJobsHistoryLimit=1))
    c.kubectl("patch cj tick --type=json -p "
              "'[{\"op\":\"add\",\"path\":\"/spec/jobTemplate/spec/backoffLimit\",\"value\":0}]'")
    c.advance(185)
    assert jobs(c) == [f"tick-{minute(3)}"]


def test_validation_and_create_job_from_a_cronjob(c):
    r = c.kubectl("create cronjob bad --image=busybox --schedule='61 * * * *'")
    assert r.stderr == ('error: failed to create cronjob: CronJob.batch "bad" is invalid: spec.schedule: '
                        'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61\n')  # as kubectl 1.32
    r = c.kubectl("create cronjob x --image=busybox")
    assert r.stderr == 'error: required flag(s) "schedule" not set\n'
    ok(c, "create cronjob nightly --image=busybox --schedule=@daily -- echo backup")
    assert ok(c, "create job backup-now --from=cronjob/nightly") == "job.batch/backup-now created\n"
    job = c.api.get("Job", "backup-now")
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert job["metadata"]["ownerReferences"][0]["name"] == "nightly"
    assert c.settle()
    assert ok(c, "logs job/backup-now") == "backup\n"
    assert ok(c, "get job backup-now").splitlines()[1].split()[1] == "Complete"
