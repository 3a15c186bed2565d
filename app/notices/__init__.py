"""Delivering the notice outbox: texts, channels (SMTP, SMS over HTTP, development sink)
and the worker that claims due notices, sends them and records the result."""
