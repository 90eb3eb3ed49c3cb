"""Bytes to JSON-like values with the limits Kubernetes' decoders have.

kubectl and kube-apiserver read YAML through sigs.k8s.io/yaml (its fork of go-yaml v2) and
JSON through Go's encoding/json. Both refuse some inputs before any schema is consulted, and
those refusals are what keep a 544-byte alias bomb or ``[`` x 100,000 from eating a kernel:

- go-yaml's scanner stops at 10,000 nested block indents or flow levels
  (``exceeded max depth of 10000``); encoding/json at 10,000 nested values
  (``invalid character '[' exceeded max depth``).
- go-yaml's decoder counts the nodes it decodes and those reached through an alias, and fails
  when aliases make up too much of the document (decoder.unmarshal and allowedAliasRatio in
  decode.go): ``document contains excessive aliasing``.
- kubectl reads files and stdin through ``unicode.BOMOverride(unicode.UTF8.NewDecoder())``:
  a UTF-8 or UTF-16 byte-order mark picks the encoding, and invalid UTF-8 becomes U+FFFD.

Python recurses where Go loops, so values nested deeper than ``KEPT_DEPTH`` (far deeper than
any 1.32 kind's schema) are kept as empty containers of their type: the strict decoder still
rejects them where the real one does (an unknown field or a type mismatch higher up), and
nothing downstream recurses past Python's limit.
"""
from __future__ import annotations

import codecs
import json
import re
from typing import Any, Iterator

import yaml

MAX_DEPTH = 10000  # go-yaml's max_indents and max_flow_level; encoding/json's maxNestingDepth
KEPT_DEPTH = 100
_ALIAS_LOW, _ALIAS_HIGH = 400_000, 4_000_000  # decode.go's alias_ratio_range_low/high


class GoYAMLError(yaml.YAMLError):
    """A refusal go-yaml makes that PyYAML does not; ``str()`` is go-yaml's text after ``yaml: ``."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)


class GoJSONError(ValueError):
    """encoding/json's SyntaxError: its message and the byte offset it stopped at."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def decode_bytes(data: bytes) -> str:
    """Text as kubectl reads a manifest: BOMOverride(UTF8 decoder)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("utf-8", errors="replace")


def allowed_alias_ratio(decode_count: int) -> float:
    """decode.go's allowedAliasRatio: 99% for small documents, down to 10% for huge ones."""
    if decode_count <= _ALIAS_LOW:
        return 0.99
    if decode_count >= _ALIAS_HIGH:
        return 0.10
    return 0.99 - 0.89 * ((decode_count - _ALIAS_LOW) / (_ALIAS_HIGH - _ALIAS_LOW))


# -- JSON ---------------------------------------------------------------------------------
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def json_loads(data: str | bytes) -> Any:
    """``json.loads`` with encoding/json's depth limit, and values past ``KEPT_DEPTH`` emptied.

    One pass over the brackets outside strings finds the depth; a document within Python's
    reach is handed to ``json.loads`` as it is."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    depth, cut_from, pieces, last = 0, -1, [], 0
    for m in _JSON_TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                offset = len(text[:m.end()].encode("utf-8"))
                raise GoJSONError(f"invalid character '{token}' exceeded max depth", offset)
            if depth == KEPT_DEPTH + 1:
                cut_from = m.start()
        elif token in "]}":
            if depth == KEPT_DEPTH + 1 and cut_from >= 0:
                pieces.append(text[last:cut_from])
                pieces.append("[]" if token == "]" else "{}")
                last, cut_from = m.end(), -1
            depth -= 1
    if pieces:
        text = "".join(pieces) + text[last:]
    return json.loads(text)


# -- YAML ---------------------------------------------------------------------------------
_SPACES = re.compile(" *")


class _Loader(yaml.SafeLoader):
    """PyYAML's pure-Python scanner and parser (neither recurses) with go-yaml's depth limits."""

    def add_indent(self, column: int) -> bool:
        added = super().add_indent(column)
        if added and len(self.indents) > MAX_DEPTH:  # yaml_parser_roll_indent
            raise GoYAMLError(f"exceeded max depth of {MAX_DEPTH}", _go_line(self.get_mark().line))
        return added

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level + 1 > MAX_DEPTH:  # yaml_parser_increase_flow_level
            raise GoYAMLError(f"exceeded max depth of {MAX_DEPTH}", _go_line(self.get_mark().line))
        super().fetch_flow_collection_start(TokenClass)

    def scan_to_next_token(self) -> None:
        """PyYAML's, with runs of spaces skipped at once: a deep block document is mostly
        indentation, and PyYAML moves over it one character per call."""
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        while True:
            run = _SPACES.match(self.buffer, self.pointer).end() - self.pointer
            self.pointer += run
            self.index += run
            self.column += run
            if self.peek() == "#":
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    # PyYAML scans every open flow level's possible simple key per token: quadratic in the
    # depth. Keys are kept in the order they were saved (token number, line and index all
    # grow), so the next one is the first and the stale ones are a prefix.
    def next_possible_simple_key(self) -> int | None:
        for key in self.possible_simple_keys.values():
            return key.token_number
        return None

    def stale_possible_simple_keys(self) -> None:
        keys = self.possible_simple_keys
        while keys:
            level = next(iter(keys))
            key = keys[level]
            if key.line == self.line and self.index - key.index <= 1024:
                return
            if key.required:
                raise yaml.scanner.ScannerError("while scanning a simple key", key.mark,
                                                "could not find expected ':'", self.get_mark())
            del keys[level]


def _go_line(zero_based: int) -> int:
    """go-yaml names a scanner error's line 1-based, and no line for the first one."""
    return zero_based + 1 if zero_based else 0


class _Open:
    """A collection being built: its value, its expanded node count, a pending mapping key."""

    __slots__ = ("value", "size", "anchor", "key", "has_key", "merge", "kept")

    def __init__(self, value: Any, anchor: str | None, kept: bool) -> None:
        self.value, self.size, self.anchor, self.kept = value, 1, anchor, kept
        self.key: Any = None
        self.has_key = False
        self.merge: list[dict] = []


def load_all(text: str) -> Iterator[Any]:
    """The documents of a YAML stream as Python values, built without recursion.

    Mirrors go-yaml v2's decoder limits (see the module docstring); raises ``yaml.YAMLError``
    (``GoYAMLError`` for go-yaml's own refusals)."""
    loader = _Loader(text)
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStart
            value = _document(loader)
            loader.get_event()  # DocumentEnd
            yield value
    finally:
        loader.dispose()


def _document(loader: _Loader) -> Any:
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Open] = []
    counts = [1, 0]  # decodeCount (the document node is one), aliasCount
    result: list[Any] = []

    def count(decoded: int, aliased: int) -> None:
        counts[0] += decoded
        counts[1] += aliased
        if counts[1] > 100 and counts[0] > 1000 and counts[1] / counts[0] > allowed_alias_ratio(counts[0]):
            raise GoYAMLError("document contains excessive aliasing")

    def place(value: Any, size: int, event: Any) -> None:
        if not stack:
            result.append(value)
            return
        top = stack[-1]
        top.size += size
        if isinstance(top.value, list):
            if top.kept:
                top.value.append(value)
        elif not top.has_key:
            top.key, top.has_key = value, True
        else:
            key, top.has_key = top.key, False
            if top.kept and not isinstance(key, (str, dict, list)):
                key = json.dumps(key) if key is None or isinstance(key, (bool, int, float)) else str(key)
            if top.kept:
                if isinstance(key, (dict, list)):
                    raise yaml.constructor.ConstructorError("while constructing a mapping", None,
                                                            "found unhashable key", event.start_mark)
                if key == "<<" and isinstance(value, (dict, list)):
                    top.merge.extend([value] if isinstance(value, dict) else
                                     [v for v in value if isinstance(v, dict)])
                else:
                    top.value[key] = value

    while not result:
        event = loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                if any(o.anchor == event.anchor for o in stack):
                    raise GoYAMLError(f"anchor '{event.anchor}' value contains itself")
                raise GoYAMLError(f"unknown anchor '{event.anchor}' referenced")
            value, size = anchors[event.anchor]
            count(1 + size, size)
            place(value, 1 + size, event)
        elif isinstance(event, yaml.ScalarEvent):
            count(1, 0)
            value = _scalar(loader, event)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
            place(value, 1, event)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            count(1, 0)
            kept = len(stack) < KEPT_DEPTH and (not stack or stack[-1].kept)
            empty: Any = [] if isinstance(event, yaml.SequenceStartEvent) else {}
            stack.append(_Open(empty, event.anchor, kept))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            done = stack.pop()
            value = done.value
            if done.merge:  # explicit keys win over merged ones, earlier merges over later
                merged: dict = {}
                for part in reversed(done.merge):
                    merged.update(part)
                merged.update(value)
                value = merged
            if done.anchor:
                anchors[done.anchor] = (value, done.size)
            place(value, done.size, event)
    return result[0]


def _scalar(loader: _Loader, event: yaml.ScalarEvent) -> Any:
    node = yaml.ScalarNode(None, event.value, event.start_mark, event.end_mark, event.style)
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == "tag:yaml.org,2002:merge":
        return "<<"
    node.tag = tag
    constructor = loader.yaml_constructors.get(tag) or loader.yaml_constructors[None]
    return constructor(loader, node)


def yaml_to_json(text: str) -> list[Any]:
    """Every document of a stream as the JSON value sigs.k8s.io/yaml's YAMLToJSON makes of it
    (keys become strings, timestamps their text)."""
    return [json.loads(json.dumps(doc, default=str)) for doc in load_all(text)]
