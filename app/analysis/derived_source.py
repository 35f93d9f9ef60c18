"""The driver of a bed's derived numbers: what Vigil computes, published as a device."""

from __future__ import annotations

from collections.abc import Callable

from app.model.ward import DERIVED_KIND
from drivers.base import (
    DeviceDescription,
    DeviceInfo,
    DriverState,
    DriverStatus,
    NumericSpec,
    SampleSink,
)


class AnalysisSource:
    """The driver of a bed's derived numbers. It has no thread: the service writes for it."""

    def __init__(
        self, bed_label: str, numerics: tuple[NumericSpec, ...], clock: Callable[[], float]
    ) -> None:
        self._serial = f"{bed_label}-analysis"
        self._numerics = numerics
        self._clock = clock  # the analysis's own time line, which runs ahead headless
        self._sink: SampleSink | None = None
        # Connected from birth: it computes whenever its bed's monitor delivers.
        self._status = DriverStatus(DriverState.CONNECTED, clock())

    @property
    def kind(self) -> str:
        return DERIVED_KIND

    @property
    def status(self) -> DriverStatus:
        return self._status

    def describe(self) -> DeviceDescription:
        info = DeviceInfo(DERIVED_KIND, "Vigil", "ECG/pleth/resp analysis", self._serial, False)
        return DeviceDescription(info, (), self._numerics, 0.0)

    def start(self, sink: SampleSink) -> None:
        self._sink = sink

    def stop(self, timeout: float = 2.0) -> bool:
        if self._status.state is not DriverState.STOPPED:
            self.set_status(DriverState.STOPPED, "")
        return True

    def set_status(self, state: DriverState, message: str) -> None:
        self._status = DriverStatus(state, self._clock(), message)
        if self._sink is not None:
            self._sink.write_status(self._status)

    @property
    def sink(self) -> SampleSink | None:
        return self._sink
