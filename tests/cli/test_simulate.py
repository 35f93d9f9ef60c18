"""``main.py simulate``: the headless run writes time-ordered JSON-line events."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

import main
from app.cli import SimulateOptions, StationOptions, parse
from app.storage.retention import Retention
from drivers.sim import SCENARIO_NAMES, SCENARIOS


def simulate(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / "events.jsonl"
    assert main.main(["simulate", *args, "--events", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_onset_events_for_every_bed_in_time_order(tmp_path: Path) -> None:
    events = simulate(
        tmp_path, "--scenario", "asystole", "--beds", "3", "--duration", "45", "--speed", "max"
    )
    assert events[0]["type"] == "session"
    assert events[0]["name"] == "start"
    assert events[-1]["type"] == "session"
    assert events[-1]["name"] == "end"
    onsets = [e for e in events if e["type"] == "scenario"]
    assert onsets == [
        {"t": 30.0, "bed": f"Bed 0{i}", "type": "scenario", "name": "asystole onset"}
        for i in (1, 2, 3)
    ]
    times = [e["t"] for e in events[1:-1]]
    assert times == sorted(times)
    # Samples before 45 s: 11250 ECG, 5625 pleth and 2813 respiration (t = 0 .. 44.992 s).
    assert events[-1]["samples_received"] == 3 * (11250 + 5625 + 2813)
    assert events[-1]["samples_dropped"] == 0


@pytest.mark.parametrize("name", [n for n in SCENARIO_NAMES if n not in ("normal", "sepsis")])
def test_every_scenario_announces_its_onset(tmp_path: Path, name: str) -> None:
    events = simulate(tmp_path, "--scenario", name, "--duration", "35", "--speed", "max")
    onsets = [(e["t"], e["name"]) for e in events if e["type"] == "scenario"]
    assert (30.0, f"{name} onset") in onsets
    assert all(
        t == t_doc for (t, n), (t_doc, _) in zip(onsets, SCENARIOS[name].events, strict=False)
    )


def test_a_compressed_sepsis_timeline(tmp_path: Path) -> None:
    events = simulate(
        tmp_path, "--scenario", "sepsis", "--compress", "60", "--duration", "5", "--speed", "max"
    )
    assert {"t": 1.0, "bed": "Bed 01", "type": "scenario", "name": "sepsis onset"} in events


def test_device_events_dropout_and_conditions_are_reported(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--scenario", "dropout", "--duration", "40", "--speed", "max")
    device = [(e["t"], e["name"]) for e in events if e["type"] == "device"]
    assert (30.08, "disconnected") in device
    assert any(name == "connected" and 38.0 <= t < 38.2 for t, name in device)
    events = simulate(tmp_path, "--scenario", "lead-off", "--duration", "55", "--speed", "max")
    conditions = [(e["t"], e["name"], e["active"]) for e in events if e["type"] == "condition"]
    assert conditions == [(30.0, "ECG_LEAD_OFF", True), (50.0, "ECG_LEAD_OFF", False)]


def test_same_seed_same_events(tmp_path: Path) -> None:
    args = ("--beds", "4", "--duration", "60", "--speed", "max", "--seed", "9")
    a = simulate(tmp_path, *args)
    b = simulate(tmp_path, *args)
    assert a == b
    assert a[0]["beds"] == {"Bed 01": "normal", "Bed 02": "afib", "Bed 03": "pvc",
                            "Bed 04": "desaturation"}  # fmt: skip


def test_a_speed_factor_paces_the_run(tmp_path: Path) -> None:
    t0 = time.monotonic()
    simulate(tmp_path, "--duration", "4", "--speed", "10")
    assert 0.35 <= time.monotonic() - t0 <= 4.0  # 4 s of signal at 10x: 0.4 s, never less


def test_stats_file(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    simulate(tmp_path, "--beds", "2", "--duration", "10", "--speed", "max", "--stats", str(stats))
    data = json.loads(stats.read_text())
    assert data["beds"] == 2
    assert data["samples_received"] == 2 * 10 * (250 + 125 + 62.5)
    assert {"wall_seconds", "cpu_seconds", "samples_dropped"} <= set(data)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["simulate", "--scenario", "nope", "--duration", "5"],
            "choose from 'normal', 'tachycardia'",
        ),
        (["simulate", "--duration", "5", "--beds", "0"], "between 1 and 64"),
        (["simulate", "--duration", "-3"], "must be a positive number"),
        (["simulate", "--duration", "5", "--speed", "fast"], "realtime, max or a positive"),
        (["simulate"], "--duration"),
        (["--scenario", "vtach"], "choose from 'normal', 'tachycardia'"),
        (["--beds", "many"], "not a whole number"),
        (["--size", "big"], "WIDTHxHEIGHT"),
        (["--keep-alarms", "2"], "alarm log (2 days) must be kept at least as long"),
        (["simulate", "--duration", "5", "--keep-waveforms", "0"], "must be a positive"),
        (
            ["simulate", "--duration", "5", "--keep-waveforms", "48", "--keep-trends", "1"],
            "trends (1 days) must be kept at least as long as the full disclosure (48 h)",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_retention_is_chosen_on_the_command_line() -> None:
    options = parse(["simulate", "--duration", "5", "--keep-waveforms", "72",
                     "--keep-trends", "14", "--keep-alarms", "30"])  # fmt: skip
    assert isinstance(options, SimulateOptions)
    assert options.retention == Retention(72 * 3600.0, 14 * 86400.0, 30 * 86400.0)
    station = parse(["--keep-waveforms", "24"])
    assert isinstance(station, StationOptions)
    assert station.retention == Retention(full_disclosure=24 * 3600.0)
    assert options.chart.vitals_every == 60.0
    charted = parse(["simulate", "--duration", "5", "--chart-every", "300"])
    assert isinstance(charted, SimulateOptions)
    assert charted.chart.vitals_every == 300.0
    default = parse([])
    assert isinstance(default, StationOptions)
    assert default.retention == Retention(96 * 3600.0, 30 * 86400.0, 90 * 86400.0)


def test_a_mixed_ward_writes_every_event_in_time_order(tmp_path: Path) -> None:
    """16 beds with different timelines (onsets, NIBP cycles, dropouts, conditions)."""
    events = simulate(tmp_path, "--beds", "16", "--duration", "130", "--speed", "max")
    body = events[1:-1]
    assert len(body) > 80
    assert [e["t"] for e in body] == sorted(e["t"] for e in body)
    kinds = {e["type"] for e in body}
    assert {"scenario", "device", "condition", "nibp"} <= kinds


def rhythm_events(events: list[dict[str, Any]], bed: str = "Bed 01") -> list[tuple[float, str]]:
    return [(e["t"], e["name"]) for e in events if e["type"] == "rhythm" and e["bed"] == bed]


@pytest.mark.parametrize(("scenario", "name", "limit"), [("vt", "VT", 5.0), ("vf", "VF", 5.0)])
def test_simulate_reports_lethal_rhythms_in_time(
    tmp_path: Path, scenario: str, name: str, limit: float
) -> None:
    events = simulate(tmp_path, "--scenario", scenario, "--duration", "40", "--speed", "max")
    onset = next(e["t"] for e in events if e["type"] == "scenario")
    found = [t for t, n in rhythm_events(events) if n == name]
    assert found, rhythm_events(events)
    assert 0.0 < found[0] - onset <= limit
    assert all(n != name for t, n in rhythm_events(events) if t < onset)


def test_simulate_reports_asystole_and_the_pause_before_it(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--scenario", "asystole", "--duration", "40", "--speed", "max")
    onset = next(e["t"] for e in events if e["type"] == "scenario")
    asystole = [t for t, n in rhythm_events(events) if n == "ASYSTOLE"]
    assert asystole
    # The last beat came at or before the onset, so this bounds the delay after it from below.
    assert 4.0 <= asystole[0] - onset <= 4.5
    pauses = [e["t"] for e in events if e["type"] == "ectopy" and e["name"] == "PAUSE"]
    assert pauses
    assert pauses[0] < asystole[0]


def test_simulate_rhythm_events_are_in_time_order_for_every_bed(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--beds", "16", "--duration", "40", "--speed", "max")
    times = [e["t"] for e in events if e["type"] in ("rhythm", "ectopy")]
    assert times == sorted(times)
    labelled = {e["bed"] for e in events if e["type"] == "rhythm"}
    assert len(labelled) == 16
    names = {(e["bed"], e["name"]) for e in events if e["type"] == "rhythm"}
    assert ("Bed 08", "VT") in names  # the demo ward's VT bed
    assert ("Bed 11", "NO_SIGNAL") in names  # its lead-off bed


def alarm_starts(events: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [
        e for e in events if e["type"] == "alarm" and e["event"] == "start" and e["code"] == code
    ]


def test_alarm_events_are_written_with_their_lifecycle(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--scenario", "vt", "--duration", "70", "--speed", "max")
    (start,) = alarm_starts(events, "VT")
    assert set(start) == {"t", "bed", "type", "event", "id", "priority", "kind", "code", "text"}
    assert (start["priority"], start["kind"], start["text"]) == ("high", "physiological", "VT")
    assert 30.0 < start["t"] <= 36.0  # the VT run starts at 30 s; the target is 6 s
    lifecycle = [e["event"] for e in events if e["type"] == "alarm" and e.get("id") == start["id"]]
    # The run ends at 50 s: VT latches (nobody acknowledges headless) and escalates at 30 s.
    assert lifecycle == ["start", "condition_end", "escalate"]
    times = [e["t"] for e in events[1:-1]]
    assert times == sorted(times)


def test_spo2_low_alarms_at_its_condition_delay(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--scenario", "desaturation", "--duration", "90", "--speed", "max")
    (start,) = alarm_starts(events, "SPO2_LOW")
    assert start["priority"] == "medium"
    # The value shown is the current one: after 10 s of falling it is below 89.
    assert re.fullmatch(r"SpO2 LOW 8[0-9] < 90 %", start["text"])
    assert 10.0 <= start["t"] - start["since"] <= 11.0  # delay 10 s, generation ≤ 1 s


def test_lead_off_is_a_technical_alarm_within_2_s(tmp_path: Path) -> None:
    events = simulate(tmp_path, "--scenario", "lead-off", "--duration", "55", "--speed", "max")
    (start,) = alarm_starts(events, "ECG_LEAD_OFF")
    assert start["kind"] == "technical"
    assert 30.0 <= start["t"] <= 32.0
    ends = [e for e in events if e.get("id") == start["id"] and e["event"] == "end"]
    assert len(ends) == 1
    assert 50.0 <= ends[0]["t"] <= 52.0
    # No asystole is called on leads that are off.
    assert alarm_starts(events, "ASYSTOLE") == []


def test_normal_sinus_rhythm_raises_no_alarm(tmp_path: Path) -> None:
    events = simulate(
        tmp_path, "--scenario", "normal", "--beds", "2", "--duration", "300", "--speed", "max"
    )
    assert [e for e in events if e["type"] == "alarm" and e["event"] == "start"] == []
    # The demo's NEWS2 entries are in the alarm log too, with who entered them.
    entries = [e for e in events if e["type"] == "alarm"]
    assert {(e["event"], e["user"]) for e in entries} == {("observation", "demo ward (simulated)")}
