"""What the record-system API's services refuse (app/services/record_system.py and
api_events.py), as the API tells it."""

from __future__ import annotations


class RecordRefused(Exception):
    """A request the API refuses: HTTP status, FHIR issue code, and what the client is told."""

    def __init__(self, status: int, diagnostics: str, *, code: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
