"""The central-station overview: a grid of bed tiles, one page of up to 32 beds at a time."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.alarms.engine import AlarmSnapshot
from app.model.ward import Bed, Ward
from widgets.bed_tile import BedTile
from widgets.tile_layout import BEDS_PER_PAGE, grid_shape, pages, tier_for


class WardGrid(QtWidgets.QWidget):
    bed_clicked = QtCore.Signal(str)
    page_changed = QtCore.Signal(int)

    def __init__(
        self,
        ward: Ward,
        *,
        kiosk: bool,
        px_per_mm: float,
        font_scale: float = 1.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ward = ward
        self._kiosk = kiosk
        self._px_per_mm = px_per_mm
        self._font_scale = font_scale
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setSpacing(3)
        self.tiles: list[BedTile] = []
        self._page = 0
        self._disposed = False
        for bed in ward.beds:  # a device attached or removed changes what a tile can show
            bed.devices_changed.connect(self._on_devices_changed)
        self._build()

    def _on_devices_changed(self, bed: Bed) -> None:
        if any(tile.bed is bed for tile in self.tiles):
            self._build()

    @property
    def page(self) -> int:
        return self._page

    @property
    def page_count(self) -> int:
        return pages(len(self.ward.beds))

    def set_page(self, page: int) -> None:
        page = max(0, min(page, self.page_count - 1))
        if page != self._page:
            self._page = page
            self._build()
            self.page_changed.emit(page)

    def _build(self) -> None:
        for tile in self.tiles:
            tile.dispose()
            self._grid.removeWidget(tile)
            tile.deleteLater()
        first = self._page * BEDS_PER_PAGE
        beds = self.ward.beds[first : first + BEDS_PER_PAGE]
        tier = tier_for(len(beds)).scaled(self._font_scale)
        cols, rows = grid_shape(len(beds))
        self.tiles = []
        for i, bed in enumerate(beds):
            tile = BedTile(
                bed, first + i, tier, kiosk=self._kiosk, px_per_mm=self._px_per_mm, parent=self
            )
            tile.clicked.connect(self.bed_clicked)
            self._grid.addWidget(tile, i // cols, i % cols)
            self.tiles.append(tile)
        # A grid remembers stretches of rows and columns it no longer has: reset them all.
        for r in range(max(rows, self._grid.rowCount())):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(max(cols, self._grid.columnCount())):
            self._grid.setColumnStretch(c, 1 if c < cols else 0)

    def advance(self, now: float) -> None:
        for tile in self.tiles:
            tile.advance(now)

    def refresh(self, now: float) -> None:
        for tile in self.tiles:
            tile.refresh(now)

    def show_alarms(self, snapshot: AlarmSnapshot, now: float) -> None:
        for tile in self.tiles:
            tile.show_alarms(snapshot, now)

    def flash(self, now: float) -> None:
        for tile in self.tiles:
            tile.flash(now)

    def dispose(self) -> None:
        """Unsubscribe from the model before the grid goes away (once)."""
        if self._disposed:
            return
        self._disposed = True
        for bed in self.ward.beds:
            bed.devices_changed.disconnect(self._on_devices_changed)
        for tile in self.tiles:
            tile.dispose()
