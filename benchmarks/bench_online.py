"""Measured quality and overhead of Arlequin's online (river) drift detectors.

Prints Markdown tables (paste them into docs/online.md):

1. Gaussian streams, value detectors: +1 sd, +0.5 sd, a ramp to +1 sd over 500
   rows, variance x2, and no change; 30 seeds each.
2. Bernoulli error streams, error-rate detectors: 10% -> 20%, 10% -> 15%, a ramp
   10% -> 20% over 500 rows, 30% -> 40%, and no change at 10% and 30%; 30 seeds each.
3. river.datasets.synth concept drift (SEA, STAGGER, Agrawal; abrupt and gradual)
   and no change: the 0/1 error stream of a simple online model (a Hoeffding tree
   trained on the first 2,000 rows, then frozen as a champion is); all detectors.
4. Real series with human-annotated change points (five annotators each), value
   detectors: the 12 TCPD series vendored in benchmarks/data/tcpd and six that ship
   inside river (river.drift.datasets); nothing is downloaded. Per series: F1 (margin
   5 rows) and segmentation covering (arlequin_river.evaluation) for Arlequin's
   defaults, river's defaults and a detector that never fires.
5. Throughput: values per second through river directly and through Arlequin's
   ``score`` on the same stream, and the ratio (target >= 0.9); on a quiet stream, then
   (value detectors) on one with a level change every 1,000 values, where Arlequin also
   locates each change start.
6. The grid searched for the value detectors' defaults: every point on both sets of
   real series, then the synthetic check (section 1's protocol, ``--grid-seeds``) in
   rank order until one passes; the rule is printed with the table.

Protocol for 1-3: ``fit`` on 1,000 reference rows, then score the monitored stream
in batches of 500 rows (state carried over, as in the daemon). The change is at row
1,000 of the monitored stream (2,000 rows; 20,000 when nothing changes, long enough for
slow effects such as Page-Hinkley's forgetting factor to show).
*detected* = share of seeds with a detection at or after the change; *delay* = mean
rows from the change to the first such detection; *false alarms* = detections
before the change per 10,000 rows (every detection, for no-change streams). Rows
``(river defaults)`` run the same detector with river's default parameters, to show
why Arlequin's differ.

Usage: ``python benchmarks/bench_online.py [--seeds 30] [--quick] [--section N ...] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import river
from river import tree
from river.datasets import synth
from river.drift import datasets as cp_datasets

from arlequin_river import (
    AdwinDetector,
    DdmDetector,
    EddmDetector,
    HddmADetector,
    HddmWDetector,
    KswinDetector,
    OnlineDetector,
    PageHinkleyDetector,
)
from arlequin_river.evaluation import AnnotatedSeries, covering, detections, f1_score, load_tcpd, river_defaults

BATCH = 500
REFERENCE = 1000
CHANGE_AT = 1000
AFTER = 1000
NO_CHANGE_ROWS = 20_000

Make = Callable[[], OnlineDetector]

VALUE_CONFIGS: list[tuple[str, Make]] = [
    ("adwin", AdwinDetector),
    ("adwin (river defaults)", functools.partial(river_defaults, AdwinDetector)),
    ("kswin", KswinDetector),
    ("kswin (river defaults)", functools.partial(river_defaults, KswinDetector)),
    ("page_hinkley", PageHinkleyDetector),
    ("page_hinkley (river defaults)", functools.partial(river_defaults, PageHinkleyDetector)),
]
ERROR_CONFIGS: list[tuple[str, Make]] = [
    ("ddm", DdmDetector),
    ("eddm", EddmDetector),
    ("eddm (river defaults)", lambda: EddmDetector(warm_start=30, alpha=0.95, beta=0.9)),
    ("hddm_a", HddmADetector),
    ("hddm_w", HddmWDetector),
    ("hddm_w (river defaults)", lambda: HddmWDetector(lambda_val=0.05)),
]
ALL_CONFIGS = [c for c in VALUE_CONFIGS + ERROR_CONFIGS if "river defaults" not in c[0]]


@dataclass
class Tally:
    """Detections of one detector over many seeds of one scenario."""

    seeds: int = 0
    detected: int = 0
    delays: list[int] | None = None
    false_alarms: int = 0
    pre_rows: int = 0

    def add(self, first_after: int | None, false_alarms: int, pre_rows: int) -> None:
        self.seeds += 1
        self.delays = self.delays or []
        if first_after is not None:
            self.detected += 1
            self.delays.append(first_after)
        self.false_alarms += false_alarms
        self.pre_rows += pre_rows

    def cell(self, change: bool) -> str:
        fa = 1e4 * self.false_alarms / self.pre_rows if self.pre_rows else float("nan")
        if not change:
            return f"FA {fa:.2f}"
        delay = f"{np.mean(self.delays):.0f}" if self.delays else "-"
        return f"{100 * self.detected / self.seeds:.0f}% / {delay} / {fa:.2f}"


def run_stream(make: Make, reference: np.ndarray, stream: np.ndarray, change_at: int) -> tuple[int | None, int]:
    """Fit, score in batches; (rows from change to first detection after it, detections before it)."""
    detector = make().fit(reference)
    rows: list[int] = []
    for start in range(0, stream.size, BATCH):
        score = detector.score(stream[start : start + BATCH])
        rows.extend(start + r for r in score.details["detections"])
        if score.details["n_detections"] > len(score.details["detections"]):
            raise RuntimeError("more detections than listed; raise MAX_LISTED for the benchmark")
    before = sum(1 for r in rows if r < change_at)
    after = [r - change_at for r in rows if r >= change_at]
    return (after[0] if after else None), before


def table(title: str, scenarios: Sequence[str], changes: Sequence[bool], results: dict[str, list[Tally]]) -> None:
    print(f"\n### {title}\n")
    print("| detector | " + " | ".join(scenarios) + " |")
    print("|---|" + "---|" * len(scenarios))
    for name, tallies in results.items():
        print(f"| {name} | " + " | ".join(t.cell(c) for t, c in zip(tallies, changes, strict=True)) + " |")
    sys.stdout.flush()


def evaluate(
    configs: Iterable[tuple[str, Make]],
    scenarios: Sequence[tuple[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray, int]]]],
    seeds: int,
) -> dict[str, list[Tally]]:
    results: dict[str, list[Tally]] = {}
    data = {
        name: [gen(np.random.default_rng(1000 * i + seed)) for seed in range(seeds)]
        for i, (name, gen) in enumerate(scenarios)
    }
    for cname, make in configs:
        results[cname] = []
        for sname, _ in scenarios:
            tally = Tally()
            for reference, stream, change_at in data[sname]:
                first, before = run_stream(make, reference, stream, change_at)
                tally.add(first, before, min(change_at, stream.size))
            results[cname].append(tally)
    return results


# --------------------------------------------------------------------------- #
# 1-2: Gaussian and Bernoulli streams
# --------------------------------------------------------------------------- #


def gaussian(shift: float = 0.0, sd: float = 1.0, ramp: int = 0, change: bool = True):
    def gen(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
        reference = rng.normal(0.0, 1.0, REFERENCE)
        if not change:
            return reference, rng.normal(0.0, 1.0, NO_CHANGE_ROWS), NO_CHANGE_ROWS
        mean = np.zeros(CHANGE_AT + AFTER)
        mean[CHANGE_AT:] = shift
        if ramp:
            mean[CHANGE_AT : CHANGE_AT + ramp] = shift * np.arange(1, ramp + 1) / ramp
        scale = np.where(np.arange(CHANGE_AT + AFTER) >= CHANGE_AT, sd, 1.0)
        return reference, rng.normal(mean, scale), CHANGE_AT

    return gen


def bernoulli(p0: float, p1: float | None = None, ramp: int = 0):
    def gen(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
        reference = rng.binomial(1, p0, REFERENCE).astype(float)
        if p1 is None:
            return reference, rng.binomial(1, p0, NO_CHANGE_ROWS).astype(float), NO_CHANGE_ROWS
        p = np.full(CHANGE_AT + AFTER, p0)
        p[CHANGE_AT:] = p1
        if ramp:
            p[CHANGE_AT : CHANGE_AT + ramp] = p0 + (p1 - p0) * np.arange(1, ramp + 1) / ramp
        return reference, rng.binomial(1, p).astype(float), CHANGE_AT

    return gen


GAUSSIAN = [
    ("+1 sd", gaussian(1.0)),
    ("+0.5 sd", gaussian(0.5)),
    ("ramp to +1 sd", gaussian(1.0, ramp=500)),
    ("variance x2", gaussian(0.0, sd=math.sqrt(2.0))),
    ("no change", gaussian(change=False)),
]
BERNOULLI = [
    ("10% -> 20%", bernoulli(0.1, 0.2)),
    ("10% -> 15%", bernoulli(0.1, 0.15)),
    ("ramp 10% -> 20%", bernoulli(0.1, 0.2, ramp=500)),
    ("30% -> 40%", bernoulli(0.3, 0.4)),
    ("no change (10%)", bernoulli(0.1)),
    ("no change (30%)", bernoulli(0.3)),
]


# --------------------------------------------------------------------------- #
# 3: river.datasets.synth concept drift -> error streams of a frozen online model
# --------------------------------------------------------------------------- #

TRAIN = 2000


def concept_drift(before: Callable[[int], Iterable], after: Callable[[int], Iterable] | None, width: int = 1):
    """Error stream of a Hoeffding tree trained on ``TRAIN`` rows of ``before``, then frozen."""

    def gen(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
        seed = int(rng.integers(2**31))
        monitored = NO_CHANGE_ROWS if after is None else CHANGE_AT + AFTER
        position = TRAIN + REFERENCE + CHANGE_AT
        if after is None:
            stream = before(seed)
        elif width <= 1:  # ConceptDriftStream's sigmoid overflows for an abrupt change far into the stream
            stream = itertools.chain(itertools.islice(before(seed), position), after(seed + 1))
        else:
            stream = synth.ConceptDriftStream(
                stream=before(seed), drift_stream=after(seed + 1), position=position, width=width, seed=seed
            )
        rows = iter(stream)
        model = tree.HoeffdingTreeClassifier(grace_period=50)
        for x, y in itertools.islice(rows, TRAIN):
            model.learn_one(x, y)
        errors = np.array([float(model.predict_one(x) != y) for x, y in itertools.islice(rows, REFERENCE + monitored)])
        change_at = monitored if after is None else CHANGE_AT - width // 2
        return errors[:REFERENCE], errors[REFERENCE:], change_at

    return gen


SYNTH = [
    ("SEA 0->3", concept_drift(lambda s: synth.SEA(variant=0, seed=s), lambda s: synth.SEA(variant=3, seed=s))),
    (
        "SEA 0->3 gradual (width 500)",
        concept_drift(lambda s: synth.SEA(variant=0, seed=s), lambda s: synth.SEA(variant=3, seed=s), width=500),
    ),
    (
        "STAGGER 0->1",
        concept_drift(
            lambda s: synth.STAGGER(classification_function=0, seed=s),
            lambda s: synth.STAGGER(classification_function=1, seed=s),
        ),
    ),
    (
        "Agrawal 0->2",
        concept_drift(
            lambda s: synth.Agrawal(classification_function=0, seed=s),
            lambda s: synth.Agrawal(classification_function=2, seed=s),
        ),
    ),
    ("no change (SEA 0)", concept_drift(lambda s: synth.SEA(variant=0, seed=s), None)),
]


# --------------------------------------------------------------------------- #
# 4 and 6: real series with human-annotated change points; the grid behind the defaults
# --------------------------------------------------------------------------- #

TCPD_DIR = Path(__file__).resolve().parent / "data" / "tcpd"
MARGIN = 5
REAL_BATCH = 100


def tcpd_series() -> list[AnnotatedSeries]:
    """The 12 TCPD series vendored in benchmarks/data/tcpd (sources and licences in NOTICE.md)."""
    annotations = json.loads((TCPD_DIR / "annotations.json").read_text())
    return [load_tcpd(TCPD_DIR / f"{name}.json", annotations) for name in sorted(annotations)]


def river_series() -> list[AnnotatedSeries]:
    """River's annotated series (river.drift.datasets, TCPD's annotations), minus AirlinePassengers.

    AirlinePassengers is TCPD's jfk_passengers (same values, same annotations), already
    in :func:`tcpd_series`. river ships Apple at full daily resolution and Brent from
    1987, while the annotations index TCPD's series: Apple every 3rd row (close and
    volume), Brent from 2000 on, every 10th row. Both are resampled the same way here.
    """
    out = []
    for cls, columns, step, since in [
        (cp_datasets.Apple, ["Close", "Volume"], 3, None),
        (cp_datasets.Bitcoin, None, 1, None),
        (cp_datasets.BrentSpotPrice, None, 10, 2000),
        (cp_datasets.Occupancy, ["V1", "V2", "V3", "V4"], 1, None),
        (cp_datasets.RunLog, ["Pace", "Distance"], 1, None),
        (cp_datasets.UKCoalEmploy, None, 1, None),
    ]:
        dataset = cls()
        pairs = [(x, y) for x, y in dataset if since is None or next(iter(x.values())).year >= since][::step]
        ys = [y for _, y in pairs]
        if columns is None:
            values: tuple[np.ndarray, ...] = (np.array([float(y) for y in ys]),)
        else:
            values = tuple(np.array([float(y[c]) for y in ys]) for c in columns)
        marks = {k: tuple(v) for k, v in dataset.annotations.items()}
        out.append(AnnotatedSeries(cls.__name__, values, marks))
    return out


def warmup_rows(series: AnnotatedSeries) -> int:
    """Rows the detector is fitted on: the first 10% of the series, at least 20."""
    return max(20, series.n // 10)


def real_scores(
    make: Make | None, data: Sequence[AnnotatedSeries], at: str = "change_starts"
) -> list[tuple[float, float]]:
    """(F1, covering) per series; ``make=None`` is the detector that never fires."""
    out = []
    for series in data:
        rows = [] if make is None else detections(make, series.columns, warmup_rows(series), REAL_BATCH, at)
        out.append(
            (f1_score(series.annotations, rows, series.n, MARGIN)[2], covering(series.annotations, rows, series.n))
        )
    return out


VALUE_CLASSES: tuple[type[OnlineDetector], ...] = (AdwinDetector, KswinDetector, PageHinkleyDetector)
REAL_CONFIGS: list[tuple[str, Make | None]] = [("never fires", None)] + [
    config
    for cls in VALUE_CLASSES
    for config in ((cls.info.name, cls), (f"{cls.info.name} (river defaults)", functools.partial(river_defaults, cls)))
]


def evaluate_real_series() -> None:
    choice, held_out = tcpd_series(), river_series()
    print("\n### Real series with human-annotated change points\n")
    print(
        f"F1 (margin {MARGIN} rows, row 0 counted as a change point) / covering, against the five annotators of each "
        f"series. Detector fitted on the first 10% of the series (at least 20 rows), then fed the rest in batches of "
        f"{REAL_BATCH} rows; its change points are the estimated change starts (``details['change_starts']``). "
        "Multi-column series: one detector per column, change points pooled.\n"
    )
    for title, data in [
        ("TCPD (vendored; the grid's choice set)", choice),
        ("river.drift.datasets (held out)", held_out),
    ]:
        print(f"\n#### {title}\n")
        print("| detector | " + " | ".join(f"{s.name} ({s.n})" for s in data) + " | mean F1 | mean covering |")
        print("|---|" + "---|" * (len(data) + 2))
        for name, make in REAL_CONFIGS:
            scores = real_scores(make, data)
            f1, cov = np.mean([f for f, _ in scores]), np.mean([c for _, c in scores])
            cells = " | ".join(f"{f:.2f} / {c:.2f}" for f, c in scores)
            print(f"| {name} | {cells} | {f1:.3f} | {cov:.3f} |")
        sys.stdout.flush()
    print("\nThe same with the rows where each detector fired, not the estimated starts (mean F1 / covering):\n")
    print("| detector | TCPD | river |")
    print("|---|---|---|")
    for name, make in REAL_CONFIGS[1:]:
        cells = []
        for data in (choice, held_out):
            scores = real_scores(make, data, at="detections")
            cells.append(f"{np.mean([f for f, _ in scores]):.3f} / {np.mean([c for _, c in scores]):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    sys.stdout.flush()


#: (window_size, stat_size) pairs of the later KSWIN grid blocks.
KSWIN_WINDOWS = ((100, 30), (200, 60), (300, 100), (500, 150), (200, 100), (300, 150))
#: The grid searched for each value detector's defaults (river's and Arlequin's defaults included).
GRIDS: dict[str, tuple[type[OnlineDetector], list[dict[str, float]]]] = {
    "adwin": (
        AdwinDetector,
        [{"delta": d, "clock": c} for d in (1e-6, 1e-5, 1e-4, 0.002, 0.01) for c in (8, 32, 64)],
    ),
    "kswin": (
        KswinDetector,
        # grow and autocorrelation are spelled out: both are on by default now, and each
        # block below was added with one of them (off in the blocks before it).
        [
            {"alpha": a, "window_size": w, "stat_size": n, "grow": False, "autocorrelation": False}
            for a in (1e-6, 1e-5, 1e-4, 0.005)
            for w, n in ((100, 30), (200, 60), (300, 100), (500, 150))
        ]
        # Added with the change-start localiser: samples of half the window, for more power.
        + [
            {"alpha": a, "window_size": w, "stat_size": n, "grow": False, "autocorrelation": False}
            for a in (1e-6, 1e-5, 1e-4, 0.005)
            for w, n in ((200, 100), (300, 150))
        ]
        # Added with the growing window, then with the autocorrelation adjustment, then both:
        # the same 24 points each time (the window grew with fixed samples then).
        + [
            {"alpha": a, "window_size": w, "stat_size": n, "grow": grow, "autocorrelation": adjust}
            | ({"min_stat_size": None} if grow else {})
            for grow, adjust in ((True, False), (False, True), (True, True))
            for a in (1e-6, 1e-5, 1e-4, 0.005)
            for w, n in KSWIN_WINDOWS
        ]
        # Added with samples that grow with the window (min_stat_size): the same 24 points.
        + [
            {"alpha": a, "window_size": w, "stat_size": n, "grow": True, "autocorrelation": True, "min_stat_size": m}
            for m in (20, 30, 50)
            for a in (1e-6, 1e-5, 1e-4, 0.005)
            for w, n in KSWIN_WINDOWS
            if m <= n
        ],
    ),
    "page_hinkley": (
        PageHinkleyDetector,
        [
            {"delta": d, "threshold": t, "min_instances": m, "alpha": 1.0, "autocorrelation": False}
            for d in (0.005, 0.25, 0.35, 0.5, 1.0)
            for t in (25.0, 50.0, 75.0, 100.0)
            for m in (30, 60, 100)
        ]
        + [{"delta": 0.005, "threshold": 50.0, "min_instances": 30, "alpha": 0.9999, "autocorrelation": False}]
        # Added with the autocorrelation scaling: the same 60 points without forgetting, with it on.
        + [
            {"delta": d, "threshold": t, "min_instances": m, "alpha": 1.0, "autocorrelation": True}
            for d in (0.005, 0.25, 0.35, 0.5, 1.0)
            for t in (25.0, 50.0, 75.0, 100.0)
            for m in (30, 60, 100)
        ],
    ),
}
#: Synthetic bounds every default must keep (N(0, 1) streams, section 1's protocol).
SYNTH_FOUND_1SD, SYNTH_FOUND_HALF_SD, SYNTH_MAX_FA = 0.9, 0.8, 0.5
SYNTH_CHECK = [GAUSSIAN[0], GAUSSIAN[1], GAUSSIAN[4]]


def _synthetic_ok(make: Make, seeds: int) -> tuple[bool, str]:
    """Section 1's protocol on +1 sd, +0.5 sd and (only when both are found often enough) no change."""
    one, half = evaluate([("x", make)], SYNTH_CHECK[:2], seeds)["x"]
    text = f"+1 sd {one.cell(True)}; +0.5 sd {half.cell(True)}"
    if one.detected < SYNTH_FOUND_1SD * seeds or half.detected < SYNTH_FOUND_HALF_SD * seeds:
        return False, text
    (quiet,) = evaluate([("x", make)], SYNTH_CHECK[2:], seeds)["x"]
    fa = 1e4 * quiet.false_alarms / quiet.pre_rows
    return fa <= SYNTH_MAX_FA, f"{text}; {quiet.cell(False)}"


def grid_search(seeds: int) -> None:
    """Every grid point on the real series; the synthetic check in rank order until one passes."""
    choice, held_out = tcpd_series(), river_series()
    print("\n### The grid behind the defaults\n")
    print(
        "Rule: the setting with the highest (mean F1 + mean covering) / 2 on the TCPD series whose synthetic "
        f"figures ({seeds} seeds) keep +1 sd found >= {SYNTH_FOUND_1SD:.0%}, +0.5 sd found >= "
        f"{SYNTH_FOUND_HALF_SD:.0%} and at most {SYNTH_MAX_FA} false alarms per 10,000 quiet values. "
        "The river series are held out: they do not take part in the choice.\n"
    )
    for name, (cls, grid) in GRIDS.items():
        rows = []
        for params in grid:
            make = functools.partial(cls, **params)
            a, b = real_scores(make, choice), real_scores(make, held_out)
            means = [float(np.mean([x[i] for x in s])) for s in (a, b) for i in (0, 1)]
            rows.append((means, params, make))
        rows.sort(key=lambda r: -(r[0][0] + r[0][1]))
        chosen, checked = None, {}
        for _, params, make in rows:
            ok, text = _synthetic_ok(make, seeds)
            print(f"  ({name} {params}: {text})", file=sys.stderr, flush=True)
            checked[id(params)] = ("**chosen** " if ok else "fails: ") + text
            if ok:
                chosen = params
                break
        print(f"\n#### {name}\n")
        print("| params | TCPD F1 | TCPD covering | river F1 | river covering | synthetic check |")
        print("|---|---|---|---|---|---|")
        for means, params, _ in rows:
            label = ", ".join(
                f"{k}={v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{k}={v}"
                for k, v in params.items()
            )
            print(f"| {label} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {checked.get(id(params), '')} |")
        print(f"\nchosen for {name}: {chosen}")
        sys.stdout.flush()


# --------------------------------------------------------------------------- #
# 5: throughput, river directly vs through Arlequin
# --------------------------------------------------------------------------- #


def _raw(detector: object, values: list[float], warnings: bool) -> float:
    hits: list[int] = []
    start = time.perf_counter()
    if warnings:
        for i, x in enumerate(values):
            detector.update(x)
            if detector.drift_detected or detector.warning_detected:
                hits.append(i)
    else:
        for i, x in enumerate(values):
            detector.update(x)
            if detector.drift_detected:
                hits.append(i)
    return time.perf_counter() - start


def _arlequin(detector: OnlineDetector, stream: np.ndarray, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, stream.size, batch):
        detector.score(stream[i : i + batch])
    return time.perf_counter() - start


def throughput(configs: Iterable[tuple[str, Make]], n: int, repeats: int, changes: bool = False) -> None:
    """Values per second through river directly and through Arlequin, on a quiet stream.

    ``changes``: value detectors only, on a stream whose level jumps among -3, 0 and +3 sd
    every 1,000 values (KSWIN: 700), so the cost of locating each change start shows.
    """
    what = "a level change every 1,000 values (KSWIN 700)" if changes else "no change"
    print(f"\n### Throughput (values per second, best of {repeats}; batches of 10,000 rows; {what})\n")
    print("| detector | values | detections | river directly | through Arlequin | ratio |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for cname, make in configs:
        proto = make()
        size = n // 20 if proto.info.name == "kswin" else n
        if proto.binary:
            if changes:
                continue
            reference, stream = rng.binomial(1, 0.1, REFERENCE).astype(float), rng.binomial(1, 0.1, size).astype(float)
        else:
            reference, stream = rng.normal(3.0, 2.0, REFERENCE), rng.normal(3.0, 2.0, size)
            if changes:
                every = 700 if proto.info.name == "kswin" else 1000
                stream += 2.0 * np.repeat(rng.choice([-3.0, 0.0, 3.0], size // every + 1), every)[:size]
        fitted = make().fit(reference)
        profile = fitted.to_profile()
        # River gets exactly the values Arlequin feeds it: standardised, as a ready Python list.
        values = ((stream - profile["location"]) / profile["scale"]).tolist()
        raw_best = ours_best = math.inf
        for repeat in range(repeats):
            # Same starting state for both: the warmed-up detector, rebuilt from the profile;
            # alternate which runs first so neither always gets the warmer cache.
            for which in ("raw", "ours") if repeat % 2 == 0 else ("ours", "raw"):
                gc.collect()
                if which == "raw":
                    raw_best = min(raw_best, _raw(type(fitted).from_profile(profile).river, values, proto.binary))
                else:
                    ours_best = min(ours_best, _arlequin(type(fitted).from_profile(profile), stream, 10_000))
        raw_rate, our_rate = size / raw_best, size / ours_best
        counted = type(fitted).from_profile(profile)
        found = sum(counted.score(stream[i : i + 10_000]).details["n_detections"] for i in range(0, size, 10_000))
        print(f"| {cname} | {size:,} | {found} | {raw_rate:,.0f} | {our_rate:,.0f} | {our_rate / raw_rate:.2f} |")
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per scenario (default 30)")
    parser.add_argument("--quick", action="store_true", help="5 seeds and a short throughput run")
    parser.add_argument("--section", type=int, action="append", choices=[1, 2, 3, 4, 5, 6], help="run only these")
    parser.add_argument("--only", action="append", help="sections 1-3, 5, 6: only detectors of this name (repeatable)")
    parser.add_argument("--grid-seeds", type=int, default=10, help="seeds of the grid's synthetic check (default 10)")
    parser.add_argument(
        "--grid-where",
        action="append",
        metavar="PARAM=VALUE",
        help="section 6: only the grid points whose PARAM is VALUE, or one of VALUE,VALUE,... "
        "(default False when absent; repeatable)",
    )
    args = parser.parse_args(argv)
    seeds = 5 if args.quick else args.seeds
    sections = set(args.section or [1, 2, 3, 4, 5, 6])
    if args.only:
        keep = set(args.only)
        for configs in (VALUE_CONFIGS, ERROR_CONFIGS, ALL_CONFIGS):
            configs[:] = [c for c in configs if c[0].split(" ")[0] in keep]
        for name in list(GRIDS):
            if name not in keep:
                del GRIDS[name]
    for where in args.grid_where or []:
        key, _, value = where.partition("=")
        values = set(value.split(","))
        for name, (cls, grid) in list(GRIDS.items()):
            GRIDS[name] = (cls, [p for p in grid if str(p.get(key, False)) in values])
    print(f"river {river.__version__}, numpy {np.__version__}, {seeds} seeds; cells: detected / delay / FA per 10k")
    started = time.perf_counter()
    if 1 in sections:
        results = evaluate(VALUE_CONFIGS, GAUSSIAN, seeds)
        table("Gaussian streams (value detectors)", [s for s, _ in GAUSSIAN], [True] * 4 + [False], results)
    if 2 in sections:
        results = evaluate(ERROR_CONFIGS, BERNOULLI, seeds)
        names = [s for s, _ in BERNOULLI]
        table("Bernoulli error streams (error-rate detectors)", names, [True] * 4 + [False] * 2, results)
    if 3 in sections:
        print("\nError rate of the frozen model before / after the change (mean over seeds):")
        for name, gen in SYNTH:
            runs = [gen(np.random.default_rng(7000 + seed)) for seed in range(seeds)]
            before = np.mean([stream[:change_at].mean() for _, stream, change_at in runs])
            changed = [stream[change_at:].mean() for _, stream, change_at in runs if change_at < stream.size]
            print(f"- {name}: {100 * before:.1f}% / " + (f"{100 * np.mean(changed):.1f}%" if changed else "-"))
        results = evaluate(ALL_CONFIGS, SYNTH, seeds)
        table(
            "river.datasets.synth concept drift (error stream of a frozen Hoeffding tree)",
            [s for s, _ in SYNTH],
            [True] * 4 + [False],
            results,
        )
    if 4 in sections:
        evaluate_real_series()
    if 5 in sections:
        configs = [c for c in VALUE_CONFIGS + ERROR_CONFIGS if "river defaults" not in c[0]]
        throughput(configs, 20_000 if args.quick else 200_000, 3 if args.quick else 7)
        throughput(configs, 20_000 if args.quick else 200_000, 3 if args.quick else 7, changes=True)
    if 6 in sections:
        grid_search(5 if args.quick else args.grid_seeds)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
