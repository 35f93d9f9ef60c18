"""Checks that a streaming rate analyser gives the same estimates however it is fed."""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

E_co = TypeVar("E_co", covariant=True)


class HasIndex(Protocol):
    @property
    def sample_index(self) -> int: ...


Estimate = TypeVar("Estimate", bound=HasIndex)


class Streaming(Protocol[E_co]):
    def feed(self, samples: npt.ArrayLike) -> None: ...

    def estimate(self) -> E_co: ...


def record(
    analyser: Streaming[Estimate], x: npt.NDArray[np.float64], chunks: list[int]
) -> list[Estimate]:
    """Feed ``x`` in chunks of the given sizes, over and over; the estimate after each."""
    seen, position = [], 0
    while position < x.size:
        for size in chunks:
            analyser.feed(x[position : position + size])
            position += size
            seen.append(analyser.estimate())
    return seen


def assert_any_chunking_matches(
    analyser: Streaming[Estimate],
    whole: list[Estimate],
    x: npt.NDArray[np.float64],
    chunks: list[int],
) -> None:
    by_index = {e.sample_index: e for e in whole}
    seen = record(analyser, x, chunks)
    assert seen[-1] == by_index[max(by_index)]
    assert all(e == by_index[e.sample_index] for e in seen if e.sample_index)


def assert_fixed_chunks_match(
    analyser: Streaming[Estimate],
    whole: list[Estimate],
    x: npt.NDArray[np.float64],
    size: int,
    hop: int,
) -> None:
    by_index = {e.sample_index: e for e in whole}
    seen = [e for e in record(analyser, x, [size]) if e.sample_index]
    assert all(e == by_index[e.sample_index] for e in seen)
    if size <= hop:  # then every estimate was seen
        assert {e.sample_index for e in seen} == set(by_index)
