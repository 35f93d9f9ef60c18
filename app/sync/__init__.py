"""EHR sync over HL7 FHIR R4: the mapping of Vigil's record to resources (no I/O here).

- :mod:`app.sync.codes`: LOINC, MDC, UCUM and SNOMED codes per parameter and alarm;
- :mod:`app.sync.naming`: identifier systems and deterministic identifiers;
- :mod:`app.sync.resources`: Patient, Device, vital-sign, NIBP-panel and NEWS2 resources;
- :mod:`app.sync.alarms`: alarm events as Observations (why not Flags: its docstring);
- :mod:`app.sync.bundles`: conditional-create entries, transaction/batch bundles of ≤ 8.
"""
