"""Which config file applies, and a validation-free peek at its ``[plugins] disable``.

Kept apart from :mod:`arlequin_core.config` (pydantic models: a fifth of a second to
import) so that ``arlequin --help``, which needs only the enabled plugins' command
names, starts without it. Everything else loads the validated config.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_CONFIG_NAME = "arlequin.toml"


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use: ``path``, ``$ARLEQUIN_CONFIG``, ``./arlequin.toml``, or None."""
    if path is not None:
        return Path(path)
    env = os.environ.get("ARLEQUIN_CONFIG")
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def peek_disabled_plugins(path: str | os.PathLike[str] | None = None) -> list[str] | None:
    """``[plugins] disable`` of the config file, read without validating anything else.

    :returns: the names (``[]`` without a file or a ``[plugins]`` table), or None when
        the file cannot be read this simply (unreadable, not TOML, not a plain list
        of strings, ``${...}`` in it): then the caller loads the validated config.
    """
    file = find_config(path)
    if file is None:
        return []
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    plugins = raw.get("plugins", {})
    if not isinstance(plugins, dict):
        return None
    disable = plugins.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(n, str) and "${" not in n for n in disable):
        return None
    return list(disable)
