"""kubectl's JSONPath (k8s.io/client-go/util/jsonpath): its parser, its evaluation and its quirks.

A template is text and ``{actions}``. Inside an action the parser knows fields (``.a``, with
``\\.`` escapes), ``[...]`` indexes, slices, unions and ``['key']``, ``[?(...)]`` filters,
``..`` recursive descent, quoted strings, numbers, ``true``/``false`` and the identifiers
``range`` and ``end``; ``@`` and ``$`` are skipped (so ``$`` is the current object, not the
root). Anything else is "unrecognized character in action". Each action prints its results
joined by spaces: strings bare, maps and lists as compact JSON.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from kubelab.kubectl import gofmt
from kubelab.kubectl.gotemplate import compare


class JSONPathError(Exception):
    """A template the parser refuses (``parse``) or the evaluation fails on (``execute``)."""


class ExecError(JSONPathError):
    """Evaluation failed: kubectl reports these with the object it was given."""


@dataclass
class Node:
    """One parse node: ``kind`` is text, list, field, wildcard, array, filter, int, float, bool,
    recursive, union or identifier."""

    kind: str
    value: Any = None
    nodes: list["Node"] = field(default_factory=list)


_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.S)


def _terminator(ch: str) -> bool:
    return ch in " \t\r\n.,[]$@{}" or ch == ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self, n: int = 0) -> str:
        i = self.pos + n
        return self.text[i] if i < len(self.text) else ""

    def parse(self) -> list[Node]:
        root: list[Node] = []
        while self.pos < len(self.text):
            start = self.text.find("{", self.pos)
            if start < 0:
                root.append(Node("text", self.text[self.pos:]))
                break
            if start > self.pos:
                root.append(Node("text", self.text[self.pos:start]))
            self.pos = start + 1
            action = Node("list")
            root.append(action)
            self.inside(action.nodes)
        return root

    def inside(self, cur: list[Node]) -> None:
        """One action up to its ``}``."""
        while True:
            rest = self.text[self.pos:]
            if rest.startswith("}"):
                self.pos += 1
                return
            if rest.startswith("[?("):
                self.filter(cur)
                continue
            if rest.startswith(".."):
                if cur and cur[-1].kind == "recursive":
                    raise JSONPathError("invalid multiple recursive descent")
                self.pos += 2
                cur.append(Node("recursive"))
                if self.peek() and (self.peek().isalnum() or self.peek() == "_"):
                    self.field(cur)
                continue
            ch = self.peek()
            if ch == "" or ch in "\r\n":
                raise JSONPathError("unclosed action")
            if ch in " @$":
                self.pos += 1
            elif ch == "[":
                self.array(cur)
            elif ch in "\"'":
                self.quote(cur, ch)
            elif ch == ".":
                self.pos += 1
                self.field(cur)
            elif ch in "+-" or ch.isdigit():
                self.number(cur)
            elif ch == "_" or ch.isalnum():
                start = self.pos
                while not _terminator(self.peek()):
                    self.pos += 1
                word = self.text[start:self.pos]
                cur.append(Node("bool", word == "true") if word in ("true", "false") else Node("identifier", word))
            else:
                raise JSONPathError(f"unrecognized character in action: {gofmt.rune(ch)}")

    def field(self, cur: list[Node]) -> None:
        start = self.pos
        while True:
            ch = self.peek()
            if ch == "\\":
                self.pos += 2
            elif _terminator(ch):
                break
            else:
                self.pos += 1
        name = self.text[start:self.pos]
        cur.append(Node("wildcard") if name == "*" else Node("field", name.replace("\\", "")))

    def number(self, cur: list[Node]) -> None:
        start = self.pos
        if self.peek() in "+-":
            self.pos += 1
        while self.peek() and (self.peek() == "." or self.peek().isdigit()):
            self.pos += 1
        text = self.text[start:self.pos]
        try:
            cur.append(Node("int", gofmt.GoInt(int(text))))
        except ValueError:
            try:
                cur.append(Node("float", float(text)))
            except ValueError:
                raise JSONPathError(f"cannot parse number {text}") from None

    def array(self, cur: list[Node]) -> None:
        end = self.pos + 1
        while True:
            if end >= len(self.text) or self.text[end] == "\n":
                raise JSONPathError("unterminated array")
            if self.text[end] == "]":
                break
            end += 1
        text = self.text[self.pos + 1:end]
        self.pos = end + 1
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            cur.append(Node("union", nodes=[_action(f"[{p.strip()}]") for p in parts]))
            return
        key = re.fullmatch(r"'([^']*)'", text)
        if key:
            cur.extend(_action("." + key.group(1)).nodes)
            return
        m = _SLICE.match(text)
        if not m:
            raise JSONPathError(f"invalid array index {text}")
        params: list[list[Any]] = []  # [known, value, derived]
        for i, group in enumerate(m.groups()):
            if group:
                number = group[1:] if i else group
                if i and not number:
                    params.append([False, 0, False])
                    continue
                try:
                    params.append([True, int(number), False])
                except ValueError:
                    raise JSONPathError(f"array index {number} is not a number") from None
            elif i == 1:
                params.append([True, params[0][1] + 1, True])
            else:
                params.append([False, 0, False])
        cur.append(Node("array", params))

    def filter(self, cur: list[Node]) -> None:
        self.pos += 3
        start, begin, end, pair = self.pos, False, False, ""
        while True:
            ch = self.peek()
            self.pos += 1
            if ch == "" or ch == "\n":
                raise JSONPathError("unterminated filter")
            if ch in "\"'":
                if not begin:
                    begin, pair = True, ch
                elif self.text[self.pos - 2] != "\\" and ch == pair:
                    end = True
            elif ch == ")" and begin == end:
                break
        if self.peek() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self.text[start:self.pos - 1]
        self.pos += 1
        m = _FILTER.match(text)
        if not m:
            cur.append(Node("filter", ("exists", _action(text), Node("list"))))
        else:
            cur.append(Node("filter", (m.group(2), _action(m.group(1)), _action(m.group(3)))))

    def quote(self, cur: list[Node], q: str) -> None:
        start = self.pos
        self.pos += 1
        while True:
            ch = self.peek()
            self.pos += 1
            if ch == "" or ch == "\n":
                raise JSONPathError("unterminated quoted string")
            if ch == q and self.text[self.pos - 2] != "\\":
                break
        raw = self.text[start:self.pos]
        try:
            cur.append(Node("text", gofmt.unquote(raw)))
        except ValueError:
            raise JSONPathError(f"unquote string {raw} error invalid syntax") from None


def _action(text: str) -> Node:
    """A piece parsed as one action (filter sides, union members, ``['key']``)."""
    p = _Parser("{" + text + "}")
    p.pos = 1
    node = Node("list")
    p.inside(node.nodes)
    return node


def parse(template: str) -> list[Node]:
    """The template's nodes, or :class:`JSONPathError` with the parser's message."""
    return _Parser(template).parse()


# -- evaluation ---------------------------------------------------------------------------------
def _children(value: Any) -> list[Any]:
    """A map's values (in sorted key order; Go's is random), a list's items, a string's bytes."""
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value.encode())
    return []


class _Run:
    def __init__(self, allow_missing: bool) -> None:
        self.allow_missing = allow_missing

    def results(self, nodes: list[Node], data: Any) -> list[list[Any]]:
        """Each top-level node's results, ranges expanded (FindResults)."""
        out: list[list[Any]] = []
        i = 0
        while i < len(nodes):
            node = nodes[i]
            if node.kind == "text":
                out.append([node.value])
            else:
                starts_range = any(n.kind == "identifier" and n.value == "range" for n in node.nodes)
                ends = any(n.kind == "identifier" and n.value == "end" for n in node.nodes)
                if ends and not starts_range:
                    raise ExecError("not in range, nothing to end")
                values = self.walk_list(node.nodes, [data])
                if starts_range:
                    end = _range_end(nodes, i + 1)
                    for v in values:
                        out.extend(self.results(nodes[i + 1:end], v))
                    i = end + 1
                    continue
                out.append(values)
            i += 1
        return out

    def walk_list(self, nodes: list[Node], values: list[Any]) -> list[Any]:
        for node in nodes:
            values = self.walk(node, values)
        return values

    def walk(self, node: Node, values: list[Any]) -> list[Any]:
        kind = node.kind
        if kind == "list":
            return self.walk_list(node.nodes, values)
        if kind in ("text", "int", "float", "bool"):
            return [node.value] * len(values) if kind != "text" else [node.value]
        if kind == "field":
            if not values:
                return []
            out = [v[node.value] for v in values if isinstance(v, dict) and node.value in v]
            if not out and not self.allow_missing:
                raise ExecError(f"{node.value} is not found")
            return out
        if kind == "wildcard":
            return [c for v in values if v is not None for c in _children(v)]
        if kind == "recursive":
            return self.recursive(values)
        if kind == "union":
            return [r for member in node.nodes for r in self.walk_list(member.nodes, values)]
        if kind == "array":
            return self.array(node.value, values)
        if kind == "filter":
            return self.filter(node.value, values)
        if kind == "identifier":
            if node.value == "range":
                return values
            if node.value == "end":
                return []
            raise ExecError(f"unrecognized identifier {node.value}")
        raise ExecError(f"unexpected Node {kind}")

    def recursive(self, values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if v is None:
                continue
            kids = _children(v)
            if kids:
                out.append(v)
                out.extend(self.recursive(kids))
        return out

    def array(self, params: list[list[Any]], values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if v is None:
                continue
            if not isinstance(v, list):
                raise ExecError(f"{gofmt.type_name(v)} is not array or slice")
            (k0, start, _), (k1, stop, derived1), (k2, step, _) = params
            n = len(v)
            start = start if k0 else 0
            if start < 0:
                start += n
            stop = stop if k1 else n
            if stop < 0 or (stop == 0 and derived1):
                stop += n
            if stop == start:
                return out
            if start >= n or start < 0:
                raise ExecError(f"array index out of bounds: index {start}, length {n}")
            if stop > n or stop < 0:
                raise ExecError(f"array index out of bounds: index {stop - 1}, length {n}")
            if start > stop:
                raise ExecError(f"starting index {start} is greater than ending index {stop}")
            if k2 and step <= 0:
                raise ExecError("step must be > 0")
            out.extend(v[start:stop:step if k2 else 1])
        return out

    def filter(self, spec: tuple[str, Node, Node], values: list[Any]) -> list[Any]:
        op, left, right = spec
        out: list[Any] = []
        for v in values:
            if not isinstance(v, list):
                raise ExecError(f"{gofmt.format_v(v)} is not array or slice and cannot be filtered")
            for item in v:
                if op == "exists":
                    try:
                        if self.walk_list(left.nodes, [item]):
                            out.append(item)
                    except ExecError:
                        pass
                    continue
                lefts = self.walk_list(left.nodes, [item])
                if not lefts:
                    continue
                if len(lefts) > 1:
                    raise ExecError("can only compare one element at a time")
                rights = self.walk_list(right.nodes, [item])
                if not rights:
                    continue
                if len(rights) > 1:
                    raise ExecError("can only compare one element at a time")
                ops = {"<": "lt", ">": "gt", "==": "eq", "!=": "ne", "<=": "le", ">=": "ge"}
                if op not in ops:
                    raise ExecError(f"unrecognized filter operator {op}")
                try:
                    if compare(ops[op], lefts[0], rights[0]):
                        out.append(item)
                except ValueError as e:
                    raise ExecError(str(e)) from None
        return out


def _range_end(nodes: list[Node], i: int) -> int:
    """The index of the ``{end}`` closing a range begun before ``i`` (the end if none)."""
    depth = 1
    while i < len(nodes):
        names = [n.value for n in nodes[i].nodes if n.kind == "identifier"]
        depth += names.count("range") - names.count("end")
        if depth <= 0:
            return i
        i += 1
    return len(nodes)


def text_of(value: Any) -> str:
    """How one result prints: maps and lists as compact JSON, the rest as Go's ``%v``."""
    if isinstance(value, (dict, list)):
        return go_json(value)
    if value is None:
        return "null"
    return gofmt.format_v(value)


def go_json(value: Any, indent: str | None = None) -> str:
    """encoding/json: sorted keys, ``<>&`` escaped."""
    text = json.dumps(value, separators=(",", ":") if indent is None else (",", ": "), sort_keys=True,
                      ensure_ascii=False, indent=indent)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def results(nodes: list[Node], data: Any, allow_missing: bool = True) -> list[list[Any]]:
    """Each action's values for ``data`` (text pieces included), ranges expanded."""
    return _Run(allow_missing).results(nodes, data)


def execute(nodes: list[Node], data: Any, allow_missing: bool = True, as_json: bool = False) -> str:
    """The template's output for ``data``; :class:`ExecError` when evaluation fails."""
    out = []
    for results in _Run(allow_missing).results(nodes, data):
        if as_json:
            out.append(go_json(results, "    ") + "\n")
        else:
            out.append(" ".join(text_of(r) for r in results))
    return "".join(out)


def evaluate(path: str, obj: Any) -> list[Any]:
    """Every value one action (``.items[*].metadata.name``) selects; missing fields select nothing."""
    results = _Run(True).results(parse("{" + path + "}"), obj)
    return [v for r in results for v in r]
