"""The component registry: type checks, duplicate names, helpful unknown-name errors."""

from __future__ import annotations

import click
import pytest

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.errors import RegistryError, UnknownComponentError
from arlequin_core.registry import ComponentRegistry


def _detector(name: str = "d", kinds=frozenset({"numeric"}), score_kind: str = "p_value") -> type[Detector]:
    class D(Detector):
        info = DetectorInfo(name=name, display_name=name, kinds=kinds, score=score_kind, default_threshold=0.05)

        def fit(self, reference):
            return self

        def score(self, current):
            return Score(statistic=0.0)

        def to_profile(self):
            return {}

        @classmethod
        def from_profile(cls, profile):
            return cls()

    return D


def test_register_and_get() -> None:
    registry = ComponentRegistry()
    cls = _detector("ks")
    item = registry.register("detector", cls, "stats")
    assert item.name == "ks" and item.origin == "stats"
    assert registry.get("detector", "ks") is cls
    assert registry.names("detector") == ["ks"]


def test_unknown_name_lists_the_known_ones() -> None:
    registry = ComponentRegistry()
    registry.register("detector", _detector("ks"), "stats")
    registry.register("detector", _detector("chi2"), "stats")
    with pytest.raises(UnknownComponentError) as info:
        registry.get("detector", "kss")
    assert str(info.value) == "unknown detector 'kss'; known detectors: chi2, ks"


def test_duplicate_is_refused_naming_both_origins() -> None:
    registry = ComponentRegistry()
    registry.register("detector", _detector("ks"), "stats")
    with pytest.raises(RegistryError, match="by plugin 'stats' and by plugin 'other'"):
        registry.register("detector", _detector("ks"), "other")


@pytest.mark.parametrize(
    ("kind", "obj", "message"),
    [
        ("detector", object, "subclass of arlequin_core.drift.base.Detector"),
        ("detector", _detector(kinds=frozenset({"text"})), "kinds must be"),
        ("detector", _detector(score_kind="pvalue"), "score must be"),
        ("trainer", type("T", (), {}), "subclass of arlequin_core.training.base.Trainer"),
        ("sink", 42, "subclass of arlequin_core.sinks.base.Sink"),
        ("command", lambda: None, "click.Command"),
        ("widget", object, "unknown component kind"),
    ],
)
def test_bad_components_are_refused(kind: str, obj: object, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        ComponentRegistry().register(kind, obj, "plugin-x")


def test_sink_without_name_is_refused() -> None:
    from arlequin_core.sinks.base import Sink

    class Nameless(Sink):
        pass

    with pytest.raises(RegistryError, match="has no 'name'"):
        ComponentRegistry().register("sink", Nameless, "p")


def test_commands_and_unregister_origin() -> None:
    registry = ComponentRegistry()
    registry.register("command", click.Command("hello"), "p")
    registry.register("detector", _detector("x"), "p")
    registry.register("detector", _detector("y"), "q")
    registry.unregister_origin("p")
    assert [(e.kind, e.name) for e in registry.entries()] == [("detector", "y")]
