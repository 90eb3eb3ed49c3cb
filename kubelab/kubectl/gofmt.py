"""Go's fmt package as kubectl's printers show values through it.

kubectl's custom-columns print each value with ``%v``, go-templates print with ``fmt.Fprint``
and offer ``printf``; all see decoded JSON (``map[string]interface{}``, ``[]interface{}``,
int64, float64, string, bool, nil), so maps print as ``map[k:v]`` with sorted keys, lists as
``[a b]`` and null as ``<nil>``. Template literals are Go ``int``s: :class:`GoInt` keeps that
type apart from the data's int64 for the ``%!verb(type=value)`` texts.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any


class GoInt(int):
    """An ``int`` from a template literal (the data's integers are int64)."""


class GoRune(int):
    """An ``int32`` from a template character literal (``'a'``)."""


def type_name(value: Any) -> str:
    """Go's ``%T`` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoRune):
        return "int32"
    if isinstance(value, GoInt):
        return "int"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


def format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat for 'g' (shortest when ``prec`` < 0), 'e' and 'f'."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if verb == "f":
        return f"{f:.{6 if prec < 0 else prec}f}"
    if verb == "e":
        text = f"{f:.{6 if prec < 0 else prec}e}"
        return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", text)
    if prec >= 0:
        text = f"{f:.{max(prec, 1)}g}"
        return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", text)
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    if f == 0:
        return "-0" if sign else "0"
    ds = "".join(map(str, digits))
    point = len(ds) + int(exp)  # decimal point position
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:  # shortest %g decides with precision 6
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{neg}{ds}{'0' * (point - len(ds))}"
    return f"{neg}{ds[:point]}.{ds[point:]}"


def format_v(value: Any, top: bool = True) -> str:
    """``%v``: ``map[a:1 b:[x y]]``, ``<nil>``, floats as Go's shortest ``%g``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{format_v(value[k], False)}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_v(v, False) for v in value) + "]"
    return str(int(value)) if isinstance(value, int) else str(value)


def go_quote(text: str) -> str:
    """strconv.Quote: Go-syntax double-quoted string."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif o < 0x20 or o == 0x7f:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def go_syntax(value: Any) -> str:
    """``%#v`` of decoded JSON, as kubectl's jsonpath error shows the object."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        return ("map[string]interface {}{" +
                ", ".join(f"{go_quote(k)}:{go_syntax(value[k])}" for k in sorted(value)) + "}")
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_syntax(v) for v in value) + "}"
    return format_v(value)


def sprint(args: list[Any]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += format_v(a)
    return out


def sprintln(args: list[Any]) -> str:
    """fmt.Sprintln: always spaces, and a newline."""
    return " ".join(format_v(a) for a in args) + "\n"


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def sprintf(fmt: str, args: list[Any]) -> str:
    """fmt.Sprintf for the verbs templates use, with Go's ``%!d(string=x)`` complaints."""
    out, used, pos = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        text = _format_one(verb, flags, None if prec is None else int(prec or 0), arg)
        if width and width != "*":
            w = int(width)
            if "-" in flags:
                text = text.ljust(w)
            elif "0" in flags and isinstance(arg, (int, float)) and not isinstance(arg, bool):
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + text[len(sign):].rjust(w - len(sign), "0")
            else:
                text = text.rjust(w)
        out.append(text)
    out.append(fmt[pos:])
    if used < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type_name(a)}={format_v(a)}" for a in args[used:]) + ")")
    return "".join(out)


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}({type_name(arg)}={format_v(arg)})" if arg is not None else f"%!{verb}(<nil>)"


def _format_one(verb: str, flags: str, prec: int | None, arg: Any) -> str:
    is_int = isinstance(arg, int) and not isinstance(arg, bool)
    if verb == "v":
        if isinstance(arg, str) and "#" in flags:
            return go_quote(arg)
        return format_v(arg)
    if verb == "T":
        return type_name(arg)
    if isinstance(arg, (dict, list)) and verb in "sdqxXfegt":
        if isinstance(arg, dict):
            return "map[" + " ".join(f"{_format_one(verb, flags, prec, k)}:{_format_one(verb, flags, prec, arg[k])}"
                                     for k in sorted(arg)) + "]"
        return "[" + " ".join(_format_one(verb, flags, prec, v) for v in arg) + "]"
    if verb == "s" and isinstance(arg, str):
        return arg if prec is None else arg[:prec]
    if verb == "q":
        if isinstance(arg, str):
            return go_quote(arg)
        if is_int:
            return "'" + go_quote(chr(int(arg)))[1:-1].replace("\\\"", '"').replace("'", "\\'") + "'"
    if verb == "t" and isinstance(arg, bool):
        return "true" if arg else "false"
    if verb in "dxXob" and is_int:
        n = int(arg)
        text = {"d": str(abs(n)), "x": f"{abs(n):x}", "X": f"{abs(n):X}", "o": f"{abs(n):o}", "b": f"{abs(n):b}"}[verb]
        return ("-" if n < 0 else "+" if "+" in flags else "") + text
    if verb in "xX" and isinstance(arg, str):
        text = arg.encode().hex()
        return text.upper() if verb == "X" else text
    if verb == "c" and is_int:
        return chr(int(arg))
    if verb in "feEgG" and isinstance(arg, float):
        text = format_float(arg, verb.lower(), -1 if prec is None else prec)
        text = text.upper() if verb in "EG" else text
        return ("+" + text) if "+" in flags and arg >= 0 else text
    return _bad(verb, arg)


def rune(ch: str) -> str:
    """Go's ``%#U``, as parse errors name a bad character."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote(raw: str) -> str:
    """Go's strconv.Unquote, also for single-quoted strings; ValueError when invalid."""
    q, body = raw[0], raw[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == q:
            raise ValueError(raw)
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError(raw)
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "\"'":
            if e != q:
                raise ValueError(raw)
            out.append(e)
            i += 2
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2:i + 2 + n]
            if len(digits) != n or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise ValueError(raw)
            out.append(chr(int(digits, 16)))
            i += 2 + n
        elif e in "01234567":
            digits = body[i + 1:i + 4]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise ValueError(raw)
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError(raw)
    return "".join(out)
