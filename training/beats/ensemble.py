"""Several boosted-tree models whose class probabilities are averaged.

Each member is fitted on every abnormal beat and its own draw of a quarter of the normal ones,
its trees seeded apart. Averaging them uses more of the normal beats and evens out the random
draws, which on 22 patients moved a held-out record's calls by several points (training.beats.
spread). The ONNX graph runs the members side by side and averages their probabilities.

The AF monitor's labels come from the first member alone (``af_proba``). It is fitted exactly as
the single model was before (the same draw of normal beats, the same tree seed), and the AF
monitor's model and its multipliers (``LABEL_MULTIPLIERS``) were fitted and validated on that
model's labels. Averaging changes how the probabilities are spread: refitted on the averaged
labels, the AF model's held-out CinC 2017 F1 was 0.789 against 0.804 (seen before this choice
was made: see the README).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier

FloatArray = npt.NDArray[np.float64]
AF_MEMBER = 0


class Ensemble:
    """Members with the same classes; ``predict_proba`` is the mean of theirs."""

    def __init__(self, members: Sequence[HistGradientBoostingClassifier]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        classes = [tuple(np.asarray(m.classes_).tolist()) for m in members]
        if len(set(classes)) != 1:
            raise ValueError(f"members learnt different classes: {sorted(set(classes))}")
        self.members = tuple(members)
        self.classes_ = np.asarray(members[0].classes_)

    def predict_proba(self, x: npt.ArrayLike) -> FloatArray:
        rows = np.asarray(x)
        return np.asarray(np.mean([m.predict_proba(rows) for m in self.members], axis=0))

    def af_proba(self, x: npt.ArrayLike) -> FloatArray:
        """The probabilities the AF monitor's labels are made from: the first member's."""
        return np.asarray(self.members[AF_MEMBER].predict_proba(np.asarray(x)))
