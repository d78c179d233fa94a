"""Errors of training, tracking and the model registry.

All are :class:`arlequin_core.errors.ArlequinError` subclasses, so the CLI prints
them as one ``error: ...`` line and the daemon logs them and keeps running.
"""

from __future__ import annotations

from arlequin_core.errors import EXIT_INTERNAL, ArlequinError, ConfigError

#: ``arlequin validate --require-pass`` exits with this when the challenger is rejected.
EXIT_REJECTED = 4


class LabelRuleError(ConfigError):
    """``[training] label_rule`` does not parse or does not fit the data.

    The message shows the rule with a caret line under the offending place.

    :param rule: the rule text.
    :param position: 0-based character offset of the problem in ``rule``.
    :param width: how many characters to underline (at least 1).
    :param problem: what is wrong, in words.
    """

    def __init__(self, rule: str, position: int, width: int, problem: str) -> None:
        self.rule = rule
        self.position = position
        self.width = max(1, width)
        self.problem = problem
        caret = " " * position + "^" * self.width
        super().__init__(
            f"[training] label_rule, at column {position + 1}: {problem}\n    {rule}\n    {caret}",
        )


class TrainingError(ArlequinError):
    """Training could not run: no usable label, one class only, no features, ..."""


class TrackingError(ArlequinError):
    """MLflow is unreachable or failed; the trained model is kept under ``<home>/pending``.

    :param pending_id: the pending directory to resume (``arlequin train --resume ID``).
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, pending_id: str | None = None) -> None:
        super().__init__(message)
        self.pending_id = pending_id


class ModelRegistryError(ArlequinError):
    """A registry operation is impossible: no champion, unknown version, nothing to roll back to."""
