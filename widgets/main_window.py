"""The station window: a top bar, the ward grid or one bed's detail view, and a status bar.

The frame clock drives everything visible: it applies what drivers reported (station poll),
advances the waveforms of the visible view every frame, and refreshes numerics, headers and
the status bar four times a second.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.alarms.engine import AlarmEngine
from app.alarms.service import AlarmService
from app.presentation import REPLAY_TAG, SIMULATED_TAG, source_tag
from app.station import Station
from app.sync.service import SyncService
from app.wearables.model import WearableControl
from widgets import theme
from widgets.alarm_bar import AlarmBar
from widgets.alarm_sound import AlarmSoundPlayer
from widgets.bed_detail import BedDetail
from widgets.ehr_lookup import Search
from widgets.frame_clock import FrameClock
from widgets.sync_panel import SyncIndicator
from widgets.ward_grid import WardGrid
from widgets.wearables_panel import WearablesPanel

REFRESH_HZ = 4.0
KIOSK_BANNER = "DEMO — NOT FOR CLINICAL USE"
# What the top bar says while any device is not a live patient.
BANNERS = {SIMULATED_TAG: "SIMULATED DATA", REPLAY_TAG: "REPLAY — RECORDED ECG, NOT LIVE"}


def operator_name() -> str:
    """Who acts at this workstation (acknowledgements, limits) until Vigil has logins: the
    desktop session's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown operator"


class Watermark(QtWidgets.QWidget):
    """The kiosk's permanent watermark, over everything; clicks pass through it."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_NoSystemBackground)
        self._pixmap = QtGui.QPixmap()
        self._host = parent
        parent.installEventFilter(self)
        self.setGeometry(parent.rect())
        self.raise_()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            self.setGeometry(self._host.rect())
            self.raise_()
        return False

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        # Rendered once per size; painting the exposed part of a pixmap is cheap per frame.
        self._pixmap = QtGui.QPixmap(self.size())
        self._pixmap.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(self._pixmap)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        p.setPen(QtGui.QColor(255, 140, 26, 70))
        p.setFont(theme.font(max(24, self.width() // 22), bold=True))
        p.translate(self.width() / 2, self.height() / 2)
        p.rotate(-18)
        rect = QtCore.QRectF(-self.width(), -self.height() / 2, 2 * self.width(), self.height())
        p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, KIOSK_BANNER)
        p.end()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.drawPixmap(event.rect(), self._pixmap, event.rect())
        p.end()


class TopBar(QtWidgets.QWidget):
    def __init__(self, title: str, kiosk: bool) -> None:
        super().__init__()
        self.setFixedHeight(40)
        self.setStyleSheet("background: #0d1318;")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(10, 2, 10, 2)
        brand = QtWidgets.QLabel("VIGIL")
        brand.setStyleSheet("font-size: 20px; font-weight: bold; letter-spacing: 3px;")
        row.addWidget(brand)
        self.title = QtWidgets.QLabel(title)
        self.title.setStyleSheet(f"font-size: 17px; color: {theme.TEXT_DIM};")
        row.addWidget(self.title)
        row.addSpacing(16)
        if kiosk:
            row.addWidget(_banner(KIOSK_BANNER, theme.FAULT))
        self.simulated = _banner(BANNERS[SIMULATED_TAG], theme.SIMULATED_TAG)
        self.simulated.hide()  # shown while any device on the station is simulated
        row.addWidget(self.simulated)
        row.addStretch(1)
        self.prev_page = QtWidgets.QPushButton("◀")
        self.page_label = QtWidgets.QLabel()
        self.next_page = QtWidgets.QPushButton("▶")
        for w in (self.prev_page, self.page_label, self.next_page):
            row.addWidget(w)
        row.addSpacing(16)
        self._row = row
        self.clock = QtWidgets.QLabel()
        self.clock.setStyleSheet("font-size: 20px; font-weight: bold;")
        row.addWidget(self.clock)

    def add_before_clock(self, widget: QtWidgets.QWidget) -> None:
        self._row.insertWidget(self._row.indexOf(self.clock), widget)
        self._row.insertSpacing(self._row.indexOf(self.clock), 16)

    def set_pages(self, page: int, count: int) -> None:
        for w in (self.prev_page, self.page_label, self.next_page):
            w.setVisible(count > 1)
        self.page_label.setText(f"Page {page + 1} of {count}")
        self.prev_page.setEnabled(page > 0)
        self.next_page.setEnabled(page < count - 1)


def _banner(text: str, background: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setStyleSheet(
        f"background: {background}; color: #000; font-weight: bold; font-size: 15px;"
        " padding: 3px 10px; border-radius: 3px;"
    )
    return label


class MainWindow(QtWidgets.QMainWindow):
    def __init__(
        self,
        station: Station,
        *,
        kiosk: bool,
        fps: float,
        px_per_mm: float,
        font_scale: float = 1.0,
        calibration_note: str = "",
        alarms: AlarmEngine | None = None,
        alarm_service: AlarmService | None = None,
        user: str = "",
        record: Path | None = None,
        sync: SyncService | None = None,
        search: Search | None = None,
        wearables: WearableControl | None = None,
    ) -> None:
        super().__init__()
        self.station = station
        self.search = search
        self.alarms = alarms
        self.alarm_service = alarm_service
        self.record = record  # the SQLite record the detail view reviews
        self.user = user or operator_name()
        self.kiosk = kiosk
        self._px_per_mm = px_per_mm
        self._calibration_note = calibration_note
        self.setWindowTitle("Vigil — DEMO" if kiosk else f"Vigil — {station.ward.name}")
        self.top_bar = TopBar(station.ward.name, kiosk)
        self.sync_indicator = SyncIndicator(sync)
        self.top_bar.add_before_clock(self.sync_indicator)
        self._add_wearables(wearables)
        self.grid = WardGrid(station.ward, kiosk=kiosk, px_per_mm=px_per_mm, font_scale=font_scale)
        self.grid.bed_clicked.connect(self.show_bed)
        self.grid.page_changed.connect(self._on_page)
        self.top_bar.prev_page.clicked.connect(lambda: self.grid.set_page(self.grid.page - 1))
        self.top_bar.next_page.clicked.connect(lambda: self.grid.set_page(self.grid.page + 1))
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.grid)
        self.detail: BedDetail | None = None
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.top_bar)
        self.alarm_bar: AlarmBar | None = None
        self.sound: AlarmSoundPlayer | None = None
        self._reminders_heard = 0
        if alarms is not None:
            self.alarm_bar = AlarmBar(alarms, self.user)
            self.alarm_bar.bed_requested.connect(self.show_bed)
            self.alarm_bar.moment_requested.connect(self.review_moment)
            column.addWidget(self.alarm_bar)
            self.sound = AlarmSoundPlayer(self)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.status = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status, 1)
        self.watermark = Watermark(self) if kiosk else None
        self._on_page(0)
        self.clock = FrameClock(fps, self)
        self.clock.subscribe(self.render_frame)
        self._refresh_every = max(1, round(fps / REFRESH_HZ))
        self._refresh_bars(time.time())

    # -- navigation ---------------------------------------------------------------------------

    def show_bed(self, label: str) -> None:
        self.close_detail()
        bed = self.station.ward.bed(label)
        index = self.station.ward.beds.index(bed)
        self.detail = BedDetail(
            self.station.ward,
            bed,
            index,
            kiosk=self.kiosk,
            px_per_mm=self._px_per_mm,
            alarms=self.alarms,
            user=self.user,
            record=self.record,
            search=self.search,
        )
        self.detail.back_requested.connect(self.show_grid)
        self.stack.addWidget(self.detail)
        self.stack.setCurrentWidget(self.detail)

    def review_moment(self, bed: str, t: float) -> None:
        """Open ``bed`` and its full disclosure at ``t`` (from the station's alarm history)."""
        self.show_bed(bed)
        if self.detail is not None:
            self.detail.review_at(t)

    def _add_wearables(self, wearables: WearableControl | None) -> None:
        """The top bar's "Wearables" button, only on a station with Bluetooth wearables."""
        self.wearables = wearables
        self.wearables_panel: WearablesPanel | None = None
        self.wearables_button: QtWidgets.QPushButton | None = None
        if wearables is not None:
            self.wearables_button = QtWidgets.QPushButton("Wearables")
            self.wearables_button.clicked.connect(self.open_wearables)
            self.top_bar.add_before_clock(self.wearables_button)

    def open_wearables(self) -> WearablesPanel | None:
        """The wearables window (non-modal, one per station window)."""
        if self.wearables is None:
            return None
        if self.wearables_panel is None:
            self.wearables_panel = WearablesPanel(self.wearables, self)
        self.wearables_panel.show()
        self.wearables_panel.raise_()
        return self.wearables_panel

    def show_grid(self) -> None:
        self.stack.setCurrentWidget(self.grid)
        self.close_detail()

    def close_detail(self) -> None:
        if self.detail is not None:
            self.detail.dispose()
            self.stack.removeWidget(self.detail)
            self.detail.deleteLater()
            self.detail = None

    def _on_page(self, page: int) -> None:
        self.top_bar.set_pages(page, self.grid.page_count)

    # -- frames -------------------------------------------------------------------------------

    def render_frame(self, now: float, frame: int) -> None:
        """One display frame (the frame clock calls this; tests may too)."""
        self.station.poll()
        view = self.detail if self.detail is not None else self.grid
        view.advance(now)
        refresh = frame % self._refresh_every == 1 or self._refresh_every == 1
        if refresh:
            view.refresh(now)
            self._refresh_bars(now)
        if self.alarms is not None:
            self.alarms.display_alive(now)  # the engine watches for a frozen screen
            if refresh:
                self._show_alarms(view, now)
            view.flash(now)
            if self.alarm_bar is not None:
                self.alarm_bar.flash(now)

    def _show_alarms(self, view: BedDetail | WardGrid, now: float) -> None:
        if self.alarms is None or self.alarm_bar is None or self.sound is None:
            return
        snapshot = self.alarms.snapshot()
        view.show_alarms(snapshot, now)
        failure = self.alarm_service.failure if self.alarm_service is not None else None
        self.alarm_bar.show_snapshot(snapshot, now, self.sound.unavailable_reason, failure)
        self.sound.set_sounding(snapshot.sounding)
        if snapshot.reminders > self._reminders_heard:
            self._reminders_heard = snapshot.reminders
            self.sound.play_reminder()

    def _refresh_bars(self, now: float) -> None:
        self.top_bar.clock.setText(time.strftime("%H:%M:%S", time.localtime(now)))
        self.sync_indicator.refresh(now)
        tag = source_tag(self.station.devices)
        self.top_bar.simulated.setVisible(bool(tag))
        banner = BANNERS.get(tag, "")
        if banner and self.top_bar.simulated.text() != banner:
            self.top_bar.simulated.setText(banner)
        devices = self.station.devices
        dropped = self.station.samples_dropped
        text = (
            f"{len(self.station.ward.beds)} beds · {len(devices)} devices · "
            f"{self.clock.measured_fps():.0f} fps · samples dropped: {dropped:,}"
        )
        if self._calibration_note:
            text += f" · {self._calibration_note}"
        if self.status.text() != text:
            self.status.setText(text)

    def start(self) -> None:
        self.clock.start()

    def shutdown(self) -> None:
        self.clock.stop()
        if self.wearables_panel is not None:
            self.wearables_panel.close()
        if self.sound is not None:
            self.sound.close()
        self.close_detail()
        self.grid.dispose()
