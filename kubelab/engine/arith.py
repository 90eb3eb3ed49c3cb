"""The shell's arithmetic expansion, ``$((...))``, as busybox ash's math.c evaluates it.

Learners count in load loops (``i=$((i+1))``) and check results (``[ $((n % 2)) -eq 0 ]``).
The expression has C's operators and precedence on 64-bit signed integers; a name stands
for its variable's value (empty or unset is 0) and an assignment writes the variable back.
Errors carry ash's wording (``arithmetic syntax error``, ``divide by zero``).
"""
from __future__ import annotations

import re
from typing import MutableMapping

_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|[0-9]+)|([A-Za-z_][A-Za-z0-9_]*)|"
                    r"(<<=|>>=|\*\*|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[-+*/%<>=!~&|^?:()]))")
# binary operators: (precedence, right-associative)
_BINARY = {"||": (3, False), "&&": (4, False), "|": (5, False), "^": (6, False), "&": (7, False),
           "==": (8, False), "!=": (8, False), "<": (9, False), "<=": (9, False), ">": (9, False),
           ">=": (9, False), "<<": (10, False), ">>": (10, False), "+": (11, False), "-": (11, False),
           "*": (12, False), "/": (12, False), "%": (12, False), "**": (13, True)}
_ASSIGN = ("=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^=")


class ArithError(Exception):
    """An expression ash refuses; the message is what it prints after ``sh: ``."""


def _wrap(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


def _number(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F]+", text):
            return _wrap(int(text, 16))
        if re.fullmatch(r"[-+]?0[0-7]+", text):
            return _wrap(int(text, 8))
        return _wrap(int(text, 10))
    except ValueError:
        raise ArithError("arithmetic syntax error") from None


def _apply(op: str, a: int, b: int) -> int:
    if op in ("/", "%") and b == 0:
        raise ArithError("divide by zero")
    if op == "/":
        q = abs(a) // abs(b)  # C truncates toward zero
        return _wrap(q if (a < 0) == (b < 0) else -q)
    if op == "%":
        r = abs(a) % abs(b)
        return _wrap(r if a >= 0 else -r)
    if op == "**":
        if b < 0:
            raise ArithError("exponent less than 0")
        return _wrap(pow(a, b, 1 << 64))
    if op in ("<<", ">>"):
        return _wrap(a << (b & 63) if op == "<<" else a >> (b & 63))
    return _wrap({"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b,
                  "==": int(a == b), "!=": int(a != b), "<": int(a < b), "<=": int(a <= b),
                  ">": int(a > b), ">=": int(a >= b), "&&": int(bool(a) and bool(b)),
                  "||": int(bool(a) or bool(b))}[op])


class _Parser:
    """Precedence climbing over the tokens; evaluates as it parses (``skip`` for the side of
    ``&&``, ``||`` and ``?:`` not taken: its assignments do not happen)."""

    def __init__(self, text: str, env: MutableMapping[str, str]) -> None:
        self.env = env
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ArithError("arithmetic syntax error")
            self.tokens.append(m.group(1) or m.group(2) or m.group(3))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ArithError("arithmetic syntax error")
        self.i += 1
        return tok

    def value(self, name: str) -> int:
        return _number(self.env.get(name, ""))

    def expression(self, skip: bool = False) -> int:
        tok = self.peek()
        if tok is not None and _is_name(tok) and self.i + 1 < len(self.tokens) \
                and self.tokens[self.i + 1] in _ASSIGN:
            name, op = self.take(), self.take()
            right = self.expression(skip)
            result = right if op == "=" else _apply(op[:-1], self.value(name), right)
            if not skip:
                self.env[name] = str(result)
            return result
        return self.ternary(skip)

    def ternary(self, skip: bool) -> int:
        cond = self.binary(3, skip)
        if self.peek() != "?":
            return cond
        self.take()
        yes = self.expression(skip or not cond)
        if self.take() != ":":
            raise ArithError("arithmetic syntax error")
        no = self.expression(skip or bool(cond))
        return yes if cond else no

    def binary(self, floor: int, skip: bool) -> int:
        left = self.unary(skip)
        while (op := self.peek()) in _BINARY and _BINARY[op][0] >= floor:  # type: ignore[index]
            self.take()
            precedence, right_assoc = _BINARY[op]  # type: ignore[index]
            short = (op == "&&" and not left) or (op == "||" and bool(left))
            right = self.binary(precedence if right_assoc else precedence + 1, skip or short)
            left = int(bool(left)) if short else (0 if skip else _apply(op, left, right))  # type: ignore[arg-type]
        return left

    def unary(self, skip: bool) -> int:
        tok = self.take()
        if tok in ("+", "-", "!", "~"):
            v = self.unary(skip)
            return {"+": v, "-": _wrap(-v), "!": int(not v), "~": _wrap(~v)}[tok]
        if tok in ("++", "--"):
            name = self.take()
            if not _is_name(name):
                raise ArithError("arithmetic syntax error")
            v = _wrap(self.value(name) + (1 if tok == "++" else -1))
            if not skip:
                self.env[name] = str(v)
            return v
        if tok == "(":
            v = self.expression(skip)
            if self.take() != ")":
                raise ArithError("arithmetic syntax error")
            return v
        if _is_name(tok):
            v = self.value(tok)
            if self.peek() in ("++", "--"):
                if not skip:
                    self.env[tok] = str(_wrap(v + (1 if self.take() == "++" else -1)))
                else:
                    self.take()
            return v
        if tok[0].isdigit():
            return _number(tok)
        raise ArithError("arithmetic syntax error")


def _is_name(tok: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok))


def evaluate(text: str, env: MutableMapping[str, str]) -> int:
    """The value of ``text`` (its ``$VAR`` already expanded), writing assignments to ``env``."""
    parser = _Parser(text, env)
    if parser.peek() is None:
        return 0  # $(( )) is 0
    value = parser.expression()
    if parser.peek() is not None:
        raise ArithError("arithmetic syntax error")
    return value
