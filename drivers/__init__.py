"""Device drivers: one small protocol (``drivers.base``) for every device kind.

Drivers import neither Qt nor ``app``; they push into a ``SampleSink`` the station provides.
"""
