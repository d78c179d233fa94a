"""Plugin loading through real entry points, disabling, and failure isolation."""

from __future__ import annotations

import sys

import pytest

from arlequin_core import hookimpl
from arlequin_core.drift.base import Detector
from arlequin_core.plugins import PluginHost
from arlequin_core.sinks.base import Sink
from arlequin_core.sources.base import Source
from arlequin_core.training.base import Trainer

from .conftest import TOY_PLUGIN


def test_third_party_plugin_is_discovered_through_its_entry_point(toy_plugin: str) -> None:
    host = PluginHost().load()
    assert "toy" in host.plugins
    info = host.plugins["toy"]
    assert info.distribution == toy_plugin and info.version == "0.1"
    assert "detector:toy" in info.components
    assert host.registry.get("detector", "toy").__name__ == "ToyDetector"
    # Built-in plugins come through the same group.
    assert "log" in host.plugins


def test_arlequin_register_detectors_through_a_plugin(toy_plugin: str) -> None:
    detector = PluginHost().load().registry.get("detector", "toy")
    assert issubclass(detector, Detector)
    fitted = detector().fit([1.0, 2.0, 3.0])
    assert fitted.score([2.0, 2.0]).statistic == 0.0


def test_arlequin_register_trainers_through_a_plugin(toy_plugin: str) -> None:
    assert issubclass(PluginHost().load().registry.get("trainer", "toy-trainer"), Trainer)


def test_arlequin_register_sinks_through_a_plugin(toy_plugin: str) -> None:
    assert issubclass(PluginHost().load().registry.get("sink", "toy-sink"), Sink)


def test_arlequin_register_sources_through_a_plugin(toy_plugin: str) -> None:
    assert issubclass(PluginHost().load().registry.get("source", "toy-source"), Source)


def test_arlequin_register_commands_through_a_plugin(toy_plugin: str) -> None:
    command = PluginHost().load().registry.get("command", "toy-hello")
    assert command.name == "toy-hello"


def test_disabled_by_name_in_config(toy_plugin: str) -> None:
    host = PluginHost(disabled=["toy"]).load()
    assert "toy" not in host.plugins and "toy" in host.skipped
    assert "toy" not in host.registry.names("detector")
    assert toy_plugin not in sys.modules  # not even imported


def test_disabled_by_environment_variable(toy_plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARLEQUIN_DISABLE_PLUGINS", "toy, log")
    host = PluginHost().load()
    assert "toy" not in host.plugins and "log" not in host.plugins


def test_load_only_listed_plugins(toy_plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARLEQUIN_LOAD_PLUGINS", "toy")
    host = PluginHost().load()
    assert list(host.plugins) == ["toy"]
    monkeypatch.setenv("ARLEQUIN_LOAD_PLUGINS", "")
    assert PluginHost().load().plugins == {}


def test_plugin_whose_import_raises_is_reported_and_others_load(toy_plugin: str, make_dist) -> None:
    make_dist("broken", "import arlequin_core\nraise RuntimeError('cannot start: no licence')\n")
    host = PluginHost().load()
    failure = host.failures["broken"]
    assert failure.stage == "import"
    assert "no licence" in failure.error and "RuntimeError" in failure.traceback
    assert "toy" in host.plugins and "log" in host.plugins


def test_misspelt_hook_is_an_error_not_silence(make_dist) -> None:
    make_dist(
        "typo",
        "from arlequin_core import hookimpl\n\n@hookimpl\ndef arlequin_on_drift_detecte(event):\n    pass\n",
    )
    host = PluginHost().load()
    assert "arlequin_on_drift_detecte" in host.failures["typo"].error
    assert "arlequin_on_drift_detected" in host.failures["typo"].error  # the known hooks are listed
    assert "typo" not in host.plugins
    host.pm.check_pending()  # nothing unvalidated is left behind


def test_plugin_raising_in_registration_loses_only_its_own_components(toy_plugin: str, make_dist) -> None:
    make_dist(
        "halfway",
        TOY_PLUGIN.format(prefix="half-").replace(
            "    register(ToySink)", "    register(ToySink)\n    raise ValueError('sink misconfigured')"
        ),
    )
    host = PluginHost().load()
    assert host.failures["halfway"].stage == "register"
    assert "sink misconfigured" in host.failures["halfway"].error
    # Everything it had registered is gone, and it receives no events.
    assert not [e for e in host.registry.entries() if e.origin == "halfway"]
    assert host.pm.get_plugin("halfway") is None
    assert "toy" in host.registry.names("detector")


def test_duplicate_component_names_name_both_plugins(toy_plugin: str, make_dist) -> None:
    make_dist("copycat", TOY_PLUGIN.format(prefix=""))
    host = PluginHost().load()
    # Loaded in name order: copycat first, so toy's registration is the duplicate.
    failure = host.failures["toy"]
    assert "registered twice" in failure.error
    assert "'copycat'" in failure.error and "'toy'" in failure.error


def test_loading_is_lazy_and_runs_once(toy_plugin: str) -> None:
    host = PluginHost()
    assert toy_plugin not in sys.modules  # nothing happens before first use
    host.load()
    module = sys.modules[toy_plugin]
    names = host.registry.names("detector")
    host.load()
    assert sys.modules[toy_plugin] is module
    assert host.registry.names("detector") == names


def test_register_plugin_object_directly() -> None:
    class Recorder:
        @hookimpl
        def arlequin_on_batch_checked(self, event):
            pass

    host = PluginHost(entry_points=[]).load()
    assert host.register_plugin(Recorder(), "recorder")
    assert host.plugins["recorder"].hooks == ["arlequin_on_batch_checked"]


MISSPELT_PREFIX = """
from arlequin_core import hookimpl

@hookimpl
def arlequim_register_detectors(register):  # "arlequim": a typo in the prefix
    pass
"""


def test_misspelt_hook_prefix_fails_that_plugin_only(toy_plugin: str, make_dist) -> None:
    make_dist("typo", MISSPELT_PREFIX)
    host = PluginHost()
    assert host.load() is host  # does not raise
    failure = host.failures["typo"]
    assert failure.stage == "hooks" and "unknown hook(s) arlequim_register_detectors" in failure.error
    assert "did you mean arlequin_register_detectors" in failure.error
    assert "typo" not in host.plugins and "toy" in host.plugins and "log" in host.plugins
    assert host.registry.get("detector", "toy").__name__ == "ToyDetector"  # the others loaded fully
    assert host.load() is host and host.failures["typo"] is failure  # still loaded, failure still recorded


def test_misspelt_hook_prefix_is_shown_by_arlequin_plugins(toy_plugin: str, make_dist) -> None:
    from click.testing import CliRunner

    from arlequin_core.cli import main

    make_dist("typo", MISSPELT_PREFIX)
    result = CliRunner().invoke(main, ["plugins"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "typo  FAILED at hooks" in result.output and "arlequim_register_detectors" in result.output
    assert "toy  [" in result.output
