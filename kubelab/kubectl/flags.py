"""pflag-style flag parsing, so every kubectl command reads its argv the way cobra/pflag do.

Flags may sit anywhere among the arguments (``get -n kube-system pods``), take their value as
``--flag=v``, ``--flag v``, ``-n v``, ``-nv`` or ``-n=v``, combine boolean shorthands
(``-it``), and stop at ``--``. Failures raise :class:`FlagError` carrying pflag's wording.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

# Flag types, named as pflag names them in ``kubectl ... --help``.
BOOL, STRING, INT, STRING_ARRAY, STRING_SLICE, DURATION = (
    "bool", "string", "int", "stringArray", "strings", "duration")


class FlagError(Exception):
    """A flag that pflag would refuse; the message is pflag's (``unknown flag: --foo``)."""


@dataclass(frozen=True)
class Flag:
    """One flag. ``no_opt`` is pflag's NoOptDefVal: the value used when the flag is given
    without ``=value`` (bools default to ``"true"``)."""

    name: str
    short: str = ""
    type: str = BOOL
    default: Any = None
    no_opt: str | None = None

    @property
    def takes_value(self) -> bool:
        """Whether ``--flag next-word`` consumes the next word."""
        return self.type != BOOL and self.no_opt is None

    @property
    def label(self) -> str:
        """How pflag names the flag in ``invalid argument`` errors: ``-r, --replicas``."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"

    def initial(self) -> Any:
        if self.type in (STRING_ARRAY, STRING_SLICE):
            return list(self.default or [])
        if self.default is not None:
            return self.default
        return {BOOL: False, STRING: "", INT: 0, DURATION: 0.0}[self.type]


# kubectl's global (persistent) flags: accepted by every command, anywhere on the line.
GLOBAL_FLAGS: tuple[Flag, ...] = (
    Flag("namespace", "n", STRING),
    Flag("context", type=STRING),
    Flag("cluster", type=STRING),
    Flag("user", type=STRING),
    Flag("kubeconfig", type=STRING),
    Flag("server", "s", STRING),
    Flag("request-timeout", type=STRING, default="0"),
    Flag("v", "v", STRING, default="0"),
    Flag("as", type=STRING),
    Flag("insecure-skip-tls-verify", type=BOOL),
    Flag("warnings-as-errors", type=BOOL),
    Flag("match-server-version", type=BOOL),
)


class Flags:
    """Parsed flag values: ``flags.get("dry-run")`` or ``flags.dry_run``; ``flags.changed(name)``
    tells a value typed on the command line from a default."""

    def __init__(self, specs: Iterable[Flag]) -> None:
        self.specs: dict[str, Flag] = {}
        for f in specs:  # the first of a name wins: a command's own flag shadows a global one (create rolebinding --user)
            self.specs.setdefault(f.name, f)
        self.values: dict[str, Any] = {name: f.initial() for name, f in self.specs.items()}
        self._changed: set[str] = set()
        self.dash_index: int = -1  # cobra's ArgsLenAtDash: positional args before ``--``

    def get(self, name: str) -> Any:
        return self.values[name]

    def __getattr__(self, attr: str) -> Any:
        values = self.__dict__.get("values", {})
        name = attr.replace("_", "-")
        if name in values:
            return values[name]
        if attr in values:
            return values[attr]
        raise AttributeError(attr)

    def changed(self, name: str) -> bool:
        return name in self._changed

    def set(self, flag: Flag, raw: str) -> None:
        """Store one occurrence of a flag, converting its text as pflag would."""
        self._changed.add(flag.name)
        if flag.type == BOOL:
            self.values[flag.name] = _parse_bool(flag, raw)
        elif flag.type == INT:
            try:
                self.values[flag.name] = int(raw, 10) if re.fullmatch(r"[+-]?\d+", raw) else _bad_int(raw)
            except ValueError:
                raise FlagError(f'invalid argument "{raw}" for "{flag.label}" flag: '
                                f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
        elif flag.type == DURATION:
            seconds = parse_duration(raw)
            if seconds is None:
                raise FlagError(f'invalid argument "{raw}" for "{flag.label}" flag: '
                                f'time: invalid duration "{raw}"')
            self.values[flag.name] = seconds
        elif flag.type == STRING_ARRAY:
            if flag.name not in self._seen:
                self.values[flag.name] = []
            self.values[flag.name].append(raw)
        elif flag.type == STRING_SLICE:
            if flag.name not in self._seen:
                self.values[flag.name] = []
            self.values[flag.name].extend(_split_csv(raw))
        else:
            self.values[flag.name] = raw
        self._seen.add(flag.name)

    @property
    def _seen(self) -> set[str]:
        return self.__dict__.setdefault("_seen_set", set())


def _bad_int(raw: str) -> int:
    raise ValueError(raw)


def _parse_bool(flag: Flag, raw: str) -> bool:
    # Go's strconv.ParseBool
    if raw in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if raw in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise FlagError(f'invalid argument "{raw}" for "{flag.label}" flag: '
                    f'strconv.ParseBool: parsing "{raw}": invalid syntax')


def _split_csv(raw: str) -> list[str]:
    """pflag's string slices read their value as one CSV record."""
    import csv

    if raw == "":
        return []
    return next(csv.reader([raw]))


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Go's time.ParseDuration, in seconds (``1m30s`` -> 90.0); None when malformed. A bare
    ``0`` is allowed, as in Go."""
    if text in ("0", "+0", "-0"):
        return 0.0
    m = re.fullmatch(r"([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+", text)
    if not m:
        return None
    total = sum(float(num) * _DURATION_UNITS[unit]
                for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text))
    return -total if m.group(1) == "-" else total


def parse(argv: list[str], specs: Iterable[Flag]) -> tuple[Flags, list[str]]:
    """Split ``argv`` into flag values and positional arguments, interspersed as pflag allows."""
    flags = Flags(specs)
    by_short = {f.short: f for f in flags.specs.values() if f.short}
    args: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            flags.dash_index = len(args)
            args.extend(argv[i:])
            break
        if not word.startswith("-") or word == "-":
            args.append(word)
            continue
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            flag = flags.specs.get(name)
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            if eq:
                flags.set(flag, value)
            elif not flag.takes_value:
                flags.set(flag, flag.no_opt if flag.no_opt is not None else "true")
            elif i < len(argv):
                flags.set(flag, argv[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
            continue
        shorts = word[1:]
        while shorts:
            c, shorts = shorts[0], shorts[1:]
            flag = by_short.get(c)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: '{c}' in {word}")
            if shorts.startswith("="):
                flags.set(flag, shorts[1:])
                shorts = ""
            elif not flag.takes_value:
                flags.set(flag, flag.no_opt if flag.no_opt is not None else "true")
            elif shorts:
                flags.set(flag, shorts)
                shorts = ""
            elif i < len(argv):
                flags.set(flag, argv[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: '{c}' in {word}")
    return flags, args


# Flag groups many commands share, with kubectl's names and defaults.
FILENAME = Flag("filename", "f", STRING_SLICE)
RECURSIVE = Flag("recursive", "R", BOOL)
KUSTOMIZE = Flag("kustomize", "k", STRING)
SELECTOR = Flag("selector", "l", STRING)
FIELD_SELECTOR = Flag("field-selector", type=STRING)
ALL_NAMESPACES = Flag("all-namespaces", "A", BOOL)
OUTPUT = Flag("output", "o", STRING)
DRY_RUN = Flag("dry-run", type=STRING, default="none", no_opt="unchanged")
SHOW_MANAGED_FIELDS = Flag("show-managed-fields", type=BOOL)
TEMPLATE = Flag("template", type=STRING)
ALLOW_MISSING_TEMPLATE_KEYS = Flag("allow-missing-template-keys", type=BOOL, default=True)
VALIDATE = Flag("validate", type=STRING, default="strict", no_opt="strict")
FIELD_MANAGER = Flag("field-manager", type=STRING)
SAVE_CONFIG = Flag("save-config", type=BOOL)

HELP = Flag("help", "h", BOOL)  # every command's -h/--help (cobra adds it)

PRINT_FLAGS = (OUTPUT, SHOW_MANAGED_FIELDS, TEMPLATE, ALLOW_MISSING_TEMPLATE_KEYS)
FILE_FLAGS = (FILENAME, RECURSIVE, KUSTOMIZE)

