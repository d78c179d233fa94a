"""Secret values known to the process, and their redaction from anything written.

Config values that come from ``${ENV_VAR}`` or ``${file:PATH}`` interpolation into a
secret field, and every :class:`pydantic.SecretStr`, are registered here. The log
processor and the journal pass their output through :func:`redact`, so a token never
appears in a log line, a journal record, an MLflow param or a report.
"""

from __future__ import annotations

import threading
from typing import Any

MASK = "***"
_MIN_LEN = 4  # shorter values would redact ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so it is masked wherever it would be written."""
    if value and len(value) >= _MIN_LEN:
        with _lock:
            _secrets.add(value)


def known_secrets() -> frozenset[str]:
    """The registered secret values (for tests and for checks before writing)."""
    with _lock:
        return frozenset(_secrets)


def redact(value: Any) -> Any:
    """``value`` with every known secret replaced by ``***``, recursing into containers."""
    if not _secrets:
        return value
    if isinstance(value, str):
        # Longest first, so a secret containing another is masked whole.
        for secret in sorted(known_secrets(), key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value
