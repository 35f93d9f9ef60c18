"""The beat classifier's S and V multipliers: the pair nearest all four targets wins, and the
nested report scores each fold with the pair chosen without it."""

from __future__ import annotations

import numpy as np

from training.beats.dataset import RecordBeats
from training.beats.fit import FOLDS, Table, choose_weights, fold_of, weight_grid
from training.beats.metrics import LABELS

N, S, V = (LABELS.index(c) for c in "NSV")


def record(name: str) -> RecordBeats:
    empty = np.zeros(0)
    return RecordBeats(
        name, 360.0, empty.astype(np.int64), empty.astype(np.str_),
        empty.astype(np.float32), empty.astype(np.bool_),
        empty.astype(np.float32), empty.astype(np.bool_),
    )  # fmt: skip


def matrix(veb: tuple[int, int, int], sveb: tuple[int, int, int]) -> np.ndarray:
    """An EC57 matrix with the given (TP, FN, FP) for VEB and for SVEB."""
    m = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    m[V, V], m[V, N], m[N, V] = veb
    m[S, S], m[S, N], m[N, S] = sveb
    m[N, N] = 1000
    return m


RECORDS = [record(f"r{i}") for i in range(22)]
TWO_OUT = 11  # two records per fold: r0 and r11 share one
ONE_OUT = len(RECORDS)  # one record per fold, as the card's FOLDS
# Everywhere: VEB 80/80 and SVEB 60/40, short of all four targets.
SHORT = matrix((8, 2, 2), (6, 4, 9))
# One pair meets all four: VEB 95/95 and SVEB 80/80.
GOOD = matrix((19, 1, 1), (8, 2, 2))
# Another meets VEB with room but misses SVEB Se (70 < 75): its worst margin is -5.
LOPSIDED = matrix((20, 0, 0), (7, 3, 0))


def table(good: tuple[float, ...], lopsided: tuple[float, ...]) -> Table:
    def pick(weights: tuple[float, ...]) -> np.ndarray:
        return GOOD if weights == good else LOPSIDED if weights == lopsided else SHORT

    return {w: {r.name: pick(w) for r in RECORDS} for w in weight_grid()}


def test_the_pair_with_the_largest_worst_margin_is_chosen() -> None:
    grid = weight_grid()
    choice = choose_weights(RECORDS, table(grid[7], grid[3]))
    assert tuple(choice.weights) == grid[7]
    v, s = choice.summary.gross["V"], choice.summary.gross["S"]
    assert (v.se, v.ppv, s.se, s.ppv) == (0.95, 0.95, 0.8, 0.8)
    # Every fold sees the same records' figures, so the nested report agrees.
    assert choice.fold_weights == (grid[7],) * FOLDS
    assert choice.nested is not None
    assert choice.nested.gross == choice.summary.gross


def test_each_fold_is_scored_with_the_pair_chosen_on_the_others() -> None:
    grid = weight_grid()
    t = table(grid[7], grid[3])
    # The first fold's records (r0 and r11) do badly under the pair the others prefer.
    for name in ("r0", "r11"):
        t[grid[7]][name] = matrix((0, 20, 20), (0, 10, 10))
    choice = choose_weights(RECORDS, t, folds=TWO_OUT)
    assert choice.fold_weights[0] == grid[7]  # chosen without r0 and r11
    assert choice.nested is not None
    assert choice.nested.gross["V"].fp == 20 * 1 + 2 * 20  # 20 good records, 2 bad


def test_leaving_one_record_out_chooses_with_the_other_bad_record_in_view() -> None:
    grid = weight_grid()
    t = table(grid[7], grid[3])
    # r0 and r11 (the same fold of 11) do very badly under the others' favourite.
    for name in ("r0", "r11"):
        t[grid[7]][name] = matrix((0, 60, 60), (0, 10, 10))
    # Two per fold: r0's fold never sees a bad record and keeps grid[7].
    assert choose_weights(RECORDS, t, folds=TWO_OUT).fold_weights[0] == grid[7]
    # One per fold: r0 is scored with the pair chosen on records that include r11, so the
    # VEB Se of grid[7] falls to 82.6 % (worst margin -7.4) and the lopsided pair (-5) wins.
    choice = choose_weights(RECORDS, t, folds=ONE_OUT)
    assert len(choice.fold_weights) == len(RECORDS)
    assert choice.fold_weights[0] == choice.fold_weights[11] == grid[3]
    assert choice.fold_weights[1] == grid[3]  # r1's choice sees both bad records
    assert choice.nested is not None
    assert choice.nested.gross["V"].fp == 0  # every record scored with the lopsided pair


def test_fold_of_deals_records_round() -> None:
    assert fold_of(RECORDS, TWO_OUT)["r0"] == fold_of(RECORDS, TWO_OUT)["r11"] == 0
    assert sorted(fold_of(RECORDS, ONE_OUT).values()) == list(range(ONE_OUT))
    assert fold_of(RECORDS) == fold_of(RECORDS, FOLDS)
