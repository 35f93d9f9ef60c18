"""Replay of recorded ECGs (WFDB records) into a bed, with their reference annotations."""

from drivers.replay.driver import ReplayMonitor
from drivers.replay.source import ReplaySource, load_source

__all__ = ["ReplayMonitor", "ReplaySource", "load_source"]
