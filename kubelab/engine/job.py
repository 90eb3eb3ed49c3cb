"""The Job controller: runs pods until enough of them succeed, or gives up.

Like kube-controller-manager's job-controller in 1.32 it keeps ``parallelism`` pods running
until ``completions`` succeeded, counts failed pods against ``backoffLimit`` (and restarts of
``OnFailure`` pods), waits an exponential back-off before replacing failed pods, stops at
``activeDeadlineSeconds``, and finishes in two steps: the interim ``SuccessCriteriaMet`` /
``FailureTarget`` condition first, then ``Complete`` / ``Failed`` once no pod is still running
or terminating. The ttl-after-finished controller's part (``ttlSecondsAfterFinished``) is here
too: it deletes a finished Job, and its pods with it, when the time is up.
"""
from __future__ import annotations

import copy
from typing import Iterable

from kubelab.api import errors
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer, parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.owners import controller_of, controller_ref
from kubelab.engine.replicaset import is_pod_active, is_pod_ready, only_status_changed
from kubelab.engine.store import Key, Obj, key_of

BACKOFF_SECONDS = 10.0  # the first replacement of a failed pod waits this long, doubling each time
MAX_BACKOFF_SECONDS = 360.0
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"

_SUCCESS = ("CompletionsReached", "Reached expected number of succeeded pods")
_BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
_DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")


def match_pod_failure_policy(policy: Obj, pod: Obj) -> tuple[str | None, str]:
    """The first podFailurePolicy rule a failed pod matches, and its message (matchPodFailurePolicy
    in pod_failure_policy.go): onExitCodes looks at terminated containers (then init containers)
    with a non-zero exit code; onPodConditions at the pod's conditions."""
    meta, status = pod["metadata"], pod.get("status") or {}
    for index, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        codes = rule.get("onExitCodes")
        if codes:
            for c in [*(status.get("containerStatuses") or ()), *(status.get("initContainerStatuses") or ())]:
                term = (c.get("state") or {}).get("terminated")
                if not term or not term.get("exitCode") or \
                        codes.get("containerName") not in (None, c.get("name")):
                    continue
                inside = term["exitCode"] in (codes.get("values") or ())
                if inside == (codes.get("operator") == "In"):
                    return action, (f"Container {c['name']} for pod {meta['namespace']}/{meta['name']} failed with "
                                    f"exit code {term['exitCode']} matching {action} rule at index {index}")
        for want in rule.get("onPodConditions") or ():
            for cond in status.get("conditions") or ():
                if cond.get("type") == want.get("type") and cond.get("status") == want.get("status", "True"):
                    return action, (f"Pod {meta['namespace']}/{meta['name']} has condition {cond['type']} matching "
                                    f"{action} rule at index {index}")
    return None, ""


def condition(job: Obj, type_: str) -> Obj | None:
    """The job's condition of ``type_`` when it is True."""
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_ and cond.get("status") == "True":
            return cond
    return None


def is_finished(job: Obj) -> bool:
    return condition(job, "Complete") is not None or condition(job, "Failed") is not None


class JobController(Controller):
    watches = ("Job", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.events = Recorder(self.store, "job-controller")
        self._counted: dict[str, set[str]] = {}  # job uid -> finished pods already in the counts
        self._gone: dict[str, list[Obj]] = {}  # job uid -> pods removed before they were counted
        self._failures: dict[str, tuple[int, float]] = {}  # job uid -> (failures since last success, when)
        self._timers: dict[Key, Timer] = {}  # back-off or deadline wake-up, one per job
        self._ttl: dict[Key, Timer] = {}
        self._fail_job: dict[str, str] = {}  # job uid -> the message of a matched FailJob rule

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Job":
            key = key_of(obj)
            if event == "DELETED":
                self._forget(key, obj["metadata"].get("uid", ""))
                return ()
            if old is not None and only_status_changed(obj, old):
                return ()
            return (key,)
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "Job":
            return ()
        if event == "DELETED" and obj["metadata"].get("uid") not in self._counted.get(ref["uid"], ()):
            self._gone.setdefault(ref["uid"], []).append(obj)
        return (("Job", obj["metadata"].get("namespace", ""), ref["name"]),)

    def _forget(self, key: Key, uid: str) -> None:
        for timers in (self._timers, self._ttl):
            timer = timers.pop(key, None)
            if timer is not None:
                timer.cancel()
        for memo in (self._counted, self._gone, self._failures, self._fail_job):
            memo.pop(uid, None)

    # -- the sync ------------------------------------------------------------------------------
    def reconcile(self, key: Key) -> None:
        job = self.store.get(*key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        if is_finished(job):
            self._expire(job)
            return
        uid = job["metadata"]["uid"]
        spec = job.get("spec") or {}
        old = job.get("status") or {}
        now = self.clock.now()
        pods = [p for p in self.store.owned_by(uid)
                if p["kind"] == "Pod" and (controller_of(p) or {}).get("uid") == uid]
        succeeded, failed = self._count(uid, pods, old, now, spec.get("podFailurePolicy"))
        active = [p for p in pods if is_pod_active(p)]
        terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")
                       and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        status: Obj = {k: v for k, v in old.items() if k in ("startTime", "conditions", "completedIndexes")}
        suspended = bool(spec.get("suspend"))
        conditions = list(status.get("conditions") or ())
        if not suspended and not status.get("startTime"):
            status["startTime"] = self.clock.timestamp()
        interim = condition(job, "SuccessCriteriaMet") or condition(job, "FailureTarget")
        if interim is None:
            reason = self._failure(job, spec, status, active, failed, now)
            if reason is not None:
                interim = self._condition("FailureTarget", *reason)
            elif self._succeeded(spec, succeeded, active):
                interim = self._condition("SuccessCriteriaMet", *_SUCCESS)
            if interim is not None:
                conditions.append(interim)
        if interim is not None or suspended:
            for pod in active:
                self._delete(job, pod)
                gone = self.store.get("Pod", pod["metadata"]["namespace"], pod["metadata"]["name"])
                if gone is not None and (gone.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    terminating.append(gone)
            active = []
        else:
            active = self._manage(job, spec, pods, active, succeeded, now)
        conditions = self._suspension(job, conditions, suspended)
        if active:
            status["active"] = len(active)
        if failed:
            status["failed"] = failed
        status["ready"] = sum(1 for p in active if is_pod_ready(p))
        if succeeded:
            status["succeeded"] = succeeded
        status["terminating"] = len(terminating)
        status["uncountedTerminatedPods"] = {}
        if spec.get("completionMode") == "Indexed":
            indexes = self._completed_indexes(pods)
            if indexes:
                status["completedIndexes"] = indexes
        finished = interim is not None and not active and not terminating
        if finished:
            final = "Complete" if interim["type"] == "SuccessCriteriaMet" else "Failed"
            conditions.append(self._condition(final, interim["reason"], interim["message"]))
            if final == "Complete":
                status["completionTime"] = self.clock.timestamp()
                self.events.normal(job, "Completed", "Job completed")
            else:
                self.events.warning(job, interim["reason"], interim["message"])
        if conditions:
            status["conditions"] = conditions
        updated = job
        if status != old:
            updated = copy.deepcopy(job)
            updated["status"] = status
            updated = self.store.update(updated, status=True)
        if finished:
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            self._expire(updated)

    def _count(self, uid: str, pods: list[Obj], old: Obj, now: float,
               policy: Obj | None = None) -> tuple[int, int]:
        """succeeded/failed, adding pods that finished since the last sync exactly once; a pod
        removed before it finished counts as failed. A failed pod matching a podFailurePolicy
        rule is ignored (Ignore), or fails the Job (FailJob), or counts (Count)."""
        counted = self._counted.setdefault(uid, set())
        succeeded, failed, new_failures = old.get("succeeded", 0), old.get("failed", 0), 0
        gone = self._gone.pop(uid, [])
        for pod in [*pods, *gone]:
            phase = (pod.get("status") or {}).get("phase")
            pod_uid = pod["metadata"]["uid"]
            if pod_uid in counted or (phase not in ("Succeeded", "Failed") and pod not in gone):
                continue
            counted.add(pod_uid)
            if phase == "Succeeded":
                succeeded += 1
                self._failures.pop(uid, None)
                continue
            action, message = match_pod_failure_policy(policy, pod) if policy else (None, "")
            if action == "Ignore":
                continue
            if action == "FailJob":
                self._fail_job.setdefault(uid, message)
            failed += 1
            new_failures += 1
        if new_failures:
            self._failures[uid] = (self._failures.get(uid, (0, now))[0] + new_failures, now)
        return succeeded, failed

    @staticmethod
    def _succeeded(spec: Obj, succeeded: int, active: list[Obj]) -> bool:
        completions = spec.get("completions")
        if completions is not None:
            return succeeded >= completions
        return succeeded > 0 and not active  # work-queue jobs: one success and the rest done

    def _failure(self, job: Obj, spec: Obj, status: Obj, active: list[Obj], failed: int,
                 now: float) -> tuple[str, str] | None:
        limit = spec.get("backoffLimit", 6)
        matched = self._fail_job.get(job["metadata"]["uid"])
        if matched is not None:
            return "PodFailurePolicy", matched
        if failed > limit:
            return _BACKOFF
        if (spec.get("template") or {}).get("spec", {}).get("restartPolicy") == "OnFailure":
            restarts = sum(c.get("restartCount", 0) for p in active
                           for c in [*((p.get("status") or {}).get("initContainerStatuses") or ()),
                                     *((p.get("status") or {}).get("containerStatuses") or ())])
            if restarts and (restarts > 0 if limit == 0 else restarts >= limit):
                return _BACKOFF
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and status.get("startTime") and not spec.get("suspend"):
            due = parse_timestamp(status["startTime"]) + deadline
            if now >= due:
                return _DEADLINE
            self._wake(key_of(job), due - now)
        return None

    def _condition(self, type_: str, reason: str, message: str) -> Obj:
        stamp = self.clock.timestamp()
        return {"type": type_, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp,
                "reason": reason, "message": message}

    def _suspension(self, job: Obj, conditions: list[Obj], suspended: bool) -> list[Obj]:
        """The Suspended condition follows spec.suspend, with the Suspended/Resumed events."""
        current = next((c for c in conditions if c.get("type") == "Suspended"), None)
        was = current is not None and current.get("status") == "True"
        if suspended == was:
            return conditions
        cond = (self._condition("Suspended", "JobSuspended", "Job suspended") if suspended
                else {**self._condition("Suspended", "JobResumed", "Job resumed"), "status": "False"})
        if suspended:
            self.events.normal(job, "Suspended", "Job suspended")
        else:
            self.events.normal(job, "Resumed", "Job resumed")
        return [c for c in conditions if c.get("type") != "Suspended"] + [cond]

    # -- pods ------------------------------------------------------------------------------------
    def _manage(self, job: Obj, spec: Obj, pods: list[Obj], active: list[Obj], succeeded: int,
                now: float) -> list[Obj]:
        """Create or delete pods towards min(parallelism, completions left); returns the active
        pods after that."""
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        if completions is None:
            want = 0 if succeeded > 0 else parallelism
        else:
            want = max(0, min(parallelism, completions - succeeded))
        if len(active) > want:
            extra = sorted(active, key=lambda p: (is_pod_ready(p), p["metadata"].get("creationTimestamp", "")))
            for pod in extra[:len(active) - want]:
                self._delete(job, pod)
            gone = {p["metadata"]["name"] for p in extra[:len(active) - want]}
            return [p for p in active if p["metadata"]["name"] not in gone]
        if len(active) == want:
            return active
        streak, last = self._failures.get(job["metadata"]["uid"], (0, now))
        if streak:
            delay = min(BACKOFF_SECONDS * 2 ** (streak - 1), MAX_BACKOFF_SECONDS)
            if now < last + delay:
                self._wake(key_of(job), last + delay - now)
                return active
        indexes = self._free_indexes(pods, active, completions) if spec.get("completionMode") == "Indexed" else None
        created = list(active)
        for i in range(want - len(active)):
            index = indexes[i] if indexes is not None else None
            if indexes is not None and i >= len(indexes):
                break
            try:
                pod = self.api.create(self._pod_for(job, index))
            except errors.StatusError as err:
                if "because it is being terminated" not in err.message:
                    self.events.warning(job, "FailedCreate", f"Error creating: {err}")
                break
            self.events.normal(job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
            created.append(self.store.get("Pod", pod["metadata"]["namespace"], pod["metadata"]["name"]) or pod)
        return created

    def _delete(self, job: Obj, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            self.api.delete("Pod", meta["name"], meta["namespace"])
        except errors.StatusError as err:
            if err.code != 404:
                self.events.warning(job, "FailedDelete", f"Error deleting: {err}")
            return
        self.events.normal(job, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    def _pod_for(self, job: Obj, index: int | None) -> Obj:
        template = (job.get("spec") or {}).get("template") or {}
        tmeta = template.get("metadata") or {}
        name = job["metadata"]["name"]
        meta: Obj = {"generateName": f"{name}-" if index is None else f"{name}-{index}-",
                     "namespace": job["metadata"]["namespace"]}
        for field in ("labels", "annotations", "finalizers"):
            if tmeta.get(field):
                meta[field] = copy.deepcopy(tmeta[field])
        spec = copy.deepcopy(template.get("spec") or {})
        if index is not None:
            meta.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
            meta.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
            spec.setdefault("hostname", f"{name}-{index}")
            for container in spec.get("containers") or ():
                env = container.setdefault("env", [])
                env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                    "apiVersion": "v1", "fieldPath": f"metadata.labels['{COMPLETION_INDEX}']"}}})
        meta["ownerReferences"] = [controller_ref(job)]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    # -- Indexed completion ------------------------------------------------------------------------
    @staticmethod
    def _index(pod: Obj) -> int | None:
        value = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
        return int(value) if value is not None and value.isdigit() else None

    def _completed_indexes(self, pods: list[Obj]) -> str:
        done = sorted({i for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"
                       and (i := self._index(p)) is not None})
        ranges: list[str] = []
        for i in done:
            if ranges and ranges[-1].split("-")[-1] == str(i - 1):
                ranges[-1] = f"{ranges[-1].split('-')[0]}-{i}"
            else:
                ranges.append(str(i))
        return ",".join(ranges)

    def _free_indexes(self, pods: list[Obj], active: list[Obj], completions: int | None) -> list[int]:
        """Indexes with neither a running pod nor a succeeded one, lowest first."""
        taken = {self._index(p) for p in active}
        taken |= {self._index(p) for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"}
        return [i for i in range(completions or 0) if i not in taken]

    # -- timers ----------------------------------------------------------------------------------
    def _wake(self, key: Key, delay: float) -> None:
        """Look at the job again in ``delay`` seconds (back-off over, deadline due)."""
        timer = self._timers.get(key)
        if timer is not None and not timer.cancelled and timer.when <= self.clock.now() + delay:
            return
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.enqueue(key)
        self._timers[key] = self.clock.call_later(delay, fire)

    def _expire(self, job: Obj) -> None:
        """ttlSecondsAfterFinished: delete the finished job (its pods go with it) when due."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        key = key_of(job)
        if ttl is None or key in self._ttl:
            return
        final = condition(job, "Complete") or condition(job, "Failed") or {}
        finished_at = parse_timestamp(final.get("lastTransitionTime") or self.clock.timestamp())
        delay = max(0.0, finished_at + ttl - self.clock.now())

        def fire() -> None:
            self._ttl.pop(key, None)
            current = self.store.get(*key)
            if current is None or current["metadata"]["uid"] != job["metadata"]["uid"]:
                return
            try:
                self.api.delete("Job", key[2], key[1], propagation="Background")
            except errors.StatusError:
                pass
        self._ttl[key] = self.clock.call_later(delay, fire)


def install(engine: Engine, api: APIServer) -> None:
    """Run the Job controller (with the TTL-after-finished part) in this engine."""
    engine.add(JobController(engine, api))
