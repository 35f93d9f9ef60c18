"""The wearables window: the Bluetooth devices heard and paired, and what can be done with
one (pair it to a bed, move it, unassign it, forget it).

A view over :class:`WearableControl`: it reads ``rows()`` once a second while shown, and every
command's :class:`WearableError` is shown in the window in words.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from app.wearables.model import WearableControl, WearableError, WearableRow
from widgets import theme
from widgets.form_parts import error_label
from widgets.wearables_table import BedChooser, WearablesModel, describe, make_table

REFRESH_MS = 1000
Button = QtWidgets.QMessageBox.StandardButton


class WearablesPanel(QtWidgets.QDialog):
    def __init__(self, control: WearableControl, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.control = control
        self.bluetooth_ok = True
        self.chooser: BedChooser | None = None
        self.setWindowTitle("Wearables (Bluetooth)")
        self.resize(1360, 560)
        layout = QtWidgets.QVBoxLayout(self)
        self.bluetooth_banner = _banner(theme.FAULT, "Bluetooth unavailable")
        self.allow_list_banner = _banner(theme.WARNING, "Pairings not saved")
        layout.addWidget(self.bluetooth_banner)
        layout.addWidget(self.allow_list_banner)
        self.model = WearablesModel(self)
        self.table = make_table(self.model)
        self.table.selectionModel().selectionChanged.connect(self.update_actions)
        layout.addWidget(self.table, 1)
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"font-size: 16px; color: {theme.TEXT_DIM};")
        layout.addWidget(self.note)
        self.error = error_label("Wearable command error")
        # The theme's #errors rule colours it; the frame makes it hard to miss.
        self.error.setStyleSheet(
            f"font-size: 16px; border: 2px solid {theme.FAULT}; border-radius: 3px; padding: 6px;"
        )
        layout.addWidget(self.error)
        buttons = QtWidgets.QHBoxLayout()
        self.pair_button = self._button(buttons, "Pair to bed…", self.pair_selected)
        self.move_button = self._button(buttons, "Move to bed…", self.move_selected)
        self.unassign_button = self._button(buttons, "Unassign", self.unassign_selected)
        self.forget_button = self._button(buttons, "Forget…", self.forget_selected)
        buttons.addStretch(1)
        self._button(buttons, "Close", self.close)
        layout.addLayout(buttons)
        # Runs only while shown: a hidden panel costs the manager nothing.
        self.timer = QtCore.QTimer(self)
        self.timer.setObjectName("wearables-refresh")
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.refresh()

    def _button(
        self, row: QtWidgets.QHBoxLayout, text: str, slot: Callable[[], object]
    ) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setStyleSheet("font-size: 16px; padding: 8px 16px;")
        button.clicked.connect(lambda _=False: slot())
        row.addWidget(button)
        return button

    # -- reading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the control afresh; the selected device stays selected while it is listed."""
        selected = self.selected_row()
        bluetooth, allow_list = self.control.bluetooth_error, self.control.allow_list_error
        self.bluetooth_ok = bluetooth is None
        _show(self.bluetooth_banner, bluetooth and f"Bluetooth unavailable: {bluetooth}. "
              "Wearables cannot be paired or connected.")  # fmt: skip
        _show(self.allow_list_banner, allow_list and f"Pairings are not saved: {allow_list}. "
              "They last only until the station restarts.")  # fmt: skip
        self.model.set_rows(self.control.rows())
        if selected is not None and self.selected_row() is None:  # the list was rebuilt
            index = self.model.row_of(selected.address)
            if index is not None:
                self.table.selectRow(index)
        self.update_actions()

    def selected_row(self) -> WearableRow | None:
        indexes = self.table.selectionModel().selectedRows()
        return self.model.rows[indexes[0].row()] if indexes else None

    def select(self, address: str) -> None:
        index = self.model.row_of(address)
        if index is None:
            raise KeyError(address)
        self.table.selectRow(index)

    def update_actions(self) -> None:
        row = self.selected_row() if self.bluetooth_ok else None
        paired = row is not None and row.paired
        self.pair_button.setEnabled(
            row is not None and row.supported and not paired and row.seen_ago is not None
        )
        self.move_button.setEnabled(paired)
        self.unassign_button.setEnabled(paired and row is not None and row.bed is not None)
        self.forget_button.setEnabled(paired)
        note = self._note(self.selected_row())
        if self.note.text() != note:
            self.note.setText(note)

    def _note(self, row: WearableRow | None) -> str:
        if not self.bluetooth_ok:
            return "Actions are unavailable until Bluetooth works on this computer."
        if not self.model.rows:
            return "No wearable heard yet: wake the device (or start a measurement) near here."
        if row is None:
            return "Select a device to pair it to a bed, move it to another bed, or forget it."
        if not row.supported:
            return f"{describe(row)}: Vigil takes nothing from this device; it cannot be paired."
        if not row.paired and row.seen_ago is None:
            return f"{describe(row)} has not been heard: wake it up to pair it."
        return f"Selected: {describe(row)}"

    # -- commands -----------------------------------------------------------------------------

    def pair_selected(self) -> BedChooser | None:
        row = self.selected_row()
        if row is None or not self.pair_button.isEnabled():
            return None
        address, name = row.address, describe(row)

        def pair(bed: str) -> bool:
            return self.run(f"Could not pair {name} to {bed}",
                            lambda: self.control.pair(address, bed))  # fmt: skip

        prompt = f"Pair {name} to which bed?\nIt will reconnect automatically."
        return self._choose_bed("Pair to bed", prompt, self.control.beds(), pair)

    def move_selected(self) -> BedChooser | None:
        row = self.selected_row()
        if row is None or not self.move_button.isEnabled():
            return None
        address, name = row.address, describe(row)

        def move(bed: str) -> bool:
            return self.run(f"Could not move {name} to {bed}",
                            lambda: self.control.assign(address, bed))  # fmt: skip

        beds = [b for b in self.control.beds() if b != row.bed]
        prompt = f"Move {name} from {row.bed or 'no bed'} to which bed?"
        return self._choose_bed("Move to bed", prompt, beds, move)

    def unassign_selected(self) -> bool:
        row = self.selected_row()
        if row is None or not self.unassign_button.isEnabled():
            return False
        return self.run(f"Could not unassign {describe(row)}",
                        lambda: self.control.assign(row.address, None))  # fmt: skip

    def forget_selected(self) -> bool:
        """Ask first: forgetting disconnects the device and it stops feeding its bed."""
        row = self.selected_row()
        if row is None or not self.forget_button.isEnabled():
            return False
        where = f" from {row.bed}" if row.bed else ""
        answer = QtWidgets.QMessageBox.question(
            self,
            "Forget wearable",
            f"Forget {describe(row)}?\n\nIt will be disconnected{where} and taken off the "
            "allow-list: it will not reconnect until it is paired again.",
            Button.Yes | Button.No,
            Button.No,
        )
        if answer != Button.Yes:
            return False
        return self.run(f"Could not forget {describe(row)}",
                        lambda: self.control.forget(row.address))  # fmt: skip

    def run(self, failure: str, command: Callable[[], None]) -> bool:
        """Do ``command``; its WearableError stays on screen until the next command works."""
        try:
            command()
        except WearableError as exc:
            self.show_error(f"{failure}: {exc}")
            return False
        finally:
            self.refresh()
        self.error.hide()
        return True

    def _choose_bed(
        self, title: str, prompt: str, beds: list[str], on_chosen: Callable[[str], object]
    ) -> BedChooser | None:
        if not beds:
            self.show_error(f"{title}: there is no bed to choose.")
            return None
        if self.chooser is not None:
            self.chooser.deleteLater()
        self.chooser = BedChooser(title, prompt, beds, title.partition(" ")[0], self)
        self.chooser.chosen.connect(on_chosen)
        self.chooser.open()
        return self.chooser

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    # -- showing ------------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)


def _banner(background: str, name: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel()
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setStyleSheet(
        f"background: {background}; color: #000; font-weight: bold; font-size: 17px;"
        " padding: 8px 12px; border-radius: 3px;"
    )
    label.hide()
    return label


def _show(label: QtWidgets.QLabel, text: str | None) -> None:
    text = text or ""
    if text != label.text() or label.isHidden() == bool(text):
        label.setText(text)
        label.setVisible(bool(text))
