"""``"module:Class"`` specs (``[training] estimator``): import the module and find the class.

Shared by the trainers that take a user-chosen estimator (scikit-learn, Spark); each
checks afterwards that the class is an estimator of its own engine.
"""

from __future__ import annotations

import importlib
import inspect

from arlequin_core.errors import ConfigError


def load_class(
    spec: str, key: str = "[training] estimator", example: str = "sklearn.ensemble:RandomForestClassifier"
) -> type:
    """The class named by ``spec`` (``"package.module:Class"``, the class may be nested: ``Outer.Inner``).

    :param key: the config key, named in errors.
    :raises ConfigError: a malformed spec, a module that does not import, no such class.
    """
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ConfigError(f"{key} = {spec!r}: expected 'module:Class', e.g. {example!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{key} = {spec!r}: module {module_name!r} cannot be imported ({exc}); is it installed?"
        ) from None
    obj: object = module
    for part in class_name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ConfigError(f"{key} = {spec!r}: module {module_name!r} has no {class_name!r}")
    if not inspect.isclass(obj):
        raise ConfigError(f"{key} = {spec!r} is not a class")
    return obj
