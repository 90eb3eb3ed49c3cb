"""kubectl's node maintenance verbs: ``taint``, ``cordon``, ``uncordon`` and ``drain``.

They work the way kubectl 1.32 does them client-side: ``taint`` computes the node's new taint
list and sends it; ``cordon`` sets ``spec.unschedulable`` (the node lifecycle controller then
adds the ``node.kubernetes.io/unschedulable`` taint); ``drain`` cordons, sorts the node's pods
through kubectl's filters (DaemonSet-managed, mirror, emptyDir, no controller), evicts the rest
and waits until they are gone.
"""
from __future__ import annotations

from dataclasses import dataclass

from kubelab.api import validation
from kubelab.api.objects import Obj
from kubelab.api.pods import controller_of
from kubelab.api.errors import StatusError
from kubelab.api.kinds import lookup
from kubelab.api.tables import parse_time
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, KubectlError, command, error, standard_message


EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
FOREVER = 7 * 24 * 3600.0  # kubectl's "no timeout"


# -- taint --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = ""

    def text(self) -> str:
        """corev1.Taint.ToString: ``key=value:effect`` without the empty parts."""
        out = self.key + (f"={self.value}" if self.value else "")
        return out + (f":{self.effect}" if self.effect else "")

    def matches(self, other: Obj) -> bool:
        """Taint.MatchTaint: the same key and effect."""
        return self.key == other.get("key") and self.effect == other.get("effect", "")

    def obj(self) -> Obj:
        out: Obj = {"key": self.key, "effect": self.effect}
        if self.value:
            out["value"] = self.value
        return out


def _parse_taint(spec: str) -> Taint:
    """``key=value:effect``, ``key:effect`` or ``key``, checked as kubectl checks them."""
    parts = spec.split(":")
    value = effect = ""
    if len(parts) == 1:
        key = parts[0]
    elif len(parts) == 2:
        effect = parts[1]
        if effect not in EFFECTS:
            raise ValueError(f"invalid taint effect: {effect}, unsupported taint effect")
        kv = parts[0].split("=")
        if len(kv) > 2:
            raise ValueError(f"invalid taint spec: {spec}")
        key = kv[0]
        if len(kv) == 2:
            value = kv[1]
            errs = validation.label_value(value)
            if errs:
                raise ValueError(f"invalid taint spec: {spec}, {'; '.join(errs)}")
    else:
        raise ValueError(f"invalid taint spec: {spec}")
    errs = validation.qualified_name(key)
    if errs:
        raise ValueError(f"invalid taint spec: {spec}, {'; '.join(errs)}")
    return Taint(key, value, effect)


def _parse_taints(specs: list[str]) -> tuple[list[Taint], list[Taint]]:
    add: list[Taint] = []
    remove: list[Taint] = []
    for spec in specs:
        if spec.endswith("-"):
            t = _parse_taint(spec[:-1])
            remove.append(Taint(t.key, "", t.effect))
            continue
        t = _parse_taint(spec)
        if not t.effect:
            raise ValueError(f"invalid taint spec: {spec}")
        if any(a.key == t.key and a.effect == t.effect for a in add):
            raise ValueError(f"duplicated taints with the same key and effect: {{{t.key} {t.value} {t.effect} <nil>}}")
        add.append(t)
    return add, remove


def _reorganize(taints: list[Obj], add: list[Taint], remove: list[Taint], overwrite: bool
                ) -> tuple[str, list[Obj], list[str]]:
    """kubectl's reorganizeTaints: the new list, what happened, and removals that found nothing."""
    new = [t.obj() for t in add]
    for old in taints:
        if not any(t.matches(old) for t in add):
            new.append(old)
    added = len(taints) != len(new)
    problems: list[str] = []
    removed = False
    for gone in remove:
        before = len(new)
        new = [t for t in new if not (t.get("key") == gone.key and (not gone.effect or t.get("effect") == gone.effect))]
        removed = len(new) != before
        if not removed:
            problems.append(f'taint "{gone.text()}" not found')
    if (added and removed) or overwrite:
        return "modified", new, problems
    return ("tainted" if added else "untainted"), new, problems


def _suffix(dry_run: str) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")


@command("taint", fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
         fl.Flag("overwrite", type=fl.BOOL), fl.Flag("all", type=fl.BOOL),
         fl.Flag("validate", type=fl.STRING, default="strict", no_opt="strict"),
         short="Update the taints on one or more nodes")
def taint(ctx: Context, args: list[str]) -> int:
    resources: list[str] = []
    specs: list[str] = []
    for word in args:
        if "=" in word or ":" in word or word.endswith("-"):
            specs.append(word)
        elif specs:
            raise error(f"all resources must be specified before taint changes: {word}")
        else:
            resources.append(word)
    dry_run = ctx.dry_run()
    if not resources:
        raise error("one or more resources must be specified as <resource> <name>")
    if not specs:
        raise error("at least one taint update is required")
    try:
        add, remove = _parse_taints(specs)
    except ValueError as e:
        raise ctx.usage_error(str(e)) from None
    if lookup(resources[0].lower()).kind != "Node":
        raise error(f"invalid resource type {resources[0].lower()}, only node types are supported")
    clashes = [f'{{"{r.key}":"{r.effect}"}}' for a in add for r in remove
               if a.key == r.key and (not r.effect or a.effect == r.effect)]
    if clashes:
        raise error(f"can not both modify and remove the following taint(s) in the same command: {', '.join(clashes)}")
    selector, everything = ctx.flags.get("selector"), ctx.flags.get("all")
    if everything and selector:
        raise error("setting 'all' parameter with a non empty selector is prohibited")
    if not everything and not selector and len(resources) < 2:
        raise error("at least one resource name must be specified since 'all' parameter is not set")
    nodes = _nodes(ctx, resources[1:], everything or bool(selector))
    errs: list[str] = []
    for node in nodes:
        name = node["metadata"]["name"]
        if isinstance(node.get("__error__"), StatusError):
            errs.append(standard_message(node["__error__"]))
            continue
        current = list((node.get("spec") or {}).get("taints") or [])
        if not ctx.flags.get("overwrite"):
            exists = ",".join(t.key for t in add for old in current if t.matches(old))
            if exists:
                errs.append(f"error: node {name} already has {exists} taint(s) with same effect(s) and --overwrite is false")
                continue
        operation, new, problems = _reorganize(current, add, remove, ctx.flags.get("overwrite"))
        if problems:
            errs.append("error: " + (problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"))
            continue
        if dry_run != "client":
            ctx.client.patch("Node", name, None, {"spec": {"taints": new or None}}, "merge",
                             dry_run=dry_run == "server", field_manager=ctx.field_manager("kubectl-taint"))
        ctx.print(f"node/{name} {operation}{_suffix(dry_run)}")
    if len(errs) == 1:
        raise KubectlError(errs[0])
    if errs:  # cmdutil.CheckErr: several errors one a line, without "error: "
        raise KubectlError("\n".join(e[len("error: "):] if e.startswith("error: ") else e for e in errs))
    return 0


def _go_duration(seconds: float) -> str:
    """time.Duration's String for whole seconds (``1m30s``, ``5s``)."""
    s = int(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{sec}s"


def _nodes(ctx: Context, names: list[str], select: bool) -> list[Obj]:
    """The nodes named, or those ``-l``/``--all`` select; a missing one carries its error."""
    if select:
        return ctx.client.list("Node", None, label_selector=ctx.flags.get("selector") or None)["items"]
    found: list[Obj] = []
    for name in names:
        try:
            found.append(ctx.client.get("Node", name))
        except StatusError as e:
            if e.reason != "NotFound":
                raise
            found.append({"metadata": {"name": name}, "__error__": e})
    return found


# -- cordon, uncordon, drain --------------------------------------------------------------------
def _named_nodes(ctx: Context, args: list[str]) -> list[Obj]:
    """``NODE...`` or ``-l``: drain's builder (ResourceNames("nodes", ...) or a selector)."""
    if not args and not ctx.flags.changed("selector"):
        raise ctx.usage_error(f"USAGE: {ctx.path} NODE [flags]")
    if args and ctx.flags.get("selector"):
        raise ctx.usage_error("error: cannot specify both a node name and a --selector option")
    if not args:
        return ctx.client.list("Node", None, label_selector=ctx.flags.get("selector") or None)["items"]
    nodes = []
    for word in args:
        kind_word, slash, name = word.rpartition("/")
        if slash and lookup(kind_word).kind != "Node":
            raise error(f'error: expected resource of type node, got "{lookup(kind_word).resource}"')
        nodes.append(ctx.client.get("Node", name if slash else word))
    return nodes


def _cordon(ctx: Context, nodes: list[Obj], desired: bool, dry_run: str) -> None:
    """RunCordonOrUncordon: set ``spec.unschedulable`` where it differs."""
    word = "cordon" if desired else "uncordon"
    for node in nodes:
        name = node["metadata"]["name"]
        if bool((node.get("spec") or {}).get("unschedulable")) == desired:
            ctx.print(f"node/{name} already {word}ed{_suffix(dry_run)}")
            continue
        if dry_run != "client":
            try:
                ctx.client.patch("Node", name, None, {"spec": {"unschedulable": True if desired else None}},
                                 "strategic", dry_run=dry_run == "server", field_manager="kubectl")
            except StatusError as e:
                ctx.eprint(f'error: unable to {word} node "{name}": {e.message}')
                continue
        ctx.print(f"node/{name} {word}ed{_suffix(dry_run)}")


_NODE_FLAGS = (fl.SELECTOR, fl.DRY_RUN)


@command("cordon", *_NODE_FLAGS, short="Mark node as unschedulable")
def cordon(ctx: Context, args: list[str]) -> int:
    _cordon(ctx, _named_nodes(ctx, args), True, ctx.dry_run())
    return 0


@command("uncordon", *_NODE_FLAGS, short="Mark node as schedulable")
def uncordon(ctx: Context, args: list[str]) -> int:
    _cordon(ctx, _named_nodes(ctx, args), False, ctx.dry_run())
    return 0


# kubectl's drain filters' messages
_DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
_DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
_LOCAL_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
_LOCAL_WARNING = "deleting Pods with local storage"
_UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
_UNMANAGED_WARNING = "deleting Pods that declare no controller"


def _skip(ctx: Context, pod: Obj) -> bool:
    """shouldSkipPod: ``--skip-wait-for-delete-timeout=N`` (N > 0) and the pod's deletionTimestamp
    more than N whole seconds past."""
    limit = ctx.flags.get("skip-wait-for-delete-timeout") or 0
    since = parse_time(pod["metadata"].get("deletionTimestamp"))
    return limit > 0 and since is not None and int(ctx.now() - since) > limit


def _filter(ctx: Context, pod: Obj) -> tuple[bool, str, str]:
    """Run kubectl's drain filters in order: (delete?, "Warning"/"Error"/"", message). The
    first filter that keeps a pod decides; otherwise the last warning stands."""
    if _skip(ctx, pod):  # skipDeletedFilter
        return False, "", ""
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    status: tuple[bool, str, str] = (True, "", "")
    ref = controller_of(pod)
    if ref is not None and ref.get("kind") == "DaemonSet" and not finished:
        try:
            ctx.client.get("DaemonSet", ref["name"], pod["metadata"]["namespace"])
        except StatusError as e:
            if e.reason == "NotFound" and ctx.flags.get("force"):
                status = (True, "Warning", e.message)
            else:
                return False, "Error", e.message
        else:
            if not ctx.flags.get("ignore-daemonsets"):
                return False, "Error", _DAEMONSET_FATAL
            return False, "Warning", _DAEMONSET_WARNING
    if MIRROR_ANNOTATION in (pod["metadata"].get("annotations") or {}):
        return False, "", ""
    if any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or ()) and not finished:
        if not ctx.flags.get("delete-emptydir-data"):
            return False, "Error", _LOCAL_FATAL
        status = (True, "Warning", _LOCAL_WARNING)
    if not finished and ref is None:
        if not ctx.flags.get("force"):
            return False, "Error", _UNMANAGED_FATAL
        status = (True, "Warning", _UNMANAGED_WARNING)
    return status


def _aggregate(errors: list[str]) -> str:
    """utilerrors.Aggregate's Error(): one message as it is, several (once each) in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _grouped(found: list[tuple[Obj, str]]) -> dict[str, list[str]]:
    """message -> ``namespace/name`` of each pod, in the order the pods were listed."""
    out: dict[str, list[str]] = {}
    for pod, message in found:
        out.setdefault(message, []).append(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")
    return out


def _pods_for_deletion(ctx: Context, node: str) -> tuple[list[Obj], list[str], list[str]]:
    """GetPodsForDeletion: the pods to evict, the warnings, and the errors that stop the drain."""
    pods = ctx.client.list("Pod", None, label_selector=ctx.flags.get("pod-selector") or None,
                           field_selector=f"spec.nodeName={node}")["items"]
    chosen: list[Obj] = []
    warned: list[tuple[Obj, str]] = []
    failed: list[tuple[Obj, str]] = []
    for pod in pods:
        delete, reason, message = _filter(ctx, pod)
        if delete:
            chosen.append(pod)
        if reason == "Warning":
            warned.append((pod, message))
        elif reason == "Error":
            failed.append((pod, message))
    warnings = [f"{m}: {', '.join(p)}" for m, p in _grouped(warned).items()]
    # PodDeleteList.errors: "cannot delete " before every message, even the one that already
    # starts so (kubectl 1.32 prints "cannot delete cannot delete Pods that declare no controller")
    errors = [f"cannot delete {m}: {', '.join(p)}" for m, p in _grouped(failed).items()]
    return chosen, warnings, errors


RETRY = 5.0  # drain's pause after a 429 before asking again
# How long evictions may go on without ``--timeout`` (kubectl's is forever): a budget that never
# allows the disruption must not hold a notebook's kernel; as rollout status, ten minutes or so.
EVICTING_FOREVER = 600.0


def _gone(ctx: Context, pod: Obj) -> bool:
    """waitForDelete's test: the pod is not found, or a new pod (another uid) has its name."""
    return _live(ctx, pod) is None


def _live(ctx: Context, pod: Obj) -> Obj | None:
    """The pod as it is now, None once it is gone (or another pod, another uid, has its name)."""
    try:
        live = ctx.client.get("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
    except StatusError as e:
        if e.reason == "NotFound":
            return None
        raise
    return live if live["metadata"]["uid"] == pod["metadata"]["uid"] else None


def _finished(ctx: Context, pending: list[Obj], verb: str) -> None:
    """One poll of waitForDelete: print the pods gone (``pod/NAME evicted``) and those left
    to their deletion (--skip-wait-for-delete-timeout), dropping both from ``pending``."""
    for pod in list(pending):
        live = _live(ctx, pod)
        if live is None:
            ctx.print(f"pod/{pod['metadata']['name']} {verb}")
        elif _skip(ctx, live):
            ctx.print(f'pod "{pod["metadata"]["name"]}" has DeletionTimestamp older than '
                      f'{ctx.flags.get("skip-wait-for-delete-timeout")} seconds, skipping')
        else:
            continue
        pending.remove(pod)


def _poll_every(ctx: Context) -> float:
    """How often waitForDelete must look on its own: each second while pods may be skipped
    (time alone decides that), else only when something changes."""
    return 1.0 if (ctx.flags.get("skip-wait-for-delete-timeout") or 0) > 0 else float("inf")


def _delete_options(ctx: Context, dry_run: str) -> Obj:
    """makeDeleteOptions: the grace period asked for, and dryRun for a server dry run."""
    options: Obj = {}
    grace = ctx.flags.get("grace-period")
    if grace >= 0:
        options["gracePeriodSeconds"] = grace
    if dry_run == "server":
        options["dryRun"] = ["All"]
    return options


def _evict(ctx: Context, pods: list[Obj], dry_run: str) -> list[str]:
    """evictPods (k8s.io/kubectl/pkg/drain): each pod's eviction is asked for (``evicting pod``
    on every try), a 429 from its disruption budget is retried every 5 seconds of cluster
    time, then the pod is waited for until it is gone. ``--timeout`` bounds it all; the errors
    come back, one a pod, in the order they happened."""
    timeout = ctx.flags.get("timeout") or 0
    deadline = ctx.now() + (timeout or EVICTING_FOREVER)
    limit = _go_duration(timeout) if timeout else "2562047h47m16.854775807s"  # math.MaxInt64 as a Duration
    suffix = " (server dry run)" if dry_run == "server" else ""
    options = _delete_options(ctx, dry_run)
    due = {id(p): ctx.now() for p in pods}  # the next try of each pod still to be evicted
    # one goroutine a pod: Go runs the one started last first (the scheduler's runnext slot),
    # then the others in order, the order kubectl's "evicting pod" lines usually come in
    asking = pods[-1:] + pods[:-1]
    waiting: list[Obj] = []
    errors: list[str] = []
    while asking or waiting:
        now = ctx.now()
        for pod in [p for p in asking if due[id(p)] <= now]:
            meta = pod["metadata"]
            ctx.print(f"evicting pod {meta['namespace']}/{meta['name']}{suffix}")
            where = f'pods/"{meta["name"]}" -n "{meta["namespace"]}"'
            if now >= deadline:
                errors.append(f"error when evicting {where}: global timeout reached: {limit}")
                asking.remove(pod)
                continue
            eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                        "deleteOptions": options}
            try:
                ctx.client.evict(meta["name"], meta["namespace"], eviction)
            except StatusError as e:
                if e.reason == "TooManyRequests":
                    ctx.eprint(f"error when evicting {where} (will retry after 5s): {e.message}")
                    due[id(pod)] = now + RETRY
                    continue
                closing = e.reason == "Forbidden" and any(c.reason == "NamespaceTerminating" for c in e.causes)
                if closing and not meta.get("deletionTimestamp"):
                    ctx.eprint(f'error when evicting pod "{meta["name"]}" from terminating namespace '
                               f'"{meta["namespace"]}" (will retry after 5s): {e.message}')
                    due[id(pod)] = now + RETRY
                    continue
                asking.remove(pod)
                if not closing:  # a closing namespace's pod already going: wait for it, as for an evicted one
                    if e.reason != "NotFound":
                        errors.append(f"error when evicting {where}: {e.message}")
                    continue
            else:
                asking.remove(pod)
            if dry_run != "server":
                waiting.append(pod)
        _finished(ctx, waiting, "evicted")
        if ctx.now() >= deadline and waiting:
            errors += [f'error when waiting for pod "{p["metadata"]["name"]}" in namespace '
                       f'"{p["metadata"]["namespace"]}" to terminate: context deadline exceeded' for p in waiting]
            waiting.clear()
        if not asking and not waiting:
            break
        # a pod between tries sleeps its 5s out (it sees the deadline when it wakes); a pod
        # being waited for gives up at the deadline
        wake = min([*(due[id(p)] for p in asking), *([deadline, ctx.now() + _poll_every(ctx)] if waiting else [])])
        ctx.client.wait(lambda: any(_gone(ctx, p) for p in waiting), max(wake - ctx.now(), 0))
    return errors


def _delete(ctx: Context, pods: list[Obj], dry_run: str) -> list[str]:
    """deletePods (``--disable-eviction``): delete each pod, disruption budgets or not, then
    wait for all of them under ``--timeout``. Its error is a single one, not an aggregate."""
    grace = ctx.flags.get("grace-period")
    for pod in pods:
        meta = pod["metadata"]
        try:
            ctx.client.delete("Pod", meta["name"], meta["namespace"], grace_period=None if grace < 0 else grace,
                              dry_run=dry_run == "server")
        except StatusError as e:
            if e.reason != "NotFound":
                return [e.message]
    if dry_run == "server":
        return []
    timeout = ctx.flags.get("timeout") or FOREVER
    deadline = ctx.now() + timeout
    pending = list(pods)
    while pending:
        _finished(ctx, pending, "deleted")
        if not pending:
            break
        if ctx.now() >= deadline:
            return ["context deadline exceeded"]
        ctx.client.wait(lambda: any(_gone(ctx, p) for p in pending),
                        max(min(deadline, ctx.now() + _poll_every(ctx)) - ctx.now(), 0))
    return []


@command("drain", fl.SELECTOR, fl.DRY_RUN, fl.Flag("force", type=fl.BOOL), fl.Flag("ignore-daemonsets", type=fl.BOOL),
         fl.Flag("ignore-errors", type=fl.BOOL), fl.Flag("delete-emptydir-data", type=fl.BOOL),
         fl.Flag("delete-local-data", type=fl.BOOL), fl.Flag("grace-period", type=fl.INT, default=-1),
         fl.Flag("timeout", type=fl.DURATION), fl.Flag("pod-selector", type=fl.STRING),
         fl.Flag("disable-eviction", type=fl.BOOL), fl.Flag("skip-wait-for-delete-timeout", type=fl.INT),
         fl.Flag("chunk-size", type=fl.INT, default=500), short="Drain node in preparation for maintenance")
def drain(ctx: Context, args: list[str]) -> int:
    if ctx.flags.get("delete-local-data"):
        ctx.eprint("Flag --delete-local-data has been deprecated, This option is deprecated and will be deleted. "
                   "Use --delete-emptydir-data.")
        ctx.flags.values["delete-emptydir-data"] = True
    dry_run = ctx.dry_run()
    if ctx.flags.get("pod-selector"):
        from kubelab.api.selectors import parse

        try:
            parse(ctx.flags.get("pod-selector"))
        except Exception:
            raise error("--pod-selector=<pod_selector> must be a valid label selector") from None
    nodes = _named_nodes(ctx, args)
    _cordon(ctx, nodes, True, dry_run)
    failed: list[tuple[str, list[str], bool]] = []  # node, its errors, whether they are one plain error
    for node in nodes:
        name = node["metadata"]["name"]
        pods, warnings, errors = _pods_for_deletion(ctx, name)
        plain = False
        if not errors:
            if warnings:
                ctx.eprint("Warning: " + "; ".join(warnings))
            if dry_run == "client":
                for pod in pods:
                    ctx.print(f"evicting pod {pod['metadata']['namespace']}/{pod['metadata']['name']} (dry run)")
                errors = []
            elif ctx.flags.get("disable-eviction"):
                errors = _delete(ctx, pods, dry_run) if pods else []
                plain = True
            else:
                errors = _evict(ctx, pods, dry_run)
            if not errors:
                ctx.print(f"node/{name} drained{_suffix(dry_run)}")
                continue
            # deleteOrEvictPodsSimple: what is still on the node when the evictions failed
            left, _, _ = _pods_for_deletion(ctx, name)
            if left:
                ctx.eprint(f'There are pending pods in node "{name}" when an error occurred: {_aggregate(errors)}')
                for pod in left:
                    ctx.eprint(f"pod/{pod['metadata']['name']}")
        text = _aggregate(errors)
        ctx.eprint(f'error: unable to drain node "{name}" due to error: {text}, continuing command...')
        failed.append((name, errors, plain))
    if failed:
        ctx.eprint("There are pending nodes to be drained:")
        for name, _, _ in failed:
            ctx.eprint(f" {name}")
        # cmdutil.CheckErr of NewAggregate(fatal): one node's error stands alone, as "error: msg"
        # when plain, an aggregate's errors one a line without "error: "; several nodes' errors
        # each on its line
        if len(failed) == 1:
            _, errors, plain = failed[0]
            raise KubectlError(f"error: {errors[0]}" if plain else "\n".join(errors))
        raise KubectlError("\n".join(errors[0] if plain else _aggregate(errors) for _, errors, plain in failed))
    return 0
