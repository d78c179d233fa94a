"""The core stands alone: every module imports on its own, none imports a plugin, no import cycle.

Three checks anyone can run by hand:

* ``python -c "import arlequin_core.X"`` for every module, each in a fresh interpreter
  (an import cycle shows up as a module that fails when it is imported first);
* ``lint-imports`` (import-linter, contracts in pyproject.toml): the whole import
  graph, function-local imports included, has no core -> plugin import, no plugin ->
  plugin import and no cycle in the core;
* ``ARLEQUIN_DISABLE_PLUGINS=<every plugin> python ...``: the core loads, works, and
  no plugin module is ever imported.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

import arlequin_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _core_modules() -> list[str]:
    names = ["arlequin_core"]
    for info in pkgutil.walk_packages(arlequin_core.__path__, prefix="arlequin_core."):
        names.append(info.name)
    return sorted(names)


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group="arlequin"), key=lambda ep: ep.name)


def _plugin_packages() -> set[str]:
    """Top-level packages of every installed plugin (built-in ones and, e.g., the welch example)."""
    return {ep.value.split(":")[0].split(".")[0] for ep in _entry_points()}


def _builtin_plugin_packages() -> set[str]:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = declared["project"]["entry-points"]["arlequin"]
    return {value.split(":")[0].split(".")[0] for value in entry_points.values()}


_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
plugins = set(json.loads(sys.argv[2]))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in plugins)))
"""


def _import_alone(module: str, plugins: set[str]) -> tuple[str, int, str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module, json.dumps(sorted(plugins))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []
    return module, done.returncode, done.stderr.strip()[-2000:], loaded


@pytest.mark.slow
def test_every_core_module_imports_on_its_own_and_pulls_in_no_plugin() -> None:
    modules = _core_modules()
    assert "arlequin_core.training.flow" in modules and "arlequin_core.drift.error_stream" in modules
    plugins = _plugin_packages()
    assert "arlequin_river" in plugins, "the plugins must be installed for this check to mean anything"
    # Two at a time: a fresh interpreter per module, on a machine shared with others.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda m: _import_alone(m, plugins), modules))
    failed = {module: err for module, code, err, _ in results if code != 0}
    shown = "\n\n".join(f"{module}:\n{error}" for module, error in failed.items())
    assert failed == {}, f"modules that fail when imported first:\n{shown}"
    leaks = {module: loaded for module, _, _, loaded in results if loaded}
    assert leaks == {}, f"core modules that import a plugin: {leaks}"


def test_import_contracts_hold_on_the_whole_graph() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    listed = set(declared["root_packages"]) - {"arlequin_core"}
    assert listed == _builtin_plugin_packages(), (
        "pyproject.toml [tool.importlinter] must list every built-in plugin package "
        "(root_packages and each contract's module list)"
    )
    for contract in declared["contracts"]:
        modules = contract.get("forbidden_modules") or contract.get("modules")
        if modules is not None:
            assert set(modules) == listed, contract["name"]
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache", "--no-logo"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout, done.stdout


_WITHOUT_PLUGINS = textwrap.dedent(
    """
    import json, sys
    from click.testing import CliRunner
    from arlequin_core.app import App
    from arlequin_core.cli import main
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.drift.error_stream import ERROR_COLUMN, error_stream
    from arlequin_core.events import DataArrived
    from arlequin_core.journal import read_journal
    import arlequin_core.daemon, arlequin_core.monitor, arlequin_core.training.flow
    import arlequin_core.training.model_errors, arlequin_core.training.champion

    config = ArlequinConfig.model_validate({"arlequin": {"home": sys.argv[1], "journal_fsync": False}})
    with App(config) as app:
        loaded = sorted(app.host.plugins)
        detectors = app.registry.names("detector")
        app.bus.publish(DataArrived(batch_id="b1", uri="/data/b1.parquet", source="test"))
        app.bus.join()
    journal = [e.name for e in read_journal(app.journal_path)]
    errors = error_stream([1, 0, None], [1, 1, 0]).tolist()
    help_text = CliRunner().invoke(main, ["--help"]).output
    plugins = set(json.loads(sys.argv[2]))
    print(json.dumps({
        "loaded": loaded, "detectors": detectors, "journal": journal, "errors": str(errors),
        "error_column": ERROR_COLUMN, "help": help_text,
        "plugin_modules": sorted(m for m in sys.modules if m.split(".")[0] in plugins),
    }))
    """
)


def test_the_core_loads_and_works_with_every_plugin_disabled(tmp_path: Path) -> None:
    names = [ep.name for ep in _entry_points()]
    assert "river" in names and "watch" in names
    plugins = _plugin_packages()
    env = {**os.environ, "ARLEQUIN_DISABLE_PLUGINS": ",".join(names), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("ARLEQUIN_LOAD_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PLUGINS, str(tmp_path / "home"), json.dumps(sorted(plugins))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["plugin_modules"] == [], "plugin modules imported with every plugin disabled"
    assert seen["detectors"] == [] and not set(seen["loaded"]) & set(names)
    assert seen["journal"] == ["data-arrived"]
    assert seen["errors"] == "[0.0, 1.0, nan]" and seen["error_column"] == "__error__"
    assert "Usage:" in seen["help"]
