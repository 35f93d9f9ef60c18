"""The fitting script's pieces: the logistic fit recovers a known model, and record scoring
counts coverage the way the harness does."""

from __future__ import annotations

import numpy as np

from app.analysis.atrial_fibrillation import FEATURES, AfModel, Decision
from tests.validation.fit_af_model import Record, cross_validate, f1_score, fit_logistic


def test_the_logistic_fit_recovers_known_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal([2.0, -1.0], [1.0, 3.0], size=(20000, 2))
    logit = 1.5 * x[:, 0] - 0.5 * x[:, 1] - 2.0
    y = (rng.uniform(size=x.shape[0]) < 1 / (1 + np.exp(-logit))).astype(float)
    weights, intercept = fit_logistic(x, y, np.ones(x.shape[0]))
    assert np.allclose(weights, [1.5, -0.5], atol=0.1)
    assert abs(intercept + 2.0) < 0.2


def test_the_fit_ignores_how_many_verdicts_a_record_has_when_weighted() -> None:
    x = np.array([[0.0], [0.0], [0.0], [1.0]])
    y = np.array([0.0, 0.0, 0.0, 1.0])
    equal = fit_logistic(x, y, np.array([1 / 3, 1 / 3, 1 / 3, 1.0]))
    repeated = fit_logistic(x[2:], y[2:], np.ones(2))
    assert np.allclose(equal[0], repeated[0])
    assert np.isclose(equal[1], repeated[1])


def verdicts(probability_feature: float, count: int) -> list[Decision]:
    features = np.zeros(len(FEATURES))
    features[0] = probability_feature
    return [Decision(100 * (i + 10), features, 0.0, 100 * i) for i in range(count)]


def test_records_are_af_when_episodes_cover_half_of_them() -> None:
    # The first feature alone decides: logit = 10 * feature - 5.
    model = AfModel((10.0,) + (0.0,) * (len(FEATURES) - 1), -5.0, 0.5, 0.5, 1, 1)
    records = [
        Record("af", True, 3000, 100.0, verdicts(1.0, 20)),  # AF throughout: found
        Record("missed", True, 3000, 100.0, verdicts(0.0, 20)),
        Record("sinus", False, 3000, 100.0, verdicts(0.0, 20)),
        Record("false", False, 3000, 100.0, verdicts(1.0, 20)),
    ]
    assert f1_score(records, model) == (0.5, 1, 1, 1)


def test_cross_validation_pools_the_folds_out_of_fold_counts() -> None:
    records = [Record(f"af{i}", True, 3000, 100.0, verdicts(1.0, 20)) for i in range(10)]
    records += [Record(f"sinus{i}", False, 3000, 100.0, verdicts(0.0, 20)) for i in range(10)]
    assert cross_validate(records, len(FEATURES), folds=5, seed=0) == (1.0, 10, 0, 0)
