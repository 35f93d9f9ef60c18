"""Vigil: the composition root. Parses the command line, then runs the station or a command."""

from __future__ import annotations

import sys

from app.cli import SimulateOptions, parse


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    # Imports are deferred so that `simulate` never loads Qt and `--help` stays quick.
    if isinstance(options, SimulateOptions):
        from app.simulate import run

        return run(options)
    from widgets.station_app import run_station

    return run_station(options)


if __name__ == "__main__":
    sys.exit(main())
