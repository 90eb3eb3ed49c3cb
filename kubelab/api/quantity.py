"""Resource quantities (``100m``, ``0.5``, ``128Mi``, ``1G``, ``2e3``), as apimachinery's
``resource.Quantity`` reads and prints them.

Values are exact fractions, rounded up to the nano as Kubernetes does, so ``0.1 + 0.2`` CPUs
are exactly ``300m``. ``str(q)`` is the canonical form the API server writes back (``0.5`` is
``500m``, ``1024Mi`` is ``1Gi``); the format (binary, decimal, exponent) is the one the value
was written in, as for a real Quantity.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
SUFFIX_WRONG = "unable to parse quantity's suffix"
NUMERIC_WRONG = "unable to parse numeric value"

_SHAPE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
# How parseQuantityString splits a string: sign, digits, optional .digits, then the suffix.
_PARTS = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*(?:[-+]?[0-9]+)?)$")

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {e: s for s, e in _DECIMAL.items()}
_BINARY_BY_EXP = {e: s for s, e in _BINARY.items()}
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """A string that is not a quantity; the message is apimachinery's."""


@dataclass(frozen=True)
class Quantity:
    """An exact amount plus the format it prints in."""

    value: Fraction
    format: str = DECIMAL_SI

    def milli(self) -> int:
        """The amount in thousandths, rounded up (``MilliValue``): millicores for cpu."""
        return math.ceil(self.value * 1000)

    def whole(self) -> int:
        """The amount rounded up to an integer (``Value``): bytes for memory."""
        return math.ceil(self.value)

    def __add__(self, other: "Quantity") -> "Quantity":
        # apimachinery's Add keeps the receiver's format unless the receiver is zero
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value + other.value, fmt)

    def __sub__(self, other: "Quantity") -> "Quantity":
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value - other.value, fmt)

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)


def parse(text: str | int | float) -> Quantity:
    """Read a quantity the way the API server does; raise ``QuantityError`` with its message."""
    if isinstance(text, bool):
        raise QuantityError(FORMAT_WRONG)
    if isinstance(text, int):
        return Quantity(Fraction(text), DECIMAL_SI)
    if isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str):
        raise QuantityError(FORMAT_WRONG)
    return _parse_short(text) if len(text) <= 64 else _parse_text(text)


def _parse_text(text: str) -> Quantity:
    text = text.strip()
    if not _SHAPE.match(text):
        raise QuantityError(FORMAT_WRONG)
    parts = _PARTS.match(text)
    if parts is None:
        raise QuantityError(FORMAT_WRONG)
    sign, whole, frac, suffix = parts.groups()
    if not whole and not frac:
        if frac is None:
            raise QuantityError(FORMAT_WRONG)
        whole = "0"  # "." reads as zero, as it does in Go
    base, fmt = _suffix(suffix)
    number = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    value = number * base
    if sign == "-":
        value = -value
    if value and value.denominator != 1 and (value / _NANO).denominator != 1:
        # round away from zero to the nearest nano: asking for a little should get a little
        nanos = math.ceil(abs(value) / _NANO)
        value = nanos * _NANO * (1 if value > 0 else -1)
    return Quantity(value, fmt)


# A workload's pods all ask for the same few amounts, and a Quantity is frozen: short strings
# are read once (an error is raised again each time, never remembered).
_parse_short = functools.lru_cache(maxsize=4096)(_parse_text)


def _suffix(suffix: str) -> tuple[Fraction, str]:
    if suffix in _BINARY:
        return Fraction(2) ** _BINARY[suffix], BINARY_SI
    if suffix in _DECIMAL:
        return Fraction(10) ** _DECIMAL[suffix], DECIMAL_SI
    if suffix[:1] in ("e", "E") and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        return Fraction(10) ** int(suffix[1:]), DECIMAL_EXPONENT
    raise QuantityError(SUFFIX_WRONG)


def format_quantity(value: Fraction, fmt: str = DECIMAL_SI) -> str:
    """The canonical string of an amount (``Quantity.String()``)."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI and (abs(value) < 1024 or value.denominator != 1):
        fmt = DECIMAL_SI  # small or fractional binary amounts print in decimal, as in Go
    sign = "-" if value < 0 else ""
    value = abs(value)
    if fmt == BINARY_SI:
        mantissa, exp = int(value), 0
        while mantissa % 1024 == 0 and exp < 60:
            mantissa //= 1024
            exp += 10
        return f"{sign}{mantissa}{_BINARY_BY_EXP.get(exp, '')}"
    # decimal: the smallest integer mantissa with an exponent that is a multiple of three
    exp = 0
    while value.denominator != 1:
        value *= 1000
        exp -= 3
    mantissa = int(value)
    while mantissa and mantissa % 1000 == 0:
        mantissa //= 1000
        exp += 3
    if fmt == DECIMAL_EXPONENT:
        return f"{sign}{mantissa}" + (f"e{exp}" if exp else "")
    if exp in _DECIMAL_BY_EXP:
        return f"{sign}{mantissa}{_DECIMAL_BY_EXP[exp]}"
    return f"{sign}{mantissa}e{exp}"


def cpu_millis(text: str | int | float) -> int:
    """Millicores of a cpu quantity (``"250m"`` -> 250, ``"1"`` -> 1000)."""
    return parse(text).milli()


def to_bytes(text: str | int | float) -> int:
    """An integer amount, rounded up (bytes of memory, a pod count)."""
    return parse(text).whole()


@functools.lru_cache(maxsize=4096)
def amount(resource: str, text: str | int | float) -> int:
    """The integer the scheduler compares for a resource: millicores for cpu, whole units
    (bytes, pods, devices) for everything else. Cached: a cluster repeats a few values."""
    return cpu_millis(text) if resource == "cpu" else to_bytes(text)


def percent(part: int, whole: int) -> int:
    """kubectl describe's ``(12%)``: truncated, 0 when there is nothing allocatable."""
    return int(part / whole * 100) if whole else 0
