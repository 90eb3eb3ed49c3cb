"""The CronJob controller: creates a Job from the template at each scheduled time.

Like kube-controller-manager's cronjob-controller (v2) it wakes at the next scheduled instant
on the engine clock (a timer, never a scan), names each Job ``<cronjob>-<scheduled minutes since
the epoch>``, honours ``concurrencyPolicy`` (Allow, Forbid, Replace), ``suspend`` and
``startingDeadlineSeconds``, keeps ``status.active``, ``lastScheduleTime`` and
``lastSuccessfulTime``, and deletes finished Jobs beyond the history limits.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from kubelab.api import cron, errors
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer, parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.job import condition
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.store import Key, Obj, key_of

SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100
# A schedule fires a moment after its instant, as the real controller's requeue does.
NEXT_SCHEDULE_DELTA = 0.1


class CronJobController(Controller):
    watches = ("CronJob", "Job")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "cronjob-controller")
        self._timers: dict[Key, Timer] = {}

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "CronJob":
            if event == "DELETED":
                timer = self._timers.pop(key_of(obj), None)
                if timer is not None:
                    timer.cancel()
                return ()
            return (key_of(obj),)
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "CronJob":
            return ()
        return (("CronJob", obj["metadata"].get("namespace", ""), ref["name"]),)

    def reconcile(self, key: Key) -> None:
        cj = self.store.get(*key)
        if cj is None:
            return
        spec, old = cj.get("spec") or {}, cj.get("status") or {}
        status = copy.deepcopy(old)
        jobs = [j for j in self.store.owned_by(cj["metadata"]["uid"])
                if j["kind"] == "Job" and (controller_of(j) or {}).get("uid") == cj["metadata"]["uid"]]
        self._track(cj, status, jobs)
        if not cj["metadata"].get("deletionTimestamp"):
            self._cleanup(cj, jobs)
            if not spec.get("suspend"):
                self._schedule(cj, spec, status)
        if not status.get("active"):
            status.pop("active", None)
        if status != old:
            updated = copy.deepcopy(cj)
            updated["status"] = status
            self.store.update(updated, status=True)

    # -- what the jobs did --------------------------------------------------------------------
    def _track(self, cj: Obj, status: Obj, jobs: list[Obj]) -> None:
        """Drop finished or vanished jobs from status.active (SawCompletedJob), note running
        jobs it did not start (UnexpectedJob: ``create job --from`` makes one), and move
        lastSuccessfulTime to the latest completion."""
        listed = {ref.get("uid") for ref in status.get("active") or ()}
        finished_uids = set()
        for job in jobs:
            done = condition(job, "Complete") or condition(job, "Failed")
            uid = job["metadata"]["uid"]
            if done is None:
                if uid not in listed:
                    self.events.warning(cj, "UnexpectedJob", "Saw a job that the controller did not create or "
                                                             f"forgot: {job['metadata']['name']}")
                continue
            finished_uids.add(uid)
            if uid in listed:
                self.events.normal(cj, "SawCompletedJob",
                                   f"Saw completed job: {job['metadata']['name']}, condition: {done['type']}")
            finished = (job.get("status") or {}).get("completionTime")
            last = status.get("lastSuccessfulTime")
            if done["type"] == "Complete" and finished and (not last or parse_timestamp(finished) > parse_timestamp(last)):
                status["lastSuccessfulTime"] = finished
        present = {j["metadata"]["uid"] for j in jobs}
        status["active"] = [ref for ref in status.get("active") or ()
                            if ref.get("uid") in present and ref.get("uid") not in finished_uids]

    def _cleanup(self, cj: Obj, jobs: list[Obj]) -> None:
        """Delete the oldest finished jobs beyond successful/failedJobsHistoryLimit."""
        spec = cj.get("spec") or {}
        for type_, field in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(field)
            if limit is None:
                continue
            done = [j for j in jobs if condition(j, type_) and not j["metadata"].get("deletionTimestamp")]
            done.sort(key=lambda j: ((j.get("status") or {}).get("startTime") or j["metadata"]["creationTimestamp"],
                                     j["metadata"]["name"]))
            for job in done[:max(0, len(done) - limit)]:
                self._delete_job(cj, job)

    def _delete_job(self, cj: Obj, job: Obj) -> None:
        try:
            self.api.delete("Job", job["metadata"]["name"], job["metadata"]["namespace"], propagation="Background")
        except errors.StatusError as err:
            if err.code != 404:
                self.events.warning(cj, "FailedDelete", f"Deleted job: {err}")
            return
        self.events.normal(cj, "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")

    # -- the schedule -------------------------------------------------------------------------
    def _schedule(self, cj: Obj, spec: Obj, status: Obj) -> None:
        try:
            schedule = cron.parse(spec.get("schedule", ""))
        except cron.ScheduleError as err:
            self.events.warning(cj, "UnparseableSchedule", f"unparseable schedule: {spec.get('schedule', '')!r} : {err}")
            return
        tz = cron.time_zone(spec.get("timeZone"))
        if tz is None:
            self.events.warning(cj, "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}")
            return
        now = self.clock.now()
        since = status.get("lastScheduleTime") or cj["metadata"]["creationTimestamp"]
        earliest = parse_timestamp(since)
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - deadline)
        scheduled, missed, t = None, 0, earliest
        while True:
            t = schedule.next_after(t, tz)
            if t > now:
                break
            scheduled, missed = t, missed + 1
            if missed > TOO_MANY_MISSED:
                break
        self._wake(key_of(cj), schedule.next_after(now, tz) - now + NEXT_SCHEDULE_DELTA)
        if scheduled is None:
            return
        if missed > TOO_MANY_MISSED:
            self.events.warning(cj, "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                                "or check clock skew")
        name = f"{cj['metadata']['name']}-{int(scheduled // 60)}"
        if self.store.get("Job", cj["metadata"]["namespace"], name) is not None:
            return  # already made for this instant
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status.get("active"):
            self.events.normal(cj, "JobAlreadyActive",
                               "Not starting job because prior execution is running and concurrency policy is Forbid")
            return
        if policy == "Replace":
            for ref in status.get("active") or ():
                job = self.store.get("Job", cj["metadata"]["namespace"], ref.get("name", ""))
                if job is not None:
                    self._delete_job(cj, job)
            status["active"] = []
        try:
            job = self.api.create(self._job_for(cj, name, scheduled, tz))
        except errors.StatusError as err:
            if err.code == 409:
                return
            self.events.warning(cj, "FailedCreate", f"Error creating job: {err}")
            return
        self.events.normal(cj, "SuccessfulCreate", f"Created job {name}")
        status.setdefault("active", []).append(_reference(job))
        status["lastScheduleTime"] = self.clock.timestamp(scheduled)

    def _job_for(self, cj: Obj, name: str, scheduled: float, tz: Any) -> Obj:
        template = (cj.get("spec") or {}).get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        from datetime import datetime

        meta: Obj = {"name": name, "namespace": cj["metadata"]["namespace"]}
        if tmeta.get("labels"):
            meta["labels"] = dict(tmeta["labels"])
        stamp = datetime.fromtimestamp(scheduled, tz).isoformat().replace("+00:00", "Z")
        meta["annotations"] = {**(tmeta.get("annotations") or {}), SCHEDULED_AT: stamp}
        meta["ownerReferences"] = [controller_ref(cj)]
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": copy.deepcopy(template.get("spec") or {})}

    def _wake(self, key: Key, delay: float) -> None:
        """Reconcile again at the next scheduled instant. A background timer: a CronJob never
        settles, so waiting for it must not count as work left."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.enqueue(key)
        self._timers[key] = self.clock.call_later(max(delay, 0.0), fire, progress=False)


def _reference(job: Obj) -> Obj:
    meta = job["metadata"]
    return {"kind": "Job", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def install(engine: Engine, api: APIServer) -> None:
    """Run the CronJob controller in this engine."""
    engine.add(CronJobController(engine, api))
