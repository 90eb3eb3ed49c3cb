"""``kubectl create role|clusterrole|rolebinding|clusterrolebinding`` and ``kubectl auth can-i``.

Mirrors kubectl 1.32's generators (create_role.go, create_clusterrole.go,
create_rolebinding.go, create_clusterrolebinding.go): their flags, client-side checks and
messages, resources resolved through the registry as kubectl's RESTMapper resolves them, one
rule per API group (groups sorted). ``auth can-i`` asks the RBAC authorizer over the stored
roles and bindings, for the learner (system:masters) or whom ``--as``/``--as-group`` names.
"""
from __future__ import annotations

from typing import Any

from kubelab.api import rbac
from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND, RBAC_GROUP, Kind, lookup
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, KubectlError, command, error
from kubelab.kubectl.command import group as command_group
from kubelab.kubectl.create import COMMON, _finish, _meta, _one_name
from kubelab.kubectl.flags import Flag

API_VERSION = f"{RBAC_GROUP}/v1"
# create_role.go's validResourceVerbs and validNonResourceVerbs
_RESOURCE_VERBS = ("*", "get", "delete", "list", "create", "update", "patch", "watch", "proxy", "deletecollection",
                   "use", "bind", "escalate", "impersonate")
_NON_RESOURCE_VERBS = ("*", "get", "post", "put", "delete", "patch", "head", "options")

ROLE_FLAGS = (Flag("verb", type=fl.STRING_SLICE), Flag("resource", type=fl.STRING_SLICE),
              Flag("resource-name", type=fl.STRING_ARRAY))
SUBJECT_FLAGS = (Flag("user", type=fl.STRING_ARRAY), Flag("group", type=fl.STRING_ARRAY),
                 Flag("serviceaccount", type=fl.STRING_ARRAY))


def _resolve(word: str) -> Kind:
    """What the RESTMapper makes of ``resource[.group]``: a full name, a short name or
    singular, with or without its group (``deploy.apps``); else the mapper's error."""
    try:
        return lookup(word)
    except StatusError:
        pass
    resource, _, group = word.partition(".")
    if group:
        try:
            kind = lookup(resource)
            if kind.group == group:
                return kind
        except StatusError:
            pass
    where = f' in group "{group}"' if group else ""
    raise KubectlError(f'the server doesn\'t have a resource type "{resource}"{where}')


def _resource_rules(ctx: Context, verbs: list[str], resources: list[str], names: list[str]) -> list[Obj]:
    """generateResourcePolicyRules: each ``resource[.group][/subresource]`` resolved to its
    plural and group (an unknown one is the mapper's error), one rule per group."""
    by_group: dict[str, list[str]] = {}
    for text in resources:
        word, _, sub = text.partition("/")
        if word == "*":
            group, plural = "", "*"
        else:
            kind = _resolve(word)
            group, plural = kind.group, kind.plural
        entry = f"{plural}/{sub}" if sub else plural
        if entry not in by_group.setdefault(group, []):
            by_group[group].append(entry)
    rules = []
    for group in sorted(by_group):
        rule: Obj = {"verbs": verbs, "apiGroups": [group], "resources": by_group[group]}
        if names:
            rule["resourceNames"] = names
        rules.append(rule)
    return rules


def _warn_verbs(ctx: Context, verbs: list[str], valid: tuple[str, ...]) -> None:
    for verb in verbs:
        if verb not in valid:
            ctx.eprint(f"Warning: '{verb}' is not a standard resource verb")


@command("create role", *COMMON, *ROLE_FLAGS)
def create_role(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    verbs, resources = ctx.flags.get("verb") or [], ctx.flags.get("resource") or []
    if not verbs:
        raise error("at least one verb must be specified")
    if not resources:
        raise error("at least one resource must be specified")
    _warn_verbs(ctx, verbs, _RESOURCE_VERBS)
    kind = BY_KIND["Role"]
    rules = _resource_rules(ctx, verbs, resources, ctx.flags.get("resource-name") or [])
    _finish(ctx, kind, {"kind": "Role", "apiVersion": API_VERSION, "metadata": _meta(name, ctx, kind),
                        "rules": rules})
    return 0


@command("create clusterrole", *COMMON, *ROLE_FLAGS, Flag("non-resource-url", type=fl.STRING_SLICE),
         Flag("aggregation-rule", type=fl.STRING))
def create_clusterrole(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    verbs, resources = ctx.flags.get("verb") or [], ctx.flags.get("resource") or []
    urls, aggregation = ctx.flags.get("non-resource-url") or [], ctx.flags.get("aggregation-rule") or ""
    kind = BY_KIND["ClusterRole"]
    obj: Obj = {"kind": "ClusterRole", "apiVersion": API_VERSION, "metadata": _meta(name, ctx, kind)}
    if aggregation:
        selector: dict[str, str] = {}
        for pair in aggregation.split(","):
            key, sep, value = pair.partition("=")
            if not sep:
                raise error(f"invalid aggregation rule: {aggregation}")
            selector[key] = value
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": selector}]}
        obj["rules"] = None
    else:
        if not verbs:
            raise error("at least one verb must be specified")
        if not resources and not urls:
            raise error("one of resource or nonResourceURL must be specified")
        _warn_verbs(ctx, verbs, _RESOURCE_VERBS if resources else _NON_RESOURCE_VERBS)
        rules = _resource_rules(ctx, verbs, resources, ctx.flags.get("resource-name") or []) if resources else []
        if urls:
            rules.append({"verbs": verbs, "nonResourceURLs": urls})
        obj["rules"] = rules
    _finish(ctx, kind, obj)
    return 0


def _subjects(ctx: Context) -> list[Obj]:
    """Users, then groups, then service accounts (``NAMESPACE:NAME``), as the generators add them."""
    subjects: list[Obj] = [{"kind": "User", "apiGroup": RBAC_GROUP, "name": u} for u in ctx.flags.get("user") or []]
    subjects += [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": g} for g in ctx.flags.get("group") or []]
    for text in ctx.flags.get("serviceaccount") or []:
        namespace, sep, name = text.partition(":")
        if not sep or not namespace or not name or ":" in name:
            raise error("serviceaccount must be <namespace>:<name>")
        subjects.append({"kind": "ServiceAccount", "name": name, "namespace": namespace})
    return subjects


def _binding(ctx: Context, kind_name: str, name: str, ref_kind: str, ref_name: str) -> int:
    kind = BY_KIND[kind_name]
    obj: Obj = {"kind": kind_name, "apiVersion": API_VERSION, "metadata": _meta(name, ctx, kind),
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": ref_kind, "name": ref_name}}
    subjects = _subjects(ctx)
    if subjects:
        obj["subjects"] = subjects
    _finish(ctx, kind, obj)
    return 0


@command("create rolebinding", *COMMON, Flag("role", type=fl.STRING), Flag("clusterrole", type=fl.STRING),
         *SUBJECT_FLAGS)
def create_rolebinding(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    role, cluster_role = ctx.flags.get("role") or "", ctx.flags.get("clusterrole") or ""
    if bool(role) == bool(cluster_role):
        raise error("exactly one of clusterrole or role must be specified")
    return _binding(ctx, "RoleBinding", name, "Role" if role else "ClusterRole", role or cluster_role)


@command("create clusterrolebinding", *COMMON, Flag("clusterrole", type=fl.STRING), *SUBJECT_FLAGS,
         required=("clusterrole",))
def create_clusterrolebinding(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    _subjects(ctx)
    return _binding(ctx, "ClusterRoleBinding", name, "ClusterRole", ctx.flags.get("clusterrole"))


# -- describe (RoleDescriber, ClusterRoleDescriber, RoleBindingDescriber...) ------------------------
def _breakdown(rule: Obj) -> list[Obj]:
    """rbacv1helpers.BreakdownRule: one rule per group x resource (x name), one per URL; each
    built by NewRule, whose verbs are a sorted set."""
    verbs = sorted(set(rule.get("verbs") or []))
    out: list[Obj] = []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for name in (rule.get("resourceNames") or [None]):
                out.append({"verbs": list(verbs), "apiGroups": [group], "resources": [resource],
                            "resourceNames": [name] if name is not None else []})
    for url in rule.get("nonResourceURLs") or []:
        out.append({"verbs": list(verbs), "nonResourceURLs": [url]})
    return out


def _compact(rules: list[Obj]) -> list[Obj]:
    """CompactRules: rules on one group, resource and (at most one) name merge their verbs."""
    compacted: list[Obj] = []
    simple: dict[tuple[str, str, str | None], Obj] = {}
    for rule in rules:
        names = rule.get("resourceNames") or []
        if rule.get("nonResourceURLs") or len(names) > 1 or len(rule.get("apiGroups") or []) != 1 \
                or len(rule.get("resources") or []) != 1:
            compacted.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], names[0] if names else None)
        if key in simple:
            simple[key]["verbs"] = simple[key]["verbs"] + rule["verbs"]
        else:
            simple[key] = {**rule, "verbs": list(rule["verbs"])}
    return compacted + list(simple.values())


def _go_list(values: list[str] | None) -> str:
    return "[" + " ".join(values or []) + "]"


def _sort_key(rule: Obj) -> str:
    """PolicyRule.String() (the generated protobuf one), which SortableRuleSlice compares."""
    return (f"&PolicyRule{{Verbs:{_go_list(rule.get('verbs'))},APIGroups:{_go_list(rule.get('apiGroups'))},"
            f"Resources:{_go_list(rule.get('resources'))},ResourceNames:{_go_list(rule.get('resourceNames'))},"
            f"NonResourceURLs:{_go_list(rule.get('nonResourceURLs'))},}}")


def _combine_resource_group(resources: list[str] | None, groups: list[str] | None) -> str:
    """CombineResourceGroup: ``deployments.apps/scale``."""
    if not resources:
        return ""
    resource, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        resource += "." + groups[0]
    return f"{resource}/{sub}" if sub else resource


def _describe_role(client: Any, role: Obj, now: float, show_events: bool = True) -> str:
    from kubelab.kubectl.describe import Writer, annotations_multiline, labels_multiline

    w = Writer()
    meta = role["metadata"]
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    rules = [r for rule in role.get("rules") or [] for r in _breakdown(rule)]
    w.w(0, "PolicyRule:\n")
    w.w(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n")
    w.w(1, "---------\t-----------------\t--------------\t-----\n")
    for r in sorted(_compact(rules), key=_sort_key):
        w.w(1, f"{_combine_resource_group(r.get('resources'), r.get('apiGroups'))}\t"
               f"{_go_list(r.get('nonResourceURLs'))}\t{_go_list(r.get('resourceNames'))}\t{_go_list(r['verbs'])}\n")
    return w.text()


def _describe_binding(client: Any, binding: Obj, now: float, show_events: bool = True) -> str:
    from kubelab.kubectl.describe import Writer, annotations_multiline, labels_multiline

    w = Writer()
    meta = binding["metadata"]
    ref = binding.get("roleRef") or {}
    w.w(0, f"Name:\t{meta['name']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.w(0, "Role:\n")
    w.w(1, f"Kind:\t{ref.get('kind', '')}\n")
    w.w(1, f"Name:\t{ref.get('name', '')}\n")
    w.w(0, "Subjects:\n")
    w.w(1, "Kind\tName\tNamespace\n")
    w.w(1, "----\t----\t---------\n")
    for s in binding.get("subjects") or []:
        w.w(1, f"{s.get('kind', '')}\t{s.get('name', '')}\t{s.get('namespace', '')}\n")
    return w.text()


def _register_describers() -> None:
    from kubelab.kubectl.describe import DESCRIBERS

    DESCRIBERS.update({"Role": _describe_role, "ClusterRole": _describe_role,
                       "RoleBinding": _describe_binding, "ClusterRoleBinding": _describe_binding})


_register_describers()


# -- kubectl auth can-i / whoami (cani.go, whoami.go) ------------------------------------------------
_KNOWN_RESOURCE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use",
                         "bind", "impersonate", "*", "approve", "sign", "escalate", "attest")
_KNOWN_NON_RESOURCE_VERBS = ("get", "put", "post", "head", "options", "delete", "patch", "*")


def _user(ctx: Context) -> rbac.User:
    """The learner, or whom ``--as``/``--as-group`` name (the learner may impersonate anyone)."""
    name = ctx.flags.get("as") or ""
    groups = ctx.flags.get("as-group") or []
    if not name:
        if groups:
            raise error("requesting groups or user-extra for  without impersonating a user")
        return rbac.LEARNER
    return rbac.impersonated(name, list(groups))


def _lister(ctx: Context) -> rbac.Lister:
    client = ctx.client
    return lambda kind, namespace: client.list(kind, namespace)["items"]


AS_GROUP = Flag("as-group", type=fl.STRING_ARRAY)
command_group("auth", short="Inspect authorization")


@command("auth can-i", Flag("list", type=fl.BOOL), Flag("subresource", type=fl.STRING), fl.ALL_NAMESPACES,
         Flag("quiet", "q", fl.BOOL), Flag("no-headers", type=fl.BOOL), AS_GROUP)
def auth_can_i(ctx: Context, args: list[str]) -> int:
    user = _user(ctx)
    namespace = "" if ctx.flags.get("all-namespaces") else ctx.namespace
    if ctx.flags.get("list"):
        if args:
            raise error("list option must be specified with no arguments")
        resource, non_resource, evaluation = rbac.rules_for(user, namespace, _lister(ctx))
        rules = [r for rule in resource + non_resource for r in _breakdown(rule)]
        lines = [] if ctx.flags.get("no-headers") else ["Resources\tNon-Resource URLs\tResource Names\tVerbs"]
        for r in sorted(_compact(rules), key=_sort_key):
            lines.append(f"{_combine_resource_group(r.get('resources'), r.get('apiGroups'))}\t"
                         f"{_go_list(r.get('nonResourceURLs'))}\t{_go_list(r.get('resourceNames'))}\t"
                         f"{_go_list(r['verbs'])}")
        from kubelab.kubectl.describe import tabwrite

        if evaluation:
            ctx.eprint(f"Warning: the list may be incomplete: {evaluation}")
        ctx.out.write(tabwrite("".join(line + "\n" for line in lines), 6, 3))
        return 0
    if len(args) != 2:
        raise error("you must specify two arguments: verb resource or verb resource/resourceName.\n"
                    "See 'kubectl auth can-i -h' for help and examples.")
    verb, target = args
    subresource = ctx.flags.get("subresource") or ""
    if target.startswith("/"):
        if subresource:
            raise error("--subresource can not be used with NonResourceURL")
        if verb not in _KNOWN_NON_RESOURCE_VERBS:
            ctx.eprint(f"Warning: verb '{verb}' is not a known verb\n")
        attrs = rbac.Attributes(verb, resource_request=False, path=target)
    else:
        word, _, name = target.partition("/")
        group, plural = "", word
        if word != "*":
            resource, _, typed_group = word.lower().partition(".")
            try:
                kind = _resolve(word.lower())
                group, plural = kind.group, kind.plural
                if not kind.namespaced and not ctx.flags.get("all-namespaces"):
                    where = f" in group '{kind.group}'" if kind.group else ""
                    ctx.eprint(f"Warning: resource '{kind.plural}' is not namespace scoped{where}\n")
            except KubectlError:
                where = f" in group '{typed_group}'" if typed_group else ""
                ctx.eprint(f"Warning: the server doesn't have a resource type '{resource}'{where}\n")
                group, plural = "", word
        if verb not in _KNOWN_RESOURCE_VERBS:
            ctx.eprint(f"Warning: verb '{verb}' is not a known verb\n")
        attrs = rbac.Attributes(verb, api_group=group, resource=plural, subresource=subresource,
                                namespace=namespace, name=name)
    allowed, reason = rbac.authorize(user, attrs, _lister(ctx))
    if not ctx.flags.get("quiet"):
        shown_reason = "" if allowed or reason.startswith("RBAC: allowed") else reason
        ctx.print("yes" if allowed else "no" + (f" - {shown_reason}" if shown_reason else ""))
    return 0 if allowed else 1


@command("auth whoami", *fl.PRINT_FLAGS, AS_GROUP)
def auth_whoami(ctx: Context, args: list[str]) -> int:
    user = _user(ctx)
    output = ctx.flags.get("output") or ""
    if output:
        from kubelab.kubectl import printers

        review = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                  "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.info()}}
        if output == "json":
            ctx.out.write(printers.to_json(review))
            return 0
        if output == "yaml":
            ctx.out.write(printers.to_yaml(review))
            return 0
        raise error(f'unable to match a printer suitable for the output format "{output}", allowed formats are: '
                    "json,yaml")
    from kubelab.kubectl.describe import tabwrite

    rows = ["ATTRIBUTE\tVALUE", f"Username\t{user.name}"]
    if user.uid:
        rows.append(f"UID\t{user.uid}")
    if user.groups:
        rows.append(f"Groups\t[{' '.join(user.groups)}]")
    for key, values in sorted(user.extra.items()):
        rows.append(f"Extra: {key}\t[{' '.join(values)}]")
    ctx.out.write(tabwrite("".join(r + "\n" for r in rows), 6, 3))
    return 0


# -- kubectl create token (create_token.go) -----------------------------------------------------------
@command("create token", Flag("duration", type=fl.DURATION), Flag("audience", type=fl.STRING_ARRAY),
         Flag("bound-object-kind", type=fl.STRING), Flag("bound-object-name", type=fl.STRING),
         Flag("bound-object-uid", type=fl.STRING), *fl.PRINT_FLAGS)
def create_token(ctx: Context, args: list[str]) -> int:
    """A TokenRequest for the ServiceAccount; prints the token (the served API accepts it)."""
    name = _one_name(ctx, args)
    duration = ctx.flags.get("duration") or 0.0
    if duration < 0:
        raise error("--duration must be greater than or equal to 0")
    if duration != int(duration):
        raise error("--duration cannot be expressed in units less than seconds")
    spec: Obj = {"audiences": list(ctx.flags.get("audience") or [])}
    if duration:
        spec["expirationSeconds"] = int(duration)
    issue = getattr(ctx.client, "create_token", None)
    if issue is None:
        raise error("kubelab's kubectl issues tokens for an embedded cluster only")
    try:
        review = issue(name, ctx.namespace, {"spec": spec})
    except StatusError as e:
        raise error(f"failed to create token: {e.message}") from None
    ctx.print(review["status"]["token"])
    return 0
