"""The drift policy from the command line: ``arlequin detect --detector ... --critical ...`` over config.

Each option overrides its ``[drift]`` key for one run, so a one-off check needs no
TOML file:

* ``--detector NAME`` sets ``numeric_detector`` and/or ``categorical_detector``, by the
  kinds the detector tests; ``--detector COLUMN=NAME`` sets ``[drift.columns.COLUMN] detector``;
* ``--threshold VALUE`` sets ``[drift] threshold`` (every column's), ``COLUMN=VALUE`` one column's;
* ``--min-effect VALUE`` sets ``[drift] min_effect`` for every kind; ``numeric=``,
  ``categorical=``, ``missing=`` one kind's; ``COLUMN=VALUE`` one column's;
* ``--correction``, ``--drift-share`` and ``--critical`` (repeatable) set their keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from pydantic import ValidationError

from arlequin_core.config import ArlequinConfig, DriftSection
from arlequin_core.errors import UnknownComponentError

KINDS = ("numeric", "categorical", "missing")


def policy_overrides(
    config: ArlequinConfig,
    *,
    detectors: Sequence[str] = (),
    thresholds: Sequence[str] = (),
    min_effects: Sequence[str] = (),
    correction: str | None = None,
    drift_share: float | None = None,
    critical: Sequence[str] = (),
) -> ArlequinConfig:
    """``config`` with the command line's policy options applied (see the module docstring).

    :raises click.BadParameter: a value that is not a number, an unknown detector, or an
        override that makes ``[drift]`` invalid (naming the option).
    """
    if not (detectors or thresholds or min_effects or correction or drift_share is not None or critical):
        return config
    drift = config.drift.model_dump()
    columns: dict[str, dict[str, Any]] = drift.setdefault("columns", {})
    for spec in detectors:
        column, name = _split(spec)
        if column is not None:
            columns.setdefault(column, {})["detector"] = name
            continue
        kinds = _detector_kinds(name)
        if "numeric" in kinds:
            drift["numeric_detector"] = name
        if "categorical" in kinds:
            drift["categorical_detector"] = name
    for spec in thresholds:
        column, value = _split(spec)
        number = _number("--threshold", value)
        if column is None:
            drift["threshold"] = number
        else:
            columns.setdefault(column, {})["threshold"] = number
    for spec in min_effects:
        target, value = _split(spec)
        number = _number("--min-effect", value)
        if target is None:
            drift["min_effect"] = {kind: number for kind in KINDS}
        elif target in KINDS:
            drift["min_effect"][target] = number
        else:
            columns.setdefault(target, {})["min_effect"] = number
    if correction is not None:
        drift["correction"] = correction
    if drift_share is not None:
        drift["drift_share"] = drift_share
    if critical:
        drift["critical"] = list(critical)
    try:
        section = DriftSection.model_validate(drift)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise click.BadParameter(f"drift.{key}: {first['msg']}") from None
    return config.model_copy(update={"drift": section})


def _split(spec: str) -> tuple[str | None, str]:
    if "=" in spec:
        left, right = spec.split("=", 1)
        return left.strip(), right.strip()
    return None, spec.strip()


def _number(option: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{option}: {value!r} is not a number") from None


def _detector_kinds(name: str) -> frozenset[str]:
    """The kinds ``name`` tests, from the registry of the running app (unknown names list the known ones)."""
    from arlequin_core.app import get_app

    registry = get_app(click.get_current_context()).registry
    try:
        cls = registry.get("detector", name)
    except UnknownComponentError as exc:  # names the known detectors
        raise click.BadParameter(f"--detector: {exc}") from None
    return cls.info.kinds
