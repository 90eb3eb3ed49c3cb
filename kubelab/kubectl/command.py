"""kubectl's command framework: the registry, the per-run Context, and kubectl's error texts.

A command is a function ``fn(ctx, args) -> exit code`` registered with :func:`command`
under its words (``"get"``, ``"create deployment"``, ``"rollout status"``) and its flags.
The dispatcher finds the command words in argv the way cobra does, parses flags (global ones
anywhere), and turns the exceptions a command raises into what kubectl prints:
:class:`KubectlError` for kubectl's own messages, ``StatusError`` for the server's.
"""
from __future__ import annotations

import io
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.client import Client
from kubelab.kubectl import flags as fl
from kubelab.kubectl import usage

if TYPE_CHECKING:
    from kubelab.engine.session import Session as Stream

# The commands that take over a terminal with -i -t (kubectl puts it in raw mode).
INTERACTIVE = ("run", "exec", "attach")


@dataclass(frozen=True)
class Table:
    """One table kubectl printed (``get``): its header and rows, cell for cell as printed."""

    kind: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Touched:
    """An object a command changed on the server: ``verb`` is kubectl's word for it
    (``created``, ``configured``, ``unchanged``, ``deleted``...). Dry runs touch nothing."""

    kind: str
    namespace: str | None  # None for a cluster-scoped object
    name: str
    verb: str


@dataclass
class Result:
    """What one kubectl invocation printed and how it exited, with the structure behind the
    text (so the notebook never re-parses it): the tables printed, the objects touched, and the
    namespace the command ran in."""

    returncode: int
    stdout: str
    stderr: str
    tables: list[Table] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    namespace: str = ""
    notices: list[str] = field(default_factory=list)  # stderr lines that inform, not fail ("No resources found")


@dataclass
class Session:
    """kubeconfig-like state that outlives one command, one per cluster client: the current
    context's namespace (``kubectl config set-context --current --namespace=X`` sets it)."""

    namespace: str = "default"
    context: str = "kubelab"
    cluster: str = "kubelab"
    user: str = "kubelab"
    data: dict[str, Any] = field(default_factory=dict)  # room for other commands' settings


_SESSIONS: "weakref.WeakKeyDictionary[Any, Session]" = weakref.WeakKeyDictionary()


def session_for(client: Client) -> Session:
    """The Session kept for ``client`` (created on first use)."""
    session = _SESSIONS.get(client)
    if session is None:
        session = _SESSIONS[client] = Session()
    return session


# kubectl's usage text when a command that acts on resources is given none.
NO_RESOURCES = ("You must provide one or more resources by argument or filename.\n"
                "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                "   '<resource> <name>'\n   '<resource>'")


class KubectlError(Exception):
    """End the command: ``text`` goes to stderr as is (a newline is added), exit ``code``.
    Use :func:`error` for kubectl's usual ``error: ...`` lines."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def error(message: str, code: int = 1) -> KubectlError:
    """kubectl's ``error: <message>`` (cmdutil.CheckErr for a plain error)."""
    return KubectlError(message if message.startswith("error: ") else f"error: {message}", code)


@dataclass
class Spec:
    """A registered command."""

    path: str
    fn: Callable[["Context", list[str]], int] | None
    flags: tuple[fl.Flag, ...]
    short: str = ""
    required: tuple[str, ...] = ()  # flags cobra insists on (MarkFlagRequired)


COMMANDS: dict[str, Spec] = {}


def command(path: str, *flags: fl.Flag, short: str = "",
            required: tuple[str, ...] = ()) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Register ``fn(ctx, args) -> int`` as ``kubectl <path>`` with ``flags`` (global flags are
    always added). ``args`` are the positional arguments after the command words; ``required``
    names flags that must be typed (checked before ``fn`` runs, with cobra's error)."""

    def register(fn: Callable[..., int]) -> Callable[..., int]:
        COMMANDS[path] = Spec(path, fn, tuple(flags), short, required)
        return fn

    return register


def group(path: str, short: str = "") -> None:
    """Register a parent command that only has subcommands (``rollout``, ``config``)."""
    COMMANDS.setdefault(path, Spec(path, None, (), short))


class Terminal(Protocol):
    """The terminal kubectl runs in when a person types into it (the notebook's in-cell
    terminal): what kubectl prints appears on it as it is printed, and an interactive stream
    (``run -it``, ``exec -it``, ``attach -it``) is connected to it until the process ends."""

    @property
    def closed(self) -> bool:
        """The terminal went away (a real kubectl gets SIGHUP and stops)."""
        ...
    def write(self, text: str) -> None:
        """kubectl's own output, stdout and stderr alike (a terminal shows both)."""
    def connect(self, stream: "Stream") -> None:
        """Keystrokes to ``stream``, its output to the screen, and the window size to it (what
        kubectl does with a raw-mode terminal)."""


class _Echo(io.StringIO):
    """A command's stdout or stderr that also shows on the terminal as it is written, with
    the tty's newline translation (onlcr)."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__()
        self.terminal = terminal

    def write(self, text: str) -> int:
        self.terminal.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))
        return super().write(text)


class Context:
    """Everything a command needs: the client, the session, parsed flags, stdin, writers, and
    the terminal when kubectl runs in one."""

    def __init__(self, client: Client, session: Session, path: str, flags: fl.Flags,
                 stdin: str | None, terminal: Terminal | None = None) -> None:
        self.client = client
        self.session = session
        self.path = path
        self.flags = flags
        self.stdin = stdin
        self.terminal = terminal
        self.out: io.StringIO = io.StringIO() if terminal is None else _Echo(terminal)
        self.err: io.StringIO = io.StringIO() if terminal is None else _Echo(terminal)
        self.tables: list[Table] = []
        self.touched: list[Touched] = []
        self.notices: list[str] = []

    def touch(self, obj: Obj, verb: str) -> None:
        """Record that this command ``verb``-ed ``obj`` (for :attr:`Result.touched`)."""
        meta = obj.get("metadata") or {}
        self.touched.append(Touched(obj.get("kind", ""), meta.get("namespace"), meta.get("name", ""), verb))

    @property
    def interactive(self) -> bool:
        """Whether this command's stream takes the terminal (``-i -t`` in a terminal)."""
        return self.terminal is not None and bool(self.flags.get("stdin")) and bool(self.flags.get("tty"))

    # -- namespace ----------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        """``-n`` when given, else the current context's namespace."""
        return self.flags.get("namespace") or self.session.namespace

    @property
    def explicit_namespace(self) -> bool:
        """Whether ``-n`` was typed (objects in files must then agree with it)."""
        return bool(self.flags.get("namespace"))

    # -- output -------------------------------------------------------------------------
    def print(self, text: str = "") -> None:
        """A line on stdout."""
        self.out.write(text + "\n")

    def eprint(self, text: str = "") -> None:
        """A line on stderr."""
        self.err.write(text + "\n")

    def notice(self, text: str) -> None:
        """A line on stderr that informs rather than reports a failure (``No resources found in
        default namespace.``), recorded as such in :attr:`Result.notices`."""
        self.notices.append(text)
        self.eprint(text)

    def warnings(self, obj: Obj | None) -> Obj | None:
        """Print the server's warnings carried on a returned object (``Warning: ...``) and
        return the object without them."""
        if isinstance(obj, dict) and "__warnings__" in obj:
            obj = dict(obj)
            for text in obj.pop("__warnings__"):
                self.eprint(f"Warning: {text}")
        return obj

    # -- helpers for flags shared by many commands ---------------------------------------
    def dry_run(self) -> str:
        """``none``, ``client`` or ``server`` from ``--dry-run``, with kubectl's errors."""
        value = self.flags.get("dry-run")
        if value == "unchanged":  # a bare --dry-run: deprecated, means client
            return "client"
        if value in ("client", "server", "none"):
            return value
        if value in ("", "false"):
            return "none"
        if value == "true":
            return "client"
        raise error(f'Invalid dry-run value ({value}). Must be "none", "server", or "client".')

    def usage_error(self, message: str) -> KubectlError:
        """kubectl's UsageErrorf: ``error: msg`` + ``See 'kubectl get -h' for help and examples``."""
        message = message[len("error: "):] if message.startswith("error: ") else message
        return KubectlError(f"error: {message}\nSee 'kubectl {usage.canonical(self.path)} -h' for help and examples")

    def field_manager(self, default: str) -> str:
        """Who this command's writes name in managedFields: ``--field-manager`` where the
        command has it, else the name kubectl 1.32 sends (``kubectl-label``...)."""
        return self.flags.values.get("field-manager") or default

    def now(self) -> float:
        return self.client.now()


# -- kubectl's error texts (cmdutil.CheckErr) --------------------------------------------
def split_type_name(arg: str) -> tuple[str, str]:
    """The resource builder's splitResourceTypeName: ``TYPE/NAME``, one slash, one type."""
    parts = arg.split("/")
    if len(parts) != 2:
        raise error("arguments in resource/name form may not have more than one slash")
    word, name = parts
    if not word or not name or len(set(word.split(","))) != 1:
        raise error("arguments in resource/name form must have a single resource and name")
    return word, name


def with_source(err: StatusError, verb: str, source: str) -> StatusError:
    """cmdutil.AddSourceToErr: ``error when creating "x.yaml": <server message>``."""
    if not source:
        return err
    return StatusError(err.code, err.reason, f'error when {verb} "{source}": {err.message}', err.kind,
                       err.name, err.group, list(err.causes))


def standard_message(err: BaseException) -> str:
    """One error as kubectl prints it inside a list of errors (StandardErrorMessage)."""
    if isinstance(err, StatusError):
        return f"Error from server ({err.reason}): {err.message}" if err.reason else f"Error from server: {err.message}"
    if isinstance(err, KubectlError):
        return err.text
    text = str(err)
    return text if text.startswith("error: ") else f"error: {text}"


def format_error(err: BaseException) -> str:
    """The whole stderr text kubectl prints for an error ending a command."""
    if isinstance(err, StatusError) and err.reason == "Invalid":
        if not err.kind and not err.name:
            return "The request is invalid" + (f": {err.message}" if err.message and not err.causes else "")
        head = f'The {err.kind} "{err.name}" is invalid'
        seen: list[str] = []
        for c in err.causes:
            msg = f"{c.field}: {c.message}"
            if msg not in seen:
                seen.append(msg)
        if not seen:
            return head
        if len(seen) == 1:
            return f"{head}: {seen[0]}"
        return f"{head}: \n" + "\n".join(f"* {m}" for m in seen)
    return standard_message(err)


def format_errors(errs: list[BaseException]) -> str:
    """A command that collected several errors (apply/create/delete -f): one alone prints as
    :func:`format_error`, several as one line each."""
    if len(errs) == 1:
        return format_error(errs[0])
    return "\n".join(_in_list(e).rstrip("\n") for e in errs)


def _in_list(err: BaseException) -> str:
    """kubectl's MultipleErrors: server errors as usual, its own errors without ``error: ``."""
    text = standard_message(err)
    return text[len("error: "):] if not isinstance(err, StatusError) and text.startswith("error: ") else text


# -- dispatch -----------------------------------------------------------------------------
# kubectl 1.32's top-level commands in registration order: cobra suggests from this list.
KUBECTL_COMMANDS = (
    "create", "expose", "run", "set", "explain", "get", "edit", "delete", "rollout", "scale",
    "autoscale", "certificate", "cluster-info", "top", "cordon", "uncordon", "drain", "taint",
    "describe", "logs", "attach", "exec", "port-forward", "proxy", "cp", "auth", "debug", "events",
    "diff", "apply", "patch", "replace", "wait", "kustomize", "label", "annotate", "completion",
    "config", "plugin", "version", "api-versions", "api-resources", "options",
)


def _flag_error(path: str, err: fl.FlagError) -> Result:
    """pflag's error as kubectl prints it (through cmdutil.CheckErr), naming the command by its
    canonical words."""
    where = f"kubectl {usage.canonical(path)}" if path else "kubectl"
    return Result(1, "", f"error: {err}\nSee '{where} --help' for usage.\n")


def _distance(a: str, b: str) -> int:
    a, b = a.lower(), b.lower()
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def suggestions(word: str) -> list[str]:
    """cobra's "Did you mean this?": within 2 edits, or starting with what was typed."""
    return [c for c in KUBECTL_COMMANDS if _distance(word, c) <= 2 or c.lower().startswith(word.lower())]


def _load_commands() -> None:
    """Import every module of this package so their ``@command`` registrations run."""
    import importlib
    import pkgutil

    import kubelab.kubectl as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("command", "flags", "manifests", "printers"):
            importlib.import_module(f"kubelab.kubectl.{info.name}")


def _find(argv: list[str]) -> tuple[list[str], list[str]]:
    """cobra's Find: the command words (skipping flags and their values) and the rest."""
    known = {f"--{f.name}": f for spec in COMMANDS.values() for f in spec.flags}
    known.update({f"--{f.name}": f for f in fl.GLOBAL_FLAGS})
    shorts = {f"-{f.short}": f for spec in COMMANDS.values() for f in spec.flags if f.short}
    shorts.update({f"-{f.short}": f for f in fl.GLOBAL_FLAGS if f.short})
    words: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            rest.extend(argv[i - 1:])
            break
        if word.startswith("-") and word != "-":
            rest.append(word)
            flag = known.get(word) if word.startswith("--") else shorts.get(word)
            if flag is not None and flag.takes_value and i < len(argv):
                rest.append(argv[i])
                i += 1
            continue
        if " ".join([*words, word]) in COMMANDS:
            words.append(word)
            continue
        # the first word that is not a (sub)command: it and everything after are arguments
        rest.extend(argv[i - 1:])
        break
    return words, rest


def run(client: Client, argv: list[str], stdin: str | None = None, terminal: Terminal | None = None) -> Result:
    """Run one kubectl command line against ``client``; with a ``terminal``, as if typed in it
    (what it prints shows there too, and ``-it`` streams connect to it)."""
    _load_commands()
    session = session_for(client)
    words, rest = _find(list(argv))
    if not words:
        return _no_command(argv, rest)
    path = " ".join(words)
    spec = COMMANDS[path]
    if spec.fn is None:
        return _group_without_subcommand(spec, rest)
    try:
        flags, args = fl.parse(rest, [*spec.flags, *fl.GLOBAL_FLAGS, fl.HELP])
    except fl.FlagError as e:
        return _flag_error(path, e)
    if flags.get("help") and fl.HELP not in spec.flags:  # (a command declaring -h prints its own)
        return Result(0, usage.help_text(path), "")
    missing = [name for name in sorted(spec.required) if not flags.changed(name)]
    if missing:
        names = ", ".join(f'"{name}"' for name in missing)
        return Result(1, "", f"error: required flag(s) {names} not set\n")
    ctx = Context(client, session, path, flags, stdin, terminal)
    try:
        code = spec.fn(ctx, args)
    except KubectlError as e:
        ctx.err.write(e.text if e.text.endswith("\n") or not e.text else e.text + "\n")
        code = e.code
    except StatusError as e:
        text = format_error(e)
        ctx.err.write(text if text.endswith("\n") else text + "\n")
        code = 1
    return Result(code, ctx.out.getvalue(), ctx.err.getvalue(), ctx.tables, ctx.touched, ctx.namespace,
                  ctx.notices)


def wants_terminal(argv: list[str]) -> bool:
    """Whether this command line would take over a terminal: ``run``, ``exec`` or ``attach``
    with ``-i`` and ``-t`` (its flags parsed as the command parses them; a line that does
    not parse does not)."""
    _load_commands()
    words, rest = _find(list(argv))
    if not words or words[0] not in INTERACTIVE or COMMANDS[" ".join(words)].fn is None:
        return False
    try:
        flags, _ = fl.parse(rest, [*COMMANDS[" ".join(words)].flags, *fl.GLOBAL_FLAGS, fl.HELP])
    except fl.FlagError:
        return False
    return bool(flags.get("stdin")) and bool(flags.get("tty")) and not flags.get("help")


def _no_command(argv: list[str], rest: list[str]) -> Result:
    """No registered command: kubectl's help, a flag error, or cobra's unknown command."""
    try:
        flags, args = fl.parse(rest, [*fl.GLOBAL_FLAGS, fl.HELP])
    except fl.FlagError as e:
        return _flag_error("", e)
    if not args or flags.get("help"):
        return Result(0, usage.root_help(), "")
    word = args[0]
    if word == "help":
        return _help(args[1:])
    if argv and argv[0].startswith("-") and word in KUBECTL_COMMANDS:
        return Result(1, "", f"Error: flags cannot be placed before plugin name: {argv[0]}\n")
    if word in KUBECTL_COMMANDS:
        return Result(1, "", f'error: kubelab does not implement "kubectl {word}"\n')
    text = f'error: unknown command "{word}" for "kubectl"\n'
    found = suggestions(word)
    if found:
        text += "\nDid you mean this?\n" + "".join(f"\t{s}\n" for s in found)
    return Result(1, "", text)


def _help(topic: list[str]) -> Result:
    """``kubectl help [command...]``: that command's help, or cobra's unknown topic."""
    words, _ = _find(topic)
    if words:
        return Result(0, usage.help_text(" ".join(words)), "")
    if topic and topic[0] not in KUBECTL_COMMANDS:
        return Result(0, "", f"Unknown help topic [`{topic[0]}`]\n\n\n" + usage.root_usage())
    return Result(0, usage.root_help(), "")


# kubectl prints a command group's help on stderr when no subcommand is typed, except rollout's
GROUP_HELP_ON_STDOUT = ("rollout",)


def _group_without_subcommand(spec: Spec, rest: list[str]) -> Result:
    try:
        flags, args = fl.parse(rest, [*fl.GLOBAL_FLAGS, fl.HELP])
    except fl.FlagError as e:
        return _flag_error(spec.path, e)
    if flags.get("help"):
        return Result(0, usage.help_text(spec.path), "")
    if args:
        return Result(1, "", f'error: unknown command "{args[0]}"\n'
                             f"See 'kubectl {usage.canonical(spec.path)} -h' for help and examples\n")
    text = usage.help_text(spec.path)
    if spec.path in GROUP_HELP_ON_STDOUT:
        return Result(1, text, "")
    return Result(1, "", text)


def flag_set(*groups: Iterable[fl.Flag] | fl.Flag) -> tuple[fl.Flag, ...]:
    """Flatten flags and groups of flags for :func:`command`."""
    out: list[fl.Flag] = []
    for g in groups:
        out.extend([g] if isinstance(g, fl.Flag) else g)
    return tuple(out)
