"""Status errors: the one way failures cross the API seam.

Every layer above the engine prints these the way kubectl prints a server's ``Status``
(``Error from server (NotFound): pods "x" not found``), so they carry the same fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cause:
    """One field-level cause of an Invalid error (``details.causes[]`` in a Status)."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"


@dataclass
class StatusError(Exception):
    """A Kubernetes ``Status`` of failure, raised by the API layer and the engine."""

    code: int
    reason: str
    message: str
    kind: str = ""  # plural resource name, as in details.kind of a real Status ("pods")
    name: str = ""
    group: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after: int = 0  # details.retryAfterSeconds (and the Retry-After header), as 429s carry

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        """The JSON a real API server would send for this error."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:  # StatusCause's fields are omitempty
            details["causes"] = [
                {k: v for k, v in (("reason", c.reason), ("message", c.message), ("field", c.field)) if v}
                for c in self.causes
            ]
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del status["reason"]  # omitempty: a Status an API handler returns with a code only
        if details:
            status["details"] = details
        return status


def _resource(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str, group: str = "") -> StatusError:
    return StatusError(404, "NotFound", f'{_resource(plural, group)} "{name}" not found', plural, name, group)


def already_exists(plural: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{_resource(plural, group)} "{name}" already exists', plural, name, group
    )


def conflict(plural: str, name: str, group: str = "", why: str = "") -> StatusError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_resource(plural, group)} "{name}": {why}',
        plural,
        name,
        group,
    )


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> StatusError:
    """Kubernetes' ``Invalid`` (422): ``Kind.group "name" is invalid: [field: msg, ...]``."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    body = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return StatusError(422, "Invalid", f'{qualified} "{name}" is invalid: {body}', kind, name, group, causes)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(plural: str, name: str, message: str, group: str = "") -> StatusError:
    return StatusError(403, "Forbidden", message, plural, name, group)


def namespace_terminating(plural: str, name: str, namespace: str, group: str = "") -> StatusError:
    """NamespaceLifecycle's refusal, with the NamespaceTerminating cause clients look for
    (kubectl drain waits such an eviction out)."""
    err = forbidden(
        plural,
        name,
        f'{_resource(plural, group)} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated",
        group,
    )
    err.causes.append(Cause("metadata.namespace", f"namespace {namespace} is being terminated", "NamespaceTerminating"))
    return err
