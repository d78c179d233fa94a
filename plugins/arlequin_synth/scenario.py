"""Drift scenarios: the spec syntax, its validation, and what each batch looks like.

A scenario is one or more *components* joined with ``+``. A component is a timing
and the drifts that follow it::

    SPEC      := COMPONENT ('+' COMPONENT)*
    COMPONENT := TIMING [':' KEY '=' VALUE (',' KEY '=' VALUE)*]
    TIMING    := none | sudden | gradual | incremental | recurring

    sudden:amount_scale=1.5,start=3
    gradual:column=merchant_category,category=online_retail,factor=3,start=2,duration=4
    incremental:missing=amount|channel,missing_rate=0.3,duration=5
    recurring:concept=card_testing,period=7,length=2
    sudden:new_category=crypto,share=0.1,like=online_retail+recurring:amount_shift=20

A ``+`` followed by a letter starts the next component (``amount_shift=+5`` is a number).

Timing keys (batch indices count from 0):

``start`` (default 1; recurring: 5)
    first batch with drift.
``stop`` (default none)
    first batch after the drift ends (the population returns to the base one).
``duration`` (gradual, incremental; default 3)
    batches until the drift is complete: intensity ``(b - start + 1) / duration``.
``period``, ``length``, ``shape`` (recurring; default 7, 2, square)
    square: drift on for ``length`` batches every ``period``; sine: intensity
    ``(1 - cos(2 pi (b - start) / period)) / 2``. With one batch per day starting on a
    Monday, the default recurring component drifts on weekends.

Timing semantics: *sudden* switches the drift fully on at ``start``; *incremental*
ramps the drift's parameters (a scale of 1.5 goes 1.17, 1.33, 1.5 with duration 3);
*gradual* mixes rows from the drifted population into the batch, the share of drifted
rows ramping the same way while each row is either fully drifted or not; *recurring*
switches (or oscillates) with a period.

Drift keys:

``<column>_scale``, ``<column>_shift`` for amount, account_balance, distance_from_home
    ``x -> scale * x + shift`` (scale > 0).
``column`` (default merchant_category; or channel, country) with ``category``, ``factor``
    multiply the frequency of one category by ``factor`` and renormalise.
``column`` with ``new_category``, ``share`` (default 0.1), ``like`` (merchant_category only)
    a category never seen before takes ``share`` of the rows; a new merchant category
    behaves like ``like`` (default online_retail), a new country is foreign.
``missing`` (columns separated by ``|``), ``missing_rate`` (default 0.2)
    the null rate of these features rises to ``missing_rate``.
``concept`` (baseline, card_testing, account_takeover)
    the fraud rule changes; the features do not.

A scenario can also be a ``.toml`` file (``[[component]]`` tables with ``timing`` and
the same keys, values typed) or a ``.json`` file (``{"components": [{...}]}``).
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from arlequin_core.errors import ArlequinError
from arlequin_synth import schema
from arlequin_synth.fraud import RULES
from arlequin_synth.population import Population, base_population

TIMINGS = ("none", "sudden", "gradual", "incremental", "recurring")
SHAPES = ("square", "sine")
#: Timing keys each timing accepts.
TIMING_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    "sudden": ("start", "stop"),
    "gradual": ("start", "stop", "duration"),
    "incremental": ("start", "stop", "duration"),
    "recurring": ("start", "stop", "period", "length", "shape"),
}
TRANSFORM_KEYS = tuple(f"{c}_{p}" for c in schema.FLOAT_COLUMNS for p in ("scale", "shift"))
DRIFT_KEYS = (
    *TRANSFORM_KEYS,
    "column",
    "category",
    "factor",
    "new_category",
    "share",
    "like",
    "missing",
    "missing_rate",
    "concept",
)
ALL_KEYS = ("start", "stop", "duration", "period", "length", "shape", *DRIFT_KEYS)
#: Gradual components mix 2**k populations per batch; beyond this it is unreadable anyway.
MAX_MIXTURE_COMPONENTS = 6


class ScenarioError(ArlequinError):
    """A scenario spec is malformed or asks for something impossible (exit status 2)."""


@dataclass(frozen=True)
class Drift:
    """One change to the population, at full strength.

    :param kind: ``scale_shift``, ``frequency``, ``new_category``, ``missing`` or ``concept``.
    :param column: the column it changes (``None`` for ``concept``).
    :param params: ``scale``/``shift``; ``category``/``factor``; ``name``/``share``/``like``;
        ``rate``; ``rule``.
    """

    kind: str
    column: str | None
    params: Mapping[str, Any]

    def apply(self, pop: Population, t: float) -> Population:
        """The population with this drift at intensity ``t`` in [0, 1] (0 changes nothing)."""
        p = self.params
        if self.kind == "scale_shift":
            return pop.with_transform(self.column, 1.0 + (p["scale"] - 1.0) * t, p["shift"] * t)
        if self.kind == "frequency":
            return pop.with_frequency(self.column, p["category"], 1.0 + (p["factor"] - 1.0) * t)
        if self.kind == "new_category":
            return pop.with_new_category(self.column, p["name"], p["share"] * t, p.get("like"))
        if self.kind == "missing":
            current = pop.missing_rate(self.column)
            return pop.with_missing(self.column, current + (p["rate"] - current) * t)
        return pop.with_rule(p["rule"], t)

    def at(self, t: float) -> dict[str, Any]:
        """The effective parameters at intensity ``t``, for the manifest."""
        p = self.params
        out: dict[str, Any] = {"kind": self.kind}
        if self.column is not None:
            out["column"] = self.column
        if self.kind == "scale_shift":
            out.update(scale=1.0 + (p["scale"] - 1.0) * t, shift=p["shift"] * t)
        elif self.kind == "frequency":
            out.update(category=p["category"], factor=1.0 + (p["factor"] - 1.0) * t)
        elif self.kind == "new_category":
            out.update(category=p["name"], share=p["share"] * t)
        elif self.kind == "missing":
            out.update(rate=p["rate"] * t)
        else:
            out.update(rule=p["rule"], weight=t)
        return out


@dataclass(frozen=True)
class Component:
    """A timing and the drifts that follow it."""

    timing: str
    drifts: tuple[Drift, ...] = ()
    start: int = 1
    stop: int | None = None
    duration: int = 3
    period: int = 7
    length: int = 2
    shape: str = "square"
    #: The component in canonical spec form (every applicable timing key spelled out).
    text: str = ""

    @property
    def mixture(self) -> bool:
        """True when rows are drawn from a mix of the base and the drifted population."""
        return self.timing == "gradual"

    def intensity(self, batch: int) -> float:
        """How far the drift has gone at ``batch``: 0 (none) to 1 (complete).

        For a gradual component this is the share of drifted rows; otherwise it scales
        the drift's parameters.
        """
        if self.timing == "none" or batch < self.start or (self.stop is not None and batch >= self.stop):
            return 0.0
        since = batch - self.start
        if self.timing == "sudden":
            return 1.0
        if self.timing in ("gradual", "incremental"):
            return min(1.0, (since + 1) / self.duration)
        if self.shape == "sine":
            return (1.0 - math.cos(2.0 * math.pi * since / self.period)) / 2.0
        return 1.0 if since % self.period < self.length else 0.0


@dataclass(frozen=True)
class State:
    """One population a batch draws rows from.

    :param intensities: per component, the intensity applied (gradual: 0 or 1).
    :param share: expected share of the batch's rows drawn from this state.
    """

    intensities: tuple[float, ...]
    share: float


@dataclass(frozen=True)
class Scenario:
    """Components applied in order to the base population."""

    components: tuple[Component, ...]
    _cache: dict[tuple[float, ...], Population] = field(default_factory=dict, compare=False, repr=False)

    @property
    def spec(self) -> str:
        """Canonical spec text (parses back to an equal scenario)."""
        return "+".join(c.text for c in self.components)

    def states(self, batch: int) -> list[State]:
        """The populations of ``batch`` and their shares (shares sum to 1)."""
        options: list[list[tuple[float, float]]] = []
        for comp in self.components:
            t = comp.intensity(batch)
            if comp.mixture and 0.0 < t < 1.0:
                options.append([(0.0, 1.0 - t), (1.0, t)])
            else:
                options.append([(t, 1.0)])
        states = []
        for combo in itertools.product(*options):
            share = math.prod(w for _, w in combo)
            states.append(State(tuple(t for t, _ in combo), share))
        return states

    def population(self, intensities: Sequence[float]) -> Population:
        """The base population with each component applied at its intensity (cached)."""
        key = tuple(float(t) for t in intensities)
        if key not in self._cache:
            pop = base_population()
            for comp, t in zip(self.components, key, strict=True):
                for drift in comp.drifts:
                    pop = drift.apply(pop, t)
            self._cache[key] = pop
        return self._cache[key]

    def reference_population(self) -> Population:
        """The undrifted population, with the scenario's new categories at probability 0."""
        return self.population([0.0] * len(self.components))

    def check_batches(self, batches: int) -> None:
        """Fail when a component would never act within ``batches`` batches (0 .. batches-1).

        :raises ScenarioError: naming the component.
        """
        for i, comp in enumerate(self.components, 1):
            if comp.timing != "none" and comp.start >= batches:
                raise ScenarioError(
                    f"scenario component {i} ({comp.text}) starts at batch {comp.start}, but only batches "
                    f"0..{batches - 1} are generated; lower start= or raise --batches"
                )


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #


def parse_scenario(spec: str | Path | Scenario | Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Scenario:
    """Parse a scenario from spec text, a ``.toml``/``.json`` file, or component mappings.

    :param spec: ``"sudden:amount_scale=1.5,start=3+..."``; a path ending in ``.toml`` or
        ``.json``; a list of mappings with a ``timing`` key and typed values; or a mapping
        with a ``components`` (or ``component``) list.
    :raises ScenarioError: naming the component and key that are wrong, and what is allowed.
    """
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, Path) or (isinstance(spec, str) and spec.strip().lower().endswith((".toml", ".json"))):
        return _parse_items(_load_file(Path(spec)), where=str(spec))
    if isinstance(spec, str):
        return _parse_items(_split_text(spec), where=None)
    if isinstance(spec, Mapping):
        return _parse_items(_components_of(spec, "the scenario mapping"), where=None)
    return _parse_items(list(spec), where=None)


def _split_text(spec: str) -> list[dict[str, Any]]:
    if not spec.strip():
        raise ScenarioError("empty scenario; use 'none' for no drift, or e.g. 'sudden:amount_scale=1.5,start=3'")
    items = []
    # A '+' before a letter joins components; "amount_shift=+5" and "1e+3" stay numbers.
    for i, part in enumerate(re.split(r"\+(?=\s*[A-Za-z])", spec), 1):
        part = part.strip()
        if not part:
            raise ScenarioError(f"scenario component {i} is empty (a stray '+' in {spec!r}?)")
        timing, _, rest = part.partition(":")
        item: dict[str, Any] = {"timing": timing.strip(), "_text": part}
        for pair in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise ScenarioError(f"scenario component {i} ({part!r}): {pair!r} is not KEY=VALUE")
            if key.strip() in item:
                raise ScenarioError(f"scenario component {i} ({part!r}): key {key.strip()!r} given twice")
            item[key.strip()] = value.strip()
        items.append(item)
    return items


def _load_file(path: Path) -> list[Mapping[str, Any]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"scenario file {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib

            data = tomllib.loads(text)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"scenario file {path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        return _components_of(data, f"scenario file {path}")
    raise ScenarioError(f"scenario file {path}: expected a list of components or a 'components' list")


def _components_of(data: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    items = data.get("components", data.get("component"))
    if not isinstance(items, list) or not items:
        raise ScenarioError(f"{where}: expected a non-empty 'components' list (TOML: [[component]] tables)")
    return items


def _parse_items(items: list[Any], where: str | None) -> Scenario:
    if not items:
        raise ScenarioError("empty scenario; use 'none' for no drift")
    new_categories: dict[str, set[str]] = {c: set(schema.categories_of(c)) for c in schema.SHIFTABLE_CATEGORICALS}
    components = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise ScenarioError(f"{where or 'scenario'}: component {i} must be a table/object, got {item!r}")
        label = item.get("_text") or json.dumps({k: v for k, v in item.items()}, default=str)
        context = f"scenario component {i} ({label})" + (f" in {where}" if where else "")
        components.append(_Builder(dict(item), context, new_categories).build())
    if sum(c.mixture for c in components) > MAX_MIXTURE_COMPONENTS:
        raise ScenarioError(f"at most {MAX_MIXTURE_COMPONENTS} gradual components in one scenario")
    return Scenario(tuple(components))


class _Builder:
    """Validates one component's keys and builds it."""

    def __init__(self, item: dict[str, Any], context: str, categories: dict[str, set[str]]) -> None:
        item.pop("_text", None)
        self.item = item
        self.context = context
        self.categories = categories  # per column: base and earlier new categories (grows)

    def fail(self, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.context}: {problem}")

    def build(self) -> Component:
        timing = str(self.item.pop("timing", "")).strip()
        if timing not in TIMINGS:
            hint = _did_you_mean(timing, TIMINGS)
            raise self.fail(f"unknown timing {timing!r}{hint}; timings: {', '.join(TIMINGS)}")
        for key in self.item:
            if key not in ALL_KEYS:
                raise self.fail(f"unknown key {key!r}{_did_you_mean(key, ALL_KEYS)}; keys: {', '.join(ALL_KEYS)}")
        if timing == "none":
            if self.item:
                raise self.fail(f"'none' takes no keys, got {', '.join(self.item)}")
            return Component("none", text="none")
        for key in sorted(set(self.item) - set(DRIFT_KEYS) - set(TIMING_KEYS[timing])):
            raise self.fail(f"key {key!r} does not apply to {timing}; it takes {', '.join(TIMING_KEYS[timing])}")
        comp = self._timing(timing)
        drifts = self._drifts()
        if not drifts:
            raise self.fail(
                "no drift given; add at least one of amount_scale=, amount_shift=, category= and factor=, "
                "new_category=, missing=, concept="
            )
        body = [*self._drift_text(), *self._timing_text(comp)]
        return replace(comp, drifts=tuple(drifts), text=f"{timing}:{','.join(body)}")

    # ----------------------------------------------------------------- values

    def _number(self, key: str, kind: type, low: float | None = None, high: float | None = None) -> Any:
        raw = self.item[key]
        what = "an integer" if kind is int else "a number"
        if isinstance(raw, bool) or (kind is int and isinstance(raw, float) and not raw.is_integer()):
            raise self.fail(f"{key}={raw!r} is not {what}")
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise self.fail(f"{key}={raw!r} is not {what}") from None
        if not math.isfinite(value):
            raise self.fail(f"{key}={raw!r} is not a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if low is not None and high is not None else f">= {low}"
            raise self.fail(f"{key}={raw!r} must be {bounds}")
        return value

    def _text(self, key: str, choices: Sequence[str] | None = None) -> str:
        value = str(self.item[key]).strip()
        if not value:
            raise self.fail(f"{key}= is empty")
        if choices is not None and value not in choices:
            raise self.fail(f"{key}={value!r} is not one of {', '.join(choices)}{_did_you_mean(value, choices)}")
        return value

    # ----------------------------------------------------------------- timing

    def _timing(self, timing: str) -> Component:
        i = self.item
        comp = Component(timing, start=5 if timing == "recurring" else 1)
        values: dict[str, Any] = {}
        if "start" in i:
            values["start"] = self._number("start", int, 0)
        if "stop" in i:
            values["stop"] = self._number("stop", int, 1)
        if "duration" in i:
            values["duration"] = self._number("duration", int, 1)
        if "period" in i:
            values["period"] = self._number("period", int, 2)
        if "shape" in i:
            values["shape"] = self._text("shape", SHAPES)
        if "length" in i:
            if values.get("shape") == "sine":
                raise self.fail("length= applies to shape=square only")
            values["length"] = self._number("length", int, 1)
        comp = replace(comp, **values)
        if comp.stop is not None and comp.stop <= comp.start:
            raise self.fail(f"stop={comp.stop} must be after start={comp.start}")
        if timing == "recurring" and comp.shape == "square" and comp.length >= comp.period:
            raise self.fail(f"length={comp.length} must be less than period={comp.period}")
        return comp

    def _timing_text(self, comp: Component) -> list[str]:
        keys = [k for k in TIMING_KEYS[comp.timing] if not (k == "stop" and comp.stop is None)]
        if comp.shape == "sine":
            keys.remove("length")
        return [f"{k}={getattr(comp, k)}" for k in keys]

    # ----------------------------------------------------------------- drifts

    def _drifts(self) -> list[Drift]:
        i = self.item
        drifts: list[Drift] = []
        column = self._text("column", schema.SHIFTABLE_CATEGORICALS) if "column" in i else "merchant_category"
        if "column" in i and "category" not in i and "new_category" not in i:
            raise self.fail("column= needs category= and factor=, or new_category=")
        for key, needs in (("share", "new_category"), ("like", "new_category"), ("missing_rate", "missing")):
            if key in i and needs not in i:
                raise self.fail(f"{key}= needs {needs}=")
        if "new_category" in i:
            drifts.append(self._new_category(column))
        if "category" in i or "factor" in i:
            drifts.append(self._frequency(column))
        for col in schema.FLOAT_COLUMNS:
            if f"{col}_scale" in i or f"{col}_shift" in i:
                scale = self._number(f"{col}_scale", float) if f"{col}_scale" in i else 1.0
                shift = self._number(f"{col}_shift", float) if f"{col}_shift" in i else 0.0
                if scale <= 0:
                    raise self.fail(f"{col}_scale={scale:g} must be > 0")
                if scale == 1.0 and shift == 0.0:
                    raise self.fail(f"{col}_scale=1 with {col}_shift=0 changes nothing")
                drifts.append(Drift("scale_shift", col, {"scale": scale, "shift": shift}))
        if "missing" in i:
            drifts.extend(self._missing())
        if "concept" in i:
            drifts.append(Drift("concept", None, {"rule": self._text("concept", tuple(RULES))}))
        return drifts

    def _new_category(self, column: str) -> Drift:
        name = self._text("new_category")
        if name in self.categories[column]:
            raise self.fail(f"new_category={name!r} already exists in {column}")
        share = self._number("share", float) if "share" in self.item else 0.1
        if not 0.0 < share < 1.0:
            raise self.fail(f"share={share:g} must be between 0 and 1 (exclusive)")
        params: dict[str, Any] = {"name": name, "share": share}
        if column == "merchant_category":
            params["like"] = self._text("like", schema.MERCHANT_CATEGORIES) if "like" in self.item else "online_retail"
        elif "like" in self.item:
            raise self.fail("like= applies to column=merchant_category only")
        self.categories[column].add(name)
        return Drift("new_category", column, params)

    def _frequency(self, column: str) -> Drift:
        if "category" not in self.item or "factor" not in self.item:
            raise self.fail("a frequency shift needs both category= and factor=")
        category = self._text("category", sorted(self.categories[column]))
        factor = self._number("factor", float)
        if factor <= 0 or factor == 1.0:
            raise self.fail(f"factor={factor:g} must be > 0 and not 1")
        return Drift("frequency", column, {"category": category, "factor": factor})

    def _missing(self) -> list[Drift]:
        raw = self.item["missing"]
        columns = [c.strip() for c in (raw if isinstance(raw, list) else str(raw).split("|")) if c.strip()]
        if not columns:
            raise self.fail("missing= names no column")
        for col in columns:
            if col not in schema.FEATURE_COLUMNS:
                raise self.fail(
                    f"missing={col!r} is not a feature column{_did_you_mean(col, schema.FEATURE_COLUMNS)}; "
                    f"features: {', '.join(schema.FEATURE_COLUMNS)}"
                )
        rate = self._number("missing_rate", float) if "missing_rate" in self.item else 0.2
        if not 0.0 < rate <= 1.0:
            raise self.fail(f"missing_rate={rate:g} must be in (0, 1]")
        return [Drift("missing", col, {"rate": rate}) for col in dict.fromkeys(columns)]

    def _drift_text(self) -> list[str]:
        i = self.item
        out = [f"{k}={_fmt(i[k])}" for k in TRANSFORM_KEYS if k in i]
        if "category" in i or "new_category" in i:
            out.append(f"column={i.get('column', 'merchant_category')}")
        order = ("category", "factor", "new_category", "share", "like", "missing", "missing_rate", "concept")
        out.extend(f"{k}={_fmt(i[k])}" for k in order if k in i)
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(str(v).strip() for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
