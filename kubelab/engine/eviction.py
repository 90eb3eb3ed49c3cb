"""The ``pods/eviction`` subresource: a pod deletion that asks the pod's PodDisruptionBudget
first (mirrors EvictionREST.Create in pkg/registry/core/pod/storage/eviction.go, 1.32).

A pod that has not started disrupting anything yet (Pending, finished, or already being
deleted) is deleted straight away. Otherwise the one budget that selects it must allow a
disruption: the eviction then takes one from ``status.disruptionsAllowed`` and records the pod
in ``status.disruptedPods`` (so the disruption controller stops counting it healthy before the
pod is gone), marks the pod with a ``DisruptionTarget`` condition and deletes it with the
request's DeleteOptions. A budget that allows nothing answers 429 TooManyRequests, which
``kubectl drain`` retries every 5 seconds. An unready pod is evicted without taking from the
budget when the budget is not disrupted (IfHealthyBudget) or says AlwaysAllow.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubelab.api import errors
from kubelab.api.pods import is_ready
from kubelab.api.selectors import from_label_selector
from kubelab.engine.store import Obj, clone

if TYPE_CHECKING:
    from kubelab.engine.apiserver import APIServer

# The body versions EvictionREST.AcceptsGroupVersion takes; discovery names policy/v1.
VERSIONS = ("policy/v1", "policy/v1beta1")
# MaxDisruptedPodSize: evictions approved but not yet seen through by the disruption controller.
MAX_DISRUPTED_PODS = 2000
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
CAUSE = "DisruptionBudget"  # policyv1.DisruptionBudgetCause
MANY_BUDGETS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."


def success() -> Obj:
    """The Status a successful eviction answers (create sets its code to 201)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def evict(api: "APIServer", name: str, namespace: str, eviction: Any, dry_run: bool) -> Obj:
    """EvictionREST.Create: delete the pod if its budget allows it (see the module doc)."""
    options = _delete_options(api, name, namespace, eviction, dry_run)
    pod = api.get("Pod", name, namespace)
    if _can_ignore_budget(pod):
        preconditions = dict(options.get("preconditions") or {})
        if _enforce_resource_version(pod) and not preconditions.get("resourceVersion"):
            preconditions["resourceVersion"] = pod["metadata"]["resourceVersion"]
        _mark_and_delete(api, pod, {**options, "preconditions": preconditions})
        return success()
    budgets = _budgets(api, pod)
    if len(budgets) > 1:
        raise errors.StatusError(500, "", MANY_BUDGETS)
    guard_version = False  # the pod was unready: delete only the version looked at
    if budgets:
        budget = budgets[0]
        policy = (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        status = budget.get("status") or {}
        if not is_ready(pod) and (policy == "AlwaysAllow" or (
                status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) > 0)):
            guard_version = True
        else:
            _check_and_decrement(api, budget, name, "All" in (options.get("dryRun") or ()))
    preconditions = dict(options.get("preconditions") or {})
    if guard_version:
        preconditions["resourceVersion"] = pod["metadata"]["resourceVersion"]
    try:
        _mark_and_delete(api, pod, {**options, "preconditions": preconditions})
    except errors.StatusError as e:
        original = (options.get("preconditions") or {}).get("resourceVersion")
        if e.reason == "Conflict" and guard_version and not original:
            raise _still_processing(budgets[0]["metadata"]["name"]) from None
        raise
    return success()


def _delete_options(api: "APIServer", name: str, namespace: str, eviction: Any, dry_run: bool) -> Obj:
    """The Eviction body checked as the create handler, the namespace's lifecycle and
    propagateDryRun check it; its DeleteOptions with the request's dryRun folded in."""
    if not isinstance(eviction, dict):
        raise errors.bad_request("Object 'Kind' is missing")
    version = eviction.get("apiVersion") or "policy/v1"
    if version not in VERSIONS or (eviction.get("kind") or "Eviction") != "Eviction":
        raise errors.bad_request(f"the API version in the data ({version}) does not match the expected API "
                                 f"version (policy/v1)" if version not in VERSIONS else
                                 f"the kind in the data ({eviction.get('kind')}) does not match the expected kind")
    meta = eviction.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
    space = api.store.get("Namespace", "", namespace)  # NamespaceLifecycle admits the create first
    if space is None:
        raise errors.not_found("namespaces", namespace)
    if space["metadata"].get("deletionTimestamp"):
        raise errors.namespace_terminating("pods", name, namespace)
    if meta.get("name", "") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = eviction.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise errors.bad_request("deleteOptions must be an object")
    options = clone(options)
    requested = ["All"] if dry_run else []
    carried = options.get("dryRun") or []
    if not carried:
        options["dryRun"] = requested
    elif requested and carried != requested:
        raise errors.StatusError(500, "InternalError", "Internal error occurred: Non-matching dry-run options in "
                                 f"request and content: [{' '.join(requested)}] and [{' '.join(carried)}]")
    bad = [v for v in options["dryRun"] if v != "All"]
    if bad:
        raise errors.invalid("DeleteOptions", "", [errors.Cause(
            "dryRun", f'Unsupported value: "{bad[0]}": supported values: "All"', "FieldValueNotSupported")])
    return options


def _can_ignore_budget(pod: Obj) -> bool:
    """canIgnorePDB: a pod that is Pending, finished or already terminating disrupts nothing more."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _enforce_resource_version(pod: Obj) -> bool:
    """shouldEnforceResourceVersion: guard against a Pending pod turning ready meanwhile."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _budgets(api: "APIServer", pod: Obj) -> list[Obj]:
    """getPodDisruptionBudgets: the namespace's budgets whose selector matches the pod. A
    budget with an empty (or invalid) selector selects nothing here."""
    labels = pod["metadata"].get("labels") or {}
    found = []
    for budget in api.store.list("PodDisruptionBudget", pod["metadata"]["namespace"]):
        selector = (budget.get("spec") or {}).get("selector")
        try:
            match = from_label_selector(selector)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if not match.requirements or not match.matches(labels):
            continue
        found.append(budget)
    return found


def _too_many_requests(message: str, retry_after: int = 0) -> errors.StatusError:
    return errors.StatusError(429, "TooManyRequests", VIOLATION, causes=[errors.Cause("", message, CAUSE)],
                              retry_after=retry_after)


def _still_processing(budget: str) -> errors.StatusError:
    """createTooManyRequestsError: the budget's status lags behind; ask to come back in 10s."""
    return _too_many_requests(f"The disruption budget {budget} is still being processed by the server.", 10)


def _check_and_decrement(api: "APIServer", budget: Obj, pod: str, dry_run: bool) -> None:
    """checkAndDecrement: take one disruption from the budget, or refuse."""
    name = budget["metadata"]["name"]
    status = budget.get("status") or {}
    if status.get("observedGeneration", 0) < budget["metadata"].get("generation", 1):
        raise _still_processing(name)
    allowed = status.get("disruptionsAllowed", 0)
    if allowed < 0:
        raise errors.forbidden("poddisruptionbudget", name, f'poddisruptionbudget.policy "{name}" is forbidden: '
                               "pdb disruptions allowed is negative", "policy")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden("poddisruptionbudget", name, f'poddisruptionbudget.policy "{name}" is forbidden: '
                               "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
                               "policy")
    if allowed == 0:
        raise _too_many_requests(f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy "
                                 f"pods and has {status.get('currentHealthy', 0)} currently")
    if dry_run:
        return
    now = api.clock.timestamp()
    new = clone(status)
    new["disruptionsAllowed"] = allowed - 1
    if allowed == 1:  # pdbhelper.UpdateDisruptionAllowedCondition
        conditions = new.setdefault("conditions", [])
        old = next((c for c in conditions if c.get("type") == "DisruptionAllowed"), None)
        condition = {"type": "DisruptionAllowed", "status": "False",
                     "observedGeneration": new.get("observedGeneration", 0),
                     "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == "False" else now,
                     "reason": "InsufficientPods", "message": old.get("message", "") if old else ""}
        new["conditions"] = [condition if c is old else c for c in conditions] if old else [*conditions, condition]
    new["disruptedPods"] = dict(sorted({**(status.get("disruptedPods") or {}), pod: now}.items()))
    api.store.update({**budget, "status": new}, status=True)


def _check_preconditions(pod: Obj, preconditions: Obj, in_eviction: bool) -> None:
    """A UID or resourceVersion precondition the live pod fails is a Conflict, worded as the
    eviction's own check (getLatestPod) or as the store's (Preconditions.Check) words it."""
    meta = pod["metadata"]
    for field, name, tail in (("uid", "UID", "deleted and then recreated"),
                              ("resourceVersion", "ResourceVersion", "modified")):
        wanted, have = preconditions.get(field), meta.get(field)
        if not wanted or wanted == have:
            continue
        if in_eviction:
            raise errors.conflict("Pod", meta["name"], why=f"the {name} in the precondition ({wanted}) does not "
                                  f"match the {name} in record ({have}). The object might have been {tail}")
        raise errors.conflict("pods", meta["name"], why=f"Precondition failed: {name} in precondition: {wanted}, "
                              f"{name} in object meta: {have}")


def _mark_and_delete(api: "APIServer", pod: Obj, options: Obj) -> None:
    """addConditionAndDeletePod: unless a dry run, the live pod (checked against the
    preconditions) gains ``DisruptionTarget`` through the status subresource; then the delete,
    whose resourceVersion precondition follows that write."""
    dry_run = "All" in (options.get("dryRun") or ())
    preconditions = dict(options.get("preconditions") or {})
    meta = pod["metadata"]
    live = api.store.get("Pod", meta["namespace"], meta["name"])
    if live is None:
        raise errors.not_found("pods", meta["name"])
    if not dry_run:
        _check_preconditions(live, preconditions, True)
        marked = clone(live)
        conditions = marked.setdefault("status", {}).setdefault("conditions", [])
        condition = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": api.clock.timestamp(), "reason": "EvictionByEvictionAPI",
                     "message": "Eviction API: evicting"}
        old = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
        if old is None:
            conditions.append(condition)
        else:  # podutil.UpdatePodCondition keeps the transition time of an unchanged status
            if old.get("status") == "True":
                condition["lastTransitionTime"] = old.get("lastTransitionTime")
            conditions[conditions.index(old)] = condition
        live = api.store.update(marked, status=True)
        if preconditions.get("resourceVersion"):
            preconditions["resourceVersion"] = live["metadata"]["resourceVersion"]
    _check_preconditions(live, preconditions, False)
    propagation = options.get("propagationPolicy") or "Background"
    if options.get("orphanDependents") is True:
        propagation = "Orphan"
    grace = options.get("gracePeriodSeconds")
    api.delete("Pod", meta["name"], meta["namespace"], grace_period=None if grace is None else int(grace),
               propagation=propagation, dry_run=dry_run)
