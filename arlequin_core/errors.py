"""Errors a user can hit, each with the exit status the CLI maps it to.

Every error says what was wrong, where (file, column, key), and what to do.
"""

from __future__ import annotations

#: Exit statuses of the ``arlequin`` command.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DRIFT = 3


class ArlequinError(Exception):
    """Base class of the errors Arlequin raises on purpose (bad input, bad config)."""

    exit_code: int = EXIT_USAGE


class ConfigError(ArlequinError):
    """The configuration file or an environment variable it names is wrong."""


class InputError(ArlequinError):
    """A data file is unreadable, empty, truncated or has the wrong schema."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class RegistryError(ArlequinError):
    """A component could not be registered or looked up."""


class UnknownComponentError(RegistryError, KeyError):
    """A lookup named a component nobody registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class PluginError(ArlequinError):
    """A plugin could not be loaded or broke the hook contract."""
