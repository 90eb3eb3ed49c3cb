"""``kubelab tutorial``: copy the walkthrough into a working folder and open it in JupyterLab;
``kubelab serve``: an embedded cluster for the real kubectl, until Ctrl-C.

Under ``kubelab tutorial``, JupyterLab's terminals reach the notebooks' clusters with no typing:
``KUBECONFIG`` (and ``KUBELAB_KUBECONFIG``, read by the kernels) name
``<folder>/.kubelab/kubeconfig``, where each kernel adds its own context on its first ``%kube``
(see kubelab.notebook.serving). The user's ``~/.kube/config`` is never read or written.

The packaged notebooks stay clean: the learner works on copies. A copy the learner has edited
is never replaced without asking; ``--reset`` asks, keeps the old copy beside the fresh one,
and ``--yes`` answers for scripts. A manifest of what was copied tells an untouched copy (safe
to refresh when kubelab is upgraded) from an edited one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

DEFAULT_DIR = "kubelab-workshop"
FIRST_NOTEBOOK = "00-welcome.ipynb"
MANIFEST = ".kubelab-copies.json"  # file name -> sha256 of the original we copied there


def packaged_notebooks() -> dict[str, bytes]:
    """The walkthrough notebooks shipped inside the package, by file name, in order."""
    folder = resources.files("kubelab") / "notebooks"
    found = {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.name.endswith(".ipynb")}
    return dict(sorted(found.items()))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class CopyReport:
    """What happened to each notebook while preparing the working folder."""

    copied: list[str] = field(default_factory=list)      # new in the folder
    refreshed: list[str] = field(default_factory=list)   # untouched copy updated to a newer original
    kept: list[str] = field(default_factory=list)        # learner's edits left alone
    replaced: dict[str, str] = field(default_factory=dict)  # name -> backup file of the edited copy


def prepare(workdir: Path, reset: bool = False, confirm: Callable[[list[str]], bool] = lambda names: False,
            originals: dict[str, bytes] | None = None) -> CopyReport:
    """Put a copy of every packaged notebook in ``workdir``.

    A missing copy is written; a copy still identical to what was copied earlier follows the
    package; an edited copy is kept unless ``reset`` is set and ``confirm(edited names)`` agrees,
    in which case it is renamed to a ``.bak-TIMESTAMP.ipynb`` file first, never lost.
    """
    originals = packaged_notebooks() if originals is None else originals
    workdir.mkdir(parents=True, exist_ok=True)
    manifest_path = workdir / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    report = CopyReport()
    edited: list[str] = []
    for name, data in originals.items():
        target = workdir / name
        if not target.exists():
            target.write_bytes(data)
            report.copied.append(name)
        else:
            current = _digest(target.read_bytes())
            if current == _digest(data):
                pass
            elif current == manifest.get(name):
                target.write_bytes(data)
                report.refreshed.append(name)
            else:
                edited.append(name)
        if name not in edited:
            manifest[name] = _digest(data)
    if edited:
        if reset and confirm(edited):
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for name in edited:
                target = workdir / name
                backup = target.with_name(f"{target.stem}.bak-{stamp}.ipynb")
                target.rename(backup)
                target.write_bytes(originals[name])
                manifest[name] = _digest(originals[name])
                report.replaced[name] = backup.name
        else:
            report.kept.extend(edited)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


def lab_command(workdir: Path, port: int | None = None, browser: bool = True,
                notebook: str = FIRST_NOTEBOOK) -> list[str]:
    """The JupyterLab command line: served on 127.0.0.1 only, rooted at the working folder,
    opening the first notebook."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.root_dir={workdir.resolve()}"]
    if port is not None:
        cmd.append(f"--ServerApp.port={port}")
    if not browser:
        cmd.append("--no-browser")
    if getattr(os, "geteuid", lambda: 1)() == 0:  # containers and CI often run as root
        cmd.append("--allow-root")
    cmd.append(str(workdir.resolve() / notebook))
    return cmd


def _ask(edited: list[str]) -> bool:
    if not sys.stdin.isatty():
        return False
    print("You have edited these notebooks: " + ", ".join(edited))
    answer = input("Replace them with fresh copies? Your versions are kept as .bak files. [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _tell(report: CopyReport, workdir: Path, reset: bool) -> None:
    if report.copied:
        print(f"Copied {len(report.copied)} notebooks into {workdir}")
    for name in report.refreshed:
        print(f"Updated {name} (you had not changed it)")
    for name, backup in report.replaced.items():
        print(f"Fresh copy of {name}; your version is now {backup}")
    if report.kept:
        how = "you did not confirm" if reset else "use --reset for fresh copies"
        print(f"Kept your edited {', '.join(report.kept)} ({how})")


KUBECTL_HELP = (
    "No kubectl on PATH: the notebooks work without it, but a terminal needs it to reach their clusters.\n"
    "Install kubectl 1.32 (https://kubernetes.io/docs/tasks/tools/), for example on Linux:\n"
    "  curl -LO https://dl.k8s.io/release/v1.32.5/bin/linux/amd64/kubectl\n"
    "  install -m 0755 kubectl ~/.local/bin/kubectl")


def terminal_kubeconfig(workdir: Path) -> Path:
    """The tutorial's kubeconfig, one context per running notebook kernel."""
    return workdir.resolve() / ".kubelab" / "kubeconfig"


def lab_environment(workdir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """JupyterLab's environment under the tutorial: terminals and kernels inherit it, so a
    terminal's kubectl and each kernel find the shared kubeconfig."""
    env = dict(os.environ if environ is None else environ)
    path = str(terminal_kubeconfig(workdir))
    env["KUBECONFIG"] = path
    env["KUBELAB_KUBECONFIG"] = path
    return env


def tutorial(args: argparse.Namespace) -> int:
    workdir = Path(args.dir)
    confirm = (lambda names: True) if args.yes else _ask
    report = prepare(workdir, reset=args.reset, confirm=confirm)
    _tell(report, workdir, args.reset)
    cmd = lab_command(workdir, args.port, browser=not args.no_browser)
    env = lab_environment(workdir)
    terminal_kubeconfig(workdir).parent.mkdir(mode=0o700, exist_ok=True)
    if shutil.which("kubectl", path=env.get("PATH")) is None:
        print(KUBECTL_HELP)
    else:
        print(f"JupyterLab terminals use the notebooks' clusters (KUBECONFIG={env['KUBECONFIG']}): "
              "each notebook adds its context on its first %kube")
    if args.print_command:
        print(" ".join(cmd))
        return 0
    print(f"Starting JupyterLab in {workdir} (Ctrl-C to stop)", flush=True)
    if os.name == "posix":  # become JupyterLab, so signals (Ctrl-C, a stop) reach it directly
        os.chdir(workdir)
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, cwd=workdir, env=env)
    except KeyboardInterrupt:
        return 0


def serve_command(args: argparse.Namespace) -> int:
    """Run an embedded cluster (real clock) served on 127.0.0.1 until Ctrl-C or SIGTERM."""
    from kubelab.cluster import Cluster
    from kubelab.kubeconfig import NotOurs, add_context, check_not_users
    from kubelab.server import serve

    try:
        path = check_not_users(args.kubeconfig) if args.kubeconfig else None
    except NotOurs as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        server = serve(Cluster(), args.port)
    except OSError as err:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        kubeconfig = add_context(path, server.context, server) if path else server.kubeconfig
        print(f"Serving an embedded Kubernetes cluster at {server.url} (Ctrl-C to stop)")
        print(f"export KUBECONFIG={kubeconfig}", flush=True)
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if path:
            from kubelab.kubeconfig import remove_context

            remove_context(path, server.context)
        server.close()
    print("Stopped.")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kubelab", description="A Kubernetes classroom in Jupyter.")
    sub = top.add_subparsers(dest="command", required=True)
    tut = sub.add_parser("tutorial", help="copy the walkthrough into a folder and open it in JupyterLab")
    tut.add_argument("--dir", default=DEFAULT_DIR, help=f"working folder (default ./{DEFAULT_DIR})")
    tut.add_argument("--port", type=int, default=None, help="port for JupyterLab on 127.0.0.1")
    tut.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    tut.add_argument("--reset", action="store_true", help="replace notebooks you edited with fresh copies (asks first)")
    tut.add_argument("-y", "--yes", action="store_true", help="with --reset: do not ask")
    tut.add_argument("--print-command", action="store_true", help="prepare the folder, print the JupyterLab command, don't run it")
    tut.set_defaults(run=tutorial)
    srv = sub.add_parser("serve", help="run an embedded cluster for the real kubectl until Ctrl-C")
    srv.add_argument("--kubeconfig", default=None,
                     help="add the cluster's context to this file (default: a new file in a temporary folder)")
    srv.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    srv.set_defaults(run=serve_command)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
