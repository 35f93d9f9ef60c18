"""Plays the IEC 60601-1-8 alarm sounds of ``app.alarms.tones`` through QtMultimedia.

Audio can be missing (no libpulse, no sound server, no device, a device unplugged). The player
then keeps its state and says why in ``unavailable_reason``, so the GUI can show AUDIO
UNAVAILABLE: an alarm station must never go silent without saying so.
"""

from __future__ import annotations

import logging

from PySide6 import QtCore

from app.alarms.priority import Priority
from app.alarms.tones import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    PATTERNS,
    REMINDER,
    BurstPattern,
    render_burst,
)

try:
    from PySide6 import QtMultimedia
except ImportError as exc:  # e.g. libpulse.so.0 missing: the station runs on, and says so
    _IMPORT_ERROR: str | None = f"QtMultimedia cannot be loaded: {exc}"
else:
    _IMPORT_ERROR = None

log = logging.getLogger(__name__)

NO_DEVICE = "no audio output device"
DEFAULT_SAMPLE_RATE = 48_000


class AlarmSoundPlayer(QtCore.QObject):
    """Loops the burst of the sounding priority; plays the alarm-off reminder on request."""

    availability_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._sounding: Priority | None = None
        self._closed = False
        self._available = False
        self._reason = _IMPORT_ERROR or NO_DEVICE
        self._repeat = QtCore.QTimer(self)
        self._repeat.setObjectName("alarm-sound-repeat")
        # Bursts are seconds apart; a coarse timer could drift by 5 % of that.
        self._repeat.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._repeat.timeout.connect(self._play_sounding)
        self._buffer = QtCore.QBuffer(self)
        self._pcm: dict[BurstPattern, bytes] = {}
        self._channels = 1
        self._sample_rate = DEFAULT_SAMPLE_RATE
        self._device: QtMultimedia.QAudioDevice | None = None
        self._sink: QtMultimedia.QAudioSink | None = None
        if _IMPORT_ERROR is None:
            self._devices = QtMultimedia.QMediaDevices(self)
            self._devices.audioOutputsChanged.connect(self._recheck)
            self._recheck()
        if not self._available:
            log.warning("alarm audio unavailable: %s", self._reason)

    @property
    def available(self) -> bool:
        return self._available

    @property
    def unavailable_reason(self) -> str:
        """Why no sound can be played; empty while it can."""
        return "" if self._available else self._reason

    @property
    def sounding(self) -> Priority | None:
        """The priority whose burst is looping (or would be, were audio available)."""
        return self._sounding

    def set_sounding(self, priority: Priority | None) -> None:
        """Loop the burst of ``priority``, or fall silent for None.

        A change of priority switches at once, mid-burst if need be: a higher one must not
        wait out the interval of a lower one. Setting the same priority again changes nothing.
        """
        if self._closed or priority == self._sounding:
            return
        self._sounding = priority
        self._restart()

    def play_reminder(self) -> None:
        """Play the alarm-off reminder once; skipped while an alarm burst is looping."""
        if self._sounding is None and self._can_play():
            self._play(REMINDER)

    def close(self) -> None:
        """Stop the repetition and the audio for good."""
        self._closed = True
        self._sounding = None
        self._repeat.stop()
        self._stop_audio()

    def _can_play(self) -> bool:
        return self._available and not self._closed

    def _restart(self) -> None:
        self._repeat.stop()
        self._stop_audio()
        if self._sounding is None or not self._can_play():
            return
        interval = PATTERNS[self._sounding].period
        if interval is not None:
            self._repeat.start(round(interval * 1000))
        self._play_sounding()

    def _play_sounding(self) -> None:
        if self._sounding is not None:
            self._play(PATTERNS[self._sounding])

    def _play(self, pattern: BurstPattern) -> None:
        if self._sink is None:
            return
        if pattern not in self._pcm:
            pcm = render_burst(pattern, self._sample_rate)
            if self._channels == 2:
                pcm = pcm.repeat(2)  # interleaved L/R
            self._pcm[pattern] = pcm.tobytes()
        self._sink.stop()
        self._buffer.close()
        self._buffer.setData(QtCore.QByteArray(self._pcm[pattern]))
        self._buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
        self._sink.start(self._buffer)

    def _stop_audio(self) -> None:
        if self._sink is not None:
            self._sink.stop()
        self._buffer.close()

    def _recheck(self) -> None:
        """Re-read the default output (at start and whenever the outputs change)."""
        if self._closed:
            return
        device = QtMultimedia.QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self._set_available(False, NO_DEVICE)
            return
        if self._device is None or device != self._device:
            fmt = self._format_for(device)
            if fmt is None:
                self._set_available(False, "the audio output accepts no 16-bit PCM")
                return
            self._use_device(device, fmt)
        self._set_available(True, "")

    def _format_for(self, device: QtMultimedia.QAudioDevice) -> QtMultimedia.QAudioFormat | None:
        rate = device.preferredFormat().sampleRate()
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            rate = DEFAULT_SAMPLE_RATE
        for channels in (1, 2):  # some outputs take stereo only
            fmt = QtMultimedia.QAudioFormat()
            fmt.setSampleRate(rate)
            fmt.setChannelCount(channels)
            fmt.setSampleFormat(QtMultimedia.QAudioFormat.SampleFormat.Int16)
            if device.isFormatSupported(fmt):
                return fmt
        return None

    def _use_device(
        self, device: QtMultimedia.QAudioDevice, fmt: QtMultimedia.QAudioFormat
    ) -> None:
        self._stop_audio()
        if self._sink is not None:
            self._sink.deleteLater()
        self._device = device
        self._sample_rate, self._channels = fmt.sampleRate(), fmt.channelCount()
        self._pcm.clear()
        self._sink = QtMultimedia.QAudioSink(device, fmt, self)
        self._sink.stateChanged.connect(self._on_sink_state)

    def _on_sink_state(self, _state: QtMultimedia.QtAudio.State) -> None:
        if self._sink is None:
            return
        error = self._sink.error()
        # These mean the sound is not coming out; an underrun only marks the end of a burst.
        failures = (
            QtMultimedia.QtAudio.Error.OpenError,
            QtMultimedia.QtAudio.Error.IOError,
            QtMultimedia.QtAudio.Error.FatalError,
        )
        if error in failures:
            self._device = None  # rebuild the sink when the outputs next change
            self._set_available(False, f"audio output failed ({error.name})")

    def _set_available(self, available: bool, reason: str) -> None:
        if not available:
            self._reason = reason
        if available == self._available:
            return
        self._available = available
        if available:
            log.info("alarm audio available")
        else:
            log.warning("alarm audio unavailable: %s", reason)
        self._restart()
        self.availability_changed.emit(available)
