"""The AF monitor: calls AF on fibrillation and not on sinus rhythm or ectopy, streams
exactly as it runs offline, dates episodes, and survives any input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.analysis.atrial_fibrillation import (
    FEATURES,
    MODEL,
    PENDING_LIMIT,
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
from tests.validation.synthetic import (
    af_strip,
    sinus_strip,
    sinus_then_af,
    trigeminy_strip,
)

RATES = (125.0, 250.0, 360.0, 1000.0)


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


def test_an_onset_in_monitoring_is_dated_near_where_af_began() -> None:
    fs = 250.0
    strip = sinus_then_af(90.0, 120.0, fs, seed=6)
    episodes = af_episodes(strip.ecg, fs)
    assert len(episodes) == 1
    start, end = episodes[0]
    assert abs(start / fs - 90.0) < 15.0
    assert end == strip.ecg.size  # still in AF when the recording ends


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
    events = feed_second_by_second(monitor, strip.ecg, detect_qrs(strip.ecg, fs), False)
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
    monitor: AfMonitor, ecg: np.ndarray, beats: np.ndarray, ventricular: bool
) -> list[AfEvent]:
    events: list[AfEvent] = []
    step = round(monitor.fs)
    for start in range(0, ecg.size, step):
        events += monitor.feed_ecg(ecg[start : start + step])
        for peak in beats[(beats >= start) & (beats < start + step)]:
            events += monitor.add_beat(int(peak), ventricular)
    return events


def test_beats_the_classifier_calls_ventricular_stay_out_of_the_window() -> None:
    fs = 250.0
    strip = af_strip(40.0, fs, seed=11)
    beats = detect_qrs(strip.ecg, fs)
    told = AfMonitor(fs)
    assert feed_second_by_second(told, strip.ecg, beats, ventricular=True) == []
    assert told.probability is None
    untold = AfMonitor(fs)
    assert feed_second_by_second(untold, strip.ecg, beats, ventricular=False) != []
    assert untold.probability is not None


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
    named = {n: (a, b) for n, a, b in zip(FEATURES, regular, random, strict=True)}
    diluted = window_features(times, rng.standard_normal((24, 60)) * 0.03, np.ones(24), 30)
    assert named["rr_entropy"][0] == 0.0 < named["rr_entropy"][1]
    assert named["lorenz_dispersion"][0] < named["lorenz_dispersion"][1]
    assert named["log_drr"][0] < named["log_drr"][1]
    assert named["p_match"][0] > 0.8 > named["p_match"][1]
    assert named["p_snr"][0] > named["p_snr"][1]
    assert named["dominant_fraction"] == (1.0, 1.0)
    assert diluted[FEATURES.index("dominant_fraction")] == 0.8
    assert math.isclose(named["log_rr"][0], math.log(0.8))
    assert MODEL.probability(regular) < 0.05
    assert MODEL.probability(random) > 0.5


def test_the_model_has_one_weight_per_feature() -> None:
    assert len(MODEL.weights) == len(FEATURES)
    assert 0.0 < MODEL.p_off <= MODEL.p_on < 1.0
    assert MODEL.confirm >= 1
    assert MODEL.release >= 1


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
    ventricular=st.booleans(),
)
def test_the_monitor_survives_any_stream(
    chunks: list[np.ndarray], beats: list[int], ventricular: bool
) -> None:
    monitor = AfMonitor(250.0)
    events: list[AfEvent] = []
    per_chunk = max(1, len(beats) // max(1, len(chunks)))
    for i, chunk in enumerate(chunks):
        events += monitor.feed_ecg(chunk)
        for beat in beats[i * per_chunk : (i + 1) * per_chunk]:
            events += monitor.add_beat(beat, ventricular)
    events += monitor.flush()
    assert not monitor.in_af
    onsets = [e.onset for e in events]
    assert onsets == [True, False] * (len(onsets) // 2)  # strictly alternating, closed
