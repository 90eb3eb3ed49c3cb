"""``kubectl events`` (kubectl 1.32's events command, pkg/cmd/events): the events of a
namespace (or all, ``-A``), optionally only those about one object (``--for TYPE/NAME``) or of
some types (``--types``), oldest first, with ages from the wall clock as kubectl computes them.
"""
from __future__ import annotations

from kubelab.api.errors import StatusError
from kubelab.api.kinds import lookup
from kubelab.api.objects import Obj
from kubelab.api.tables import parse_time, since
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.command import Context, KubectlError, command, error, split_type_name
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.gosort import go_sort

# events' PrintFlags: json, yaml, name and the templates (no table formats).
EVENTS_FORMATS = ("go-template", "go-template-file", "json", "jsonpath", "jsonpath-as-json", "jsonpath-file",
                  "name", "template", "templatefile", "yaml")


def _event_time(e: Obj) -> float:
    """events.go's eventTime: the series' last observation, else lastTimestamp, else eventTime."""
    series = e.get("series") or {}
    return parse_time(series.get("lastObservedTime") or e.get("lastTimestamp") or e.get("eventTime")) or 0.0


_EVENT_ORDER = ("kind", "apiVersion", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp",
                "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
                "reportingInstance")
_META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields")
_REF_ORDER = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")


def _ordered(obj: Obj, order: tuple[str, ...]) -> Obj:
    return {**{k: obj[k] for k in order if k in obj}, **{k: v for k, v in obj.items() if k not in order}}


def _typed_event(e: Obj) -> Obj:
    """An Event as the typed corev1.Event kubectl decoded it into: the struct's field order, and
    the fields without omitempty (source, the timestamps, reportingComponent/Instance) present."""
    full = {"source": {}, "firstTimestamp": None, "lastTimestamp": None, "eventTime": None,
            "reportingComponent": "", "reportingInstance": "", **e}
    out = _ordered(full, _EVENT_ORDER)
    out["metadata"] = _ordered(out.get("metadata") or {}, _META_ORDER)
    out["involvedObject"] = _ordered(out.get("involvedObject") or {}, _REF_ORDER)
    return out


def _interval(e: Obj, now: float) -> str:
    """event_printer.go's getInterval."""
    first = since(e.get("eventTime"), now) if e.get("eventTime") else since(e.get("firstTimestamp"), now)
    series = e.get("series")
    if series:
        return f"{since(series.get('lastObservedTime'), now)} (x{series.get('count', 0)} over {first})"
    if (e.get("count") or 0) > 1:
        return f"{since(e.get('lastTimestamp'), now)} (x{e['count']} over {first})"
    return first


@command("events", Flag("watch", "w", fl.BOOL), fl.ALL_NAMESPACES, Flag("for", type=fl.STRING),
         Flag("types", type=fl.STRING_SLICE), Flag("no-headers", type=fl.BOOL),
         Flag("chunk-size", type=fl.INT, default=500), *fl.PRINT_FLAGS, short="List events")
def events(ctx: Context, args: list[str]) -> int:
    from kubelab.kubectl.get import check_output, write_template

    field_selector = ""
    target = ctx.flags.get("for")
    if target:
        if "/" not in target:
            raise error("--for must be in resource/name form")
        word, name = split_type_name(target)
        try:
            kind = lookup(word.lower())
        except StatusError as e:  # the REST mapper's error, which CheckErr prints as it is
            raise KubectlError(e.message) from None
        api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
        field_selector = (f"involvedObject.kind={kind.kind},involvedObject.apiVersion={api_version},"
                          f"involvedObject.name={name}")
    types = sorted(set(ctx.flags.get("types") or ()))
    output, template = ("", "")
    if ctx.flags.get("output"):
        output, template = check_output(ctx.flags.get("output"), ctx.flags.get("template"), EVENTS_FORMATS)
    for t in types:
        if t.lower() not in ("normal", "warning"):
            raise error("valid --types are Normal or Warning")
    all_namespaces = ctx.flags.get("all-namespaces")
    found = ctx.client.list("Event", None if all_namespaces else ctx.namespace,
                            field_selector=field_selector or None)["items"]
    items = [e for e in found if not types or any(t.lower() == str(e.get("type", "")).lower() for t in types)]
    if not items:
        ctx.eprint("No events found." if all_namespaces else f"No events found in {ctx.namespace} namespace.")
        return 0
    items = go_sort(items, lambda a, b: _event_time(a) < _event_time(b))
    items = [_typed_event({**e, "apiVersion": "v1", "kind": "Event"}) for e in items]
    data = {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items}
    if output == "name":
        pass  # the name printer finds no name on the typed EventList kubectl hands it: it prints nothing
    elif output in ("yaml", "json"):
        show = bool(ctx.flags.get("show-managed-fields"))
        ctx.out.write(printers.to_yaml(data, show_managed_fields=show) if output == "yaml" else
                      printers.to_json(data, sort_keys=False, show_managed_fields=show))
    elif output:
        write_template(ctx, output, template, data, typed=True)
    else:
        now = ctx.now()
        rows = [] if ctx.flags.get("no-headers") else [
            [*(["NAMESPACE"] if all_namespaces else []), "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]]
        for e in items:
            involved = e.get("involvedObject") or {}
            rows.append([*([e["metadata"].get("namespace", "")] if all_namespaces else []), _interval(e, now),
                         e.get("type", ""), e.get("reason", ""), f"{involved.get('kind', '')}/{involved.get('name', '')}",
                         str(e.get("message", "")).strip()])
        ctx.out.write(printers.tabwrite(rows))
    return 0
