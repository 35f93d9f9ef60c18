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
GATED = "unsure_features"  # the rows the gate passes to the other members


def export_onnx(model: Ensemble, weights: np.ndarray) -> bytes:
    """The model as ONNX bytes: float32 features in; out the label, the probabilities
    (``Ensemble.predict_proba``: the mean of the members' on the rows the gate passes to
    them, the first member's elsewhere; the label their largest) and the AF monitor's
    probabilities (its member's, ``Ensemble.af_proba``)."""
    gate = model.gate
    members = [
        _member_node(member, i, INPUT if i == AF_MEMBER or gate is None else GATED)
        for i, member in enumerate(model.members)
    ]
    first = members[AF_MEMBER].output[1]
    others = [node for i, node in enumerate(members) if i != AF_MEMBER]
    if gate is not None:
        before, after, initializers = _gate(
            gate, model.normal_column, first, [n.output[1] for n in others]
        )
        nodes = [members[AF_MEMBER], *before, *others, *after]
    else:
        mean = helper.make_node("Mean", [n.output[1] for n in members], [PROBABILITIES])
        nodes, initializers = [*members, mean], []
    nodes.append(
        helper.make_node("ArgMax", [PROBABILITIES], ["label"], axis=1, keepdims=0, name="label")
    )
    nodes.append(helper.make_node("Identity", [first], [AF_PROBABILITIES], name="af"))
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
        initializers,
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


def _gate(
    gate: float, normal_column: int, first: str, others: list[str]
) -> tuple[list[onnx.NodeProto], list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The nodes before the other members (the rows whose first-member N probability is
    under the gate, gathered into GATED) and after them (those rows' mean with the first
    member's probabilities, scattered back over the first member's), and their constants."""
    constants = [
        helper.make_tensor("gate", TensorProto.FLOAT, [], [gate]),
        helper.make_tensor("normal_column", TensorProto.INT64, [], [normal_column]),
    ]
    before = [
        helper.make_node("Gather", [first, "normal_column"], ["normal"], axis=1),
        helper.make_node("Less", ["normal", "gate"], ["unsure"]),
        helper.make_node("NonZero", ["unsure"], ["unsure_index"]),
        # (1, K) -> (K, 1): row indices as GatherND and ScatterND take them.
        helper.make_node("Transpose", ["unsure_index"], ["unsure_rows"], perm=[1, 0]),
        helper.make_node("GatherND", [INPUT, "unsure_rows"], [GATED]),
        helper.make_node("GatherND", [first, "unsure_rows"], ["unsure_first"]),
    ]
    after = [
        helper.make_node("Mean", ["unsure_first", *others], ["unsure_mean"]),
        helper.make_node("ScatterND", [first, "unsure_rows", "unsure_mean"], [PROBABILITIES]),
    ]
    return before, after, constants


def _member_node(member: HistGradientBoostingClassifier, index: int, source: str) -> onnx.NodeProto:
    """One member as a single tree-ensemble node reading ``source`` (INPUT or GATED), its
    outputs named apart from the other members'."""
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
    del node.input[:]
    node.input.append(source)
    del node.output[:]
    node.output.extend([f"label{index}", f"probabilities{index}"])
    return node
