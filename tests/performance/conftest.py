"""Fixtures of the performance tests: the registry of the installed plugins."""

from __future__ import annotations

import pytest

from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry


@pytest.fixture(scope="session")
def registry() -> ComponentRegistry:
    host = PluginHost().load()
    assert not host.failures, host.failures
    return host.registry
