"""Integration tests run against real servers on loopback, started by their fixtures."""

from __future__ import annotations

from tests.fhir_server.fixture import fhir_server, fhir_server_factory, fhir_server_session

__all__ = ["fhir_server", "fhir_server_factory", "fhir_server_session"]
