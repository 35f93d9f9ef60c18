"""The model card written beside the ONNX file: what it learnt from, how it scored, its hash."""

from __future__ import annotations

import hashlib
import platform
from datetime import date
from importlib.metadata import version

import numpy as np

from app.analysis.af_features import LABEL_MULTIPLIERS
from app.inference.features import (
    CLUSTER_AMPLITUDE,
    CLUSTER_BEATS,
    CLUSTER_MATCH,
    FEATURE_NAMES,
    FEATURE_VERSION,
)
from training.beats.dataset import STREAM_CONTEXT_S
from training.beats.fit import (
    CONFIDENT_N,
    FOLDS,
    KEEP_ONE_NORMAL_IN,
    MEMBERS,
    S_WEIGHTS,
    TARGETS,
    TRAIN_ON_STREAMED,
    V_WEIGHTS,
    Choice,
)
from training.beats.metrics import Summary, counts, percent, summarise

LIBRARIES = ("numpy", "scipy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime")
ECTOPY = {"V": "VEB", "S": "SVEB"}  # EC57's names of the classes scored


def write_card(
    onnx_bytes: bytes,
    choice: Choice,
    names: list[str],
    matrices: list[np.ndarray],
    command: str,
    *,
    model_only: Summary | None = None,
    streaming: Summary | None = None,
) -> str:
    """The card's text; ``choice`` and ``matrices`` (per record, out-of-fold) score the calls
    as ``classify_beats`` makes them; ``model_only`` the model's calls without the AF step,
    and ``streaming`` those from the worker's streamed features."""
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    strict = summarise(matrices, strict=True)
    weights = ", ".join(f"{c} × {w:g}" for c, w in zip("NSVF", choice.weights, strict=True))
    af_weights = ", ".join(f"{c} × {LABEL_MULTIPLIERS[c]:g}" for c in "NSVF")
    held_out = "one whole record" if len(names) == FOLDS else "whole records"
    targets = ", ".join(f"{ECTOPY[c]} {se:g} / {ppv:g}" for c, (se, ppv) in TARGETS.items())
    nested = [] if choice.nested is None else [
        _row("gross, nested (EC57)", choice.nested),
        _average_row("average, nested (EC57)", choice.nested),
    ]  # fmt: skip
    alone = [] if model_only is None else [
        _row("gross, model only (EC57)", model_only),
        _average_row("average, model only (EC57)", model_only),
    ]  # fmt: skip
    streamed = [] if streaming is None else [
        _row(f"gross, model only, streaming C = {STREAM_CONTEXT_S:g} s", streaming),
        _average_row(f"average, model only, streaming C = {STREAM_CONTEXT_S:g} s", streaming),
    ]  # fmt: skip
    trained_on = (
        "the whole-record features and the same beats' features as streamed with a "
        f"{STREAM_CONTEXT_S:g}-s context"
        if TRAIN_ON_STREAMED
        else "the whole-record features"
    )
    lines = [
        "# Beat classifier (AAMI N / S / V / F; Q when a beat cannot be judged)",
        "",
        f"- File: `beat_classifier.onnx`, {len(onnx_bytes):,} bytes",
        f"- SHA-256: `{digest}`",
        f"- Built: {date.today().isoformat()}, by `{command}`",
        f"- Features: `{FEATURE_VERSION}`, {len(FEATURE_NAMES)} per beat "
        "(`app/inference/features.py`)",
        "- Libraries: "
        + ", ".join(f"{name} {version(name)}" for name in LIBRARIES)
        + f", Python {platform.python_version()}",
        "",
        "## Data",
        "",
        "MIT-BIH Arrhythmia Database, the 22 DS1 records of de Chazal et al. (2004): "
        + ", ".join(names)
        + ". MLII lead at 360 Hz, the reference (`.atr`) beat positions and labels mapped to "
        "AAMI classes (N = N L R e j B; S = A a J S; V = V E; F = F; Q = / f Q, not learnt). "
        "No DS2 record was used for anything.",
        "",
        "## Model",
        "",
        f"{MEMBERS} scikit-learn HistGradientBoostingClassifiers (each 100 rounds × 4 "
        "classes, 15 leaves, min 100 beats per leaf, L2 10, half the features per split, "
        f"balanced class weights), each fitted on {trained_on} of every abnormal beat and its "
        f"own seeded draw of 1 in {KEEP_ONE_NORMAL_IN} of the normal ones, its trees seeded "
        "apart; converted with skl2onnx into one graph. The first member labels every beat; "
        f"the beats it gives an N probability under {CONFIDENT_N:g} are also put to the other "
        "two, and their probabilities are the three members' mean (the others keep the first "
        "member's; in the grouped CV of five seeds this changed no call and spared four "
        "beats in five the other two members). "
        "The call, with "
        f"multipliers {weights} on the probabilities (rule and multipliers stored in the ONNX "
        "metadata): V when its weighted probability is the largest with S left at × 1, "
        "otherwise the class with the largest weighted probability, so that the S multiplier "
        "trades S against N only (`call_indices`). `classify_beats` then makes the S calls "
        "inside atrial fibrillation N (`normal_in_af`: the AF monitor driven through the "
        "record with the labels of the first member alone, at the AF monitor's own "
        f"multipliers {af_weights}: the model and labels its model was fitted on; MIT-BIH "
        "labels beats in AF N). The "
        "multipliers were chosen by grouped CV on those final calls, over "
        f"S × {min(S_WEIGHTS):g}–{max(S_WEIGHTS):g} and "
        f"V × {min(V_WEIGHTS):g}–{max(V_WEIGHTS):g}: the pair whose gross VEB and SVEB Se "
        f"and +P come nearest all four targets at once ({targets}; the largest worst "
        "margin).",
        "",
        "## Features",
        "",
        "RR intervals as ratios only (pre, post, the 10 and 60 preceding RR, the record's "
        "median RR); rhythm context over the 20 and 40 preceding beats (irregularity, "
        "fraction of successive differences > 50 ms, coefficient of variation, fraction of "
        "premature beats: atrial fibrillation is labelled N in MIT-BIH); the 0.5–40 Hz "
        "band-passed beat from −250 to +440 ms every 20 ms, scaled by the record's median QRS "
        "amplitude; its QRS difference from the record's median (dominant) beat; "
        "correlations, QRS width, area, slope and energy ratios and polarity against the "
        "dominant beat; P-wave energy (−250 to −120 ms) against the dominant beat's and the "
        "mean P-segment correlation of the 20 preceding beats; the beat's morphology "
        f"cluster (the beats within {CLUSTER_BEATS} either side whose QRS matches it: "
        f"correlation ≥ {CLUSTER_MATCH:g}, amplitude within × {CLUSTER_AMPLITUDE:g}–"
        f"{1 / CLUSTER_AMPLITUDE:.2f}), its share of those beats, their median RR ratios and "
        "the share of them that came early. Record-level statistics are over what the "
        "caller passes (the whole record, or the recent context when streaming).",
        "",
        "## Evaluation: grouped cross-validation inside DS1",
        "",
        f"{FOLDS} folds, {held_out} left out per fold (never trained and tested on "
        "the same record); the first 5 minutes of every record are not scored (EC57). "
        "EC57 counting: reference F or Q called V is not a VEB false positive, reference Q "
        "called S is not an SVEB false positive; the strict row counts every wrong call. "
        "Rows score what `classify_beats` returns (the model, then the AF step) unless "
        "they say model only. Plain rows use the shipped multipliers, chosen on all the "
        "out-of-fold predictions (optimistic); nested rows score each fold with the "
        "multipliers chosen on the other folds' records only (fold choices: "
        + "; ".join("/".join(f"{w:g}" for w in fw[1:3]) for fw in choice.fold_weights)
        + " for S/V). Streaming rows: every beat's features computed from the context the "
        f"inference worker passes ({STREAM_CONTEXT_S:g} s of ECG ending 1–2 s after the "
        "beat, `app/inference/streaming.py`), scored with the shipped multipliers. The AF "
        "monitor's model was fitted on CinC 2017 only, never on MIT-BIH.",
        "",
        "| statistic | VEB Se | VEB +P | SVEB Se | SVEB +P |",
        "|---|---|---|---|---|",
        _row("gross (EC57)", choice.summary),
        _average_row("average (EC57)", choice.summary),
        *nested,
        *alone,
        *streamed,
        _row("gross (strict)", strict),
        "",
        "Per record (out-of-fold, as `classify_beats` calls them):",
        "",
        "| record | V ref | V TP | V FP | VEB Se | VEB +P "
        "| S ref | S TP | S FP | SVEB Se | SVEB +P |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_record_row(name, m) for name, m in zip(names, matrices, strict=True)),
        "",
        "## Limitations",
        "",
        "- 22 patients only; SVEB rests on a handful of records (209, 207, 118, 220, 223, "
        "201) and F beats almost all come from record 208, so F is rarely called correctly.",
        "- The plain rows' multipliers were chosen on the same out-of-fold predictions "
        "that are reported (optimistic); the nested rows are the fairer estimate. "
        + _fold_agreement(choice, names),
        "- Streaming (the worker's per-bed context) differs from whole-record features: "
        "the record-level statistics come from the context only; see the streaming rows.",
        "- Atrial fibrillation and very noisy records (201, 203) are where S false positives "
        "come from before the AF step; they (AF with aberrant conduction, noise) and 108 "
        "(large P waves, noise) draw most V false positives. The AF step costs about "
        "0.5 ms per beat (the AF monitor), over ten times the "
        "model's own cost; the inference worker does not run it (the station's analysis "
        "makes S calls N while its own AF monitor is in AF).",
        "- Trained on MLII at 360 Hz; other leads and rates are resampled to the same 10-ms "
        "grid but were not validated. Paced rhythms were never seen.",
        "",
    ]
    return "\n".join(lines)


def _fold_agreement(choice: Choice, names: list[str]) -> str:
    """How many folds chose the shipped multipliers, and what the others chose."""
    shipped = tuple(float(w) for w in choice.weights)
    others = [
        f"{', '.join(names[k::FOLDS])} held out: S × {w[1]:g}, V × {w[2]:g}"
        for k, w in enumerate(choice.fold_weights)
        if w != shipped
    ]
    agreed = len(choice.fold_weights) - len(others)
    text = f"{agreed} of {len(choice.fold_weights)} folds chose the shipped multipliers"
    return text + (f" (otherwise: {'; '.join(others)})." if others else ".")


def _row(label: str, summary: Summary) -> str:
    v, s = summary.gross["V"], summary.gross["S"]
    return f"| {label} | {percent(v.se)} | {percent(v.ppv)} | {percent(s.se)} | {percent(s.ppv)} |"


def _average_row(label: str, summary: Summary) -> str:
    se, ppv = summary.average_se, summary.average_ppv
    values = (se["V"], ppv["V"], se["S"], ppv["S"])
    return f"| {label} | " + " | ".join(percent(v) for v in values) + " |"


def _record_row(name: str, matrix: np.ndarray) -> str:
    v, s = counts(matrix, "V"), counts(matrix, "S")
    cells = (
        name, v.tp + v.fn, v.tp, v.fp, percent(v.se), percent(v.ppv),
        s.tp + s.fn, s.tp, s.fp, percent(s.se), percent(s.ppv),
    )  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"
