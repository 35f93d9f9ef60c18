"""The averaged beat classifier: its members, their mean, and the one ONNX graph that runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from app.inference.features import N_FEATURES
from app.inference.model import AF_PROBABILITIES, PROBABILITIES, default_model
from training.beats.dataset import CLASSES, load_record, training_rows
from training.beats.ensemble import Ensemble
from training.beats.export import export_onnx
from training.beats.fit import CONFIDENT_N, MEMBERS, SEED, cross_validate, fit, fit_member

WEIGHTS = np.array([1.0, 3.0, 0.5, 1.0])


def _beats(n: int = 2000, width: int = N_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.choice(4, size=n, p=[0.7, 0.1, 0.1, 0.1])
    x = rng.normal(size=(n, width)) + y[:, None] * rng.normal(size=width)[None, :]
    return x.astype(np.float32), y


def _small(x: np.ndarray, y: np.ndarray, state: int) -> HistGradientBoostingClassifier:
    """A quick member (few rounds): what is tested here is the averaging, not the trees."""
    return HistGradientBoostingClassifier(max_iter=5, max_features=0.5, random_state=state).fit(
        x, y
    )


def test_the_ensemble_is_the_mean_of_members_that_differ() -> None:
    x, y = _beats(width=8)
    model = fit(x, y, 1, 5)
    assert len(model.members) == MEMBERS
    each = [np.asarray(m.predict_proba(x[:200])) for m in model.members]
    # Each member its own draw of normal beats and its own tree seed: they disagree.
    assert not np.allclose(each[0], each[1])
    assert model.gate == CONFIDENT_N
    unsure = each[0][:, CLASSES.index("N")] < CONFIDENT_N
    assert 0 < unsure.sum() < unsure.size  # the gate passes some rows and stops others
    probabilities = model.predict_proba(x[:200])
    np.testing.assert_allclose(probabilities[unsure], np.mean(each, axis=0)[unsure])
    np.testing.assert_array_equal(probabilities[~unsure], each[0][~unsure])


def test_the_gate_asks_the_other_members_about_unsure_rows_only() -> None:
    x, y = _beats(width=8)
    members = [_small(x, y, state) for state in range(MEMBERS)]
    first = members[0].predict_proba(x)
    gate = float(np.median(first[:, 0]))
    asked: list[int] = []
    counted = [members[0], *(_Counting(m, asked) for m in members[1:])]
    gated = Ensemble(counted, gate)
    gated.predict_proba(x)
    unsure = int((first[:, 0] < gate).sum())
    assert asked == [unsure] * (MEMBERS - 1)
    assert 0 < unsure < len(x)


class _Counting:
    """A member that records how many rows it was asked about."""

    def __init__(self, member: HistGradientBoostingClassifier, asked: list[int]) -> None:
        self.member, self.asked = member, asked
        self.classes_ = member.classes_

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        self.asked.append(len(rows))
        return np.asarray(self.member.predict_proba(rows))


def test_a_gate_outside_zero_to_one_is_refused() -> None:
    x, y = _beats(width=8)
    members = [_small(x, y, state) for state in range(2)]
    for gate in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="gate is a probability"):
            Ensemble(members, gate)
    no_normal = [_small(x[y > 0], y[y > 0], 1)]
    with pytest.raises(ValueError, match="learnt class N"):
        Ensemble(no_normal, 0.9)


def test_an_empty_ensemble_or_members_of_other_classes_are_refused() -> None:
    x, y = _beats(width=8)
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    three = _small(x[y < 3], y[y < 3], 1)
    four = _small(x, y, 1)
    with pytest.raises(ValueError, match="different classes"):
        Ensemble([three, four])


def test_the_gated_onnx_graph_equals_the_gated_ensemble() -> None:
    x, y = _beats()
    members = [_small(x, y, state) for state in range(MEMBERS)]
    first = members[0].predict_proba(x)
    gate = float(np.quantile(first[:, 0], 0.7))
    model = Ensemble(members, gate)
    session = ort.InferenceSession(export_onnx(model, WEIGHTS), providers=["CPUExecutionProvider"])
    unsure = first[:, 0] < gate
    near = np.abs(first[:, 0] - gate) < 1e-6  # float32 in ONNX: these may fall either side
    empty = np.zeros(0, dtype=np.int64)
    for index in (np.arange(len(x)), np.flatnonzero(unsure), np.flatnonzero(~unsure), empty):
        probabilities, af = session.run([PROBABILITIES, AF_PROBABILITIES], {"features": x[index]})
        assert probabilities.shape == (index.size, 4)
        if not index.size:
            continue
        keep = ~near[index]
        expected = model.predict_proba(x[index])
        np.testing.assert_allclose(probabilities[keep], expected[keep], rtol=0, atol=1e-5)
        np.testing.assert_allclose(af, first[index], rtol=0, atol=1e-5)
    # Sure rows keep the first member's probabilities; unsure ones get the mean.
    mean = np.mean([m.predict_proba(x) for m in members], axis=0)
    assert not np.allclose(mean[unsure], first[unsure], atol=1e-3)


def test_the_onnx_graph_averages_every_member() -> None:
    x, y = _beats()
    model = Ensemble([_small(x, y, state) for state in range(MEMBERS)])
    onx = onnx.load_from_string(export_onnx(model, WEIGHTS))
    ops = [node.op_type for node in onx.graph.node]
    assert ops == ["TreeEnsembleClassifier"] * MEMBERS + ["Mean", "ArgMax", "Identity"]
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    label, probabilities, af = session.run(
        ["label", PROBABILITIES, AF_PROBABILITIES], {"features": x}
    )
    expected = model.predict_proba(x)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-5)
    # The AF monitor's probabilities are the first member's, not the mean.
    np.testing.assert_allclose(af, model.af_proba(x), rtol=0, atol=1e-5)
    np.testing.assert_allclose(af, model.members[0].predict_proba(x), rtol=0, atol=1e-5)
    assert not np.allclose(af, expected, atol=1e-3)
    agree = label == expected.argmax(axis=1)
    # float32 trees against float64: only near-ties may swap.
    assert agree.mean() > 0.999


def test_the_out_of_fold_af_probabilities_are_the_first_members() -> None:
    excerpts = Path(__file__).resolve().parents[1] / "data" / "mitdb"
    records = [load_record(excerpts / name) for name in ("207x", "208x")]
    oof = cross_validate(records, folds=2)
    x, y, group = training_rows(records)
    k = 1  # records are dealt round: 208x is fold 1, and fold k's first member draws SEED + k
    first = fit_member(x[group != k], y[group != k], SEED + k, SEED)
    held_out = records[k]
    np.testing.assert_allclose(oof.af[held_out.name], first.predict_proba(held_out.features))
    assert not np.allclose(oof.af[held_out.name], oof.whole[held_out.name], atol=1e-3)


def test_the_shipped_model_asks_the_other_members_about_unsure_beats_only() -> None:
    model = default_model()
    excerpts = Path(__file__).resolve().parents[1] / "data" / "mitdb"
    record = load_record(excerpts / "208x")
    rows = record.features[record.valid]
    probabilities, af = model.probabilities(rows), model.af_probabilities(rows)
    normal = model.classes.index("N")
    sure = af[:, normal] >= CONFIDENT_N
    near = np.abs(af[:, normal] - CONFIDENT_N) < 1e-6  # float32 in the graph
    assert 0 < sure.sum() < sure.size
    # Sure beats keep the first member's probabilities; unsure ones get the mean, which moves
    # them wherever the members disagree (not where all three are sure of V).
    np.testing.assert_array_equal(probabilities[sure & ~near], af[sure & ~near])
    moved = np.abs(probabilities - af).max(axis=1) > 1e-3
    assert moved[~sure & ~near].sum() >= 10
