"""``kubectl create``: from files (``-f``) or from generators (``create deployment``,
``namespace``, ``configmap``, ``secret generic``, ``service clusterip|nodeport``, ``job``,
``cronjob``).

Generated objects are built in the field order kubectl's typed structs have, so
``--dry-run=client -o json`` prints them exactly as kubectl does.
"""
from __future__ import annotations

import base64
import os
import re
from typing import Any

from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND, Kind
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.apply import field_validation, with_last_applied
from kubelab.kubectl.command import Context, KubectlError, command, error, format_errors, group, with_source
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.manifests import kind_of, namespace_for, read_manifests

Obj = dict[str, Any]

COMMON = (fl.DRY_RUN, *fl.PRINT_FLAGS, fl.VALIDATE, fl.FIELD_MANAGER, fl.SAVE_CONFIG)


def _finish(ctx: Context, kind: Kind, obj: Obj, source: str = "", failed: str = "") -> None:
    """Send (or not, for a client dry run) one object and print what kubectl prints.
    ``failed`` is the prefix some generators wrap a server error in (it then prints as
    ``error: <failed><message>``, no longer as ``Error from server``)."""
    dry_run = ctx.dry_run()
    if ctx.flags.get("save-config"):
        obj = with_last_applied(obj)
    output = ctx.flags.get("output")
    if output not in ("", "name", "yaml", "json"):
        from kubelab.kubectl.get import check_output

        check_output(output)
    name = obj["metadata"].get("name", "")
    ns = namespace_for(ctx, kind, obj)
    if dry_run != "client":
        try:
            obj = ctx.warnings(ctx.client.create(obj, ns, dry_run=dry_run == "server",
                                                 field_validation=field_validation(ctx)))
        except StatusError as e:
            if failed:
                raise error(f"{failed}{e.message}") from None
            raise with_source(e, "creating", source) from None
        name = obj["metadata"]["name"]
    if output == "yaml":
        ctx.out.write(printers.to_yaml(obj))
    elif output == "json":
        ctx.out.write(printers.to_json(obj, sort_keys=dry_run != "client"))
    elif output == "name":
        ctx.print(f"{kind.qualified_singular}/{name}")
    else:
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
        ctx.print(f"{kind.qualified_singular}/{name} created{suffix}")


@command("create", *fl.FILE_FLAGS, *COMMON, Flag("edit", type=fl.BOOL), Flag("raw", type=fl.STRING),
         Flag("windows-line-endings", type=fl.BOOL), fl.SELECTOR)
def create(ctx: Context, args: list[str]) -> int:
    if args:
        raise ctx.usage_error(f"Unexpected args: [{' '.join(args)}]")
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k")
    ctx.dry_run()
    docs = read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive"))
    errors: list[BaseException] = [KubectlError(d.error) for d in docs if d.error]
    for doc in docs:
        if doc.error:
            continue
        try:
            _finish(ctx, kind_of(doc), doc.obj or {}, doc.source)
        except (StatusError, KubectlError) as e:
            errors.append(e)
    if errors:
        ctx.eprint(format_errors(errors))
        return 1
    return 0


def _one_name(ctx: Context, args: list[str]) -> str:
    if not args:
        raise error("exactly one NAME is required, got 0\nSee 'kubectl " + ctx.path + " -h' for help and examples")
    if len(args) > 1:
        raise error(f"exactly one NAME is required, got {len(args)}\nSee 'kubectl {ctx.path} -h' for help and examples")
    return args[0]


def _meta(name: str, ctx: Context, kind: Kind, labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name}
    if kind.namespaced and ctx.explicit_namespace:
        meta["namespace"] = ctx.namespace
    meta["creationTimestamp"] = None
    if labels:
        meta["labels"] = labels
    return meta


@command("create namespace", *COMMON)
def create_namespace(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    kind = BY_KIND["Namespace"]
    _finish(ctx, kind, {"kind": "Namespace", "apiVersion": "v1", "metadata": _meta(name, ctx, kind),
                        "spec": {}, "status": {}})
    return 0


@command("create ns", *COMMON)
def create_ns(ctx: Context, args: list[str]) -> int:
    return create_namespace(ctx, args)


def _container_name(image: str) -> str:
    """kubectl names a deployment's container after its image: ``ealen/echo-server:1.0`` -> ``echo-server``."""
    base = image.split("@")[0]
    base = base.rsplit("/", 1)[-1]
    base = base.split(":")[0]
    return re.sub(r"[^a-z0-9-]", "-", base.lower())


@command("create deployment", *COMMON, Flag("image", type=fl.STRING_SLICE), Flag("replicas", "r", fl.INT, default=1),
         Flag("port", type=fl.INT, default=-1), required=("image",))
def create_deployment(ctx: Context, args: list[str]) -> int:
    images = ctx.flags.get("image")
    name = _one_name(ctx, args)
    if len(images) > 1 and ctx.flags.get("port") >= 0:
        raise error("cannot specify multiple --image options and port")
    labels = {"app": name}
    containers: list[Obj] = []
    for image in images:
        container: Obj = {"name": _container_name(image), "image": image}
        if ctx.flags.get("port") >= 0:
            container["ports"] = [{"containerPort": ctx.flags.get("port")}]
        container["resources"] = {}
        containers.append(container)
    kind = BY_KIND["Deployment"]
    obj = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": _meta(name, ctx, kind, labels),
           "spec": {"replicas": ctx.flags.get("replicas"), "selector": {"matchLabels": dict(labels)},
                    "template": {"metadata": {"creationTimestamp": None, "labels": dict(labels)},
                                 "spec": {"containers": containers}},
                    "strategy": {}},
           "status": {}}
    _finish(ctx, kind, obj)
    return 0


@command("create deploy", *COMMON, Flag("image", type=fl.STRING_SLICE), Flag("replicas", "r", fl.INT, default=1),
         Flag("port", type=fl.INT, default=-1), required=("image",))
def create_deploy(ctx: Context, args: list[str]) -> int:
    return create_deployment(ctx, args)


def _literal(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise error(f'invalid literal source {text}, expected key=value')
    return key, value


def _from_files(sources: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for source in sources:
        key, sep, path = source.partition("=")
        if not sep:
            key, path = "", source
        if not os.path.exists(path):
            raise error(f"error reading {path}: no such file or directory")
        if os.path.isdir(path):
            if key:
                raise error("cannot give a key name for a directory path")
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isfile(full):
                    with open(full, encoding="utf-8") as fh:
                        pairs.append((entry, fh.read()))
            continue
        with open(path, encoding="utf-8") as fh:
            pairs.append((key or os.path.basename(path), fh.read()))
    return pairs


def _from_env_files(paths: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for path in paths:
        if not os.path.exists(path):
            raise error(f"error reading {path}: no such file or directory")
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n").lstrip()
                if not line or line.startswith("#"):
                    continue
                key, sep, value = line.partition("=")
                if not sep:
                    value = os.environ.get(key, "")
                pairs.append((key, value))
    return pairs


def _data(ctx: Context, kind: str, name: str) -> list[tuple[str, str]]:
    pairs = [_literal(t) for t in ctx.flags.get("from-literal")]
    pairs += _from_files(ctx.flags.get("from-file"))
    pairs += _from_env_files(ctx.flags.get("from-env-file"))
    seen: set[str] = set()
    for key, _ in pairs:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            raise error(f'"{key}" is not a valid key name: a valid config key must consist of alphanumeric '
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
                        "for validation is '[-._a-zA-Z0-9]+')")
        if key in seen:
            raise error(f'cannot add key "{key}", another key by that name already exists in Data for {kind} '
                        f'"{name}"')
        seen.add(key)
    return pairs


DATA_FLAGS = (Flag("from-literal", type=fl.STRING_ARRAY), Flag("from-file", type=fl.STRING_SLICE),
              Flag("from-env-file", type=fl.STRING_SLICE), Flag("append-hash", type=fl.BOOL))


@command("create configmap", *COMMON, *DATA_FLAGS)
def create_configmap(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    kind = BY_KIND["ConfigMap"]
    obj: Obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": _meta(name, ctx, kind)}
    data = dict(_data(ctx, "ConfigMap", name))
    if data:
        obj["data"] = data
    _finish(ctx, kind, obj, failed="failed to create configmap: ")
    return 0


@command("create cm", *COMMON, *DATA_FLAGS)
def create_cm(ctx: Context, args: list[str]) -> int:
    return create_configmap(ctx, args)


group("create secret")


@command("create secret generic", *COMMON, *DATA_FLAGS, Flag("type", type=fl.STRING))
def create_secret_generic(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    kind = BY_KIND["Secret"]
    obj: Obj = {"kind": "Secret", "apiVersion": "v1", "metadata": _meta(name, ctx, kind)}
    data = {k: base64.b64encode(v.encode()).decode() for k, v in _data(ctx, "Secret", name)}
    if data:
        obj["data"] = data
    if ctx.flags.get("type"):
        obj["type"] = ctx.flags.get("type")
    _finish(ctx, kind, obj, failed="failed to create secret ")
    return 0


def _service(ctx: Context, args: list[str], svc_type: str) -> int:
    name = _one_name(ctx, args)
    tcp = ctx.flags.get("tcp")
    if not tcp and svc_type != "ClusterIP":
        raise error("at least one tcp port specifier must be provided")
    ports = []
    for spec in tcp:
        port, target = (spec.split(":") + [""])[:2]
        if not port.isdigit():  # Go's strconv.ParseUint(port, 10, 16)
            raise error(f'strconv.ParseUint: parsing "{port}": invalid syntax')
        if int(port) > 65535:
            raise error(f'strconv.ParseUint: parsing "{port}": value out of range')
        entry: Obj = {"name": f"{port}-{target}" if target else port}
        if ctx.flags.values.get("node-port"):
            entry["nodePort"] = ctx.flags.get("node-port")
        entry = {"name": entry["name"], "protocol": "TCP", "port": int(port),
                 "targetPort": int(target) if target.isdigit() else target or int(port),
                 **({"nodePort": entry["nodePort"]} if "nodePort" in entry else {})}
        ports.append(entry)
    kind = BY_KIND["Service"]
    labels = {"app": name}
    spec: Obj = {"ports": ports, "selector": dict(labels)}
    if ctx.flags.values.get("clusterip"):
        spec["clusterIP"] = ctx.flags.values["clusterip"]
    spec["type"] = svc_type
    obj = {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, ctx, kind, labels), "spec": spec,
           "status": {"loadBalancer": {}}}
    _finish(ctx, kind, obj)
    return 0


SERVICE_FLAGS = (Flag("tcp", type=fl.STRING_SLICE),)
group("create service")
group("create svc")


@command("create service clusterip", *COMMON, *SERVICE_FLAGS, Flag("clusterip", type=fl.STRING))
def create_service_clusterip(ctx: Context, args: list[str]) -> int:
    return _service(ctx, args, "ClusterIP")


@command("create service nodeport", *COMMON, *SERVICE_FLAGS, Flag("node-port", type=fl.INT))
def create_service_nodeport(ctx: Context, args: list[str]) -> int:
    return _service(ctx, args, "NodePort")


@command("create svc clusterip", *COMMON, *SERVICE_FLAGS, Flag("clusterip", type=fl.STRING))
def create_svc_clusterip(ctx: Context, args: list[str]) -> int:
    return _service(ctx, args, "ClusterIP")


@command("create svc nodeport", *COMMON, *SERVICE_FLAGS, Flag("node-port", type=fl.INT))
def create_svc_nodeport(ctx: Context, args: list[str]) -> int:
    return _service(ctx, args, "NodePort")


def _command_words(ctx: Context, args: list[str]) -> tuple[list[str], list[str]]:
    """(names before ``--``, the command after it)."""
    dash = ctx.flags.dash_index
    return (args[:dash], args[dash:]) if dash >= 0 else (args, [])


@command("create job", *COMMON, Flag("image", type=fl.STRING), Flag("from", type=fl.STRING))
def create_job(ctx: Context, args: list[str]) -> int:
    names, words = _command_words(ctx, args)
    name = _one_name(ctx, names)
    image, source = ctx.flags.get("image"), ctx.flags.get("from")
    if bool(image) == bool(source):
        raise error("either --image or --from must be specified")
    if words and source:
        raise error("cannot specify --from and command")
    kind = BY_KIND["Job"]
    if source:
        obj = _job_from(ctx, name, source)
    else:
        container: Obj = {"name": name, "image": image}
        if words:
            container["command"] = list(words)
        container["resources"] = {}
        obj = {"kind": "Job", "apiVersion": "batch/v1", "metadata": _meta(name, ctx, kind),
               "spec": {"template": {"metadata": {"creationTimestamp": None},
                                     "spec": {"containers": [container], "restartPolicy": "Never"}}},
               "status": {}}
    _finish(ctx, kind, obj)
    return 0


def _job_from(ctx: Context, name: str, source: str) -> Obj:
    """A Job from a CronJob's jobTemplate, owned by the CronJob and marked as started by hand
    (``cronjob.kubernetes.io/instantiate: manual``), as ``createJobFromCronJob`` builds it."""
    from kubelab.api.kinds import lookup

    word, _, cron_name = source.partition("/")
    kind = lookup(word)
    if kind.kind != "CronJob" or not cron_name:
        raise error(f"from must be an existing cronjob: {source}" if kind.kind == "CronJob"
                    else f"unknown object type *v1.{kind.kind}")
    cron = ctx.client.get("CronJob", cron_name, ctx.namespace)
    template = (cron.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    meta: Obj = {"name": name}
    if ctx.explicit_namespace:
        meta["namespace"] = ctx.namespace
    meta["creationTimestamp"] = None
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    meta["annotations"] = {"cronjob.kubernetes.io/instantiate": "manual", **(tmeta.get("annotations") or {})}
    meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cron_name,
                                "uid": cron["metadata"]["uid"], "controller": True}]
    return {"kind": "Job", "apiVersion": "batch/v1", "metadata": meta,
            "spec": dict(template.get("spec") or {}), "status": {}}


@command("create cronjob", *COMMON, Flag("image", type=fl.STRING), Flag("schedule", type=fl.STRING),
         Flag("restart", type=fl.STRING), required=("image", "schedule"))
def create_cronjob(ctx: Context, args: list[str]) -> int:
    names, words = _command_words(ctx, args)
    name = _one_name(ctx, names)
    restart = ctx.flags.get("restart") or "OnFailure"
    kind = BY_KIND["CronJob"]
    container: Obj = {"name": name, "image": ctx.flags.get("image")}
    if words:
        container["command"] = list(words)
    container["resources"] = {}
    obj = {"kind": "CronJob", "apiVersion": "batch/v1", "metadata": _meta(name, ctx, kind),
           "spec": {"schedule": ctx.flags.get("schedule"),
                    "jobTemplate": {"metadata": {"name": name, "creationTimestamp": None},
                                    "spec": {"template": {"metadata": {"creationTimestamp": None},
                                                          "spec": {"containers": [container],
                                                                   "restartPolicy": restart}}}}},
           "status": {}}
    _finish(ctx, kind, obj)
    return 0


@command("create cj", *COMMON, Flag("image", type=fl.STRING), Flag("schedule", type=fl.STRING),
         Flag("restart", type=fl.STRING), required=("image", "schedule"))
def create_cj(ctx: Context, args: list[str]) -> int:
    return create_cronjob(ctx, args)
