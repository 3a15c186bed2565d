"""Lighthouse on the key pages (docs/quality.md P5); run it with `python -m bench.lighthouse`."""
