"""``[training] estimator = "module:Class"``: load, check and build a scikit-learn-compatible estimator.

Any class with ``fit`` and ``get_params`` that scikit-learn recognises as a
classifier (with ``predict_proba``) or a regressor works, e.g.
``sklearn.ensemble:HistGradientBoostingClassifier``,
``sklearn.ensemble:RandomForestRegressor``, ``lightgbm:LGBMClassifier``,
``xgboost:XGBRegressor``. ``[training] params`` are its keyword arguments. Every
mistake is a :class:`~arlequin_core.errors.ConfigError` naming the key: a malformed
spec, a module that does not import, a missing class, a parameter the class refuses
(or a value its own validation refuses), an estimator of the other task.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

from arlequin_core.errors import ConfigError
from arlequin_core.training import classes

#: The estimator when ``[training] estimator`` is not set, by task.
DEFAULT_ESTIMATORS = {
    "classification": "sklearn.linear_model:LogisticRegression",
    "regression": "sklearn.linear_model:Ridge",
}
#: Defaults Arlequin adds to the user's params, by estimator spec.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    # scikit-learn's default of 100 iterations stops short on wide one-hot data.
    "sklearn.linear_model:LogisticRegression": {"max_iter": 1000},
}


def load_class(spec: str) -> type:
    """The scikit-learn-compatible estimator class named by ``spec`` (``"package.module:Class"``).

    :raises ConfigError: naming ``[training] estimator``.
    """
    try:
        obj = classes.load_class(spec, example="sklearn.ensemble:HistGradientBoostingClassifier")
    except ConfigError as exc:
        if "is not a class" not in str(exc):
            raise
        obj = None
    if obj is None or not hasattr(obj, "fit") or not hasattr(obj, "get_params"):
        raise ConfigError(
            f"[training] estimator = {spec!r} is not a scikit-learn-compatible estimator class "
            "(it needs fit and get_params)"
        )
    return obj


def build_estimator(spec: str, params: dict[str, Any], task: str | None) -> Any:
    """An unfitted instance of ``spec`` with ``params`` (plus :data:`DEFAULT_PARAMS`), checked for ``task``.

    :param task: ``classification``, ``regression``, or None (not known yet: either kind passes).

    :raises ConfigError: see the module docstring; parameter errors name ``[training] params``.
    """
    from sklearn.base import is_classifier, is_regressor

    cls = load_class(spec)
    signature = inspect.signature(cls)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    valid = {n for n, p in signature.parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    unknown = sorted(set(params) - valid)
    if unknown and not takes_any:
        raise ConfigError(
            f"[training] params: {', '.join(unknown)} not accepted by {spec}; valid: {', '.join(sorted(valid))}"
        )
    merged = {**DEFAULT_PARAMS.get(spec, {}), **params}
    try:
        estimator = cls(**merged)
        if hasattr(estimator, "_parameter_constraints"):
            # scikit-learn's own parameter constraints, checked before any data is read.
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[training] params refused by {spec}: {exc}") from None
    if task is None:
        if not is_classifier(estimator) and not is_regressor(estimator):
            raise ConfigError(f"[training] estimator = {spec!r} is neither a classifier nor a regressor")
    elif task == "classification":
        if not is_classifier(estimator) or not hasattr(estimator, "predict_proba"):
            raise ConfigError(
                f"[training] estimator = {spec!r} is not a classifier with predict_proba, but the task is "
                "classification (set [training] task = 'regression' or pick a classifier)"
            )
    elif not is_regressor(estimator):
        raise ConfigError(
            f"[training] estimator = {spec!r} is not a regressor, but the task is regression "
            "(set [training] task = 'classification' or pick a regressor)"
        )
    return estimator


def accepts_sparse(estimator: Any) -> bool:
    """Whether ``estimator`` takes sparse input (one-hot columns stay sparse), from its scikit-learn tags."""
    from sklearn.utils import get_tags

    try:
        return bool(get_tags(estimator).input_tags.sparse)
    except Exception:  # a third-party class with tags scikit-learn cannot read: be safe, give it dense input
        return False


def distribution_of(spec: str) -> tuple[str, str] | None:
    """``(distribution, version)`` that provides the estimator's top-level package; None when unknown."""
    top = spec.partition(":")[0].split(".")[0]
    names = importlib.metadata.packages_distributions().get(top) or []
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None
