"""Cutting a stream into fixed blocks, and a block into runs of usable samples.

Analysers that judge whole blocks (a quality window, a rate update) get the same blocks at
the same sample indices however the stream was chunked, so their results never depend on it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class HopBuffer:
    def __init__(self, hop: int) -> None:
        if hop < 1:
            raise ValueError("a hop needs at least one sample")
        self.hop = hop
        self._pending = np.empty(hop)
        self._filled = 0

    def add(self, samples: npt.ArrayLike) -> list[FloatArray]:
        """The blocks of exactly ``hop`` samples completed by these samples, in order."""
        x = np.asarray(samples, dtype=np.float64).ravel()
        full: list[FloatArray] = []
        while x.size:
            take = min(self.hop - self._filled, x.size)
            self._pending[self._filled : self._filled + take] = x[:take]
            self._filled += take
            x = x[take:]
            if self._filled == self.hop:
                self._filled = 0
                full.append(self._pending.copy())
        return full


def valid_runs(block: FloatArray, limit: float) -> list[tuple[int, int, bool]]:
    """(start, stop, usable) for each run of the block; usable means finite and |x| < limit."""
    valid = np.abs(block) < limit  # False for NaN and ±inf
    if valid.all():
        return [(0, block.size, True)]
    edges = np.flatnonzero(np.diff(valid.astype(np.int8))) + 1
    starts, stops = [0, *edges.tolist()], [*edges.tolist(), block.size]
    return [(lo, hi, bool(valid[lo])) for lo, hi in zip(starts, stops, strict=True)]
