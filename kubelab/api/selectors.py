"""Label selectors: kubectl's ``-l`` strings and the API's ``matchLabels``/``matchExpressions``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from kubelab.api import errors


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator in ("Gt", "Lt"):  # node affinity only
            try:
                have, want = int(labels[self.key]), int(self.values[0])
            except (KeyError, ValueError, IndexError):
                return False
            return have > want if self.operator == "Gt" else have < want
        raise ValueError(self.operator)


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements. ``equal`` holds the exact ``key=value`` pairs so the store's
    label index can narrow the candidates before the rest are checked."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def equal(self) -> dict[str, str]:
        return {r.key: r.values[0] for r in self.requirements if r.operator == "In" and len(r.values) == 1}

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """A ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``) as a Selector.
    An empty selector matches everything; callers that must reject that check ``empty``."""
    if not selector:
        return Selector()
    reqs = [Requirement(k, "In", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        reqs.append(Requirement(expr["key"], expr["operator"], tuple(expr.get("values") or ())))
    return Selector(tuple(reqs))


def from_map(labels: Mapping[str, str] | None) -> Selector:
    """A Service's or ReplicationController's plain ``selector`` map."""
    return Selector(tuple(Requirement(k, "In", (v,)) for k, v in (labels or {}).items()))


_SET = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def parse(text: str) -> Selector:
    """kubectl's ``-l`` syntax: ``app=web,tier!=db,env in (a,b),!legacy,owner``."""
    reqs: list[Requirement] = []
    for part in _split_top_level(text):
        part = part.strip()
        if not part:
            continue
        for op, operator in (("!=", "NotIn"), ("==", "In"), ("=", "In")):
            if op in part:
                key, _, value = part.partition(op)
                reqs.append(Requirement(key.strip(), operator, (value.strip(),)))
                break
        else:
            m = _SET.match(part)
            if not m:
                raise errors.bad_request(f"unable to parse requirement: {part!r}")
            bang, key, op, values = m.groups()
            if op:
                vals = tuple(v.strip() for v in values.split(",") if v.strip())
                reqs.append(Requirement(key, "In" if op == "in" else "NotIn", vals))
            else:
                reqs.append(Requirement(key, "DoesNotExist" if bang else "Exists"))
    return Selector(tuple(reqs))


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
