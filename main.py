"""Vigil: the composition root. Parses the command line, then runs the station or a command."""

from __future__ import annotations

import os
import sys

from app.cli import Hl7Request, SimulateOptions, SyncRequest, export_error, parse
from app.export import PdfRenderer, export
from app.export_request import ExportError, ExportRequest


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    # Imports are deferred so that the headless commands (`export` but for its PDF) never
    # load Qt, and `--help` stays quick.
    if isinstance(options, SimulateOptions):
        from app.simulate import run

        return run(options)
    if isinstance(options, SyncRequest):
        from app.sync.cli import run_sync

        return run_sync(options.args)
    if isinstance(options, Hl7Request):
        from app.sync.hl7_cli import run_hl7

        return run_hl7(options.args)
    if isinstance(options, ExportRequest):
        return _export_pdf(options) if options.format == "pdf" else _export(options)
    from widgets.station_app import run_station

    return run_station(options)


def _export(request: ExportRequest, render_pdf: PdfRenderer | None = None) -> int:
    try:
        export(request, render_pdf)
    except ExportError as error:
        export_error(str(error))
    return 0


def _export_pdf(request: ExportRequest) -> int:
    """The strip is drawn with Qt's PDF writer and the bundled fonts, which need a GUI
    application: off screen when there is no display. An existing one (tests) is reused."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtGui

    from widgets.strip_pdf import render_strip_pdf

    application = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(["vigil"])
    try:
        return _export(request, render_strip_pdf)
    finally:
        del application  # held until the strip is written


if __name__ == "__main__":
    sys.exit(main())
