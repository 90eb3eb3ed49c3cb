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

from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND, Kind
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers, usage
from kubelab.kubectl.apply import APPLY_FORMATS, field_validation, with_last_applied
from kubelab.kubectl.command import Context, KubectlError, command, error, group, with_source
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.get import check_output
from kubelab.kubectl.manifests import kind_of, namespace_for, read_manifests, visit
from kubelab.kubectl.workloads import print_outcome, resource_list


COMMON = (fl.DRY_RUN, *fl.PRINT_FLAGS, fl.VALIDATE, fl.FIELD_MANAGER, fl.SAVE_CONFIG)


# kubectl create's PrintFlags offer apply's printers (no table formats: wide, custom-columns).
CREATE_FORMATS = APPLY_FORMATS


Printing = tuple[str, str]  # (printer, template) as check_output gives them


def _check_output(ctx: Context) -> Printing:
    """The printer for ``-o`` (with its template, a ``-file`` format's text read here, once),
    or kubectl's error before any request."""
    return check_output(ctx.flags.get("output"), ctx.flags.get("template"), CREATE_FORMATS)


def _finish(ctx: Context, kind: Kind, obj: Obj, source: str = "", failed: str = "",
            printing: Printing | None = None) -> None:
    """Send (or not, for a client dry run) one object and print what kubectl prints.
    ``failed`` is the prefix some generators wrap a server error in (it then prints as
    ``error: <failed><message>``, no longer as ``Error from server``). ``printing``: the
    command's _check_output, when it prints several objects."""
    dry_run = ctx.dry_run()
    if ctx.flags.get("save-config"):
        obj = with_last_applied(obj)
    printing = _check_output(ctx) if printing is None else printing
    ns = namespace_for(ctx, kind, obj)
    if dry_run != "client":
        try:
            obj = ctx.warnings(ctx.client.create(obj, ns, dry_run=dry_run == "server",
                                                 field_validation=field_validation(ctx),
                                                 field_manager=ctx.flags.get("field-manager") or "kubectl-create"))
        except StatusError as e:
            if failed:
                raise error(f"{failed}{e.message}") from None
            raise with_source(e, "creating", source) from None
        if dry_run == "none":
            ctx.touch(obj, "created")
    print_outcome(ctx, *printing, kind.qualified_singular, obj, dry_run, "created")


@command("create", *fl.FILE_FLAGS, *COMMON, Flag("edit", type=fl.BOOL), Flag("raw", type=fl.STRING),
         Flag("windows-line-endings", type=fl.BOOL), fl.SELECTOR)
def create(ctx: Context, args: list[str]) -> int:
    if args:
        raise ctx.usage_error(f"Unexpected args: [{' '.join(args)}]")
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k")
    ctx.dry_run()
    printing = _check_output(ctx)
    docs = read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive"))
    if not docs:  # RunCreate: the builder visited nothing, and said nothing was wrong
        raise error("no objects passed to create")
    return visit(ctx, docs, lambda doc: _finish(ctx, kind_of(doc), doc.obj or {}, doc.source, printing=printing))


def _one_name(ctx: Context, args: list[str]) -> str:
    if len(args) != 1:
        raise error(f"exactly one NAME is required, got {len(args)}\n"
                    f"See 'kubectl {usage.canonical(ctx.path)} -h' for help and examples")
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
    """kubectl names a deployment's container after its image (buildPodSpec):
    ``ealen/echo-server:1.0`` -> ``echo-server``. Nothing else is changed (``Busybox`` stays,
    and the apiserver refuses it as a container name), but ``_`` and ``.`` become ``-``
    (kubectl also adds a random suffix then; kubelab keeps names reproducible)."""
    name = image.split("/")[-1].split(":")[0].split("@")[0]
    return name.replace("_", "-").replace(".", "-")


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
    _finish(ctx, kind, obj, failed="failed to create deployment: ")
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
                if not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", key):
                    raise error(f'"{key}" is not a valid key name: {_ENV_RULE}')
                if not sep:
                    value = os.environ.get(key, "")
                pairs.append((key, value))
    return pairs


def _data(ctx: Context, kind: str, name: str) -> list[tuple[str, str]]:
    pairs = [_literal(t) for t in ctx.flags.get("from-literal")]
    pairs += _from_files(ctx.flags.get("from-file"))
    pairs += _from_env_files(ctx.flags.get("from-env-file"))
    return _checked_keys(pairs, kind, name)


_KEY_RULE = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
             "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
_ENV_RULE = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
             "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used "
             "for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')")


def _checked_keys(pairs: list[tuple[str, str]], kind: str, name: str) -> list[tuple[str, str]]:
    """Refuse invalid or repeated keys, in the words kubectl's ConfigMap and Secret builders use."""
    seen: set[str] = set()
    for key, _ in pairs:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            raise error(f'"{key}" is not valid key name for a Secret {_KEY_RULE}' if kind == "Secret"
                        else f'"{key}" is not a valid key name for a ConfigMap: {_KEY_RULE}')
        if key in seen:
            raise error(f"cannot add key {key}, another key by that name already exists" if kind == "Secret"
                        else f'cannot add key "{key}", another key by that name already exists in Data for '
                        f'{kind} "{name}"')
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


@command("create serviceaccount", *COMMON)
def create_serviceaccount(ctx: Context, args: list[str]) -> int:
    name = _one_name(ctx, args)
    kind = BY_KIND["ServiceAccount"]
    _finish(ctx, kind, {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": _meta(name, ctx, kind)},
            failed="failed to create serviceaccount: ")
    return 0


@command("create sa", *COMMON)
def create_sa(ctx: Context, args: list[str]) -> int:
    return create_serviceaccount(ctx, args)


def _secret(name: str, ctx: Context, secret_type: str, data: dict[str, bytes]) -> Obj:
    """A Secret as kubectl's newSecretObj builds it (data base64-encoded as JSON carries bytes)."""
    obj: Obj = {"kind": "Secret", "apiVersion": "v1", "metadata": _meta(name, ctx, BY_KIND["Secret"])}
    if data:
        obj["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
    obj["type"] = secret_type
    return obj


@command("create secret docker-registry", *COMMON, Flag("docker-username", type=fl.STRING),
         Flag("docker-password", type=fl.STRING), Flag("docker-email", type=fl.STRING),
         Flag("docker-server", type=fl.STRING, default="https://index.docker.io/v1/"),
         Flag("append-hash", type=fl.BOOL), Flag("from-file", type=fl.STRING_SLICE))
def create_secret_docker_registry(ctx: Context, args: list[str]) -> int:
    """A ``kubernetes.io/dockerconfigjson`` Secret: ``{"auths": {server: entry}}`` from the flags
    (entry fields omitted when empty, ``auth`` = base64 of ``user:password``), or files as given."""
    name = _one_name(ctx, args)
    user, password = ctx.flags.get("docker-username"), ctx.flags.get("docker-password")
    email, server = ctx.flags.get("docker-email"), ctx.flags.get("docker-server")
    files = ctx.flags.get("from-file")
    if not files and not (user and password and server):
        raise error("either --from-file or the combination of --docker-username, --docker-password and "
                    "--docker-server is required")
    if files:  # a file given without a key is the .dockerconfigjson
        files = [f if "=" in f else f".dockerconfigjson={f}" for f in files]
        data = {k: v.encode() for k, v in _checked_keys(_from_files(files), "Secret", name)}
    else:
        entry = {k: v for k, v in (("username", user), ("password", password), ("email", email)) if v}
        entry["auth"] = base64.b64encode(f"{user}:{password}".encode()).decode()
        data = {".dockerconfigjson": printers.go_json({"auths": {server: entry}}, sort_keys=False).encode()}
    obj = _secret(name, ctx, "kubernetes.io/dockerconfigjson", data)
    _finish(ctx, BY_KIND["Secret"], obj, failed="failed to create secret ")
    return 0


def _read(path: str) -> bytes:
    """kubectl's readFile, with Go's os error wording."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise error(f"Cannot read file {path}, open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise error(f"Cannot read file {path}, read {path}: is a directory") from None
    except PermissionError:
        raise error(f"Cannot read file {path}, open {path}: permission denied") from None


@command("create secret tls", *COMMON, Flag("cert", type=fl.STRING), Flag("key", type=fl.STRING),
         Flag("append-hash", type=fl.BOOL))
def create_secret_tls(ctx: Context, args: list[str]) -> int:
    from kubelab.kubectl.tlspair import PairError, check_pair

    name = _one_name(ctx, args)
    cert_path, key_path = ctx.flags.get("cert"), ctx.flags.get("key")
    if not cert_path or not key_path:
        raise error("key and cert must be specified")
    cert, key = _read(cert_path), _read(key_path)
    try:
        check_pair(cert, key)
    except PairError as e:
        raise error(str(e)) from None
    obj = _secret(name, ctx, "kubernetes.io/tls", {"tls.crt": cert, "tls.key": key})
    _finish(ctx, BY_KIND["Secret"], obj, failed="failed to create secret: ")
    return 0


PRIORITY_FLAGS = (Flag("value", type=fl.INT), Flag("global-default", type=fl.BOOL),
                  Flag("description", type=fl.STRING),
                  Flag("preemption-policy", type=fl.STRING, default="PreemptLowerPriority"))


@command("create priorityclass", *COMMON, *PRIORITY_FLAGS)
def create_priorityclass(ctx: Context, args: list[str]) -> int:
    """A scheduling.k8s.io/v1 PriorityClass (cluster-scoped: ``-n`` does not reach it)."""
    name = _one_name(ctx, args)
    obj: Obj = {"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1",
                "metadata": {"name": name, "creationTimestamp": None}, "value": ctx.flags.get("value")}
    if ctx.flags.get("global-default"):
        obj["globalDefault"] = True
    if ctx.flags.get("description"):
        obj["description"] = ctx.flags.get("description")
    obj["preemptionPolicy"] = ctx.flags.get("preemption-policy")
    _finish(ctx, BY_KIND["PriorityClass"], obj, failed="failed to create priorityclass: ")
    return 0


@command("create pc", *COMMON, *PRIORITY_FLAGS)
def create_pc(ctx: Context, args: list[str]) -> int:
    return create_priorityclass(ctx, args)


QUOTA_FLAGS = (Flag("hard", type=fl.STRING), Flag("scopes", type=fl.STRING))


@command("create quota", *COMMON, *QUOTA_FLAGS)
def create_quota(ctx: Context, args: list[str]) -> int:
    """A ResourceQuota from ``--hard=cpu=1,pods=2`` (quantities in canonical form) and
    ``--scopes=A,B`` (scope names are the server's to check, as kubectl leaves them)."""
    name = _one_name(ctx, args)
    spec: Obj = {}
    if ctx.flags.get("hard"):
        spec["hard"] = dict(sorted(resource_list(ctx.flags.get("hard")).items()))
    if ctx.flags.get("scopes"):
        scopes = ctx.flags.get("scopes").split(",")
        if "" in scopes:
            raise error('invalid resource quota scope ""')
        spec["scopes"] = scopes
    kind = BY_KIND["ResourceQuota"]
    obj = {"kind": "ResourceQuota", "apiVersion": "v1", "metadata": _meta(name, ctx, kind),
           "spec": spec, "status": {}}
    _finish(ctx, kind, obj, failed="failed to create quota: ")
    return 0


@command("create resourcequota", *COMMON, *QUOTA_FLAGS)
def create_resourcequota(ctx: Context, args: list[str]) -> int:
    return create_quota(ctx, args)


def _target_port(text: str) -> int | str:
    """The part after ``:`` in ``--tcp``: a number (1-65535) or an IANA port name, checked as
    kubectl's parsePorts checks it (Atoi, then IsValidPortNum or IsValidPortName)."""
    if re.fullmatch(r"[+-]?\d+", text) and -2**63 <= int(text) < 2**63:
        if not 1 <= int(text) <= 65535:
            raise error("must be between 1 and 65535, inclusive")
        return int(text)
    errs = []
    if len(text) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", text):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", text):
        errs.append("must contain at least one letter (a-z)")
    if "--" in text:
        errs.append("must not contain consecutive hyphens")
    if text and (text[0] == "-" or text[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    if errs:
        raise error(",".join(errs))
    return text


def _service_port(spec: str, node_port: int) -> Obj:
    parts = spec.split(":")
    port = parts[0]
    if not port.isdigit():  # Go's strconv.ParseUint(port, 10, 16)
        raise error(f'strconv.ParseUint: parsing "{port}": invalid syntax')
    if int(port) > 65535:
        raise error(f'strconv.ParseUint: parsing "{port}": value out of range')
    target = _target_port(parts[1]) if len(parts) > 1 else int(port)
    entry: Obj = {"name": spec.replace(":", "-"), "protocol": "TCP", "port": int(port), "targetPort": target}
    if node_port:
        entry["nodePort"] = node_port
    return entry


def _service(ctx: Context, args: list[str], svc_type: str) -> int:
    """``create service <type>``: checks in kubectl's order (name, then Validate, then ports)."""
    from kubelab.api.validation import dns1123_subdomain

    name = _one_name(ctx, args)
    tcp = ctx.flags.get("tcp")
    cluster_ip = ctx.flags.values.get("clusterip") or ""
    external = ctx.flags.values.get("external-name") or ""
    if cluster_ip != "None" and not tcp and svc_type != "ExternalName":
        raise error("at least one tcp port specifier must be provided")
    if svc_type == "ExternalName" and dns1123_subdomain(external):
        raise error(f"invalid service external name {external}")
    ports = [_service_port(spec, ctx.flags.values.get("node-port") or 0) for spec in tcp]
    kind = BY_KIND["Service"]
    labels = {"app": name}
    spec: Obj = {"ports": ports} if ports else {}
    spec["selector"] = dict(labels)
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    spec["type"] = svc_type
    if external:
        spec["externalName"] = external
    obj = {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, ctx, kind, labels), "spec": spec,
           "status": {"loadBalancer": {}}}
    _finish(ctx, kind, obj, failed=f"failed to create {svc_type} service: ")
    return 0


SERVICE_FLAGS = (Flag("tcp", type=fl.STRING_SLICE),)
SERVICE_TYPES = {
    "clusterip": ("ClusterIP", Flag("clusterip", type=fl.STRING)),
    "nodeport": ("NodePort", Flag("node-port", type=fl.INT)),
    "loadbalancer": ("LoadBalancer", None),
    "externalname": ("ExternalName", Flag("external-name", type=fl.STRING)),
}


def _register_services() -> None:
    """``create service|svc clusterip|nodeport|loadbalancer|externalname``: one generator, four
    types, each with the one extra flag its cobra command adds."""
    for word in ("service", "svc"):
        group(f"create {word}")
        for sub, (svc_type, extra) in SERVICE_TYPES.items():
            flags = (*COMMON, *SERVICE_FLAGS, *((extra,) if extra else ()))
            required = ("external-name",) if svc_type == "ExternalName" else ()

            def run(ctx: Context, args: list[str], svc_type: str = svc_type) -> int:
                return _service(ctx, args, svc_type)

            command(f"create {word} {sub}", *flags, required=required)(run)


_register_services()


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
    _finish(ctx, kind, obj, failed="failed to create job: ")
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
    _finish(ctx, kind, obj, failed="failed to create cronjob: ")
    return 0


@command("create cj", *COMMON, Flag("image", type=fl.STRING), Flag("schedule", type=fl.STRING),
         Flag("restart", type=fl.STRING), required=("image", "schedule"))
def create_cj(ctx: Context, args: list[str]) -> int:
    return create_cronjob(ctx, args)


_INGRESS_RULE = re.compile(r"^(?P<host>[\w*\-.]*)(?P<path>/.*)=(?P<svc>[\w\-]+):(?P<port>[\w\-]+)"
                           r"(?P<tls>,tls(=(?P<secret>[\w\-]+))?)?$")
_INGRESS_FORMAT = "host/path=svcname:svcport[,tls[=secret]]"


def _ingress_backend(svc: str, port: str) -> Obj:
    return {"service": {"name": svc, "port": {"number": int(port)} if port.isdigit() else {"name": port}}}


@command("create ingress", *COMMON, Flag("rule", type=fl.STRING_ARRAY), Flag("class", type=fl.STRING),
         Flag("default-backend", type=fl.STRING), Flag("annotation", type=fl.STRING_ARRAY))
def create_ingress(ctx: Context, args: list[str]) -> int:
    """Mirrors create_ingress.go: rules with the same host share one rule; a path ending in
    ``*`` is a Prefix (the ``*`` dropped), any other Exact; ``,tls[=secret]`` lists the host
    under that secret's TLS entry."""
    name = _one_name(ctx, args)
    rules_in: list[str] = ctx.flags.get("rule") or []
    backend = ctx.flags.get("default-backend") or ""
    annotations_in: list[str] = ctx.flags.get("annotation") or []
    if not backend and not rules_in:
        raise error("not enough information provided: every ingress has to either specify a default-backend "
                    "(which catches all traffic) or a list of rules (which catch specific paths)")
    for rule in rules_in:
        if not _INGRESS_RULE.match(rule):
            raise error(f"rule {rule} is invalid and should be in format {_INGRESS_FORMAT}")
    for annotation in annotations_in:
        if "=" not in annotation:
            raise error(f"annotation {annotation} is invalid and should be in format key=[value]")
    if backend and len(backend.split(":")) != 2:
        raise error("default-backend should be in format servicename:serviceport")
    kind = BY_KIND["Ingress"]
    meta = _meta(name, ctx, kind)
    if annotations_in:
        meta["annotations"] = dict(a.split("=", 1) for a in annotations_in)
    spec: Obj = {}  # in IngressSpec's field order, as kubectl's JSON prints it
    if ctx.flags.get("class"):
        spec["ingressClassName"] = ctx.flags.get("class")
    if backend:
        spec["defaultBackend"] = _ingress_backend(*backend.split(":"))
    rules: list[Obj] = []
    tls: dict[str, list[str]] = {}
    for text in rules_in:
        found = _INGRESS_RULE.match(text)
        assert found is not None
        host, path = found["host"], found["path"]
        path_type = "Prefix" if path.endswith("*") else "Exact"
        item = {"path": path.rstrip("*") if path_type == "Prefix" else path, "pathType": path_type,
                "backend": _ingress_backend(found["svc"], found["port"])}
        rule = next((r for r in rules if r.get("host", "") == host), None)
        if rule is None:
            rule = {"host": host, "http": {"paths": []}} if host else {"http": {"paths": []}}
            rules.append(rule)
        rule["http"]["paths"].append(item)
        if found["tls"]:
            hosts = tls.setdefault(found["secret"] or "", [])
            if host and host not in hosts:
                hosts.append(host)
    entries = [{"hosts": hosts, **({"secretName": secret} if secret else {})} for secret, hosts in tls.items() if hosts]
    if entries:
        spec["tls"] = entries
    if rules:
        spec["rules"] = rules
    obj = {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": meta, "spec": spec,
           "status": {"loadBalancer": {}}}
    _finish(ctx, kind, obj, failed="failed to create ingress: ")
    return 0


@command("create ing", *COMMON, Flag("rule", type=fl.STRING_ARRAY), Flag("class", type=fl.STRING),
         Flag("default-backend", type=fl.STRING), Flag("annotation", type=fl.STRING_ARRAY))
def create_ing(ctx: Context, args: list[str]) -> int:
    return create_ingress(ctx, args)


PDB_FLAGS = (Flag("min-available", type=fl.STRING), Flag("max-unavailable", type=fl.STRING),
             Flag("selector", type=fl.STRING))
_PDB_BOUND = re.compile(r"^[0-9]+%?$")
_SELECTOR_SET = re.compile(r"^(\S+)\s+(in|notin)\s*\(([^)]*)\)$")


def _label_selector(text: str) -> Obj:
    """metav1.ParseToLabelSelector: ``k=v`` terms become matchLabels, set terms (``in``,
    ``notin``, ``k``, ``!k``) matchExpressions in key order with sorted values; ``!=`` has
    no LabelSelector form."""
    def bad(why: str) -> KubectlError:
        return error(f'couldn\'t parse the selector string "{text}": {why}')

    labels: dict[str, str] = {}
    expressions: list[Obj] = []
    parts = [p.strip() for p in re.split(r",(?![^(]*\))", text)]
    for part in parts:
        if "!=" in part:
            raise error('"!=" is not a valid label selector operator')
        key, eq, value = part.partition("==") if "==" in part else part.partition("=")
        if eq:
            if "=" in value:
                raise bad("found '=', expected: ',' or 'end of string'")
            labels[key.strip()] = value.strip()
            continue
        found = _SELECTOR_SET.match(part)
        if found:
            values = sorted({v.strip() for v in found.group(3).split(",") if v.strip()})
            expressions.append({"key": found.group(1), "operator": "In" if found.group(2) == "in" else "NotIn",
                                "values": values})
        elif re.fullmatch(r"!?[A-Za-z0-9_./-]+", part):
            expressions.append({"key": part.lstrip("!"), "operator": "DoesNotExist" if part.startswith("!")
                                else "Exists"})
        else:
            words = part.split()
            raise bad(f"unable to parse requirement: found '{words[1] if len(words) > 1 else part}', expected: "
                      "in, notin, =, ==, !=, gt, lt")
    selector: Obj = {}
    if labels:
        selector["matchLabels"] = labels
    if expressions:
        selector["matchExpressions"] = sorted(expressions, key=lambda e: e["key"])
    return selector


def _bound(text: str) -> int | str:
    """intstr.Parse: a number is an int, anything else (``50%``) a string."""
    return int(text) if text.isdigit() else text


@command("create poddisruptionbudget", *COMMON, *PDB_FLAGS)
def create_poddisruptionbudget(ctx: Context, args: list[str]) -> int:
    """A policy/v1 PodDisruptionBudget from ``--selector`` and one bound, checked in the
    order kubectl's Validate checks them (create_pdb.go)."""
    name = _one_name(ctx, args)
    least, most = ctx.flags.get("min-available") or "", ctx.flags.get("max-unavailable") or ""
    if not ctx.flags.get("selector"):
        raise error("a selector must be specified")
    if not least and not most:
        raise error("one of min-available or max-unavailable must be specified")
    if least and most:
        raise error("min-available and max-unavailable cannot be both specified")
    if least and not _PDB_BOUND.match(least):
        raise error("invalid format specified for min-available")
    if most and not _PDB_BOUND.match(most):
        raise error("invalid format specified for max-unavailable")
    printing = _check_output(ctx)
    kind = BY_KIND["PodDisruptionBudget"]
    selector = _label_selector(ctx.flags.get("selector"))
    spec: Obj = {"minAvailable": _bound(least), "selector": selector} if least else \
        {"selector": selector, "maxUnavailable": _bound(most)}
    obj = {"kind": "PodDisruptionBudget", "apiVersion": "policy/v1", "metadata": _meta(name, ctx, kind),
           "spec": spec, "status": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                    "expectedPods": 0}}
    _finish(ctx, kind, obj, failed="failed to create poddisruptionbudgets: ", printing=printing)
    return 0


@command("create pdb", *COMMON, *PDB_FLAGS)
def create_pdb(ctx: Context, args: list[str]) -> int:
    return create_poddisruptionbudget(ctx, args)
