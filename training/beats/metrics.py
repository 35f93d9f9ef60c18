"""EC57 beat-classification statistics for VEB and SVEB: gross (pooled) and average (per record).

Counting follows EC57 as de Chazal et al. (2004) apply it: a reference fusion (F) or
unclassifiable (Q) beat called V is not a VEB false positive, and a reference Q beat called S
is not an SVEB false positive. The strict figures count every wrong call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LABELS = ("N", "S", "V", "F", "Q")
NOT_FALSE_POSITIVE = {"V": ("F", "Q"), "S": ("Q",)}  # EC57's exceptions


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int
    fn: int
    fp: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    @property
    def se(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def ppv(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


def confusion(reference: npt.NDArray[np.str_], predicted: npt.NDArray[np.str_]) -> np.ndarray:
    """5 × 5 counts, rows the reference class and columns the call, in LABELS order."""
    matrix = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    ref = np.array([LABELS.index(c) for c in reference], dtype=np.int64)
    pred = np.array([LABELS.index(c) for c in predicted], dtype=np.int64)
    np.add.at(matrix, (ref, pred), 1)
    return matrix


def counts(matrix: np.ndarray, target: str, *, strict: bool = False) -> Counts:
    k = LABELS.index(target)
    excused = () if strict else NOT_FALSE_POSITIVE[target]
    fp_rows = [i for i, c in enumerate(LABELS) if c != target and c not in excused]
    tp = int(matrix[k, k])
    return Counts(tp, int(matrix[k].sum()) - tp, int(matrix[fp_rows, k].sum()))


@dataclass(frozen=True, slots=True)
class Summary:
    gross: dict[str, Counts]
    average_se: dict[str, float | None]
    average_ppv: dict[str, float | None]


def summarise(matrices: list[np.ndarray], *, strict: bool = False) -> Summary:
    """Gross statistics pool the beats; average ones take the mean of the records' values
    over the records where the value exists (EC57's "average" statistics)."""
    gross: dict[str, Counts] = {}
    average_se: dict[str, float | None] = {}
    average_ppv: dict[str, float | None] = {}
    for target in ("V", "S"):
        per_record = [counts(m, target, strict=strict) for m in matrices]
        gross[target] = sum(per_record, Counts(0, 0, 0))
        average_se[target] = _mean([c.se for c in per_record])
        average_ppv[target] = _mean([c.ppv for c in per_record])
    return Summary(gross, average_se, average_ppv)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.1f}"
