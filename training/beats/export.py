"""ONNX export of the fitted classifier, with what the runtime needs in its metadata."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingClassifier

from app.inference.features import FEATURE_VERSION, N_FEATURES
from app.inference.model import (
    AF_PROBABILITIES,
    DECISION_RULE,
    META_CLASSES,
    META_FEATURES,
    META_RULE,
    META_WEIGHTS,
    PROBABILITIES,
)
from training.beats.dataset import CLASSES
from training.beats.ensemble import AF_MEMBER, Ensemble

OPSET = {"": 17, "ai.onnx.ml": 3}
INPUT = "features"


def export_onnx(model: Ensemble, weights: np.ndarray) -> bytes:
    """The model as ONNX bytes: float32 features in; out the label, the probabilities (the
    mean of the members', the label their largest) and the AF monitor's probabilities (its
    member's, ``Ensemble.af_proba``)."""
    nodes = [_member_node(member, i) for i, member in enumerate(model.members)]
    averaged = [node.output[1] for node in nodes]
    nodes.append(helper.make_node("Mean", averaged, [PROBABILITIES], name="mean"))
    nodes.append(
        helper.make_node("ArgMax", [PROBABILITIES], ["label"], axis=1, keepdims=0, name="label")
    )
    nodes.append(helper.make_node("Identity", [averaged[AF_MEMBER]], [AF_PROBABILITIES], name="af"))
    n_classes = len(model.classes_)
    graph = helper.make_graph(
        nodes,
        "beat_classifier",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, N_FEATURES])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info(PROBABILITIES, TensorProto.FLOAT, [None, n_classes]),
            helper.make_tensor_value_info(AF_PROBABILITIES, TensorProto.FLOAT, [None, n_classes]),
        ],
    )
    onx = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSET.items()]
    )
    # No producer details: they change between library builds, and the file must not.
    meta = {
        META_CLASSES: ",".join(CLASSES),
        META_WEIGHTS: ",".join(f"{w:g}" for w in weights),
        META_FEATURES: FEATURE_VERSION,
        META_RULE: DECISION_RULE,
    }
    onnx.helper.set_model_props(onx, meta)
    onnx.checker.check_model(onx, full_check=True)
    return bytes(onx.SerializeToString())


def _member_node(member: HistGradientBoostingClassifier, index: int) -> onnx.NodeProto:
    """One member as a single tree-ensemble node reading the shared input, its outputs
    named apart from the other members'."""
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
            member,
            initial_types=[(INPUT, FloatTensorType([None, N_FEATURES]))],
            options={id(member): {"zipmap": False}},
            target_opset=OPSET,
        )
    if len(onx.graph.node) != 1 or onx.graph.initializer:
        raise ValueError(f"member {index} did not convert to a single tree-ensemble node")
    node = onnx.NodeProto()
    node.CopyFrom(onx.graph.node[0])
    node.name = f"member{index}"
    del node.output[:]
    node.output.extend([f"label{index}", f"probabilities{index}"])
    return node
