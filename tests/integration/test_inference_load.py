"""The beat classifier keeps up with a full ward: 32 simulated beds, live, for 10 s."""

from __future__ import annotations

import time

from app.analysis.service import AnalysisService
from app.demo_ward import SimConfig, build_simulated_station
from app.inference.model import default_model
from app.inference.worker import InferenceWorker

SECONDS = 10.0


def test_the_worker_keeps_up_with_32_beds_without_a_backlog() -> None:
    station = build_simulated_station(SimConfig(beds=32, speed=1.0, ecg_rate=500))
    worker = InferenceWorker.for_model(default_model())
    analysis = AnalysisService(station, inference=worker)
    analysis.attach()
    station.start()
    worker.start()
    analysis.start()
    backlog = []
    try:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            time.sleep(0.5)
            backlog.append(worker.stats().backlog)
    finally:
        assert analysis.stop()
        assert worker.stop()
        assert station.stop() == []
    stats = worker.stats()
    analysers = [b.ecg_analyzer for b in (analysis.bed(bed.label) for bed in station.ward.beds)
                 if b is not None and b.ecg_analyzer is not None]  # fmt: skip
    labelled = stats.beats
    fallbacks = sum(a.fallbacks for a in analysers)
    # About 32 beds × 1.2 beats/s × 10 s; the first seconds have no successor beat yet.
    assert labelled > 32 * 5
    assert max(backlog) <= 32  # at most one request per bed waiting: it never piles up
    assert stats.worst_latency_ms < 1000.0
    assert stats.refused == 0
    assert fallbacks <= 0.02 * labelled  # beats the classifier did not label in time
