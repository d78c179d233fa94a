"""The running application: config, plugins, registry, journal and bus, made on demand."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry

if TYPE_CHECKING:
    import click

    from arlequin_core.bus import Bus
    from arlequin_core.cache import VersionCache
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.journal import Journal

JOURNAL_NAME = "journal.jsonl"


class App:
    """What commands and the daemon share. Everything is created on first use.

    :param config: a loaded config; default: :func:`load_config` with no path.
    """

    def __init__(self, config: ArlequinConfig | None = None, host: PluginHost | None = None) -> None:
        if config is None:
            from arlequin_core.config import load_config  # pydantic: not for `arlequin --help`

            config = load_config()
        self.config = config
        self._host = host

    @property
    def home(self) -> Path:
        """The state directory (created)."""
        home = self.config.home
        home.mkdir(parents=True, exist_ok=True)
        return home

    @cached_property
    def host(self) -> PluginHost:
        """The plugin host, loaded."""
        host = self._host or PluginHost(disabled=self.config.plugins.disable)
        return host.load()

    @property
    def registry(self) -> ComponentRegistry:
        """The component registry (plugins loaded)."""
        return self.host.registry

    def component(self, kind: str, name: str) -> Any:
        """Look up a registered component; unknown names fail with the known ones."""
        return self.registry.get(kind, name)

    @cached_property
    def profile_cache(self) -> VersionCache:
        """The champions' drift profiles read so far, one per version (see :mod:`arlequin_core.cache`)."""
        from arlequin_core.cache import VersionCache

        return VersionCache()

    @cached_property
    def model_cache(self) -> VersionCache:
        """The serving model, loaded once per version, for the champion's error stream."""
        from arlequin_core.cache import VersionCache

        return VersionCache(latest_only=True)

    @property
    def journal_path(self) -> Path:
        """Where the journal lives."""
        return self.config.home / JOURNAL_NAME

    @cached_property
    def journal(self) -> Journal:
        """The journal (opened for appending)."""
        from arlequin_core.journal import Journal

        return Journal(self.home / JOURNAL_NAME, fsync=self.config.arlequin.journal_fsync)

    @cached_property
    def bus(self) -> Bus:
        """The event bus, journalling to :attr:`journal`."""
        from arlequin_core.bus import Bus

        return Bus(self.host.pm, self.journal, maxsize=self.config.arlequin.queue_size)

    def close(self) -> None:
        """Drain the bus and close the journal, if they were opened."""
        if "bus" in self.__dict__:
            self.bus.close()
        if "journal" in self.__dict__:
            self.journal.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_app(ctx: click.Context) -> App:
    """The :class:`App` of this ``arlequin`` invocation, made on first use.

    Commands (the core's and plugins') call this with their click context; the app
    lives on the root context, so every command of one invocation shares it. The
    root command's ``--config`` is honoured.

    :raises arlequin_core.errors.ConfigError: the config file is invalid (names the key).
    """
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        from arlequin_core.config import load_config

        root.obj = App(load_config(root.params.get("config_path")))
    return root.obj
