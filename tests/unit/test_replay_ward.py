"""A ward of replayed records: beds, subjects, reference mark rows, and how the station shows it."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from app.bus import EventBus
from app.model.patient import Patient, PatientCategory, Sex
from app.model.ward import Ward
from app.presentation import (
    REPLAY_TAG,
    SIMULATED_TAG,
    patient_text,
    present_connection,
    present_header,
    source_tag,
    trace_messages,
)
from app.replay_ward import (
    ReplayConfig,
    build_replay_station,
    load_sources,
    reference_sources,
    replay_bed_labels,
    subject_text,
)
from app.signals.stream import DeviceStream
from app.station import Station
from drivers.base import DriverState, DriverStatus, Mark
from drivers.replay import ReplayMonitor, load_source
from drivers.wfdb.header import WfdbFormatError
from tests.fakes.fake_driver import FakeDriver
from widgets.tile_layout import ALL_WAVES, tile_channels

DATA = Path(__file__).resolve().parents[1] / "data" / "mitdb"
EPOCH = 1000.0


def test_a_subject_is_the_database_record_age_and_sex() -> None:
    assert subject_text(DATA / "208x", load_source(DATA / "208x")) == "MIT-BIH 208x  ·  23 F"
    assert subject_text(DATA / "201x.hea", load_source(DATA / "201x")) == "MIT-BIH 201x  ·  68 M"


def test_a_subject_without_database_or_comments_is_the_record_name(tmp_path: Path) -> None:
    (tmp_path / "A1.hea").write_text("A1 1 300 2\nA1.dat 16 1000/mV 16 0 0 0 0 ECG\n")
    (tmp_path / "A1.dat").write_bytes(b"\x00" * 4)
    assert subject_text(tmp_path / "A1", load_source(tmp_path / "A1")) == "A1"
    (tmp_path / "A2.hea").write_text("A2 1 300 2\nA1.dat 16 1000/mV\n# -1 ? x\n")
    assert subject_text(tmp_path / "A2", load_source(tmp_path / "A2")) == "A2"  # unknown


def replay_station(*names: str, loop: bool = False) -> Station:
    config = ReplayConfig(tuple(DATA / n for n in names), loop=loop, speed=None)
    return build_replay_station(config, epoch=EPOCH)


def test_one_bed_per_record_with_its_subject_and_no_patient() -> None:
    station = replay_station("208x", "201x")
    assert [b.label for b in station.ward.beds] == replay_bed_labels(2) == ["R1", "R2"]
    bed = station.ward.bed("R1")
    assert bed.patient is None
    assert bed.subject == "MIT-BIH 208x  ·  23 F"
    today = dt.date(2026, 11, 21)
    assert patient_text(bed, 0, kiosk=False, today=today) == "MIT-BIH 208x  ·  23 F"
    assert patient_text(bed, 0, kiosk=True, today=today) == "MIT-BIH 208x  ·  23 F"
    assert patient_text(bed, 0, kiosk=False, today=today, full=True).endswith("de-identified")
    patient = Patient("Doe", "Jo", "A12345", dt.date(1970, 1, 1), Sex.FEMALE,
                      PatientCategory.ADULT)  # fmt: skip
    with pytest.raises(ValueError, match="replays a recording"):
        station.ward.admit("R1", patient)


def test_the_reference_rows_split_rhythm_changes_from_the_other_labels() -> None:
    driver = FakeDriver()
    stream = DeviceStream("R1", driver, EventBus())
    stream.start()
    labels = ["(N", "N", "V", "(AFIB", "[", "!", "]", "~"]
    driver.push_marks("ECG_II", *(Mark(10.0 + i, label) for i, label in enumerate(labels)))
    rhythm, beats = reference_sources(stream, "ECG_II")
    assert (rhythm.label, beats.label) == ("Rhythm", "Ref")
    assert [m.label for m in rhythm.fetch(0.0, 100.0)] == ["(N", "(AFIB"]
    assert [m.label for m in beats.fetch(0.0, 100.0)] == ["N", "V", "[", "!", "]", "~"]
    assert [m.label for m in beats.fetch(11.0, 13.0)] == ["N", "V"]


def test_a_replayed_bed_gets_the_reference_rows_of_its_primary_lead() -> None:
    station = replay_station("201x")
    bed = station.ward.bed("R1")
    assert [(s.label, s.channel) for s in bed.mark_sources] == [
        ("Rhythm", "ECG_MLII"), ("Ref", "ECG_MLII"),
    ]  # fmt: skip
    driver = station.devices[0].driver
    assert isinstance(driver, ReplayMonitor)
    station.start()
    try:
        assert driver.wait(20.0)
    finally:
        assert station.stop() == []
    # The last minute of the record is kept: 240-300 s, trigeminy from 241.0 s.
    rhythm, beats = bed.mark_sources
    assert [(round(m.timestamp - EPOCH, 1), m.label) for m in rhythm.fetch(0, 2000)] == [
        (241.0, "(T"),
    ]  # fmt: skip
    assert {m.label for m in beats.fetch(0, 2000)} >= {"N", "V"}
    status = station.devices[0].status
    assert (status.state, status.message) == (DriverState.STOPPED, "replay ended")


def test_a_record_without_annotations_gets_no_reference_rows(tmp_path: Path) -> None:
    (tmp_path / "A1.hea").write_text("A1 1 300 2\nA1.dat 16 1000/mV 16 0 0 0 0 ECG\n")
    (tmp_path / "A1.dat").write_bytes(b"\x00" * 4)
    station = build_replay_station(ReplayConfig((tmp_path / "A1",)))
    assert station.ward.bed("R1").mark_sources == ()


def test_a_bad_record_stops_the_ward_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(WfdbFormatError, match=r"cannot read WFDB header .*nothing\.hea"):
        load_sources((DATA / "208x", tmp_path / "nothing"))
    with pytest.raises(ValueError, match="1 to 32 records"):
        load_sources(())


# -- how the station shows a replay --------------------------------------------------------


def test_replays_are_tagged_replay_and_a_mix_with_simulators_simulated() -> None:
    station = replay_station("208x")
    assert source_tag(station.devices) == REPLAY_TAG
    header = present_header(station.ward.bed("R1"), time.time())
    assert header.simulated
    assert header.tag == REPLAY_TAG
    assert header.battery == ""  # a replay has no battery to speak of
    simulated = FakeDriver(simulated=True)
    mixed = Station(Ward("W", ["Bed 01"]))
    mixed.attach("Bed 01", simulated)
    assert source_tag(mixed.devices) == SIMULATED_TAG
    assert source_tag([*mixed.devices, *station.devices]) == SIMULATED_TAG
    live = Station(Ward("W", ["Bed 01"]))
    live.attach("Bed 01", FakeDriver())
    assert source_tag(live.devices) == ""


def test_the_end_of_a_replay_is_said_in_the_header_and_over_the_trace() -> None:
    ended = DriverStatus(DriverState.STOPPED, 1300.0, "replay ended")
    assert present_connection(ended, 1301.0).text == "STOPPED: replay ended"
    assert present_connection(DriverStatus(DriverState.STOPPED, 0.0), 1.0).text == "STOPPED"
    station = replay_station("208x")
    station.start()
    driver = station.devices[0].driver
    assert isinstance(driver, ReplayMonitor)
    try:
        assert driver.wait(20.0)
    finally:
        station.stop()
    messages = trace_messages(station.devices[0], time.time())
    assert messages["ECG_MLII"] == messages["ECG_V1"] == "NO SIGNAL: STOPPED"


def test_a_message_over_a_trace_is_cleared_whatever_the_channel_key() -> None:
    station = replay_station("208x")
    device = station.devices[0]
    assert trace_messages(device, time.time())["ECG_MLII"] == "NO SIGNAL: STOPPED"  # not started
    device.write_status(DriverStatus(DriverState.CONNECTED, time.time()))
    assert trace_messages(device, time.time())["ECG_MLII"] == ""


def test_a_tile_shows_a_recorded_lead_in_lead_twos_place() -> None:
    replayed = replay_station("208x").devices[0].description.channels
    assert tile_channels(ALL_WAVES, replayed) == ["ECG_MLII"]
    monitor = FakeDriver().describe().channels  # lead II and pleth
    assert tile_channels(ALL_WAVES, monitor) == ["ECG_II", "PLETH"]
    assert tile_channels(("PLETH",), replayed) == []
