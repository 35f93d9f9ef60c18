"""The replay driver: a WFDB record played into a sink with its reference annotations as marks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from drivers.base import ColourRole, Driver, DriverState, Mark, SampleBlock
from drivers.replay import ReplayMonitor, load_source
from drivers.replay.driver import REPLAY_ENDED, STEP
from drivers.wfdb.annotations import read_annotations
from drivers.wfdb.header import WfdbFormatError
from drivers.wfdb.record import read_record
from tests.unit.test_sim_driver import RecordingSink
from tests.unit.test_wfdb import pack_212

DATA = Path(__file__).resolve().parents[1] / "data" / "mitdb"
EPOCH = 1000.0


@dataclass(frozen=True, slots=True)
class Block:
    channel: str
    first: int  # sample number of its first sample, from its timestamp
    count: int


@dataclass(frozen=True, slots=True)
class MarkBatch:
    channel: str
    marks: tuple[Mark, ...]


class OrderedSink(RecordingSink):
    """Also records the order in which blocks and marks arrive."""

    def __init__(self, fs: float) -> None:
        super().__init__()
        self.fs = fs
        self.order: list[Block | MarkBatch] = []

    def write_samples(self, channel: str, samples: SampleBlock, t_first: float) -> None:
        super().write_samples(channel, samples, t_first)
        with self.lock:
            self.order.append(Block(channel, round((t_first - EPOCH) * self.fs), len(samples)))

    def write_marks(self, channel: str, marks: Sequence[Mark]) -> None:
        super().write_marks(channel, marks)
        with self.lock:
            self.order.append(MarkBatch(channel, tuple(marks)))


def write_two_lead_record(tmp_path: Path, names: tuple[str, str], units: str = "mV") -> Path:
    header = (
        f"rec 2 360 4\nrec.dat 212 200/{units} 11 1024 0 0 0 {names[0]}\n"
        f"rec.dat 212 200/mV 11 1024 0 0 0 {names[1]}\n# 72 F 750 1629 x1\n"
    )
    (tmp_path / "rec.hea").write_text(header)
    (tmp_path / "rec.dat").write_bytes(pack_212([1224, 824, 1024, 1024, 1424, 1024, 1024, -2048]))
    return tmp_path / "rec"


# -- the record as a source --------------------------------------------------------------


def test_the_primary_lead_is_mlii_even_when_it_is_the_second_signal(tmp_path: Path) -> None:
    source = load_source(write_two_lead_record(tmp_path, ("V5", "MLII")))
    assert [c.spec.key for c in source.channels] == ["ECG_MLII", "ECG_V5"]
    mlii = source.channels[0]
    assert mlii.spec.label == "MLII"
    assert (mlii.spec.unit, mlii.spec.sample_rate, mlii.spec.gain) == ("mV", 360.0, 200.0)
    assert mlii.spec.colour_role is ColourRole.ECG
    low, high = mlii.spec.display_range
    assert low < 0
    assert high >= 1.5
    assert mlii.values.tolist()[:3] == pytest.approx([-1.0, 0.0, 0.0])
    assert np.isnan(mlii.values[3])  # an invalid sample stays missing
    assert not source.annotated  # no .atr beside it: no reference marks, and it says so
    assert len(source.mark_samples) == 0


def test_without_mlii_the_first_signal_leads(tmp_path: Path) -> None:
    source = load_source(write_two_lead_record(tmp_path, ("V1", "V1")))
    assert [c.spec.key for c in source.channels] == ["ECG_V1", "ECG_V1_2"]


def test_a_file_of_the_record_names_the_record() -> None:
    assert load_source(DATA / "208x.hea").name == load_source(DATA / "208x").name == "208x"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", r"cannot read WFDB header .*missing\.hea"),
        (lambda p: write_two_lead_record(p, ("ABP", "MLII"), "mmHg"), "is in mmHg; only ECG"),
    ],
)
def test_a_record_that_cannot_be_replayed_says_why(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    with pytest.raises(WfdbFormatError, match=message):
        load_source(make(tmp_path))


def test_annotations_become_labels_and_rhythm_changes_their_rhythm() -> None:
    source = load_source(DATA / "201x")
    annotations = read_annotations(DATA / "201x")
    assert source.mark_samples.tolist() == annotations.samples.tolist()
    labels = dict(zip(source.mark_samples.tolist(), source.mark_labels, strict=False))
    assert labels[0] == "(N"
    assert labels[20615] == "(AFIB"
    beats, symbols = annotations.beats()
    assert [labels[int(s)] for s in beats] == list(symbols)


# -- the driver ----------------------------------------------------------------------------


def replay(name: str = "208x", *, speed: float | None = None, loop: bool = False) -> ReplayMonitor:
    return ReplayMonitor(load_source(DATA / name), speed=speed, loop=loop, epoch=EPOCH)


def test_it_implements_the_driver_protocol_as_a_replay_without_numerics() -> None:
    driver: Driver = replay()
    description = driver.describe()
    assert driver.kind == "replay"
    info = description.info
    assert (info.kind, info.model, info.serial, info.simulated) == (
        "replay", "WFDB replay", "208x", True,
    )  # fmt: skip
    assert [c.key for c in description.channels] == ["ECG_MLII", "ECG_V1"]
    assert description.numerics == ()
    assert driver.status.state is DriverState.STOPPED
    assert driver.stop(0.0)  # never started: nothing to stop


def test_a_whole_record_plays_sample_for_sample_then_says_it_ended() -> None:
    driver = replay()
    sink = RecordingSink()
    driver.start(sink)
    assert driver.wait(20.0)
    record = read_record(DATA / "208x")
    for index, key in enumerate(("ECG_MLII", "ECG_V1")):
        blocks = [(b, t) for k, b, t in sink.samples if k == key]
        np.testing.assert_array_equal(
            np.concatenate([b for b, _ in blocks]), record.physical(index).astype(np.float32)
        )
        expected_t = EPOCH + np.arange(len(blocks)) * round(360 * STEP) / 360
        np.testing.assert_allclose([t for _, t in blocks], expected_t, rtol=0, atol=1e-9)
    statuses = [(s.state, s.message) for s in sink.statuses]
    assert statuses == [
        (DriverState.CONNECTED, "replaying record 208x"),
        (DriverState.STOPPED, REPLAY_ENDED),
    ]
    assert sink.statuses[-1].timestamp == pytest.approx(EPOCH + 300.0)
    assert driver.stop(1.0)  # after the end: nothing more, and idempotent
    assert driver.stop(1.0)
    assert len(sink.statuses) == 2


def test_reference_annotations_arrive_as_marks_at_their_sample_time() -> None:
    driver = replay()
    sink = OrderedSink(360.0)
    driver.start(sink)
    assert driver.wait(20.0)
    annotations = read_annotations(DATA / "208x")
    played = 0  # samples of the primary lead delivered so far
    marks: list[Mark] = []
    for item in sink.order:
        if isinstance(item, Block) and item.channel == "ECG_MLII":
            assert item.first == played  # blocks follow one another without a gap
            played += item.count
        elif isinstance(item, MarkBatch):
            assert item.channel == "ECG_MLII"
            # Written once its sample has been played, right after the block that holds it.
            block_start = EPOCH + (played - round(360 * STEP)) / 360
            assert all(block_start - 1e-9 <= m.timestamp < EPOCH + played / 360
                       for m in item.marks)  # fmt: skip
            marks += item.marks
    assert [round((m.timestamp - EPOCH) * 360) for m in marks] == annotations.samples.tolist()
    symbols = [m.label for m in marks if not m.label.startswith("(")]
    assert symbols == [s for s in annotations.symbols if s != "+"]
    assert [m.label for m in marks if m.label.startswith("(")] == [
        r for _, r in annotations.rhythm_changes()
    ]


def test_a_looping_replay_starts_again_on_one_time_line() -> None:
    driver = replay("201x", loop=True)
    sink = RecordingSink()
    driver.start(sink)
    deadline = time.monotonic() + 20.0
    while driver.played < 310.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.stop(2.0)
    assert driver.played >= 310.0
    restarts = [e for e in sink.events if e.kind == "replay"]
    # Unpaced, it may have looped more than once before stop() took effect: every restart
    # falls exactly one record length after the one before.
    assert restarts
    assert {e.name for e in restarts} == {"record restarted"}
    expected = [EPOCH + 300.0 * (k + 1) for k in range(len(restarts))]
    assert [e.timestamp for e in restarts] == pytest.approx(expected)
    times = [t for key, _, t in sink.samples if key == "ECG_MLII"]
    np.testing.assert_allclose(np.diff(times), STEP)  # no jump and no overlap at the loop
    at_restart = [m.label for _, m in sink.marks if m.timestamp == EPOCH + 300.0]
    assert at_restart == ["(N"]  # the rhythm in force at the record's start, again
    assert sink.statuses[-1].state is DriverState.STOPPED
    assert sink.statuses[-1].message == ""  # stopped by the station, not ended


def played_in(driver: ReplayMonitor, seconds: float) -> tuple[float, float]:
    """Seconds of record played, and wall seconds elapsed, over about ``seconds``."""
    t0 = time.monotonic()
    driver.start(RecordingSink())
    time.sleep(seconds)
    played, elapsed = driver.played, time.monotonic() - t0
    assert driver.stop(2.0)
    return played, elapsed


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_pacing_follows_the_wall_clock_at_the_given_speed(speed: float) -> None:
    played, elapsed = played_in(replay(speed=speed), 1.0)
    assert played <= speed * elapsed + 1e-9  # never ahead of its time
    assert played >= speed * elapsed - max(0.5, 0.3 * speed)  # behind only when starved


def test_a_speed_factor_keeps_the_record_time_stamps() -> None:
    driver = replay(speed=10.0)
    sink = RecordingSink()
    driver.start(sink)
    time.sleep(0.5)
    assert driver.stop(2.0)
    assert driver.status.state is DriverState.STOPPED
    times = [t for key, _, t in sink.samples if key == "ECG_MLII"]
    np.testing.assert_allclose(times, EPOCH + STEP * np.arange(len(times)))  # not wall time


def test_timestamps_start_at_the_station_clock_when_no_epoch_is_given() -> None:
    driver = ReplayMonitor(load_source(DATA / "207x"), speed=None, clock=lambda: 5000.0)
    sink = RecordingSink()
    driver.start(sink)
    assert driver.wait(20.0)
    assert sink.samples[0][2] == 5000.0
    assert sink.statuses[-1].timestamp == pytest.approx(5300.0)
    labels = [m.label for _, m in sink.marks]
    assert {"[", "]", "!", "(VFL"} <= set(labels)  # the ventricular flutter episode


def test_a_sink_that_fails_makes_the_replay_fail_visibly() -> None:
    class BrokenSink(RecordingSink):
        def write_marks(self, channel: str, marks: Sequence[Mark]) -> None:
            raise OSError("disk full")

    driver = replay()
    sink = BrokenSink()
    driver.start(sink)
    assert driver.wait(5.0)
    assert sink.statuses[-1].state is DriverState.FAILED
    assert sink.statuses[-1].message == "replay failed: disk full"
    assert driver.stop(1.0)


def test_a_replay_starts_only_once() -> None:
    driver = replay(speed=1.0)
    driver.start(RecordingSink())
    with pytest.raises(RuntimeError, match="only once"):
        driver.start(RecordingSink())
    assert driver.stop(2.0)
