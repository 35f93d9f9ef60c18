"""Alarm priorities and kinds, as IEC 60601-1-8 names them."""

from __future__ import annotations

import enum


class Priority(enum.IntEnum):
    """Ordered, so that ``max`` picks the most urgent alarm."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def text(self) -> str:
        return self.name.lower()


class AlarmKind(enum.Enum):
    """IEC 60601-1-8 6.1.1: every alarm is disclosed as physiological or technical."""

    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"
