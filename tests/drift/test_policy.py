"""The drift policy: corrections, the missing-rate test, per-column decisions and the verdict."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from arlequin_core.config import DriftSection
from arlequin_core.drift.policy import adjust_p_values, apply_policy, exceeds, missing_rate_test
from arlequin_core.drift.report import ColumnResult


def test_bh_matches_scipy_false_discovery_control():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 10, 57):
        p = np.concatenate([rng.uniform(size=m), rng.uniform(0, 1e-3, size=m // 3)])
        p[:2] = p[-1]  # ties
        np.testing.assert_allclose(adjust_p_values(p, "bh"), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_holm_by_hand():
    # m = 4; sorted p: 0.01 (x4 = 0.04), 0.015 (x3 = 0.045), 0.03 (x2 = 0.06), 0.2 (x1 = 0.2);
    # step-down takes the running maximum, in the original order.
    p = [0.03, 0.01, 0.2, 0.015]
    assert adjust_p_values(p, "holm").tolist() == pytest.approx([0.06, 0.04, 0.2, 0.045])
    # Running maximum: sorted 0.011 (x3 = 0.033), 0.012 (x2 = 0.024, lifted to 0.033), 0.9 (x1);
    # and everything is capped at 1.
    assert adjust_p_values([0.012, 0.011, 0.9], "holm").tolist() == pytest.approx([0.033, 0.033, 0.9])
    assert adjust_p_values([0.6, 0.7], "holm").tolist() == [1.0, 1.0]


def test_bonferroni_and_none():
    assert adjust_p_values([0.01, 0.5], "bonferroni").tolist() == [0.02, 1.0]
    assert adjust_p_values([0.01, 0.5], "none").tolist() == [0.01, 0.5]
    assert adjust_p_values([], "holm").tolist() == []


def test_adjust_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values([0.1], "sidak")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        adjust_p_values([1.5], "holm")


def test_missing_rate_test_equals_chi2_on_the_two_by_two_table():
    for k1, n1, k2, n2 in [(10, 1000, 30, 1000), (0, 50, 3, 40), (5, 20, 5, 20), (400, 1000, 380, 900)]:
        expected = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False).pvalue
        assert missing_rate_test(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_missing_rate_test_without_variance_is_not_run():
    assert missing_rate_test(0, 100, 0, 10) is None
    assert missing_rate_test(100, 100, 10, 10) is None


def test_exceeds_direction_by_score_kind():
    assert exceeds("p_value", 0.01, 0.05) and not exceeds("p_value", 0.05, 0.05)
    assert exceeds("distance", 0.2, 0.2) and not exceeds("distance", 0.19, 0.2)
    assert not exceeds("p_value", None, 0.05) and not exceeds("distance", float("nan"), 0.1)


def result(column: str, p: float | None = None, distance: float | None = None, missing_p: float | None = None):
    kind = "p_value" if distance is None else "distance"
    return ColumnResult(
        column=column,
        kind="numeric",
        detector="ks" if kind == "p_value" else "psi",
        score_kind=kind,
        threshold=0.05 if kind == "p_value" else 0.2,
        statistic=distance if distance is not None else 0.1,
        p_value=p,
        missing_p_value=missing_p,
    )


def test_policy_corrects_over_all_p_values_of_the_batch():
    # Raw 0.02 is below 0.05, but not after Holm over 4 hypotheses (3 tests + 1 missing test).
    results = [result("a", p=0.02), result("b", p=0.001), result("c", distance=0.5), result("d", p=0.9, missing_p=0.3)]
    drifted, share, columns, status, reason = apply_policy(results, DriftSection(correction="holm", drift_share=0.5))
    assert status == "drift"
    assert [r.p_value_adjusted for r in results[:2]] == pytest.approx([0.06, 0.004])
    assert results[3].missing_p_value_adjusted == pytest.approx(0.6)
    assert columns == ["b", "c"] and share == 0.5 and drifted
    assert reason == "2 of 4 columns drifted (share 0.50 >= 0.50): b, c"
    drifted, *_ = apply_policy(
        [result("a", p=0.02), result("b", p=0.001), result("c", distance=0.5), result("d", p=0.9)],
        DriftSection(correction="none", drift_share=0.8),
    )
    assert not drifted  # uncorrected, a (0.02) drifts too: 3 of 4 = 0.75 < 0.8


def test_policy_missing_rate_alone_drifts_a_column():
    results = [result("a", p=0.9, missing_p=1e-6), result("b", p=0.8, missing_p=0.9)]
    results[0].missing_effect = 0.1  # 10 points more missing
    drifted, share, columns, *_ = apply_policy(results, DriftSection(drift_share=0.5))
    assert columns == ["a"] and results[0].missing_drifted and not results[0].distribution_drifted
    assert drifted and share == 0.5


def test_policy_critical_column_decides_below_the_share():
    results = [result(c, p=0.9) for c in "abcde"] + [result("f", p=1e-9)]
    drifted, share, columns, status, reason = apply_policy(results, DriftSection(drift_share=0.5, critical=["f"]))
    assert drifted and columns == ["f"] and share == pytest.approx(1 / 6)
    assert reason.startswith("critical column drifted: f")
    drifted, _, _, status, reason = apply_policy(
        [result(c, p=0.9) for c in "abcde"] + [result("f", p=1e-9)], DriftSection(drift_share=0.5, critical=["a"])
    )
    assert not drifted and status == "below share"
    assert reason == (
        "columns drifted, below the policy's share: 1 of 6 columns drifted (share 0.17 < 0.50): f; "
        "no critical column drifted"
    )


def test_policy_skipped_column_counts_as_tested_but_not_drifted():
    skipped = result("a")
    skipped.statistic = None
    drifted, share, columns, status, _ = apply_policy([skipped, result("b", p=0.5)], DriftSection())
    assert not drifted and columns == [] and share == 0.0 and status == "no drift"


def with_effect(column: str, p: float, effect: float | None, floor: float = 0.05):
    r = result(column, p=p)
    r.effect, r.effect_name, r.min_effect = effect, "ks_d", floor
    return r


def test_a_column_drifts_when_significant_and_large_enough():
    results = [
        with_effect("tiny", 1e-12, 0.004),  # significant, harmless: the 1M-row case
        with_effect("large", 1e-12, 0.12),
        with_effect("noise", 0.3, 0.2),  # large but not significant: a small batch
        with_effect("old profile", 1e-12, None),  # no effect computed: the test alone decides
        result("distance", distance=0.5),  # distances keep their own threshold
    ]
    drifted, _share, columns, status, reason = apply_policy(results, DriftSection(correction="none"))
    assert columns == ["large", "old profile", "distance"]
    assert not results[0].drifted and results[0].p_value_adjusted < 0.05
    # Default policy: any drifted column makes the batch drift.
    assert drifted and status == "drift" and reason == "3 of 5 columns drifted: large, old profile, distance"


def test_default_verdict_is_no_drift_only_when_no_column_drifted():
    drifted, _share, columns, status, reason = apply_policy([with_effect("a", 1e-9, 0.01)], DriftSection())
    assert (drifted, columns, status, reason) == (False, [], "no drift", "no drift: 0 of 1 columns drifted")
    drifted, _, columns, status, _ = apply_policy([with_effect("a", 1e-9, 0.06)], DriftSection())
    assert drifted and columns == ["a"] and status == "drift"


def test_missing_rate_change_needs_its_own_minimum_effect():
    small, large = result("a", p=0.9, missing_p=1e-9), result("b", p=0.9, missing_p=1e-9)
    small.missing_effect, large.missing_effect = 0.001, 0.2
    _, _, columns, *_ = apply_policy([small, large], DriftSection())
    assert columns == ["b"] and large.missing_drifted and not small.missing_drifted
