"""WFDB annotation files in MIT format (``.atr``): sample, symbol, aux note per annotation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.wfdb.header import WfdbFormatError

# The WFDB annotation codes (ecgcodes.h) by number; "" marks codes that are unused.
SYMBOLS = (
    "",
    "N",
    "L",
    "R",
    "a",
    "V",
    "F",
    "J",
    "A",
    "S",
    "E",
    "j",
    "/",
    "Q",
    "~",
    "",
    "|",
    "",
    "s",
    "T",
    "*",
    "D",
    '"',
    "=",
    "p",
    "B",
    "^",
    "t",
    "+",
    "u",
    "?",
    "!",
    "[",
    "]",
    "e",
    "n",
    "@",
    "x",
    "f",
    "(",
    ")",
    "r",
)
_SKIP, _NUM, _SUB, _CHN, _AUX = 59, 60, 61, 62, 63

# ANSI/AAMI EC57 beat labels: the annotations that mark a QRS complex.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
AAMI_CLASS = {
    **dict.fromkeys("NLReBjn", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VEr", "V"),
    "F": "F",
    **dict.fromkeys("/fQ?", "Q"),
}


@dataclass(frozen=True, slots=True)
class Annotations:
    samples: npt.NDArray[np.int64]
    symbols: tuple[str, ...]
    aux: tuple[str, ...]

    def beats(self) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
        """The EC57 beat annotations only: their samples and symbols."""
        keep = [i for i, symbol in enumerate(self.symbols) if symbol in BEAT_SYMBOLS]
        return self.samples[keep], tuple(self.symbols[i] for i in keep)

    def rhythm_changes(self) -> list[tuple[int, str]]:
        """(sample, rhythm) at each ``+`` annotation, e.g. ``(4000, "(AFIB")``."""
        return [
            (int(self.samples[i]), self.aux[i].rstrip("\x00"))
            for i, symbol in enumerate(self.symbols)
            if symbol == "+"
        ]


def read_annotations(path: str | Path, extension: str = "atr") -> Annotations:
    """Read ``<record>.<extension>``; ``path`` names the record without extension."""
    file = Path(f"{path}.{extension}")
    try:
        data = np.fromfile(file, dtype="<u2")
    except OSError as exc:
        raise WfdbFormatError(f"cannot read annotations {file}: {exc.strerror}") from exc
    return _decode(file, data.tolist(), file.read_bytes())


def _decode(file: Path, words: list[int], raw: bytes) -> Annotations:
    samples: list[int] = []
    symbols: list[str] = []
    aux: list[str] = []
    time = 0
    i = 0
    while i < len(words):
        code, value = words[i] >> 10, words[i] & 0x3FF
        i += 1
        if code == 0 and value == 0:
            break
        if code == _SKIP:
            if i + 2 > len(words):
                raise WfdbFormatError(f"{file}: truncated SKIP at word {i}")
            skip = (words[i] << 16) | words[i + 1]  # PDP-11 order: high word first
            time += skip - (1 << 32) if skip & 0x80000000 else skip
            i += 2
        elif code == _AUX:
            if symbols:
                start = i * 2
                aux[-1] = raw[start : start + value].decode("latin-1")
            i += (value + 1) // 2
        elif code in (_NUM, _SUB, _CHN):
            continue  # per-annotation fields Vigil does not use
        else:
            time += value
            samples.append(time)
            symbols.append(SYMBOLS[code] if code < len(SYMBOLS) else "?")
            aux.append("")
    return Annotations(np.asarray(samples, np.int64), tuple(symbols), tuple(aux))
