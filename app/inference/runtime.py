"""Starting the beat classifier with the station: a model that cannot load is a technical
alarm that says why, and the station runs on with the beat-shape rule."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.analysis.service import AnalysisService
from app.inference.model import ModelUnavailableError, default_model
from app.inference.worker import InferenceWorker

log = logging.getLogger(__name__)

ALARM_CODE = "BEAT_CLASSIFIER_OFF"


def alarm_text(reason: str) -> str:
    return f"BEAT CLASSIFIER OFF: {reason}; beats classed by shape only"


def open_inference(unavailable: Callable[[str], None]) -> InferenceWorker | None:
    """The worker on the bundled model, or None after telling ``unavailable`` why."""
    try:
        model = default_model()
    except ModelUnavailableError as error:
        log.exception("the beat classifier is off: %s", error.reason)
        unavailable(alarm_text(error.reason))
        return None
    return InferenceWorker.for_model(model)


def report_failures(
    analysis: AnalysisService,
    raise_technical: Callable[[str, str], None],
    clear_technical: Callable[[str], None],
    unavailable: list[str],
) -> None:
    """Raise the technical alarm for a model that did not load (``unavailable``) and for
    labelling that fails later, and clear it when labelling works again."""
    for text in unavailable:
        raise_technical(ALARM_CODE, text)

    def changed(failure: str | None) -> None:
        if failure is None:
            clear_technical(ALARM_CODE)
        else:
            raise_technical(ALARM_CODE, alarm_text(failure))

    analysis.on_inference_failure = changed
