"""Text for one line of a terminal (shared by the log's console form and the CLI)."""

from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_safe(text: str) -> str:
    """``text`` for one line of a terminal: control characters and escape sequences shown escaped.

    A file name may hold a newline (forging a line of ``arlequin status``) or an ANSI
    escape sequence (rewriting the screen); each such character becomes ``\\n``,
    ``\\x1b``, ... and the bytes of a name that is not UTF-8 become ``\\xNN``.
    """
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else _ESCAPES.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )
