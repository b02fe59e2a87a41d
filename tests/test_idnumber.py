"""The identity-number check digit of the roster spec, used by the generator and by ingest."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from data import idnumber


@pytest.mark.parametrize("number", ["039337423", "123456782", "39337423"])
def test_spec_examples_of_valid_numbers_pass(number):
    assert idnumber.is_valid(number)


@pytest.mark.parametrize("number", ["039337422", "123456785", "000000000", "", "12345678a", "1234567890", " ",
                                    "١٢٣٤٥٦٧٨٢"])
def test_spec_examples_of_invalid_numbers_fail(number):
    assert not idnumber.is_valid(number)


def test_make_valid_completes_a_prefix_with_its_check_digit():
    assert idnumber.make_valid("03933742") == "039337423"
    assert idnumber.make_valid("12345678") == "123456782"
    assert idnumber.make_valid("3933742") == "039337423"


def test_make_valid_refuses_what_is_not_an_eight_digit_prefix():
    with pytest.raises(ValueError):
        idnumber.make_valid("123456789")
    with pytest.raises(ValueError):
        idnumber.make_valid("00000000")


def test_vectorised_check_digits_agree_with_the_scalar_rule():
    prefixes = np.random.default_rng(3).integers(0, 100_000_000, 2000)
    prefixes = prefixes[prefixes > 0]
    many = idnumber.make_valid_many(prefixes)
    for p, full in zip(prefixes, many):
        text = str(int(full)).zfill(9)
        assert text == idnumber.make_valid(str(int(p)))
        assert idnumber.is_valid(text)
        # Any other last digit is invalid.
        assert not idnumber.is_valid(text[:8] + str((int(text[8]) + 1) % 10))


@given(st.integers(min_value=1, max_value=99_999_999), st.integers(min_value=0, max_value=8),
       st.integers(min_value=1, max_value=9))
def test_changing_any_one_digit_of_a_valid_number_makes_it_invalid(prefix, position, shift):
    number = idnumber.make_valid(str(prefix))
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1:]
    assert idnumber.is_valid(number)
    assert not idnumber.is_valid(changed)
