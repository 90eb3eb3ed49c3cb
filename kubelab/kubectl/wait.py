"""``kubectl wait --for=condition=X|delete|jsonpath=...``: block until objects reach a state.

The wait goes through ``client.wait``, so on a virtual clock the cluster runs forward to the
moment the condition holds (or the timeout passes) and on a real one it waits in real time.
"""
from __future__ import annotations

import re
from typing import Callable

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import NO_RESOURCES, Context, KubectlError, command, error
from kubelab.kubectl.describe import object_name, resource_args


def _condition(spec: str) -> Callable[[Obj], bool]:
    name, _, want = spec.partition("=")
    want = want or "True"

    def met(obj: Obj) -> bool:
        for c in (obj.get("status") or {}).get("conditions") or ():
            if str(c.get("type", "")).lower() == name.lower():
                return str(c.get("status", "")).lower() == want.lower()
        return False
    return met


def _jsonpath(spec: str) -> Callable[[Obj], bool]:
    from kubelab.kubectl.printers import jsonpath

    m = re.fullmatch(r"(\{.*\}|[^=]+)(?:=(.*))?", spec)
    if not m:
        raise error("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or "
                    "--for=jsonpath='{.status.readyReplicas}'")
    path, value = m.group(1), m.group(2)
    if not path.startswith("{"):
        path = "{" + path + "}"

    def met(obj: Obj) -> bool:
        try:
            got = jsonpath(path, obj)
        except Exception:
            return False
        return got != "" if value is None else got == value
    return met


@command("wait", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, fl.ALL_NAMESPACES, fl.FIELD_SELECTOR,
         *fl.PRINT_FLAGS, fl.Flag("for", type=fl.STRING), fl.Flag("timeout", type=fl.DURATION, default=30.0),
         fl.Flag("all", type=fl.BOOL), fl.Flag("local", type=fl.BOOL),
         short="Experimental: Wait for a specific condition on one or many resources")
def wait(ctx: Context, args: list[str]) -> int:
    spec = ctx.flags.get("for")
    delete = spec == "delete"
    if delete:
        check = None
    elif spec.startswith("condition="):
        check = _condition(spec[len("condition="):])
    elif spec.startswith("jsonpath="):
        check = _jsonpath(spec[len("jsonpath="):])
    elif spec == "create":
        check = lambda obj: True  # noqa: E731 - created is enough
    else:
        quoted = spec.replace("\\", "\\\\").replace('"', '\\"')  # Go's %q
        raise error(f'unrecognized condition: "{quoted}"')
    if not args:
        raise error(NO_RESOURCES)
    timeout = ctx.flags.get("timeout")
    pairs = []
    for kind, names in resource_args(args):
        ns = ctx.namespace if kind.namespaced else None
        if not names:
            selector = ctx.flags.get("selector") or None
            everywhere = ctx.flags.get("all-namespaces") and kind.namespaced
            found = ctx.client.list(kind.kind, None if everywhere else ns, label_selector=selector)["items"]
            if not found:
                raise error("no matching resources found")
            pairs += [(kind, o["metadata"]["name"], o["metadata"].get("namespace") if kind.namespaced else None)
                      for o in found]
        else:
            pairs += [(kind, name, ns) for name in names]
    errs: list[str] = []
    for kind, name, ns in pairs:
        label = f"{kind.qualified_singular}/{name}"

        def current() -> Obj | None:
            try:
                return ctx.client.get(kind.kind, name, ns)
            except StatusError:
                return None

        if delete:
            if ctx.client.wait(lambda: current() is None, timeout):
                ctx.print(f"{label} condition met")
            else:
                errs.append(f"error: timed out waiting for the condition on {kind.plural}/{name}")
            continue
        obj = current()
        if obj is None:
            raise StatusError(404, "NotFound", f'{kind.resource} "{name}" not found', kind.plural, name, kind.group)
        if ctx.client.wait(lambda: (o := current()) is not None and check(o), timeout):
            ctx.print(f"{object_name(kind, obj)} condition met")
        else:
            errs.append(f"error: timed out waiting for the condition on {kind.plural}/{name}")
    if errs:
        raise KubectlError("\n".join(errs))
    return 0
