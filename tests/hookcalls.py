"""A pytest plugin recording which Arlequin hooks the tests actually call.

Every :class:`~arlequin_core.plugins.PluginHost` made during the session gets a
pluggy hook-call monitor (``pm.add_hookcall_monitoring``); the core calls every
implementation through pluggy (:func:`arlequin_core.plugins.call_impl`), so each
registration-hook and bus delivery is seen, with the test that was running and the
plugins whose implementations were called. ``tests/core/test_meta.py`` reads it at the
end of the session (its ``hookcalls_meta`` tests are moved last).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from arlequin_core.plugins import INTERNAL_PLUGINS, PluginHost

NAME = "arlequin-hookcalls"
MARKER = "hookcalls_meta"
TESTS = Path(__file__).resolve().parent


class HookCallRecorder:
    """hook name -> test node id -> names of the plugins whose implementation was called."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.current: str | None = None
        self._original_init = PluginHost.__init__

    # ------------------------------------------------------------ recording
    def _before(self, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, object]) -> None:
        test = self.current
        if test is None or not hook_impls:
            return
        self.calls[hook_name][test].update(impl.plugin_name for impl in hook_impls)

    def install(self) -> None:
        recorder, original = self, self._original_init

        def init(host: PluginHost, *args: Any, **kwargs: Any) -> None:
            original(host, *args, **kwargs)
            host.pm.add_hookcall_monitoring(recorder._before, lambda *_: None)

        PluginHost.__init__ = init  # type: ignore[method-assign]

    def uninstall(self) -> None:
        PluginHost.__init__ = self._original_init  # type: ignore[method-assign]

    # ------------------------------------------------------------ reading
    def tests_calling(self, hook: str) -> list[str]:
        """Tests that called ``hook`` with a plugin's implementation (the core's own do not count)."""
        return sorted(test for test, plugins in self.calls.get(hook, {}).items() if plugins - set(INTERNAL_PLUGINS))

    @staticmethod
    def whole_suite_ran(items: Sequence[pytest.Item]) -> bool:
        """True when at least one test of every ``tests/**/test_*.py`` file was run."""
        ran = {Path(str(item.path)).resolve() for item in items}
        return all(path in ran for path in TESTS.rglob("test_*.py"))

    # ------------------------------------------------------------ pytest hooks
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{MARKER}: reads the hook calls of the whole session; runs last")
        self.install()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: item.get_closest_marker(MARKER) is not None)  # stable: others keep order

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.current = item.nodeid
        try:
            return (yield)
        finally:
            self.current = None
