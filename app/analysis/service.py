"""Runs the analysis of every bed off the GUI thread and publishes what it computes.

Each bed with waveforms gets a derived source, itself a device on the bed: its numerics
(HR from the ECG, PR from the pleth, RR from the impedance, PVCs per minute) are Vigil's own
and take precedence over the numbers the monitor sends; its events (rhythm changes, ectopy)
go on the station bus like any device's. The service reads each channel's ring buffer from
where it stopped, so a late tick analyses more, never less.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from app.analysis.derived_source import AnalysisSource
from app.analysis.ecg_analyzer import EcgAnalysis, EcgAnalyzer
from app.analysis.pulse import PulseRateAnalyser
from app.analysis.quality import Quality as SignalQuality
from app.analysis.quality import RateStatus, Verdict
from app.analysis.respiration import RespirationRateAnalyser
from app.analysis.rhythm import RhythmConfig, RhythmEvent, RhythmLabel
from app.analysis.rr_analysis import RrBed, gives_rr
from app.inference.streaming import CONTEXT_S
from app.inference.worker import BeatRequest, InferenceWorker
from app.model.ward import DERIVED_KIND
from app.periodic import PeriodicThread
from app.signals.marks import MarkSource, MarkStore
from app.signals.ring_buffer import RingBuffer
from app.signals.stream import DeviceStream
from app.signals.tap import SampleTap
from app.station import Station
from drivers.base import (
    ChannelSpec,
    ColourRole,
    DeviceEvent,
    DriverState,
    Mark,
    NumericSpec,
    Quality,
    Reading,
    SampleSink,
)

log = logging.getLogger(__name__)

REORDER_SECONDS = 30.0  # far more than one block: the private buffer only re-times
TICK = 0.5  # s between analysis passes (live): soon enough for a screen, and cheaper
PIECE_LIVE = 1.0  # s of signal at most per analyser call, live
PIECE_HEADLESS = 0.16  # s per call headless: the simulator's block, so event times are exact
VIGIL_MARK_COLOUR = "#7fd7ff"
STALE_AFTER = 5.0  # s: derived numerics are recomputed every tick
LABEL_AFTER_S = 1.0  # s of ECG after a beat before it is labelled (as the model was scored)
HR = NumericSpec("HR", "HR", "/min", "bpm", ColourRole.ECG, stale_after=STALE_AFTER)
HR_FROM_PLETH = NumericSpec("HR", "PR (pleth)", "/min", "bpm", ColourRole.PLETH, STALE_AFTER)
PR = NumericSpec("PR", "PR", "/min", "bpm", ColourRole.PLETH, stale_after=STALE_AFTER)
RR = NumericSpec("RR", "RR", "/min", "rpm", ColourRole.RESP, stale_after=STALE_AFTER)
PVC = NumericSpec("PVC", "PVC", "/min", "/min", ColourRole.ECG, stale_after=STALE_AFTER)
# Signal-quality indices (0-1) per channel, for alarm gating; no display shows them.
SQI = {
    role: NumericSpec(f"{name}_SQI", f"{name} SQI", "1", "", role, STALE_AFTER, decimals=2)
    for role, name in ((ColourRole.ECG, "ECG"), (ColourRole.PLETH, "PLETH"),
                       (ColourRole.RESP, "RESP"))
}  # fmt: skip
# Verdicts that say nothing about noise: the channel is absent, or flat (asystole is flat).
NOT_JUDGED = frozenset({Verdict.NO_SIGNAL, Verdict.LEAD_OFF, Verdict.FLAT})
RHYTHM_TEXT = {
    RhythmLabel.NO_SIGNAL: "no ECG signal",
    RhythmLabel.LEARNING: "learning",
    RhythmLabel.ASYSTOLE: "ASYSTOLE",
    RhythmLabel.VF: "VF",
    RhythmLabel.VT: "VT",
    RhythmLabel.AF: "AF",
    RhythmLabel.BIGEMINY: "bigeminy",
    RhythmLabel.TRIGEMINY: "trigeminy",
    RhythmLabel.BRADY: "brady",
    RhythmLabel.TACHY: "tachy",
    RhythmLabel.SINUS: "regular",
}


class _Channel:
    """One channel's samples as the analysis receives them: every block through a tap,
    re-timed into a private ring buffer so that missing samples become NaN, as on screen."""

    def __init__(self, spec: ChannelSpec, device: DeviceStream, lossless: bool) -> None:
        self.spec = spec
        self.tap = SampleTap(wait_when_full=lossless)
        device.add_tap(spec.key, self.tap)
        self.buffer = RingBuffer(spec.sample_rate, REORDER_SECONDS)
        self.start = 0  # buffer index of the first analysed sample
        self.cursor = 0
        # Headless, event times must be exact to a device block; live, fewer and larger
        # analyser calls cost less (each call has a fixed overhead) and 0.5 s is soon enough.
        self._piece = max(1, round((PIECE_HEADLESS if lossless else PIECE_LIVE) * spec.sample_rate))
        self._pending: list[npt.NDArray[np.float64]] = []

    @property
    def started(self) -> bool:
        return self.buffer.t_end is not None

    def receive(self) -> None:
        """Take the blocks the tap holds through the private buffer (which turns missing
        time into NaN) and cut what is new into pieces for the analysers."""
        fresh: list[npt.NDArray[np.float32]] = []
        for samples, t_first in self.tap.drain():
            first_block = not self.started
            self.buffer.write(samples, t_first)
            span = self.buffer.span()
            if first_block:
                self.start = self.cursor = span.end - len(samples)
            self.cursor = max(self.cursor, span.oldest)
            values, _ = self.buffer.read(self.cursor, span.end)
            fresh.append(values)
            self.cursor = span.end
        if not fresh:
            return
        joined = np.concatenate(fresh).astype(np.float64)
        self._pending += [joined[i : i + self._piece] for i in range(0, len(joined), self._piece)]

    def pieces(self) -> list[npt.NDArray[np.float64]]:
        """The pieces received since the last call."""
        out, self._pending = self._pending, []
        return out

    def time_of(self, stream_seconds: float) -> float:
        """Station time of a moment given in seconds since this channel's analysis began."""
        span = self.buffer.span()
        return span.time_at(self.start + stream_seconds * self.spec.sample_rate)


def _first(device: DeviceStream, role: ColourRole, lossless: bool) -> _Channel | None:
    for spec in device.description.channels:
        if spec.colour_role is role:
            return _Channel(spec, device, lossless)
    return None


class _EcgContext:
    """The last ``CONTEXT_S`` s of one bed's raw ECG, with the stream index of its start."""

    def __init__(self, fs: float) -> None:
        self._keep = round(CONTEXT_S * fs)
        self.values = np.zeros(0)
        self.origin = 0

    def add(self, piece: npt.NDArray[np.float64]) -> None:
        self.values = np.concatenate([self.values, piece])
        excess = self.values.size - self._keep
        if excess > 0:
            self.values = self.values[excess:]
            self.origin += excess


class BedAnalysis:
    """The analysers of one bed's monitor and the derived source they publish through."""

    def __init__(
        self,
        device: DeviceStream,
        config: RhythmConfig | None,
        lossless: bool,
        inference: InferenceWorker | None = None,
    ) -> None:
        self.device = device
        self.ecg = _first(device, ColourRole.ECG, lossless)
        self.pleth = _first(device, ColourRole.PLETH, lossless)
        self.resp = _first(device, ColourRole.RESP, lossless)
        self._lossless = lossless
        self._inference = inference if self.ecg is not None else None
        self.ecg_analyzer = (
            EcgAnalyzer(self.ecg.spec.sample_rate, config, deferred=self._inference is not None)
            if self.ecg
            else None
        )
        self._context = _EcgContext(self.ecg.spec.sample_rate) if self.ecg else None
        self._requested_until = -1  # sample of the newest beat sent for labelling
        self._marked_until = -1  # sample of the newest beat drawn as a mark
        self.pulse = PulseRateAnalyser(self.pleth.spec.sample_rate) if self.pleth else None
        self.breath = RespirationRateAnalyser(self.resp.spec.sample_rate) if self.resp else None
        numerics: list[NumericSpec] = []
        if self.ecg is not None:
            numerics += [HR, PVC]
        if self.pleth is not None:
            numerics += [PR] if self.ecg is not None else [HR_FROM_PLETH, PR]
        if self.resp is not None:
            numerics.append(RR)
        numerics += [SQI[c.spec.colour_role] for c in (self.ecg, self.pleth, self.resp) if c]
        self.analysed_until: float | None = None
        self.source = AnalysisSource(device.bed_label, tuple(numerics), self._now)
        self.marks = MarkStore()  # Vigil's beat labels, for the detail view's overlay

    def _now(self) -> float:
        return self.analysed_until if self.analysed_until is not None else time.time()

    @property
    def has_channels(self) -> bool:
        return any((self.ecg, self.pleth, self.resp))

    def close(self) -> None:
        for channel in (self.ecg, self.pleth, self.resp):
            if channel is not None:
                channel.tap.close()

    def step(self) -> None:
        sink = self.source.sink
        if sink is None:
            return
        readings: list[Reading] = []
        ends: list[float] = []
        for channel in (self.ecg, self.pleth, self.resp):
            if channel is not None:
                channel.receive()
        if self.ecg is not None and self.ecg_analyzer is not None and self.ecg.started:
            readings += self._step_ecg(self.ecg, self.ecg_analyzer, sink)
            ends.append(
                self.ecg.time_of(
                    self.ecg_analyzer.snapshot.sample_index / self.ecg.spec.sample_rate
                )
            )
        # Readings after every piece, each stamped with its piece's time: what the alarms
        # see then depends on the signal, not on how much of it one step happened to take.
        if self.pleth is not None and self.pulse is not None and self.pleth.started:
            for piece in self.pleth.pieces():
                self.pulse.feed(piece)
                readings += self._pulse_readings(self.pleth)
                readings.append(_sqi_reading(self.pleth, self.pulse.quality))
        if self.resp is not None and self.breath is not None and self.resp.started:
            for piece in self.resp.pieces():
                self.breath.feed(piece)
                readings.append(self._resp_reading(self.resp))
                readings.append(_sqi_reading(self.resp, self.breath.quality))
        if readings:
            sink.write_readings(readings)
        if ends:
            self.analysed_until = min(ends)

    def _step_ecg(
        self, channel: _Channel, analyzer: EcgAnalyzer, sink: SampleSink
    ) -> list[Reading]:
        events: list[RhythmEvent] = []
        readings: list[Reading] = []
        fs = channel.spec.sample_rate
        events += self._take_labels(analyzer)
        for piece in channel.pieces():
            # The lead state when these samples were taken, not now: headless, the driver
            # may be far ahead of the analysis.
            end = channel.time_of((analyzer.snapshot.sample_index + len(piece)) / fs)
            analyzer.set_lead_off(self.device.condition_active_at("ECG_LEAD_OFF", end))
            if self._context is not None:
                self._context.add(piece)
            events += analyzer.feed(piece)
            if self._lossless:  # labelled at once, so a run's events do not depend on timing
                events += self._label(analyzer, inline=True)
            readings += self._ecg_readings(channel, analyzer.snapshot)
        if not self._lossless:
            events += self._label(analyzer, inline=False)
        self._record_marks(channel, analyzer)
        for event in events:
            sink.write_event(DeviceEvent(event.kind, event.name, channel.time_of(event.time)))
        return readings

    def _label(self, analyzer: EcgAnalyzer, *, inline: bool) -> list[RhythmEvent]:
        """Ask the beat classifier for the beats that now have a successor (the interval
        after a beat is part of its features); inline, label them and take them at once."""
        worker, context = self._inference, self._context
        if worker is None or context is None:
            return []
        detected = [b.sample for b in analyzer.beats if b.sample >= context.origin]
        if len(detected) < 2:
            return []
        # A beat is labelled once the next one is found and a second of ECG follows it: its
        # features read the interval after it, and the filters need the signal around it.
        settled = context.origin + context.values.size - round(LABEL_AFTER_S * analyzer.fs)
        ready = [
            s
            for s in analyzer.awaiting_labels
            if self._requested_until < s < detected[-1] and s <= settled
        ]
        if not ready:
            return []
        peaks = np.asarray(detected, dtype=np.int64) - context.origin
        wanted = np.flatnonzero(np.isin(detected, ready)).astype(np.int64)
        request = BeatRequest(self.device.bed_label, context.values.copy(),
                              analyzer.fs, context.origin, peaks, wanted)  # fmt: skip
        if worker.submit(request):
            self._requested_until = ready[-1]
        if not inline:
            return []
        worker.run_pending()
        return self._take_labels(analyzer)

    def _take_labels(self, analyzer: EcgAnalyzer) -> list[RhythmEvent]:
        if self._inference is None:
            return []
        events: list[RhythmEvent] = []
        for found in self._inference.results(self.device.bed_label):
            events += analyzer.resolve(found.samples, found.labels, found.af_labels)
        return events

    def _record_marks(self, channel: _Channel, analyzer: EcgAnalyzer) -> None:
        """Each beat's final class (the classifier's, or the shape rule's) as a mark."""
        fs = channel.spec.sample_rate
        fresh = [
            Mark(channel.time_of(b.sample / fs), b.beat_class.value)
            for b in analyzer.resolved
            if b.sample > self._marked_until
        ]
        if fresh:
            self.marks.add(fresh)
            self._marked_until = analyzer.resolved[-1].sample

    def _ecg_readings(self, channel: _Channel, snapshot: EcgAnalysis) -> list[Reading]:
        stamp = channel.time_of(snapshot.sample_index / channel.spec.sample_rate)
        rhythm = RHYTHM_TEXT[snapshot.rhythm]
        if snapshot.rhythm is RhythmLabel.NO_SIGNAL:
            hr = Reading("HR", None, "/min", stamp, Quality.UNAVAILABLE, snapshot.quality.reason)
        elif snapshot.heart_rate is None:
            hr = Reading("HR", None, "/min", stamp, Quality.INVALID, rhythm)
        else:
            doubtful = snapshot.quality.score < 0.5 and snapshot.rhythm is not RhythmLabel.ASYSTOLE
            quality = Quality.QUESTIONABLE if doubtful else Quality.VALID
            # The tile has no room for a PVC box: the count goes with the rhythm under HR.
            pvcs = round(snapshot.pvc_per_minute)
            note = f"{rhythm} · PVC {pvcs}/min" if pvcs else rhythm
            hr = Reading("HR", round(snapshot.heart_rate), "/min", stamp, quality, note)
        pvc = Reading("PVC", round(snapshot.pvc_per_minute), "/min", stamp, Quality.VALID)
        if snapshot.rhythm in (RhythmLabel.NO_SIGNAL, RhythmLabel.LEARNING):
            pvc = Reading("PVC", None, "/min", stamp, Quality.UNAVAILABLE, rhythm)
        return [hr, pvc, _sqi_reading(channel, snapshot.quality, stamp=stamp)]

    def _pulse_readings(self, channel: _Channel) -> list[Reading]:
        if self.pulse is None:
            return []
        estimate = self.pulse.estimate()
        stamp = channel.time_of(estimate.sample_index / channel.spec.sample_rate)
        value, quality = _rate_value(estimate.bpm, estimate.status)
        readings = [
            Reading(
                "PR", value, "/min", stamp, quality, _rate_note(estimate.status, estimate.reason)
            )
        ]
        if self.ecg is None:
            readings.append(Reading("HR", value, "/min", stamp, quality, "from pleth"))
        return readings

    def _resp_reading(self, channel: _Channel) -> Reading:
        if self.breath is None:
            raise RuntimeError("respiration analysis missing for a RESP channel")
        estimate = self.breath.estimate()
        stamp = channel.time_of(estimate.sample_index / channel.spec.sample_rate)
        value, quality = _rate_value(estimate.per_min, estimate.status)
        return Reading(
            "RR", value, "/min", stamp, quality, _rate_note(estimate.status, estimate.reason)
        )


def _sqi_reading(
    channel: _Channel,
    quality: SignalQuality,
    stamp: float | None = None,
) -> Reading:
    """The channel's signal-quality index as a reading: 0-1 while the signal is there to
    judge, no value (with the reason) while it is absent or flat."""
    code = SQI[channel.spec.colour_role].code
    if stamp is None:
        stamp = channel.time_of(quality.sample_index / channel.spec.sample_rate)
    if quality.verdict in NOT_JUDGED:
        return Reading(code, None, "1", stamp, Quality.UNAVAILABLE, quality.reason)
    return Reading(code, round(quality.score, 2), "1", stamp, Quality.VALID, quality.reason)


def _rate_value(value: float | None, status: RateStatus) -> tuple[float | None, Quality]:
    if status is RateStatus.VALID and value is not None:
        return round(value), Quality.VALID
    if status is RateStatus.NO_SIGNAL:
        return None, Quality.UNAVAILABLE
    return None, Quality.INVALID


def _rate_note(status: RateStatus, reason: str) -> str:
    return "" if status is RateStatus.VALID else reason


class AnalysisService:
    """Every bed's analysis, stepped by its own thread (GUI) or by a headless runner."""

    def __init__(
        self,
        station: Station,
        config: RhythmConfig | None = None,
        lossless: bool = False,
        inference: InferenceWorker | None = None,
    ) -> None:
        """``lossless``: drivers wait for the analysis (headless runs at full speed); live,
        the analysis is never allowed to hold a driver up. ``inference``: the beat
        classifier's worker (None: beats are classed by their shape alone)."""
        self._station = station
        self._inference = inference
        # Told the classifier's failure text when it changes (None: working again).
        self.on_inference_failure: Callable[[str | None], None] | None = None
        self._inference_failure: str | None = None
        self._lossless = lossless
        self._config = config
        self._beds: dict[str, BedAnalysis | RrBed] = {}
        self._derived: dict[str, DeviceStream] = {}  # bed -> the derived source's stream
        self._lock = threading.Lock()  # beds come and go (wearables) while the thread steps
        self._thread = PeriodicThread("vigil-analysis", TICK, self.step)
        self._failed: set[str] = set()
        station.attached.connect(self._on_attached)
        station.detached.connect(self._on_detached)

    def attach(self) -> None:
        """Give every bed with a waveform device (or a strap's RR intervals) its derived
        source; later attachments are picked up as they happen."""
        for device in self._station.devices:
            self._on_attached(device)

    def _on_attached(self, device: DeviceStream) -> None:
        if device.description.info.kind == DERIVED_KIND or device.bed_label in self._beds:
            return
        waves = BedAnalysis(device, self._config, self._lossless, self._inference)
        bed: BedAnalysis | RrBed
        if waves.has_channels:
            bed = waves
        elif gives_rr(device.description.numerics):
            bed = RrBed(device)
        else:
            return
        with self._lock:
            self._beds[device.bed_label] = bed
            self._failed.discard(device.bed_label)
        self._derived[device.bed_label] = self._station.attach(device.bed_label, bed.source)
        if isinstance(bed, BedAnalysis) and bed.ecg is not None:
            row = MarkSource(bed.ecg.spec.key, "Vigil", VIGIL_MARK_COLOUR, bed.marks.between)
            self._station.ward.bed(device.bed_label).add_mark_source(row)

    def _on_detached(self, device: DeviceStream) -> None:
        """A device analysed here left its bed: its derived numbers go with it."""
        bed = self._beds.get(device.bed_label)
        if bed is None or bed.device is not device:
            return
        with self._lock:
            del self._beds[device.bed_label]
        if isinstance(bed, BedAnalysis):
            bed.close()
        derived = self._derived.pop(device.bed_label, None)
        if derived is not None:
            self._station.detach(derived)

    def bed(self, label: str) -> BedAnalysis | None:
        found = self._beds.get(label)
        return found if isinstance(found, BedAnalysis) else None

    @property
    def analysed_until(self) -> float:
        """Station time before which every bed's ECG events have been published."""
        times = [
            b.analysed_until
            for b in list(self._beds.values())
            if isinstance(b, BedAnalysis) and b.ecg is not None
        ]
        if not times or any(t is None for t in times):
            return float("-inf")
        return min(t for t in times if t is not None)

    def step(self) -> None:
        self._watch_inference()
        with self._lock:
            beds = list(self._beds.items())
        for label, bed in beds:
            if self._thread.stopping:
                return  # shutting down: the rest of the beds do not matter any more
            if label in self._failed:
                continue
            try:
                bed.step()
                time.sleep(0)  # let the GUI thread have the interpreter between beds
            except Exception as exc:
                # A fault shows on its bed (FAILED, with the reason) and stops only that bed.
                self._failed.add(label)
                log.exception("analysis of bed %s failed", label)
                bed.source.set_status(DriverState.FAILED, f"analysis failed: {exc}")

    def _watch_inference(self) -> None:
        failure = self._inference.failure if self._inference is not None else None
        if failure != self._inference_failure:
            self._inference_failure = failure
            if self.on_inference_failure is not None:
                self.on_inference_failure(failure)

    @property
    def failed_beds(self) -> frozenset[str]:
        return frozenset(self._failed)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Release drivers that may be waiting on a full tap (lossless mode)."""
        for bed in list(self._beds.values()):
            if isinstance(bed, BedAnalysis):
                bed.close()

    def stop(self, timeout: float = 3.0) -> bool:
        self._thread.request_stop()
        self.close()  # a driver waiting on a full tap must not hold the thread up
        return self._thread.stop(timeout)
