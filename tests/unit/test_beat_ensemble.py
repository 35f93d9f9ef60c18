"""The averaged beat classifier: its members, their mean, and the one ONNX graph that runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from app.inference.features import N_FEATURES
from app.inference.model import AF_PROBABILITIES, PROBABILITIES
from training.beats.dataset import load_record, training_rows
from training.beats.ensemble import Ensemble
from training.beats.export import export_onnx
from training.beats.fit import MEMBERS, SEED, cross_validate, fit, fit_member

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
    np.testing.assert_allclose(model.predict_proba(x[:200]), np.mean(each, axis=0))


def test_an_empty_ensemble_or_members_of_other_classes_are_refused() -> None:
    x, y = _beats(width=8)
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    three = _small(x[y < 3], y[y < 3], 1)
    four = _small(x, y, 1)
    with pytest.raises(ValueError, match="different classes"):
        Ensemble([three, four])


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
