"""The EC57 harness: its matching and episode arithmetic on cases with known answers, and a
full run on the MIT-BIH excerpts shipped in tests/data/mitdb."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.analysis.qrs import detect_qrs
from drivers.wfdb.annotations import read_annotations
from tests.validation.datasets import read_mit_record, record_names, rhythm_intervals, vf_intervals
from tests.validation.ec57 import RecordResult, main, score_record
from tests.validation.matching import match_beats
from tests.validation.report import average
from tests.validation.scoring import AfCounts, BeatCounts, overlap, score_af, score_beats
from tests.validation.synthetic import af_strip, sinus_strip, trigeminy_strip

EXCERPTS = Path(__file__).resolve().parents[1] / "data" / "mitdb"
SHIPPED = sorted(p.stem for p in EXCERPTS.glob("*.hea"))


def test_excerpts_are_shipped() -> None:
    assert len(SHIPPED) >= 3


def test_matching_counts_a_known_case() -> None:
    reference = np.array([100, 400, 700, 1000, 1300])
    # 402 and 705 match; 1000 is missed; 1150 is 150 samples from 1300 (outside 54);
    # 95 matches 100; 520 matches nothing.
    detected = np.array([95, 402, 520, 705, 1150])
    match = match_beats(reference, detected, 54)
    assert (match.true_positives, match.false_negatives, match.false_positives) == (3, 2, 2)
    assert match.matched_reference.tolist() == [True, True, True, False, False]


def test_one_detection_cannot_match_two_beats() -> None:
    match = match_beats(np.array([100, 110]), np.array([105]), 20)
    assert (match.true_positives, match.false_negatives, match.false_positives) == (1, 1, 0)


def test_beats_inside_ventricular_flutter_are_not_scored() -> None:
    reference = np.array([100, 500, 900, 1300])
    detected = np.array([100, 520, 610, 700, 1300])  # 610 and 700 fall in the flutter
    counts = score_beats(reference, detected, 360.0, excluded=[(550, 1000)])
    assert counts == BeatCounts(tp=3, fn=0, fp=0)
    assert score_beats(reference, detected, 360.0, excluded=[]) == BeatCounts(3, 1, 2)


def test_the_learning_period_is_left_out() -> None:
    reference = np.array([100, 500, 900, 1300])
    detected = np.array([300, 500, 1300])
    assert score_beats(reference, detected, 360.0, [], start=0) == BeatCounts(2, 2, 1)
    assert score_beats(reference, detected, 360.0, [], start=400) == BeatCounts(2, 1, 0)


def test_rates_are_percentages_and_missing_when_undefined() -> None:
    assert BeatCounts(3, 1, 0).se == 75.0
    assert BeatCounts(3, 1, 1).ppv == 75.0
    assert BeatCounts().se is None
    assert BeatCounts().ppv is None
    assert average([None, 50.0, 100.0]) == 75.0
    assert average([None]) is None


def test_annotation_intervals_are_read_as_episodes() -> None:
    assert vf_intervals([10, 20, 30, 40, 50], ["N", "[", "!", "]", "["], 99) == [
        (20, 40),
        (50, 99),
    ]
    changes = [(0, "(N"), (100, "(AFIB"), (200, "(AFIB"), (300, "(AFL"), (400, "(AFIB")]
    assert rhythm_intervals(changes, "(AFIB", 500) == [(100, 300), (400, 500)]
    assert rhythm_intervals(changes, "(AFL", 500) == [(300, 400)]


def test_af_duration_and_episodes_follow_epic() -> None:
    fs = 10.0
    reference = [(0, 1000), (2000, 2500)]
    flutter = [(3000, 3500)]
    detected = [(500, 1200), (3000, 3400), (4000, 4100)]
    counts = score_af(reference, flutter, detected, (0, 5000), fs)
    assert counts.reference_s == 150.0
    assert counts.covered_s == 50.0  # 500-1000
    assert counts.detected_s == 80.0  # 700 + 100; the 400 inside flutter do not count
    assert counts.true_s == 50.0
    assert (counts.ref_episodes, counts.ref_found) == (2, 1)
    assert (counts.det_episodes, counts.det_true) == (2, 1)  # the flutter one is left out
    assert math.isclose(counts.duration_se or 0, 100 / 3)
    assert math.isclose(counts.duration_ppv or 0, 62.5)
    late = score_af(reference, flutter, detected, (900, 5000), fs)
    assert late.reference_s == 60.0
    assert late.covered_s == 10.0


def test_af_counts_add_up() -> None:
    a = AfCounts(1.0, 0.5, 2.0, 0.5, 1, 1, 2, 1)
    b = AfCounts(3.0, 3.0, 1.0, 1.0, 2, 2, 1, 1)
    total = a + b
    assert total == AfCounts(4.0, 3.5, 3.0, 1.5, 3, 3, 3, 2)
    assert total.duration_se == 87.5
    assert total.duration_ppv == 50.0


def test_overlap_of_interval_lists() -> None:
    assert overlap([(0, 10), (20, 30)], [(5, 25)]) == 10
    assert overlap([(0, 10)], [(10, 20)]) == 0


@pytest.fixture(scope="module")
def results() -> list[RecordResult]:
    return [score_record(EXCERPTS / name) for name in SHIPPED]


def test_the_detector_finds_the_excerpts_beats(results: list[RecordResult]) -> None:
    for result in results:
        assert result.lead == "MLII"
        assert result.after_learning is None  # five-minute excerpts: no beat after minute 5
        se, ppv = result.whole.se, result.whole.ppv
        assert se is not None, result.record
        assert se >= 99.0, result.record
        assert ppv is not None, result.record
        assert ppv >= 99.0, result.record
        assert result.qrs_cpu_s >= 0.0
        assert result.af_cpu_s >= 0.0


def test_flutter_is_excluded_where_the_reference_marks_it(results: list[RecordResult]) -> None:
    by_name = {r.record: r for r in results}
    assert "207x" in by_name, "the 207 excerpt (ventricular flutter) must ship in tests/data"
    flutter = by_name["207x"]
    assert flutter.vf_seconds > 60.0
    record = read_mit_record(EXCERPTS / "207x")
    detected = detect_qrs(record.ecg, record.fs)
    counted = score_beats(record.beats, detected, record.fs, record.vf)
    unexcluded = score_beats(record.beats, detected, record.fs, [])
    assert flutter.whole == counted
    assert unexcluded.fp > counted.fp + 20  # the detector fires on flutter waves: not scored
    assert all(r.vf_seconds == 0.0 for r in results if r.record != "207x")


def test_af_is_found_where_the_reference_has_it(results: list[RecordResult]) -> None:
    by_name = {r.record: r for r in results}
    assert "201x" in by_name, "the 201 excerpt (AF) must ship in tests/data"
    af = by_name["201x"].af_whole
    assert af.reference_s > 30.0
    assert af.duration_se is not None
    assert af.duration_se >= 80.0
    for result in results:
        counts = result.af_whole
        for value in (counts.duration_se, counts.duration_ppv):
            assert value is None or 0.0 <= value <= 100.0
        assert 0.0 <= counts.covered_s <= counts.reference_s
        assert 0.0 <= counts.true_s <= counts.detected_s + 1e-9
        for start, end in result.af_episodes:
            assert 0 <= start < end <= round(result.seconds * 360.0)


def test_the_command_prints_tables_and_writes_consistent_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ec57.json"
    assert main(["--db", str(EXCERPTS), "--records", *SHIPPED, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "excluded from scoring" in printed
    assert all(name in printed for name in SHIPPED)
    assert "gross" in printed
    assert "average" in printed
    assert "CPU" in printed
    numbers = json.loads(out.read_text())
    records = numbers["records"]
    gross = numbers["beats"]["gross_whole"]
    for field in ("tp", "fn", "fp"):
        assert gross[field] == sum(r["whole"][field] for r in records)
    assert gross["se"] == pytest.approx(100.0 * gross["tp"] / (gross["tp"] + gross["fn"]))
    per_record_se = [
        100.0 * r["whole"]["tp"] / (r["whole"]["tp"] + r["whole"]["fn"]) for r in records
    ]
    assert numbers["beats"]["average_whole"]["se"] == pytest.approx(np.mean(per_record_se))
    af = numbers["af"]["gross_whole"]
    assert af["reference_s"] == pytest.approx(sum(r["af_whole"]["reference_s"] for r in records))


def test_records_default_to_the_folder_listing(tmp_path: Path) -> None:
    for name in ("b", "a"):
        (tmp_path / f"{name}.hea").write_text("x 1 360 0\n")
    assert record_names(tmp_path, None) == ["a", "b"]
    (tmp_path / "RECORDS").write_text("b\n")
    assert record_names(tmp_path, None) == ["b"]
    assert record_names(tmp_path, ["c"]) == ["c"]


def test_reference_flutter_marks_in_the_excerpt_are_those_of_the_atr_file() -> None:
    assert "207x" in SHIPPED, "the 207 excerpt must ship in tests/data"
    annotations = read_annotations(EXCERPTS / "207x", "atr")
    record = read_mit_record(EXCERPTS / "207x")
    starts = [
        int(s) for s, y in zip(annotations.samples, annotations.symbols, strict=True) if y == "["
    ]
    assert [a for a, _ in record.vf] == starts


def write_format16(folder: Path, name: str, ecg: np.ndarray, fs: float) -> None:
    """A one-signal WFDB record in format 16, 1000 ADC units per mV, as CinC 2017 ships."""
    adc = np.round(ecg * 1000.0).astype("<i2")
    adc.tofile(folder / f"{name}.dat")
    header = f"{name} 1 {fs:g} {adc.size}\n{name}.dat 16 1000/mV 16 0 0 0 0 ECG\n"
    (folder / f"{name}.hea").write_text(header)


def test_the_cinc_mode_scores_af_by_record_and_by_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fs = 300.0
    strips = {
        "A00002": ("A", af_strip(30.0, fs, seed=21)),
        "A00003": ("N", sinus_strip(30.0, fs, seed=22)),
        "A00004": ("O", trigeminy_strip(30.0, fs, seed=23)),
        "A00005": ("A", af_strip(30.0, fs, seed=24)),
    }
    for name, (_, strip) in strips.items():
        write_format16(tmp_path, name, strip.ecg, fs)
    labels = "".join(f"{name},{label}\n" for name, (label, _) in strips.items())
    (tmp_path / "REFERENCE-v1.csv").write_text(labels)
    out = tmp_path / "cinc.json"
    assert main(["--cinc2017", str(tmp_path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "HELD-OUT (odd)" in printed
    assert "tuning (even)" in printed
    numbers = json.loads(out.read_text())
    called = {r["record"]: r["called_af"] for r in numbers["records"]}
    assert called == {"A00002": True, "A00003": False, "A00004": False, "A00005": True}
    summary = numbers["af"]
    assert summary["all"]["f1"] == 1.0
    assert summary["HELD-OUT (odd)"]["n"] == 2
    assert summary["tuning (even)"]["n"] == 2
    for group in ("all", "HELD-OUT (odd)", "tuning (even)"):
        row = summary[group]
        assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == row["n"]
    assert summary["all"]["called_af_of_class"]["O"] == {"called": 0, "total": 1}
