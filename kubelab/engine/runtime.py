"""The simulated container runtime: which images exist, and what their processes do.

Images come from ``kubelab/catalog/images.yaml`` plus whatever the user adds
(``Cluster(images={...})``). A pull of anything else fails the way containerd fails. A
started container runs one simulated main process chosen by the image's behaviour: an HTTP
echo server on ``$PORT``, nginx's welcome page, a busybox shell running the pod's command, or
a process that just runs. What a process writes is kept as its log; files are an in-memory
filesystem with the pod's volumes mounted in it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import posixpath
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Callable

from kubelab.engine.results import ExecResult
from kubelab.engine.clock import Clock, Timer
from kubelab.engine.disks import Disk
from kubelab.engine.network import Answer, Fetch, HttpRequest, HttpResponse, Network, Sandbox, DNS_SERVER, DNS_TIMEOUT
from kubelab.engine.session import (STDERR, STDOUT, Console, Output, ProcessSession, Runner, attach_session,
                                    exec_session)
from kubelab.engine.shell import Shell, Sleep, Streams, drain
from kubelab.engine.store import compact

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_LOG_LINES = 10_000
# The kubelet rotates a container's log at containerLogMaxSize (10 MiB) and `kubectl logs`
# reads the current file: a container printing long lines forever keeps at most this much.
MAX_LOG_BYTES = 10 * 1024 * 1024
SIGTERM_EXIT_DELAY = 0.3  # seconds a well-behaved server takes to exit on SIGTERM
# CPU a server spends on one request (core-seconds): parsing, the answer, its access-log line.
# Chosen so that one load loop (ten requests a cluster second) moves an HPA: the echo server
# spends 100m on it, nginx a tenth of that.
REQUEST_CPU = {"http-echo": 0.01, "text-echo": 0.002, "nginx": 0.001, "httpd": 0.002}
CLIENT_REQUEST_CPU = 0.002  # a wget/curl of a loop: fork, exec, connect


# -- the catalog ------------------------------------------------------------------------------
@dataclass
class Image:
    """A catalog entry: a repository, its tags, and what its main process does."""

    repository: str
    tags: frozenset[str]
    tag_pattern: str | None = None
    size: int = 10_000_000
    behaviour: str = "idle"
    entrypoint: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    port: int | None = None
    binaries: frozenset[str] = frozenset()
    shell: str = "busybox"
    sigterm: str = "exits"
    requires_env: list[str] = field(default_factory=list)
    startup_error: str = ""
    startup_log: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # command lines that start the image's server: a program, and the flags that make it one
    # ("start-zookeeper", "ncat --listen")
    servers: frozenset[str] = frozenset()

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags or bool(self.tag_pattern and re.fullmatch(self.tag_pattern, tag))


@dataclass
class Reference:
    """An image reference split the way containerd reads it."""

    text: str  # as written in the pod spec
    domain: str
    path: str  # library/nginx, kennship/http-echo
    tag: str
    digest: str | None

    @property
    def canonical(self) -> str:
        """``docker.io/library/nginx:latest``: what containerStatuses[].image shows."""
        return f"{self.domain}/{self.path}" + (f"@{self.digest}" if self.digest else f":{self.tag}")

    @property
    def short(self) -> str:
        """How the catalog names the repository (no docker.io, no library/)."""
        if self.domain == "docker.io":
            return self.path[len("library/"):] if self.path.startswith("library/") else self.path
        return f"{self.domain}/{self.path}"


class InvalidImageName(ValueError):
    pass


class PullError(Exception):
    pass


def parse_reference(text: str) -> Reference:
    """Normalise like the docker reference library: default domain docker.io, library/ for
    official images, tag latest."""
    if not text or text != text.strip():
        raise InvalidImageName(f'couldn\'t parse image name "{text}": invalid reference format')
    name, digest = text, None
    if "@" in name:
        name, digest = name.split("@", 1)
    tag = "latest"
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    if name != name.lower():
        raise InvalidImageName(f'couldn\'t parse image name "{text}": invalid reference format: '
                               "repository name must be lowercase")
    if not re.fullmatch(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*", name) \
            or not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise InvalidImageName(f'couldn\'t parse image name "{text}": invalid reference format')
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    return Reference(text, domain, path, tag, digest)


class Catalog:
    """The images that exist, from the packaged catalog plus the user's additions."""

    def __init__(self, extra: dict[str, Any] | None = None) -> None:
        entries = dict(_packaged_images())
        for name, spec in (extra or {}).items():
            entries[name] = {"tags": ["latest"], **(spec or {})}
        self.images = {name: _image(name, spec) for name, spec in entries.items()}

    def find(self, ref: Reference) -> Image | None:
        return self.images.get(ref.short)

    def pull(self, ref: Reference) -> Image:
        """The image a pull gets, or PullError with containerd's message."""
        image = self.find(ref)
        where = ref.canonical
        if image is None:
            if ref.domain == "docker.io":
                raise PullError(f'failed to pull and unpack image "{where}": failed to resolve reference '
                                f'"{where}": pull access denied, repository does not exist or may require '
                                "authorization: server message: insufficient_scope: authorization failed")
            raise PullError(f'failed to pull and unpack image "{where}": failed to resolve reference '
                            f'"{where}": {where}: not found')
        if ref.digest is None and not image.has_tag(ref.tag):
            raise PullError(f'failed to pull and unpack image "{where}": failed to resolve reference '
                            f'"{where}": {where}: not found')
        return image


def _is_server(image: Image, argv: list[str]) -> bool:
    """Whether ``argv`` starts one of the image's servers (it then runs until killed)."""
    if not argv:
        return False
    prog = posixpath.basename(argv[0])
    return any(words[0] == prog and all(w in argv[1:] for w in words[1:])
               for words in (s.split() for s in image.servers))


@functools.lru_cache(maxsize=1)
def _packaged_images() -> dict[str, Any]:
    """kubelab/catalog/images.yaml, read once per process: every Cluster (each test, each
    %kube reset) starts from it, and nothing writes to it (_image copies what it reads).
    libyaml's loader when PyYAML has it: the pure-Python one takes ~8 times as long."""
    import yaml

    text = resources.files("kubelab").joinpath("catalog/images.yaml").read_text()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["images"]


def _image(name: str, spec: dict[str, Any]) -> Image:
    return Image(
        repository=name, tags=frozenset(str(t) for t in spec.get("tags", ["latest"])),
        tag_pattern=spec.get("tag_pattern"), size=int(spec.get("size", 10_000_000)),
        behaviour=spec.get("behaviour", "idle"), entrypoint=list(spec.get("entrypoint", [])),
        command=list(spec.get("command", [])), port=spec.get("port"),
        binaries=frozenset(spec.get("binaries", [])), shell=spec.get("shell", "busybox"),
        sigterm=spec.get("sigterm", "exits"), requires_env=list(spec.get("requires_env", [])),
        startup_error=spec.get("startup_error", ""), startup_log=list(spec.get("startup_log", [])),
        env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
        servers=frozenset(spec.get("servers", [])))


def image_digest(ref: Reference) -> str:
    """A stable made-up digest, so imageID looks like containerd's."""
    return "sha256:" + hashlib.sha256(ref.canonical.split("@")[0].encode()).hexdigest()


# -- files --------------------------------------------------------------------------------------
@dataclass
class Volume:
    """Files a pod volume holds. ConfigMap/Secret volumes are read-only and the kubelet swaps
    ``files`` when the source changes; an emptyDir is shared and writable; a claim's or a
    hostPath's ``files`` is the kubelet's disk itself, so it outlives the pod. A volume that is
    one file (hostPath ``File``) keeps its text under the key ``""``."""

    files: dict[str, str] = field(default_factory=dict)
    readonly: bool = False


_SHARED_DIRS: dict[tuple[str, ...], frozenset[str]] = {}  # file and mount paths -> their directories


class Files:
    """A container's filesystem: the image's files, its own writes, and mounted volumes."""

    BASE_DIRS = ("/", "/bin", "/dev", "/etc", "/home", "/lib", "/proc", "/root", "/sys", "/tmp",
                 "/usr", "/usr/bin", "/usr/local", "/usr/local/bin", "/var", "/var/run", "/sbin")

    def __init__(self, files: dict[str, str], mounts: dict[str, Volume]) -> None:
        self.files = compact(files)
        self.mounts = {posixpath.normpath(k): v for k, v in mounts.items()}
        # containers of one image start with the same directories: one shared set until mkdir,
        # worked out once per layout of files and mount points
        paths = (*self.files, *self.mounts)
        shared = _SHARED_DIRS.get(paths)
        if shared is None:
            dirs = set(self.BASE_DIRS)
            for path in paths:
                parent = posixpath.dirname(path)
                while parent not in dirs:
                    dirs.add(parent)
                    parent = posixpath.dirname(parent)
            if len(_SHARED_DIRS) > 1024:
                _SHARED_DIRS.clear()
            frozen = frozenset(dirs)
            shared = _SHARED_DIRS[paths] = next((d for d in _SHARED_DIRS.values() if d == frozen), frozen)
        self.dirs: set[str] | frozenset[str] = shared

    def _parents(self, path: str) -> None:
        """Make the directories above ``path`` (an image writing its own files)."""
        parent = posixpath.dirname(path)
        while parent not in self.dirs:
            self.dirs = {*self.dirs, parent}
            parent = posixpath.dirname(parent)

    def _mount(self, path: str) -> tuple[Volume, str] | None:
        best = None
        for root in self.mounts:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                if best is None or len(root) > len(best):
                    best = root
        if best is None:
            return None
        return self.mounts[best], path[len(best):].lstrip("/")

    def read(self, path: str) -> str:
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            if rel in vol.files:
                return vol.files[rel]
            if rel == "" or any(k.startswith(rel + "/") for k in vol.files):
                raise IsADirectoryError(21, "Is a directory")
            raise FileNotFoundError(2, "No such file or directory")
        if path in self.files:
            return self.files[path]
        if path in self.dirs:
            raise IsADirectoryError(21, "Is a directory")
        raise FileNotFoundError(2, "No such file or directory")

    def write(self, path: str, text: str, append: bool = False) -> None:
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            if vol.readonly:
                raise OSError(30, "Read-only file system")
            if isinstance(vol.files, Disk):
                vol.files.write(rel, text, append)
            else:
                vol.files[rel] = (vol.files.get(rel, "") if append else "") + text
            return
        if posixpath.dirname(path) not in self.dirs:
            raise FileNotFoundError(2, "No such file or directory")
        if path in self.dirs:
            raise IsADirectoryError(21, "Is a directory")
        self.files[path] = (self.files.get(path, "") if append else "") + text

    def remove(self, path: str) -> None:
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            if vol.readonly:
                raise OSError(30, "Read-only file system")
            if rel not in vol.files:
                raise FileNotFoundError(2, "No such file or directory")
            del vol.files[rel]
            return
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory")
        del self.files[path]

    def rmdir(self, path: str) -> None:
        """Remove an empty directory (``rm -r`` empties it first)."""
        if not self.isdir(path):
            raise FileNotFoundError(2, "No such file or directory")
        if self.listdir(path):
            raise OSError(39, "Directory not empty")
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            if vol.readonly:
                raise OSError(30, "Read-only file system")
            if rel == "":
                raise OSError(16, "Resource busy")  # a mount point
            vol.files.pop(rel + "/", None)
            return
        if path in self.mounts:
            raise OSError(16, "Resource busy")
        self.dirs = self.dirs - {path}

    def mkdir(self, path: str) -> None:
        if self.exists(path):
            raise FileExistsError(17, "File exists")
        if posixpath.dirname(path) not in self.dirs and not self.isdir(posixpath.dirname(path)):
            raise FileNotFoundError(2, "No such file or directory")
        hit = self._mount(path)
        if hit is not None:  # a directory in a volume is the volume's: the next pod sees it too
            vol, rel = hit
            if vol.readonly:
                raise OSError(30, "Read-only file system")
            vol.files[rel + "/"] = ""  # an empty directory's mark (isdir and listdir read it)
            return
        self.dirs = {*self.dirs, path}

    def isdir(self, path: str) -> bool:
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            if rel == "":
                return "" not in vol.files  # a file mounted on its own (hostPath File) holds its text at ""
            return any(k.startswith(rel + "/") for k in vol.files)
        return path in self.dirs

    def exists(self, path: str) -> bool:
        hit = self._mount(path)
        if hit is not None and hit[1] in hit[0].files:
            return True
        return self.isdir(path) or path in self.files

    def listdir(self, path: str) -> list[str]:
        names: set[str] = set()
        hit = self._mount(path)
        if hit is not None:
            vol, rel = hit
            prefix = rel + "/" if rel else ""
            names.update(k[len(prefix):].split("/")[0] for k in vol.files if k.startswith(prefix))
        else:
            prefix = path.rstrip("/") + "/"
            for p in list(self.files) + list(self.dirs) + list(self.mounts):
                if p.startswith(prefix) and p != prefix:
                    names.add(p[len(prefix):].split("/")[0])
        return sorted(n for n in names if n)


# -- processes --------------------------------------------------------------------------------
@dataclass
class Spec:
    """What the kubelet hands the runtime to create a container."""

    name: str
    ref: Reference
    image: Image
    argv: list[str]  # resolved command + args; [] means the image's default
    env: dict[str, str]
    mounts: dict[str, Volume]
    stdin: bool = False
    tty: bool = False
    working_dir: str = ""
    stdin_once: bool = False
    memory_limit: float | None = None  # bytes: the cgroup's limit the kernel OOM-kills above
    resolv_conf: str | None = None  # the pod's own (dnsPolicy None / dnsConfig); None: the cluster's
    host_aliases: str = ""  # the pod's hostAliases, as the kubelet appends them to /etc/hosts
    identity: tuple[int, int, tuple[int, ...]] = (0, 0, ())  # runAsUser, runAsGroup, supplementary groups


class StartError(Exception):
    """The runtime could not start the process (executable not found)."""


class Process:
    """A container's main process: it writes a log, may listen on ports, and exits."""

    def __init__(self, runtime: "Runtime", sandbox: Sandbox, spec: Spec, hostname: str,
                 on_exit: Callable[["Process"], None]) -> None:
        self.runtime = runtime
        self.clock: Clock = runtime.clock
        self.sandbox = sandbox
        self.spec = spec
        self.image = spec.image
        self.name = spec.name
        self.hostname = hostname
        self.flavour = "busybox" if spec.image.shell == "busybox" else "bash"
        self.identity = spec.identity
        self.id = hashlib.sha256(f"{sandbox.namespace}/{sandbox.pod}/{spec.name}/{runtime.next_id()}"
                                 .encode()).hexdigest()
        self.env = compact({"PATH": DEFAULT_PATH, "HOSTNAME": hostname, **spec.image.env, **spec.env})
        if self.flavour == "bash":
            self.env.setdefault("HOME", "/root")
        self.fs = Files(self._base_files(), spec.mounts)
        self.log: list[tuple[float, str]] = []
        self._log_chars = 0  # characters in self.log, held under MAX_LOG_BYTES
        self.exit_code: int | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.ports: list[int] = []
        self.on_exit = on_exit
        self.shell = Shell(self, self.env, spec.working_dir or "/", name="sh")
        # what attach meets: the shell reading stdin (``run -it``), the output, the end
        self.console: Console | None = None
        self.output = Output()
        self._exited: threading.Event | None = None  # made when a client waits (pods are many)
        self.stdin_once = spec.stdin_once
        self.sessions: list[ProcessSession] = []  # exec'd processes: they die with the container
        self._timer: Timer | None = None
        self._kill_timer: Timer | None = None
        self._partial = ""
        self.terminating = False
        self.oom_killed = False  # the kernel killed it for going over its memory limit
        # CPU this process asked for (core-seconds, cumulative like cgroup cpuacct.usage);
        # the metrics pipeline caps what it reads at the container's limit (CFS throttling).
        self.cpu_demand = 0.0
        self._fetches = 0
        self._slept = False  # the last step slept (the loop's turn after it is no spin)

    # Host protocol for the shell ------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def has_program(self, name: str) -> bool:
        return name in self.image.binaries or name in ("sh",) and self.image.shell != "none"

    def serves(self, argv: list[str]) -> bool:
        return _is_server(self.image, argv)

    def http_get(self, url: str, user_agent: str, headers: dict[str, str] | None = None) -> Fetch:
        self._fetches += 1
        self.cpu_demand += CLIENT_REQUEST_CPU
        return self.runtime.network.fetch(self.sandbox, url, user_agent, headers=headers)

    def dns_lookup(self, name: str) -> Answer | None:
        return self.runtime.network.lookup(name, self.sandbox.namespace)

    def dns_server(self) -> str:
        return DNS_SERVER

    def dns_timeout(self) -> float | None:
        return None if self.runtime.network.dns_allowed(self.sandbox) else DNS_TIMEOUT

    # life -----------------------------------------------------------------------------------
    def _base_files(self) -> dict[str, str]:
        net = self.runtime.network
        return {
            "/etc/hostname": self.hostname + "\n",
            "/etc/hosts": ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
                           "ip6-localhost ip6-loopback\n" + f"{self.sandbox.ip}\t{self.hostname}\n"
                           + self.spec.host_aliases),
            "/etc/resolv.conf": self.spec.resolv_conf or net.resolv_conf(self.sandbox.namespace),
            "/etc/os-release": "NAME=\"Linux\"\nID=linux\n",
        }

    def command_line(self) -> list[str]:
        """The argv the process runs: the pod's command/args over the image's defaults."""
        return self.spec.argv or (self.image.entrypoint + self.image.command)

    def check(self) -> None:
        """Fail like runc when the executable is not in the image."""
        argv = self.command_line()
        if not argv:
            raise StartError('failed to create containerd task: failed to create shim task: OCI runtime '
                             'create failed: runc create failed: unable to start container process: '
                             'exec: no command specified: unknown')
        prog = posixpath.basename(argv[0])
        if not self._runnable(prog, argv[0]):
            raise StartError('failed to create containerd task: failed to create shim task: OCI runtime '
                             'create failed: runc create failed: unable to start container process: error '
                             f'during container init: exec: "{argv[0]}": executable file not found in $PATH: '
                             'unknown')

    def _runnable(self, prog: str, path: str) -> bool:
        from kubelab.engine.shell import BASH_BUILTINS, BUSYBOX_APPLETS

        if prog in self._own() or prog in self.image.binaries:
            return True
        if self.image.shell == "none":
            return False
        applets = BUSYBOX_APPLETS if self.flavour == "busybox" else BASH_BUILTINS
        return prog in applets and prog not in ("cd", "export", "unset", "exit")

    def _own(self) -> set[str]:
        """Programs that are the image's own server (its entrypoint, its default command, the
        scripts that start it)."""
        return {posixpath.basename(p) for p in self.image.entrypoint + self.image.command[:1]} | \
            {s.split()[0] for s in self.image.servers if len(s.split()) == 1}

    def _server_script(self, argv: list[str]) -> list[str] | None:
        """``sh -c "[exec] SERVER ARGS..."``: the image's server started through a shell (as
        the ZooKeeper example does): the words of that command line."""
        if len(argv) != 3 or posixpath.basename(argv[0]) not in ("sh", "bash") or argv[1] != "-c":
            return None
        words = argv[2].split()
        if words[:1] == ["exec"]:
            words = words[1:]
        if words and self.image.behaviour != "shell" and posixpath.basename(words[0]) in self._own() \
                and not any(ch in argv[2] for ch in ";&|`$<>"):
            return words
        return None

    def start(self) -> None:
        self.started_at = self.clock.now()
        argv = self.command_line()
        entry = self.image.entrypoint
        if self.image.behaviour == "shell" and entry and argv[:len(entry)] == entry and len(argv) > len(entry):
            argv = argv[len(entry):]  # docker-entrypoint.sh execs the command it is given (bash's image)
        prog = posixpath.basename(argv[0])
        server = self._server_script(argv)
        if self.image.behaviour != "shell" and prog in self._own():
            BEHAVIOURS[self.image.behaviour](self, argv)
        elif server is not None:
            BEHAVIOURS[self.image.behaviour](self, server)
        elif len(argv) == 1 and prog in ("sh", "ash", "bash", "python", "python3", "node"):
            if not self.spec.stdin:  # an interactive program reading an empty stdin ends at once
                self._exit_soon(0)
            elif prog in ("sh", "ash", "bash"):
                self.console = Console(self.shell, self.clock, self.spec.tty, self.emit, self._console_exited)
                self.console.start()
        else:
            self._step(self.shell.argv(argv, Streams(self.write, lambda text: self.emit(STDERR, text))))

    def _step(self, gen: Any) -> None:
        """Run the script until it sleeps (resume on the clock) or ends (the process exits)."""
        fetches = self._fetches
        try:
            step: Sleep = next(gen)
        except StopIteration as stop:
            self._exit_soon(stop.value or 0)
            return
        delay = max(step.seconds, 0.1 if step.in_loop else 0.0)
        if step.in_loop and step.seconds == 0 and fetches == self._fetches and not self._slept:
            self.cpu_demand += delay  # a loop that neither sleeps nor waits on the network spins a core
        self._slept = step.seconds > 0
        progress = not step.in_loop and step.seconds <= 60
        self._timer = self.clock.call_later(delay, lambda: self._step(gen), progress)

    def _exit_soon(self, code: int) -> None:
        self._timer = self.clock.call_later(0.05, lambda: self.exit(code), True)

    def write(self, text: str) -> None:
        self.emit(STDOUT, text)

    def emit(self, channel: int, text: str) -> None:
        """What the process prints: to attached clients as it comes, and to the log, line by
        line, stamped with the time it was written."""
        self.output.emit(channel, text)
        self._log(text)

    def _log(self, text: str) -> None:
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        if len(self._partial) > MAX_LOG_BYTES:  # a line that never ends: its last 10 MiB
            self._partial = self._partial[-MAX_LOG_BYTES:]
        now = self.clock.now()
        self.log.extend((now, line) for line in lines)
        self._log_chars += sum(len(line) + 1 for line in lines)
        drop = max(len(self.log) - MAX_LOG_LINES, 0)
        chars = self._log_chars - sum(len(line) + 1 for _, line in self.log[:drop])
        while chars > MAX_LOG_BYTES and drop < len(self.log) - 1:
            chars -= len(self.log[drop][1]) + 1
            drop += 1
        if drop:
            del self.log[:drop]
            self._log_chars = chars

    def listen(self, port: int, handler: Callable[[HttpRequest], HttpResponse] | None) -> None:
        cost = REQUEST_CPU.get(self.image.behaviour, 0.0)
        if handler is not None and cost:
            handler = self._charged(handler, cost)
        self.sandbox.listeners[port] = handler
        self.ports.append(port)

    def _charged(self, handler: Callable[[HttpRequest], HttpResponse], cost: float
                 ) -> Callable[[HttpRequest], HttpResponse]:
        """The server spends ``cost`` core-seconds on each request it answers."""
        def serve(req: HttpRequest) -> HttpResponse:
            self.cpu_demand += cost
            return handler(req)
        return serve

    def exit(self, code: int) -> None:
        if self.exit_code is not None:
            return
        if self._partial:
            self._log("\n")  # the log's last line is complete; attached clients saw it as it was
        self.exit_code = code
        self.finished_at = self.clock.now()
        for t in (self._timer, self._kill_timer):
            if t is not None:
                t.cancel()
        for port in self.ports:
            self.sandbox.listeners.pop(port, None)
        if self.console is not None:
            self.console.kill(code)
        for session in self.sessions:
            if session.target is not None:
                session.target.kill(137)
        self.sessions.clear()
        if self._exited is not None:
            self._exited.set()
        self.on_exit(self)

    @property
    def exited(self) -> threading.Event:
        """Set when the process has ended: what an attached client waits on."""
        if self._exited is None:
            self._exited = threading.Event()
            if self.exit_code is not None:
                self._exited.set()
        return self._exited

    def _console_exited(self, code: int) -> None:
        """The shell on stdin ended (``exit``, ^D, EOF): so does the container."""
        if self.exit_code is None:
            self._exit_soon(code)

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.exit_code is None

    def terminate(self, grace: float) -> None:
        """SIGTERM now, SIGKILL when the grace period ends. Shells and ``sleep`` as PID 1 have
        no SIGTERM handler, so they wait for the SIGKILL (exit 137)."""
        if not self.running or self.terminating:
            return
        self.terminating = True
        ignores = self.image.sigterm == "ignore" or self.image.behaviour == "shell" or \
            posixpath.basename(self.command_line()[0]) in ("sh", "bash", "sleep")
        if not ignores:
            code = 0 if self.image.behaviour in ("nginx", "httpd") else 143
            self._kill_timer = self.clock.call_later(min(SIGTERM_EXIT_DELAY, grace), lambda: self.exit(code))
        else:
            self._kill_timer = self.clock.call_later(grace, lambda: self.exit(137))

    def kill(self) -> None:
        if self.running:
            self.exit(137)

    # exec and attach ------------------------------------------------------------------------
    def exec(self, argv: list[str], stdin: str | None = None, tty: bool = False) -> ExecResult:
        """``kubectl exec``: run a program next to the main process. On a terminal (``tty``)
        stdout and stderr are one stream, in the order written."""
        if not argv:
            return ExecResult("", "error: you must specify at least one command for the container\n", 1)
        prog = posixpath.basename(argv[0])
        if not self._runnable(prog, argv[0]):
            return ExecResult("", 'OCI runtime exec failed: exec failed: unable to start container process: '
                              f'exec: "{argv[0]}": executable file not found in $PATH: unknown\n', 126)
        out: list[str] = []
        err: list[str] = out if tty else []
        session = Shell(self, dict(self.env), self.spec.working_dir or "/", name="sh")
        code = drain(session.argv(argv, Streams(out.append, err.append, stdin or "")))
        return ExecResult("".join(out), "" if tty else "".join(err), code)

    def run_hook(self, argv: list[str], done: Callable[[int], None]) -> Runner | None:
        """An exec lifecycle hook: ``argv`` beside the main process on the cluster clock (its
        sleeps take time, unlike ``exec``), its output thrown away; ``done(status)`` at its end.
        None when it cannot start (``done(126)`` has been called)."""
        if not argv or not self._runnable(posixpath.basename(argv[0]), argv[0]):
            done(126)
            return None
        shell = Shell(self, dict(self.env), self.spec.working_dir or "/", name="sh")
        runner = Runner(self.clock, shell.argv(list(argv), Streams(_discard, _discard, "")), done)
        runner.step()
        return runner

    def exec_session(self, lock: threading.RLock, argv: list[str], stdin: bool, tty: bool) -> ProcessSession:
        """``kubectl exec`` as a stream (``-i``/``-t``): a new process in this container."""
        failure: tuple[str, int] | None = None
        if not argv:
            failure = ("error: you must specify at least one command for the container\n", 1)
        elif not self._runnable(posixpath.basename(argv[0]), argv[0]):
            failure = ('OCI runtime exec failed: exec failed: unable to start container process: '
                       f'exec: "{argv[0]}": executable file not found in $PATH: unknown\n', 126)
        shell = Shell(self, dict(self.env), self.spec.working_dir or "/", name="sh")
        session = exec_session(lock, self.clock, shell, list(argv), stdin, tty, failure)
        self.sessions = [other for other in self.sessions if other.exit_code is None]
        if session.exit_code is None:
            self.sessions.append(session)
        return session

    def attach_session(self, lock: threading.RLock, stdin: bool, tty: bool) -> ProcessSession:
        """``kubectl attach`` / ``run -it``: this process's own stdin and output."""
        return attach_session(lock, self, stdin, tty)


def _discard(text: str) -> None:
    """Where a hook's output goes: the kubelet keeps none of it."""


# -- behaviours -------------------------------------------------------------------------------
def _stamp(proc: Process) -> str:
    return datetime.fromtimestamp(proc.clock.now(), tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _http_echo(proc: Process, argv: list[str]) -> None:
    """A JSON echo of each request plus the serving host's name, like kennship/http-echo."""
    raw = proc.env.get("PORT", str(proc.image.port or 3000))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        proc.write(f"Error: listen EACCES: permission denied {raw}\n")
        proc._exit_soon(1)
        return
    port = int(raw)

    def handle(req: HttpRequest) -> HttpResponse:
        host = req.headers.get("Host", "").split(":")[0]
        # Express's req.query: one value a string, a repeated key a list
        query = {k: v[0] if len(v) == 1 else v
                 for k, v in urllib.parse.parse_qs(req.path.partition("?")[2], keep_blank_values=True).items()}
        body = {"path": req.path.split("?")[0], "headers": {k.lower(): v for k, v in req.headers.items()},
                "method": req.method, "body": req.body, "cookies": {}, "fresh": False, "hostname": host,
                "ip": "::ffff:" + req.client_ip, "ips": [], "protocol": "http", "query": query,
                "subdomains": [], "xhr": False, "os": {"hostname": proc.hostname}}
        text = json.dumps(body, separators=(",", ":"))
        proc.write(f'::ffff:{req.client_ip} - - [{_stamp(proc)}] "{req.method} {req.path} HTTP/1.1" 200 '
                   f'{len(text)} "-" "{req.headers.get("User-Agent", "-")}"\n')
        return HttpResponse(200, text, content_type="application/json")

    proc.listen(port, handle)
    proc.write(f"Listening on port {port}\n")


def _text_echo(proc: Process, argv: list[str]) -> None:
    """hashicorp/http-echo: answers every request with its ``-text``."""
    args = dict(a.lstrip("-").split("=", 1) for a in argv[1:] if "=" in a)
    if "text" not in args:
        proc.write("Missing -text option!\n")
        proc._exit_soon(127)
        return
    port = int(args.get("listen", ":5678").rsplit(":", 1)[-1] or 5678)
    proc.listen(port, lambda req: HttpResponse(200, args["text"] + "\n"))
    proc.write(f"[INFO] server is listening on :{port}\n")


NGINX_WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
NGINX_404 = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found"
             "</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n")


def _nginx(proc: Process, argv: list[str]) -> None:
    proc.fs.files["/usr/share/nginx/html/index.html"] = NGINX_WELCOME
    proc.fs._parents("/usr/share/nginx/html/index.html")

    def handle(req: HttpRequest) -> HttpResponse:
        path = req.path.split("?")[0]
        target = "/usr/share/nginx/html" + (path + "index.html" if path.endswith("/") else path)
        try:
            resp = HttpResponse(200, proc.fs.read(target), content_type="text/html")
        except OSError:
            resp = HttpResponse(404, NGINX_404, content_type="text/html")
        proc.write(f'{req.client_ip} - - [{_stamp(proc)}] "{req.method} {req.path} HTTP/1.1" {resp.status} '
                   f'{len(resp.body)} "-" "{req.headers.get("User-Agent", "-")}" "-"\n')
        return resp

    proc.listen(proc.image.port or 80, handle)
    proc.write("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration\n"
               "/docker-entrypoint.sh: Configuration complete; ready for start up\n"
               f"{datetime.fromtimestamp(proc.clock.now(), tz=timezone.utc):%Y/%m/%d %H:%M:%S} [notice] 1#1: "
               "start worker processes\n")


def _httpd(proc: Process, argv: list[str]) -> None:
    def handle(req: HttpRequest) -> HttpResponse:
        ok = req.path.split("?")[0] in ("/", "/index.html")
        resp = HttpResponse(200, "<html><body><h1>It works!</h1></body></html>\n") if ok else \
            HttpResponse(404, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                              "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
                              "<p>The requested URL was not found on this server.</p>\n</body></html>\n")
        proc.write(f'{req.client_ip} - - [{_stamp(proc)}] "{req.method} {req.path} HTTP/1.1" {resp.status} '
                   f"{len(resp.body)}\n")
        return resp

    proc.listen(proc.image.port or 80, handle)
    proc.write("AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
               f"using {proc.sandbox.ip}. Set the 'ServerName' directive globally to suppress this message\n")


def _idle(proc: Process, argv: list[str]) -> None:
    """Any other server: it logs that it is ready and listens (plain TCP) on its port."""
    for line in proc.image.startup_log:
        proc.write(line + "\n")
    if proc.image.port:
        proc.listen(proc.image.port, None)


def _http_status(proc: Process, argv: list[str]) -> None:
    """A server (the Selenium hub) whose HTTP endpoints answer 200 once it listens."""
    def handle(req: HttpRequest) -> HttpResponse:
        return HttpResponse(200, '{"value": {"ready": true, "message": "Selenium Grid ready."}}\n',
                            content_type="application/json")

    proc.listen(proc.image.port or 80, handle)


_BYTES = {"": 1, "B": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}


def _stress(proc: Process, argv: list[str]) -> None:
    """stress (polinux/stress: ``--vm N --vm-bytes 150M``) and vish/stress (``-mem-total``,
    ``-cpus``): it allocates that much memory and keeps it; above the container's memory
    limit the kernel's OOM killer ends it (exit 137, OOMKilled), as the docs' example shows."""
    want = _flag(argv, "vm-bytes", "") or _flag(argv, "mem-total", "")
    m = re.fullmatch(r"(\d+)([BKMG]?)i?", want.strip(), re.IGNORECASE) if want else None
    size = int(m.group(1)) * _BYTES[m.group(2).upper()] if m else 0
    if proc.image.entrypoint[:1] == ["/stress"]:
        proc.write(f"I0101 00:00:00.000000       1 main.go:26] Allocating \"{want or '0'}\" memory, in "
                   "\"4Ki\" chunks, with a 1ms sleep between allocations\n")
    else:
        workers = _flag(argv, "vm", "0")
        proc.write(f"stress: info: [1] dispatching hogs: 0 cpu, 0 io, {workers} vm, 0 hdd\n")
    if size and proc.spec.memory_limit is not None and size > proc.spec.memory_limit:
        def oom() -> None:
            if proc.exit_code is None:
                proc.oom_killed = True
                proc.exit(137)

        proc.clock.call_later(1.0, oom, True)


def _needs_env(proc: Process, argv: list[str]) -> None:
    """Databases that refuse to initialise without a password variable."""
    if not any(proc.env.get(name) for name in proc.image.requires_env):
        proc.write(proc.image.startup_error)
        proc._exit_soon(1)
        return
    _idle(proc, argv)


def _go_404() -> HttpResponse:
    """Go's net/http answer to a path nobody handles."""
    return HttpResponse(404, "404 page not found\n")


def _flag(argv: list[str], name: str, default: str) -> str:
    """A Go ``--name=value`` / ``--name value`` flag of ``argv``."""
    for i, arg in enumerate(argv):
        for prefix in (f"--{name}=", f"-{name}="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
        if arg in (f"--{name}", f"-{name}") and i + 1 < len(argv):
            return argv[i + 1]
    return default


def _agnhost(proc: Process, argv: list[str]) -> None:
    """registry.k8s.io/e2e-test-images/agnhost: one test binary, a subcommand per server. Only
    those the Kubernetes docs use: liveness, netexec, serve-hostname, pause."""
    sub = argv[1] if len(argv) > 1 else "pause"
    started = proc.clock.now()

    if sub == "liveness":  # /healthz is 200 for 10 s after the start, then 500
        def liveness(req: HttpRequest) -> HttpResponse:
            path = req.path.split("?")[0]
            if path == "/healthz":
                elapsed = proc.clock.now() - started
                return HttpResponse(500, f"error: {elapsed:.9f}") if elapsed > 10 else HttpResponse(200, "ok")
            if path == "/redirect":
                return HttpResponse(302, "", reason="Found")
            return _go_404()

        proc.listen(8080, liveness)
    elif sub == "netexec":
        port = _flag(argv, "http-port", "8080")
        if not port.isdigit():
            proc.emit(STDERR, f'Error: invalid argument "{port}" for "--http-port" flag: strconv.ParseInt: '
                              f'parsing "{port}": invalid syntax\n')
            proc._exit_soon(1)
            return

        def netexec(req: HttpRequest) -> HttpResponse:
            path, _, query = req.path.partition("?")
            params = dict(urllib.parse.parse_qsl(query))
            if path == "/":
                stamp = datetime.fromtimestamp(proc.clock.now(), tz=timezone.utc)
                return HttpResponse(200, f"NOW: {stamp:%Y-%m-%d %H:%M:%S.%f}000 +0000 UTC "
                                         f"m=+{proc.clock.now() - started:.9f}")
            if path == "/echo":
                return HttpResponse(200, params.get("msg", ""))
            if path in ("/hostname", "/hostName"):
                return HttpResponse(200, proc.hostname)
            if path == "/clientip":
                return HttpResponse(200, f"{req.client_ip}:{40000 + len(req.path)}")
            if path == "/healthz":
                return HttpResponse(200, "")
            return _go_404()

        proc.listen(int(port), netexec)
        proc.write(f"Started HTTP server on port {port}\n")
        proc.write(f"Started UDP server on port  {_flag(argv, 'udp-port', '8081')}\n")
    elif sub == "serve-hostname":
        port = int(_flag(argv, "port", "9376")) if _flag(argv, "port", "9376").isdigit() else 9376
        proc.listen(port, lambda req: HttpResponse(200, proc.hostname))
        proc.write(f"Serving on port {port}.\n")
    elif sub == "pause":
        proc.write("Paused\n")
    else:
        proc.emit(STDERR, f'Error: unknown command "{sub}" for "agnhost"\nRun \'agnhost --help\' for usage.\n')
        proc._exit_soon(1)


def _hello_app(proc: Process, argv: list[str]) -> None:
    """gcr.io/google-samples/hello-app: greets with its version (the tag) and hostname."""
    port = proc.env.get("PORT", "8080")
    version = {"1.0": "1.0.0", "2.0": "2.0.0"}.get(proc.spec.ref.tag, proc.spec.ref.tag)

    def hello(req: HttpRequest) -> HttpResponse:
        proc.emit(STDERR, f"{datetime.fromtimestamp(proc.clock.now(), tz=timezone.utc):%Y/%m/%d %H:%M:%S} "
                          f"Serving request: {req.path.split('?')[0]}\n")
        return HttpResponse(200, f"Hello, world!\nVersion: {version}\nHostname: {proc.hostname}\n")

    proc.listen(int(port) if port.isdigit() else 8080, hello)
    proc.emit(STDERR, f"{datetime.fromtimestamp(proc.clock.now(), tz=timezone.utc):%Y/%m/%d %H:%M:%S} "
                      f"Server listening on port {port}\n")


def _php_apache(proc: Process, argv: list[str]) -> None:
    """registry.k8s.io/hpa-example: Apache with an index.php that burns CPU, then says OK!"""
    def handle(req: HttpRequest) -> HttpResponse:
        proc.write(f'{req.client_ip} - - [{_stamp(proc)}] "{req.method} {req.path} HTTP/1.1" 200 3\n')
        return HttpResponse(200, "OK!")

    proc.listen(80, handle)


GUESTBOOK = """<html ng-app="redis">
  <head>
    <title>Guestbook</title>
  </head>
  <body>
    <h2>Guestbook</h2>
  </body>
</html>
"""


def _guestbook(proc: Process, argv: list[str]) -> None:
    """The guestbook's PHP frontend: its page on port 80 (the Redis calls are not simulated)."""
    proc.listen(80, lambda req: HttpResponse(200, GUESTBOOK, content_type="text/html")
                if req.path.split("?")[0] in ("/", "/index.html") else HttpResponse(404, "Not Found"))


def _file_server(proc: Process, argv: list[str]) -> None:
    """registry.k8s.io/test-webserver: serves the container's files on port 80 (Go's FileServer)."""
    def handle(req: HttpRequest) -> HttpResponse:
        path = urllib.parse.unquote(req.path.split("?")[0]) or "/"
        try:
            return HttpResponse(200, proc.fs.read(path))
        except OSError:
            names = proc.fs.listdir(path) if path.endswith("/") else []
            if names:
                return HttpResponse(200, "<pre>\n" + "".join(f'<a href="{n}">{n}</a>\n' for n in sorted(names))
                                    + "</pre>\n", content_type="text/html; charset=utf-8")
            return _go_404()

    proc.listen(80, handle)


def _pi_digits(n: int) -> str:
    """pi to ``n`` significant digits, rounded (Math::BigFloat's bpi)."""
    extra = 10
    scale = 10 ** (n + extra)

    def arctan_inv(x: int) -> int:
        total, term, k, sign = 0, scale // x, 1, 1
        while term:
            total += sign * (term // k)
            term //= x * x
            k += 2
            sign = -sign
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))  # Machin's formula, scaled
    digits = str((pi + 5 * 10 ** extra) // 10 ** (extra + 1))  # n digits: "3" and n - 1 decimals
    return digits[0] + "." + digits[1:]


def _perl(proc: Process, argv: list[str]) -> None:
    """perl: what the docs' Job runs (``perl -Mbignum=bpi -wle 'print bpi(2000)'``); any other
    script prints nothing and succeeds."""
    script = argv[-1] if len(argv) > 1 else ""
    m = re.fullmatch(r"\s*print\s+bpi\((\d+)\)\s*;?\s*", script)
    if m and any(a.startswith("-Mbignum") for a in argv):
        proc.write(_pi_digits(max(1, min(int(m.group(1)), 100_000))) + "\n")
    proc._exit_soon(0)


BEHAVIOURS: dict[str, Callable[[Process, list[str]], None]] = {
    "http-echo": _http_echo, "text-echo": _text_echo, "nginx": _nginx, "httpd": _httpd,
    "idle": _idle, "needs-env": _needs_env, "agnhost": _agnhost, "hello-app": _hello_app,
    "php-apache": _php_apache, "guestbook": _guestbook, "file-server": _file_server, "perl": _perl,
    "http-status": _http_status, "stress": _stress,
}


class Runtime:
    """Creates containers from the catalog's images on the cluster clock."""

    def __init__(self, clock: Clock, network: Network, catalog: Catalog) -> None:
        self.clock = clock
        self.network = network
        self.catalog = catalog
        self._ids = 0

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def create(self, sandbox: Sandbox, spec: Spec, hostname: str,
               on_exit: Callable[[Process], None]) -> Process:
        proc = Process(self, sandbox, spec, hostname, on_exit)
        proc.check()
        return proc
