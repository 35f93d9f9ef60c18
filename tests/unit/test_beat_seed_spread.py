"""The seed-spread report of the beat classifier: its statistics, and that the training draws
it varies are what the seeds control (same seeds, same model; another seed, another model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.beats.fit import MEMBER_DRAW_STEP, MEMBERS, SEED, fit
from training.beats.metrics import LABELS, summarise
from training.beats.spread import gross, main, seeds, spread, table

N, S, V = (LABELS.index(c) for c in "NSV")


def test_the_spread_is_the_median_and_range_of_each_column() -> None:
    rows = [(1.0, 2.0, 3.0, 4.0), (3.0, 0.0, 5.0, 4.0), (2.0, 9.0, 1.0, 4.0)]
    median, low, high = spread(rows)
    assert median == (2.0, 2.0, 3.0, 4.0)
    assert low == (1.0, 0.0, 1.0, 4.0)
    assert high == (3.0, 9.0, 5.0, 4.0)
    text = table("t", ["a", "b", "c"], rows)
    assert "| median | 2.0 | 2.0 | 3.0 | 4.0 |" in text
    assert "| range | 1.0–3.0 | 0.0–9.0 | 1.0–5.0 | 4.0–4.0 |" in text


def test_the_first_seed_is_the_shipped_models_and_the_folds_never_share_a_seed() -> None:
    drawn = seeds(3)
    assert drawn[0] == SEED
    # Member m of fold k of seed s draws with s + k + MEMBER_DRAW_STEP m: no two draws meet,
    # even with one record left out per fold (22 folds).
    draws = [s + k + MEMBER_DRAW_STEP * m for s in drawn for k in range(22) for m in range(MEMBERS)]
    assert len(set(draws)) == len(draws) == 3 * 22 * MEMBERS


def test_gross_figures_are_percentages_in_column_order() -> None:
    m = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    m[V, V], m[V, N], m[N, V] = 9, 1, 3  # VEB Se 90, +P 75
    m[S, S], m[S, N] = 1, 3  # SVEB Se 25, +P 100
    m[N, N] = 100
    assert gross(summarise([m])) == (90.0, 75.0, 25.0, 100.0)


def test_a_seed_changes_the_model_and_the_same_seeds_rebuild_it() -> None:
    rng = np.random.default_rng(0)
    y = rng.choice(4, size=2000, p=[0.7, 0.1, 0.1, 0.1])
    x = rng.normal(size=(2000, 8)) + y[:, None] * rng.normal(size=8)[None, :]
    probe = rng.normal(size=(50, 8))
    first = fit(x, y, 1, 5).predict_proba(probe)
    np.testing.assert_array_equal(fit(x, y, 1, 5).predict_proba(probe), first)
    assert not np.allclose(fit(x, y, 1, 6).predict_proba(probe), first)
    assert not np.allclose(fit(x, y, 2, 5).predict_proba(probe), first)


@pytest.mark.parametrize("folds", ["1", "23"])
def test_a_fold_count_outside_two_to_the_records_is_refused_before_loading(
    folds: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--data", str(tmp_path / "absent"), "--folds", folds])
    assert stopped.value.code == 2
    assert "--folds must be between 2 and 22" in capsys.readouterr().err
