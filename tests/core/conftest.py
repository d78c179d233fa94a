"""Fixtures for the core tests: real third-party distributions on a temporary path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TOY_PLUGIN = '''
import click
from arlequin_core import hookimpl
from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.sinks.base import Sink
from arlequin_core.sources.base import Source
from arlequin_core.training.base import Trainer

RECEIVED = []


class ToyDetector(Detector):
    info = DetectorInfo(
        name="{prefix}toy", display_name="Toy", kinds=frozenset({{"numeric"}}),
        score="distance", default_threshold=0.5,
    )

    def fit(self, reference):
        self.mean = float(sum(reference) / len(reference))
        return self

    def score(self, current):
        return Score(statistic=abs(sum(current) / len(current) - self.mean))

    def to_profile(self):
        return {{"mean": self.mean}}

    @classmethod
    def from_profile(cls, profile):
        d = cls()
        d.mean = profile["mean"]
        return d


class ToyTrainer(Trainer):
    name = "{prefix}toy-trainer"

    def train(self, data, **kwargs):
        return None


class ToySink(Sink):
    name = "{prefix}toy-sink"


class ToySource(Source):
    name = "{prefix}toy-source"

    def start(self, emit):
        pass

    def stop(self):
        pass


@click.command("{prefix}toy-hello")
def hello():
    """Say hello from a third-party plugin."""
    click.echo("hello from toy")


@hookimpl
def arlequin_register_detectors(register):
    register(ToyDetector)


@hookimpl
def arlequin_register_trainers(register):
    register(ToyTrainer)


@hookimpl
def arlequin_register_sinks(register):
    register(ToySink)


@hookimpl
def arlequin_register_sources(register):
    register(ToySource)


@hookimpl
def arlequin_register_commands(register):
    register(hello)


@hookimpl
def arlequin_on_data_arrived(event):
    RECEIVED.append(event)
'''


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Create an installed-looking distribution: a module plus ``.dist-info/entry_points.txt``.

    Returns a function ``make(ep_name, source, module=None) -> module name``; the site
    directory is put on ``sys.path`` so :mod:`importlib.metadata` discovers it.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(ep_name: str, source: str, module: str | None = None) -> str:
        module = module or f"arlequin_test_{ep_name.replace('-', '_')}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        dist = site / f"{module}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(f"[arlequin]\n{ep_name} = {module}\n")
        created.append(module)
        return module

    yield make
    for module in created:
        sys.modules.pop(module, None)


@pytest.fixture
def toy_plugin(make_dist: Callable[..., str]) -> str:
    """A third-party plugin ``toy`` registering one component of every kind."""
    return make_dist("toy", TOY_PLUGIN.format(prefix=""))
