"""Reading ``-f FILE|DIR|-`` the way kubectl's resource builder does: multi-document YAML or
JSON, directories (``-R`` to recurse), ``List`` kinds expanded, kubectl's error texts."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

from kubelab.api import autoscaling_v1, schema, wire
from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind, for_object
from kubelab.api.objects import Obj
from kubelab.kubectl.command import Context, KubectlError, error, format_errors
from kubelab.kubectl.gofmt import go_quote

_EXTENSIONS = (".json", ".yaml", ".yml")


@dataclass
class Doc:
    """One object read from a manifest, or the error kubectl reports for it."""

    source: str
    obj: Obj | None = None
    error: str = ""  # complete kubectl error text (``error: ...``)


def _files(path: str, recursive: bool) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    found = []
    for entry in sorted(os.listdir(path)):
        full = os.path.join(path, entry)
        if os.path.isdir(full):
            if recursive:
                found.extend(f for f in _files(full, True) if f.endswith(_EXTENSIONS))
        elif entry.endswith(_EXTENSIONS):
            found.append(full)
    return found


def _split(text: str) -> list[str]:
    """Split a YAML stream into documents on ``---`` lines (JSON streams stay whole)."""
    docs, current = [], []
    for line in text.splitlines(keepends=True):
        if re.match(r"^---\s*(#.*)?$", line.rstrip("\n")):
            docs.append("".join(current))
            current = []
        else:
            current.append(line)
    docs.append("".join(current))
    return docs


_YAML_MESSAGES = (
    ("mapping values are not allowed here", "mapping values are not allowed in this context"),
    ("expected <block end>", "did not find expected key"),
    ("that cannot start any token", "found character that cannot start any token"),
    ("could not find expected ':'", "could not find expected ':'"),
    ("expected ',' or ']'", "did not find expected ',' or ']'"),
    ("expected ',' or '}'", "did not find expected ',' or '}'"),
    ("found unexpected end of stream", "found unexpected end of stream"),
    ("expected a comment or a line break", "did not find expected comment or line break"),
    ("expected the node content", "did not find expected node content"),
)


def yaml_error(exc: Exception) -> str:
    """go-yaml's wording for a PyYAML error: ``yaml: line 3: mapping values are not allowed in this context``.

    go-yaml numbers lines as it finds them: a scanner error names the 1-based line, a parser
    error the 0-based line of its problem (else of its context), and no line when that is 0."""
    import yaml

    if isinstance(exc, wire.GoYAMLError):
        return f"yaml: {exc}"
    if isinstance(exc, yaml.reader.ReaderError):
        return "yaml: control characters are not allowed"
    problem = getattr(exc, "problem", None) or str(exc)
    alias = re.match(r"found undefined alias '?([^']*)'?", problem)
    if alias:
        return f"yaml: unknown anchor '{alias.group(1)}' referenced"
    message = next((go for py, go in _YAML_MESSAGES if py in problem), problem)
    mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.scanner.ScannerError) and mark is not None:
        line = mark.line + 1
    else:
        line = (mark.line if mark is not None else 0) or (context.line if context is not None else 0)
    return f"yaml: line {line}: {message}" if line else f"yaml: {message}"


def parse_documents(text: str, source: str, validate: bool = True) -> list[Doc]:
    """The objects in one file's text; a document that does not parse ends the file."""
    import yaml

    docs: list[Doc] = []
    if text.lstrip().startswith("{"):  # kubectl's YAMLOrJSONDecoder reads this as JSON
        try:
            wire.json_loads(text)
        except wire.GoJSONError as e:
            return [Doc(source, error=f"error: error parsing {source}: json: offset {e.offset}: {e}")]
        except ValueError:
            pass  # not one JSON value: the YAML reading below reports it as kubectl does
    for chunk in _split(text):
        if not chunk.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in chunk.splitlines()):
            continue
        try:
            data = next(wire.load_all(chunk), None)
        except yaml.YAMLError as e:
            docs.append(Doc(source, error=f"error: error parsing {source}: error converting YAML to JSON: "
                                          f"{yaml_error(e)}"))
            break
        if data is None:
            continue
        if not isinstance(data, dict):
            docs.append(Doc(source, error=f'error: unable to decode "{source}": json: cannot unmarshal '
                                          f"{_go_type(data)} into Go value of type map[string]interface {{}}"))
            continue
        data = json.loads(json.dumps(data, default=str))  # YAML timestamps and the like become strings
        if isinstance(data.get("items"), list) and str(data.get("kind", "")).endswith("List"):
            for item in data["items"]:
                docs.append(_checked(item, source, validate))
            continue
        doc = _checked(data, source, validate)
        why = doc.obj is not None and schema.metadata_type_error(data.get("metadata") or {}, "metadataOnlyObject")
        docs.append(Doc(source, error=f'error: unable to decode "{source}": {why}') if why else doc)
    return docs


def _go_type(value: Any) -> str:
    return {str: "string", list: "array", bool: "bool", int: "number", float: "number",
            dict: "object"}.get(type(value), "value")


def _checked(obj: Any, source: str, validate: bool) -> Doc:
    """Client-side checks kubectl makes before sending: apiVersion and kind are set."""
    if not isinstance(obj, dict):
        return Doc(source, error=f'error: unable to decode "{source}": json: cannot unmarshal '
                                 f"{_go_type(obj)} into Go value of type map[string]interface {{}}")
    missing = [f"{field} not set" if not obj.get(field) else f"{field} isn't string type"
               for field in ("apiVersion", "kind") if not obj.get(field) or not isinstance(obj[field], str)]
    if missing:
        if validate:
            detail = missing[0] if len(missing) == 1 else "[" + ", ".join(missing) + "]"
            return Doc(source, error=f'error: error validating "{source}": error validating data: {detail}; '
                                     "if you choose to ignore these errors, turn validation off with "
                                     "--validate=false")
        if isinstance(obj.get("kind"), str) and obj.get("apiVersion") and not isinstance(obj["apiVersion"], str):
            return Doc(source, error=f'error: unable to decode "{source}": json: cannot unmarshal '
                                     f'{_go_type(obj["apiVersion"])} into Go struct field '
                                     "metadataOnlyObject.apiVersion of type string")
        what = "Kind" if not isinstance(obj.get("kind"), str) or not obj["kind"] else "apiVersion"
        compact = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        return Doc(source, error=f'error: unable to decode "{source}": Object \'{what}\' is missing in \'{compact}\'')
    if autoscaling_v1.is_v1(obj):  # the stored version from the start: what the apiserver converts it to
        obj = autoscaling_v1.to_v2(obj)
    return Doc(source, obj)


def _go_bad_pattern(pattern: str) -> bool:
    """filepath.Match's ErrBadPattern: a ``[`` class left open (or empty), or a trailing ``\\``."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 == len(pattern):
                return True
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            start = j
            while j < len(pattern) and (pattern[j] != "]" or j == start):
                j += 2 if pattern[j] == "\\" else 1
            if j >= len(pattern):
                return True
            i = j
        i += 1
    return False


def _expand(pattern: str) -> list[str]:
    """expandIfFilePattern: a path that does not exist is a glob (filepath.Glob)."""
    import glob

    if os.path.exists(pattern):
        return [pattern]
    if _go_bad_pattern(pattern):
        raise error(f"pattern {go_quote(pattern)} is not valid: syntax error in pattern")
    matches = sorted(glob.glob(pattern, include_hidden=True)) if glob.has_magic(pattern) else []
    if not matches:
        raise error(f"the path {go_quote(pattern)} does not exist")
    return matches


def read_manifests(ctx: Context, paths: list[str], recursive: bool = False) -> list[Doc]:
    """Every document named by ``-f`` (``-`` is stdin), in kubectl's order. The builder's
    errors (a path that does not exist, a directory without manifests) come before anything
    is read, all of them: one as ``error: ...``, several one a line."""
    validate = str(ctx.flags.values.get("validate", "strict")).lower() not in ("false", "ignore")
    errs: list[str] = []
    sources: list[str | list[str]] = []  # "-" or the files of one -f
    found = False
    for path in paths:
        if path == "-":
            sources.append(path)
            found = True  # Builder.Stdin adds its visitor to the paths
            continue
        try:
            matches = _expand(path)
        except KubectlError as e:
            errs.append(str(e)[len("error: "):])
            continue
        files = [f for match in matches for f in _files(match, recursive)]
        found = found or bool(files)
        if not found and not errs:  # Builder.Path: nothing readable yet, and no error so far
            errs.append(f"error reading [{' '.join(matches)}]: recognized file extensions are "
                        f"[{' '.join(_EXTENSIONS)}]")
        sources.append(files)
    if errs:
        raise KubectlError(f"error: {errs[0]}" if len(errs) == 1 else "\n".join(errs))
    docs: list[Doc] = []
    for source in sources:
        if source == "-":
            docs.extend(parse_documents(ctx.stdin or "", "STDIN", validate))
            continue
        for file in source:
            with open(file, "rb") as fh:
                docs.extend(parse_documents(wire.decode_bytes(fh.read()), file, validate))
    return docs


def kind_of(doc: Doc) -> Kind:
    """The Kind of a document, or kubectl's ``resource mapping not found`` error."""
    obj = doc.obj or {}
    try:
        return for_object(obj.get("apiVersion", ""), obj.get("kind", ""))
    except StatusError:
        meta = obj.get("metadata") or {}
        raise error(f'resource mapping not found for name: "{meta.get("name", "")}" namespace: '
                    f'"{meta.get("namespace", "")}" from "{doc.source}": no matches for kind "{obj.get("kind")}" '
                    f'in version "{obj.get("apiVersion")}"\nensure CRDs are installed first') from None


def namespace_for(ctx: Context, kind: Kind, obj: Obj) -> str | None:
    """The namespace an object from a file goes to: its own, else ``-n``/the context's. An
    explicit ``-n`` that disagrees with the file is kubectl's error."""
    if not kind.namespaced:
        return None
    own = (obj.get("metadata") or {}).get("namespace")
    if own and ctx.explicit_namespace and own != ctx.namespace:
        raise error(f'the namespace from the provided object "{own}" does not match the namespace '
                    f'"{ctx.namespace}". You must pass \'--namespace={own}\' to perform this operation.')
    return own or ctx.namespace


def visit(ctx: Context, docs: list[Doc], each: Callable[[Doc], None]) -> int:
    """The builder's ContinueOnError visit: each document that read goes to ``each``; what
    failed, reading or in ``each``, is printed together at the end (exit 1)."""
    errors: list[BaseException] = [KubectlError(d.error) for d in docs if d.error]
    for doc in docs:
        if doc.error:
            continue
        try:
            each(doc)
        except (StatusError, KubectlError) as e:
            errors.append(e)
    if errors:
        ctx.eprint(format_errors(errors))
        return 1
    return 0
