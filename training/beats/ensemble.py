"""Several boosted-tree models whose class probabilities are averaged.

Each member is fitted on every abnormal beat and its own draw of a quarter of the normal ones,
its trees seeded apart. Averaging them uses more of the normal beats and evens out the random
draws, which on 22 patients moved a held-out record's calls by several points (training.beats.
spread). The ONNX graph computes the same (``training.beats.export``).

The AF monitor's labels come from the first member alone (``af_proba``). It is fitted exactly as
the single model was before (the same draw of normal beats, the same tree seed), and the AF
monitor's model and its multipliers (``LABEL_MULTIPLIERS``) were fitted and validated on that
model's labels. Averaging changes how the probabilities are spread: refitted on the averaged
labels, the AF model's held-out CinC 2017 F1 was 0.789 against 0.804 (seen before this choice
was made: see the README).

The other members are asked only about the beats the first member is not sure are normal
(``gate``: its N probability under the gate); the rest keep the first member's
probabilities. Out of fold about four beats in five stop at the first member, so the other
two cost a fifth of what they would on every beat (``training.beats.fit.CONFIDENT_N``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier

from training.beats.dataset import CLASSES

FloatArray = npt.NDArray[np.float64]
AF_MEMBER = 0
NORMAL = CLASSES.index("N")  # the class whose confident calls the gate passes through


class Ensemble:
    """Members with the same classes; ``predict_proba`` is the mean of theirs on the rows the
    first member gives an N probability under ``gate`` (every row when None), the first
    member's elsewhere."""

    def __init__(
        self, members: Sequence[HistGradientBoostingClassifier], gate: float | None = None
    ) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if gate is not None and not 0.0 < gate <= 1.0:
            raise ValueError(f"the gate is a probability in (0, 1], not {gate}")
        classes = [tuple(np.asarray(m.classes_).tolist()) for m in members]
        if len(set(classes)) != 1:
            raise ValueError(f"members learnt different classes: {sorted(set(classes))}")
        self.members = tuple(members)
        self.classes_ = np.asarray(members[0].classes_)
        if gate is not None and NORMAL not in self.classes_:
            raise ValueError("a gated ensemble needs members that learnt class N")
        self.gate = gate
        self.normal_column = int(np.searchsorted(self.classes_, NORMAL))

    def predict_proba(self, x: npt.ArrayLike) -> FloatArray:
        rows = np.asarray(x)
        first = self.af_proba(rows)
        unsure = self.unsure(first)
        others = [m for i, m in enumerate(self.members) if i != AF_MEMBER]
        out = first.copy()
        if unsure.any():
            asked = [np.asarray(m.predict_proba(rows[unsure])) for m in others]
            out[unsure] = np.mean([first[unsure], *asked], axis=0)
        return out

    def unsure(self, first: FloatArray) -> npt.NDArray[np.bool_]:
        """The rows the other members are asked about, from the first member's probabilities:
        its N probability under the gate."""
        if self.gate is None:
            return np.ones(first.shape[0], dtype=np.bool_)
        return np.asarray(first[:, self.normal_column] < self.gate, dtype=np.bool_)

    def af_proba(self, x: npt.ArrayLike) -> FloatArray:
        """The probabilities the AF monitor's labels are made from: the first member's."""
        return np.asarray(self.members[AF_MEMBER].predict_proba(np.asarray(x)))
