"""``kubectl delete``: by file, by kind and names, ``kind/name``, ``-l`` or ``--all``.

Like kubectl 1.32 it waits (``--wait``, default true) until the deleted objects are gone; on
a virtual clock that time is run forward through ``client.wait``.
"""
from __future__ import annotations

from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import NO_RESOURCES, Context, KubectlError, command, error, format_errors, with_source
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.get import Request, resource_requests
from kubelab.kubectl.manifests import kind_of, namespace_for, read_manifests


FORCE_WARNING = ("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
                 "terminated. The resource may continue to run on the cluster indefinitely.")
NO_WAIT_TIMEOUT = 7 * 24 * 3600.0  # kubectl's "forever" when --timeout is 0

DELETE_FLAGS = (
    *fl.FILE_FLAGS, fl.SELECTOR, fl.FIELD_SELECTOR, fl.ALL_NAMESPACES, fl.DRY_RUN, fl.OUTPUT,
    Flag("all", type=fl.BOOL), Flag("grace-period", type=fl.INT, default=-1), Flag("now", type=fl.BOOL),
    Flag("force", type=fl.BOOL), Flag("cascade", type=fl.STRING, default="background", no_opt="background"),
    Flag("wait", type=fl.BOOL, default=True), Flag("timeout", type=fl.DURATION),
    Flag("ignore-not-found", type=fl.BOOL), Flag("interactive", "i", fl.BOOL), Flag("raw", type=fl.STRING),
)

CASCADE = {"background": "Background", "true": "Background", "foreground": "Foreground", "orphan": "Orphan",
            "false": "Orphan"}


def _grace(ctx: Context) -> int | None:
    """The grace period to send, with kubectl's rules for --now, --force and --grace-period."""
    grace = ctx.flags.get("grace-period")
    if ctx.flags.get("now"):
        if grace != -1:
            raise error("--now and --grace-period cannot be specified together")
        grace = 1
    if ctx.flags.get("force"):
        if grace > 0:
            raise error("--force and --grace-period greater than 0 cannot be specified together")
        ctx.eprint(FORCE_WARNING)
        grace = 0
    elif grace == 0:
        grace = 1  # without --force, 0 means "as soon as possible", which the server reads as 1
    return None if grace < 0 else grace


def _targets(ctx: Context, args: list[str], errors: list[BaseException]) -> list[tuple[Kind, str, str | None, str]]:
    """(kind, name, namespace, source file) for everything to delete."""
    targets: list[tuple[Kind, str, str | None, str]] = []
    if ctx.flags.get("filename"):
        for doc in read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive")):
            if doc.error:
                errors.append(KubectlError(doc.error))
                continue
            try:
                kind = kind_of(doc)
                ns = namespace_for(ctx, kind, doc.obj or {})
            except KubectlError as e:
                errors.append(e)
                continue
            targets.append((kind, (doc.obj or {}).get("metadata", {}).get("name", ""), ns, doc.source))
        return targets
    selecting = ctx.flags.get("all") or ctx.flags.get("selector") or ctx.flags.get("field-selector")
    if not args:
        raise error("at least one resource must be specified to use a selector" if selecting else NO_RESOURCES)
    requests: list[Request] = resource_requests(args)
    if selecting and any(req.names for req in requests):
        raise error("name cannot be provided when a selector is specified")
    all_ns = ctx.flags.get("all-namespaces")
    for req in requests:
        ns = ctx.namespace if req.kind.namespaced else None
        if req.names:
            targets.extend((req.kind, name, ns, "") for name in req.names)
        elif selecting:
            found = ctx.client.list(req.kind.kind, None if all_ns and req.kind.namespaced else ns,
                                    ctx.flags.get("selector") or None, ctx.flags.get("field-selector") or None)
            targets.extend((req.kind, o["metadata"]["name"], o["metadata"].get("namespace"), "")
                           for o in found["items"])
        else:
            raise error("resource(s) were provided, but no name was specified")
    return targets


@command("delete", *DELETE_FLAGS)
def delete(ctx: Context, args: list[str]) -> int:
    cascade = CASCADE.get(ctx.flags.get("cascade"))
    if cascade is None:
        raise error(f'invalid cascade value ({ctx.flags.get("cascade")}). Must be "background", "foreground", '
                    'or "orphan"')
    if ctx.flags.get("all") and ctx.flags.get("selector"):
        raise error("cannot set --all and --selector at the same time")
    dry_run = ctx.dry_run()
    grace = _grace(ctx)
    errors: list[BaseException] = []
    targets = _targets(ctx, args, errors)
    deleted: list[tuple[Kind, str, str | None, str]] = []
    for kind, name, ns, source in targets:
        try:
            gone = ctx.client.delete(kind.kind, name, ns, grace_period=grace, propagation=cascade,
                                     dry_run=dry_run != "none")
        except StatusError as e:
            if e.reason == "NotFound" and ctx.flags.get("ignore-not-found"):
                continue
            errors.append(with_source(e, "deleting", source))
            continue
        deleted.append((kind, name, ns, ((gone or {}).get("metadata") or {}).get("uid", "")))
        if dry_run == "none":
            ctx.touch({"kind": kind.kind, "metadata": {"name": name, "namespace": ns}}, "deleted")
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
        if ctx.flags.get("output") == "name":
            ctx.print(f"{kind.qualified_singular}/{name}")
        else:
            ctx.print(f'{kind.qualified_singular} "{name}" deleted{suffix}')
    if not targets and not errors:
        ctx.print("No resources found")
    if deleted and dry_run == "none" and ctx.flags.get("wait"):
        _wait_gone(ctx, deleted)
    if errors:
        ctx.eprint(format_errors(errors))
        return 1
    return 0


def _wait_gone(ctx: Context, deleted: list[tuple[Kind, str, str | None, str]]) -> None:
    """Block until every deleted object has left the server (kubectl's --wait). An object of
    the same name with another uid (a StatefulSet's new pod) is not the one deleted."""
    def gone() -> bool:
        for kind, name, ns, uid in deleted:
            try:
                live = ctx.client.get(kind.kind, name, ns)
            except StatusError as e:
                if e.reason == "NotFound":
                    continue
                raise
            if uid and live["metadata"].get("uid") != uid:
                continue
            return False
        return True

    timeout = ctx.flags.get("timeout") or NO_WAIT_TIMEOUT
    if not ctx.client.wait(gone, timeout):
        kind, name, _, _ = deleted[0]
        raise error(f'timed out waiting for the condition on {kind.plural}/{name}')
