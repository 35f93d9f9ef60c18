"""How the beat model's multipliers turn probabilities into calls (``call_indices``), and a
model built for another rule is refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.inference.features import FEATURE_VERSION, N_FEATURES
from app.inference.model import (
    AF_PROBABILITIES,
    DECISION_RULE,
    META_CLASSES,
    META_FEATURES,
    META_RULE,
    META_WEIGHTS,
    PROBABILITIES,
    ModelUnavailableError,
    _described,
    call_indices,
)

CLASSES = ("N", "S", "V", "F")


def test_with_s_at_one_the_rule_is_the_plain_argmax() -> None:
    probabilities = np.random.default_rng(7).dirichlet(np.ones(4), size=20_000)
    for v in (0.1, 0.5, 1.0, 2.0):
        weights = np.array([1.0, 1.0, v, 1.0])
        expected = (probabilities * weights).argmax(axis=1)
        np.testing.assert_array_equal(call_indices(probabilities, weights, CLASSES), expected)


def test_a_larger_s_multiplier_takes_beats_from_n_but_not_from_v() -> None:
    weights = np.array([1.0, 3.0, 0.5, 1.0])
    probabilities = np.array(
        [
            [0.1, 0.2, 0.7, 0.0],  # V × 0.5 = 0.35 beats N and S at × 1: V (argmax: S, 0.6)
            [0.6, 0.3, 0.1, 0.0],  # S × 3 = 0.9 beats N: S
            [0.3, 0.5, 0.2, 0.0],  # V loses to S at × 1; then S
            [0.9, 0.05, 0.05, 0.0],  # N
        ]
    )
    calls = [CLASSES[i] for i in call_indices(probabilities, weights, CLASSES)]
    assert calls == ["V", "S", "S", "N"]
    assert CLASSES[int((probabilities[0] * weights).argmax())] == "S"


def session(
    meta: dict[str, str], outputs: tuple[str, ...] = ("label", PROBABILITIES, AF_PROBABILITIES)
) -> SimpleNamespace:
    """What ``_described`` reads of an onnxruntime session."""
    inputs = [SimpleNamespace(name="features", shape=[None, N_FEATURES])]
    return SimpleNamespace(
        get_modelmeta=lambda: SimpleNamespace(custom_metadata_map=meta),
        get_inputs=lambda: inputs,
        get_outputs=lambda: [SimpleNamespace(name=name) for name in outputs],
    )


GOOD = {
    META_CLASSES: ",".join(CLASSES),
    META_WEIGHTS: "1,2,0.5,1",
    META_FEATURES: FEATURE_VERSION,
    META_RULE: DECISION_RULE,
}


def test_a_model_with_its_rule_loads() -> None:
    model = _described(session(GOOD), Path("m.onnx"), "0" * 64)
    assert model.classes == CLASSES
    np.testing.assert_array_equal(model.weights, [1.0, 2.0, 0.5, 1.0])


@pytest.mark.parametrize("rule", [None, "argmax"])
def test_a_model_for_another_decision_rule_is_refused(rule: str | None) -> None:
    meta = {k: v for k, v in GOOD.items() if k != META_RULE}
    if rule is not None:
        meta[META_RULE] = rule
    with pytest.raises(ModelUnavailableError, match="decision rule"):
        _described(session(meta), Path("m.onnx"), "0" * 64)


def test_a_model_without_the_af_monitors_probabilities_is_refused() -> None:
    # A single model's graph (label and probabilities only), as shipped before the ensemble.
    with pytest.raises(ModelUnavailableError, match="af_probabilities"):
        _described(session(GOOD, ("label", PROBABILITIES)), Path("m.onnx"), "0" * 64)
