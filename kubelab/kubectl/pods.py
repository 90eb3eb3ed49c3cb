"""kubectl's pod verbs: ``logs``, ``exec``, ``run`` and ``attach``.

The interactive forms (``-it``) connect the container's stream to the terminal kubectl runs
in: the notebook's in-cell terminal (``%kube run -it ...``, see kubelab.notebook.terminal).
Without one they take their keystrokes from stdin
(``Cluster.kubectl("run -it busybox --image=busybox --rm", stdin="wget -qO- http://web")``):
the container's shell reads it as a pipe and its output is printed, after the same notices
kubectl prints (``If you don't see a command prompt, try pressing enter.``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.api.pods import is_ready
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, KubectlError, command, error
from kubelab.kubectl.describe import format_selector, parse_time, resource_args
from kubelab.kubectl.gofmt import go_quote

if TYPE_CHECKING:
    from kubelab.engine.session import Session as Stream


# How long ``logs -f`` follows on a real clock before it stops by itself.
FOLLOW_SECONDS = 5.0
_PROMPT_HINT = "If you don't see a command prompt, try pressing enter."
# How long (cluster seconds) a shell fed from text may run before kubectl stops waiting for it.
SESSION_SECONDS = 600.0


def pod_for(ctx: Context, word: str) -> Obj:
    """The pod a ``logs``/``exec``/``attach`` argument names: ``POD``, ``pod/POD``, or a
    controller (``deploy/x``), whose pods are ranked the way kubectl picks one for logging."""
    if "/" not in word:
        return ctx.client.get("Pod", word, ctx.namespace)
    (kind, names), = resource_args([word])
    if kind.kind == "Pod":
        return ctx.client.get("Pod", names[0], ctx.namespace)
    owner = ctx.client.get(kind.kind, names[0], ctx.namespace)
    selector = owner.get("spec", {}).get("selector") or {}
    if kind.kind != "Service":
        text = format_selector(selector)
    else:
        text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = ctx.client.list("Pod", ctx.namespace, label_selector=text or None)["items"]
    if not pods:
        raise error("timed out waiting for the condition")
    pods.sort(key=_logging_rank)
    if len(pods) > 1:
        ctx.eprint(f"Found {len(pods)} pods, using pod/{pods[0]['metadata']['name']}")
    return pods[0]


def _logging_rank(pod: Obj) -> tuple:
    """controller.ByLogging: scheduled, running, ready, more restarts, older first."""
    status = pod.get("status") or {}
    phase_rank = {"Running": 0, "Unknown": 1, "Pending": 2}.get(status.get("phase", ""), 3)
    ready = is_ready(pod)
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or ())
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0.0
    return (not (pod.get("spec") or {}).get("nodeName"), phase_rank, not ready, -restarts, created,
            pod["metadata"]["name"])


def container_for(ctx: Context, pod: Obj, name: str) -> str:
    """The container to use: ``-c``, else the default-container annotation, else the first,
    with kubectl's ``Defaulted container`` notice when there was a choice."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if name:
        return name
    wanted = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if wanted and any(c["name"] == wanted for c in containers):
        return wanted
    if len(containers) + len(spec.get("initContainers") or ()) + len(spec.get("ephemeralContainers") or ()) > 1:
        names = [c["name"] for c in containers] + [f"{c['name']} (init)" for c in spec.get("initContainers") or ()] \
            + [f"{c['name']} (ephem)" for c in spec.get("ephemeralContainers") or ()]
        ctx.eprint(f'Defaulted container "{containers[0]["name"]}" out of: {", ".join(names)}')
    return containers[0]["name"]


# -- logs --------------------------------------------------------------------------------------
@command("logs", fl.SELECTOR, fl.Flag("container", "c", fl.STRING), fl.Flag("previous", "p", fl.BOOL),
         fl.Flag("follow", "f", fl.BOOL), fl.Flag("tail", type=fl.INT, default=-1),
         fl.Flag("timestamps", type=fl.BOOL), fl.Flag("all-containers", type=fl.BOOL),
         fl.Flag("prefix", type=fl.BOOL), fl.Flag("since", type=fl.DURATION), fl.Flag("since-time", type=fl.STRING),
         fl.Flag("limit-bytes", type=fl.INT), fl.Flag("max-log-requests", type=fl.INT, default=5),
         fl.Flag("ignore-errors", type=fl.BOOL), fl.Flag("pod-running-timeout", type=fl.STRING, default="20s"),
         short="Print the logs for a container in a pod")
def logs(ctx: Context, args: list[str]) -> int:
    selector = ctx.flags.get("selector")
    if not args and not selector:
        raise ctx.usage_error("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                              "POD or TYPE/NAME is a required argument for the logs command")
    if len(args) > 2:
        raise ctx.usage_error("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                              "POD or TYPE/NAME is a required argument for the logs command")
    if selector and args:
        raise ctx.usage_error("only a selector (-l) or a POD name is allowed")
    tail = ctx.flags.get("tail")
    if selector:
        pods = ctx.client.list("Pod", ctx.namespace, label_selector=selector)["items"]
        if not pods:
            ctx.notice(f"No resources found in {ctx.namespace} namespace.")
            return 0
        for pod in pods:
            _print_logs(ctx, pod, _log_container(ctx, pod, ctx.flags.get("container")), 10 if tail == -1 else tail)
        return 0
    try:
        pod = pod_for(ctx, args[0])
    except StatusError as e:
        if e.code != 404:
            raise
        # logs.go wraps the builder's NotFound in a plain error, naming the namespace
        raise error(f"error from server (NotFound): {e.message} in namespace {go_quote(ctx.namespace)}") from None
    container = args[1] if len(args) == 2 else ctx.flags.get("container")
    if ctx.flags.get("all-containers"):
        for c in (pod.get("spec") or {}).get("containers") or ():
            _print_logs(ctx, pod, c["name"], tail)
        return 0
    _print_logs(ctx, pod, _log_container(ctx, pod, container), tail)
    return 0


def _log_container(ctx: Context, pod: Obj, name: str) -> str:
    """container_for, and logsForObject's own check that a named container is the pod's."""
    spec = pod.get("spec") or {}
    if name and not any(c.get("name") == name for part in ("containers", "initContainers", "ephemeralContainers")
                        for c in spec.get(part) or ()):
        raise error(f"container {name} is not valid for pod {pod['metadata']['name']}")
    return container_for(ctx, pod, name)


def _print_logs(ctx: Context, pod: Obj, container: str | None, tail: int) -> None:
    name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
    previous = ctx.flags.get("previous")
    prefix = f"[pod/{name}/{container}] " if ctx.flags.get("prefix") else ""
    text = ctx.client.logs(name, ns, container, previous, None if tail < 0 else tail)
    ctx.out.write("".join(prefix + line for line in text.splitlines(keepends=True)))
    if not ctx.flags.get("follow"):
        return
    # Following: stream what the container writes for a bounded stretch of cluster time
    # (a notebook cell must end; a virtual clock runs forward that far).
    seen = text

    def more() -> bool:
        nonlocal seen
        try:
            now = ctx.client.logs(name, ns, container, previous, None)
        except StatusError:
            return True
        if len(now) > len(seen) and now.startswith(seen):
            ctx.out.write(now[len(seen):])
        seen = now
        return False

    ctx.client.wait(more, FOLLOW_SECONDS)


# -- exec --------------------------------------------------------------------------------------
@command("exec", fl.FILENAME, fl.Flag("container", "c", fl.STRING), fl.Flag("stdin", "i", fl.BOOL),
         fl.Flag("tty", "t", fl.BOOL), fl.Flag("quiet", "q", fl.BOOL),
         fl.Flag("pod-running-timeout", type=fl.STRING, default="1m0s"),
         short="Execute a command in a container")
def exec_(ctx: Context, args: list[str]) -> int:
    dash = ctx.flags.dash_index
    if not args:
        raise error("pod, type/name or --filename must be specified")
    if dash < 0 and len(args) > 1:
        raise ctx.usage_error("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    if dash == 0:
        raise error("pod, type/name or --filename must be specified")
    command_words = args[dash:] if dash >= 0 else []
    if not command_words:
        raise error("you must specify at least one command for the container")
    pod = pod_for(ctx, args[0])
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise error(f"cannot exec into a container in a completed pod; current phase is {phase}")
    container = container_for(ctx, pod, ctx.flags.get("container"))
    return _run_in(ctx, pod, container, command_words, ctx.stdin if ctx.flags.get("stdin") else None,
                   ctx.flags.get("tty"))


def _run_in(ctx: Context, pod: Obj, container: str, words: list[str], stdin: str | None, tty: bool = False) -> int:
    """Run ``words`` in the container; with a terminal (-t) its stderr comes on stdout, in order."""
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    try:
        if ctx.interactive:
            stream = ctx.client.open_exec(name, namespace, container, words, stdin=True, tty=True)
        else:
            result = ctx.client.exec(name, namespace, container, words, stdin, **({"tty": True} if tty else {}))
    except StatusError as e:
        if e.message.startswith("unable to upgrade connection: "):
            # the kubelet answers this in plain text: client-go's upgrade prints it as an error
            raise error(e.message) from None
        raise
    if ctx.interactive:
        code = _interact(ctx, stream)
        if code:
            raise KubectlError(f"command terminated with exit code {code}", code)
        return 0
    ctx.out.write(result.stdout)
    ctx.err.write(result.stderr)
    if result.exit_code:
        raise KubectlError(f"command terminated with exit code {result.exit_code}", result.exit_code)
    return 0


# -- run and attach ----------------------------------------------------------------------------
def _reference_pattern() -> re.Pattern[str]:
    """distribution/reference's ReferenceRegexp (regexp.go), which ``kubectl run`` checks
    ``--image`` against before it sends anything."""
    alnum, separator = r"[a-z0-9]+", r"(?:[._]|__|[-]+)"
    component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    host = rf"(?:{component}(?:\.{component})*|\[(?:[a-fA-F0-9:]+)\])"
    path = rf"{alnum}(?:{separator}{alnum})*"
    name = rf"(?:{host}(?::[0-9]+)?/)?{path}(?:/{path})*"
    digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
    return re.compile(rf"{name}(?::[\w][\w.-]{{0,127}})?(?:@{digest})?", re.ASCII)


_REFERENCE = _reference_pattern()


@command("run", *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
         fl.Flag("image", type=fl.STRING), fl.Flag("rm", type=fl.BOOL), fl.Flag("stdin", "i", fl.BOOL),
         fl.Flag("tty", "t", fl.BOOL), fl.Flag("restart", type=fl.STRING, default="Always"),
         fl.Flag("port", type=fl.STRING), fl.Flag("env", type=fl.STRING_ARRAY), fl.Flag("labels", "l", fl.STRING),
         fl.Flag("command", type=fl.BOOL), fl.Flag("image-pull-policy", type=fl.STRING),
         fl.Flag("annotations", type=fl.STRING_ARRAY), fl.Flag("attach", type=fl.BOOL),
         fl.Flag("expose", type=fl.BOOL), fl.Flag("quiet", "q", fl.BOOL), fl.Flag("privileged", type=fl.BOOL),
         fl.Flag("overrides", type=fl.STRING), fl.Flag("serviceaccount", type=fl.STRING),
         fl.Flag("pod-running-timeout", type=fl.DURATION, default=60.0),
         fl.Flag("generator", type=fl.STRING), short="Run a particular image on the cluster", required=("image",))
def run(ctx: Context, args: list[str]) -> int:
    if ctx.flags.changed("generator"):
        ctx.eprint("Note: kubectl 1.32 has no --generator flag (it was removed; a real kubectl says "
                   "\"error: unknown flag: --generator\"). kubelab ignores it: `kubectl run` always makes a Pod.")
    dash = ctx.flags.dash_index
    names = args[:dash] if dash >= 0 else args
    if not names:
        raise ctx.usage_error("NAME is required for run")
    image = ctx.flags.get("image")
    if not image:
        raise error("--image is required")
    if not _REFERENCE.fullmatch(image):
        raise error(f"Invalid image name {go_quote(image)}: invalid reference format")
    restart = ctx.flags.get("restart")
    if restart not in ("Always", "OnFailure", "Never"):
        raise ctx.usage_error(f"invalid restart policy: {restart}")
    interactive = ctx.flags.get("stdin") or ctx.flags.get("tty") or ctx.flags.get("attach")
    if ctx.flags.get("rm") and not interactive:
        raise ctx.usage_error("--rm should only be used for attached containers")
    if ctx.flags.get("tty") and not ctx.flags.get("stdin"):
        raise ctx.usage_error("-i/--stdin is required for containers with -t/--tty=true")
    if ctx.flags.get("expose") and not ctx.flags.get("port"):
        raise ctx.usage_error("--port must be set when exposing a service")
    name = names[0]
    pod = _pod_for_run(ctx, name, image, restart, args[dash:] if dash >= 0 else names[1:])
    dry_run = ctx.dry_run()
    if dry_run != "none" and interactive:
        raise ctx.usage_error("--dry-run=[server|client] can't be used with attached containers options "
                              "(--attach, --stdin, or --tty)")
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    created = pod if dry_run == "client" else \
        ctx.warnings(ctx.client.create(pod, ctx.namespace, dry_run=dry_run == "server",
                                       field_manager=ctx.field_manager("kubectl-run"))) or pod
    if dry_run == "none":
        ctx.touch(created, "created")
    separator = ""
    failed: StatusError | None = None
    if ctx.flags.get("expose"):  # kubectl creates the pod, then the Service, and prints the Service first
        service = _service_for_run(ctx, pod)
        try:
            if dry_run != "client":
                service = ctx.warnings(ctx.client.create(service, ctx.namespace, dry_run=dry_run == "server",
                                                         field_manager=ctx.field_manager("kubectl-run"))) \
                    or service
                if dry_run == "none":
                    ctx.touch(service, "created")
            _print_created(ctx, service, suffix)
            separator = "---\n---\n"
        except StatusError as e:
            failed = e
    if not interactive:
        _print_created(ctx, created, suffix, separator)
        if failed:
            raise failed
        return 0
    timeout = ctx.flags.get("pod-running-timeout")
    _attach_session(ctx, created, name, timeout)
    ended: KubectlError | None = None
    if ctx.flags.get("stdin") and (ctx.stdin is not None or ctx.interactive) and restart != "Always":
        ended = _exit_status(ctx, name, restart, timeout)
    if ctx.flags.get("rm"):
        ctx.client.delete("Pod", name, ctx.namespace)
        ctx.client.wait(lambda: _gone(ctx, name), 60)
        ctx.print(f'pod "{name}" deleted')
    if ended is not None:
        raise ended
    return 0


def _exit_status(ctx: Context, name: str, restart: str, timeout: float) -> KubectlError | None:
    """What run does once an attached session ends and the pod will not restart: wait for the
    pod to finish (Never: either way; OnFailure: success) and exit with its container's code,
    as run.go's waitForExitCode does."""
    done = ("Succeeded",) if restart == "OnFailure" else ("Succeeded", "Failed")
    if not ctx.client.wait(lambda: _phase(ctx, name) in done or _phase(ctx, name) == "", timeout or 60):
        return error("timed out waiting for the condition")
    try:
        pod = ctx.client.get("Pod", name, ctx.namespace)
    except StatusError:
        return None
    status = pod.get("status") or {}
    if status.get("phase") != "Failed":
        return None
    terminated = ((status.get("containerStatuses") or [{}])[0].get("state") or {}).get("terminated")
    code = (terminated or {}).get("exitCode", 0)
    if not code:
        return KubectlError(f"pod {ctx.namespace}/{name} failed with unknown exit code")
    message = f"pod {ctx.namespace}/{name} terminated ({terminated.get('reason', '')})\n{terminated.get('message', '')}"
    return KubectlError(message.rstrip("\n"), code)


def _print_created(ctx: Context, obj: Obj, suffix: str, separator: str = "") -> int:
    """One object ``run`` made, as its printer shows it: objects kubectl built itself (client
    dry run) keep Go's field order in JSON and say ``creationTimestamp: null``; ``separator``
    goes before a second YAML document."""
    output = ctx.flags.get("output")
    kind = obj["kind"].lower()
    if output in ("yaml", "json"):
        from kubelab.kubectl import printers

        built = "creationTimestamp" not in obj["metadata"]
        if built:
            meta = obj["metadata"]
            obj = {**obj, "metadata": {**{k: meta[k] for k in ("name", "namespace") if k in meta},
                                       "creationTimestamp": None, **meta}}
        ctx.out.write(separator + printers.to_yaml(obj) if output == "yaml" else
                      printers.to_json(obj, sort_keys=not built))
        return 0
    ctx.print(f"{kind}/{obj['metadata']['name']}{'' if output == 'name' else ' created' + suffix}")
    return 0


def _service_for_run(ctx: Context, pod: Obj) -> Obj:
    """``--expose``: the ClusterIP Service kubectl's generator makes, selecting the pod's labels
    on ``--port`` (labelled only when ``--labels`` was given)."""
    name = pod["metadata"]["name"]
    port = pod["spec"]["containers"][0]["ports"][0]["containerPort"]
    meta: Obj = {"name": name}
    if ctx.explicit_namespace:
        meta["namespace"] = ctx.namespace
    if ctx.flags.get("labels"):
        meta["labels"] = dict(pod["metadata"]["labels"])
    return {"kind": "Service", "apiVersion": "v1", "metadata": meta,
            "spec": {"ports": [{"protocol": "TCP", "port": port, "targetPort": port}],
                     "selector": dict(pod["metadata"]["labels"])},
            "status": {"loadBalancer": {}}}


def _pod_for_run(ctx: Context, name: str, image: str, restart: str, words: list[str]) -> Obj:
    labels = {"run": name}
    if ctx.flags.get("labels"):
        labels = {}
        for pair in ctx.flags.get("labels").split(","):
            key, eq, value = pair.partition("=")
            if not eq:
                raise error(f"invalid label spec: {pair}")
            labels[key] = value
    container: Obj = {"name": name, "image": image}  # in Go's field order (client dry-run JSON keeps it)
    if words:
        container["command" if ctx.flags.get("command") else "args"] = list(words)
    if ctx.flags.get("port"):
        port = ctx.flags.get("port")
        if not re.fullmatch(r"[+-]?\d+", port):  # Go's strconv.Atoi
            raise error(f'strconv.Atoi: parsing "{port}": invalid syntax')
        container["ports"] = [{"containerPort": int(port)}]
    if ctx.flags.get("env"):
        container["env"] = [{"name": k, "value": v} for k, _, v in (e.partition("=") for e in ctx.flags.get("env"))]
    container["resources"] = {}
    if ctx.flags.get("image-pull-policy"):
        container["imagePullPolicy"] = ctx.flags.get("image-pull-policy")
    if ctx.flags.get("stdin"):
        container.update(stdin=True, stdinOnce=True)
    if ctx.flags.get("tty"):
        container["tty"] = True
    meta: Obj = {"name": name}
    if ctx.explicit_namespace:
        meta["namespace"] = ctx.namespace
    meta["labels"] = labels
    if ctx.flags.get("annotations"):
        meta["annotations"] = dict(a.partition("=")[::2] for a in ctx.flags.get("annotations"))
    spec: Obj = {"containers": [container], "restartPolicy": restart, "dnsPolicy": "ClusterFirst"}
    if ctx.flags.get("serviceaccount"):
        spec["serviceAccountName"] = ctx.flags.get("serviceaccount")
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}


def _gone(ctx: Context, name: str) -> bool:
    try:
        ctx.client.get("Pod", name, ctx.namespace)
    except StatusError:
        return True
    return False


def _phase(ctx: Context, name: str) -> str:
    try:
        return (ctx.client.get("Pod", name, ctx.namespace).get("status") or {}).get("phase", "")
    except StatusError:
        return ""


def _attach_session(ctx: Context, pod: Obj, container: str, timeout: float) -> int:
    """Wait for the pod to run, then do what a terminal attached to it would show."""
    name = pod["metadata"]["name"]
    if not ctx.client.wait(lambda: _phase(ctx, name) not in ("Pending", ""), timeout or 60):
        raise error("timed out waiting for the condition")
    current = ctx.client.get("Pod", name, ctx.namespace)
    phase = (current.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        ctx.out.write(ctx.client.logs(name, ctx.namespace, container, False, None))
        return 0
    if ctx.interactive:  # as attach.go's Run does it
        spec = next((c for c in (current.get("spec") or {}).get("containers") or () if c.get("name") == container), {})
        tty = bool(spec.get("tty"))
        if not tty and not ctx.flags.get("quiet"):
            ctx.eprint(f"error: Unable to use a TTY - container {container} did not allocate one")
        ctx.notice(_PROMPT_HINT)
        _interact(ctx, ctx.client.open_attach(name, ctx.namespace, container, stdin=True, tty=tty))
        if tty and (current.get("spec") or {}).get("restartPolicy", "Always") == "Always":
            ctx.print(f"Session ended, resume using 'kubectl attach {name} -c {container} -i -t' command "
                      "when the pod is running")
        return 0
    if ctx.flags.get("tty") or ctx.flags.get("stdin"):
        ctx.notice(_PROMPT_HINT)
    if ctx.stdin is None:
        ctx.out.write(ctx.client.logs(name, ctx.namespace, container, False, None))
        return 0
    # Input that is not a terminal (a cell's text, a pipe): the shell reads it as a pipe, runs
    # each line, and ends at its end (stdinOnce), as `printf 'cmd\n' | kubectl run -i` does.
    session = ctx.client.open_attach(name, ctx.namespace, container, stdin=True, tty=False)
    printed: list[bytes] = []
    session.subscribe(lambda channel, data: printed.append(data))
    session.write(ctx.stdin.encode() if ctx.stdin.endswith("\n") else (ctx.stdin + "\n").encode())
    session.close_stdin()
    ctx.client.wait(lambda: session.exit_code is not None, SESSION_SECONDS)
    session.close()
    ctx.out.write(b"".join(printed).decode(errors="replace"))
    if ctx.flags.get("tty") and (current.get("spec") or {}).get("restartPolicy", "Always") == "Always":
        # attach.go, when a terminal's session ends and the container will restart (-it: the
        # typing stands for a terminal's)
        ctx.print(f"Session ended, resume using 'kubectl attach {name} -c {container} -i -t' command "
                  "when the pod is running")
    return 0


def _interact(ctx: Context, stream: "Stream") -> int | None:
    """The terminal on the stream until the process ends or the terminal goes away (then the
    stream is closed: an exec'd shell dies, an attached one runs on)."""
    assert ctx.terminal is not None
    ctx.terminal.connect(stream)
    try:
        # the process runs on the cluster's clock, which moves by itself (a real clock's
        # driver) or when told (a virtual one): kubectl only waits, looking up for a hang-up
        while stream.wait(0.1) is None and not ctx.terminal.closed:
            pass
    finally:
        stream.close()
    return stream.exit_code


@command("attach", fl.Flag("container", "c", fl.STRING), fl.Flag("stdin", "i", fl.BOOL),
         fl.Flag("tty", "t", fl.BOOL), fl.Flag("quiet", "q", fl.BOOL),
         fl.Flag("pod-running-timeout", type=fl.DURATION, default=60.0),
         short="Attach to a running container")
def attach(ctx: Context, args: list[str]) -> int:
    if not args:
        raise error("at least 1 argument is required for attach")
    if len(args) > 2:
        raise ctx.usage_error(f"expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw {len(args)}: "
                              f"[{' '.join(args)}]")
    pod = pod_for(ctx, "/".join(args))
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise error(f"cannot attach a container in a completed pod; current phase is {phase}")
    container = container_for(ctx, pod, ctx.flags.get("container"))
    return _attach_session(ctx, pod, container, ctx.flags.get("pod-running-timeout"))

