"""The rhythm engine on beat sequences with a known answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.analysis.morphology import BeatClass
from app.analysis.rhythm import Observation, RhythmConfig, RhythmEngine, RhythmEvent, RhythmLabel

N, V = BeatClass.NORMAL, BeatClass.VENTRICULAR


class Feed:
    """Beats at given times, with the engine updated 10 times a second as the stream runs."""

    def __init__(self, config: RhythmConfig | None = None) -> None:
        self.engine = RhythmEngine(config)
        self.now = 0.0
        self.events: list[RhythmEvent] = []
        self.rate: float | None = 75.0
        self.vf = False
        self.signal_ok = True

    def until(self, t: float) -> None:
        while self.now + 0.1 <= t + 1e-9:
            self.now += 0.1
            seen = Observation(self.now, self.now, self.rate, self.vf, False, self.signal_ok)
            self.events += self.engine.update(seen)

    def beats(self, times: list[float], classes: list[BeatClass] | None = None) -> None:
        for i, t in enumerate(times):
            self.until(t)
            beat_class = N if classes is None else classes[i % len(classes)]
            self.events += self.engine.add_beat(t, beat_class, t)

    def label(self) -> RhythmLabel:
        return self.engine.label

    def names(self, kind: str = "rhythm") -> list[tuple[float, str]]:
        return [(round(e.time, 1), e.name) for e in self.events if e.kind == kind]


def regular(start: float, stop: float, rr: float) -> list[float]:
    n = int((stop - start) / rr + 1e-9)
    return [start + i * rr for i in range(n)]


def test_regular_beats_are_sinus() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 20.0, 0.8))
    assert feed.label() is RhythmLabel.SINUS


def test_asystole_after_four_seconds_without_a_beat_and_a_pause_before() -> None:
    feed = Feed()
    beats = regular(0.5, 10.0, 0.8)
    feed.beats(beats)
    last = beats[-1]
    feed.until(20.0)
    asystole = [t for t, name in feed.names() if name == "ASYSTOLE"]
    assert asystole
    assert 4.0 <= asystole[0] - last <= 4.1
    assert [name for _, name in feed.names("ectopy")] == ["PAUSE"]


def test_asystole_limit_is_configurable() -> None:
    feed = Feed(RhythmConfig(asystole_s=6.0, pause_s=3.0))
    beats = regular(0.5, 10.0, 0.8)
    feed.beats(beats)
    feed.until(beats[-1] + 5.9)
    assert "ASYSTOLE" not in [name for _, name in feed.names()]
    feed.until(beats[-1] + 6.1)
    assert feed.label() is RhythmLabel.ASYSTOLE


def test_no_signal_is_never_asystole() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.8))
    feed.signal_ok = False
    feed.until(12.0)
    feed.engine.signal_lost(12.0)
    feed.until(20.0)
    assert feed.label() is RhythmLabel.NO_SIGNAL
    feed.signal_ok = True
    feed.engine.signal_lost(20.0)
    feed.until(23.0)  # asystole is timed from the signal's return
    assert feed.label() is not RhythmLabel.ASYSTOLE
    feed.until(24.2)
    assert feed.label() is RhythmLabel.ASYSTOLE


def test_three_fast_ventricular_beats_are_vt_and_a_normal_beat_ends_it() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.8))
    feed.beats([9.0, 9.4, 9.8], [V])
    feed.until(9.9)
    assert feed.label() is RhythmLabel.VT
    feed.beats(regular(10.6, 14.0, 0.8), [N])  # a recovered rhythm must hold 2 s to count
    assert feed.label() is RhythmLabel.SINUS


def test_a_slow_ventricular_run_is_not_vt() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.8))
    feed.beats([9.5, 10.5, 11.5], [V])  # 60 /min: idioventricular, not VT
    feed.until(11.6)
    assert feed.label() is not RhythmLabel.VT


def test_a_couplet_is_reported_and_pvcs_are_counted_per_minute() -> None:
    feed = Feed()
    times = regular(0.5, 60.0, 0.8)
    classes = [V if i in (20, 21, 40, 50) else N for i in range(len(times))]
    for t, c in zip(times, classes, strict=True):
        feed.beats([t], [c])
    assert [name for _, name in feed.names("ectopy")] == ["COUPLET"]
    assert feed.engine.pvc_per_minute == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("pattern", "label"), [([N, V], RhythmLabel.BIGEMINY), ([N, N, V], RhythmLabel.TRIGEMINY)]
)
def test_bigeminy_and_trigeminy(pattern: list[BeatClass], label: RhythmLabel) -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.8))
    feed.beats(regular(10.3, 30.0, 0.8), pattern)
    assert feed.label() is label
    assert [name for _, name in feed.names()].count(label.value) == 1  # no flicker


def test_rate_limits_have_hysteresis_and_settle() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.5))
    feed.rate = 125.0
    feed.beats(regular(10.0, 13.0, 0.5))
    assert feed.label() is RhythmLabel.TACHY
    for second, rate in enumerate((118.0, 122.0, 117.0, 121.0)):  # hovering: stays TACHY
        feed.rate = rate
        feed.beats(regular(13.0 + second, 14.0 + second, 0.5))
    assert feed.label() is RhythmLabel.TACHY
    feed.rate = 100.0
    feed.beats(regular(17.0, 18.0, 0.5))
    assert feed.label() is RhythmLabel.TACHY  # not yet settled
    feed.beats(regular(18.0, 19.5, 0.5))
    assert feed.label() is RhythmLabel.SINUS


def test_vf_outranks_vt_and_is_immediate() -> None:
    feed = Feed()
    feed.beats(regular(0.5, 10.0, 0.8))
    feed.vf = True
    feed.until(8.7)
    assert feed.label() is RhythmLabel.VF


@pytest.mark.parametrize(
    "make",
    [
        lambda: RhythmConfig(pause_s=5.0),
        lambda: RhythmConfig(pause_s=0.0),
        lambda: RhythmConfig(brady_bpm=130.0),
        lambda: RhythmConfig(vt_beats=2),
    ],
)
def test_bad_configuration_is_refused(make: Callable[[], RhythmConfig]) -> None:
    with pytest.raises(ValueError, match=r"must|needs"):
        make()
