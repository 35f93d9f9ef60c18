"""The wearables table (one row per device: its texts, signal bars and connection colours),
and the bed chooser that pairing and moving open.

Every colour has its words next to it (the state is written out); colour only speeds up
reading from across the room.
"""

from __future__ import annotations

import functools

from PySide6 import QtCore, QtGui, QtWidgets

from app.wearables.model import WearableRow
from drivers.base import DriverState
from widgets import theme
from widgets.form_parts import accept_cancel

COLUMNS = ("Device", "Address", "Measures", "Signal", "Last heard", "Paired", "Bed", "State",
           "Message")  # fmt: skip
STATE_COLUMN = COLUMNS.index("State")
SIGNAL_COLUMN = COLUMNS.index("Signal")
BAR_SIZE = QtCore.QSize(26, 20)
_ROOT = QtCore.QModelIndex()
Role = QtCore.Qt.ItemDataRole
_DISPLAY = int(Role.DisplayRole)
_TEXT_ROLES = (Role.DisplayRole, Role.ToolTipRole, Role.AccessibleTextRole)

# State word and background: green connected, amber on its way, red down.
STATE_LOOK: dict[DriverState, tuple[str, str]] = {
    DriverState.CONNECTED: ("Connected", theme.OK),
    DriverState.CONNECTING: ("Connecting", theme.WARNING),
    DriverState.STOPPED: ("Stopped", theme.WARNING),
    DriverState.DISCONNECTED: ("Disconnected", theme.FAULT),
    DriverState.FAILED: ("Failed", theme.FAULT),
}


def describe(row: WearableRow) -> str:
    return f"{row.name or '(no name)'} ({row.address})"


def signal_bars(rssi: int | None) -> int:
    """0-4 bars; BLE links get unreliable below about -85 dBm."""
    if rssi is None:
        return 0
    return sum(rssi >= limit for limit in (-90, -80, -70, -60))


def signal_text(rssi: int | None) -> str:
    return "not heard" if rssi is None else f"{rssi} dBm"


def ago_text(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 60:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def state_text(row: WearableRow) -> str:
    if row.state is not None:
        return STATE_LOOK[row.state][0]
    if not row.supported:
        return "Not supported"
    if not row.paired:
        return "Not paired"
    return "No bed" if row.bed is None else "Idle"


def cells(row: WearableRow) -> tuple[str, ...]:
    """The row's texts, in COLUMNS order."""
    return (
        row.name or "(no name)",
        row.address,
        row.kind,
        signal_text(row.rssi),
        ago_text(row.seen_ago),
        "Yes" if row.paired else "No",
        row.bed or "—",
        state_text(row),
        row.status,
    )


@functools.cache
def _bars_icon(bars: int) -> QtGui.QIcon:
    """Four rising bars, ``bars`` of them lit (cached: five icons in all)."""
    pixmap = QtGui.QPixmap(BAR_SIZE)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pixmap)
    width = BAR_SIZE.width() // 4
    for i in range(4):
        height = BAR_SIZE.height() * (i + 1) // 4
        lit = theme.TEXT if i < bars else "#3a4652"
        p.fillRect(i * width, BAR_SIZE.height() - height, width - 2, height, QtGui.QColor(lit))
    p.end()
    return QtGui.QIcon(pixmap)


class WearablesModel(QtCore.QAbstractTableModel):
    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[WearableRow] = []
        bold, black = theme.font(16, bold=True), QtGui.QBrush(QtGui.QColor("#000000"))
        # The state cell reads as a coloured chip, black bold text on the state's colour.
        self._chips: dict[DriverState, dict[int, object]] = {
            state: {Role.BackgroundRole: QtGui.QBrush(QtGui.QColor(background)),
                    Role.ForegroundRole: black, Role.FontRole: bold,
                    Role.TextAlignmentRole: QtCore.Qt.AlignmentFlag.AlignCenter}
            for state, (_, background) in STATE_LOOK.items()
        }  # fmt: skip
        self._grey = QtGui.QBrush(QtGui.QColor(theme.STALE))

    def set_rows(self, rows: list[WearableRow]) -> None:
        """Update in place while the same devices are listed, so the selection survives."""
        if [r.address for r in rows] != [r.address for r in self.rows]:
            self.beginResetModel()
            self.rows = list(rows)
            self.endResetModel()
        elif rows != self.rows:
            self.rows = list(rows)
            last = self.index(len(rows) - 1, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def row_of(self, address: str) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.address == address), None)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = _DISPLAY
    ) -> str | None:
        horizontal = orientation == QtCore.Qt.Orientation.Horizontal
        if horizontal and role == Role.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = _DISPLAY
    ) -> object:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        if role in _TEXT_ROLES:
            text = cells(row)[column]
            if role == Role.ToolTipRole and not row.supported:
                text += "\nVigil takes nothing from this device: it cannot be paired."
            return text
        if column == SIGNAL_COLUMN and role == Role.DecorationRole:
            return _bars_icon(signal_bars(row.rssi))
        if column == STATE_COLUMN and row.state is not None:
            return self._chips[row.state].get(role)
        if role == Role.ForegroundRole and not row.supported:
            return self._grey  # greyed: listed, but cannot be paired
        return None


class _ChipDelegate(QtWidgets.QStyledItemDelegate):
    """Keeps the state's colour on the selected row: it is the row being worked on."""

    def initStyleOption(
        self,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> None:
        super().initStyleOption(option, index)
        if index.data(Role.BackgroundRole) is not None:
            option.state &= ~QtWidgets.QStyle.StateFlag.State_Selected


def make_table(model: WearablesModel) -> QtWidgets.QTableView:
    table = QtWidgets.QTableView()
    table.setModel(model)
    view = QtWidgets.QAbstractItemView
    table.setEditTriggers(view.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(view.SelectionBehavior.SelectRows)
    table.setSelectionMode(view.SelectionMode.SingleSelection)
    table.setFont(theme.font(16))
    table.setIconSize(BAR_SIZE)
    table.setItemDelegateForColumn(STATE_COLUMN, _ChipDelegate(table))
    # The message wraps rather than being cut: it says why a device is down.
    table.setWordWrap(True)
    table.verticalHeader().hide()
    table.verticalHeader().setMinimumSectionSize(36)
    table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header = table.horizontalHeader()
    header.setFont(theme.font(15, bold=True))
    header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(COLUMNS) - 1, QtWidgets.QHeaderView.ResizeMode.Stretch)
    return table


class BedChooser(QtWidgets.QDialog):
    """Which bed a device goes to; emits ``chosen`` with the label when confirmed."""

    chosen = QtCore.Signal(str)

    def __init__(
        self, title: str, prompt: str, beds: list[str], action: str, parent: QtWidgets.QWidget
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        self.setStyleSheet("QLabel { font-size: 17px; } QComboBox { font-size: 18px; }")
        layout = QtWidgets.QVBoxLayout(self)
        label = QtWidgets.QLabel(prompt)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(beds)
        self.combo.setAccessibleName("Bed")
        layout.addWidget(self.combo)
        box, self.accept_button, _ = accept_cancel(self, action, self._choose)
        layout.addWidget(box)

    def _choose(self) -> None:
        bed = self.combo.currentText()
        self.accept()
        self.chosen.emit(bed)
