"""RBAC authorization: who may do what, from the stored Roles, ClusterRoles and their bindings.

Mirrors kube-apiserver's authorizer chain for the served API: the privileged-group authorizer
first (system:masters may do anything, no reason given), then the RBAC authorizer of
plugin/pkg/auth/authorizer/rbac (rbac.go's Authorize, RulesAllow, VisitRulesFor and
appliesTo), and the Forbidden message of the apiserver's responsewriters (forbiddenMessage).
Pure functions over what a ``Client`` lists: the server and ``kubectl auth can-i`` share them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj

GROUP = "rbac.authorization.k8s.io"
MASTERS = "system:masters"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class User:
    """An authenticated user (user.Info): name and groups."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def info(self) -> Obj:
        """As a SelfSubjectReview's ``status.userInfo`` carries it."""
        out: Obj = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = self.extra
        return out


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    """serviceaccount.UserInfo: the username and the fixed groups of a ServiceAccount's token."""
    return User(f"{SA_PREFIX}{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"), uid)


LEARNER = User("kubelab", (MASTERS, "system:authenticated"))  # the kubeconfig's user: cluster-admin


def impersonated(name: str, groups: list[str]) -> User:
    """The user Impersonate-User/-Group make (WithImpersonation): a ServiceAccount's name
    brings its fixed groups when none are given; every impersonated user but
    system:anonymous is system:authenticated."""
    account = name.split(":") if name.startswith(SA_PREFIX) else []
    if len(account) == 4 and not groups:
        return service_account_user(account[2], account[3])
    if "system:authenticated" not in groups and name != "system:anonymous":
        groups = [*groups, "system:authenticated"]
    return User(name, tuple(groups))


@dataclass(frozen=True)
class Attributes:
    """What a request asks (authorizer.Attributes, from the apiserver's RequestInfo)."""

    verb: str
    resource_request: bool = True
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def _has(values: list[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """RuleAllows: verbs, apiGroups, resources (``pods/log``, ``*/scale``), resourceNames; or
    nonResourceURLs (exact, ``*``, or a ``prefix*``)."""
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if attrs.resource_request:
        if not _has(rule.get("apiGroups"), attrs.api_group):
            return False
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        resources = rule.get("resources") or []
        if not any(r == "*" or r == combined or (attrs.subresource and r == "*/" + attrs.subresource)
                   for r in resources):
            return False
        names = rule.get("resourceNames") or []
        return not names or attrs.name in names
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1])):
            return True
    return False


def _applies(subject: Obj, user: User, binding_namespace: str) -> bool:
    """appliesTo: a User by name, a Group by membership, a ServiceAccount by its username."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        return f"{SA_PREFIX}{subject.get('namespace') or binding_namespace}:{name}" == user.name
    return False


Lister = Callable[[str, "str | None"], list[Obj]]  # (kind, namespace) -> the stored objects


@dataclass
class _Source:
    binding: Obj
    role: Obj | None
    error: str = ""


def _describe_subject(subject: Obj, namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("namespace") or namespace}/{subject.get("name", "")}"'
    return f'{subject.get("kind")} "{subject.get("name", "")}"'


def _role_for(ref: Obj, namespace: str, lister: Lister, cache: dict[tuple[str, str], dict[str, Obj]]) -> Obj | None:
    kind = ref.get("kind")
    key = (kind or "", namespace if kind == "Role" else "")
    if key not in cache:
        cache[key] = {r["metadata"]["name"]: r for r in lister(kind or "", namespace if kind == "Role" else None)}
    return cache[key].get(ref.get("name", ""))


def _visit(user: User, namespace: str, lister: Lister) -> Iterator[tuple[str, list[Obj], str]]:
    """VisitRulesFor: (why, rules, error) for every binding whose subjects include ``user``:
    ClusterRoleBindings, then (for a namespaced request) the namespace's RoleBindings."""
    cache: dict[tuple[str, str], dict[str, Obj]] = {}
    scopes: list[tuple[str, str]] = [("ClusterRoleBinding", "")]
    if namespace:
        scopes.append(("RoleBinding", namespace))
    for kind, ns in scopes:
        for binding in lister(kind, ns or None):
            subject = next((s for s in binding.get("subjects") or [] if _applies(s, user, ns)), None)
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            role = _role_for(ref, ns, lister, cache)
            if role is None:
                resource = "role" if ref.get("kind") == "Role" else "clusterrole"
                yield "", [], f'{resource}.{GROUP} "{ref.get("name", "")}" not found'
                continue
            where = f'{kind} "{binding["metadata"]["name"]}' + (f'/{ns}"' if ns else '"')
            why = (f'RBAC: allowed by {where} of {ref.get("kind")} "{ref.get("name")}" to '
                   f'{_describe_subject(subject, ns)}')
            yield why, role.get("rules") or [], ""


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's message: one error as itself, more in brackets."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def authorize(user: User, attrs: Attributes, lister: Lister) -> tuple[bool, str]:
    """(allowed, reason): system:masters always; else whether any bound rule allows ``attrs``
    (the reason names the binding, or the lookups that failed, as ``RBAC: ...``)."""
    if MASTERS in user.groups:
        return True, ""
    errors: list[str] = []
    for why, rules, error in _visit(user, attrs.namespace, lister):
        if error:
            errors.append(error)
        elif any(rule_allows(attrs, rule) for rule in rules):
            return True, why
    return False, f"RBAC: {_aggregate(errors)}" if errors else ""


def rules_for(user: User, namespace: str, lister: Lister) -> tuple[list[Obj], list[Obj], str]:
    """SelfSubjectRulesReview: (resourceRules, nonResourceRules, evaluationError) for
    ``user`` in ``namespace``, in the order the bindings give them (the RBAC rule resolver's
    only: the privileged-group authorizer lists no rules, system:masters shows cluster-admin's
    through its binding)."""
    resource: list[Obj] = []
    non_resource: list[Obj] = []
    errors: list[str] = []
    for _why, rules, error in _visit(user, namespace, lister):
        if error:
            errors.append(error)
        for rule in rules:
            if rule.get("nonResourceURLs"):
                non_resource.append({"verbs": list(rule.get("verbs") or []),
                                     "nonResourceURLs": list(rule["nonResourceURLs"])})
            else:
                entry: Obj = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or []),
                              "resources": list(rule.get("resources") or [])}
                if rule.get("resourceNames"):
                    entry["resourceNames"] = list(rule["resourceNames"])
                resource.append(entry)
    return resource, non_resource, _aggregate(errors) if errors else ""


def forbidden_message(user: User, attrs: Attributes) -> str:
    """forbiddenMessage in the apiserver's responsewriters/errors.go."""
    if not attrs.resource_request:
        return f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = (f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope")
    return (f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" '
            f"{where}")


def forbidden(user: User, attrs: Attributes, reason: str = "") -> StatusError:
    """The 403 the apiserver answers (errors.NewForbidden over forbiddenMessage and the
    authorizer's reason): ``pods is forbidden: User ... in the namespace "default"``."""
    message = forbidden_message(user, attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request:
        return StatusError(403, "Forbidden", f"forbidden: {message}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return StatusError(403, "Forbidden", f"{subject} is forbidden: {message}", attrs.resource, attrs.name,
                       attrs.api_group)
