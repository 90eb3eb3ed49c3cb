"""kubectl's printers: a server Table as padded text, and ``-o yaml|json|name|jsonpath|custom-columns``.

Text tables are laid out like Go's tabwriter as kubectl configures it (minimum width 6,
3 spaces of padding, the last column unpadded); YAML comes out the way sigs.k8s.io/yaml
writes it (sorted keys, double quotes when a plain scalar would be misread, ``|`` blocks);
JSON is indented by four spaces with sorted keys.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

from kubelab.api import quantity
from kubelab.api.kinds import BY_KIND
from kubelab.api.tables import format_labels

Obj = dict[str, Any]


class PrintError(Exception):
    """An output format kubectl refuses; the text is kubectl's message (without ``error: ``)."""


# -- tabwriter ------------------------------------------------------------------------------
def tabwrite(rows: Iterable[list[str]], min_width: int = 6, padding: int = 3,
             widths: dict[int, int] | None = None) -> str:
    """Lay out rows of cells like Go's tabwriter with kubectl's settings. ``widths`` remembers
    column widths across calls, as kubectl's watch output keeps its columns aligned."""
    rows = [list(r) for r in rows]
    widths = {} if widths is None else widths
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths.get(i, min_width), len(cell) + padding)
    lines = []
    for r in rows:
        parts = [cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])]
        lines.append("".join(parts) + (r[-1] if r else ""))
    return "".join(line + "\n" for line in lines)


def cell_text(value: Any) -> str:
    """How a table cell prints: cut at the first line break (with ``...``), ``<none>`` for nil."""
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    m = re.search(r"[\n\r\f]", text)
    if m:
        text = text[:m.start()] + "..."
    return text


def kind_prefix(kind: str) -> str:
    """``deployment.apps`` for the ``kind/name`` form kubectl prints."""
    k = BY_KIND.get(kind)
    return k.qualified_singular if k else kind.lower()


def table_rows(table: Obj, *, wide: bool = False, no_headers: bool = False, namespace_column: bool = False,
               with_kind: str = "", show_labels: bool = False, label_columns: Iterable[str] = (),
               objects: list[Obj] | None = None) -> list[list[str]]:
    """Rows of text cells (header first) for a Table, with kubectl's extra columns.
    ``objects`` are the full objects in row order (for labels); row metadata is used otherwise."""
    label_columns = list(label_columns)
    columns = [(i, c) for i, c in enumerate(table["columnDefinitions"]) if wide or c.get("priority", 0) == 0]
    out: list[list[str]] = []
    if not no_headers:
        header = [c["name"].upper() for _, c in columns]
        if namespace_column:
            header.insert(0, "NAMESPACE")
        header += [key.split("/")[-1].upper() for key in label_columns]
        if show_labels:
            header.append("LABELS")
        out.append(header)
    for n, row in enumerate(table["rows"]):
        obj = objects[n] if objects is not None else row.get("object") or {}
        meta = obj.get("metadata") or {}
        cells = []
        for i, col in columns:
            text = cell_text(row["cells"][i] if i < len(row["cells"]) else None)
            if with_kind and col.get("format") == "name" and not cells:
                text = f"{with_kind}/{text}"
            cells.append(text)
        if namespace_column:
            cells.insert(0, meta.get("namespace", ""))
        labels = meta.get("labels") or {}
        cells += [labels.get(key, "") for key in label_columns]
        if show_labels:
            cells.append(format_labels(labels))
        out.append(cells)
    return out


def render_table(table: Obj, **options: Any) -> str:
    """A Table as kubectl prints it; nothing at all when it has no rows."""
    if not table["rows"]:
        return ""
    return tabwrite(table_rows(table, **options))


# -- yaml / json / name -------------------------------------------------------------------
def to_json(obj: Any, sort_keys: bool = True) -> str:
    """``-o json``: four-space indent; keys sorted as for objects read from the server, in
    insertion (Go struct) order for objects kubectl built itself (``create ... --dry-run``)."""
    return json.dumps(obj, indent=4, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def go_json(obj: Any) -> str:
    """Compact JSON as Go's encoding/json writes a map: sorted keys, ``<>&`` escaped."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def to_yaml(obj: Any) -> str:
    """``-o yaml`` as sigs.k8s.io/yaml writes it."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> Any:
        if "\n" in data and not re.search(r"[ \t]\n| $", data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        # go-yaml double-quotes a string that would read back as another type ("3000", a
        # timestamp, "", and y/n, YAML 1.1 booleans to go-yaml but not to PyYAML); any other
        # string is plain when it can be, else single-quoted ('a: [b]'), as PyYAML also picks
        if data in ("y", "Y", "n", "N") or \
                dumper.resolve(yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return dumper.represent_scalar("tag:yaml.org,2002:str", data)

    Dumper.add_representer(str, represent_str)
    return yaml.dump(obj, Dumper=Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=80)


def object_name(obj: Obj) -> str:
    """``-o name``: ``deployment.apps/echo-server``."""
    return f"{kind_prefix(obj.get('kind', ''))}/{(obj.get('metadata') or {}).get('name', '')}"


def as_list(objects: list[Obj]) -> Obj:
    """The ``kind: List`` kubectl wraps several objects in for yaml/json output."""
    return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}


# -- jsonpath -------------------------------------------------------------------------------
class JSONPathError(Exception):
    """A template kubectl's jsonpath parser or executor refuses."""


def _split_template(template: str) -> list[tuple[str, str]]:
    """Text and ``{expression}`` pieces of a jsonpath template."""
    pieces: list[tuple[str, str]] = []
    i = 0
    text = ""
    while i < len(template):
        ch = template[i]
        if ch == "{":
            depth, j, quote = 1, i + 1, ""
            while j < len(template) and depth:
                c = template[j]
                if quote:
                    if c == "\\":
                        j += 1
                    elif c == quote:
                        quote = ""
                elif c in "\"'":
                    quote = c
                elif c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                j += 1
            if depth:
                raise JSONPathError("unclosed action")
            if text:
                pieces.append(("text", text))
                text = ""
            pieces.append(("expr", template[i + 1:j - 1].strip()))
            i = j
        else:
            text += ch
            i += 1
    if text:
        pieces.append(("text", text))
    return pieces


_TOKEN = re.compile(r"""
    (?P<recursive>\.\.)
  | \.(?P<field>(?:\\.|[^.\[\]])+)
  | \[(?P<bracket>(?:'[^']*'|"[^"]*"|\?\((?:[^()]|\([^()]*\))*\)|[^\]])*)\]
  | (?P<bare>[A-Za-z_][\w\-/\\.]*)
""", re.X)


def _steps(path: str) -> list[tuple[str, str]]:
    if path in ("@", "$", ""):
        return []
    if path[0] in "@$":
        path = path[1:]
    steps, pos = [], 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise JSONPathError(f"unrecognized identifier {path[pos:]}")
        if m.group("recursive"):
            steps.append(("recursive", ""))
            pos = m.end()
            after = re.match(r"(?:\\.|[^.\[\]])+", path[pos:])
            if after:
                steps.append(("field", after.group(0).replace("\\.", ".")))
                pos += after.end()
            continue
        if m.group("field") is not None:
            steps.append(("field", m.group("field").replace("\\.", ".")))
        elif m.group("bracket") is not None:
            steps.append(("bracket", m.group("bracket").strip()))
        else:
            steps.append(("field", m.group("bare").replace("\\.", ".")))
        pos = m.end()
    return steps


def _walk_all(value: Any) -> list[Any]:
    out = [value]
    if isinstance(value, dict):
        for v in value.values():
            out.extend(_walk_all(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_walk_all(v))
    return out


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _filter(items: list[Any], expr: str, root: Any) -> list[Any]:
    m = re.fullmatch(r"\s*(@[^<>=!~\s]*)\s*(==|!=|<=|>=|<|>|=~)?\s*(.*?)\s*", expr)
    if not m:
        raise JSONPathError(f"unrecognized filter {expr}")
    left, op, right = m.groups()
    out = []
    for item in items:
        found = evaluate(left, item, root)
        if not op:
            if found:
                out.append(item)
            continue
        if not found:
            continue
        want = evaluate(right, item, root)[0] if right.startswith(("@", "$")) else _literal(right)
        have = found[0]
        try:
            ok = {"==": have == want, "!=": have != want}.get(op)
            if ok is None and op == "=~":
                ok = re.search(str(want), str(have)) is not None
            if ok is None:
                ok = {"<": have < want, ">": have > want, "<=": have <= want, ">=": have >= want}[op]
        except TypeError:
            ok = False
        if ok:
            out.append(item)
    return out


def evaluate(path: str, obj: Any, root: Any = None) -> list[Any]:
    """Every value ``path`` (``.items[*].metadata.name``) selects in ``obj``."""
    root = obj if root is None else root
    current = [root if path.startswith("$") else obj]
    for kind, arg in _steps(path):
        nxt: list[Any] = []
        if kind == "recursive":
            for v in current:
                nxt.extend(_walk_all(v))
        elif kind == "field":
            for v in current:
                if arg == "*":
                    nxt.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])
                elif isinstance(v, dict) and arg in v:
                    nxt.append(v[arg])
        else:
            for v in current:
                nxt.extend(_bracket(v, arg, root))
        current = nxt
    return current


def _bracket(value: Any, arg: str, root: Any) -> list[Any]:
    if arg.startswith("?("):
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        return _filter(items, arg[2:-1], root)
    if arg == "*":
        return list(value) if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    if arg[:1] in "\"'":
        keys = [k.strip()[1:-1] for k in arg.split(",")]
        return [value[k] for k in keys if isinstance(value, dict) and k in value]
    if not isinstance(value, list):
        return []
    if ":" in arg:
        parts = [int(p) if p.strip() else None for p in arg.split(":")]
        return value[slice(*parts)]
    out = []
    for idx in arg.split(","):
        i = int(idx)
        if -len(value) <= i < len(value):
            out.append(value[i])
        else:
            raise JSONPathError(f"array index out of bounds: index {i}, length {len(value)}")
    return out


def value_text(value: Any) -> str:
    """How kubectl's jsonpath prints one value: strings bare, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return str(value)


def _unquote(text: str) -> str:
    body = text[1:-1]
    if text[0] == '"':
        return json.loads(text) if "\\" in body else body
    return body


def jsonpath(template: str, obj: Any) -> str:
    """kubectl's ``-o jsonpath=...``: text and ``{expressions}``, with ``{range}...{end}``."""
    pieces = _split_template(template)
    out, _ = _execute(pieces, 0, obj, obj)
    return out


def _execute(pieces: list[tuple[str, str]], i: int, current: Any, root: Any) -> tuple[str, int]:
    out = ""
    while i < len(pieces):
        kind, text = pieces[i]
        if kind == "text":
            out += text
        elif text == "end":
            return out, i
        elif text.startswith("range "):
            values = evaluate(text[6:].strip(), current, root)
            body_end = _matching_end(pieces, i + 1)
            for v in values:
                chunk, _ = _execute(pieces, i + 1, v, root)
                out += chunk
            i = body_end
        elif text[:1] in "\"'":
            out += _unquote(text)
        else:
            values = []
            for part in _split_union(text):
                values.extend(evaluate(part, current, root))
            out += " ".join(value_text(v) for v in values)
        i += 1
    return out, i


def _split_union(text: str) -> list[str]:
    """``{.a,.b}``: several paths in one action."""
    parts, depth, start, quote = [], 0, 0, ""
    for n, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:n])
            start = n + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _matching_end(pieces: list[tuple[str, str]], i: int) -> int:
    depth = 1
    while i < len(pieces):
        kind, text = pieces[i]
        if kind == "expr" and text.startswith("range "):
            depth += 1
        elif kind == "expr" and text == "end":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise JSONPathError("not in range, nothing to end")


def normalize_path(field: str) -> str:
    """``--sort-by`` and custom-columns accept ``.a.b`` and ``{.a.b}``; this gives ``.a.b``."""
    field = field.strip()
    if field.startswith("{") and field.endswith("}"):
        field = field[1:-1]
    if not field.startswith((".", "$", "@", "[")):
        field = "." + field
    return field


def custom_columns(spec: str, objects: list[Obj], no_headers: bool = False) -> str:
    """``-o custom-columns=NAME:.metadata.name,...``: values joined by commas, ``<none>`` when missing."""
    columns = []
    for part in spec.split(","):
        if ":" not in part:
            raise PrintError(f'unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>')
        header, _, path = part.partition(":")
        columns.append((header, normalize_path(path)))
    rows = [] if no_headers else [[h for h, _ in columns]]
    for obj in objects:
        row = []
        for _, path in columns:
            values = evaluate(path, obj)
            row.append(",".join(value_text(v) for v in values) if values else "<none>")
        rows.append(row)
    return tabwrite(rows)


def sort_less(path: str) -> Callable[[Obj, Obj], bool]:
    """kubectl's ``--sort-by`` comparison (TableSorter/RuntimeSort ``Less``), to hand to Go's
    ``sort.Sort`` (:func:`go_sort`): a missing field sorts first (and ``Less`` of two missing
    ones is true), nulls before values, numbers by value, strings as quantities when both read
    as one, else byte by byte (so ``10.0.1.11`` comes before ``10.0.1.2``)."""
    steps = normalize_path(path)

    def less(a: Obj, b: Obj) -> bool:
        av, bv = evaluate(steps, a), evaluate(steps, b)
        if not av:
            return True
        if not bv:
            return False
        x, y = av[0], bv[0]
        if x is None or y is None:
            return x is None and y is not None
        if isinstance(x, str) and isinstance(y, str):
            try:
                return quantity.parse(x).value < quantity.parse(y).value
            except quantity.QuantityError:
                return x < y
        if isinstance(x, (int, float)) and not isinstance(x, bool) and type(x) is type(y):
            return x < y
        return False

    return less
