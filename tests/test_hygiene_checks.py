"""The suite's own guards work: a test that leaves a thread or a QTimer running fails."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# The project's guards, as the conftest of a throw-away test directory.
CONFTEST = "from tests.conftest import _no_dangling_qtimers, _no_dangling_threads\n"


def test_a_leftover_thread_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        # Sleeps past the 3-s grace the check gives, and ends soon after it.
        import threading, time

        def test_leaks_a_thread():
            threading.Thread(target=time.sleep, args=(4.5,), name="leaky", daemon=True).start()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*threads left running: leaky*"])


def test_a_running_qtimer_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        from PySide6 import QtCore

        def test_leaks_a_timer(qtbot):
            timer = QtCore.QTimer()
            timer.setObjectName("forgotten")
            timer.start(1000)
            test_leaks_a_timer.keep = timer
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*QTimers left running: forgotten*"])
