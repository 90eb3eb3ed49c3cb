"""What kubectl says about the cluster and its own configuration: ``api-resources``,
``api-versions``, ``cluster-info``, ``config view|get-contexts|current-context|set-context``
and ``version``.

The embedded cluster looks like a minikube profile named ``kubelab``: its API server is at
the first node's address on port 8443, and the kubeconfig has one context of that name.
"""
from __future__ import annotations

from typing import Any

from kubelab.api import autoscaling_v1, version as versions
from kubelab.api.kinds import KINDS, METRICS
from kubelab.client import Client
from kubelab.kubectl import flags as fl
from kubelab.kubectl import usage
from kubelab.kubectl.command import Context, KubectlError, command, error, group
# go-colortext's escapes, which kubectl cluster-info writes even when stdout is not a terminal.
_GREEN, _YELLOW, _RESET = "\x1b[0;32m", "\x1b[0;33m", "\x1b[0m"


def server_url(client: Client) -> str:
    """``https://<first node's InternalIP>:8443``, as minikube's kubeconfig points at."""
    nodes = client.list("Node")["items"]
    for node in nodes:
        for address in (node.get("status") or {}).get("addresses") or ():
            if address.get("type") == "InternalIP":
                return f"https://{address['address']}:8443"
    return "https://192.168.49.2:8443"


def _table(rows: list[list[str]]) -> str:
    from kubelab.kubectl.printers import tabwrite

    return tabwrite(rows)


@command("api-resources", fl.OUTPUT, fl.Flag("namespaced", type=fl.BOOL, default=True),
         fl.Flag("api-group", type=fl.STRING), fl.Flag("verbs", type=fl.STRING_SLICE),
         fl.Flag("no-headers", type=fl.BOOL), fl.Flag("sort-by", type=fl.STRING), fl.Flag("cached", type=fl.BOOL),
         fl.Flag("categories", type=fl.STRING_SLICE), short="Print the supported API resources on the server")
def api_resources(ctx: Context, args: list[str]) -> int:
    _no_args(ctx, args)
    output, sort_by = ctx.flags.get("output"), ctx.flags.get("sort-by")
    if output not in ("", "wide", "name"):
        raise error(f'--output {output} is not available')
    if sort_by not in ("", "name", "kind"):
        raise error("--sort-by accepts only name or kind")
    # sortableResource: by group (or --sort-by's column), ties by resource name
    column = {"name": lambda k: "", "kind": lambda k: k.kind}.get(sort_by, lambda k: k.group)
    kinds = sorted((*KINDS, *METRICS.values()),  # with metrics-server's aggregated group
                   key=lambda k: (column(k), k.plural))
    if ctx.flags.changed("namespaced"):
        kinds = [k for k in kinds if k.namespaced == ctx.flags.get("namespaced")]
    if ctx.flags.changed("api-group"):
        kinds = [k for k in kinds if k.group == ctx.flags.get("api-group")]
    if ctx.flags.get("verbs"):
        kinds = [k for k in kinds if all(v in k.verbs for v in ctx.flags.get("verbs"))]
    if ctx.flags.get("categories"):
        kinds = [k for k in kinds if all(c in k.categories for c in ctx.flags.get("categories"))]
    if output == "name":
        for k in kinds:
            ctx.print(f"{k.plural}.{k.group}" if k.group else k.plural)
        return 0
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = [[k.plural, ",".join(k.short_names), k.api_version, "true" if k.namespaced else "false", k.kind]
            for k in kinds]
    if output == "wide":
        header += ["VERBS", "CATEGORIES"]
        for row, k in zip(rows, kinds):
            row += [",".join(k.verbs), ",".join(k.categories)]
    ctx.out.write(_table(rows if ctx.flags.get("no-headers") else [header, *rows]))
    return 0


@command("api-versions", short="Print the supported API versions on the server, in the form of \"group/version\"")
def api_versions(ctx: Context, args: list[str]) -> int:
    _no_args(ctx, args)
    served = {k.api_version for k in (*KINDS, *METRICS.values())} | {autoscaling_v1.V1}  # v1 beside v2
    for version in sorted(served):
        ctx.print(version)
    return 0


@command("cluster-info", short="Display cluster information")
def cluster_info(ctx: Context, args: list[str]) -> int:
    if args:
        raise error(f'unknown command "{args[0]}" for "kubectl cluster-info"')
    url = server_url(ctx.client)
    ctx.print(f"{_GREEN}Kubernetes control plane{_RESET} is running at {_YELLOW}{url}{_RESET}")
    ctx.print(f"{_GREEN}CoreDNS{_RESET} is running at "
              f"{_YELLOW}{url}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy{_RESET}")
    ctx.print()
    ctx.print("To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
    return 0


@command("version", fl.OUTPUT, fl.Flag("client", type=fl.BOOL), short="Print the client and server version information")
def version(ctx: Context, args: list[str]) -> int:
    """The client's build, kustomize's, and the server's ``/version`` (kubelab is the server)."""
    if args:
        raise error(f"extra arguments: [{' '.join(args)}]")
    output = ctx.flags.get("output")
    if output not in ("", "yaml", "json"):
        raise error("--output must be 'yaml' or 'json'")
    info: dict[str, Any] = {"clientVersion": versions.client_version(),
                            "kustomizeVersion": versions.KUSTOMIZE_VERSION}
    if not ctx.flags.get("client"):
        info["serverVersion"] = versions.server_version()
    if output == "yaml":
        from kubelab.kubectl.printers import to_yaml

        ctx.print(to_yaml(info))
    elif output == "json":
        import json

        ctx.print(json.dumps(info, indent=2))
    else:
        ctx.print(f"Client Version: {info['clientVersion']['gitVersion']}")
        ctx.print(f"Kustomize Version: {info['kustomizeVersion']}")
        if "serverVersion" in info:
            ctx.print(f"Server Version: {info['serverVersion']['gitVersion']}")
    return 0


def _no_args(ctx: Context, args: list[str]) -> None:
    """cobra's NoArgs check as these commands spell it."""
    if args:
        raise ctx.usage_error(f"unexpected arguments: [{' '.join(args)}]")


# -- config --------------------------------------------------------------------------------------
group("config", short="Modify kubeconfig files")


@command("config view", fl.OUTPUT, fl.Flag("minify", type=fl.BOOL), fl.Flag("raw", type=fl.BOOL),
         fl.Flag("flatten", type=fl.BOOL), short="Display merged kubeconfig settings or a specified kubeconfig file")
def config_view(ctx: Context, args: list[str]) -> int:
    _no_args(ctx, args)
    s = ctx.session
    data = "DATA+OMITTED" if not ctx.flags.get("raw") else "REDACTED"
    ctx.out.write(
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {data}\n"
        f"    server: {server_url(ctx.client)}\n"
        f"  name: {s.cluster}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {s.cluster}\n"
        f"    namespace: {s.namespace}\n"
        f"    user: {s.user}\n"
        f"  name: {s.context}\n"
        f"current-context: {s.context}\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {s.user}\n"
        "  user:\n"
        f"    client-certificate-data: {data}\n"
        f"    client-key-data: {data}\n")
    return 0


@command("config get-contexts", fl.OUTPUT, fl.Flag("no-headers", type=fl.BOOL),
         short="Describe one or many contexts")
def config_get_contexts(ctx: Context, args: list[str]) -> int:
    s = ctx.session
    for name in args:
        if name != s.context:
            raise error(f'context {name} not found')
    if ctx.flags.get("output") == "name":
        ctx.print(s.context)
        return 0
    rows = [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], ["*", s.context, s.cluster, s.user, s.namespace]]
    ctx.out.write(_table(rows[1:] if ctx.flags.get("no-headers") else rows))
    return 0


@command("config current-context", short="Display the current-context")
def config_current_context(ctx: Context, args: list[str]) -> int:
    ctx.print(ctx.session.context)
    return 0


@command("config set-context", fl.Flag("current", type=fl.BOOL), fl.Flag("namespace", type=fl.STRING),
         fl.Flag("cluster", type=fl.STRING), fl.Flag("user", type=fl.STRING),
         short="Set a context entry in kubeconfig")
def config_set_context(ctx: Context, args: list[str]) -> int:
    s = ctx.session
    if ctx.flags.get("current") and args:
        raise error("you cannot specify both a context name and --current")
    if not ctx.flags.get("current") and not args:
        raise error("you must specify a non-empty context name or --current")
    name = s.context if ctx.flags.get("current") else args[0]
    if name != s.context:
        raise error(f'kubelab has one context, "{s.context}"; use --current or "{s.context}"')
    if ctx.flags.changed("namespace"):
        s.namespace = ctx.flags.get("namespace") or "default"
    ctx.print(f'Context "{name}" modified.')
    return 0


@command("config use", short="Set the current-context in a kubeconfig file")  # cobra's alias
@command("config use-context", short="Set the current-context in a kubeconfig file")
def config_use_context(ctx: Context, args: list[str]) -> int:
    if len(args) != 1:  # kubectl prints the help, then the error without a See line
        ctx.out.write(usage.help_text("config use-context"))
        raise KubectlError(f"error: Unexpected args: [{' '.join(args)}]")
    if args[0] != ctx.session.context:
        raise error(f'no context exists with the name: "{args[0]}"')
    ctx.print(f'Switched to context "{args[0]}".')
    return 0
