"""Reads: functions returning SQLAlchemy Select statements for pages and services."""
