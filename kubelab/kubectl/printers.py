"""kubectl's printers: a server Table as padded text, and ``-o yaml|json|name``, the template
formats (``jsonpath``, ``go-template``, ``custom-columns`` and their ``-file`` forms).

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
from kubelab.api.kinds import BY_KIND, METRICS
from kubelab.api.objects import Obj
from kubelab.api.tables import format_labels
from kubelab.kubectl import gofmt, gotemplate
from kubelab.kubectl import jsonpath as jsonpath_mod


class PrintError(Exception):
    """An output format kubectl refuses; the text is kubectl's message (without ``error: ``).
    ``stdout`` is what kubectl printed to standard output before the error."""

    stdout = ""


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
    k = BY_KIND.get(kind) or METRICS.get(kind)
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
def omit_managed_fields(data: Any) -> Any:
    """OmitManagedFieldsPrinter: an object (or each item of a List) without
    metadata.managedFields, which kubectl's json and yaml printers show only with
    --show-managed-fields."""
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("items"), list) and str(data.get("kind", "")).endswith("List"):
        return {**data, "items": [omit_managed_fields(item) for item in data["items"]]}
    meta = data.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**data, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return data


def to_json(obj: Any, sort_keys: bool = True, show_managed_fields: bool = False) -> str:
    """``-o json``: four-space indent; keys sorted as for objects read from the server, in
    insertion (Go struct) order for objects kubectl built itself (``create ... --dry-run``)."""
    if not show_managed_fields:
        obj = omit_managed_fields(obj)
    return json.dumps(obj, indent=4, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def go_json(obj: Any, sort_keys: bool = True) -> str:
    """Compact JSON as Go's encoding/json writes a map: sorted keys, ``<>&`` escaped (a typed
    object kubectl built itself keeps its struct's field order: ``sort_keys=False``)."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def to_yaml(obj: Any, show_managed_fields: bool = False) -> str:
    """``-o yaml`` as sigs.k8s.io/yaml writes it."""
    import yaml

    if not show_managed_fields:
        obj = omit_managed_fields(obj)

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> Any:
        if "\n" in data and not re.search(r"[ \t]\n| $", data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        # go-yaml double-quotes a string that would read back as another type ("3000", a
        # timestamp, "", and y/n, YAML 1.1 booleans to go-yaml but not to PyYAML); any other
        # string is plain when it can be, else single-quoted ('a: [b]'), as PyYAML also picks
        # ("*", PyYAML's value-key tag, is no type to go-yaml: single-quoted, '*', as an RBAC rule's)
        if data in ("y", "Y", "n", "N") or \
                dumper.resolve(yaml.ScalarNode, data, (True, False)) not in ("tag:yaml.org,2002:str",
                                                                             "tag:yaml.org,2002:yaml"):
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


# -- jsonpath, go-template, custom-columns ------------------------------------------------------
JSONPathError = jsonpath_mod.JSONPathError


def jsonpath(template: str, obj: Any) -> str:
    """kubectl's ``-o jsonpath=...`` output for ``obj`` (missing keys print nothing)."""
    return jsonpath_mod.execute(jsonpath_mod.parse(template), obj)


def evaluate(path: str, obj: Any) -> list[Any]:
    """Every value a relaxed path (``.a.b``, ``a.b``, ``{.a.b}``) selects in ``obj``."""
    return jsonpath_mod.evaluate(relaxed_path(path)[1:-1], obj)


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_path(path: str) -> str:
    """kubectl's RelaxedJSONPathExpression: ``{.a.b}`` from ``.a.b``, ``a.b`` or ``{a.b}``."""
    if not path:
        return path
    m = _RELAXED.match(path)
    if not m:
        raise PrintError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' "
                         "or '{.name1.name2}'")
    return "{." + (m.group(1) or m.group(2)) + "}"



def custom_columns(spec: str, objects: list[Obj], no_headers: bool = False) -> str:
    """``-o custom-columns=NAME:.metadata.name,...``: each value as Go's ``%v``, joined by
    commas, ``<none>`` when nothing matches."""
    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep:
            raise PrintError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        columns.append((header, path))
    return _columns_table(columns, objects, no_headers)


def custom_columns_file(text: str, objects: list[Obj], no_headers: bool = False) -> str:
    """``-o custom-columns-file=F``: a line of headers, then a line of paths."""
    lines = text.splitlines()
    expected = "Expected format is one line of space separated headers, one line of space separated column specs."
    if not lines:
        raise PrintError(f"invalid template, missing header line. {expected}")
    if len(lines) < 2:
        raise PrintError(f"invalid template, missing spec line. {expected}")
    headers, specs = lines[0].split(), lines[1].split()
    if len(headers) != len(specs):
        raise PrintError(f"number of headers ({len(headers)}) and field specifications ({len(specs)}) don't match")
    return _columns_table(list(zip(headers, specs)), objects, no_headers)


def _columns_table(columns: list[tuple[str, str]], objects: list[Obj], no_headers: bool) -> str:
    parsed = []
    for header, path in columns:
        try:
            parsed.append(jsonpath_mod.parse(relaxed_path(path)))
        except JSONPathError as e:
            raise PrintError(str(e)) from None
    rows = [] if no_headers else [[h for h, _ in columns]]
    for obj in objects:
        row = []
        for nodes in parsed:
            try:
                values = [v for r in jsonpath_mod.results(nodes, obj) for v in r]
            except JSONPathError as e:
                raise PrintError(str(e)) from None
            row.append(",".join(gofmt.format_v(v) for v in values) if values else "<none>")
        rows.append(row)
    return tabwrite(rows)


TEMPLATE_FORMATS = {"go-template": "go-template", "go-template-file": "go-template", "template": "go-template",
                    "templatefile": "go-template", "jsonpath": "jsonpath", "jsonpath-file": "jsonpath",
                    "jsonpath-as-json": "jsonpath-as-json", "custom-columns": "custom-columns",
                    "custom-columns-file": "custom-columns-file"}


def output_format(output: str, template_flag: str, allowed: Iterable[str]) -> tuple[str, str]:
    """``(printer, template)`` for ``-o`` and ``--template`` as kubectl's PrintFlags pick them:
    ``--template`` alone means go-template, ``-o go-template=T`` carries its template (unless
    ``--template`` is set), ``-file`` formats read theirs. PrintError with kubectl's message."""
    allowed = list(allowed)
    name, template = output, template_flag
    if not name and template_flag:
        name = "go-template"
    if "=" in name and not template_flag:
        name, template = name.split("=", 1)
    printer = TEMPLATE_FORMATS.get(name) if name in allowed else None
    if printer is None:
        if name == "" or (name in allowed and name in ("wide", "yaml", "json", "name")):
            return name, ""
        raise PrintError(f'unable to match a printer suitable for the output format "{output}", '
                         f"allowed formats are: {','.join(allowed)}")
    if not template:
        raise PrintError("custom-columns format specified but no custom columns given"
                         if name == "custom-columns" else "template format specified but no template given")
    if name.endswith("file"):
        try:
            with open(template, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            why = "no such file or directory" if isinstance(e, FileNotFoundError) else (e.strerror or str(e)).lower()
            which = "template" if printer == "custom-columns-file" else "--template"
            raise PrintError(f"error reading {which} {template}, open {template}: {why}") from None
        template = text
    return printer, template


def template_output(printer: str, template: str, data: Any, *, allow_missing: bool = True,
                    typed: bool = False) -> str:
    """``-o go-template`` / ``jsonpath`` / ``jsonpath-as-json`` output for ``data`` (one object
    or the List). PrintError carries kubectl's message and, in ``stdout``, what kubectl writes
    to standard output before failing (``typed``: an object kubectl built, whose raw JSON keeps
    its field order). Unlike json and yaml, templates see managedFields (kubectl wraps only
    those two printers in OmitManagedFieldsPrinter)."""
    if printer == "go-template":
        try:
            parsed = gotemplate.parse(template)
        except gotemplate.ParseError as e:
            raise PrintError(f"error parsing template {template}, {e}") from None
        try:
            return parsed.execute(data, missing_error=not allow_missing)
        except gotemplate.ExecError as e:
            raw = go_json(data, sort_keys=not typed)
            err = PrintError(f"error executing template {gofmt.go_quote(template)}: {e}")
            err.stdout = (getattr(e, "partial", "") +
                          f"Error executing template: {e}. Printing more information for debugging the template:\n"
                          f"\ttemplate was:\n\t\t{template}\n\traw data was:\n\t\t{raw}\n"
                          f"\tobject given to template engine was:\n\t\t{gofmt.format_v(data)}\n\n")
            raise err from None
    try:
        nodes = jsonpath_mod.parse(template)
    except JSONPathError as e:
        raise PrintError(f"error parsing jsonpath {template}, {e}") from None
    try:
        return jsonpath_mod.execute(nodes, data, allow_missing=allow_missing, as_json=printer == "jsonpath-as-json")
    except JSONPathError as e:
        raise PrintError(f"error executing jsonpath {gofmt.go_quote(template)}: Error executing template: {e}. "
                         f"Printing more information for debugging the template:\n\ttemplate was:\n\t\t{template}\n"
                         f"\tobject given to jsonpath engine was:\n\t\t{gofmt.go_syntax(data)}\n\n\n") from None


def sort_less(path: str) -> Callable[[Obj, Obj], bool]:
    """kubectl's ``--sort-by`` comparison (TableSorter/RuntimeSort ``Less``), to hand to Go's
    ``sort.Sort`` (:func:`go_sort`): a missing field sorts first (and ``Less`` of two missing
    ones is true), nulls before values, numbers by value, strings as quantities when both read
    as one, else byte by byte (so ``10.0.1.11`` comes before ``10.0.1.2``)."""
    def less(a: Obj, b: Obj) -> bool:
        av, bv = evaluate(path, a), evaluate(path, b)
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
