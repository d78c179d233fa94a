"""Meta-tests: every hookspec is typed, documented, and called by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import hookcalls
import pytest

from arlequin_core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, obj in vars(hookspecs).items() if name.startswith("arlequin_") and callable(obj))


def test_hooks_are_found() -> None:
    assert "arlequin_register_detectors" in HOOKS and "arlequin_on_drift_detected" in HOOKS


@pytest.mark.hookcalls_meta
@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_called_by_a_test(hook: str, request: pytest.FixtureRequest) -> None:
    """Some test made the core call ``hook`` on a plugin (recorded by ``tests/hookcalls.py``)."""
    recorder = request.config.pluginmanager.get_plugin(hookcalls.NAME)
    callers = recorder.tests_calling(hook)
    if not callers and not recorder.whole_suite_ran(request.session.items):
        pytest.skip(f"no test run so far called {hook}; only a run of the whole suite can tell")
    assert callers, f"no test calls {hook}: the core never called a plugin's implementation of it"


def test_the_hook_call_recorder_sees_only_real_calls() -> None:
    from arlequin_core import hookimpl
    from arlequin_core.bus import Bus
    from arlequin_core.events import DataArrived
    from arlequin_core.plugins import PluginHost

    recorder = hookcalls.HookCallRecorder()
    recorder.current = "a-test"

    class OnData:
        @hookimpl
        def arlequin_on_data_arrived(self, event: DataArrived) -> None:
            pass

    host = PluginHost(entry_points=[])
    host.pm.add_hookcall_monitoring(recorder._before, lambda *_: None)
    host.load()  # only the internal plugin implements a registration hook: not a plugin's call
    assert recorder.tests_calling("arlequin_register_commands") == []
    with Bus(host.pm) as bus:
        bus.publish(DataArrived(batch_id="b", uri="u"))  # nobody implements it yet: no call
        assert recorder.tests_calling("arlequin_on_data_arrived") == []
        host.register_plugin(OnData(), "on-data")
        bus.publish(DataArrived(batch_id="b", uri="u"))
    assert recorder.tests_calling("arlequin_on_data_arrived") == ["a-test"]
    assert recorder.calls["arlequin_on_data_arrived"]["a-test"] == {"on-data"}
    assert recorder.tests_calling("arlequin_on_drift_detected") == []


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_typed_and_documented(hook: str) -> None:
    func = getattr(hookspecs, hook)
    assert func.__doc__ and ":param" in func.__doc__, f"{hook} needs a docstring with :param:"
    signature = inspect.signature(func)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_heading_in_the_plugin_guide(hook: str) -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text()
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"### `{hook}({params})`" in guide, f"docs/plugins.md needs a heading for {hook}"


def test_every_built_in_plugin_is_an_entry_point_and_listed_in_the_readme() -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["arlequin"]
    modules = {value.split(".")[0] for value in declared.values()}
    packages = {p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()}
    assert packages == modules, "every plugins/ package is declared in [project.entry-points.arlequin]"
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Built-in plugins", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    missing = [name for name in declared if not any(f"`{name}`" in row for row in rows)]
    assert not missing, f"README's built-in plugins table lacks {missing}"
