"""Meta-tests: every hookspec is typed, documented, and has a test of its own."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from arlequin_core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, obj in vars(hookspecs).items() if name.startswith("arlequin_") and callable(obj))


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_hooks_are_found() -> None:
    assert "arlequin_register_detectors" in HOOKS and "arlequin_on_drift_detected" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_test_of_its_own(hook: str) -> None:
    tests = _test_function_names()
    assert any(hook in name for name in tests), f"no test function name mentions {hook}"


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
