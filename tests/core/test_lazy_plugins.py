"""Components registered with ``lazy``: named at load, imported on first use, failing alone.

Real distributions on a temporary path (``make_dist``), discovered through their entry
points; the component modules sit beside them, so importing them is observable in
``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.errors import PluginError, RegistryError, UnknownComponentError
from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry, lazy

from .conftest import TOY_PLUGIN

ENTRY = """
from arlequin_core import hookimpl, lazy


@hookimpl
def arlequin_register_detectors(register):
    register(lazy("{module}:ToyDetector", name="toy"))
    register(lazy("{broken}:Nothing", name="broken-detector"))


@hookimpl
def arlequin_register_sinks(register):
    register(lazy("{module}:ToySink", name="toy-sink"))
"""

BROKEN = "import arlequin_core\nraise ImportError('libfoo.so.3: cannot open shared object file')\n"


@pytest.fixture
def lazy_plugin(make_dist: Callable[..., str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """Plugin ``lazytoy``: its entry point registers by name; the components live in other modules."""
    site = tmp_path / "site"
    names = {"module": "arlequin_test_lazytoy_impl", "broken": "arlequin_test_lazytoy_broken"}
    # The toy components (detector, sink, ...) without their hooks: a plain module.
    (site / f"{names['module']}.py").write_text(TOY_PLUGIN.format(prefix="").split("@hookimpl")[0])
    (site / f"{names['broken']}.py").write_text(BROKEN)
    names["entry"] = make_dist("lazytoy", ENTRY.format(**names))
    yield names
    for module in (names["module"], names["broken"]):
        sys.modules.pop(module, None)


def test_lazy_components_are_named_at_load_and_imported_on_first_use(lazy_plugin: dict[str, str]) -> None:
    host = PluginHost().load()
    assert "lazytoy" in host.plugins and "lazytoy" not in host.failures
    assert {"toy", "broken-detector"} <= set(host.registry.names("detector"))
    assert "detector:toy" in host.plugins["lazytoy"].components
    assert lazy_plugin["module"] not in sys.modules  # listed, not imported
    cls = host.registry.get("detector", "toy")
    assert cls.__name__ == "ToyDetector" and cls.__module__ == lazy_plugin["module"]
    assert host.registry.get("detector", "toy") is cls  # imported once, then the same object
    assert cls().fit([1.0, 3.0]).score([2.0]).statistic == 0.0


def test_a_lazy_component_that_fails_to_import_fails_alone_naming_the_plugin(lazy_plugin: dict[str, str]) -> None:
    host = PluginHost().load()
    with pytest.raises(PluginError) as caught:
        host.registry.get("detector", "broken-detector")
    message = str(caught.value)
    assert "detector 'broken-detector' of plugin 'lazytoy'" in message
    assert f"({lazy_plugin['broken']}:Nothing)" in message and "libfoo.so.3" in message
    assert "ARLEQUIN_DISABLE_PLUGINS=lazytoy" in message
    assert isinstance(caught.value.__cause__, ImportError)
    # Recorded for `arlequin plugins` and the daemon's log, with the traceback.
    failure = host.failures["lazytoy"]
    assert failure.stage == "load" and "broken-detector" in failure.error and "libfoo" in failure.traceback
    # The same error again (not a half-imported module), and nobody else is affected.
    with pytest.raises(PluginError, match="libfoo"):
        host.registry.get("detector", "broken-detector")
    assert host.registry.get("sink", "toy-sink").__name__ == "ToySink"
    assert host.registry.get("detector", "ks").info.name == "ks"
    # Loops over every component skip it.
    assert "broken-detector" not in [item.name for item in host.registry.usable("detector")]
    assert "toy" in [item.name for item in host.registry.usable("detector")]


def test_arlequin_plugins_check_imports_every_component_and_reports_the_broken_one(
    lazy_plugin: dict[str, str],
) -> None:
    from arlequin_core.cli import main

    listed = CliRunner().invoke(main, ["plugins"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output  # without --check nothing is imported
    assert "lazytoy  [" in listed.output

    checked = CliRunner().invoke(main, ["plugins", "--check"], catch_exceptions=False)
    assert checked.exit_code == 1
    assert "lazytoy  FAILED at load: detector 'broken-detector'" in checked.output
    assert "libfoo.so.3" in checked.output


def test_a_lazy_target_must_carry_the_declared_name_and_kind() -> None:
    registry = ComponentRegistry()
    registry.register("detector", lazy("arlequin_stats.ks:KolmogorovSmirnov", name="not-ks"), "p")
    with pytest.raises(PluginError, match=r"it is named 'ks', not 'not-ks' as registered"):
        registry.get("detector", "not-ks")
    registry.register("sink", lazy("arlequin_stats.ks:KolmogorovSmirnov", name="ks-as-sink"), "p")
    with pytest.raises(PluginError, match=r"expected a subclass of arlequin_core.sinks.base.Sink"):
        registry.get("sink", "ks-as-sink")
    registry.register("detector", lazy("arlequin_stats.ks:NoSuchClass", name="gone"), "p")
    with pytest.raises(PluginError, match=r"AttributeError: .*NoSuchClass"):
        registry.get("detector", "gone")


def test_lazy_names_clash_and_list_like_eager_ones() -> None:
    registry = ComponentRegistry()
    registry.register("detector", lazy("arlequin_stats.ks:KolmogorovSmirnov", name="ks"), "stats")
    with pytest.raises(RegistryError, match="registered twice: by plugin 'stats' and by plugin 'other'"):
        registry.register("detector", lazy("elsewhere:KS", name="ks"), "other")
    with pytest.raises(UnknownComponentError, match="known detectors: ks"):
        registry.get("detector", "kss")
    with pytest.raises(RegistryError, match=r"must be 'package\.module:attribute'"):
        lazy("arlequin_stats.ks.KolmogorovSmirnov", name="ks")


def test_a_failure_during_the_lookup_of_one_command_leaves_the_help_listing_the_others(
    make_dist: Callable[..., str], tmp_path: Path
) -> None:
    from arlequin_core.cli import main

    (tmp_path / "site" / "arlequin_test_gone_impl.py").write_text(BROKEN)
    make_dist(
        "gone",
        "from arlequin_core import hookimpl, lazy\n\n@hookimpl\ndef arlequin_register_commands(register):\n"
        "    register(lazy('arlequin_test_gone_impl:cmd', name='gone-cmd'))\n",
    )
    try:
        shown = CliRunner().invoke(main, ["--help"], catch_exceptions=False)
        assert shown.exit_code == 0 and "detect" in shown.stdout and "gone-cmd" not in shown.stdout
        run = CliRunner().invoke(main, ["gone-cmd"], catch_exceptions=False)
        assert run.exit_code == 1 and "command 'gone-cmd' of plugin 'gone'" in run.output
    finally:
        sys.modules.pop("arlequin_test_gone_impl", None)


def _listed(output: str) -> set[str]:
    return {line.split()[0] for line in output.split("Commands:")[1].splitlines() if line.strip()}


@pytest.mark.parametrize(
    ("config", "listed"),
    [
        ('[plugins]\ndisable = ["toy"]\n', False),  # read without validating the rest
        ("[plugins]\ndisable = []\n", True),
        # Not readable so simply: the validated config decides (here: toy disabled by ${VAR}).
        ('[plugins]\ndisable = ["${ARL_TEST_DISABLED}"]\n', False),
        # An invalid config elsewhere does not hide the command list (nor would the full load).
        ('[plugins]\ndisable = ["toy"]\n[drift]\nno_such_key = 1\n', False),
        ("[drift]\nno_such_key = 1\n", True),
    ],
)
def test_root_help_honours_plugins_disable_of_the_config_file(
    toy_plugin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, listed: bool
) -> None:
    from arlequin_core.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "arlequin.toml").write_text(config)
    result = CliRunner().invoke(main, ["--help"], env={"ARL_TEST_DISABLED": "toy"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ("toy-hello" in _listed(result.output)) is listed
    assert "detect" in _listed(result.output)
    # $ARLEQUIN_CONFIG is honoured as by the full load (here an empty file: nothing disabled).
    other = CliRunner().invoke(main, ["--help"], env={"ARLEQUIN_CONFIG": "/dev/null"}, catch_exceptions=False)
    assert "toy-hello" in _listed(other.output)
