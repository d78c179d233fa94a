"""Plugin loading on pluggy, through the ``arlequin`` entry-point group.

Built-in plugins are declared under that group in ``pyproject.toml`` exactly like
third-party ones. Loading is lazy (on first use) and runs once per
:class:`PluginHost`. Plugins can be disabled by entry-point name:

* in config: ``[plugins] disable = ["river"]``;
* with ``ARLEQUIN_DISABLE_PLUGINS=river,jenkins`` (comma-separated);
* with ``ARLEQUIN_LOAD_PLUGINS=stats,sklearn``: load only these (empty: none), so
  a broken plugin never locks a user out.

A plugin that fails to import, implements an unknown hook, or raises in a
registration hook is reported by name with its traceback kept; the others load.

What is imported at start-up is each plugin's entry-point module only: it holds the
hook implementations and registers its components with
:func:`arlequin_core.registry.lazy`, so the modules that do the work (and their
dependencies: river, MLflow, Spark, scipy) are imported when a component is first
used. A component that fails to import then fails alone, with an error naming the
plugin, and is recorded in :attr:`PluginHost.failures` (stage ``"load"``);
:meth:`PluginHost.load_all` (``arlequin plugins --check``) imports every one now.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from importlib import metadata
from typing import Any

import pluggy

from arlequin_core import hookspecs
from arlequin_core.errors import PluginError, RegistryError
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry

ENTRY_POINT_GROUP = "arlequin"
PROJECT_NAME = "arlequin"

#: The core's own plugins: name -> module. Registered before any entry point and
#: never disabled; they go through the same hooks as every other plugin.
INTERNAL_PLUGINS: dict[str, str] = {"core": "arlequin_core.commands"}

#: registration hook -> component kind it registers.
REGISTRATION_HOOKS: dict[str, str] = {
    "arlequin_register_detectors": "detector",
    "arlequin_register_trainers": "trainer",
    "arlequin_register_sinks": "sink",
    "arlequin_register_sources": "source",
    "arlequin_register_commands": "command",
}

log = get_logger(__name__)


@dataclass
class PluginInfo:
    """What ``arlequin plugins`` shows about one plugin.

    ``distribution`` and ``version`` of an entry-point plugin are read from its
    distribution's metadata when first asked for (:meth:`as_dict`, the attributes):
    parsing a METADATA file per plugin is a tenth of ``arlequin --help``'s time.
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (``arlequin plugins --json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _DistributionInfo(PluginInfo):
    """A :class:`PluginInfo` whose ``distribution`` and ``version`` come from ``dist`` on first read."""

    def __init__(self, name: str, module: str, dist: Any, hooks: list[str]) -> None:
        self._dist = dist
        self.name, self.module, self.hooks, self.components = name, module, hooks, []

    def __getattr__(self, attr: str) -> Any:  # only for what __init__ did not set
        if attr not in ("distribution", "version"):
            raise AttributeError(attr)
        meta = _distribution_meta(self._dist)
        self.__dict__["distribution"], self.__dict__["version"] = meta
        return self.__dict__[attr]

    def __repr__(self) -> str:
        return PluginInfo.__repr__(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PluginInfo) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]


_DIST_META: dict[int, tuple[Any, tuple[str | None, str | None]]] = {}


def _distribution_meta(dist: Any) -> tuple[str | None, str | None]:
    """``(name, version)`` of a distribution, its METADATA parsed once per distribution."""
    if dist is None:
        return None, None
    cached = _DIST_META.get(id(dist))
    if cached is None or cached[0] is not dist:
        cached = _DIST_META[id(dist)] = (dist, (dist.name, dist.version))
    return cached[1]


@dataclass
class PluginFailure:
    """A plugin that could not be loaded or registered, with its traceback."""

    name: str
    stage: str  # "import", "hooks", "register", or "load" (a lazy component, at first use)
    error: str
    traceback: str


def call_impl(pm: pluggy.PluginManager, hook_name: str, impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one plugin's implementation of ``hook_name``, through pluggy.

    The core calls hooks one implementation at a time (so one plugin's failure hides
    nobody else's work, and each plugin gets its own bus lane). Going through
    :meth:`pluggy.PluginManager.subset_hook_caller` rather than ``impl.function``
    keeps pluggy's own hook-call monitoring (``pm.add_hookcall_monitoring``,
    ``pm.enable_tracing``) seeing every call. A plugin unregistered meanwhile is not
    called. Exceptions propagate unchanged.
    """
    others = [plugin for plugin in pm.get_plugins() if plugin is not impl.plugin]
    return pm.subset_hook_caller(hook_name, others)(**kwargs)


def _unknown_hooks_message(unknown: list[str]) -> str:
    known = sorted(n for n in dir(hookspecs) if n.startswith("arlequin_"))
    hints = [
        f"{name}: did you mean {close[0]}?"
        for name in unknown
        for close in [difflib.get_close_matches(name, known, n=1, cutoff=0.8)]
        if close
    ]
    text = f"implements unknown hook(s) {', '.join(unknown)}"
    if hints:
        text += f" ({'; '.join(hints)})"
    return f"{text}; known hooks: {', '.join(known)}"


def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


class PluginHost:
    """Owns the pluggy manager and the component registry.

    :param disabled: entry-point names not to load (from config).
    :param entry_points: override discovery (tests); default: the ``arlequin`` group.
    """

    def __init__(
        self,
        disabled: Iterable[str] = (),
        entry_points: Iterable[metadata.EntryPoint] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.registry = ComponentRegistry(on_failure=self._component_failed)
        self.failures: dict[str, PluginFailure] = {}
        #: Entry-point plugins that loaded, by name.
        self.plugins: dict[str, PluginInfo] = {}
        #: The core's internal plugins (:data:`INTERNAL_PLUGINS`), by name.
        self.internal: dict[str, PluginInfo] = {}
        self.skipped: list[str] = []
        self._disabled = set(disabled) | set(_env_list("ARLEQUIN_DISABLE_PLUGINS") or [])
        self._only = _env_list("ARLEQUIN_LOAD_PLUGINS")
        self._entry_points = entry_points
        self._loaded = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    def load(self) -> PluginHost:
        """Discover, import and register all enabled plugins; runs once."""
        with self._lock:
            if self._loaded:
                return self
            self._loaded = True
            for name, module_name in INTERNAL_PLUGINS.items():
                self._load_internal(name, module_name)
            eps = self._entry_points
            if eps is None:
                eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
            for ep in sorted(eps, key=lambda e: e.name):
                if ep.name in self._disabled or (self._only is not None and ep.name not in self._only):
                    self.skipped.append(ep.name)
                    continue
                self._load_entry_point(ep)
            for hook_name, kind in REGISTRATION_HOOKS.items():
                self._call_registration(hook_name, kind)
        return self

    def _fail(self, name: str, stage: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.failures[name] = PluginFailure(name=name, stage=stage, error=f"{type(exc).__name__}: {exc}", traceback=tb)
        log.error("plugin_failed", plugin=name, stage=stage, error=str(exc), traceback=tb)

    def _component_failed(self, plugin: str, kind: str, name: str, exc: BaseException) -> None:
        # Not _fail's wording: the plugin loaded, one of its components did not.
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = f"{kind} {name!r}: {type(exc).__name__}: {exc}"
        self.failures[plugin] = PluginFailure(name=plugin, stage="load", error=error, traceback=tb)
        log.error("plugin_component_failed", plugin=plugin, component=f"{kind}:{name}", error=str(exc), traceback=tb)

    def load_all(self) -> PluginHost:
        """Load the plugins and import every lazily registered component now.

        For ``arlequin plugins --check``: a component that fails to import is in
        :attr:`failures` afterwards (stage ``"load"``), instead of at its first use.
        """
        self.load()
        for kind in REGISTRATION_HOOKS.values():
            for _ in self.registry.usable(kind):
                pass
        return self

    def _load_internal(self, name: str, module_name: str) -> None:
        from arlequin_core import __version__

        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a bug in the core, but it must not hide the plugins
            self._fail(name, "import", exc)
            return
        if self.register_plugin(module, name, PROJECT_NAME, __version__, module_name):
            self.internal[name] = self.plugins.pop(name)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        try:
            module = ep.load()
        except Exception as exc:  # any import error must not stop the others
            self._fail(ep.name, "import", exc)
            return
        if self.register_plugin(module, ep.name, module_name=ep.value):
            info = self.plugins[ep.name]
            self.plugins[ep.name] = _DistributionInfo(info.name, info.module, getattr(ep, "dist", None), info.hooks)

    def register_plugin(
        self,
        plugin: Any,
        name: str,
        distribution: str | None = None,
        version: str | None = None,
        module_name: str | None = None,
    ) -> bool:
        """Register one plugin object; False (and a recorded failure) when it breaks the contract."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy validation (bad signature), duplicate name
            self._fail(name, "hooks", exc)
            return False
        # Every implementation marked with ``hookimpl``, whatever its name (``arlequim_...``
        # too): one without a hookspec is a typo, refused here so that nothing is left for
        # ``pm.check_pending()`` to raise about later, out of every other plugin's load.
        unknown = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [] if not caller.has_spec())
        if unknown:
            self.pm.unregister(plugin)
            self._fail(name, "hooks", RegistryError(f"plugin {name!r} {_unknown_hooks_message(unknown)}"))
            return False
        hooks = sorted(impl_name for impl_name in self._hook_names_of(plugin))
        self.plugins[name] = PluginInfo(
            name=name,
            module=module_name or getattr(plugin, "__name__", type(plugin).__name__),
            distribution=distribution,
            version=version,
            hooks=hooks,
        )
        return True

    def add(self, plugin: Any, name: str) -> Any:
        """Register a plugin object made at run time (the monitor, a sink, a daemon consumer).

        The one way onto the bus besides entry points: validated exactly like them
        (:meth:`register_plugin`). Undo with :meth:`remove`.

        :returns: ``plugin``.
        :raises PluginError: it breaks the hook contract or the name is taken (the
            message names the plugin and says why; nothing stays registered).
        """
        module = getattr(type(plugin), "__module__", None)
        if not self.register_plugin(plugin, name, module_name=f"{module}.{type(plugin).__qualname__}"):
            failure = self.failures.pop(name, None)
            raise PluginError(f"cannot register {name}: {failure.error if failure else 'unknown error'}")
        return plugin

    def remove(self, plugin: Any) -> None:
        """Unregister what :meth:`add` registered (a no-op when it is not registered)."""
        if self.pm.is_registered(plugin):
            name = self.pm.get_name(plugin)
            self.pm.unregister(plugin)
            if name is not None:
                self.plugins.pop(name, None)

    def _hook_names_of(self, plugin: Any) -> list[str]:
        return [caller.name for caller in self.pm.get_hookcallers(plugin) or []]

    def _call_registration(self, hook_name: str, kind: str) -> None:
        caller = getattr(self.pm.hook, hook_name)
        # Call each implementation on its own so one broken plugin hides nobody else's work,
        # in load order (entry-point names sorted), so on a duplicate name the first one wins.
        for impl in caller.get_hookimpls():
            origin = impl.plugin_name
            if origin in self.failures:
                continue

            def register(obj: Any, _origin: str = origin) -> None:
                item = self.registry.register(kind, obj, _origin)
                info = self.plugins.get(_origin) or self.internal.get(_origin)
                if info is not None:
                    info.components.append(f"{kind}:{item.name}")

            try:
                call_impl(self.pm, hook_name, impl, register=register)
            except Exception as exc:
                # A half-registered plugin is worse than none: drop all of it.
                self.registry.unregister_origin(origin)
                self.plugins.pop(origin, None)
                self.pm.unregister(name=origin)
                self._fail(origin, "register", exc)

    # ------------------------------------------------------------------ lookups
    def get(self, kind: str, name: str) -> Any:
        """Shortcut for ``registry.get`` after loading."""
        return self.load().registry.get(kind, name)
