"""Ward → beds → patient; a bed holds zero or more device streams.

A bed that replays a recording has a subject instead of a patient (a de-identified description
of whose ECG it is, e.g. "MIT-BIH 208 · 23 F") and rows of marks to draw under its ECG.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model.events import Emitter
from app.model.patient import Patient
from app.signals.marks import MarkSource
from app.signals.stream import DeviceStream
from drivers.base import NumericSpec

# The kind of the derived source that carries what Vigil computes for a bed.
DERIVED_KIND = "analysis"


class Bed:
    def __init__(self, label: str) -> None:
        self.label = label
        self._patient: Patient | None = None
        self._devices: list[DeviceStream] = []
        self._subject = ""
        self._mark_sources: list[MarkSource] = []
        self.patient_changed: Emitter[Bed] = Emitter()
        self.devices_changed: Emitter[Bed] = Emitter()

    @property
    def patient(self) -> Patient | None:
        return self._patient

    @property
    def subject(self) -> str:
        """Whose recording the bed replays (de-identified), or "" for a bed with patients."""
        return self._subject

    def set_subject(self, text: str) -> None:
        self._subject = text
        self.patient_changed.emit(self)

    @property
    def mark_sources(self) -> tuple[MarkSource, ...]:
        """Rows of marks the bed's detail view draws under a trace, in order."""
        return tuple(self._mark_sources)

    def add_mark_source(self, source: MarkSource, index: int | None = None) -> None:
        """Add a row of marks (at ``index``, or last), e.g. Vigil's own beat detections.

        Views built after this show the row; an open detail view keeps the rows it has."""
        self._mark_sources.insert(len(self._mark_sources) if index is None else index, source)

    @property
    def devices(self) -> tuple[DeviceStream, ...]:
        return tuple(self._devices)

    @property
    def monitor(self) -> DeviceStream | None:
        """The device whose waveforms the bed shows: the first attached that has any (a
        wearable ECG rather than the oximeter paired before it), else the first attached."""
        with_waves = [d for d in self._devices if d.description.channels]
        if with_waves:
            return with_waves[0]
        return self._devices[0] if self._devices else None

    @property
    def simulated(self) -> bool:
        """Whether any device on this bed is simulated."""
        return any(d.simulated for d in self._devices)

    def find_numeric(self, code: str) -> tuple[DeviceStream, NumericSpec] | None:
        """The device that measures ``code``, with its description of it: Vigil's own
        analysis first (it computes HR, PR and RR from the waves), then the devices."""
        for device in sorted(self._devices, key=lambda d: d.description.info.kind != DERIVED_KIND):
            for spec in device.description.numerics:
                if spec.code == code:
                    return device, spec
        return None

    def attach(self, device: DeviceStream) -> None:
        self._devices.append(device)
        self.devices_changed.emit(self)

    def detach(self, device: DeviceStream) -> None:
        self._devices.remove(device)
        self.devices_changed.emit(self)

    def assign_patient(self, patient: Patient | None) -> None:
        """Low-level; admissions go through :meth:`Ward.admit`, which checks the rules."""
        self._patient = patient
        self.patient_changed.emit(self)


@dataclass(frozen=True, slots=True)
class Admission:
    bed: str
    patient: Patient


class Ward:
    def __init__(self, name: str, bed_labels: list[str]) -> None:
        if len(set(bed_labels)) != len(bed_labels):
            raise ValueError("bed labels must be unique")
        self.name = name
        self.beds: tuple[Bed, ...] = tuple(Bed(label) for label in bed_labels)
        self._by_label = {bed.label: bed for bed in self.beds}
        self.admitted: Emitter[Admission] = Emitter()
        self.discharged: Emitter[Admission] = Emitter()

    def bed(self, label: str) -> Bed:
        try:
            return self._by_label[label]
        except KeyError:
            raise KeyError(f"no bed {label!r} on {self.name}") from None

    def bed_of_mrn(self, mrn: str) -> str | None:
        """The label of the bed where this MRN is admitted, if any."""
        return next((b.label for b in self.beds if b.patient and b.patient.mrn == mrn), None)

    def admit(self, label: str, patient: Patient) -> None:
        bed = self.bed(label)
        if bed.patient is not None:
            raise ValueError(f"{label} is occupied by {bed.patient.mrn}; discharge first")
        if bed.subject:
            raise ValueError(f"{label} replays a recording ({bed.subject}); it takes no patient")
        elsewhere = self.bed_of_mrn(patient.mrn)
        if elsewhere is not None:
            raise ValueError(f"MRN {patient.mrn} is already admitted in {elsewhere}")
        bed.assign_patient(patient)
        self.admitted.emit(Admission(label, patient))

    def discharge(self, label: str) -> Patient:
        bed = self.bed(label)
        if bed.patient is None:
            raise ValueError(f"{label} has no patient to discharge")
        patient = bed.patient
        bed.assign_patient(None)
        self.discharged.emit(Admission(label, patient))
        return patient
