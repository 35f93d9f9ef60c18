"""``--replay``: parsing, and the station replaying records as a separate process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import StationOptions, parse
from app.replay_ward import ReplayConfig
from drivers.base import ColourRole
from tests.cli.test_main_cli import colour_pixels, png_size, run_main
from widgets import theme

ROOT = Path(__file__).resolve().parents[2]
RECORD = "tests/data/mitdb/208x"


def station_options(*argv: str) -> StationOptions:
    options = parse(list(argv))
    assert isinstance(options, StationOptions)
    return options


def parse_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        parse(list(argv))
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_replay_paths_in_order_with_the_station_options() -> None:
    options = station_options(
        "--replay", "a/208", "--replay", "b/201", "--detail", "2", "--kiosk",
        "--screenshot", "x.png", "--quit-after", "3",
    )  # fmt: skip
    assert options.replay == ReplayConfig((Path("a/208"), Path("b/201")), loop=False)
    assert (options.detail_bed, options.kiosk, options.quit_after) == (2, True, 3.0)
    assert options.screenshot == Path("x.png")


def test_replay_loop_and_the_defaults_without_a_replay() -> None:
    assert station_options("--replay", "r", "--replay-loop").replay == ReplayConfig(
        (Path("r"),), loop=True
    )
    plain = station_options()
    assert plain.replay is None
    assert (plain.sim.beds, plain.sim.seed, plain.sim.ecg_rate, plain.sim.compress) == (
        8, 1, 250, 1.0,
    )  # fmt: skip
    assert station_options("--beds", "3", "--seed", "7").sim.beds == 3


def test_detail_must_name_a_replayed_bed(capsys: pytest.CaptureFixture[str]) -> None:
    assert station_options("--replay", "r", "--detail", "1").detail_bed == 1
    err = parse_error(capsys, "--replay", "r", "--detail", "2")
    assert "there is no bed 2 of 1" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--beds", "4"), ("--scenario", "afib"), ("--seed", "3"), ("--ecg-rate", "500"),
     ("--compress", "60")],
)  # fmt: skip
def test_simulation_options_are_refused_with_a_replay(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    err = parse_error(capsys, "--replay", "r", option, value)
    assert f"argument --replay: cannot be combined with {option}" in err


def test_replay_loop_needs_a_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--replay-loop: needs --replay" in parse_error(capsys, "--replay-loop")


def test_at_most_32_records(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [arg for _ in range(33) for arg in ("--replay", "r")]
    assert "at most 32 records, got 33" in parse_error(capsys, *argv)


# -- as a user runs it -----------------------------------------------------------------------


def test_a_replay_screenshot_exits_0_and_shows_the_trace(tmp_path: Path) -> None:
    shot = tmp_path / "out.png"
    out = run_main("--replay", RECORD, "--screenshot", str(shot), "--quit-after", "3")
    assert out.returncode == 0, out.stderr
    assert png_size(shot) == (1920, 1080)
    assert colour_pixels(shot, theme.ROLE_COLOURS[ColourRole.ECG]) > 500  # the trace
    assert colour_pixels(shot, theme.SIMULATED_TAG) > 2000  # the REPLAY banner and tag
    assert "Traceback" not in out.stderr


def test_a_missing_record_exits_2_with_the_reason_and_no_traceback(tmp_path: Path) -> None:
    out = run_main("--replay", str(tmp_path / "nothing"), "--quit-after", "1")
    assert out.returncode == 2
    assert "main.py: error: argument --replay: cannot read WFDB header" in out.stderr
    assert "nothing.hea: No such file or directory" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_corrupt_record_exits_2_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.hea").write_text("bad 1 360 10\nbad.dat 311 200 11 1024\n")
    out = run_main("--replay", str(tmp_path / "bad"), "--replay", RECORD)
    assert out.returncode == 2
    assert "signal format 311 is not supported" in out.stderr
    assert "Traceback" not in out.stderr
