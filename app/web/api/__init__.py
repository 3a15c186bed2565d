"""The record-system API: system log-in and FHIR R4 (docs/api.md)."""
