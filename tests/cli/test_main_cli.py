"""The station's command line, run as a user would: a separate process, offscreen."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui

from drivers.base import ColourRole
from widgets import theme

ROOT = Path(__file__).resolve().parents[2]


def run_main(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"} if env is None else env
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_help_lists_the_options() -> None:
    out = run_main("--help")
    assert out.returncode == 0
    for option in ("--beds", "--scenario", "--seed", "--kiosk", "--screenshot", "--quit-after",
                   "--stats", "simulate"):  # fmt: skip
        assert option in out.stdout


def test_unknown_scenario_exits_2_listing_the_choices() -> None:
    out = run_main("--scenario", "torsades")
    assert out.returncode == 2
    assert "invalid choice: 'torsades'" in out.stderr
    assert "'asystole'" in out.stderr
    assert "'dropout'" in out.stderr


def colour_pixels(path: Path, rgb: str) -> int:
    """Pixels of a PNG within a small distance of a colour (Qt reads the file)."""
    image = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    target = np.array([int(rgb[i : i + 2], 16) for i in (5, 3, 1)])  # BGR, as stored
    return int((np.abs(pixels[..., :3].astype(int) - target).sum(axis=-1) < 40).sum())


def test_screenshot_and_stats(tmp_path: Path) -> None:
    shot, stats = tmp_path / "station.png", tmp_path / "stats.json"
    out = run_main(
        "--beds", "6", "--size", "1280x720", "--screenshot", str(shot), "--quit-after", "4",
        "--stats", str(stats),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert png_size(shot) == (1280, 720)
    # The window, not a blank image: ECG traces and numerics in green, pleth in cyan.
    assert colour_pixels(shot, theme.ROLE_COLOURS[ColourRole.ECG]) > 2000
    assert colour_pixels(shot, theme.ROLE_COLOURS[ColourRole.PLETH]) > 2000
    data = json.loads(stats.read_text())
    required = {"beds", "wall_seconds", "cpu_seconds", "frames", "fps", "samples_received",
                "samples_dropped"}  # fmt: skip
    assert required <= set(data)
    assert data["beds"] == 6
    assert 3.5 <= data["wall_seconds"] <= 30
    assert data["frames"] > 30
    assert data["fps"] > 10
    assert data["samples_received"] > 6 * 2 * 250  # at least two seconds of ECG per bed
    assert data["samples_dropped"] == 0


def test_detail_opens_a_bed_and_must_name_one(tmp_path: Path) -> None:
    shot = tmp_path / "detail.png"
    out = run_main("--beds", "3", "--detail", "2", "--screenshot", str(shot), "--quit-after", "2")
    assert out.returncode == 0, out.stderr
    assert png_size(shot) == (1920, 1080)
    out = run_main("--beds", "3", "--detail", "4")
    assert out.returncode == 2
    assert "there is no bed 4 of 3" in out.stderr


def test_quit_after_alone_exits_cleanly() -> None:
    out = run_main("--beds", "1", "--quit-after", "1.5", "--kiosk")
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the display check is for X11/Wayland")
def test_without_a_display_the_station_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    out = run_main("--quit-after", "1", env=env)
    assert out.returncode == 2
    assert "No display" in out.stderr
    assert "xvfb-run" in out.stderr
