"""``%kube route svc/NAME``: the path a request takes to a Service and on to a pod.

From a pod inside the cluster (by DNS name) or from outside (``nodeIP:nodePort``), to the
Service's ``ClusterIP:port``, to each endpoint ``podIP:targetPort``, ready and not-ready apart.
The pod that answered the most recent request is highlighted when the client can say so
(``client.recent_requests(service, namespace)``). A Service that cannot work is drawn red with
the reason: a selector that matches no pod, or a targetPort nothing listens on (asked through
``client.listening_ports(pod, namespace)`` when the client offers it, else judged by the ports
the pod's containers declare). A hop NetworkPolicy drops is drawn ``denied`` (a red bar), naming
the policies, from the verdict ``client.policy_verdict`` hands over: the simulated network's
own, the one that drops the packets (kubelab.engine.netpol.decide).
"""
from __future__ import annotations

import textwrap
from typing import Any

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.notebook.diagram import Diagram
from kubelab.api.pods import is_ready, pod_status
from kubelab.notebook.display import AMBER, GREEN, GREY, RED, status_colour

CLIENT = {"shape": "box", "style": "filled"}  # square corners: not a pod; narrower than an oval
WRAP = 40  # characters per line of a problem written into the Service's box


def _container_ports(pod: Obj) -> dict[Any, int]:
    """Declared ports by number and by name (for named targetPorts)."""
    out: dict[Any, int] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            out[p.get("containerPort")] = p.get("containerPort")
            if p.get("name"):
                out[p["name"]] = p.get("containerPort")
    return out


def _endpoint_readiness(client: Any, name: str, namespace: str, pods: list[Obj]) -> dict[str, bool]:
    """pod name -> ready, from the Endpoints object (what kube-proxy routes by), or from the
    pods' Ready condition when the backend has no Endpoints yet."""
    try:
        ep = client.get("Endpoints", name, namespace)
    except (StatusError, KeyError):
        return {p["metadata"]["name"]: is_ready(p) for p in pods}
    ready: dict[str, bool] = {}
    for subset in ep.get("subsets") or []:
        for flag, field in ((True, "addresses"), (False, "notReadyAddresses")):
            for addr in subset.get(field) or []:
                ref = addr.get("targetRef") or {}
                if ref.get("name"):
                    ready[ref["name"]] = flag
    for p in pods:
        ready.setdefault(p["metadata"]["name"], False)
    return ready


def last_answer(client: Any, name: str, namespace: str) -> str | None:
    """The pod that answered the latest request to the Service, if the client keeps that."""
    recent = getattr(client, "recent_requests", None)
    if recent is None:
        return None
    try:
        records = recent(name, namespace)
    except Exception:  # a backend that cannot tell: draw without the highlight
        return None
    if not records:
        return None
    last = records[-1]
    return last.get("pod") if isinstance(last, dict) else getattr(last, "pod", None)


def listening(client: Any, pod: str, namespace: str) -> set[int] | None:
    """Ports the pod's containers really listen on, when the client can tell (the simulated
    network can; a real cluster cannot): None means "unknown, go by declared ports"."""
    ask = getattr(client, "listening_ports", None)
    if ask is None:
        return None
    try:
        return set(ask(pod, namespace))
    except Exception:  # a backend that cannot tell
        return None


def policy_verdict(client: Any, pod: str, namespace: str, port: int, from_pod: str | None = None,
                   from_namespace: str | None = None, from_ip: str | None = None,
                   protocol: str = "TCP") -> dict[str, Any] | None:
    """NetworkPolicy's verdict on one hop, when the client can tell (the simulated network
    decides it with the function that drops the packets; a real cluster's CNI cannot say)."""
    ask = getattr(client, "policy_verdict", None)
    if ask is None:
        return None
    try:
        return ask(pod, namespace, port, protocol, from_pod=from_pod, from_namespace=from_namespace, from_ip=from_ip)
    except Exception:  # a pod gone while drawing, or a backend that cannot tell: draw without it
        return None


def _policies(names: Any) -> str:
    """``policy a`` or ``policies a, b``."""
    names = list(names)
    return f"{'policies' if len(names) > 1 else 'policy'} {', '.join(names)}"


def _dns_verdict(client: Any, source: Obj) -> dict[str, Any] | None:
    """Whether the source pod's DNS queries (UDP 53) reach a kube-dns pod: a Service's name
    resolves when one of them answers. The first refusal when none does."""
    refused = None
    for dns in client.list("Pod", "kube-system", label_selector="k8s-app=kube-dns")["items"]:
        meta = source["metadata"]
        verdict = policy_verdict(client, dns["metadata"]["name"], "kube-system", 53, meta["name"],
                                 meta["namespace"], protocol="UDP")
        if verdict is None or verdict.get("allowed") is not False:
            return verdict
        refused = refused or verdict
    return refused


def policy_text(verdict: dict[str, Any]) -> str:
    """Why a verdict refuses (or may refuse) a hop, naming the policies, for a learner."""
    policies, with_rules = verdict.get("policies") or (), verdict.get("with_rules") or ()
    way = "in" if verdict.get("direction") == "ingress" else "out"
    prefix = "" if verdict.get("direction") == "ingress" else f"egress of {verdict.get('pod', '').split('/')[-1]}: "
    if not with_rules:
        return f"{prefix}default deny by {_policies(policies)}"
    if verdict.get("allowed") is None:
        verb = "lets" if len(with_rules) == 1 else "let"
        return f"{prefix}{_policies(with_rules)} {verb} {way} only the pods {'its' if verb == 'lets' else 'their'} rules name"
    text = f"{prefix}no rule of {_policies(with_rules)} lets it {way}"
    rest = [p for p in policies if p not in with_rules]
    return text + (f"; default deny by {_policies(rest)}" if rest else "")


def _node_ip(client: Any) -> str:
    for node in client.list("Node")["items"]:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return addr["address"]
    return "<node IP>"


def route(client: Any, name: str, namespace: str = "default", from_pod: str | None = None,
          from_namespace: str | None = None, from_ip: str | None = None, from_name: str = "") -> Diagram:
    """The routing picture of Service ``name`` (raises NotFound as the API does), from pod
    ``from_pod`` (in ``from_namespace``, by default the Service's), from the address
    ``from_ip`` (what an ingress controller connects from, called ``from_name``), or from some
    pod of the cluster.
    A hop NetworkPolicy drops is drawn ``denied``, with the policies that drop it."""
    svc = client.get("Service", name, namespace)
    source = client.get("Pod", from_pod, from_namespace or namespace) if from_pod else None
    spec = svc.get("spec") or {}
    selector = spec.get("selector") or {}
    ports = spec.get("ports") or []
    pods: list[Obj] = []
    if selector:
        sel_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        pods = [p for p in client.list("Pod", namespace, label_selector=sel_text)["items"]
                if not p["metadata"].get("deletionTimestamp")]
    readiness = _endpoint_readiness(client, name, namespace, pods)
    answered = last_answer(client, name, namespace)

    d = Diagram(title=f"route to service {namespace}/{name}")
    sid = f"Service/{namespace}/{name}"
    cluster_ip = spec.get("clusterIP") or ""
    port_text = ", ".join(f"{cluster_ip}:{p.get('port')}" for p in ports) or f"{cluster_ip} (no ports)"
    problems: list[str] = []
    if not selector:
        problems.append("no selector: endpoints are managed by hand")
    elif not pods:
        problems.append("selector " + ",".join(f"{k}={v}" for k, v in selector.items()) + " matches no pods")
    d.nodes[sid] = {"kind": "Service", "name": name, "namespace": namespace, "ip": cluster_ip,
                    "label": f"Service {spec.get('type', 'ClusterIP')}\n{name}\n{port_text}",
                    "colour": "#1565c0"}
    d.groups["service"] = [sid]

    # where requests come from
    inside = "Client/in-cluster"
    dns = f"{name}.{namespace}.svc.cluster.local"
    url = f"http://{name}" + (f".{namespace}" if source and source["metadata"]["namespace"] != namespace else "")
    url += f":{ports[0].get('port')}" if ports else ""
    who = from_name or (f"from {from_ip}" if from_ip else "a pod in the cluster")
    where = ""
    if source is not None:
        who = f"pod {source['metadata']['name']}"
        where = f"{(source.get('status') or {}).get('podIP') or '<no IP>'}\n"
    d.nodes[inside] = {"kind": "Client", "name": who, "namespace": namespace,
                       "label": f"{who}\n{where}{url}\n({dns})", "colour": GREY, "attrs": dict(CLIENT)}
    d.groups["clients"] = [inside]
    sent = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports)
    lookup = _dns_verdict(client, source) if source is not None else None
    if lookup is not None and lookup.get("allowed") is False:  # the name never resolves
        why = "DNS lookup blocked: " + policy_text(lookup)
        d.edges.append((inside, sid, "denied", sent + "\n✘ " + textwrap.fill(why, WRAP, break_on_hyphens=False)))
        problems.append(f"{who}: {why}")
    else:
        d.edges.append((inside, sid, "sends", sent))
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        ip = _node_ip(client)
        outside = "Client/outside"
        node_ports = ", ".join(f"{ip}:{p['nodePort']}" for p in ports if p.get("nodePort"))
        d.nodes[outside] = {"kind": "Client", "name": "outside", "namespace": namespace,
                            "label": f"outside the cluster\n{node_ports or ip}", "colour": GREY,
                            "attrs": dict(CLIENT)}
        d.groups["clients"].append(outside)
        d.edges.append((outside, sid, "sends", "nodePort " + ", ".join(
            f"{p.get('nodePort')}→{p.get('port')}" for p in ports if p.get("nodePort"))))

    # where requests go
    denied: dict[str, list[str]] = {}  # why NetworkPolicy drops the way to them -> those pods
    for pod in pods:
        pname = pod["metadata"]["name"]
        pid = f"Pod/{namespace}/{pname}"
        ip = (pod.get("status") or {}).get("podIP") or "<no IP>"
        declared = _container_ports(pod)
        live = listening(client, pname, namespace)
        targets, missing = [], []
        for p in ports:
            target = p.get("targetPort", p.get("port"))
            number = declared.get(target) if isinstance(target, str) else target
            if live is not None:
                if number not in live:
                    missing.append(str(target))
            elif declared and target not in declared:
                missing.append(str(target))
            targets.append(f"{ip}:{number if number is not None else target}")
        ready = readiness.get(pname, False)
        status = pod_status(pod)
        colour = status_colour(status) if ready else (RED if status_colour(status) == RED else AMBER)
        label = f"{pname}\n{', '.join(targets)}\n{status}" + ("" if ready else " (not ready)")
        attrs: dict[str, str] = {}
        if missing:
            colour = RED
            label += (f"\nnothing listens on {', '.join(missing)}" if live is not None
                      else f"\nnothing declares port {', '.join(missing)}")
        verdict = None
        if isinstance(number, int) and not missing:
            verdict = policy_verdict(client, pname, namespace, number, from_pod, from_namespace or namespace, from_ip)
        allowed = True if verdict is None else verdict.get("allowed")
        if pname == answered and allowed is not False:  # a pod now cut off answered before the policy
            attrs = {"penwidth": "3", "color": GREEN}
            label += "\n★ answered the last request"
        if allowed is not True:
            label += "\n" + ("✘ blocked by NetworkPolicy" if allowed is False else "NetworkPolicy: only some pods")
        elif verdict and verdict.get("allowed_by"):
            label += "\nallowed by " + _policies(verdict["allowed_by"])
        d.nodes[pid] = {"kind": "Pod", "name": pname, "namespace": namespace, "status": status, "ip": ip,
                        "ready": ready, "broken": bool(missing), "colour": colour, "label": label,
                        "answered": pname == answered and allowed is not False, "attrs": attrs, "policy": verdict}
        d.groups.setdefault("ready endpoints" if ready else "not ready (no traffic)", []).append(pid)
        port_map = ", ".join(f"{p.get('port')}→{p.get('targetPort', p.get('port'))}" for p in ports)
        if missing:
            problems.append(f"{pname}: targetPort {', '.join(missing)} is not a port its containers "
                            + ("listen on" if live is not None else "declare"))
            rel = "broken"
        elif not ready:
            rel = "idle"
        elif allowed is not True:
            rel = "denied" if allowed is False else "limited"
            port_map += "\n" + ("✘ " if allowed is False else "") + textwrap.fill(
                policy_text(verdict or {}), WRAP, break_on_hyphens=False)
            if allowed is False:
                denied.setdefault(policy_text(verdict or {}), []).append(pname)
        else:
            rel = "answered" if pname == answered else "sends"
        d.edges.append((sid, pid, rel, port_map))
    for why, names in denied.items():
        problems.append(f"{who} → {names[0] if len(names) == 1 else f'{len(names)} pods'}: {why}")
    if problems:
        d.nodes[sid]["colour"] = RED
        d.nodes[sid]["broken"] = True
        first = "✗ " + problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        d.nodes[sid]["label"] += "\n" + textwrap.fill(first, WRAP, break_on_hyphens=False)
        if not pods:
            nothing = "Broken/no-endpoints"
            d.nodes[nothing] = {"kind": "Broken", "name": "no endpoints", "namespace": namespace,
                                "label": "no endpoints\n" + "\n".join(problems), "colour": RED,
                                "attrs": {"shape": "octagon"}}
            d.groups["endpoints"] = [nothing]
            d.edges.append((sid, nothing, "broken", "nowhere to send"))
    d.problems = problems
    return d


def _backend_text(backend: Obj) -> tuple[str, str]:
    """(Service name, ``name:port``) of an Ingress backend; ("", text) for a resource backend."""
    service = backend.get("service")
    if service is None:
        resource = backend.get("resource") or {}
        return "", f"{resource.get('kind', '')}/{resource.get('name', '')}"
    port = service.get("port") or {}
    return service.get("name", ""), f"{service.get('name', '')}:{port.get('number') or port.get('name', '')}"


def ingress_route(client: Any, name: str, namespace: str = "default") -> Diagram:
    """``%kube route ingress/NAME``: each host/path rule -> its Service -> the endpoints, the
    Services drawn as ``route svc/NAME`` draws them (raises NotFound as the API does)."""
    ing = client.get("Ingress", name, namespace)
    spec = ing.get("spec") or {}
    address = ",".join(i.get("ip") or i.get("hostname", "") for i in
                       ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ())
    d = Diagram(title=f"route through ingress {namespace}/{name}")
    iid = f"Ingress/{namespace}/{name}"
    d.nodes[iid] = {"kind": "Ingress", "name": name, "namespace": namespace,
                    "label": f"Ingress {name}\nclass {spec.get('ingressClassName') or '<none>'}\n"
                             f"{address or 'no address yet'}", "colour": "#6a1b9a" if address else AMBER}
    d.groups["ingress"] = [iid]
    outside = "Client/outside"
    d.nodes[outside] = {"kind": "Client", "name": "outside", "namespace": namespace,
                        "label": f"a pod or outside the cluster\nhttp://{address or _node_ip(client)}/",
                        "colour": GREY, "attrs": dict(CLIENT)}
    d.groups["clients"] = [outside]
    d.edges.append((outside, iid, "sends", "80/TCP, 443/TCP" if spec.get("tls") else "80/TCP"))
    paths: list[tuple[str, Obj]] = []
    for rule in spec.get("rules") or ():
        for p in (rule.get("http") or {}).get("paths") or ():
            kind = p.get("pathType", "")
            paths.append((f"{rule.get('host') or '*'}{p.get('path') or '/'} ({kind})", p.get("backend") or {}))
    if spec.get("defaultBackend"):
        paths.append(("default backend", spec["defaultBackend"]))
    problems: list[str] = []
    drawn: set[str] = set()
    for text, backend in paths:
        svc_name, shown = _backend_text(backend)
        sid = f"Service/{namespace}/{svc_name}"
        if svc_name and svc_name not in drawn:
            drawn.add(svc_name)
            try:
                part = route(client, svc_name, namespace, from_ip=address.split(",")[0] or _node_ip(client),
                             from_name="the ingress controller")
            except StatusError:
                d.nodes[sid] = {"kind": "Broken", "name": svc_name, "namespace": namespace, "colour": RED,
                                "label": f"service {svc_name}\nnot found: 503", "attrs": {"shape": "octagon"}}
                d.groups.setdefault("services", []).append(sid)
                problems.append(f"service {svc_name} not found")
            else:
                for nid, node in part.nodes.items():
                    if node.get("kind") != "Client":
                        d.nodes[nid] = node
                for group, members in part.groups.items():
                    if group != "clients":
                        into = d.groups.setdefault("services" if group == "service" else group, [])
                        into.extend(m for m in members if m not in into)
                d.edges.extend(e for e in part.edges if not e[0].startswith("Client/"))
                problems.extend(part.problems)
        if svc_name:
            d.edges.append((iid, sid, "broken" if d.nodes[sid]["kind"] == "Broken" else "sends", f"{text} → {shown}"))
    if not paths:
        problems.append("no rules and no default backend: every request gets the controller's 404")
    d.problems = problems
    return d
