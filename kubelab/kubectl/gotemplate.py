"""Go's text/template as ``kubectl -o go-template`` runs it.

kubectl parses the template under the name ``output`` with two functions of its own
(``exists`` and ``base64decode``) and executes it on the object decoded from JSON. This is
a reimplementation of the language learners use with it: text, ``{{- -}}`` trimming,
comments, pipelines, fields and chains, variables and ``$``, ``if/else if/else``,
``range`` (with ``$i, $v :=``, ``else``, ``break``, ``continue``), ``with``, parenthesized
pipelines, literals, and the builtin functions, with Go's parse and execution messages
(``template: output:1: function "foo" not defined``,
``template: output:1:2: executing "output" at <len .x>: error calling len: ...``).
"""
from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from kubelab.kubectl import gofmt
from kubelab.kubectl.gofmt import GoInt, GoRune

NAME = "output"


class TemplateError(Exception):
    """A parse error (``template: output:LINE: ...``) or an execution error."""


class ParseError(TemplateError):
    """The template does not parse."""


class ExecError(TemplateError):
    """Execution failed."""


class _Missing:
    """Go's invalid reflect.Value: a missing map key, printed ``<no value>``."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_SPACE = " \t\r\n"
_UNICODE_SPACE = " \t\n\r\v\f\x85\xa0"


# -- lexer ----------------------------------------------------------------------------------
@dataclass
class Item:
    typ: str  # text, left, right, space, ident, keyword, field, var, dot, string, raw, char, number,
    #          bool, nil, pipe, declare, assign, lparen, rparen, char_item, eof
    val: str
    pos: int
    line: int

    def __str__(self) -> str:
        if self.typ == "eof":
            return "EOF"
        if self.typ == "keyword":
            return f"<{self.val}>"
        if len(self.val) > 10:
            return gofmt.go_quote(self.val[:10]) + "..."
        return gofmt.go_quote(self.val)


KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[bB][01_]*|"
                     r"0[oO][0-7_]*|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?")


class _LexError(Exception):
    def __init__(self, msg: str, line: int) -> None:
        super().__init__(msg)
        self.line = line


def _lex(text: str) -> list[Item]:
    """The template's items; a lexing error becomes a final ``error`` item, which the parser
    reports when it reaches it (as Go's concurrent lexer and parser do)."""
    items: list[Item] = []
    try:
        _lex_into(text, items)
    except _LexError as e:
        items.append(Item("error", str(e), len(text), e.line))
    return items


def _lex_into(text: str, items: list[Item]) -> None:
    pos, line = 0, 1
    trim_next = False

    def emit(typ: str, val: str, at: int) -> None:
        items.append(Item(typ, val, at, line))

    def fail(msg: str) -> None:
        raise _LexError(msg, line)

    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(_UNICODE_SPACE)
            trim_next = False
        if start < 0:
            if chunk:
                emit("text", chunk, pos)
            items.append(Item("eof", "", len(text), line + chunk.count("\n")))
            return
        left_trim = text[start + 2:start + 3] == "-" and text[start + 3:start + 4] in list(_SPACE)
        if left_trim:
            chunk = chunk.rstrip(_UNICODE_SPACE)
        if chunk:
            emit("text", chunk, pos)
        line += text[pos:start].count("\n")
        pos = start + 2 + (2 if left_trim else 0)
        if text.startswith("/*", pos) or (left_trim and text.startswith("/*", pos)):
            end = text.find("*/", pos)
            if end < 0:
                fail("unclosed comment")
            line += text[pos:end].count("\n")
            pos = end + 2
            if text.startswith("}}", pos):
                pos += 2
            elif text[pos:pos + 1] in list(_SPACE) and text.startswith("-}}", pos + 1):
                pos += 4
                trim_next = True
            else:
                fail("comment ends before closing delimiter")
            continue
        emit("left", "{{", start)
        depth = 0
        while True:
            if text.startswith("}}", pos) or (text[pos:pos + 1] in list(_SPACE) and text.startswith("-}}", pos + 1)):
                if depth:
                    fail("unclosed left paren")
                if not text.startswith("}}", pos):
                    pos += 2
                    trim_next = True
                emit("right", "}}", pos)
                pos += 2
                break
            if pos >= len(text):
                fail("unclosed action")
            ch = text[pos]
            if ch in _SPACE:
                end = pos
                while end < len(text) and text[end] in _SPACE and not (
                        text.startswith(" -}}", end) or text.startswith("\t-}}", end)
                        or text.startswith("\n-}}", end) or text.startswith("\r-}}", end)):
                    end += 1
                if end == pos:  # a trim marker right here
                    continue
                line += text[pos:end].count("\n")
                emit("space", text[pos:end], pos)
                pos = end
            elif ch == "=":
                emit("assign", "=", pos)
                pos += 1
            elif ch == ":":
                if text[pos + 1:pos + 2] != "=":
                    fail("expected :=")
                emit("declare", ":=", pos)
                pos += 2
            elif ch == "|":
                emit("pipe", "|", pos)
                pos += 1
            elif ch == '"':
                end = pos + 1
                while True:
                    if end >= len(text) or text[end] == "\n":
                        fail("unterminated quoted string")
                    if text[end] == "\\" and end + 1 < len(text) and text[end + 1] != "\n":
                        end += 2
                        continue
                    if text[end] == '"':
                        break
                    end += 1
                emit("string", text[pos:end + 1], pos)
                pos = end + 1
            elif ch == "`":
                end = text.find("`", pos + 1)
                if end < 0:
                    fail("unterminated raw quoted string")
                emit("raw", text[pos:end + 1], pos)
                line += text[pos:end].count("\n")
                pos = end + 1
            elif ch == "'":
                end = pos + 1
                while True:
                    if end >= len(text) or text[end] == "\n":
                        fail("unterminated character constant")
                    if text[end] == "\\":
                        end += 2
                        continue
                    if text[end] == "'":
                        break
                    end += 1
                emit("char", text[pos:end + 1], pos)
                pos = end + 1
            elif ch == "$" or (ch == "." and not text[pos + 1:pos + 2].isdigit()):
                end = pos + 1
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                if end == pos + 1 and _at_terminator(text, end):
                    emit("var" if ch == "$" else "dot", ch, pos)
                else:
                    if not _at_terminator(text, end):
                        fail(f"bad character {gofmt.rune(text[end])}")
                    emit("var" if ch == "$" else "field", text[pos:end], pos)
                pos = end
            elif ch in "+-." or ch.isdigit():
                m = _NUMBER.match(text, pos)
                end = m.end() if m and m.end() > pos else pos + 1
                if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                        end += 1
                    fail(f"bad number syntax: {gofmt.go_quote(text[pos:end])}")
                emit("number", text[pos:end], pos)
                pos = end
            elif ch.isalpha() or ch == "_":
                end = pos
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                word = text[pos:end]
                typ = ("keyword" if word in KEYWORDS else "bool" if word in ("true", "false")
                       else "nil" if word == "nil" else "ident")
                if not _at_terminator(text, end):
                    fail(f"bad character {gofmt.rune(text[end])}")
                emit(typ, word, pos)
                pos = end
            elif ch == "(":
                depth += 1
                emit("lparen", "(", pos)
                pos += 1
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    fail("unexpected right paren")
                emit("rparen", ")", pos)
                pos += 1
            elif ord(ch) < 0x80 and ch.isprintable():
                emit("char_item", ch, pos)
                pos += 1
            else:
                fail(f"bad character {gofmt.rune(ch)}")


def _at_terminator(text: str, pos: int) -> bool:
    return pos >= len(text) or text[pos] in _SPACE + ".,|:()" or text.startswith("}}", pos)


# -- parse tree -----------------------------------------------------------------------------
@dataclass
class Node:
    """A parse node. ``kind``: text, action, if, with, range, break, continue, pipe, command,
    field, var, dot, chain, string, number, bool, nil, ident."""

    kind: str
    pos: int = 0
    line: int = 0
    value: Any = None          # literal value / text / names
    text: str = ""             # original text of a literal
    nodes: list["Node"] = field(default_factory=list)   # command args / pipe commands / list
    decl: list["Node"] = field(default_factory=list)    # pipe variables
    assign: bool = False
    pipe: "Node | None" = None
    body: list["Node"] = field(default_factory=list)
    orelse: list["Node"] = field(default_factory=list)

    def __str__(self) -> str:
        k = self.kind
        if k in ("field", "var"):
            return ("." if k == "field" else "") + ".".join(self.value)
        if k == "dot":
            return "."
        if k == "nil":
            return "nil"
        if k in ("string", "number"):
            return self.text
        if k == "bool":
            return "true" if self.value else "false"
        if k == "ident":
            return self.value
        if k == "chain":
            inner = self.nodes[0]
            return (f"({inner})" if inner.kind == "pipe" else str(inner)) + "".join("." + f for f in self.value)
        if k == "command":
            return " ".join(f"({a})" if a.kind == "pipe" else str(a) for a in self.nodes)
        if k == "pipe":
            text = ""
            if self.decl:
                text = ", ".join(str(v) for v in self.decl) + (" = " if self.assign else " := ")
            return text + " | ".join(str(c) for c in self.nodes)
        if k == "action":
            return "{{" + str(self.pipe) + "}}"
        if k == "template":
            return "{{template " + self.text + (f" {self.pipe}" if self.pipe else "") + "}}"
        return "{{" + k + "}}"


FUNCS: dict[str, Callable[..., Any]] = {}


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.i = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.defs: dict[str, list[Node]] = {}

    # token helpers
    def next(self) -> Item:
        item = self.items[self.i]
        self.i += 1
        return item

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> Item:
        return self.items[self.i]

    def next_non_space(self) -> Item:
        item = self.next()
        while item.typ == "space":
            item = self.next()
        return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def fail(self, msg: str, item: Item | None = None) -> None:
        line = (item or self.items[max(self.i - 1, 0)]).line
        raise ParseError(f"template: {NAME}:{line}: {msg}")

    def unexpected(self, item: Item, context: str) -> None:
        if item.typ == "error":
            self.fail(item.val, item)
        self.fail(f"unexpected {item} in {context}", item)

    def expect(self, typ: str, context: str) -> Item:
        item = self.next_non_space()
        if item.typ != typ:
            self.unexpected(item, context)
        return item

    # structure
    def parse(self) -> list[Node]:
        out: list[Node] = []
        while self.peek().typ != "eof":
            if self.peek().typ == "left":
                start = self.i
                self.next()
                word = self.next_non_space()
                if word.typ == "keyword" and word.val == "define":
                    self.definition("define clause")
                    continue
                self.i = start
            n = self.text_or_action()
            if n.kind in ("end", "else"):
                self.fail(f"unexpected {{{{{n.kind}}}}}")
            out.append(n)
        return out

    def item_list(self) -> tuple[list[Node], Node]:
        out: list[Node] = []
        while self.peek_non_space().typ != "eof":
            n = self.text_or_action()
            if n.kind in ("end", "else"):
                return out, n
            out.append(n)
        self.fail("unexpected EOF")
        raise AssertionError

    def text_or_action(self) -> Node:
        item = self.next_non_space()
        if item.typ == "text":
            return Node("text", item.pos, item.line, item.val)
        if item.typ == "left":
            return self.action()
        self.unexpected(item, "input")
        raise AssertionError

    def action(self) -> Node:
        item = self.next_non_space()
        if item.typ == "keyword":
            word = item.val
            if word == "end":
                self.expect("right", "end")
                return Node("end", item.pos, item.line)
            if word == "else":
                nxt = self.peek_non_space()
                if nxt.typ == "keyword" and nxt.val in ("if", "with"):
                    return Node("else", item.pos, item.line, value=nxt.val)
                self.expect("right", "else")
                return Node("else", item.pos, item.line)
            if word in ("if", "with", "range"):
                return self.control(word, item)
            if word in ("break", "continue"):
                if not self.range_depth:
                    self.fail(f"{{{{{word}}}}} outside {{{{range}}}}", item)
                self.expect("right", f"{{{{{word}}}}}")
                return Node(word, item.pos, item.line)
            if word in ("template", "block"):
                return self.template_call(word)
        self.backup()
        pipe = self.pipeline("command", "right")
        return Node("action", item.pos, item.line, pipe=pipe)

    def template_name(self, context: str) -> str:
        item = self.next_non_space()
        if item.typ not in ("string", "raw"):
            self.unexpected(item, context)
        return item.val[1:-1] if item.typ == "raw" else gofmt.unquote(item.val)

    def definition(self, context: str) -> str:
        """``{{define "name"}}...{{end}}``: the body is kept for ``{{template}}``."""
        name = self.template_name(context)
        self.expect("right", context)
        self.named_body(name)
        return name

    def named_body(self, name: str) -> None:
        """The body of a ``define`` or ``block`` up to its ``{{end}}``; it sees only ``$``."""
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if end.kind != "end":
            self.fail(f"unexpected {{{{{end.kind}}}}}")
        self.defs[name] = body

    def template_call(self, word: str) -> Node:
        context = "template clause" if word == "template" else "block clause"
        name_item = self.peek_non_space()
        name = self.template_name(context)
        node = Node("template", name_item.pos, name_item.line, name, text=name_item.val)
        if self.next_non_space().typ != "right":
            self.backup()
            node.pipe = self.pipeline(context, "right")
        if word == "block":
            self.named_body(name)
        return node

    def control(self, context: str, item: Item) -> Node:
        saved = len(self.vars)
        pipe = self.pipeline(context, "right")
        if context == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if context == "range":
            self.range_depth -= 1
        orelse: list[Node] = []
        if nxt.kind == "else":
            if nxt.value and nxt.value == context and context in ("if", "with"):
                self.next_non_space()  # the if/with keyword, parsed as a nested control ending at our end
                orelse = [self.control(context, item)]
            else:
                if nxt.value:
                    self.fail(f"unexpected <{nxt.value}> in input")
                orelse, nxt = self.item_list()
                if nxt.kind != "end":
                    self.fail(f"expected end; found {{{{{nxt.kind}}}}}")
        del self.vars[saved:]
        return Node(context, pipe.pos, item.line, pipe=pipe, body=body, orelse=orelse)

    def pipeline(self, context: str, end: str) -> Node:
        first = self.peek_non_space()
        pipe = Node("pipe", first.pos, first.line)
        # declarations
        if first.typ == "var":
            start = self.i
            v = self.next_non_space()
            nxt = self.next_non_space() if self.peek().typ == "space" else self.next()
            if nxt.typ in ("declare", "assign") or (nxt.typ == "char_item" and nxt.val == ","):
                pipe.assign = nxt.typ == "assign"
                pipe.decl.append(Node("var", v.pos, v.line, [v.val]))
                if nxt.typ != "assign":
                    self.vars.append(v.val)
                if nxt.typ == "char_item":
                    if context != "range" or len(pipe.decl) > 1:
                        self.fail(f"too many declarations in {context}" if context == "range"
                                  else "range can only initialize variables")
                    v2 = self.next_non_space()
                    if v2.typ != "var":
                        self.fail(f"unexpected {v2} in range")
                    op = self.next_non_space()
                    if op.typ not in ("declare", "assign"):
                        self.fail(f"unexpected {op} in range")
                    pipe.decl.append(Node("var", v2.pos, v2.line, [v2.val]))
                    self.vars.append(v2.val)
            else:
                self.i = start
        while True:
            item = self.next_non_space()
            if item.typ == end:
                if not pipe.nodes:
                    self.fail(f"missing value for {context}", item)
                for n, cmd in enumerate(pipe.nodes[1:], 2):
                    if cmd.nodes[0].kind in ("bool", "dot", "nil", "number", "string"):
                        self.fail(f"non executable command in pipeline stage {n}", item)
                return pipe
            if item.typ in ("bool", "char", "number", "dot", "field", "ident", "nil", "raw", "string", "var",
                            "lparen"):
                self.backup()
                pipe.nodes.append(self.command())
            else:
                self.unexpected(item, context)

    def command(self) -> Node:
        cmd = Node("command", self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.nodes.append(operand)
            item = self.next()
            if item.typ == "space":
                continue
            if item.typ in ("right", "rparen"):
                self.backup()
            elif item.typ != "pipe":
                self.unexpected(item, "operand")
            break
        if not cmd.nodes:
            self.fail("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == "field":
            chain_pos = self.peek().pos
            fields = []
            while self.peek().typ == "field":
                fields.append(self.next().val[1:])
            if node.kind == "field":
                return Node("field", chain_pos, node.line, node.value + fields)
            if node.kind == "var":
                return Node("var", chain_pos, node.line, node.value + fields)
            if node.kind in ("bool", "string", "number", "nil", "dot"):
                self.fail(f"unexpected . after term {gofmt.go_quote(str(node))}")
            return Node("chain", chain_pos, node.line, fields, nodes=[node])
        return node

    def term(self) -> Node | None:
        item = self.next_non_space()
        t = item.typ
        if t == "ident":
            if item.val not in FUNCS:
                self.fail(f"function {gofmt.go_quote(item.val)} not defined", item)
            return Node("ident", item.pos, item.line, item.val)
        if t == "dot":
            return Node("dot", item.pos, item.line)
        if t == "nil":
            return Node("nil", item.pos, item.line)
        if t == "var":
            if item.val not in self.vars:
                self.fail(f"undefined variable {gofmt.go_quote(item.val)}", item)
            return Node("var", item.pos, item.line, [item.val])
        if t == "field":
            return Node("field", item.pos, item.line, [item.val[1:]])
        if t == "bool":
            return Node("bool", item.pos, item.line, item.val == "true")
        if t in ("number", "char"):
            return Node("number", item.pos, item.line, self.number(item), item.val)
        if t == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        if t in ("string", "raw"):
            try:
                value = item.val[1:-1] if t == "raw" else gofmt.unquote(item.val)
            except ValueError:
                self.fail("invalid syntax", item)
            return Node("string", item.pos, item.line, value, item.val)
        self.backup()
        return None

    def number(self, item: Item) -> Any:
        text = item.val
        if item.typ == "char":
            try:
                ch = gofmt.unquote('"' + text[1:-1].replace('"', '\\"') + '"') if text[1:2] == "\\" else text[1:-1]
            except ValueError:
                ch = ""
            if len(ch) != 1:
                self.fail(f"malformed character constant: {text}", item)
            return GoRune(ord(ch))
        clean = text.replace("_", "")
        try:
            return GoInt(int(clean, 0))
        except ValueError:
            pass
        try:
            if clean.lower().startswith(("0x", "-0x", "+0x")):
                return float.fromhex(clean)
            return float(clean)
        except ValueError:
            self.fail(f"illegal number syntax: {gofmt.go_quote(text)}", item)


# -- values ---------------------------------------------------------------------------------
def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil, missing and empty strings, maps and lists are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, dict, list)):
        return len(value) > 0
    return True


def _basic(value: Any) -> str:
    if value is MISSING or value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def compare(op: str, a: Any, b: Any) -> bool:
    """Go's eq/ne/lt/le/gt/ge on two values; ValueError with Go's message when they can't compare."""
    if op == "eq":
        ka, kb = _basic(a), _basic(b)
        if ka != kb:
            if ka != "invalid" and kb != "invalid":
                raise ValueError("incompatible types for comparison")
            return False
        if ka == "other":
            if type(a) is not type(b):
                raise ValueError(f"non-comparable types {gofmt.format_v(a)}: {gofmt.type_name(a)}, "
                                 f"{gofmt.type_name(b)}: {gofmt.format_v(b)}")
            raise ValueError(f"non-comparable type {gofmt.format_v(b)}: {gofmt.type_name(b)}")
        return a == b if ka != "invalid" else True
    if op == "ne":
        return not compare("eq", a, b)
    if op == "lt":
        ka, kb = _basic(a), _basic(b)
        if ka in ("invalid", "other") or kb in ("invalid", "other"):
            raise ValueError("invalid type for comparison")
        if ka != kb:
            raise ValueError("incompatible types for comparison")
        if ka == "bool":
            raise ValueError("invalid type for comparison")
        return a < b
    if op == "le":
        return compare("lt", a, b) or compare("eq", a, b)
    if op == "gt":
        return not compare("le", a, b)
    if op == "ge":
        return not compare("lt", a, b)
    raise ValueError(op)


def _b64decode(text: str) -> str:
    """Go's base64.StdEncoding.DecodeString, with its ``illegal base64 data at input byte N``."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    chars = [(i, c) for i, c in enumerate(text) if c not in "\r\n"]
    for q in range(0, len(chars), 4):
        quantum = chars[q:q + 4]
        for j, (i, c) in enumerate(quantum):
            if c == "=":
                if j < 2:
                    raise ValueError(f"base64 decode failed: illegal base64 data at input byte {i}")
                rest = chars[q + j + 1:]
                if j == 2:
                    if not rest:
                        raise ValueError(f"base64 decode failed: illegal base64 data at input byte {len(text)}")
                    if rest[0][1] != "=":
                        raise ValueError(f"base64 decode failed: illegal base64 data at input byte {rest[0][0]}")
                    rest = rest[1:]
                if rest:
                    raise ValueError(f"base64 decode failed: illegal base64 data at input byte {rest[0][0]}")
                break
            if c not in alphabet:
                raise ValueError(f"base64 decode failed: illegal base64 data at input byte {i}")
        else:
            if len(quantum) < 4:
                raise ValueError(f"base64 decode failed: illegal base64 data at input byte {quantum[0][0]}")
    data = base64.b64decode("".join(c for _, c in chars))
    return data.decode("utf-8", errors="replace")


def _index(item: Any, *indexes: Any) -> Any:
    if item is MISSING or item is None:
        raise ValueError("index of untyped nil")
    for ix in indexes:
        if item is None or item is MISSING:
            raise ValueError("index of nil pointer")
        if isinstance(item, (list, str)):
            if ix is MISSING or ix is None:
                raise ValueError("cannot index slice/array with nil")
            if not isinstance(ix, int) or isinstance(ix, bool):
                raise ValueError(f"cannot index slice/array with type {gofmt.type_name(ix)}")
            if ix < 0 or ix >= len(item):
                raise ValueError(f"index out of range: {ix}")
            item = item[ix] if isinstance(item, list) else item.encode()[ix]
        elif isinstance(item, dict):
            if not isinstance(ix, str):
                raise ValueError(f"value has type {gofmt.type_name(ix)}; should be string")
            item = item.get(ix)
        else:
            raise ValueError(f"can't index item of type {gofmt.type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is MISSING or item is None:
        raise ValueError("slice of untyped nil")
    if len(indexes) > 3:
        raise ValueError(f"too many slice indexes: {len(indexes)}")
    if not isinstance(item, (list, str)):
        raise ValueError(f"can't slice item of type {gofmt.type_name(item)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise ValueError("cannot 3-index slice a string")
    bounds = [int(i) for i in indexes]
    for b in bounds:
        if b < 0 or b > len(item):
            raise ValueError(f"index out of range: {b}")
    for x, y in zip(bounds, bounds[1:]):
        if x > y:
            raise ValueError(f"invalid slice index: {x} > {y}")
    if isinstance(item, str):
        return item.encode()[slice(*bounds[:2]) if bounds else slice(None)].decode("utf-8", errors="replace")
    return item[slice(bounds[0] if bounds else None, bounds[1] if len(bounds) > 1 else None)]


def _length(item: Any) -> int:
    if item is MISSING:
        raise ValueError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise ValueError("len of nil pointer")
    if isinstance(item, (dict, list)):
        return GoInt(len(item))
    if isinstance(item, str):
        return GoInt(len(item.encode()))
    raise ValueError(f"len of type {gofmt.type_name(item)}")


def _exists(item: Any, *indexes: Any) -> bool:
    for ix in indexes:
        if item is None or item is MISSING:
            return False
        if isinstance(item, (list, str)):
            if not isinstance(ix, int) or isinstance(ix, bool) or ix < 0 or ix >= len(item):
                return False
            item = item[ix]
        elif isinstance(item, dict):
            if not isinstance(ix, str):
                return False
            item = item.get(ix)
        else:
            return False
    return item is not None and item is not MISSING


def _html(*args: Any) -> str:
    text = gofmt.sprint([None if a is MISSING else a for a in args])
    return (text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("\0", "\ufffd"))


def _js(*args: Any) -> str:
    text = gofmt.sprint([None if a is MISSING else a for a in args])
    repl = {"\\": "\\\\", "'": "\\'", '"': "\\\"", "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D",
            "\n": "\\u000A", "\r": "\\u000D", "\t": "\\u0009"}
    return "".join(repl.get(c, c) for c in text)


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(gofmt.sprint([None if a is MISSING else a for a in args]), safe="~")


# name: (function, fixed argument count, variadic, argument type: "value" (reflect.Value: sees
# missing values), "any" (interface{}: missing is nil), "string")
_BUILTINS: dict[str, tuple[Callable[..., Any], int, bool, str]] = {
    "and": (lambda *a: a, 1, True, "value"),
    "or": (lambda *a: a, 1, True, "value"),
    "not": (lambda a: not truth(a), 1, False, "value"),
    "len": (_length, 1, False, "value"),
    "index": (_index, 1, True, "value"),
    "slice": (_slice, 1, True, "value"),
    "print": (lambda *a: gofmt.sprint(list(a)), 0, True, "any"),
    "println": (lambda *a: gofmt.sprintln(list(a)), 0, True, "any"),
    "printf": (lambda f, *a: gofmt.sprintf(f, list(a)), 1, True, "string"),
    "eq": (lambda a, *b: any(compare("eq", a, x) for x in b) if b else _no_comparison(), 1, True, "value"),
    "ne": (lambda a, b: compare("ne", a, b), 2, False, "value"),
    "lt": (lambda a, b: compare("lt", a, b), 2, False, "value"),
    "le": (lambda a, b: compare("le", a, b), 2, False, "value"),
    "gt": (lambda a, b: compare("gt", a, b), 2, False, "value"),
    "ge": (lambda a, b: compare("ge", a, b), 2, False, "value"),
    "html": (_html, 0, True, "value"),
    "js": (_js, 0, True, "value"),
    "urlquery": (_urlquery, 0, True, "value"),
    "exists": (_exists, 1, True, "any"),
    "base64decode": (_b64decode, 1, False, "string"),
}
FUNCS.update({k: v[0] for k, v in _BUILTINS.items()})


def _no_comparison() -> bool:
    raise ValueError("missing argument for comparison")


# -- execution ------------------------------------------------------------------------------
class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    def __init__(self, text: str, root: Any, missing_error: bool, defs: dict[str, list[Node]]) -> None:
        self.text = text
        self.defs = defs
        self.vars: list[tuple[str, Any]] = [("$", root)]
        self.out: list[str] = []
        self.at_node: Node | None = None
        self.missing_error = missing_error

    def at(self, node: Node) -> None:
        self.at_node = node

    def fail(self, msg: str) -> None:
        node = self.at_node
        pos = node.pos if node else 0
        before = self.text[:pos]
        line = before.count("\n") + 1
        col = pos - (before.rfind("\n") + 1)
        context = str(node) if node else ""
        raise ExecError(f'template: {NAME}:{line}:{col}: executing "{NAME}" at <{context}>: {msg}')

    def var(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        self.fail(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return

    def walk_list(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            self.walk(dot, node)

    def walk(self, dot: Any, node: Node) -> None:
        self.at(node)
        k = node.kind
        if k == "text":
            self.out.append(node.value)
        elif k == "action":
            assert node.pipe is not None
            value = self.pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append("<no value>" if value is MISSING else gofmt.format_v(value))
        elif k in ("if", "with"):
            assert node.pipe is not None
            mark = len(self.vars)
            value = self.pipeline(dot, node.pipe)
            if truth(value):
                self.walk_list(value if k == "with" else dot, node.body)
            else:
                self.walk_list(dot, node.orelse)
            del self.vars[mark:]
        elif k == "range":
            self.walk_range(dot, node)
        elif k == "template":
            body = self.defs.get(node.value)
            if body is None:
                self.fail(f"template {gofmt.go_quote(node.value)} not defined")
            value = self.pipeline(dot, node.pipe) if node.pipe else None
            saved = self.vars
            self.vars = [("$", value)]
            self.walk_list(value, body)
            self.vars = saved
        elif k == "break":
            raise _Break()
        elif k == "continue":
            raise _Continue()

    def walk_range(self, dot: Any, node: Node) -> None:
        assert node.pipe is not None
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        del self.vars[mark:]
        if isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list):
            pairs = [(GoInt(i), v) for i, v in enumerate(value)]
        elif value is MISSING:
            pairs = []
        else:
            self.fail(f"range can't iterate over {gofmt.format_v(value)}")
        for key, elem in pairs:
            mark = len(self.vars)
            decl = node.pipe.decl
            if len(decl) == 1:
                self.vars.append((decl[0].value[0], elem))
            elif len(decl) == 2:
                self.vars.append((decl[0].value[0], key))
                self.vars.append((decl[1].value[0], elem))
            try:
                self.walk_list(elem, node.body)
            except _Continue:
                pass
            except _Break:
                del self.vars[mark:]
                break
            del self.vars[mark:]
        if not pairs:
            self.walk_list(dot, node.orelse)

    def pipeline(self, dot: Any, pipe: Node) -> Any:
        self.at(pipe)
        value = MISSING
        for cmd in pipe.nodes:
            value = self.command(dot, cmd, value)
        if value is None:
            value = MISSING
        for var in pipe.decl:
            if pipe.assign:
                self.set_var(var.value[0], value)
            else:
                self.vars.append((var.value[0], value))
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not MISSING:
            self.fail(f"can't give argument to non-function {args[0]}")

    def command(self, dot: Any, cmd: Node, final: Any) -> Any:
        first = cmd.nodes[0]
        k = first.kind
        if k == "field":
            self.at(first)
            return self.field_chain(dot, first, first.value, cmd.nodes, final)
        if k == "chain":
            self.at(first)
            receiver = self.arg(dot, first.nodes[0], "value")
            return self.field_chain(receiver, first, first.value, cmd.nodes, final)
        if k == "ident":
            return self.call(dot, first, cmd, final)
        if k == "pipe":
            self.not_a_function(cmd.nodes, final)
            return self.pipeline(dot, first)
        if k == "var":
            self.at(first)
            value = self.var(first.value[0])
            if len(first.value) == 1:
                self.not_a_function(cmd.nodes, final)
                return value
            return self.field_chain(value, first, first.value[1:], cmd.nodes, final)
        self.at(first)
        self.not_a_function(cmd.nodes, final)
        if k == "nil":
            self.fail("nil is not a command")
        if k == "dot":
            return dot
        return first.value

    def field_chain(self, receiver: Any, node: Node, names: list[str], args: list[Node], final: Any) -> Any:
        for name in names[:-1]:
            receiver = self.field(name, receiver, False)
        has_args = len(args) > 1 or final is not MISSING
        return self.field(names[-1], receiver, has_args)

    def field(self, name: str, receiver: Any, has_args: bool) -> Any:
        if receiver is MISSING:
            if self.missing_error:
                self.fail(f"nil data; no entry for key {gofmt.go_quote(name)}")
            return MISSING
        if receiver is None:
            self.fail(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if has_args:
                self.fail(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missing_error:
                self.fail(f"map has no entry for key {gofmt.go_quote(name)}")
            return MISSING
        self.fail(f"can't evaluate field {name} in type interface {{}}")

    def arg(self, dot: Any, node: Node, typ: str) -> Any:
        """One argument, for a parameter of type "value" (sees missing values), "any" or "string"."""
        self.at(node)
        k = node.kind
        if k == "dot":
            value = dot
        elif k == "nil":
            if typ == "string":
                self.fail("cannot assign nil to string")
            return None
        elif k == "field":
            value = self.field_chain(dot, node, node.value, [node], MISSING)
        elif k == "var":
            value = self.var(node.value[0])
            if len(node.value) > 1:
                value = self.field_chain(value, node, node.value[1:], [node], MISSING)
        elif k == "pipe":
            value = self.pipeline(dot, node)
        elif k == "ident":
            value = self.call(dot, node, Node("command", node.pos, nodes=[node]), MISSING)
        elif k == "chain":
            receiver = self.arg(dot, node.nodes[0], "value")
            value = self.field_chain(receiver, node, node.value, [node], MISSING)
        else:
            if typ == "string" and k != "string":
                self.fail(f"expected string; found {node}")
            return node.value
        return self.validate(value, typ)

    def validate(self, value: Any, typ: str) -> Any:
        if typ == "value":
            return value
        if value is MISSING:
            if typ == "any":
                return None
            self.fail(f"invalid value; expected {typ}")
        if typ == "string" and not isinstance(value, str):
            self.fail(f"wrong type for value; expected string; got "
                      f"{'interface {}' if value is None else gofmt.type_name(value)}")
        return value

    def call(self, dot: Any, ident: Node, cmd: Node, final: Any) -> Any:
        self.at(ident)
        name = ident.value
        fn, fixed, variadic, typ = _BUILTINS[name]
        args = cmd.nodes[1:]
        count = len(args) + (final is not MISSING)
        if variadic and count < fixed:
            self.fail(f"wrong number of args for {name}: want at least {fixed} got {len(args)}")
        if not variadic and count != fixed:
            self.fail(f"wrong number of args for {name}: want {fixed} got {count}")
        if name in ("and", "or"):
            value = MISSING
            for a in args:
                value = self.arg(dot, a, "value")
                if truth(value) == (name == "or"):
                    return value
            if final is not MISSING:
                value = final
            return value
        types = [typ if name != "printf" or i == 0 else "any" for i in range(len(args))]
        values = [self.arg(dot, a, t) for a, t in zip(args, types)]
        if final is not MISSING:
            values.append(self.validate(final, "any" if name == "printf" and values else typ))
        try:
            return fn(*values)
        except ValueError as e:
            self.at(cmd)
            self.fail(f"error calling {name}: {e}")


@dataclass
class Template:
    """A parsed template; :meth:`execute` runs it on decoded JSON."""

    text: str
    nodes: list[Node]
    defs: dict[str, list[Node]]

    def execute(self, data: Any, missing_error: bool = False) -> str:
        """The output; :class:`ExecError` with Go's message when execution fails. Output
        written before the failure is in the error's ``partial`` attribute."""
        state = _State(self.text, data, missing_error, self.defs)
        try:
            state.walk_list(data, self.nodes)
        except ExecError as e:
            e.partial = "".join(state.out)  # type: ignore[attr-defined]
            raise
        return "".join(state.out)


def parse(text: str) -> Template:
    """Parse a template as kubectl does (name ``output``); :class:`ParseError` when it can't."""
    parser = _Parser(text)
    nodes = parser.parse()
    return Template(text, nodes, parser.defs)
