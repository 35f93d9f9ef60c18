"""The numeric boxes of a bed and how they are refreshed; shared by tile and detail view."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.model.ward import Bed
from app.presentation import present_bed_numerics
from widgets import theme
from widgets.numeric_box import NumericBox

# The widest value each box must hold.
WIDEST = {"NIBP_SYS": "888/888", "TEMP": "88.8", "RR": "88"}


class BedNumerics:
    def __init__(self, bed: Bed) -> None:
        self.bed = bed
        self.boxes: dict[str, NumericBox] = {}

    def make_box(
        self,
        code: str,
        value_px: int,
        label_px: int,
        parent: QtWidgets.QWidget,
        note_inline: bool = False,
    ) -> NumericBox | None:
        """A box for ``code``, or None when no device of the bed measures it."""
        found = self.bed.find_numeric(code)
        if found is None:
            return None
        spec = found[1]
        box = NumericBox(
            "NIBP" if code == "NIBP_SYS" else spec.label,
            spec.display_unit,
            theme.ROLE_COLOURS[spec.colour_role],
            value_px=value_px,
            label_px=label_px,
            widest=WIDEST.get(code, "888"),
            condensed=code == "NIBP_SYS",
            note_inline=note_inline,
            parent=parent,
        )
        self.boxes[code] = box
        return box

    def refresh(self, now: float) -> None:
        texts = present_bed_numerics(self.bed, list(self.boxes), now)
        for code, text in texts.items():
            self.boxes[code].set_text(text)
