"""Quantities read and print as apimachinery's resource.Quantity does."""
from fractions import Fraction

import pytest

from kubelab.api import quantity
from kubelab.api.quantity import FORMAT_WRONG, SUFFIX_WRONG, Quantity, parse


@pytest.mark.parametrize("text, canonical", [
    ("100m", "100m"), ("0.5", "500m"), ("1", "1"), ("1000m", "1"), ("1500m", "1500m"),
    ("2000m", "2"), ("128Mi", "128Mi"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("1.5Mi", "1536Ki"),
    ("0.5Gi", "512Mi"), ("1G", "1G"), ("1000M", "1G"), ("1500000", "1500k"), ("2e3", "2e3"),
    ("1E", "1E"), ("0", "0"), ("0Mi", "0"), ("512", "512"), ("100Ki", "100Ki"), ("1000Ki", "1000Ki"),
    ("-1", "-1"), ("+2", "2"), ("0.1", "100m"), ("1.", "1"), ("1n", "1n"), ("0.5m", "500u"),
    ("4015008Ki", "4015008Ki"), ("12e-3", "12e-3"), ("1.5e3", "1500"),
])
def test_canonical_form(text, canonical):
    assert str(parse(text)) == canonical


def test_small_or_fractional_binary_prints_decimal():
    assert str(parse("0.5Ki")) == "512"
    assert str(parse("1.1Ki")) == "1126400m"


def test_values():
    assert parse("100m").milli() == 100
    assert parse("1").milli() == 1000
    assert parse("0.25").milli() == 250
    assert parse("128Mi").whole() == 128 * 2**20
    assert parse("1G").whole() == 10**9
    assert parse("2e3").whole() == 2000
    assert parse("1Ki").whole() == 1024
    assert quantity.cpu_millis("1.5") == 1500
    assert quantity.to_bytes("64Mi") == 67108864
    assert quantity.amount("cpu", "250m") == 250
    assert quantity.amount("memory", "1Ki") == 1024
    assert quantity.cpu_millis(2) == 2000
    assert quantity.cpu_millis(0.5) == 500


def test_rounds_up_to_nano_and_milli():
    assert parse("0.1n").value == Fraction(1, 10**9)
    assert parse("1u").milli() == 1  # MilliValue rounds up
    assert parse("1.0000000001").value == Fraction(1000000001, 10**9)


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1x", "m", "Mi", "1 Mi", "--1", "1e", "1Mii", "0x10", "1e3e"])
def test_bad_quantities(bad):
    with pytest.raises(quantity.QuantityError) as err:
        parse(bad)
    assert str(err.value) in (FORMAT_WRONG, SUFFIX_WRONG)


def test_error_messages():
    with pytest.raises(quantity.QuantityError, match=r"^quantities must match the regular expression "):
        parse("abc")
    with pytest.raises(quantity.QuantityError) as err:
        parse("1Mii")
    assert str(err.value) == "unable to parse quantity's suffix"
    assert FORMAT_WRONG == ("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def test_sums_keep_the_first_format():
    total = Quantity(Fraction(0))
    for q in ("100m", "150m"):
        total = total + parse(q)
    assert str(total) == "250m"
    mem = Quantity(Fraction(0)) + parse("128Mi") + parse("64Mi")
    assert str(mem) == "192Mi"
    assert str(parse("1Gi") - parse("512Mi")) == "512Mi"


def test_percent():
    assert quantity.percent(250, 2000) == 12
    assert quantity.percent(0, 2000) == 0
    assert quantity.percent(5, 0) == 0
