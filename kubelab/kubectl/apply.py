"""``kubectl apply -f``: client-side apply with the last-applied-configuration annotation.

Each object is created when missing; otherwise the three-way strategic merge patch between what was applied
last time (the annotation), what is applied now and what the server holds is sent, and an
empty patch means ``unchanged``. A bad document is reported and the others still apply.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.api.patch import three_way
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.command import Context, KubectlError, command, error, format_errors, with_source
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.get import check_output, write_template
from kubelab.kubectl.manifests import Doc, kind_of, namespace_for, read_manifests

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# The printers kubectl apply's PrintFlags offer (no table formats).
APPLY_FORMATS = ("go-template", "go-template-file", "json", "jsonpath", "jsonpath-as-json", "jsonpath-file", "name",
                 "template", "templatefile", "yaml")

APPLY_FLAGS = (
    *fl.FILE_FLAGS, fl.DRY_RUN, fl.VALIDATE, fl.FIELD_MANAGER, *fl.PRINT_FLAGS, fl.SELECTOR,
    Flag("prune", type=fl.BOOL), Flag("force", type=fl.BOOL), Flag("server-side", type=fl.BOOL),
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
                                                        field_validation=validation))
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
                                               field_validation=validation))
    except StatusError as e:
        inner = with_source(e, "patching", doc.source)
        raise with_source(inner, f"applying patch:\n{printers.go_json(patch)}\nto:\n"
                                 f"{_resource_info(kind, name, ns)}\nfor:", doc.source) from None
    return kind, name, "configured", result


@command("apply", *APPLY_FLAGS)
def apply(ctx: Context, args: list[str]) -> int:
    if args:
        raise ctx.usage_error(f"Unexpected args: {_go_list(args)}")
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k")
    dry_run = ctx.dry_run()
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
            kind, name, verb, obj = apply_one(ctx, doc, dry_run, validation)
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
            ctx.out.write(printers.to_yaml(data) if printer == "yaml" else printers.to_json(data))
        else:
            write_template(ctx, printer, template, data)
    return 0


def _go_list(items: list[str]) -> str:
    """How Go prints a []string: ``[a b]``."""
    return "[" + " ".join(items) + "]"
