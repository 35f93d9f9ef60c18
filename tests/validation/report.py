"""Plain-text tables of EC57 results; each writer also returns its summary numbers."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Protocol, TextIO

from tests.validation.scoring import AfCounts, BeatCounts, ratio

Summary = dict[str, object]


class BeatRecord(Protocol):
    @property
    def record(self) -> str: ...
    @property
    def lead(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def vf_seconds(self) -> float: ...
    @property
    def whole(self) -> BeatCounts: ...
    @property
    def after_learning(self) -> BeatCounts | None: ...
    @property
    def qrs_cpu_s(self) -> float: ...
    @property
    def af_whole(self) -> AfCounts: ...
    @property
    def af_after_learning(self) -> AfCounts | None: ...
    @property
    def af_cpu_s(self) -> float: ...


class CincRecord(Protocol):
    @property
    def record(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def called_af(self) -> bool: ...
    @property
    def cpu_s(self) -> float: ...


def pct(value: float | None, width: int = 7) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:{width}.2f}"


def rates(counts: BeatCounts) -> Summary:
    return {"tp": counts.tp, "fn": counts.fn, "fp": counts.fp, "se": counts.se, "ppv": counts.ppv}


def average(values: Sequence[float | None]) -> float | None:
    """EC57's average statistic: the mean over records that have one."""
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _counts_cells(counts: BeatCounts | None) -> str:
    if counts is None:
        return f"{'(record shorter than 5 min)':>42}"
    return (
        f"{counts.reference:7d} {counts.tp:6d} {counts.fn:5d} {counts.fp:5d}"
        f"{pct(counts.se)}{pct(counts.ppv)}"
    )


def write_beat_table(results: Sequence[BeatRecord], out: TextIO) -> Summary:
    excluded = [f"{r.record} ({r.vf_seconds:.1f} s)" for r in results if r.vf_seconds > 0]
    out.write("EC57 beat detection: app.analysis.qrs.detect_qrs, 150 ms match window\n")
    out.write("Lead: MLII, or the record's first signal when it has no MLII.\n")
    out.write(
        "Ventricular flutter/fibrillation episodes ([ .. ]) are excluded from scoring: "
        f"{', '.join(excluded) or 'none in these records'}.\n\n"
    )
    head = f"{'beats':>7} {'TP':>6} {'FN':>5} {'FP':>5}{'Se%':>7}{'+P%':>7}"
    out.write(f"{'':13}{'whole record':^42} | {'from minute 5 (EC57)':^42}\n")
    out.write(f"{'record':<7}{'lead':<6}{head} | {head}\n")
    for r in results:
        out.write(
            f"{r.record:<7}{r.lead[:5]:<6}{_counts_cells(r.whole)} | "
            f"{_counts_cells(r.after_learning)}\n"
        )
    whole = sum((r.whole for r in results), BeatCounts())
    long_enough = [r.after_learning for r in results if r.after_learning]
    late = sum(long_enough, BeatCounts())
    out.write(
        f"{'gross':<13}{_counts_cells(whole)} | {_counts_cells(late if long_enough else None)}\n"
    )
    averages = {
        "whole": (average([r.whole.se for r in results]), average([r.whole.ppv for r in results])),
        "after_learning": (
            average([r.after_learning.se for r in results if r.after_learning]),
            average([r.after_learning.ppv for r in results if r.after_learning]),
        ),
    }
    blank = " " * 25
    out.write(
        f"{'average':<13}{blank}{pct(averages['whole'][0])}{pct(averages['whole'][1])} | "
        f"{blank}{pct(averages['after_learning'][0])}{pct(averages['after_learning'][1])}\n"
    )
    hours = sum(r.seconds for r in results) / 3600.0
    cpu = sum(r.qrs_cpu_s for r in results)
    out.write(
        f"\nCPU: {cpu / hours:.2f} s per hour of ECG for detect_qrs ({cpu:.1f} s over "
        f"{hours:.2f} h, process time).\n\n"
    )
    return {
        "gross_whole": rates(whole),
        "gross_after_learning": rates(late),
        "average_whole": {"se": averages["whole"][0], "ppv": averages["whole"][1]},
        "average_after_learning": {
            "se": averages["after_learning"][0],
            "ppv": averages["after_learning"][1],
        },
        "cpu_s_per_hour": cpu / hours if hours else None,
    }


def af_rates(counts: AfCounts) -> Summary:
    return {
        "duration_se": counts.duration_se,
        "duration_ppv": counts.duration_ppv,
        "episode_se": counts.episode_se,
        "episode_ppv": counts.episode_ppv,
        "reference_s": counts.reference_s,
        "detected_s": counts.detected_s,
    }


def write_af_table(results: Sequence[BeatRecord], out: TextIO) -> Summary:
    out.write("EC57 AF detection: app.analysis.rhythm.af_episodes against the reference (AFIB\n")
    out.write(
        "Reference AF is (AFIB only. Detected AF inside reference (AFL is not counted against "
        "+P (as WFDB's epic does):\nflutter is not AF, but calling it AF is not a false alarm.\n"
    )
    out.write(
        f"{'record':<8}{'ref AF s':>9}{'det AF s':>9}{'both s':>8}"
        f"{'dur Se%':>8}{'dur +P%':>8}{'ref ep':>7}{'det ep':>7}\n"
    )
    for r in results:
        c = r.af_whole
        if c.reference_s == 0 and c.detected_s == 0:
            continue
        out.write(
            f"{r.record:<8}{c.reference_s:9.1f}{c.detected_s:9.1f}{c.covered_s:8.1f}"
            f"{pct(c.duration_se, 8)}{pct(c.duration_ppv, 8)}{c.ref_episodes:7d}"
            f"{c.det_episodes:7d}\n"
        )
    whole = sum((r.af_whole for r in results), AfCounts())
    late = sum((r.af_after_learning for r in results if r.af_after_learning), AfCounts())
    for title, c in (("whole records", whole), ("from minute 5", late)):
        out.write(
            f"gross, {title}: duration Se {pct(c.duration_se, 0)} %  +P {pct(c.duration_ppv, 0)} %"
            f";  episode Se {pct(c.episode_se, 0)} %  +P {pct(c.episode_ppv, 0)} %\n"
        )
    free = [r for r in results if r.af_whole.reference_s == 0]
    false_s = sum(r.af_whole.detected_s for r in free)
    free_h = sum(r.seconds for r in free) / 3600.0
    hours = sum(r.seconds for r in results) / 3600.0
    cpu = sum(r.af_cpu_s for r in results)
    out.write(
        f"False AF in the {len(free)} records without reference AF: {false_s:.1f} s over "
        f"{free_h:.2f} h.\nCPU: {cpu / max(hours, 1e-9):.2f} s per hour of ECG for "
        "af_episodes (including its own QRS detection and beat labelling).\n\n"
    )
    return {
        "gross_whole": af_rates(whole),
        "gross_after_learning": af_rates(late),
        "false_af_s_in_af_free_records": false_s,
        "cpu_s_per_hour": cpu / hours if hours else None,
    }


def write_cinc_table(results: Sequence[CincRecord], out: TextIO) -> Summary:
    out.write(
        "PhysioNet/CinC 2017 subset: AF when af_episodes cover at least half of the record; "
        "reference REFERENCE-v1.csv (AF = A).\nTuned on the even-numbered records only; the "
        "odd-numbered half is held out.\n\n"
    )
    out.write(
        f"{'records':<22}{'n':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'TN':>6}{'Se%':>8}{'+P%':>8}"
        f"{'F1':>7}   called AF: of N / of O / of ~\n"
    )
    halves = {
        "tuning (even)": [r for r in results if int(r.record[1:]) % 2 == 0],
        "HELD-OUT (odd)": [r for r in results if int(r.record[1:]) % 2 == 1],
        "all": list(results),
    }
    summary: Summary = {}
    for title, group in halves.items():
        summary[title] = _cinc_row(title, group, out)
    hours = sum(r.seconds for r in results) / 3600.0
    cpu = sum(r.cpu_s for r in results)
    out.write(
        f"\nCPU: {cpu:.1f} s for {len(results)} records ({hours:.2f} h of ECG): "
        f"{cpu / max(hours, 1e-9):.2f} s per hour, {1000 * cpu / max(len(results), 1):.1f} ms "
        "per record, af_episodes including its QRS detection and beat labelling.\n"
    )
    summary["cpu_s_per_hour"] = cpu / hours if hours else None
    return summary


def _cinc_row(title: str, group: Sequence[CincRecord], out: TextIO) -> Summary:
    tp = sum(r.called_af and r.label == "A" for r in group)
    fp = sum(r.called_af and r.label != "A" for r in group)
    fn = sum(not r.called_af and r.label == "A" for r in group)
    tn = len(group) - tp - fp - fn
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    per_class = {
        label: (
            sum(r.called_af for r in group if r.label == label),
            sum(r.label == label for r in group),
        )
        for label in "NO~"
    }
    cells = " / ".join(f"{k}/{n}" for k, n in per_class.values())
    out.write(
        f"{title:<22}{len(group):6d}{tp:5d}{fp:5d}{fn:5d}{tn:6d}{pct(ratio(tp, tp + fn), 8)}"
        f"{pct(ratio(tp, tp + fp), 8)}{'' if f1 is None else f'{f1:7.3f}'}   {cells}\n"
    )
    return {
        "n": len(group),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "se": ratio(tp, tp + fn),
        "ppv": ratio(tp, tp + fp),
        "f1": f1,
        "called_af_of_class": {k: {"called": c, "total": n} for k, (c, n) in per_class.items()},
    }
