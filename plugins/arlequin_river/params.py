"""Parameter checks shared by the detectors' ``__init__``: clear ``ValueError`` messages.

Config values come from TOML, so a bool where a number belongs (``true`` for
``clock``) and a string where a float belongs are rejected, never coerced.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["check_bool", "check_choice", "check_float", "check_int"]


def _fail(detector: str, name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{detector}: parameter {name} must be {expected}, got {value!r}")


def check_int(detector: str, name: str, value: Any, minimum: int, maximum: int = 2**31 - 1) -> int:
    """``value`` as an int in ``[minimum, maximum]``.

    :raises ValueError: not an integer (bools and floats are refused) or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(detector, name, f"an integer in [{minimum}, {maximum}]", value)
    return value


def check_float(
    detector: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float between ``low`` and ``high`` (open ends as asked).

    :raises ValueError: not a number or outside the interval.
    """
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    expected = f"a number in {left}{low}, {high}{right}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(detector, name, expected, value)
    value = float(value)
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        raise _fail(detector, name, expected, value)
    return value


def check_choice(detector: str, name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``.

    :raises ValueError: naming the allowed values.
    """
    allowed = list(choices)
    if value not in allowed:
        raise _fail(detector, name, "one of " + ", ".join(repr(c) for c in allowed), value)
    return value


def check_bool(detector: str, name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False``.

    :raises ValueError: anything else (``1``, ``"yes"``).
    """
    if not isinstance(value, bool):
        raise _fail(detector, name, "true or false", value)
    return value
