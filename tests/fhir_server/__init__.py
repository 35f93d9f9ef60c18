"""The loopback FHIR R4 test server (Medplum's engine under node) and its pytest fixtures."""
