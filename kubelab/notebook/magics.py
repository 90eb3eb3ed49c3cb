"""``%kube`` and ``%%kube``: kubectl in a cell.

``%kube get pods -o wide`` runs kubectl with the words after ``%kube`` (split like a shell,
``$var`` / ``{var}`` expanded by IPython, except inside Go template actions ``{{...}}``). ``%%kube apply`` (or ``create``, ``delete``,
``apply -n NS``) runs that command with the cell body as ``-f -``. Output is kubectl's own text
(errors on stderr, never a traceback); ``get`` tables are also shown styled, and the line's
value is a :class:`~kubelab.notebook.display.KubeResult` (``pods = %kube get pods``, ``pods.df``).
Every ``%kube`` line of a cell shows its output where it stands, in order, as in a terminal.
A command still busy after a second shows a progress line that becomes its output when it ends
(:mod:`kubelab.notebook.progress`).

Extra words kubectl does not have: ``diagram [-n NS|-A] [-l SEL] [--kind K,...] [--expand]``,
``route svc/NAME [--from pod/NAME]`` (or ``ingress/NAME``), ``history deploy/NAME``, ``dashboard``, ``reset`` (a fresh cluster; the
previous one's state file is kept, and ``reset --undo`` brings it back), ``ip`` (the node IP,
like ``minikube ip``), ``workdir NAME`` (this chapter's own folder for its files), ``serve``
(the cluster's API for the real kubectl in a terminal, see :mod:`kubelab.notebook.serving`),
``node stop|start NAME`` (power a node off or on) and ``config show-changes on|off``.
``%kube edit KIND/NAME`` opens the object's YAML in a text box whose **save** button runs ``kubectl edit`` with it.
``%kube run -it ...``, ``%kube exec -it POD -- sh`` and ``%kube attach -it POD`` open a terminal
in the cell's output (kubelab.notebook.terminal); with text on stdin (``Cluster.kubectl``) they
read it as a pipe instead.
``%kube port-forward svc/NAME :80`` (a free local port) keeps forwarding in the background after
the cell returns, that cell showing what it prints as it comes, until ``%kube port-forward
--stop [PORT]`` or ``%kube reset``.
"""
from __future__ import annotations

import argparse
import ast
import re
import shlex
import sys
import threading
from typing import Any

import kubelab.notebook as nb
from kubelab.api.errors import StatusError
from kubelab.notebook.display import KubeResult, Notice
from kubelab.notebook.progress import Progress

_SPECIAL = ("diagram", "route", "history", "dashboard", "reset", "ip", "workdir", "serve", "node")
_home: str | None = None  # the folder the kernel started in: chapters' work folders go inside it
_GO_ACTION = re.compile(r"\{\{.*?(?:\}\}|\Z)", re.S)  # an unclosed {{ too: kubectl says it is unclosed
_HELD = re.compile("\x00(\\d+)\x00")


def load(ipython: Any) -> None:
    """Register the magics on an IPython shell."""
    global _home
    import os

    _home = _home or os.getcwd()
    ipython.register_magic_function(kube_line, "line", "kube")
    ipython.register_magic_function(kube_cell, "cell", "kube")
    if not any(isinstance(t, EveryLine) for t in ipython.ast_transformers):
        ipython.ast_transformers.append(EveryLine())
    if empty_body not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(empty_body)
    # Load the diagram renderer off the main thread so the first picture does not wait for it.
    threading.Thread(target=_warm_renderer, name="kubelab-render-warmup", daemon=True).start()


def _warm_renderer() -> None:
    from kubelab.notebook.render import warm_up

    try:
        warm_up()
    except Exception:  # no renderer: pictures report it when asked for
        pass


def unload(ipython: Any) -> None:
    magics = ipython.magics_manager.magics
    magics["line"].pop("kube", None)
    magics["cell"].pop("kube", None)
    ipython.ast_transformers[:] = [t for t in ipython.ast_transformers if not isinstance(t, EveryLine)]
    if empty_body in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(empty_body)


def empty_body(lines: list[str]) -> list[str]:
    """A ``%%kube apply`` cell with nothing under it: IPython would refuse it with its own
    UsageError (a cell magic needs a body); give it an empty one, so kubectl says what it says
    of empty stdin (``error: no objects passed to apply``)."""
    if lines and lines[0].startswith("%%kube") and not "".join(lines[1:]).strip():
        first = lines[0] if lines[0].endswith("\n") else lines[0] + "\n"
        return [first, "\n"]
    return lines


def show(value: Any) -> None:
    """Display a ``%kube`` line's value where the line stands (returns None, so nothing more
    shows): IPython itself displays only the value of a cell's last expression."""
    if value is not None:
        from IPython.display import display

        display(value)


def _is_kube_line(node: ast.AST) -> bool:
    """``get_ipython().run_line_magic('kube', ...)``: what IPython makes of a ``%kube`` line."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_line_magic" and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and node.args[0].value == "kube")


class EveryLine(ast.NodeTransformer):
    """Show every bare ``%kube`` line's output in order, as a terminal would: each such
    statement is wrapped in ``show(...)``, except the cell's last one, which IPython displays
    (``Out[n]``) itself. Assignments (``r = %kube get pods``) are left alone."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        last = node.body[-1] if node.body else None
        for stmt in node.body:
            if stmt is last and isinstance(stmt, ast.Expr):
                continue  # IPython shows the last expression's value
            self.visit(stmt)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.Expr:
        if _is_kube_line(node.value):
            # __import__ rather than a name in the user's namespace, which %reset would clear
            show_fn = ast.parse("__import__('kubelab.notebook.magics', fromlist=['show']).show", mode="eval").body
            call = ast.Call(func=show_fn, args=[node.value], keywords=[])
            node.value = ast.copy_location(call, node.value)
            ast.fix_missing_locations(node)
        return node


def _error_text(err: BaseException) -> str:
    from kubelab.api.errors import StatusError

    if isinstance(err, StatusError):
        return f"Error from server ({err.reason}): {err.message}"
    return f"error: {err}"


def run_kubectl(argv: list[str], stdin: str | None = None, progress: Progress | None = None) -> KubeResult:
    """kubectl through the same code path the terminal-like cells and the widgets use; with a
    ``progress`` line, kubectl runs "in" it (what it prints names what it waits for)."""
    from kubelab.kubectl import run

    try:
        return KubeResult.of(argv, run(nb.client(), argv, stdin=stdin, terminal=progress))
    except BaseException:
        if progress is not None:
            progress.finish()
        raise




def expand(line: str, depth: int = 0) -> str:
    """IPython's ``{var}``/``$var`` expansion of a ``%kube`` line, leaving Go template actions
    alone: Python's format would turn ``-o go-template='{{.metadata.name}}'`` into single braces.
    ``depth``: frames between the caller and the user's code."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return line
    kept: list[str] = []

    def hold(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    expanded = shell.var_expand(_GO_ACTION.sub(hold, line), depth + 2)
    return _HELD.sub(lambda m: kept[int(m.group(1))], expanded)


def _serve_to_terminals() -> None:
    """Under ``kubelab tutorial``, the kernel's first %kube serves its cluster to terminals
    and says so in one line; a served cluster follows the kernel's current one."""
    from kubelab.notebook import serving

    try:
        line = serving.announce_once()
        if line:
            sys.stdout.write(line)
        serving.follow()
    except Exception as err:  # a terminal is a bonus: the command itself still runs
        print(f"(terminal access: {_error_text(err)})", file=sys.stderr)


def kube_line(line: str) -> Any:
    """``%kube ARGS``: run kubectl (or one of kubelab's extra words)."""
    line = expand(line, depth=1)  # the caller is IPython's run_line_magic, then the user's code
    _serve_to_terminals()
    try:
        argv = shlex.split(line)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    try:
        if argv and (argv[0] in _SPECIAL or argv[:2] == ["config", "show-changes"]):
            return _special(argv)
        if argv and argv[0] == "edit":
            return _edit(argv)
        if _open_terminal(argv):
            return None
        before = _forwards() if argv[:1] == ["port-forward"] else None
        progress = None if before is not None else Progress(_what(argv)).start()
        result = run_kubectl(argv, progress=progress)
        if before is not None and result.stdout:
            _follow_forwards(result, before)
    except SystemExit:  # argparse already printed the usage error
        return None
    except Exception as err:  # the learner sees kubectl-style text, never a traceback
        print(_error_text(err), file=sys.stderr)
        return None
    # A progress line that showed becomes the first thing the command shows.
    done = progress.finish if progress is not None else (lambda bundle=None: False)
    if result.informational:
        # a notice, not an error: no pink stderr stream; kubectl prints it before any output
        from IPython.display import display

        notice = Notice(result.stderr)
        if not done(notice._repr_mimebundle_()):
            display(notice)
    elif result.stderr:
        if result.stdout and not result.shown:  # keep terminal order: what kubectl printed, then its errors
            if not done({"text/plain": result.stdout.rstrip("\n")}):
                sys.stdout.write(result.stdout)
                sys.stdout.flush()
            result.shown = True
            sys.stderr.write(result.stderr)
        else:  # errors stay on stderr (a saved notebook, nbclient, GitHub tell them by their stream)
            done()
            sys.stderr.write(result.stderr)
    elif result.stdout and not result.shown:
        if done(result._repr_mimebundle_()):
            result.shown = True
    else:
        done()
    return result


def _what(argv: list[str]) -> str:
    """How a progress line names a command: as typed."""
    return "kubectl " + shlex.join(argv)


def _open_terminal(argv: list[str]) -> bool:
    """``run -it``, ``exec -it``, ``attach -it``: a terminal in the cell's output, kubectl
    running in it in the background (the cell returns at once). False for other commands."""
    from kubelab.kubectl.command import wants_terminal

    if not wants_terminal(argv):
        return False
    from kubelab.notebook.terminal import open_terminal

    open_terminal(nb.client(), argv)
    return True


def _forwards() -> list[Any]:
    from kubelab.kubectl.portforward import forwards

    return forwards(nb.client())


def _follow_forwards(result: KubeResult, before: list[Any]) -> None:
    """A new port-forward keeps printing (``Handling connection for ...``) after its cell
    returned: show its output in a text that grows, as a terminal would."""
    from IPython.display import display

    from kubelab.notebook.live import LiveText

    started = [f for f in _forwards() if not any(f is b for b in before)]
    if not started:
        return
    result.urls = [f"http://127.0.0.1:{local}/" for f in started for local, _ in f.ports]
    live = LiveText(result.stdout, links=[link for url in result.urls for link in browser_links(url)])
    display(live)
    result.shown = True
    for forward in started:
        forward.follow(live.append)


def browser_links(url: str) -> list[str]:
    """Where a browser reaches ``url`` (a port on the kernel's machine): the URL itself, and on
    a hub (Binder) the same port through the Jupyter server proxy under the notebook's address."""
    import os

    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    port = url.rsplit(":", 1)[1].strip("/")
    return [url] + ([f"{prefix.rstrip('/')}/proxy/{port}/"] if prefix else [])


kube_line._ipython_magic_no_var_expand = True  # type: ignore[attr-defined]  # expand() does it


def kube_cell(line: str, cell: str) -> None:
    """``%%kube apply`` etc.: the cell body is the manifest for ``-f -``."""
    _serve_to_terminals()
    try:
        argv = shlex.split(line)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return
    if not any(w in ("-f", "--filename") or w.startswith(("--filename=", "-f=")) for w in argv):
        argv += ["-f", "-"]
    progress = Progress(_what(argv[:-2] if argv[-2:] == ["-f", "-"] else argv)).start()
    try:
        result = run_kubectl(argv, stdin=cell, progress=progress)
    except Exception as err:
        print(_error_text(err), file=sys.stderr)
        return
    if result.stdout:
        if not progress.finish({"text/plain": result.stdout.rstrip("\n")}):
            sys.stdout.write(result.stdout)
            sys.stdout.flush()
        sys.stderr.write(result.stderr)
    else:
        progress.finish()
        sys.stderr.write(result.stderr)
    sys.stderr.flush()
    if argv and argv[0] in ("apply", "create") and nb.options.show_changes and \
            any(t.verb in ("created", "configured") for t in result.touched):
        try:
            _show_changes(result)
        except Exception as err:  # the picture is a bonus: never let it hide the command's result
            print(f"(no picture: {err})", file=sys.stderr)


# while the new pods start, these statuses mean "not yet": the picture waits for them to pass
_STARTING = ("Pending", "ContainerCreating", "PodInitializing")


def _show_changes(result: KubeResult) -> None:
    """Draw the objects the apply touched and their pods, once new pods had a moment to start.
    It watches just those objects: one pod list per touched workload while it waits, one
    snapshot of them and one diagram at the end."""
    from IPython.display import display

    from kubelab.api.pods import pod_status
    from kubelab.notebook.diagram import build, focus_objects, focus_pods, focus_snapshot

    client = nb.client()
    focus = {(t.kind, t.namespace or "", t.name) for t in result.touched}
    if not focus:
        return
    objects = focus_objects(client, focus)
    wanted = sum(((o.get("spec") or {}).get("replicas", 1) for o in objects
                  if o["kind"] in ("Deployment", "ReplicaSet", "StatefulSet")), 0)
    cluster = nb.cluster() if nb._cluster is not None else None
    progress = Progress("waiting for the new pods to start, to draw them").start()
    try:
        if cluster is None or not cluster.clock.virtual:  # a virtual clock moves only when told to
            def started() -> bool:
                pods = [p for p in focus_pods(client, objects) if not p["metadata"].get("deletionTimestamp")]
                return len(pods) >= wanted and all(pod_status(p) not in _STARTING for p in pods)

            client.wait(started, nb.options.settle_seconds)
        d = build(focus_snapshot(client, focus), focus=focus, title="what changed")
    except BaseException:
        progress.finish()
        raise
    if not d.nodes:
        progress.finish()
    elif not progress.finish(_bundle(d)):
        display(d)


def _bundle(value: Any) -> dict[str, Any]:
    """What ``display(value)`` would show, as a mime bundle (to put in a progress line's place)."""
    from IPython.core.formatters import format_display_data

    return format_display_data(value)[0]


def current_namespace() -> str:
    """The namespace kubectl would use: the current context's (``kubectl config set-context
    --current --namespace=X`` changes it), ``default`` until then."""
    from kubelab.kubectl.command import session_for

    return session_for(nb.client()).namespace


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"%kube {prog}", add_help=False)
    p.add_argument("-n", "--namespace", default=current_namespace())
    return p


def _special(argv: list[str]) -> Any:
    word, rest = argv[0], argv[1:]
    if word == "reset":
        from kubelab.notebook import serving

        print(nb.reset_line(rest))
        serving.follow()  # a terminal on this kernel's cluster stays on it
        return None
    if word == "serve":
        from kubelab.notebook import serving

        sys.stdout.write(serving.usage())
        return None
    if word == "ip":
        return _node_ip()
    if word == "workdir":
        return _workdir(rest)
    if word == "node":
        return _node_power(rest)
    if word == "config":
        state = rest[1] if len(rest) > 1 else ""
        if state not in ("on", "off"):
            print("error: usage: %kube config show-changes on|off", file=sys.stderr)
            return None
        nb.options.show_changes = state == "on"
        return None
    if word == "diagram":
        p = _parser("diagram")
        p.add_argument("-A", "--all-namespaces", action="store_true")
        p.add_argument("-l", "--selector")
        p.add_argument("--kind", action="append")
        p.add_argument("--expand", action="store_true")  # every pod, not a box per big ReplicaSet and node
        a = p.parse_args(rest)
        from kubelab.notebook.diagram import diagram

        return diagram(nb.client(), None if a.all_namespaces else a.namespace, a.selector, a.kind, expand=a.expand)
    if word == "dashboard":
        a = _parser("dashboard").parse_args(rest)
        from kubelab.notebook.dashboard import Dashboard

        return Dashboard(nb.client(), a.namespace, follow=nb.client)
    p = _parser(word)
    p.add_argument("target")
    if word == "route":
        p.add_argument("--from", dest="source")  # pod/NAME: the client whose way NetworkPolicy decides
    a = p.parse_args(rest)
    kind, _, name = a.target.rpartition("/")
    if word == "route":
        if kind in ("ing", "ingress", "ingresses", "ingress.networking.k8s.io"):
            from kubelab.notebook.route import ingress_route

            return ingress_route(nb.client(), name, a.namespace)
        if kind not in ("", "svc", "service", "services"):
            raise ValueError(f"route needs a service (svc/NAME) or an ingress (ingress/NAME), not {a.target!r}")
        from kubelab.notebook.route import route

        source = None
        if a.source:
            src_kind, _, source = a.source.rpartition("/")
            if src_kind not in ("", "po", "pod", "pods"):
                raise ValueError(f"route --from needs a pod (pod/NAME), not {a.source!r}")
        return route(nb.client(), name, a.namespace, from_pod=source)
    if kind not in ("", "deploy", "deployment", "deployments", "deployment.apps"):
        raise ValueError(f"history needs a deployment (deploy/NAME), not {a.target!r}")
    from kubelab.notebook.history import history

    return history(nb.client(), name, a.namespace)


def _edit(argv: list[str]) -> Any:
    """``%kube edit``: the object's YAML in a text box; saving runs ``kubectl edit`` with it."""
    from kubelab.notebook.editor import Editor

    editor = Editor(nb.client(), argv, follow=nb.client)
    if not editor.opened:  # nothing to edit: show kubectl's error as it printed it
        sys.stderr.write(editor.result.stderr)
        return None
    return editor


def _workdir(rest: list[str]) -> None:
    """``%kube workdir NAME``: work in the folder NAME beside the notebooks (made if missing), so
    that each chapter's files (``%%writefile echo-server.yaml``) stay its own. Running it again,
    from any folder, lands in the same place."""
    import os

    name = rest[0] if len(rest) == 1 else ""
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        print("error: usage: %kube workdir NAME (a folder name, made beside the notebooks)", file=sys.stderr)
        return
    folder = os.path.join(_home or os.getcwd(), name)
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    print(f"working in {name}/ (this chapter's files go there)")


def _node_power(rest: list[str]) -> None:
    """``%kube node stop|start NAME``: power a node of the embedded cluster off or on."""
    if len(rest) != 2 or rest[0] not in ("stop", "start"):
        print("error: usage: %kube node stop|start NAME", file=sys.stderr)
        return None
    cluster = nb.cluster()
    if cluster is None:
        print("error: %kube node needs the kernel's embedded cluster", file=sys.stderr)
        return None
    try:
        (cluster.stop_node if rest[0] == "stop" else cluster.start_node)(rest[1])
    except StatusError as err:
        print(f"Error from server ({err.reason}): {err.message}", file=sys.stderr)
        return None
    print(f"node/{rest[1]} {'stopped' if rest[0] == 'stop' else 'started'}")
    return None


def _node_ip() -> Any:
    from kubelab.notebook.display import Text

    nodes = nb.client().list("Node")["items"]
    for node in nodes:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return Text(addr["address"] + "\n")
    raise ValueError("no node has an InternalIP address")

