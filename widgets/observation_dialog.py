"""What the nurse observed for a bed's NEWS2: consciousness (ACVPU), supplemental oxygen, and
the SpO2 scale.

Nothing is guessed: no level of consciousness is chosen until the nurse chooses one, or a
still-valid earlier entry is shown for confirmation. A form the engine refuses keeps the
dialog open and says why; nothing is saved.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.alarms.bed_news2 import OBSERVATION_VALID, NurseObservation
from app.alarms.engine import AlarmEngine
from app.scores.news2 import CONSCIOUSNESS
from widgets import theme
from widgets.form_parts import accept_cancel, error_label

LEVEL_WORDS = {
    "A": "A — Alert",
    "C": "C — New confusion",
    "V": "V — responds to Voice",
    "P": "P — responds to Pain",
    "U": "U — Unresponsive",
}
SCALE_2_WARNING = (
    "SpO2 scale 2 lowers the SpO2 target to 88–92 %. Use it only for confirmed hypercapnic "
    "respiratory failure, on a clinician's documented decision: on any other patient it hides "
    "dangerous hypoxaemia."
)

STYLE = f"""
QLabel, QCheckBox, QRadioButton, QPushButton, QGroupBox {{ font-size: 16px; }}
QLabel#previous {{ color: {theme.TEXT_DIM}; }}
QLabel#scale2_warning {{ color: {theme.WARNING}; }}
QGroupBox[invalid="true"] {{ border: 2px solid {theme.FAULT}; }}
QLabel#errors {{ color: {theme.FAULT}; font-size: 16px; font-weight: bold; }}
"""


class ObservationDialog(QtWidgets.QDialog):
    def __init__(
        self,
        engine: AlarmEngine,
        bed: str,
        user: str,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"NEWS2 observation — {bed}")
        self.setModal(True)
        self.setMinimumWidth(520)
        self.setStyleSheet(STYLE)
        self._engine = engine
        self._bed = bed
        self._user = user
        layout = QtWidgets.QVBoxLayout(self)
        self.levels = QtWidgets.QGroupBox("Level of consciousness (ACVPU) *")
        self.levels.setProperty("invalid", False)
        self.level_group = QtWidgets.QButtonGroup(self)
        self.level_group.setExclusive(True)
        self.consciousness: dict[str, QtWidgets.QRadioButton] = {}
        levels_layout = QtWidgets.QVBoxLayout(self.levels)
        for level in CONSCIOUSNESS:
            button = QtWidgets.QRadioButton(LEVEL_WORDS[level])
            self.level_group.addButton(button)
            levels_layout.addWidget(button)
            self.consciousness[level] = button
        layout.addWidget(self.levels)
        self.on_oxygen = QtWidgets.QCheckBox("On supplemental oxygen")
        layout.addWidget(self.on_oxygen)
        self.scale2 = QtWidgets.QCheckBox(
            "SpO2 scale 2 (confirmed hypercapnic respiratory failure only)"
        )
        layout.addWidget(self.scale2)
        self.scale2_warning = QtWidgets.QLabel(SCALE_2_WARNING)
        self.scale2_warning.setObjectName("scale2_warning")
        self.scale2_warning.setWordWrap(True)
        layout.addWidget(self.scale2_warning)
        self.previous = QtWidgets.QLabel()
        self.previous.setObjectName("previous")
        self.previous.setWordWrap(True)
        layout.addWidget(self.previous)
        self.errors = error_label("Observation errors")
        layout.addWidget(self.errors)
        self.buttons, self.save_button, self.cancel_button = accept_cancel(
            self, "Save", self.try_save
        )
        layout.addWidget(self.buttons)
        self._prefill()
        focus = self.level_group.checkedButton() or self.consciousness[CONSCIOUSNESS[0]]
        focus.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def chosen_level(self) -> str | None:
        return next((lvl for lvl, b in self.consciousness.items() if b.isChecked()), None)

    def try_save(self) -> bool:
        """Save the observation if a level of consciousness is chosen and the engine takes it;
        otherwise say why, save nothing, and keep the dialog open."""
        level = self.chosen_level()
        if level is None:
            self._show_error("Choose the level of consciousness (ACVPU): nothing was saved.")
            return False
        scale = 2 if self.scale2.isChecked() else 1
        try:
            self._engine.set_observation(
                self._bed, level, self.on_oxygen.isChecked(), scale, self._user
            )
        except ValueError as exc:
            self._show_error(f"Not saved: {exc}")
            return False
        self.accept()
        return True

    def _prefill(self) -> None:
        """The last entry, while it still counts for NEWS2, shown for the nurse to confirm."""
        score = self._engine.snapshot().news2.get(self._bed)
        obs = score.observation if score is not None else None
        if obs is None:
            self.previous.setText("No earlier entry for this bed.")
            return
        age = max(0.0, self._engine.now - obs.entered_at)
        if age > OBSERVATION_VALID:
            self.previous.setText(
                f"The last entry ({_summary(obs)}, by {obs.entered_by}, {_age(age)} ago) no "
                "longer counts for NEWS2: enter a new observation."
            )
            return
        self.consciousness[obs.consciousness].setChecked(True)
        self.on_oxygen.setChecked(obs.on_oxygen)
        self.scale2.setChecked(obs.spo2_scale == 2)
        self.previous.setText(
            f"Filled in from the last entry by {obs.entered_by}, {_age(age)} ago: check it "
            "against the patient now."
        )

    def _show_error(self, text: str) -> None:
        self.levels.setProperty("invalid", self.chosen_level() is None)
        self.levels.style().unpolish(self.levels)
        self.levels.style().polish(self.levels)
        self.errors.setText(f"• {text}")
        self.errors.show()


def _summary(obs: NurseObservation) -> str:
    air = "on oxygen" if obs.on_oxygen else "on air"
    return f"{LEVEL_WORDS[obs.consciousness]}, {air}, SpO2 scale {obs.spo2_scale}"


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
