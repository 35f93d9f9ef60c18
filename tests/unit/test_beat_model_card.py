"""The committed beat model is the one its card describes, and small enough to ship."""

from __future__ import annotations

from app.inference.model import MODEL_PATH, card_sha256, file_sha256

MAX_BYTES = 5 * 1024 * 1024


def test_the_card_quotes_the_model_files_sha256() -> None:
    assert card_sha256(MODEL_PATH.with_suffix(".md")) == file_sha256(MODEL_PATH)


def test_the_model_is_at_most_5_mb() -> None:
    assert 0 < MODEL_PATH.stat().st_size <= MAX_BYTES


def test_the_card_states_the_protocol_and_the_command() -> None:
    card = MODEL_PATH.with_suffix(".md").read_text(encoding="utf-8")
    assert "python -m training.beats" in card
    assert "| gross (EC57) |" in card
    assert "left out" in card
