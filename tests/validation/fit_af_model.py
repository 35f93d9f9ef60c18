"""Re-derive the AF models in ``app.analysis.atrial_fibrillation`` from the data: ``MODEL``
(with the beat classifier's labels) and ``MODEL_WITHOUT_LABELS``.

    python -m tests.validation.fit_af_model [--cinc2017 DIR] [--cv FOLDS [--splits N]]

Only the **even-numbered** records of the PhysioNet/CinC 2017 subset are read (A00002,
A00004, ...); the odd ones stay held out for ``python -m tests.validation.ec57 --cinc2017``.
Each record is run through the real monitor, its beats labelled by the shipped beat classifier
as the inference worker labels them; every window verdict gives one feature vector, labelled by
the record's label (AF = "A" in REFERENCE-v1.csv). The model without labels is fitted on the
same verdicts' ``UNLABELLED_FEATURES``. A logistic model is fitted by
Newton's method with a small ridge penalty on standardised features, each record weighing
the same however many verdicts it has. The hysteresis (p_on, p_off, confirm, release) is then
chosen by F1 on the same records, scored the way the harness scores them (AF when episodes
cover at least half of the record). The result is printed ready to paste, with the shipped
model's F1 on the same records for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.analysis.af_features import LABEL_MULTIPLIERS
from app.analysis.atrial_fibrillation import (
    FEATURES,
    MODEL,
    MODEL_WITHOUT_LABELS,
    UNLABELLED_FEATURES,
    AfEvent,
    AfModel,
    AfMonitor,
    Decision,
    EpisodeTracker,
    episodes_from_events,
    run_monitor,
)
from app.analysis.qrs import detect_qrs
from app.inference.model import default_model
from app.inference.streaming import CONTEXT_S, streamed_labels
from drivers.wfdb.record import read_record
from tests.validation.datasets import cinc_labels, default_data_dir

FloatArray = npt.NDArray[np.float64]
RIDGE = 1.0  # on standardised features, against a total weight of one per record
P_ON = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
HYSTERESIS = (0.0, 0.1, 0.2)  # p_off = p_on - this
RUNS = (1, 2, 3)


# Verdicts do not depend on the model, only episodes do: collect them with a neutral one.
NEUTRAL = AfModel((0.0,) * len(FEATURES), 0.0, 0.5, 0.5, 1, 1)


class RecordingMonitor(AfMonitor):
    """The shipped monitor, keeping every verdict it makes."""

    def __init__(self, fs: float) -> None:
        super().__init__(fs, NEUTRAL)
        self.decisions: list[Decision] = []

    def decide(self, decision: Decision) -> list[AfEvent]:
        self.decisions.append(decision)
        return super().decide(decision)


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    af: bool
    n_samples: int
    fs: float
    decisions: list[Decision]


def load(directory: Path, every: bool = False) -> list[Record]:
    """The even-numbered records (all of them with ``every``), run through the monitor."""
    labels = cinc_labels(directory)
    beat_model = default_model()
    records = []
    for name in sorted(labels):
        if int(name[1:]) % 2 and not every:
            continue
        wfdb = read_record(directory / name)
        ecg = wfdb.physical(0)
        monitor = RecordingMonitor(wfdb.fs)
        beats = detect_qrs(ecg, wfdb.fs)
        beat_labels = streamed_labels(
            beat_model, ecg, wfdb.fs, beats, CONTEXT_S, af=LABEL_MULTIPLIERS
        )
        run_monitor(monitor, ecg, beats, beat_labels)
        records.append(Record(name, labels[name] == "A", ecg.size, wfdb.fs, monitor.decisions))
    return records


def fit_logistic(x: FloatArray, y: FloatArray, weight: FloatArray) -> tuple[FloatArray, float]:
    """Weighted ridge logistic regression by Newton's method; weights in raw feature units."""
    mean = np.average(x, axis=0, weights=weight)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=weight)) + 1e-12
    z = np.hstack([(x - mean) / scale, np.ones((x.shape[0], 1))])
    beta = np.zeros(z.shape[1])
    penalty = RIDGE * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -50, 50)))
        gradient = z.T @ (weight * (y - p)) - penalty @ beta
        hessian = z.T @ (z * (weight * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    weights = beta[:-1] / scale
    return weights, float(beta[-1] - weights @ mean)


def f1_score(records: list[Record], model: AfModel) -> tuple[float, int, int, int]:
    """(F1, TP, FP, FN) for AF, a record being AF when episodes cover half of it."""
    tp = fp = fn = 0
    for record in records:
        tracker = EpisodeTracker(model, record.fs)
        events: list[AfEvent] = []
        for decision in record.decisions:
            probability = model.probability(decision.features[: len(model.weights)])
            events += tracker.update(replace(decision, probability=probability))
        events += tracker.close(record.n_samples)
        covered = sum(b - a for a, b in episodes_from_events(events, record.n_samples))
        called = 2 * covered >= record.n_samples
        tp += called and record.af
        fp += called and not record.af
        fn += record.af and not called
    return 2 * tp / max(2 * tp + fp + fn, 1), tp, fp, fn


def fit(
    records: list[Record], features: int = len(FEATURES), runs: tuple[int, ...] = RUNS
) -> AfModel:
    """The model over the first ``features`` of each verdict; ``runs`` are the confirm and
    release counts tried."""
    rows = [
        (d.features[:features], r.af, 1.0 / len(r.decisions)) for r in records for d in r.decisions
    ]
    x = np.array([row[0] for row in rows])
    y = np.array([float(row[1]) for row in rows])
    weight = np.array([row[2] for row in rows])
    weights, intercept = fit_logistic(x, y, weight)
    base = AfModel(tuple(np.round(weights, 4).tolist()), round(intercept, 4), 0.5, 0.5, 1, 1)
    best: tuple[float, AfModel] = (-1.0, base)
    for p_on, gap, confirm, release in itertools.product(P_ON, HYSTERESIS, runs, runs):
        model = replace(
            base, p_on=p_on, p_off=round(p_on - gap, 2), confirm=confirm, release=release
        )
        score = f1_score(records, model)[0]
        if score > best[0] + 1e-9:  # ties keep the earlier, simpler setting
            best = (score, model)
    return best[1]


def cross_validate(
    records: list[Record], features: int, folds: int, seed: int
) -> tuple[float, int, int, int]:
    """Pooled out-of-fold (F1, TP, FP, FN) of ``fit`` over records split at random into
    ``folds`` (confirm = release = 1, to keep it quick): each fold scored by a model fitted
    and thresholded on the others only."""
    fold = np.random.default_rng(seed).permutation(len(records)) % folds
    tp = fp = fn = 0
    for k in range(folds):
        train = [r for r, f in zip(records, fold, strict=True) if f != k]
        test = [r for r, f in zip(records, fold, strict=True) if f == k]
        _, a, b, c = f1_score(test, fit(train, features, runs=(1,)))
        tp, fp, fn = tp + a, fp + b, fn + c
    return 2 * tp / max(2 * tp + fp + fn, 1), tp, fp, fn


def report_cv(directory: Path, folds: int, splits: int) -> None:
    """Cross-validation over every record of the subset, both models, ``splits`` seeds."""
    records = load(directory, every=True)
    out = sys.stdout
    out.write(f"{folds}-fold cross-validation over all {len(records)} records, F1 per split\n")
    for title, features in (("MODEL", len(FEATURES)), ("without labels", len(UNLABELLED_FEATURES))):
        scores = [cross_validate(records, features, folds, seed)[0] for seed in range(splits)]
        text = " ".join(f"{score:.3f}" for score in scores)
        out.write(
            f"  {title:<15} mean {np.mean(scores):.3f} median {np.median(scores):.3f}: {text}\n"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cinc2017", type=Path, default=default_data_dir() / "cinc2017")
    parser.add_argument("--cv", type=int, metavar="FOLDS", help="cross-validate instead")
    parser.add_argument("--splits", type=int, default=9, help="random splits for --cv")
    args = parser.parse_args(argv)
    if args.cv:
        report_cv(args.cinc2017, args.cv, args.splits)
        return 0
    records = load(args.cinc2017)
    out = sys.stdout
    out.write(f"{len(records)} even-numbered records, {sum(r.af for r in records)} with AF\n")
    for title, names, shipped in (
        ("MODEL", FEATURES, MODEL),
        ("MODEL_WITHOUT_LABELS", UNLABELLED_FEATURES, MODEL_WITHOUT_LABELS),
    ):
        model = fit(records, len(names))
        out.write(f"{title}\n")
        for name, weight in zip(names, model.weights, strict=True):
            out.write(f"  {name:<18} {weight:+.4f}\n")
        out.write(f"  {'intercept':<18} {model.intercept:+.4f}\n")
        out.write(f"fitted : F1 {f1_score(records, model)[0]:.3f}  {model!r}\n")
        out.write(f"shipped: F1 {f1_score(records, shipped)[0]:.3f}  {shipped!r}\n")
        out.write("shipped model matches\n" if model == shipped else "shipped model DIFFERS\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
