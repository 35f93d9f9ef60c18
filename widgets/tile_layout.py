"""How the ward grid adapts to the number of beds: grid shape, paging and tile sizes.

Up to 32 beds share one page (compact tiles above 16); beyond that the grid pages. Sizes
are for a 1080-pixel-high screen and scale with the real height, but never below what keeps
the main numerics (HR, SpO2) at least 36 px tall at 1080p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from drivers.base import ChannelSpec, ColourRole

BEDS_PER_PAGE = 32


@dataclass(frozen=True, slots=True)
class TileTier:
    name: str
    header_px: int
    label_px: int
    main_value_px: int  # HR and SpO2
    minor_value_px: int  # NIBP, RR, temperature
    channels: tuple[str, ...]
    numerics_share: float  # fraction of the tile width given to numerics
    show_pulse_rate: bool
    notes_inline: bool = False  # short boxes put the note on the label's line

    def scaled(self, factor: float) -> TileTier:
        return replace(
            self,
            header_px=round(self.header_px * factor),
            label_px=max(10, round(self.label_px * factor)),
            main_value_px=max(20, round(self.main_value_px * factor)),
            minor_value_px=max(12, round(self.minor_value_px * factor)),
        )


ECG_KEY = "ECG_II"
ALL_WAVES = (ECG_KEY, "PLETH", "RESP")
LARGE = TileTier("large", 20, 15, 96, 44, ALL_WAVES, 0.40, True)
NORMAL = TileTier("normal", 17, 13, 64, 30, ALL_WAVES, 0.36, False)
MEDIUM = TileTier("medium", 15, 12, 52, 22, ALL_WAVES, 0.50, False)
# 48 px DejaVu Sans Bold draws digits 37 px tall: the floor for the main numerics.
COMPACT = TileTier("compact", 13, 11, 48, 18, (ECG_KEY, "PLETH"), 0.50, False, True)


def tile_channels(wanted: Sequence[str], channels: Sequence[ChannelSpec]) -> list[str]:
    """The tier's channels that a device has, in the tier's order. A device without lead II
    (a replayed record's MLII, a single-lead recorder) shows its first ECG lead in its place."""
    keys = {spec.key for spec in channels}
    chosen = [key for key in wanted if key in keys]
    if ECG_KEY in wanted and ECG_KEY not in keys:
        ecg = next((spec.key for spec in channels if spec.colour_role is ColourRole.ECG), None)
        if ecg is not None:
            chosen.insert(0, ecg)
    return chosen


def tier_for(beds_on_page: int) -> TileTier:
    if beds_on_page <= 4:
        return LARGE
    if beds_on_page <= 8:
        return NORMAL
    if beds_on_page <= 16:
        return MEDIUM
    return COMPACT


def grid_shape(beds_on_page: int) -> tuple[int, int]:
    """(columns, rows): wide tiles while few beds, four columns from 9 beds on."""
    n = max(1, beds_on_page)
    if n <= 2:
        return 1, n
    cols = 2 if n <= 8 else 3 if n <= 12 else 4
    return cols, math.ceil(n / cols)


def pages(beds: int) -> int:
    return max(1, math.ceil(beds / BEDS_PER_PAGE))
