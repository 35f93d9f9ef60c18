"""The inference worker: labels the beats of every bed, in batches, on a thread of its own.

Each bed's analysis submits a request (a recent stretch of its ECG, the R peaks in it, and
which of them it wants labelled); every ``BATCH_EVERY`` s the worker labels what all beds
asked for and hands each bed its labels back through a queue of its own. The analysis never
waits for it live: a beat whose label is late is classified by the beat-shape rule instead
(counted, never dropped). Headless, ``run_pending`` is called inline, so a run with the same
seed gives the same labels and events.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.inference.beats import calls_many
from app.inference.model import BeatModel, Calls
from app.periodic import PeriodicThread

log = logging.getLogger(__name__)

BATCH_EVERY = 0.25  # s between batches: labels reach the rhythm within about a beat
MAX_REQUESTS = 4096  # queued requests beyond this are refused (and counted), not buffered

Labels = npt.NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class BeatRequest:
    bed: str
    ecg: npt.NDArray[np.float64]  # a recent stretch of raw ECG (mV; NaN in gaps)
    fs: float
    origin: int  # stream sample index of ecg[0]
    peaks: npt.NDArray[np.int64]  # R peaks in the stretch (indices into ecg), ascending
    wanted: npt.NDArray[np.int64]  # indices into ``peaks`` of the beats to label
    submitted: float = 0.0  # monotonic time, for the latency figures


@dataclass(frozen=True, slots=True)
class BeatLabels:
    bed: str
    samples: npt.NDArray[np.int64]  # stream sample index of each labelled R peak
    labels: Labels  # "N", "S", "V", "F" or "Q", one per sample
    af_labels: Labels  # the same beats' labels at the AF monitor's multipliers (Calls.af)


@dataclass(frozen=True, slots=True)
class WorkerStats:
    batches: int
    beats: int
    refused: int  # requests refused because the queue was full
    backlog: int  # requests waiting now
    last_batch_ms: float
    worst_latency_ms: float  # submit to labels, over the last 100 batches


Labeller = Callable[[Sequence[BeatRequest]], list[Calls]]


def label_requests(model: BeatModel, requests: Sequence[BeatRequest]) -> list[Calls]:
    """The calls of each request's wanted beats: every bed's features, one model call."""
    contexts = [(r.ecg, r.fs, r.peaks, r.wanted) for r in requests]
    return calls_many(model, contexts)


class InferenceWorker:
    def __init__(self, labeller: Labeller, clock: Callable[[], float] = time.monotonic) -> None:
        """``labeller``: the calls of each request's wanted beats (the model's, in use)."""
        self._labeller = labeller
        self._clock = clock
        self._requests: queue.Queue[BeatRequest] = queue.Queue(MAX_REQUESTS)
        self._results: dict[str, deque[BeatLabels]] = defaultdict(deque)
        self._lock = threading.Lock()  # guards results and statistics
        self._thread = PeriodicThread("vigil-inference", BATCH_EVERY, self._batch)
        self._batches = self._beats = self._refused = 0
        self._last_batch_ms = 0.0
        self._latencies: deque[float] = deque(maxlen=100)
        self.failure: str | None = None  # set when labelling failed: the analysis falls back

    @staticmethod
    def for_model(model: BeatModel) -> InferenceWorker:
        return InferenceWorker(lambda requests: label_requests(model, requests))

    def submit(self, request: BeatRequest) -> bool:
        """Queue a request (any thread); False when the queue is full (the caller falls
        back to the shape rule for those beats)."""
        stamped = BeatRequest(request.bed, request.ecg, request.fs, request.origin,
                              request.peaks, request.wanted, self._clock())  # fmt: skip
        try:
            self._requests.put_nowait(stamped)
        except queue.Full:
            with self._lock:
                self._refused += 1
            return False
        return True

    def results(self, bed: str) -> list[BeatLabels]:
        """The labels that came back for ``bed`` since the last call (any thread)."""
        with self._lock:
            ready = self._results.get(bed)
            if not ready:
                return []
            out = list(ready)
            ready.clear()
        return out

    def _batch(self) -> None:
        self.run_pending()

    def run_pending(self) -> int:
        """Label everything queued, as one batch; the number of beats labelled."""
        batch: list[BeatRequest] = []
        while True:
            try:
                batch.append(self._requests.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return 0
        begin = self._clock()
        try:
            labels = self._labeller(batch)
        except Exception as exc:  # the beats fall back to the shape rule: said, not hidden
            log.exception("beat labelling failed for a batch of %d requests", len(batch))
            with self._lock:
                self.failure = f"beat classifier failed: {exc}"
            return 0
        end = self._clock()
        count = 0
        with self._lock:
            self.failure = None
            for request, found in zip(batch, labels, strict=True):
                samples = request.origin + request.peaks[request.wanted]
                ready = BeatLabels(request.bed, samples, found.beats, found.af)
                self._results[request.bed].append(ready)
                count += int(found.beats.size)
                self._latencies.append(end - request.submitted)
            self._batches += 1
            self._beats += count
            self._last_batch_ms = 1000.0 * (end - begin)
        return count

    def stats(self) -> WorkerStats:
        with self._lock:
            worst = max(self._latencies, default=0.0)
            return WorkerStats(self._batches, self._beats, self._refused,
                               self._requests.qsize(), self._last_batch_ms,
                               1000.0 * worst)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        return self._thread.stop(timeout)
