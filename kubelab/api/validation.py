"""Validation with Kubernetes' rules and messages.

Follows pkg/apis/core/validation, pkg/apis/apps/validation and apimachinery's
util/validation: each problem is a field error (``Required value``, ``Invalid value: <v>:
<detail>``, ``Unsupported value: ...: supported values: ...``, ``Duplicate value``,
``Forbidden``, ``Not found``), returned as a ``Cause`` whose message is the error body;
``errors.invalid`` joins them as the API server does. Values print the way Go's field
errors print them (``%q`` strings, ``%#v`` maps and selectors).

Checks that need cluster state (NodePort ranges and allocation, ClusterIP allocation,
namespace existence) belong to engine hooks, as they belong to registries in Kubernetes.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Callable

from kubelab.api import cron
from kubelab.api.errors import Cause
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj
from kubelab.api.quantity import parse as parse_quantity

Errs = list[Cause]

# -- field errors -----------------------------------------------------------------------


def go_value(value: Any) -> str:
    """A value as Go's field errors print it (``%q`` / ``%v`` / ``%#v``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return go_string_map(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def go_string_map(value: dict[str, str] | None) -> str:
    if value is None:
        return "map[string]string(nil)"
    body = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
    return "map[string]string{" + body + "}"


class _Raw(str):
    """A value already formatted for the message (``%#v`` of a Go struct)."""


def go_label_selector(selector: Obj | None) -> _Raw:
    """``%#v`` of a metav1.LabelSelector, as field errors print a selector."""
    selector = selector or {}
    exprs = selector.get("matchExpressions")
    if exprs:
        parts = []
        for e in exprs:
            values = e.get("values")
            vals = "[]string{" + ", ".join(json.dumps(v) for v in values) + "}" if values else "[]string(nil)"
            parts.append(f'v1.LabelSelectorRequirement{{Key:{json.dumps(e.get("key", ""))}, '
                         f'Operator:{json.dumps(e.get("operator", ""))}, Values:{vals}}}')
        expr_text = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        expr_text = "[]v1.LabelSelectorRequirement(nil)"
    labels = selector.get("matchLabels")
    return _Raw(f"v1.LabelSelector{{MatchLabels:{go_string_map(labels if labels else None)}, "
                f"MatchExpressions:{expr_text}}}")


def invalid(path: str, value: Any, detail: str) -> Cause:
    shown = value if isinstance(value, _Raw) else go_value(value)
    return Cause(path, f"Invalid value: {shown}: {detail}", "FieldValueInvalid")


def required(path: str, detail: str = "") -> Cause:
    return Cause(path, "Required value" + (f": {detail}" if detail else ""), "FieldValueRequired")


def not_supported(path: str, value: Any, supported: list[str] | tuple[str, ...]) -> Cause:
    listed = ", ".join(json.dumps(s) for s in supported)
    return Cause(path, f"Unsupported value: {go_value(value)}: supported values: {listed}", "FieldValueNotSupported")


def duplicate(path: str, value: Any) -> Cause:
    shown = value if isinstance(value, _Raw) else go_value(value)
    return Cause(path, f"Duplicate value: {shown}", "FieldValueDuplicate")


def forbidden(path: str, detail: str) -> Cause:
    return Cause(path, f"Forbidden: {detail}", "FieldValueForbidden")


def not_found(path: str, value: Any) -> Cause:
    return Cause(path, f"Not found: {go_value(value)}", "FieldValueNotFound")


# -- name and label formats (apimachinery util/validation) ------------------------------

def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_RE = {f: re.compile("^" + f + "$") for f in (_LABEL_FMT, _SUBDOMAIN_FMT, _DNS1035_FMT, _QUALIFIED_FMT,
                                                _LABEL_VALUE_FMT, _CONFIG_KEY_FMT)}


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE[_LABEL_FMT].match(value):
        errs.append(_regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                                 "'-', and must start and end with an alphanumeric character",
                                 _LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE[_SUBDOMAIN_FMT].match(value):
        errs.append(_regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                                 "'-' or '.', and must start and end with an alphanumeric character",
                                 _SUBDOMAIN_FMT, "example.com"))
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE[_DNS1035_FMT].match(value):
        errs.append(_regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                                 "start with an alphabetic character, and end with an alphanumeric character",
                                 _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def qualified_name(value: str) -> list[str]:
    """A label or annotation key: ``[prefix/]name``."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        errs: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        errs = []
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(prefix)]
    else:
        return [_regex_error("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
                             "start and end with an alphanumeric character", _QUALIFIED_FMT,
                             "MyName", "my.name", "123-abc")]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if name and not _RE[_QUALIFIED_FMT].match(name):
        errs.append("name part " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character", _QUALIFIED_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE[_LABEL_VALUE_FMT].match(value):
        errs.append(_regex_error("a valid label must be an empty string or consist of alphanumeric characters, "
                                 "'-', '_' or '.', and must start and end with an alphanumeric character",
                                 _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def config_key(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _RE[_CONFIG_KEY_FMT].match(value):
        errs.append(_regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                 _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_range(port: Any) -> list[str]:
    if isinstance(port, int) and 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def port_name(name: str) -> list[str]:
    """IANA_SVC_NAME, as container and service port names must be."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not re.match(r"^[-a-z0-9]+$", name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not re.search(r"[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def path_segment_name(name: str) -> list[str]:
    """IsValidPathSegmentName (ValidateRBACName): any name that can be a URL path segment."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def _name_checks(kind: str) -> Callable[[str], list[str]]:
    if kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        return path_segment_name
    if kind == "Namespace":
        return dns1123_label
    if kind == "Service":
        return dns1035_label
    return dns1123_subdomain


# -- metadata ---------------------------------------------------------------------------

def _labels(labels: Any, path: str) -> Errs:
    errs: Errs = []
    for key, value in (labels or {}).items():
        errs += [invalid(path, key, m) for m in qualified_name(key)]
        errs += [invalid(path, value, m) for m in label_value(value)]
    return errs


def _annotations(annotations: Any, path: str) -> Errs:
    errs: Errs = []
    total = 0
    for key, value in (annotations or {}).items():
        errs += [invalid(path, key, m) for m in qualified_name(key.lower())]
        total += len(key) + len(value)
    if total > 256 * 1024:
        errs.append(Cause(path, "Too long: may not be more than 262144 bytes", "FieldValueTooLong"))
    return errs


def _metadata(obj: Obj, kind: Kind) -> Errs:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    errs: Errs = []
    if not name:
        errs.append(required("metadata.name", "name or generateName is required"))
    else:
        errs += [invalid("metadata.name", name, m) for m in _name_checks(kind.kind)(name)]
    if kind.namespaced:
        ns = meta.get("namespace", "")
        if not ns:
            errs.append(required("metadata.namespace"))
        else:
            errs += [invalid("metadata.namespace", ns, m) for m in dns1123_label(ns)]
    elif meta.get("namespace"):
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    errs += _labels(meta.get("labels"), "metadata.labels")
    errs += _annotations(meta.get("annotations"), "metadata.annotations")
    return errs


def _label_selector(selector: Obj, path: str) -> Errs:
    errs = _labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator", "")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or "
                                                      "'DoesNotExist'"))
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        errs += [invalid(f"{p}.key", expr.get("key", ""), m) for m in qualified_name(expr.get("key", ""))]
    return errs


# -- pods -------------------------------------------------------------------------------

_RESTART = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _container_ports(ports: list[Obj], path: str) -> Errs:
    """validateContainerPorts: names valid and unique, port numbers in range, a protocol."""
    errs: Errs = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"{path}[{i}]"
        name = port.get("name")
        if name:
            messages = port_name(name)
            errs += [invalid(f"{p}.name", name, m) for m in messages]
            if not messages and name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        cp = port.get("containerPort", 0)
        if not cp:
            errs.append(required(f"{p}.containerPort"))
        else:
            errs += [invalid(f"{p}.containerPort", cp, m) for m in port_range(cp)]
        if port.get("hostPort"):
            errs += [invalid(f"{p}.hostPort", port["hostPort"], m) for m in port_range(port["hostPort"])]
        proto = port.get("protocol", "")
        if not proto:
            errs.append(required(f"{p}.protocol"))
        elif proto not in _PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", proto, _PROTOCOLS))
    return errs


def _probe(probe: Obj | None, path: str, once: bool = False) -> Errs:
    """validateProbe and its handler; ``once``: liveness and startup probes, whose
    successThreshold must be 1."""
    if not probe:
        return []
    errs = _handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        value = probe.get(key, 0)
        if value < 0:
            errs.append(invalid(f"{path}.{key}", value, "must be greater than or equal to 0"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))
    if once and probe.get("successThreshold", 1) != 1:
        errs.append(invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    return errs


def _handler(handler: Obj, path: str, kinds: tuple[str, ...], grace: int | None = None) -> Errs:
    """validateHandler (a hook's or a probe's): exactly one of ``kinds``, and that one well
    formed; a second is forbidden and not looked into."""
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    errs = [forbidden(f"{path}.{k}", "may not specify more than 1 handler type") for k in present[1:]]
    kind, action, p = present[0], handler[present[0]] or {}, f"{path}.{present[0]}"
    if kind == "exec" and not action.get("command"):
        errs.append(required(f"{p}.command"))
    elif kind == "httpGet":
        errs += _port_num_or_name(action.get("port"), f"{p}.port")
        if action.get("scheme") not in ("HTTP", "HTTPS"):
            errs.append(not_supported(f"{p}.scheme", action.get("scheme", ""), ("HTTP", "HTTPS")))
        for header in action.get("httpHeaders") or []:
            if not _HEADER_NAME.match(header.get("name", "")):
                errs.append(invalid(f"{p}.httpHeaders", header.get("name", ""), _regex_error(
                    "a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+",
                    "X-Header-Name")))
    elif kind == "tcpSocket":
        errs += _port_num_or_name(action.get("port"), f"{p}.port")
    elif kind == "grpc":
        errs += [invalid(f"{p}.port", action.get("port", 0), m) for m in port_range(action.get("port", 0))]
    elif kind == "sleep" and grace is not None:
        seconds = action.get("seconds", 0)
        if seconds <= 0 or seconds > grace:  # AllowPodLifecycleSleepActionZeroValue is off in 1.32
            errs.append(invalid(p, seconds, f"must be greater than 0 and less than terminationGracePeriodSeconds "
                                            f"({grace})"))
    return errs


def _lifecycle(lifecycle: Obj | None, path: str, grace: int | None) -> Errs:
    """validateLifecycle: postStart and preStop each name one handler; a sleep fits in the
    pod's grace period."""
    errs: Errs = []
    for hook in ("postStart", "preStop"):
        handler = (lifecycle or {}).get(hook)
        if handler is not None:
            errs += _handler(handler, f"{path}.{hook}", ("exec", "httpGet", "tcpSocket", "sleep"), grace)
    return errs


_HEADER_NAME = re.compile(r"^[-A-Za-z0-9]+$")


def _port_num_or_name(port: Any, path: str) -> Errs:
    """ValidatePortNumOrName: a number in range, or an IANA service name."""
    if isinstance(port, str):
        return [invalid(path, port, m) for m in port_name(port)]
    return [invalid(path, port or 0, m) for m in port_range(port or 0)]


def _containers(containers: list[Obj], path: str, volumes: set[str], grace: int | None) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        name = c.get("name", "")
        if not name:
            errs.append(required(f"{p}.name"))
        else:
            errs += [invalid(f"{p}.name", name, m) for m in dns1123_label(name)]
            if name in seen:
                errs.append(duplicate(f"{p}.name", name))
            seen.add(name)
        if not c.get("image"):
            errs.append(required(f"{p}.image"))
        policy = c.get("imagePullPolicy", "")
        if policy not in _PULL:
            errs.append(not_supported(f"{p}.imagePullPolicy", policy, _PULL) if policy
                        else required(f"{p}.imagePullPolicy"))
        tmp = c.get("terminationMessagePolicy", "")
        if tmp and tmp not in ("File", "FallbackToLogsOnError"):
            errs.append(not_supported(f"{p}.terminationMessagePolicy", tmp, ("File", "FallbackToLogsOnError")))
        errs += _container_ports(c.get("ports") or [], f"{p}.ports")
        errs += _env(c.get("env") or [], f"{p}.env")
        errs += _env_from(c.get("envFrom") or [], f"{p}.envFrom")
        for j, mount in enumerate(c.get("volumeMounts") or []):
            mp = f"{p}.volumeMounts[{j}]"
            if not mount.get("name"):
                errs.append(required(f"{mp}.name"))
            elif mount["name"] not in volumes:
                errs.append(not_found(f"{mp}.name", mount["name"]))
            if not mount.get("mountPath"):
                errs.append(required(f"{mp}.mountPath"))
        errs += _lifecycle(c.get("lifecycle"), f"{p}.lifecycle", grace)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            errs += _probe(c.get(probe), f"{p}.{probe}", once=probe != "readinessProbe")
        errs += _resources(c.get("resources") or {}, f"{p}.resources")
    return errs


_ENV_NAME = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def env_var_name(value: str) -> list[str]:
    """IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on by default in 1.32)."""
    if not value:
        return ["environment variable name must be non-empty"]
    if any(ord(ch) > 126 or ord(ch) < 32 or ch == "=" for ch in value):
        return [_ENV_NAME]
    return []


def _env(env: list[Obj], path: str) -> Errs:
    """ValidateEnv: each name, and at most one source for valueFrom."""
    errs: Errs = []
    for i, var in enumerate(env):
        p = f"{path}[{i}]"
        name = var.get("name", "")
        if not name:
            errs.append(required(f"{p}.name"))
        errs += [invalid(f"{p}.name", name, m) for m in env_var_name(name)]
        source = var.get("valueFrom")
        if source is None:
            continue
        kinds = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef") if source.get(k)]
        if not kinds:
            errs.append(invalid(f"{p}.valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                                     "`configMapKeyRef` or `secretKeyRef`"))
        elif var.get("value"):
            errs.append(invalid(f"{p}.valueFrom", "", "may not be specified when `value` is not empty"))
        elif len(kinds) > 1:
            errs.append(invalid(f"{p}.valueFrom", "", "may not have more than one field specified at a time"))
        for ref in ("configMapKeyRef", "secretKeyRef"):
            selector = source.get(ref)
            if not selector:
                continue
            rp = f"{p}.valueFrom.{ref}"
            if not selector.get("name"):
                errs.append(required(f"{rp}.name"))
            if not selector.get("key"):
                errs.append(required(f"{rp}.key"))
            else:
                errs += [invalid(f"{rp}.key", selector["key"], m) for m in config_key(selector["key"])]
    return errs


def _env_from(sources: list[Obj], path: str) -> Errs:
    """validateEnvFrom: a valid prefix and exactly one of configMapRef or secretRef."""
    errs: Errs = []
    for i, source in enumerate(sources):
        p = f"{path}[{i}]"
        prefix = source.get("prefix", "")
        if prefix:
            errs += [invalid(f"{p}.prefix", prefix, m) for m in env_var_name(prefix)]
        refs = [r for r in ("configMapRef", "secretRef") if source.get(r) is not None]
        for ref in refs:
            name = source[ref].get("name", "")
            if not name:
                errs.append(required(f"{p}.{ref}.name"))
            else:
                errs += [invalid(f"{p}.{ref}.name", name, m) for m in dns1123_subdomain(name)]
        if not refs:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(refs) > 1:
            errs.append(forbidden(path, "may not have more than one field specified at a time"))
    return errs


_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _native(name: str) -> bool:
    """helper.IsNativeResource: no domain, or a kubernetes.io one."""
    return "/" not in name or "kubernetes.io/" in name


def _resource_name(name: str, path: str) -> Errs:
    """validateContainerResourceName."""
    errs = [invalid(path, name, m) for m in qualified_name(name)]
    if "/" not in name:
        if name not in _CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _native(name) and (name.startswith("requests.") or qualified_name("requests." + name)):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _resources(resources: Obj, path: str) -> Errs:
    """ValidateResourceRequirements for a container: resource names, non-negative quantities,
    requests within limits (equal to them for resources that cannot be overcommitted).
    Go walks the maps in random order; kubelab reports them sorted."""
    errs: Errs = []
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for name in sorted(limits):
        p = f"{path}.limits[{name}]"
        errs += _resource_name(name, p)
        errs += _non_negative_quantity(limits[name], p)
    for name in sorted(requests):
        p = f"{path}.requests[{name}]"
        request = requests[name]
        errs += _resource_name(name, p)
        errs += _non_negative_quantity(request, p)
        overcommit = _native(name) and not name.startswith("hugepages-")
        if name in limits:
            wanted, limit = parse_quantity(request).value, parse_quantity(limits[name]).value
            if wanted != limit and not overcommit:
                errs.append(invalid(f"{path}.requests", request, f"must be equal to {name} limit of {limits[name]}"))
            elif wanted > limit:
                errs.append(invalid(f"{path}.requests", request,
                                    f"must be less than or equal to {name} limit of {limits[name]}"))
        elif not overcommit:
            errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return errs


def _non_negative_quantity(value: str, path: str) -> Errs:
    """ValidateNonnegativeQuantity."""
    if parse_quantity(value).value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def _volumes(volumes: list[Obj], path: str) -> tuple[Errs, set[str]]:
    errs: Errs = []
    names: set[str] = set()
    for i, v in enumerate(volumes):
        p = f"{path}[{i}]"
        name = v.get("name", "")
        if not name:
            errs.append(required(f"{p}.name"))
        else:
            errs += [invalid(f"{p}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        sources = [k for k in v if k != "name"]
        if len(sources) > 1:
            errs.append(forbidden(f"{p}.{sources[1]}", "may not specify more than 1 volume type"))
        elif not sources:
            errs.append(required(p, "must specify a volume type"))
        claim = v.get("persistentVolumeClaim")
        if isinstance(claim, dict) and not claim.get("claimName"):
            errs.append(required(f"{p}.persistentVolumeClaim.claimName"))
        host = v.get("hostPath")
        if isinstance(host, dict):
            if not host.get("path"):
                errs.append(required(f"{p}.hostPath.path"))
            if host.get("type", "") not in _HOST_PATH_TYPES:
                errs.append(not_supported(f"{p}.hostPath.type", host["type"], _HOST_PATH_TYPES))
    return errs, names


def _host_port_conflicts(containers: list[Obj], path: str) -> Errs:
    """checkHostPortConflicts: one protocol/hostIP/hostPort for the whole pod."""
    errs: Errs = []
    seen: set[str] = set()
    for i, c in enumerate(containers):
        for j, port in enumerate(c.get("ports") or []):
            if not port.get("hostPort"):
                continue
            key = f"{port.get('protocol', '')}/{port.get('hostIP', '')}/{port['hostPort']}"
            if key in seen:
                errs.append(duplicate(f"{path}[{i}].ports[{j}].hostPort", key))
            seen.add(key)
    return errs


_SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")


def _seccomp(context: Any, path: str) -> Errs:
    """validateSeccompProfileField: a known type; Localhost needs its localhostProfile."""
    profile = context.get("seccompProfile") if isinstance(context, dict) else None
    if not isinstance(profile, dict):
        return []
    kind = profile.get("type", "")
    if not kind:
        return [required(f"{path}.seccompProfile.type", "type is required when seccompProfile is set")]
    if kind not in _SECCOMP_TYPES:
        return [not_supported(f"{path}.seccompProfile.type", kind, _SECCOMP_TYPES)]
    if kind == "Localhost" and profile.get("localhostProfile") is None:
        return [required(f"{path}.seccompProfile.localhostProfile", "must be set when seccomp type is Localhost")]
    return []


def pod_spec(spec: Obj, path: str, restart_policies: tuple[str, ...] = _RESTART,
             claims: frozenset[str] = frozenset()) -> Errs:
    """ValidatePodSpec: containers, volumes, policies. ``restart_policies`` narrows what
    templates allow (Deployments: only Always; Jobs: OnFailure or Never). ``claims`` are a
    StatefulSet's volumeClaimTemplates, which its containers may mount too."""
    errs, volumes = _volumes(spec.get("volumes") or [], f"{path}.volumes")
    volumes |= claims
    containers = spec.get("containers") or []
    if not containers:
        errs.append(required(f"{path}.containers"))
    grace = spec.get("terminationGracePeriodSeconds")
    grace = grace if isinstance(grace, int) else None
    errs += _containers(containers, f"{path}.containers", volumes, grace)
    errs += _host_port_conflicts(containers, f"{path}.containers")
    errs += _containers(spec.get("initContainers") or [], f"{path}.initContainers", volumes, grace)
    errs += _seccomp(spec.get("securityContext"), f"{path}.securityContext")
    for group in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(group) or []):
            if isinstance(c, dict):
                errs += _seccomp(c.get("securityContext"), f"{path}.{group}[{i}].securityContext")
    names = [c.get("name") for c in containers]
    for i, c in enumerate(spec.get("initContainers") or []):
        if c.get("name") and c.get("name") in names:
            errs.append(duplicate(f"{path}.initContainers[{i}].name", c["name"]))
    restart = spec.get("restartPolicy", "")
    if restart not in restart_policies:
        errs.append(not_supported(f"{path}.restartPolicy", restart, restart_policies) if restart
                    else required(f"{path}.restartPolicy"))
    dns = spec.get("dnsPolicy", "")
    if dns not in _DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and deadline <= 0:
        errs.append(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"))
    errs += _labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    if spec.get("serviceAccountName"):
        errs += [invalid(f"{path}.serviceAccountName", spec["serviceAccountName"], m)
                 for m in dns1123_subdomain(spec["serviceAccountName"])]
    for i, t in enumerate(spec.get("tolerations") or []):
        op = t.get("operator", "Equal")
        if op not in ("Equal", "Exists"):
            errs.append(not_supported(f"{path}.tolerations[{i}].operator", op, ("Equal", "Exists")))
        elif op == "Exists" and t.get("value"):
            errs.append(invalid(f"{path}.tolerations[{i}].operator", t["value"],
                                "value must be empty when `operator` is 'Exists'"))
        effect = t.get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(not_supported(f"{path}.tolerations[{i}].effect", effect,
                                      ("NoSchedule", "PreferNoSchedule", "NoExecute")))
    return errs


_POD_UPDATE = ("pod updates may not change fields other than `spec.containers[*].image`,"
               "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
               "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
               "(allow it to be set to 1 if it was previously negative)")


def _pod_update(new: Obj, old: Obj) -> Errs:
    """ValidatePodUpdate: a pod's spec is fixed once created, images and a few fields aside."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    errs: Errs = []
    old_tol = old_spec.get("tolerations") or []
    new_tol = new_spec.get("tolerations") or []
    if new_tol[: len(old_tol)] != old_tol:
        errs.append(forbidden("spec.tolerations", "existing toleration can not be modified except its "
                                                  "tolerationSeconds"))

    def munged(spec: Obj) -> Obj:
        spec = json.loads(json.dumps(spec))
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                c.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
            spec.pop(key, None)
        return spec

    a, b = munged(old_spec), munged(new_spec)
    if a != b:
        lines = ["  core.PodSpec{"]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                field = key[0].upper() + key[1:]
                if key in a:
                    lines.append(f"- \t{field}: {json.dumps(a[key], sort_keys=True)},")
                if key in b:
                    lines.append(f"+ \t{field}: {json.dumps(b[key], sort_keys=True)},")
        lines.append("  }")
        errs.append(forbidden("spec", _POD_UPDATE + "\n" + "\n".join(lines) + "\n"))
    return errs


def _pod(obj: Obj, old: Obj | None) -> Errs:
    errs = pod_spec(obj.get("spec") or {}, "spec")
    if old is not None:
        errs += _pod_update(obj, old)
    return errs


# -- workloads --------------------------------------------------------------------------

def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    from kubelab.api.selectors import from_label_selector

    return from_label_selector(selector).matches(labels)


def _workload_template(spec: Obj, kind: str, restart: tuple[str, ...],
                       claims: frozenset[str] = frozenset()) -> Errs:
    errs: Errs = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    empty = selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")
    bad_selector = False
    if selector is None:
        errs.append(required("spec.selector"))
    else:
        found = _label_selector(selector, "spec.selector")
        bad_selector = bool(found)
        errs += found
        if empty:
            errs.append(invalid("spec.selector", go_label_selector(selector),
                                f"empty selector is invalid for {kind}"))
    errs += _labels(labels, "spec.template.metadata.labels")
    if selector is None or (not empty and not bad_selector and not _selector_matches(selector, labels)):
        errs.append(invalid("spec.template.metadata.labels", _Raw(go_string_map(labels or None)),
                            "`selector` does not match template `labels`"))
    errs += pod_spec(template.get("spec") or {}, "spec.template.spec", restart, claims)
    return errs


def _non_negative(spec: Obj, key: str) -> Errs:
    value = spec.get(key)
    if isinstance(value, int) and value < 0:
        return [invalid(f"spec.{key}", value, "must be greater than or equal to 0")]
    return []


def _int_or_percent(value: Any, path: str) -> tuple[Errs, int | None]:
    """An IntOrString that must be a count or a percentage: errors and the percent (if one)."""
    if isinstance(value, int):
        return ([invalid(path, value, "must be greater than or equal to 0")] if value < 0 else []), None
    if not re.match(r"^[0-9]+%$", str(value)):
        return [invalid(path, value, _regex_error("a valid percent string must be a numeric string followed by an "
                                                  "ending '%'", "[0-9]+%", "1%", "93%"))], None
    return [], int(str(value)[:-1])


def _is_zero(value: Any) -> bool:
    return value == 0 or value == "0%"


def _rolling(rolling: Obj, path: str) -> Errs:
    errs: Errs = []
    surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
    for key, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
        if value is None:
            continue
        found, percent = _int_or_percent(value, f"{path}.{key}")
        errs += found
        if key == "maxUnavailable" and percent is not None and percent > 100:
            errs.append(invalid(f"{path}.{key}", value, "must not be greater than 100%"))
    if _is_zero(unavailable) and _is_zero(surge):
        errs.append(invalid(f"{path}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0"))
    return errs


def _immutable_selector(obj: Obj, old: Obj | None) -> Errs:
    if old is None:
        return []
    new_sel, old_sel = (obj.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
    if (new_sel or {}) != (old_sel or {}):
        return [invalid("spec.selector", go_label_selector(new_sel), "field is immutable")]
    return []


def _deployment(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = _non_negative(spec, "replicas")
    errs += _workload_template(spec, "deployment", ("Always",))
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type", "")
    if kind not in ("Recreate", "RollingUpdate"):
        errs.append(not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate")))
    elif kind == "Recreate" and strategy.get("rollingUpdate") is not None:
        errs.append(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is "
                                                             "'Recreate'"))
    elif kind == "RollingUpdate":
        errs += _rolling(strategy.get("rollingUpdate") or {}, "spec.strategy.rollingUpdate")
    for key in ("revisionHistoryLimit", "minReadySeconds"):
        errs += _non_negative(spec, key)
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= spec.get("minReadySeconds", 0):
        errs.append(invalid("spec.progressDeadlineSeconds", deadline,
                            "must be greater than minReadySeconds"))
    return errs + _immutable_selector(obj, old)


def _replicaset(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = _non_negative(spec, "replicas") + _non_negative(spec, "minReadySeconds")
    return errs + _workload_template(spec, "replicaset", ("Always",)) + _immutable_selector(obj, old)


def _replicationcontroller(obj: Obj, old: Obj | None) -> Errs:
    """ValidateReplicationControllerSpec: a non-empty map selector that the template's labels
    match, only restartPolicy Always, no activeDeadlineSeconds (the selector may change)."""
    spec = obj.get("spec") or {}
    errs = _non_negative(spec, "minReadySeconds")
    selector = spec.get("selector") or {}
    if not selector:
        errs.append(required("spec.selector"))
    errs += _labels(selector, "spec.selector")
    errs += _non_negative(spec, "replicas")
    template = spec.get("template")
    if template is None:
        return errs + [required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        errs.append(invalid("spec.template.metadata.labels", _Raw(go_string_map(labels or None)),
                            "`selector` does not match template `labels`"))
    errs += _labels(labels, "spec.template.metadata.labels")
    pod = template.get("spec") or {}
    errs += pod_spec(pod, "spec.template.spec", ("Always",))
    if pod.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                              "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errs


def _daemonset(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = _workload_template(spec, "daemonset", ("Always",))
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") not in ("OnDelete", "RollingUpdate"):
        errs.append(not_supported("spec.updateStrategy.type", strategy.get("type", ""), ("OnDelete", "RollingUpdate")))
    return errs + _immutable_selector(obj, old)


def _statefulset(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    templates = [t for t in spec.get("volumeClaimTemplates") or () if isinstance(t, dict)]
    claims = frozenset((t.get("metadata") or {}).get("name", "") for t in templates)
    errs = _non_negative(spec, "replicas") + _workload_template(spec, "statefulset", ("Always",), claims)
    for i, t in enumerate(templates):
        errs += claim_spec(t.get("spec") or {}, f"spec.volumeClaimTemplates[{i}].spec")
    policy = spec.get("podManagementPolicy", "")
    if policy not in ("OrderedReady", "Parallel"):
        errs.append(not_supported("spec.podManagementPolicy", policy, ("OrderedReady", "Parallel")))
    return errs + _immutable_selector(obj, old)


def _job(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        errs += _non_negative(spec, key)
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= 0:
        errs.append(invalid("spec.activeDeadlineSeconds", deadline, "must be greater than 0"))
    template = spec.get("template") or {}
    errs += _workload_template(spec, "job", ("OnFailure", "Never"))
    if old is not None and (old.get("spec") or {}).get("template") != template:
        errs.append(invalid("spec.template", _Raw("core.PodTemplateSpec{...}"), "field is immutable"))
    return errs + _immutable_selector(obj, old)


def _cronjob(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    if not spec.get("schedule"):
        errs.append(required("spec.schedule"))
    else:
        try:
            cron.parse(spec["schedule"])
        except cron.ScheduleError as e:
            errs.append(invalid("spec.schedule", spec["schedule"], str(e)))
    zone = spec.get("timeZone")
    if zone is not None and cron.time_zone(zone) is None:
        errs.append(invalid("spec.timeZone", zone, f"unknown time zone {zone}"))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errs += _non_negative(spec, key)
    policy = spec.get("concurrencyPolicy", "")
    if policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    errs += pod_spec(template.get("spec") or {}, "spec.jobTemplate.spec.template.spec", ("OnFailure", "Never"))
    if len((obj.get("metadata") or {}).get("name", "")) > 52:
        errs.append(invalid("metadata.name", obj["metadata"]["name"], "must be no more than 52 characters"))
    return errs


# -- services ---------------------------------------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _go_service_port(port: Obj) -> _Raw:
    target = port.get("targetPort", 0)
    t = (f"intstr.IntOrString{{Type:0, IntVal:{target}, StrVal:\"\"}}" if isinstance(target, int)
         else f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{json.dumps(target)}}}")
    app = port.get("appProtocol")
    app_text = f"(*string)({json.dumps(app)})" if app else "(*string)(nil)"
    return _Raw(f'core.ServicePort{{Name:{json.dumps(port.get("name", ""))}, Protocol:'
                f'{json.dumps(port.get("protocol", ""))}, AppProtocol:{app_text}, Port:{port.get("port", 0)}, '
                f'TargetPort:{t}, NodePort:{port.get("nodePort", 0)}}}')


_IP_FAMILIES = ("IPv4", "IPv6")


def _ip_families(spec: Obj, old: Obj | None) -> Errs:
    """The families a new Service asks for, on kubelab's single-stack IPv4 cluster: an unknown
    family is unsupported (ValidateService); IPv6 or RequireDualStack is refused by the
    registry's allocator (initIPFamilyFields in alloc.go)."""
    if old is not None or spec.get("type") == "ExternalName":
        return []
    errs: Errs = []
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in _IP_FAMILIES:
            errs.append(not_supported(f"spec.ipFamilies[{i}]", family, _IP_FAMILIES))
        elif family != "IPv4":
            errs.append(invalid(f"spec.ipFamilies[{i}]", family, "not configured on this cluster"))
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        errs.append(invalid("spec.ipFamilyPolicy", "RequireDualStack", "this cluster is not configured for dual-stack services"))
    return errs


def _service(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    kind = spec.get("type", "")
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if kind not in _SERVICE_TYPES:
        errs.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    if kind == "ExternalName":
        name = spec.get("externalName", "")
        if not name:
            errs.append(required("spec.externalName"))
        else:
            errs += [invalid("spec.externalName", name, m) for m in dns1123_subdomain(name.rstrip("."))]
    elif not ports and not headless:
        errs.append(required("spec.ports"))
    if kind == "ExternalName" and spec.get("clusterIP") not in (None, "", "None"):
        errs.append(forbidden("spec.clusterIP", "may not be set for ExternalName services"))
    if headless and kind in ("NodePort", "LoadBalancer"):
        errs.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services"))
    names: set[str] = set()
    seen: set[tuple[Any, str]] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            errs.append(required(f"{p}.name"))
        elif name:
            errs += [invalid(f"{p}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        errs += [invalid(f"{p}.port", port.get("port", 0), m) for m in port_range(port.get("port", 0))]
        proto = port.get("protocol", "")
        if proto not in _PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", proto, _PROTOCOLS) if proto else required(f"{p}.protocol"))
        target = port.get("targetPort", 0)
        if isinstance(target, int):
            errs += [invalid(f"{p}.targetPort", target, m) for m in port_range(target)]
        else:
            errs += [invalid(f"{p}.targetPort", target, m) for m in port_name(target)]
        node_port = port.get("nodePort")
        if node_port:
            if kind in ("ClusterIP", "ExternalName"):
                errs.append(forbidden(f"{p}.nodePort", f"may not be used when `type` is '{kind}'"))
            else:
                errs += [invalid(f"{p}.nodePort", node_port, m) for m in port_range(node_port)]
        key = (port.get("port"), proto)
        if key in seen:
            errs.append(duplicate(p, _go_service_port(port)))
        seen.add(key)
    errs += _labels(spec.get("selector"), "spec.selector")
    errs += _ip_families(spec, old)
    affinity = spec.get("sessionAffinity", "")
    if affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP")
        new_ip = spec.get("clusterIP")
        if old_ip and new_ip and new_ip != old_ip and kind != "ExternalName" and \
                (old.get("spec") or {}).get("type") != "ExternalName":
            errs.append(invalid("spec.clusterIPs[0]", _Raw("[]string{" + json.dumps(new_ip) + "}"),
                                "may not change once set"))
    return errs


# -- config, secrets, namespaces --------------------------------------------------------

def _keys(obj: Obj, field: str) -> Errs:
    errs: Errs = []
    for key in obj.get(field) or {}:
        errs += [invalid(f"{field}[{key}]", key, m) for m in config_key(key)]
    return errs


def _immutable_data(obj: Obj, old: Obj | None, fields: tuple[str, ...]) -> Errs:
    if old is None or not old.get("immutable"):
        return []
    errs: Errs = []
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            errs.append(forbidden(field, "field is immutable when `immutable` is set"))
    if not obj.get("immutable"):
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    return errs


def _configmap(obj: Obj, old: Obj | None) -> Errs:
    errs = _keys(obj, "data") + _keys(obj, "binaryData")
    for key in obj.get("binaryData") or {}:
        if key in (obj.get("data") or {}):
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    size = sum(len(k) + len(v) for k, v in (obj.get("data") or {}).items())
    if size > 1024 * 1024:
        errs.append(Cause("", "Too long: must have at most 1048576 bytes", "FieldValueTooLong"))
    return errs + _immutable_data(obj, old, ("data", "binaryData"))


def _secret(obj: Obj, old: Obj | None) -> Errs:
    errs = _keys(obj, "data")
    kind = obj.get("type", "")
    data = obj.get("data") or {}
    if kind == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errs.append(required(f"data[{key}]"))
    elif kind == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" not in data:
        errs.append(required("data[.dockerconfigjson]"))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        errs.append(required("data[username]"))
    elif kind == "kubernetes.io/dockercfg" and ".dockercfg" not in data:
        errs.append(required("data[.dockercfg]"))
    elif kind == "kubernetes.io/ssh-auth" and not data.get("ssh-privatekey"):
        errs.append(required("data[ssh-privatekey]"))
    elif kind == "kubernetes.io/service-account-token" and \
            not ((obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/service-account.name"):
        errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if old is not None and old.get("type", "") != kind:
        errs.append(invalid("type", kind, "field is immutable"))
    return errs + _immutable_data(obj, old, ("data",))


# -- storage ----------------------------------------------------------------------------
_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                    "Socket")
# PersistentVolumeSource's members: exactly one of them says where the volume is.
_PV_SOURCES = ("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
               "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs",
               "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")


def _access_modes(modes: list[Any], path: str) -> Errs:
    errs = [not_supported(path, m, _ACCESS_MODES) for m in modes if m not in _ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def _positive_quantity(value: Any, path: str) -> Errs:
    try:
        if parse_quantity(value).value <= 0:
            return [invalid(path, str(value), "must be greater than zero")]
    except ValueError:
        return [invalid(path, str(value), "quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    return []


def _class_name(spec: Obj, path: str) -> Errs:
    name = spec.get("storageClassName")
    return [invalid(path, name, m) for m in dns1123_subdomain(name)] if name else []


def claim_spec(spec: Obj, path: str) -> Errs:
    """ValidatePersistentVolumeClaimSpec: modes, a positive storage request, the class name."""
    modes = spec.get("accessModes") or []
    errs: Errs = []
    if not modes:
        errs.append(required(f"{path}.accessModes", "at least 1 access mode is required"))
    if spec.get("selector") is not None:
        errs += _label_selector(spec["selector"], f"{path}.selector")
    errs += _access_modes(modes, f"{path}.accessModes")
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        errs.append(required(f"{path}.resources[storage]"))
    else:
        errs += _positive_quantity(requests["storage"], f"{path}.resources[storage]")
    errs += _class_name(spec, f"{path}.storageClassName")
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        errs.append(not_supported(f"{path}.volumeMode", mode, ("Block", "Filesystem")))
    return errs


def _persistentvolume(obj: Obj, old: Obj | None) -> Errs:
    """ValidatePersistentVolume(Spec)."""
    spec = obj.get("spec") or {}
    errs: Errs = []
    modes = spec.get("accessModes") or []
    if not modes:
        errs.append(required("spec.accessModes"))
    errs += _access_modes(modes, "spec.accessModes")
    capacity = spec.get("capacity") or {}
    if not capacity:
        errs.append(required("spec.capacity"))
    for resource, value in sorted(capacity.items()):
        errs += _positive_quantity(value, f"spec.capacity[{resource}]")
    errs += _class_name(spec, "spec.storageClassName")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in ("Delete", "Recycle", "Retain"):
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, ("Delete", "Recycle", "Retain")))
    sources = [k for k in _PV_SOURCES if k in spec]
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errs.append(forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))
    local = spec.get("local")
    if isinstance(local, dict):
        if not local.get("path"):
            errs.append(required("spec.local.path"))
        if not ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms"):
            errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    host = spec.get("hostPath")
    if isinstance(host, dict):
        if not host.get("path"):
            errs.append(required("spec.hostPath.path"))
        if host.get("type", "") not in _HOST_PATH_TYPES:
            errs.append(not_supported("spec.hostPath.type", host["type"], _HOST_PATH_TYPES))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        errs.append(not_supported("spec.volumeMode", mode, ("Block", "Filesystem")))
    return errs


def _persistentvolumeclaim(obj: Obj, old: Obj | None) -> Errs:
    """ValidatePersistentVolumeClaim(Update): a claim's spec is fixed once made, but for a
    bound claim's storage request."""
    spec = obj.get("spec") or {}
    errs = claim_spec(spec, "spec")
    if old is not None:
        mine, theirs = dict(spec), dict(old.get("spec") or {})
        if (old.get("status") or {}).get("phase") == "Bound":
            mine.pop("resources", None)
            theirs.pop("resources", None)
        if not theirs.get("volumeName"):
            mine.pop("volumeName", None)  # the binder may fill it once
            theirs.pop("volumeName", None)
        mine.pop("volumeAttributesClassName", None)
        theirs.pop("volumeAttributesClassName", None)
        if mine != theirs:
            errs.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                  "volumeAttributesClassName for bound claims"))
    return errs


def _storageclass(obj: Obj, old: Obj | None) -> Errs:
    """ValidateStorageClass(Update)."""
    errs: Errs = []
    provisioner = obj.get("provisioner") or ""
    if not provisioner:
        errs.append(required("provisioner", provisioner))
    else:
        errs += [invalid("provisioner", provisioner, m) for m in qualified_name(provisioner.lower())]
    policy = obj.get("reclaimPolicy") or ""
    if policy and policy not in ("Delete", "Retain"):
        errs.append(not_supported("reclaimPolicy", policy, ("Delete", "Retain")))
    mode = obj.get("volumeBindingMode")
    if mode is None:
        errs.append(required("volumeBindingMode"))
    elif mode not in ("Immediate", "WaitForFirstConsumer"):
        errs.append(not_supported("volumeBindingMode", mode, ("Immediate", "WaitForFirstConsumer")))
    if old is not None:
        if (obj.get("parameters") or {}) != (old.get("parameters") or {}):
            errs.append(forbidden("parameters", "updates to parameters are forbidden."))
        if provisioner != old.get("provisioner"):
            errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if policy != old.get("reclaimPolicy"):
            errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        if mode != old.get("volumeBindingMode"):
            errs.append(forbidden("volumeBindingMode", "field is immutable"))
    return errs


# -- RBAC (pkg/apis/rbac/validation) ----------------------------------------------------------

_RBAC = "rbac.authorization.k8s.io"


def _policy_rule(rule: Obj, namespaced: bool, p: str) -> Errs:
    """ValidatePolicyRule."""
    errs: Errs = []
    if not rule.get("verbs"):
        errs.append(required(f"{p}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errs.append(invalid(f"{p}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(invalid(f"{p}.nonResourceURLs", urls,
                                "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(required(f"{p}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(required(f"{p}.resources", "resource rules must supply at least one resource"))
    return errs


def _role(obj: Obj, old: Obj | None) -> Errs:
    namespaced = obj.get("kind") == "Role"
    errs: Errs = []
    for i, rule in enumerate(obj.get("rules") or []):
        errs += _policy_rule(rule or {}, namespaced, f"rules[{i}]")
    return errs


def _subject(subject: Obj, namespaced: bool, p: str) -> Errs:
    """ValidateRoleBindingSubject."""
    errs: Errs = []
    name, kind, group = subject.get("name", ""), subject.get("kind", ""), subject.get("apiGroup", "")
    if not name:
        errs.append(required(f"{p}.name"))
    if kind == "ServiceAccount":
        if name:
            errs += [invalid(f"{p}.name", name, m) for m in dns1123_subdomain(name)]
        if group:
            errs.append(not_supported(f"{p}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(f"{p}.namespace"))
    elif kind in ("User", "Group"):
        if group != _RBAC:
            errs.append(not_supported(f"{p}.apiGroup", group, [_RBAC]))
    else:
        errs.append(not_supported(f"{p}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return errs


def _go_role_ref(ref: Obj) -> _Raw:
    return _Raw(f'rbac.RoleRef{{APIGroup:{json.dumps(ref.get("apiGroup", ""))}, Kind:{json.dumps(ref.get("kind", ""))}, '
                f'Name:{json.dumps(ref.get("name", ""))}}}')


def _role_binding(obj: Obj, old: Obj | None) -> Errs:
    """ValidateRoleBinding / ValidateClusterRoleBinding, and their updates' immutable roleRef."""
    namespaced = obj.get("kind") == "RoleBinding"
    ref = obj.get("roleRef") or {}
    errs: Errs = []
    if ref.get("apiGroup", "") != _RBAC:
        errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [_RBAC]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind", "") not in kinds:
        errs.append(not_supported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        errs.append(required("roleRef.name"))
    else:
        errs += [invalid("roleRef.name", ref["name"], m) for m in path_segment_name(ref["name"])]
    for i, subject in enumerate(obj.get("subjects") or []):
        errs += _subject(subject or {}, namespaced, f"subjects[{i}]")
    if old is not None and (old.get("roleRef") or {}) != ref:
        errs.append(invalid("roleRef", _go_role_ref(ref), "cannot change roleRef"))
    return errs


def _poddisruptionbudget(obj: Obj, old: Obj | None) -> Errs:
    """ValidatePodDisruptionBudgetSpec: one bound at most, each a non-negative count or a
    percentage of at most 100%."""
    spec = obj.get("spec") or {}
    errs: Errs = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        # Go prints the spec struct here with pointer addresses; kubelab shows its type only
        errs.append(invalid("spec", _Raw("policy.PodDisruptionBudgetSpec{...}"),
                            "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        if value is None:
            continue
        if isinstance(value, int) and value < 0:
            errs.append(invalid(f"spec.{field}", value, "must be greater than or equal to 0"))
        elif isinstance(value, str):
            if not value.endswith("%") or not value[:-1].isdigit():
                errs.append(invalid(f"spec.{field}", value, "a valid percent string must be a numeric string "
                                                            "followed by an ending '%'"))
            elif int(value[:-1]) > 100:
                errs.append(invalid(f"spec.{field}", value, "must not be greater than 100%"))
    return errs


_LIMIT_TYPES = ("Container", "PersistentVolumeClaim", "Pod")


def _limitrange(obj: Obj, old: Obj | None) -> Errs:
    """ValidateLimitRange: one item per type, no defaults on a Pod item, and for each
    resource min <= defaultRequest <= default <= max (kubelab reports resources sorted)."""
    errs: Errs = []
    seen: set[str] = set()
    for i, item in enumerate((obj.get("spec") or {}).get("limits") or []):
        path = f"spec.limits[{i}]"
        kind = item.get("type") or ""
        if kind in seen:
            errs.append(duplicate(f"{path}.type", kind))
        seen.add(kind)
        # validateLimitRangeTypeName: a qualified name, standard unless it has a domain
        errs += [invalid(f"{path}.type", kind, m) for m in qualified_name(kind)]
        if "/" not in kind and kind not in _LIMIT_TYPES:
            errs.append(invalid(f"{path}.type", kind, "must be a standard limit type or fully qualified"))
        if kind == "Pod":
            for field in ("default", "defaultRequest"):
                if item.get(field):
                    errs.append(forbidden(f"{path}.{field}", "may not be specified when `type` is 'Pod'"))
        values = {f: {k: parse_quantity(v) for k, v in (item.get(f) or {}).items()}
                  for f in ("min", "max", "default", "defaultRequest", "maxLimitRequestRatio")}
        for name in sorted(set().union(*values.values())):
            lo, hi = values["min"].get(name), values["max"].get(name)
            limit, request = values["default"].get(name), values["defaultRequest"].get(name)
            key = f"{path}[{name}]"
            if lo is not None and hi is not None and lo.value > hi.value:
                errs.append(invalid(f"{key}.min", str(lo), f"min value {lo} is greater than max value {hi}"))
            if request is not None:
                if lo is not None and lo.value > request.value:
                    errs.append(invalid(f"{key}.defaultRequest", str(request),
                                        f"min value {lo} is greater than default request value {request}"))
                if hi is not None and request.value > hi.value:
                    errs.append(invalid(f"{key}.defaultRequest", str(request),
                                        f"default request value {request} is greater than max value {hi}"))
            if request is not None and limit is not None and request.value > limit.value:
                errs.append(invalid(f"{key}.defaultRequest", str(request),
                                    f"default request value {request} is greater than default limit value {limit}"))
            if limit is not None:
                if lo is not None and lo.value > limit.value:
                    errs.append(invalid(f"{key}.default", str(limit),
                                        f"min value {lo} is greater than default value {limit}"))
                if hi is not None and limit.value > hi.value:
                    errs.append(invalid(f"{key}.default", str(limit),
                                        f"default value {limit} is greater than max value {hi}"))
            ratio = values["maxLimitRequestRatio"].get(name)
            if ratio is not None and ratio.value < 1:
                errs.append(invalid(f"{key}.maxLimitRequestRatio", str(ratio), f"ratio {ratio} is less than 1"))
    return errs


# -- networking.k8s.io (validation.go in pkg/apis/networking/validation) ------------------------
_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_BAD_PATH_PARTS = ("//", "/./", "/../", "%2f", "%2F")
_BAD_PATH_ENDS = ("/..", "/.")


def _ingress_backend(backend: Obj, path: str) -> Errs:
    """validateIngressBackend: a Service (name and one of port name/number) or a resource."""
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        errs = [] if resource.get("kind") else [required(f"{path}.resource.kind")]
        return errs + ([] if resource.get("name") else [required(f"{path}.resource.name")])
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    errs: Errs = []
    name = service.get("name") or ""
    if not name:
        errs.append(required(f"{path}.service.name"))
    errs += [invalid(f"{path}.service.name", name, m) for m in (dns1035_label(name) if name else [])]
    port = service.get("port") or {}
    if port.get("name") and port.get("number"):
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif port.get("name"):
        errs += [invalid(f"{path}.service.port.name", port["name"], m) for m in port_name(port["name"])]
    elif port.get("number"):
        errs += [invalid(f"{path}.service.port.number", port["number"], m) for m in port_range(port["number"])]
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


def _ingress_path(item: Obj, path: str) -> Errs:
    """validateHTTPIngressPath: pathType is required, Exact and Prefix paths are absolute and clean."""
    kind, value = item.get("pathType"), item.get("path") or ""
    if kind is None:
        return [required(f"{path}.pathType", "pathType must be specified")]
    errs: Errs = []
    if kind in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(f"{path}.path", value, "must be an absolute path"))
        errs += [invalid(f"{path}.path", value, f"must not contain '{bad}'") for bad in _BAD_PATH_PARTS if bad in value]
        errs += [invalid(f"{path}.path", value, f"cannot end with '{bad}'") for bad in _BAD_PATH_ENDS
                 if value.endswith(bad)]
    elif kind == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        errs.append(not_supported(f"{path}.pathType", kind, _PATH_TYPES))
    return errs + _ingress_backend(item.get("backend") or {}, f"{path}.backend")


def _ingress_host(host: str, path: str) -> Errs:
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", host) or ":" in host:
        return [invalid(path, host, "must be a DNS name, not an IP address")]
    if "*" in host:
        rest = host[2:] if host.startswith("*.") else ""
        if not rest or "*" in rest or dns1123_subdomain(rest):
            return [invalid(path, host, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid "
                                        "DNS subdomain, which must consist of lower case alphanumeric characters, "
                                        "'-' or '.' and end with an alphanumeric character (e.g. '*.example.com', "
                                        "regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                                        "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]
        return []
    return [invalid(path, host, m) for m in dns1123_subdomain(host)]


def _ingress(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    rules = spec.get("rules")
    errs: Errs = []
    if not rules and spec.get("defaultBackend") is None:
        shown = "[]networking.IngressRule(nil)" if rules is None else "[]networking.IngressRule{}"
        errs.append(invalid("spec", _Raw(shown), "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        errs += _ingress_backend(spec["defaultBackend"], "spec.defaultBackend")
    for i, rule in enumerate(rules or ()):
        at = f"spec.rules[{i}]"
        if rule.get("host"):
            errs += _ingress_host(rule["host"], f"{at}.host")
        http = rule.get("http")
        if http is None:
            continue
        if not http.get("paths"):
            errs.append(required(f"{at}.http.paths"))
        for j, item in enumerate(http.get("paths") or ()):
            errs += _ingress_path(item, f"{at}.http.paths[{j}]")
    for i, tls in enumerate(spec.get("tls") or ()):
        for j, host in enumerate(tls.get("hosts") or ()):
            errs += _ingress_host(host, f"spec.tls[{i}].hosts[{j}]") if "*" in host else []
    name = spec.get("ingressClassName")
    if name:
        errs += [invalid("spec.ingressClassName", name, m) for m in dns1123_subdomain(name)]
    return errs


def _ingressclass(obj: Obj, old: Obj | None) -> Errs:
    controller = (obj.get("spec") or {}).get("controller") or ""
    if not controller:
        return [required("spec.controller")]
    errs: Errs = []
    if len(controller) > 250:
        errs.append(Cause("spec.controller", "Too long: may not be more than 250 bytes", "FieldValueTooLong"))
    if old is not None and (old.get("spec") or {}).get("controller") != controller:
        errs.append(invalid("spec.controller", controller, "field is immutable"))
    return errs


def _policy_port(port: Obj, path: str) -> Errs:
    """ValidateNetworkPolicyPort: protocol, port, and endPort only after a numeric port, not below it."""
    errs: Errs = []
    protocol = port.get("protocol") or "TCP"
    if protocol not in ("SCTP", "TCP", "UDP"):
        errs.append(not_supported(f"{path}.protocol", protocol, ("SCTP", "TCP", "UDP")))
    value, end = port.get("port"), port.get("endPort")
    if isinstance(value, int):
        errs += [invalid(f"{path}.port", value, m) for m in port_range(value)]
        if end is not None and isinstance(end, int) and end < value:
            errs.append(invalid(f"{path}.endPort", end, "must be greater than or equal to `port`"))
    elif isinstance(value, str):
        errs += [invalid(f"{path}.port", value, m) for m in port_name(value)]
        if end is not None:
            errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric"))
    elif end is not None:
        errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified"))
    return errs


def _policy_peer(peer: Obj, path: str) -> Errs:
    """ValidateNetworkPolicyPeer: one kind of peer (selectors may pair), a CIDR holding its excepts."""
    count = sum(peer.get(k) is not None for k in ("podSelector", "namespaceSelector", "ipBlock"))
    if count == 0:
        return [required(path, "must specify a peer")]
    block = peer.get("ipBlock")
    if block is None:
        return []
    if count > 1:
        return [forbidden(path, "may not specify both ipBlock and another peer")]
    cidr = block.get("cidr") or ""
    if not cidr:
        return [required(f"{path}.ipBlock.cidr")]
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return [invalid(f"{path}.ipBlock.cidr", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    errs: Errs = []
    for i, text in enumerate(block.get("except") or ()):
        at = f"{path}.ipBlock.except[{i}]"
        try:
            inner = ipaddress.ip_network(text, strict=False)
        except ValueError:
            errs.append(invalid(at, text, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
            continue
        if inner.version != network.version or not inner.subnet_of(network) or inner == network:  # type: ignore[arg-type]
            errs.append(invalid(at, text, "must be a strict subset of `cidr`"))
    return errs


def _networkpolicy(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = _label_selector(spec.get("podSelector") or {}, "spec.podSelector")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or ()):
            for j, port in enumerate(rule.get("ports") or ()):
                errs += _policy_port(port, f"spec.{direction}[{i}].ports[{j}]")
            for j, peer in enumerate(rule.get(peers_key) or ()):
                errs += _policy_peer(peer, f"spec.{direction}[{i}].{peers_key}[{j}]")
    types = spec.get("policyTypes") or []
    for i, kind in enumerate(types):
        if kind not in ("Egress", "Ingress"):
            errs.append(not_supported(f"spec.policyTypes[{i}]", kind, ("Egress", "Ingress")))
    if len(types) > 2:
        errs.append(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"))
    return errs


# pkg/apis/scheduling: the classes the API server makes at start (value, globalDefault), the
# prefix only they may use, and the highest value a user's class may have.
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
SYSTEM_PRIORITY_PREFIX = "system-"
HIGHEST_USER_PRIORITY = 1000000000
PREEMPTION_POLICIES = ("Never", "PreemptLowerPriority")


def _known_system_class(name: str, value: Any, global_default: bool) -> str | None:
    """IsKnownSystemPriorityClass: None when it is one, else why not."""
    if name not in SYSTEM_PRIORITY_CLASSES:
        return f"{name} is not a known system priority class"
    if value != SYSTEM_PRIORITY_CLASSES[name]:
        return f"value of {name} PriorityClass must be {SYSTEM_PRIORITY_CLASSES[name]}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return None


def _priorityclass(obj: Obj, old: Obj | None) -> Errs:
    """ValidatePriorityClass / ValidatePriorityClassUpdate (pkg/apis/scheduling/validation)."""
    errs: Errs = []
    name = (obj.get("metadata") or {}).get("name", "")
    value = obj.get("value", 0)
    if old is not None:
        if value != old.get("value", 0):
            errs.append(forbidden("value", "may not be changed in an update."))
        if obj.get("preemptionPolicy") != old.get("preemptionPolicy"):
            errs.append(invalid("preemptionPolicy", obj.get("preemptionPolicy"), "field is immutable"))
        return errs
    if name.startswith(SYSTEM_PRIORITY_PREFIX):
        why = _known_system_class(name, value, bool(obj.get("globalDefault")))
        if why is not None:
            errs.append(forbidden("metadata.name", f"priority class names with '{SYSTEM_PRIORITY_PREFIX}' prefix "
                                                   f"are reserved for system use only. error: {why}"))
    elif isinstance(value, int) and value > HIGHEST_USER_PRIORITY:
        errs.append(forbidden("value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"))
    policy = obj.get("preemptionPolicy")
    if policy not in PREEMPTION_POLICIES:
        errs.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
    return errs




_METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
_TARGET_TYPES = ("AverageValue", "Utilization", "Value")


def _positive(value: Any, path: str) -> Errs:
    return [invalid(path, value, "must be greater than 0")] if isinstance(value, int) and value <= 0 else []


def _hpa_metric(metric: Obj, path: str) -> Errs:
    """validateMetricSpec for the Resource and ContainerResource sources kubelab measures."""
    kind = metric.get("type", "")
    if not kind:
        return [required(f"{path}.type", "must specify a metric source type")]
    if kind not in _METRIC_TYPES:
        return [not_supported(f"{path}.type", kind, _METRIC_TYPES)]
    source_key = {"ContainerResource": "containerResource", "External": "external", "Object": "object",
                  "Pods": "pods", "Resource": "resource"}[kind]
    source = metric.get(source_key)
    if not isinstance(source, dict):
        return [required(f"{path}.{source_key}", "must populate information for the given metric source")]
    errs: Errs = []
    if kind in ("Resource", "ContainerResource"):
        if not source.get("name"):
            errs.append(required(f"{path}.{source_key}.name", "must specify a resource name"))
        if kind == "ContainerResource" and not source.get("container"):
            errs.append(required(f"{path}.{source_key}.container", "must specify a container"))
        target = source.get("target") or {}
        tpath = f"{path}.{source_key}.target"
        ttype = target.get("type", "")
        if not ttype:
            errs.append(required(f"{tpath}.type", "must specify a metric target type"))
        elif ttype not in _TARGET_TYPES:
            errs.append(not_supported(f"{tpath}.type", ttype, _TARGET_TYPES))
        if ttype == "Utilization" and target.get("averageUtilization") is None:
            errs.append(required(f"{tpath}.averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        errs += _positive(target.get("averageUtilization"), f"{tpath}.averageUtilization")
    return errs


def _scaling_rules(rules: Any, path: str) -> Errs:
    """validateScalingRules: windows up to an hour, policies of a known type and positive sizes."""
    if not isinstance(rules, dict):
        return []
    errs: Errs = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero"))
    elif isinstance(window, int) and window > 3600:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window, "must be less than or equal to 3600"))
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(f"{path}.selectPolicy", select, ("Disabled", "Max", "Min")))
    policies = rules.get("policies") or []
    if not policies and select != "Disabled":
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        ppath = f"{path}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            errs.append(not_supported(f"{ppath}.type", policy.get("type", ""), ("Percent", "Pods")))
        errs += _positive(policy.get("value", 0), f"{ppath}.value")
        period = policy.get("periodSeconds", 0)
        if isinstance(period, int) and period <= 0:
            errs.append(invalid(f"{ppath}.periodSeconds", period, "must be greater than zero"))
        elif isinstance(period, int) and period > 1800:
            errs.append(invalid(f"{ppath}.periodSeconds", period, "must be less than or equal to 1800"))
    return errs


def _hpa(obj: Obj, old: Obj | None) -> Errs:
    """ValidateHorizontalPodAutoscaler (pkg/apis/autoscaling/validation), scale-to-zero off."""
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    errs: Errs = []
    for key in ("kind", "name"):
        if not ref.get(key):
            errs.append(required(f"spec.scaleTargetRef.{key}"))
        else:
            errs += [invalid(f"spec.scaleTargetRef.{key}", ref[key], m) for m in path_segment_name(ref[key])]
    low = spec.get("minReplicas")
    if isinstance(low, int) and low < 1:
        errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    high = spec.get("maxReplicas", 0)
    if isinstance(high, int) and high < 1:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    elif isinstance(high, int) and isinstance(low, int) and high < low:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        errs += _hpa_metric(metric, f"spec.metrics[{i}]")
    behavior = spec.get("behavior") or {}
    errs += _scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
    errs += _scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errs


_BY_KIND: dict[str, Callable[[Obj, "Obj | None"], Errs]] = {
    "HorizontalPodAutoscaler": _hpa,
    "Role": _role, "ClusterRole": _role, "RoleBinding": _role_binding, "ClusterRoleBinding": _role_binding,
    "Pod": _pod, "Deployment": _deployment, "ReplicaSet": _replicaset, "DaemonSet": _daemonset,
    "ReplicationController": _replicationcontroller,
    "StatefulSet": _statefulset, "Job": _job, "CronJob": _cronjob, "Service": _service,
    "ConfigMap": _configmap, "Secret": _secret, "PersistentVolume": _persistentvolume,
    "PersistentVolumeClaim": _persistentvolumeclaim, "StorageClass": _storageclass, "LimitRange": _limitrange,
    "PodDisruptionBudget": _poddisruptionbudget,
    "Ingress": _ingress, "IngressClass": _ingressclass, "NetworkPolicy": _networkpolicy,
    "PriorityClass": _priorityclass,
}


def validate(obj: Obj, kind: Kind, old: Obj | None) -> list[Cause]:
    """Every field error of ``obj`` (a create when ``old`` is None, else an update of ``old``)."""
    errs = _metadata(obj, kind)
    check = _BY_KIND.get(kind.kind)
    if check is not None:
        errs += check(obj, old)
    return errs
