"""``kubectl apply -f``: client-side apply with the last-applied-configuration annotation.

Each object is created when missing; otherwise the three-way strategic merge patch between what was applied
last time (the annotation), what is applied now and what the server holds is sent, and an
empty patch means ``unchanged``. A bad document is reported and the others still apply.
``--server-side`` sends the object as an apply patch instead (and, as kubectl does, keeps
the last-applied annotation owned and moves client-side apply's fields to the applier).
"""
from __future__ import annotations

import copy
import json

from kubelab.api import managedfields
from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj
from kubelab.api.patch import three_way
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.command import Context, KubectlError, command, error, format_errors, with_source
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.get import check_output, write_template
from kubelab.kubectl.manifests import Doc, kind_of, namespace_for, read_manifests

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_LAST_APPLIED_PATH = ("f:metadata", "f:annotations", f"f:{LAST_APPLIED}")
CONFLICT_ADVICE = """Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"""

# The printers kubectl apply's PrintFlags offer (no table formats).
APPLY_FORMATS = ("go-template", "go-template-file", "json", "jsonpath", "jsonpath-as-json", "jsonpath-file", "name",
                 "template", "templatefile", "yaml")

APPLY_FLAGS = (
    *fl.FILE_FLAGS, fl.DRY_RUN, fl.VALIDATE, fl.FIELD_MANAGER, *fl.PRINT_FLAGS, fl.SELECTOR,
    Flag("prune", type=fl.BOOL), Flag("force", type=fl.BOOL), Flag("server-side", type=fl.BOOL),
    Flag("force-conflicts", type=fl.BOOL),
    Flag("overwrite", type=fl.BOOL, default=True), Flag("wait", type=fl.BOOL),
    Flag("grace-period", type=fl.INT, default=-1), Flag("timeout", type=fl.DURATION),
    Flag("record", type=fl.BOOL), Flag("all", type=fl.BOOL),
)


def field_validation(ctx: Context) -> str:
    """The server's fieldValidation for ``--validate``."""
    value = str(ctx.flags.get("validate")).lower()
    mapping = {"strict": "Strict", "true": "Strict", "warn": "Warn", "ignore": "Ignore", "false": "Ignore"}
    if value not in mapping:
        raise error(f'invalid - validate option "{ctx.flags.get("validate")}"; must be one of: strict (or true), '
                    "warn, ignore (or false)")
    return mapping[value]


def with_last_applied(obj: Obj) -> Obj:
    """The object carrying its own configuration in the last-applied annotation, built as
    kubectl's GetModifiedConfiguration does (``"annotations":{}`` when it had none)."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    text = printers.go_json(obj) + "\n"
    meta["annotations"] = {**annotations, LAST_APPLIED: text}
    return obj


def _verbed(kind: Kind, name: str, verb: str, dry_run: str) -> str:
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    return f"{kind.qualified_singular}/{name} {verb}{suffix}"


def _resource_info(kind: Kind, name: str, ns: str | None) -> str:
    gv = kind.api_version if kind.group else f"/{kind.version}"
    return (f'Resource: "{gv}, Resource={kind.plural}", GroupVersionKind: "{gv}, Kind={kind.kind}"\n'
            f'Name: "{name}", Namespace: "{ns or ""}"')


def apply_one(ctx: Context, doc: Doc, dry_run: str, validation: str) -> tuple[Kind, str, str, Obj]:
    """Apply one document: (kind, name, what happened, the resulting object)."""
    kind = kind_of(doc)
    obj = doc.obj or {}
    ns = namespace_for(ctx, kind, obj)
    if ns is not None:
        obj = {**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": ns}}
    name = (obj.get("metadata") or {}).get("name")
    if not name:
        raise error(f'error when retrieving current configuration of:\n{_resource_info(kind, "", ns)}\n'
                    f'from server for: "{doc.source}": resource name may not be empty')
    modified = with_last_applied(obj)
    try:
        current = ctx.client.get(kind.kind, name, ns)
    except StatusError as e:
        if e.reason != "NotFound":
            raise
        current = None
    if current is None:
        if dry_run == "client":
            result = modified
        else:
            try:
                result = ctx.warnings(ctx.client.create(modified, ns, dry_run=dry_run == "server",
                                                        field_validation=validation,
                                                        field_manager=_field_manager(ctx)))
            except StatusError as e:
                raise with_source(e, "creating", doc.source) from None
        return kind, name, "created", result
    original_text = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if original_text is None:
        ctx.eprint(f"Warning: resource {kind.plural}/{name} is missing the {LAST_APPLIED} annotation which is "
                   "required by kubectl apply. kubectl apply should only be used on resources created "
                   "declaratively by either kubectl create --save-config or kubectl apply. The missing "
                   "annotation will be patched automatically.")
    original = json.loads(original_text) if original_text else {}
    patch = three_way(original, modified, current)
    if not patch:
        return kind, name, "unchanged", current
    if dry_run == "client":
        return kind, name, "configured", current
    try:
        result = ctx.warnings(ctx.client.patch(kind.kind, name, ns, patch, "strategic", dry_run=dry_run == "server",
                                               field_validation=validation, field_manager=_field_manager(ctx)))
    except StatusError as e:
        inner = with_source(e, "patching", doc.source)
        raise with_source(inner, f"applying patch:\n{printers.go_json(patch)}\nto:\n"
                                 f"{_resource_info(kind, name, ns)}\nfor:", doc.source) from None
    return kind, name, "configured", result


def _field_manager(ctx: Context) -> str:
    """GetApplyFieldManagerFlag: --field-manager, else kubectl's default for the mode."""
    return ctx.flags.get("field-manager") or ("kubectl" if ctx.flags.get("server-side")
                                              else "kubectl-client-side-apply")


def server_side_apply_one(ctx: Context, doc: Doc, dry_run: str, validation: str) -> tuple[Kind, str, str, Obj]:
    """``apply --server-side`` of one document (applyOneObject's server-side branch)."""
    kind = kind_of(doc)
    obj = doc.obj or {}
    ns = namespace_for(ctx, kind, obj)
    if ns is not None:
        obj = {**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": ns}}
    name = (obj.get("metadata") or {}).get("name") or ""
    manager = _field_manager(ctx)
    force = bool(ctx.flags.get("force-conflicts"))

    def send() -> Obj:
        return ctx.warnings(ctx.client.apply(kind.kind, name, ns, obj, field_manager=manager, force=force,
                                             dry_run=dry_run == "server", field_validation=validation))
    try:
        result = send()
    except StatusError as e:
        if e.code == 409:
            raise error(f"{e.message}\n{CONFLICT_ADVICE}") from None
        raise with_source(e, "serverside-apply", doc.source) from None
    if dry_run == "none":
        result = _keep_last_applied(ctx, kind, result, manager)
        if _migrate_client_side_fields(ctx, kind, result, manager):
            result = send()  # re-sent so that the fields client-side apply dropped go
    return kind, name, "serverside-applied", result


def _owners(obj: Obj, operation: str, path: tuple[str, ...]) -> list[Obj]:
    """csaupgrade.FindFieldsOwners: the entries of ``operation`` owning ``path``."""
    return [e for e in (obj.get("metadata") or {}).get("managedFields") or []
            if e.get("operation") == operation and path in managedfields.decode(e.get("fieldsV1") or {})]


def _keep_last_applied(ctx: Context, kind: Kind, obj: Obj, manager: str) -> Obj:
    """saveLastApplyAnnotationIfNecessary: an existing last-applied annotation nobody applies
    is applied as is by ``kubectl-last-applied``, so the next apply does not drop it."""
    meta = obj.get("metadata") or {}
    annotation = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if manager != "kubectl" or annotation is None or _owners(obj, "Apply", _LAST_APPLIED_PATH):
        return obj
    just = {"apiVersion": kind.api_version, "kind": kind.kind,
            "metadata": {"name": meta["name"], "annotations": {LAST_APPLIED: annotation}}}
    if meta.get("namespace"):
        just["metadata"]["namespace"] = meta["namespace"]
    return ctx.client.apply(kind.kind, meta["name"], meta.get("namespace"), just, field_manager="kubectl-last-applied")


def _migrate_client_side_fields(ctx: Context, kind: Kind, obj: Obj, manager: str) -> bool:
    """migrateToSSAIfNecessary (csaupgrade.UpgradeManagedFieldsPatch): the Update managers
    owning the last-applied annotation (client-side apply) hand their fields to the Apply
    manager; True when managedFields were rewritten."""
    meta = obj.get("metadata") or {}
    entries = [dict(e) for e in meta.get("managedFields") or []]
    for csa in sorted({e.get("manager", "") for e in _owners(obj, "Update", _LAST_APPLIED_PATH)}):
        def is_csa(e: Obj) -> bool:
            return e.get("manager") == csa and e.get("operation") == "Update" and not e.get("subresource")
        target = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"
                       and not e.get("subresource")), None)
        if target is None:
            target = next((e for e in entries if is_csa(e)), None)
            if target is None:
                continue
            target.update(operation="Apply", manager=manager)
        same = next((e for e in entries if is_csa(e) and e.get("apiVersion") == target.get("apiVersion")), None)
        if same is not None:
            target["fieldsV1"] = managedfields.encode(managedfields.decode(target.get("fieldsV1") or {})
                                                      | managedfields.decode(same.get("fieldsV1") or {}))
        entries = [e for e in entries if not is_csa(e)]
    if entries == list(meta.get("managedFields") or []):
        return False
    patch = [{"op": "replace", "path": "/metadata/managedFields", "value": entries},
             {"op": "replace", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")}]
    ctx.client.patch(kind.kind, meta["name"], meta.get("namespace"), patch, "json", field_manager=manager)
    return True


@command("apply", *APPLY_FLAGS)
def apply(ctx: Context, args: list[str]) -> int:
    if args:
        raise ctx.usage_error(f"Unexpected args: {_go_list(args)}")
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k")
    dry_run = ctx.dry_run()
    if ctx.flags.get("force-conflicts") and not ctx.flags.get("server-side"):
        raise error("--force-conflicts only works with --server-side")
    if dry_run == "client" and ctx.flags.get("server-side"):
        raise error("--dry-run=client doesn't work with --server-side (did you mean --dry-run=server instead?)")
    if ctx.flags.get("server-side") and ctx.flags.get("force"):
        raise error("--force cannot be used with --server-side")
    if ctx.flags.get("prune") and not ctx.flags.get("all") and not ctx.flags.get("selector"):
        raise error("all resources selected for prune without explicitly passing --all. To prune all resources, "
                    "pass the --all flag. If you did not mean to prune all resources, specify a label selector")
    output = ctx.flags.get("output")
    printer, template = check_output(output, ctx.flags.get("template"), APPLY_FORMATS)
    validation = field_validation(ctx)
    docs = read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive"))
    errors: list[BaseException] = [KubectlError(d.error) for d in docs if d.error]
    good = [d for d in docs if not d.error]
    if not good and not errors:
        raise error("no objects passed to apply")
    printed: list[Obj] = []
    for doc in good:
        try:
            one = server_side_apply_one if ctx.flags.get("server-side") else apply_one
            kind, name, verb, obj = one(ctx, doc, dry_run, validation)
        except (StatusError, KubectlError) as e:
            errors.append(e)
            continue
        if dry_run == "none":
            ctx.touch(obj, verb)
        if printer == "name":
            ctx.print(f"{kind.qualified_singular}/{name}")
        elif output:
            printed.append(obj)
        elif printer:  # --template alone: the template is the per-object message
            write_template(ctx, printer, template, obj)
        else:
            ctx.print(_verbed(kind, name, verb, dry_run))
    if errors:  # kubectl prints the objects only once everything applied
        ctx.eprint(format_errors(errors))
        return 1
    if printed:
        data = printed[0] if len(printed) == 1 else printers.as_list(printed)
        if printer in ("yaml", "json"):
            show = bool(ctx.flags.get("show-managed-fields"))
            ctx.out.write(printers.to_yaml(data, show_managed_fields=show) if printer == "yaml"
                          else printers.to_json(data, show_managed_fields=show))
        else:
            write_template(ctx, printer, template, data)
    return 0


def _go_list(items: list[str]) -> str:
    """How Go prints a []string: ``[a b]``."""
    return "[" + " ".join(items) + "]"
