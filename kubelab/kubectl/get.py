"""``kubectl get``: list or fetch objects and print them as tables or in an output format.

``-w/--watch`` in a notebook cannot run forever: it prints the changes that happen within
``--request-timeout`` (5 s when not given) and stops; on a virtual clock that time is run
forward through ``client.wait``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind, all_category, lookup
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.command import Context, KubectlError, Table, command, error, format_errors, split_type_name
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.gosort import go_sort
from kubelab.kubectl.jsonpath import JSONPathError


WATCH_SECONDS = 5.0  # how long ``get -w`` watches without --request-timeout

OUTPUT_FORMATS = ("custom-columns", "custom-columns-file", "go-template", "go-template-file", "json",
                  "jsonpath", "jsonpath-as-json", "jsonpath-file", "name", "template", "templatefile",
                  "wide", "yaml")

GET_FLAGS = (
    fl.OUTPUT, fl.SELECTOR, fl.FIELD_SELECTOR, fl.ALL_NAMESPACES, *fl.FILE_FLAGS,
    Flag("watch", "w", fl.BOOL), Flag("watch-only", type=fl.BOOL), Flag("output-watch-events", type=fl.BOOL),
    Flag("no-headers", type=fl.BOOL), Flag("show-labels", type=fl.BOOL), Flag("show-kind", type=fl.BOOL),
    Flag("label-columns", "L", fl.STRING_SLICE), Flag("sort-by", type=fl.STRING),
    Flag("ignore-not-found", type=fl.BOOL), Flag("chunk-size", type=fl.INT, default=500),
    Flag("raw", type=fl.STRING), Flag("subresource", type=fl.STRING),
    fl.SHOW_MANAGED_FIELDS, fl.TEMPLATE, fl.ALLOW_MISSING_TEMPLATE_KEYS,
)


@dataclass
class Request:
    """One resource type asked for, with the names asked for (none: list them)."""

    kind: Kind
    names: list[str] = field(default_factory=list)


def resource_requests(args: list[str]) -> list[Request]:
    """kubectl's resource builder: ``pods``, ``pods a b``, ``deploy,rs,po``, ``all``, ``pod/a svc/b``."""
    if any("/" in a for a in args):
        if not all("/" in a for a in args):
            raise error("there is no need to specify a resource type as a separate argument when passing "
                        "arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead "
                        "of 'kubectl get resource resource/<resource_name>'")
        requests: list[Request] = []
        for a in args:
            word, name = split_type_name(a)
            kind = _kind(word)
            if requests and requests[-1].kind == kind:
                requests[-1].names.append(name)
            else:
                requests.append(Request(kind, [name]))
        return requests
    kinds: list[Kind] = []
    for word in args[0].split(","):
        if not word:
            continue
        for kind in (all_category() if word == "all" else [_kind(word)]):
            if kind not in kinds:
                kinds.append(kind)
    return [Request(k, list(args[1:])) for k in kinds]


def _kind(word: str) -> Kind:
    try:
        return lookup(word)
    except StatusError as e:
        raise error(e.message) from None


def fetch(ctx: Context, req: Request, all_namespaces: bool, errors: list[BaseException]) -> list[Obj]:
    """The objects one request names or lists; NotFound errors go to ``errors``."""
    ns = None if all_namespaces and req.kind.namespaced else ctx.namespace
    if req.names:
        found = []
        for name in req.names:
            try:
                found.append(ctx.client.get(req.kind.kind, name, ns))
            except StatusError as e:
                if not (e.reason == "NotFound" and ctx.flags.get("ignore-not-found")):
                    errors.append(e)
        return found
    result = ctx.client.list(req.kind.kind, ns, ctx.flags.get("selector") or None,
                             ctx.flags.get("field-selector") or None)
    return result["items"]


def check_output(output: str, template: str = "", allowed: tuple[str, ...] = OUTPUT_FORMATS) -> tuple[str, str]:
    """``(printer, template)`` for ``-o`` (with ``--template``) among a command's ``allowed``
    formats, or kubectl's error for an unknown one (before any request)."""
    try:
        return printers.output_format(output, template, allowed)
    except printers.PrintError as e:
        raise error(str(e)) from None


def write_template(ctx: Context, printer: str, template: str, data: Obj, typed: bool = False) -> None:
    """A go-template or jsonpath printer's output over ``data``; when it fails, what kubectl
    writes to standard output before its error (``typed`` as for printers.template_output)."""
    try:
        ctx.out.write(printers.template_output(printer, template, data,
                                               allow_missing=ctx.flags.get("allow-missing-template-keys"),
                                               typed=typed))
    except printers.PrintError as e:
        ctx.out.write(e.stdout)
        raise error(str(e)) from None


def print_objects(ctx: Context, objects: list[Obj], fmt: str, template: str, single: bool) -> None:
    """Print objects in a non-table output format (yaml, json, name, templates, custom-columns);
    ``template`` is check_output's (a ``-file`` format's text, read once per command)."""
    if fmt == "name":
        for obj in objects:
            ctx.print(printers.object_name(obj))
        return
    try:
        if fmt in ("custom-columns", "custom-columns-file"):
            columns = printers.custom_columns if fmt == "custom-columns" else printers.custom_columns_file
            ctx.out.write(columns(template, objects, ctx.flags.get("no-headers")))
            return
        show = bool(ctx.flags.get("show-managed-fields"))
        data = objects[0] if single and len(objects) == 1 else printers.as_list(objects)
        if fmt == "yaml":
            ctx.out.write(printers.to_yaml(data, show_managed_fields=show))
        elif fmt == "json":
            ctx.out.write(printers.to_json(data, show_managed_fields=show))
        else:
            write_template(ctx, fmt, template, data)
    except printers.PrintError as e:
        ctx.out.write(e.stdout)
        raise error(str(e)) from None


def table_text(ctx: Context, kind: str, objects: list[Obj], *, with_kind: bool, all_namespaces: bool) -> str:
    """One kind's objects as kubectl's table (recorded on ``ctx.tables`` as printed)."""
    wide = ctx.flags.get("output") == "wide"
    table = ctx.client.table(kind, objects, wide)
    if not table["rows"]:
        return ""
    rows = printers.table_rows(
        table, wide=wide, namespace_column=all_namespaces, with_kind=printers.kind_prefix(kind) if with_kind else "",
        show_labels=ctx.flags.get("show-labels"), label_columns=ctx.flags.get("label-columns"), objects=objects)
    ctx.tables.append(Table(kind, rows[0], rows[1:]))
    return printers.tabwrite(rows[1:] if ctx.flags.get("no-headers") else rows)


@command("get", *GET_FLAGS)
def get(ctx: Context, args: list[str]) -> int:
    output = ctx.flags.get("output")
    fmt, template = check_output(output, ctx.flags.get("template"))
    all_namespaces = ctx.flags.get("all-namespaces")
    if ctx.flags.get("filename"):
        from kubelab.kubectl.manifests import kind_of, read_manifests

        requests = []
        for doc in read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive")):
            if doc.error:
                raise KubectlError(doc.error)
            requests.append(Request(kind_of(doc), [(doc.obj or {}).get("metadata", {}).get("name", "")]))
    elif not args:
        raise KubectlError(
            'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of '
            "supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" "
            "for a detailed description of that resource (e.g. kubectl explain pods).\n"
            "See 'kubectl get -h' for help and examples")
    else:
        requests = resource_requests(args)
    if ctx.flags.get("watch") or ctx.flags.get("watch-only"):
        return watch(ctx, requests, fmt, template, all_namespaces)
    errors: list[BaseException] = []
    groups = [(req, fetch(ctx, req, all_namespaces, errors)) for req in requests]
    if ctx.flags.get("sort-by"):
        groups = _sorted(ctx.flags.get("sort-by"), groups, table=fmt in ("", "wide"))
    single = len(requests) == 1 and len(requests[0].names) == 1 and not ctx.flags.get("filename")
    written = False
    if fmt in ("", "wide"):
        # several kinds print their kind; a kind asked for by names none of which was found
        # does not count (get.go's multipleGVKsRequested over what the builder returned)
        with_kind = len({req.kind.kind for req, objs in groups if objs or not req.names}) > 1 or \
            ctx.flags.get("show-kind")
        namespaced_before = False
        for req, objs in groups:
            # -A: no NAMESPACE column for a cluster-scoped kind, unless a namespaced kind came
            # before it (kubectl's printer copy shares HumanReadableFlags, whose WithNamespace
            # the first namespaced kind turned on)
            namespaced_before = namespaced_before or (req.kind.namespaced and bool(objs))
            text = table_text(ctx, req.kind.kind, objs, with_kind=with_kind,
                              all_namespaces=all_namespaces and namespaced_before)
            if text and written and not ctx.flags.get("no-headers"):
                ctx.out.write("\n")
            ctx.out.write(text)
            written = written or bool(text)
    else:
        objects = [o for _, objs in groups for o in objs]
        # a single named object that failed prints nothing but the error (printGeneric)
        if (objects or fmt != "name") and not (single and errors):
            print_objects(ctx, objects, fmt, template, single)
            written = bool(objects) or fmt != "name"
    if not written and not errors and not ctx.flags.get("ignore-not-found"):
        if not all_namespaces and all(req.kind.namespaced for req in requests):
            ctx.notice(f"No resources found in {ctx.namespace} namespace.")
        else:
            ctx.notice("No resources found")
    if errors:
        ctx.eprint(format_errors(errors))
        return 1
    return 0


def _sorted(path: str, groups: list[tuple[Request, list[Obj]]], table: bool) -> list[tuple[Request, list[Obj]]]:
    """--sort-by as kubectl 1.32 does it (sort.Sort: ties move). Other formats than tables
    fail on a bad path, and on one that none of two or more objects has (RuntimeSorter).
    Tables fail quietly, each kind's own (NewTableSorter): one kind listed prints nothing,
    so kubectl says there is nothing to show; several kinds listed always fail."""
    try:
        printers.evaluate(path, {})
        bad = ""
    except (printers.PrintError, JSONPathError) as e:
        bad = str(e)

    def found(objs: list[Obj]) -> bool:
        return not objs or any(printers.evaluate(path, o) for o in objs)

    missing = bad or f"couldn't find any field with path \"{printers.relaxed_path(path)}\" in the list of objects"
    objects = [o for _, objs in groups for o in objs]
    if table and len(groups) == 1:
        req, objs = groups[0]
        if not (req.names and len(objs) < 2) and (bad or not found(objs)):
            return [(req, [])]
    elif table and objects:
        raise error(missing)
    elif not table and (bad or len(objects) > 1 and not found(objects)):
        raise error(missing)
    less = printers.sort_less(path)
    return [(req, go_sort(objs, less)) for req, objs in groups]


def watch(ctx: Context, requests: list[Request], fmt: str, template: str, all_namespaces: bool) -> int:
    """``get -w``: the current state (unless ``--watch-only``), then each change as it happens,
    for a bounded time."""
    if len(requests) != 1:
        raise error("you may only specify a single resource type")
    req = requests[0]
    kind = req.kind.kind
    wide = fmt == "wide"
    options = dict(wide=wide, namespace_column=all_namespaces and req.kind.namespaced,
                   show_labels=ctx.flags.get("show-labels"),
                   label_columns=ctx.flags.get("label-columns"))
    widths: dict[int, int] = {}
    headers_done = [ctx.flags.get("no-headers")]

    def emit(objs: list[Obj]) -> None:
        if fmt not in ("", "wide"):
            for obj in objs:
                print_objects(ctx, [obj], fmt, template, True)
            return
        rows = printers.table_rows(ctx.client.table(kind, objs, wide), no_headers=headers_done[0],
                                   objects=objs, **options)
        headers_done[0] = True
        ctx.out.write(printers.tabwrite(rows, widths=widths))

    errors: list[BaseException] = []
    if not ctx.flags.get("watch-only"):
        current = fetch(ctx, req, all_namespaces, errors)
        if current:
            emit(current)
        elif not errors:
            ctx.notice(f"No resources found in {ctx.namespace} namespace." if req.kind.namespaced
                       and not all_namespaces else "No resources found")
    if errors:
        ctx.eprint(format_errors(errors))
        return 1
    ns = None if all_namespaces or not req.kind.namespaced else ctx.namespace

    def on_event(event: str, obj: Obj) -> None:
        if req.names and obj["metadata"]["name"] not in req.names:
            return
        emit([obj])

    stop = ctx.client.watch(kind, ns, on_event, ctx.flags.get("selector") or None)
    try:
        timeout = fl.parse_duration(ctx.flags.get("request-timeout") or "0") or 0.0
        ctx.client.wait(lambda: False, timeout or WATCH_SECONDS)
    finally:
        stop()
    return 0
