"""Server-side printing: objects -> a ``meta.k8s.io/v1`` Table, as kube-apiserver builds it.

The columns and cell values follow Kubernetes' own table printers for 1.32 (a pod's STATUS is
``Init:0/1``, ``CrashLoopBackOff``, ``Terminating``...; RESTARTS is ``2 (5s ago)``), so kubectl
and the notebook render the same table a real cluster would send. Columns with ``priority: 1``
are the extra ``-o wide`` ones.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from kubelab.api.objects import Obj
from kubelab.api.pods import print_pod

Row = tuple[list[Any], list[Any]]  # (normal cells, wide cells)

_NAME = ("Name", "string", "name", "Name must be unique within a namespace.")
_AGE = ("Age", "string", "", "Time since the object was created (from metadata.creationTimestamp).")


def parse_time(value: str | None) -> float | None:
    """Seconds since the epoch for an RFC 3339 timestamp; None when unset or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: ``45s``, ``2m5s``, ``15m``, ``3h20m``, ``5d``, ``2y30d``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: float) -> str:
    """translateTimestampSince: the age of a timestamp, ``<unknown>`` when unset."""
    at = parse_time(value)
    return "<unknown>" if at is None else human_duration(now - at)


# -- label selectors as kubectl formats them ---------------------------------------------
def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: ``a=1,b=2`` sorted by key, ``<none>`` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def selector_string(selector: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), sorted(expr.get("values") or [])
        text = {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op or "", "<error>")
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def format_label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: like :func:`selector_string`, ``<none>`` when empty."""
    return selector_string(selector) or "<none>"


def _containers(spec: Obj) -> list[Any]:
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


# -- pods ---------------------------------------------------------------------------------
def _pod(pod: Obj, now: float) -> Row:
    reason, ready, total, restarts, last = print_pod(pod)
    restart_text = str(restarts)
    if restarts and last is not None:
        restart_text = f"{restarts} ({human_duration(now - last)} ago)"
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ips = status.get("podIPs") or []
    gates = spec.get("readinessGates") or []
    gate_text = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gate_text = f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return ([pod["metadata"]["name"], f"{ready}/{total}", reason, restart_text, _age(pod, now)],
            [(ips[0].get("ip") if ips else "") or "<none>", spec.get("nodeName") or "<none>",
             status.get("nominatedNodeName") or "<none>", gate_text])


def _age(obj: Obj, now: float) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


# -- workloads ----------------------------------------------------------------------------
def _replicaset(rs: Obj, now: float) -> Row:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return ([rs["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
             status.get("readyReplicas", 0), _age(rs, now)],
            [*_containers(spec), format_label_selector(spec.get("selector"))])


def _replicationcontroller(rc: Obj, now: float) -> Row:
    """printReplicationController: a ReplicaSet's columns, the selector a plain label map."""
    spec, status = rc.get("spec") or {}, rc.get("status") or {}
    return ([rc["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
             status.get("readyReplicas", 0), _age(rc, now)],
            [*_containers(spec), format_labels(spec.get("selector"))])


def _deployment(d: Obj, now: float) -> Row:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    return ([d["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
             status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(d, now)],
            [*_containers(spec), selector_string(spec.get("selector"))])


def _daemonset(ds: Obj, now: float) -> Row:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    return ([ds["metadata"]["name"], status.get("desiredNumberScheduled", 0),
             status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
             status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
             format_labels(node_selector), _age(ds, now)],
            [*_containers(spec), format_label_selector(spec.get("selector"))])


def _statefulset(ss: Obj, now: float) -> Row:
    spec, status = ss.get("spec") or {}, ss.get("status") or {}
    return ([ss["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
             _age(ss, now)], _containers(spec))


def _has_condition(obj: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or ())


def _job(job: Obj, now: float) -> Row:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    done = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{done}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{done}/1 of {spec['parallelism']}"
    else:
        completions = f"{done}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration((end if end is not None else now) - start)
    if _has_condition(job, "Complete"):
        state = "Complete"
    elif _has_condition(job, "Failed"):
        state = "Failed"
    elif job["metadata"].get("deletionTimestamp"):
        state = "Terminating"
    elif _has_condition(job, "Suspended"):
        state = "Suspended"
    elif _has_condition(job, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    return ([job["metadata"]["name"], state, completions, duration, _age(job, now)],
            [*_containers(spec), format_label_selector(spec.get("selector"))])


def _cronjob(cj: Obj, now: float) -> Row:
    spec, status = cj.get("spec") or {}, cj.get("status") or {}
    last = since(status["lastScheduleTime"], now) if status.get("lastScheduleTime") else "<none>"
    suspend = spec.get("suspend")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ([cj["metadata"]["name"], spec.get("schedule", ""), spec.get("timeZone") or "<none>",
             "<unset>" if suspend is None else ("True" if suspend else "False"),
             len(status.get("active") or ()), last, _age(cj, now)],
            [*_containers(job_spec), format_label_selector(job_spec.get("selector"))])


def _controllerrevision(rev: Obj, now: float) -> Row:
    ref = next((r for r in rev["metadata"].get("ownerReferences") or () if r.get("controller")), None)
    owner = "<none>"
    if ref is not None:
        group = ref.get("apiVersion", "").rpartition("/")[0]
        owner = f"{ref.get('kind', '').lower()}{'.' + group if group else ''}/{ref.get('name', '')}"
    return [rev["metadata"]["name"], owner, rev.get("revision", 0), _age(rev, now)], []


# -- services and endpoints ---------------------------------------------------------------
def _lb_ips(svc: Obj, wide: bool) -> str:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    text = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress if i.get("ip") or i.get("hostname"))
    if not wide and len(text) > 16:
        text = text[:13] + "..."
    return text


def _external_ip(svc: Obj, wide: bool) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = _lb_ips(svc, wide)
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def port_string(ports: list[Obj] | None) -> str:
    """makePortString: ``80/TCP``, ``80:30001/TCP``, joined by commas."""
    pieces = []
    for p in ports or []:
        proto = p.get("protocol", "TCP")
        pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def _service(svc: Obj, now: float, wide: bool) -> Row:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return ([svc["metadata"]["name"], spec.get("type", "ClusterIP"), ips[0] if ips else "<none>",
             _external_ip(svc, wide), port_string(spec.get("ports")) or "<none>", _age(svc, now)],
            [format_labels(spec.get("selector"))])


def _join_host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(ep: Obj) -> str:
    """formatEndpoints: up to three ``ip:port`` then ``+ N more...``; ``<none>`` without subsets."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count, more = 0, False
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        for port in ports or [None]:
            count += len(addresses)
            for addr in addresses:
                if len(shown) == 3:
                    more = True
                    break
                shown.append(addr.get("ip", "") if port is None else _join_host_port(addr.get("ip", ""), port.get("port")))
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if more else text


def _with_more(items: list[str], count: int) -> str:
    text = ",".join(items[:3])
    if count > 3:
        return f"{text} + {count - 3} more..."
    return text or "<unset>"


def _endpoints(ep: Obj, now: float) -> Row:
    return [ep["metadata"]["name"], format_endpoints(ep), _age(ep, now)], []


def _slice_port(port: Obj) -> str:
    if port.get("port") is not None:
        return str(port["port"])
    return port["name"] if port.get("name") is not None else "*"


def _endpointslice(es: Obj, now: float) -> Row:
    ports = [_slice_port(p) for p in es.get("ports") or []]
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return ([es["metadata"]["name"], es.get("addressType", ""), _with_more(ports, len(ports)),
             _with_more(addresses, len(addresses)), _age(es, now)], [])


# -- networking.k8s.io ----------------------------------------------------------------------
_LOAD_BALANCER_WIDTH = 16


def ingress_address(ing: Obj, wide: bool = True) -> str:
    """The controller's addresses, sorted and unique, cut to 16 characters unless wide
    (ingressLoadBalancerStatusStringer in printers.go)."""
    found = {i.get("ip") or i.get("hostname") for i in ((ing.get("status") or {}).get("loadBalancer") or {})
             .get("ingress") or () if i.get("ip") or i.get("hostname")}
    text = ",".join(sorted(found))
    return text[:_LOAD_BALANCER_WIDTH - 3] + "..." if not wide and len(text) > _LOAD_BALANCER_WIDTH else text


def _ingress_hosts(rules: list[Obj]) -> str:
    """Three hosts at most, then ``+ N more...``; ``*`` when no rule names one (formatHosts)."""
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _ingress(ing: Obj, now: float) -> Row:
    spec = ing.get("spec") or {}
    return ([ing["metadata"]["name"], spec.get("ingressClassName") or "<none>",
             _ingress_hosts(spec.get("rules") or []), ingress_address(ing, False),
             "80, 443" if spec.get("tls") else "80", _age(ing, now)], [])


def _ingressclass(ic: Obj, now: float) -> Row:
    params = (ic.get("spec") or {}).get("parameters")
    shown = "<none>"
    if params:
        group = f".{params['apiGroup']}" if params.get("apiGroup") else ""
        shown = f"{params.get('kind', '')}{group}/{params.get('name', '')}"
    return [ic["metadata"]["name"], (ic.get("spec") or {}).get("controller", ""), shown, _age(ic, now)], []


def _networkpolicy(np: Obj, now: float) -> Row:
    selector = selector_string((np.get("spec") or {}).get("podSelector")) or "<none>"  # FormatLabelSelector
    return [np["metadata"]["name"], selector, _age(np, now)], []


# -- config and cluster objects -----------------------------------------------------------
def _configmap(cm: Obj, now: float) -> Row:
    return [cm["metadata"]["name"], len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _age(cm, now)], []


def _secret(s: Obj, now: float) -> Row:
    return [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}), _age(s, now)], []


def _serviceaccount(sa: Obj, now: float) -> Row:
    return [sa["metadata"]["name"], len(sa.get("secrets") or []), _age(sa, now)], []


def _binding(b: Obj, now: float) -> Row:
    """printRoleBinding / printClusterRoleBinding: the role as Kind/name; -o wide adds the
    subjects by kind (service accounts as namespace:name)."""
    ref = b.get("roleRef") or {}
    subjects = b.get("subjects") or []

    def named(kind: str) -> str:
        return ", ".join(s.get("name", "") for s in subjects if s.get("kind") == kind)

    accounts = ", ".join(f'{s.get("namespace", "")}:{s.get("name", "")}' for s in subjects
                         if s.get("kind") == "ServiceAccount")
    return ([b["metadata"]["name"], f'{ref.get("kind", "")}/{ref.get("name", "")}', _age(b, now)],
            [named("User"), named("Group"), accounts])


def _resourcequota(q: Obj, now: float) -> Row:
    """printResourceQuota: ``used/hard`` per resource of status.hard, sorted, the ``limits.*``
    ones in LIMIT and the rest in REQUEST."""
    status = q.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    request, limit = [], []
    for name in sorted(hard):
        column = limit if name.split(".")[0] == "limits" and "." in name else request
        column.append(f"{name}: {used.get(name, '0')}/{hard[name]}")
    return [q["metadata"]["name"], _age(q, now), ", ".join(request), ", ".join(limit)], []


def _poddisruptionbudget(pdb: Obj, now: float) -> Row:
    """printPodDisruptionBudget: N/A where the spec leaves a bound unset."""
    spec = pdb.get("spec") or {}
    bounds = [str(spec[f]) if spec.get(f) is not None else "N/A" for f in ("minAvailable", "maxUnavailable")]
    allowed = (pdb.get("status") or {}).get("disruptionsAllowed", 0)
    return [pdb["metadata"]["name"], *bounds, allowed, _age(pdb, now)], []


def _namespace(ns: Obj, now: float) -> Row:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", ""), _age(ns, now)], []


def node_roles(node: Obj) -> list[str]:
    """findNodeRoles: from ``node-role.kubernetes.io/<role>`` and ``kubernetes.io/role`` labels."""
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _address(node: Obj, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", "")
    return "<none>"


def _node(node: Obj, now: float) -> Row:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return ([node["metadata"]["name"], ",".join(states), ",".join(node_roles(node)) or "<none>",
             _age(node, now), info.get("kubeletVersion", "")],
            [_address(node, "InternalIP"), _address(node, "ExternalIP"), info.get("osImage") or "<unknown>",
             info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"])


def _event(ev: Obj, now: float, wide: bool) -> Row:
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 1
    if ev.get("series"):
        last = since(ev["series"].get("lastObservedTime"), now)
        count = ev["series"].get("count", count)
    involved = ev.get("involvedObject") or {}
    target = involved.get("kind", "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    message = (ev.get("message") or "").strip()
    if wide:
        return [last, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""),
                f"{component}, {instance}" if instance else component, message, first, count,
                ev["metadata"]["name"]], []
    return [last, ev.get("type", ""), ev.get("reason", ""), target, message], []


# -- storage ------------------------------------------------------------------------------
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"


def access_modes(modes: list[str] | None) -> str:
    """GetAccessModesAsString: the short forms in a fixed order, each once."""
    present = set(modes or ())
    return ",".join(short for mode, short in _MODES if mode in present)


def storage_quantity(resources: Obj | None) -> str:
    """``resource.Quantity.String()`` of a ``storage`` entry: its canonical form, ``0`` when unset."""
    from kubelab.api.quantity import QuantityError, parse

    value = (resources or {}).get("storage")
    if value is None:
        return "0"
    try:
        return str(parse(value))
    except QuantityError:
        return str(value)


def volume_class(obj: Obj) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over ``storageClassName``."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return annotations["volume.beta.kubernetes.io/storage-class"]
    return (obj.get("spec") or {}).get("storageClassName") or ""


def is_default_class(sc: Obj) -> bool:
    """storageutil.IsDefaultAnnotation: either annotation set to ``true``."""
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEFAULT_CLASS) == "true" or annotations.get(BETA_DEFAULT_CLASS) == "true"


def _phase(obj: Obj) -> str:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return (obj.get("status") or {}).get("phase") or ""


def _persistentvolume(pv: Obj, now: float) -> Row:
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return ([pv["metadata"]["name"], storage_quantity(spec.get("capacity")), access_modes(spec.get("accessModes")),
             spec.get("persistentVolumeReclaimPolicy", ""), _phase(pv), claim, volume_class(pv),
             spec.get("volumeAttributesClassName", "<unset>"), status.get("reason", ""), _age(pv, now)],
            [spec.get("volumeMode", "<unset>")])


def _persistentvolumeclaim(pvc: Obj, now: float) -> Row:
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = storage_quantity(status.get("capacity"))
    return ([pvc["metadata"]["name"], _phase(pvc), spec.get("volumeName", ""), capacity, modes,
             volume_class(pvc), spec.get("volumeAttributesClassName", "<unset>"), _age(pvc, now)],
            [spec.get("volumeMode", "<unset>")])


def _storageclass(sc: Obj, now: float) -> Row:
    name = sc["metadata"]["name"] + (" (default)" if is_default_class(sc) else "")
    return ([name, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
             sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion")), _age(sc, now)], [])


def _priorityclass(pc: Obj, now: float) -> Row:
    """printPriorityClass: the value as an integer, globalDefault as a boolean."""
    return ([pc["metadata"]["name"], int(pc.get("value") or 0), bool(pc.get("globalDefault")), _age(pc, now),
             pc.get("preemptionPolicy") or ""], [])


def _default(obj: Obj, now: float) -> Row:
    """A kind without a printer of its own: kube-apiserver's defaultTableConvertor
    (registry/rest/table.go) gives its name and creationTimestamp in RFC 3339."""
    return [obj["metadata"]["name"], (obj.get("metadata") or {}).get("creationTimestamp") or ""], []


# -- the column sets ----------------------------------------------------------------------
Column = tuple[str, str, str, str]  # name, type, format, description
# defaultTableConvertor's columns, described by ObjectMeta's documentation.
_DEFAULT_COLUMNS: list[Column] = [
    ("Name", "string", "name",
     "Name must be unique within a namespace. Is required when creating resources, although some resources may "
     "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
     "for creation idempotence and configuration definition. Cannot be updated. More info: "
     "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
    ("Created At", "date", "",
     "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
     "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
     "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
     "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"),
]
_WORKLOAD_WIDE: list[Column] = [
    ("Containers", "string", "", "Names of each container in the template."),
    ("Images", "string", "", "Images referenced by each container in the template."),
    ("Selector", "string", "", "Label selector for the pods this controller manages."),
]

COLUMNS: dict[str, tuple[list[Column], list[Column]]] = {
    "HorizontalPodAutoscaler": ([_NAME,
                                 ("Reference", "string", "", "The workload this autoscaler scales."),
                                 ("Targets", "string", "", "Current and target value of each metric."),
                                 ("MinPods", "string", "", "The lower limit of replicas."),
                                 ("MaxPods", "integer", "", "The upper limit of replicas."),
                                 ("Replicas", "integer", "", "Current number of replicas."),
                                 _AGE], []),
    "Pod": ([_NAME,
             ("Ready", "string", "", "How many of the pod's containers are ready for traffic."),
             ("Status", "string", "", "The aggregate status of the pod's containers."),
             ("Restarts", "string", "", "How many times the pod's containers restarted, and when last."),
             _AGE],
            [("IP", "string", "", "The pod's IP address."),
             ("Node", "string", "", "The node the pod is bound to."),
             ("Nominated Node", "string", "", "The node the scheduler nominated for preemption."),
             ("Readiness Gates", "string", "", "How many of the pod's readiness gates are true.")]),
    "ReplicaSet": ([_NAME,
                    ("Desired", "integer", "", "Number of pods wanted."),
                    ("Current", "integer", "", "Number of pods created."),
                    ("Ready", "integer", "", "Number of pods ready."),
                    _AGE], _WORKLOAD_WIDE),
    "ReplicationController": ([_NAME,
                               ("Desired", "integer", "", "Number of pods wanted."),
                               ("Current", "integer", "", "Number of pods created."),
                               ("Ready", "integer", "", "Number of pods ready."),
                               _AGE], _WORKLOAD_WIDE),
    "Deployment": ([_NAME,
                    ("Ready", "string", "", "Ready pods out of the desired replicas."),
                    ("Up-to-date", "integer", "", "Pods running the latest pod template."),
                    ("Available", "integer", "", "Pods available to serve."),
                    _AGE], _WORKLOAD_WIDE),
    "DaemonSet": ([_NAME,
                   ("Desired", "integer", "", "Nodes that should run the daemon pod."),
                   ("Current", "integer", "", "Nodes running at least one daemon pod."),
                   ("Ready", "integer", "", "Nodes whose daemon pod is ready."),
                   ("Up-to-date", "integer", "", "Nodes running the latest daemon pod."),
                   ("Available", "integer", "", "Nodes whose daemon pod is available."),
                   ("Node Selector", "string", "", "Which nodes the daemon pods run on."),
                   _AGE], _WORKLOAD_WIDE),
    "StatefulSet": ([_NAME, ("Ready", "string", "", "Ready pods out of the desired replicas."), _AGE],
                    _WORKLOAD_WIDE[:2]),
    "ControllerRevision": ([_NAME,
                            ("Controller", "string", "", "Controller of the object."),
                            ("Revision", "integer", "", "Revision of the ControllerRevision."),
                            _AGE], []),
    "Job": ([_NAME,
             ("Status", "string", "", "Status of the job."),
             ("Completions", "string", "", "The completion status of the job."),
             ("Duration", "string", "", "Time required to complete the job."),
             _AGE], _WORKLOAD_WIDE),
    "CronJob": ([_NAME,
                 ("Schedule", "string", "", "The schedule for running the job."),
                 ("Timezone", "string", "", "The time zone the schedule is interpreted in."),
                 ("Suspend", "boolean", "", "Whether the cron job is suspended."),
                 ("Active", "integer", "", "Number of jobs running."),
                 ("Last Schedule", "string", "", "When the job was last scheduled."),
                 _AGE], _WORKLOAD_WIDE),
    "Service": ([_NAME,
                 ("Type", "string", "", "How the service is exposed."),
                 ("Cluster-IP", "string", "", "The virtual IP of the service inside the cluster."),
                 ("External-IP", "string", "", "Addresses the service is reachable on from outside."),
                 ("Port(s)", "string", "", "The ports the service exposes."),
                 _AGE],
                [("Selector", "string", "", "Which pods receive the service's traffic.")]),
    "Endpoints": ([_NAME, ("Endpoints", "string", "", "The ready addresses behind the service."), _AGE], []),
    "EndpointSlice": ([_NAME,
                       ("AddressType", "string", "", "The kind of addresses in the slice."),
                       ("Ports", "string", "", "The ports of the endpoints."),
                       ("Endpoints", "string", "", "The addresses in the slice."),
                       _AGE], []),
    "Ingress": ([_NAME,
                 ("Class", "string", "", "The name of the IngressClass resource that should be used for this Ingress."),
                 ("Hosts", "string", "", "Hosts that incoming requests are matched against before the ingress rule"),
                 ("Address", "string", "", "Address is a list containing ingress points for the load-balancer"),
                 ("Ports", "string", "", "Ports of TLS configurations that open"),
                 _AGE], []),
    "IngressClass": ([_NAME,
                      ("Controller", "string", "", "Controller that is responsible for handling this class"),
                      ("Parameters", "string", "", "A reference to a resource with additional parameters"),
                      _AGE], []),
    "NetworkPolicy": ([_NAME, ("Pod-Selector", "string", "",
                                "Selects the pods to which this NetworkPolicy object applies."), _AGE], []),
    "ConfigMap": ([_NAME, ("Data", "string", "", "Number of keys in the config map."), _AGE], []),
    "Secret": ([_NAME, ("Type", "string", "", "The type of the secret."),
                ("Data", "string", "", "Number of keys in the secret."), _AGE], []),
    "ServiceAccount": ([_NAME, ("Secrets", "string", "", "Number of secrets listed."), _AGE], []),
    "RoleBinding": ([_NAME, ("Role", "string", "", "Role of the binding."), _AGE],
                    [("Users", "string", "", "Users in the roleBinding."),
                     ("Groups", "string", "", "Groups in the roleBinding."),
                     ("ServiceAccounts", "string", "", "ServiceAccounts in the roleBinding.")]),
    "ClusterRoleBinding": ([_NAME, ("Role", "string", "", "Role of the binding."), _AGE],
                           [("Users", "string", "", "Users in the clusterRoleBinding."),
                            ("Groups", "string", "", "Groups in the clusterRoleBinding."),
                            ("ServiceAccounts", "string", "", "ServiceAccounts in the clusterRoleBinding.")]),
    "Namespace": ([_NAME, ("Status", "string", "", "The lifecycle phase of the namespace."), _AGE], []),
    "PersistentVolume": ([_NAME,
                          ("Capacity", "string", "", "The volume's storage capacity."),
                          ("Access Modes", "string", "", "The ways the volume can be mounted."),
                          ("Reclaim Policy", "string", "", "What happens to the volume when its claim goes."),
                          ("Status", "string", "", "The volume's phase."),
                          ("Claim", "string", "", "The claim bound to the volume."),
                          ("StorageClass", "string", "", "StorageClass of the pv"),
                          ("VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pv"),
                          ("Reason", "string", "", "Why the volume is in its phase."),
                          _AGE],
                         [("VolumeMode", "string", "", "Filesystem or Block.")]),
    "PersistentVolumeClaim": ([_NAME,
                               ("Status", "string", "", "The claim's phase."),
                               ("Volume", "string", "", "The volume bound to the claim."),
                               ("Capacity", "string", "", "The bound volume's capacity."),
                               ("Access Modes", "string", "", "The bound volume's access modes."),
                               ("StorageClass", "string", "", "StorageClass of the pvc"),
                               ("VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pvc"),
                               _AGE],
                              [("VolumeMode", "string", "", "Filesystem or Block.")]),
    "StorageClass": ([_NAME,
                      ("Provisioner", "string", "", "Who makes volumes of this class."),
                      ("ReclaimPolicy", "string", "", "The reclaim policy of the volumes it makes."),
                      ("VolumeBindingMode", "string", "", "When claims of this class are bound."),
                      ("AllowVolumeExpansion", "string", "", "Whether claims may grow."),
                      _AGE], []),
    "PriorityClass": ([_NAME,
                       ("Value", "integer", "", "The priority pods of this class receive."),
                       ("Global-Default", "boolean", "", "Whether pods that name no class get this one."),
                       _AGE,
                       ("PreemptionPolicy", "string", "", "Whether its pods may preempt lower-priority pods.")],
                      []),
    "PodDisruptionBudget": ([_NAME,
                             ("Min Available", "string", "",
                              "The minimum number of pods that must be available."),
                             ("Max Unavailable", "string", "",
                              "The maximum number of pods that may be unavailable."),
                             ("Allowed Disruptions", "integer", "",
                              "Calculated number of pods that may be disrupted at this time."),
                             _AGE], []),
    "ResourceQuota": ([_NAME, _AGE,
                       ("Request", "string", "",
                        "Request represents a minimum amount of cpu/memory that a container may consume."),
                       ("Limit", "string", "",
                        "Limits control the maximum amount of cpu/memory that a container may use independent of "
                        "contention on the node.")], []),
    "Node": ([_NAME,
              ("Status", "string", "", "Whether the node is ready and schedulable."),
              ("Roles", "string", "", "The roles of the node."),
              _AGE,
              ("Version", "string", "", "The kubelet version of the node.")],
             [("Internal-IP", "string", "", "The node's internal address."),
              ("External-IP", "string", "", "The node's external address."),
              ("OS-Image", "string", "", "The operating system image of the node."),
              ("Kernel-Version", "string", "", "The kernel version of the node."),
              ("Container-Runtime", "string", "", "The container runtime of the node.")]),
}

_EVENT_COLUMNS: list[tuple[Column, int]] = [
    (("Last Seen", "string", "", "When the event was last seen."), 0),
    (("Type", "string", "", "Normal or Warning."), 0),
    (("Reason", "string", "", "Why the event happened, in one word."), 0),
    (("Object", "string", "", "The object the event is about."), 0),
    (("Subobject", "string", "", "The part of the object (a container) the event is about."), 1),
    (("Source", "string", "", "The component that reported the event."), 1),
    (("Message", "string", "", "What happened."), 0),
    (("First Seen", "string", "", "When the event was first seen."), 1),
    (("Count", "string", "", "How many times the event happened."), 1),
    (("Name", "string", "name", "The event object's name."), 1),
]

def _target(target: Obj, current: Obj | None) -> str:
    """One metric's ``current/target``: ``45%/50%`` for utilization, quantities otherwise."""
    if target.get("averageValue") is not None or target.get("type") in ("AverageValue", "Value"):
        want = target.get("averageValue", target.get("value", ""))
        have = "<unknown>"
        if current is not None:
            have = str(current.get("averageValue", current.get("value", "<unknown>")))
        return f"{have}/{want}"
    have = "<unknown>"
    if current is not None and current.get("averageUtilization") is not None:
        have = f"{current['averageUtilization']}%"
    want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
    return f"{have}/{want}"


def format_hpa_metrics(specs: list[Obj] | None, statuses: list[Obj] | None) -> str:
    """formatHPAMetrics (printers.go, 1.32): ``cpu: 45%/50%``, at most two then ``+ N more...``."""
    if not specs:
        return "<none>"
    statuses = statuses or []
    out: list[str] = []
    for i, spec in enumerate(specs):
        kind = spec.get("type", "")
        status = statuses[i] if i < len(statuses) else {}
        if kind in ("Resource", "ContainerResource"):
            key = "resource" if kind == "Resource" else "containerResource"
            source = spec.get(key) or {}
            current = (status.get(key) or {}).get("current") if status.get(key) else None
            text = f"{source.get('name', '')}: {_target(source.get('target') or {}, current)}"
            if kind == "ContainerResource":
                text = f"{source.get('name', '')} on {source.get('container', '')}: " \
                       f"{_target(source.get('target') or {}, current)}"
            out.append(text)
        else:
            key = {"Pods": "pods", "Object": "object", "External": "external"}.get(kind, "")
            source = spec.get(key) or {}
            current = (status.get(key) or {}).get("current") if status.get(key) else None
            out.append(_target(source.get("target") or {}, current))
    more = len(out) - 2
    return ", ".join(out[:2]) + (f" + {more} more..." if more > 0 else "")


def _hpa(hpa: Obj, now: float) -> Row:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [hpa["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_hpa_metrics(spec.get("metrics"), status.get("currentMetrics")),
            "<unset>" if low is None else str(low), spec.get("maxReplicas", 0),
            status.get("currentReplicas", 0), _age(hpa, now)], []


_ROWS: dict[str, Callable[[Obj, float], Row]] = {
    "HorizontalPodAutoscaler": _hpa,
    "Pod": _pod, "ReplicaSet": _replicaset, "ReplicationController": _replicationcontroller, "Deployment": _deployment, "DaemonSet": _daemonset,
    "StatefulSet": _statefulset, "Job": _job, "CronJob": _cronjob, "ControllerRevision": _controllerrevision, "Endpoints": _endpoints, "EndpointSlice": _endpointslice,
    "Ingress": _ingress, "IngressClass": _ingressclass, "NetworkPolicy": _networkpolicy,
    "ConfigMap": _configmap, "Secret": _secret, "ServiceAccount": _serviceaccount,
    "Namespace": _namespace, "Node": _node, "PersistentVolume": _persistentvolume,
    "PersistentVolumeClaim": _persistentvolumeclaim, "StorageClass": _storageclass,
    "RoleBinding": _binding, "ClusterRoleBinding": _binding, "ResourceQuota": _resourcequota,
    "PodDisruptionBudget": _poddisruptionbudget, "PriorityClass": _priorityclass,
}

_POD_DONE = {"Succeeded": ("Succeeded", "The pod has completed successfully."),
             "Failed": ("Failed", "The pod failed.")}


def _column(col: Column, priority: int) -> Obj:
    name, typ, fmt, desc = col
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(kind: str, objects: list[Obj], now: float, wide: bool = False) -> Obj:
    """The Table the API server returns for ``objects`` of ``kind`` at cluster time ``now``;
    ``wide`` adds the priority-1 columns (``-o wide``)."""
    if kind in ("PodMetrics", "NodeMetrics"):
        return _metrics_table(objects)
    if kind == "Event":
        columns = [_column(c, p) for c, p in _EVENT_COLUMNS if wide or p == 0]
    else:
        normal, extra = COLUMNS.get(kind, (_DEFAULT_COLUMNS, []))
        columns = [_column(c, 0) for c in normal] + ([_column(c, 1) for c in extra] if wide else [])
    rows = []
    for obj in objects:
        if kind == "Event":
            cells, more = _event(obj, now, wide)
        elif kind == "Service":
            cells, more = _service(obj, now, wide)
        else:
            cells, more = _ROWS.get(kind, _default)(obj, now)
        row: Obj = {"cells": cells + (more if wide else []), "object": _partial(obj)}
        done = _POD_DONE.get(((obj.get("status") or {}).get("phase") or "")) if kind == "Pod" else None
        if done:
            row["conditions"] = [{"type": "Completed", "status": "True", "reason": done[0], "message": done[1]}]
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": ""}, "columnDefinitions": columns, "rows": rows}


def _metrics_table(objects: list[Obj]) -> Obj:
    """metrics-server's own Table (addPodMetricsToTable / addNodeMetricsToTable): the name, each
    resource's usage summed over the containers (names sorted, columns taken from the first
    object; none at all for an empty list), and the window."""
    from kubelab.api.quantity import Quantity, parse

    columns: list[Obj] = []
    rows = []
    names: list[str] | None = None
    for obj in objects:
        usage: dict[str, Quantity] = {}
        parts = [c.get("usage") or {} for c in obj.get("containers") or ()] if "containers" in obj \
            else [obj.get("usage") or {}]
        for part in parts:
            for resource, text in part.items():
                usage[resource] = usage.get(resource, Quantity(0)) + parse(text)
        if names is None:
            names = sorted(usage)
            columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
                        "priority": 0}]
            columns += [{"name": n, "type": "string", "format": "quantity", "description": "", "priority": 0}
                        for n in names]
            columns.append({"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0})
        cells = [obj["metadata"]["name"], *(str(usage.get(n, Quantity(0))) for n in names), obj.get("window", "")]
        rows.append({"cells": cells, "object": _partial(obj)})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": ""},
            "columnDefinitions": columns, "rows": rows}
