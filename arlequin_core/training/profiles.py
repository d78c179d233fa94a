"""The drift profile of a model's training data: built at training, read back for the champion.

This is the only module of training that touches the drift profile API
(:mod:`arlequin_core.drift.profile`): ``build_profile(reference, config, registry)``,
``Profile.save(path)`` and ``Profile.load(path)``. The profile is logged on the
model's run as the artifact :data:`PROFILE_ARTIFACT` (profile format 2), so drift is
always measured against the data the serving model learned from. Runs logged before
format 2 carry :data:`LEGACY_PROFILE_ARTIFACT` (format 1) instead; :func:`download_profile`
finds either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arlequin_core.config import ArlequinConfig
from arlequin_core.logs import get_logger

log = get_logger(__name__)

#: Artifact path of the profile on a training run (format 2: JSON metadata + Arrow arrays).
PROFILE_ARTIFACT = "arlequin/drift.profile"
#: Where runs logged before profile format 2 keep theirs (format 1, all JSON).
LEGACY_PROFILE_ARTIFACT = "arlequin/profile.json"
#: The profile's file name in a pending training directory (and so on the run, under ``arlequin/``).
PROFILE_FILE = PROFILE_ARTIFACT.rsplit("/", 1)[1]


def profile_api_available() -> bool:
    """Whether :mod:`arlequin_core.drift.profile` is installed (it is built by the drift side)."""
    try:
        from arlequin_core.drift.profile import Profile, build_profile  # noqa: F401
    except ImportError:
        return False
    return True


def build_profile_file(
    reference: Any,
    config: ArlequinConfig,
    registry: Any,
    path: Path,
    source: str | None = None,
    errors: Any = None,
    performance: dict[str, Any] | None = None,
    trained_on: dict[str, Any] | None = None,
) -> bool:
    """Fit the drift detectors on the training rows and save the profile to ``path``.

    :param reference: the training rows (pyarrow Table or pandas DataFrame, original columns).
    :param source: where the rows came from (recorded in the profile).
    :param errors: the model's per-row errors on its held-out rows, or None (see
        :func:`arlequin_core.training.model_errors.heldout_errors`).
    :param performance: the model's calibration on its held-out rows, or None (see
        :func:`arlequin_core.performance.harm.fit_performance`).
    :param trained_on: what the model was trained on (``batch_ids``, ``uris``, ``train_rows``,
        ``heldout_rows``), kept in the profile's ``data`` so reports name their reference.
    :returns: False when the profile API is not installed (logged; the run then has no profile).
    """
    try:
        from arlequin_core.drift.profile import build_profile
    except ImportError as exc:
        log.warning("profile_api_missing", error=str(exc), hint="the run will carry no drift profile")
        return False
    profile = build_profile(reference, config, registry, source=source, errors=errors, performance=performance)
    if trained_on:
        profile.data["trained_on"] = dict(trained_on)
    profile.save(path)
    return True


def load_profile(path: Path) -> Any:
    """A :class:`arlequin_core.drift.profile.Profile` read from ``path``."""
    from arlequin_core.drift.profile import Profile

    return Profile.load(path)


def download_profile(client: Any, run_id: str, dst: str) -> Path:
    """Download the profile artifact of run ``run_id`` into the directory ``dst``: the
    format-2 :data:`PROFILE_ARTIFACT`, else the format-1 :data:`LEGACY_PROFILE_ARTIFACT`.

    :param client: an ``mlflow.MlflowClient``.
    :raises FileNotFoundError: the run has neither (its message names both).
    """
    folder = PROFILE_ARTIFACT.rsplit("/", 1)[0]
    logged = {info.path for info in client.list_artifacts(run_id, folder)}
    for artifact in (PROFILE_ARTIFACT, LEGACY_PROFILE_ARTIFACT):
        if artifact in logged:
            return Path(client.download_artifacts(run_id, artifact, dst))
    raise FileNotFoundError(f"run {run_id} has no {PROFILE_ARTIFACT} (nor {LEGACY_PROFILE_ARTIFACT})")
