"""The dark clinical theme: colours per parameter family, fonts, and the style sheet.

Colour never carries meaning alone: every coloured value has its label, every state its text.
"""

from __future__ import annotations

import functools

from PySide6 import QtGui, QtWidgets

from app.resources import FONTS
from drivers.base import ColourRole

BACKGROUND = "#000000"
TILE = "#070a0d"
TILE_BORDER = "#232b33"
TEXT = "#e8eaed"
TEXT_DIM = "#9aa3ad"
STALE = "#8a8a8a"
WARNING = "#ffb020"
FAULT = "#ff5a5a"
OK = "#58d68d"
SIMULATED_TAG = "#ff8c1a"

ROLE_COLOURS: dict[ColourRole, str] = {
    ColourRole.ECG: "#3df56b",
    ColourRole.PLETH: "#3fd7ff",
    ColourRole.RESP: "#ffe14d",
    ColourRole.NIBP: "#f2f2f2",
    ColourRole.TEMP: "#ff9ed8",
    ColourRole.DEVICE: "#c0c0c0",
}

FONT_FAMILY = "DejaVu Sans"
CONDENSED_FAMILY = "DejaVu Sans Condensed"


@functools.cache
def load_fonts() -> None:
    """Register the bundled fonts (once), so numerics look the same on every machine."""
    for path in sorted(FONTS.glob("*.ttf")):
        if QtGui.QFontDatabase.addApplicationFont(str(path)) < 0:
            raise RuntimeError(f"cannot load the bundled font {path}")


def font(pixel_size: int, *, bold: bool = False, condensed: bool = False) -> QtGui.QFont:
    f = QtGui.QFont(CONDENSED_FAMILY if condensed else FONT_FAMILY)
    f.setPixelSize(max(1, pixel_size))
    f.setBold(bold)
    return f


def colour(name: str) -> QtGui.QColor:
    return QtGui.QColor(name)


def apply(app: QtWidgets.QApplication) -> None:
    """Fonts, palette and style sheet. Backgrounds come from the palette: a style-sheet rule
    on every QWidget would make Qt paint each widget through the (slow) style-sheet path."""
    load_fonts()
    app.setFont(font(14))
    palette = app.palette()
    for role, value in (
        (QtGui.QPalette.ColorRole.Window, BACKGROUND),
        (QtGui.QPalette.ColorRole.Base, "#10161c"),
        (QtGui.QPalette.ColorRole.Button, "#1b232b"),
        (QtGui.QPalette.ColorRole.WindowText, TEXT),
        (QtGui.QPalette.ColorRole.Text, TEXT),
        (QtGui.QPalette.ColorRole.ButtonText, TEXT),
    ):
        palette.setColor(role, QtGui.QColor(value))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)


STYLE_SHEET = f"""
QPushButton {{
    background: #1b232b; border: 1px solid #3a4652; border-radius: 4px;
    padding: 6px 14px; font-size: 15px;
}}
QPushButton:hover {{ background: #26313c; }}
QPushButton:checked {{ background: #2f5d8a; }}
QPushButton:disabled {{ color: #5a636c; }}
QComboBox, QLineEdit {{
    background: #10161c; border: 1px solid #3a4652; border-radius: 3px; padding: 4px 6px;
    font-size: 15px; min-height: 24px;
}}
QLineEdit[invalid="true"] {{ border: 2px solid {FAULT}; }}
QLabel#errors {{ color: {FAULT}; font-size: 14px; font-weight: bold; }}
QStatusBar {{ color: {TEXT_DIM}; font-size: 13px; }}
"""
