"""Train the beat classifier on DS1, evaluate it by grouped CV, write the ONNX and its card.

python -m training.beats --data /work/shared/data/mitdb --out resources/models
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.beats.af_step import final_call_table
from training.beats.card import write_card
from training.beats.dataset import load_ds1
from training.beats.export import export_onnx
from training.beats.fit import (
    SEED,
    choose_weights,
    confusions,
    cross_validate,
    fit,
    training_set,
)  # fmt: skip
from training.beats.metrics import percent, summarise

MAX_BYTES = 5 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.beats", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder of the MIT-BIH records")
    parser.add_argument("--out", type=Path, required=True, help="folder for the model and card")
    parser.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel")
    args = parser.parse_args(argv)
    records = load_ds1(args.data)
    oof = cross_validate(records, args.jobs)
    table = final_call_table(args.data, records, oof.whole, oof.af, args.jobs)
    choice = choose_weights(records, table)
    model_only = summarise(confusions(records, oof.whole, choice.weights))
    streams = [r.streaming() for r in records]
    streaming = summarise(confusions(streams, oof.streamed, choice.weights))
    for label, summary in (
        ("classify_beats", choice.summary), ("classify_beats, nested", choice.nested),
        ("model only", model_only), ("model only, streaming", streaming),
    ):  # fmt: skip
        if summary is not None:
            v, s = summary.gross["V"], summary.gross["S"]
            sys.stdout.write(
                f"{label}, weights {choice.weights.tolist()}: VEB Se {percent(v.se)} "
                f"+P {percent(v.ppv)}, SVEB Se {percent(s.se)} +P {percent(s.ppv)}\n"
            )
    x, y, _ = training_set(records)
    blob = export_onnx(fit(x, y, SEED), choice.weights)
    if len(blob) > MAX_BYTES:
        raise SystemExit(f"model is {len(blob):,} bytes, over the {MAX_BYTES:,} limit")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "beat_classifier.onnx").write_bytes(blob)
    command = "python -m training.beats " + " ".join(argv if argv is not None else sys.argv[1:])
    names = [r.name for r in records]
    matrices = [table[tuple(choice.weights.tolist())][name] for name in names]
    card = write_card(
        blob, choice, names, matrices, command, model_only=model_only, streaming=streaming
    )
    (args.out / "beat_classifier.md").write_text(card, encoding="utf-8")
    sys.stdout.write(f"wrote {args.out / 'beat_classifier.onnx'} ({len(blob):,} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
