"""How much the grouped-CV figures of the beat classifier owe to its random draws.

The trees (half the features per split) and the normal beats kept for training (one in four)
are drawn at random. With 22 patients, a held-out record unlike the others (108's on-time beats
whose QRS flips) is called very differently by models that differ only in those draws, and the
nested VEB +P turns on such a record. This reruns the card's grouped cross-validation with
other seeds (the first is the shipped model's) and reports, per seed and as median and range,
the card's plain and nested gross figures and the figures at the shipped multipliers.

    python -m training.beats.spread --data /work/shared/data/mitdb --seeds 5 --jobs 2

``--folds 22`` leaves one record out per fold instead of the card's two.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from app.inference.model import load_model
from training.beats.af_step import final_call_table
from training.beats.dataset import DS1, load_ds1
from training.beats.fit import FOLDS, SEED, Weights, choose_weights, cross_validate
from training.beats.metrics import Summary, summarise

SEED_STEP = 1000  # seeds SEED, SEED + 1000, …: fold k, member m of seed s draws with s + k + 100 m
COLUMNS = ("VEB Se", "VEB +P", "SVEB Se", "SVEB +P")
Row = tuple[float, ...]  # gross percentages in COLUMNS order


def seeds(count: int) -> list[int]:
    return [SEED + SEED_STEP * i for i in range(count)]


def gross(summary: Summary) -> Row:
    """The four gross figures in percent (0 where a class has no beats to score)."""
    v, s = summary.gross["V"], summary.gross["S"]
    return tuple(100.0 * (x or 0.0) for x in (v.se, v.ppv, s.se, s.ppv))


def spread(rows: Sequence[Row]) -> tuple[Row, Row, Row]:
    """Per column: the median, the smallest and the largest value over the rows."""
    columns = list(zip(*rows, strict=True))
    median = tuple(statistics.median(c) for c in columns)
    low = tuple(min(c) for c in columns)
    high = tuple(max(c) for c in columns)
    return median, low, high


def cells(row: Row) -> str:
    return " | ".join(f"{x:.1f}" for x in row)


def table(title: str, labels: Sequence[str], rows: Sequence[Row]) -> str:
    median, low, high = spread(rows)
    lines = [f"\n{title}\n", f"| seed | {' | '.join(COLUMNS)} |", "|---|" + "---:|" * 4]
    for label, row in zip(labels, rows, strict=True):
        lines.append(f"| {label} | {cells(row)} |")
    lines.append(f"| median | {cells(median)} |")
    lines.append(
        "| range | " + " | ".join(f"{a:.1f}–{b:.1f}" for a, b in zip(low, high, strict=True)) + " |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.beats.spread", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder of the MIT-BIH records")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (≥ 2)")
    parser.add_argument("--folds", type=int, default=FOLDS, help="records dealt into this many")
    parser.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2")
    if not 2 <= args.folds <= len(DS1):
        parser.error(f"--folds must be between 2 and {len(DS1)}")
    shipped: Weights = tuple(float(w) for w in load_model().weights)
    records = load_ds1(args.data)
    labels: list[str] = []
    plain: list[Row] = []
    nested: list[Row] = []
    at_shipped: list[Row] = []
    for seed in seeds(args.seeds):
        oof = cross_validate(records, args.jobs, seed, args.folds)
        calls = final_call_table(args.data, records, oof.whole, oof.af, args.jobs)
        choice = choose_weights(records, calls, args.folds)
        if choice.nested is None:
            raise RuntimeError("choose_weights returned no nested report")
        labels.append(f"{seed} (S × {choice.weights[1]:g}, V × {choice.weights[2]:g})")
        plain.append(gross(choice.summary))
        nested.append(gross(choice.nested))
        at_shipped.append(gross(summarise([calls[shipped][r.name] for r in records])))
        sys.stdout.write(f"seed {seed}: plain {cells(plain[-1])}; nested {cells(nested[-1])}\n")
        sys.stdout.flush()
    sys.stdout.write(table("Plain (multipliers chosen on all folds)", labels, plain))
    sys.stdout.write(table("Nested", labels, nested))
    weights = f"S × {shipped[1]:g}, V × {shipped[2]:g}"
    sys.stdout.write(table(f"At the shipped multipliers ({weights})", labels, at_shipped))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
