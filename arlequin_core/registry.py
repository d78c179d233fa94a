"""The component registry: everything plugins register lives here.

It checks what is registered (type and metadata), refuses duplicate names naming
both origins, and a lookup of an unknown name fails with the names it knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arlequin_core.errors import RegistryError, UnknownComponentError


@dataclass(frozen=True)
class Registered:
    """One registered component and the plugin it came from."""

    kind: str
    name: str
    obj: Any
    origin: str


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
    """Components by kind and name, with where each came from."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}

    def register(self, kind: str, obj: Any, origin: str) -> Registered:
        """Check and add ``obj`` as a ``kind`` registered by plugin ``origin``.

        :raises RegistryError: wrong type, missing metadata, or a duplicate name.
        """
        if kind not in KINDS:
            raise RegistryError(f"unknown component kind {kind!r}; known: {', '.join(KINDS)}")
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
        item = Registered(kind=kind, name=name, obj=obj, origin=origin)
        self._items[kind][name] = item
        return item

    def unregister_origin(self, origin: str) -> None:
        """Forget every component registered by plugin ``origin``."""
        for items in self._items.values():
            for name in [n for n, r in items.items() if r.origin == origin]:
                del items[name]

    def get(self, kind: str, name: str) -> Any:
        """The component ``name`` of ``kind``.

        :raises UnknownComponentError: with the list of known names.
        """
        try:
            return self._items[kind][name].obj
        except KeyError:
            known = ", ".join(sorted(self._items.get(kind, {}))) or "none"
            raise UnknownComponentError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None

    def names(self, kind: str) -> list[str]:
        """Sorted names of the registered components of ``kind``."""
        return sorted(self._items[kind])

    def entries(self, kind: str | None = None) -> list[Registered]:
        """All registered components (of one kind, or all), sorted by kind and name."""
        kinds = [kind] if kind else list(KINDS)
        return [self._items[k][n] for k in kinds for n in sorted(self._items[k])]
