"""A small busybox-like shell: what ``sh -c "..."``, ``kubectl exec`` and ``kubectl run -it``
run inside simulated containers.

Scripts run as generators that yield the seconds they sleep, so a container's main process
(``sh -c "echo start; sleep 10; exit 1"``) moves with the cluster clock, while ``exec`` runs
to the end at once. It knows the applets a learner types in a Kubernetes tutorial: ``wget``,
``nslookup``, ``env``, ``cat``, ``ls``, ``hostname``, ``sleep``, ``echo``, loops and
``&&``/``||``/``;``/``|``, ``$VAR`` and ``$(cmd)``.
"""
from __future__ import annotations

import errno
import io as io_module
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Generator, Iterable, Protocol

from kubelab.engine import arith

# A script step: yields seconds to sleep (and whether the sleep sits in a loop), returns status.
Run = Generator["Sleep", None, int]


@dataclass
class Sleep:
    seconds: float
    in_loop: bool


class ShellExit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class LoopJump(Exception):
    """``break`` / ``continue``: unwinds to the innermost loop."""

    def __init__(self, again: bool) -> None:
        self.again = again


class FileSystem(Protocol):
    def read(self, path: str) -> str: ...
    def write(self, path: str, text: str, append: bool = False) -> None: ...
    def listdir(self, path: str) -> list[str]: ...
    def isdir(self, path: str) -> bool: ...
    def exists(self, path: str) -> bool: ...
    def remove(self, path: str) -> None: ...
    def rmdir(self, path: str) -> None: ...
    def mkdir(self, path: str) -> None: ...


class Host(Protocol):
    """What a shell needs from the container it runs in."""

    fs: FileSystem
    hostname: str
    flavour: str  # "busybox" or "bash"
    identity: tuple[int, int, tuple[int, ...]]  # uid, gid, supplementary groups (root: 0, 0, ())

    def now(self) -> float: ...
    def has_program(self, name: str) -> bool: ...
    def serves(self, argv: list[str]) -> bool: ...  # a command of the image that is a server (ncat --listen)
    def http_get(self, url: str, user_agent: str, headers: dict[str, str] | None = None) -> Any: ...  # network.Fetch
    def dns_lookup(self, name: str) -> Any: ...  # network.Answer, None for NXDOMAIN
    def dns_server(self) -> str: ...
    def dns_timeout(self) -> float | None: ...  # seconds a query waits when NetworkPolicy drops it, else None


BUSYBOX_APPLETS = frozenset("""sh ash cat cd date echo env exit export false grep head hostname id ls mkdir
nslookup printenv printf pwd rm sleep tail tar test [ [[ touch true uname unset wc wget whoami ps kill : yes
cp rev break continue set exec""".split())
BASH_BUILTINS = frozenset("""sh bash cat cd date echo env exit export false grep head hostname id ls mkdir
printenv printf pwd rm sleep tail tar test [ [[ touch true uname unset wc whoami : yes cp rev break
continue set exec""".split())
# How often ``tail -f`` looks at its file again (busybox's tail sleeps 1 s between reads).
TAIL_POLL_SECONDS = 1.0
# Lines ``yes`` prints between two looks at the clock (a flood, bounded per step).
YES_BATCH = 100
KEYWORDS = frozenset({"while", "until", "do", "done", "for", "in", "if", "then", "elif", "else", "fi"})
OPS = ("&&", "||", ";;", "2>&1", "1>&2", ">&2", "2>>", "1>>", ">>", "2>", "1>", ";", "|", ">", "<", "&", "\n")
# fd 1 written out is the same as no fd
_SAME_OP = {"1>": ">", "1>>": ">>", "1>&2": ">&2"}


# -- tokens --------------------------------------------------------------------------------
# A word is a list of parts: ("lit", text) from single quotes, ("dq", text) from double
# quotes, ("bare", text) unquoted, ("cmd", source) for $(...) ("qcmd" inside double quotes: not
# split), ("arith", expr) for $((...)). Expansion happens at run time.
Word = list[tuple[str, str]]


class ParseError(Exception):
    pass


def tokenize(text: str) -> list[Any]:
    tokens: list[Any] = []
    i, n = 0, len(text)
    word: Word = []

    def flush() -> None:
        nonlocal word
        if word:
            tokens.append(word)
            word = []

    while i < n:
        ch = text[i]
        if ch in " \t":
            flush()
            i += 1
        elif ch == "#" and not word:
            while i < n and text[i] != "\n":
                i += 1
        elif ch == "\\" and i + 1 < n:
            if text[i + 1] != "\n":
                word.append(("lit", text[i + 1]))
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ParseError("unterminated quoted string")
            word.append(("lit", text[i + 1:end]))
            i = end + 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":  # a line continuation
                    j += 2
                    continue
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`':
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if text[j] == "`":  # "`cmd`": as "$(cmd)"
                    end = text.find("`", j + 1)
                    if end < 0:
                        raise ParseError("unterminated quoted string")
                    if buf:
                        word.append(("dq", "".join(buf)))
                        buf = []
                    word.append(("qcmd", text[j + 1:end]))
                    j = end + 1
                    continue
                if text.startswith("$(", j):  # "$(cmd)" and "$((expr))": expanded, not split
                    if buf:
                        word.append(("dq", "".join(buf)))
                        buf = []
                    (kind, source), j = _substitution(text, j)
                    word.append(("qcmd" if kind == "cmd" else kind, source))
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ParseError("unterminated quoted string")
            if buf or not word or word[-1][0] not in ("qcmd", "arith"):
                word.append(("dq", "".join(buf)))
            i = j + 1
        elif text.startswith("$(", i):
            part, i = _substitution(text, i)
            word.append(part)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ParseError("unterminated quoted string")
            word.append(("cmd", text[i + 1:end]))
            i = end + 1
        else:
            op = next((o for o in OPS if text.startswith(o, i)), None)
            if op is not None and not (op[0] in "12" and word):
                flush()
                tokens.append(_SAME_OP.get(op, op))
                i += len(op)
            else:
                if word and word[-1][0] == "bare":
                    word[-1] = ("bare", word[-1][1] + ch)
                else:
                    word.append(("bare", ch))
                i += 1
    flush()
    return tokens


def _substitution(text: str, i: int) -> tuple[tuple[str, str], int]:
    """``$((expr))`` -> ("arith", expr) or ``$(cmd)`` -> ("cmd", cmd) at ``text[i]``, and
    where it ends. ``$((a) | b)`` is a command substitution of a subshell, as in ash."""
    if text.startswith("$((", i):
        depth, j = 0, i + 3
        while j < len(text):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                if depth == 0:
                    if text.startswith("))", j):
                        return ("arith", text[i + 3:j]), j + 2
                    break
                depth -= 1
            j += 1
    depth, j = 1, i + 2
    while j < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        j += 1
    if depth:
        raise ParseError("unterminated $(")
    return ("cmd", text[i + 2:j - 1]), j


def _literal(tok: Any) -> str | None:
    """The text of an unquoted plain word (keywords are only recognised there)."""
    if isinstance(tok, list) and all(kind == "bare" for kind, _ in tok):
        return "".join(t for _, t in tok)
    return None


# -- parser --------------------------------------------------------------------------------
class Parser:
    def __init__(self, tokens: list[Any]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> Any:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> Any:
        tok = self.peek()
        self.pos += 1
        return tok

    def expect(self, word: str) -> None:
        self.skip_newlines()
        tok = self.take()
        if _literal(tok) != word:
            found = _literal(tok) or (tok if isinstance(tok, str) else "end of file")
            raise ParseError(f"syntax error: unexpected {found!r}" if tok is not None
                             else "syntax error: unexpected end of file")

    def skip_newlines(self) -> None:
        while self.peek() in ("\n", ";"):
            self.pos += 1

    def parse_list(self, stop: Iterable[str] = ()) -> list[Any]:
        """``a && b || c; d`` as [(pipeline, connector-before)]."""
        items: list[Any] = []
        connector = ";"
        stop = set(stop)
        while True:
            self.skip_newlines() if connector == ";" else None
            tok = self.peek()
            if tok is None or _literal(tok) in stop:
                return items
            if tok in ("&&", "||", "|", ";;"):
                raise ParseError(f"syntax error: unexpected {tok!r}")
            items.append((connector, self.parse_pipeline()))
            tok = self.peek()
            if tok in ("&&", "||"):
                connector = self.take()
                while self.peek() == "\n":
                    self.pos += 1
            elif tok in (";", "\n", "&"):
                self.take()
                connector = ";"
            elif tok is None or _literal(tok) in stop:
                return items
            else:
                raise ParseError(f"syntax error: unexpected {_literal(tok) or tok!r}")

    def parse_pipeline(self) -> list[Any]:
        cmds = [self.parse_command()]
        while self.peek() == "|":
            self.take()
            cmds.append(self.parse_command())
        return cmds

    def parse_command(self) -> Any:
        word = _literal(self.peek())
        if word in ("while", "until"):
            self.take()
            cond = self.parse_list({"do"})
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return ("while", word == "until", cond, body)
        if word == "for":
            self.take()
            var = _literal(self.take()) or ""
            words: list[Word] = []
            if _literal(self.peek()) == "in":
                self.take()
                while isinstance(self.peek(), list):
                    words.append(self.take())
            self.skip_newlines()
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return ("for", var, words, body)
        if word == "if":
            self.take()
            branches = []
            cond = self.parse_list({"then"})
            self.expect("then")
            body = self.parse_list({"elif", "else", "fi"})
            branches.append((cond, body))
            other: list[Any] = []
            while True:
                w = _literal(self.take())
                if w == "elif":
                    cond = self.parse_list({"then"})
                    self.expect("then")
                    branches.append((cond, self.parse_list({"elif", "else", "fi"})))
                elif w == "else":
                    other = self.parse_list({"fi"})
                    self.expect("fi")
                    break
                elif w == "fi":
                    break
                else:
                    raise ParseError("syntax error: unexpected end of file (expecting \"fi\")")
            return ("if", branches, other)
        words, redirs = [], []
        while True:
            tok = self.peek()
            if isinstance(tok, list):
                words.append(self.take())
            elif tok in (">", ">>", "2>", "2>>", "<"):
                self.take()
                target = self.take()
                if not isinstance(target, list):
                    raise ParseError("syntax error: unexpected redirection")
                redirs.append((tok, target))
            elif tok in ("2>&1", ">&2"):
                self.take()
                redirs.append((tok, []))
            else:
                break
        if not words and not redirs:
            raise ParseError(f"syntax error: unexpected {_literal(tok) or tok or 'end of file'!r}")
        return ("simple", words, redirs)


def parse(text: str) -> list[Any]:
    parser = Parser(tokenize(text))
    tree = parser.parse_list()
    if parser.peek() is not None:
        raise ParseError(f"syntax error: unexpected {_literal(parser.peek()) or parser.peek()!r}")
    return tree


# -- interpreter ---------------------------------------------------------------------------
Writer = Callable[[str], None]


@dataclass
class Streams:
    out: Writer
    err: Writer
    stdin: str = ""


@dataclass
class Shell:
    """One shell session: its variables live as long as it does (``kubectl run -it``)."""

    host: Host
    env: dict[str, str]
    cwd: str = "/"
    status: int = 0
    loop_depth: int = 0
    name: str = field(default="sh")
    exited: bool = False  # `exit` ran: an interactive shell ends after this command
    arrays: dict[str, list[str]] = field(default_factory=dict)  # bash's name=(a b c)
    random: int = 12345  # $RANDOM's generator state (a shell's own sequence, as ash's)

    # entry points ----------------------------------------------------------------------
    def script(self, text: str, io: Streams) -> Run:
        """Run a script; a syntax or arithmetic error is reported like sh does (exit 2)."""
        try:
            tree = parse(text)
        except ParseError as exc:
            io.err(f"{self.name}: {exc}\n")
            return 2
        try:
            return (yield from self.run_list(tree, io))
        except ShellExit as done:
            self.exited = True
            return done.code
        except arith.ArithError as exc:  # ash abandons the script (the line, when interactive)
            io.err(f"{self.name}: {exc}\n")
            self.status = 2
            return 2

    def argv(self, argv: list[str], io: Streams) -> Run:
        """Run a program by its argv, without shell parsing (exec, container command)."""
        try:
            return (yield from self.run_simple([[("lit", a)] for a in argv], [], io))
        except ShellExit as done:
            return done.code

    def run_sync(self, text: str, stdin: str = "") -> tuple[str, str, int]:
        """Run to the end at once (sleeps take no time): for exec and attach."""
        out: list[str] = []
        err: list[str] = []
        code = drain(self.script(text, Streams(out.append, err.append, stdin)))
        return "".join(out), "".join(err), code

    # structure -------------------------------------------------------------------------
    def run_list(self, items: list[Any], io: Streams) -> Run:
        status = self.status
        for connector, pipeline in items:
            if connector == "&&" and status != 0 or connector == "||" and status == 0:
                continue
            status = yield from self.run_pipeline(pipeline, io)
            self.status = status
        return status

    def run_pipeline(self, cmds: list[Any], io: Streams) -> Run:
        stdin = io.stdin
        status = 0
        for i, cmd in enumerate(cmds):
            last = i == len(cmds) - 1
            if last:
                status = yield from self.run_command(cmd, Streams(io.out, io.err, stdin))
            else:
                pipe = _Pipe()
                try:
                    status = yield from self.run_command(cmd, Streams(pipe.write, io.err, stdin))
                except _PipeFull:
                    status = 141  # the reader would have stopped it with SIGPIPE (`yes | head`)
                stdin = pipe.text()
        return status

    def run_command(self, cmd: Any, io: Streams) -> Run:
        kind = cmd[0]
        if kind == "simple":
            return (yield from self.run_simple(cmd[1], cmd[2], io))
        self.loop_depth += kind in ("while", "for")
        try:
            if kind == "while":
                _, until, cond, body = cmd
                status = 0
                while True:
                    ok = (yield from self.run_list(cond, io)) == 0
                    if ok == until:
                        return status
                    try:
                        status = yield from self.run_list(body, io)
                    except LoopJump as jump:
                        if not jump.again:
                            return 0
                    yield Sleep(0, True)  # a loop without sleep still lets time pass fairly
            if kind == "for":
                _, var, words, body = cmd
                status = 0
                for value in [f for w in words for f in self.expand(w)]:
                    self.env[var] = value
                    try:
                        status = yield from self.run_list(body, io)
                    except LoopJump as jump:
                        if not jump.again:
                            return 0
                return status
            _, branches, other = cmd
            for cond, body in branches:
                if (yield from self.run_list(cond, io)) == 0:
                    return (yield from self.run_list(body, io))
            return (yield from self.run_list(other, io)) if other else 0
        finally:
            self.loop_depth -= kind in ("while", "for")

    def run_simple(self, words: list[Word], redirs: list[Any], io: Streams) -> Run:
        first = _literal(words[0]) if words else None
        if first is not None and self.host.flavour == "bash" and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=\(", first):
            return (yield from self.assign_array(words))
        argv = [f for w in words for f in self.expand(w)]
        assigns = []
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            assigns.append(argv.pop(0).split("=", 1))
        if not argv:
            for k, v in assigns:
                self.env[k] = v
            return 0
        out, err, stdin = io.out, io.err, io.stdin
        saved: list[tuple[str, list[str], bool]] = []
        for op, target in redirs:  # in order, as dup2 does: `>f 2>&1` and `2>&1 >f` differ
            if op == "2>&1":
                err = out
                continue
            if op == ">&2":
                out = err
                continue
            path = self.path("".join(self.expand(target)))
            if op == "<":
                try:
                    stdin = self.host.fs.read(path)
                except OSError as exc:
                    io.err(f"{self.name}: can't open '{path}': {_oserror(exc)}\n")
                    return 1
                continue
            buf: list[str] = []
            saved.append((path, buf, op in (">>", "2>>")))
            if op in ("2>", "2>>"):
                err = buf.append
            else:
                out = buf.append
        status = yield from self.program(argv, Streams(out, err, stdin))
        for path, buf, append in saved:
            try:
                self.host.fs.write(path, "".join(buf), append)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    io.err(f"{self.name}: can't create {path}: {_oserror(exc)}\n")
                    return 1
                # a full disk: the file opened (and was emptied), the program's write failed
                if not append:
                    self.host.fs.write(path, "")
                io.err(f"{self.name}: write error: {_oserror(exc)}\n")
                return 1
        return status

    def assign_array(self, words: list[Word]) -> Run:
        """bash's ``name=(a b c)``: the words up to the closing parenthesis."""
        name, _, head = "".join(self.expand(words[0])).partition("=(")
        items = [head] if head else []
        for w in words[1:]:
            items.extend(self.expand(w))
        if items and items[-1].endswith(")"):
            items[-1] = items[-1][:-1]
        self.arrays[name] = [i for i in items if i != ""]
        self.env[name] = self.arrays[name][0] if self.arrays[name] else ""
        return 0
        yield  # pragma: no cover

    # expansion ---------------------------------------------------------------------------
    def expand(self, word: Word) -> list[str]:
        """Expand ``$VAR``, ``${VAR}``, ``$?``, ``$(cmd)`` and ``$((expr))``; unquoted expansions
        split on blanks."""
        fields: list[str] = [""]
        split = False
        for kind, text in word:
            if kind == "lit":
                fields[-1] += text
            elif kind == "arith":
                expr = "".join(piece for piece, _ in _variables(text, self))
                fields[-1] += str(arith.evaluate(expr, self.env))
            elif kind == "cmd":
                value = self.run_sync_capture(text).rstrip("\n")
                fields, split = _join(fields, value, True), True
            elif kind == "qcmd":
                fields[-1] += self.run_sync_capture(text).rstrip("\n")
            else:
                for piece, is_var in _variables(text, self):
                    if is_var and kind == "bare":
                        fields, split = _join(fields, piece, True), True
                    else:
                        fields[-1] += piece
        if split:
            fields = [f for f in fields if f != ""]
        return fields

    def run_sync_capture(self, text: str) -> str:
        m = re.fullmatch(r"\s*<\s*(\S+)\s*", text)
        if m:  # bash's $(<file): the file's text
            try:
                return self.host.fs.read(self.path("".join(self.expand([("bare", m.group(1))]))))
            except OSError:
                return ""
        child = Shell(self.host, dict(self.env), self.cwd, self.status, name=self.name)
        out, _, _ = child.run_sync(text)
        return out

    def path(self, p: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, p)) if p else self.cwd

    # programs ----------------------------------------------------------------------------
    def program(self, argv: list[str], io: Streams) -> Run:
        name = argv[0]
        base = posixpath.basename(name)
        applets = BUSYBOX_APPLETS if self.host.flavour == "busybox" else BASH_BUILTINS
        impl = getattr(self, "cmd_" + _ident(base), None)
        if base in applets and impl is not None:
            try:
                return (yield from impl(argv[1:], io))
            except (OSError, ValueError, LookupError) as exc:
                # an applet meets what it cannot handle (a bad number, a missing file): it
                # reports and fails, as busybox does; the container never sees a Python error
                io.err(f"{base}: {_oserror(exc) if isinstance(exc, OSError) else _applet_error(exc)}\n")
                return 1
        if base in ("curl",) and self.host.has_program(base):
            return (yield from self.cmd_curl(argv[1:], io))
        if self.host.serves(argv):  # the image's server (ncat --listen): it runs until killed
            while True:
                yield Sleep(10 ** 9, False)
        if self.host.has_program(base):
            return 0  # a program of the image we don't simulate: it runs and exits cleanly
        if self.host.flavour == "busybox":
            io.err(f"{self.name}: {name}: not found\n")
        else:
            io.err(f"{self.name}: {name}: command not found\n")
        return 127

    def cmd_sh(self, args: list[str], io: Streams) -> Run:
        if args and args[0] == "-c":
            if len(args) < 2:
                io.err(f"{self.name}: -c requires an argument\n")
                return 2
            child = Shell(self.host, dict(self.env), self.cwd, name=self.name)
            child.loop_depth = self.loop_depth
            return (yield from child.script(args[1], io))
        if args:
            try:
                text = self.host.fs.read(self.path(args[0]))
            except OSError:
                io.err(f"{self.name}: can't open '{args[0]}': No such file or directory\n")
                return 2
            return (yield from Shell(self.host, dict(self.env), self.cwd, name=self.name).script(text, io))
        if io.stdin:
            return (yield from Shell(self.host, dict(self.env), self.cwd, name=self.name).script(io.stdin, io))
        return 0

    cmd_ash = cmd_sh
    cmd_bash = cmd_sh

    def cmd_exit(self, args: list[str], io: Streams) -> Run:
        raise ShellExit(int(args[0]) if args and args[0].lstrip("-").isdigit() else self.status)
        yield  # pragma: no cover - makes this a generator

    def cmd_yes(self, args: list[str], io: Streams) -> Run:
        line = (" ".join(args) or "y") + "\n"
        while True:
            io.out(line * YES_BATCH)
            yield Sleep(0, True)

    def cmd_true(self, args: list[str], io: Streams) -> Run:
        return 0
        yield  # pragma: no cover

    def cmd_false(self, args: list[str], io: Streams) -> Run:
        return 1
        yield  # pragma: no cover

    def cmd_echo(self, args: list[str], io: Streams) -> Run:
        newline, escapes = True, False
        while args and re.fullmatch(r"-[neE]+", args[0]):  # -n, -e, -en, -ne...
            newline = newline and "n" not in args[0]
            escapes = "e" in args[0] or escapes
            args = args[1:]
        if escapes:
            args = [a.encode().decode("unicode_escape") for a in args]
        io.out(" ".join(args) + ("\n" if newline else ""))
        return 0
        yield  # pragma: no cover

    def cmd_printf(self, args: list[str], io: Streams) -> Run:
        if not args:
            io.err("printf: usage: printf FORMAT [ARGUMENT...]\n")
            return 1
        fmt = args[0].encode().decode("unicode_escape")
        values = args[1:]
        try:
            io.out(fmt.replace("%s", "{}").format(*values) if values else fmt.replace("%%", "%"))
        except IndexError:
            io.out(fmt)
        return 0
        yield  # pragma: no cover

    def cmd_sleep(self, args: list[str], io: Streams) -> Run:
        if not args:
            io.err("sleep: applet requires an argument\n" if self.host.flavour == "busybox"
                   else "sleep: missing operand\n")
            return 1
        total = 0.0
        for arg in args:
            if arg in ("inf", "infinity"):
                total += 10 ** 9
                continue
            m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", arg)
            if not m:
                io.err(f"sleep: invalid number '{arg}'\n")
                return 1
            total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        yield Sleep(total, self.loop_depth > 0)
        return 0

    def cmd_env(self, args: list[str], io: Streams) -> Run:
        if args:
            child = Shell(self.host, dict(self.env), self.cwd, name=self.name)
            while args and "=" in args[0]:
                k, v = args.pop(0).split("=", 1)
                child.env[k] = v
            if args:
                return (yield from child.program(args, io))
            self = child
        io.out("".join(f"{k}={v}\n" for k, v in self.env.items()))
        return 0

    def cmd_printenv(self, args: list[str], io: Streams) -> Run:
        if not args:
            return (yield from self.cmd_env([], io))
        missing = 0
        for name in args:
            if name in self.env:
                io.out(self.env[name] + "\n")
            else:
                missing = 1
        return missing

    def cmd_export(self, args: list[str], io: Streams) -> Run:
        for arg in args:
            if "=" in arg:
                k, v = arg.split("=", 1)
                self.env[k] = v
        return 0
        yield  # pragma: no cover

    def cmd_unset(self, args: list[str], io: Streams) -> Run:
        for arg in args:
            self.env.pop(arg, None)
        return 0
        yield  # pragma: no cover

    def cmd_hostname(self, args: list[str], io: Streams) -> Run:
        io.out(self.host.hostname + "\n")
        return 0
        yield  # pragma: no cover

    def cmd_whoami(self, args: list[str], io: Streams) -> Run:
        uid = self.host.identity[0]
        if uid:
            io.err(f"whoami: unknown uid {uid}\n")
            return 1
        io.out("root\n")
        return 0
        yield  # pragma: no cover

    def cmd_id(self, args: list[str], io: Streams) -> Run:
        """busybox id: root as the images' /etc/passwd names it; any other uid (a pod's
        runAsUser) has no name, its groups are the container's supplementary ones."""
        uid, gid, groups = self.host.identity
        if (uid, gid, groups) == (0, 0, ()):
            io.out("uid=0(root) gid=0(root) groups=0(root),10(wheel)\n")
            return 0
        name = lambda n: "0(root)" if n == 0 else str(n)  # noqa: E731
        io.out(f"uid={name(uid)} gid={name(gid)}" + (f" groups={','.join(name(g) for g in groups)}" if groups else "")
               + "\n")
        return 0
        yield  # pragma: no cover

    def cmd_uname(self, args: list[str], io: Streams) -> Run:
        io.out("Linux" + (f" {self.host.hostname} 6.6.0 x86_64" if "-a" in args else "") + "\n")
        return 0
        yield  # pragma: no cover

    def cmd_pwd(self, args: list[str], io: Streams) -> Run:
        io.out(self.cwd + "\n")
        return 0
        yield  # pragma: no cover

    def cmd_cd(self, args: list[str], io: Streams) -> Run:
        target = self.path(args[0]) if args else self.env.get("HOME", "/root")
        if not self.host.fs.isdir(target):
            io.err(f"{self.name}: cd: can't cd to {args[0] if args else target}: No such file or directory\n")
            return 2
        self.cwd = target
        return 0
        yield  # pragma: no cover

    def cmd_date(self, args: list[str], io: Streams) -> Run:
        now = datetime.fromtimestamp(self.host.now(), tz=timezone.utc)
        io.out(now.strftime("%a %b %e %H:%M:%S UTC %Y") + "\n")
        return 0
        yield  # pragma: no cover

    def _can_not_open(self, prog: str, path: str, exc: OSError, io: Streams) -> None:
        if self.host.flavour == "busybox":
            io.err(f"{prog}: can't open '{path}': {_oserror(exc)}\n")
        else:
            io.err(f"{prog}: {path}: {_oserror(exc)}\n")

    def cmd_cat(self, args: list[str], io: Streams) -> Run:
        if not args:
            io.out(io.stdin)
            return 0
        status = 0
        for arg in args:
            try:
                io.out(self.host.fs.read(self.path(arg)))
            except OSError as exc:
                self._can_not_open("cat", arg, exc, io)
                status = 1
        return status
        yield  # pragma: no cover

    def cmd_ls(self, args: list[str], io: Streams) -> Run:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        paths = [a for a in args if not a.startswith("-")] or ["."]
        status = 0
        for i, arg in enumerate(paths):
            path = self.path(arg)
            fs = self.host.fs
            if not fs.exists(path):
                io.err(f"ls: {arg}: No such file or directory\n" if self.host.flavour == "busybox"
                       else f"ls: cannot access '{arg}': No such file or directory\n")
                status = 1
                continue
            if not fs.isdir(path):
                io.out(arg + "\n")
                continue
            names = fs.listdir(path)
            if "a" in flags:
                names = [".", ".."] + names
            elif "A" not in flags:
                names = [n for n in names if not n.startswith(".")]
            if len(paths) > 1:
                io.out(("\n" if i else "") + f"{arg}:\n")
            if "l" in flags:
                for n in names:
                    full = posixpath.join(path, n)
                    is_dir = n in (".", "..") or fs.isdir(full)
                    size = 4096 if is_dir else len(fs.read(full).encode(errors="surrogateescape"))
                    io.out(f"{'drwxr-xr-x' if is_dir else '-rw-r--r--'}    1 root     root  {size:>10} Jan  1 00:00 {n}\n")
            else:
                io.out("".join(n + "\n" for n in names))
        return status
        yield  # pragma: no cover

    def cmd_touch(self, args: list[str], io: Streams) -> Run:
        for arg in args:
            path = self.path(arg)
            try:
                if not self.host.fs.exists(path):
                    self.host.fs.write(path, "")
            except OSError as exc:
                io.err(f"touch: {arg}: {_oserror(exc)}\n")
                return 1
        return 0
        yield  # pragma: no cover

    def cmd_set(self, args: list[str], io: Streams) -> Run:
        """``set -ex`` and the like: options are accepted (errexit and xtrace are not simulated:
        the docs' scripts exit explicitly where it matters)."""
        return 0
        yield  # pragma: no cover

    def cmd_exec(self, args: list[str], io: Streams) -> Run:
        """``exec CMD``: the command replaces the shell; its status is the script's."""
        if not args:
            return 0
        status = yield from self.program(args, io)
        raise ShellExit(status)

    def cmd_break(self, args: list[str], io: Streams) -> Run:
        if self.loop_depth:
            raise LoopJump(False)
        return 0
        yield  # pragma: no cover

    def cmd_continue(self, args: list[str], io: Streams) -> Run:
        if self.loop_depth:
            raise LoopJump(True)
        return 0
        yield  # pragma: no cover

    def cmd_cp(self, args: list[str], io: Streams) -> Run:
        files = [a for a in args if not a.startswith("-")]
        if len(files) < 2:
            io.err("cp: missing destination file operand\n" if files else "cp: missing file operand\n")
            return 1
        *sources, dest = files
        status = 0
        for src in sources:
            target = self.path(dest)
            if self.host.fs.isdir(target):
                target = posixpath.join(target, posixpath.basename(src))
            try:
                self.host.fs.write(target, self.host.fs.read(self.path(src)))
            except OSError as exc:
                io.err(f"cp: can't stat '{src}': {_oserror(exc)}\n" if not self.host.fs.exists(self.path(src))
                       else f"cp: can't create '{target}': {_oserror(exc)}\n")
                status = 1
        return status
        yield  # pragma: no cover

    def cmd_rev(self, args: list[str], io: Streams) -> Run:
        """Each line reversed (util-linux's and busybox's rev)."""
        texts = [io.stdin] if not args else []
        status = 0
        for arg in args:
            try:
                texts.append(self.host.fs.read(self.path(arg)))
            except OSError as exc:
                self._can_not_open("rev", arg, exc, io)
                status = 1
        for text in texts:
            io.out("".join(line[::-1] + "\n" for line in text.splitlines()))
        return status
        yield  # pragma: no cover

    def cmd_mkdir(self, args: list[str], io: Streams) -> Run:
        parents = any(a.startswith("-") and "p" in a for a in args)
        for arg in (a for a in args if not a.startswith("-")):
            path = self.path(arg)
            todo = [path]
            while parents and (parent := posixpath.dirname(todo[-1])) != todo[-1] and not self.host.fs.isdir(parent):
                todo.append(parent)  # -p: the missing parents, outermost first
            try:
                for directory in reversed(todo):
                    if not (parents and self.host.fs.isdir(directory)):
                        self.host.fs.mkdir(directory)
            except OSError as exc:
                io.err(f"mkdir: can't create directory '{arg}': {_oserror(exc)}\n")
                return 1
        return 0
        yield  # pragma: no cover

    def cmd_rm(self, args: list[str], io: Streams) -> Run:
        flags = "".join(a[1:] for a in args if a.startswith("-") and a != "-")
        force, recursive = "f" in flags, "r" in flags or "R" in flags
        status = 0
        for arg in (a for a in args if not a.startswith("-")):
            path = self.path(arg)
            try:
                if self.host.fs.isdir(path):
                    if not recursive:
                        raise IsADirectoryError(21, "Is a directory")
                    self._remove_tree(path)
                else:
                    self.host.fs.remove(path)
            except OSError as exc:
                if not (force and isinstance(exc, FileNotFoundError)):
                    io.err(f"rm: can't remove '{arg}': {_oserror(exc)}\n")
                    status = 1
        return status
        yield  # pragma: no cover

    def _remove_tree(self, path: str) -> None:
        for name in self.host.fs.listdir(path):
            child = posixpath.join(path, name)
            if self.host.fs.isdir(child):
                self._remove_tree(child)
            else:
                self.host.fs.remove(child)
        self.host.fs.rmdir(path)

    def cmd_tar(self, args: list[str], io: Streams) -> Run:
        """``tar c``/``x``/``t`` on stdin/stdout (``f -``), as ``kubectl cp`` runs it: ``tar cf -
        PATH`` out of the pod, ``tar xmf - -C DIR`` into it. Real tar streams (Python's tarfile)
        over the container's files; bytes travel as surrogate-escaped text."""
        mode, archive, directory, paths = "", "-", self.cwd, []
        words = list(args)
        if words and not words[0].startswith("-"):
            words[0] = "-" + words[0]  # the old style: tar cf - PATH
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            if word.startswith("--"):
                continue  # --no-same-owner, --no-same-permissions: the simulation has no owners
            if not word.startswith("-") or word == "-":
                paths.append(word)
                continue
            for j, flag in enumerate(word[1:]):
                if flag in "cxt":
                    mode = flag
                elif flag in "fC":
                    value = word[j + 2:] or (words[i] if i < len(words) else "")
                    i += 0 if word[j + 2:] else 1
                    if flag == "f":
                        archive = value
                    else:
                        directory = self.path(value)
                    break
        if not mode:
            io.err("Usage: tar c|x|t [-ZzJjahmvokO] [-f TARFILE] [-C DIR] [-T FILE] [-X FILE] [LONGOPT]... [FILE]...\n")
            return 1
        if archive != "-":
            io.err("tar: archives other than stdin/stdout are not simulated\n")
            return 1
        fs = self.host.fs
        if mode == "c":
            buffer = io_module.BytesIO()
            status = 0
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                stripped = False
                for arg in paths:
                    full = self.path(arg)
                    if not fs.exists(full):
                        io.err(f"tar: {arg}: No such file or directory\n")
                        status = 1
                        continue
                    name = posixpath.normpath(arg)
                    if name.startswith("/"):
                        name = name.lstrip("/")
                        if not stripped:
                            io.err("tar: removing leading '/' from member names\n")
                            stripped = True
                    self._tar_add(tar, full, name or ".")
            io.out(buffer.getvalue().decode("utf-8", "surrogateescape"))
            return status
        if not fs.isdir(directory):
            io.err(f"tar: can't change directory to '{directory}': No such file or directory\n")
            return 1
        try:
            with tarfile.open(fileobj=io_module.BytesIO(io.stdin.encode("utf-8", "surrogateescape")), mode="r:") as tar:
                for member in tar:
                    name = posixpath.normpath(member.name.lstrip("/"))
                    if name.startswith("..") or name == ".":
                        continue
                    if mode == "t":
                        io.out(member.name + "\n")
                        continue
                    target = posixpath.join(directory, name)
                    try:
                        if member.isdir():
                            if not fs.isdir(target):
                                self._makedirs(target)
                        elif member.isfile():
                            self._makedirs(posixpath.dirname(target))
                            data = tar.extractfile(member).read()  # type: ignore[union-attr]
                            fs.write(target, data.decode("utf-8", "surrogateescape"))
                    except OSError as exc:
                        io.err(f"tar: can't open '{name}': {_oserror(exc)}\n")
                        return 1
        except tarfile.TarError:
            io.err("tar: short read\n" if not io.stdin else "tar: invalid tar magic\n")
            return 1
        return 0
        yield  # pragma: no cover

    def _tar_add(self, tar: tarfile.TarFile, path: str, name: str) -> None:
        fs = self.host.fs
        info = tarfile.TarInfo(name)
        info.mtime = int(self.host.now())
        info.uname = info.gname = "root"
        if fs.isdir(path):
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
            for child in fs.listdir(path):
                self._tar_add(tar, posixpath.join(path, child), posixpath.join(name, child))
            return
        data = fs.read(path).encode("utf-8", "surrogateescape")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io_module.BytesIO(data))

    def _makedirs(self, path: str) -> None:
        fs = self.host.fs
        if path in ("", "/") or fs.isdir(path):
            return
        self._makedirs(posixpath.dirname(path))
        fs.mkdir(path)

    def cmd_test(self, args: list[str], io: Streams) -> Run:
        if args and args[-1] in ("]", "]]"):
            args = args[:-1]
        if len(args) == 3 and args[1] == "=~":  # bash's [[ s =~ ERE ]]: groups in BASH_REMATCH
            pattern = args[2].replace("[[:space:]]", r"\s").replace("[[:digit:]]", r"\d").replace("[[:alpha:]]",
                                                                                                  "[A-Za-z]")
            try:
                m = re.search(pattern, args[0])
            except re.error:
                return 2
            self.arrays["BASH_REMATCH"] = [m.group(0), *(g or "" for g in m.groups())] if m else []
            return 0 if m else 1
        return 0 if _test(args, self.host.fs, self.path) else 1
        yield  # pragma: no cover

    def cmd_grep(self, args: list[str], io: Streams) -> Run:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        rest = [a for a in args if not a.startswith("-")]
        if not rest:
            io.err("Usage: grep [-ivc] PATTERN [FILE]...\n")
            return 2
        pattern = re.compile(rest[0], re.I if "i" in flags else 0)
        text = io.stdin
        if rest[1:]:
            try:
                text = "".join(self.host.fs.read(self.path(p)) for p in rest[1:])
            except OSError as exc:
                io.err(f"grep: {rest[1]}: {_oserror(exc)}\n")
                return 2
        hits = [ln for ln in text.splitlines() if bool(pattern.search(ln)) != ("v" in flags)]
        io.out(f"{len(hits)}\n" if "c" in flags else "".join(h + "\n" for h in hits))
        return 0 if hits else 1
        yield  # pragma: no cover

    def _lines(self, args: list[str], io: Streams) -> tuple[int, list[str]]:
        count, files = 10, []
        it = iter(args)
        for a in it:
            if a == "-n":
                count = int(next(it, "10"))
            elif re.fullmatch(r"-\d+", a):
                count = int(a[1:])
            else:
                files.append(a)
        text = "".join(self.host.fs.read(self.path(f)) for f in files) if files else io.stdin
        return count, text.splitlines(keepends=True)

    def cmd_head(self, args: list[str], io: Streams) -> Run:
        count, lines = self._lines(args, io)
        io.out("".join(lines[:count]))
        return 0
        yield  # pragma: no cover

    def cmd_tail(self, args: list[str], io: Streams) -> Run:
        follow = [a for a in args if a in ("-f", "-F")]
        if not follow:
            count, lines = self._lines(args, io)
            io.out("".join(lines[-count:] if count else []))
            return 0
        rest = [a for a in args if a not in follow]
        files = [a for a in rest if not a.startswith("-") and not a.isdigit()]
        if len(files) != 1:
            count, lines = self._lines(rest, io)
            io.out("".join(lines[-count:] if count else []))
            return 0
        return (yield from self._follow(files[0], rest, retry="-F" in follow, io=io))

    def _follow(self, name: str, args: list[str], retry: bool, io: Streams) -> Run:
        """``tail -f FILE``: the last lines, then what is appended, for as long as it runs;
        ``-F`` also waits for a file that is not there yet, and shows it when it appears."""
        path, shown = self.path(name), None  # shown: the file's text as printed so far
        options = [a for a in args if a != name]
        while True:
            try:
                text = self.host.fs.read(path)
            except OSError as exc:
                if not retry or shown is None:
                    self._can_not_open("tail", name, exc, io)
                if not retry:
                    return 1
                shown = ""  # when it appears, all of it is new
                yield Sleep(TAIL_POLL_SECONDS, True)
                continue
            if shown is None:
                count, lines = self._lines(options, Streams(io.out, io.err, text))
                io.out("".join(lines[-count:] if count else []))
            elif text.startswith(shown):
                io.out(text[len(shown):])
            else:  # truncated or replaced: it starts over from the top
                io.out(text)
            shown = text
            yield Sleep(TAIL_POLL_SECONDS, True)

    def cmd_wc(self, args: list[str], io: Streams) -> Run:
        text = io.stdin
        lines = text.count("\n")
        if "-l" in args:
            io.out(f"{lines}\n")
        else:
            io.out(f"{lines:>9} {len(text.split()):>9} {len(text.encode()):>9}\n")
        return 0
        yield  # pragma: no cover

    def cmd_ps(self, args: list[str], io: Streams) -> Run:
        io.out("PID   USER     TIME  COMMAND\n    1 root      0:00 sh\n")
        return 0
        yield  # pragma: no cover

    def cmd_kill(self, args: list[str], io: Streams) -> Run:
        return 0
        yield  # pragma: no cover

    # network ---------------------------------------------------------------------------
    def cmd_wget(self, args: list[str], io: Streams) -> Run:
        quiet, output, url = False, None, None
        timeout = 900.0  # busybox wget's -T default
        headers: dict[str, str] = {}
        it = iter(args)
        for a in it:
            if a == "--header" or a.startswith("--header="):
                name, _, value = (a[9:] if "=" in a else next(it, "")).partition(":")
                if name.strip():
                    headers[name.strip().title()] = value.strip()
            elif a in ("-q", "--quiet"):
                quiet = True
            elif a.startswith("-q") and "O" in a:  # -qO-  /  -qO file
                quiet = True
                output = a.split("O", 1)[1] or next(it, "-")
            elif a == "-O":
                output = next(it, "-")
            elif a.startswith("-O"):
                output = a[2:]
            elif a in ("-T", "--timeout") or a.startswith("--timeout="):
                value = a.split("=", 1)[1] if "=" in a else next(it, "")
                if not value.isdigit():
                    io.err(f"wget: invalid number '{value}'\n")
                    return 1
                timeout = float(value)
            elif a in ("-U", "--user-agent"):
                next(it, None)
            elif a.startswith("-"):
                continue
            else:
                url = a
        if url is None:
            io.err("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                   "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n"
                   "\t[--post-data STR | --post-file FILE] [-Y on/off]\n"
                   "\t[--no-check-certificate] [-P DIR] [-U AGENT] [-T SEC] URL...\n")
            return 1
        fetch = self.host.http_get(url, "Wget", headers or None)
        if fetch.error is None and fetch.ip:
            quiet or io.err(f"Connecting to {fetch.authority} ({fetch.ip}:{fetch.port})\n")
        if fetch.wait > timeout and fetch.ip:  # its alarm (set around connect) goes off first
            yield Sleep(timeout, self.loop_depth > 0)
            io.err("wget: download timed out\n")
            return 1
        if fetch.wait:
            yield Sleep(fetch.wait, self.loop_depth > 0)
        if fetch.error is not None:
            io.err(f"wget: {fetch.error}\n")
            return 1
        if fetch.status >= 400:
            io.err(f"wget: server returned error: HTTP/1.1 {fetch.status} {fetch.reason}\n")
            return 1
        size = len(fetch.body.encode())
        bar = f"100% |{'*' * 32}| {size:>5}  0:00:00 ETA\n"
        if output == "-":
            quiet or io.err("writing to stdout\n")
            io.out(fetch.body)
            quiet or io.err(f"{'-':<20} {bar}written to stdout\n")
            return 0
        target = output or (posixpath.basename(fetch.path.split("?")[0]) or "index.html")
        try:
            self.host.fs.write(self.path(target), fetch.body)
        except OSError as exc:
            io.err(f"wget: can't open '{target}': {_oserror(exc)}\n")
            return 1
        quiet or io.err(f"saving to '{target}'\n{target[:20]:<20} {bar}'{target}' saved\n")
        return 0

    def cmd_curl(self, args: list[str], io: Streams) -> Run:
        url, headers = None, {}
        it = iter(args)
        for a in it:
            if a in ("-H", "--header"):
                name, _, value = next(it, "").partition(":")
                if name.strip():
                    headers[name.strip().title()] = value.strip()
            elif not a.startswith("-") and url is None:
                url = a
        if url is None:
            io.err("curl: try 'curl --help' or 'curl --manual' for more information\n")
            return 2
        fetch = self.host.http_get(url, "curl/7.88.1", headers or None)
        if fetch.wait:
            yield Sleep(fetch.wait, self.loop_depth > 0)
        if fetch.error is not None:
            if "bad address" in fetch.error:
                io.err(f"curl: (6) Could not resolve host: {fetch.host}\n")
                return 6
            if "timed out" in fetch.error:
                io.err(f"curl: (28) Failed to connect to {fetch.host} port {fetch.port} after 130000 ms: "
                       "Couldn't connect to server\n")
                return 28
            io.err(f"curl: (7) Failed to connect to {fetch.host} port {fetch.port} after 0 ms: "
                   "Couldn't connect to server\n")
            return 7
        io.out(fetch.body)
        return 0

    def cmd_nslookup(self, args: list[str], io: Streams) -> Run:
        names = [a for a in args if not a.startswith("-")]
        if not names:
            io.err("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                   "Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n")
            return 1
        dropped = self.host.dns_timeout()
        if dropped is not None:  # no answer ever comes back: the resolver gives up
            yield Sleep(dropped, self.loop_depth > 0)
            io.out(";; connection timed out; no servers could be reached\n\n")
            return 1
        server = self.host.dns_server()
        io.out(f"Server:\t\t{server}\nAddress:\t{server}:53\n\n")
        found = self.host.dns_lookup(names[0])
        if found is None:
            io.out(f"** server can't find {names[0]}: NXDOMAIN\n\n")
            return 1
        for owner, target in found.cnames:
            io.out(f"{owner}\tcanonical name = {target}\n")
        if found.ip is not None:
            io.out(f"Name:\t{found.cnames[-1][1] if found.cnames else found.fqdn}\nAddress: {found.ip}\n")
        io.out("\n")
        return 0
        yield  # pragma: no cover


# ``exec`` of an endless loop stops here, as if the learner pressed Ctrl-C.
MAX_SYNC_SECONDS = 600.0
MAX_SYNC_STEPS = 10_000


def drain(gen: Run) -> int:
    """Run a script generator to its end, skipping its sleeps (bounded: exit 130 if endless)."""
    slept, steps = 0.0, 0
    try:
        while True:
            step = next(gen)
            slept += step.seconds
            steps += 1
            if slept > MAX_SYNC_SECONDS or steps > MAX_SYNC_STEPS:
                gen.close()
                return 130
    except StopIteration as stop:
        return stop.value if stop.value is not None else 0


# What a command before a `|` may write before it counts as stopped by its reader. The
# commands of a pipeline run one after the other here, so an endless writer needs an end.
PIPE_LIMIT = 1 << 20


class _PipeFull(Exception):
    """Not an OSError: applets must not catch it."""


class _Pipe:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > PIPE_LIMIT:
            raise _PipeFull

    def text(self) -> str:
        return "".join(self.parts)


def _applet_error(exc: Exception) -> str:
    """An applet's message for bad input (``head -n x`` -> ``invalid number 'x'``)."""
    text = str(exc)
    if isinstance(exc, ValueError) and "invalid literal for int()" in text:
        return f"invalid number {text.rpartition(': ')[2]}"
    return text


def _ident(name: str) -> str:
    return {"[": "test", "[[": "test", ":": "true"}.get(name, name.replace("-", "_"))


def _oserror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _join(fields: list[str], value: str, split: bool) -> list[str]:
    if not split:
        fields[-1] += value
        return fields
    pieces = value.split()
    if not pieces:
        return fields
    lead = value[:1].isspace()
    trail = value[-1:].isspace()
    out = fields[:-1]
    last = fields[-1]
    if lead and last:
        out.append(last)
        last = ""
    out.append(last + pieces[0])
    out.extend(pieces[1:])
    if trail:
        out.append("")
    return out


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([?$#0-9])"
                  r"|\{([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]\})")


def _variables(text: str, sh: Shell) -> Iterable[tuple[str, bool]]:
    pos = 0
    for m in _VAR.finditer(text):
        if m.start() > pos:
            yield text[pos:m.start()], False
        name = m.group(1) or m.group(2) or m.group(3)
        if m.group(4):  # ${name[index]}
            index = "".join(piece for piece, _ in _variables(m.group(5), sh)).strip()
            items = sh.arrays.get(m.group(4)) or ([sh.env[m.group(4)]] if m.group(4) in sh.env else [])
            value = items[int(index)] if index.lstrip("-").isdigit() and -len(items) <= int(index) < len(items) \
                else ""
        elif name == "RANDOM":
            sh.random = (sh.random * 1103515245 + 12345) % 2 ** 31
            value = str(sh.random % 32768)
        elif name == "?":
            value = str(sh.status)
        elif name == "$":
            value = "1"
        elif name in ("#",) or name.isdigit():
            value = "0" if name == "#" else (sh.name if name == "0" else "")
        else:
            value = sh.env.get(name, "")
        yield value, True
        pos = m.end()
    if pos < len(text):
        yield text[pos:], False


def _test(args: list[str], fs: FileSystem, path: Callable[[str], str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _test(args[1:], fs, path)
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, val = args
        return {"-f": lambda: fs.exists(path(val)) and not fs.isdir(path(val)),
                "-e": lambda: fs.exists(path(val)), "-d": lambda: fs.isdir(path(val)),
                "-s": lambda: fs.exists(path(val)) and not fs.isdir(path(val)) and fs.read(path(val)) != "",
                "-z": lambda: val == "", "-n": lambda: val != ""}.get(op, lambda: False)()
    a, op, b = args[:3]
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    try:
        x, y = int(a), int(b)
    except ValueError:
        return False
    return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}.get(op, False)
