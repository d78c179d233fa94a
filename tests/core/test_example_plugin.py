"""The example third-party plugin (examples/arlequin-welch), installed by `make install`,
is discovered through its own distribution and matches scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from arlequin_core.plugins import PluginHost


@pytest.fixture(scope="module")
def welch():
    host = PluginHost().load()
    assert "welch" in host.plugins, "run `make install` (it installs examples/arlequin-welch)"
    assert host.plugins["welch"].distribution == "arlequin-welch"
    return host.registry.get("detector", "welch")


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift", "ties"),
    [
        (1000, 800, 0.0, False),
        (50, 70, 0.3, False),
        (3, 2, 1.0, False),
        (500, 400, 0.1, True),
        (200_000, 100_000, 0.01, False),
    ],
)
def test_matches_scipy_welch(welch, n_ref: int, n_cur: int, shift: float, ties: bool) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(shift, 2, n_cur)
    if ties:
        ref, cur = np.round(ref), np.round(cur)
    expected = stats.ttest_ind(ref, cur, equal_var=False)
    got = welch.from_profile(welch().fit(ref).to_profile()).score(cur)
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


def test_missing_values_are_ignored(welch) -> None:
    ref = np.array([1.0, 2.0, np.nan, 3.0, 4.0])
    cur = np.array([2.0, np.nan, 5.0, 6.0])
    expected = stats.ttest_ind(ref[~np.isnan(ref)], cur[~np.isnan(cur)], equal_var=False)
    assert welch().fit(ref).score(cur).p_value == pytest.approx(expected.pvalue, rel=1e-9)
