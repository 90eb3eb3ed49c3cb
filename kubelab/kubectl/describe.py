"""``kubectl describe``: the human-readable report kubectl 1.32 prints for an object.

Each describer gathers what kubectl's describer fetches (the object, its events, the pods or
ReplicaSets it controls) through the client seam, then lays the text out with a port of Go's
``text/tabwriter`` (min width 0, padding 2), because kubectl's alignment *is* that algorithm:
a column block ends at the first line without a cell in that column.
"""
from __future__ import annotations

import json
import re
from fractions import Fraction
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.api.pods import controller_of, qos_class as computed_qos
from kubelab.api.kinds import BY_KIND, Kind
from kubelab.api.kinds import lookup
from kubelab.api.tables import (access_modes, format_label_selector, format_labels, human_duration,
                                ingress_address, is_default_class, parse_time, since, storage_quantity,
                                volume_class)
from kubelab.api.tables import selector_string as format_selector
from kubelab.api.quantity import Quantity, parse as parse_quantity
from kubelab.client import Client
from kubelab.kubectl import flags as fl
from kubelab.kubectl.gosort import go_sort
from kubelab.kubectl.command import Context, KubectlError, command, error, split_type_name, standard_message


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
MIRROR = "kubernetes.io/config.mirror"
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"
_MAX_ANNOTATION = 140


# -- Go text/tabwriter ------------------------------------------------------------------------
def tabwrite(text: str, minwidth: int = 0, padding: int = 2) -> str:
    """Align tab-separated cells exactly as Go's ``text/tabwriter`` does with a space pad."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(start: int, end: int) -> None:
        for cells in lines[start:end]:
            out.append("".join(cell + " " * (widths[j] - len(cell)) if j < len(widths) else cell
                               for j, cell in enumerate(cells)))

    def block(first: int, last: int) -> None:
        column = len(widths)
        this = first
        while this < last:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(first, this)
            first = this
            width = minwidth
            while this < last and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            block(first, this)
            widths.pop()
            first = this
        write(first, last)

    block(0, len(lines))
    return "\n".join(out)


class Writer:
    """kubectl's PrefixWriter: two spaces per level, the text collected for the tabwriter."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def w(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def raw(self) -> str:
        return "".join(self.parts)

    def text(self) -> str:
        return tabwrite(self.raw())


# -- small formatters shared with rollout and get ---------------------------------------------
def rfc1123z(value: str | None) -> str:
    """Go's ``time.RFC1123Z`` (``Mon, 02 Jan 2006 15:04:05 -0700``), in UTC."""
    at = parse_time(value)
    if at is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two pod templates are the same revision when they differ at most in pod-template-hash."""
    def strip(t: Mapping[str, Any]) -> Any:
        meta = dict(t.get("metadata") or {})
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
        meta["labels"] = labels or None
        meta = {k: v for k, v in meta.items() if v not in (None, {}, [])}
        return {**t, "metadata": meta}
    return _prune(strip(a)) == _prune(strip(b))


def _prune(value: Any) -> Any:
    """Drop empty values so ``{}`` and a missing field compare equal (Go's Semantic.DeepEqual
    on typed structs sees them as the same)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


# -- resource quantities (what describe sums and divides) -----------------------------------
def pod_requests_limits(pod: Mapping[str, Any]) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """Per resource, the pod's effective amount: sum over containers, max with each init
    container, plus overhead (kubectl's ``PodRequestsAndLimits``)."""
    spec = pod.get("spec") or {}

    def total(field: str) -> dict[str, Quantity]:
        acc: dict[str, Quantity] = {}
        for c in spec.get("containers") or ():
            for name, q in ((c.get("resources") or {}).get(field) or {}).items():
                acc[name] = acc[name] + parse_quantity(q) if name in acc else parse_quantity(q)
        for c in spec.get("initContainers") or ():
            for name, q in ((c.get("resources") or {}).get(field) or {}).items():
                value = parse_quantity(q)
                if name not in acc or value.value > acc[name].value:
                    acc[name] = value
        for name, q in (spec.get("overhead") or {}).items():
            acc[name] = acc[name] + parse_quantity(q) if name in acc else parse_quantity(q)
        return acc
    return total("requests"), total("limits")


# -- the pieces every describer shares --------------------------------------------------------
def labels_multiline(w: Writer, title: str, labels: Mapping[str, str] | None, indent: str = "") -> None:
    w.w(0, f"{indent}{title}:\t")
    if not labels:
        w.w(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.w(0, f"{indent}\t")
        w.w(0, f"{key}={labels[key]}\n")


def annotations_multiline(w: Writer, title: str, annotations: Mapping[str, str] | None) -> None:
    w.w(0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k != LAST_APPLIED)
    if not keys:
        w.w(0, "<none>\n")
        return
    for i, key in enumerate(keys):
        if i:
            w.w(0, "\t")
        value = str((annotations or {})[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > _MAX_ANNOTATION or "\n" in value:
            w.w(0, f"{key}:\n")
            for line in value.split("\n"):
                short = line if len(line) <= _MAX_ANNOTATION - 2 else line[:_MAX_ANNOTATION - 2] + "..."
                w.w(0, f"\t  {short}\n")
        else:
            w.w(0, f"{key}: {value}\n")


def tolerations_multiline(w: Writer, title: str, tolerations: list[Mapping[str, Any]] | None,
                          indent: str = "") -> None:
    w.w(0, f"{indent}{title}:\t")
    if not tolerations:
        w.w(0, "<none>\n")
        return
    for i, t in enumerate(sorted(tolerations, key=lambda t: t.get("key", ""))):
        if i:
            w.w(0, f"{indent}\t")
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        w.w(0, text + "\n")


def taints_multiline(w: Writer, taints: list[Mapping[str, Any]] | None) -> None:
    w.w(0, "Taints:\t")
    if not taints:
        w.w(0, "<none>\n")
        return
    ordered = sorted(taints, key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    for i, t in enumerate(ordered):
        if i:
            w.w(0, "\t")
        value = f"={t['value']}" if t.get("value") else ""
        w.w(0, f"{t.get('key', '')}{value}:{t.get('effect', '')}\n")


def describe_events(w: Writer, events: list[Obj], now: float) -> None:
    if not events:
        w.w(0, "Events:\t<none>\n")
        return
    # Flush: the events table is aligned on its own.
    w.parts = [tabwrite(w.raw())]
    w.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.w(1, "----\t------\t----\t----\t-------\n")

    def last_seen(e: Obj) -> float:
        series = e.get("series") or {}
        return parse_time(series.get("lastObservedTime") or e.get("lastTimestamp") or e.get("eventTime")) or 0.0

    for e in go_sort(events, lambda x, y: last_seen(x) < last_seen(y)):  # kubectl's sort.Sort
        first = e.get("eventTime") or e.get("firstTimestamp")
        first_since = since(first, now)
        series = e.get("series")
        if series:
            interval = f"{since(series.get('lastObservedTime'), now)} (x{series.get('count')} over {first_since})"
        elif (e.get("count") or 0) > 1:
            interval = f"{since(e.get('lastTimestamp'), now)} (x{e['count']} over {first_since})"
        else:
            interval = first_since
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
        w.w(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t{str(e.get('message', '')).strip()}\n")


def search_events(client: Client, obj: Mapping[str, Any], with_kind: bool = True) -> list[Obj]:
    """Events about ``obj``, found the way kubectl does (a field selector on involvedObject)."""
    meta = obj["metadata"]
    ns = meta.get("namespace") or ""
    terms = [f"involvedObject.name={meta['name']}"]
    if ns:
        terms.append(f"involvedObject.namespace={ns}")
    if with_kind:
        terms.append(f"involvedObject.kind={obj['kind']}")
    if meta.get("uid"):
        terms.append(f"involvedObject.uid={meta['uid']}")
    try:
        return client.list("Event", ns or None, field_selector=",".join(terms))["items"]
    except StatusError:
        return []


# -- containers and pod templates -------------------------------------------------------------
def _ports(ports: list[Mapping[str, Any]] | None, field: str) -> str:
    return ", ".join(f"{p.get(field, 0)}/{p.get('protocol', 'TCP')}" for p in ports or ())


def _state(w: Writer, name: str, state: Mapping[str, Any] | None) -> None:
    state = state or {}
    if "running" in state:
        w.w(2, f"{name}:\tRunning\n")
        w.w(3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif "waiting" in state:
        w.w(2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.w(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif "terminated" in state:
        t = state["terminated"]
        w.w(2, f"{name}:\tTerminated\n")
        if t.get("reason"):
            w.w(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.w(3, f"Message:\t{t['message']}\n")
        w.w(3, f"Exit Code:\t{t.get('exitCode', 0)}\n")
        if t.get("signal"):
            w.w(3, f"Signal:\t{t['signal']}\n")
        w.w(3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        w.w(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.w(2, f"{name}:\tWaiting\n")


def describe_probe(probe: Mapping[str, Any]) -> str:
    attrs = (f"delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
             f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
             f"#failure={probe.get('failureThreshold', 3)}")
    if "exec" in probe:
        return f"exec [{' '.join(probe['exec'].get('command') or [])}] {attrs}"
    if "httpGet" in probe:
        h = probe["httpGet"]
        scheme = str(h.get("scheme", "HTTP")).lower()
        host = h.get("host", "")
        port = h.get("port", "")
        hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return f"http-get {scheme}://{hostport}{h.get('path', '')} {attrs}"
    if "tcpSocket" in probe:
        t = probe["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{t.get('port', '')} {attrs}"
    if "grpc" in probe:
        g = probe["grpc"]
        return f"grpc <pod>:{g.get('port')} {g.get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _field_value(pod: Mapping[str, Any] | None, path: str) -> str:
    """A ``fieldRef`` env value as kubectl resolves it (client-go's ExtractFieldPathAsString):
    metadata only; ``spec.nodeName``, ``status.podIP`` and the like print empty."""
    if pod is None:
        return ""
    meta = pod.get("metadata") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f"{k}={json.dumps(values[k])}" for k in sorted(values))
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(path.split(".")[1], ""))
    return ""


def _env(w: Writer, container: Mapping[str, Any], pod: Mapping[str, Any] | None) -> None:
    if container.get("envFrom"):
        w.w(2, "Environment Variables from:\n")
        for e in container["envFrom"]:
            ref, source = (e["configMapRef"], "ConfigMap") if "configMapRef" in e else (e.get("secretRef") or {}, "Secret")
            optional = "true" if ref.get("optional") else "false"
            if e.get("prefix"):
                w.w(3, f"{ref.get('name', '')}\t{source} with prefix '{e['prefix']}'\tOptional: {optional}\n")
            else:
                w.w(3, f"{ref.get('name', '')}\t{source}\tOptional: {optional}\n")
    env = container.get("env") or []
    w.w(2, "Environment:" + ("\t<none>" if not env else "") + "\n")
    for e in env:
        source = e.get("valueFrom")
        if source is None:
            for i, line in enumerate(str(e.get("value", "")).split("\n")):
                w.w(3, f"{e['name']}:\t{line}\n" if i == 0 else f"\t{line}\n")
        elif "fieldRef" in source:
            ref = source["fieldRef"]
            value = _field_value(pod, ref.get("fieldPath", "")) if pod is not None else ""
            w.w(3, f"{e['name']}:\t{value} ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath', '')})\n")
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            resource = ref.get("resource", "")
            kind, _, name = resource.partition(".")
            value = ((container.get("resources") or {}).get(kind) or {}).get(name)
            text = str(value) if value is not None else ("node allocatable" if resource in ("limits.cpu", "limits.memory") else "0")
            w.w(3, f"{e['name']}:\t{text} ({resource})\n")
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            optional = "true" if ref.get("optional") else "false"
            w.w(3, f"{e['name']}:\t<set to the key '{ref.get('key', '')}' in secret '{ref.get('name', '')}'>\tOptional: {optional}\n")
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            optional = "true" if ref.get("optional") else "false"
            w.w(3, f"{e['name']}:\t<set to the key '{ref.get('key', '')}' of config map '{ref.get('name', '')}'>\tOptional: {optional}\n")


def describe_containers(w: Writer, label: str, containers: list[Mapping[str, Any]] | None,
                        statuses: list[Mapping[str, Any]] | None, pod: Mapping[str, Any] | None,
                        space: str = "") -> None:
    containers = containers or []
    by_name = {s["name"]: s for s in statuses or ()}
    w.w(0, f"{space}{label}:{' <none>' if not containers else ''}\n")
    for c in containers:
        status = by_name.get(c["name"])
        w.w(1, f"{' ' if space else ''}{c['name']}:\n")
        if status is not None:
            w.w(2, f"Container ID:\t{status.get('containerID', '')}\n")
        w.w(2, f"Image:\t{c.get('image', '')}\n")
        if status is not None:
            w.w(2, f"Image ID:\t{status.get('imageID', '')}\n")
        ports = _ports(c.get("ports"), "containerPort")
        w.w(2, f"Ports:\t{ports}\n" if "," in ports else f"Port:\t{ports or '<none>'}\n")
        host_ports = _ports(c.get("ports"), "hostPort")
        w.w(2, f"Host Ports:\t{host_ports}\n" if "," in host_ports else f"Host Port:\t{host_ports or '<none>'}\n")
        for title, field in (("Command", "command"), ("Args", "args")):
            if c.get(field):
                w.w(2, f"{title}:\n")
                for item in c[field]:
                    for line in str(item).split("\n"):
                        w.w(3, f"{line}\n")
        if status is not None:
            _state(w, "State", status.get("state"))
            if (status.get("lastState") or {}).get("terminated"):
                _state(w, "Last State", status["lastState"])
            w.w(2, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
            w.w(2, f"Restart Count:\t{status.get('restartCount', 0)}\n")
        resources = c.get("resources") or {}
        for title in ("limits", "requests"):
            if resources.get(title):
                w.w(2, f"{title.capitalize()}:\n")
                for name in sorted(resources[title]):
                    w.w(3, f"{name}:\t{resources[title][name]}\n")
        for title, field in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
            if c.get(field):
                w.w(2, f"{title}:\t{describe_probe(c[field])}\n")
        _env(w, c, pod)
        mounts = c.get("volumeMounts") or []
        w.w(2, "Mounts:" + ("\t<none>" if not mounts else "") + "\n")
        for m in sorted(mounts, key=lambda m: m.get("mountPath", "")):
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.w(3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({','.join(flags)})\n")


def _optional(source: Mapping[str, Any]) -> str:
    value = source.get("optional")
    return "<nil>" if value is None else str(bool(value)).lower()


def describe_volumes(w: Writer, volumes: list[Mapping[str, Any]] | None, space: str = "") -> None:
    if not volumes:
        w.w(0, f"{space}Volumes:\t<none>\n")
        return
    w.w(0, f"{space}Volumes:\n")
    for v in volumes:
        w.w(1, f"{' ' if space else ''}{v['name']}:\n")
        if "hostPath" in v:
            h = v["hostPath"]
            w.w(2, f"Type:\tHostPath (bare host directory volume)\n    Path:\t{h.get('path', '')}\n"
                   f"    HostPathType:\t{h.get('type', '<none>')}\n")
        elif "emptyDir" in v:
            e = v["emptyDir"] or {}
            w.w(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                   f"    Medium:\t{e.get('medium', '')}\n    SizeLimit:\t{e.get('sizeLimit') or '<unset>'}\n")
        elif "secret" in v:
            s = v["secret"]
            w.w(2, f"Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{s.get('secretName', '')}\n"
                   f"    Optional:\t{'true' if s.get('optional') else 'false'}\n")
        elif "configMap" in v:
            c = v["configMap"]
            w.w(2, f"Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{c.get('name', '')}\n"
                   f"    Optional:\t{'true' if c.get('optional') else 'false'}\n")
        elif "persistentVolumeClaim" in v:
            p = v["persistentVolumeClaim"]
            w.w(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"
                   f"    ClaimName:\t{p.get('claimName', '')}\n    ReadOnly:\t{'true' if p.get('readOnly') else 'false'}\n")
        elif "projected" in v:
            w.w(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
            for source in v["projected"].get("sources") or ():
                # kubectl prints the *bool itself: <nil> when unset
                if "secret" in source:
                    w.w(2, f"SecretName:\t{source['secret'].get('name', '')}\n"
                           f"    SecretOptionalName:\t{_optional(source['secret'])}\n")
                elif "downwardAPI" in source:
                    w.w(2, "DownwardAPI:\ttrue\n")
                elif "configMap" in source:
                    w.w(2, f"ConfigMapName:\t{source['configMap'].get('name', '')}\n"
                           f"    ConfigMapOptional:\t{_optional(source['configMap'])}\n")
                elif "serviceAccountToken" in source:
                    w.w(2, f"TokenExpirationSeconds:\t{source['serviceAccountToken'].get('expirationSeconds', 3600)}\n")
        elif "downwardAPI" in v:
            w.w(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
            for item in v["downwardAPI"].get("items") or ():
                if "fieldRef" in item:
                    w.w(3, f"{item['fieldRef'].get('fieldPath', '')} -> {item.get('path', '')}\n")
                if "resourceFieldRef" in item:
                    w.w(3, f"{item['resourceFieldRef'].get('resource', '')} -> {item.get('path', '')}\n")
        else:
            w.w(1, "<unknown>\n")


def describe_pod_template(w: Writer, template: Mapping[str, Any] | None) -> None:
    """``DescribePodTemplate``: shared by ReplicaSet, Deployment and ``rollout history``."""
    w.w(0, "Pod Template:\n")
    if template is None:
        w.w(1, "<unset>")
        return
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        annotations_multiline(w, "  Annotations", meta["annotations"])
    if spec.get("serviceAccountName"):
        w.w(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], None, None, "  ")
    describe_containers(w, "Containers", spec.get("containers"), None, None, "  ")
    describe_volumes(w, spec.get("volumes"), "  ")
    if spec.get("priorityClassName"):
        w.w(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "  Tolerations", spec.get("tolerations"))


def qos_class(pod: Mapping[str, Any]) -> str:
    """The pod's QoS class: the one the kubelet recorded, else computed like ``GetPodQOS``."""
    return (pod.get("status") or {}).get("qosClass") or computed_qos(dict(pod))


# -- the describers ---------------------------------------------------------------------------
def _header(w: Writer, obj: Mapping[str, Any], namespaced: bool = True) -> None:
    meta = obj["metadata"]
    w.w(0, f"Name:\t{meta['name']}\n")
    if namespaced:
        w.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")


def describe_pod(client: Client, pod: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    _header(w, pod)
    if spec.get("priority") is not None:
        w.w(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("priorityClassName"):
        w.w(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.w(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.w(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    w.w(0, f"Node:\t{spec['nodeName']}/{status.get('hostIP', '')}\n" if spec.get("nodeName") else "Node:\t<none>\n")
    if status.get("startTime"):
        w.w(0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.w(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
        w.w(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 30)}s\n")
    else:
        w.w(0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.w(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.w(0, f"Message:\t{status['message']}\n")
    seccomp = (spec.get("securityContext") or {}).get("seccompProfile")
    if seccomp is not None:
        w.w(0, f"SeccompProfile:\t{seccomp.get('type', '')}\n")
        if seccomp.get("type") == "Localhost":
            w.w(0, f"LocalhostProfile:\t{seccomp.get('localhostProfile', '')}\n")
    w.w(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or []
    if not ips:
        w.w(0, "IPs:\t<none>\n")
    else:
        w.w(0, "IPs:\n")
        for ip in ips:
            w.w(1, f"IP:\t{ip.get('ip', '')}\n")
    ref = controller_of(pod)
    if ref:
        w.w(0, f"Controlled By:\t{ref['kind']}/{ref['name']}\n")
    if status.get("nominatedNodeName"):
        w.w(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], status.get("initContainerStatuses"), pod)
    describe_containers(w, "Containers", spec.get("containers"), status.get("containerStatuses"), pod)
    if spec.get("readinessGates"):
        w.w(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in spec["readinessGates"]:
            found = next((c["status"] for c in status.get("conditions") or () if c.get("type") == gate.get("conditionType")), "<none>")
            w.w(1, f"{gate.get('conditionType')} \t{found} \n")
    if status.get("conditions"):
        w.w(0, "Conditions:\n  Type\tStatus\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type')} \t{c.get('status')} \n")
    describe_volumes(w, spec.get("volumes"))
    w.w(0, f"QoS Class:\t{qos_class(pod)}\n")
    labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    if show_events:
        mirror = (meta.get("annotations") or {}).get(MIRROR)
        about = pod if mirror is None else {**pod, "metadata": {**meta, "uid": mirror}}
        describe_events(w, search_events(client, about, with_kind=False), now)
    return w.text()


def _pod_counts(client: Client, obj: Obj) -> tuple[int, int, int, int]:
    """Running / Waiting / Succeeded / Failed pods that ``obj`` controls (by uid)."""
    raw = (obj.get("spec") or {}).get("selector")
    selector = format_labels(raw) if obj["kind"] == "ReplicationController" else format_selector(raw)
    pods = client.list("Pod", obj["metadata"].get("namespace"), label_selector=selector or None)["items"]
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for pod in pods:
        ref = controller_of(pod)
        if ref is None or ref.get("uid") != obj["metadata"].get("uid"):
            continue
        phase = (pod.get("status") or {}).get("phase")
        if phase in counts:
            counts[phase] += 1
    return counts["Running"], counts["Pending"], counts["Succeeded"], counts["Failed"]


def describe_replicaset(client: Client, rs: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec = rs["metadata"], rs.get("spec") or {}
    _header(w, rs)
    w.w(0, f"Selector:\t{format_selector(spec.get('selector')) or '<none>'}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    ref = controller_of(rs)
    if ref:
        w.w(0, f"Controlled By:\t{ref['kind']}/{ref['name']}\n")
    return _replicas_and_pods(w, client, rs, now, show_events)


def describe_replicationcontroller(client: Client, rc: Obj, now: float, show_events: bool = True) -> str:
    """describeReplicationController: like a ReplicaSet's, with a label-map selector and no
    Controlled By line."""
    w = Writer()
    meta, spec = rc["metadata"], rc.get("spec") or {}
    _header(w, rc)
    w.w(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    return _replicas_and_pods(w, client, rc, now, show_events)


def _replicas_and_pods(w: Writer, client: Client, obj: Obj, now: float, show_events: bool) -> str:
    """What describe prints of a ReplicaSet and a ReplicationController alike after their
    labels: replicas, pod counts, the pod template, conditions and events."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    w.w(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired\n")
    running, waiting, succeeded, failed = _pod_counts(client, obj)
    w.w(0, f"Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n")
    describe_pod_template(w, spec.get("template"))
    if status.get("conditions"):
        w.w(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.w(1, "----\t------\t------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")
    if show_events:
        describe_events(w, search_events(client, obj), now)
    return w.text()


def deployment_replicasets(client: Client, deploy: Obj) -> tuple[list[Obj], Obj | None]:
    """(all old ReplicaSets, the new one) of a Deployment, oldest first, the way kubectl's
    ``deploymentutil.GetAllReplicaSets`` finds them: controlled by it, new = same template."""
    uid = deploy["metadata"].get("uid")
    found = client.list("ReplicaSet", deploy["metadata"].get("namespace"))["items"]
    owned = [rs for rs in found if (controller_of(rs) or {}).get("uid") == uid]
    owned.sort(key=lambda rs: (parse_time(rs["metadata"].get("creationTimestamp")) or 0, rs["metadata"]["name"]))
    template = (deploy.get("spec") or {}).get("template") or {}
    new = next((rs for rs in owned if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template)), None)
    return [rs for rs in owned if rs is not new], new


def _rs_summary(sets: Iterable[Obj]) -> str:
    text = ", ".join(f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/"
                     f"{(rs.get('spec') or {}).get('replicas', 1)} replicas created)" for rs in sets)
    return text or "<none>"


def describe_deployment(client: Client, deploy: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = deploy["metadata"], deploy.get("spec") or {}, deploy.get("status") or {}
    _header(w, deploy)
    w.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Selector:\t{format_selector(spec.get('selector'))}\n")
    w.w(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
           f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
           f"{status.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.w(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.w(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    if strategy.get("rollingUpdate") is not None:
        ru = strategy["rollingUpdate"]
        w.w(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', 0)} max unavailable, {ru.get('maxSurge', 0)} max surge\n")
    describe_pod_template(w, spec.get("template"))
    if status.get("conditions"):
        w.w(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.w(1, "----\t------\t------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")
    old, new = deployment_replicasets(client, deploy)
    # kubectl 1.32 lists every old set, scaled to 0 or not (checked against the binary), oldest first
    w.w(0, f"OldReplicaSets:\t{_rs_summary(old)}\n")
    w.w(0, f"NewReplicaSet:\t{_rs_summary([new] if new else [])}\n")
    if show_events:
        describe_events(w, search_events(client, deploy), now)
    return w.text()


def describe_job(client: Client, job: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = job["metadata"], job.get("spec") or {}, job.get("status") or {}
    _header(w, job)
    w.w(0, f"Selector:\t{format_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    ref = controller_of(job)
    if ref:
        w.w(0, f"Controlled By:\t{ref['kind']}/{ref['name']}\n")
    if spec.get("parallelism") is not None:
        w.w(0, f"Parallelism:\t{spec['parallelism']}\n")
    w.w(0, f"Completions:\t{spec['completions'] if spec.get('completions') is not None else '<unset>'}\n")
    if spec.get("completionMode"):
        w.w(0, f"Completion Mode:\t{spec['completionMode']}\n")
    if spec.get("suspend") is not None:
        w.w(0, f"Suspend:\t{'true' if spec['suspend'] else 'false'}\n")
    if spec.get("backoffLimit") is not None:
        w.w(0, f"Backoff Limit:\t{spec['backoffLimit']}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.w(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}\n")
    if status.get("startTime"):
        w.w(0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    if status.get("completionTime"):
        w.w(0, f"Completed At:\t{rfc1123z(status['completionTime'])}\n")
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if start is not None and end is not None:
        w.w(0, f"Duration:\t{human_duration(end - start)}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        w.w(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s\n")
    counts = f"{status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} Failed"
    if status.get("ready") is None:
        w.w(0, f"Pods Statuses:\t{status.get('active', 0)} Active / {counts}\n")
    else:
        w.w(0, f"Pods Statuses:\t{status.get('active', 0)} Active ({status['ready']} Ready) / {counts}\n")
    if spec.get("completionMode") == "Indexed":
        w.w(0, f"Completed Indexes:\t{_cap_indexes(status.get('completedIndexes') or '', 50)}\n")
    describe_pod_template(w, spec.get("template"))
    if show_events:
        describe_events(w, search_events(client, job), now)
    return w.text()


def _cap_indexes(indexes: str, soft_limit: int) -> str:
    """capIndexesListOrNone: cut a long index list after the first comma past ``soft_limit``."""
    if not indexes:
        return "<none>"
    cut = indexes.find(",", soft_limit)
    return indexes if cut < 0 or soft_limit >= len(indexes) else indexes[:cut + 1] + "..."


def describe_cronjob(client: Client, cj: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = cj["metadata"], cj.get("spec") or {}, cj.get("status") or {}
    _header(w, cj)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Schedule:\t{spec.get('schedule', '')}\n")
    w.w(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', '')}\n")
    suspend = spec.get("suspend")
    w.w(0, f"Suspend:\t{'<unset>' if suspend is None else ('True' if suspend else 'False')}\n")
    for label, field in (("Successful Job History Limit", "successfulJobsHistoryLimit"),
                         ("Failed Job History Limit", "failedJobsHistoryLimit")):
        w.w(0, f"{label}:\t{spec[field] if spec.get(field) is not None else '<unset>'}\n")
    deadline = spec.get("startingDeadlineSeconds")
    w.w(0, f"Starting Deadline Seconds:\t{f'{deadline}s' if deadline is not None else '<unset>'}\n")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    w.w(0, f"Selector:\t{format_selector(job_spec['selector']) if job_spec.get('selector') else '<unset>'}\n")
    for label, field in (("Parallelism", "parallelism"), ("Completions", "completions")):
        w.w(0, f"{label}:\t{job_spec[field] if job_spec.get(field) is not None else '<unset>'}\n")
    if job_spec.get("activeDeadlineSeconds") is not None:
        w.w(0, f"Active Deadline Seconds:\t{job_spec['activeDeadlineSeconds']}s\n")
    describe_pod_template(w, job_spec.get("template"))
    last = status.get("lastScheduleTime")
    w.w(0, f"Last Schedule Time:\t{rfc1123z(last) if last else '<unset>'}\n")
    active = [ref.get("name", "") for ref in status.get("active") or ()]
    w.w(0, f"Active Jobs:\t{', '.join(active) if active else '<none>'}\n")
    if show_events:
        describe_events(w, search_events(client, cj), now)
    return w.text()


def describe_statefulset(client: Client, sts: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = sts["metadata"], sts.get("spec") or {}, sts.get("status") or {}
    _header(w, sts)
    w.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    w.w(0, f"Selector:\t{format_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total\n")
    strategy = spec.get("updateStrategy") or {}
    w.w(0, f"Update Strategy:\t{strategy.get('type', '')}\n")
    rolling = strategy.get("rollingUpdate")
    if rolling is not None and rolling.get("partition") is not None:
        w.w(1, f"Partition:\t{rolling['partition']}\n")
        if rolling.get("maxUnavailable") is not None:
            w.w(1, f"MaxUnavailable:\t{rolling['maxUnavailable']}\n")
    running, waiting, succeeded, failed = _pod_counts(client, sts)
    w.w(0, f"Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n")
    describe_pod_template(w, spec.get("template"))
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        w.w(0, "Volume Claims:\t<none>\n")
    else:
        w.w(0, "Volume Claims:\n")
        for pvc in claims:
            pmeta, pspec = pvc.get("metadata") or {}, pvc.get("spec") or {}
            w.w(1, f"Name:\t{pmeta.get('name', '')}\n")
            w.w(1, f"StorageClass:\t{pspec.get('storageClassName', '')}\n")
            labels_multiline(w, "  Labels", pmeta.get("labels"))
            labels_multiline(w, "  Annotations", pmeta.get("annotations"))
            capacity = ((pspec.get("resources") or {}).get("requests") or {}).get("storage")
            w.w(1, f"Capacity:\t{capacity or '<default>'}\n")
            w.w(1, f"Access Modes:\t[{' '.join(pspec.get('accessModes') or [])}]\n")
    if show_events:
        describe_events(w, search_events(client, sts), now)
    return w.text()


def describe_daemonset(client: Client, ds: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = ds["metadata"], ds.get("spec") or {}, ds.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    w.w(0, f"Selector:\t{format_selector(spec.get('selector'))}\n")
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    w.w(0, f"Node-Selector:\t{format_labels(node_selector)}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    for text, field in (("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
                        ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
                        ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
                        ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
                        ("Number of Nodes Misscheduled", "numberMisscheduled")):
        w.w(0, f"{text}: {status.get(field, 0)}\n")
    running, waiting, succeeded, failed = _pod_counts(client, ds)
    w.w(0, f"Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n")
    describe_pod_template(w, spec.get("template"))
    if show_events:
        describe_events(w, search_events(client, ds), now)
    return w.text()


def describe_serviceaccount(client: Client, sa: Obj, now: float, show_events: bool = True) -> str:
    """Pull secrets, mountable secrets (marked when missing) and the token Secrets that name
    this account and carry its uid, under headers in sorted order as kubectl prints them."""
    w = Writer()
    meta = sa["metadata"]
    _header(w, sa)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    tokens: list[str] = []
    missing: set[str] = set()
    try:
        secrets = client.list("Secret", meta.get("namespace"))["items"]
    except StatusError:
        secrets = None
    if secrets is not None:
        for s in secrets:
            notes = s["metadata"].get("annotations") or {}
            if s.get("type") == "kubernetes.io/service-account-token" and notes.get(SA_NAME) == meta["name"] \
                    and notes.get(SA_UID, "") == meta.get("uid", ""):
                tokens.append(s["metadata"]["name"])
        existing = {s["metadata"]["name"] for s in secrets}
        missing = {r.get("name", "") for r in sa.get("secrets") or ()} - existing
    for header, names in (("Image pull secrets:", [r.get("name", "") for r in sa.get("imagePullSecrets") or ()]),
                          ("Mountable secrets: ", [r.get("name", "") for r in sa.get("secrets") or ()]),
                          ("Tokens:            ", tokens)):
        if not names:
            w.w(0, f"{header}\t<none>\n")
        for i, name in enumerate(names):
            w.w(0, f"{header if i == 0 else ' ' * 19}\t{name}{' (not found)' if name in missing else ''}\n")
    if show_events:
        describe_events(w, search_events(client, sa), now)
    return w.text()


def format_endpoints(endpoints: Mapping[str, Any] | None, port_name: str | None) -> str:
    """``ip:port`` of ready addresses for one service port, three at most then ``+ N more...``."""
    if not endpoints or not endpoints.get("subsets"):
        return "<none>"
    shown: list[str] = []
    count, limit, more = 0, 3, False
    for subset in endpoints["subsets"]:
        addresses = subset.get("addresses") or []
        if not subset.get("ports"):
            count += len(addresses)
            for a in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(a["ip"])
            continue
        for port in subset["ports"]:
            if port_name is None or port.get("name", "") == port_name:
                count += len(addresses)
                for a in addresses:
                    if len(shown) == limit:
                        more = True
                        break
                    ip = a["ip"]
                    shown.append(f"[{ip}]:{port['port']}" if ":" in ip else f"{ip}:{port['port']}")
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def describe_service(client: Client, svc: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = svc["metadata"], svc.get("spec") or {}, svc.get("status") or {}
    try:
        endpoints = client.get("Endpoints", meta["name"], meta.get("namespace"))
    except StatusError:
        endpoints = None
    _header(w, svc)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    w.w(0, f"Selector:\t{selector or '<none>'}\n")
    w.w(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.w(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.w(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    w.w(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    w.w(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.w(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.w(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.w(0, f"External Name:\t{spec['externalName']}\n")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.w(0, f"LoadBalancer Ingress:\t{', '.join(i.get('ip') or i.get('hostname', '') for i in ingress)}\n")
    for port in spec.get("ports") or ():
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        w.w(0, f"Port:\t{name}\t{port.get('port')}/{protocol}\n")
        w.w(0, f"TargetPort:\t{port.get('targetPort', port.get('port'))}/{protocol}\n")
        if port.get("nodePort"):
            w.w(0, f"NodePort:\t{name}\t{port['nodePort']}/{protocol}\n")
        w.w(0, f"Endpoints:\t{format_endpoints(endpoints, port.get('name', ''))}\n")
    w.w(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}\n")
    if spec.get("externalTrafficPolicy"):
        w.w(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.w(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.w(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.w(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    if show_events:
        describe_events(w, search_events(client, svc), now)
    return w.text()


def _format_slices(slices: list[Obj], port_name: str) -> str:
    """``ip:port`` of a Service port's endpoints across its EndpointSlices, three at most then
    ``+ N more...`` (formatEndpointSlices); ``<none>`` without slices."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    count = 0
    for es in slices:
        endpoints = [e for e in es.get("endpoints") or () if e.get("addresses")]
        for port in es.get("ports") or [None]:
            if port is not None and (port.get("name") or "") != port_name:
                continue
            for e in endpoints:
                count += 1
                if len(shown) < 3:
                    ip = e["addresses"][0]
                    shown.append(ip if port is None else (f"[{ip}]:{port.get('port')}" if ":" in ip
                                                          else f"{ip}:{port.get('port')}"))
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _ingress_backend(client: Client, namespace: str, backend: Mapping[str, Any]) -> str:
    """``svc:port (endpoints)`` or the resource reference (describeBackendV1)."""
    service = backend.get("service")
    if service is not None:
        port = service.get("port") or {}
        name = service.get("name", "")
        shown = f"{name}:{port.get('number') or port.get('name', '')}"
        try:
            slices = client.list("EndpointSlice", namespace, label_selector=f"kubernetes.io/service-name={name}")["items"]
            svc = client.get("Service", name, namespace)
        except StatusError as e:
            return f"{shown} (<error: {e.message}>)"
        port_name = ""
        for sp in (svc.get("spec") or {}).get("ports") or ():
            if (port.get("number") and port["number"] == sp.get("port")) or (
                    port.get("name") and port["name"] == sp.get("name")):
                port_name = sp.get("name", "")
        return f"{shown} ({_format_slices(slices, port_name)})"
    resource = backend.get("resource")
    if resource is not None:
        return (f"APIGroup: {resource.get('apiGroup') or '<none>'}, Kind: {resource.get('kind', '')}, "
                f"Name: {resource.get('name', '')}")
    return ""


def describe_ingress(client: Client, ing: Obj, now: float, show_events: bool = True) -> str:
    """Mirrors describeIngressV1 in describe.go."""
    w = Writer()
    meta, spec = ing["metadata"], ing.get("spec") or {}
    namespace = meta.get("namespace", "")
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    w.w(0, f"Namespace:\t{namespace}\n")
    w.w(0, f"Address:\t{ingress_address(ing)}\n")
    w.w(0, f"Ingress Class:\t{spec.get('ingressClassName') or '<none>'}\n")
    default = "<default>"
    if spec.get("defaultBackend") is not None:
        default = _ingress_backend(client, namespace, spec["defaultBackend"])
    w.w(0, f"Default backend:\t{default}\n")
    if spec.get("tls"):
        w.w(0, "TLS:\n")
        for tls in spec["tls"]:
            hosts = ",".join(tls.get("hosts") or ())
            if tls.get("secretName"):
                w.w(1, f"{tls['secretName']} terminates {hosts}\n")
            else:
                w.w(1, f"SNI routes {hosts}\n")
    w.w(0, "Rules:\n  Host\tPath\tBackends\n")
    w.w(1, "----\t----\t--------\n")
    count = 0
    for rule in spec.get("rules") or ():
        if rule.get("http") is None:
            continue
        count += 1
        w.w(1, f"{rule.get('host') or '*'}\t\n")
        for path in rule["http"].get("paths") or ():
            w.w(2, f"\t{path.get('path', '')} \t{_ingress_backend(client, namespace, path.get('backend') or {})}\n")
    if count == 0:
        w.w(1, f"*\t*\t{default}\n")
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    if show_events:
        describe_events(w, search_events(client, ing), now)
    return w.text()


def describe_ingressclass(client: Client, ic: Obj, now: float, show_events: bool = True) -> str:
    """Mirrors IngressClassDescriber in describe.go."""
    w = Writer()
    meta, spec = ic["metadata"], ic.get("spec") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Controller:\t{spec.get('controller', '')}\n")
    params = spec.get("parameters")
    if params:
        w.w(0, "Parameters:\n")
        if params.get("apiGroup"):
            w.w(1, f"APIGroup:\t{params['apiGroup']}\n")
        w.w(1, f"Kind:\t{params.get('kind', '')}\n")
        w.w(1, f"Name:\t{params.get('name', '')}\n")
        if params.get("namespace"):
            w.w(1, f"Namespace:\t{params['namespace']}\n")
        if params.get("scope"):
            w.w(1, f"Scope:\t{params['scope']}\n")
    if show_events:
        describe_events(w, search_events(client, ic), now)
    return w.text()


def describe_priorityclass(client: Client, pc: Obj, now: float, show_events: bool = True) -> str:
    """Mirrors describePriorityClass in describe.go (annotations on one line, as FormatLabels)."""
    w = Writer()
    w.w(0, f"Name:\t{pc['metadata']['name']}\n")
    w.w(0, f"Value:\t{pc.get('value', 0)}\n")
    w.w(0, f"GlobalDefault:\t{'true' if pc.get('globalDefault') else 'false'}\n")
    w.w(0, f"PreemptionPolicy:\t{pc.get('preemptionPolicy', '')}\n")
    w.w(0, f"Description:\t{pc.get('description', '')}\n")
    w.w(0, f"Annotations:\t{format_labels(pc['metadata'].get('annotations'))}\n")
    if show_events:
        describe_events(w, search_events(client, pc), now)
    return w.text()


def _policy_ports(w: Writer, ports: list[Mapping[str, Any]] | None, indent: str) -> None:
    if not ports:
        w.w(0, f"{indent}To Port: <any> (traffic allowed to all ports)\n")
        return
    for port in ports:
        proto = port.get("protocol") or "TCP"
        if port.get("port") is None:
            w.w(0, f"{indent}To Port: <nil>/{proto}\n")  # Go prints the nil *IntOrString
        elif port.get("endPort") is not None:
            w.w(0, f"{indent}To Port Range: {port['port']}-{port['endPort']}/{proto}\n")
        else:
            w.w(0, f"{indent}To Port: {port['port']}/{proto}\n")


def _policy_peers(w: Writer, peers: list[Mapping[str, Any]] | None, indent: str, word: str, anyone: str) -> None:
    if not peers:
        w.w(0, f"{indent}{word}: <any> ({anyone})\n")
        return
    for peer in peers:
        w.w(0, f"{indent}{word}:\n")
        pods, namespaces, block = peer.get("podSelector"), peer.get("namespaceSelector"), peer.get("ipBlock")
        if namespaces is not None:
            w.w(0, f"{indent}  NamespaceSelector: {format_selector(namespaces) or '<none>'}\n")
        if pods is not None:
            w.w(0, f"{indent}  PodSelector: {format_selector(pods) or '<none>'}\n")
        if pods is None and namespaces is None and block is not None:
            w.w(0, f"{indent}  IPBlock:\n{indent}    CIDR: {block.get('cidr', '')}\n")
            w.w(0, f"{indent}    Except: {', '.join(block.get('except') or ())}\n")


def describe_networkpolicy(client: Client, np: Obj, now: float, show_events: bool = True) -> str:
    """Mirrors describeNetworkPolicy in describe.go (it prints no events)."""
    w = Writer()
    meta, spec = np["metadata"], np.get("spec") or {}
    _header(w, np)
    created = parse_time(meta.get("creationTimestamp"))
    stamp = datetime.fromtimestamp(created or 0, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
    w.w(0, f"Created on:\t{stamp}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, "Spec:\n")
    selector = format_selector(spec.get("podSelector")) or ""
    w.w(1, "PodSelector:     " + (f"{selector}\n" if selector else
                                  "<none> (Allowing the specific traffic to all pods in this namespace)\n"))
    types = spec.get("policyTypes") or []
    for kind, key, word, anyone in (("Ingress", "ingress", "From", "traffic not restricted by source"),
                                    ("Egress", "egress", "To", "traffic not restricted by destination")):
        if kind not in types:
            w.w(1, f"Not affecting {key} traffic\n")
            continue
        w.w(1, f"Allowing {key} traffic:\n")
        rules = spec.get(key) or []
        if not rules:
            w.w(2, f"<none> (Selected pods are isolated for {key} connectivity)\n")
        for i, rule in enumerate(rules):
            _policy_ports(w, rule.get("ports"), "    ")
            _policy_peers(w, rule.get("from" if key == "ingress" else "to"), "    ", word, anyone)
            if i != len(rules) - 1:
                w.w(2, "----------\n")
    w.w(1, f"Policy Types: {', '.join(types)}\n")
    return w.text()


def describe_endpoints(client: Client, ep: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta = ep["metadata"]
    _header(w, ep)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, "Subsets:\n")
    for subset in ep.get("subsets") or ():
        ready = ",".join(a["ip"] for a in subset.get("addresses") or ())
        not_ready = ",".join(a["ip"] for a in subset.get("notReadyAddresses") or ())
        w.w(1, f"Addresses:\t{ready or '<none>'}\n")
        w.w(1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        if subset.get("ports"):
            w.w(1, "Ports:\n")
            w.w(2, "Name\tPort\tProtocol\n")
            w.w(2, "----\t----\t--------\n")
            for port in subset["ports"]:
                w.w(2, f"{port.get('name') or '<unset>'}\t{port.get('port')}\t{port.get('protocol', 'TCP')}\n")
        w.w(0, "\n")
    if show_events:
        describe_events(w, search_events(client, ep), now)
    return w.text()


def describe_configmap(client: Client, cm: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta = cm["metadata"]
    _header(w, cm)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, "\nData\n====\n")
    for key, value in sorted((cm.get("data") or {}).items()):
        w.w(0, f"{key}:\n----\n")
        w.w(0, f"{value}\n")
        w.w(0, "\n")
    w.w(0, "\nBinaryData\n====\n")
    import base64

    for key, value in sorted((cm.get("binaryData") or {}).items()):
        w.w(0, f"{key}: {len(base64.b64decode(value))} bytes\n")
    w.w(0, "\n")
    if show_events:
        describe_events(w, search_events(client, cm), now)
    return w.text()


def describe_secret(client: Client, secret: Obj, now: float, show_events: bool = True) -> str:
    import base64

    w = Writer()
    meta = secret["metadata"]
    _header(w, secret)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"\nType:\t{secret.get('type', 'Opaque')}\n")
    w.w(0, "\nData\n====\n")
    for key, value in sorted((secret.get("data") or {}).items()):
        raw = base64.b64decode(value or "")
        if key == "token" and secret.get("type") == "kubernetes.io/service-account-token":
            w.w(0, f"{key}:\t{raw.decode(errors='replace')}\n")
        else:
            w.w(0, f"{key}:\t{len(raw)} bytes\n")
    return w.text()


def describe_namespace(client: Client, ns: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, status = ns["metadata"], ns.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Status:\t{status.get('phase', '')}\n")
    if status.get("conditions"):
        w.w(0, "Conditions:\n")
        w.w(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.w(1, "----\t------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type')}\t{c.get('status')}\t{rfc1123z(c.get('lastTransitionTime'))}\t"
                   f"{c.get('reason', '')}\t{c.get('message', '')}\n")
    w.w(0, "\n")
    quotas = _optional_list(client, "ResourceQuota", meta["name"])
    if not quotas:
        w.w(0, "No resource quota.\n")
    else:
        w.w(0, "Resource Quotas\n")
        for q in sorted(quotas, key=lambda q: q["metadata"]["name"]):
            w.w(1, f"Name:\t{q['metadata']['name']}\n")
            scopes = sorted((q.get("spec") or {}).get("scopes") or [])
            if scopes:
                w.w(1, f"Scopes:\t{', '.join(scopes)}\n")
                for scope in scopes:
                    if scope in _SCOPE_HELP:
                        w.w(1, f"* {_SCOPE_HELP[scope]}\n")
            w.w(1, "Resource\tUsed\tHard\n")
            w.w(1, "--------\t---\t---\n")
            hard = (q.get("status") or {}).get("hard") or {}
            used = (q.get("status") or {}).get("used") or {}
            for name in sorted(hard):
                w.w(1, f"{name}\t{used.get(name, '0')}\t{hard[name]}\n")
    w.w(0, "\n")
    ranges = _optional_list(client, "LimitRange", meta["name"])
    if not ranges:
        w.w(0, "No LimitRange resource.\n")
    else:
        w.w(0, "Resource Limits\n")
        for r in ranges:
            _limit_range_table(w, r, " ")
    return w.text()


def _limit_range_table(w: Writer, limit_range: Obj, prefix: str) -> None:
    """describeLimitRangeSpec: one row per item and resource, ``-`` where a value is unset.
    kubectl walks each item's resources in Go map order (random); kubelab sorts them."""
    w.w(0, f"{prefix}Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
    w.w(0, f"{prefix}----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
    fields = ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        names = sorted(set().union(*((item.get(f) or {}) for f in fields)))
        for name in names:
            cells = [str(parse_quantity((item.get(f) or {})[name])) if name in (item.get(f) or {}) else "-"
                     for f in fields]
            w.w(0, f"{prefix}{item.get('type', '')}\t{name}\t" + "\t".join(cells) + "\n")


def describe_resourcequota(client: Client, quota: Obj, now: float, show_events: bool = True) -> str:
    """describeQuota: the scopes, then each hard resource (sorted) with its use; kubectl shows
    no events for it. A used amount prints in the hard amount's format (NewQuantity)."""
    w = Writer()
    meta, spec, status = quota["metadata"], quota.get("spec") or {}, quota.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    w.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("scopes"):
        w.w(0, f"Scopes:\t{', '.join(sorted(spec['scopes']))}\n")
        for scope in sorted(spec["scopes"]):
            if scope in _SCOPE_HELP:
                w.w(0, f" * {_SCOPE_HELP[scope]}\n")
    w.w(0, "Resource\tUsed\tHard\n")
    w.w(0, "--------\t----\t----\n")
    hard, used = status.get("hard") or {}, status.get("used") or {}
    for name in sorted(hard):
        h, u = parse_quantity(hard[name]), parse_quantity(used.get(name, "0"))
        if h.format != u.format:
            u = Quantity(Fraction(u.whole()), h.format)
        w.w(0, f"{name}\t{u}\t{h}\n")
    return w.text()


_SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited lifespan on a node "
                   "before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods usually include long "
                      "running pods whose container command is not expected to terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods have a best effort "
                  "quality of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. These pods have a "
                     "burstable or guaranteed quality of service.",
}


def describe_poddisruptionbudget(client: Client, pdb: Obj, now: float, show_events: bool = True) -> str:
    """describePodDisruptionBudgetV1: the bound the spec sets, the selector, the status counts."""
    w = Writer()
    meta, spec, status = pdb["metadata"], pdb.get("spec") or {}, pdb.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    w.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("minAvailable") is not None:
        w.w(0, f"Min available:\t{spec['minAvailable']}\n")
    elif spec.get("maxUnavailable") is not None:
        w.w(0, f"Max unavailable:\t{spec['maxUnavailable']}\n")
    selector = spec.get("selector")
    w.w(0, f"Selector:\t{format_label_selector(selector) if selector is not None else '<unset>'}\n")
    w.w(0, "Status:\n")
    w.w(2, f"Allowed disruptions:\t{status.get('disruptionsAllowed', 0)}\n")
    w.w(2, f"Current:\t{status.get('currentHealthy', 0)}\n")
    w.w(2, f"Desired:\t{status.get('desiredHealthy', 0)}\n")
    w.w(2, f"Total:\t{status.get('expectedPods', 0)}\n")
    if show_events:
        describe_events(w, search_events(client, pdb), now)
    return w.text()


def describe_limitrange(client: Client, limit_range: Obj, now: float, show_events: bool = True) -> str:
    """describeLimitRange: name, namespace and the table; kubectl shows no events for it."""
    w = Writer()
    w.w(0, f"Name:\t{limit_range['metadata']['name']}\n")
    w.w(0, f"Namespace:\t{limit_range['metadata'].get('namespace', '')}\n")
    _limit_range_table(w, limit_range, "")
    return w.text()


def _optional_list(client: Client, kind: str, namespace: str) -> list[Obj]:
    """Items of a kind the cluster may not serve (kubelab has no quotas or limit ranges)."""
    if kind not in BY_KIND:
        return []
    try:
        return client.list(kind, namespace)["items"]
    except StatusError:
        return []


def describe_node(client: Client, node: Obj, now: float, show_events: bool = True) -> str:
    w = Writer()
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    labels = meta.get("labels") or {}
    roles = sorted({k[len("node-role.kubernetes.io/"):] for k in labels
                    if k.startswith("node-role.kubernetes.io/") and len(k) > len("node-role.kubernetes.io/")}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    w.w(0, f"Roles:\t{','.join(roles) or '<none>'}\n")
    labels_multiline(w, "Labels", labels)
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    taints_multiline(w, spec.get("taints"))
    w.w(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    heartbeat = next((c.get("lastHeartbeatTime") for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
    w.w(0, "Lease:\n")
    w.w(1, f"HolderIdentity:\t{meta['name']}\n")
    w.w(1, "AcquireTime:\t<unset>\n")
    w.w(1, f"RenewTime:\t{rfc1123z(heartbeat) if heartbeat else '<unset>'}\n")
    if status.get("conditions"):
        w.w(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        w.w(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type')} \t{c.get('status')} \t{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                   f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")
    w.w(0, "Addresses:\n")
    for address in status.get("addresses") or ():
        w.w(1, f"{address.get('type')}:\t{address.get('address')}\n")
    for title, field in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if status.get(field):
            w.w(0, f"{title}:\n")
            for name in sorted(status[field]):
                w.w(0, f"  {name}:\t{status[field][name]}\n")
    info = status.get("nodeInfo") or {}
    w.w(0, "System Info:\n")
    for title, field in (("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
                         ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"),
                         ("Operating System", "operatingSystem"), ("Architecture", "architecture"),
                         ("Container Runtime Version", "containerRuntimeVersion"),
                         ("Kubelet Version", "kubeletVersion"), ("Kube-Proxy Version", "kubeProxyVersion")):
        w.w(0, f"  {title}:\t{info.get(field, '')}\n")
    if spec.get("podCIDR"):
        w.w(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.w(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.w(0, f"ProviderID:\t{spec['providerID']}\n")
    pods = [p for p in client.list("Pod", None, field_selector=f"spec.nodeName={meta['name']}")["items"]
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    _node_resources(w, node, pods, now)
    if show_events:
        events = search_events(client, node)
        by_name = dict(node, metadata={**meta, "uid": meta["name"]})
        seen = {e["metadata"]["name"] for e in events}
        events += [e for e in search_events(client, by_name) if e["metadata"]["name"] not in seen]
        describe_events(w, events, now)
    return w.text()


def _node_resources(w: Writer, node: Obj, pods: list[Obj], now: float) -> None:
    status = node.get("status") or {}
    allocatable = {k: parse_quantity(v) for k, v in (status.get("allocatable") or status.get("capacity") or {}).items()}
    zero = parse_quantity("0")

    def amount(name: str, q: Quantity) -> int:
        return q.milli() if name == "cpu" else q.whole()

    def cell(name: str, q: Quantity | None) -> str:
        q = q or zero
        of = amount(name, allocatable.get(name, zero))
        return f"{q} ({int(amount(name, q) / of * 100) if of else 0}%)"

    w.w(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.w(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.w(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    reqs: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    for pod in pods:
        req, lim = pod_requests_limits(pod)
        for acc, part in ((reqs, req), (limits, lim)):
            for name, q in part.items():
                acc[name] = acc[name] + q if name in acc else q
        w.w(1, f"{pod['metadata'].get('namespace', '')}\t{pod['metadata']['name']}\t\t{cell('cpu', req.get('cpu'))}\t"
               f"{cell('cpu', lim.get('cpu'))}\t{cell('memory', req.get('memory'))}\t{cell('memory', lim.get('memory'))}\t"
               f"{since(pod['metadata'].get('creationTimestamp'), now)}\n")
    w.w(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w.w(1, "Resource\tRequests\tLimits\n")
    w.w(1, "--------\t--------\t------\n")
    for name in ("cpu", "memory", "ephemeral-storage"):
        w.w(1, f"{name}\t{cell(name, reqs.get(name))}\t{cell(name, limits.get(name))}\n")
    standard = {"cpu", "memory", "ephemeral-storage", "pods", "storage"}
    for name in sorted(n for n in allocatable if n.startswith("hugepages-")):
        w.w(1, f"{name}\t{cell(name, reqs.get(name))}\t{cell(name, limits.get(name))}\n")
    for name in sorted(n for n in allocatable if n not in standard and not n.startswith("hugepages-")):
        w.w(1, f"{name}\t{reqs.get(name, zero)}\t{limits.get(name, zero)}\n")


def _smart_label(field: str) -> str:
    """kubectl's generic describer turns ``observedGeneration`` into ``Observed Generation``."""
    if re.search(r"[^A-Za-z-]", field):
        return field
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|-", field)
    out = []
    for word in words:
        out.append(word.upper() if word.upper() in ("API", "URL", "UID", "OSB", "GUID") else word[:1].upper() + word[1:].lower())
    return " ".join(out)


def _unstructured(w: Writer, level: int, content: Mapping[str, Any], prefix: str, skip: set[str]) -> None:
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in skip:
            continue
        if isinstance(value, dict):
            w.w(level, f"{_smart_label(field)}:\n")
            _unstructured(w, level + 1, value, path, skip)
        elif isinstance(value, list):
            w.w(level, f"{_smart_label(field)}:\n")
            for item in value:
                if isinstance(item, dict):
                    _unstructured(w, level + 1, item, path, skip)
                else:
                    w.w(level + 1, f"{_go_value(item)}\n")
        else:
            w.w(level, f"{_smart_label(field)}:\t{_go_value(value)}\n")


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_generic(client: Client, obj: Obj, now: float, show_events: bool = True) -> str:
    """What kubectl prints for kinds without a dedicated describer."""
    w = Writer()
    meta = obj["metadata"]
    w.w(0, f"Name:\t{meta['name']}\n")
    w.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    _unstructured(w, 0, obj, "", {".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                                   ".metadata.labels", ".metadata.annotations"})
    if show_events:
        describe_events(w, search_events(client, obj), now)
    return w.text()


# -- storage -------------------------------------------------------------------------------------
def _volume_node_affinity(w: Writer, affinity: Mapping[str, Any] | None) -> None:
    """printVolumeNodeAffinity: the required node selector terms, one expression a line."""
    required = (affinity or {}).get("required")
    if required is None:
        w.w(0, "Node Affinity:\t<none>\n")
        return
    w.w(0, "Node Affinity:\t\n")
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        w.w(1, "Required Terms:\t<none>\n")
        return
    w.w(1, "Required Terms:\t\n")
    for i, term in enumerate(terms):
        exprs = term.get("matchExpressions") or []
        w.w(2, f"Term {i}:\t")
        if not exprs:
            w.w(0, "<none>\n")
        for j, req in enumerate(exprs):
            if j:
                w.w(2, "\t")
            text = f"{req.get('key', '')} {str(req.get('operator', '')).lower()}"
            if req.get("values"):
                text += f" [{', '.join(req['values'])}]"
            w.w(0, f"{text}\n")


def _go_strings(values: list[str] | None) -> str:
    """Go's ``%v`` of a []string: ``[a b]``."""
    return "[" + " ".join(values or ()) + "]"


def describe_persistentvolume(client: Client, pv: Obj, now: float, show_events: bool = True) -> str:
    """describePersistentVolume: class, phase, claim, policy, modes, capacity, source."""
    w = Writer()
    meta, spec, status = pv["metadata"], pv.get("spec") or {}, pv.get("status") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Finalizers:\t{_go_strings(meta.get('finalizers'))}\n")
    w.w(0, f"StorageClass:\t{volume_class(pv)}\n")
    if meta.get("deletionTimestamp"):
        w.w(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
    else:
        w.w(0, f"Status:\t{status.get('phase', '')}\n")
    ref = spec.get("claimRef")
    w.w(0, f"Claim:\t{ref.get('namespace', '') + '/' + ref.get('name', '') if ref else ''}\n")
    w.w(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}\n")
    w.w(0, f"Access Modes:\t{access_modes(spec.get('accessModes'))}\n")
    if spec.get("volumeMode"):
        w.w(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    w.w(0, f"Capacity:\t{storage_quantity(spec.get('capacity'))}\n")
    _volume_node_affinity(w, spec.get("nodeAffinity"))
    w.w(0, f"Message:\t{status.get('message', '')}\n")
    w.w(0, "Source:\n")
    if "hostPath" in spec:
        h = spec["hostPath"] or {}
        w.w(2, f"Type:\tHostPath (bare host directory volume)\n    Path:\t{h.get('path', '')}\n"
               f"    HostPathType:\t{h.get('type', '<none>')}\n")
    elif "local" in spec:
        local = spec["local"] or {}
        w.w(2, f"Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n"
               f"    Path:\t{local.get('path', '')}\n")
    elif "nfs" in spec:
        nfs = spec["nfs"] or {}
        w.w(2, f"Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t{nfs.get('server', '')}\n"
               f"    Path:\t{nfs.get('path', '')}\n    ReadOnly:\t{'true' if nfs.get('readOnly') else 'false'}\n")
    else:
        w.w(1, "<unknown>\n")
    if show_events:
        describe_events(w, search_events(client, pv), now)
    return w.text()


def describe_persistentvolumeclaim(client: Client, pvc: Obj, now: float, show_events: bool = True) -> str:
    """describePersistentVolumeClaim: the claim, the pods that mount it (Used By), conditions."""
    w = Writer()
    meta, spec, status = pvc["metadata"], pvc.get("spec") or {}, pvc.get("status") or {}
    _header(w, pvc)
    w.w(0, f"StorageClass:\t{volume_class(pvc)}\n")
    if meta.get("deletionTimestamp"):
        w.w(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
    else:
        w.w(0, f"Status:\t{status.get('phase', '')}\n")
    w.w(0, f"Volume:\t{spec.get('volumeName', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"Finalizers:\t{_go_strings(meta.get('finalizers'))}\n")
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = storage_quantity(status.get("capacity"))
    w.w(0, f"Capacity:\t{capacity}\n")
    w.w(0, f"Access Modes:\t{modes}\n")
    if spec.get("volumeMode"):
        w.w(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    source = spec.get("dataSource")
    if source:
        w.w(0, "DataSource:\n")
        if source.get("apiGroup") is not None:
            w.w(1, f"APIGroup:\t{source['apiGroup']}\n")
        w.w(1, f"Kind:\t{source.get('kind', '')}\n")
        w.w(1, f"Name:\t{source.get('name', '')}\n")
    # getPodsForPVC: the namespace's pods that mount the claim
    name = meta["name"]
    users = sorted(p["metadata"]["name"] for p in client.list("Pod", meta.get("namespace"))["items"]
                   for v in (p.get("spec") or {}).get("volumes") or ()
                   if (v.get("persistentVolumeClaim") or {}).get("claimName") == name)
    if not users:
        w.w(0, "Used By:\t<none>\n")
    for i, user in enumerate(users):
        w.w(0, f"{'Used By:' if i == 0 else ''}\t{user}\n")
    if status.get("conditions"):
        w.w(0, "Conditions:\n")
        w.w(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
        w.w(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type', '')} \t{c.get('status', '')} \t{rfc1123z(c.get('lastProbeTime'))} \t"
                   f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")
    if show_events:
        describe_events(w, search_events(client, pvc), now)
    return w.text()


def describe_storageclass(client: Client, sc: Obj, now: float, show_events: bool = True) -> str:
    """describeStorageClass: default or not, provisioner, parameters, policies."""
    w = Writer()
    meta = sc["metadata"]
    w.w(0, f"Name:\t{meta['name']}\n")
    w.w(0, f"IsDefaultClass:\t{'Yes' if is_default_class(sc) else 'No'}\n")
    w.w(0, f"Annotations:\t{format_labels(meta.get('annotations'))}\n")
    w.w(0, f"Provisioner:\t{sc.get('provisioner', '')}\n")
    w.w(0, f"Parameters:\t{format_labels(sc.get('parameters'))}\n")
    expansion = sc.get("allowVolumeExpansion")
    w.w(0, f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else ('True' if expansion else 'False')}\n")
    options = sc.get("mountOptions") or []
    if not options:
        w.w(0, "MountOptions:\t<none>\n")
    else:
        w.w(0, "MountOptions:\n")
        for option in options:
            w.w(1, f"{option}\n")
    if sc.get("reclaimPolicy"):
        w.w(0, f"ReclaimPolicy:\t{sc['reclaimPolicy']}\n")
    if sc.get("volumeBindingMode"):
        w.w(0, f"VolumeBindingMode:\t{sc['volumeBindingMode']}\n")
    if show_events:
        describe_events(w, search_events(client, sc), now)
    return w.text()


def _metric_current(status: Mapping[str, Any], key: str, field: str) -> str:
    current = ((status.get(key) or {}).get("current") or {}).get(field) if status.get(key) else None
    return "<unknown>" if current is None else str(current)


def describe_hpa(client: Client, hpa: Obj, now: float, show_events: bool = True) -> str:
    """describeHorizontalPodAutoscalerV2: metrics as ( current / target ), the behavior when
    set, the target's pod counts and the conditions with their messages."""
    w = Writer()
    meta, spec, status = hpa["metadata"], hpa.get("spec") or {}, hpa.get("status") or {}
    _header(w, hpa)
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    ref = spec.get("scaleTargetRef") or {}
    w.w(0, f"Reference:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
    w.w(0, "Metrics:\t( current / target )\n")
    currents = status.get("currentMetrics") or []
    for i, metric in enumerate(spec.get("metrics") or []):
        now_ = currents[i] if i < len(currents) else {}
        kind = metric.get("type", "")
        if kind in ("Resource", "ContainerResource"):
            key = "resource" if kind == "Resource" else "containerResource"
            source = metric.get(key) or {}
            target = source.get("target") or {}
            if kind == "Resource":
                w.w(1, f"resource {source.get('name', '')} on pods")
            else:
                w.w(1, f'resource {source.get("name", "")} of container "{source.get("container", "")}" on pods')
            if target.get("averageValue") is not None:
                w.w(0, f":\t{_metric_current(now_, key, 'averageValue')} / {target['averageValue']}\n")
                continue
            current = "<unknown>"
            got = ((now_.get(key) or {}).get("current") or {}) if now_.get(key) else {}
            if got.get("averageUtilization") is not None:
                current = f"{got['averageUtilization']}% ({got.get('averageValue', '0')})"
            want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
            w.w(1, f"(as a percentage of request):\t{current} / {want}\n")
        elif kind == "Pods":
            source = metric.get("pods") or {}
            w.w(1, f'"{(source.get("metric") or {}).get("name", "")}" on pods:\t'
                   f'{_metric_current(now_, "pods", "averageValue")} / {(source.get("target") or {}).get("averageValue", "")}\n')
        elif kind == "External":
            source = metric.get("external") or {}
            target, name = source.get("target") or {}, (source.get("metric") or {}).get("name", "")
            if target.get("averageValue") is not None:
                w.w(1, f'"{name}" (target average value):\t{_metric_current(now_, "external", "averageValue")} / '
                       f'{target["averageValue"]}\n')
            else:
                w.w(1, f'"{name}" (target value):\t{_metric_current(now_, "external", "value")} / '
                       f'{target.get("value", "")}\n')
        elif kind == "Object":
            source = metric.get("object") or {}
            target, obj_ref = source.get("target") or {}, source.get("describedObject") or {}
            w.w(1, f'"{(source.get("metric") or {}).get("name", "")}" on {obj_ref.get("kind", "")}/'
                   f'{obj_ref.get("name", "")} ')
            if target.get("type") == "AverageValue":
                w.w(0, f"(target average value):\t{_metric_current(now_, 'object', 'averageValue')} / "
                       f"{target.get('averageValue', '')}\n")
            else:
                w.w(0, f"(target value):\t{_metric_current(now_, 'object', 'value')} / {target.get('value', '')}\n")
        else:
            w.w(1, f'<unknown metric type "{kind}">\n')
    low = spec.get("minReplicas")
    w.w(0, f"Min replicas:\t{'<unset>' if low is None else low}\n")
    w.w(0, f"Max replicas:\t{spec.get('maxReplicas', 0)}\n")
    behavior = spec.get("behavior")
    if behavior is not None:
        w.w(0, "Behavior:\n")
        for title, key in (("Scale Up", "scaleUp"), ("Scale Down", "scaleDown")):
            rules = behavior.get(key)
            if rules is None:
                continue
            w.w(1, f"{title}:\n")
            if rules.get("stabilizationWindowSeconds") is not None:
                w.w(2, f"Stabilization Window: {rules['stabilizationWindowSeconds']} seconds\n")
            if rules.get("policies"):
                w.w(2, f"Select Policy: {rules.get('selectPolicy') or 'Max'}\n")
                w.w(2, "Policies:\n")
                for p in rules["policies"]:
                    w.w(3, f"- Type: {p.get('type', '')}\tValue: {p.get('value', 0)}\t"
                           f"Period: {p.get('periodSeconds', 0)} seconds\n")
    w.w(0, f"{ref.get('kind', '')} pods:\t{status.get('currentReplicas', 0)} current / "
           f"{status.get('desiredReplicas', 0)} desired\n")
    if status.get("conditions"):
        w.w(0, "Conditions:\n")
        w.w(1, "Type\tStatus\tReason\tMessage\n")
        w.w(1, "----\t------\t------\t-------\n")
        for c in status["conditions"]:
            w.w(1, f"{c.get('type', '')}\t{c.get('status', '')}\t{c.get('reason', '')}\t{c.get('message', '')}\n")
    if show_events:
        describe_events(w, search_events(client, hpa), now)
    return w.text()


DESCRIBERS: dict[str, Callable[..., str]] = {
    "HorizontalPodAutoscaler": describe_hpa,
    "LimitRange": describe_limitrange,
    "ResourceQuota": describe_resourcequota,
    "PodDisruptionBudget": describe_poddisruptionbudget,
    "Pod": describe_pod,
    "ReplicaSet": describe_replicaset,
    "ReplicationController": describe_replicationcontroller,
    "Deployment": describe_deployment,
    "Job": describe_job,
    "CronJob": describe_cronjob,
    "StatefulSet": describe_statefulset,
    "DaemonSet": describe_daemonset,
    "ServiceAccount": describe_serviceaccount,
    "Service": describe_service,
    "Endpoints": describe_endpoints,
    "Ingress": describe_ingress,
    "IngressClass": describe_ingressclass,
    "NetworkPolicy": describe_networkpolicy,
    "ConfigMap": describe_configmap,
    "Secret": describe_secret,
    "Namespace": describe_namespace,
    "Node": describe_node,
    "PersistentVolume": describe_persistentvolume,
    "PersistentVolumeClaim": describe_persistentvolumeclaim,
    "StorageClass": describe_storageclass,
    "PriorityClass": describe_priorityclass,
}


def describe(client: Client, kind: Kind, obj: Obj, show_events: bool = True) -> str:
    """The full ``kubectl describe`` text for one object."""
    fn = DESCRIBERS.get(kind.kind, describe_generic)
    return fn(client, obj, client.now(), show_events)


# -- the command --------------------------------------------------------------------------------
def resource_args(args: list[str]) -> list[tuple[Kind, list[str]]]:
    """kubectl's ``TYPE[,TYPE] [NAME...]`` or ``TYPE/NAME...`` arguments as (kind, names); no
    names means every object of the kind."""
    if not args:
        return []
    if any("/" in a for a in args):
        pairs: list[tuple[Kind, list[str]]] = []
        for a in args:
            if "/" not in a:
                raise error("there is no need to specify a resource type as a separate argument when passing "
                            "arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' "
                            "instead of 'kubectl get resource resource/<resource_name>'")
            word, name = split_type_name(a)
            pairs.append((lookup(word), [name]))
        return pairs
    kinds = [lookup(word) for word in args[0].split(",") if word]
    return [(kind, list(args[1:])) for kind in kinds]


def targets(ctx: Context, args: list[str], unsupported: str | None = None,
            supported: tuple[str, ...] = ("Deployment",)) -> list[tuple[Kind, Obj]]:
    """The objects a command acts on (``deploy/x``, ``deploy x y``, or every one of a kind,
    narrowed by ``-l``), fetched; ``unsupported`` is the error for kinds not in ``supported``
    (``{kind}`` is filled in)."""
    found: list[tuple[Kind, Obj]] = []
    for kind, names in resource_args(args):
        if not names:
            selector = ctx.flags.get("selector") if "selector" in ctx.flags.specs else ""
            found += [(kind, o) for o in ctx.client.list(kind.kind, ctx.namespace, label_selector=selector or None)["items"]]
            continue
        for name in names:
            found.append((kind, ctx.client.get(kind.kind, name, ctx.namespace)))
    for kind, _ in found:
        if kind.kind not in supported and unsupported:
            raise error(unsupported.format(kind=f"{kind.kind}.{kind.group}" if kind.group else kind.kind))
    return found


def file_targets(ctx: Context) -> list[tuple[Kind, Obj]]:
    """The live objects named by the manifests given with ``-f``."""
    from kubelab.kubectl.manifests import kind_of, namespace_for, read_manifests

    found: list[tuple[Kind, Obj]] = []
    for doc in read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive")):
        if doc.error or doc.obj is None:
            raise KubectlError(doc.error)
        kind = kind_of(doc)
        name = (doc.obj.get("metadata") or {}).get("name", "")
        found.append((kind, ctx.client.get(kind.kind, name, namespace_for(ctx, kind, doc.obj))))
    return found


def object_name(kind: Kind, obj: Obj) -> str:
    """``deployment.apps/echo-server``: how kubectl names an object in its messages."""
    return f"{kind.qualified_singular}/{obj['metadata']['name']}"


@command("describe", fl.SELECTOR, fl.ALL_NAMESPACES, *fl.FILE_FLAGS,
         fl.Flag("show-events", type=fl.BOOL, default=True), fl.Flag("chunk-size", type=fl.INT, default=500),
         short="Show details of a specific resource or group of resources")
def describe_command(ctx: Context, args: list[str]) -> int:
    if not args and not ctx.flags.get("filename"):
        raise error('You must specify the type of resource to describe. Use "kubectl api-resources" '
                    'for a complete list of supported resources.')
    all_ns = ctx.flags.get("all-namespaces")
    show_events = ctx.flags.get("show-events")
    targets_: list[tuple[Kind, Obj]] = []
    errs: list[BaseException] = []
    if ctx.flags.get("filename"):
        try:
            targets_.extend(file_targets(ctx))
        except StatusError as e:
            errs.append(e)
    selector = ctx.flags.get("selector") or None
    if selector and any("/" in a for a in args):
        raise error("selectors and the all flag cannot be used when passing resource/name arguments")
    requested = resource_args(args)
    if selector and any(names for _, names in requested):
        raise error("name cannot be provided when a selector is specified")
    for kind, names in requested:
        ns = None if (all_ns and kind.namespaced) else ctx.namespace
        if not names:
            targets_ += [(kind, o) for o in ctx.client.list(kind.kind, ns, label_selector=selector)["items"]]
            continue
        for name in names:
            try:
                targets_.append((kind, ctx.client.get(kind.kind, name, ctx.namespace)))
            except StatusError as e:
                if e.reason == "NotFound" and len(args) == 2:
                    return _describe_prefix(ctx, kind, name, e, show_events)
                errs.append(e)
    texts = []
    for kind, obj in targets_:
        texts.append(describe(ctx.client, kind, obj, show_events))
    ctx.out.write("\n\n".join(texts))
    if not targets_ and not errs:
        ctx.notice("No resources found" if all_ns else f"No resources found in {ctx.namespace} namespace.")
    if errs:
        raise KubectlError("\n".join(standard_message(e) for e in errs))
    return 0


def _describe_prefix(ctx: Context, kind: Kind, prefix: str, original: StatusError, show_events: bool) -> int:
    """``describe pods web`` describes every pod whose name starts with ``web``."""
    found = [o for o in ctx.client.list(kind.kind, ctx.namespace)["items"] if o["metadata"]["name"].startswith(prefix)]
    if not found:
        raise original
    for obj in found:
        ctx.out.write(describe(ctx.client, kind, obj, show_events) + "\n")
    return 0
