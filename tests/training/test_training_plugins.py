"""The ``sklearn`` and ``spark`` plugins register their trainers through the entry-point group."""

from __future__ import annotations

import pytest

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import UnknownComponentError
from arlequin_core.plugins import PluginHost
from arlequin_core.training.base import Trainer, make_trainer


def test_arlequin_register_trainers_registers_sklearn_and_spark() -> None:
    host = PluginHost().load()
    assert not host.failures, host.failures
    entries = {e.name: e for e in host.registry.entries("trainer")}
    assert entries["sklearn-logreg"].origin == "sklearn"
    assert entries["sklearn"].origin == "sklearn"
    assert entries["spark-logreg"].origin == "spark"
    assert entries["spark"].origin == "spark"
    for entry in entries.values():
        assert issubclass(entry.obj, Trainer)
        if entry.origin in ("sklearn", "spark"):
            assert entry.obj.flavor in ("sklearn", "spark")
    assert "arlequin_register_trainers" in host.plugins["sklearn"].hooks
    assert "arlequin_register_trainers" in host.plugins["spark"].hooks


def test_disabled_plugin_loses_its_trainer_and_lookup_lists_the_known_ones() -> None:
    app = App(ArlequinConfig.model_validate({"plugins": {"disable": ["spark", "scorecard"]}}))
    assert app.registry.names("trainer") == ["sklearn", "sklearn-logreg"]
    with pytest.raises(
        UnknownComponentError, match="unknown trainer 'spark-logreg'; known trainers: sklearn, sklearn-logreg"
    ):
        make_trainer(app, "spark-logreg")
