"""``kubectl replace``: the whole object from a file in place of the live one (replace.go's
Run), or with ``--force`` the live one deleted and the file's created anew (forceReplace),
which is how a learner changes what a Pod's spec does not let them update."""
from __future__ import annotations

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl.apply import APPLY_FORMATS, LAST_APPLIED, field_validation, with_last_applied
from kubelab.kubectl.command import Context, KubectlError, command, error, format_errors, with_source
from kubelab.kubectl.delete import CASCADE
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.get import check_output
from kubelab.kubectl.manifests import Doc, kind_of, namespace_for, read_manifests, visit
from kubelab.kubectl.workloads import print_outcome

FORCE_TIMEOUT = 300.0  # forceReplace waits this long for the old objects to go when --timeout is 0


@command("replace", *fl.FILE_FLAGS, fl.DRY_RUN, *fl.PRINT_FLAGS, fl.VALIDATE, fl.SAVE_CONFIG,
         Flag("field-manager", type=fl.STRING, default="kubectl-replace"), Flag("force", type=fl.BOOL),
         Flag("grace-period", type=fl.INT, default=-1),
         Flag("cascade", type=fl.STRING, default="background", no_opt="background"),
         Flag("timeout", type=fl.DURATION), Flag("wait", type=fl.BOOL))
def replace(ctx: Context, args: list[str]) -> int:
    dry_run = ctx.dry_run()
    printing = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    cascade = CASCADE.get(ctx.flags.get("cascade"))
    if cascade is None:
        raise error(f'invalid cascade value ({ctx.flags.get("cascade")}). Must be "background", "foreground", '
                    'or "orphan"')
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k")
    force, grace = ctx.flags.get("force"), ctx.flags.get("grace-period")
    if grace == 0:  # Complete: --grace-period=0 becomes 1, and the deletion is waited for
        grace = 1
    if grace >= 0 and not force:
        raise error("--grace-period must have --force specified")
    if ctx.flags.get("timeout") and not force:
        raise error("--timeout must have --force specified")
    if force and dry_run != "none":
        raise error("--dry-run can not be used when --force is set")
    docs = read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive"))
    if force:
        return _force_replace(ctx, docs, printing, None if grace < 0 else grace, cascade)
    return visit(ctx, docs, lambda doc: _replace(ctx, doc, printing, dry_run))


def _sent(ctx: Context, doc: Doc) -> Obj:
    """The object as replace sends it: CreateOrUpdateAnnotation keeps a last-applied
    annotation the file has up to date, and writes one with --save-config."""
    obj = doc.obj or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return with_last_applied(obj) if ctx.flags.get("save-config") or LAST_APPLIED in annotations else obj


def _replace(ctx: Context, doc: Doc, printing: tuple[str, str], dry_run: str) -> None:
    """One PUT (resource.Helper.Replace with overwrite): an object without a resourceVersion
    takes the live one's, so the update is not refused as a conflict."""
    kind, obj = kind_of(doc), _sent(ctx, doc)
    ns = namespace_for(ctx, kind, obj)
    if dry_run != "client":
        meta = obj.setdefault("metadata", {})
        if not meta.get("resourceVersion"):
            try:
                meta["resourceVersion"] = ctx.client.get(kind.kind, meta.get("name", ""), ns)["metadata"][
                    "resourceVersion"]
            except StatusError:
                pass  # the PUT says what is wrong (NotFound: replace never creates)
        try:
            obj = ctx.warnings(ctx.client.update(obj, ns, dry_run=dry_run == "server",
                                                 field_validation=field_validation(ctx),
                                                 field_manager=ctx.flags.get("field-manager")))
        except StatusError as e:
            raise with_source(e, "replacing", doc.source) from None
        if dry_run == "none":
            ctx.touch(obj, "replaced")
    print_outcome(ctx, *printing, kind.qualified_singular, obj, dry_run, "replaced")


def _force_replace(ctx: Context, docs: list[Doc], printing: tuple[str, str], grace: int | None,
                   cascade: str) -> int:
    """Delete what the files name (those not there are skipped), wait until each is gone,
    then create them from the files."""
    errors: list[BaseException] = [KubectlError(d.error) for d in docs if d.error]
    docs = [d for d in docs if not d.error]
    deleted: list[tuple[str, str, str | None]] = []
    for doc in docs:
        kind, obj = kind_of(doc), doc.obj or {}
        ns, name = namespace_for(ctx, kind, obj), (obj.get("metadata") or {}).get("name", "")
        try:
            ctx.client.delete(kind.kind, name, ns, grace_period=grace, propagation=cascade)
        except StatusError as e:
            if e.reason != "NotFound":
                errors.append(e)
            continue
        deleted.append((kind.kind, name, ns))
        ctx.touch({"kind": kind.kind, "metadata": {"name": name, "namespace": ns}}, "deleted")
        ctx.print(f"{kind.qualified_singular}/{name}" if printing[0] == "name"
                  else f'{kind.qualified_singular} "{name}" deleted')
    if errors:
        ctx.eprint(format_errors(errors))
        return 1

    def gone() -> bool:
        for kind, name, ns in deleted:
            try:
                ctx.client.get(kind, name, ns)
                return False
            except StatusError as e:
                if e.reason != "NotFound":
                    raise
        return True

    if not ctx.client.wait(gone, ctx.flags.get("timeout") or FORCE_TIMEOUT):
        raise error("timed out waiting for the condition")
    for doc in docs:
        kind, obj = kind_of(doc), _sent(ctx, doc)
        created = ctx.warnings(ctx.client.create(obj, namespace_for(ctx, kind, obj),
                                                 field_validation=field_validation(ctx),
                                                 field_manager=ctx.flags.get("field-manager")))
        ctx.touch(created, "created")
        print_outcome(ctx, *printing, kind.qualified_singular, created, "none", "replaced")
    if not docs:
        raise error("no objects passed to replace")
    return 0
