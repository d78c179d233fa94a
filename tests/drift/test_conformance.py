"""Every registered detector, built-in or third-party, passes the same checks.

The cases come from the registry of a loaded :class:`PluginHost`, so a newly
installed detector plugin (river's online detectors, a third-party package) is
covered without touching this file. Online detectors (``info.online``) are fed
their data in order, with streams long enough for them to settle. Detectors of a
model's 0/1 error stream (class attribute ``binary = True``: river's DDM family) get
0/1 streams (case kind ``errors``): any other number is an error for them.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.policy import exceeds
from arlequin_core.drift.profile_file import read_profile, write_profile
from arlequin_core.plugins import PluginHost

REGISTERED = PluginHost().load().registry.entries("detector")
CASES = [
    pytest.param(item.obj, case, id=f"{item.name}-{case}")
    for item in REGISTERED
    for kind in sorted(item.obj.info.kinds)
    if kind in ("numeric", "categorical")
    for case in ["errors" if kind == "numeric" and getattr(item.obj, "binary", False) else kind]
]
CATEGORIES = np.array(["a", "b", "c", "d"])


def stream_length(cls: type[Detector]) -> int:
    return 4000 if cls.info.online else 1500


def sample(kind: str, n: int, seed: int, shifted: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        return rng.normal(3.0 if shifted else 0.0, 1.0, n)
    if kind == "errors":
        return rng.binomial(1, 0.5 if shifted else 0.1, n).astype(np.float64)
    p = [0.05, 0.05, 0.2, 0.7] if shifted else [0.4, 0.3, 0.2, 0.1]
    return rng.choice(CATEGORIES, n, p=p)


def as_input(kind: str, values: np.ndarray):
    """The form the core passes: float64 numpy for numeric, Arrow for categorical."""
    if kind != "categorical":
        return np.asarray(values, dtype=np.float64)
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def with_missing(kind: str, values: np.ndarray, seed: int) -> np.ndarray:
    """``values`` with missing values inserted at random places (order of the rest kept)."""
    rng = np.random.default_rng(seed)
    holes = np.zeros(values.size + values.size // 5, dtype=bool)
    holes[rng.choice(holes.size, values.size // 5, replace=False)] = True
    out = np.empty(holes.size, dtype=object if kind == "categorical" else np.float64)
    out[holes] = None if kind == "categorical" else np.nan
    out[~holes] = values
    return out


def value(cls: type[Detector], score: Score) -> float | None:
    return score.p_value if cls.info.score == "p_value" else score.statistic


def fitted(cls: type[Detector], kind: str, seed: int = 0) -> tuple[Detector, np.ndarray]:
    reference = sample(kind, stream_length(cls), seed)
    detector = cls()
    assert detector.fit(as_input(kind, reference)) is detector, "fit() must return self"
    return detector, reference


def same_score(a: Score, b: Score) -> bool:
    def eq(x: float | None, y: float | None) -> bool:
        if x is None or y is None:
            return x is y
        return x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)

    return eq(a.statistic, b.statistic) and eq(a.p_value, b.p_value)


def test_arlequin_register_detectors_registers_all_builtin():
    builtin = {item.name: item.origin for item in REGISTERED if item.origin == "stats"}
    assert builtin == dict.fromkeys(["chi2", "jensen_shannon", "kl", "ks", "psi", "wasserstein"], "stats")


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_metadata_present_and_valid(cls, kind):
    info = cls.info
    assert isinstance(info, DetectorInfo)
    assert isinstance(info.name, str) and info.name.strip() == info.name and info.name
    assert isinstance(info.display_name, str) and info.display_name
    assert info.kinds and set(info.kinds) <= {"numeric", "categorical"}
    assert info.score in ("p_value", "distance")
    assert isinstance(info.default_threshold, (int, float)) and math.isfinite(info.default_threshold)
    if info.score == "p_value":
        assert 0.0 < info.default_threshold < 1.0
    else:
        assert info.default_threshold > 0.0
    assert isinstance(info.online, bool) and isinstance(info.description, str)


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_fit_score_contract(cls, kind):
    detector, _ = fitted(cls, kind)
    score = detector.score(as_input(kind, sample(kind, stream_length(cls), 1)))
    assert isinstance(score, Score)
    assert isinstance(score.statistic, float) and not math.isnan(score.statistic)
    if cls.info.score == "p_value":
        assert score.p_value is not None and 0.0 <= score.p_value <= 1.0
    json.dumps(score.details, allow_nan=True)  # details are JSON-able


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_profile_json_round_trip_scores_identically(cls, kind):
    detector, _ = fitted(cls, kind)
    text = json.dumps(to_json_tree(detector.to_profile()), allow_nan=False)  # strict JSON, no pickle
    clone = cls.from_profile(json.loads(text))
    batch = as_input(kind, sample(kind, stream_length(cls), 2, shifted=True))
    assert same_score(detector.score(batch), clone.score(batch))


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_profile_file_round_trip_scores_identically(cls, kind, tmp_path):
    """Through a format-2 file: arrays come back as read-only views of the file's bytes."""
    detector, _ = fitted(cls, kind)
    write_profile({"state": detector.to_profile()}, tmp_path / "d.profile", format_version=2)
    clone = cls.from_profile(read_profile(tmp_path / "d.profile")["state"])
    batch = as_input(kind, sample(kind, stream_length(cls), 2, shifted=True))
    assert same_score(detector.score(batch), clone.score(batch))


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_no_drift_on_an_identical_copy(cls, kind):
    detector, reference = fitted(cls, kind)
    score = detector.score(as_input(kind, reference.copy()))
    assert not exceeds(cls.info.score, value(cls, score), cls.info.default_threshold), score


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_drift_on_a_clearly_shifted_copy(cls, kind):
    detector, _ = fitted(cls, kind)
    score = detector.score(as_input(kind, sample(kind, stream_length(cls), 3, shifted=True)))
    assert exceeds(cls.info.score, value(cls, score), cls.info.default_threshold), score


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_missing_values_are_ignored(cls, kind):
    n = stream_length(cls)
    reference, batch = sample(kind, n, 4), sample(kind, n, 5, shifted=True)
    plain = cls().fit(as_input(kind, reference)).score(as_input(kind, batch))
    holes = cls().fit(as_input(kind, with_missing(kind, reference, 6)))
    assert same_score(plain, holes.score(as_input(kind, with_missing(kind, batch, 7))))


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_no_values_is_refused_or_undefined_never_a_number(cls, kind):
    empty = np.full(10, np.nan) if kind != "categorical" else np.array([None] * 10, dtype=object)
    batch = as_input(kind, sample(kind, 100, 10))
    try:
        score = cls().fit(as_input(kind, empty)).score(batch)
    except ValueError:
        return
    assert math.isnan(score.statistic), f"fitted on nothing, {cls.info.name} scored {score}"


@pytest.mark.parametrize(("cls", "kind"), [c for c in CASES if not c.values[0].info.online])
def test_scoring_leaves_a_batch_detector_unchanged(cls, kind):
    detector, _ = fitted(cls, kind)
    batch = as_input(kind, sample(kind, 500, 8))
    first = detector.score(batch)
    detector.score(as_input(kind, sample(kind, 700, 9, shifted=True)))
    assert same_score(first, detector.score(batch))


@pytest.mark.parametrize(("cls", "kind"), CASES)
def test_unknown_parameter_is_refused(cls, kind):
    with pytest.raises((TypeError, ValueError)):
        cls(no_such_parameter=1)


STREAMING = [p for p in CASES if not p.values[0].info.cannot_stream]
ONLINE = [p for p in CASES if p.values[0].info.cannot_stream]


def pieces(kind: str, values: np.ndarray, seed: int) -> list:
    """``values`` cut at random places into pieces (some empty, some of one value), in the core's forms."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.integers(0, values.size + 1, size=7))
    cuts = np.concatenate(([0, 0, 1], cuts, [values.size, values.size]))
    return [as_input(kind, values[a:b]) for a, b in itertools.pairwise(cuts)]


def merged(detector: Detector, states: list, order: str):
    """The states merged left to right, right to left, or as a balanced tree (parts kept in order)."""
    if order == "left":
        out = states[0]
        for state in states[1:]:
            out = detector.merge_states(out, state)
        return out
    if order == "right":
        out = states[-1]
        for state in reversed(states[:-1]):
            out = detector.merge_states(state, out)
        return out
    while len(states) > 1:
        pairs = [states[i : i + 2] for i in range(0, len(states), 2)]
        states = [detector.merge_states(*p) if len(p) == 2 else p[0] for p in pairs]
    return states[0]


@pytest.mark.parametrize(("cls", "kind"), STREAMING)
@pytest.mark.parametrize("shifted", [False, True], ids=["same", "shifted"])
def test_merged_states_of_any_split_score_like_the_whole_batch(cls, kind, shifted):
    """Scoring a batch in one piece and merging the states of any split of it give the same result."""
    detector, _ = fitted(cls, kind)
    batch = with_missing(kind, sample(kind, stream_length(cls), 8, shifted=shifted), 9)
    whole = detector.score_state(detector.chunk_state(as_input(kind, batch)))
    direct = detector.score(as_input(kind, batch))
    bound = whole.details.get("error_bound")
    if bound is None:  # an exact statistic: the same as scoring the values
        assert same_score(whole, direct), (whole, direct)
    else:  # an approximation: within the bound it reports
        assert isinstance(bound, float) and bound >= 0
        assert abs(whole.statistic - direct.statistic) <= bound * (1 + 1e-9) + 1e-12, (whole, direct)
    for seed in (10, 11):
        states = [detector.chunk_state(piece) for piece in pieces(kind, batch, seed)]
        for order in ("left", "right", "tree"):
            score = detector.score_state(merged(detector, states, order))
            assert same_score(score, whole), (seed, order, score, whole)
            json.dumps(score.details, allow_nan=True)


@pytest.mark.parametrize(("cls", "kind"), STREAMING)
def test_chunk_states_survive_a_pickle(cls, kind):
    """The Spark engine ships states from executors to the driver by pickle."""
    import pickle

    detector, _ = fitted(cls, kind)
    batch = as_input(kind, sample(kind, stream_length(cls), 12, shifted=True))
    state = detector.chunk_state(batch)
    clone = pickle.loads(pickle.dumps(detector))
    assert same_score(detector.score_state(state), clone.score_state(pickle.loads(pickle.dumps(state))))


@pytest.mark.parametrize(("cls", "kind"), ONLINE)
def test_online_detectors_say_they_cannot_stream(cls, kind):
    reason = cls.info.cannot_stream
    assert isinstance(reason, str) and "order" in reason
    detector, _ = fitted(cls, kind)
    with pytest.raises(TypeError, match=cls.info.name):
        detector.chunk_state(as_input(kind, sample(kind, 10, 13)))
