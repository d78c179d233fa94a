"""The component registry: everything plugins register lives here.

It checks what is registered (type and metadata), refuses duplicate names naming
both origins, and a lookup of an unknown name fails with the names it knows.

A plugin registers either the component itself (a class, a click command) or a
:class:`Lazy` reference to it, ``lazy("my_plugin.detector:MyDetector", name="mine")``:
the name is known at once (``arlequin --help``, ``arlequin plugins``, lookups of
unknown names), and the module holding the component, with everything it imports
(river, MLflow, Spark, scipy), is imported the first time the component is used.
What is imported then is checked exactly like an eagerly registered component, and
must carry the declared name. An import that fails then fails that component alone,
with a :class:`~arlequin_core.errors.PluginError` naming the plugin, the component
and the target; the other components, of that plugin and of the others, still work.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from arlequin_core.errors import PluginError, RegistryError, UnknownComponentError

_NOT_LOADED = object()


@dataclass(frozen=True)
class Lazy:
    """A component named now and imported on first use.

    :param target: ``"package.module:attribute"`` (the attribute may be dotted).
    :param name: the component's name (a detector's ``info.name``, a sink's
        ``name``, a command's name); checked against the imported object.
    :param help: a command's help, its first sentence at least (what ``arlequin --help``
        lists beside the name, without importing the command's module); None: the
        listing imports the module for it.
    """

    target: str
    name: str
    help: str | None = None

    def __post_init__(self) -> None:
        module, sep, attr = self.target.partition(":")
        if not sep or not module or not attr:
            raise RegistryError(f"lazy target {self.target!r} must be 'package.module:attribute'")
        if not isinstance(self.name, str) or not self.name:
            raise RegistryError(f"lazy component {self.target!r} needs a non-empty name")

    def load(self) -> Any:
        """Import the module and return the attribute (exceptions propagate)."""
        module_name, _, attr = self.target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


def lazy(target: str, *, name: str, help: str | None = None) -> Lazy:
    """Register ``target`` (``"module:attribute"``) under ``name``, imported on first use.

    A command registered with its ``help`` (the first sentence of its docstring) is listed
    by ``arlequin --help`` without being imported; a test of the plugin should check that
    the text is the command's own (see ``tests/core/test_lazy_commands.py``).
    """
    return Lazy(target=target, name=name, help=help)


#: Called with (plugin name, component kind, component name, exception) when a lazy
#: component fails to load; the plugin host records and logs it.
FailureHook = Callable[[str, str, str, BaseException], None]


class Registered:
    """One registered component and the plugin it came from.

    ``obj`` is the component; for a :class:`Lazy` registration, reading it imports
    the component's module the first time (thread-safe, once) and raises
    :class:`~arlequin_core.errors.PluginError` (every time) when that fails.
    """

    __slots__ = ("_error", "_lock", "_obj", "_on_failure", "kind", "lazy", "name", "origin")

    def __init__(
        self,
        kind: str,
        name: str,
        obj: Any = _NOT_LOADED,
        origin: str = "",
        lazy: Lazy | None = None,
        on_failure: FailureHook | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.origin = origin
        self.lazy = lazy
        self._obj = obj
        self._error: PluginError | None = None
        self._lock = threading.Lock()
        self._on_failure = on_failure

    @property
    def loaded(self) -> bool:
        """Whether ``obj`` is available without importing anything."""
        return self._obj is not _NOT_LOADED

    @property
    def obj(self) -> Any:
        if self._obj is not _NOT_LOADED:
            return self._obj
        with self._lock:
            if self._obj is _NOT_LOADED and self._error is None:
                self._resolve()
        if self._error is not None:
            raise self._error
        return self._obj

    def _resolve(self) -> None:
        assert self.lazy is not None
        what = f"{self.kind} {self.name!r} of plugin {self.origin!r} ({self.lazy.target})"
        try:
            obj = self.lazy.load()
            name = KINDS[self.kind](obj)
            if name != self.name:
                raise RegistryError(f"it is named {name!r}, not {self.name!r} as registered")
        except Exception as exc:
            detail = str(exc) if isinstance(exc, RegistryError) else f"{type(exc).__name__}: {exc}"
            self._error = PluginError(
                f"{what} failed to load: {detail}; the plugin's other components and the other plugins "
                f"are unaffected (disable it with ARLEQUIN_DISABLE_PLUGINS={self.origin} or [plugins] disable)"
            )
            self._error.__cause__ = exc
            if self._on_failure is not None:
                self._on_failure(self.origin, self.kind, self.name, exc)
            return
        self._obj = obj

    def __repr__(self) -> str:
        target = repr(self._obj) if self.loaded else f"lazy {self.lazy.target if self.lazy else '?'}"
        return f"Registered(kind={self.kind!r}, name={self.name!r}, origin={self.origin!r}, obj={target})"


def _subclass_check(base_path: str, name_attr: str) -> Callable[[Any], str]:
    """A checker that accepts subclasses of ``base_path`` and returns their name."""

    def check(obj: Any) -> str:
        module, _, cls_name = base_path.rpartition(".")
        base = getattr(__import__(module, fromlist=[cls_name]), cls_name)
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise RegistryError(f"expected a subclass of {base_path}, got {obj!r}")
        target = obj
        for part in name_attr.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise RegistryError(f"{obj.__qualname__} has no {name_attr!r}: set it on the class")
        if not isinstance(target, str) or not target:
            raise RegistryError(f"{obj.__qualname__}.{name_attr} must be a non-empty string")
        return target

    return check


def _check_detector(obj: Any) -> str:
    name = _subclass_check("arlequin_core.drift.base.Detector", "info.name")(obj)
    from arlequin_core.drift.base import DetectorInfo

    info = obj.info
    if not isinstance(info, DetectorInfo):
        raise RegistryError(f"{obj.__qualname__}.info must be a DetectorInfo, got {type(info).__name__}")
    if not info.kinds or not set(info.kinds) <= {"numeric", "categorical"}:
        raise RegistryError(f"detector {name!r}: kinds must be a non-empty subset of numeric, categorical")
    if info.score not in ("p_value", "distance"):
        raise RegistryError(f"detector {name!r}: score must be 'p_value' or 'distance', got {info.score!r}")
    return name


def _check_command(obj: Any) -> str:
    import click

    if not isinstance(obj, click.Command):
        raise RegistryError(f"expected a click.Command, got {obj!r}")
    if not obj.name:
        raise RegistryError(f"command {obj!r} has no name")
    return obj.name


#: kind -> checker returning the component's name (raises RegistryError when wrong).
KINDS: dict[str, Callable[[Any], str]] = {
    "detector": _check_detector,
    "trainer": _subclass_check("arlequin_core.training.base.Trainer", "name"),
    "sink": _subclass_check("arlequin_core.sinks.base.Sink", "name"),
    "source": _subclass_check("arlequin_core.sources.base.Source", "name"),
    "command": _check_command,
}


class ComponentRegistry:
    """Components by kind and name, with where each came from.

    :param on_failure: told when a lazy component fails to import (see :class:`Registered`).
    """

    def __init__(self, on_failure: FailureHook | None = None) -> None:
        self._items: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}
        self._on_failure = on_failure

    def register(self, kind: str, obj: Any, origin: str) -> Registered:
        """Check and add ``obj`` (or a :class:`Lazy` reference to it) as a ``kind`` registered by plugin ``origin``.

        A :class:`Lazy` one is checked when first used (:attr:`Registered.obj`).

        :raises RegistryError: wrong type, missing metadata, or a duplicate name.
        """
        if kind not in KINDS:
            raise RegistryError(f"unknown component kind {kind!r}; known: {', '.join(KINDS)}")
        if isinstance(obj, Lazy):
            name = obj.name
        else:
            try:
                name = KINDS[kind](obj)
            except RegistryError as exc:
                raise RegistryError(f"plugin {origin!r} registered a bad {kind}: {exc}") from None
        existing = self._items[kind].get(name)
        if existing is not None:
            raise RegistryError(
                f"{kind} {name!r} registered twice: by plugin {existing.origin!r} and by plugin {origin!r}; "
                f"disable one of them (ARLEQUIN_DISABLE_PLUGINS or [plugins] disable in config)"
            )
        if isinstance(obj, Lazy):
            item = Registered(kind, name, origin=origin, lazy=obj, on_failure=self._on_failure)
        else:
            item = Registered(kind, name, obj, origin)
        self._items[kind][name] = item
        return item

    def unregister_origin(self, origin: str) -> None:
        """Forget every component registered by plugin ``origin``."""
        for items in self._items.values():
            for name in [n for n, r in items.items() if r.origin == origin]:
                del items[name]

    def get(self, kind: str, name: str) -> Any:
        """The component ``name`` of ``kind`` (a lazy one is imported now, once).

        :raises UnknownComponentError: with the list of known names.
        :raises PluginError: a lazy component failed to import (names plugin and target).
        """
        try:
            item = self._items[kind][name]
        except KeyError:
            known = ", ".join(sorted(self._items.get(kind, {}))) or "none"
            raise UnknownComponentError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None
        return item.obj

    def entry(self, kind: str, name: str) -> Registered | None:
        """The registration of ``name`` (nothing imported), or None when there is none."""
        return self._items.get(kind, {}).get(name)

    def names(self, kind: str) -> list[str]:
        """Sorted names of the registered components of ``kind``."""
        return sorted(self._items[kind])

    def entries(self, kind: str | None = None) -> list[Registered]:
        """All registered components (of one kind, or all), sorted by kind and name.

        Nothing is imported until an entry's ``obj`` is read; :meth:`usable` skips
        the ones that fail.
        """
        kinds = [kind] if kind else list(KINDS)
        return [self._items[k][n] for k in kinds for n in sorted(self._items[k])]

    def usable(self, kind: str) -> Iterator[Registered]:
        """The entries of ``kind`` whose component loads, importing lazy ones now.

        One that fails to import is skipped (its failure goes to ``on_failure``, which
        the plugin host logs and records): for loops over every component (the
        default-on sinks, the sources claiming a target), where one broken plugin must
        not hide the others.
        """
        for item in self.entries(kind):
            try:
                item.obj  # noqa: B018 - imports a lazy component
            except PluginError:
                continue
            yield item
