"""Vigil: the composition root. Parses the command line, then runs the station or a command."""

from __future__ import annotations

import sys

from app.cli import SimulateOptions, parse


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if isinstance(options, SimulateOptions):
        from app.simulate import run  # noqa: PLC0415 - keeps the GUI-less path light

        return run(options)
    from widgets.station_app import run_station  # noqa: PLC0415 - Qt loads only for the GUI

    return run_station(options)


if __name__ == "__main__":
    sys.exit(main())
