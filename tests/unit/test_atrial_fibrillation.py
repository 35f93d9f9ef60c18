"""The AF monitor: calls AF on fibrillation and not on sinus rhythm or ectopy, weighs the beat
classifier's labels, streams exactly as it runs offline, dates episodes, and survives any
input."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import app.analysis.atrial_fibrillation as af_module
from app.analysis.af_features import ectopy_shares
from app.analysis.atrial_fibrillation import (
    BEAT_MODEL_SHA256,
    FEATURES,
    MODEL,
    MODEL_WITHOUT_LABELS,
    PENDING_LIMIT,
    UNLABELLED_FEATURES,
    AfEvent,
    AfModel,
    AfMonitor,
    Decision,
    EpisodeTracker,
    af_episodes,
    episodes_from_events,
    run_monitor,
    window_features,
)
from app.analysis.qrs import QrsDetector, detect_qrs
from app.analysis.rhythm import af_episodes as public_af_episodes
from app.inference.model import MODEL_PATH, ModelUnavailableError
from tests.validation.synthetic import (
    af_strip,
    sinus_strip,
    sinus_then_af,
    trigeminy_strip,
)

RATES = (125.0, 250.0, 360.0, 1000.0)


def unavailable() -> None:
    raise ModelUnavailableError("model file missing")


def covered(episodes: list[tuple[int, int]]) -> int:
    return sum(b - a for a, b in episodes)


def test_the_public_contract_is_this_function() -> None:
    assert public_af_episodes is af_episodes


@pytest.mark.parametrize("fs", RATES)
def test_fibrillation_is_called_af_for_most_of_the_strip(fs: float) -> None:
    strip = af_strip(60.0, fs, seed=3)
    episodes = af_episodes(strip.ecg, fs)
    assert covered(episodes) >= 0.75 * strip.ecg.size
    # Present from the start: dated at the start (the first verdict, after 10 beats, looks
    # back half a window of 16, to the second beat with 0.6 s of ECG before it; detected
    # R peaks may sit a few ms off the synthetic ones).
    assert episodes[0][0] <= strip.r_peaks[2] + 0.02 * fs


@pytest.mark.parametrize("fs", RATES)
def test_sinus_rhythm_is_not_af(fs: float) -> None:
    strip = sinus_strip(60.0, fs, seed=4)
    assert af_episodes(strip.ecg, fs) == []


@pytest.mark.parametrize("fs", [250.0, 500.0])
def test_ventricular_trigeminy_is_not_af(fs: float) -> None:
    # Irregular RR (premature beat, compensatory pause), but the PVCs have another QRS.
    strip = trigeminy_strip(60.0, fs, seed=5)
    assert af_episodes(strip.ecg, fs) == []


def onset_and_end(monkeypatch: pytest.MonkeyPatch, labelled: bool) -> tuple[float, int, int]:
    if not labelled:
        monkeypatch.setattr(af_module, "default_model", unavailable)
    fs = 250.0
    strip = sinus_then_af(90.0, 120.0, fs, seed=6)
    episodes = af_episodes(strip.ecg, fs)
    assert len(episodes) == 1
    return episodes[0][0] / fs, episodes[0][1], strip.ecg.size


def test_an_onset_in_monitoring_is_dated_near_where_af_began(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    onset, end, size = onset_and_end(monkeypatch, labelled=False)
    assert abs(onset - 90.0) < 15.0
    assert end == size  # still in AF when the recording ends


def test_with_labels_an_onset_is_dated_within_the_classifiers_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Until its 20-s context holds mostly AF, the classifier calls the first irregular beats
    # premature (S) against the sinus rhythm before them, which holds the verdict back.
    onset, end, size = onset_and_end(monkeypatch, labelled=True)
    assert 90.0 - 15.0 < onset < 90.0 + 25.0
    assert end == size


def test_streaming_in_any_chunks_gives_the_offline_events() -> None:
    fs = 250.0
    strip = sinus_then_af(40.0, 50.0, fs, seed=7)
    offline = run_monitor(AfMonitor(fs), strip.ecg, detect_qrs(strip.ecg, fs))
    rng = np.random.default_rng(8)
    detector, monitor = QrsDetector(fs), AfMonitor(fs)
    events: list[AfEvent] = []
    start = 0
    while start < strip.ecg.size:
        stop = min(strip.ecg.size, start + int(rng.integers(1, 700)))
        chunk = strip.ecg[start:stop]
        events += monitor.feed_ecg(chunk)  # the engine's order: samples, then their beats
        for peak in detector.feed(chunk):
            events += monitor.add_beat(int(peak))
        start = stop
    for peak in detector.flush():
        events += monitor.add_beat(int(peak))
    events += monitor.flush()
    assert offline
    assert events == offline


def test_the_monitor_reports_state_and_episode_start() -> None:
    fs = 250.0
    strip = af_strip(40.0, fs, seed=9)
    monitor = AfMonitor(fs)
    assert (monitor.in_af, monitor.episode_start) == (False, None)
    events = feed_second_by_second(monitor, strip.ecg, detect_qrs(strip.ecg, fs), "N")
    onsets = [e for e in events if e.onset]
    assert len(onsets) == 1
    assert monitor.in_af
    assert monitor.episode_start == onsets[0].sample
    assert onsets[0].announced_at >= onsets[0].sample
    assert monitor.probability is not None
    assert 0.0 <= monitor.probability <= 1.0
    closing = monitor.flush()
    assert closing == [AfEvent(False, strip.ecg.size, strip.ecg.size)]
    assert not monitor.in_af


def test_an_episode_ends_at_the_last_beat_when_the_signal_goes_flat() -> None:
    fs = 250.0
    strip = af_strip(40.0, fs, seed=10)
    ecg = np.concatenate([strip.ecg, np.zeros(round(25 * fs))])
    episodes = af_episodes(ecg, fs)
    assert episodes
    assert strip.ecg.size - 2 * fs < episodes[-1][1] <= strip.ecg.size


def feed_second_by_second(
    monitor: AfMonitor, ecg: np.ndarray, beats: np.ndarray, label: str | None
) -> list[AfEvent]:
    events: list[AfEvent] = []
    step = round(monitor.fs)
    for start in range(0, ecg.size, step):
        events += monitor.feed_ecg(ecg[start : start + step])
        for peak in beats[(beats >= start) & (beats < start + step)]:
            events += monitor.add_beat(int(peak), label)
    return events


def final_probability(label: str | None, model: AfModel = MODEL) -> float:
    fs = 250.0
    strip = af_strip(40.0, fs, seed=11)
    monitor = AfMonitor(fs, model)
    feed_second_by_second(monitor, strip.ecg, detect_qrs(strip.ecg, fs), label)
    assert monitor.probability is not None
    return monitor.probability


def test_irregularity_the_classifier_calls_ectopic_is_less_likely_af() -> None:
    normal = final_probability("N")
    assert normal > MODEL.p_on
    # All S (all V) adds exactly s_share's (v_share's) weight to the logit, and both weights
    # are negative: ectopy lowers the evidence of the rhythm itself.
    for label, feature in (("S", "s_share"), ("V", "v_share")):
        weight = MODEL.weights[FEATURES.index(feature)]
        assert weight < -1.0
        expected = 1.0 / (1.0 + math.exp(-(math.log(normal / (1.0 - normal)) + weight)))
        assert final_probability(label) == pytest.approx(expected, rel=1e-9)
    # Beats it cannot judge, or labels that never came, say nothing either way.
    assert final_probability("Q") == final_probability(None) == normal


def test_without_a_classifier_labels_are_ignored() -> None:
    assert final_probability("S", MODEL_WITHOUT_LABELS) == final_probability(
        None, MODEL_WITHOUT_LABELS
    )


def test_ectopy_shares_count_only_judged_beats() -> None:
    assert ectopy_shares(["N", "S", "V", "V", "Q", None]) == (0.25, 0.5)
    assert ectopy_shares(["F", "N"]) == (0.0, 0.0)
    assert ectopy_shares(["Q", None]) == (0.0, 0.0)
    assert ectopy_shares([]) == (0.0, 0.0)


def test_a_model_must_weigh_one_of_the_two_feature_sets() -> None:
    assert MODEL.uses_labels
    assert not MODEL_WITHOUT_LABELS.uses_labels
    with pytest.raises(ValueError, match="weights"):
        AfMonitor(250.0, AfModel((1.0,) * 3, 0.0, 0.5, 0.5, 1, 1))


def test_the_labelled_model_was_fitted_on_the_shipped_beat_classifier() -> None:
    # A retrained classifier labels differently: MODEL must be refitted with it.
    assert hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest() == BEAT_MODEL_SHA256


def test_af_episodes_runs_on_without_the_beat_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    fs = 250.0
    strip = af_strip(60.0, fs, seed=3)
    with_labels = af_episodes(strip.ecg, fs)
    monkeypatch.setattr(af_module, "default_model", unavailable)
    without = af_episodes(strip.ecg, fs)
    assert covered(without) >= 0.75 * strip.ecg.size
    assert covered(with_labels) >= 0.75 * strip.ecg.size


def test_beats_without_ecg_are_counted_not_kept_forever() -> None:
    monitor = AfMonitor(250.0)
    for i in range(10 * PENDING_LIMIT):
        assert monitor.add_beat(200 * i) == []
    assert monitor.flush() == []
    assert not monitor.in_af


def test_regular_and_random_windows_differ_as_the_features_say() -> None:
    rng = np.random.default_rng(12)
    p_waves = np.tile(np.sin(np.linspace(0, np.pi, 60)), (24, 1)) * 0.1
    noisy = p_waves + 0.02 * rng.standard_normal(p_waves.shape)
    regular = window_features(np.arange(24, dtype=np.float64) * 0.8, noisy, np.ones(24), 24)
    times = np.cumsum(rng.uniform(0.4, 1.1, 24))
    random = window_features(times, rng.standard_normal((24, 60)) * 0.03, np.ones(24), 24)
    named = {n: (a, b) for n, a, b in zip(UNLABELLED_FEATURES, regular, random, strict=True)}
    diluted = window_features(times, rng.standard_normal((24, 60)) * 0.03, np.ones(24), 30)
    assert named["rr_entropy"][0] == 0.0 < named["rr_entropy"][1]
    assert named["lorenz_dispersion"][0] < named["lorenz_dispersion"][1]
    assert named["log_drr"][0] < named["log_drr"][1]
    assert named["p_match"][0] > 0.8 > named["p_match"][1]
    assert named["p_snr"][0] > named["p_snr"][1]
    assert named["dominant_fraction"] == (1.0, 1.0)
    assert diluted[FEATURES.index("dominant_fraction")] == 0.8
    assert math.isclose(named["log_rr"][0], math.log(0.8))
    assert MODEL_WITHOUT_LABELS.probability(regular) < 0.05
    assert MODEL_WITHOUT_LABELS.probability(random) > 0.5
    no_ectopy = np.zeros(len(FEATURES) - len(UNLABELLED_FEATURES))
    assert MODEL.probability(np.concatenate([regular, no_ectopy])) < 0.05
    assert MODEL.probability(np.concatenate([random, no_ectopy])) > 0.5


@pytest.mark.parametrize("model", [MODEL, MODEL_WITHOUT_LABELS])
def test_the_models_have_one_weight_per_feature(model: AfModel) -> None:
    names = FEATURES if model is MODEL else UNLABELLED_FEATURES
    assert len(model.weights) == len(names)
    assert 0.0 < model.p_off <= model.p_on < 1.0
    assert model.confirm >= 1
    assert model.release >= 1


def decision(sample: int, probability: float, anchor: int) -> Decision:
    return Decision(sample, np.zeros(len(FEATURES)), probability, anchor)


def test_the_tracker_needs_thirty_seconds_of_af_once_monitoring_is_established() -> None:
    model = AfModel(MODEL.weights, MODEL.intercept, 0.5, 0.5, 1, 1)
    tracker = EpisodeTracker(model, fs=1.0)
    assert tracker.update(decision(10, 0.1, 0)) == []  # sinus from the start
    assert tracker.update(decision(100, 0.9, 90)) == []  # AF for 10 s: not yet
    assert tracker.update(decision(110, 0.2, 100)) == []  # and it stopped: no episode
    assert tracker.update(decision(200, 0.9, 190)) == []
    assert tracker.update(decision(219, 0.9, 200)) == []
    assert tracker.update(decision(221, 0.9, 210)) == [AfEvent(True, 190, 221)]
    assert tracker.update(decision(300, 0.1, 280)) == [AfEvent(False, 280, 300)]


def test_the_tracker_announces_af_present_when_monitoring_began_at_once() -> None:
    model = AfModel(MODEL.weights, MODEL.intercept, 0.5, 0.3, 1, 2)
    tracker = EpisodeTracker(model, fs=1.0)
    assert tracker.update(decision(12, 0.9, 2)) == [AfEvent(True, 2, 12)]
    assert tracker.update(decision(13, 0.4, 3)) == []  # between p_off and p_on: still AF
    assert tracker.update(decision(14, 0.2, 4)) == []  # one verdict below p_off of two
    assert tracker.update(decision(15, 0.2, 5)) == [AfEvent(False, 4, 15)]
    assert tracker.close(20) == []


@pytest.mark.parametrize("fs", [0.0, -250.0, math.nan, math.inf, 50.0, 5000.0])
def test_an_invalid_rate_is_refused_clearly(fs: float) -> None:
    with pytest.raises(ValueError, match="Hz"):
        af_episodes(np.zeros(1000), fs)
    with pytest.raises(ValueError, match="Hz"):
        AfMonitor(fs)


def test_episodes_from_events_clips_and_never_overlaps() -> None:
    events = [
        AfEvent(True, -5, 0),
        AfEvent(False, 10, 12),
        AfEvent(True, 8, 20),
        AfEvent(False, 30, 31),
        AfEvent(True, 40, 41),
        AfEvent(False, 99, 99),
    ]
    assert episodes_from_events(events, 50) == [(0, 10), (10, 30), (40, 50)]


ecg_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.floats(-5.0, 5.0),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ecg=hnp.arrays(np.float64, st.integers(0, 3000), elements=ecg_values),
    fs=st.floats(125.0, 1000.0),
)
def test_any_input_gives_valid_episodes(ecg: np.ndarray, fs: float) -> None:
    episodes = af_episodes(ecg, fs)
    assert isinstance(episodes, list)
    previous_end = 0
    for start, end in episodes:
        assert isinstance(start, int)
        assert isinstance(end, int)
        assert previous_end <= start < end <= ecg.size
        previous_end = end


@settings(max_examples=15, deadline=None)
@given(
    seconds=st.floats(0.0, 20.0),
    level=st.floats(-10.0, 10.0),
    fs=st.sampled_from(RATES),
    gap=st.booleans(),
)
def test_flat_short_and_gapped_signals_give_no_af(
    seconds: float, level: float, fs: float, gap: bool
) -> None:
    ecg = np.full(round(seconds * fs), level)
    if gap and ecg.size:
        ecg[ecg.size // 3 :] = np.nan
    assert af_episodes(ecg, fs) == []


@settings(max_examples=30, deadline=None)
@given(
    chunks=st.lists(hnp.arrays(np.float64, st.integers(0, 400), elements=ecg_values), max_size=8),
    beats=st.lists(st.integers(-1000, 4000), max_size=60),
    label=st.sampled_from([None, "N", "S", "V", "F", "Q"]),
)
def test_the_monitor_survives_any_stream(
    chunks: list[np.ndarray], beats: list[int], label: str | None
) -> None:
    monitor = AfMonitor(250.0)
    events: list[AfEvent] = []
    per_chunk = max(1, len(beats) // max(1, len(chunks)))
    for i, chunk in enumerate(chunks):
        events += monitor.feed_ecg(chunk)
        for beat in beats[i * per_chunk : (i + 1) * per_chunk]:
            events += monitor.add_beat(beat, label)
    events += monitor.flush()
    assert not monitor.in_af
    onsets = [e.onset for e in events]
    assert onsets == [True, False] * (len(onsets) // 2)  # strictly alternating, closed
