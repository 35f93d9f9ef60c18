"""The inference worker and its place in the analysis: batches from every bed, labels back in
beat order, the shape rule when a label is late, and a classifier that fails is said."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from app.alarms.engine import AlarmEngine
from app.analysis.atrial_fibrillation import AfEvent
from app.analysis.ecg_analyzer import LABEL_WAIT_S, EcgAnalyzer
from app.analysis.morphology import BeatClass
from app.analysis.rhythm import RhythmLabel
from app.analysis.service import AnalysisService
from app.inference import runtime
from app.inference.model import Calls, ModelUnavailableError
from app.inference.worker import BeatRequest, InferenceWorker
from app.model.ward import Ward
from app.station import Station
from drivers.base import DeviceEvent
from tests.fakes.fake_driver import FakeDriver
from tests.unit.sim_helpers import run
from tests.unit.test_analysis_service import Clock, play


class FixedLabels:
    """A labeller that calls every wanted beat ``label`` (``af_label`` at the AF monitor's
    multipliers) and records its batches."""

    def __init__(self, label: str = "N", af_label: str | None = None) -> None:
        self.label = label
        self.af_label = label if af_label is None else af_label
        self.batches: list[int] = []

    def __call__(self, requests: Sequence[BeatRequest]) -> list[Calls]:
        self.batches.append(len(requests))
        return [
            Calls(np.full(r.wanted.size, self.label), np.full(r.wanted.size, self.af_label))
            for r in requests
        ]


def failing(requests: Sequence[BeatRequest]) -> list[Calls]:
    raise RuntimeError("onnxruntime: bad input")


def request(bed: str, origin: int = 0, n: int = 5) -> BeatRequest:
    peaks = np.arange(1, n + 1, dtype=np.int64) * 300
    return BeatRequest(bed, np.zeros(2000), 250.0, origin, peaks, np.arange(n - 1, dtype=np.int64))


def test_one_batch_labels_every_bed_and_returns_each_its_own() -> None:
    calls = FixedLabels("V", "N")
    worker = InferenceWorker(calls)
    for bed in ("Bed 01", "Bed 02", "Bed 03"):
        assert worker.submit(request(bed, origin=1000))
    assert worker.run_pending() == 12
    assert calls.batches == [3]  # one batch for all beds
    back = worker.results("Bed 02")
    assert len(back) == 1
    assert list(back[0].samples) == [1300, 1600, 1900, 2200]
    assert list(back[0].labels) == ["V"] * 4
    assert list(back[0].af_labels) == ["N"] * 4  # the AF monitor's labels travel beside
    assert worker.results("Bed 02") == []  # taken once
    stats = worker.stats()
    assert (stats.batches, stats.beats, stats.backlog, stats.refused) == (1, 12, 0, 0)


def test_a_failing_batch_is_reported_and_the_next_one_clears_it() -> None:
    worker = InferenceWorker(failing)
    worker.submit(request("Bed 01"))
    assert worker.run_pending() == 0
    assert worker.failure == "beat classifier failed: onnxruntime: bad input"
    assert worker.results("Bed 01") == []
    worker._labeller = FixedLabels()
    worker.submit(request("Bed 01"))
    assert worker.run_pending() == 4
    assert worker.failure is None


def test_the_thread_labels_on_its_own_and_stops() -> None:
    worker = InferenceWorker(FixedLabels())
    worker.start()
    try:
        worker.submit(request("Bed 01"))
        deadline = time.monotonic() + 5.0
        while not (found := worker.results("Bed 01")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert found
        assert found[0].labels.size == 4
    finally:
        assert worker.stop()


def beats_of(analyzer: EcgAnalyzer, scenario: str, seconds: float) -> list[int]:
    """Feed a simulated ECG; the samples of the beats found."""
    sim = run(scenario, seconds)
    analyzer.feed(sim.waves["ECG_II"])
    return [b.sample for b in analyzer.beats]


def test_deferred_beats_take_the_classifiers_class_in_beat_order() -> None:
    analyzer = EcgAnalyzer(250.0, deferred=True)
    sim = run("normal", 20.0)
    analyzer.feed(sim.waves["ECG_II"][: 250 * 10])
    waiting = analyzer.awaiting_labels  # the last LABEL_WAIT_S s of beats
    assert len(waiting) >= 3
    fallbacks = analyzer.fallbacks
    # Labels for the second and third beat first: nothing is final before the first is.
    analyzer.resolve(waiting[1:3], ["V", "V"])
    assert all(b.sample < waiting[0] for b in analyzer.resolved)
    events = analyzer.resolve(waiting[:1], ["S"])
    final = {b.sample: b.beat_class for b in analyzer.resolved}
    assert final[waiting[0]] is BeatClass.SUPRAVENTRICULAR
    assert final[waiting[1]] is final[waiting[2]] is BeatClass.VENTRICULAR
    assert [e.name for e in events] == []  # a run of two V is a couplet only once it ends
    assert analyzer.fallbacks == fallbacks


def test_a_wide_beat_the_classifier_calls_s_counts_as_ventricular() -> None:
    """Wide-complex beats are ventricular until shown otherwise: an S label on a beat the
    shape rule calls V (the first beats of a VT run) becomes V; narrow S beats stay S."""
    analyzer = EcgAnalyzer(250.0, deferred=True)
    sim = run("vt", 40.0)
    ecg = sim.waves["ECG_II"][: round(250 * 31.5)]  # VT begins at 30 s
    for start in range(0, ecg.size, 62):  # as a driver delivers it, a quarter second at a time
        analyzer.feed(ecg[start : start + 62])
    waiting = analyzer.awaiting_labels
    shape = {b.sample: b.beat_class for b in analyzer.beats}
    kinds = {shape[s] for s in waiting}
    assert {BeatClass.NORMAL, BeatClass.VENTRICULAR} <= kinds
    analyzer.resolve(waiting, ["S"] * len(waiting))
    final = {b.sample: b.beat_class for b in analyzer.resolved}
    for sample in waiting:
        expected = (
            BeatClass.VENTRICULAR
            if shape[sample] is BeatClass.VENTRICULAR
            else BeatClass.SUPRAVENTRICULAR
        )
        assert final[sample] is expected


def test_a_beat_without_a_label_in_time_falls_back_to_the_shape_rule() -> None:
    analyzer = EcgAnalyzer(250.0, deferred=True)
    sim = run("normal", 30.0)
    ecg = sim.waves["ECG_II"]
    analyzer.feed(ecg[: 250 * 10])
    first = analyzer.awaiting_labels[0]
    assert not any(b.sample == first for b in analyzer.resolved)
    fallbacks = analyzer.fallbacks
    analyzer.feed(ecg[250 * 10 : 250 * 25])  # far more than LABEL_WAIT_S later
    resolved = {b.sample: b.beat_class for b in analyzer.resolved}
    shape = {b.sample: b.beat_class for b in analyzer.beats}
    assert resolved[first] is shape[first]  # the shape rule's class
    assert analyzer.fallbacks > fallbacks
    newest = max(resolved)
    assert all(s > newest - LABEL_WAIT_S * 250 for s in analyzer.awaiting_labels)


def test_vt_is_called_from_the_classifiers_labels() -> None:
    """Headless (lossless) analysis labels inline: a classifier that calls every beat V
    makes a fast rhythm VT; one that calls every beat N does not."""
    names = {}
    for label in ("V", "N"):
        clock = Clock()
        station = Station(Ward("Test ward", ["Bed 01"]), clock)
        driver = FakeDriver()
        station.attach("Bed 01", driver)
        worker = InferenceWorker(FixedLabels(label))
        service = AnalysisService(station, lossless=True, inference=worker)
        service.attach()
        station.start()
        try:
            play(driver, service, clock, "vt", 45)
            events = [e.payload for e in station.poll() if isinstance(e.payload, DeviceEvent)]
            names[label] = {e.name for e in events if e.kind == "rhythm"}
            bed = service.bed("Bed 01")
            assert bed is not None
            assert bed.ecg_analyzer is not None
            classes = {b.beat_class for b in bed.ecg_analyzer.resolved}
            assert classes == {BeatClass.VENTRICULAR if label == "V" else BeatClass.NORMAL}
        finally:
            service.close()
            station.stop()
    assert "VT" in names["V"]
    assert "VT" not in names["N"]


def test_a_model_that_cannot_load_is_a_technical_alarm_and_the_station_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable() -> None:
        raise ModelUnavailableError("resources/models/beat_classifier.onnx is missing")

    monkeypatch.setattr(runtime, "default_model", unavailable)
    station = Station(Ward("Test ward", ["Bed 01"]))
    told: list[str] = []
    assert runtime.open_inference(told.append) is None
    service = AnalysisService(station, inference=None)
    engine = AlarmEngine(station)
    runtime.report_failures(service, engine.raise_technical, engine.clear_technical, told)
    snapshot = engine.tick(time.time())
    alarms = [a for a in snapshot.alarms if a.code == runtime.ALARM_CODE]
    assert [a.text for a in alarms] == [
        "BEAT CLASSIFIER OFF: resources/models/beat_classifier.onnx is missing; "
        "beats classed by shape only"
    ]
    station.stop()


def test_a_classifier_failing_later_raises_the_alarm_and_clears_it() -> None:
    station = Station(Ward("Test ward", ["Bed 01"]))
    worker = InferenceWorker(failing)
    service = AnalysisService(station, inference=worker)
    engine = AlarmEngine(station)
    runtime.report_failures(service, engine.raise_technical, engine.clear_technical, [])
    worker.submit(request("Bed 01"))
    worker.run_pending()
    service.step()
    codes = [a.code for a in engine.tick(time.time()).alarms]
    assert runtime.ALARM_CODE in codes
    worker._labeller = FixedLabels()
    worker.submit(request("Bed 01"))
    worker.run_pending()
    service.step()
    assert runtime.ALARM_CODE not in [a.code for a in engine.tick(time.time() + 1).alarms]
    station.stop()


def test_each_minute_of_beats_is_counted_by_class() -> None:
    analyzer = EcgAnalyzer(250.0, deferred=True)
    sim = run("normal", 130.0)
    ecg = sim.waves["ECG_II"]
    events = []
    for second in range(130):
        events += analyzer.feed(ecg[second * 250 : (second + 1) * 250])
        waiting = analyzer.awaiting_labels
        if len(waiting) > 1:  # a classifier that calls every other beat S
            labels = ["S" if s % 2 else "N" for s in range(len(waiting) - 1)]
            events += analyzer.resolve(waiting[:-1], labels)
    counts = [e for e in events if e.kind == "beats"]
    assert len(counts) == 2  # minutes 0 and 1 are over; minute 2 is still being counted
    first = dict(part.split("=") for part in counts[0].name.split())
    assert set(first) == {"N", "S", "V", "F", "Q"}
    total = sum(int(n) for n in first.values())
    in_minute = sum(1 for b in analyzer.resolved if b.sample < 60 * 250)
    assert total == in_minute
    assert int(first["S"]) > 0
    assert 60.0 <= counts[0].time < 63.0 + LABEL_WAIT_S


def test_in_atrial_fibrillation_the_classifiers_s_calls_count_as_normal() -> None:
    fs = 250
    analyzer = EcgAnalyzer(float(fs), deferred=True)
    ecg = run("afib", 120.0).waves["ECG_II"]
    s_calls: list[int] = []  # beats called S, and whether the AF monitor was in AF then
    in_af_then: list[bool] = []
    for start in range(0, ecg.size, fs):
        analyzer.feed(ecg[start : start + fs])
        waiting = analyzer.awaiting_labels
        if waiting:  # every fifth beat S, as the model calls some AF beats
            labels = ["S" if sample // fs % 5 == 0 else "N" for sample in waiting]
            s_calls += [s for s, label in zip(waiting, labels, strict=True) if label == "S"]
            in_af_then += [analyzer.snapshot.rhythm is RhythmLabel.AF] * labels.count("S")
            analyzer.resolve(waiting, labels)
    final = {b.sample: b.beat_class for b in analyzer.resolved}
    assert any(in_af_then)
    assert not all(in_af_then)  # AF is announced only after it has lasted
    for sample, was_af in zip(s_calls, in_af_then, strict=True):
        if sample in final and was_af:
            assert final[sample] is BeatClass.NORMAL
    before = [final[s] for s, af in zip(s_calls, in_af_then, strict=True) if not af and s in final]
    assert BeatClass.SUPRAVENTRICULAR in before


def test_beats_without_a_label_tell_the_af_monitor_their_shape_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analyzer = EcgAnalyzer(250.0, deferred=True)
    seen: list[tuple[int, str | None]] = []
    monitor = analyzer._af
    add_beat = monitor.add_beat

    def spy(sample: int, label: str | None = None) -> list[AfEvent]:
        seen.append((sample, label))
        return add_beat(sample, label)

    monkeypatch.setattr(monitor, "add_beat", spy)
    ecg = run("bigeminy", 60.0).waves["ECG_II"]
    for start in range(0, ecg.size, 250):  # no labels come: the shape rule classes all
        analyzer.feed(ecg[start : start + 250])
    shape = {b.sample: b.beat_class.value for b in analyzer.resolved}
    assert seen
    assert all(label == shape[sample] for sample, label in seen)
    assert "V" in {label for _, label in seen}


def afib_rhythms(af_label: str | None) -> list[RhythmLabel]:
    """The rhythm each second of a simulated AF, every beat labelled N by the classifier and
    ``af_label`` at the AF monitor's multipliers (None: the same N)."""
    fs = 250
    analyzer = EcgAnalyzer(float(fs), deferred=True)
    ecg = run("afib", 90.0).waves["ECG_II"]
    rhythms = []
    for start in range(0, ecg.size, fs):
        analyzer.feed(ecg[start : start + fs])
        waiting = analyzer.awaiting_labels
        af = None if af_label is None else [af_label] * len(waiting)
        analyzer.resolve(waiting, ["N"] * len(waiting), af)
        rhythms.append(analyzer.snapshot.rhythm)
    return rhythms


def test_the_af_monitor_counts_the_labels_at_its_own_multipliers() -> None:
    # The same beat classes; only the labels the AF monitor counts differ. Windows it is told
    # are all ventricular are ectopy, not AF.
    assert RhythmLabel.AF in afib_rhythms(None)
    assert RhythmLabel.AF not in afib_rhythms("V")
