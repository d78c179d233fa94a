"""The champion's profile on its MLflow run: format 2 as logged today, format 1 as logged before it."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import labelled_frame, make_config

from arlequin_core.app import App
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.training import models as reg
from arlequin_core.training.champion import champion_profile
from arlequin_core.training.errors import TrackingError
from arlequin_core.training.profiles import LEGACY_PROFILE_ARTIFACT, PROFILE_ARTIFACT
from arlequin_core.training.tracking import Tracking


def champion_run(app: App, tmp: Path, artifact: str | None) -> str:
    """A run made champion of the configured model, carrying its training rows' profile at ``artifact``."""
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    client = tracking.client()
    run = client.create_run(tracking.experiment_id(client))
    if artifact is not None:
        profile = build_profile(labelled_frame(n=600, seed=1), app.config, app.registry, source="train.parquet")
        folder, name = artifact.rsplit("/", 1)
        profile.save(tmp / name)  # *.json: format 1, as arlequin wrote before format 2
        client.log_artifact(run.info.run_id, str(tmp / name), folder)
    client.set_terminated(run.info.run_id)
    name = tracking.model_name
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias(name, reg.CHAMPION, version.version)
    return run.info.run_id


@pytest.mark.parametrize("artifact", [PROFILE_ARTIFACT, LEGACY_PROFILE_ARTIFACT])
def test_the_champion_profile_is_read_in_either_format(isolated, artifact):
    app = App(make_config(isolated / ".arlequin"))
    try:
        champion_run(app, isolated, artifact)
        found = champion_profile(app.config)
        assert found is not None
        profile, name, version = found
        assert (name, version) == (app.config.mlflow.model_name, "1") and profile.rows == 600
        fresh = build_profile(labelled_frame(n=600, seed=1), app.config, app.registry, source="train.parquet")
        batch = labelled_frame(n=500, seed=2, shift=1.0)
        got, want = (check_batch(p, batch, app.config, app.registry).to_dict() for p in (profile, fresh))
        assert got["drifted_columns"] and got["drifted_columns"] == want["drifted_columns"]
        assert [c["p_value"] for c in got["columns"]] == [c["p_value"] for c in want["columns"]]
    finally:
        app.close()


def test_a_champion_without_a_profile_names_both_artifacts(isolated):
    app = App(make_config(isolated / ".arlequin"))
    try:
        champion_run(app, isolated, None)
        with pytest.raises(TrackingError, match=f"has no readable {PROFILE_ARTIFACT}.*{LEGACY_PROFILE_ARTIFACT}"):
            champion_profile(app.config)
    finally:
        app.close()
