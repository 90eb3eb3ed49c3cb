"""``kubectl rollout status|history|undo|restart|pause|resume`` for Deployments (and
``rollout status|history|undo`` for StatefulSets and DaemonSets, from their ControllerRevisions).

All of it is client-side, as in kubectl 1.32: ``status`` watches the Deployment and prints
the status viewer's line on every change; ``undo`` finds the ReplicaSet of the wanted revision
and JSON-patches its template back into the Deployment (or, for a StatefulSet or DaemonSet,
applies the ControllerRevision's patch); ``restart`` stamps the template with
``kubectl.kubernetes.io/restartedAt``; ``pause``/``resume`` flip ``spec.paused``.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, NamedTuple

from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND, Kind
from kubelab.api.objects import Obj
from kubelab.client import Client
from kubelab.kubectl import flags as fl
from kubelab.kubectl.apply import APPLY_FORMATS
from kubelab.kubectl.command import Context, KubectlError, command, error, group, standard_message
from kubelab.kubectl.describe import (CHANGE_CAUSE, HASH_LABEL, REVISION, Writer, controller_of,
                                      deployment_replicasets, describe_pod_template, equal_ignore_hash,
                                      format_selector, object_name as _name, tabwrite, targets)
from kubelab.kubectl.get import check_output
from kubelab.kubectl.workloads import print_outcome


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# Annotations ``undo`` keeps from the Deployment rather than copying from the ReplicaSet.
_KEEP_ON_UNDO = {
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}

group("rollout", short="Manage the rollout of one or many resources.")


def revision_of(obj: Obj) -> int | None:
    try:
        return int((obj["metadata"].get("annotations") or {})[REVISION])
    except (KeyError, ValueError):
        return None


# -- status ------------------------------------------------------------------------------------
def deployment_status(d: Obj, revision: int = 0) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer: the line to print and whether the rollout is done."""
    name = d["metadata"]["name"]
    spec, status = d.get("spec") or {}, d.get("status") or {}
    if revision > 0:
        current = revision_of(d) or 0
        if current != revision:
            raise error(f"desired revision ({revision}) is different from the running revision ({current})")
    if d["metadata"].get("generation", 0) <= status.get("observedGeneration", 0):
        progressing = next((c for c in status.get("conditions") or () if c.get("type") == "Progressing"), None)
        if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
            raise error(f'deployment "{name}" exceeded its progress deadline')
        replicas = spec.get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        if updated < replicas:
            return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {replicas} '
                    "new replicas have been updated...\n", False)
        if status.get("replicas", 0) > updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {status.get("replicas", 0) - updated} '
                    "old replicas are pending termination...\n", False)
        available = status.get("availableReplicas", 0)
        if available < updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                    "updated replicas are available...\n", False)
        return f'deployment "{name}" successfully rolled out\n', True
    return "Waiting for deployment spec update to be observed...\n", False


def statefulset_status(sts: Obj, revision: int = 0) -> tuple[str, bool]:
    """kubectl's StatefulSetStatusViewer: the line to print and whether the rollout is done."""
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        raise error("rollout status is only available for RollingUpdate strategy type")
    if not status.get("observedGeneration") or sts["metadata"].get("generation", 0) > status["observedGeneration"]:
        return "Waiting for statefulset spec update to be observed...\n", False
    replicas, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...\n", False
    updated = status.get("updatedReplicas", 0)
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        if rolling.get("partition") is not None and updated < replicas - rolling["partition"]:
            return (f"Waiting for partitioned roll out to finish: {updated} out of "
                    f"{replicas - rolling['partition']} new pods have been updated...\n", False)
        return f"partitioned roll out complete: {updated} new pods have been updated...\n", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{status.get('updateRevision', '')}...\n", False)
    return (f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods at revision "
            f"{status.get('currentRevision', '')}...\n", True)


def daemonset_status(ds: Obj, revision: int = 0) -> tuple[str, bool]:
    """kubectl's DaemonSetStatusViewer (it ignores ``--revision``)."""
    name = ds["metadata"]["name"]
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type") != "RollingUpdate":
        raise error("rollout status is only available for RollingUpdate strategy type")
    if ds["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for daemon set spec update to be observed...\n", False
    desired = status.get("desiredNumberScheduled", 0)
    updated, available = status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0)
    if updated < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} '
                "new pods have been updated...\n", False)
    if available < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
                "updated pods are available...\n", False)
    return f'daemon set "{name}" successfully rolled out\n', True


_STATUS_VIEWERS = {"Deployment": deployment_status, "StatefulSet": statefulset_status,
                   "DaemonSet": daemonset_status}

# How long ``--timeout=0`` ("forever") may wait here: past the default progress deadline.
_FOREVER = 660.0


@command("rollout status", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR,
         fl.Flag("watch", "w", fl.BOOL, default=True), fl.Flag("revision", type=fl.INT),
         fl.Flag("timeout", type=fl.DURATION), short="Show the status of the rollout")
def rollout_status(ctx: Context, args: list[str]) -> int:
    if not args:
        raise error("required resource not specified")
    found = targets(ctx, args)
    for kind, _ in found:
        if kind.kind not in _STATUS_VIEWERS:
            raise error(f"no status viewer has been implemented for {kind.kind}.{kind.group}" if kind.group
                        else f"no status viewer has been implemented for {kind.kind}")
    for kind, obj in found:
        _watch_status(ctx, kind, obj)
    return 0


def _watch_status(ctx: Context, kind: Kind, obj: Obj) -> None:
    revision = ctx.flags.get("revision")
    viewer = _STATUS_VIEWERS[kind.kind]
    text, done = viewer(obj, revision)
    ctx.out.write(text)
    if done or not ctx.flags.get("watch"):
        return
    name, ns = obj["metadata"]["name"], obj["metadata"]["namespace"]
    state: dict[str, Any] = {"done": False, "error": None}

    def on_change(event: str, changed: Obj) -> None:
        if changed["metadata"]["name"] != name or state["done"]:
            return
        if event == "DELETED":
            state["done"], state["error"] = True, error("object has been deleted")
            return
        try:
            line, finished = viewer(changed, revision)
        except KubectlError as e:
            state["done"], state["error"] = True, e
            return
        ctx.out.write(line)
        state["done"] = finished

    stop = ctx.client.watch(kind.kind, ns, on_change)
    try:
        timeout = ctx.flags.get("timeout") or _FOREVER
        ctx.client.wait(lambda: state["done"], timeout)
    finally:
        stop()
    if state["error"] is not None:
        raise state["error"]
    if not state["done"]:
        raise error("timed out waiting for the condition")


# -- history -----------------------------------------------------------------------------------
class Revision(NamedTuple):
    """One revision as a history viewer sees it: its pod template, change-cause, and the
    object that keeps it (a ReplicaSet, or a ControllerRevision), which ``-o`` prints."""

    template: Obj
    cause: str
    source: Obj


def history(client: Client, deploy: Obj) -> dict[int, Revision]:
    """Revision -> Revision as kubectl's DeploymentHistoryViewer collects it: each
    ReplicaSet's template, carrying the ReplicaSet's change-cause."""
    old, new = deployment_replicasets(client, deploy)
    found: dict[int, Revision] = {}
    for rs in old + ([new] if new else []):
        rev = revision_of(rs)
        if rev is None:
            continue
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        cause = (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            template.setdefault("metadata", {}).setdefault("annotations", {})[CHANGE_CAUSE] = cause
        found[rev] = Revision(template, cause or "", rs)
    return found


def revision_history(client: Client, obj: Obj) -> dict[int, Revision]:
    """Revision -> Revision for a StatefulSet or DaemonSet: the
    ControllerRevisions it controls (matched by its selector), each template the one its
    patch puts back, the change-cause the revision's own annotation."""
    meta = obj["metadata"]
    selector = format_selector((obj.get("spec") or {}).get("selector"))
    revisions = client.list("ControllerRevision", meta["namespace"], label_selector=selector or None)["items"]
    found: dict[int, Revision] = {}
    for rev in revisions:
        if (controller_of(rev) or {}).get("uid") != meta.get("uid"):
            continue
        template = copy.deepcopy(((rev.get("data") or {}).get("spec") or {}).get("template") or {})
        template.pop("$patch", None)
        cause = (rev["metadata"].get("annotations") or {}).get(CHANGE_CAUSE, "")
        # what -o prints is the workload with this revision's template (applyStatefulSetHistory)
        applied = {**obj, "spec": {**(obj.get("spec") or {}), "template": template}}
        found[int(rev.get("revision", 0))] = Revision(template, cause, applied)
    return found


_HISTORIES = {"Deployment": history, "StatefulSet": revision_history, "DaemonSet": revision_history}


def print_template(template: Obj) -> str:
    """``DescribePodTemplate`` written straight out, tabs and all (no tabwriter), as
    ``rollout history --revision`` shows it."""
    w = Writer()
    describe_pod_template(w, template)
    return w.raw()


@command("rollout history", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS,
         fl.Flag("revision", type=fl.INT), short="View rollout history")
def rollout_history(ctx: Context, args: list[str]) -> int:
    revision = ctx.flags.get("revision")
    if not args:
        raise error("required resource not specified")
    if revision < 0:
        raise error(f"revision must be a positive integer: {revision}")
    printing = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS) \
        if ctx.flags.get("output") else None
    found_objects = targets(ctx, args)
    for kind, _ in found_objects:
        if kind.kind not in _HISTORIES:
            raise error(f'no history viewer has been implemented for "{kind.kind}.{kind.group}"' if kind.group
                        else f'no history viewer has been implemented for "{kind.kind}"')
    for kind, obj in found_objects:
        found = _HISTORIES[kind.kind](ctx.client, obj)
        if printing is not None:  # the objects that keep the revisions, in the -o format
            if revision > 0 and revision not in found:
                raise error("unable to find the specified revision")  # where kubectl 1.32 panics
            _print_sources(ctx, printing, [found[r].source for r in ([revision] if revision > 0 else sorted(found))])
            continue
        if not found:
            text = "No rollout history found."
        elif revision > 0:
            if revision not in found:
                raise error("unable to find the specified revision")
            text = print_template(found[revision].template)
        else:
            rows = "REVISION\tCHANGE-CAUSE\n" + "".join(
                f"{r}\t{found[r].cause or '<none>'}\n"
                for r in sorted(found))
            text = tabwrite(rows)
        with_revision = f"with revision #{revision}" if revision > 0 else ""
        ctx.out.write(f"{_name(kind, obj)} {with_revision}\n{text}\n")
    return 0


def _print_sources(ctx: Context, printing: tuple[str, str], objs: list[Obj]) -> None:
    """Each object through the printer, one PrintObj each (YAML documents apart by ---)."""
    for i, obj in enumerate(objs):
        if printing[0] == "yaml" and i:
            ctx.out.write("---\n")
        print_outcome(ctx, *printing, BY_KIND[obj["kind"]].qualified_singular, obj, "none", "")


# -- undo --------------------------------------------------------------------------------------
def _revision_to_restore(client: Client, deploy: Obj, to_revision: int) -> Obj:
    old, new = deployment_replicasets(client, deploy)
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in old + ([new] if new else []):
        rev = revision_of(rs)
        if rev is None:
            continue
        if to_revision == 0:
            if latest[0] < rev:
                previous, latest = latest, (rev, rs)
            elif previous[0] < rev:
                previous = (rev, rs)
        elif rev == to_revision:
            return rs
    if to_revision > 0:
        raise error(f"unable to find specified revision {to_revision} in history")
    if previous[1] is None:
        raise error(f'no rollout history found for deployment "{deploy["metadata"]["name"]}"')
    return previous[1]


@command("rollout undo", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN,
         fl.Flag("to-revision", type=fl.INT), short="Undo a previous rollout")
def rollout_undo(ctx: Context, args: list[str]) -> int:
    to_revision = ctx.flags.get("to-revision")
    dry_run = ctx.dry_run()
    if not args:
        raise error("required resource not specified")
    errs: list[BaseException] = []
    for kind, obj in targets(ctx, args, 'no rollbacker has been implemented for "{kind}"', tuple(_ROLLBACKERS)):
        try:
            result = _ROLLBACKERS[kind.kind](ctx, obj, to_revision, dry_run)
            ctx.print(f"{_name(kind, obj)} {result}{_DRY_RUN_SUFFIX.get(dry_run, '')}")
        except (KubectlError, StatusError) as e:
            errs.append(e)
    if errs:
        raise KubectlError("\n".join(standard_message(e) for e in errs))
    return 0


def _undo(ctx: Context, deploy: Obj, to_revision: int, dry_run: str) -> str:
    name = deploy["metadata"]["name"]
    if to_revision < 0:
        raise error(f"unable to find specified revision {to_revision} in history")
    rs = _revision_to_restore(ctx.client, deploy, to_revision)
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    if dry_run == "client":
        return print_template(template)
    if (deploy.get("spec") or {}).get("paused"):
        raise error(f"you cannot rollback a paused deployment; resume it first with "
                    f"'kubectl rollout resume deployment/{name}' and try again")
    if equal_ignore_hash(template, (deploy.get("spec") or {}).get("template") or {}):
        return f"skipped rollback (current template already matches revision {to_revision})"
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    current = deploy["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in _KEEP_ON_UNDO}
    annotations.update({k: v for k, v in (rs["metadata"].get("annotations") or {}).items() if k not in _KEEP_ON_UNDO})
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
    try:
        ctx.client.patch("Deployment", name, deploy["metadata"]["namespace"], patch, "json",
                         dry_run=dry_run == "server", field_manager="kubectl")  # none sent: the User-Agent names it
    except StatusError as e:
        raise error(f"failed restoring revision {to_revision}: {e.message}") from None
    return "rolled back"


def _undo_revision(ctx: Context, obj: Obj, to_revision: int, dry_run: str) -> str:
    """The StatefulSet and DaemonSet rollbacker: the ControllerRevision's data is a strategic
    merge patch that puts its template back (``$patch: replace``), applied as it is."""
    if to_revision < 0:
        raise error(f"unable to find specified revision {to_revision} in history")
    meta = obj["metadata"]
    selector = format_selector((obj.get("spec") or {}).get("selector"))
    history = sorted((r for r in ctx.client.list("ControllerRevision", meta["namespace"],
                                                  label_selector=selector or None)["items"]
                      if (controller_of(r) or {}).get("uid") == meta.get("uid")),
                     key=lambda r: int(r.get("revision", 0)))
    if to_revision == 0 and len(history) <= 1:
        raise error("no last revision to roll back to")
    if to_revision == 0:
        chosen: Obj | None = history[-2]
    else:
        chosen = next((r for r in history if int(r.get("revision", 0)) == to_revision), None)
    if chosen is None:
        raise error(f"unable to find specified revision {to_revision} in history")
    data = copy.deepcopy(chosen.get("data") or {})
    if dry_run == "client":
        template = copy.deepcopy(((data.get("spec") or {}).get("template")) or {})
        template.pop("$patch", None)
        return f"will roll back to {print_template(template)}"
    current = {"spec": {"template": {**((obj.get("spec") or {}).get("template") or {}), "$patch": "replace"}}}
    if current == data:
        return f"skipped rollback (current template already matches revision {to_revision})"
    try:
        ctx.client.patch(obj["kind"], meta["name"], meta["namespace"], data, "strategic", dry_run=dry_run == "server",
                         field_manager="kubectl")
    except StatusError as e:
        raise error(f"failed restoring revision {to_revision}: {e.message}") from None
    return "rolled back"


_DRY_RUN_SUFFIX = {"client": " (dry run)", "server": " (server dry run)"}
_ROLLBACKERS = {"Deployment": _undo, "StatefulSet": _undo_revision, "DaemonSet": _undo_revision}


# -- restart, pause, resume --------------------------------------------------------------------
def _patch_each(ctx: Context, args: list[str], verb: str, change: Any, done: str) -> int:
    """kubectl's set.CalculatePatches loop: ``change(obj)`` returns the strategic merge patch or
    raises a KubectlError with the reason; each object gets ``<name> <done>`` or an error."""
    if not args:
        raise error("required resource not specified")
    errs: list[str] = []
    for kind, obj in targets(ctx, args):
        name = obj["metadata"]["name"]
        try:
            if kind.kind != "Deployment":
                raise KubectlError(f"{verb} is not supported")
            patch = change(obj)
        except KubectlError as e:
            errs.append(f'error: {kind.resource} "{name}" {e.text}')
            continue
        if patch is None:
            errs.append(f"failed to create patch for {name}: if restart has already been triggered within "
                        "the past second, please wait before attempting to trigger another")
            continue
        ctx.client.patch(kind.kind, name, obj["metadata"]["namespace"], patch, "strategic",
                         field_manager=ctx.field_manager("kubectl-rollout"))
        ctx.print(f"{_name(kind, obj)} {done}")
    if errs:
        raise KubectlError("\n".join(e if e.startswith("error: ") else f"error: {e}" for e in errs))
    return 0


@command("rollout restart", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS,
         fl.FIELD_MANAGER, short="Restart a resource")
def rollout_restart(ctx: Context, args: list[str]) -> int:
    stamp = datetime.fromtimestamp(int(ctx.now()), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def change(obj: Obj) -> Obj | None:
        if (obj.get("spec") or {}).get("paused"):
            raise KubectlError("can't restart paused deployment (run rollout resume first)")
        current = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("annotations") or {}
        if current.get(RESTARTED_AT) == stamp:
            return None
        return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}

    return _patch_each(ctx, args, "restarting", change, "restarted")


@command("rollout pause", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS,
         fl.FIELD_MANAGER, short="Mark the provided resource as paused")
def rollout_pause(ctx: Context, args: list[str]) -> int:
    def change(obj: Obj) -> Obj:
        if (obj.get("spec") or {}).get("paused"):
            raise KubectlError("is already paused")
        return {"spec": {"paused": True}}

    return _patch_each(ctx, args, "pausing", change, "paused")


@command("rollout resume", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS,
         fl.FIELD_MANAGER, short="Resume a paused resource")
def rollout_resume(ctx: Context, args: list[str]) -> int:
    def change(obj: Obj) -> Obj:
        if not (obj.get("spec") or {}).get("paused"):
            raise KubectlError("is not paused")
        return {"spec": {"paused": None}}

    return _patch_each(ctx, args, "resuming", change, "resumed")
