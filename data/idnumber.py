"""Israeli identity numbers (תעודת זהות): the check digit of the roster spec.

Nine digits; multiply them alternately by 1 and 2 from the left, subtract 9 from any product over 9,
and the sum must be divisible by 10. 000000000 is invalid. Shorter numbers are left-padded with zeros
(the generator writes them padded; ingest pads before checking). The vectorised `check_digits` lets the
generator make millions of valid numbers without a Python loop.
"""
from __future__ import annotations

import numpy as np

_WEIGHTS = (1, 2, 1, 2, 1, 2, 1, 2, 1)


def _digit_sum(digits: str) -> int:
    total = 0
    for d, w in zip(digits, _WEIGHTS):
        p = int(d) * w
        total += p - 9 if p > 9 else p
    return total


def is_valid(s: str) -> bool:
    """True when s is a valid type-1 identity number (up to nine digits, left-padded with zeros)."""
    if not isinstance(s, str):
        return False
    s = s.strip()
    if not s.isascii() or not s.isdigit() or len(s) > 9:
        return False
    s = s.zfill(9)
    if s == "000000000":
        return False
    return _digit_sum(s) % 10 == 0


def make_valid(prefix8: str) -> str:
    """The nine-digit valid identity number whose first eight digits are prefix8."""
    prefix8 = str(prefix8).strip()
    if not prefix8.isascii() or not prefix8.isdigit() or len(prefix8) > 8:
        raise ValueError(f"an identity-number prefix is up to eight digits, got {prefix8!r}")
    prefix8 = prefix8.zfill(8)
    partial = _digit_sum(prefix8)  # the ninth weight is 1, so the check digit adds itself
    check = (10 - partial % 10) % 10
    result = prefix8 + str(check)
    if result == "000000000":
        raise ValueError("000000000 is not a valid identity number")
    return result


def check_digits(prefixes: np.ndarray) -> np.ndarray:
    """Check digits for an array of eight-digit prefixes (integers 0..99,999,999)."""
    p = np.asarray(prefixes, dtype=np.int64)
    total = np.zeros(p.shape, dtype=np.int64)
    # Digits from the left: position 0 is the ten-millions digit; positions 1,3,5,7 weigh 2.
    for pos in range(8):
        digit = (p // 10 ** (7 - pos)) % 10
        prod = digit * _WEIGHTS[pos]
        total += np.where(prod > 9, prod - 9, prod)
    return (10 - total % 10) % 10


def make_valid_many(prefixes: np.ndarray) -> np.ndarray:
    """Valid nine-digit identity numbers, as integers, for an array of eight-digit prefixes."""
    p = np.asarray(prefixes, dtype=np.int64)
    return p * 10 + check_digits(p)
