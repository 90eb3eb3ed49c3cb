"""What the API server does to an object before it is stored: strict decoding against the
schema, defaulting, and validation (create) or validation against the old object (update).

Each step lives in its own module; this one fixes their order, as the real API server does.
"""
from __future__ import annotations

from typing import Callable

from kubelab.api import defaults, errors, schema, strategy, validation
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj


Record = Callable[[Obj], None]
# A mutating admission plugin that needs cluster state (the engine's): it may change the
# object or raise a StatusError, and runs before validation, as kube-apiserver's do.
Mutate = Callable[[Obj], None]


def admit_create(obj: Obj, kind: Kind, field_validation: str = "Strict",
                 record: Record | None = None, mutate: Mutate | None = None) -> tuple[Obj, list[str]]:
    """Decode, default and validate a new object. Returns it and any warnings
    (unknown fields under ``Warn`` validation); raises ``StatusError`` when it is rejected.
    ``record`` sees the defaulted object before the admission plugins change it: where
    kube-apiserver's field manager runs (createHandler)."""
    obj, warnings = schema.decode(obj, kind, field_validation)
    defaults.apply(obj, kind)
    if record is not None:
        record(obj)
    defaults.admission_plugins(obj, kind)
    if mutate is not None:
        mutate(obj)
    strategy.prepare_for_create(obj, kind)
    causes = validation.validate(obj, kind, None)
    if causes:
        raise errors.invalid(kind.kind, obj["metadata"].get("name", ""), causes, kind.group)
    return obj, warnings


def admit_update(obj: Obj, old: Obj, kind: Kind, field_validation: str = "Strict",
                 record: Record | None = None, mutate: Mutate | None = None) -> tuple[Obj, list[str]]:
    """Decode, default and validate a replacement of ``old`` (immutable fields included);
    ``record`` and ``mutate`` as for admit_create."""
    obj, warnings = schema.decode(obj, kind, field_validation)
    defaults.apply(obj, kind)
    if record is not None:
        record(obj)
    defaults.admission_plugins(obj, kind)
    if mutate is not None:
        mutate(obj)
    strategy.prepare_for_update(obj, old, kind)
    causes = validation.validate(obj, kind, old)
    if causes:
        raise errors.invalid(kind.kind, obj["metadata"].get("name", ""), causes, kind.group)
    return obj, warnings
