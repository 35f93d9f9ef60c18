"""What the pulse-rate and respiration-rate analysers share: one-second hops judged for
quality, a causal filter restarted after every gap, and decimation to a fixed step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from app.analysis.filters import CausalFilter
from app.analysis.hops import HopBuffer, valid_runs
from app.analysis.quality import (
    OUT_OF_RANGE,
    ChannelConfig,
    Quality,
    QualityAnalyser,
    hop_samples,
)

FloatArray = npt.NDArray[np.float64]
Estimate = TypeVar("Estimate")


class WaveRateAnalyser(ABC, Generic[Estimate]):
    _estimate: Estimate  # set by the subclass before the first sample

    def __init__(
        self, fs: float, config: ChannelConfig | str, sos: FloatArray, decimated_min_hz: float
    ) -> None:
        self.fs = fs
        self.hop = hop_samples(fs)
        self._sqi = QualityAnalyser(fs, config)
        self._filter = CausalFilter(sos)
        self._step = max(1, int(fs // decimated_min_hz))  # decimation factor
        self._hops = HopBuffer(self.hop)
        self._count = 0  # samples processed

    def feed(self, samples: npt.ArrayLike) -> None:
        for block in self._hops.add(samples):
            self._process(block)

    def estimate(self) -> Estimate:
        return self._estimate

    @property
    def quality(self) -> Quality:
        """The signal-quality judgement of the newest window."""
        return self._sqi.quality()

    def estimates_over(self, samples: npt.ArrayLike) -> list[Estimate]:
        """Batch use: feed a whole record and return the estimate after every hop."""
        x = np.asarray(samples, dtype=np.float64).ravel()
        out = []
        for start in range(0, x.size - self.hop + 1, self.hop):
            self.feed(x[start : start + self.hop])
            out.append(self.estimate())
        return out

    @abstractmethod
    def _run(self, x: FloatArray, start: int) -> None:
        """Analyse an unbroken run of valid samples starting at sample ``start``."""

    @abstractmethod
    def _reset(self, index: int) -> None:
        """Forget the filter and the history: what follows a gap starts afresh at ``index``."""

    @abstractmethod
    def _rate(self) -> Estimate: ...

    def _process(self, block: FloatArray) -> None:
        start = self._count
        self._sqi.feed_block(block)
        for lo, hi, usable in valid_runs(block, OUT_OF_RANGE):
            if usable:
                self._run(block[lo:hi], start + lo)
            else:
                self._reset(start + hi)
        self._count += block.size
        self._estimate = self._rate()
