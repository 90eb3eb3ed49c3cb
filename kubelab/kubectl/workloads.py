"""kubectl's object-changing verbs: ``scale``, ``set image|env|resources``, ``label``,
``annotate``, ``expose``, ``patch`` and ``edit``, with kubectl 1.32's messages.

Each works the way kubectl does it client-side: fetch the object, compute the change, send a
patch (or the scale subresource, or an update for ``edit``), and name the object in the reply
(``deployment.apps/echo-server scaled``).
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from kubelab.api import wire
from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import (NO_RESOURCES, Context, KubectlError, command, error, format_error, group,
                                     standard_message)
from kubelab.kubectl.describe import file_targets, object_name, targets


def _split_pairs(args: list[str], pair_type: str) -> tuple[list[str], list[str]]:
    """cmdutil.GetResourcesAndPairs: ``key=value`` (not ``=value``) and ``key-`` (not ``-``)
    words are pairs, the words before the first pair name resources."""
    resources: list[str] = []
    pairs: list[str] = []
    for word in args:
        if ("=" in word and not word.startswith("=")) or (word.endswith("-") and word != "-"):
            pairs.append(word)
        elif pairs:
            raise error(f"all resources must be specified before {pair_type} changes: {word}")
        else:
            resources.append(word)
    return resources, pairs


def _aggregate(errs: list[BaseException | str]) -> KubectlError:
    """The errors a visitor collected, as cmdutil.CheckErr prints them (one alone unwrapped)."""
    if len(errs) == 1 and isinstance(errs[0], BaseException):
        return KubectlError(format_error(errs[0]))
    texts = [e if isinstance(e, str) else standard_message(e) for e in errs]
    return KubectlError("\n".join(t if t.startswith(("error: ", "Error from server")) else f"error: {t}"
                                  for t in texts))


# -- scale -------------------------------------------------------------------------------------
@command("scale", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN,
         fl.Flag("replicas", type=fl.INT, default=-1), fl.Flag("current-replicas", type=fl.INT, default=-1),
         fl.Flag("resource-version", type=fl.STRING), fl.Flag("all", type=fl.BOOL),
         fl.Flag("timeout", type=fl.DURATION), short="Set a new size for a deployment, replica set, or replication controller",
         required=("replicas",))
def scale(ctx: Context, args: list[str]) -> int:
    replicas = ctx.flags.get("replicas")
    if replicas < 0:
        raise error("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    if not args and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    dry_run = ctx.dry_run()
    from kubelab.kubectl.apply import APPLY_FORMATS
    from kubelab.kubectl.get import check_output

    printing = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    errs: list[BaseException | str] = []
    for kind, obj in _from_args_or_files(ctx, args):
        name = obj["metadata"]["name"]
        current = (obj.get("spec") or {}).get("replicas", 1)
        if not kind.scale:  # no scale subresource
            errs.append(StatusError(404, "NotFound", "the server could not find the requested resource"))
            continue
        expected = ctx.flags.get("current-replicas")
        if expected >= 0 and expected != current:
            errs.append(f"Expected replicas to be {expected}, was {current}")
            continue
        version = ctx.flags.get("resource-version")
        if version and version != obj["metadata"].get("resourceVersion"):
            errs.append(f"Expected resource version to be {version}, was {obj['metadata'].get('resourceVersion')}")
            continue
        if dry_run == "server":
            patched = copy.deepcopy(obj)
            patched["spec"]["replicas"] = replicas
            ctx.client.update(patched, obj["metadata"]["namespace"], dry_run=True)
        elif dry_run == "none":
            ctx.client.scale(kind.kind, name, obj["metadata"]["namespace"], replicas)
            ctx.touch(obj, "scaled")
        _print_changed(ctx, kind, obj, "scaled", dry_run, printing)  # scale.go prints the object it fetched
    if errs:
        raise _aggregate(errs)
    return 0


def _from_args_or_files(ctx: Context, args: list[str]) -> list[tuple[Kind, Obj]]:
    found = file_targets(ctx) if ctx.flags.get("filename") else []
    return found + targets(ctx, args)


# -- set image ---------------------------------------------------------------------------------
group("set", short="Configure application resources")


def _pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] == "Pod":
        return obj.get("spec")
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return ((obj.get("spec") or {}).get("template") or {}).get("spec")


@command("set image", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN,
         fl.FIELD_MANAGER, fl.Flag("all", type=fl.BOOL), fl.Flag("local", type=fl.BOOL),
         short="Update the image of a pod template")
def set_image(ctx: Context, args: list[str]) -> int:
    resources = [a for a in args if "=" not in a]
    images = [a for a in args if "=" in a]
    if not resources and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    if not images:
        raise error("at least one image update is required")
    updates = {}
    for pair in images:
        container, _, image = pair.partition("=")
        updates[container] = image
    dry_run = ctx.dry_run()
    errs: list[BaseException | str] = []
    for kind, obj in _from_args_or_files(ctx, resources):
        spec = _pod_spec(obj)
        if spec is None:
            errs.append(f"error: {object_name(kind, obj)} the object is not a pod or does not have a pod template: {kind.kind}")
            continue
        changed = copy.deepcopy(obj)
        new_spec = _pod_spec(changed) or {}
        for container, image in updates.items():
            found = False
            for c in list(new_spec.get("initContainers") or ()) + list(new_spec.get("containers") or ()):
                if container in ("*", c["name"]):
                    c["image"] = image
                    found = True
            if not found:  # the containers it did find are still updated
                errs.append(f'error: unable to find container named "{container}"')
        if changed == obj:
            continue
        if dry_run != "client":
            changed = ctx.client.update(changed, obj["metadata"]["namespace"], dry_run=dry_run == "server",
                                        field_manager=ctx.field_manager("kubectl-set"))
        if dry_run == "none":
            ctx.touch(changed, "image updated")
        _print_changed(ctx, kind, changed, "image updated", dry_run)
    if errs:
        raise _aggregate(errs)
    return 0


def _dry_suffix(dry_run: str) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")


def print_outcome(ctx: Context, printer: str, template: str | None, qualified: str, obj: Obj, dry_run: str,
                  verb: str) -> None:
    """What a command that made one object prints (create, expose): the ``-o`` format over
    it, else ``<kind>/<name> <verb>``. A client dry run prints the typed object, in its
    struct's field order."""
    from kubelab.kubectl import printers
    from kubelab.kubectl.get import write_template

    if printer == "yaml":
        ctx.out.write(printers.to_yaml(obj))
    elif printer == "json":
        ctx.out.write(printers.to_json(obj, sort_keys=dry_run != "client"))
    elif printer == "name":
        ctx.print(f"{qualified}/{(obj.get('metadata') or {}).get('name', '')}")
    elif printer:
        write_template(ctx, printer, template, obj, typed=dry_run == "client")
    else:
        ctx.print(f"{qualified}/{(obj.get('metadata') or {}).get('name', '')} {verb}{_dry_suffix(dry_run)}")


# -- set env and set resources -----------------------------------------------------------------
_ENV_ARGUMENT = re.compile(r"(?s)^(.+)=(.*)$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ENV_NAME_MESSAGE = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
                     "or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
                     "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')")


def _split_env_args(args: list[str]) -> tuple[list[str], list[str]]:
    """envutil.SplitEnvironmentFromResources: resources first, then ``K=V`` and ``K-`` words."""
    resources: list[str] = []
    changes: list[str] = []
    for word in args:
        if _ENV_ARGUMENT.match(word) or word.endswith("-"):
            changes.append(word)
        elif changes:
            raise error(f"all resources must be specified before environment changes: {' '.join(args)}")
        else:
            resources.append(word)
    return resources, changes


def _parse_env(specs: list[str], stdin: str) -> tuple[list[Obj], list[str]]:
    """envutil.ParseEnv: variables to set (``-`` reads ``K=V`` lines from stdin) and names to
    remove, with kubectl's errors."""
    env: list[Obj] = []
    remove: list[str] = []
    for spec in specs:
        if spec == "-":
            for line in stdin.splitlines():
                line = line.split("#", 1)[0]
                if "=" in line:
                    name, _, value = line.partition("=")
                    env.append({"name": name, "value": value})
        elif "=" in spec:
            name, _, value = spec.partition("=")
            if not _ENV_NAME.match(name):
                raise error(f'"{name}" is not a valid key name: {_ENV_NAME_MESSAGE}')
            env.append({"name": name, "value": value})
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise error(f"unknown environment variable: {spec}")
    if any(e["name"] in remove for e in env):
        raise error("can not both modify and remove the same environment variable in the same command")
    return env, remove


def _env_from(ctx: Context, source: str, keys: list[str]) -> list[Obj]:
    """``--from=configmap/NAME|secret/NAME``: one variable per key, named as kubectl names them
    (non-word characters to ``_``, upper case, with a warning when that changes it), referring
    to that key. Keys go in sorted order
    (kubectl walks a Go map, so its order varies from run to run)."""
    env: list[Obj] = []
    for kind, obj in targets(ctx, [source]):
        if kind.kind not in ("ConfigMap", "Secret"):
            raise error("unsupported resource specified in --from")
        ref = "configMapKeyRef" if kind.kind == "ConfigMap" else "secretKeyRef"
        for key in sorted(obj.get("data") or {}):
            if not keys or key in keys:
                name = re.sub(r"[^a-zA-Z0-9_]", "_", key).upper()
                if name != key:
                    ctx.eprint(f"Warning: key {key} transferred to {name}")
                env.append({"name": name, "valueFrom": {ref: {"key": key, "name": obj["metadata"]["name"]}}})
    return env


def _update_env(existing: list[Obj], env: list[Obj], remove: list[str]) -> list[Obj]:
    """kubectl's updateEnv: a set variable replaces every one of its name in place, new ones
    go last, removals win."""
    out: list[Obj] = []
    covered = set(remove)
    for e in existing:
        if e["name"] in covered:
            continue
        newer = next((n for n in env if n["name"] == e["name"]), None)
        if newer is not None:
            covered.add(e["name"])
        out.append(copy.deepcopy(newer if newer is not None else e))
    for e in env:
        if e["name"] not in covered:
            covered.add(e["name"])
            out.append(copy.deepcopy(e))
    return out


def _select_containers(containers: list[Obj], selector: str) -> list[Obj]:
    """``-c``: container names matching a pattern where ``*`` is a wildcard."""
    pattern = re.compile(".*".join(re.escape(part) for part in selector.split("*")), re.S)
    return [c for c in containers if pattern.fullmatch(c["name"])]


def _ref_text(source: Obj) -> str:
    """envutil.GetEnvVarRefString."""
    if "configMapKeyRef" in source:
        return f"configmap {source['configMapKeyRef'].get('name', '')}, key {source['configMapKeyRef']['key']}"
    if "secretKeyRef" in source:
        return f"secret {source['secretKeyRef'].get('name', '')}, key {source['secretKeyRef']['key']}"
    if "fieldRef" in source:
        return f"field path {source['fieldRef']['fieldPath']}"
    if "resourceFieldRef" in source:
        ref = source["resourceFieldRef"]
        return f"resource field {ref['containerName'] + '/' if ref.get('containerName') else ''}{ref['resource']}"
    return "invalid valueFrom"


def _ref_value(ctx: Context, source: Obj) -> str:
    """The value a ConfigMap or Secret key reference resolves to (``--list --resolve``)."""
    import base64

    for field, kind, noun, data in (("configMapKeyRef", "ConfigMap", "config map", "data"),
                                    ("secretKeyRef", "Secret", "secret", "data")):
        if field in source:
            ref = source[field]
            obj = ctx.client.get(kind, ref.get("name", ""), ctx.namespace)
            values = obj.get(data) or {}
            if ref["key"] not in values:
                raise ValueError(f"key {ref['key']} not found in {noun} {ref.get('name', '')}")
            value = values[ref["key"]]
            return base64.b64decode(value).decode("utf-8", "replace") if kind == "Secret" else value
    raise ValueError("invalid valueFrom")


def _list_env(ctx: Context, kind: Kind, obj: Obj, container: Obj) -> None:
    """``--list``: the container's variables (after this command's changes), references as
    comments unless ``--resolve``."""
    ctx.print(f"# {kind.kind} {obj['metadata']['name']}, container {container['name']}")
    failures: dict[str, list[str]] = {}
    for e in container.get("env") or ():
        source = e.get("valueFrom")
        if source is None:
            ctx.print(f"{e['name']}={e.get('value', '')}")
            continue
        if ctx.flags.get("resolve") and ("configMapKeyRef" in source or "secretKeyRef" in source):
            try:
                ctx.print(f"{e['name']}={_ref_value(ctx, source)}")
                continue
            except (StatusError, ValueError) as err:
                failures.setdefault(err.message if isinstance(err, StatusError) else str(err), []).append(e["name"])
        ctx.print(f"# {e['name']} from {_ref_text(source)}")
    for text in sorted(f"error retrieving reference for {', '.join(sorted(names))}: {message}"
                       for message, names in failures.items()):
        ctx.eprint(text)


def _print_changed(ctx: Context, kind: Kind, obj: Obj, message: str, dry_run: str,
                   printing: tuple[str, str] | None = None) -> None:
    """What kubectl's PrintFlags print for a changed object: the ``-o`` format over it
    (yaml, json, name, templates) or the ``<kind>/<name> <message>`` line."""
    from kubelab.kubectl import printers
    from kubelab.kubectl.apply import APPLY_FORMATS
    from kubelab.kubectl.get import check_output, write_template

    if printing is None:
        printing = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    output, template = printing
    obj = {k: v for k, v in obj.items() if k != "__warnings__"}
    if output in ("yaml", "json"):
        ctx.out.write(printers.to_yaml(obj) if output == "yaml" else printers.to_json(obj))
    elif output == "name":
        ctx.print(object_name(kind, obj))
    elif output:
        write_template(ctx, output, template, obj)
    else:
        ctx.print(f"{object_name(kind, obj)} {message}{_dry_suffix(dry_run)}")


def _template_targets(ctx: Context, resources: list[str], local_args: str) -> list[tuple[Kind, Obj]]:
    """The objects ``set env|resources`` change: from the server, or with ``--local`` the
    manifests given with ``-f`` as they are (``local_args`` is the error for names given with
    ``--local``: each command words it its own way)."""
    if any("/" in r for r in resources) and (ctx.flags.get("all") or ctx.flags.values.get("selector")):
        raise error("selectors and the all flag cannot be used when passing resource/name arguments")
    if not ctx.flags.get("local"):
        return _from_args_or_files(ctx, resources)
    if resources:
        raise error(local_args)
    from kubelab.kubectl.manifests import kind_of, read_manifests

    found: list[tuple[Kind, Obj]] = []
    for doc in read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive")):
        if doc.error or doc.obj is None:
            raise KubectlError(doc.error)
        found.append((kind_of(doc), _typed(doc.obj)))
    return found


# Fields of the workload structs without omitempty, which a typed object prints though the
# manifest left them out (a pod spec's containers add ``resources: {}``, every ObjectMeta
# ``creationTimestamp: null``, every workload ``status``).
_WORKLOADS = frozenset(("Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController",
                        "Job", "CronJob"))
_TYPED_SPEC: dict[str, Obj] = {"Deployment": {"strategy": {}}, "DaemonSet": {"updateStrategy": {}},
                               "StatefulSet": {"serviceName": "", "updateStrategy": {}}}
_TYPED_STATUS: dict[str, Obj] = {
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                  "numberReady": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0}, "ReplicaSet": {"replicas": 0},
    "ReplicationController": {"replicas": 0}}


def _typed(obj: Obj) -> Obj:
    """A workload manifest as kubectl holds it once decoded into its Go type (``--local``
    prints that, as ``create deployment --dry-run=client`` prints the object it built): with
    the empty fields the type always writes."""
    kind = obj.get("kind", "")
    if kind not in _WORKLOADS:
        return obj
    out = copy.deepcopy(obj)
    _stamp(out)
    spec = out.get("spec") or {}
    for field, empty in _TYPED_SPEC.get(kind, {}).items():
        spec.setdefault(field, empty)
    if kind == "CronJob" and isinstance(spec.get("jobTemplate"), dict):
        _stamp(spec["jobTemplate"])
        spec = spec["jobTemplate"].get("spec") or {}
    template = out if kind == "Pod" else spec.get("template")
    if isinstance(template, dict):
        if template is not out:
            _stamp(template)
        pod_spec = template.get("spec") or {}
        for container in [*(pod_spec.get("initContainers") or ()), *(pod_spec.get("containers") or ())]:
            container.setdefault("resources", {})
    out["status"] = {**_TYPED_STATUS.get(kind, {}), **(out.get("status") or {})}
    return out


def _stamp(holder: Obj) -> None:
    """ObjectMeta's creationTimestamp, which a typed object writes as null when unset."""
    holder["metadata"] = {"creationTimestamp": None, **(holder.get("metadata") or {})}


def _patch_templates(ctx: Context, found: list[tuple[Kind, Obj]], change: Any, verb: str,
                     message: str, dry_run: str, *, skip_empty: bool = True,
                     patch_failed: str = "") -> list[BaseException | str]:
    """kubectl's CalculatePatches then PATCH: ``change(kind, obj, pod_spec)`` edits a copy's
    pod spec (returning an error text to skip the object); the two-way strategic merge patch
    from the old object to the new is sent, and an empty patch means nothing to do."""
    from kubelab.api.patch import three_way

    errs: list[BaseException | str] = []
    for kind, obj in found:
        changed = copy.deepcopy(obj)
        spec = _pod_spec(changed)
        if spec is None:
            errs.append(f"error: {kind.plural}/{obj['metadata']['name']} the object is not a pod or does not "
                        f"have a pod template: *v1.{kind.kind}")
            continue
        problem = change(kind, changed, spec)
        if problem:
            errs.append(f"error: {kind.plural}/{obj['metadata']['name']} {problem}")
            continue
        body = three_way(obj, changed, obj)
        if not body and skip_empty:
            continue
        if dry_run == "client" or ctx.flags.get("local"):
            _print_changed(ctx, kind, changed, message, dry_run)
            continue
        try:
            patched = ctx.client.patch(kind.kind, obj["metadata"]["name"], obj["metadata"].get("namespace"), body,
                                       "strategic", dry_run=dry_run == "server",
                                       field_manager=ctx.field_manager("kubectl-set"))
        except StatusError as e:
            errs.append(f"{patch_failed} {e.message}" if patch_failed else
                        f"failed to patch {verb} update to pod template{':' if verb == 'env' else ''} {e.message}")
            continue
        if dry_run == "none":
            ctx.touch(patched, message)
        _print_changed(ctx, kind, ctx.warnings(patched) or changed, message, dry_run)
    return errs


@command("set env", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN,
         fl.FIELD_MANAGER, fl.Flag("containers", "c", fl.STRING, default="*"), fl.Flag("from", type=fl.STRING),
         fl.Flag("prefix", type=fl.STRING), fl.Flag("env", "e", fl.STRING_ARRAY),
         fl.Flag("keys", type=fl.STRING_SLICE), fl.Flag("list", type=fl.BOOL), fl.Flag("resolve", type=fl.BOOL),
         fl.Flag("local", type=fl.BOOL), fl.Flag("all", type=fl.BOOL),
         fl.Flag("overwrite", type=fl.BOOL, default=True), short="Update environment variables on a pod template")
def set_env(ctx: Context, args: list[str]) -> int:
    """Change (or ``--list``) the variables of pod templates' containers: a Deployment rolls out."""
    if ctx.flags.get("all") and ctx.flags.get("selector"):
        raise error("cannot set --all and --selector at the same time")
    resources, changes = _split_env_args(args)
    dry_run = ctx.dry_run()
    if ctx.flags.get("local") and dry_run == "server":
        raise error("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
    if not ctx.flags.get("filename") and not resources:
        raise error("one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if ctx.flags.get("list") and ctx.flags.get("output"):
        raise error("--list and --output may not be specified together")
    if ctx.flags.get("keys") and not ctx.flags.get("from"):
        raise error("when specifying --keys, a configmap or secret must be provided with --from")
    env, remove = _parse_env([*ctx.flags.get("env"), *changes], ctx.stdin or "")
    if ctx.flags.get("from"):
        env += _env_from(ctx, ctx.flags.get("from"), ctx.flags.get("keys"))
    prefix = ctx.flags.get("prefix")
    env = [{**e, "name": prefix + e["name"]} for e in env]
    selector = ctx.flags.get("containers")
    listing = ctx.flags.get("list")

    def change(kind: Kind, obj: Obj, spec: Obj) -> str | None:
        containers = _select_containers(spec.get("containers") or [], selector)
        if not containers:
            ctx.eprint(f'Warning: {kind.kind}/{obj["metadata"]["name"]} does not have any containers matching '
                       f'"{selector}"')
        for container in containers:
            existing = container.get("env") or []
            if not ctx.flags.get("overwrite"):
                for e in env:
                    current = next((x for x in existing if x["name"] == e["name"]), None)
                    if current is not None and current.get("value", "") != e.get("value", ""):
                        return (f"'{current['name']}' already has a value ({current.get('value', '')}), "
                                "and --overwrite is false")
            updated = _update_env(existing, env, remove)
            if updated:
                container["env"] = updated
            else:
                container.pop("env", None)
            if listing:
                _list_env(ctx, kind, obj, container)
        return None

    found = _template_targets(ctx, resources, NO_RESOURCES)
    if listing:
        for kind, obj in found:
            spec = _pod_spec(copy.deepcopy(obj))
            if spec is not None:
                change(kind, obj, spec)
        return 0
    errs = _patch_templates(ctx, found, change, "env", "env updated", dry_run)
    if errs:
        raise _aggregate(errs)
    return 0


def resource_list(text: str) -> Obj:
    """generateversioned's populateResourceListV1 (set resources, create quota):
    ``cpu=100m,memory=256Mi`` with quantities in their canonical spelling."""
    from kubelab.api.quantity import QuantityError, parse

    result: Obj = {}
    for statement in text.split(","):
        parts = statement.split("=")
        if len(parts) != 2:
            raise error(f"Invalid argument syntax {statement}, expected <resource>=<value>")
        try:
            result[parts[0]] = str(parse(parts[1]))
        except QuantityError as e:
            raise error(str(e)) from None
    return result


@command("set resources", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, *fl.PRINT_FLAGS, fl.DRY_RUN,
         fl.FIELD_MANAGER, fl.Flag("containers", "c", fl.STRING, default="*"), fl.Flag("limits", type=fl.STRING),
         fl.Flag("requests", type=fl.STRING), fl.Flag("local", type=fl.BOOL), fl.Flag("all", type=fl.BOOL),
         fl.Flag("record", type=fl.BOOL), short="Update resource requests/limits on objects with pod templates")
def set_resources(ctx: Context, args: list[str]) -> int:
    """Set requests/limits on pod templates' containers (kubectl fetches the objects first, then
    checks the flags)."""
    dry_run = ctx.dry_run()
    if not args and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    found = _template_targets(ctx, args, "you must specify resources by --filename when --local is set.\n"
                              "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'")
    if ctx.flags.get("local") and dry_run == "server":
        raise error("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
    if ctx.flags.get("all") and ctx.flags.get("selector"):
        raise error("cannot set --all and --selector at the same time")
    limits, requests = ctx.flags.get("limits"), ctx.flags.get("requests")
    if not limits and not requests:
        raise error("you must specify an update to requests or limits (in the form of --requests/--limits)")
    wanted = {"limits": resource_list(limits) if limits else {},
              "requests": resource_list(requests) if requests else {}}
    selector = ctx.flags.get("containers")
    errs: list[BaseException | str] = []

    def change(kind: Kind, obj: Obj, spec: Obj) -> str | None:
        containers = _select_containers(spec.get("containers") or [], selector)
        if not containers:
            errs.append(f"error: unable to find container named {selector}")
        for container in containers:
            resources = container.setdefault("resources", {})
            for field, values in wanted.items():
                if values:
                    resources[field] = {**(resources.get(field) or {}), **values}
        return None

    errs += _patch_templates(ctx, found, change, "resources", "resource requirements updated", dry_run)
    if errs:
        raise _aggregate(errs)
    return 0


_SA_FLAGS = (fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
             fl.Flag("all", type=fl.BOOL), fl.Flag("local", type=fl.BOOL), fl.Flag("record", type=fl.BOOL))


@command("set serviceaccount", *_SA_FLAGS, short="Update the service account of a resource")
def set_serviceaccount(ctx: Context, args: list[str]) -> int:
    """set_serviceaccount.go: the last word is the ServiceAccount, the words before it name the
    objects; every object is patched (an unchanged one too) and printed."""
    dry_run = ctx.dry_run()
    if ctx.flags.get("local") and dry_run == "server":
        raise error("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
    from kubelab.kubectl.apply import APPLY_FORMATS
    from kubelab.kubectl.get import check_output

    check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    if not args:
        raise error("serviceaccount is required")
    account, resources = args[-1], args[:-1]
    if not resources and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    found = _template_targets(ctx, resources, NO_RESOURCES)

    def change(kind: Kind, obj: Obj, spec: Obj) -> str | None:
        spec["serviceAccountName"] = account
        return None

    errs = _patch_templates(ctx, found, change, "serviceaccount", "serviceaccount updated", dry_run,
                            skip_empty=False, patch_failed="failed to patch ServiceAccountName")
    if errs:
        raise _aggregate(errs)
    return 0


@command("set sa", *_SA_FLAGS, short="Update the service account of a resource")
def set_sa(ctx: Context, args: list[str]) -> int:
    return set_serviceaccount(ctx, args)


# -- label and annotate ------------------------------------------------------------------------
def _parse_labels(pairs: list[str]) -> tuple[dict[str, str], list[str]]:
    """label.go's parseLabels: only the values are checked here (the server checks the keys)."""
    from kubelab.api.validation import label_value

    add: dict[str, str] = {}
    remove: list[str] = []
    for pair in pairs:
        if "=" in pair:
            parts = pair.split("=")
            if len(parts) != 2:
                raise error(f"invalid label spec: {pair}")
            problems = label_value(parts[1])
            if problems:
                raise error(f"invalid label value: {json.dumps(pair)}: {';'.join(problems)}")
            add[parts[0]] = parts[1]
        elif pair.endswith("-"):
            remove.append(pair[:-1])
        else:
            raise error(f"unknown label spec: {pair}")
    if any(key in add for key in remove):
        raise error("can not both modify and remove a label in the same command")
    return add, remove


def _parse_annotations(pairs: list[str]) -> tuple[dict[str, str], list[str]]:
    """cmdutil.ParsePairs(..., "annotation", true) and annotate's validateAnnotations."""
    add: dict[str, str] = {}
    remove: list[str] = []
    invalid: list[str] = []
    for pair in pairs:
        if "=" in pair and not pair.startswith("="):
            key, _, value = pair.partition("=")
            add[key] = value
        elif pair.endswith("-") and pair != "-":
            remove.append(pair[:-1])
        else:
            invalid.append(pair)
    if invalid:
        raise error(f"invalid annotation format: {', '.join(invalid)}")
    both = [key for key in remove if key in add]
    if both:
        raise error(f"can not both modify and remove the following annotation(s) in the same command: "
                    f"{', '.join(both)}")
    return add, remove


def _single_item_implied(ctx: Context, resources: list[str]) -> bool:
    """The resource builder's IntoSingleItemImplied: one ``type/name`` or ``type name``."""
    if ctx.flags.get("filename") or ctx.flags.get("selector") or ctx.flags.get("all"):
        return False
    if len(resources) == 1:
        return "/" in resources[0]
    return len(resources) == 2 and "/" not in resources[0] and "," not in resources[0]


def _relabel(ctx: Context, args: list[str], field: str, noun: str) -> int:
    """label.go's RunLabel and annotate.go's RunAnnotate: change the map on a copy, send the
    merge patch between the two, print (label: the changed copy; annotate: the server's answer)."""
    from kubelab.kubectl.apply import APPLY_FORMATS
    from kubelab.kubectl.get import check_output

    resources, pairs = _split_pairs(args, noun)
    listing = ctx.flags.get("list")
    add, remove = _parse_labels(pairs) if field == "labels" else _parse_annotations(pairs)
    if listing and ctx.flags.get("output"):
        raise error("--list and --output may not be specified together")
    if ctx.flags.get("all") and ctx.flags.get("selector"):
        raise error("cannot set --all and --selector at the same time")
    if not resources and not ctx.flags.get("filename"):
        raise error("one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if not add and not remove and not listing:
        raise error(f"at least one {noun} update is required")
    printing = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    overwrite = ctx.flags.get("overwrite")
    dry_run = ctx.dry_run()
    if ctx.flags.get("all"):
        resources = [resources[0]] if resources else resources
    selected = _from_args_or_files(ctx, resources)
    one = _single_item_implied(ctx, resources) and len(selected) == 1
    errs: list[BaseException | str] = []
    for kind, obj in selected:
        current = dict(obj["metadata"].get(field) or {})
        local = dry_run == "client" or listing
        if field == "labels" and not local:
            for key in remove:
                if key not in current:
                    ctx.print(f'label "{key}" not found.')
        if not overwrite:
            clashes = [(k, current[k]) for k, v in add.items() if k in current and current[k] != v
                       and not (field == "annotations" and k == "kubernetes.io/change-cause")]
            if clashes and field == "labels":
                errs.extend(f"'{k}' already has a value ({v}), and --overwrite is false" for k, v in clashes)
                continue
            if clashes:
                found = "; ".join(f"'{k}' already has a value ({v})" for k, v in clashes)
                errs.append(f"--overwrite is false but found the following declared annotation(s): {found}")
                continue
        updated = dict(current)
        updated.update(add)
        for key in remove:
            updated.pop(key, None)
        changed = copy.deepcopy(obj)
        changed["metadata"][field] = updated  # SetLabels/SetAnnotations of a non-nil map
        message = "annotated"
        if field == "labels":
            before, after = (json.dumps(o, sort_keys=True, separators=(",", ":")) for o in (obj, changed))
            message = "not labeled"
            if before != after:
                message = "unlabeled" if not overwrite and len(after) < len(before) else "labeled"
        shown = changed
        if not local:
            patch = {"metadata": {field: {**{k: None for k in current if k not in updated}, **add}}}
            try:
                answer = ctx.client.patch(kind.kind, obj["metadata"]["name"], obj["metadata"].get("namespace"), patch,
                                          "merge", dry_run=dry_run == "server",
                                          field_manager=ctx.field_manager(f"kubectl-{ctx.path}"))
            except StatusError as e:
                errs.append(e)
                continue
            if dry_run == "none":
                ctx.touch(answer, message)
            if field == "annotations":
                shown = answer
        if listing:
            values = (shown["metadata"].get(field) or {})
            indent = ""
            if not one:
                indent = " "
                ctx.print(f"Listing {field} for {kind.kind}.{kind.group}/{obj['metadata']['name']}:")
            for key in sorted(values):
                ctx.print(f"{indent}{key}={values[key]}")
            continue
        _print_changed(ctx, kind, shown, message, dry_run, printing)
    if errs:
        raise _aggregate(errs)
    return 0


_RELABEL_FLAGS = (fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, fl.SELECTOR, fl.ALL_NAMESPACES, *fl.PRINT_FLAGS,
                  fl.DRY_RUN, fl.FIELD_MANAGER, fl.FIELD_SELECTOR, fl.Flag("overwrite", type=fl.BOOL),
                  fl.Flag("all", type=fl.BOOL), fl.Flag("local", type=fl.BOOL),
                  fl.Flag("resource-version", type=fl.STRING))


@command("label", *_RELABEL_FLAGS, fl.Flag("list", type=fl.BOOL), short="Update the labels on a resource")
def label(ctx: Context, args: list[str]) -> int:
    return _relabel(ctx, args, "labels", "label")


@command("annotate", *_RELABEL_FLAGS, fl.Flag("list", type=fl.BOOL), short="Update the annotations on a resource")
def annotate(ctx: Context, args: list[str]) -> int:
    return _relabel(ctx, args, "annotations", "annotation")


# -- expose ------------------------------------------------------------------------------------
@command("expose", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
         fl.Flag("port", type=fl.STRING), fl.Flag("target-port", type=fl.STRING),
         fl.Flag("protocol", type=fl.STRING), fl.Flag("type", type=fl.STRING), fl.Flag("name", type=fl.STRING),
         fl.Flag("selector", type=fl.STRING), fl.Flag("labels", "l", fl.STRING),
         fl.Flag("external-ip", type=fl.STRING), fl.Flag("load-balancer-ip", type=fl.STRING),
         fl.Flag("session-affinity", type=fl.STRING), fl.Flag("cluster-ip", type=fl.STRING),
         fl.Flag("override-type", type=fl.STRING, default="merge"), fl.Flag("overrides", type=fl.STRING),
         short="Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service")
def expose(ctx: Context, args: list[str]) -> int:
    if not args and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    dry_run = ctx.dry_run()
    from kubelab.kubectl.apply import APPLY_FORMATS
    from kubelab.kubectl.get import check_output

    output, template = check_output(ctx.flags.get("output"), ctx.flags.get("template"), APPLY_FORMATS)
    for kind, obj in _from_args_or_files(ctx, args):
        service = _service_for(ctx, kind, obj)
        if dry_run == "client":
            created = _typed_service(service, ctx.namespace if ctx.explicit_namespace else "")
        else:
            created = ctx.warnings(ctx.client.create(service, ctx.namespace, dry_run=dry_run == "server",
                                                     field_manager=ctx.field_manager("kubectl-expose"))) or service
            created = {k: v for k, v in created.items() if k != "__warnings__"}
        if dry_run == "none":
            ctx.touch(created, "exposed")
        print_outcome(ctx, output, template, "service", created, dry_run, "exposed")
    return 0


def _typed_service(service: Obj, namespace: str) -> Obj:
    """The generated Service as the typed object a client dry run prints: in the Go structs'
    field order, with ``creationTimestamp: null`` and an empty ``status.loadBalancer``."""
    meta = service["metadata"]
    typed_meta: Obj = {"name": meta["name"]}
    if namespace:
        typed_meta["namespace"] = namespace
    typed_meta["creationTimestamp"] = None
    if meta.get("labels"):
        typed_meta["labels"] = meta["labels"]
    spec = service["spec"]
    order = ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")
    typed_spec: Obj = {"ports": [{k: p[k] for k in order if k in p} for p in spec.get("ports") or ()]}
    for field in ("selector", "clusterIP", "type", "externalIPs", "sessionAffinity", "loadBalancerIP"):
        if field in spec:
            typed_spec[field] = spec[field]
    return {"kind": "Service", "apiVersion": "v1", "metadata": typed_meta, "spec": typed_spec,
            "status": {"loadBalancer": {}}}


def _service_for(ctx: Context, kind: Kind, obj: Obj) -> Obj:
    """The Service kubectl's generator makes for ``obj``: its selector, its ports, its labels."""
    spec = obj.get("spec") or {}
    if kind.kind not in ("Pod", "Service", "ReplicationController", "Deployment", "ReplicaSet"):
        raise error(f"cannot expose a {kind.kind}.{kind.group}" if kind.group else f"cannot expose a {kind.kind}")
    if ctx.flags.get("selector"):
        selector = dict(p.split("=", 1) for p in ctx.flags.get("selector").split(","))
    elif kind.kind == "Pod":
        selector = dict(obj["metadata"].get("labels") or {})
    elif kind.kind in ("Service", "ReplicationController"):
        selector = dict(spec.get("selector") or {})
    else:
        sel = spec.get("selector") or {}
        if sel.get("matchExpressions"):
            raise error(f"couldn't retrieve selectors via --selector flag or introspection: "
                        f"{kind.plural}.{kind.group} \"{obj['metadata']['name']}\" has expressions, "
                        "and cannot be exposed")
        selector = dict(sel.get("matchLabels") or {})
    if not selector:
        raise error("couldn't retrieve selectors via --selector flag or introspection: the pod has no labels and cannot be exposed")
    protocol = ctx.flags.get("protocol") or ""
    if ctx.flags.get("port"):
        ports = [{"port": int(p), "protocol": protocol or "TCP"} for p in ctx.flags.get("port").split(",")]
    else:
        template = spec if kind.kind == "Pod" else (spec.get("template") or {}).get("spec") or {}
        ports = [{"port": p["containerPort"], "protocol": protocol or p.get("protocol", "TCP")}
                 for c in template.get("containers") or () for p in c.get("ports") or ()]
        if kind.kind == "Service":
            ports = [{"port": p["port"], "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or ()]
        if not ports:
            raise error("couldn't find port via --port flag or introspection")
    if len(ports) > 1:
        for i, port in enumerate(ports, 1):
            port["name"] = f"port-{i}"
    target = ctx.flags.get("target-port")
    for port in ports:
        if target:
            port["targetPort"] = int(target) if target.isdigit() else target
        else:
            port["targetPort"] = port["port"]
    name = ctx.flags.get("name") or obj["metadata"]["name"]
    labels = (dict(p.split("=", 1) for p in ctx.flags.get("labels").split(","))
              if ctx.flags.get("labels") else dict(obj["metadata"].get("labels") or {}))
    service: Obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                    "spec": {"ports": ports, "selector": selector}}
    if labels:
        service["metadata"]["labels"] = labels
    for flag, field in (("type", "type"), ("session-affinity", "sessionAffinity"), ("cluster-ip", "clusterIP"),
                        ("load-balancer-ip", "loadBalancerIP")):
        if ctx.flags.get(flag):
            service["spec"][field] = ctx.flags.get(flag)
    if ctx.flags.get("external-ip"):
        service["spec"]["externalIPs"] = ctx.flags.get("external-ip").split(",")
    return service


# -- patch -------------------------------------------------------------------------------------
@command("patch", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
         fl.Flag("patch", "p", fl.STRING), fl.Flag("patch-file", type=fl.STRING),
         fl.Flag("type", type=fl.STRING, default="strategic"), fl.Flag("local", type=fl.BOOL),
         fl.Flag("subresource", type=fl.STRING), short="Update fields of a resource")
def patch(ctx: Context, args: list[str]) -> int:
    import yaml

    patch_type = ctx.flags.get("type")
    if patch_type not in ("json", "merge", "strategic"):
        raise error(f'--type must be one of [json merge strategic], not "{patch_type}"')
    text = ctx.flags.get("patch")
    if ctx.flags.get("patch-file"):
        try:
            with open(ctx.flags.get("patch-file"), encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise error(f"unable to read patch file: {e}") from None
    if not text:
        raise error("must specify --patch or --patch-file containing the contents of the patch")
    try:
        body = next(wire.load_all(text), None)  # go-yaml's alias and depth limits
    except yaml.YAMLError as e:
        raise error(f'unable to parse "{text}": {str(e).splitlines()[0]}') from None
    if not args and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    dry_run = ctx.dry_run()
    for kind, obj in _from_args_or_files(ctx, args):
        try:
            patched = ctx.client.patch(kind.kind, obj["metadata"]["name"], obj["metadata"].get("namespace"), body,
                                       patch_type, dry_run=dry_run != "none",
                                       field_manager=ctx.field_manager("kubectl-patch"))
        except StatusError as e:
            if e.reason == "BadRequest":
                raise error(e.message) from None
            raise
        patched = ctx.warnings(patched) or {}
        changed = _strip_volatile(patched) != _strip_volatile(obj)
        ctx.print(f"{object_name(kind, obj)} patched{'' if changed else ' (no change)'}{_dry_suffix(dry_run)}")
    return 0


def _strip_volatile(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("resourceVersion", None)
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


# -- edit --------------------------------------------------------------------------------------
_EDIT_HEADER = (
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n#\n")


@command("edit", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, *fl.PRINT_FLAGS, fl.FIELD_MANAGER,
         fl.Flag("output-patch", type=fl.BOOL), fl.Flag("windows-line-endings", type=fl.BOOL),
         fl.Flag("save-config", type=fl.BOOL), fl.Flag("validate", type=fl.STRING, default="strict", no_opt="strict"),
         fl.Flag("subresource", type=fl.STRING), short="Edit a resource on the server")
def edit(ctx: Context, args: list[str]) -> int:
    """Non-interactive edit: the edited YAML comes on stdin (the notebook's editor sends it);
    without it, kubectl's editor view is shown and nothing changes. Stdout is what the editor
    would show next: nothing after a save, the file reopened with its failures when the server
    found it invalid.

    Saving sends the two-way strategic merge patch between the object as it was opened and the
    edited text, without resourceVersion (visitToPatch in kubectl's editoptions.go), so status
    writes by controllers meanwhile never make a save conflict. Errors are sorted as
    editResults.addError sorts them: invalid (reopen with the reasons), not found, or
    retryable (the edited file is kept for ``kubectl replace -f``)."""
    import yaml

    from kubelab.api.patch import three_way
    from kubelab.kubectl import printers

    if not args and not ctx.flags.get("filename"):
        raise error(NO_RESOURCES)
    found = _from_args_or_files(ctx, args)
    if not found:
        raise error("edit cancelled, no objects found")
    for kind, original in found:
        view = printers.to_yaml(original)
        if ctx.stdin is None:
            ctx.out.write(_EDIT_HEADER + view)
            ctx.eprint("Edit cancelled, no changes made.")
            continue
        body = "\n".join(line for line in ctx.stdin.splitlines() if not line.lstrip().startswith("#"))
        if not body.strip():
            ctx.eprint("Edit cancelled, saved file was empty.")
            continue
        try:
            edited = next(wire.load_all(body), None)
        except yaml.YAMLError as e:
            raise KubectlError(f"error: {kind.plural}{'.' + kind.group if kind.group else ''} "
                               f"\"{original['metadata']['name']}\" could not be patched: {str(e).splitlines()[0]}\n"
                               "error: Edit cancelled, no valid changes were saved.") from None
        if edited == original or printers.to_yaml(edited) == view:
            ctx.eprint("Edit cancelled, no changes made.")
            continue
        if not isinstance(edited, dict) or edited.get("kind") != original["kind"] \
                or (edited.get("metadata") or {}).get("name") != original["metadata"]["name"]:
            raise error("At least one of apiVersion, kind and name was changed")
        name, ns = original["metadata"]["name"], original["metadata"].get("namespace")
        # The text was opened a while ago: the server-owned fields it shows (status, resourceVersion...)
        # have moved on since. kubectl diffs against the object as it opened, so those never reach
        # its patch; here they are taken from the server's copy to the same effect.
        edited = _with_server_fields(edited, original)
        try:
            patched = ctx.warnings(ctx.client.patch(kind.kind, name, ns, three_way(original, edited, original),
                                                    "strategic", field_manager=ctx.field_manager("kubectl-edit")))
        except StatusError as e:
            return _edit_failed(ctx, kind, name, e, body)
        ctx.touch(patched or original, "edited")
        ctx.print(f"{object_name(kind, original)} edited")
    return 0


_SERVER_METADATA = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp")


def _with_server_fields(edited: Obj, current: Obj) -> Obj:
    """``edited`` with the server's status and server-set metadata."""
    out = dict(edited)
    meta = dict(out.get("metadata") or {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
        if key in current["metadata"]:
            meta[key] = current["metadata"][key]
    out["metadata"] = meta
    out.pop("status", None)
    if "status" in current:
        out["status"] = current["status"]
    return out


def _edit_failed(ctx: Context, kind: Kind, name: str, err: StatusError, body: str) -> int:
    """kubectl edit's editResults.addError and what follows it."""
    import tempfile

    resource = kind.plural + (f".{kind.group}" if kind.group else "")
    if err.reason == "Invalid":
        reasons = [f"{c.field}: {c.message}" for c in err.causes]
        head = f'{resource} "{name}" was not valid' + (":" if reasons else "")
        ctx.out.write(_EDIT_HEADER + f"# {head}\n" + "".join(f"# * {r}\n" for r in reasons) + "#\n" + body + "\n")
        raise error(f'{resource} "{name}" is invalid')
    fd, path = tempfile.mkstemp(prefix="kubectl-edit-", suffix=".yaml")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(body + "\n")
    if err.reason == "NotFound":
        ctx.eprint(f'error: {resource} "{name}" could not be found on the server')
        ctx.eprint(f'The edits you made on deleted resources have been saved to "{path}"')
        return 1
    ctx.eprint(f'error: {resource} "{name}" could not be patched: {err.message}')
    ctx.eprint(f"You can run `kubectl replace -f {path}` to try this update again.")
    return 1


