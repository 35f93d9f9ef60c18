"""Waves rendered once on their own stretch of the sample grid (a beat, a pulse) and summed
into every block they overlap, so block boundaries never change the signal."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class WaveOverlay:
    def __init__(self, fs: float) -> None:
        self.fs = fs
        self._waves: list[tuple[int, FloatArray]] = []  # (index of the first sample, samples)

    def add(self, t_start: float, t_end: float, shape: Callable[[FloatArray], FloatArray]) -> None:
        """A wave over ``[t_start, t_end]``; ``shape`` gives its value at the sample times."""
        first = math.ceil(t_start * self.fs)
        t = np.arange(first, math.floor(t_end * self.fs) + 1) / self.fs
        self._waves.append((first, shape(t)))

    def render(self, n0: int, n: int) -> FloatArray:
        """The sum of all waves over samples ``n0 .. n0+n-1``; finished waves are dropped."""
        y = np.zeros(n)
        for first, samples in self._waves:
            lo, hi = max(first, n0), min(first + len(samples), n0 + n)
            if hi > lo:
                y[lo - n0 : hi - n0] += samples[lo - first : hi - first]
        self._waves = [(f, s) for f, s in self._waves if f + len(s) > n0 + n]
        return y
