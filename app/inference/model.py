"""The beat classifier's ONNX model: checked against its model card, run by onnxruntime (CPU).

A missing, altered or unreadable model raises ``ModelUnavailableError`` with a reason the
station can show; the station then runs on without beat labels. onnxruntime is imported only
here, when a model is loaded, so the rest of Vigil starts without it.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from app.inference.features import FEATURE_VERSION, N_FEATURES
from app.resources import RESOURCES

MODEL_PATH = RESOURCES / "models" / "beat_classifier.onnx"
CARD_HASH = re.compile(r"SHA-256[^`]*`([0-9a-f]{64})`")
# Metadata the training pipeline writes into the ONNX file (custom_metadata_map).
UNKNOWN = "Q"  # the label of a beat that cannot be judged (near a gap or an end)
META_CLASSES = "vigil.classes"
META_WEIGHTS = "vigil.decision_weights"
META_FEATURES = "vigil.feature_version"
META_RULE = "vigil.decision_rule"
DECISION_RULE = "ventricular-first"  # how the multipliers are applied (``call_indices``)
# The graph's outputs read: the beat classes' probabilities, and those the AF monitor's labels
# are made from (the model its AF model was fitted on; see training.beats.ensemble).
PROBABILITIES = "probabilities"
AF_PROBABILITIES = "af_probabilities"


Labels = npt.NDArray[np.str_]


class Calls(NamedTuple):
    """Two labellings of the same beats from one set of probabilities."""

    beats: Labels  # the beat classes, at the model's decision multipliers
    af: Labels  # the labels the AF monitor counts, at its own multipliers


class ModelUnavailableError(RuntimeError):
    """The beat model cannot be used; ``reason`` says why, in words a technician can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BeatModel:
    session: Any  # onnxruntime.InferenceSession (onnxruntime ships no type information)
    input_name: str
    classes: tuple[str, ...]
    weights: npt.NDArray[np.float64]  # per-class multipliers of the probabilities
    sha256: str

    def probabilities(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Class probabilities (n × len(classes)) for feature rows."""
        return self._run(features)[0]

    def _run(
        self, features: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The beat classes' probabilities and the AF labels' probabilities, one run."""
        if features.shape[0] == 0:
            empty = np.zeros((0, len(self.classes)))
            return empty, empty
        beats, af = self.session.run(
            [PROBABILITIES, AF_PROBABILITIES], {self.input_name: features.astype(np.float32)}
        )
        return np.asarray(beats, dtype=np.float64), np.asarray(af, dtype=np.float64)

    def decide(self, features: npt.NDArray[np.float32]) -> Labels:
        """The class of each row by ``call_indices``, with the decision weights (the AF
        monitor's labels come from ``af_labels``)."""
        return self._labels(self.probabilities(features), None)

    def calls(self, features: npt.NDArray[np.float32], af: Mapping[str, float]) -> Calls:
        """The beat classes, and the AF monitor's labels: its own probabilities at its
        multipliers ``af``."""
        beats, af_probabilities = self._run(features)
        return Calls(self._labels(beats, None), self._labels(af_probabilities, af))

    def af_probabilities(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """The probabilities the AF monitor's labels are made from."""
        return self._run(features)[1]

    def af_labels(self, features: npt.NDArray[np.float32], af: Mapping[str, float]) -> Labels:
        """The AF monitor's labels alone (``calls(...).af``)."""
        return self._labels(self.af_probabilities(features), af)

    def _labels(
        self, probabilities: npt.NDArray[np.float64], multipliers: Mapping[str, float] | None
    ) -> Labels:
        weights = self.weights if multipliers is None else self.multipliers(multipliers)
        chosen = call_indices(probabilities, weights, self.classes)
        return np.asarray(np.array(self.classes, dtype="<U1")[chosen])

    def multipliers(self, by_class: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """Multipliers per class letter, in the model's class order."""
        missing = set(self.classes) - set(by_class)
        if missing:
            raise ValueError(f"no multiplier for class {', '.join(sorted(missing))}")
        return np.array([by_class[c] for c in self.classes], dtype=np.float64)


def call_indices(
    probabilities: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    classes: Sequence[str],
) -> npt.NDArray[np.intp]:
    """Each row's class, as an index into ``classes``: V when its weighted probability is the
    largest with S left at × 1; otherwise the largest weighted probability of the others.

    The S multiplier then trades S against N only and never takes a beat from V: with a
    plain argmax at S × 2, record 106 lost 98 of its 460 V beats to S calls. With S × 1 the
    rule is the plain argmax."""
    v, s = classes.index("V"), classes.index("S")
    against_v = np.array(weights, dtype=np.float64)
    against_v[s] = 1.0
    others = np.array(weights, dtype=np.float64)
    others[v] = 0.0
    ventricular = (probabilities * against_v).argmax(axis=1) == v
    return np.where(ventricular, v, (probabilities * others).argmax(axis=1))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_sha256(card: Path) -> str:
    """The SHA-256 the model card quotes for its model file."""
    try:
        text = card.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelUnavailableError(f"beat model card {card} unreadable: {exc.strerror}") from exc
    found = CARD_HASH.search(text)
    if found is None:
        raise ModelUnavailableError(f"beat model card {card} quotes no SHA-256")
    return found.group(1)


def load_model(path: Path = MODEL_PATH) -> BeatModel:
    """Load and check a beat model; its card is the ``.md`` file beside it."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailableError(f"beat model {path} unreadable: {exc.strerror}") from exc
    digest = hashlib.sha256(blob).hexdigest()
    expected = card_sha256(path.with_suffix(".md"))
    if digest != expected:
        raise ModelUnavailableError(
            f"beat model {path} does not match its card (SHA-256 {digest[:12]}…, "
            f"card says {expected[:12]}…): altered or corrupt file"
        )
    session = _session(blob, path)
    return _described(session, path, digest)


def _session(blob: bytes, path: Path) -> Any:
    # Imported here, not at module level: only loading a model needs onnxruntime.
    ort = importlib.import_module("onnxruntime")
    ort_errors = importlib.import_module("onnxruntime.capi.onnxruntime_pybind11_state")

    options = ort.SessionOptions()
    # One thread: the station runs many threads already, and batches are small.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    errors = (
        ort_errors.Fail, ort_errors.InvalidArgument, ort_errors.InvalidGraph,
        ort_errors.InvalidProtobuf, ort_errors.NoModel, ort_errors.NotImplemented,
        ort_errors.RuntimeException,
    )  # fmt: skip
    try:
        return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except errors as exc:
        raise ModelUnavailableError(
            f"beat model {path} not loadable by onnxruntime: {exc}"
        ) from exc


def _described(session: Any, path: Path, digest: str) -> BeatModel:
    meta: dict[str, str] = dict(session.get_modelmeta().custom_metadata_map)
    if meta.get(META_RULE) != DECISION_RULE:
        raise ModelUnavailableError(
            f"beat model {path} expects decision rule {meta.get(META_RULE)!r}, "
            f"this Vigil applies {DECISION_RULE!r}"
        )
    if meta.get(META_FEATURES) != FEATURE_VERSION:
        raise ModelUnavailableError(
            f"beat model {path} expects features {meta.get(META_FEATURES)!r}, "
            f"this Vigil computes {FEATURE_VERSION!r}"
        )
    outputs = {str(output.name) for output in session.get_outputs()}
    if not {PROBABILITIES, AF_PROBABILITIES} <= outputs:
        raise ModelUnavailableError(
            f"beat model {path} lacks the outputs {PROBABILITIES!r} and {AF_PROBABILITIES!r} "
            "(the beat classes' and the AF monitor's probabilities): made for another Vigil"
        )
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].shape[-1] != N_FEATURES:
        raise ModelUnavailableError(f"beat model {path} does not take {N_FEATURES} features")
    classes = tuple(meta.get(META_CLASSES, "").split(","))
    weights = np.array([float(w) for w in meta.get(META_WEIGHTS, "").split(",") if w])
    if not set(classes) <= set("NSVF") or weights.size != len(classes):
        raise ModelUnavailableError(f"beat model {path} has no valid class list and weights")
    return BeatModel(session, str(inputs[0].name), classes, weights, digest)


@lru_cache(maxsize=1)
def default_model() -> BeatModel:
    """The model in ``resources/models``, loaded once (a failure is retried on the next call)."""
    return load_model(MODEL_PATH)
