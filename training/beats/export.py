"""ONNX export of the fitted classifier, with what the runtime needs in its metadata."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingClassifier

from app.inference.features import FEATURE_VERSION, N_FEATURES
from app.inference.model import (
    DECISION_RULE,
    META_CLASSES,
    META_FEATURES,
    META_RULE,
    META_WEIGHTS,
)
from training.beats.dataset import CLASSES

OPSET = {"": 17, "ai.onnx.ml": 3}


def export_onnx(model: HistGradientBoostingClassifier, weights: np.ndarray) -> bytes:
    """The model as ONNX bytes: float32 features in, (label, probabilities) out."""
    with warnings.catch_warnings():
        # skl2onnx 1.20 writes the tree nodes' "missing value goes left" flags as Python
        # bools; protobuf 6 converts them to 0/1 correctly but warns (protobuf 7 refuses them,
        # hence the train extra's protobuf<7).
        warnings.filterwarnings(
            "ignore",
            message="Field onnx.AttributeProto.ints: Expected an int, got a boolean",
            category=DeprecationWarning,
        )
        onx = to_onnx(
            model,
            initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
            options={id(model): {"zipmap": False}},
            target_opset=OPSET,
        )
    # Drop producer details that change between library builds, for a reproducible file.
    onx.producer_version = ""
    onx.doc_string = ""
    meta = {
        META_CLASSES: ",".join(CLASSES),
        META_WEIGHTS: ",".join(f"{w:g}" for w in weights),
        META_FEATURES: FEATURE_VERSION,
        META_RULE: DECISION_RULE,
    }
    onnx.helper.set_model_props(onx, meta)
    onnx.checker.check_model(onx)
    return bytes(onx.SerializeToString())
