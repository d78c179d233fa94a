"""What a report says about the data beside the verdict: ``DriftReport.notes`` and ``reference``.

Notes are sentences a person should read before trusting the verdict, each said once:

* the batch's pandas index columns, not read (:func:`arlequin_core.io.index_columns`);
* reference columns left untested because they look like identifiers (the id-like rule
  of :mod:`arlequin_core.drift.kinds`): an id never repeats, so a test of it says
  nothing, and it must not pass silently as "not drifted";
* batch columns whose values are mostly categories the reference never had (at least
  ``[drift] id_like_share`` of their rows): an id or a renamed code, worth a look.

``reference`` describes what drift was measured against: the model version and the
batches its training rows came from when the profile is a model's, else the file.
"""

from __future__ import annotations

from typing import Any

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.kinds import ID_LIKE
from arlequin_core.drift.profile import Profile
from arlequin_core.drift.report import DriftReport


def annotate(
    report: DriftReport,
    profile: Profile,
    config: ArlequinConfig,
    uri: str | None = None,
    index: list[str] | None = None,
) -> DriftReport:
    """Add the notes and the reference description to ``report`` (idempotent: each note once).

    :param index: the batch's pandas index columns; None reads them from the batch's
        first data file (its Parquet footer only).
    """
    from arlequin_core.io import batch_index_columns, index_note

    if index is None:
        index = batch_index_columns(uri, config.data.format, config.data.roles()) if uri else []
    if index:
        report.extra_columns = [c for c in report.extra_columns if c not in index]
        _add(report, index_note(index))
    for name, why in profile.skipped.items():
        if why.startswith(ID_LIKE):
            _add(report, f"column {name!r} is not tested: {why.removeprefix('not tested: ')}")
    share = config.drift.id_like_share
    for result in report.columns:
        unseen = int(result.details.get("unseen_rows") or 0)
        if share > 0 and result.kind == "categorical" and result.n_cur and unseen >= share * result.n_cur:
            _add(
                report,
                f"column {result.column!r}: {unseen / result.n_cur:.0%} of the batch's values are categories the "
                "reference never had: an identifier or a renamed code? list it in [data] exclude if it is an id",
            )
    if report.reference is None:
        report.reference = describe_reference(profile, report.model_name, report.model_version)
    return report


def describe_reference(profile: Profile, model_name: str | None = None, model_version: str | None = None) -> dict:
    """What drift is measured against: ``description`` for people, the parts for machines.

    A model's profile records its training data (``profile.data["trained_on"]``: batch
    ids, URIs, rows); an older profile or one built from a file has only its source.
    """
    trained: dict[str, Any] = dict(profile.data.get("trained_on") or {})
    batch_ids = list(trained.get("batch_ids") or [])
    uris = list(trained.get("uris") or ([profile.source] if profile.source else []))
    rows = int(profile.sampled_from or profile.rows)
    what: list[str] = []
    if model_name and model_version:
        what.append(f"model {model_name!r} version {model_version}'s training rows")
    if batch_ids:
        what.append(f"from batch{'es' if len(batch_ids) > 1 else ''} {', '.join(batch_ids)}")
    elif uris:
        shown = uris[0] if len(uris) == 1 else f"{uris[0]} and {len(uris) - 1} more file(s)"
        what.append(f"from {shown}")
    described = " ".join(what) or "the reference"
    described += f", {rows:,} rows"
    if trained.get("heldout_rows"):
        described += f" (the {int(trained['heldout_rows']):,} held-out rows excluded)"
    if profile.sampled_from:
        described += f", fitted on a sample of {profile.rows:,}"
    return {
        "description": described,
        "model_name": model_name,
        "model_version": model_version,
        "batch_ids": batch_ids,
        "uris": uris,
        "rows": rows,
        "source": profile.source,
    }


def _add(report: DriftReport, note: str) -> None:
    if note not in report.notes:
        report.notes.append(note)
